// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * tvbench (module): kernel-side round trips, interrupts off, TSC-timed:
 * CPUID (always exits under thinvisor) and RDMSR of IA32_TSC (exits only
 * when thinvisor is loaded with test_intercept_msr=0x10).  Prints
 * "tvbench: BENCH <name> <ticks> <iterations>" and stays loaded until
 * rmmod.
 */
#include <linux/module.h>
#include <linux/init.h>
#include <linux/irqflags.h>
#include <asm/msr.h>

static int iters = 1000;
module_param(iters, int, 0444);

static inline u64 tsc(void)
{
	return rdtsc_ordered();
}

static int __init tvbench_init(void)
{
	unsigned int a, b, c, d;
	unsigned long flags;
	u64 t, lo;
	int i;

	local_irq_save(flags);
	t = tsc();
	for (i = 0; i < iters; i++)
		asm volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d)
			     : "a"(0), "c"(0));
	t = tsc() - t;
	local_irq_restore(flags);
	pr_info("tvbench: BENCH cpuid-roundtrip %llu %d\n", t, iters);

	local_irq_save(flags);
	t = tsc();
	for (i = 0; i < iters; i++)
		rdmsrl(MSR_IA32_TSC, lo);
	t = tsc() - t;
	local_irq_restore(flags);
	pr_info("tvbench: BENCH rdmsr-roundtrip %llu %d\n", t, iters);
	return 0;
}

static void __exit tvbench_exit(void)
{
}

module_init(tvbench_init);
module_exit(tvbench_exit);
MODULE_LICENSE("Dual MIT/GPL");
MODULE_DESCRIPTION("thinvisor benchmark: kernel-mode exit round trips");
