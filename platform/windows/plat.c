// SPDX-License-Identifier: MIT
/*
 * The platform interface (core/platform.h) on Windows.  Nothing here
 * depends on IRQL beyond what the contract's context allows: the calls
 * made from VMX root (virt_to_phys, cpu_index, panic) are the ones
 * HyperPlatform also makes there, and take no lock.
 */
#include "tv_win.h"
#include "core/platform.h"
#include "arch/x86/cpu.h"

POOL_TYPE tv_win_pool_type = NonPagedPoolNx;
#ifdef TV_FAULT_INJECTION
ULONG tv_win_fail_step;
#endif
u64 tv_win_host_cr3;

#define TV_2M_BYTES (2ULL << 20)

static void *alloc_pages_nx(size_t npages)
{
	PHYSICAL_ADDRESS low, high, boundary;
	SIZE_T bytes = npages << TV_PAGE_SHIFT;
	void *va;

	/*
	 * PAGE_READWRITE: MmAllocateContiguousMemorySpecifyCache maps its
	 * pages executable on some versions; this one maps them cached, NX.
	 */
	low.QuadPart = 0;
	high.QuadPart = -1;
	/* core/platform.h: up to 2 MiB never crosses a 2 MiB boundary. */
	boundary.QuadPart = bytes <= TV_2M_BYTES ? TV_2M_BYTES : 0;
	va = MmAllocateContiguousNodeMemory(bytes, low, high, boundary,
					    PAGE_READWRITE, MM_ANY_NODE_OK);
	return va;
}

void *tv_plat_alloc_pages(size_t npages)
{
	void *va = alloc_pages_nx(npages);

	if (va)
		memset(va, 0, npages << TV_PAGE_SHIFT);
	return va;
}

void *tv_plat_alloc_pages_uninit(size_t npages)
{
	return alloc_pages_nx(npages);
}

void tv_plat_free_pages(void *va, size_t npages)
{
	if (va)
		MmFreeContiguousMemory(va);
}

void *tv_plat_zalloc(size_t size)
{
	void *p = ExAllocatePoolWithTag(tv_win_pool_type, size,
					TV_WIN_POOL_TAG);

	if (p)
		memset(p, 0, size);
	return p;
}

void tv_plat_free(void *p)
{
	if (p)
		ExFreePoolWithTag(p, TV_WIN_POOL_TAG);
}

u64 tv_plat_virt_to_phys(const void *va)
{
	return (u64)MmGetPhysicalAddress((PVOID)va).QuadPart;
}

/*
 * No lock-free mapping of physical memory exists on Windows: there is no
 * direct map, MmGetVirtualForPhysical is an ntoskrnl import that VMX root
 * must not call (root_check.py allows KeBugCheckEx and the processor
 * number only, and Microsoft documents no IRQL above DISPATCH_LEVEL for
 * it), and MmMapIoSpace allocates.  So guest memory is not reachable from
 * the VMM on Windows yet: always NULL, and core/guest.c reports
 * TV_GUEST_NO_MEMORY.  The way to add it: reserve a per-CPU page of
 * system VA at load (MmAllocateMappingAddress, sleepable) and, in VMX
 * root, write its PTE (found through the System CR3 with the core's own
 * walk) and INVLPG it.
 */
void *tv_plat_phys_to_virt(u64 pa)
{
	(void)pa;
	return NULL;
}

unsigned int tv_plat_cpu_limit(void)
{
	return KeQueryMaximumProcessorCountEx(ALL_PROCESSOR_GROUPS);
}

/*
 * Windows numbers the active processors of all groups densely from 0,
 * and a hot-added processor takes the next index, so "index below the
 * active count and mapped to a group/number" is "online".
 */
bool tv_plat_cpu_online(unsigned int cpu)
{
	PROCESSOR_NUMBER pn;

	if (cpu >= KeQueryActiveProcessorCountEx(ALL_PROCESSOR_GROUPS))
		return false;
	return NT_SUCCESS(KeGetProcessorNumberFromIndex(cpu, &pn));
}

unsigned int tv_plat_cpu_index(void)
{
	return KeGetCurrentProcessorNumberEx(NULL);
}

/*
 * Pin this thread to @cpu, then HIGH_LEVEL: CR8 = 15 masks every maskable
 * interrupt including IPIs, which is what "interrupts disabled" means to
 * the core, without an instruction of our own (mingw has no _disable()).
 */
int tv_plat_on_cpu(unsigned int cpu, int (*fn)(void *arg), void *arg)
{
	GROUP_AFFINITY want, old;
	PROCESSOR_NUMBER pn;
	KIRQL irql;
	int ret;

	if (!NT_SUCCESS(KeGetProcessorNumberFromIndex(cpu, &pn)))
		return TV_ERR_PLATFORM;
	RtlZeroMemory(&want, sizeof(want));
	want.Group = pn.Group;
	want.Mask = (KAFFINITY)1 << pn.Number;
	KeSetSystemGroupAffinityThread(&want, &old);
	KeRaiseIrql(HIGH_LEVEL, &irql);
	if (KeGetCurrentProcessorNumberEx(NULL) == cpu)
		ret = fn(arg);
	else
		ret = TV_ERR_PLATFORM;
	KeLowerIrql(irql);
	KeRevertToUserGroupAffinityThread(&old);
	return ret;
}

u64 tv_plat_host_cr3(void)
{
	return tv_win_host_cr3;
}

void tv_plat_before_vmxon(void)
{
}

void tv_plat_after_vmxoff(void)
{
	/* Windows' TSS limit is 0x67, which is what VM exit leaves. */
}

/*
 * Called in VMX root too, so only KeBugCheckEx and the processor number
 * (root_check.py allows no other import there).  The VMM log lines and
 * @msg are in tv_win_panic_text, parameter 4: "da <param 4>" in WinDbg.
 */
void tv_plat_panic(const char *msg)
{
	tv_win_log_panic_text(msg);
	KeBugCheckEx(MANUALLY_INITIATED_CRASH, TV_WIN_BUGCHECK_TAG,
		     (ULONG_PTR)msg, KeGetCurrentProcessorNumberEx(NULL),
		     (ULONG_PTR)tv_win_panic_text);
}

/* Only the test build (TV_FAULT_INJECTION, build/windows/test) has the hook. */
bool tv_plat_fault(int step)
{
#ifdef TV_FAULT_INJECTION
	return tv_win_fail_step && (ULONG)step == tv_win_fail_step;
#else
	return false;
#endif
}

/*
 * RAM from MmGetPhysicalMemoryRanges.  Windows has no kernel call that
 * lists every decoded MMIO range (each device's resources sit in its own
 * PnP resource list), so the MMIO policy is what every PC decodes: the
 * legacy window [0xA0000, 1 MiB) (VGA, option ROMs, BIOS) and everything
 * from the end of the RAM below 4 GiB up to 4 GiB (the 32-bit PCI hole:
 * BARs, MMCONFIG, IOAPIC, HPET, local APIC, flash).  64-bit BARs above
 * the RAM are not listed: each is mapped on its first access from the
 * spare tables (core/ept.h), one EPT violation per 1 GiB or 2 MiB block.
 */
int tv_plat_phys_ranges(struct tv_phys_range *out, unsigned int max,
			unsigned int *count)
{
	PPHYSICAL_MEMORY_RANGE r = MmGetPhysicalMemoryRanges();
	u64 low_top = 0x100000;
	unsigned int n = 0;
	ULONG i;

	if (!r)
		return TV_ERR_NO_MEMORY;
	for (i = 0; r[i].BaseAddress.QuadPart || r[i].NumberOfBytes.QuadPart;
	     i++) {
		u64 b = r[i].BaseAddress.QuadPart;
		u64 e = b + r[i].NumberOfBytes.QuadPart;

		if (n < max)
			out[n] = (struct tv_phys_range){ b, e - b, TV_PHYS_RAM };
		n++;
		if (b < 0x100000000ULL && e > low_top)
			low_top = e < 0x100000000ULL ? e : 0x100000000ULL;
	}
	ExFreePool(r);
	if (n < max)
		out[n] = (struct tv_phys_range){ 0xa0000, 0x60000, TV_PHYS_MMIO };
	n++;
	if (low_top < 0x100000000ULL) {
		if (n < max)
			out[n] = (struct tv_phys_range){ low_top,
				0x100000000ULL - low_top, TV_PHYS_MMIO };
		n++;
	}
	*count = n;
	return TV_OK;
}
