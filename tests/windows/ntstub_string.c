// SPDX-License-Identifier: MIT
/*
 * platform/windows/string.c compiled natively under other names and
 * compared with libc: every length up to 300 at every alignment of source
 * and destination, memmove overlapping in both directions, memcmp's sign
 * at every position, strlen.  The image check (root_check.py) proves the
 * driver's copy is the one linked and that it uses no SIMD register.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ntstub.h"

#define memset tvw_memset
#define memcpy tvw_memcpy
#define memmove tvw_memmove
#define memcmp tvw_memcmp
#define strlen tvw_strlen
#include "platform/windows/string.c"
#undef memset
#undef memcpy
#undef memmove
#undef memcmp
#undef strlen

#define MAXN 300
#define SLACK 48

static unsigned char src[MAXN + SLACK], got[MAXN + SLACK], want[MAXN + SLACK];

static void fill(unsigned char *p, size_t n, unsigned int seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (unsigned char)(seed * 131 + i * 29 + (i >> 3));
}

static int sign(int v)
{
	return (v > 0) - (v < 0);
}

int string_tests(int *passed, int *failed)
{
	size_t n, a, b, i;
	unsigned long runs = 0, bad = 0;
	char first[160] = "";

#define CHECK(cond, ...) do {						\
		runs++;							\
		if (!(cond) && !bad++)					\
			snprintf(first, sizeof(first), __VA_ARGS__);	\
	} while (0)

	for (n = 0; n <= MAXN; n++) {
		for (a = 0; a < 16; a++) {
			/* memset: value bytes, neighbours untouched */
			fill(got, sizeof(got), (unsigned int)(n + a));
			memcpy(want, got, sizeof(want));
			CHECK(tvw_memset(got + a, 0x1a5, n) == got + a,
			      "memset return n=%zu a=%zu", n, a);
			memset(want + a, 0xa5, n);	/* 0x1a5's low byte */
			CHECK(!memcmp(got, want, sizeof(got)),
			      "memset n=%zu a=%zu", n, a);
			for (b = 0; b < 16; b++) {
				fill(src, sizeof(src), (unsigned int)n);
				fill(got, sizeof(got), (unsigned int)b);
				memcpy(want, got, sizeof(want));
				CHECK(tvw_memcpy(got + a, src + b, n) == got + a,
				      "memcpy return");
				memcpy(want + a, src + b, n);
				CHECK(!memcmp(got, want, sizeof(got)),
				      "memcpy n=%zu dst+%zu src+%zu", n, a, b);
				/* memmove within one buffer, both directions */
				fill(got, sizeof(got), (unsigned int)(a ^ b));
				memcpy(want, got, sizeof(want));
				CHECK(tvw_memmove(got + a, got + b, n) == got + a,
				      "memmove return");
				memmove(want + a, want + b, n);
				CHECK(!memcmp(got, want, sizeof(got)),
				      "memmove n=%zu dst+%zu src+%zu", n, a, b);
			}
		}
		/* memcmp: equal, then one byte higher or lower anywhere */
		fill(got, n, 7);
		memcpy(want, got, n);
		CHECK(tvw_memcmp(got, want, n) == 0, "memcmp equal n=%zu", n);
		for (i = 0; i < n; i++) {
			want[i] = (unsigned char)(got[i] + 1);
			CHECK(sign(tvw_memcmp(got, want, n)) ==
			      sign(memcmp(got, want, n)),
			      "memcmp n=%zu at %zu", n, i);
			CHECK(sign(tvw_memcmp(want, got, n)) ==
			      sign(memcmp(want, got, n)),
			      "memcmp n=%zu at %zu", n, i);
			want[i] = got[i];
		}
		/* strlen at every start alignment */
		for (a = 0; a < 16; a++) {
			memset(got, 'x', sizeof(got));
			got[a + n] = 0;
			CHECK(tvw_strlen((char *)got + a) == n,
			      "strlen n=%zu a=%zu", n, a);
		}
	}
	if (bad) {
		printf("  FAIL string.c: %lu of %lu comparisons with libc differ (first: %s)\n",
		       bad, runs, first);
		(*failed)++;
	} else {
		printf("  ok   string.c memset/memcpy/memmove/memcmp/strlen equal libc in %lu cases (lengths 0..%d, every alignment, overlaps both ways)\n",
		       runs, MAXN);
		(*passed)++;
	}
	return 0;
}
