/* SPDX-License-Identifier: MIT */
/* Shared state of the Windows host files (driver.c, plat.c, log.c). */
#ifndef TV_WIN_H
#define TV_WIN_H

#include "nt_compat.h"
#include "core/types.h"

/* Pool tag "thnv" as pool tools print it (little-endian 'vnht'). */
#define TV_WIN_POOL_TAG 0x766e6874u
/* KeBugCheckEx parameter 1 of tv_plat_panic(): "tvpn". */
#define TV_WIN_BUGCHECK_TAG 0x7476706eu

/* Step 1: NonPagedPoolNx on Windows 8 and later (no executable pool). */
extern POOL_TYPE tv_win_pool_type;
#ifdef TV_FAULT_INJECTION
/* FailStep from the service key (0: none); test builds only, see docs. */
extern ULONG tv_win_fail_step;
#endif
/* System process page-table root, captured in DriverEntry. */
extern u64 tv_win_host_cr3;

/* Step 3: the log file, its ring and the thread that writes both. */
NTSTATUS tv_win_log_open(void);
void tv_win_log_close(void);
/*
 * tv_plat_panic: the VMM rings still undrained, then @msg, as text in
 * tv_win_panic_text (KeBugCheckEx parameter 4).  VMX-root safe.
 */
/*
 * The driver's lock (driver.c): serializes the core's entry points, the
 * callbacks and the extension API.  A KMUTEX: PASSIVE_LEVEL, recursive.
 */
void tv_win_lock(void);
void tv_win_unlock(void);

/* ext.c: the extension API's host side and the built-in extensions. */
void tv_win_ext_setup(void);		/* DriverEntry, before step 1 */
void tv_win_ext_run_deferred(void);	/* the log thread */
int tv_win_ext_start(void);		/* step 8: register them, in order */
void tv_win_ext_stop(void);		/* unload: unregister, newest first */

#define TV_WIN_PANIC_TEXT 16384
extern char tv_win_panic_text[TV_WIN_PANIC_TEXT];
void tv_win_log_panic_text(const char *msg);

#endif
