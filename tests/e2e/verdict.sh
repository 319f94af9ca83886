# SPDX-License-Identifier: MIT
# shellcheck shell=sh
# Verdicts for the host-side runs that judge a guest from its logs
# (panic.sh, triple.sh): `. tests/e2e/verdict.sh`, then result/has/lacks,
# and verdict_summary NAME at the end (exit status: 0 when all passed).

passed=0
failed=0

# result NAME OK DETAIL: one TEST line, counted; OK is 1 for a pass.
result() {
	if [ "$2" = 1 ]; then
		echo "TEST $1 PASS"
		passed=$((passed + 1))
	else
		echo "TEST $1 FAIL $3"
		failed=$((failed + 1))
	fi
}

# has NAME FILE REGEX: FILE has a line matching the extended REGEX.
has() {
	ok=0
	grep -Eq "$3" "$2" && ok=1
	result "$1" $ok "no '$3' in $2"
}

# lacks NAME FILE REGEX: FILE has no such line.
lacks() {
	ok=1
	grep -Eq "$3" "$2" && ok=0
	result "$1" $ok "'$3' in $2"
}

# no_hang NAME LOG: run.sh's LOG does not say the time limit was hit.
no_hang() {
	lacks "$1" "$2" 'time limit of .* hit'
}

verdict_summary() {
	echo "$1: $passed passed, $failed failed"
	[ "$failed" -eq 0 ]
}
