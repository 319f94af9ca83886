# SPDX-License-Identifier: MIT
# shellcheck shell=sh
# The guest sees as many CPUs as the host asked Bochs for, each with the vmx
# and ept flags (Bochs' corei7_skylake_x model emulates VT-x with EPT).
# shellcheck source=tests/e2e/guest/lib.sh
. "$TV_LIB"

ncpu=$(grep -c '^processor' /proc/cpuinfo)
if [ "$ncpu" -eq "$TV_CPUS" ]; then
	tv_pass cpu-count "$ncpu CPUs"
else
	tv_fail cpu-count "/proc/cpuinfo has $ncpu CPUs, host asked for tv.cpus=$TV_CPUS"
fi

# One "flags" line per CPU; count those that have both words.
nvmx=$(grep '^flags' /proc/cpuinfo | grep -w vmx | grep -cw ept)
if [ "$nvmx" -eq "$ncpu" ] && [ "$ncpu" -gt 0 ]; then
	tv_pass cpu-vmx-ept "vmx and ept on $nvmx/$ncpu CPUs"
else
	tv_fail cpu-vmx-ept "vmx and ept on only $nvmx/$ncpu CPUs"
	grep -m1 '^flags' /proc/cpuinfo
fi
