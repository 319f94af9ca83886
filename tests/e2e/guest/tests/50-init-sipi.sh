# SPDX-License-Identifier: MIT
# INIT and SIPI reaching a virtualized CPU: the test build keeps a CPU
# virtualized while it goes offline, so bringing it back online sends
# INIT-SIPI-SIPI to a CPU under the VMM.  thinvisor must do what the CPU
# does (wait for SIPI, start in real mode at the vector) and the CPU must
# boot Linux again, still virtualized.
. "$TV_LIB"

cpu1=/sys/devices/system/cpu/cpu1/online
if [ ! -e "$cpu1" ]; then
	tv_pass init-sipi "skipped: needs a second hot-pluggable CPU"
	exit 0
fi
tv_dmesg_mark
insmod "$TV_MODULE" test_keep_offline=1 || { tv_fail init-sipi "insmod failed"; exit 0; }
echo 0 > "$cpu1"
if tvctl status | grep -q '^1 .*no  *yes'; then
	tv_pass init-offline-virtualized "CPU 1 offline, still under the VMM"
else
	tv_fail init-offline-virtualized "$(tvctl status | grep '^1 ')"
fi
echo 1 > "$cpu1"
sleep 1
msgs=$(tv_dmesg_new | grep -E 'INIT|SIPI')
echo "$msgs"
if [ "$(cat $cpu1)" = 1 ] && echo "$msgs" | grep -q 'CPU 1: INIT' &&
   echo "$msgs" | grep -q 'CPU 1: SIPI' && tvctl ping 1 &&
   tvcpuid sig present >/dev/null; then
	tv_pass init-sipi-boot "CPU 1 booted again through INIT/SIPI under the VMM"
else
	tv_fail init-sipi-boot "CPU 1 online=$(cat $cpu1)"
fi
tv_check init-sipi-stress tvstress 5
echo 0 > /sys/module/thinvisor/parameters/test_keep_offline
if rmmod thinvisor && tvcpuid sig absent >/dev/null; then
	tv_pass init-sipi-unload "every CPU given back"
else
	tv_fail init-sipi-unload "rmmod or signature check failed"
fi
bad=$(tv_dmesg_new | grep -E "$TV_BAD_DMESG")
[ -z "$bad" ] && tv_pass init-sipi-dmesg-clean "no oops/warning" ||
	{ tv_fail init-sipi-dmesg-clean "kernel complained:"; echo "$bad"; }
