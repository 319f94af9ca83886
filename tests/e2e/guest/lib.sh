# SPDX-License-Identifier: MIT
# shellcheck shell=sh
# Helpers for guest test scripts: `. "$TV_LIB"` (= /opt/tv/lib.sh).
# Every result must be one line "TEST <name> PASS|FAIL <detail>" on stdout.

tv_pass() {
	name=$1
	shift
	echo "TEST $name PASS $*"
}

# tv_fail also sets tv_failed=1, so a script can end with [ -z "$tv_failed" ].
tv_fail() {
	name=$1
	shift
	echo "TEST $name FAIL $*"
	# shellcheck disable=SC2034 # read by the scripts that source this file
	tv_failed=1
}

# tv_check NAME CMD...: PASS if CMD succeeds, else FAIL with its exit code.
tv_check() {
	name=$1
	shift
	if "$@"; then
		tv_pass "$name" "$*"
	else
		tv_fail "$name" "'$*' exited $?"
	fi
}

# Kernel messages that mean the kernel is unhappy.  The host scans the whole
# log for these too; checking here pins the blame on one test.
TV_BAD_DMESG='Oops|Kernel panic|BUG:|WARNING:|general protection fault|Call Trace'

# tv_dmesg_mark: remember how far dmesg is; tv_dmesg_new: print what came after.
tv_dmesg_mark() {
	tv_dmesg_lines=$(dmesg | wc -l)
}

tv_dmesg_new() {
	dmesg | tail -n +$((tv_dmesg_lines + 1))
}

# tv_is_loaded MODULE: true if MODULE is in /proc/modules.
tv_is_loaded() {
	grep -q "^$1 " /proc/modules
}

# tv_check_dmesg NAME: PASS when nothing since tv_dmesg_mark matches
# TV_BAD_DMESG, else FAIL and show the offending lines.
tv_check_dmesg() {
	bad=$(tv_dmesg_new | grep -E "$TV_BAD_DMESG")
	if [ -z "$bad" ]; then
		tv_pass "$1" "no oops/warning in dmesg"
	else
		tv_fail "$1" "kernel complained:"
		echo "$bad"
	fi
}

# E2E_HOST=windows (the NT shim runs thinvisor.sys; docs/windows.md).
TV_SHIM_PARAMS=/sys/module/thinvisor/parameters

# tv_shim_rules NAME: PASS when the loaded shim counted import calls and
# no IRQL violation or misuse.  Call it while the shim is loaded.
tv_shim_rules() {
	calls=$(cat $TV_SHIM_PARAMS/import_calls 2>/dev/null)
	bad=$(cat $TV_SHIM_PARAMS/irql_violations 2>/dev/null)
	if [ "${calls:-0}" -gt 0 ] && [ "$bad" = 0 ]; then
		tv_pass "$1" "$calls import calls, each at an IRQL Windows allows"
	else
		tv_fail "$1" "import calls ${calls:-none}, IRQL violations or misuse ${bad:-unknown}"
		tv_dmesg_new | grep 'ntshim: .*\(IRQL\|: \)' | head -n 5
	fi
}

# tv_shim_clean NAME: PASS when dmesg since tv_dmesg_mark has no shim
# report of something the driver left behind or an IRQL violation.
tv_shim_clean() {
	left=$(tv_dmesg_new | grep -E 'ntshim: (leak|IRQL violation)|left something behind')
	if [ -z "$left" ]; then
		tv_pass "$1" "no leak, no IRQL violation"
	else
		tv_fail "$1" "$(echo "$left" | head -n 3 | tr '\n' ' ')"
	fi
}
