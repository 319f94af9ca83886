// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * tvguardvictim: the attacks tvguard must see (tests/e2e/guest/tests/
 * 71-tvguard.sh).  Each is triggered by writing the CPU to run it on to a
 * parameter, and leaves one line in the "result" parameter:
 *
 *   text=CPU       store ~byte into a kernel text page through a writable
 *                  alias (vmap of its struct page, PAGE_KERNEL), so the
 *                  kernel's own page protection does not stop it first;
 *                  read the byte back through the kernel's mapping, put it
 *                  back if it changed: "text before=.. after=.. rip=.."
 *   text_same=CPU  the same, storing the byte that is already there
 *                  (harmless even unguarded: for mode=report)
 *   lstar=CPU      WRMSR LSTAR with a bogus value (wrmsrl_safe: a #GP is
 *                  caught), read it back, restore it if it changed
 *   smep=CPU       MOV to CR4 without SMEP, read CR4 back, restore; irqs
 *                  off throughout
 *   wp=CPU         the same for CR0.WP
 *
 * rip= is the address of the storing (or MOV) instruction, which tvguard
 * must log.  The target byte is the first of sprint_symbol_build_id(),
 * a kernel function only stack dumps with build ids call.
 */
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/kallsyms.h>
#include <linux/vmalloc.h>
#include <linux/mm.h>
#include <linux/workqueue.h>
#include <linux/cpu.h>
#include <asm/msr.h>
#include <asm/special_insns.h>
#include <asm/processor-flags.h>

#define BOGUS_LSTAR 0xffffffff8badf00dULL

static char result[256];
module_param_string(result, result, sizeof(result), 0444);
MODULE_PARM_DESC(result, "what the last attack saw");

/* Labels of the attacking instructions (in the asm below): their RIPs. */
extern char tvgv_store[], tvgv_cr4[], tvgv_cr0[];

static noinline int text_attack(bool same)
{
	unsigned long target = (unsigned long)sprint_symbol_build_id;
	struct page *page = virt_to_page(__va(__pa_symbol(target)));
	u8 before, after, value;
	void *alias;
	u8 *p;

	alias = vmap(&page, 1, VM_MAP, PAGE_KERNEL);
	if (!alias)
		return -ENOMEM;
	p = alias + offset_in_page(target);
	before = READ_ONCE(*(u8 *)target);
	value = same ? before : (u8)~before;
	asm volatile("tvgv_store: movb %1, (%0)"
		     : : "r"(p), "q"(value) : "memory");
	after = READ_ONCE(*(u8 *)target);
	if (after != before)
		asm volatile("movb %1, (%0)" : : "r"(p), "q"(before) : "memory");
	vunmap(alias);
	snprintf(result, sizeof(result),
		 "text cpu=%d before=0x%02x after=0x%02x rip=0x%lx",
		 smp_processor_id(), before, after, (unsigned long)tvgv_store);
	return 0;
}

static int text_fn(void)
{
	return text_attack(false);
}

static int text_same_fn(void)
{
	return text_attack(true);
}

static int lstar_fn(void)
{
	unsigned long flags;
	u64 before, after;
	int err;

	local_irq_save(flags);
	rdmsrl(MSR_LSTAR, before);
	err = wrmsrl_safe(MSR_LSTAR, BOGUS_LSTAR);
	rdmsrl(MSR_LSTAR, after);
	if (after != before)
		wrmsrl(MSR_LSTAR, before);
	local_irq_restore(flags);
	snprintf(result, sizeof(result),
		 "lstar cpu=%d before=0x%llx after=0x%llx err=%d",
		 smp_processor_id(), before, after, err);
	return 0;
}

static int smep_fn(void)
{
	unsigned long flags, before, after;

	local_irq_save(flags);
	before = native_read_cr4();
	asm volatile("tvgv_cr4: mov %0, %%cr4"
		     : : "r"(before & ~X86_CR4_SMEP) : "memory");
	after = native_read_cr4();
	if (after != before)
		asm volatile("mov %0, %%cr4" : : "r"(before) : "memory");
	local_irq_restore(flags);
	snprintf(result, sizeof(result),
		 "smep cpu=%d before=0x%lx after=0x%lx rip=0x%lx",
		 smp_processor_id(), before, after, (unsigned long)tvgv_cr4);
	return 0;
}

static int wp_fn(void)
{
	unsigned long flags, before, after;

	local_irq_save(flags);
	before = native_read_cr0();
	asm volatile("tvgv_cr0: mov %0, %%cr0"
		     : : "r"(before & ~X86_CR0_WP) : "memory");
	after = native_read_cr0();
	if (after != before)
		asm volatile("mov %0, %%cr0" : : "r"(before) : "memory");
	local_irq_restore(flags);
	snprintf(result, sizeof(result),
		 "wp cpu=%d before=0x%lx after=0x%lx rip=0x%lx",
		 smp_processor_id(), before, after, (unsigned long)tvgv_cr0);
	return 0;
}

struct attack {
	int (*fn)(void);
};

static struct attack a_text = { text_fn }, a_text_same = { text_same_fn };
static struct attack a_lstar = { lstar_fn }, a_smep = { smep_fn };
static struct attack a_wp = { wp_fn };

static long run_attack(void *arg)
{
	return ((struct attack *)arg)->fn();
}

static int set_attack(const char *val, const struct kernel_param *kp)
{
	unsigned int cpu;
	long ret;

	if (kstrtouint(val, 0, &cpu))
		return -EINVAL;
	cpus_read_lock();
	ret = cpu_online(cpu) ? work_on_cpu(cpu, run_attack, kp->arg) :
		-ENODEV;
	cpus_read_unlock();
	return ret;
}

static const struct kernel_param_ops attack_ops = { .set = set_attack };
module_param_cb(text, &attack_ops, &a_text, 0200);
MODULE_PARM_DESC(text, "write CPU: store a changed byte into kernel text");
module_param_cb(text_same, &attack_ops, &a_text_same, 0200);
MODULE_PARM_DESC(text_same, "write CPU: store the same byte into kernel text");
module_param_cb(lstar, &attack_ops, &a_lstar, 0200);
MODULE_PARM_DESC(lstar, "write CPU: WRMSR LSTAR with a bogus value");
module_param_cb(smep, &attack_ops, &a_smep, 0200);
MODULE_PARM_DESC(smep, "write CPU: clear CR4.SMEP");
module_param_cb(wp, &attack_ops, &a_wp, 0200);
MODULE_PARM_DESC(wp, "write CPU: clear CR0.WP");

static int __init victim_init(void)
{
	return 0;
}

static void __exit victim_exit(void)
{
}

module_init(victim_init);
module_exit(victim_exit);
MODULE_LICENSE("Dual MIT/GPL");
MODULE_DESCRIPTION("thinvisor e2e: attacks for tvguard to catch");
