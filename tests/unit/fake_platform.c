// SPDX-License-Identifier: MIT
/*
 * The platform interface for host unit tests: plain heap memory whose
 * "physical" address is its virtual one, and counters so that tests can
 * check every allocation was given back.  fake_fail_after makes the Nth
 * allocation from now fail, to walk error paths.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include "fake_platform.h"
#include "core/vcpu.h"
#include "core/ext.h"

struct fake_platform fake;

static bool fake_alloc_fails(void)
{
	if (fake.fail_after < 0)
		return false;
	if (fake.fail_after-- == 0)
		return true;
	return false;
}

/*
 * core/platform.h: up to 2 MiB never crosses a 2 MiB boundary, which
 * aligning to the next power of two guarantees (the buddy allocator's
 * way); the fake's physical addresses are its virtual ones.
 */
static size_t fake_alignment(size_t npages)
{
	size_t align = TV_PAGE_SIZE;

	while (align < npages * TV_PAGE_SIZE && align < (2u << 20))
		align <<= 1;
	return align;
}

void *tv_plat_alloc_pages(size_t npages)
{
	void *p;

	if (fake.max_pages && npages > fake.max_pages)
		return NULL;
	if (fake_alloc_fails())
		return NULL;
	if (posix_memalign(&p, fake_alignment(npages), npages * TV_PAGE_SIZE))
		return NULL;
	memset(p, 0, npages * TV_PAGE_SIZE);
	fake.pages_live += npages;
	fake.pages_total += npages;
	fake.page_allocs++;
	return p;
}

/* Garbage, so that a test relying on zeroes from it fails. */
void *tv_plat_alloc_pages_uninit(size_t npages)
{
	void *p = tv_plat_alloc_pages(npages);

	if (p)
		memset(p, 0xa5, npages * TV_PAGE_SIZE);
	return p;
}

void tv_plat_free_pages(void *va, size_t npages)
{
	if (!va)
		return;
	fake.pages_live -= npages;
	free(va);
}

void *tv_plat_zalloc(size_t size)
{
	void *p;

	if (fake_alloc_fails())
		return NULL;
	p = calloc(1, size);
	if (p)
		fake.zallocs_live++;
	return p;
}

void tv_plat_free(void *p)
{
	if (!p)
		return;
	fake.zallocs_live--;
	free(p);
}

u64 tv_plat_virt_to_phys(const void *va)
{
	return (u64)(uintptr_t)va;
}

void *tv_plat_phys_to_virt(u64 pa)
{
	if (!fake.phys_mem || pa >= fake.phys_size)
		return NULL;
	return fake.phys_mem + pa;
}

unsigned int tv_plat_cpu_limit(void)
{
	return fake.cpus ? fake.cpus : 1;
}

bool tv_plat_cpu_online(unsigned int cpu)
{
	return cpu < tv_plat_cpu_limit();
}

unsigned int tv_plat_cpu_index(void)
{
	return fake.current_cpu;
}

int tv_plat_on_cpu(unsigned int cpu, int (*fn)(void *arg), void *arg)
{
	unsigned int saved = fake.current_cpu;
	int ret;

	fake.current_cpu = cpu;
	ret = fn(arg);
	fake.current_cpu = saved;
	return ret;
}

u64 tv_plat_host_cr3(void)
{
	return 0x1000;
}

void tv_plat_before_vmxon(void)
{
}

void tv_plat_after_vmxoff(void)
{
}

void tv_plat_vlog(int level, const char *fmt, tv_va_list ap)
{
	fake.log_lines++;
	if (getenv("TV_UNIT_VERBOSE"))
		vfprintf(stderr, fmt, ap);
}

void tv_plat_panic(const char *msg)
{
	fprintf(stderr, "tv_plat_panic: %s\n", msg);
	abort();
}

bool tv_plat_fault(int step)
{
	return fake.fault_step == step;
}

/*
 * What core/ext.c needs from core/vmm.c and core/ext_root.c, which run
 * VMX instructions: the shared state a test sets up, and root calls that
 * run their function on fake vCPUs (one per fake.vcpus).
 */
const struct tv_shared *tv_vmm_shared(void)
{
	return fake.shared;
}

int tv_vmm_root_call_each(int (*fn)(struct tv_vcpu *v, void *arg), void *arg)
{
	return tv_vmm_root_call_others(~0u, fn, arg);
}

int tv_vmm_root_call_others(unsigned int skip,
			    int (*fn)(struct tv_vcpu *v, void *arg), void *arg)
{
	static struct tv_vcpu fake_vcpu;
	unsigned int cpu;
	int ret;

	for (cpu = 0; cpu < fake.vcpus; cpu++) {
		if (cpu == skip)
			continue;
		fake.root_calls++;
		fake_vcpu.cpu = cpu;
		ret = fn(&fake_vcpu, arg);
		if (ret)
			return ret;
	}
	return 0;
}

int tv_vmm_root_call_any(int (*fn)(struct tv_vcpu *v, void *arg), void *arg)
{
	static struct tv_vcpu fake_vcpu;

	if (!fake.vcpus)
		return TV_ERR_BUSY;
	fake.root_calls++;
	return fn(&fake_vcpu, arg);
}

void tv_ext_flush_this_cpu(struct tv_vcpu *v)
{
	fake.flushes++;
}

void tv_ext_write_controls(struct tv_vcpu *v)
{
	fake.controls_written++;
}
