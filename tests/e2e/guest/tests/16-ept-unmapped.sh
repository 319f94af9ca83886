# SPDX-License-Identifier: MIT
# shellcheck shell=sh
# The EPT maps only what exists (RAM and the iomem ranges): an access
# anywhere else is mapped by the VMM on demand, logged once, and the
# kernel carries on (before, that EPT violation dumped the guest state and
# panicked the machine).  A second load of the test module reads the same
# addresses again: already mapped, no new line.
# shellcheck source=tests/e2e/guest/lib.sh
. "$TV_LIB"

tv_dmesg_mark
if ! insmod "$TV_MODULE"; then
	tv_fail ept-unmapped-load "insmod $TV_MODULE failed"
	exit 0
fi
dmesg | grep 'thinvisor: EPT identity map' | tail -1
mark=$tv_dmesg_lines
for round in 1 2; do
	tv_dmesg_mark
	if insmod "$TV_KMOD/tvunmapped.ko"; then
		tv_dmesg_new | sed -n "s/.*tvunmapped: \([^ ]*\) \(PASS\|FAIL\) \(.*\)/TEST ept-unmapped-\1-$round \2 \3/p"
		rmmod tvunmapped
	else
		tv_fail ept-unmapped-module-$round "insmod tvunmapped.ko failed"
	fi
done
tv_dmesg_lines=$mark
lines=$(tv_dmesg_new | grep -c 'is in no known range: mapped')
tv_dmesg_new | grep 'is in no known range: mapped'
if [ "$lines" = 1 ]; then
	tv_pass ept-unmapped-logged-once "one on-demand mapping logged for 2 loads on every CPU"
else
	tv_fail ept-unmapped-logged-once "$lines on-demand lines, want 1"
fi
tv_check ept-unmapped-ping tvctl ping
tv_check ept-unmapped-signature tvcpuid sig present
tvctl status | head -3
if rmmod thinvisor && tvcpuid sig absent >/dev/null; then
	tv_pass ept-unmapped-unload "every CPU given back"
else
	tv_fail ept-unmapped-unload "rmmod or signature check failed"
fi
tv_check_dmesg ept-unmapped-dmesg-clean
