# SPDX-License-Identifier: MIT
# shellcheck shell=sh
# `make demo`: show thinvisor sliding under a running Linux in Bochs.  The host
# prints this output live and judges it like a test (TEST lines, dmesg scan).
# shellcheck source=tests/e2e/guest/lib.sh
. "$TV_LIB"

echo "== CPUs: $(grep -c '^processor' /proc/cpuinfo), $(grep -m1 'model name' /proc/cpuinfo)"
grep -m1 '^vmx flags' /proc/cpuinfo
echo "== kernel: $(uname -r)"
echo "== before: CPUID signature on every CPU"
tvcpuid sig absent

echo "== insmod $TV_MODULE"
tv_dmesg_mark
tv_check demo-insmod insmod "$TV_MODULE"
tv_dmesg_new | grep thinvisor
echo "== the running kernel is now a guest: CPUID signature on every CPU"
tv_check demo-signature tvcpuid sig present
echo "== tvctl status"
tv_check demo-tvctl-status tvctl status
echo "== tvctl ping (a hypercall on each CPU)"
tv_check demo-tvctl-ping tvctl ping
echo "== a user-mode VMCALL gets #UD"
tv_check demo-user-vmcall tvvmcall
echo "== a workload under the VMM: fork/exec, faults, TLB flushes, CPUID"
tv_check demo-workload tvstress 10
echo "== tvctl stats (exits and VMM cycles per reason)"
tv_check demo-tvctl-stats tvctl stats
echo "== the VMM's own log at debug level (tvctl log)"
echo 7 > /sys/module/thinvisor/parameters/log_level
tvctl ping 0 >/dev/null
sleep 1
tvctl log
echo "== rmmod thinvisor: every CPU given back"
tv_dmesg_mark
tv_check demo-rmmod rmmod thinvisor
tv_dmesg_new | grep -E 'given back|unloaded'
tv_check demo-signature-gone tvcpuid sig absent
[ -z "$tv_failed" ]
