// SPDX-License-Identifier: MIT
/*
 * tvvmcall: a VMCALL from user mode must raise #UD (SIGILL), even with a
 * valid thinvisor hypercall number: hypercalls are for CPL 0 only.
 * Exit 0 when the child died of SIGILL.
 */
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		unsigned long long rax = 0x7476000000000001ULL; /* TV_HC_PING */

		asm volatile("vmcall" : "+a"(rax) : : "rdx", "r8", "memory");
		printf("vmcall returned 0x%llx from user mode\n", rax);
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid) {
		perror("fork/wait");
		return 2;
	}
	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGILL) {
		printf("user-mode vmcall: SIGILL\n");
		return 0;
	}
	printf("user-mode vmcall: status 0x%x, not SIGILL\n", status);
	return 1;
}
