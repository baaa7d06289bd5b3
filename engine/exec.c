/*
 * engine/exec.c: the exec executor.  Each job is a child process in its own
 * process group, fed the request JSON on a pipe and read back through two
 * more, all on the loop with non-blocking descriptors; SIGCHLD arrives
 * through libevent and is answered with waitpid(-1, WNOHANG).
 *
 * Children are started with clone(CLONE_VM | CLONE_VFORK), as glibc's
 * posix_spawn does: the daemon's page tables are not copied and its pages
 * are not made copy-on-write, so starting a child costs the same at any
 * heap size and the journal writer's thread takes no faults for it.  The
 * calling thread waits until the child has exec'd or failed.  Unlike
 * posix_spawn, the child asks for SIGKILL when the daemon dies
 * (PR_SET_PDEATHSIG), so a crashed daemon takes its operations with it;
 * what a child left behind in its process group is found again at the next
 * start by the CHIME_INSTANCE and CHIME_RUN_ID in its environment
 * (exec_kill_survivors).
 *
 * That calling thread is not the loop's.  A start is a struct exec_spawn:
 * the loop builds the request and the environment, makes the job live (it
 * counts in exec_running, its callback will run once) and queues the start
 * (exec_queue, under exec_mtx).  The spawner thread, started with the first
 * job and with every signal blocked as the journal writer is, takes starts
 * one at a time, makes the three O_CLOEXEC pipes and the child, and puts
 * the pid and our ends on exec_done, writing one byte to exec_wake per
 * batch; it makes system calls only (no log, no allocation, nothing of the
 * loop's).  The loop takes them back at most EXEC_SPAWNED_TURN per event,
 * so that a burst of starts interleaves with its other work, and only then
 * watches the pipes and arms the deadline.  The child's parent thread is
 * the spawner: it lives until exec_runtime_free, which kills the children
 * anyway, so PR_SET_PDEATHSIG still means "the daemon died".
 *
 * SIGCHLD is still the loop's: waitpid(-1, WNOHANG) until none, each pid
 * found in a table by pid.  A child can end, and be reaped, before its pid
 * comes back from the spawner: its status is kept (exec_orphans, while
 * starts are with the spawner) and matched when it does.  An abort or a
 * detach of a start not yet back marks it cancelled: if the spawner has
 * not taken it, no process is made and the job ends from the loop (status
 * cancelled; no callback when detached); if it has, the job is killed as
 * soon as its pid is back.  Failures to make a process (no pipes, no
 * processes left) end the job from the loop like a program that cannot be
 * executed: failed, exit code 127, "exec PROGRAM: REASON".
 *
 * Children get a clean environment (exec_envp): a short allow-list of the
 * daemon's variables, the CHIME_* values chime sets, and the variables the
 * operation's catalog entry names in "env".  Secret commands (exec_run)
 * get the daemon's environment: only an admin configures them.
 *
 * exec_executor is this executor's entry in the table of executor.c.  A
 * job ends when its process has been reaped and both output pipes are
 * closed.  Its callback runs exactly once; the job itself is freed later,
 * from a separate event, never inside one of its own callbacks.
 */
#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/queue.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "engine.h"

#define EXEC_STDOUT_MAX		(1024 * 1024)	/* "output exceeds 1 MiB" */
#define EXEC_STDERR_TAIL	4096		/* last bytes of stderr kept */
#define EXEC_ERROR_TAIL		1024		/* of those, in the error */
#define EXEC_RESULT_MAX		(256 * 1024)	/* compact "result" text */
#define EXEC_KILL_GRACE_MS	5000		/* SIGTERM -> SIGKILL */
#define EXEC_DRAIN_MS		1000		/* pipes open after exit */
#define EXEC_DEFAULT_MS		60000
#define EXEC_CHILD_STACK	(128 * 1024)	/* the clone child's stack */
#define EXEC_DEFAULT_PATH	"/usr/local/bin:/usr/bin:/bin"
#define EXEC_ENVIRON_MAX	(64 * 1024)	/* bytes of /proc/PID/environ */
#define EXEC_SPAWNED_TURN	32		/* starts taken back per event */
#define EXEC_ORPHANS_MAX	4096		/* early reaps kept */
#define EXEC_PID_BUCKETS	512		/* running children by pid */

extern char **environ;

/*
 * The daemon's variables a child keeps (besides those its operation names):
 * where programs are, who and where it runs, its language and zone.
 */
static const char *const exec_env_keep[] = {
	"PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "TZ", "TMPDIR",
	NULL
};

/* Why we signalled the job, if we did; decides its status. */
enum exec_kill {
	EXEC_KILL_NONE,
	EXEC_KILL_TIMEOUT,
	EXEC_KILL_ABORT,
	EXEC_KILL_OVERFLOW,
};

/* One end of a pipe between us and the child, with its event. */
struct exec_pipe {
	int		 fd;		/* -1 once closed */
	struct event	*ev;
};

struct exec_job {
	struct job		 job;		/* first: names exec_executor */
	LIST_ENTRY(exec_job)	 entry;
	LIST_ENTRY(exec_job)	 pid_entry;	/* exec_bypid, until reaped */
	int			 in_bypid;
	pid_t			 pid;
	char			*run_id;
	char			*operation;
	char			*argv0;
	exec_done_cb		 cb;
	exec_output_cb		 out_cb;	/* exec_run: instead of cb */
	void			*arg;
	size_t			 out_max;	/* stdout bytes kept */

	struct exec_pipe	 in;
	char			*in_buf;	/* the request, newline-ended */
	size_t			 in_len;
	size_t			 in_off;

	struct exec_pipe	 out;
	char			*out_buf;
	size_t			 out_len;
	size_t			 out_size;

	struct exec_pipe	 err;
	char			 err_buf[EXEC_STDERR_TAIL];
	size_t			 err_len;

	int			 exec_errno;	/* spawn failed: no process */
	struct exec_spawn	*spawn;		/* with the spawner: no pid yet */

	struct event		*deadline_ev;
	struct event		*kill_ev;
	struct event		*drain_ev;
	int64_t			 deadline_ms;
	int64_t			 start_us;	/* monotonic */
	int64_t			 end_us;

	int			 reaped;
	int			 wstatus;
	enum exec_kill		 killed;
	int			 sigkilled;
	int			 finished;	/* callback ran */
	int			 detached;	/* no callback: exec_detach */
};
LIST_HEAD(exec_jobs, exec_job);

/*
 * A start handed to the spawner thread, and handed back with its outcome.
 * The thread reads argv and envp and fills the fields below them; it never
 * looks at the job.  cancelled is written by the loop under exec_mtx.
 */
struct exec_spawn {
	STAILQ_ENTRY(exec_spawn) entry;
	struct exec_job		*job;		/* the loop's */
	char			**argv;		/* owned copies */
	char			**envp;
	int			 cancelled;	/* do not start it */

	int			 skipped;	/* not started: cancelled */
	int			 error;		/* errno: no process made */
	const char		*what;		/* "pipe" or "spawn" */
	int			 exec_errno;	/* not executed (exit 127) */
	pid_t			 pid;
	int			 fd[3];		/* ours: stdin, stdout, stderr */
	int64_t			 start_us;	/* monotonic, before clone */
	int64_t			 end_us;	/* failed: when known */
};
STAILQ_HEAD(exec_spawnq, exec_spawn);

/* A child reaped before its start was handed back to the loop. */
struct exec_orphan {
	pid_t			 pid;
	int			 status;
	int64_t			 us;		/* monotonic, when reaped */
};

static struct event_base	*exec_base;
static struct event		*exec_sigchld_ev;
static struct event		*exec_gc_ev;
static struct exec_jobs		 exec_live = LIST_HEAD_INITIALIZER(exec_live);
static struct exec_jobs		 exec_dead = LIST_HEAD_INITIALIZER(exec_dead);
static int			 exec_nlive;
static struct exec_jobs		 exec_bypid[EXEC_PID_BUCKETS];
static char			*exec_instance;	/* CHIME_INSTANCE */
static char			 exec_stack[EXEC_CHILD_STACK]
				    __attribute__((aligned(16)));	/* spawner's */

/* The spawner thread and its two queues (exec_mtx). */
static pthread_mutex_t		 exec_mtx = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t		 exec_cond = PTHREAD_COND_INITIALIZER;
static pthread_t		 exec_thread;
static int			 exec_thread_running;
static int			 exec_stopping;		/* exec_mtx */
static int			 exec_notified;		/* exec_mtx */
static int			 exec_held;		/* exec_mtx */
static struct exec_spawnq	 exec_queue = STAILQ_HEAD_INITIALIZER(exec_queue);
static struct exec_spawnq	 exec_done = STAILQ_HEAD_INITIALIZER(exec_done);
static int			 exec_wake[2] = { -1, -1 };
static struct event		*exec_wake_ev;
/* The loop's alone: */
static size_t			 exec_nspawning;	/* handed over */
static struct exec_orphan	*exec_orphans;
static size_t			 exec_norphans;

/* What the clone child needs, made ready before the clone. */
struct exec_child {
	char *const		*argv;
	char *const		*envp;
	int			 fd[3];		/* for 0, 1 and 2 */
	pid_t			 parent;
	sigset_t		 none;
	struct sigaction	 dfl;
	volatile int		 err;		/* exec's errno, if it failed */
};

static struct job *exec_executor_start(const struct operation *,
		    const struct exec_request *, int, exec_done_cb, void *,
		    char **);
static void	 exec_executor_abort(struct job *);
static char	**exec_envp(const struct operation *,
		    const struct exec_request *);
static void	 exec_strv_free(char **);
static int	 exec_pipe(int[2], int);
static void	 exec_close_pair(int[2]);
static int	 exec_child_main(void *);
static int	 exec_clone(struct exec_child *, pid_t *);
static struct exec_job *exec_job_new(const char *, const char *,
		    const char *, void *);
static int	 exec_launch(struct exec_job *, char *const *, char **,
		    char **);
static char	**exec_strv_dup(char *const *);
static int	 exec_thread_start(char **);
static void	 exec_thread_stop(void);
static void	*exec_thread_main(void *);
static void	 exec_spawn_one(struct exec_spawn *);
static void	 exec_wake_cb(evutil_socket_t, short, void *);
static void	 exec_spawned(struct exec_spawn *);
static void	 exec_spawn_free(struct exec_spawn *);
static void	 exec_orphan_add(pid_t, int);
static int	 exec_orphan_take(pid_t, int64_t, int *);
static void	 exec_atfork_child(void);
static int	 exec_env_kept(const char *, const struct operation *);
static char	*exec_proc_environ(pid_t, size_t *);
static const char *exec_env_find(const char *, size_t, const char *);
static void	 exec_setup_timers(struct exec_job *);
static void	 exec_setup_events(struct exec_job *);
static void	 exec_pipe_close(struct exec_pipe *);
static void	 exec_signal(struct exec_job *, int);
static void	 exec_begin_kill(struct exec_job *, enum exec_kill);
static void	 exec_write_cb(evutil_socket_t, short, void *);
static int	 exec_read_out(struct exec_job *);
static int	 exec_read_err(struct exec_job *);
static void	 exec_out_cb(evutil_socket_t, short, void *);
static void	 exec_err_cb(evutil_socket_t, short, void *);
static void	 exec_deadline_cb(evutil_socket_t, short, void *);
static void	 exec_kill_cb(evutil_socket_t, short, void *);
static void	 exec_drain_cb(evutil_socket_t, short, void *);
static void	 exec_sigchld_cb(evutil_socket_t, short, void *);
static void	 exec_reaped(struct exec_job *, int);
static void	 exec_check_done(struct exec_job *);
static void	 exec_output_done(struct exec_job *);
static struct exec_result *exec_make_result(struct exec_job *);
static int	 exec_parse_tokens(json_t *, const char *, int64_t *);
static void	 exec_bad_output(struct exec_result *, const char *, ...)
		    printflike(2, 3);
static char	*exec_stderr_tail(struct exec_job *);
static void	 exec_gc_cb(evutil_socket_t, short, void *);
static void	 exec_job_free(struct exec_job *);

const struct executor exec_executor = {
	.name = "exec",
	.start = exec_executor_start,
	.abort = exec_executor_abort,
	.running = exec_running,
};

const char *
exec_status_name(enum exec_status status)
{
	switch (status) {
	case EXEC_SUCCESS:
		return ("success");
	case EXEC_FAILED:
		return ("failed");
	case EXEC_TIMEOUT:
		return ("timeout");
	case EXEC_CANCELLED:
		return ("cancelled");
	}
	return ("unknown");
}

/*
 * Watch SIGCHLD on BASE, and the spawner's wake-up pipe; SIGPIPE is ignored
 * so a closed stdin is EPIPE.  The spawner thread itself starts with the
 * first job.
 */
void
exec_runtime_init(struct event_base *base)
{
	static int		atfork;
	struct sigaction	sa;

	if (exec_base != NULL)
		fatalx("exec_runtime_init: already initialised");
	exec_base = base;
	if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL)
		signal(SIGPIPE, SIG_IGN);
	exec_sigchld_ev = evsignal_new(base, SIGCHLD, exec_sigchld_cb, NULL);
	if (exec_sigchld_ev == NULL || event_add(exec_sigchld_ev, NULL) != 0)
		fatalx("exec_runtime_init: cannot watch SIGCHLD");
	exec_gc_ev = event_new(base, -1, 0, exec_gc_cb, NULL);
	if (exec_gc_ev == NULL)
		fatalx("exec_runtime_init: event_new failed");
	if (pipe2(exec_wake, O_CLOEXEC | O_NONBLOCK) == -1)
		fatal("exec_runtime_init: pipe");
	exec_wake_ev = event_new(base, exec_wake[0], EV_READ | EV_PERSIST,
	    exec_wake_cb, NULL);
	if (exec_wake_ev == NULL || event_add(exec_wake_ev, NULL) != 0)
		fatalx("exec_runtime_init: event_new failed");
	if (!atfork) {
		pthread_atfork(NULL, NULL, exec_atfork_child);
		atfork = 1;
	}
}

/*
 * In a forked child no spawner thread runs: the next job there starts its
 * own.  (A child that forked with starts queued never sees them end.)
 */
static void
exec_atfork_child(void)
{
	pthread_mutex_init(&exec_mtx, NULL);
	pthread_cond_init(&exec_cond, NULL);
	exec_thread_running = 0;
	exec_stopping = 0;
}

/*
 * The tag of this daemon's children (CHIME_INSTANCE in their environment):
 * the journal's id, so that a later start finds what an earlier one left.
 */
void
exec_set_instance(const char *instance)
{
	free(exec_instance);
	exec_instance = instance != NULL ? xstrdup(instance) : NULL;
}

/*
 * Kill every job still running (SIGKILL to its group), reap it and free it
 * without calling its callback: the daemon is going away.
 */
void
exec_runtime_free(void)
{
	struct exec_job		*job;
	struct exec_spawn	*sp;
	int			 status;

	if (exec_base == NULL)
		return;
	/* Starts not yet made are not made; those made are killed below. */
	exec_thread_stop();
	while ((sp = STAILQ_FIRST(&exec_done)) != NULL) {
		STAILQ_REMOVE_HEAD(&exec_done, entry);
		job = sp->job;
		job->spawn = NULL;
		if (!sp->skipped && sp->error == 0 && sp->exec_errno == 0) {
			job->pid = sp->pid;
			job->in.fd = sp->fd[0];
			job->out.fd = sp->fd[1];
			job->err.fd = sp->fd[2];
			if (exec_orphan_take(sp->pid, sp->start_us, &status))
				job->reaped = 1;
		} else
			job->reaped = 1;
		exec_spawn_free(sp);
	}
	exec_nspawning = 0;
	while ((job = LIST_FIRST(&exec_live)) != NULL) {
		LIST_REMOVE(job, entry);
		if (job->pid > 0)
			kill(-job->pid, SIGKILL);
		if (job->pid > 0 && !job->reaped) {
			while (waitpid(job->pid, &status, 0) == -1 &&
			    errno == EINTR)
				continue;
		}
		log_info("msg=\"exec killed at shutdown\" run=%s "
		    "operation=%s pid=%ld", job->run_id, job->operation,
		    (long)job->pid);
		exec_job_free(job);
	}
	exec_nlive = 0;
	exec_gc_cb(-1, 0, NULL);
	event_free(exec_sigchld_ev);
	event_free(exec_gc_ev);
	event_free(exec_wake_ev);
	exec_sigchld_ev = exec_gc_ev = exec_wake_ev = NULL;
	close(exec_wake[0]);
	close(exec_wake[1]);
	exec_wake[0] = exec_wake[1] = -1;
	free(exec_orphans);
	exec_orphans = NULL;
	exec_norphans = 0;
	free(exec_instance);
	exec_instance = NULL;
	exec_base = NULL;
}

int
exec_running(void)
{
	return (exec_nlive);
}

void
exec_result_free(struct exec_result *r)
{
	if (r == NULL)
		return;
	free(r->error);
	free(r->result);
	free(r->model);
	free(r);
}

/* A job not yet started: LABEL names it in the log (a run id, "-"). */
static struct exec_job *
exec_job_new(const char *label, const char *what, const char *argv0,
    void *arg)
{
	struct exec_job	*job;

	if (exec_base == NULL)
		fatalx("exec: runtime not initialised");
	job = xcalloc(1, sizeof *job);
	job->job.executor = &exec_executor;
	job->in.fd = job->out.fd = job->err.fd = -1;
	job->pid = -1;
	job->run_id = xstrdup(label != NULL ? label : "-");
	job->operation = xstrdup(what);
	job->argv0 = xstrdup(argv0);
	job->arg = arg;
	job->out_max = EXEC_STDOUT_MAX;
	return (job);
}

/*
 * Hand JOB's ARGV and ENVP (taken: freed here) to the spawner thread; the
 * job is live from now on and watched once exec_spawned takes it back.  0,
 * or -1 with *cause set and JOB freed when the thread cannot be started.
 */
static int
exec_launch(struct exec_job *job, char *const *argv, char **envp,
    char **cause)
{
	struct exec_spawn	*sp;

	if (!exec_thread_running && exec_thread_start(cause) != 0) {
		exec_strv_free(envp);
		exec_job_free(job);
		return (-1);
	}
	sp = xcalloc(1, sizeof *sp);
	sp->job = job;
	sp->argv = exec_strv_dup(argv);
	sp->envp = envp;
	sp->pid = -1;
	sp->fd[0] = sp->fd[1] = sp->fd[2] = -1;
	job->spawn = sp;
	exec_setup_timers(job);
	LIST_INSERT_HEAD(&exec_live, job, entry);
	exec_nlive++;
	exec_nspawning++;
	pthread_mutex_lock(&exec_mtx);
	STAILQ_INSERT_TAIL(&exec_queue, sp, entry);
	pthread_cond_signal(&exec_cond);
	pthread_mutex_unlock(&exec_mtx);
	return (0);
}

/*
 * Start OP for REQ.  Returns the job, whose CB runs once on the loop when it
 * ends (also when the program cannot be executed, or no pipes or processes
 * were left: later, from the loop, never inside this call); or NULL with
 * *cause set when nothing was started (not an exec operation, bad
 * parameters, no spawner thread).
 */
struct exec_job *
exec_start(const struct operation *op, const struct exec_request *req,
    exec_done_cb cb, void *arg, char **cause)
{
	struct exec_job		*job;
	int64_t			 deadline;
	char			*request, **envp;
	int			 rc;

	if (op->executor != EXECUTOR_EXEC || op->argv == NULL ||
	    op->argv[0] == NULL) {
		xasprintf(cause, "operation %s has no command to execute",
		    op->id);
		return (NULL);
	}
	deadline = req->deadline_ms > 0 ? req->deadline_ms : op->timeout_ms;
	if (deadline <= 0)
		deadline = EXEC_DEFAULT_MS;
	if ((request = exec_request_json(op, req, deadline, cause)) == NULL)
		return (NULL);
	job = exec_job_new(req->run_id, op->id, op->argv[0], arg);
	job->cb = cb;
	job->in_buf = request;
	job->in_len = strlen(request);
	job->deadline_ms = deadline;
	envp = exec_envp(op, req);
	rc = exec_launch(job, op->argv, envp, cause);
	return (rc == 0 ? job : NULL);
}

/* exec_executor's start: exec_start (an attempt number is not used). */
static struct job *
exec_executor_start(const struct operation *op,
    const struct exec_request *req, int attempt, exec_done_cb cb, void *arg,
    char **cause)
{
	struct exec_job	*job;

	if ((job = exec_start(op, req, cb, arg, cause)) == NULL)
		return (NULL);
	return (&job->job);
}

/*
 * Run ARGV (the daemon's environment, nothing on stdin) for at most
 * DEADLINE_MS, keeping at most OUT_MAX bytes of its stdout.  CB runs once on
 * the loop with the outcome (never inside this call); LABEL names the job
 * in the log, never its output.  Returns the job, or NULL with *cause set
 * when nothing was started.
 */
struct exec_job *
exec_run(char *const *argv, int64_t deadline_ms, size_t out_max,
    const char *label, exec_output_cb cb, void *arg, char **cause)
{
	struct exec_job	*job;

	if (argv == NULL || argv[0] == NULL || *argv[0] == '\0') {
		xasprintf(cause, "no command to execute");
		return (NULL);
	}
	job = exec_job_new("-", label, argv[0], arg);
	job->out_cb = cb;
	job->deadline_ms = deadline_ms > 0 ? deadline_ms : EXEC_DEFAULT_MS;
	job->out_max = out_max > 0 && out_max < EXEC_STDOUT_MAX ? out_max :
	    EXEC_STDOUT_MAX;
	if (exec_launch(job, argv, exec_strv_dup(environ), cause) != 0)
		return (NULL);
	return (job);
}

/*
 * Abort JOB: SIGTERM to its group now, SIGKILL after the grace period.  Its
 * callback still runs, once, with EXEC_CANCELLED.
 */
void
exec_abort(struct exec_job *job)
{
	if (job == NULL || job->finished)
		return;
	log_trace(TRACE_EXEC, "msg=\"exec abort\" run=%s pid=%ld",
	    job->run_id, (long)job->pid);
	if (job->spawn != NULL) {
		/* Not started yet: never started, or ended once it is. */
		pthread_mutex_lock(&exec_mtx);
		job->spawn->cancelled = 1;
		pthread_mutex_unlock(&exec_mtx);
		job->killed = EXEC_KILL_ABORT;
		return;
	}
	exec_begin_kill(job, EXEC_KILL_ABORT);
}

/* exec_executor's abort: JOB is an exec_job's head. */
static void
exec_executor_abort(struct job *job)
{
	exec_abort((struct exec_job *)job);
}

/*
 * Forget JOB: its process group is killed and its callback never runs (the
 * job itself goes once its child is reaped).  For callers that go away
 * before their job ends.
 */
void
exec_detach(struct exec_job *job)
{
	if (job == NULL || job->finished)
		return;
	job->cb = NULL;
	job->out_cb = NULL;
	job->detached = 1;
	if (job->spawn != NULL) {
		pthread_mutex_lock(&exec_mtx);
		job->spawn->cancelled = 1;
		pthread_mutex_unlock(&exec_mtx);
		if (job->killed == EXEC_KILL_NONE)
			job->killed = EXEC_KILL_OVERFLOW;
		return;
	}
	exec_begin_kill(job, EXEC_KILL_OVERFLOW);
}

/*
 * The request document of every executor: {run_id, operation, account,
 * model, parameters, deadline_ms} and a newline.  Returns allocated text,
 * or NULL with *cause set when the parameters are not a JSON object.
 */
char *
exec_request_json(const struct operation *op, const struct exec_request *req,
    int64_t deadline, char **cause)
{
	json_t		*params, *doc;
	json_error_t	 err;
	char		*text, *out;

	if (req->parameters == NULL || *req->parameters == '\0')
		params = json_object();
	else {
		params = json_loads(req->parameters, JSON_REJECT_DUPLICATES,
		    &err);
		if (params == NULL || !json_is_object(params)) {
			json_decref(params);
			xasprintf(cause, "parameters: %s", params == NULL ?
			    err.text : "not a JSON object");
			return (NULL);
		}
	}
	doc = json_pack("{s:s?, s:s, s:s?, s:s?, s:o, s:I}",
	    "run_id", req->run_id, "operation", req->operation != NULL ?
	    req->operation : op->id,
	    "account", req->account, "model", req->model,
	    "parameters", params, "deadline_ms", (json_int_t)deadline);
	if (doc == NULL) {
		xasprintf(cause, "request: a string is not valid UTF-8");
		return (NULL);
	}
	text = json_dumps(doc, JSON_COMPACT);
	json_decref(doc);
	if (text == NULL)
		fatalx("exec_request_json: json_dumps failed");
	xasprintf(&out, "%s\n", text);
	free(text);
	return (out);
}

/* The variables chime sets in a child's environment. */
static const char *const exec_env_chime[] = {
	"CHIME_RUN_ID", "CHIME_OPERATION", "CHIME_ACCOUNT", "CHIME_MODEL",
	"CHIME_INSTANCE", NULL
};

/* Is NAME (LEN bytes) one of the variables chime sets? */
int
exec_env_reserved(const char *name, size_t len)
{
	const char *const	*k;

	for (k = exec_env_chime; *k != NULL; k++) {
		if (strlen(*k) == len && strncmp(name, *k, len) == 0)
			return (1);
	}
	return (0);
}

/* Does a child of OP keep the daemon's variable NAME=...? */
static int
exec_env_kept(const char *var, const struct operation *op)
{
	const char *const	*k;
	char *const		*n;
	size_t			 len = strcspn(var, "=");

	if (var[len] != '=' || exec_env_reserved(var, len))
		return (0);
	if (strncmp(var, "LC_", 3) == 0)
		return (1);
	for (k = exec_env_keep; *k != NULL; k++) {
		if (strlen(*k) == len && strncmp(var, *k, len) == 0)
			return (1);
	}
	for (n = op->env; n != NULL && *n != NULL; n++) {
		if (strlen(*n) == len && strncmp(var, *n, len) == 0)
			return (1);
	}
	return (0);
}

/*
 * A child's environment: the daemon's variables exec_env_keep lists and
 * LC_*, those OP's catalog entry names, PATH (a default one if the daemon
 * has none), then CHIME_RUN_ID, _OPERATION, _ACCOUNT, _MODEL and
 * _INSTANCE.  Nothing else of the daemon's environment (its secrets) goes.
 */
static char **
exec_envp(const struct operation *op, const struct exec_request *req)
{
	const char		*values[5];
	char			**envp;
	size_t			 n, i, j;
	int			 path = 0;

	values[0] = req->run_id;
	values[1] = req->operation != NULL ? req->operation : op->id;
	values[2] = req->account;
	values[3] = req->model;
	values[4] = exec_instance;
	for (n = 0; environ != NULL && environ[n] != NULL; n++)
		continue;
	envp = xcalloc(n + 7, sizeof *envp);
	for (n = 0, i = 0; environ != NULL && environ[i] != NULL; i++) {
		if (!exec_env_kept(environ[i], op))
			continue;
		if (strncmp(environ[i], "PATH=", 5) == 0)
			path = 1;
		envp[n++] = xstrdup(environ[i]);
	}
	if (!path)
		envp[n++] = xstrdup("PATH=" EXEC_DEFAULT_PATH);
	for (j = 0; j < 5; j++) {
		if (values[j] != NULL)
			xasprintf(&envp[n++], "%s=%s", exec_env_chime[j],
			    values[j]);
	}
	envp[n] = NULL;
	return (envp);
}

/* A copy of the NULL-ended V (NULL: an empty one). */
static char **
exec_strv_dup(char *const *v)
{
	char	**c;
	size_t	  n, i;

	for (n = 0; v != NULL && v[n] != NULL; n++)
		continue;
	c = xcalloc(n + 1, sizeof *c);
	for (i = 0; i < n; i++)
		c[i] = xstrdup(v[i]);
	return (c);
}

static void
exec_strv_free(char **v)
{
	char	**p;

	if (v == NULL)
		return;
	for (p = v; *p != NULL; p++)
		free(*p);
	free(v);
}

/*
 * A close-on-exec pipe whose descriptors are both above 2, so that the child
 * can dup2 them onto 0, 1 and 2 in any order.  END (0 or 1) is made
 * non-blocking: the end we keep.
 */
static int
exec_pipe(int fds[2], int end)
{
	int	i, fd, saved;

	if (pipe2(fds, O_CLOEXEC) == -1)
		return (-1);
	for (i = 0; i < 2; i++) {
		if (fds[i] > 2)
			continue;
		if ((fd = fcntl(fds[i], F_DUPFD_CLOEXEC, 3)) == -1)
			goto fail;
		close(fds[i]);
		fds[i] = fd;
	}
	if (fcntl(fds[end], F_SETFL, O_NONBLOCK) == -1)
		goto fail;
	return (0);
fail:
	saved = errno;
	exec_close_pair(fds);
	fds[0] = fds[1] = -1;
	errno = saved;
	return (-1);
}

static void
exec_close_pair(int fds[2])
{
	if (fds[0] != -1)
		close(fds[0]);
	if (fds[1] != -1)
		close(fds[1]);
}

/*
 * The clone child, on its own stack and sharing the daemon's memory until
 * it execs: system calls only.  Every signal back to its default action
 * (the daemon ignores SIGPIPE; its handlers must not run here), a process
 * group of its own, SIGKILL when the daemon dies, 0/1/2 from the pipes and
 * nothing else open, no signal blocked, exec.  A failed exec leaves its
 * errno for the parent and exits 127.
 */
__attribute__((no_sanitize("address", "undefined")))
static int
exec_child_main(void *arg)
{
	struct exec_child	*c = arg;
	int			 sig, i;

	for (sig = 1; sig < NSIG; sig++)
		(void)sigaction(sig, &c->dfl, NULL);
	if (setpgid(0, 0) == -1 || prctl(PR_SET_PDEATHSIG, SIGKILL) == -1)
		goto fail;
	if (getppid() != c->parent)
		_exit(127);	/* the daemon is already gone */
	for (i = 0; i < 3; i++) {
		if (dup2(c->fd[i], i) == -1)
			goto fail;
	}
	if (syscall(SYS_close_range, 3U, ~0U, 0U) == -1) {
		for (i = 3; i < 1024; i++)
			(void)close(i);
	}
	(void)sigprocmask(SIG_SETMASK, &c->none, NULL);
	execvpe(c->argv[0], c->argv, c->envp);
fail:
	c->err = errno;
	_exit(127);
}

/*
 * Start C's child: clone(CLONE_VM | CLONE_VFORK) on exec_stack, every
 * signal blocked around it so that no handler of ours runs in the child.
 * Returns 0 with *pid (the child exec'd, or failed with c->err set and has
 * been reaped), or an errno value when no process could be made.
 */
static int
exec_clone(struct exec_child *c, pid_t *pid)
{
	sigset_t	all, old;
	int		e = 0, status;

	sigfillset(&all);
	sigemptyset(&c->none);
	memset(&c->dfl, 0, sizeof c->dfl);
	c->dfl.sa_handler = SIG_DFL;
	c->parent = getpid();
	c->err = 0;
	pthread_sigmask(SIG_SETMASK, &all, &old);
	*pid = clone(exec_child_main, exec_stack + sizeof exec_stack,
	    CLONE_VM | CLONE_VFORK | SIGCHLD, c);
	if (*pid == -1)
		e = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e == 0 && c->err != 0) {
		while (waitpid(*pid, &status, 0) == -1 && errno == EINTR)
			continue;
	}
	return (e);
}

/*
 * On the spawner thread: make SP's pipes and spawn its argv with its envp,
 * keeping our ends in sp->fd.  argv[0] without a slash is searched along
 * $PATH.  sp->error is set when no process could be made (no pipes, no
 * memory, no processes left); sp->exec_errno when the program could not be
 * executed (the child has been reaped).  System calls only: no log, no
 * allocation, nothing of the loop's.
 */
static void
exec_spawn_one(struct exec_spawn *sp)
{
	struct exec_child	 c;
	int			 in[2], out[2], err[2], e;
	pid_t			 pid;

	in[0] = in[1] = out[0] = out[1] = err[0] = err[1] = -1;
	sp->start_us = mono_us();
	if (exec_pipe(in, 1) != 0 || exec_pipe(out, 0) != 0 ||
	    exec_pipe(err, 0) != 0) {
		sp->error = errno;
		sp->what = "pipe";
		goto fail;
	}
	memset(&c, 0, sizeof c);
	c.argv = sp->argv;
	c.envp = sp->envp;
	c.fd[0] = in[0];
	c.fd[1] = out[1];
	c.fd[2] = err[1];
	/* No process or memory left: nothing is started. */
	if ((e = exec_clone(&c, &pid)) != 0) {
		sp->error = e;
		sp->what = "spawn";
		goto fail;
	}
	close(in[0]);
	close(out[1]);
	close(err[1]);
	sp->pid = pid;
	if (c.err != 0) {
		close(in[1]);
		close(out[0]);
		close(err[0]);
		sp->exec_errno = c.err;
		sp->end_us = mono_us();
		return;
	}
	sp->fd[0] = in[1];
	sp->fd[1] = out[0];
	sp->fd[2] = err[0];
	return;
fail:
	exec_close_pair(in);
	exec_close_pair(out);
	exec_close_pair(err);
	sp->end_us = mono_us();
}

/* Start the spawner thread; 0, or -1 with *cause set. */
static int
exec_thread_start(char **cause)
{
	sigset_t	all, old;
	int		error;

	/* Every signal stays the loop's, as for the journal writer. */
	pthread_mutex_lock(&exec_mtx);
	exec_stopping = 0;
	pthread_mutex_unlock(&exec_mtx);
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	error = pthread_create(&exec_thread, NULL, exec_thread_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (error != 0) {
		xasprintf(cause, "cannot start the spawner thread: %s",
		    strerror(error));
		return (-1);
	}
	exec_thread_running = 1;
	return (0);
}

/*
 * Stop the spawner thread and wait for it.  Starts still queued are handed
 * back not started (skipped).
 */
static void
exec_thread_stop(void)
{
	if (!exec_thread_running)
		return;
	pthread_mutex_lock(&exec_mtx);
	exec_stopping = 1;
	pthread_cond_signal(&exec_cond);
	pthread_mutex_unlock(&exec_mtx);
	pthread_join(exec_thread, NULL);
	exec_thread_running = 0;
}

/*
 * The spawner: take starts one at a time, make each process (the clone's
 * wait for the exec happens here, not on the loop) and hand it back on
 * exec_done, waking the loop through exec_wake once per batch.  Its
 * children's PR_SET_PDEATHSIG follows this thread: it runs until
 * exec_runtime_free, which kills them anyway.
 */
static void *
exec_thread_main(void *arg)
{
	struct exec_spawn	*sp;
	int			 skip, wake;

	for (;;) {
		pthread_mutex_lock(&exec_mtx);
		while ((STAILQ_EMPTY(&exec_queue) || exec_held) &&
		    !exec_stopping)
			pthread_cond_wait(&exec_cond, &exec_mtx);
		if ((sp = STAILQ_FIRST(&exec_queue)) == NULL) {
			pthread_mutex_unlock(&exec_mtx);
			break;
		}
		STAILQ_REMOVE_HEAD(&exec_queue, entry);
		skip = sp->cancelled || exec_stopping;
		pthread_mutex_unlock(&exec_mtx);

		if (skip)
			sp->skipped = 1;
		else
			exec_spawn_one(sp);

		pthread_mutex_lock(&exec_mtx);
		STAILQ_INSERT_TAIL(&exec_done, sp, entry);
		wake = !exec_notified;
		exec_notified = 1;
		pthread_mutex_unlock(&exec_mtx);
		if (wake && write(exec_wake[1], "", 1) == -1) {
			/* Full (EAGAIN): the loop has a wake-up to read. */
		}
	}
	return (NULL);
}

/*
 * For tests: while HOLD is set, the spawner takes no new start (those
 * handed to it wait in its queue).
 */
void
exec_spawner_hold(int hold)
{
	pthread_mutex_lock(&exec_mtx);
	exec_held = hold;
	pthread_cond_signal(&exec_cond);
	pthread_mutex_unlock(&exec_mtx);
}

/*
 * The loop's side: take back at most EXEC_SPAWNED_TURN starts, then let
 * other events run before the next ones (a burst of starts is handed back
 * a slice at a time).
 */
static void
exec_wake_cb(evutil_socket_t fd, short events, void *arg)
{
	struct exec_spawnq	 q;
	struct exec_spawn	*sp;
	char			 buf[64];
	int			 n, more;

	while (read(exec_wake[0], buf, sizeof buf) > 0)
		continue;
	STAILQ_INIT(&q);
	pthread_mutex_lock(&exec_mtx);
	exec_notified = 0;
	for (n = 0; n < EXEC_SPAWNED_TURN &&
	    (sp = STAILQ_FIRST(&exec_done)) != NULL; n++) {
		STAILQ_REMOVE_HEAD(&exec_done, entry);
		STAILQ_INSERT_TAIL(&q, sp, entry);
	}
	more = !STAILQ_EMPTY(&exec_done);
	pthread_mutex_unlock(&exec_mtx);
	while ((sp = STAILQ_FIRST(&q)) != NULL) {
		STAILQ_REMOVE_HEAD(&q, entry);
		exec_spawned(sp);
	}
	/* The rest on the next turn, after the loop polls again (an
	 * event_active here would run in this same pass). */
	if (more && write(exec_wake[1], "", 1) == -1 && errno != EAGAIN)
		log_warnx("msg=\"exec: cannot wake the loop\" error=\"%s\"",
		    strerror(errno));
}

/*
 * A start came back: watch its process, or end the job from the loop when
 * there is none (not executed, no process, or cancelled before it began).
 */
static void
exec_spawned(struct exec_spawn *sp)
{
	struct exec_job	*job = sp->job;
	int		 status;

	job->spawn = NULL;
	exec_nspawning--;
	job->start_us = sp->start_us;
	if (sp->skipped || sp->error != 0 || sp->exec_errno != 0) {
		job->reaped = 1;
		job->end_us = sp->end_us != 0 ? sp->end_us : mono_us();
		if (sp->skipped)
			job->start_us = job->end_us;
		else {
			job->exec_errno = sp->error != 0 ? sp->error :
			    sp->exec_errno;
			job->wstatus = W_EXITCODE(127, 0);
			if (sp->pid > 0)
				(void)exec_orphan_take(sp->pid, sp->start_us,
				    &status);
			log_trace(TRACE_EXEC, "msg=\"exec failed\" run=%s "
			    "operation=%s error=\"%s%s%s\"", job->run_id,
			    job->operation, sp->what != NULL ? sp->what : "",
			    sp->what != NULL ? ": " : "",
			    strerror(job->exec_errno));
		}
		/* End it from the loop, as a reaped child. */
		event_active(job->drain_ev, EV_TIMEOUT, 0);
	} else {
		job->pid = sp->pid;
		job->in.fd = sp->fd[0];
		job->out.fd = sp->fd[1];
		job->err.fd = sp->fd[2];
		LIST_INSERT_HEAD(&exec_bypid[job->pid % EXEC_PID_BUCKETS],
		    job, pid_entry);
		job->in_bypid = 1;
		exec_setup_events(job);
		log_trace(TRACE_EXEC, "msg=\"exec started\" run=%s "
		    "operation=%s pid=%ld deadline_ms=%" PRId64, job->run_id,
		    job->operation, (long)job->pid, job->deadline_ms);
		/* Aborted or detached while it was being started. */
		if (job->killed != EXEC_KILL_NONE)
			exec_begin_kill(job, job->detached ?
			    EXEC_KILL_OVERFLOW : job->killed);
		if (exec_orphan_take(job->pid, sp->start_us, &status))
			exec_reaped(job, status);
	}
	exec_spawn_free(sp);
	if (exec_nspawning == 0)
		exec_norphans = 0;	/* whatever is left is not ours */
}

static void
exec_spawn_free(struct exec_spawn *sp)
{
	exec_strv_free(sp->argv);
	exec_strv_free(sp->envp);
	free(sp);
}

/*
 * A child reaped while starts are with the spawner may be one of theirs,
 * reaped before its pid came back: keep its status for exec_spawned.
 */
static void
exec_orphan_add(pid_t pid, int status)
{
	if (exec_norphans == EXEC_ORPHANS_MAX) {
		log_warnx("msg=\"exec: too many early reaps\" pid=%ld",
		    (long)pid);
		return;
	}
	exec_orphans = xreallocarray(exec_orphans, exec_norphans + 1,
	    sizeof *exec_orphans);
	exec_orphans[exec_norphans].pid = pid;
	exec_orphans[exec_norphans].status = status;
	exec_orphans[exec_norphans].us = mono_us();
	exec_norphans++;
}

/*
 * Take the early reap of PID, if one happened after SINCE_US (the start's
 * clone: an older one is another process's): 1 with *status.
 */
static int
exec_orphan_take(pid_t pid, int64_t since_us, int *status)
{
	size_t	i;

	for (i = 0; i < exec_norphans; i++) {
		if (exec_orphans[i].pid != pid || exec_orphans[i].us < since_us)
			continue;
		*status = exec_orphans[i].status;
		exec_orphans[i] = exec_orphans[--exec_norphans];
		return (1);
	}
	return (0);
}

/* The job's timers, made when it is handed to the spawner. */
static void
exec_setup_timers(struct exec_job *job)
{
	job->deadline_ev = evtimer_new(exec_base, exec_deadline_cb, job);
	job->kill_ev = evtimer_new(exec_base, exec_kill_cb, job);
	job->drain_ev = evtimer_new(exec_base, exec_drain_cb, job);
	if (job->deadline_ev == NULL || job->kill_ev == NULL ||
	    job->drain_ev == NULL)
		fatalx("exec: event_new failed");
}

/* A started child's pipe events and deadline. */
static void
exec_setup_events(struct exec_job *job)
{
	job->in.ev = event_new(exec_base, job->in.fd, EV_WRITE | EV_PERSIST,
	    exec_write_cb, job);
	job->out.ev = event_new(exec_base, job->out.fd, EV_READ | EV_PERSIST,
	    exec_out_cb, job);
	job->err.ev = event_new(exec_base, job->err.fd, EV_READ | EV_PERSIST,
	    exec_err_cb, job);
	if (job->in.ev == NULL || job->out.ev == NULL || job->err.ev == NULL)
		fatalx("exec: event_new failed");
	if (job->in_len > 0)
		event_add(job->in.ev, NULL);
	else
		exec_pipe_close(&job->in);
	event_add(job->out.ev, NULL);
	event_add(job->err.ev, NULL);
	timeout_add_us(job->deadline_ev, job->deadline_ms * USEC_PER_MSEC);
}

/* Stop watching and close one pipe; its event is freed with the job. */
static void
exec_pipe_close(struct exec_pipe *p)
{
	if (p->fd == -1)
		return;
	if (p->ev != NULL)
		event_del(p->ev);
	close(p->fd);
	p->fd = -1;
}

/*
 * Signal the job's process group (the child is its leader from before its
 * exec); nothing when no process was started.
 */
static void
exec_signal(struct exec_job *job, int sig)
{
	if (job->pid <= 0)
		return;
	if (kill(-job->pid, sig) == -1 && errno != ESRCH)
		log_warn("msg=\"exec: kill\" run=%s pid=%ld signal=%d",
		    job->run_id, (long)job->pid, sig);
	if (sig == SIGKILL)
		job->sigkilled = 1;
}

/*
 * Start ending the job for WHY: SIGTERM now and SIGKILL after the grace
 * period (SIGKILL at once for an output overflow).  An abort wins over a
 * timeout already under way; the first reason otherwise stays.
 */
static void
exec_begin_kill(struct exec_job *job, enum exec_kill why)
{
	if (job->killed == EXEC_KILL_NONE || why == EXEC_KILL_ABORT)
		job->killed = why;
	evtimer_del(job->deadline_ev);
	exec_pipe_close(&job->in);
	if (why == EXEC_KILL_OVERFLOW || job->reaped) {
		exec_signal(job, SIGKILL);
		evtimer_del(job->kill_ev);
		if (job->reaped) {
			evtimer_del(job->drain_ev);
			event_active(job->drain_ev, EV_TIMEOUT, 0);
		}
		return;
	}
	if (!evtimer_pending(job->kill_ev, NULL) && !job->sigkilled) {
		exec_signal(job, SIGTERM);
		timeout_add_us(job->kill_ev,
		    EXEC_KILL_GRACE_MS * USEC_PER_MSEC);
	}
}

/* Feed the request to the child's stdin; EPIPE just ends the feeding. */
static void
exec_write_cb(evutil_socket_t fd, short events, void *arg)
{
	struct exec_job	*job = arg;
	ssize_t		 n;

	n = write(job->in.fd, job->in_buf + job->in_off,
	    job->in_len - job->in_off);
	if (n == -1) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		if (errno != EPIPE)
			log_trace(TRACE_EXEC, "msg=\"exec: write stdin\" "
			    "run=%s error=\"%s\"", job->run_id,
			    strerror(errno));
		exec_pipe_close(&job->in);
		return;
	}
	job->in_off += n;
	if (job->in_off == job->in_len)
		exec_pipe_close(&job->in);
}

/*
 * Read what stdout has; past EXEC_STDOUT_MAX stop reading and kill.
 * Returns 1 when more may come, 0 once the pipe is closed, -1 on EAGAIN.
 */
static int
exec_read_out(struct exec_job *job)
{
	ssize_t	n;

	if (job->out.fd == -1)
		return (0);
	if (job->out_len == job->out_size) {
		job->out_size = job->out_size == 0 ? 16384 : job->out_size * 2;
		if (job->out_size > job->out_max + 1)
			job->out_size = job->out_max + 1;
		job->out_buf = xreallocarray(job->out_buf, job->out_size, 1);
	}
	n = read(job->out.fd, job->out_buf + job->out_len,
	    job->out_size - job->out_len);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return (-1);
	if (n <= 0) {
		exec_pipe_close(&job->out);
		return (0);
	}
	job->out_len += n;
	if (job->out_len > job->out_max) {
		log_trace(TRACE_EXEC, "msg=\"exec: output bound\" run=%s",
		    job->run_id);
		exec_pipe_close(&job->out);
		exec_pipe_close(&job->err);
		exec_begin_kill(job, EXEC_KILL_OVERFLOW);
		return (0);
	}
	return (1);
}

/* Read stderr, keeping only its last EXEC_STDERR_TAIL bytes. */
static int
exec_read_err(struct exec_job *job)
{
	char	buf[EXEC_STDERR_TAIL];
	ssize_t	n;
	size_t	keep;

	if (job->err.fd == -1)
		return (0);
	n = read(job->err.fd, buf, sizeof buf);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return (-1);
	if (n <= 0) {
		exec_pipe_close(&job->err);
		return (0);
	}
	if (job->err_len + n > sizeof job->err_buf) {
		keep = sizeof job->err_buf - n;
		memmove(job->err_buf, job->err_buf + job->err_len - keep, keep);
		job->err_len = keep;
	}
	memcpy(job->err_buf + job->err_len, buf, n);
	job->err_len += n;
	return (1);
}

static void
exec_out_cb(evutil_socket_t fd, short events, void *arg)
{
	struct exec_job	*job = arg;

	if (exec_read_out(job) == 0)
		exec_check_done(job);
}

static void
exec_err_cb(evutil_socket_t fd, short events, void *arg)
{
	struct exec_job	*job = arg;

	if (exec_read_err(job) == 0)
		exec_check_done(job);
}

static void
exec_deadline_cb(evutil_socket_t fd, short events, void *arg)
{
	struct exec_job	*job = arg;

	log_trace(TRACE_EXEC, "msg=\"exec deadline\" run=%s pid=%ld",
	    job->run_id, (long)job->pid);
	exec_begin_kill(job, EXEC_KILL_TIMEOUT);
}

static void
exec_kill_cb(evutil_socket_t fd, short events, void *arg)
{
	struct exec_job	*job = arg;

	log_trace(TRACE_EXEC, "msg=\"exec kill\" run=%s pid=%ld",
	    job->run_id, (long)job->pid);
	exec_signal(job, SIGKILL);
}

/*
 * The child exited but something (a background process it left) still
 * holds its output pipes: take what is there, kill the rest of the group
 * and close them.
 */
static void
exec_drain_cb(evutil_socket_t fd, short events, void *arg)
{
	struct exec_job	*job = arg;

	while (exec_read_out(job) == 1)
		continue;
	while (exec_read_err(job) == 1)
		continue;
	if (job->out.fd != -1 || job->err.fd != -1) {
		log_trace(TRACE_EXEC, "msg=\"exec: output still open after "
		    "exit\" run=%s pid=%ld", job->run_id, (long)job->pid);
		exec_signal(job, SIGKILL);
	}
	exec_pipe_close(&job->out);
	exec_pipe_close(&job->err);
	exec_check_done(job);
}

/* SIGCHLD: reap every child that ended; ours are matched by pid. */
static void
exec_sigchld_cb(evutil_socket_t sig, short events, void *arg)
{
	struct exec_job	*job;
	pid_t		 pid;
	int		 status;

	for (;;) {
		pid = waitpid(-1, &status, WNOHANG);
		if (pid == -1 && errno == EINTR)
			continue;
		if (pid <= 0)
			break;
		LIST_FOREACH(job, &exec_bypid[pid % EXEC_PID_BUCKETS],
		    pid_entry) {
			if (job->pid == pid && !job->reaped)
				break;
		}
		if (job == NULL) {
			if (exec_nspawning > 0)
				exec_orphan_add(pid, status);
			else
				log_debug("msg=\"exec: reaped unknown "
				    "child\" pid=%ld", (long)pid);
			continue;
		}
		exec_reaped(job, status);
	}
}

/* The child is gone: note how. */
static void
exec_reaped(struct exec_job *job, int status)
{
	if (job->in_bypid) {
		LIST_REMOVE(job, pid_entry);
		job->in_bypid = 0;
	}
	job->reaped = 1;
	job->wstatus = status;
	job->end_us = mono_us();
	evtimer_del(job->deadline_ev);
	evtimer_del(job->kill_ev);
	exec_pipe_close(&job->in);
	if (job->out.fd != -1 || job->err.fd != -1)
		timeout_add_us(job->drain_ev, USEC_PER_MSEC *
		    (job->killed != EXEC_KILL_NONE ? 0 : EXEC_DRAIN_MS));
	exec_check_done(job);
}

/* Once reaped with both pipes closed: build the result, call back. */
static void
exec_check_done(struct exec_job *job)
{
	struct exec_result	*r;

	if (job->finished || !job->reaped || job->out.fd != -1 ||
	    job->err.fd != -1)
		return;
	job->finished = 1;
	evtimer_del(job->drain_ev);
	LIST_REMOVE(job, entry);
	exec_nlive--;
	LIST_INSERT_HEAD(&exec_dead, job, entry);
	event_active(exec_gc_ev, EV_TIMEOUT, 0);
	if (job->detached)
		return;
	if (job->out_cb != NULL) {
		exec_output_done(job);
		return;
	}
	r = exec_make_result(job);
	log_info("msg=\"exec finished\" run=%s operation=%s pid=%ld "
	    "status=%s exit=%d duration_ms=%" PRId64, job->run_id,
	    job->operation, (long)job->pid, exec_status_name(r->status),
	    r->exit_code, r->duration_us / 1000);
	job->cb(r, job->arg);
}

/*
 * An exec_run job ended: its outcome to its callback.  The error says how
 * it ended, never what it printed (its output may be a secret).
 */
static void
exec_output_done(struct exec_job *job)
{
	struct exec_output	 o;
	int			 st = job->wstatus;

	memset(&o, 0, sizeof o);
	o.out = job->out_buf != NULL ? job->out_buf : "";
	o.out_len = job->out_len;
	if (job->killed == EXEC_KILL_TIMEOUT)
		xasprintf(&o.error, "timed out after %" PRId64 " ms",
		    job->deadline_ms);
	else if (job->killed == EXEC_KILL_OVERFLOW)
		xasprintf(&o.error, "output larger than %zu bytes",
		    job->out_max);
	else if (job->killed == EXEC_KILL_ABORT)
		o.error = xstrdup("cancelled");
	else if (job->exec_errno != 0)
		xasprintf(&o.error, "cannot run: %s",
		    strerror(job->exec_errno));
	else if (WIFSIGNALED(st))
		xasprintf(&o.error, "killed by signal %d", WTERMSIG(st));
	else if (!WIFEXITED(st))
		xasprintf(&o.error, "ended with wait status %d", st);
	else if (WEXITSTATUS(st) != 0)
		xasprintf(&o.error, "exited with status %d", WEXITSTATUS(st));
	else
		o.ok = 1;
	log_trace(TRACE_EXEC, "msg=\"exec finished\" operation=%s pid=%ld "
	    "ok=%d", job->operation, (long)job->pid, o.ok);
	job->out_cb(&o, job->arg);
	free(o.error);
	if (job->out_buf != NULL)
		explicit_bzero(job->out_buf, job->out_size);
}

static struct exec_result *
exec_make_result(struct exec_job *job)
{
	struct exec_result	*r;
	char			*tail;
	int			 st = job->wstatus;

	r = xcalloc(1, sizeof *r);
	r->status = EXEC_FAILED;
	r->input_tokens = r->output_tokens = r->cost_micro = -1;
	r->duration_us = job->end_us - job->start_us;
	/* A command may fail for passing reasons; its policy decides. */
	r->retryable = 1;
	r->retry_after_ms = -1;
	if (WIFEXITED(st))
		r->exit_code = WEXITSTATUS(st);
	else if (WIFSIGNALED(st))
		r->exit_code = -WTERMSIG(st);

	switch (job->killed) {
	case EXEC_KILL_TIMEOUT:
		r->status = EXEC_TIMEOUT;
		xasprintf(&r->error, "timed out after %" PRId64 "ms",
		    job->deadline_ms);
		return (r);
	case EXEC_KILL_ABORT:
		r->status = EXEC_CANCELLED;
		r->error = xstrdup("cancelled");
		return (r);
	case EXEC_KILL_OVERFLOW:
		xasprintf(&r->error, "output exceeds %d MiB",
		    EXEC_STDOUT_MAX / (1024 * 1024));
		return (r);
	case EXEC_KILL_NONE:
		break;
	}
	if (job->exec_errno != 0) {
		xasprintf(&r->error, "exec %s: %s", job->argv0,
		    strerror(job->exec_errno));
		exec_sanitize(r->error);
	} else if (WIFSIGNALED(st))
		xasprintf(&r->error, "killed by signal %d", WTERMSIG(st));
	else if (!WIFEXITED(st))
		xasprintf(&r->error, "ended with wait status %d", st);
	else if (WEXITSTATUS(st) != 0) {
		tail = exec_stderr_tail(job);
		if (*tail == '\0')
			xasprintf(&r->error, "exit status %d",
			    WEXITSTATUS(st));
		else
			xasprintf(&r->error, "exit status %d: %s",
			    WEXITSTATUS(st), tail);
		free(tail);
	} else
		exec_parse_output(job->out_buf, job->out_len, r);
	return (r);
}

static void
exec_bad_output(struct exec_result *r, const char *fmt, ...)
{
	va_list	 ap;
	char	*msg;

	va_start(ap, fmt);
	xvasprintf(&msg, fmt, ap);
	va_end(ap);
	free(r->error);
	xasprintf(&r->error, "bad output: %s", msg);
	free(msg);
	exec_sanitize(r->error);
	r->status = EXEC_FAILED;
	free(r->result);
	free(r->model);
	r->result = r->model = NULL;
	r->input_tokens = r->output_tokens = r->cost_micro = -1;
}

/* One optional non-negative integer of "usage"; -1 when absent. */
static int
exec_parse_tokens(json_t *usage, const char *key, int64_t *out)
{
	json_t	*v;

	*out = -1;
	if (usage == NULL || (v = json_object_get(usage, key)) == NULL ||
	    json_is_null(v))
		return (0);
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return (-1);
	*out = json_integer_value(v);
	return (0);
}

/*
 * An executor's answer (exec: stdout after exit 0; http: a 2xx body) must be
 * {"result": ..., "model", "usage", "cost_usd"}.  Sets R's status to
 * EXEC_SUCCESS and fills it, or EXEC_FAILED with "bad output: ...".
 */
void
exec_parse_output(const char *buf, size_t len, struct exec_result *r)
{
	json_t		*root, *v, *usage;
	json_error_t	 err;

	if (len == 0) {
		exec_bad_output(r, "no output");
		return;
	}
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &err);
	if (root == NULL) {
		exec_bad_output(r, "%s at line %d column %d", err.text,
		    err.line, err.column);
		return;
	}
	r->status = EXEC_SUCCESS;
	if (!json_is_object(root))
		exec_bad_output(r, "not a JSON object");
	else if ((v = json_object_get(root, "result")) == NULL)
		exec_bad_output(r, "no \"result\"");
	else if ((r->result = json_dumps(v, JSON_COMPACT |
	    JSON_ENCODE_ANY)) == NULL)
		exec_bad_output(r, "cannot encode \"result\"");
	else if (strlen(r->result) > EXEC_RESULT_MAX)
		exec_bad_output(r, "result is larger than %d bytes",
		    EXEC_RESULT_MAX);
	else if ((v = json_object_get(root, "model")) != NULL &&
	    !json_is_null(v) && !json_is_string(v))
		exec_bad_output(r, "model must be a string");
	else if ((usage = json_object_get(root, "usage")) != NULL &&
	    !json_is_null(usage) && !json_is_object(usage))
		exec_bad_output(r, "usage must be an object");
	else if (exec_parse_tokens(usage, "input_tokens",
	    &r->input_tokens) != 0 || exec_parse_tokens(usage,
	    "output_tokens", &r->output_tokens) != 0)
		exec_bad_output(r, "usage tokens must be non-negative "
		    "integers");
	else if ((v = json_object_get(root, "cost_usd")) != NULL &&
	    !json_is_null(v) && parse_usd_json(v, &r->cost_micro) != 0)
		exec_bad_output(r, "cost_usd must be a non-negative USD "
		    "amount with at most 6 decimals");
	else if ((v = json_object_get(root, "model")) != NULL &&
	    json_is_string(v))
		r->model = xstrdup(json_string_value(v));
	json_decref(root);
}

/*
 * The end of stderr for an error message: trailing blank space dropped,
 * at most EXEC_ERROR_TAIL bytes starting at a line if one fits, lines
 * joined with " | ", control characters and bad UTF-8 replaced.
 */
static char *
exec_stderr_tail(struct exec_job *job)
{
	const char	*s = job->err_buf, *nl;
	size_t		 len = job->err_len, start = 0, i, n;
	char		*out;

	while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r' ||
	    s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (len > EXEC_ERROR_TAIL) {
		start = len - EXEC_ERROR_TAIL;
		nl = memchr(s + start, '\n', len - start);
		if (nl != NULL && nl + 1 < s + len)
			start = nl + 1 - s;
		else
			while (start < len &&
			    ((unsigned char)s[start] & 0xc0) == 0x80)
				start++;
	}
	while (start < len && (s[start] == ' ' || s[start] == '\t' ||
	    s[start] == '\n' || s[start] == '\r'))
		start++;
	out = xmalloc(3 * (len - start) + 1);
	for (i = start, n = 0; i < len; i++) {
		if (s[i] == '\r')
			continue;
		if (s[i] == '\n') {
			memcpy(out + n, " | ", 3);
			n += 3;
		} else
			out[n++] = s[i];
	}
	out[n] = '\0';
	exec_sanitize(out);
	return (out);
}

/* In place: control characters become spaces, bad UTF-8 becomes '?'. */
void
exec_sanitize(char *s)
{
	unsigned char	*p = (unsigned char *)s;
	size_t		 i, need;
	uint32_t	 cp;

	while (*p != '\0') {
		if (*p < 0x20 || *p == 0x7f) {
			*p++ = ' ';
			continue;
		}
		if (*p < 0x80) {
			p++;
			continue;
		}
		if (*p >= 0xc2 && *p <= 0xdf)
			need = 1, cp = *p & 0x1f;
		else if (*p >= 0xe0 && *p <= 0xef)
			need = 2, cp = *p & 0x0f;
		else if (*p >= 0xf0 && *p <= 0xf4)
			need = 3, cp = *p & 0x07;
		else {
			*p++ = '?';
			continue;
		}
		for (i = 1; i <= need; i++) {
			if ((p[i] & 0xc0) != 0x80)
				break;
			cp = (cp << 6) | (p[i] & 0x3f);
		}
		if (i <= need || (need == 2 && (cp < 0x800 ||
		    (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (need == 3 && (cp < 0x10000 || cp > 0x10ffff))) {
			*p++ = '?';
			continue;
		}
		p += need + 1;
	}
}

/* The environment block of process PID (allocated), or NULL. */
static char *
exec_proc_environ(pid_t pid, size_t *len)
{
	char	 path[64], *buf;
	ssize_t	 n;
	size_t	 off = 0;
	int	 fd;

	snprintf(path, sizeof path, "/proc/%ld/environ", (long)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return (NULL);
	buf = xmalloc(EXEC_ENVIRON_MAX + 1);
	while (off < EXEC_ENVIRON_MAX) {
		n = read(fd, buf + off, EXEC_ENVIRON_MAX - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += n;
	}
	close(fd);
	buf[off] = '\0';
	*len = off;
	return (buf);
}

/* The value of NAME in an environment block of LEN bytes, or NULL. */
static const char *
exec_env_find(const char *env, size_t len, const char *name)
{
	size_t	nlen = strlen(name), i = 0;

	while (i < len) {
		if (strncmp(env + i, name, nlen) == 0 && env[i + nlen] == '=')
			return (env + i + nlen + 1);
		i += strlen(env + i) + 1;
	}
	return (NULL);
}

/*
 * Kill (SIGKILL) every process an earlier start of this daemon left: those
 * whose environment holds our CHIME_INSTANCE, with their process groups.
 * Called at start, before runs in flight are settled, so that an operation
 * that outlived a crash cannot finish its work beside its retry.  Scans
 * /proc until none is left (at most a few rounds).  Returns how many
 * processes were killed.
 */
int
exec_kill_survivors(void)
{
	DIR		*d;
	struct dirent	*de;
	const char	*tag, *run;
	char		*env;
	size_t		 len, i, nseen = 0;
	pid_t		 pid, pgid, self = getpid(), *seen = NULL;
	int		 round, found;

	if (exec_instance == NULL)
		return (0);
	for (round = 0; round < 5; round++) {
		if ((d = opendir("/proc")) == NULL)
			break;
		found = 0;
		while ((de = readdir(d)) != NULL) {
			if (!isdigit((unsigned char)de->d_name[0]))
				continue;
			pid = (pid_t)strtol(de->d_name, NULL, 10);
			if (pid <= 1 || pid == self ||
			    (env = exec_proc_environ(pid, &len)) == NULL)
				continue;
			tag = exec_env_find(env, len, "CHIME_INSTANCE");
			if (tag == NULL || strcmp(tag, exec_instance) != 0) {
				free(env);
				continue;
			}
			found++;
			pgid = getpgid(pid);
			if (pgid > 1 && pgid != getpgrp())
				kill(-pgid, SIGKILL);
			kill(pid, SIGKILL);
			for (i = 0; i < nseen && seen[i] != pid; i++)
				continue;
			if (i == nseen) {
				run = exec_env_find(env, len, "CHIME_RUN_ID");
				log_warnx("msg=\"operation outlived the daemon: "
				    "killed\" run=%s pid=%ld pgid=%ld",
				    log_escape(run != NULL ? run : "-"),
				    (long)pid, (long)pgid);
				seen = xreallocarray(seen, nseen + 1,
				    sizeof *seen);
				seen[nseen++] = pid;
			}
			free(env);
		}
		closedir(d);
		if (found == 0)
			break;
		/* Let the killed ones go before looking again. */
		poll(NULL, 0, 20);
	}
	free(seen);
	return ((int)nseen);
}

/* Free the jobs whose callbacks have run (from an event of our own). */
static void
exec_gc_cb(evutil_socket_t fd, short events, void *arg)
{
	struct exec_job	*job;

	while ((job = LIST_FIRST(&exec_dead)) != NULL) {
		LIST_REMOVE(job, entry);
		exec_job_free(job);
	}
}

static void
exec_job_free(struct exec_job *job)
{
	if (job->in_bypid)
		LIST_REMOVE(job, pid_entry);
	exec_pipe_close(&job->in);
	exec_pipe_close(&job->out);
	exec_pipe_close(&job->err);
	if (job->in.ev != NULL)
		event_free(job->in.ev);
	if (job->out.ev != NULL)
		event_free(job->out.ev);
	if (job->err.ev != NULL)
		event_free(job->err.ev);
	if (job->deadline_ev != NULL)
		event_free(job->deadline_ev);
	if (job->kill_ev != NULL)
		event_free(job->kill_ev);
	if (job->drain_ev != NULL)
		event_free(job->drain_ev);
	free(job->in_buf);
	free(job->out_buf);
	free(job->run_id);
	free(job->operation);
	free(job->argv0);
	free(job);
}
