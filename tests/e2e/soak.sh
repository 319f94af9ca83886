#!/bin/sh
# SPDX-License-Identifier: MIT
# The soak: boot a 2-CPU guest and run tests/e2e/guest/soak.sh in it for
# SOAK_S guest seconds (load/unload, CPU 1 offline/online, tvstress and
# tvnmi at once), then judge the run like any other (parse.sh: the TEST
# lines, no oops, no hang) and print each activity's counts.
# usage: SOAK_S=N tests/e2e/soak.sh          (make soak SOAK_S=N)
# env:   SOAK_S (default 120), and the E2E_* knobs of run.sh (E2E_KERNEL,
#        E2E_CPU_MODEL, E2E_PTI, ...); E2E_CPUS is 2.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=${BUILD:-$top/build}
SOAK_S=${SOAK_S:-120}
export BUILD SOAK_S
case $SOAK_S in
'' | *[!0-9]*) echo "soak: SOAK_S must be a number of seconds" >&2; exit 2 ;;
esac
extra=$BUILD/e2e/soak-extra
rm -rf "$extra"
mkdir -p "$extra"
cp "$top/tests/e2e/guest/soak.sh" "$extra/run.sh"
echo "$SOAK_S" >"$extra/soak_s"

# The guest script's own limit: the soak, a minute of grace, and room to
# load and unload at the end.
status=0
E2E_CPUS=2 E2E_EXTRA=$extra E2E_SCRIPT_TIMEOUT=$((SOAK_S + 300)) \
	"$top/tests/e2e/run.sh" soak || status=$?
# shellcheck disable=SC2012 # newest first; run names have no odd characters
run=$(ls -1dt "$BUILD"/e2e/runs/*-soak/ | head -n 1)
echo "soak: activity counts from $run/serial.log:"
tr -d '\r' <"$run/serial.log" | grep '^SOAK ' || echo "soak: no counts (the guest did not finish)"
exit "$status"
