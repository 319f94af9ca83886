/* SPDX-License-Identifier: MIT */
/* Base types for the core, taken from the Linux kernel. */
#ifndef TV_HOST_H
#define TV_HOST_H
#include <linux/types.h>
#include <linux/stddef.h>
#include <linux/string.h>
#include <linux/compiler_types.h>
/*
 * noinstr without its noinline: the exit path's static helpers may be
 * inlined into their (equally uninstrumented) callers, which noinline
 * forbade at a cost of about 15 instructions per CPUID exit; whatever is
 * emitted out of line still lands in .noinstr.text, which kprobes refuse.
 */
#define TV_VMX_ROOT							\
	notrace __attribute((__section__(".noinstr.text")))		\
	__no_kcsan __no_sanitize_address __no_profile __no_sanitize_coverage \
	__no_sanitize_memory
#endif
