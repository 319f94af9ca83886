// SPDX-License-Identifier: MIT
/*
 * Runs the real thinvisor.sys through DriverEntry and DriverUnload on the
 * NT stand-in (see ntstub.h), scenario by scenario:
 *
 *   - a plain load, which this CPU must refuse cleanly (the core executes
 *     the real CPUID: not Intel, no VMX, or - with VMX visible - the
 *     FEATURE_CONTROL the stand-in models as locked off);
 *   - every fallible NT call failing in turn, until a run injects nothing;
 *   - every host FailStep (registry value under the service key);
 *   - an old Windows version;
 *   - power and hot-add notifications arriving between the callbacks'
 *     registration and virtualization, and none reaching a driver whose
 *     callbacks were never or are no longer registered;
 *   - DriverUnload after each of these.
 *
 * With --production (the image make windows ships) the FailStep scenarios
 * are replaced by the opposite check: FailStep in the registry is never
 * read and changes nothing.
 *
 * After each: nothing allocated, registered, open or running, IRQL back at
 * PASSIVE_LEVEL, no rule broken, and the expected log lines in DbgPrintEx
 * and \SystemRoot\thinvisor.log.
 *
 * Before them: the image's table of built-in extensions (ntstub_ext.c;
 * --extensions names what it must hold) and the unit tests of the walk.
 *
 * usage: ntstub [--production] [--extensions NAME,...] THINVISOR.SYS OUTDIR
 *        (NTSTUB_VERBOSE=1 shows DbgPrintEx)
 */
#define _GNU_SOURCE
#include <cpuid.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "ntstub.h"

/* The core's refusal (core/types.h numbering) on the CPU we run on. */
enum {
	ERR_NOT_INTEL = 1,
	ERR_NO_VMX = 2,
	ERR_VMX_DISABLED = 5,
};

const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	/* Our SIGSEGV handler emulates the driver's privileged moves. */
	return "handle_segv=0:allow_user_segv_handler=1:detect_leaks=1";
}

static struct image img;
static const char *outdir;
static int passed, failed;
static int expected_err;
static bool production;
static const char *ext_names;	/* --extensions: the built-in table's names */
static const char *expected_text;
static WCHAR reg_buf[] = { '\\', 'R', 'E', 'G', 'I', 'S', 'T', 'R', 'Y', '\\',
	'M', 'A', 'C', 'H', 'I', 'N', 'E', '\\', 'S', 'Y', 'S', 'T', 'E', 'M',
	'\\', 'C', 'u', 'r', 'r', 'e', 'n', 't', 'C', 'o', 'n', 't', 'r', 'o',
	'l', 'S', 'e', 't', '\\', 'S', 'e', 'r', 'v', 'i', 'c', 'e', 's', '\\',
	't', 'h', 'i', 'n', 'v', 'i', 's', 'o', 'r' };
static struct nt_ustr reg_path = { sizeof(reg_buf), sizeof(reg_buf), 0,
				   reg_buf };

static void result(bool ok, const char *fmt, ...)
{
	va_list ap;

	printf(ok ? "  ok   " : "  FAIL ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (ok)
		passed++;
	else
		failed++;
}

/* What the core must answer on this machine's real CPUID. */
static void host_cpu_expectation(void)
{
	unsigned int a, b, c, d;
	char vendor[13];

	__cpuid(0, a, b, c, d);
	memcpy(vendor, &b, 4);
	memcpy(vendor + 4, &d, 4);
	memcpy(vendor + 8, &c, 4);
	vendor[12] = 0;
	__cpuid(1, a, b, c, d);
	if (strcmp(vendor, "GenuineIntel")) {
		expected_err = ERR_NOT_INTEL;
		expected_text = "not an Intel CPU";
	} else if (!(c & (1u << 5))) {
		expected_err = ERR_NO_VMX;
		expected_text = "CPU has no VMX";
	} else {
		expected_err = ERR_VMX_DISABLED;
		expected_text = "VMX is disabled and locked";
	}
	printf("ntstub: host CPU %s, VMX %s: expecting refusal \"%s\" (NTSTATUS 0x%08x)\n",
	       vendor, c & (1u << 5) ? "visible" : "absent", expected_text,
	       route_ntstatus(expected_err));
}

struct run {
	NTSTATUS st;
	int calls;
	char clean[1024];
	char rules[1024];
	bool is_clean, no_violations;
	char log_path[512];
	char *log;
};

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (!f)
		return strdup("");
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = calloc(1, n + 1);
	if (fread(buf, 1, n, f) != (size_t)n)
		buf[0] = 0;
	fclose(f);
	return buf;
}

/* DriverEntry, then DriverUnload as an unload or a stray call would. */
static void load(struct run *r, const char *name, struct nt_config *cfg)
{
	uint8_t drv[DRIVER_OBJECT_SIZE];
	driver_unload_fn unload;

	snprintf(r->log_path, sizeof(r->log_path), "%s/%s.log", outdir, name);
	remove(r->log_path);
	cfg->log_path = r->log_path;
	cfg->reg_path = &reg_path;
	if (!cfg->max_cpus) {
		cfg->max_cpus = 8;
		cfg->active_cpus = 4;
	}
	if (!cfg->os_major) {
		cfg->os_major = 10;
		cfg->os_build = 19045;
	}
	nt_reset(cfg);
	memset(drv, 0, sizeof(drv));
	r->st = img.entry(drv, &reg_path);
	r->calls = nt_fallible_calls();
	/*
	 * NT calls DriverUnload only after a successful DriverEntry; the
	 * driver sets it first thing, so calling it after a refusal too
	 * proves its teardown is idempotent.
	 */
	memcpy(&unload, drv + DRIVER_UNLOAD_OFFSET, sizeof(unload));
	if (unload)
		unload(drv);
	/* Nothing registered any more: late notifications go nowhere. */
	nt_deliver_events();
	r->no_violations = !nt_violations(r->rules, sizeof(r->rules));
	r->is_clean = !nt_check_clean(r->clean, sizeof(r->clean));
	r->log = slurp(r->log_path);
}

static void done(struct run *r)
{
	free(r->log);
}

static bool has(const char *hay, const char *needle)
{
	return strstr(hay, needle) != NULL;
}

static void check_clean(struct run *r, const char *name)
{
	result(r->is_clean, "%s: nothing left behind%s%s", name,
	       r->is_clean ? "" : ": ", r->clean);
	result(r->no_violations, "%s: NT rules kept%s%s", name,
	       r->no_violations ? "" : ": ", r->rules);
}

static void scenario_refusal(void)
{
	struct nt_config cfg = { .fail_at = -1 };
	uint32_t want = route_ntstatus(expected_err);
	struct run r;

	nt_echo = true;
	load(&r, "refusal", &cfg);
	nt_echo = false;
	result((uint32_t)r.st == want,
	       "load on this CPU: DriverEntry returns 0x%08x (want 0x%08x)",
	       (uint32_t)r.st, want);
	result(has(nt_transcript(), expected_text) &&
	       has(nt_transcript(), "refusing to load"),
	       "load on this CPU: DbgPrintEx says \"refusing to load: %s\"",
	       expected_text);
	result(has(r.log, expected_text) && has(r.log, "\r\n") &&
	       has(r.log, "RAM [0x100000, 0x7ff00000)") &&
	       has(r.log, "step 7: processors not virtualized"),
	       "load on this CPU: \\SystemRoot\\thinvisor.log has the ranges, refusal and step");
	result(has(nt_transcript(), "unloaded"),
	       "load on this CPU: DriverUnload after the refusal runs");
	check_clean(&r, "load on this CPU");
	printf("ntstub: %d fallible NT calls in a full load, %lu emulated privileged instructions\n",
	       r.calls, emu_count);
	done(&r);
}

static void scenario_fail_each_call(void)
{
	int n, runs = 0, clean = 0, failed_st = 0, rules = 0;
	char first_bad[2200] = "";
	struct run r;

	for (n = 0;; n++) {
		struct nt_config cfg = { .fail_at = n };

		load(&r, "failcall", &cfg);
		if (r.calls <= n) {
			done(&r);
			break;
		}
		runs++;
		clean += r.is_clean;
		rules += r.no_violations;
		failed_st += r.st < 0;
		if ((!r.is_clean || !r.no_violations || r.st >= 0) &&
		    !first_bad[0])
			snprintf(first_bad, sizeof(first_bad),
				 " (first bad: call %d: st 0x%08x %s %s)", n,
				 (uint32_t)r.st, r.clean, r.rules);
		done(&r);
	}
	result(runs > 5 && clean == runs && rules == runs && failed_st == runs,
	       "each of %d fallible NT calls failing in turn: %d refused, %d clean, %d kept the rules%s",
	       runs, failed_st, clean, rules, first_bad);
}

static void scenario_fail_steps(void)
{
	static const struct {
		uint32_t step;
		uint32_t st;
		const char *text;
		bool in_file;
	} steps[] = {
		{ 20, 0xC0000120, "step 1: cannot read the OS version", false },
		{ 21, 0xC00000BB, "step 2: Windows 6.0 build 19045 is not supported", false },
		{ 22, 0xC0000120, "step 3: cannot open the log", false },
		{ 23, 0xC000009A, "step 4: cannot read the physical memory ranges", true },
		{ 24, 0xC0000120, "step 5: cannot open \\Callback\\PowerState", true },
		{ 25, 0xC000009A, "step 6: cannot register the processor-change callback", true },
		{ 26, 0xC0000120, "step 7: processors not virtualized: injected fault", true },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(steps); i++) {
		struct nt_config cfg = { .fail_at = -1, .has_fail_step = true,
					 .fail_step = steps[i].step };
		char name[32];
		struct run r;

		snprintf(name, sizeof(name), "FailStep %u", steps[i].step);
		load(&r, "failstep", &cfg);
		result((uint32_t)r.st == steps[i].st &&
		       has(nt_transcript(), steps[i].text) &&
		       (!steps[i].in_file || has(r.log, steps[i].text)),
		       "%s: 0x%08x and \"%s\"%s", name, (uint32_t)r.st,
		       steps[i].text, steps[i].in_file ? " (also in the file)" : "");
		check_clean(&r, name);
		done(&r);
	}
	result(nt_fail_step_queries() >= (int)ARRAY_SIZE(steps) &&
	       has(nt_transcript(), "test hook: FailStep=26"),
	       "test build: FailStep read from the registry (%d times) and logged",
	       nt_fail_step_queries());
}

/*
 * The production image: every FailStep value (the core's 1..10 and the
 * host's 20..26) is ignored, so the load ends in this CPU's own refusal,
 * and the value is never even read.
 */
static void scenario_production_fail_steps(void)
{
	static const uint32_t steps[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
					  20, 21, 22, 23, 24, 25, 26 };
	uint32_t want = route_ntstatus(expected_err);
	int same = 0, quiet = 0, clean = 0;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(steps); i++) {
		struct nt_config cfg = { .fail_at = -1, .has_fail_step = true,
					 .fail_step = steps[i] };
		struct run r;

		load(&r, "failstep-production", &cfg);
		same += (uint32_t)r.st == want &&
			has(nt_transcript(), expected_text);
		quiet += !has(nt_transcript(), "FailStep") &&
			 !has(nt_transcript(), "injected fault");
		clean += r.is_clean && r.no_violations;
		done(&r);
	}
	result(same == (int)ARRAY_SIZE(steps),
	       "production: FailStep 1..10 and 20..26 ignored: %d of %zu loads end in this CPU's refusal 0x%08x",
	       same, ARRAY_SIZE(steps), want);
	result(quiet == (int)ARRAY_SIZE(steps) && nt_fail_step_queries() == 0,
	       "production: FailStep never read (%d registry queries) nor logged",
	       nt_fail_step_queries());
	result(clean == (int)ARRAY_SIZE(steps),
	       "production: %d of %zu FailStep loads clean and within the NT rules",
	       clean, ARRAY_SIZE(steps));
}

/* The LogLevel registry value sets the VMM ring's level at load. */
static void scenario_log_level(void)
{
	static const struct {
		uint32_t level;
		const char *text;
	} cases[] = {
		{ 7, "thinvisor: VMM log level 7" },
		{ 3, "thinvisor: VMM log level 3" },
		{ 9, "thinvisor: ignoring LogLevel 9 (3..7)" },
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		struct nt_config cfg = { .fail_at = -1, .has_log_level = true,
					 .log_level = cases[i].level };
		char name[32];
		struct run r;

		snprintf(name, sizeof(name), "LogLevel %u", cases[i].level);
		load(&r, "loglevel", &cfg);
		result(has(nt_transcript(), cases[i].text), "%s: \"%s\"", name,
		       cases[i].text);
		check_clean(&r, name);
		done(&r);
	}
}

static void scenario_old_windows(void)
{
	struct nt_config cfg = { .fail_at = -1, .os_major = 6, .os_minor = 1,
				 .os_build = 7601 };
	struct run r;

	load(&r, "win7", &cfg);
	result((uint32_t)r.st == 0xC00000BB &&
	       has(nt_transcript(),
		   "Windows 6.1 build 7601 is not supported: needs 64-bit Windows 10"),
	       "Windows 7: refused with STATUS_NOT_SUPPORTED and the reason");
	result(nt_allocations() == 0,
	       "Windows 7: refused before any allocation (no executable pool)");
	check_clean(&r, "Windows 7");
	done(&r);
}

static int count(const char *hay, const char *needle)
{
	int n = 0;

	while ((hay = strstr(hay, needle))) {
		n++;
		hay++;
	}
	return n;
}

static void scenario_events(void)
{
	static const struct nt_event ev[] = {
		{ EV_POWER, .arg1 = 3, .arg2 = 0 },	/* leaving S0 */
		{ EV_POWER, .arg1 = 3, .arg2 = 1 },	/* back in S0 */
		{ EV_POWER, .arg1 = 5, .arg2 = 0 },	/* power policy */
		{ EV_CPU, .state = 0, .cpu = 4 },	/* add start */
		{ EV_CPU, .state = 1, .cpu = 4 },	/* add complete */
		{ EV_CPU, .state = 1, .cpu = 5,
		  .status = (int32_t)0xC0000001 },	/* failed complete */
		{ EV_CPU, .state = 2, .cpu = 5 },	/* add failure */
	};
	int nev = (int)ARRAY_SIZE(ev);
	struct nt_config cfg = { .fail_at = -1, .events = ev, .nevents = nev };
	struct nt_config cfg5 = { .fail_at = -1, .events = ev, .nevents = nev,
				  .has_fail_step = true, .fail_step = 24 };
	const char *t;
	struct run r;

	load(&r, "events", &cfg);
	t = nt_transcript();
	result(nt_events_delivered() == nev,
	       "notifications during load: all %d delivered while registered (%d)",
	       nev, nt_events_delivered());
	result(has(t, "power: leaving S0 with nothing virtualized: ignored") &&
	       has(t, "power: back in S0 with nothing virtualized: ignored") &&
	       count(t, "power:") == 2,
	       "notifications during load: S0 exit and entry decoded, other PowerState ignored");
	result(has(t, "processor 4 added while nothing is virtualized: ignored") &&
	       count(t, "processor ") == 1,
	       "notifications during load: only a completed add is acted on");
	result((uint32_t)r.st == route_ntstatus(expected_err),
	       "notifications during load: the load still refuses as before");
	check_clean(&r, "notifications during load");
	done(&r);

	if (production)		/* no FailStep: covered by the test build */
		return;
	load(&r, "events", &cfg5);
	result(nt_events_delivered() == 0 && !has(nt_transcript(), "power:"),
	       "no power callback registered (FailStep 24): nothing delivered");
	check_clean(&r, "FailStep 24 with notifications");
	done(&r);
}

int main(int argc, char **argv)
{
	char err[256];
	int rp = 0, rf = 0;

	for (;;) {
		if (argc >= 2 && !strcmp(argv[1], "--production")) {
			production = true;
			argv++;
			argc--;
		} else if (argc >= 3 && !strcmp(argv[1], "--extensions")) {
			ext_names = argv[2];
			argv += 2;
			argc -= 2;
		} else {
			break;
		}
	}
	if (argc != 3) {
		fprintf(stderr, "usage: %s [--production] [--extensions NAME,...] THINVISOR.SYS OUTDIR\n",
			argv[0]);
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	outdir = argv[2];
	mkdir(outdir, 0755);

	route_tests(&rp, &rf);
	string_tests(&rp, &rf);
	ext_tests(NULL, NULL, &rp, &rf);
	passed += rp;
	failed += rf;

	if (pe_load(argv[1], &img, err, sizeof(err))) {
		result(false, "load %s: %s", argv[1], err);
		printf("windows: %d passed, %d failed\n", passed, failed);
		return 1;
	}
	result(img.subsystem == 1 && img.nrelocs > 0,
	       "mapped %s at %p (preferred 0x%llx): %u sections, %u DIR64 relocations, %u imports bound",
	       argv[1], (void *)img.base, (unsigned long long)img.pref_base,
	       img.nsections, img.nrelocs, img.nimports);
	ext_tests(&img, ext_names, &passed, &failed);
	emu_install(&img);
	host_cpu_expectation();

	scenario_refusal();
	scenario_fail_each_call();
	if (production)
		scenario_production_fail_steps();
	else
		scenario_fail_steps();
	scenario_log_level();
	scenario_old_windows();
	scenario_events();

	pe_unload(&img);
	printf("windows: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
