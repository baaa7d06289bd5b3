/*
 * tests/check_secret.c: secret references (engine/secret.c).  Files,
 * scripts standing in for a password manager's CLI, and the generated
 * secrets' directory live in a temporary directory made for each test.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/evp.h>

#include "engine.h"
#include "lib.h"

static char			*tmpdir;
static struct event_base	*base;

static void
setup(void)
{
	tmpdir = lib_tmpdir("check_secret");
	base = event_base_new();
	ck_assert_ptr_nonnull(base);
	exec_runtime_init(base);
	secret_set_exec_ttl_ms(5 * 60 * 1000);
	secret_set_exec_timeout_ms(5 * 1000);
	secret_set_data_dir(NULL);
}

static void
teardown(void)
{
	secret_cache_clear();
	exec_runtime_free();
	event_base_free(base);
	base = NULL;
	secret_set_data_dir(NULL);
	lib_rm_tree(tmpdir);
	free(tmpdir);
	tmpdir = NULL;
}

/* Write TEXT to TMPDIR/NAME with MODE; returns the path (allocated). */
static char *
put(const char *name, const char *text, mode_t mode)
{
	return (lib_put_file(tmpdir, name, text, strlen(text), mode));
}

/* Resolve REF expecting success with value WANT. */
static void
resolves(const char *ref, const char *want)
{
	unsigned char	*v;
	size_t		 len;
	char		*cause = NULL;

	ck_assert_msg(secret_resolve(ref, &v, &len, &cause) == 0, "%s: %s",
	    ref, cause);
	ck_assert_uint_eq(len, strlen(want));
	ck_assert_str_eq((char *)v, want);
	secret_free(v, len);
}

/* Resolve REF expecting failure; returns the cause (allocated). */
static char *
refused(const char *ref)
{
	unsigned char	*v;
	size_t		 len;
	char		*cause = NULL;

	ck_assert_int_eq(secret_resolve(ref, &v, &len, &cause), -1);
	ck_assert_ptr_null(v);
	ck_assert_ptr_nonnull(cause);
	return (cause);
}

/* Resolve REF expecting failure with exactly WANT, where %s is DIR. */
static void
refused_with(const char *ref, const char *want)
{
	char	*cause, *exp;

	xasprintf(&exp, want, tmpdir);
	cause = refused(ref);
	ck_assert_str_eq(cause, exp);
	free(cause);
	free(exp);
}

/* Lines in TMPDIR/NAME, 0 when it does not exist. */
static int
lines(const char *name)
{
	char	*path;
	FILE	*f;
	int	 c, n = 0;

	xasprintf(&path, "%s/%s", tmpdir, name);
	if ((f = fopen(path, "r")) != NULL) {
		while ((c = fgetc(f)) != EOF)
			n += (c == '\n');
		fclose(f);
	}
	free(path);
	return (n);
}

/* A script standing in for a password manager: counts runs, prints $1. */
static char *
pwscript(void)
{
	char	*text, *path;

	xasprintf(&text, "#!/bin/sh\necho run >> %s/runs\n"
	    "printf 'value-of-%%s\\n' \"$1\"\n", tmpdir);
	path = put("pw.sh", text, 0700);
	free(text);
	return (path);
}

/* ---- file ---------------------------------------------------------------- */

/* A 0600 file gives its contents less the newline, also through a link. */
START_TEST(test_file_read)
{
	char	*path, *ref, *link;

	path = put("key", "s3cret\r\n", 0600);
	xasprintf(&ref, "file:%s", path);
	resolves(ref, "s3cret");
	free(ref);
	xasprintf(&link, "%s/link", tmpdir);
	ck_assert_int_eq(symlink(path, link), 0);
	xasprintf(&ref, "file:%s", link);
	resolves(ref, "s3cret");
	free(ref);
	free(link);
	free(path);
}
END_TEST

/* Open modes, a missing file, a directory and an empty file are refused. */
START_TEST(test_file_read_bad)
{
	char	*path, *ref, *link;

	path = put("key", "s3cret\n", 0644);
	xasprintf(&ref, "file:%s", path);
	refused_with(ref, "secret file:%s/key: mode 0644 lets the group or "
	    "others in (chmod 600 it)");
	ck_assert_int_eq(chmod(path, 0640), 0);
	refused_with(ref, "secret file:%s/key: mode 0640 lets the group or "
	    "others in (chmod 600 it)");
	free(ref);
	xasprintf(&link, "%s/link", tmpdir);
	ck_assert_int_eq(symlink(path, link), 0);
	xasprintf(&ref, "file:%s", link);
	refused_with(ref, "secret file:%s/link: mode 0640 lets the group or "
	    "others in (chmod 600 it)");
	free(ref);
	free(link);
	free(path);
	xasprintf(&ref, "file:%s/missing", tmpdir);
	refused_with(ref, "secret file:%s/missing: No such file or directory");
	free(ref);
	ck_assert_int_eq(chmod(tmpdir, 0700), 0);
	xasprintf(&ref, "file:%s", tmpdir);
	refused_with(ref, "secret file:%s: not a regular file");
	free(ref);
	free(put("empty", "\n", 0600));
	xasprintf(&ref, "file:%s/empty", tmpdir);
	refused_with(ref, "secret file:%s/empty: empty");
	free(ref);
}
END_TEST

/* Read PATH with FLAGS expecting WANT; label "L". */
static void
reads_file(const char *path, int flags, const char *want, size_t wantlen)
{
	unsigned char	*v;
	size_t		 len;
	char		*cause = NULL;

	ck_assert_msg(secret_read_file(path, "L", flags, &v, &len, &cause) ==
	    0, "%s: %s", path, cause);
	ck_assert_uint_eq(len, wantlen);
	ck_assert_int_eq(memcmp(v, want, wantlen), 0);
	ck_assert_int_eq(v[len], '\0');
	secret_free(v, len);
}

/* Read PATH with FLAGS expecting failure with WANT (%s: TMPDIR). */
static void
refuses_file(const char *path, int flags, const char *want)
{
	unsigned char	*v = (unsigned char *)"x";
	size_t		 len = 1;
	char		*cause = NULL, *exp;

	ck_assert_int_eq(secret_read_file(path, "L", flags, &v, &len, &cause),
	    -1);
	ck_assert_ptr_null(v);
	ck_assert_uint_eq(len, 0);
	xasprintf(&exp, want, tmpdir);
	ck_assert_str_eq(cause, exp);
	free(exp);
	free(cause);
}

/* The shared reader: one newline dropped, up to 64 KiB (the newline
 * included), 0400 and links allowed unless the flags say otherwise. */
START_TEST(test_read_file)
{
	char	*path, *big, *link;

	path = put("a", "s3cret\r\n", 0600);
	reads_file(path, 0, "s3cret", 6);
	reads_file(path, SECRET_FILE_0600 | SECRET_FILE_NOFOLLOW, "s3cret", 6);
	free(path);
	path = put("b", "two\n\n", 0400);
	reads_file(path, 0, "two\n", 4);
	free(path);
	path = put("c", "no newline", 0600);
	reads_file(path, 0, "no newline", 10);
	free(path);
	big = xmalloc(64 * 1024 + 1);
	memset(big, 'k', 64 * 1024);
	big[64 * 1024] = '\0';
	path = put("d", big, 0600);
	reads_file(path, SECRET_FILE_0600, big, 64 * 1024);
	xasprintf(&link, "%s/link", tmpdir);
	ck_assert_int_eq(symlink(path, link), 0);
	reads_file(link, SECRET_FILE_0600, big, 64 * 1024);
	free(link);
	free(path);
	big[64 * 1024 - 1] = '\n';	/* the newline counts in the 64 KiB */
	path = put("e", big, 0600);
	reads_file(path, 0, big, 64 * 1024 - 1);
	free(path);
	free(big);
}
END_TEST

/* Group or other bits, a mode other than 0600 under SECRET_FILE_0600, a
 * link under SECRET_FILE_NOFOLLOW, more than 64 KiB, an empty file, a
 * FIFO and a directory are refused without blocking. */
START_TEST(test_read_file_bad)
{
	char	*path, *big, *link, *fifo;

	path = put("a", "s3cret\n", 0604);
	refuses_file(path, 0, "secret L: mode 0604 lets the group or others "
	    "in (chmod 600 it)");
	refuses_file(path, SECRET_FILE_0600, "secret L: mode 0604, not 0600");
	ck_assert_int_eq(chmod(path, 0400), 0);
	refuses_file(path, SECRET_FILE_0600, "secret L: mode 0400, not 0600");
	ck_assert_int_eq(chmod(path, 0600), 0);
	xasprintf(&link, "%s/link", tmpdir);
	ck_assert_int_eq(symlink(path, link), 0);
	refuses_file(link, SECRET_FILE_NOFOLLOW, "secret L: Too many levels "
	    "of symbolic links");
	free(link);
	free(path);
	big = xmalloc(64 * 1024 + 2);
	memset(big, 'k', 64 * 1024);
	big[64 * 1024] = '\n';
	big[64 * 1024 + 1] = '\0';
	path = put("big", big, 0600);
	refuses_file(path, 0, "secret L: larger than 65536 bytes");
	free(path);
	free(big);
	path = put("empty", "\r\n", 0600);
	refuses_file(path, 0, "secret L: empty");
	free(path);
	xasprintf(&fifo, "%s/fifo", tmpdir);
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	refuses_file(fifo, 0, "secret L: not a regular file");
	free(fifo);
	refuses_file(tmpdir, 0, "secret L: not a regular file");
	xasprintf(&path, "%s/missing", tmpdir);
	refuses_file(path, 0, "secret L: No such file or directory");
	free(path);
}
END_TEST

/* ---- env ----------------------------------------------------------------- */

/* env:NAME gives the variable's value as it is. */
START_TEST(test_env_read)
{
	setenv("CHIME_SECRET_TEST", "v a l\n", 1);
	resolves("env:CHIME_SECRET_TEST", "v a l\n");
}
END_TEST

/* A missing or empty variable and a bad name are refused. */
START_TEST(test_env_read_bad)
{
	char	*cause = NULL;

	unsetenv("CHIME_SECRET_NONE");
	refused_with("env:CHIME_SECRET_NONE",
	    "secret env:CHIME_SECRET_NONE: not set");
	setenv("CHIME_SECRET_EMPTY", "", 1);
	refused_with("env:CHIME_SECRET_EMPTY",
	    "secret env:CHIME_SECRET_EMPTY: empty");
	ck_assert_int_eq(secret_ref_check("env:A-B", &cause), -1);
	ck_assert_str_eq(cause, "secret reference \"env:A-B\": env: needs a "
	    "variable name ([A-Za-z_][A-Za-z0-9_]*)");
	free(cause);
}
END_TEST

/* ---- exec ---------------------------------------------------------------- */

struct ready {
	int	 called;
	char	*cause;
};

static void
ready_cb(void *arg, const char *cause)
{
	struct ready	*r = arg;

	r->called++;
	r->cause = cause != NULL ? xstrdup(cause) : NULL;
}

/* Run the loop until R's callback ran. */
static void
await(struct ready *r)
{
	while (r->called == 0)
		event_base_loop(base, EVLOOP_ONCE);
}

/* secret_prepare REF, then wait for its command: NULL, or the reason it
 * failed (allocated). */
static char *
fetch(const char *ref)
{
	struct ready	 r = { 0, NULL };
	char		*cause = NULL;
	int		 rc;

	rc = secret_prepare(ref, ready_cb, &r, &cause);
	ck_assert_msg(rc != -1, "%s: %s", ref, cause);
	if (rc == 0)
		return (NULL);
	await(&r);
	ck_assert_int_eq(r.called, 1);
	return (r.cause);
}

/* fetch REF expecting failure with exactly WANT, where %s is DIR. */
static void
fetch_fails(const char *ref, const char *want)
{
	char	*cause, *exp;

	xasprintf(&exp, want, tmpdir);
	cause = fetch(ref);
	ck_assert_ptr_nonnull(cause);
	ck_assert_str_eq(cause, exp);
	free(cause);
	free(exp);
}

/* fetch REF, then resolve it to WANT. */
static void
fetch_resolves(const char *ref, const char *want)
{
	char	*cause;

	cause = fetch(ref);
	ck_assert_msg(cause == NULL, "%s: %s", ref, cause);
	resolves(ref, want);
}

/* A command's stdout (newline dropped) is the secret; words are split. */
START_TEST(test_exec_read)
{
	char	*path, *ref;

	path = pwscript();
	xasprintf(&ref, "exec:%s  item-1\tx", path);
	fetch_resolves(ref, "value-of-item-1");
	ck_assert_int_eq(lines("runs"), 1);
	fetch_resolves("exec:printf %s\n abc", "abc");
	free(ref);
	free(path);
}
END_TEST

/* A failing command's message has its first word and status, never output;
 * a reference never read is refused, not run on the caller's thread. */
START_TEST(test_exec_read_bad)
{
	char	*path, *ref, *cause = NULL;

	path = put("fail.sh", "#!/bin/sh\necho LEAKED\necho LEAKED2 >&2\n"
	    "exit 3\n", 0700);
	xasprintf(&ref, "exec:%s arg", path);
	cause = fetch(ref);
	ck_assert_ptr_null(strstr(cause, "LEAKED"));
	free(cause);
	fetch_fails(ref, "secret exec:%s/fail.sh: exited with status 3");
	refused_with(ref, "secret exec:%s/fail.sh: not read yet (its command "
	    "runs now)");
	free(ref);
	free(path);
	fetch_fails("exec:/nonexistent/pw get",
	    "secret exec:/nonexistent/pw: cannot run: No such file or "
	    "directory");
	fetch_fails("exec:true", "secret exec:true: empty output");
	fetch_fails("exec:sh -c kill${IFS}-9${IFS}$$",
	    "secret exec:sh: killed by signal 9");
	ck_assert_int_eq(secret_ref_check("exec: \t", &cause), -1);
	ck_assert_str_eq(cause, "secret reference \"exec: \t\": exec: needs a "
	    "command");
	free(cause);
}
END_TEST

/* A command writing the bound exactly is read; one byte more is refused. */
START_TEST(test_exec_bound)
{
	unsigned char	*v;
	size_t		 len;
	char		*cause = NULL, *path, *ref;

	path = put("big.sh", "#!/bin/sh\nhead -c $1 /dev/zero | tr '\\0' a\n",
	    0700);
	xasprintf(&ref, "exec:%s 65536", path);
	ck_assert_ptr_null(fetch(ref));
	ck_assert_msg(secret_resolve(ref, &v, &len, &cause) == 0, "%s", cause);
	ck_assert_uint_eq(len, 65536);
	ck_assert_int_eq(v[0], 'a');
	ck_assert_int_eq(v[65535], 'a');
	secret_free(v, len);
	free(ref);
	free(path);
}
END_TEST

/* Output beyond 64 KiB is refused without its bytes in the message. */
START_TEST(test_exec_bound_bad)
{
	char	*path, *ref;

	path = put("big.sh", "#!/bin/sh\nhead -c $1 /dev/zero | tr '\\0' a\n",
	    0700);
	xasprintf(&ref, "exec:%s 65537", path);
	fetch_fails(ref, "secret exec:%s/big.sh: output larger than 65536 "
	    "bytes");
	free(ref);
	free(path);
}
END_TEST

/* A command that outlives the timeout is killed with its group. */
START_TEST(test_exec_timeout)
{
	char	*path, *ref;

	secret_set_exec_timeout_ms(200);
	path = put("hang.sh", "#!/bin/sh\necho partial\nsleep 30\n", 0700);
	xasprintf(&ref, "exec:%s", path);
	fetch_fails(ref, "secret exec:%s/hang.sh: timed out after 200 ms");
	free(ref);
	free(path);
}
END_TEST

/* A command that closes stdout but does not exit also times out. */
START_TEST(test_exec_timeout_bad)
{
	char	*path, *ref;

	secret_set_exec_timeout_ms(200);
	path = put("linger.sh", "#!/bin/sh\necho v\nexec >&-\nsleep 30\n",
	    0700);
	xasprintf(&ref, "exec:%s", path);
	fetch_fails(ref, "secret exec:%s/linger.sh: timed out after 200 ms");
	free(ref);
	free(path);
}
END_TEST

/* The caller never waits for a command: secret_prepare returns while a
 * command that waits for the caller runs (a blocking read would hang). */
START_TEST(test_exec_off_loop)
{
	struct ready	 r = { 0, NULL };
	char		*path, *ref, *text, *go, *cause = NULL;
	FILE		*f;

	xasprintf(&go, "%s/go", tmpdir);
	xasprintf(&text, "#!/bin/sh\nwhile [ ! -e %s ]; do sleep 0.01; done\n"
	    "echo waited\n", go);
	path = put("waits.sh", text, 0700);
	xasprintf(&ref, "exec:%s", path);
	ck_assert_int_eq(secret_prepare(ref, ready_cb, &r, &cause), 1);
	ck_assert_int_eq(r.called, 0);
	free(refused(ref));
	ck_assert_ptr_nonnull(f = fopen(go, "w"));
	fclose(f);
	await(&r);
	ck_assert_ptr_null(r.cause);
	resolves(ref, "waited");
	free(ref);
	free(path);
	free(text);
	free(go);
}
END_TEST

/* A bad reference is refused by secret_prepare before anything runs. */
START_TEST(test_exec_off_loop_bad)
{
	char	*cause = NULL;

	ck_assert_int_eq(secret_prepare("exec: ", ready_cb, NULL, &cause), -1);
	ck_assert_str_eq(cause, "secret reference \"exec: \": exec: needs a "
	    "command");
	free(cause);
	/* Other kinds are read where they are used. */
	ck_assert_int_eq(secret_prepare("env:NOPE_NOT_SET", ready_cb, NULL,
	    &cause), 0);
}
END_TEST

/* Within the TTL the command runs once; clearing the cache forgets it. */
START_TEST(test_exec_cache)
{
	char	*path, *ref;

	path = pwscript();
	xasprintf(&ref, "exec:%s a", path);
	fetch_resolves(ref, "value-of-a");
	fetch_resolves(ref, "value-of-a");
	resolves(ref, "value-of-a");
	ck_assert_int_eq(lines("runs"), 1);
	free(ref);
	xasprintf(&ref, "exec:%s b", path);
	fetch_resolves(ref, "value-of-b");
	ck_assert_int_eq(lines("runs"), 2);
	secret_cache_clear();
	free(refused(ref));
	fetch_resolves(ref, "value-of-b");
	ck_assert_int_eq(lines("runs"), 3);
	free(ref);
	free(path);
}
END_TEST

/* Past the TTL a value is read again in the background and the old one
 * serves meanwhile; a failed read keeps the value read before. */
START_TEST(test_exec_cache_bad)
{
	char	*path, *ref, *text;

	xasprintf(&text, "#!/bin/sh\necho run >> %s/runs\n"
	    "[ $(wc -l < %s/runs) -le 2 ] || exit 1\n"
	    "echo v$(wc -l < %s/runs)\n", tmpdir, tmpdir, tmpdir);
	path = put("flaky.sh", text, 0700);
	xasprintf(&ref, "exec:%s", path);
	secret_set_exec_ttl_ms(0);
	/* With a TTL of 0 every use is stale: a resolve answers the value
	 * read last and starts a read; fetch joins that read. */
	ck_assert_ptr_null(fetch(ref));		/* read 1 */
	resolves(ref, "v1");			/* starts read 2 */
	ck_assert_ptr_null(fetch(ref));		/* joins it */
	ck_assert_int_eq(lines("runs"), 2);
	resolves(ref, "v2");			/* starts read 3: it fails */
	fetch_fails(ref, "secret exec:%s/flaky.sh: exited with status 1");
	ck_assert_int_eq(lines("runs"), 3);
	resolves(ref, "v2");			/* the value read before stays */
	secret_set_exec_ttl_ms(5 * 60 * 1000);
	secret_cache_clear();
	fetch_fails(ref, "secret exec:%s/flaky.sh: exited with status 1");
	free(refused(ref));
	free(ref);
	free(path);
	free(text);
	fetch_fails("exec:false", "secret exec:false: exited with status 1");
	free(refused("exec:false"));
}
END_TEST

/* ---- generated ----------------------------------------------------------- */

/* Decode a whsec_ value into KEY; returns its length. */
static size_t
whsec_decode(const char *whsec, unsigned char *key)
{
	const char	*b = whsec + 6;
	size_t		 n = strlen(b);
	int		 got;

	ck_assert_int_eq(strncmp(whsec, "whsec_", 6), 0);
	got = EVP_DecodeBlock(key, (const unsigned char *)b, (int)n);
	ck_assert_int_ge(got, 0);
	return ((size_t)got - (b[n - 1] == '=') - (b[n - 2] == '='));
}

/* A generated secret is 32 bytes in a 0600 file of a 0700 directory. */
START_TEST(test_generated_create)
{
	struct stat	 st;
	unsigned char	 key[64];
	char		*whsec, *other, *cause = NULL, *path;

	ck_assert_msg(secret_generate(tmpdir, "sched-1.v1", &whsec, &cause) ==
	    0, "%s", cause);
	ck_assert_uint_eq(strlen(whsec), 6 + 44);
	ck_assert_uint_eq(whsec_decode(whsec, key), 32);
	xasprintf(&path, "%s/secrets", tmpdir);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0700);
	free(path);
	xasprintf(&path, "%s/secrets/sched-1.v1", tmpdir);
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0600);
	free(path);
	secret_set_data_dir(tmpdir);
	resolves("generated:sched-1.v1", whsec);
	ck_assert_int_eq(secret_generate(tmpdir, "sched-2", &other, &cause),
	    0);
	ck_assert_str_ne(whsec, other);
	secret_free((unsigned char *)other, strlen(other));
	ck_assert_int_eq(secret_remove(tmpdir, "sched-1.v1", &cause), 0);
	refused_with("generated:sched-1.v1", "secret generated:sched-1.v1: "
	    "No such file or directory");
	secret_free((unsigned char *)whsec, strlen(whsec));
}
END_TEST

/* Tampered modes, bad names, duplicates and no data directory are refused. */
START_TEST(test_generated_create_bad)
{
	char	*whsec, *cause = NULL, *path;

	ck_assert_int_eq(secret_generate(tmpdir, "s", &whsec, &cause), 0);
	free(whsec);
	refused_with("generated:s", "secret generated:s: no data directory");
	secret_set_data_dir(tmpdir);
	xasprintf(&path, "%s/secrets/s", tmpdir);
	ck_assert_int_eq(chmod(path, 0640), 0);
	refused_with("generated:s", "secret generated:s: mode 0640, not 0600");
	ck_assert_int_eq(chmod(path, 0400), 0);
	refused_with("generated:s", "secret generated:s: mode 0400, not 0600");
	ck_assert_int_eq(chmod(path, 0600), 0);
	free(path);
	xasprintf(&path, "%s/secrets", tmpdir);
	ck_assert_int_eq(chmod(path, 0750), 0);
	refused_with("generated:s", "secret directory %s/secrets: mode 0750, "
	    "not 0700");
	ck_assert_int_eq(secret_generate(tmpdir, "t", &whsec, &cause), -1);
	ck_assert_ptr_null(whsec);
	free(cause);
	ck_assert_int_eq(chmod(path, 0700), 0);
	free(path);
	ck_assert_int_eq(secret_generate(tmpdir, "s", &whsec, &cause), -1);
	ck_assert_str_eq(cause, "secret generated:s: already exists");
	free(cause);
	ck_assert_int_eq(secret_generate(tmpdir, "../x", &whsec, &cause), -1);
	ck_assert_str_eq(cause, "secret generated:../x: bad name");
	free(cause);
	ck_assert_int_eq(secret_generate(tmpdir, ".x", &whsec, &cause), -1);
	free(cause);
	ck_assert_int_eq(secret_ref_check("generated:a/b", &cause), -1);
	free(cause);
	ck_assert_int_eq(secret_ref_check("generated", &cause), -1);
	free(cause);
	ck_assert_int_eq(secret_remove(tmpdir, "nope", &cause), -1);
	ck_assert_str_eq(cause, "secret generated:nope: No such file or "
	    "directory");
	free(cause);
}
END_TEST

/* ---- fingerprint --------------------------------------------------------- */

/* The fingerprint is the SHA-256 sha256sum computes over the same bytes. */
START_TEST(test_fingerprint)
{
	static const unsigned char	 bytes[] = "k\0e\ny\xff";
	char				 fp[65], want[65], *path, *cmd;
	FILE				*f;

	xasprintf(&path, "%s/bytes", tmpdir);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	ck_assert_uint_eq(fwrite(bytes, 1, sizeof bytes - 1, f),
	    sizeof bytes - 1);
	fclose(f);
	xasprintf(&cmd, "sha256sum %s", path);
	ck_assert_ptr_nonnull(f = popen(cmd, "r"));
	ck_assert_ptr_nonnull(fgets(want, sizeof want, f));
	pclose(f);
	secret_fingerprint(bytes, sizeof bytes - 1, fp);
	ck_assert_uint_eq(strlen(fp), 64);
	ck_assert_str_eq(fp, want);
	free(cmd);
	free(path);
}
END_TEST

/* Other bytes give another fingerprint; none is the secret itself. */
START_TEST(test_fingerprint_bad)
{
	char	a[65], b[65];

	secret_fingerprint((const unsigned char *)"abc", 3, a);
	secret_fingerprint((const unsigned char *)"abd", 3, b);
	ck_assert_str_ne(a, b);
	ck_assert_str_eq(a, "ba7816bf8f01cfea414140de5dae2223"
	    "b00361a396177a9cb410ff61f20015ad");
	secret_fingerprint((const unsigned char *)"", 0, a);
	ck_assert_str_eq(a, "e3b0c44298fc1c149afbf4c8996fb924"
	    "27ae41e4649b934ca495991b7852b855");
}
END_TEST

/* ---- suites -------------------------------------------------------------- */

static Suite *
one_suite(const char *name, const TTest *good, const TTest *bad,
    const TTest *good2, const TTest *bad2, const TTest *good3,
    const TTest *bad3)
{
	Suite	*s = suite_create(name);
	TCase	*tc = tcase_create(name);

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, good);
	tcase_add_test(tc, bad);
	if (good2 != NULL) {
		tcase_add_test(tc, good2);
		tcase_add_test(tc, bad2);
	}
	if (good3 != NULL) {
		tcase_add_test(tc, good3);
		tcase_add_test(tc, bad3);
	}
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	log_open("check_secret", LOG_LEVEL_WARN);
	return (lib_run(CK_NORMAL,
	    one_suite("file", test_file_read, test_file_read_bad,
	    test_read_file, test_read_file_bad, NULL, NULL),
	    one_suite("env", test_env_read, test_env_read_bad, NULL, NULL,
	    NULL, NULL),
	    one_suite("exec", test_exec_read, test_exec_read_bad,
	    test_exec_bound, test_exec_bound_bad, test_exec_timeout,
	    test_exec_timeout_bad),
	    one_suite("exec-cache", test_exec_cache, test_exec_cache_bad,
	    test_exec_off_loop, test_exec_off_loop_bad, NULL, NULL),
	    one_suite("generated", test_generated_create,
	    test_generated_create_bad, NULL, NULL, NULL, NULL),
	    one_suite("fingerprint", test_fingerprint, test_fingerprint_bad,
	    NULL, NULL, NULL, NULL), NULL));
}
