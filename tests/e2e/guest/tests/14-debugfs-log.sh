# SPDX-License-Identifier: MIT
# shellcheck shell=sh
# The kernel's own interfaces: /sys/kernel/debug/thinvisor/{status,stats}
# (read-only, root only, there exactly while the module is loaded, agreeing
# with tvctl), and the kernel log: every line of the module has one
# "thinvisor: " prefix, VMM-ring lines included, at the level the VMM gave
# (dmesg -r shows the <level>).  Leaves the guest as it found it.
# shellcheck source=tests/e2e/guest/lib.sh
. "$TV_LIB"
dir=/sys/kernel/debug/thinvisor

if [ -e "$dir" ]; then
	tv_fail debugfs-absent-before "$dir exists without the module"
else
	tv_pass debugfs-absent-before "no $dir without the module"
fi
tv_dmesg_mark
tv_check debugfs-insmod insmod "$TV_MODULE"
old=$(cat /sys/module/thinvisor/parameters/log_level)
echo 7 >/sys/module/thinvisor/parameters/log_level
tvctl ping >/dev/null
tvcpuid sig present >/dev/null

n=$(grep -c '^processor' /proc/cpuinfo)
st=$(cat "$dir/status")
echo "$st"
virt=$(echo "$st" | awk '$1 ~ /^[0-9]+$/ && $2 == 1 && $3 == 1' | wc -l)
if echo "$st" | grep -q '^cpu online virtualized vpid exits$' && [ "$virt" -eq "$n" ] &&
   echo "$st" | grep -Eq '^version [0-9]+\.[0-9]+$'; then
	tv_pass debugfs-status "$virt of $n CPUs online and virtualized"
else
	tv_fail debugfs-status "$virt of $n CPUs virtualized"
fi
stats=$(cat "$dir/stats")
echo "$stats" | head -12
if echo "$stats" | head -1 | grep -q '^cpu reason count cycles$' &&
   echo "$stats" | grep -Eq '^0 CPUID [1-9][0-9]* [0-9]+$' &&
   echo "$stats" | grep -Eq '^0 VMCALL [1-9][0-9]* [0-9]+$'; then
	tv_pass debugfs-stats "CPUID and VMCALL exits named and counted on CPU 0"
else
	tv_fail debugfs-stats "no named CPUID/VMCALL counts"
fi
# The same numbers tvctl reads through the ioctl (exits only grow: the
# debugfs count of CPU 0 can only be <= a later tvctl count).
dbg=$(echo "$stats" | awk '$1 == 0 && $2 == "CPUID" { print $3 }')
ioc=$(tvctl stats --json | grep -o '{"cpu": 0, "reasons": {[^}]*"CPUID": {"count": [0-9]*' | grep -o '[0-9]*$')
if [ -n "$dbg" ] && [ -n "$ioc" ] && [ "$dbg" -le "$ioc" ]; then
	tv_pass debugfs-agrees "CPU 0 CPUID: debugfs $dbg, then tvctl $ioc"
else
	tv_fail debugfs-agrees "debugfs '$dbg', tvctl '$ioc'"
fi
mode=$(stat -c %a "$dir/status" "$dir/stats" | sort -u)
if [ "$mode" = 400 ] && ! (echo x >"$dir/stats") 2>/dev/null; then
	tv_pass debugfs-read-only "mode 0400, writes refused"
else
	tv_fail debugfs-read-only "mode $mode, or a write succeeded"
fi

sleep 1
echo "$old" >/sys/module/thinvisor/parameters/log_level
tv_check debugfs-rmmod rmmod thinvisor
if [ -e "$dir" ]; then
	tv_fail debugfs-gone-after "$dir left after rmmod"
else
	tv_pass debugfs-gone-after "$dir removed with the module"
fi

# A refusal from the core (test build: capability check failure injected).
insmod "$TV_MODULE" fail_step=1 2>/dev/null && rmmod thinvisor

# One prefix per line, and the VMM's levels through the kernel's.
log=$(tv_dmesg_new)
# The raw records, without the timestamps a kernel with printk.time adds.
raw=$(dmesg -r | sed -E 's/^(<[0-9]+>)\[ *[0-9.]+\] /\1/' | grep 'thinvisor')
double=$(echo "$log" | grep -E 'thinvisor: (\[cpu [0-9]+ vmm\] )?thinvisor: ')
if [ -z "$double" ] && echo "$log" | grep -q 'thinvisor: [0-9]* CPUs virtualized'; then
	tv_pass log-one-prefix "no line with two prefixes"
else
	tv_fail log-one-prefix "$double"
fi
if echo "$raw" | grep -q '^<7>thinvisor: \[cpu 0 vmm\] CPU 0: ping from the guest$' &&
   echo "$raw" | grep -q '^<6>thinvisor: [0-9]* CPUs virtualized' &&
   echo "$raw" | grep -q '^<3>thinvisor: refusing to load: VMX capabilities lack what thinvisor needs: injected$'; then
	tv_pass log-levels "VMM debug line at <7>, load line at <6>, core refusal at <3>"
else
	tv_fail log-levels "$(echo "$raw" | grep -m3 -E 'ping|virtualized')"
fi
tv_check_dmesg debugfs-dmesg-clean
[ -z "$tv_failed" ]
