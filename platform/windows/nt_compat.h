/* SPDX-License-Identifier: MIT */
/*
 * What Debian's mingw-w64 DDK headers lack for this driver.  Everything
 * declared here is also in import/extra.def so the merged import library
 * binds it to ntoskrnl.exe (see windows.mk).
 */
#ifndef TV_WIN_NT_COMPAT_H
#define TV_WIN_NT_COMPAT_H

#include <ntifs.h>

/*
 * Win8+: contiguous memory with explicit protection (no executable
 * mapping, which MmAllocateContiguousMemory gives on some versions).
 */
NTKERNELAPI PVOID NTAPI MmAllocateContiguousNodeMemory(
	SIZE_T NumberOfBytes, PHYSICAL_ADDRESS LowestAcceptableAddress,
	PHYSICAL_ADDRESS HighestAcceptableAddress,
	PHYSICAL_ADDRESS BoundaryAddressMultiple, ULONG Protect,
	NODE_REQUIREMENT PreferredNode);

#ifndef MANUALLY_INITIATED_CRASH
#define MANUALLY_INITIATED_CRASH 0xE2
#endif

#endif
