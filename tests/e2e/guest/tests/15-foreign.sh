# SPDX-License-Identifier: MIT
# shellcheck shell=sh
# Only thinvisor may give the CPUs back: a foreign module's TERMINATE
# hypercalls (no key, a guessed key) are refused with #UD on every CPU,
# the VMM keeps running below the kernel, and ping and unload still work
# (before, a foreign TERMINATE left the CPUs unvirtualized and the next
# ping or rmmod executed VMCALL outside VMX: #UD in an IPI, a dead kernel).
# shellcheck source=tests/e2e/guest/lib.sh
. "$TV_LIB"

tv_dmesg_mark
if ! insmod "$TV_MODULE"; then
	tv_fail foreign-load "insmod $TV_MODULE failed"
	exit 0
fi
if insmod "$TV_KMOD/tvforeign.ko"; then
	tv_dmesg_new | sed -n 's/.*tvforeign: \([^ ]*\) \(PASS\|FAIL\) \(.*\)/TEST foreign-\1 \2 \3/p'
	rmmod tvforeign
else
	tv_fail foreign-module "insmod tvforeign.ko failed"
fi
if tv_dmesg_new | grep -q 'refused TERMINATE hypercall from RIP'; then
	tv_pass foreign-logged "the VMM logged the refused TERMINATE"
else
	tv_fail foreign-logged "no 'refused TERMINATE' line in the VMM log"
fi
tv_check foreign-ping-after tvctl ping
tv_check foreign-signature-after tvcpuid sig present
if rmmod thinvisor && tvcpuid sig absent >/dev/null; then
	tv_pass foreign-unload "thinvisor itself still gives every CPU back"
else
	tv_fail foreign-unload "rmmod or signature check failed"
fi
tv_check_dmesg foreign-dmesg-clean
