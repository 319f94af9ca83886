/* SPDX-License-Identifier: MIT */
#ifndef TVCTL_H
#define TVCTL_H
#include <stdbool.h>
#include <stdio.h>
#include "thinvisor/uapi.h"

/*
 * Exit status of every command (documented in docs/tvctl.8 and the
 * README; tests/e2e/guest/tests/04-tvctl.sh checks them).
 */
enum tvctl_exit {
	/* done; check: thinvisor can run here */
	TVCTL_OK = 0,
	/* the operation failed, or an online CPU is not virtualized (status) */
	TVCTL_FAILED = 1,
	/* bad command line */
	TVCTL_USAGE = 2,
	/* check: this CPU, firmware or kernel cannot run thinvisor */
	TVCTL_CANNOT_RUN = 3,
	/* check: it cannot load until something changes (kvm_intel, ...) */
	TVCTL_NOT_NOW = 4,
	/* check: could not tell (not root, no msr driver) */
	TVCTL_UNKNOWN = 5,
};

/* The kernel's spellings, for the same style in user space. */
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define __printf(a, b) __attribute__((format(printf, a, b))) /* as the kernel */

/* Options every command takes. */
struct tvctl_opts {
	bool json;
};

/* Every CPU's status (malloc'd, *n entries) and the summary in *st. */
struct tv_uapi_cpu *get_status(int fd, struct tv_uapi_status *st, unsigned int *n);
int cmd_stats(int fd, const struct tvctl_opts *o, bool reset);
int cmd_log(int fd, const struct tvctl_opts *o, bool follow);
int cmd_check(const struct tvctl_opts *o);
int cmd_extensions(int fd);

/* @s as a JSON string, quotes included. */
void json_string(FILE *f, const char *s);
#endif
