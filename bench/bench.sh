# SPDX-License-Identifier: MIT
# shellcheck shell=sh
# The guest side of `make bench`: every workload natively, then under
# thinvisor, in the same boot; TSC ticks (one per emulated instruction
# under Bochs).  Prints the table as "BENCH-TABLE |...|" lines, which the
# host collects into build/bench/.
# shellcheck source=tests/e2e/guest/lib.sh
. "$TV_LIB"

ncpu=$(grep -c ^processor /proc/cpuinfo)
scale=${TV_BENCH_SCALE:-1}

kmod_bench() {
	insmod "$TV_KMOD/tvbench.ko" iters=2000 || return 1
	dmesg | grep 'tvbench: BENCH' | tail -n 2 | sed 's/.*tvbench: //'
	rmmod tvbench
}

run_all() {
	kmod_bench
	tvbench "$scale"
}

[ -e /dev/cpu/0/msr ] || insmod /opt/tv/kmod-host/msr.ko 2>/dev/null
run_all > /tmp/native.txt
# RDMSR of IA32_TSC (0x10) exits only with this test knob: the benchmark's
# intercepted-RDMSR round trip.
tv_dmesg_mark
insmod "$TV_MODULE" test_intercept_msr=0x10 || { tv_fail bench-load "insmod failed"; exit 1; }
load=$(tv_dmesg_new | sed -n 's/.*virtualized in \([0-9]*\) TSC ticks.*/\1/p')
mem=$(tv_dmesg_new | sed -n 's/.*VMM memory: //p')
tvctl stats --reset >/dev/null
run_all > /tmp/virt.txt
stats=$(tvctl stats)
echo "$stats"
tv_dmesg_mark
rmmod thinvisor
unload=$(tv_dmesg_new | sed -n 's/.*given back in \([0-9]*\) TSC ticks.*/\1/p')

vmm_cpuid=$(echo "$stats" | awk '$1 == "CPUID" {print $NF}')
vmm_rdmsr=$(echo "$stats" | awk '$1 == "RDMSR" {print $NF}')

echo "BENCH-TABLE | workload | native ticks/iter | thinvisor ticks/iter | ratio |"
echo "BENCH-TABLE |---|---:|---:|---:|"
awk 'NR == FNR { n[$2] = $3 / $4; next }
     { v = $3 / $4; printf "BENCH-TABLE | %s | %.1f | %.1f | %.3f |\n", $2, n[$2], v, v / n[$2] }' \
	/tmp/native.txt /tmp/virt.txt
echo "BENCH-TABLE "
echo "BENCH-TABLE | measure | value |"
echo "BENCH-TABLE |---|---:|"
echo "BENCH-TABLE | CPUs | $ncpu |"
echo "BENCH-TABLE | VMM handler instructions per CPUID exit (stats) | $vmm_cpuid |"
echo "BENCH-TABLE | VMM handler instructions per RDMSR exit (stats) | $vmm_rdmsr |"
echo "BENCH-TABLE | ticks to virtualize all CPUs | $load |"
echo "BENCH-TABLE | ticks to give every CPU back | $unload |"
echo "BENCH-TABLE | VMM memory | $mem |"
if [ -n "$load" ] && [ -n "$vmm_cpuid" ]; then
	tv_pass bench "table printed"
else
	tv_fail bench "missing figures"
fi
