/*
 * engine/engine.h: the event loop, the actor runtime, timers, logging,
 * memory helpers, executors and the catalog.
 *
 * Structs first, then one prototype section per .c file, in the order of
 * Makefile.am.  Instants are int64_t microseconds since the Unix epoch (UTC);
 * money is int64_t micro-dollars.
 */
#ifndef CHIME_ENGINE_H
#define CHIME_ENGINE_H

#include <sys/types.h>
#include <sys/queue.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <jansson.h>
/* Buffers start small: most packs are a few hundred bytes, and an 8 KB
 * first allocation is one malloc's small caches do not hold. */
#ifndef MSGPACK_SBUFFER_INIT_SIZE
#define MSGPACK_SBUFFER_INIT_SIZE	512
#endif
#include <msgpack.h>

#ifndef CHIME_VERSION
#define CHIME_VERSION "0.0.0"
#endif

#define USEC_PER_SEC	1000000LL
#define USD_MAX		1000000000000LL	/* dollars: the largest amount parsed */
#define USEC_PER_MSEC	1000LL

#define printflike(a, b) __attribute__((format(printf, a, b)))
#define deadfunc __attribute__((noreturn))

/* Trace bits, switched at run time (--trace journal,sched,...). */
#define TRACE_JOURNAL	0x01
#define TRACE_SCHED	0x02
#define TRACE_HTTP	0x04
#define TRACE_CTL	0x08
#define TRACE_EXEC	0x10
#define TRACE_ALL	0xff

enum log_level {
	LOG_LEVEL_ERROR,
	LOG_LEVEL_WARN,
	LOG_LEVEL_INFO,
	LOG_LEVEL_DEBUG,
};

/*
 * Actors.  An actor is embedded at the start of a larger struct (a schedule,
 * a batch).  Mail is handled on the loop, at most ACTOR_TURN messages per
 * actor per turn.  Actors are reference counted; the last actor_unref frees
 * the actor from the loop, never inside its own handler.
 */
struct msg {
	int			 type;
	uint64_t		 arg;		/* small payload */
	void			*ptr;		/* owned by the message */
	void			(*ptr_free)(void *);
	STAILQ_ENTRY(msg)	 entry;
};
STAILQ_HEAD(msg_queue, msg);

struct actor;
struct actor_type {
	const char	*name;
	void		 (*handle)(struct actor *, struct msg *);
	void		 (*free)(struct actor *);
};

#define ACTOR_QUEUED	0x1	/* on the run queue */
#define ACTOR_DEAD	0x2	/* killed; further mail is dropped */
#define ACTOR_FREEING	0x4	/* on the deferred free list */
struct actor {
	const struct actor_type	*type;
	uint32_t		 refs;
	uint32_t		 flags;
	struct msg_queue	 mailbox;
	TAILQ_ENTRY(actor)	 runq;
};

/* Message types shared by every actor. */
#define MSG_TIMER	1	/* a timer fired; arg is the timer's arg */
#define MSG_USER	16	/* first type an actor kind defines */

/*
 * A string-keyed hash map with the node embedded in the caller's struct
 * (intrusive): no allocation per entry beyond the caller's own.
 */
struct strmap_node {
	struct strmap_node	*next;
	const char		*key;	/* borrowed from the containing struct */
	uint32_t		 hash;
};
struct strmap {
	struct strmap_node	**buckets;
	size_t			 nbuckets;
	size_t			 count;
};

/*
 * Executors.  A request and a result are the same for every executor (exec
 * now, http later).  Strings in a request are borrowed for the call only.
 */
struct exec_request {
	const char	*run_id;
	const char	*operation;
	const char	*account;
	const char	*model;
	const char	*parameters;	/* a JSON object, as text */
	int64_t		 deadline_ms;	/* budget for this attempt */
};

enum exec_status {
	EXEC_SUCCESS,
	EXEC_FAILED,		/* non-zero exit, bad output, 4xx, ... */
	EXEC_TIMEOUT,		/* killed at its deadline */
	EXEC_CANCELLED,		/* aborted by the caller */
};

/* Everything allocated; exec_result_free frees it. */
struct exec_result {
	enum exec_status	 status;
	char			*error;		/* NULL on success */
	char			*result;	/* JSON text of "result", bounded */
	char			*model;		/* model the executor reports */
	int64_t			 input_tokens;	/* -1 when not reported */
	int64_t			 output_tokens;
	int64_t			 cost_micro;	/* -1 when not reported */
	int			 exit_code;	/* exec: exit status, or -signal */
	int64_t			 duration_us;
	int			 http_status;	/* http: last status, 0 if none */
	int			 retryable;	/* a later attempt may succeed
						   (exec: always; http: 5xx,
						   429, timeouts, connect) */
	int64_t			 retry_after_ms; /* server asked to wait; -1 */
};
typedef void (*exec_done_cb)(struct exec_result *, void *);

/*
 * An executor: one entry of executor.c's table per enum executor_kind.
 * start begins one attempt (numbered from 1) of an operation for a request
 * and returns its job, whose callback runs once on the loop when it ends
 * (never inside start or abort); or NULL with *cause set when nothing was
 * started.  abort ends a job early: its callback still runs, once, with
 * EXEC_CANCELLED.  running counts jobs started and not yet ended.
 */
struct operation;
struct job;
struct executor {
	const char	*name;		/* as the catalog spells it */
	struct job	*(*start)(const struct operation *,
			    const struct exec_request *, int, exec_done_cb,
			    void *, char **);
	void		 (*abort)(struct job *);
	int		 (*running)(void);
};
/* The head of every executor's job (its first member): who runs it. */
struct job {
	const struct executor	*executor;
};

/* How a command of exec_run ended; borrowed for its callback. */
struct exec_output {
	int		 ok;		/* exited 0, in time, within bounds */
	const char	*out;		/* stdout */
	size_t		 out_len;
	char		*error;		/* why not ok: never the output */
};
typedef void (*exec_output_cb)(const struct exec_output *, void *);

/* The catalog: operations and models (JSON, see doc/catalog.md). */
enum executor_kind {
	EXECUTOR_EXEC,
	EXECUTOR_HTTP,
	EXECUTOR_MAX
};

struct model {
	char		*id;
	int64_t		 input_per_mtok;	/* micro-dollars per 1M tokens */
	int64_t		 output_per_mtok;
	char		*description;		/* NULL when not given */
};

struct retry_policy {
	int		 attempts;		/* total attempts, >= 1 */
	int64_t		 backoff_ms;		/* first delay */
	int64_t		 max_backoff_ms;
};

struct operation {
	char			*id;
	enum executor_kind	 executor;
	char			**argv;		/* exec: NULL-terminated */
	char			**env;		/* exec: names of the daemon's
						   variables it gets, or NULL */
	char			*url;		/* http */
	char			*secret_ref;	/* http: signing key, or NULL */
	int64_t			 connect_timeout_ms;	/* http */
	int64_t			 max_response;	/* http: body bytes */
	int64_t			 timeout_ms;
	struct retry_policy	 retry;
	int64_t			 input_tokens[3];	/* low, mid, high */
	int64_t			 output_tokens[3];
	char			*default_model;
	int			 idempotent;
	char			*description;
};

/* Reference counted: runs in flight keep the catalog they started with. */
struct catalog {
	unsigned		 refs;
	struct operation	*ops;
	size_t			 nops;
	struct model		*models;
	size_t			 nmodels;
	char			*source;	/* path, or "(built-in)" */
};

/*
 * Replies (reply.c): a transport-neutral answer to a request, with the
 * caller's identity.  The transport fills in OPS and CALLER.
 */
struct caller {
	uid_t	uid;		/* (uid_t)-1: not a local process */
	gid_t	gid;
	pid_t	pid;
	int	admin;		/* root or the daemon's own uid, or an admin
				   token */
	/* A caller by token (the HTTP API): the token's id, its account
	   (empty for an admin token) and a read-only scope.  token[0] 0:
	   a caller on the socket, known by its uid. */
	char	token[24];
	char	account[65];
	int	readonly;
};
/* The uid a record says did it: -1 for a caller that is not a process
 * (a token, a signature). */
#define CALLER_UID(c)	((c)->uid == (uid_t)-1 ? -1 : (int64_t)(c)->uid)
enum reply_kind {
	REPLY_INVALID,		/* bad parameters: data.field, data.reason */
	REPLY_NOT_FOUND,
	REPLY_CONFLICT,		/* exists already, wrong state, busy */
	REPLY_FORBIDDEN,
	REPLY_BUDGET,		/* a cost cap would be passed */
	REPLY_OVERLOADED,	/* a limit was reached; try again */
	REPLY_UNAVAILABLE,	/* draining, the journal cannot write */
	REPLY_INTERNAL,
	REPLY_KIND_MAX
};
struct reply;
struct reply_ops {
	void	(*ok)(struct reply *, json_t *);	/* steals */
	void	(*fail)(struct reply *, enum reply_kind, const char *,
		    json_t *);				/* steals data */
	int	(*waiting)(struct reply *);		/* NULL: always */
	void	(*recorded)(struct reply *, json_t *);	/* steals; NULL:
							   refuse */
};
/* Why a request is refused: static strings; FIELD and REASON may be NULL. */
struct refusal {
	enum reply_kind	 kind;
	const char	*message;
	const char	*field;
	const char	*reason;
};
struct reply {
	const struct reply_ops	*ops;
	struct caller		 caller;
};

/* Global daemon context, set up by main.c. */
struct journal;
struct ctl_server;
struct engine {
	struct event_base	*base;
	struct journal		*journal;
	struct catalog		*catalog;
	struct ctl_server	*ctl;
	char			*data_dir;
	char			*catalog_path;	/* NULL: built-in sample */
	int64_t			 started_us;
	int			 draining;
	int			 max_running;
	int64_t			 drain_timeout_ms;
	int64_t			 claim_ahead_us; /* timed fires claimed this
						    long before their instant
						    (0: at it) */
	uid_t			 uid;		/* the daemon's own uid */
};
extern struct engine *engine;

/* log.c */
extern int	log_trace_bits;
void		log_open(const char *, enum log_level);
void		log_set_level(enum log_level);
enum log_format {
	LOG_FORMAT_LOGFMT,	/* key=value pairs a line */
	LOG_FORMAT_JSON		/* one JSON object a line */
};
int		log_parse_format(const char *, enum log_format *);
void		log_set_format(enum log_format);
int		log_parse_level(const char *, enum log_level *);
int		log_parse_trace(const char *, int *);
void		log_debug(const char *, ...) printflike(1, 2);
void		log_info(const char *, ...) printflike(1, 2);
void		log_warn(const char *, ...) printflike(1, 2);
void		log_warnx(const char *, ...) printflike(1, 2);
void		log_trace(int, const char *, ...) printflike(2, 3);
deadfunc void	fatal(const char *, ...) printflike(1, 2);
deadfunc void	fatalx(const char *, ...) printflike(1, 2);
void		log_route_libevent(void);
const char	*log_escape(const char *);

/* xmalloc.c: never return NULL (fatal on exhaustion). */
void		*xmalloc(size_t);
void		*xcalloc(size_t, size_t);
void		*xreallocarray(void *, size_t, size_t);
char		*xstrdup(const char *);
char		*xstrndup(const char *, size_t);
int		 xasprintf(char **, const char *, ...) printflike(2, 3);
int		 xvasprintf(char **, const char *, va_list);

/* util.c */
int64_t		 now_us(void);		/* CLOCK_REALTIME */
int64_t		 mono_us(void);		/* CLOCK_MONOTONIC */
void		 timeout_add_us(struct event *, int64_t);
char		*fmt_rfc3339(int64_t, char *, size_t);	/* UTC, "...Z" */
char		*fmt_rfc3339_ms(int64_t, char *, size_t);
int		 parse_rfc3339(const char *, int64_t *);
int		 hex_digit(int);		/* its value, or -1 */
int		 write_all(int, const char *, size_t);
void		 xqsort(void *, size_t, size_t,
		    int (*)(const void *, const void *));
int		 parse_usd(const char *, int64_t *);	/* "1.25" -> 1250000 */
int		 parse_usd_json(const json_t *, int64_t *);	/* string or number */
int64_t		 money_add(int64_t, int64_t);
char		*fmt_usd(int64_t, char *, size_t);	/* 1250000 -> "1.250000" */
int		 parse_duration(const char *, int64_t *);	/* "90s" "5m" "1h" -> us */
int		 valid_id(const char *);	/* [A-Za-z0-9._-]{1,64} */
void		 random_id(const char *, char *, size_t);	/* prefix + 12 base32 */
/* N such ids at once (one draw of randomness), each in LEN bytes from
 * BUF + i * LEN. */
void		 random_ids(const char *, char *, size_t, size_t);
void		 random_ids_sorted(const char *, char *, size_t, size_t);
int		 mkdir_p(const char *, mode_t);

/* reply.c */
const char	*reply_kind_name(enum reply_kind);
void		 reply_ok(struct reply *, json_t *);
void		 reply_fail(struct reply *, enum reply_kind, const char *,
		     const char *, const char *);
void		 reply_fail_data(struct reply *, enum reply_kind, const char *,
		     json_t *);
void		 reply_invalid(struct reply *, const char *, const char *);
void		 reply_refuse(struct reply *, const struct refusal *);
void		 reply_refuse_recorded(struct reply *, const struct refusal *,
		     json_t *);
const struct caller *reply_caller(const struct reply *);
int		 reply_waiting(struct reply *);

/* params.c: typed getters of checked parameters (1 and *out if present,
 * 0 if absent), and the conversions behind the checks (-1: not one). */
int		 param_value_duration(json_t *, int64_t *);
const char	*param_string(json_t *, const char *);
int		 param_int(json_t *, const char *, int64_t *);
int		 param_bool(json_t *, const char *, int *);
int		 param_usd(json_t *, const char *, int64_t *);
int		 param_duration(json_t *, const char *, int64_t *);
int		 param_time(json_t *, const char *, int64_t *);

/* intern.c: shared, counted copies of strings (never free()d) */
char		*intern(const char *);
char		*intern_n(const char *, size_t);
char		*intern_ref(char *);
void		 intern_drop(char *);
size_t		 intern_count(void);
void		 intern_share(int);

/* strmap.c */
void		 strmap_init(struct strmap *);
void		 strmap_clear(struct strmap *);	/* frees buckets only */
struct strmap_node *strmap_find(struct strmap *, const char *);
int		 strmap_insert(struct strmap *, struct strmap_node *, const char *);
void		 strmap_insert_new(struct strmap *, struct strmap_node *,
		     const char *);
void		 strmap_reserve(struct strmap *, size_t);
void		 strmap_prefetch(const struct strmap *, const char *, int);
void		 strmap_remove(struct strmap *, struct strmap_node *);
/* Visit every node; the callback may not insert or remove. */
void		 strmap_foreach(struct strmap *,
		     void (*)(struct strmap_node *, void *), void *);

/* pack.c */
struct pack_buffer {
	msgpack_sbuffer	sbuf;
	msgpack_packer	pk;
};
/* A pair of a map for pack_map: KEY and a value of one kind. */
enum pack_kind {
	PACK_STR,	/* S, a string or NULL (nil) */
	PACK_INT,	/* I */
	PACK_BOOL,	/* I, true if not 0 */
	PACK_JSON,	/* S, a JSON text kept as a string ("{}" if NULL) */
	PACK_RAW,	/* S, I bytes of msgpack */
};
struct pack_pair {
	const char	*key;
	enum pack_kind	 kind;
	const char	*s;
	int64_t		 i;
};
#define PACK_PAIR_STR(k, v)	{ (k), PACK_STR, (v), 0 }
#define PACK_PAIR_INT(k, v)	{ (k), PACK_INT, NULL, (v) }
#define PACK_PAIR_BOOL(k, v)	{ (k), PACK_BOOL, NULL, (v) }
#define PACK_PAIR_JSON(k, v)	{ (k), PACK_JSON, (v), 0 }
#define PACK_PAIR_RAW(k, p, n)	{ (k), PACK_RAW, (const char *)(p), \
				    (int64_t)(n) }
void		 pack_map(msgpack_packer *, const struct pack_pair *, size_t);
/* pack_map of every pair of array V. */
#define PACK_MAP(pk, v)	pack_map((pk), (v), sizeof (v) / sizeof (v)[0])
void		 pack_str(msgpack_packer *, const char *);
void		 pack_kstr(msgpack_packer *, const char *, const char *);
void		 pack_kint(msgpack_packer *, const char *, int64_t);
void		 pack_kbool(msgpack_packer *, const char *, int);
void		 pack_kjson(msgpack_packer *, const char *, const char *);
void		 pack_raw(msgpack_packer *, const void *, size_t);
/* Packs a map's entries (keys and values in turn) into the packer. */
typedef void	 (*pack_entries_fn)(msgpack_packer *, const void *);
void		 pack_map_counted(msgpack_packer *, pack_entries_fn,
		     const void *);
/* Bytes packed on the stack while they are few, on the heap beyond (a
 * pack_buffer allocates 8 KiB at its first byte): pack_scratch_init sets
 * up PK to write into it, DATA and LEN are what was packed, and
 * pack_scratch_clear frees what the heap holds. */
struct pack_scratch {
	char	 stack[1024];
	char	*data;
	size_t	 len;
	size_t	 cap;
};
void		 pack_scratch_init(struct pack_scratch *, msgpack_packer *);
void		 pack_scratch_clear(struct pack_scratch *);
const msgpack_object *unpack_get(const msgpack_object *, const char *);
char		*unpack_strdup(const msgpack_object *, const char *);
int64_t		 unpack_int(const msgpack_object *, const char *, int64_t);
void		 unpack_index(const msgpack_object *, const char *const *,
		     size_t, const msgpack_object **);
char		*unpack_val_strdup(const msgpack_object *);
int64_t		 unpack_val_int(const msgpack_object *, int64_t);
void		 pack_buffer_init(struct pack_buffer *);
void		 pack_buffer_clear(struct pack_buffer *);
int		 unpack_buffer(const void *, size_t, msgpack_unpacked *);
/* Reading packed bytes in place, one value at a time (no objects): each
 * call takes one value; one of another type is skipped whole (-1, or DEF
 * for an integer).  ERR: the bytes were not msgpack, or ended too soon. */
struct unpack_cursor {
	const uint8_t	*p;
	const uint8_t	*end;
	int		 err;
};
void		 unpack_cursor_init(struct unpack_cursor *, const void *,
		     size_t);
int		 unpack_next_map(struct unpack_cursor *, uint32_t *);
int		 unpack_next_array(struct unpack_cursor *, uint32_t *);
int		 unpack_next_str_any(struct unpack_cursor *, const char **,
		     uint32_t *);
int64_t		 unpack_next_int_any(struct unpack_cursor *, int64_t);
int		 unpack_next_scalar(struct unpack_cursor *, msgpack_object *);
void		 unpack_next_skip(struct unpack_cursor *);
/* The common short forms in line (a scan reads ~100 values a row). */
static inline int
unpack_next_str(struct unpack_cursor *c, const char **s, uint32_t *len)
{
	uint32_t	n;

	if (c->p < c->end && (*c->p & 0xe0) == 0xa0 &&
	    (n = *c->p & 0x1f) < (size_t)(c->end - c->p)) {
		*s = (const char *)c->p + 1;
		*len = n;
		c->p += 1 + n;
		return (0);
	}
	return (unpack_next_str_any(c, s, len));
}

static inline int64_t
unpack_next_int(struct unpack_cursor *c, int64_t def)
{
	if (c->p < c->end && *c->p <= 0x7f)
		return (*c->p++);
	return (unpack_next_int_any(c, def));
}

/* ordered.c: items worked on several cores, finished in order on the
 * caller's thread. */
struct ordered;
int		 ordered_workers(void);
struct ordered	*ordered_start(size_t, void (*)(void *, void *),
		     void (*)(void *, void *), void *, int);
void		*ordered_next(struct ordered *);
void		 ordered_flush(struct ordered *);
void		 ordered_end(struct ordered *);
int		 ordered_threads(const struct ordered *);

/* loop.c */
int		 engine_init(void);
void		 engine_free(void);
int		 engine_run(void);
/* Reload the catalog from its source; the old one stays on error. */
int		 engine_reload(char **);

/* actor.c */
void		 actor_init(struct actor *, const struct actor_type *);
void		 actor_ref(struct actor *);
void		 actor_unref(struct actor *);
void		 actor_kill(struct actor *);
struct msg	*msg_create(int, uint64_t, void *, void (*)(void *));
void		 msg_free(struct msg *);
void		 actor_send(struct actor *, struct msg *);
void		 actor_post(struct actor *, int, uint64_t);
void		 actor_runtime_init(struct event_base *);
void		 actor_runtime_free(void);
size_t		 actor_runtime_pending(void);

/*
 * heap.c: an intrusive binary heap.  An element embeds a struct heap_node
 * (its index in the heap, HEAP_NONE when not queued); BEFORE orders two
 * nodes; HEAP_ENTRY gets the element back from its node.  The heap's array
 * costs one pointer per queued element.
 */
#define HEAP_NONE	UINT32_MAX
#define HEAP_INITIALIZER(before, first_cap) \
	{ NULL, 0, 0, (first_cap), (before) }
#define HEAP_ENTRY(n, type, field) \
	((type *)(void *)((char *)(n) - offsetof(type, field)))
struct heap_node {
	uint32_t	 index;
};
typedef int (*heap_before_fn)(const struct heap_node *,
    const struct heap_node *);
struct heap {
	struct heap_node	**nodes;
	size_t			  len;
	size_t			  cap;
	size_t			  first_cap;
	heap_before_fn		  before;
};
void		 heap_init(struct heap *, heap_before_fn, size_t);
void		 heap_free(struct heap *);
void		 heap_node_init(struct heap_node *);
int		 heap_contains(const struct heap *, const struct heap_node *);
size_t		 heap_len(const struct heap *);
struct heap_node *heap_peek(const struct heap *);
void		 heap_push(struct heap *, struct heap_node *);
struct heap_node *heap_pop(struct heap *);
void		 heap_remove(struct heap *, struct heap_node *);
void		 heap_fix(struct heap *, struct heap_node *);

/*
 * timer.c: a heap (heap.c) of timers embedded in their owners (no
 * allocation per timer; 8 bytes of heap array per armed timer), with one
 * libevent timer armed for the earliest.  A fired timer posts MSG_TIMER
 * with its arg to its actor.  The owner cancels its timer before it is
 * freed.
 */
struct timer {
	int64_t		 when;		/* UTC microseconds */
	uint64_t	 arg;
	struct actor	*actor;
	struct heap_node node;		/* HEAP_NONE if idle */
	uint32_t	 seq;		/* the order it was set in (serial
					   numbers: compared within 2^31) */
};
void		 timer_runtime_init(struct event_base *);
void		 timer_runtime_free(void);
void		 timer_init(struct timer *, struct actor *);
void		 timer_set(struct timer *, int64_t, uint64_t);
void		 timer_cancel(struct timer *);
int		 timer_armed(const struct timer *);
size_t		 timer_count(void);
/* Statistics of the lag between a timer's instant and its firing. */
int64_t		 timer_last_lag_us(void);

/* signal.c */
void		 signal_init(struct event_base *, void (*)(void), void (*)(void));
void		 signal_free(void);

/* executor.c */
const struct executor *executor_find(enum executor_kind);
int		 executor_lookup(const char *, enum executor_kind *);
struct job	*executor_start(const struct operation *,
		     const struct exec_request *, int, exec_done_cb, void *,
		     char **);
void		 executor_abort(struct job *);
int		 executor_running(void);

/* exec.c */
struct exec_job;
extern const struct executor exec_executor;
struct exec_job	*exec_start(const struct operation *,
		     const struct exec_request *, exec_done_cb, void *,
		     char **);
struct exec_job	*exec_run(char *const *, int64_t, size_t, const char *,
		     exec_output_cb, void *, char **);
void		 exec_abort(struct exec_job *);
void		 exec_detach(struct exec_job *);
void		 exec_set_instance(const char *);
int		 exec_env_reserved(const char *, size_t);
int		 exec_kill_survivors(void);
void		 exec_result_free(struct exec_result *);
int		 exec_running(void);
void		 exec_runtime_init(struct event_base *);
void		 exec_runtime_free(void);
void		 exec_spawner_hold(int);	/* tests */
const char	*exec_status_name(enum exec_status);
/* Shared with the http executor. */
char		*exec_request_json(const struct operation *,
		     const struct exec_request *, int64_t, char **);
void		 exec_parse_output(const char *, size_t, struct exec_result *);
void		 exec_sanitize(char *);

/* catalog.c */
struct catalog	*catalog_load_file(const char *, char **);
struct catalog	*catalog_load_default(char **);
struct catalog	*catalog_parse(const char *, size_t, const char *, char **);
void		 catalog_ref(struct catalog *);
void		 catalog_unref(struct catalog *);
const struct operation *catalog_operation(const struct catalog *, const char *);
const struct model *catalog_model(const struct catalog *, const char *);
json_t		*catalog_to_json(const struct catalog *);
void		 catalog_prefetch_secrets(const struct catalog *);

/* catalog-default.c (generated from contrib/catalog.example.json) */
extern const char	catalog_default_json[];
extern const size_t	catalog_default_json_len;

/* slots.c: the global limit on operations running at once. */
struct slot_waiter {
	struct actor		*actor;		/* referenced while waiting */
	uint64_t		 arg;		/* delivered as MSG_SLOT's arg */
	int			 priority;	/* 1..10, higher first */
	int64_t			 since_us;
	uint64_t		 order;
	struct heap_node	 node;		/* HEAP_NONE if not waiting */
};
#define MSG_SLOT	2	/* a slot was granted; arg from the waiter */
void		 slots_init(int);
void		 slots_waiter_init(struct slot_waiter *);
void		 slots_free(void);
int		 slots_try_acquire(void);
void		 slots_wait(struct slot_waiter *, struct actor *, uint64_t, int);
void		 slots_wait_since(struct slot_waiter *, struct actor *, uint64_t,
		     int, int64_t);
void		 slots_cancel(struct slot_waiter *);
void		 slots_release(void);
int		 slots_in_use(void);
size_t		 slots_waiting(void);

/*
 * http.c: the HTTP executor.  One POST per call (one attempt; retries are
 * the caller's), on a libcurl multi handle driven by the loop.  Outbound
 * connections go through the address filter (addrfilter.c) with the
 * allowed CIDRs of the configuration.
 */
struct http_config {
	struct cidr	*allow;		/* exempt from the filter */
	size_t		 nallow;
};
#define HTTP_CONNECT_TIMEOUT_MS	10000
#define HTTP_MAX_RESPONSE	(1024 * 1024)
#define HTTP_RETRY_AFTER_MAX_MS	(3600 * 1000LL)
struct http_job;
extern const struct executor http_executor;
void		 http_config_init(struct http_config *);
int		 http_config_allow(struct http_config *, const char *, char **);
void		 http_config_clear(struct http_config *);
void		 http_runtime_init(struct event_base *,
		     const struct http_config *);
void		 http_runtime_free(void);
struct http_job	*http_start(const struct operation *,
		     const struct exec_request *, int, exec_done_cb, void *,
		     char **);
void		 http_abort(struct http_job *);
/* A POST of a body made elsewhere (subscriptions): see http_post. */
struct http_post {
	const char		*label;		/* for the log */
	const char		*url;
	const char		*body;
	size_t			 len;
	const char *const	*headers;	/* "Name: value", NULL-ended */
	int64_t			 timeout_ms;	/* 0: 60 s */
	size_t			 max_response;	/* 0: HTTP_MAX_RESPONSE */
};
struct http_job	*http_post(const struct http_post *, exec_done_cb, void *,
		     char **);
int		 http_url_check(const char *, char **);
/* A transfer of another protocol (smtp.c) on the same multi handle: the
 * callback gets the CURL easy handle, libcurl's CURLcode and ARG. */
struct http_other;
typedef void (*http_other_cb)(void *, int, void *);
struct http_other *http_other_start(void *, http_other_cb, void *);
void		 http_other_abort(struct http_other *);
int		 http_running(void);
int64_t		 http_retry_after(const char *, int64_t);

/*
 * mail.c: email messages as bytes, with no effects (addresses, subject
 * templates, the plain summary of a run, RFC 5322 messages, the
 * unsubscribe token).
 */
#define MAIL_ADDRESS_MAX	254
#define MAIL_SUBJECT_MAX	200
#define MAIL_MESSAGE_MAX	(10 * 1024 * 1024)
#define MAIL_TOKEN_LEN		43
struct mail_attachment {
	const char		*name;
	const char		*content_type;
	const unsigned char	*data;
	size_t			 len;
};
struct mail_message {
	const char			*from;		/* an address */
	const char			*from_name;	/* or NULL */
	const char			*to;
	const char			*subject;	/* UTF-8 */
	const char			*text;
	const char			*html;
	const struct mail_attachment	*attachments;
	size_t				 nattachments;
	const char			*message_id;	/* without <> */
	int64_t				 date_us;
	const char			*unsubscribe_url; /* or NULL */
};
/* What the plain summary of a run shows (borrowed). */
struct mail_summary {
	const char	*schedule;
	const char	*account;
	const char	*run_id;
	const char	*operation;
	const char	*status;
	const char	*error;		/* or NULL */
	const char	*result;	/* JSON text, or NULL */
	int64_t		 cost_micro;	/* -1: unknown */
	int64_t		 finished_us;
};
int		 mail_address_check(const char *, const char **);
int		 mail_subject_check(const char *, const char **);
char		*mail_subject(const char *, const struct mail_summary *);
char		*mail_html_escaped(const char *);
void		 mail_summary_render(const struct mail_summary *, char **,
		     char **);
int		 mail_attachment_check(const char *, const char *,
		     const char **);
int		 mail_build(const struct mail_message *, char **, size_t *,
		     char **);
void		 mail_unsubscribe_token(const unsigned char *, size_t,
		     const char *, const char *, char [MAIL_TOKEN_LEN + 1]);
char		*mail_unsubscribe_url(const char *, const char *, const char *,
		     const char *);

/*
 * smtp.c: one message to one recipient through the admin's relay, on the
 * http executor's multi handle; 5xx final, anything else transient.
 */
struct smtp_config {
	char		*url;		/* smtp:// (STARTTLS) or smtps:// */
	char		*user;		/* or NULL */
	char		*password_ref;	/* a secret reference, or NULL */
	char		*from;		/* envelope and From address */
	char		*from_name;	/* or NULL */
	char		*ca_file;	/* or NULL: the system's */
	int		 insecure;	/* smtp:// to loopback without TLS */
	int64_t		 timeout_ms;	/* 0: 60 s */
};
struct smtp_outcome {
	int		 code;		/* the relay's last reply, 0: none */
	int		 transient;	/* worth trying again */
	const char	*error;		/* NULL when sent */
};
struct smtp_job;
typedef void (*smtp_done_cb)(const struct smtp_outcome *, void *);
int		 smtp_loopback(const char *);
int		 smtp_config_check(const struct smtp_config *, char **);
struct smtp_job	*smtp_send(const struct smtp_config *, const char *,
		     const char *, size_t, smtp_done_cb, void *);
void		 smtp_abort(struct smtp_job *);

/*
 * addrfilter.c: the address filter of outbound calls.  Loopback, private,
 * link-local, unspecified, multicast and reserved addresses (and the IPv6
 * forms embedding them) are refused unless inside an allowed CIDR.
 */
struct sockaddr;
struct cidr {
	int		 family;	/* AF_INET or AF_INET6 */
	uint8_t		 addr[16];	/* network order, host bits zero */
	int		 prefix;	/* 0..32 or 0..128 */
};
int		 addrfilter_cidr_parse(const char *, struct cidr *, char **);
int		 addrfilter_cidr_match(const struct cidr *,
		     const struct sockaddr *);
const char	*addrfilter_refused(const struct sockaddr *,
		     const struct cidr *, size_t);

/* sign.c: Standard Webhooks signatures, outbound and inbound, and the
 * HMAC-SHA256 under them. */
#define SIGN_HMAC_LEN	32
struct iovec;
void		 sign_hmac_sha256(const void *, size_t, const struct iovec *,
		     size_t, uint8_t[SIGN_HMAC_LEN]);
int		 sign_standard_key(const unsigned char *, size_t,
		     unsigned char **, size_t *, char **);
char		*sign_standard(const unsigned char *, size_t, const char *,
		     int64_t, const char *, size_t);

/*
 * secret.c: secret references (env:NAME, file:/PATH, exec:COMMAND,
 * generated:NAME).  Secrets are never logged or journalled; only exec:
 * values are kept, in memory, and read again in the background after a TTL.
 */
typedef void (*secret_ready_cb)(void *, const char *);
int		 secret_ref_check(const char *, char **);
int		 secret_resolve(const char *, unsigned char **, size_t *,
		     char **);
#define SECRET_FILE_NOFOLLOW	0x1	/* refuse a symbolic link */
#define SECRET_FILE_0600	0x2	/* mode exactly 0600 */
int		 secret_read_file(const char *, const char *, int,
		     unsigned char **, size_t *, char **);
int		 secret_prepare(const char *, secret_ready_cb, void *, char **);
int		 secret_admin_only(const char *);
void		 secret_free(unsigned char *, size_t);
void		 secret_cache_clear(void);
void		 secret_set_exec_ttl_ms(int64_t);
void		 secret_set_exec_timeout_ms(int64_t);
void		 secret_set_data_dir(const char *);
int		 secret_generate(const char *, const char *, char **, char **);
int		 secret_remove(const char *, const char *, char **);
void		 secret_fingerprint(const unsigned char *, size_t, char [65]);

/*
 * http-server.c: the HTTP listener (evhttp on the loop): GET /healthz,
 * GET /readyz, GET /metrics, and routes other modules add, within the
 * limits of struct httpd_limits (defaults below).
 */
#define HTTPD_DEFAULT_ADDRESS	"127.0.0.1:8470"
#define HTTPD_MAX_BODY		(1024 * 1024)
#define HTTPD_MAX_HEADERS	(16 * 1024)
#define HTTPD_MAX_CONNECTIONS	1024
#define HTTPD_TIMEOUT_S		30
struct httpd_limits {
	size_t	max_body;	/* bytes of a request body: 413 past it */
	size_t	max_headers;	/* bytes of the request headers */
	size_t	max_connections; /* connections open: 503 past */
	int	timeout_s;	/* to read a request whole (from the accept,
				   or the end of the last answer), to write */
};
#define HTTPD_READY_STALE_US	(2 * USEC_PER_SEC)
/* Methods a route allows (evhttp's EVHTTP_REQ_* bits). */
#define HTTPD_GET		0x01	/* GET and HEAD */
#define HTTPD_POST		0x02
#define HTTPD_DELETE		0x04
struct httpd;
struct evhttp_request;
typedef void (*httpd_cb)(struct evhttp_request *, const char *, void *);
/* A request to a route that the listener answered itself before the route
 * saw it (413 past max_body, 400 malformed): the REST of its path, the
 * STATUS sent, a REASON and the peer's ADDRESS (all borrowed), ARG. */
typedef void (*httpd_refused_cb)(const char *, int, const char *,
		     const char *, void *);
int		 httpd_parse_address(const char *, char **, uint16_t *,
		     char **);
void		 httpd_limits_default(struct httpd_limits *);
struct httpd	*httpd_start(struct event_base *, const char *, uint16_t,
		     const struct httpd_limits *, char **);
struct httpd	*httpd_start_fd(struct event_base *, int,
		     const struct httpd_limits *, char **);
void		 httpd_free(struct httpd *);
const char	*httpd_address(const struct httpd *);
const char	*httpd_listening(void);
size_t		 httpd_connections(void);
int		 httpd_route(struct httpd *, const char *, int, httpd_cb,
		     void *, char **);
int		 httpd_route_refusals(struct httpd *, const char *,
		     httpd_refused_cb, void *, char **);
int		 httpd_ready(const char **);
void		 httpd_set_ready_hook(int (*)(const char **));
void		 httpd_reply(struct evhttp_request *, int, const char *,
		     const char *, size_t);
/*
 * An answer in chunks (200, Content-Type CTYPE, no caching) for as long as
 * the route has something to say: NULL if REQ's connection is not one the
 * listener knows.  DRAINED(ARG) runs when the connection has written out
 * what was queued; CLOSED(ARG) when the connection goes (the client left,
 * a write failed, the listener closes): the stream is gone then, and
 * neither is called again.  httpd_stream_end sends the last chunk (the
 * stream is gone after it).
 */
struct httpd_stream;
struct httpd_stream *httpd_stream_start(struct evhttp_request *,
		     const char *, void (*)(void *), void (*)(void *), void *);
void		 httpd_stream_write(struct httpd_stream *, const char *,
		     size_t);
size_t		 httpd_stream_unread(struct httpd_stream *);
void		 httpd_stream_end(struct httpd_stream *);
/* Connections with an answer not written out yet (a drain waits for
 * them, as for the control socket's last words). */
size_t		 httpd_flushing(void);

/*
 * metrics.c: a metrics registry and its Prometheus text exposition.  Loop
 * thread only.  Counter names end in _total; histograms take microseconds
 * and expose seconds.
 */
#define METRICS_MAX_LABELS	2
#define METRICS_FIRES		"chime_fires_total"
#define METRICS_RUNS		"chime_runs_total"
#define METRICS_RUN_SECONDS	"chime_run_duration_seconds"
#define METRICS_FIRE_LAG_SECONDS "chime_fire_lag_seconds"
#define METRICS_BUDGET_SKIPS	"chime_budget_skips_total"
#define METRICS_WEBHOOKS	"chime_webhook_requests_total"
#define METRICS_HTTP_REFUSED	"chime_http_refused_total"
#define METRICS_WEBHOOK_FOLDED	"chime_webhook_refusals_folded_total"
#define METRICS_COMMIT_SECONDS	"chime_journal_commit_duration_seconds"
int		 metrics_counter(const char *, const char *,
		     const char *const *, size_t, char **);
int		 metrics_callback(const char *, const char *, int,
		     const char *, const char *, double (*)(void *), void *,
		     char **);
int		 metrics_histogram(const char *, const char *, const int64_t *,
		     size_t, char **);
typedef void (*metrics_emit_fn)(void *, const char *const *, double);
typedef void (*metrics_collect_fn)(metrics_emit_fn, void *);
int		 metrics_collector(const char *, const char *,
		     const char *const *, size_t, metrics_collect_fn, char **);
void		 metrics_count(const char *, const char *, uint64_t);
void		 metrics_count_labels(const char *, const char *const *,
		     uint64_t);
void		 metrics_observe_us(const char *, int64_t);
uint64_t	 metrics_value(const char *, const char *);
char		*metrics_render(size_t *);
void		 metrics_free(void);

/*
 * merkle.c: Merkle trees as RFC 6962 and RFC 9162 (2.1) hash them, over
 * SHA-256: leaf SHA-256(0x00 || leaf), node SHA-256(0x01 || left ||
 * right), the tree over n leaves split at the largest power of two below
 * n, the empty tree SHA-256 of nothing.  Hashes are MERKLE_HASH_LEN bytes;
 * a proof is an array of at most MERKLE_PROOF_MAX of them, end to end,
 * in the RFC's order (from the leaf up).  Any thread.
 */
#define MERKLE_HASH_LEN		32
#define MERKLE_PROOF_MAX	65	/* 64 levels, and a consistency
					   proof's subtree of the old tree */
#define MERKLE_RANGE_MAX	64
/*
 * A compact range: the roots of the perfect subtrees that the binary form
 * of SIZE cuts the leaves into, largest (leftmost) first, one per bit set
 * in SIZE.  Plain data: what merkle_range_set takes back is SIZE and the
 * first popcount(SIZE) hashes.
 */
struct merkle_range {
	uint64_t	size;
	unsigned char	hash[MERKLE_RANGE_MAX][MERKLE_HASH_LEN];
};
/*
 * The hash of leaf INDEX into HASH (MERKLE_HASH_LEN bytes), given to the
 * functions that read many leaves; returns 0, or -1 with *cause set
 * (allocated), which ends the computation with that cause.
 */
typedef int (*merkle_leaf_cb)(uint64_t, unsigned char *, void *, char **);
/* The hash of the LEN bytes of a leaf at DATA into OUT. */
void		 merkle_leaf_hash(const void *, size_t, unsigned char *);
/* The hash of the node over LEFT and RIGHT into OUT (may be either). */
void		 merkle_node_hash(const unsigned char *,
		     const unsigned char *, unsigned char *);
/* The root of the tree of no leaves, SHA-256 of nothing, into OUT. */
void		 merkle_empty_root(unsigned char *);
/*
 * The root over leaves 0 to N - 1, each read once through CB (with ARG),
 * into OUT: O(N) hashes, O(log N) memory.  Returns 0, or -1 with the
 * callback's *cause.
 */
int		 merkle_root(uint64_t, merkle_leaf_cb, void *,
		     unsigned char *, char **);
/* An empty compact range. */
void		 merkle_range_init(struct merkle_range *);
/* Append one leaf's hash: O(1) hashes on average, O(log size) at most. */
void		 merkle_range_append(struct merkle_range *,
		     const unsigned char *);
/* The root over the range's leaves into OUT: O(log size) hashes. */
void		 merkle_range_root(const struct merkle_range *,
		     unsigned char *);
/*
 * Set the range to SIZE leaves from COUNT hashes end to end (a range's
 * hash[] as kept): returns 0, or -1 with *cause set when COUNT is not the
 * number of bits set in SIZE.  The hashes themselves cannot be checked.
 */
int		 merkle_range_set(struct merkle_range *, uint64_t,
		     const unsigned char *, size_t, char **);
/*
 * The inclusion proof (audit path) of leaf M in the tree of N leaves read
 * through CB and ARG, into PROOF (room for MERKLE_PROOF_MAX hashes), its
 * length into *COUNT: O(N) hashes, O(log N) memory.  Returns 0, or -1 with
 * *cause set when M >= N or from the callback.
 */
int		 merkle_inclusion_proof(uint64_t, uint64_t, merkle_leaf_cb,
		     void *, unsigned char *, size_t *, char **);
/*
 * Does PROOF (COUNT hashes) prove that the leaf of hash LEAF is leaf M of
 * the tree of N leaves with root ROOT?  Returns 0, or -1 with *cause set
 * (M >= N, a proof too long or too short, not leading to ROOT).
 */
int		 merkle_inclusion_verify(uint64_t, uint64_t,
		     const unsigned char *, const unsigned char *, size_t,
		     const unsigned char *, char **);
/*
 * The consistency proof from the tree of the first M leaves to the tree of
 * N, read through CB and ARG, into PROOF (room for MERKLE_PROOF_MAX
 * hashes), its length into *COUNT (0 when M is 0 or N): O(N) hashes.
 * Returns 0, or -1 with *cause set when M > N or from the callback.
 */
int		 merkle_consistency_proof(uint64_t, uint64_t, merkle_leaf_cb,
		     void *, unsigned char *, size_t *, char **);
/*
 * Does PROOF (COUNT hashes) prove that the tree of M leaves with root
 * ROOT_M is the start of the tree of N leaves with root ROOT_N?  With M 0
 * the proof must be empty; with M equal to N too, and the roots the same.
 * Returns 0, or -1 with *cause set.
 */
int		 merkle_consistency_verify(uint64_t, uint64_t,
		     const unsigned char *, const unsigned char *,
		     const unsigned char *, size_t, char **);

/*
 * note.c: signed notes (c2sp.org/signed-note) with Ed25519 keys, and the
 * checkpoint text they carry (c2sp.org/tlog-checkpoint).  A key has a name
 * (not empty, no Unicode space, no '+') and a 32-bit ID, the first 4 bytes
 * of SHA-256(name || "\n" || 0x01 || public key); its verifier key is the
 * text "name+ID in 8 hex digits+base64(0x01 || public key)".  Signers and
 * verifiers are read-only once made: any thread.
 */
#define NOTE_MAX_SIGNATURES	100	/* signature lines in a note */
struct note_signer;
struct note_verifier;
/* A checkpoint's text, parsed. */
struct note_checkpoint {
	char		*origin;	/* the log's identity */
	uint64_t	 size;		/* leaves in the tree */
	unsigned char	 root[MERKLE_HASH_LEN];
	char		*extensions;	/* lines after, "" when none */
};
/*
 * A new Ed25519 key named NAME (allocated; note_signer_free), or NULL with
 * *cause set when NAME cannot name a key.
 */
struct note_signer *note_signer_generate(const char *, char **);
/* The Ed25519 key named NAME of the 32-byte SEED (RFC 8032's private key). */
struct note_signer *note_signer_from_seed(const char *,
		     const unsigned char *, char **);
/*
 * The Ed25519 private key in the PEM file PATH (PKCS #8, not encrypted:
 * never a prompt), named NAME: the file is a regular one that neither the
 * group nor others may open.  Allocated, or NULL with *cause set.
 */
struct note_signer *note_signer_load(const char *, const char *, char **);
/*
 * Keep the private key in a new PEM file PATH of mode 0600, whole or not
 * at all (temporary file, fsync, link, fsync of the directory); an
 * existing PATH is never replaced.  Returns 0, or -1 with *cause set.
 */
int		 note_signer_save(const struct note_signer *, const char *,
		     char **);
void		 note_signer_free(struct note_signer *);
/* The key's name (borrowed: valid while the signer is) and ID. */
const char	*note_signer_name(const struct note_signer *);
uint32_t	 note_signer_id(const struct note_signer *);
/* The verifier key to publish, "name+hhhhhhhh+base64" (allocated). */
char		*note_signer_vkey(const struct note_signer *);
/*
 * The signed note of the LEN bytes of TEXT: TEXT, a blank line and the
 * key's signature line (allocated, NUL-terminated).  NULL with *cause set
 * when TEXT does not end in a newline or is not UTF-8 free of control
 * characters but the newline.
 */
char		*note_sign(const struct note_signer *, const char *, size_t,
		     char **);
/*
 * The verifier of the verifier key VKEY (allocated; note_verifier_free),
 * or NULL with *cause set when VKEY is malformed, not Ed25519, or its ID
 * is not its key's.
 */
struct note_verifier *note_verifier_parse(const char *, char **);
void		 note_verifier_free(struct note_verifier *);
const char	*note_verifier_name(const struct note_verifier *);
uint32_t	 note_verifier_id(const struct note_verifier *);
/*
 * The text of the signed note MSG (LEN bytes) if it carries a good
 * signature by V's key (allocated, NUL-terminated, ending in a newline).
 * Signatures by other keys are ignored.  NULL with *cause set when the
 * note is malformed (not UTF-8, a control character but the newline, no
 * blank line before the signatures, no final newline, a bad signature
 * line, more than NOTE_MAX_SIGNATURES), when V's key did not sign it, or
 * when its signature does not verify.
 */
char		*note_verify(const struct note_verifier *, const char *,
		     size_t, char **);
/*
 * A checkpoint's text: ORIGIN (a key name), SIZE in decimal, the base64
 * of ROOT, then EXTENSIONS (NULL, or lines each ending in a newline, none
 * empty).  Allocated, or NULL with *cause set.
 */
char		*note_checkpoint_format(const char *, uint64_t,
		     const unsigned char *, const char *, char **);
/*
 * The checkpoint in TEXT (LEN bytes, a note's text): allocated
 * (note_checkpoint_free), or NULL with *cause set when it is malformed.
 */
struct note_checkpoint *note_checkpoint_parse(const char *, size_t, char **);
void		 note_checkpoint_free(struct note_checkpoint *);

#endif /* CHIME_ENGINE_H */
