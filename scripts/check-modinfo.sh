#!/bin/sh
# SPDX-License-Identifier: MIT
# Check what modinfo shows of a built thinvisor.ko: version (the VERSION
# file's), author, description, license, and a description for every
# parameter; with a modprobe.d file, that it names every parameter.
# usage: scripts/check-modinfo.sh KO [VERSION] [MODPROBE_CONF]
set -eu
if [ $# -lt 1 ]; then
	echo "usage: $0 KO [VERSION] [MODPROBE_CONF]" >&2
	exit 2
fi
ko=$1
top=$(cd "$(dirname "$0")/.." && pwd)
want_version=${2:-$(cat "$top/VERSION")}
conf=${3:-}
modinfo=${MODINFO:-/sbin/modinfo}
fail=0
bad() {
	echo "modinfo: FAIL $ko: $*" >&2
	fail=1
}

for field in version author description license srcversion; do
	v=$("$modinfo" -F "$field" "$ko")
	[ -n "$v" ] || bad "no $field"
done
v=$("$modinfo" -F version "$ko")
[ "$v" = "$want_version" ] || bad "version '$v', VERSION says '$want_version'"

# "name:description (type)" per parameter; -F parm gives one per line.
nparm=0
params=
while IFS= read -r line; do
	[ -n "$line" ] || continue
	name=${line%%:*}
	desc=${line#*:}
	desc=$(printf '%s' "$desc" | sed 's/ *([a-z]*)$//')
	nparm=$((nparm + 1))
	params="$params $name"
	if [ -z "$desc" ] || [ "$desc" = "$line" ]; then
		bad "parameter $name has no description"
	fi
done <<EOF
$("$modinfo" -F parm "$ko")
EOF
[ "$nparm" -gt 0 ] || bad "no parameters listed (log_level at least)"

if [ -n "$conf" ]; then
	for p in $params; do
		grep -Eq "^#?options thinvisor .*\b$p=" "$conf" ||
			bad "parameter $p is not documented in $conf"
	done
fi
[ "$fail" -eq 0 ] || exit 1
echo "modinfo: ok $ko: version $v, author, description, license, $nparm parameters described:$params"
