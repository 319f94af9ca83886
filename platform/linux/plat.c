// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * The platform interface (core/platform.h) on Linux.
 */
/* Every kernel-log line of the module starts "thinvisor: ". */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/gfp.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/ioport.h>
#include <linux/smp.h>
#include <linux/cpumask.h>
#include <linux/printk.h>
#include <linux/panic.h>
#include <linux/moduleparam.h>
#include <linux/sched.h>
#include <linux/workqueue.h>
#include <linux/instrumentation.h>
#include <linux/ioport.h>
#include <asm/desc.h>
#include <asm/io.h>
#include <asm/mmu_context.h>
#include <asm/perf_event.h>
#include <asm/pgtable.h>
#include <asm/tlbflush.h>
#include "core/platform.h"
#include "arch/x86/cpu.h"
#include "tv_linux.h"

void *tv_plat_alloc_pages(size_t npages)
{
	return alloc_pages_exact(npages << PAGE_SHIFT, GFP_KERNEL | __GFP_ZERO);
}

void *tv_plat_alloc_pages_uninit(size_t npages)
{
	return alloc_pages_exact(npages << PAGE_SHIFT, GFP_KERNEL);
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

/*
 * RAM for tv_plat_phys_to_virt(), captured at load (tv_linux_host_cr3_init)
 * from the "System RAM" resources.  page_is_ram() and pfn_valid() cannot
 * serve VMX root: the first takes resource_lock, the second answers for
 * struct pages, which also exist for holes and reserved MMIO inside a
 * section.  The table is written once before any CPU is virtualized and
 * only read afterwards.  Limits: memory hot-added after load is not in it
 * (NULL: not reachable), and pages a driver removed from the direct map
 * (memfd_secret, set_direct_map_invalid_noflush) are still in it, so an
 * access to one from VMX root would fault there.
 */
#define TV_RAM_RANGES 128
static struct { u64 start, end; } tv_ram[TV_RAM_RANGES];	/* [start, end) */
static unsigned int tv_ram_count;

static int note_ram(struct resource *res, void *arg)
{
	if (tv_ram_count == TV_RAM_RANGES) {
		pr_warn_once("thinvisor: more than %d RAM ranges: guest memory above 0x%llx is not reachable from the VMM\n",
			     TV_RAM_RANGES, tv_ram[TV_RAM_RANGES - 1].end);
		return 0;
	}
	tv_ram[tv_ram_count].start = res->start;
	tv_ram[tv_ram_count].end = (u64)res->end + 1;
	tv_ram_count++;
	return 0;
}

static void tv_linux_ram_init(void)
{
	tv_ram_count = 0;
	/* walk_system_ram_range() is not exported; this is its walk. */
	walk_iomem_res_desc(IORES_DESC_NONE,
			    IORESOURCE_SYSTEM_RAM | IORESOURCE_BUSY, 0, ~0ULL,
			    NULL, note_ram);
}

TV_VMX_ROOT void *tv_plat_phys_to_virt(u64 pa)
{
	unsigned int i;
	u64 page = pa & PAGE_MASK;

	/* The whole page: the caller may use it up to its end. */
	for (i = 0; i < tv_ram_count; i++)
		if (page >= tv_ram[i].start && page + PAGE_SIZE <= tv_ram[i].end)
			return (void *)((unsigned long)pa + PAGE_OFFSET);
	return NULL;
}

unsigned int tv_plat_cpu_limit(void)
{
	return nr_cpu_ids;
}

bool tv_plat_cpu_online(unsigned int cpu)
{
	return cpu_online(cpu);
}

TV_VMX_ROOT unsigned int tv_plat_cpu_index(void)
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
 * The VMM runs on the kernel's own top-level page table, init_mm.pgd
 * (swapper_pg_dir): it maps the whole kernel, whatever process is current,
 * for as long as the kernel runs; sync_global_pgds() keeps it up to date
 * when hot-added memory needs a new top-level entry; and it is 8 KiB
 * aligned under page-table isolation, whose NMI/#MC/#DB entry
 * (paranoid_entry) clears CR3 bit 12 to find the kernel table.  A private
 * copy had neither property.
 *
 * Linux 6.1 exports neither init_mm nor swapper_pg_dir to modules, but it
 * exports leave_mm(), for cpuidle drivers: a kernel thread (no mm of its
 * own, so either lazily on a borrowed mm or on init_mm already) calls it to
 * switch to init_mm, and CR3 then holds __pa(init_mm.pgd).
 */
static u64 host_cr3;

struct find_cr3 {
	struct work_struct work;
	u64 cr3;
	int ret;
};

static void find_kernel_cr3(struct work_struct *work)
{
	struct find_cr3 *f = container_of(work, struct find_cr3, work);
	unsigned long flags;
	pgd_t *pgd;
	int i;

	f->ret = -ESRCH;
	if (current->mm)
		return;
	local_irq_save(flags);
	leave_mm(smp_processor_id());
	f->cr3 = __read_cr3() & CR3_ADDR_MASK;
	local_irq_restore(flags);
	/*
	 * That is init_mm's table: it maps no user address at all (every
	 * process's table has at least its stack below the kernel half).
	 * Not pgd_none(): with 4-level paging the PGD is folded at run time
	 * and pgd_none() is always false.
	 */
	pgd = __va(f->cr3);
	for (i = 0; i < KERNEL_PGD_BOUNDARY; i++) {
		if (pgd_val(pgd[i])) {
			pr_err("the table at CR3 0x%llx maps user addresses (entry %d is 0x%lx)\n",
			       f->cr3, i, (unsigned long)pgd_val(pgd[i]));
			f->ret = -EFAULT;
			return;
		}
	}
	if (static_cpu_has(X86_FEATURE_PTI) && (f->cr3 & PAGE_SIZE)) {
		pr_err("the kernel's table at 0x%llx is not 8 KiB aligned under PTI\n",
		       f->cr3);
		f->ret = -EFAULT;
		return;
	}
	f->ret = 0;
}

int tv_linux_host_cr3_init(void)
{
	struct find_cr3 f = { .ret = -EINVAL };

	INIT_WORK_ONSTACK(&f.work, find_kernel_cr3);
	schedule_work(&f.work);
	flush_work(&f.work);
	destroy_work_on_stack(&f.work);
	if (f.ret)
		return f.ret;
	host_cr3 = f.cr3;
	/* The VMM's view of RAM is captured with its page-table root. */
	tv_linux_ram_init();
	return 0;
}

u64 tv_plat_host_cr3(void)
{
	return host_cr3;
}

/*
 * VMXON clears IA32_RTIT_CTL.TraceEn on CPUs whose IA32_VMX_MISC[14] is
 * 0; Linux's Intel PT driver must know, or its next WRMSR gets a #GP.
 * KVM does the same around its VMXON (6.1 vmx.c).  Telling it that VMX is
 * off again cannot happen in tv_plat_after_vmxoff(): on the give-back path
 * that runs in VMX root's window (its own IDT still loaded), where no
 * probe-able kernel function may be called.  It only notes the fact, and
 * tv_linux_pt_catch_up() tells the PT driver once the CPU is back in the
 * kernel.  Until then the driver merely keeps PT off on that CPU.
 */
#if IS_ENABLED(CONFIG_PERF_EVENTS) && IS_ENABLED(CONFIG_CPU_SUP_INTEL)
static DEFINE_PER_CPU(bool, tv_pt_vmx_off_pending);

void tv_plat_before_vmxon(void)
{
	this_cpu_write(tv_pt_vmx_off_pending, false);
	intel_pt_handle_vmx(1);
}

static void pt_catch_up(void *unused)
{
	if (this_cpu_read(tv_pt_vmx_off_pending)) {
		this_cpu_write(tv_pt_vmx_off_pending, false);
		intel_pt_handle_vmx(0);
	}
}

void tv_linux_pt_catch_up(int cpu)
{
	if (cpu < 0)
		on_each_cpu(pt_catch_up, NULL, 1);
	else
		smp_call_function_single(cpu, pt_catch_up, NULL, 1);
}

static __always_inline void note_vmx_off(void)
{
	this_cpu_write(tv_pt_vmx_off_pending, true);
}
#else
void tv_plat_before_vmxon(void)
{
}

void tv_linux_pt_catch_up(int cpu)
{
}

static __always_inline void note_vmx_off(void)
{
}
#endif

TV_VMX_ROOT void tv_plat_after_vmxoff(void)
{
	/* VM exit left TR's limit at 0x67: let Linux reload it when needed. */
	invalidate_tss_limit();
	note_vmx_off();
}

void tv_plat_vlog(int level, const char *fmt, tv_va_list ap)
{
	tv_linux_log_core(level, fmt, ap);
}

/*
 * VMX root: the interrupted kernel may hold any lock on this CPU, so no
 * FIFO lock and no wake-up here.  The guest-state dump sits in the VMM
 * rings: it goes to the kernel log buffer without touching the console
 * (deferred printk), and panic() flushes the consoles, ignoring their
 * locks.  The instrumentation_begin() says that calling the instrumentable
 * panic() from here is deliberate.
 */
TV_VMX_ROOT void tv_plat_panic(const char *msg)
{
	tv_linux_log_panic_dump();
	instrumentation_begin();
	panic("%s\n", msg);
	instrumentation_end();
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

/* --- the physical memory map -------------------------------------------- */

struct phys_walk {
	struct tv_phys_range *out;
	unsigned int max, count;
	/* pass 1 keeps the PCI host-bridge windows here for pass 2 */
	struct resource *windows;
	unsigned int nwindows, max_windows;
};

static void phys_add(struct phys_walk *w, u64 start, u64 end, u32 kind)
{
	if (w->count < w->max) {
		w->out[w->count].base = start;
		w->out[w->count].size = end - start + 1;
		w->out[w->count].kind = kind;
	}
	w->count++;
}

/*
 * Pass 1, the top-level ranges: System RAM, reserved, ACPI, APIC, HPET and
 * the like are mapped whole.  A PCI host-bridge window (IORESOURCE_WINDOW,
 * from ACPI _CRS) is only what the bridge would decode; 64-bit windows can
 * span hundreds of GiB of which a few BARs are used, so pass 2 maps what
 * was assigned inside it instead.
 */
static int phys_top(struct resource *r, void *arg)
{
	struct phys_walk *w = arg;

	if (r->flags & IORESOURCE_WINDOW) {
		if (w->nwindows < w->max_windows)
			w->windows[w->nwindows] = *r;
		w->nwindows++;
		return 0;
	}
	phys_add(w, r->start, r->end,
		 (r->flags & IORESOURCE_SYSRAM) ? TV_PHYS_RAM : TV_PHYS_MMIO);
	return 0;
}

/* Pass 2: inside a window, BARs and ROMs (sized) and claimed regions. */
static int phys_inner(struct resource *r, void *arg)
{
	phys_add(arg, r->start, r->end, TV_PHYS_MMIO);
	return 0;
}

int tv_plat_phys_ranges(struct tv_phys_range *out, unsigned int max,
			unsigned int *count)
{
	struct phys_walk w = { .out = out, .max = max, .max_windows = 64 };
	unsigned int i;

	w.windows = kcalloc(w.max_windows, sizeof(*w.windows), GFP_KERNEL);
	if (!w.windows)
		return TV_ERR_NO_MEMORY;
	walk_iomem_res_desc(IORES_DESC_NONE, IORESOURCE_MEM, 0, U64_MAX, &w,
			    phys_top);
	for (i = 0; i < w.nwindows && i < w.max_windows; i++) {
		u64 s = w.windows[i].start, e = w.windows[i].end;

		walk_iomem_res_desc(IORES_DESC_NONE,
				    IORESOURCE_MEM | IORESOURCE_SIZEALIGN, s, e,
				    &w, phys_inner);
		walk_iomem_res_desc(IORES_DESC_NONE,
				    IORESOURCE_MEM | IORESOURCE_BUSY, s, e, &w,
				    phys_inner);
	}
	/* More windows than we kept: map the rest whole, never too little. */
	if (w.nwindows > w.max_windows)
		walk_iomem_res_desc(IORES_DESC_NONE, IORESOURCE_MEM |
				    IORESOURCE_WINDOW, 0, U64_MAX, &w,
				    phys_inner);
	kfree(w.windows);
	*count = w.count;
	return TV_OK;
}
