// SPDX-License-Identifier: MIT
/*
 * portable: one extension source for both hosts.  It includes nothing but
 * thinvisor/extension.h, so the same file is linked into thinvisor.sys
 * (make windows TV_WIN_EXTENSIONS=extensions/portable/portable.c) and
 * built into a Linux module with module.c, the only Linux-specific part.
 *
 * It answers CPUID leaf 0x400000f0, which thinvisor alone leaves zero,
 * with "portable ext" in EBX:ECX:EDX and in EAX how many times that leaf
 * was asked, and owns a hypercall that user mode may make: it returns
 * "portabl" in RAX and the same count in RDX.
 */
#include "thinvisor/extension.h"

#define PORTABLE_LEAF 0x400000f0u
#define PORTABLE_HYPERCALL (TV_HC_EXT_FIRST + 0x101)
#define PORTABLE_RAX 0x6c626174726f70ULL	/* "portabl" */

static unsigned long long asked;

/*
 * VMX root: no OS call, no lock, no SIMD.  The compiler's atomic builtin
 * is one locked instruction on both hosts (no library call); TV_EXT_ROOT
 * makes the function noinstr on Linux.
 */
static TV_EXT_ROOT enum tv_ext_reply portable_event(struct tv_ext *ext,
						    struct tv_ext_event *ev)
{
	unsigned long long n;

	switch (ev->type) {
	case TV_EV_CPUID:
		n = __atomic_add_fetch(&asked, 1, __ATOMIC_RELAXED);
		ev->cpuid.eax = (unsigned int)n;
		ev->cpuid.ebx = 0x74726f70;	/* "port" */
		ev->cpuid.ecx = 0x656c6261;	/* "able" */
		ev->cpuid.edx = 0x74786520;	/* " ext" */
		return TV_EXT_CONTINUE;
	case TV_EV_VMCALL:
		ev->regs->rax = PORTABLE_RAX;
		ev->regs->rdx = __atomic_load_n(&asked, __ATOMIC_RELAXED);
		return TV_EXT_HANDLED;
	default:
		return TV_EXT_CONTINUE;
	}
}

/* Sleepable, right after registration: ask for the events. */
static int portable_init(struct tv_ext *ext)
{
	int ret = tv_ext_want_cpuid(ext, PORTABLE_LEAF, 1);

	if (!ret)
		ret = tv_ext_want_vmcall(ext, PORTABLE_HYPERCALL, 3);
	/* A failed init is unregistered, which drops what it asked for. */
	return ret;
}

struct tv_ext portable_ext = {
	.name = "portable",
	.api_version = TV_EXT_API_VERSION,
	.init = portable_init,
	.event = portable_event,
};

/* Windows: link it into the driver.  Linux: nothing (module.c does it). */
TV_EXT_BUILTIN(portable_ext);
