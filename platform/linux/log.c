// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * The VMM log on Linux: a kernel thread drains the core's lock-free rings
 * into the kernel log every 50 ms.  The level is a module parameter,
 * settable at load (log_level=N) and at run time through
 * /sys/module/thinvisor/parameters/log_level.  The same lines also go
 * to a text FIFO that read() on /dev/thinvisor streams (tvctl log); when
 * no one reads, the FIFO keeps the newest it can and drops the rest.
 */
#include <linux/kfifo.h>
#include <linux/kthread.h>
#include <linux/wait.h>
#include <linux/moduleparam.h>
#include <linux/printk.h>
#include <linux/sched.h>
#include <linux/sysfs.h>
#include "core/log.h"
#include "tv_linux.h"

static struct task_struct *tv_log_task;
static DEFINE_KFIFO(tv_log_fifo, char, 16384);
static DEFINE_SPINLOCK(tv_log_fifo_lock);
static DECLARE_WAIT_QUEUE_HEAD(tv_log_wait);

static int log_level_set(const char *val, const struct kernel_param *kp)
{
	int level, ret = kstrtoint(val, 0, &level);

	if (ret)
		return ret;
	if (level < TV_LOG_ERR || level > TV_LOG_DEBUG)
		return -EINVAL;
	tv_log_set_level(level);
	return 0;
}

static int log_level_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%d\n", tv_log_get_level());
}

static const struct kernel_param_ops log_level_ops = {
	.set = log_level_set,
	.get = log_level_get,
};
module_param_cb(log_level, &log_level_ops, NULL, 0644);
MODULE_PARM_DESC(log_level, "VMM log level: 3 err, 4 warn, 6 info, 7 debug");

static void fifo_put(const struct tv_log_record *rec)
{
	char line[TV_LOG_TEXT + 32];
	unsigned long flags;
	int n;

	n = scnprintf(line, sizeof(line), "%u cpu %u %s", rec->level, rec->cpu,
		      rec->text);
	if (n && line[n - 1] != '\n' && n < sizeof(line) - 1)
		line[n++] = '\n';
	spin_lock_irqsave(&tv_log_fifo_lock, flags);
	if (kfifo_avail(&tv_log_fifo) >= n)
		kfifo_in(&tv_log_fifo, line, n);
	spin_unlock_irqrestore(&tv_log_fifo_lock, flags);
}

/* @fatal: print at KERN_EMERG, so that a dump before a panic reaches the
 * console whatever its log level. */
void tv_linux_log_drain(bool fatal)
{
	struct tv_log_record rec;
	bool any = false;

	while (tv_log_read(&rec)) {
		printk("\001%cthinvisor: [cpu %u vmm] %s",
		       fatal ? '0' : '0' + rec.level, rec.cpu, rec.text);
		fifo_put(&rec);
		any = true;
	}
	if (any)
		wake_up_interruptible(&tv_log_wait);
}

ssize_t tv_linux_log_read(char __user *buf, size_t len, bool nonblock)
{
	unsigned int copied;
	int ret;

	for (;;) {
		spin_lock_irq(&tv_log_fifo_lock);
		ret = kfifo_is_empty(&tv_log_fifo) ? -EAGAIN : 0;
		spin_unlock_irq(&tv_log_fifo_lock);
		if (!ret)
			break;
		if (nonblock)
			return -EAGAIN;
		if (wait_event_interruptible(tv_log_wait,
					     !kfifo_is_empty(&tv_log_fifo)))
			return -ERESTARTSYS;
	}
	/* A single reader drains; kfifo_to_user copies without the lock. */
	ret = kfifo_to_user(&tv_log_fifo, buf, len, &copied);
	return ret ? ret : copied;
}

static int tv_log_thread(void *arg)
{
	while (!kthread_should_stop()) {
		tv_linux_log_drain(false);
		schedule_timeout_interruptible(msecs_to_jiffies(50));
	}
	tv_linux_log_drain(false);
	return 0;
}

int tv_linux_log_start(void)
{
	int ret = tv_log_init();

	if (ret)
		return -ENOMEM;
	tv_log_task = kthread_run(tv_log_thread, NULL, "thinvisor-log");
	if (IS_ERR(tv_log_task)) {
		ret = PTR_ERR(tv_log_task);
		tv_log_task = NULL;
		tv_log_fini();
		return ret;
	}
	return 0;
}

void tv_linux_log_stop(void)
{
	if (tv_log_task)
		kthread_stop(tv_log_task);
	tv_log_task = NULL;
	if (tv_log_dropped())
		pr_warn("thinvisor: %llu VMM log messages were dropped (ring full)\n",
			tv_log_dropped());
	tv_log_fini();
}
