# SPDX-License-Identifier: MIT
# shellcheck shell=sh
# /dev/thinvisor log readers take turns and get whole lines: two readers
# follow the log with small reads (64 bytes, shorter than two lines) while
# the VMM writes (log_level=7: a ping logs one line on its CPU).  Every
# line either reader got is whole, and between them they got every line.
# Before, reads copied any number of bytes with no lock between readers:
# the readers got pieces of each other's lines.
# shellcheck source=tests/e2e/guest/lib.sh
. "$TV_LIB"

ncpu=$(grep -c ^processor /proc/cpuinfo)
rounds=100
ping_line='^7 cpu ([0-9]+) CPU [0-9]+: ping from the guest$'

tv_dmesg_mark
if ! insmod "$TV_MODULE" log_level=7; then
	tv_fail log-readers-load "insmod failed"
	exit 1
fi
# Let load's own lines reach the FIFO (50 ms drain), then drop them.
sleep 1
tvctl log >/dev/null
dd if=/dev/thinvisor of=/tmp/log.a bs=64 2>/dev/null &
pa=$!
dd if=/dev/thinvisor of=/tmp/log.b bs=64 2>/dev/null &
pb=$!
i=0
while [ $i -lt $rounds ]; do
	tvctl ping >/dev/null || tv_fail log-readers-ping "round $i"
	i=$((i + 1))
done
sleep 1
kill $pa $pb
wait $pa $pb 2>/dev/null
tv_check log-readers-nonblock tvctl log
tv_check log-readers-unload rmmod thinvisor

na=$(wc -l </tmp/log.a)
nb=$(wc -l </tmp/log.b)
bad=$(cat /tmp/log.a /tmp/log.b | grep -cvE "$ping_line")
pings=$(cat /tmp/log.a /tmp/log.b | grep -cE "$ping_line")
echo "reader a: $na lines, reader b: $nb lines"
cat /tmp/log.a /tmp/log.b | grep -vE "$ping_line" | head -n 5
if [ "$bad" -eq 0 ] && [ "$na" -gt 0 ] && [ "$nb" -gt 0 ]; then
	tv_pass log-readers-whole-lines "$na + $nb lines, all whole"
else
	tv_fail log-readers-whole-lines "$bad broken lines of $((na + nb)) (a $na, b $nb)"
fi
want=$((rounds * ncpu))
if [ "$pings" -eq "$want" ]; then
	tv_pass log-readers-every-line "$pings of $want ping lines"
else
	tv_fail log-readers-every-line "$pings of $want ping lines"
	tv_dmesg_new | grep -i 'dropped'
fi
tv_check_dmesg log-readers-dmesg
