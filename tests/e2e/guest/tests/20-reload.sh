# SPDX-License-Identifier: MIT
# shellcheck shell=sh
# Load and unload three times in a row: each load virtualizes every CPU,
# each unload gives them all back and frees everything.
# shellcheck source=tests/e2e/guest/lib.sh
. "$TV_LIB"

ncpu=$(grep -c ^processor /proc/cpuinfo)
tv_dmesg_mark
for round in 1 2 3; do
	if ! insmod "$TV_MODULE"; then
		tv_fail "reload-$round" "insmod failed"
		continue
	fi
	if tvctl status | grep -q "^$ncpu of $ncpu online CPUs virtualized" &&
	   tvcpuid sig present >/dev/null; then
		ok=1
	else
		ok=0
	fi
	rmmod thinvisor || ok=0
	tvcpuid sig absent >/dev/null || ok=0
	if [ $ok = 1 ]; then
		tv_pass "reload-$round" "loaded on $ncpu CPUs, unloaded, signature gone"
	else
		tv_fail "reload-$round" "see output above"
	fi
done
tv_check_dmesg reload-dmesg-clean
