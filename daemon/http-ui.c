/*
 * daemon/http-ui.c: the dashboard's files.  GET /ui/PATH serves PATH
 * from the UI folder (--ui-dir, by default the installed one,
 * CHIME_UI_DIR), /ui/ its index.html, and /ui/vendor/chart.js the
 * Chart.js of the system (CHIME_CHARTJS, Debian's libjs-chart.js): the
 * dashboard loads nothing from another origin.  GET / and /ui redirect to
 * /ui/.
 *
 * Only regular files inside the folder are served, never a listing: a
 * path with a "." or ".." segment, a segment beginning with a dot, an
 * empty segment, a backslash or an encoded "/" or NUL is refused (400),
 * and a file whose real path (symbolic links resolved) leaves the folder
 * is not found (404).  Each answer has its Content-Type by extension, an
 * ETag (inode, size, modification time) and Last-Modified; Cache-Control
 * no-cache makes a browser ask again each time, answered 304 when its
 * If-None-Match still holds.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "actors.h"
#include "ctl.h"
#include "daemon.h"

#ifndef CHIME_UI_DIR
#define CHIME_UI_DIR	"/usr/local/share/chime/ui"
#endif
#ifndef CHIME_CHARTJS
#define CHIME_CHARTJS	"/usr/share/javascript/chart.js/chart.min.js"
#endif
#define UI_CHARTJS_PATH	"vendor/chart.js"	/* under /ui/ */

/* The folder as resolved at start (NULL: missing, /ui/ answers 404). */
static char	*ui_dir;

struct ui_type {
	const char	*ext;
	const char	*ctype;
};

static const struct ui_type ui_types[] = {
	{ ".html", "text/html; charset=utf-8" },
	{ ".js", "text/javascript; charset=utf-8" },
	{ ".mjs", "text/javascript; charset=utf-8" },
	{ ".css", "text/css; charset=utf-8" },
	{ ".svg", "image/svg+xml" },
	{ ".png", "image/png" },
	{ ".ico", "image/x-icon" },
	{ ".json", "application/json" },
	{ ".txt", "text/plain; charset=utf-8" },
	{ ".woff2", "font/woff2" },
};

static void	ui_http(struct evhttp_request *, const char *, void *);
static void	ui_redirect(struct evhttp_request *, const char *, void *);

int
ui_route(struct httpd *h, const char *dir, char **cause)
{
	char	real[PATH_MAX];

	free(ui_dir);
	ui_dir = NULL;
	if (dir == NULL)
		dir = CHIME_UI_DIR;
	if (realpath(dir, real) != NULL)
		ui_dir = xstrdup(real);
	else
		log_warnx("msg=\"the dashboard's folder is missing: /ui/ "
		    "answers 404\" ui_dir=\"%s\" error=\"%s\"", log_escape(dir),
		    strerror(errno));
	if (httpd_route(h, "/", HTTPD_GET, ui_redirect, NULL, cause) == -1 ||
	    httpd_route(h, "/ui", HTTPD_GET, ui_redirect, NULL, cause) == -1)
		return (-1);
	return (httpd_route(h, "/ui/", HTTPD_GET, ui_http, NULL, cause));
}

void
ui_free(void)
{
	free(ui_dir);
	ui_dir = NULL;
}

static void
ui_redirect(struct evhttp_request *req, const char *rest, void *arg)
{
	evhttp_add_header(evhttp_request_get_output_headers(req), "Location",
	    "/ui/");
	httpd_reply(req, 302, NULL, "see /ui/\n", 9);
}

/*
 * RAW (the path after /ui/, percent-encoded) decoded into OUT, checked
 * segment by segment: 0, or -1 for a path that may not be served.
 */
static int
ui_decode(const char *raw, char *out, size_t size)
{
	const char	*seg;
	size_t		 n = 0;
	int		 hi, lo, c;

	for (; *raw != '\0'; raw++) {
		c = (unsigned char)*raw;
		if (c == '%') {
			if ((hi = hex_digit(raw[1])) == -1 ||
			    (lo = hex_digit(raw[2])) == -1)
				return (-1);
			c = hi * 16 + lo;
			raw += 2;
			if (c == '/' || c == '\0')
				return (-1);
		}
		if (c == '\\' || n + 1 >= size)
			return (-1);
		out[n++] = (char)c;
	}
	out[n] = '\0';
	/* every segment non-empty and not beginning with a dot */
	for (seg = out; *seg != '\0'; seg += strcspn(seg, "/") + 1) {
		if (*seg == '/' || *seg == '.')
			return (-1);
		if (seg[strcspn(seg, "/")] == '\0')
			break;
	}
	return (n > 0 && out[n - 1] == '/' ? -1 : 0);
}

static const char *
ui_ctype(const char *path)
{
	const char	*dot = strrchr(path, '.');
	size_t		 i;

	for (i = 0; dot != NULL && i < sizeof ui_types / sizeof ui_types[0];
	    i++) {
		if (strcmp(dot, ui_types[i].ext) == 0)
			return (ui_types[i].ctype);
	}
	return ("application/octet-stream");
}

/* Open the file of PATH (decoded, under the folder) for reading: its
 * descriptor and *ST, or -1 (not found, or not inside the folder). */
static int
ui_open(const char *path, struct stat *st)
{
	char	*full, real[PATH_MAX];
	size_t	 len = strlen(ui_dir);
	int	 fd;

	if (strcmp(path, UI_CHARTJS_PATH) == 0) {
		if (realpath(CHIME_CHARTJS, real) == NULL)
			return (-1);
	} else {
		xasprintf(&full, "%s/%s", ui_dir, *path != '\0' ? path :
		    "index.html");
		if (realpath(full, real) == NULL) {
			free(full);
			return (-1);
		}
		free(full);
		if (strncmp(real, ui_dir, len) != 0 || real[len] != '/')
			return (-1);	/* a link out of the folder */
	}
	if ((fd = open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1)
		return (-1);
	if (fstat(fd, st) == -1 || !S_ISREG(st->st_mode)) {
		close(fd);
		return (-1);
	}
	return (fd);
}

/* Does the If-None-Match of REQ hold ETAG? */
static int
ui_not_modified(struct evhttp_request *req, const char *etag)
{
	const char	*inm;

	inm = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "If-None-Match");
	if (inm == NULL)
		return (0);
	return (strcmp(inm, "*") == 0 || strstr(inm, etag) != NULL);
}

/* The validators of ST: ETag, Last-Modified, Cache-Control. */
static void
ui_validators(struct evhttp_request *req, const struct stat *st,
    char *etag, size_t size)
{
	struct evkeyvalq	*out = evhttp_request_get_output_headers(req);
	struct tm		 tm;
	char			 date[64];

	snprintf(etag, size, "\"%llx-%llx-%llx\"",
	    (unsigned long long)st->st_ino, (unsigned long long)st->st_size,
	    (unsigned long long)st->st_mtim.tv_sec * 1000000000ULL +
	    (unsigned long long)st->st_mtim.tv_nsec);
	gmtime_r(&st->st_mtim.tv_sec, &tm);
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	evhttp_add_header(out, "ETag", etag);
	evhttp_add_header(out, "Last-Modified", date);
	evhttp_add_header(out, "Cache-Control", "no-cache");
}

static void
ui_http(struct evhttp_request *req, const char *rest, void *arg)
{
	struct evbuffer	*b;
	struct stat	 st;
	char		 path[PATH_MAX], etag[80];
	int		 fd;

	if (ui_decode(rest, path, sizeof path) == -1) {
		httpd_reply(req, 400, NULL, "bad path\n", 9);
		return;
	}
	if (ui_dir == NULL || (fd = ui_open(path, &st)) == -1) {
		httpd_reply(req, 404, NULL, "not found\n", 10);
		return;
	}
	ui_validators(req, &st, etag, sizeof etag);
	if (ui_not_modified(req, etag)) {
		close(fd);
		evhttp_send_reply(req, 304, "Not Modified", NULL);
		return;
	}
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", ui_ctype(*path != '\0' ? path : "index.html"));
	if ((b = evbuffer_new()) == NULL)
		fatalx("ui_http: out of memory");
	/* the buffer owns FD from here on */
	if (evbuffer_add_file(b, fd, 0, st.st_size) == -1) {
		evbuffer_free(b);
		httpd_reply(req, 500, NULL, "cannot read the file\n", 21);
		return;
	}
	evhttp_send_reply(req, 200, "OK", b);
	evbuffer_free(b);
}
