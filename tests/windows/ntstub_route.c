// SPDX-License-Identifier: MIT
/*
 * Unit tests of platform/windows/route.c, compiled natively: the power and
 * processor-change decisions in every driver state, with the core's entry
 * points replaced by counters, and the NTSTATUS of every core error.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "core/types.h"
#include "route.h"
#include "ntstub.h"

static int downs, ups, cpu_ups, last_cpu, up_ret, logs;
static char last_log[256];

static void t_down_all(void)
{
	downs++;
}

static int t_up_all(void)
{
	ups++;
	return up_ret;
}

static int t_cpu_up(unsigned int cpu)
{
	cpu_ups++;
	last_cpu = (int)cpu;
	return up_ret;
}

static void t_log(int level, const char *fmt, ...)
{
	va_list ap;

	logs++;
	va_start(ap, fmt);
	vsnprintf(last_log, sizeof(last_log), fmt, ap);
	va_end(ap);
}

static const struct tv_win_ops ops = {
	t_down_all, t_up_all, t_cpu_up, t_log,
};

static void reset(void)
{
	downs = ups = cpu_ups = logs = up_ret = 0;
	last_cpu = -1;
	last_log[0] = 0;
}

static int *g_pass, *g_fail;

static void expect(bool ok, const char *what)
{
	if (ok) {
		++*g_pass;
		printf("  ok   route: %s\n", what);
	} else {
		++*g_fail;
		printf("  FAIL route: %s\n", what);
	}
}

uint32_t route_ntstatus(int err)
{
	return tv_win_ntstatus(err);
}

int route_tests(int *passed, int *failed)
{
	struct tv_win_pm pm = { TV_WIN_LOADED, false };
	enum tv_win_action a;
	int i, s;
	bool ok;

	g_pass = passed;
	g_fail = failed;

	reset();
	a = tv_win_power_event(&pm, &ops, 3, 0);
	expect(a == TV_WIN_ACT_GIVE_BACK && downs == 1 && !ups && pm.asleep,
	       "PO_CB_SYSTEM_STATE_LOCK, 0 while loaded gives every CPU back");
	reset();
	a = tv_win_cpu_event(&pm, &ops, TV_WIN_CPU_ADD_COMPLETE, 5, 0);
	expect(a == TV_WIN_ACT_IGNORED && !cpu_ups,
	       "hot-add while asleep is not virtualized");
	reset();
	a = tv_win_power_event(&pm, &ops, 3, 1);
	expect(a == TV_WIN_ACT_TAKE_AGAIN && ups == 1 && !downs && !pm.asleep,
	       "PO_CB_SYSTEM_STATE_LOCK, 1 while loaded takes them again");
	reset();
	up_ret = TV_ERR_VMXON;
	tv_win_power_event(&pm, &ops, 3, 1);
	expect(ups == 1 && strstr(last_log, "VMXON failed"),
	       "a failed take-again is logged with the core's reason");

	reset();
	ok = true;
	for (i = 0; i < 16; i++)
		if (i != 3)
			ok &= tv_win_power_event(&pm, &ops, i, 0) ==
			      TV_WIN_ACT_NONE &&
			      tv_win_power_event(&pm, &ops, i, 1) ==
			      TV_WIN_ACT_NONE;
	expect(ok && !downs && !ups && !logs,
	       "other PowerState notifications (Argument1 != 3) do nothing");

	for (s = TV_WIN_IDLE; s <= TV_WIN_UNLOADING; s++) {
		char what[96];

		if (s == TV_WIN_LOADED)
			continue;
		pm.state = s;
		pm.asleep = false;
		reset();
		ok = tv_win_power_event(&pm, &ops, 3, 0) == TV_WIN_ACT_IGNORED &&
		     tv_win_power_event(&pm, &ops, 3, 1) == TV_WIN_ACT_IGNORED &&
		     tv_win_cpu_event(&pm, &ops, TV_WIN_CPU_ADD_COMPLETE, 2, 0) ==
		     TV_WIN_ACT_IGNORED;
		snprintf(what, sizeof(what),
			 "state %d: notifications never reach the VMM", s);
		expect(ok && !downs && !ups && !cpu_ups && logs == 3, what);
	}

	pm.state = TV_WIN_LOADED;
	pm.asleep = false;
	reset();
	a = tv_win_cpu_event(&pm, &ops, TV_WIN_CPU_ADD_COMPLETE, 7, 0);
	expect(a == TV_WIN_ACT_CPU_UP && cpu_ups == 1 && last_cpu == 7,
	       "KeProcessorAddCompleteNotify virtualizes that processor index");
	reset();
	ok = tv_win_cpu_event(&pm, &ops, TV_WIN_CPU_ADD_START, 7, 0) ==
	     TV_WIN_ACT_NONE &&
	     tv_win_cpu_event(&pm, &ops, TV_WIN_CPU_ADD_FAILURE, 7, 0) ==
	     TV_WIN_ACT_NONE &&
	     tv_win_cpu_event(&pm, &ops, TV_WIN_CPU_ADD_COMPLETE, 7,
			      (s32)0xC0000001) == TV_WIN_ACT_NONE;
	expect(ok && !cpu_ups,
	       "add-start, add-failure and failed completes are left alone");
	reset();
	up_ret = TV_ERR_NO_MEMORY;
	tv_win_cpu_event(&pm, &ops, TV_WIN_CPU_ADD_COMPLETE, 9, 0);
	expect(cpu_ups == 1 && strstr(last_log, "out of memory"),
	       "a hot-added processor that fails is logged");

	ok = tv_win_ntstatus(TV_OK) == 0;
	for (i = 1; i < TV_ERR_COUNT; i++)
		ok &= (tv_win_ntstatus(i) & 0xC0000000u) == 0xC0000000u;
	ok &= tv_win_ntstatus(TV_ERR_NOT_INTEL) == 0xC00000BB &&
	      tv_win_ntstatus(TV_ERR_NO_MEMORY) == 0xC000009A &&
	      tv_win_ntstatus(-TV_ERR_NO_VMX) == 0xC035001E &&
	      tv_win_ntstatus(999) == 0xC0000001;
	expect(ok, "every core error is an NTSTATUS error, TV_OK is success");
	return 0;
}
