# SPDX-License-Identifier: MIT
# shellcheck shell=sh
# thinvisor and the guest kernel's own KVM (kvm.ko, kvm-intel.ko), in both
# load orders.  Both want VMX; 6.1's KVM turns it on only when a VM starts,
# so the dangerous case is kvm_intel loaded first: a VM started later would
# set CR4.VMXE under thinvisor and the host would die in the IPI.
#   A: KVM first.  A VM runs to HLT (KVM works in this emulator: the
#      baseline); thinvisor then refuses to load, naming kvm_intel, and KVM
#      still works.  If thinvisor loads anyway, it is unloaded at once and
#      no VM is started: that would crash the guest (issue 8, item 1).
#   B: thinvisor first.  kvm_intel refuses to load, thinvisor says why,
#      no VM can start; after rmmod thinvisor, kvm_intel loads and a VM runs.
# Messages are matched loosely: a kernel-log line with "thinvisor" and
# "kvm_intel" (or kvm-intel) for A, with "thinvisor" and "kvm" for B.
# Leaves the guest as it found it: no KVM module, no thinvisor.
# shellcheck source=tests/e2e/guest/lib.sh
. "$TV_LIB"

kvmdir=/opt/tv/kmod-kvm
if [ ! -f "$kvmdir/order" ]; then
	tv_pass kvm-coexistence "skipped: no KVM modules packed for kernel $(uname -r) (image.sh packs kvm-intel.ko and its dependencies when the host has them in /lib/modules)"
	exit 0
fi
files=$(tr "\n" " " < "$kvmdir/order")	# load order, dependencies first
mods=
for f in $files; do
	m=$(basename "$f" .ko | tr - _)
	mods="$m $mods"			# unload order
done

for m in thinvisor $mods; do
	if tv_is_loaded "$m"; then
		tv_fail kvm-coexistence "$m is already loaded before the test"
		exit 0
	fi
done

# kvm_load [all|deps]: insmod the KVM stack, or only kvm_intel's dependencies.
kvm_load() {
	for f in $files; do
		[ "$1" = deps ] && [ "$f" = kvm-intel.ko ] && continue
		insmod "$kvmdir/$f" || return 1
	done
}

kvm_unload() {
	for m in $mods; do
		if tv_is_loaded "$m" && ! rmmod "$m"; then
			return 1
		fi
	done
}

# since MARK: kernel-log lines after MARK (a line count from `dmesg | wc -l`).
since() {
	dmesg | tail -n +$(($1 + 1))
}

# tvkvm_expect NAME ok|fail: run tvkvm; ok: must reach HLT; fail: must fail
# with an exit code of its own (no crash, no hang).
tvkvm_expect() {
	out=$(tvkvm 2>&1)
	rc=$?
	echo "$out"
	if [ "$2" = ok ] && [ $rc -eq 0 ]; then
		tv_pass "$1" "$out"
	elif [ "$2" = fail ] && [ $rc -ge 2 ] && [ $rc -le 8 ]; then
		tv_pass "$1" "no VM can run: tvkvm exit $rc: $out"
	else
		tv_fail "$1" "tvkvm exit $rc, expected $2: $out"
	fi
}

# --- A: KVM first, then thinvisor ---------------------------------------
tv_dmesg_mark
if kvm_load all; then
	tv_pass kvm-a-load "insmod $files"
	tvkvm_expect kvm-a-baseline ok
	mark=$(dmesg | wc -l)
	out=$(insmod "$TV_MODULE" 2>&1)
	rc=$?
	if [ $rc -eq 0 ] || tv_is_loaded thinvisor; then
		# Never start a VM now: on a kernel that lets this happen it
		# panics the machine ("Fatal exception in interrupt").
		rmmod thinvisor
		tv_fail kvm-a-thinvisor-refused "thinvisor loaded while kvm_intel is loaded (a VM started now would crash the machine)"
	else
		msg=$(since "$mark" | grep -i thinvisor | grep -Ei 'kvm[_-]intel')
		if [ -n "$msg" ]; then
			tv_pass kvm-a-thinvisor-refused "insmod exit $rc: $out; kernel log: $msg"
		else
			tv_fail kvm-a-thinvisor-refused "insmod exit $rc ($out) but no kernel-log line naming thinvisor and kvm_intel:"
			since "$mark"
		fi
		tvkvm_expect kvm-a-after-refusal ok
	fi
	if kvm_unload; then
		tv_pass kvm-a-unload "rmmod $mods"
	else
		tv_fail kvm-a-unload "rmmod failed; loaded: $(cut -d' ' -f1 /proc/modules | tr '\n' ' ')"
	fi
else
	tv_fail kvm-a-load "insmod of the KVM stack failed:"
	tv_dmesg_new | tail -n 5
	kvm_unload
fi
tv_check_dmesg kvm-a-dmesg-clean

# --- B: thinvisor first, then KVM ---------------------------------------
tv_dmesg_mark
if insmod "$TV_MODULE"; then
	tv_pass kvm-b-thinvisor-load "insmod thinvisor with no KVM loaded"
	if kvm_load deps; then
		tv_pass kvm-b-deps-load "kvm_intel's dependencies load (they do not touch VMX)"
	else
		tv_fail kvm-b-deps-load "insmod of kvm_intel's dependencies failed"
	fi
	mark=$(dmesg | wc -l)
	out=$(insmod "$kvmdir/kvm-intel.ko" 2>&1)
	rc=$?
	if [ $rc -ne 0 ] && ! tv_is_loaded kvm_intel; then
		tv_pass kvm-b-kvm-intel-refused "insmod exit $rc: $out"
	else
		tv_fail kvm-b-kvm-intel-refused "kvm_intel loaded while thinvisor runs"
	fi
	msg=$(since "$mark" | grep -i thinvisor | grep -i kvm)
	if [ -n "$msg" ]; then
		tv_pass kvm-b-refusal-message "$msg"
	else
		tv_fail kvm-b-refusal-message "no kernel-log line naming thinvisor and kvm; the log says:"
		since "$mark"
	fi
	# Neither a VM nor a crash: /dev/kvm absent or KVM refuses cleanly.
	tv_is_loaded kvm_intel || tvkvm_expect kvm-b-no-vm fail
	tv_check_dmesg kvm-b-dmesg-clean-while-loaded
	kvm_unload
	if rmmod thinvisor; then
		tv_pass kvm-b-thinvisor-unload "rmmod thinvisor"
	else
		tv_fail kvm-b-thinvisor-unload "rmmod thinvisor failed"
	fi
else
	tv_fail kvm-b-thinvisor-load "insmod thinvisor failed with no KVM loaded"
fi
if ! tv_is_loaded thinvisor; then
	if kvm_load all; then
		tv_pass kvm-b-kvm-load-after "the KVM stack loads once thinvisor is gone"
		tvkvm_expect kvm-b-run-after ok
	else
		tv_fail kvm-b-kvm-load-after "insmod of the KVM stack failed after rmmod thinvisor"
	fi
	if kvm_unload; then
		tv_pass kvm-b-unload "rmmod $mods"
	else
		tv_fail kvm-b-unload "rmmod failed"
	fi
fi
tv_check_dmesg kvm-b-dmesg-clean
