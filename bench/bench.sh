# SPDX-License-Identifier: MIT
# shellcheck shell=sh
# The guest side of `make bench`, all in one boot: every workload natively
# twice (the second pass against the first is the noise floor), then under
# thinvisor; TSC ticks (one per emulated instruction under Bochs).  Every
# workload runs TV_BENCH_ROUNDS rounds per pass (default 5): the tables
# give the median ticks per iteration and the spread, (max - min) / median.
# Then thinvisor once more with stat_cycles=1, for the handler-only cycles
# of the general path.  Prints the tables as "BENCH-TABLE |...|" lines,
# which the host collects into build/bench/.
# shellcheck source=tests/e2e/guest/lib.sh
. "$TV_LIB"

ncpu=$(grep -c ^processor /proc/cpuinfo)
scale=${TV_BENCH_SCALE:-1}
rounds=${TV_BENCH_ROUNDS:-5}

kmod_bench() {
	tv_dmesg_mark
	insmod "$TV_KMOD/tvbench.ko" iters=2000 rounds="$rounds" || return 1
	tv_dmesg_new | grep 'tvbench: BENCH' | sed 's/.*tvbench: //'
	rmmod tvbench
}

run_all() {
	kmod_bench
	tvbench "$scale"
}

summarize() {
	awk -f "$TV_KMOD/summarize.awk" "$1"
}

[ -e /dev/cpu/0/msr ] || insmod /opt/tv/kmod-host/msr.ko 2>/dev/null
run_all > /tmp/native1.raw
run_all > /tmp/native2.raw
# RDMSR of IA32_TSC (0x10) exits only with this test knob: the benchmark's
# intercepted-RDMSR round trip.
tv_dmesg_mark
insmod "$TV_MODULE" test_intercept_msr=0x10 || { tv_fail bench-load "insmod failed"; exit 1; }
load=$(tv_dmesg_new | sed -n 's/.*virtualized in \([0-9]*\) TSC ticks.*/\1/p')
mem=$(tv_dmesg_new | sed -n 's/.*VMM memory: //p')
tvctl stats --reset >/dev/null
run_all > /tmp/virt.raw
tvctl stats
tv_dmesg_mark
rmmod thinvisor
unload=$(tv_dmesg_new | sed -n 's/.*given back in \([0-9]*\) TSC ticks.*/\1/p')
tv_dmesg_new

# Load and unload again, TV_BENCH_ROUNDS times: on 2 CPUs waking the other
# CPU's hotplug thread sometimes waits for a timer tick (~100K ticks), so
# one load says little.  Median and extremes.
loads=$load unloads=$unload
r=0
while [ "$r" -lt "$rounds" ]; do
	r=$((r + 1))
	tv_dmesg_mark
	insmod "$TV_MODULE" || break
	rmmod thinvisor
	loads="$loads $(tv_dmesg_new | sed -n 's/.*virtualized in \([0-9]*\) TSC ticks.*/\1/p')"
	unloads="$unloads $(tv_dmesg_new | sed -n 's/.*given back in \([0-9]*\) TSC ticks.*/\1/p')"
done
# "median min max" of a list of numbers.
med3() {
	echo "$@" | tr ' ' '\n' | grep . | sort -n | awk '{ v[NR] = $1 }
		END { printf "%d %d %d", v[int((NR + 1) / 2)], v[1], v[NR] }'
}
# shellcheck disable=SC2046,SC2086 # word lists on purpose
set -- $(med3 $loads); load=$1 load_range="$2-$3"
# shellcheck disable=SC2046,SC2086
set -- $(med3 $unloads); unload=$1 unload_range="$2-$3"

# The general path's handler cycles per exit, from the statistics.
insmod "$TV_MODULE" test_intercept_msr=0x10 stat_cycles=1 ||
	{ tv_fail bench-load "insmod stat_cycles=1 failed"; exit 1; }
tvctl stats --reset >/dev/null
kmod_bench >/dev/null
stats=$(tvctl stats)
echo "$stats"
rmmod thinvisor
handler() {
	echo "$stats" | awk -v r="$1" '$1 == r { print $NF }'
}

summarize /tmp/native1.raw > /tmp/native1.txt
summarize /tmp/native2.raw > /tmp/native2.txt
summarize /tmp/virt.raw > /tmp/virt.txt

echo "BENCH-TABLE | workload | native ticks/iter (spread) | native again (spread) | noise floor | thinvisor ticks/iter (spread) | ratio | best-of ratio | above native |"
echo "BENCH-TABLE |---|---:|---:|---:|---:|---:|---:|---:|"
awk 'FILENAME == ARGV[1] { n1[$1] = $2; s1[$1] = $3; m1[$1] = $5; next }
     FILENAME == ARGV[2] { n2[$1] = $2; s2[$1] = $3; m2[$1] = $5; next }
     { m = m1[$1] < m2[$1] ? m1[$1] : m2[$1]
	printf "BENCH-TABLE | %s | %.1f (%.1f%%) | %.1f (%.1f%%) | %+.2f%% | %.1f (%.1f%%) | %.3f | %.3f | %+.1f |\n",
	$1, n1[$1], s1[$1], n2[$1], s2[$1], 100 * (n2[$1] / n1[$1] - 1),
	$2, $3, $2 / n1[$1], $5 / m, $2 - n1[$1] }' \
	/tmp/native1.txt /tmp/native2.txt /tmp/virt.txt
echo "BENCH-TABLE "
echo "BENCH-TABLE Medians of $rounds rounds per pass; spread = (max - min) / median; noise floor = second native pass against the first; best-of ratio = thinvisor's fastest round against the fastest native round of both passes; above native = ticks (instructions) each iteration costs more under thinvisor."
echo "BENCH-TABLE "
echo "BENCH-TABLE | measure | value |"
echo "BENCH-TABLE |---|---:|"
echo "BENCH-TABLE | CPUs | $ncpu |"
echo "BENCH-TABLE | general-path handler cycles per CPUID exit (stat_cycles=1, leaves 0 and 1) | $(handler CPUID) |"
echo "BENCH-TABLE | general-path handler cycles per RDMSR exit (stat_cycles=1) | $(handler RDMSR) |"
echo "BENCH-TABLE | ticks to virtualize all CPUs (median of $((rounds + 1)), range) | $load ($load_range) |"
echo "BENCH-TABLE | ticks to give every CPU back (median, range) | $unload ($unload_range) |"
[ -n "$load" ] && echo "BENCH-TABLE | ticks to virtualize, per CPU (median) | $((load / ncpu)) |"
[ -n "$unload" ] && echo "BENCH-TABLE | ticks to give back, per CPU (median) | $((unload / ncpu)) |"
echo "BENCH-TABLE | VMM memory | $mem |"
if [ -n "$load" ] && [ -n "$unload" ] && [ -s /tmp/virt.txt ]; then
	tv_pass bench "table printed"
else
	tv_fail bench "missing figures"
fi
