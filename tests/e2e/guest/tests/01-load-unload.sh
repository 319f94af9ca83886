# SPDX-License-Identifier: MIT
# shellcheck shell=sh
# thinvisor.ko loads and unloads cleanly, twice in a row (the second round
# catches state that the first unload left behind).
# shellcheck source=tests/e2e/guest/lib.sh
. "$TV_LIB"

tv_dmesg_mark
for round in 1 2; do
	if ! insmod "$TV_MODULE"; then
		tv_fail "load-$round" "insmod $TV_MODULE failed"
		continue
	fi
	if tv_is_loaded thinvisor; then
		tv_pass "load-$round" "thinvisor in /proc/modules"
	else
		tv_fail "load-$round" "insmod succeeded but thinvisor is not in /proc/modules"
	fi
	if ! rmmod thinvisor; then
		tv_fail "unload-$round" "rmmod thinvisor failed"
	elif tv_is_loaded thinvisor; then
		tv_fail "unload-$round" "thinvisor still in /proc/modules after rmmod"
	else
		tv_pass "unload-$round" "thinvisor gone from /proc/modules"
	fi
done

tv_check_dmesg load-unload-dmesg
