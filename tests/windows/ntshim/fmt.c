// SPDX-License-Identifier: MIT
/*
 * DbgPrintEx's formatter.  The driver was compiled for LLP64: "long" is
 * 32 bits there, so %lu takes 32 bits and only ll or I64 take 64; %p is
 * 64.  Arguments come in a Microsoft va_list (__builtin_ms_va_list), which
 * the kernel's vsnprintf cannot read.  Wide strings (%ws, %S, %wZ) are
 * printed as ASCII.
 */
#include <linux/kernel.h>
#include "shim.h"

struct out {
	char *buf;
	size_t size, len;
};

static void put(struct out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

static void put_num(struct out *o, u64 v, bool neg, unsigned int base,
		    bool upper, int width, bool zero, bool left)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	int n = 0, pad;

	do {
		tmp[n++] = digits[v % base];
		v /= base;
	} while (v);
	pad = width - n - neg;
	if (neg && zero)
		put(o, '-');
	while (!left && pad-- > 0)
		put(o, zero ? '0' : ' ');
	if (neg && !zero)
		put(o, '-');
	while (n)
		put(o, tmp[--n]);
	while (left && pad-- > 0)
		put(o, ' ');
}

static void put_str(struct out *o, const char *s, int prec, int width,
		    bool left)
{
	int n = 0;

	if (!s)
		s = "(null)";
	while ((prec < 0 || n < prec) && s[n])
		n++;
	while (!left && width-- > n)
		put(o, ' ');
	for (int i = 0; i < n; i++)
		put(o, s[i]);
	while (left && width-- > n)
		put(o, ' ');
}

static void put_wstr(struct out *o, const u16 *s, int chars)
{
	if (!s) {
		put_str(o, "(null)", -1, 0, false);
		return;
	}
	for (int i = 0; chars < 0 ? s[i] : i < chars; i++)
		put(o, s[i] < 0x80 ? (char)s[i] : '?');
}

int nt_vsnprintf(char *buf, size_t size, const char *fmt,
		 __builtin_ms_va_list ap)
{
	struct out o = { buf, size, 0 };

	for (; *fmt; fmt++) {
		bool left = false, zero = false, wide = false;
		int width = 0, prec = -1, lng = 0;
		u64 v;

		if (*fmt != '%') {
			put(&o, *fmt);
			continue;
		}
		for (fmt++; *fmt == '-' || *fmt == '0'; fmt++) {
			left |= *fmt == '-';
			zero |= *fmt == '0';
		}
		if (*fmt == '*') {
			width = __builtin_va_arg(ap, int);
			fmt++;
		}
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + *fmt++ - '0';
		if (*fmt == '.') {
			prec = 0;
			if (*++fmt == '*') {
				prec = __builtin_va_arg(ap, int);
				fmt++;
			}
			while (*fmt >= '0' && *fmt <= '9')
				prec = prec * 10 + *fmt++ - '0';
		}
		for (;; fmt++) {
			if (*fmt == 'l')
				lng++;
			else if (*fmt == 'h')
				;
			else if (*fmt == 'w')
				wide = true;
			else if (*fmt == 'z' || *fmt == 'j')
				lng = 2;
			else if (fmt[0] == 'I' && fmt[1] == '6' && fmt[2] == '4') {
				lng = 2;
				fmt += 2;
			} else
				break;
		}
		switch (*fmt) {
		case 'd':
		case 'i':
			if (lng >= 2) {
				s64 s = __builtin_va_arg(ap, s64);

				put_num(&o, s < 0 ? -(u64)s : s, s < 0, 10,
					false, width, zero, left);
			} else {
				s32 s = __builtin_va_arg(ap, s32);

				put_num(&o, s < 0 ? -(s64)s : s, s < 0, 10,
					false, width, zero, left);
			}
			break;
		case 'u':
		case 'x':
		case 'X':
			/* "long" (lng 1) is 32 bits in LLP64. */
			v = lng >= 2 ? __builtin_va_arg(ap, u64) :
				__builtin_va_arg(ap, u32);
			put_num(&o, v, false, *fmt == 'u' ? 10 : 16,
				*fmt == 'X', width, zero, left);
			break;
		case 'p':
			v = (u64)__builtin_va_arg(ap, void *);
			put_num(&o, v, false, 16, true, 16, true, false);
			break;
		case 'c':
			put(&o, (char)__builtin_va_arg(ap, int));
			break;
		case 's':
			if (wide || lng)
				put_wstr(&o, __builtin_va_arg(ap, const u16 *),
					 prec);
			else
				put_str(&o, __builtin_va_arg(ap, const char *),
					prec, width, left);
			break;
		case 'S':
			put_wstr(&o, __builtin_va_arg(ap, const u16 *), prec);
			break;
		case 'Z': {
			const struct nt_unicode_string *u =
				__builtin_va_arg(ap, const void *);

			if (u)
				put_wstr(&o, u->buffer, u->length / 2);
			break;
		}
		case '%':
			put(&o, '%');
			break;
		default:
			/* Unknown: print it as is and stop reading arguments. */
			put(&o, '%');
			if (!*fmt)
				goto end;
			put(&o, *fmt);
			break;
		}
	}
end:
	if (size)
		buf[min(o.len, size - 1)] = 0;
	return o.len;
}
