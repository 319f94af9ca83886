// SPDX-License-Identifier: MIT
/*
 * tvmsr CPU record FILE   natively: note what each probed MSR access does
 * tvmsr CPU check FILE    under thinvisor: the same, except VMX is hidden
 *
 * Through /dev/cpu/CPU/msr.  MSRs outside the VMX MSR-bitmap ranges always
 * exit, yet real ones live there (uncore counters at 0x2000-0x2fff on
 * Alder Lake, 0x200e on Sapphire Rapids): under thinvisor every access
 * must do what the hardware does, the same value or the same #GP (EIO).
 * The VMX capability MSRs must fail: VMX is hidden.  Prints one line per
 * access; exit 0 when all behave.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct probe {
	unsigned int msr;
	int write;
};

/* Same-as-native probes: nothing here may change machine state that
 * matters (writes go only to MSRs that do not exist or read back 0). */
static const struct probe same[] = {
	{ 0x10, 0 },		/* IA32_TIME_STAMP_COUNTER (value differs) */
	{ 0x2000, 0 },		/* ADL_UNC_CBO_0_PERFEVTSEL0 */
	{ 0x200e, 0 },		/* SPR CHA filter */
	{ 0x2ff0, 0 },		/* ADL_UNC_PERF_GLOBAL_CTL */
	{ 0x12345678, 0 },
	{ 0x12345678, 1 },
	{ 0xc0002000, 0 },	/* above the high range */
	{ 0x40000000, 0 },	/* a hypervisor's range */
};

/* VMX hidden: these fail under thinvisor whatever the CPU has. */
static const struct probe refused[] = {
	{ 0x480, 0 },		/* IA32_VMX_BASIC */
	{ 0x48c, 0 },		/* IA32_VMX_EPT_VPID_CAP */
	{ 0x480, 1 },
};

/* "ok VALUE" or "error ERRNO" for one access. */
static void access_msr(int fd, const struct probe *p, char *out, size_t len)
{
	uint64_t val = 0;
	ssize_t n;

	errno = 0;
	n = p->write ? pwrite(fd, &val, 8, p->msr) : pread(fd, &val, 8, p->msr);
	if (n == 8)
		snprintf(out, len, "ok %llx",
			 /* the TSC moves: only its success counts */
			 p->msr == 0x10 ? 0ULL : (unsigned long long)val);
	else
		snprintf(out, len, "error %d", errno);
}

int main(int argc, char **argv)
{
	char path[64], got[64], want[64];
	unsigned int i;
	int fd, bad = 0;
	FILE *f;

	if (argc != 4 || (strcmp(argv[2], "record") && strcmp(argv[2], "check"))) {
		fprintf(stderr, "usage: tvmsr CPU record|check FILE\n");
		return 2;
	}
	snprintf(path, sizeof(path), "/dev/cpu/%s/msr", argv[1]);
	fd = open(path, O_RDWR);
	if (fd < 0) {
		perror(path);
		return 2;
	}
	f = fopen(argv[3], argv[2][0] == 'r' ? "w" : "r");
	if (!f) {
		perror(argv[3]);
		return 2;
	}
	for (i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
		access_msr(fd, &same[i], got, sizeof(got));
		if (argv[2][0] == 'r') {
			fprintf(f, "%s\n", got);
			printf("native %s 0x%08x: %s\n",
			       same[i].write ? "write" : "read", same[i].msr, got);
			continue;
		}
		if (!fgets(want, sizeof(want), f)) {
			fprintf(stderr, "%s: too short\n", argv[3]);
			return 2;
		}
		want[strcspn(want, "\n")] = 0;
		printf("%s 0x%08x: %s (native: %s)%s\n",
		       same[i].write ? "write" : "read", same[i].msr, got, want,
		       strcmp(got, want) ? " MISMATCH" : "");
		bad += !!strcmp(got, want);
	}
	if (argv[2][0] == 'c') {
		for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
			access_msr(fd, &refused[i], got, sizeof(got));
			printf("%s 0x%08x: %s (must fail)\n",
			       refused[i].write ? "write" : "read",
			       refused[i].msr, got);
			bad += !strncmp(got, "ok", 2);
		}
	}
	fclose(f);
	close(fd);
	return bad ? 1 : 0;
}
