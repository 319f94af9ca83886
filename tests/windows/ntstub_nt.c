// SPDX-License-Identifier: MIT
/*
 * The fake NT functions thinvisor.sys imports.  Each behaves like its NT
 * namesake as far as the driver can tell (return values, out-parameters,
 * object lifetimes, IRQL rules) and records what it handed out so that a
 * scenario can prove nothing is left behind.  Fallible calls (allocations,
 * registrations, creations) can be made to fail one at a time.  State is
 * shared with the driver's log thread (a real pthread), under one mutex
 * that is never held while driver code runs.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "ntstub.h"

#define PASSIVE 0
#define APC 1
#define DISPATCH 2

__thread unsigned int nt_irql;
bool nt_echo;

static pthread_mutex_t W = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t C = PTHREAD_COND_INITIALIZER;
static struct nt_config cfg;
static pthread_t scenario_thread;

/* --- bookkeeping ------------------------------------------------------ */

enum mem_kind { MEM_POOL, MEM_CONTIG };

struct mem {
	void *p;
	size_t size;
	uint32_t tag;
	enum mem_kind kind;
};

#define MAX_MEM 4096
static struct mem mems[MAX_MEM];
static int fallible, allocations, delivered, delivering;

static char transcript[1 << 16];
static size_t transcript_len;
static char violations[4096];
static int nviolations;

static void violation(const char *fmt, ...)
{
	size_t n = strlen(violations);
	va_list ap;

	nviolations++;
	va_start(ap, fmt);
	vsnprintf(violations + n, sizeof(violations) - n, fmt, ap);
	va_end(ap);
	n = strlen(violations);
	if (n + 2 < sizeof(violations))
		strcpy(violations + n, "; ");
}

/* The IRQL rule of each routine, from its documentation. */
static void need_irql(unsigned int max, const char *fn)
{
	if (nt_irql > max)
		violation("%s at IRQL %u (max %u)", fn, nt_irql, max);
}

/* Fallible calls fail when their turn comes (caller holds W). */
static bool inject_at(const char *fn)
{
	if (fallible++ != cfg.fail_at)
		return false;
	if (getenv("NTSTUB_VERBOSE"))
		printf("    [ntstub] failing call %d: %s\n", cfg.fail_at, fn);
	return true;
}
#define inject() inject_at(__func__)

static void track(void *p, size_t size, uint32_t tag, enum mem_kind kind)
{
	int i;

	allocations++;
	for (i = 0; i < MAX_MEM; i++)
		if (!mems[i].p) {
			mems[i] = (struct mem){ p, size, tag, kind };
			return;
		}
	violation("more than %d live allocations", MAX_MEM);
}

static struct mem *find_mem(void *p)
{
	int i;

	for (i = 0; i < MAX_MEM; i++)
		if (mems[i].p == p)
			return &mems[i];
	return NULL;
}

/* Kernel objects the driver embeds (KEVENT, KMUTEX), keyed by address. */
enum obj_kind { OBJ_EVENT, OBJ_MUTEX };

struct kobj {
	void *addr;
	enum obj_kind kind;
	bool signaled, sync;	/* event */
	bool owned;		/* mutex */
	pthread_t owner;
	int depth;
};

#define MAX_OBJ 16
static struct kobj objs[MAX_OBJ];
static __thread int mutexes_held;

static struct kobj *obj_get(void *addr, enum obj_kind kind, bool create)
{
	int i, free_slot = -1;

	for (i = 0; i < MAX_OBJ; i++) {
		if (objs[i].addr == addr)
			return &objs[i];
		if (!objs[i].addr && free_slot < 0)
			free_slot = i;
	}
	if (!create || free_slot < 0)
		return NULL;
	objs[free_slot] = (struct kobj){ .addr = addr, .kind = kind };
	return &objs[free_slot];
}

/* Handles: files, registry keys and threads. */
enum h_kind { H_FREE, H_FILE, H_KEY, H_THREAD };

struct thread {
	pthread_t pt;
	MS void (*start)(void *ctx);
	void *ctx;
	jmp_buf jb;
	bool exited, joined;
};

struct handle {
	enum h_kind kind;
	FILE *file;
	struct thread *th;
};

#define MAX_H 16
static struct handle handles[MAX_H];
static __thread struct thread *cur_thread;

static void *h_new(enum h_kind kind)
{
	int i;

	for (i = 0; i < MAX_H; i++)
		if (handles[i].kind == H_FREE) {
			handles[i] = (struct handle){ .kind = kind };
			/* Kernel handles have the top bit set. */
			return (void *)(uintptr_t)(0xffffffff80000004ULL + 4 * i);
		}
	violation("out of handles");
	return NULL;
}

static struct handle *h_get(void *h, enum h_kind kind, const char *fn)
{
	uint64_t v = (uint64_t)(uintptr_t)h - 0xffffffff80000004ULL;

	if (v % 4 || v / 4 >= MAX_H || handles[v / 4].kind != kind) {
		violation("%s: bad handle %p", fn, h);
		return NULL;
	}
	return &handles[v / 4];
}

/* Callback registrations. */
typedef MS void (*power_fn)(void *ctx, void *a1, void *a2);
typedef MS void (*cpu_fn)(void *ctx, void *change, NTSTATUS *op);

static struct {
	int refs;
	bool opened;
} power_obj;

struct reg {
	bool used;
	void *fn;
	void *ctx;
};

static struct reg power_regs[4], cpu_regs[4];

/* --- scenario interface ------------------------------------------------ */

void nt_reset(const struct nt_config *c)
{
	pthread_mutex_lock(&W);
	cfg = *c;
	fallible = 0;
	allocations = 0;
	delivered = 0;
	delivering = 0;
	transcript_len = 0;
	transcript[0] = 0;
	violations[0] = 0;
	nviolations = 0;
	memset(objs, 0, sizeof(objs));
	scenario_thread = pthread_self();
	nt_irql = PASSIVE;
	mutexes_held = 0;
	pthread_mutex_unlock(&W);
}

int nt_fallible_calls(void)
{
	return fallible;
}

int nt_events_delivered(void)
{
	return delivered;
}

int nt_allocations(void)
{
	return allocations;
}

const char *nt_transcript(void)
{
	return transcript;
}

int nt_violations(char *why, size_t len)
{
	snprintf(why, len, "%s", violations);
	return nviolations;
}

int nt_check_clean(char *why, size_t len)
{
	size_t n = 0;
	int i, bad = 0;

	why[0] = 0;
#define SAY(...) do { bad++; if (n < len) n += snprintf(why + n, len - n, __VA_ARGS__); } while (0)
	pthread_mutex_lock(&W);
	for (i = 0; i < MAX_MEM; i++)
		if (mems[i].p) {
			SAY("leak: %s of %zu bytes tag 0x%08x; ",
			    mems[i].kind == MEM_POOL ? "pool" : "contiguous",
			    mems[i].size, mems[i].tag);
			free(mems[i].p);
			mems[i].p = NULL;
		}
	for (i = 0; i < 4; i++) {
		if (power_regs[i].used)
			SAY("power callback still registered; ");
		if (cpu_regs[i].used)
			SAY("processor callback still registered; ");
		power_regs[i].used = cpu_regs[i].used = false;
	}
	if (power_obj.refs)
		SAY("\\Callback\\PowerState referenced %d times; ",
		    power_obj.refs);
	power_obj.refs = 0;
	for (i = 0; i < MAX_H; i++)
		if (handles[i].kind != H_FREE) {
			SAY("handle %d (kind %d) not closed; ", i,
			    handles[i].kind);
			if (handles[i].kind == H_THREAD && !handles[i].th->joined)
				SAY("system thread still running; ");
			handles[i].kind = H_FREE;
		}
	for (i = 0; i < MAX_OBJ; i++)
		if (objs[i].addr && objs[i].kind == OBJ_MUTEX && objs[i].owned)
			SAY("mutex still held; ");
	if (nt_irql != PASSIVE)
		SAY("returned at IRQL %u; ", nt_irql);
	pthread_mutex_unlock(&W);
#undef SAY
	return bad;
}

/*
 * Power and hot-add notifications arrive whenever NT likes: here, at the
 * first call the driver makes from the scenario thread at PASSIVE_LEVEL
 * without its lock held, once the callback they need is registered.
 */
void nt_deliver_events(void)
{
	int i;

	if (!pthread_equal(pthread_self(), scenario_thread) || nt_irql ||
	    mutexes_held || delivering)
		return;
	delivering = 1;
	while (delivered < cfg.nevents) {
		const struct nt_event *e = &cfg.events[delivered];
		struct reg *regs = e->kind == EV_POWER ? power_regs : cpu_regs;
		struct reg r = { 0 };

		pthread_mutex_lock(&W);
		for (i = 0; i < 4; i++)
			if (regs[i].used)
				r = regs[i];
		pthread_mutex_unlock(&W);
		if (!r.used)
			break;
		delivered++;
		if (e->kind == EV_POWER) {
			((power_fn)r.fn)(r.ctx, (void *)(uintptr_t)e->arg1,
					 (void *)(uintptr_t)e->arg2);
		} else {
			struct {
				int32_t state;
				uint32_t nt_number;
				int32_t status;
				uint16_t group;
				uint8_t number, reserved;
			} ch = { (int32_t)e->state, e->cpu, e->status, 0,
				 (uint8_t)e->cpu, 0 };
			NTSTATUS op = ST_SUCCESS;

			((cpu_fn)r.fn)(r.ctx, &ch, &op);
		}
		if (nt_irql || mutexes_held)
			violation("callback returned at IRQL %u holding %d mutexes",
				  nt_irql, mutexes_held);
	}
	delivering = 0;
}

#define ENTER() nt_deliver_events()

/* --- strings ------------------------------------------------------------ */

static bool ustr_is(const struct nt_ustr *u, const char *s)
{
	size_t i, n = strlen(s);

	if (!u || u->len != 2 * n)
		return false;
	for (i = 0; i < n; i++) {
		WCHAR a = u->buf[i], b = (unsigned char)s[i];

		if (a >= 'a' && a <= 'z')
			a -= 32;
		if (b >= 'a' && b <= 'z')
			b -= 32;
		if (a != b)
			return false;
	}
	return true;
}

static MS void RtlInitUnicodeString(struct nt_ustr *u, const WCHAR *s)
{
	size_t n = 0;

	if (s)
		while (s[n])
			n++;
	u->len = (uint16_t)(2 * n);
	u->max = (uint16_t)(2 * n + 2);
	u->buf = (WCHAR *)s;
}

/* An LLP64 printf for DbgPrintEx: long is 32 bits there. */
static void ms_format(char *out, size_t size, const char *fmt,
		      __builtin_ms_va_list ap)
{
	size_t n = 0;

	for (; *fmt && n + 1 < size; fmt++) {
		char spec[16] = "%", *sp = spec + 1;
		int longs = 0;

		if (*fmt != '%') {
			out[n++] = *fmt;
			continue;
		}
		fmt++;
		while (strchr("-0123456789", *fmt) && sp < spec + 8)
			*sp++ = *fmt++;
		while (*fmt == 'l') {
			longs++;
			fmt++;
		}
		*sp++ = 'l';
		*sp++ = 'l';
		*sp++ = *fmt;
		*sp = 0;
		switch (*fmt) {
		case 's':
			sp[-3] = 's';
			sp[-2] = 0;
			n += snprintf(out + n, size - n, spec,
				      __builtin_va_arg(ap, const char *));
			break;
		case 'u':
		case 'x':
		case 'X':
			n += snprintf(out + n, size - n, spec,
				      longs >= 2 ?
				      __builtin_va_arg(ap, unsigned long long) :
				      (unsigned long long)
				      __builtin_va_arg(ap, unsigned int));
			break;
		case 'd':
			n += snprintf(out + n, size - n, spec,
				      longs >= 2 ?
				      __builtin_va_arg(ap, long long) :
				      (long long)__builtin_va_arg(ap, int));
			break;
		case '%':
			out[n++] = '%';
			break;
		default:
			n += snprintf(out + n, size - n, "<%%%c?>", *fmt);
			violation("DbgPrintEx format %%%c", *fmt);
			break;
		}
		if (n >= size)
			n = size - 1;
	}
	out[n] = 0;
}

static MS uint32_t DbgPrintEx(uint32_t component, uint32_t level,
			      const char *fmt, ...)
{
	__builtin_ms_va_list ap;
	char line[1024];
	size_t n;

	/* Documented up to DIRQL; the driver keeps it at DISPATCH or below. */
	need_irql(DISPATCH, "DbgPrintEx");
	if (component != 77)
		violation("DbgPrintEx component %u, not IHVDRIVER", component);
	__builtin_ms_va_start(ap, fmt);
	ms_format(line, sizeof(line), fmt, ap);
	__builtin_ms_va_end(ap);
	pthread_mutex_lock(&W);
	n = strlen(line);
	if (transcript_len + n + 16 < sizeof(transcript)) {
		transcript_len += snprintf(transcript + transcript_len,
					   sizeof(transcript) - transcript_len,
					   "<%u>%s%s", level, line,
					   n && line[n - 1] == '\n' ? "" : "\n");
	}
	pthread_mutex_unlock(&W);
	if (nt_echo || getenv("NTSTUB_VERBOSE"))
		printf("    [DbgPrintEx %u] %s%s", level, line,
		       n && line[n - 1] == '\n' ? "" : "\n");
	return 0;
}

/* --- memory ---------------------------------------------------------------- */

#define NonPagedPoolNx 512

static MS void *ExAllocatePoolWithTag(int type, size_t size, uint32_t tag)
{
	void *p = NULL;

	ENTER();
	need_irql(DISPATCH, "ExAllocatePoolWithTag");
	pthread_mutex_lock(&W);
	if (type != NonPagedPoolNx)
		violation("pool type %d is not NonPagedPoolNx (executable pool)",
			  type);
	if (!inject()) {
		/* Garbage, as pool is: the driver must zero it itself. */
		p = malloc(size ? size : 1);
		if (p) {
			memset(p, 0xa5, size);
			track(p, size, tag, MEM_POOL);
		}
	}
	pthread_mutex_unlock(&W);
	return p;
}

static void pool_free(void *p, uint32_t tag, bool check_tag, const char *fn)
{
	struct mem *m;

	need_irql(DISPATCH, fn);
	pthread_mutex_lock(&W);
	m = find_mem(p);
	if (!m || m->kind != MEM_POOL)
		violation("%s(%p): not pool", fn, p);
	else if (check_tag && m->tag != tag)
		violation("%s: tag 0x%08x, allocated with 0x%08x", fn, tag,
			  m->tag);
	if (m && m->kind == MEM_POOL) {
		free(p);
		m->p = NULL;
	}
	pthread_mutex_unlock(&W);
}

static MS void ExFreePoolWithTag(void *p, uint32_t tag)
{
	ENTER();
	pool_free(p, tag, true, "ExFreePoolWithTag");
}

static MS void ExFreePool(void *p)
{
	ENTER();
	pool_free(p, 0, false, "ExFreePool");
}

#define PAGE_READWRITE 4
#define MM_ANY_NODE_OK 0x80000000u

static MS void *MmAllocateContiguousNodeMemory(size_t bytes, int64_t low,
					       int64_t high, int64_t boundary,
					       uint32_t protect,
					       uint32_t node)
{
	void *p = NULL;

	ENTER();
	need_irql(DISPATCH, "MmAllocateContiguousNodeMemory");
	pthread_mutex_lock(&W);
	if (protect != PAGE_READWRITE)
		violation("contiguous memory with protection 0x%x", protect);
	if (bytes % 4096 || !bytes)
		violation("contiguous allocation of %zu bytes", bytes);
	if (boundary < 0 || (boundary & (boundary - 1)) ||
	    (boundary && (uint64_t)boundary < bytes))
		violation("contiguous allocation of %zu bytes within %lld",
			  bytes, (long long)boundary);
	if (!inject()) {
		/* Aligned to a power of two >= bytes: crosses no boundary. */
		size_t align = 4096;

		while (boundary && align < bytes)
			align <<= 1;
		if (posix_memalign(&p, align, bytes))
			p = NULL;
		if (p) {
			memset(p, 0x5a, bytes);
			track(p, bytes, 0, MEM_CONTIG);
		}
	}
	pthread_mutex_unlock(&W);
	return p;
}

static MS void MmFreeContiguousMemory(void *p)
{
	struct mem *m;

	ENTER();
	need_irql(PASSIVE, "MmFreeContiguousMemory");
	pthread_mutex_lock(&W);
	m = find_mem(p);
	if (!m || m->kind != MEM_CONTIG) {
		violation("MmFreeContiguousMemory(%p): not contiguous", p);
	} else {
		free(p);
		m->p = NULL;
	}
	pthread_mutex_unlock(&W);
}

/* Identity: the stand-in has no physical memory. */
static MS int64_t MmGetPhysicalAddress(void *va)
{
	return (int64_t)(uintptr_t)va;
}

static MS void *MmGetPhysicalMemoryRanges(void)
{
	static const int64_t ranges[][2] = {
		{ 0x1000, 0x9e000 },
		{ 0x100000, 0x7fe00000 },
		{ 0x100000000LL, 0x80000000 },
		{ 0, 0 },
	};
	void *p = NULL;

	ENTER();
	need_irql(PASSIVE, "MmGetPhysicalMemoryRanges");
	pthread_mutex_lock(&W);
	if (!inject()) {
		p = malloc(sizeof(ranges));
		if (p) {
			memcpy(p, ranges, sizeof(ranges));
			track(p, sizeof(ranges), 0x5270624d, MEM_POOL);
		}
	}
	pthread_mutex_unlock(&W);
	return p;
}

/* Freestanding C the driver gets from ntoskrnl: libc (ASan checks it). */
static MS void *nt_memset(void *d, int c, size_t n)
{
	return memset(d, c, n);
}

static MS void *nt_memcpy(void *d, const void *s, size_t n)
{
	return memcpy(d, s, n);
}

static MS int nt_memcmp(const void *a, const void *b, size_t n)
{
	return memcmp(a, b, n);
}

static MS size_t nt_strlen(const char *s)
{
	return strlen(s);
}

/* --- OS version, registry ----------------------------------------------- */

static MS NTSTATUS RtlGetVersion(uint32_t *v)
{
	ENTER();
	if (v[0] != 276 && v[0] != 284) {
		violation("RtlGetVersion: size %u", v[0]);
		return ST_INVALID_PARAMETER;
	}
	v[1] = cfg.os_major;
	v[2] = cfg.os_minor;
	v[3] = cfg.os_build;
	v[4] = 2;		/* VER_PLATFORM_WIN32_NT */
	return ST_SUCCESS;
}

#define OBJ_KERNEL_HANDLE 0x200

static MS NTSTATUS ZwOpenKey(void **h, uint32_t access, struct nt_oattr *oa)
{
	ENTER();
	need_irql(PASSIVE, "ZwOpenKey");
	*h = NULL;
	pthread_mutex_lock(&W);
	if (!(oa->attributes & OBJ_KERNEL_HANDLE))
		violation("ZwOpenKey without OBJ_KERNEL_HANDLE");
	if (!oa->name || !cfg.reg_path || oa->name->len != cfg.reg_path->len ||
	    memcmp(oa->name->buf, cfg.reg_path->buf, oa->name->len)) {
		pthread_mutex_unlock(&W);
		return ST_NOT_FOUND;
	}
	if (inject()) {
		pthread_mutex_unlock(&W);
		return ST_ACCESS_DENIED;
	}
	*h = h_new(H_KEY);
	pthread_mutex_unlock(&W);
	return ST_SUCCESS;
}

static int fail_step_queries;

int nt_fail_step_queries(void)
{
	return __atomic_load_n(&fail_step_queries, __ATOMIC_RELAXED);
}

static MS NTSTATUS ZwQueryValueKey(void *h, struct nt_ustr *name, int cls,
				   void *buf, uint32_t len, uint32_t *result)
{
	uint32_t info[4];

	ENTER();
	need_irql(PASSIVE, "ZwQueryValueKey");
	pthread_mutex_lock(&W);
	h_get(h, H_KEY, "ZwQueryValueKey");
	pthread_mutex_unlock(&W);
	if (cls != 2)		/* KeyValuePartialInformation */
		violation("ZwQueryValueKey class %d", cls);
	if (ustr_is(name, "FailStep"))
		__atomic_add_fetch(&fail_step_queries, 1, __ATOMIC_RELAXED);
	if (ustr_is(name, "FailStep") && cfg.has_fail_step)
		info[3] = cfg.fail_step;
	else if (ustr_is(name, "LogLevel") && cfg.has_log_level)
		info[3] = cfg.log_level;
	else
		return ST_NOT_FOUND;
	*result = 16;
	if (len < 16)
		return ST_BUFFER_TOO_SMALL;
	info[0] = 0;		/* TitleIndex */
	info[1] = 4;		/* REG_DWORD */
	info[2] = 4;
	memcpy(buf, info, 16);
	return ST_SUCCESS;
}

/* --- files and threads ----------------------------------------------- */

static MS NTSTATUS ZwCreateFile(void **h, uint32_t access,
				struct nt_oattr *oa, void *iosb, void *alloc,
				uint32_t attrs, uint32_t share,
				uint32_t disposition, uint32_t options,
				void *ea, uint32_t ea_len)
{
	struct handle *hh;
	FILE *f;

	ENTER();
	need_irql(PASSIVE, "ZwCreateFile");
	*h = NULL;
	if (!ustr_is(oa->name, "\\SystemRoot\\thinvisor.log")) {
		violation("ZwCreateFile of an unexpected path");
		return ST_NOT_FOUND;
	}
	if (!(oa->attributes & OBJ_KERNEL_HANDLE))
		violation("log file handle is not a kernel handle");
	if (!(access & 4) || disposition != 3 || !(options & 0x20))
		violation("ZwCreateFile access 0x%x disposition %u options 0x%x",
			  access, disposition, options);
	pthread_mutex_lock(&W);
	if (inject()) {
		pthread_mutex_unlock(&W);
		return ST_ACCESS_DENIED;
	}
	f = fopen(cfg.log_path, "ab");
	if (!f) {
		pthread_mutex_unlock(&W);
		return ST_UNSUCCESSFUL;
	}
	*h = h_new(H_FILE);
	hh = h_get(*h, H_FILE, "ZwCreateFile");
	hh->file = f;
	pthread_mutex_unlock(&W);
	return ST_SUCCESS;
}

static MS NTSTATUS ZwWriteFile(void *h, void *event, void *apc, void *ctx,
			       int64_t *iosb, const void *buf, uint32_t len,
			       void *offset, void *key)
{
	struct handle *hh;

	ENTER();
	need_irql(PASSIVE, "ZwWriteFile");
	pthread_mutex_lock(&W);
	hh = h_get(h, H_FILE, "ZwWriteFile");
	if (hh)
		fwrite(buf, 1, len, hh->file);
	pthread_mutex_unlock(&W);
	iosb[0] = hh ? ST_SUCCESS : ST_INVALID_PARAMETER;
	iosb[1] = hh ? len : 0;
	return (NTSTATUS)iosb[0];
}

static void *thread_main(void *arg)
{
	struct thread *t = arg;

	nt_irql = PASSIVE;
	cur_thread = t;
	if (!setjmp(t->jb)) {
		t->start(t->ctx);
		violation("system thread returned instead of PsTerminateSystemThread");
	}
	pthread_mutex_lock(&W);
	t->exited = true;
	if (nt_irql || mutexes_held)
		violation("system thread ended at IRQL %u", nt_irql);
	pthread_mutex_unlock(&W);
	return NULL;
}

static MS NTSTATUS PsCreateSystemThread(void **h, uint32_t access,
					struct nt_oattr *oa, void *process,
					void *client, MS void (*start)(void *),
					void *ctx)
{
	struct thread *t;

	ENTER();
	need_irql(PASSIVE, "PsCreateSystemThread");
	*h = NULL;
	if (!oa || !(oa->attributes & OBJ_KERNEL_HANDLE))
		violation("thread handle is not a kernel handle");
	if (process)
		violation("system thread in a process other than System");
	pthread_mutex_lock(&W);
	if (inject()) {
		pthread_mutex_unlock(&W);
		return ST_NO_MEMORY;
	}
	t = calloc(1, sizeof(*t));
	t->start = start;
	t->ctx = ctx;
	*h = h_new(H_THREAD);
	h_get(*h, H_THREAD, "PsCreateSystemThread")->th = t;
	pthread_mutex_unlock(&W);
	if (pthread_create(&t->pt, NULL, thread_main, t)) {
		violation("pthread_create failed");
		return ST_NO_MEMORY;
	}
	return ST_SUCCESS;
}

static MS NTSTATUS PsTerminateSystemThread(NTSTATUS st)
{
	need_irql(PASSIVE, "PsTerminateSystemThread");
	if (!cur_thread) {
		violation("PsTerminateSystemThread outside a system thread");
		return ST_INVALID_PARAMETER;
	}
	longjmp(cur_thread->jb, 1);
}

static MS NTSTATUS ZwWaitForSingleObject(void *h, uint8_t alertable,
					 int64_t *timeout)
{
	struct handle *hh;
	struct thread *t;

	ENTER();
	need_irql(PASSIVE, "ZwWaitForSingleObject");
	if (timeout)
		violation("ZwWaitForSingleObject with a timeout");
	pthread_mutex_lock(&W);
	hh = h_get(h, H_THREAD, "ZwWaitForSingleObject");
	t = hh ? hh->th : NULL;
	pthread_mutex_unlock(&W);
	if (!t)
		return ST_INVALID_PARAMETER;
	if (!t->joined) {
		pthread_join(t->pt, NULL);
		t->joined = true;
	}
	return ST_SUCCESS;
}

static MS NTSTATUS ZwClose(void *h)
{
	uint64_t v = (uint64_t)(uintptr_t)h - 0xffffffff80000004ULL;
	struct handle *hh;

	ENTER();
	need_irql(PASSIVE, "ZwClose");
	pthread_mutex_lock(&W);
	if (v % 4 || v / 4 >= MAX_H || handles[v / 4].kind == H_FREE) {
		violation("ZwClose of a bad handle");
		pthread_mutex_unlock(&W);
		return ST_INVALID_PARAMETER;
	}
	hh = &handles[v / 4];
	if (hh->kind == H_FILE)
		fclose(hh->file);
	if (hh->kind == H_THREAD) {
		/* Closing does not stop a thread: it must have ended. */
		if (!hh->th->joined)
			violation("thread handle closed while the thread runs");
		else
			free(hh->th);
	}
	hh->kind = H_FREE;
	pthread_mutex_unlock(&W);
	return ST_SUCCESS;
}

/* --- dispatcher objects ---------------------------------------------- */

static MS void KeInitializeEvent(void *ev, int type, uint8_t state)
{
	struct kobj *o;

	pthread_mutex_lock(&W);
	o = obj_get(ev, OBJ_EVENT, true);
	o->kind = OBJ_EVENT;
	o->sync = type == 1;
	o->signaled = state;
	pthread_mutex_unlock(&W);
}

static MS int32_t KeSetEvent(void *ev, int32_t incr, uint8_t wait)
{
	struct kobj *o;
	int32_t prev = 0;

	ENTER();
	need_irql(DISPATCH, "KeSetEvent");
	pthread_mutex_lock(&W);
	o = obj_get(ev, OBJ_EVENT, false);
	if (!o || o->kind != OBJ_EVENT) {
		violation("KeSetEvent of an uninitialized event");
	} else {
		prev = o->signaled;
		o->signaled = true;
		pthread_cond_broadcast(&C);
	}
	pthread_mutex_unlock(&W);
	return prev;
}

static MS void KeInitializeMutex(void *m, uint32_t level)
{
	struct kobj *o;

	pthread_mutex_lock(&W);
	o = obj_get(m, OBJ_MUTEX, true);
	if (o->owned)
		violation("KeInitializeMutex of a held mutex");
	*o = (struct kobj){ .addr = m, .kind = OBJ_MUTEX };
	pthread_mutex_unlock(&W);
}

static MS int32_t KeReleaseMutex(void *m, uint8_t wait)
{
	struct kobj *o;

	ENTER();
	need_irql(DISPATCH, "KeReleaseMutex");
	pthread_mutex_lock(&W);
	o = obj_get(m, OBJ_MUTEX, false);
	if (!o || !o->owned || !pthread_equal(o->owner, pthread_self())) {
		violation("KeReleaseMutex of a mutex not held by this thread");
	} else if (!--o->depth) {
		o->owned = false;
		mutexes_held--;
		pthread_cond_broadcast(&C);
	}
	pthread_mutex_unlock(&W);
	return 0;
}

static MS NTSTATUS KeWaitForSingleObject(void *obj, int reason, int mode,
					 uint8_t alertable, int64_t *timeout)
{
	struct timespec deadline;
	struct kobj *o;
	NTSTATUS st = ST_SUCCESS;

	ENTER();
	need_irql(timeout && !*timeout ? DISPATCH : APC,
		  "KeWaitForSingleObject");
	if (timeout && *timeout > 0)
		violation("absolute timeouts are not modelled");
	if (timeout) {
		int64_t ns = -*timeout * 100;

		clock_gettime(CLOCK_REALTIME, &deadline);
		deadline.tv_sec += ns / 1000000000;
		deadline.tv_nsec += ns % 1000000000;
		if (deadline.tv_nsec >= 1000000000) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000;
		}
	}
	pthread_mutex_lock(&W);
	o = obj_get(obj, OBJ_EVENT, false);
	if (!o) {
		violation("wait on an uninitialized object");
		pthread_mutex_unlock(&W);
		return ST_INVALID_PARAMETER;
	}
	if (o->kind == OBJ_EVENT) {
		while (!o->signaled && st == ST_SUCCESS)
			if (!timeout)
				pthread_cond_wait(&C, &W);
			else if (pthread_cond_timedwait(&C, &W, &deadline))
				st = ST_TIMEOUT;
		if (o->signaled && o->sync)
			o->signaled = false;
		if (o->signaled)
			st = ST_SUCCESS;
	} else {
		while (o->owned && !pthread_equal(o->owner, pthread_self()) &&
		       st == ST_SUCCESS)
			if (!timeout)
				pthread_cond_wait(&C, &W);
			else if (pthread_cond_timedwait(&C, &W, &deadline))
				st = ST_TIMEOUT;
		if (st == ST_SUCCESS) {
			if (!o->owned) {
				o->owned = true;
				mutexes_held++;
			}
			o->owner = pthread_self();
			o->depth++;
		}
	}
	pthread_mutex_unlock(&W);
	return st;
}

/* --- processors ---------------------------------------------------------- */

static __thread unsigned int cur_cpu;

static MS uint32_t KeQueryMaximumProcessorCountEx(uint16_t group)
{
	if (group != 0xffff)
		violation("KeQueryMaximumProcessorCountEx(group %u)", group);
	return cfg.max_cpus;
}

static MS uint32_t KeQueryActiveProcessorCountEx(uint16_t group)
{
	if (group != 0xffff)
		violation("KeQueryActiveProcessorCountEx(group %u)", group);
	return cfg.active_cpus;
}

static MS uint16_t KeQueryActiveGroupCount(void)
{
	return (uint16_t)((cfg.active_cpus + 63) / 64);
}

struct pnum {
	uint16_t group;
	uint8_t number, reserved;
};

/* 64 processors a group, indices dense across groups. */
static MS NTSTATUS KeGetProcessorNumberFromIndex(uint32_t i, struct pnum *pn)
{
	if (i >= cfg.max_cpus)
		return ST_INVALID_PARAMETER;
	pn->group = (uint16_t)(i / 64);
	pn->number = (uint8_t)(i % 64);
	pn->reserved = 0;
	return ST_SUCCESS;
}

static MS uint32_t KeGetCurrentProcessorNumberEx(struct pnum *pn)
{
	if (pn) {
		pn->group = (uint16_t)(cur_cpu / 64);
		pn->number = (uint8_t)(cur_cpu % 64);
		pn->reserved = 0;
	}
	return cur_cpu;
}

struct gaff {
	uint64_t mask;
	uint16_t group, reserved[3];
};

static __thread int affinity_depth;

static MS void KeSetSystemGroupAffinityThread(const struct gaff *a,
					      struct gaff *prev)
{
	ENTER();
	need_irql(DISPATCH, "KeSetSystemGroupAffinityThread");
	if (!a->mask || a->group * 64 >= cfg.active_cpus)
		violation("affinity to no active processor");
	if (prev) {
		prev->mask = 1ULL << (cur_cpu % 64);
		prev->group = (uint16_t)(cur_cpu / 64);
	}
	cur_cpu = a->group * 64 + __builtin_ctzll(a->mask);
	affinity_depth++;
}

static MS void KeRevertToUserGroupAffinityThread(const struct gaff *prev)
{
	need_irql(DISPATCH, "KeRevertToUserGroupAffinityThread");
	if (!affinity_depth--)
		violation("affinity reverted more often than set");
	cur_cpu = prev->group * 64 + __builtin_ctzll(prev->mask | 1);
}

/* --- callbacks ----------------------------------------------------------- */

static MS NTSTATUS ExCreateCallback(void **obj, struct nt_oattr *oa,
				    uint8_t create, uint8_t multiple)
{
	ENTER();
	need_irql(PASSIVE, "ExCreateCallback");
	*obj = NULL;
	if (!ustr_is(oa->name, "\\Callback\\PowerState"))
		return ST_NOT_FOUND;
	pthread_mutex_lock(&W);
	if (inject()) {
		pthread_mutex_unlock(&W);
		return ST_NO_MEMORY;
	}
	power_obj.refs++;
	*obj = &power_obj;
	pthread_mutex_unlock(&W);
	return ST_SUCCESS;
}

static void *reg_add(struct reg *regs, void *fn, void *ctx)
{
	int i;

	for (i = 0; i < 4; i++)
		if (!regs[i].used) {
			regs[i] = (struct reg){ true, fn, ctx };
			return &regs[i];
		}
	violation("too many registrations");
	return NULL;
}

static MS void *ExRegisterCallback(void *obj, void *fn, void *ctx)
{
	void *r = NULL;

	ENTER();
	need_irql(PASSIVE, "ExRegisterCallback");
	pthread_mutex_lock(&W);
	if (obj != &power_obj || !power_obj.refs)
		violation("ExRegisterCallback on an unreferenced object");
	else if (!inject())
		r = reg_add(power_regs, fn, ctx);
	pthread_mutex_unlock(&W);
	return r;
}

static MS void ExUnregisterCallback(struct reg *r)
{
	ENTER();
	need_irql(PASSIVE, "ExUnregisterCallback");
	pthread_mutex_lock(&W);
	if (r < power_regs || r >= power_regs + 4 || !r->used)
		violation("ExUnregisterCallback of a bad registration");
	else
		r->used = false;
	pthread_mutex_unlock(&W);
}

static MS int64_t ObfDereferenceObject(void *obj)
{
	int64_t left = 0;

	ENTER();
	need_irql(DISPATCH, "ObfDereferenceObject");
	pthread_mutex_lock(&W);
	if (obj != &power_obj || power_obj.refs <= 0)
		violation("ObfDereferenceObject of an unreferenced object");
	else
		left = --power_obj.refs;
	pthread_mutex_unlock(&W);
	return left;
}

static MS void *KeRegisterProcessorChangeCallback(void *fn, void *ctx,
						  uint32_t flags)
{
	void *r = NULL;

	ENTER();
	need_irql(PASSIVE, "KeRegisterProcessorChangeCallback");
	if (flags)
		violation("processor callback flags 0x%x not modelled", flags);
	pthread_mutex_lock(&W);
	if (!inject())
		r = reg_add(cpu_regs, fn, ctx);
	pthread_mutex_unlock(&W);
	return r;
}

static MS void KeDeregisterProcessorChangeCallback(struct reg *r)
{
	ENTER();
	need_irql(PASSIVE, "KeDeregisterProcessorChangeCallback");
	pthread_mutex_lock(&W);
	if (r < cpu_regs || r >= cpu_regs + 4 || !r->used)
		violation("KeDeregisterProcessorChangeCallback of a bad handle");
	else
		r->used = false;
	pthread_mutex_unlock(&W);
}

static MS void KeBugCheckEx(uint32_t code, uint64_t p1, uint64_t p2,
			    uint64_t p3, uint64_t p4)
{
	fprintf(stderr, "ntstub: KeBugCheckEx(0x%x, 0x%llx, %s, %llu, %llu)\n",
		code, (unsigned long long)p1,
		p2 ? (const char *)(uintptr_t)p2 : "-",
		(unsigned long long)p3, (unsigned long long)p4);
	_Exit(4);
}

/* --- the import table ---------------------------------------------------- */

#define F(name) { #name, (void *)name }
static const struct {
	const char *name;
	void *fn;
} fakes[] = {
	F(DbgPrintEx), F(ExAllocatePoolWithTag), F(ExCreateCallback),
	F(ExFreePool), F(ExFreePoolWithTag), F(ExRegisterCallback),
	F(ExUnregisterCallback), F(KeBugCheckEx),
	F(KeDeregisterProcessorChangeCallback),
	F(KeGetCurrentProcessorNumberEx), F(KeGetProcessorNumberFromIndex),
	F(KeInitializeEvent), F(KeInitializeMutex), F(KeQueryActiveGroupCount),
	F(KeQueryActiveProcessorCountEx), F(KeQueryMaximumProcessorCountEx),
	F(KeRegisterProcessorChangeCallback), F(KeReleaseMutex),
	F(KeRevertToUserGroupAffinityThread), F(KeSetEvent),
	F(KeSetSystemGroupAffinityThread), F(KeWaitForSingleObject),
	F(MmAllocateContiguousNodeMemory), F(MmFreeContiguousMemory),
	F(MmGetPhysicalAddress), F(MmGetPhysicalMemoryRanges),
	F(ObfDereferenceObject), F(PsCreateSystemThread),
	F(PsTerminateSystemThread), F(RtlGetVersion), F(RtlInitUnicodeString),
	F(ZwClose), F(ZwCreateFile), F(ZwOpenKey), F(ZwQueryValueKey),
	F(ZwWaitForSingleObject), F(ZwWriteFile),
	{ "memset", (void *)nt_memset }, { "memcpy", (void *)nt_memcpy },
	{ "memcmp", (void *)nt_memcmp }, { "strlen", (void *)nt_strlen },
};

void *nt_lookup(const char *dll, const char *name)
{
	size_t i;

	if (strcasecmp(dll, "ntoskrnl.exe"))
		return NULL;
	for (i = 0; i < ARRAY_SIZE(fakes); i++)
		if (!strcmp(fakes[i].name, name))
			return fakes[i].fn;
	return NULL;
}
