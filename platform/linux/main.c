// SPDX-License-Identifier: MIT
/* thinvisor Linux host: module entry points (placeholder until the VMM lands). */
#include <linux/module.h>
#include <linux/init.h>
#include "core/types.h"

static int __init thinvisor_init(void)
{
	pr_info("thinvisor: loaded (placeholder)\n");
	return 0;
}

static void __exit thinvisor_exit(void)
{
	pr_info("thinvisor: unloaded (placeholder)\n");
}

module_init(thinvisor_init);
module_exit(thinvisor_exit);
MODULE_LICENSE("Dual MIT/GPL");
MODULE_DESCRIPTION("thinvisor: a thin VT-x hypervisor that slides under the running kernel");
