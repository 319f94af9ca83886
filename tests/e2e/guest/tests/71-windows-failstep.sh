# SPDX-License-Identifier: MIT
# shellcheck shell=sh
# FailStep under real VMX: the test build of thinvisor.sys (FailStep from
# the registry, here the shim's FailStep= parameter) fails each init step
# in turn, the core's 1-10 and the driver's 20-26.  Each load is refused
# with the NTSTATUS the driver names for it, twice (busybox insmod retries
# a failed load, so DriverEntry runs twice), and leaves nothing behind: no
# module, no signature, no pool, contiguous memory, handle, thread or
# callback (the shim counts them).  Then the same image loads.  The
# production image ignores FailStep.
# shellcheck source=tests/e2e/guest/lib.sh
. "$TV_LIB"

ncpu=$(grep -c ^processor /proc/cpuinfo)
test_sys=$TV_WIN_TEST_SYS
# The driver's own steps: step, NTSTATUS, the line it logs (ntstub.c too).
host_steps='20 0xc0000120 step 1: cannot read the OS version
21 0xc00000bb step 2: Windows 6.0 build 19045 is not supported
22 0xc0000120 step 3: cannot open the log
23 0xc000009a step 4: cannot read the physical memory ranges
24 0xc0000120 step 5: cannot open \Callback\PowerState
25 0xc000009a step 6: cannot register the processor-change callback
26 0xc0000120 step 7: processors not virtualized: injected fault'
steps="1 2 3 4 5 6 7 8 9"
[ "$ncpu" -gt 1 ] && steps="$steps 10"
steps="$steps 20 21 22 23 24 25 26"

for step in $steps; do
	tv_dmesg_mark
	if insmod "$TV_MODULE" sys="$test_sys" FailStep="$step" 2>/dev/null; then
		tv_fail "win-failstep-$step" "load succeeded despite FailStep=$step"
		rmmod thinvisor
		continue
	fi
	new=$(tv_dmesg_new)
	st=$(echo "$new" | sed -n 's/.*DriverEntry returned NTSTATUS \(0x[0-9a-f]*\).*/\1/p')
	runs=$(echo "$st" | grep -c .)
	st1=$(echo "$st" | head -n 1)
	why=$(echo "$new" | grep -m1 -E 'DbgPrintEx: thinvisor: (step|CPU|.*not virtualized|.*cannot|.*injected)' | sed 's/.*DbgPrintEx: //')
	ok=1
	detail="NTSTATUS $st1 twice: $why"
	# Both runs refuse the same way.
	if ! { [ "$runs" = 2 ] && [ "$(echo "$st" | sort -u | grep -c .)" = 1 ]; }; then
		ok=0
		detail="DriverEntry ran $runs times: $(echo "$st" | tr '\n' ' ')"
	fi
	case $st1 in 0xc*) ;; *) ok=0; detail="not an error NTSTATUS: $st1" ;; esac
	want=$(echo "$host_steps" | awk -v s="$step" '$1 == s')
	if [ -n "$want" ]; then
		wst=$(echo "$want" | cut -d' ' -f2)
		wtext=$(echo "$want" | cut -d' ' -f3-)
		[ "$st1" = "$wst" ] || { ok=0; detail="NTSTATUS $st1, want $wst"; }
		echo "$new" | grep -qF "$wtext" || { ok=0; detail="no line '$wtext'"; }
	elif echo "$new" | grep -q 'step 7: processors not virtualized'; then
		# A core step: the status DriverEntry returns is the one it logs.
		echo "$new" | grep 'step 7: processors not virtualized' |
			grep -qi "NTSTATUS $st1" ||
			{ ok=0; detail="step 7 line does not name $st1"; }
	else
		ok=0
		detail="core step $step: no 'step 7: processors not virtualized' line"
	fi
	echo "$new" | grep -q "test hook: FailStep=$step" ||
		{ ok=0; detail="FailStep=$step not read from the registry"; }
	left=$(echo "$new" | grep -E 'ntshim: (leak|IRQL violation)|left something behind')
	[ -z "$left" ] || { ok=0; detail="left behind: $(echo "$left" | head -n 2 | tr '\n' ' ')"; }
	tv_is_loaded thinvisor && { ok=0; detail="module still loaded"; }
	tvcpuid sig absent >/dev/null || { ok=0; detail="signature still present"; }
	if [ $ok = 1 ]; then
		tv_pass "win-failstep-$step" "$detail"
	else
		tv_fail "win-failstep-$step" "$detail"
		echo "$new" | grep -E 'thinvisor|DbgPrintEx' | tail -n 15
	fi
done

# After every refusal, the test image loads, virtualizes and unloads.
tv_dmesg_mark
if insmod "$TV_MODULE" sys="$test_sys" && tvcpuid sig present >/dev/null &&
   rmmod thinvisor && tvcpuid sig absent >/dev/null; then
	tv_pass win-failstep-then-load "the test build loads and unloads after the refusals"
else
	tv_fail win-failstep-then-load "the test build does not load cleanly"
	rmmod thinvisor 2>/dev/null
fi
# The production image has no hook: FailStep changes nothing.
if insmod "$TV_MODULE" FailStep=26 && tvcpuid sig present >/dev/null &&
   rmmod thinvisor; then
	if tv_dmesg_new | grep -q 'test hook: FailStep'; then
		tv_fail win-failstep-production "the production image read FailStep"
	else
		tv_pass win-failstep-production "production thinvisor.sys ignores FailStep=26"
	fi
else
	tv_fail win-failstep-production "production image with FailStep=26 did not load"
	rmmod thinvisor 2>/dev/null
fi
tv_shim_clean win-failstep-nothing-left
tv_check_dmesg win-failstep-dmesg-clean
