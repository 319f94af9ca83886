/* SPDX-License-Identifier: MIT */
/*
 * ntshim: runs the real thinvisor.sys in ring 0 of a Linux kernel.  The
 * module loads the PE image (pe.c), binds its ntoskrnl imports to the
 * Microsoft-ABI implementations in nt.c, and calls DriverEntry and
 * DriverUnload from a kernel thread (main.c).  Only what the driver
 * uses is modelled; see docs/windows.md, "The NT shim".
 */
#ifndef NTSHIM_H
#define NTSHIM_H

#include <linux/types.h>
#include <linux/list.h>

#define MSABI __attribute__((ms_abi))

typedef s32 NTSTATUS;
#define STATUS_SUCCESS			((NTSTATUS)0x00000000)
#define STATUS_TIMEOUT			((NTSTATUS)0x00000102)
#define STATUS_BUFFER_OVERFLOW		((NTSTATUS)0x80000005)
#define STATUS_UNSUCCESSFUL		((NTSTATUS)0xC0000001)
#define STATUS_INVALID_HANDLE		((NTSTATUS)0xC0000008)
#define STATUS_INVALID_PARAMETER	((NTSTATUS)0xC000000D)
#define STATUS_BUFFER_TOO_SMALL		((NTSTATUS)0xC0000023)
#define STATUS_OBJECT_NAME_NOT_FOUND	((NTSTATUS)0xC0000034)
#define STATUS_INSUFFICIENT_RESOURCES	((NTSTATUS)0xC000009A)
#define STATUS_NOT_SUPPORTED		((NTSTATUS)0xC00000BB)
#define STATUS_CANCELLED		((NTSTATUS)0xC0000120)
#define STATUS_NOT_IMPLEMENTED		((NTSTATUS)0xC0000002)

/* IRQL as the driver sees it (CR8), with Linux's TPR baseline mapped. */
#define PASSIVE_LEVEL	0
#define APC_LEVEL	1
#define DISPATCH_LEVEL	2
#define HIGH_LEVEL	15

/* The layouts the driver shares with us (x64, checked against mingw). */
struct nt_unicode_string {
	u16 length;		/* bytes, without the terminator */
	u16 maximum_length;
	u32 pad;
	u16 *buffer;
};

struct nt_object_attributes {
	u32 length;
	u32 pad;
	void *root_directory;
	struct nt_unicode_string *object_name;
	u32 attributes;
	u32 pad2;
	void *security_descriptor;
	void *security_qos;
};

#define NT_DRIVER_OBJECT_SIZE		0x150
#define NT_DRIVER_UNLOAD_OFFSET		0x68

/* One import: "name" bound to @fn, callable at IRQL <= @max_irql. */
struct nt_import {
	const char *name;
	void *fn;
};
const struct nt_import *nt_find_import(const char *dll, const char *name);

/* nt.c: the runtime the imports share. */
/* Nonzero: leaks after the driver's teardown (pool, memory, handles...). */
int nt_report_leaks(const char *when);
void nt_power_event(bool leaving_s0);
void nt_cpu_added(unsigned int cpu);
bool nt_cpu_callbacks_registered(void);
u8 nt_irql(void);
void nt_irql_selftest(void);
extern atomic_t nt_irql_violations;
extern atomic_t nt_import_calls;
extern atomic_t nt_dbgprint_lines;
extern char *nt_systemroot;
extern int nt_fail_step;
extern int nt_log_level;

/* fmt.c: vsnprintf with Windows' sizes (long is 32 bits, %ws, %wZ). */
int nt_vsnprintf(char *buf, size_t size, const char *fmt,
		 __builtin_ms_va_list ap);

/* call.S: call a Microsoft-ABI function on a 16-byte aligned stack. */
u64 ntshim_ms_call(void *fn, u64 a1, u64 a2, u64 a3, u64 a4);

/* pe.c */
struct pe_image {
	void *base;		/* vmalloc area holding the image */
	size_t size;		/* SizeOfImage, page-rounded */
	void *entry;		/* DriverEntry */
	unsigned int nimports;
};
int pe_load(const char *path, struct pe_image *img);
void pe_unload(struct pe_image *img);

#endif
