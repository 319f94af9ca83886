#!/bin/sh
# SPDX-License-Identifier: MIT
# make compdb: compile_commands.json at the top of the tree for clangd and
# other editors, recorded by bear from real builds: the module (kbuild's
# flags for the given kernel headers), tvctl and the unit tests.  The
# module is built from a per-kernel copy of the sources
# (scripts/build-module.sh); its paths are mapped back to the tree.
# usage: scripts/compdb.sh KDIR
set -eu
if [ $# -ne 1 ] || [ ! -f "$1/Makefile" ]; then
	echo "usage: $0 KDIR (kernel headers; 'scripts/deps.sh check' installs them)" >&2
	exit 2
fi
top=$(cd "$(dirname "$0")/.." && pwd)
out=${BUILD:-$top/build}/compdb
cd "$top"
command -v bear >/dev/null || { echo "compdb: no bear: run 'scripts/deps.sh check'" >&2; exit 1; }
rm -rf "$out"
mkdir -p "$out"
# From scratch, so that every compiler call happens and is recorded.
# The unit tests run too: ASan must not insist on coming before bear's
# preloaded library.
export ASAN_OPTIONS=verify_asan_link_order=0
# shellcheck disable=SC2016 # expanded by the inner sh, from its arguments
bear --output "$out/raw.json" -- sh -c '
	scripts/build-module.sh "$1" "$2/module" >"$2/build.log" 2>&1 &&
	make -B BUILD="$2" tvctl >>"$2/build.log" 2>&1 &&
	make -B BUILD="$2" unit >>"$2/build.log" 2>&1' sh "$1" "$out" || {
	tail -20 "$out/build.log" >&2
	exit 1
}
sed -e "s|$out/module/src/|$top/|g" -e "s|$out/module/src\\b|$top|g" "$out/raw.json" \
	>compile_commands.json
echo "compdb: $top/compile_commands.json ($(grep -c '"file"' compile_commands.json) compiler calls)"
