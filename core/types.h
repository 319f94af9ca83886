/* SPDX-License-Identifier: MIT */
/*
 * Base types for the portable core.
 *
 * The core never includes an OS header.  Each host supplies "tv_host.h"
 * (platform/<os>/tv_host.h, or tests/unit/tv_host.h for host unit tests),
 * which must provide: u8 u16 u32 u64 s32 s64, bool/true/false, size_t,
 * NULL, offsetof, and memset/memcpy/memcmp declarations.  The include path
 * picks the right one; there is no OS #ifdef here.
 */
#ifndef TV_CORE_TYPES_H
#define TV_CORE_TYPES_H

#include "tv_host.h"

typedef __builtin_va_list tv_va_list;
#define tv_va_start(ap, last) __builtin_va_start(ap, last)
#define tv_va_end(ap) __builtin_va_end(ap)

#define TV_PAGE_SIZE 4096ULL
#define TV_PAGE_SHIFT 12
#define TV_BIT(n) (1ULL << (n))
#define TV_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define tv_container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))

/*
 * The kernel's __printf, __packed and __always_inline, under the core's
 * own names: its other hosts (Windows, the unit tests) have no
 * <linux/compiler_attributes.h>.
 */
#define TV_PRINTF(fmt, first) __attribute__((format(printf, fmt, first)))
#define TV_PACKED __attribute__((packed))
#define TV_ALWAYS_INLINE __attribute__((always_inline))

#define tv_likely(x) __builtin_expect(!!(x), 1)
/* The kernel's own where it has one; the same attribute elsewhere. */
#ifndef fallthrough
#define fallthrough __attribute__((__fallthrough__))
#endif
#define tv_unlikely(x) __builtin_expect(!!(x), 0)

/*
 * Error codes returned by the core.  They are distinct so that a refusal can
 * be told apart from its number alone; the hosts map them to their own
 * (errno, NTSTATUS) with tv_err_name() for the log line.
 */
enum tv_err {
	TV_OK = 0,
	TV_ERR_NOT_INTEL = 1,		/* not an Intel CPU */
	TV_ERR_NO_VMX = 2,		/* CPUID.1:ECX.VMX is 0 */
	TV_ERR_ALREADY_RUNNING = 3,	/* our own CPUID signature is present */
	TV_ERR_VMX_BUSY = 4,		/* CR4.VMXE already set: someone owns VMX */
	TV_ERR_VMX_DISABLED = 5,	/* FEATURE_CONTROL locked without VMXON */
	TV_ERR_VMX_CAPS = 6,		/* VMX_BASIC/controls lack what we need */
	TV_ERR_EPT_CAPS = 7,		/* EPT/VPID lack what we need */
	TV_ERR_NO_MEMORY = 8,
	TV_ERR_VMXON = 9,		/* VMXON failed */
	TV_ERR_VMCS = 10,		/* VMCLEAR/VMPTRLD/VMWRITE failed */
	TV_ERR_VMLAUNCH = 11,		/* VMLAUNCH failed (VMfail) */
	TV_ERR_VMENTRY = 12,		/* VM entry failed on guest state */
	TV_ERR_FAULT_INJECTED = 13,	/* test build: injected failure */
	TV_ERR_BUSY = 14,		/* a CPU is in a state we cannot handle */
	TV_ERR_INVALID = 15,		/* bad argument */
	TV_ERR_PLATFORM = 16,		/* the host refused (registration etc.) */
	TV_ERR_EXISTS = 17,		/* already registered or owned */
	TV_ERR_NO_SPACE = 18,		/* a fixed-size table is full */
	TV_ERR_UNSUPPORTED = 19,	/* this CPU cannot do what was asked */
	TV_ERR_COUNT
};

const char *tv_err_name(int err);

/* Log levels (the kernel's numbering). */
enum tv_log_level {
	TV_LOG_ERR = 3,
	TV_LOG_WARN = 4,
	TV_LOG_INFO = 6,
	TV_LOG_DEBUG = 7,
};


#endif
