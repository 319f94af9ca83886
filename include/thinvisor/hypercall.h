/* SPDX-License-Identifier: MIT */
/*
 * The guest-facing ABI: what code running under thinvisor (the OS, tvctl's
 * checks, the tests) sees of it.  Shared by the core, tvctl and the tests;
 * never re-typed elsewhere.
 *
 * Detection: CPUID.1:ECX[31] (hypervisor present), then leaf 0x40000000
 * returns the highest leaf in EAX and TV_CPUID_SIGNATURE in EBX:ECX:EDX;
 * leaf 0x40000001 EAX is TV_CPUID_INTERFACE.
 *
 * Hypercalls: VMCALL at CPL 0 with RAX = number, results in RAX and RDX
 * (docs/hypercalls.md).  An unknown number, or any VMCALL from CPL > 0
 * that no extension accepts, raises #UD as on a CPU without VMX.
 * Extensions register numbers of their own in the TV_HC_EXT_* range.
 */
#ifndef THINVISOR_HYPERCALL_H
#define THINVISOR_HYPERCALL_H

#define TV_CPUID_SIGNATURE "thinvisor-hv"
#define TV_CPUID_INTERFACE 0x31305654u		/* "TV01" */
#define TV_CPUID_LEAF_SIGNATURE 0x40000000u
#define TV_CPUID_LEAF_INTERFACE 0x40000001u

#define TV_VERSION_MAJOR 0
#define TV_VERSION_MINOR 1

#define TV_HC_MAGIC 0x7476000000000000ULL	/* "tv" in the top bytes */
#define TV_HC_PING (TV_HC_MAGIC | 1)		/* RAX = TV_HC_PONG, RDX = CPU */
#define TV_HC_TERMINATE (TV_HC_MAGIC | 2)	/* thinvisor's own, keyed */
#define TV_HC_INFO (TV_HC_MAGIC | 3)		/* RDX = version, R8 = exits */
#define TV_HC_ROOT_CALL (TV_HC_MAGIC | 4)	/* thinvisor's own, keyed */
#define TV_HC_PONG 0x706f6e67ULL		/* "pong" returned by ping */

/* Numbers extensions may register (tv_ext_want_vmcall()). */
#define TV_HC_EXT_FIRST (TV_HC_MAGIC | 0x10000)
#define TV_HC_EXT_LAST (TV_HC_MAGIC | 0x1ffff)

#endif
