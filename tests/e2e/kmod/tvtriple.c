// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * tvtriple: triple-fault the CPU it is loaded on, the way Linux's
 * reboot=triple does (an empty IDT, then int3), when loaded with go=1.
 * Loaded without it, it only loads (so the module build is checked on
 * every run).  For tests/e2e/triple.sh.
 */
#include <linux/module.h>
#include <linux/init.h>
#include <linux/irqflags.h>
#include <asm/desc.h>

static bool go;
module_param(go, bool, 0444);
MODULE_PARM_DESC(go, "triple-fault this CPU at load");

static int __init tvtriple_init(void)
{
	struct desc_ptr no_idt = { 0, 0 };

	if (!go)
		return 0;
	pr_emerg("tvtriple: triple-faulting CPU %d\n", raw_smp_processor_id());
	local_irq_disable();
	native_load_idt(&no_idt);
	asm volatile("int3");
	pr_emerg("tvtriple: still running after the triple fault\n");
	return -EIO;
}

static void __exit tvtriple_exit(void)
{
}

module_init(tvtriple_init);
module_exit(tvtriple_exit);
MODULE_LICENSE("Dual MIT/GPL");
MODULE_DESCRIPTION("thinvisor e2e: triple-fault the CPU at load");
