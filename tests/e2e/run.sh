#!/bin/bash
# SPDX-License-Identifier: MIT
# Boot a Linux guest in Bochs (VT-x with EPT emulated) and run the e2e tests.
# usage: tests/e2e/run.sh [test|demo]        (make e2e / make demo)
# env:
#   E2E_KERNEL=minimal|debian   guest kernel (default minimal, see kernel.sh)
#   E2E_CPUS=N                  guest CPUs (default 2)
#   E2E_MEM=MB                  guest memory (default 256)
#   E2E_TIMEOUT=SECS            wall-clock limit for Bochs (default: per
#                               kernel and CPU count, printed at start)
#   E2E_SCRIPT_TIMEOUT=SECS     per-script limit inside the guest (guest time)
#   E2E_EXTRA=DIR               also run DIR/run.sh in the guest, module loaded
#   E2E_TESTS=GLOB              only guest/tests/GLOB.sh (default: all)
#   E2E_VERBOSE=1               full kernel boot log on the serial console
# Every run keeps bochsrc, serial.log and bochs.log in
# $BUILD/e2e/runs/<date>-<kernel>-<N>cpu[-demo]/.
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

case $mode in
test | demo) ;;
*) echo "usage: $0 [test|demo]" >&2; exit 2 ;;
esac
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
limit=${E2E_TIMEOUT:-$((base * cpus * cpus))}
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
cmdline="console=ttyS0,115200 tsc=reliable no_timer_check mitigations=off"
cmdline="$cmdline clearcpuid=xsavec,xsaves"
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
cmdline="$cmdline tv.cpus=$cpus tv.mode=$mode tv.timeout=$script_limit"

imgdir=$BUILD/e2e/img/$(basename "$kdir")
mkdir -p "$imgdir"
"$here/image.sh" "$kdir" "$image" "$imgdir" "$cmdline"

suffix=
[ "$mode" = demo ] && suffix=-demo
run=$BUILD/e2e/runs/$(date +%Y%m%d-%H%M%S)-$kernel-${cpus}cpu$suffix
mkdir -p "$run"
cp "$imgdir/boot.iso" "$run/boot.iso"
# Logs of every run stay; the ISOs (4-12 MB) only for the last five.
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
cpu: model=corei7_skylake_x, count=$cpus, ips=100000000, reset_on_triple_fault=0, ignore_bad_msrs=1
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

echo "e2e: kernel=$kernel ($image) cpus=$cpus mem=${mem}M mode=$mode"
echo "e2e: run dir $run, time limit ${limit}s"

# Bochs runs in the background so that the trap below can stop it on every
# exit path (Ctrl-C, error, our own watcher).  timeout is outermost because it
# signals its whole process group (time and Bochs) when it fires or is killed.
cd "$run"
timeout -k 10 "$limit" /usr/bin/time -f '%e %U %S' -o time \
	bochs-bin -q -f bochsrc -rc dbg.rc </dev/null >bochs.out 2>&1 &
bochs=$!
tailer=
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
echo "e2e: $kernel on $cpus CPUs took $SECONDS s in all (kernel, image, boot)"
[ "$mode" != demo ] || { [ "$status" -eq 0 ] && echo "DEMO PASS" || echo "DEMO FAIL"; }
exit "$status"
}
