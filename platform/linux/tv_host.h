/* SPDX-License-Identifier: MIT */
/* Base types for the core, taken from the Linux kernel. */
#ifndef TV_HOST_H
#define TV_HOST_H
#include <linux/types.h>
#include <linux/stddef.h>
#include <linux/string.h>
#include <linux/compiler_types.h>
#define TV_VMX_ROOT noinstr
#endif
