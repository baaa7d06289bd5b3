/*
 * tests/lib.c: the fixtures the Check programs share, so that each program
 * holds only its own tests: temporary directories made and removed, the
 * paths of the source and build trees, the engine with the integration
 * catalog and a journal (the set-up of the actor tests), a journal opened
 * the tests' way, waiting on the loop for a record or for executor calls,
 * reproducible pseudo-random numbers, a JSON string getter, a suite's test
 * cases from a list of tests, and the main() that runs the suites.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "actors.h"
#include "lib.h"

#define LIB_WAIT_SEC	30	/* lib_wait_all gives up after this */

static uint64_t	lib_rnd_state = 0x9e3779b97f4a7c15ULL;

static void	lib_submit_done(const struct journal_result *, void *);
static void	lib_guard(evutil_socket_t, short, void *);

/* A new empty directory $TMPDIR/NAME.XXXXXX (/tmp without TMPDIR);
 * returns allocated. */
char *
lib_tmpdir(const char *name)
{
	const char	*t = getenv("TMPDIR");
	char		*path;

	xasprintf(&path, "%s/%s.XXXXXX", t != NULL && *t != '\0' ? t : "/tmp",
	    name);
	ck_assert_msg(mkdtemp(path) != NULL, "mkdtemp %s", path);
	return (path);
}

/* Remove PATH and everything under it, also directories a test left
 * without permissions; symbolic links are removed, never followed. */
void
lib_rm_tree(const char *path)
{
	DIR		*d;
	struct dirent	*de;
	struct stat	 st;
	char		*sub;

	if (lstat(path, &st) == -1)
		return;
	if (!S_ISDIR(st.st_mode)) {
		unlink(path);
		return;
	}
	chmod(path, 0700);
	if ((d = opendir(path)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			xasprintf(&sub, "%s/%s", path, de->d_name);
			lib_rm_tree(sub);
			free(sub);
		}
		closedir(d);
	}
	rmdir(path);
}

/* Write LEN bytes of DATA as DIR/NAME (replacing it) with MODE; returns
 * the path (allocated). */
char *
lib_put_file(const char *dir, const char *name, const void *data, size_t len,
    mode_t mode)
{
	char	*path;
	int	 fd;

	xasprintf(&path, "%s/%s", dir, name);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ck_assert_msg(fd != -1, "open %s", path);
	ck_assert_int_eq(write(fd, data, len), (ssize_t)len);
	ck_assert_int_eq(close(fd), 0);
	ck_assert_int_eq(chmod(path, mode), 0);
	return (path);
}

/* REL under the source tree ($CHIME_SRCDIR, else "."); returns allocated. */
char *
lib_srcdir_path(const char *rel)
{
	const char	*src = getenv("CHIME_SRCDIR");
	char		*path;

	xasprintf(&path, "%s/%s", src != NULL ? src : ".", rel);
	return (path);
}

/* The directory of the test programs: $CHIME_BUILDDIR/tests, else the
 * running program's; returns allocated. */
char *
lib_tests_dir(void)
{
	const char	*b = getenv("CHIME_BUILDDIR");
	char		 exe[PATH_MAX], *slash, *d;
	ssize_t		 n;

	if (b != NULL && *b != '\0') {
		xasprintf(&d, "%s/tests", b);
		return (d);
	}
	if ((n = readlink("/proc/self/exe", exe, sizeof exe - 1)) <= 0)
		return (xstrdup("tests"));
	exe[n] = '\0';
	if ((slash = strrchr(exe, '/')) != NULL)
		*slash = '\0';
	return (xstrdup(exe));
}

/* Open and start the journal in DIR on BASE (map sizes 0: the defaults). */
struct journal *
lib_journal_open(const char *dir, struct event_base *base,
    enum journal_sync sync, size_t map_initial, size_t map_max)
{
	struct journal_options	 o;
	struct journal		*j;
	char			*cause = NULL;

	memset(&o, 0, sizeof o);
	o.sync = sync;
	o.map_initial = map_initial;
	o.map_max = map_max;
	o.index = run_list_index;
	j = journal_open(dir, &o, &cause);
	ck_assert_msg(j != NULL, "journal_open: %s", cause);
	ck_assert_msg(journal_start(j, base, &cause) == 0, "journal_start: %s",
	    cause);
	return (j);
}

/*
 * The engine with tests/integration/catalog.json.  With DIR, also a journal
 * in DIR/journal (no fsync), four slots and the accounts loaded from it, as
 * the daemon starts.
 */
void
lib_engine_start(const char *dir)
{
	char	*path, *cause = NULL;

	ck_assert_int_eq(engine_init(), 0);
	engine->catalog_path = lib_srcdir_path("tests/integration/catalog.json");
	ck_assert_msg(engine_reload(&cause) == 0, "catalog: %s", cause);
	if (dir == NULL)
		return;
	xasprintf(&path, "%s/journal", dir);
	engine->journal = lib_journal_open(path, engine->base,
	    JOURNAL_SYNC_NONE, 0, 0);
	free(path);
	slots_init(4);
	ck_assert_msg(account_load_all(engine->journal, &cause) == 0 &&
	    prefs_load_all(engine->journal, &cause) == 0 &&
	    budget_load_all(engine->journal, &cause) == 0,
	    "accounts: %s", cause);
}

/* Undo lib_engine_start: the journal, schedules and accounts, the engine. */
void
lib_engine_stop(void)
{
	if (engine->journal != NULL) {
		journal_close(engine->journal);
		engine->journal = NULL;
		schedule_free_all();
		budget_free_all();
		prefs_free_all();
		account_free_all();
	}
	engine_free();
}

static void
lib_submit_done(const struct journal_result *res, void *arg)
{
	ck_assert_int_eq(res->status, JOURNAL_OK);
	(*(int *)arg)++;
}

/* Submit REC to the engine's journal and run the loop until it is durable. */
void
lib_submit_wait(struct jrec *rec)
{
	int	n = 0;

	journal_submit(engine->journal, rec, lib_submit_done, &n);
	while (n == 0)
		event_base_loop(engine->base, EVLOOP_ONCE);
}

/* An executor's done callback: ARG is a struct outcome. */
void
lib_done(struct exec_result *r, void *arg)
{
	struct outcome	*o = arg;

	o->calls++;
	o->r = r;
}

static void
lib_guard(evutil_socket_t fd, short events, void *arg)
{
	*(int *)arg = 1;
}

/*
 * Run BASE until each of the N outcomes has its callback (at most
 * LIB_WAIT_SEC), let deferred frees run, and check that no callback came
 * twice.
 */
void
lib_wait_all(struct event_base *base, struct outcome *outs, size_t n)
{
	struct timeval	 tv = { LIB_WAIT_SEC, 0 };
	struct event	*guard;
	size_t		 i;
	int		 expired = 0, pending;

	guard = evtimer_new(base, lib_guard, &expired);
	evtimer_add(guard, &tv);
	for (;;) {
		for (pending = 0, i = 0; i < n; i++)
			pending += outs[i].calls == 0;
		if (pending == 0 || expired)
			break;
		event_base_loop(base, EVLOOP_ONCE);
	}
	event_free(guard);
	ck_assert_msg(!expired, "callbacks did not arrive in %d s",
	    LIB_WAIT_SEC);
	event_base_loop(base, EVLOOP_NONBLOCK);
	for (i = 0; i < n; i++)
		ck_assert_int_eq(outs[i].calls, 1);
}

/* xorshift64*: reproducible pseudo-random numbers (one sequence a
 * program). */
uint64_t
lib_rnd(void)
{
	lib_rnd_state ^= lib_rnd_state >> 12;
	lib_rnd_state ^= lib_rnd_state << 25;
	lib_rnd_state ^= lib_rnd_state >> 27;
	return (lib_rnd_state * 2685821657736338717ULL);
}

/* The string KEY of object O (borrowed); fails the test if there is none. */
const char *
lib_json_str(json_t *o, const char *key)
{
	const char	*s = json_string_value(json_object_get(o, key));

	ck_assert_msg(s != NULL, "no string \"%s\"", key);
	return (s);
}

/*
 * A test case NAME added to suite S, with the tests that follow (a
 * NULL-terminated list, run in that order), SETUP and TEARDOWN as a checked
 * fixture (none when both are NULL) and a timeout of TIMEOUT seconds (0:
 * Check's default).  Returns the case, for the tests and fixtures of other
 * kinds.
 */
TCase *
lib_tcase(Suite *s, const char *name, SFun setup, SFun teardown, int timeout,
    ...)
{
	TCase		*tc = tcase_create(name);
	const TTest	*t;
	va_list		 ap;

	if (setup != NULL || teardown != NULL)
		tcase_add_checked_fixture(tc, setup, teardown);
	if (timeout != 0)
		tcase_set_timeout(tc, timeout);
	va_start(ap, timeout);
	while ((t = va_arg(ap, const TTest *)) != NULL)
		tcase_add_test(tc, t);
	va_end(ap);
	suite_add_tcase(s, tc);
	return (tc);
}

/*
 * main() of a Check program: run the suites (a NULL-terminated list after
 * FIRST) with MODE; EXIT_SUCCESS when every test passed.
 */
int
lib_run(enum print_output mode, Suite *first, ...)
{
	SRunner	*sr;
	Suite	*s;
	va_list	 ap;
	int	 failed;

	sr = srunner_create(first);
	va_start(ap, first);
	while ((s = va_arg(ap, Suite *)) != NULL)
		srunner_add_suite(sr, s);
	va_end(ap);
	srunner_run_all(sr, mode);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}

/* J as msgpack: integers as integers, null as nil. */
void
lib_pack_json(msgpack_packer *pk, json_t *j)
{
	const char	*k;
	json_t		*v;
	size_t		 i;

	switch (json_typeof(j)) {
	case JSON_OBJECT:
		msgpack_pack_map(pk, json_object_size(j));
		json_object_foreach(j, k, v) {
			pack_str(pk, k);
			lib_pack_json(pk, v);
		}
		break;
	case JSON_ARRAY:
		msgpack_pack_array(pk, json_array_size(j));
		json_array_foreach(j, i, v)
			lib_pack_json(pk, v);
		break;
	case JSON_STRING:
		pack_str(pk, json_string_value(j));
		break;
	case JSON_INTEGER:
		msgpack_pack_int64(pk, json_integer_value(j));
		break;
	case JSON_TRUE:
		msgpack_pack_true(pk);
		break;
	case JSON_FALSE:
		msgpack_pack_false(pk);
		break;
	default:
		msgpack_pack_nil(pk);
		break;
	}
}
