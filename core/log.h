/* SPDX-License-Identifier: MIT */
/*
 * The VMM's log: lock-free per-CPU rings.  The VMM writes with interrupts
 * off and never waits: a full ring drops the message and counts the drop.
 * One host thread drains every ring in order (tv_log_read) to the host's
 * log (Linux: the kernel log; Windows: the log file and DbgPrintEx).
 */
#ifndef TV_CORE_LOG_H
#define TV_CORE_LOG_H

#include "core/types.h"

#define TV_LOG_TEXT 200
#define TV_LOG_RING_RECORDS 64	/* per CPU, a power of two */

struct tv_log_record {
	u64 seq;		/* global order of the messages */
	u64 tsc;		/* when it was written */
	u32 cpu;
	u32 level;		/* enum tv_log_level */
	char text[TV_LOG_TEXT];
};

/* Allocate one ring per possible CPU.  Context: sleepable. */
int tv_log_init(void);
/* Free the rings; the host has stopped its drain thread.  Sleepable. */
void tv_log_fini(void);
/*
 * Take the oldest record from any ring; false when all are empty.  A
 * single consumer at a time.  Context: sleepable or irqs-off.
 */
bool tv_log_read(struct tv_log_record *rec);
/* Messages dropped because a ring was full, since load.  Context: any. */
u64 tv_log_dropped(void);
/* The most verbose level written to the rings (TV_LOG_*).  Context: any. */
void tv_log_set_level(int level);
int tv_log_get_level(void);

/*
 * Format into @buf like snprintf: %% %c %s %d %i %u %x %X %p with the
 * l, ll and z modifiers, a width, and the - and 0 flags.  Always
 * terminates; returns the length it would have had.  Pure.
 */
int tv_vsnprintf(char *buf, size_t size, const char *fmt, tv_va_list ap)
	TV_PRINTF(3, 0);
int tv_snprintf(char *buf, size_t size, const char *fmt, ...) TV_PRINTF(3, 4);

#endif
