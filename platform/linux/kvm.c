// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * thinvisor and kvm_intel never run together (the why is in coexist.h).
 *
 * Load order matters for the race between the two: thinvisor first
 * registers a module notifier that refuses kvm_intel at MODULE_STATE_COMING
 * (6.1's prepare_coming_module() fails the load with notifier_to_errno()),
 * and only then looks for a kvm_intel that got past that point already.
 * The kernel's module list holds every module from before COMING on, so no
 * kvm_intel load can slip between the check and the notifier; /sys/module
 * would not do, a module appears there only after COMING, and
 * /proc/modules cannot be read from the kernel in 6.1.  A kvm_intel built
 * into the kernel is on no list; its /sys/module entry is there from boot.
 */
/* Every kernel-log line of the module starts "thinvisor: ". */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/namei.h>
#include <linux/notifier.h>
#include <linux/rculist.h>
#include <asm/pgtable_types.h>
#include "coexist.h"
#include "tv_linux.h"

static int tv_module_notify(struct notifier_block *nb, unsigned long action,
			    void *data)
{
	struct module *mod = data;

	if (action != MODULE_STATE_COMING || !tv_is_vmx_owner_module(mod->name))
		return NOTIFY_DONE;
	pr_err("refusing to let %s load while thinvisor runs; unload thinvisor first (rmmod thinvisor)\n",
	       mod->name);
	return notifier_from_errno(TV_LINUX_KVM_ERRNO);
}

static struct notifier_block tv_module_nb = {
	.notifier_call = tv_module_notify,
};

int tv_linux_kvm_guard_start(void)
{
	return register_module_notifier(&tv_module_nb);
}

void tv_linux_kvm_guard_stop(void)
{
	unregister_module_notifier(&tv_module_nb);
}

/*
 * Is kvm_intel on the kernel's module list?  6.1 exports neither
 * find_module() nor the list head, but our own module is on that list:
 * walk it from there, under RCU as the kernel's own readers do, and skip
 * the list head, the one entry outside the module area.
 */
static bool vmx_owner_on_module_list(void)
{
	struct module *mod;
	bool found = false;

	rcu_read_lock();
	/*
	 * The entry form: list_for_each_rcu() would rcu_dereference() ->next
	 * pointers that are not __rcu (sparse's address-space error).  The
	 * list head's "entry" is skipped by address before any use.
	 */
	list_for_each_entry_rcu(mod, &THIS_MODULE->list, list) {
		if ((unsigned long)&mod->list < MODULES_VADDR ||
		    (unsigned long)&mod->list >= MODULES_END)
			continue;
		if (READ_ONCE(mod->state) != MODULE_STATE_UNFORMED &&
		    tv_is_vmx_owner_module(mod->name)) {
			found = true;
			break;
		}
	}
	rcu_read_unlock();
	return found;
}

static bool vmx_owner_in_sysfs(void)
{
	struct path path;

	if (kern_path("/sys/module/" TV_VMX_OWNER_MODULE, 0, &path))
		return false;
	path_put(&path);
	return true;
}

int tv_linux_kvm_check(void)
{
	if (vmx_owner_on_module_list()) {
		pr_err("refusing to load: %s is loaded; unload it first (rmmod %s), thinvisor then keeps it from loading\n",
		       TV_VMX_OWNER_MODULE, TV_VMX_OWNER_MODULE);
		return TV_LINUX_KVM_ERRNO;
	}
	if (vmx_owner_in_sysfs()) {
		pr_err("refusing to load: %s is built into this kernel\n",
		       TV_VMX_OWNER_MODULE);
		return TV_LINUX_KVM_ERRNO;
	}
	return 0;
}
