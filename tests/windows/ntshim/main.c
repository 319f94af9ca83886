// SPDX-License-Identifier: MIT
/*
 * ntshim: `insmod thinvisor.ko` here loads the Windows driver
 * (sys=/opt/tv/win/thinvisor.sys, as `make windows` signed it), calls its
 * DriverEntry, and `rmmod thinvisor` calls its DriverUnload, so that the
 * guest tests written for the Linux module drive the Windows build.
 *
 * Like Windows, DriverEntry and DriverUnload run in a system thread (one
 * kthread each).  The driver takes the page-table root of that thread as
 * the VMM's host CR3, so the address space the thread borrows is pinned
 * until the driver is gone.  Notifications reach the driver from their
 * real Linux sources: the PM notifier is \Callback\PowerState, CPU
 * hotplug is the processor-change callback.  Windows never takes a
 * processor away, so while the driver runs a CPU cannot go offline.
 */
#include <linux/module.h>
#include <linux/cpu.h>
#include <linux/cpuhotplug.h>
#include <linux/kthread.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/suspend.h>
#include <asm/desc.h>
#include "shim.h"

static char *sys = "/opt/tv/win/thinvisor.sys";
module_param(sys, charp, 0444);
MODULE_PARM_DESC(sys, "the thinvisor.sys image to load");

char *nt_systemroot = "/tmp";
module_param_named(systemroot, nt_systemroot, charp, 0444);
MODULE_PARM_DESC(systemroot, "directory standing for \\SystemRoot (the log file)");

/* Registry values under the service key; -1: the value does not exist. */
int nt_fail_step = -1;
module_param_named(FailStep, nt_fail_step, int, 0444);
MODULE_PARM_DESC(FailStep, "REG_DWORD FailStep (test build: fail init step N)");
int nt_log_level = -1;
module_param_named(LogLevel, nt_log_level, int, 0444);
MODULE_PARM_DESC(LogLevel, "REG_DWORD LogLevel (3 err ... 7 debug)");

static int get_atomic(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%d\n", atomic_read((atomic_t *)kp->arg));
}

static const struct kernel_param_ops counter_ops = { .get = get_atomic };
module_param_cb(irql_violations, &counter_ops, &nt_irql_violations, 0444);
MODULE_PARM_DESC(irql_violations, "imports called at an IRQL Windows forbids, or misused");
module_param_cb(import_calls, &counter_ops, &nt_import_calls, 0444);
MODULE_PARM_DESC(import_calls, "import calls checked");
module_param_cb(dbgprint_lines, &counter_ops, &nt_dbgprint_lines, 0444);
MODULE_PARM_DESC(dbgprint_lines, "lines the driver printed with DbgPrintEx");

/* Test of the IRQL checker itself: one deliberate violation at load. */
static bool test_irql_violation;
module_param(test_irql_violation, bool, 0444);
MODULE_PARM_DESC(test_irql_violation, "test: call one import at a forbidden IRQL at load");

static struct pe_image image;
static void *driver_object;
static struct nt_unicode_string reg_path;
static u16 reg_path_buf[96];
static struct mm_struct *host_mm;	/* pinned: its CR3 is the VMM's */
static bool loaded;			/* DriverEntry succeeded */
static int cpuhp_state = -1;

/* A VM exit left TR's limit at 0x67: have Linux reload it on each CPU. */
static void reload_tss_limit(void *unused)
{
	invalidate_tss_limit();
}

static void after_give_back(void)
{
	on_each_cpu(reload_tss_limit, NULL, 1);
}

struct call {
	void *fn;
	u64 a1, a2;
	u64 ret;
	bool pin;
	struct completion done;
};

static int system_call_thread(void *arg)
{
	struct call *c = arg;

	if (c->pin) {
		host_mm = current->active_mm;
		mmgrab(host_mm);
		/*
		 * A kthread only borrows the last mm: after it sleeps (the
		 * driver allocates), it may run on another, which the driver
		 * would then read from CR3 unpinned and the VMM keep after
		 * that process exits (a triple fault at a later exit).  Own
		 * the pinned one for the whole call.
		 */
		kthread_use_mm(host_mm);
	}
	c->ret = ntshim_ms_call(c->fn, c->a1, c->a2, 0, 0);
	if (c->pin)
		kthread_unuse_mm(host_mm);
	complete(&c->done);
	return 0;
}

/* Call @fn(a1, a2) in a new system thread and wait for it. */
static int call_in_system_thread(struct call *c, const char *name)
{
	struct task_struct *t;

	init_completion(&c->done);
	t = kthread_run(system_call_thread, c, "thinvisor-%s", name);
	if (IS_ERR(t))
		return PTR_ERR(t);
	wait_for_completion(&c->done);
	return 0;
}

static int ntstatus_errno(u32 st)
{
	switch (st) {
	case 0xC0000120: return -ECANCELED;		/* CANCELLED */
	case 0xC000009A: return -ENOMEM;		/* INSUFFICIENT_RESOURCES */
	case 0xC00000BB: return -EOPNOTSUPP;		/* NOT_SUPPORTED */
	case 0xC035001E: return -EPROTONOSUPPORT;	/* HV_FEATURE_UNAVAILABLE */
	case 0xC0000035: return -EEXIST;		/* OBJECT_NAME_COLLISION */
	case 0xC0000708: return -EBUSY;			/* RESOURCE_IN_USE */
	case 0xC0000182: return -EPERM;			/* DEVICE_CONFIGURATION_ERROR */
	default: return -EIO;
	}
}

static int pm_event(struct notifier_block *nb, unsigned long ev, void *unused)
{
	if (ev == PM_SUSPEND_PREPARE || ev == PM_HIBERNATION_PREPARE) {
		nt_power_event(true);
		after_give_back();
	} else if (ev == PM_POST_SUSPEND || ev == PM_POST_HIBERNATION) {
		nt_power_event(false);
	}
	return NOTIFY_OK;
}

static struct notifier_block pm_nb = { .notifier_call = pm_event };

static int cpu_added_thread(void *arg)
{
	struct call *c = arg;

	nt_cpu_added((unsigned int)c->a1);
	complete(&c->done);
	return 0;
}

/* cpuhp: the new CPU runs; Windows' add notifications come now. */
static int shim_cpu_online(unsigned int cpu)
{
	struct call c = { .a1 = cpu };
	struct task_struct *t;

	if (!loaded || !nt_cpu_callbacks_registered())
		return 0;
	/* In a thread of its own: the driver moves it onto the new CPU. */
	init_completion(&c.done);
	t = kthread_run(cpu_added_thread, &c, "thinvisor-cpu%u", cpu);
	if (IS_ERR(t))
		return 0;	/* the CPU comes up; only thinvisor misses it */
	wait_for_completion(&c.done);
	return 0;
}

static int shim_cpu_offline(unsigned int cpu)
{
	if (!loaded)
		return 0;
	pr_info("thinvisor: ntshim: CPU %u stays online: Windows never removes a processor from a running driver (rmmod thinvisor first)\n",
		cpu);
	return -EBUSY;
}

static void set_reg_path(void)
{
	static const char key[] =
		"\\Registry\\Machine\\System\\CurrentControlSet\\Services\\thinvisor";
	size_t i;

	for (i = 0; key[i]; i++)
		reg_path_buf[i] = key[i];
	reg_path.length = i * 2;
	reg_path.maximum_length = i * 2 + 2;
	reg_path.buffer = reg_path_buf;
}

static void unhook(void)
{
	if (cpuhp_state >= 0)
		cpuhp_remove_state_nocalls(cpuhp_state);
	cpuhp_state = -1;
	unregister_pm_notifier(&pm_nb);
}

static int __init ntshim_init(void)
{
	struct call c = { 0 };
	int ret;

	BUILD_BUG_ON(sizeof(reg_path_buf) / 2 < 80);
	if (test_irql_violation)
		nt_irql_selftest();
	ret = pe_load(sys, &image);
	if (ret)
		return ret;
	driver_object = kzalloc(NT_DRIVER_OBJECT_SIZE, GFP_KERNEL);
	if (!driver_object) {
		pe_unload(&image);
		return -ENOMEM;
	}
	set_reg_path();
	register_pm_notifier(&pm_nb);
	ret = cpuhp_setup_state_nocalls(CPUHP_AP_ONLINE_DYN,
					"thinvisor/ntshim:online", shim_cpu_online,
					shim_cpu_offline);
	if (ret < 0)
		goto fail;
	cpuhp_state = ret;

	c.fn = image.entry;
	c.a1 = (u64)driver_object;
	c.a2 = (u64)&reg_path;
	c.pin = true;
	ret = call_in_system_thread(&c, "entry");
	if (ret)
		goto fail;
	after_give_back();
	if ((u32)c.ret) {
		pr_err("thinvisor: ntshim: DriverEntry returned NTSTATUS 0x%08x\n",
		       (u32)c.ret);
		ret = ntstatus_errno((u32)c.ret);
		if (nt_report_leaks("after the failed DriverEntry"))
			pr_err("thinvisor: ntshim: the failed DriverEntry left something behind\n");
		goto fail;
	}
	loaded = true;
	pr_info("thinvisor: ntshim: DriverEntry returned STATUS_SUCCESS; %d import calls, no IRQL violation: %s\n",
		atomic_read(&nt_import_calls),
		atomic_read(&nt_irql_violations) ? "no" : "yes");
	return 0;
fail:
	unhook();
	if (host_mm)
		mmdrop(host_mm);
	host_mm = NULL;
	kfree(driver_object);
	pe_unload(&image);
	return ret;
}

static void __exit ntshim_exit(void)
{
	void *unload = *(void **)(driver_object + NT_DRIVER_UNLOAD_OFFSET);
	struct call c = { .fn = unload, .a1 = (u64)driver_object };

	if (!unload || call_in_system_thread(&c, "unload")) {
		/* The VMM may still run on the image: it must stay. */
		pr_err("thinvisor: ntshim: cannot call DriverUnload: leaving the image mapped\n");
		return;
	}
	loaded = false;
	after_give_back();
	unhook();
	if (nt_report_leaks("after DriverUnload"))
		pr_err("thinvisor: ntshim: DriverUnload left something behind\n");
	pr_info("thinvisor: ntshim: unloaded; %d import calls, %d IRQL violations, %d DbgPrintEx lines\n",
		atomic_read(&nt_import_calls),
		atomic_read(&nt_irql_violations),
		atomic_read(&nt_dbgprint_lines));
	mmdrop(host_mm);
	host_mm = NULL;
	kfree(driver_object);
	pe_unload(&image);
}

module_init(ntshim_init);
module_exit(ntshim_exit);
MODULE_DESCRIPTION("ntshim: runs the Windows build thinvisor.sys in ring 0");
MODULE_LICENSE("Dual MIT/GPL");
