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
#include "tvctl.h"

/* Basic exit reasons, Intel SDM Vol. 3 Appendix C. */
static const char *const reason_names[TV_UAPI_STAT_REASONS] = {
	[0] = "EXCEPTION_NMI", [1] = "EXTERNAL_INTERRUPT",
	[2] = "TRIPLE_FAULT", [3] = "INIT", [4] = "SIPI", [5] = "IO_SMI",
	[6] = "OTHER_SMI", [7] = "INTERRUPT_WINDOW", [8] = "NMI_WINDOW",
	[9] = "TASK_SWITCH", [10] = "CPUID", [11] = "GETSEC", [12] = "HLT",
	[13] = "INVD", [14] = "INVLPG", [15] = "RDPMC", [16] = "RDTSC",
	[17] = "RSM", [18] = "VMCALL", [19] = "VMCLEAR", [20] = "VMLAUNCH",
	[21] = "VMPTRLD", [22] = "VMPTRST", [23] = "VMREAD",
	[24] = "VMRESUME", [25] = "VMWRITE", [26] = "VMXOFF", [27] = "VMXON",
	[28] = "CR_ACCESS", [29] = "DR_ACCESS", [30] = "IO_INSTRUCTION",
	[31] = "RDMSR", [32] = "WRMSR", [33] = "INVALID_GUEST_STATE",
	[34] = "MSR_LOADING", [36] = "MWAIT", [37] = "MONITOR_TRAP_FLAG",
	[39] = "MONITOR", [40] = "PAUSE", [41] = "MACHINE_CHECK",
	[43] = "TPR_BELOW_THRESHOLD", [44] = "APIC_ACCESS",
	[45] = "VIRTUALIZED_EOI", [46] = "GDTR_IDTR", [47] = "LDTR_TR",
	[48] = "EPT_VIOLATION", [49] = "EPT_MISCONFIG", [50] = "INVEPT",
	[51] = "RDTSCP", [52] = "PREEMPTION_TIMER", [53] = "INVVPID",
	[54] = "WBINVD", [55] = "XSETBV", [56] = "APIC_WRITE",
	[57] = "RDRAND", [58] = "INVPCID", [59] = "VMFUNC", [60] = "ENCLS",
	[61] = "RDSEED", [62] = "PML_FULL", [63] = "XSAVES", [64] = "XRSTORS",
	[TV_UAPI_STAT_REASONS - 1] = "OTHER",
};

static const char *reason_name(unsigned int r, char *buf, size_t len)
{
	if (reason_names[r])
		return reason_names[r];
	snprintf(buf, len, "REASON_%u", r);
	return buf;
}

int cmd_stats(int fd, bool json, bool reset)
{
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
			return 1;
		}
		if (!json)
			printf("statistics reset\n");
	}
	cpus = get_status(fd, &st, &ncpus);
	if (!cpus)
		return 1;
	cpu = calloc(ncpus ? ncpus : 1, sizeof(*cpu));
	if (!cpu) {
		fprintf(stderr, "tvctl: stats: out of memory\n");
		free(cpus);
		return 1;
	}
	for (i = 0; i < ncpus; i++) {
		cpu[n].cpu = cpus[i].cpu;
		if (ioctl(fd, TV_IOC_STATS, &cpu[n]) < 0) {
			fprintf(stderr, "tvctl: stats: %s\n", strerror(errno));
			free(cpu);
			free(cpus);
			return 1;
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
		printf("], \"total\": {\"count\": %llu, \"cycles\": %llu}}\n",
		       all, all_cycles);
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
	return 0;
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

int cmd_log(int fd, bool follow)
{
	char buf[4096], line[512];
	size_t used = 0;
	ssize_t n;
	int level;
	unsigned int cpu, off;

	if (!follow && fcntl(fd, F_SETFL, O_NONBLOCK) < 0)
		return 1;
	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n < 0) {
			if (errno == EAGAIN && !follow)
				return 0;
			if (errno == EINTR || errno == EAGAIN)
				continue;
			fprintf(stderr, "tvctl: log: %s\n", strerror(errno));
			return 1;
		}
		for (ssize_t i = 0; i < n; i++) {
			if (used < sizeof(line) - 1)
				line[used++] = buf[i];
			if (buf[i] != '\n')
				continue;
			line[used] = '\0';
			used = 0;
			if (sscanf(line, "%d cpu %u %n", &level, &cpu, &off) == 2)
				printf("%-5s cpu%-3u %s", level_name(level), cpu,
				       line + off);
			else
				fputs(line, stdout);
			fflush(stdout);
		}
	}
}
