# SPDX-License-Identifier: MIT
# shellcheck shell=sh
# The soak (make soak, tests/e2e/soak.sh): for SOAK_S guest seconds, at once,
#   load    insmod thinvisor, check the hypervisor signature, rmmod
#   hotplug CPU 1 offline and back online (with and without the VMM loaded)
#   stress  tvstress rounds (fork/exec, faults, TLB shootdowns, CPUID exits)
#   nmi     tvnmi (when packed): NMIs to every other online CPU, none lost
# Each activity counts its cycles and failures and prints one TEST line; a
# cycle still running a minute after the end is a hang.  Runs as /init's
# extra script in tv.mode=soak: the module is not loaded when it starts, and
# it leaves the guest as it found it.
# shellcheck source=tests/e2e/guest/lib.sh
. "$TV_LIB"

soak_s=$(cat ./soak_s 2>/dev/null || echo 120)
cpu1=/sys/devices/system/cpu/cpu1/online
state=/tmp/soak
nmi=/sys/module/tvnmi/parameters
mkdir -p "$state"
tv_dmesg_mark
now() { cut -d. -f1 /proc/uptime; }
end=$(($(now) + soak_s))
echo "soak: $soak_s guest seconds, until uptime $end"

# finish NAME CYCLES FAILS: record one activity's totals for the summary.
finish() {
	echo "$2 $3" >"$state/$1"
}

# Failures print a line each (up to 10 per activity), so that the log says
# what went wrong and when.
complain() {
	[ "$3" -gt 10 ] || echo "soak: $1 cycle $2 failed at uptime $(now): $4"
}

load_loop() {
	n=0 f=0
	while [ "$(now)" -lt "$end" ]; do
		n=$((n + 1))
		if ! out=$(insmod "$TV_MODULE" 2>&1); then
			f=$((f + 1)); complain load $n $f "insmod: $out"
			continue
		fi
		if ! tvcpuid sig present >/dev/null; then
			f=$((f + 1)); complain load $n $f "no signature while loaded"
		fi
		if ! out=$(rmmod thinvisor 2>&1); then
			f=$((f + 1)); complain load $n $f "rmmod: $out"
		fi
	done
	finish load $n $f
}

hotplug_loop() {
	n=0 f=0
	while [ "$(now)" -lt "$end" ]; do
		n=$((n + 1))
		if ! echo 0 >"$cpu1" || [ "$(cat "$cpu1")" != 0 ]; then
			f=$((f + 1)); complain hotplug $n $f "offline failed"
		fi
		if ! echo 1 >"$cpu1" || [ "$(cat "$cpu1")" != 1 ]; then
			f=$((f + 1)); complain hotplug $n $f "online failed"
			# Try again once, so that one failure does not end the soak.
			echo 1 >"$cpu1" 2>/dev/null
		fi
	done
	finish hotplug $n $f
}

stress_loop() {
	n=0 f=0
	while [ "$(now)" -lt "$end" ]; do
		n=$((n + 1))
		if ! out=$(tvstress 5 2>&1); then
			f=$((f + 1)); complain stress $n $f "tvstress: $out"
		fi
	done
	finish stress $n $f
}

# One cycle sends 20 NMIs to every other online CPU; tvnmi counts what it
# sent and what arrived, and calls an NMI lost when it did not arrive within
# 100 ms.
nmi_loop() {
	n=0 f=0
	while [ "$(now)" -lt "$end" ]; do
		n=$((n + 1))
		if ! echo 20 >"$nmi/run"; then
			f=$((f + 1)); complain nmi $n $f "writing run failed"
		fi
	done
	finish nmi $n $f
}

if [ ! -e "$cpu1" ]; then
	tv_fail soak-cpus "the soak needs a second hot-pluggable CPU (E2E_CPUS=2)"
	exit 0
fi
have_nmi=
if [ -f "$TV_KMOD/tvnmi.ko" ]; then
	if insmod "$TV_KMOD/tvnmi.ko"; then
		have_nmi=1
	else
		tv_fail soak-nmi-insmod "insmod tvnmi.ko failed"
	fi
else
	echo "soak: no $TV_KMOD/tvnmi.ko in this image: no NMI activity"
fi

load_loop &
hotplug_loop &
stress_loop &
[ -z "$have_nmi" ] || nmi_loop &

# Wait for the end, then give each activity a minute to finish its cycle.
while [ "$(now)" -lt "$end" ]; do
	sleep 5
	echo "soak: uptime $(now) of $end"
done
deadline=$(($(now) + 60))
for a in load hotplug stress ${have_nmi:+nmi}; do
	while [ ! -f "$state/$a" ] && [ "$(now)" -lt "$deadline" ]; do
		sleep 1
	done
done

total_fail=0
for a in load hotplug stress ${have_nmi:+nmi}; do
	if [ ! -f "$state/$a" ]; then
		tv_fail "soak-$a" "hung: a cycle still ran 60 s after the end"
		total_fail=$((total_fail + 1))
		continue
	fi
	read -r n f <"$state/$a"
	echo "SOAK $a cycles=$n failures=$f"
	if [ "$f" -eq 0 ] && [ "$n" -gt 0 ]; then
		tv_pass "soak-$a" "$n cycles, 0 failed"
	else
		tv_fail "soak-$a" "$n cycles, $f failed"
	fi
done

if [ -n "$have_nmi" ]; then
	sent=$(cat "$nmi/sent") received=$(cat "$nmi/received") lost=$(cat "$nmi/lost")
	echo "SOAK nmi sent=$sent received=$received lost=$lost"
	# tvnmi keeps one NMI in flight per CPU, so none can merge with
	# another: every one sent must have been received.
	if [ "$lost" -eq 0 ] && [ "$sent" -gt 0 ] && [ "$received" -eq "$sent" ]; then
		tv_pass soak-nmi-none-lost "$sent sent, $received received, $lost lost"
	else
		tv_fail soak-nmi-none-lost "$sent sent, $received received, $lost lost"
	fi
	rmmod tvnmi || tv_fail soak-nmi-rmmod "rmmod tvnmi failed"
fi

# Whatever the cycles did, the guest ends whole: CPU 1 online, module out.
[ "$(cat "$cpu1")" = 1 ] || echo 1 >"$cpu1"
if [ "$(cat "$cpu1")" = 1 ] && ! tv_is_loaded thinvisor; then
	tv_pass soak-guest-whole "CPU 1 online, thinvisor unloaded"
else
	tv_fail soak-guest-whole "CPU 1 online=$(cat "$cpu1"), thinvisor loaded: $(tv_is_loaded thinvisor && echo yes)"
fi
tv_check_dmesg soak-dmesg-clean
