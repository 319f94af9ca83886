// SPDX-License-Identifier: MIT
#include "core/platform.h"
#include "core/vmm.h"

void tv_log(int level, const char *fmt, ...)
{
	tv_va_list ap;

	tv_va_start(ap, fmt);
	tv_plat_vlog(level, fmt, ap);
	tv_va_end(ap);
}

void tv_vmm_log(int level, const char *fmt, ...)
{
	tv_va_list ap;

	tv_va_start(ap, fmt);
	tv_plat_vlog_vmm(level, fmt, ap);
	tv_va_end(ap);
}
