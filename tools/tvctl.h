/* SPDX-License-Identifier: MIT */
#ifndef TVCTL_H
#define TVCTL_H
#include <stdbool.h>
#include "thinvisor/uapi.h"
/* Every CPU's status (malloc'd, *n entries) and the summary in *st. */
struct tv_uapi_cpu *get_status(int fd, struct tv_uapi_status *st, unsigned int *n);
int cmd_stats(int fd, bool json, bool reset);
int cmd_log(int fd, bool follow);
#endif
