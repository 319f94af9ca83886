// SPDX-License-Identifier: MIT
/*
 * The guest-state dump written before a fatal stop, from VMX root: a few
 * dense lines, so that it fits the log ring and survives a busy console.
 */
#include "core/vcpu.h"
#include "core/log.h"
#include "core/vmm.h"
#include "arch/x86/cpu.h"
#include "arch/x86/vmcs.h"
#include "arch/x86/vmx.h"

static const struct {
	u32 field;
	const char *name;
} dump_fields[] = {
	{ VMCS_EXIT_REASON, "reason" },
	{ VMCS_EXIT_QUALIFICATION, "qual" },
	{ VMCS_EXIT_INTR_INFO, "intr" },
	{ VMCS_IDT_VECTORING_INFO, "idtvec" },
	{ VMCS_EXIT_INSTR_LEN, "ilen" },
	{ VMCS_INSTR_ERROR, "vmxerr" },
	{ VMCS_GUEST_PHYS_ADDR, "gpa" },
	{ VMCS_GUEST_LINEAR_ADDR, "gla" },
	{ VMCS_GUEST_RIP, "rip" },
	{ VMCS_GUEST_RSP, "rsp" },
	{ VMCS_GUEST_RFLAGS, "rflags" },
	{ VMCS_GUEST_CR0, "cr0" },
	{ VMCS_CR0_SHADOW, "cr0sh" },
	{ VMCS_GUEST_CR3, "cr3" },
	{ VMCS_GUEST_CR4, "cr4" },
	{ VMCS_CR4_SHADOW, "cr4sh" },
	{ VMCS_GUEST_EFER, "efer" },
	{ VMCS_GUEST_DR7, "dr7" },
	{ VMCS_GUEST_CS_SEL, "cs" },
	{ VMCS_GUEST_CS_BASE, "csbase" },
	{ VMCS_GUEST_CS_LIMIT, "cslim" },
	{ VMCS_GUEST_CS_AR, "csar" },
	{ VMCS_GUEST_SS_SEL, "ss" },
	{ VMCS_GUEST_SS_AR, "ssar" },
	{ VMCS_GUEST_DS_SEL, "ds" },
	{ VMCS_GUEST_ES_SEL, "es" },
	{ VMCS_GUEST_FS_SEL, "fs" },
	{ VMCS_GUEST_FS_BASE, "fsbase" },
	{ VMCS_GUEST_GS_SEL, "gs" },
	{ VMCS_GUEST_GS_BASE, "gsbase" },
	{ VMCS_GUEST_TR_SEL, "tr" },
	{ VMCS_GUEST_TR_AR, "trar" },
	{ VMCS_GUEST_LDTR_SEL, "ldtr" },
	{ VMCS_GUEST_LDTR_AR, "ldtrar" },
	{ VMCS_GUEST_GDTR_BASE, "gdtr" },
	{ VMCS_GUEST_GDTR_LIMIT, "gdtlim" },
	{ VMCS_GUEST_IDTR_BASE, "idtr" },
	{ VMCS_GUEST_IDTR_LIMIT, "idtlim" },
	{ VMCS_GUEST_INTERRUPTIBILITY, "intrst" },
	{ VMCS_GUEST_ACTIVITY_STATE, "activity" },
	{ VMCS_GUEST_PENDING_DBG, "pdbg" },
	{ VMCS_ENTRY_CONTROLS, "entryctl" },
	{ VMCS_ENTRY_INTR_INFO, "entryintr" },
};

TV_VMX_ROOT void tv_dump_guest_state(struct tv_vcpu *v, const char *why)
{
	const struct tv_regs *r = &tv_stack_top(v)->regs;
	char line[TV_LOG_TEXT - 8];
	unsigned int i, len = 0;
	const char *name = NULL;
	u64 val;

	tv_vmm_log(TV_LOG_ERR, "CPU %u: %s after %llu exits; guest state:\n",
		   v->cpu, why, v->exits);
	if (!tv_vmread_safe(VMCS_EXIT_REASON, &val))
		name = tv_exit_reason_name(TV_EXIT_BASIC(val));
	tv_vmm_log(TV_LOG_ERR, " last exit: %s\n", name ? name : "unnamed");
	for (i = 0; i < TV_ARRAY_SIZE(dump_fields); i++) {
		if (tv_vmread_safe(dump_fields[i].field, &val))
			continue;
		if (len > sizeof(line) - 40) {
			tv_vmm_log(TV_LOG_ERR, " %s\n", line);
			len = 0;
		}
		len += tv_snprintf(line + len, sizeof(line) - len, " %s=%llx",
				   dump_fields[i].name, val);
	}
	if (len)
		tv_vmm_log(TV_LOG_ERR, " %s\n", line);
	tv_vmm_log(TV_LOG_ERR,
		   "  rax=%llx rbx=%llx rcx=%llx rdx=%llx rsi=%llx rdi=%llx rbp=%llx\n",
		   r->rax, r->rbx, r->rcx, r->rdx, r->rsi, r->rdi, r->rbp);
	tv_vmm_log(TV_LOG_ERR,
		   "  r8=%llx r9=%llx r10=%llx r11=%llx r12=%llx r13=%llx r14=%llx r15=%llx\n",
		   r->r8, r->r9, r->r10, r->r11, r->r12, r->r13, r->r14,
		   r->r15);
}
