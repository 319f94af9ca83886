// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * /dev/thinvisor: status, ping, statistics and the log for tvctl
 * (include/thinvisor/uapi.h); and the same status and statistics as text,
 * read-only, in debugfs: /sys/kernel/debug/thinvisor/{status,stats}.
 */
/* Every kernel-log line of the module starts "thinvisor: ". */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/cpu.h>
#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/kernel.h>
#include <linux/miscdevice.h>
#include <linux/mutex.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include "core/vmm.h"
#include "thinvisor/exit_reasons.h"
#include "core/ext.h"
#include "thinvisor/uapi.h"
#include "status.h"
#include "tv_linux.h"

static int tv_dev_open(struct inode *inode, struct file *file)
{
	return capable(CAP_SYS_ADMIN) ? 0 : -EPERM;
}

static bool cpu_is_possible(u32 cpu, void *ctx)
{
	return cpu_possible(cpu);
}

static long tv_dev_status(void __user *arg)
{
	struct tv_uapi_status st;
	struct tv_uapi_cpu *out;
	struct tv_cpu_status cs;
	u32 *cpus, i;
	long ret = 0;

	if (copy_from_user(&st, arg, sizeof(st)))
		return -EFAULT;
	st.max_cpus = min_t(u32, st.max_cpus, TV_UAPI_STATUS_WINDOW);
	cpus = kcalloc(TV_UAPI_STATUS_WINDOW, sizeof(*cpus), GFP_KERNEL);
	out = kcalloc(TV_UAPI_STATUS_WINDOW, sizeof(*out), GFP_KERNEL);
	if (!cpus || !out) {
		ret = -ENOMEM;
		goto free;
	}
	st.version = (TV_VERSION_MAJOR << 16) | TV_VERSION_MINOR;
	st.cpu_limit = nr_cpu_ids;
	cpus_read_lock();
	mutex_lock(&tv_linux_lock);
	st.ept_bytes = tv_vmm_ept_bytes();
	st.ncpus = tv_status_window(st.first_cpu, st.max_cpus, nr_cpu_ids,
				    cpu_is_possible, NULL, cpus, &st.next_cpu);
	for (i = 0; i < st.ncpus; i++) {
		tv_vmm_cpu_status(cpus[i], &cs);
		out[i].cpu = cpus[i];
		out[i].flags = (cpu_online(cpus[i]) ? TV_CPU_ONLINE : 0) |
			       (cs.virtualized ? TV_CPU_VIRTUALIZED : 0);
		out[i].vpid = cs.vpid;
		out[i].exits = cs.exits;
	}
	mutex_unlock(&tv_linux_lock);
	cpus_read_unlock();
	if (copy_to_user(u64_to_user_ptr(st.cpus), out,
			 st.ncpus * sizeof(*out)) ||
	    copy_to_user(arg, &st, sizeof(st)))
		ret = -EFAULT;
free:
	kfree(out);
	kfree(cpus);
	return ret;
}

static long tv_dev_ping(void __user *arg)
{
	struct tv_uapi_ping p;

	if (copy_from_user(&p, arg, sizeof(p)))
		return -EFAULT;
	if (p.cpu >= nr_cpu_ids)
		return -EINVAL;
	cpus_read_lock();
	mutex_lock(&tv_linux_lock);
	p.result = cpu_online(p.cpu) ?
		tv_linux_errno(tv_vmm_ping(p.cpu)) : -ENODEV;
	mutex_unlock(&tv_linux_lock);
	cpus_read_unlock();
	return copy_to_user(arg, &p, sizeof(p)) ? -EFAULT : 0;
}

static long tv_dev_stats(void __user *arg)
{
	struct tv_exit_stat *stat;
	struct tv_uapi_stats *st;
	unsigned int r;
	long ret = 0;

	st = kzalloc(sizeof(*st), GFP_KERNEL);
	stat = kcalloc(TV_STAT_REASONS, sizeof(*stat), GFP_KERNEL);
	if (!st || !stat) {
		ret = -ENOMEM;
		goto out;
	}
	if (copy_from_user(&st->cpu, arg, sizeof(st->cpu))) {
		ret = -EFAULT;
		goto out;
	}
	if (st->cpu >= nr_cpu_ids) {
		ret = -EINVAL;
		goto out;
	}
	mutex_lock(&tv_linux_lock);
	st->virtualized = tv_vmm_cpu_stats(st->cpu, stat);
	mutex_unlock(&tv_linux_lock);
	for (r = 0; r < TV_STAT_REASONS && r < TV_UAPI_STAT_REASONS; r++) {
		st->count[r] = stat[r].count;
		st->cycles[r] = stat[r].cycles;
	}
	if (copy_to_user(arg, st, sizeof(*st)))
		ret = -EFAULT;
out:
	kfree(stat);
	kfree(st);
	return ret;
}

static long tv_dev_stats_reset(void)
{
	cpus_read_lock();
	mutex_lock(&tv_linux_lock);
	tv_vmm_stats_reset();
	mutex_unlock(&tv_linux_lock);
	cpus_read_unlock();
	return 0;
}

static long tv_dev_extensions(void __user *arg)
{
	struct tv_uapi_extensions *out;
	struct tv_ext_info *info;
	unsigned int i, t;
	long ret = 0;

	BUILD_BUG_ON(TV_UAPI_EXT_EVENTS != TV_EV_COUNT);
	BUILD_BUG_ON(TV_UAPI_EXT_NAME != TV_EXT_NAME_MAX);
	BUILD_BUG_ON(TV_UAPI_EXT_MAX < TV_EXT_MAX);
	out = kzalloc(sizeof(*out), GFP_KERNEL);
	info = kcalloc(TV_EXT_MAX, sizeof(*info), GFP_KERNEL);
	if (!out || !info) {
		ret = -ENOMEM;
		goto free;
	}
	mutex_lock(&tv_linux_lock);
	out->count = tv_ext_core_list(info, TV_EXT_MAX);
	mutex_unlock(&tv_linux_lock);
	out->nevents = TV_UAPI_EXT_EVENTS;
	for (i = 0; i < out->count; i++) {
		memcpy(out->ext[i].name, info[i].name, TV_UAPI_EXT_NAME);
		for (t = 0; t < TV_UAPI_EXT_EVENTS; t++)
			out->ext[i].counts[t] = info[i].counts[t];
	}
	if (copy_to_user(arg, out, sizeof(*out)))
		ret = -EFAULT;
free:
	kfree(info);
	kfree(out);
	return ret;
}

static ssize_t tv_dev_read(struct file *file, char __user *buf, size_t len,
			   loff_t *ppos)
{
	return tv_linux_log_read(buf, len, file->f_flags & O_NONBLOCK);
}

static long tv_dev_ioctl(struct file *file, unsigned int cmd,
			 unsigned long arg)
{
	switch (cmd) {
	case TV_IOC_STATUS:
		return tv_dev_status((void __user *)arg);
	case TV_IOC_PING:
		return tv_dev_ping((void __user *)arg);
	case TV_IOC_STATS:
		return tv_dev_stats((void __user *)arg);
	case TV_IOC_STATS_RESET:
		return tv_dev_stats_reset();
	case TV_IOC_EXTENSIONS:
		return tv_dev_extensions((void __user *)arg);
	default:
		return -ENOTTY;
	}
}

static const struct file_operations tv_dev_fops = {
	.owner = THIS_MODULE,
	.open = tv_dev_open,
	.read = tv_dev_read,
	.unlocked_ioctl = tv_dev_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

static struct miscdevice tv_miscdev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "thinvisor",
	.fops = &tv_dev_fops,
	.mode = 0600,
};

/*
 * debugfs: one line per possible CPU, then one per CPU and exit reason that
 * has exits; columns named in a header line.  Root only, like the device.
 */
static struct dentry *tv_debugfs_dir;

static int tv_debugfs_status_show(struct seq_file *m, void *unused)
{
	struct tv_cpu_status cs;
	unsigned int cpu;

	seq_printf(m, "version %u.%u\n", TV_VERSION_MAJOR, TV_VERSION_MINOR);
	cpus_read_lock();
	mutex_lock(&tv_linux_lock);
	seq_printf(m, "ept_bytes %llu\n", (unsigned long long)tv_vmm_ept_bytes());
	seq_puts(m, "cpu online virtualized vpid exits\n");
	for_each_possible_cpu(cpu) {
		tv_vmm_cpu_status(cpu, &cs);
		seq_printf(m, "%u %d %d %u %llu\n", cpu, cpu_online(cpu),
			   cs.virtualized, cs.vpid,
			   (unsigned long long)cs.exits);
	}
	mutex_unlock(&tv_linux_lock);
	cpus_read_unlock();
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(tv_debugfs_status);

static int tv_debugfs_stats_show(struct seq_file *m, void *unused)
{
	struct tv_exit_stat *stat;
	const char *name;
	unsigned int cpu, r;

	stat = kcalloc(TV_STAT_REASONS, sizeof(*stat), GFP_KERNEL);
	if (!stat)
		return -ENOMEM;
	seq_puts(m, "cpu reason count cycles\n");
	cpus_read_lock();
	mutex_lock(&tv_linux_lock);
	for_each_possible_cpu(cpu) {
		if (!tv_vmm_cpu_stats(cpu, stat))
			continue;
		for (r = 0; r < TV_STAT_REASONS; r++) {
			if (!stat[r].count)
				continue;
			name = tv_exit_reason_name(r);
			if (name)
				seq_printf(m, "%u %s", cpu, name);
			else
				seq_printf(m, "%u REASON_%u", cpu, r);
			seq_printf(m, " %llu %llu\n",
				   (unsigned long long)stat[r].count,
				   (unsigned long long)stat[r].cycles);
		}
	}
	mutex_unlock(&tv_linux_lock);
	cpus_read_unlock();
	kfree(stat);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(tv_debugfs_stats);

/* debugfs is for debugging: failing to create it does not fail the load. */
static void tv_debugfs_create(void)
{
	tv_debugfs_dir = debugfs_create_dir(KBUILD_MODNAME, NULL);
	debugfs_create_file("status", 0400, tv_debugfs_dir, NULL,
			    &tv_debugfs_status_fops);
	debugfs_create_file("stats", 0400, tv_debugfs_dir, NULL,
			    &tv_debugfs_stats_fops);
}

int tv_linux_dev_register(void)
{
	int ret = misc_register(&tv_miscdev);

	if (!ret)
		tv_debugfs_create();
	return ret;
}

void tv_linux_dev_unregister(void)
{
	debugfs_remove_recursive(tv_debugfs_dir);
	tv_debugfs_dir = NULL;
	misc_deregister(&tv_miscdev);
}
