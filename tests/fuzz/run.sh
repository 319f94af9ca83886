#!/bin/sh
# SPDX-License-Identifier: MIT
# usage: tests/fuzz/run.sh SECONDS BUILD_FUZZ_DIR NAME...
# Run each harness build/fuzz/fuzz_NAME for SECONDS seconds on a working
# corpus (build/fuzz/corpus/NAME, seeded from tests/fuzz/corpus/NAME, which
# is only read), print its executions, exec/s and libFuzzer's coverage
# (cov: edges, ft: features), and close with "fuzz: N passed, N failed".
# A crash leaves its input in build/fuzz/artifacts/NAME/; replay it with
# build/fuzz/fuzz_NAME FILE.  The full log is build/fuzz/logs/NAME.log.
secs=$1
dir=$2
shift 2
passed=0
failed=0
for name in "$@"; do
	bin=$dir/fuzz_$name
	work=$dir/corpus/$name
	art=$dir/artifacts/$name
	log=$dir/logs/$name.log
	seeds=tests/fuzz/corpus/$name
	mkdir -p "$work" "$art" "$dir/logs"
	[ -d "$seeds" ] || seeds=
	# shellcheck disable=SC2086
	ASAN_OPTIONS=abort_on_error=1:detect_leaks=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		"$bin" -max_total_time="$secs" -print_final_stats=1 -timeout=20 \
		-rss_limit_mb=2048 -max_len=4096 -artifact_prefix="$art/" \
		"$work" $seeds >"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
	cov=$(sed -n 's/.* cov: \([0-9]*\) ft: \([0-9]*\).*/\1 \2/p' "$log" | tail -n 1)
	corp=$(sed -n 's/.* corp: \([0-9]*\)\/.*/\1/p' "$log" | tail -n 1)
	line="runs=${runs:-?} exec/s=${eps:-?} cov=${cov% *} ft=${cov#* } corpus=${corp:-?}"
	if [ "$rc" -eq 0 ] && grep -q '^Done [0-9]* runs' "$log"; then
		# The core's share: edges of core/ functions the corpus reaches
		# (libFuzzer -print_coverage; per function in logs/NAME.cov).
		"$bin" -runs=0 -print_coverage=1 "$work" 2>&1 |
			grep -E '^(UN)?COVERED_FUNC: .*/core/' >"$dir/logs/$name.cov"
		core=$(sed -n 's/^COVERED_FUNC: hits: [0-9]* edges: \([0-9]*\)\/\([0-9]*\) .*/\1 \2/p' \
			"$dir/logs/$name.cov" |
			awk '{c+=$1; t+=$2; n++} END {printf "%d/%d edges in %d functions", c, t, n}')
		echo "fuzz: $name PASS $line core=$core"
		passed=$((passed + 1))
	else
		echo "fuzz: $name FAIL (exit $rc) $line; log $log"
		grep -m 3 -E 'FUZZ CHECK FAILED|ERROR: |runtime error|Test unit written' "$log" | sed 's/^/    /'
		failed=$((failed + 1))
	fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
