// SPDX-License-Identifier: MIT
/*
 * EPT of what exists: the memory maps of three real kinds of machine (a
 * laptop, a workstation with a large GPU BAR above 4 GiB, a two-socket
 * server with MMIO above 1 TiB) with their MTRRs, built with and without
 * 1 GiB leaves.  Each map is walked from the EPT pointer as the CPU walks
 * it (fake platform: PA == VA): every byte of every range is mapped RWX,
 * identity, by a leaf whose whole block has one MTRR type, the one in the
 * leaf; no leaf or table stands for a block no range meets; the table
 * count is what tv_ept_table_bytes() says.  Then the on-demand path:
 * addresses in holes get the largest absent block, once; spares run out
 * cleanly.  And the planner's pieces: range normalization, the block
 * decision, the 5-level walk.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <setjmp.h>
#include <cmocka.h>
#include "fake_platform.h"
#include "core/ept.h"
#include "core/mtrr.h"
#include "arch/x86/ept.h"

#define KiB 0x400ULL
#define MiB 0x100000ULL
#define GiB 0x40000000ULL
#define TiB (1024 * GiB)
#define RAM TV_PHYS_RAM
#define IO TV_PHYS_MMIO

static u64 span_of(int level)
{
	return 0x1000ULL << (9 * (level - 1));
}

static void var(struct tv_mtrr_state *s, unsigned int i, u64 base, u64 size,
		u8 type)
{
	u64 pm = (TV_BIT(s->phys_bits) - 1) & ~0xfffULL;

	s->var[i] = (struct tv_mtrr_var){ base, ~(size - 1) & pm, type, true };
	if (s->var_count <= i)
		s->var_count = i + 1;
}

/* Fixed ranges as PC firmware sets them: WB low RAM, UC VGA, WP ROMs. */
static void pc_fixed(struct tv_mtrr_state *s)
{
	unsigned int i;

	s->fixed_enabled = true;
	for (i = 0; i < 16; i++)
		s->fixed[i] = MEMTYPE_WB;
	for (; i < 24; i++)
		s->fixed[i] = MEMTYPE_UC;
	for (; i < TV_MTRR_FIXED_COUNT; i++)
		s->fixed[i] = i < 40 ? MEMTYPE_UC : MEMTYPE_WP;
}

struct machine {
	const char *name;
	unsigned int phys_bits;
	const struct tv_phys_range *r;
	unsigned int n;
	void (*mtrr)(struct tv_mtrr_state *s);
	u64 ram;
	/* without 1 GiB leaves: PML4 + PDPTs + 1 PD per GiB met + PTs */
	unsigned int tables_2m;
};

/*
 * A 16 GiB laptop (Tiger Lake class): /proc/iomem shape, iGPU BARs above
 * 4 GiB at 0x6000000000 and 0x4000000000, MAXPHYADDR 39.  MTRRs: default
 * UC; WB 0-16 GiB and 16-18 GiB (RAM reaches 0x480000000); UC 2-4 GiB.
 */
static const struct tv_phys_range laptop_map[] = {
	{ 0x0, 0x9f000, RAM },			/* System RAM */
	{ 0x9f000, 0x61000, IO },		/* reserved, VGA, ROMs */
	{ 0x100000, 0x6f5d0000 - 0x100000, RAM },
	{ 0x6f5d0000, 0x7a5cf000 - 0x6f5d0000, IO },	/* reserved */
	{ 0x7a5cf000, 0x7b5ff000 - 0x7a5cf000, IO },	/* ACPI NVS */
	{ 0x7b5ff000, 0x7b6ff000 - 0x7b5ff000, IO },	/* ACPI tables */
	{ 0x7b6ff000, 0x7b700000 - 0x7b6ff000, RAM },
	{ 0x7b800000, 0x7fffffff - 0x7b800000, IO },	/* stolen memory */
	{ 0x80400000, 0x20000, IO },		/* BAR: audio */
	{ 0x80500000, 0x100000, IO },		/* BAR: NVMe */
	{ 0x80600000, 0x4000, IO },		/* BAR: Wi-Fi */
	{ 0xc0000000, 0x10000000, IO },		/* PCI MMCONFIG */
	{ 0xfc800000, 0x800000, IO },		/* reserved */
	{ 0xfe000000, 0x10000, IO },		/* BAR: PMC */
	{ 0xfec00000, 0x1000, IO },		/* IOAPIC */
	{ 0xfed00000, 0x400, IO },		/* HPET */
	{ 0xfed20000, 0x60000, IO },		/* reserved (TXT, chipset) */
	{ 0xfee00000, 0x1000, IO },		/* Local APIC */
	{ 0xff000000, 0x1000000, IO },		/* flash */
	{ 0x100000000, 0x480000000 - 0x100000000, RAM },
	{ 0x4000000000, 0x10000000, IO },	/* iGPU aperture BAR */
	{ 0x6000000000, 0x1000000, IO },	/* iGPU MMIO BAR */
};

static void laptop_mtrr(struct tv_mtrr_state *s)
{
	tv_mtrr_set_uniform(s, 39, MEMTYPE_UC);
	pc_fixed(s);
	var(s, 0, 0, 16 * GiB, MEMTYPE_WB);
	var(s, 1, 16 * GiB, 2 * GiB, MEMTYPE_WB);
	var(s, 2, 2 * GiB, 2 * GiB, MEMTYPE_UC);
}

/*
 * A 64 GiB workstation with a 32 GiB resizable-BAR GPU at 0x7800000000 and
 * its 16 MiB register BAR below 4 GiB, MAXPHYADDR 46.  MTRRs: default UC;
 * WB 0-64 GiB and 64-68 GiB; UC 3-4 GiB.  RAM: 63.x GiB below 0x10a0000000.
 */
static const struct tv_phys_range workstation_map[] = {
	{ 0x0, 0x9d000, RAM },
	{ 0x9d000, 0x63000, IO },
	{ 0x100000, 0x9a4bf000 - 0x100000, RAM },
	{ 0x9a4bf000, 0xbd1fe000 - 0x9a4bf000, IO },	/* reserved, ACPI */
	{ 0xbd1fe000, 0x1000, RAM },
	{ 0xbd200000, 0xbf800000 - 0xbd200000, IO },	/* reserved */
	{ 0xc0000000, 0x1000000, IO },		/* BAR: GPU registers */
	{ 0xc1000000, 0x80000, IO },		/* BAR: GPU ROM */
	{ 0xc1100000, 0x100000, IO },		/* BARs: NVMe x2, NIC */
	{ 0xe0000000, 0x10000000, IO },		/* PCI MMCONFIG */
	{ 0xfd000000, 0xac0000, IO },		/* pnp reserved */
	{ 0xfec00000, 0x1000, IO },
	{ 0xfed00000, 0x1000, IO },
	{ 0xfee00000, 0x1000, IO },
	{ 0xff000000, 0x1000000, IO },
	{ 0x100000000, 0x10a0000000 - 0x100000000, RAM },
	{ 0x7800000000, 0x800000000, IO },	/* GPU VRAM BAR, 32 GiB */
	{ 0x7000000000, 0x2000000, IO },	/* GPU 64-bit doorbell BAR */
};

static void workstation_mtrr(struct tv_mtrr_state *s)
{
	tv_mtrr_set_uniform(s, 46, MEMTYPE_UC);
	pc_fixed(s);
	var(s, 0, 0, 64 * GiB, MEMTYPE_WB);
	var(s, 1, 64 * GiB, 4 * GiB, MEMTYPE_WB);
	var(s, 2, 3 * GiB, GiB, MEMTYPE_UC);
}

/*
 * A two-socket server, 2 x 256 GiB, MAXPHYADDR 46, each socket's PCI
 * root with its 64-bit BARs above 1 TiB (0x200_0000_0000 and
 * 0x280_0000_0000), 32-bit BARs and MMCONFIG below 4 GiB.  MTRRs: default
 * UC; WB 0-512 GiB and 512-514 GiB; UC 2-4 GiB.
 */
static const struct tv_phys_range server_map[] = {
	{ 0x0, 0x9c000, RAM },
	{ 0x9c000, 0x64000, IO },
	{ 0x100000, 0x6b5ac000 - 0x100000, RAM },
	{ 0x6b5ac000, 0x6f800000 - 0x6b5ac000, IO },	/* reserved, ACPI */
	{ 0x6f800000, 0x8f800000 - 0x6f800000, IO },	/* reserved */
	{ 0x90000000, 0x800000, IO },		/* BARs socket 0 */
	{ 0x9d000000, 0x1000000, IO },		/* BMC VGA */
	{ 0xc5000000, 0x400000, IO },		/* BARs socket 1 */
	{ 0x80000000, 0x10000000, IO },		/* PCI MMCONFIG */
	{ 0xfd000000, 0x2000000, IO },
	{ 0xfec00000, 0x1000, IO }, { 0xfec01000, 0x1000, IO },
	{ 0xfed00000, 0x1000, IO },
	{ 0xfee00000, 0x1000, IO },
	{ 0xff000000, 0x1000000, IO },
	{ 0x100000000, 0x4080000000 - 0x100000000, RAM },	/* node 0 */
	{ 0x4080000000, 0x8080000000 - 0x4080000000, RAM },	/* node 1 */
	{ 0x20000000000, 0x4000000, IO },	/* socket 0: NVMe, NIC BARs */
	{ 0x20004000000, 0x200000, IO },	/* socket 0: VFs */
	{ 0x28000000000, 0x100000000, IO },	/* socket 1: GPU 4 GiB */
	{ 0x28100000000, 0x2000000, IO },	/* socket 1: NIC */
};

static void server_mtrr(struct tv_mtrr_state *s)
{
	tv_mtrr_set_uniform(s, 46, MEMTYPE_UC);
	pc_fixed(s);
	var(s, 0, 0, 512 * GiB, MEMTYPE_WB);
	var(s, 1, 512 * GiB, 2 * GiB, MEMTYPE_WB);
	var(s, 2, 2 * GiB, 2 * GiB, MEMTYPE_UC);
}

static const struct machine machines[] = {
	{ "laptop 16 GiB", 39, laptop_map, TV_ARRAY_SIZE(laptop_map),
	  laptop_mtrr, 16 * GiB, 1 + 1 + 18 + 2 + 1 },
	{ "workstation 64 GiB + 32 GiB BAR", 46, workstation_map,
	  TV_ARRAY_SIZE(workstation_map), workstation_mtrr, 64 * GiB,
	  1 + 1 + 67 + 32 + 1 + 1 },
	{ "server 2x256 GiB, MMIO > 1 TiB", 46, server_map,
	  TV_ARRAY_SIZE(server_map), server_mtrr, 512 * GiB,
	  1 + 4 + 514 + 6 + 1 },
};

/* --- a walker from the EPT pointer, 4 or 5 levels ------------------- */

static int walk_levels(u64 eptp)
{
	return ((eptp >> 3) & 7) + 1;
}

static u64 *hw_walk(u64 eptp, u64 gpa, int *level)
{
	u64 *t = (u64 *)(uintptr_t)(eptp & EPT_ADDR_MASK);
	int l;

	for (l = walk_levels(eptp); l >= 1; l--) {
		u64 *e = &t[(gpa >> (12 + 9 * (l - 1))) & 511];

		if (!(*e & EPT_RWX))
			return NULL;
		if (l == 1 || (l <= 3 && (*e & EPT_LARGE_PAGE))) {
			assert_int_equal(*e & EPT_ADDR_MASK & (span_of(l) - 1), 0);
			*level = l;
			return e;
		}
		/* non-leaf: rights and address only */
		assert_int_equal(*e & ~(EPT_ADDR_MASK | EPT_RWX), 0);
		t = (u64 *)(uintptr_t)(*e & EPT_ADDR_MASK);
	}
	fail();
	return NULL;
}

/* The leaf at @gpa: present, RWX, identity, uniform MTRR type = its own. */
static u64 check_leaf(u64 eptp, const struct tv_mtrr_state *s, u64 gpa,
		      bool use_1gb)
{
	int level = 0;
	u64 *e = hw_walk(eptp, gpa, &level), span, base;

	if (!e)
		fail_msg("GPA 0x%llx of a range is not mapped",
			 (unsigned long long)gpa);
	span = span_of(level);
	base = gpa & ~(span - 1);
	assert_int_equal(*e & EPT_RWX, EPT_RWX);
	assert_int_equal(*e & EPT_ADDR_MASK, base);
	assert_int_equal(*e & EPT_IGNORE_PAT, 0);
	assert_true(level <= (use_1gb ? 3 : 2));
	assert_int_equal((*e >> EPT_MEMTYPE_SHIFT) & 7,
			 tv_mtrr_range_type(s, base, span));
	return base + span;
}

/* Every byte of every range: leaf by leaf. */
static void check_ranges(u64 eptp, const struct tv_mtrr_state *s,
			 const struct tv_phys_range *r, unsigned int n,
			 bool use_1gb)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		u64 a = r[i].base & ~0xfffULL, end = r[i].base + r[i].size;

		while (a < end)
			a = check_leaf(eptp, s, a, use_1gb);
	}
}

static bool meets(const struct tv_phys_range *r, unsigned int n, u64 b,
		  u64 span)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (r[i].base < b + span && b < r[i].base + r[i].size)
			return true;
	return false;
}

/* Nothing stands for a block no range meets; count the tables. */
static unsigned int census(const u64 *t, int level, u64 base,
			   const struct tv_phys_range *r, unsigned int n)
{
	unsigned int i, tables = 1;

	for (i = 0; i < 512; i++) {
		u64 e = t[i], b = base + i * span_of(level);

		if (!(e & EPT_RWX)) {
			assert_int_equal(e, EPT_ABSENT);
			continue;
		}
		assert_true(meets(r, n, b, span_of(level)));
		if (level == 1 || (level <= 3 && (e & EPT_LARGE_PAGE)))
			continue;
		tables += census((const u64 *)(uintptr_t)(e & EPT_ADDR_MASK),
				 level - 1, b, r, n);
	}
	return tables;
}

static struct tv_ept *build_machine(const struct machine *m,
				    struct tv_mtrr_state *s, bool use_1gb)
{
	struct tv_ept_config cfg = { .phys_bits = m->phys_bits,
				     .use_1gb = use_1gb,
				     .ranges = m->r, .nranges = m->n };
	struct tv_ept *ept = NULL;

	m->mtrr(s);
	assert_int_equal(tv_ept_build_identity(&ept, s, &cfg), TV_OK);
	assert_non_null(ept);
	return ept;
}

static void check_no_leak(void)
{
	assert_int_equal(fake.pages_live, 0);
	assert_int_equal(fake.zallocs_live, 0);
}

struct blocks {
	u64 seen[16];
	unsigned int n;
};

/* Count the distinct 2 MiB blocks the tables sit in. */
static void note_block(u64 pa, void *arg)
{
	struct blocks *b = arg;
	unsigned int i;

	for (i = 0; i < b->n; i++)
		if (b->seen[i] == pa >> 21)
			return;
	assert_true(b->n < TV_ARRAY_SIZE(b->seen));
	b->seen[b->n++] = pa >> 21;
}

/*
 * The tables and the spares of a map come in allocations of up to 2 MiB,
 * each in one 2 MiB block: hiding them from the guest (core/ext.c) then
 * splits one 2 MiB leaf per 512 tables, not one per table.  Fragmented
 * memory still builds, page by page.
 */
static void test_tables_in_few_blocks(void **unused)
{
	unsigned int i;

	for (i = 0; i < TV_ARRAY_SIZE(machines); i++) {
		struct tv_mtrr_state s;
		struct tv_ept *ept;
		struct blocks b = { { 0 }, 0 };
		u64 pages;

		fake_reset();
		ept = build_machine(&machines[i], &s, false);
		pages = (tv_ept_table_bytes(ept) + tv_ept_spare_bytes(ept)) >> 12;
		assert_int_equal(fake.page_allocs, (pages + 511) / 512);
		tv_ept_visit_tables(ept, note_block, &b);
		assert_int_equal(b.n, (pages + 511) / 512);
		tv_ept_free(ept);
		check_no_leak();
		fake.max_pages = 1;
		ept = build_machine(&machines[i], &s, false);
		check_ranges(tv_ept_pointer(ept), &s, machines[i].r,
			     machines[i].n, false);
		tv_ept_free(ept);
		check_no_leak();
	}
}

/* Every machine, both page sizes: correct, minimal, and within budget. */
static void test_machines(void **unused)
{
	unsigned int i, k;

	for (i = 0; i < TV_ARRAY_SIZE(machines); i++) {
		for (k = 0; k < 2; k++) {
			const struct machine *m = &machines[i];
			bool use_1gb = k == 0;
			struct tv_mtrr_state s;
			struct tv_ept *ept;
			u64 eptp, bytes;
			unsigned int tables;

			fake_reset();
			ept = build_machine(m, &s, use_1gb);
			eptp = tv_ept_pointer(ept);
			assert_int_equal(walk_levels(eptp), 4);
			check_ranges(eptp, &s, m->r, m->n, use_1gb);
			tables = census((const u64 *)(uintptr_t)(eptp &
								 EPT_ADDR_MASK),
					4, 0, m->r, m->n);
			bytes = tv_ept_table_bytes(ept);
			assert_int_equal(bytes, tables * 4096ULL);
			assert_int_equal(fake.pages_live * 4096,
					 bytes + tv_ept_spare_bytes(ept));
			m->mtrr(&s);
			{
				/* before: the whole-width map of old */
				struct tv_ept_config old = {
					.phys_bits = m->phys_bits,
					.use_1gb = use_1gb };
				struct tv_ept *o;

				assert_int_equal(tv_ept_build_identity(&o, &s,
								       &old),
						 TV_OK);
				printf("ept map: %-32s %s: %3u tables, %4llu KiB (+%llu KiB spare, %llu KiB meta); whole width before: %llu KiB\n",
				       m->name, use_1gb ? "1G" : "2M", tables,
				       (unsigned long long)bytes >> 10,
				       (unsigned long long)tv_ept_spare_bytes(ept) >> 10,
				       (unsigned long long)tv_ept_meta_bytes(ept) >> 10,
				       (unsigned long long)tv_ept_table_bytes(o) >> 10);
				tv_ept_free(o);
			}
			/*
			 * With 1 GiB leaves: a handful of tables.  Without,
			 * one PD per GiB that meets a range is the floor (64
			 * GiB of RAM alone is 32768 leaves, 256 KiB), and the
			 * count is exactly that plus PML4, PDPTs and the PTs
			 * where the MTRR type is mixed.
			 */
			if (use_1gb)
				assert_true(bytes <= 256 * KiB);
			else
				assert_int_equal(tables, m->tables_2m);
			tv_ept_free(ept);
			check_no_leak();
		}
	}
}

/* A hole is mapped on demand: the largest absent block, once. */
static void test_on_demand(void **unused)
{
	const struct machine *m = &machines[2];	/* server */
	struct tv_ept_demand d;
	struct tv_mtrr_state s;
	struct tv_ept *ept;
	u64 eptp, *e, before;
	int level;

	fake_reset();
	ept = build_machine(m, &s, true);
	eptp = tv_ept_pointer(ept);
	before = tv_ept_table_bytes(ept);
	/* 600 GiB: no range there, its PML4 entry holds the RAM's PDPT. */
	assert_null(hw_walk(eptp, 600 * GiB + 0x1234, &level));
	assert_int_equal(tv_ept_map_missing(ept, 600 * GiB + 0x1234, &d),
			 TV_OK);
	assert_true(d.mapped);
	assert_int_equal(d.level, 3);
	assert_int_equal(d.base, 600 * GiB);
	assert_int_equal(d.size, GiB);
	assert_int_equal(d.tables, 0);
	assert_int_equal(d.type, MEMTYPE_UC);
	check_leaf(eptp, &s, 600 * GiB + 0x1234, true);
	assert_int_equal(tv_ept_demand_count(ept), 1);
	/* again (another CPU came second): nothing new */
	assert_int_equal(tv_ept_map_missing(ept, 600 * GiB + 5, &d), TV_OK);
	assert_false(d.mapped);
	assert_int_equal(tv_ept_demand_count(ept), 1);
	/* 3 TiB: no PDPT there yet: one spare, then a 1 GiB leaf */
	assert_int_equal(tv_ept_map_missing(ept, 3 * TiB, &d), TV_OK);
	assert_true(d.mapped);
	assert_int_equal(d.tables, 1);
	assert_int_equal(d.level, 3);
	check_leaf(eptp, &s, 3 * TiB, true);
	/* the walk by PA finds the spare now in use */
	e = tv_ept_leaf(ept, 3 * TiB, &level);
	assert_non_null(e);
	assert_int_equal(level, 3);
	assert_int_equal(tv_ept_table_bytes(ept), before + 4096);
	/* 1 MiB below 4 GiB is in a range already: mapped at build */
	assert_int_equal(tv_ept_map_missing(ept, 0xfee00000, &d), TV_OK);
	assert_false(d.mapped);
	/* beyond MAXPHYADDR: refused */
	assert_int_equal(tv_ept_map_missing(ept, TV_BIT(46), &d),
			 TV_ERR_INVALID);
	tv_ept_free(ept);
	check_no_leak();
}

/* Without 1 GiB leaves: a PD, a 2 MiB leaf; a mixed 2 MiB block: a PT. */
static void test_on_demand_2m_and_mixed(void **unused)
{
	const struct machine *m = &machines[0];	/* laptop, MAXPHYADDR 39 */
	struct tv_ept_demand d;
	struct tv_mtrr_state s;
	struct tv_ept *ept;
	u64 eptp, before;

	fake_reset();
	ept = build_machine(m, &s, false);
	eptp = tv_ept_pointer(ept);
	before = tv_ept_table_bytes(ept);
	/* 100 GiB: its PDPT entry is absent; 1 GiB leaves not allowed */
	assert_int_equal(tv_ept_map_missing(ept, 100 * GiB + 3 * MiB, &d),
			 TV_OK);
	assert_true(d.mapped);
	assert_int_equal(d.tables, 1);
	assert_int_equal(d.level, 2);
	assert_int_equal(d.base, 100 * GiB + 2 * MiB);
	check_leaf(eptp, &s, 100 * GiB + 3 * MiB, false);
	assert_int_equal(tv_ept_table_bytes(ept), before + 4096);
	/* a neighbour 2 MiB block in that GiB: no new table */
	assert_int_equal(tv_ept_map_missing(ept, 100 * GiB, &d), TV_OK);
	assert_true(d.mapped);
	assert_int_equal(d.tables, 0);
	tv_ept_free(ept);

	check_no_leak();

	/* A WT 4 KiB page inside a WB 2 MiB block nobody listed: a PT. */
	fake_reset();
	m->mtrr(&s);
	var(&s, 3, 16 * GiB, 16 * GiB, MEMTYPE_WB);
	var(&s, 4, 20 * GiB + 0x5000, 0x1000, MEMTYPE_WT);
	{
		struct tv_ept_config cfg = { .phys_bits = 39, .ranges = m->r,
					     .nranges = m->n };

		assert_int_equal(tv_ept_build_identity(&ept, &s, &cfg), TV_OK);
	}
	eptp = tv_ept_pointer(ept);
	assert_int_equal(tv_ept_map_missing(ept, 20 * GiB + 0x5010, &d),
			 TV_OK);
	assert_true(d.mapped);
	assert_int_equal(d.level, 1);
	assert_int_equal(d.type, MEMTYPE_WT);
	assert_int_equal(d.tables, 2);	/* PD, PT */
	check_leaf(eptp, &s, 20 * GiB + 0x5010, false);
	assert_int_equal(tv_ept_map_missing(ept, 20 * GiB + 0x4000, &d),
			 TV_OK);
	assert_int_equal(d.level, 1);
	assert_int_equal(d.type, MEMTYPE_WB);
	check_leaf(eptp, &s, 20 * GiB + 0x4000, false);
	tv_ept_free(ept);
	check_no_leak();
}

/* Spares run out: NO_MEMORY, what was linked stays valid, nothing leaks. */
static void test_spares_exhausted(void **unused)
{
	const struct machine *m = &machines[0];
	struct tv_ept_config cfg = { .phys_bits = 39, .ranges = m->r,
				     .nranges = m->n, .spare_tables = 1 };
	struct tv_ept_demand d;
	struct tv_mtrr_state s;
	struct tv_ept *ept;
	int level;

	fake_reset();
	m->mtrr(&s);
	var(&s, 3, 16 * GiB, 16 * GiB, MEMTYPE_WB);
	var(&s, 4, 20 * GiB + 0x5000, 0x1000, MEMTYPE_WT);
	assert_int_equal(tv_ept_build_identity(&ept, &s, &cfg), TV_OK);
	assert_int_equal(tv_ept_spare_bytes(ept), 4096);
	/* needs a PD and a PT: only one spare */
	assert_int_equal(tv_ept_map_missing(ept, 20 * GiB + 0x5000, &d),
			 TV_ERR_NO_MEMORY);
	assert_int_equal(tv_ept_spare_bytes(ept), 0);
	assert_null(hw_walk(tv_ept_pointer(ept), 20 * GiB + 0x5000, &level));
	/* a uniform 2 MiB block under the PD just linked still works */
	assert_int_equal(tv_ept_map_missing(ept, 20 * GiB + 4 * MiB, &d),
			 TV_OK);
	assert_int_equal(d.level, 2);
	tv_ept_free(ept);
	check_no_leak();
}

static void test_normalize(void **unused)
{
	struct tv_phys_range r[] = {
		{ 0x5000, 0x800, IO },		/* rounds to [0x5000, 0x6000) */
		{ 0x1800, 0x1000, RAM },	/* [0x1000, 0x3000) */
		{ 0x3000, 0x1000, RAM },	/* touches: merged */
		{ 0x10000, 0, RAM },		/* empty: dropped */
		{ 0x5fff, 0x2, RAM },		/* overlaps, crosses a page */
		{ 0xfff0000000, 0x20000000, IO },	/* cut at 2^40 */
		{ 0x20000000000, 0x1000, IO },	/* above: dropped */
		{ 0xfffffffffffff000, 0x2000, IO },	/* wraps: dropped */
	};
	unsigned int n = tv_ept_normalize_ranges(r, TV_ARRAY_SIZE(r),
						 TV_BIT(40));

	assert_int_equal(n, 3);
	assert_int_equal(r[0].base, 0x1000);
	assert_int_equal(r[0].size, 0x3000);
	assert_int_equal(r[0].kind, RAM);
	assert_int_equal(r[1].base, 0x5000);
	assert_int_equal(r[1].size, 0x2000);
	assert_int_equal(r[1].kind, IO);	/* RAM only if all parts are */
	assert_int_equal(r[2].base, 0xfff0000000);
	assert_int_equal(r[2].size, 0x10000000);
}

static void test_choose_block(void **unused)
{
	struct tv_phys_range r[] = { { 5 * GiB + 0x3000, 0x1000, IO },
				     { 7 * GiB, 2 * GiB, RAM } };
	struct tv_ept_ranges rs = { r, 2 };
	struct tv_mtrr_state s;

	tv_mtrr_set_uniform(&s, 40, MEMTYPE_WB);
	assert_int_equal(tv_ept_choose_block(&rs, &s, 0, 3, true),
			 TV_EPT_EMPTY);
	assert_int_equal(tv_ept_choose_block(&rs, &s, 5 * GiB, 3, true),
			 MEMTYPE_WB);
	assert_int_equal(tv_ept_choose_block(&rs, &s, 5 * GiB, 3, false),
			 TV_EPT_SPLIT);
	assert_int_equal(tv_ept_choose_block(&rs, &s, 5 * GiB + 2 * MiB, 2,
					     false), TV_EPT_EMPTY);
	assert_int_equal(tv_ept_choose_block(&rs, &s, 5 * GiB, 2, false),
			 MEMTYPE_WB);
	/* a range that began in an earlier block still meets this one */
	assert_int_equal(tv_ept_choose_block(&rs, &s, 8 * GiB + 7, 3, true),
			 MEMTYPE_WB);
	assert_int_equal(tv_ept_choose_block(&rs, &s, 9 * GiB, 3, true),
			 TV_EPT_EMPTY);
	assert_int_equal(tv_ept_choose_block(&rs, &s, 0, 4, true),
			 TV_EPT_SPLIT);
}

/* MAXPHYADDR 52: 5-level walk when allowed, else a refusal. */
static void test_five_level(void **unused)
{
	struct tv_phys_range r[] = { { 0, 4 * GiB, RAM },
				     { TV_BIT(51) + 3 * GiB, GiB, IO },
				     { TV_BIT(52) - 4096, 4096, IO } };
	struct tv_ept_config cfg = { .phys_bits = 52, .use_1gb = true,
				     .ranges = r, .nranges = 3 };
	struct tv_ept_demand d;
	struct tv_mtrr_state s;
	struct tv_ept *ept = (void *)1;

	fake_reset();
	tv_mtrr_set_uniform(&s, 52, MEMTYPE_UC);
	var(&s, 0, 0, 4 * GiB, MEMTYPE_WB);
	assert_int_equal(tv_ept_build_identity(&ept, &s, &cfg),
			 TV_ERR_EPT_CAPS);
	assert_null(ept);
	check_no_leak();
	cfg.walk5 = true;
	assert_int_equal(tv_ept_build_identity(&ept, &s, &cfg), TV_OK);
	assert_int_equal(tv_ept_levels(ept), 5);
	assert_int_equal(tv_ept_pointer(ept) & 0x3f, (4 << 3) | 6);
	check_ranges(tv_ept_pointer(ept), &s, r, 3, true);
	/* PML5, 3 PML4s, 3 PDPTs, one PD + PT for the last page */
	assert_int_equal(census((const u64 *)(uintptr_t)(tv_ept_pointer(ept) &
							 EPT_ADDR_MASK),
				5, 0, r, 3),
			 tv_ept_table_bytes(ept) / 4096);
	printf("ept map: MAXPHYADDR 52, 5-level: %llu KiB\n",
	       (unsigned long long)tv_ept_table_bytes(ept) >> 10);
	/* on demand high up: PML4 and PDPT from the spares */
	assert_int_equal(tv_ept_map_missing(ept, TV_BIT(50) + 12345, &d),
			 TV_OK);
	assert_int_equal(d.tables, 2);
	assert_int_equal(d.level, 3);
	check_leaf(tv_ept_pointer(ept), &s, TV_BIT(50) + 12345, true);
	tv_ept_free(ept);
	check_no_leak();
}

/* Fail each allocation of a real map in turn: nothing leaks. */
static void test_alloc_failures(void **unused)
{
	const struct machine *m = &machines[1];
	struct tv_ept_config cfg = { .phys_bits = m->phys_bits,
				     .ranges = m->r, .nranges = m->n };
	struct tv_mtrr_state s;
	struct tv_ept *ept;
	int n, ret = -1;

	m->mtrr(&s);
	for (n = 0; n < 1000; n++) {
		fake_reset();
		fake.fail_after = n;
		/* Fragmented: every table its own allocation. */
		fake.max_pages = 1;
		ept = (void *)1;
		ret = tv_ept_build_identity(&ept, &s, &cfg);
		if (ret == TV_OK)
			break;
		assert_int_equal(ret, TV_ERR_NO_MEMORY);
		assert_null(ept);
		check_no_leak();
	}
	assert_int_equal(ret, TV_OK);
	assert_true(n > 70);
	tv_ept_free(ept);
	check_no_leak();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_normalize),
		cmocka_unit_test(test_choose_block),
		cmocka_unit_test(test_machines),
		cmocka_unit_test(test_on_demand),
		cmocka_unit_test(test_on_demand_2m_and_mixed),
		cmocka_unit_test(test_spares_exhausted),
		cmocka_unit_test(test_five_level),
		cmocka_unit_test(test_alloc_failures),
		cmocka_unit_test(test_tables_in_few_blocks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
