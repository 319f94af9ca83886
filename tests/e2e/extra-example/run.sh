# SPDX-License-Identifier: MIT
# Example for E2E_EXTRA=DIR make e2e: the guest copies DIR to /opt/tv/extra,
# loads thinvisor, runs this script from there and unloads it.  Print one
# "TEST <name> PASS|FAIL <detail>" line per check; anything else is a log.
. "$TV_LIB"

if tv_is_loaded thinvisor; then
	tv_pass extra-example-loaded "thinvisor is in /proc/modules"
else
	tv_fail extra-example-loaded "thinvisor is not in /proc/modules"
fi
