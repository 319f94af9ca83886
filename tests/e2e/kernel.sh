#!/bin/sh
# SPDX-License-Identifier: MIT
# Find or build the e2e guest kernel and print where it is, as two lines:
#   image=<bzImage to boot>
#   kdir=<kernel build tree for out-of-tree modules>
# usage: tests/e2e/kernel.sh minimal|debian
#
# minimal: Debian's linux-source-6.1, `make tinyconfig` + kernel/minimal.config
#   + olddefconfig, built once under $BUILD/e2e/kernel/minimal-<hash>.  The hash
#   covers the fragment, the source package version and RECIPE, so editing the
#   fragment or upgrading linux-source-6.1 gives a fresh build directory.
# debian: the installed /boot/vmlinuz-*-amd64 and its linux-headers tree.
# Build output goes to stderr so that stdout stays machine-readable.
set -eu

# Bump when the build steps below change in a way that affects the result.
RECIPE=1

here=$(cd "$(dirname "$0")" && pwd)
top=${TOP:-$(cd "$here/../.." && pwd)}
build=${BUILD:-$top/build}
jobs=$(nproc 2>/dev/null || echo 2)

die() {
	echo "kernel: $*" >&2
	exit 1
}

debian_kernel() {
	# Newest kernel that has both an image and a headers tree.
	for img in $(printf '%s\n' /boot/vmlinuz-*-amd64 | sort -rV); do
		kver=${img#/boot/vmlinuz-}
		if [ -f "/usr/src/linux-headers-$kver/Makefile" ]; then
			echo "image=$img"
			echo "kdir=/usr/src/linux-headers-$kver"
			return 0
		fi
	done
	die "no /boot/vmlinuz-*-amd64 with matching /usr/src/linux-headers-* (run scripts/deps.sh e2e)"
}

# Every CONFIG_ line of the fragment must appear verbatim in .config.
check_config() {
	bad=$(grep '^CONFIG_' "$1" | while read -r line; do
		grep -qx "$line" "$2/.config" || echo "$line"
	done)
	[ -z "$bad" ] && return 0
	for line in $bad; do
		sym=${line%%=*}
		got=$(grep -e "^$sym=" -e "^# $sym is not set" "$2/.config" || echo "absent")
		echo "kernel: wanted $line, .config has: $got" >&2
	done
	die "guest kernel config lost required options (see above); fix $1"
}

minimal_kernel() {
	tarball=/usr/src/linux-source-6.1.tar.xz
	frag=$here/kernel/minimal.config
	[ -f "$tarball" ] || die "$tarball missing (run scripts/deps.sh e2e)"
	ver=$(dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null) ||
		die "linux-source-6.1 is not installed"
	hash=$( (echo "recipe $RECIPE source $ver"; cat "$frag") | sha256sum | cut -c1-12)
	src=$build/e2e/src/linux-$ver
	out=$build/e2e/kernel/minimal-$hash

	if [ ! -f "$out/.tv-done" ]; then
		if [ ! -f "$src/Makefile" ]; then
			# Extract into a scratch dir first so an interrupted run leaves
			# no half-extracted tree behind.
			echo "kernel: extracting $tarball ($ver)" >&2
			rm -rf "$src.tmp"
			mkdir -p "$src.tmp"
			tar -xJf "$tarball" -C "$src.tmp"
			mv "$src.tmp/linux-source-6.1" "$src"
			rm -rf "$src.tmp"
		fi
		echo "kernel: building minimal guest kernel in $out" >&2
		mkdir -p "$out"
		{
			make -C "$src" O="$out" tinyconfig
			"$src/scripts/kconfig/merge_config.sh" -m -O "$out" "$out/.config" "$frag"
			make -C "$src" O="$out" olddefconfig
		} >&2
		check_config "$frag" "$out"
		make -C "$src" O="$out" -j"$jobs" bzImage modules_prepare >&2
		# Out-of-tree modules need Module.symvers; with only vmlinux built
		# kbuild leaves the exports in vmlinux.symvers.
		cp "$out/vmlinux.symvers" "$out/Module.symvers"
		touch "$out/.tv-done"
	fi
	echo "image=$out/arch/x86/boot/bzImage"
	echo "kdir=$out"
}

case "${1:-minimal}" in
minimal) minimal_kernel ;;
debian) debian_kernel ;;
*) die "unknown kernel '$1' (minimal or debian)" ;;
esac
