// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * tvguard: a kernel integrity guard built on thinvisor's extension API
 * (GuardMon-like), as a module of its own:
 *
 *	insmod thinvisor.ko; insmod tvguard.ko [mode=block|report]
 *
 * What it watches, from below the kernel:
 *   - the kernel's text and read-only data: every 4 KiB page of them is
 *     made read+execute in the second-level page tables, so a write
 *     through any mapping (a writable alias, CR0.WP cleared, a DMA-less
 *     physical remap) exits to the VMM;
 *   - WRMSR to IA32_LSTAR (0xc0000082) and IA32_SYSENTER_EIP (0x176), the
 *     system-call entry points;
 *   - MOV to CR4 that clears SMEP or SMAP and MOV to CR0 that clears WP.
 *
 * Each attempt is logged with the writer's RIP (pr_warn from a host
 * thread: nothing may print in VMX root) and counted.  mode=block (the
 * default) stops it; mode=report lets it happen.  What the guest sees when
 * an attempt is blocked:
 *   - a page write: the instruction completes, but its store lands in a
 *     throw-away copy of the page (the page is pointed at a per-CPU
 *     scratch copy for exactly one instruction, single-stepped with the
 *     monitor trap flag, then pointed back): no exception, text unchanged;
 *   - WRMSR LSTAR/SYSENTER_EIP with a value other than the one the kernel
 *     set at boot: #GP, as for an invalid value (wrmsrl_safe() returns an
 *     error; the kernel's unchecked wrmsr() fixup prints its warning);
 *   - MOV CR4/CR0 clearing SMEP, SMAP or WP: the write takes effect with
 *     those bits kept set, and reading the register back shows them set.
 *
 * The kernel's own text patching (jump labels, static calls,
 * alternatives, ftrace: text_poke()) writes text legitimately through a
 * temporary mm that maps the page at a user-half address.  A write at CPL
 * 0 whose linear address is in the user half and whose RIP is in the
 * kernel's text is taken for that and allowed: the page is made writable
 * on this CPU for one single-stepped instruction, then protected again
 * (the DdiMon way); without the monitor trap flag the page stays writable
 * until the host thread protects it again, within 100 ms.  Such writes are counted (text_pokes), not logged.
 * (Kernel code could still call text_poke() itself; a guard below the
 * kernel cannot tell a module's legitimate use of the kernel's own
 * patching API from a hostile one.)
 *
 * Where the pages are: the kernel's image mapping tells.  From a known
 * text address, every page mapped present, read-only and executable is
 * text; after the gap the kernel freed (not present), every page mapped
 * present, read-only and not executable is read-only data.  Their
 * physical addresses are __pa_symbol().  (The kernel does not export
 * _stext/_etext/__start_rodata/__end_rodata to modules.)
 *
 * Everything is undone at unload: every page gets its identity mapping and
 * full access back before the extension unregisters.
 */
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/workqueue.h>
#include <linux/smp.h>
#include <linux/io.h>
#include <asm/msr.h>
#include <asm/pgtable.h>
#include <asm/processor-flags.h>
#include <asm/trap_pf.h>
#include <linux/bitmap.h>
#include "thinvisor/extension.h"

#define MSR_LSTAR_NR 0xc0000082u
#define MSR_SYSENTER_EIP_NR 0x176u
#define CR4_GUARDED (X86_CR4_SMEP | X86_CR4_SMAP)
#define CR0_GUARDED X86_CR0_WP
#define USER_HALF_END 0x0000800000000000ULL
#define MAX_STEP_PAGES 4	/* pages one instruction may write */
#define RING 32			/* log records per CPU */
#define SCAN_LIMIT (256UL << 20)	/* never scan more of the image */

static char mode[8] = "block";
module_param_string(mode, mode, sizeof(mode), 0444);
MODULE_PARM_DESC(mode, "block (default): stop each attempt; report: only log it");

static char pages_state[96] = "not started";
module_param_string(pages, pages_state, sizeof(pages_state), 0444);
MODULE_PARM_DESC(pages, "the page protection: what is protected, or why not");

/* Counters; read-only parameters. */
static unsigned long text_pages, rodata_pages;
static unsigned long page_writes, page_blocked, text_pokes;
static unsigned long msr_writes, msr_blocked, cr_writes, cr_blocked;
static unsigned long log_dropped;
module_param(text_pages, ulong, 0444);
MODULE_PARM_DESC(text_pages, "kernel text pages write-protected");
module_param(rodata_pages, ulong, 0444);
MODULE_PARM_DESC(rodata_pages, "kernel read-only data pages write-protected");
module_param(page_writes, ulong, 0444);
MODULE_PARM_DESC(page_writes, "writes to protected pages from other than text_poke");
module_param(page_blocked, ulong, 0444);
MODULE_PARM_DESC(page_blocked, "of those, discarded (mode=block)");
module_param(text_pokes, ulong, 0444);
MODULE_PARM_DESC(text_pokes, "the kernel's own text patching, allowed");
module_param(msr_writes, ulong, 0444);
MODULE_PARM_DESC(msr_writes, "WRMSR LSTAR/SYSENTER_EIP seen");
module_param(msr_blocked, ulong, 0444);
MODULE_PARM_DESC(msr_blocked, "of those, changes refused with #GP (mode=block)");
module_param(cr_writes, ulong, 0444);
MODULE_PARM_DESC(cr_writes, "MOV to CR0/CR4 that changed WP/SMEP/SMAP");
module_param(cr_blocked, ulong, 0444);
MODULE_PARM_DESC(cr_blocked, "of those, corrected to keep the bits set (mode=block)");
module_param(log_dropped, ulong, 0444);
MODULE_PARM_DESC(log_dropped, "attempts not logged: a CPU's log ring was full");

enum rec_kind { REC_PAGE, REC_MSR, REC_CR };

/* One attempt, written in VMX root, printed from a host thread. */
struct guard_rec {
	u8 kind, blocked;
	u32 cpu;
	u64 rip, what, value, old;	/* what: gpa, MSR or CR number */
};

/* Per CPU (tv_ext_cpu_data): the single step in progress and the log. */
struct guard_cpu {
	void *scratch[MAX_STEP_PAGES];	/* pages for discarded stores */
	u64 scratch_pa[MAX_STEP_PAGES];
	u64 step_gpa[MAX_STEP_PAGES];
	u32 nstep;
	u32 head, tail;			/* head: root writes; tail: host */
	struct guard_rec rec[RING];
};

struct guarded {
	u64 pa, end;	/* physical, page-aligned, end exclusive */
	unsigned long va, va_end;	/* in the kernel image mapping */
};

static bool block;
static bool has_mtf;		/* single steps: else skip and reopen */
static bool stopping;		/* unload: writes are let through */
/* Without MTF: pages a let-through write opened, for the host to close. */
static unsigned long *open_pages;
static struct guarded text, rodata;
static u64 good_lstar, good_sysenter_eip;

/* The page calls, bound at run time (thinvisor may not offer them yet). */
static struct {
	typeof(&tv_ext_page_set) set;
	typeof(&tv_ext_page_set_range) set_range;
	typeof(&tv_ext_page_reset) reset;
	typeof(&tv_ext_page_set_root) set_root;
	typeof(&tv_ext_defer) defer;
} api;

static struct tv_ext guard;
static DEFINE_MUTEX(drain_lock);
static void drain_logs(struct work_struct *work);
static DECLARE_DELAYED_WORK(poll_work, drain_logs);

/* --- VMX root ---------------------------------------------------------- */

static noinstr void bump(unsigned long *counter)
{
	arch_atomic_long_inc((atomic_long_t *)counter);
}

static void deferred_drain(struct tv_ext *ext, unsigned long arg);

/* Queue a record for the host; the CPU's ring has one writer: itself. */
static noinstr void log_attempt(struct guard_cpu *gc, unsigned int cpu,
				enum rec_kind kind, bool blocked, u64 rip,
				u64 what, u64 value, u64 old)
{
	u32 head = gc->head;
	struct guard_rec *r;

	if (head - READ_ONCE(gc->tail) >= RING) {
		bump(&log_dropped);
		return;
	}
	r = &gc->rec[head % RING];
	r->kind = kind;
	r->blocked = blocked;
	r->cpu = cpu;
	r->rip = rip;
	r->what = what;
	r->value = value;
	r->old = old;
	/* The record is whole before the host can see it. */
	smp_store_release(&gc->head, head + 1);
	if (api.defer)
		api.defer(&guard, deferred_drain, 0);
}

static noinstr bool pa_in(const struct guarded *r, u64 pa)
{
	return pa >= r->pa && pa < r->end;
}

static noinstr void copy_page_root(void *dst, const void *src)
{
	const u64 *s = src;
	u64 *d = dst;
	unsigned int i;

	for (i = 0; i < PAGE_SIZE / sizeof(u64); i++)
		d[i] = s[i];
}

/*
 * The length of the storing instruction at @ip (64-bit code), for the CPUs
 * without a monitor trap flag, where a blocked store is skipped instead of
 * single-stepped into a scratch page.  Covers the instructions that write
 * memory through ModRM or as string stores; 0 for anything else.
 */
static noinstr unsigned int store_length(const u8 *ip)
{
	unsigned int n = 0, imm = 0, opsize = 4;
	u8 op, modrm, mod, rm;

	for (;; n++) {		/* legacy prefixes */
		op = ip[n];
		if (op == 0x66)
			opsize = 2;
		else if (op != 0x67 && op != 0xf0 && op != 0xf2 &&
			 op != 0xf3 && op != 0x2e && op != 0x36 &&
			 op != 0x3e && op != 0x26 && op != 0x64 && op != 0x65)
			break;
		if (n >= 14)
			return 0;
	}
	if ((op & 0xf0) == 0x40) {	/* REX */
		if (op & 0x08)
			opsize = 4;	/* REX.W: imm32 sign-extended */
		op = ip[++n];
	}
	n++;
	switch (op) {
	case 0xa4: case 0xa5: case 0xaa: case 0xab:	/* MOVS, STOS */
		return n;
	case 0x0f:
		op = ip[n++];
		if (op == 0xba) {
			imm = 1;
		} else if (!((op >= 0x10 && op <= 0x17) ||
			     (op >= 0x28 && op <= 0x2f) ||
			     (op >= 0x90 && op <= 0x9f) || op == 0xab ||
			     op == 0xb0 || op == 0xb1 || op == 0xb3 ||
			     op == 0xbb || op == 0xc0 || op == 0xc1 ||
			     op == 0xc3 || op == 0x7f || op == 0xe7)) {
			return 0;
		}
		break;
	case 0x80: case 0x82: case 0x83: case 0xc0: case 0xc1: case 0xc6:
		imm = 1;
		break;
	case 0x81: case 0xc7:
		imm = opsize;
		break;
	case 0xf6: case 0xf7:
		if (((ip[n] >> 3) & 7) < 2)	/* TEST r/m, imm */
			imm = op == 0xf6 ? 1 : opsize;
		break;
	default:
		if (!(op < 0x40 && (op & 7) < 4) &&	/* ALU r/m, r */
		    !(op >= 0x84 && op <= 0x8b) && op != 0x8f &&
		    !(op >= 0xd0 && op <= 0xd3) && op != 0xfe && op != 0xff)
			return 0;
	}
	modrm = ip[n++];
	mod = modrm >> 6;
	rm = modrm & 7;
	if (mod != 3 && rm == 4) {	/* SIB */
		if (mod == 0 && (ip[n] & 7) == 5)
			n += 4;
		n++;
	}
	if (mod == 1)
		n += 1;
	else if (mod == 2 || (mod == 0 && rm == 5))
		n += 4;
	n += imm;
	return n <= 15 ? n : 0;
}

/* Without MTF: an allowed write opens the page until the host closes it. */
static noinstr enum tv_ext_reply open_page(u64 gpa)
{
	unsigned long idx;

	if (pa_in(&text, gpa))
		idx = (gpa - text.pa) >> PAGE_SHIFT;
	else
		idx = ((text.end - text.pa) + (gpa - rodata.pa)) >> PAGE_SHIFT;
	if (api.set_root(TV_VIEW_DEFAULT, gpa, TV_ACCESS_ALL, gpa))
		return TV_EXT_CONTINUE;
	arch_set_bit(idx, open_pages);
	return TV_EXT_RETRY;
}

/* Without MTF: a blocked write is skipped, or faults when it cannot be. */
static noinstr enum tv_ext_reply skip_store(struct tv_ext_event *ev)
{
	unsigned int len = 0;

	if (tv_ext_guest_cpl() == 0 && ev->rip >= TASK_SIZE_MAX)
		len = store_length((const u8 *)(unsigned long)ev->rip);
	if (len) {
		tv_ext_set_rip(ev->rip + len);
		return TV_EXT_RETRY;
	}
	/* A not-present write fault: the kernel's fixup, or its oops. */
	asm volatile("mov %0, %%cr2" : : "r"((unsigned long)ev->page.gla));
	ev->inject.vector = 14;
	ev->inject.has_error_code = 1;
	ev->inject.error_code = X86_PF_WRITE;
	return TV_EXT_INJECT;
}

/*
 * A write to a protected page.  Let one instruction run with the page
 * writable (allowed) or pointed at a scratch copy (blocked), under the
 * monitor trap flag; the MTF event protects it again.
 */
static noinstr enum tv_ext_reply page_write(struct tv_ext_event *ev)
{
	struct guard_cpu *gc = tv_ext_cpu_data(&guard, ev->cpu);
	u64 gpa = ev->page.gpa & PAGE_MASK;
	bool poke, discard;

	if (!gc || gc->nstep >= MAX_STEP_PAGES)
		return TV_EXT_CONTINUE;
	poke = tv_ext_guest_cpl() == 0 && ev->page.gla_valid &&
	       ev->page.gla < USER_HALF_END &&
	       ev->rip >= text.va && ev->rip < text.va_end;
	/*
	 * No linear address: the CPU's own access to a paging structure
	 * (an accessed or dirty bit), not the instruction's store; skipping
	 * the instruction for it would be wrong.  Let it through too.
	 */
	poke |= !ev->page.gla_valid;
	discard = block && !poke && !stopping;
	if (poke) {
		bump(&text_pokes);
	} else {
		bump(&page_writes);
		if (discard)
			bump(&page_blocked);
		log_attempt(gc, ev->cpu, REC_PAGE, discard, ev->rip, gpa,
			    ev->page.gla_valid ? ev->page.gla : 0, 0);
	}
	if (!has_mtf)
		return discard ? skip_store(ev) : open_page(gpa);
	if (discard) {
		/*
		 * One copy per page the instruction writes (it may straddle
		 * two; a REP string one may go on).
		 */
		copy_page_root(gc->scratch[gc->nstep], __va(gpa));
		if (api.set_root(TV_VIEW_DEFAULT, gpa, TV_ACCESS_ALL,
				 gc->scratch_pa[gc->nstep]))
			return TV_EXT_CONTINUE;
	} else if (api.set_root(TV_VIEW_DEFAULT, gpa, TV_ACCESS_ALL, gpa)) {
		return TV_EXT_CONTINUE;
	}
	gc->step_gpa[gc->nstep++] = gpa;
	tv_ext_single_step(&guard, 1);
	return TV_EXT_RETRY;
}

/* The single-stepped instruction is done: protect its pages again. */
static noinstr void step_done(struct tv_ext_event *ev)
{
	struct guard_cpu *gc = tv_ext_cpu_data(&guard, ev->cpu);
	u32 i;

	if (!gc)
		return;
	for (i = 0; i < gc->nstep; i++)
		api.set_root(TV_VIEW_DEFAULT, gc->step_gpa[i],
			     stopping ? TV_ACCESS_ALL :
			     TV_ACCESS_READ | TV_ACCESS_EXEC, gc->step_gpa[i]);
	gc->nstep = 0;
	tv_ext_single_step(&guard, 0);
}

static noinstr enum tv_ext_reply msr_write(struct tv_ext_event *ev)
{
	struct guard_cpu *gc = tv_ext_cpu_data(&guard, ev->cpu);
	u64 good = ev->msr.index == MSR_LSTAR_NR ? good_lstar :
		   good_sysenter_eip;

	bump(&msr_writes);
	if (ev->msr.value == good)
		return TV_EXT_CONTINUE;	/* the kernel's own value again */
	if (block)
		bump(&msr_blocked);
	if (gc)
		log_attempt(gc, ev->cpu, REC_MSR, block, ev->rip,
			    ev->msr.index, ev->msr.value, good);
	if (!block)
		return TV_EXT_CONTINUE;
	ev->inject.vector = 13;		/* #GP(0) */
	ev->inject.has_error_code = 1;
	ev->inject.error_code = 0;
	return TV_EXT_INJECT;
}

static noinstr enum tv_ext_reply cr_write(struct tv_ext_event *ev)
{
	struct guard_cpu *gc = tv_ext_cpu_data(&guard, ev->cpu);
	u64 guarded = ev->cr.cr == 4 ? CR4_GUARDED : CR0_GUARDED;
	u64 cleared = ev->cr.old_value & ~ev->cr.new_value & guarded;

	if (ev->cr.cr != 0 && ev->cr.cr != 4)
		return TV_EXT_CONTINUE;
	if (!cleared)
		return TV_EXT_CONTINUE;	/* setting them is fine */
	bump(&cr_writes);
	if (block)
		bump(&cr_blocked);
	if (gc)
		log_attempt(gc, ev->cpu, REC_CR, block, ev->rip, ev->cr.cr,
			    ev->cr.new_value, ev->cr.old_value);
	if (block)
		ev->cr.new_value |= cleared;
	return TV_EXT_CONTINUE;
}

static noinstr enum tv_ext_reply guard_event(struct tv_ext *ext,
					     struct tv_ext_event *ev)
{
	switch (ev->type) {
	case TV_EV_PAGE_ACCESS:
		if (!(ev->page.access & TV_ACCESS_WRITE) ||
		    !(pa_in(&text, ev->page.gpa) ||
		      pa_in(&rodata, ev->page.gpa)) || !api.set_root)
			return TV_EXT_CONTINUE;
		return page_write(ev);
	case TV_EV_MTF:
		step_done(ev);
		return TV_EXT_CONTINUE;
	case TV_EV_MSR_WRITE:
		return msr_write(ev);
	case TV_EV_CR_WRITE:
		return cr_write(ev);
	default:
		return TV_EXT_CONTINUE;
	}
}

/* --- host --------------------------------------------------------------- */

static void print_rec(const struct guard_rec *r)
{
	const char *verb = r->blocked ? "blocked" : "reported";

	switch (r->kind) {
	case REC_PAGE:
		pr_warn("tvguard: %s write to kernel %s page 0x%llx (linear 0x%llx) on CPU %u by RIP 0x%llx (%pS)\n",
			verb, pa_in(&text, r->what) ? "text" : "rodata",
			r->what, r->value, r->cpu, r->rip, (void *)r->rip);
		break;
	case REC_MSR:
		pr_warn("tvguard: %s WRMSR %s (0x%llx) value 0x%llx (kernel's 0x%llx) on CPU %u by RIP 0x%llx (%pS)\n",
			verb, r->what == MSR_LSTAR_NR ? "LSTAR" : "SYSENTER_EIP",
			r->what, r->value, r->old, r->cpu, r->rip,
			(void *)r->rip);
		break;
	case REC_CR:
		pr_warn("tvguard: %s MOV to CR%llu clearing 0x%llx (0x%llx -> 0x%llx) on CPU %u by RIP 0x%llx (%pS)\n",
			verb, r->what, r->old & ~r->value &
			(r->what == 4 ? CR4_GUARDED : CR0_GUARDED), r->old,
			r->value, r->cpu, r->rip, (void *)r->rip);
		break;
	}
}

static void drain_all(void)
{
	unsigned int cpu;

	mutex_lock(&drain_lock);
	for_each_possible_cpu(cpu) {
		struct guard_cpu *gc = tv_ext_cpu_data(&guard, cpu);
		u32 tail;

		if (!gc)
			continue;
		/* Acquire: the record is read after its head. */
		for (tail = gc->tail; tail != smp_load_acquire(&gc->head);
		     tail++) {
			struct guard_rec r = gc->rec[tail % RING];

			/* Release: the slot is given back once copied. */
			smp_store_release(&gc->tail, tail + 1);
			print_rec(&r);
		}
	}
	mutex_unlock(&drain_lock);
}

static void deferred_drain(struct tv_ext *ext, unsigned long arg)
{
	drain_all();
}

/* Without MTF: protect again the pages allowed writes opened. */
static void close_pages(void)
{
	unsigned long n = text_pages + rodata_pages, idx;
	unsigned long ntext = (text.end - text.pa) >> PAGE_SHIFT;
	u64 pa;

	if (!open_pages || READ_ONCE(stopping))
		return;
	for_each_set_bit(idx, open_pages, n) {
		if (!test_and_clear_bit(idx, open_pages))
			continue;
		pa = idx < ntext ? text.pa + (idx << PAGE_SHIFT) :
		     rodata.pa + ((idx - ntext) << PAGE_SHIFT);
		api.set(&guard, TV_VIEW_DEFAULT, pa,
			TV_ACCESS_READ | TV_ACCESS_EXEC, pa);
	}
}

/* Log and close pages every 100 ms (tv_ext_defer() only hurries it). */
static void drain_logs(struct work_struct *work)
{
	close_pages();
	drain_all();
	if (!READ_ONCE(stopping))
		schedule_delayed_work(&poll_work, HZ / 10);
}

/* Is the kernel image mapped at @va present, read-only, (not) executable? */
static bool image_page_is(unsigned long va, bool exec)
{
	unsigned int level;
	pte_t *pte = lookup_address(va, &level);

	if (!pte || !pte_present(*pte) || pte_write(*pte))
		return false;
	return exec ? pte_exec(*pte) : !pte_exec(*pte);
}

/* Find text (around @anchor) and the read-only data after it. */
static int find_ranges(unsigned long anchor)
{
	unsigned long t0, t1, r0, r1, lim;

	anchor &= PAGE_MASK;
	if (!image_page_is(anchor, true))
		return -ENOENT;
	for (t0 = anchor; image_page_is(t0 - PAGE_SIZE, true) &&
	     anchor - t0 < SCAN_LIMIT; t0 -= PAGE_SIZE)
		;
	for (t1 = anchor; image_page_is(t1, true) && t1 - anchor < SCAN_LIMIT;
	     t1 += PAGE_SIZE)
		;
	/* The text/rodata gap the kernel freed is not mapped any more. */
	lim = t1 + SCAN_LIMIT;
	for (r0 = t1; r0 < lim && !image_page_is(r0, false); r0 += PAGE_SIZE) {
		unsigned int level;
		pte_t *pte = lookup_address(r0, &level);

		if (pte && pte_present(*pte))
			break;	/* mapped but not rodata: none */
	}
	for (r1 = r0; r1 < lim && image_page_is(r1, false); r1 += PAGE_SIZE)
		;
	text = (struct guarded){ __pa_symbol(t0), __pa_symbol(t1 - 1) + 1,
			       t0, t1 };
	if (r1 > r0)
		rodata = (struct guarded){ __pa_symbol(r0),
					 __pa_symbol(r1 - 1) + 1, r0, r1 };
	pr_info("tvguard: kernel text 0x%lx-0x%lx (phys 0x%llx), rodata 0x%lx-0x%lx (phys 0x%llx)\n",
		t0, t1, text.pa, r0, r1, rodata.pa);
	return 0;
}

static int protect_range(const struct guarded *r, unsigned long *count)
{
	u64 pa;
	int ret;

	if (r->end <= r->pa)
		return 0;
	if (api.set_range) {	/* one flush for the whole range */
		ret = api.set_range(&guard, TV_VIEW_DEFAULT, r->pa,
				    r->end - r->pa,
				    TV_ACCESS_READ | TV_ACCESS_EXEC);
		if (!ret)
			*count = (r->end - r->pa) >> PAGE_SHIFT;
		return ret;
	}
	for (pa = r->pa; pa < r->end; pa += PAGE_SIZE) {
		ret = api.set(&guard, TV_VIEW_DEFAULT, pa,
			      TV_ACCESS_READ | TV_ACCESS_EXEC, pa);
		if (ret)
			return ret;
		(*count)++;
		cond_resched();
	}
	return 0;
}

static void unprotect_range(const struct guarded *r, unsigned long count)
{
	u64 pa;

	if (api.set_range && count) {	/* identity, all access: a reset */
		api.set_range(&guard, TV_VIEW_DEFAULT, r->pa,
			      count << PAGE_SHIFT, TV_ACCESS_ALL);
		return;
	}

	for (pa = r->pa; pa < r->end && count; pa += PAGE_SIZE, count--) {
		api.reset(&guard, TV_VIEW_DEFAULT, pa);
		cond_resched();
	}
}

static void unbind_api(void)
{
	if (api.set)
		symbol_put(tv_ext_page_set);
	if (api.set_range)
		symbol_put(tv_ext_page_set_range);
	if (api.reset)
		symbol_put(tv_ext_page_reset);
	if (api.set_root)
		symbol_put(tv_ext_page_set_root);
	if (api.defer)
		symbol_put(tv_ext_defer);
	memset(&api, 0, sizeof(api));
}

/*
 * The scratch pages, also listed here: the per-CPU data goes with the
 * registration.
 */
static void **scratch;

static void free_scratch(void)
{
	unsigned int i;

	if (!scratch)
		return;
	for (i = 0; i < nr_cpu_ids * MAX_STEP_PAGES; i++)
		free_page((unsigned long)scratch[i]);
	kfree(scratch);
	scratch = NULL;
}

static int alloc_scratch(void)
{
	unsigned int cpu, i;

	scratch = kcalloc(nr_cpu_ids * MAX_STEP_PAGES, sizeof(*scratch),
			  GFP_KERNEL);
	if (!scratch)
		return -ENOMEM;
	for_each_possible_cpu(cpu) {
		struct guard_cpu *gc = tv_ext_cpu_data(&guard, cpu);

		if (!gc)
			return -ENOMEM;
		for (i = 0; i < MAX_STEP_PAGES; i++) {
			void *page = (void *)__get_free_page(GFP_KERNEL);

			if (!page)
				return -ENOMEM;
			scratch[cpu * MAX_STEP_PAGES + i] = page;
			gc->scratch[i] = page;
			gc->scratch_pa[i] = virt_to_phys(page);
		}
	}
	return 0;
}

/* Write-protect text and rodata, if thinvisor offers the page calls. */
static int guard_pages(void)
{
	int ret;

	api.set = symbol_get(tv_ext_page_set);
	api.set_range = symbol_get(tv_ext_page_set_range);
	api.reset = symbol_get(tv_ext_page_reset);
	api.set_root = symbol_get(tv_ext_page_set_root);
	if (!api.set || !api.reset || !api.set_root) {
		snprintf(pages_state, sizeof(pages_state),
			 "unavailable: thinvisor lacks tv_ext_page_set/_reset/_set_root");
		pr_warn("tvguard: %s; text and rodata are not protected\n",
			pages_state);
		return 0;
	}
	ret = find_ranges((unsigned long)&kfree);
	if (ret) {
		snprintf(pages_state, sizeof(pages_state),
			 "unavailable: kernel image mapping not understood");
		return 0;
	}
	ret = alloc_scratch();
	if (ret)
		return ret;
	open_pages = bitmap_zalloc((text.end - text.pa + rodata.end -
				    rodata.pa) >> PAGE_SHIFT, GFP_KERNEL);
	if (!open_pages)
		return -ENOMEM;
	ret = tv_ext_want(&guard, TV_EV_PAGE_ACCESS, 1);
	if (ret)
		return ret;
	/* Without MTF (Bochs' Skylake has none): skip and reopen. */
	has_mtf = tv_ext_want(&guard, TV_EV_MTF, 1) == 0;
	ret = protect_range(&text, &text_pages);
	if (!ret)
		ret = protect_range(&rodata, &rodata_pages);
	if (ret)
		return ret;
	snprintf(pages_state, sizeof(pages_state),
		 "protected: %lu text + %lu rodata pages, %s", text_pages,
		 rodata_pages, has_mtf ? "single steps (MTF)" :
		 "no MTF: blocked stores skipped");
	return 0;
}

static void unguard_pages(void)
{
	WRITE_ONCE(stopping, true);
	if (api.reset) {
		unprotect_range(&text, text_pages);
		unprotect_range(&rodata, rodata_pages);
	}
}

static struct tv_ext guard = {
	.name = "tvguard",
	.api_version = TV_EXT_API_VERSION,
	.owner = THIS_MODULE,
	.percpu_size = sizeof(struct guard_cpu),
	.event = guard_event,
};

static int __init tvguard_init(void)
{
	int ret;

	if (!strcmp(mode, "block"))
		block = true;
	else if (strcmp(mode, "report"))
		return -EINVAL;
	/* The values the kernel set at boot are the only ones allowed. */
	rdmsrl(MSR_LSTAR_NR, good_lstar);
	rdmsrl(MSR_SYSENTER_EIP_NR, good_sysenter_eip);
	ret = tv_ext_register(&guard);
	if (ret)
		return ret;
	api.defer = symbol_get(tv_ext_defer);
	ret = tv_ext_want_msr(&guard, MSR_LSTAR_NR, 0, 1);
	if (!ret)
		ret = tv_ext_want_msr(&guard, MSR_SYSENTER_EIP_NR, 0, 1);
	if (!ret)
		ret = tv_ext_want_cr(&guard, 4, 0, 1, CR4_GUARDED);
	if (!ret)
		ret = tv_ext_want_cr(&guard, 0, 0, 1, CR0_GUARDED);
	if (!ret)
		ret = guard_pages();
	if (ret)
		goto fail;
	schedule_delayed_work(&poll_work, HZ / 10);
	pr_info("tvguard: mode=%s, LSTAR 0x%llx, SYSENTER_EIP 0x%llx, CR4 SMEP/SMAP and CR0.WP guarded, pages %s\n",
		mode, good_lstar, good_sysenter_eip, pages_state);
	return 0;
fail:
	unguard_pages();
	cancel_delayed_work_sync(&poll_work);
	tv_ext_unregister(&guard);
	free_scratch();
	bitmap_free(open_pages);
	unbind_api();
	return ret;
}

static void __exit tvguard_exit(void)
{
	unguard_pages();
	cancel_delayed_work_sync(&poll_work);
	drain_all();	/* the records live in the per-CPU data */
	tv_ext_unregister(&guard);
	free_scratch();
	bitmap_free(open_pages);
	unbind_api();
	pr_info("tvguard: unloaded; every page writable again (%lu page writes, %lu MSR, %lu CR attempts, %lu text_pokes)\n",
		page_writes, msr_writes, cr_writes, text_pokes);
}

module_init(tvguard_init);
module_exit(tvguard_exit);
MODULE_LICENSE("Dual MIT/GPL");
MODULE_DESCRIPTION("thinvisor extension: kernel text/rodata, LSTAR and CR guard");
