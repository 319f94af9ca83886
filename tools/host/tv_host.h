/* SPDX-License-Identifier: MIT */
/*
 * Base types for the core's pure files when tvctl compiles them in
 * (core/caps.c, core/errors.c: tvctl check asks the same questions the
 * module asks at load).  User space: nothing here runs in VMX root.
 */
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
