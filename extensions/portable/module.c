// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * The Linux side of extensions/portable: a module that registers
 * portable.c's extension at load and unregisters it at unload.  On
 * Windows TV_EXT_BUILTIN() in portable.c does this job and this file is
 * not built.
 */
#include <linux/module.h>
#include "thinvisor/extension.h"

/* portable.c's extension. */
extern struct tv_ext portable_ext;

static int __init portable_module_init(void)
{
	/* The module dependency keeps thinvisor loaded while we are. */
	portable_ext.owner = THIS_MODULE;
	return tv_ext_register(&portable_ext);
}

static void __exit portable_module_exit(void)
{
	tv_ext_unregister(&portable_ext);
}

module_init(portable_module_init);
module_exit(portable_module_exit);
MODULE_LICENSE("Dual MIT/GPL");
MODULE_DESCRIPTION("thinvisor extension sample: one source for Linux and Windows");
