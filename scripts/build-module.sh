#!/bin/sh
# Build thinvisor.ko against the kernel tree KDIR into OUT.
# usage: scripts/build-module.sh KDIR OUT [EXTRA_CFLAGS [KBUILD_ARGS...]]
# (KBUILD_ARGS: e.g. C=2 W=1 for make check)
# kbuild writes objects next to the sources, so each kernel gets its own copy
# of the sources under OUT/src; the module lands in OUT/thinvisor.ko.
set -eu
if [ $# -lt 2 ]; then
	echo "usage: $0 KDIR OUT [EXTRA_CFLAGS]" >&2
	exit 2
fi
kdir=$1
out=$2
extra=${3:-}
shift $(($# < 3 ? $# : 3))
top=$(cd "$(dirname "$0")/.." && pwd)
if [ ! -f "$kdir/Makefile" ]; then
	echo "build-module: no kernel build tree at '$kdir' (run 'make deps' or set KDIR)" >&2
	exit 1
fi
mkdir -p "$out/src"
# Copy only files whose content changed, so that a rebuild stays
# incremental and a stale copy (newer timestamp, other content) never wins.
(cd "$top" && find core arch platform/linux include Kbuild VERSION -type f) |
	while read -r f; do
		cmp -s "$top/$f" "$out/src/$f" && continue
		mkdir -p "$out/src/$(dirname "$f")"
		cp -p "$top/$f" "$out/src/$f"
	done
# Drop sources deleted from the tree since the last copy.
(cd "$out/src" && find core arch platform/linux include -type f \( -name '*.c' -o -name '*.h' -o -name '*.S' \) |
	while read -r f; do [ -e "$top/$f" ] || rm -f "$f"; done)
make -C "$kdir" M="$out/src" TV_EXTRA_CFLAGS="$extra" "$@" modules
cp "$out/src/thinvisor.ko" "$out/thinvisor.ko"
echo "build-module: $out/thinvisor.ko"
