// SPDX-License-Identifier: MIT
/*
 * tvstress ROUNDS: a bounded mixed workload on every online CPU at once:
 * fork+exec+exit, system calls, page faults on fresh memory, mprotect and
 * munmap (TLB shootdowns between CPUs), and CPUID loops (exits).  Exit 0
 * when every worker finished its rounds.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void cpuid_loop(int n)
{
	unsigned int a, b, c, d;

	while (n--)
		asm volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d)
			     : "a"(n & 1 ? 0 : 0x40000000), "c"(0));
}

static int worker(int cpu, int rounds, const char *self)
{
	cpu_set_t set;
	int r, i;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
	for (r = 0; r < rounds; r++) {
		size_t len = 64 * 4096;
		char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		pid_t pid;
		int st;

		if (p == MAP_FAILED)
			return 1;
		for (i = 0; i < 64; i++)
			p[i * 4096] = (char)i;		/* page faults */
		mprotect(p, len, PROT_READ);		/* TLB flush */
		munmap(p, len);
		for (i = 0; i < 200; i++)
			syscall(SYS_getpid);
		cpuid_loop(200);
		pid = fork();
		if (pid == 0) {
			execl(self, self, "child", (char *)NULL);
			_exit(127);
		}
		if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) ||
		    WEXITSTATUS(st) != 0)
			return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	int ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN), cpu, bad = 0, st;
	int rounds;

	if (argc == 2 && !strcmp(argv[1], "child")) {
		cpuid_loop(10);
		return 0;
	}
	if (argc != 2 || (rounds = atoi(argv[1])) <= 0) {
		fprintf(stderr, "usage: tvstress ROUNDS\n");
		return 2;
	}
	for (cpu = 0; cpu < ncpu; cpu++) {
		/* Two workers per CPU so that they also switch contexts. */
		for (int k = 0; k < 2; k++)
			if (fork() == 0)
				_exit(worker(cpu, rounds, "/proc/self/exe"));
	}
	while (wait(&st) > 0)
		bad += !WIFEXITED(st) || WEXITSTATUS(st) != 0;
	printf("tvstress: %d CPUs x 2 workers x %d rounds, %d failed\n", ncpu,
	       rounds, bad);
	return bad ? 1 : 0;
}
