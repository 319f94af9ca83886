/* SPDX-License-Identifier: MIT */
/*
 * A user-mode stand-in for the NT kernel that loads the real thinvisor.sys
 * on Linux: ntstub_pe.c maps and binds the image and emulates the few
 * privileged instructions the Windows glue itself executes (CR8 = IRQL,
 * CR3 read, the core's CR4/FEATURE_CONTROL probes), ntstub_nt.c holds the
 * fake NT functions, ntstub.c the scenarios.  Everything the driver calls
 * uses the Microsoft x64 ABI: every fake and every pointer into the image
 * is declared with MS below.
 */
#ifndef NTSTUB_H
#define NTSTUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MS __attribute__((ms_abi))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

typedef int32_t NTSTATUS;
typedef uint16_t WCHAR;

#define ST_SUCCESS 0
#define ST_TIMEOUT 0x102
#define ST_UNSUCCESSFUL ((NTSTATUS)0xC0000001)
#define ST_INVALID_PARAMETER ((NTSTATUS)0xC000000D)
#define ST_NO_MEMORY ((NTSTATUS)0xC000009A)
#define ST_NOT_FOUND ((NTSTATUS)0xC0000034)
#define ST_BUFFER_TOO_SMALL ((NTSTATUS)0xC0000023)
#define ST_ACCESS_DENIED ((NTSTATUS)0xC0000022)

/* The LLP64 layouts the driver uses (checked against mingw's DDK). */
struct nt_ustr {
	uint16_t len, max;
	uint32_t pad;
	WCHAR *buf;
};

struct nt_oattr {
	uint32_t length, pad;
	void *root;
	struct nt_ustr *name;
	uint32_t attributes, pad2;
	void *sd, *sqos;
};

#define DRIVER_OBJECT_SIZE 336
#define DRIVER_UNLOAD_OFFSET 104

typedef MS NTSTATUS (*driver_entry_fn)(void *drv, struct nt_ustr *reg);
typedef MS void (*driver_unload_fn)(void *drv);

/* --- ntstub_pe.c --------------------------------------------------- */

struct image {
	uint8_t *base;
	size_t size;
	uint64_t pref_base;
	driver_entry_fn entry;
	unsigned int nrelocs, nimports, nsections;
	uint16_t subsystem;
};

/* Map, relocate, bind imports to fakes, protect; 0 or -1 with @err. */
int pe_load(const char *path, struct image *img, char *err, size_t len);
void pe_unload(struct image *img);
/* Section @name of the mapped image (VirtualSize, characteristics). */
int pe_section(const struct image *img, const char *name,
	       const uint8_t **start, uint32_t *size, uint32_t *flags);
/* Is @addr inside an executable section of the mapped image? */
bool pe_is_code(const struct image *img, uint64_t addr);
/* SIGSEGV handler emulating CR8/CR3/CR4 moves and RDMSR 0x3a. */
void emu_install(const struct image *img);
extern unsigned long emu_count;

/* --- ntstub_nt.c --------------------------------------------------- */

/* The fake for ntoskrnl.exe!name, or NULL. */
void *nt_lookup(const char *dll, const char *name);

enum nt_event_kind { EV_POWER, EV_CPU };

struct nt_event {
	enum nt_event_kind kind;
	uint64_t arg1, arg2;		/* EV_POWER */
	uint32_t state, cpu;		/* EV_CPU */
	int32_t status;
};

struct nt_config {
	int fail_at;			/* fallible call to fail, -1 none */
	bool has_fail_step;
	uint32_t fail_step;
	bool has_log_level;
	uint32_t log_level;
	uint32_t os_major, os_minor, os_build;
	unsigned int max_cpus, active_cpus;
	const char *log_path;		/* file behind \SystemRoot\thinvisor.log */
	const struct nt_event *events;	/* delivered at PASSIVE safe points */
	int nevents;
	struct nt_ustr *reg_path;
};

void nt_reset(const struct nt_config *cfg);
/* Fallible calls made since nt_reset(). */
int nt_fallible_calls(void);
/* Events delivered so far. */
int nt_events_delivered(void);
/* Deliver whatever is pending now (from the scenario thread). */
void nt_deliver_events(void);
/* 0 when nothing is left allocated, registered, open or running. */
int nt_check_clean(char *why, size_t len);
/* Everything DbgPrintEx printed since nt_reset(). */
const char *nt_transcript(void);
/* Broken rules (IRQL, executable pool, unknown objects), with text. */
int nt_violations(char *why, size_t len);
/* ZwQueryValueKey calls for "FailStep" since the start (not reset). */
int nt_fail_step_queries(void);
/* Allocations of any kind since nt_reset(). */
int nt_allocations(void);

extern __thread unsigned int nt_irql;
/* Echo DbgPrintEx to stdout (always with NTSTUB_VERBOSE set). */
extern bool nt_echo;

/* --- ntstub_route.c ------------------------------------------------- */

int route_tests(int *passed, int *failed);
/* tv_win_ntstatus() of platform/windows/route.c, linked natively. */
uint32_t route_ntstatus(int err);

/* --- ntstub_string.c ------------------------------------------------ */

int string_tests(int *passed, int *failed);

/* --- ntstub_ext.c --------------------------------------------------- */

/*
 * With @img NULL: unit tests of the built-in extension table walk.  Else
 * the .tvext table of the mapped image; @names: the extensions' names it
 * must hold, comma-separated in link order, or NULL for any.
 */
int ext_tests(const struct image *img, const char *names, int *passed,
	      int *failed);

#endif
