/* SPDX-License-Identifier: MIT */
#ifndef TVCTL_H
#define TVCTL_H
#include <stdbool.h>
int cmd_stats(int fd, bool json, bool reset);
int cmd_log(int fd, bool follow);
#endif
