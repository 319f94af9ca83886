/* SPDX-License-Identifier: MIT */
/*
 * Base types for the core inside the Windows driver (mingw-w64, LLP64).
 * Only freestanding compiler headers: the core must not see the DDK.
 * u64 is unsigned long long because long is 32 bits on Windows, which is
 * also what makes the core's %llx formats right.  memset/memcpy/memcmp
 * are the driver's own general-register ones (platform/windows/string.c,
 * never ntoskrnl's: those use XMM, which VMX root must not touch), and
 * are declared exactly as mingw's <string.h> does so that files seeing
 * both (the platform/windows sources) get no conflict.
 */
#ifndef TV_HOST_H
#define TV_HOST_H
#include <stdbool.h>
#include <stddef.h>

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef int s32;
typedef long long s64;

void *memset(void *dst, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
#define TV_VMX_ROOT
#endif
