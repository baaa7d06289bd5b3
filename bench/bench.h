/*
 * bench/bench.h: what the benchmark programs that drive a real chimed share:
 * the options every program takes (--chimed, --sync, --keep, --out ...),
 * a daemon started as a child on a temporary data directory, a pipelined
 * JSON-RPC client over its Unix socket, /proc figures (RSS, CPU),
 * percentiles and temporary directories.  Built into each bench program;
 * never into the daemon.
 */
#ifndef CHIME_BENCH_H
#define CHIME_BENCH_H

#include <sys/types.h>

#include <stdint.h>

#include <getopt.h>
#include <jansson.h>

/*
 * The options the bench programs share: each program names those it takes
 * (BENCH_TAKE_*) and bench_opts_parse adds them to its own.
 */
struct bench_opts {
	const char	*prog;		/* for messages */
	const char	*chimed;	/* --chimed */
	const char	*journal;	/* --journal, or NULL: beside chimed */
	const char	*router;	/* --router, or NULL: beside chimed */
	const char	*catalog;	/* --catalog */
	const char	*sync;		/* --sync full|batch|none */
	const char	*log_level;	/* --log-level */
	int		 keep;		/* --keep */
	const char	*out;		/* --out FILE: the figures as JSON */
	int		 conns;		/* --connections of a pipeline */
	int		 window;	/* --window: unanswered on each */
	int		 conns_max;
	int		 window_max;
	char		*owned[3];	/* defaults made here */
};
/*
 * An option of a program's own, a row of the table it gives
 * bench_opts_parse (ended by a row without a name): --NAME sets *TO by KIND
 * to a number from LO to HI ("10" or, with BENCH_OWN_S, also "10s"; a bad
 * one ends the program with status 2) or to the string; a BENCH_OWN_TAKE
 * option goes to the program's take callback as VAL; --help (BENCH_OWN_HELP)
 * makes bench_opts_parse return -1.
 */
struct bench_own {
	const char	*name;
	int		 kind;		/* BENCH_OWN_* */
	void		*to;
	long		 lo;
	long		 hi;
	int		 val;
};
#define BENCH_OWN_INT		0	/* int */
#define BENCH_OWN_U64		1	/* uint64_t */
#define BENCH_OWN_USEC		2	/* int64_t microseconds, given in s */
#define BENCH_OWN_STRING	3	/* const char * */
#define BENCH_OWN_TAKE		4	/* the take callback */
#define BENCH_OWN_HELP		5	/* no value: -1 */
#define BENCH_OWN_S		0x10	/* a number may end in "s" */
/* Takes option CH (a BENCH_OWN_TAKE option's VAL) with its value for ARG:
 * 0, or -1 if the value is not one it takes. */
typedef int (*bench_take_cb)(void *, int, const char *);
/* The common options a program takes (bench_opts_parse). */
#define BENCH_TAKE_CHIMED	0x001	/* --chimed PATH */
#define BENCH_TAKE_JOURNAL	0x002	/* --journal PATH */
#define BENCH_TAKE_ROUTER	0x004	/* --router PATH */
#define BENCH_TAKE_CATALOG	0x008	/* --catalog FILE */
#define BENCH_TAKE_SYNC		0x010	/* --sync full|batch|none */
#define BENCH_TAKE_LOG_LEVEL	0x020	/* --log-level LEVEL */
#define BENCH_TAKE_KEEP		0x040	/* --keep */
#define BENCH_TAKE_OUT		0x080	/* --out FILE */
#define BENCH_TAKE_CONNECTIONS	0x100	/* --connections N */
#define BENCH_TAKE_WINDOW	0x200	/* --window N */
#define BENCH_TAKE_DAEMON	(BENCH_TAKE_CHIMED | BENCH_TAKE_SYNC | \
				 BENCH_TAKE_KEEP | BENCH_TAKE_OUT)
/* What bench_opts_check requires to be there. */
#define BENCH_NEED_JOURNAL	0x1
#define BENCH_NEED_ROUTER	0x2

/* A chimed started by a bench program on a data directory of its own. */
struct bench_daemon {
	const char	*chimed;	/* path of the binary */
	const char	*catalog;	/* --catalog, or NULL: built-in */
	const char	*sync;		/* --journal-sync */
	const char	*log_level;	/* --log-level */
	const char	*trace;		/* --trace, or NULL */
	int		 max_running;	/* --max-running, 0: default */
	const char	*http_allow;	/* --http-allow, or NULL */
	const char	*ctl_max_request; /* --ctl-max-request, or NULL */
	const char	*claim_ahead;	/* --claim-ahead, or NULL */
	int		 keep;		/* keep DIR at the end, also when a
					   signal ends the program */
	char		*dir;		/* temporary directory (owned) */
	char		*data;		/* DIR/data */
	char		*sock;		/* DIR/data/chime.sock */
	char		*log;		/* DIR/chimed.log, appended to */
	pid_t		 pid;		/* 0 when not running */
};

/* tests/chime-test-router started by a bench program. */
struct bench_router {
	pid_t		 pid;		/* 0 when not running */
	int		 port;
	char		*portfile;
};

/* Memory of a process, in bytes, from /proc/PID/status. */
struct bench_rss {
	int64_t	rss;		/* VmRSS */
	int64_t	anon;		/* RssAnon */
	int64_t	file;		/* RssFile (LMDB's map is file-backed) */
	int64_t	hwm;		/* VmHWM: the peak RSS */
};

/* Writes the params object of request I into BUF (at most LEN bytes, NUL
 * included); returns its length, or -1 if it does not fit. */
typedef int (*bench_params_cb)(uint64_t, char *, size_t, void *);

/* Called with each line of a journal export (NUL-terminated, its newline
 * included) and its length; non-zero stops the export there. */
typedef int (*bench_line_cb)(const char *, size_t, void *);

/* How long a pipeline waits for an answer before it gives up. */
#define BENCH_STALL_US		(120 * 1000000LL)

/* TOTAL requests of METHOD sent over NCONNS connections with at most
 * WINDOW unanswered on each; the figures are filled by the run. */
struct bench_pipeline {
	const char	*sock;
	const char	*method;
	int		 nconns;
	int		 window;
	uint64_t	 total;
	bench_params_cb	 params;
	void		*arg;
	int64_t		 stall_us;	/* give up after this long without
					   an answer */
	/* Results. */
	uint64_t	 ok;
	uint64_t	 errors;
	char		*first_error;	/* allocated; the first error line */
	int64_t		 elapsed_us;	/* first send to last answer */
	int64_t		*latency_us;	/* per request, allocated */
};

/* bench.c */
const char	*bench_default_chimed(void);
char		*bench_src_path(const char *);
void		 bench_opts_init(struct bench_opts *, const char *);
int		 bench_opts_parse(struct bench_opts *, int, char **,
		     const struct bench_own *, int, bench_take_cb, void *);
void		 bench_opts_check(struct bench_opts *, int);
void		 bench_opts_output(const struct bench_opts *, json_t *);
void		 bench_opts_free(struct bench_opts *);
long		 bench_number(const char *, const char *, const char *, long,
		     long, int);
char		*bench_tmpdir(const char *, const char *);

/* What generated schedules are made of (load-bench, apply-bench): zones
 * with and without daylight saving, half-hour and odd offsets. */
extern const char *const bench_zones[];
#define BENCH_NZONES	8
extern const char *const bench_day_names[7];	/* "sun".."sat" */
void		 bench_rm_tree(const char *);
void		 bench_daemon_init(struct bench_daemon *, const char *,
		     const char *);
int		 bench_daemon_start(struct bench_daemon *, int64_t, int64_t,
		     int64_t *, json_t **, char **);
int		 bench_daemon_stop(struct bench_daemon *, int, int64_t,
		     int64_t *, char **);
void		 bench_daemon_kill(struct bench_daemon *);
void		 bench_daemon_free(struct bench_daemon *, int);
void		 bench_daemon_log_tail(const struct bench_daemon *, int);
int		 bench_call(const char *, const char *, const char *, int64_t,
		     json_t **, char **);
int64_t		 bench_json_int(json_t *, const char *);
int		 bench_router_start(const char *, const char *, const char *,
		     struct bench_router *, char **);
void		 bench_router_stop(struct bench_router *);
char		*bench_router_catalog(const char *, int, const char *, char **);
json_t		*bench_router_get(const struct bench_router *, const char *,
		     char **);
int		 bench_rss(pid_t, struct bench_rss *);
int64_t		 bench_cpu_us(pid_t);
int64_t		 bench_du(const char *);
double		 bench_loadavg(void);
void		 bench_pipeline_init(struct bench_pipeline *,
		     const struct bench_opts *, const char *, const char *);
int		 bench_pipeline_run(struct bench_pipeline *, char **);
void		 bench_pipeline_free(struct bench_pipeline *);
void		 bench_sort(int64_t *, size_t);
int64_t		 bench_percentile(const int64_t *, size_t, double);
void		 bench_quantiles(int64_t *, size_t, int64_t [3]);
int		 bench_write_json(const char *, json_t *, char **);
int		 bench_parse_list(const char *, uint64_t *, size_t, size_t *);
int		 bench_http_port(json_t *);
char		*bench_http_get(int, const char *, char **);
int64_t		 bench_metric(const char *, const char *);
int		 bench_journal_export(const char *, const char *,
		     bench_line_cb, void *, char **);

#endif /* CHIME_BENCH_H */
