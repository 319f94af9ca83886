// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * The extension API for other modules: include/thinvisor/extension.h,
 * exported.  Every sleepable call runs under the hotplug read lock and
 * tv_linux_lock, like load, unload, CPU online/offline and suspend, so an
 * extension's change and a CPU coming or going never interleave.  An
 * extension's init and fini run without them (they may call back in).
 * The importing module depends on thinvisor.ko, so thinvisor cannot be
 * unloaded while a registered extension's module is loaded.
 */
#include <linux/module.h>
#include <linux/cpu.h>
#include <linux/mutex.h>
#include "core/types.h"
#include "core/ext.h"
#include "tv_linux.h"

static void tv_ext_lock(void)
{
	cpus_read_lock();
	mutex_lock(&tv_linux_lock);
}

static void tv_ext_unlock(void)
{
	mutex_unlock(&tv_linux_lock);
	cpus_read_unlock();
}

int tv_ext_register(struct tv_ext *ext)
{
	int ret;

	tv_ext_lock();
	ret = tv_ext_core_attach(ext);
	tv_ext_unlock();
	if (ret)
		return tv_linux_errno(ret);
	if (ext->init) {
		ret = ext->init(ext);
		if (ret) {
			tv_ext_lock();
			tv_ext_core_detach(ext);
			tv_ext_unlock();
			pr_info("thinvisor: extension %s: init failed (%d)\n",
				ext->name, ret);
			return ret;
		}
	}
	tv_ext_lock();
	tv_ext_core_activate(ext);
	tv_ext_unlock();
	pr_info("thinvisor: extension %s registered\n", ext->name);
	return 0;
}
EXPORT_SYMBOL_GPL(tv_ext_register);

/*
 * Held by the log thread while it runs deferred work: unregistration takes
 * it once after the detach, so no deferred function of the extension runs
 * when its module goes.
 */
static DEFINE_MUTEX(tv_ext_defer_lock);

void tv_linux_ext_run_deferred(void)
{
	mutex_lock(&tv_ext_defer_lock);
	tv_ext_core_run_deferred();
	mutex_unlock(&tv_ext_defer_lock);
}

void tv_ext_unregister(struct tv_ext *ext)
{
	tv_ext_lock();
	tv_ext_core_detach(ext);
	tv_ext_unlock();
	mutex_lock(&tv_ext_defer_lock);
	mutex_unlock(&tv_ext_defer_lock);
	if (ext->fini)
		ext->fini(ext);
	pr_info("thinvisor: extension %s unregistered\n", ext->name);
}
EXPORT_SYMBOL_GPL(tv_ext_unregister);

#define TV_EXT_LOCKED(call)			\
	({					\
		int __ret;			\
		tv_ext_lock();			\
		__ret = (call);			\
		tv_ext_unlock();		\
		tv_linux_errno(__ret);		\
	})

int tv_ext_want_cpuid(struct tv_ext *ext, unsigned int leaf, int on)
{
	return TV_EXT_LOCKED(tv_ext_core_want_cpuid(ext, leaf, on));
}
EXPORT_SYMBOL_GPL(tv_ext_want_cpuid);

int tv_ext_want_msr(struct tv_ext *ext, unsigned int msr, int read, int write)
{
	return TV_EXT_LOCKED(tv_ext_core_want_msr(ext, msr, read, write));
}
EXPORT_SYMBOL_GPL(tv_ext_want_msr);

int tv_ext_want_cr(struct tv_ext *ext, unsigned int cr, int read, int write,
		   unsigned long long mask)
{
	return TV_EXT_LOCKED(tv_ext_core_want_cr(ext, cr, read, write, mask));
}
EXPORT_SYMBOL_GPL(tv_ext_want_cr);

int tv_ext_want_io(struct tv_ext *ext, unsigned int port, int on)
{
	return TV_EXT_LOCKED(tv_ext_core_want_io(ext, port, on));
}
EXPORT_SYMBOL_GPL(tv_ext_want_io);

int tv_ext_want_exception(struct tv_ext *ext, unsigned int vector, int on,
			  unsigned int pf_mask, unsigned int pf_match)
{
	return TV_EXT_LOCKED(tv_ext_core_want_exception(ext, vector, on,
							pf_mask, pf_match));
}
EXPORT_SYMBOL_GPL(tv_ext_want_exception);

int tv_ext_want_vmcall(struct tv_ext *ext, unsigned long long nr,
		       unsigned int max_cpl)
{
	return TV_EXT_LOCKED(tv_ext_core_want_vmcall(ext, nr, max_cpl));
}
EXPORT_SYMBOL_GPL(tv_ext_want_vmcall);

int tv_ext_want(struct tv_ext *ext, enum tv_ext_event_type type, int on)
{
	return TV_EXT_LOCKED(tv_ext_core_want(ext, type, on));
}
EXPORT_SYMBOL_GPL(tv_ext_want);

int tv_ext_run_on_cpus(struct tv_ext *ext,
		       int (*fn)(struct tv_ext *ext, void *arg), void *arg)
{
	int ret;

	tv_ext_lock();
	ret = tv_ext_core_run_on_cpus(ext, fn, arg);
	tv_ext_unlock();
	/* @fn's own non-zero result is passed through as it is. */
	return ret == TV_ERR_INVALID ? -EINVAL : ret;
}
EXPORT_SYMBOL_GPL(tv_ext_run_on_cpus);

int tv_ext_view_create(struct tv_ext *ext)
{
	int ret;

	tv_ext_lock();
	ret = tv_ext_core_view_create(ext);
	tv_ext_unlock();
	return ret < 0 ? tv_linux_errno(-ret) : ret;
}
EXPORT_SYMBOL_GPL(tv_ext_view_create);

void tv_ext_view_destroy(struct tv_ext *ext, int view)
{
	tv_ext_lock();
	tv_ext_core_view_destroy(ext, view);
	tv_ext_unlock();
}
EXPORT_SYMBOL_GPL(tv_ext_view_destroy);

int tv_ext_page_set(struct tv_ext *ext, int view, unsigned long long gpa,
		    unsigned int allowed, unsigned long long host_pa)
{
	return TV_EXT_LOCKED(tv_ext_core_page_set(ext, view, gpa, allowed,
						  host_pa));
}
EXPORT_SYMBOL_GPL(tv_ext_page_set);

int tv_ext_page_set_range(struct tv_ext *ext, int view,
			  unsigned long long gpa, unsigned long long size,
			  unsigned int allowed)
{
	return TV_EXT_LOCKED(tv_ext_core_page_set_range(ext, view, gpa, size,
							allowed));
}
EXPORT_SYMBOL_GPL(tv_ext_page_set_range);

int tv_ext_page_reset(struct tv_ext *ext, int view, unsigned long long gpa)
{
	return TV_EXT_LOCKED(tv_ext_core_page_reset(ext, view, gpa));
}
EXPORT_SYMBOL_GPL(tv_ext_page_reset);

int tv_ext_page_set_ve(struct tv_ext *ext, int view, unsigned long long gpa,
		       int on)
{
	return TV_EXT_LOCKED(tv_ext_core_page_set_ve(ext, view, gpa, !!on));
}
EXPORT_SYMBOL_GPL(tv_ext_page_set_ve);

struct tv_ve_info *tv_ext_ve_info(unsigned int cpu)
{
	return tv_ext_core_ve_info(cpu);
}
EXPORT_SYMBOL_GPL(tv_ext_ve_info);

/* The VMX-root helpers live in core/ext_root.c. */
EXPORT_SYMBOL_GPL(tv_ext_page_caps);
EXPORT_SYMBOL_GPL(tv_ext_page_set_root);
EXPORT_SYMBOL_GPL(tv_ext_view_switch);
EXPORT_SYMBOL_GPL(tv_ext_view_current);
EXPORT_SYMBOL_GPL(tv_ext_read_guest);
EXPORT_SYMBOL_GPL(tv_ext_write_guest);
EXPORT_SYMBOL_GPL(tv_ext_gva_to_gpa);
EXPORT_SYMBOL_GPL(tv_ext_inject_software);
EXPORT_SYMBOL_GPL(tv_ext_inject_interrupt);
EXPORT_SYMBOL_GPL(tv_ext_defer);
EXPORT_SYMBOL_GPL(tv_ext_cpu_data);
EXPORT_SYMBOL_GPL(tv_ext_guest_cpl);
EXPORT_SYMBOL_GPL(tv_ext_guest_cr);
EXPORT_SYMBOL_GPL(tv_ext_set_rip);
EXPORT_SYMBOL_GPL(tv_ext_inject_exception);
EXPORT_SYMBOL_GPL(tv_ext_single_step);
