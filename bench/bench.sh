# SPDX-License-Identifier: MIT
# shellcheck shell=sh
# The guest side of `make bench`, all in one boot: every workload natively
# twice (the second pass against the first is the noise floor), then under
# thinvisor; TSC ticks (one per emulated instruction under Bochs).  Every
# workload runs TV_BENCH_ROUNDS rounds per pass (default 5): the tables
# give the median ticks per iteration and the spread, (max - min) / median.
# Then thinvisor once more with stat_cycles=1, for the handler-only cycles
# of the general path.  Then the extension passes: thinvisor with the
# bench's extension tvbenchext (one trivial callback per event type) for
# the kernel loops, and with extensions/tvguard (mode=block, its default,
# then mode=report) for the user-mode workloads.  Prints the tables as
# "BENCH-TABLE |...|" lines, which the host collects into build/bench/.
# shellcheck source=tests/e2e/guest/lib.sh
. "$TV_LIB"

ncpu=$(grep -c ^processor /proc/cpuinfo)
scale=${TV_BENCH_SCALE:-1}
rounds=${TV_BENCH_ROUNDS:-5}

iters=2000 ev_iters=500
# kmod_bench [PARAM=VALUE...]: tvbench.ko's loops (extra module parameters
# for the extension rows: vmcall=, page=).
kmod_bench() {
	tv_dmesg_mark
	insmod "$TV_KMOD/tvbench.ko" iters=$iters ev_iters=$ev_iters \
		rounds="$rounds" "$@" || return 1
	tv_dmesg_new | grep 'tvbench: BENCH' | sed 's/.*tvbench: //'
	rmmod tvbench
}

# run_all [PARAM=VALUE...]: the kernel loops, then the user workloads.
run_all() {
	kmod_bench "$@"
	tvbench "$scale"
}

hc_ping=0x7476000000000001		# TV_HC_PING: thinvisor's own
hc_ext=0x7476000000010000		# TV_HC_EXT_FIRST: tvbenchext's

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
run_all vmcall=$hc_ping > /tmp/virt.raw
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

# One trivial callback per event type: the kernel loops again, with
# tvbenchext registered (same test knob, so RDMSR IA32_TSC exits in both).
# Its per-type counts prove each loop reached the callback.
insmod "$TV_MODULE" test_intercept_msr=0x10 ||
	{ tv_fail bench-ext "insmod thinvisor failed"; exit 1; }
if ! insmod "$TV_KMOD/tvbenchext.ko"; then
	rmmod thinvisor
	tv_fail bench-ext "insmod tvbenchext failed"
	exit 1
fi
extp=/sys/module/tvbenchext/parameters
kmod_bench vmcall=$hc_ext page="$(cat $extp/page)" > /tmp/ext.raw
ext_counts=$(cat $extp/counts)
ext_invlpg=$(cat $extp/invlpg)
echo "tvbenchext callbacks: $ext_counts"
tvctl extensions
rmmod tvbenchext
rmmod thinvisor

# The same with stat_cycles=1: handler cycles per exit reason.
insmod "$TV_MODULE" test_intercept_msr=0x10 stat_cycles=1 ||
	{ tv_fail bench-ext "insmod stat_cycles=1 failed"; exit 1; }
if ! insmod "$TV_KMOD/tvbenchext.ko"; then
	rmmod thinvisor
	tv_fail bench-ext "insmod tvbenchext failed"
	exit 1
fi
tvctl stats --reset >/dev/null
kmod_bench vmcall=$hc_ext page="$(cat $extp/page)" > /dev/null
ext_stats=$(tvctl stats)
echo "$ext_stats"
rmmod tvbenchext
rmmod thinvisor

# tvguard with its default parameters (mode=block), then mode=report: the
# user workloads that cause no exit of their own.
guard_pass() {	# NAME [PARAM=VALUE...]
	name=$1
	shift
	insmod "$TV_MODULE" || { tv_fail bench-guard "insmod thinvisor failed"; exit 1; }
	if ! insmod /opt/tv/ext/tvguard.ko "$@"; then
		rmmod thinvisor
		tv_fail bench-guard "insmod tvguard $* failed"
		exit 1
	fi
	gp=/sys/module/tvguard/parameters
	tvctl stats --reset >/dev/null
	tvbench "$scale" > "/tmp/$name.raw"
	st=$(tvctl stats)
	echo "$st"
	for f in pages text_pages rodata_pages page_writes text_pokes cr_writes msr_writes; do
		echo "$f=$(cat $gp/$f)"
	done > "/tmp/$name.state"
	echo "$st" | awk '$1 == "all" { all = $(NF - 1) }
		$1 == "CPUID" { c = $(NF - 1) }
		END { printf "VM exits during the workloads=%d, of them CPUID=%d\n", all, c }' \
		>> "/tmp/$name.state"
	rmmod tvguard
	rmmod thinvisor
}
guard_pass guard_block
guard_pass guard_report mode=report

summarize /tmp/native1.raw > /tmp/native1.txt
summarize /tmp/native2.raw > /tmp/native2.txt
summarize /tmp/virt.raw > /tmp/virt.txt
summarize /tmp/ext.raw > /tmp/ext.txt
summarize /tmp/guard_block.raw > /tmp/guard_block.txt
summarize /tmp/guard_report.raw > /tmp/guard_report.txt

echo "BENCH-TABLE | workload | native ticks/iter (spread) | native again (spread) | noise floor | thinvisor ticks/iter (spread) | ratio | best-of ratio | above native |"
echo "BENCH-TABLE |---|---:|---:|---:|---:|---:|---:|---:|"
awk 'FILENAME == ARGV[1] { n1[$1] = $2; s1[$1] = $3; m1[$1] = $5; next }
     FILENAME == ARGV[2] { n2[$1] = $2; s2[$1] = $3; m2[$1] = $5; next }
     $1 ~ /^ev-/ { next }
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
# The callback table: per row the loop, what it does, whether it exits
# without an extension, the callback count that proves it reached
# tvbenchext ("-": none expected), and the fewest callbacks its rounds
# make.
cat > /tmp/ext-rows <<ROWS
cpuid-leaf0|CPUID leaf 0 (not asked for: should not pay)|yes|-|0
cpuid-leaf1|CPUID leaf 1 (asked for)|yes|cpuid|$((iters * rounds))
rdmsr-tsc|RDMSR IA32_TSC (asked for)|yes (test knob)|msr_read|$((iters * rounds))
ev-wrmsr|WRMSR IA32_SYSENTER_ESP, same value (asked for)|no|msr_write|$((ev_iters * rounds))
ev-cr4-write|MOV to CR4 flipping TSD (mask TSD), per write|no|cr4_write|$((2 * ev_iters * rounds))
ev-cr3-read|MOV from CR3|no|cr3_read|$((ev_iters * rounds))
ev-cr3-write|MOV to CR3, same value|no|cr3_write|$((ev_iters * rounds))
ev-dr-read|MOV from DR0|no|dr|$((ev_iters * rounds))
ev-io-out|OUT to port 0x80 (asked for)|no|io|$((ev_iters * rounds))
ev-sgdt|SGDT|no|descriptor|$((ev_iters * rounds))
ev-xsetbv|XSETBV XCR0, same value|yes|xsetbv|$((ev_iters * rounds))
ev-invlpg|INVLPG|no|invlpg|$((ev_iters * rounds))
ev-rdtsc|RDTSC|no|rdtsc|$((ev_iters * rounds))
ev-ud|#UD from UD2, the kernel's fixup (CONTINUE: re-injected)|no|exception|$((ev_iters * rounds))
ev-vmcall|VMCALL (without: TV_HC_PING; with: the extension's number, HANDLED)|yes|vmcall|$((ev_iters * rounds))
ev-page-write|store to a page read-only in the EPT (HANDLED: dropped, RIP moved)|no|page|$((ev_iters * rounds))
ROWS
echo "BENCH-TABLE "
echo "BENCH-TABLE | event | exits without extension | native ticks/iter (spread) | thinvisor, no extension (spread) | with tvbenchext (spread) | callback cost: with - without | with - native |"
echo "BENCH-TABLE |---|---|---:|---:|---:|---:|---:|"
ext_ok=yes
awk -F'|' -v counts="$ext_counts" -v invlpg="$ext_invlpg" '
	FILENAME == ARGV[1] { split($1, f, " "); n[f[1]] = f[2]; ns[f[1]] = f[3]; next }
	FILENAME == ARGV[2] { split($1, f, " "); v[f[1]] = f[2]; vs[f[1]] = f[3]; next }
	FILENAME == ARGV[3] { split($1, f, " "); e[f[1]] = f[2]; es[f[1]] = f[3]; next }
	FNR == 1 {
		nc = split(counts, c, " ")
		for (i = 1; i <= nc; i++) { split(c[i], kv, "="); cnt[kv[1]] = kv[2] }
	}
	$1 == "ev-invlpg" && !invlpg {
		printf "BENCH-TABLE | %s | %s | not measured: tvbenchext was loaded with invlpg=0 | | | | |\n", $2, $3
		next
	}
	{
		w = $1; why = ""
		if (!(w in v)) why = why " no thinvisor figure;"
		if (!(w in e)) why = why " no figure with the extension;"
		if (!(w in n) && w != "ev-vmcall") why = why " no native figure;"
		if ($4 != "-" && cnt[$4] + 0 < $5 + 0)
			why = why sprintf(" %s callbacks %d < %d;", $4, cnt[$4], $5)
		if (why != "") {
			printf "BENCH-TABLE | %s | %s | MISSING:%s | | | | |\n", $2, $3, why
			bad = 1
			next
		}
		nat = (w in n) ? sprintf("%.1f (%.1f%%)", n[w], ns[w]) : "- (#UD without a VMM)"
		dn = (w in n) ? sprintf("%+.1f", e[w] - n[w]) : "-"
		printf "BENCH-TABLE | %s | %s | %s | %.1f (%.1f%%) | %.1f (%.1f%%) | %+.1f | %s |\n",
			$2, $3, nat, v[w], vs[w], e[w], es[w], e[w] - v[w], dn
	}
	END { exit bad }' /tmp/native1.txt /tmp/virt.txt /tmp/ext.txt /tmp/ext-rows || ext_ok=
echo "BENCH-TABLE "
echo "BENCH-TABLE tvbenchext (bench/ext) asks for each event and answers with a trivial callback: CONTINUE, except the hypercall and the page write (HANDLED). Where the instruction exits without an extension (CPUID, XSETBV, VMCALL, and RDMSR IA32_TSC with test_intercept_msr=0x10), with - without is the callback and its dispatch; elsewhere the instruction exits only because the extension asked, so with - without (about with - native) is a whole exit plus the callback, and the without column is native speed. #UD: both columns include the guest kernel's #UD handler and fixup; the extension adds the exit, the callback and the re-injection. VMCALL: thinvisor alone answers its own ping. Medians of $rounds rounds, $ev_iters iterations each ($iters for CPUID and RDMSR); callbacks seen: $ext_counts"

# Handler cycles per exit reason, thinvisor alone (the stat_cycles pass
# above) and with tvbenchext: where the callback rows' ticks go.
echo "BENCH-TABLE "
echo "BENCH-TABLE | exit reason | exits with tvbenchext | handler cycles per exit, thinvisor alone | with tvbenchext |"
echo "BENCH-TABLE |---|---:|---:|---:|"
echo "$stats" > /tmp/stats-alone.txt
echo "$ext_stats" > /tmp/stats-ext.txt
awk 'FILENAME == ARGV[1] { alone[$1] = $NF; next }
     $1 != "reason" && $1 != "all" && NF >= 3 {
	printf "BENCH-TABLE | %s | %d | %s | %s |\n", $1, $(NF - 1),
		($1 in alone) ? alone[$1] : "- (no exit)", $NF
     }' /tmp/stats-alone.txt /tmp/stats-ext.txt
echo "BENCH-TABLE "
echo "BENCH-TABLE stat_cycles=1: ticks per exit inside the general C handler (with stat_cycles the stub's fast paths stand aside, so every exit is timed there; the stub's register saves and the VM exit and entry are not counted), over the same kernel loops; the extension's counts include every exit of its kind the guest kernel made meanwhile."

# The tvguard table: the no-exit workloads, native against tvguard.
echo "BENCH-TABLE "
echo "BENCH-TABLE | workload | native ticks/iter (spread) | noise floor | thinvisor alone | tvguard mode=block, the default (spread) | ratio | tvguard mode=report (spread) | ratio |"
echo "BENCH-TABLE |---|---:|---:|---:|---:|---:|---:|---:|"
guard_ok=yes
awk 'FILENAME == ARGV[1] { n1[$1] = $2; s1[$1] = $3; next }
     FILENAME == ARGV[2] { n2[$1] = $2; next }
     FILENAME == ARGV[3] { v[$1] = $2; next }
     FILENAME == ARGV[4] { b[$1] = $2; bs[$1] = $3; next }
     FILENAME == ARGV[5] { r[$1] = $2; rs[$1] = $3; next }
     END {
	split("getpid-loop fork-exit page-faults context-switch", w, " ")
	for (i = 1; i <= 4; i++) {
		x = w[i]
		if (!(x in n1) || !(x in n2) || !(x in v) || !(x in b) || !(x in r)) {
			printf "BENCH-TABLE | %s | MISSING | | | | | | |\n", x
			bad = 1
			continue
		}
		printf "BENCH-TABLE | %s | %.1f (%.1f%%) | %+.2f%% | %.1f (%.3f) | %.1f (%.1f%%) | %.3f | %.1f (%.1f%%) | %.3f |\n",
			x, n1[x], s1[x], 100 * (n2[x] / n1[x] - 1), v[x], v[x] / n1[x],
			b[x], bs[x], b[x] / n1[x], r[x], rs[x], r[x] / n1[x]
	}
	exit bad
     }' /tmp/native1.txt /tmp/native2.txt /tmp/virt.txt /tmp/guard_block.txt \
	/tmp/guard_report.txt || guard_ok=
echo "BENCH-TABLE "
echo "BENCH-TABLE Medians of $rounds rounds, same boot as the native passes; ratio = against the first native pass; noise floor = the second native pass against the first; thinvisor alone = the main table's pass (ratio in brackets). tvguard mode=block: $(tr '\n' ' ' < /tmp/guard_block.state)"
echo "BENCH-TABLE tvguard mode=report: $(tr '\n' ' ' < /tmp/guard_report.state)"
echo "BENCH-TABLE tvguard took no exit during these workloads but the CPUID loop's (the exit counts above); its only other work is a 100 ms work item in the guest (log drain, page bitmap scan). Under Bochs the TSC counts emulated instructions (and idle time), so what the ratios show beyond 1 is the guest's own variation (timer ticks, scheduling, allocator state: see the spreads and the noise floor). The cost of 4 KiB EPT mappings over the kernel text (TLB reach) does not show in this emulator."

if [ -n "$load" ] && [ -n "$unload" ] && [ -s /tmp/virt.txt ] &&
   [ -n "$ext_ok" ] && [ -n "$guard_ok" ]; then
	tv_pass bench "tables printed"
else
	tv_fail bench "missing figures (see the MISSING rows)"
fi
