# SPDX-License-Identifier: MIT
# `make demo`: show thinvisor sliding under a running Linux in Bochs.  The host
# prints this output live and judges it like a test (TEST lines, dmesg scan).
. "$TV_LIB"

echo "== CPUs: $(grep -c '^processor' /proc/cpuinfo), $(grep -m1 'model name' /proc/cpuinfo)"
grep -m1 '^vmx flags' /proc/cpuinfo
echo "== kernel: $(uname -r)"

echo "== insmod $TV_MODULE"
tv_check demo-insmod insmod "$TV_MODULE"
if command -v tvctl >/dev/null; then
	echo "== tvctl status"
	tv_check demo-tvctl-status tvctl status
	echo "== tvctl ping"
	tv_check demo-tvctl-ping tvctl ping
fi
echo "== dmesg | grep thinvisor"
dmesg | grep thinvisor
echo "== rmmod thinvisor"
tv_check demo-rmmod rmmod thinvisor
[ -z "$tv_failed" ]
