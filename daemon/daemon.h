/*
 * daemon/daemon.h: the daemon's assembly.  main.c starts the layers below
 * in order; the method files bind the protocol's specs (ctl/method-*.c)
 * to the domain (actors/), one handler per method.
 *
 * Structs first, then one prototype section per file.
 */
#ifndef CHIME_DAEMON_H
#define CHIME_DAEMON_H

#include <jansson.h>

struct ctl_req;
struct account;
struct batch;
struct schedule;

/*
 * What a request acts on (its spec's .target), resolved from its parameters
 * and authorised for its caller by methods.c before the handler runs.
 */
struct target {
	const char	*account;	/* CTL_T_ACCOUNT; _GIVEN: or NULL */
	struct account	*named;		/* CTL_T_ACCOUNT_NAMED */
	struct schedule	*schedule;	/* CTL_T_SCHEDULE */
	struct batch	*batch;		/* CTL_T_BATCH */
};

typedef void (*daemon_handler)(struct ctl_req *, json_t *,
    const struct target *);

/* A method the daemon serves: its name (as in ctl's spec) and handler. */
struct daemon_method {
	const char	*name;
	daemon_handler	 handler;
};

struct httpd;

/* config.c: the configuration file, and where each setting came from. */
#define CONFIG_OVERRIDDEN	2	/* the command line gave it */
typedef int (*config_setting_cb)(void *, const char *, const char *,
		     char **);
int		 config_load(const char *, config_setting_cb, void *);
int		 config_bool(const char *);
void		 config_given(const char *, const char *);
void		 config_names(const char *const *);
const char	*config_path(void);
json_t		*config_settings_json(void);
void		 config_free(void);

/* gauges.c */
void		 gauges_init(void);

/* hooks.c */
int		 hooks_route(struct httpd *, char **);

/* http-rpc.c: POST /v1/rpc, the control methods for token callers (and
 * GET /v1/events, http-events.c). */
int		 rpc_route(struct httpd *, char **);
void		 rpc_free(void);
/* The caller REQ's bearer token (or, without one, its session cookie)
 * stands for: 0 and *CALLER; or -1, REQ answered (401, 429; 403 for a
 * cookie without the CSRF header when FLAGS has RPC_CSRF), the failure
 * counted against its address. */
#define RPC_CSRF	0x1	/* a cookie needs the CSRF header */
struct evhttp_request;
int		 rpc_caller(struct evhttp_request *, struct caller *, int);
/* The same for a token's SECRET given otherwise (NULL: none). */
int		 rpc_token_caller(struct evhttp_request *, const char *,
		     struct caller *);
const char	*rpc_peer(struct evhttp_request *);

/* http-session.c: the dashboard's sessions (POST, GET, DELETE
 * /v1/session), each a cookie standing for a token. */
#define SESSION_COOKIE		"chime_session"
#define SESSION_CSRF_HEADER	"X-Chime-CSRF"
#define SESSION_CSRF_REFUSED	"{\"error\":\"forbidden\",\"reason\":" \
	"\"a request with the session cookie needs the header " \
	SESSION_CSRF_HEADER ": 1\"}"
int		 session_route(struct httpd *, char **);
void		 session_free_all(void);
/* The session id of REQ's cookie (borrowed from REQ), or NULL. */
const char	*session_cookie(struct evhttp_request *);
/* 1 if REQ carries the CSRF header. */
int		 session_csrf_ok(struct evhttp_request *);
/* The caller of REQ's session: 0 and *CALLER (its idle time renewed), or
 * -1 and *WHY ("session_unknown", "session_expired", or the token's). */
int		 session_caller(struct evhttp_request *, struct caller *,
		     const char **);

/* http-ui.c: the dashboard's files under /ui/ (and / to it). */
int		 ui_route(struct httpd *, const char *, char **);

/* http-email.c: GET and POST /v1/email/unsubscribe (RFC 8058). */
int		 unsub_route(struct httpd *, char **);
void		 ui_free(void);

/* http-events.c: GET /v1/events, the journal as Server-Sent Events. */
int		 sse_route(struct httpd *, char **);

/* ready.c */
int		 ready_journal(const char **);

/* notify.c: the supervisor's notifications (systemd's, s6's readiness
 * descriptor READY_FD, -1 for none).  notify_extend: a start step that may
 * take long, named for STATUS=. */
int		 notify_listen_fds(int *, int *, char **);
int		 notify_check_fd(int, char **);	/* before anything opens */
int		 notify_init(struct event_base *, int, char **);
void		 notify_extend(const char *);
void		 notify_ready(void);
void		 notify_reloading(void);
void		 notify_reloaded(void);
void		 notify_stopping(void);
void		 notify_free(void);

/* methods.c */
ctl_handler	 daemon_method_find(const char *, const struct ctl_method **);
void		 daemon_method_run(struct ctl_req *, json_t *);
void		 daemon_changes_free(void);
const char	*method_account(struct ctl_req *, json_t *);
struct schedule	*method_schedule(struct ctl_req *, json_t *);

/* method-events.c: events.watch */
#define WATCH_STALL_DEFAULT	(30 * USEC_PER_SEC)	/* --watch-stall */
#define WATCH_MAX_DEFAULT	128			/* --watch-max */
/* A record as the watchers send it. */
struct watch_rendered {
	uint64_t	 seq;		/* 0: empty */
	char		*kind;
	char		*account;	/* NULL: daemon-level */
	char		*line;		/* the notification, or NULL if the
					   record did not decode */
	size_t		 len;
	char		*error;		/* why it did not */
};
#define WATCH_LINE_HEAD		"{\"jsonrpc\":\"2.0\",\"method\":\"event\"," \
				    "\"params\":"
/* Where a watcher's events go.  ROOM: may it take more now (else the
 * watcher pauses until events_watch_writable)?  EVENT: one event (R's
 * line is the socket's notification; the event object is the part after
 * WATCH_LINE_HEAD, without the last byte).  END: the last words (the
 * events.end params, stolen), then close; the sink is gone after.  The
 * sink calls events_watch_closed when its client goes. */
struct watch_sink_ops {
	int	(*room)(void *);
	void	(*event)(void *, const struct watch_rendered *);
	size_t	(*unread)(void *);
	void	(*end)(void *, json_t *);
};
struct watcher;
/*
 * A new watcher for CALLER, of ACCOUNT's records only unless NULL (the
 * caller's right to it checked already), of the kinds of LIST (a JSON
 * array of patterns, or NULL), from seq FROM (0: the head + 1; before
 * the first record left: from it).  0, *W and *RESULT (new:
 * {from_seq, head_seq, first_seq, from_seq_adjusted}); or -1 and *ERROR
 * (a JSON-RPC error object, new): draining, too many watchers, bad kinds
 * or from_seq.  Then events_watch_start.
 */
int		 events_watch_open(const struct caller *, const char *,
		     json_t *, int64_t, struct watcher **, json_t **,
		     json_t **);
/* Start W on SINK (NULL: its caller went; W is dropped). */
void		 events_watch_start(struct watcher *,
		     const struct watch_sink_ops *, void *);
void		 events_watch_writable(void *);
void		 events_watch_closed(void *);
void		 events_watch_init(int64_t, size_t);
void		 events_watch_drain(void);
void		 events_watch_free(void);

/* method-*.c: NULL-name terminated */
extern const struct daemon_method daemon_methods_schedule[];
extern const struct daemon_method daemon_methods_run[];
extern const struct daemon_method daemon_methods_daemon[];
extern const struct daemon_method daemon_methods_account[];
extern const struct daemon_method daemon_methods_prefs[];
extern const struct daemon_method daemon_methods_notify[];
extern const struct daemon_method daemon_methods_budget[];
extern const struct daemon_method daemon_methods_batch[];
extern const struct daemon_method daemon_methods_webhook[];
extern const struct daemon_method daemon_methods_journal[];

/* witness.c: where each checkpoint note goes besides the journal. */
struct witness_config {
	const char	*log_path;	/* --checkpoint-log; NULL: none */
	int		 syslog;	/* --checkpoint-syslog */
	const char	*url;		/* --checkpoint-url; NULL: none */
};
/* Take the journal's checkpoints (after journal_start): 0, or -1 and
 * *cause when the log cannot be opened or the URL is not one. */
int		 witness_start(const struct witness_config *, char **);
/* At shutdown, after journal_close: POSTs in flight get a few seconds. */
void		 witness_stop(void);
extern const struct daemon_method daemon_methods_subscription[];
extern const struct daemon_method daemon_methods_events[];
extern const struct daemon_method daemon_methods_token[];
extern const struct daemon_method daemon_methods_suppression[];
extern const struct daemon_method daemon_methods_email[];
extern const struct daemon_method daemon_methods_analytics[];

/* method-budget.c: budget.status's answer for an account */
json_t		*method_budget_status_of(const char *);

/* method-schedule.c: the secret references a request gives */
int		 method_secret_gate(struct ctl_req *, json_t *, const char *);

#endif /* CHIME_DAEMON_H */
