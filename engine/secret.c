/*
 * engine/secret.c: secret references.  A reference names where a secret is
 * kept, never the secret itself:
 *
 *	env:NAME	the daemon's environment variable NAME
 *	file:/PATH	the contents of a regular file that neither the group
 *			nor others may read or write (symbolic links are
 *			followed; the file they reach is checked)
 *	exec:CMD ARG...	the standard output of CMD, run without a shell (the
 *			words are split on spaces and tabs, no quoting) in a
 *			child the loop watches, kept in memory and read
 *			again in the background once older than a TTL
 *			(default 5 min)
 *	generated:NAME	a secret the daemon made with secret_generate, kept in
 *			DATA/secrets/NAME (mode 0600, directory 0700)
 *
 * One trailing newline (and a carriage return before it) is dropped from
 * what a file or a command gives.  A secret is handed to the caller, who
 * wipes it with secret_free once done; nothing here logs it, and error
 * messages never hold it nor a command's output.  Only exec: values are
 * kept, in the cache, and wiped when replaced or when secret_cache_clear
 * runs.
 *
 * An exec: command never runs on the loop: secret_resolve answers from the
 * cache (the value last read, refreshed in the background once older than
 * the TTL; "not read yet" before the first read ends), and secret_prepare
 * starts a read and calls back when it ended, for requests that give a
 * reference and want to know it works.  A command is killed after the
 * timeout (5 s).  Only admins may give env:, file: and exec: references
 * (the control methods check it before anything is read).
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "engine.h"

#define SECRET_MAX		(64 * 1024)	/* bytes of one secret */
#define SECRET_EXEC_WORDS	64		/* words of an exec: command */
#define SECRET_NAME_MAX		128		/* bytes of a generated: name */
#define SECRET_GEN_BYTES	32		/* random bytes generated */
#define SECRET_DIR		"secrets"	/* under the data directory */

#define SECRET_FRESH_MS		5000		/* see secret_prepare */

/* Someone waiting for an exec: command's value (secret_prepare). */
struct secret_waiter {
	secret_ready_cb		 cb;
	void			*arg;
	SLIST_ENTRY(secret_waiter) entry;
};

/* One exec: secret, keyed by its reference: its value and its reading. */
struct secret_cached {
	char			*ref;
	char			*word;		/* the command, for messages */
	unsigned char		*value;		/* NULL: never read */
	size_t			 len;
	int64_t			 fetched;	/* monotonic ms */
	struct exec_job		*job;		/* a read under way */
	int			 serving;	/* telling its waiters */
	SLIST_HEAD(, secret_waiter) waiters;
	LIST_ENTRY(secret_cached) entry;
};
static LIST_HEAD(, secret_cached) secret_cache =
    LIST_HEAD_INITIALIZER(secret_cache);

static int64_t	 secret_exec_ttl_ms = 5 * 60 * 1000;
static int64_t	 secret_exec_timeout_ms = 5 * 1000;
static char	*secret_data_dir;

static int	 secret_env_name(const char *);
static int	 secret_gen_name(const char *);
static int64_t	 secret_mono_ms(void);
static int	 secret_from_env(const char *, unsigned char **, size_t *,
		     char **);
static int	 secret_from_file(const char *, unsigned char **, size_t *,
		     char **);
static int	 secret_read_fd(int, const char *, unsigned char **,
		     size_t *, char **);
static void	 secret_strip(unsigned char *, size_t *);
static size_t	 secret_split(char *, char **, size_t);
static void	 secret_cache_set(struct secret_cached *,
		     const struct exec_output *, char **);
static void	 secret_fetched(const struct exec_output *, void *);
static int	 secret_fetch_start(struct secret_cached *, char **);
static int	 secret_from_exec(const char *, unsigned char **, size_t *,
		     char **);
static struct secret_cached *secret_cache_find(const char *);
static struct secret_cached *secret_cache_get(const char *);
static void	 secret_cache_drop(struct secret_cached *);
static char	*secret_gen_dir(const char *, int, char **);
static char	*secret_gen_path(const char *, const char *, int, char **,
		    char **);
static int	 secret_fsync_dir(const char *, char **);
static int	 secret_write_new(const char *, const char *, const char *,
		     const char *, char **);
static int	 secret_from_generated(const char *, unsigned char **,
		     size_t *, char **);

/* A portable environment variable name: [A-Za-z_][A-Za-z0-9_]*. */
static int
secret_env_name(const char *s)
{
	const char	*p;

	if (*s == '\0' || (*s >= '0' && *s <= '9'))
		return (0);
	for (p = s; *p != '\0'; p++) {
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || *p == '_'))
			return (0);
	}
	return (1);
}

/* A generated secret's name: [A-Za-z0-9_.-]+, not starting with a dot. */
static int
secret_gen_name(const char *s)
{
	const char	*p;

	if (*s == '\0' || *s == '.' || strlen(s) > SECRET_NAME_MAX)
		return (0);
	for (p = s; *p != '\0'; p++) {
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		    (*p >= '0' && *p <= '9') || *p == '_' || *p == '.' ||
		    *p == '-'))
			return (0);
	}
	return (1);
}

static int64_t
secret_mono_ms(void)
{
	struct timespec	ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		fatal("clock_gettime");
	return ((int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

/*
 * Check the syntax of reference REF without reading the secret.  Returns 0,
 * or -1 with *cause set.
 */
int
secret_ref_check(const char *ref, char **cause)
{
	if (ref == NULL || *ref == '\0') {
		xasprintf(cause, "secret reference is empty");
		return (-1);
	}
	if (strncmp(ref, "env:", 4) == 0) {
		if (!secret_env_name(ref + 4)) {
			xasprintf(cause, "secret reference \"%s\": env: needs "
			    "a variable name ([A-Za-z_][A-Za-z0-9_]*)",
			    ref);
			return (-1);
		}
		return (0);
	}
	if (strncmp(ref, "file:", 5) == 0) {
		if (ref[5] != '/') {
			xasprintf(cause, "secret reference \"%s\": file: needs "
			    "an absolute path", ref);
			return (-1);
		}
		return (0);
	}
	if (strncmp(ref, "exec:", 5) == 0) {
		if (ref[5 + strspn(ref + 5, " \t")] == '\0') {
			xasprintf(cause, "secret reference \"%s\": exec: needs "
			    "a command", ref);
			return (-1);
		}
		return (0);
	}
	if (strncmp(ref, "generated:", 10) == 0) {
		if (!secret_gen_name(ref + 10)) {
			xasprintf(cause, "secret reference \"%s\": generated: "
			    "needs a name ([A-Za-z0-9_.-], not starting with "
			    "a dot, at most %d bytes)", ref, SECRET_NAME_MAX);
			return (-1);
		}
		return (0);
	}
	xasprintf(cause, "secret reference \"%s\": expected env:NAME, "
	    "file:/PATH, exec:COMMAND or generated:NAME", ref);
	return (-1);
}

static int
secret_from_env(const char *name, unsigned char **out, size_t *len,
    char **cause)
{
	const char	*v;

	if ((v = getenv(name)) == NULL) {
		xasprintf(cause, "secret env:%s: not set", name);
		return (-1);
	}
	if (*v == '\0') {
		xasprintf(cause, "secret env:%s: empty", name);
		return (-1);
	}
	if (strlen(v) > SECRET_MAX) {
		xasprintf(cause, "secret env:%s: longer than %d bytes", name,
		    SECRET_MAX);
		return (-1);
	}
	*len = strlen(v);
	*out = xmalloc(*len + 1);
	memcpy(*out, v, *len + 1);
	return (0);
}

/* Drop one trailing newline, and a carriage return before it. */
static void
secret_strip(unsigned char *buf, size_t *n)
{
	if (*n > 0 && buf[*n - 1] == '\n') {
		(*n)--;
		if (*n > 0 && buf[*n - 1] == '\r')
			(*n)--;
	}
}

/*
 * Read at most SECRET_MAX bytes of FD; one trailing newline is dropped.
 * LABEL ("file:/PATH", "generated:NAME") begins each message.
 */
static int
secret_read_fd(int fd, const char *label, unsigned char **out, size_t *len,
    char **cause)
{
	unsigned char	*buf;
	size_t		 n = 0;
	ssize_t		 got;

	buf = xmalloc(SECRET_MAX + 2);
	for (;;) {
		got = read(fd, buf + n, SECRET_MAX + 1 - n);
		if (got == -1 && errno == EINTR)
			continue;
		if (got == -1) {
			xasprintf(cause, "secret %s: %s", label,
			    strerror(errno));
			secret_free(buf, SECRET_MAX + 1);
			return (-1);
		}
		if (got == 0)
			break;
		n += got;
		if (n > SECRET_MAX) {
			xasprintf(cause, "secret %s: larger than %d bytes",
			    label, SECRET_MAX);
			secret_free(buf, SECRET_MAX + 1);
			return (-1);
		}
	}
	secret_strip(buf, &n);
	if (n == 0) {
		xasprintf(cause, "secret %s: empty", label);
		secret_free(buf, SECRET_MAX + 1);
		return (-1);
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return (0);
}

/*
 * The one reader of a secret kept in a file, for file: and generated:.
 * PATH must open (without blocking, never as a controlling terminal) as a
 * regular file that neither the group nor others may read, write or run;
 * with SECRET_FILE_0600 its mode must be exactly 0600, and with
 * SECRET_FILE_NOFOLLOW it must not be a symbolic link.  At most SECRET_MAX
 * bytes, one trailing newline (and a carriage return before it) dropped,
 * not empty.  LABEL ("file:/PATH", "generated:NAME") begins each message;
 * the messages never hold the secret.  Returns 0 and the secret as
 * secret_resolve does, or -1 with *cause set.
 */
int
secret_read_file(const char *path, const char *label, int flags,
    unsigned char **out, size_t *len, char **cause)
{
	struct stat	 st;
	int		 fd, oflags, rc = -1;

	*out = NULL;
	*len = 0;
	oflags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
	if (flags & SECRET_FILE_NOFOLLOW)
		oflags |= O_NOFOLLOW;
	if ((fd = open(path, oflags)) == -1) {
		xasprintf(cause, "secret %s: %s", label, strerror(errno));
		return (-1);
	}
	if (fstat(fd, &st) == -1)
		xasprintf(cause, "secret %s: %s", label, strerror(errno));
	else if (!S_ISREG(st.st_mode))
		xasprintf(cause, "secret %s: not a regular file", label);
	else if ((flags & SECRET_FILE_0600) && (st.st_mode & 07777) != 0600) {
		xasprintf(cause, "secret %s: mode %04o, not 0600", label,
		    (unsigned)(st.st_mode & 07777));
	} else if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		xasprintf(cause, "secret %s: mode %04o lets the group or "
		    "others in (chmod 600 it)", label,
		    (unsigned)(st.st_mode & 07777));
	} else
		rc = secret_read_fd(fd, label, out, len, cause);
	close(fd);
	return (rc);
}

/* Read file:PATH: links followed, closed to the group and others. */
static int
secret_from_file(const char *path, unsigned char **out, size_t *len,
    char **cause)
{
	char	*label;
	int	 rc;

	xasprintf(&label, "file:%s", path);
	rc = secret_read_file(path, label, 0, out, len, cause);
	free(label);
	return (rc);
}

/*
 * Split S in place into at most MAX - 1 words separated by spaces and tabs,
 * stored in ARGV and followed by NULL.  Returns the number of words, or
 * MAX when there are too many.
 */
static size_t
secret_split(char *s, char **argv, size_t max)
{
	size_t	n = 0;
	char	*w;

	while ((w = strsep(&s, " \t")) != NULL) {
		if (*w == '\0')
			continue;
		if (n == max - 1)
			return (max);
		argv[n++] = w;
	}
	argv[n] = NULL;
	return (n);
}

/* The value of a fetch that ended well: strip, bound and keep it in C. */
static void
secret_cache_set(struct secret_cached *c, const struct exec_output *o,
    char **cause)
{
	size_t	n = o->out_len;

	if (n > 0 && o->out[n - 1] == '\n') {
		n--;
		if (n > 0 && o->out[n - 1] == '\r')
			n--;
	}
	if (n == 0) {
		xasprintf(cause, "secret exec:%s: empty output", c->word);
		return;
	}
	secret_free(c->value, c->len);
	c->value = xmalloc(n + 1);
	memcpy(c->value, o->out, n);
	c->value[n] = '\0';
	c->len = n;
	c->fetched = secret_mono_ms();
}

/*
 * An exec: command ended: its output becomes the cached value (a failed
 * read keeps the value read before, if any), then every waiter is told.
 */
static void
secret_fetched(const struct exec_output *o, void *arg)
{
	struct secret_cached	*c = arg;
	struct secret_waiter	*w;
	char			*cause = NULL;

	c->job = NULL;
	if (!o->ok)
		xasprintf(&cause, "secret exec:%s: %s", c->word, o->error);
	else
		secret_cache_set(c, o, &cause);
	if (cause != NULL)
		log_warnx("msg=\"secret command failed\" secret=\"exec:%s\" "
		    "error=\"%s\"%s", log_escape(c->word), log_escape(cause),
		    c->value != NULL ? " kept=previous" : "");
	c->serving = 1;
	while ((w = SLIST_FIRST(&c->waiters)) != NULL) {
		SLIST_REMOVE_HEAD(&c->waiters, entry);
		w->cb(w->arg, cause);
		free(w);
	}
	c->serving = 0;
	free(cause);
}

/*
 * Start reading C's command in a child watched by the loop, unless a read
 * is already under way.  Returns 0, or -1 with *cause set.
 */
static int
secret_fetch_start(struct secret_cached *c, char **cause)
{
	char	*copy, *argv[SECRET_EXEC_WORDS];

	if (c->job != NULL)
		return (0);
	copy = xstrdup(c->ref + 5);
	if (secret_split(copy, argv, SECRET_EXEC_WORDS) ==
	    SECRET_EXEC_WORDS) {
		xasprintf(cause, "secret exec:%s: more than %d words",
		    c->word, SECRET_EXEC_WORDS - 1);
		free(copy);
		return (-1);
	}
	c->job = exec_run(argv, secret_exec_timeout_ms, SECRET_MAX,
	    "secret", secret_fetched, c, cause);
	free(copy);
	if (c->job == NULL) {
		log_warnx("msg=\"secret command not started\" "
		    "secret=\"exec:%s\" error=\"%s\"", log_escape(c->word),
		    log_escape(*cause));
		return (-1);
	}
	return (0);
}

static struct secret_cached *
secret_cache_find(const char *ref)
{
	struct secret_cached	*c;

	LIST_FOREACH(c, &secret_cache, entry) {
		if (strcmp(c->ref, ref) == 0)
			return (c);
	}
	return (NULL);
}

/* The cache entry of exec: reference REF, made (empty) if needed. */
static struct secret_cached *
secret_cache_get(const char *ref)
{
	struct secret_cached	*c;
	char			*copy, *argv[SECRET_EXEC_WORDS];

	if ((c = secret_cache_find(ref)) != NULL)
		return (c);
	c = xcalloc(1, sizeof *c);
	c->ref = xstrdup(ref);
	copy = xstrdup(ref + 5);
	secret_split(copy, argv, SECRET_EXEC_WORDS);
	c->word = xstrdup(argv[0] != NULL ? argv[0] : "");
	free(copy);
	SLIST_INIT(&c->waiters);
	LIST_INSERT_HEAD(&secret_cache, c, entry);
	return (c);
}

static void
secret_cache_drop(struct secret_cached *c)
{
	struct secret_waiter	*w;

	LIST_REMOVE(c, entry);
	if (c->job != NULL)
		exec_detach(c->job);
	while ((w = SLIST_FIRST(&c->waiters)) != NULL) {
		SLIST_REMOVE_HEAD(&c->waiters, entry);
		free(w);
	}
	secret_free(c->value, c->len);
	free(c->word);
	free(c->ref);
	free(c);
}

/*
 * The secret exec:CMD names, from the cache: the value last read.  A value
 * older than the TTL is still used while a new read runs in the background
 * (the loop never waits for a command).  With no value yet, a read starts
 * and the answer is -1: not read yet.
 */
static int
secret_from_exec(const char *ref, unsigned char **out, size_t *len,
    char **cause)
{
	struct secret_cached	*c = secret_cache_get(ref);
	char			*why = NULL;

	if (c->value == NULL) {
		if (secret_fetch_start(c, &why) == -1) {
			*cause = why;
			return (-1);
		}
		xasprintf(cause, "secret exec:%s: not read yet (its command "
		    "runs now)", c->word);
		return (-1);
	}
	if (!c->serving && secret_mono_ms() - c->fetched >=
	    secret_exec_ttl_ms && secret_fetch_start(c, &why) == -1)
		free(why);
	*out = xmalloc(c->len + 1);
	memcpy(*out, c->value, c->len + 1);
	*len = c->len;
	return (0);
}

/*
 * Make REF readable for a request that gives it.  Returns 0 when
 * secret_resolve can read it now (any kind but exec:; an exec: value read
 * within the TTL, or within the last SECRET_FRESH_MS whatever the TTL, with
 * no read under way); 1 when an exec: command was started (or joined, if
 * one was running) and CB (if not NULL) will run on the loop with NULL or
 * the reason it failed; -1 with *cause set when the reference is malformed
 * or the command cannot start.
 */
int
secret_prepare(const char *ref, secret_ready_cb cb, void *arg, char **cause)
{
	struct secret_cached	*c;
	struct secret_waiter	*w;
	int64_t			 fresh;

	if (secret_ref_check(ref, cause) != 0)
		return (-1);
	if (strncmp(ref, "exec:", 5) != 0)
		return (0);
	c = secret_cache_get(ref);
	fresh = secret_exec_ttl_ms > SECRET_FRESH_MS ? secret_exec_ttl_ms :
	    SECRET_FRESH_MS;
	if (c->job == NULL && c->value != NULL &&
	    secret_mono_ms() - c->fetched < fresh)
		return (0);
	if (secret_fetch_start(c, cause) == -1)
		return (-1);
	if (cb != NULL) {
		w = xcalloc(1, sizeof *w);
		w->cb = cb;
		w->arg = arg;
		SLIST_INSERT_HEAD(&c->waiters, w, entry);
	}
	return (1);
}

/*
 * Does REF touch the host (env:, file:, exec:, or a generated: secret named
 * outright)?  Only admins may give such references; anyone else may only
 * ask for "generated" (a secret the daemon makes).
 */
int
secret_admin_only(const char *ref)
{
	return (ref != NULL && strcmp(ref, "generated") != 0);
}

/* Wipe and forget every cached exec: secret. */
void
secret_cache_clear(void)
{
	while (!LIST_EMPTY(&secret_cache))
		secret_cache_drop(LIST_FIRST(&secret_cache));
}

/* How long an exec: value is used before it is read again in the
 * background (0: read again at each use); default 5 min. */
void
secret_set_exec_ttl_ms(int64_t ms)
{
	secret_exec_ttl_ms = ms < 0 ? 0 : ms;
}

/* How long an exec: command may run before it is killed; default 5 s. */
void
secret_set_exec_timeout_ms(int64_t ms)
{
	secret_exec_timeout_ms = ms <= 0 ? 1 : ms;
}

/* Where generated: references are read from (DATA/secrets/NAME); copied. */
void
secret_set_data_dir(const char *data_dir)
{
	free(secret_data_dir);
	secret_data_dir = data_dir == NULL ? NULL : xstrdup(data_dir);
}

/*
 * DATA/secrets, made (mode 0700) when CREATE is set and it does not exist.
 * Refused unless it is a directory of mode exactly 0700.  Returns allocated,
 * or NULL with *cause set.
 */
static char *
secret_gen_dir(const char *data_dir, int create, char **cause)
{
	struct stat	 st;
	char		*dir;

	xasprintf(&dir, "%s/" SECRET_DIR, data_dir);
	if (create && mkdir(dir, 0700) == -1 && errno != EEXIST) {
		xasprintf(cause, "secret directory %s: %s", dir,
		    strerror(errno));
		free(dir);
		return (NULL);
	}
	if (lstat(dir, &st) == -1) {
		xasprintf(cause, "secret directory %s: %s", dir,
		    strerror(errno));
	} else if (!S_ISDIR(st.st_mode))
		xasprintf(cause, "secret directory %s: not a directory", dir);
	else if ((st.st_mode & 07777) != 0700) {
		xasprintf(cause, "secret directory %s: mode %04o, not 0700",
		    dir, (unsigned)(st.st_mode & 07777));
	} else
		return (dir);
	free(dir);
	return (NULL);
}

/*
 * DATA/secrets/NAME for a generated secret's NAME, and DATA/secrets in
 * *DIR (secret_gen_dir, made when CREATE); both allocated.  NULL with
 * *cause set when NAME is not a valid name or the directory is refused.
 */
static char *
secret_gen_path(const char *data_dir, const char *name, int create,
    char **dir, char **cause)
{
	char	*path;

	if (!secret_gen_name(name)) {
		xasprintf(cause, "secret generated:%s: bad name", name);
		return (NULL);
	}
	if ((*dir = secret_gen_dir(data_dir, create, cause)) == NULL)
		return (NULL);
	xasprintf(&path, "%s/%s", *dir, name);
	return (path);
}

static int
secret_fsync_dir(const char *dir, char **cause)
{
	int	fd;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    fsync(fd) == -1) {
		xasprintf(cause, "secret directory %s: %s", dir,
		    strerror(errno));
		if (fd != -1)
			close(fd);
		return (-1);
	}
	close(fd);
	return (0);
}

/*
 * Write TEXT as the new file DIR/NAME (PATH): a temporary file of mode 0600,
 * fsync, rename, fsync of DIR.  Returns -1 with *cause set, leaving nothing.
 */
static int
secret_write_new(const char *dir, const char *name, const char *path,
    const char *text, char **cause)
{
	char	*tmp;
	size_t	 len = strlen(text), off = 0;
	ssize_t	 w;
	int	 fd;

	xasprintf(&tmp, "%s/.%s.XXXXXX", dir, name);
	if ((fd = mkstemp(tmp)) == -1) {
		xasprintf(cause, "secret generated:%s: %s", name,
		    strerror(errno));
		free(tmp);
		return (-1);
	}
	while (off < len) {
		if ((w = write(fd, text + off, len - off)) == -1 &&
		    errno == EINTR)
			continue;
		if (w == -1)
			break;
		off += w;
	}
	if (off < len || fchmod(fd, 0600) == -1 || fsync(fd) == -1) {
		xasprintf(cause, "secret generated:%s: %s", name,
		    strerror(errno));
		close(fd);
		goto fail;
	}
	if (close(fd) == -1 || rename(tmp, path) == -1) {
		xasprintf(cause, "secret generated:%s: %s", name,
		    strerror(errno));
		goto fail;
	}
	free(tmp);
	return (secret_fsync_dir(dir, cause));
fail:
	unlink(tmp);
	free(tmp);
	return (-1);
}

/*
 * Make 32 random bytes and keep them as DATA_DIR/secrets/NAME, in the form
 * whsec_BASE64 (which secret_resolve of generated:NAME returns).  The
 * directory is made (0700) if needed; an existing NAME is refused.  Sets
 * *whsec_out to the whsec_ form (allocated; the caller shows it once and
 * wipes it with secret_free).  Returns 0, or -1 with *cause set.
 */
int
secret_generate(const char *data_dir, const char *name, char **whsec_out,
    char **cause)
{
	unsigned char	 raw[SECRET_GEN_BYTES];
	char		 text[6 + 4 * ((SECRET_GEN_BYTES + 2) / 3) + 2];
	char		*dir, *path;
	struct stat	 st;
	int		 n, rc = -1;

	*whsec_out = NULL;
	if ((path = secret_gen_path(data_dir, name, 1, &dir, cause)) == NULL)
		return (-1);
	if (lstat(path, &st) == 0) {
		xasprintf(cause, "secret generated:%s: already exists", name);
		goto out;
	}
	if (errno != ENOENT) {
		xasprintf(cause, "secret generated:%s: %s", name,
		    strerror(errno));
		goto out;
	}
	if (RAND_bytes(raw, sizeof raw) != 1) {
		xasprintf(cause, "secret generated:%s: no random bytes", name);
		goto out;
	}
	memcpy(text, "whsec_", 6);
	n = EVP_EncodeBlock((unsigned char *)text + 6, raw, sizeof raw);
	text[6 + n] = '\n';
	text[7 + n] = '\0';
	if (secret_write_new(dir, name, path, text, cause) == 0) {
		text[6 + n] = '\0';
		*whsec_out = xstrdup(text);
		rc = 0;
	}
out:
	OPENSSL_cleanse(raw, sizeof raw);
	OPENSSL_cleanse(text, sizeof text);
	free(path);
	free(dir);
	return (rc);
}

/*
 * Remove DATA_DIR/secrets/NAME (the bytes are unlinked, not overwritten).
 * Returns 0, or -1 with *cause set (also when there is no such secret).
 */
int
secret_remove(const char *data_dir, const char *name, char **cause)
{
	char	*dir, *path;
	int	 rc = -1;

	if ((path = secret_gen_path(data_dir, name, 0, &dir, cause)) == NULL)
		return (-1);
	if (unlink(path) == -1) {
		xasprintf(cause, "secret generated:%s: %s", name,
		    strerror(errno));
	} else
		rc = secret_fsync_dir(dir, cause);
	free(path);
	free(dir);
	return (rc);
}

/* Read generated:NAME: a regular file of mode 0600 in a 0700 directory. */
static int
secret_from_generated(const char *name, unsigned char **out, size_t *len,
    char **cause)
{
	char	*dir, *path, *label;
	int	 rc;

	if (secret_data_dir == NULL) {
		xasprintf(cause, "secret generated:%s: no data directory",
		    name);
		return (-1);
	}
	if ((path = secret_gen_path(secret_data_dir, name, 0, &dir,
	    cause)) == NULL)
		return (-1);
	xasprintf(&label, "generated:%s", name);
	rc = secret_read_file(path, label, SECRET_FILE_NOFOLLOW |
	    SECRET_FILE_0600, out, len, cause);
	free(label);
	free(path);
	free(dir);
	return (rc);
}

/*
 * Read the secret REF names into *out (allocated, NUL-terminated, *len
 * bytes without the NUL; the caller wipes it with secret_free).  Returns 0,
 * or -1 with *cause set; the message never holds the secret.  An exec:
 * reference may block for up to the exec timeout (see the top of the file).
 */
int
secret_resolve(const char *ref, unsigned char **out, size_t *len,
    char **cause)
{
	*out = NULL;
	*len = 0;
	if (secret_ref_check(ref, cause) != 0)
		return (-1);
	if (strncmp(ref, "env:", 4) == 0)
		return (secret_from_env(ref + 4, out, len, cause));
	if (strncmp(ref, "exec:", 5) == 0)
		return (secret_from_exec(ref, out, len, cause));
	if (strncmp(ref, "generated:", 10) == 0)
		return (secret_from_generated(ref + 10, out, len, cause));
	return (secret_from_file(ref + 5, out, len, cause));
}

/* Wipe and free a secret of LEN bytes (the NUL after it included). */
void
secret_free(unsigned char *secret, size_t len)
{
	if (secret == NULL)
		return;
	OPENSSL_cleanse(secret, len + 1);
	free(secret);
}

/*
 * The SHA-256 of the LEN bytes at SECRET as 64 lowercase hex digits and a
 * NUL in OUT: what audit records show instead of a secret.
 */
void
secret_fingerprint(const unsigned char *secret, size_t len, char out[65])
{
	static const char	 hex[] = "0123456789abcdef";
	unsigned char		 md[32];
	unsigned int		 mdlen = 0, i;

	if (EVP_Digest(secret, len, md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen != sizeof md)
		fatalx("secret_fingerprint: SHA-256 failed");
	for (i = 0; i < sizeof md; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 0xf];
	}
	out[64] = '\0';
}
