// SPDX-License-Identifier: MIT
/*
 * tvasuser UID CMD [ARGS]: run CMD as user and group UID, no supplementary
 * groups (busybox's setpriv cannot change ids).  For tests of what an
 * unprivileged user gets.
 */
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	uid_t id;

	if (argc < 3) {
		fprintf(stderr, "usage: tvasuser UID CMD [ARGS]\n");
		return 2;
	}
	id = (uid_t)strtoul(argv[1], NULL, 10);
	if (setgroups(0, NULL) || setgid(id) || setuid(id)) {
		perror("tvasuser");
		return 126;
	}
	execvp(argv[2], argv + 2);
	perror("tvasuser: exec");
	return 127;
}
