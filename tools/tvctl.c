// SPDX-License-Identifier: MIT
/*
 * tvctl: control thinvisor from user mode through /dev/thinvisor, and tell
 * before insmod whether this machine can run it.  docs/tvctl.8 is the
 * manual; `tvctl help CMD` prints each command's own help.
 *
 * Exit status: enum tvctl_exit in tvctl.h.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "thinvisor/uapi.h"
#include "thinvisor/exit_reasons.h"
#include "core/vmm.h"
#include "tvctl.h"

/*
 * The version: one source shared with the module and the packages
 * (include/thinvisor/version.h, when the tree has it), else the VMM's
 * interface version; a build may also pass -DTV_VERSION_STRING='"x.y"'.
 */
#if !defined(TV_VERSION_STRING) && __has_include("thinvisor/version.h")
#include "thinvisor/version.h"
#endif
#ifndef TV_VERSION_STRING
#define TVCTL_STR(x) #x
#define TVCTL_XSTR(x) TVCTL_STR(x)
#define TV_VERSION_STRING TVCTL_XSTR(TV_VERSION_MAJOR) "." TVCTL_XSTR(TV_VERSION_MINOR)
#endif

_Static_assert(TV_UAPI_STAT_REASONS == TV_EXIT_REASON_SLOTS,
	       "the stats ioctl has one slot per basic exit reason");

#define DEVICE "/dev/thinvisor"
#define MODULE_VERSION_FILE "/sys/module/thinvisor/version"

struct command {
	const char *name;
	const char *args;	/* after the name, in usage lines */
	const char *summary;	/* one line for `tvctl help` */
	const char *help;	/* the rest, for `tvctl help CMD` */
};

static const struct command commands[] = {
	{ "status", "[--json]", "show, per CPU, whether thinvisor runs below it",
	  "Lists every possible CPU: online, virtualized, its VPID and how many\n"
	  "VM exits it took.  Exits 1 when an online CPU is not virtualized\n"
	  "(a CPU that came online and could not be taken: offline and online\n"
	  "it to retry).\n" },
	{ "ping", "[CPU] [--json]", "run the ping hypercall on every online CPU, or on CPU",
	  "Runs the ping hypercall on CPU, or on every online CPU, and prints\n"
	  "\"CPU N: pong\" for each that answers.  Exits 1 when one does not.\n" },
	{ "stats", "[--json] [--reset]", "VM exits and VMM cycles per exit reason and CPU",
	  "Counts VM exits and the TSC cycles spent in the VMM, per basic exit\n"
	  "reason (named as in the Intel SDM, Appendix C) and per virtualized\n"
	  "CPU.  --reset zeroes the counters first.\n" },
	{ "log", "[-f] [--json]", "print the VMM log; -f keeps following it",
	  "Prints the VMM's own log lines that no reader took yet (each line\n"
	  "goes whole to one reader).  -f waits for more until interrupted.\n"
	  "--json prints one JSON object per line.\n" },
	{ "check", "[--json]", "tell whether this machine can run thinvisor, and why not",
	  "Before insmod: checks the CPU vendor, VMX, IA32_FEATURE_CONTROL, the\n"
	  "VMX, EPT and VPID capabilities thinvisor needs (the module's own\n"
	  "rules, compiled in), kvm_intel, a hypervisor already below this\n"
	  "kernel, Secure Boot and module signing.  Reads CPUID and\n"
	  "/dev/cpu/N/msr (loads the msr module if needed; root only).\n"
	  "Exits 0 when thinvisor can run, 3 when this CPU, firmware or kernel\n"
	  "cannot run it, 4 when it cannot load until something changes, 5\n"
	  "when it cannot tell.  The errno insmod would fail with is named.\n" },
	{ "version", "[--json]", "print tvctl's version and the loaded module's",
	  "Prints tvctl's version and, when thinvisor is loaded, the module's\n"
	  "(from " MODULE_VERSION_FILE ").  Same as tvctl --version.\n" },
	{ "extensions", "", "registered extensions and their event counts",
	  "Lists the extensions registered with thinvisor, in registration\n"
	  "order, one line each: the name, then name=count for every event\n"
	  "type, how many events of it thinvisor offered to the extension.\n" },
	{ "help", "[CMD]", "print this help, or CMD's", NULL },
};

#define NCOMMANDS ARRAY_SIZE(commands)

static const struct command *find_command(const char *name)
{
	unsigned int i;

	for (i = 0; i < NCOMMANDS; i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

static void print_usage(FILE *f)
{
	unsigned int i;

	fprintf(f, "usage: tvctl [--json] COMMAND [ARGS]\n"
		   "       tvctl --version | --help | help COMMAND\n\ncommands:\n");
	for (i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-8s %-20s %s\n", commands[i].name,
			commands[i].args, commands[i].summary);
	fprintf(f, "\nexit status: 0 done, 1 failed, 2 usage error; check: 3 cannot run\n"
		   "here, 4 cannot load now, 5 cannot tell.  See tvctl(8).\n");
}

static int cmd_help(const char *name)
{
	const struct command *c = name ? find_command(name) : NULL;

	if (!name) {
		print_usage(stdout);
		return TVCTL_OK;
	}
	if (!c) {
		fprintf(stderr, "tvctl: help: unknown command '%s'\n", name);
		print_usage(stderr);
		return TVCTL_USAGE;
	}
	printf("usage: tvctl %s %s\n\n%s\n", c->name, c->args, c->summary);
	if (c->help)
		printf("\n%s", c->help);
	return TVCTL_OK;
}

void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; s && *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch == '\n')
			fputs("\\n", f);
		else if (ch == '\t')
			fputs("\\t", f);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

/* A failure: on stderr, and as {"error": ...} on stdout with --json. */
static void __printf(2, 3) fail(const struct tvctl_opts *o, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "tvctl: %s\n", msg);
	if (o->json) {
		printf("{\"error\": ");
		json_string(stdout, msg);
		printf("}\n");
	}
}

static int open_device(const struct tvctl_opts *o)
{
	int fd = open(DEVICE, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		if (errno == ENOENT)
			fail(o, "%s not found: is the thinvisor module loaded?", DEVICE);
		else
			fail(o, "%s: %s", DEVICE, strerror(errno));
	}
	return fd;
}

/* The status ioctl reports a window of CPUs at a time: ask until the end. */
struct tv_uapi_cpu *get_status(int fd, struct tv_uapi_status *st, unsigned int *n)
{
	struct tv_uapi_cpu *cpus = NULL, *more;
	unsigned int first = 0;

	*n = 0;
	do {
		more = realloc(cpus, (*n + TV_UAPI_STATUS_WINDOW) * sizeof(*cpus));
		if (!more) {
			fprintf(stderr, "tvctl: status: out of memory\n");
			free(cpus);
			return NULL;
		}
		cpus = more;
		memset(st, 0, sizeof(*st));
		st->cpus = (uintptr_t)(cpus + *n);
		st->first_cpu = first;
		st->max_cpus = TV_UAPI_STATUS_WINDOW;
		if (ioctl(fd, TV_IOC_STATUS, st) < 0) {
			fprintf(stderr, "tvctl: status: %s\n", strerror(errno));
			free(cpus);
			return NULL;
		}
		*n += st->ncpus;
		/* A window that moves no further would loop forever. */
		if (st->next_cpu != TV_UAPI_CPU_END && st->next_cpu <= first) {
			fprintf(stderr, "tvctl: status: the driver did not move on from CPU %u\n",
				first);
			free(cpus);
			return NULL;
		}
		first = st->next_cpu;
	} while (first != TV_UAPI_CPU_END);
	return cpus;
}

static int cmd_status(int fd, const struct tvctl_opts *o)
{
	struct tv_uapi_status st;
	struct tv_uapi_cpu *cpus;
	unsigned int i, n, virt = 0, online = 0;

	cpus = get_status(fd, &st, &n);
	if (!cpus) {
		if (o->json)
			printf("{\"error\": \"status ioctl failed\"}\n");
		return TVCTL_FAILED;
	}
	if (o->json)
		printf("{\"version\": \"%u.%u\", \"ept_bytes\": %llu, \"cpus\": [",
		       st.version >> 16, st.version & 0xffff,
		       (unsigned long long)st.ept_bytes);
	else
		printf("thinvisor %u.%u, EPT tables %llu KiB\n%-5s %-8s %-12s %-6s %s\n",
		       st.version >> 16, st.version & 0xffff,
		       (unsigned long long)st.ept_bytes >> 10, "CPU", "online",
		       "virtualized", "VPID", "exits");
	for (i = 0; i < n; i++) {
		const struct tv_uapi_cpu *c = &cpus[i];
		int on = !!(c->flags & TV_CPU_ONLINE);
		int v = !!(c->flags & TV_CPU_VIRTUALIZED);

		online += on;
		virt += v;
		if (o->json)
			printf("%s{\"cpu\": %u, \"online\": %s, \"virtualized\": %s, \"vpid\": %u, \"exits\": %llu}",
			       i ? ", " : "", c->cpu, on ? "true" : "false",
			       v ? "true" : "false", c->vpid,
			       (unsigned long long)c->exits);
		else
			printf("%-5u %-8s %-12s %-6u %llu\n", c->cpu, on ? "yes" : "no",
			       v ? "yes" : "no", c->vpid,
			       (unsigned long long)c->exits);
	}
	if (o->json)
		printf("], \"online\": %u, \"virtualized\": %u}\n", online, virt);
	else
		printf("%u of %u online CPUs virtualized\n", virt, online);
	free(cpus);
	return virt == online ? TVCTL_OK : TVCTL_FAILED;
}

/* Ping @cpu; prints its result (a JSON object with --json). */
static int ping_one(int fd, const struct tvctl_opts *o, unsigned int cpu)
{
	struct tv_uapi_ping p = { .cpu = cpu };
	const char *err = NULL;

	if (ioctl(fd, TV_IOC_PING, &p) < 0)
		err = strerror(errno);
	else if (p.result)
		err = strerror(-p.result);
	if (o->json) {
		printf("{\"cpu\": %u, \"pong\": %s", cpu, err ? "false" : "true");
		if (err) {
			printf(", \"error\": ");
			json_string(stdout, err);
		}
		printf("}");
	} else if (err) {
		printf("CPU %u: no answer (%s)\n", cpu, err);
	} else {
		printf("CPU %u: pong\n", cpu);
	}
	return err ? TVCTL_FAILED : TVCTL_OK;
}

/* Parse a CPU number; -1 when @arg is not one. */
static long parse_cpu(const char *arg)
{
	char *end;
	long cpu;

	errno = 0;
	cpu = strtol(arg, &end, 10);
	if (errno || *end || end == arg || cpu < 0 || cpu >= TV_UAPI_CPU_END)
		return -1;
	return cpu;
}

/* Ping @cpu, or every online CPU when @cpu is negative. */
static int cmd_ping(int fd, const struct tvctl_opts *o, long cpu)
{
	struct tv_uapi_status st;
	struct tv_uapi_cpu *cpus;
	unsigned int i, n, done = 0;
	int ret = TVCTL_OK;

	if (o->json)
		printf("{\"cpus\": [");
	if (cpu >= 0) {
		ret = ping_one(fd, o, (unsigned int)cpu);
	} else {
		cpus = get_status(fd, &st, &n);
		if (!cpus) {
			if (o->json)
				printf("], \"error\": \"status ioctl failed\"}\n");
			return TVCTL_FAILED;
		}
		for (i = 0; i < n; i++) {
			if (!(cpus[i].flags & TV_CPU_ONLINE))
				continue;
			if (o->json && done++)
				printf(", ");
			ret |= ping_one(fd, o, cpus[i].cpu);
		}
		free(cpus);
	}
	if (o->json)
		printf("], \"ok\": %s}\n", ret ? "false" : "true");
	return ret;
}

/* The loaded module's version, or NULL (not loaded, or it has none). */
static const char *module_version(char *buf, size_t len)
{
	FILE *f = fopen(MODULE_VERSION_FILE, "r");
	char *nl;

	if (!f)
		return NULL;
	if (!fgets(buf, (int)len, f)) {
		fclose(f);
		return NULL;
	}
	fclose(f);
	nl = strchr(buf, '\n');
	if (nl)
		*nl = '\0';
	return buf;
}

static int cmd_version(const struct tvctl_opts *o)
{
	char buf[64];
	const char *mod = module_version(buf, sizeof(buf));

	if (o->json) {
		printf("{\"tvctl\": \"%s\", \"module\": ", TV_VERSION_STRING);
		if (mod)
			json_string(stdout, mod);
		else
			printf("null");
		printf("}\n");
		return TVCTL_OK;
	}
	printf("tvctl %s\n", TV_VERSION_STRING);
	if (mod)
		printf("thinvisor module %s (loaded)\n", mod);
	return TVCTL_OK;
}

static int bad_usage(const char *cmd, const char *fmt, const char *arg)
{
	fprintf(stderr, "tvctl: ");
	if (cmd)
		fprintf(stderr, "%s: ", cmd);
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n");
	print_usage(stderr);
	return TVCTL_USAGE;
}

int main(int argc, char **argv)
{
	struct tvctl_opts o = { .json = false };
	bool reset = false, follow = false, want_help = false;
	const struct command *c = NULL;
	const char *help_of = NULL;
	long cpu = -1;
	int fd, i, ret;

	/* Options may come before or after the command. */
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--json")) {
			o.json = true;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			want_help = true;
		} else if (!strcmp(a, "-V") || !strcmp(a, "--version")) {
			if (!c)
				c = find_command("version");
			else
				return bad_usage(c->name, "unexpected argument '%s'", a);
		} else if (!c) {
			c = find_command(a);
			if (!c)
				return bad_usage(NULL, "unknown command '%s'", a);
		} else if (!strcmp(c->name, "stats") && !strcmp(a, "--reset")) {
			reset = true;
		} else if (!strcmp(c->name, "log") && !strcmp(a, "-f")) {
			follow = true;
		} else if (!strcmp(c->name, "ping") && cpu < 0 &&
			   parse_cpu(a) >= 0) {
			cpu = parse_cpu(a);
		} else if (!strcmp(c->name, "help") && !help_of) {
			help_of = a;
		} else {
			return bad_usage(c->name, "unexpected argument '%s'", a);
		}
	}
	/* "tvctl CMD --help" is "tvctl help CMD"; "tvctl help CMD --help" too. */
	if (want_help)
		return cmd_help(help_of ? help_of : c ? c->name : NULL);
	if (!c) {
		print_usage(stderr);
		return TVCTL_USAGE;
	}
	if (!strcmp(c->name, "help"))
		return cmd_help(help_of);
	if (!strcmp(c->name, "version"))
		return cmd_version(&o);
	if (!strcmp(c->name, "check"))
		return cmd_check(&o);
	fd = open_device(&o);
	if (fd < 0)
		return TVCTL_FAILED;
	if (!strcmp(c->name, "status"))
		ret = cmd_status(fd, &o);
	else if (!strcmp(c->name, "ping"))
		ret = cmd_ping(fd, &o, cpu);
	else if (!strcmp(c->name, "stats"))
		ret = cmd_stats(fd, &o, reset);
	else if (!strcmp(c->name, "extensions"))
		ret = cmd_extensions(fd);
	else
		ret = cmd_log(fd, &o, follow);
	close(fd);
	return ret;
}
