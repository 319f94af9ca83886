# SPDX-License-Identifier: MIT
# shellcheck shell=sh
# Extensions linked into thinvisor.sys (TV_EXT_BUILTIN, docs/extending.md
# "Windows"), under real VMX through the NT shim.  The e2e image
# (build/windows/ext/thinvisor.sys) holds extensions/portable, the sample
# whose same source is a Linux module, and tests/windows/ext/second.c after
# it.  DriverEntry registers both, in link order, once every CPU is
# virtualized: portable's CPUID leaf 0x400000f0 and second's 0x400000d0
# answer on every CPU and portable's hypercall answers from user mode.
# DriverUnload unregisters them newest first, before any CPU is given back,
# and the leaves are native again.  With FailStep 27 (the last extension's
# registration fails) the first is unregistered again and the load is
# refused with STATUS_CANCELLED, nothing left behind.  The default image
# has no extension: both leaves read thinvisor's zeros.
# shellcheck source=tests/e2e/guest/lib.sh
. "$TV_LIB"

ext_sys=$TV_WIN_EXT_SYS
log=/tmp/thinvisor.log
if [ ! -f "$ext_sys" ]; then
	tv_fail win-ext-image "no $ext_sys in the image (make windows-test or e2e-windows-images)"
	exit 0
fi

# leaf CPU LEAF: CPUID LEAF (a multiple of 16) on CPU through
# /dev/cpu/CPU/cpuid, whose file offset is the leaf: EAX in decimal, then
# EBX:ECX:EDX as text, on one line.
leaf() {
	dd if="/dev/cpu/$1/cpuid" of=/tmp/ext.leaf bs=16 skip=$(($2 / 16)) \
		count=1 2>/dev/null
	printf '%s %s\n' "$(od -An -tu4 -N4 /tmp/ext.leaf | tr -d ' ')" \
		"$(dd if=/tmp/ext.leaf bs=1 skip=4 count=12 2>/dev/null | tr -d '\000')"
}
# raw CPU LEAF: the 16 bytes as hex, to compare with the native values.
raw() {
	dd if="/dev/cpu/$1/cpuid" bs=16 skip=$(($2 / 16)) count=1 2>/dev/null |
		od -An -tx1 | tr -d ' \n'
}

P=$((0x400000f0))
S=$((0x400000d0))
cpus=""
for d in /dev/cpu/[0-9]*; do
	cpus="$cpus ${d#/dev/cpu/}"
done
native=""
for c in $cpus; do
	native="$native $c:$(raw "$c" $P):$(raw "$c" $S)"
done

# The default image: no built-in extension, both leaves are thinvisor's.
tv_dmesg_mark
if insmod "$TV_MODULE"; then
	d=$(leaf 0 $P)/$(leaf 0 $S)
	rmmod thinvisor
	if [ "$d" = "0 /0 " ] &&
	   tv_dmesg_new | grep -q 'thinvisor: 0 built-in extensions'; then
		tv_pass win-ext-default "default thinvisor.sys: no built-in extension, leaves 0x400000f0/0x400000d0 read zero"
	else
		tv_fail win-ext-default "leaves '$d'; $(tv_dmesg_new | grep -m1 'built-in')"
	fi
else
	tv_fail win-ext-default "insmod of the default image failed"
fi

rm -f $log
tv_dmesg_mark
if ! insmod "$TV_MODULE" sys="$ext_sys" LogLevel=7; then
	tv_fail win-ext-load "insmod $TV_MODULE sys=$ext_sys failed"
	tv_dmesg_new | grep -E 'thinvisor|DbgPrintEx' | tail -n 20
	exit 0
fi
msgs=$(tv_dmesg_new | grep 'DbgPrintEx: thinvisor')
order=$(echo "$msgs" | sed -n 's/.*thinvisor: extension \([a-z]*\) registered.*/\1/p' | tr '\n' ' ')
if echo "$msgs" | grep -q 'thinvisor: 2 built-in extensions' &&
   [ "$order" = "portable second " ] &&
   echo "$msgs" | grep -q 'thinvisor: loaded'; then
	tv_pass win-ext-load "DriverEntry registered: $order(link order)"
else
	tv_fail win-ext-load "registered: '$order'"
	echo "$msgs" | tail -n 15
fi

ok=1
seen=""
for c in $cpus; do
	p=$(leaf "$c" $P)
	s=$(leaf "$c" $S)
	seen="$seen cpu$c: '$p' '$s';"
	[ "${p#* }" = "portable ext" ] && [ "$s" = "2 second ext.." ] || ok=0
done
first=$(leaf 0 $P | cut -d' ' -f1)
second=$(leaf 0 $P | cut -d' ' -f1)
if [ $ok = 1 ] && [ "$second" = $((first + 1)) ]; then
	tv_pass win-ext-cpuid "every CPU:$seen portable's count $first then $second"
else
	tv_fail win-ext-cpuid "$seen counts $first, $second"
fi
out=$(tvextcall 7476000000010101)
case $out in
"rax=0x6c626174726f70 rdx="[1-9]*)
	tv_pass win-ext-hypercall "user-mode hypercall answered by portable: $out" ;;
*)
	tv_fail win-ext-hypercall "got '$out'" ;;
esac
tv_shim_rules win-ext-irql-rules

if rmmod thinvisor; then
	# The log file is in TSC order: unregistrations, newest first, come
	# before the first CPU is given back.
	n_sec=$(grep -n 'extension second unregistered' $log | head -n 1 | cut -d: -f1)
	n_por=$(grep -n 'extension portable unregistered' $log | head -n 1 | cut -d: -f1)
	n_back=$(grep -n 'given back after' $log | head -n 1 | cut -d: -f1)
	if [ -n "$n_sec" ] && [ -n "$n_por" ] && [ -n "$n_back" ] &&
	   [ "$n_sec" -lt "$n_por" ] && [ "$n_por" -lt "$n_back" ]; then
		tv_pass win-ext-unload-order "log lines $n_sec, $n_por: second then portable unregistered; line $n_back: first CPU given back"
	else
		tv_fail win-ext-unload-order "second at '$n_sec', portable at '$n_por', given back at '$n_back'"
		grep -E 'extension|given back' $log | head -n 10
	fi
else
	tv_fail win-ext-unload-order "rmmod thinvisor failed"
fi
after=""
for c in $cpus; do
	after="$after $c:$(raw "$c" $P):$(raw "$c" $S)"
done
if [ "$after" = "$native" ] && tvcpuid sig absent >/dev/null; then
	tv_pass win-ext-unloaded "both leaves native again on every CPU, signature gone"
else
	tv_fail win-ext-unloaded "native:$native; after:$after"
fi

# FailStep 27: the last extension (second) fails; portable, registered
# before it, is unregistered again, the VMM torn down, the load refused.
tv_dmesg_mark
if insmod "$TV_MODULE" sys="$ext_sys" FailStep=27 2>/dev/null; then
	tv_fail win-ext-init-fails "load succeeded despite FailStep=27"
	rmmod thinvisor
else
	new=$(tv_dmesg_new)
	st=$(echo "$new" | sed -n 's/.*DriverEntry returned NTSTATUS \(0x[0-9a-f]*\).*/\1/p' | head -n 1)
	seq=$(echo "$new" | sed -n 's/.*DbgPrintEx: thinvisor: \(extension [a-z]* [a-z]*\|step 8: built-in extension [a-z]*\).*/\1/p' |
		head -n 3 | tr '\n' ',')
	ok=1
	[ "$st" = 0xc0000120 ] || ok=0
	[ "$seq" = "extension portable registered,step 8: built-in extension second,extension portable unregistered," ] || ok=0
	tv_is_loaded thinvisor && ok=0
	tvcpuid sig absent >/dev/null || ok=0
	[ "$(raw 0 $P)" = "$(echo "$native" | sed -n 's/^ 0:\([0-9a-f]*\):.*/\1/p')" ] || ok=0
	if [ $ok = 1 ]; then
		tv_pass win-ext-init-fails "NTSTATUS $st after: $seq leaf native, nothing loaded"
	else
		tv_fail win-ext-init-fails "NTSTATUS '$st', sequence '$seq'"
		echo "$new" | grep -E 'DbgPrintEx|ntshim' | tail -n 15
	fi
fi
tv_shim_clean win-ext-nothing-left
tv_check_dmesg win-ext-dmesg-clean
