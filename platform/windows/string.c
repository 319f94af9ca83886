// SPDX-License-Identifier: MIT
/*
 * memset, memcpy, memmove, memcmp and strlen for thinvisor.sys, in
 * general registers only.
 *
 * The build uses -fno-builtin, so every memset/memcpy the core and the
 * glue write (and every one gcc emits for a struct copy) is a call.
 * ntoskrnl.exe exports these names, but its versions use XMM registers,
 * and VMX root must not touch SIMD state: the exit stub saves only the
 * general registers, so an SSE memset in the CPUID or INIT handler would
 * overwrite the guest's XMM0.  Defining them here keeps them out of the
 * import table (pe_check.py rejects them there), and windows.mk builds
 * with -mgeneral-regs-only and -fno-tree-loop-distribute-patterns so gcc
 * neither vectorizes these loops nor turns them back into calls
 * (root_check.py checks both in the linked image).
 *
 * Word-at-a-time where both sides allow it, bytes otherwise.  Plain C with
 * no host header, so tests/windows/ntstub_string.c compiles this very file
 * natively and compares it with libc.
 */
#include <stddef.h>

/* One machine word, allowed to alias the bytes it is copied from. */
struct tv_word {
	unsigned long long v;
} __attribute__((may_alias));

#define WORD sizeof(struct tv_word)
#define ALIGNED(p) (((size_t)(p) & (WORD - 1)) == 0)
#define W(p) (((struct tv_word *)(p))->v)

void *memset(void *dst, int c, size_t n)
{
	unsigned char *d = dst;
	unsigned long long w = 0x0101010101010101ull * (unsigned char)c;

	for (; n && !ALIGNED(d); n--)
		*d++ = (unsigned char)c;
	for (; n >= WORD; n -= WORD, d += WORD)
		W(d) = w;
	for (; n; n--)
		*d++ = (unsigned char)c;
	return dst;
}

/* Forward copy; also what memmove uses when @dst lies below @src. */
static void copy_up(unsigned char *d, const unsigned char *s, size_t n)
{
	if (((size_t)d & (WORD - 1)) == ((size_t)s & (WORD - 1))) {
		for (; n && !ALIGNED(d); n--)
			*d++ = *s++;
		for (; n >= WORD; n -= WORD, d += WORD, s += WORD)
			W(d) = W(s);
	}
	for (; n; n--)
		*d++ = *s++;
}

void *memcpy(void *dst, const void *src, size_t n)
{
	copy_up(dst, src, n);
	return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;

	if (d <= s || d >= s + n) {
		copy_up(d, s, n);
		return dst;
	}
	/* @dst overlaps the end of @src: copy from the top down. */
	d += n;
	s += n;
	if (((size_t)d & (WORD - 1)) == ((size_t)s & (WORD - 1))) {
		for (; n && !ALIGNED(d); n--)
			*--d = *--s;
		for (; n >= WORD; n -= WORD) {
			d -= WORD;
			s -= WORD;
			W(d) = W(s);
		}
	}
	for (; n; n--)
		*--d = *--s;
	return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;

	for (; n; n--, x++, y++)
		if (*x != *y)
			return *x < *y ? -1 : 1;
	return 0;
}

size_t strlen(const char *s)
{
	const char *p = s;

	while (*p)
		p++;
	return (size_t)(p - s);
}
