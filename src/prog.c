/*
 * prog.c: start-up and exit chores shared by the two programs; see prog.h.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "prog.h"

void zt_prog_harden(void)
{
	struct rlimit no_core = {0, 0};

	(void)setrlimit(RLIMIT_CORE, &no_core);
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

int zt_prog_std_fds_open(void)
{
	static const int flags[3] = {O_RDONLY, O_RDONLY, O_WRONLY};
	int fd, i;

	for (i = 0; i < 3; i++) {
		if (fcntl(i, F_GETFD) != -1 || errno != EBADF)
			continue;
		/* The lower ones are open, so this gets number i. */
		fd = open("/dev/null", flags[i] | O_NOCTTY);
		if (fd != i) {
			if (fd >= 0)
				close(fd);
			return -1;
		}
	}
	return 0;
}

int zt_prog_close_stdout(void)
{
	errno = 0;
	if (fflush(stdout) == 0 && !ferror(stdout) && fclose(stdout) == 0)
		return 0;
	return errno != 0 ? errno : EIO;
}
