#!/bin/sh
# Install what thinvisor's builds and tests need on Debian 12, and nothing
# that is already there.  Idempotent; needs root for apt-get.
# usage: scripts/deps.sh [unit|module|e2e|windows|fuzz|package|check|all]
#        (default: all)
set -eu

unit="gcc make libc6-dev libcmocka-dev"
module="linux-headers-amd64 kmod"
e2e="bochs bochsbios vgabios busybox-static cpio isolinux syslinux-common xorriso
	linux-source-6.1 flex bison bc libelf-dev libssl-dev dwarves lz4 xz-utils
	linux-image-amd64 linux-headers-amd64 kmod"
windows="gcc-mingw-w64-x86-64 binutils-mingw-w64-x86-64 mingw-w64-x86-64-dev
	osslsigncode openssl python3"
# libFuzzer and the sanitizer runtimes come with clang's runtime package;
# llvm gives llvm-symbolizer for readable crash stacks.
fuzz="clang libclang-rt-14-dev llvm"
# make deb / package-test / sign: debhelper with dh-dkms builds the
# packages, dkms rebuilds the module in the test, linux-kbuild has sign-file.
package="dkms dh-dkms debhelper dpkg-dev fakeroot openssl linux-headers-amd64
	kmod"
# make check: the analysers; checkpatch.pl and kernel-doc come from the
# kernel's source tarball (perl to run them); clang compiles the
# compile-time checks a second time; bear records make compdb.
check="sparse cppcheck shellcheck linux-source-6.1 xz-utils perl clang bear"

case "${1:-all}" in
unit) want=$unit ;;
module) want="$unit $module" ;;
e2e) want="$unit $module $e2e" ;;
windows) want="$unit $windows" ;;
fuzz) want="$unit $fuzz" ;;
package) want="$unit $module $package" ;;
check) want="$unit $module $check" ;;
all) want="$unit $module $e2e $windows $fuzz $package $check" ;;
*) echo "usage: $0 [unit|module|e2e|windows|fuzz|package|check|all]" >&2; exit 2 ;;
esac

missing=
for p in $want; do
	case " $missing " in *" $p "*) continue ;; esac
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing="$missing $p"
done
if [ -z "$missing" ]; then
	echo "deps: all present"
	exit 0
fi
echo "deps: installing$missing"
if [ "$(id -u)" -ne 0 ]; then
	echo "deps: need root for apt-get (missing:$missing)" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
