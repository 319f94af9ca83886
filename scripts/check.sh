#!/bin/sh
# SPDX-License-Identifier: MIT
# make check: the code-health gate CI runs.  Every analyser must report no
# finding; the few justified checkpatch exceptions live in .checkpatch.conf.
#
# usage: scripts/check.sh [ANALYSER...]   (default: all of them)
#   - checkpatch  core/ arch/ platform/linux/ tools/, kernel style
#   - sparse      the module with C=2 (sparse), W=1, warnings as errors
#   - cppcheck    every C file but the tests' guest programs
#   - shellcheck  every shell script: *.sh, the guest's init, .ci/run
#   - kernel-doc  the public headers include/thinvisor/*.h
#   - asserts     the compile-time checks of the VMCS accessors catch what
#                 they are for (tests/check/compile_checks.c)
#
# checkpatch.pl and kernel-doc come from the kernel's own source: KSCRIPTS
# (a directory holding them) if set, else they are taken once from
# Debian's linux-source-6.1 (scripts/deps.sh check) into build/check/.
# KDIR names the kernel headers for the module (default as in Makefile).
# Prints "check: NAME: N findings" per analyser; exits 1 if any has one.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
out=${BUILD:-$top/build}/check
cd "$top"
mkdir -p "$out"

all="checkpatch sparse cppcheck shellcheck kernel-doc asserts"
want=${*:-$all}
failed=
log() { echo "check: $*"; }

# The lines of FILE that are findings, printed, and counted in $n.
report() {
	n=$(grep -c . "$2" || true)
	cat "$2"
	log "$1: $n findings"
	[ "$n" -eq 0 ] || failed="$failed $1"
}

# checkpatch.pl, its data files and kernel-doc from the kernel's source.
kscripts() {
	if [ -n "${KSCRIPTS:-}" ]; then
		echo "$KSCRIPTS"
		return
	fi
	dir=$out/kscripts
	tarball=/usr/src/linux-source-6.1.tar.xz
	if [ ! -f "$dir/.done" ]; then
		if [ ! -f "$tarball" ]; then
			echo "check: no $tarball: run 'scripts/deps.sh check' or set KSCRIPTS" >&2
			exit 1
		fi
		rm -rf "$dir"
		mkdir -p "$dir"
		tar -xJf "$tarball" -C "$dir" --strip-components=2 \
			--wildcards 'linux-source-6.1/scripts/checkpatch.pl' \
			'linux-source-6.1/scripts/spelling.txt' \
			'linux-source-6.1/scripts/const_structs.checkpatch' \
			'linux-source-6.1/scripts/kernel-doc'
		touch "$dir/.done"
	fi
	echo "$dir"
}

# The sources checkpatch covers, one a line.
checkpatch_files() {
	find core arch platform/linux tools -type f \
		\( -name '*.c' -o -name '*.h' -o -name '*.S' \) | LC_ALL=C sort
}

# Exceptions: "# exception: PATH TYPE why" lines in .checkpatch.conf, PATH
# a file or a directory ending in "/".  checkpatch itself reads the
# file's option lines from the current directory; to it these are
# comments.  One run per distinct set of ignored types (perl starts once).
run_checkpatch() {
	ks=$(kscripts)
	res=$out/checkpatch.txt
	sed -n 's/^# exception: \([^ ]*\) \([A-Z_]*\) .*/\1 \2/p' .checkpatch.conf \
		>"$out/checkpatch.exceptions"
	checkpatch_files | while read -r f; do
		ign=$(while read -r path type; do
			case $f in "$path" | "$path"*/* | "${path%/}"/*) echo "$type" ;; esac
		done <"$out/checkpatch.exceptions" | sort -u | paste -sd, -)
		printf '%s %s\n' "${ign:--}" "$f"
	done >"$out/checkpatch.plan"
	: >"$out/checkpatch.log"
	cut -d' ' -f1 "$out/checkpatch.plan" | sort -u | while read -r ign; do
		# shellcheck disable=SC2046
		perl "$ks/checkpatch.pl" --terse -f \
			$([ "$ign" = - ] || echo "--ignore $ign") \
			$(sed -n "s|^$ign ||p" "$out/checkpatch.plan") \
			>>"$out/checkpatch.log" 2>&1 || true
	done
	grep -E '^[^ ]+:[0-9]+: (ERROR|WARNING|CHECK):' "$out/checkpatch.log" \
		>"$res" || true
	report checkpatch "$res"
}

# The module with sparse on every file (C=2), the kernel's extra warnings
# (W=1) and -Werror, from a clean copy so that every warning is seen again.
run_sparse() {
	kdir=${KDIR:-}
	if [ -z "$kdir" ]; then
		kdir=/lib/modules/$(uname -r)/build
		[ -f "$kdir/Makefile" ] ||
			kdir=$(find /usr/src -maxdepth 1 -name 'linux-headers-*-amd64' |
				LC_ALL=C sort | tail -1)
	fi
	if [ ! -f "$kdir/Makefile" ]; then
		echo "check: no kernel headers: run 'scripts/deps.sh check' or set KDIR" >&2
		exit 1
	fi
	rm -rf "$out/module"
	res=$out/sparse.txt
	rc=0
	scripts/build-module.sh "$kdir" "$out/module" "-Werror" \
		-k C=2 W=1 CF=-Wsparse-error >"$out/sparse.log" 2>&1 || rc=$?
	grep -E '(warning|error):' "$out/sparse.log" >"$res" || true
	if [ "$rc" -ne 0 ] && [ ! -s "$res" ]; then
		tail -20 "$out/sparse.log" >"$res"
	fi
	report sparse "$res"
}

# sizeofDereferencedVoidPointer: TV_IS_ICE (arch/x86/cpu.h), behind every
# tv_vmread/tv_vmwrite, is the null-pointer-constant idiom of C11 6.5.15,
# which cppcheck takes for sizeof(void); nothing else in the tree is.
# internalAstError in core/exit.c: cppcheck 2.10 cannot parse a GNU
# statement expression (tv_vmread) inside a compound literal.
# tests/windows/ntshim is a Linux kernel module: GNU C's void-pointer
# arithmetic and the kernel's list_for_each_entry are the kernel's idiom.
run_cppcheck() {
	res=$out/cppcheck.txt
	# shellcheck disable=SC2046
	cppcheck -q --std=c11 --enable=warning,performance,portability \
		--inline-suppr --suppress=missingIncludeSystem \
		--suppress=sizeofDereferencedVoidPointer \
		--suppress=internalAstError:core/exit.c \
		--suppress=arithOperationsOnVoidPointer:tests/windows/ntshim/* \
		--suppress=unknownMacro:tests/windows/ntshim/* \
		--template='{file}:{line}: {severity}: {message} [{id}]' \
		-I. -Iinclude -Itests/unit -j2 \
		$(find core arch platform tools tests/unit tests/fuzz tests/windows \
			-name '*.c' | LC_ALL=C sort) 2>"$res" || true
	report cppcheck "$res"
}

run_shellcheck() {
	res=$out/shellcheck.txt
	# shellcheck disable=SC2046
	shellcheck -f gcc -x $(find . -path ./build -prune -o -name '*.sh' -print |
		LC_ALL=C sort) tests/e2e/guest/init .ci/run >"$res" 2>&1 || true
	report shellcheck "$res"
}

run_kernel_doc() {
	ks=$(kscripts)
	res=$out/kernel-doc.txt
	# shellcheck disable=SC2046
	perl "$ks/kernel-doc" -none include/thinvisor/*.h >"$res" 2>&1 || true
	report kernel-doc "$res"
}

# Case 0 of tests/check/compile_checks.c must compile; every other case
# must fail with the message its #elif line names.
run_asserts() {
	res=$out/asserts.txt
	src=tests/check/compile_checks.c
	: >"$res"
	for cc in ${CC:-cc} ${CLANG:-clang}; do
		command -v "$cc" >/dev/null || continue
		sed -n 's/^#elif TV_CASE == \([0-9]*\)\t*\/\* "\(.*\)".*/\1 \2/p' "$src" |
			{
			echo "0 "
			cat
		} | while read -r n msg; do
			if "$cc" -fsyntax-only -std=gnu11 -O2 -Wall -Wextra -Werror -Wno-unused-parameter \
				-I. -Itests/unit -DTV_CASE="$n" "$src" \
				>"$out/asserts.log" 2>&1; then
				[ "$n" -eq 0 ] ||
					echo "$src: case $n compiled with $cc" >>"$res"
			elif [ "$n" -eq 0 ]; then
				cat "$out/asserts.log" >>"$res"
			elif ! grep -q "$msg" "$out/asserts.log"; then
				echo "$src: case $n failed with $cc but not with \"$msg\"" >>"$res"
			fi
		done
	done
	report asserts "$res"
}

for a in $want; do
	case $a in
	checkpatch) run_checkpatch ;;
	sparse) run_sparse ;;
	cppcheck) run_cppcheck ;;
	shellcheck) run_shellcheck ;;
	kernel-doc) run_kernel_doc ;;
	asserts) run_asserts ;;
	*) echo "usage: $0 [$all]" >&2; exit 2 ;;
	esac
done
if [ -n "$failed" ]; then
	log "FAILED:$failed"
	exit 1
fi
log "all clean: $want"
