// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * The VMM log on Linux: a kernel thread drains the core's lock-free rings
 * into the kernel log every 50 ms.  The level is a module parameter,
 * settable at load (log_level=N) and at run time through
 * /sys/module/thinvisor/parameters/log_level.  The same lines also go
 * to a text FIFO that read() on /dev/thinvisor streams (tvctl log); when
 * no one reads, the FIFO keeps the newest it can and drops the rest.
 *
 * The FIFO has one writer at a time (the drain, under tv_log_fifo_lock)
 * and one reader at a time (tv_log_read_lock): kfifo needs no more for
 * one of each, and kfifo_to_user() may fault and sleep, which a spinlock
 * would not allow.
 */
/* Every kernel-log line of the module starts "thinvisor: ". */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kfifo.h>
#include <linux/instrumentation.h>
#include <linux/kthread.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/wait.h>
#include <linux/moduleparam.h>
#include <linux/printk.h>
#include <linux/sched.h>
#include <linux/sysfs.h>
#include "core/log.h"
#include "status.h"
#include "tv_linux.h"

static struct task_struct *tv_log_task;
static DEFINE_KFIFO(tv_log_fifo, char, 16384);
static DEFINE_SPINLOCK(tv_log_fifo_lock);
static DEFINE_MUTEX(tv_log_read_lock);
/* Set by the panic path: the drain thread leaves the rings to it. */
static bool tv_log_panicking;
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

/* @level (enum tv_log_level) through the kernel's level macros. */
static void tv_printk(int level, const char *fmt, ...)
{
	struct va_format vaf;
	va_list ap;

	va_start(ap, fmt);
	vaf.fmt = fmt;
	vaf.va = &ap;
	switch (level) {
	case TV_LOG_ERR:
		pr_err("%pV", &vaf);
		break;
	case TV_LOG_WARN:
		pr_warn("%pV", &vaf);
		break;
	case TV_LOG_INFO:
		pr_info("%pV", &vaf);
		break;
	default:	/* not pr_debug(): log_level=7 must reach dmesg */
		printk(KERN_DEBUG pr_fmt("%pV"), &vaf);
		break;
	}
	va_end(ap);
}

/* The core's tv_log() (core/platform.h: tv_plat_vlog), outside VMX root. */
void tv_linux_log_core(int level, const char *fmt, va_list ap)
{
	struct va_format vaf;
	va_list copy;

	va_copy(copy, ap);
	vaf.fmt = tv_log_unprefixed(fmt);
	vaf.va = &copy;
	tv_printk(level, "%pV", &vaf);
	va_end(copy);
}

void tv_linux_log_drain(void)
{
	struct tv_log_record rec;
	bool any = false;

	while (!READ_ONCE(tv_log_panicking) && tv_log_read(&rec)) {
		tv_printk(rec.level, "[cpu %u vmm] %s", rec.cpu,
			  tv_log_unprefixed(rec.text));
		fifo_put(&rec);
		any = true;
	}
	if (any)
		wake_up_interruptible(&tv_log_wait);
}

static __printf(1, 2) void panic_printk(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	/* LOGLEVEL_SCHED: store only, take no console lock (printk_deferred). */
	vprintk_emit(0, LOGLEVEL_SCHED, NULL, fmt, ap);
	va_end(ap);
}

/*
 * VMX root, on the way to panic(): the interrupted kernel may hold any
 * lock of this CPU, the FIFO's and the console's included, so the rings
 * go straight to the kernel log buffer at KERN_EMERG and nowhere else.
 */
TV_VMX_ROOT void tv_linux_log_panic_dump(void)
{
	struct tv_log_record rec;

	WRITE_ONCE(tv_log_panicking, true);
	instrumentation_begin();
	while (tv_log_read(&rec))
		panic_printk(KERN_EMERG pr_fmt("[cpu %u vmm] %s"), rec.cpu,
			     tv_log_unprefixed(rec.text));
	instrumentation_end();
}

/*
 * Copy whole lines only, as many as fit in @len (a part of a line when not
 * even one fits): with several readers each line goes whole to one of them.
 * Called with tv_log_read_lock held.
 */
static ssize_t fifo_read_lines(char __user *buf, size_t len)
{
	size_t n, take = 0;
	char *tmp;
	ssize_t ret;

	n = min_t(size_t, len, kfifo_len(&tv_log_fifo));
	tmp = kmalloc(n, GFP_KERNEL);
	if (!tmp)
		return -ENOMEM;
	n = kfifo_out_peek(&tv_log_fifo, tmp, n);
	for (take = n; take && tmp[take - 1] != '\n'; take--)
		;
	if (!take)
		take = n;
	ret = copy_to_user(buf, tmp, take) ? -EFAULT : take;
	if (ret > 0)	/* consume what was copied; kfifo has no skip-n */
		ret = kfifo_out(&tv_log_fifo, tmp, take);
	kfree(tmp);
	return ret;
}

ssize_t tv_linux_log_read(char __user *buf, size_t len, bool nonblock)
{
	ssize_t ret;

	if (!len)
		return 0;
	if (nonblock) {
		if (!mutex_trylock(&tv_log_read_lock))
			return -EAGAIN;
	} else if (mutex_lock_interruptible(&tv_log_read_lock)) {
		return -ERESTARTSYS;
	}
	while (kfifo_is_empty(&tv_log_fifo)) {
		if (nonblock) {
			ret = -EAGAIN;
			goto out;
		}
		/* Wait without the lock, so that other readers wait too. */
		mutex_unlock(&tv_log_read_lock);
		if (wait_event_interruptible(tv_log_wait,
					     !kfifo_is_empty(&tv_log_fifo)))
			return -ERESTARTSYS;
		if (mutex_lock_interruptible(&tv_log_read_lock))
			return -ERESTARTSYS;
	}
	ret = fifo_read_lines(buf, len);
out:
	mutex_unlock(&tv_log_read_lock);
	return ret;
}

static int tv_log_thread(void *arg)
{
	while (!kthread_should_stop()) {
		tv_linux_log_drain();
		/* Extensions' work deferred from VMX root runs here too. */
		tv_linux_ext_run_deferred();
		schedule_timeout_interruptible(msecs_to_jiffies(50));
	}
	tv_linux_log_drain();
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
		pr_warn("%llu VMM log messages were dropped (ring full)\n",
			tv_log_dropped());
	tv_log_fini();
}
