// SPDX-License-Identifier: MIT
/*
 * tvextcall: a hypercall an extension registered, made from user mode.
 * Usage: tvextcall NR (hex).  Prints "rax=0x... rdx=..." and exits 0 when
 * the VMM answered; a number nobody owns (or owns for CPL 0 only) raises
 * #UD, which the kernel delivers as SIGILL: prints "sigill", exits 2.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void on_sigill(int sig)
{
	(void)sig;
	printf("sigill\n");
	fflush(stdout);
	_exit(2);
}

int main(int argc, char **argv)
{
	unsigned long long rax, rdx = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: tvextcall NR\n");
		return 1;
	}
	rax = strtoull(argv[1], NULL, 16);
	signal(SIGILL, on_sigill);
	asm volatile("vmcall" : "+a"(rax), "+d"(rdx) : : "memory");
	printf("rax=0x%llx rdx=%llu\n", rax, rdx);
	return 0;
}
