# SPDX-License-Identifier: MIT
# shellcheck shell=sh
# tvguard (extensions/tvguard), the integrity guard built on the extension
# API, against the attacks of tvguardvictim (tests/e2e/kmod): a store into
# kernel text through a writable alias, WRMSR LSTAR, clearing CR4.SMEP and
# CR0.WP.  mode=block: each is stopped (text and LSTAR unchanged, the bits
# still set), logged with the attacker's RIP, and the kernel lives on;
# again after CPU 1 went offline and online and after a suspend.
# mode=report: logged, let through.  Unloading gives every page back.
# tvctl extensions lists tvguard with its event counts.  tvguard and
# hello registered and unregistered in both orders.
# shellcheck source=tests/e2e/guest/lib.sh
. "$TV_LIB"

guard=/opt/tv/ext/tvguard.ko
victim=$TV_KMOD/tvguardvictim.ko
gp=/sys/module/tvguard/parameters
vp=/sys/module/tvguardvictim/parameters
ncpu=$(grep -c ^processor /proc/cpuinfo)

# attack NAME CPU: run one of the victim's attacks, print its result line.
attack() {
	echo "$2" >"$vp/$1" 2>/dev/null
	cat "$vp/result"
}

# field LINE KEY: the value of KEY=value in LINE.
field() {
	echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"
}

# logged PATTERN: a tvguard line since the last mark matches (grep -E).
# tvguard prints from a host thread, up to 100 ms after the attempt: wait
# up to 3 s for it.
logged() {
	n=0
	while [ $n -lt 30 ]; do
		tv_dmesg_new | grep 'tvguard: ' | grep -qE "$1" && return 0
		sleep 0.1
		n=$((n + 1))
	done
	return 1
}

# The kernel still works: a system call, a fork and exec, a page fault.
kernel_lives() {
	[ "$(cat /proc/sys/kernel/ostype)" = Linux ] && sh -c 'exit 7'
	[ $? -eq 7 ]
}

# check_text NAME CPU: a changed byte stored into text on CPU is discarded
# and logged as blocked with the storing instruction's RIP.
check_text() {
	tv_dmesg_mark
	r=$(attack text "$2")
	rip=$(field "$r" rip)
	if [ "$(field "$r" before)" = "$(field "$r" after)" ] && [ -n "$rip" ] &&
	   logged "blocked write to kernel text page .* on CPU $2 by RIP $rip " &&
	   kernel_lives; then
		tv_pass "$1" "text unchanged, logged with RIP $rip: $r"
	else
		tv_fail "$1" "$r; log: $(tv_dmesg_new | grep tvguard)"
	fi
}

# check_lstar NAME CPU: WRMSR LSTAR with a bogus value refused with #GP,
# logged with the RIP of the WRMSR: in the victim, or in the kernel's
# native_write_msr_safe() where paravirt ops call it out of line (Debian).
check_lstar() {
	tv_dmesg_mark
	r=$(attack lstar "$2")
	if [ "$(field "$r" before)" = "$(field "$r" after)" ] &&
	   [ "$(field "$r" err)" != 0 ] &&
	   logged "blocked WRMSR LSTAR \(0xc0000082\) value 0xffffffff8badf00d .* on CPU $2 by RIP 0x[0-9a-f]+ \((lstar_fn.*\[tvguardvictim\]|native_write_msr_safe\+.*)\)" &&
	   kernel_lives; then
		tv_pass "$1" "LSTAR unchanged, #GP, logged in lstar_fn: $r"
	else
		tv_fail "$1" "$r; log: $(tv_dmesg_new | grep tvguard)"
	fi
}

# check_cr NAME ATTACK CPU BIT VERB: clearing CR BIT is corrected (VERB
# blocked: the bit reads back set) or let through (reported), and logged.
check_cr() {
	tv_dmesg_mark
	r=$(attack "$2" "$3")
	before=$(field "$r" before)
	after=$(field "$r" after)
	rip=$(field "$r" rip)
	cr=4
	[ "$2" = wp ] && cr=0
	if [ $((before & $4)) -eq 0 ]; then
		tv_pass "$1" "skipped: the bit is not set on this CPU ($r)"
		return
	fi
	want=$4
	[ "$5" = reported ] && want=0
	if [ $((after & $4)) -eq "$want" ] &&
	   logged "$5 MOV to CR$cr clearing 0x$(printf %x "$4") .* on CPU $3 by RIP $rip " &&
	   kernel_lives; then
		tv_pass "$1" "$5, logged with RIP $rip: $r"
	else
		tv_fail "$1" "$r; log: $(tv_dmesg_new | grep tvguard)"
	fi
}

tv_dmesg_mark
start_mark=$tv_dmesg_lines
if ! insmod "$TV_MODULE"; then
	tv_fail guard-load "insmod $TV_MODULE failed"
	exit 0
fi
insmod "$victim" || tv_fail guard-victim "insmod $victim failed"
tv_dmesg_mark
if ! insmod "$guard" mode=block; then
	tv_fail guard-register "insmod tvguard.ko failed: $(dmesg | tail -n 3)"
	rmmod tvguardvictim
	rmmod thinvisor
	exit 0
fi
pages=$(cat "$gp/pages")
case $pages in
protected:*) tv_pass guard-pages "$pages" ;;
*) tv_fail guard-pages "$pages" ;;
esac

# --- mode=block ----------------------------------------------------------
check_text guard-block-text 0
check_lstar guard-block-lstar 0
check_cr guard-block-smep smep 0 $((1 << 20)) blocked
check_cr guard-block-wp wp 0 $((1 << 16)) blocked
c="page_blocked=$(cat "$gp/page_blocked") msr_blocked=$(cat "$gp/msr_blocked") cr_blocked=$(cat "$gp/cr_blocked") text_pokes=$(cat "$gp/text_pokes")"
if [ "$(cat "$gp/page_blocked")" -ge 1 ] && [ "$(cat "$gp/msr_blocked")" -ge 1 ] &&
   [ "$(cat "$gp/cr_blocked")" -ge 1 ]; then
	tv_pass guard-counters "$c"
else
	tv_fail guard-counters "$c"
fi

# tvctl extensions: tvguard with its events (a page access, an MSR write).
out=$(tvctl extensions 2>&1)
echo "$out"
if echo "$out" | grep -q '^tvguard ' &&
   echo "$out" | grep '^tvguard ' | grep -qE 'msr_write=[1-9]' &&
   echo "$out" | grep '^tvguard ' | grep -qE 'cr_write=[1-9]'; then
	tv_pass guard-tvctl "tvctl extensions lists tvguard with its counts"
else
	tv_fail guard-tvctl "got: $out"
fi

# --- CPU offline/online and suspend: still guarded ------------------------
if [ "$ncpu" -ge 2 ]; then
	echo 0 >/sys/devices/system/cpu/cpu1/online
	echo 1 >/sys/devices/system/cpu/cpu1/online
	check_text guard-online-text 1
	check_lstar guard-online-lstar 1
else
	tv_pass guard-online-text "skipped: needs a second CPU"
fi
if [ -w /sys/power/pm_test ] && grep -q freeze /sys/power/state; then
	echo 0 >/sys/module/suspend/parameters/pm_test_delay 2>/dev/null
	echo devices >/sys/power/pm_test
	rc=0
	if ! echo freeze >/sys/power/state; then
		rc=1
	fi
	echo none >/sys/power/pm_test
	[ $rc -eq 0 ] || tv_fail guard-suspend "echo freeze: $rc"
	check_text guard-resume-text 0
	check_cr guard-resume-smep smep $((ncpu - 1)) $((1 << 20)) blocked
else
	tv_fail guard-suspend "this kernel lacks PM_DEBUG or suspend-to-idle"
fi

# --- unload: every page writable again --------------------------------------
tv_dmesg_mark
rmmod tvguard
r=$(attack text 0)
if [ -n "$(field "$r" before)" ] &&
   [ "$(field "$r" before)" != "$(field "$r" after)" ] &&
   ! logged 'write to kernel'; then
	tv_pass guard-unload "the store goes through again (then put back): $r"
else
	tv_fail guard-unload "$r; log: $(tv_dmesg_new | grep tvguard)"
fi

# --- mode=report ------------------------------------------------------------
tv_dmesg_mark
if insmod "$guard" mode=report; then
	r=$(attack text_same 0)
	rip=$(field "$r" rip)
	if logged "reported write to kernel text page .* by RIP $rip " &&
	   [ "$(cat "$gp/page_writes")" -ge 1 ] &&
	   [ "$(cat "$gp/page_blocked")" = 0 ]; then
		tv_pass guard-report-text "logged, let through: $r"
	else
		tv_fail guard-report-text "$r; log: $(tv_dmesg_new | grep tvguard)"
	fi
	check_cr guard-report-smep smep 0 $((1 << 20)) reported
	check_cr guard-report-wp wp 0 $((1 << 16)) reported
	rmmod tvguard
else
	tv_fail guard-report "insmod tvguard mode=report failed"
fi
rmmod tvguardvictim

# --- with another extension, in both orders -----------------------------------
# The other extension is hello (extensions/hello): tvext_selftest's
# descriptor checks need the monitor trap flag, which Bochs' default
# Skylake model lacks.  While both are loaded, hello's CPUID leaf answers
# and tvctl lists both in registration order.
hello_leaf() {
	dd if=/dev/cpu/0/cpuid bs=16 skip=$((0x400000e)) count=1 2>/dev/null |
		dd bs=1 skip=4 count=12 2>/dev/null
}
order() {	# NAME LOAD1 LOAD2 UNLOAD1 UNLOAD2 (tvguard | hello)
	name=$1
	shift
	ok=1
	for m in "$1" "$2"; do
		insmod "/opt/tv/ext/$m.ko" || ok=0
	done
	[ "$(hello_leaf)" = "hello, world" ] || ok=0
	list=$(tvctl extensions 2>&1 | awk '{print $1}' | tr '\n' ' ')
	[ "$list" = "$1 $2 " ] || ok=0
	rmmod "$3" || ok=0
	list2=$(tvctl extensions 2>&1 | awk '{print $1}' | tr '\n' ' ')
	[ "$list2" = "$4 " ] || ok=0
	rmmod "$4" || ok=0
	if [ $ok = 1 ] && kernel_lives; then
		tv_pass "$name" "load $1, $2 (tvctl: $list); unload $3 (tvctl: $list2), $4"
	else
		tv_fail "$name" "load $1, $2 (tvctl: $list); unload $3 (tvctl: $list2), $4; leaf '$(hello_leaf)'"
	fi
}
order guard-order-ab-ab tvguard hello tvguard hello
order guard-order-ba-ab hello tvguard tvguard hello
order guard-order-ab-ba tvguard hello hello tvguard
order guard-order-ba-ba hello tvguard hello tvguard

if rmmod thinvisor; then
	tv_pass guard-thinvisor-unload "thinvisor unloads after the extensions"
else
	tv_fail guard-thinvisor-unload "rmmod thinvisor failed"
fi
tv_dmesg_lines=$start_mark
tv_check_dmesg guard-dmesg
