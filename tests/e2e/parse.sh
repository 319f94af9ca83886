#!/bin/sh
# SPDX-License-Identifier: MIT
# Judge an e2e run from the guest's serial log (see guest/init for markers).
# usage: tests/e2e/parse.sh SERIAL_LOG [HOST_FAILURE...]
# Prints every TEST line, a FAIL line for each thing that went wrong outside
# them (a script with no result or no END, no done marker, a kernel oops or
# warning, each HOST_FAILURE), then "e2e: N passed, N failed".
# Exits 1 if anything failed.  Can be re-run on any old runs/*/serial.log.
set -eu

if [ $# -lt 1 ]; then
	echo "usage: $0 SERIAL_LOG [HOST_FAILURE...]" >&2
	exit 2
fi
log=$1
shift
hostfails=
for f in "$@"; do
	hostfails="$hostfails$f
"
done

# Kernel messages that fail a run wherever they appear (outside TEST lines).
bad='Oops|Kernel panic|BUG:|WARNING:|general protection fault|Call Trace'

export hostfails
tr -d '\r' <"$log" | awk -v bad="$bad" '
function fail(name, detail) {
	print "TEST " name " FAIL " detail
	nfail++
}
/^E2E-SCRIPT [^ ]+ BEGIN$/ {
	cur = $2
	scripts[++nscripts] = cur
	ntests[cur] = 0
	next
}
/^E2E-SCRIPT [^ ]+ END/ {
	ended[$2] = 1
	cur = ""
	next
}
/^TEST [^ ]+ (PASS|FAIL)( |$)/ {
	print
	if ($3 == "PASS")
		npass++
	else
		nfail++
	if (cur != "")
		ntests[cur]++
	next
}
/^TV-E2E-DONE$/ { done = 1 }
$0 ~ bad {
	if (nbad < 20)
		badlines[++nbad] = $0
	else
		nbad++
}
END {
	for (i = 1; i <= nscripts; i++) {
		s = scripts[i]
		if (!(s in ended))
			fail(s, "never finished (no E2E-SCRIPT END: guest crashed or hung)")
		else if (ntests[s] == 0)
			fail(s, "printed no TEST line")
	}
	if (nscripts == 0)
		fail("guest", "ran no test script (no E2E-SCRIPT BEGIN)")
	if (!done)
		fail("guest", "no TV-E2E-DONE marker (guest crashed, hung or ran out of time)")
	if (nbad) {
		fail("kernel-log", nbad " line(s) with an oops, BUG, WARNING or panic:")
		for (i = 1; i <= nbad && i <= 20; i++)
			print "    " badlines[i]
	}
	n = split(ENVIRON["hostfails"], hf, "\n")
	for (i = 1; i <= n; i++)
		if (hf[i] != "")
			fail("host", hf[i])
	printf "e2e: %d passed, %d failed\n", npass, nfail
	exit nfail > 0
}'
