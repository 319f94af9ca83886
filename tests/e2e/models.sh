#!/bin/sh
# SPDX-License-Identifier: MIT
# The CPU-model matrix (make e2e-models): the suite on every Bochs 2.7 model
# that boots Linux and has what thinvisor needs (VMX, EPT, unrestricted
# guest), and the refusal check on those that lack EPT or unrestricted
# guest (run.sh picks the refusal by itself for them).  One Bochs at a time;
# a failing model does not stop the others.  Ends with one line per model.
# usage: tests/e2e/models.sh [MODEL...]   (default: all below; E2E_* knobs
#        apply to every run)
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$top/build}
export BUILD
# Not here: core_duo_t2400_yonah (32-bit, no long mode: Linux x86-64 does not
# start), the VMX-less models (atom_n270, the Pentiums, the AMD ones).
models=${*:-"core2_penryn_t9600 corei5_lynnfield_750 corei7_skylake_x
	corei7_sandy_bridge_2600k corei7_ivy_bridge_3770k corei7_haswell_4770
	broadwell_ult corei3_cnl corei7_icelake_u tigerlake corei5_arrandale_m520"}
summary=$BUILD/e2e/models-summary.txt
mkdir -p "$BUILD/e2e"
: >"$summary"
failed=0
for m in $models; do
	log=$BUILD/e2e/models-$m.log
	t0=$(date +%s)
	rc=0
	E2E_CPU_MODEL=$m "$top/tests/e2e/run.sh" test >"$log" 2>&1 || rc=$?
	secs=$(($(date +%s) - t0))
	counts=$(sed -n 's/^e2e: \([0-9]* passed, [0-9]* failed\)$/\1/p' "$log" | tail -n 1)
	kind=suite
	grep -q 'checking that it refuses to load' "$log" && kind=refusal
	verdict=PASS
	if [ "$rc" -ne 0 ]; then
		verdict=FAIL
		failed=$((failed + 1))
	fi
	line="$verdict $m $kind ${counts:-no result} ${secs}s"
	echo "$line" >>"$summary"
	echo "models: $line (log $log)"
	[ "$rc" -eq 0 ] || grep '^TEST .* FAIL' "$log" | head -n 10
done
echo "models: summary ($summary):"
cat "$summary"
[ "$failed" -eq 0 ]
