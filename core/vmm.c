// SPDX-License-Identifier: MIT
/*
 * Loading and unloading: the checks in the order the hosts promise, the
 * shared state (MSR bitmap, EPT), and per-CPU bring-up and give-back with
 * a full unwind on every failure.
 */
#include "core/vmm.h"
#include "core/vcpu.h"
#include "core/ext.h"
#include "core/platform.h"
#include "core/ept.h"
#include "core/mtrr.h"
#include "core/log.h"
#include "arch/x86/cpu.h"
#include "arch/x86/msr.h"
#include "arch/x86/ept.h"

static struct tv_shared *g_shared;
static bool g_triple_fault_panic;
static bool g_stat_cycles;
static struct tv_vcpu **g_vcpus;
static unsigned int g_cpu_limit;

/* --- checks ------------------------------------------------------------ */

static bool hv_signature_present(void)
{
	struct tv_cpuid r;
	char sig[12];

	tv_cpuid(1, 0, &r);
	if (!(r.ecx & TV_BIT(31)))
		return false;
	tv_cpuid(TV_CPUID_HV_BASE, 0, &r);
	memcpy(sig, &r.ebx, 4);
	memcpy(sig + 4, &r.ecx, 4);
	memcpy(sig + 8, &r.edx, 4);
	return !memcmp(sig, TV_CPUID_SIGNATURE, 12);
}

static int check_cpu(void)
{
	struct tv_cpuid r;

	tv_cpuid(0, 0, &r);
	if (memcmp(&r.ebx, "Genu", 4) || memcmp(&r.edx, "ineI", 4) ||
	    memcmp(&r.ecx, "ntel", 4))
		return TV_ERR_NOT_INTEL;
	if (hv_signature_present())
		return TV_ERR_ALREADY_RUNNING;
	tv_cpuid(1, 0, &r);
	if (!(r.ecx & TV_BIT(5)))
		return TV_ERR_NO_VMX;
	return TV_OK;
}

static int check_vmxe_clear(void *arg)
{
	return (tv_read_cr4() & CR4_VMXE) ? TV_ERR_VMX_BUSY : TV_OK;
}

/* Lock IA32_FEATURE_CONTROL with VMXON enabled, or refuse if firmware
 * locked it with VMXON disabled.
 */
static int setup_feature_control(void *arg)
{
	u64 fc = tv_rdmsr(MSR_IA32_FEATURE_CONTROL);

	if (fc & FEATURE_CONTROL_LOCKED)
		return (fc & FEATURE_CONTROL_VMXON_OUTSIDE_SMX) ?
			TV_OK : TV_ERR_VMX_DISABLED;
	tv_wrmsr(MSR_IA32_FEATURE_CONTROL, fc | FEATURE_CONTROL_LOCKED |
		 FEATURE_CONTROL_VMXON_OUTSIDE_SMX);
	return TV_OK;
}

static int tv_on_online_cpus(int (*fn)(void *), void *arg)
{
	unsigned int cpu;
	int ret;

	for (cpu = 0; cpu < g_cpu_limit; cpu++) {
		if (!tv_plat_cpu_online(cpu))
			continue;
		ret = tv_plat_on_cpu(cpu, fn, arg);
		if (ret)
			return ret;
	}
	return TV_OK;
}

static void read_caps(struct tv_vmx_caps *c)
{
	bool true_ctls;

	memset(c, 0, sizeof(*c));
	c->basic = tv_rdmsr(MSR_IA32_VMX_BASIC);
	true_ctls = c->basic & VMX_BASIC_TRUE_CTLS;
	c->pin = tv_rdmsr(true_ctls ? MSR_IA32_VMX_TRUE_PINBASED_CTLS :
				      MSR_IA32_VMX_PINBASED_CTLS);
	c->proc = tv_rdmsr(true_ctls ? MSR_IA32_VMX_TRUE_PROCBASED_CTLS :
				       MSR_IA32_VMX_PROCBASED_CTLS);
	c->exit = tv_rdmsr(true_ctls ? MSR_IA32_VMX_TRUE_EXIT_CTLS :
				       MSR_IA32_VMX_EXIT_CTLS);
	c->entry = tv_rdmsr(true_ctls ? MSR_IA32_VMX_TRUE_ENTRY_CTLS :
					MSR_IA32_VMX_ENTRY_CTLS);
	c->misc = tv_rdmsr(MSR_IA32_VMX_MISC);
	c->cr0_fixed0 = tv_rdmsr(MSR_IA32_VMX_CR0_FIXED0);
	c->cr0_fixed1 = tv_rdmsr(MSR_IA32_VMX_CR0_FIXED1);
	c->cr4_fixed0 = tv_rdmsr(MSR_IA32_VMX_CR4_FIXED0);
	c->cr4_fixed1 = tv_rdmsr(MSR_IA32_VMX_CR4_FIXED1);
	/* Each MSR exists only when the control that needs it can be 1. */
	if (c->proc & ((u64)PROC_SECONDARY_CONTROLS << 32)) {
		c->proc2 = tv_rdmsr(MSR_IA32_VMX_PROCBASED_CTLS2);
		if (c->proc2 & ((u64)(PROC2_ENABLE_EPT | PROC2_ENABLE_VPID)
				<< 32))
			c->ept_vpid = tv_rdmsr(MSR_IA32_VMX_EPT_VPID_CAP);
		if (c->proc2 & ((u64)PROC2_ENABLE_VMFUNC << 32))
			c->vmfunc = tv_rdmsr(MSR_IA32_VMX_VMFUNC);
	}
}

static void read_features(struct tv_cpu_features *f)
{
	struct tv_cpuid r;
	u32 max;

	memset(f, 0, sizeof(*f));
	tv_cpuid(0, 0, &r);
	max = r.eax;
	tv_cpuid(1, 0, &r);
	f->mtrr = r.edx & TV_BIT(12);
	if (max >= 7) {
		tv_cpuid(7, 0, &r);
		f->invpcid = r.ebx & TV_BIT(10);
		f->waitpkg = r.ecx & TV_BIT(5);
	}
	if (max >= 0xd) {
		tv_cpuid(0xd, 0, &r);
		f->xcr0_supported = ((u64)r.edx << 32) | r.eax;
		tv_cpuid(0xd, 1, &r);
		f->xsaves = r.eax & TV_BIT(3);
	}
	tv_cpuid(0x80000000, 0, &r);
	max = r.eax;
	if (max >= 0x80000001) {
		tv_cpuid(0x80000001, 0, &r);
		f->rdtscp = r.edx & TV_BIT(27);
	}
	f->phys_bits = 36;
	if (max >= 0x80000008) {
		tv_cpuid(0x80000008, 0, &r);
		f->phys_bits = r.eax & 0xff;
	}
}

/*
 * The key of this load's TERMINATE hypercall: RDRAND where the CPU has it,
 * else the TSC (still never the same twice, and never public).
 */
static u64 make_terminate_key(void)
{
	struct tv_cpuid r;
	u64 key = tv_rdtsc() * 0x9e3779b97f4a7c15ULL, rnd;
	unsigned int tries;
	bool ok;

	tv_cpuid(1, 0, &r);
	if (!(r.ecx & TV_BIT(30)))
		return key;
	for (tries = 0; tries < 10; tries++) {
		asm volatile("rdrand %0; setc %1" : "=r"(rnd), "=qm"(ok));
		if (ok)
			return key ^ rnd;
	}
	return key;
}

static u64 rdmsr_cb(u32 msr, void *ctx)
{
	return tv_rdmsr(msr);
}

/* --- shared state ----------------------------------------------------- */

/* What exists, from the host: @cfg->ranges is ours to free. */
static int read_phys_ranges(struct tv_ept_config *cfg)
{
	unsigned int max = 256, n = 0;
	struct tv_phys_range *r;
	int ret;

	for (;;) {
		r = tv_plat_zalloc(max * sizeof(*r));
		if (!r)
			return TV_ERR_NO_MEMORY;
		ret = tv_plat_phys_ranges(r, max, &n);
		if (ret || n <= max)
			break;
		tv_plat_free(r);
		max = n;
	}
	if (ret) {
		tv_plat_free(r);
		return ret;
	}
	cfg->ranges = r;
	cfg->nranges = n;
	return TV_OK;
}

static void free_shared(struct tv_shared *s)
{
	if (!s)
		return;
	tv_ept_free(s->ept);
	if (s->msr_bitmap)
		tv_plat_free_pages(s->msr_bitmap, 1);
	tv_plat_free(s);
}

static int build_shared(struct tv_shared **out)
{
	struct tv_mtrr_state *mtrr = NULL;
	struct tv_ept_config cfg;
	struct tv_shared *s;
	const char *why;
	int ret;

	*out = NULL;
	s = tv_plat_zalloc(sizeof(*s));
	if (!s)
		return TV_ERR_NO_MEMORY;
	read_caps(&s->caps);
	read_features(&s->features);
	ret = tv_check_caps(&s->caps, &why);
	if (!ret)
		ret = tv_choose_controls(&s->caps, &s->features, &s->ctl, &why);
	if (!ret && tv_plat_fault(TV_FAULT_CAPS)) {
		ret = TV_ERR_VMX_CAPS;
		why = "injected";
	}
	if (ret) {
		tv_log(TV_LOG_ERR, "thinvisor: refusing to load: %s: %s\n",
		       tv_err_name(ret), why);
		goto fail;
	}
	s->cr_policy.cr0_fixed0 = s->caps.cr0_fixed0;
	s->cr_policy.cr0_fixed1 = s->caps.cr0_fixed1;
	s->cr_policy.cr4_fixed0 = s->caps.cr4_fixed0;
	s->cr_policy.cr4_fixed1 = s->caps.cr4_fixed1;
	s->cr_policy.unrestricted_guest = s->ctl.unrestricted_guest;
	s->terminate_key = make_terminate_key();
	s->mtf = s->caps.proc & ((u64)PROC_MTF << 32);
	s->triple_fault_panic = g_triple_fault_panic;

	ret = TV_ERR_NO_MEMORY;
	if (!tv_plat_fault(TV_FAULT_SHARED_ALLOC))
		s->msr_bitmap = tv_plat_alloc_pages(1);
	if (!s->msr_bitmap) {
		tv_log(TV_LOG_ERR, "thinvisor: cannot allocate the MSR bitmap\n");
		goto fail;
	}
	tv_msr_bitmap_build(s->msr_bitmap);

	mtrr = tv_plat_zalloc(sizeof(*mtrr));
	if (!mtrr)
		goto fail;
	/* MTRRCAP faults on a CPU without MTRRs: then everything is WB. */
	if (s->features.mtrr)
		tv_mtrr_capture(mtrr, s->features.phys_bits, rdmsr_cb, NULL);
	else
		tv_mtrr_set_uniform(mtrr, s->features.phys_bits, MEMTYPE_WB);
	memset(&cfg, 0, sizeof(cfg));
	cfg.phys_bits = s->features.phys_bits;
	cfg.use_1gb = s->ctl.ept_1gb;
	cfg.walk5 = s->ctl.ept_walk5;
	ret = read_phys_ranges(&cfg);
	if (!ret)
		ret = tv_plat_fault(TV_FAULT_EPT) ? TV_ERR_NO_MEMORY :
			tv_ept_build_identity(&s->ept, mtrr, &cfg);
	tv_plat_free(mtrr);
	tv_plat_free((void *)cfg.ranges);
	if (ret) {
		tv_log(TV_LOG_ERR, "thinvisor: cannot build the EPT: %s\n",
		       tv_err_name(ret));
		goto fail;
	}
	s->eptp = tv_ept_pointer(s->ept);
	tv_log(TV_LOG_INFO,
	       "thinvisor: EPT identity map of %u ranges up to 0x%llx in %llu KiB of tables (%s pages, %d-level), %llu KiB spare\n",
	       cfg.nranges, tv_ept_ranges_end(s->ept),
	       tv_ept_table_bytes(s->ept) >> 10,
	       cfg.use_1gb ? "1 GiB" : "2 MiB", tv_ept_levels(s->ept),
	       tv_ept_spare_bytes(s->ept) >> 10);
	*out = s;
	return TV_OK;
fail:
	free_shared(s);
	return ret;
}

/*
 * The shared pages (the MSR bitmap, and with it every EPT table, spares
 * included: core/ext.c) out of the guest's reach before any CPU runs
 * under the map: no CPU ever runs with them reachable, and the first CPU
 * virtualized only hides its own pages, which keeps its time as short as
 * the others'.  Nothing runs under the map yet: no root call, no flush.
 * A failure is said and retried as each CPU comes up (protect_self()).
 */
static void protect_shared(void)
{
	u64 pa = tv_plat_virt_to_phys(g_shared->msr_bitmap);

	if (tv_ext_core_protect_pages(&pa, 1))
		tv_log(TV_LOG_WARN,
		       "thinvisor: out of memory for EPT tables: the shared VMM pages stay reachable from the guest for now\n");
}

int tv_vmm_init(void)
{
	int ret;

	g_cpu_limit = tv_plat_cpu_limit();
	ret = check_cpu();
	if (!ret)
		ret = tv_on_online_cpus(check_vmxe_clear, NULL);
	if (ret) {
		tv_log(TV_LOG_ERR, "thinvisor: refusing to load: %s\n",
		       tv_err_name(ret));
		return ret;
	}
	ret = tv_plat_fault(TV_FAULT_FEATURE_CONTROL) ? TV_ERR_VMX_DISABLED :
		tv_on_online_cpus(setup_feature_control, NULL);
	if (ret) {
		tv_log(TV_LOG_ERR, "thinvisor: refusing to load: %s\n",
		       tv_err_name(ret));
		return ret;
	}
	ret = build_shared(&g_shared);
	if (ret)
		return ret;
	g_vcpus = tv_plat_zalloc(g_cpu_limit * sizeof(*g_vcpus));
	if (!g_vcpus) {
		free_shared(g_shared);
		g_shared = NULL;
		return TV_ERR_NO_MEMORY;
	}
	tv_log(TV_LOG_INFO,
	       "thinvisor: VMM memory: shared %llu KiB (EPT tables %llu KiB, MSR bitmap 4 KiB), per CPU %llu KiB (VMXON, VMCS, root IDT, %u KiB stack, state)\n",
	       (tv_ept_table_bytes(g_shared->ept) + tv_ept_meta_bytes(g_shared->ept) +
		TV_PAGE_SIZE + sizeof(*g_shared) + 1023) >> 10,
	       tv_ept_table_bytes(g_shared->ept) >> 10,
	       (3 * TV_PAGE_SIZE + TV_VMM_STACK_PAGES * TV_PAGE_SIZE +
		sizeof(struct tv_vcpu) + 1023) >> 10,
	       (unsigned int)(TV_VMM_STACK_PAGES * TV_PAGE_SIZE >> 10));
	protect_shared();
	return TV_OK;
}

void tv_vmm_fini(void)
{
	unsigned int cpu, stuck = 0;

	tv_vmm_down_all();
	for (cpu = 0; g_vcpus && cpu < g_cpu_limit; cpu++)
		if (g_vcpus[cpu])
			stuck++;
	if (stuck) {
		/* A CPU still runs on the EPT, its stack and VMCS: leak them
		 * all rather than free memory in use.
		 */
		tv_log(TV_LOG_ERR,
		       "thinvisor: %u CPUs could not be given back: leaving the VMM's memory allocated\n",
		       stuck);
		g_vcpus = NULL;
		g_shared = NULL;
		return;
	}
	tv_plat_free(g_vcpus);
	g_vcpus = NULL;
	tv_ext_core_fini();
	free_shared(g_shared);
	g_shared = NULL;
}

/* --- per CPU ----------------------------------------------------------- */

/* The vCPU of @cpu, or NULL when that CPU is not under the VMM. */
static struct tv_vcpu *vcpu_of(unsigned int cpu)
{
	return g_vcpus && cpu < g_cpu_limit ? g_vcpus[cpu] : NULL;
}

/*
 * A CPU's private pages, the guest must not reach, in one allocation:
 * the stack, then the VMXON region, the VMCS and the root IDT.  One
 * allocation of at most 2 MiB never crosses a 2 MiB boundary
 * (core/platform.h), so protecting them (core/ext.c) splits at most one
 * 2 MiB EPT leaf per CPU instead of one per scattered page: each split
 * writes 512 entries, and scattered pages made protection the larger
 * part of the time to virtualize a CPU.
 */
#define TV_VCPU_PRIVATE_PAGES (TV_VMM_STACK_PAGES + 3)

static unsigned int vcpu_pages(const struct tv_vcpu *v, u64 *pa)
{
	u64 base;
	unsigned int i;

	if (!v->stack)
		return 0;
	base = tv_plat_virt_to_phys(v->stack);
	for (i = 0; i < TV_VCPU_PRIVATE_PAGES; i++)
		pa[i] = base + (u64)i * TV_PAGE_SIZE;
	return TV_VCPU_PRIVATE_PAGES;
}

static void vcpu_free(struct tv_vcpu *v)
{
	u64 pa[TV_VCPU_PRIVATE_PAGES];

	if (!v)
		return;
	/* Other CPUs may still run under the EPT: give the pages back. */
	if (v->protected)
		tv_ext_core_unprotect_pages(pa, vcpu_pages(v, pa));
	if (v->stack)
		tv_plat_free_pages(v->stack, TV_VCPU_PRIVATE_PAGES);
	tv_plat_free(v);
}

static struct tv_vcpu *vcpu_alloc(unsigned int cpu)
{
	struct tv_vcpu *v;
	u8 *pages;

	if (tv_plat_fault(TV_FAULT_VCPU_ALLOC))
		return NULL;
	v = tv_plat_zalloc(sizeof(*v));
	if (!v)
		return NULL;
	v->cpu = cpu;
	v->vpid = (u16)(cpu + 1);
	v->shared = g_shared;
	v->stat_cycles = g_stat_cycles;
	/* Only the stack's top is read before it is written. */
	pages = tv_plat_alloc_pages_uninit(TV_VCPU_PRIVATE_PAGES);
	if (!pages) {
		vcpu_free(v);
		return NULL;
	}
	v->stack = pages;
	v->vmxon = pages + TV_VMM_STACK_PAGES * TV_PAGE_SIZE;
	v->vmcs = (u8 *)v->vmxon + TV_PAGE_SIZE;
	v->root_idt = (u8 *)v->vmcs + TV_PAGE_SIZE;
	/*
	 * The VMXON region needs only its revision (tv_vcpu_launch() writes
	 * it); the VMCS starts zeroed, whatever VMCLEAR leaves, and the root
	 * IDT's gates past the built ones must be not-present.
	 */
	memset(v->vmcs, 0, 2 * TV_PAGE_SIZE);
	memset(tv_stack_top(v), 0, sizeof(struct tv_stack_top));
	v->vmcs_pa = tv_plat_virt_to_phys(v->vmcs);
	return v;
}

static int launch_on_cpu(void *arg)
{
	return tv_vcpu_launch(arg);
}

/*
 * Hypercalls from the host run only where the VMM answers CPUID with its
 * signature: a VMCALL on a CPU that is not under it would raise #UD.
 */
static int terminate_on_cpu(void *arg)
{
	struct tv_vcpu *v = arg;

	if (!hv_signature_present()) {
		/* Not under the VMM (anymore): nothing of ours runs there. */
		v->launched = false;
		return TV_OK;
	}
	return tv_vcpu_terminate(v);
}

/* A root call (TV_HC_ROOT_CALL) on the current CPU. */
struct root_call {
	u64 key, fn, arg, ret;
};

static int root_call_on_cpu(void *arg)
{
	struct root_call *c = arg;

	/*
	 * Launched but not answering as us (whatever took CPUID over):
	 * refused, and not TV_ERR_BUSY, which tells the caller that no CPU
	 * is virtualized and the work may run unprotected (core/ext.c).
	 */
	if (!hv_signature_present())
		return TV_ERR_PLATFORM;
	c->ret = tv_asm_vmcall_root(c->key, c->fn, c->arg);
	return TV_OK;
}

int tv_vmm_root_call_one(unsigned int cpu,
			 int (*fn)(struct tv_vcpu *v, void *arg), void *arg)
{
	struct tv_vcpu *v = vcpu_of(cpu);
	struct root_call c;
	int err;

	if (!v || !v->launched)
		return TV_ERR_INVALID;
	c.key = g_shared->terminate_key;
	c.fn = (u64)fn;
	c.arg = (u64)arg;
	c.ret = 0;
	err = tv_plat_on_cpu(cpu, root_call_on_cpu, &c);
	return err ? err : (int)c.ret;
}

int tv_vmm_root_call_any(int (*fn)(struct tv_vcpu *v, void *arg), void *arg)
{
	unsigned int cpu = tv_plat_cpu_index();

	/*
	 * This CPU if it is under the VMM: no IPI (a CPU being virtualized
	 * protects its pages from here).  If the caller has moved since,
	 * the call still runs there, at the cost of one IPI.
	 */
	if (cpu < g_cpu_limit && vcpu_of(cpu) && vcpu_of(cpu)->launched)
		return tv_vmm_root_call_one(cpu, fn, arg);
	for (cpu = 0; cpu < g_cpu_limit; cpu++)
		if (vcpu_of(cpu) && vcpu_of(cpu)->launched)
			return tv_vmm_root_call_one(cpu, fn, arg);
	return TV_ERR_BUSY;
}

int tv_vmm_root_call_each(int (*fn)(struct tv_vcpu *v, void *arg), void *arg)
{
	return tv_vmm_root_call_others(~0u, fn, arg);
}

int tv_vmm_root_call_others(unsigned int skip,
			    int (*fn)(struct tv_vcpu *v, void *arg), void *arg)
{
	unsigned int cpu;
	int err;

	for (cpu = 0; cpu < g_cpu_limit; cpu++) {
		if (!vcpu_of(cpu) || cpu == skip)
			continue;
		err = tv_vmm_root_call_one(cpu, fn, arg);
		if (err && err != TV_ERR_INVALID)
			return err;
	}
	return TV_OK;
}

const struct tv_shared *tv_vmm_shared(void)
{
	return g_shared;
}

static bool is_last_online_cpu(unsigned int cpu)
{
	unsigned int c;

	for (c = cpu + 1; c < g_cpu_limit; c++)
		if (tv_plat_cpu_online(c))
			return false;
	return true;
}

/*
 * Self-protection: once a CPU is under the VMM, its VMXON region, VMCS,
 * root IDT and stack, and the shared MSR bitmap and EPT tables, become
 * inaccessible to the guest in every EPT view (core/ext.c; a guest access
 * gets #GP).  The log rings stay readable: the host drains them.  Only
 * whole pages can be protected: the small allocations (struct tv_vcpu,
 * struct tv_shared) share pages with the host's other data.  A failure
 * (no memory for the tables) leaves what could not be protected reachable
 * and says so; the VMM runs on.
 */
static void protect_self(struct tv_vcpu *v)
{
	u64 pa[TV_VCPU_PRIVATE_PAGES + 1];
	unsigned int n = vcpu_pages(v, pa);

	pa[n++] = tv_plat_virt_to_phys(g_shared->msr_bitmap);
	v->protected = true;
	if (tv_ext_core_protect_pages(pa, n))
		tv_log(TV_LOG_WARN,
		       "thinvisor: CPU %u: out of memory for EPT tables: some VMM pages stay reachable from the guest\n",
		       v->cpu);
}

int tv_vmm_cpu_up(unsigned int cpu)
{
	struct tv_vcpu *v;
	int ret;

	if (!g_shared || cpu >= g_cpu_limit)
		return TV_ERR_INVALID;
	if (g_vcpus[cpu])
		return TV_OK;
	if (tv_plat_fault(TV_FAULT_LAST_CPU) && cpu > 0 &&
	    is_last_online_cpu(cpu)) {
		tv_log(TV_LOG_ERR, "thinvisor: CPU %u: %s\n", cpu,
		       tv_err_name(TV_ERR_FAULT_INJECTED));
		return TV_ERR_FAULT_INJECTED;
	}
	v = vcpu_alloc(cpu);
	if (!v) {
		tv_log(TV_LOG_ERR, "thinvisor: CPU %u: cannot allocate VMM memory\n",
		       cpu);
		return TV_ERR_NO_MEMORY;
	}
	ret = tv_plat_on_cpu(cpu, launch_on_cpu, v);
	if (ret) {
		tv_log(TV_LOG_ERR, "thinvisor: CPU %u: not virtualized: %s\n",
		       cpu, tv_err_name(ret));
		vcpu_free(v);
		return ret;
	}
	g_vcpus[cpu] = v;
	/*
	 * The extensions' per-CPU set-up, in VMX root on that CPU; its
	 * signature check (a CPUID) also ends the launch's MTF probe.
	 */
	tv_vmm_root_call_one(cpu, tv_ext_cpu_up, NULL);
	protect_self(v);
	return TV_OK;
}

/*
 * The counts of a CPU given back.  Each line costs the host a few thousand
 * instructions (printk formats and stores it even when the console does
 * not print it): four lines were two thirds of the time to give a CPU
 * back.  So by default only events that reached VMX root are worth a
 * line; the whole breakdown comes at log_level 7 (debug), and tvctl stats
 * shows it while thinvisor runs.
 */
static void log_exit_counts(const struct tv_vcpu *v)
{
	unsigned int r;

	if (tv_log_get_level() < TV_LOG_DEBUG) {
		if (v->root_nmis | v->root_mces | v->root_events_dropped)
			tv_log(TV_LOG_INFO,
			       "thinvisor: CPU %u: %llu NMIs and %llu machine checks reached VMX root (%llu dropped in wait-for-SIPI)\n",
			       v->cpu, v->root_nmis, v->root_mces,
			       v->root_events_dropped);
		return;
	}
	tv_log(TV_LOG_INFO,
	       "thinvisor: CPU %u given back after %llu exits; %llu NMIs and %llu machine checks reached VMX root (%llu dropped in wait-for-SIPI)\n",
	       v->cpu, v->exits, v->root_nmis, v->root_mces,
	       v->root_events_dropped);
	for (r = 0; r < TV_STAT_REASONS; r++)
		if (v->stat[r].count)
			tv_log(TV_LOG_INFO,
			       "thinvisor: CPU %u exit reason %u (%s): %llu exits, %llu cycles in the VMM\n",
			       v->cpu, r, tv_exit_reason_name(r) ?: "unnamed",
			       v->stat[r].count, v->stat[r].cycles);
}

void tv_vmm_cpu_down(unsigned int cpu)
{
	struct tv_vcpu *v = vcpu_of(cpu);
	int ret;

	if (!v)
		return;
	ret = tv_plat_on_cpu(cpu, terminate_on_cpu, v);
	if (ret || v->launched) {
		/* Still under the VMM: its memory must stay. */
		tv_log(TV_LOG_ERR, "thinvisor: CPU %u: could not be given back: %s\n",
		       cpu, tv_err_name(ret ? ret : TV_ERR_BUSY));
		return;
	}
	g_vcpus[cpu] = NULL;
	log_exit_counts(v);
	vcpu_free(v);
}

int tv_vmm_up_all(void)
{
	unsigned int cpu;
	int ret;

	for (cpu = 0; cpu < g_cpu_limit; cpu++) {
		if (!tv_plat_cpu_online(cpu))
			continue;
		ret = tv_vmm_cpu_up(cpu);
		if (ret) {
			tv_vmm_down_all();
			return ret;
		}
	}
	return TV_OK;
}

void tv_vmm_down_all(void)
{
	unsigned int cpu;

	if (!g_vcpus)
		return;
	for (cpu = 0; cpu < g_cpu_limit; cpu++)
		tv_vmm_cpu_down(cpu);
}

void tv_vmm_cpu_status(unsigned int cpu, struct tv_cpu_status *st)
{
	const struct tv_vcpu *v = vcpu_of(cpu);

	memset(st, 0, sizeof(*st));
	if (!v)
		return;
	st->virtualized = v->launched;
	st->vpid = v->vpid;
	st->exits = v->exits;
}

bool tv_vmm_cpu_stats(unsigned int cpu, struct tv_exit_stat *out)
{
	const struct tv_vcpu *v = vcpu_of(cpu);

	if (!v)
		return false;
	memcpy(out, v->stat, sizeof(v->stat));
	return true;
}

/* Runs on the vCPU's own CPU as the guest: its VMM is not running. */
static int stats_reset_on_cpu(void *arg)
{
	struct tv_vcpu *v = arg;

	memset(v->stat, 0, sizeof(v->stat));
	v->exits = 0;
	return TV_OK;
}

void tv_vmm_stats_reset(void)
{
	unsigned int cpu;

	for (cpu = 0; cpu < g_cpu_limit; cpu++)
		if (vcpu_of(cpu))
			tv_plat_on_cpu(cpu, stats_reset_on_cpu, vcpu_of(cpu));
}

int tv_vmm_request_exits(u32 proc_controls)
{
	u32 proc;

	if (!g_shared)
		return TV_ERR_INVALID;
	proc = tv_adjust_controls(g_shared->caps.proc,
				  g_shared->ctl.proc | proc_controls);
	if ((proc & proc_controls) != proc_controls)
		return TV_ERR_VMX_CAPS;
	g_shared->ctl.proc = proc;
	return TV_OK;
}

int tv_vmm_intercept_msr(u32 msr, bool read, bool write)
{
	if (!g_shared)
		return TV_ERR_INVALID;
	return tv_msr_bitmap_set(g_shared->msr_bitmap, msr, read, write) ?
		TV_OK : TV_ERR_INVALID;
}

static int ping_on_cpu(void *arg)
{
	if (!hv_signature_present())
		return TV_ERR_BUSY;
	return tv_vmcall(TV_HC_PING, 0, 0) == TV_HC_PONG ? TV_OK : TV_ERR_BUSY;
}

void tv_vmm_set_triple_fault_panic(bool dump_and_panic)
{
	g_triple_fault_panic = dump_and_panic;
	if (g_shared)
		g_shared->triple_fault_panic = dump_and_panic;
}

void tv_vmm_set_stat_cycles(bool on)
{
	g_stat_cycles = on;
}

int tv_vmm_ping(unsigned int cpu)
{
	if (!vcpu_of(cpu))
		return TV_ERR_INVALID;
	return tv_plat_on_cpu(cpu, ping_on_cpu, NULL);
}

u64 tv_vmm_ept_bytes(void)
{
	return g_shared ? tv_ept_table_bytes(g_shared->ept) : 0;
}
