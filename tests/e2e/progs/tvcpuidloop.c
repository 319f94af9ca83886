// SPDX-License-Identifier: MIT
/*
 * tvcpuidloop SECONDS: one process pinned to each online CPU executing
 * CPUID back to back, so that under thinvisor every CPU spends most of its
 * time in VMX root (each CPUID is a VM exit).  Stops after SECONDS of guest
 * time or on SIGTERM/SIGINT, whichever comes first; each worker then prints
 * "tvcpuidloop: cpu N: M CPUIDs".  Exit 0 when every worker ran and stopped.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_CPUS 64

static volatile sig_atomic_t stop;
static pid_t workers[MAX_CPUS];
static volatile sig_atomic_t nworkers;

/* Workers stop; the parent passes the request on (kill is signal-safe). */
static void on_signal(int sig)
{
	int i;

	stop = 1;
	for (i = 0; i < nworkers; i++)
		kill(workers[i], sig);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int worker(int cpu, double seconds)
{
	unsigned long long count = 0;
	unsigned int a, b, c, d, i;
	double end = now() + seconds;
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set)) {
		printf("tvcpuidloop: cpu %d: cannot pin\n", cpu);
		return 1;
	}
	while (!stop && now() < end) {
		for (i = 0; i < 256; i++)
			asm volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d)
				     : "a"(i & 1), "c"(0));
		count += 256;
	}
	printf("tvcpuidloop: cpu %d: %llu CPUIDs\n", cpu, count);
	return 0;
}

int main(int argc, char **argv)
{
	int cpu, n = 0, bad = 0, st;
	pid_t pid;
	struct sigaction sa = { .sa_handler = on_signal };
	cpu_set_t online;
	double seconds;

	seconds = argc == 2 ? atof(argv[1]) : 0;
	if (seconds <= 0) {
		fprintf(stderr, "usage: tvcpuidloop SECONDS\n");
		return 2;
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (sched_getaffinity(0, sizeof(online), &online))
		return 2;
	for (cpu = 0; cpu < MAX_CPUS; cpu++) {
		if (!CPU_ISSET(cpu, &online))
			continue;
		pid = fork();
		if (pid == 0) {
			nworkers = 0;
			_exit(worker(cpu, seconds));
		}
		if (pid < 0) {
			bad++;
			break;
		}
		workers[n++] = pid;
		nworkers = n;
		if (stop)	/* a stop request raced with the fork */
			kill(pid, SIGTERM);
	}
	for (cpu = 0; cpu < n; cpu++) {
		pid_t got;

		do	/* EINTR: the handler passed the signal on */
			got = waitpid(workers[cpu], &st, 0);
		while (got < 0 && errno == EINTR);
		if (got < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
			bad++;
	}
	return bad ? 1 : 0;
}
