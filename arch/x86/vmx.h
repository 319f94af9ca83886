/* SPDX-License-Identifier: MIT */
/* VMX control bits, exit reasons and event encodings (Intel SDM Vol. 3). */
#ifndef TV_ARCH_VMX_H
#define TV_ARCH_VMX_H

#include "include/thinvisor/exit_reasons.h"

/* Pin-based VM-execution controls */
#define PIN_EXT_INTR_EXITING TV_BIT(0)
#define PIN_NMI_EXITING TV_BIT(3)
#define PIN_VIRTUAL_NMIS TV_BIT(5)
#define PIN_PREEMPTION_TIMER TV_BIT(6)

/* Primary processor-based controls */
#define PROC_INTR_WINDOW TV_BIT(2)
#define PROC_TSC_OFFSETTING TV_BIT(3)
#define PROC_HLT_EXITING TV_BIT(7)
#define PROC_INVLPG_EXITING TV_BIT(9)
#define PROC_MWAIT_EXITING TV_BIT(10)
#define PROC_RDPMC_EXITING TV_BIT(11)
#define PROC_RDTSC_EXITING TV_BIT(12)
#define PROC_CR3_LOAD_EXITING TV_BIT(15)
#define PROC_CR3_STORE_EXITING TV_BIT(16)
#define PROC_CR8_LOAD_EXITING TV_BIT(19)
#define PROC_CR8_STORE_EXITING TV_BIT(20)
#define PROC_TPR_SHADOW TV_BIT(21)
#define PROC_MOV_DR_EXITING TV_BIT(23)
#define PROC_UNCOND_IO_EXITING TV_BIT(24)
#define PROC_USE_IO_BITMAPS TV_BIT(25)
#define PROC_MTF TV_BIT(27)
#define PROC_USE_MSR_BITMAPS TV_BIT(28)
#define PROC_MONITOR_EXITING TV_BIT(29)
#define PROC_PAUSE_EXITING TV_BIT(30)
#define PROC_SECONDARY_CONTROLS TV_BIT(31)

/* Secondary processor-based controls */
#define PROC2_VIRT_APIC_ACCESS TV_BIT(0)
#define PROC2_ENABLE_EPT TV_BIT(1)
#define PROC2_DESC_TABLE_EXITING TV_BIT(2)
#define PROC2_ENABLE_RDTSCP TV_BIT(3)
#define PROC2_VIRT_X2APIC TV_BIT(4)
#define PROC2_ENABLE_VPID TV_BIT(5)
#define PROC2_WBINVD_EXITING TV_BIT(6)
#define PROC2_UNRESTRICTED_GUEST TV_BIT(7)
#define PROC2_PAUSE_LOOP_EXITING TV_BIT(10)
#define PROC2_RDRAND_EXITING TV_BIT(11)
#define PROC2_ENABLE_INVPCID TV_BIT(12)
#define PROC2_ENABLE_VMFUNC TV_BIT(13)
#define PROC2_VMCS_SHADOWING TV_BIT(14)
#define PROC2_RDSEED_EXITING TV_BIT(16)
#define PROC2_ENABLE_PML TV_BIT(17)
#define PROC2_EPT_VE TV_BIT(18)
#define PROC2_CONCEAL_FROM_PT TV_BIT(19)
#define PROC2_ENABLE_XSAVES TV_BIT(20)
#define PROC2_TSC_SCALING TV_BIT(25)
#define PROC2_ENABLE_USER_WAIT_PAUSE TV_BIT(26)

/* VM-exit controls */
#define EXIT_SAVE_DEBUG_CONTROLS TV_BIT(2)
#define EXIT_HOST_ADDR_SPACE_SIZE TV_BIT(9)
#define EXIT_LOAD_PERF_GLOBAL_CTRL TV_BIT(12)
#define EXIT_ACK_INTR_ON_EXIT TV_BIT(15)
#define EXIT_SAVE_PAT TV_BIT(18)
#define EXIT_LOAD_PAT TV_BIT(19)
#define EXIT_SAVE_EFER TV_BIT(20)
#define EXIT_LOAD_EFER TV_BIT(21)
#define EXIT_SAVE_PREEMPTION_TIMER TV_BIT(22)
#define EXIT_CLEAR_BNDCFGS TV_BIT(23)
#define EXIT_CONCEAL_FROM_PT TV_BIT(24)

/* VM-entry controls */
#define ENTRY_LOAD_DEBUG_CONTROLS TV_BIT(2)
#define ENTRY_IA32E_MODE_GUEST TV_BIT(9)
#define ENTRY_SMM TV_BIT(10)
#define ENTRY_LOAD_PERF_GLOBAL_CTRL TV_BIT(13)
#define ENTRY_LOAD_PAT TV_BIT(14)
#define ENTRY_LOAD_EFER TV_BIT(15)
#define ENTRY_LOAD_BNDCFGS TV_BIT(16)
#define ENTRY_CONCEAL_FROM_PT TV_BIT(17)

/*
 * Basic exit reasons (Appendix C), from the one list that tvctl and the
 * logs name them by (include/thinvisor/exit_reasons.h).
 */
enum tv_exit_reason {
#define TV_EXIT_REASON_ENUM(name, nr) TV_EXIT_##name = nr,
	TV_EXIT_REASONS(TV_EXIT_REASON_ENUM)
#undef TV_EXIT_REASON_ENUM
	TV_EXIT_MAX = TV_EXIT_REASON_SLOTS,	/* size of per-reason tables */
};

#define TV_EXIT_BASIC(r) ((r) & 0xffff)
#define TV_EXIT_ENTRY_FAILURE TV_BIT(31)

/* VM-entry interruption-information field */
#define INTR_INFO_VALID TV_BIT(31)
#define INTR_INFO_DELIVER_ERROR TV_BIT(11)
#define INTR_TYPE_EXT_INTR (0u << 8)
#define INTR_TYPE_NMI (2u << 8)
#define INTR_TYPE_HW_EXCEPTION (3u << 8)
#define INTR_TYPE_SW_EXCEPTION (6u << 8)

/* Exception vectors */
#define VEC_DB 1
#define VEC_NMI 2
#define VEC_BP 3
#define VEC_UD 6
#define VEC_DF 8
#define VEC_GP 13
#define VEC_PF 14
#define VEC_MC 18

/* Guest interruptibility state */
#define INTERRUPTIBILITY_STI TV_BIT(0)
#define INTERRUPTIBILITY_MOV_SS TV_BIT(1)
#define INTERRUPTIBILITY_SMI TV_BIT(2)
#define INTERRUPTIBILITY_NMI TV_BIT(3)

/* Guest activity state */
#define ACTIVITY_ACTIVE 0
#define ACTIVITY_HLT 1
#define ACTIVITY_SHUTDOWN 2
#define ACTIVITY_WAIT_SIPI 3

/* Pending debug exceptions: single-step (BS) */
#define PENDING_DBG_BS TV_BIT(14)

/* Segment access rights (VMCS format) */
#define AR_UNUSABLE TV_BIT(16)

/* RFLAGS */
#define RFLAGS_CF TV_BIT(0)
#define RFLAGS_FIXED TV_BIT(1)
#define RFLAGS_PF TV_BIT(2)
#define RFLAGS_AF TV_BIT(4)
#define RFLAGS_ZF TV_BIT(6)
#define RFLAGS_SF TV_BIT(7)
#define RFLAGS_TF TV_BIT(8)
#define RFLAGS_IF TV_BIT(9)
#define RFLAGS_OF TV_BIT(11)
#define RFLAGS_RF TV_BIT(16)

/* Control registers */
#define CR0_PE TV_BIT(0)
#define CR0_MP TV_BIT(1)
#define CR0_TS TV_BIT(3)
#define CR0_ET TV_BIT(4)
#define CR0_NE TV_BIT(5)
#define CR0_WP TV_BIT(16)
#define CR0_NW TV_BIT(29)
#define CR0_CD TV_BIT(30)
#define CR0_PG TV_BIT(31)
#define CR4_PAE TV_BIT(5)
#define CR4_PGE TV_BIT(7)
#define CR4_VMXE TV_BIT(13)
#define CR4_SMXE TV_BIT(14)
#define CR4_PCIDE TV_BIT(17)
#define CR4_OSXSAVE TV_BIT(18)

/* VM-instruction error numbers worth naming in logs */
#define VMXERR_ENTRY_INVALID_CONTROL 7
#define VMXERR_ENTRY_INVALID_HOST_STATE 8

/* INVEPT / INVVPID types */
#define INVEPT_SINGLE_CONTEXT 1
#define INVEPT_ALL_CONTEXT 2
#define INVVPID_ADDRESS 0
#define INVVPID_SINGLE_CONTEXT 1
#define INVVPID_ALL_CONTEXT 2
#define INVVPID_SINGLE_CONTEXT_GLOBALS 3

#endif
