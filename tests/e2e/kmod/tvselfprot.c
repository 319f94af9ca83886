// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * tvselfprot: a CPL-0 intruder.  Reads and writes the pages thinvisor
 * keeps from the guest (addresses from thinvisor's test_protected
 * parameter, passed in as pages=) through the direct map, with the
 * kernel's fault-tolerant accessors, and reads a page of its own as the
 * control.  Prints "tvselfprot: NAME PASS|FAIL detail" lines.
 */
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/uaccess.h>
#include <linux/slab.h>
#include <linux/io.h>

static char *pages = "";
module_param(pages, charp, 0444);
MODULE_PARM_DESC(pages, "physical addresses, space-separated");

/* copy_to_kernel_nofault() is not exported: its one-word core. */
static int write_nofault(void *dst, u64 val)
{
	pagefault_disable();
	__put_kernel_nofault(dst, &val, u64, fault);
	pagefault_enable();
	return 0;
fault:
	pagefault_enable();
	return -EFAULT;
}

static int __init tvselfprot_init(void)
{
	unsigned long long pa;
	unsigned int n = 0, refused = 0;
	char *p = pages, *tok;
	u64 val, *own;
	char buf[32];

	own = kmalloc(sizeof(*own), GFP_KERNEL);
	if (!own)
		return -ENOMEM;
	*own = 0x5a5a;
	val = 0;
	pr_info("tvselfprot: control %s own page readable (%d)\n",
		copy_from_kernel_nofault(&val, own, sizeof(val)) == 0 &&
		val == 0x5a5a ? "PASS" : "FAIL", (int)val);
	kfree(own);
	while ((tok = strsep(&p, " ,\n")) != NULL) {
		void *va;
		int r, w;

		if (!*tok || kstrtoull(tok, 0, &pa))
			continue;
		va = phys_to_virt(pa);
		r = copy_from_kernel_nofault(&val, va, sizeof(val));
		val = 0x6b6b6b6b6b6b6b6bULL;
		w = write_nofault(va, val);
		n++;
		if (r && w)
			refused++;
		else
			pr_info("tvselfprot: page 0x%llx: read %d write %d\n",
				pa, r, w);
	}
	snprintf(buf, sizeof(buf), "%u of %u", refused, n);
	pr_info("tvselfprot: refused %s reads and writes of thinvisor's pages refused: %s\n",
		n && refused == n ? "PASS" : "FAIL", buf);
	return 0;
}

static void __exit tvselfprot_exit(void)
{
}

module_init(tvselfprot_init);
module_exit(tvselfprot_exit);
MODULE_LICENSE("Dual MIT/GPL");
MODULE_DESCRIPTION("thinvisor self-protection test");
