/* SPDX-License-Identifier: MIT */
/*
 * The /dev/thinvisor interface shared by the Linux host and tvctl.
 * Root only (the device is 0600 and open() also wants CAP_SYS_ADMIN).
 */
#ifndef THINVISOR_UAPI_H
#define THINVISOR_UAPI_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define TV_CPU_ONLINE 0x1
#define TV_CPU_VIRTUALIZED 0x2

struct tv_uapi_cpu {
	__u32 cpu;
	__u32 flags;		/* TV_CPU_* */
	__u32 vpid;
	__u32 reserved;
	__u64 exits;
};

/*
 * TV_IOC_STATUS reports the possible CPUs in index order, a window at a
 * time: the caller asks from first_cpu on with room for max_cpus entries
 * at cpus; the driver fills ncpus <= max_cpus of them (it may fill fewer,
 * at most TV_UAPI_STATUS_WINDOW a call) and says in next_cpu where to go
 * on, TV_UAPI_CPU_END when every CPU has been reported.  Start at 0 and
 * loop until TV_UAPI_CPU_END: no CPU is ever left out, however many.
 */
#define TV_UAPI_STATUS_WINDOW 256
#define TV_UAPI_CPU_END 0xffffffffu

struct tv_uapi_status {
	__u32 version;		/* out: major << 16 | minor */
	__u32 ncpus;		/* out: entries filled at cpus */
	__u64 ept_bytes;	/* out: EPT table memory */
	__u64 cpus;		/* in: user address of struct tv_uapi_cpu[max_cpus] */
	__u32 first_cpu;	/* in: report CPUs from this index on */
	__u32 max_cpus;		/* in: room at cpus, in entries */
	__u32 next_cpu;		/* out: first_cpu of the next call, or TV_UAPI_CPU_END */
	__u32 cpu_limit;	/* out: every CPU index is below this */
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

/*
 * The registered extensions, in registration order, and the events each
 * was offered, indexed like enum tv_ext_event_type (thinvisor/extension.h).
 */
#define TV_UAPI_EXT_MAX 8
#define TV_UAPI_EXT_NAME 32
#define TV_UAPI_EXT_EVENTS 15

struct tv_uapi_ext {
	char name[TV_UAPI_EXT_NAME];	/* NUL-terminated */
	__u64 counts[TV_UAPI_EXT_EVENTS];
};

struct tv_uapi_extensions {
	__u32 count;		/* out: entries filled in ext */
	__u32 nevents;		/* out: TV_UAPI_EXT_EVENTS */
	struct tv_uapi_ext ext[TV_UAPI_EXT_MAX];
};

#define TV_IOC_MAGIC 't'
/* Number 1 was a fixed 256-entry status that left the CPUs beyond out. */
#define TV_IOC_STATUS _IOWR(TV_IOC_MAGIC, 5, struct tv_uapi_status)
#define TV_IOC_PING _IOWR(TV_IOC_MAGIC, 2, struct tv_uapi_ping)
#define TV_IOC_STATS _IOWR(TV_IOC_MAGIC, 3, struct tv_uapi_stats)
#define TV_IOC_STATS_RESET _IO(TV_IOC_MAGIC, 4)
#define TV_IOC_EXTENSIONS _IOR(TV_IOC_MAGIC, 6, struct tv_uapi_extensions)

/*
 * read() on /dev/thinvisor returns the VMM log as text lines
 * ("<level> cpu <N> <message>"), blocking until there is some unless the
 * file is O_NONBLOCK.  Readers take turns: each line goes whole to one of
 * them (a read() shorter than the line gets a part of it).
 */

#endif
