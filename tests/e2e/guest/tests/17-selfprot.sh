# SPDX-License-Identifier: MIT
# shellcheck shell=sh
# thinvisor protects itself: once loaded, its VMCS, VMXON regions, root
# IDTs, VMM stacks, MSR bitmap and EPT tables are out of the guest's
# reach.  tvselfprot.ko, a CPL-0 intruder, reads and writes each of them
# through the direct map with the kernel's fault-tolerant accessors: every
# access must fail (a page fault the accessors fix up), the VMM must log
# it and keep running, and the module must unload as always.
# shellcheck source=tests/e2e/guest/lib.sh
. "$TV_LIB"

tv_dmesg_mark
if ! insmod "$TV_MODULE"; then
	tv_fail selfprot-load "insmod $TV_MODULE failed"
	exit 0
fi
pas=$(cat /sys/module/thinvisor/parameters/test_protected)
if [ -z "$pas" ]; then
	tv_fail selfprot-pages "thinvisor protects no page"
else
	tv_pass selfprot-pages "protected pages include $pas"
	insmod "$TV_KMOD/tvselfprot.ko" pages="$(echo "$pas" | tr " " ,)"
	tv_dmesg_new | sed -n 's/.*tvselfprot: \([^ ]*\) \(PASS\|FAIL\) \(.*\)/TEST selfprot-\1 \2 \3/p'
	rmmod tvselfprot
fi
n=$(tv_dmesg_new | grep -c "guest access to thinvisor's page")
if [ "$n" -ge 1 ]; then
	tv_pass selfprot-logged "$n refused accesses logged by the VMM"
else
	tv_fail selfprot-logged "no refused access in the VMM log"
fi
tv_check selfprot-ping-after tvctl ping
if rmmod thinvisor; then
	tv_pass selfprot-unload "unloaded; every page given back"
else
	tv_fail selfprot-unload "rmmod thinvisor failed"
fi
tv_check_dmesg selfprot-dmesg
