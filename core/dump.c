// SPDX-License-Identifier: MIT
/* The guest-state dump written before a fatal stop, from VMX root. */
#include "core/vcpu.h"
#include "core/vmm.h"
#include "arch/x86/cpu.h"
#include "arch/x86/vmcs.h"

static const struct {
	u32 field;
	const char *name;
} dump_fields[] = {
	{ VMCS_EXIT_REASON, "exit reason" },
	{ VMCS_EXIT_QUALIFICATION, "qualification" },
	{ VMCS_EXIT_INTR_INFO, "exit intr info" },
	{ VMCS_IDT_VECTORING_INFO, "idt vectoring" },
	{ VMCS_EXIT_INSTR_LEN, "instr len" },
	{ VMCS_GUEST_PHYS_ADDR, "guest phys" },
	{ VMCS_GUEST_LINEAR_ADDR, "guest linear" },
	{ VMCS_GUEST_RIP, "rip" },
	{ VMCS_GUEST_RSP, "rsp" },
	{ VMCS_GUEST_RFLAGS, "rflags" },
	{ VMCS_GUEST_CR0, "cr0" },
	{ VMCS_GUEST_CR3, "cr3" },
	{ VMCS_GUEST_CR4, "cr4" },
	{ VMCS_CR0_SHADOW, "cr0 shadow" },
	{ VMCS_CR4_SHADOW, "cr4 shadow" },
	{ VMCS_GUEST_DR7, "dr7" },
	{ VMCS_GUEST_EFER, "efer" },
	{ VMCS_GUEST_CS_SEL, "cs" },
	{ VMCS_GUEST_CS_AR, "cs ar" },
	{ VMCS_GUEST_CS_BASE, "cs base" },
	{ VMCS_GUEST_SS_SEL, "ss" },
	{ VMCS_GUEST_SS_AR, "ss ar" },
	{ VMCS_GUEST_DS_SEL, "ds" },
	{ VMCS_GUEST_ES_SEL, "es" },
	{ VMCS_GUEST_FS_SEL, "fs" },
	{ VMCS_GUEST_FS_BASE, "fs base" },
	{ VMCS_GUEST_GS_SEL, "gs" },
	{ VMCS_GUEST_GS_BASE, "gs base" },
	{ VMCS_GUEST_TR_SEL, "tr" },
	{ VMCS_GUEST_TR_BASE, "tr base" },
	{ VMCS_GUEST_LDTR_SEL, "ldtr" },
	{ VMCS_GUEST_GDTR_BASE, "gdtr base" },
	{ VMCS_GUEST_GDTR_LIMIT, "gdtr limit" },
	{ VMCS_GUEST_IDTR_BASE, "idtr base" },
	{ VMCS_GUEST_IDTR_LIMIT, "idtr limit" },
	{ VMCS_GUEST_INTERRUPTIBILITY, "interruptibility" },
	{ VMCS_GUEST_ACTIVITY_STATE, "activity" },
	{ VMCS_GUEST_PENDING_DBG, "pending dbg" },
	{ VMCS_ENTRY_CONTROLS, "entry controls" },
	{ VMCS_ENTRY_INTR_INFO, "entry intr info" },
	{ VMCS_INSTR_ERROR, "instr error" },
};

void tv_dump_guest_state(struct tv_vcpu *v, const char *why)
{
	struct tv_stack_top *top =
		(struct tv_stack_top *)(v->stack +
					TV_VMM_STACK_PAGES * TV_PAGE_SIZE) - 1;
	const struct tv_regs *r = &top->regs;
	unsigned int i;
	u64 val;

	tv_vmm_log(TV_LOG_ERR, "thinvisor: CPU %u: %s; guest state:\n",
		   v->cpu, why);
	for (i = 0; i < TV_ARRAY_SIZE(dump_fields); i++) {
		if (tv_vmread_safe(dump_fields[i].field, &val))
			continue;
		tv_vmm_log(TV_LOG_ERR, "thinvisor:   %-16s 0x%llx\n",
			   dump_fields[i].name, val);
	}
	tv_vmm_log(TV_LOG_ERR,
		   "thinvisor:   rax 0x%llx rbx 0x%llx rcx 0x%llx rdx 0x%llx rsi 0x%llx rdi 0x%llx rbp 0x%llx\n",
		   r->rax, r->rbx, r->rcx, r->rdx, r->rsi, r->rdi, r->rbp);
	tv_vmm_log(TV_LOG_ERR,
		   "thinvisor:   r8 0x%llx r9 0x%llx r10 0x%llx r11 0x%llx r12 0x%llx r13 0x%llx r14 0x%llx r15 0x%llx\n",
		   r->r8, r->r9, r->r10, r->r11, r->r12, r->r13, r->r14,
		   r->r15);
	tv_vmm_log(TV_LOG_ERR, "thinvisor:   exits on this CPU: %llu\n",
		   v->exits);
}
