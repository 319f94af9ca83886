// SPDX-License-Identifier: MIT
/*
 * tvint3: a user-mode INT3 must reach its own SIGTRAP handler with RIP
 * just past it, as on bare metal, also while an extension intercepts #BP
 * and lets it through (re-injection as a software exception: the return
 * address is the instruction's end).  Exit 0 when the trap landed there.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <ucontext.h>

static volatile unsigned long trap_rip;
static volatile int ntraps;

static void on_trap(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;

	trap_rip = uc->uc_mcontext.gregs[REG_RIP];
	ntraps++;
}

extern char tv_after_int3[];

int main(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_trap;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGTRAP, &sa, NULL);
	asm volatile("int3\n\t"
		     ".globl tv_after_int3\n"
		     "tv_after_int3:\n\t"
		     "nop" : : : "memory");
	if (ntraps == 1 && trap_rip == (unsigned long)tv_after_int3) {
		printf("sigtrap after int3\n");
		return 0;
	}
	printf("%d traps, at %#lx, want %p\n", ntraps, trap_rip,
	       (void *)tv_after_int3);
	return 1;
}
