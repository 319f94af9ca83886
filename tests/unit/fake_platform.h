/* SPDX-License-Identifier: MIT */
#ifndef TV_FAKE_PLATFORM_H
#define TV_FAKE_PLATFORM_H
#include "core/platform.h"

struct tv_shared;

/* State of the fake platform; tests reset it with fake_reset(). */
struct fake_platform {
	long pages_live;	/* pages allocated and not yet freed */
	long pages_total;	/* pages ever allocated */
	long page_allocs;	/* successful tv_plat_alloc_pages*() calls */
	long zallocs_live;	/* small allocations not yet freed */
	int fail_after;		/* -1: never; N: the allocation after N more fails */
	size_t max_pages;	/* 0: any; N: more pages at once fail (fragmented) */
	int fault_step;		/* tv_plat_fault() answers true for this step */
	unsigned int cpus;
	unsigned int current_cpu;
	long log_lines;
	/* The core's side of the extension registry (core/ext.c). */
	const struct tv_shared *shared;	/* tv_vmm_shared() */
	unsigned int vcpus;		/* CPUs a root call reaches */
	long root_calls;		/* root calls made, per CPU */
	long controls_written;		/* tv_ext_write_controls() calls */
	long flushes;			/* tv_ext_flush_this_cpu() calls */
	/* tv_plat_phys_to_virt(): "physical" [0, phys_size) is phys_mem. */
	u8 *phys_mem;
	u64 phys_size;
};

extern struct fake_platform fake;

static inline void fake_reset(void)
{
	memset(&fake, 0, sizeof(fake));
	fake.fail_after = -1;
	fake.fault_step = -1;
	fake.cpus = 1;
}
#endif
