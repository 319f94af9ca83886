// SPDX-License-Identifier: MIT
/*
 * Pure decisions of the Windows host (see route.h): no NT header, so the
 * same object logic is unit-tested natively and linked into thinvisor.sys.
 */
#include <errno.h>
#include "route.h"

enum tv_win_action tv_win_power_event(struct tv_win_pm *pm,
				      const struct tv_win_ops *ops,
				      u64 arg1, u64 arg2)
{
	int ret;

	/* Only the system power state lock tells S0 exit and entry. */
	if (arg1 != TV_WIN_PO_CB_SYSTEM_STATE_LOCK)
		return TV_WIN_ACT_NONE;
	if (pm->state != TV_WIN_LOADED) {
		ops->log(TV_LOG_INFO,
			 "thinvisor: power: %s S0 with nothing virtualized: ignored\n",
			 arg2 ? "back in" : "leaving");
		return TV_WIN_ACT_IGNORED;
	}
	if (!arg2) {
		/* Firmware and the resume path must never meet VMX root. */
		ops->log(TV_LOG_INFO,
			 "thinvisor: power: leaving S0: giving every processor back\n");
		pm->asleep = true;
		ops->down_all();
		return TV_WIN_ACT_GIVE_BACK;
	}
	pm->asleep = false;
	ret = ops->up_all();
	if (ret)
		ops->log(TV_LOG_ERR,
			 "thinvisor: power: back in S0: processors not taken again: %s\n",
			 tv_err_name(ret));
	else
		ops->log(TV_LOG_INFO,
			 "thinvisor: power: back in S0: every processor taken again\n");
	return TV_WIN_ACT_TAKE_AGAIN;
}

enum tv_win_action tv_win_cpu_event(struct tv_win_pm *pm,
				    const struct tv_win_ops *ops,
				    u32 state, u32 cpu, s32 status)
{
	int ret;

	/* Start: not yet running; failure: never ran.  Only complete counts. */
	if (state != TV_WIN_CPU_ADD_COMPLETE || status < 0)
		return TV_WIN_ACT_NONE;
	if (pm->state != TV_WIN_LOADED || pm->asleep) {
		ops->log(TV_LOG_INFO,
			 "thinvisor: processor %u added while nothing is virtualized: ignored\n",
			 cpu);
		return TV_WIN_ACT_IGNORED;
	}
	ret = ops->cpu_up(cpu);
	if (ret)
		ops->log(TV_LOG_ERR,
			 "thinvisor: processor %u added but not virtualized: %s\n",
			 cpu, tv_err_name(ret));
	else
		ops->log(TV_LOG_INFO,
			 "thinvisor: processor %u added and virtualized\n", cpu);
	return TV_WIN_ACT_CPU_UP;
}

u32 tv_win_ntstatus(int err)
{
	if (err < 0)
		err = -err;
	switch (err) {
	case TV_OK:
		return 0x00000000;	/* STATUS_SUCCESS */
	case TV_ERR_NOT_INTEL:
		return 0xC00000BB;	/* STATUS_NOT_SUPPORTED */
	case TV_ERR_NO_VMX:
	case TV_ERR_VMX_CAPS:
	case TV_ERR_EPT_CAPS:
		return 0xC035001E;	/* STATUS_HV_FEATURE_UNAVAILABLE */
	case TV_ERR_ALREADY_RUNNING:
		return 0xC0000035;	/* STATUS_OBJECT_NAME_COLLISION */
	case TV_ERR_VMX_BUSY:
	case TV_ERR_BUSY:
		return 0xC0000708;	/* STATUS_RESOURCE_IN_USE */
	case TV_ERR_VMX_DISABLED:
		return 0xC0000182;	/* STATUS_DEVICE_CONFIGURATION_ERROR */
	case TV_ERR_NO_MEMORY:
		return 0xC000009A;	/* STATUS_INSUFFICIENT_RESOURCES */
	case TV_ERR_FAULT_INJECTED:
		return 0xC0000120;	/* STATUS_CANCELLED */
	case TV_ERR_INVALID:
		return 0xC000000D;	/* STATUS_INVALID_PARAMETER */
	default:
		return 0xC0000001;	/* STATUS_UNSUCCESSFUL */
	}
}

int tv_win_errno(int err)
{
	switch (err) {
	case TV_OK:
		return 0;
	case TV_ERR_NO_MEMORY:
		return -ENOMEM;
	case TV_ERR_INVALID:
		return -EINVAL;
	case TV_ERR_BUSY:
		return -EBUSY;
	case TV_ERR_EXISTS:
		return -EEXIST;
	case TV_ERR_NO_SPACE:
		return -ENOSPC;
	case TV_ERR_UNSUPPORTED:
		return -EOPNOTSUPP;
	case TV_ERR_FAULT_INJECTED:
		return -ECANCELED;
	default:
		return -EIO;
	}
}

u32 tv_win_ext_ntstatus(int ret)
{
	switch (ret) {
	case -ENOMEM:
		return 0xC000009A;	/* STATUS_INSUFFICIENT_RESOURCES */
	case -EINVAL:
		return 0xC000000D;	/* STATUS_INVALID_PARAMETER */
	case -EBUSY:
	case -ENOSPC:
	case -EEXIST:
		return 0xC0000708;	/* STATUS_RESOURCE_IN_USE */
	case -EOPNOTSUPP:
		return 0xC00000BB;	/* STATUS_NOT_SUPPORTED */
	case -ECANCELED:
		return 0xC0000120;	/* STATUS_CANCELLED */
	default:
		return 0xC0000001;	/* STATUS_UNSUCCESSFUL */
	}
}

unsigned int tv_win_ext_count(const struct tv_ext_builtin *begin,
			      const struct tv_ext_builtin *end)
{
	const struct tv_ext_builtin *b;
	unsigned int n = 0;

	for (b = begin; b < end; b++)
		if (b->ext)
			n++;
	return n;
}

int tv_win_ext_start_table(const struct tv_ext_builtin *begin,
			   const struct tv_ext_builtin *end,
			   const struct tv_win_ext_ops *ops,
			   const struct tv_ext_builtin **failed)
{
	const struct tv_ext_builtin *b, *u;
	int ret;

	*failed = NULL;
	for (b = begin; b < end; b++) {
		if (!b->ext)
			continue;
		ret = ops->reg(b->ext);
		if (!ret)
			continue;
		ops->log(TV_LOG_ERR,
			 "thinvisor: step 8: built-in extension %s not registered (%d): unregistering the ones before it\n",
			 b->ext->name ? b->ext->name : "(unnamed)", ret);
		*failed = b;
		/* A tool linked into the driver is not left half-loaded. */
		for (u = b; u > begin;)
			if ((--u)->ext)
				ops->unreg(u->ext);
		return ret;
	}
	return 0;
}

void tv_win_ext_stop_table(const struct tv_ext_builtin *begin,
			   const struct tv_ext_builtin *end,
			   const struct tv_win_ext_ops *ops)
{
	const struct tv_ext_builtin *u;

	for (u = end; u > begin;)
		if ((--u)->ext)
			ops->unreg(u->ext);
}
