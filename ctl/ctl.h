/*
 * ctl/ctl.h: the control protocol.  Newline-delimited JSON-RPC 2.0 over a
 * Unix socket; caller identity from SO_PEERCRED; one table of methods
 * (one ctl/method-NOUN.c file per noun) used by the daemon to dispatch and
 * check parameters, and by chimectl for usage text, flag parsing and
 * unique-prefix matching.  doc/protocol.md is the reference.
 */
#ifndef CHIME_CTL_H
#define CHIME_CTL_H

#include <sys/types.h>

#include <stdint.h>
#include <stdio.h>

#include <event2/event.h>
#include <jansson.h>

/* JSON-RPC 2.0 codes, then ours (doc/protocol.md). */
#define CTL_E_PARSE		-32700
#define CTL_E_INVALID_REQUEST	-32600
#define CTL_E_NO_METHOD		-32601
#define CTL_E_INVALID_PARAMS	-32602
#define CTL_E_INTERNAL		-32603
#define CTL_E_NOT_FOUND		-32001
#define CTL_E_CONFLICT		-32002	/* exists already, wrong state */
#define CTL_E_FORBIDDEN		-32003
#define CTL_E_BUDGET		-32004
#define CTL_E_OVERLOADED	-32005	/* limits reached; try again */
#define CTL_E_UNAVAILABLE	-32006	/* draining, journal failure */

/* Default limits (doc/protocol.md, "Limits"). */
#define CTL_MAX_REQUEST		(1024 * 1024)	/* bytes in one request line */
#define CTL_RELEASE_LATER	(64 * 1024)	/* a request this large is freed
						   after the loop's next poll */
#define CTL_MAX_CONNECTIONS	256
#define CTL_MAX_PER_UID		32	/* of one uid that is not an admin */
#define CTL_ADMIN_RESERVED	16	/* of MAX_CONNECTIONS, admins only */
#define CTL_IDLE_TIMEOUT_MS	60000	/* nothing asked, nothing pending */
#define CTL_READ_TIMEOUT_MS	10000	/* a request line, from its first byte */
#define CTL_MAX_INFLIGHT	64	/* unanswered requests per connection */
#define CTL_MAX_OUTPUT		(16 * 1024 * 1024) /* unread reply bytes */
#define CTL_STREAM_OUTPUT	(1024 * 1024)	/* unread bytes of a stream
						   before its producer pauses */

/* Bounds of parameters, in the method tables (ctl_param .min/.max). */
#define CTL_MAX_BATCH_OPS	100000	/* operations of one batch */
#define CTL_MAX_LIST		100000	/* schedules on one page */
#define CTL_MAX_APPLY		20000	/* schedules in one schedule.apply */
#define CTL_MAX_GLOB		200	/* bytes of a name glob */
#define CTL_MAX_KEY		200	/* bytes of an idempotency key */
#define CTL_MAX_REASON		500	/* bytes of a cancel reason */
#define CTL_MAX_RUNS		1000	/* runs in schedule.runs, run.list */
#define CTL_MAX_FILTER		200	/* bytes of run.list's filters */
#define CTL_MAX_CURSOR		200	/* bytes of run.list's cursor */
#define CTL_MAX_NEXT		1000	/* instants in schedule.next */
#define CTL_MAX_EVENTS		1000	/* requests in webhook.events */
#define CTL_MAX_KINDS		64	/* kinds in events.watch's filter */
#define CTL_MAX_KIND		255	/* bytes of one kind (as the journal's) */

/* chimectl exit codes. */
#define CTL_EXIT_OK		0
#define CTL_EXIT_ERROR		1	/* the daemon answered with an error */
#define CTL_EXIT_USAGE		2
#define CTL_EXIT_CONNECT	3	/* no answer: connect, I/O, timeout */

/* Parameter types: checked by the server before a handler runs, and
 * parsed from flags by chimectl. */
enum ctl_ptype {
	CTL_P_STRING,
	CTL_P_INT,		/* JSON integer */
	CTL_P_BOOL,
	CTL_P_USD,		/* decimal string "1.25" or a JSON number */
	CTL_P_DURATION,		/* string "90s", "5m", "1h", "2d" or integer seconds */
	CTL_P_OBJECT,		/* JSON object; CLI: repeated --flag k=v */
	CTL_P_TIME,		/* RFC 3339 string */
	CTL_P_STRINGS,		/* JSON array of strings; CLI: the flag
				   repeated, one string each (.min, .max:
				   how many) */
};

#define CTL_P_REQUIRED		0x1
#define CTL_P_POSITIONAL	0x2	/* CLI: given without its flag, in order */

struct ctl_param {
	const char	*name;		/* JSON name, also the CLI flag --NAME
					   with '_' written '-' */
	enum ctl_ptype	 type;
	int		 flags;
	const char	*help;
	const char	*alias;		/* CLI flag if not --NAME ("op") */
	int64_t		 min, max;	/* bounds, checked by the server:
					   CTL_P_INT its value, CTL_P_STRING
					   its length in bytes; both 0: none */
};

/*
 * What a method acts on.  The daemon resolves it from the parameters and
 * authorises the caller for it once, before the method's handler runs
 * (daemon/methods.c); a target the caller may not act for is not found.
 */
enum ctl_target {
	CTL_T_NONE,
	CTL_T_ACCOUNT,		/* "account" (default "default") */
	CTL_T_ACCOUNT_GIVEN,	/* "account" if given (lists) */
	CTL_T_ACCOUNT_NAMED,	/* "name": the account.* methods */
	CTL_T_SCHEDULE,		/* "id": a schedule id, or a name in
				   "account" */
	CTL_T_BATCH		/* "id" (of "account", if given) */
};

/* The "account" parameter most methods take. */
#define CTL_PARAM_ACCOUNT \
	{ .name = "account", .type = CTL_P_STRING, \
	    .help = "account (default: \"default\")" }

#define CTL_M_READONLY	0x1	/* changes nothing */
#define CTL_M_ADMIN	0x2	/* admin callers only */
#define CTL_M_NEW	0x4	/* makes a new object: waits for no change */
#define CTL_M_STREAM	0x8	/* answers, then streams notifications: the
				   socket only (ctl_call refuses it) */

struct ctl_req;
struct ctl_method {
	const char		*name;		/* "schedule.create" */
	const char		*summary;	/* one line for help */
	const struct ctl_param	*params;	/* ends with a {NULL} entry */
	enum ctl_target		 target;
	int			 flags;
	const char		*columns;	/* chimectl table columns for a
						   list result: "id,name,..." */
	const char		*list_key;	/* key of the array to tabulate */
	const char		*text_key;	/* chimectl prints only this
						   string member, as it is */
};


/* Limits of one server; ctl_server_create starts with the CTL_MAX_*. */
struct ctl_limits {
	size_t	max_request;
	size_t	max_connections;
	size_t	max_inflight;
	size_t	max_output;
	size_t	max_per_uid;
	size_t	admin_reserved;
	int64_t	idle_timeout_ms;
	int64_t	read_timeout_ms;
	size_t	stream_output;	/* a stream pauses past this many unread
				   bytes, resumes below half of it */
};

/*
 * A request turned into a stream of notifications (ctl_stream_start): the
 * producer asks ctl_stream_room before each notification and, when there
 * is none, waits for WRITABLE (the client read the output down to half
 * the bound).  CLOSED: the connection went away (the client closed it, an
 * error, the server stopped); the stream is gone once it returns and the
 * producer must forget it.  Neither is called from inside a ctl_stream_*
 * call, nor after ctl_stream_end.
 */
struct ctl_stream;
struct ctl_stream_ops {
	void	(*writable)(void *);
	void	(*closed)(void *);
};

/* How a server finds a method by its full name (ctl_method_find). */
/* What runs a method: PARAMS is borrowed for the call (always an object,
 * checked against the method's table); it answers now or later. */
typedef void (*ctl_handler)(struct ctl_req *, json_t *);
/* How a server finds a method by its full name: its spec in *SPEC and its
 * handler, or NULL when the server has no such method. */
typedef ctl_handler (*ctl_find_cb)(const char *, const struct ctl_method **);

struct ctl_server;

/*
 * protocol.c: JSON-RPC objects and parameter types, shared by the server
 * and chimectl, and chimectl's blocking transport.
 */
/* {"code","message"[,"data":{"field","reason"}]}; returns a new object. */
json_t		*ctl_error_object(int, const char *, const char *, const char *);
/* {"field","reason"}, a new object; a reason that begins "FIELD: " (a
 * cause written to stand alone) loses that prefix. */
json_t		*ctl_error_fields(const char *, const char *);
/* json_loadb for requests: a number past what jansson holds (an integer
 * outside int64) is valid JSON and loads as a marker that
 * ctl_check_params refuses, naming the parameter; other errors as
 * json_loadb. */
json_t		*ctl_json_loadb(const char *, size_t, size_t, json_error_t *);
/* Check PARAMS (an object, or NULL for none) against the method's table.
 * 0 if good; else -1 with allocated *field and *reason. */
int		 ctl_check_params(const struct ctl_method *, json_t *,
		     char **, char **);
/* The same for an object nested in params ctl_check_params passed (its
 * numbers are in range already). */
int		 ctl_check_nested(const struct ctl_method *, json_t *,
		     char **, char **);
const char	*ctl_ptype_name(enum ctl_ptype);
/* Build a method's params from chimectl arguments (after NOUN VERB).
 * 0 and a new object in *params, or -1 and an allocated *cause. */
int		 ctl_params_from_argv(const struct ctl_method *, int,
		     char *const *, json_t **, char **);
/* The CLI flag of a param, without "--" (alias, or name with '-'). */
void		 ctl_param_flag(const struct ctl_param *, char *, size_t);
/* Connect to a daemon's socket: the fd, or -1, an allocated *cause and
 * errno as connect(2) left it (ENAMETOOLONG for a path too long). */
int		 ctl_client_connect(const char *, char **);
/* Send one request (id 1) and wait up to TIMEOUT_MS (<= 0: forever) for
 * its response: 0 and the new response object, or -1 and *cause. */
int		 ctl_client_call(int, const char *, json_t *, int,
		     json_t **, char **);

/* server.c */
/* Listen on PATH (refusing a path where a daemon answers, replacing a
 * stale socket, mode 0666: who may do what is decided per request);
 * methods are looked up with FIND.  Sets SIGPIPE to be ignored.  NULL and
 * an allocated *cause on failure. */
struct ctl_server *ctl_server_create(struct event_base *, const char *,
		     ctl_find_cb, char **);
struct ctl_server *ctl_server_adopt(struct event_base *, int, ctl_find_cb,
		     char **);
void		 ctl_server_set_write_gate(struct ctl_server *,
		     const char *(*)(const char **));
/* Change the limits; zero fields keep their value.  -1 and *cause (and
 * nothing changed) if admin_reserved is not below max_connections. */
int		 ctl_server_set_limits(struct ctl_server *,
		     const struct ctl_limits *, char **);
/*
 * A request from another transport (the HTTP API): MSG, a parsed JSON-RPC
 * request, for CALLER (uid (uid_t)-1; token, account, readonly as the
 * transport authenticated it), with the socket's checks (form, method,
 * admin only, no writes for a read-only caller, no streaming method,
 * params, the write gate) and the same handlers.  ANSWER(RESPONSE, ARG)
 * runs exactly once, now or later: RESPONSE the JSON-RPC response object
 * (stolen), or NULL for a notification.  Returns the request while its
 * answer is pending (ctl_call_forget drops it: the client went), else
 * NULL (answered already).
 */
struct ctl_req	*ctl_call(struct ctl_server *, const struct caller *, json_t *,
		     void (*)(json_t *, void *), void *);
void		 ctl_call_forget(struct ctl_req *);
/* Close the listener: new connects fail, open connections go on. */
void		 ctl_server_stop_accepting(struct ctl_server *);
/* Close every connection (pending requests are detached), unlink the
 * socket.  NULL is a no-op. */
void		 ctl_server_free(struct ctl_server *);
size_t		 ctl_server_connections(struct ctl_server *);
size_t		 ctl_server_flushing(struct ctl_server *);
void		 ctl_server_release(struct ctl_server *, json_t *, size_t);
const char	*ctl_server_path(struct ctl_server *);
/* A request stays valid until it is answered, even if its connection
 * closes first (the answer is then dropped).  Answering frees it; answer
 * exactly once. */
const struct caller *ctl_req_caller(struct ctl_req *);
const char	*ctl_req_method(struct ctl_req *);
/* Is the caller still there (and waiting for an answer)? */
int		 ctl_req_connected(struct ctl_req *);
void		 ctl_req_on_done(struct ctl_req *, void (*)(void *), void *);
void		 ctl_reply(struct ctl_req *, json_t *);	/* steals result;
							   NULL: {} */
/* Reply CODE with MESSAGE; FIELD and REASON (both or neither) become
 * data.field and data.reason. */
void		 ctl_error(struct ctl_req *, int, const char *, const char *,
		     const char *);
/* Reply CODE with MESSAGE and DATA (stolen; may be NULL). */
void		 ctl_error_data(struct ctl_req *, int, const char *, json_t *);
/* Reply -32602 with data.field and data.reason. */
void		 ctl_error_param(struct ctl_req *, const char *, const char *);
/* The request's transport-neutral reply (answering it answers REQ), and
 * the JSON-RPC code of a kind of refusal. */
struct reply	*ctl_req_reply(struct ctl_req *);
int		 ctl_reply_code(enum reply_kind);
/*
 * Answer REQ with RESULT (stolen) and turn its connection into a stream of
 * notifications for OPS with ARG: it reads no more requests (lines sent
 * after are discarded), has no idle timeout, and ends with ctl_stream_end
 * or when the client goes.  NULL when the caller is gone already (the
 * result is dropped; OPS are never called).
 */
struct ctl_stream *ctl_stream_start(struct ctl_req *, json_t *,
		     const struct ctl_stream_ops *, void *);
/* May the producer send more now?  0 once the unread output reaches the
 * bound: OPS->writable is then called when the client has read it down. */
int		 ctl_stream_room(struct ctl_stream *);
/* Queue one notification: METHOD with PARAMS (stolen). */
void		 ctl_stream_notify(struct ctl_stream *, const char *, json_t *);
/* Queue one line already made (LEN bytes of JSON, without its newline). */
void		 ctl_stream_write(struct ctl_stream *, const char *, size_t);
/* Unread bytes of the stream's output. */
size_t		 ctl_stream_unread(struct ctl_stream *);
/* The final notification (METHOD with PARAMS, stolen; NULL method: none),
 * then close once written; the stream is gone when this returns. */
void		 ctl_stream_end(struct ctl_stream *, const char *, json_t *);
/* Parse one request line (LEN bytes without its newline; a trailing CR
 * is dropped) as the server does.  0: a blank line.  1: *MSG is a
 * well-formed request.  -1: *ERROR is the error object to answer and
 * *MSG the parsed value (its "id" answers) or NULL.  The caller frees
 * both (new references). */
int		 ctl_request_parse(const char *, size_t, json_t **, json_t **);

/* method-table.c */
/* Every noun's table, in help order; NULL-terminated. */
extern const struct ctl_method *const ctl_method_tables[];
const struct ctl_method *ctl_method_find(const char *);
/* Resolve "sched" "cr" to "schedule.create" (unique prefixes; the verbs
 * ls, rm and show mean list, delete and get).  NULL and *cause. */
const struct ctl_method *ctl_method_match(const char *, const char *,
		     char **);
/* The same over a NULL-terminated list of NULL-name terminated tables. */
const struct ctl_method *ctl_method_match_in(const struct ctl_method *const *,
		     const char *, const char *, char **);
void		 ctl_method_foreach(void (*)(const struct ctl_method *,
		     void *), void *);
/* The noun a unique prefix stands for in TABLES: a method name of that
 * noun (borrowed) and the noun's length, or NULL and *cause. */
const char	*ctl_method_noun_in(const struct ctl_method *const *,
		     const char *, size_t *, char **);

/* method-events.c: the kinds filter of events.watch.  A pattern is an
 * exact kind ("run.started"), or a prefix: one ending in "." matches the
 * kinds that begin with it, one ending in "*" those that begin with what
 * comes before the "*" ("*" alone: every kind). */
struct ctl_kinds;
/* Parse KINDS (a JSON array of patterns): a new filter, or NULL and an
 * allocated *cause naming the bad entry. */
struct ctl_kinds *ctl_kinds_parse(json_t *, char **);
/* Does KIND match one of the patterns? */
int		 ctl_kinds_match(const struct ctl_kinds *, const char *);
void		 ctl_kinds_free(struct ctl_kinds *);

/* method-schedule.c, method-run.c, method-daemon.c, method-account.c,
 * method-prefs.c, method-budget.c, method-batch.c, method-events.c:
 * NULL-name terminated */
extern const struct ctl_method ctl_methods_schedule[];
/* What one entry of schedule.apply's "schedules" may hold: the daemon
 * checks each entry against its table as the server checks params. */
extern const struct ctl_method ctl_schedule_apply_entry;
extern const struct ctl_method ctl_methods_run[];
extern const struct ctl_method ctl_methods_daemon[];
extern const struct ctl_method ctl_methods_account[];
extern const struct ctl_method ctl_methods_prefs[];
extern const struct ctl_method ctl_methods_notify[];
extern const struct ctl_method ctl_methods_budget[];
extern const struct ctl_method ctl_methods_batch[];
extern const struct ctl_method ctl_methods_webhook[];
extern const struct ctl_method ctl_methods_journal[];
extern const struct ctl_method ctl_methods_subscription[];
extern const struct ctl_method ctl_methods_events[];
extern const struct ctl_method ctl_methods_token[];
extern const struct ctl_method ctl_methods_suppression[];
extern const struct ctl_method ctl_methods_email[];
extern const struct ctl_method ctl_methods_analytics[];

/* print.c: chimectl's human output. */
void		 print_result(FILE *, const struct ctl_method *, json_t *);
/* Width of the human tables unless chimectl --wide. */
#define PRINT_TABLE_WIDTH	100
/* print_result, narrowing a table's shrinkable columns (a "NAME~" in the
 * method's columns) to fit in the width (0: no limit). */
void		 print_result_fit(FILE *, const struct ctl_method *, json_t *,
		     size_t);
void		 print_error(FILE *, json_t *);
/* analytics.trends' series as a line of block characters (the largest
 * value the full block), then "(max N)". */
void		 print_sparkline(FILE *, json_t *);
/* "usage: chimectl NOUN VERB ARGS [--flag VALUE]..." on one line. */
void		 print_usage(FILE *, const struct ctl_method *);
/* The usage line, then one line per parameter with its type and help. */
void		 print_method_help(FILE *, const struct ctl_method *);
/* chimectl batch watch on a terminal: the status block of a batch
 * (batch.get's result, the running operations from batch.ops or NULL,
 * the time now), its lines cut to the width; returns the line count. */
int		 print_batch_block(FILE *, json_t *, json_t *, int64_t, size_t);
/* Elsewhere: one line that changes only when the batch does. */
void		 print_batch_line(FILE *, json_t *);
/* chimectl watch on a terminal: one line for an event (the export
 * object): time, seq, kind, account and a short summary of the body, cut
 * to WIDTH columns (0: no limit). */
void		 print_event_line(FILE *, json_t *, size_t);

#endif /* CHIME_CTL_H */
