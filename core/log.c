// SPDX-License-Identifier: MIT
/*
 * Logging: tv_log() goes straight to the host (not for VMX root);
 * tv_vmm_log() goes to this CPU's lock-free ring, drained by a host thread.
 *
 * Each ring has one producer (its CPU, interrupts off, so never two at
 * once) and one consumer; head and tail only grow, and release/acquire on
 * them orders the record's contents against its publication.
 */
#include "core/log.h"
#include "core/platform.h"
#include "core/vmm.h"
#include "arch/x86/cpu.h"

struct tv_log_ring {
	u64 head;		/* written by the producer */
	u64 tail;		/* written by the consumer */
	struct tv_log_record rec[TV_LOG_RING_RECORDS];
};

static struct tv_log_ring *g_rings;
static unsigned int g_ring_count;
static u64 g_seq;
static u64 g_dropped;
static int g_level = TV_LOG_INFO;

int tv_log_init(void)
{
	unsigned int count = tv_plat_cpu_limit();
	size_t bytes = count * sizeof(*g_rings);

	g_rings = tv_plat_alloc_pages((bytes + TV_PAGE_SIZE - 1) / TV_PAGE_SIZE);
	if (!g_rings)
		return TV_ERR_NO_MEMORY;
	g_ring_count = count;
	__atomic_store_n(&g_dropped, 0, __ATOMIC_RELAXED);
	return TV_OK;
}

void tv_log_fini(void)
{
	size_t bytes = g_ring_count * sizeof(*g_rings);

	if (g_rings)
		tv_plat_free_pages(g_rings,
				   (bytes + TV_PAGE_SIZE - 1) / TV_PAGE_SIZE);
	g_rings = NULL;
	g_ring_count = 0;
}

u64 tv_log_dropped(void)
{
	return __atomic_load_n(&g_dropped, __ATOMIC_RELAXED);
}

void tv_log_set_level(int level)
{
	__atomic_store_n(&g_level, level, __ATOMIC_RELAXED);
}

TV_VMX_ROOT int tv_log_get_level(void)
{
	return __atomic_load_n(&g_level, __ATOMIC_RELAXED);
}

static TV_VMX_ROOT TV_PRINTF(2, 0) void ring_write(int level, const char *fmt,
						 tv_va_list ap)
{
	unsigned int cpu = tv_plat_cpu_index();
	struct tv_log_ring *r;
	struct tv_log_record *rec;
	u64 head, tail;

	if (!g_rings || cpu >= g_ring_count)
		return;
	r = &g_rings[cpu];
	head = r->head;
	tail = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
	if (head - tail >= TV_LOG_RING_RECORDS) {
		__atomic_fetch_add(&g_dropped, 1, __ATOMIC_RELAXED);
		return;
	}
	rec = &r->rec[head % TV_LOG_RING_RECORDS];
	rec->seq = __atomic_fetch_add(&g_seq, 1, __ATOMIC_RELAXED);
	rec->tsc = tv_rdtsc();
	rec->cpu = cpu;
	rec->level = (u32)level;
	tv_vsnprintf(rec->text, sizeof(rec->text), fmt, ap);
	__atomic_store_n(&r->head, head + 1, __ATOMIC_RELEASE);
}

TV_VMX_ROOT bool tv_log_read(struct tv_log_record *out)
{
	struct tv_log_ring *best = NULL;
	u64 best_seq = 0;
	unsigned int i;

	for (i = 0; i < g_ring_count; i++) {
		struct tv_log_ring *r = &g_rings[i];
		u64 tail = r->tail;

		if (tail == __atomic_load_n(&r->head, __ATOMIC_ACQUIRE))
			continue;
		if (!best ||
		    r->rec[tail % TV_LOG_RING_RECORDS].seq < best_seq) {
			best = r;
			best_seq = r->rec[tail % TV_LOG_RING_RECORDS].seq;
		}
	}
	if (!best)
		return false;
	*out = best->rec[best->tail % TV_LOG_RING_RECORDS];
	__atomic_store_n(&best->tail, best->tail + 1, __ATOMIC_RELEASE);
	return true;
}

void tv_log(int level, const char *fmt, ...)
{
	tv_va_list ap;

	tv_va_start(ap, fmt);
	tv_plat_vlog(level, fmt, ap);
	tv_va_end(ap);
}

TV_VMX_ROOT void tv_vmm_log(int level, const char *fmt, ...)
{
	tv_va_list ap;

	if (level > tv_log_get_level())
		return;
	tv_va_start(ap, fmt);
	ring_write(level, fmt, ap);
	tv_va_end(ap);
}

/* --- formatting ------------------------------------------------------- */

struct out {
	char *buf;
	size_t size;
	size_t len;
};

/*
 * strlen of our own: the host's may be traced or probed, and VMX root must
 * call nothing it does not control.  The empty asm keeps the compiler from
 * turning the loop back into a strlen call.
 */
static TV_VMX_ROOT size_t text_len(const char *s)
{
	size_t n = 0;

	while (s[n]) {
		n++;
		asm("" : "+r"(n));
	}
	return n;
}

static TV_VMX_ROOT void put(struct out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

static TV_VMX_ROOT void put_padded(struct out *o, const char *s, size_t n, int width,
		       bool left, char pad)
{
	int fill = width > (int)n ? width - (int)n : 0;

	if (!left)
		while (fill-- > 0)
			put(o, pad);
	while (n--)
		put(o, *s++);
	if (left)
		while (fill-- > 0)
			put(o, ' ');
}

static TV_VMX_ROOT void put_number(struct out *o, u64 v, bool negative, unsigned int base,
		       bool upper, int width, bool left, bool zero)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	int n = 0;

	do {
		tmp[sizeof(tmp) - 1 - n++] = digits[v % base];
		v /= base;
	} while (v);
	if (negative) {
		if (zero && !left) {
			put(o, '-');
			width--;
		} else {
			tmp[sizeof(tmp) - 1 - n++] = '-';
		}
	}
	put_padded(o, tmp + sizeof(tmp) - n, n, width, left,
		   zero && !left ? '0' : ' ');
}

TV_VMX_ROOT int tv_vsnprintf(char *buf, size_t size, const char *fmt, tv_va_list ap)
{
	struct out o = { buf, size, 0 };

	for (; *fmt; fmt++) {
		bool left = false, zero = false;
		int width = 0, longs = 0;
		const char *s;
		u64 v;
		s64 sv;

		if (*fmt != '%') {
			put(&o, *fmt);
			continue;
		}
		fmt++;
		for (;; fmt++) {
			if (*fmt == '-')
				left = true;
			else if (*fmt == '0')
				zero = true;
			else
				break;
		}
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		while (*fmt == 'l' || *fmt == 'z') {
			longs += *fmt == 'z' ? 2 : 1;
			fmt++;
		}
		switch (*fmt) {
		case 'c':
			put_padded(&o, (char[]){ (char)__builtin_va_arg(ap, int) },
				   1, width, left, ' ');
			break;
		case 's':
			s = __builtin_va_arg(ap, const char *);
			if (!s)
				s = "(null)";
			put_padded(&o, s, text_len(s), width, left, ' ');
			break;
		case 'd':
		case 'i':
			sv = longs >= 2 ? __builtin_va_arg(ap, long long) :
			     longs ? __builtin_va_arg(ap, long) :
			     __builtin_va_arg(ap, int);
			put_number(&o, sv < 0 ? -(u64)sv : (u64)sv, sv < 0, 10,
				   false, width, left, zero);
			break;
		case 'u':
		case 'x':
		case 'X':
			v = longs >= 2 ? __builtin_va_arg(ap, unsigned long long) :
			    longs ? __builtin_va_arg(ap, unsigned long) :
			    __builtin_va_arg(ap, unsigned int);
			put_number(&o, v, false, *fmt == 'u' ? 10 : 16,
				   *fmt == 'X', width, left, zero);
			break;
		case 'p':
			put(&o, '0');
			put(&o, 'x');
			put_number(&o, (u64)(size_t)__builtin_va_arg(ap, void *),
				   false, 16, false, width, left, zero);
			break;
		case '%':
			put(&o, '%');
			break;
		case '\0':
			fmt--;
			break;
		default:
			put(&o, '%');
			put(&o, *fmt);
			break;
		}
	}
	if (size)
		buf[o.len < size ? o.len : size - 1] = '\0';
	return (int)o.len;
}

TV_VMX_ROOT int tv_snprintf(char *buf, size_t size, const char *fmt, ...)
{
	tv_va_list ap;
	int n;

	tv_va_start(ap, fmt);
	n = tv_vsnprintf(buf, size, fmt, ap);
	tv_va_end(ap);
	return n;
}
