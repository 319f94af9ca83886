/* SPDX-License-Identifier: MIT */
/*
 * thinvisor's extension API: code that runs inside the VMM and filters the
 * VM exits it asks for, at the cost of a function call.
 *
 * An extension fills a struct tv_ext and registers it; it then asks for
 * events (tv_ext_want_*).  An exit exists only while some extension asks
 * for it: with none registered, thinvisor takes exactly the exits it takes
 * for itself.  Several extensions may be registered at once; each event is
 * offered to them in registration order until one answers something other
 * than TV_EXT_CONTINUE.
 *
 * Contexts, as in core/platform.h:
 *   sleepable - normal kernel thread context; may block and allocate.
 *   vmx-root  - inside the VMM, in an event callback: interrupts off, no
 *               lock, no allocation, no sleeping, no call into the OS (the
 *               interrupted guest may hold any of its locks), no SIMD
 *               (build extension objects with -mgeneral-regs-only).
 *
 * Linux: thinvisor.ko exports these symbols; an extension is a module of
 * its own (modprobe thinvisor; insmod my_tool.ko), which registers in its
 * init and unregisters in its exit; the module dependency keeps thinvisor
 * loaded while it is.  Windows: an extension is linked into the driver and
 * declares itself with TV_EXT_BUILTIN(); DriverEntry registers it
 * (docs/extending.md, "Windows").
 */
#ifndef THINVISOR_EXTENSION_H
#define THINVISOR_EXTENSION_H

#include "thinvisor/hypercall.h"

#define TV_EXT_API_VERSION 1

/**
 * struct tv_guest_regs - the guest's general registers at an exit
 * @rax: RAX
 * @rcx: RCX
 * @rdx: RDX
 * @rbx: RBX
 * @rsp: RSP (the guest's, loaded from and written back to the guest state)
 * @rbp: RBP
 * @rsi: RSI
 * @rdi: RDI
 * @r8: R8
 * @r9: R9
 * @r10: R10
 * @r11: R11
 * @r12: R12
 * @r13: R13
 * @r14: R14
 * @r15: R15
 *
 * In SDM order (RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8-R15): register
 * number n of an instruction encoding is element n.  RSP is the guest's
 * (the core loads it before a callback and writes it back after).  A
 * callback may change any of them; the guest resumes with the result.
 */
struct tv_guest_regs {
	unsigned long long rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi;
	unsigned long long r8, r9, r10, r11, r12, r13, r14, r15;
};

/**
 * enum tv_ext_reply - what a callback tells the core to do next
 * @TV_EXT_CONTINUE: not mine, or done looking: the next extension, then
 *	the default behaviour (with any value the callback changed in the
 *	event, e.g. the MSR value or the new CR value).
 * @TV_EXT_HANDLED: the extension emulated the instruction (the core steps
 *	RIP past it) or consumed the exception or violation; no default.
 *	A consumed INT3/INTO is stepped past too; after a consumed fault
 *	the guest runs the faulting instruction again unless the callback
 *	moved RIP (tv_ext_set_rip()).
 * @TV_EXT_INJECT: deliver the exception in &tv_ext_event.inject to the
 *	guest instead; RIP stays on the instruction (a fault).
 * @TV_EXT_RETRY: resume at the same instruction, which runs again (the
 *	extension changed permissions, the EPT view or the registers).
 */
enum tv_ext_reply {
	TV_EXT_CONTINUE = 0,
	TV_EXT_HANDLED,
	TV_EXT_INJECT,
	TV_EXT_RETRY,
};

/**
 * enum tv_ext_event_type - the events an extension can ask for
 * @TV_EV_CPUID: CPUID of a leaf asked for; after the default result is
 *	computed (change it in @cpuid).
 * @TV_EV_MSR_READ: RDMSR of an MSR asked for, after the read (change
 *	@msr.value); inject #GP to refuse.
 * @TV_EV_MSR_WRITE: WRMSR, before the write (change @msr.value or refuse).
 * @TV_EV_CR_WRITE: MOV to CR0/CR3/CR4/CR8 (and CLTS/LMSW as CR0 writes),
 *	before it takes effect: @cr.old_value, @cr.new_value (changeable).
 * @TV_EV_CR_READ: MOV from CR3/CR8; @cr.new_value is what the guest gets.
 * @TV_EV_DR_ACCESS: MOV to or from DR0-DR7.
 * @TV_EV_IO: IN/OUT/INS/OUTS of a port asked for.
 * @TV_EV_DESCRIPTOR: SGDT/SIDT/LGDT/LIDT/SLDT/STR/LLDT/LTR.
 * @TV_EV_XSETBV: XSETBV, before it executes.
 * @TV_EV_INVLPG: INVLPG, before it executes.
 * @TV_EV_RDTSC: RDTSC or RDTSCP; the default executes it.
 * @TV_EV_EXCEPTION: an exception of a vector asked for; the default
 *	delivers it to the guest as the CPU would have.
 * @TV_EV_VMCALL: a hypercall number the extension registered.
 * @TV_EV_PAGE_ACCESS: an access the second-level page permissions of the
 *	CPU's view forbade (tv_ext_page_set()).  The default, when every
 *	extension answers %TV_EXT_CONTINUE or none asked for the event, is
 *	the CPU's with nobody watching: the page gains the rights that access
 *	needs in that view, on the host page the view shows (a warning in
 *	thinvisor's log), and the access goes on.  The machine never stops
 *	for an access a tool left unanswered.
 * @TV_EV_MTF: the single step asked for with tv_ext_single_step() ended.
 * @TV_EV_COUNT: the number of event types.
 */
enum tv_ext_event_type {
	TV_EV_CPUID = 0,
	TV_EV_MSR_READ,
	TV_EV_MSR_WRITE,
	TV_EV_CR_WRITE,
	TV_EV_CR_READ,
	TV_EV_DR_ACCESS,
	TV_EV_IO,
	TV_EV_DESCRIPTOR,
	TV_EV_XSETBV,
	TV_EV_INVLPG,
	TV_EV_RDTSC,
	TV_EV_EXCEPTION,
	TV_EV_VMCALL,
	TV_EV_PAGE_ACCESS,
	TV_EV_MTF,
	TV_EV_COUNT,
};

/* Descriptor-table instructions (TV_EV_DESCRIPTOR). */
enum tv_ext_descriptor_insn {
	TV_DESC_SGDT, TV_DESC_SIDT, TV_DESC_LGDT, TV_DESC_LIDT,
	TV_DESC_SLDT, TV_DESC_STR, TV_DESC_LLDT, TV_DESC_LTR,
};

/* Access types and second-level page permissions (TV_EV_PAGE_ACCESS). */
#define TV_ACCESS_READ 0x1u
#define TV_ACCESS_WRITE 0x2u
#define TV_ACCESS_EXEC 0x4u
#define TV_ACCESS_ALL 0x7u

/**
 * struct tv_ext_event - one event, as a callback sees it
 * @type: which event; selects the member of the union.
 * @cpu: the host's index of the CPU that exited.
 * @regs: the guest's registers (RSP included); changeable.
 * @rip: the guest's RIP at the instruction that exited.
 * @instr_len: its length, where the exit reports one (else 0).
 * @cpuid: %TV_EV_CPUID: the leaf and subleaf, and the result the guest
 *	will get (changeable).
 * @msr: %TV_EV_MSR_READ, %TV_EV_MSR_WRITE: the MSR and its value
 *	(changeable).
 * @cr: %TV_EV_CR_WRITE, %TV_EV_CR_READ: the register (0, 3, 4, 8), the old
 *	value and the new one (changeable; for a read, what the guest gets).
 * @dr: %TV_EV_DR_ACCESS: the debug register, the general register of the
 *	other operand, and the direction.
 * @io: %TV_EV_IO: port, size, direction, string and REP forms, and the
 *	value an OUT writes.
 * @descriptor: %TV_EV_DESCRIPTOR: which instruction.
 * @xsetbv: %TV_EV_XSETBV: the XCR and the value (changeable).
 * @invlpg: %TV_EV_INVLPG: the linear address.
 * @rdtsc: %TV_EV_RDTSC: RDTSCP rather than RDTSC.
 * @exception: %TV_EV_EXCEPTION: vector, error code, software origin, and
 *	CR2 (#PF) or the DR6 bits (#DB).
 * @vmcall: %TV_EV_VMCALL: the hypercall number.
 * @page: %TV_EV_PAGE_ACCESS: the addresses, the access, what the view
 *	allows, and the view.
 * @inject: the exception to deliver for %TV_EXT_INJECT: @inject.vector,
 *	@inject.error_code if @inject.has_error_code.
 */
struct tv_ext_event {
	enum tv_ext_event_type type;
	unsigned int cpu;
	struct tv_guest_regs *regs;
	unsigned long long rip;
	unsigned int instr_len;
	union {
		/* leaf and subleaf asked; the result the guest will get */
		struct {
			unsigned int leaf, subleaf;
			unsigned int eax, ebx, ecx, edx;
		} cpuid;
		struct {
			unsigned int index;
			unsigned long long value;
		} msr;
		/* cr: 0, 3, 4 or 8 */
		struct {
			unsigned int cr;
			unsigned long long old_value, new_value;
		} cr;
		/* dr: 0-7; gpr: the register number of the other operand */
		struct {
			unsigned int dr, gpr;
			int write;
		} dr;
		/* size 1, 2 or 4; value: OUT's data (non-string) */
		struct {
			unsigned int port, size;
			int in, string, rep;
			unsigned long long value;
		} io;
		struct {
			enum tv_ext_descriptor_insn insn;
		} descriptor;
		struct {
			unsigned int xcr;
			unsigned long long value;
		} xsetbv;
		struct {
			unsigned long long linear;
		} invlpg;
		struct {
			int rdtscp;
		} rdtsc;
		/*
		 * vector; software: from INT3/INTO (deliver with instr_len);
		 * fault_address: CR2 for #PF, the DR6 bits for #DB
		 */
		struct {
			unsigned int vector;
			int has_error_code, software;
			unsigned int error_code;
			unsigned long long fault_address;
		} exception;
		/* nr: RAX; arguments and results in @regs */
		struct {
			unsigned long long nr;
		} vmcall;
		/*
		 * gpa: the guest-physical address; gla: the linear address
		 * when gla_valid; access: what was tried, allowed: what the
		 * view allows (TV_ACCESS_*); view: the CPU's view
		 */
		struct {
			unsigned long long gpa, gla;
			int gla_valid;
			unsigned int access, allowed;
			int view;
		} page;
	};
	struct {
		unsigned int vector;
		int has_error_code;
		unsigned int error_code;
	} inject;
};

struct tv_ext;

/**
 * struct tv_ext - an extension
 * @name: for logs and tvctl.
 * @api_version: %TV_EXT_API_VERSION the extension was built against.
 * @owner: the Linux module (THIS_MODULE), NULL elsewhere.
 * @percpu_size: bytes of per-CPU data the core allocates (zeroed) at
 *	registration; tv_ext_cpu_data() finds them.
 * @priv: the extension's own shared data.
 * @init: after registration with every CPU virtualized, before any event
 *	is asked for.  Context: sleepable.  Non-zero fails the registration.
 * @fini: at unregistration, after the extension's events are off on every
 *	CPU and no callback runs.  Context: sleepable.
 * @cpu_up: a CPU came under the VMM: at load, at CPU online, after
 *	resume, and for every CPU at registration.  The events asked for are
 *	already on there.  Context: vmx-root, on that CPU.
 * @cpu_down: a CPU is about to be given back (unload, offline, suspend).
 *	Context: vmx-root, on that CPU.
 * @event: an event asked for.  Context: vmx-root, on the CPU that exited.
 * @slot: the core's bookkeeping; zero-initialize.
 */
struct tv_ext {
	const char *name;
	unsigned int api_version;
	void *owner;
	unsigned long percpu_size;
	void *priv;
	int (*init)(struct tv_ext *ext);
	void (*fini)(struct tv_ext *ext);
	void (*cpu_up)(struct tv_ext *ext, unsigned int cpu);
	void (*cpu_down)(struct tv_ext *ext, unsigned int cpu);
	enum tv_ext_reply (*event)(struct tv_ext *ext, struct tv_ext_event *ev);
	int slot;
};

/* --- registration (sleepable) ---------------------------------------- */

/**
 * tv_ext_register() - add an extension
 * @ext: filled in; must stay valid until tv_ext_unregister() returns.
 *
 * Context: sleepable.  Return: 0; -EINVAL (TV_ERR_INVALID) for a bad
 * @ext or API version; -EBUSY when all TV_EXT_MAX slots are taken or
 * thinvisor is not running; -ENOMEM; or what @ext->init returned.
 */
int tv_ext_register(struct tv_ext *ext);

/**
 * tv_ext_unregister() - remove an extension and everything it asked for
 * @ext: registered earlier.
 *
 * Every event it asked for is off on every CPU and no callback of it is
 * running when this returns.  Context: sleepable.
 */
void tv_ext_unregister(struct tv_ext *ext);

#define TV_EXT_MAX 8

/* --- asking for events (sleepable; in effect on every CPU on return) -- */

#define TV_EXT_ALL_LEAVES 0xffffffffu

/**
 * tv_ext_want_cpuid() - see CPUID of @leaf (%TV_EXT_ALL_LEAVES: every leaf)
 * @ext: the extension.
 * @leaf: the leaf (EAX).
 * @on: ask (true) or stop asking (false).
 * Return: 0, or -ENOSPC when the extension asked for too many leaves.
 */
int tv_ext_want_cpuid(struct tv_ext *ext, unsigned int leaf, int on);

/**
 * tv_ext_want_msr() - see RDMSR and/or WRMSR of @msr
 * @ext: the extension.
 * @msr: an MSR in the ranges the MSR bitmap covers (0-0x1fff and
 *	0xc0000000-0xc0001fff).
 * @read: see reads.
 * @write: see writes.
 * Return: 0, -EINVAL outside the bitmap ranges, -ENOSPC.
 */
int tv_ext_want_msr(struct tv_ext *ext, unsigned int msr, int read, int write);

/**
 * tv_ext_want_cr() - see MOV to and/or from a control register
 * @ext: the extension.
 * @cr: 0 or 4 (writes only: @mask selects the bits whose change exits;
 *	~0 for every write), 3 or 8 (reads and writes).
 * @read: see reads (CR3, CR8).
 * @write: see writes.
 * @mask: CR0/CR4 bits to watch.
 * Return: 0, -EINVAL for another register, -EOPNOTSUPP when the CPU
 * cannot exit on it.
 */
int tv_ext_want_cr(struct tv_ext *ext, unsigned int cr, int read, int write,
		   unsigned long long mask);

/**
 * tv_ext_want_io() - see IN/OUT (and their string forms) of @port
 * @ext: the extension.
 * @port: 0-0xffff.
 * @on: ask or stop asking.
 * Return: 0, -EINVAL, -ENOMEM.
 */
int tv_ext_want_io(struct tv_ext *ext, unsigned int port, int on);

/**
 * tv_ext_want_exception() - see exceptions of @vector (0-31)
 * @ext: the extension.
 * @vector: e.g. 3 (#BP), 1 (#DB), 14 (#PF), 13 (#GP), 6 (#UD).
 * @on: ask or stop asking.
 * @pf_mask: for #PF, which error-code bits to compare (0: every #PF) ...
 * @pf_match: ... against these (SDM 25.2 "page-fault error code").
 * Return: 0, -EINVAL (vector 2 is NMI and 18 is #MC: thinvisor's own).
 */
int tv_ext_want_exception(struct tv_ext *ext, unsigned int vector, int on,
			  unsigned int pf_mask, unsigned int pf_match);

/**
 * tv_ext_want_vmcall() - own the hypercall @nr
 * @ext: the extension.
 * @nr: in TV_HC_EXT_FIRST..TV_HC_EXT_LAST.
 * @max_cpl: the highest CPL allowed to make it (0: kernel only, 3: user
 *	mode too); from above it the guest gets #UD.
 * Return: 0, -EINVAL, -EEXIST when another extension owns it, -ENOSPC.
 */
int tv_ext_want_vmcall(struct tv_ext *ext, unsigned long long nr,
		       unsigned int max_cpl);

/**
 * tv_ext_want() - see one of the events that has no finer selection
 * @ext: the extension.
 * @type: %TV_EV_DR_ACCESS, %TV_EV_DESCRIPTOR, %TV_EV_XSETBV,
 *	%TV_EV_INVLPG, %TV_EV_RDTSC, %TV_EV_PAGE_ACCESS or %TV_EV_MTF.
 * @on: ask or stop asking.
 * Return: 0, -EINVAL for another type, -EOPNOTSUPP when the CPU cannot.
 */
int tv_ext_want(struct tv_ext *ext, enum tv_ext_event_type type, int on);

/* --- running code in the VMM (sleepable) ----------------------------- */

/**
 * tv_ext_run_on_cpus() - run @fn(@ext, @arg) in VMX root on every
 *	virtualized CPU, one after the other, and wait
 * @ext: the extension.
 * @fn: runs in vmx-root context, on each CPU.
 * @arg: passed through.
 * Return: 0, or the first non-zero @fn returned.
 */
int tv_ext_run_on_cpus(struct tv_ext *ext,
		       int (*fn)(struct tv_ext *ext, void *arg), void *arg);

/**
 * tv_ext_cpu_data() - this extension's per-CPU data on CPU @cpu
 * @ext: the extension.
 * @cpu: a CPU index.
 * Context: any.  Return: @ext->percpu_size zeroed bytes, or NULL.
 */
void *tv_ext_cpu_data(struct tv_ext *ext, unsigned int cpu);

/* --- helpers for callbacks (vmx-root, on the CPU that exited) -------- */

/* The guest's CPL (0-3). */
unsigned int tv_ext_guest_cpl(void);
/* The CR0 (0) or CR4 (4) value the guest sees; CR2, CR3 as they are. */
unsigned long long tv_ext_guest_cr(unsigned int cr);
/* Set the guest's RIP (e.g. to redirect it; then answer TV_EXT_RETRY). */
void tv_ext_set_rip(unsigned long long rip);
/*
 * Queue an event for the next entry to the guest: a hardware exception
 * (vectors 0-31), or an NMI (vector 2: held until the guest's NMI
 * blocking lets it through, as a real one would be).  @error_code is
 * pushed where the CPU would push one: for #DF, #TS, #NP, #SS, #GP, #PF,
 * #AC and #CP, and not in real mode.  @has_error_code should say the
 * same; the core follows the CPU's rule whatever it says, so that no
 * extension can make the VM entry fail.  For a #PF set CR2 first (the CPU
 * does not).  One exception per entry: the last call wins.
 */
void tv_ext_inject_exception(unsigned int vector, int has_error_code,
			     unsigned int error_code);
/*
 * A software interrupt or exception (INT n, INT3, INTO) as if the guest
 * had executed the @instr_len bytes at RIP: delivered with the return
 * address after them.
 */
void tv_ext_inject_software(unsigned int vector, unsigned int instr_len);
/*
 * An external interrupt @vector (32-255), delivered as soon as the guest
 * can take one (RFLAGS.IF set, no interrupt shadow): at once if it can
 * now, else at the end of an interrupt window.  Return: 0, or non-zero
 * when one is already pending on this CPU.
 */
int tv_ext_inject_interrupt(unsigned int vector);

/*
 * Read or write @len bytes of guest virtual memory at @gva through the
 * guest's page tables (its current CR3), fault-safe.  Return: 0, or
 * non-zero when a page is not present or not writable (nothing is
 * partially written: the whole range is checked first).
 */
int tv_ext_read_guest(unsigned long long gva, void *buf, unsigned long len);
int tv_ext_write_guest(unsigned long long gva, const void *buf,
		       unsigned long len);
/* Guest virtual to guest physical; non-zero when it is not mapped. */
int tv_ext_gva_to_gpa(unsigned long long gva, unsigned long long *gpa);

/*
 * Run @fn(@ext, @arg) later in a host thread (sleepable context), for
 * work VMX root cannot do (allocate, log through the OS, call the OS).
 * Return: 0, or non-zero when the queue is full (TV_EXT_DEFER_SLOTS per
 * CPU); the work is then not done.
 */
#define TV_EXT_DEFER_SLOTS 64
int tv_ext_defer(struct tv_ext *ext,
		 void (*fn)(struct tv_ext *ext, unsigned long arg),
		 unsigned long arg);

/* --- second-level page tables: permissions and views ------------------ */

/*
 * Every CPU runs in a view of guest-physical memory: view 0, the identity
 * map thinvisor builds, or one an extension created (a copy of view 0 it
 * then changes).  A CPU switches view in VMX root (tv_ext_view_switch()),
 * through VMFUNC when the CPU has it.  Changes made in sleepable context
 * are in effect on every CPU on return; changes made in VMX root
 * (tv_ext_page_set_root()) only on pages prepared before and only on the
 * CPU that makes them until the other CPUs' next switch or change.
 */
#define TV_VIEW_DEFAULT 0
#define TV_EXT_MAX_VIEWS 8

/* Capabilities of the second-level tables (tv_ext_page_caps()). */
#define TV_PAGE_CAP_EXEC_ONLY 0x1u	/* execute-only pages */
#define TV_PAGE_CAP_FAST_SWITCH 0x2u	/* view switch without an exit */
#define TV_PAGE_CAP_VE 0x4u		/* violations as guest exceptions */

/* What this CPU model offers.  Context: any. */
unsigned int tv_ext_page_caps(void);

/**
 * tv_ext_view_create() - a new view, a copy of view 0
 * @ext: the extension; the view is its own and goes with it.
 * Context: sleepable.  Return: the view number (> 0) or a negative errno.
 */
int tv_ext_view_create(struct tv_ext *ext);

/* Destroy a view of @ext; CPUs in it go back to view 0.  Sleepable. */
void tv_ext_view_destroy(struct tv_ext *ext, int view);

/**
 * tv_ext_page_set() - set the permissions of one 4 KiB guest-physical page
 * @ext: the extension.
 * @view: %TV_VIEW_DEFAULT or a view of @ext.
 * @gpa: the page (low 12 bits ignored).
 * @allowed: TV_ACCESS_* the guest may do there; write without read is
 *	invalid, execute-only needs %TV_PAGE_CAP_EXEC_ONLY.
 * @host_pa: the host page the guest sees there (@gpa itself for the
 *	identity), e.g. a copy for an execute-only hook.
 *
 * Splits a larger mapping on demand, flushes every CPU.  Context:
 * sleepable.  Return: 0 or a negative errno.
 */
int tv_ext_page_set(struct tv_ext *ext, int view, unsigned long long gpa,
		    unsigned int allowed, unsigned long long host_pa);

/*
 * The same @allowed on every page of [@gpa, @gpa + @size), identity
 * mapped, with one flush: e.g. a whole kernel text.  Sleepable.
 */
int tv_ext_page_set_range(struct tv_ext *ext, int view,
			  unsigned long long gpa, unsigned long long size,
			  unsigned int allowed);

/* Undo tv_ext_page_set(): the identity mapping, all access.  Sleepable. */
int tv_ext_page_reset(struct tv_ext *ext, int view, unsigned long long gpa);

/*
 * The same from VMX root, on a page tv_ext_page_set() set before in this
 * view (so no table is needed).  Flushes this CPU only.  Return: 0, or
 * non-zero when the page was not prepared.
 */
int tv_ext_page_set_root(int view, unsigned long long gpa,
			 unsigned int allowed, unsigned long long host_pa);

/* Switch this CPU to @view (VMX root); non-zero for an unknown view. */
int tv_ext_view_switch(int view);
/* The view this CPU runs in (VMX root). */
int tv_ext_view_current(void);
/* --- violations delivered to the guest: virtualization exceptions --- */

/*
 * On CPUs with %TV_PAGE_CAP_VE, a forbidden access to a page an extension
 * marked with tv_ext_page_set_ve() need not leave the guest at all: the
 * CPU delivers it to the guest itself as a virtualization exception
 * (#VE, vector 20, no error code, a fault: RIP at the access), after
 * writing a struct tv_ve_info into that CPU's information area
 * (tv_ext_ve_info()).  The guest's vector-20 handler reads the area,
 * makes the access possible or steps past it (e.g. switches the view
 * without an exit, with VMFUNC leaf 0, ECX = the view, when the CPU has
 * %TV_PAGE_CAP_FAST_SWITCH), writes 0 to @busy and returns with IRET.
 * While @busy is not 0, and during the delivery of another event, such
 * an access is a %TV_EV_PAGE_ACCESS event as before.  The guest kernel
 * must have that handler on every CPU that may touch a marked page: an
 * OS without one (Linux outside TDX guests) takes a #VE as a fault it
 * cannot handle.
 */

/**
 * struct tv_ve_info - what the CPU writes for a virtualization exception
 * @reason: 48 (an access the second-level tables forbade).
 * @busy: set to 0xffffffff with each #VE; no other is delivered on this
 *	CPU until the guest writes 0 here.
 * @qualification: bits 2:0 the access (TV_ACCESS_* of a read, a write,
 *	an instruction fetch), bits 5:3 what the view allowed (TV_ACCESS_*
 *	shifted by 3), bit 7 set when @gla is valid.
 * @gla: the guest-linear address of the access (if bit 7 above).
 * @gpa: the guest-physical address of the access.
 * @view: the view the CPU ran in.
 */
struct tv_ve_info {
	unsigned int reason;
	unsigned int busy;
	unsigned long long qualification;
	unsigned long long gla;
	unsigned long long gpa;
	unsigned short view;
};

/**
 * tv_ext_page_set_ve() - deliver violations of a page to the guest as #VE
 * @ext: the extension.
 * @view: %TV_VIEW_DEFAULT or a view of @ext.
 * @gpa: the 4 KiB page (low 12 bits ignored); its permissions are still
 *	set with tv_ext_page_set(), before or after, and this setting
 *	outlives such changes.
 * @on: #VE (true) or %TV_EV_PAGE_ACCESS events again (false).
 *
 * The CPUs convert violations only while some registered extension has
 * a page marked: with none, they run as without this call.  Undone with
 * tv_ext_page_reset(), with the view, and at unregistration.  Context:
 * sleepable.  Return: 0, -EOPNOTSUPP without %TV_PAGE_CAP_VE, -EINVAL
 * (not your view, thinvisor's own page, beyond the map), -ENOMEM.
 */
int tv_ext_page_set_ve(struct tv_ext *ext, int view, unsigned long long gpa,
		       int on);

/**
 * tv_ext_ve_info() - the #VE information area of CPU @cpu
 * @cpu: a CPU index.
 *
 * Guest memory (kernel virtual address), readable and writable by the
 * guest, one page per CPU, allocated by the first tv_ext_page_set_ve()
 * and kept until thinvisor unloads.  Context: any.  Return: the area, or
 * NULL before the first tv_ext_page_set_ve().
 */
struct tv_ve_info *tv_ext_ve_info(unsigned int cpu);

/*
 * Single-step the guest on this CPU: after the next guest instruction
 * (or event delivery) a TV_EV_MTF event reaches @ext; it stays on until
 * called with @on false.  Return: 0, or non-zero when the CPU has no
 * monitor trap flag or @ext is not registered.
 */
int tv_ext_single_step(struct tv_ext *ext, int on);

/* --- portability and built-in extensions ------------------------------ */

/*
 * TV_EXT_ROOT marks a function that runs in vmx-root context, so that the
 * same source is right on both hosts: on Linux it is noinstr (no tracer,
 * kprobe or sanitizer may run in VMX root), elsewhere nothing.
 */
#if defined(__KERNEL__) && defined(noinstr)
#define TV_EXT_ROOT noinstr
#else
#define TV_EXT_ROOT
#endif

/**
 * struct tv_ext_builtin - a built-in extension's entry in thinvisor.sys
 * @ext: the extension, registered by DriverEntry.
 *
 * TV_EXT_BUILTIN() makes one; the entries of every object linked into the
 * driver form a table the driver walks (no central list): platform/windows
 * brackets them with empty entries (NULL @ext, which the walk skips).
 */
struct tv_ext_builtin {
	struct tv_ext *ext;
};

/**
 * TV_EXT_BUILTIN() - link the extension @var into the Windows driver
 * @var: a struct tv_ext defined in the same file.
 *
 * Windows: an extension is a source file built into thinvisor.sys (make
 * windows TV_WIN_EXTENSIONS="my_tool.c ...").  DriverEntry, once every
 * processor is virtualized, registers each built-in extension in link
 * order (tv_ext_register(), which calls @var.init); if one fails, the
 * ones before it are unregistered newest first and the driver does not
 * load.  DriverUnload unregisters them newest first (@var.fini) before
 * the VMM goes.  The entry lives in the PE section .tvext (input sections
 * .tvext$a, $m, $z, sorted by name, kept by platform/windows/tvext.ld).
 *
 * Linux: extensions are modules that call tv_ext_register() in their init;
 * this macro does nothing there (it only uses @var), so one source can
 * carry it for both hosts.
 */
#ifdef _WIN32
#define TV_EXT_BUILTIN(var)						\
	static const struct tv_ext_builtin tv_ext_builtin_##var	\
	__attribute__((section(".tvext$m"), used, aligned(8))) = { &(var) }
#else
#define TV_EXT_BUILTIN(var)						\
	static struct tv_ext *const tv_ext_builtin_##var		\
	__attribute__((unused)) = &(var)
#endif

#endif
