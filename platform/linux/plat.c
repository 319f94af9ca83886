// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * The platform interface (core/platform.h) on Linux.
 */
#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/smp.h>
#include <linux/cpumask.h>
#include <linux/printk.h>
#include <linux/panic.h>
#include <linux/moduleparam.h>
#include <asm/desc.h>
#include <asm/io.h>
#include "core/platform.h"
#include "arch/x86/cpu.h"
#include "tv_linux.h"

static pgd_t *host_pgd;

void *tv_plat_alloc_pages(size_t npages)
{
	return alloc_pages_exact(npages << PAGE_SHIFT, GFP_KERNEL | __GFP_ZERO);
}

void tv_plat_free_pages(void *va, size_t npages)
{
	free_pages_exact(va, npages << PAGE_SHIFT);
}

void *tv_plat_zalloc(size_t size)
{
	return kzalloc(size, GFP_KERNEL);
}

void tv_plat_free(void *p)
{
	kfree(p);
}

u64 tv_plat_virt_to_phys(const void *va)
{
	return __pa(va);
}

unsigned int tv_plat_cpu_limit(void)
{
	return nr_cpu_ids;
}

bool tv_plat_cpu_online(unsigned int cpu)
{
	return cpu_online(cpu);
}

unsigned int tv_plat_cpu_index(void)
{
	return raw_smp_processor_id();
}

struct on_cpu_call {
	int (*fn)(void *arg);
	void *arg;
	int ret;
};

static void on_cpu_trampoline(void *info)
{
	struct on_cpu_call *c = info;

	c->ret = c->fn(c->arg);
}

int tv_plat_on_cpu(unsigned int cpu, int (*fn)(void *arg), void *arg)
{
	struct on_cpu_call c = { fn, arg, TV_ERR_PLATFORM };

	if (smp_call_function_single(cpu, on_cpu_trampoline, &c, 1))
		return TV_ERR_PLATFORM;
	return c.ret;
}

/*
 * The VMM runs on a page-table root of its own whose kernel half is the
 * kernel's: x86-64 Linux preallocates every top-level kernel entry at
 * boot, so the copy stays valid, and no process's page tables (which die
 * with the process) are ever used as host CR3.  The user half stays empty.
 */
int tv_linux_host_pgd_init(void)
{
	pgd_t *cur = __va(tv_read_cr3() & PAGE_MASK & ~(1ULL << 63));

	host_pgd = (pgd_t *)get_zeroed_page(GFP_KERNEL);
	if (!host_pgd)
		return -ENOMEM;
	memcpy(host_pgd + PTRS_PER_PGD / 2, cur + PTRS_PER_PGD / 2,
	       PTRS_PER_PGD / 2 * sizeof(pgd_t));
	return 0;
}

void tv_linux_host_pgd_free(void)
{
	free_page((unsigned long)host_pgd);
	host_pgd = NULL;
}

u64 tv_plat_host_cr3(void)
{
	return __pa(host_pgd);
}

void tv_plat_before_vmxon(void)
{
}

void tv_plat_after_vmxoff(void)
{
	/* VM exit left TR's limit at 0x67: let Linux reload it when needed. */
	invalidate_tss_limit();
}

void tv_plat_vlog(int level, const char *fmt, tv_va_list ap)
{
	vprintk_emit(0, level, NULL, fmt, ap);
}

void tv_plat_panic(const char *msg)
{
	/* The guest-state dump sits in the VMM rings: print it first. */
	tv_linux_log_drain(true);
	panic("%s\n", msg);
}

#ifdef TV_FAULT_INJECTION
static int fail_step = -1;
module_param(fail_step, int, 0644);
MODULE_PARM_DESC(fail_step, "test builds: make init step N fail (enum tv_fault)");

bool tv_plat_fault(int step)
{
	return step == READ_ONCE(fail_step);
}
#else
bool tv_plat_fault(int step)
{
	return false;
}
#endif
