/*
 * engine/secret.c: secret references.  A reference names where a secret is
 * kept, never the secret itself:
 *
 *	env:NAME	the daemon's environment variable NAME
 *	file:/PATH	the contents of a regular file that neither the group
 *			nor others may read or write (one trailing newline
 *			dropped)
 *
 * A secret is read each time it is used and handed to the caller, who
 * wipes it with secret_free once done; nothing here logs or keeps it.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "engine.h"

#define SECRET_MAX	(64 * 1024)	/* bytes of one secret */

static int	secret_env_name(const char *);
static int	secret_from_env(const char *, unsigned char **, size_t *,
		    char **);
static int	secret_from_file(const char *, unsigned char **, size_t *,
		    char **);
static int	secret_read_fd(int, const char *, unsigned char **, size_t *,
		    char **);

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
	xasprintf(cause, "secret reference \"%s\": expected env:NAME or "
	    "file:/PATH", ref);
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

/* Read at most SECRET_MAX bytes of FD; one trailing newline is dropped. */
static int
secret_read_fd(int fd, const char *path, unsigned char **out, size_t *len,
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
			xasprintf(cause, "secret file:%s: %s", path,
			    strerror(errno));
			secret_free(buf, SECRET_MAX + 1);
			return (-1);
		}
		if (got == 0)
			break;
		n += got;
		if (n > SECRET_MAX) {
			xasprintf(cause, "secret file:%s: larger than %d "
			    "bytes", path, SECRET_MAX);
			secret_free(buf, SECRET_MAX + 1);
			return (-1);
		}
	}
	if (n > 0 && buf[n - 1] == '\n')
		n--;
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	if (n == 0) {
		xasprintf(cause, "secret file:%s: empty", path);
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
	struct stat	st;
	int		fd, rc;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY |
	    O_NONBLOCK)) == -1) {
		xasprintf(cause, "secret file:%s: %s", path, strerror(errno));
		return (-1);
	}
	if (fstat(fd, &st) == -1) {
		xasprintf(cause, "secret file:%s: %s", path, strerror(errno));
		close(fd);
		return (-1);
	}
	if (!S_ISREG(st.st_mode)) {
		xasprintf(cause, "secret file:%s: not a regular file", path);
		close(fd);
		return (-1);
	}
	if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		xasprintf(cause, "secret file:%s: mode %04o lets the group or "
		    "others in (chmod 600 it)", path,
		    (unsigned)(st.st_mode & 07777));
		close(fd);
		return (-1);
	}
	rc = secret_read_fd(fd, path, out, len, cause);
	close(fd);
	return (rc);
}

/*
 * Read the secret REF names into *out (allocated, NUL-terminated, *len
 * bytes without the NUL; the caller wipes it with secret_free).  Returns 0,
 * or -1 with *cause set; the message never holds the secret.
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
