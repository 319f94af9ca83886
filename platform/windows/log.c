// SPDX-License-Identifier: MIT
/*
 * Logging on Windows.  tv_plat_vlog() (sleepable or irqs-off callers)
 * formats the line on the stack, hands it to DbgPrintEx when the IRQL
 * allows it, and appends it to a lock-free ring: it never waits, so it is
 * safe at any IRQL.  The VMM writes to the core's own per-CPU rings
 * (core/log.h).  A system thread merges both rings by TSC every 50 ms
 * into \SystemRoot\thinvisor.log, DbgPrint-ing what was not printed yet.
 */
#include "tv_win.h"
#include "core/platform.h"
#include "core/log.h"
#include "core/ext.h"
#include "core/vmm.h"
#include "arch/x86/cpu.h"
#include "route.h"

#define HOST_RECORDS 256		/* a power of two */
#define HOST_TEXT 232
#define LOG_PERIOD_100NS (-50LL * 10000)	/* 50 ms, relative */
#define LOG_BUF_BYTES 4096

struct host_record {
	u64 ticket;		/* slot number + 1 once published */
	u64 tsc;
	u32 cpu;
	u8 level;
	u8 printed;		/* DbgPrintEx already had it */
	char text[HOST_TEXT];
};

/*
 * Many producers, one consumer.  A producer claims slot @head with a
 * compare-exchange only while the consumer has freed it (head - tail <
 * HOST_RECORDS), fills it, then publishes it with a release store of the
 * ticket; the consumer takes slot @tail only once its ticket is tail + 1.
 */
struct host_ring {
	u64 head;
	u64 tail;
	u64 dropped;
	struct host_record rec[HOST_RECORDS];
};

static struct {
	struct host_ring *ring;
	bool core_rings;
	HANDLE file;
	HANDLE thread;
	KEVENT stop;
	char *buf;
	size_t len;
	struct tv_log_record core_rec;	/* one read ahead */
	bool core_pending;
} g_log;

static const char *level_tag(int level)
{
	switch (level) {
	case TV_LOG_ERR:
		return "ERR";
	case TV_LOG_WARN:
		return "WRN";
	case TV_LOG_INFO:
		return "INF";
	default:
		return "DBG";
	}
}

/* Errors always show; the rest needs the Debug Print Filter (docs). */
static ULONG dpflt_level(int level)
{
	switch (level) {
	case TV_LOG_ERR:
		return DPFLTR_ERROR_LEVEL;
	case TV_LOG_WARN:
		return DPFLTR_WARNING_LEVEL;
	case TV_LOG_INFO:
		return DPFLTR_TRACE_LEVEL;
	default:
		return DPFLTR_INFO_LEVEL;
	}
}

static void host_put(int level, bool printed, const char *text)
{
	struct host_ring *r = __atomic_load_n(&g_log.ring, __ATOMIC_ACQUIRE);
	struct host_record *rec;
	u64 head;

	if (!r)
		return;
	head = __atomic_load_n(&r->head, __ATOMIC_RELAXED);
	do {
		if (head - __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE) >=
		    HOST_RECORDS) {
			__atomic_fetch_add(&r->dropped, 1, __ATOMIC_RELAXED);
			return;
		}
	} while (!__atomic_compare_exchange_n(&r->head, &head, head + 1, false,
					      __ATOMIC_ACQ_REL,
					      __ATOMIC_RELAXED));
	rec = &r->rec[head % HOST_RECORDS];
	rec->tsc = tv_rdtsc();
	rec->cpu = KeGetCurrentProcessorNumberEx(NULL);
	rec->level = (u8)level;
	rec->printed = printed;
	memcpy(rec->text, text, HOST_TEXT);
	__atomic_store_n(&rec->ticket, head + 1, __ATOMIC_RELEASE);
}

void tv_plat_vlog(int level, const char *fmt, tv_va_list ap)
{
	char line[HOST_TEXT];
	bool print;

	tv_vsnprintf(line, sizeof(line), fmt, ap);
	/* DbgPrintEx is documented up to DIRQL; above, the thread prints. */
	print = KeGetCurrentIrql() <= DISPATCH_LEVEL;
	if (print)
		DbgPrintEx(DPFLTR_IHVDRIVER_ID, dpflt_level(level), "%s", line);
	host_put(level, print, line);
}

static struct host_record *host_peek(void)
{
	struct host_ring *r = g_log.ring;
	struct host_record *rec;

	if (!r)
		return NULL;
	rec = &r->rec[r->tail % HOST_RECORDS];
	if (__atomic_load_n(&rec->ticket, __ATOMIC_ACQUIRE) != r->tail + 1)
		return NULL;
	return rec;
}

static void host_pop(void)
{
	__atomic_store_n(&g_log.ring->tail, g_log.ring->tail + 1,
			 __ATOMIC_RELEASE);
}

static void file_flush(void)
{
	IO_STATUS_BLOCK iosb;

	if (g_log.len && g_log.file)
		ZwWriteFile(g_log.file, NULL, NULL, NULL, &iosb, g_log.buf,
			    (ULONG)g_log.len, NULL, NULL);
	g_log.len = 0;
}

/* One line "tsc cpu LVL [vmm] text\r\n" into the file buffer. */
static void file_line(u64 tsc, u32 cpu, int level, bool vmm,
		      const char *text)
{
	char line[HOST_TEXT + 64];
	int n;

	n = tv_snprintf(line, sizeof(line), "%016llx #%u %s %s%s", tsc, cpu,
			level_tag(level), vmm ? "[vmm] " : "", text);
	if (n >= (int)sizeof(line))
		n = sizeof(line) - 1;
	/* Every line ends in CR LF, whatever the message carried. */
	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		n--;
	if (g_log.len + n + 2 > LOG_BUF_BYTES)
		file_flush();
	memcpy(g_log.buf + g_log.len, line, n);
	g_log.len += n;
	g_log.buf[g_log.len++] = '\r';
	g_log.buf[g_log.len++] = '\n';
}

/* Merge both rings in TSC order.  Only the log thread calls this. */
static void drain(void)
{
	struct host_record *h;

	for (;;) {
		if (!g_log.core_pending && g_log.core_rings)
			g_log.core_pending = tv_log_read(&g_log.core_rec);
		h = host_peek();
		if (h && (!g_log.core_pending || h->tsc <= g_log.core_rec.tsc)) {
			if (!h->printed)
				DbgPrintEx(DPFLTR_IHVDRIVER_ID,
					   dpflt_level(h->level), "%s",
					   h->text);
			file_line(h->tsc, h->cpu, h->level, false, h->text);
			host_pop();
		} else if (g_log.core_pending) {
			DbgPrintEx(DPFLTR_IHVDRIVER_ID,
				   dpflt_level(g_log.core_rec.level),
				   "thinvisor: [cpu %u vmm] %s",
				   g_log.core_rec.cpu, g_log.core_rec.text);
			file_line(g_log.core_rec.tsc, g_log.core_rec.cpu,
				  g_log.core_rec.level, true,
				  g_log.core_rec.text);
			g_log.core_pending = false;
		} else {
			break;
		}
	}
	file_flush();
}

static VOID NTAPI log_thread(PVOID ctx)
{
	LARGE_INTEGER period;
	NTSTATUS st;

	period.QuadPart = LOG_PERIOD_100NS;
	do {
		st = KeWaitForSingleObject(&g_log.stop, Executive, KernelMode,
					   FALSE, &period);
		drain();
		/* Extensions' work deferred from VMX root. */
		tv_win_ext_run_deferred();
	} while (st == STATUS_TIMEOUT);
	PsTerminateSystemThread(STATUS_SUCCESS);
}

char tv_win_panic_text[TV_WIN_PANIC_TEXT];

/*
 * Runs in VMX root (tv_plat_panic): no DbgPrintEx, which may take a lock
 * the interrupted kernel holds, trap to the debugger through the guest's
 * IDT, or use XMM.  Only memory writes: the text stays in nonpaged memory,
 * which every kernel dump contains, and KeBugCheckEx gets its address.
 */
void tv_win_log_panic_text(const char *msg)
{
	struct tv_log_record rec;
	size_t len = 0, room = sizeof(tv_win_panic_text);
	int n;

	/* The machine is stopping: the log thread will never drain again. */
	while (g_log.core_rings && len + 1 < room && tv_log_read(&rec)) {
		n = tv_snprintf(tv_win_panic_text + len, room - len,
				"%llx #%u [vmm] %s", rec.tsc, rec.cpu, rec.text);
		len += (size_t)n < room - len ? (size_t)n : room - len - 1;
	}
	tv_snprintf(tv_win_panic_text + len, room - len, "%s\n", msg);
}

NTSTATUS tv_win_log_open(void)
{
	UNICODE_STRING name;
	OBJECT_ATTRIBUTES oa;
	IO_STATUS_BLOCK iosb;
	NTSTATUS st;

	if (tv_plat_fault(TV_WIN_FAULT_LOG))
		return STATUS_CANCELLED;
	if (tv_log_init()) {
		tv_log(TV_LOG_ERR, "thinvisor: no memory for the VMM log rings\n");
		return STATUS_INSUFFICIENT_RESOURCES;
	}
	g_log.core_rings = true;
	st = STATUS_INSUFFICIENT_RESOURCES;
	g_log.buf = tv_plat_zalloc(LOG_BUF_BYTES);
	/* Published last: from now on tv_plat_vlog() fills it. */
	if (g_log.buf)
		__atomic_store_n(&g_log.ring,
				 tv_plat_zalloc(sizeof(*g_log.ring)),
				 __ATOMIC_RELEASE);
	if (!g_log.ring) {
		tv_log(TV_LOG_ERR, "thinvisor: no memory for the log buffers\n");
		goto fail;
	}

	RtlInitUnicodeString(&name, L"\\SystemRoot\\thinvisor.log");
	InitializeObjectAttributes(&oa, &name,
				   OBJ_CASE_INSENSITIVE | OBJ_KERNEL_HANDLE,
				   NULL, NULL);
	st = ZwCreateFile(&g_log.file, FILE_APPEND_DATA | SYNCHRONIZE, &oa,
			  &iosb, NULL, FILE_ATTRIBUTE_NORMAL, FILE_SHARE_READ,
			  FILE_OPEN_IF,
			  FILE_SYNCHRONOUS_IO_NONALERT |
			  FILE_NON_DIRECTORY_FILE, NULL, 0);
	if (!NT_SUCCESS(st)) {
		g_log.file = NULL;
		tv_log(TV_LOG_ERR,
		       "thinvisor: cannot open \\SystemRoot\\thinvisor.log (0x%08x)\n",
		       (unsigned int)st);
		goto fail;
	}

	KeInitializeEvent(&g_log.stop, NotificationEvent, FALSE);
	InitializeObjectAttributes(&oa, NULL, OBJ_KERNEL_HANDLE, NULL, NULL);
	st = PsCreateSystemThread(&g_log.thread, THREAD_ALL_ACCESS, &oa, NULL,
				  NULL, log_thread, NULL);
	if (!NT_SUCCESS(st)) {
		g_log.thread = NULL;
		tv_log(TV_LOG_ERR,
		       "thinvisor: cannot start the log thread (0x%08x)\n",
		       (unsigned int)st);
		goto fail;
	}
	return STATUS_SUCCESS;
fail:
	tv_win_log_close();
	return st;
}

void tv_win_log_close(void)
{
	struct host_ring *r;

	if (g_log.thread) {
		/* The thread drains everything once more before it ends. */
		KeSetEvent(&g_log.stop, IO_NO_INCREMENT, FALSE);
		ZwWaitForSingleObject(g_log.thread, FALSE, NULL);
		ZwClose(g_log.thread);
		g_log.thread = NULL;
	}
	if (g_log.file) {
		ZwClose(g_log.file);
		g_log.file = NULL;
	}
	r = __atomic_exchange_n(&g_log.ring, NULL, __ATOMIC_ACQ_REL);
	if (r && r->dropped)
		DbgPrintEx(DPFLTR_IHVDRIVER_ID, DPFLTR_WARNING_LEVEL,
			   "thinvisor: %llu log lines dropped (ring full)\n",
			   r->dropped);
	tv_plat_free(r);
	tv_plat_free(g_log.buf);
	g_log.buf = NULL;
	g_log.len = 0;
	if (g_log.core_rings) {
		if (tv_log_dropped())
			DbgPrintEx(DPFLTR_IHVDRIVER_ID, DPFLTR_WARNING_LEVEL,
				   "thinvisor: %llu VMM log lines dropped\n",
				   tv_log_dropped());
		tv_log_fini();
		g_log.core_rings = false;
		g_log.core_pending = false;
	}
}
