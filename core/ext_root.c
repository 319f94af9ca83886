// SPDX-License-Identifier: MIT
/*
 * The extension API in VMX root: the controls each CPU runs with, the
 * delivery of an event to the extensions that asked for it, and the
 * helpers their callbacks use.  Every function here is TV_VMX_ROOT.
 */
#include "core/ext.h"
#include "core/vcpu.h"
#include "core/vmx_guest.h"
#include "core/platform.h"
#include "core/ept.h"
#include "arch/x86/ept.h"
#include "core/guest_vmx.h"

static TV_VMX_ROOT u32 proc_controls(const struct tv_vcpu *v)
{
	u32 proc = v->shared->ctl.proc | tv_ext_g.proc;

	if (v->native_step)
		proc &= ~v->native_drop_proc;
	if (v->mtf_armed || v->ext_single_step || v->native_step)
		proc |= PROC_MTF;
	if (v->ext_irq)
		proc |= PROC_INTR_WINDOW;
	return proc;
}

/*
 * A CR0/CR4 bit that becomes masked is read from the shadow from now on:
 * the shadow must hold what the guest sees first, for every bit.
 */
static TV_VMX_ROOT void write_cr_mask(struct tv_vcpu *v, int cr, u64 mask)
{
	u32 mask_field = cr == 0 ? VMCS_CR0_MASK : VMCS_CR4_MASK;

	if (tv_vmread(mask_field) == mask)
		return;
	tv_vmwrite(cr == 0 ? VMCS_CR0_SHADOW : VMCS_CR4_SHADOW,
		   guest_visible_cr(cr));
	tv_vmwrite(mask_field, mask);
}

TV_VMX_ROOT u64 tv_ext_view_eptp(const struct tv_vcpu *v)
{
	u64 eptp = v->view ? tv_ext_g.view_eptp[v->view] : 0;

	return eptp ? eptp : v->shared->eptp;
}

/*
 * With VMFUNC the guest may have switched views on its own: the VMCS's
 * EPTP is the truth, and the vCPU's record follows it.  A view that is
 * gone (its view_eptp cleared) counts as view 0.
 */
static TV_VMX_ROOT int sync_view(struct tv_vcpu *v)
{
	u64 eptp = tv_vmread(VMCS_EPT_POINTER);
	int i;

	for (i = 1; i < TV_EXT_MAX_VIEWS; i++)
		if (tv_ext_g.view_eptp[i] && tv_ext_g.view_eptp[i] == eptp)
			break;
	v->view = i < TV_EXT_MAX_VIEWS ? (u8)i : 0;
	return v->view;
}

TV_VMX_ROOT void tv_ext_write_controls(struct tv_vcpu *v)
{
	const struct tv_ext_state *g = &tv_ext_g;
	const struct tv_controls *c = &v->shared->ctl;
	u32 proc2 = c->proc2 | g->proc2;

	/* Keep the view the guest chose, unless it is gone. */
	sync_view(v);

	/* Views: the EPTP of this CPU's, VMFUNC's list when there is one. */
	tv_vmwrite(VMCS_EPT_POINTER, tv_ext_view_eptp(v));
	if (g->eptp_list) {
		proc2 |= PROC2_ENABLE_VMFUNC;
		tv_vmwrite(VMCS_VMFUNC_CONTROLS, 1);	/* EPTP switching */
		tv_vmwrite(VMCS_EPTP_LIST, g->eptp_list_pa);
	}

	if (g->page_caps & TV_PAGE_CAP_VE) {
		/* A #VE reports the view: its index in VMFUNC's EPTP list. */
		tv_vmwrite(VMCS_EPTP_INDEX, (u16)v->view);
		if ((proc2 & PROC2_EPT_VE) && v->cpu < g->ve_cpus)
			tv_vmwrite(VMCS_VE_INFO_ADDR, g->ve_area_pa[v->cpu]);
		else
			proc2 &= ~PROC2_EPT_VE;
	}

	if (v->native_step)
		proc2 &= ~v->native_drop_proc2;
	tv_vmwrite(VMCS_PROC_CONTROLS, proc_controls(v));
	tv_vmwrite(VMCS_PROC2_CONTROLS, proc2);
	tv_vmwrite(VMCS_EXCEPTION_BITMAP, g->exceptions);
	tv_vmwrite(VMCS_PF_ERROR_MASK, g->pf_mask);
	tv_vmwrite(VMCS_PF_ERROR_MATCH, g->pf_match);
	if (g->io_bitmap) {
		tv_vmwrite(VMCS_IO_BITMAP_A, g->io_bitmap_pa);
		tv_vmwrite(VMCS_IO_BITMAP_B, g->io_bitmap_pa + TV_PAGE_SIZE);
	}
	write_cr_mask(v, 0, c->cr0_mask | g->cr0_mask);
	write_cr_mask(v, 4, c->cr4_mask | g->cr4_mask);
	v->ext_cpuid_leaves = g->cpuid_leaves;
	v->ext_exits[0] = g->exits[0];
	v->ext_exits[1] = g->exits[1];
}

TV_VMX_ROOT void tv_ext_flush_this_cpu(struct tv_vcpu *v)
{
	tv_invept(tv_invept_type(&v->shared->caps, INVEPT_ALL_CONTEXT), 0);
}

TV_VMX_ROOT int tv_ext_cpu_up(struct tv_vcpu *v, void *unused)
{
	unsigned int i;

	(void)unused;
	for (i = 0; i < TV_EXT_MAX; i++) {
		struct tv_ext_slot *s = &tv_ext_g.slot[i];

		if (s->ext && s->active && s->ext->cpu_up)
			s->ext->cpu_up(s->ext, v->cpu);
	}
	return 0;
}

TV_VMX_ROOT void tv_ext_cpu_down(struct tv_vcpu *v)
{
	unsigned int i;

	for (i = 0; i < TV_EXT_MAX; i++) {
		struct tv_ext_slot *s = &tv_ext_g.slot[i];

		if (s->ext && s->active && s->ext->cpu_down)
			s->ext->cpu_down(s->ext, v->cpu);
	}
}

static TV_VMX_ROOT bool in_list32(const u32 *list, u32 n, u32 val)
{
	u32 i;

	for (i = 0; i < n; i++)
		if (list[i] == val)
			return true;
	return false;
}

static TV_VMX_ROOT bool msr_wanted(const struct tv_ext_slot *s, u32 msr,
				   u8 rw)
{
	u32 i;

	for (i = 0; i < s->nmsrs; i++)
		if (s->msrs[i] == msr)
			return s->msr_rw[i] & rw;
	return false;
}

static TV_VMX_ROOT bool leaf_wanted(const struct tv_ext_slot *s, u32 leaf)
{
	return s->all_leaves || in_list32(s->leaves, s->nleaves, leaf);
}

TV_VMX_ROOT bool tv_ext_wants_cpuid(u32 leaf)
{
	u32 slots = __atomic_load_n(&tv_ext_g.type_slots[TV_EV_CPUID],
				    __ATOMIC_RELAXED);

	while (slots) {
		const struct tv_ext_slot *s =
			&tv_ext_g.slot[__builtin_ctz(slots)];

		slots &= slots - 1;
		if (s->ext && s->active && leaf_wanted(s, leaf))
			return true;
	}
	return false;
}

/* Did extension slot @s ask for this very event? */
static TV_VMX_ROOT bool slot_wants(const struct tv_vcpu *v, unsigned int idx,
				   const struct tv_ext_event *ev)
{
	const struct tv_ext_slot *s = &tv_ext_g.slot[idx];
	u32 cr, vec;

	switch (ev->type) {
	case TV_EV_CPUID:
		return leaf_wanted(s, ev->cpuid.leaf);
	case TV_EV_MSR_READ:
		return msr_wanted(s, ev->msr.index, 1);
	case TV_EV_MSR_WRITE:
		return msr_wanted(s, ev->msr.index, 2);
	case TV_EV_CR_WRITE:
		cr = ev->cr.cr;
		if (cr == 0)
			return s->cr0_mask &
			       (ev->cr.old_value ^ ev->cr.new_value);
		if (cr == 4)
			return s->cr4_mask &
			       (ev->cr.old_value ^ ev->cr.new_value);
		return s->cr_write & TV_BIT(cr);
	case TV_EV_CR_READ:
		return s->cr_read & TV_BIT(ev->cr.cr);
	case TV_EV_IO:
		return s->io_ports &&
		       (s->io_ports[ev->io.port / 8] >> (ev->io.port % 8)) & 1;
	case TV_EV_EXCEPTION:
		vec = ev->exception.vector;
		if (!(s->exceptions & TV_BIT(vec)))
			return false;
		return vec != VEC_PF || ev->exception.software ||
		       (ev->exception.error_code & s->pf_mask) == s->pf_match;
	case TV_EV_VMCALL: {
		u32 i;

		for (i = 0; i < s->nvmcalls; i++)
			if (s->vmcalls[i] == ev->vmcall.nr)
				return true;
		return false;
	}
	case TV_EV_MTF:
		return v->ext_single_step & TV_BIT(idx);
	default:
		return s->events & TV_BIT(ev->type);
	}
}

TV_VMX_ROOT enum tv_ext_reply tv_ext_deliver(struct tv_vcpu *v,
					     struct tv_regs *regs,
					     struct tv_ext_event *ev)
{
	enum tv_ext_reply r = TV_EXT_CONTINUE;
	u64 rsp = tv_vmread(VMCS_GUEST_RSP);
	/* Only the slots that asked for this type: usually one. */
	u32 slots = ev->type == TV_EV_MTF ? v->ext_single_step :
		    __atomic_load_n(&tv_ext_g.type_slots[ev->type],
				    __ATOMIC_RELAXED);
	unsigned int i;

	regs->rsp = rsp;
	ev->cpu = v->cpu;
	ev->regs = (struct tv_guest_regs *)regs;
	ev->rip = tv_vmread(VMCS_GUEST_RIP);
	while (slots && r == TV_EXT_CONTINUE) {
		struct tv_ext_slot *s;

		i = (unsigned int)__builtin_ctz(slots);
		slots &= slots - 1;
		s = &tv_ext_g.slot[i];
		if (!s->ext || !s->active || !slot_wants(v, i, ev))
			continue;
		__atomic_fetch_add(&s->counts[ev->type], 1, __ATOMIC_RELAXED);
		r = s->ext->event(s->ext, ev);
	}
	if (regs->rsp != rsp)
		tv_vmwrite(VMCS_GUEST_RSP, regs->rsp);
	return r;
}

/* Where a VMCALL number belongs: the CPL its owner allows, or -1. */
TV_VMX_ROOT int tv_ext_vmcall_max_cpl(u64 nr)
{
	unsigned int i, j;

	for (i = 0; i < TV_EXT_MAX; i++) {
		const struct tv_ext_slot *s = &tv_ext_g.slot[i];

		if (!s->ext || !s->active)
			continue;
		for (j = 0; j < s->nvmcalls; j++)
			if (s->vmcalls[j] == nr)
				return s->vmcall_cpl[j];
	}
	return -1;
}

TV_VMX_ROOT void tv_ext_inject_reply(const struct tv_ext_event *ev)
{
	tv_ext_inject_exception(ev->inject.vector, ev->inject.has_error_code,
				ev->inject.error_code);
}

TV_VMX_ROOT int tv_ext_finish(const struct tv_ext_event *ev,
			      enum tv_ext_reply r)
{
	if (r == TV_EXT_HANDLED)
		skip_instruction();
	else if (r == TV_EXT_INJECT)
		tv_ext_inject_reply(ev);
	return RESUME;
}

TV_VMX_ROOT u64 tv_ext_root_call(struct tv_vcpu *v, u64 fn, u64 arg)
{
	int (*call)(struct tv_vcpu *v, void *arg) =
		(int (*)(struct tv_vcpu *, void *))fn;

	return (u64)(s64)call(v, (void *)arg);
}

/* --- helpers of include/thinvisor/extension.h ------------------------ */

TV_VMX_ROOT unsigned int tv_ext_guest_cpl(void)
{
	return guest_cpl();
}

TV_VMX_ROOT unsigned long long tv_ext_guest_cr(unsigned int cr)
{
	u64 val = 0;

	switch (cr) {
	case 0:
	case 4:
		return guest_visible_cr((int)cr);
	case 2:
		/* Not switched by VM exits: root's CR2 is the guest's. */
		asm volatile("mov %%cr2, %0" : "=r"(val));
		return val;
	case 3:
		return tv_vmread(VMCS_GUEST_CR3);
	case 8:
		asm volatile("mov %%cr8, %0" : "=r"(val));
		return val;
	default:
		return 0;
	}
}

TV_VMX_ROOT void tv_ext_set_rip(unsigned long long rip)
{
	tv_vmwrite(VMCS_GUEST_RIP, rip);
}

TV_VMX_ROOT void tv_ext_inject_exception(unsigned int vector,
					 int has_error_code,
					 unsigned int error_code)
{
	struct tv_event e;

	(void)has_error_code;	/* the CPU's rule decides: see the API */
	if (vector == VEC_NMI) {
		/* Held until the guest can take one: tv_root_events_hand_on. */
		tv_root_vcpu()->pending_nmis++;
		return;
	}
	e = tv_event_hw_exception(vector, error_code,
				  tv_vmread(VMCS_GUEST_CR0));
	tv_event_write(&e);
}

TV_VMX_ROOT int tv_ext_single_step(struct tv_ext *ext, int on)
{
	struct tv_vcpu *v = tv_root_vcpu();

	if (!ext || ext->slot < 0 || ext->slot >= TV_EXT_MAX ||
	    tv_ext_g.slot[ext->slot].ext != ext)
		return TV_ERR_INVALID;
	if (!v->shared->mtf)
		return TV_ERR_UNSUPPORTED;
	if (on)
		v->ext_single_step |= (u8)TV_BIT(ext->slot);
	else
		v->ext_single_step &= (u8)~TV_BIT(ext->slot);
	tv_ext_write_controls(v);
	return 0;
}

TV_VMX_ROOT void *tv_ext_cpu_data(struct tv_ext *ext, unsigned int cpu)
{
	const struct tv_ext_slot *s;

	if (!ext || ext->slot < 0 || ext->slot >= TV_EXT_MAX)
		return NULL;
	s = &tv_ext_g.slot[ext->slot];
	if (s->ext != ext || !s->percpu || cpu >= tv_plat_cpu_limit())
		return NULL;
	return s->percpu[cpu];
}

/* --- views and pages from VMX root ----------------------------------- */

TV_VMX_ROOT unsigned int tv_ext_page_caps(void)
{
	return tv_ext_g.page_caps;
}

TV_VMX_ROOT int tv_ext_view_switch(int view)
{
	struct tv_vcpu *v = tv_root_vcpu();

	if (view < 0 || view >= TV_EXT_MAX_VIEWS ||
	    (view && !tv_ext_g.view_eptp[view]))
		return TV_ERR_INVALID;
	v->view = (u8)view;
	/* EPTP-tagged TLBs: no flush on a switch. */
	tv_vmwrite(VMCS_EPT_POINTER, tv_ext_view_eptp(v));
	if (tv_ext_g.page_caps & TV_PAGE_CAP_VE)
		tv_vmwrite(VMCS_EPTP_INDEX, (u16)v->view);
	return 0;
}

TV_VMX_ROOT int tv_ext_view_current(void)
{
	return sync_view(tv_root_vcpu());
}

/* The second-level map of @view (0: the core's), and its flush here. */
static TV_VMX_ROOT struct tv_ept *view_map(const struct tv_vcpu *v, int view)
{
	return view ? tv_ext_g.views[view].ept : v->shared->ept;
}

static TV_VMX_ROOT void flush_view_here(const struct tv_vcpu *v, int view)
{
	tv_invept(tv_invept_type(&v->shared->caps, INVEPT_SINGLE_CONTEXT),
		  view ? tv_ext_g.view_eptp[view] : v->shared->eptp);
}

TV_VMX_ROOT int tv_ext_page_set_root(int view, unsigned long long gpa,
				     unsigned int allowed,
				     unsigned long long host_pa)
{
	struct tv_vcpu *v = tv_root_vcpu();
	u64 rights = tv_ext_ept_rights(allowed);
	struct tv_ept *ept;
	u64 *leaf;

	/* A write-only leaf is an EPT misconfiguration: refused here. */
	if (view < 0 || view >= TV_EXT_MAX_VIEWS || allowed > TV_ACCESS_ALL ||
	    !tv_ept_rights_allowed(v->shared->caps.ept_vpid, rights) ||
	    tv_ext_is_protected(gpa) || tv_ext_is_protected(host_pa))
		return TV_ERR_INVALID;
	ept = view_map(v, view);
	leaf = ept ? tv_ept_leaf_4k(ept, gpa) : NULL;
	if (!leaf)
		return TV_ERR_INVALID;
	tv_ept_leaf_write(leaf, rights, host_pa);
	flush_view_here(v, view);
	return 0;
}

/*
 * An access the second-level permissions of the CPU's view forbid and no
 * extension answered (none asked for page accesses, or all said
 * TV_EXT_CONTINUE): the default is what the CPU would do with nobody
 * watching, so the page gains the rights the access needs, in that view,
 * on the host page the view shows there, and the guest runs on.  A page a
 * tool restricted and then left unanswered is a tool bug; stopping the
 * machine for it would be ours.  Another CPU may have opened it first
 * (this one's TLB was stale): then only the flush.  TV_ERR_INVALID when
 * the access is no such case (no 4 KiB leaf of an extension's there).
 */
TV_VMX_ROOT int tv_ext_page_unanswered(struct tv_vcpu *v)
{
	u64 gpa = tv_vmread(VMCS_GUEST_PHYS_ADDR);
	u64 qual = tv_vmread(VMCS_EXIT_QUALIFICATION);
	u64 need = tv_ext_ept_rights((u32)qual & TV_ACCESS_ALL), *leaf, e;
	int view = tv_ext_view_current();
	struct tv_ept *ept = view_map(v, view);

	if (need & EPT_WRITE)
		need |= EPT_READ;	/* write-only is a misconfiguration */
	leaf = ept && !tv_ext_is_protected(gpa) ? tv_ept_leaf_4k(ept, gpa) :
						  NULL;
	if (!leaf)
		return TV_ERR_INVALID;
	e = __atomic_load_n(leaf, __ATOMIC_ACQUIRE);
	if ((e & need) != need) {
		tv_ept_leaf_write(leaf, (e & EPT_RWX) | need, e);
		tv_vmm_log(TV_LOG_WARN,
			   "CPU %u: no extension answered a %s access to GPA 0x%llx in view %d (RIP 0x%llx): the page allows it now\n",
			   v->cpu, need & EPT_EXEC ? "fetch" :
			   need & EPT_WRITE ? "write" : "read", gpa, view,
			   tv_vmread(VMCS_GUEST_RIP));
	}
	flush_view_here(v, view);
	return TV_OK;
}

/* --- guest memory, injections, deferred work ------------------------- */

/* As a supervisor data access with EFLAGS.AC: SMAP does not stop a tool. */
#define TV_EXT_GUEST_ACCESS TV_ACC_AC

TV_VMX_ROOT int tv_ext_read_guest(unsigned long long gva, void *buf,
				  unsigned long len)
{
	struct tv_guest_paging g;
	struct tv_guest_fault f;

	tv_guest_paging_load(&g, tv_root_vcpu()->shared->features.phys_bits);
	return tv_guest_read(&g.p, gva, buf, len, TV_EXT_GUEST_ACCESS, &f) !=
	       TV_GUEST_OK;
}

TV_VMX_ROOT int tv_ext_write_guest(unsigned long long gva, const void *buf,
				   unsigned long len)
{
	struct tv_guest_paging g;
	struct tv_guest_fault f;

	tv_guest_paging_load(&g, tv_root_vcpu()->shared->features.phys_bits);
	return tv_guest_write(&g.p, gva, buf, len, TV_EXT_GUEST_ACCESS, &f) !=
	       TV_GUEST_OK;
}

TV_VMX_ROOT int tv_ext_gva_to_gpa(unsigned long long gva,
				  unsigned long long *gpa)
{
	struct tv_guest_paging g;
	struct tv_guest_fault f;
	u64 pa;

	tv_guest_paging_load(&g, tv_root_vcpu()->shared->features.phys_bits);
	if (tv_guest_virt_to_phys(&g.p, gva, TV_EXT_GUEST_ACCESS, &pa, &f) !=
	    TV_GUEST_OK)
		return 1;
	*gpa = pa;
	return 0;
}

TV_VMX_ROOT void tv_ext_inject_software(unsigned int vector,
					unsigned int instr_len)
{
	struct tv_event e = vector == VEC_BP || vector == 4 ?
		tv_event_sw_exception(vector, instr_len) :
		tv_event_sw_interrupt(vector, instr_len);

	tv_event_write(&e);
}

/* Can the guest take an external interrupt at the next VM entry? */
static TV_VMX_ROOT bool interrupt_window_open(void)
{
	return (tv_vmread(VMCS_GUEST_RFLAGS) & RFLAGS_IF) &&
	       !(tv_vmread(VMCS_GUEST_INTERRUPTIBILITY) &
		 (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS)) &&
	       !(tv_vmread(VMCS_ENTRY_INTR_INFO) & INTR_INFO_VALID);
}

TV_VMX_ROOT int tv_ext_inject_interrupt(unsigned int vector)
{
	struct tv_vcpu *v = tv_root_vcpu();
	struct tv_event e;

	if (vector < 32 || vector > 255 || v->ext_irq)
		return 1;
	if (interrupt_window_open()) {
		e = tv_event_ext_interrupt(vector);
		tv_event_write(&e);
		return 0;
	}
	/* Exit when the guest can take it (interrupt-window exiting). */
	v->ext_irq = (u16)vector;
	tv_ext_write_controls(v);
	return 0;
}

/* The interrupt window opened: deliver the interrupt waiting for it. */
TV_VMX_ROOT int tv_ext_interrupt_window(struct tv_vcpu *v)
{
	struct tv_event e;

	if (v->ext_irq && interrupt_window_open()) {
		e = tv_event_ext_interrupt(v->ext_irq);
		tv_event_write(&e);
		v->ext_irq = 0;
	}
	tv_ext_write_controls(v);
	return 0;
}

TV_VMX_ROOT int tv_ext_defer(struct tv_ext *ext,
			     void (*fn)(struct tv_ext *ext, unsigned long arg),
			     unsigned long arg)
{
	struct tv_vcpu *v = tv_root_vcpu();
	struct tv_ext_defer_ring *r;
	u32 head;

	if (!tv_ext_g.defer || v->cpu >= tv_ext_g.defer_cpus || !fn)
		return 1;
	r = &tv_ext_g.defer[v->cpu];
	head = r->head;
	if (head - __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE) >=
	    TV_EXT_DEFER_SLOTS)
		return 1;
	r->item[head % TV_EXT_DEFER_SLOTS].ext = ext;
	r->item[head % TV_EXT_DEFER_SLOTS].fn = fn;
	r->item[head % TV_EXT_DEFER_SLOTS].arg = arg;
	__atomic_store_n(&r->head, head + 1, __ATOMIC_RELEASE);
	return 0;
}
