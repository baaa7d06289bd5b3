/*
 * ctl/client.c: chimectl, the control client.  It resolves NOUN VERB in the
 * method table, builds the params from the arguments, sends one request
 * over the Unix socket, waits for the answer and prints it: a table or
 * "key: value" lines, or JSON with --json.  "cron next" runs offline.
 *
 * Exit status: 0 success, 1 an error answered by the daemon, 2 bad usage,
 * 3 no answer (cannot connect, connection lost, timeout).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
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

static int		 client_json;
static int		 client_timeout = CLIENT_TIMEOUT;
static const char	*client_socket;

static const struct ctl_param client_cron_params[] = {
	{ "expr", CTL_P_STRING, CTL_P_REQUIRED | CTL_P_POSITIONAL,
	    "cron expression (5 or 6 fields, or @daily ...)", NULL },
	{ "tz", CTL_P_STRING, 0, "IANA time zone (default UTC)", NULL },
	{ "from", CTL_P_TIME, 0, "start after this instant (default now)",
	    NULL },
	{ "count", CTL_P_INT, 0, "how many instants (default 5, at most 1000)",
	    NULL },
	{ "verbose", CTL_P_BOOL, 0, "also print the local time and DST tag",
	    NULL },
	{ NULL, 0, 0, NULL, NULL }
};

/* Offline commands, described like methods for usage and help. */
static const struct ctl_method client_offline[] = {
	{ "cron.next", "print the next fire instants of a cron expression "
	    "(offline)", client_cron_params, CTL_M_READONLY, NULL, NULL,
	    NULL },
	{ NULL, NULL, NULL, 0, NULL, NULL, NULL }
};
static const struct ctl_method *const client_offline_tables[] = {
	client_offline, NULL
};

static deadfunc void usage(void);
static const char *client_socket_path(void);
static int	 client_connect(const char *);
static void	 client_help_line(const struct ctl_method *, void *);
static int	 client_help(int, char **);
static int	 client_cron(int, char **);
static void	 client_cron_print(const struct cron_fire *, const struct tz *,
		     int);
static int	 client_call(const struct ctl_method *, json_t *);
static int	 client_answer(const struct ctl_method *, json_t *);
static int	 client_wants_help(int, char **);
static int	 client_run(int, char **);
static int	 client_options(int, char **);
static int	 client_take_file(const struct ctl_method *, int *, char **,
		     json_t **);
static int	 client_batch_watch(int, char **);

static deadfunc void
usage(void)
{
	fprintf(stderr, "usage: chimectl [--socket PATH] [--json] "
	    "[--timeout SECONDS] NOUN VERB [ARGS...] [-f FILE]\n"
	    "       chimectl cron next EXPR [--tz ZONE] [--from TIME] "
	    "[--count N] [--verbose]\n"
	    "       chimectl batch watch ID\n"
	    "       chimectl help [NOUN [VERB]]\n"
	    "       chimectl version\n");
	exit(CTL_EXIT_USAGE);
}

/* --socket, else $CHIME_SOCKET, else $CHIME_DATA/chime.sock, else the
 * default data directory's socket. */
static const char *
client_socket_path(void)
{
	static char	*path;
	const char	*s;

	if (client_socket != NULL)
		return (client_socket);
	if ((s = getenv("CHIME_SOCKET")) != NULL && *s != '\0')
		return (s);
	if ((s = getenv("CHIME_DATA")) != NULL && *s != '\0') {
		if (path == NULL)
			xasprintf(&path, "%s/chime.sock", s);
		return (path);
	}
	return ("./var/chime/chime.sock");
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

/* One "  noun verb   summary" line; ARG, if set, limits to one noun. */
static void
client_help_line(const struct ctl_method *m, void *arg)
{
	const char	*noun = arg;
	size_t		 n = strcspn(m->name, ".");
	char		 cmd[128];

	if (noun != NULL && (strlen(noun) > n ||
	    strncmp(m->name, noun, strlen(noun)) != 0))
		return;
	snprintf(cmd, sizeof cmd, "%.*s %s", (int)n, m->name,
	    m->name[n] == '.' ? m->name + n + 1 : "");
	printf("  %-24s %s\n", cmd, m->summary != NULL ? m->summary : "");
}

/* help, help NOUN, help NOUN VERB, help NOUN.VERB */
static int
client_help(int argc, char **argv)
{
	const struct ctl_method	*m;
	char			*cause = NULL;

	if (argc == 0) {
		printf("usage: chimectl [--socket PATH] [--json] "
		    "[--timeout SECONDS] NOUN VERB [ARGS...]\n\n"
		    "commands (NOUN and VERB may be unique prefixes; ls, rm "
		    "and show mean list, delete, get):\n");
		ctl_method_foreach(client_help_line, NULL);
		client_help_line(&client_offline[0], NULL);
		printf("  %-24s %s\n", "batch watch ID", "show a batch's "
		    "progress every 500 ms until it ends");
		printf("  %-24s %s\n  %-24s %s\n", "help [NOUN [VERB]]",
		    "show commands, or one command's arguments", "version",
		    "print the version");
		return (CTL_EXIT_OK);
	}
	m = ctl_method_match_in(client_offline_tables, argv[0],
	    argc > 1 ? argv[1] : NULL, &cause);
	if (m == NULL) {
		free(cause);
		m = ctl_method_match(argv[0], argc > 1 ? argv[1] : NULL,
		    &cause);
	}
	if (m == NULL && argc == 1 && strchr(argv[0], '.') == NULL) {
		free(cause);
		ctl_method_foreach(client_help_line, argv[0]);
		if (strncmp(argv[0], "batch", strlen(argv[0])) == 0)
			printf("  %-24s %s\n", "batch watch ID", "show a "
			    "batch's progress every 500 ms until it ends");
		return (CTL_EXIT_OK);
	}
	if (m == NULL) {
		fprintf(stderr, "chimectl: %s\n", cause);
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

/* cron next EXPR [--tz ZONE] [--from TIME] [--count N] [--verbose]:
 * the same evaluator the daemon uses, without a daemon. */
static int
client_cron(int argc, char **argv)
{
	const struct ctl_method	*m = &client_offline[0];
	const struct tz		*tz;
	struct cron		 c;
	struct cron_fire	 f;
	json_t			*params;
	char			*cause = NULL;
	int64_t			 from, count = CLIENT_CRON_COUNT, t;
	int			 verbose = 0, printed = 0;

	if (argc < 1 || strcmp(argv[0], "next") != 0) {
		fprintf(stderr, "chimectl: cron: unknown verb (one of: next)\n");
		print_usage(stderr, m);
		return (CTL_EXIT_USAGE);
	}
	if (ctl_params_from_argv(m, argc - 1, argv + 1, &params, &cause) != 0)
		goto usage;
	from = now_us();
	if (json_object_get(params, "from") != NULL &&
	    !ctl_param_time(params, "from", &from)) {
		cause = xstrdup("--from: not an RFC 3339 time");
		goto usage;
	}
	ctl_param_int(params, "count", &count);
	if (count < 1 || count > CLIENT_CRON_MAX) {
		xasprintf(&cause, "--count: must be 1 to %d", CLIENT_CRON_MAX);
		goto usage;
	}
	ctl_param_bool(params, "verbose", &verbose);
	if (cron_parse(ctl_param_string(params, "expr"), &c, &cause) != 0)
		goto usage;
	tz = tz_load(ctl_param_string(params, "tz") != NULL ?
	    ctl_param_string(params, "tz") : "UTC", &cause);
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
	if (printed == 0) {
		fprintf(stderr, "chimectl: cron: no fire instant found\n");
		return (CTL_EXIT_ERROR);
	}
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
		print_result(stdout, m, result);
	return (CTL_EXIT_OK);
}

/* Connect, send the request, wait for the answer, print it. */
static int
client_call(const struct ctl_method *m, json_t *params)
{
	const char	*path = client_socket_path();
	json_t		*resp;
	char		*cause;
	int		 fd, rc;

	if ((fd = client_connect(path)) == -1)
		return (CTL_EXIT_CONNECT);
	if (ctl_client_call(fd, m->name, params, client_timeout * 1000,
	    &resp, &cause) != 0) {
		fprintf(stderr, "chimectl: %s: %s\n", path, cause);
		free(cause);
		close(fd);
		return (CTL_EXIT_CONNECT);
	}
	close(fd);
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

	if (argc >= 2 && strcmp(argv[0], "batch") == 0 &&
	    strcmp(argv[1], "watch") == 0)
		return (client_batch_watch(argc - 2, argv + 2));
	skip = strchr(argv[0], '.') != NULL ? 1 : 2;
	m = ctl_method_match(argv[0], skip == 2 && argc > 1 ? argv[1] : NULL,
	    &cause);
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
	if (!json_is_object(*out)) {
		fprintf(stderr, "chimectl: %s: %s\n", argv[i + 1], *out ==
		    NULL ? err.text : "not a JSON object");
		json_decref(*out);
		*out = NULL;
		return (-1);
	}
	memmove(argv + i, argv + i + 2, (*argc - i - 2) * sizeof *argv);
	*argc -= 2;
	return (0);
}

/* batch watch ID: batch.get (without operations) every 500 ms, one
 * progress line each, until the batch ends; exit 0 if it completed. */
static int
client_batch_watch(int argc, char **argv)
{
	const struct ctl_method	*m = ctl_method_find("batch.get");
	const char		*st, *path = client_socket_path();
	json_t			*params, *resp, *res;
	char			*cause;
	int			 fd, rc = CTL_EXIT_ERROR;

	if (argc != 1) {
		fprintf(stderr, "usage: chimectl batch watch ID\n");
		return (CTL_EXIT_USAGE);
	}
	params = json_pack("{s:s, s:i}", "id", argv[0], "limit", 0);
	for (;;) {
		if ((fd = client_connect(path)) == -1) {
			rc = CTL_EXIT_CONNECT;
			break;
		}
		if (ctl_client_call(fd, m->name, params, client_timeout * 1000,
		    &resp, &cause) != 0) {
			fprintf(stderr, "chimectl: %s: %s\n", path, cause);
			free(cause);
			close(fd);
			rc = CTL_EXIT_CONNECT;
			break;
		}
		close(fd);
		if ((res = json_object_get(resp, "result")) == NULL) {
			rc = client_answer(m, resp);
			json_decref(resp);
			break;
		}
		printf("%s\n", json_string_value(json_object_get(res,
		    "progress")));
		fflush(stdout);
		st = json_string_value(json_object_get(res, "state"));
		if (st != NULL && strcmp(st, "running") != 0 &&
		    strcmp(st, "draft") != 0) {
			rc = strcmp(st, "completed") == 0 ? CTL_EXIT_OK :
			    CTL_EXIT_ERROR;
			json_decref(resp);
			break;
		}
		json_decref(resp);
		usleep(500 * 1000);
	}
	json_decref(params);
	return (rc);
}

/* The options before NOUN; returns the index of NOUN. */
static int
client_options(int argc, char **argv)
{
	static const struct option	 longopts[] = {
		{ "socket", required_argument, NULL, 'S' },
		{ "json", no_argument, NULL, 'j' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	char				*end;
	long				 l;
	int				 ch;

	while ((ch = getopt_long(argc, argv, "+S:jt:hV", longopts, NULL)) !=
	    -1) {
		switch (ch) {
		case 'S':
			client_socket = optarg;
			break;
		case 'j':
			client_json = 1;
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
	i = client_options(argc, argv);
	argc -= i;
	argv += i;
	if (argc == 0)
		usage();
	if (strcmp(argv[0], "help") == 0)
		return (client_help(argc - 1, argv + 1));
	if (strcmp(argv[0], "version") == 0) {
		printf("chimectl %s\n", CHIME_VERSION);
		return (CTL_EXIT_OK);
	}
	if (strcmp(argv[0], "cron") == 0)
		return (client_cron(argc - 1, argv + 1));
	if (strcmp(argv[0], "cron.next") == 0) {
		argv[0] = (char *)"next";
		return (client_cron(argc, argv));
	}
	return (client_run(argc, argv));
}
