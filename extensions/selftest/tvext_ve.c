// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * tvext_ve: page violations delivered to the guest as virtualization
 * exceptions (#VE, tv_ext_page_set_ve()), seen from both sides: this
 * module is the extension and the guest's #VE handler at once.
 *
 * Linux has no #VE handler outside TDX guests, so each check runs on one
 * CPU with interrupts off under a private copy of the IDT whose vector
 * 20 leads to ve_handler below; the kernel's IDT is back before
 * interrupts are.  A probe page of our own has no access at all in a view
 * of ours and is marked for #VE there.  The handler records what the CPU
 * wrote into this CPU's information area, frees the area (busy word 0)
 * and switches back to view 0 with VMFUNC leaf 0, without an exit, then
 * IRETQ retries the read, which succeeds in view 0.  The extension also
 * asks for TV_EV_PAGE_ACCESS: an access that exits instead counts in
 * exits_seen and is let through in view 0 (TV_EXT_RETRY).
 *
 * Results: /sys/module/tvext_ve/parameters/results, one "NAME PASS|FAIL
 * detail" line each (tests/e2e/guest/tests/70-ve.sh).
 */
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mm.h>
#include <linux/gfp.h>
#include <linux/smp.h>
#include <linux/atomic.h>
#include <linux/cpu.h>
#include <linux/workqueue.h>
#include <linux/objtool.h>
#include <asm/desc.h>
#include <asm/io.h>
#include "thinvisor/extension.h"

#define VE_VECTOR 20
#define PROBE_VALUE 0x7665766576657665ULL	/* "vevevEve" */

static char results[2000];
module_param_string(results, results, sizeof(results), 0444);
MODULE_PARM_DESC(results, "one line per check: NAME PASS|FAIL detail");

/* What the handler saw (written with interrupts off on one CPU). */
struct ve_seen {
	u64 qualification, gla, gpa, view, reason, rip, count;
};
static struct ve_seen tvve_seen __used;
static struct tv_ve_info *tvve_area __used;	/* this CPU's */

static atomic_t exits_seen;
static u64 *probe;
static u64 probe_gpa;
static int view;
static gate_desc *private_idt;

static void report(const char *name, bool ok, const char *fmt, ...)
{
	size_t len = strlen(results);
	va_list ap;

	if (len + 240 > sizeof(results))
		return;
	len += scnprintf(results + len, sizeof(results) - len, "%s %s ",
			 name, ok ? "PASS" : "FAIL");
	va_start(ap, fmt);
	len += vscnprintf(results + len, sizeof(results) - len, fmt, ap);
	va_end(ap);
	scnprintf(results + len, sizeof(results) - len, "\n");
}

/*
 * Vector 20: no error code.  Copy the information area, free it, leave
 * the view that forbids the access (VMFUNC 0, ECX 0: view 0, no exit)
 * and return to the faulting read, which runs again.
 */
asm(".pushsection .text.tvve, \"ax\"\n"
    ".balign 16\n"
    ".type tvve_handler, @function\n"
    "tvve_handler:\n"
    "	push %rax\n"
    "	push %rcx\n"
    "	push %rdx\n"
    "	mov tvve_area(%rip), %rax\n"
    "	mov 8(%rax), %rcx\n"
    "	mov %rcx, tvve_seen+0(%rip)\n"
    "	mov 16(%rax), %rcx\n"
    "	mov %rcx, tvve_seen+8(%rip)\n"
    "	mov 24(%rax), %rcx\n"
    "	mov %rcx, tvve_seen+16(%rip)\n"
    "	movzwl 32(%rax), %ecx\n"
    "	mov %rcx, tvve_seen+24(%rip)\n"
    "	mov 0(%rax), %ecx\n"
    "	mov %rcx, tvve_seen+32(%rip)\n"
    "	mov 24(%rsp), %rcx\n"		/* the interrupted RIP */
    "	mov %rcx, tvve_seen+40(%rip)\n"
    "	incq tvve_seen+48(%rip)\n"
    "	movl $0, 4(%rax)\n"		/* free the area */
    "	xor %eax, %eax\n"
    "	xor %ecx, %ecx\n"
    "	.byte 0x0f, 0x01, 0xd4\n"	/* VMFUNC */
    "	pop %rdx\n"
    "	pop %rcx\n"
    "	pop %rax\n"
    "	iretq\n"
    ".size tvve_handler, . - tvve_handler\n"
    ".popsection\n");
void tvve_handler(void);
/* An exception handler, not a function objtool could follow. */
STACK_FRAME_NON_STANDARD(tvve_handler);

static noinstr enum tv_ext_reply ve_event(struct tv_ext *ext,
					  struct tv_ext_event *ev)
{
	if (ev->type != TV_EV_PAGE_ACCESS ||
	    (ev->page.gpa & ~0xfffULL) != probe_gpa)
		return TV_EXT_CONTINUE;
	/* It exited: let it through in view 0. */
	arch_atomic_inc(&exits_seen);
	tv_ext_view_switch(TV_VIEW_DEFAULT);
	return TV_EXT_RETRY;
}

static struct tv_ext ext = {
	.name = "vetest",
	.api_version = TV_EXT_API_VERSION,
	.owner = THIS_MODULE,
	.event = ve_event,
};

static noinstr int switch_view(struct tv_ext *e, void *arg)
{
	return tv_ext_view_switch((int)(long)arg);
}

struct probe_run {
	bool vmfunc;		/* into the view with VMFUNC, else from root */
	bool busy;		/* the area marked busy before the read */
	unsigned int cpu;	/* out: where it ran */
	u64 val;		/* out: what the read gave */
	int exits;		/* out: exits it caused */
	struct ve_seen seen;	/* out: what the handler saw */
};

/*
 * Read the probe page once, in our view, under the private IDT, with
 * interrupts off; every CPU is back in view 0 after.  Sleepable.
 */
static long probe_read(void *arg)
{
	struct probe_run *r = arg;
	struct desc_ptr kernel_idt, ours;
	unsigned long flags;
	int exits = atomic_read(&exits_seen);

	memset(&tvve_seen, 0, sizeof(tvve_seen));
	if (!r->vmfunc)
		tv_ext_run_on_cpus(&ext, switch_view, (void *)(long)view);
	local_irq_save(flags);
	r->cpu = smp_processor_id();
	tvve_area = tv_ext_ve_info(r->cpu);
	if (r->busy)
		WRITE_ONCE(tvve_area->busy, 0xffffffffu);
	store_idt(&kernel_idt);
	ours.address = (unsigned long)private_idt;
	ours.size = IDT_ENTRIES * sizeof(gate_desc) - 1;
	asm volatile("lidt %0" : : "m"(ours));
	if (r->vmfunc)
		asm volatile(".byte 0x0f, 0x01, 0xd4"	/* VMFUNC */
			     : : "a"(0), "c"(view) : "memory");
	r->val = READ_ONCE(*probe);
	asm volatile("lidt %0" : : "m"(kernel_idt));
	if (r->busy)
		WRITE_ONCE(tvve_area->busy, 0);
	r->seen = tvve_seen;
	local_irq_restore(flags);
	/* Every CPU back to view 0 (the handler did it for this one). */
	tv_ext_run_on_cpus(&ext, switch_view, (void *)0L);
	r->exits = atomic_read(&exits_seen) - exits;
	return 0;
}

/*
 * A #VE, no exit, the read done after it, and what the CPU wrote.  The
 * view is checked when the CPU entered it with VMFUNC: after a switch in
 * VMX root the CPU reports the EPTP index thinvisor wrote into the VMCS,
 * which Bochs (2.7 and later) never loads at VM entry: its #VE reports
 * the index of the last VMFUNC (bochs/cpu/vmfunc.cc sets it, nothing
 * else does), so that value is only shown.
 */
static void check_delivered(const char *name, struct probe_run *r)
{
	const struct ve_seen *s = &r->seen;
	bool view_ok = s->view == view || !r->vmfunc;

	report(name, s->count == 1 && r->val == PROBE_VALUE && !r->exits &&
	       s->reason == 48 && s->gpa == probe_gpa &&
	       s->gla == (unsigned long)probe && (s->qualification & 7) == 1 &&
	       (s->qualification & 0x38) == 0 && (s->qualification & 0x80) &&
	       view_ok && tvve_area->busy == 0,
	       "CPU %u, view entered %s: %llu #VE, %d exits, read 0x%llx after it; reason %llu qualification 0x%llx gpa 0x%llx (probe 0x%llx) gla %s view %llu (ours %d)",
	       r->cpu, r->vmfunc ? "with VMFUNC" : "from VMX root", s->count,
	       r->exits, r->val, s->reason, s->qualification, s->gpa,
	       probe_gpa, s->gla == (unsigned long)probe ? "matches" : "differs",
	       s->view, view);
}

/* No #VE: the access exited and the extension let it through. */
static void check_exited(const char *name, const char *why,
			 struct probe_run *r)
{
	report(name, r->seen.count == 0 && r->exits == 1 &&
	       r->val == PROBE_VALUE,
	       "%s: CPU %u, %llu #VE, %d exits, read 0x%llx", why, r->cpu,
	       r->seen.count, r->exits, r->val);
}

static int setup_probe(void)
{
	unsigned int caps = tv_ext_page_caps();
	struct desc_ptr kernel_idt;
	int ret;

	if (!(caps & TV_PAGE_CAP_VE) || !(caps & TV_PAGE_CAP_FAST_SWITCH)) {
		report("ve", true,
		       "skipped: no #VE or no VMFUNC view switch here (caps 0x%x)",
		       caps);
		return -EOPNOTSUPP;
	}
	probe = (u64 *)get_zeroed_page(GFP_KERNEL);
	private_idt = (gate_desc *)get_zeroed_page(GFP_KERNEL);
	if (!probe || !private_idt)
		return -ENOMEM;
	*probe = PROBE_VALUE;
	probe_gpa = virt_to_phys(probe);
	store_idt(&kernel_idt);
	/*
	 * 256 gates, whatever the limit: after KVM ran a guest on this CPU
	 * the IDTR limit is 0xffff (VM exit sets it; KVM leaves it so).
	 */
	memcpy(private_idt, (void *)kernel_idt.address,
	       min_t(size_t, kernel_idt.size + 1, IDT_ENTRIES * sizeof(gate_desc)));
	pack_gate(&private_idt[VE_VECTOR], GATE_INTERRUPT,
		  (unsigned long)tvve_handler, 0, 0, __KERNEL_CS);

	view = tv_ext_view_create(&ext);
	ret = view > 0 ? 0 : view;
	ret = ret ?: tv_ext_want(&ext, TV_EV_PAGE_ACCESS, 1);
	ret = ret ?: tv_ext_page_set(&ext, view, probe_gpa, 0, probe_gpa);
	report("ve-no-area-before", !tv_ext_ve_info(0),
	       "no information area before the first mark");
	ret = ret ?: tv_ext_page_set_ve(&ext, view, probe_gpa, 1);
	report("ve-setup", !ret && tv_ext_ve_info(0),
	       "view %d, probe page 0x%llx no access and marked: %d", view,
	       probe_gpa, ret);
	return ret;
}

static bool ready;

static DEFINE_PER_CPU(int, view_now);

static noinstr int note_view(struct tv_ext *e, void *arg)
{
	this_cpu_write(view_now, tv_ext_view_current());
	return 0;
}

/*
 * A view the guest entered with VMFUNC outlives a change of the
 * extensions' controls on its CPU (tv_ext_want() rewrites them there):
 * the core used to put the CPU back in the view it had on record.
 */
static void check_view_kept(void)
{
	unsigned int cpu;
	int ret, now;

	migrate_disable();
	cpu = smp_processor_id();
	asm volatile(".byte 0x0f, 0x01, 0xd4"	/* VMFUNC */
		     : : "a"(0), "c"(view) : "memory");
	ret = tv_ext_want(&ext, TV_EV_RDTSC, 1);
	ret = ret ?: tv_ext_run_on_cpus(&ext, note_view, NULL);
	now = per_cpu(view_now, cpu);
	tv_ext_want(&ext, TV_EV_RDTSC, 0);
	tv_ext_run_on_cpus(&ext, switch_view, (void *)0L);
	migrate_enable();
	report("ve-vmfunc-view-kept", !ret && now == view,
	       "CPU %u entered view %d with VMFUNC, in view %d after the controls changed (err %d)",
	       cpu, view, now, ret);
}

static void check_ve(void)
{
	struct probe_run r = { .vmfunc = true };

	if (setup_probe())
		return;
	ready = true;
	probe_read(&r);
	check_delivered("ve-delivered", &r);
	r = (struct probe_run){ .vmfunc = false };
	probe_read(&r);
	check_delivered("ve-root-switch", &r);
	r = (struct probe_run){ .vmfunc = true, .busy = true };
	probe_read(&r);
	check_exited("ve-busy-exits", "area busy", &r);
	check_view_kept();
}

/* recheck=N: the #VE again on CPU N (e.g. after it went offline). */
static int recheck_set(const char *val, const struct kernel_param *kp)
{
	struct probe_run r = { .vmfunc = true };
	unsigned int cpu;
	char name[32];

	if (kstrtouint(val, 0, &cpu) || cpu >= nr_cpu_ids || !cpu_online(cpu))
		return -EINVAL;
	if (!ready)
		return -ENODEV;
	results[0] = 0;
	work_on_cpu(cpu, probe_read, &r);
	scnprintf(name, sizeof(name), "ve-cpu%u", cpu);
	check_delivered(name, &r);
	return 0;
}

static const struct kernel_param_ops recheck_ops = { .set = recheck_set };
module_param_cb(recheck, &recheck_ops, NULL, 0200);
MODULE_PARM_DESC(recheck, "write N: the #VE check again on CPU N");

/* unmark=1: the page exits again once no page is marked. */
static int unmark_set(const char *val, const struct kernel_param *kp)
{
	struct probe_run r = { .vmfunc = true };
	int ret;

	if (!ready)
		return -ENODEV;
	results[0] = 0;
	ret = tv_ext_page_set_ve(&ext, view, probe_gpa, 0);
	probe_read(&r);
	check_exited("ve-unmarked-exits", ret ? "unmark failed" :
		     "after unmarking", &r);
	return 0;
}

static const struct kernel_param_ops unmark_ops = { .set = unmark_set };
module_param_cb(unmark, &unmark_ops, NULL, 0200);
MODULE_PARM_DESC(unmark, "write 1: unmark the probe page and read it");

static int __init ve_init(void)
{
	int ret = tv_ext_register(&ext);

	if (ret)
		return ret;
	check_ve();
	return 0;
}

/* Unregistering takes the view, its mark and the #VE control back. */
static void __exit ve_exit(void)
{
	tv_ext_unregister(&ext);
	free_page((unsigned long)private_idt);
	free_page((unsigned long)probe);
}

module_init(ve_init);
module_exit(ve_exit);
MODULE_LICENSE("Dual MIT/GPL");
MODULE_DESCRIPTION("thinvisor: page violations as guest #VE, end to end");
