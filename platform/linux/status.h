/* SPDX-License-Identifier: MIT */
/*
 * The CPU window of TV_IOC_STATUS (include/thinvisor/uapi.h), as a pure
 * function: the host unit tests include this header too.
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

#endif
