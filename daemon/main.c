/*
 * engine/main.c: chimed.  Parses flags, opens the journal, loads the
 * catalog, recovers every schedule and run, listens on the control socket,
 * and runs the loop until SIGTERM/SIGINT drains it.
 */
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine.h"
#include "actors.h"
#include "journal.h"
#include "ctl.h"
#include "daemon.h"

#define DRAIN_POLL_MS	20
#define CLAIM_AHEAD_MAX	(10 * USEC_PER_SEC)

static struct event	*drain_ev;
static int64_t		 drain_deadline;
static char		*socket_path;
static struct httpd	*httpd;

static deadfunc void
usage(int status)
{
	fprintf(status == 0 ? stdout : stderr,
"usage: chimed [--config FILE] [--check-config]\n"
"              [--data DIR] [--socket PATH] [--catalog FILE] [--foreground]\n"
"              [--log-level error|warn|info|debug] [--trace LIST]\n"
"              [--journal-sync full|batch|none] [--journal-max-mb N]\n"
"              [--max-running N] [--drain-timeout DURATION]\n"
"              [--claim-ahead DURATION]\n"
"              [--http-allow CIDR]... [--http ADDR:PORT|none]\n"
"              [--http-max-body BYTES] [--http-max-connections N]\n"
"              [--http-timeout DURATION] [--webhook-retention DURATION]\n"
"              [--secret-exec-ttl DURATION] [--webhook-refusals N/DURATION]\n"
"              [--ctl-max-connections N] [--ctl-max-per-uid N]\n"
"              [--ctl-max-request BYTES]\n"
"              [--ctl-admin-reserved N] [--ctl-idle-timeout DURATION]\n"
"              [--ctl-read-timeout DURATION] [--scrub-interval DURATION]\n"
"              [--signing-key FILE] [--checkpoint-every N]\n"
"              [--checkpoint-interval DURATION] [--checkpoint-log FILE]\n"
"              [--checkpoint-syslog] [--checkpoint-url URL]\n"
"              [--subscription-time-scale N]\n"
"              [--watch-stall DURATION] [--watch-buffer BYTES]\n"
"              [--watch-max N] [--ui-dir DIR]\n"
"              [--smtp-url URL] [--smtp-user USER] [--smtp-password REF]\n"
"              [--smtp-from ADDRESS] [--smtp-from-name NAME] [--smtp-ca FILE]\n"
"              [--smtp-insecure] [--smtp-timeout DURATION]\n"
"              [--smtp-max-attempts N] [--smtp-retry-delay DURATION]\n"
"              [--smtp-suppress-bounces]\n"
"              [--public-url URL] [--notify-digest-interval DURATION]\n"
"              [--version] [--help]\n"
"\n"
"  --config FILE         settings: KEY = VALUE lines, KEY a long flag below\n"
"                        without its --; flags given here win (default\n"
"                        " CHIME_CONFIG_FILE " if it exists)\n"
"  --check-config        check the flags, the file and the catalog, say\n"
"                        what is wrong, exit 0 or 1; starts nothing\n"
"  --data DIR            data directory (default $CHIME_DATA or ./var/chime)\n"
"  --socket PATH         control socket (default DATA/chime.sock)\n"
"  --catalog FILE        operations and models (default: the built-in sample)\n"
"  --foreground          run in the foreground (the default; chimed never\n"
"                        daemonises itself: use a supervisor)\n"
"  --log-level LEVEL     error, warn, info (default) or debug\n"
"  --log-format FORMAT   logfmt (default: key=value pairs a line) or json\n"
"                        (one object a line, every value a string)\n"
"  --trace LIST          debug traces: journal,sched,http,ctl,exec or all\n"
"  --journal-sync MODE   full (default: every commit durable), batch (may\n"
"                        lose the last commits on power loss), none (may\n"
"                        lose or corrupt on an OS crash; tests only)\n"
"  --journal-max-mb N    largest journal map in MiB (default 65536)\n"
"  --max-running N       operations running at once (default 32)\n"
"  --http-allow CIDR     let http operations reach addresses in CIDR that\n"
"                        the address filter refuses (loopback, private,\n"
"                        link-local); repeatable\n"
"  --http ADDR:PORT      listen for HTTP (/healthz, /readyz, /metrics) on\n"
"                        IPV4:PORT or [IPV6]:PORT (default 127.0.0.1:8470;\n"
"                        port 0: any free port); none: no listener\n"
"  --http-max-body N     largest request body in bytes (default 1048576;\n"
"                        413 past it)\n"
"  --http-max-connections N  HTTP connections at once, counted from their\n"
"                        accept (default 1024; 503 past it)\n"
"  --http-timeout DUR    time to read a request whole from its connection's\n"
"                        accept (or the last answer), to write an answer;\n"
"                        the idle limit of a connection (default 30s)\n"
"  --drain-timeout DUR   on SIGTERM, wait this long for running operations\n"
"                        (default 30s)\n"
"  --claim-ahead DUR     claim each timed occurrence this long before its\n"
"                        instant, so that only starting is left at it\n"
"                        (default 500ms; 0: claim at the instant; at most\n"
"                        10s)\n"
"  --secret-exec-ttl DUR how long an exec: secret's output is kept in\n"
"                        memory before the command runs again (default 5m;\n"
"                        0: every use)\n"
"  --webhook-retention DUR  how long webhook message ids (replay protection)\n"
"                        and webhook events are kept (default 7d)\n"
"  --webhook-refusals N/DUR  unsigned webhook requests refused that are\n"
"                        journaled in full per schedule (and for unknown\n"
"                        ones together) in each DUR; the rest are folded\n"
"                        into one counted record (default 20/1m)\n"
"  --ctl-max-connections N  control connections at once (default 256)\n"
"  --ctl-max-per-uid N   control connections of one uid that is not an\n"
"                        admin (default 32)\n"
"  --ctl-max-request N   largest control request line in bytes (default\n"
"                        1048576; a schedule.apply of many schedules may\n"
"                        need more)\n"
"  --ctl-admin-reserved N  of --ctl-max-connections, kept for admins\n"
"                        (root and the daemon's uid; default 16)\n"
"  --ctl-idle-timeout DUR  close a control connection that asks nothing\n"
"                        for this long while nothing is served for it\n"
"                        (default 60s)\n"
"  --ctl-read-timeout DUR  close a control connection that leaves a\n"
"                        request line unfinished this long (default 10s)\n"
"  --scrub-interval DUR  re-verify the whole journal chain in the background\n"
"                        this often (default 24h; 0: never)\n"
"  --signing-key FILE    Ed25519 key (PEM, mode 0600) that signs the journal's\n"
"                        checkpoints (default DATA/keys/journal.key, made at\n"
"                        first start)\n"
"  --checkpoint-every N  a signed checkpoint every N records (default 10000)\n"
"  --checkpoint-interval DUR  ... or this long after the last one when\n"
"                        records followed it (default 60s; 0: by count only)\n"
"  --checkpoint-log FILE append each checkpoint to FILE (a witness: keep it\n"
"                        outside DATA, on another disk or host)\n"
"  --checkpoint-syslog   write each checkpoint to the system log\n"
"  --checkpoint-url URL  POST each checkpoint to URL as JSON {seq, note}\n"
"  --subscription-time-scale N  for tests only: divide subscriptions' retry\n"
"                        delays and their 5 days of failure by N\n"
"  --watch-stall DUR     end an events.watch whose client has not read its\n"
"                        buffered events for this long (default 30s)\n"
"  --watch-buffer BYTES  unread bytes an events.watch buffers before it\n"
"                        pauses for its client (default 1048576)\n"
"  --watch-max N         events.watch streams at once (default 128)\n"
"  --smtp-url URL        the relay reports are mailed through:\n"
"                        smtp://HOST[:PORT] (STARTTLS required) or\n"
"                        smtps://HOST[:PORT] (default: no email)\n"
"  --smtp-user USER      the relay's AUTH user (with --smtp-password)\n"
"  --smtp-password REF   the relay's password: a secret reference\n"
"                        (env:NAME, file:/PATH, exec:COMMAND)\n"
"  --smtp-from ADDRESS   the sender of every message (required)\n"
"  --smtp-from-name NAME its display name\n"
"  --smtp-ca FILE        CA certificates the relay's is checked against\n"
"                        (default the system's)\n"
"  --smtp-insecure       smtp:// without STARTTLS; a loopback relay only\n"
"  --smtp-timeout DUR    time for one message (default 60s)\n"
"  --smtp-max-attempts N tries of a recipient on transient failures\n"
"                        (4xx, connection; default 6); 5xx is final\n"
"  --smtp-retry-delay DUR  the first retry's delay, doubling (default 30s)\n"
"  --smtp-suppress-bounces  a recipient refused 550, 551 or 553 goes on\n"
"                        its account's suppression list (reason bounce)\n"
"  --public-url URL      the daemon's address as people reach it\n"
"                        (https://...): links in messages\n"
"  --notify-digest-interval DUR  failed runs are told to an account's\n"
"                        notification addresses in one digest per\n"
"                        interval, 1s to 1d (default 5m)\n"
"  --ready-fd N          s6 readiness: write a newline on descriptor N\n"
"                        once ready, then close it (systemd's Type=notify\n"
"                        needs no flag: NOTIFY_SOCKET, WATCHDOG_USEC)\n"
"  --ui-dir DIR          the dashboard's files, served under /ui/ (default\n"
"                        the installed ones, " CHIME_UI_DIR ")\n");
	exit(status);
}

/*
 * One daemon per data directory: hold an exclusive lock on DATA/chimed.pid
 * (with our pid in it) for as long as we run, taken before anything else
 * is opened.
 */
static void
lock_data_dir(void)
{
	char	*path, buf[32], other[32];
	ssize_t	 n;
	int	 fd;

	xasprintf(&path, "%s/chimed.pid", engine->data_dir);
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640)) == -1)
		fatal("cannot open %s", path);
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		n = pread(fd, other, sizeof other - 1, 0);
		other[n > 0 ? n : 0] = '\0';
		other[strcspn(other, "\n")] = '\0';
		fatalx("another chimed (pid %s) is running on %s",
		    other[0] != '\0' ? other : "?", engine->data_dir);
	}
	snprintf(buf, sizeof buf, "%d\n", (int)getpid());
	if (ftruncate(fd, 0) == -1 || pwrite(fd, buf, strlen(buf), 0) == -1)
		log_warn("msg=\"cannot write the pid file\" path=%s", path);
	free(path);
	/* Kept open (and locked) until the process exits. */
}

static void
daemon_record(const char *kind)
{
	struct jrec		*rec;
	const struct pack_pair	 v[] = {
		PACK_PAIR_STR("version", CHIME_VERSION),
		PACK_PAIR_INT("pid", (int64_t)getpid()),
		PACK_PAIR_STR("catalog", engine->catalog->source),
	};

	rec = jrec_create(kind, NULL);
	PACK_MAP(jrec_body(rec), v);
	journal_submit(engine->journal, rec, journal_log_cb, NULL);
}

static void
drain_check(evutil_socket_t fd, short events, void *arg)
{
	struct timeval	tv = { 0, DRAIN_POLL_MS * 1000 };

	/* Last answers (watchers' ends) go out before the loop stops. */
	if (dispatch_quiet() && email_busy() == 0 &&
	    ctl_server_flushing(engine->ctl) == 0 && httpd_flushing() == 0) {
		log_info("msg=\"drained\"");
		event_base_loopexit(engine->base, NULL);
		return;
	}
	if (now_us() >= drain_deadline) {
		log_warnx("msg=\"drain timeout: stopping running operations; "
		    "they are settled at the next start\" running=%d",
		    executor_running());
		dispatch_abandon();
		event_base_loopexit(engine->base, NULL);
		return;
	}
	evtimer_add(drain_ev, &tv);
}

/* SIGTERM/SIGINT: stop accepting work, let running operations finish. */
static void
start_drain(void)
{
	if (engine->draining) {
		log_warnx("msg=\"second signal: stopping now\"");
		dispatch_abandon();
		event_base_loopexit(engine->base, NULL);
		return;
	}
	engine->draining = 1;
	notify_stopping();
	if (engine->ctl != NULL)
		ctl_server_stop_accepting(engine->ctl);
	events_watch_drain();
	schedule_drain();
	drain_deadline = now_us() + engine->drain_timeout_ms * USEC_PER_MSEC;
	log_info("msg=\"draining\" running=%d timeout_ms=%lld",
	    executor_running(),
	    (long long)engine->drain_timeout_ms);
	drain_ev = evtimer_new(engine->base, drain_check, NULL);
	drain_check(-1, 0, NULL);
}

static void
reload(void)
{
	char	*cause = NULL;

	notify_reloading();
	if (engine_reload(&cause) == -1) {
		log_warnx("msg=\"catalog reload refused; the old catalog stays\" "
		    "error=\"%s\"", log_escape(cause));
		free(cause);
	}
	notify_reloaded();
}

/* -1 with *CAUSE the message of FMT. */
static int
flag_fail(char **cause, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	if (vasprintf(cause, fmt, ap) == -1)
		fatal("vasprintf");
	va_end(ap);
	return (-1);
}

/* A duration from 1s to 1d, in milliseconds, into *MS. */
static int
parse_timeout_ms(const char *s, int64_t *ms, char **cause)
{
	int64_t	d;

	if (parse_duration(s, &d) == -1 || d < USEC_PER_SEC ||
	    d > 86400 * USEC_PER_SEC)
		return (flag_fail(cause, "expected a duration from 1s to 1d, "
		    "such as 30s, got \"%s\"", s));
	*ms = d / USEC_PER_MSEC;
	return (0);
}

/* A number from LO to HI into *V. */
static int
parse_number(const char *s, long lo, long hi, long *v, char **cause)
{
	char	*end;

	errno = 0;
	*v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || end == s || *v < lo || *v > hi)
		return (flag_fail(cause, "expected a number from %ld to %ld, "
		    "got \"%s\"", lo, hi, s));
	return (0);
}

/* The places kept for admins (given or the default) must leave some for
 * the others; exits 2 saying why if not. */
static void
check_ctl_limits(const struct ctl_limits *l)
{
	size_t	max, reserved;

	max = l->max_connections != 0 ? l->max_connections :
	    CTL_MAX_CONNECTIONS;
	reserved = l->admin_reserved != 0 ? l->admin_reserved :
	    CTL_ADMIN_RESERVED;
	if (reserved >= max) {
		fprintf(stderr, "chimed: --ctl-admin-reserved %zu must be "
		    "below --ctl-max-connections %zu\n", reserved, max);
		exit(2);
	}
}

enum {
	OPT_DATA = 256, OPT_SOCKET, OPT_CATALOG, OPT_FOREGROUND, OPT_LOG_LEVEL,
	OPT_LOG_FORMAT,
	OPT_TRACE, OPT_SYNC, OPT_MAX_RUNNING, OPT_DRAIN, OPT_CLAIM_AHEAD, OPT_JMAX,
	OPT_HTTP_ALLOW, OPT_HTTP, OPT_WEBHOOK_RETENTION,
	OPT_HTTP_MAX_BODY, OPT_HTTP_MAX_CONNS, OPT_HTTP_TIMEOUT,
	OPT_SECRET_EXEC_TTL, OPT_CTL_MAX_CONNS, OPT_CTL_MAX_PER_UID,
	OPT_CTL_ADMIN_RESERVED, OPT_CTL_IDLE_TIMEOUT, OPT_CTL_READ_TIMEOUT,
	OPT_CTL_MAX_REQUEST, OPT_WEBHOOK_REFUSALS, OPT_SCRUB_INTERVAL, OPT_SIGNING_KEY,
	OPT_CKPT_EVERY, OPT_CKPT_INTERVAL, OPT_CKPT_LOG, OPT_CKPT_SYSLOG,
	OPT_CKPT_URL,
	OPT_SUB_TIME_SCALE,
	OPT_WATCH_STALL,
	OPT_WATCH_BUFFER, OPT_WATCH_MAX,
	OPT_SMTP_URL, OPT_SMTP_USER, OPT_SMTP_PASSWORD, OPT_SMTP_FROM,
	OPT_SMTP_FROM_NAME, OPT_SMTP_CA, OPT_SMTP_INSECURE, OPT_SMTP_TIMEOUT,
	OPT_SMTP_ATTEMPTS, OPT_SMTP_RETRY, OPT_SMTP_BOUNCES, OPT_PUBLIC_URL,
	OPT_NOTIFY_DIGEST,
	OPT_READY_FD, OPT_UI_DIR,
	/* Flags only, never in a configuration file. */
	OPT_CONFIG, OPT_CHECK_CONFIG, OPT_VERSION, OPT_HELP
};

/* Every flag; those before the first NULL name are settings a
 * configuration file may hold as well (config_load), in this order in
 * daemon.status. */
static const struct option longopts[] = {
	{ "data", required_argument, NULL, OPT_DATA },
	{ "socket", required_argument, NULL, OPT_SOCKET },
	{ "catalog", required_argument, NULL, OPT_CATALOG },
	{ "foreground", no_argument, NULL, OPT_FOREGROUND },
	{ "log-level", required_argument, NULL, OPT_LOG_LEVEL },
	{ "log-format", required_argument, NULL, OPT_LOG_FORMAT },
	{ "trace", required_argument, NULL, OPT_TRACE },
	{ "journal-sync", required_argument, NULL, OPT_SYNC },
	{ "journal-max-mb", required_argument, NULL, OPT_JMAX },
	{ "max-running", required_argument, NULL, OPT_MAX_RUNNING },
	{ "drain-timeout", required_argument, NULL, OPT_DRAIN },
	{ "claim-ahead", required_argument, NULL, OPT_CLAIM_AHEAD },
	{ "http-allow", required_argument, NULL, OPT_HTTP_ALLOW },
	{ "http", required_argument, NULL, OPT_HTTP },
	{ "webhook-retention", required_argument, NULL, OPT_WEBHOOK_RETENTION },
	{ "http-max-body", required_argument, NULL, OPT_HTTP_MAX_BODY },
	{ "http-max-connections", required_argument, NULL, OPT_HTTP_MAX_CONNS },
	{ "http-timeout", required_argument, NULL, OPT_HTTP_TIMEOUT },
	{ "secret-exec-ttl", required_argument, NULL, OPT_SECRET_EXEC_TTL },
	{ "ctl-max-connections", required_argument, NULL, OPT_CTL_MAX_CONNS },
	{ "ctl-max-per-uid", required_argument, NULL, OPT_CTL_MAX_PER_UID },
	{ "ctl-max-request", required_argument, NULL, OPT_CTL_MAX_REQUEST },
	{ "ctl-admin-reserved", required_argument, NULL,
	    OPT_CTL_ADMIN_RESERVED },
	{ "ctl-idle-timeout", required_argument, NULL, OPT_CTL_IDLE_TIMEOUT },
	{ "ctl-read-timeout", required_argument, NULL, OPT_CTL_READ_TIMEOUT },
	{ "webhook-refusals", required_argument, NULL, OPT_WEBHOOK_REFUSALS },
	{ "scrub-interval", required_argument, NULL, OPT_SCRUB_INTERVAL },
	{ "signing-key", required_argument, NULL, OPT_SIGNING_KEY },
	{ "checkpoint-every", required_argument, NULL, OPT_CKPT_EVERY },
	{ "checkpoint-interval", required_argument, NULL, OPT_CKPT_INTERVAL },
	{ "checkpoint-log", required_argument, NULL, OPT_CKPT_LOG },
	{ "checkpoint-syslog", no_argument, NULL, OPT_CKPT_SYSLOG },
	{ "checkpoint-url", required_argument, NULL, OPT_CKPT_URL },
	{ "subscription-time-scale", required_argument, NULL,
	    OPT_SUB_TIME_SCALE },
	{ "watch-stall", required_argument, NULL, OPT_WATCH_STALL },
	{ "watch-buffer", required_argument, NULL, OPT_WATCH_BUFFER },
	{ "watch-max", required_argument, NULL, OPT_WATCH_MAX },
	{ "smtp-url", required_argument, NULL, OPT_SMTP_URL },
	{ "smtp-user", required_argument, NULL, OPT_SMTP_USER },
	{ "smtp-password", required_argument, NULL, OPT_SMTP_PASSWORD },
	{ "smtp-from", required_argument, NULL, OPT_SMTP_FROM },
	{ "smtp-from-name", required_argument, NULL, OPT_SMTP_FROM_NAME },
	{ "smtp-ca", required_argument, NULL, OPT_SMTP_CA },
	{ "smtp-insecure", no_argument, NULL, OPT_SMTP_INSECURE },
	{ "smtp-timeout", required_argument, NULL, OPT_SMTP_TIMEOUT },
	{ "smtp-max-attempts", required_argument, NULL, OPT_SMTP_ATTEMPTS },
	{ "smtp-retry-delay", required_argument, NULL, OPT_SMTP_RETRY },
	{ "smtp-suppress-bounces", no_argument, NULL, OPT_SMTP_BOUNCES },
	{ "public-url", required_argument, NULL, OPT_PUBLIC_URL },
	{ "notify-digest-interval", required_argument, NULL, OPT_NOTIFY_DIGEST },
	{ "ready-fd", required_argument, NULL, OPT_READY_FD },
	{ "ui-dir", required_argument, NULL, OPT_UI_DIR },
	/* Flags only. */
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "check-config", no_argument, NULL, OPT_CHECK_CONFIG },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 }
};
#define OPT_SETTINGS	(OPT_UI_DIR - OPT_DATA + 1)	/* settings */

/* Every setting's name, for daemon.status. */
static const char	*setting_names[OPT_SETTINGS + 1];

struct flags {
	const char		*data;
	const char		*catalog;
	enum log_level		 level;
	struct journal_options	 jopts;
	int			 max_running;
	int64_t			 drain_us;
	int64_t			 claim_ahead_us;
	int64_t			 webhook_retention_us;
	int64_t			 scrub_interval_us;
	struct http_config	 http;
	char			*http_host;	/* NULL: no listener */
	uint16_t		 http_port;
	struct httpd_limits	 http_limits;
	struct ctl_limits	 ctl_limits;
	const char		*signing_key;	/* NULL: DATA/keys/journal.key */
	struct witness_config	 witness;
	int64_t			 watch_stall_us;
	size_t			 watch_max;
	int			 ready_fd;	/* -1: none */
	const char		*ui_dir;	/* NULL: CHIME_UI_DIR */
	struct email_config	 email;		/* --smtp-*, --public-url */
	int			 email_given;	/* any --smtp-* */
	int			 ctl_fd;	/* socket activation: the */
	int			 http_fd;	/*   supervisor's; or -1 */
	const char		*config;	/* --config, or NULL */
	int			 check_config;
	/* Settings given on the command line (config_load leaves them). */
	uint8_t			 given[OPT_SETTINGS];
};

/* Setting OPT of journal, log and process options, ARG its value. */
static int
flag_apply_base(struct flags *f, int opt, const char *arg, char **cause)
{
	enum log_format	 fmt;
	long		 n;

	switch (opt) {
	case OPT_DATA:
		f->data = arg;
		return (0);
	case OPT_SOCKET:
		free(socket_path);
		socket_path = xstrdup(arg);
		return (0);
	case OPT_CATALOG:
		f->catalog = arg;
		return (0);
	case OPT_FOREGROUND:
		return (0);
	case OPT_LOG_LEVEL:
		if (log_parse_level(arg, &f->level) == -1)
			return (flag_fail(cause, "unknown level \"%s\" "
			    "(error, warn, info or debug)", arg));
		return (0);
	case OPT_LOG_FORMAT:
		if (log_parse_format(arg, &fmt) == -1)
			return (flag_fail(cause, "expected logfmt or json, "
			    "got \"%s\"", arg));
		log_set_format(fmt);
		return (0);
	case OPT_TRACE:
		if (log_parse_trace(arg, &log_trace_bits) == -1)
			return (flag_fail(cause, "unknown subsystem in \"%s\"",
			    arg));
		return (0);
	case OPT_SYNC:
		if (strcmp(arg, "full") == 0)
			f->jopts.sync = JOURNAL_SYNC_FULL;
		else if (strcmp(arg, "batch") == 0)
			f->jopts.sync = JOURNAL_SYNC_BATCH;
		else if (strcmp(arg, "none") == 0)
			f->jopts.sync = JOURNAL_SYNC_NONE;
		else
			return (flag_fail(cause, "expected full, batch or "
			    "none, got \"%s\"", arg));
		return (0);
	case OPT_JMAX:
		if (parse_number(arg, 1, 1 << 24, &n, cause) == -1)
			return (-1);
		f->jopts.map_max = (size_t)n << 20;
		return (0);
	case OPT_MAX_RUNNING:
		if (parse_number(arg, 1, 100000, &n, cause) == -1)
			return (-1);
		f->max_running = (int)n;
		return (0);
	case OPT_DRAIN:
		if (parse_duration(arg, &f->drain_us) == -1)
			return (flag_fail(cause, "expected a duration such as "
			    "30s, got \"%s\"", arg));
		return (0);
	case OPT_CLAIM_AHEAD:
		if (parse_duration(arg, &f->claim_ahead_us) == -1 ||
		    f->claim_ahead_us > CLAIM_AHEAD_MAX)
			return (flag_fail(cause, "expected a duration from 0 "
			    "to 10s such as 500ms, got \"%s\"", arg));
		return (0);
	case OPT_READY_FD:
		if (parse_number(arg, 3, 1023, &n, cause) == -1)
			return (-1);
		f->ready_fd = (int)n;
		return (0);
	case OPT_UI_DIR:
		f->ui_dir = arg;
		return (0);
	}
	return (1);
}

/* Setting OPT of the HTTP listener and the http executor. */
static int
flag_apply_http(struct flags *f, int opt, const char *arg, char **cause)
{
	int64_t		 d;
	u_int		 kept;
	long		 n;

	switch (opt) {
	case OPT_HTTP_MAX_BODY:
		if (parse_number(arg, 1024, 1 << 30, &n, cause) == -1)
			return (-1);
		f->http_limits.max_body = (size_t)n;
		return (0);
	case OPT_HTTP_MAX_CONNS:
		if (parse_number(arg, 1, 1000000, &n, cause) == -1)
			return (-1);
		f->http_limits.max_connections = (size_t)n;
		return (0);
	case OPT_HTTP_TIMEOUT:
		if (parse_duration(arg, &d) == -1 || d < USEC_PER_SEC ||
		    d > 3600 * USEC_PER_SEC)
			return (flag_fail(cause, "expected a duration from 1s "
			    "to 1h, got \"%s\"", arg));
		f->http_limits.timeout_s = (int)(d / USEC_PER_SEC);
		return (0);
	case OPT_HTTP_ALLOW:
		return (http_config_allow(&f->http, arg, cause));
	case OPT_HTTP:
		free(f->http_host);
		f->http_host = NULL;
		return (httpd_parse_address(arg, &f->http_host, &f->http_port,
		    cause));
	case OPT_WEBHOOK_RETENTION:
		if (parse_duration(arg, &f->webhook_retention_us) == -1 ||
		    f->webhook_retention_us < USEC_PER_SEC)
			return (flag_fail(cause, "expected a duration of at "
			    "least 1s, such as 7d, got \"%s\"", arg));
		return (0);
	case OPT_WEBHOOK_REFUSALS:
		if (webhook_parse_folding(arg, &kept, &d) == -1)
			return (flag_fail(cause, "expected N/DURATION, N from "
			    "0 to 100000 and DURATION from 1s to 1h, such as "
			    "20/1m, got \"%s\"", arg));
		webhook_set_folding(kept, d);
		return (0);
	case OPT_SECRET_EXEC_TTL:
		if (parse_duration(arg, &d) == -1 || d > 86400 * USEC_PER_SEC)
			return (flag_fail(cause, "expected a duration from 0s "
			    "to 1d, got \"%s\"", arg));
		secret_set_exec_ttl_ms(d / USEC_PER_MSEC);
		return (0);
	case OPT_SUB_TIME_SCALE:
		if (parse_number(arg, 1, 100000000, &n, cause) == -1)
			return (-1);
		subscription_set_time_scale(n);
		return (0);
	}
	return (1);
}

/* Setting OPT of the control socket and events.watch. */
static int
flag_apply_ctl(struct flags *f, int opt, const char *arg, char **cause)
{
	int64_t		 ms = 0;
	long		 n;

	switch (opt) {
	case OPT_CTL_MAX_CONNS:
		if (parse_number(arg, 2, 100000, &n, cause) == -1)
			return (-1);
		f->ctl_limits.max_connections = (size_t)n;
		return (0);
	case OPT_CTL_MAX_PER_UID:
		if (parse_number(arg, 1, 100000, &n, cause) == -1)
			return (-1);
		f->ctl_limits.max_per_uid = (size_t)n;
		return (0);
	case OPT_CTL_MAX_REQUEST:
		if (parse_number(arg, 1024, 1 << 30, &n, cause) == -1)
			return (-1);
		f->ctl_limits.max_request = (size_t)n;
		return (0);
	case OPT_CTL_ADMIN_RESERVED:
		if (parse_number(arg, 1, 100000, &n, cause) == -1)
			return (-1);
		f->ctl_limits.admin_reserved = (size_t)n;
		return (0);
	case OPT_CTL_IDLE_TIMEOUT:
		if (parse_timeout_ms(arg, &ms, cause) == -1)
			return (-1);
		f->ctl_limits.idle_timeout_ms = ms;
		return (0);
	case OPT_CTL_READ_TIMEOUT:
		if (parse_timeout_ms(arg, &ms, cause) == -1)
			return (-1);
		f->ctl_limits.read_timeout_ms = ms;
		return (0);
	case OPT_WATCH_STALL:
		if (parse_timeout_ms(arg, &ms, cause) == -1)
			return (-1);
		f->watch_stall_us = ms * USEC_PER_MSEC;
		return (0);
	case OPT_WATCH_BUFFER:
		if (parse_number(arg, 4096, 1 << 30, &n, cause) == -1)
			return (-1);
		f->ctl_limits.stream_output = (size_t)n;
		return (0);
	case OPT_WATCH_MAX:
		if (parse_number(arg, 1, 100000, &n, cause) == -1)
			return (-1);
		f->watch_max = (size_t)n;
		return (0);
	}
	return (1);
}

/* Setting OPT of the journal's checkpoints and scrubs. */
static int
flag_apply_journal(struct flags *f, int opt, const char *arg, char **cause)
{
	int64_t		 d;
	long		 n;

	switch (opt) {
	case OPT_SIGNING_KEY:
		f->signing_key = arg;
		return (0);
	case OPT_CKPT_EVERY:
		if (parse_number(arg, 1, 1000000000, &n, cause) == -1)
			return (-1);
		f->jopts.checkpoint_every = (uint64_t)n;
		return (0);
	case OPT_CKPT_INTERVAL:
		if (parse_duration(arg, &d) == -1 || (d != 0 &&
		    d < USEC_PER_SEC))
			return (flag_fail(cause, "expected a duration of at "
			    "least 1s, such as 60s, or 0, got \"%s\"", arg));
		f->jopts.checkpoint_interval_us = d == 0 ? -1 : d;
		return (0);
	case OPT_CKPT_LOG:
		f->witness.log_path = arg;
		return (0);
	case OPT_CKPT_SYSLOG:
		f->witness.syslog = 1;
		return (0);
	case OPT_CKPT_URL:
		if (http_url_check(arg, cause) != 0)
			return (-1);
		f->witness.url = arg;
		return (0);
	case OPT_SCRUB_INTERVAL:
		if (parse_duration(arg, &f->scrub_interval_us) == -1)
			return (flag_fail(cause, "expected a duration such as "
			    "24h, or 0, got \"%s\"", arg));
		return (0);
	}
	return (1);
}

/* Setting OPT of email delivery (the relay, the public URL). */
static int
flag_apply_email(struct flags *f, int opt, const char *arg, char **cause)
{
	struct email_config	*e = &f->email;
	int64_t			 d;
	long			 n;

	switch (opt) {
	case OPT_SMTP_URL:
		e->smtp.url = (char *)arg;
		break;
	case OPT_SMTP_USER:
		if (*arg == '\0' || strpbrk(arg, "\r\n") != NULL)
			return (flag_fail(cause, "expected a user name"));
		e->smtp.user = (char *)arg;
		break;
	case OPT_SMTP_PASSWORD:
		if (secret_ref_check(arg, cause) == -1)
			return (-1);
		e->smtp.password_ref = (char *)arg;
		break;
	case OPT_SMTP_FROM:
		e->smtp.from = (char *)arg;
		break;
	case OPT_SMTP_FROM_NAME:
		e->smtp.from_name = (char *)arg;
		break;
	case OPT_SMTP_CA:
		e->smtp.ca_file = (char *)arg;
		break;
	case OPT_SMTP_INSECURE:
		e->smtp.insecure = 1;
		break;
	case OPT_SMTP_TIMEOUT:
		if (parse_timeout_ms(arg, &e->smtp.timeout_ms, cause) == -1)
			return (-1);
		break;
	case OPT_SMTP_ATTEMPTS:
		if (parse_number(arg, 1, 100, &n, cause) == -1)
			return (-1);
		e->max_attempts = (int)n;
		break;
	case OPT_SMTP_RETRY:
		if (parse_duration(arg, &d) == -1 || d < USEC_PER_SEC ||
		    d > 3600 * USEC_PER_SEC)
			return (flag_fail(cause, "expected a duration from 1s "
			    "to 1h, such as 30s, got \"%s\"", arg));
		e->retry_delay_us = d;
		break;
	case OPT_SMTP_BOUNCES:
		e->suppress_bounces = 1;
		break;
	case OPT_PUBLIC_URL:
		if (email_public_url_check(arg, cause) == -1)
			return (-1);
		e->public_url = arg;
		return (0);
	case OPT_NOTIFY_DIGEST:
		if (parse_duration(arg, &d) == -1 || d < USEC_PER_SEC ||
		    d > 86400 * USEC_PER_SEC)
			return (flag_fail(cause, "expected a duration from 1s "
			    "to 1d, such as 5m, got \"%s\"", arg));
		e->notify_digest_us = d;
		return (0);
	default:
		return (1);
	}
	f->email_given = 1;
	return (0);
}

/* The relay's settings together: exits 2 (1 with --check-config) saying
 * what is wrong. */
static void
check_email(struct flags *f)
{
	unsigned char	*pw;
	size_t		 len;
	char		*cause = NULL, *why = NULL;

	if (!f->email_given)
		return;
	if (smtp_config_check(&f->email.smtp, &cause) == -1)
		goto fail;
	/* A password that cannot be read is said now, not at the first
	 * message (exec: and generated: ones are read when used). */
	if (f->email.smtp.password_ref != NULL &&
	    (strncmp(f->email.smtp.password_ref, "env:", 4) == 0 ||
	    strncmp(f->email.smtp.password_ref, "file:", 5) == 0)) {
		if (secret_resolve(f->email.smtp.password_ref, &pw, &len,
		    &why) == -1) {
			xasprintf(&cause, "--smtp-password: %s", why);
			free(why);
			goto fail;
		}
		secret_free(pw, len);
	}
	return;
fail:
	fprintf(stderr, "chimed: %s\n", cause);
	free(cause);
	exit(f->check_config ? 1 : 2);
}

/* Setting OPT to ARG (NULL for a flag without a value): 0, or -1 with
 * *CAUSE saying why the value is refused. */
static int
flag_apply(struct flags *f, int opt, const char *arg, char **cause)
{
	int	rc;

	if ((rc = flag_apply_base(f, opt, arg, cause)) != 1 ||
	    (rc = flag_apply_http(f, opt, arg, cause)) != 1 ||
	    (rc = flag_apply_ctl(f, opt, arg, cause)) != 1 ||
	    (rc = flag_apply_journal(f, opt, arg, cause)) != 1 ||
	    (rc = flag_apply_email(f, opt, arg, cause)) != 1)
		return (rc);
	fatalx("flag_apply: unknown option %d", opt);
}

/* config_load's callback: setting NAME = VALUE of the file. */
static int
flag_setting(void *arg, const char *name, const char *value, char **cause)
{
	struct flags		*f = arg;
	const struct option	*o;

	for (o = longopts; o->name != NULL; o++) {
		if (o->val == OPT_CONFIG)
			break;	/* flags only from here */
		if (strcmp(o->name, name) != 0)
			continue;
		if (f->given[o->val - OPT_DATA])
			return (CONFIG_OVERRIDDEN);
		if (o->has_arg == no_argument) {
			switch (config_bool(value)) {
			case 0:
				return (0);
			case 1:
				return (flag_apply(f, o->val, NULL, cause));
			}
			return (flag_fail(cause, "expected yes or no, got "
			    "\"%s\"", value));
		}
		return (flag_apply(f, o->val, value, cause));
	}
	for (; o->name != NULL; o++)
		if (strcmp(o->name, name) == 0)
			return (flag_fail(cause, "a flag only, not a setting "
			    "of the file"));
	return (flag_fail(cause, "unknown setting (the settings are "
	    "chimed's long flags without their --: chimed --help)"));
}

/*
 * The command line, then the configuration file (--config, else
 * CHIME_CONFIG_FILE if it exists) for the settings the command line does
 * not give.  Bad values exit 2 naming the flag, or the file, line and
 * setting (with --check-config: 1, every error of the file said).
 */
static void
parse_flags(int argc, char **argv, struct flags *f)
{
	char	*cause = NULL;
	int	 ch, i;

	/* First what the command line gives, and its errors. */
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case OPT_VERSION:
			printf("chimed %s\n", CHIME_VERSION);
			exit(0);
		case OPT_HELP:
			usage(0);
		case OPT_CONFIG:
			f->config = optarg;
			break;
		case OPT_CHECK_CONFIG:
			f->check_config = 1;
			break;
		default:
			if (ch < OPT_DATA || ch > OPT_UI_DIR)
				usage(2);
			for (i = 0; longopts[i].val != ch; i++)
				/* nothing */;
			if (flag_apply(f, ch, optarg, &cause) == -1) {
				fprintf(stderr, "chimed: --%s: %s\n",
				    longopts[i].name, cause);
				exit(f->check_config ? 1 : 2);
			}
			f->given[ch - OPT_DATA] = 1;
			config_given(longopts[i].name, optarg != NULL ? optarg :
			    "yes");
		}
	}
	if (optind != argc) {
		fprintf(stderr, "chimed: unexpected argument \"%s\"\n",
		    argv[optind]);
		usage(2);
	}
	if (config_load(f->config, flag_setting, f) == -1)
		exit(f->check_config ? 1 : 2);
	check_ctl_limits(&f->ctl_limits);
	check_email(f);
	for (i = 0; longopts[i].val != OPT_CONFIG; i++)
		setting_names[i] = longopts[i].name;
	setting_names[i] = NULL;
	config_names(setting_names);
}

/*
 * The data directory: made 0711 (and any parent it needs) if it does not
 * exist, so that any uid can reach the control socket in it (the daemon
 * decides what each may do) but none can list it; what it holds is the
 * daemon's alone (the journal and secrets/ are 0700, files at most 0640).
 * An existing directory keeps its mode; one others cannot pass is said in
 * the log, as granted uids cannot connect then.
 */
static void
make_data_dir(void)
{
	struct stat	sb;
	mode_t		mask;
	int		made, rc;

	made = stat(engine->data_dir, &sb) == -1 && errno == ENOENT;
	mask = umask(0);
	rc = mkdir_p(engine->data_dir, 0711);
	umask(mask);
	if (rc == -1 || stat(engine->data_dir, &sb) == -1)
		fatal("cannot create data directory %s", engine->data_dir);
	if (!made && (sb.st_mode & S_IXOTH) == 0 && socket_path == NULL)
		log_warnx("msg=\"other uids cannot reach the control socket: "
		    "the data directory is not searchable by others (chmod "
		    "0711 it, or give --socket)\" data=\"%s\" mode=%04o",
		    log_escape(engine->data_dir), (u_int)(sb.st_mode & 07777));
}

/*
 * The control socket's write gate: while the daemon drains or the journal
 * cannot write, methods that change something are refused with the reason
 * and MESSAGE, before anything changes (see ctl/server.c).  The one place
 * that decides whether a change may begin; handlers do not check again.
 */
static const char *
write_gate(const char **message)
{
	static char	 buf[512];
	const char	*reason, *error = NULL;

	if (engine->draining) {
		*message = "the daemon is draining: nothing was changed";
		return ("draining");
	}
	if (engine->journal != NULL &&
	    journal_stalled(engine->journal, &reason, &error)) {
		snprintf(buf, sizeof buf, "the journal cannot write (%s): "
		    "nothing was changed", error != NULL ? error : reason);
		*message = buf;
		return (reason);
	}
	return (NULL);
}

/* The journal stopped or started writing again. */
static void
journal_stall_changed(int stalled, void *arg)
{
	const char	*reason = NULL, *error = NULL;

	if (stalled) {
		journal_stalled(engine->journal, &reason, &error);
		log_warnx("msg=\"journal cannot write: changes are refused and "
		    "fires held until it can\" reason=%s error=\"%s\"",
		    reason != NULL ? reason : "-", error != NULL ? error : "");
		return;
	}
	log_info("msg=\"journal writes again: held fires catch up\"");
	dispatch_journal_writable();
}

/* The key that signs checkpoints: --signing-key, else DATA/keys/journal.key
 * (made at first start); its verifier key in DATA/keys/journal.pub. */
static void
signing_key(struct flags *f)
{
	char	*dir, *key, *pub, *cause = NULL;

	xasprintf(&dir, "%s/keys", engine->data_dir);
	if (mkdir(dir, 0700) == -1 && errno != EEXIST)
		fatal("%s", dir);
	if (f->signing_key != NULL)
		key = xstrdup(f->signing_key);
	else
		xasprintf(&key, "%s/journal.key", dir);
	xasprintf(&pub, "%s/journal.pub", dir);
	if (checkpoint_key(engine->journal, key, pub, f->signing_key == NULL,
	    &cause) == -1)
		fatalx("%s", cause);
	free(pub);
	free(key);
	free(dir);
}

/* Socket activation takes the place of --socket and --http: say so when
 * they were given as well. */
static void
listen_fds_said(const struct flags *f)
{
	if (f->ctl_fd != -1)
		log_info("msg=\"control socket from the supervisor\" fd=%d%s",
		    f->ctl_fd, f->given[OPT_SOCKET - OPT_DATA] ?
		    " socket_flag=unused" : "");
	if (f->http_fd != -1)
		log_info("msg=\"http listener from the supervisor\" fd=%d%s",
		    f->http_fd, f->given[OPT_HTTP - OPT_DATA] ?
		    " http_flag=unused" : "");
}

/*
 * --check-config: the flags and the file were read (or chimed exited 1
 * saying why); now the catalog.  Exits 0 saying what was checked, or 1
 * with the catalog's error.  Nothing is opened, made or started.
 */
static deadfunc void
check_config(struct flags *f)
{
	struct catalog	*c;
	char		*cause = NULL;

	c = f->catalog != NULL ? catalog_load_file(f->catalog, &cause) :
	    catalog_load_default(&cause);
	if (c == NULL) {
		fprintf(stderr, "chimed: %s\n", cause);
		free(cause);
		exit(1);
	}
	printf("configuration: %s\n", config_path() != NULL ? config_path() :
	    "none (flags and defaults)");
	printf("catalog: %s, %zu operations, %zu models\n",
	    f->catalog != NULL ? f->catalog : "(built-in)", c->nops,
	    c->nmodels);
	printf("ok\n");
	catalog_unref(c);
	exit(0);
}

/* Open the data directory, the journal and the catalog; recover. */
static void
start(struct flags *f)
{
	struct journal_meta	 meta;
	char			*jdir, *cause = NULL;
	int			 killed;

	make_data_dir();
	lock_data_dir();
	if (f->catalog != NULL)
		engine->catalog_path = xstrdup(f->catalog);
	if (engine_reload(&cause) == -1)
		fatalx("%s", cause);	/* "catalog: ..." */
	xasprintf(&jdir, "%s/journal", engine->data_dir);
	notify_extend("opening the journal");
	f->jopts.index = run_list_index;
	engine->journal = journal_open(jdir, &f->jopts, &cause);
	if (engine->journal == NULL)
		fatalx("%s", cause);	/* "journal DIR: ..." */
	free(jdir);
	signing_key(f);
	if (journal_start(engine->journal, engine->base, &cause) == -1)
		fatalx("journal: %s", cause);
	if (witness_start(&f->witness, &cause) == -1)
		fatalx("%s", cause);
	journal_set_stall_hook(engine->journal, journal_stall_changed, NULL);
	if (scrub_start(engine->journal, f->scrub_interval_us, &cause) == -1)
		fatalx("%s", cause);
	/* Operations an earlier start left running die before recovery
	 * settles their runs. */
	if (journal_meta(engine->journal, &meta, &cause) == -1)
		fatalx("journal: %s", cause);
	exec_set_instance(meta.journal_id);
	if ((killed = exec_kill_survivors()) > 0)
		log_warnx("msg=\"operations of an earlier start killed\" "
		    "processes=%d", killed);
	/* Before recovery, so that the runs it settles are counted. */
	gauges_init();
	slots_init(engine->max_running);
	/* A journal from before the analytics table: built from the log
	 * once, before anything else writes. */
	notify_extend("recovering");
	if (analytics_rebuild(engine->journal, &cause) == -1)
		fatalx("analytics: %s", cause);
	if (run_list_rebuild(engine->journal, &cause) == -1)
		fatalx("run index: %s", cause);
	if (account_load_all(engine->journal, &cause) == -1 ||
	    prefs_load_all(engine->journal, &cause) == -1 ||
	    budget_load_all(engine->journal, &cause) == -1 ||
	    estimate_load_all(engine->journal, &cause) == -1 ||
	    batch_load_all(engine->journal, &cause) == -1 ||
	    schedule_load_all(engine->journal, &cause) == -1 ||
	    subscription_load_all(engine->journal, &cause) == -1 ||
	    token_load_all(engine->journal, &cause) == -1)
		fatalx("recovery failed: %s", cause);
	/* What recovery settled is durable before anyone can ask. */
	journal_flush(engine->journal);
	/* Recovery read every row through the map: give those pages back. */
	journal_release_cache(engine->journal);
	/* A port in use stops the start before anything says it began. */
	if (f->http_fd != -1 || f->http_host != NULL) {
		httpd = f->http_fd != -1 ? httpd_start_fd(engine->base,
		    f->http_fd, &f->http_limits, &cause) :
		    httpd_start(engine->base, f->http_host, f->http_port,
		    &f->http_limits, &cause);
		if (httpd == NULL ||
		    hooks_route(httpd, &cause) == -1 ||
		    rpc_route(httpd, &cause) == -1 ||
		    ui_route(httpd, f->ui_dir, &cause) == -1 ||
		    unsub_route(httpd, &cause) == -1)
			fatalx("%s", cause);
		httpd_set_ready_hook(ready_journal);
	}
	webhook_start(f->webhook_retention_us);
	subscription_start();
	email_configure(&f->email);
	if (email_start(engine->journal, &cause) == -1)
		fatalx("email: %s", cause);
	notice_configure(f->email.notify_digest_us);
	if (notice_start(engine->journal, &cause) == -1)
		fatalx("notices: %s", cause);
	events_watch_init(f->watch_stall_us, f->watch_max);
	daemon_record("daemon.started");
	if (f->ctl_fd != -1) {
		engine->ctl = ctl_server_adopt(engine->base, f->ctl_fd,
		    daemon_method_find, &cause);
		if (engine->ctl != NULL) {
			free(socket_path);
			socket_path = xstrdup(ctl_server_path(engine->ctl));
		}
	} else {
		if (socket_path == NULL)
			xasprintf(&socket_path, "%s/chime.sock",
			    engine->data_dir);
		engine->ctl = ctl_server_create(engine->base, socket_path,
		    daemon_method_find, &cause);
	}
	if (engine->ctl == NULL)
		fatalx("control socket: %s", cause);
	ctl_server_set_write_gate(engine->ctl, write_gate);
	if (ctl_server_set_limits(engine->ctl, &f->ctl_limits, &cause) == -1)
		fatalx("control limits: %s", cause);
}

int
main(int argc, char **argv)
{
	struct flags	 f;
	const char	*env;
	char		*cause = NULL;

	memset(&f, 0, sizeof f);
	f.level = LOG_LEVEL_INFO;
	f.jopts.sync = JOURNAL_SYNC_FULL;
	f.max_running = 32;
	f.drain_us = 30 * USEC_PER_SEC;
	f.claim_ahead_us = 500 * USEC_PER_MSEC;
	f.webhook_retention_us = WEBHOOK_RETENTION_DEFAULT;
	f.scrub_interval_us = 86400 * USEC_PER_SEC;
	f.ready_fd = -1;
	httpd_limits_default(&f.http_limits);
	http_config_init(&f.http);
	if (httpd_parse_address(HTTPD_DEFAULT_ADDRESS, &f.http_host,
	    &f.http_port, &cause) == -1)
		fatalx("%s", cause);
	parse_flags(argc, argv, &f);
	if (f.check_config)
		check_config(&f);
	log_open("chimed", f.level);
	/* The supervisor's descriptors, before anything of ours opens. */
	if (notify_listen_fds(&f.ctl_fd, &f.http_fd, &cause) == -1)
		fatalx("%s", cause);
	listen_fds_said(&f);
	if (f.ready_fd >= 0 && (f.ready_fd == f.ctl_fd ||
	    f.ready_fd == f.http_fd))
		fatalx("--ready-fd %d is a socket the supervisor passed to "
		    "listen on", f.ready_fd);
	/* The readiness descriptor is the supervisor's, not one of ours. */
	if (f.ready_fd >= 0 && notify_check_fd(f.ready_fd, &cause) == -1)
		fatalx("%s", cause);
	/* Nothing the daemon makes is for others to read or write: the
	 * socket (0666) and DATA (0711) are set explicitly; the journal and
	 * secrets keep their own 0700 directories. */
	umask(027);
	if (f.data == NULL)
		f.data = (env = getenv("CHIME_DATA")) != NULL && *env != '\0' ?
		    env : "./var/chime";
	if (engine_init() == -1)
		fatalx("cannot create the event loop");
	http_runtime_init(engine->base, &f.http);
	http_config_clear(&f.http);
	engine->data_dir = xstrdup(f.data);
	secret_set_data_dir(engine->data_dir);
	engine->max_running = f.max_running;
	engine->drain_timeout_ms = f.drain_us / USEC_PER_MSEC;
	engine->claim_ahead_us = f.claim_ahead_us;
	/* Signals during recovery wait on the loop, not kill us. */
	signal_init(engine->base, start_drain, reload);
	if (notify_init(engine->base, f.ready_fd, &cause) == -1)
		fatalx("%s", cause);
	start(&f);
	log_info("msg=\"chimed ready\" version=%s pid=%d data=\"%s\" "
	    "socket=\"%s\" journal_seq=%llu", CHIME_VERSION, (int)getpid(),
	    log_escape(engine->data_dir), log_escape(socket_path),
	    (unsigned long long)journal_seq(engine->journal));
	notify_ready();
	engine_run();

	/* The listener answered readyz 503 during the drain; webhook
	 * deliveries waiting for their records are answered; now it goes.
	 * Records a journal that cannot write still holds are given up: the
	 * next start settles their runs, as after a crash. */
	if (journal_stalled(engine->journal, NULL, NULL)) {
		log_warnx("msg=\"stopping while the journal cannot write: its "
		    "held records are lost; the next start settles their "
		    "runs\" records=%zu", journal_pending(engine->journal));
		journal_stop_retrying(engine->journal);
	}
	journal_flush(engine->journal);
	httpd_free(httpd);
	httpd = NULL;
	webhook_stop();
	subscription_stop();
	email_stop();
	notice_stop();
	free(f.http_host);
	daemon_record("daemon.stopped");
	daemon_changes_free();
	ctl_server_free(engine->ctl);
	engine->ctl = NULL;
	events_watch_free();
	journal_close(engine->journal);
	witness_stop();
	subscription_free_all();
	token_free_all();
	rpc_free();
	session_free_all();
	ui_free();
	schedule_free_all();
	batch_free_all();
	estimate_free_all();
	budget_free_all();
	prefs_free_all();
	account_free_all();
	signal_free();
	http_runtime_free();
	secret_cache_clear();
	metrics_free();
	if (drain_ev != NULL)
		event_free(drain_ev);
	notify_free();
	engine_free();
	free(socket_path);
	config_free();
	log_info("msg=\"chimed stopped\"");
	return (0);
}
