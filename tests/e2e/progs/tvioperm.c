// SPDX-License-Identifier: MIT
/*
 * tvioperm: on every online CPU, a process that was granted a port with
 * ioperm() reads it.  That needs the TSS limit to cover the I/O bitmap;
 * a VM exit sets it to 0x67, so a hypervisor that gives a CPU back must
 * reload it (Linux's refresh_tss_limit()), or the read faults (#GP,
 * SIGSEGV).  Prints "cpu N: ok" or "cpu N: SIGSEGV" and exits 1 when any
 * CPU failed.  A kernel without ioperm() (CONFIG_X86_IOPL_IOPERM off, as
 * the minimal e2e kernel) has nothing to check: it says so, exits 0.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <sys/io.h>
#include <sys/wait.h>
#include <errno.h>
#include <unistd.h>

int main(void)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN), cpu;
	int bad = 0, status;

	if (ioperm(0x80, 1, 1) && errno == ENOSYS) {
		printf("skipped: this kernel has no ioperm()\n");
		return 0;
	}
	for (cpu = 0; cpu < ncpu; cpu++) {
		pid_t pid = fork();

		if (pid == 0) {
			cpu_set_t set;

			CPU_ZERO(&set);
			CPU_SET(cpu, &set);
			if (sched_setaffinity(0, sizeof(set), &set) ||
			    ioperm(0x80, 1, 1))
				_exit(2);
			(void)inb(0x80);
			_exit(0);
		}
		if (pid < 0 || waitpid(pid, &status, 0) < 0)
			return 1;
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
			printf("cpu %ld: ok\n", cpu);
		} else {
			printf("cpu %ld: %s\n", cpu, WIFSIGNALED(status) ?
			       "SIGSEGV" : "setup failed");
			bad = 1;
		}
	}
	return bad;
}
