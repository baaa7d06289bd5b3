/*
 * engine/secret.c: secret references.  A reference names where a secret is
 * kept, never the secret itself:
 *
 *	env:NAME	the daemon's environment variable NAME
 *	file:/PATH	the contents of a regular file that neither the group
 *			nor others may read or write (symbolic links are
 *			followed; the file they reach is checked)
 *	exec:CMD ARG...	the standard output of CMD, run without a shell (the
 *			words are split on spaces and tabs, no quoting),
 *			cached in memory for a TTL (default 5 min)
 *	generated:NAME	a secret the daemon made with secret_generate, kept in
 *			DATA/secrets/NAME (mode 0600, directory 0700)
 *
 * One trailing newline (and a carriage return before it) is dropped from
 * what a file or a command gives.  A secret is handed to the caller, who
 * wipes it with secret_free once done; nothing here logs it, and error
 * messages never hold it nor a command's output.  Only exec: values are
 * kept, in the cache, and wiped when they expire or secret_cache_clear runs.
 *
 * An exec: command runs synchronously: it blocks the caller (the loop) for
 * at most the timeout (5 s, then its process group is killed); the cache
 * makes that happen once per TTL per reference.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
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

extern char	**environ;

#define SECRET_MAX		(64 * 1024)	/* bytes of one secret */
#define SECRET_EXEC_WORDS	64		/* words of an exec: command */
#define SECRET_NAME_MAX		128		/* bytes of a generated: name */
#define SECRET_GEN_BYTES	32		/* random bytes generated */
#define SECRET_DIR		"secrets"	/* under the data directory */

/* One cached exec: secret, keyed by its reference. */
struct secret_cached {
	char			*ref;
	unsigned char		*value;
	size_t			 len;
	int64_t			 expires;	/* monotonic ms */
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
static int	 secret_spawn(char **, pid_t *, int *, char **);
static int	 secret_exec_read(int, pid_t, int64_t, const char *,
		     unsigned char **, size_t *, char **);
static int	 secret_exec_wait(pid_t, int64_t, const char *, char **);
static int	 secret_exec_run(const char *, unsigned char **, size_t *,
		     char **);
static int	 secret_from_exec(const char *, unsigned char **, size_t *,
		     char **);
static struct secret_cached *secret_cache_find(const char *);
static void	 secret_cache_drop(struct secret_cached *);
static void	 secret_cache_put(const char *, const unsigned char *, size_t);
static char	*secret_gen_dir(const char *, int, char **);
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

static int
secret_from_file(const char *path, unsigned char **out, size_t *len,
    char **cause)
{
	struct stat	 st;
	char		*label;
	int		 fd, rc = -1;

	xasprintf(&label, "file:%s", path);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY |
	    O_NONBLOCK)) == -1) {
		xasprintf(cause, "secret %s: %s", label, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) == -1)
		xasprintf(cause, "secret %s: %s", label, strerror(errno));
	else if (!S_ISREG(st.st_mode))
		xasprintf(cause, "secret %s: not a regular file", label);
	else if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		xasprintf(cause, "secret %s: mode %04o lets the group or "
		    "others in (chmod 600 it)", label,
		    (unsigned)(st.st_mode & 07777));
	} else
		rc = secret_read_fd(fd, label, out, len, cause);
	close(fd);
out:
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

/*
 * Start ARGV (argv[0] without a slash is searched along $PATH) in its own
 * process group, stdin and stderr on /dev/null, stdout on a pipe whose
 * reading end goes to *fd.  Returns -1 with *cause set.
 */
static int
secret_spawn(char **argv, pid_t *pid, int *fd, char **cause)
{
	posix_spawnattr_t		attr;
	posix_spawn_file_actions_t	fa;
	sigset_t			none, all;
	int				p[2], null, e;

	if ((null = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1) {
		xasprintf(cause, "secret exec:%s: /dev/null: %s", argv[0],
		    strerror(errno));
		return (-1);
	}
	if (pipe2(p, O_CLOEXEC) == -1) {
		xasprintf(cause, "secret exec:%s: pipe: %s", argv[0],
		    strerror(errno));
		close(null);
		return (-1);
	}
	sigemptyset(&none);
	sigfillset(&all);
	if ((e = posix_spawnattr_init(&attr)) != 0)
		fatalx("posix_spawnattr_init: %s", strerror(e));
	if ((e = posix_spawn_file_actions_init(&fa)) != 0)
		fatalx("posix_spawn_file_actions_init: %s", strerror(e));
	if ((e = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP |
	    POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)) != 0 ||
	    (e = posix_spawnattr_setpgroup(&attr, 0)) != 0 ||
	    (e = posix_spawnattr_setsigmask(&attr, &none)) != 0 ||
	    (e = posix_spawnattr_setsigdefault(&attr, &all)) != 0 ||
	    (e = posix_spawn_file_actions_adddup2(&fa, null, 0)) != 0 ||
	    (e = posix_spawn_file_actions_adddup2(&fa, p[1], 1)) != 0 ||
	    (e = posix_spawn_file_actions_adddup2(&fa, null, 2)) != 0 ||
	    (e = posix_spawn_file_actions_addclosefrom_np(&fa, 3)) != 0)
		fatalx("posix_spawn attributes: %s", strerror(e));
	e = posix_spawnp(pid, argv[0], &fa, &attr, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	close(null);
	close(p[1]);
	if (e != 0) {
		xasprintf(cause, "secret exec:%s: cannot run: %s", argv[0],
		    strerror(e));
		close(p[0]);
		return (-1);
	}
	*fd = p[0];
	return (0);
}

/*
 * Read the child's stdout from FD until end of file, at most SECRET_MAX
 * bytes and until DEADLINE (monotonic ms).  On failure the child's group
 * is killed (the caller reaps it) and -1 returned with *cause set.
 */
static int
secret_exec_read(int fd, pid_t pid, int64_t deadline, const char *word,
    unsigned char **out, size_t *len, char **cause)
{
	struct pollfd	 pfd;
	unsigned char	*buf;
	size_t		 n = 0;
	ssize_t		 got;
	int64_t		 left;
	int		 r;

	buf = xmalloc(SECRET_MAX + 2);
	for (;;) {
		if ((left = deadline - secret_mono_ms()) <= 0) {
			xasprintf(cause, "secret exec:%s: timed out after "
			    "%lld ms", word, (long long)secret_exec_timeout_ms);
			goto fail;
		}
		pfd.fd = fd;
		pfd.events = POLLIN;
		if ((r = poll(&pfd, 1, (int)left)) == -1 && errno != EINTR) {
			xasprintf(cause, "secret exec:%s: poll: %s", word,
			    strerror(errno));
			goto fail;
		}
		if (r <= 0)
			continue;
		got = read(fd, buf + n, SECRET_MAX + 1 - n);
		if (got == -1 && errno == EINTR)
			continue;
		if (got == -1) {
			xasprintf(cause, "secret exec:%s: read: %s", word,
			    strerror(errno));
			goto fail;
		}
		if (got == 0)
			break;
		if ((n += got) > SECRET_MAX) {
			xasprintf(cause, "secret exec:%s: output larger than "
			    "%d bytes", word, SECRET_MAX);
			goto fail;
		}
	}
	*out = buf;
	*len = n;
	return (0);
fail:
	kill(-pid, SIGKILL);
	secret_free(buf, SECRET_MAX + 1);
	return (-1);
}

/*
 * Reap PID, killing its group at DEADLINE (monotonic ms).  Returns 0 when it
 * exited with status 0, else -1 with *cause set (status, never output).
 * Polls every 10 ms: the child has normally exited by the time its stdout
 * closed.
 */
static int
secret_exec_wait(pid_t pid, int64_t deadline, const char *word,
    char **cause)
{
	pid_t	got;
	int	status, late = 0;

	for (;;) {
		got = waitpid(pid, &status, late ? 0 : WNOHANG);
		if (got == -1 && errno == EINTR)
			continue;
		if (got == -1) {
			xasprintf(cause, "secret exec:%s: waitpid: %s", word,
			    strerror(errno));
			return (-1);
		}
		if (got == pid)
			break;
		if (secret_mono_ms() >= deadline) {
			kill(-pid, SIGKILL);
			late = 1;
			continue;
		}
		poll(NULL, 0, 10);
	}
	if (late) {
		xasprintf(cause, "secret exec:%s: timed out after %lld ms",
		    word, (long long)secret_exec_timeout_ms);
		return (-1);
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return (0);
	if (WIFEXITED(status))
		xasprintf(cause, "secret exec:%s: exited with status %d",
		    word, WEXITSTATUS(status));
	else
		xasprintf(cause, "secret exec:%s: killed by signal %d", word,
		    WTERMSIG(status));
	return (-1);
}

/* Run the command CMD and take its stdout; see secret_from_exec. */
static int
secret_exec_run(const char *cmd, unsigned char **out, size_t *len,
    char **cause)
{
	char		*copy, *argv[SECRET_EXEC_WORDS];
	pid_t		 pid;
	int64_t		 deadline;
	int		 fd, rc;

	copy = xstrdup(cmd);
	if (secret_split(copy, argv, SECRET_EXEC_WORDS) ==
	    SECRET_EXEC_WORDS) {
		xasprintf(cause, "secret exec:%s: more than %d words",
		    argv[0], SECRET_EXEC_WORDS - 1);
		free(copy);
		return (-1);
	}
	deadline = secret_mono_ms() + secret_exec_timeout_ms;
	if (secret_spawn(argv, &pid, &fd, cause) != 0) {
		free(copy);
		return (-1);
	}
	rc = secret_exec_read(fd, pid, deadline, argv[0], out, len, cause);
	close(fd);
	if (rc != 0) {
		while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
			;
	} else if (secret_exec_wait(pid, deadline, argv[0], cause) != 0) {
		secret_free(*out, SECRET_MAX + 1);
		rc = -1;
	}
	if (rc == 0) {
		secret_strip(*out, len);
		(*out)[*len] = '\0';
		if (*len == 0) {
			xasprintf(cause, "secret exec:%s: empty output",
			    argv[0]);
			secret_free(*out, SECRET_MAX + 1);
			rc = -1;
		}
	}
	free(copy);
	return (rc);
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

static void
secret_cache_drop(struct secret_cached *c)
{
	LIST_REMOVE(c, entry);
	secret_free(c->value, c->len);
	free(c->ref);
	free(c);
}

static void
secret_cache_put(const char *ref, const unsigned char *v, size_t len)
{
	struct secret_cached	*c;

	if (secret_exec_ttl_ms <= 0)
		return;
	c = xcalloc(1, sizeof *c);
	c->ref = xstrdup(ref);
	c->value = xmalloc(len + 1);
	memcpy(c->value, v, len + 1);
	c->len = len;
	c->expires = secret_mono_ms() + secret_exec_ttl_ms;
	LIST_INSERT_HEAD(&secret_cache, c, entry);
}

/*
 * The secret exec:CMD names: from the cache while its entry is fresh, else
 * by running CMD (blocking for at most the timeout) and caching its output.
 */
static int
secret_from_exec(const char *ref, unsigned char **out, size_t *len,
    char **cause)
{
	struct secret_cached	*c;
	unsigned char		*buf;
	size_t			 n;

	if ((c = secret_cache_find(ref)) != NULL) {
		if (secret_mono_ms() < c->expires) {
			*out = xmalloc(c->len + 1);
			memcpy(*out, c->value, c->len + 1);
			*len = c->len;
			return (0);
		}
		secret_cache_drop(c);
	}
	if (secret_exec_run(ref + 5, &buf, &n, cause) != 0)
		return (-1);
	secret_cache_put(ref, buf, n);
	*out = xmalloc(n + 1);
	memcpy(*out, buf, n + 1);
	*len = n;
	secret_free(buf, SECRET_MAX + 1);
	return (0);
}

/* Wipe and forget every cached exec: secret. */
void
secret_cache_clear(void)
{
	while (!LIST_EMPTY(&secret_cache))
		secret_cache_drop(LIST_FIRST(&secret_cache));
}

/* How long an exec: secret stays cached (0: not at all); default 5 min. */
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
	if (!secret_gen_name(name)) {
		xasprintf(cause, "secret generated:%s: bad name", name);
		return (-1);
	}
	if ((dir = secret_gen_dir(data_dir, 1, cause)) == NULL)
		return (-1);
	xasprintf(&path, "%s/%s", dir, name);
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

	if (!secret_gen_name(name)) {
		xasprintf(cause, "secret generated:%s: bad name", name);
		return (-1);
	}
	if ((dir = secret_gen_dir(data_dir, 0, cause)) == NULL)
		return (-1);
	xasprintf(&path, "%s/%s", dir, name);
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
	struct stat	 st;
	char		*dir, *path, *label;
	int		 fd, rc = -1;

	if (secret_data_dir == NULL) {
		xasprintf(cause, "secret generated:%s: no data directory",
		    name);
		return (-1);
	}
	if ((dir = secret_gen_dir(secret_data_dir, 0, cause)) == NULL)
		return (-1);
	xasprintf(&path, "%s/%s", dir, name);
	xasprintf(&label, "generated:%s", name);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW |
	    O_NONBLOCK)) == -1) {
		xasprintf(cause, "secret %s: %s", label, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) == -1)
		xasprintf(cause, "secret %s: %s", label, strerror(errno));
	else if (!S_ISREG(st.st_mode))
		xasprintf(cause, "secret %s: not a regular file", label);
	else if ((st.st_mode & 07777) != 0600) {
		xasprintf(cause, "secret %s: mode %04o, not 0600", label,
		    (unsigned)(st.st_mode & 07777));
	} else
		rc = secret_read_fd(fd, label, out, len, cause);
	close(fd);
out:
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
