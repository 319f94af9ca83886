// SPDX-License-Identifier: MIT
/*
 * tvmsr CPU: through /dev/cpu/CPU/msr, accesses the hardware (or thinvisor)
 * must refuse fail with an error and leave the kernel alive; a valid MSR
 * still reads.  Prints one line per access; exit 0 when all behave.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int expect(int fd, unsigned int msr, int write, int want_ok)
{
	uint64_t val = 0;
	ssize_t n;

	errno = 0;
	n = write ? pwrite(fd, &val, 8, msr) : pread(fd, &val, 8, msr);
	printf("%s 0x%08x: %s%s\n", write ? "write" : "read", msr,
	       n == 8 ? "ok" : "error ", n == 8 ? "" : strerror(errno));
	return (n == 8) != want_ok;
}

int main(int argc, char **argv)
{
	char path[64];
	int fd, bad = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: tvmsr CPU\n");
		return 2;
	}
	snprintf(path, sizeof(path), "/dev/cpu/%s/msr", argv[1]);
	fd = open(path, O_RDWR);
	if (fd < 0) {
		perror(path);
		return 2;
	}
	bad += expect(fd, 0x10, 0, 1);		/* IA32_TIME_STAMP_COUNTER */
	bad += expect(fd, 0x12345678, 0, 0);	/* no such MSR: always exits */
	bad += expect(fd, 0x12345678, 1, 0);
	bad += expect(fd, 0xc0002000, 0, 0);	/* above the high range */
	bad += expect(fd, 0x480, 0, 0);		/* IA32_VMX_BASIC: VMX hidden */
	bad += expect(fd, 0x48c, 0, 0);		/* IA32_VMX_EPT_VPID_CAP */
	bad += expect(fd, 0x480, 1, 0);
	close(fd);
	return bad ? 1 : 0;
}
