// SPDX-License-Identifier: MIT
/*
 * tvctl: control thinvisor from user mode through /dev/thinvisor.
 *
 *   tvctl status        per CPU: online, virtualized, VPID, exit count
 *   tvctl ping [CPU]    run the ping hypercall on every (or one) CPU
 *   tvctl stats [--json] [--reset]
 *                       exits and VMM cycles per reason and CPU
 *   tvctl log [-f]      print the VMM log (-f: keep following it)
 *
 * Exit status: 0 success, 1 the operation failed, 2 usage error.
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "thinvisor/uapi.h"
#include "tvctl.h"

#define DEVICE "/dev/thinvisor"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: tvctl status\n"
		"       tvctl ping [CPU]\n"
		"       tvctl stats [--json] [--reset]\n"
		"       tvctl log [-f]\n"
		"\n"
		"  status    show, per CPU, whether thinvisor runs below it\n"
		"  ping      run the ping hypercall on every online CPU, or on CPU\n"
		"  stats     VM exits and TSC cycles spent in the VMM, per exit\n"
		"            reason and CPU; --json for machines, --reset to zero\n"
		"  log       print the VMM log; -f keeps following it\n");
}

static int open_device(void)
{
	int fd = open(DEVICE, O_RDONLY | O_CLOEXEC);

	if (fd < 0) {
		if (errno == ENOENT)
			fprintf(stderr, "tvctl: %s not found: is the thinvisor module loaded?\n",
				DEVICE);
		else
			fprintf(stderr, "tvctl: %s: %s\n", DEVICE, strerror(errno));
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

static int cmd_status(int fd)
{
	struct tv_uapi_status st;
	struct tv_uapi_cpu *cpus;
	unsigned int i, n, virt = 0, online = 0;

	cpus = get_status(fd, &st, &n);
	if (!cpus)
		return 1;
	printf("thinvisor %u.%u, EPT tables %llu KiB\n", st.version >> 16,
	       st.version & 0xffff, (unsigned long long)st.ept_bytes >> 10);
	printf("%-5s %-8s %-12s %-6s %s\n", "CPU", "online", "virtualized",
	       "VPID", "exits");
	for (i = 0; i < n; i++) {
		const struct tv_uapi_cpu *c = &cpus[i];
		int on = !!(c->flags & TV_CPU_ONLINE);
		int v = !!(c->flags & TV_CPU_VIRTUALIZED);

		online += on;
		virt += v;
		printf("%-5u %-8s %-12s %-6u %llu\n", c->cpu, on ? "yes" : "no",
		       v ? "yes" : "no", c->vpid,
		       (unsigned long long)c->exits);
	}
	printf("%u of %u online CPUs virtualized\n", virt, online);
	free(cpus);
	return virt == online ? 0 : 1;
}

static int ping_one(int fd, unsigned int cpu)
{
	struct tv_uapi_ping p = { .cpu = cpu };

	if (ioctl(fd, TV_IOC_PING, &p) < 0) {
		fprintf(stderr, "tvctl: ping CPU %u: %s\n", cpu, strerror(errno));
		return 1;
	}
	if (p.result) {
		printf("CPU %u: no answer (%s)\n", cpu, strerror(-p.result));
		return 1;
	}
	printf("CPU %u: pong\n", cpu);
	return 0;
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
static int cmd_ping(int fd, long cpu)
{
	struct tv_uapi_status st;
	struct tv_uapi_cpu *cpus;
	unsigned int i, n;
	int ret = 0;

	if (cpu >= 0)
		return ping_one(fd, (unsigned int)cpu);
	cpus = get_status(fd, &st, &n);
	if (!cpus)
		return 1;
	for (i = 0; i < n; i++)
		if (cpus[i].flags & TV_CPU_ONLINE)
			ret |= ping_one(fd, cpus[i].cpu);
	free(cpus);
	return ret;
}

int main(int argc, char **argv)
{
	bool json = false, reset = false, follow = false;
	long cpu = -1;
	int fd, i, ret;
	const char *cmd;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	cmd = argv[1];
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
		usage(stdout);
		return 0;
	}
	for (i = 2; i < argc; i++) {
		if (!strcmp(cmd, "stats") && !strcmp(argv[i], "--json"))
			json = true;
		else if (!strcmp(cmd, "stats") && !strcmp(argv[i], "--reset"))
			reset = true;
		else if (!strcmp(cmd, "log") && !strcmp(argv[i], "-f"))
			follow = true;
		else if (!strcmp(cmd, "ping") && i == 2 && argc == 3 &&
			 (cpu = parse_cpu(argv[i])) >= 0)
			continue;
		else
			break;
	}
	if (i < argc || (strcmp(cmd, "status") && strcmp(cmd, "ping") &&
			 strcmp(cmd, "stats") && strcmp(cmd, "log"))) {
		if (i < argc)
			fprintf(stderr, "tvctl: %s: unexpected argument '%s'\n", cmd,
				argv[i]);
		else
			fprintf(stderr, "tvctl: unknown command '%s'\n", cmd);
		usage(stderr);
		return 2;
	}
	fd = open_device();
	if (fd < 0)
		return 1;
	if (!strcmp(cmd, "status"))
		ret = cmd_status(fd);
	else if (!strcmp(cmd, "ping"))
		ret = cmd_ping(fd, cpu);
	else if (!strcmp(cmd, "stats"))
		ret = cmd_stats(fd, json, reset);
	else
		ret = cmd_log(fd, follow);
	close(fd);
	return ret;
}
