/*
 * bench/bench.c: what the bench programs share: their common options
 * (bench_opts_*), numbers on the command line, temporary directories,
 * percentiles, and the helpers of those that drive a real chimed.
 *
 * The daemon runs as a child on a temporary data directory, with its log
 * in a file beside it.  Every daemon started here is killed when the
 * program exits, on any path: at exit, on SIGINT/SIGTERM/SIGHUP, and by
 * the kernel (PR_SET_PDEATHSIG) if the bench program itself dies.
 *
 * Requests are JSON-RPC 2.0 lines written by hand (the params object comes
 * from the caller); answers are matched by id, as the daemon answers in any
 * order.
 */
#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/buffer.h>

#include "engine.h"
#include "bench.h"

#define BENCH_MAX_DAEMONS	8
#define BENCH_POLL_US		2000	/* readiness polling */
#define BENCH_PARAMS_MAX	(64 * 1024)
#define BENCH_LINE_MAX		(4 * 1024 * 1024)	/* an answer line */

#ifndef BENCH_BUILDDIR
#define BENCH_BUILDDIR	"."
#endif
#ifndef BENCH_SRCDIR
#define BENCH_SRCDIR	"."
#endif
#define BENCH_OWN_OPTIONS	32	/* of one program, at most */
#define BENCH_COMMON_VAL	0x10000	/* getopt_long's value: this | bit */
#define BENCH_OWN_VAL		0x20000	/* getopt_long's value: this | row */

/* The common options, by their BENCH_TAKE_* bit. */
static const struct option bench_common_options[] = {
	{ "chimed", required_argument, NULL, BENCH_TAKE_CHIMED },
	{ "journal", required_argument, NULL, BENCH_TAKE_JOURNAL },
	{ "router", required_argument, NULL, BENCH_TAKE_ROUTER },
	{ "catalog", required_argument, NULL, BENCH_TAKE_CATALOG },
	{ "sync", required_argument, NULL, BENCH_TAKE_SYNC },
	{ "log-level", required_argument, NULL, BENCH_TAKE_LOG_LEVEL },
	{ "keep", no_argument, NULL, BENCH_TAKE_KEEP },
	{ "out", required_argument, NULL, BENCH_TAKE_OUT },
	{ "connections", required_argument, NULL, BENCH_TAKE_CONNECTIONS },
	{ "window", required_argument, NULL, BENCH_TAKE_WINDOW },
};
#define BENCH_NCOMMON \
	(sizeof bench_common_options / sizeof bench_common_options[0])

/* One connection of a pipeline. */
struct bench_conn {
	int		 fd;
	char		*rbuf;
	size_t		 rlen;
	size_t		 rcap;
	char		*wbuf;
	size_t		 woff;
	size_t		 wlen;
	size_t		 wcap;
	int		 inflight;
};

static void	bench_register(struct bench_daemon *);
static void	bench_unregister(struct bench_daemon *);
static void	bench_kill_all(void);
static void	bench_on_signal(int);
static deadfunc void bench_exec_child(const struct bench_daemon *);
static int	bench_connect(const char *);
static char	*bench_beside(const char *, const char *);
static void	bench_opts_take(struct bench_opts *, int, const char *);
static void	bench_own_set(const char *, const struct bench_own *,
		    const char *);
static int	bench_rm_entry(const char *, const struct stat *, int,
		    struct FTW *);
static int	bench_du_entry(const char *, const struct stat *, int,
		    struct FTW *);
static int	bench_conn_fill(struct bench_pipeline *, struct bench_conn *,
		    uint64_t *, int64_t *, char *, char **);
static int	bench_conn_read(struct bench_pipeline *, struct bench_conn *,
		    int64_t *, char **);
static void	bench_answer(struct bench_pipeline *, const char *, size_t,
		    int64_t *);
static int	bench_cmp(const void *, const void *);
static size_t	bench_http_collect(char *, size_t, size_t, void *);

static struct bench_daemon	*daemons[BENCH_MAX_DAEMONS];
static int			 handlers_set;
static int64_t			 du_total;

/* The chimed to run: $CHIME_BUILDDIR/chimed, else the configured build
 * directory's.  Returns a static string. */
const char *
bench_default_chimed(void)
{
	static char	 path[4096];
	const char	*b = getenv("CHIME_BUILDDIR");

	snprintf(path, sizeof path, "%s/chimed", b != NULL && *b != '\0' ?
	    b : BENCH_BUILDDIR);
	return (path);
}

/* REL under the source tree: $CHIME_SRCDIR, else the configured one;
 * returns allocated. */
char *
bench_src_path(const char *rel)
{
	const char	*src = getenv("CHIME_SRCDIR");
	char		*p;

	xasprintf(&p, "%s/%s", src != NULL && *src != '\0' ? src :
	    BENCH_SRCDIR, rel);
	return (p);
}

/* The defaults of PROG: bench_default_chimed, the bench catalog of the
 * source tree, the durable journal, log level info; chime-journal and the
 * router beside chimed (bench_opts_check). */
void
bench_opts_init(struct bench_opts *o, const char *prog)
{
	memset(o, 0, sizeof *o);
	o->prog = prog;
	o->chimed = bench_default_chimed();
	o->catalog = o->owned[0] = bench_src_path("bench/catalog.json");
	o->sync = "full";
	o->log_level = "info";
	o->conns = 4;
	o->window = 64;
	o->conns_max = 200;
	o->window_max = 64;
}

/*
 * Take the common option BIT (a BENCH_TAKE_*) with ARG.  A bad value ends
 * the program with status 2.
 */
static void
bench_opts_take(struct bench_opts *o, int bit, const char *arg)
{
	switch (bit) {
	case BENCH_TAKE_CONNECTIONS:
		o->conns = (int)bench_number(o->prog, "--connections", arg, 1,
		    o->conns_max, 0);
		break;
	case BENCH_TAKE_WINDOW:
		o->window = (int)bench_number(o->prog, "--window", arg, 1,
		    o->window_max, 0);
		break;
	case BENCH_TAKE_CHIMED:
		o->chimed = arg;
		break;
	case BENCH_TAKE_JOURNAL:
		o->journal = arg;
		break;
	case BENCH_TAKE_ROUTER:
		o->router = arg;
		break;
	case BENCH_TAKE_CATALOG:
		o->catalog = arg;
		break;
	case BENCH_TAKE_SYNC:
		if (strcmp(arg, "full") != 0 && strcmp(arg, "batch") != 0 &&
		    strcmp(arg, "none") != 0) {
			fprintf(stderr, "%s: --sync: expected full, batch or "
			    "none\n", o->prog);
			exit(2);
		}
		o->sync = arg;
		break;
	case BENCH_TAKE_LOG_LEVEL:
		o->log_level = arg;
		break;
	case BENCH_TAKE_KEEP:
		o->keep = 1;
		break;
	case BENCH_TAKE_OUT:
		o->out = arg;
		break;
	}
}

/* Set the option OWN of PROG's own (not a BENCH_OWN_TAKE) from ARG. */
static void
bench_own_set(const char *prog, const struct bench_own *own, const char *arg)
{
	char	 flag[64];
	long	 v;

	if (own->kind == BENCH_OWN_STRING) {
		*(const char **)own->to = arg;
		return;
	}
	snprintf(flag, sizeof flag, "--%s", own->name);
	v = bench_number(prog, flag, arg, own->lo, own->hi,
	    (own->kind & BENCH_OWN_S) != 0);
	switch (own->kind & ~BENCH_OWN_S) {
	case BENCH_OWN_INT:
		*(int *)own->to = (int)v;
		break;
	case BENCH_OWN_U64:
		*(uint64_t *)own->to = (uint64_t)v;
		break;
	case BENCH_OWN_USEC:
		*(int64_t *)own->to = v * USEC_PER_SEC;
		break;
	}
}

/*
 * Parse ARGV (long options only): OWN, the program's options (TAKE with ARG
 * takes those of kind BENCH_OWN_TAKE); the common ones TAKES names
 * (BENCH_TAKE_*) into O.  -1 (the caller prints its usage) on --help, an
 * option neither knows, a value TAKE refuses or an argument left over.
 */
int
bench_opts_parse(struct bench_opts *o, int argc, char **argv,
    const struct bench_own *own, int takes, bench_take_cb take, void *arg)
{
	struct option	 all[BENCH_OWN_OPTIONS + BENCH_NCOMMON + 1];
	size_t		 n = 0, i;
	int		 ch;

	for (i = 0; own[i].name != NULL; i++) {
		if (n == BENCH_OWN_OPTIONS)
			fatalx("bench_opts_parse: too many options");
		all[n].name = own[i].name;
		all[n].has_arg = own[i].kind == BENCH_OWN_HELP ? no_argument :
		    required_argument;
		all[n].flag = NULL;
		all[n++].val = own[i].kind == BENCH_OWN_TAKE ? own[i].val :
		    BENCH_OWN_VAL | (int)i;
	}
	for (i = 0; i < BENCH_NCOMMON; i++) {
		if (takes & bench_common_options[i].val) {
			all[n] = bench_common_options[i];
			all[n++].val |= BENCH_COMMON_VAL;
		}
	}
	memset(&all[n], 0, sizeof all[n]);
	while ((ch = getopt_long(argc, argv, "", all, NULL)) != -1) {
		if (ch & BENCH_COMMON_VAL)
			bench_opts_take(o, ch & ~BENCH_COMMON_VAL, optarg);
		else if (ch & BENCH_OWN_VAL) {
			if (own[ch & ~BENCH_OWN_VAL].kind == BENCH_OWN_HELP)
				return (-1);
			bench_own_set(o->prog, &own[ch & ~BENCH_OWN_VAL],
			    optarg);
		} else if (take == NULL || take(arg, ch, optarg) == -1)
			return (-1);
	}
	return (optind == argc ? 0 : -1);
}

/* FILE beside the program at PATH (same directory); returns allocated. */
static char *
bench_beside(const char *path, const char *file)
{
	const char	*slash = strrchr(path, '/');
	char		*p;

	if (slash == NULL)
		return (xstrdup(file));
	xasprintf(&p, "%.*s/%s", (int)(slash - path), path, file);
	return (p);
}

/*
 * After the options: chime-journal and tests/chime-test-router default to
 * those of chimed's build directory.  chimed, and what NEED names
 * (BENCH_NEED_*), must be there; else the program ends with status 2.
 */
void
bench_opts_check(struct bench_opts *o, int need)
{
	const char	*missing = NULL;

	if (o->journal == NULL)
		o->journal = o->owned[1] = bench_beside(o->chimed,
		    "chime-journal");
	if (o->router == NULL)
		o->router = o->owned[2] = bench_beside(o->chimed,
		    "tests/chime-test-router");
	if (access(o->chimed, X_OK) == -1)
		missing = o->chimed;
	else if ((need & BENCH_NEED_JOURNAL) && access(o->journal, X_OK) == -1)
		missing = o->journal;
	else if ((need & BENCH_NEED_ROUTER) && access(o->router, X_OK) == -1)
		missing = o->router;
	if (missing != NULL) {
		fprintf(stderr, "%s: no %s (--chimed%s%s or $CHIME_BUILDDIR)\n",
		    o->prog, missing,
		    need & BENCH_NEED_JOURNAL ? ", --journal" : "",
		    need & BENCH_NEED_ROUTER ? ", --router" : "");
		exit(2);
	}
}

/* Write J to --out, if given, and drop J; status 1 if it cannot. */
void
bench_opts_output(const struct bench_opts *o, json_t *j)
{
	char	*cause = NULL;

	if (o->out != NULL && bench_write_json(o->out, j, &cause) == -1) {
		fprintf(stderr, "%s: %s\n", o->prog, cause);
		exit(1);
	}
	json_decref(j);
}

void
bench_opts_free(struct bench_opts *o)
{
	size_t	i;

	for (i = 0; i < sizeof o->owned / sizeof o->owned[0]; i++) {
		free(o->owned[i]);
		o->owned[i] = NULL;
	}
}

/* S as a whole number from LO to HI ("10" or, with SECONDS, also "10s"),
 * or the end of PROG with status 2 saying what FLAG expects. */
long
bench_number(const char *prog, const char *flag, const char *s, long lo,
    long hi, int seconds)
{
	char	*end;
	long	 v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (seconds && *end == 's')
		end++;
	if (errno != 0 || *end != '\0' || end == s || v < lo || v > hi) {
		fprintf(stderr, "%s: %s: expected a number from %ld to %ld\n",
		    prog, flag, lo, hi);
		exit(2);
	}
	return (v);
}

static void
bench_kill_all(void)
{
	int	i;

	for (i = 0; i < BENCH_MAX_DAEMONS; i++) {
		if (daemons[i] != NULL && daemons[i]->pid > 0) {
			kill(daemons[i]->pid, SIGKILL);
			waitpid(daemons[i]->pid, NULL, 0);
			daemons[i]->pid = 0;
		}
	}
}

/*
 * SIGINT/SIGTERM/SIGHUP: kill every daemon, remove the directories not
 * kept (rm -rf in a child: fork, execv and waitpid are async-signal-safe,
 * nftw is not) and exit.
 */
static void
bench_on_signal(int sig)
{
	char	*argv[BENCH_MAX_DAEMONS + 3];
	pid_t	 pid;
	int	 i, n = 0;

	bench_kill_all();
	argv[n++] = (char *)"rm";
	argv[n++] = (char *)"-rf";
	for (i = 0; i < BENCH_MAX_DAEMONS; i++) {
		if (daemons[i] != NULL && !daemons[i]->keep)
			argv[n++] = daemons[i]->dir;
	}
	argv[n] = NULL;
	if (n > 2 && (pid = fork()) == 0) {
		execv("/bin/rm", argv);
		_exit(127);
	} else if (n > 2 && pid > 0)
		waitpid(pid, NULL, 0);
	_exit(128 + sig);
}

static void
bench_register(struct bench_daemon *d)
{
	struct sigaction	sa;
	int			i;

	if (!handlers_set) {
		handlers_set = 1;
		atexit(bench_kill_all);
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = bench_on_signal;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGHUP, &sa, NULL);
		signal(SIGPIPE, SIG_IGN);
	}
	for (i = 0; i < BENCH_MAX_DAEMONS; i++) {
		if (daemons[i] == NULL) {
			daemons[i] = d;
			return;
		}
	}
	fatalx("bench: too many daemons");
}

static void
bench_unregister(struct bench_daemon *d)
{
	int	i;

	for (i = 0; i < BENCH_MAX_DAEMONS; i++) {
		if (daemons[i] == d)
			daemons[i] = NULL;
	}
}

/* Make a temporary directory for a daemon running CHIMED with CATALOG
 * (NULL: the built-in one).  Defaults: durable journal, log level info. */
void
bench_daemon_init(struct bench_daemon *d, const char *chimed,
    const char *catalog)
{
	memset(d, 0, sizeof *d);
	d->chimed = chimed;
	d->catalog = catalog;
	d->sync = "full";
	d->log_level = "info";
	d->dir = bench_tmpdir(NULL, "chime-bench");
	xasprintf(&d->data, "%s/data", d->dir);
	xasprintf(&d->sock, "%s/chime.sock", d->data);
	xasprintf(&d->log, "%s/chimed.log", d->dir);
	bench_register(d);
}

static deadfunc void
bench_exec_child(const struct bench_daemon *d)
{
	const char	*argv[26];
	char		 mr[32];
	int		 fd, n = 0;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if ((fd = open(d->log, O_WRONLY | O_CREAT | O_APPEND, 0600)) != -1) {
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		close(fd);
	}
	if ((fd = open("/dev/null", O_RDONLY)) != -1) {
		dup2(fd, STDIN_FILENO);
		close(fd);
	}
	argv[n++] = d->chimed;
	argv[n++] = "--data";
	argv[n++] = d->data;
	argv[n++] = "--journal-sync";
	argv[n++] = d->sync;
	argv[n++] = "--log-level";
	argv[n++] = d->log_level;
	/* Never the default port: several benches may run at once. */
	argv[n++] = "--http";
	argv[n++] = "127.0.0.1:0";
	if (d->catalog != NULL) {
		argv[n++] = "--catalog";
		argv[n++] = d->catalog;
	}
	if (d->trace != NULL) {
		argv[n++] = "--trace";
		argv[n++] = d->trace;
	}
	if (d->max_running > 0) {
		snprintf(mr, sizeof mr, "%d", d->max_running);
		argv[n++] = "--max-running";
		argv[n++] = mr;
	}
	if (d->http_allow != NULL) {
		argv[n++] = "--http-allow";
		argv[n++] = d->http_allow;
	}
	if (d->ctl_max_request != NULL) {
		argv[n++] = "--ctl-max-request";
		argv[n++] = d->ctl_max_request;
	}
	if (d->claim_ahead != NULL) {
		argv[n++] = "--claim-ahead";
		argv[n++] = d->claim_ahead;
	}
	argv[n] = NULL;
	execv(d->chimed, (char *const *)argv);
	fprintf(stderr, "bench: cannot run %s: %s\n", d->chimed,
	    strerror(errno));
	_exit(127);
}

/*
 * Start the daemon and wait until its socket answers daemon.status with
 * schedules.total == WANT_TOTAL (any total if WANT_TOTAL < 0), at most
 * TIMEOUT_US.  *READY_US is the time from fork to that answer; *STATUS, if
 * not NULL, the answer (caller decrefs).
 */
int
bench_daemon_start(struct bench_daemon *d, int64_t want_total,
    int64_t timeout_us, int64_t *ready_us, json_t **status, char **cause)
{
	json_t	*st = NULL;
	int64_t	 t0, total;
	int	 ws;

	t0 = mono_us();
	if ((d->pid = fork()) == -1) {
		xasprintf(cause, "fork: %s", strerror(errno));
		d->pid = 0;
		return (-1);
	}
	if (d->pid == 0)
		bench_exec_child(d);
	for (;;) {
		if (waitpid(d->pid, &ws, WNOHANG) == d->pid) {
			d->pid = 0;
			xasprintf(cause, "chimed exited at start (status %d); "
			    "see %s", WIFEXITED(ws) ? WEXITSTATUS(ws) : -1,
			    d->log);
			return (-1);
		}
		if (bench_call(d->sock, "daemon.status", NULL, USEC_PER_SEC,
		    &st, NULL) == 0) {
			total = bench_json_int(st, "schedules.total");
			if (want_total < 0 || total == want_total)
				break;
			json_decref(st);
			st = NULL;
		}
		if (mono_us() - t0 > timeout_us) {
			bench_daemon_kill(d);
			xasprintf(cause, "chimed did not answer with the "
			    "expected state within %lld s; see %s",
			    (long long)(timeout_us / USEC_PER_SEC), d->log);
			return (-1);
		}
		usleep(BENCH_POLL_US);
	}
	*ready_us = mono_us() - t0;
	if (status != NULL)
		*status = st;
	else
		json_decref(st);
	return (0);
}

/*
 * Send SIG to the daemon and wait for it to exit, at most TIMEOUT_US (then
 * it is killed).  *TOOK_US is the time to exit.  After SIGTERM an exit
 * status other than 0 is an error.
 */
int
bench_daemon_stop(struct bench_daemon *d, int sig, int64_t timeout_us,
    int64_t *took_us, char **cause)
{
	int64_t	t0 = mono_us();
	int	ws;

	if (d->pid <= 0) {
		*cause = xstrdup("chimed is not running");
		return (-1);
	}
	kill(d->pid, sig);
	while (waitpid(d->pid, &ws, WNOHANG) != d->pid) {
		if (mono_us() - t0 > timeout_us) {
			bench_daemon_kill(d);
			xasprintf(cause, "chimed did not exit within %lld s "
			    "of signal %d", (long long)(timeout_us /
			    USEC_PER_SEC), sig);
			return (-1);
		}
		usleep(1000);
	}
	*took_us = mono_us() - t0;
	d->pid = 0;
	if (sig != SIGKILL && (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0)) {
		xasprintf(cause, "chimed exited with status %d after signal "
		    "%d; see %s", WIFEXITED(ws) ? WEXITSTATUS(ws) : -1, sig,
		    d->log);
		return (-1);
	}
	return (0);
}

void
bench_daemon_kill(struct bench_daemon *d)
{
	if (d->pid > 0) {
		kill(d->pid, SIGKILL);
		waitpid(d->pid, NULL, 0);
		d->pid = 0;
	}
}

static int
bench_rm_entry(const char *path, const struct stat *sb, int flag,
    struct FTW *ftw)
{
	return (remove(path));
}

const char *const bench_zones[BENCH_NZONES] = {
	"UTC", "Europe/Berlin", "America/New_York", "Asia/Tokyo",
	"Australia/Lord_Howe", "America/Sao_Paulo", "Asia/Kolkata",
	"Europe/London"
};
const char *const bench_day_names[7] = {
	"sun", "mon", "tue", "wed", "thu", "fri", "sat"
};

/* A new directory PARENT/NAME.XXXXXX (PARENT NULL: $TMPDIR, else /tmp);
 * returns allocated.  Fatal if it cannot be made. */
char *
bench_tmpdir(const char *parent, const char *name)
{
	char	*dir;

	if (parent == NULL && ((parent = getenv("TMPDIR")) == NULL ||
	    *parent == '\0'))
		parent = "/tmp";
	xasprintf(&dir, "%s/%s.XXXXXX", parent, name);
	if (mkdtemp(dir) == NULL)
		fatal("mkdtemp %s", dir);
	return (dir);
}

/* Remove DIR and everything under it (links are not followed). */
void
bench_rm_tree(const char *dir)
{
	nftw(dir, bench_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Kill the daemon if it runs, remove its directory unless KEEP (or
 * d->keep). */
void
bench_daemon_free(struct bench_daemon *d, int keep)
{
	bench_daemon_kill(d);
	if (keep || d->keep)
		fprintf(stderr, "bench: kept %s\n", d->dir);
	else
		bench_rm_tree(d->dir);
	bench_unregister(d);
	free(d->dir);
	free(d->data);
	free(d->sock);
	free(d->log);
	memset(d, 0, sizeof *d);
}

/* The last N lines of the daemon's log, on stderr. */
void
bench_daemon_log_tail(const struct bench_daemon *d, int n)
{
	FILE	*f;
	char	*buf;
	long	 size, off;
	size_t	 len;
	int	 lines = 0;

	if ((f = fopen(d->log, "r")) == NULL)
		return;
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	off = size > 65536 ? size - 65536 : 0;
	fseek(f, off, SEEK_SET);
	buf = xmalloc(65537);
	len = fread(buf, 1, 65536, f);
	buf[len] = '\0';
	fclose(f);
	while (len > 0 && lines <= n) {
		if (buf[--len] == '\n')
			lines++;
	}
	fprintf(stderr, "---- %s ----\n%s", d->log, buf + len + (len > 0));
	free(buf);
}

static int
bench_connect(const char *path)
{
	struct sockaddr_un	sun;
	int			fd;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun.sun_path) {
		errno = ENAMETOOLONG;
		return (-1);
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return (-1);
	if (connect(fd, (struct sockaddr *)&sun, sizeof sun) == -1) {
		close(fd);
		return (-1);
	}
	return (fd);
}

/*
 * One request on a fresh connection: METHOD with PARAMS (JSON object text,
 * or NULL), at most TIMEOUT_US.  *RESULT is the result object (caller
 * decrefs); on an error answer or a failure, -1 and *CAUSE (if CAUSE is not
 * NULL).
 */
int
bench_call(const char *sock, const char *method, const char *params,
    int64_t timeout_us, json_t **result, char **cause)
{
	struct pollfd	 pfd;
	json_t		*root = NULL, *v;
	char		*line, buf[65536], *acc = NULL;
	size_t		 alen = 0;
	ssize_t		 n;
	int64_t		 deadline = mono_us() + timeout_us;
	int		 fd, rc = -1;

	if ((fd = bench_connect(sock)) == -1) {
		if (cause != NULL)
			xasprintf(cause, "connect %s: %s", sock,
			    strerror(errno));
		return (-1);
	}
	xasprintf(&line, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"%s\""
	    "%s%s}\n", method, params != NULL ? ",\"params\":" : "",
	    params != NULL ? params : "");
	n = write(fd, line, strlen(line));
	free(line);
	if (n <= 0)
		goto out;
	pfd.fd = fd;
	pfd.events = POLLIN;
	while (acc == NULL || memchr(acc, '\n', alen) == NULL) {
		if (mono_us() >= deadline ||
		    poll(&pfd, 1, (int)((deadline - mono_us()) / 1000) + 1) <= 0)
			goto out;
		if ((n = read(fd, buf, sizeof buf)) <= 0)
			goto out;
		acc = xreallocarray(acc, alen + (size_t)n + 1, 1);
		memcpy(acc + alen, buf, (size_t)n);
		alen += (size_t)n;
		acc[alen] = '\0';
	}
	if ((root = json_loads(acc, JSON_DISABLE_EOF_CHECK, NULL)) == NULL)
		goto out;
	if ((v = json_object_get(root, "result")) != NULL) {
		*result = json_incref(v);
		rc = 0;
	} else if (cause != NULL)
		*cause = json_dumps(json_object_get(root, "error"),
		    JSON_COMPACT);
out:
	if (rc == -1 && cause != NULL && *cause == NULL)
		xasprintf(cause, "no answer to %s on %s", method, sock);
	json_decref(root);
	free(acc);
	close(fd);
	return (rc);
}

/* The integer at dotted PATH ("schedules.total") in O, or -1. */
int64_t
bench_json_int(json_t *o, const char *path)
{
	char	*copy, *p, *dot;
	json_t	*v = o;

	copy = xstrdup(path);
	for (p = copy; v != NULL && p != NULL; p = dot) {
		if ((dot = strchr(p, '.')) != NULL)
			*dot++ = '\0';
		v = json_object_get(v, p);
	}
	free(copy);
	return (json_is_integer(v) ? (int64_t)json_integer_value(v) : -1);
}

/* RSS figures of PID. */
int
bench_rss(pid_t pid, struct bench_rss *r)
{
	FILE		*f;
	char		 path[64], line[256];
	long long	 kb;

	memset(r, 0, sizeof *r);
	snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return (-1);
	while (fgets(line, sizeof line, f) != NULL) {
		if (sscanf(line, "VmRSS: %lld", &kb) == 1)
			r->rss = kb * 1024;
		else if (sscanf(line, "RssAnon: %lld", &kb) == 1)
			r->anon = kb * 1024;
		else if (sscanf(line, "RssFile: %lld", &kb) == 1)
			r->file = kb * 1024;
		else if (sscanf(line, "VmHWM: %lld", &kb) == 1)
			r->hwm = kb * 1024;
	}
	fclose(f);
	return (0);
}

/* User + system CPU time of PID so far (us), or -1. */
int64_t
bench_cpu_us(pid_t pid)
{
	FILE			*f;
	char			 path[64], buf[1024], *p;
	unsigned long long	 ut, st;
	size_t			 n;

	snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
	if ((f = fopen(path, "r")) == NULL)
		return (-1);
	n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* Fields after the command name: state is field 3, utime 14. */
	if ((p = strrchr(buf, ')')) == NULL || sscanf(p + 2,
	    "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut,
	    &st) != 2)
		return (-1);
	return ((int64_t)(ut + st) * USEC_PER_SEC / sysconf(_SC_CLK_TCK));
}

static int
bench_du_entry(const char *path, const struct stat *sb, int flag,
    struct FTW *ftw)
{
	du_total += (int64_t)sb->st_blocks * 512;
	return (0);
}

/* Disk space used under PATH (bytes of allocated blocks). */
int64_t
bench_du(const char *path)
{
	du_total = 0;
	if (nftw(path, bench_du_entry, 16, FTW_PHYS) == -1)
		return (-1);
	return (du_total);
}

/* The machine's load average over the last minute, or -1: the figures
 * of a run on a busy machine are not those of a quiet one. */
double
bench_loadavg(void)
{
	FILE	*f;
	double	 v;

	if ((f = fopen("/proc/loadavg", "r")) == NULL)
		return (-1);
	if (fscanf(f, "%lf", &v) != 1)
		v = -1;
	fclose(f);
	return (v);
}

/* Queue requests on C until its window is full; LINE is scratch. */
static int
bench_conn_fill(struct bench_pipeline *p, struct bench_conn *c,
    uint64_t *next, int64_t *sent_at, char *params, char **cause)
{
	size_t	need;
	int	plen;

	while (c->inflight < p->window && *next < p->total) {
		plen = p->params(*next, params, BENCH_PARAMS_MAX, p->arg);
		if (plen < 0) {
			xasprintf(cause, "params of request %llu too long",
			    (unsigned long long)*next);
			return (-1);
		}
		need = c->wlen + (size_t)plen + 128 + strlen(p->method);
		if (need > c->wcap) {
			c->wcap = need * 2;
			c->wbuf = xreallocarray(c->wbuf, c->wcap, 1);
		}
		c->wlen += (size_t)snprintf(c->wbuf + c->wlen, c->wcap -
		    c->wlen, "{\"jsonrpc\":\"2.0\",\"id\":%llu,\"method\":"
		    "\"%s\",\"params\":%s}\n", (unsigned long long)*next,
		    p->method, params);
		sent_at[*next] = mono_us();
		c->inflight++;
		(*next)++;
	}
	return (0);
}

/*
 * One answer line.  The daemon writes {"jsonrpc":"2.0","id":N,"result":
 * or ,"error": first; anything else is parsed in full.
 */
static void
bench_answer(struct bench_pipeline *p, const char *line, size_t len,
    int64_t *sent_at)
{
	static const char	 pre[] = "{\"jsonrpc\":\"2.0\",\"id\":";
	unsigned long long	 id;
	json_t			*root = NULL;
	const char		*s;
	char			*end;
	int			 error;

	if (len > sizeof pre && memcmp(line, pre, sizeof pre - 1) == 0) {
		s = line + sizeof pre - 1;
		id = strtoull(s, &end, 10);
		if (end == s || *end != ',')
			goto slow;
		if (strncmp(end, ",\"result\":", 10) == 0)
			error = 0;
		else if (strncmp(end, ",\"error\":", 9) == 0)
			error = 1;
		else
			goto slow;
	} else {
slow:
		if ((root = json_loadb(line, len, 0, NULL)) == NULL ||
		    !json_is_integer(json_object_get(root, "id"))) {
			p->errors++;
			if (p->first_error == NULL)
				p->first_error = xstrndup(line, len);
			json_decref(root);
			return;
		}
		id = (unsigned long long)json_integer_value(
		    json_object_get(root, "id"));
		error = json_object_get(root, "error") != NULL;
		json_decref(root);
	}
	if (error) {
		p->errors++;
		if (p->first_error == NULL)
			p->first_error = xstrndup(line, len);
	} else
		p->ok++;
	if (id < p->total)
		p->latency_us[id] = mono_us() - sent_at[id];
}

/* Read what C has and handle each whole answer line. */
static int
bench_conn_read(struct bench_pipeline *p, struct bench_conn *c,
    int64_t *sent_at, char **cause)
{
	char	*nl, *start;
	ssize_t	 n;

	if (c->rcap - c->rlen < 65536) {
		c->rcap = c->rcap == 0 ? 262144 : c->rcap * 2;
		if (c->rcap > BENCH_LINE_MAX * 2) {
			*cause = xstrdup("answer line too long");
			return (-1);
		}
		c->rbuf = xreallocarray(c->rbuf, c->rcap, 1);
	}
	n = read(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen);
	if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR)) {
		xasprintf(cause, "the daemon closed a connection (%s)",
		    n == 0 ? "EOF" : strerror(errno));
		return (-1);
	}
	if (n < 0)
		return (0);
	c->rlen += (size_t)n;
	start = c->rbuf;
	while ((nl = memchr(start, '\n', c->rlen - (size_t)(start -
	    c->rbuf))) != NULL) {
		bench_answer(p, start, (size_t)(nl - start), sent_at);
		c->inflight--;
		start = nl + 1;
	}
	c->rlen -= (size_t)(start - c->rbuf);
	memmove(c->rbuf, start, c->rlen);
	return (0);
}

/* A pipeline of METHOD on the socket SOCK with the --connections and
 * --window of O, giving up after BENCH_STALL_US without an answer; the
 * caller sets the total, the params callback and its argument. */
void
bench_pipeline_init(struct bench_pipeline *p, const struct bench_opts *o,
    const char *sock, const char *method)
{
	memset(p, 0, sizeof *p);
	p->sock = sock;
	p->method = method;
	p->nconns = o->conns;
	p->window = o->window;
	p->stall_us = BENCH_STALL_US;
}

/*
 * Run the pipeline: every request is sent and answered (or -1 with *CAUSE
 * when a connection fails or nothing is answered for p->stall_us).
 */
int
bench_pipeline_run(struct bench_pipeline *p, char **cause)
{
	struct bench_conn	*conns;
	struct pollfd		*pfds;
	int64_t			*sent_at, t0, last;
	uint64_t		 next = 0, done;
	char			*params;
	ssize_t			 n;
	int			 i, rc = -1;

	conns = xcalloc((size_t)p->nconns, sizeof *conns);
	pfds = xcalloc((size_t)p->nconns, sizeof *pfds);
	sent_at = xcalloc(p->total + 1, sizeof *sent_at);
	p->latency_us = xcalloc(p->total + 1, sizeof *p->latency_us);
	params = xmalloc(BENCH_PARAMS_MAX);
	for (i = 0; i < p->nconns; i++) {
		if ((conns[i].fd = bench_connect(p->sock)) == -1) {
			xasprintf(cause, "connect %s: %s", p->sock,
			    strerror(errno));
			goto out;
		}
		fcntl(conns[i].fd, F_SETFL, O_NONBLOCK);
	}
	t0 = last = mono_us();
	while ((done = p->ok + p->errors) < p->total) {
		for (i = 0; i < p->nconns; i++) {
			if (bench_conn_fill(p, &conns[i], &next, sent_at,
			    params, cause) == -1)
				goto out;
			pfds[i].fd = conns[i].fd;
			pfds[i].events = POLLIN;
			if (conns[i].wlen > conns[i].woff)
				pfds[i].events |= POLLOUT;
		}
		if (poll(pfds, (nfds_t)p->nconns, 1000) == -1 &&
		    errno != EINTR) {
			xasprintf(cause, "poll: %s", strerror(errno));
			goto out;
		}
		for (i = 0; i < p->nconns; i++) {
			struct bench_conn	*c = &conns[i];

			if (pfds[i].revents & POLLOUT) {
				n = write(c->fd, c->wbuf + c->woff, c->wlen -
				    c->woff);
				if (n > 0)
					c->woff += (size_t)n;
				if (c->woff == c->wlen)
					c->woff = c->wlen = 0;
			}
			if ((pfds[i].revents & (POLLIN | POLLHUP | POLLERR)) &&
			    bench_conn_read(p, c, sent_at, cause) == -1)
				goto out;
		}
		if (p->ok + p->errors > done)
			last = mono_us();
		else if (mono_us() - last > p->stall_us) {
			xasprintf(cause, "no answer for %lld s (%llu of %llu "
			    "answered)", (long long)(p->stall_us /
			    USEC_PER_SEC), (unsigned long long)done,
			    (unsigned long long)p->total);
			goto out;
		}
	}
	p->elapsed_us = mono_us() - t0;
	rc = 0;
out:
	for (i = 0; i < p->nconns; i++) {
		if (conns[i].fd > 0)
			close(conns[i].fd);
		free(conns[i].rbuf);
		free(conns[i].wbuf);
	}
	free(conns);
	free(pfds);
	free(sent_at);
	free(params);
	return (rc);
}

void
bench_pipeline_free(struct bench_pipeline *p)
{
	free(p->first_error);
	free(p->latency_us);
	p->first_error = NULL;
	p->latency_us = NULL;
}

static int
bench_cmp(const void *a, const void *b)
{
	int64_t	x = *(const int64_t *)a, y = *(const int64_t *)b;

	return ((x > y) - (x < y));
}

void
bench_sort(int64_t *v, size_t n)
{
	qsort(v, n, sizeof *v, bench_cmp);
}

/* p50, p99 and max of the N values at V (sorted here) into Q. */
void
bench_quantiles(int64_t *v, size_t n, int64_t q[3])
{
	bench_sort(v, n);
	q[0] = bench_percentile(v, n, 0.50);
	q[1] = bench_percentile(v, n, 0.99);
	q[2] = n > 0 ? v[n - 1] : 0;
}

/* The P-quantile (0..1, nearest rank) of N sorted values; 0 if N is 0. */
int64_t
bench_percentile(const int64_t *v, size_t n, double p)
{
	size_t	i;

	if (n == 0)
		return (0);
	i = (size_t)(p * (double)n + 0.999999);
	if (i > 0)
		i--;
	if (i >= n)
		i = n - 1;
	return (v[i]);
}

/* Write J (indented) to PATH through a temporary file. */
int
bench_write_json(const char *path, json_t *j, char **cause)
{
	char	*tmp;
	int	 rc = 0;

	xasprintf(&tmp, "%s.tmp", path);
	if (json_dump_file(j, tmp, JSON_INDENT(2)) == -1 ||
	    rename(tmp, path) == -1) {
		xasprintf(cause, "cannot write %s: %s", path,
		    strerror(errno));
		unlink(tmp);
		rc = -1;
	}
	free(tmp);
	return (rc);
}

/*
 * A comma-separated list of counts ("1000,10k,1M") into at most MAX values;
 * -1 on anything else.
 */
int
bench_parse_list(const char *s, uint64_t *out, size_t max, size_t *n)
{
	unsigned long long	 v;
	char			*end;

	*n = 0;
	while (*s != '\0') {
		errno = 0;
		v = strtoull(s, &end, 10);
		if (errno != 0 || end == s || *n == max)
			return (-1);
		if (*end == 'k' || *end == 'K') {
			v *= 1000;
			end++;
		} else if (*end == 'm' || *end == 'M') {
			v *= 1000000;
			end++;
		}
		if (v == 0 || (*end != ',' && *end != '\0'))
			return (-1);
		out[(*n)++] = v;
		s = *end == ',' ? end + 1 : end;
	}
	return (*n > 0 ? 0 : -1);
}

/*
 * Start ROUTER (tests/chime-test-router) with its port file and log in DIR,
 * verifying signatures with SECRET if not NULL; wait for its port.
 */
int
bench_router_start(const char *router, const char *dir, const char *secret,
    struct bench_router *r, char **cause)
{
	struct timespec	 ts = { 0, 5 * 1000 * 1000 };
	FILE		*f;
	int64_t		 t0 = mono_us();
	int		 fd;
	char		*log;

	memset(r, 0, sizeof *r);
	xasprintf(&r->portfile, "%s/router.port", dir);
	xasprintf(&log, "%s/router.log", dir);
	/* An earlier router's in DIR names a port nobody listens on now. */
	(void)unlink(r->portfile);
	if ((r->pid = fork()) == -1) {
		xasprintf(cause, "fork: %s", strerror(errno));
		free(log);
		return (-1);
	}
	if (r->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if ((fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600)) !=
		    -1) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
			close(fd);
		}
		if (secret != NULL)
			execl(router, router, "--port-file", r->portfile,
			    "--secret", secret, "--quiet", (char *)NULL);
		else
			execl(router, router, "--port-file", r->portfile,
			    "--quiet", (char *)NULL);
		fprintf(stderr, "cannot run %s: %s\n", router,
		    strerror(errno));
		_exit(127);
	}
	free(log);
	while ((f = fopen(r->portfile, "r")) == NULL) {
		if (mono_us() - t0 > 10 * USEC_PER_SEC ||
		    waitpid(r->pid, NULL, WNOHANG) == r->pid) {
			xasprintf(cause, "the router (%s) did not start; see "
			    "%s/router.log", router, dir);
			r->pid = 0;
			return (-1);
		}
		nanosleep(&ts, NULL);
	}
	if (fscanf(f, "%d", &r->port) != 1) {
		fclose(f);
		xasprintf(cause, "bad port file %s", r->portfile);
		return (-1);
	}
	fclose(f);
	return (0);
}

void
bench_router_stop(struct bench_router *r)
{
	if (r->pid > 0) {
		kill(r->pid, SIGTERM);
		waitpid(r->pid, NULL, 0);
		r->pid = 0;
	}
	free(r->portfile);
	r->portfile = NULL;
}

static size_t
router_collect_cb(char *data, size_t size, size_t n, void *arg)
{
	evbuffer_add(arg, data, size * n);
	return (size * n);
}

/* GET PATH of router R, its JSON answer (caller decrefs), or NULL and
 * *cause. */
json_t *
bench_router_get(const struct bench_router *r, const char *path,
    char **cause)
{
	struct evbuffer	*b = evbuffer_new();
	CURL		*c = curl_easy_init();
	CURLcode	 rc;
	json_error_t	 err;
	json_t		*j = NULL;
	char		 url[256];

	snprintf(url, sizeof url, "http://127.0.0.1:%d%s", r->port, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROXY, "");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, router_collect_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
	if ((rc = curl_easy_perform(c)) != CURLE_OK)
		xasprintf(cause, "GET %s: %s", url, curl_easy_strerror(rc));
	else if ((j = json_loadb((const char *)evbuffer_pullup(b, -1),
	    evbuffer_get_length(b), 0, &err)) == NULL)
		xasprintf(cause, "GET %s: %s", url, err.text);
	curl_easy_cleanup(c);
	evbuffer_free(b);
	return (j);
}

/*
 * Write DIR/catalog.json: one http operation "gw" calling the router on
 * PORT (signed with SECRET_REF if not NULL) and one model.  Returns its
 * path (allocated), or NULL and *cause.
 */
char *
bench_router_catalog(const char *dir, int port, const char *secret_ref,
    char **cause)
{
	FILE	*f;
	char	*path, sref[128] = "";

	xasprintf(&path, "%s/catalog.json", dir);
	if ((f = fopen(path, "w")) == NULL) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		free(path);
		return (NULL);
	}
	if (secret_ref != NULL)
		snprintf(sref, sizeof sref, "\"secret_ref\": \"%s\", ",
		    secret_ref);
	fprintf(f, "{\"models\": [{\"id\": \"bench-model\", "
	    "\"input_usd_per_mtok\": \"0.10\", \"output_usd_per_mtok\": "
	    "\"0.40\"}],\n \"operations\": [{\"id\": \"gw\", \"executor\": "
	    "\"http\", \"url\": \"http://127.0.0.1:%d/v1/run\", %s"
	    "\"timeout\": \"60s\", \"tokens\": {\"input\": [500, 800, 1000], "
	    "\"output\": [100, 200, 400]}, \"default_model\": \"bench-model\", "
	    "\"idempotent\": true}]}\n", port, sref);
	fclose(f);
	return (path);
}

/* The port of the daemon's HTTP listener from a daemon.status answer
 * ("http": {"address": "127.0.0.1:PORT"}), or -1 if it has none. */
int
bench_http_port(json_t *status)
{
	const char	*a, *colon;
	char		*end;
	long		 v;

	a = json_string_value(json_object_get(json_object_get(status,
	    "http"), "address"));
	if (a == NULL || (colon = strrchr(a, ':')) == NULL)
		return (-1);
	errno = 0;
	v = strtol(colon + 1, &end, 10);
	if (errno != 0 || *end != '\0' || end == colon + 1 || v <= 0 ||
	    v > 65535)
		return (-1);
	return ((int)v);
}

static size_t
bench_http_collect(char *data, size_t size, size_t n, void *arg)
{
	struct evbuffer	*b = arg;

	evbuffer_add(b, data, size * n);
	return (size * n);
}

/*
 * GET http://127.0.0.1:PORT/PATH; the body (allocated, NUL-terminated) if
 * the answer is 200, else NULL and *CAUSE.
 */
char *
bench_http_get(int port, const char *path, char **cause)
{
	struct evbuffer	*b = evbuffer_new();
	CURL		*c = curl_easy_init();
	CURLcode	 rc;
	long		 code = 0;
	char		 url[512], *body = NULL;

	snprintf(url, sizeof url, "http://127.0.0.1:%d%s", port, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROXY, "");
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, bench_http_collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
	if ((rc = curl_easy_perform(c)) != CURLE_OK)
		xasprintf(cause, "GET %s: %s", url, curl_easy_strerror(rc));
	else if (curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code) !=
	    CURLE_OK || code != 200)
		xasprintf(cause, "GET %s: status %ld", url, code);
	else {
		evbuffer_add(b, "", 1);
		body = xstrdup((const char *)evbuffer_pullup(b, -1));
	}
	curl_easy_cleanup(c);
	evbuffer_free(b);
	return (body);
}

/*
 * The value of SERIES (a metric name with its labels, as written:
 * 'chime_webhook_requests_total{outcome="accepted"}') in TEXT, the
 * Prometheus text format; 0 if it is absent (a counter not counted yet),
 * -1 if its value is not a number.
 */
int64_t
bench_metric(const char *text, const char *series)
{
	const char	*p = text;
	size_t		 n = strlen(series);
	double		 v;
	char		*end;

	while (p != NULL && *p != '\0') {
		if (strncmp(p, series, n) == 0 && p[n] == ' ') {
			v = strtod(p + n + 1, &end);
			if (end == p + n + 1)
				return (-1);
			return ((int64_t)v);
		}
		if ((p = strchr(p, '\n')) != NULL)
			p++;
	}
	return (0);
}

/*
 * Run JOURNAL (chime-journal) export DATA and hand each line it writes to
 * CB with ARG (the line is borrowed: valid during the call only).  Returns
 * 0, or -1 and *CAUSE if the export cannot be run or read or exits with a
 * status other than 0.  When CB returns non-zero the rest is not read and
 * the export's status is not looked at: 0.
 */
int
bench_journal_export(const char *journal, const char *data, bench_line_cb cb,
    void *arg, char **cause)
{
	FILE	*f;
	char	*cmd, *line = NULL;
	size_t	 cap = 0;
	ssize_t	 len;
	int	 st, stopped = 0, failed;

	if (strchr(journal, '\'') != NULL || strchr(data, '\'') != NULL) {
		xasprintf(cause, "cannot run %s export %s: a quote in a path",
		    journal, data);
		return (-1);
	}
	xasprintf(&cmd, "'%s' export '%s'", journal, data);
	if ((f = popen(cmd, "r")) == NULL) {
		xasprintf(cause, "cannot run %s: %s", cmd, strerror(errno));
		free(cmd);
		return (-1);
	}
	while (!stopped && (len = getline(&line, &cap, f)) > 0)
		stopped = cb(line, (size_t)len, arg) != 0;
	failed = !stopped && ferror(f);
	free(line);
	st = pclose(f);
	if (stopped)
		st = 0;
	if (failed)
		xasprintf(cause, "cannot read the output of %s", cmd);
	else if (st == -1)
		xasprintf(cause, "%s: %s", cmd, strerror(errno));
	else if (WIFSIGNALED(st))
		xasprintf(cause, "%s killed by signal %d", cmd, WTERMSIG(st));
	else if (st != 0)
		xasprintf(cause, "%s failed (status %d)", cmd,
		    WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	free(cmd);
	return (failed || st != 0 ? -1 : 0);
}
