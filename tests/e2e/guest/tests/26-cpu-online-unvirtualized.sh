# SPDX-License-Identifier: MIT
# shellcheck shell=sh
# A CPU that comes online while thinvisor runs but cannot be virtualized
# (test build: fail_step=5, the per-CPU allocation) still comes online: one
# log line says it runs without thinvisor and why, tvctl status shows it,
# and taking it offline and online again once the cause is gone virtualizes
# it.  Leaves every CPU online and the module unloaded.
# shellcheck source=tests/e2e/guest/lib.sh
. "$TV_LIB"

ncpu=$(grep -c ^processor /proc/cpuinfo)
if [ "$ncpu" -lt 2 ]; then
	tv_pass cpu-online-unvirt-skipped "needs 2 CPUs"
	exit 0
fi
cpu1=/sys/devices/system/cpu/cpu1/online
param=/sys/module/thinvisor/parameters/fail_step

# CPU 1's "virtualized" column in tvctl status (yes or no); the summary
# line "1 of 2 ..." has 6 fields, a CPU's row 5.
cpu1_virtualized() {
	tvctl status | awk '$1 == "1" && NF == 5 {print $3}'
}

tv_dmesg_mark
if ! insmod "$TV_MODULE"; then
	tv_fail cpu-online-unvirt-load "insmod failed"
	exit 1
fi
tv_check cpu-online-unvirt-offline sh -c "echo 0 > $cpu1"
echo 5 > "$param"
if echo 1 > "$cpu1" && [ "$(cat "$cpu1")" = 1 ]; then
	tv_pass cpu-online-unvirt-online "CPU 1 came online despite the failure"
else
	tv_fail cpu-online-unvirt-online "CPU 1 did not come online (online=$(cat "$cpu1"))"
fi
echo -1 > "$param"
line=$(tv_dmesg_new | grep 'thinvisor: CPU 1 is online but not virtualized')
if [ -n "$line" ]; then
	tv_pass cpu-online-unvirt-logged "$line"
else
	tv_fail cpu-online-unvirt-logged "no log line names CPU 1"
	tv_dmesg_new | grep thinvisor
fi
status=$(tvctl status)
echo "$status"
if [ "$(cpu1_virtualized)" = no ] &&
   echo "$status" | grep -q "^$((ncpu - 1)) of $ncpu online CPUs virtualized"; then
	tv_pass cpu-online-unvirt-status "tvctl status shows CPU 1 online, not virtualized"
else
	tv_fail cpu-online-unvirt-status "tvctl status does not show CPU 1 unvirtualized"
fi
tv_check cpu-online-unvirt-ping-others tvctl ping 0

# The cause is gone: offline and online again virtualizes CPU 1.
echo 0 > "$cpu1"
echo 1 > "$cpu1"
if [ "$(cat "$cpu1")" = 1 ] && [ "$(cpu1_virtualized)" = yes ] &&
   tvctl status | grep -q "^$ncpu of $ncpu online CPUs virtualized"; then
	tv_pass cpu-online-unvirt-retry "CPU 1 virtualized after offline/online"
else
	tv_fail cpu-online-unvirt-retry "CPU 1 not virtualized again"
	tvctl status
fi
tv_check cpu-online-unvirt-ping tvctl ping
tv_check cpu-online-unvirt-unload rmmod thinvisor
[ "$(cat "$cpu1")" = 1 ] || echo 1 > "$cpu1"
tv_check_dmesg cpu-online-unvirt-dmesg
