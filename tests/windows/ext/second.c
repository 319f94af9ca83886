// SPDX-License-Identifier: MIT
/*
 * A second built-in extension for the Windows e2e image (74-windows-ext),
 * linked after extensions/portable: two extensions from two objects in one
 * table, registered in link order, and the one FailStep 27 fails (the
 * last), so that the first must be unregistered again.  It answers CPUID
 * leaf 0x400000d0 with "second ext.." and 2 in EAX.
 */
#include "thinvisor/extension.h"

#define SECOND_LEAF 0x400000d0u

static TV_EXT_ROOT enum tv_ext_reply second_event(struct tv_ext *ext,
						  struct tv_ext_event *ev)
{
	if (ev->type != TV_EV_CPUID)
		return TV_EXT_CONTINUE;
	ev->cpuid.eax = 2;
	ev->cpuid.ebx = 0x6f636573;	/* "seco" */
	ev->cpuid.ecx = 0x6520646e;	/* "nd e" */
	ev->cpuid.edx = 0x2e2e7478;	/* "xt.." */
	return TV_EXT_CONTINUE;
}

static int second_init(struct tv_ext *ext)
{
	return tv_ext_want_cpuid(ext, SECOND_LEAF, 1);
}

static struct tv_ext second = {
	.name = "second",
	.api_version = TV_EXT_API_VERSION,
	.init = second_init,
	.event = second_event,
};

TV_EXT_BUILTIN(second);
