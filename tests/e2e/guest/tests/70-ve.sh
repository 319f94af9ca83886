# SPDX-License-Identifier: MIT
# shellcheck shell=sh
# Page violations delivered to the guest as virtualization exceptions
# (#VE), end to end: tvext_ve (extensions/selftest/tvext_ve.c) is the
# extension and the guest's vector-20 handler.  A probe page without
# access in its view, marked for #VE: the read is a #VE with the right
# information (qualification, linear and physical address, view) and no
# exit, the handler leaves the view with VMFUNC and the read succeeds;
# the same with the view entered from VMX root; with the information
# area busy, and once unmarked, the read exits as an event instead.
# Again on CPU 1 after it went offline and online (the control, the area
# and the view index re-applied there).  Unloading takes it all back.
# shellcheck source=tests/e2e/guest/lib.sh
. "$TV_LIB"

ext=/opt/tv/ext/tvext_ve.ko
params=/sys/module/tvext_ve/parameters
ncpu=$(grep -c ^processor /proc/cpuinfo)

tv_dmesg_mark
if ! insmod "$TV_MODULE"; then
	tv_fail ve-load "insmod $TV_MODULE failed"
	exit 0
fi
if ! insmod "$ext"; then
	tv_fail ve-register "insmod tvext_ve.ko failed: $(dmesg | tail -n 3)"
	rmmod thinvisor
	exit 0
fi
sed '/^$/d; s/^/TEST /' "$params/results"

if grep -q '^ve-delivered PASS' "$params/results"; then
	if [ "$ncpu" -ge 2 ]; then
		echo 0 >/sys/devices/system/cpu/cpu1/online
		echo 1 >/sys/devices/system/cpu/cpu1/online
		if echo 1 >"$params/recheck"; then
			sed '/^$/d; s/^ve-cpu1 /TEST ve-cpu1-after-online /' "$params/results"
		else
			tv_fail ve-cpu1-after-online "recheck on CPU 1 refused"
		fi
	else
		tv_pass ve-cpu1-after-online "skipped: needs a second CPU"
	fi
	echo 1 >"$params/unmark"
	sed '/^$/d; s/^/TEST /' "$params/results"
fi

rmmod tvext_ve
if rmmod thinvisor; then
	tv_pass ve-unload "tvext_ve and thinvisor unload"
else
	tv_fail ve-unload "rmmod thinvisor failed"
fi
tv_check_dmesg ve-dmesg
