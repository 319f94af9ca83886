// SPDX-License-Identifier: MIT
/* tvctl stats and tvctl log. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "thinvisor/uapi.h"
#include "thinvisor/exit_reasons.h"
#include "tvctl.h"

/* The SDM's name of basic exit reason @r (the core's list), else REASON_<r>. */
static const char *reason_name(unsigned int r, char *buf, size_t len)
{
	const char *name = tv_exit_reason_name(r);

	if (name)
		return name;
	snprintf(buf, len, "REASON_%u", r);
	return buf;
}

int cmd_stats(int fd, const struct tvctl_opts *o, bool reset)
{
	bool json = o->json;
	struct tv_uapi_status st;
	struct tv_uapi_stats *cpu;
	struct tv_uapi_cpu *cpus;
	unsigned long long count[TV_UAPI_STAT_REASONS] = { 0 };
	unsigned long long cycles[TV_UAPI_STAT_REASONS] = { 0 };
	unsigned long long all = 0, all_cycles = 0;
	unsigned int i, r, n = 0, ncpus;
	char name[32];
	bool first;

	if (reset) {
		if (ioctl(fd, TV_IOC_STATS_RESET) < 0) {
			fprintf(stderr, "tvctl: stats --reset: %s\n", strerror(errno));
			if (json)
				printf("{\"error\": \"stats reset failed\"}\n");
			return TVCTL_FAILED;
		}
		if (!json)
			printf("statistics reset\n");
	}
	cpus = get_status(fd, &st, &ncpus);
	if (!cpus) {
		if (json)
			printf("{\"error\": \"status ioctl failed\"}\n");
		return TVCTL_FAILED;
	}
	cpu = calloc(ncpus ? ncpus : 1, sizeof(*cpu));
	if (!cpu) {
		fprintf(stderr, "tvctl: stats: out of memory\n");
		free(cpus);
		return TVCTL_FAILED;
	}
	for (i = 0; i < ncpus; i++) {
		cpu[n].cpu = cpus[i].cpu;
		if (ioctl(fd, TV_IOC_STATS, &cpu[n]) < 0) {
			fprintf(stderr, "tvctl: stats: %s\n", strerror(errno));
			free(cpu);
			free(cpus);
			return TVCTL_FAILED;
		}
		if (!cpu[n].virtualized)
			continue;
		for (r = 0; r < TV_UAPI_STAT_REASONS; r++) {
			count[r] += cpu[n].count[r];
			cycles[r] += cpu[n].cycles[r];
			all += cpu[n].count[r];
			all_cycles += cpu[n].cycles[r];
		}
		n++;
	}
	if (json) {
		printf("{\"cpus\": [");
		for (i = 0; i < n; i++) {
			printf("%s{\"cpu\": %u, \"reasons\": {", i ? ", " : "",
			       cpu[i].cpu);
			first = true;
			for (r = 0; r < TV_UAPI_STAT_REASONS; r++) {
				if (!cpu[i].count[r])
					continue;
				printf("%s\"%s\": {\"count\": %llu, \"cycles\": %llu}",
				       first ? "" : ", ", reason_name(r, name, sizeof(name)),
				       (unsigned long long)cpu[i].count[r],
				       (unsigned long long)cpu[i].cycles[r]);
				first = false;
			}
			printf("}}");
		}
		printf("], \"total\": {\"count\": %llu, \"cycles\": %llu}, \"reset\": %s}\n",
		       all, all_cycles, reset ? "true" : "false");
		goto out;
	}
	printf("%-20s", "reason");
	for (i = 0; i < n; i++)
		printf(" %11s%-3u", "cpu", cpu[i].cpu);
	printf(" %14s %12s\n", "total", "mean cycles");
	for (r = 0; r < TV_UAPI_STAT_REASONS; r++) {
		if (!count[r])
			continue;
		printf("%-20s", reason_name(r, name, sizeof(name)));
		for (i = 0; i < n; i++)
			printf(" %14llu", (unsigned long long)cpu[i].count[r]);
		printf(" %14llu %12llu\n", count[r], cycles[r] / count[r]);
	}
	printf("%-20s", "all");
	for (i = 0; i < n; i++) {
		unsigned long long c = 0;

		for (r = 0; r < TV_UAPI_STAT_REASONS; r++)
			c += cpu[i].count[r];
		printf(" %14llu", c);
	}
	printf(" %14llu %12llu\n", all, all ? all_cycles / all : 0);
	if (!n)
		printf("no CPU is virtualized\n");
out:
	free(cpu);
	free(cpus);
	return TVCTL_OK;
}

static const char *level_name(int level)
{
	switch (level) {
	case 3: return "err";
	case 4: return "warn";
	case 6: return "info";
	case 7: return "debug";
	default: return "?";
	}
}

/* One log line "<level> cpu <N> <text>\n", as text or as a JSON object. */
static void print_log_line(const struct tvctl_opts *o, char *line)
{
	unsigned int cpu;
	int level, off;
	size_t len;

	if (sscanf(line, "%d cpu %u %n", &level, &cpu, &off) != 2) {
		if (!o->json) {
			fputs(line, stdout);
			return;
		}
		level = -1;
		cpu = 0;
		off = 0;
	}
	if (!o->json) {
		printf("%-5s cpu%-3u %s", level_name(level), cpu, line + off);
		return;
	}
	len = strlen(line);
	if (len && line[len - 1] == '\n')
		line[len - 1] = '\0';
	printf("{\"level\": \"%s\", \"cpu\": %u, \"text\": ",
	       level_name(level), cpu);
	json_string(stdout, line + off);
	printf("}\n");
}

int cmd_log(int fd, const struct tvctl_opts *o, bool follow)
{
	char buf[4096], line[512];
	size_t used = 0;
	ssize_t n;

	if (!follow && fcntl(fd, F_SETFL, O_NONBLOCK) < 0)
		return TVCTL_FAILED;
	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n < 0) {
			if (errno == EAGAIN && !follow)
				return TVCTL_OK;
			if (errno == EINTR || errno == EAGAIN)
				continue;
			fprintf(stderr, "tvctl: log: %s\n", strerror(errno));
			return TVCTL_FAILED;
		}
		for (ssize_t i = 0; i < n; i++) {
			if (used < sizeof(line) - 1)
				line[used++] = buf[i];
			if (buf[i] != '\n')
				continue;
			line[used] = '\0';
			used = 0;
			print_log_line(o, line);
			fflush(stdout);
		}
	}
}
