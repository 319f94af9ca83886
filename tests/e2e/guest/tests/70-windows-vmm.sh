# SPDX-License-Identifier: MIT
# shellcheck shell=sh
# thinvisor.sys, the Windows build, under real (emulated) VT-x through the
# NT shim: the checks of 10-vmm.sh that are about the VMM, not about the
# Linux module's interface.  The signature on every CPU, CPUID unchanged
# but for the documented bits, MSRs as native, user VMCALL refused,
# single-step exact, the kernel-mode checks, a stress workload, then
# DriverUnload gives every CPU back; every import called at a legal IRQL.
# shellcheck source=tests/e2e/guest/lib.sh
. "$TV_LIB"

ncpu=$(grep -c ^processor /proc/cpuinfo)
[ -e /dev/cpu/0/msr ] || modprobe msr 2>/dev/null || insmod /opt/tv/kmod-host/msr.ko 2>/dev/null

tv_check win-cpuid-dump-native tvcpuid dump /tmp/cpuid.native
for cpu in $(seq 0 $((ncpu - 1))); do
	tvmsr "$cpu" record "/tmp/msr.native.$cpu" >/dev/null ||
		tv_fail "win-msr-record-cpu$cpu" "tvmsr record failed"
done
tv_check win-signature-absent-before tvcpuid sig absent
tv_dmesg_mark
if ! insmod "$TV_MODULE"; then
	tv_fail win-load "insmod $TV_MODULE (thinvisor.sys) failed"
	tv_dmesg_new | tail -n 30
	exit 1
fi
msgs=$(tv_dmesg_new | grep -E 'thinvisor|DbgPrintEx')
echo "$msgs" | head -n 30
if echo "$msgs" | grep -q "ntshim: DriverEntry returned STATUS_SUCCESS" &&
   echo "$msgs" | grep -q "thinvisor: $ncpu processors in 1 groups virtualized"; then
	tv_pass win-load "DriverEntry: $ncpu processors virtualized"
else
	tv_fail win-load "no success lines from DriverEntry"
fi
if echo "$msgs" | grep -q "mapped at .* imports bound"; then
	tv_pass win-image "$(echo "$msgs" | grep -o '[^ ]*thinvisor.sys mapped at .*')"
else
	tv_fail win-image "no mapping line"
fi
tv_check win-signature-every-cpu tvcpuid sig present
tv_check win-cpuid-unchanged tvcpuid compare /tmp/cpuid.native virtualized
for cpu in $(seq 0 $((ncpu - 1))); do
	tv_check "win-msr-as-native-cpu$cpu" tvmsr "$cpu" check "/tmp/msr.native.$cpu"
done
tv_check win-user-vmcall-sigill tvvmcall
tv_check win-single-step-over-cpuid tvstep
if insmod "$TV_KMOD/tvguest.ko"; then
	out=$(dmesg | sed -n 's/.*tvguest: \([^ ]*\) \(PASS\|FAIL\) \(.*\)/TEST win-kernel-\1 \2 \3/p' | tail -n 11)
	echo "$out"
	[ "$(echo "$out" | grep -c ' PASS ')" -eq 11 ] ||
		tv_fail win-kernel-checks "expected 11 passing tvguest checks"
	rmmod tvguest
else
	tv_fail win-kernel-checks "insmod tvguest.ko failed"
fi
tv_check win-stress-workload tvstress 40
tv_check win-signature-after-stress tvcpuid sig present
tv_shim_rules win-irql-rules
if rmmod thinvisor; then
	tv_pass win-unload "rmmod thinvisor: DriverUnload"
else
	tv_fail win-unload "rmmod thinvisor failed"
fi
tv_check win-signature-gone tvcpuid sig absent
# The TSS limit is the host's again on every CPU: ioperm() users work.
tv_check win-ioperm-after-unload tvioperm
tv_check win-cpuid-native-again tvcpuid compare /tmp/cpuid.native native
tv_shim_clean win-nothing-left
tv_dmesg_new | grep -E 'thinvisor|DbgPrintEx' | tail -n 12
tv_check_dmesg win-vmm-dmesg-clean
