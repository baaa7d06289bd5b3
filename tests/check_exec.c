/*
 * tests/check_exec.c: the exec executor (engine/exec.c), the table of
 * executors (engine/executor.c), the catalog (engine/catalog.c) and the
 * cost model (actors/cost.c).
 *
 * Exec tests run real child processes (/bin/sh and coreutils) on a libevent
 * loop and wait for their callbacks by running the loop, never by sleeping.
 */
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <event2/event.h>
#include <jansson.h>

#include "engine.h"
#include "actors.h"
#include "lib.h"

static struct event_base	*base;
static char			*test_argv[8];
static struct operation		 test_op;

/* ---- helpers ---------------------------------------------------------- */

static void
exec_setup(void)
{
	log_open("check_exec", LOG_LEVEL_WARN);
	base = event_base_new();
	ck_assert_ptr_nonnull(base);
	exec_runtime_init(base);
}

static void
exec_teardown(void)
{
	exec_runtime_free();
	event_base_free(base);
	base = NULL;
}

/* An exec operation running SCRIPT with /bin/sh -c. */
static struct operation *
sh_op(const char *script)
{
	memset(&test_op, 0, sizeof test_op);
	test_argv[0] = "/bin/sh";
	test_argv[1] = "-c";
	test_argv[2] = (char *)script;
	test_argv[3] = NULL;
	test_op.id = "test-op";
	test_op.executor = EXECUTOR_EXEC;
	test_op.argv = test_argv;
	test_op.timeout_ms = 20000;
	test_op.default_model = "m1";
	return (&test_op);
}

static void
default_request(struct exec_request *req)
{
	memset(req, 0, sizeof *req);
	req->run_id = "run-1";
	req->operation = "test-op";
	req->account = "acct-1";
	req->model = "deepseek";
	req->parameters = "{\"x\": 1, \"text\": \"h\\u00e9llo \\\"q\\\"\"}";
}

/* Start SCRIPT with REQ (or the default request) and wait for its end. */
static struct exec_result *
run_script(const char *script, const struct exec_request *req)
{
	struct exec_request	 def;
	struct outcome		 o = { 0, NULL };
	struct exec_job		*job;
	char			*cause = NULL;

	if (req == NULL) {
		default_request(&def);
		req = &def;
	}
	job = exec_start(sh_op(script), req, lib_done, &o, &cause);
	ck_assert_msg(job != NULL, "exec_start: %s", cause);
	lib_wait_all(base, &o, 1);
	ck_assert_int_eq(exec_running(), 0);
	return (o.r);
}

static void
assert_failed_with(struct exec_result *r, const char *error)
{
	ck_assert_int_eq(r->status, EXEC_FAILED);
	ck_assert_ptr_nonnull(r->error);
	ck_assert_str_eq(r->error, error);
	ck_assert_ptr_null(r->result);
}

/* ---- exec ------------------------------------------------------------- */

/* A well-behaved child: result, model, usage and cost are parsed. */
START_TEST(test_exec_success)
{
	struct exec_result	*r;

	r = run_script("cat >/dev/null; printf '{\"result\": {\"ok\": true, "
	    "\"n\": [1, 2]}, \"model\": \"m-reported\", \"usage\": "
	    "{\"input_tokens\": 12, \"output_tokens\": 34}, "
	    "\"cost_usd\": \"0.0015\"}\\n'", NULL);
	ck_assert_int_eq(r->status, EXEC_SUCCESS);
	ck_assert_ptr_null(r->error);
	ck_assert_str_eq(r->result, "{\"ok\":true,\"n\":[1,2]}");
	ck_assert_str_eq(r->model, "m-reported");
	ck_assert_int_eq(r->input_tokens, 12);
	ck_assert_int_eq(r->output_tokens, 34);
	ck_assert_int_eq(r->cost_micro, 1500);
	ck_assert_int_eq(r->exit_code, 0);
	ck_assert_int_ge(r->duration_us, 0);
	exec_result_free(r);
}
END_TEST

/* Optional fields left out are reported as absent (-1, NULL). */
START_TEST(test_exec_success_minimal)
{
	struct exec_result	*r;

	r = run_script("printf '{\"result\": \"plain\", \"cost_usd\": 0.25}'",
	    NULL);
	ck_assert_int_eq(r->status, EXEC_SUCCESS);
	ck_assert_str_eq(r->result, "\"plain\"");
	ck_assert_ptr_null(r->model);
	ck_assert_int_eq(r->input_tokens, -1);
	ck_assert_int_eq(r->output_tokens, -1);
	ck_assert_int_eq(r->cost_micro, 250000);
	exec_result_free(r);
}
END_TEST

/* Exit 0 with stdout that is not JSON is a failure, "bad output". */
START_TEST(test_exec_output_bad)
{
	struct exec_result	*r;

	r = run_script("echo 'all done!'", NULL);
	ck_assert_int_eq(r->status, EXEC_FAILED);
	ck_assert_ptr_nonnull(r->error);
	ck_assert_msg(strncmp(r->error, "bad output: ", 12) == 0, "%s",
	    r->error);
	ck_assert_ptr_null(r->result);
	exec_result_free(r);

	r = run_script("true", NULL);
	assert_failed_with(r, "bad output: no output");
	exec_result_free(r);

	r = run_script("echo '[1, 2]'", NULL);
	assert_failed_with(r, "bad output: not a JSON object");
	exec_result_free(r);

	r = run_script("echo '{\"model\": \"x\"}'", NULL);
	assert_failed_with(r, "bad output: no \"result\"");
	exec_result_free(r);

	r = run_script("echo '{\"result\": 1} trailing'", NULL);
	ck_assert_int_eq(r->status, EXEC_FAILED);
	ck_assert_ptr_nonnull(strstr(r->error, "bad output: "));
	exec_result_free(r);
}
END_TEST

/* Bad usage, model or cost fields are refused, not guessed at. */
START_TEST(test_exec_usage_bad)
{
	struct exec_result	*r;

	r = run_script("echo '{\"result\": 1, \"usage\": {\"input_tokens\": "
	    "-5}}'", NULL);
	assert_failed_with(r, "bad output: usage tokens must be non-negative "
	    "integers");
	ck_assert_int_eq(r->input_tokens, -1);
	exec_result_free(r);

	r = run_script("echo '{\"result\": 1, \"usage\": {\"output_tokens\": "
	    "\"7\"}}'", NULL);
	assert_failed_with(r, "bad output: usage tokens must be non-negative "
	    "integers");
	exec_result_free(r);

	r = run_script("echo '{\"result\": 1, \"usage\": 3}'", NULL);
	assert_failed_with(r, "bad output: usage must be an object");
	exec_result_free(r);

	r = run_script("echo '{\"result\": 1, \"model\": 3}'", NULL);
	assert_failed_with(r, "bad output: model must be a string");
	exec_result_free(r);

	r = run_script("echo '{\"result\": 1, \"cost_usd\": \"-1\"}'", NULL);
	assert_failed_with(r, "bad output: cost_usd must be a non-negative USD "
	    "amount with at most 6 decimals");
	exec_result_free(r);
}
END_TEST

/* A result bigger than the result bound is an error, never truncated. */
START_TEST(test_exec_result_bound_bad)
{
	struct exec_result	*r;

	r = run_script("printf '{\"result\": \"'; head -c 300000 /dev/zero | "
	    "tr '\\0' a; printf '\"}'", NULL);
	assert_failed_with(r, "bad output: result is larger than 262144 "
	    "bytes");
	exec_result_free(r);
}
END_TEST

/* The child reads the request JSON on stdin, byte for byte. */
START_TEST(test_exec_stdin)
{
	struct exec_result	*r;
	json_t			*doc, *params;
	json_error_t		 err;

	r = run_script("printf '{\"result\": '; cat; printf '}'", NULL);
	ck_assert_int_eq(r->status, EXEC_SUCCESS);
	doc = json_loads(r->result, 0, &err);
	ck_assert_ptr_nonnull(doc);
	ck_assert_str_eq(json_string_value(json_object_get(doc, "run_id")),
	    "run-1");
	ck_assert_str_eq(json_string_value(json_object_get(doc, "operation")),
	    "test-op");
	ck_assert_str_eq(json_string_value(json_object_get(doc, "account")),
	    "acct-1");
	ck_assert_str_eq(json_string_value(json_object_get(doc, "model")),
	    "deepseek");
	ck_assert_int_eq(json_integer_value(json_object_get(doc,
	    "deadline_ms")), 20000);
	params = json_object_get(doc, "parameters");
	ck_assert(json_is_object(params));
	ck_assert_int_eq(json_integer_value(json_object_get(params, "x")), 1);
	ck_assert_str_eq(json_string_value(json_object_get(params, "text")),
	    "h\xc3\xa9llo \"q\"");
	ck_assert_int_eq(json_object_size(doc), 6);
	json_decref(doc);
	exec_result_free(r);
}
END_TEST

/* Parameters that are not a JSON object start nothing. */
START_TEST(test_exec_stdin_bad)
{
	struct exec_request	 req;
	struct outcome		 o = { 0, NULL };
	char			*cause = NULL;

	default_request(&req);
	req.parameters = "[1, 2]";
	ck_assert_ptr_null(exec_start(sh_op("true"), &req, lib_done, &o,
	    &cause));
	ck_assert_str_eq(cause, "parameters: not a JSON object");
	free(cause);
	cause = NULL;
	req.parameters = "{\"x\": ";
	ck_assert_ptr_null(exec_start(sh_op("true"), &req, lib_done, &o,
	    &cause));
	ck_assert_msg(strncmp(cause, "parameters: ", 12) == 0, "%s", cause);
	free(cause);
	ck_assert_int_eq(exec_running(), 0);
	ck_assert_int_eq(o.calls, 0);
}
END_TEST

/* Non-zero exit: the error carries the status and stderr's last lines. */
START_TEST(test_exec_exit_status_bad)
{
	struct exec_result	*r;

	r = run_script("echo 'warming up' >&2; echo 'disk on fire' >&2; "
	    "echo '{\"result\": 1}'; exit 3", NULL);
	assert_failed_with(r, "exit status 3: warming up | disk on fire");
	ck_assert_int_eq(r->exit_code, 3);
	exec_result_free(r);

	r = run_script("exit 1", NULL);
	assert_failed_with(r, "exit status 1");
	exec_result_free(r);
}
END_TEST

/* A long stderr is cut to its tail, about 1 KiB, at a line boundary. */
START_TEST(test_exec_stderr_tail_bad)
{
	struct exec_result	*r;
	size_t			 len;

	r = run_script("i=0; while [ $i -lt 400 ]; do echo \"line $i of "
	    "noise\" >&2; i=$((i + 1)); done; printf 'bad\\tbyte \\377\\n' >&2;"
	    " echo 'the real reason' >&2; exit 2", NULL);
	ck_assert_int_eq(r->status, EXEC_FAILED);
	len = strlen(r->error);
	ck_assert_msg(len < 1300, "error is %zu bytes", len);
	ck_assert_msg(strncmp(r->error, "exit status 2: line ", 20) == 0,
	    "%s", r->error);
	ck_assert_ptr_nonnull(strstr(r->error,
	    "bad byte ? | the real reason"));
	len = strlen(" | the real reason");
	ck_assert_str_eq(r->error + strlen(r->error) - len,
	    " | the real reason");
	exec_result_free(r);
}
END_TEST

/* A child killed by a signal says which. */
START_TEST(test_exec_signal_bad)
{
	struct exec_result	*r;

	r = run_script("kill -9 $$", NULL);
	assert_failed_with(r, "killed by signal 9");
	ck_assert_int_eq(r->exit_code, -9);
	exec_result_free(r);
}
END_TEST

/* At its deadline the group gets SIGTERM: status TIMEOUT. */
START_TEST(test_exec_timeout)
{
	struct exec_request	 req;
	struct exec_result	*r;

	default_request(&req);
	req.deadline_ms = 300;
	r = run_script("sleep 30", &req);
	ck_assert_int_eq(r->status, EXEC_TIMEOUT);
	ck_assert_str_eq(r->error, "timed out after 300ms");
	ck_assert_int_eq(r->exit_code, -SIGTERM);
	ck_assert_int_lt(r->duration_us, 5 * USEC_PER_SEC);
	exec_result_free(r);
}
END_TEST

/* A child that ignores SIGTERM gets SIGKILL five seconds later. */
START_TEST(test_exec_timeout_bad)
{
	struct exec_request	 req;
	struct exec_result	*r;

	default_request(&req);
	req.deadline_ms = 500;
	r = run_script("trap '' TERM; sleep 30; echo survived", &req);
	ck_assert_int_eq(r->status, EXEC_TIMEOUT);
	ck_assert_str_eq(r->error, "timed out after 500ms");
	ck_assert_int_eq(r->exit_code, -SIGKILL);
	ck_assert_int_ge(r->duration_us, 5 * USEC_PER_SEC);
	exec_result_free(r);
}
END_TEST

/* Exactly 1 MiB of output is still accepted. */
START_TEST(test_exec_output_bound)
{
	struct exec_result	*r;

	r = run_script("printf '{\"result\": 7}'; head -c 1048563 /dev/zero | "
	    "tr '\\0' ' '", NULL);
	ck_assert_int_eq(r->status, EXEC_SUCCESS);
	ck_assert_str_eq(r->result, "7");
	exec_result_free(r);
}
END_TEST

/* More than 1 MiB of output: reading stops and the child is killed. */
START_TEST(test_exec_output_bound_bad)
{
	struct exec_result	*r;

	r = run_script("yes 'endless output'", NULL);
	assert_failed_with(r, "output exceeds 1 MiB");
	ck_assert_int_lt(r->duration_us, 5 * USEC_PER_SEC);
	exec_result_free(r);

	r = run_script("printf '{\"result\": 7}'; head -c 1048564 /dev/zero | "
	    "tr '\\0' ' '", NULL);
	assert_failed_with(r, "output exceeds 1 MiB");
	exec_result_free(r);
}
END_TEST

/* A program that does not exist ends the job FAILED, not the process. */
START_TEST(test_exec_missing_bad)
{
	struct exec_request	 req;
	struct outcome		 o[3];
	struct operation	 ops[3];
	char			*argv[3][2] = {
		{ "/nonexistent/chime-test-program", NULL },
		{ "chime-test-no-such-program", NULL },
		{ "/etc/passwd", NULL },
	};
	const char		*want[3] = {
		"exec /nonexistent/chime-test-program: No such file or "
		"directory",
		"exec chime-test-no-such-program: No such file or directory",
		"exec /etc/passwd: Permission denied",
	};
	char			*cause = NULL;
	int			 i;

	default_request(&req);
	memset(o, 0, sizeof o);
	for (i = 0; i < 3; i++) {
		ops[i] = *sh_op("true");
		ops[i].argv = argv[i];
		ck_assert_ptr_nonnull(exec_start(&ops[i], &req, lib_done, &o[i],
		    &cause));
	}
	lib_wait_all(base, o, 3);
	for (i = 0; i < 3; i++) {
		assert_failed_with(o[i].r, want[i]);
		ck_assert_int_eq(o[i].r->exit_code, 127);
		exec_result_free(o[i].r);
	}
}
END_TEST

/*
 * A job whose program cannot be executed has no process: an abort still
 * ends it once (CANCELLED), and one left at shutdown is freed, not called.
 */
START_TEST(test_exec_missing_abort_bad)
{
	struct exec_request	 req;
	struct operation	 op;
	struct outcome		 o[2];
	struct exec_job		*job;
	char			*argv[] = { "/nonexistent/chime-test-program",
				    NULL };
	char			*cause = NULL;
	pid_t			 pid;
	int			 status;

	default_request(&req);
	memset(o, 0, sizeof o);
	op = *sh_op("true");
	op.argv = argv;
	job = exec_start(&op, &req, lib_done, &o[0], &cause);
	ck_assert_ptr_nonnull(job);
	ck_assert_int_eq(o[0].calls, 0);	/* later, from the loop */
	ck_assert_int_eq(exec_running(), 1);
	exec_abort(job);
	lib_wait_all(base, &o[0], 1);
	ck_assert_int_eq(o[0].r->status, EXEC_CANCELLED);
	ck_assert_int_eq(exec_running(), 0);
	exec_result_free(o[0].r);

	ck_assert_ptr_nonnull(exec_start(&op, &req, lib_done, &o[1], &cause));
	ck_assert_int_eq(exec_running(), 1);
	exec_runtime_free();
	ck_assert_int_eq(o[1].calls, 0);
	ck_assert_int_eq(exec_running(), 0);
	pid = waitpid(-1, &status, WNOHANG);
	ck_assert_int_eq(pid, -1);
	ck_assert_int_eq(errno, ECHILD);
	exec_runtime_init(base);
}
END_TEST

/* An operation without a command is refused at the start. */
START_TEST(test_exec_http_bad)
{
	struct exec_request	 req;
	struct operation	 op;
	struct outcome		 o = { 0, NULL };
	char			*cause = NULL;

	default_request(&req);
	op = *sh_op("true");
	op.executor = EXECUTOR_HTTP;
	op.argv = NULL;
	op.url = "https://example.invalid/";
	ck_assert_ptr_null(exec_start(&op, &req, lib_done, &o, &cause));
	ck_assert_str_eq(cause, "operation test-op has no command to execute");
	free(cause);
	ck_assert_int_eq(exec_running(), 0);
}
END_TEST

static void
abort_cb(evutil_socket_t fd, short events, void *arg)
{
	exec_abort(arg);
}

/* exec_abort: the child is stopped and the callback says CANCELLED. */
START_TEST(test_exec_abort)
{
	struct exec_request	 req;
	struct outcome		 o[2];
	struct exec_job		*job[2];
	struct timeval		 tv = { 0, 100000 };
	struct event		*ev;
	char			*cause = NULL;
	int			 i;

	default_request(&req);
	memset(o, 0, sizeof o);
	for (i = 0; i < 2; i++) {
		job[i] = exec_start(sh_op("sleep 30"), &req, lib_done, &o[i],
		    &cause);
		ck_assert_ptr_nonnull(job[i]);
	}
	ck_assert_int_eq(exec_running(), 2);
	exec_abort(job[0]);		/* at once, maybe before exec */
	ev = evtimer_new(base, abort_cb, job[1]);
	evtimer_add(ev, &tv);		/* from the loop, later */
	lib_wait_all(base, o, 2);
	event_free(ev);
	for (i = 0; i < 2; i++) {
		ck_assert_int_eq(o[i].r->status, EXEC_CANCELLED);
		ck_assert_str_eq(o[i].r->error, "cancelled");
		ck_assert_int_lt(o[i].r->duration_us, 5 * USEC_PER_SEC);
		exec_result_free(o[i].r);
	}
	ck_assert_int_eq(exec_running(), 0);
}
END_TEST

/* The child said it is ready (on a FIFO): abort it now. */
static void
ready_cb(evutil_socket_t fd, short events, void *arg)
{
	char	buf[64];

	if (read(fd, buf, sizeof buf) > 0)
		exec_abort(arg);
}

/* Aborting a child that ignores SIGTERM still ends it, once. */
START_TEST(test_exec_abort_bad)
{
	struct exec_request	 req;
	struct outcome		 o = { 0, NULL };
	struct exec_job		*job;
	struct event		*ev;
	char			 dir[] = "/tmp/check_exec.XXXXXX", fifo[64];
	char			*cause = NULL, *script;
	int			 fd;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(fifo, sizeof fifo, "%s/ready", dir);
	ck_assert_int_eq(mkfifo(fifo, 0600), 0);
	fd = open(fifo, O_RDONLY | O_NONBLOCK);
	ck_assert_int_ne(fd, -1);
	xasprintf(&script, "trap '' TERM; echo ready >%s; sleep 30", fifo);
	default_request(&req);
	job = exec_start(sh_op(script), &req, lib_done, &o, &cause);
	ck_assert_ptr_nonnull(job);
	ev = event_new(base, fd, EV_READ, ready_cb, job);
	event_add(ev, NULL);
	lib_wait_all(base, &o, 1);
	ck_assert_int_eq(o.r->status, EXEC_CANCELLED);
	ck_assert_int_eq(o.r->exit_code, -SIGKILL);
	ck_assert_int_ge(o.r->duration_us, 5 * USEC_PER_SEC);
	exec_result_free(o.r);
	event_free(ev);
	close(fd);
	unlink(fifo);
	rmdir(dir);
	free(script);
}
END_TEST

/* A child that never reads a large request does not wedge the loop. */
START_TEST(test_exec_stdin_ignored)
{
	struct exec_request	 req;
	struct exec_result	*r;
	char			*params;
	size_t			 n = 4 * 1024 * 1024;

	params = malloc(n + 32);
	strcpy(params, "{\"blob\": \"");
	memset(params + 10, 'z', n);
	strcpy(params + 10 + n, "\"}");
	default_request(&req);
	req.parameters = params;
	r = run_script("sleep 0.2; echo '{\"result\": \"ignored\"}'", &req);
	ck_assert_int_eq(r->status, EXEC_SUCCESS);
	ck_assert_str_eq(r->result, "\"ignored\"");
	exec_result_free(r);

	/* The same request read in full arrives whole. */
	r = run_script("n=$(wc -c); echo \"{\\\"result\\\": $n}\"", &req);
	ck_assert_int_eq(r->status, EXEC_SUCCESS);
	ck_assert_int_gt(strtoll(r->result, NULL, 10), (long long)n);
	exec_result_free(r);
	free(params);
}
END_TEST

/* Fifty jobs at once: each reaped, each with its own result. */
START_TEST(test_exec_concurrent)
{
	struct exec_request	 req;
	struct outcome		 o[50];
	char			 ids[50][32], want[40];
	char			*cause = NULL;
	int			 i;

	memset(o, 0, sizeof o);
	for (i = 0; i < 50; i++) {
		default_request(&req);
		snprintf(ids[i], sizeof ids[i], "run-%d", i);
		req.run_id = ids[i];
		ck_assert_ptr_nonnull(exec_start(sh_op("cat >/dev/null; "
		    "sleep 0.$(($$ % 3)); printf '{\"result\": \"%s\", "
		    "\"usage\": {\"input_tokens\": %d}}' \"$CHIME_RUN_ID\" "
		    "${CHIME_RUN_ID#run-}"), &req, lib_done, &o[i], &cause));
	}
	ck_assert_int_eq(exec_running(), 50);
	lib_wait_all(base, o, 50);
	ck_assert_int_eq(exec_running(), 0);
	for (i = 0; i < 50; i++) {
		ck_assert_int_eq(o[i].r->status, EXEC_SUCCESS);
		snprintf(want, sizeof want, "\"run-%d\"", i);
		ck_assert_str_eq(o[i].r->result, want);
		ck_assert_int_eq(o[i].r->input_tokens, i);
		exec_result_free(o[i].r);
	}
}
END_TEST

/* The CHIME_* variables are set; the daemon's other variables are not
 * inherited, except the allow-list (PATH, HOME, LANG...). */
START_TEST(test_exec_env)
{
	struct exec_result	*r;
	json_t			*doc;

	setenv("CHIME_TEST_INHERITED", "yes", 1);
	setenv("SOME_API_SECRET", "s3cr3t", 1);
	setenv("LANG", "C.UTF-8", 1);
	setenv("CHIME_RUN_ID", "stale", 1);
	r = run_script("printf '{\"result\": {\"run\": \"%s\", \"op\": \"%s\", "
	    "\"account\": \"%s\", \"model\": \"%s\", \"inherited\": \"%s\", "
	    "\"secret\": \"%s\", \"lang\": \"%s\", \"path\": %d, "
	    "\"count\": %d}}' \"$CHIME_RUN_ID\" \"$CHIME_OPERATION\" "
	    "\"$CHIME_ACCOUNT\" \"$CHIME_MODEL\" \"$CHIME_TEST_INHERITED\" "
	    "\"$SOME_API_SECRET\" \"$LANG\" ${PATH:+1}0 "
	    "$(env | grep -c '^CHIME_RUN_ID=')", NULL);
	ck_assert_int_eq(r->status, EXEC_SUCCESS);
	doc = json_loads(r->result, 0, NULL);
	ck_assert_ptr_nonnull(doc);
	ck_assert_str_eq(json_string_value(json_object_get(doc, "run")),
	    "run-1");
	ck_assert_str_eq(json_string_value(json_object_get(doc, "op")),
	    "test-op");
	ck_assert_str_eq(json_string_value(json_object_get(doc, "account")),
	    "acct-1");
	ck_assert_str_eq(json_string_value(json_object_get(doc, "model")),
	    "deepseek");
	ck_assert_str_eq(json_string_value(json_object_get(doc, "inherited")),
	    "");
	ck_assert_str_eq(json_string_value(json_object_get(doc, "secret")),
	    "");
	ck_assert_str_eq(json_string_value(json_object_get(doc, "lang")),
	    "C.UTF-8");
	ck_assert_int_eq(json_integer_value(json_object_get(doc, "path")), 10);
	ck_assert_int_eq(json_integer_value(json_object_get(doc, "count")), 1);
	json_decref(doc);
	exec_result_free(r);
	unsetenv("SOME_API_SECRET");
}
END_TEST

/* A variable the operation names in "env" is passed; others are not. */
START_TEST(test_exec_env_named)
{
	struct exec_result	*r;
	struct exec_request	 req;
	struct outcome		 o = { 0, NULL };
	char			*names[] = { "SOME_API_KEY", "ABSENT_ONE", NULL };
	char			*cause = NULL;
	struct operation	*op;

	setenv("SOME_API_KEY", "k-123", 1);
	setenv("OTHER_API_KEY", "k-456", 1);
	unsetenv("ABSENT_ONE");
	default_request(&req);
	op = sh_op("printf '{\"result\": \"%s/%s/%s\"}' \"$SOME_API_KEY\" "
	    "\"$OTHER_API_KEY\" \"${ABSENT_ONE-unset}\"");
	op->env = names;
	ck_assert_ptr_nonnull(exec_start(op, &req, lib_done, &o, &cause));
	lib_wait_all(base, &o, 1);
	r = o.r;
	ck_assert_int_eq(r->status, EXEC_SUCCESS);
	ck_assert_str_eq(r->result, "\"k-123//unset\"");
	exec_result_free(r);
	unsetenv("SOME_API_KEY");
	unsetenv("OTHER_API_KEY");
}
END_TEST

/* Wait (at most 10 s) until PATH holds a pid; returns it, or 0. */
static pid_t
read_pid_file(const char *path)
{
	FILE	*f;
	long	 pid = 0;
	int	 i;

	for (i = 0; i < 1000 && pid == 0; i++) {
		if ((f = fopen(path, "r")) != NULL) {
			if (fscanf(f, "%ld", &pid) != 1)
				pid = 0;
			fclose(f);
		}
		if (pid == 0)
			usleep(10000);
	}
	return ((pid_t)pid);
}

/* Wait (at most 5 s) until PID is gone; 1 if it went. */
static int
pid_gone(pid_t pid)
{
	int	i;

	for (i = 0; i < 500 && kill(pid, 0) == 0; i++)
		usleep(10000);
	return (kill(pid, 0) == -1);
}

/* A child dies with the process that started it (PR_SET_PDEATHSIG): a
 * forked stand-in for the daemon starts a long child and is killed. */
START_TEST(test_exec_dies_with_parent)
{
	char	 dir[] = "/tmp/check-exec.XXXXXX", path[64], script[256];
	int	 status;
	pid_t	 daemon, child;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/pid", dir);
	snprintf(script, sizeof script, "echo $$ > %s.tmp && mv %s.tmp %s; "
	    "exec sleep 30", path, path, path);
	if ((daemon = fork()) == 0) {
		struct outcome	 o = { 0, NULL };
		struct exec_request req;
		char		*cause = NULL;

		event_reinit(base);
		default_request(&req);
		if (exec_start(sh_op(script), &req, lib_done, &o, &cause) ==
		    NULL)
			_exit(1);
		pause();
		_exit(0);
	}
	child = read_pid_file(path);
	ck_assert_int_gt(child, 0);
	kill(daemon, SIGKILL);
	ck_assert_int_eq(waitpid(daemon, &status, 0), daemon);
	ck_assert_msg(pid_gone(child), "child %ld survived its parent",
	    (long)child);
	unlink(path);
	rmdir(dir);
}
END_TEST

/* exec_kill_survivors kills every process tagged with our instance, also
 * a grandchild in the operation's process group. */
START_TEST(test_exec_kill_survivors)
{
	char			 dir[] = "/tmp/check-exec.XXXXXX", path[64];
	char			 script[256];
	struct outcome		 o = { 0, NULL };
	struct exec_request	 req;
	char			*cause = NULL;
	pid_t			 grandchild;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/pid", dir);
	snprintf(script, sizeof script, "sleep 30 & echo $! > %s.tmp && "
	    "mv %s.tmp %s; wait", path, path, path);
	ck_assert_int_eq(exec_kill_survivors(), 0);	/* no instance */
	exec_set_instance("check-exec-instance");
	default_request(&req);
	ck_assert_ptr_nonnull(exec_start(sh_op(script), &req, lib_done, &o,
	    &cause));
	grandchild = read_pid_file(path);
	ck_assert_int_gt(grandchild, 0);
	ck_assert_int_ge(exec_kill_survivors(), 1);
	lib_wait_all(base, &o, 1);
	ck_assert_int_eq(o.r->exit_code, -SIGKILL);
	exec_result_free(o.r);
	ck_assert(pid_gone(grandchild));
	exec_set_instance(NULL);
	unlink(path);
	rmdir(dir);
}
END_TEST

struct run_outcome {
	int	 calls;
	int	 ok;
	char	*out;
	char	*error;
};

static void
run_cb(const struct exec_output *x, void *arg)
{
	struct run_outcome	*o = arg;

	o->calls++;
	o->ok = x->ok;
	o->out = xstrndup(x->out, x->out_len);
	o->error = x->error != NULL ? xstrdup(x->error) : NULL;
}

static void
wait_run(struct run_outcome *o)
{
	while (o->calls == 0)
		event_base_loop(base, EVLOOP_ONCE);
}

/*
 * A burst of starts, many with the spawner at once: each ends once with its
 * own output, the children that cannot be executed among them fail, and
 * every child sees only 0, 1 and 2 open (none of the pipes of the others).
 */
START_TEST(test_exec_spawn_burst)
{
	enum { N = 200 };
	struct exec_request	 req;
	struct operation	 op, missing;
	struct outcome		*o;
	struct run_outcome	*fds;
	char			 ids[N][32], want[64];
	char			*argv[] = { "/nonexistent/chime-test-program",
				    NULL };
	char			*ls[] = { "/bin/ls", "/proc/self/fd", NULL };
	char			*cause = NULL;
	int			 i;

	o = xcalloc(N, sizeof *o);
	fds = xcalloc(N, sizeof *fds);
	op = *sh_op("printf '{\"result\": \"%s\"}' \"$CHIME_RUN_ID\"");
	missing = op;
	missing.argv = argv;
	for (i = 0; i < N; i++) {
		default_request(&req);
		snprintf(ids[i], sizeof ids[i], "run-%d", i);
		req.run_id = ids[i];
		ck_assert_ptr_nonnull(exec_start(i % 10 == 9 ? &missing : &op,
		    &req, lib_done, &o[i], &cause));
		/* ls's own: 0, 1, 2 and 3, the directory it reads. */
		ck_assert_ptr_nonnull(exec_run(ls, 20000, 1024, "ls", run_cb,
		    &fds[i], &cause));
	}
	ck_assert_int_eq(exec_running(), 2 * N);
	lib_wait_all(base, o, N);
	for (i = 0; i < N; i++)
		wait_run(&fds[i]);
	ck_assert_int_eq(exec_running(), 0);
	for (i = 0; i < N; i++) {
		ck_assert_int_eq(o[i].calls, 1);
		if (i % 10 == 9) {
			assert_failed_with(o[i].r, "exec /nonexistent/"
			    "chime-test-program: No such file or directory");
			ck_assert_int_eq(o[i].r->exit_code, 127);
		} else {
			ck_assert_msg(o[i].r->status == EXEC_SUCCESS,
			    "run %d: %s", i, o[i].r->error);
			snprintf(want, sizeof want, "\"run-%d\"", i);
			ck_assert_str_eq(o[i].r->result, want);
		}
		exec_result_free(o[i].r);
		ck_assert_int_eq(fds[i].calls, 1);
		ck_assert_int_eq(fds[i].ok, 1);
		ck_assert_str_eq(fds[i].out, "0\n1\n2\n3\n");
		free(fds[i].out);
	}
	free(o);
	free(fds);
}
END_TEST

/*
 * A start aborted while still queued for the spawner is never made: its
 * callback runs once (cancelled) and its program never runs; one detached
 * there is dropped without a call.  The starts behind them go on.
 */
START_TEST(test_exec_spawn_abort_queued)
{
	struct exec_request	 req;
	struct outcome		 o[3];
	struct exec_job		*job[3];
	char			*dir, script[512], path[256];
	char			*cause = NULL;
	int			 i;

	dir = lib_tmpdir("check-exec");
	snprintf(path, sizeof path, "%s/ran", dir);
	snprintf(script, sizeof script, "touch %s; sleep 30", path);
	memset(o, 0, sizeof o);
	default_request(&req);
	exec_spawner_hold(1);
	for (i = 0; i < 2; i++) {
		job[i] = exec_start(sh_op(script), &req, lib_done, &o[i],
		    &cause);
		ck_assert_ptr_nonnull(job[i]);
	}
	job[2] = exec_start(sh_op("echo '{\"result\": 1}'"), &req, lib_done,
	    &o[2], &cause);
	ck_assert_ptr_nonnull(job[2]);
	ck_assert_int_eq(exec_running(), 3);
	exec_abort(job[0]);
	exec_detach(job[1]);
	exec_spawner_hold(0);
	lib_wait_all(base, &o[2], 1);
	ck_assert_int_eq(o[2].r->status, EXEC_SUCCESS);
	ck_assert_str_eq(o[2].r->result, "1");
	lib_wait_all(base, &o[0], 1);
	ck_assert_int_eq(o[0].r->status, EXEC_CANCELLED);
	ck_assert_str_eq(o[0].r->error, "cancelled");
	while (exec_running() > 0)
		event_base_loop(base, EVLOOP_ONCE);
	ck_assert_int_eq(o[1].calls, 0);
	ck_assert_int_eq(access(path, F_OK), -1);	/* never ran */
	for (i = 0; i < 3; i += 2)
		exec_result_free(o[i].r);
	lib_rm_tree(dir);
	free(dir);
}
END_TEST

/* exec_run: a command's stdout, on the loop. */
START_TEST(test_exec_run)
{
	struct run_outcome	 o = { 0 };
	char			*argv[] = { "/bin/echo", "hello", NULL };
	char			*cause = NULL;

	ck_assert_ptr_nonnull(exec_run(argv, 5000, 1024, "t", run_cb, &o,
	    &cause));
	wait_run(&o);
	ck_assert_int_eq(o.ok, 1);
	ck_assert_str_eq(o.out, "hello\n");
	ck_assert_ptr_null(o.error);
	free(o.out);
}
END_TEST

/* exec_run: failures say how the command ended, never what it printed. */
START_TEST(test_exec_run_bad)
{
	struct run_outcome	 o = { 0 };
	char			*fail[] = { "/bin/sh", "-c", "echo s3cret; exit 3",
				    NULL };
	char			*slow[] = { "/bin/sleep", "10", NULL };
	char			*big[] = { "/bin/sh", "-c",
				    "head -c 5000 /dev/zero", NULL };
	char			*none[] = { "/nonexistent/cmd", NULL };
	char			*cause = NULL;

	ck_assert_ptr_nonnull(exec_run(fail, 5000, 1024, "t", run_cb, &o,
	    &cause));
	wait_run(&o);
	ck_assert_int_eq(o.ok, 0);
	ck_assert_str_eq(o.error, "exited with status 3");
	free(o.out);
	free(o.error);
	memset(&o, 0, sizeof o);
	ck_assert_ptr_nonnull(exec_run(slow, 100, 1024, "t", run_cb, &o,
	    &cause));
	wait_run(&o);
	ck_assert_str_eq(o.error, "timed out after 100 ms");
	free(o.out);
	free(o.error);
	memset(&o, 0, sizeof o);
	ck_assert_ptr_nonnull(exec_run(big, 5000, 1024, "t", run_cb, &o,
	    &cause));
	wait_run(&o);
	ck_assert_str_eq(o.error, "output larger than 1024 bytes");
	free(o.out);
	free(o.error);
	memset(&o, 0, sizeof o);
	ck_assert_ptr_nonnull(exec_run(none, 5000, 1024, "t", run_cb, &o,
	    &cause));
	wait_run(&o);
	ck_assert_str_eq(o.error, "cannot run: No such file or directory");
	free(o.out);
	free(o.error);
	ck_assert_int_eq(exec_running(), 0);
}
END_TEST

/* The child holds no descriptor of ours and has default signal state. */
START_TEST(test_exec_isolation)
{
	struct exec_result	*r;
	json_t			*doc;
	pid_t			 pgid;

	r = run_script("open=''; for fd in 3 4 5 6 7 8 9; do "
	    "if { true <&$fd; } 2>/dev/null; then open=\"$open $fd\"; fi; "
	    "done; printf '{\"result\": {\"open\": \"%s\", \"pgid\": %d, "
	    "\"pid\": %d, \"ign\": \"%s\", \"blk\": \"%s\"}}' \"$open\" "
	    "$(awk '{print $5}' /proc/$$/stat) $$ "
	    "$(awk '/^SigIgn/ {print $2}' /proc/$$/status) "
	    "$(awk '/^SigBlk/ {print $2}' /proc/$$/status)", NULL);
	ck_assert_int_eq(r->status, EXEC_SUCCESS);
	doc = json_loads(r->result, 0, NULL);
	ck_assert_ptr_nonnull(doc);
	ck_assert_str_eq(json_string_value(json_object_get(doc, "open")), "");
	pgid = (pid_t)json_integer_value(json_object_get(doc, "pgid"));
	ck_assert_int_eq(pgid, json_integer_value(json_object_get(doc,
	    "pid")));
	ck_assert_int_ne(pgid, getpgrp());
	if (access("/proc/self/status", R_OK) == 0) {
		/* Signals 1-31 only: glibc reserves 32 and 33 and refuses to
		 * change them, so a parent that ignores them passes that on. */
		ck_assert_uint_eq(strtoull(json_string_value(json_object_get(
		    doc, "ign")), NULL, 16) & 0x7fffffffULL, 0);
		ck_assert_uint_eq(strtoull(json_string_value(json_object_get(
		    doc, "blk")), NULL, 16) & 0x7fffffffULL, 0);
	}
	json_decref(doc);
	exec_result_free(r);
}
END_TEST

/* A background process left holding stdout cannot keep the job open. */
START_TEST(test_exec_background_bad)
{
	struct exec_result	*r;

	r = run_script("echo '{\"result\": \"left behind\"}'; sleep 30 & "
	    "exit 0", NULL);
	ck_assert_int_eq(r->status, EXEC_SUCCESS);
	ck_assert_str_eq(r->result, "\"left behind\"");
	ck_assert_int_lt(r->duration_us, 5 * USEC_PER_SEC);
	exec_result_free(r);
}
END_TEST

/* Status names for logs and records. */
START_TEST(test_exec_status_name)
{
	ck_assert_str_eq(exec_status_name(EXEC_SUCCESS), "success");
	ck_assert_str_eq(exec_status_name(EXEC_FAILED), "failed");
	ck_assert_str_eq(exec_status_name(EXEC_TIMEOUT), "timeout");
	ck_assert_str_eq(exec_status_name(EXEC_CANCELLED), "cancelled");
	ck_assert_str_eq(exec_status_name((enum exec_status)42), "unknown");
}
END_TEST

/* exec_runtime_free kills and reaps what is still running. */
START_TEST(test_exec_runtime_free)
{
	struct exec_request	 req;
	struct outcome		 o = { 0, NULL };
	char			*cause = NULL;
	pid_t			 pid;
	int			 status;

	default_request(&req);
	ck_assert_ptr_nonnull(exec_start(sh_op("sleep 30"), &req, lib_done, &o,
	    &cause));
	ck_assert_int_eq(exec_running(), 1);
	exec_runtime_free();
	ck_assert_int_eq(exec_running(), 0);
	ck_assert_int_eq(o.calls, 0);
	pid = waitpid(-1, &status, WNOHANG);
	ck_assert_int_eq(pid, -1);
	ck_assert_int_eq(errno, ECHILD);
	exec_runtime_init(base);
}
END_TEST

/* ---- the example catalog through exec --------------------------------- */

static char *
example_path(void)
{
	const char	*dir, *slash;
	char		*path;

	if ((dir = getenv("CHIME_SRCDIR")) != NULL) {
		xasprintf(&path, "%s/contrib/catalog.example.json", dir);
		return (path);
	}
	if (access("contrib/catalog.example.json", R_OK) == 0)
		return (xstrdup("contrib/catalog.example.json"));
	/* Built from an absolute path: the source tree is next to us. */
	if ((slash = strstr(__FILE__, "tests/check_exec.c")) != NULL) {
		xasprintf(&path, "%.*scontrib/catalog.example.json",
		    (int)(slash - __FILE__), __FILE__);
		if (access(path, R_OK) == 0)
			return (path);
		free(path);
	}
	return (xstrdup("../contrib/catalog.example.json"));
}

static struct catalog *
load_example(void)
{
	struct catalog	*cat;
	char		*path, *cause = NULL;

	path = example_path();
	cat = catalog_load_file(path, &cause);
	ck_assert_msg(cat != NULL, "%s: %s", path, cause);
	free(path);
	return (cat);
}

static const char *example_ops[9] = {
	"email-compose", "email-classify", "email-respond", "calendar-prep",
	"calendar-time", "task-prioritize", "task-breakdown",
	"analytics-summary", "analytics-anomaly",
};

/* Every example operation's command succeeds with usage and a result. */
START_TEST(test_exec_catalog_commands)
{
	struct catalog		*cat;
	const struct operation	*op;
	struct exec_request	 req[9];
	struct outcome		 o[9];
	struct cost_range	 est;
	char			*cause = NULL;
	json_t			*res;
	int			 i;

	cat = load_example();
	memset(o, 0, sizeof o);
	for (i = 0; i < 9; i++) {
		op = catalog_operation(cat, example_ops[i]);
		ck_assert_ptr_nonnull(op);
		default_request(&req[i]);
		req[i].operation = op->id;
		req[i].model = op->default_model;
		ck_assert_ptr_nonnull(exec_start(op, &req[i], lib_done, &o[i],
		    &cause));
	}
	lib_wait_all(base, o, 9);
	for (i = 0; i < 9; i++) {
		op = catalog_operation(cat, example_ops[i]);
		ck_assert_msg(o[i].r->status == EXEC_SUCCESS, "%s: %s",
		    example_ops[i], o[i].r->error);
		ck_assert_str_eq(o[i].r->model, op->default_model);
		ck_assert_int_ge(o[i].r->input_tokens, op->input_tokens[0]);
		ck_assert_int_le(o[i].r->input_tokens, op->input_tokens[2]);
		ck_assert_int_ge(o[i].r->output_tokens, op->output_tokens[0]);
		ck_assert_int_le(o[i].r->output_tokens, op->output_tokens[2]);
		res = json_loads(o[i].r->result, JSON_DECODE_ANY, NULL);
		ck_assert_msg(json_is_object(res), "%s", example_ops[i]);
		ck_assert_int_gt(json_object_size(res), 0);
		json_decref(res);
		cost_estimate(op, catalog_model(cat, op->default_model), &est);
		ck_assert_int_gt(cost_actual(catalog_model(cat,
		    op->default_model), o[i].r->input_tokens,
		    o[i].r->output_tokens), 0);
		ck_assert_int_le(cost_actual(catalog_model(cat,
		    op->default_model), o[i].r->input_tokens,
		    o[i].r->output_tokens), est.high);
		exec_result_free(o[i].r);
	}
	catalog_unref(cat);
}
END_TEST

/* ---- catalog ---------------------------------------------------------- */

/* A copy of S with every ' turned into " (keeps the JSON below legible). */
static char *
q(const char *s)
{
	char	*out, *p;

	out = xstrdup(s);
	for (p = out; *p != '\0'; p++) {
		if (*p == '\'')
			*p = '"';
	}
	return (out);
}

static struct catalog *
parse_q(const char *s, char **cause)
{
	struct catalog	*cat;
	char		*text;

	text = q(s);
	cat = catalog_parse(text, strlen(text), "test", cause);
	free(text);
	return (cat);
}

static void
check_example(struct catalog *cat)
{
	const struct operation	*op;
	const struct model	*m;
	int			 i;

	ck_assert_uint_eq(cat->nops, 9);
	ck_assert_uint_eq(cat->nmodels, 4);
	for (i = 0; i < 9; i++) {
		op = catalog_operation(cat, example_ops[i]);
		ck_assert_msg(op != NULL, "%s", example_ops[i]);
		ck_assert_int_eq(op->executor, EXECUTOR_EXEC);
		ck_assert_str_eq(op->argv[0], "/bin/sh");
		ck_assert_ptr_nonnull(catalog_model(cat, op->default_model));
		ck_assert_ptr_nonnull(op->description);
	}
	op = catalog_operation(cat, "email-classify");
	ck_assert_int_eq(op->timeout_ms, 30000);
	ck_assert_int_eq(op->retry.attempts, 3);
	ck_assert_int_eq(op->retry.backoff_ms, 2000);
	ck_assert_int_eq(op->retry.max_backoff_ms, 60000);
	ck_assert_int_eq(op->input_tokens[0], 200);
	ck_assert_int_eq(op->input_tokens[2], 900);
	ck_assert_int_eq(op->output_tokens[1], 50);
	ck_assert_str_eq(op->default_model, "deepseek");
	ck_assert_int_eq(op->idempotent, 1);
	ck_assert_int_eq(catalog_operation(cat, "email-respond")->idempotent,
	    0);
	m = catalog_model(cat, "deepseek");
	ck_assert_int_eq(m->input_per_mtok, 270000);
	ck_assert_int_eq(m->output_per_mtok, 1100000);
	m = catalog_model(cat, "anthropic");
	ck_assert_int_eq(m->input_per_mtok, 3000000);
	ck_assert_int_eq(m->output_per_mtok, 15000000);
	ck_assert_ptr_nonnull(catalog_model(cat, "gemini"));
	ck_assert_ptr_nonnull(catalog_model(cat, "openai"));
	ck_assert_ptr_null(catalog_model(cat, "gpt9"));
	ck_assert_ptr_null(catalog_operation(cat, "email"));
	ck_assert_ptr_null(catalog_operation(cat, NULL));
}

/* The example file holds the nine operations and four models. */
START_TEST(test_catalog_example)
{
	struct catalog	*cat;

	cat = load_example();
	check_example(cat);
	ck_assert_ptr_nonnull(strstr(cat->source, "catalog.example.json"));
	catalog_unref(cat);
}
END_TEST

/* A missing, unreadable or oversized file is a clear error. */
START_TEST(test_catalog_example_bad)
{
	char	*cause = NULL, path[] = "/tmp/check_exec.XXXXXX";
	FILE	*f;
	int	 fd, i;

	ck_assert_ptr_null(catalog_load_file("/nonexistent/catalog.json",
	    &cause));
	ck_assert_str_eq(cause, "catalog: /nonexistent/catalog.json: No such "
	    "file or directory");
	free(cause);
	ck_assert_ptr_null(catalog_load_file("/tmp", &cause));
	ck_assert_str_eq(cause, "catalog: /tmp: not a regular file");
	free(cause);

	fd = mkstemp(path);
	ck_assert_int_ne(fd, -1);
	f = fdopen(fd, "w");
	for (i = 0; i < 5 * 1024; i++)
		fprintf(f, "%1023s\n", " ");
	fclose(f);
	ck_assert_ptr_null(catalog_load_file(path, &cause));
	ck_assert_ptr_nonnull(strstr(cause, "larger than 4194304 bytes"));
	free(cause);

	f = fopen(path, "w");
	fprintf(f, "{\n  \"models\": [\n    oops\n]}\n");
	fclose(f);
	ck_assert_ptr_null(catalog_load_file(path, &cause));
	ck_assert_msg(strncmp(cause, "catalog: /tmp/check_exec.", 25) == 0 &&
	    strstr(cause, ":3:") != NULL, "%s", cause);
	free(cause);
	unlink(path);
}
END_TEST

/* The built-in catalog is the example, embedded at build time. */
START_TEST(test_catalog_default)
{
	struct catalog	*cat;
	char		*cause = NULL;

	cat = catalog_load_default(&cause);
	ck_assert_msg(cat != NULL, "%s", cause);
	check_example(cat);
	ck_assert_str_eq(cat->source, "(built-in)");
	catalog_ref(cat);
	ck_assert_uint_eq(cat->refs, 2);
	catalog_unref(cat);
	ck_assert_uint_eq(cat->refs, 1);
	catalog_unref(cat);
	catalog_unref(NULL);
}
END_TEST

#define T_MODEL "{'id': 'm1', 'input_usd_per_mtok': '1', " \
	"'output_usd_per_mtok': '2'}"
#define T_TOKENS "'tokens': {'input': [1, 2, 3], 'output': [4, 5, 6]}"
#define T_OP(id, more) "{'id': '" id "', 'executor': 'exec', " \
	"'argv': ['/bin/true'], " T_TOKENS ", 'default_model': 'm1'" more "}"
#define T_CAT(ops) "{'models': [" T_MODEL "], 'operations': [" ops "]}"
#define T_OPS(more) T_CAT(T_OP("op1", more))
#define T_HTTP(more) T_CAT("{'id': 'op1', 'executor': 'http', " T_TOKENS \
	", 'default_model': 'm1'" more "}")
#define T_RAW(op) T_CAT("{'id': 'op1', " op "}")
#define T_BARE "'executor': 'exec', 'argv': ['x'], 'default_model': 'm1'"

/* Defaults fill what an operation leaves out. */
START_TEST(test_catalog_defaults)
{
	struct catalog		*cat;
	const struct operation	*op;
	char			*cause = NULL;

	cat = parse_q(T_OPS(""), &cause);
	ck_assert_msg(cat != NULL, "%s", cause);
	op = catalog_operation(cat, "op1");
	ck_assert_int_eq(op->timeout_ms, 60000);
	ck_assert_int_eq(op->retry.attempts, 1);
	ck_assert_int_eq(op->retry.backoff_ms, 1000);
	ck_assert_int_eq(op->retry.max_backoff_ms, 300000);
	ck_assert_int_eq(op->idempotent, 0);
	ck_assert_ptr_null(op->description);
	ck_assert_ptr_null(op->url);
	ck_assert_str_eq(op->argv[0], "/bin/true");
	ck_assert_ptr_null(op->argv[1]);
	ck_assert_ptr_null(catalog_model(cat, "m1")->description);
	catalog_unref(cat);

	cat = parse_q(T_OPS(", 'timeout': '1h30m', 'retry': {'attempts': 20,"
	    " 'backoff': '0s', 'max_backoff': '24h'}, 'idempotent': true"),
	    &cause);
	ck_assert_msg(cat != NULL, "%s", cause);
	op = catalog_operation(cat, "op1");
	ck_assert_int_eq(op->timeout_ms, 5400000);
	ck_assert_int_eq(op->retry.attempts, 20);
	ck_assert_int_eq(op->retry.backoff_ms, 0);
	ck_assert_int_eq(op->retry.max_backoff_ms, 86400000);
	ck_assert_int_eq(op->idempotent, 1);
	catalog_unref(cat);
}
END_TEST

/* An http operation needs a URL and parses without argv. */
START_TEST(test_catalog_http)
{
	struct catalog		*cat;
	const struct operation	*op;
	char			*cause = NULL;

	cat = parse_q(T_HTTP(", 'url': 'https://router.example/v1/op'"),
	    &cause);
	ck_assert_msg(cat != NULL, "%s", cause);
	op = catalog_operation(cat, "op1");
	ck_assert_int_eq(op->executor, EXECUTOR_HTTP);
	ck_assert_str_eq(op->url, "https://router.example/v1/op");
	ck_assert_ptr_null(op->argv);
	catalog_unref(cat);
	cat = parse_q(T_HTTP(", 'url': 'HTTP://127.0.0.1:8080'"), &cause);
	ck_assert_msg(cat != NULL, "%s", cause);
	catalog_unref(cat);
}
END_TEST

/* Prices may be JSON numbers; they convert exactly. */
START_TEST(test_catalog_prices)
{
	struct catalog		*cat;
	const struct model	*m;
	char			*cause = NULL;

	cat = parse_q("{'models': [{'id': 'a', 'input_usd_per_mtok': 0.27, "
	    "'output_usd_per_mtok': 3}, {'id': 'b', 'input_usd_per_mtok': "
	    "0.1, 'output_usd_per_mtok': '$0.000001'}, {'id': 'c', "
	    "'input_usd_per_mtok': 0, 'output_usd_per_mtok': 1234.567891}], "
	    "'operations': []}", &cause);
	ck_assert_msg(cat != NULL, "%s", cause);
	ck_assert_uint_eq(cat->nops, 0);
	m = catalog_model(cat, "a");
	ck_assert_int_eq(m->input_per_mtok, 270000);
	ck_assert_int_eq(m->output_per_mtok, 3000000);
	m = catalog_model(cat, "b");
	ck_assert_int_eq(m->input_per_mtok, 100000);
	ck_assert_int_eq(m->output_per_mtok, 1);
	m = catalog_model(cat, "c");
	ck_assert_int_eq(m->input_per_mtok, 0);
	ck_assert_int_eq(m->output_per_mtok, 1234567891);
	catalog_unref(cat);
}
END_TEST

/* catalog_to_json gives the file format back; it parses to the same. */
START_TEST(test_catalog_to_json)
{
	struct catalog	*cat, *again;
	json_t		*j, *j2, *m;
	char		*text, *cause = NULL;

	cat = load_example();
	j = catalog_to_json(cat);
	ck_assert(json_is_array(json_object_get(j, "operations")));
	m = json_array_get(json_object_get(j, "models"), 0);
	ck_assert_str_eq(json_string_value(json_object_get(m, "id")),
	    "anthropic");
	ck_assert_str_eq(json_string_value(json_object_get(m,
	    "input_usd_per_mtok")), "3.00");
	ck_assert_str_eq(json_string_value(json_object_get(m,
	    "output_usd_per_mtok")), "15.00");
	m = json_array_get(json_object_get(j, "models"), 1);
	ck_assert_str_eq(json_string_value(json_object_get(m,
	    "input_usd_per_mtok")), "0.27");
	json_object_del(j, "source");
	text = json_dumps(j, 0);
	again = catalog_parse(text, strlen(text), "again", &cause);
	ck_assert_msg(again != NULL, "%s", cause);
	j2 = catalog_to_json(again);
	json_object_del(j2, "source");
	ck_assert(json_equal(j, j2));
	free(text);
	json_decref(j);
	json_decref(j2);
	catalog_unref(again);
	catalog_unref(cat);
}
END_TEST

/* The message of the brief, word for word. */
START_TEST(test_catalog_default_model_bad)
{
	char	*cause = NULL;

	ck_assert_ptr_null(parse_q(T_CAT(T_OP("a", "") ", " T_OP("b", "")
	    ", " T_OP("c", "") ", {'id': 'email-compose', 'executor': 'exec', "
	    "'argv': ['x'], " T_TOKENS ", 'default_model': 'gpt9'}"), &cause));
	ck_assert_str_eq(cause, "catalog: operations[3] (\"email-compose\"): "
	    "unknown default_model \"gpt9\"");
	free(cause);
}
END_TEST

/* Each way a catalog can be wrong, and the message that says so. */
static const struct {
	const char	*json;
	const char	*error;
} catalog_bad[] = {
	{ "{'models': [", "catalog: test:1:" },
	{ "{'models': [], 'models': []}", "catalog: test:1:" },
	{ "[]", "catalog: the top level must be an object" },
	{ "{'models': [" T_MODEL "], 'operations': [], 'extra': 1}",
	  "catalog: unknown key \"extra\"" },
	{ "{'description': 7, 'models': [" T_MODEL "], 'operations': []}",
	  "catalog: description must be a string" },
	{ "{'operations': []}", "catalog: missing \"models\"" },
	{ "{'models': {}, 'operations': []}",
	  "catalog: models must be an array" },
	{ "{'models': [], 'operations': []}",
	  "catalog: models: at least one model is needed" },
	{ "{'models': [" T_MODEL "]}", "catalog: missing \"operations\"" },
	{ "{'models': [" T_MODEL "], 'operations': {}}",
	  "catalog: operations must be an array" },
	{ "{'models': [7], 'operations': []}",
	  "catalog: models[0]: must be an object" },
	{ "{'models': [{'input_usd_per_mtok': '1'}], 'operations': []}",
	  "catalog: models[0]: missing \"id\"" },
	{ "{'models': [{'id': 5}], 'operations': []}",
	  "catalog: models[0]: id must be a string" },
	{ "{'models': [{'id': ''}], 'operations': []}",
	  "catalog: models[0]: id is empty" },
	{ "{'models': [{'id': 'bad id'}], 'operations': []}",
	  "catalog: models[0]: invalid id \"bad id\" (1 to 64 of A-Z a-z 0-9 "
	  ". _ -, not starting with . or -)" },
	{ "{'models': [{'id': 'm1', 'input_usd_per_mtok': '1', "
	  "'output_usd_per_mtok': '2', 'price': 3}], 'operations': []}",
	  "catalog: models[0] (\"m1\"): unknown key \"price\"" },
	{ "{'models': [{'id': 'm1', 'output_usd_per_mtok': '2'}], "
	  "'operations': []}",
	  "catalog: models[0] (\"m1\"): missing \"input_usd_per_mtok\"" },
	{ "{'models': [{'id': 'm1', 'input_usd_per_mtok': '1'}], "
	  "'operations': []}",
	  "catalog: models[0] (\"m1\"): missing \"output_usd_per_mtok\"" },
	{ "{'models': [{'id': 'm1', 'input_usd_per_mtok': '-1', "
	  "'output_usd_per_mtok': '2'}], 'operations': []}",
	  "catalog: models[0] (\"m1\"): input_usd_per_mtok: invalid price (a "
	  "non-negative USD amount with at most 6 decimals, e.g. \"0.27\")" },
	{ "{'models': [{'id': 'm1', 'input_usd_per_mtok': '1', "
	  "'output_usd_per_mtok': 0.0000001}], 'operations': []}",
	  "catalog: models[0] (\"m1\"): output_usd_per_mtok: invalid price" },
	{ "{'models': [{'id': 'm1', 'input_usd_per_mtok': '0.1234567', "
	  "'output_usd_per_mtok': '1'}], 'operations': []}",
	  "catalog: models[0] (\"m1\"): input_usd_per_mtok: invalid price" },
	{ "{'models': [{'id': 'm1', 'description': ['x'], "
	  "'input_usd_per_mtok': '1', 'output_usd_per_mtok': '1'}], "
	  "'operations': []}",
	  "catalog: models[0] (\"m1\"): description must be a string" },
	{ "{'models': [" T_MODEL ", " T_MODEL "], 'operations': []}",
	  "catalog: models[1]: duplicate id \"m1\" (already used by "
	  "models[0])" },
	{ T_CAT("7"), "catalog: operations[0]: must be an object" },
	{ T_CAT("{'id': '.hidden'}"),
	  "catalog: operations[0]: invalid id \".hidden\"" },
	{ T_CAT("{'executor': 'exec'}"),
	  "catalog: operations[0]: missing \"id\"" },
	{ T_OPS(", 'timout': '5s'"),
	  "catalog: operations[0] (\"op1\"): unknown key \"timout\"" },
	{ T_OPS(", 'description': ''"),
	  "catalog: operations[0] (\"op1\"): description is empty" },
	{ T_RAW("'argv': ['x'], " T_TOKENS ", 'default_model': 'm1'"),
	  "catalog: operations[0] (\"op1\"): missing \"executor\"" },
	{ T_RAW("'executor': 'ftp', 'argv': ['x'], " T_TOKENS),
	  "catalog: operations[0] (\"op1\"): unknown executor \"ftp\" (exec "
	  "or http)" },
	{ T_RAW("'executor': 'exec', " T_TOKENS),
	  "catalog: operations[0] (\"op1\"): missing \"argv\" (needed by "
	  "executor \"exec\")" },
	{ T_RAW("'executor': 'exec', 'argv': []"),
	  "catalog: operations[0] (\"op1\"): argv must be a non-empty array "
	  "of strings" },
	{ T_RAW("'executor': 'exec', 'argv': '/bin/true'"),
	  "catalog: operations[0] (\"op1\"): argv must be a non-empty array "
	  "of strings" },
	{ T_RAW("'executor': 'exec', 'argv': ['/bin/echo', 5]"),
	  "catalog: operations[0] (\"op1\"): argv[1] must be a string" },
	{ T_RAW("'executor': 'exec', 'argv': ['', 'x']"),
	  "catalog: operations[0] (\"op1\"): argv[0] is empty" },
	{ T_RAW("'executor': 'exec', 'argv': ['/bin/echo', 'a\\u0000b']"),
	  "catalog: test:1:" },
	{ T_OPS(", 'url': 'http://x'"),
	  "catalog: operations[0] (\"op1\"): url is only allowed with "
	  "executor \"http\"" },
	{ T_HTTP(""),
	  "catalog: operations[0] (\"op1\"): missing \"url\" (needed by "
	  "executor \"http\")" },
	{ T_HTTP(", 'url': 'http://x', 'argv': ['x']"),
	  "catalog: operations[0] (\"op1\"): argv is only allowed with "
	  "executor \"exec\"" },
	{ T_HTTP(", 'url': 'ftp://x/y'"),
	  "catalog: operations[0] (\"op1\"): url \"ftp://x/y\" must begin "
	  "with http:// or https://" },
	{ T_HTTP(", 'url': 'https:///path'"),
	  "catalog: operations[0] (\"op1\"): url \"https:///path\" has no "
	  "host" },
	{ T_HTTP(", 'url': 'http://x/a b'"),
	  "catalog: operations[0] (\"op1\"): url contains a space or a "
	  "control character" },
	{ T_HTTP(", 'url': 17"),
	  "catalog: operations[0] (\"op1\"): url must be a string" },
	{ T_OPS(", 'timeout': '0s'"),
	  "catalog: operations[0] (\"op1\"): timeout must be more than 0 and "
	  "at most 24h" },
	{ T_OPS(", 'timeout': '25h'"),
	  "catalog: operations[0] (\"op1\"): timeout must be more than 0 and "
	  "at most 24h" },
	{ T_OPS(", 'timeout': 'soon'"),
	  "catalog: operations[0] (\"op1\"): timeout: invalid duration "
	  "\"soon\" (use e.g. 500ms, 30s, 5m, 1h)" },
	{ T_OPS(", 'timeout': 30"),
	  "catalog: operations[0] (\"op1\"): timeout must be a duration "
	  "string such as \"30s\"" },
	{ T_OPS(", 'retry': 3"),
	  "catalog: operations[0] (\"op1\"): retry: must be an object" },
	{ T_OPS(", 'retry': {'attempt': 3}"),
	  "catalog: operations[0] (\"op1\"): retry: unknown key \"attempt\"" },
	{ T_OPS(", 'retry': {'attempts': 0}"),
	  "catalog: operations[0] (\"op1\"): retry: attempts must be an "
	  "integer from 1 to 20" },
	{ T_OPS(", 'retry': {'attempts': 21}"),
	  "catalog: operations[0] (\"op1\"): retry: attempts must be an "
	  "integer from 1 to 20" },
	{ T_OPS(", 'retry': {'attempts': '3'}"),
	  "catalog: operations[0] (\"op1\"): retry: attempts must be an "
	  "integer from 1 to 20" },
	{ T_OPS(", 'retry': {'backoff': 'x'}"),
	  "catalog: operations[0] (\"op1\"): retry: backoff: invalid "
	  "duration \"x\"" },
	{ T_OPS(", 'retry': {'backoff': '2m', 'max_backoff': '1m'}"),
	  "catalog: operations[0] (\"op1\"): retry: backoff is longer than "
	  "max_backoff" },
	{ T_OPS(", 'retry': {'backoff': '10m'}"),
	  "catalog: operations[0] (\"op1\"): retry: backoff is longer than "
	  "max_backoff" },
	{ T_OPS(", 'retry': {'max_backoff': '2d'}"),
	  "catalog: operations[0] (\"op1\"): retry: max_backoff must be at "
	  "most 24h" },
	{ T_RAW(T_BARE),
	  "catalog: operations[0] (\"op1\"): missing \"tokens\"" },
	{ T_RAW(T_BARE ", 'tokens': [1, 2, 3]"),
	  "catalog: operations[0] (\"op1\"): tokens: must be an object" },
	{ T_RAW(T_BARE ", 'tokens': {'input': [1, 2, 3], 'output': [1, 2, 3],"
	  " 'total': 5}"),
	  "catalog: operations[0] (\"op1\"): tokens: unknown key \"total\"" },
	{ T_RAW(T_BARE ", 'tokens': {'output': [1, 2, 3]}"),
	  "catalog: operations[0] (\"op1\"): tokens: missing \"input\"" },
	{ T_RAW(T_BARE ", 'tokens': {'input': [1, 2, 3]}"),
	  "catalog: operations[0] (\"op1\"): tokens: missing \"output\"" },
	{ T_RAW(T_BARE ", 'tokens': {'input': [1, 2], 'output': [1, 2, 3]}"),
	  "catalog: operations[0] (\"op1\"): tokens: input must be an array "
	  "of three integers [low, mid, high]" },
	{ T_RAW(T_BARE ", 'tokens': {'input': [-1, 2, 3], "
	  "'output': [1, 2, 3]}"),
	  "catalog: operations[0] (\"op1\"): tokens: input[0] must be a "
	  "non-negative integer" },
	{ T_RAW(T_BARE ", 'tokens': {'input': [1, 2, 3], "
	  "'output': [1, 2, 3.5]}"),
	  "catalog: operations[0] (\"op1\"): tokens: output[2] must be a "
	  "non-negative integer" },
	{ T_RAW(T_BARE ", 'tokens': {'input': [3, 2, 1], "
	  "'output': [1, 2, 3]}"),
	  "catalog: operations[0] (\"op1\"): tokens: input must be ordered "
	  "low <= mid <= high" },
	{ T_RAW(T_BARE ", 'tokens': {'input': [1, 2, 3], "
	  "'output': [1, 3, 2]}"),
	  "catalog: operations[0] (\"op1\"): tokens: output must be ordered "
	  "low <= mid <= high" },
	{ T_RAW("'executor': 'exec', 'argv': ['x'], " T_TOKENS),
	  "catalog: operations[0] (\"op1\"): missing \"default_model\"" },
	{ T_RAW("'executor': 'exec', 'argv': ['x'], " T_TOKENS
	  ", 'default_model': 'gpt9'"),
	  "catalog: operations[0] (\"op1\"): unknown default_model \"gpt9\"" },
	{ T_OPS(", 'idempotent': 'yes'"),
	  "catalog: operations[0] (\"op1\"): idempotent must be true or "
	  "false" },
	{ T_CAT(T_OP("op1", "") ", " T_OP("op2", "") ", " T_OP("op1", "")),
	  "catalog: operations[2]: duplicate id \"op1\" (already used by "
	  "operations[0])" },
	{ T_CAT(T_OP("op1", "") ", " T_OP("op2", "") ", " T_OP("op2", "")
	  ", " T_OP("op1", "")),
	  "catalog: operations[2]: duplicate id \"op2\" (already used by "
	  "operations[1])" },
};

/* Each bad catalog is refused with its message (loop over the table). */
START_TEST(test_catalog_validation_bad)
{
	char	*cause = NULL;

	ck_assert_msg(parse_q(catalog_bad[_i].json, &cause) == NULL,
	    "accepted: %s", catalog_bad[_i].json);
	ck_assert_ptr_nonnull(cause);
	ck_assert_msg(strncmp(cause, catalog_bad[_i].error,
	    strlen(catalog_bad[_i].error)) == 0, "got \"%s\", want \"%s\"",
	    cause, catalog_bad[_i].error);
	free(cause);
}
END_TEST

/* A catalog differing only in good ways from the bad table is accepted. */
START_TEST(test_catalog_validation)
{
	struct catalog	*cat;
	char		*cause = NULL;

	cat = parse_q(T_CAT(T_OP("op1", ", 'description': 'x'") ", "
	    T_OP("op.2_b-c", ", 'retry': {'backoff': '500ms', "
	    "'max_backoff': '500ms'}")), &cause);
	ck_assert_msg(cat != NULL, "%s", cause);
	ck_assert_ptr_nonnull(catalog_operation(cat, "op.2_b-c"));
	ck_assert_str_eq(cat->ops[0].id, "op.2_b-c");	/* sorted */
	ck_assert_str_eq(cat->ops[1].id, "op1");
	catalog_unref(cat);
}
END_TEST

/* ---- cost ------------------------------------------------------------- */

/* Token costs round up to the next micro-dollar, exact ones do not move. */
START_TEST(test_cost_tokens)
{
	ck_assert_int_eq(cost_tokens(1000000, 270000), 270000);
	ck_assert_int_eq(cost_tokens(4, 250000), 1);
	ck_assert_int_eq(cost_tokens(1, 270000), 1);
	ck_assert_int_eq(cost_tokens(3, 333333), 1);
	ck_assert_int_eq(cost_tokens(1000001, 1), 2);
	ck_assert_int_eq(cost_tokens(200, 270000), 54);
	ck_assert_int_eq(cost_tokens(20, 1100000), 22);
	ck_assert_int_eq(cost_tokens(123, 15000000), 1845);
	ck_assert_int_eq(cost_tokens(7, 100000), 1);
	ck_assert_int_eq(cost_tokens(0, 270000), 0);
	ck_assert_int_eq(cost_tokens(100, 0), 0);
}
END_TEST

/* Huge or negative inputs neither overflow nor go negative. */
START_TEST(test_cost_tokens_bad)
{
	ck_assert_int_eq(cost_tokens(INT64_MAX, INT64_MAX), INT64_MAX);
	ck_assert_int_eq(cost_tokens(INT64_MAX, 1000000), INT64_MAX);
	ck_assert_int_eq(cost_tokens(INT64_MAX, 1), 9223372036855LL);
	ck_assert_int_eq(cost_tokens(INT64_MAX / 2, 3000000), INT64_MAX);
	ck_assert_int_eq(cost_tokens(-1, 270000), 0);
	ck_assert_int_eq(cost_tokens(1000, -5), 0);
	ck_assert_int_eq(cost_tokens(INT64_MIN, INT64_MIN), 0);
}
END_TEST

/* An estimate prices low, mid and high token counts separately. */
START_TEST(test_cost_estimate)
{
	struct operation	op;
	struct model		m = { "deepseek", 270000, 1100000, NULL };
	struct cost_range	r;

	memset(&op, 0, sizeof op);
	op.input_tokens[0] = 200;
	op.input_tokens[1] = 400;
	op.input_tokens[2] = 900;
	op.output_tokens[0] = 20;
	op.output_tokens[1] = 50;
	op.output_tokens[2] = 120;
	cost_estimate(&op, &m, &r);
	ck_assert_int_eq(r.low, 54 + 22);
	ck_assert_int_eq(r.mid, 108 + 55);
	ck_assert_int_eq(r.high, 243 + 132);
	ck_assert_int_le(r.low, r.mid);
	ck_assert_int_le(r.mid, r.high);
}
END_TEST

/* Estimates saturate rather than wrap around. */
START_TEST(test_cost_estimate_bad)
{
	struct operation	op;
	struct model		m = { "big", INT64_MAX / 2, INT64_MAX / 2,
	    NULL };
	struct cost_range	r;

	memset(&op, 0, sizeof op);
	op.input_tokens[2] = INT64_MAX;
	op.output_tokens[1] = 1000000;
	op.output_tokens[2] = 1000000;
	op.input_tokens[1] = 1000000;
	cost_estimate(&op, &m, &r);
	ck_assert_int_eq(r.low, 0);
	ck_assert_int_eq(r.mid, INT64_MAX - 1);
	ck_assert_int_eq(r.high, INT64_MAX);
}
END_TEST

/* The actual cost of reported usage. */
START_TEST(test_cost_actual)
{
	struct model	m = { "deepseek", 270000, 1100000, NULL };

	ck_assert_int_eq(cost_actual(&m, 1000, 500), 270 + 550);
	ck_assert_int_eq(cost_actual(&m, 1, 1), 1 + 2);
	ck_assert_int_eq(cost_actual(&m, 1000000, 1000000), 1370000);
}
END_TEST

/* Unreported (-1) or nonsensical counts cost nothing. */
START_TEST(test_cost_actual_bad)
{
	struct model	m = { "deepseek", 270000, 1100000, NULL };

	ck_assert_int_eq(cost_actual(&m, -1, -1), 0);
	ck_assert_int_eq(cost_actual(&m, -1, 100), 110);
	ck_assert_int_eq(cost_actual(&m, 100, -7), 27);
	ck_assert_int_eq(cost_actual(&m, INT64_MAX, INT64_MAX), INT64_MAX);
}
END_TEST

/* ---- executor ---------------------------------------------------------- */

static void
executor_setup(void)
{
	exec_setup();
	http_runtime_init(base, NULL);
}

static void
executor_teardown(void)
{
	http_runtime_free();
	exec_teardown();
}

/* An http operation whose address the filter refuses (no allow-list). */
static struct operation *
http_op(void)
{
	static struct operation	op;

	memset(&op, 0, sizeof op);
	op.id = "test-op";
	op.executor = EXECUTOR_HTTP;
	op.url = "http://127.0.0.1:9/";
	op.timeout_ms = 20000;
	op.default_model = "m1";
	return (&op);
}

/* Every kind has an executor whose name is the one the catalog reads and
 * writes for that kind. */
START_TEST(test_executor_find)
{
	struct catalog		*cat;
	const struct operation	*op;
	const struct executor	*e;
	enum executor_kind	 kind;
	json_t			*j, *ops, *jop;
	char			*cause = NULL;
	int			 seen[EXECUTOR_MAX] = { 0 };
	size_t			 i;

	cat = parse_q(T_CAT(T_OP("op-exec", "") ", {'id': 'op-http', "
	    "'executor': 'http', 'url': 'https://router.example/', " T_TOKENS
	    ", 'default_model': 'm1'}"), &cause);
	ck_assert_msg(cat != NULL, "%s", cause);
	j = catalog_to_json(cat);
	ops = json_object_get(j, "operations");
	ck_assert_uint_eq(json_array_size(ops), cat->nops);
	for (i = 0; i < cat->nops; i++) {
		op = &cat->ops[i];
		e = executor_find(op->executor);
		ck_assert_ptr_nonnull(e);
		ck_assert(e->start != NULL && e->abort != NULL &&
		    e->running != NULL);
		jop = json_array_get(ops, i);
		ck_assert_str_eq(json_string_value(json_object_get(jop, "id")),
		    op->id);
		ck_assert_str_eq(json_string_value(json_object_get(jop,
		    "executor")), e->name);
		ck_assert_int_eq(executor_lookup(e->name, &kind), 0);
		ck_assert_int_eq(kind, op->executor);
		seen[op->executor]++;
	}
	json_decref(j);
	catalog_unref(cat);
	for (i = 0; i < EXECUTOR_MAX; i++)
		ck_assert_msg(seen[i] == 1, "kind %zu is not in the catalog", i);
	ck_assert_ptr_eq(executor_find(EXECUTOR_EXEC), &exec_executor);
	ck_assert_ptr_eq(executor_find(EXECUTOR_HTTP), &http_executor);
	ck_assert_str_eq(exec_executor.name, "exec");
	ck_assert_str_eq(http_executor.name, "http");
}
END_TEST

/* Kinds outside the table and names not in it find nothing. */
START_TEST(test_executor_find_bad)
{
	static const char *const names[] = { "", "EXEC", "Http", "exec ",
	    "shell", "execs" };
	enum executor_kind	 kind = EXECUTOR_HTTP;
	size_t			 i;

	ck_assert_ptr_null(executor_find(EXECUTOR_MAX));
	ck_assert_ptr_null(executor_find((enum executor_kind)(EXECUTOR_MAX +
	    7)));
	ck_assert_ptr_null(executor_find((enum executor_kind)-1));
	for (i = 0; i < sizeof names / sizeof names[0]; i++) {
		ck_assert_msg(executor_lookup(names[i], &kind) == -1,
		    "\"%s\" was found", names[i]);
		ck_assert_int_eq(kind, EXECUTOR_HTTP);	/* left alone */
	}
}
END_TEST

/* executor_start runs each kind on its own executor; executor_abort and
 * executor_running go through the job's executor. */
START_TEST(test_executor_start)
{
	struct exec_request	 req;
	struct outcome		 o[4];
	struct job		*job[4];
	char			*cause = NULL;
	int			 i;

	default_request(&req);
	memset(o, 0, sizeof o);
	job[0] = executor_start(sh_op("printf '{\"result\": \"plain\"}'"),
	    &req, 1, lib_done, &o[0], &cause);
	ck_assert_msg(job[0] != NULL, "executor_start: %s", cause);
	ck_assert_ptr_eq(job[0]->executor, &exec_executor);
	ck_assert_int_eq(executor_running(), 1);
	lib_wait_all(base, &o[0], 1);
	ck_assert_int_eq(o[0].r->status, EXEC_SUCCESS);
	ck_assert_str_eq(o[0].r->result, "\"plain\"");
	ck_assert_int_eq(executor_running(), 0);

	/* Abort one job of each kind while it runs. */
	job[1] = executor_start(sh_op("sleep 30"), &req, 1, lib_done, &o[1],
	    &cause);
	ck_assert_ptr_nonnull(job[1]);
	ck_assert_ptr_eq(job[1]->executor, &exec_executor);
	job[2] = executor_start(http_op(), &req, 1, lib_done, &o[2], &cause);
	ck_assert_msg(job[2] != NULL, "executor_start: %s", cause);
	ck_assert_ptr_eq(job[2]->executor, &http_executor);
	ck_assert_int_eq(executor_running(), 2);
	ck_assert_int_eq(exec_running(), 1);
	ck_assert_int_eq(http_running(), 1);
	executor_abort(job[1]);
	executor_abort(job[2]);
	lib_wait_all(base, &o[1], 2);
	for (i = 1; i < 3; i++) {
		ck_assert_int_eq(o[i].r->status, EXEC_CANCELLED);
		ck_assert_str_eq(o[i].r->error, "cancelled");
	}
	ck_assert_int_eq(executor_running(), 0);

	/* Left alone, the refused http call fails on its own. */
	job[3] = executor_start(http_op(), &req, 1, lib_done, &o[3], &cause);
	ck_assert_ptr_nonnull(job[3]);
	lib_wait_all(base, &o[3], 1);
	ck_assert_int_eq(o[3].r->status, EXEC_FAILED);
	ck_assert_int_eq(executor_running(), 0);
	for (i = 0; i < 4; i++)
		exec_result_free(o[i].r);
}
END_TEST

/* A kind outside the table, or an operation its executor cannot run,
 * starts nothing and calls nothing back; aborting NULL or twice does
 * nothing more. */
START_TEST(test_executor_start_bad)
{
	struct exec_request	 req;
	struct operation	 op;
	struct outcome		 o = { 0, NULL };
	struct job		*job;
	char			*cause = NULL;

	default_request(&req);
	op = *sh_op("true");
	op.executor = EXECUTOR_MAX;
	ck_assert_ptr_null(executor_start(&op, &req, 1, lib_done, &o, &cause));
	ck_assert_str_eq(cause, "operation test-op has no executor");
	free(cause);
	cause = NULL;
	op.executor = EXECUTOR_EXEC;
	op.argv = NULL;
	ck_assert_ptr_null(executor_start(&op, &req, 1, lib_done, &o, &cause));
	ck_assert_str_eq(cause, "operation test-op has no command to execute");
	free(cause);
	cause = NULL;
	op = *http_op();
	op.url = NULL;
	ck_assert_ptr_null(executor_start(&op, &req, 1, lib_done, &o, &cause));
	ck_assert_str_eq(cause, "operation test-op has no URL to call");
	free(cause);
	cause = NULL;
	executor_abort(NULL);
	event_base_loop(base, EVLOOP_NONBLOCK);
	ck_assert_int_eq(o.calls, 0);
	ck_assert_int_eq(executor_running(), 0);

	job = executor_start(sh_op("sleep 30"), &req, 1, lib_done, &o, &cause);
	ck_assert_ptr_nonnull(job);
	executor_abort(job);
	executor_abort(job);
	lib_wait_all(base, &o, 1);
	ck_assert_int_eq(o.r->status, EXEC_CANCELLED);
	exec_result_free(o.r);
	ck_assert_int_eq(executor_running(), 0);
}
END_TEST

/* ---- suites ----------------------------------------------------------- */

static Suite *
exec_suite(void)
{
	Suite	*s = suite_create("exec");

	lib_tcase(s, "exec", exec_setup, exec_teardown, 60,
	    test_exec_success,
	    test_exec_success_minimal,
	    test_exec_output_bad,
	    test_exec_usage_bad,
	    test_exec_result_bound_bad,
	    test_exec_stdin,
	    test_exec_stdin_bad,
	    test_exec_exit_status_bad,
	    test_exec_stderr_tail_bad,
	    test_exec_signal_bad,
	    test_exec_timeout,
	    test_exec_timeout_bad,
	    test_exec_output_bound,
	    test_exec_output_bound_bad,
	    test_exec_missing_bad,
	    test_exec_missing_abort_bad,
	    test_exec_http_bad,
	    test_exec_abort,
	    test_exec_abort_bad,
	    test_exec_stdin_ignored,
	    test_exec_concurrent,
	    test_exec_spawn_burst,
	    test_exec_spawn_abort_queued,
	    test_exec_env,
	    test_exec_env_named,
	    test_exec_dies_with_parent,
	    test_exec_kill_survivors,
	    test_exec_run,
	    test_exec_run_bad,
	    test_exec_isolation,
	    test_exec_background_bad,
	    test_exec_status_name,
	    test_exec_runtime_free,
	    test_exec_catalog_commands,
	    NULL);
	return (s);
}

static Suite *
executor_suite(void)
{
	Suite	*s = suite_create("executor");

	lib_tcase(s, "executor", executor_setup, executor_teardown, 0,
	    test_executor_find,
	    test_executor_find_bad,
	    test_executor_start,
	    test_executor_start_bad,
	    NULL);
	return (s);
}

static Suite *
catalog_suite(void)
{
	Suite	*s = suite_create("catalog");
	TCase	*tc;

	tc = lib_tcase(s, "catalog", NULL, NULL, 0,
	    test_catalog_example,
	    test_catalog_example_bad,
	    test_catalog_default,
	    test_catalog_defaults,
	    test_catalog_http,
	    test_catalog_prices,
	    test_catalog_to_json,
	    test_catalog_default_model_bad,
	    test_catalog_validation,
	    NULL);
	tcase_add_loop_test(tc, test_catalog_validation_bad, 0,
	    sizeof catalog_bad / sizeof catalog_bad[0]);
	return (s);
}

static Suite *
cost_suite(void)
{
	Suite	*s = suite_create("cost");

	lib_tcase(s, "cost", NULL, NULL, 0,
	    test_cost_tokens,
	    test_cost_tokens_bad,
	    test_cost_estimate,
	    test_cost_estimate_bad,
	    test_cost_actual,
	    test_cost_actual_bad,
	    NULL);
	return (s);
}

int
main(void)
{
	return (lib_run(CK_NORMAL, exec_suite(), executor_suite(),
	    catalog_suite(), cost_suite(), NULL));
}
