/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/* Linux host internals shared between its files. */
#ifndef TV_LINUX_H
#define TV_LINUX_H

#include <linux/errno.h>
#include <linux/types.h>
#include <linux/compiler.h>
#include <linux/stdarg.h>

/*
 * The errno of both refusals between thinvisor and kvm_intel: thinvisor's
 * load while kvm_intel is there, and kvm_intel's load while thinvisor
 * runs.  No other load refusal uses it (tv_linux_errno()).
 */
#define TV_LINUX_KVM_ERRNO (-EBUSY)

int tv_linux_host_cr3_init(void);
/* Tell Intel PT that CPU @cpu (every online CPU: -1) left VMX. */
void tv_linux_pt_catch_up(int cpu);
int tv_linux_errno(int tv_err);
int tv_linux_dev_register(void);
void tv_linux_dev_unregister(void);
extern struct mutex tv_linux_lock;
int tv_linux_log_start(void);
void tv_linux_log_stop(void);
void tv_linux_log_drain(void);
void tv_linux_log_core(int level, const char *fmt, va_list ap);
void tv_linux_log_panic_dump(void);
ssize_t tv_linux_log_read(char __user *buf, size_t len, bool nonblock);
int tv_linux_kvm_guard_start(void);
void tv_linux_kvm_guard_stop(void);
int tv_linux_kvm_check(void);
/* platform/linux/ext.c: from the log thread, every wake-up. */
void tv_linux_ext_run_deferred(void);

#endif
