// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * hello: the smallest useful thinvisor extension (docs/extending.md).
 *
 * It answers CPUID leaf 0x400000e0, which thinvisor alone leaves zero,
 * with "hello, world" in EBX:ECX:EDX and in EAX how many times that leaf
 * was asked, and owns a hypercall that user mode may make: it returns
 * "hello" in RAX and the same count in RDX.
 */
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/atomic.h>
#include "thinvisor/extension.h"

#define HELLO_LEAF 0x400000e0u
#define HELLO_HYPERCALL (TV_HC_EXT_FIRST + 0x100)
#define HELLO_RAX 0x6f6c6c6568ULL		/* "hello" */

static atomic_long_t asked;

/* Event callbacks run in VMX root: no printk, no locks, no sleeping. */
static noinstr enum tv_ext_reply hello_event(struct tv_ext *ext,
					     struct tv_ext_event *ev)
{
	long n;

	switch (ev->type) {
	case TV_EV_CPUID:
		/* Change the result; the core writes it to the guest. */
		n = arch_atomic_long_inc_return(&asked);
		ev->cpuid.eax = (u32)n;
		ev->cpuid.ebx = 0x6c6c6568;	/* "hell" */
		ev->cpuid.ecx = 0x77202c6f;	/* "o, w" */
		ev->cpuid.edx = 0x646c726f;	/* "orld" */
		return TV_EXT_CONTINUE;
	case TV_EV_VMCALL:
		/* Answer it: the core steps the guest past VMCALL. */
		ev->regs->rax = HELLO_RAX;
		ev->regs->rdx = arch_atomic_long_read(&asked);
		return TV_EXT_HANDLED;
	default:
		return TV_EXT_CONTINUE;
	}
}

static struct tv_ext hello = {
	.name = "hello",
	.api_version = TV_EXT_API_VERSION,
	.owner = THIS_MODULE,
	.event = hello_event,
};

static int __init hello_init(void)
{
	int ret = tv_ext_register(&hello);

	if (ret)
		return ret;
	ret = tv_ext_want_cpuid(&hello, HELLO_LEAF, 1);
	if (!ret)
		ret = tv_ext_want_vmcall(&hello, HELLO_HYPERCALL, 3);
	if (ret) {
		tv_ext_unregister(&hello);
		return ret;
	}
	pr_info("hello: answering CPUID 0x%x and hypercall 0x%llx\n",
		HELLO_LEAF, HELLO_HYPERCALL);
	return 0;
}

static void __exit hello_exit(void)
{
	/* Takes back everything it asked for, on every CPU. */
	tv_ext_unregister(&hello);
	pr_info("hello: CPUID 0x%x was asked %ld times\n", HELLO_LEAF,
		atomic_long_read(&asked));
}

module_init(hello_init);
module_exit(hello_exit);
MODULE_LICENSE("Dual MIT/GPL");
MODULE_DESCRIPTION("thinvisor extension sample: hello, world");
