#!/bin/sh
# SPDX-License-Identifier: MIT
# Build everything the guest runs and pack it into a bootable ISO.
# usage: tests/e2e/image.sh KDIR BZIMAGE OUTDIR "KERNEL CMDLINE"
# env:   E2E_EXTRA=DIR  copy DIR (with a run.sh) to /opt/tv/extra
#        E2E_TESTS=GLOB only the guest/tests/GLOB.sh scripts (default: all)
#        E2E_HOST=windows  also pack the NT shim and thinvisor.sys
#
# Guest layout (the contract with guest/init and the test scripts):
#   /init                   guest/init
#   /bin/busybox + links    busybox-static
#   /opt/tv/thinvisor.ko    the module, built with -DTV_FAULT_INJECTION=1
#   /opt/tv/lib.sh          guest/lib.sh, helpers for test scripts
#   /opt/tv/demo.sh         guest/demo.sh
#   /opt/tv/tests/*.sh      guest/tests/*.sh
#   /opt/tv/bin/            tvctl (if the tree has it), rtcwake (util-linux)
#                           and one static program per tests/e2e/progs/*.c
#   /opt/tv/kmod/*.ko       one module per tests/e2e/kmod/*.c
#   /opt/tv/ext/*.ko        the extensions of extensions/*/
#   /opt/tv/kmod-host/*.ko  the guest kernel's msr/cpuid modules, if modular
#   /opt/tv/kmod-kvm/       the guest kernel's kvm-intel.ko and its dependencies,
#                           if modular, not loaded; "order" lists them
#   /opt/tv/extra/          $E2E_EXTRA
#   /opt/tv/win/            E2E_HOST=windows: thinvisor.ko (the NT shim),
#                           thinvisor.sys and test/thinvisor.sys
# Results: OUTDIR/initrd.gz and OUTDIR/boot.iso.
set -eu

if [ $# -ne 4 ]; then
	echo "usage: $0 KDIR BZIMAGE OUTDIR CMDLINE" >&2
	exit 2
fi
kdir=$1
bzimage=$2
out=$3
cmdline=$4
here=$(cd "$(dirname "$0")" && pwd)
top=${TOP:-$(cd "$here/../.." && pwd)}
build=${BUILD:-$top/build}
kid=$(basename "$kdir")
root=$out/root

die() {
	echo "image: $*" >&2
	exit 1
}

rm -rf "$root"
mkdir -p "$root/bin" "$root/sbin" "$root/usr/bin" "$root/usr/sbin" \
	"$root/proc" "$root/sys" "$root/dev" "$root/tmp" "$root/root" \
	"$root/opt/tv/bin" "$root/opt/tv/kmod" "$root/opt/tv/tests"

# busybox: create the applet links here rather than with --install at boot,
# which would cost emulated time on every run.
cp /bin/busybox "$root/bin/busybox"
for applet in $(/bin/busybox --list-full); do
	[ -e "$root/$applet" ] || ln -s /bin/busybox "$root/$applet"
done

# The hypervisor module, built against the guest kernel.  Debug info is
# stripped from the packed copy only: it would triple the initramfs.
"$top/scripts/build-module.sh" "$kdir" "$build/e2e/module/$kid" "-DTV_FAULT_INJECTION=1"
strip --strip-debug -o "$root/opt/tv/thinvisor.ko" "$build/e2e/module/$kid/thinvisor.ko"

# Extensions (extensions/*/), each built out of tree against the guest
# kernel and the module's exported symbols, as a tool author would.
mkdir -p "$root/opt/tv/ext"
for dir in "$top"/extensions/*/; do
	[ -f "$dir/Kbuild" ] || continue
	name=$(basename "$dir")
	ext=$build/e2e/ext/$kid/$name
	mkdir -p "$ext"
	rm -f "$ext"/*.c "$ext"/*.h
	cp -p "$dir"/*.c "$dir"/Kbuild "$dir"/Makefile "$ext/"
	make -C "$ext" KDIR="$kdir" THINVISOR="$top" \
		SYMVERS="$build/e2e/module/$kid/src/Module.symvers"
	for ko in "$ext"/*.ko; do
		strip --strip-debug -o "$root/opt/tv/ext/$(basename "$ko")" "$ko"
	done
done

# E2E_HOST=windows: the NT shim (tests/windows/ntshim, a module also named
# thinvisor) and the Windows driver as `make windows` built and signed it,
# production and test (FailStep) builds, and the test build with built-in
# extensions (74-windows-ext), under /opt/tv/win.
if [ "${E2E_HOST:-linux}" = windows ]; then
	for sys in "$build/windows/thinvisor.sys" "$build/windows/test/thinvisor.sys" \
		"$build/windows/ext/thinvisor.sys"; do
		[ -f "$sys" ] || die "E2E_HOST=windows: no $sys (make e2e-windows-images)"
	done
	shim=$build/e2e/ntshim/$kid
	mkdir -p "$shim" "$root/opt/tv/win/test" "$root/opt/tv/win/ext"
	rm -f "$shim"/*.c "$shim"/*.h "$shim"/*.S
	cp -p "$top"/tests/windows/ntshim/* "$shim/"
	make -C "$kdir" M="$shim" modules
	strip --strip-debug -o "$root/opt/tv/win/thinvisor.ko" "$shim/thinvisor.ko"
	cp "$build/windows/thinvisor.sys" "$root/opt/tv/win/thinvisor.sys"
	cp "$build/windows/test/thinvisor.sys" "$root/opt/tv/win/test/thinvisor.sys"
	cp "$build/windows/ext/thinvisor.sys" "$root/opt/tv/win/ext/thinvisor.sys"
fi

# tvctl, built by the top Makefile (`make tvctl`) before we get here.
if [ -x "$build/tools/tvctl" ]; then
	cp "$build/tools/tvctl" "$root/opt/tv/bin/tvctl"
else
	echo "image: no $build/tools/tvctl, packing without tvctl" >&2
fi

# Test programs: one static binary per tests/e2e/progs/*.c.
mkdir -p "$build/e2e/progs"
for c in "$here"/progs/*.c; do
	[ -f "$c" ] || continue
	name=$(basename "$c" .c)
	gcc -static -O2 -Wall -I"$top/include" -I"$top" -o "$build/e2e/progs/$name" "$c"
	cp "$build/e2e/progs/$name" "$root/opt/tv/bin/$name"
done

# Test kernel modules: one module per tests/e2e/kmod/*.c, built together.
if ls "$here"/kmod/*.c >/dev/null 2>&1; then
	kmod=$build/e2e/kmod/$kid
	mkdir -p "$kmod"
	# Fresh sources each time (cp -p keeps mtimes, so kbuild stays
	# incremental), minus any file deleted from the tree.
	rm -f "$kmod"/*.c "$kmod"/*.h
	cp -p "$here"/kmod/*.c "$kmod/"
	cp -p "$here"/kmod/*.h "$kmod/" 2>/dev/null || true
	{
		echo "# generated by tests/e2e/image.sh"
		for c in "$kmod"/*.c; do
			echo "obj-m += $(basename "$c" .c).o"
		done
		echo "ccflags-y := -I$top/include -I$top"
	} >"$kmod/Kbuild"
	make -C "$kdir" M="$kmod" modules
	for c in "$here"/kmod/*.c; do
		name=$(basename "$c" .c)
		strip --strip-debug -o "$root/opt/tv/kmod/$name.ko" "$kmod/$name.ko"
	done
fi

# rtcwake is not in Debian's busybox; util-linux's lets tests suspend to idle
# and wake up (rtcwake -m freeze -s 2).
if command -v rtcwake >/dev/null; then
	cp "$(command -v rtcwake)" "$root/opt/tv/bin/rtcwake"
fi

# Kernels that build /dev/cpu/N/msr and cpuid as modules (Debian's): pack
# those modules; /init loads them so every kernel offers the same devices.
# (Debian's headers have the upstream version in kernel.release; the
# utsrelease.h string is what the kernel reports and names /lib/modules.)
krel=$(sed -n 's/^#define UTS_RELEASE "\(.*\)"$/\1/p' "$kdir/include/generated/utsrelease.h")
for m in msr cpuid; do
	ko=/lib/modules/$krel/kernel/arch/x86/kernel/$m.ko
	if [ -f "$ko" ]; then
		mkdir -p "$root/opt/tv/kmod-host"
		cp "$ko" "$root/opt/tv/kmod-host/"
	fi
done

# The guest kernel's own KVM, when it is modular (Debian's): kvm-intel.ko
# and its dependencies (kvm.ko, irqbypass.ko), packed but NOT loaded, for
# guest/tests/60-kvm.sh, which checks that KVM and thinvisor coexist in
# either load order.  /opt/tv/kmod-kvm/order lists the files in load order
# (dependencies first).  The files keep their signatures; compressed ones
# are unpacked so that busybox insmod can load them on any kernel.
# (About 0.8 MB of the gzipped initramfs.)
kvm_dep_order() {	# MODULE: its dependencies, recursively, then itself
	for dep in $(modinfo -k "$krel" -F depends "$1" | tr ',' ' '); do
		kvm_dep_order "$dep"
	done
	echo "$1"
}
if modinfo -k "$krel" -n kvm_intel >/dev/null 2>&1; then
	kvmdst=$root/opt/tv/kmod-kvm
	mkdir -p "$kvmdst"
	for m in $(kvm_dep_order kvm_intel | awk '!seen[$0]++'); do
		src=$(modinfo -k "$krel" -n "$m")
		name=$(basename "$src")
		case $name in
		*.ko) cp "$src" "$kvmdst/$name" ;;
		*.ko.xz) name=${name%.xz}; xz -dc "$src" >"$kvmdst/$name" ;;
		*.ko.zst) name=${name%.zst}; zstd -qdc "$src" >"$kvmdst/$name" ;;
		*.ko.gz) name=${name%.gz}; gzip -dc "$src" >"$kvmdst/$name" ;;
		*) die "unknown module file format: $src" ;;
		esac
		echo "$name" >>"$kvmdst/order"
	done
fi

# A dynamically linked program (tvctl, unless the Makefile links it
# statically) needs its shared libraries in the guest too.
for f in "$root"/opt/tv/bin/*; do
	[ -f "$f" ] || continue
	ldd "$f" >/dev/null 2>&1 || continue	# static: ldd fails
	for lib in $(ldd "$f" | grep -o '/[^ ]*'); do
		[ -e "$root$lib" ] || cp -L --parents "$lib" "$root"
	done
done

cp "$here/guest/init" "$root/init"
cp "$here/guest/lib.sh" "$here/guest/demo.sh" "$root/opt/tv/"
# E2E_TESTS narrows the built-in scripts with a glob, e.g. '0*' or '10-vmm'.
for t in "$here"/guest/tests/${E2E_TESTS:-*}.sh; do
	[ -f "$t" ] || die "no guest test matches E2E_TESTS='${E2E_TESTS:-*}'"
	cp "$t" "$root/opt/tv/tests/"
done
chmod 755 "$root/init"

if [ -n "${E2E_EXTRA:-}" ]; then
	[ -f "$E2E_EXTRA/run.sh" ] || die "E2E_EXTRA=$E2E_EXTRA has no run.sh"
	mkdir -p "$root/opt/tv/extra"
	cp -R "$E2E_EXTRA/." "$root/opt/tv/extra/"
fi

(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --owner=0:0 --quiet) |
	gzip -6 >"$out/initrd.gz"

# isolinux ISO, built by xorriso as a plain user: no root, no loop devices.
iso=$out/iso
rm -rf "$iso"
mkdir -p "$iso/isolinux"
cp /usr/lib/ISOLINUX/isolinux.bin /usr/lib/syslinux/modules/bios/ldlinux.c32 "$iso/isolinux/"
cp "$bzimage" "$iso/vmlinuz"
cp "$out/initrd.gz" "$iso/initrd.gz"
cat >"$iso/isolinux/isolinux.cfg" <<EOF
DEFAULT tv
PROMPT 0
LABEL tv
  KERNEL /vmlinuz
  INITRD /initrd.gz
  APPEND $cmdline
EOF
xorriso -as mkisofs -quiet -o "$out/boot.iso" \
	-b isolinux/isolinux.bin -c isolinux/boot.cat \
	-no-emul-boot -boot-load-size 4 -boot-info-table "$iso"
echo "image: $out/boot.iso ($(du -k "$out/initrd.gz" | cut -f1) KB initramfs)" >&2
