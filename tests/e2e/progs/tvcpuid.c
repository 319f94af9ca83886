// SPDX-License-Identifier: MIT
/*
 * tvcpuid: what the guest sees through CPUID, on every online CPU.
 *
 *   tvcpuid sig present|absent   the thinvisor signature on every CPU
 *   tvcpuid dump FILE            every leaf and subleaf of every CPU
 *   tvcpuid compare FILE virtualized|native
 *                                now vs a native FILE: under thinvisor only
 *                                the documented differences, else none
 *
 * Documented differences under thinvisor: leaf 1 ECX bit 5 (VMX) cleared
 * and bit 31 (hypervisor) set; leaves 0x40000000-0x400000ff are ours: the
 * highest leaf (0x40000001) and the signature, the interface, zeros
 * above (include/thinvisor/hypercall.h).  OSXSAVE and OSPKE follow CR4,
 * which the same kernel has the same before and under thinvisor.
 * Exit status 0 when the expectation holds.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "thinvisor/hypercall.h"

struct regs {
	unsigned int a, b, c, d;
};

static void cpuid(unsigned int leaf, unsigned int sub, struct regs *r)
{
	asm volatile("cpuid" : "=a"(r->a), "=b"(r->b), "=c"(r->c), "=d"(r->d)
		     : "a"(leaf), "c"(sub));
}

static int pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set);
}

static int ncpus(void)
{
	return (int)sysconf(_SC_NPROCESSORS_CONF);
}

static int online(int cpu)
{
	char path[64];
	FILE *f;
	int c = '1';

	snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%d/online", cpu);
	f = fopen(path, "r");
	if (!f)
		return cpu == 0 || access("/sys/devices/system/cpu", F_OK) == 0;
	c = fgetc(f);
	fclose(f);
	return c == '1';
}

static int has_signature(void)
{
	struct regs r;
	char sig[13];

	cpuid(1, 0, &r);
	if (!(r.c & (1u << 31)))
		return 0;
	cpuid(TV_CPUID_LEAF_SIGNATURE, 0, &r);
	memcpy(sig, &r.b, 4);
	memcpy(sig + 4, &r.c, 4);
	memcpy(sig + 8, &r.d, 4);
	sig[12] = 0;
	if (strcmp(sig, TV_CPUID_SIGNATURE))
		return 0;
	cpuid(TV_CPUID_LEAF_INTERFACE, 0, &r);
	return r.a == TV_CPUID_INTERFACE;
}

static int cmd_sig(int want)
{
	int cpu, bad = 0, seen;

	for (cpu = 0; cpu < ncpus(); cpu++) {
		if (!online(cpu))
			continue;
		if (pin(cpu)) {
			printf("cpu %d: cannot pin\n", cpu);
			bad++;
			continue;
		}
		seen = has_signature();
		printf("cpu %d: signature %s\n", cpu, seen ? "present" : "absent");
		bad += seen != want;
	}
	return bad ? 1 : 0;
}

/* Leaves whose subleaves matter, and how many to walk. */
static unsigned int subleaves(unsigned int leaf)
{
	switch (leaf) {
	case 4: case 0xb: case 0x1f: return 8;
	case 7: case 0x14: case 0x17: case 0x18: return 4;
	case 0xd: return 64;
	case 0xf: case 0x10: case 0x12: return 4;
	default: return 1;
	}
}

static void dump_cpu(FILE *f, int cpu)
{
	static const unsigned int bases[] = { 0, 0x40000000, 0x80000000 };
	struct regs r;
	unsigned int b, leaf, max, sub;

	for (b = 0; b < 3; b++) {
		cpuid(bases[b], 0, &r);
		max = r.a;
		/* Without a hypervisor the 0x4... range echoes basic leaves. */
		if (bases[b] == 0x40000000)
			max = bases[b] + 0x10;
		if (max - bases[b] > 0x100)
			max = bases[b] + 0x100;
		for (leaf = bases[b]; leaf <= max; leaf++)
			for (sub = 0; sub < subleaves(leaf); sub++) {
				cpuid(leaf, sub, &r);
				fprintf(f, "%d %08x %02x %08x %08x %08x %08x\n", cpu,
					leaf, sub, r.a, r.b, r.c, r.d);
			}
		/* The last leaf of thinvisor's range too. */
		if (bases[b] == 0x40000000 && max < 0x400000ff) {
			cpuid(0x400000ff, 0, &r);
			fprintf(f, "%d %08x %02x %08x %08x %08x %08x\n", cpu,
				0x400000ff, 0, r.a, r.b, r.c, r.d);
		}
	}
}

/* What thinvisor answers for its leaf @leaf (0x40000000-0x400000ff). */
static void hv_leaf(unsigned int leaf, unsigned int *r)
{
	r[0] = r[1] = r[2] = r[3] = 0;
	if (leaf == TV_CPUID_LEAF_SIGNATURE) {
		r[0] = TV_CPUID_LEAF_INTERFACE;
		memcpy(&r[1], TV_CPUID_SIGNATURE, 12);
	} else if (leaf == TV_CPUID_LEAF_INTERFACE) {
		r[0] = TV_CPUID_INTERFACE;
	}
}

static int cmd_dump(const char *path)
{
	FILE *f = fopen(path, "w");
	int cpu;

	if (!f) {
		perror(path);
		return 2;
	}
	for (cpu = 0; cpu < ncpus(); cpu++) {
		if (!online(cpu) || pin(cpu))
			continue;
		dump_cpu(f, cpu);
	}
	fclose(f);
	return 0;
}

static int cmd_compare(const char *path, int virtualized)
{
	char tmp[] = "/tmp/tvcpuid.XXXXXX";
	FILE *a, *b;
	int fd, bad = 0, lines = 0;
	char la[128], lb[128];

	fd = mkstemp(tmp);
	if (fd < 0 || cmd_dump(tmp))
		return 2;
	close(fd);
	a = fopen(path, "r");
	b = fopen(tmp, "r");
	if (!a || !b)
		return 2;
	while (fgets(la, sizeof(la), a)) {
		unsigned int c1, l1, s1, r1[4], c2, l2, s2, r2[4];

		if (!fgets(lb, sizeof(lb), b)) {
			printf("fewer leaves now\n");
			bad++;
			break;
		}
		lines++;
		sscanf(la, "%u %x %x %x %x %x %x", &c1, &l1, &s1, &r1[0], &r1[1], &r1[2], &r1[3]);
		sscanf(lb, "%u %x %x %x %x %x %x", &c2, &l2, &s2, &r2[0], &r2[1], &r2[2], &r2[3]);
		if (c1 != c2 || l1 != l2 || s1 != s2) {
			printf("leaf lists differ: %s vs %s", la, lb);
			bad++;
			break;
		}
		if (virtualized && l1 >= 0x40000000 && l1 <= 0x400000ff)
			hv_leaf(l1, r1);
		if (virtualized && l1 == 1) {
			/* Documented: VMX hidden, hypervisor present. */
			r1[2] = (r1[2] & ~(1u << 5)) | (1u << 31);
		}
		if (memcmp(r1, r2, sizeof(r1))) {
			printf("cpu %u leaf %08x.%02x differs: before %08x %08x %08x %08x now %08x %08x %08x %08x\n",
			       c1, l1, s1, r1[0], r1[1], r1[2], r1[3],
			       r2[0], r2[1], r2[2], r2[3]);
			bad++;
		}
	}
	fclose(a);
	fclose(b);
	unlink(tmp);
	printf("%d leaves compared, %d differ beyond the documented ones\n", lines, bad);
	return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "sig"))
		return cmd_sig(!strcmp(argv[2], "present"));
	if (argc == 3 && !strcmp(argv[1], "dump"))
		return cmd_dump(argv[2]);
	if (argc == 4 && !strcmp(argv[1], "compare"))
		return cmd_compare(argv[2], !strcmp(argv[3], "virtualized"));
	fprintf(stderr, "usage: tvcpuid sig present|absent | dump FILE | compare FILE virtualized|native\n");
	return 2;
}
