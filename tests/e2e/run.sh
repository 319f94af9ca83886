#!/bin/bash
# SPDX-License-Identifier: MIT
# Boot a Linux guest in Bochs (VT-x with EPT emulated) and run the e2e tests.
# usage: tests/e2e/run.sh [test|demo|refuse|soak]   (make e2e / demo / soak)
#   test    the guest tests, E2E_EXTRA, then the destructive tests; on a CPU
#           model that lacks what thinvisor needs, the refusal check instead
#   refuse  only the refusal check: insmod must fail with one named reason
#   soak    only E2E_EXTRA's run.sh, with the module not loaded (soak.sh)
# env:
#   E2E_KERNEL=minimal|debian   guest kernel (default minimal, see kernel.sh)
#   E2E_CPUS=N                  guest CPUs (default 2)
#   E2E_CPU_MODEL=NAME          Bochs CPU model (default corei7_skylake_x;
#                               `bochs-bin -help cpu` lists them).  Options a
#                               model needs to boot are added by themselves.
#   E2E_CMDLINE_EXTRA="OPTS"    more guest kernel options (last one wins;
#                               clearcpuid= lists are merged)
#   E2E_PTI=1                   page-table isolation on (pti=on; needs a
#                               kernel with it: E2E_KERNEL=debian)
#   E2E_MEM=MB                  guest memory (default 256)
#   E2E_TIMEOUT=SECS            wall-clock limit for Bochs (default: per
#                               kernel and CPU count, printed at start)
#   E2E_SCRIPT_TIMEOUT=SECS     per-script limit inside the guest (guest time)
#   E2E_EXTRA=DIR               also run DIR/run.sh in the guest, module loaded
#   E2E_TESTS=GLOB              only guest/tests/GLOB.sh (default: all)
#   E2E_VERBOSE=1               full kernel boot log on the serial console
#   E2E_HOST=linux|windows      what the guest tests load: thinvisor.ko, or
#                               thinvisor.sys through the NT shim
# Every run keeps bochsrc, serial.log and bochs.log in
# $BUILD/e2e/runs/<date>-<kernel>-<N>cpu-<model>[-<mode>]/.
# Pass/fail comes from the serial log (parse.sh), never from Bochs' exit
# code, which is 1 even after a clean ACPI power-off.
set -eu

# The whole script is one compound command, so bash parses it completely
# before running it: editing this file during a long run cannot derail it.
{
mode=${1:-test}
here=$(cd "$(dirname "$0")" && pwd)
TOP=${TOP:-$(cd "$here/../.." && pwd)}
BUILD=${BUILD:-$TOP/build}
export TOP BUILD
kernel=${E2E_KERNEL:-minimal}
cpus=${E2E_CPUS:-2}
mem=${E2E_MEM:-256}
cpu_model=${E2E_CPU_MODEL:-corei7_skylake_x}

case $mode in
test | demo | refuse | soak) ;;
*) echo "usage: $0 [test|demo|refuse|soak]" >&2; exit 2 ;;
esac
# Only names Bochs knows: a typo would otherwise end as a Bochs panic.
models=$(bochs-bin -help cpu 2>&1 | awk '/^Supported CPU models:/ { on = 1; next }
	on && NF == 1 { print $1; n++; next } on && n { exit }')
if ! echo "$models" | grep -qx "$cpu_model"; then
	echo "e2e: unknown E2E_CPU_MODEL '$cpu_model'; Bochs knows: $(echo "$models" | tr '\n' ' ')" >&2
	exit 2
fi

# What each Bochs 2.7 model needs (measured: docs/testing.md, "CPU models"):
#   model_opts  guest kernel options without which the model does not boot
#               cleanly: cnl, icelake_u and tigerlake report PKU with a
#               0-byte PKRU xstate (boot WARNs, then XSAVE off); icelake_u
#               and tigerlake report FSRM while Bochs' zero MISC_ENABLE makes
#               Linux drop ERMS, and 6.1's memmove then runs short copies
#               through memory (the boot hangs).
#   refuse      the capability thinvisor lacks there, so that it must refuse
#               to load (the refusal check runs instead of the suite).
#   slow        time-limit factor: without 1 GB EPT pages every load builds
#               2 MB of EPT tables and the suite takes about 2.5x longer.
model_opts=
refuse=
slow=1
case $cpu_model in
corei7_skylake_x | corei7_haswell_4770 | broadwell_ult) ;;
corei7_sandy_bridge_2600k | corei7_ivy_bridge_3770k | corei5_arrandale_m520) slow=2 ;;
corei3_cnl) model_opts=clearcpuid=pku ;;
corei7_icelake_u | tigerlake) model_opts=clearcpuid=fsrm,pku ;;
core2_penryn_t9600) refuse=EPT ;;			# VMX without EPT
corei5_lynnfield_750) refuse=unrestricted; slow=2 ;;	# EPT, no UG
*) echo "e2e: note: $cpu_model is not a model thinvisor is known to run on (docs/testing.md)" >&2 ;;
esac
if [ "$mode" = test ] && [ -n "$refuse" ]; then
	echo "e2e: $cpu_model lacks what thinvisor needs ($refuse): checking that it refuses to load"
	mode=refuse
fi
if [ "$mode" = refuse ] && [ -z "$refuse" ]; then
	echo "e2e: $cpu_model has no known missing capability to check a refusal for" >&2
	exit 2
fi
if [ -n "${E2E_EXTRA:-}" ]; then
	E2E_EXTRA=$(cd "$E2E_EXTRA" && pwd)
	export E2E_EXTRA
fi

# Time limits, wall clock.  A clean run with the 00/01 tests takes (Bochs,
# idle 2-core host) 5 s for minimal on 1 CPU, 13 s on 2; 57 s and 85 s for
# debian; the whole suite about 60 s (minimal) and 150 s (debian) on 2 CPUs.
# Bochs' SMP cost grows faster than the CPU count, hence the square.  The
# limits leave room for a loaded runner and for more tests, yet a hung Debian
# 2-CPU run still fits CI's budget.
case $kernel in
minimal) base=120 ;;
debian) base=300 ;;
*) echo "e2e: unknown E2E_KERNEL '$kernel' (minimal or debian)" >&2; exit 2 ;;
esac
limit=${E2E_TIMEOUT:-$((base * cpus * cpus * slow))}
# The soak runs SOAK_S guest seconds, each 5-10 s of wall time with both
# CPUs busy, plus the time to boot and to report.
[ "$mode" != soak ] || limit=${E2E_TIMEOUT:-$((base * cpus * cpus + ${SOAK_S:-120} * 15))}
script_limit=${E2E_SCRIPT_TIMEOUT:-600}

# Two runs sharing $BUILD (say make e2e in two terminals) must not build the
# kernel or pack the image at the same time; each boots its own ISO copy.
mkdir -p "$BUILD/e2e"
exec 9>"$BUILD/e2e/.build.lock"
flock 9

kinfo=$("$here/kernel.sh" "$kernel")
image=$(echo "$kinfo" | sed -n 's/^image=//p')
kdir=$(echo "$kinfo" | sed -n 's/^kdir=//p')

# Serial console first; loglevel=4 keeps the boot log short because every
# character costs emulated UART time (dmesg is dumped in full at the end).
# tsc=reliable and no_timer_check skip clocksource and timer sanity checks that
# wait on guest time; mitigations are pointless in an emulator.
# clearcpuid=xsavec,xsaves: Bochs 2.7 reports the standard-format XSAVE area
# size for the compacted format too (CPUID 0xd.1 EBX), and the kernel WARNs
# at boot about the mismatch; without both it uses the standard format.
# pti=on wins over mitigations=off in 6.1 (arch/x86/mm/pti.c reads pti=
# first), so E2E_PTI=1 keeps every other mitigation off; /init checks that
# the kernel really runs with PTI.
cmdline="console=ttyS0,115200 tsc=reliable no_timer_check mitigations=off"
if [ "${E2E_PTI:-0}" = 1 ]; then
	if ! grep -qx 'CONFIG_PAGE_TABLE_ISOLATION=y' "$kdir/.config"; then
		echo "e2e: E2E_PTI=1 needs a kernel built with PTI; $kernel's is not (E2E_KERNEL=debian is)" >&2
		exit 2
	fi
	cmdline="$cmdline pti=on tv.pti=1"
fi
# E2E_CMDLINE_EXTRA's and the model's clearcpuid= join this one: 6.1 reads
# only one clearcpuid=, a second would silently replace it.
clear=xsavec,xsaves
extra=
for opt in $model_opts ${E2E_CMDLINE_EXTRA:-}; do
	case $opt in
	clearcpuid=*) clear=$clear,${opt#clearcpuid=} ;;
	*) extra="$extra $opt" ;;
	esac
done
cmdline="$cmdline clearcpuid=$clear"
# nohz=off highres=off: a periodic tick keeps a LAPIC timer always armed.
# With the default tickless one-shot timer, some 2-CPU boots of the minimal
# kernel stop for good right after SMP bring-up: every CPU halted with no
# timer pending, so Bochs never advances time (reproduced with one ISO,
# fixed by these two options alone, same ISO otherwise).
cmdline="$cmdline nohz=off highres=off"
# tsc_early_khz=100000: the guest TSC ticks once per emulated instruction,
# yet CPUID says 3.5 GHz, so a guest second would cost 3.5e9 instructions;
# with 2 CPUs Bochs cannot skip idle time and "sleep 1" took about 40 s of
# wall time.  At 100 MHz (ips=100000000 below) kernel time matches Bochs'
# device time, the kernel's refined calibration agrees, and sleeps get 35x
# cheaper.  TSC deltas still count instructions.
cmdline="$cmdline tsc_early_khz=100000"
[ "${E2E_VERBOSE:-0}" = 1 ] || cmdline="$cmdline loglevel=4"
# Last, so that they can override the harness's options.
cmdline="$cmdline$extra"
cmdline="$cmdline tv.cpus=$cpus tv.mode=$mode tv.timeout=$script_limit tv.model=$cpu_model"
# E2E_HOST=windows: the tests drive thinvisor.sys through the NT shim.
case ${E2E_HOST:=linux} in
linux) ;;
windows) cmdline="$cmdline tv.host=windows" ;;
*) echo "e2e: unknown E2E_HOST '$E2E_HOST' (linux or windows)" >&2; exit 2 ;;
esac
export E2E_HOST
[ -z "$refuse" ] || cmdline="$cmdline tv.refuse=$refuse"

imgdir=$BUILD/e2e/img/$(basename "$kdir")
mkdir -p "$imgdir"
"$here/image.sh" "$kdir" "$image" "$imgdir" "$cmdline"

suffix=-$cpu_model
[ "$E2E_HOST" = linux ] || suffix=$suffix-$E2E_HOST
[ "$mode" = test ] || suffix=$suffix-$mode
run=$BUILD/e2e/runs/$(date +%Y%m%d-%H%M%S)-$kernel-${cpus}cpu$suffix
mkdir -p "$run"
cp "$imgdir/boot.iso" "$run/boot.iso"
# Logs of every run stay; the ISOs (4-12 MB) only for the last five.
# shellcheck disable=SC2012 # newest first; run names have no odd characters
ls -1dt "$BUILD"/e2e/runs/*/ | tail -n +6 | while read -r old; do
	rm -f "$old/boot.iso"
done
echo "$cmdline" >"$run/cmdline"
flock -u 9

# Debian's bochs has no "nogui": rfb with timeout=0 runs headless.  The
# built-in debugger needs "c" to start and "quit" to leave.  clock sync=none
# makes guest time follow emulated instructions, so runs are repeatable.
cat >"$run/bochsrc" <<EOF
config_interface: textconfig
display_library: rfb, options="timeout=0"
memory: guest=$mem, host=$mem
romimage: file=/usr/share/bochs/BIOS-bochs-latest
vgaromimage: file=/usr/share/vgabios/vgabios.bin
cpu: model=$cpu_model, count=$cpus, ips=100000000, reset_on_triple_fault=0, ignore_bad_msrs=1
pci: enabled=1, chipset=i440fx
ata0: enabled=1, ioaddr1=0x1f0, ioaddr2=0x3f0, irq=14
ata0-master: type=cdrom, path=$run/boot.iso, status=inserted
boot: cdrom
clock: sync=none, time0=946681200
com1: enabled=1, mode=file, dev=$run/serial.log
mouse: enabled=0
# Bochs' sound mixer thread aborts ("buffer overflow detected") when ALSA has
# no card, as on a CI runner: use the dummy drivers and no PC speaker.
sound: waveoutdrv=dummy, waveindrv=dummy, midioutdrv=dummy
speaker: enabled=0
log: $run/bochs.log
panic: action=fatal
error: action=report
info: action=report
debug: action=ignore
EOF
printf 'c\nquit\n' >"$run/dbg.rc"
: >"$run/serial.log"

echo "e2e: kernel=$kernel ($image) cpus=$cpus cpu_model=$cpu_model mem=${mem}M mode=$mode"
echo "e2e: run dir $run, time limit ${limit}s"

# Bochs runs in the background so that the trap below can stop it on every
# exit path (Ctrl-C, error, our own watcher).  timeout is outermost because it
# signals its whole process group (time and Bochs) when it fires or is killed.
cd "$run"
timeout -k 10 "$limit" /usr/bin/time -f '%e %U %S' -o time \
	bochs-bin -q -f bochsrc -rc dbg.rc </dev/null >bochs.out 2>&1 &
bochs=$!
tailer=
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
	kill "$bochs" 2>/dev/null || true
	[ -z "$tailer" ] || kill "$tailer" 2>/dev/null || true
}
trap cleanup EXIT
trap 'echo "e2e: interrupted" >&2; exit 130' INT TERM

# The demo shows the console live, up to the dmesg dump (which only the
# parser needs).
if [ "$mode" = demo ]; then
	tail -n +1 -F --pid="$bochs" serial.log 2>/dev/null |
		awk '/^TV-E2E-DMESG-BEGIN/ { quiet = 1 }
			{ sub(/\r$/, "") }
			!quiet { print; fflush() }' &
	tailer=$!
fi

# Watch the serial log once a second: a guest that panicked or that printed
# its done marker but did not power off would otherwise hold Bochs until the
# time limit.  This poll only shortens runs; it never delays one.
stopped=
done_at=
start=$SECONDS
while kill -0 "$bochs" 2>/dev/null; do
	if grep -q 'end Kernel panic' serial.log; then
		stopped="the guest kernel panicked"
	elif grep -q '^TV-E2E-DONE' serial.log; then
		if [ -z "$done_at" ]; then
			done_at=$SECONDS
			echo "e2e: guest done after $((SECONDS - start)) s, powering off"
		fi
		[ $((SECONDS - done_at)) -lt 300 ] || stopped="no power-off 300 s after TV-E2E-DONE"
	fi
	if [ -n "$stopped" ]; then
		echo "e2e: $stopped; stopping Bochs"
		kill "$bochs"
		break
	fi
	sleep 1
done
rc=0
wait "$bochs" || rc=$?
[ -z "$tailer" ] || wait "$tailer" 2>/dev/null || true

# GNU time puts "Command exited with non-zero status 1" before the numbers,
# and writes none when it was stopped along with Bochs.
if read -r wall user sys < <(grep -Es '^[0-9.]+ [0-9.]+ [0-9.]+$' time); then
	echo "e2e: Bochs ran ${wall}s wall, ${user}s user + ${sys}s sys CPU"
else
	echo "e2e: Bochs stopped after $((SECONDS - start)) s wall"
fi

fails=()
if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
	fails+=("time limit of ${limit}s hit (E2E_TIMEOUT)")
fi
[ -z "$stopped" ] || fails+=("$stopped")

status=0
"$here/parse.sh" serial.log "${fails[@]}" || status=$?
if [ "$status" -ne 0 ]; then
	echo "e2e: FAILED; last 60 lines of $run/serial.log:"
	tail -n 60 serial.log | tr -d '\r'
	echo "e2e: last 10 lines of $run/bochs.log:"
	tail -n 10 bochs.log
fi
echo "e2e: $kernel on $cpus CPUs ($cpu_model, $mode) took $SECONDS s in all (kernel, image, boot)"
[ "$mode" != demo ] || { [ "$status" -eq 0 ] && echo "DEMO PASS" || echo "DEMO FAIL"; }
exit "$status"
}
