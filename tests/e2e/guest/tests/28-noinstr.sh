# SPDX-License-Identifier: MIT
# shellcheck shell=sh
# The Linux functions that run in VMX root are noinstr: in the module's
# .noinstr.text, which the kernel's kprobes refuse (6.1 adds a module's
# .noinstr.text to the kprobe blacklist at load), so no probe, BPF program
# or tracer can run in VMX root through them.  Needs a kernel with kprobes
# (Debian's); the minimal kernel has none and skips.
# shellcheck source=tests/e2e/guest/lib.sh
. "$TV_LIB"

bl=/sys/kernel/debug/kprobes/blacklist
if [ ! -e "$bl" ]; then
	tv_pass noinstr-skipped "no kprobes in this kernel"
	exit 0
fi
tv_dmesg_mark
if ! insmod "$TV_MODULE"; then
	tv_fail noinstr-load "insmod failed"
	exit 1
fi
for fn in tv_plat_panic tv_plat_cpu_index tv_plat_after_vmxoff tv_linux_log_panic_dump; do
	if grep -qE "[[:space:]]$fn( \[thinvisor\])?\$" "$bl"; then
		tv_pass "noinstr-$fn" "kprobes refuse $fn"
	else
		tv_fail "noinstr-$fn" "$fn is not in the kprobe blacklist"
	fi
done
tv_check noinstr-unload rmmod thinvisor
tv_check_dmesg noinstr-dmesg
