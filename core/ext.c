// SPDX-License-Identifier: MIT
/*
 * The extension registry: who is registered and what each one asked for,
 * turned into the union every CPU runs with.  Sleepable context only; the
 * host serializes every call with its VMM lock (so with CPU hotplug and
 * suspend).  A change is published in two steps: first the per-extension
 * selection and the union, then a root call on every CPU that rewrites
 * its controls, so that on return the change is in effect everywhere.
 */
#include "core/ext.h"
#include "core/vcpu.h"
#include "core/platform.h"
#include "core/emulate.h"
#include "core/ept.h"
#include "arch/x86/cpu.h"
#include "arch/x86/ept.h"
#include "arch/x86/msr.h"

struct tv_ext_state tv_ext_g;

static struct tv_ext_slot *slot_of(struct tv_ext *ext)
{
	if (!ext || ext->slot < 0 || ext->slot >= TV_EXT_MAX ||
	    tv_ext_g.slot[ext->slot].ext != ext)
		return NULL;
	return &tv_ext_g.slot[ext->slot];
}

static void set_bit64(u64 *bits, u32 n)
{
	bits[n / 64] |= 1ULL << (n % 64);
}

/* The exits each event needs (basic exit reasons). */
static void exits_of_event(u64 *exits, enum tv_ext_event_type type)
{
	switch (type) {
	case TV_EV_CPUID:
		set_bit64(exits, TV_EXIT_CPUID);
		break;
	case TV_EV_MSR_READ:
		set_bit64(exits, TV_EXIT_RDMSR);
		break;
	case TV_EV_MSR_WRITE:
		set_bit64(exits, TV_EXIT_WRMSR);
		break;
	case TV_EV_CR_WRITE:
	case TV_EV_CR_READ:
		set_bit64(exits, TV_EXIT_CR_ACCESS);
		break;
	case TV_EV_DR_ACCESS:
		set_bit64(exits, TV_EXIT_DR_ACCESS);
		break;
	case TV_EV_IO:
		set_bit64(exits, TV_EXIT_IO_INSTRUCTION);
		break;
	case TV_EV_DESCRIPTOR:
		set_bit64(exits, TV_EXIT_GDTR_IDTR);
		set_bit64(exits, TV_EXIT_LDTR_TR);
		break;
	case TV_EV_XSETBV:
		set_bit64(exits, TV_EXIT_XSETBV);
		break;
	case TV_EV_INVLPG:
		set_bit64(exits, TV_EXIT_INVLPG);
		break;
	case TV_EV_RDTSC:
		set_bit64(exits, TV_EXIT_RDTSC);
		set_bit64(exits, TV_EXIT_RDTSCP);
		break;
	case TV_EV_EXCEPTION:
		set_bit64(exits, TV_EXIT_EXCEPTION_NMI);
		break;
	case TV_EV_VMCALL:
		set_bit64(exits, TV_EXIT_VMCALL);
		break;
	case TV_EV_PAGE_ACCESS:
		set_bit64(exits, TV_EXIT_EPT_VIOLATION);
		break;
	case TV_EV_MTF:
		set_bit64(exits, TV_EXIT_MTF);
		break;
	default:
		break;
	}
}

/* Every event a slot asked for, finer selections included. */
static u32 slot_events(const struct tv_ext_slot *s)
{
	u32 ev = s->events, i;

	if (s->nleaves || s->all_leaves)
		ev |= TV_BIT(TV_EV_CPUID);
	for (i = 0; i < s->nmsrs; i++) {
		if (s->msr_rw[i] & 1)
			ev |= TV_BIT(TV_EV_MSR_READ);
		if (s->msr_rw[i] & 2)
			ev |= TV_BIT(TV_EV_MSR_WRITE);
	}
	if (s->cr_write)
		ev |= TV_BIT(TV_EV_CR_WRITE);
	if (s->cr_read)
		ev |= TV_BIT(TV_EV_CR_READ);
	if (s->io_ports)
		ev |= TV_BIT(TV_EV_IO);
	if (s->exceptions)
		ev |= TV_BIT(TV_EV_EXCEPTION);
	if (s->nvmcalls)
		ev |= TV_BIT(TV_EV_VMCALL);
	return ev;
}

u32 tv_ext_cpuid_leaf_mask(const u32 *leaves, u32 n, bool all)
{
	u32 mask = 0, i;

	if (all)
		return ~0u;
	for (i = 0; i < n; i++)
		mask |= (u32)TV_BIT(leaves[i] < 31 ? leaves[i] : 31);
	return mask;
}

/*
 * Recompute the union of what the active extensions ask: controls,
 * exception bitmap, CR masks, the I/O bitmaps and the exits to route.
 */
static void recompute(void)
{
	struct tv_ext_state *g = &tv_ext_g;
	u32 proc = 0, proc2 = 0, exc = 0, i, ev, t, ve_pages = 0;
	u64 exits[2] = { 0, 0 }, cr0 = 0, cr4 = 0;
	u8 type_slots[TV_EV_COUNT] = { 0 };
	bool pf_seen = false, pf_mixed = false;
	u32 pf_mask = 0, pf_match = 0, leaves = 0;

	/* The union is built here and copied to the real bitmaps in root. */
	if (g->io_scratch)
		for (i = 0; i < TV_EXT_IO_BITMAP_BYTES; i++)
			g->io_scratch[i] = 0;
	for (i = 0; i < TV_EXT_MAX; i++) {
		const struct tv_ext_slot *s = &g->slot[i];

		if (!s->ext || !s->active)
			continue;
		ev = slot_events(s);
		for (t = 0; t < TV_EV_COUNT; t++)
			if (ev & TV_BIT(t)) {
				exits_of_event(exits, t);
				type_slots[t] |= (u8)TV_BIT(i);
			}
		if (ev & TV_BIT(TV_EV_CPUID))
			leaves |= tv_ext_cpuid_leaf_mask(s->leaves, s->nleaves,
							 s->all_leaves);
		for (t = 0; t < s->nmsrs; t++) {
			if (s->msr_rw[t] & 1)
				set_bit64(exits, TV_EXIT_RDMSR);
			if (s->msr_rw[t] & 2)
				set_bit64(exits, TV_EXIT_WRMSR);
		}
		if (s->cr_write & TV_BIT(3))
			proc |= PROC_CR3_LOAD_EXITING;
		if (s->cr_read & TV_BIT(3))
			proc |= PROC_CR3_STORE_EXITING;
		if (s->cr_write & TV_BIT(8))
			proc |= PROC_CR8_LOAD_EXITING;
		if (s->cr_read & TV_BIT(8))
			proc |= PROC_CR8_STORE_EXITING;
		cr0 |= s->cr0_mask;
		cr4 |= s->cr4_mask;
		if (ev & TV_BIT(TV_EV_DR_ACCESS))
			proc |= PROC_MOV_DR_EXITING;
		if (ev & TV_BIT(TV_EV_INVLPG))
			proc |= PROC_INVLPG_EXITING;
		if (ev & TV_BIT(TV_EV_RDTSC))
			proc |= PROC_RDTSC_EXITING;
		if (ev & TV_BIT(TV_EV_DESCRIPTOR))
			proc2 |= PROC2_DESC_TABLE_EXITING;
		if (s->io_ports && g->io_scratch) {
			proc |= PROC_USE_IO_BITMAPS;
			for (t = 0; t < TV_EXT_IO_BITMAP_BYTES; t++)
				g->io_scratch[t] |= s->io_ports[t];
		}
		exc |= s->exceptions;
		ve_pages += s->nve;
		if (s->exceptions & TV_BIT(VEC_PF)) {
			if (pf_seen && (s->pf_mask != pf_mask ||
					s->pf_match != pf_match))
				pf_mixed = true;
			pf_seen = true;
			pf_mask = s->pf_mask;
			pf_match = s->pf_match;
		}
	}
	/* Different #PF filters: every #PF exits, ext_root.c filters. */
	if (pf_mixed)
		pf_mask = pf_match = 0;
	proc2 |= tv_ext_ve_proc2(g->page_caps, ve_pages, !!g->ve_area_pa);
	for (t = 0; t < TV_EV_COUNT; t++)
		__atomic_store_n(&g->type_slots[t], type_slots[t],
				 __ATOMIC_RELAXED);
	g->proc = proc;
	g->proc2 = proc2;
	g->exceptions = exc;
	g->pf_mask = pf_mask;
	g->pf_match = pf_match;
	g->cr0_mask = cr0;
	g->cr4_mask = cr4;
	g->exits[0] = exits[0];
	g->exits[1] = exits[1];
	g->cpuid_leaves = leaves;
}

/*
 * Write thinvisor's protected structures: in VMX root while some CPU runs
 * under the EPT (the guest cannot reach them), here when none does (all
 * given back for suspend, or the last one going: the EPT is in use
 * nowhere, and freed pages must not stay inaccessible for the next load).
 * Only tv_vmm_root_call_any()'s TV_ERR_BUSY means "none does".
 */
static int in_root(int (*fn)(struct tv_vcpu *v, void *arg), void *arg)
{
	int ret = tv_vmm_root_call_any(fn, arg);

	return ret == TV_ERR_BUSY ? fn(NULL, arg) : ret;
}

struct msr_op {
	u8 *bitmap;
	u32 msr;
	bool rd, wr;
};

/* The MSR bitmap is protected: written in VMX root. */
static TV_VMX_ROOT int op_msr_bitmap(struct tv_vcpu *v, void *arg)
{
	struct msr_op *op = arg;

	(void)v;
	/* Clear both, then set what is wanted: tv_msr_bitmap_set ORs. */
	tv_msr_bitmap_clear(op->bitmap, op->msr);
	tv_msr_bitmap_set(op->bitmap, op->msr, op->rd, op->wr);
	return 0;
}

/*
 * Make the MSR bitmap agree with the extensions: an MSR exits when the
 * core does by default or some active extension asked for it.
 */
static void sync_msr_bitmap(u32 msr)
{
	const struct tv_shared *sh = tv_vmm_shared();
	struct msr_op op;
	bool rd, wr;
	u32 i, m;

	if (!sh || !tv_ext_g.msr_default)
		return;
	rd = tv_msr_bitmap_exits(tv_ext_g.msr_default, msr, false);
	wr = tv_msr_bitmap_exits(tv_ext_g.msr_default, msr, true);
	for (i = 0; i < TV_EXT_MAX; i++) {
		const struct tv_ext_slot *s = &tv_ext_g.slot[i];

		if (!s->ext)
			continue;
		for (m = 0; m < s->nmsrs; m++) {
			if (s->msrs[m] != msr)
				continue;
			rd |= s->msr_rw[m] & 1;
			wr |= !!(s->msr_rw[m] & 2);
		}
	}
	op.bitmap = sh->msr_bitmap;
	op.msr = msr;
	op.rd = rd;
	op.wr = wr;
	in_root(op_msr_bitmap, &op);
}

static TV_VMX_ROOT int apply_on_cpu(struct tv_vcpu *v, void *arg)
{
	unsigned int i;

	(void)arg;
	/* The first CPU copies the I/O bitmaps' union (protected pages). */
	if (tv_ext_g.io_dirty && tv_ext_g.io_bitmap) {
		for (i = 0; i < TV_EXT_IO_BITMAP_BYTES; i++)
			tv_ext_g.io_bitmap[i] = tv_ext_g.io_scratch[i];
		tv_ext_g.io_dirty = false;
	}
	tv_ext_write_controls(v);
	return 0;
}

/* Publish the union and rewrite every CPU's controls. */
static void apply_everywhere(void)
{
	recompute();
	tv_ext_g.io_dirty = tv_ext_g.io_scratch != NULL;
	tv_vmm_root_call_each(apply_on_cpu, NULL);
}

int tv_ext_core_attach(struct tv_ext *ext)
{
	unsigned int i, cpu, limit = tv_plat_cpu_limit();
	struct tv_ext_slot *s = NULL;

	if (!ext || ext->api_version != TV_EXT_API_VERSION || !ext->name)
		return TV_ERR_INVALID;
	if (!tv_vmm_shared())
		return TV_ERR_BUSY;
	for (i = 0; i < TV_EXT_MAX; i++) {
		if (tv_ext_g.slot[i].ext == ext)
			return TV_ERR_EXISTS;
		if (!s && !tv_ext_g.slot[i].ext)
			s = &tv_ext_g.slot[i];
	}
	if (!s)
		return TV_ERR_BUSY;
	if (!tv_ext_g.msr_default) {
		tv_ext_g.msr_default = tv_plat_alloc_pages(1);
		if (!tv_ext_g.msr_default)
			return TV_ERR_NO_MEMORY;
		tv_msr_bitmap_build(tv_ext_g.msr_default);
	}
	if (!tv_ext_g.defer) {
		tv_ext_g.defer = tv_plat_zalloc(limit * sizeof(*tv_ext_g.defer));
		if (!tv_ext_g.defer)
			return TV_ERR_NO_MEMORY;
		tv_ext_g.defer_cpus = limit;
	}
	*s = (struct tv_ext_slot){ 0 };
	if (tv_vmm_shared()->mtf_untrapped && !tv_ext_g.mtf_warned) {
		tv_ext_g.mtf_warned = true;
		tv_log(TV_LOG_WARN,
		       "thinvisor: the monitor trap flag is advertised but does not trap: no single steps here\n");
	}
	tv_ext_g.page_caps = tv_ext_core_page_caps();
	if (ext->percpu_size) {
		s->percpu = tv_plat_zalloc(limit * sizeof(void *));
		if (!s->percpu)
			return TV_ERR_NO_MEMORY;
		for (cpu = 0; cpu < limit; cpu++) {
			s->percpu[cpu] = tv_plat_zalloc(ext->percpu_size);
			if (!s->percpu[cpu])
				goto nomem;
		}
	}
	ext->slot = (int)(s - tv_ext_g.slot);
	s->ext = ext;
	return TV_OK;
nomem:
	for (cpu = 0; cpu < limit; cpu++)
		tv_plat_free(s->percpu[cpu]);
	tv_plat_free(s->percpu);
	s->percpu = NULL;
	return TV_ERR_NO_MEMORY;
}

static TV_VMX_ROOT int cpu_up_on_cpu(struct tv_vcpu *v, void *arg)
{
	struct tv_ext *ext = arg;

	if (ext->cpu_up)
		ext->cpu_up(ext, v->cpu);
	return 0;
}

void tv_ext_core_activate(struct tv_ext *ext)
{
	struct tv_ext_slot *s = slot_of(ext);

	if (!s)
		return;
	s->active = true;
	apply_everywhere();
	tv_vmm_root_call_each(cpu_up_on_cpu, ext);
}

static TV_VMX_ROOT int cpu_down_on_cpu(struct tv_vcpu *v, void *arg)
{
	struct tv_ext *ext = arg;

	if (ext->cpu_down)
		ext->cpu_down(ext, v->cpu);
	return 0;
}

static void reset_view0_pages(struct tv_ext_slot *s);

void tv_ext_core_detach(struct tv_ext *ext)
{
	struct tv_ext_slot *s = slot_of(ext);
	unsigned int cpu, limit = tv_plat_cpu_limit();
	u32 m;

	if (!s)
		return;
	if (s->active) {
		tv_vmm_root_call_each(cpu_down_on_cpu, ext);
		s->active = false;
	}
	/* Its views and its changes to view 0 go with it. */
	for (m = 1; m < TV_EXT_MAX_VIEWS; m++)
		tv_ext_core_view_destroy(ext, (int)m);
	reset_view0_pages(s);
	/* Off on every CPU; the root calls also wait out any callback. */
	apply_everywhere();
	s->ext = NULL;
	for (m = 0; m < s->nmsrs; m++)
		sync_msr_bitmap(s->msrs[m]);
	if (s->percpu) {
		for (cpu = 0; cpu < limit; cpu++)
			tv_plat_free(s->percpu[cpu]);
		tv_plat_free(s->percpu);
	}
	tv_plat_free(s->io_ports);
	tv_plat_free(s->ve_pages);
	*s = (struct tv_ext_slot){ 0 };
	ext->slot = -1;
}

int tv_ext_core_want_cpuid(struct tv_ext *ext, u32 leaf, bool on)
{
	struct tv_ext_slot *s = slot_of(ext);
	u32 i;

	if (!s)
		return TV_ERR_INVALID;
	if (leaf == TV_EXT_ALL_LEAVES) {
		s->all_leaves = on;
	} else {
		for (i = 0; i < s->nleaves && s->leaves[i] != leaf; i++)
			;
		if (on && i == s->nleaves) {
			if (s->nleaves == TV_EXT_MAX_LEAVES)
				return TV_ERR_NO_SPACE;
			s->leaves[s->nleaves++] = leaf;
		} else if (!on && i < s->nleaves) {
			s->leaves[i] = s->leaves[--s->nleaves];
		}
	}
	apply_everywhere();
	return TV_OK;
}

int tv_ext_core_want_msr(struct tv_ext *ext, u32 msr, bool read, bool write)
{
	struct tv_ext_slot *s = slot_of(ext);
	u32 i;

	if (!s || !tv_msr_in_bitmap(msr))
		return TV_ERR_INVALID;
	for (i = 0; i < s->nmsrs && s->msrs[i] != msr; i++)
		;
	if (i == s->nmsrs) {
		if (!read && !write)
			return TV_OK;
		if (s->nmsrs == TV_EXT_MAX_MSRS)
			return TV_ERR_NO_SPACE;
		s->msrs[s->nmsrs++] = msr;
	}
	s->msr_rw[i] = (read ? 1 : 0) | (write ? 2 : 0);
	if (!s->msr_rw[i]) {
		s->nmsrs--;
		s->msrs[i] = s->msrs[s->nmsrs];
		s->msr_rw[i] = s->msr_rw[s->nmsrs];
	}
	/* Route the exits first, then let the access exit. */
	apply_everywhere();
	sync_msr_bitmap(msr);
	return TV_OK;
}

int tv_ext_core_want_cr(struct tv_ext *ext, u32 cr, bool read, bool write,
			u64 mask)
{
	struct tv_ext_slot *s = slot_of(ext);
	const struct tv_shared *sh = tv_vmm_shared();
	u32 need = 0;

	if (!s || !sh)
		return TV_ERR_INVALID;
	switch (cr) {
	case 0:
	case 4:
		if (read)
			return TV_ERR_INVALID;
		if (cr == 0)
			s->cr0_mask = write ? mask : 0;
		else
			s->cr4_mask = write ? mask : 0;
		break;
	case 3:
		need = (read ? PROC_CR3_STORE_EXITING : 0) |
		       (write ? PROC_CR3_LOAD_EXITING : 0);
		break;
	case 8:
		need = (read ? PROC_CR8_STORE_EXITING : 0) |
		       (write ? PROC_CR8_LOAD_EXITING : 0);
		break;
	default:
		return TV_ERR_INVALID;
	}
	if (need && (tv_adjust_controls(sh->caps.proc, need) & need) != need)
		return TV_ERR_UNSUPPORTED;
	s->cr_read = (s->cr_read & ~TV_BIT(cr)) | (read ? TV_BIT(cr) : 0);
	s->cr_write = (s->cr_write & ~TV_BIT(cr)) | (write ? TV_BIT(cr) : 0);
	apply_everywhere();
	return TV_OK;
}

int tv_ext_core_want_io(struct tv_ext *ext, u32 port, bool on)
{
	struct tv_ext_slot *s = slot_of(ext);

	if (!s || port > 0xffff)
		return TV_ERR_INVALID;
	if (!tv_ext_g.io_scratch) {
		tv_ext_g.io_scratch = tv_plat_zalloc(TV_EXT_IO_BITMAP_BYTES);
		if (!tv_ext_g.io_scratch)
			return TV_ERR_NO_MEMORY;
	}
	if (!tv_ext_g.io_bitmap) {
		tv_ext_g.io_bitmap =
			tv_plat_alloc_pages(TV_EXT_IO_BITMAP_BYTES /
					    TV_PAGE_SIZE);
		if (!tv_ext_g.io_bitmap)
			return TV_ERR_NO_MEMORY;
		tv_ext_g.io_bitmap_pa = tv_plat_virt_to_phys(tv_ext_g.io_bitmap);
		if (tv_ext_core_protect(tv_ext_g.io_bitmap_pa) ||
		    tv_ext_core_protect(tv_ext_g.io_bitmap_pa + TV_PAGE_SIZE))
			return TV_ERR_NO_MEMORY;
	}
	if (!s->io_ports && on) {
		s->io_ports = tv_plat_zalloc(TV_EXT_IO_BITMAP_BYTES);
		if (!s->io_ports)
			return TV_ERR_NO_MEMORY;
	}
	if (!s->io_ports)
		return TV_OK;
	if (on)
		s->io_ports[port / 8] |= (u8)(1u << (port % 8));
	else
		s->io_ports[port / 8] &= (u8)~(1u << (port % 8));
	apply_everywhere();
	return TV_OK;
}

int tv_ext_core_want_exception(struct tv_ext *ext, u32 vector, bool on,
			       u32 pf_mask, u32 pf_match)
{
	struct tv_ext_slot *s = slot_of(ext);

	/* NMI and #MC are thinvisor's own (core/root.c). */
	if (!s || vector > 31 || vector == VEC_NMI || vector == VEC_MC)
		return TV_ERR_INVALID;
	if (on)
		s->exceptions |= TV_BIT(vector);
	else
		s->exceptions &= ~TV_BIT(vector);
	if (vector == VEC_PF) {
		s->pf_mask = pf_mask;
		s->pf_match = pf_match;
	}
	apply_everywhere();
	return TV_OK;
}

int tv_ext_core_want_vmcall(struct tv_ext *ext, u64 nr, u32 max_cpl)
{
	struct tv_ext_slot *s = slot_of(ext);
	u32 i, j;

	if (!s || nr < TV_HC_EXT_FIRST || nr > TV_HC_EXT_LAST || max_cpl > 3)
		return TV_ERR_INVALID;
	for (i = 0; i < TV_EXT_MAX; i++)
		for (j = 0; j < tv_ext_g.slot[i].nvmcalls; j++)
			if (tv_ext_g.slot[i].vmcalls[j] == nr)
				return TV_ERR_EXISTS;
	if (s->nvmcalls == TV_EXT_MAX_VMCALLS)
		return TV_ERR_NO_SPACE;
	s->vmcalls[s->nvmcalls] = nr;
	s->vmcall_cpl[s->nvmcalls] = (u8)max_cpl;
	s->nvmcalls++;
	apply_everywhere();
	return TV_OK;
}

int tv_ext_core_want(struct tv_ext *ext, enum tv_ext_event_type type, bool on)
{
	struct tv_ext_slot *s = slot_of(ext);
	const struct tv_shared *sh = tv_vmm_shared();
	u32 need = 0, need2 = 0;

	if (!s || !sh)
		return TV_ERR_INVALID;
	switch (type) {
	case TV_EV_DR_ACCESS:
		need = PROC_MOV_DR_EXITING;
		break;
	case TV_EV_INVLPG:
		need = PROC_INVLPG_EXITING;
		break;
	case TV_EV_RDTSC:
		need = PROC_RDTSC_EXITING;
		break;
	case TV_EV_DESCRIPTOR:
		need2 = PROC2_DESC_TABLE_EXITING;
		break;
	case TV_EV_MTF:
		/* Advertised is not enough: the launch's probe must agree. */
		if (on && !sh->mtf)
			return TV_ERR_UNSUPPORTED;
		need = PROC_MTF;
		break;
	case TV_EV_XSETBV:
	case TV_EV_PAGE_ACCESS:
		break;
	default:
		return TV_ERR_INVALID;
	}
	if (on && need &&
	    (tv_adjust_controls(sh->caps.proc, need) & need) != need)
		return TV_ERR_UNSUPPORTED;
	if (on && need2 &&
	    (tv_adjust_controls(sh->caps.proc2, need2) & need2) != need2)
		return TV_ERR_UNSUPPORTED;
	if (on)
		s->events |= TV_BIT(type);
	else
		s->events &= ~TV_BIT(type);
	apply_everywhere();
	return TV_OK;
}

struct ext_call {
	struct tv_ext *ext;
	int (*fn)(struct tv_ext *ext, void *arg);
	void *arg;
};

static TV_VMX_ROOT int ext_call_on_cpu(struct tv_vcpu *v, void *arg)
{
	struct ext_call *c = arg;

	(void)v;
	return c->fn(c->ext, c->arg);
}

int tv_ext_core_run_on_cpus(struct tv_ext *ext,
			    int (*fn)(struct tv_ext *ext, void *arg),
			    void *arg)
{
	struct ext_call c = { ext, fn, arg };

	if (!slot_of(ext) || !fn)
		return TV_ERR_INVALID;
	return tv_vmm_root_call_each(ext_call_on_cpu, &c);
}

unsigned int tv_ext_core_list(struct tv_ext_info *out, unsigned int max)
{
	unsigned int i, n = 0, c, t;

	for (i = 0; i < TV_EXT_MAX && n < max; i++) {
		const struct tv_ext_slot *s = &tv_ext_g.slot[i];

		if (!s->ext || !s->active)
			continue;
		for (c = 0; c + 1 < TV_EXT_NAME_MAX && s->ext->name[c]; c++)
			out[n].name[c] = s->ext->name[c];
		out[n].name[c] = 0;
		for (t = 0; t < TV_EV_COUNT; t++)
			out[n].counts[t] = __atomic_load_n(&s->counts[t],
							   __ATOMIC_RELAXED);
		n++;
	}
	return n;
}

void tv_ext_core_run_deferred(void)
{
	struct tv_ext_defer_ring *r;
	struct tv_ext_deferred it;
	u32 cpu, tail;

	for (cpu = 0; tv_ext_g.defer && cpu < tv_ext_g.defer_cpus; cpu++) {
		r = &tv_ext_g.defer[cpu];
		tail = r->tail;
		while (tail != __atomic_load_n(&r->head, __ATOMIC_ACQUIRE)) {
			it = r->item[tail % TV_EXT_DEFER_SLOTS];
			__atomic_store_n(&r->tail, ++tail, __ATOMIC_RELEASE);
			if (slot_of(it.ext) && slot_of(it.ext)->active)
				it.fn(it.ext, it.arg);
		}
	}
}

void tv_ext_core_fini(void)
{
	int v;

	/* Every CPU is given back: no view is in use. */
	for (v = 1; v < TV_EXT_MAX_VIEWS; v++)
		tv_ept_free(tv_ext_g.views[v].ept);
	tv_plat_free(tv_ext_g.protected);
	for (v = 0; v < (int)tv_ext_g.nretired; v++)
		tv_plat_free(tv_ext_g.retired[v]);
	tv_plat_free(tv_ext_g.defer);
	for (v = 0; tv_ext_g.ve_area && v < (int)tv_ext_g.ve_cpus; v++)
		if (tv_ext_g.ve_area[v])
			tv_plat_free_pages(tv_ext_g.ve_area[v], 1);
	tv_plat_free(tv_ext_g.ve_area);
	tv_plat_free(tv_ext_g.ve_area_pa);
	if (tv_ext_g.eptp_list)
		tv_plat_free_pages(tv_ext_g.eptp_list, 1);
	if (tv_ext_g.io_bitmap)
		tv_plat_free_pages(tv_ext_g.io_bitmap,
				   TV_EXT_IO_BITMAP_BYTES / TV_PAGE_SIZE);
	tv_plat_free(tv_ext_g.io_scratch);
	if (tv_ext_g.msr_default)
		tv_plat_free_pages(tv_ext_g.msr_default, 1);
	tv_ext_g = (struct tv_ext_state){ 0 };
}

/* --- second-level page permissions and views ------------------------- */
/*
 * Once thinvisor protects itself, the EPT tables, the bitmaps and the
 * EPTP list are out of the guest's reach, and this code runs in the guest:
 * every write to them is made in VMX root through a root call (op_*),
 * with the tables it may need reserved here before, in sleepable context.
 */

static struct tv_shared *shared_mut(void)
{
	return (struct tv_shared *)tv_vmm_shared();
}

u32 tv_ext_core_page_caps(void)
{
	const struct tv_shared *sh = tv_vmm_shared();
	u32 caps = 0;

	if (!sh)
		return 0;
	if (sh->caps.ept_vpid & EPT_CAP_EXEC_ONLY)
		caps |= TV_PAGE_CAP_EXEC_ONLY;
	/* EPTP switching is VM function 0 (IA32_VMX_VMFUNC bit 0). */
	if ((sh->caps.proc2 & ((u64)PROC2_ENABLE_VMFUNC << 32)) &&
	    (sh->caps.vmfunc & 1))
		caps |= TV_PAGE_CAP_FAST_SWITCH;
	if (sh->caps.proc2 & ((u64)PROC2_EPT_VE << 32))
		caps |= TV_PAGE_CAP_VE;
	return caps;
}

static struct tv_ept *view_ept_any(int view)
{
	if (view == TV_VIEW_DEFAULT)
		return shared_mut() ? shared_mut()->ept : NULL;
	if (view < 0 || view >= TV_EXT_MAX_VIEWS)
		return NULL;
	return tv_ext_g.views[view].ept;
}

static struct tv_ept *view_ept(struct tv_ext *ext, int view)
{
	if (view != TV_VIEW_DEFAULT &&
	    (view < 0 || view >= TV_EXT_MAX_VIEWS ||
	     tv_ext_g.views[view].owner != ext))
		return NULL;
	return view_ept_any(view);
}

static TV_VMX_ROOT int flush_on_cpu(struct tv_vcpu *v, void *arg)
{
	(void)arg;
	tv_ext_flush_this_cpu(v);
	return 0;
}

/* Changed leaves are in effect on every CPU once this returns. */
static void flush_everywhere(void)
{
	tv_vmm_root_call_each(flush_on_cpu, NULL);
}

/* ... but on CPU @done, which flushed already (~0: none did). */
static void flush_everywhere_but(u32 done)
{
	tv_vmm_root_call_others(done, flush_on_cpu, NULL);
}

/*
 * tv_ept_leaf_write(), and violations there exit (never a #VE), in the
 * same one store.
 */
static TV_VMX_ROOT void set_leaf_exiting(u64 *leaf, u64 rights, u64 host_pa)
{
	u64 e = tv_ept_leaf_ve(__atomic_load_n(leaf, __ATOMIC_ACQUIRE), false);

	tv_ept_leaf_write(&e, rights, host_pa);
	__atomic_store_n(leaf, e, __ATOMIC_RELEASE);
}

/*
 * The protected set is sorted: a CPU brought up checks every EPT table
 * against it, and a linear search made that quadratic in the CPUs.
 * Readers in VMX root run while the host changes it, so the host keeps
 * it sorted at every store and holding every entry but the one leaving
 * (each entry is copied before its slot is overwritten), publishes a
 * bigger array before the count passes the old one's end, and never
 * frees an array a reader may still be in.
 */

/* Index of the first entry >= @pa among the first @n of @a. */
static TV_VMX_ROOT u32 protected_slot(const u64 *a, u32 n, u64 pa)
{
	u32 lo = 0, hi = n;

	while (lo < hi) {
		u32 mid = lo + (hi - lo) / 2;

		if (__atomic_load_n(&a[mid], __ATOMIC_RELAXED) < pa)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

TV_VMX_ROOT bool tv_ext_is_protected(u64 gpa)
{
	u32 n = __atomic_load_n(&tv_ext_g.nprotected, __ATOMIC_ACQUIRE);
	const u64 *a = __atomic_load_n(&tv_ext_g.protected, __ATOMIC_ACQUIRE);
	u32 i;

	gpa &= ~(u64)(TV_PAGE_SIZE - 1);
	i = protected_slot(a, n, gpa);
	return i < n && __atomic_load_n(&a[i], __ATOMIC_RELAXED) == gpa;
}

static void store_entry(u64 *a, u32 i, u64 v)
{
	__atomic_store_n(&a[i], v, __ATOMIC_RELEASE);
}

/*
 * Sort @m page addresses, drop repeats; the new count.  Insertion sort:
 * they come nearly sorted (a CPU's run of pages, or the table store,
 * which is in PA order block by block), so it stays close to linear even
 * for the hundreds of tables of a large map at load.
 */
static u32 sort_unique(u64 *p, u32 m)
{
	u32 i, k, out;

	for (i = 1; i < m; i++) {
		u64 x = p[i];

		for (k = i; k > 0 && p[k - 1] > x; k--)
			p[k] = p[k - 1];
		p[k] = x;
	}
	for (i = 0, out = 0; i < m; i++)
		if (!out || p[i] != p[out - 1])
			p[out++] = p[i];
	return out;
}

/* Room for @m more entries: a bigger array, the old one retired. */
static int protected_room(u32 m)
{
	u32 n = tv_ext_g.nprotected, cap = tv_ext_g.protected_cap, k;
	u64 *bigger;

	if (n + m <= cap)
		return TV_OK;
	if (tv_ext_g.nretired == TV_ARRAY_SIZE(tv_ext_g.retired))
		return TV_ERR_NO_MEMORY;
	while (cap < n + m)
		cap = cap ? 2 * cap : 64;
	bigger = tv_plat_zalloc(cap * sizeof(u64));
	if (!bigger)
		return TV_ERR_NO_MEMORY;
	for (k = 0; k < n; k++)
		bigger[k] = tv_ext_g.protected[k];
	if (tv_ext_g.protected)
		tv_ext_g.retired[tv_ext_g.nretired++] = tv_ext_g.protected;
	__atomic_store_n(&tv_ext_g.protected, bigger, __ATOMIC_RELEASE);
	tv_ext_g.protected_cap = cap;
	return TV_OK;
}

/*
 * Add @pa[0..@m) (page-aligned) to the protected set; sorts @pa, and
 * leaves there the @*added pages that were new.  One merge from the top:
 * the new end is written before the count covers it, and every entry is
 * copied up before its slot is overwritten.
 */
static int protected_add(u64 *pa, u32 m, u32 *added)
{
	u32 n = tv_ext_g.nprotected, i, j, k;
	u64 *a = tv_ext_g.protected;
	int ret;

	m = sort_unique(pa, m);
	/* Drop what is in already: one search, then both lists in step. */
	j = m ? protected_slot(a, n, pa[0]) : 0;
	for (i = 0, k = 0; i < m; i++) {
		while (j < n && a[j] < pa[i])
			j++;
		if (j >= n || a[j] != pa[i])
			pa[k++] = pa[i];
	}
	m = k;
	*added = m;
	if (!m)
		return TV_OK;
	ret = protected_room(m);
	if (ret)
		return ret;
	a = tv_ext_g.protected;
	i = n;
	j = m;
	for (k = n + m; j > 0;) {
		k--;
		if (i > 0 && a[i - 1] > pa[j - 1])
			store_entry(a, k, a[--i]);
		else
			store_entry(a, k, pa[--j]);
		if (k == n)
			__atomic_store_n(&tv_ext_g.nprotected, n + m,
					 __ATOMIC_RELEASE);
	}
	return TV_OK;
}

/* Take @pa out of the protected set; false if it was not in it. */
static bool forget_protected(u64 pa)
{
	u32 n = tv_ext_g.nprotected, i, k;
	u64 *a = tv_ext_g.protected;

	i = protected_slot(a, n, pa);
	if (i >= n || a[i] != pa)
		return false;
	for (k = i; k + 1 < n; k++)
		store_entry(a, k, a[k + 1]);
	__atomic_store_n(&tv_ext_g.nprotected, n - 1, __ATOMIC_RELEASE);
	tv_ext_g.tables_seen_valid = false;
	return true;
}

static bool page_protected(u64 pa)
{
	return tv_ext_is_protected(pa);
}

static int grow(u64 **arr, u32 *cap, u32 n)
{
	u64 *bigger;
	u32 c = *cap ? *cap * 2 : 64, i;

	if (n < *cap)
		return TV_OK;
	bigger = tv_plat_zalloc(c * sizeof(u64));
	if (!bigger)
		return TV_ERR_NO_MEMORY;
	for (i = 0; i < n; i++)
		bigger[i] = (*arr)[i];
	tv_plat_free(*arr);
	*arr = bigger;
	*cap = c;
	return TV_OK;
}

static int note_view0_page(struct tv_ext_slot *s, u64 gpa)
{
	u32 i;

	for (i = 0; i < s->nview0; i++)
		if (s->view0_pages[i] == gpa)
			return TV_OK;
	if (grow(&s->view0_pages, &s->view0_cap, s->nview0))
		return TV_ERR_NO_MEMORY;
	s->view0_pages[s->nview0++] = gpa;
	return TV_OK;
}

/*
 * Tables a change of [gpa, gpa + size) may split: one per 2 MiB and one
 * per 1 GiB block it touches, in every view when @all_views.
 */
static int reserve_tables(struct tv_ept *only, u32 n)
{
	int v, ret;

	for (v = 0; v < TV_EXT_MAX_VIEWS; v++) {
		struct tv_ept *ept = view_ept_any(v);

		if (!ept || (only && ept != only))
			continue;
		ret = tv_ept_reserve(ept, n);
		if (ret)
			return ret;
	}
	return TV_OK;
}

static int reserve_for(struct tv_ept *only, u64 gpa, u64 size)
{
	u64 first = gpa & ~(EPT_PDE_SPAN - 1), last = (gpa + size - 1);

	return reserve_tables(only, (u32)(((last - first) >> 21) + 1 +
					  ((last - first) >> 30) + 1));
}

struct page_op {
	struct tv_ept *ept;
	u64 gpa, end, rights, host_pa;	/* host_pa ~0: identity */
	int err;
};

static TV_VMX_ROOT int op_set_pages(struct tv_vcpu *v, void *arg)
{
	struct page_op *op = arg;
	u64 gpa;
	int ret;

	(void)v;
	for (gpa = op->gpa; gpa < op->end; gpa += TV_PAGE_SIZE) {
		if (tv_ext_is_protected(gpa))
			continue;	/* thinvisor's own: stays out of reach */
		ret = tv_ept_set_page(op->ept, gpa, op->rights,
				      op->host_pa == ~0ULL ? gpa : op->host_pa);
		if (ret)
			return ret;
	}
	return TV_OK;
}

static int set_pages(struct tv_ext *ext, int view, u64 gpa, u64 size,
		     u32 allowed, u64 host_pa)
{
	struct tv_ext_slot *s = slot_of(ext);
	struct page_op op;
	u64 a;
	int ret;

	op.ept = view_ept(ext, view);
	gpa &= EPT_ADDR_MASK;
	if (!s || !op.ept || !size || gpa + size < gpa ||
	    gpa + size > tv_ept_mapped_end(op.ept) || allowed > TV_ACCESS_ALL ||
	    ((allowed & TV_ACCESS_WRITE) && !(allowed & TV_ACCESS_READ)))
		return TV_ERR_INVALID;
	if (allowed == TV_ACCESS_EXEC &&
	    !(tv_ext_core_page_caps() & TV_PAGE_CAP_EXEC_ONLY))
		return TV_ERR_UNSUPPORTED;
	if (host_pa != ~0ULL && (page_protected(gpa) || page_protected(host_pa)))
		return TV_ERR_INVALID;
	for (a = gpa; view == TV_VIEW_DEFAULT && a < gpa + size;
	     a += TV_PAGE_SIZE) {
		ret = note_view0_page(s, a);
		if (ret)
			return ret;
	}
	ret = reserve_for(op.ept, gpa, size);
	if (ret)
		return ret;
	op.gpa = gpa;
	op.end = gpa + size;
	op.rights = tv_ext_ept_rights(allowed);
	op.host_pa = host_pa;
	ret = in_root(op_set_pages, &op);
	if (!ret)
		ret = tv_ext_core_protect_tables();
	flush_everywhere();
	return ret;
}

int tv_ext_core_page_set(struct tv_ext *ext, int view, u64 gpa, u32 allowed,
			 u64 host_pa)
{
	return set_pages(ext, view, gpa & EPT_ADDR_MASK, TV_PAGE_SIZE, allowed,
			 host_pa & EPT_ADDR_MASK);
}

int tv_ext_core_page_set_range(struct tv_ext *ext, int view, u64 gpa,
			       u64 size, u32 allowed)
{
	return set_pages(ext, view, gpa, size, allowed, ~0ULL);
}

/* Drop @key (gpa | view) from the pages @s marked for #VE; found? */
static bool forget_ve_page(struct tv_ext_slot *s, u64 key)
{
	u32 i;

	for (i = 0; s && i < s->nve; i++) {
		if (s->ve_pages[i] == key) {
			s->ve_pages[i] = s->ve_pages[--s->nve];
			return true;
		}
	}
	return false;
}

struct reset_op {
	struct tv_ept *ept;
	const u64 *gpa;
	u32 n;
};

static TV_VMX_ROOT int op_reset_pages(struct tv_vcpu *v, void *arg)
{
	struct reset_op *op = arg;
	u64 *leaf;
	u32 i;

	(void)v;
	for (i = 0; i < op->n; i++) {
		leaf = tv_ept_leaf_4k(op->ept, op->gpa[i]);
		if (leaf && !tv_ext_is_protected(op->gpa[i]))
			set_leaf_exiting(leaf, EPT_RWX, op->gpa[i]);
	}
	return 0;
}

int tv_ext_core_page_reset(struct tv_ext *ext, int view, u64 gpa)
{
	struct reset_op op = { view_ept(ext, view), &gpa, 1 };

	gpa &= EPT_ADDR_MASK;
	if (!slot_of(ext) || !op.ept)
		return TV_ERR_INVALID;
	in_root(op_reset_pages, &op);
	flush_everywhere();
	if (forget_ve_page(slot_of(ext), gpa | (u64)view))
		apply_everywhere();
	return TV_OK;
}

static void reset_view0_pages(struct tv_ext_slot *s)
{
	struct reset_op op = { view_ept_any(0), s->view0_pages, s->nview0 };

	if (op.ept && s->nview0) {
		in_root(op_reset_pages, &op);
		flush_everywhere();
	}
	tv_plat_free(s->view0_pages);
	s->view0_pages = NULL;
	s->nview0 = s->view0_cap = 0;
}

/*
 * The view's EPTP is out of view_eptp already: writing the controls finds
 * a CPU still in it, whether the core or the guest's VMFUNC put it there
 * (v->view may not know), and moves it to view 0.
 */
static TV_VMX_ROOT int leave_view_on_cpu(struct tv_vcpu *v, void *arg)
{
	(void)arg;
	tv_ext_write_controls(v);
	return 0;
}

struct clone_op {
	struct tv_ept *ept;
	const struct tv_ept *src;
	int view;
};

static TV_VMX_ROOT int op_clone(struct tv_vcpu *v, void *arg)
{
	struct clone_op *op = arg;

	(void)v;
	tv_ept_clone_fill(op->ept, op->src);
	if (tv_ext_g.eptp_list)
		tv_ext_g.eptp_list[op->view] = tv_ept_pointer(op->ept);
	return 0;
}

static TV_VMX_ROOT int op_set_eptp_list(struct tv_vcpu *v, void *arg)
{
	struct clone_op *op = arg;

	(void)v;
	tv_ext_g.eptp_list[op->view] = op->ept ? tv_ept_pointer(op->ept) : 0;
	return 0;
}

int tv_ext_core_view_create(struct tv_ext *ext)
{
	struct tv_shared *sh = shared_mut();
	struct clone_op op;
	int i, ret;

	if (!slot_of(ext) || !sh)
		return -TV_ERR_INVALID;
	for (i = 1; i < TV_EXT_MAX_VIEWS && tv_ext_g.views[i].ept; i++)
		;
	if (i == TV_EXT_MAX_VIEWS)
		return -TV_ERR_NO_SPACE;
	if ((tv_ext_core_page_caps() & TV_PAGE_CAP_FAST_SWITCH) &&
	    !tv_ext_g.eptp_list) {
		tv_ext_g.eptp_list = tv_plat_alloc_pages(1);
		if (!tv_ext_g.eptp_list)
			return -TV_ERR_NO_MEMORY;
		tv_ext_g.eptp_list_pa = tv_plat_virt_to_phys(tv_ext_g.eptp_list);
		tv_ext_g.eptp_list[0] = sh->eptp;
		ret = tv_ext_core_protect_pages(&tv_ext_g.eptp_list_pa, 1);
		if (ret)
			return -ret;
	}
	/* A copy of view 0 as it is: thinvisor's pages protected too. */
	ret = tv_ept_clone_prepare(&op.ept, sh->ept);
	if (ret)
		return -ret;
	op.src = sh->ept;
	op.view = i;
	in_root(op_clone, &op);
	tv_ext_g.views[i].ept = op.ept;
	tv_ext_g.views[i].owner = ext;
	tv_ext_g.view_eptp[i] = tv_ept_pointer(op.ept);
	ret = tv_ext_core_protect_tables();
	if (ret) {
		tv_ext_core_view_destroy(ext, i);
		return -ret;
	}
	/* CPUs with VMFUNC see the new EPTP list entry. */
	apply_everywhere();
	return i;
}

/* The pages of @view marked for #VE go with the view. */
static void forget_ve_view(struct tv_ext_slot *s, int view)
{
	u32 i = 0;

	while (s && i < s->nve) {
		if ((s->ve_pages[i] & ~EPT_ADDR_MASK) == (u64)view)
			s->ve_pages[i] = s->ve_pages[--s->nve];
		else
			i++;
	}
}

static void unprotect_table(u64 pa, void *arg)
{
	(void)arg;
	tv_ext_core_unprotect(pa);
}

void tv_ext_core_view_destroy(struct tv_ext *ext, int view)
{
	struct tv_ext_view *vw;
	struct clone_op op = { NULL, NULL, view };

	if (view <= 0 || view >= TV_EXT_MAX_VIEWS)
		return;
	vw = &tv_ext_g.views[view];
	if (!vw->ept || vw->owner != ext)
		return;
	forget_ve_view(slot_of(ext), view);
	tv_ext_g.view_eptp[view] = 0;
	if (tv_ext_g.eptp_list)
		in_root(op_set_eptp_list, &op);
	tv_vmm_root_call_each(leave_view_on_cpu, (void *)(u64)view);
	apply_everywhere();
	/* No CPU runs in it: its tables are the host's again. */
	op.ept = vw->ept;
	*vw = (struct tv_ext_view){ 0 };
	tv_ept_visit_tables(op.ept, unprotect_table, NULL);
	flush_everywhere();
	tv_ept_free(op.ept);
}

struct protect_op {
	const u64 *pa;
	u32 n;
	u64 rights;
	int err;
	u32 flushed;	/* the CPU whose EPT TLB the op flushed, or ~0 */
};

/* Set access to each page in every view (split where needed). */
static TV_VMX_ROOT int op_protect(struct tv_vcpu *v, void *arg)
{
	struct protect_op *op = arg;
	struct tv_ept *views[TV_EXT_MAX_VIEWS] = { NULL }, *ept;
	u64 *leaf;
	u32 i, k, n = 0;
	int view;

	for (view = 0; view < TV_EXT_MAX_VIEWS; view++)
		if (view_ept_any(view))
			views[n++] = view_ept_any(view);
	/* View by view: each map's runs of pages cost one walk. */
	for (k = 0; k < n; k++) {
		ept = views[k];
		for (i = 0; i < op->n; i++) {
			leaf = op->rights ? tv_ept_find_4k(ept, op->pa[i]) :
					    tv_ept_split_4k(ept, op->pa[i]);
			if (!leaf) {
				/* Unmapped: out of the guest's reach anyway. */
				if (!op->rights && !tv_ept_spare_tables(ept) &&
				    op->pa[i] < tv_ept_mapped_end(ept))
					op->err = TV_ERR_NO_MEMORY;
				continue;
			}
			/* thinvisor's refusal, never a #VE the guest handles */
			set_leaf_exiting(leaf, op->rights, op->pa[i]);
		}
	}
	/* This CPU's flush now: the caller's then skips it (one IPI less). */
	if (v) {
		tv_ext_flush_this_cpu(v);
		op->flushed = v->cpu;
	}
	return 0;
}

int tv_ext_core_protect(u64 pa)
{
	return tv_ext_core_protect_pages(&pa, 1);
}

void tv_ext_core_unprotect(u64 pa)
{
	struct protect_op op = { &pa, 1, EPT_RWX, 0, ~0u };

	pa &= EPT_ADDR_MASK;
	if (forget_protected(pa) && shared_mut())
		in_root(op_protect, &op);
}

/*
 * Add @n pages to the protected set and make them inaccessible; sorts
 * @pa and keeps there the pages that were new.
 */
static int protect_new(u64 *pa, u32 n, u32 *flushed)
{
	struct protect_op op = { pa, 0, 0, 0, ~0u };
	u32 i, blocks;
	int ret;

	for (i = 0; i < n; i++)
		pa[i] &= EPT_ADDR_MASK;
	ret = protected_add(pa, n, &n);
	if (ret || !n)
		return ret;
	op.n = n;
	/*
	 * Each run of pages in one 2 MiB block may split a 1 GiB and a
	 * 2 MiB leaf in each view: one reservation for all.
	 */
	for (i = 0, blocks = 0; i < n; i++)
		if (!i || (pa[i] ^ pa[i - 1]) >> 21)
			blocks++;
	ret = reserve_tables(NULL, 2 * blocks);
	if (ret)
		return ret;
	in_root(op_protect, &op);
	*flushed = op.flushed;
	return op.err;
}

struct table_list {
	u64 *pa;
	u32 n, cap;
	int err;
};

static void collect_unprotected(u64 pa, void *arg)
{
	struct table_list *l = arg;

	if (l->err || page_protected(pa))
		return;
	if (grow(&l->pa, &l->cap, l->n)) {
		l->err = TV_ERR_NO_MEMORY;
		return;
	}
	l->pa[l->n++] = pa;
}

/* No view has a table since they were all protected. */
static bool tables_all_seen(void)
{
	int v;

	if (!tv_ext_g.tables_seen_valid)
		return false;
	for (v = 0; v < TV_EXT_MAX_VIEWS; v++) {
		const struct tv_ept *ept = view_ept_any(v);

		if (ept != tv_ext_g.tables_seen_ept[v] ||
		    tv_ept_store_pages(ept) != tv_ext_g.tables_seen[v])
			return false;
	}
	return true;
}

static void note_tables_seen(void)
{
	int v;

	for (v = 0; v < TV_EXT_MAX_VIEWS; v++) {
		tv_ext_g.tables_seen_ept[v] = view_ept_any(v);
		tv_ext_g.tables_seen[v] = tv_ept_store_pages(view_ept_any(v));
	}
	tv_ext_g.tables_seen_valid = true;
}

/* Protect every table of every view not yet protected. */
static int protect_all_tables(void)
{
	struct table_list l;
	int v, ret = TV_OK;
	u32 flushed;

	/* Protecting splits, and splits use spares: until nothing is new. */
	do {
		l = (struct table_list){ NULL, 0, 0, 0 };
		for (v = 0; v < TV_EXT_MAX_VIEWS; v++)
			tv_ept_visit_tables(view_ept_any(v),
					      collect_unprotected, &l);
		ret = l.err;
		if (!ret && l.n)
			ret = protect_new(l.pa, l.n, &flushed);
		tv_plat_free(l.pa);
	} while (!ret && l.n);
	if (!ret)
		note_tables_seen();
	return ret;
}

int tv_ext_core_protect_tables(void)
{
	if (!shared_mut() || !tv_ext_g.nprotected)
		return TV_OK;	/* self-protection not started */
	return tables_all_seen() ? TV_OK : protect_all_tables();
}

int tv_ext_core_protect_pages(const u64 *pa, unsigned int n)
{
	u64 few[16], *copy = few;	/* a CPU's pages and the MSR bitmap */
	u32 i, flushed = ~0u;
	int ret = TV_OK;

	if (!shared_mut())
		return TV_OK;
	/* A CPU's pages fit on the stack; protect_new() sorts its copy. */
	if (n > TV_ARRAY_SIZE(few)) {
		copy = tv_plat_zalloc(n * sizeof(u64));
		if (!copy)
			return TV_ERR_NO_MEMORY;
	}
	for (i = 0; i < n; i++)
		copy[i] = pa[i];
	if (n)
		ret = protect_new(copy, n, &flushed);
	if (copy != few)
		tv_plat_free(copy);
	if (!ret && !tables_all_seen()) {
		ret = protect_all_tables();
		flushed = ~0u;
	}
	flush_everywhere_but(flushed);
	return ret;
}

void tv_ext_core_unprotect_pages(const u64 *pa, unsigned int n)
{
	u64 gone[16];
	struct protect_op op = { gone, 0, EPT_RWX, 0, ~0u };
	unsigned int i, ops = 0;

	for (i = 0; i < n; i++) {
		if (forget_protected(pa[i] & EPT_ADDR_MASK))
			gone[op.n++] = pa[i] & EPT_ADDR_MASK;
		if (op.n && (op.n == TV_ARRAY_SIZE(gone) || i == n - 1)) {
			if (shared_mut())
				in_root(op_protect, &op);
			op.n = 0;
			ops++;
		}
	}
	/* The CPU that ran the one root call flushed already. */
	flush_everywhere_but(ops == 1 ? op.flushed : ~0u);
}

unsigned int tv_ext_core_protected(u64 *out, unsigned int max)
{
	unsigned int i;

	for (i = 0; i < max && i < tv_ext_g.nprotected; i++)
		out[i] = tv_ext_g.protected[i];
	return i;
}

/* --- virtualization exceptions (#VE) ---------------------------------- */
/*
 * A page an extension marks has suppress-#VE clear in its 4 KiB leaf; the
 * control that converts violations is on only while some active
 * extension has a marked page (tv_ext_ve_proc2(), in recompute()), with
 * each CPU's information area in its VMCS (ext_root.c).  The areas are
 * the guest's to read: the CPU writes them by physical address, not
 * through the EPT, and the guest's handler must read them and clear the
 * busy word to get the next #VE, so they are not protected; thinvisor
 * never reads them, so whatever the guest writes there harms nothing but
 * its own #VE delivery.
 */

u32 tv_ext_ve_proc2(u32 page_caps, u32 marked_pages, bool areas)
{
	return (page_caps & TV_PAGE_CAP_VE) && marked_pages && areas ?
	       PROC2_EPT_VE : 0;
}

/* One zeroed page per possible CPU, once; kept until unload. */
static int alloc_ve_areas(void)
{
	u32 n = tv_plat_cpu_limit(), cpu;
	struct tv_ve_info **area;
	u64 *pa;

	if (tv_ext_g.ve_area)
		return TV_OK;
	area = tv_plat_zalloc(n * sizeof(*area));
	pa = tv_plat_zalloc(n * sizeof(*pa));
	if (!area || !pa)
		goto nomem;
	for (cpu = 0; cpu < n; cpu++) {
		area[cpu] = tv_plat_alloc_pages(1);
		if (!area[cpu])
			goto nomem;
		pa[cpu] = tv_plat_virt_to_phys(area[cpu]);
	}
	tv_ext_g.ve_area = area;
	tv_ext_g.ve_area_pa = pa;
	tv_ext_g.ve_cpus = n;
	return TV_OK;
nomem:
	for (cpu = 0; area && cpu < n; cpu++)
		if (area[cpu])
			tv_plat_free_pages(area[cpu], 1);
	tv_plat_free(area);
	tv_plat_free(pa);
	return TV_ERR_NO_MEMORY;
}

struct ve_op {
	struct tv_ept *ept;
	u64 gpa;
	bool ve;
};

static TV_VMX_ROOT int op_set_ve(struct tv_vcpu *v, void *arg)
{
	struct ve_op *op = arg;
	u64 *leaf = tv_ept_split_4k(op->ept, op->gpa);

	(void)v;
	if (!leaf)
		return TV_ERR_NO_MEMORY;
	__atomic_store_n(leaf, tv_ept_leaf_ve(*leaf, op->ve), __ATOMIC_RELEASE);
	return TV_OK;
}

static bool ve_marked_by_other(const struct tv_ext_slot *self, u64 key)
{
	u32 i, j;

	for (i = 0; i < TV_EXT_MAX; i++) {
		const struct tv_ext_slot *s = &tv_ext_g.slot[i];

		for (j = 0; s != self && j < s->nve; j++)
			if (s->ve_pages[j] == key)
				return true;
	}
	return false;
}

int tv_ext_core_page_set_ve(struct tv_ext *ext, int view, u64 gpa, bool on)
{
	struct tv_ext_slot *s = slot_of(ext);
	struct ve_op op = { view_ept(ext, view), gpa & EPT_ADDR_MASK, on };
	u64 key = op.gpa | (u64)view;
	bool marked;
	u32 i;
	int ret;

	if (!s || !op.ept || op.gpa >= tv_ept_mapped_end(op.ept) ||
	    page_protected(op.gpa))
		return TV_ERR_INVALID;
	if (!(tv_ext_core_page_caps() & TV_PAGE_CAP_VE))
		return TV_ERR_UNSUPPORTED;
	for (i = 0; i < s->nve && s->ve_pages[i] != key; i++)
		;
	marked = i < s->nve;
	if (on == marked)
		return TV_OK;
	if (on) {
		ret = alloc_ve_areas();
		ret = ret ?: grow(&s->ve_pages, &s->ve_cap, s->nve);
		if (!ret && view == TV_VIEW_DEFAULT)
			ret = note_view0_page(s, op.gpa);
		ret = ret ?: reserve_for(op.ept, op.gpa, TV_PAGE_SIZE);
		if (ret)
			return ret;
	}
	/* View 0 is shared: a page another extension marks stays marked. */
	ret = on || !ve_marked_by_other(s, key) ? in_root(op_set_ve, &op) :
						  TV_OK;
	if (!ret)
		ret = tv_ext_core_protect_tables();
	if (on && !ret)
		s->ve_pages[s->nve++] = key;
	else if (!on)
		s->ve_pages[i] = s->ve_pages[--s->nve];
	flush_everywhere();
	/* The control follows: on with the first page, off with the last. */
	apply_everywhere();
	return ret;
}

struct tv_ve_info *tv_ext_core_ve_info(unsigned int cpu)
{
	if (!tv_ext_g.ve_area || cpu >= tv_ext_g.ve_cpus)
		return NULL;
	return tv_ext_g.ve_area[cpu];
}
