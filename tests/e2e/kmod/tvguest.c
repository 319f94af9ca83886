// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * tvguest: kernel-mode checks of what thinvisor shows the kernel it runs
 * under.  Load it while thinvisor is loaded; it prints one line per check,
 * "tvguest: <name> PASS|FAIL <detail>", and loads successfully either way
 * (the test script reads the lines and unloads it).
 *
 * Each faulting instruction carries an exception-table entry, so an
 * injected #GP or #UD returns here instead of oopsing.
 */
#include <linux/module.h>
#include <linux/init.h>
#include <asm/asm.h>
#include <asm/processor.h>
#include <asm/fpu/api.h>
#include <asm/fpu/xcr.h>
#include <asm/special_insns.h>
#include <asm/msr.h>
#include "thinvisor/hypercall.h"

#define TV_HC_MAGIC 0x7476000000000000ULL

static void report(const char *name, bool ok, const char *detail)
{
	pr_info("tvguest: %s %s %s\n", name, ok ? "PASS" : "FAIL", detail);
}

/* 0 when XSETBV completed, -EFAULT when it faulted. */
static int try_xsetbv(u32 xcr, u64 val)
{
	asm goto("1: xsetbv\n\t"
			  _ASM_EXTABLE(1b, %l[fault])
			  : : "c"(xcr), "a"((u32)val), "d"((u32)(val >> 32))
			  : "memory" : fault);
	return 0;
fault:
	return -EFAULT;
}

static int try_vmxoff(void)
{
	asm goto("1: vmxoff\n\t"
			  _ASM_EXTABLE(1b, %l[fault])
			  : : : "cc", "memory" : fault);
	return 0;
fault:
	return -EFAULT;
}

static int try_write_cr4(unsigned long val)
{
	asm goto("1: mov %0, %%cr4\n\t"
			  _ASM_EXTABLE(1b, %l[fault])
			  : : "r"(val) : "memory" : fault);
	return 0;
fault:
	return -EFAULT;
}

static int try_vmcall(u64 nr, u64 *ret)
{
	asm goto("1: vmcall\n\t"
			  "mov %%rax, (%1)\n\t"
			  _ASM_EXTABLE(1b, %l[fault])
			  : : "a"(nr), "r"(ret) : "rdx", "r8", "memory", "cc"
			  : fault);
	return 0;
fault:
	return -EFAULT;
}

/* CPUID.1:ECX.OSXSAVE: the OS turned XSAVE on, so XGETBV/XSETBV exist. */
#define TV_CPUID1_ECX_OSXSAVE BIT(27)

static void check_xsetbv(void)
{
	unsigned long flags;
	u64 xcr0;
	int same, bad_x87, bad_xcr, bad_bit, bad_avx;

	/*
	 * Without XSAVE (Lynnfield, Arrandale, or a kernel that turned it
	 * off) XGETBV raises #UD: skip rather than oops.  Both checks still
	 * print their line, so the script sees the same number of results.
	 */
	if (!(cpuid_ecx(1) & TV_CPUID1_ECX_OSXSAVE)) {
		report("xsetbv-valid", true, "skipped: XSAVE is not enabled");
		report("xsetbv-invalid-gp", true, "skipped: XSAVE is not enabled");
		return;
	}
	xcr0 = xgetbv(0);
	local_irq_save(flags);
	kernel_fpu_begin();
	same = try_xsetbv(0, xcr0);
	bad_x87 = try_xsetbv(0, xcr0 & ~1ULL);		/* x87 must stay on */
	bad_xcr = try_xsetbv(1, xcr0);			/* only XCR0 exists */
	bad_bit = try_xsetbv(0, xcr0 | (1ULL << 62));	/* unsupported bit */
	bad_avx = try_xsetbv(0, (xcr0 | 4) & ~2ULL);	/* AVX without SSE */
	kernel_fpu_end();
	local_irq_restore(flags);
	report("xsetbv-valid", same == 0 && xgetbv(0) == xcr0,
	       "rewriting XCR0 works");
	report("xsetbv-invalid-gp",
	       bad_x87 && bad_xcr && bad_bit && bad_avx && xgetbv(0) == xcr0,
	       "x87 off, XCR1, reserved bit, AVX without SSE: all #GP");
}

static void check_vmx_hidden(void)
{
	unsigned long flags, cr4;
	int set;

	report("vmxoff-ud", try_vmxoff() == -EFAULT, "VMXOFF raises #UD");
	local_irq_save(flags);
	cr4 = native_read_cr4();
	set = try_write_cr4(cr4 | X86_CR4_VMXE);
	local_irq_restore(flags);
	report("cr4-vmxe-hidden", !(cr4 & X86_CR4_VMXE), "CR4.VMXE reads 0");
	report("cr4-vmxe-gp", set == -EFAULT && !(native_read_cr4() & X86_CR4_VMXE),
	       "setting CR4.VMXE raises #GP");
}

static void check_hypercalls(void)
{
	u64 ret = 0;
	int unknown, ping;

	unknown = try_vmcall(TV_HC_MAGIC | 0xfff, &ret);
	report("vmcall-unknown-ud", unknown == -EFAULT,
	       "unknown hypercall raises #UD");
	ping = try_vmcall(TV_HC_MAGIC | 1, &ret);
	report("vmcall-ping", ping == 0 && ret == 0x706f6e67ULL,
	       "kernel-mode ping answers pong");
}

/*
 * INVD exits to thinvisor, which writes caches back instead of dropping
 * them: data written just before must still be there after.
 */
static void check_invd(void)
{
	static volatile u64 canary;
	unsigned long flags;

	local_irq_save(flags);
	canary = 0x7476696e7664ULL;
	asm volatile("invd" : : : "memory");
	local_irq_restore(flags);
	report("invd-keeps-data", canary == 0x7476696e7664ULL,
	       "INVD completed and kept the data just written");
}

/* CPUID.7.0:ECX: PKU (the CPU has protection keys), OSPKE (CR4.PKE). */
#define TV_CPUID7_ECX_PKU BIT(3)
#define TV_CPUID7_ECX_OSPKE BIT(4)

/*
 * OSXSAVE (leaf 1) and OSPKE (leaf 7.0) are the guest's CR4 bits, not
 * those of the CR4 thinvisor was loaded with (the CPU answers CPUID in
 * VMX root from the latter): flip each CR4 bit for one CPUID with
 * interrupts off, where nothing uses XSAVE or touches user pages.
 */
static bool cpuid_follows_cr4(unsigned long bit, u32 leaf, u32 flag)
{
	unsigned long flags, cr4;
	u32 a, b, d, flipped, back;

	local_irq_save(flags);
	cr4 = native_read_cr4();
	asm volatile("mov %0, %%cr4" : : "r"(cr4 ^ bit) : "memory");
	cpuid_count(leaf, 0, &a, &b, &flipped, &d);
	asm volatile("mov %0, %%cr4" : : "r"(cr4) : "memory");
	cpuid_count(leaf, 0, &a, &b, &back, &d);
	local_irq_restore(flags);
	return !(flipped & flag) == !(~cr4 & bit) && !(back & flag) == !(cr4 & bit);
}

static void check_cpuid_cr4(void)
{
	if (!(cpuid_ecx(1) & BIT(26)))	/* XSAVE: CR4.OSXSAVE can be set */
		report("cpuid-osxsave-cr4", true, "skipped: no XSAVE");
	else
		report("cpuid-osxsave-cr4",
		       cpuid_follows_cr4(X86_CR4_OSXSAVE, 1, TV_CPUID1_ECX_OSXSAVE),
		       "leaf 1 OSXSAVE follows CR4.OSXSAVE both ways");
	if (cpuid_eax(0) < 7 || !(cpuid_ecx(7) & TV_CPUID7_ECX_PKU))
		report("cpuid-ospke-cr4", true, "skipped: no PKU");
	else
		report("cpuid-ospke-cr4",
		       cpuid_follows_cr4(X86_CR4_PKE, 7, TV_CPUID7_ECX_OSPKE),
		       "leaf 7.0 OSPKE follows CR4.PKE both ways");
}

/* The fewest TSC ticks (one per instruction in Bochs) CPUID @leaf takes. */
static u64 cpuid_ticks(u32 leaf)
{
	u64 best = ~0ULL, t;
	u32 a, b, c, d;
	int i;

	for (i = 0; i < 64; i++) {
		t = rdtsc_ordered();
		cpuid_count(leaf, 0, &a, &b, &c, &d);
		t = rdtsc_ordered() - t;
		if (t < best)
			best = t;
	}
	return best;
}

/*
 * Every CPUID leaf is answered by the exit stub's assembly fast path
 * (arch/x86/vmx_stub.S), shaped ones included: none costs much more than
 * leaf 0, which the fast path has always answered.  The general C path
 * costs about 100 ticks more (bench/: cpuid-leaf1); the margin allows
 * the shaping's dozen instructions.
 */
#define TV_FAST_PATH_MARGIN 40

static void check_cpuid_fast_path(void)
{
	static const u32 leaves[] = {
		1, 7, TV_CPUID_LEAF_SIGNATURE, TV_CPUID_LEAF_INTERFACE,
		0x400000ff,
	};
	char detail[160];
	unsigned long flags;
	u64 base, t[ARRAY_SIZE(leaves)];
	bool ok = true;
	int i, n;

	local_irq_save(flags);
	base = cpuid_ticks(0);
	for (i = 0; i < ARRAY_SIZE(leaves); i++)
		t[i] = cpuid_ticks(leaves[i]);
	local_irq_restore(flags);
	n = scnprintf(detail, sizeof(detail), "ticks: leaf 0 %llu", base);
	for (i = 0; i < ARRAY_SIZE(leaves); i++) {
		n += scnprintf(detail + n, sizeof(detail) - n, ", %x %llu",
			       leaves[i], t[i]);
		ok &= t[i] <= base + TV_FAST_PATH_MARGIN;
	}
	report("cpuid-fast-path", ok, detail);
}

static int __init tvguest_init(void)
{
	check_invd();
	check_xsetbv();
	check_vmx_hidden();
	check_hypercalls();
	check_cpuid_cr4();
	check_cpuid_fast_path();
	return 0;
}

static void __exit tvguest_exit(void)
{
}

module_init(tvguest_init);
module_exit(tvguest_exit);
MODULE_LICENSE("Dual MIT/GPL");
MODULE_DESCRIPTION("thinvisor e2e: kernel-mode checks under the VMM");
