/*
 * helper_env.c: what the helper's protocol faces need to run inside a fuzz
 * target. The faces read stdin and the environment, so each input becomes
 * a memfd on descriptor 0; stdout goes to /dev/null. The config names two
 * profiles for hosts a mutation can reach, both with a key file that does
 * not exist, so a matched host ends at the key load: never a dlopen, never
 * the network. The helper's own report.c supplies the failure and debug
 * functions; only main.c, which holds main(), is left out.
 */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"
#include "helper.h"
#include "helper_env.h"

static char config_path[4200];
static char cache_path[4200];
static int input_fd = -1;

void zt_fuzz_helper_options(zh_options *o)
{
	const char *dir = zt_fuzz_tmpdir();
	char text[8192];
	int null_fd;

	if (input_fd < 0) {
		snprintf(text, sizeof(text),
			 "[profile a]\n"
			 "issuer = https://127.0.0.1:1\n"
			 "key_file = %s/no-such-key.json\n"
			 "git_hosts = git.example\n"
			 "docker_registries = registry.example\n"
			 "kube_clusters = https://kube.example:6443\n"
			 "[profile b]\n"
			 "issuer = https://127.0.0.1:1\n"
			 "key_file = %s/no-such-key.json\n",
			 dir, dir);
		zt_fuzz_write(dir, "client.conf", (const uint8_t *)text,
			      strlen(text), 0600);
		snprintf(config_path, sizeof(config_path), "%s/client.conf",
			 dir);
		snprintf(cache_path, sizeof(cache_path), "%s/cache", dir);

		input_fd = memfd_create("zt-fuzz-stdin", MFD_CLOEXEC);
		null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
		if (input_fd < 0 || null_fd < 0 || dup2(null_fd, 1) < 0)
			abort();
		close(null_fd);
	}
	memset(o, 0, sizeof(*o));
	o->config = config_path;
	o->cache_dir = cache_path;
	o->timeout_s = -1;
	o->cache_margin = -1;
}

void zt_fuzz_helper_stdin(const uint8_t *data, size_t size)
{
	if (ftruncate(input_fd, 0) != 0 ||
	    (size > 0 && pwrite(input_fd, data, size, 0) != (ssize_t)size) ||
	    lseek(input_fd, 0, SEEK_SET) != 0 || dup2(input_fd, 0) < 0)
		abort();
}

int zt_fuzz_helper_protocol(zt_fuzz_face face, const uint8_t *data, size_t size)
{
	static char ops[3][8] = {"get", "erase", "store"};
	zh_options o;
	char *argv[2];

	if (size < 1)
		return 0;
	zt_fuzz_helper_options(&o);
	zt_fuzz_helper_stdin(data + 1, size - 1);
	argv[0] = ops[data[0] % 3];
	argv[1] = NULL;
	(void)face(&o, 1, argv);
	return 0;
}
