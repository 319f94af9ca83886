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

cmds=$("$tvctl" --help | awk '/^commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 } /^$/ && on { on = 0 }')
[ -n "$cmds" ] && ok "commands-listed ($(echo $cmds))" || bad commands-listed "none in --help"
for c in $cmds; do
	grep -A1 "^\.TP" "$man" | grep -Eq "^\.(B|BR) \"?$c( |\$)" && ok "man-$c" || bad "man-$c" "no entry in docs/tvctl.8"
	"$tvctl" help "$c" | head -1 | grep -q "^usage: tvctl $c" && ok "help-$c" || bad "help-$c" "no usage line"
done
codes=$(sed -n '/^enum tvctl_exit/,/^};/p' "$top/tools/tvctl.h" | grep -o '= [0-9]*' | grep -o '[0-9]*')
for n in $codes; do
	grep -q "^\.B $n\$" "$man" && ok "man-exit-$n" || bad "man-exit-$n" "exit code $n undocumented"
done
man --warnings -l "$man" >/dev/null 2>/tmp/tvctl-man.err
[ ! -s /tmp/tvctl-man.err ] && ok man-renders || bad man-renders "$(head -3 /tmp/tvctl-man.err)"

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
[ -n "$got" ] && ok completion-commands
[ "$(complete_words tvctl st)" = "status stats" ] && ok completion-prefix || bad completion-prefix "'$(complete_words tvctl st)'"
[ "$(complete_words tvctl stats --r)" = "--reset" ] && ok completion-stats || bad completion-stats "'$(complete_words tvctl stats --r)'"
[ "$(complete_words tvctl log -)" = "-f --json --help" ] && ok completion-log || bad completion-log "'$(complete_words tvctl log -)'"
[ "$(complete_words tvctl help ch)" = "check" ] && ok completion-help || bad completion-help "'$(complete_words tvctl help ch)'"
[ "$(complete_words tvctl --json sta)" = "status stats" ] && ok completion-after-option || bad completion-after-option "'$(complete_words tvctl --json sta)'"

echo "tvctl-test: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
