// SPDX-License-Identifier: MIT
/*
 * tvstep: single-stepping over an instruction that thinvisor emulates
 * (CPUID) must trap right after it, as on bare metal.  Sets RFLAGS.TF and
 * records where each SIGTRAP lands; the trap after CPUID must be at the
 * label just past it.  Exit 0 when it is.
 */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <ucontext.h>

static volatile unsigned long traps[8];
static volatile int ntraps;

static void on_trap(int sig, siginfo_t *si, void *ctx)
{
	ucontext_t *uc = ctx;

	if (ntraps < 8)
		traps[ntraps] = uc->uc_mcontext.gregs[REG_RIP];
	ntraps++;
	/* One step is enough: clear TF. */
	uc->uc_mcontext.gregs[REG_EFL] &= ~0x100UL;
}

extern char tv_after_cpuid[];

int main(void)
{
	struct sigaction sa;
	int i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_trap;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGTRAP, &sa, NULL);
	/* popf sets TF; the instruction after it (cpuid) is stepped. */
	asm volatile("pushfq\n\t"
		     "orq $0x100, (%%rsp)\n\t"
		     "popfq\n\t"
		     "cpuid\n\t"
		     ".globl tv_after_cpuid\n"
		     "tv_after_cpuid:\n\t"
		     "nop\n\t"
		     : : "a"(0), "c"(0) : "rbx", "rdx", "memory", "cc");
	for (i = 0; i < ntraps && i < 8; i++)
		printf("trap %d at %#lx\n", i, traps[i]);
	printf("expected at %p\n", (void *)tv_after_cpuid);
	return ntraps >= 1 && traps[0] == (unsigned long)tv_after_cpuid ? 0 : 1;
}
