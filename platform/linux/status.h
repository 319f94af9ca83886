/* SPDX-License-Identifier: MIT */
/*
 * Pure functions of what the Linux host shows users: the CPU window of
 * TV_IOC_STATUS (include/thinvisor/uapi.h) and the text of log lines.  The
 * host unit tests include this header too.
 */
#ifndef TV_LINUX_STATUS_H
#define TV_LINUX_STATUS_H

#include "core/types.h"
#include "thinvisor/uapi.h"

/*
 * Put into @out[0..] the CPUs @c with @first <= @c < @limit for which
 * @possible(@c, @ctx) holds, in increasing order, at most @max of them.
 * Returns how many; *@next is the first such CPU left out, or
 * TV_UAPI_CPU_END when none is.
 */
static inline u32 tv_status_window(u32 first, u32 max, u32 limit,
				   bool (*possible)(u32 cpu, void *ctx),
				   void *ctx, u32 *out, u32 *next)
{
	u32 cpu, n = 0;

	*next = TV_UAPI_CPU_END;
	for (cpu = first; cpu < limit; cpu++) {
		if (!possible(cpu, ctx))
			continue;
		if (n == max) {
			*next = cpu;
			break;
		}
		out[n++] = cpu;
	}
	return n;
}

/*
 * The core types "thinvisor: " into its messages (the Windows host prints
 * them as they are); the Linux host's pr_fmt gives every line that prefix,
 * so the core's copy is skipped: one prefix per line.
 */
#define TV_LOG_PREFIX "thinvisor: "

static inline const char *tv_log_unprefixed(const char *text)
{
	if (!strncmp(text, TV_LOG_PREFIX, sizeof(TV_LOG_PREFIX) - 1))
		return text + sizeof(TV_LOG_PREFIX) - 1;
	return text;
}

#endif
