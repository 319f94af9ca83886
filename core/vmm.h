/* SPDX-License-Identifier: MIT */
/*
 * The core's entry points for the hosts.  A host loads thinvisor as:
 *
 *   tv_vmm_init()          checks and shared state, no CPU touched
 *   tv_vmm_up_all()        virtualize every online CPU (or tv_vmm_cpu_up()
 *                          from a hotplug callback)
 *   ...
 *   tv_vmm_down_all()      give every CPU back
 *   tv_vmm_fini()          free the shared state
 *
 * All of them are called from sleepable context, one at a time (the host
 * serializes them with its own lock).
 */
#ifndef TV_CORE_VMM_H
#define TV_CORE_VMM_H

#include "types.h"

/* Init steps that a test build can make fail (tv_plat_fault()). */
enum tv_fault {
	TV_FAULT_NONE = 0,
	TV_FAULT_CAPS = 1,		/* capability checks */
	TV_FAULT_FEATURE_CONTROL = 2,	/* IA32_FEATURE_CONTROL on every CPU */
	TV_FAULT_SHARED_ALLOC = 3,	/* MSR bitmap and shared data */
	TV_FAULT_EPT = 4,		/* EPT identity map */
	TV_FAULT_VCPU_ALLOC = 5,	/* per-CPU regions and stack */
	TV_FAULT_VMXON = 6,		/* VMXON (after CR4.VMXE) */
	TV_FAULT_VMCS = 7,		/* VMCLEAR/VMPTRLD/VMWRITEs */
	TV_FAULT_VMLAUNCH = 8,		/* VMLAUNCH fails (bad host state) */
	TV_FAULT_VMENTRY = 9,		/* VM entry fails (bad guest state) */
	TV_FAULT_LAST_CPU = 10,		/* the last CPU fails: others given back */
	TV_FAULT_CORE_COUNT,
	TV_FAULT_HOST_FIRST = 20,	/* host-specific steps start here */
};

/* Hypercall numbers, CPUID signature and version: the guest ABI. */
#include "thinvisor/hypercall.h"

struct tv_cpu_status {
	bool virtualized;
	u16 vpid;
	u64 exits;
};

/*
 * Per-CPU, per-exit-reason statistics: how many exits and the TSC cycles
 * spent in the VMM's handler for them (measured in the exit path, always
 * on).  Index = basic exit reason; the last slot collects reasons beyond.
 */
#define TV_STAT_REASONS 80
struct tv_exit_stat {
	u64 count;
	u64 cycles;
};

int tv_vmm_init(void);
void tv_vmm_fini(void);
int tv_vmm_up_all(void);
void tv_vmm_down_all(void);
int tv_vmm_cpu_up(unsigned int cpu);
void tv_vmm_cpu_down(unsigned int cpu);
void tv_vmm_cpu_status(unsigned int cpu, struct tv_cpu_status *st);
/* Copy CPU @cpu's statistics into @out[TV_STAT_REASONS]; false when the
 * CPU is not virtualized.
 */
bool tv_vmm_cpu_stats(unsigned int cpu, struct tv_exit_stat *out);
/* Zero the statistics of every virtualized CPU (on that CPU). */
void tv_vmm_stats_reset(void);
/*
 * Make the VMM see RDMSR and/or WRMSR of @msr (an extension point; the
 * default is to see none).  The access still reaches the real MSR.
 * Returns TV_ERR_INVALID outside the MSR-bitmap ranges.  Any CPU may be
 * virtualized already: takes effect at the next access.
 */
int tv_vmm_intercept_msr(u32 msr, bool read, bool write);
/*
 * Ask for more primary processor-based exits (PROC_* of arch/x86/vmx.h,
 * e.g. HLT exiting) on the CPUs virtualized from now on.  An exit nobody
 * handles dumps the guest state and stops the machine: the test bed uses
 * this to prove that path.  Returns TV_ERR_VMX_CAPS if the CPU cannot.
 */
int tv_vmm_request_exits(u32 proc_controls);
/*
 * What a guest triple fault does: by default what the hardware does, a
 * shutdown and so a platform reset; with @dump_and_panic (a debug option)
 * the guest state is dumped and the host panics.  Context: sleepable.
 */
void tv_vmm_set_triple_fault_panic(bool dump_and_panic);
/*
 * Measure the TSC cycles of every exit in the statistics (two RDTSCs per
 * exit, and the fast paths stand aside) for CPUs virtualized from now
 * on; by default exits are only counted.  Context: sleepable.
 */
void tv_vmm_set_stat_cycles(bool on);
/* Ping the VMM on CPU @cpu; returns TV_OK when it answered, TV_ERR_BUSY
 * when that CPU is not under the VMM.
 */
int tv_vmm_ping(unsigned int cpu);
/* Bytes of EPT tables and of per-CPU VMM memory, for reports. */
u64 tv_vmm_ept_bytes(void);

/* Logging helpers over tv_plat_vlog(); tv_vmm_log is for VMX root. */
void tv_log(int level, const char *fmt, ...) TV_PRINTF(2, 3);
void tv_vmm_log(int level, const char *fmt, ...) TV_PRINTF(2, 3);

#endif
