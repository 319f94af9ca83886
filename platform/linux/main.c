// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * thinvisor Linux host: load slides every online CPU under the VMM (through
 * a CPU-hotplug state, so CPUs that come online later follow, and CPUs about
 * to go offline are given back first: no INIT reaches a virtualized CPU);
 * suspend, hibernate and reboot give every CPU back first and take them again
 * on return; unload gives everything back.
 */
/* Every kernel-log line of the module starts "thinvisor: ". */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/init.h>
#include <linux/cpu.h>
#include <linux/cpuhotplug.h>
#include <linux/mutex.h>
#include <linux/reboot.h>
#include <linux/suspend.h>
#include "core/types.h"
#include "core/vmm.h"
#include "core/platform.h"
#include "core/ext.h"
#include "arch/x86/cpu.h"
#include "arch/x86/vmx.h"
#include "tv_linux.h"

/* Host-specific fault-injection steps (after the core's). */
enum {
	TV_FAULT_HOST_LOG = TV_FAULT_HOST_FIRST,
	TV_FAULT_HOST_PGD,
	TV_FAULT_DEVICE,
	TV_FAULT_PM_NOTIFIER,
	TV_FAULT_REBOOT_NOTIFIER,
	TV_FAULT_CPUHP,
	TV_FAULT_MODULE_NOTIFIER,
};

DEFINE_MUTEX(tv_linux_lock);
static enum cpuhp_state tv_cpuhp_state;
static bool tv_suspended;
/* Set while load virtualizes the CPUs: then one failure fails the load. */
static bool tv_loading;

/*
 * Each load refusal has an errno of its own, so that insmod's message
 * alone tells them apart (the table is in README.md); the kernel log line
 * names the reason.  The one load refusal with -EBUSY is kvm_intel's
 * (TV_LINUX_KVM_ERRNO).
 */
int tv_linux_errno(int err)
{
	switch (err) {
	case TV_OK:
		return 0;
	case TV_ERR_NOT_INTEL:
		return -ENODEV;
	case TV_ERR_NO_VMX:
		return -EOPNOTSUPP;
	case TV_ERR_VMX_CAPS:
		return -EPROTONOSUPPORT;
	case TV_ERR_EPT_CAPS:
		return -ENXIO;
	case TV_ERR_ALREADY_RUNNING:
		return -EEXIST;
	case TV_ERR_VMX_BUSY:
		return -EALREADY;
	case TV_ERR_BUSY:	/* ping and give-back, never a load refusal */
		return -EBUSY;
	case TV_ERR_VMX_DISABLED:
		return -EPERM;
	case TV_ERR_NO_MEMORY:
		return -ENOMEM;
	case TV_ERR_FAULT_INJECTED:
		return -ECANCELED;
	case TV_ERR_INVALID:
		return -EINVAL;
	case TV_ERR_EXISTS:
		return -EEXIST;
	case TV_ERR_NO_SPACE:
		return -ENOSPC;
	case TV_ERR_UNSUPPORTED:
		return -EOPNOTSUPP;
	default:
		return -EIO;
	}
}

/*
 * At load a CPU that cannot be virtualized fails the load (cpuhp gives the
 * others back).  Later, a CPU that comes online but cannot be virtualized
 * stays online without thinvisor: failing the callback would abort the
 * online, and a machine short of a CPU is worse than one CPU running bare.
 * tvctl status shows it; taking it offline and online again retries.
 */
static int tv_cpu_online(unsigned int cpu)
{
	int err = TV_OK;
	bool loading;

	mutex_lock(&tv_linux_lock);
	loading = tv_loading;
	if (!tv_suspended)
		err = tv_vmm_cpu_up(cpu);
	mutex_unlock(&tv_linux_lock);
	tv_linux_pt_catch_up(cpu);
	if (err == TV_OK || loading)
		return tv_linux_errno(err);
	pr_warn("CPU %u is online but not virtualized: %s (%d); offline and online it to retry\n",
		cpu, tv_err_name(err), tv_linux_errno(err));
	return 0;
}

#ifdef TV_FAULT_INJECTION
/*
 * Test builds: let a CPU go offline still virtualized, so that the INIT
 * and SIPI that bring it back online reach the VMM (core/exit.c).
 */
static bool test_keep_offline;
module_param(test_keep_offline, bool, 0644);
MODULE_PARM_DESC(test_keep_offline, "test builds: do not give back CPUs going offline");
/* Test builds: make the VMM see RDMSR of this MSR (the benchmark's
 * intercepted-RDMSR round trip).
 */
static uint test_intercept_msr;
module_param(test_intercept_msr, uint, 0444);
MODULE_PARM_DESC(test_intercept_msr, "test builds: intercept RDMSR of this MSR");
/* Test builds: idle exits (HLT, MWAIT), which nothing handles: the
 * panic-path test.
 */
static bool test_unhandled_exit;
module_param(test_unhandled_exit, bool, 0444);
MODULE_PARM_DESC(test_unhandled_exit, "test builds: exit on HLT/MWAIT and stop the machine");

/*
 * Test builds: some of the pages thinvisor keeps from the guest (the
 * self-protection test reads and writes them).
 */
static int test_protected_get(char *buf, const struct kernel_param *kp)
{
	u64 pa[8];
	unsigned int n, i;
	int len = 0;

	mutex_lock(&tv_linux_lock);
	n = tv_ext_core_protected(pa, ARRAY_SIZE(pa));
	mutex_unlock(&tv_linux_lock);
	for (i = 0; i < n; i++)
		len += sysfs_emit_at(buf, len, "%s0x%llx", i ? " " : "", pa[i]);
	return len + sysfs_emit_at(buf, len, "\n");
}

static const struct kernel_param_ops test_protected_ops = {
	.get = test_protected_get,
};
module_param_cb(test_protected, &test_protected_ops, NULL, 0400);
MODULE_PARM_DESC(test_protected, "test builds: physical addresses of pages the guest cannot reach");
#else
static const bool test_keep_offline;
static const uint test_intercept_msr;
static const bool test_unhandled_exit;
#endif

/*
 * A guest triple fault shuts the CPU down and resets the machine, as on
 * bare metal; this debug option dumps the guest state and panics instead.
 */
static bool triple_fault_panic;
module_param(triple_fault_panic, bool, 0444);
MODULE_PARM_DESC(triple_fault_panic,
		 "debug: on a guest triple fault dump the guest state and panic instead of resetting");

/* Statistics with the TSC cycles of every exit, not only the counts. */
static bool stat_cycles;
module_param(stat_cycles, bool, 0444);
MODULE_PARM_DESC(stat_cycles,
		 "time every exit in the statistics (slower exits: two RDTSCs each, no fast path)");

static int tv_cpu_offline(unsigned int cpu)
{
	if (READ_ONCE(test_keep_offline))
		return 0;
	mutex_lock(&tv_linux_lock);
	tv_vmm_cpu_down(cpu);
	mutex_unlock(&tv_linux_lock);
	tv_linux_pt_catch_up(cpu);
	return 0;
}

/*
 * Give every CPU back and keep CPUs that come online from being taken
 * until tv_take_all_again(): for suspend, hibernation and shutdown.
 */
static void tv_give_back_all(void)
{
	cpus_read_lock();
	mutex_lock(&tv_linux_lock);
	tv_suspended = true;
	tv_vmm_down_all();
	mutex_unlock(&tv_linux_lock);
	tv_linux_pt_catch_up(-1);
	cpus_read_unlock();
}

static void tv_take_all_again(void)
{
	unsigned int cpu;
	int ret;

	cpus_read_lock();
	mutex_lock(&tv_linux_lock);
	tv_suspended = false;
	for_each_online_cpu(cpu) {
		ret = tv_vmm_cpu_up(cpu);
		if (ret)
			pr_err("CPU %u not taken again after resume: %s\n",
			       cpu, tv_err_name(ret));
	}
	mutex_unlock(&tv_linux_lock);
	tv_linux_pt_catch_up(-1);
	cpus_read_unlock();
}

static int tv_pm_notify(struct notifier_block *nb, unsigned long action,
			void *data)
{
	switch (action) {
	case PM_SUSPEND_PREPARE:
	case PM_HIBERNATION_PREPARE:
	case PM_RESTORE_PREPARE:
		tv_give_back_all();
		pr_info("gave every CPU back for suspend\n");
		break;
	case PM_POST_SUSPEND:
	case PM_POST_HIBERNATION:
	case PM_POST_RESTORE:
		tv_take_all_again();
		pr_info("took the CPUs again after resume\n");
		break;
	}
	return NOTIFY_DONE;
}

static struct notifier_block tv_pm_nb = { .notifier_call = tv_pm_notify };

static int tv_reboot_notify(struct notifier_block *nb, unsigned long action,
			    void *data)
{
	/* Never hand a virtualized CPU to firmware or a kexec'd kernel. */
	tv_give_back_all();
	return NOTIFY_DONE;
}

static struct notifier_block tv_reboot_nb = {
	.notifier_call = tv_reboot_notify,
};

static int __init thinvisor_init(void)
{
	u64 t0;
	int ret;

	/* Keep kvm_intel out first, then look for one already in. */
	ret = tv_plat_fault(TV_FAULT_MODULE_NOTIFIER) ? -ECANCELED :
		tv_linux_kvm_guard_start();
	if (ret) {
		pr_err("cannot register the module notifier (%d)\n",
		       ret);
		return ret;
	}
	ret = tv_linux_kvm_check();
	if (ret)
		goto err_guard;
	ret = tv_plat_fault(TV_FAULT_HOST_LOG) ? -ECANCELED :
		tv_linux_log_start();
	if (ret) {
		pr_err("cannot start the VMM log (%d)\n", ret);
		goto err_guard;
	}
	tv_vmm_set_triple_fault_panic(triple_fault_panic);
	tv_vmm_set_stat_cycles(stat_cycles);
	ret = tv_linux_errno(tv_vmm_init());
	if (ret)
		goto err_log;
	if (test_intercept_msr)
		tv_vmm_intercept_msr(test_intercept_msr, true, false);
	if (test_unhandled_exit)
		tv_vmm_request_exits(PROC_HLT_EXITING | PROC_MWAIT_EXITING);
	ret = tv_plat_fault(TV_FAULT_HOST_PGD) ? -ECANCELED :
		tv_linux_host_cr3_init();
	if (ret) {
		pr_err("cannot find the kernel's page-table root (%d)\n",
		       ret);
		goto err_vmm;
	}
	ret = tv_plat_fault(TV_FAULT_DEVICE) ? -ECANCELED :
		tv_linux_dev_register();
	if (ret) {
		pr_err("cannot register /dev/thinvisor (%d)\n", ret);
		goto err_vmm;
	}
	ret = tv_plat_fault(TV_FAULT_PM_NOTIFIER) ? -ECANCELED :
		register_pm_notifier(&tv_pm_nb);
	if (ret) {
		pr_err("cannot register the PM notifier (%d)\n", ret);
		goto err_dev;
	}
	ret = tv_plat_fault(TV_FAULT_REBOOT_NOTIFIER) ? -ECANCELED :
		register_reboot_notifier(&tv_reboot_nb);
	if (ret) {
		pr_err("cannot register the reboot notifier (%d)\n",
		       ret);
		goto err_pm;
	}
	/* Runs tv_cpu_online() on every online CPU; undoes them on failure. */
	t0 = tv_rdtsc();
	mutex_lock(&tv_linux_lock);
	tv_loading = true;
	mutex_unlock(&tv_linux_lock);
	ret = tv_plat_fault(TV_FAULT_CPUHP) ? -ECANCELED :
		cpuhp_setup_state(CPUHP_AP_ONLINE_DYN, "thinvisor:online",
				  tv_cpu_online, tv_cpu_offline);
	mutex_lock(&tv_linux_lock);
	tv_loading = false;
	mutex_unlock(&tv_linux_lock);
	if (ret < 0) {
		pr_err("could not virtualize every CPU (%d)\n", ret);
		goto err_reboot;
	}
	tv_cpuhp_state = ret;
	pr_info("%u CPUs virtualized in %llu TSC ticks\n",
		num_online_cpus(), tv_rdtsc() - t0);
	return 0;

err_reboot:
	unregister_reboot_notifier(&tv_reboot_nb);
err_pm:
	unregister_pm_notifier(&tv_pm_nb);
err_dev:
	tv_linux_dev_unregister();
err_vmm:
	tv_vmm_fini();
err_log:
	tv_linux_log_stop();
err_guard:
	tv_linux_kvm_guard_stop();
	return ret;
}

static void __exit thinvisor_exit(void)
{
	u64 t0 = tv_rdtsc();

	/* Gives every online CPU back through tv_cpu_offline(). */
	cpuhp_remove_state(tv_cpuhp_state);
	pr_info("every CPU given back in %llu TSC ticks\n",
		tv_rdtsc() - t0);
	unregister_reboot_notifier(&tv_reboot_nb);
	unregister_pm_notifier(&tv_pm_nb);
	tv_linux_dev_unregister();
	mutex_lock(&tv_linux_lock);
	tv_vmm_fini();
	mutex_unlock(&tv_linux_lock);
	tv_linux_log_stop();
	/* Every CPU is given back: kvm_intel may load from now on. */
	tv_linux_kvm_guard_stop();
	pr_info("unloaded\n");
}

module_init(thinvisor_init);
module_exit(thinvisor_exit);
MODULE_LICENSE("Dual MIT/GPL");
MODULE_DESCRIPTION("thinvisor: a thin VT-x hypervisor that slides under the running kernel");
MODULE_AUTHOR("thinvisor developers");
/* From the top-level VERSION file (Kbuild), shared with tvctl and packages. */
MODULE_VERSION(TV_VERSION_STRING);
