/*
 * test_cache.c: the token cache (src/cache.c) on a real file system: round
 * trips, the margin rule, corrupt and unsafe entries, modes, and the lock
 * across processes.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "internal.h"

#define NOBODY 65534

static const zt_cache_id ID_A = {"https://id.example.com", "jwt-bearer",
				 "300000000000000001", "key-1",
				 "openid profile"};
static const zt_cache_id ID_B = {"https://id.example.com", "jwt-bearer",
				 "300000000000000001", "key-2",
				 "openid profile"};

static const time_t T0 = 1700000000;

struct fixture {
	char root[64];
	char dir[128];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	snprintf(f->root, sizeof(f->root), "/tmp/zt-cache-XXXXXX");
	assert_non_null(mkdtemp(f->root));
	snprintf(f->dir, sizeof(f->dir), "%s/cache/zitadel", f->root);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[160];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->root);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

static zitadel_token make_token(const char *value, time_t obtained,
				long lifetime)
{
	zitadel_token t;

	memset(&t, 0, sizeof(t));
	t.access_token = (char *)(uintptr_t)value;
	t.token_type = (char *)(uintptr_t) "Bearer";
	t.obtained_at = obtained;
	t.expires_at = obtained + lifetime;
	return t;
}

static void free_token(zitadel_token *t)
{
	if (t == NULL)
		return;
	zt_free_secret(t->access_token);
	free(t->token_type);
	free(t);
}

static void store_ok(const char *dir, const zt_cache_id *id, const char *value,
		     time_t obtained, long lifetime)
{
	zitadel_error err = ZITADEL_ERROR_INIT;
	zitadel_token t = make_token(value, obtained, lifetime);

	assert_int_equal(zt_cache_store(dir, id, &t, &err), ZITADEL_OK);
	assert_int_equal(err.status, ZITADEL_OK);
}

/* The token found, or NULL on a miss; the call itself must succeed. */
static zitadel_token *lookup_ok(const char *dir, const zt_cache_id *id,
				long margin, time_t now)
{
	zitadel_error err = ZITADEL_ERROR_INIT;
	zitadel_token *t = (zitadel_token *)1;

	assert_int_equal(zt_cache_lookup(dir, id, margin, now, &t, &err),
			 ZITADEL_OK);
	assert_int_equal(err.status, ZITADEL_OK);
	return t;
}

static void expect_hit(const char *dir, const zt_cache_id *id, long margin,
		       time_t now, const char *value)
{
	zitadel_token *t = lookup_ok(dir, id, margin, now);

	assert_non_null(t);
	assert_string_equal(t->access_token, value);
	assert_string_equal(t->token_type, "Bearer");
	assert_int_equal(t->from_cache, 1);
	free_token(t);
}

static void expect_miss(const char *dir, const zt_cache_id *id, long margin,
			time_t now)
{
	assert_null(lookup_ok(dir, id, margin, now));
}

static void expect_unsafe(zitadel_status st, const zitadel_error *err,
			  const char *phrase)
{
	assert_int_equal(st, ZITADEL_ERR_CACHE_UNSAFE);
	assert_int_equal(err->status, ZITADEL_ERR_CACHE_UNSAFE);
	if (strstr(err->message, phrase) == NULL)
		fail_msg("message \"%s\" lacks \"%s\"", err->message, phrase);
}

/* The one entry file in dir (the test stores exactly one). */
static void entry_path(const char *dir, const char *suffix, char *buf,
		       size_t size)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int found = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		size_t n = strlen(de->d_name), s = strlen(suffix);

		if (strncmp(de->d_name, "token-", 6) == 0 && n > s &&
		    strcmp(de->d_name + n - s, suffix) == 0) {
			snprintf(buf, size, "%s/%s", dir, de->d_name);
			found++;
		}
	}
	closedir(d);
	assert_int_equal(found, 1);
}

static void write_file(const char *path, const char *text, size_t len,
		       mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static char *read_all(const char *path)
{
	static char buf[70000];
	ssize_t n;
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	n = read(fd, buf, sizeof(buf) - 1);
	assert_true(n >= 0);
	buf[n] = '\0';
	close(fd);
	return buf;
}

/* ---- round trip and modes --------------------------------------------- */

static void test_round_trip(void **state)
{
	struct fixture *f = *state;
	char path[256];
	struct stat st;

	expect_miss(f->dir, &ID_A, -1, T0); /* no directory yet */
	assert_int_equal(stat(f->dir, &st), -1);

	store_ok(f->dir, &ID_A, "tok-A", T0, 3600);
	expect_hit(f->dir, &ID_A, -1, T0 + 10, "tok-A");
	expect_miss(f->dir, &ID_B, -1, T0 + 10);

	/* The entry holds the full identity and the times. */
	entry_path(f->dir, ".json", path, sizeof(path));
	assert_non_null(strstr(read_all(path), "\"key_id\":\"key-1\""));
	assert_non_null(strstr(read_all(path), "\"v\":1"));

	/* Another key: its own entry; both served. */
	store_ok(f->dir, &ID_B, "tok-B", T0, 3600);
	expect_hit(f->dir, &ID_A, -1, T0 + 10, "tok-A");
	expect_hit(f->dir, &ID_B, -1, T0 + 10, "tok-B");

	/* A newer token replaces the old one. */
	store_ok(f->dir, &ID_A, "tok-A2", T0 + 100, 3600);
	expect_hit(f->dir, &ID_A, -1, T0 + 110, "tok-A2");
}

static void test_modes_under_umask_000(void **state)
{
	struct fixture *f = *state;
	zitadel_error err = ZITADEL_ERROR_INIT;
	zt_cache_lock *lock = NULL;
	char path[256], parent[160];
	struct stat st;
	mode_t old = umask(0);

	store_ok(f->dir, &ID_A, "tok", T0, 3600);
	assert_int_equal(zt_cache_lock_take(f->dir, &ID_A, 1000, &lock, &err),
			 ZITADEL_OK);
	zt_cache_unlock(lock);
	umask(old);

	assert_int_equal(lstat(f->dir, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0700);
	snprintf(parent, sizeof(parent), "%s/cache", f->root);
	assert_int_equal(lstat(parent, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);

	entry_path(f->dir, ".json", path, sizeof(path));
	assert_int_equal(lstat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	entry_path(f->dir, ".lock", path, sizeof(path));
	assert_int_equal(lstat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
}

static void test_modes_under_umask_077(void **state)
{
	struct fixture *f = *state;
	char path[256];
	struct stat st;
	mode_t old = umask(0277); /* even the owner's write bit masked */

	store_ok(f->dir, &ID_A, "tok", T0, 3600);
	umask(old);
	assert_int_equal(lstat(f->dir, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	entry_path(f->dir, ".json", path, sizeof(path));
	assert_int_equal(lstat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	expect_hit(f->dir, &ID_A, -1, T0, "tok");
}

static void test_erase(void **state)
{
	struct fixture *f = *state;
	zitadel_error err = ZITADEL_ERROR_INIT;
	int erased = -1;

	/* Nothing there, not even the directory: not an error. */
	assert_int_equal(zt_cache_erase(f->dir, &ID_A, &erased, &err),
			 ZITADEL_OK);
	assert_int_equal(erased, 0);
	store_ok(f->dir, &ID_A, "tok-A", T0, 3600);
	store_ok(f->dir, &ID_B, "tok-B", T0, 3600);
	erased = -1;
	assert_int_equal(zt_cache_erase(f->dir, &ID_A, &erased, &err),
			 ZITADEL_OK);
	assert_int_equal(erased, 1);
	expect_miss(f->dir, &ID_A, -1, T0);
	expect_hit(f->dir, &ID_B, -1, T0, "tok-B");
	/* The directory is there, the entry is gone. */
	erased = -1;
	assert_int_equal(zt_cache_erase(f->dir, &ID_A, &erased, &err),
			 ZITADEL_OK);
	assert_int_equal(erased, 0);
	/* erased may be NULL. */
	assert_int_equal(zt_cache_erase(f->dir, &ID_B, NULL, &err), ZITADEL_OK);
	expect_miss(f->dir, &ID_B, -1, T0);
	assert_int_equal(err.status, ZITADEL_OK);
}

static void test_bad_arguments(void **state)
{
	struct fixture *f = *state;
	zitadel_error err = ZITADEL_ERROR_INIT;
	zt_cache_id partial = ID_A;
	zitadel_token t = make_token("", T0, 3600);
	zitadel_token *out = NULL;

	partial.scope = NULL;
	assert_int_equal(zt_cache_lookup(f->dir, &partial, -1, T0, &out, &err),
			 ZITADEL_ERR_INVALID_ARGUMENT);
	assert_null(out);
	zitadel_error_clear(&err);
	assert_int_equal(zt_cache_store(f->dir, &ID_A, &t, &err),
			 ZITADEL_ERR_INVALID_ARGUMENT);
	t = make_token("tok", T0, 0);
	zitadel_error_clear(&err);
	assert_int_equal(zt_cache_store(f->dir, &ID_A, &t, &err),
			 ZITADEL_ERR_INVALID_ARGUMENT);
}

/* ---- margin ----------------------------------------------------------- */

static void test_margin_rule(void **state)
{
	static const struct {
		long configured, lifetime, want;
	} cases[] = {
	    {-1, 43200, 4320},                /* 10 % of 12 h */
	    {-1, 3600, 360},   {-1, 600, 60}, /* 10 % is exactly 60 */
	    {-1, 599, 60},     {-1, 300, 60}, /* floor of 60 s */
	    {-1, 120, 60},     {-1, 119, 59}, /* never over half the life */
	    {-1, 60, 30},      {-1, 1, 0},         {30, 3600, 30},
	    {0, 3600, 0},      {7200, 3600, 1800}, {600, 43200, 600},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		long got = zt_cache_margin(cases[i].configured, T0,
					   T0 + cases[i].lifetime);

		if (got != cases[i].want)
			fail_msg("margin(%ld, lifetime %ld) = %ld, want %ld",
				 cases[i].configured, cases[i].lifetime, got,
				 cases[i].want);
	}
}

static void test_margin_boundaries(void **state)
{
	struct fixture *f = *state;
	time_t exp = T0 + 3600;

	store_ok(f->dir, &ID_A, "tok", T0, 3600);
	/* default margin for 1 h: 360 s; served while MORE than that left */
	expect_hit(f->dir, &ID_A, -1, exp - 361, "tok");
	expect_miss(f->dir, &ID_A, -1, exp - 360);
	/* configured */
	expect_hit(f->dir, &ID_A, 10, exp - 11, "tok");
	expect_miss(f->dir, &ID_A, 10, exp - 10);
	/* margin 0 still never serves an expired token */
	expect_hit(f->dir, &ID_A, 0, exp - 1, "tok");
	expect_miss(f->dir, &ID_A, 0, exp);
	expect_miss(f->dir, &ID_A, 0, exp + 1000);
	/* a miss for the margin keeps the entry (not corrupt) */
	expect_hit(f->dir, &ID_A, -1, T0, "tok");
}

static void test_short_lifetime_half_served(void **state)
{
	struct fixture *f = *state;

	/* 100 s lifetime, default margin 60 > lifetime: clamped to 50 s */
	store_ok(f->dir, &ID_A, "short", T0, 100);
	expect_hit(f->dir, &ID_A, -1, T0, "short");
	expect_hit(f->dir, &ID_A, -1, T0 + 49, "short");
	expect_miss(f->dir, &ID_A, -1, T0 + 50);
	/* configured margin longer than the life: clamped the same way */
	expect_hit(f->dir, &ID_A, 3600, T0 + 49, "short");
	expect_miss(f->dir, &ID_A, 3600, T0 + 50);
}

/* ---- corrupt entries -------------------------------------------------- */

static void corrupt_case(struct fixture *f, const char *text, size_t len)
{
	char path[256];
	struct stat st;

	store_ok(f->dir, &ID_A, "good", T0, 3600);
	entry_path(f->dir, ".json", path, sizeof(path));
	write_file(path, text, len, 0600);

	expect_miss(f->dir, &ID_A, -1, T0 + 1);
	assert_int_equal(stat(path, &st), -1); /* removed */
	assert_int_equal(errno, ENOENT);

	/* and the next fetch repairs it */
	store_ok(f->dir, &ID_A, "again", T0, 3600);
	expect_hit(f->dir, &ID_A, -1, T0 + 1, "again");
}

#define ENTRY_HEAD                                                             \
	"{\"v\":1,\"issuer\":\"https://id.example.com\",\"grant\":\"jwt-"      \
	"bearer\",\"subject\":\"300000000000000001\",\"key_id\":\"key-1\","    \
	"\"scope\":\"openid profile\","

static void test_corrupt_entries(void **state)
{
	static const char *const texts[] = {
	    "",
	    "garbage\n",
	    "[1,2,3]",
	    "null",
	    ENTRY_HEAD "\"access_token\":\"t\",\"token_type\":\"Bearer\","
		       "\"obtained_at\":1700000000,\"exp", /* truncated */
	    ENTRY_HEAD
	    "\"access_token\":\"t\",\"token_type\":\"Bearer\","
	    "\"obtained_at\":1700000000,\"expires_at\":\"1700003600\"}",
	    ENTRY_HEAD "\"access_token\":42,\"token_type\":\"Bearer\","
		       "\"obtained_at\":1700000000,\"expires_at\":1700003600}",
	    ENTRY_HEAD "\"access_token\":\"\",\"token_type\":\"Bearer\","
		       "\"obtained_at\":1700000000,\"expires_at\":1700003600}",
	    ENTRY_HEAD "\"token_type\":\"Bearer\","
		       "\"obtained_at\":1700000000,\"expires_at\":1700003600}",
	    ENTRY_HEAD "\"access_token\":\"t\",\"token_type\":\"Bearer\","
		       "\"obtained_at\":1700003600,\"expires_at\":1700003600}",
	    ENTRY_HEAD "\"access_token\":\"t\",\"token_type\":\"Bearer\","
		       "\"obtained_at\":1700000000,\"expires_at\":1600000000}",
	    /* stamped a day in the future: the clock went back */
	    ENTRY_HEAD "\"access_token\":\"t\",\"token_type\":\"Bearer\","
		       "\"obtained_at\":1700086400,\"expires_at\":1700090000}",
	    /* another version */
	    "{\"v\":2,\"issuer\":\"https://id.example.com\",\"grant\":\"jwt-"
	    "bearer\",\"subject\":\"300000000000000001\",\"key_id\":\"key-1\","
	    "\"scope\":\"openid profile\",\"access_token\":\"t\",\"token_type\""
	    ":\"Bearer\",\"obtained_at\":1700000000,\"expires_at\":1700003600}",
	    /* duplicate key */
	    ENTRY_HEAD "\"access_token\":\"t\",\"access_token\":\"u\","
		       "\"token_type\":\"Bearer\",\"obtained_at\":1700000000,"
		       "\"expires_at\":1700003600}",
	    /* another identity (a hash collision must be a miss) */
	    "{\"v\":1,\"issuer\":\"https://evil.example.com\",\"grant\":\"jwt-"
	    "bearer\",\"subject\":\"300000000000000001\",\"key_id\":\"key-1\","
	    "\"scope\":\"openid profile\",\"access_token\":\"t\",\"token_type\""
	    ":\"Bearer\",\"obtained_at\":1700000000,\"expires_at\":1700003600}",
	    ENTRY_HEAD "\"access_token\":\"t\",\"token_type\":\"Bearer\","
		       "\"obtained_at\":1700000000,\"expires_at\":1700003600,"
		       "\"scope\":\"openid\"}",
	};
	struct fixture *f = *state;
	size_t i;

	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		print_message("corrupt case %zu\n", i);
		corrupt_case(f, texts[i], strlen(texts[i]));
	}
}

static void test_corrupt_wrong_identity_file(void **state)
{
	struct fixture *f = *state;
	char a[256], b[256], text[4096];

	/* B's valid entry copied under A's name: the identity inside
	 * differs, so A misses and the impostor is gone. */
	store_ok(f->dir, &ID_B, "tok-B", T0, 3600);
	entry_path(f->dir, ".json", b, sizeof(b));
	snprintf(text, sizeof(text), "%s", read_all(b));
	assert_int_equal(unlink(b), 0);
	store_ok(f->dir, &ID_A, "tok-A", T0, 3600);
	entry_path(f->dir, ".json", a, sizeof(a));
	write_file(a, text, strlen(text), 0600);
	expect_miss(f->dir, &ID_A, -1, T0);
	assert_int_equal(access(a, F_OK), -1);
}

static void test_corrupt_huge_file(void **state)
{
	struct fixture *f = *state;
	size_t len = ZT_CACHE_ENTRY_MAX + 10;
	char *big = malloc(len);

	assert_non_null(big);
	memset(big, ' ', len);
	big[0] = '{';
	big[len - 1] = '}';
	corrupt_case(f, big, len);
	free(big);
}

static void test_leftover_temp_file(void **state)
{
	struct fixture *f = *state;
	char path[256], tmp[300];

	/* A writer killed between create and rename leaves its temp file
	 * (and maybe half its text) behind. */
	store_ok(f->dir, &ID_A, "tok", T0, 3600);
	entry_path(f->dir, ".json", path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s/.%s.4242.0.1700000000000000000.tmp",
		 f->dir, strrchr(path, '/') + 1);
	write_file(tmp, "{\"v\":1,\"iss", 11, 0600);
	expect_hit(f->dir, &ID_A, -1, T0, "tok");
	store_ok(f->dir, &ID_A, "tok2", T0, 3600);
	expect_hit(f->dir, &ID_A, -1, T0, "tok2");
	/* with no entry at all, a temp file is not mistaken for one */
	assert_int_equal(unlink(path), 0);
	expect_miss(f->dir, &ID_A, -1, T0);
	assert_int_equal(access(tmp, F_OK), 0);
}

/* ---- unsafe directory and files --------------------------------------- */

static void all_refuse(const char *dir, const char *phrase)
{
	zitadel_error err = ZITADEL_ERROR_INIT;
	zitadel_token t = make_token("tok", T0, 3600), *out = NULL;
	zt_cache_lock *lock = NULL;

	expect_unsafe(zt_cache_lookup(dir, &ID_A, -1, T0, &out, &err), &err,
		      phrase);
	assert_null(out);
	zitadel_error_clear(&err);
	expect_unsafe(zt_cache_store(dir, &ID_A, &t, &err), &err, phrase);
	zitadel_error_clear(&err);
	expect_unsafe(zt_cache_lock_take(dir, &ID_A, 100, &lock, &err), &err,
		      phrase);
	assert_null(lock);
	zitadel_error_clear(&err);
	expect_unsafe(zt_cache_erase(dir, &ID_A, NULL, &err), &err, phrase);
}

static void test_unsafe_dir_mode(void **state)
{
	struct fixture *f = *state;

	store_ok(f->dir, &ID_A, "tok", T0, 3600);
	assert_int_equal(chmod(f->dir, 0755), 0);
	all_refuse(f->dir, "mode 0755");
	assert_int_equal(chmod(f->dir, 0710), 0);
	all_refuse(f->dir, "mode 0710");
	assert_int_equal(chmod(f->dir, 0700), 0);
	expect_hit(f->dir, &ID_A, -1, T0, "tok");
}

static void test_unsafe_dir_owner(void **state)
{
	struct fixture *f = *state;

	if (geteuid() != 0)
		skip(); /* chown to another user needs root */
	store_ok(f->dir, &ID_A, "tok", T0, 3600);
	assert_int_equal(chown(f->dir, NOBODY, NOBODY), 0);
	all_refuse(f->dir, "owned by uid 65534");
}

static void test_unsafe_dir_symlink(void **state)
{
	struct fixture *f = *state;
	char link[160];

	store_ok(f->dir, &ID_A, "tok", T0, 3600);
	snprintf(link, sizeof(link), "%s/link", f->root);
	assert_int_equal(symlink(f->dir, link), 0);
	all_refuse(link, "symbolic link");
}

static void test_unsafe_dir_not_dir(void **state)
{
	struct fixture *f = *state;
	char path[160];

	snprintf(path, sizeof(path), "%s/file", f->root);
	write_file(path, "x", 1, 0600);
	all_refuse(path, "not a directory");
}

static void file_refused(struct fixture *f, const char *path,
			 const char *phrase)
{
	zitadel_error err = ZITADEL_ERROR_INIT;
	zitadel_token *out = NULL;

	expect_unsafe(zt_cache_lookup(f->dir, &ID_A, -1, T0, &out, &err), &err,
		      phrase);
	assert_null(out);
	/* refused, never deleted */
	assert_int_equal(faccessat(AT_FDCWD, path, F_OK, AT_SYMLINK_NOFOLLOW),
			 0);
}

static void test_unsafe_entry_mode(void **state)
{
	struct fixture *f = *state;
	char path[256], hint[300];

	store_ok(f->dir, &ID_A, "tok", T0, 3600);
	entry_path(f->dir, ".json", path, sizeof(path));
	/* the fix is named, as for the directory */
	snprintf(hint, sizeof(hint), "(chmod 600 %s)", path);
	assert_int_equal(chmod(path, 0644), 0);
	file_refused(f, path, "mode 0644");
	file_refused(f, path, hint);
	assert_int_equal(chmod(path, 0640), 0);
	file_refused(f, path, "mode 0640");
}

static void test_unsafe_entry_owner(void **state)
{
	struct fixture *f = *state;
	char path[256];

	if (geteuid() != 0)
		skip();
	store_ok(f->dir, &ID_A, "tok", T0, 3600);
	entry_path(f->dir, ".json", path, sizeof(path));
	assert_int_equal(chown(path, NOBODY, NOBODY), 0);
	file_refused(f, path, "owned by uid 65534");
}

static void test_unsafe_entry_symlink(void **state)
{
	struct fixture *f = *state;
	char path[256], target[160];

	store_ok(f->dir, &ID_A, "tok", T0, 3600);
	entry_path(f->dir, ".json", path, sizeof(path));
	snprintf(target, sizeof(target), "%s/elsewhere.json", f->root);
	assert_int_equal(rename(path, target), 0);
	assert_int_equal(symlink(target, path), 0);
	file_refused(f, path, "symbolic link");
}

static void test_unsafe_entry_not_regular(void **state)
{
	struct fixture *f = *state;
	char path[256];

	store_ok(f->dir, &ID_A, "tok", T0, 3600);
	entry_path(f->dir, ".json", path, sizeof(path));
	assert_int_equal(unlink(path), 0);
	assert_int_equal(mkfifo(path, 0600), 0);
	file_refused(f, path, "not a regular file");
}

static void test_unsafe_lock_file(void **state)
{
	struct fixture *f = *state;
	zitadel_error err = ZITADEL_ERROR_INIT;
	zt_cache_lock *lock = NULL;
	char path[256];

	assert_int_equal(zt_cache_lock_take(f->dir, &ID_A, 0, &lock, &err),
			 ZITADEL_OK);
	zt_cache_unlock(lock);
	lock = NULL;
	entry_path(f->dir, ".lock", path, sizeof(path));
	assert_int_equal(chmod(path, 0666), 0);
	expect_unsafe(zt_cache_lock_take(f->dir, &ID_A, 100, &lock, &err), &err,
		      "mode 0666");
	assert_null(lock);
}

/* ---- locking ---------------------------------------------------------- */

/* A child that takes the lock, says so on a pipe, then waits. */
static pid_t lock_holder(const char *dir, int *go_fd)
{
	int ready[2], go[2];
	pid_t pid;
	char c;

	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(go), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		zt_cache_lock *lock = NULL;

		close(ready[0]);
		close(go[1]);
		if (zt_cache_lock_take(dir, &ID_A, 1000, &lock, NULL) !=
		    ZITADEL_OK)
			_exit(2);
		if (write(ready[1], "x", 1) != 1)
			_exit(3);
		(void)read(go[0], &c, 1); /* until told, or killed */
		zt_cache_unlock(lock);
		_exit(0);
	}
	close(ready[1]);
	close(go[0]);
	assert_int_equal(read(ready[0], &c, 1), 1);
	close(ready[0]);
	*go_fd = go[1];
	return pid;
}

static void test_lock_timeout_and_release(void **state)
{
	struct fixture *f = *state;
	zitadel_error err = ZITADEL_ERROR_INIT;
	zt_cache_lock *lock = NULL;
	int go, status;
	pid_t pid;

	pid = lock_holder(f->dir, &go);
	assert_int_equal(zt_cache_lock_take(f->dir, &ID_A, 30, &lock, &err),
			 ZITADEL_ERR_LOCK_TIMEOUT);
	assert_null(lock);
	assert_non_null(strstr(err.message, ".lock"));
	assert_non_null(strstr(err.message, f->dir));

	/* Another entry's lock is independent. */
	zitadel_error_clear(&err);
	assert_int_equal(zt_cache_lock_take(f->dir, &ID_B, 0, &lock, &err),
			 ZITADEL_OK);
	zt_cache_unlock(lock);
	lock = NULL;

	/* The holder lets go; a waiter gets it. */
	assert_int_equal(write(go, "x", 1), 1);
	close(go);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	zitadel_error_clear(&err);
	assert_int_equal(zt_cache_lock_take(f->dir, &ID_A, 5000, &lock, &err),
			 ZITADEL_OK);
	zt_cache_unlock(lock);
}

static void test_lock_released_on_sigkill(void **state)
{
	struct fixture *f = *state;
	zitadel_error err = ZITADEL_ERROR_INIT;
	zt_cache_lock *lock = NULL;
	int go, status;
	pid_t pid;

	pid = lock_holder(f->dir, &go);
	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	close(go);
	assert_int_equal(zt_cache_lock_take(f->dir, &ID_A, 0, &lock, &err),
			 ZITADEL_OK);
	zt_cache_unlock(lock);
}

static void test_lock_same_process_excludes(void **state)
{
	struct fixture *f = *state;
	zitadel_error err = ZITADEL_ERROR_INIT;
	zt_cache_lock *a = NULL, *b = NULL;

	assert_int_equal(zt_cache_lock_take(f->dir, &ID_A, 0, &a, &err),
			 ZITADEL_OK);
	assert_int_equal(zt_cache_lock_take(f->dir, &ID_A, 5, &b, &err),
			 ZITADEL_ERR_LOCK_TIMEOUT);
	assert_null(b);
	zt_cache_unlock(a);
	zitadel_error_clear(&err);
	assert_int_equal(zt_cache_lock_take(f->dir, &ID_A, 0, &b, &err),
			 ZITADEL_OK);
	zt_cache_unlock(b);
	zt_cache_unlock(NULL);
}

/* ---- names, scope, defaults ------------------------------------------- */

static void test_scope_normalize(void **state)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
	    {"openid", "openid"},
	    {"profile openid", "openid profile"},
	    {"  openid   profile  ", "openid profile"},
	    {"openid openid profile openid", "openid profile"},
	    {"b\ta\nc", "a b c"},
	    {"urn:zitadel:iam:org:project:id:zitadel:aud openid",
	     "openid urn:zitadel:iam:org:project:id:zitadel:aud"},
	    {"", "openid urn:zitadel:iam:org:project:id:zitadel:aud"},
	    {"   ", "openid urn:zitadel:iam:org:project:id:zitadel:aud"},
	    {NULL, "openid urn:zitadel:iam:org:project:id:zitadel:aud"},
	    {"B a", "B a"}, /* byte order; scopes are case-sensitive */
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = zt_scope_normalize(cases[i].in);

		assert_non_null(got);
		assert_string_equal(got, cases[i].want);
		free(got);
	}
}

static void test_identity_fields_separated(void **state)
{
	struct fixture *f = *state;
	zt_cache_id x = {"https://a", "jwt-bearer", "12", "3", "openid"};
	zt_cache_id y = {"https://a", "jwt-bearer", "1", "23", "openid"};

	store_ok(f->dir, &x, "tok-x", T0, 3600);
	expect_miss(f->dir, &y, -1, T0);
	store_ok(f->dir, &y, "tok-y", T0, 3600);
	expect_hit(f->dir, &x, -1, T0, "tok-x");
	expect_hit(f->dir, &y, -1, T0, "tok-y");
}

static void expect_no_default(const char *phrase, const char *path)
{
	zitadel_error err = ZITADEL_ERROR_INIT;
	char *dir = (char *)1;

	assert_int_equal(zt_cache_dir_default(&dir, &err), ZITADEL_ERR_IO);
	assert_null(dir);
	if (strstr(err.message, phrase) == NULL ||
	    strstr(err.message, path) == NULL ||
	    strstr(err.message, "; no token cache") == NULL)
		fail_msg("\"%s\" lacks \"%s\" or %s", err.message, phrase,
			 path);
}

static void expect_default(const char *want)
{
	zitadel_error err = ZITADEL_ERROR_INIT;
	char *dir = NULL;

	if (zt_cache_dir_default(&dir, &err) != ZITADEL_OK)
		fail_msg("%s", err.message);
	assert_string_equal(dir, want);
	free(dir);
}

static void test_dir_default(void **state)
{
	struct fixture *f = *state;
	zitadel_error err = ZITADEL_ERROR_INIT;
	zitadel_token t = make_token("tok", T0, 3600);
	zt_cache_id id = {"https://a", "jwt-bearer", "1", "2", "openid"};
	char *dir = NULL, xdg[160], home[160], want[200];
	zt_cache_lock *lock = NULL;
	char *old_xdg = getenv("XDG_CACHE_HOME");
	char *old_home = getenv("HOME");
	struct passwd *pw;
	struct stat st;

	old_xdg = old_xdg ? strdup(old_xdg) : NULL;
	old_home = old_home ? strdup(old_home) : NULL;

	/* $XDG_CACHE_HOME is made only where its parent exists */
	snprintf(xdg, sizeof(xdg), "%s/x/cache", f->root);
	setenv("XDG_CACHE_HOME", xdg, 1);
	setenv("HOME", "/home/u", 1);
	expect_no_default("the parent of XDG_CACHE_HOME", "/x does not exist");
	snprintf(home, sizeof(home), "%s/x", f->root);
	assert_int_equal(mkdir(home, 0700), 0);
	snprintf(want, sizeof(want), "%s/zitadel", xdg);
	expect_default(want);
	snprintf(xdg, sizeof(xdg), "%s/x/cache//", f->root);
	setenv("XDG_CACHE_HOME", xdg, 1);
	snprintf(want, sizeof(want), "%s/zitadel", xdg);
	expect_default(want);

	/* a missing home is never created, and the cache is not used */
	snprintf(home, sizeof(home), "%s/home", f->root);
	setenv("XDG_CACHE_HOME", "relative/cache", 1);
	setenv("HOME", home, 1);
	expect_no_default("home directory", "/home does not exist");
	assert_int_equal(zt_cache_store(NULL, &id, &t, &err), ZITADEL_ERR_IO);
	assert_int_equal(zt_cache_lock_take(NULL, &id, 0, &lock, NULL),
			 ZITADEL_ERR_IO);
	assert_null(lock);
	assert_int_not_equal(stat(home, &st), 0);

	/* one that is a file is no home either */
	write_file(home, "x\n", 2, 0600);
	expect_no_default("home directory", "/home is not a directory");
	assert_int_equal(unlink(home), 0);

	/* an existing home gets .cache and .cache/zitadel, as always */
	assert_int_equal(mkdir(home, 0755), 0);
	snprintf(want, sizeof(want), "%s/.cache/zitadel", home);
	expect_default(want);
	zitadel_error_clear(&err);
	if (zt_cache_store(NULL, &id, &t, &err) != ZITADEL_OK)
		fail_msg("%s", err.message);
	assert_int_equal(stat(want, &st), 0);
	assert_true(S_ISDIR(st.st_mode));

	/* no HOME: the password database's home, under the same rule */
	unsetenv("XDG_CACHE_HOME");
	unsetenv("HOME");
	pw = getpwuid(geteuid());
	if (pw != NULL && pw->pw_dir != NULL && stat(pw->pw_dir, &st) == 0 &&
	    S_ISDIR(st.st_mode)) {
		assert_int_equal(zt_cache_dir_default(&dir, &err), ZITADEL_OK);
		assert_non_null(strstr(dir, "/.cache/zitadel"));
		assert_true(dir[0] == '/');
		free(dir);
	}

	if (old_xdg)
		setenv("XDG_CACHE_HOME", old_xdg, 1);
	if (old_home)
		setenv("HOME", old_home, 1);
	free(old_xdg);
	free(old_home);
}

static void test_alloc_failures(void **state)
{
	struct fixture *f = *state;
	zitadel_token t = make_token("tok", T0, 3600), *out = NULL;
	zitadel_error err = ZITADEL_ERROR_INIT;
	zitadel_status st;
	long n;

	store_ok(f->dir, &ID_A, "tok", T0, 3600);
	/* Every allocation in a lookup and a store fails in turn: each ends
	 * in NOMEM or success, never a crash or a half result. */
	for (n = 1; n < 20; n++) {
		zitadel_error_clear(&err);
		zt_alloc_fail_at(n);
		st = zt_cache_lookup(f->dir, &ID_A, -1, T0, &out, &err);
		zt_alloc_fail_at(0);
		assert_true(st == ZITADEL_OK || st == ZITADEL_ERR_NOMEM);
		if (st == ZITADEL_OK) {
			assert_non_null(out);
			free_token(out);
			out = NULL;
		} else {
			assert_null(out);
		}
		zitadel_error_clear(&err);
		zt_alloc_fail_at(n);
		st = zt_cache_store(f->dir, &ID_A, &t, &err);
		zt_alloc_fail_at(0);
		assert_true(st == ZITADEL_OK || st == ZITADEL_ERR_NOMEM);
	}
	expect_hit(f->dir, &ID_A, -1, T0, "tok");
}

/* Documents: written 0600 in a 0700 dir, read back until they age out. */
static void test_doc_round_trip_and_age(void **state)
{
	struct fixture *f = *state;
	zitadel_error err = ZITADEL_ERROR_INIT;
	const char *doc = "{\"issuer\":\"https://id.example.com\"}";
	char path[256], *out = NULL;
	struct stat st;
	size_t len = 0;

	assert_int_equal(zt_cache_doc_read(f->dir,
					   "discovery-0123456789abcdef.json",
					   3600, time(NULL), &out, &len, &err),
			 ZITADEL_OK);
	assert_null(out);

	assert_int_equal(zt_cache_doc_write(f->dir,
					    "discovery-0123456789abcdef.json",
					    doc, strlen(doc), &err),
			 ZITADEL_OK);
	snprintf(path, sizeof(path), "%s/discovery-0123456789abcdef.json",
		 f->dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);

	assert_int_equal(zt_cache_doc_read(f->dir,
					   "discovery-0123456789abcdef.json",
					   3600, time(NULL), &out, &len, &err),
			 ZITADEL_OK);
	assert_non_null(out);
	assert_int_equal(len, strlen(doc));
	assert_string_equal(out, doc);
	free(out);

	/* Past the hour it is a miss; so is a clock gone back. The file's
	 * mtime comes from the kernel's coarse clock and may be a tick ahead
	 * of time(), hence a few seconds' slack. */
	assert_int_equal(
	    zt_cache_doc_read(f->dir, "discovery-0123456789abcdef.json", 3600,
			      time(NULL) + 3605, &out, &len, &err),
	    ZITADEL_OK);
	assert_null(out);
	assert_int_equal(
	    zt_cache_doc_read(f->dir, "discovery-0123456789abcdef.json", 3600,
			      time(NULL) - 120, &out, &len, &err),
	    ZITADEL_OK);
	assert_null(out);
}

static void test_doc_refusals(void **state)
{
	struct fixture *f = *state;
	zitadel_error err = ZITADEL_ERROR_INIT;
	char path[256], *big, *out = NULL;
	size_t len = 0;

	/* Names that would leave the directory or hide among temp files. */
	assert_int_equal(zt_cache_doc_write(f->dir, "../x", "{}", 2, &err),
			 ZITADEL_ERR_INVALID_ARGUMENT);
	zitadel_error_clear(&err);
	assert_int_equal(zt_cache_doc_write(f->dir, ".hidden", "{}", 2, &err),
			 ZITADEL_ERR_INVALID_ARGUMENT);
	zitadel_error_clear(&err);
	assert_int_equal(
	    zt_cache_doc_read(f->dir, "", 3600, T0, &out, &len, &err),
	    ZITADEL_ERR_INVALID_ARGUMENT);
	zitadel_error_clear(&err);

	/* Over the entry bound: not written. */
	big = malloc(ZT_CACHE_ENTRY_MAX + 2);
	assert_non_null(big);
	memset(big, 'a', ZT_CACHE_ENTRY_MAX + 1);
	assert_int_equal(zt_cache_doc_write(f->dir, "d.json", big,
					    ZT_CACHE_ENTRY_MAX + 1, &err),
			 ZITADEL_ERR_INVALID_ARGUMENT);
	zitadel_error_clear(&err);
	free(big);

	/* A document others can read is refused like a token entry. */
	assert_int_equal(zt_cache_doc_write(f->dir, "d.json", "{}", 2, &err),
			 ZITADEL_OK);
	snprintf(path, sizeof(path), "%s/d.json", f->dir);
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(zt_cache_doc_read(f->dir, "d.json", 3600, time(NULL),
					   &out, &len, &err),
			 ZITADEL_ERR_CACHE_UNSAFE);
	assert_null(out);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_round_trip),
	    T(test_modes_under_umask_000),
	    T(test_modes_under_umask_077),
	    T(test_erase),
	    T(test_bad_arguments),
	    T(test_margin_rule),
	    T(test_margin_boundaries),
	    T(test_short_lifetime_half_served),
	    T(test_corrupt_entries),
	    T(test_corrupt_wrong_identity_file),
	    T(test_corrupt_huge_file),
	    T(test_leftover_temp_file),
	    T(test_unsafe_dir_mode),
	    T(test_unsafe_dir_owner),
	    T(test_unsafe_dir_symlink),
	    T(test_unsafe_dir_not_dir),
	    T(test_unsafe_entry_mode),
	    T(test_unsafe_entry_owner),
	    T(test_unsafe_entry_symlink),
	    T(test_unsafe_entry_not_regular),
	    T(test_unsafe_lock_file),
	    T(test_lock_timeout_and_release),
	    T(test_lock_released_on_sigkill),
	    T(test_lock_same_process_excludes),
	    T(test_scope_normalize),
	    T(test_identity_fields_separated),
	    T(test_dir_default),
	    T(test_alloc_failures),
	    T(test_doc_round_trip_and_age),
	    T(test_doc_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
