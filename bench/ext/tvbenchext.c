// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * tvbenchext: the benchmark's extension, built out of tree against
 * include/thinvisor/extension.h like any tool (bench/run-bench.sh builds
 * it).  It asks for one instance of every event type the bench's kernel
 * loops (bench/kmod/tvbench.c) raise, and answers each with the least a
 * callback can do, so that `make bench` shows what one callback costs:
 *
 *   CPUID leaf 1, RDMSR IA32_TSC (0x10), WRMSR IA32_SYSENTER_ESP (0x175),
 *   MOV to CR4 changing TSD, MOV from and to CR3, MOV DR, OUT/IN of port
 *   0x80, the descriptor-table instructions, XSETBV, INVLPG, RDTSC, #UD:
 *	TV_EXT_CONTINUE (the default behaviour follows);
 *   VMCALL TV_HC_EXT_FIRST: TV_EXT_HANDLED (an owned hypercall must be
 *	answered; CONTINUE would be #UD);
 *   a write to @page, a page of its own made read+execute in view 0:
 *	the write is dropped and the guest resumes at the address the
 *	writer put in RCX (TV_EXT_HANDLED after tv_ext_set_rip()): one
 *	exit and one callback per write, nothing else.
 *
 * INVLPG is asked for unless invlpg=0.  With "enable INVPCID" set,
 * INVLPG exiting makes the kernel's INVPCIDs exit too (SDM 25.1.3), which
 * thinvisor answers with a VPID flush: they cost an exit each meanwhile.
 *
 * Counts per event type are in /sys/module/tvbenchext/parameters/counts
 * ("name=N ..."), so that bench.sh can refuse a figure whose loop never
 * reached the callback.
 */
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/atomic.h>
#include <linux/gfp.h>
#include <linux/io.h>
#include <asm/processor-flags.h>
#include "thinvisor/extension.h"

#define BENCH_LEAF 1u
#define BENCH_MSR_READ 0x10u		/* IA32_TSC */
#define BENCH_MSR_WRITE 0x175u		/* IA32_SYSENTER_ESP */
#define BENCH_PORT 0x80u
#define BENCH_HYPERCALL TV_HC_EXT_FIRST

static unsigned long page;
module_param(page, ulong, 0444);
MODULE_PARM_DESC(page, "kernel address of the write-protected page");

static int invlpg = 1;
module_param(invlpg, int, 0444);
MODULE_PARM_DESC(invlpg, "ask for INVLPG: 1 (default) yes, 0 no");

static atomic_long_t counts[TV_EV_COUNT];
/* CR events per register: the CR4 and CR3 rows each need their own. */
static atomic_long_t cr_reads[9], cr_writes[9];
static unsigned long long page_pa;

static const char *const names[TV_EV_COUNT] = {
	[TV_EV_CPUID] = "cpuid", [TV_EV_MSR_READ] = "msr_read",
	[TV_EV_MSR_WRITE] = "msr_write", [TV_EV_CR_WRITE] = "cr_write",
	[TV_EV_CR_READ] = "cr_read", [TV_EV_DR_ACCESS] = "dr",
	[TV_EV_IO] = "io", [TV_EV_DESCRIPTOR] = "descriptor",
	[TV_EV_XSETBV] = "xsetbv", [TV_EV_INVLPG] = "invlpg",
	[TV_EV_RDTSC] = "rdtsc", [TV_EV_EXCEPTION] = "exception",
	[TV_EV_VMCALL] = "vmcall", [TV_EV_PAGE_ACCESS] = "page",
	[TV_EV_MTF] = "mtf",
};

static int counts_get(char *buf, const struct kernel_param *kp)
{
	int i, len = 0;

	for (i = 0; i < TV_EV_COUNT; i++)
		len += scnprintf(buf + len, PAGE_SIZE - len, "%s=%ld ",
				 names[i], atomic_long_read(&counts[i]));
	for (i = 0; i < 9; i++) {
		if (atomic_long_read(&cr_reads[i]))
			len += scnprintf(buf + len, PAGE_SIZE - len,
					 "cr%d_read=%ld ", i,
					 atomic_long_read(&cr_reads[i]));
		if (atomic_long_read(&cr_writes[i]))
			len += scnprintf(buf + len, PAGE_SIZE - len,
					 "cr%d_write=%ld ", i,
					 atomic_long_read(&cr_writes[i]));
	}
	len += scnprintf(buf + len, PAGE_SIZE - len, "\n");
	return len;
}

static const struct kernel_param_ops counts_ops = { .get = counts_get };
module_param_cb(counts, &counts_ops, NULL, 0444);
MODULE_PARM_DESC(counts, "callbacks per event type");

/* VMX root: count, and do only what the event needs. */
static noinstr enum tv_ext_reply bench_event(struct tv_ext *ext,
					     struct tv_ext_event *ev)
{
	arch_atomic_long_inc(&counts[ev->type]);
	switch (ev->type) {
	case TV_EV_CR_READ:
	case TV_EV_CR_WRITE:
		if (ev->cr.cr < 9)
			arch_atomic_long_inc(ev->type == TV_EV_CR_READ ?
					     &cr_reads[ev->cr.cr] :
					     &cr_writes[ev->cr.cr]);
		return TV_EXT_CONTINUE;
	case TV_EV_VMCALL:
		return TV_EXT_HANDLED;
	case TV_EV_PAGE_ACCESS:
		if ((ev->page.gpa & ~0xfffULL) != page_pa)
			return TV_EXT_CONTINUE;
		tv_ext_set_rip(ev->regs->rcx);
		return TV_EXT_HANDLED;
	default:
		return TV_EXT_CONTINUE;
	}
}

static struct tv_ext bench_ext = {
	.name = "tvbenchext",
	.api_version = TV_EXT_API_VERSION,
	.owner = THIS_MODULE,
	.event = bench_event,
};

static int want_all(void)
{
	int ret;

	ret = tv_ext_want_cpuid(&bench_ext, BENCH_LEAF, 1);
	ret = ret ?: tv_ext_want_msr(&bench_ext, BENCH_MSR_READ, 1, 0);
	ret = ret ?: tv_ext_want_msr(&bench_ext, BENCH_MSR_WRITE, 0, 1);
	ret = ret ?: tv_ext_want_cr(&bench_ext, 4, 0, 1, X86_CR4_TSD);
	ret = ret ?: tv_ext_want_cr(&bench_ext, 3, 1, 1, 0);
	ret = ret ?: tv_ext_want(&bench_ext, TV_EV_DR_ACCESS, 1);
	ret = ret ?: tv_ext_want_io(&bench_ext, BENCH_PORT, 1);
	ret = ret ?: tv_ext_want(&bench_ext, TV_EV_DESCRIPTOR, 1);
	ret = ret ?: tv_ext_want(&bench_ext, TV_EV_XSETBV, 1);
	if (invlpg)
		ret = ret ?: tv_ext_want(&bench_ext, TV_EV_INVLPG, 1);
	ret = ret ?: tv_ext_want(&bench_ext, TV_EV_RDTSC, 1);
	ret = ret ?: tv_ext_want_exception(&bench_ext, 6, 1, 0, 0);
	ret = ret ?: tv_ext_want_vmcall(&bench_ext, BENCH_HYPERCALL, 0);
	ret = ret ?: tv_ext_want(&bench_ext, TV_EV_PAGE_ACCESS, 1);
	ret = ret ?: tv_ext_page_set(&bench_ext, TV_VIEW_DEFAULT, page_pa,
				     TV_ACCESS_READ | TV_ACCESS_EXEC, page_pa);
	return ret;
}

static int __init tvbenchext_init(void)
{
	int ret;

	page = __get_free_page(GFP_KERNEL | __GFP_ZERO);
	if (!page)
		return -ENOMEM;
	page_pa = virt_to_phys((void *)page);
	ret = tv_ext_register(&bench_ext);
	if (ret)
		goto free;
	ret = want_all();
	if (ret) {
		pr_err("tvbenchext: asking for the events failed: %d\n", ret);
		tv_ext_page_reset(&bench_ext, TV_VIEW_DEFAULT, page_pa);
		tv_ext_unregister(&bench_ext);
		goto free;
	}
	return 0;
free:
	free_page(page);
	return ret;
}

static void __exit tvbenchext_exit(void)
{
	tv_ext_page_reset(&bench_ext, TV_VIEW_DEFAULT, page_pa);
	tv_ext_unregister(&bench_ext);
	free_page(page);
}

module_init(tvbenchext_init);
module_exit(tvbenchext_exit);
MODULE_LICENSE("Dual MIT/GPL");
MODULE_DESCRIPTION("thinvisor benchmark: one trivial callback per event type");
