# SPDX-License-Identifier: MIT
# shellcheck shell=sh
# A failure injected at each init step (test build: fail_step=N) refuses
# the load with one clear log line, unwinds fully (no module, no device, no
# CPU left virtualized, VMX left off), and the next load succeeds.
# shellcheck source=tests/e2e/guest/lib.sh
. "$TV_LIB"

ncpu=$(grep -c ^processor /proc/cpuinfo)
# Core steps (enum tv_fault in core/vmm.h) then Linux host steps.
steps="1 2 3 4 5 6 7 8 9 20 21 22 23 24 25 26"
[ "$ncpu" -gt 1 ] && steps="$steps 10"
for step in $steps; do
	tv_dmesg_mark
	if insmod "$TV_MODULE" fail_step="$step" 2>/dev/null; then
		tv_fail "fault-$step" "load succeeded despite the injected failure"
		rmmod thinvisor
		continue
	fi
	why=$(tv_dmesg_new | grep 'thinvisor: ' |
		grep -E 'refusing|cannot|failed|not virtualized|could not' | head -n 1)
	clean=1
	tv_is_loaded thinvisor && clean=0
	[ -e /dev/thinvisor ] && clean=0
	tvcpuid sig absent >/dev/null || clean=0
	if [ $clean = 0 ]; then
		tv_fail "fault-$step" "left something behind after: $why"
		continue
	fi
	if insmod "$TV_MODULE" &&
	   tvctl status | grep -q "^$ncpu of $ncpu online CPUs virtualized" &&
	   rmmod thinvisor; then
		tv_pass "fault-$step" "refused ($why); next load worked"
	else
		tv_fail "fault-$step" "the load after the failure did not work"
		rmmod thinvisor 2>/dev/null
	fi
	bad=$(tv_dmesg_new | grep -E "$TV_BAD_DMESG")
	[ -z "$bad" ] || { tv_fail "fault-$step-dmesg" "kernel complained"; echo "$bad"; }
done
