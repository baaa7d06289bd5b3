/*
 * ctl/ctl.h: the control protocol.  Newline-delimited JSON-RPC 2.0 over a
 * Unix socket; caller identity from SO_PEERCRED; one table of methods
 * (one ctl/method-NOUN.c file per noun) used by the daemon to dispatch and
 * check parameters, and by chimectl for usage text, flag parsing and
 * unique-prefix matching.
 */
#ifndef CHIME_CTL_H
#define CHIME_CTL_H

#include <sys/types.h>

#include <stdint.h>

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
};

#define CTL_M_READONLY	0x1	/* changes nothing */
#define CTL_M_ADMIN	0x2	/* admin callers only */

struct ctl_req;
struct ctl_method {
	const char		*name;		/* "schedule.create" */
	const char		*summary;	/* one line for help */
	const struct ctl_param	*params;	/* ends with a {NULL} entry */
	int			 flags;
	void			 (*handler)(struct ctl_req *, json_t *);
	const char		*columns;	/* chimectl table columns for a
						   list result: "id,name,..." */
	const char		*list_key;	/* key of the array to tabulate */
};

struct ctl_caller {
	uid_t	uid;
	gid_t	gid;
	pid_t	pid;
	int	admin;		/* root or the daemon's own uid */
};

struct ctl_server;

/* protocol.c: framing and JSON-RPC objects, shared by server and client. */
json_t		*ctl_error_object(int, const char *, const char *, const char *);
int		 ctl_check_params(const struct ctl_method *, json_t *,
		     char **, char **);

/* server.c */
struct ctl_server *ctl_server_create(struct event_base *, const char *,
		     char **);
void		 ctl_server_stop_accepting(struct ctl_server *);
void		 ctl_server_free(struct ctl_server *);
size_t		 ctl_server_connections(struct ctl_server *);
/* A request stays valid until it is answered, even if its connection
 * closes first (the answer is then dropped).  Answering frees it. */
const struct ctl_caller *ctl_req_caller(struct ctl_req *);
const char	*ctl_req_method(struct ctl_req *);
void		 ctl_reply(struct ctl_req *, json_t *);	/* steals result */
void		 ctl_error(struct ctl_req *, int, const char *, const char *,
		     const char *);
/* Reply -32602 with data.field and data.reason. */
void		 ctl_error_param(struct ctl_req *, const char *, const char *);

/* method-table.c */
const struct ctl_method *ctl_method_find(const char *);
/* Resolve "sched" "cr" to "schedule.create" (unique prefixes). */
const struct ctl_method *ctl_method_match(const char *, const char *,
		     char **);
void		 ctl_method_foreach(void (*)(const struct ctl_method *,
		     void *), void *);

/* method-schedule.c, method-run.c, method-daemon.c: NULL-name terminated */
extern const struct ctl_method ctl_methods_schedule[];
extern const struct ctl_method ctl_methods_run[];
extern const struct ctl_method ctl_methods_daemon[];

/* print.c: chimectl's human output. */
void		 print_result(const struct ctl_method *, json_t *);
void		 print_error(json_t *);

#endif /* CHIME_CTL_H */
