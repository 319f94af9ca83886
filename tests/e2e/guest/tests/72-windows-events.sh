# SPDX-License-Identifier: MIT
# shellcheck shell=sh
# thinvisor.sys's callbacks, from their real Linux sources through the NT
# shim.  \Callback\PowerState: a suspend to idle (pm_test "devices", as in
# 40-suspend.sh: the notifiers, freezer and device suspend and resume run,
# Bochs need not wake) gives every processor back and takes it again.
# Processor add: a CPU offline when the driver loads is not virtualized;
# brought online, the processor-change callback virtualizes it.  Windows
# never removes a processor, so offlining one under the driver is refused.
# shellcheck source=tests/e2e/guest/lib.sh
. "$TV_LIB"

ncpu=$(grep -c ^processor /proc/cpuinfo)
cpu1=/sys/devices/system/cpu/cpu1/online

# --- power callback ---
if [ ! -w /sys/power/pm_test ] || ! grep -q freeze /sys/power/state; then
	tv_fail win-suspend "this kernel lacks PM_DEBUG or suspend-to-idle"
elif insmod "$TV_MODULE"; then
	tv_dmesg_mark
	echo 0 > /sys/module/suspend/parameters/pm_test_delay 2>/dev/null
	echo devices > /sys/power/pm_test
	rc=0
	if ! echo freeze > /sys/power/state; then
		rc=1
	fi
	echo none > /sys/power/pm_test
	msgs=$(tv_dmesg_new | grep -E 'thinvisor|PM: ')
	echo "$msgs"
	if [ $rc -eq 0 ] &&
	   echo "$msgs" | grep -q 'power: leaving S0: giving every processor back' &&
	   echo "$msgs" | grep -q 'power: back in S0: every processor taken again' &&
	   tvcpuid sig present >/dev/null; then
		tv_pass win-suspend-resume "PowerState callback: given back before suspend, taken again after"
	else
		tv_fail win-suspend-resume "state rc=$rc; see messages above"
	fi
	tv_shim_rules win-suspend-irql
	rmmod thinvisor || tv_fail win-suspend-unload "rmmod failed"
	tv_check win-suspend-gone tvcpuid sig absent
else
	tv_fail win-suspend "insmod failed"
fi

# --- processor add ---
if [ "$ncpu" -lt 2 ] || [ ! -e "$cpu1" ]; then
	tv_pass win-cpu-add "skipped: needs a second CPU that can go offline"
else
	tv_dmesg_mark
	echo 0 > "$cpu1"
	if ! insmod "$TV_MODULE"; then
		tv_fail win-cpu-add "insmod with CPU 1 offline failed"
		echo 1 > "$cpu1"
	else
		if tv_dmesg_new | grep -q "thinvisor: 1 processors in 1 groups virtualized"; then
			tv_pass win-cpu-add-before "CPU 1 offline at load: 1 processor virtualized"
		else
			tv_fail win-cpu-add-before "no '1 processors' line"
		fi
		echo 1 > "$cpu1"
		if [ "$(cat "$cpu1")" = 1 ] &&
		   tv_dmesg_new | grep -q 'thinvisor: processor 1 added and virtualized' &&
		   tvcpuid sig present >/dev/null; then
			tv_pass win-cpu-add "CPU 1 online: processor-change callback virtualized it, signature on every CPU"
		else
			tv_fail win-cpu-add "$(tv_dmesg_new | grep -E 'processor|thinvisor' | tail -n 3 | tr '\n' ' ')"
		fi
		# Offline under the driver: refused, the CPU stays and works.
		if echo 0 > "$cpu1" 2>/dev/null; then
			tv_fail win-cpu-offline-refused "CPU 1 went offline under thinvisor.sys"
			echo 1 > "$cpu1"
		elif [ "$(cat "$cpu1")" = 1 ] && tvcpuid sig present >/dev/null &&
		     tv_dmesg_new | grep -q 'ntshim: CPU 1 stays online'; then
			tv_pass win-cpu-offline-refused "offline refused (EBUSY), CPU 1 still virtualized"
		else
			tv_fail win-cpu-offline-refused "refused, but CPU 1 or its signature is gone"
		fi
		tv_shim_rules win-cpu-irql
		rmmod thinvisor || tv_fail win-cpu-unload "rmmod failed"
		tv_check win-cpu-gone tvcpuid sig absent
	fi
	# Without the driver, CPUs come and go as usual.
	if echo 0 > "$cpu1" && echo 1 > "$cpu1"; then
		tv_pass win-cpu-free "CPU 1 offline and online again after unload"
	else
		tv_fail win-cpu-free "CPU 1 hotplug failed after unload"
		echo 1 > "$cpu1" 2>/dev/null
	fi
fi
tv_shim_clean win-events-nothing-left
tv_check_dmesg win-events-dmesg-clean
