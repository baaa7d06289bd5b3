/*
 * ctl/client.c: chimectl, the control client.  It resolves NOUN VERB in the
 * method table, builds the params from the arguments, sends one request
 * over the Unix socket, waits for the answer and prints it: a table or
 * "key: value" lines, or JSON with --json.  "cron next" runs offline;
 * "batch watch" asks again and again; "watch" (events.watch) follows the
 * journal's stream of events until Ctrl-C.
 *
 * Exit status: 0 success, 1 an error answered by the daemon, 2 bad usage,
 * 3 no answer (cannot connect, connection lost, timeout).
 */
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine.h"
#include "actors.h"
#include "ctl.h"

#define CLIENT_TIMEOUT		30	/* seconds */
#define CLIENT_CRON_COUNT	5
#define CLIENT_CRON_MAX		1000
#define CLIENT_WATCH_MS		500	/* batch watch asks this often */
#define CLIENT_WATCH_RUNNING	5	/* running operations it shows */
#define CLIENT_STREAM_MAX	(256 * 1024 * 1024) /* bytes of one line */

/* What chimectl watch knows of its stream. */
struct client_stream {
	int		 tty;
	int		 started;	/* the answer came */
	int		 done;		/* events.end, or an error */
	int		 rc;
	uint64_t	 next;		/* the seq to resume from */
};

static volatile sig_atomic_t	 client_stop;

static int		 client_json;
static int		 client_wide;
static int		 client_timeout = CLIENT_TIMEOUT;
static const char	*client_socket;
/* The daemon's tables and client_offline: what chimectl knows. */
static const struct ctl_method	**client_tables;

static const struct ctl_param client_cron_params[] = {
	{ .name = "expr", .type = CTL_P_STRING,
	    .flags = CTL_P_REQUIRED | CTL_P_POSITIONAL,
	    .help = "cron expression (5 or 6 fields, or @daily ...; "
	        "FRI#2, 5L: nth and last weekday)" },
	{ .name = "tz", .type = CTL_P_STRING,
	    .help = "IANA time zone (default UTC)" },
	{ .name = "from", .type = CTL_P_TIME,
	    .help = "start after this instant (default now)" },
	{ .name = "count", .type = CTL_P_INT,
	    .help = "how many instants (default 5, at most 1000)" },
	{ .name = "verbose", .type = CTL_P_BOOL,
	    .help = "also print the local time and DST tag" },
	{ .name = NULL }
};

static const struct ctl_param client_watch_params[] = {
	{ .name = "id", .type = CTL_P_STRING,
	    .flags = CTL_P_REQUIRED | CTL_P_POSITIONAL,
	    .help = "batch id" },
	CTL_PARAM_ACCOUNT,
	{ .name = NULL }
};

/* Commands of chimectl itself (no handler), described like methods for
 * matching, usage and help. */
static const struct ctl_method client_offline[] = {
	{
		.name = "batch.watch",
		.summary = "follow a batch's progress until it ends",
		.params = client_watch_params,
		.flags = CTL_M_READONLY,
	},
	{
		.name = "cron.next",
		.summary = "print the next fire instants of a cron expression "
		    "(offline)",
		.params = client_cron_params,
		.flags = CTL_M_READONLY,
	},
	{ .name = NULL }
};

static deadfunc void usage(void);
static void	 client_tables_init(void);
static const char *client_socket_path(void);
static int	 client_connect(const char *);
static size_t	 client_command(const struct ctl_method *, char *, size_t);
static int	 client_noun_first(const struct ctl_method *);
static size_t	 client_help_list(const char *, size_t, int);
static int	 client_help(int, char **);
static int	 client_cron(const struct ctl_method *, int, char **);
static void	 client_cron_print(const struct cron_fire *, const struct tz *,
		     int);
static void	 client_cron_none(int64_t, const struct tz *);
static int	 client_request(const char *, json_t *, json_t **);
static int	 client_call(const struct ctl_method *, json_t *);
static int	 client_answer(const struct ctl_method *, json_t *);
static int	 client_wants_help(int, char **);
static int	 client_run(int, char **);
static int	 client_options(int, char **);
static int	 client_apply_set(json_t *, const char *, json_t **);
static int	 client_take_file(const struct ctl_method *, int *, char **,
		     json_t **);
static void	 client_take_wide(int *, char **);
static int	 client_get(const char *, json_t *, json_t **);
static size_t	 client_columns(void);
static int	 client_watch_once(json_t *, int, char **, int *, int *, int *);
static int	 client_batch_watch(const struct ctl_method *, int, char **);
static void	 client_on_signal(int);
static int	 client_send_line(int, json_t *);
static void	 client_stream_line(struct client_stream *, const char *,
		     size_t);
static void	 client_stream_answer(struct client_stream *, json_t *);
static void	 client_stream_end(struct client_stream *, json_t *);
static int	 client_stream_read(int, struct client_stream *,
		     const sigset_t *);
static int	 client_events_watch(const struct ctl_method *, int, char **);

static deadfunc void
usage(void)
{
	fprintf(stderr, "usage: chimectl [--socket PATH] [--json] "
	    "[--timeout SECONDS] NOUN VERB [ARGS...] [-f FILE]\n"
	    "       chimectl cron next EXPR [--tz ZONE] [--from TIME] "
	    "[--count N] [--verbose]\n"
	    "       chimectl batch watch ID [--account ACCOUNT]\n"
	    "       chimectl watch [--from SEQ] [--kind KIND]... "
	    "[--account ACCOUNT]\n"
	    "       chimectl help [NOUN [VERB]]\n"
	    "       chimectl version\n");
	exit(CTL_EXIT_USAGE);
}

/* The data directory of the shipped service (contrib/chimed.service). */
#define CLIENT_SERVICE_SOCKET	"/var/lib/chime/chime.sock"
#define CLIENT_DEFAULT_SOCKET	"./var/chime/chime.sock"

/* --socket, else $CHIME_SOCKET, else $CHIME_DATA/chime.sock, else the
 * default data directory's socket, else (when that one is not there but
 * the service's is) the service's. */
static const char *
client_socket_path(void)
{
	static char	*path;
	const char	*s;
	struct stat	 sb;

	if (client_socket != NULL)
		return (client_socket);
	if ((s = getenv("CHIME_SOCKET")) != NULL && *s != '\0')
		return (s);
	if ((s = getenv("CHIME_DATA")) != NULL && *s != '\0') {
		if (path == NULL)
			xasprintf(&path, "%s/chime.sock", s);
		return (path);
	}
	if (lstat(CLIENT_DEFAULT_SOCKET, &sb) == -1 &&
	    lstat(CLIENT_SERVICE_SOCKET, &sb) == 0)
		return (CLIENT_SERVICE_SOCKET);
	return (CLIENT_DEFAULT_SOCKET);
}

/*
 * Connect to the daemon at PATH: the fd, or -1 once the reason is said on
 * stderr, named from connect(2)'s errno so that a permission problem is
 * not taken for a daemon that is not running.
 */
static int
client_connect(const char *path)
{
	const char	*hint = "";
	char		*cause = NULL;
	int		 fd;

	if ((fd = ctl_client_connect(path, &cause)) != -1)
		return (fd);
	switch (errno) {
	case ENOENT:
		fprintf(stderr, "chimectl: no socket at %s: is chimed running? "
		    "(start it, or give --socket PATH or $CHIME_SOCKET)\n",
		    path);
		break;
	case EACCES:
	case EPERM:
		fprintf(stderr, "chimectl: cannot connect to %s: permission "
		    "denied (uid %lu cannot pass a directory on the way, or "
		    "the socket's mode keeps it out: see chimed(8), FILES)\n",
		    path, (u_long)getuid());
		break;
	case ECONNREFUSED:
		fprintf(stderr, "chimectl: cannot connect to %s: connection "
		    "refused: nothing listens on it (a socket left by a "
		    "daemon that stopped: is chimed running?)\n", path);
		break;
	case EAGAIN:
		fprintf(stderr, "chimectl: cannot connect to %s: the daemon "
		    "is not taking connections fast enough; try again\n",
		    path);
		break;
	default:
		if (errno == ENOTDIR || errno == ENAMETOOLONG)
			hint = " (check --socket PATH or $CHIME_SOCKET)";
		fprintf(stderr, "chimectl: %s%s\n", cause, hint);
		break;
	}
	free(cause);
	return (-1);
}

/* The daemon's tables, then chimectl's own commands. */
static void
client_tables_init(void)
{
	size_t	n;

	for (n = 0; ctl_method_tables[n] != NULL; n++)
		/* nothing */;
	client_tables = xcalloc(n + 2, sizeof *client_tables);
	memcpy(client_tables, ctl_method_tables, n * sizeof *client_tables);
	client_tables[n] = client_offline;
}

/* "noun verb" of M in BUF; returns its length. */
static size_t
client_command(const struct ctl_method *m, char *buf, size_t len)
{
	size_t	n = strcspn(m->name, ".");

	snprintf(buf, len, "%.*s %s", (int)n, m->name, m->name[n] == '.' ?
	    m->name + n + 1 : "");
	return (strlen(buf));
}

/* Is M the first method of its noun (in table order)? */
static int
client_noun_first(const struct ctl_method *m)
{
	const struct ctl_method *const	*t;
	const struct ctl_method		*o;
	size_t				 n = strcspn(m->name, ".");

	for (t = client_tables; *t != NULL; t++) {
		for (o = *t; o->name != NULL; o++) {
			if (o == m)
				return (1);
			if (strncmp(o->name, m->name, n + 1) == 0)
				return (0);
		}
	}
	return (0);
}

/*
 * The commands of the noun of NAME (LEN bytes; every noun if NAME is
 * NULL), grouped by noun in table order, as "  noun verb  summary" lines
 * whose summaries start in column WIDTH + 4; with WIDTH 0, only measure.
 * Returns the width of the widest "noun verb".
 */
static size_t
client_help_list(const char *name, size_t len, int width)
{
	const struct ctl_method *const	*t, *const *u;
	const struct ctl_method		*m, *o;
	char				 cmd[128];
	size_t				 n, widest = 0;

	for (t = client_tables; *t != NULL; t++) {
		for (m = *t; m->name != NULL; m++) {
			n = strcspn(m->name, ".");
			if (!client_noun_first(m) || (name != NULL &&
			    (n != len || strncmp(m->name, name, n) != 0)))
				continue;
			for (u = client_tables; *u != NULL; u++) {
				for (o = *u; o->name != NULL; o++) {
					if (strncmp(o->name, m->name, n + 1) !=
					    0)
						continue;
					if (client_command(o, cmd, sizeof cmd) >
					    widest)
						widest = strlen(cmd);
					if (width > 0)
						printf("  %-*s  %s\n", width,
						    cmd, o->summary);
				}
			}
		}
	}
	return (widest);
}

/* help, help NOUN, help NOUN VERB, help NOUN.VERB; an unknown noun or
 * verb is a usage error that names it. */
static int
client_help(int argc, char **argv)
{
	const struct ctl_method	*m;
	const char		*name;
	char			*cause = NULL;
	size_t			 len;
	int			 w;

	if (argc == 0) {
		printf("usage: chimectl [--socket PATH] [--json] [--wide] "
		    "[--timeout SECONDS] NOUN VERB [ARGS...]\n\n"
		    "commands (NOUN and VERB may be unique prefixes; ls, rm "
		    "and show mean list, delete, get):\n");
		w = (int)client_help_list(NULL, 0, 0);
		if (w < (int)strlen("help [NOUN [VERB]]"))
			w = strlen("help [NOUN [VERB]]");
		client_help_list(NULL, 0, w);
		printf("  %-*s  %s\n  %-*s  %s\n", w, "help [NOUN [VERB]]",
		    "show commands, or one command's arguments", w, "version",
		    "print the version");
		return (CTL_EXIT_OK);
	}
	if (argc > 2) {
		fprintf(stderr, "chimectl: help: unexpected argument \"%s\"\n"
		    "usage: chimectl help [NOUN [VERB]]\n", argv[2]);
		return (CTL_EXIT_USAGE);
	}
	if (argc == 1 && (strcmp(argv[0], "help") == 0 ||
	    strcmp(argv[0], "version") == 0)) {
		printf("usage: chimectl %s\n", strcmp(argv[0], "help") == 0 ?
		    "help [NOUN [VERB]]" : "version");
		return (CTL_EXIT_OK);
	}
	if (argc == 1 && strchr(argv[0], '.') == NULL) {
		name = ctl_method_noun_in(client_tables, argv[0], &len, &cause);
		if (name == NULL) {
			fprintf(stderr, "chimectl: help: %s\n", cause);
			free(cause);
			return (CTL_EXIT_USAGE);
		}
		client_help_list(name, len, (int)client_help_list(name, len,
		    0));
		return (CTL_EXIT_OK);
	}
	m = ctl_method_match_in(client_tables, argv[0], argc > 1 ? argv[1] :
	    NULL, &cause);
	if (m == NULL) {
		fprintf(stderr, "chimectl: help: %s\n", cause);
		free(cause);
		return (CTL_EXIT_USAGE);
	}
	print_method_help(stdout, m);
	return (CTL_EXIT_OK);
}

static void
client_cron_print(const struct cron_fire *f, const struct tz *tz,
    int verbose)
{
	char	utc[64];

	fmt_rfc3339(f->utc * USEC_PER_SEC, utc, sizeof utc);
	if (!verbose) {
		printf("%s\n", utc);
		return;
	}
	printf("%s  %04d-%02d-%02dT%02d:%02d:%02d %s  %s\n", utc,
	    f->nominal.year, f->nominal.month, f->nominal.day,
	    f->nominal.hour, f->nominal.minute, f->nominal.second,
	    tz_name(tz), dst_tag_name(f->tag));
}

/* Say why no fire was found after T (seconds): see cron_next. */
static void
client_cron_none(int64_t t, const struct tz *tz)
{
	char	at[64];

	if (t < CRON_FIRST_UTC) {
		fprintf(stderr, "chimectl: cron: --from is before "
		    "0001-01-01T00:00:00Z, the first instant chime computes\n");
		return;
	}
	fmt_rfc3339(t * USEC_PER_SEC, at, sizeof at);
	if (t > CRON_LAST_UTC - CRON_CYCLE_DAYS * 86400LL)
		fprintf(stderr, "chimectl: cron: no fire instant after %s up "
		    "to 9999-12-31T23:59:59Z, the last instant chime "
		    "computes\n", at);
	else
		fprintf(stderr, "chimectl: cron: no fire instant within %d "
		    "years after %s: every local time the expression names "
		    "falls in a daylight-saving gap of %s\n", CRON_CYCLE_YEARS,
		    at, tz_name(tz));
}

/* cron next EXPR [--tz ZONE] [--from TIME] [--count N] [--verbose]:
 * the same evaluator the daemon uses, without a daemon. */
static int
client_cron(const struct ctl_method *m, int argc, char **argv)
{
	const struct tz		*tz;
	struct cron		 c;
	struct cron_fire	 f;
	json_t			*params;
	char			*cause = NULL;
	int64_t			 from, count = CLIENT_CRON_COUNT, t;
	int			 verbose = 0, printed = 0;

	if (ctl_params_from_argv(m, argc, argv, &params, &cause) != 0)
		goto usage;
	from = now_us();
	if (json_object_get(params, "from") != NULL &&
	    !param_time(params, "from", &from)) {
		cause = xstrdup("--from: not an RFC 3339 time");
		goto usage;
	}
	param_int(params, "count", &count);
	if (count < 1 || count > CLIENT_CRON_MAX) {
		xasprintf(&cause, "--count: must be 1 to %d", CLIENT_CRON_MAX);
		goto usage;
	}
	param_bool(params, "verbose", &verbose);
	if (cron_parse(param_string(params, "expr"), &c, &cause) != 0)
		goto usage;
	tz = tz_load(param_string(params, "tz") != NULL ?
	    param_string(params, "tz") : "UTC", &cause);
	if (tz == NULL)
		goto usage;
	t = from / USEC_PER_SEC - (from % USEC_PER_SEC < 0);
	while (printed < count && cron_next(&c, tz, t, &f) == 0) {
		t = f.utc;
		if (f.tag == DST_SUPPRESSED && !verbose)
			continue;
		client_cron_print(&f, tz, verbose);
		printed++;
	}
	json_decref(params);
	if (printed < count)
		client_cron_none(t, tz);
	if (printed == 0)
		return (CTL_EXIT_ERROR);
	return (CTL_EXIT_OK);

usage:
	fprintf(stderr, "chimectl: %s\n", cause);
	free(cause);
	json_decref(params);
	print_usage(stderr, m);
	return (CTL_EXIT_USAGE);
}

/* Print the response: the result, or the error and exit 1. */
static int
client_answer(const struct ctl_method *m, json_t *resp)
{
	json_t	*result, *error;
	char	*s;

	if ((error = json_object_get(resp, "error")) != NULL) {
		if (client_json) {
			s = json_dumps(error, JSON_INDENT(2));
			fprintf(stderr, "%s\n", s != NULL ? s : "{}");
			free(s);
		} else
			print_error(stderr, error);
		return (CTL_EXIT_ERROR);
	}
	if ((result = json_object_get(resp, "result")) == NULL) {
		fprintf(stderr, "chimectl: bad response: no result\n");
		return (CTL_EXIT_CONNECT);
	}
	if (client_json) {
		s = json_dumps(result, JSON_INDENT(2) | JSON_ENCODE_ANY);
		printf("%s\n", s != NULL ? s : "null");
		free(s);
	} else
		print_result_fit(stdout, m, result, client_wide ? 0 :
		    PRINT_TABLE_WIDTH);
	return (CTL_EXIT_OK);
}

/* Connect, send the request, wait for the answer: 0 and the response in
 * *RESP (the caller looks for result or error), or an exit status. */
static int
client_request(const char *method, json_t *params, json_t **resp)
{
	const char	*path = client_socket_path();
	char		*cause;
	int		 fd;

	if ((fd = client_connect(path)) == -1)
		return (CTL_EXIT_CONNECT);
	if (ctl_client_call(fd, method, params, client_timeout * 1000,
	    resp, &cause) != 0) {
		fprintf(stderr, "chimectl: %s: %s\n", path, cause);
		free(cause);
		close(fd);
		return (CTL_EXIT_CONNECT);
	}
	close(fd);
	return (CTL_EXIT_OK);
}

/* Connect, send the request, wait for the answer, print it. */
static int
client_call(const struct ctl_method *m, json_t *params)
{
	json_t	*resp;
	int	 rc;

	if ((rc = client_request(m->name, params, &resp)) != CTL_EXIT_OK)
		return (rc);
	rc = client_answer(m, resp);
	json_decref(resp);
	return (rc);
}

/* Is there a --help or -h among the flags (before any "--")? */
static int
client_wants_help(int argc, char **argv)
{
	int	i;

	for (i = 0; i < argc && strcmp(argv[i], "--") != 0; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return (1);
	}
	return (0);
}

/* NOUN VERB ARGS... (or NOUN.VERB ARGS...) */
static int
client_run(int argc, char **argv)
{
	const struct ctl_method	*m;
	const struct ctl_param	*p;
	json_t			*params, *file;
	char			*cause = NULL;
	int			 skip, rc;

	skip = strchr(argv[0], '.') != NULL ? 1 : 2;
	m = ctl_method_match_in(client_tables, argv[0], skip == 2 &&
	    argc > 1 ? argv[1] : NULL, &cause);
	if (m == NULL) {
		fprintf(stderr, "chimectl: %s\n(chimectl help lists the "
		    "commands)\n", cause);
		free(cause);
		return (CTL_EXIT_USAGE);
	}
	if (skip > argc)
		skip = argc;
	if (client_wants_help(argc - skip, argv + skip)) {
		print_method_help(stdout, m);
		return (CTL_EXIT_OK);
	}
	argc -= skip;
	argv += skip;
	if (strcmp(m->name, "cron.next") == 0)
		return (client_cron(m, argc, argv));
	if (strcmp(m->name, "batch.watch") == 0)
		return (client_batch_watch(m, argc, argv));
	if (strcmp(m->name, "events.watch") == 0)
		return (client_events_watch(m, argc, argv));
	if (m->columns != NULL)
		client_take_wide(&argc, argv);
	if (client_take_file(m, &argc, argv, &file) != 0)
		return (CTL_EXIT_USAGE);
	if (ctl_params_from_argv(m, argc, argv, &params, &cause) != 0) {
		fprintf(stderr, "chimectl: %s\n", cause);
		free(cause);
		json_decref(file);
		print_usage(stderr, m);
		return (CTL_EXIT_USAGE);
	}
	if (file != NULL) {
		for (p = m->params; p->name != NULL; p++)
			if (p->type == CTL_P_OBJECT)
				break;
		json_object_set_new(params, p->name, file);
	}
	rc = client_call(m, params);
	json_decref(params);
	return (rc);
}

/* --wide (before "--") among a list command's arguments: its tables are
 * not fitted to PRINT_TABLE_WIDTH.  Removed from ARGV. */
static void
client_take_wide(int *argc, char **argv)
{
	int	i;

	for (i = 0; i < *argc && strcmp(argv[i], "--") != 0; i++) {
		if (strcmp(argv[i], "--wide") != 0)
			continue;
		client_wide = 1;
		memmove(argv + i, argv + i + 1, (*argc - i - 1) *
		    sizeof *argv);
		(*argc)--;
		i--;
	}
}

/*
 * -f FILE (or --file FILE, "-" for stdin), anywhere before "--": the JSON
 * object in FILE is the value of the method's first object parameter
 * (batch.create's "batch").  Removes the two arguments from ARGV.
 */
static int
client_take_file(const struct ctl_method *m, int *argc, char **argv,
    json_t **out)
{
	const struct ctl_param	*p;
	json_error_t		 err;
	int			 i;

	*out = NULL;
	for (i = 0; i < *argc && strcmp(argv[i], "--") != 0; i++) {
		if (strcmp(argv[i], "-f") == 0 ||
		    strcmp(argv[i], "--file") == 0)
			break;
	}
	if (i == *argc || strcmp(argv[i], "--") == 0)
		return (0);
	for (p = m->params; p->name != NULL && p->type != CTL_P_OBJECT; p++)
		;
	if (p->name == NULL || i + 1 >= *argc) {
		fprintf(stderr, "chimectl: -f FILE: %s\n", p->name == NULL ?
		    "this command takes no object" : "no file given");
		return (-1);
	}
	if (strcmp(argv[i + 1], "-") == 0)
		*out = json_loadf(stdin, 0, &err);
	else
		*out = json_load_file(argv[i + 1], 0, &err);
	/* jansson's text names the file when it cannot open it. */
	if (*out == NULL && err.line < 1)
		fprintf(stderr, "chimectl: -f: %s\n", err.text);
	else if (*out == NULL)
		fprintf(stderr, "chimectl: %s:%d:%d: %s\n", argv[i + 1],
		    err.line, err.column, err.text);
	else if (strcmp(m->name, "schedule.apply") == 0) {
		if (client_apply_set(*out, argv[i + 1], out) != 0)
			return (-1);
	} else if (!json_is_object(*out))
		fprintf(stderr, "chimectl: %s: not a JSON object\n",
		    argv[i + 1]);
	if (!json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		return (-1);
	}
	memmove(argv + i, argv + i + 2, (*argc - i - 2) * sizeof *argv);
	*argc -= 2;
	return (0);
}

/*
 * The set of schedule.apply from FILE's JSON IN (taken): {"schedules":
 * [...]} or a bare array of schedule.create objects, each with its
 * "name", or {"schedules": {NAME: {...}}} as the method takes it.  The
 * object keyed by name in *OUT, or -1 after saying what is wrong.
 */
static int
client_apply_set(json_t *in, const char *file, json_t **out)
{
	json_t		*list = in, *set, *e, *name;
	const char	*key;
	size_t		 i;

	*out = NULL;
	if (json_is_object(in)) {
		json_object_foreach(in, key, e) {
			if (strcmp(key, "schedules") != 0) {
				fprintf(stderr, "chimectl: %s: unknown key "
				    "\"%s\" (the file is {\"schedules\": "
				    "[...]} or an array)\n", file, key);
				json_decref(in);
				return (-1);
			}
		}
		list = json_object_get(in, "schedules");
	}
	if (json_is_object(list)) {
		*out = json_incref(list);
		json_decref(in);
		return (0);
	}
	if (!json_is_array(list)) {
		fprintf(stderr, "chimectl: %s: not a set of schedules: "
		    "{\"schedules\": [...]} or an array\n", file);
		json_decref(in);
		return (-1);
	}
	set = json_object();
	json_array_foreach(list, i, e) {
		name = json_object_get(e, "name");
		if (!json_is_string(name) || json_object_get(set,
		    json_string_value(name)) != NULL) {
			fprintf(stderr, "chimectl: %s: schedule %zu: %s\n",
			    file, i + 1, !json_is_object(e) ? "not an "
			    "object" : !json_is_string(name) ? "no \"name\"" :
			    "the same name as an earlier one");
			json_decref(set);
			json_decref(in);
			return (-1);
		}
		json_object_set(set, json_string_value(name), e);
	}
	json_decref(in);
	*out = set;
	return (0);
}

/* METHOD's result (a new reference) in *RESULT, or an exit status after
 * printing the error. */
static int
client_get(const char *method, json_t *params, json_t **result)
{
	json_t	*resp;
	int	 rc;

	*result = NULL;
	if ((rc = client_request(method, params, &resp)) != CTL_EXIT_OK)
		return (rc);
	if ((*result = json_object_get(resp, "result")) == NULL) {
		rc = client_answer(ctl_method_find(method), resp);
		json_decref(resp);
		return (rc);
	}
	json_incref(*result);
	json_decref(resp);
	return (CTL_EXIT_OK);
}

/* The terminal's width, else $COLUMNS, else 80. */
static size_t
client_columns(void)
{
	struct winsize	 ws;
	const char	*s;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return (ws.ws_col);
	if ((s = getenv("COLUMNS")) != NULL && atoi(s) > 0)
		return ((size_t)atoi(s));
	return (80);
}

/*
 * One look at a watched batch: its text in *TEXT (allocated), for a
 * terminal (TTY: the status block, its line count in *LINES, with the
 * running operations), for --json (the batch as one line of JSON) or
 * else (the one line).  An exit status; *DONE once the batch ended, and
 * *RC then its exit status.
 */
static int
client_watch_once(json_t *params, int tty, char **text, int *lines,
    int *done, int *rc)
{
	json_t		*b, *ops = NULL, *running = NULL;
	const char	*st;
	size_t		 len;
	FILE		*fp;
	int		 error;

	if ((error = client_get("batch.get", params, &b)) != CTL_EXIT_OK)
		return (error);
	if (tty && json_integer_value(json_object_get(b, "running")) > 0) {
		json_object_set_new(params, "status", json_string("running"));
		json_object_set_new(params, "limit",
		    json_integer(CLIENT_WATCH_RUNNING));
		error = client_get("batch.ops", params, &ops);
		json_object_del(params, "status");
		json_object_set_new(params, "limit", json_integer(0));
		if (error != CTL_EXIT_OK) {
			json_decref(b);
			return (error);
		}
		running = json_object_get(ops, "operations");
	}
	fp = open_memstream(text, &len);
	if (tty)
		*lines = print_batch_block(fp, b, running, now_us(),
		    client_columns());
	else if (client_json) {
		json_dumpf(b, fp, JSON_COMPACT);
		fputc('\n', fp);
	} else
		print_batch_line(fp, b);
	fclose(fp);
	st = json_string_value(json_object_get(b, "state"));
	*done = st == NULL || (strcmp(st, "running") != 0 &&
	    strcmp(st, "draft") != 0);
	*rc = st != NULL && strcmp(st, "completed") == 0 ? CTL_EXIT_OK :
	    CTL_EXIT_ERROR;
	json_decref(ops);
	json_decref(b);
	return (CTL_EXIT_OK);
}

/*
 * batch watch ID: batch.get (without operations) every CLIENT_WATCH_MS
 * until the batch ends; exit 0 if it completed, 1 if not.  On a terminal
 * a status block is redrawn in place (cursor up, clear to the end of the
 * screen); otherwise, or with --json, a line is printed each time it
 * changes.
 */
static int
client_batch_watch(const struct ctl_method *m, int argc, char **argv)
{
	json_t	*params;
	char	*cause = NULL, *text, *last = NULL;
	int	 tty, lines = 0, shown = 0, done = 0, rc = CTL_EXIT_ERROR;
	int	 error;

	if (ctl_params_from_argv(m, argc, argv, &params, &cause) != 0) {
		fprintf(stderr, "chimectl: %s\n", cause);
		free(cause);
		print_usage(stderr, m);
		return (CTL_EXIT_USAGE);
	}
	json_object_set_new(params, "limit", json_integer(0));
	tty = !client_json && isatty(STDOUT_FILENO) &&
	    (getenv("TERM") == NULL || strcmp(getenv("TERM"), "dumb") != 0);
	while (!done) {
		if (last != NULL)
			usleep(CLIENT_WATCH_MS * 1000);
		error = client_watch_once(params, tty, &text, &lines, &done,
		    &rc);
		if (error != CTL_EXIT_OK) {
			rc = error;
			break;
		}
		if (last == NULL || strcmp(last, text) != 0) {
			if (tty && shown > 0)
				printf("\033[%dA\r\033[J", shown);
			fputs(text, stdout);
			fflush(stdout);
			shown = lines;
		}
		free(last);
		last = text;
	}
	free(last);
	json_decref(params);
	return (rc);
}

/* ---- watch: the stream of events.watch ---------------------------------- */

static void
client_on_signal(int sig)
{
	client_stop = 1;
}

/* MSG (stolen) as one line on FD: 0, or -1 once said on stderr. */
static int
client_send_line(int fd, json_t *msg)
{
	char	*line;
	size_t	 len, off = 0;
	ssize_t	 n;

	line = json_dumps(msg, JSON_COMPACT);
	json_decref(msg);
	if (line == NULL)
		fatalx("client_send_line: json_dumps failed");
	len = strlen(line);
	line[len++] = '\n';	/* over the NUL: LEN bytes, no string */
	while (off < len) {
		n = send(fd, line + off, len - off, MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			fprintf(stderr, "chimectl: sending the request: %s\n",
			    strerror(errno));
			free(line);
			return (-1);
		}
		off += n;
	}
	free(line);
	return (0);
}

/* The answer to the request: the error (the end), or where it starts. */
static void
client_stream_answer(struct client_stream *cs, json_t *msg)
{
	json_t	*result = json_object_get(msg, "result");

	if (result == NULL) {
		cs->rc = client_answer(ctl_method_find("events.watch"), msg);
		cs->done = 1;
		return;
	}
	cs->started = 1;
	cs->next = json_integer_value(json_object_get(result, "from_seq"));
	if (json_is_true(json_object_get(result, "from_seq_adjusted")))
		fprintf(stderr, "chimectl: the journal begins at seq %lld "
		    "now (older records were archived): watching from there\n",
		    (long long)cs->next);
	if (cs->tty)
		fprintf(stderr, "watching from seq %lld (head %lld); Ctrl-C "
		    "ends\n", (long long)cs->next, (long long)
		    json_integer_value(json_object_get(result, "head_seq")));
}

/* events.end: say why and where to resume; exit 1. */
static void
client_stream_end(struct client_stream *cs, json_t *params)
{
	const char	*reason, *error;
	json_int_t	 from;

	reason = json_string_value(json_object_get(params, "reason"));
	error = json_string_value(json_object_get(params, "error"));
	from = json_integer_value(json_object_get(params, "resume_from"));
	fflush(stdout);
	fprintf(stderr, "chimectl: the daemon ended the watch (%s%s%s): "
	    "resume with --from %lld\n", reason != NULL ? reason : "?",
	    error != NULL ? ": " : "", error != NULL ? error : "",
	    (long long)from);
	cs->rc = CTL_EXIT_ERROR;
	cs->done = 1;
}

/* One line of the stream (LEN bytes, no newline). */
static void
client_stream_line(struct client_stream *cs, const char *line, size_t len)
{
	json_t		*msg, *params;
	json_error_t	 jerr;
	const char	*method;

	if ((msg = json_loadb(line, len, 0, &jerr)) == NULL) {
		fprintf(stderr, "chimectl: bad line from the daemon: %s\n",
		    jerr.text);
		cs->rc = CTL_EXIT_CONNECT;
		cs->done = 1;
		return;
	}
	method = json_string_value(json_object_get(msg, "method"));
	params = json_object_get(msg, "params");
	if (json_object_get(msg, "id") != NULL)
		client_stream_answer(cs, msg);
	else if (method != NULL && strcmp(method, "event") == 0) {
		cs->next = json_integer_value(json_object_get(params, "seq")) +
		    1;
		if (cs->tty)
			print_event_line(stdout, params, client_columns());
		else {
			json_dumpf(params, stdout, JSON_COMPACT);
			fputc('\n', stdout);
		}
	} else if (method != NULL && strcmp(method, "events.end") == 0)
		client_stream_end(cs, params);
	json_decref(msg);
}

/*
 * Read the stream until it ends or a signal in the set ppoll unblocks
 * (MASK: the mask to wait with) says stop; stdout is flushed after each
 * read.  An exit status.
 */
static int
client_stream_read(int fd, struct client_stream *cs, const sigset_t *mask)
{
	struct pollfd	 pfd;
	struct timespec	 ts, *tsp;
	char		*buf = NULL, *nl;
	size_t		 len = 0, size = 0, off;
	ssize_t		 n;
	int64_t		 deadline = mono_us() + (int64_t)client_timeout *
			     USEC_PER_SEC;

	while (!cs->done && !client_stop) {
		tsp = NULL;
		if (!cs->started && client_timeout > 0) {
			if (mono_us() >= deadline) {
				fprintf(stderr, "chimectl: timed out waiting "
				    "for the daemon\n");
				cs->rc = CTL_EXIT_CONNECT;
				break;
			}
			ts.tv_sec = (deadline - mono_us()) / USEC_PER_SEC;
			ts.tv_nsec = (deadline - mono_us()) % USEC_PER_SEC *
			    1000;
			tsp = &ts;
		}
		pfd.fd = fd;
		pfd.events = POLLIN;
		if (ppoll(&pfd, 1, tsp, mask) <= 0)
			continue;	/* a signal, the deadline, EINTR */
		if (len == size) {
			if (size >= CLIENT_STREAM_MAX) {
				fprintf(stderr, "chimectl: a line from the "
				    "daemon is too long\n");
				cs->rc = CTL_EXIT_CONNECT;
				break;
			}
			size = size == 0 ? 65536 : size * 2;
			buf = xreallocarray(buf, size, 1);
		}
		n = recv(fd, buf + len, size - len, MSG_DONTWAIT);
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0) {
			fprintf(stderr, "chimectl: connection closed by the "
			    "daemon%s%s; resume with --from %lld\n",
			    n == -1 ? ": " : "", n == -1 ? strerror(errno) : "",
			    (long long)cs->next);
			cs->rc = CTL_EXIT_CONNECT;
			break;
		}
		len += n;
		off = 0;
		while (!cs->done && (nl = memchr(buf + off, '\n', len - off)) !=
		    NULL) {
			client_stream_line(cs, buf + off, nl - (buf + off));
			off = nl + 1 - buf;
		}
		memmove(buf, buf + off, len - off);
		len -= off;
		fflush(stdout);
	}
	free(buf);
	fflush(stdout);
	return (cs->rc);
}

/*
 * watch [--from SEQ] [--kind KIND]... [--account ACCOUNT] (also "events
 * watch"): send events.watch, then print each event as it comes: a line
 * of JSON (the export object) when stdout is not a terminal or with
 * --json, a readable line on one.  SIGINT or SIGTERM ends it: output
 * flushed, exit 0.  When the daemon ends the stream (events.end) the seq
 * to resume from goes to stderr and the exit status is 1; a lost
 * connection is 3, with the same hint.
 */
static int
client_events_watch(const struct ctl_method *m, int argc, char **argv)
{
	struct client_stream	 cs;
	struct sigaction	 sa;
	sigset_t		 block, old;
	json_t			*params;
	char			*cause = NULL;
	int			 fd, rc;

	if (ctl_params_from_argv(m, argc, argv, &params, &cause) != 0) {
		fprintf(stderr, "chimectl: %s\n", cause);
		free(cause);
		print_usage(stderr, m);
		return (CTL_EXIT_USAGE);
	}
	memset(&cs, 0, sizeof cs);
	cs.tty = !client_json && isatty(STDOUT_FILENO) &&
	    (getenv("TERM") == NULL || strcmp(getenv("TERM"), "dumb") != 0);
	if ((fd = client_connect(client_socket_path())) == -1) {
		json_decref(params);
		return (CTL_EXIT_CONNECT);
	}
	/* The signals wait, blocked, for ppoll: none is lost in between. */
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = client_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &old);
	sigdelset(&old, SIGINT);
	sigdelset(&old, SIGTERM);
	if (client_send_line(fd, json_pack("{s:s,s:i,s:s,s:o}", "jsonrpc",
	    "2.0", "id", 1, "method", m->name, "params", params)) != 0) {
		close(fd);
		return (CTL_EXIT_CONNECT);
	}
	rc = client_stream_read(fd, &cs, &old);
	close(fd);
	return (client_stop && !cs.done ? CTL_EXIT_OK : rc);
}

/* The options before NOUN; returns the index of NOUN. */
static int
client_options(int argc, char **argv)
{
	static const struct option	 longopts[] = {
		{ "socket", required_argument, NULL, 'S' },
		{ "json", no_argument, NULL, 'j' },
		{ "wide", no_argument, NULL, 'w' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	char				*end;
	long				 l;
	int				 ch;

	while ((ch = getopt_long(argc, argv, "+S:jt:whV", longopts, NULL)) !=
	    -1) {
		switch (ch) {
		case 'S':
			client_socket = optarg;
			break;
		case 'j':
			client_json = 1;
			break;
		case 'w':
			client_wide = 1;
			break;
		case 't':
			errno = 0;
			l = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || errno != 0 ||
			    l < 0 || l > INT_MAX / 1000) {
				fprintf(stderr, "chimectl: --timeout: \"%s\" "
				    "is not a number of seconds\n", optarg);
				exit(CTL_EXIT_USAGE);
			}
			client_timeout = (int)l;
			break;
		case 'h':
			exit(client_help(0, NULL));
		case 'V':
			printf("chimectl %s\n", CHIME_VERSION);
			exit(CTL_EXIT_OK);
		default:
			usage();
		}
	}
	return (optind);
}

int
main(int argc, char **argv)
{
	int	i;

	log_open("chimectl", LOG_LEVEL_WARN);
	client_tables_init();
	i = client_options(argc, argv);
	argc -= i;
	argv += i;
	if (argc == 0)
		usage();
	if (strcmp(argv[0], "help") == 0 && argc == 2 &&
	    strcmp(argv[1], "watch") == 0) {
		print_method_help(stdout, ctl_method_find("events.watch"));
		return (CTL_EXIT_OK);
	}
	if (strcmp(argv[0], "help") == 0)
		return (client_help(argc - 1, argv + 1));
	if (strcmp(argv[0], "watch") == 0) {
		/* "chimectl watch ARGS" is "chimectl events watch ARGS". */
		argv[0] = "events.watch";
	}
	if (strcmp(argv[0], "version") == 0) {
		printf("chimectl %s\n", CHIME_VERSION);
		return (CTL_EXIT_OK);
	}
	return (client_run(argc, argv));
}
