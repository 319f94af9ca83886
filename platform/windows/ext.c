// SPDX-License-Identifier: MIT
/*
 * The extension API (include/thinvisor/extension.h) on Windows, for the
 * extensions linked into thinvisor.sys.  As on Linux (platform/linux/
 * ext.c): every sleepable call runs under the driver's lock, the KMUTEX
 * that load, unload, the power and the processor-change callbacks take,
 * so an extension's change and a processor coming or going never
 * interleave; an extension's init and fini run without it (they may call
 * back in).  There is no module reference to count: an extension is part
 * of the image, registered by DriverEntry after step 7 and unregistered by
 * DriverUnload before the VMM goes (tv_win_ext_start/stop).
 *
 * The built-in table: TV_EXT_BUILTIN() puts one struct tv_ext_builtin per
 * extension in the input section .tvext$m; the two empty entries below sit
 * in .tvext$a and .tvext$z, and tvext.ld has the linker keep all three
 * (--gc-sections would drop what nothing references) sorted by name into
 * the output section .tvext, so the entries between them are every
 * extension linked in, in link order.
 */
#include <errno.h>
#include "tv_win.h"
#include "core/ext.h"
#include "core/platform.h"
#include "core/vmm.h"
#include "route.h"

static const struct tv_ext_builtin tv_win_ext_begin
	__attribute__((section(".tvext$a"), used, aligned(8))) = { NULL };
static const struct tv_ext_builtin tv_win_ext_end
	__attribute__((section(".tvext$z"), used, aligned(8))) = { NULL };

/*
 * Held by the log thread while it runs deferred work: unregistration takes
 * it once after the detach, so no deferred function of an extension runs
 * after its fini.
 */
static KMUTEX tv_win_defer_lock;

void tv_win_ext_setup(void)
{
	KeInitializeMutex(&tv_win_defer_lock, 0);
}

void tv_win_ext_run_deferred(void)
{
	KeWaitForSingleObject(&tv_win_defer_lock, Executive, KernelMode, FALSE,
			      NULL);
	tv_ext_core_run_deferred();
	KeReleaseMutex(&tv_win_defer_lock, FALSE);
}

int tv_ext_register(struct tv_ext *ext)
{
	int ret;

	tv_win_lock();
	ret = tv_ext_core_attach(ext);
	tv_win_unlock();
	if (ret)
		return tv_win_errno(ret);
	if (ext->init) {
		ret = ext->init(ext);
		if (ret) {
			tv_win_lock();
			tv_ext_core_detach(ext);
			tv_win_unlock();
			tv_log(TV_LOG_ERR,
			       "thinvisor: extension %s: init failed (%d)\n",
			       ext->name, ret);
			return ret;
		}
	}
	tv_win_lock();
	tv_ext_core_activate(ext);
	tv_win_unlock();
	tv_log(TV_LOG_INFO, "thinvisor: extension %s registered\n", ext->name);
	return 0;
}

void tv_ext_unregister(struct tv_ext *ext)
{
	tv_win_lock();
	tv_ext_core_detach(ext);
	tv_win_unlock();
	KeWaitForSingleObject(&tv_win_defer_lock, Executive, KernelMode, FALSE,
			      NULL);
	KeReleaseMutex(&tv_win_defer_lock, FALSE);
	if (ext->fini)
		ext->fini(ext);
	tv_log(TV_LOG_INFO, "thinvisor: extension %s unregistered\n",
	       ext->name);
}

#define TV_EXT_LOCKED(call)			\
	({					\
		int __ret;			\
		tv_win_lock();			\
		__ret = (call);			\
		tv_win_unlock();		\
		tv_win_errno(__ret);		\
	})

int tv_ext_want_cpuid(struct tv_ext *ext, unsigned int leaf, int on)
{
	return TV_EXT_LOCKED(tv_ext_core_want_cpuid(ext, leaf, on));
}

int tv_ext_want_msr(struct tv_ext *ext, unsigned int msr, int read, int write)
{
	return TV_EXT_LOCKED(tv_ext_core_want_msr(ext, msr, read, write));
}

int tv_ext_want_cr(struct tv_ext *ext, unsigned int cr, int read, int write,
		   unsigned long long mask)
{
	return TV_EXT_LOCKED(tv_ext_core_want_cr(ext, cr, read, write, mask));
}

int tv_ext_want_io(struct tv_ext *ext, unsigned int port, int on)
{
	return TV_EXT_LOCKED(tv_ext_core_want_io(ext, port, on));
}

int tv_ext_want_exception(struct tv_ext *ext, unsigned int vector, int on,
			  unsigned int pf_mask, unsigned int pf_match)
{
	return TV_EXT_LOCKED(tv_ext_core_want_exception(ext, vector, on,
							pf_mask, pf_match));
}

int tv_ext_want_vmcall(struct tv_ext *ext, unsigned long long nr,
		       unsigned int max_cpl)
{
	return TV_EXT_LOCKED(tv_ext_core_want_vmcall(ext, nr, max_cpl));
}

int tv_ext_want(struct tv_ext *ext, enum tv_ext_event_type type, int on)
{
	return TV_EXT_LOCKED(tv_ext_core_want(ext, type, on));
}

int tv_ext_run_on_cpus(struct tv_ext *ext,
		       int (*fn)(struct tv_ext *ext, void *arg), void *arg)
{
	int ret;

	tv_win_lock();
	ret = tv_ext_core_run_on_cpus(ext, fn, arg);
	tv_win_unlock();
	/* @fn's own non-zero result is passed through as it is. */
	return ret == TV_ERR_INVALID ? -EINVAL : ret;
}

int tv_ext_view_create(struct tv_ext *ext)
{
	int ret;

	tv_win_lock();
	ret = tv_ext_core_view_create(ext);
	tv_win_unlock();
	return ret < 0 ? tv_win_errno(-ret) : ret;
}

void tv_ext_view_destroy(struct tv_ext *ext, int view)
{
	tv_win_lock();
	tv_ext_core_view_destroy(ext, view);
	tv_win_unlock();
}

int tv_ext_page_set(struct tv_ext *ext, int view, unsigned long long gpa,
		    unsigned int allowed, unsigned long long host_pa)
{
	return TV_EXT_LOCKED(tv_ext_core_page_set(ext, view, gpa, allowed,
						  host_pa));
}

int tv_ext_page_set_range(struct tv_ext *ext, int view,
			  unsigned long long gpa, unsigned long long size,
			  unsigned int allowed)
{
	return TV_EXT_LOCKED(tv_ext_core_page_set_range(ext, view, gpa, size,
							allowed));
}

int tv_ext_page_reset(struct tv_ext *ext, int view, unsigned long long gpa)
{
	return TV_EXT_LOCKED(tv_ext_core_page_reset(ext, view, gpa));
}

int tv_ext_page_set_ve(struct tv_ext *ext, int view, unsigned long long gpa,
		       int on)
{
	return TV_EXT_LOCKED(tv_ext_core_page_set_ve(ext, view, gpa, !!on));
}

struct tv_ve_info *tv_ext_ve_info(unsigned int cpu)
{
	return tv_ext_core_ve_info(cpu);
}

/* --- the built-in extensions ------------------------------------------ */

static void table(const struct tv_ext_builtin **begin,
		  const struct tv_ext_builtin **end)
{
	const struct tv_ext_builtin *b = &tv_win_ext_begin + 1;
	const struct tv_ext_builtin *e = &tv_win_ext_end;

	/*
	 * Two distinct objects to the compiler, one array to the linker:
	 * hide their provenance so no comparison between them is folded.
	 */
	__asm__("" : "+r"(b));
	__asm__("" : "+r"(e));
	*begin = b;
	*end = e;
}

/* The last built-in extension, whose registration FailStep 27 fails. */
static struct tv_ext *tv_win_ext_last;

static int builtin_register(struct tv_ext *ext)
{
	if (ext == tv_win_ext_last && tv_plat_fault(TV_WIN_FAULT_EXT))
		return -ECANCELED;
	return tv_ext_register(ext);
}

static const struct tv_win_ext_ops builtin_ops = {
	.reg = builtin_register,
	.unreg = tv_ext_unregister,
	.log = tv_log,
};

int tv_win_ext_start(void)
{
	const struct tv_ext_builtin *b, *e, *failed, *p;

	table(&b, &e);
	tv_win_ext_last = NULL;
	for (p = b; p < e; p++)
		if (p->ext)
			tv_win_ext_last = p->ext;
	tv_log(TV_LOG_INFO, "thinvisor: %u built-in extensions\n",
	       tv_win_ext_count(b, e));
	return tv_win_ext_start_table(b, e, &builtin_ops, &failed);
}

void tv_win_ext_stop(void)
{
	const struct tv_ext_builtin *b, *e;

	table(&b, &e);
	tv_win_ext_stop_table(b, e, &builtin_ops);
}
