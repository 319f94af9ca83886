// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * tvbench (module): kernel-side loops with interrupts off, TSC-timed, so
 * that no timer tick or scheduler lands in them:
 *   cpuid-leaf0   CPUID leaf 0: the exit stub's assembly fast path;
 *   cpuid-leaf1   CPUID leaf 1: shaped (hypervisor bit, OSXSAVE), so the
 *                 general C path;
 *   rdmsr-tsc     RDMSR of IA32_TSC, which exits only when thinvisor is
 *                 loaded with test_intercept_msr=0x10: the C fast path;
 *   no-exit       arithmetic and memory that never exit: the floor.
 * Each loop runs @rounds times; every round prints
 * "tvbench: BENCH <name> <ticks> <iterations>" (bench.sh takes the median
 * and the spread).  Stays loaded until rmmod.
 */
#include <linux/module.h>
#include <linux/init.h>
#include <linux/irqflags.h>
#include <asm/msr.h>

static int iters = 1000;
module_param(iters, int, 0444);
static int rounds = 5;
module_param(rounds, int, 0444);

static unsigned long buf[512];

static inline u64 tsc(void)
{
	return rdtsc_ordered();
}

static u64 loop_cpuid(unsigned int leaf)
{
	unsigned int a, b, c, d;
	u64 t = tsc();
	int i;

	for (i = 0; i < iters; i++)
		asm volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d)
			     : "a"(leaf), "c"(0));
	return tsc() - t;
}

static u64 loop_rdmsr(void)
{
	u64 t = tsc(), lo;
	int i;

	for (i = 0; i < iters; i++)
		rdmsrl(MSR_IA32_TSC, lo);
	return tsc() - t;
}

static u64 loop_no_exit(void)
{
	u64 t = tsc();
	int i;

	for (i = 0; i < iters; i++)
		WRITE_ONCE(buf[i % 512], READ_ONCE(buf[(i * 7) % 512]) + i);
	return tsc() - t;
}

static void report(const char *name, u64 ticks)
{
	pr_info("tvbench: BENCH %s %llu %d\n", name, ticks, iters);
}

static int __init tvbench_init(void)
{
	unsigned long flags;
	u64 t[4];
	int r;

	for (r = 0; r < rounds; r++) {
		local_irq_save(flags);
		t[0] = loop_cpuid(0);
		t[1] = loop_cpuid(1);
		t[2] = loop_rdmsr();
		t[3] = loop_no_exit();
		local_irq_restore(flags);
		report("cpuid-leaf0", t[0]);
		report("cpuid-leaf1", t[1]);
		report("rdmsr-tsc", t[2]);
		report("no-exit", t[3]);
	}
	return 0;
}

static void __exit tvbench_exit(void)
{
}

module_init(tvbench_init);
module_exit(tvbench_exit);
MODULE_LICENSE("Dual MIT/GPL");
MODULE_DESCRIPTION("thinvisor benchmark: kernel-mode loops, interrupts off");
