#!/bin/bash
# SPDX-License-Identifier: MIT
# Host checks of tvctl's documentation and completion against the binary:
# every command `tvctl --help` lists has a man-page entry (docs/tvctl.8),
# its own help, and bash completion; every exit code in tvctl.h is in the
# man page; the completion offers commands and each command's options.
# usage: tests/tools/run.sh BUILD/tools/tvctl
set -u
tvctl=$1
top=$(cd "$(dirname "$0")/../.." && pwd)
man=$top/docs/tvctl.8
comp=$top/tools/tvctl.bash-completion
pass=0
fail=0
ok() { echo "tvctl-test: $1 PASS"; pass=$((pass + 1)); }
bad() { echo "tvctl-test: $1 FAIL $2"; fail=$((fail + 1)); }
# t NAME WHY-IF-NOT CMD...: PASS when CMD succeeds.
t() {
	name=$1
	why=$2
	shift 2
	if "$@"; then ok "$name"; else bad "$name" "$why"; fi
}

cmds=$("$tvctl" --help | awk '/^commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 } /^$/ && on { on = 0 }')
t "commands-listed ($(echo "$cmds" | tr '\n' ' '))" "none in --help" [ -n "$cmds" ]
for c in $cmds; do
	t "man-$c" "no entry in docs/tvctl.8" sh -c "grep -A1 '^\.TP' '$man' | grep -Eq '^\.(B|BR) \"?$c( |\$)'"
	t "help-$c" "no usage line" sh -c "'$tvctl' help '$c' | head -1 | grep -q '^usage: tvctl $c'"
done
codes=$(sed -n '/^enum tvctl_exit/,/^};/p' "$top/tools/tvctl.h" | grep -o '= [0-9]*' | grep -o '[0-9]*')
for n in $codes; do
	t "man-exit-$n" "exit code $n undocumented" grep -q "^\.B $n\$" "$man"
done
man --warnings -l "$man" >/dev/null 2>/tmp/tvctl-man.err
t man-renders "$(head -3 /tmp/tvctl-man.err)" [ ! -s /tmp/tvctl-man.err ]

# Completion: source it and ask as bash would.
# shellcheck disable=SC1090
. "$comp"
complete_words() {
	COMP_WORDS=("$@")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMPREPLY=()
	_tvctl
	echo "${COMPREPLY[*]}"
}
got=$(complete_words tvctl "")
for c in $cmds; do
	case " $got " in *" $c "*) ;; *) bad completion-commands "no $c in '$got'"; got=; break ;; esac
done
[ -z "$got" ] || ok completion-commands
got=$(complete_words tvctl st)
t completion-prefix "'$got'" [ "$got" = "status stats" ]
got=$(complete_words tvctl stats --r)
t completion-stats "'$got'" [ "$got" = "--reset" ]
got=$(complete_words tvctl log -)
t completion-log "'$got'" [ "$got" = "-f --json --help" ]
got=$(complete_words tvctl help ch)
t completion-help "'$got'" [ "$got" = "check" ]
got=$(complete_words tvctl --json sta)
t completion-after-option "'$got'" [ "$got" = "status stats" ]

echo "tvctl-test: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
