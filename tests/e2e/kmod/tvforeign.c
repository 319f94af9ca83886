// SPDX-License-Identifier: GPL-2.0 OR MIT
/*
 * tvforeign: a kernel module that is not thinvisor tries to pull the VMM
 * out from under the kernel with the TERMINATE hypercall, on every online
 * CPU: once without the key, once with a guessed key, both from its own
 * code.  thinvisor must refuse each with #UD (an unknown hypercall) and
 * stay below every CPU.  Prints "tvforeign: <name> PASS|FAIL <detail>"
 * lines and loads either way; the test script reads them.
 */
#include <linux/module.h>
#include <linux/init.h>
#include <linux/smp.h>
#include <asm/asm.h>
#include <asm/processor.h>

#define TV_HC_TERMINATE 0x7476000000000002ULL

/* 0 when the VMCALL returned, -EFAULT when it raised #UD. */
static int try_terminate(u64 key)
{
	u64 nr = TV_HC_TERMINATE;

	asm goto("1: vmcall\n\t"
		 _ASM_EXTABLE(1b, %l[fault])
		 : : "a"(nr), "d"(key) : "memory", "cc" : fault);
	return 0;
fault:
	return -EFAULT;
}

static bool signature_present(void)
{
	unsigned int eax, ebx, ecx, edx;

	cpuid(0x40000000, &eax, &ebx, &ecx, &edx);
	return ebx == 0x6e696874 && ecx == 0x6f736976 && edx == 0x76682d72;
}

struct attempt {
	int refused;		/* CPUs where both VMCALLs raised #UD */
	int still_under;	/* CPUs that still show the signature */
};

static void attack_this_cpu(void *info)
{
	struct attempt *a = info;
	int r1 = try_terminate(0);
	int r2 = try_terminate(0x5eed5eed5eed5eedULL);

	if (r1 == -EFAULT && r2 == -EFAULT)
		__atomic_fetch_add(&a->refused, 1, __ATOMIC_RELAXED);
	if (signature_present())
		__atomic_fetch_add(&a->still_under, 1, __ATOMIC_RELAXED);
}

static int __init tvforeign_init(void)
{
	struct attempt a = { 0, 0 };
	int n = num_online_cpus();

	on_each_cpu(attack_this_cpu, &a, 1);
	pr_info("tvforeign: terminate-refused %s %d of %d CPUs raised #UD\n",
		a.refused == n ? "PASS" : "FAIL", a.refused, n);
	pr_info("tvforeign: still-virtualized %s %d of %d CPUs show the signature\n",
		a.still_under == n ? "PASS" : "FAIL", a.still_under, n);
	return 0;
}

static void __exit tvforeign_exit(void)
{
}

module_init(tvforeign_init);
module_exit(tvforeign_exit);
MODULE_LICENSE("Dual MIT/GPL");
MODULE_DESCRIPTION("thinvisor e2e: a foreign TERMINATE hypercall must be refused");
