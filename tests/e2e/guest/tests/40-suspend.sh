# SPDX-License-Identifier: MIT
# shellcheck shell=sh
# Suspend-to-idle while virtualized: every CPU is given back before the
# system suspends and taken again after.  Bochs cannot wake from a real
# s2idle reliably, so the kernel's pm_test "devices" mode runs the whole
# suspend path (notifiers, freezer, device suspend and resume) and returns.
# shellcheck source=tests/e2e/guest/lib.sh
. "$TV_LIB"

ncpu=$(grep -c ^processor /proc/cpuinfo)
if [ ! -w /sys/power/pm_test ] || ! grep -q freeze /sys/power/state; then
	tv_fail suspend "this kernel lacks PM_DEBUG or suspend-to-idle"
	exit 0
fi
insmod "$TV_MODULE" || { tv_fail suspend "insmod failed"; exit 0; }
tv_dmesg_mark
echo 0 > /sys/module/suspend/parameters/pm_test_delay 2>/dev/null
echo devices > /sys/power/pm_test
echo freeze > /sys/power/state
# shellcheck disable=SC2320 # the write's own status is the one wanted
rc=$?
echo none > /sys/power/pm_test
msgs=$(tv_dmesg_new | grep -E 'thinvisor|PM: ')
echo "$msgs"
if [ $rc -eq 0 ] && echo "$msgs" | grep -q 'gave every CPU back for suspend' &&
   echo "$msgs" | grep -q 'took the CPUs again after resume' &&
   tvctl status | grep -q "^$ncpu of $ncpu online CPUs virtualized" &&
   tvcpuid sig present >/dev/null; then
	tv_pass suspend-resume "given back before suspend, taken again after"
else
	tv_fail suspend-resume "state rc=$rc; see messages above"
fi
rmmod thinvisor
tv_check_dmesg suspend-dmesg-clean
