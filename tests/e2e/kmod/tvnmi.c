// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * tvnmi: NMI IPIs counted from sender to handler, to prove that every NMI
 * reaches the OS whatever the target CPU is doing (guest code, VMX root,
 * thinvisor's launch or give-back).
 *
 * Parameters (/sys/module/tvnmi/parameters/):
 *   run       write-only: writing N sends N NMIs to every other online CPU.
 *             One NMI at a time per target: the next is sent only after the
 *             target's handler saw the previous one, or after a bounded wait
 *             (TVNMI_WAIT_MS), so that no two of them can coalesce in the
 *             CPU and a missing one is really lost.  Concurrent writers take
 *             turns.
 *   sent      NMIs sent so far (all runs, all CPUs)
 *   received  NMIs the handler claimed so far
 *   lost      sent NMIs whose arrival wait timed out
 *   ip_range  write "START LEN" (e.g. thinvisor's range from /proc/modules),
 *             "0 0" to clear: a diagnostic, counted in in_range
 *   in_range  received NMIs that interrupted code in ip_range.  With
 *             ip_range on the hypervisor module, these NMIs landed in VMX
 *             root and the kernel's handler ran there, on the VMM's stack
 *             and page tables, rather than being held for the guest.
 *
 * The handler sits on the NMI_LOCAL chain and claims only NMIs it expects
 * (a per-CPU count of NMIs sent and not yet seen); anything else is left
 * to the rest of the kernel's NMI handling.
 */
#include <linux/atomic.h>
#include <linux/cpu.h>
#include <linux/kernel.h>
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/sched.h>
#include <linux/smp.h>
#include <asm/apic.h>
#include <asm/irq_vectors.h>
#include <asm/nmi.h>
#include <asm/processor.h>

/* How long one NMI may take to arrive before it counts as lost. */
#define TVNMI_WAIT_MS 100

/* NMIs sent to a CPU that its handler has not seen yet. */
static DEFINE_PER_CPU(atomic_t, tvnmi_pending);
static atomic_long_t tvnmi_sent, tvnmi_received, tvnmi_lost, tvnmi_in_range;
static unsigned long tvnmi_range_start, tvnmi_range_end;
/* One sender at a time: two would put two NMIs in flight to one CPU. */
static DEFINE_MUTEX(tvnmi_run_lock);
static bool tvnmi_stopping;

static int tvnmi_handler(unsigned int type, struct pt_regs *regs)
{
	if (atomic_dec_if_positive(this_cpu_ptr(&tvnmi_pending)) < 0)
		return NMI_DONE;	/* not ours */
	atomic_long_inc(&tvnmi_received);
	if (regs->ip >= READ_ONCE(tvnmi_range_start) &&
	    regs->ip < READ_ONCE(tvnmi_range_end))
		atomic_long_inc(&tvnmi_in_range);
	return NMI_HANDLED;
}

/*
 * Wait until @cpu's handler has seen the NMI just sent to it.  The clock
 * is the clocksource, not jiffies: the target may be the CPU that
 * advances jiffies.
 */
static void tvnmi_wait(unsigned int cpu)
{
	atomic_t *pending = per_cpu_ptr(&tvnmi_pending, cpu);
	u64 deadline = ktime_get_ns() + TVNMI_WAIT_MS * NSEC_PER_MSEC;

	while (atomic_read(pending) > 0) {
		if (ktime_get_ns() > deadline) {
			/*
			 * Take the NMI back unless the handler got it in
			 * the meantime; one that arrives later is then
			 * left to the kernel.
			 */
			if (atomic_dec_if_positive(pending) >= 0)
				atomic_long_inc(&tvnmi_lost);
			return;
		}
		cpu_relax();
	}
}

static void tvnmi_send_round(void)
{
	unsigned int cpu;

	for_each_online_cpu(cpu) {
		/* Never to ourselves: pin the sender while it sends. */
		if (cpu == get_cpu()) {
			put_cpu();
			continue;
		}
		atomic_inc(per_cpu_ptr(&tvnmi_pending, cpu));
		atomic_long_inc(&tvnmi_sent);
		apic->send_IPI(cpu, NMI_VECTOR);
		put_cpu();
		tvnmi_wait(cpu);
	}
}

static int tvnmi_run_set(const char *val, const struct kernel_param *kp)
{
	unsigned int n, i;
	int ret;

	ret = kstrtouint(val, 0, &n);
	if (ret)
		return ret;
	mutex_lock(&tvnmi_run_lock);
	/* The online mask must not change under a round. */
	cpus_read_lock();
	for (i = 0; i < n && !READ_ONCE(tvnmi_stopping); i++) {
		tvnmi_send_round();
		cond_resched();
	}
	cpus_read_unlock();
	mutex_unlock(&tvnmi_run_lock);
	return 0;
}

static const struct kernel_param_ops tvnmi_run_ops = {
	.set = tvnmi_run_set,
};
module_param_cb(run, &tvnmi_run_ops, NULL, 0200);
MODULE_PARM_DESC(run, "write N: send N NMIs to every other online CPU");

static int tvnmi_range_set(const char *val, const struct kernel_param *kp)
{
	unsigned long start, len;

	if (sscanf(val, "%lx %lx", &start, &len) != 2 || start + len < start)
		return -EINVAL;
	/* Empty first, so that a half-updated range counts nothing. */
	WRITE_ONCE(tvnmi_range_end, 0);
	WRITE_ONCE(tvnmi_range_start, start);
	WRITE_ONCE(tvnmi_range_end, start + len);
	return 0;
}

static const struct kernel_param_ops tvnmi_range_ops = {
	.set = tvnmi_range_set,
};
module_param_cb(ip_range, &tvnmi_range_ops, NULL, 0200);
MODULE_PARM_DESC(ip_range, "write \"START LEN\" (hex): count NMIs interrupting that code");

static int tvnmi_count_get(char *buf, const struct kernel_param *kp)
{
	return scnprintf(buf, PAGE_SIZE, "%lu\n",
			 (unsigned long)atomic_long_read(kp->arg));
}

static const struct kernel_param_ops tvnmi_count_ops = {
	.get = tvnmi_count_get,
};
module_param_cb(sent, &tvnmi_count_ops, &tvnmi_sent, 0444);
MODULE_PARM_DESC(sent, "NMIs sent");
module_param_cb(received, &tvnmi_count_ops, &tvnmi_received, 0444);
MODULE_PARM_DESC(received, "NMIs the handler claimed");
module_param_cb(lost, &tvnmi_count_ops, &tvnmi_lost, 0444);
MODULE_PARM_DESC(lost, "NMIs that did not arrive within the wait");
module_param_cb(in_range, &tvnmi_count_ops, &tvnmi_in_range, 0444);
MODULE_PARM_DESC(in_range, "received NMIs that interrupted code in ip_range");

static int __init tvnmi_init(void)
{
	return register_nmi_handler(NMI_LOCAL, tvnmi_handler, 0, "tvnmi");
}

static void __exit tvnmi_exit(void)
{
	/*
	 * Module parameters stay writable until after this returns: stop a
	 * run in progress and wait for it before the handler goes.
	 */
	WRITE_ONCE(tvnmi_stopping, true);
	mutex_lock(&tvnmi_run_lock);
	mutex_unlock(&tvnmi_run_lock);
	/* Waits until no CPU runs the handler any more. */
	unregister_nmi_handler(NMI_LOCAL, "tvnmi");
	pr_info("tvnmi: sent %lu received %lu lost %lu\n",
		(unsigned long)atomic_long_read(&tvnmi_sent),
		(unsigned long)atomic_long_read(&tvnmi_received),
		(unsigned long)atomic_long_read(&tvnmi_lost));
}

module_init(tvnmi_init);
module_exit(tvnmi_exit);
MODULE_LICENSE("Dual MIT/GPL");
MODULE_DESCRIPTION("thinvisor e2e: NMI IPIs sent and received, counted");
