# SPDX-License-Identifier: MIT
# shellcheck shell=sh
# extensions/portable on Linux: the same portable.c that 74-windows-ext
# runs linked into thinvisor.sys, here built as a module (with module.c).
# Once loaded, CPUID 0x400000f0 says "portable ext" with a count on every
# CPU and its hypercall answers from user mode; once unloaded, the leaf is
# thinvisor's zero again while thinvisor stays loaded.
# shellcheck source=tests/e2e/guest/lib.sh
. "$TV_LIB"

portable=/opt/tv/ext/tvportable.ko

# leaf CPU: CPUID 0x400000f0 on CPU through /dev/cpu/CPU/cpuid (the file
# offset is the leaf): EAX in decimal, then EBX:ECX:EDX as text.
leaf() {
	dd if="/dev/cpu/$1/cpuid" of=/tmp/portable.leaf bs=16 skip=$((0x400000f)) \
		count=1 2>/dev/null
	printf '%s %s\n' "$(od -An -tu4 -N4 /tmp/portable.leaf | tr -d ' ')" \
		"$(dd if=/tmp/portable.leaf bs=1 skip=4 count=12 2>/dev/null | tr -d '\000')"
}

tv_dmesg_mark
if ! insmod "$TV_MODULE"; then
	tv_fail portable-load "insmod $TV_MODULE failed"
	exit 0
fi
before=$(leaf 0)
if ! insmod "$portable"; then
	tv_fail portable-insmod "insmod tvportable.ko failed: $(dmesg | tail -n 2)"
	rmmod thinvisor
	exit 0
fi
ok=1
seen=""
for d in /dev/cpu/[0-9]*; do
	cpu=${d#/dev/cpu/}
	out=$(leaf "$cpu")
	seen="$seen cpu$cpu:'$out'"
	[ "${out#* }" = "portable ext" ] || ok=0
done
first=$(leaf 0 | cut -d' ' -f1)
second=$(leaf 0 | cut -d' ' -f1)
if [ "$before" = "0 " ] && [ $ok = 1 ] && [ "$second" = $((first + 1)) ]; then
	tv_pass portable-cpuid "leaf 0x400000f0 (was '$before'):$seen; count $first then $second"
else
	tv_fail portable-cpuid "before '$before';$seen; counts $first, $second"
fi
out=$(tvextcall 7476000000010101)
case $out in
"rax=0x6c626174726f70 rdx="[1-9]*)
	tv_pass portable-hypercall "user-mode hypercall answered: $out" ;;
*)
	tv_fail portable-hypercall "got '$out'" ;;
esac
rmmod tvportable
after=$(leaf 0)
if [ "$after" = "0 " ] && tvcpuid sig present >/dev/null; then
	tv_pass portable-unloaded "leaf 0x400000f0 back to thinvisor's zero, thinvisor still running"
else
	tv_fail portable-unloaded "leaf '$after' after rmmod tvportable"
fi
rmmod thinvisor
tv_check_dmesg portable-dmesg-clean
