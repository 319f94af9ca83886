/* SPDX-License-Identifier: MIT */
/*
 * Coexistence with other users of VT-x on Linux, as pure functions (the
 * host unit tests include this header too).
 *
 * kvm_intel takes VMX for itself when its first VM starts (6.1 sets
 * CR4.VMXE then, not at load): under thinvisor that CR4 write gets the #GP
 * we inject for CR4.VMXE, inside an IPI, and the host dies.  So thinvisor
 * does not load while kvm_intel is loaded, and kvm_intel does not load
 * while thinvisor runs (platform/linux/kvm.c).
 */
#ifndef TV_LINUX_COEXIST_H
#define TV_LINUX_COEXIST_H

#include "core/types.h"

/* Name of the module that must not run together with thinvisor. */
#define TV_VMX_OWNER_MODULE "kvm_intel"

/*
 * Is @name (a module name as the kernel keeps it: '-' already turned
 * into '_') a module that takes VMX for itself?
 */
static inline bool tv_is_vmx_owner_module(const char *name)
{
	return name && !strcmp(name, TV_VMX_OWNER_MODULE);
}

#endif
