/* SPDX-License-Identifier: MIT */
/*
 * The /dev/thinvisor interface shared by the Linux host and tvctl.
 * Root only (the device is 0600 and open() also wants CAP_SYS_ADMIN).
 */
#ifndef THINVISOR_UAPI_H
#define THINVISOR_UAPI_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define TV_UAPI_MAX_CPUS 256

#define TV_CPU_ONLINE 0x1
#define TV_CPU_VIRTUALIZED 0x2

struct tv_uapi_cpu {
	__u32 cpu;
	__u32 flags;		/* TV_CPU_* */
	__u32 vpid;
	__u32 reserved;
	__u64 exits;
};

struct tv_uapi_status {
	__u32 version;		/* major << 16 | minor */
	__u32 ncpus;		/* entries filled in cpu[] */
	__u64 ept_bytes;	/* EPT table memory */
	struct tv_uapi_cpu cpu[TV_UAPI_MAX_CPUS];
};

struct tv_uapi_ping {
	__u32 cpu;		/* in */
	__s32 result;		/* out: 0, or a negative errno */
};

#define TV_UAPI_STAT_REASONS 80

/* Per-exit-reason statistics of one CPU: index = basic exit reason. */
struct tv_uapi_stats {
	__u32 cpu;		/* in */
	__u32 virtualized;	/* out: 0 when the CPU is not under thinvisor */
	__u64 count[TV_UAPI_STAT_REASONS];
	__u64 cycles[TV_UAPI_STAT_REASONS];	/* TSC cycles in the VMM */
};

#define TV_IOC_MAGIC 't'
#define TV_IOC_STATUS _IOR(TV_IOC_MAGIC, 1, struct tv_uapi_status)
#define TV_IOC_PING _IOWR(TV_IOC_MAGIC, 2, struct tv_uapi_ping)
#define TV_IOC_STATS _IOWR(TV_IOC_MAGIC, 3, struct tv_uapi_stats)
#define TV_IOC_STATS_RESET _IO(TV_IOC_MAGIC, 4)

/*
 * read() on /dev/thinvisor returns the VMM log as text lines
 * ("<level> cpu <N> <message>"), blocking until there is some unless the
 * file is O_NONBLOCK.  Only one reader gets each line.
 */

#endif
