// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * thinvisor and kvm_intel never run together (the why is in coexist.h).
 *
 * Load order matters for the race between the two: thinvisor first
 * registers a module notifier that refuses kvm_intel at MODULE_STATE_COMING
 * (6.1's prepare_coming_module() fails the load with notifier_to_errno()),
 * and only then looks for a kvm_intel that got past that point already:
 * /proc/modules lists every module from COMING on ("Loading"), so no
 * kvm_intel load can slip between the check and the notifier.  A kvm_intel
 * built into the kernel is not in /proc/modules; its /sys/module entry is.
 */
#include <linux/fs.h>
#include <linux/module.h>
#include <linux/mm.h>
#include <linux/namei.h>
#include <linux/notifier.h>
#include <linux/slab.h>
#include "coexist.h"
#include "tv_linux.h"

/* /proc/modules is about 70 bytes a module: room for a few thousand. */
#define TV_MODULES_TEXT_MAX (256 * 1024)

static int tv_module_notify(struct notifier_block *nb, unsigned long action,
			    void *data)
{
	struct module *mod = data;

	if (action != MODULE_STATE_COMING || !tv_is_vmx_owner_module(mod->name))
		return NOTIFY_DONE;
	pr_err("thinvisor: refusing to let %s load while thinvisor runs; unload thinvisor first (rmmod thinvisor)\n",
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

/* 1 when /proc/modules lists kvm_intel, 0 when not, or a negative errno. */
static int vmx_owner_in_proc_modules(void)
{
	struct file *f;
	size_t used = 0;
	loff_t pos = 0;
	ssize_t n;
	char *buf;
	int ret;

	buf = kvmalloc(TV_MODULES_TEXT_MAX, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	f = filp_open("/proc/modules", O_RDONLY, 0);
	if (IS_ERR(f)) {
		kvfree(buf);
		return PTR_ERR(f);
	}
	do {
		n = kernel_read(f, buf + used, TV_MODULES_TEXT_MAX - used, &pos);
		if (n > 0)
			used += n;
	} while (n > 0 && used < TV_MODULES_TEXT_MAX);
	filp_close(f, NULL);
	if (n < 0)
		ret = n;
	else if (used == TV_MODULES_TEXT_MAX)
		ret = -EFBIG;
	else
		ret = tv_modules_text_has_vmx_owner(buf, used);
	kvfree(buf);
	return ret;
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
	int loaded = vmx_owner_in_proc_modules();

	if (loaded < 0) {
		pr_err("thinvisor: refusing to load: cannot tell whether %s is loaded (reading /proc/modules failed: %d)\n",
		       TV_VMX_OWNER_MODULE, loaded);
		return loaded;
	}
	if (loaded) {
		pr_err("thinvisor: refusing to load: %s is loaded; unload it first (rmmod %s), thinvisor then keeps it from loading\n",
		       TV_VMX_OWNER_MODULE, TV_VMX_OWNER_MODULE);
		return TV_LINUX_KVM_ERRNO;
	}
	if (vmx_owner_in_sysfs()) {
		pr_err("thinvisor: refusing to load: %s is built into this kernel\n",
		       TV_VMX_OWNER_MODULE);
		return TV_LINUX_KVM_ERRNO;
	}
	return 0;
}
