/* SPDX-License-Identifier: MIT */
/*
 * The Windows host's decisions, kept free of NT headers so that the host
 * unit test (tests/windows/test_route.c) runs them natively: which NTSTATUS
 * a core error becomes, and what a power or processor-change notification
 * must do to the VMM in which driver state.  platform/windows/driver.c
 * passes the NT arguments in and the core's entry points as @ops.
 */
#ifndef TV_WIN_ROUTE_H
#define TV_WIN_ROUTE_H

#include "core/types.h"
#include "thinvisor/extension.h"

/* Host-specific FailStep values (registry), after the core's enum tv_fault. */
enum tv_win_fault {
	TV_WIN_FAULT_POOL = 20,		/* step 1: NX pool selection */
	TV_WIN_FAULT_OS = 21,		/* step 2: pretend the OS is too old */
	TV_WIN_FAULT_LOG = 22,		/* step 3: log file and thread */
	TV_WIN_FAULT_MEMRANGES = 23,	/* step 4: physical memory ranges */
	TV_WIN_FAULT_POWER_CB = 24,	/* step 5: \Callback\PowerState */
	TV_WIN_FAULT_CPU_CB = 25,	/* step 6: processor-change callback */
	TV_WIN_FAULT_VIRTUALIZE = 26,	/* step 7: before tv_vmm_init() */
	/* step 8: the last built-in extension's registration (its init) */
	TV_WIN_FAULT_EXT = 27,
	TV_WIN_FAULT_LAST = TV_WIN_FAULT_EXT,
};

/* Where the driver is; callbacks only touch the VMM in TV_WIN_LOADED. */
enum tv_win_state {
	TV_WIN_IDLE = 0,	/* before DriverEntry's step 5 or after unload */
	TV_WIN_LOADING,		/* callbacks registered, step 7 not done */
	TV_WIN_LOADED,		/* DriverEntry succeeded */
	TV_WIN_UNLOADING,	/* DriverUnload has started */
};

/* What a notification did (returned for the log and the unit test). */
enum tv_win_action {
	TV_WIN_ACT_NONE = 0,		/* not ours to act on */
	TV_WIN_ACT_IGNORED,		/* ours, but nothing virtualized */
	TV_WIN_ACT_GIVE_BACK,		/* tv_vmm_down_all() before sleep */
	TV_WIN_ACT_TAKE_AGAIN,		/* tv_vmm_up_all() back in S0 */
	TV_WIN_ACT_CPU_UP,		/* tv_vmm_cpu_up() of a new CPU */
};

/* The values NT passes (wdm.h), repeated here without the DDK. */
#define TV_WIN_PO_CB_SYSTEM_STATE_LOCK 3
#define TV_WIN_CPU_ADD_START 0		/* KeProcessorAddStartNotify */
#define TV_WIN_CPU_ADD_COMPLETE 1	/* KeProcessorAddCompleteNotify */
#define TV_WIN_CPU_ADD_FAILURE 2	/* KeProcessorAddFailureNotify */

struct tv_win_ops {
	void (*down_all)(void);
	int (*up_all)(void);
	int (*cpu_up)(unsigned int cpu);
	void (*log)(int level, const char *fmt, ...)
		__attribute__((format(printf, 2, 3)));
};

struct tv_win_pm {
	enum tv_win_state state;
	bool asleep;		/* gave the CPUs back for S1-S5 */
};

/* \Callback\PowerState(Argument1, Argument2); caller holds the host lock. */
enum tv_win_action tv_win_power_event(struct tv_win_pm *pm,
				      const struct tv_win_ops *ops,
				      u64 arg1, u64 arg2);
/* Processor-change callback (state, NtNumber); caller holds the host lock. */
enum tv_win_action tv_win_cpu_event(struct tv_win_pm *pm,
				    const struct tv_win_ops *ops,
				    u32 state, u32 cpu, s32 status);

/* NTSTATUS (as u32) for a core error; see docs/windows.md. */
u32 tv_win_ntstatus(int err);

/*
 * The extension API's return values on Windows (include/thinvisor/
 * extension.h): the negative errno of the toolchain's <errno.h>, as on
 * Linux, for a core error.
 */
int tv_win_errno(int err);
/* NTSTATUS (as u32) DriverEntry returns when a built-in extension fails. */
u32 tv_win_ext_ntstatus(int ret);

/* How DriverEntry and DriverUnload reach the extension registry. */
struct tv_win_ext_ops {
	int (*reg)(struct tv_ext *ext);
	void (*unreg)(struct tv_ext *ext);
	void (*log)(int level, const char *fmt, ...)
		__attribute__((format(printf, 2, 3)));
};

/*
 * The built-in extensions are the entries of [@begin, @end) whose ext is
 * set (the bracketing entries and any alignment padding are empty).
 * tv_win_ext_start_table() registers them in order; when one fails it
 * unregisters those before it, newest first, and returns its error (0
 * when all are registered), with *@failed pointing at it.
 * tv_win_ext_stop_table() unregisters all of them, newest first.  Both:
 * sleepable, without the host lock (an extension's init and fini may call
 * the API).
 */
int tv_win_ext_start_table(const struct tv_ext_builtin *begin,
			   const struct tv_ext_builtin *end,
			   const struct tv_win_ext_ops *ops,
			   const struct tv_ext_builtin **failed);
void tv_win_ext_stop_table(const struct tv_ext_builtin *begin,
			   const struct tv_ext_builtin *end,
			   const struct tv_win_ext_ops *ops);
/* How many built-in extensions [@begin, @end) holds. */
unsigned int tv_win_ext_count(const struct tv_ext_builtin *begin,
			      const struct tv_ext_builtin *end);

#endif
