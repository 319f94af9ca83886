// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * tvbench (module): kernel-side loops with interrupts off, TSC-timed, so
 * that no timer tick or scheduler lands in them:
 *   cpuid-leaf0   CPUID leaf 0: the exit stub's assembly fast path;
 *   cpuid-leaf1   CPUID leaf 1: shaped (hypervisor bit, OSXSAVE), in the
 *                 fast path too;
 *   rdmsr-tsc     RDMSR of IA32_TSC, which exits only when thinvisor is
 *                 loaded with test_intercept_msr=0x10: the C fast path;
 *   no-exit       arithmetic and memory that never exit: the floor.
 * and one loop of @ev_iters per extension event type (the "ev-" rows),
 * each raising the event bench/ext/tvbenchext.c asks for; with no
 * extension only those marked (*) exit:
 *   ev-wrmsr      WRMSR of IA32_SYSENTER_ESP, its own value;
 *   ev-cr4-write  MOV to CR4 flipping TSD (two writes an iteration, and
 *                 the iteration count says so): with the same value no
 *                 CPU exits, whatever the guest/host mask;
 *   ev-cr3-read   MOV from CR3;
 *   ev-cr3-write  MOV to CR3 of its own value (a TLB flush, natively too);
 *   ev-dr-read    MOV from DR0;
 *   ev-io-out     OUT to port 0x80 (the POST port the kernel's I/O delay
 *                 uses);
 *   ev-sgdt       SGDT;
 *   ev-xsetbv     (*) XSETBV of XCR0's own value;
 *   ev-invlpg     INVLPG of a kernel address;
 *   ev-rdtsc      RDTSC;
 *   ev-ud         UD2 with an exception-table fixup: the guest kernel's
 *                 #UD handler runs every time;
 *   ev-vmcall     (*) VMCALL of @vmcall (0: not run; #UD without a VMM);
 *   ev-page-write a byte stored into the page at @page (0: a page of our
 *                 own), which tvbenchext makes read-only and whose
 *                 callback drops the store and resumes after it (RCX).
 * CPUID leaf 1 (*) and RDMSR IA32_TSC (* with the knob) are the loops
 * above.
 * Each loop runs @rounds times; every round prints
 * "tvbench: BENCH <name> <ticks> <iterations>" (bench.sh takes the median
 * and the spread).  Stays loaded until rmmod.
 */
#include <linux/module.h>
#include <linux/init.h>
#include <linux/irqflags.h>
#include <linux/cpufeature.h>
#include <asm/msr.h>
#include <asm/asm.h>
#include <asm/special_insns.h>
#include <asm/fpu/xcr.h>
#include <asm/desc.h>

static int iters = 1000;
module_param(iters, int, 0444);
static int rounds = 5;
module_param(rounds, int, 0444);
static int ev_iters = 500;
module_param(ev_iters, int, 0444);
MODULE_PARM_DESC(ev_iters, "iterations of each ev- loop");
static unsigned long long vmcall;
module_param(vmcall, ullong, 0444);
MODULE_PARM_DESC(vmcall, "hypercall number for ev-vmcall (0: skip it)");
static unsigned long page;
module_param(page, ulong, 0444);
MODULE_PARM_DESC(page, "kernel address ev-page-write stores into (0: ours)");

static unsigned long buf[512];
static u8 own_page[PAGE_SIZE] __aligned(PAGE_SIZE);

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

static u64 loop_wrmsr(void)
{
	u64 t, v;
	int i;

	rdmsrl(MSR_IA32_SYSENTER_ESP, v);
	t = tsc();
	for (i = 0; i < ev_iters; i++)
		wrmsrl(MSR_IA32_SYSENTER_ESP, v);
	return tsc() - t;
}

/* Two writes an iteration: TSD flipped and back (CPL 0 does not care). */
static u64 loop_cr4_write(void)
{
	unsigned long cr4 = __read_cr4();
	u64 t = tsc();
	int i;

	for (i = 0; i < ev_iters; i++) {
		asm volatile("mov %0, %%cr4" : : "r"(cr4 ^ X86_CR4_TSD) : "memory");
		asm volatile("mov %0, %%cr4" : : "r"(cr4) : "memory");
	}
	return tsc() - t;
}

static u64 loop_cr3_read(void)
{
	u64 t = tsc();
	unsigned long v;
	int i;

	for (i = 0; i < ev_iters; i++)
		asm volatile("mov %%cr3, %0" : "=r"(v));
	return tsc() - t;
}

static u64 loop_cr3_write(void)
{
	unsigned long cr3 = __native_read_cr3();
	u64 t = tsc();
	int i;

	for (i = 0; i < ev_iters; i++)
		native_write_cr3(cr3);
	return tsc() - t;
}

static u64 loop_dr_read(void)
{
	u64 t = tsc();
	unsigned long v;
	int i;

	for (i = 0; i < ev_iters; i++)
		asm volatile("mov %%dr0, %0" : "=r"(v));
	return tsc() - t;
}

static u64 loop_io_out(void)
{
	u64 t = tsc();
	int i;

	for (i = 0; i < ev_iters; i++)
		asm volatile("outb %b0, $0x80" : : "a"(0));
	return tsc() - t;
}

static u64 loop_sgdt(void)
{
	struct desc_ptr gdt;
	u64 t = tsc();
	int i;

	for (i = 0; i < ev_iters; i++)
		asm volatile("sgdt %0" : "=m"(gdt));
	return tsc() - t;
}

static u64 loop_xsetbv(void)
{
	u64 xcr0 = xgetbv(XCR_XFEATURE_ENABLED_MASK), t = tsc();
	int i;

	for (i = 0; i < ev_iters; i++)
		xsetbv(XCR_XFEATURE_ENABLED_MASK, xcr0);
	return tsc() - t;
}

static u64 loop_invlpg(void)
{
	u64 t = tsc();
	int i;

	for (i = 0; i < ev_iters; i++)
		asm volatile("invlpg (%0)" : : "r"(own_page) : "memory");
	return tsc() - t;
}

static u64 loop_rdtsc(void)
{
	unsigned int lo, hi;
	u64 t = tsc();
	int i;

	for (i = 0; i < ev_iters; i++)
		asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return tsc() - t;
}

/* UD2 as bytes: objtool would take the mnemonic for a dead end. */
static u64 loop_ud(void)
{
	u64 t = tsc();
	int i;

	for (i = 0; i < ev_iters; i++)
		asm volatile("1: .byte 0x0f, 0x0b\n2:\n"
			     _ASM_EXTABLE(1b, 2b) : : : "memory");
	return tsc() - t;
}

static u64 loop_vmcall(void)
{
	u64 t = tsc(), rax, rdx;
	int i;

	for (i = 0; i < ev_iters; i++) {
		rax = vmcall;
		asm volatile("vmcall" : "+a"(rax), "=d"(rdx) : : "memory");
	}
	return tsc() - t;
}

/* RCX: where tvbenchext's callback resumes when it drops the store. */
static u64 loop_page_write(void)
{
	u8 *p = page ? (u8 *)page : own_page;
	u64 t = tsc();
	int i;

	for (i = 0; i < ev_iters; i++)
		asm volatile("lea 2f(%%rip), %%rcx\n"
			     "movb $1, (%0)\n2:\n"
			     : : "r"(p) : "rcx", "memory");
	return tsc() - t;
}

static void report_n(const char *name, u64 ticks, int n)
{
	pr_info("tvbench: BENCH %s %llu %d\n", name, ticks, n);
}

static void report(const char *name, u64 ticks)
{
	report_n(name, ticks, iters);
}

/* The extension event loops, one round, interrupts off. */
static void event_round(void)
{
	static const struct {
		const char *name;
		u64 (*loop)(void);
	} loops[] = {
		{ "ev-wrmsr", loop_wrmsr },
		{ "ev-cr4-write", loop_cr4_write },
		{ "ev-cr3-read", loop_cr3_read },
		{ "ev-cr3-write", loop_cr3_write },
		{ "ev-dr-read", loop_dr_read },
		{ "ev-io-out", loop_io_out },
		{ "ev-sgdt", loop_sgdt },
		{ "ev-xsetbv", loop_xsetbv },
		{ "ev-invlpg", loop_invlpg },
		{ "ev-rdtsc", loop_rdtsc },
		{ "ev-ud", loop_ud },
		{ "ev-vmcall", loop_vmcall },
		{ "ev-page-write", loop_page_write },
	};
	u64 t[ARRAY_SIZE(loops)];
	unsigned long flags;
	unsigned int i;

	local_irq_save(flags);
	for (i = 0; i < ARRAY_SIZE(loops); i++) {
		t[i] = 0;
		if (loops[i].loop == loop_xsetbv &&
		    !boot_cpu_has(X86_FEATURE_OSXSAVE))
			continue;
		if (loops[i].loop == loop_vmcall && !vmcall)
			continue;
		t[i] = loops[i].loop();
	}
	local_irq_restore(flags);
	for (i = 0; i < ARRAY_SIZE(loops); i++) {
		if (!t[i])
			continue;
		if (loops[i].loop == loop_cr4_write)
			report_n(loops[i].name, t[i], 2 * ev_iters);
		else
			report_n(loops[i].name, t[i], ev_iters);
	}
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
		event_round();
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
