// SPDX-License-Identifier: MIT
/*
 * tvbench: guest-side workloads for the thinvisor benchmark, timed with the
 * TSC (under Bochs one tick per emulated instruction, so figures repeat).
 * Prints "BENCH <name> <ticks> <iterations>" for each of ROUNDS rounds of
 * every workload (timer interrupts and allocator state make single runs
 * noisy); bench.sh runs it natively twice (the noise floor) and under
 * thinvisor in the same boot, and prints medians, spreads and ratios.
 *
 *   tvbench [SCALE]     SCALE multiplies the iteration counts (default 1)
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static inline unsigned long long rdtsc(void)
{
	unsigned int lo, hi;

	asm volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi) : : "memory");
	return ((unsigned long long)hi << 32) | lo;
}

#define ROUNDS 5

/* One line per round: bench.sh takes the median and the spread. */
static void report(const char *name, unsigned long long t, long n)
{
	printf("BENCH %s %llu %ld\n", name, t, n);
}

static void bench_cpuid(long n)
{
	unsigned long long t = rdtsc();
	unsigned int a, b, c, d;
	long i;

	for (i = 0; i < n; i++)
		asm volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d)
			     : "a"(0), "c"(0));
	report("cpuid-loop", rdtsc() - t, n);
}

static void bench_getpid(long n)
{
	unsigned long long t = rdtsc();
	long i;

	for (i = 0; i < n; i++)
		syscall(SYS_getpid);
	report("getpid-loop", rdtsc() - t, n);
}

static void bench_fork(long n)
{
	unsigned long long t = rdtsc();
	long i;

	for (i = 0; i < n; i++) {
		pid_t pid = fork();

		if (pid == 0)
			_exit(0);
		waitpid(pid, NULL, 0);
	}
	report("fork-exit", rdtsc() - t, n);
}

static void bench_faults(long pages)
{
	unsigned long long t = rdtsc();
	char *p = mmap(NULL, pages * 4096, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	long i;

	if (p == MAP_FAILED)
		exit(1);
	for (i = 0; i < pages; i++)
		p[i * 4096] = 1;
	munmap(p, pages * 4096);
	report("page-faults", rdtsc() - t, pages);
}

static void bench_pingpong(long n)
{
	int ab[2], ba[2];
	unsigned long long t;
	char c = 0;
	pid_t pid;
	cpu_set_t set;
	long i;

	if (pipe(ab) || pipe(ba))
		exit(1);
	/* Same CPU for both: every round trip is two context switches. */
	CPU_ZERO(&set);
	CPU_SET(0, &set);
	sched_setaffinity(0, sizeof(set), &set);
	pid = fork();
	if (pid == 0) {
		for (i = 0; i < n; i++) {
			if (read(ab[0], &c, 1) != 1 || write(ba[1], &c, 1) != 1)
				_exit(1);
		}
		_exit(0);
	}
	t = rdtsc();
	for (i = 0; i < n; i++) {
		if (write(ab[1], &c, 1) != 1 || read(ba[0], &c, 1) != 1)
			exit(1);
	}
	report("context-switch", rdtsc() - t, n);
	waitpid(pid, NULL, 0);
}

int main(int argc, char **argv)
{
	long scale = argc > 1 ? atol(argv[1]) : 1;

	if (scale < 1) {
		fprintf(stderr, "usage: tvbench [SCALE]\n");
		return 2;
	}
	for (int r = 0; r < ROUNDS; r++) {
		bench_getpid(2000 * scale);
		bench_fork(20 * scale);
		bench_faults(256 * scale);
		bench_pingpong(200 * scale);
		bench_cpuid(2000 * scale);
	}
	return 0;
}
