// SPDX-License-Identifier: MIT
/*
 * The extension registry (core/ext.c): registration rules, and the union
 * of what the extensions ask for that every CPU's controls are built from
 * (exits, controls, exception bitmap and #PF filter, CR masks, MSR and
 * I/O bitmaps), including what unregistration takes back.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <stdint.h>
#include <cmocka.h>
#include "fake_platform.h"
#include "ept_walk.h"
#include "core/vcpu.h"
#include "core/ext.h"
#include "core/emulate.h"
#include "core/ept.h"
#include "arch/x86/ept.h"
#include "arch/x86/msr.h"

static struct tv_shared shared;
static u8 msr_bitmap[TV_MSR_BITMAP_BYTES];

/* A CPU that allows every control the API may ask for. */
static int setup(void **state)
{
	fake_reset();
	fake.cpus = 2;
	fake.vcpus = 2;
	memset(&shared, 0, sizeof(shared));
	shared.caps.proc = 0xffffffff00000000ULL;
	shared.caps.proc2 = 0xffffffff00000000ULL;
	shared.msr_bitmap = msr_bitmap;
	tv_msr_bitmap_build(msr_bitmap);
	fake.shared = &shared;
	return 0;
}

static int teardown(void **state)
{
	tv_ext_core_fini();
	assert_int_equal(fake.pages_live, 0);
	return 0;
}

static enum tv_ext_reply no_event(struct tv_ext *ext, struct tv_ext_event *ev)
{
	return TV_EXT_CONTINUE;
}

#define EXT(n) { .name = (n), .api_version = TV_EXT_API_VERSION, \
		 .event = no_event }

static bool exits(u32 reason)
{
	return (tv_ext_g.exits[reason / 64] >> (reason % 64)) & 1;
}

static void attach_active(struct tv_ext *e)
{
	assert_int_equal(tv_ext_core_attach(e), TV_OK);
	tv_ext_core_activate(e);
}

static void registration_rules(void **state)
{
	struct tv_ext bad_version = EXT("old"), no_name = EXT(NULL);
	struct tv_ext e[TV_EXT_MAX + 1] = { 0 };
	unsigned int i;

	bad_version.api_version = TV_EXT_API_VERSION + 1;
	assert_int_equal(tv_ext_core_attach(&bad_version), TV_ERR_INVALID);
	assert_int_equal(tv_ext_core_attach(&no_name), TV_ERR_INVALID);
	assert_int_equal(tv_ext_core_attach(NULL), TV_ERR_INVALID);
	for (i = 0; i <= TV_EXT_MAX; i++)
		e[i] = (struct tv_ext)EXT("e");
	for (i = 0; i < TV_EXT_MAX; i++)
		assert_int_equal(tv_ext_core_attach(&e[i]), TV_OK);
	assert_int_equal(tv_ext_core_attach(&e[0]), TV_ERR_EXISTS);
	assert_int_equal(tv_ext_core_attach(&e[TV_EXT_MAX]), TV_ERR_BUSY);
	tv_ext_core_detach(&e[3]);
	assert_int_equal(tv_ext_core_attach(&e[TV_EXT_MAX]), TV_OK);
	for (i = 0; i <= TV_EXT_MAX; i++)
		tv_ext_core_detach(&e[i]);
	/* Not loaded: nothing to extend. */
	fake.shared = NULL;
	assert_int_equal(tv_ext_core_attach(&e[0]), TV_ERR_BUSY);
}

static void percpu_data_is_zeroed_and_freed(void **state)
{
	struct tv_ext e = EXT("pc");
	long base;

	e.percpu_size = 24;
	assert_int_equal(tv_ext_core_attach(&e), TV_OK);
	/* The registry's own tables stay until tv_ext_core_fini(). */
	base = fake.zallocs_live - 1 - 2;
	assert_non_null(tv_ext_g.slot[e.slot].percpu[1]);
	assert_int_equal(((char *)tv_ext_g.slot[e.slot].percpu[1])[23], 0);
	tv_ext_core_detach(&e);
	assert_int_equal(fake.zallocs_live, base);
	/* Allocation failure midway frees what was allocated. */
	fake.fail_after = 1;
	assert_int_equal(tv_ext_core_attach(&e), TV_ERR_NO_MEMORY);
	assert_int_equal(fake.zallocs_live, base);
}

static void inactive_extensions_ask_nothing(void **state)
{
	struct tv_ext e = EXT("init");

	assert_int_equal(tv_ext_core_attach(&e), TV_OK);
	assert_int_equal(tv_ext_core_want(&e, TV_EV_RDTSC, true), TV_OK);
	assert_int_equal(tv_ext_g.proc, 0);
	assert_false(exits(TV_EXIT_RDTSC));
	fake.root_calls = 0;
	tv_ext_core_activate(&e);
	assert_int_equal(tv_ext_g.proc, PROC_RDTSC_EXITING);
	assert_true(exits(TV_EXIT_RDTSC));
	assert_true(exits(TV_EXIT_RDTSCP));
	/* Applied on every CPU, then cpu_up on every CPU. */
	assert_int_equal(fake.root_calls, 2 * 2);
	tv_ext_core_detach(&e);
	assert_int_equal(tv_ext_g.proc, 0);
	assert_false(exits(TV_EXIT_RDTSC));
}

/* Delivery visits only the slots that asked for an event's type. */
static void delivery_slots_follow_events(void **state)
{
	struct tv_ext a = EXT("a"), b = EXT("b");

	attach_active(&a);
	attach_active(&b);
	assert_int_equal(tv_ext_core_want(&a, TV_EV_RDTSC, true), TV_OK);
	assert_int_equal(tv_ext_core_want_cpuid(&b, 0x40000100, true), TV_OK);
	assert_int_equal(tv_ext_core_want_cpuid(&a, 0x40000101, true), TV_OK);
	assert_int_equal(tv_ext_g.type_slots[TV_EV_RDTSC], TV_BIT(a.slot));
	assert_int_equal(tv_ext_g.type_slots[TV_EV_CPUID],
			 TV_BIT(a.slot) | TV_BIT(b.slot));
	assert_int_equal(tv_ext_g.type_slots[TV_EV_IO], 0);
	/* Finer selections count too: an MSR read but no write. */
	assert_int_equal(tv_ext_core_want_msr(&b, 0x175, true, false), TV_OK);
	assert_int_equal(tv_ext_g.type_slots[TV_EV_MSR_READ], TV_BIT(b.slot));
	assert_int_equal(tv_ext_g.type_slots[TV_EV_MSR_WRITE], 0);
	assert_int_equal(tv_ext_core_want_msr(&b, 0x175, false, false), TV_OK);
	assert_int_equal(tv_ext_g.type_slots[TV_EV_MSR_READ], 0);
	assert_int_equal(tv_ext_core_want_cpuid(&a, 0x40000101, false), TV_OK);
	assert_int_equal(tv_ext_g.type_slots[TV_EV_CPUID], TV_BIT(b.slot));
	tv_ext_core_detach(&b);
	assert_int_equal(tv_ext_g.type_slots[TV_EV_CPUID], 0);
	assert_int_equal(tv_ext_g.type_slots[TV_EV_RDTSC], TV_BIT(a.slot));
	tv_ext_core_detach(&a);
	assert_int_equal(tv_ext_g.type_slots[TV_EV_RDTSC], 0);
}

static void controls_follow_events(void **state)
{
	struct tv_ext e = EXT("ctl");

	attach_active(&e);
	assert_int_equal(tv_ext_core_want(&e, TV_EV_DR_ACCESS, true), TV_OK);
	assert_int_equal(tv_ext_core_want(&e, TV_EV_INVLPG, true), TV_OK);
	assert_int_equal(tv_ext_core_want(&e, TV_EV_DESCRIPTOR, true), TV_OK);
	assert_int_equal(tv_ext_core_want(&e, TV_EV_XSETBV, true), TV_OK);
	assert_int_equal(tv_ext_g.proc,
			 PROC_MOV_DR_EXITING | PROC_INVLPG_EXITING);
	assert_int_equal(tv_ext_g.proc2, PROC2_DESC_TABLE_EXITING);
	assert_true(exits(TV_EXIT_DR_ACCESS));
	assert_true(exits(TV_EXIT_GDTR_IDTR));
	assert_true(exits(TV_EXIT_LDTR_TR));
	assert_true(exits(TV_EXIT_XSETBV));
	assert_false(exits(TV_EXIT_CPUID));
	assert_int_equal(tv_ext_core_want(&e, TV_EV_CPUID, true),
			 TV_ERR_INVALID);
	assert_int_equal(tv_ext_core_want(&e, TV_EV_INVLPG, false), TV_OK);
	assert_int_equal(tv_ext_g.proc, PROC_MOV_DR_EXITING);
	tv_ext_core_detach(&e);
}

static void unsupported_controls_are_refused(void **state)
{
	struct tv_ext e = EXT("old cpu");

	/* A CPU that cannot exit on descriptor tables nor CR8 loads. */
	shared.caps.proc2 &= ~((u64)PROC2_DESC_TABLE_EXITING << 32);
	shared.caps.proc &= ~((u64)PROC_CR8_LOAD_EXITING << 32);
	attach_active(&e);
	assert_int_equal(tv_ext_core_want(&e, TV_EV_DESCRIPTOR, true),
			 TV_ERR_UNSUPPORTED);
	assert_int_equal(tv_ext_core_want_cr(&e, 8, false, true, 0),
			 TV_ERR_UNSUPPORTED);
	assert_int_equal(tv_ext_g.proc | tv_ext_g.proc2, 0);
	tv_ext_core_detach(&e);
}

static void cr_selection(void **state)
{
	struct tv_ext e = EXT("cr");

	attach_active(&e);
	assert_int_equal(tv_ext_core_want_cr(&e, 3, true, true, 0), TV_OK);
	assert_int_equal(tv_ext_core_want_cr(&e, 4, false, true, CR4_VMXE << 1),
			 TV_OK);
	assert_int_equal(tv_ext_core_want_cr(&e, 0, false, true, CR0_WP),
			 TV_OK);
	assert_int_equal(tv_ext_g.proc,
			 PROC_CR3_LOAD_EXITING | PROC_CR3_STORE_EXITING);
	assert_int_equal(tv_ext_g.cr0_mask, CR0_WP);
	assert_int_equal(tv_ext_g.cr4_mask, CR4_VMXE << 1);
	assert_true(exits(TV_EXIT_CR_ACCESS));
	/* CR0/CR4 reads never exit; CR2 is no exit at all. */
	assert_int_equal(tv_ext_core_want_cr(&e, 0, true, false, 0),
			 TV_ERR_INVALID);
	assert_int_equal(tv_ext_core_want_cr(&e, 2, false, true, 0),
			 TV_ERR_INVALID);
	assert_int_equal(tv_ext_core_want_cr(&e, 3, false, false, 0), TV_OK);
	assert_int_equal(tv_ext_g.proc, 0);
	tv_ext_core_detach(&e);
	assert_int_equal(tv_ext_g.cr0_mask | tv_ext_g.cr4_mask, 0);
	assert_false(exits(TV_EXIT_CR_ACCESS));
}

static void page_fault_filters_merge(void **state)
{
	struct tv_ext a = EXT("a"), b = EXT("b");

	attach_active(&a);
	attach_active(&b);
	/* Only writes to present pages: P=1, W/R=1. */
	assert_int_equal(tv_ext_core_want_exception(&a, VEC_PF, true, 3, 3),
			 TV_OK);
	assert_int_equal(tv_ext_g.exceptions, TV_BIT(VEC_PF));
	assert_int_equal(tv_ext_g.pf_mask, 3);
	assert_int_equal(tv_ext_g.pf_match, 3);
	assert_int_equal(tv_ext_core_want_exception(&b, VEC_BP, true, 0, 0),
			 TV_OK);
	assert_int_equal(tv_ext_g.pf_mask, 3);
	/* A second, different filter: every #PF exits, software filters. */
	assert_int_equal(tv_ext_core_want_exception(&b, VEC_PF, true, 1, 0),
			 TV_OK);
	assert_int_equal(tv_ext_g.pf_mask, 0);
	assert_int_equal(tv_ext_g.pf_match, 0);
	assert_int_equal(tv_ext_g.exceptions, TV_BIT(VEC_PF) | TV_BIT(VEC_BP));
	tv_ext_core_detach(&b);
	assert_int_equal(tv_ext_g.pf_mask, 3);
	assert_int_equal(tv_ext_g.exceptions, TV_BIT(VEC_PF));
	/* NMI and #MC are thinvisor's own. */
	assert_int_equal(tv_ext_core_want_exception(&a, VEC_NMI, true, 0, 0),
			 TV_ERR_INVALID);
	assert_int_equal(tv_ext_core_want_exception(&a, VEC_MC, true, 0, 0),
			 TV_ERR_INVALID);
	assert_int_equal(tv_ext_core_want_exception(&a, 32, true, 0, 0),
			 TV_ERR_INVALID);
	tv_ext_core_detach(&a);
	assert_int_equal(tv_ext_g.exceptions, 0);
}

static void msr_bitmap_follows_extensions(void **state)
{
	struct tv_ext a = EXT("a"), b = EXT("b");

	attach_active(&a);
	attach_active(&b);
	assert_false(tv_msr_bitmap_exits(msr_bitmap, 0xc0000082, true));
	assert_int_equal(tv_ext_core_want_msr(&a, 0xc0000082, false, true),
			 TV_OK);
	assert_int_equal(tv_ext_core_want_msr(&b, 0xc0000082, true, false),
			 TV_OK);
	assert_true(tv_msr_bitmap_exits(msr_bitmap, 0xc0000082, true));
	assert_true(tv_msr_bitmap_exits(msr_bitmap, 0xc0000082, false));
	assert_true(exits(TV_EXIT_WRMSR));
	assert_true(exits(TV_EXIT_RDMSR));
	tv_ext_core_detach(&a);
	assert_false(tv_msr_bitmap_exits(msr_bitmap, 0xc0000082, true));
	assert_true(tv_msr_bitmap_exits(msr_bitmap, 0xc0000082, false));
	assert_false(exits(TV_EXIT_WRMSR));
	/* A default intercept (VMX capabilities) survives its release. */
	assert_int_equal(tv_ext_core_want_msr(&b, 0x480, true, true), TV_OK);
	assert_int_equal(tv_ext_core_want_msr(&b, 0x480, false, false), TV_OK);
	assert_true(tv_msr_bitmap_exits(msr_bitmap, 0x480, false));
	/* Outside the bitmap ranges every access exits anyway. */
	assert_int_equal(tv_ext_core_want_msr(&b, 0x40000000, true, false),
			 TV_ERR_INVALID);
	tv_ext_core_detach(&b);
	assert_false(tv_msr_bitmap_exits(msr_bitmap, 0xc0000082, false));
	assert_false(exits(TV_EXIT_RDMSR));
}

static void io_bitmap_union(void **state)
{
	struct tv_ext a = EXT("a"), b = EXT("b");

	attach_active(&a);
	attach_active(&b);
	assert_int_equal(tv_ext_core_want_io(&a, 0x70, true), TV_OK);
	assert_int_equal(tv_ext_core_want_io(&b, 0x8001, true), TV_OK);
	assert_int_equal(tv_ext_g.proc, PROC_USE_IO_BITMAPS);
	assert_int_equal(tv_ext_g.io_scratch[0x70 / 8], 1 << (0x70 % 8));
	assert_int_equal(tv_ext_g.io_scratch[4096 + 1 / 8], 1 << 1);
	assert_int_equal(tv_ext_core_want_io(&a, 0x10000, true),
			 TV_ERR_INVALID);
	tv_ext_core_detach(&a);
	assert_int_equal(tv_ext_g.io_scratch[0x70 / 8], 0);
	assert_int_equal(tv_ext_g.io_scratch[4096], 2);
	tv_ext_core_detach(&b);
	assert_int_equal(tv_ext_g.proc, 0);
	assert_int_equal(tv_ext_g.io_scratch[4096], 0);
}

static void vmcall_numbers(void **state)
{
	struct tv_ext a = EXT("a"), b = EXT("b");

	attach_active(&a);
	attach_active(&b);
	assert_int_equal(tv_ext_core_want_vmcall(&a, TV_HC_EXT_FIRST, 3),
			 TV_OK);
	assert_true(exits(TV_EXIT_VMCALL));
	assert_int_equal(tv_ext_core_want_vmcall(&b, TV_HC_EXT_FIRST, 0),
			 TV_ERR_EXISTS);
	assert_int_equal(tv_ext_core_want_vmcall(&b, TV_HC_PING, 0),
			 TV_ERR_INVALID);
	assert_int_equal(tv_ext_core_want_vmcall(&b, TV_HC_EXT_LAST + 1, 0),
			 TV_ERR_INVALID);
	assert_int_equal(tv_ext_core_want_vmcall(&b, TV_HC_EXT_LAST, 4),
			 TV_ERR_INVALID);
	tv_ext_core_detach(&a);
	assert_false(exits(TV_EXIT_VMCALL));
	/* Released with its owner. */
	assert_int_equal(tv_ext_core_want_vmcall(&b, TV_HC_EXT_FIRST, 0),
			 TV_OK);
	tv_ext_core_detach(&b);
}

static void cpuid_leaves(void **state)
{
	struct tv_ext e = EXT("cpuid");
	u32 i;

	attach_active(&e);
	for (i = 0; i < TV_EXT_MAX_LEAVES; i++)
		assert_int_equal(tv_ext_core_want_cpuid(&e, 0x1000 + i, true),
				 TV_OK);
	assert_int_equal(tv_ext_core_want_cpuid(&e, 0x2000, true),
			 TV_ERR_NO_SPACE);
	/* Asking twice takes no second entry. */
	assert_int_equal(tv_ext_core_want_cpuid(&e, 0x1000, true), TV_OK);
	assert_true(exits(TV_EXIT_CPUID));
	for (i = 0; i < TV_EXT_MAX_LEAVES; i++)
		assert_int_equal(tv_ext_core_want_cpuid(&e, 0x1000 + i, false),
				 TV_OK);
	assert_false(exits(TV_EXIT_CPUID));
	assert_int_equal(tv_ext_core_want_cpuid(&e, TV_EXT_ALL_LEAVES, true),
			 TV_OK);
	assert_true(exits(TV_EXIT_CPUID));
	tv_ext_core_detach(&e);
	assert_false(exits(TV_EXIT_CPUID));
}

/*
 * The leaves the exit stub's CPUID fast path leaves to the general path:
 * only those asked for (31 and above share a bit), the union of every
 * extension's, none once they let go.
 */
static void cpuid_leaf_mask_for_the_stub(void **state)
{
	static const u32 few[] = { 0, 1, 7, 30 };
	static const u32 high[] = { 31, 0x40000000, 0x80000001 };
	struct tv_ext a = EXT("one"), b = EXT("hv");

	assert_int_equal(tv_ext_cpuid_leaf_mask(few, 4, false),
			 0x40000083u);
	assert_int_equal(tv_ext_cpuid_leaf_mask(high, 3, false), 0x80000000u);
	assert_int_equal(tv_ext_cpuid_leaf_mask(NULL, 0, false), 0);
	assert_int_equal(tv_ext_cpuid_leaf_mask(NULL, 0, true), ~0u);
	attach_active(&a);
	attach_active(&b);
	assert_int_equal(tv_ext_g.cpuid_leaves, 0);
	assert_int_equal(tv_ext_core_want_cpuid(&a, 1, true), TV_OK);
	assert_int_equal(tv_ext_g.cpuid_leaves, 0x2);
	assert_int_equal(tv_ext_core_want_cpuid(&b, 0x40000001, true), TV_OK);
	assert_int_equal(tv_ext_g.cpuid_leaves, 0x80000002u);
	assert_int_equal(tv_ext_core_want_cpuid(&a, 1, false), TV_OK);
	assert_int_equal(tv_ext_g.cpuid_leaves, 0x80000000u);
	assert_int_equal(tv_ext_core_want_cpuid(&a, TV_EXT_ALL_LEAVES, true),
			 TV_OK);
	assert_int_equal(tv_ext_g.cpuid_leaves, ~0u);
	tv_ext_core_detach(&a);
	assert_int_equal(tv_ext_g.cpuid_leaves, 0x80000000u);
	tv_ext_core_detach(&b);
	assert_int_equal(tv_ext_g.cpuid_leaves, 0);
}

static int run_fn_calls;

static int run_fn(struct tv_ext *ext, void *arg)
{
	run_fn_calls++;
	return run_fn_calls == *(int *)arg ? 42 : 0;
}

static void run_on_cpus(void **state)
{
	struct tv_ext e = EXT("run"), other = EXT("other");
	int fail_at = 0;

	attach_active(&e);
	assert_int_equal(tv_ext_core_run_on_cpus(&e, run_fn, &fail_at), 0);
	assert_int_equal(run_fn_calls, 2);
	fail_at = 3;
	assert_int_equal(tv_ext_core_run_on_cpus(&e, run_fn, &fail_at), 42);
	assert_int_equal(tv_ext_core_run_on_cpus(&other, run_fn, &fail_at),
			 TV_ERR_INVALID);
	tv_ext_core_detach(&e);
}

/* --- pages and views: checked by a walk from the EPT pointer ---------- */

#define GiB 0x40000000ULL

static u64 *walk(u64 eptp, u64 gpa, u64 *span)
{
	u64 *t = (u64 *)(uintptr_t)(eptp & EPT_ADDR_MASK), *e;
	int l;

	for (l = 4; l >= 1; l--) {
		e = &t[(gpa >> (12 + 9 * (l - 1))) & 511];
		*span = 0x1000ULL << (9 * (l - 1));
		if (l == 1 || (l < 4 && (*e & EPT_LARGE_PAGE)))
			return e;
		t = (u64 *)(uintptr_t)(*e & EPT_ADDR_MASK);
	}
	return NULL;
}

static u64 rights_of(u64 eptp, u64 gpa)
{
	u64 span;

	return *walk(eptp, gpa, &span) & EPT_RWX;
}

/* The host page the CPU reaches for guest page @gpa. */
static u64 frame_of(u64 eptp, u64 gpa)
{
	u64 span, e = *walk(eptp, gpa, &span);

	return ((e & EPT_ADDR_MASK) & ~(span - 1)) |
	       (gpa & (span - 1) & ~0xfffULL);
}

static int setup_ept(void **state)
{
	static struct tv_mtrr_state m;
	struct tv_ept_config cfg = { .phys_bits = 36, .use_1gb = true };

	setup(state);
	tv_mtrr_set_uniform(&m, 36, MEMTYPE_WB);
	assert_int_equal(tv_ept_build_identity(&shared.ept, &m, &cfg), TV_OK);
	shared.eptp = tv_ept_pointer(shared.ept);
	shared.caps.ept_vpid = EPT_CAP_EXEC_ONLY;
	return 0;
}

static int teardown_ept(void **state)
{
	tv_ext_core_fini();
	tv_ept_free(shared.ept);
	shared.ept = NULL;
	assert_int_equal(fake.pages_live, 0);
	assert_int_equal(fake.zallocs_live, 0);
	return 0;
}

static void page_set_and_undo(void **state)
{
	struct tv_ext e = EXT("pages");
	u64 eptp = shared.eptp, g = GiB + 0x5000;

	attach_active(&e);
	assert_int_equal(tv_ext_core_page_set(&e, 0, g, TV_ACCESS_READ |
					      TV_ACCESS_EXEC, g), TV_OK);
	assert_int_equal(rights_of(eptp, g), EPT_READ | EPT_EXEC);
	assert_int_equal(rights_of(eptp, g + 0x1000), EPT_RWX);
	/* Execute-only, another frame: the DdiMon page. */
	assert_int_equal(tv_ext_core_page_set(&e, 0, g, TV_ACCESS_EXEC,
					      0x7000), TV_OK);
	assert_int_equal(rights_of(eptp, g), EPT_EXEC);
	assert_int_equal(frame_of(eptp, g), 0x7000);
	/* Write without read is no valid EPT entry; nor past the map. */
	assert_int_equal(tv_ext_core_page_set(&e, 0, g, TV_ACCESS_WRITE, g),
			 TV_ERR_INVALID);
	assert_int_equal(tv_ext_core_page_set(&e, 0, 1ULL << 36, 0, 0),
			 TV_ERR_INVALID);
	assert_int_equal(tv_ext_core_page_set_range(&e, 0, 2 * GiB, 3 * 0x200000,
						    TV_ACCESS_READ), TV_OK);
	assert_int_equal(rights_of(eptp, 2 * GiB + 0x5ff000), EPT_READ);
	assert_int_equal(rights_of(eptp, 2 * GiB + 0x600000), EPT_RWX);
	assert_true(fake.flushes > 0);
	/* Unregistering gives every page back. */
	tv_ext_core_detach(&e);
	assert_int_equal(rights_of(eptp, g), EPT_RWX);
	assert_int_equal(frame_of(eptp, g), g);
	assert_int_equal(rights_of(eptp, 2 * GiB + 0x5ff000), EPT_RWX);
}

static void views_are_copies(void **state)
{
	struct tv_ext e = EXT("views"), other = EXT("other");
	u64 g = 0x123000;
	int v;

	attach_active(&e);
	attach_active(&other);
	v = tv_ext_core_view_create(&e);
	assert_true(v > 0);
	assert_int_not_equal(tv_ext_g.view_eptp[v], shared.eptp);
	assert_int_equal(tv_ext_core_page_set(&e, v, g, TV_ACCESS_READ, 0x9000),
			 TV_OK);
	assert_int_equal(frame_of(tv_ext_g.view_eptp[v], g), 0x9000);
	assert_int_equal(frame_of(shared.eptp, g), g);
	/* Another extension's view is not yours to change. */
	assert_int_equal(tv_ext_core_page_set(&other, v, g, 0, g),
			 TV_ERR_INVALID);
	tv_ext_core_detach(&e);
	assert_int_equal(tv_ext_g.view_eptp[v], 0);
	tv_ext_core_detach(&other);
}

static void own_pages_out_of_reach(void **state)
{
	struct tv_ext e = EXT("intruder");
	u64 vmcs = 3 * GiB + 0x42000;
	int v;

	attach_active(&e);
	v = tv_ext_core_view_create(&e);
	assert_int_equal(tv_ext_core_protect_pages(&vmcs, 1), TV_OK);
	assert_true(tv_ext_is_protected(vmcs + 0x10));
	assert_int_equal(rights_of(shared.eptp, vmcs), 0);
	assert_int_equal(rights_of(tv_ext_g.view_eptp[v], vmcs), 0);
	/* Every table of every view is protected too, spares included. */
	assert_true(tv_ext_g.nprotected >=
		    1 + (tv_ept_table_bytes(shared.ept) >> 12));
	assert_true(tv_ext_is_protected(shared.eptp & EPT_ADDR_MASK));
	assert_true(tv_ext_is_protected(tv_ext_g.view_eptp[v] & EPT_ADDR_MASK));
	/* No extension can open them, nor map a view onto them. */
	assert_int_equal(tv_ext_core_page_set(&e, 0, vmcs, TV_ACCESS_ALL, vmcs),
			 TV_ERR_INVALID);
	assert_int_equal(tv_ext_core_page_set(&e, v, 0x5000, TV_ACCESS_ALL,
					      vmcs), TV_ERR_INVALID);
	assert_int_equal(tv_ext_core_page_set_range(&e, 0, vmcs - 0x1000,
						    0x3000, TV_ACCESS_ALL),
			 TV_OK);
	assert_int_equal(rights_of(shared.eptp, vmcs), 0);
	/* Given back before it is freed. */
	tv_ext_core_unprotect_pages(&vmcs, 1);
	assert_false(tv_ext_is_protected(vmcs));
	assert_int_equal(rights_of(shared.eptp, vmcs), EPT_RWX);
	tv_ext_core_detach(&e);
}

/*
 * Many pages, added out of order and across growths of the set, removed
 * in runs longer than one root call takes: the set stays sorted and
 * exact, and the EPT follows it.
 */
static void protected_set_stays_exact(void **state)
{
	enum { N = 300 };
	u64 base = 3 * GiB + 0x200000, pa[N], out[N + 64];
	unsigned int i, n;

	for (i = 0; i < N; i++)
		pa[i] = base + (u64)((i * 37) % N) * 0x1000;
	assert_int_equal(tv_ext_core_protect_pages(pa, 100), TV_OK);
	assert_int_equal(tv_ext_core_protect_pages(pa + 100, N - 100), TV_OK);
	/* Again: nothing doubles. */
	assert_int_equal(tv_ext_core_protect_pages(pa, 10), TV_OK);
	n = tv_ext_core_protected(out, TV_ARRAY_SIZE(out));
	assert_int_equal(n, tv_ext_g.nprotected);
	for (i = 1; i < n; i++)
		assert_true(out[i - 1] < out[i]);
	for (i = 0; i < N; i++) {
		assert_true(tv_ext_is_protected(base + i * 0x1000 + 8));
		assert_int_equal(rights_of(shared.eptp, base + i * 0x1000), 0);
	}
	assert_false(tv_ext_is_protected(base - 0x1000));
	assert_false(tv_ext_is_protected(base + N * 0x1000));
	/* Every other page back, 150 in one call. */
	for (i = 0; i < N / 2; i++)
		pa[i] = base + (u64)(2 * i) * 0x1000;
	tv_ext_core_unprotect_pages(pa, N / 2);
	for (i = 0; i < N; i++) {
		assert_int_equal(tv_ext_is_protected(base + i * 0x1000), i & 1);
		assert_int_equal(rights_of(shared.eptp, base + i * 0x1000),
				 i & 1 ? 0 : EPT_RWX);
	}
	assert_int_equal(tv_ext_core_protected(out, TV_ARRAY_SIZE(out)),
			 n - N / 2);
}

static bool ve_control(void)
{
	return tv_ext_g.proc2 & PROC2_EPT_VE;
}

static void ve_control_decision(void **state)
{
	assert_int_equal(tv_ext_ve_proc2(TV_PAGE_CAP_VE, 1, true),
			 PROC2_EPT_VE);
	assert_int_equal(tv_ext_ve_proc2(TV_PAGE_CAP_VE | TV_PAGE_CAP_EXEC_ONLY,
					 7, true), PROC2_EPT_VE);
	/* no page marked, a CPU without it, no information areas: off */
	assert_int_equal(tv_ext_ve_proc2(TV_PAGE_CAP_VE, 0, true), 0);
	assert_int_equal(tv_ext_ve_proc2(TV_PAGE_CAP_EXEC_ONLY, 3, true), 0);
	assert_int_equal(tv_ext_ve_proc2(TV_PAGE_CAP_VE, 3, false), 0);
}

static void ve_pages_follow_marks(void **state)
{
	struct tv_ext e = EXT("ve"), other = EXT("other");
	u64 eptp = shared.eptp, g = GiB + 0x5000, vmcs = 3 * GiB + 0x42000;
	int v, w;

	attach_active(&e);
	attach_active(&other);
	/* Nothing marked: no conversion anywhere, absent entries included. */
	assert_false(tv_test_ve_converts(eptp, g));
	assert_false(tv_test_ve_converts(eptp, 100 * GiB));
	assert_false(ve_control());
	assert_null(tv_ext_core_ve_info(0));
	/* Marked: that page converts, the control is on, areas exist. */
	assert_int_equal(tv_ext_core_page_set_ve(&e, 0, g, true), TV_OK);
	assert_true(tv_test_ve_converts(eptp, g));
	assert_false(tv_test_ve_converts(eptp, g + 0x1000));
	assert_false(tv_test_ve_converts(eptp, g - 0x1000));
	assert_true(ve_control());
	assert_non_null(tv_ext_core_ve_info(0));
	assert_non_null(tv_ext_core_ve_info(1));
	assert_ptr_not_equal(tv_ext_core_ve_info(0), tv_ext_core_ve_info(1));
	assert_null(tv_ext_core_ve_info(2));
	assert_false(tv_ext_is_protected((u64)(uintptr_t)tv_ext_core_ve_info(0)));
	/* Its rights change, the mark stays; marking twice is once. */
	assert_int_equal(tv_ext_core_page_set(&e, 0, g, TV_ACCESS_EXEC, g),
			 TV_OK);
	assert_int_equal(rights_of(eptp, g), EPT_EXEC);
	assert_true(tv_test_ve_converts(eptp, g));
	assert_int_equal(tv_ext_core_page_set_ve(&e, 0, g, true), TV_OK);
	assert_int_equal(tv_ext_g.slot[e.slot].nve, 1);
	/* Unmarked: the page exits again and the control goes. */
	assert_int_equal(tv_ext_core_page_set_ve(&e, 0, g, false), TV_OK);
	assert_false(tv_test_ve_converts(eptp, g));
	assert_false(ve_control());
	/* A view's marks are its own and go with it. */
	v = tv_ext_core_view_create(&e);
	assert_true(v > 0);
	assert_int_equal(tv_ext_core_page_set_ve(&e, v, g, true), TV_OK);
	assert_true(tv_test_ve_converts(tv_ext_g.view_eptp[v], g));
	assert_false(tv_test_ve_converts(eptp, g));
	assert_true(ve_control());
	assert_int_equal(tv_ext_core_page_set_ve(&other, v, g, true),
			 TV_ERR_INVALID);
	tv_ext_core_view_destroy(&e, v);
	assert_false(ve_control());
	/* thinvisor's own pages never convert. */
	assert_int_equal(tv_ext_core_protect_pages(&vmcs, 1), TV_OK);
	assert_int_equal(tv_ext_core_page_set_ve(&e, 0, vmcs, true),
			 TV_ERR_INVALID);
	assert_false(tv_test_ve_converts(eptp, vmcs));
	tv_ext_core_unprotect_pages(&vmcs, 1);
	/* tv_ext_page_reset() undoes the mark. */
	assert_int_equal(tv_ext_core_page_set_ve(&e, 0, g, true), TV_OK);
	assert_int_equal(tv_ext_core_page_reset(&e, 0, g), TV_OK);
	assert_false(tv_test_ve_converts(eptp, g));
	assert_false(ve_control());
	/* View 0 is shared: one's unmarking leaves the other's mark. */
	assert_int_equal(tv_ext_core_page_set_ve(&e, 0, g, true), TV_OK);
	assert_int_equal(tv_ext_core_page_set_ve(&other, 0, g, true), TV_OK);
	assert_int_equal(tv_ext_core_page_set_ve(&e, 0, g, false), TV_OK);
	assert_true(tv_test_ve_converts(eptp, g));
	assert_true(ve_control());
	assert_int_equal(tv_ext_core_page_set_ve(&other, 0, g, false), TV_OK);
	assert_false(tv_test_ve_converts(eptp, g));
	assert_false(ve_control());
	/* Two extensions: the control stays while either has a page. */
	w = tv_ext_core_view_create(&other);
	assert_int_equal(tv_ext_core_page_set_ve(&e, 0, g, true), TV_OK);
	assert_int_equal(tv_ext_core_page_set_ve(&other, w, g + 0x1000, true),
			 TV_OK);
	/* Unregistration takes everything back. */
	tv_ext_core_detach(&e);
	assert_false(tv_test_ve_converts(eptp, g));
	assert_true(ve_control());
	tv_ext_core_detach(&other);
	assert_false(ve_control());
}

static void ve_needs_the_cpu(void **state)
{
	struct tv_ext e = EXT("ve");

	shared.caps.proc2 &= ~((u64)PROC2_EPT_VE << 32);
	attach_active(&e);
	assert_int_equal(tv_ext_core_page_set_ve(&e, 0, GiB, true),
			 TV_ERR_UNSUPPORTED);
	assert_false(tv_test_ve_converts(shared.eptp, GiB));
	assert_false(ve_control());
	assert_null(tv_ext_core_ve_info(0));
	tv_ext_core_detach(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(registration_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(percpu_data_is_zeroed_and_freed, setup, teardown),
		cmocka_unit_test_setup_teardown(inactive_extensions_ask_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(delivery_slots_follow_events, setup, teardown),
		cmocka_unit_test_setup_teardown(controls_follow_events, setup, teardown),
		cmocka_unit_test_setup_teardown(unsupported_controls_are_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(cr_selection, setup, teardown),
		cmocka_unit_test_setup_teardown(page_fault_filters_merge, setup, teardown),
		cmocka_unit_test_setup_teardown(msr_bitmap_follows_extensions, setup, teardown),
		cmocka_unit_test_setup_teardown(io_bitmap_union, setup, teardown),
		cmocka_unit_test_setup_teardown(vmcall_numbers, setup, teardown),
		cmocka_unit_test_setup_teardown(cpuid_leaves, setup, teardown),
		cmocka_unit_test_setup_teardown(run_on_cpus, setup, teardown),
		cmocka_unit_test_setup_teardown(page_set_and_undo, setup_ept, teardown_ept),
		cmocka_unit_test_setup_teardown(views_are_copies, setup_ept, teardown_ept),
		cmocka_unit_test_setup_teardown(cpuid_leaf_mask_for_the_stub, setup, teardown),
		cmocka_unit_test_setup_teardown(own_pages_out_of_reach, setup_ept, teardown_ept),
		cmocka_unit_test_setup_teardown(protected_set_stays_exact, setup_ept, teardown_ept),
		cmocka_unit_test_setup_teardown(ve_control_decision, setup, teardown),
		cmocka_unit_test_setup_teardown(ve_pages_follow_marks, setup_ept, teardown_ept),
		cmocka_unit_test_setup_teardown(ve_needs_the_cpu, setup_ept, teardown_ept),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
