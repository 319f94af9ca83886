#!/bin/sh
# SPDX-License-Identifier: MIT
# The install and package test (make package-test, part of make test):
#  1. modinfo of the built module: version from VERSION, author,
#     description, license, every parameter described and in modprobe.d;
#     VERSION's major.minor is the hypercall ABI's (include/thinvisor/hypercall.h);
#  2. make install / make uninstall into a scratch DESTDIR: the exact file
#     list, with and without a man page and completion, and nothing left;
#  3. make sign with a throwaway key: the signature magic and the signer;
#  4. make deb: the file lists of thinvisor-dkms and tvctl;
#  5. make install / uninstall for real (depmod: modprobe finds it, then
#     not); both packages installed with dpkg on this machine (a throwaway CI
#     machine, root): dkms built, signed and installed the module for the
#     kernel whose headers are installed, modprobe finds it, tvctl runs;
#     the kernel-headers hook rebuilds it as on a kernel upgrade; purge
#     leaves nothing behind.
# Needs root and Debian 12; installs what it needs (scripts/deps.sh package).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
build=${BUILD:-$top/build}
work=$build/package-test
version=$(cat VERSION)
modinfo=/sbin/modinfo
pass=0
fail=0
ok() {
	echo "package-test: PASS $*"
	pass=$((pass + 1))
}
bad() {
	echo "package-test: FAIL $*" >&2
	fail=$((fail + 1))
}
check() { # check NAME COMMAND...: PASS if the command succeeds
	name=$1
	shift
	if "$@"; then ok "$name"; else bad "$name"; fi
}

if [ "$(id -u)" -ne 0 ]; then
	echo "package-test: needs root (dpkg, dkms)" >&2
	exit 1
fi
scripts/deps.sh package
rm -rf "$work"
mkdir -p "$work"
# Unset: make's command-line variables would reach the inner makes.
unset MAKEFLAGS MAKELEVEL
mk() { make --no-print-directory -C "$top" BUILD="$build" "$@"; }

# 1. modinfo --------------------------------------------------------------
mk module >"$work/module.log" 2>&1 || { cat "$work/module.log"; exit 1; }
ko=$build/module/host/thinvisor.ko
check "modinfo fields, parameters and modprobe.d" \
	scripts/check-modinfo.sh "$ko" "$version" packaging/modprobe.d/thinvisor.conf
abi=$(sed -n 's/^#define TV_VERSION_MAJOR \([0-9]*\)$/\1/p' include/thinvisor/hypercall.h).$(sed -n \
	's/^#define TV_VERSION_MINOR \([0-9]*\)$/\1/p' include/thinvisor/hypercall.h)
check "VERSION $version is ABI $abi (include/thinvisor/hypercall.h)" \
	test "${version%.*}" = "$abi"

# 2. make install / uninstall -----------------------------------------------
release=$($modinfo -F vermagic "$ko" | cut -d' ' -f1)
listing() { (cd "$1" && find . -type f | sort); }
dest=$work/destdir
mk install DESTDIR="$dest" >"$work/install.log" 2>&1 || cat "$work/install.log"
printf '%s\n' ./etc/modprobe.d/thinvisor.conf \
	"./lib/modules/$release/extra/thinvisor.ko" ./usr/local/sbin/tvctl \
	./usr/local/share/bash-completion/completions/tvctl \
	./usr/local/share/man/man8/tvctl.8 >"$work/want-install"
listing "$dest" >"$work/got-install"
check "make install DESTDIR: module, tvctl, its man page and completion, modprobe.d" \
	cmp -s "$work/want-install" "$work/got-install"
check "make install: modprobe.d file is packaging/modprobe.d/thinvisor.conf" \
	cmp -s packaging/modprobe.d/thinvisor.conf "$dest/etc/modprobe.d/thinvisor.conf"
mk uninstall DESTDIR="$dest" >>"$work/install.log" 2>&1
check "make uninstall DESTDIR: no file left" test -z "$(listing "$dest")"
# A man page and a completion are installed when the tree has them.
printf '.TH TVCTL 8\n' >"$work/tvctl.8"
printf 'complete -F _tvctl tvctl\n' >"$work/tvctl.bash"
dest=$work/destdir-usr
mk install-tvctl DESTDIR="$dest" PREFIX=/usr TV_MAN="$work/tvctl.8" \
	TV_COMPLETION="$work/tvctl.bash" >>"$work/install.log" 2>&1
printf '%s\n' ./usr/sbin/tvctl ./usr/share/bash-completion/completions/tvctl \
	./usr/share/man/man8/tvctl.8 >"$work/want-tvctl"
listing "$dest" >"$work/got-tvctl"
check "make install PREFIX=/usr: tvctl, man page, completion" \
	cmp -s "$work/want-tvctl" "$work/got-tvctl"
mk uninstall DESTDIR="$dest" PREFIX=/usr >>"$work/install.log" 2>&1
check "make uninstall PREFIX=/usr: no file left" test -z "$(listing "$dest")"

# DKMS by hand: the sources and a dkms.conf with the version filled in.
dest=$work/destdir-dkms
mk install-dkms-src DESTDIR="$dest" >>"$work/install.log" 2>&1
check "make install-dkms-src: dkms.conf with PACKAGE_VERSION $version" \
	grep -q "^PACKAGE_VERSION=\"$version\"" "$dest/usr/src/thinvisor-$version/dkms.conf"
check "make install-dkms-src: Kbuild, VERSION and main.c" test -f \
	"$dest/usr/src/thinvisor-$version/Kbuild" -a -f "$dest/usr/src/thinvisor-$version/VERSION" \
	-a -f "$dest/usr/src/thinvisor-$version/platform/linux/main.c"
mk uninstall-dkms-src DESTDIR="$dest" >>"$work/install.log" 2>&1
check "make uninstall-dkms-src: no file left" test -z "$(listing "$dest")"

# 3. make sign --------------------------------------------------------------
openssl req -new -x509 -newkey rsa:2048 -nodes -days 1 -outform DER \
	-subj "/CN=thinvisor package-test MOK" -keyout "$work/mok.key" \
	-out "$work/mok.der" 2>/dev/null
cp "$ko" "$work/signed.ko"
magic() { tail -c 28 "$1" | grep -q '~Module signature appended~'; }
check "the built module is unsigned" sh -c "! tail -c 28 '$ko' | grep -q 'Module signature'"
mk sign KEY="$work/mok.key" CERT="$work/mok.der" KO="$work/signed.ko" \
	>"$work/sign.log" 2>&1 || cat "$work/sign.log"
check "make sign: signature appended" magic "$work/signed.ko"
check "make sign: modinfo signer is the MOK" \
	test "$($modinfo -F signer "$work/signed.ko")" = "thinvisor package-test MOK"

# 4. make deb ---------------------------------------------------------------
t0=$(date +%s)
mk deb >"$work/deb.log" 2>&1 || { tail -30 "$work/deb.log"; exit 1; }
echo "package-test: make deb took $(($(date +%s) - t0)) s"
dkms_deb=$build/deb/thinvisor-dkms_${version}_all.deb
tvctl_deb=$(ls "$build"/deb/tvctl_"${version}"_*.deb)
debfiles() { dpkg-deb -c "$1" | awk '$1 !~ /^d/ { print $6 }' | sort; }
# The DKMS sources are exactly what Kbuild builds from.
{
	(find Kbuild VERSION core arch include platform/linux -type f \
		\( -name '*.[chS]' -o -name Kbuild -o -name VERSION \)
	 echo dkms.conf; echo dkms-post-build) |
		sed "s|^|./usr/src/thinvisor-$version/|"
	echo ./etc/modprobe.d/thinvisor.conf
	echo ./usr/share/doc/thinvisor-dkms/changelog.gz
	echo ./usr/share/doc/thinvisor-dkms/copyright
} | sort >"$work/want-dkms"
debfiles "$dkms_deb" >"$work/got-dkms"
check "thinvisor-dkms file list" diff -u "$work/want-dkms" "$work/got-dkms"
check "thinvisor-dkms: /etc/modprobe.d/thinvisor.conf is a conffile" \
	sh -c "dpkg-deb -f '$dkms_deb' Package >/dev/null &&
		dpkg-deb --ctrl-tarfile '$dkms_deb' | tar -xO ./conffiles |
		grep -qx /etc/modprobe.d/thinvisor.conf"
check "thinvisor-dkms depends on dkms" \
	sh -c "dpkg-deb -f '$dkms_deb' Depends | grep -q dkms"
dpkg-deb --fsys-tarfile "$dkms_deb" |
	tar -xO "./usr/src/thinvisor-$version/dkms.conf" >"$work/dkms.conf"
check "dkms.conf: PACKAGE_VERSION $version" \
	grep -q "^PACKAGE_VERSION=\"$version\"" "$work/dkms.conf"
check "dkms.conf: AUTOINSTALL=yes" grep -q '^AUTOINSTALL="yes"' "$work/dkms.conf"
printf '%s\n' ./usr/sbin/tvctl ./usr/share/doc/tvctl/changelog.gz \
	./usr/share/doc/tvctl/copyright >"$work/want-tvctl-deb"
[ -f docs/tvctl.8 ] && echo ./usr/share/man/man8/tvctl.8.gz >>"$work/want-tvctl-deb"
[ -f tools/tvctl.bash-completion ] &&
	echo ./usr/share/bash-completion/completions/tvctl >>"$work/want-tvctl-deb"
sort -o "$work/want-tvctl-deb" "$work/want-tvctl-deb"
debfiles "$tvctl_deb" >"$work/got-tvctl-deb"
check "tvctl file list" diff -u "$work/want-tvctl-deb" "$work/got-tvctl-deb"

# 5. dpkg -i, dkms, purge ---------------------------------------------------
for p in thinvisor-dkms tvctl; do
	if dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q installed; then
		echo "package-test: $p is installed on this machine; not touching it" >&2
		exit 1
	fi
done
# Other jobs may hold the dpkg lock for a while: wait for it.
dpkg_wait() {
	n=0
	while ! dpkg "$@" >"$work/dpkg.log" 2>&1; do
		if grep -q 'lock' "$work/dpkg.log" && [ $n -lt 120 ]; then
			n=$((n + 1))
			sleep 5
			continue
		fi
		cat "$work/dpkg.log" >&2
		return 1
	done
	cat "$work/dpkg.log"
}
cleanup() {
	dpkg_wait --purge thinvisor-dkms tvctl >/dev/null 2>&1 || true
}
trap cleanup EXIT INT TERM

# make install for real: depmod makes modprobe find it, uninstall undoes it.
for f in "/lib/modules/$release/extra/thinvisor.ko" /etc/modprobe.d/thinvisor.conf \
	/usr/local/sbin/tvctl; do
	[ ! -e "$f" ] || { echo "package-test: $f exists; not touching it" >&2; exit 1; }
done
trap 'mk uninstall >/dev/null 2>&1 || true' EXIT INT TERM
mk install >"$work/install-real.log" 2>&1 || cat "$work/install-real.log"
check "make install: modprobe -n finds extra/thinvisor.ko for $release" \
	sh -c "modprobe -n -v -S $release thinvisor | grep -q extra/thinvisor.ko"
mk uninstall >>"$work/install-real.log" 2>&1 || cat "$work/install-real.log"
check "make uninstall: modprobe no longer finds it" \
	sh -c "! modprobe -n -S $release thinvisor 2>/dev/null && [ ! -e /usr/local/sbin/tvctl ] &&
		[ ! -e /etc/modprobe.d/thinvisor.conf ]"
trap - EXIT INT TERM

# The kernel the packages are tested against: Debian's, with headers.
krel=$(for d in /usr/src/linux-headers-*-amd64; do
	[ -f "$d/Makefile" ] && echo "${d#/usr/src/linux-headers-}"; done | sort -V | tail -1)
[ -n "$krel" ] || { echo "package-test: no linux-headers-*-amd64 in /usr/src" >&2; exit 1; }
mok_before=$([ -f /var/lib/dkms/mok.pub ] && echo yes || echo no)
t0=$(date +%s)
dpkg_wait -i "$tvctl_deb" "$dkms_deb" >"$work/dpkg-install.log" ||
	bad "dpkg -i thinvisor-dkms tvctl"
echo "package-test: dpkg -i (dkms build for $krel) took $(($(date +%s) - t0)) s"
installed=/lib/modules/$krel/updates/dkms/thinvisor.ko
check "dpkg -i: dkms status installed for $krel" \
	sh -c "dkms status -m thinvisor -v $version -k $krel | grep -q ': installed'"
check "dpkg -i: $installed" test -f "$installed"
check "dkms-built module: modinfo fields" \
	scripts/check-modinfo.sh "$installed" "$version" /etc/modprobe.d/thinvisor.conf
# Debian's dkms signs with its MOK key, made on first use.
signer=$($modinfo -F signer "$installed" 2>/dev/null || true)
mok_cn=$(openssl x509 -inform DER -in /var/lib/dkms/mok.pub -noout -subject \
	-nameopt multiline 2>/dev/null | sed -n 's/^ *commonName *= //p')
check "dkms signed the module with /var/lib/dkms/mok.key ('$signer')" \
	sh -c "[ -n '$signer' ] && [ '$signer' = '$mok_cn' ] && tail -c 28 '$installed' | grep -q 'Module signature appended'"
check "modprobe -n finds the module for $krel (depmod ran)" \
	sh -c "modprobe -n -v -S $krel thinvisor | grep -q updates/dkms/thinvisor.ko"
check "tvctl on PATH runs (--help)" sh -c "tvctl --help >/dev/null"
# An extension author's build against the installed package: the headers
# in /usr/src, the Module.symvers dkms-post-build kept; modpost must know
# every tv_ext_* symbol (no "undefined" warning, CRCs in __versions).
symvers=/var/lib/dkms/thinvisor/$version/$krel/x86_64/module/Module.symvers
check "dkms kept Module.symvers with the extension API" \
	grep -q 'tv_ext_register.*EXPORT_SYMBOL_GPL' "$symvers"
cp -r extensions/hello "$work/hello"
make -C "$work/hello" KDIR="/usr/src/linux-headers-$krel" \
	THINVISOR="/usr/src/thinvisor-$version" SYMVERS="$symvers" \
	>"$work/hello.log" 2>&1 || cat "$work/hello.log"
check "an extension builds against the package, every symbol versioned" \
	sh -c "[ -f '$work/hello/hello.ko' ] && ! grep -qi 'undefined\|WARNING' '$work/hello.log'"
# A kernel upgrade: Debian's kernel-headers hook (dkms autoinstall) builds
# and installs every AUTOINSTALL module for the new kernel.  Replayed for
# $krel after uninstalling it there; the build dkms already made is kept
# (the build itself was proven by dpkg -i, and would cost ~2 min again).
dkms uninstall -m thinvisor -v "$version" -k "$krel" >/dev/null 2>&1
check "dkms uninstall: module gone" test ! -e "$installed"
/etc/kernel/header_postinst.d/dkms "$krel" >"$work/hook.log" 2>&1 || cat "$work/hook.log"
check "kernel-headers hook (AUTOINSTALL) installed the module again" test -f "$installed"
check "after the hook: modprobe -n finds it" \
	sh -c "modprobe -n -v -S $krel thinvisor | grep -q updates/dkms/thinvisor.ko"

dpkg_wait --purge thinvisor-dkms tvctl >"$work/dpkg-purge.log" || bad "dpkg --purge"
trap - EXIT INT TERM
check "purge: no module left" sh -c "! ls /lib/modules/*/updates/dkms/thinvisor.ko 2>/dev/null"
check "purge: no dkms tree or sources" \
	sh -c "[ ! -e /var/lib/dkms/thinvisor ] && ! ls -d /usr/src/thinvisor-* 2>/dev/null"
check "purge: no tvctl, no modprobe.d file" \
	sh -c "[ ! -e /usr/sbin/tvctl ] && [ ! -e /etc/modprobe.d/thinvisor.conf ]"
check "purge: modprobe no longer finds it" \
	sh -c "! modprobe -n -S $krel thinvisor 2>/dev/null"
# The key dkms made for this test (none before) goes too.
if [ "$mok_before" = no ]; then
	rm -f /var/lib/dkms/mok.key /var/lib/dkms/mok.pub
fi

echo "package-test: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
