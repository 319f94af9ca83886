/* SPDX-License-Identifier: MIT */
/*
 * The basic VM-exit reasons (Intel SDM Vol. 3, Appendix C), listed once.
 *
 * The core's enum (arch/x86/vmx.h), tvctl's names and the VMM's log lines
 * all come from this list, so a reason added here is named everywhere.
 * No OS header: the kernel module, the Windows driver, the unit tests and
 * tvctl all include it.
 *
 * TV_EXIT_REASONS(X) calls X(NAME, NUMBER) once per reason, in increasing
 * order; NAME is the identifier after the TV_EXIT_ prefix and also the
 * name printed.
 */
#ifndef THINVISOR_EXIT_REASONS_H
#define THINVISOR_EXIT_REASONS_H

#define TV_EXIT_REASONS(X) \
	X(EXCEPTION_NMI, 0) \
	X(EXTERNAL_INTERRUPT, 1) \
	X(TRIPLE_FAULT, 2) \
	X(INIT, 3) \
	X(SIPI, 4) \
	X(IO_SMI, 5) \
	X(OTHER_SMI, 6) \
	X(INTERRUPT_WINDOW, 7) \
	X(NMI_WINDOW, 8) \
	X(TASK_SWITCH, 9) \
	X(CPUID, 10) \
	X(GETSEC, 11) \
	X(HLT, 12) \
	X(INVD, 13) \
	X(INVLPG, 14) \
	X(RDPMC, 15) \
	X(RDTSC, 16) \
	X(RSM, 17) \
	X(VMCALL, 18) \
	X(VMCLEAR, 19) \
	X(VMLAUNCH, 20) \
	X(VMPTRLD, 21) \
	X(VMPTRST, 22) \
	X(VMREAD, 23) \
	X(VMRESUME, 24) \
	X(VMWRITE, 25) \
	X(VMXOFF, 26) \
	X(VMXON, 27) \
	X(CR_ACCESS, 28) \
	X(DR_ACCESS, 29) \
	X(IO_INSTRUCTION, 30) \
	X(RDMSR, 31) \
	X(WRMSR, 32) \
	X(INVALID_GUEST_STATE, 33) \
	X(MSR_LOADING, 34) \
	X(MWAIT, 36) \
	X(MTF, 37) \
	X(MONITOR, 39) \
	X(PAUSE, 40) \
	X(MACHINE_CHECK, 41) \
	X(TPR_BELOW_THRESHOLD, 43) \
	X(APIC_ACCESS, 44) \
	X(VIRTUALIZED_EOI, 45) \
	X(GDTR_IDTR, 46) \
	X(LDTR_TR, 47) \
	X(EPT_VIOLATION, 48) \
	X(EPT_MISCONFIG, 49) \
	X(INVEPT, 50) \
	X(RDTSCP, 51) \
	X(PREEMPTION_TIMER, 52) \
	X(INVVPID, 53) \
	X(WBINVD, 54) \
	X(XSETBV, 55) \
	X(APIC_WRITE, 56) \
	X(RDRAND, 57) \
	X(INVPCID, 58) \
	X(VMFUNC, 59) \
	X(ENCLS, 60) \
	X(RDSEED, 61) \
	X(PML_FULL, 62) \
	X(XSAVES, 63) \
	X(XRSTORS, 64)

/* Per-reason tables (statistics) have this many slots: every basic reason. */
#define TV_EXIT_REASON_SLOTS 80

#define TV_EXIT_REASON_NAME(name, nr) [nr] = #name,

/* The name of basic exit reason @reason, or NULL when the list has none. */
static inline const char *tv_exit_reason_name(unsigned int reason)
{
	static const char *const names[TV_EXIT_REASON_SLOTS] = {
		TV_EXIT_REASONS(TV_EXIT_REASON_NAME)
	};

	return reason < TV_EXIT_REASON_SLOTS ? names[reason] : (const char *)0;
}

#endif
