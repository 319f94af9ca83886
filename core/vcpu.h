/* SPDX-License-Identifier: MIT */
/* Per-CPU and shared VMM state: internal to the core. */
#ifndef TV_CORE_VCPU_H
#define TV_CORE_VCPU_H

#include "core/types.h"
#include "core/caps.h"
#include "core/emulate.h"
#include "arch/x86/vmx.h"
#include "arch/x86/vmcs.h"
#include "arch/x86/vmx_stub.h"
#include "arch/x86/cpu.h"
#include "core/vmm.h"

struct tv_ept;

/* Guest general registers as the exit stub saves them (SDM order). */
struct tv_regs {
	u64 rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi;
	u64 r8, r9, r10, r11, r12, r13, r14, r15;
};

/*
 * The stub pushes the registers one by one and finds the RSP slot by its
 * offset (arch/x86/vmx_stub.h); tv_reg() indexes them by the SDM's
 * register number.  Both need exactly this order with no padding.
 */
#define TV_REGS_SLOT(reg, n)						\
	_Static_assert(offsetof(struct tv_regs, reg) == (n) * 8,	\
		       "struct tv_regs: " #reg " is register " #n)
TV_REGS_SLOT(rax, 0); TV_REGS_SLOT(rcx, 1); TV_REGS_SLOT(rdx, 2);
TV_REGS_SLOT(rbx, 3); TV_REGS_SLOT(rsp, 4); TV_REGS_SLOT(rbp, 5);
TV_REGS_SLOT(rsi, 6); TV_REGS_SLOT(rdi, 7); TV_REGS_SLOT(r8, 8);
TV_REGS_SLOT(r9, 9); TV_REGS_SLOT(r10, 10); TV_REGS_SLOT(r11, 11);
TV_REGS_SLOT(r12, 12); TV_REGS_SLOT(r13, 13); TV_REGS_SLOT(r14, 14);
TV_REGS_SLOT(r15, 15);
#undef TV_REGS_SLOT
_Static_assert(sizeof(struct tv_regs) == TV_STUB_REGS_SIZE,
	       "TV_STUB_REGS_SIZE: the stub pushes 16 registers");
_Static_assert(offsetof(struct tv_regs, rsp) == TV_STUB_REGS_RSP,
	       "TV_STUB_REGS_RSP: where the stub finds the RSP slot");

static inline u64 *tv_reg(struct tv_regs *r, unsigned int n)
{
	return &((u64 *)r)[n & 15];
}

/* State shared by every CPU: built once at load. */
struct tv_shared {
	struct tv_vmx_caps caps;
	struct tv_cpu_features features;
	struct tv_controls ctl;
	struct tv_cr_policy cr_policy;
	u8 *msr_bitmap;
	struct tv_ept *ept;
	u64 eptp;
	u64 terminate_key;	/* per load: only thinvisor may give CPUs back */
	bool mtf;		/* monitor trap flag advertised and traps */
	bool mtf_untrapped;	/* advertised, but the launch probe saw no trap */
	bool triple_fault_panic; /* debug: dump and panic instead of reset */
};

#define TV_VMM_STACK_PAGES 8

struct tv_vcpu {
	/*
	 * Read by the exit stub's fast paths (VCPU_* in arch/x86/vmx_stub.S,
	 * checked below): keep these first.
	 *
	 * Basic exit reasons some registered extension asked to see on this
	 * CPU (core/ext.c keeps it).  A fast path that handles an exit on its
	 * own must take the general dispatcher when the reason's bit is set.
	 */
	u64 ext_exits[2];
	/* Root events taken from the stack top, waiting for a window. */
	u32 pending_nmis;
	u32 pending_mces;
	/* Any of these four set: the fast paths stand aside. */
	bool mtf_armed;		/* MTF set to find that window */
	bool stat_cycles;	/* time every exit */
	u8 ext_single_step;	/* bit n: extension slot n steps this CPU */
	bool native_step;	/* an instruction runs natively under MTF */
	/*
	 * With the CPUID bit of @ext_exits set, the leaves extensions asked
	 * for: bit n for leaf n < 31, bit 31 for any leaf above 30
	 * (tv_ext_cpuid_leaf_mask()).  The CPUID fast path takes the rest.
	 */
	u32 ext_cpuid_leaves;
	u64 exits;
	struct tv_exit_stat stat[TV_STAT_REASONS];
	unsigned int cpu;
	u16 vpid;
	bool launched;		/* VMLAUNCH succeeded: we are below this CPU */
	struct tv_shared *shared;
	void *vmxon;		/* one page each */
	void *vmcs;
	u64 vmcs_pa;		/* for VMCLEAR in root: no host call there */
	void *root_idt;		/* VMX root's own IDT (core/root.c), one page */
	u8 *stack;		/* TV_VMM_STACK_PAGES pages */
	u64 cr4_before;		/* CR4 before CR4.VMXE was set */
	u32 entry_fail_reason;	/* VM entry failed on guest state: reason */
	u64 entry_fail_qual;
	u8 view;		/* the EPT view this CPU runs in */
	u16 ext_irq;		/* interrupt waiting for a window, or 0 */
	bool protected;		/* its pages are out of the guest's reach */
	u32 native_drop_proc;	/* with these controls off (ext_root.c) */
	u32 native_drop_proc2;
	u64 root_nmis;		/* NMIs and #MCs that hit VMX root, */
	u64 root_mces;		/* for statistics */
	u64 root_events_dropped; /* for a CPU waiting for SIPI */
	bool mtf_probe;		/* launched with MTF: does it trap? (vcpu.c) */
};

/* The stub's offsets into struct tv_vcpu (arch/x86/vmx_stub.S). */
_Static_assert(offsetof(struct tv_vcpu, ext_exits) == 0, "VCPU_EXT_EXITS");
_Static_assert(offsetof(struct tv_vcpu, pending_nmis) == 16 &&
	       offsetof(struct tv_vcpu, pending_mces) == 20,
	       "VCPU_PENDING: one 8-byte test covers both");
_Static_assert(offsetof(struct tv_vcpu, mtf_armed) == 24 &&
	       offsetof(struct tv_vcpu, stat_cycles) == 25 &&
	       offsetof(struct tv_vcpu, ext_single_step) == 26 &&
	       offsetof(struct tv_vcpu, native_step) == 27,
	       "VCPU_SLOW_FLAGS: one 4-byte test covers all four");
_Static_assert(offsetof(struct tv_vcpu, ext_cpuid_leaves) == 28,
	       "VCPU_CPUID_LEAVES");
_Static_assert(offsetof(struct tv_vcpu, exits) == 32, "VCPU_EXITS");
_Static_assert(offsetof(struct tv_vcpu, stat) == 40, "VCPU_STAT");
_Static_assert(sizeof(struct tv_exit_stat) == 16 &&
	       offsetof(struct tv_exit_stat, count) == 0, "VCPU_STAT");

/*
 * The top of each VMM stack.  HOST_RSP points at @pad: the exit stub
 * pushes exactly a struct tv_regs below it, so the handler finds its vCPU
 * from the register block without any per-CPU lookup.  @root_events
 * counts NMIs (low half) and machine checks (high half) that reached VMX
 * root and are not yet handed to the guest; the stub tests it right
 * before VMRESUME (TOP_ROOT_EVENTS in arch/x86/vmx_stub.S).
 */
struct tv_stack_top {
	struct tv_regs regs;
	u64 pad;
	struct tv_vcpu *vcpu;
	u64 root_events;
	u64 scratch[4];		/* the stub's fast paths park registers here */
	u64 reserved;		/* keeps @pad, and so HOST_RSP, 16-aligned */
};

#define TV_ROOT_EVENT_NMI 1ULL
#define TV_ROOT_EVENT_MCE (1ULL << 32)

_Static_assert(offsetof(struct tv_stack_top, pad) == TV_STUB_REGS_SIZE,
	       "the exit stub pushes a struct tv_regs right below HOST_RSP");
_Static_assert(offsetof(struct tv_stack_top, root_events) -
	       offsetof(struct tv_stack_top, pad) == TV_STUB_TOP_ROOT_EVENTS,
	       "TV_STUB_TOP_ROOT_EVENTS: where the stub looks before VMRESUME");
_Static_assert(offsetof(struct tv_stack_top, scratch) -
	       offsetof(struct tv_stack_top, pad) == 24,
	       "TOP_SCRATCH in arch/x86/vmx_stub.S");
_Static_assert(sizeof(struct tv_stack_top) % 16 == 0,
	       "HOST_RSP must stay 16-byte aligned");

static inline bool tv_ext_wants_exit(const struct tv_vcpu *v, u32 basic)
{
	return basic < 128 && (v->ext_exits[basic / 64] >> (basic % 64)) & 1;
}

static inline struct tv_stack_top *tv_stack_top(const struct tv_vcpu *v)
{
	return (struct tv_stack_top *)(v->stack +
				       TV_VMM_STACK_PAGES * TV_PAGE_SIZE) - 1;
}

/* arch/x86/vmx_stub.S; its constants are in arch/x86/vmx_stub.h */
_Static_assert(VMCS_GUEST_RSP == TV_STUB_VMCS_GUEST_RSP, "stub's VMWRITE");
_Static_assert(VMCS_GUEST_RIP == TV_STUB_VMCS_GUEST_RIP, "stub's VMWRITE");
_Static_assert(VMCS_GUEST_CR4 == TV_STUB_VMCS_GUEST_CR4, "stub's CPUID VMREAD");
_Static_assert(TV_HC_TERMINATE == TV_STUB_HC_TERMINATE, "stub's VMCALL");
_Static_assert(TV_HC_ROOT_CALL == TV_STUB_HC_ROOT_CALL, "stub's VMCALL");
/* tv_asm_launch reports VMfail as the VMX instruction wrappers do. */
_Static_assert(TV_VMX_FAIL_VALID == TV_LAUNCH_VMFAIL_VALID, "VMfailValid");
_Static_assert(TV_VMX_FAIL_INVALID == TV_LAUNCH_VMFAIL_INVALID, "VMfailInvalid");
int tv_asm_launch(void);
void tv_asm_vmexit(void);
void tv_asm_vmexit_fast(void);
extern const u8 tv_asm_resume_window[], tv_asm_resume_window_end[];
extern const u8 tv_asm_root_vectors[];
int tv_asm_rdmsr_safe(u32 msr, u64 *val);
int tv_asm_wrmsr_safe(u32 msr, u64 val);
extern const u8 tv_asm_rdmsr_insn[], tv_asm_wrmsr_insn[], tv_asm_msr_fault[];
u64 tv_asm_vmcall_terminate(u64 key);
u64 tv_asm_vmcall_root(u64 key, u64 fn, u64 arg);
extern const u8 tv_asm_root_vmcall[];
extern const u8 tv_asm_terminate_vmcall[];
void tv_asm_triple_fault(void);

/* core/root.c: VMX root's own IDT and the events it records */
struct tv_root_frame;
void tv_root_exception(struct tv_root_frame *f);	/* tv_asm_root_common */
void tv_root_idt_build(struct tv_vcpu *v, u16 cs);
/* The vCPU whose VMX root this is (from the root IDT).  VMX root only. */
struct tv_vcpu *tv_root_vcpu(void);
u64 tv_root_idt_base(const struct tv_vcpu *v);
void tv_vmexit_root_events(struct tv_regs *regs);
void tv_root_events_hand_on(struct tv_vcpu *v);
void tv_root_events_deliver_native(struct tv_vcpu *v);

/* core/vcpu.c: executed on the vCPU's own CPU with interrupts off */
int tv_vcpu_launch(struct tv_vcpu *v);
int tv_vcpu_terminate(const struct tv_vcpu *v);
/* Leave VMX operation and shut the CPU down: the platform resets. */
void tv_reset_by_triple_fault(struct tv_vcpu *v);
/*
 * End of the launch's monitor-trap-flag probe, in VMX root: @traps says
 * whether an MTF exit came.  If not, nothing uses MTF any more (logged
 * once); the MTF control itself goes with mtf_armed at this exit's end.
 */
void tv_vcpu_mtf_probed(struct tv_vcpu *v, bool traps);

/* core/vmm.c: sleepable, host lock held */
/*
 * Run @fn(@v, @arg) in VMX root on every virtualized CPU in turn (a keyed
 * TV_HC_ROOT_CALL); returns the first error or non-zero @fn result.
 */
int tv_vmm_root_call_each(int (*fn)(struct tv_vcpu *v, void *arg), void *arg);
/* The same but on CPU @skip (an index past every CPU: none skipped). */
int tv_vmm_root_call_others(unsigned int skip,
			    int (*fn)(struct tv_vcpu *v, void *arg), void *arg);
/* Once, on whichever virtualized CPU comes first; TV_ERR_BUSY: none. */
int tv_vmm_root_call_any(int (*fn)(struct tv_vcpu *v, void *arg), void *arg);
/* The same on CPU @cpu only; TV_ERR_INVALID when it is not virtualized. */
int tv_vmm_root_call_one(unsigned int cpu,
			 int (*fn)(struct tv_vcpu *v, void *arg), void *arg);
/* The shared state, NULL when thinvisor is not loaded. */
const struct tv_shared *tv_vmm_shared(void);

_Static_assert(TV_HC_ROOT_CALL == 0x7476000000000004ULL,
	       "TV_HC_ROOT_CALL in arch/x86/vmx_stub.S");

/* core/exit.c */
int tv_vmexit_handler(struct tv_regs *regs);
void tv_vmresume_failed(void);
void tv_dump_guest_state(struct tv_vcpu *v, const char *why);

/*
 * Return to the guest's context in VMX root without resuming it: used for
 * the terminate hypercall and for a VM entry that failed on guest state.
 * Restores CR3, descriptor tables, debug and base MSRs from the VMCS.
 */
void tv_leave_to_guest(struct tv_vcpu *v, struct tv_regs *regs, u64 rip);

#endif
