/* SPDX-License-Identifier: MIT */
/* Base types for the core when it is built into host unit tests. */
#ifndef TV_HOST_H
#define TV_HOST_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef unsigned long long u64;
typedef int32_t s32;
typedef long long s64;
#define TV_VMX_ROOT
#endif
