# SPDX-License-Identifier: MIT
# shellcheck shell=sh
# Example for E2E_EXTRA=DIR make e2e: the guest copies DIR to /opt/tv/extra,
# loads thinvisor, runs this script from there and unloads it.  Print one
# "TEST <name> PASS|FAIL <detail>" line per check; anything else is a log.
# shellcheck source=tests/e2e/guest/lib.sh
. "$TV_LIB"

if tv_is_loaded thinvisor; then
	tv_pass extra-example-loaded "thinvisor is in /proc/modules"
else
	tv_fail extra-example-loaded "thinvisor is not in /proc/modules"
fi

# /init runs the extras on a whole guest: every CPU the host asked for is
# online (no test before may leave one offline).
ncpu=$(grep -c '^processor' /proc/cpuinfo)
if [ "$ncpu" -eq "$TV_CPUS" ]; then
	tv_pass extra-example-cpus "$ncpu of $TV_CPUS CPUs online"
else
	tv_fail extra-example-cpus "$ncpu of $TV_CPUS CPUs online"
fi
