/*
 * actors/actors.h: time zones, the cron evaluator, the cost model,
 * accounts, runs and the schedule actor.
 *
 * Structs first, then one prototype section per .c file.
 */
#ifndef CHIME_ACTORS_H
#define CHIME_ACTORS_H

#include <sys/queue.h>
#include <sys/types.h>

#include <stdint.h>

#include "engine.h"
#include "journal.h"

/* ---- tz.c ---------------------------------------------------------------
 * IANA zones read from the system's TZif files (/usr/share/zoneinfo, or
 * $TZDIR), including the POSIX TZ rule in the footer for instants past the
 * last transition.  Zones are loaded once and shared (never freed while the
 * process runs).  "UTC" and "Etc/UTC" need no file.
 */
struct tz;

/* Broken-down local time, all fields plain integers. */
struct civil {
	int	year;
	int	month;		/* 1..12 */
	int	day;		/* 1..31 */
	int	hour;
	int	minute;
	int	second;
	int	wday;		/* 0 = Sunday */
};

/* ---- cron.c -------------------------------------------------------------
 * A parsed trigger expression: fixed size, no allocation, 40 bytes.
 */
#define CRON_HAS_SECONDS	0x01	/* six fields given */
#define CRON_DOM_STAR		0x02	/* day-of-month field began with '*' */
#define CRON_DOW_STAR		0x04	/* day-of-week field began with '*' */
#define CRON_LAST_DOM		0x08	/* "L": last day of the month */
#define CRON_WALL		0x10	/* wall-anchored (DESIGN.md) */
#define CRON_DOW_NTH		0x20	/* some "#" or "L" day-of-week item */
#define CRON_NTH_LAST		0x20	/* in nth[]: the last such weekday */
#define CRON_FIRST_UTC		(-62135596800LL) /* 0001-01-01T00:00:00Z */
#define CRON_LAST_UTC		253402300799LL	/* 9999-12-31T23:59:59Z */
#define CRON_CYCLE_YEARS	400	/* the Gregorian calendar's period, */
#define CRON_CYCLE_DAYS		146097	/* searched by cron_next */
struct cron {
	uint64_t	seconds;	/* bits 0..59 */
	uint64_t	minutes;	/* bits 0..59 */
	uint32_t	hours;		/* bits 0..23 */
	uint32_t	days;		/* bits 1..31 */
	uint16_t	months;		/* bits 1..12 */
	uint8_t		weekdays;	/* bits 0..6, 0 = Sunday */
	uint8_t		flags;
	uint8_t		nth[7];		/* by weekday: bit n-1 for "#n" (1..5),
					   CRON_NTH_LAST for "L" */
};

enum dst_tag {
	DST_NONE,
	DST_SHIFTED,		/* nominal time in a gap: moved to its end */
	DST_COALESCED,		/* several nominal times share one instant */
	DST_SUPPRESSED,		/* second pass of a repeated time: not fired */
};

struct cron_fire {
	int64_t		utc;		/* seconds since the epoch */
	struct civil	nominal;	/* the local wall time it stands for */
	enum dst_tag	tag;
};

/* A cron_fire's nominal time and tag in 10 bytes (a schedule keeps its
 * next one); its instant is kept apart (cron_fire_unpack).  Years end at
 * 9999 (CRON_LAST_UTC). */
struct cron_fire_packed {
	int16_t		year;
	uint8_t		month;
	uint8_t		day;
	uint8_t		hour;
	uint8_t		minute;
	uint8_t		second;
	uint8_t		wday;
	uint8_t		tag;		/* enum dst_tag */
};

/* ---- cost.c ------------------------------------------------------------- */
struct cost_range {
	int64_t	low;
	int64_t	mid;
	int64_t	high;
};


/* ---- account.c ----------------------------------------------------------
 * A tenant.  "default" exists from the first start.  Admin callers act for
 * any account; other uids only for accounts that list them.  Changes of an
 * account and of its preferences come one at a time per account (the
 * daemon orders them, daemon/methods.c), so that each record is built from
 * the state the one before it left.
 */
#define ACCOUNT_MAX_UIDS	1024
#define ACCOUNT_FROM_NAME_MAX	64	/* bytes of email_from_name */

struct account {
	struct strmap_node	 node;
	char			*name;
	uid_t			*uids;
	size_t			 nuids;
	int64_t			 monthly_budget;	/* 0: none */
	const struct tz		*tz;		/* of its budget months */
	char			*email_from_name; /* From:'s name, or NULL */
	int64_t			 created_us;
	int64_t			 updated_us;
};

/* ---- run.c --------------------------------------------------------------
 * One execution of an operation for a schedule (batches later).  Runs in
 * flight are owned by their schedule; ended runs live in the journal's
 * "runs" table (bounded per schedule) and the log (complete).
 */
enum run_status {
	RUN_PENDING,		/* claimed, waiting for a slot or a predecessor */
	RUN_RUNNING,
	RUN_SUCCESS,
	RUN_FAILED,
	RUN_SKIPPED,
	RUN_MISSED,
	RUN_INTERRUPTED,
	RUN_CANCELLED,
	RUN_STATUS_MAX
};

/* One attempt of a run at its executor. */
struct run_attempt {
	int64_t		 started_us;
	int64_t		 finished_us;
	int		 status;	/* enum exec_status */
	int		 http_status;
	char		*error;
};
#define RUN_ATTEMPTS_MAX	32

struct schedule;
struct httpd;
struct run {
	struct schedule		*sched;
	uint64_t		 number;
	char			*id;		/* "SCHEDULE:N" */
	enum run_status		 status;
	const char		*triggered_by;	/* static string */
	int64_t			 scheduled_for;	/* us; the nominal instant */
	struct civil		 nominal;	/* local wall time */
	enum dst_tag		 dst;
	int64_t			 created_us;
	int64_t			 started_us;
	int64_t			 finished_us;
	int64_t			 waited_us;	/* time spent waiting for a slot */
	int			 attempt;	/* 1-based */
	int			 queued;	/* waits for the previous run */
	struct cost_range	 estimate;
	int64_t			 cost;		/* actual, -1 until known */
	char			*model;
	int64_t			 input_tokens;
	int64_t			 output_tokens;
	char			*result;	/* JSON text, bounded */
	char			*error;
	char			*reason;	/* why skipped / missed */
	char			*idem_key;
	char			*parameters;	/* JSON object text */
	char			*operation;	/* frozen when the run began */
	char			*model_id;	/* catalog model: price, estimate */
	const char		*estimate_source; /* "catalog", "observed" */
	int			 estimate_samples;
	struct run_attempt	*attempts;
	int			 nattempts;
	int			 priority;
	int			 has_slot;
	int			 aborting;
	int			 awaiting;	/* a record names it as cb arg */
	int			 ahead;		/* claimed before its instant,
						   waits for it (retry_timer) */
	struct slot_waiter	 waiter;
	struct job		*job;		/* its executor's, while running */
	struct catalog		*catalog;	/* referenced while in flight */
	struct timer		 retry_timer;
	struct reply		*req;		/* the one waiting: answered when
						   it starts, or with refusal
						   once the record that settles
						   it is durable */
	struct refusal		 refusal;
	TAILQ_ENTRY(run)	 entry;
};
TAILQ_HEAD(run_list, run);

/* ---- schedule.c -------------------------------------------------------- */
enum trigger_kind {
	TRIGGER_CRON,
	TRIGGER_WEEKLY,
	TRIGGER_MONTHLY,
	TRIGGER_INTERVAL,
	TRIGGER_AT,
	TRIGGER_MANUAL,
	TRIGGER_WEBHOOK,	/* signed POST /v1/hooks/ID; no timed fire */
};
#define TRIGGER_KINDS		7
#define WEBHOOK_TOLERANCE_S_DEFAULT	300

enum overlap_policy {
	OVERLAP_SKIP,
	OVERLAP_QUEUE_ONE,
	OVERLAP_ALLOW,
	OVERLAP_CANCEL_PREVIOUS,
};
#define OVERLAP_KINDS		4

enum catchup_policy {
	CATCHUP_SKIP,
	CATCHUP_LATEST,
	CATCHUP_ALL,
};
#define CATCHUP_KINDS		3

enum schedule_state {
	SCHEDULE_ACTIVE,
	SCHEDULE_PAUSED,
	SCHEDULE_DELETED,	/* gone; freed when its last run ends */
	SCHEDULE_COMPLETED,	/* a one-shot ("at") whose instant is settled */
};
#define SCHEDULE_STATES		4

/*
 * Runs belong to an owner: a schedule, or a batch, which embeds a struct
 * schedule as its first member (its actor, id, account, priority, runs in
 * flight) and has hooks.  Schedules have no hooks.  The owner's actor type
 * says which (struct owner_type; OWNER_HOOKS).
 */
struct run_hooks {
	/* A run reached a final status (success, failed, skipped,
	 * cancelled, interrupted) and its final record was submitted. */
	void		 (*ended)(struct schedule *, struct run *);
	/* An extra cost cap checked before a run starts: NULL if the run
	 * may start, else the cap's name (a static string); the run is then
	 * recorded skipped with reason REASON_OF_CAP (see budget_reason). */
	const char	*(*budget)(struct schedule *, struct run *);
	/* Put the owner's own row into the record of run R (instead of the
	 * schedule "progress" row); R's status is the one being recorded. */
	void		 (*put_state)(struct schedule *, struct run *,
			     struct jrec *);
	/* The skip reason for the owner's cap ("batch_budget"). */
	const char	*budget_reason;
};

/* The actor type of an owner of runs, and its hooks (NULL: a schedule). */
struct owner_type {
	struct actor_type	 actor;		/* first */
	const struct run_hooks	*hooks;
};
#define OWNER_HOOKS(s) \
	(((const struct owner_type *)(const void *)(s)->actor.type)->hooks)

/*
 * Schedules as the run life cycle (dispatch.c, run-cycle.c, recover.c)
 * sees them, registered by schedule.c with dispatch_set_schedule_kind:
 * the life cycle calls schedules through this and nothing else, so
 * schedules sit above it (they call it, it does not call them).
 */
struct schedule_kind {
	/* The schedule with id ID, or NULL. */
	struct schedule	*(*lookup)(const char *);
	/* The first occurrence of S after T: its instant (0: none) and
	 * nominal details in *F. */
	int64_t		 (*next_after)(const struct schedule *, int64_t,
			     struct cron_fire *);
	/* Arm S's timer for its first occurrence after T. */
	void		 (*arm)(struct schedule *, int64_t);
	/* Arm S's timer for NEXT (details *F), its first occurrence after
	 * T as next_after found it already (0: none). */
	void		 (*arm_next)(struct schedule *, int64_t,
			     const struct cron_fire *);
	/* S has no occurrence left (a settled "at"): it completes. */
	void		 (*complete)(struct schedule *);
	/* A run of S was skipped by S's cap or the account's: S pauses
	 * ("budget_exceeded"). */
	void		 (*capped)(struct schedule *);
	/* Put S's "progress" row into REC. */
	void		 (*put_progress)(struct schedule *, struct jrec *);
};

/*
 * A kind of run owner other than schedules (batches), as dispatch sees
 * it, registered with dispatch_set_owner_kind: recovery finds an owner by
 * id, a schedule's template of one is checked through it, and the
 * occurrence of a schedule whose target is such a template fires through
 * it.  Dispatch knows nothing else of such owners.
 */
struct owner_kind {
	/* The owner with id ID, or NULL. */
	struct schedule	*(*lookup)(const char *);
	/* Check template TMPL for ACCOUNT: 0 and the mid estimate of one
	 * owner made from it in *MID, or -1 with *FIELD and *REASON
	 * (allocated). */
	int		 (*check)(const char *, const char *, char **, char **,
			     int64_t *);
	/* Occurrence T of schedule S: create and start an owner from S's
	 * template, its record claiming CLAIM; -1 with an allocated *CAUSE
	 * (nothing written). */
	int		 (*fire)(struct schedule *, int64_t, const char *,
			     char **);
	/* At start, once schedules are loaded: tell each schedule how many
	 * owners fired from its template are running. */
	void		 (*count)(void);
};

/*
 * What schedule.create and schedule.update set (schedule-config.c reads it
 * from their parameters): a schedule embeds one, and an update swaps in a
 * whole new one.  The members are listed once, here, for two views of the
 * same bytes in struct schedule: the whole (s->config) and each member by
 * its own name (s->operation).
 */
#define SCHEDULE_CONFIG_MEMBERS						\
	char			*name;					\
	char			*operation;				\
	char			*model;		/* override, or NULL */	\
	char			*parameters;	/* JSON object text */	\
	char			*trigger_text;	/* as given */		\
	char			*note;					\
	char			*batch_template; /* target: a batch */	\
	char			*webhook_secret_ref; /* webhook: secret */ \
	char			*deliver;	/* JSON text, or NULL */ \
	const struct tz		*tz;					\
	union {			/* by the trigger's kind: */	\
		struct cron	 cron;	/* cron, weekly, monthly */	\
		int64_t		 interval_us;				\
		int64_t		 at_us;					\
	};								\
	int64_t			 anchor_us;	/* interval origin */	\
	int64_t			 catchup_window_us;			\
	int64_t			 max_cost_month;	/* 0: no cap */	\
	int32_t			 webhook_tolerance_s; /* timestamps */	\
	uint16_t		 history;	/* runs kept */		\
	uint8_t			 trigger;	/* enum trigger_kind */	\
	uint8_t			 overlap;	/* enum overlap_policy */ \
	uint8_t			 overlap_limit;				\
	uint8_t			 catchup;	/* enum catchup_policy */ \
	uint8_t			 priority;				\
	uint8_t			 webhook_style;	/* enum webhook_style */

struct schedule_config {
	SCHEDULE_CONFIG_MEMBERS
};

struct schedule {
	struct actor		 actor;		/* first; its type is an
						   owner_type */
	struct strmap_node	 node;		/* by id */
	struct strmap_node	 name_node;	/* by "account/name" */
	char			*id;
	char			*account;
	char			*name_key;	/* "account/name" */
	char			*pause_reason;
	char			*pause_note;	/* given with a pause; resume
						   clears it */
	union {
		struct schedule_config	 config;
		struct {
			SCHEDULE_CONFIG_MEMBERS
		};
	};
	struct webhook_keyring	*webhook_prev;	/* secrets in their grace
						   period, or NULL */
	int64_t			 month_spent;	/* actual, this month */
	int64_t			 month_reserved;	/* mid of runs in flight */
	int64_t			 created_us;
	int64_t			 updated_us;
	int64_t			 last_fire;	/* us; occurrences settled up to
						   here (the catch-up cursor) */
	int64_t			 fired_us;	/* the last occurrence that
						   fired (ran or was skipped);
						   0: none */
	int64_t			 next_fire;	/* us; 0: none */
	uint64_t		 run_counter;
	struct timer		 timer;
	struct run_list		 runs;		/* in flight */
	uint32_t		 nruns;
	uint32_t		 batches_running; /* of batch_template */
	int32_t			 month_key;	/* yyyymm in the zone */
	struct cron_fire_packed	 next;		/* details of next_fire */
	uint8_t			 state;		/* enum schedule_state */
	uint8_t			 busy;		/* a control change is on its way */
	uint8_t			 has_queued;	/* a run may be queued (queue_one) */
	char			 id_buf[15];	/* id, when it fits (the
						   daemon's own ids do) */
};

/* Exchange two lvalues of one type (a configuration, a pointer). */
#define SWAP(a, b) do {				\
	__typeof__(a) swap_tmp = (a);		\
	(a) = (b);				\
	(b) = swap_tmp;				\
} while (0)

/* A control change of a schedule waiting for its record. */
struct schedule_op {
	struct reply		*req;	/* NULL: the daemon's own change */
	struct schedule		*s;	/* held; NULL at create */
	struct schedule		*t;	/* the schedule as it will be */
	int			 kind;	/* enum schedule_op_kind */
	char			*whsec;	/* a generated secret, shown once */
	char			*gen_ref; /* generated:NAME made for the op */
	json_t			*answer; /* rotation: the answer to give */
};
enum schedule_op_kind {
	SCHEDULE_OP_CREATE,
	SCHEDULE_OP_UPDATE,
	SCHEDULE_OP_PAUSE,
	SCHEDULE_OP_RESUME,
	SCHEDULE_OP_DELETE,
	SCHEDULE_OP_ROTATE,
	SCHEDULE_OP_EXPIRE,
};

/* outcome.c */
void		 outcome_journal(struct reply *, const struct journal_result *);

/* account.c */
int		 account_load_all(struct journal *, char **);
struct account	*account_find(const char *);
int		 account_allows(const struct account *, const struct caller *);
void		 account_free_all(void);
void		 account_foreach(void (*)(const struct account *, void *),
		     void *);
size_t		 account_count(void);
json_t		*account_to_json(const struct account *);
json_t		*account_list(const struct caller *);
const struct tz	*account_tz(const char *);
void		 account_ctl_create(struct reply *, json_t *);
void		 account_ctl_update(struct reply *, struct account *,
		     json_t *);
void		 account_ctl_grant(struct reply *, struct account *, json_t *,
		     int);

/* estimate.c */
void		 estimate_run(const char *, const struct operation *,
		     const struct model *, struct cost_range *, const char **,
		     int *);
#define ESTIMATE_WINDOW	50	/* runs in a "usage" row */
void		 estimate_pack_usage(msgpack_packer *, const int64_t *,
		     const int64_t *, uint32_t);
void		 estimate_observe(const char *, const char *, const char *,
		     int64_t, int64_t, struct jrec *);
int		 estimate_load_all(struct journal *, char **);
void		 estimate_free_all(void);

/* run.c */
void		 run_add_attempt(struct run *, const struct exec_result *,
		     int64_t);
const char	*run_status_name(enum run_status);
int		 run_status_parse(const char *, enum run_status *);
int		 run_status_final(enum run_status);
struct run	*run_create(struct schedule *, uint64_t);
void		 run_free(struct run *);
void		 run_set_status(struct run *, enum run_status);
void		 run_pack(const struct run *, msgpack_packer *);
void		 run_row_key(const char *, uint64_t, char *, size_t);
json_t		*run_row_to_json(const msgpack_object *);
int		 run_id_parse(const char *, char *, size_t, uint64_t *);

/* The orders of schedule_list: by a key, then by account and name. */
enum schedule_sort {
	SCHEDULE_SORT_NAME,		/* account, then name */
	SCHEDULE_SORT_OPERATION,
	SCHEDULE_SORT_STATE,		/* its name: active, completed, paused */
	SCHEDULE_SORT_NEXT_FIRE,	/* none: after every instant */
	SCHEDULE_SORT_LAST_FIRE,	/* never: before every instant */
	SCHEDULE_SORT_COST_MONTH,
	SCHEDULE_SORT_MAX
};

/* Which schedules schedule_list returns, in which order. */
struct schedule_filter {
	const struct caller	*caller;	/* only accounts it may act for */
	const char		*account;	/* only this one (NULL: any) */
	int			 state;		/* SCHEDULE_ACTIVE, _PAUSED; -1 */
	const char		*operation;	/* only this operation */
	const char		*name;		/* an fnmatch(3) glob */
	enum schedule_sort	 sort;
	int			 desc;		/* the whole order reversed */
	int			 after;		/* the cursor: only those after */
	int64_t			 after_num;	/*   this key (numeric sorts) */
	char			 after_str[64];	/*   or this one */
	char			 after_account[64];
	char			 after_name[64];
};

/* Counts for daemon.status and metrics. */
struct schedule_counts {
	size_t	total;
	size_t	active;
	size_t	paused;
	size_t	completed;	/* one-shots whose instant is settled */
	size_t	runs_running;	/* operations executing now */
	size_t	runs_waiting;	/* runs waiting for an executor slot */
};

/* trigger-words.c */
char		*trigger_words(enum trigger_kind, const char *, int64_t);

/* tz.c */
const struct tz	*tz_load(const char *, char **);
const char	*tz_name(const struct tz *);
int		 tz_offset(const struct tz *, int64_t);
void		 tz_to_civil(const struct tz *, int64_t, struct civil *);
int		 tz_from_civil(const struct tz *, const struct civil *, int64_t[2]);
int		 tz_from_local(const struct tz *, int64_t, int64_t[2]);
int		 tz_transition_after(const struct tz *, int64_t, int64_t *, int *,
		     int *);
int		 tz_transition_before(const struct tz *, int64_t, int64_t *, int *,
		     int *);
int64_t		 civil_to_days(int, int, int);
void		 days_to_civil(int64_t, int *, int *, int *);
int		 civil_wday(int, int, int);
int		 days_in_month(int, int);

/* cron.c */
int		 cron_parse(const char *, struct cron *, char **);
int		 cron_parse_stored(const char *, struct cron *, char **);
void		 cron_weekly(int, int, int, struct cron *);
void		 cron_monthly(int, int, int, struct cron *);
int		 cron_next(const struct cron *, const struct tz *, int64_t,
		     struct cron_fire *);
const char	*dst_tag_name(enum dst_tag);
void		 cron_fire_pack(const struct cron_fire *,
		     struct cron_fire_packed *);
void		 cron_fire_unpack(const struct cron_fire_packed *, int64_t,
		     struct cron_fire *);

/* cost.c */
int64_t		 cost_tokens(int64_t, int64_t);
void		 cost_estimate(const struct operation *, const struct model *,
		     struct cost_range *);
int64_t		 cost_actual(const struct model *, int64_t, int64_t);

/* Messages of the schedule actor. */
#define MSG_EXEC_DONE	(MSG_USER + 0)	/* ptr: struct exec_done */
#define TIMER_RETRY	(1ULL << 63)	/* timer arg: retry of run N */

/*
 * webhook-keys.c: the three signature styles checked over bytes, a
 * secret's key in each style and its fingerprint, a schedule's previous
 * secrets (its keyring), and the "webhook_expiry" key releasing a claim.
 */
#define WEBHOOK_ID_MAX		200		/* bytes of a message id */
#define WEBHOOK_PREVIOUS_MAX	4	/* secrets in their grace period */
#define WEBHOOK_PRUNE_BATCH	1000	/* expiry rows per webhook.pruned */
enum webhook_style {
	WEBHOOK_STANDARD,	/* webhook-id, -timestamp, -signature */
	WEBHOOK_GITHUB,		/* X-Hub-Signature-256, X-GitHub-Delivery */
	WEBHOOK_STRIPE		/* Stripe-Signature: t=...,v1=... */
};
#define WEBHOOK_NSTYLES		3
/* A previous secret of a schedule, valid until EXPIRES_US. */
struct webhook_previous {
	char		*ref;
	char		 fingerprint[65];
	int64_t		 rotated_us;
	int64_t		 expires_us;
};
struct webhook_keyring {
	int			 n;
	struct webhook_previous	 v[WEBHOOK_PREVIOUS_MAX];
};
extern const char *const webhook_style_names[WEBHOOK_NSTYLES];
int		 webhook_verify_standard(const unsigned char *, size_t,
		     const char *, const char *, const char *, const char *,
		     size_t, int64_t, int64_t, const char **);
int		 webhook_verify_github(const unsigned char *, size_t,
		     const char *, const char *, size_t, const char **);
int		 webhook_verify_stripe(const unsigned char *, size_t,
		     const char *, const char *, size_t, int64_t, int64_t,
		     const char **);
void		 webhook_expiry_put(struct jrec *, const char *, int64_t);
struct webhook_keyring *webhook_keyring_copy(const struct webhook_keyring *);
void		 webhook_keyring_free(struct webhook_keyring *);
void		 webhook_keyring_pack(const struct webhook_keyring *,
		     msgpack_packer *);
struct webhook_keyring *webhook_keyring_unpack(const msgpack_object *);
int		 webhook_secret_usable(const char *, int, char **);
int		 webhook_secret_fingerprint(const char *, char [65], char **);
/* A message id: 1..WEBHOOK_ID_MAX printable bytes, no space and no '.'. */
int		 webhook_id_ok(const char *);
/* The HMAC key of secret REF for STYLE: 0, or -1 and *cause. */
int		 webhook_key(const char *, int, unsigned char **, size_t *,
		     char **);

/* dispatch.c */
void		 dispatch_timer(struct schedule *, uint64_t);
void		 dispatch_slot(struct schedule *, uint64_t);
void		 dispatch_exec_done(struct schedule *, struct msg *);
void		 dispatch_cancel_pending(struct schedule *, const char *);
void		 dispatch_cancel_ahead(struct schedule *);
void		 dispatch_forget_runs(struct schedule *);
int		 dispatch_recover_runs(struct journal *, char **);
void		 dispatch_catchup(struct schedule *, int64_t);
void		 dispatch_catchup_from(struct schedule *, int64_t, int64_t,
		     const struct cron_fire *);
void		 dispatch_journal_writable(void);
void		 dispatch_manual(struct reply *, struct schedule *,
		     const char *, json_t *);
void		 dispatch_abandon(void);
/* A verified webhook delivery of S with message id MSGID, answered
 * through REQ: a run whose "webhook" parameter is PARAM (stolen), claiming
 * "webhook:S:MSGID". */
void		 dispatch_webhook_run(struct reply *, struct schedule *,
		     const char *, json_t *);
/* The run id an idempotency KEY of S names: 0 and *run_id (allocated),
 * or -1. */
int		 dispatch_idem_lookup(struct schedule *, const char *,
		     char **);
int32_t		 dispatch_month_key(const struct schedule *, int64_t);
int		 dispatch_estimate(const struct schedule *, struct cost_range *,
		     const char **, int *, const char **);
int		 dispatch_quiet(void);
/* Batches: begin run number N of OWNER for OPERATION with PARAMETERS (a
 * JSON object text; the account's default parameters go under it), as
 * triggered_by "batch", claiming CLAIM.  The owner's hooks see it end. */
struct run	*dispatch_owner_run(struct schedule *, uint64_t, const char *,
		     const char *, const char *);
/* Stop a run in flight (exec children get SIGTERM then SIGKILL, HTTP
 * transfers are dropped); it ends cancelled. */
void		 dispatch_run_abort(struct run *, const char *);
/* How schedules are reached (schedule.c sets it), and the kind of run
 * owners other than schedules (batch.c sets it; NULL: none). */
void		 dispatch_set_schedule_kind(const struct schedule_kind *);
void		 dispatch_set_owner_kind(const struct owner_kind *);
int		 dispatch_template_check(const char *, const char *, char **,
		     char **, int64_t *);
void		 dispatch_count_owners(void);

/*
 * The run life cycle is one module in three files: dispatch.c (what a
 * schedule does with an occurrence, triggers, catch-up), run-cycle.c (a
 * run from its first record to its last), recover.c (runs left in flight
 * at start).  What they share with each other only:
 */
int		 dispatch_idem_reply(struct reply *, struct schedule *,
		     const char *);
void		 dispatch_month_roll(struct schedule *, int64_t);
const char	*dispatch_trigger_parse(const char *);
struct schedule	*dispatch_owner_find(const char *);
const struct schedule_kind *dispatch_schedules(void);
struct run	*run_find(struct schedule *, uint64_t);
void		 run_begin(struct run *, const char *);
void		 run_enlist(struct run *);
void		 run_settle_now(struct run *, enum run_status, const char *,
		     const char *);
void		 run_submit(struct run *, const char *, const char *,
		     journal_done_cb);
void		 run_finish(struct run *, enum run_status);
void		 run_want_slot(struct run *);
void		 run_wait_instant(struct run *);

/* schedule.c */
extern const char *const schedule_state_names[SCHEDULE_STATES];
struct schedule	*schedule_create(void);
struct schedule	*schedule_create_shared(void);
struct schedule	*schedule_clone(const struct schedule *);
void		 schedule_set_id(struct schedule *, const char *, size_t);
char		*schedule_name_key(const char *, size_t, const char *);
void		 schedule_free(struct schedule *);
void		 schedule_set_state(struct schedule *, enum schedule_state);
void		 schedule_undelete(struct schedule *, enum schedule_state);
void		 schedule_register(struct schedule *);
void		 schedule_unregister(struct schedule *);
int		 schedule_claim_name(struct schedule *);
void		 schedule_release_name(struct schedule *);
void		 schedule_take_name(struct schedule *, struct schedule *);
struct schedule	*schedule_find(const char *);
struct schedule	*schedule_lookup(const char *, const char *);
struct schedule	*schedule_by_name(const char *, const char *);
void		 schedule_foreach(const char *,
		     void (*)(struct schedule *, void *), void *);
void		 schedule_counts(struct schedule_counts *);
void		 schedule_counts_for(const struct caller *,
		     struct schedule_counts *);
void		 schedule_count_runs(const struct schedule *,
		     struct schedule_counts *);
int64_t		 schedule_next_after(const struct schedule *, int64_t,
		     struct cron_fire *);
int		 schedule_next_fires(const struct schedule *, int64_t, int,
		     int64_t *, struct cron_fire *);
void		 schedule_complete(struct schedule *);
void		 schedule_arm(struct schedule *, int64_t);
void		 schedule_arm_next(struct schedule *, int64_t,
		     const struct cron_fire *);
void		 schedule_pack_progress(msgpack_packer *, int64_t, int64_t,
		     int64_t, int64_t, int64_t);
void		 schedule_put_progress(struct schedule *, struct jrec *);
void		 schedule_put_row(struct schedule *, struct jrec *);
struct jrec	*schedule_record(struct schedule *, const char *);
/* A schedule's row and progress row, packed apart from a record. */
struct schedule_rows {
	char	*data;		/* the row, then the progress row */
	size_t	 row_len;
	size_t	 progress_len;
};
void		 schedule_rows_pack(const struct schedule *,
		     struct schedule_rows *);
void		 schedule_rows_put(const struct schedule *,
		     const struct schedule_rows *, struct jrec *);
void		 schedule_rows_clear(struct schedule_rows *);
json_t		*schedule_to_json(const struct schedule *);
void		 schedule_batch_ended(const char *, int64_t, struct jrec *);
void		 schedule_batch_started(const char *);
json_t		*schedule_estimate(const struct schedule *);
int		 schedule_load_all(struct journal *, char **);
void		 schedule_drain(void);
void		 schedule_free_all(void);

/* schedule-config.c */
extern const char *const schedule_trigger_names[TRIGGER_KINDS];
extern const char *const schedule_overlap_names[OVERLAP_KINDS];
extern const char *const schedule_catchup_names[CATCHUP_KINDS];
int		 schedule_name_index(const char *, const char *const *, int);
void		 schedule_config_init(struct schedule_config *);
void		 schedule_config_defaults(struct schedule_config *);
void		 schedule_config_copy(struct schedule_config *,
		     const struct schedule_config *);
void		 schedule_config_clear(struct schedule_config *);
int		 schedule_config_trigger(struct schedule_config *, int,
		     const char *, int, char **);
int		 schedule_config_when(struct schedule_config *, int,
		     const char *, int, char **);
void		 schedule_config_trigger_text(struct schedule_config *, int,
		     const char *, size_t);
int		 schedule_config_apply(struct schedule_config *, const char *,
		     json_t *, int, const char **, char **);

/* schedule-ops.c */
struct schedule_op *schedule_op_create(struct reply *, struct schedule *,
		     struct schedule *, int);
void		 schedule_op_free(struct schedule_op *);
void		 schedule_op_fail(struct schedule_op *,
		     const struct journal_result *);
int		 schedule_busy(struct reply *, struct schedule *);
const char	*schedule_cap_refusal(const struct schedule *, char **);
void		 schedule_take_config(struct schedule *, struct schedule *);
void		 schedule_prune_runs(struct schedule *, struct jrec *,
		     uint64_t);
void		 schedule_ctl_create(struct reply *, json_t *, const char *);
void		 schedule_ctl_update(struct reply *, struct schedule *,
		     json_t *);
void		 schedule_set_paused(struct reply *, struct schedule *, int,
		     const char *, const char *);
void		 schedule_ctl_delete(struct reply *, struct schedule *);
void		 schedule_ctl_estimate(struct reply *, json_t *, const char *);
json_t		*schedule_next_json(const struct schedule *, int);
void		 schedule_ctl_next(struct reply *, json_t *, const char *,
		     int);
int		 schedule_list_cmp(const void *, const void *);
int		 schedule_sort_parse(struct schedule_filter *, const char *);
int		 schedule_cursor_parse(struct schedule_filter *, const char *);
json_t		*schedule_list(const struct schedule_filter *, size_t,
		     char **);

/* schedule-apply.c */
/* The most fields schedule_config_diff names. */
#define SCHEDULE_DIFF_MAX	24
int		 schedule_config_diff(const struct schedule_config *,
		     const struct schedule_config *, const char **, int);
void		 schedule_ctl_apply(struct reply *, const char *, json_t *,
		     int, int, int);

/* schedule-secrets.c */
int		 schedule_make_secret(struct schedule *, char **, char **);
void		 schedule_drop_secret(struct schedule_op *);
void		 schedule_drop_generated(const char *, const char *,
		     const struct webhook_keyring *, const struct schedule *);
void		 schedule_prefetch_secrets(const struct schedule *);
void		 schedule_watch_expiry(const struct schedule *);
void		 schedule_ctl_rotate(struct reply *, struct schedule *,
		     json_t *);
void		 schedule_secrets_stop(void);


/* ---- prefs.c ------------------------------------------------------------
 * Preferences of an account: per operation (preferred model, enabled,
 * default parameters, monthly budget) and one UI document.  Kept in memory,
 * loaded from the "prefs" table at start; each change is one record.
 * The lookups are pure (no I/O) for the dispatcher.
 */
struct op_prefs {
	struct strmap_node	 node;
	char			*key;		/* "ACCOUNT/OPERATION" */
	char			*account;
	char			*operation;
	char			*preferred_model;	/* NULL: none */
	int			 enabled;
	char			*default_parameters;	/* JSON object text */
	int64_t			 monthly_budget;	/* micro-dollars; 0: none */
	int64_t			 updated_us;
};

/* prefs.c */
int		 prefs_load_all(struct journal *, char **);
void		 prefs_free_all(void);
const struct op_prefs *prefs_lookup(const char *, const char *);
char		*prefs_merge_parameters(const struct op_prefs *, const char *);
void		 prefs_foreach(const char *, void (*)(const struct op_prefs *,
		     void *), void *);
json_t		*prefs_to_json(const char *, const char *, int);
void		 prefs_ctl_set(struct reply *, const char *, json_t *);
void		 prefs_ctl_bulk_set(struct reply *, const char *, json_t *);
void		 prefs_ctl_set_ui(struct reply *, const char *, json_t *);
json_t		*prefs_notify(const char *);
json_t		*prefs_notify_to_json(const char *);
void		 prefs_ctl_set_notify(struct reply *, const char *, json_t *);

/* ---- budget.c -----------------------------------------------------------
 * Month-to-date spend per account and per (account, operation), in
 * micro-dollars: "actual" (runs settled this month, durable in the "spend"
 * table with the run's end) and "reserved" (mid estimates of runs in
 * flight, memory only).  Months are calendar months in the account's zone.
 */
struct budget_figures {
	int32_t		month;		/* yyyymm */
	int64_t		actual;
	int64_t		reserved;
};

/* budget.c */
int		 budget_load_all(struct journal *, char **);
void		 budget_free_all(void);
int32_t		 budget_month(const char *, int64_t);
int32_t		 budget_month_in(const struct tz *, int64_t);
void		 budget_pack_spend(msgpack_packer *, const char *, const char *,
		     int32_t, int64_t, int64_t);
int		 budget_check(const char *, const char *, int64_t,
		     const char **);
void		 budget_reserve(const char *, const char *, int64_t);
void		 budget_release(const char *, const char *, int64_t);
void		 budget_settle(const char *, const char *, int64_t, int64_t,
		     int64_t, struct jrec *);
void		 budget_get(const char *, const char *, int64_t,
		     struct budget_figures *);
void		 budget_crossed(const char *, const char *, const char *,
		     int64_t, int32_t, int64_t, int64_t);
int		 budget_single_run(const char *, const char *, int64_t,
		     const char **, int64_t *);
void		 budget_thresholds_submit(void);
void		 budget_metrics_spend(metrics_emit_fn, void *);
void		 budget_metrics_remaining(metrics_emit_fn, void *);
json_t		*budget_status(const char *, json_t *);
json_t		*budget_schedule_cap(const struct schedule *);

/* ---- batch-parse.c, batch.c, batch-template.c ---------------------------
 * A batch: many operations run as one unit (parallel, sequential or a
 * dependency graph), an actor whose first member is the struct schedule
 * that owns its runs (run N is operation N-1; ids "BATCH:N").  The
 * definition is in the "batch_ops" table, the batch's row (state,
 * counters, spend) in "batches", each operation's outcome in its "runs"
 * row, written with the op.* record that settles it.  batch-parse.c reads
 * a definition, batch.c is the actor, batch-template.c fires batches from
 * schedules.
 */
#define BATCH_MAX_OPS		100000	/* operations in one batch */
#define BATCH_MAX_DEPS		1000	/* depends_on entries of one operation */
#define BATCH_MAX_CONCURRENT	10000
#define BATCH_MAX_ID		128	/* bytes of an operation's local id */
#define BATCH_OPS_CHUNK		1024	/* operations per batch_ops row */
#define BATCH_DEFAULT_CONCURRENT 5
#define MSG_BATCH_RESUME	(MSG_USER + 8)	/* launch what is launchable */

enum batch_type {
	BATCH_PARALLEL,
	BATCH_SEQUENTIAL,
	BATCH_CONDITIONAL,
};

enum batch_state {
	BATCH_DRAFT,
	BATCH_RUNNING,
	BATCH_COMPLETED,
	BATCH_FAILED,
	BATCH_CANCELLED,
	BATCH_STATE_MAX
};

enum batch_rule {
	BATCH_RULE_ALL_SUCCESS,
	BATCH_RULE_ALL_DONE,
	BATCH_RULE_ONE_FAILED,
	BATCH_RULE_NONE_FAILED,
	BATCH_RULE_MAX
};

/* What a trigger rule says of its dependencies' outcomes so far. */
enum batch_verdict {
	BATCH_WAIT,		/* not yet decided */
	BATCH_RUN,		/* the rule holds */
	BATCH_SKIP,		/* the rule can no longer hold */
};

enum batch_op_state {
	BOP_WAITING,		/* not begun */
	BOP_RUNNING,		/* begun, in flight (or waiting for a slot) */
	BOP_COMPLETED,
	BOP_FAILED,		/* failed or interrupted */
	BOP_SKIPPED,
	BOP_CANCELLED,		/* stopped by batch.cancel --abort */
	BOP_STATE_MAX
};

/* One operation of a batch: kept compact (about 56 bytes and its id). */
struct batch_op {
	char		*local_id;	/* NULL: the default, "op-N" */
	const char	*operation;	/* borrowed from the batch's names */
	char		*parameters;	/* JSON object text; NULL: "{}" */
	uint32_t	*deps;		/* indexes of its dependencies */
	uint32_t	 ndeps;
	uint32_t	 nsuccess;	/* dependencies that completed */
	uint32_t	 nfailed;	/* ... that failed or were cancelled */
	uint32_t	 nskipped;	/* ... that were skipped */
	int32_t		 order;		/* sequence_order */
	uint8_t		 rule;		/* enum batch_rule */
	uint8_t		 state;		/* enum batch_op_state */
	uint8_t		 queued;	/* in the ready queue once */
};

struct batch_counts {
	uint32_t	total;
	uint32_t	completed;
	uint32_t	failed;
	uint32_t	skipped;
	uint32_t	cancelled;
	uint32_t	running;
};

struct batch {
	struct schedule		 owner;		/* first: owner of the runs */
	struct strmap_node	 bnode;		/* by id */
	char			*description;
	char			*reason;	/* why it failed or was cancelled */
	uint8_t			 type;		/* enum batch_type */
	uint8_t			 bstate;	/* enum batch_state */
	uint8_t			 stop_on_failure;
	uint8_t			 loading;	/* recovery: no launches yet */
	uint8_t			 busy;		/* a control change is on its way */
	uint8_t			 advancing;	/* batch_advance is on the stack */
	uint32_t		 max_concurrent;
	int64_t			 max_cost;	/* micro-dollars; 0: none */
	int64_t			 spent;		/* actual cost of ended ops */
	struct cost_range	 estimate;	/* at creation */
	int64_t			 started_us;
	int64_t			 finished_us;
	struct batch_counts	 c;
	struct batch_op		*ops;
	uint32_t		 nops;
	char			**names;	/* distinct operation names */
	uint32_t		 nnames;
	uint32_t		*queue;		/* ready operations (indexes) */
	uint32_t		 qhead;
	uint32_t		 qtail;
	uint32_t		*rev_off;	/* dependents: CSR offsets (nops+1) */
	uint32_t		*rev;		/* dependents: indexes */
	char			*first_failure;	/* local id (sequential) */
	char			*origin;	/* the schedule that fired it */
};

/* batch-parse.c */
const char	*batch_type_name(enum batch_type);
int		 batch_type_index(const char *);
const char	*batch_rule_name(enum batch_rule);
int		 batch_rule_index(const char *);
const char	*batch_op_id(const struct batch *, uint32_t, char *, size_t);
const char	*batch_intern(struct batch *, const char *);
void		 batch_build_rev(struct batch *);
struct batch	*batch_parse(json_t *, const char *, const struct catalog *,
		     uint32_t, char **, char **);

/* batch.c */
const char	*batch_state_name(enum batch_state);
enum batch_verdict batch_rule_eval(enum batch_rule, uint32_t, uint32_t,
		     uint32_t, uint32_t);
struct batch	*batch_create(void);
void		 batch_free(struct batch *);
void		 batch_enroll(struct batch *);
void		 batch_forget(struct batch *);
void		 batch_hold(struct batch *);
void		 batch_release(struct batch *);
void		 batch_foreach(void (*)(struct batch *, void *), void *);
void		 batch_estimate(struct batch *);
void		 batch_pack_op_row(msgpack_packer *, const char *, const char *,
		     const char *, int32_t, int, const uint32_t *, uint32_t);
struct jrec	*batch_record(struct batch *, const char *, int);
void		 batch_start(struct reply *, struct batch *);
void		 batch_prepare(struct batch *);
int		 batch_load_all(struct journal *, char **);
void		 batch_free_all(void);
struct batch	*batch_find(const char *);
json_t		*batch_to_json(const struct batch *);
json_t		*batch_ops_json(const struct batch *, uint32_t, uint32_t,
		     int);
json_t		*batch_list(const struct caller *, const char *);
void		 batch_counts_for(const struct caller *,
		     struct schedule_counts *);
void		 batch_ctl_create(struct reply *, json_t *, const char *,
		     uint32_t, int);
void		 batch_ctl_start(struct reply *, struct batch *);
void		 batch_ctl_cancel(struct reply *, struct batch *,
		     const char *, int);
void		 batch_ctl_delete(struct reply *, struct batch *);

/* batch-template.c */
int		 batch_template_check(const char *, const char *, char **,
		     char **, int64_t *);
int		 batch_fire(struct schedule *, int64_t, const char *, char **);
void		 batch_count_origins(void);

/*
 * webhook.c: inbound webhooks.  POST /v1/hooks/SCHEDULE_ID verified in one
 * of three signature styles against the schedule's secret and the previous
 * ones still in their grace period; every request journaled as
 * "webhook.received" and kept in the "webhook_events" table; message ids
 * and events pruned after the retention period (7 days by default).
 */
#define WEBHOOK_MAX_PARAM	(64 * 1024)	/* body passed to the run */
#define WEBHOOK_OVERLOAD	100000		/* journal records pending */
#define WEBHOOK_RETENTION_DEFAULT (7 * 86400 * USEC_PER_SEC)
#define WEBHOOK_GRACE_DEFAULT	(86400 * USEC_PER_SEC)
#define WEBHOOK_GRACE_MAX	(30 * 86400 * USEC_PER_SEC)
#define WEBHOOK_FOLD_KEPT	20		/* refusals in full per window */
#define WEBHOOK_FOLD_WINDOW	(60 * USEC_PER_SEC)
/* The headers of a delivery the signature styles read. */
enum webhook_header {
	WEBHOOK_H_ID,		/* webhook-id */
	WEBHOOK_H_TIMESTAMP,	/* webhook-timestamp */
	WEBHOOK_H_SIGNATURE,	/* webhook-signature */
	WEBHOOK_H_GITHUB_ID,	/* X-GitHub-Delivery */
	WEBHOOK_H_GITHUB_SIG,	/* X-Hub-Signature-256 */
	WEBHOOK_H_STRIPE_SIG,	/* Stripe-Signature */
	WEBHOOK_H_MAX
};
extern const char *const webhook_header_names[WEBHOOK_H_MAX];
/*
 * A request to POST /v1/hooks/SID as the HTTP edge (daemon/hooks.c) hands
 * it over: everything borrowed until ANSWER(ARG, STATUS, JSON) is called,
 * exactly once (the status and answer are the webhook protocol's, see
 * doc/protocol.md; the edge only carries them).
 */
struct webhook_delivery {
	const char	*sid;
	const char	*source;		/* the peer's address */
	const char	*body;
	size_t		 size;
	const char	*header[WEBHOOK_H_MAX];	/* or NULL */
	void		(*answer)(void *, int, const char *);
	void		*arg;
};
void		 webhook_deliver(const struct webhook_delivery *);
void		 webhook_refused(const char *, int, const char *);
void		 webhook_start(int64_t);
void		 webhook_stop(void);
/* Refusals of unsigned requests journaled in full per schedule (and for
 * unknown schedules together) in each window of US; the rest are folded
 * (default WEBHOOK_FOLD_KEPT in WEBHOOK_FOLD_WINDOW). */
void		 webhook_set_folding(u_int, int64_t);
int		 webhook_parse_folding(const char *, u_int *, int64_t *);
void		 webhook_ctl_events(struct reply *, struct schedule *,
		     json_t *);
void		 webhook_ctl_secrets(struct reply *, struct schedule *);

/* ---- subscription-row.c, subscription.c, subscription-ops.c -------------
 * Outbound subscribers (doc/events.md): each subscription is an actor that
 * follows the journal from its cursor and POSTs the matching events, one
 * delivery in flight at a time, signed as Standard Webhooks.  Its row in
 * the "subscriptions" table and its last attempts in
 * "subscription-attempts" come from its subscription.* records alone,
 * through the pure subscription_apply (subscription-row.c), which the
 * daemon itself uses to write them.
 */
#define SUB_TABLE		"subscriptions"
#define SUB_ATTEMPTS_TABLE	"subscription-attempts"
#define SUB_ATTEMPTS_KEPT	100	/* attempt rows per subscription */
#define SUB_MAX_KINDS		32	/* entries of a kinds filter */
#define SUB_MAX_BATCH		100	/* events in one POST */
#define SUB_MAX_PER_ACCOUNT	100
#define SUB_MAX_URL		2048
#define SUB_RETRY_STEPS		8	/* 0, 5 s, 5 min, 30 min, 2 h, 5 h,
					   10 h, 10 h */
#define SUB_JITTER_PCT		20
#define SUB_FAIL_LIMIT_US	(5 * 86400 * USEC_PER_SEC)
#define SUB_TIMEOUT_MS		30000	/* one attempt, connect included */
#define SUB_SLICE		1024	/* records read per turn */
#define SUB_RETRY_AFTER_MAX_US	(86400 * USEC_PER_SEC)

enum sub_state {
	SUB_ACTIVE,
	SUB_PAUSED,
	SUB_DISABLED,
	SUB_STATE_MAX
};

/* A subscription's row (doc/journal-format.md, "subscriptions"). */
struct sub_row {
	char		*id;
	char		*account;	/* the owner */
	int		 all_accounts;	/* admins: every record */
	char		*url;
	char		**kinds;	/* NULL-ended; none: every kind */
	size_t		 nkinds;
	char		*secret_ref;
	char		*fingerprint;	/* of the secret, 64 hex digits */
	int64_t		 batch;		/* events per POST, 1..SUB_MAX_BATCH */
	enum sub_state	 state;
	char		*reason;	/* why disabled ("gone", "failing") */
	uint64_t	 cursor;	/* last seq acknowledged or passed */
	int64_t		 created_us;
	int64_t		 updated_us;
	uint64_t	 delivered;	/* events acknowledged */
	uint64_t	 deliveries;	/* POSTs acknowledged */
	uint64_t	 failed;	/* attempts failed */
	uint64_t	 attempts;	/* attempt rows written (serial) */
	int64_t		 failing_since_us;	/* 0: not failing */
	int64_t		 retry_at_us;	/* the next attempt; 0: now */
	int64_t		 next_attempt;	/* its number, from 1 */
	uint64_t	 pending_first;	/* the batch that failed; 0: none */
	uint64_t	 pending_last;
	int64_t		 last_ok_us;
	int64_t		 last_status;
	char		*last_error;
};

/*
 * The table changes of one subscription.* record (subscription_apply):
 * the row (put, or deleted), an attempt row put, attempt rows deleted
 * (serials DEL_FROM..DEL_TO).  Allocated members; subscription_changes_clear.
 */
struct sub_changes {
	char		 id[72];
	int		 row_deleted;
	struct sub_row	 row;		/* valid unless row_deleted */
	char		*row_bytes;	/* msgpack */
	size_t		 row_len;
	uint64_t	 attempt;	/* serial put; 0: none */
	char		*attempt_bytes;
	size_t		 attempt_len;
	uint64_t	 del_from;	/* 0: none */
	uint64_t	 del_to;
};

struct subscription;

/* subscription-row.c */
const char	*sub_state_name(enum sub_state);
int		 sub_row_decode(const void *, size_t, struct sub_row *,
		     char **);
void		 sub_row_clear(struct sub_row *);
void		 sub_row_copy(struct sub_row *, const struct sub_row *);
void		 sub_row_pack(msgpack_packer *, const struct sub_row *);
void		 subscription_attempt_key(const char *, uint64_t, char *,
		     size_t);
int		 subscription_apply(const struct record *, const void *,
		     size_t, struct sub_changes *, char **);
int		 subscription_apply_body(const char *, const msgpack_object *,
		     const void *, size_t, struct sub_changes *, char **);
void		 subscription_changes_foreach(const struct sub_changes *,
		     void (*)(void *, const char *, const void *, size_t,
		     const void *, size_t),
		     void (*)(void *, const char *, const void *, size_t),
		     void *);
void		 subscription_changes_clear(struct sub_changes *);
int		 subscription_kinds_parse(const char *, char ***, size_t *,
		     char **);
int		 subscription_kind_match(char *const *, size_t, const char *);
int		 subscription_delivers(const struct sub_row *, const char *,
		     const char *);
int64_t		 subscription_retry_delay(int64_t, uint64_t, int64_t);
int64_t		 subscription_next_delay(int64_t, int64_t);

/* subscription.c */
void		 subscription_set_time_scale(int64_t);
int64_t		 subscription_time_scale(void);
int		 subscription_load_all(struct journal *, char **);
void		 subscription_start(void);
void		 subscription_stop(void);
void		 subscription_free_all(void);
struct subscription *subscription_find(const char *);
const struct sub_row *subscription_row(const struct subscription *);
void		 subscription_foreach(void (*)(struct subscription *, void *),
		     void *);
json_t		*subscription_to_json(const struct subscription *);
void		 subscription_lag(const struct subscription *, uint64_t *,
		     double *);
struct subscription *subscription_register(const struct sub_row *,
		     const void *, size_t);
void		 subscription_adopt(struct subscription *,
		     const struct sub_changes *);
void		 subscription_unregister(struct subscription *);
int		 subscription_busy(struct subscription *, int);
struct http_job	*subscription_test_post(struct subscription *, exec_done_cb,
		     void *, char **, char **);
struct jrec	*subscription_record(struct subscription *, const char *,
		     const char *, const struct pack_buffer *,
		     struct sub_changes *, char **);
void		 subscription_record_failed(struct subscription *,
		     const char *, const struct journal_result *);
size_t		 subscription_count(const char *);
void		 subscription_metrics(metrics_emit_fn, void *);
void		 subscription_metrics_failed(metrics_emit_fn, void *);
void		 subscription_metrics_lag(metrics_emit_fn, void *);
void		 subscription_metrics_lag_seconds(metrics_emit_fn, void *);

/* subscription-ops.c */
void		 subscription_op_create(struct reply *, json_t *,
		     const char *);
void		 subscription_op_list(struct reply *, json_t *, const char *);
void		 subscription_op_get(struct reply *, struct subscription *);
void		 subscription_op_update(struct reply *, struct subscription *,
		     json_t *);
void		 subscription_op_state(struct reply *, struct subscription *,
		     const char *);
void		 subscription_op_delete(struct reply *, struct subscription *);
void		 subscription_op_test(struct reply *, struct subscription *);
void		 subscription_op_deliveries(struct reply *,
		     struct subscription *, json_t *);

/*
 * replay.c: the fold of the log into the state tables (chime-journal
 * replay).  The tables being rebuilt, as the fold reads and changes them:
 * get returns 0 and an allocated *val (caller frees), 1 if absent, -1 on
 * an error; put, del return 0 or -1 (deleting an absent row is not an
 * error); foreach walks the rows whose key begins with PREFIX (NULL: all)
 * in key order until the callback returns non-zero, 0 or -1.
 */
struct replay_db {
	int	(*get)(void *, const char *, const void *, size_t, void **,
		    size_t *);
	int	(*put)(void *, const char *, const void *, size_t,
		    const void *, size_t);
	int	(*del)(void *, const char *, const void *, size_t);
	int	(*foreach)(void *, const char *, const void *, size_t,
		    int (*)(const struct journal_row *, void *), void *);
	void	*arg;
};
int		 replay_fold(const struct replay_db *, const struct record *,
		     char **);

/*
 * token.c: API tokens (the HTTP API's callers).  A token acts for one
 * account, or for all (admin), read-only or not, until revoked or
 * expired; only its SHA-256 is kept (the "tokens" table, token.* records).
 */
#define TOKEN_TABLE		"tokens"
#define TOKEN_PREFIX		"chime_"	/* every secret begins so */
#define TOKEN_SECRET_CHARS	32		/* after the prefix */
#define TOKEN_MAX_PER_ACCOUNT	100
struct token {
	struct strmap_node	 node;		/* first: by id */
	struct strmap_node	 hnode;		/* by hash */
	char			 id[24];	/* "tok_" and 12 */
	char			*name;
	char			*account;	/* NULL: an admin token */
	int			 readonly;	/* scope read */
	char			 hash[65];	/* SHA-256 of the secret */
	int64_t			 created_us;
	int64_t			 expires_us;	/* 0: never */
	int64_t			 last_used_us;	/* not journaled */
};
/* Load the tokens table (at start): 0, or -1 and *cause. */
int		 token_load_all(struct journal *, char **);
void		 token_free_all(void);
/* token.create for ACCOUNT (ignored with "admin"): name, scope,
 * admin, expires_in.  Answers the token with its secret, once durable. */
void		 token_ctl_create(struct reply *, const char *, json_t *);
/* The tokens CALLER may see (of ACCOUNT only, unless NULL), oldest
 * first, without secrets. */
json_t		*token_list(const struct caller *, const char *);
/* Token ID if CALLER may see it, else NULL. */
struct token	*token_find(const char *, const struct caller *);
json_t		*token_to_json(const struct token *);
/* Revoke T: refused at once, answered once durable. */
void		 token_ctl_revoke(struct reply *, struct token *);
/* The caller SECRET stands for: 0 and *CALLER, or -1 and *WHY
 * ("malformed", "unknown", "expired", "account gone"). */
int		 token_authenticate(const char *, struct caller *,
		     const char **);
/* The same for the token of id ID, which a signed-in session holds (the
 * dashboard's): "unknown" once it is revoked. */
int		 token_authenticate_id(const char *, struct caller *,
		     const char **);

/*
 * analytics.c: the "analytics" table (doc/journal-format.md, "The
 * analytics table"): rows an account, operation, model, schedule and
 * local day, and the same a month, and the account's totals a day and a
 * month, added to by each run's end in its own transaction.
 */
#define ANALYTICS_TABLE		"analytics"
#define ANALYTICS_KEY_MAX	320
#define ANALYTICS_STATUSES	6	/* success failed cancelled
					   interrupted skipped missed */
#define ANALYTICS_REASONS	16	/* skip reasons a row tells apart */
#define ANALYTICS_ERROR_BUCKETS	7
#define ANALYTICS_LATENCY_BUCKETS 26
/* The rows a run's end adds to, by their keys' shape: its day's, its
 * dekad's (days 1-10, 11-20, 21 to the end: "dd" 41, 42, 43) and its
 * month's ("dd" 00), and the account's totals of the day and month. */
enum analytics_level {
	ANALYTICS_DAY,		/* ACCOUNT/yyyymmdd/OPERATION/MODEL/SCHEDULE */
	ANALYTICS_DEKAD,	/* ACCOUNT/yyyymm4k/OPERATION/MODEL/SCHEDULE */
	ANALYTICS_MONTH,	/* ACCOUNT/yyyymm00/OPERATION/MODEL/SCHEDULE */
	ANALYTICS_TOTAL_DAY,	/* ACCOUNT/total/yyyymmdd */
	ANALYTICS_TOTAL_MONTH,	/* ACCOUNT/total/yyyymm00 */
	ANALYTICS_LEVELS
};
/* The "day" of the row of LEVEL that day DAY (yyyymmdd) adds to. */
int64_t		 analytics_level_day(int, int64_t);
/* The latency bucket of US (bucket k: below 2^k ms), and the error
 * bucket of PPM (below 5, 10, 20, 35, 50, 100 %, then above). */
int		 analytics_latency_bucket(int64_t);
int		 analytics_error_bucket(int64_t);
/* The key of the row of LEVEL that ACCOUNT's DAY (yyyymmdd) adds to under
 * OPERATION, MODEL and SCHEDULE (unused for a total) into KEY. */
void		 analytics_key(int, const char *, int64_t, const char *,
		     const char *, const char *, char *, size_t);
/*
 * The contributions of a run's end to its rows: from RUN (the run map of
 * its final record) of ACCOUNT in zone TZ, FN(key, delta, its length,
 * ARG) for each level, until one returns non-zero.  0, -1 if FN failed,
 * or 1 when the record adds nothing (no account or operation, a status
 * that is not final).  Pure: the daemon's and replay's.
 */
typedef int (*analytics_delta_fn)(const char *, const void *, size_t,
		     void *);
int		 analytics_deltas(const char *, const msgpack_object *,
		     const struct tz *, analytics_delta_fn, void *);
/* A row plus a delta (journal_merge_fn): pure. */
void		 analytics_merge(const void *, size_t, const void *, size_t,
		     msgpack_sbuffer *);
/* Several deltas at once (journal_merge_all_fn): pure. */
void		 analytics_merge_all(const void *, size_t,
		     const struct journal_delta *, size_t, msgpack_sbuffer *);
/* A row of LEVEL (OLD, NULL for a new one) plus a day's row ROW. */
void		 analytics_row_sum(const void *, size_t, const void *, size_t,
		     int, msgpack_sbuffer *);
/* Rows built in memory, by key (the table's build; the bench's). */
struct analytics_rows {
	struct strmap	map;
};
void		 analytics_rows_init(struct analytics_rows *);
/* An analytics_delta_fn (ARG the rows): the delta merged into its row. */
int		 analytics_rows_delta(const char *, const void *, size_t,
		     void *);
/* The day's row ROW (LEN bytes) under DAYKEY (KLEN bytes) added to the
 * rows above it: its dekad's, its month's, its account's totals. */
void		 analytics_rows_sum(struct analytics_rows *, const void *,
		     size_t, const void *, size_t);
void		 analytics_rows_foreach(struct analytics_rows *,
		     void (*)(const char *, const void *, size_t, void *),
		     void *);
size_t		 analytics_rows_count(const struct analytics_rows *);
void		 analytics_rows_free(struct analytics_rows *);
/* Add the run map RUN (LEN bytes, the final record's) of ACCOUNT to its
 * rows in REC's transaction. */
void		 analytics_add(struct jrec *, const char *, const void *,
		     size_t);
/*
 * A journal whose table is not whole (no ANALYTICS_CLAIM): build it, in
 * analytics.rebuilt records, durable when this returns: from the log, or
 * when the day rows were built before the dekads, months and totals existed
 * (ANALYTICS_CLAIM_DAYS), the sums from the day rows.  At start, before
 * anything else writes.  0, or -1 and *cause.
 */
#define ANALYTICS_CLAIM		"analytics:v2"
#define ANALYTICS_CLAIM_DAYS	"analytics:v1"
#define ANALYTICS_REBUILD_ROWS	1000	/* puts a record */
int		 analytics_rebuild(struct journal *, char **);
/* Queries.  Days are yyyymmdd in the account's zone (UTC over several
 * accounts).  analytics_summary: the totals of the days FROM..TO (rows of
 * ACCOUNT, or of every account CALLER may act for when NULL) and of the
 * same number of days before, with the change; NULL and *cause for a bad
 * period. */
int64_t		 analytics_parse_day(const char *);
int64_t		 analytics_today(const char *);
int64_t		 analytics_days_before(int64_t, int64_t);
int		 analytics_quantile_bucket(const int64_t *, int64_t, int);
json_t		*analytics_summary(struct journal *, const struct caller *,
		     const char *, int64_t, int64_t, char **);
/* analytics.trends: METRIC ("cost", "runs", "failures", "latency_p95")
 * for each day, or each 7 days when WEEK, of FROM..TO, none missing. */
int		 analytics_metric_valid(const char *);
json_t		*analytics_trends(struct journal *, const struct caller *,
		     const char *, int64_t, int64_t, const char *, int,
		     char **);
/* analytics.models: per operation and model, from the runs that ran with
 * a model: runs, success rate, cost per run, average and p95 latency. */
json_t		*analytics_models(struct journal *, const struct caller *,
		     const char *, int64_t, int64_t, char **);
/* analytics.accuracy: per operation, of the runs estimated and costed:
 * the share within low..high, the share within 20 %, the mean error, the
 * bucket of the 90th percentile error. */
json_t		*analytics_accuracy(struct journal *, const struct caller *,
		     const char *, int64_t, int64_t, char **);
/* What the queries need of a schedule, from the layer that knows them
 * (analytics.c is below the schedules): 0 and *OUT for schedule ID, -1
 * if there is none.  NAME is borrowed until the next call. */
struct analytics_sched {
	const char	*name;
	int		 active;
	int64_t		 max_cost_month;
};
typedef int (*analytics_sched_fn)(const char *, struct analytics_sched *);
/* analytics.breakdown BY "operation", "model", "schedule" or "account":
 * cost, runs, success rate and the shares of the total, costliest first
 * (a schedule's name through SF, which may be NULL). */
int		 analytics_by_valid(const char *);
json_t		*analytics_breakdown(struct journal *, const struct caller *,
		     const char *, int64_t, int64_t, const char *,
		     analytics_sched_fn, char **);
/* analytics.pace: budget.status's answer STATUS for ACCOUNT at NOW with,
 * for each cap, the month's projection at the pace so far, the pace a
 * day and when the cap is reached at it (null: not this month). */
void		 analytics_pace(json_t *, const char *, int64_t);
/* analytics.recommendations for ACCOUNT over the last 30 days, PACE
 * (analytics_pace's answer) for its caps, schedules through SF: each with
 * a kind, a target, the evidence and the runs behind it, a monthly saving
 * or risk and the command that applies it. */
json_t		*analytics_recommendations(struct journal *,
		     const struct caller *, const char *, json_t *,
		     analytics_sched_fn, char **);

/*
 * run-list.c: run.list, the runs of accounts across their schedules and
 * batches, newest first, from RUN_INDEX_TABLE (doc/journal-format.md),
 * which the journal's writer keeps from the "runs" rows
 * (journal_options.index).
 */
#define RUN_INDEX_TABLE		"runs-by-time"
#define RUN_LIST_DEFAULT	50
#define RUN_LIST_MAX		1000
struct run_list_query {
	const struct caller	*caller;	/* only accounts it may act for */
	const char		*account;	/* only this one (NULL: each) */
	const char		*status;	/* filters: NULL, any */
	const char		*operation;
	const char		*model;
	size_t			 limit;
	const char		*after;		/* a cursor, or NULL */
};
extern const struct journal_index run_list_index;
int		 run_list_index_entry(const void *, size_t, const void *,
		     size_t, char *, size_t *, msgpack_sbuffer *);
int		 run_list_cursor_ok(const char *);
json_t		*run_list(const struct run_list_query *, char **, size_t *);
int		 run_list_rebuild(struct journal *, char **);

/*
 * email.c: a run's report by email (doc/email.md): a schedule's "deliver"
 * checked, the message of a run made and journaled (email.queued, each
 * recipient claimed), sent through engine/smtp.c with retries, each
 * outcome journaled (email.sent, email.failed); pending ones sent again
 * at start.
 */
#define EMAIL_RECIPIENTS_MAX		50
#define EMAIL_ATTEMPTS_DEFAULT		6
#define EMAIL_RETRY_DELAY_DEFAULT	(30 * USEC_PER_SEC)
#define EMAIL_REPORT_MAX		(8 * 1024 * 1024)
#define METRICS_EMAIL			"chime_emails_total"
struct email_config {
	struct smtp_config	 smtp;		/* url NULL: no relay */
	const char		*public_url;	/* or NULL */
	int			 max_attempts;
	int64_t			 retry_delay_us;
	int			 suppress_bounces; /* 550, 551, 553: suppress */
	int64_t			 notify_digest_us; /* notice.c's interval */
};
/* A run that ended, as email_run_finished reads it (borrowed). */
struct email_run {
	const char		*deliver;	/* the schedule's, JSON text */
	const char		*run_id;
	const char		*schedule_id;
	const char		*schedule_name;
	const char		*account;
	const char		*operation;
	enum run_status		 st;
	const char		*status;
	const char		*error;
	const char		*result;
	int64_t			 cost_micro;
	int64_t			 finished_us;
};
void		 email_configure(const struct email_config *);
int		 email_public_url_check(const char *, char **);
int		 email_deliver_check(json_t *, char **, const char **, char **);
void		 email_run_finished(const struct email_run *);
/* A notification's message (notice.c), borrowed by email_notice_queue. */
struct email_notice {
	const char		*kind;		/* the record: notify.queued */
	const char		*id;		/* "notify:ACCOUNT:KIND:KEY" */
	const char		*account;
	const char		*schedule;	/* or NULL */
	const char		*notice;	/* the event kind */
	const char		*subject;
	const char		*text;
	const char		*html;
	int64_t			 date_us;
	json_t			*to;		/* [addresses], may be empty */
	json_t			*pending;	/* row keys it deletes, or NULL */
	const char		*pending_table;
	const char		*claim_prefix;	/* before ID:ADDRESS, or NULL */
	void			(*done)(int, void *);
	void			*arg;
};
void		 email_notice_queue(const struct email_notice *);
/* A batch that ended, as email_batch_ended reads it (borrowed). */
struct email_batch {
	const char		*deliver;	/* the batch's, JSON text */
	const char		*id;
	const char		*name;
	const char		*account;
	const char		*schedule;	/* that fired it, or NULL */
	const char		*state;		/* completed, failed, cancelled,
						   completed_with_failures */
	int			 succeeded;	/* every operation completed */
	const char		*reason;	/* or NULL */
	uint32_t		 total, completed, failed, skipped, cancelled;
	int64_t			 spent;
	int64_t			 finished_us;
};
void		 email_batch_ended(const struct email_batch *);
int		 email_enabled(void);
int		 email_start(struct journal *, char **);
void		 email_stop(void);
size_t		 email_busy(void);
int		 email_unsubscribe_verify(const char *, const char *,
		     const char *);
/* email.log: one account's outcomes, newest first, filtered. */
#define EMAIL_LOG_MAX		1000
struct email_log_query {
	const char	*account;
	const char	*schedule;	/* an id, or NULL */
	const char	*run;		/* or NULL */
	const char	*address;	/* or NULL */
	size_t		 limit;
};
char		*email_log_key(const char *, int64_t, const char *,
		     const char *);
json_t		*email_log(const struct email_log_query *);
json_t		*email_deliveries(const char *);

/*
 * notice.c: notifications by email of an account's events (its notify
 * settings in prefs.c), told at once or, failed runs, in one digest per
 * interval.
 */
#define NOTICE_DIGEST_DEFAULT	(5 * 60 * USEC_PER_SEC)
#define NOTICE_GRACE_LEAD_US	(24 * 3600 * USEC_PER_SEC)
void		 notice_configure(int64_t);
void		 notice_schedule_paused(const char *, const char *,
		     const char *, const char *, int64_t);
void		 notice_budget(const char *, const char *, const char *, int,
		     int64_t, int64_t, int32_t);
void		 notice_subscriber_disabled(const char *, const char *,
		     const char *, const char *, const char *, int64_t);
void		 notice_run_failed(const struct email_run *);
void		 notice_grace_watch(const char *, const char *, const char *,
		     const char *, int64_t);
int		 notice_start(struct journal *, char **);
void		 notice_stop(void);

/*
 * suppression.c: an account's email suppression list (the
 * "email-suppressions" table), changed by email.suppression_added and
 * email.suppression_removed records.
 */
typedef void (*suppression_done_cb)(void *, int, json_t *, const char *);
int		 suppression_find(const char *, const char *, char **);
void		 suppression_change(const char *, const char *, const char *,
		     suppression_done_cb, void *);
json_t		*suppression_list(const char *);

#endif /* CHIME_ACTORS_H */
