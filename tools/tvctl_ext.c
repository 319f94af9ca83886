// SPDX-License-Identifier: MIT
/*
 * tvctl extensions: the registered extensions, in registration order, and
 * how many events of each type thinvisor offered to each, one line each:
 *
 *   tvguard cpuid=0 msr_read=0 msr_write=3 cr_write=2 ... mtf=12
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include "thinvisor/uapi.h"
#include "tvctl.h"

/* Indexed like enum tv_ext_event_type (thinvisor/extension.h). */
static const char *const event_names[TV_UAPI_EXT_EVENTS] = {
	"cpuid", "msr_read", "msr_write", "cr_write", "cr_read", "dr",
	"io", "descriptor", "xsetbv", "invlpg", "rdtsc", "exception",
	"vmcall", "page_access", "mtf",
};

int cmd_extensions(int fd)
{
	struct tv_uapi_extensions x;
	unsigned int i, t;

	memset(&x, 0, sizeof(x));
	if (ioctl(fd, TV_IOC_EXTENSIONS, &x)) {
		fprintf(stderr, "tvctl: extensions: %s\n", strerror(errno));
		return 1;
	}
	if (x.count == 0)
		printf("no extension registered\n");
	for (i = 0; i < x.count && i < TV_UAPI_EXT_MAX; i++) {
		x.ext[i].name[TV_UAPI_EXT_NAME - 1] = 0;
		printf("%s", x.ext[i].name);
		for (t = 0; t < x.nevents && t < TV_UAPI_EXT_EVENTS; t++)
			printf(" %s=%llu", event_names[t],
			       (unsigned long long)x.ext[i].counts[t]);
		printf("\n");
	}
	return 0;
}
