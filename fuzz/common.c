/*
 * common.c: helpers shared by the fuzz targets: C-string copies of the input
 * and a private scratch directory for parsers that read files.
 */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"

static char scratch[4096];

char *zt_fuzz_cstr(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s == NULL)
		return NULL;
	if (size > 0)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

static void remove_scratch(void)
{
	DIR *d;
	struct dirent *e;
	char path[sizeof(scratch) + 300];

	if (scratch[0] == '\0')
		return;
	d = opendir(scratch);
	if (d != NULL) {
		while ((e = readdir(d)) != NULL) {
			if (strcmp(e->d_name, ".") == 0 ||
			    strcmp(e->d_name, "..") == 0)
				continue;
			snprintf(path, sizeof(path), "%s/%s", scratch,
				 e->d_name);
			unlink(path);
		}
		closedir(d);
	}
	rmdir(scratch);
}

const char *zt_fuzz_tmpdir(void)
{
	const char *base;

	if (scratch[0] != '\0')
		return scratch;
	base = getenv("TMPDIR");
	if (base == NULL || *base == '\0')
		base = "/tmp";
	snprintf(scratch, sizeof(scratch), "%s/zt-fuzz-XXXXXX", base);
	if (mkdtemp(scratch) == NULL) {
		perror("zt-fuzz: mkdtemp");
		abort();
	}
	atexit(remove_scratch);
	return scratch;
}

void zt_fuzz_write(const char *dir, const char *name, const uint8_t *data,
		   size_t size, unsigned mode)
{
	char path[sizeof(scratch) + 300];
	size_t done = 0;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0) {
		perror("zt-fuzz: open");
		abort();
	}
	while (done < size) {
		ssize_t n = write(fd, data + done, size - done);

		if (n <= 0) {
			perror("zt-fuzz: write");
			abort();
		}
		done += (size_t)n;
	}
	close(fd);
}
