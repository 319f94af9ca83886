// SPDX-License-Identifier: MIT
/*
 * The built-in extensions on Windows, without Windows:
 *
 *   - unit tests of platform/windows/route.c's table walk, compiled
 *     natively: registration in table order, empty entries skipped, a
 *     failing registration (its init) at every position unregistering
 *     exactly the ones before it, newest first, unload in reverse order,
 *     and the errno and NTSTATUS mappings;
 *   - the table in the real image: the .tvext section of the mapped,
 *     relocated thinvisor.sys holds the driver's two empty entries around
 *     one pointer per linked extension, each to a struct tv_ext in the
 *     image with the expected name (in link order), API version, no Linux
 *     owner, and an event callback in executable code.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include "core/types.h"
#include "route.h"
#include "ntstub.h"

static int *g_pass, *g_fail;

static void expect(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf(ok ? "  ok   ext: " : "  FAIL ext: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (ok)
		++*g_pass;
	else
		++*g_fail;
}

/* What the walk did, as text: "+a +b -a" (register a, b, unregister a). */
static char trace[256];
static const struct tv_ext *fail_ext;
static int fail_ret;
static int log_errs;

static void add(char op, const struct tv_ext *ext)
{
	size_t n = strlen(trace);

	snprintf(trace + n, sizeof(trace) - n, "%s%c%s", n ? " " : "", op,
		 ext->name);
}

static int t_reg(struct tv_ext *ext)
{
	add('+', ext);
	return ext == fail_ext ? fail_ret : 0;
}

static void t_unreg(struct tv_ext *ext)
{
	add('-', ext);
}

static void t_log(int level, const char *fmt, ...)
{
	if (level == TV_LOG_ERR)
		log_errs++;
}

static const struct tv_win_ext_ops ops = { t_reg, t_unreg, t_log };

static struct tv_ext ea = { .name = "a" }, eb = { .name = "b" },
	ec = { .name = "c" };

static void reset(const struct tv_ext *failing, int ret)
{
	trace[0] = 0;
	fail_ext = failing;
	fail_ret = ret;
	log_errs = 0;
}

static void unit_tests(void)
{
	/* As the linker lays it out: empty brackets, padding in between. */
	const struct tv_ext_builtin table[] = {
		{ NULL }, { &ea }, { NULL }, { &eb }, { &ec }, { NULL },
	};
	const struct tv_ext_builtin *b = table, *e = table + ARRAY_SIZE(table);
	static const char *const unwound[] = {
		"+a", "+a +b -a", "+a +b +c -b -a",
	};
	const struct tv_ext *fails[] = { &ea, &eb, &ec };
	const struct tv_ext_builtin *failed;
	unsigned int i;
	int ret;

	expect(tv_win_ext_count(b, e) == 3 && tv_win_ext_count(b, b + 1) == 0,
	       "3 extensions counted among 6 entries, none in an empty table");
	reset(NULL, 0);
	ret = tv_win_ext_start_table(b, e, &ops, &failed);
	expect(ret == 0 && !failed && !strcmp(trace, "+a +b +c") && !log_errs,
	       "all registered in table order: '%s'", trace);
	reset(NULL, 0);
	tv_win_ext_stop_table(b, e, &ops);
	expect(!strcmp(trace, "-c -b -a"), "unload: newest first: '%s'", trace);
	for (i = 0; i < ARRAY_SIZE(fails); i++) {
		reset(fails[i], -ENOMEM);
		ret = tv_win_ext_start_table(b, e, &ops, &failed);
		expect(ret == -ENOMEM && failed && failed->ext == fails[i] &&
		       !strcmp(trace, unwound[i]) && log_errs == 1,
		       "%s fails (-ENOMEM): '%s', the error returned and logged",
		       fails[i]->name, trace);
	}
	reset(&ea, 7);
	ret = tv_win_ext_start_table(b, e, &ops, &failed);
	expect(ret == 7 && !strcmp(trace, "+a"),
	       "an init's own positive error is passed through");
	reset(NULL, 0);
	ret = tv_win_ext_start_table(b, b + 1, &ops, &failed);
	tv_win_ext_stop_table(b, b + 1, &ops);
	expect(ret == 0 && !failed && !trace[0],
	       "no extension linked: nothing registered or unregistered");

	expect(tv_win_errno(TV_OK) == 0 &&
	       tv_win_errno(TV_ERR_INVALID) == -EINVAL &&
	       tv_win_errno(TV_ERR_NO_MEMORY) == -ENOMEM &&
	       tv_win_errno(TV_ERR_BUSY) == -EBUSY &&
	       tv_win_errno(TV_ERR_EXISTS) == -EEXIST &&
	       tv_win_errno(TV_ERR_NO_SPACE) == -ENOSPC &&
	       tv_win_errno(TV_ERR_UNSUPPORTED) == -EOPNOTSUPP &&
	       tv_win_errno(TV_ERR_FAULT_INJECTED) == -ECANCELED &&
	       tv_win_errno(TV_ERR_PLATFORM) == -EIO,
	       "core errors become the documented negative errnos");
	expect(tv_win_ext_ntstatus(-ENOMEM) == 0xC000009A &&
	       tv_win_ext_ntstatus(-EINVAL) == 0xC000000D &&
	       tv_win_ext_ntstatus(-EBUSY) == 0xC0000708 &&
	       tv_win_ext_ntstatus(-ECANCELED) == 0xC0000120 &&
	       tv_win_ext_ntstatus(7) == 0xC0000001,
	       "a failed extension's error becomes DriverEntry's NTSTATUS");
}

static bool in_image(const struct image *img, uint64_t p)
{
	return p >= (uint64_t)(uintptr_t)img->base &&
	       p < (uint64_t)(uintptr_t)img->base + img->size;
}

/*
 * struct tv_ext as the LLP64 image lays it out: every field the check
 * reads is at the offset of the native (LP64) layout, since only
 * percpu_size (unsigned long) differs in size and the pointer after it
 * is 8-aligned in both.
 */
static uint64_t field64(const uint8_t *ext, size_t off)
{
	uint64_t v;

	memcpy(&v, ext + off, 8);
	return v;
}

static void image_table(const struct image *img, const char *names)
{
	const uint8_t *sec;
	uint32_t size, flags;
	uint64_t p, first, last;
	char found[256] = "", expected[256];
	unsigned int n, i, bad = 0;

	snprintf(expected, sizeof(expected), "%s", names ? names : "(any)");
	if (pe_section(img, ".tvext", &sec, &size, &flags)) {
		expect(false, "image: no .tvext section");
		return;
	}
	n = size / 8;
	memcpy(&first, sec, 8);
	memcpy(&last, sec + 8 * (n - 1), 8);
	expect(!(flags & 0x80000000) && !(flags & 0x20000000) && n >= 2 &&
	       !first && !last,
	       "image: .tvext is read-only data, %u entries between the driver's empty ones",
	       n - 2);
	for (i = 1; i + 1 < n; i++) {
		const uint8_t *ext;
		uint64_t name, ev;
		uint32_t ver;

		memcpy(&p, sec + 8 * i, 8);
		if (!p)
			continue;	/* alignment padding */
		if (!in_image(img, p)) {
			bad++;
			continue;
		}
		ext = (const uint8_t *)(uintptr_t)p;
		name = field64(ext, offsetof(struct tv_ext, name));
		memcpy(&ver, ext + offsetof(struct tv_ext, api_version), 4);
		ev = field64(ext, offsetof(struct tv_ext, event));
		if (!in_image(img, name) || ver != TV_EXT_API_VERSION ||
		    field64(ext, offsetof(struct tv_ext, owner)) ||
		    !pe_is_code(img, ev)) {
			bad++;
			continue;
		}
		snprintf(found + strlen(found), sizeof(found) - strlen(found),
			 "%s%s", found[0] ? "," : "",
			 (const char *)(uintptr_t)name);
	}
	expect(!bad && (!names || !strcmp(found, expected)),
	       "image: built-in extensions '%s' (expected '%s'), each a struct tv_ext of API %d with its event callback in code",
	       found, expected, TV_EXT_API_VERSION);
}

int ext_tests(const struct image *img, const char *names, int *passed,
	      int *failed)
{
	g_pass = passed;
	g_fail = failed;
	if (!img) {
		unit_tests();
		return 0;
	}
	image_table(img, names);
	return 0;
}
