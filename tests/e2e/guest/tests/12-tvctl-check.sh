# SPDX-License-Identifier: MIT
# shellcheck shell=sh
# tvctl check on a CPU model that can run thinvisor (the suite runs only on
# those; the refusal check, tests/e2e/guest/init, covers the others): the
# verdict is "can run" (exit 0) and insmod agrees; while thinvisor runs the
# verdict is "already running" (exit 4, EEXIST); without root it cannot
# tell (exit 5); with kvm_intel loaded (when the image has KVM) it cannot
# load now (exit 4, EBUSY) and insmod fails with that errno's text.
# Leaves the guest as it found it.
# shellcheck source=tests/e2e/guest/lib.sh
. "$TV_LIB"

out=$(tvctl check 2>&1)
rc=$?
echo "$out"
if [ "$rc" -eq 0 ] && echo "$out" | grep -q '^verdict: thinvisor can run on this machine'; then
	tv_pass check-can-run "exit 0, can run"
else
	tv_fail check-can-run "exit $rc: $(echo "$out" | grep '^verdict')"
fi
missing=
for c in vendor vmx feature-control vmx-capabilities ept vpid unrestricted-guest; do
	echo "$out" | grep -q "^$c  *ok " || missing="$missing $c"
done
if [ -z "$missing" ]; then
	tv_pass check-lines "vendor, vmx, feature-control, capabilities: ok"
else
	tv_fail check-lines "not ok:$missing"
fi

json=$(tvctl check --json)
rc=$?
echo "$json"
if [ "$rc" -eq 0 ] && echo "$json" | tvjson &&
   [ "$(echo "$json" | tvjson -k can_run)" = true ] &&
   [ "$(echo "$json" | tvjson -k exit)" = 0 ] &&
   [ "$(echo "$json" | tvjson -k errno)" = null ]; then
	tv_pass check-json "valid JSON, can_run true, exit 0"
else
	tv_fail check-json "exit $rc or not the JSON expected"
fi

# The EPT page size the core chose agrees with the kernel's own reading of
# the capability MSRs, where the kernel prints one ("vmx flags").
vmxflags=$(grep -m1 '^vmx flags' /proc/cpuinfo)
if [ -n "$vmxflags" ]; then
	if echo "$vmxflags" | grep -qw ept_1gb; then pages="1 GB"; else pages="2 MB"; fi
	if echo "$out" | grep -q "EPT with $pages pages"; then
		tv_pass check-ept-pages "EPT with $pages pages, as the kernel's vmx flags say"
	else
		tv_fail check-ept-pages "the kernel's vmx flags say $pages pages"
	fi
fi

# Not root: CPUID says yes, but the MSRs cannot be read: cannot tell.
out=$(tvasuser 65534 tvctl check 2>&1)
rc=$?
if [ "$rc" -eq 5 ] && echo "$out" | grep -q 'needs root'; then
	tv_pass check-not-root "exit 5, says it needs root"
else
	tv_fail check-not-root "exit $rc: $out"
fi

# The verdict matches what insmod does.
tv_dmesg_mark
if insmod "$TV_MODULE"; then
	tv_pass check-matches-insmod "can run, and insmod loaded it"
else
	tv_fail check-matches-insmod "check said can run, insmod failed"
fi
out=$(tvctl check 2>&1)
rc=$?
if [ "$rc" -eq 4 ] && echo "$out" | grep -q '^verdict: thinvisor cannot load now: thinvisor is already running' &&
   echo "$out" | grep -q 'insmod would fail with EEXIST'; then
	tv_pass check-already-running "exit 4, already running, EEXIST"
else
	tv_fail check-already-running "exit $rc: $out"
fi
tv_check check-rmmod rmmod thinvisor

# kvm_intel loaded: exit 4, EBUSY; insmod then fails the same way.
kvmdir=/opt/tv/kmod-kvm
if [ -f "$kvmdir/order" ]; then
	files=$(tr "\n" " " < "$kvmdir/order")
	loaded=
	for f in $files; do
		insmod "$kvmdir/$f" || break
		loaded="$(basename "$f" .ko | tr - _) $loaded"
	done
	out=$(tvctl check 2>&1)
	rc=$?
	json=$(tvctl check --json)
	want=$(echo "$json" | tvjson -k strerror)
	ins=$(insmod "$TV_MODULE" 2>&1) && rmmod thinvisor
	echo "check: $out"
	echo "insmod: $ins"
	if [ "$rc" -eq 4 ] && echo "$out" | grep -q 'kvm_intel is loaded' &&
	   [ "$(echo "$json" | tvjson -k errno)" = EBUSY ] &&
	   [ -n "$want" ] && echo "$ins" | grep -qF "$want"; then
		tv_pass check-kvm "exit 4, kvm_intel loaded, insmod says '$want'"
	else
		tv_fail check-kvm "exit $rc, insmod: $ins"
	fi
	for m in $loaded; do rmmod "$m"; done
else
	tv_pass check-kvm "skipped: no KVM modules in this image"
fi
tv_check_dmesg check-dmesg-clean
[ -z "$tv_failed" ]
