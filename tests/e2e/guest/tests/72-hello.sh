# SPDX-License-Identifier: MIT
# shellcheck shell=sh
# The tutorial's sample extension (extensions/hello, shown whole in
# docs/extending.md): once loaded, CPUID 0x400000e0 says "hello, world"
# with a count in EAX on every CPU, and its hypercall answers from user
# mode; once unloaded, both are gone.
# shellcheck source=tests/e2e/guest/lib.sh
. "$TV_LIB"

hello=/opt/tv/ext/hello.ko

# leaf CPU: CPUID 0x400000e0 once on CPU, through /dev/cpu/CPU/cpuid
# (the file offset is the leaf): EAX in decimal, then EBX:ECX:EDX as text
leaf() {
	dd if="/dev/cpu/$1/cpuid" of=/tmp/hello.leaf bs=16 skip=$((0x400000e)) \
		count=1 2>/dev/null
	od -An -tu4 -N4 /tmp/hello.leaf | tr -d ' '
	dd if=/tmp/hello.leaf bs=1 skip=4 count=12 2>/dev/null | tr -d '\000'
	echo
}

tv_dmesg_mark
if ! insmod "$TV_MODULE"; then
	tv_fail hello-load "insmod $TV_MODULE failed"
	exit 0
fi
before=$(leaf 0)
if ! insmod "$hello"; then
	tv_fail hello-insmod "insmod hello.ko failed: $(dmesg | tail -n 2)"
	rmmod thinvisor
	exit 0
fi
ok=1
seen=""
for d in /dev/cpu/[0-9]*; do
	cpu=${d#/dev/cpu/}
	out=$(leaf "$cpu")
	seen="$seen cpu$cpu:$(echo "$out" | tr '\n' ' ')"
	[ "$(echo "$out" | sed -n 2p)" = "hello, world" ] || ok=0
done
first=$(leaf 0 | head -n 1)
second=$(leaf 0 | head -n 1)
if [ $ok = 1 ] && [ "$second" = $((first + 1)) ]; then
	tv_pass hello-cpuid "leaf 0x400000e0 (was '$(echo "$before" | tr '\n' ' ')'):$seen; count $first then $second"
else
	tv_fail hello-cpuid "$seen; counts $first, $second"
fi
out=$(tvextcall 7476000000010100)
case $out in
"rax=0x6f6c6c6568 rdx="[1-9]*)
	tv_pass hello-hypercall "user-mode hypercall answered: $out" ;;
*)
	tv_fail hello-hypercall "got '$out'" ;;
esac
if tvctl extensions | grep '^hello ' | grep -q 'cpuid=[1-9]'; then
	tv_pass hello-tvctl "$(tvctl extensions | grep '^hello ')"
else
	tv_fail hello-tvctl "$(tvctl extensions 2>&1)"
fi
rmmod hello
after=$(leaf 0 | sed -n 2p)
out=$(tvextcall 7476000000010100)
if [ "$after" != "hello, world" ] && [ "$out" = sigill ] &&
   tv_dmesg_new | grep -q 'hello: CPUID 0x400000e0 was asked'; then
	tv_pass hello-unload "leaf and hypercall gone with the extension"
else
	tv_fail hello-unload "leaf '$after', hypercall '$out'"
fi
rmmod thinvisor
tv_check_dmesg hello-dmesg
