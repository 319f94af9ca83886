// SPDX-License-Identifier: MIT
/*
 * tvkvm: the smallest complete KVM user.  Opens /dev/kvm, creates a VM with
 * one page of guest memory holding HLT, one vCPU in real mode at that page,
 * runs it and expects KVM_EXIT_HLT.  This is the path that makes KVM turn
 * VMX on (KVM_CREATE_VM sets CR4.VMXE and runs VMXON on every CPU in 6.1),
 * so it is what collides with a hypervisor already under the kernel.
 *
 * One line of output, "tvkvm: ...", and an exit code per stage:
 *   0  the vCPU ran to HLT
 *   2  no /dev/kvm (or it cannot be opened)
 *   3  KVM_GET_API_VERSION failed or is not 12
 *   4  KVM_CREATE_VM failed
 *   5  guest memory: mmap or KVM_SET_USER_MEMORY_REGION failed
 *   6  vCPU: KVM_CREATE_VCPU, mmap of kvm_run or register setup failed
 *   7  KVM_RUN failed
 *   8  KVM_RUN exited for another reason than HLT
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define GUEST_PAGE 0x1000UL	/* guest-physical address of the code page */

static int fail(int code, const char *what)
{
	printf("tvkvm: %s failed: %s (errno %d)\n", what, strerror(errno), errno);
	return code;
}

int main(void)
{
	struct kvm_userspace_memory_region region;
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct kvm_run *run;
	unsigned char *mem;
	int kvm, vm, vcpu, ret;
	long run_size;

	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		return fail(2, "open /dev/kvm");
	ret = ioctl(kvm, KVM_GET_API_VERSION, 0);
	if (ret < 0)
		return fail(3, "KVM_GET_API_VERSION");
	if (ret != KVM_API_VERSION) {
		printf("tvkvm: KVM_GET_API_VERSION is %d, want %d\n", ret, KVM_API_VERSION);
		return 3;
	}

	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		return fail(4, "KVM_CREATE_VM");

	mem = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return fail(5, "mmap of guest memory");
	memset(mem, 0xf4, 4096);	/* HLT everywhere: any start lands on one */
	region = (struct kvm_userspace_memory_region){
		.slot = 0,
		.guest_phys_addr = GUEST_PAGE,
		.memory_size = 4096,
		.userspace_addr = (unsigned long)mem,
	};
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return fail(5, "KVM_SET_USER_MEMORY_REGION");

	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0)
		return fail(6, "KVM_CREATE_VCPU");
	run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (run_size < (long)sizeof(*run))
		return fail(6, "KVM_GET_VCPU_MMAP_SIZE");
	run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED)
		return fail(6, "mmap of kvm_run");

	/* Real mode, flat at 0: CS base 0, IP at the code page. */
	if (ioctl(vcpu, KVM_GET_SREGS, &sregs) < 0)
		return fail(6, "KVM_GET_SREGS");
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) < 0)
		return fail(6, "KVM_SET_SREGS");
	memset(&regs, 0, sizeof(regs));
	regs.rip = GUEST_PAGE;
	regs.rflags = 0x2;		/* bit 1 is always set */
	if (ioctl(vcpu, KVM_SET_REGS, &regs) < 0)
		return fail(6, "KVM_SET_REGS");

	if (ioctl(vcpu, KVM_RUN, 0) < 0)
		return fail(7, "KVM_RUN");
	if (run->exit_reason != KVM_EXIT_HLT) {
		printf("tvkvm: KVM_RUN exited with reason %u, want KVM_EXIT_HLT (%u)\n",
		       run->exit_reason, KVM_EXIT_HLT);
		return 8;
	}
	if (ioctl(vcpu, KVM_GET_REGS, &regs) < 0)
		regs.rip = 0;
	printf("tvkvm: KVM_RUN exited with KVM_EXIT_HLT at rip 0x%llx\n",
	       (unsigned long long)regs.rip);
	return 0;
}
