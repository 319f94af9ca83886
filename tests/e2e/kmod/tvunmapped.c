// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * tvunmapped: touch guest-physical addresses that no iomem resource lists,
 * so thinvisor's EPT, which maps only what exists, has no leaf for them.
 * thinvisor must map the block on the first access (one log line) and the
 * kernel must carry on.  It reads a page at half the physical address
 * width (plus an odd offset, far from any RAM or BAR), twice in that page
 * and once in the next, on every online CPU.  Without the on-demand path
 * the first read is an EPT violation the VMM does not handle: it dumps
 * the guest state and panics.  Prints "tvunmapped: <name> PASS|FAIL
 * <detail>" lines and loads either way (the test script reads them).
 */
#include <linux/module.h>
#include <linux/init.h>
#include <linux/io.h>
#include <linux/ioport.h>
#include <linux/mm.h>
#include <linux/smp.h>
#include <asm/processor.h>

static phys_addr_t target;

static void read_on_cpu(void *arg)
{
	void __iomem *p = arg;
	u32 v = readl(p) ^ readl(p + 0x800) ^ readl(p + PAGE_SIZE);

	/* Nothing decodes there: any value will do, the read must finish. */
	(void)v;
}

static int __init tvunmapped_init(void)
{
	void __iomem *p;

	target = (1ULL << (boot_cpu_data.x86_phys_bits - 1)) + 0x12345000;
	if (region_intersects(target, 2 * PAGE_SIZE, IORESOURCE_MEM,
			      IORES_DESC_NONE) != REGION_DISJOINT) {
		pr_info("tvunmapped: hole FAIL 0x%llx is in an iomem range\n",
			(u64)target);
		return 0;
	}
	pr_info("tvunmapped: hole PASS 0x%llx is in no iomem range\n",
		(u64)target);
	p = ioremap(target, 2 * PAGE_SIZE);
	if (!p) {
		pr_info("tvunmapped: read FAIL ioremap of 0x%llx failed\n",
			(u64)target);
		return 0;
	}
	on_each_cpu(read_on_cpu, (void __force *)p, 1);
	iounmap(p);
	pr_info("tvunmapped: read PASS every CPU read 0x%llx and the next page\n",
		(u64)target);
	return 0;
}

static void __exit tvunmapped_exit(void)
{
}

module_init(tvunmapped_init);
module_exit(tvunmapped_exit);
MODULE_LICENSE("Dual MIT/GPL");
MODULE_DESCRIPTION("thinvisor test: access to a guest-physical address nothing lists");
