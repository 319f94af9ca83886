# SPDX-License-Identifier: MIT
# shellcheck shell=sh
# tvctl as a command-line tool: --version, help CMD, --json on every
# command (valid JSON, checked by tvjson), and the documented exit codes
# (0 done, 1 failed, 2 usage).  Leaves the guest as it found it.
# shellcheck source=tests/e2e/guest/lib.sh
. "$TV_LIB"

# rc_is NAME WANT CMD...: PASS when CMD exits WANT.
rc_is() {
	name=$1
	want=$2
	shift 2
	"$@" >/tmp/rc_is.out 2>&1
	rc=$?
	if [ "$rc" -eq "$want" ]; then
		tv_pass "$name" "'$*' exits $want"
	else
		tv_fail "$name" "'$*' exits $rc, not $want: $(head -3 /tmp/rc_is.out)"
	fi
}

# json_ok NAME CMD...: PASS when CMD prints one valid JSON value and exits 0.
json_ok() {
	name=$1
	shift
	out=$("$@")
	rc=$?
	if [ "$rc" -eq 0 ] && echo "$out" | tvjson; then
		tv_pass "$name" "$(echo "$out" | head -c 150)"
	else
		tv_fail "$name" "exit $rc, not JSON: $(echo "$out" | head -c 300)"
	fi
}

v=$(tvctl --version)
rc=$?
if [ "$rc" -eq 0 ] && echo "$v" | grep -Eq '^tvctl [0-9]+\.[0-9]+'; then
	tv_pass cli-version "$v"
else
	tv_fail cli-version "exit $rc: $v"
fi
rc_is cli-version-short 0 tvctl -V
json_ok cli-version-json tvctl version --json

for c in status ping stats log check version help; do
	out=$(tvctl help "$c")
	rc=$?
	if [ "$rc" -ne 0 ] || ! echo "$out" | head -1 | grep -q "^usage: tvctl $c"; then
		tv_fail cli-help-cmd "tvctl help $c: exit $rc: $(echo "$out" | head -1)"
		break
	fi
	out2=$(tvctl "$c" --help)
	if [ "$out2" != "$out" ]; then
		tv_fail cli-help-cmd "tvctl $c --help differs from tvctl help $c"
		break
	fi
done
[ "$rc" -ne 0 ] || [ "$out2" != "$out" ] || tv_pass cli-help-cmd "help CMD and CMD --help for every command"
rc_is cli-help 0 tvctl --help
rc_is cli-usage-none 2 tvctl
rc_is cli-usage-unknown 2 tvctl frobnicate
rc_is cli-usage-help-unknown 2 tvctl help frobnicate
rc_is cli-usage-extra 2 tvctl status extra
rc_is cli-usage-ping 2 tvctl ping not-a-cpu

# Without the module: the device commands fail with 1, and say so in JSON.
rc_is cli-no-module 1 tvctl status
out=$(tvctl status --json 2>/dev/null)
if echo "$out" | tvjson -k error >/dev/null; then
	tv_pass cli-no-module-json "$out"
else
	tv_fail cli-no-module-json "no JSON error: $out"
fi

tv_check cli-insmod insmod "$TV_MODULE"
tvcpuid sig present >/dev/null
rc_is cli-status 0 tvctl status
json_ok cli-status-json tvctl status --json
out=$(tvctl status --json)
n=$(grep -c '^processor' /proc/cpuinfo)
if [ "$(echo "$out" | tvjson -k virtualized)" = "$n" ] &&
   [ "$(echo "$out" | tvjson -k online)" = "$n" ]; then
	tv_pass cli-status-json-counts "$n of $n virtualized"
else
	tv_fail cli-status-json-counts "$out"
fi
rc_is cli-ping 0 tvctl ping
json_ok cli-ping-json tvctl ping --json
json_ok cli-ping-one-json tvctl ping 0 --json
if [ "$(tvctl ping --json | tvjson -k ok)" = true ]; then
	tv_pass cli-ping-json-ok "every CPU answered"
else
	tv_fail cli-ping-json-ok "$(tvctl ping --json)"
fi
json_ok cli-stats-json tvctl stats --json
json_ok cli-stats-reset-json tvctl --json stats --reset
# Stats name reasons from the core's list: CPUID exits are named CPUID.
tvcpuid sig present >/dev/null
if tvctl stats --json | grep -q '"CPUID": {"count": [1-9]'; then
	tv_pass cli-stats-names "CPUID exits counted under CPUID"
else
	tv_fail cli-stats-names "$(tvctl stats --json | head -c 300)"
fi
# The log as JSON lines: make one (ping at debug level) and read it.
old=$(cat /sys/module/thinvisor/parameters/log_level)
echo 7 >/sys/module/thinvisor/parameters/log_level
tvctl ping 0 >/dev/null
sleep 1
echo "$old" >/sys/module/thinvisor/parameters/log_level
out=$(tvctl log --json)
rc=$?
echo "$out" | head -5
if [ "$rc" -eq 0 ] && echo "$out" | tvjson -l &&
   echo "$out" | grep -q '"level": "debug", "cpu": 0, "text": "CPU 0: ping from the guest"'; then
	tv_pass cli-log-json "JSON lines, the ping line among them"
else
	tv_fail cli-log-json "exit $rc: $(echo "$out" | head -3)"
fi
if [ -r /sys/module/thinvisor/version ]; then
	mv=$(cat /sys/module/thinvisor/version)
	if tvctl --version | grep -qF "thinvisor module $mv (loaded)"; then
		tv_pass cli-version-module "module $mv"
	else
		tv_fail cli-version-module "tvctl --version does not show module $mv"
	fi
fi
tv_check cli-rmmod rmmod thinvisor
[ -z "$tv_failed" ]
