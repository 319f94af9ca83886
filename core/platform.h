/* SPDX-License-Identifier: MIT */
/*
 * The platform interface: everything the portable core asks of its host.
 *
 * Each function states the context it may be called from:
 *   sleepable  - normal kernel thread context; may block and allocate.
 *   irqs-off   - interrupts disabled on the current CPU, not in VMX root.
 *   vmx-root   - inside the VMM (VM-exit handler): interrupts off, host state
 *                loaded, the interrupted guest may hold any kernel lock on
 *                this CPU.  Nothing here may take a lock, allocate, sleep or
 *                call into the scheduler.
 * "any" means all three.
 *
 * Linux implements it in platform/linux/plat.c, Windows in
 * platform/windows/plat.c, the host unit tests in tests/unit/fake_platform.c.
 */
#ifndef TV_CORE_PLATFORM_H
#define TV_CORE_PLATFORM_H

#include "types.h"

/* --- memory --------------------------------------------------------- */

/*
 * Allocate @npages zeroed, physically contiguous, page-aligned, write-back,
 * non-executable pages.  An allocation of at most 2 MiB never crosses a
 * 2 MiB physical boundary: the core keeps its private pages together so
 * that hiding them from the guest splits few 2 MiB EPT leaves.  Returns
 * NULL on failure.  Context: sleepable.
 */
void *tv_plat_alloc_pages(size_t npages);

/*
 * The same without zeroing, for memory the core initializes itself (the
 * VMM stacks: zeroing 32 KiB per CPU was a quarter of the time to
 * virtualize one).  Free with tv_plat_free_pages().  Context: sleepable.
 */
void *tv_plat_alloc_pages_uninit(size_t npages);

/* Free what tv_plat_alloc_pages() returned.  Context: sleepable. */
void tv_plat_free_pages(void *va, size_t npages);

/* Zeroed, non-executable small allocation.  Context: sleepable. */
void *tv_plat_zalloc(size_t size);

/* Free what tv_plat_zalloc() returned (NULL is ignored).  Context: sleepable. */
void tv_plat_free(void *p);

/*
 * Physical address of memory obtained from tv_plat_alloc_pages() or
 * tv_plat_zalloc().  Context: any.
 */
u64 tv_plat_virt_to_phys(const void *va);

/*
 * Host virtual address of physical address @pa, for reading and writing
 * guest memory from the VMM (guest-physical is host-physical under
 * thinvisor's identity EPT).  The pointer is valid up to the end of
 * @pa's 4 KiB page.  NULL when @pa is not RAM the host maps (MMIO, holes,
 * or memory the host cannot reach without a lock): the caller must not
 * touch such memory.  Linux: the direct map, for RAM that was present at
 * load.  Windows: always NULL (no lock-free mapping; see plat.c).
 * Context: any (vmx-root included).
 */
void *tv_plat_phys_to_virt(u64 pa);

/*
 * One range of the physical address space that exists: RAM, or a range a
 * device, the firmware or the chipset decodes (MMIO, ACPI, reserved).
 */
struct tv_phys_range {
	u64 base;
	u64 size;
	u32 kind;	/* TV_PHYS_RAM or TV_PHYS_MMIO: for reports only */
};

#define TV_PHYS_RAM 0
#define TV_PHYS_MMIO 1

/*
 * The physical memory map as the host OS knows it: every RAM range and
 * every range something decodes (the firmware's reserved and ACPI ranges,
 * the PCI host-bridge windows' assigned BARs and bridge windows, the APIC,
 * IOAPIC, HPET and flash).  Ranges may overlap and come in any order.
 * Stores up to @max of them in @out and how many there are in all in
 * *@count (more than @max: call again with a bigger array); returns TV_OK
 * or a TV_ERR_* code.  The EPT maps these ranges at load; an access anywhere
 * else is mapped when it first happens (core/ept.h), so a range missing
 * here costs one EPT violation, never a crash.  Context: sleepable.
 */
int tv_plat_phys_ranges(struct tv_phys_range *out, unsigned int max,
			unsigned int *count);

/* --- processors ----------------------------------------------------- */

/* One more than the highest CPU index the host may ever use.  Context: any. */
unsigned int tv_plat_cpu_limit(void);

/* Is CPU @cpu online now?  Context: sleepable (caller holds hotplug off). */
bool tv_plat_cpu_online(unsigned int cpu);

/*
 * Index of the current CPU.  Context: irqs-off or vmx-root; elsewhere a
 * hint only (the caller may move to another CPU right after).
 */
unsigned int tv_plat_cpu_index(void);

/*
 * Run @fn(@arg) on CPU @cpu with interrupts disabled and wait for it;
 * returns what @fn returned, or TV_ERR_PLATFORM if the CPU could not be
 * reached.  Context: sleepable.
 */
int tv_plat_on_cpu(unsigned int cpu, int (*fn)(void *arg), void *arg);

/*
 * Host page-table root for the VMM: a CR3 value that maps the kernel (the
 * core's code, data and every tv_plat_* allocation) for the whole time the
 * VMM runs, whatever process is current.  Context: irqs-off.
 */
u64 tv_plat_host_cr3(void);

/*
 * Called on the current CPU right before VMXON: the host quiesces whatever
 * VMXON would break behind its back (Linux: Intel PT tracing on CPUs whose
 * IA32_VMX_MISC[14] is 0).  Context: irqs-off.
 */
void tv_plat_before_vmxon(void);

/*
 * Called on the current CPU right after it left VMX operation (terminate
 * or a failed launch), before interrupts are enabled again: the host fixes
 * whatever state it caches that VM exit could not restore (Linux: the TSS
 * limit).  Context: irqs-off.
 */
void tv_plat_after_vmxoff(void);

/*
 * TV_VMX_ROOT marks every function that runs in VMX root (the exit path,
 * the log rings it writes, the helpers it calls): each host's tv_host.h
 * defines it, Linux as noinstr (no tracing, kprobes or sanitizers there:
 * the interrupted guest may hold any lock), the others as nothing.
 */

/* --- logging and fatal errors --------------------------------------- */

/*
 * Emit one formatted log line (printf format; %llx for u64).  Context:
 * sleepable or irqs-off.  The VMM (vmx-root) never calls this: it writes
 * to the lock-free rings of core/log.h, which the host drains from a
 * thread of its own with tv_log_read().
 */
void tv_plat_vlog(int level, const char *fmt, tv_va_list ap) TV_PRINTF(2, 0);

/*
 * Stop the machine with @msg through the host's crash path (Linux panic(),
 * Windows KeBugCheckEx), after draining the VMM log (tv_log_read in
 * core/log.h) into the host's log so the guest-state dump is not lost.
 * Never returns.  Not declared noreturn on purpose:
 * Linux's objtool cannot see that across objects and would flag every
 * caller, so callers still write a (dead) return after it.  Context: any.
 */
void tv_plat_panic(const char *msg);

/* --- test builds ---------------------------------------------------- */

/*
 * Injected-fault point: returns true when the test build was asked to fail
 * init step @step (see enum tv_fault in core/vmm.h).  Production builds
 * return false always.  Context: any.
 */
bool tv_plat_fault(int step);

#endif
