/* SPDX-License-Identifier: MIT */
/*
 * Shared by the libFuzzer harnesses: a reader that turns the fuzzer's bytes
 * into the fields of a structured input (zeros once the bytes run out, so
 * every input is valid), and CHECK, which reports a broken invariant with
 * the values involved and aborts, so that libFuzzer saves the input.
 */
#ifndef TV_FUZZ_COMMON_H
#define TV_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "tv_host.h"

struct fz {
	const uint8_t *p;
	size_t n;
};

static inline struct fz fz_init(const uint8_t *data, size_t size)
{
	struct fz f = { data, size };

	return f;
}

/* The next @n bytes (at most 8), little-endian; missing ones read as 0. */
static inline u64 fz_bytes(struct fz *f, unsigned int n)
{
	u64 v = 0;
	unsigned int i;

	for (i = 0; i < n && i < 8; i++) {
		v |= (u64)(f->n ? *f->p : 0) << (8 * i);
		if (f->n) {
			f->p++;
			f->n--;
		}
	}
	return v;
}

static inline void fz_skip(struct fz *f, size_t n)
{
	n = n < f->n ? n : f->n;
	f->p += n;
	f->n -= n;
}

static inline u8 fz_u8(struct fz *f) { return (u8)fz_bytes(f, 1); }
static inline u16 fz_u16(struct fz *f) { return (u16)fz_bytes(f, 2); }
static inline u32 fz_u32(struct fz *f) { return (u32)fz_bytes(f, 4); }
static inline u64 fz_u64(struct fz *f) { return fz_bytes(f, 8); }
static inline bool fz_bool(struct fz *f) { return fz_u8(f) & 1; }
static inline bool fz_left(const struct fz *f) { return f->n > 0; }

/*
 * For the harnesses' own reference code: not instrumented for coverage, so
 * that libFuzzer's cov:/ft: figures and its guidance are about the core,
 * and its hot loops do not pay for comparison tracing.  The ref_*.c helpers
 * are compiled without coverage altogether (tests/fuzz/fuzz.mk).
 */
#define REF_CODE __attribute__((no_sanitize("coverage")))

/*
 * A broken invariant: say which, with the values, and abort so libFuzzer
 * records the input as a crash (build/fuzz/artifacts/<harness>/crash-*).
 */
#define CHECK(cond, fmt, ...)						\
	do {								\
		if (!(cond)) {						\
			fprintf(stderr, "FUZZ CHECK FAILED %s:%d: %s: " fmt "\n", \
				__FILE__, __LINE__, #cond, ##__VA_ARGS__); \
			abort();					\
		}							\
	} while (0)

#endif
