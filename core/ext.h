/* SPDX-License-Identifier: MIT */
/*
 * The core's side of the extension API (include/thinvisor/extension.h):
 * the registry (core/ext.c, sleepable, the host serializes it with its
 * VMM lock), and what VMX root does with it (core/ext_root.c: the controls
 * every CPU runs with, the delivery of events, the callbacks' helpers).
 */
#ifndef TV_CORE_EXT_H
#define TV_CORE_EXT_H

#include "core/types.h"
#include "thinvisor/extension.h"

struct tv_vcpu;
struct tv_regs;

#define TV_EXT_MAX_LEAVES 16
#define TV_EXT_MAX_MSRS 64
#define TV_EXT_MAX_VMCALLS 16
#define TV_EXT_IO_BITMAP_BYTES 8192	/* bitmaps A and B: ports 0-0xffff */

/* What one registered extension asked for. */
struct tv_ext_slot {
	struct tv_ext *ext;	/* NULL: free */
	bool active;		/* init done: events reach it */
	void **percpu;		/* [tv_plat_cpu_limit()] when percpu_size */
	u32 events;		/* TV_EV_* bits without a finer selection */
	u32 leaves[TV_EXT_MAX_LEAVES];
	u32 nleaves;
	bool all_leaves;
	u32 msrs[TV_EXT_MAX_MSRS];
	u8 msr_rw[TV_EXT_MAX_MSRS];	/* bit 0 read, bit 1 write */
	u32 nmsrs;
	u16 cr_read, cr_write;	/* bit n: CR n (0, 3, 4, 8) */
	u64 cr0_mask, cr4_mask;
	u8 *io_ports;		/* TV_EXT_IO_BITMAP_BYTES, or NULL */
	u32 exceptions, pf_mask, pf_match;
	u64 vmcalls[TV_EXT_MAX_VMCALLS];
	u8 vmcall_cpl[TV_EXT_MAX_VMCALLS];
	u32 nvmcalls;
	u64 counts[TV_EV_COUNT];	/* events delivered to it */
	u64 *view0_pages;	/* pages it changed in view 0, to undo */
	u32 nview0, view0_cap;
	u64 *ve_pages;		/* pages whose violations are #VE: gpa | view */
	u32 nve, ve_cap;
};

/* Work an extension deferred from VMX root (tv_ext_defer). */
struct tv_ext_deferred {
	struct tv_ext *ext;
	void (*fn)(struct tv_ext *ext, unsigned long arg);
	unsigned long arg;
};

/* One per CPU: VMX root on that CPU writes head, the host thread tail. */
struct tv_ext_defer_ring {
	u32 head, tail;
	struct tv_ext_deferred item[TV_EXT_DEFER_SLOTS];
};

/* A view: view 0 is the core's identity map, the others are copies. */
struct tv_ext_view {
	struct tv_ept *ept;	/* NULL: free (view 0: the shared map) */
	struct tv_ext *owner;
};

/* What tvctl shows of one registered extension (tv_ext_core_list). */
#define TV_EXT_NAME_MAX 32
struct tv_ext_info {
	char name[TV_EXT_NAME_MAX];
	u64 counts[TV_EV_COUNT];
};

/*
 * Every extension and the union of what they ask, which VMX root turns
 * into controls (tv_ext_write_controls): recomputed in sleepable context
 * after any change, then applied on every CPU through a root call.
 */
struct tv_ext_state {
	struct tv_ext_slot slot[TV_EXT_MAX];
	/* Per event type, bit n: slot n asked for some of it (delivery). */
	u8 type_slots[TV_EV_COUNT];
	u32 proc, proc2;
	u32 exceptions, pf_mask, pf_match;
	u64 cr0_mask, cr4_mask;
	u64 exits[2];
	u32 cpuid_leaves;	/* tv_ext_cpuid_leaf_mask() of every asker */
	u8 *io_bitmap;		/* the VMCS's I/O bitmaps A and B */
	u8 *io_scratch;		/* their next contents, built in the guest */
	bool io_dirty;		/* to be copied in VMX root */
	u64 io_bitmap_pa;	/* (no host call for it in VMX root) */
	u8 *msr_default;	/* the MSR bitmap with no extension */
	struct tv_ext_view views[TV_EXT_MAX_VIEWS];
	u64 view_eptp[TV_EXT_MAX_VIEWS];	/* 0: no such view */
	u32 page_caps;		/* TV_PAGE_CAP_*, read at the first attach */
	struct tv_ext_defer_ring *defer;	/* [defer_cpus] */
	u32 defer_cpus;
	u64 *eptp_list;		/* VMFUNC's EPTP list (one page), or NULL */
	u64 eptp_list_pa;
	/*
	 * thinvisor's own pages, inaccessible to the guest in every view:
	 * sorted, searched from VMX root while the host changes it (ext.c).
	 * Outgrown arrays are retired, not freed, until unload.
	 */
	u64 *protected;
	u32 nprotected, protected_cap;
	u64 *retired[32];
	u32 nretired;
	/*
	 * Each view's map and table count when its tables were last all
	 * protected (valid until a page leaves the set): a CPU brought up
	 * adds no table, and need not look at them all again.
	 */
	const struct tv_ept *tables_seen_ept[TV_EXT_MAX_VIEWS];
	u32 tables_seen[TV_EXT_MAX_VIEWS];
	bool tables_seen_valid;
	bool mtf_warned;	/* said that MTF does not trap (once a load) */
	/*
	 * Each CPU's #VE information area (one page, allocated at the first
	 * tv_ext_page_set_ve(), kept until unload): guest memory, not
	 * protected, since the guest's handler reads it and frees it.
	 */
	struct tv_ve_info **ve_area;	/* [ve_cpus] */
	u64 *ve_area_pa;
	u32 ve_cpus;
};

_Static_assert(TV_EXT_MAX <= 8, "type_slots: one bit per slot in a u8");

extern struct tv_ext_state tv_ext_g;

/* core/ext.c: sleepable, host lock held. */
int tv_ext_core_attach(struct tv_ext *ext);
void tv_ext_core_activate(struct tv_ext *ext);
void tv_ext_core_detach(struct tv_ext *ext);
int tv_ext_core_want_cpuid(struct tv_ext *ext, u32 leaf, bool on);
int tv_ext_core_want_msr(struct tv_ext *ext, u32 msr, bool read, bool write);
int tv_ext_core_want_cr(struct tv_ext *ext, u32 cr, bool read, bool write,
			u64 mask);
int tv_ext_core_want_io(struct tv_ext *ext, u32 port, bool on);
int tv_ext_core_want_exception(struct tv_ext *ext, u32 vector, bool on,
			       u32 pf_mask, u32 pf_match);
int tv_ext_core_want_vmcall(struct tv_ext *ext, u64 nr, u32 max_cpl);
int tv_ext_core_want(struct tv_ext *ext, enum tv_ext_event_type type,
		     bool on);
int tv_ext_core_run_on_cpus(struct tv_ext *ext,
			    int (*fn)(struct tv_ext *ext, void *arg),
			    void *arg);
int tv_ext_core_view_create(struct tv_ext *ext);
void tv_ext_core_view_destroy(struct tv_ext *ext, int view);
int tv_ext_core_page_set(struct tv_ext *ext, int view, u64 gpa, u32 allowed,
			 u64 host_pa);
int tv_ext_core_page_set_range(struct tv_ext *ext, int view, u64 gpa,
			       u64 size, u32 allowed);
int tv_ext_core_page_reset(struct tv_ext *ext, int view, u64 gpa);
u32 tv_ext_core_page_caps(void);

/*
 * The second-level rights (EPT_READ/WRITE/EXEC) of TV_ACCESS_* @allowed:
 * the same bits, so that the API stays vendor-neutral and costs nothing.
 */
_Static_assert(TV_ACCESS_READ == 1 && TV_ACCESS_WRITE == 2 &&
	       TV_ACCESS_EXEC == 4, "TV_ACCESS_* are the EPT R/W/X bits");
static inline u64 tv_ext_ept_rights(u32 allowed)
{
	return allowed & TV_ACCESS_ALL;
}
/*
 * tv_ext_page_set_ve(): violations of @gpa in @view become #VE (@on) or
 * exits again; tv_ext_ve_info(): CPU @cpu's information area or NULL.
 */
int tv_ext_core_page_set_ve(struct tv_ext *ext, int view, u64 gpa, bool on);
struct tv_ve_info *tv_ext_core_ve_info(unsigned int cpu);
/*
 * The "EPT-violation #VE" control (PROC2_EPT_VE) every CPU runs with, or
 * 0: on only while active extensions have @marked_pages > 0 pages marked
 * for #VE, the CPU has it (@page_caps) and every CPU has its information
 * area (@areas).  Pure.
 */
u32 tv_ext_ve_proc2(u32 page_caps, u32 marked_pages, bool areas);
/*
 * Make the page at @pa inaccessible to the guest in every view, or give
 * it back (before it is freed).  Context: sleepable, host lock held.
 */
int tv_ext_core_protect(u64 pa);
void tv_ext_core_unprotect(u64 pa);
/* Protect (with the tables that takes) or give back @n pages, flushed. */
int tv_ext_core_protect_pages(const u64 *pa, unsigned int n);
void tv_ext_core_unprotect_pages(const u64 *pa, unsigned int n);
/* The first @max pages thinvisor protects from the guest (tests). */
unsigned int tv_ext_core_protected(u64 *out, unsigned int max);
/* Protect every EPT table page of every view (they grow by splits). */
int tv_ext_core_protect_tables(void);
/*
 * Run what extensions deferred from VMX root, in the host's thread (its
 * log thread, every few tens of milliseconds); work of an extension that
 * unregistered meanwhile is dropped.  Context: sleepable, without the
 * host's VMM lock (the work may call the API).
 */
void tv_ext_core_run_deferred(void);
/* Copy up to @max registered extensions, in order; returns how many. */
unsigned int tv_ext_core_list(struct tv_ext_info *out, unsigned int max);
/* Free what the registry holds (tv_vmm_fini: no extension is left). */
void tv_ext_core_fini(void);

/* core/ext_root.c: VMX root, on the vCPU's own CPU. */
/* Write the controls this CPU runs with: the core's, the extensions',
 * and the single steps in progress.
 */
void tv_ext_write_controls(struct tv_vcpu *v);
/* Flush this CPU's EPT-derived translations (every view). */
void tv_ext_flush_this_cpu(struct tv_vcpu *v);
/* A root call right after the CPU came under the VMM: cpu_up callbacks. */
int tv_ext_cpu_up(struct tv_vcpu *v, void *unused);
/* Right before the CPU is given back. */
void tv_ext_cpu_down(struct tv_vcpu *v);
/*
 * Offer @ev to every active extension that asked for it, in registration
 * order; the first reply other than TV_EXT_CONTINUE wins.  @regs' RSP is
 * loaded from the VMCS before and written back after.
 */
enum tv_ext_reply tv_ext_deliver(struct tv_vcpu *v, struct tv_regs *regs,
				 struct tv_ext_event *ev);
/* Is @gpa one of thinvisor's own pages? */
bool tv_ext_is_protected(u64 gpa);
/* The EPT pointer of the view this CPU runs in. */
u64 tv_ext_view_eptp(const struct tv_vcpu *v);
/* The highest CPL the owner of hypercall @nr allows, or -1: no owner. */
int tv_ext_vmcall_max_cpl(u64 nr);
/* Apply a TV_EXT_INJECT reply. */
void tv_ext_inject_reply(const struct tv_ext_event *ev);
/*
 * An instruction exit's reply other than CONTINUE: HANDLED steps past the
 * instruction, INJECT delivers the extension's exception, RETRY leaves
 * RIP alone.  Returns what the exit handler returns (resume).
 */
int tv_ext_finish(const struct tv_ext_event *ev, enum tv_ext_reply r);
/* The root call (TV_HC_ROOT_CALL): run the registry's function here. */
u64 tv_ext_root_call(struct tv_vcpu *v, u64 fn, u64 arg);

/*
 * core/exit.c: RDMSR (@write false) or WRMSR of @msr for the guest, as
 * the core does it; non-zero when the guest must get #GP instead.
 */
int tv_exit_msr_access(u32 msr, bool write, u64 *val);

/* The interrupt-window exit: deliver tv_ext_inject_interrupt()'s. */
int tv_ext_interrupt_window(struct tv_vcpu *v);

/*
 * core/ext_root.c: does an active extension want CPUID @leaf?  The exit
 * path's filter: a CPUID exit no extension asked for by its leaf takes
 * the plain handler, whatever other leaves are wanted.  Context: vmx-root.
 */
bool tv_ext_wants_cpuid(u32 leaf);
/*
 * The CPUID leaves an extension asked for as the exit stub tests them:
 * bit n for leaf n < 31, bit 31 for any leaf above 30, all with @all.
 */
u32 tv_ext_cpuid_leaf_mask(const u32 *leaves, u32 n, bool all);

/*
 * core/ext_root.c: the default of a page access no extension answered:
 * the page in the CPU's view gains the rights the access needs (logged).
 * TV_OK to resume; TV_ERR_INVALID when no extension's 4 KiB leaf is
 * there.  Context: vmx-root, on an EPT-violation exit.
 */
int tv_ext_page_unanswered(struct tv_vcpu *v);

/*
 * core/exit.c: the guest shut down (a triple fault, or a fault while
 * delivering a #DF that thinvisor saw first): reset or panic as the
 * options say.  Context: vmx-root.
 */
int tv_exit_triple_fault(struct tv_vcpu *v);

/* core/exit_ext.c: handlers of the exits only extensions ask for. */
int tv_exit_ext(struct tv_vcpu *v, struct tv_regs *regs, u32 basic);

#endif
