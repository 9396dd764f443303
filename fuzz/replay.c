/*
 * replay.c: main() for a fuzz target built without libFuzzer. It runs the
 * target once on every file named on the command line (directories are
 * walked one level deep) or, with no arguments, on every file of
 * $ZT_SRCDIR/fuzz/corpus/<target>/, so that the normal test suite replays
 * the seed corpus and every input that once crashed.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

/* Larger than any bound of the library, so that over-long inputs replay. */
#define REPLAY_MAX (8 * 1024 * 1024)

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf, *exact;
	size_t n;

	if (f == NULL) {
		fprintf(stderr, "replay: cannot open %s: %s\n", path,
			strerror(errno));
		return -1;
	}
	buf = malloc(REPLAY_MAX + 1);
	if (buf == NULL) {
		fclose(f);
		return -1;
	}
	n = fread(buf, 1, REPLAY_MAX + 1, f);
	fclose(f);
	if (n > REPLAY_MAX) {
		fprintf(stderr, "replay: %s is larger than %d bytes\n", path,
			REPLAY_MAX);
		free(buf);
		return -1;
	}
	/* An exact-size copy lets ASan see a read one past the end. */
	exact = malloc(n == 0 ? 1 : n);
	if (exact == NULL) {
		free(buf);
		return -1;
	}
	memcpy(exact, buf, n);
	free(buf);
	LLVMFuzzerTestOneInput(exact, n);
	free(exact);
	return 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Returns the number of files run, or -1 on an error. */
static int run_path(const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *e;
	char **names = NULL;
	size_t count = 0, i;
	int ran = 0;

	if (stat(path, &st) != 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return run_file(path) == 0 ? 1 : -1;

	d = opendir(path);
	if (d == NULL) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		char **grown;

		if (e->d_name[0] == '.')
			continue;
		grown = realloc(names, (count + 1) * sizeof(*names));
		if (grown == NULL)
			abort();
		names = grown;
		if (asprintf(&names[count], "%s/%s", path, e->d_name) < 0)
			abort();
		count++;
	}
	closedir(d);

	/* A fixed order makes a failure point at the same file every time. */
	qsort(names, count, sizeof(*names), cmp_names);
	for (i = 0; i < count; i++) {
		if (ran >= 0 && run_file(names[i]) == 0)
			ran++;
		else
			ran = -1;
		free(names[i]);
	}
	free(names);
	return ran;
}

int main(int argc, char **argv)
{
	const char *srcdir;
	char *corpus = NULL;
	int i, n, total = 0;

	if (argc > 1) {
		for (i = 1; i < argc; i++) {
			if ((n = run_path(argv[i])) < 0)
				return 1;
			total += n;
		}
		fprintf(stderr, "replay %s: %d inputs\n", zt_fuzz_target,
			total);
		return 0;
	}

	srcdir = getenv("ZT_SRCDIR");
	if (srcdir == NULL || *srcdir == '\0')
		srcdir = ".";
	if (asprintf(&corpus, "%s/fuzz/corpus/%s", srcdir, zt_fuzz_target) < 0)
		return 1;
	n = run_path(corpus);
	free(corpus);
	if (n <= 0) {
		/* An empty corpus would make this test pass without testing. */
		fprintf(stderr, "replay %s: no inputs ran\n", zt_fuzz_target);
		return 1;
	}
	fprintf(stderr, "replay %s: %d inputs\n", zt_fuzz_target, n);
	return 0;
}
