# SPDX-License-Identifier: MIT
# shellcheck shell=sh
# The Windows driver's log under the NT shim: LogLevel=7 from the registry
# (the shim's LogLevel= parameter), the VMM's own lines from VMX root
# (the ping hypercall of tvguest.ko) drained by the driver's log thread to
# DbgPrintEx and to \SystemRoot\thinvisor.log (here /tmp/thinvisor.log),
# CR LF line ends; then the IRQL checker's own test: one import called at
# DISPATCH_LEVEL must be caught.  Load/unload cycles end it.
# shellcheck source=tests/e2e/guest/lib.sh
. "$TV_LIB"

log=/tmp/thinvisor.log
rm -f $log
tv_dmesg_mark
if ! insmod "$TV_MODULE" LogLevel=7; then
	tv_fail win-log-load "insmod LogLevel=7 failed"
	exit 1
fi
if tv_dmesg_new | grep -q 'DbgPrintEx: thinvisor: VMM log level 7'; then
	tv_pass win-log-level "LogLevel=7 read from the registry"
else
	tv_fail win-log-level "no 'VMM log level 7' line"
fi
insmod "$TV_KMOD/tvguest.ko" && rmmod tvguest
sleep 1
lines=$(cat "$TV_SHIM_PARAMS/dbgprint_lines")
tv_shim_rules win-log-irql
rmmod thinvisor || tv_fail win-log-unload "rmmod failed"
new=$(tv_dmesg_new)
if echo "$new" | grep -q 'DbgPrintEx: thinvisor: \[cpu [0-9]* vmm\] .*ping from the guest'; then
	tv_pass win-log-dbgprint "VMX-root ping line reached DbgPrintEx ($lines lines in all)"
else
	tv_fail win-log-dbgprint "no '[cpu N vmm] ... ping' line through DbgPrintEx"
	echo "$new" | grep DbgPrintEx | tail -n 10
fi
if [ -f $log ] && grep -q '\[vmm\] .*ping from the guest' $log &&
   grep -q 'INF thinvisor: loading (log \\SystemRoot\\thinvisor.log)' $log &&
   grep -q 'thinvisor: unloading' $log; then
	tv_pass win-log-file "$(wc -l < $log) lines in \\SystemRoot\\thinvisor.log, VMM lines included"
else
	tv_fail win-log-file "log file missing or incomplete"
	tail -n 5 $log 2>/dev/null
fi
crlf=$(tr -d '\n' < $log | tr '\r' '\n' | grep -c .)
if [ "$crlf" -gt 0 ] && [ "$crlf" = "$(grep -c . $log)" ]; then
	tv_pass win-log-crlf "every line ends in CR LF"
else
	tv_fail win-log-crlf "$crlf CR-terminated of $(grep -c . $log) lines"
fi

# The checker can fail: a deliberate call at DISPATCH_LEVEL is counted.
tv_dmesg_mark
if insmod "$TV_MODULE" test_irql_violation=1; then
	bad=$(cat "$TV_SHIM_PARAMS/irql_violations")
	rmmod thinvisor
	if [ "$bad" = 1 ] && tv_dmesg_new | grep -q 'IRQL violation: RtlGetVersion called at IRQL 2, allowed up to 0'; then
		tv_pass win-irql-checker "a PASSIVE_LEVEL import at DISPATCH_LEVEL is caught"
	else
		tv_fail win-irql-checker "violations=$bad"
	fi
else
	tv_fail win-irql-checker "insmod test_irql_violation=1 failed"
fi

# Load/unload cycles: each virtualizes every CPU and gives it back.
tv_dmesg_mark
for round in 1 2 3; do
	if insmod "$TV_MODULE" && tvcpuid sig present >/dev/null &&
	   rmmod thinvisor && tvcpuid sig absent >/dev/null; then
		tv_pass "win-reload-$round" "DriverEntry, signature on every CPU, DriverUnload, gone"
	else
		tv_fail "win-reload-$round" "cycle failed"
		rmmod thinvisor 2>/dev/null
	fi
done
tv_shim_clean win-log-nothing-left
tv_check_dmesg win-log-dmesg-clean
