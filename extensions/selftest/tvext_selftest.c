// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * tvext_selftest: an extension that exercises every event of the
 * extension API from a separate module, as any tool would
 * (modprobe thinvisor; insmod tvext_selftest.ko).  Its init registers two
 * extensions, asks for events, causes them itself and checks what the
 * callbacks saw and what their replies did; the e2e script
 * (tests/e2e/guest/tests/70-ext.sh) reads the verdicts from
 * /sys/module/tvext_selftest/parameters/results, one "NAME PASS|FAIL
 * detail" line each.  Callbacks act only on accesses marked with MAGIC in
 * a register, so the kernel's own RDTSC, port 0x80 delays, INT3 patching
 * and UD2 warnings keep their default behaviour (which is itself checked
 * by the kernel going on working).
 */
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/cpu.h>
#include <linux/delay.h>
#include <linux/smp.h>
#include <linux/atomic.h>
#include <linux/mm.h>
#include <linux/vmalloc.h>
#include <asm/processor.h>
#include <asm/msr.h>
#include <asm/io.h>
#include <asm/desc.h>
#include <asm/fpu/xcr.h>
#include <asm/special_insns.h>
#include <asm/invpcid.h>
#include "thinvisor/extension.h"

#define MAGIC 0x7465737474657374ULL		/* "testtest" */
#define LEAF_A 0x400000f0u	/* zero without extensions */
#define LEAF_B 0x400000f1u
#define LEAF_MEM 0x400000f2u	/* guest memory and deferred work */
#define LEAF_STEP 0x400000f3u	/* starts the stepped sequence */
#define TEST_MSR 0x175		/* IA32_SYSENTER_ESP: VMCS-switched */
#define MSR_GOOD 0x1234000ULL
#define MSR_BAD 0xbad000ULL
#define TEST_PORT 0x80
#define STEPS 64

static char results[4000];
module_param_string(results, results, sizeof(results), 0444);
MODULE_PARM_DESC(results, "one line per check: NAME PASS|FAIL detail");
static int cpu_ups, cpu_downs;
module_param(cpu_ups, int, 0444);
MODULE_PARM_DESC(cpu_ups, "cpu_up callbacks so far");
module_param(cpu_downs, int, 0444);
MODULE_PARM_DESC(cpu_downs, "cpu_down callbacks so far");

/* What the callbacks saw; written in VMX root, read after. */
static struct {
	atomic_t cpuid_a, cpuid_b_first, cpuid_b_second;
	atomic_t msr_reads, msr_writes, cr0, cr3, cr8_reads, cr8_writes;
	atomic_t dr, io_out, io_in, io_string, desc, xsetbv, invlpg;
	atomic_t rdtsc, rdtscp, bp, ud, gp, vmcall, ups, downs;
	u32 desc_seen, io_out_value, rdtscp_aux;
	u64 invlpg_la, xsetbv_value, dr_value;
	bool fake_msr;
	atomic_t deferred;
	unsigned long deferred_arg;
	atomic_t page_x_to_r, page_r_to_x, page_unanswered, bp_user;
} seen;

/* The DdiMon page: executable code in view X, another page in view R. */
static int view_x, view_r;
static unsigned long probe_gpa;
static unsigned long unanswered_gpa;

static struct tv_ext ext_a, ext_b;

struct steps {
	int count;
	bool in_seq;		/* stepping tvext_stepseq */
	int nrip;
	u64 rip[8];		/* the RIP after each stepped instruction */
};

/*
 * A known instruction sequence to single-step: its CPUID (LEAF_STEP)
 * turns stepping on, and the MTF events must then come after each of
 * the four instructions, at the labels that follow them.  Returns 7.
 */
int tvext_stepseq(void);
extern const char tvext_step2[], tvext_step3[], tvext_step4[];
extern const char tvext_stepseq_end[];
asm(".pushsection .text.tvstep, \"ax\"\n"
    ".type tvext_stepseq, @function\n"
    "tvext_stepseq:\n"
    "	push %rbx\n"
    "	mov $0x400000f3, %eax\n"
    "	xor %ecx, %ecx\n"
    "	cpuid\n"
    "	nop\n"
    "tvext_step2:\n"
    "	mov $3, %eax\n"
    "tvext_step3:\n"
    "	add %eax, %eax\n"
    "tvext_step4:\n"
    "	inc %eax\n"
    "tvext_stepseq_end:\n"
    "	pop %rbx\n"
    "	ret\n"
    ".size tvext_stepseq, . - tvext_stepseq\n"
    ".popsection\n");

static void report(const char *name, bool ok, const char *fmt, ...)
{
	size_t len = strlen(results);
	va_list ap;

	if (len + 200 > sizeof(results))
		return;
	len += scnprintf(results + len, sizeof(results) - len, "%s %s ",
			 name, ok ? "PASS" : "FAIL");
	va_start(ap, fmt);
	len += vscnprintf(results + len, sizeof(results) - len, fmt, ap);
	va_end(ap);
	scnprintf(results + len, sizeof(results) - len, "\n");
}

static noinstr void mtf_step(struct tv_ext_event *ev)
{
	struct steps *s = tv_ext_cpu_data(&ext_a, ev->cpu);

	if (!s)
		return;
	if (s->in_seq) {
		if (s->nrip < ARRAY_SIZE(s->rip))
			s->rip[s->nrip++] = ev->rip;
		if (ev->rip == (u64)tvext_stepseq_end ||
		    s->nrip == ARRAY_SIZE(s->rip)) {
			s->in_seq = false;
			tv_ext_single_step(&ext_a, 0);
		}
		return;
	}
	if (++s->count >= STEPS)
		tv_ext_single_step(&ext_a, 0);
}

/* LEAF_STEP: step from the next instruction on (tvext_stepseq). */
static noinstr enum tv_ext_reply start_seq(struct tv_ext_event *ev)
{
	struct steps *s = tv_ext_cpu_data(&ext_a, ev->cpu);

	if (!s || tv_ext_single_step(&ext_a, 1))
		return TV_EXT_CONTINUE;	/* no MTF: a plain CPUID */
	s->nrip = 0;
	s->in_seq = true;
	return TV_EXT_HANDLED;
}

static void deferred_work(struct tv_ext *ext, unsigned long arg)
{
	seen.deferred_arg = arg;
	atomic_inc(&seen.deferred);
}

/*
 * LEAF_MEM: RBX = a guest address to read 8 bytes from (returned in RAX),
 * RCX = one to write RDX to, both through the guest's page tables; the
 * guest-physical address of RBX's page in RCX; and deferred work.
 */
static noinstr enum tv_ext_reply guest_memory(struct tv_ext *ext,
					      struct tv_guest_regs *r)
{
	unsigned long long val = 0, gpa = 0;
	int bad;

	bad = tv_ext_read_guest(r->rbx, &val, sizeof(val));
	bad |= tv_ext_write_guest(r->rcx, &r->rdx, sizeof(r->rdx)) << 1;
	bad |= tv_ext_gva_to_gpa(r->rbx, &gpa) << 2;
	bad |= tv_ext_defer(ext, deferred_work, 4242) << 3;
	r->rax = val;
	r->rcx = gpa;
	r->rdx = bad;
	r->rbx = 0;
	return TV_EXT_HANDLED;
}

/*
 * The DdiMon trick with two views and no single step: the probe page is
 * execute-only in view X and a readable copy in view R; a read in X moves
 * the CPU to R, an execution in R back to X.
 */
static noinstr enum tv_ext_reply page_access(struct tv_ext_event *ev)
{
	if ((ev->page.gpa & ~0xfffULL) == unanswered_gpa) {
		arch_atomic_inc(&seen.page_unanswered);
		return TV_EXT_CONTINUE;
	}
	if ((ev->page.gpa & ~0xfffULL) != probe_gpa)
		return TV_EXT_CONTINUE;
	if (ev->page.view == view_x && !(ev->page.access & TV_ACCESS_EXEC)) {
		arch_atomic_inc(&seen.page_x_to_r);
		tv_ext_view_switch(view_r);
		return TV_EXT_RETRY;
	}
	if (ev->page.view == view_r && (ev->page.access & TV_ACCESS_EXEC)) {
		arch_atomic_inc(&seen.page_r_to_x);
		tv_ext_view_switch(view_x);
		return TV_EXT_RETRY;
	}
	return TV_EXT_CONTINUE;
}

static noinstr enum tv_ext_reply a_event(struct tv_ext *ext,
					 struct tv_ext_event *ev)
{
	struct tv_guest_regs *r = ev->regs;
	bool marked = r->rbx == MAGIC;

	switch (ev->type) {
	case TV_EV_PAGE_ACCESS:
		return page_access(ev);
	case TV_EV_CPUID:
		if (ev->cpuid.leaf == LEAF_MEM)
			return guest_memory(ext, r);
		if (ev->cpuid.leaf == LEAF_STEP)
			return start_seq(ev);
		if (ev->cpuid.leaf == LEAF_A) {
			arch_atomic_inc(&seen.cpuid_a);
			ev->cpuid.eax = 0x600d;
			return TV_EXT_CONTINUE;	/* ext_b adds EBX */
		}
		/* LEAF_B: emulated here; ext_b must not see it. */
		r->rax = 0xa;
		r->rbx = 0;
		r->rcx = 0;
		r->rdx = 0;
		return TV_EXT_HANDLED;
	case TV_EV_MSR_READ:
		arch_atomic_inc(&seen.msr_reads);
		if (ev->msr.value == MSR_GOOD)
			ev->msr.value++;
		return TV_EXT_CONTINUE;
	case TV_EV_MSR_WRITE:
		arch_atomic_inc(&seen.msr_writes);
		if (ev->msr.value != MSR_BAD)
			return TV_EXT_CONTINUE;
		ev->inject.vector = 13;
		ev->inject.has_error_code = 1;
		ev->inject.error_code = 0;
		return TV_EXT_INJECT;
	case TV_EV_CR_WRITE:
		if (ev->cr.cr == 0) {
			arch_atomic_inc(&seen.cr0);
			ev->cr.new_value |= X86_CR0_WP;	/* keep WP on */
		} else if (ev->cr.cr == 3) {
			arch_atomic_inc(&seen.cr3);
		} else if (ev->cr.cr == 8) {
			arch_atomic_inc(&seen.cr8_writes);
		}
		return TV_EXT_CONTINUE;
	case TV_EV_CR_READ:
		if (ev->cr.cr == 8 && marked) {
			arch_atomic_inc(&seen.cr8_reads);
			ev->cr.new_value = 5;
		}
		return TV_EXT_CONTINUE;
	case TV_EV_DR_ACCESS:
		if (ev->dr.dr == 0 && ev->dr.write) {
			arch_atomic_inc(&seen.dr);
			seen.dr_value = ((u64 *)r)[ev->dr.gpr & 15];
		}
		return TV_EXT_CONTINUE;
	case TV_EV_IO:
		if (!marked)
			return TV_EXT_CONTINUE;
		if (ev->io.string) {
			arch_atomic_inc(&seen.io_string);
			return TV_EXT_CONTINUE;	/* runs natively */
		}
		if (!ev->io.in) {
			arch_atomic_inc(&seen.io_out);
			seen.io_out_value = (u32)ev->io.value;
			return TV_EXT_CONTINUE;
		}
		arch_atomic_inc(&seen.io_in);
		r->rax = (r->rax & ~0xffULL) | 0xab;
		return TV_EXT_HANDLED;
	case TV_EV_DESCRIPTOR:
		if (marked) {
			arch_atomic_inc(&seen.desc);
			seen.desc_seen |= 1u << ev->descriptor.insn;
		}
		return TV_EXT_CONTINUE;
	case TV_EV_XSETBV:
		arch_atomic_inc(&seen.xsetbv);
		seen.xsetbv_value = ev->xsetbv.value;
		return TV_EXT_CONTINUE;
	case TV_EV_INVLPG:
		if (marked) {
			arch_atomic_inc(&seen.invlpg);
			seen.invlpg_la = ev->invlpg.linear;
		}
		return TV_EXT_CONTINUE;
	case TV_EV_RDTSC:
		if (!marked)
			return TV_EXT_CONTINUE;
		if (ev->rdtsc.rdtscp) {
			arch_atomic_inc(&seen.rdtscp);
			return TV_EXT_CONTINUE;
		}
		arch_atomic_inc(&seen.rdtsc);
		r->rax = 0x1234;
		r->rdx = 0;
		return TV_EXT_HANDLED;
	case TV_EV_EXCEPTION:
		if (ev->exception.vector == 3 && !marked &&
		    tv_ext_guest_cpl() == 3) {
			arch_atomic_inc(&seen.bp_user);
			return TV_EXT_CONTINUE;	/* re-injected to the process */
		}
		if (ev->exception.vector == 13) {
			arch_atomic_inc(&seen.gp);
			return TV_EXT_CONTINUE;	/* the kernel's fixup */
		}
		if (!marked)
			return TV_EXT_CONTINUE;
		if (ev->exception.vector == 3) {
			arch_atomic_inc(&seen.bp);
			return TV_EXT_HANDLED;
		}
		arch_atomic_inc(&seen.ud);
		tv_ext_set_rip(ev->rip + 2);	/* past UD2 */
		return TV_EXT_HANDLED;
	case TV_EV_VMCALL:
		arch_atomic_inc(&seen.vmcall);
		r->rax = 0xc0ffee;
		r->rdx = tv_ext_guest_cpl();
		return TV_EXT_HANDLED;
	case TV_EV_MTF:
		mtf_step(ev);
		return TV_EXT_CONTINUE;
	default:
		return TV_EXT_CONTINUE;
	}
}

static noinstr enum tv_ext_reply b_event(struct tv_ext *ext,
					 struct tv_ext_event *ev)
{
	if (ev->type != TV_EV_CPUID)
		return TV_EXT_CONTINUE;
	if (ev->cpuid.leaf == LEAF_A) {
		/* After ext_a, which registered first. */
		if (ev->cpuid.eax == 0x600d)
			arch_atomic_inc(&seen.cpuid_b_second);
		ev->cpuid.ebx = 0xb0b;
	} else {
		arch_atomic_inc(&seen.cpuid_b_first);
	}
	return TV_EXT_CONTINUE;
}

static noinstr void a_cpu_up(struct tv_ext *ext, unsigned int cpu)
{
	arch_atomic_inc(&seen.ups);
}

static noinstr void a_cpu_down(struct tv_ext *ext, unsigned int cpu)
{
	arch_atomic_inc(&seen.downs);
}

static struct tv_ext ext_a = {
	.name = "selftest-a",
	.api_version = TV_EXT_API_VERSION,
	.owner = THIS_MODULE,
	.percpu_size = sizeof(struct steps),
	.event = a_event,
	.cpu_up = a_cpu_up,
	.cpu_down = a_cpu_down,
};

static struct tv_ext ext_b = {
	.name = "selftest-b",
	.api_version = TV_EXT_API_VERSION,
	.owner = THIS_MODULE,
	.event = b_event,
};

struct cpuid_res {
	atomic_t ok, bad;
};

static void cpuid_on_cpu(void *arg)
{
	struct cpuid_res *res = arg;
	u32 a, b, c, d;

	cpuid_count(LEAF_A, 0, &a, &b, &c, &d);
	if (a == 0x600d && b == 0xb0b)
		atomic_inc(&res->ok);
	else
		atomic_inc(&res->bad);
}

static void check_cpuid(void)
{
	struct cpuid_res res = { ATOMIC_INIT(0), ATOMIC_INIT(0) };
	u32 a, b, c, d;

	on_each_cpu(cpuid_on_cpu, &res, 1);
	report("cpuid-every-cpu", atomic_read(&res.bad) == 0 &&
	       atomic_read(&res.ok) == num_online_cpus(),
	       "leaf 0x%x: A's EAX and B's EBX on %d of %u CPUs",
	       LEAF_A, atomic_read(&res.ok), num_online_cpus());
	report("order", atomic_read(&seen.cpuid_b_second) ==
	       atomic_read(&seen.cpuid_a),
	       "B saw A's result in %d of %d CPUIDs",
	       atomic_read(&seen.cpuid_b_second), atomic_read(&seen.cpuid_a));
	cpuid_count(LEAF_B, 0, &a, &b, &c, &d);
	report("handled-stops-delivery", a == 0xa &&
	       atomic_read(&seen.cpuid_b_first) == 0,
	       "leaf 0x%x: EAX 0x%x from A, B called %d times", LEAF_B, a,
	       atomic_read(&seen.cpuid_b_first));
	cpuid_count(0, 0, &a, &b, &c, &d);
	report("other-leaves", b == 0x756e6547,
	       "leaf 0 still GenuineIntel (EBX 0x%x)", b);
}

static void check_msr(void)
{
	u64 orig, v1 = 0, v2 = 0, back = 0;
	unsigned long flags;
	int bad;

	local_irq_save(flags);
	rdmsrl(TEST_MSR, orig);
	wrmsrl(TEST_MSR, MSR_GOOD);
	rdmsrl(TEST_MSR, v1);
	bad = wrmsrl_safe(TEST_MSR, MSR_BAD);
	rdmsrl(TEST_MSR, v2);
	wrmsrl(TEST_MSR, orig);
	rdmsrl(TEST_MSR, back);
	local_irq_restore(flags);
	report("msr-read-changed", v1 == MSR_GOOD + 1,
	       "read after writing 0x%llx gave 0x%llx", MSR_GOOD, v1);
	report("msr-write-refused", bad && v2 == MSR_GOOD + 1,
	       "WRMSR 0x%llx: %d (want #GP), value stayed 0x%llx", MSR_BAD,
	       bad, v2);
	report("msr-restored", back == orig && atomic_read(&seen.msr_writes) >= 3,
	       "0x%llx back, %d writes %d reads seen", back,
	       atomic_read(&seen.msr_writes), atomic_read(&seen.msr_reads));
}

static void check_cr(void)
{
	unsigned long flags, cr0, after;
	u64 cr8 = 0;

	local_irq_save(flags);
	cr0 = read_cr0();
	asm volatile("mov %0, %%cr0" : : "r"(cr0 & ~X86_CR0_WP) : "memory");
	after = read_cr0();
	asm volatile("mov %0, %%cr0" : : "r"(cr0) : "memory");
	asm volatile("mov %%cr8, %0" : "=r"(cr8) : "b"(MAGIC));
	asm volatile("mov %0, %%cr8" : : "r"(0ULL));
	/* Idle and kernel threads borrow the mm: force one CR3 load. */
	native_write_cr3(__native_read_cr3());
	local_irq_restore(flags);
	report("cr0-write-changed", (after & X86_CR0_WP) &&
	       atomic_read(&seen.cr0) >= 1,
	       "CR0.WP cleared by MOV, kept by the extension: CR0 0x%lx, %d events",
	       after, atomic_read(&seen.cr0));
	report("cr8", cr8 == 5 && atomic_read(&seen.cr8_reads) == 1 &&
	       atomic_read(&seen.cr8_writes) >= 1,
	       "MOV from CR8 gave %llu, %d writes seen", cr8,
	       atomic_read(&seen.cr8_writes));
	msleep(50);
	report("cr3-loads", atomic_read(&seen.cr3) > 0,
	       "%d MOV to CR3 seen in 50 ms", atomic_read(&seen.cr3));
}

static void check_dr_io_desc(void)
{
	struct desc_ptr gdt0, idt0, gdt1, idt1;
	unsigned long flags, dr0 = 0, rsi, rcx;
	u16 tr0, tr1, ldt0, ldt1;
	static const u8 bytes[3] = { 1, 2, 3 };
	u32 in = 0;

	local_irq_save(flags);
	/* Descriptor tables first, natively, without exits... */
	asm volatile("sgdt %0" : "=m"(gdt0));
	asm volatile("sidt %0" : "=m"(idt0));
	asm volatile("str %0" : "=r"(tr0));
	asm volatile("sldt %0" : "=r"(ldt0));
	local_irq_restore(flags);
	tv_ext_want(&ext_a, TV_EV_DESCRIPTOR, 1);
	local_irq_save(flags);
	/* ...then through the extension and the native step. */
	asm volatile("sgdt %0" : "=m"(gdt1) : "b"(MAGIC));
	asm volatile("sidt %0" : "=m"(idt1) : "b"(MAGIC));
	asm volatile("str %0" : "=r"(tr1) : "b"(MAGIC));
	asm volatile("sldt %0" : "=r"(ldt1) : "b"(MAGIC));
	asm volatile("lidt %0" : : "m"(idt1), "b"(MAGIC));
	asm volatile("mov %0, %%dr0" : : "r"(0x1234UL));
	asm volatile("mov %%dr0, %0" : "=r"(dr0));
	asm volatile("mov %0, %%dr0" : : "r"(0UL));
	asm volatile("outb %b0, %w1" : : "a"(0x55), "Nd"(TEST_PORT), "b"(MAGIC));
	asm volatile("inb %w1, %b0" : "+a"(in) : "Nd"(TEST_PORT), "b"(MAGIC));
	rsi = (unsigned long)bytes;
	rcx = 3;
	asm volatile("rep outsb" : "+S"(rsi), "+c"(rcx)
		     : "d"(TEST_PORT), "b"(MAGIC) : "memory");
	local_irq_restore(flags);
	tv_ext_want(&ext_a, TV_EV_DESCRIPTOR, 0);
	report("descriptor", gdt1.address == gdt0.address &&
	       gdt1.size == gdt0.size && idt1.address == idt0.address &&
	       tr1 == tr0 && ldt1 == ldt0 && seen.desc_seen == 0x3b &&
	       atomic_read(&seen.desc) == 5,
	       "SGDT/SIDT/STR/SLDT/LIDT seen (mask 0x%x, %d events), same values natively",
	       seen.desc_seen, atomic_read(&seen.desc));
	report("dr", dr0 == 0x1234 && atomic_read(&seen.dr) == 2 &&
	       seen.dr_value == 0,
	       "DR0 read back 0x%lx, %d writes seen, last value 0x%llx", dr0,
	       atomic_read(&seen.dr), seen.dr_value);
	report("io", seen.io_out_value == 0x55 && (in & 0xff) == 0xab,
	       "OUT value 0x%x seen, IN emulated as 0x%x", seen.io_out_value,
	       in & 0xff);
	report("io-string", rcx == 0 && rsi == (unsigned long)bytes + 3 &&
	       atomic_read(&seen.io_string) == 1,
	       "REP OUTSB ran natively: RCX %lu, RSI +%lu, %d events", rcx,
	       rsi - (unsigned long)bytes, atomic_read(&seen.io_string));
}

static void check_misc(void)
{
	unsigned long flags, rax, rdx, aux;
	u64 xcr0, t1, t2, t3, msr;
	int gp, invpcids = 0;

	local_irq_save(flags);
	xcr0 = xgetbv(0);
	xsetbv(0, xcr0);
	asm volatile("invlpg (%0)" : : "r"(&seen), "b"(MAGIC) : "memory");
	asm volatile("rdtsc" : "=a"(rax), "=d"(rdx) : "b"(MAGIC));
	/* Unmarked: RBX must not still hold MAGIC from the asm above. */
	asm volatile("rdtsc; shl $32, %%rdx; or %%rdx, %%rax"
		     : "=a"(t1), "=d"(rdx) : "b"(0));
	asm volatile("rdtsc; shl $32, %%rdx; or %%rdx, %%rax"
		     : "=a"(t2), "=d"(rdx) : "b"(0));
	asm volatile("rdtscp" : "=a"(t3), "=d"(rdx), "=c"(aux) : "b"(MAGIC));
	asm volatile("int3" : : "b"(MAGIC));
	/* UD2 as bytes: objtool would take it for the end of the function. */
	asm volatile(".byte 0x0f, 0x0b" : : "b"(MAGIC));
	/*
	 * With "enable INVPCID", INVLPG exiting makes INVPCID exit too: the
	 * kernel's own flushes must go on (they stopped the VMM before).
	 */
	if (boot_cpu_has(X86_FEATURE_INVPCID)) {
		invpcid_flush_one(0, (unsigned long)&seen);
		invpcid_flush_single_context(0);
		invpcid_flush_all();
		invpcid_flush_all_nonglobals();
		invpcids = 4;
	}
	/* EFER with a reserved bit: #GP from the CPU, nothing changes. */
	rdmsrl(MSR_EFER, msr);
	gp = wrmsrl_safe(MSR_EFER, msr | (1ULL << 63));
	local_irq_restore(flags);
	report("invpcid", true, invpcids ?
	       "types 0-3 done while INVLPG exits, the VMM runs on" :
	       "skipped: this CPU has no INVPCID");
	report("xsetbv", atomic_read(&seen.xsetbv) == 1 &&
	       seen.xsetbv_value == xcr0, "XCR0 0x%llx seen", seen.xsetbv_value);
	report("invlpg", seen.invlpg_la == (unsigned long)&seen,
	       "linear address %s", seen.invlpg_la == (unsigned long)&seen ?
	       "matches" : "differs");
	report("rdtsc", rax == 0x1234 && t2 >= t1 && t1 != 0x1234,
	       "marked RDTSC emulated (%lu), others native", rax);
	report("rdtscp", atomic_read(&seen.rdtscp) == 1 &&
	       aux == (unsigned long)smp_processor_id(),
	       "RDTSCP native: TSC_AUX %lu on CPU %d", aux, smp_processor_id());
	report("int3", atomic_read(&seen.bp) == 1, "#BP consumed (%d)",
	       atomic_read(&seen.bp));
	report("ud2", atomic_read(&seen.ud) == 1, "#UD consumed, RIP moved (%d)",
	       atomic_read(&seen.ud));
	report("gp-reinjected", gp && atomic_read(&seen.gp) >= 1,
	       "WRMSR EFER bit 63: #GP seen (%d) and delivered to the fixup (%d)",
	       atomic_read(&seen.gp), gp);
}

static void check_vmcall(void)
{
	u64 rax = TV_HC_EXT_FIRST, rdx = 99;

	asm volatile("vmcall" : "+a"(rax), "=d"(rdx) : : "memory");
	report("vmcall-kernel", rax == 0xc0ffee && rdx == 0,
	       "RAX 0x%llx CPL %llu", rax, rdx);
}

static void run_stepseq(void *arg)
{
	atomic_t *sevens = arg;

	if (tvext_stepseq() == 7)
		atomic_inc(sevens);
}

/* Each CPU, interrupts off, steps tvext_stepseq: 4 events at 4 labels. */
static void check_mtf_sequence(void)
{
	const u64 want[] = { (u64)tvext_step2, (u64)tvext_step3,
			     (u64)tvext_step4, (u64)tvext_stepseq_end };
	atomic_t sevens = ATOMIC_INIT(0);
	unsigned int cpu, good = 0;
	struct steps *s = NULL;

	on_each_cpu(run_stepseq, &sevens, 1);
	for_each_online_cpu(cpu) {
		s = tv_ext_cpu_data(&ext_a, cpu);
		if (s && !s->in_seq && s->nrip == ARRAY_SIZE(want) &&
		    !memcmp(s->rip, want, sizeof(want)))
			good++;
	}
	report("mtf-sequence", good == num_online_cpus() &&
	       atomic_read(&sevens) == num_online_cpus(),
	       "4 steps at the 4 known RIPs on %u of %u CPUs (first at +%lld, %d events), result right on %d",
	       good, num_online_cpus(),
	       s && s->nrip ? (long long)(s->rip[0] - (u64)tvext_stepseq) : -1LL,
	       s ? s->nrip : -1, atomic_read(&sevens));
}

static noinstr int start_steps(struct tv_ext *ext, void *arg)
{
	return tv_ext_single_step(ext, 1);
}

static void check_mtf(void)
{
	unsigned int cpu, done = 0;
	int ret, counts[2] = { -1, -1 };

	ret = tv_ext_run_on_cpus(&ext_a, start_steps, NULL);
	if (ret) {
		report("mtf", true,
		       "skipped: this CPU model has no monitor trap flag (%d)",
		       ret);
		return;
	}
	msleep(100);
	for_each_online_cpu(cpu) {
		struct steps *s = tv_ext_cpu_data(&ext_a, cpu);

		if (s && s->count == STEPS)
			done++;
		if (s && cpu < ARRAY_SIZE(counts))
			counts[cpu] = s->count;
	}
	report("mtf", !ret && done == num_online_cpus(),
	       "%d single steps then off on %u of %u CPUs (CPU 0: %d, CPU 1: %d)",
	       STEPS, done, num_online_cpus(), counts[0], counts[1]);
	check_mtf_sequence();
}

static void check_guest_memory(void)
{
	static u64 source = 0x1122334455667788ULL, target;
	u64 rax = LEAF_MEM, rbx = (u64)&source, rcx = (u64)&target;
	u64 rdx = 0xfeedfacecafebeefULL;
	u64 pa = page_to_phys(vmalloc_to_page(&source)) + offset_in_page(&source);
	int i;

	asm volatile("cpuid" : "+a"(rax), "+b"(rbx), "+c"(rcx), "+d"(rdx)
		     : : "memory");
	report("guest-read", rax == source && !(rdx & 1),
	       "8 bytes through the guest's page tables: 0x%llx", rax);
	report("guest-write", target == 0xfeedfacecafebeefULL && !(rdx & 2),
	       "written through them: 0x%llx", target);
	report("gva-to-gpa", rcx == pa && !(rdx & 4),
	       "module data at 0x%llx, kernel says 0x%llx", rcx, pa);
	for (i = 0; i < 50 && !atomic_read(&seen.deferred); i++)
		msleep(20);
	report("defer", atomic_read(&seen.deferred) == 1 &&
	       seen.deferred_arg == 4242 && !(rdx & 8),
	       "deferred work ran in a host thread (%d, arg %lu)",
	       atomic_read(&seen.deferred), seen.deferred_arg);
}

/*
 * Its page is the one the two views show differently, and it is alone on
 * that page: code that reads the page must run from another one, or the
 * two views would hand the CPU back and forth for ever (DdiMon's way out,
 * a single step in the readable view, needs a monitor trap flag).
 */
asm(".pushsection .text.tvprobe, \"ax\"\n"
    ".balign 4096\n"
    ".type tvext_probe, @function\n"
    "tvext_probe:\n"
    "	lea 1(%rdi,%rdi,2), %eax\n"	/* x * 3 + 1 */
    "	ret\n"
    ".size tvext_probe, . - tvext_probe\n"
    ".balign 4096, 0xcc\n"
    ".popsection\n");
int tvext_probe(int x);
#define probe_fn tvext_probe

static noinstr int switch_view(struct tv_ext *ext, void *arg)
{
	return tv_ext_view_switch((int)(long)arg);
}

struct probe_res {
	atomic_t exec_ok, read_copy, exec_again;
};

static void probe_on_cpu(void *arg)
{
	struct probe_res *res = arg;

	if (probe_fn(5) == 16)
		atomic_inc(&res->exec_ok);
	if (READ_ONCE(*(volatile u8 *)probe_fn) == 0xcc)
		atomic_inc(&res->read_copy);
	if (probe_fn(6) == 19)
		atomic_inc(&res->exec_again);
}

static void check_views(void)
{
	unsigned long va = (unsigned long)probe_fn & PAGE_MASK;
	struct probe_res res = { ATOMIC_INIT(0), ATOMIC_INIT(0),
				 ATOMIC_INIT(0) };
	unsigned int n = num_online_cpus();
	u8 *copy;
	int ret;

	if (!(tv_ext_page_caps() & TV_PAGE_CAP_EXEC_ONLY)) {
		report("views", true, "skipped: no execute-only pages here");
		return;
	}
	copy = (u8 *)__get_free_page(GFP_KERNEL);
	if (!copy) {
		report("views", false, "no memory");
		return;
	}
	memcpy(copy, (void *)va, PAGE_SIZE);
	copy[(unsigned long)probe_fn & ~PAGE_MASK] = 0xcc;
	probe_gpa = page_to_phys(vmalloc_to_page((void *)va));
	view_x = tv_ext_view_create(&ext_a);
	view_r = tv_ext_view_create(&ext_a);
	ret = view_x <= 0 || view_r <= 0;
	ret = ret ?: tv_ext_page_set(&ext_a, view_x, probe_gpa, TV_ACCESS_EXEC,
				     probe_gpa);
	ret = ret ?: tv_ext_page_set(&ext_a, view_r, probe_gpa, TV_ACCESS_READ,
				     virt_to_phys(copy));
	ret = ret ?: tv_ext_want(&ext_a, TV_EV_PAGE_ACCESS, 1);
	ret = ret ?: tv_ext_run_on_cpus(&ext_a, switch_view,
					(void *)(long)view_x);
	if (!ret)
		on_each_cpu(probe_on_cpu, &res, 1);
	tv_ext_run_on_cpus(&ext_a, switch_view, (void *)0L);
	tv_ext_want(&ext_a, TV_EV_PAGE_ACCESS, 0);
	report("views-exec-only-reads-copy", !ret &&
	       atomic_read(&res.exec_ok) == n &&
	       atomic_read(&res.read_copy) == n &&
	       atomic_read(&res.exec_again) == n &&
	       atomic_read(&seen.page_x_to_r) >= n &&
	       atomic_read(&seen.page_r_to_x) >= n,
	       "views %d/%d: executes in X, reads the copy in R, on %d %d %d of %u CPUs (%d X->R, %d R->X, err %d)",
	       view_x, view_r, atomic_read(&res.exec_ok),
	       atomic_read(&res.read_copy), atomic_read(&res.exec_again), n,
	       atomic_read(&seen.page_x_to_r), atomic_read(&seen.page_r_to_x),
	       ret);
	if (view_x > 0)
		tv_ext_view_destroy(&ext_a, view_x);
	if (view_r > 0)
		tv_ext_view_destroy(&ext_a, view_r);
	free_page((unsigned long)copy);
}

/*
 * A page made read-only whose writes nobody answers: first no extension
 * asks for page accesses, then ext_a asks and answers TV_EXT_CONTINUE.
 * Both times the core's default lets the write through (the page gains
 * write access in that view) and the kernel runs on; before, the VMM
 * stopped the machine.
 */
static void check_unanswered_page(void)
{
	u64 *page = (u64 *)__get_free_page(GFP_KERNEL);
	int ret, round, ok = 0;

	if (!page) {
		report("page-unanswered", false, "no memory");
		return;
	}
	unanswered_gpa = virt_to_phys(page);
	for (round = 0; round < 2; round++) {
		ret = tv_ext_page_set(&ext_a, TV_VIEW_DEFAULT, unanswered_gpa,
				      TV_ACCESS_READ, unanswered_gpa);
		ret = ret ?: tv_ext_want(&ext_a, TV_EV_PAGE_ACCESS, round);
		if (ret)
			break;
		WRITE_ONCE(page[round], 0x5eed0000ULL + round);
		if (READ_ONCE(page[round]) == 0x5eed0000ULL + round)
			ok++;
		tv_ext_want(&ext_a, TV_EV_PAGE_ACCESS, 0);
	}
	tv_ext_page_reset(&ext_a, TV_VIEW_DEFAULT, unanswered_gpa);
	report("page-unanswered", !ret && ok == 2 &&
	       atomic_read(&seen.page_unanswered) >= 1,
	       "writes to a read-only page nobody answered went through: %d of 2, %d seen with CONTINUE, err %d",
	       ok, atomic_read(&seen.page_unanswered), ret);
	unanswered_gpa = 0;
	free_page((unsigned long)page);
}

static int recheck_set(const char *val, const struct kernel_param *kp)
{
	results[0] = 0;
	check_cpuid();
	cpu_ups = atomic_read(&seen.ups);
	cpu_downs = atomic_read(&seen.downs);
	return 0;
}

/* trap_bp=1/0: intercept #BP (and let user mode's through), or stop. */
static int trap_bp_set(const char *val, const struct kernel_param *kp)
{
	bool on;
	int ret = kstrtobool(val, &on);

	return ret ?: tv_ext_want_exception(&ext_a, 3, on, 0, 0);
}

static int trap_bp_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%d\n", atomic_read(&seen.bp_user));
}

static const struct kernel_param_ops trap_bp_ops = {
	.set = trap_bp_set,
	.get = trap_bp_get,
};
module_param_cb(trap_bp, &trap_bp_ops, NULL, 0600);
MODULE_PARM_DESC(trap_bp, "write 1/0: intercept #BP or not; reads user-mode #BPs let through");

static const struct kernel_param_ops recheck_ops = { .set = recheck_set };
module_param_cb(recheck, &recheck_ops, NULL, 0200);
MODULE_PARM_DESC(recheck, "write 1: redo the CPUID checks on every CPU");

static int __init selftest_init(void)
{
	int ret;

	ret = tv_ext_register(&ext_a);
	if (ret)
		return ret;
	ret = tv_ext_register(&ext_b);
	if (ret) {
		tv_ext_unregister(&ext_a);
		return ret;
	}
	report("register", atomic_read(&seen.ups) == num_online_cpus(),
	       "cpu_up on %d of %u CPUs", atomic_read(&seen.ups),
	       num_online_cpus());
	report("register-twice", tv_ext_register(&ext_a) == -EEXIST,
	       "a second registration is refused");
	tv_ext_want_cpuid(&ext_a, LEAF_A, 1);
	tv_ext_want_cpuid(&ext_a, LEAF_B, 1);
	tv_ext_want_cpuid(&ext_b, LEAF_A, 1);
	tv_ext_want_cpuid(&ext_b, LEAF_B, 1);
	check_cpuid();

	tv_ext_want_msr(&ext_a, TEST_MSR, 1, 1);
	check_msr();
	tv_ext_want_msr(&ext_a, TEST_MSR, 0, 0);

	tv_ext_want_cr(&ext_a, 0, 0, 1, X86_CR0_WP);
	tv_ext_want_cr(&ext_a, 8, 1, 1, 0);
	tv_ext_want_cr(&ext_a, 3, 0, 1, 0);
	check_cr();
	tv_ext_want_cr(&ext_a, 0, 0, 0, 0);
	tv_ext_want_cr(&ext_a, 8, 0, 0, 0);
	tv_ext_want_cr(&ext_a, 3, 0, 0, 0);

	tv_ext_want(&ext_a, TV_EV_DR_ACCESS, 1);
	tv_ext_want_io(&ext_a, TEST_PORT, 1);
	check_dr_io_desc();
	tv_ext_want(&ext_a, TV_EV_DR_ACCESS, 0);
	tv_ext_want_io(&ext_a, TEST_PORT, 0);

	tv_ext_want(&ext_a, TV_EV_XSETBV, 1);
	tv_ext_want(&ext_a, TV_EV_INVLPG, 1);
	tv_ext_want(&ext_a, TV_EV_RDTSC, 1);
	tv_ext_want_exception(&ext_a, 3, 1, 0, 0);
	tv_ext_want_exception(&ext_a, 6, 1, 0, 0);
	tv_ext_want_exception(&ext_a, 13, 1, 0, 0);
	check_misc();
	tv_ext_want(&ext_a, TV_EV_XSETBV, 0);
	tv_ext_want(&ext_a, TV_EV_INVLPG, 0);
	tv_ext_want(&ext_a, TV_EV_RDTSC, 0);
	tv_ext_want_exception(&ext_a, 3, 0, 0, 0);
	tv_ext_want_exception(&ext_a, 6, 0, 0, 0);
	tv_ext_want_exception(&ext_a, 13, 0, 0, 0);

	/* Kept while loaded: the script's user-mode VMCALL. */
	tv_ext_want_vmcall(&ext_a, TV_HC_EXT_FIRST, 3);
	check_vmcall();
	report("vmcall-owned-once",
	       tv_ext_want_vmcall(&ext_b, TV_HC_EXT_FIRST, 0) == -EEXIST,
	       "a second owner is refused");

	tv_ext_want_cpuid(&ext_a, LEAF_MEM, 1);
	check_guest_memory();
	check_views();
	check_unanswered_page();

	tv_ext_want(&ext_a, TV_EV_MTF, 1);
	tv_ext_want_cpuid(&ext_a, LEAF_STEP, 1);
	check_mtf();
	cpu_ups = atomic_read(&seen.ups);
	cpu_downs = atomic_read(&seen.downs);
	return 0;
}

static void __exit selftest_exit(void)
{
	u32 a, b, c, d;

	tv_ext_unregister(&ext_b);
	tv_ext_unregister(&ext_a);
	cpuid_count(LEAF_A, 0, &a, &b, &c, &d);
	pr_info("tvext_selftest: after unregister: leaf 0x%x EAX 0x%x EBX 0x%x, cpu_down %d\n",
		LEAF_A, a, b, atomic_read(&seen.downs));
}

module_init(selftest_init);
module_exit(selftest_exit);
MODULE_LICENSE("Dual MIT/GPL");
MODULE_DESCRIPTION("thinvisor extension API self-test");
