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
		set_bit64(exits, EXIT_REASON_CPUID);
		break;
	case TV_EV_MSR_READ:
		set_bit64(exits, EXIT_REASON_RDMSR);
		break;
	case TV_EV_MSR_WRITE:
		set_bit64(exits, EXIT_REASON_WRMSR);
		break;
	case TV_EV_CR_WRITE:
	case TV_EV_CR_READ:
		set_bit64(exits, EXIT_REASON_CR_ACCESS);
		break;
	case TV_EV_DR_ACCESS:
		set_bit64(exits, EXIT_REASON_DR_ACCESS);
		break;
	case TV_EV_IO:
		set_bit64(exits, EXIT_REASON_IO_INSTRUCTION);
		break;
	case TV_EV_DESCRIPTOR:
		set_bit64(exits, EXIT_REASON_GDTR_IDTR);
		set_bit64(exits, EXIT_REASON_LDTR_TR);
		break;
	case TV_EV_XSETBV:
		set_bit64(exits, EXIT_REASON_XSETBV);
		break;
	case TV_EV_INVLPG:
		set_bit64(exits, EXIT_REASON_INVLPG);
		break;
	case TV_EV_RDTSC:
		set_bit64(exits, EXIT_REASON_RDTSC);
		set_bit64(exits, EXIT_REASON_RDTSCP);
		break;
	case TV_EV_EXCEPTION:
		set_bit64(exits, EXIT_REASON_EXCEPTION_NMI);
		break;
	case TV_EV_VMCALL:
		set_bit64(exits, EXIT_REASON_VMCALL);
		break;
	case TV_EV_PAGE_ACCESS:
		set_bit64(exits, EXIT_REASON_EPT_VIOLATION);
		break;
	case TV_EV_MTF:
		set_bit64(exits, EXIT_REASON_MTF);
		break;
	default:
		break;
	}
}

/* Every event a slot asked for, finer selections included. */
static u32 slot_events(const struct tv_ext_slot *s)
{
	u32 ev = s->events;

	if (s->nleaves || s->all_leaves)
		ev |= TV_BIT(TV_EV_CPUID);
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

/*
 * Recompute the union of what the active extensions ask: controls,
 * exception bitmap, CR masks, the I/O bitmaps and the exits to route.
 */
static void recompute(void)
{
	struct tv_ext_state *g = &tv_ext_g;
	u32 proc = 0, proc2 = 0, exc = 0, i, ev, t;
	u64 exits[2] = { 0, 0 }, cr0 = 0, cr4 = 0;
	bool pf_seen = false, pf_mixed = false;
	u32 pf_mask = 0, pf_match = 0;

	if (g->io_bitmap)
		for (i = 0; i < TV_EXT_IO_BITMAP_BYTES; i++)
			g->io_bitmap[i] = 0;
	for (i = 0; i < TV_EXT_MAX; i++) {
		const struct tv_ext_slot *s = &g->slot[i];

		if (!s->ext || !s->active)
			continue;
		ev = slot_events(s);
		for (t = 0; t < TV_EV_COUNT; t++)
			if (ev & TV_BIT(t))
				exits_of_event(exits, t);
		for (t = 0; t < s->nmsrs; t++) {
			if (s->msr_rw[t] & 1)
				set_bit64(exits, EXIT_REASON_RDMSR);
			if (s->msr_rw[t] & 2)
				set_bit64(exits, EXIT_REASON_WRMSR);
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
		if (s->io_ports && g->io_bitmap) {
			proc |= PROC_USE_IO_BITMAPS;
			for (t = 0; t < TV_EXT_IO_BITMAP_BYTES; t++)
				g->io_bitmap[t] |= s->io_ports[t];
		}
		exc |= s->exceptions;
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
	g->proc = proc;
	g->proc2 = proc2;
	g->exceptions = exc;
	g->pf_mask = pf_mask;
	g->pf_match = pf_match;
	g->cr0_mask = cr0;
	g->cr4_mask = cr4;
	g->exits[0] = exits[0];
	g->exits[1] = exits[1];
}

/*
 * Make the MSR bitmap agree with the extensions: an MSR exits when the
 * core does by default or some active extension asked for it.
 */
static void sync_msr_bitmap(u32 msr)
{
	const struct tv_shared *sh = tv_vmm_shared();
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
	/* Clear both, then set what is wanted: tv_msr_bitmap_set ORs. */
	tv_msr_bitmap_clear(sh->msr_bitmap, msr);
	tv_msr_bitmap_set(sh->msr_bitmap, msr, rd, wr);
}

static TV_VMX_ROOT int apply_on_cpu(struct tv_vcpu *v, void *arg)
{
	(void)arg;
	tv_ext_write_controls(v);
	return 0;
}

/* Publish the union and rewrite every CPU's controls. */
static void apply_everywhere(void)
{
	recompute();
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
	*s = (struct tv_ext_slot){ 0 };
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
	if (!tv_ext_g.io_bitmap) {
		tv_ext_g.io_bitmap =
			tv_plat_alloc_pages(TV_EXT_IO_BITMAP_BYTES /
					    TV_PAGE_SIZE);
		if (!tv_ext_g.io_bitmap)
			return TV_ERR_NO_MEMORY;
		tv_ext_g.io_bitmap_pa = tv_plat_virt_to_phys(tv_ext_g.io_bitmap);
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

void tv_ext_core_fini(void)
{
	if (tv_ext_g.io_bitmap)
		tv_plat_free_pages(tv_ext_g.io_bitmap,
				   TV_EXT_IO_BITMAP_BYTES / TV_PAGE_SIZE);
	if (tv_ext_g.msr_default)
		tv_plat_free_pages(tv_ext_g.msr_default, 1);
	tv_ext_g = (struct tv_ext_state){ 0 };
}
