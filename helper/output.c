/*
 * output.c: raw reads and writes on descriptors, and the name messages
 * start with. The helper writes answers that hold a token with write(2)
 * from buffers it wipes, never through stdio, whose buffers it cannot wipe.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "helper.h"
#include "internal.h"

/* Here rather than in main.c, which the fuzz targets replace: every face
 * prints through it. main() sets it from the name the program runs under. */
const char *zh_prog = ZH_PROG;

int zh_write_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

int zh_read_all(int fd, size_t max, char **out, size_t *len)
{
	char *buf;
	size_t have = 0;
	ssize_t n;
	int rc = -1;

	*out = NULL;
	*len = 0;
	/* One allocation of the bound: the input may be a secret (docker's
	 * store), and growing by realloc would leave copies behind. */
	buf = zt_malloc(max + 1);
	if (buf == NULL)
		return -1;
	for (;;) {
		if (have == max) {
			/* One byte more tells "exactly max" from "over". */
			char probe;

			n = read(fd, &probe, 1);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				goto out;
			if (n > 0) {
				rc = -2;
				goto out;
			}
			break;
		}
		n = read(fd, buf + have, max - have);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto out;
		if (n == 0)
			break;
		have += (size_t)n;
	}
	buf[have] = '\0';
	*out = buf;
	*len = have;
	buf = NULL;
	rc = 0;
out:
	if (buf != NULL) {
		zt_wipe(buf, have);
		free(buf);
	}
	return rc;
}

/* Room for an answer: a token at its bound, escaped at worst, and the few
 * other fields around it. */
#define JSON_OUT_MAX (ZT_TOKEN_MAX * 6 + 8192)

struct json_out {
	char *buf;
	size_t len;
};

/* jansson hands the text over in pieces; they go into one buffer of fixed
 * size, so no copy of the token is left behind by a growing buffer. */
static int json_piece(const char *piece, size_t size, void *data)
{
	struct json_out *out = data;

	if (size > JSON_OUT_MAX - 1 - out->len)
		return -1;
	memcpy(out->buf + out->len, piece, size);
	out->len += size;
	return 0;
}

void zh_json_wipe_string(json_t *s)
{
	const char *value = json_string_value(s);
	char *writable;

	/* jansson offers no mutable access to its copy of a string; this one
	 * holds a token and is wiped before jansson frees it. */
	if (value == NULL)
		return;
	memcpy(&writable, &value, sizeof(writable));
	zt_wipe(writable, json_string_length(s));
}

int zh_json_print(int fd, const json_t *root)
{
	struct json_out out = {NULL, 0};
	int rc = -1;

	out.buf = zt_malloc(JSON_OUT_MAX);
	if (out.buf == NULL)
		return -1;
	if (json_dump_callback(root, json_piece, &out,
			       JSON_COMPACT | JSON_PRESERVE_ORDER) != 0)
		goto out;
	out.buf[out.len++] = '\n';
	if (zh_write_all(fd, out.buf, out.len) < 0)
		goto out;
	rc = 0;
out:
	zt_wipe(out.buf, JSON_OUT_MAX);
	free(out.buf);
	return rc;
}
