// SPDX-License-Identifier: MIT
/*
 * The exits that exist only because an extension asked for them (and the
 * ones it shares with the core: CPUID and MSRs it asked for).  Each builds
 * the event, offers it (tv_ext_deliver), and on TV_EXT_CONTINUE does what
 * the CPU would have done without the exit.  Where that is more than a
 * few lines (string I/O, the descriptor-table instructions), the
 * instruction runs natively once: its exit control off and the monitor
 * trap flag on, so that the CPU itself executes it with every check, and
 * the MTF exit puts the control back.  VMX root only.
 */
#include "core/ext.h"
#include "core/vcpu.h"
#include "core/vmx_guest.h"
#include "core/emulate.h"
#include "core/platform.h"
#include "arch/x86/ept.h"
#include "arch/x86/msr.h"
#include "core/guest_vmx.h"
#include "core/decode.h"

static TV_VMX_ROOT void event_init(struct tv_ext_event *ev,
				   enum tv_ext_event_type type)
{
	*ev = (struct tv_ext_event){ .type = type };
	ev->instr_len = (u32)tv_vmread(VMCS_EXIT_INSTR_LEN);
}

/* Run the exiting instruction natively once: see the file comment. */
static TV_VMX_ROOT int step_natively(struct tv_vcpu *v, u32 drop_proc,
				     u32 drop_proc2)
{
	if (!v->shared->mtf) {
		tv_dump_guest_state(v, "no monitor trap flag to step an instruction");
		tv_plat_panic("thinvisor: cannot complete an exit an extension asked for");
		return RESUME;
	}
	v->native_step = true;
	v->native_drop_proc = drop_proc;
	v->native_drop_proc2 = drop_proc2;
	tv_ext_write_controls(v);
	return RESUME;
}

static TV_VMX_ROOT int ext_cpuid(struct tv_vcpu *v, struct tv_regs *regs)
{
	struct tv_ext_event ev;
	struct tv_cpuid r;
	enum tv_ext_reply rep;
	u32 leaf = (u32)regs->rax, subleaf = (u32)regs->rcx;

	tv_cpuid(leaf, subleaf, &r);
	tv_cpuid_shape(leaf, subleaf, tv_vmread(VMCS_GUEST_CR4), &r);
	event_init(&ev, TV_EV_CPUID);
	ev.cpuid.leaf = leaf;
	ev.cpuid.subleaf = subleaf;
	ev.cpuid.eax = r.eax;
	ev.cpuid.ebx = r.ebx;
	ev.cpuid.ecx = r.ecx;
	ev.cpuid.edx = r.edx;
	rep = tv_ext_deliver(v, regs, &ev);
	if (rep != TV_EXT_CONTINUE)
		return tv_ext_finish(&ev, rep);
	regs->rax = ev.cpuid.eax;
	regs->rbx = ev.cpuid.ebx;
	regs->rcx = ev.cpuid.ecx;
	regs->rdx = ev.cpuid.edx;
	skip_instruction();
	return RESUME;
}

static TV_VMX_ROOT int ext_msr(struct tv_vcpu *v, struct tv_regs *regs,
			       bool write)
{
	struct tv_ext_event ev;
	enum tv_ext_reply rep;
	u32 msr = (u32)regs->rcx;
	u64 val = (regs->rdx << 32) | (u32)regs->rax;

	event_init(&ev, write ? TV_EV_MSR_WRITE : TV_EV_MSR_READ);
	ev.msr.index = msr;
	if (!write) {
		/* The event sees the value the guest would get. */
		if (tv_exit_msr_access(msr, false, &val)) {
			inject_gp();
			return RESUME;
		}
	}
	ev.msr.value = val;
	rep = tv_ext_deliver(v, regs, &ev);
	if (rep != TV_EXT_CONTINUE)
		return tv_ext_finish(&ev, rep);
	if (write) {
		if (tv_exit_msr_access(msr, true, &ev.msr.value)) {
			inject_gp();
			return RESUME;
		}
	} else {
		regs->rax = (u32)ev.msr.value;
		regs->rdx = ev.msr.value >> 32;
	}
	skip_instruction();
	return RESUME;
}

static TV_VMX_ROOT u64 read_dr(u32 dr)
{
	u64 val = 0;

	switch (dr) {
	case 0:
		asm volatile("mov %%dr0, %0" : "=r"(val));
		break;
	case 1:
		asm volatile("mov %%dr1, %0" : "=r"(val));
		break;
	case 2:
		asm volatile("mov %%dr2, %0" : "=r"(val));
		break;
	case 3:
		asm volatile("mov %%dr3, %0" : "=r"(val));
		break;
	case 6:
		asm volatile("mov %%dr6, %0" : "=r"(val));
		break;
	default:
		val = tv_vmread(VMCS_GUEST_DR7);
		break;
	}
	return val;
}

static TV_VMX_ROOT void write_dr(u32 dr, u64 val)
{
	switch (dr) {
	case 0:
		asm volatile("mov %0, %%dr0" : : "r"(val));
		break;
	case 1:
		asm volatile("mov %0, %%dr1" : : "r"(val));
		break;
	case 2:
		asm volatile("mov %0, %%dr2" : : "r"(val));
		break;
	case 3:
		asm volatile("mov %0, %%dr3" : : "r"(val));
		break;
	case 6:
		asm volatile("mov %0, %%dr6" : : "r"(val));
		break;
	default:
		tv_vmwrite(VMCS_GUEST_DR7, val);
		break;
	}
}

/*
 * MOV DR.  The CPU checked CPL, CR4.DE for DR4/DR5 and DR7.GD before the
 * exit (SDM 25.1.1); what is left is DR4/DR5 aliasing DR6/DR7 and the #GP
 * for setting the upper half of DR6 or DR7.  DR0-DR3 and DR6 are live in
 * root (VM exits do not switch them), DR7 is in the VMCS.
 */
static TV_VMX_ROOT int ext_dr(struct tv_vcpu *v, struct tv_regs *regs)
{
	u64 qual = tv_vmread(VMCS_EXIT_QUALIFICATION), val;
	struct tv_ext_event ev;
	enum tv_ext_reply rep;
	u32 dr = qual & 7, gpr = (qual >> 8) & 15;
	bool to_dr = !((qual >> 4) & 1), long_mode = guest_in_long_mode();

	event_init(&ev, TV_EV_DR_ACCESS);
	ev.dr.dr = dr;
	ev.dr.gpr = gpr;
	ev.dr.write = to_dr;
	rep = tv_ext_deliver(v, regs, &ev);
	if (rep != TV_EXT_CONTINUE)
		return tv_ext_finish(&ev, rep);
	if (dr == 4 || dr == 5)
		dr += 2;
	if (to_dr) {
		val = read_gpr(regs, gpr);
		if (!long_mode)
			val = (u32)val;
		if ((dr == 6 || dr == 7) && (val >> 32)) {
			inject_gp();
			return RESUME;
		}
		write_dr(dr, val);
	} else {
		val = read_dr(dr);
		write_gpr(regs, gpr, long_mode ? val : (u32)val);
	}
	skip_instruction();
	return RESUME;
}

static TV_VMX_ROOT u32 port_in(u16 port, u32 size)
{
	u32 val = 0;

	if (size == 1)
		asm volatile("inb %w1, %b0" : "=a"(val) : "Nd"(port));
	else if (size == 2)
		asm volatile("inw %w1, %w0" : "=a"(val) : "Nd"(port));
	else
		asm volatile("inl %w1, %0" : "=a"(val) : "Nd"(port));
	return val;
}

static TV_VMX_ROOT void port_out(u16 port, u32 size, u32 val)
{
	if (size == 1)
		asm volatile("outb %b0, %w1" : : "a"(val), "Nd"(port));
	else if (size == 2)
		asm volatile("outw %w0, %w1" : : "a"(val), "Nd"(port));
	else
		asm volatile("outl %0, %w1" : : "a"(val), "Nd"(port));
}

/* The CPU mode for tv_decode_linear(). */
static TV_VMX_ROOT u32 cpu_mode(void)
{
	u32 mode = 0;

	if (guest_in_long_mode())
		mode |= TV_MODE_64;
	if ((tv_vmread(VMCS_GUEST_CR0) & CR0_PE) &&
	    !(tv_vmread(VMCS_GUEST_RFLAGS) & TV_BIT(17)))
		mode |= TV_MODE_PROT;
	if (tv_vmread(VMCS_GUEST_CR4) & TV_BIT(12))
		mode |= TV_MODE_LA57;
	return mode;
}

/* @reg + @delta as a register of address size @mask writes it. */
static TV_VMX_ROOT u64 next_reg(u64 reg, u64 delta, u64 mask)
{
	if (mask == 0xffffffffULL)
		return (reg + delta) & mask;
	return (reg & ~mask) | ((reg + delta) & mask);
}

/*
 * At most this many elements per exit: the CPU, too, lets interrupts in
 * between the iterations of a long REP INS/OUTS.
 */
#define IO_STRING_BATCH 64

/*
 * INS/OUTS, REP or not, emulated: the string through the guest's
 * segmentation and page tables, the port in VMX root.  A fault stops the
 * string where the CPU would, with RCX/RSI/RDI telling how far it got.
 */
static TV_VMX_ROOT int io_string(struct tv_vcpu *v, struct tv_regs *regs,
				 u32 size, bool in, bool rep, u16 port)
{
	struct tv_instr_info ii =
		tv_decode_io_info((u32)tv_vmread(VMCS_EXIT_INSTR_INFO), in);
	u64 mask = ii.addr_size == 2 ? ~0ULL :
		   ii.addr_size == 1 ? 0xffffffffULL : 0xffffULL;
	u64 *ptr = in ? &regs->rdi : &regs->rsi;
	u64 count = rep ? regs->rcx & mask : 1, la;
	s64 step = (tv_vmread(VMCS_GUEST_RFLAGS) & TV_BIT(10)) ? -(s64)size :
								 (s64)size;
	unsigned int seg = in ? 0 : ii.seg, n;
	struct tv_guest_paging g;
	struct tv_guest_fault f;
	enum tv_guest_status st;
	struct tv_segment sg;
	u32 mode = cpu_mode(), val = 0;
	int vec;

	sg.sel = (u16)tv_vmread(VMCS_GUEST_SEL(seg));
	sg.base = tv_vmread(VMCS_GUEST_BASE(seg));
	sg.limit = (u32)tv_vmread(VMCS_GUEST_LIMIT(seg));
	sg.ar = (u32)tv_vmread(VMCS_GUEST_AR(seg));
	tv_guest_paging_load(&g, v->shared->features.phys_bits);
	for (n = 0; n < IO_STRING_BATCH && count; n++, count--) {
		vec = tv_decode_linear(&sg, seg, *ptr & mask, size, in, mode,
				       &la);
		if (vec) {
			tv_ext_inject_exception((u32)vec, 1, 0);
			return RESUME;
		}
		if (!in) {
			st = tv_guest_read(&g.p, la, &val, size, 0, &f);
			if (st == TV_GUEST_OK)
				port_out(port, size, val);
		} else {
			val = port_in(port, size);
			st = tv_guest_write(&g.p, la, &val, size, 0, &f);
		}
		if (st == TV_GUEST_FAULT) {
			tv_fault_inject(&f);
			return RESUME;
		}
		if (st != TV_GUEST_OK) {
			/* A string in MMIO: no architectural answer. */
			tv_ext_inject_exception(VEC_GP, 1, 0);
			return RESUME;
		}
		/* The address-size part moves; a 32-bit one zero-extends. */
		*ptr = next_reg(*ptr, (u64)step, mask);
		if (rep)
			regs->rcx = next_reg(regs->rcx, ~0ULL, mask);
	}
	/* Done, or back here for the next batch (RIP unchanged). */
	if (!count)
		skip_instruction();
	return RESUME;
}

/*
 * IN/OUT.  The I/O permission checks (IOPL, the TSS bitmap) come before
 * the exit, so root may do the access itself; the string forms run
 * natively under MTF instead of being emulated.
 */
static TV_VMX_ROOT int ext_io(struct tv_vcpu *v, struct tv_regs *regs)
{
	u64 qual = tv_vmread(VMCS_EXIT_QUALIFICATION);
	struct tv_ext_event ev;
	enum tv_ext_reply rep;
	u32 size = (qual & 7) + 1, val;
	u16 port = (u16)(qual >> 16);
	u64 mask;

	event_init(&ev, TV_EV_IO);
	ev.io.port = port;
	ev.io.size = size;
	ev.io.in = (qual >> 3) & 1;
	ev.io.string = (qual >> 4) & 1;
	ev.io.rep = (qual >> 5) & 1;
	mask = size == 4 ? 0xffffffffULL : (1ULL << (size * 8)) - 1;
	if (!ev.io.in && !ev.io.string)
		ev.io.value = regs->rax & mask;
	rep = tv_ext_deliver(v, regs, &ev);
	if (rep != TV_EXT_CONTINUE)
		return tv_ext_finish(&ev, rep);
	if (ev.io.string)
		return io_string(v, regs, size, ev.io.in, ev.io.rep,
				 port);
	if (ev.io.in) {
		val = port_in(port, size);
		/* A 32-bit destination zero-extends; 8 and 16 bits merge. */
		regs->rax = size == 4 ? val : (regs->rax & ~mask) | val;
	} else {
		port_out(port, size, (u32)ev.io.value);
	}
	skip_instruction();
	return RESUME;
}

static TV_VMX_ROOT int ext_descriptor(struct tv_vcpu *v, struct tv_regs *regs,
				      u32 basic)
{
	u32 info = (u32)tv_vmread(VMCS_EXIT_INSTR_INFO);
	struct tv_guest_fault f;
	struct tv_ext_event ev;
	enum tv_ext_reply rep;
	u32 identity = (info >> 28) & 3;

	event_init(&ev, TV_EV_DESCRIPTOR);
	ev.descriptor.insn = (basic == TV_EXIT_GDTR_IDTR ? TV_DESC_SGDT :
			      TV_DESC_SLDT) + identity;
	rep = tv_ext_deliver(v, regs, &ev);
	if (rep != TV_EXT_CONTINUE)
		return tv_ext_finish(&ev, rep);
	switch (tv_desc_exit(regs, basic == TV_EXIT_LDTR_TR,
			     v->shared->features.phys_bits, &f)) {
	case TV_DESC_DONE:
		skip_instruction();
		return RESUME;
	case TV_DESC_FAULT:
		tv_fault_inject(&f);
		return RESUME;
	case TV_DESC_NO_MEMORY:
		break;
	}
	/* An operand in memory the host does not map: let the CPU do it. */
	if (v->shared->mtf)
		return step_natively(v, 0, PROC2_DESC_TABLE_EXITING);
	tv_ext_inject_exception(VEC_GP, 1, 0);
	return RESUME;
}

static TV_VMX_ROOT bool canonical(u64 la)
{
	return (u64)((s64)(la << 16) >> 16) == la;
}

static TV_VMX_ROOT int ext_invlpg(struct tv_vcpu *v, struct tv_regs *regs)
{
	struct tv_ext_event ev;
	enum tv_ext_reply rep;
	u64 la = tv_vmread(VMCS_EXIT_QUALIFICATION);

	event_init(&ev, TV_EV_INVLPG);
	ev.invlpg.linear = la;
	rep = tv_ext_deliver(v, regs, &ev);
	if (rep != TV_EXT_CONTINUE)
		return tv_ext_finish(&ev, rep);
	/* INVLPG of a non-canonical address is a no-op. */
	if (canonical(la))
		tv_invvpid(tv_invvpid_type(&v->shared->caps,
					   INVVPID_ADDRESS),
			   v->vpid, la);
	skip_instruction();
	return RESUME;
}

static TV_VMX_ROOT int ext_rdtsc(struct tv_vcpu *v, struct tv_regs *regs,
				 bool rdtscp)
{
	struct tv_ext_event ev;
	enum tv_ext_reply rep;
	u64 tsc;

	event_init(&ev, TV_EV_RDTSC);
	ev.rdtsc.rdtscp = rdtscp;
	rep = tv_ext_deliver(v, regs, &ev);
	if (rep != TV_EXT_CONTINUE)
		return tv_ext_finish(&ev, rep);
	tsc = tv_rdtsc();
	if (v->shared->ctl.proc & PROC_TSC_OFFSETTING)
		tsc += tv_vmread(VMCS_TSC_OFFSET);
	regs->rax = (u32)tsc;
	regs->rdx = tsc >> 32;
	/* TSC_AUX is not switched: root's is the guest's. */
	if (rdtscp)
		regs->rcx = (u32)tv_rdmsr(MSR_IA32_TSC_AUX);
	skip_instruction();
	return RESUME;
}

/*
 * What the CPU would have done with the exception: deliver it, or, when
 * it hit the delivery of another, what the two make (SDM Vol. 3A Table
 * 6-5, tv_event_combine()): a #DF, or a shutdown, which the exception
 * bitmap keeps the CPU from seeing for itself.
 */
static TV_VMX_ROOT int deliver_exception(struct tv_vcpu *v,
					 const struct tv_ext_event *ev,
					 u32 intr, u32 idt)
{
	u32 vec = ev->exception.vector, type = intr & 0x700;
	struct tv_event e;
	bool shutdown;
	u64 dr6;

	if ((idt & INTR_INFO_VALID) && type == INTR_TYPE_HW_EXCEPTION) {
		e = tv_event_combine(idt, vec, ev->exception.error_code,
				     tv_vmread(VMCS_GUEST_CR0), &shutdown);
		if (shutdown)
			return tv_exit_triple_fault(v);
		if (tv_event_vector(e.info) == VEC_DF) {
			tv_event_write(&e);
			return RESUME;
		}
	}
	if (vec == VEC_PF)
		asm volatile("mov %0, %%cr2" : : "r"(ev->exception.fault_address));
	if (vec == VEC_DB && type == INTR_TYPE_HW_EXCEPTION) {
		/* An intercepted #DB has not updated DR6 (SDM 27.1). */
		dr6 = read_dr(6) & ~0x1e00fULL;
		dr6 |= ev->exception.fault_address & 0x600f;
		dr6 |= 0xffff0ff0ULL;
		if (ev->exception.fault_address & TV_BIT(16))
			dr6 &= ~TV_BIT(16);	/* RTM is active low */
		write_dr(6, dr6);
	}
	tv_vmwrite(VMCS_ENTRY_INTR_INFO, intr & ~TV_BIT(12));
	if (intr & INTR_INFO_DELIVER_ERROR)
		tv_vmwrite(VMCS_ENTRY_EXCEPTION_ERROR, ev->exception.error_code);
	if (type != INTR_TYPE_HW_EXCEPTION)
		tv_vmwrite(VMCS_ENTRY_INSTR_LEN, ev->instr_len);
	return RESUME;
}

static TV_VMX_ROOT int ext_exception(struct tv_vcpu *v, struct tv_regs *regs)
{
	u32 intr = (u32)tv_vmread(VMCS_EXIT_INTR_INFO);
	u32 idt = (u32)tv_vmread(VMCS_IDT_VECTORING_INFO);
	struct tv_ext_event ev;
	enum tv_ext_reply rep;
	u32 type = intr & 0x700;
	bool unblocked;
	int ret;

	event_init(&ev, TV_EV_EXCEPTION);
	ev.exception.vector = intr & 0xff;
	ev.exception.software = type != INTR_TYPE_HW_EXCEPTION;
	ev.exception.has_error_code = !!(intr & INTR_INFO_DELIVER_ERROR);
	if (ev.exception.has_error_code)
		ev.exception.error_code = (u32)tv_vmread(VMCS_EXIT_INTR_ERROR);
	ev.exception.fault_address = tv_vmread(VMCS_EXIT_QUALIFICATION);
	rep = tv_ext_deliver(v, regs, &ev);
	/* A faulting IRET had unblocked NMIs: blocked again, whatever the
	 * reply (the guest sees the IRET fault, or runs it again).
	 */
	unblocked = !!(intr & TV_EVENT_NMI_UNBLOCKED_BY_IRET);
	switch (rep) {
	case TV_EXT_CONTINUE:
		ret = deliver_exception(v, &ev, intr, idt);
		tv_event_iret_nmi_restore(unblocked, ev.exception.vector);
		return ret;
	case TV_EXT_INJECT:
		tv_ext_inject_reply(&ev);
		tv_event_iret_nmi_restore(unblocked, ev.exception.vector);
		break;
	case TV_EXT_HANDLED:
		/* INT3/INTO/INT1 consumed: the guest goes on after them. */
		if (ev.exception.software)
			skip_instruction();
		fallthrough;
	case TV_EXT_RETRY:
		/* Consumed: the interrupted delivery, if any, goes on. */
		tv_event_fault_exit_done(unblocked, ev.exception.vector);
		break;
	}
	return RESUME;
}

/*
 * A guest access to one of thinvisor's own pages (VMCS, VMXON region,
 * EPT tables, bitmaps, VMM stacks): refused with a page fault whose error
 * code has the reserved-bit flag (P | RSVD, W and I/D as the access was),
 * CR2 the linear address: an OS never takes that for a spurious fault to
 * retry, so a kernel's fault-tolerant accessor gets its error and anything
 * else oopses in the guest, while the VMM runs on.  Without a linear
 * address (the CPU's own access during a page walk) it is #GP(0).
 */
static TV_VMX_ROOT int refuse_vmm_page(struct tv_vcpu *v, u64 gpa, u64 qual)
{
	u32 error = 1 | 8;	/* P | RSVD */
	u64 gla;

	tv_vmm_log(TV_LOG_WARN,
		   "CPU %u: guest access to thinvisor's page 0x%llx from RIP 0x%llx refused\n",
		   v->cpu, gpa & ~0xfffULL, tv_vmread(VMCS_GUEST_RIP));
	if (!((qual >> 7) & 1)) {
		tv_ext_inject_exception(VEC_GP, 1, 0);
		return RESUME;
	}
	gla = tv_vmread(VMCS_GUEST_LINEAR_ADDR);
	if (qual & 2)
		error |= 2;		/* W */
	if (qual & 4)
		error |= 0x10;		/* I/D */
	if (guest_cpl() == 3)
		error |= 4;		/* U/S */
	asm volatile("mov %0, %%cr2" : : "r"(gla) : "memory");
	tv_ext_inject_exception(VEC_PF, 1, error);
	return RESUME;
}

/* Returns -1 when nobody took it: the core's own handling follows. */
static TV_VMX_ROOT int ext_page_access(struct tv_vcpu *v, struct tv_regs *regs)
{
	u64 qual = tv_vmread(VMCS_EXIT_QUALIFICATION);
	struct tv_ext_event ev;
	enum tv_ext_reply rep;

	event_init(&ev, TV_EV_PAGE_ACCESS);
	ev.instr_len = 0;
	ev.page.gpa = tv_vmread(VMCS_GUEST_PHYS_ADDR);
	if (tv_ext_is_protected(ev.page.gpa))
		return refuse_vmm_page(v, ev.page.gpa, qual);
	if (!tv_ext_wants_exit(v, TV_EXIT_EPT_VIOLATION))
		return -1;
	ev.page.gla_valid = (qual >> 7) & 1;
	if (ev.page.gla_valid)
		ev.page.gla = tv_vmread(VMCS_GUEST_LINEAR_ADDR);
	ev.page.access = qual & 7;
	ev.page.allowed = (qual >> 3) & 7;
	ev.page.view = tv_ext_view_current();
	rep = tv_ext_deliver(v, regs, &ev);
	if (rep == TV_EXT_CONTINUE)
		return -1;
	if (rep == TV_EXT_INJECT) {
		tv_ext_inject_reply(&ev);
		tv_event_iret_nmi_restore(qual & EPT_QUAL_NMI_UNBLOCKING, ~0u);
	} else {
		tv_event_fault_exit_done(qual & EPT_QUAL_NMI_UNBLOCKING, ~0u);
	}
	return RESUME;
}

static TV_VMX_ROOT int ext_mtf(struct tv_vcpu *v, struct tv_regs *regs)
{
	struct tv_ext_event ev;

	if (v->native_step) {
		v->native_step = false;
		tv_ext_write_controls(v);
	}
	if (v->ext_single_step) {
		event_init(&ev, TV_EV_MTF);
		ev.instr_len = 0;
		/* Nothing to complete or refuse: any reply just resumes. */
		tv_ext_deliver(v, regs, &ev);
	}
	return RESUME;
}

static TV_VMX_ROOT int ext_vmcall(struct tv_vcpu *v, struct tv_regs *regs)
{
	struct tv_ext_event ev;
	enum tv_ext_reply rep;
	int max_cpl = tv_ext_vmcall_max_cpl(regs->rax);

	if (max_cpl < 0 || guest_cpl() > (u32)max_cpl) {
		inject_ud();
		return RESUME;
	}
	event_init(&ev, TV_EV_VMCALL);
	ev.vmcall.nr = regs->rax;
	rep = tv_ext_deliver(v, regs, &ev);
	if (rep == TV_EXT_CONTINUE) {
		/* Its owner declined it: as for any unknown number. */
		inject_ud();
		return RESUME;
	}
	return tv_ext_finish(&ev, rep);
}

TV_VMX_ROOT int tv_exit_ext(struct tv_vcpu *v, struct tv_regs *regs, u32 basic)
{
	switch (basic) {
	case TV_EXIT_CPUID:
		return ext_cpuid(v, regs);
	case TV_EXIT_RDMSR:
		return ext_msr(v, regs, false);
	case TV_EXIT_WRMSR:
		return ext_msr(v, regs, true);
	case TV_EXIT_DR_ACCESS:
		return ext_dr(v, regs);
	case TV_EXIT_IO_INSTRUCTION:
		return ext_io(v, regs);
	case TV_EXIT_GDTR_IDTR:
	case TV_EXIT_LDTR_TR:
		return ext_descriptor(v, regs, basic);
	case TV_EXIT_INVLPG:
		return ext_invlpg(v, regs);
	case TV_EXIT_RDTSC:
		return ext_rdtsc(v, regs, false);
	case TV_EXIT_RDTSCP:
		return ext_rdtsc(v, regs, true);
	case TV_EXIT_EXCEPTION_NMI:
		return ext_exception(v, regs);
	case TV_EXIT_EPT_VIOLATION:
		return ext_page_access(v, regs);
	case TV_EXIT_MTF:
		return ext_mtf(v, regs);
	case TV_EXIT_VMCALL:
		return ext_vmcall(v, regs);
	default:
		return -1;
	}
}
