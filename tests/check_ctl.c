/*
 * tests/check_ctl.c: the control protocol.  The server suites run a real
 * server on a temporary socket in an event_base with a table of test
 * methods, and drive clients from the same loop (bufferevents), so no test
 * waits on time: each one runs the loop until what it waits for happened.
 */
#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "engine.h"
#include "ctl.h"
#include "lib.h"

/* ---- test methods -------------------------------------------------------- */

static struct event_base	*base;
static struct ctl_server	*server;
static char			*dir, path[96];
static struct ctl_req		*held;
static int			 pending, max_pending;

static void	h_echo(struct ctl_req *, json_t *);
static void	h_async(struct ctl_req *, json_t *);
static void	h_hold(struct ctl_req *, json_t *);
static void	h_fail(struct ctl_req *, json_t *);
static void	h_prefixed(struct ctl_req *, json_t *);
static void	h_stream(struct ctl_req *, json_t *);
static void	h_keep(struct ctl_req *, json_t *);

static const struct ctl_param p_echo[] = {
	{ .name = "text", .type = CTL_P_STRING,
	    .help = "text" },
	{ .name = "size", .type = CTL_P_INT,
	    .help = "bytes of padding in the answer" },
	{ .name = NULL }
};
static const struct ctl_param p_types[] = {
	{ .name = "s", .type = CTL_P_STRING,
	    .help = "" },
	{ .name = "i", .type = CTL_P_INT,
	    .help = "" },
	{ .name = "b", .type = CTL_P_BOOL,
	    .help = "" },
	{ .name = "usd", .type = CTL_P_USD,
	    .help = "" },
	{ .name = "d", .type = CTL_P_DURATION,
	    .help = "" },
	{ .name = "o", .type = CTL_P_OBJECT,
	    .help = "" },
	{ .name = "t", .type = CTL_P_TIME,
	    .help = "" },
	{ .name = "need", .type = CTL_P_STRING, .flags = CTL_P_REQUIRED,
	    .help = "" },
	{ .name = "ib", .type = CTL_P_INT, .help = "", .min = -2, .max = 5 },
	{ .name = "sb", .type = CTL_P_STRING, .help = "", .min = 1,
	    .max = 3 },
	{ .name = NULL }
};
static const struct ctl_method test_methods[] = {
	{ .name = "test.echo", .summary = "echo", .params = p_echo,
	    .flags = CTL_M_READONLY },
	{ .name = "test.types", .summary = "types", .params = p_types },
	{ .name = "test.async", .summary = "answer later", .params = p_echo },
	{ .name = "test.hold", .summary = "answer when told",
	    .params = p_echo },
	{ .name = "test.admin", .summary = "admin only", .params = p_echo,
	    .flags = CTL_M_ADMIN },
	{ .name = "test.fail", .summary = "error", .params = p_echo },
	{ .name = "test.prefixed", .summary = "error whose reason names its "
	    "field", .params = p_echo },
	{ .name = "test.stream", .summary = "size notifications, then "
	    "\"done\"", .params = p_echo, .flags = CTL_M_READONLY },
	{ .name = "test.keep", .summary = "answer at once, keep a reference "
	    "to the params", .params = p_echo },
	{ .name = NULL }
};
/* Their handlers, in the same order. */
static const ctl_handler test_handlers[] = {
	h_echo, h_echo, h_async, h_hold, h_echo, h_fail, h_prefixed, h_stream,
	h_keep
};

static ctl_handler
test_find(const char *name, const struct ctl_method **spec)
{
	const struct ctl_method	*m;

	for (m = test_methods; m->name != NULL; m++) {
		if (strcmp(m->name, name) == 0) {
			*spec = m;
			return (test_handlers[m - test_methods]);
		}
	}
	return (NULL);
}

/* {"params": PARAMS, "pad": "xxx..."} */
static json_t *
echo_result(json_t *params)
{
	json_t	*r;
	int64_t	 size = 0;
	char	*pad;

	r = json_pack("{s:O}", "params", params);
	if (param_int(params, "size", &size) && size > 0) {
		pad = xmalloc(size + 1);
		memset(pad, 'x', size);
		pad[size] = '\0';
		json_object_set_new(r, "pad", json_string(pad));
		free(pad);
	}
	return (r);
}

static void
h_echo(struct ctl_req *req, json_t *params)
{
	ctl_reply(req, echo_result(params));
}

struct async {
	struct ctl_req	*req;
	json_t		*result;
};

static void
async_cb(evutil_socket_t fd, short events, void *arg)
{
	struct async	*a = arg;

	pending--;
	ctl_reply(a->req, a->result);
	free(a);
}

static void
h_async(struct ctl_req *req, json_t *params)
{
	struct async	*a = xmalloc(sizeof *a);
	struct timeval	 tv = { 0, 0 };

	a->req = req;
	a->result = echo_result(params);
	if (++pending > max_pending)
		max_pending = pending;
	event_base_once(base, -1, EV_TIMEOUT, async_cb, a, &tv);
}

static json_t	*kept;		/* test.keep's params */

static void
h_keep(struct ctl_req *req, json_t *params)
{
	json_decref(kept);
	kept = json_incref(params);
	ctl_reply(req, json_pack("{s:b}", "kept", 1));
}

static void
h_hold(struct ctl_req *req, json_t *params)
{
	held = req;
}

static void
h_fail(struct ctl_req *req, json_t *params)
{
	ctl_error(req, CTL_E_NOT_FOUND, "no such thing", "text", "unknown");
}

/* An error whose reason is a cause that begins with the field's name, or
 * (text "other") with a name that only starts like it. */
static void
h_prefixed(struct ctl_req *req, json_t *params)
{
	const char	*t = param_string(params, "text");

	if (t != NULL && strcmp(t, "other") == 0)
		ctl_error_param(req, "cron", "cronjob: not a field");
	else
		ctl_error_param(req, "cron", "cron: bad minute field \"61\"");
}

/* test.stream's producer: "tick" {"n", "pad"} while there is room, then
 * "done"; what the server told it, counted. */
static struct {
	struct ctl_stream	*st;
	int64_t			 total;
	int64_t			 sent;
	int			 blocked;	/* room said no, no writable yet */
	int			 writable;	/* calls */
	int			 closed;	/* calls */
	size_t			 unread_max;
} prod;

static void
prod_run(void)
{
	while (prod.st != NULL && prod.sent < prod.total) {
		if (!ctl_stream_room(prod.st)) {
			prod.blocked = 1;
			return;
		}
		ctl_stream_notify(prod.st, "tick", json_pack("{s:I,s:s}", "n",
		    (json_int_t)prod.sent, "pad", "0123456789abcdef0123456789"
		    "abcdef0123456789abcdef0123456789abcdef"));
		prod.sent++;
		if (ctl_stream_unread(prod.st) > prod.unread_max)
			prod.unread_max = ctl_stream_unread(prod.st);
	}
	if (prod.st != NULL) {
		ctl_stream_end(prod.st, "done", json_pack("{s:I}", "n",
		    (json_int_t)prod.sent));
		prod.st = NULL;
	}
}

static void
prod_writable(void *arg)
{
	ck_assert_int_eq(prod.blocked, 1);
	prod.blocked = 0;
	prod.writable++;
	prod_run();
}

static void
prod_closed(void *arg)
{
	prod.closed++;
	prod.st = NULL;
}

static const struct ctl_stream_ops prod_ops = {
	.writable = prod_writable,
	.closed = prod_closed,
};

static void
h_stream(struct ctl_req *req, json_t *params)
{
	memset(&prod, 0, sizeof prod);
	param_int(params, "size", &prod.total);
	prod.st = ctl_stream_start(req, json_pack("{s:b}", "streaming", 1),
	    &prod_ops, NULL);
	prod_run();
}

/* ---- a client driven by the same loop ------------------------------------ */

struct tclient {
	struct bufferevent	*bev;
	json_t			*lines;		/* every message received */
	int			 eof;
};

static void
tc_read(struct bufferevent *bev, void *arg)
{
	struct tclient	*tc = arg;
	char		*line;
	size_t		 n;
	json_t		*msg;

	while ((line = evbuffer_readln(bufferevent_get_input(bev), &n,
	    EVBUFFER_EOL_LF)) != NULL) {
		msg = json_loads(line, 0, NULL);
		ck_assert_msg(msg != NULL, "response is not JSON: %.80s", line);
		json_array_append_new(tc->lines, msg);
		free(line);
	}
}

static void
tc_event(struct bufferevent *bev, short what, void *arg)
{
	struct tclient	*tc = arg;

	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		tc->eof = 1;
}

static struct tclient *
tc_from_fd(int fd)
{
	struct tclient	*tc = xcalloc(1, sizeof *tc);

	evutil_make_socket_nonblocking(fd);
	tc->lines = json_array();
	tc->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(tc->bev, tc_read, NULL, tc_event, tc);
	bufferevent_enable(tc->bev, EV_READ | EV_WRITE);
	return (tc);
}

static int
tc_connect(void)
{
	char	*cause = NULL;
	int	 fd;

	fd = ctl_client_connect(path, &cause);
	ck_assert_msg(fd != -1, "connect: %s", cause);
	return (fd);
}

static struct tclient *
tc_open(void)
{
	return (tc_from_fd(tc_connect()));
}

static void
tc_send(struct tclient *tc, const char *s)
{
	bufferevent_write(tc->bev, s, strlen(s));
}

/* Run the loop until TC has N messages (or the server closed it). */
static size_t
tc_wait(struct tclient *tc, size_t n)
{
	while (json_array_size(tc->lines) < n && !tc->eof)
		event_base_loop(base, EVLOOP_ONCE);
	return (json_array_size(tc->lines));
}

static void
tc_wait_eof(struct tclient *tc)
{
	while (!tc->eof)
		event_base_loop(base, EVLOOP_ONCE);
}

/* Send one line and return the next message (borrowed). */
static json_t *
tc_call(struct tclient *tc, const char *line)
{
	size_t	n = json_array_size(tc->lines);

	tc_send(tc, line);
	tc_send(tc, "\n");
	ck_assert_uint_eq(tc_wait(tc, n + 1), n + 1);
	return (json_array_get(tc->lines, n));
}

static void
tc_close(struct tclient *tc)
{
	bufferevent_free(tc->bev);
	json_decref(tc->lines);
	free(tc);
}

/* Apply limits L, which must be accepted. */
static void
set_limits(const struct ctl_limits *l)
{
	char	*cause = NULL;

	ck_assert_msg(ctl_server_set_limits(server, l, &cause) == 0, "%s",
	    cause);
}

static void
wait_connections(size_t n)
{
	while (ctl_server_connections(server) != n)
		event_base_loop(base, EVLOOP_ONCE);
}

/* Assert MSG is an error CODE; FIELD and REASON (substring) if given. */
static void
assert_error(json_t *msg, int code, const char *field, const char *reason)
{
	json_t	*e = json_object_get(msg, "error"), *data;

	ck_assert_msg(e != NULL, "not an error: %s",
	    json_dumps(msg, JSON_COMPACT));
	ck_assert_int_eq(json_integer_value(json_object_get(e, "code")), code);
	ck_assert_ptr_null(json_object_get(msg, "result"));
	data = json_object_get(e, "data");
	if (field != NULL)
		ck_assert_str_eq(json_string_value(json_object_get(data,
		    "field")), field);
	if (reason != NULL)
		ck_assert_msg(strstr(json_string_value(json_object_get(data,
		    "reason")), reason) != NULL, "reason \"%s\" lacks \"%s\"",
		    json_string_value(json_object_get(data, "reason")), reason);
}

static void
server_setup(void)
{
	char	*cause = NULL;

	signal(SIGPIPE, SIG_IGN);
	base = event_base_new();
	dir = lib_tmpdir("check_ctl");
	snprintf(path, sizeof path, "%s/chime.sock", dir);
	server = ctl_server_create(base, path, test_find, &cause);
	ck_assert_msg(server != NULL, "ctl_server_create: %s", cause);
	held = NULL;
	pending = max_pending = 0;
}

static void
server_teardown(void)
{
	ctl_server_free(server);
	event_base_free(base);
	lib_rm_tree(dir);
	free(dir);
	dir = NULL;
}

/* ---- suite: server -------------------------------------------------------- */

/* A good request gets its result with its own id. */
START_TEST(test_server_request_good)
{
	struct tclient	*tc = tc_open();
	json_t		*r;

	r = tc_call(tc, "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"test.echo\","
	    "\"params\":{\"text\":\"hi\"}}");
	ck_assert_int_eq(json_integer_value(json_object_get(r, "id")), 7);
	ck_assert_str_eq(json_string_value(json_object_get(r, "jsonrpc")),
	    "2.0");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(
	    json_object_get(r, "result"), "params"), "text")), "hi");
	r = tc_call(tc, "{\"jsonrpc\":\"2.0\",\"id\":\"abc\",\"method\":"
	    "\"test.echo\"}");
	ck_assert_str_eq(json_string_value(json_object_get(r, "id")), "abc");
	ck_assert_ptr_nonnull(json_object_get(r, "result"));
	r = tc_call(tc, "{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"test.fail\"}");
	assert_error(r, CTL_E_NOT_FOUND, "text", "unknown");
	ck_assert_int_eq(json_integer_value(json_object_get(r, "id")), 8);
	tc_close(tc);
}
END_TEST

/* Text that is not JSON gets -32700 with a null id, and the connection
 * goes on. */
START_TEST(test_server_request_bad)
{
	struct tclient	*tc = tc_open();
	json_t		*r;

	r = tc_call(tc, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":");
	assert_error(r, CTL_E_PARSE, NULL, NULL);
	ck_assert(json_is_null(json_object_get(r, "id")));
	r = tc_call(tc, "{\"jsonrpc\":\"2.0\",\"id\":2,\"id\":3,\"method\":"
	    "\"test.echo\"}");
	assert_error(r, CTL_E_PARSE, NULL, NULL);
	r = tc_call(tc, "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"test.echo\"}");
	ck_assert_int_eq(json_integer_value(json_object_get(r, "id")), 4);
	tc_close(tc);
}
END_TEST

/* A parse error's reason quotes the text near it, UTF-8 included. */
START_TEST(test_server_parse_reason_good)
{
	struct tclient	*tc = tc_open();
	json_t		*r;

	r = tc_call(tc, "{\"a\":\xc3\xa9}");
	assert_error(r, CTL_E_PARSE, NULL, NULL);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(
	    json_object_get(r, "error"), "data"), "reason")),
	    "invalid token near '\xc3\xa9'");
	tc_close(tc);
}
END_TEST

/* A parse error whose quoted text ends inside a UTF-8 sequence (found by
 * fuzz/fuzz-rpc: the daemon exited on "json_dumps failed") is answered
 * -32700, the bytes that are not UTF-8 shown as '?', and the connection
 * goes on. */
START_TEST(test_server_parse_reason_bad)
{
	struct tclient	*tc = tc_open();
	json_t		*r;

	r = tc_call(tc, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":"
	    "\"\\ud8\xc3\x9b\"}");
	assert_error(r, CTL_E_PARSE, NULL, NULL);
	ck_assert(json_is_null(json_object_get(r, "id")));
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(
	    json_object_get(r, "error"), "data"), "reason")),
	    "invalid escape near '\"\\ud8?'");
	r = tc_call(tc, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"test.echo\"}");
	ck_assert_int_eq(json_integer_value(json_object_get(r, "id")), 2);
	tc_close(tc);
}
END_TEST

/* Every malformed request kind gets -32600; the id is echoed when valid. */
START_TEST(test_server_invalid_request_bad)
{
	static const struct {
		const char	*line;
		json_int_t	 id;		/* -1: null */
		const char	*field;
	} cases[] = {
		{ "[]", -1, NULL },
		{ "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"test.echo\"}]",
		    -1, NULL },
		{ "42", -1, NULL },
		{ "\"hello\"", -1, NULL },
		{ "{\"id\":2,\"method\":\"test.echo\"}", 2, "jsonrpc" },
		{ "{\"jsonrpc\":\"1.0\",\"id\":3,\"method\":\"test.echo\"}", 3,
		    "jsonrpc" },
		{ "{\"jsonrpc\":2.0,\"id\":4,\"method\":\"test.echo\"}", 4,
		    "jsonrpc" },
		{ "{\"jsonrpc\":\"2.0\",\"id\":5}", 5, "method" },
		{ "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":5}", 6, "method" },
		{ "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"test.echo\","
		    "\"params\":[1]}", 7, "params" },
		{ "{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"test.echo\","
		    "\"params\":\"x\"}", 8, "params" },
		{ "{\"jsonrpc\":\"2.0\",\"id\":{\"a\":1},\"method\":"
		    "\"test.echo\"}", -1, "id" },
		{ "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"test.echo\","
		    "\"param\":{}}", 9, "param" },
		{ "{\"jsonrpc\":\"2.0\",\"method\":5}", -1, "method" },
	};
	struct tclient	*tc = tc_open();
	json_t		*r, *id;
	size_t		 i;

	for (i = 0; i < sizeof cases / sizeof *cases; i++) {
		r = tc_call(tc, cases[i].line);
		assert_error(r, CTL_E_INVALID_REQUEST, cases[i].field, NULL);
		id = json_object_get(r, "id");
		if (cases[i].id == -1)
			ck_assert_msg(json_is_null(id), "case %zu: id", i);
		else
			ck_assert_int_eq(json_integer_value(id), cases[i].id);
	}
	r = json_array_get(tc->lines, 0);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(r,
	    "error"), "message")), "batch requests are not supported");
	tc_close(tc);
}
END_TEST

/* An unknown method gets -32601 naming it; prefixes are not names. */
START_TEST(test_server_unknown_method_bad)
{
	struct tclient	*tc = tc_open();
	json_t		*r;

	r = tc_call(tc, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"test.nope\"}");
	assert_error(r, CTL_E_NO_METHOD, NULL, NULL);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(
	    json_object_get(r, "error"), "data"), "method")), "test.nope");
	r = tc_call(tc, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"test.ech\"}");
	assert_error(r, CTL_E_NO_METHOD, NULL, NULL);
	tc_close(tc);
}
END_TEST

/* Every parameter type accepts its documented forms. */
START_TEST(test_server_params_good)
{
	static const char *good[] = {
		"{\"need\":\"x\"}",
		"{\"need\":\"x\",\"s\":\"\",\"i\":-3,\"b\":false}",
		"{\"need\":\"x\",\"usd\":\"1.25\"}",
		"{\"need\":\"x\",\"usd\":\"$0.000001\"}",
		"{\"need\":\"x\",\"usd\":1.25}",
		"{\"need\":\"x\",\"usd\":3}",
		"{\"need\":\"x\",\"d\":\"90s\"}",
		"{\"need\":\"x\",\"d\":\"1h30m\"}",
		"{\"need\":\"x\",\"d\":0}",
		"{\"need\":\"x\",\"o\":{}}",
		"{\"need\":\"x\",\"o\":{\"a\":[1]}}",
		"{\"need\":\"x\",\"t\":\"2025-03-09T07:00:00Z\"}",
		"{\"need\":\"x\",\"t\":\"2025-03-09T02:00:00.5-05:00\"}",
		"{\"need\":\"x\",\"ib\":-2,\"sb\":\"a\"}",
		"{\"need\":\"x\",\"ib\":5,\"sb\":\"abc\"}",
		"{\"need\":\"x\",\"sb\":\"\u00e9\"}",
	};
	struct tclient	*tc = tc_open();
	json_t		*r;
	char		*line;
	size_t		 i;

	for (i = 0; i < sizeof good / sizeof *good; i++) {
		xasprintf(&line, "{\"jsonrpc\":\"2.0\",\"id\":%zu,\"method\":"
		    "\"test.types\",\"params\":%s}", i, good[i]);
		r = tc_call(tc, line);
		ck_assert_msg(json_object_get(r, "result") != NULL,
		    "case %zu refused: %s", i, json_dumps(r, JSON_COMPACT));
		free(line);
	}
	tc_close(tc);
}
END_TEST

/* A bad value of every type, an unknown and a missing parameter each get
 * -32602 naming the field and why, and the handler does not run. */
START_TEST(test_server_params_bad)
{
	static const struct {
		const char	*params;
		const char	*field;
		const char	*reason;
	} bad[] = {
		{ "{}", "need", "required" },
		{ "{\"need\":\"x\",\"zzz\":1}", "zzz", "unknown parameter" },
		{ "{\"need\":1}", "need", "must be a string" },
		{ "{\"need\":null}", "need", "must be a string" },
		{ "{\"need\":\"x\",\"i\":\"1\"}", "i", "must be an integer" },
		{ "{\"need\":\"x\",\"i\":1.5}", "i", "must be an integer" },
		{ "{\"need\":\"x\",\"b\":\"true\"}", "b", "true or false" },
		{ "{\"need\":\"x\",\"usd\":\"abc\"}", "usd", "USD" },
		{ "{\"need\":\"x\",\"usd\":\"1.2345678\"}", "usd", "USD" },
		{ "{\"need\":\"x\",\"usd\":-1}", "usd", "USD" },
		{ "{\"need\":\"x\",\"usd\":0.0000001}", "usd", "USD" },
		{ "{\"need\":\"x\",\"usd\":true}", "usd", "USD" },
		{ "{\"need\":\"x\",\"d\":\"5x\"}", "d", "duration" },
		{ "{\"need\":\"x\",\"d\":-5}", "d", "duration" },
		{ "{\"need\":\"x\",\"d\":1.5}", "d", "duration" },
		{ "{\"need\":\"x\",\"o\":[1]}", "o", "must be an object" },
		{ "{\"need\":\"x\",\"o\":\"a=1\"}", "o", "must be an object" },
		{ "{\"need\":\"x\",\"t\":\"yesterday\"}", "t", "RFC 3339" },
		{ "{\"need\":\"x\",\"t\":\"2025-02-30T00:00:00Z\"}", "t",
		    "RFC 3339" },
		{ "{\"need\":\"x\",\"t\":1741503600}", "t", "RFC 3339" },
		{ "{\"need\":\"x\",\"ib\":-3}", "ib", "must be from -2 to 5" },
		{ "{\"need\":\"x\",\"ib\":6}", "ib", "must be from -2 to 5" },
		{ "{\"need\":\"x\",\"ib\":\"1\"}", "ib", "must be an integer" },
		{ "{\"need\":\"x\",\"sb\":\"\"}", "sb",
		    "must be 1 to 3 characters" },
		{ "{\"need\":\"x\",\"sb\":\"abcd\"}", "sb",
		    "must be 1 to 3 characters" },
		{ "{\"need\":\"x\",\"sb\":\"\u00e9\u00e9\"}", "sb",
		    "must be 1 to 3 characters" },
	};
	struct tclient	*tc = tc_open();
	json_t		*r;
	char		*line;
	size_t		 i;

	for (i = 0; i < sizeof bad / sizeof *bad; i++) {
		xasprintf(&line, "{\"jsonrpc\":\"2.0\",\"id\":%zu,\"method\":"
		    "\"test.types\",\"params\":%s}", i, bad[i].params);
		r = tc_call(tc, line);
		assert_error(r, CTL_E_INVALID_PARAMS, bad[i].field,
		    bad[i].reason);
		ck_assert_int_eq(json_integer_value(json_object_get(r, "id")),
		    (json_int_t)i);
		free(line);
	}
	r = tc_call(tc, "{\"jsonrpc\":\"2.0\",\"id\":99,\"method\":\"test.async\","
	    "\"params\":{\"size\":\"big\"}}");
	assert_error(r, CTL_E_INVALID_PARAMS, "size", "integer");
	ck_assert_int_eq(max_pending, 0);
	tc_close(tc);
}
END_TEST

/* Integers at the ends of int64, and digits in strings, arrive as they
 * were sent. */
START_TEST(test_server_big_integer_good)
{
	struct tclient	*tc = tc_open();
	json_t		*r, *p;

	r = tc_call(tc, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":"
	    "\"test.types\",\"params\":{\"need\":\"9223372036854775808\","
	    "\"i\":9223372036854775807,\"o\":{\"a\":-9223372036854775808,"
	    "\"b\":\"x\\\"99999999999999999999\",\"c\":1.5e300}}}");
	p = json_object_get(json_object_get(r, "result"), "params");
	ck_assert_msg(p != NULL, "refused: %s", json_dumps(r, JSON_COMPACT));
	ck_assert_str_eq(json_string_value(json_object_get(p, "need")),
	    "9223372036854775808");
	ck_assert(json_integer_value(json_object_get(p, "i")) == INT64_MAX);
	p = json_object_get(p, "o");
	ck_assert(json_integer_value(json_object_get(p, "a")) == INT64_MIN);
	ck_assert_str_eq(json_string_value(json_object_get(p, "b")),
	    "x\"99999999999999999999");
	ck_assert(json_real_value(json_object_get(p, "c")) == 1.5e300);
	tc_close(tc);
}
END_TEST

/* A number past what jansson holds is valid JSON: -32602 naming the
 * parameter that holds it (nested ones too), never -32700; the handler
 * does not run.  Malformed JSON is still -32700. */
START_TEST(test_server_big_integer_bad)
{
	static const struct {
		const char	*params;
		const char	*field;
	} bad[] = {
		{ "{\"need\":\"x\",\"i\":9223372036854775808}", "i" },
		{ "{\"need\":\"x\",\"i\":-9223372036854775809}", "i" },
		{ "{\"need\":\"x\",\"i\":100000000000000000000000000000}",
		    "i" },
		{ "{\"need\":18446744073709551616}", "need" },
		{ "{\"need\":\"x\",\"o\":{\"a\":[1,{\"b\":"
		    "9223372036854775808}]}}", "o" },
		{ "{\"need\":\"x\",\"usd\":1e999}", "usd" },
		{ "{\"need\":\"x\",\"o\":{\"s\":\"\\\\\",\"n\":"
		    "-99999999999999999999}}", "o" },
	};
	struct tclient	*tc = tc_open();
	json_t		*r;
	const char	*cut;
	char		*line;
	size_t		 i;

	for (i = 0; i < sizeof bad / sizeof *bad; i++) {
		xasprintf(&line, "{\"jsonrpc\":\"2.0\",\"id\":%zu,\"method\":"
		    "\"test.types\",\"params\":%s}", i, bad[i].params);
		r = tc_call(tc, line);
		assert_error(r, CTL_E_INVALID_PARAMS, bad[i].field,
		    "out of range");
		ck_assert_int_eq(json_integer_value(json_object_get(r, "id")),
		    (json_int_t)i);
		free(line);
	}
	r = tc_call(tc, "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":"
	    "\"test.async\",\"params\":{\"size\":99999999999999999999}}");
	assert_error(r, CTL_E_INVALID_PARAMS, "size", "out of range");
	ck_assert_int_eq(max_pending, 0);
	r = tc_call(tc, "{\"jsonrpc\":\"2.0\",\"id\":99999999999999999999,"
	    "\"method\":\"test.echo\"}");
	assert_error(r, CTL_E_INVALID_REQUEST, "id", "int64");
	cut = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"test.echo\","
	    "\"params\":{\"size\":99999999999999999999";
	r = tc_call(tc, cut);
	assert_error(r, CTL_E_PARSE, NULL, NULL);
	/* The position is in the line as sent. */
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(
	    json_object_get(r, "error"), "data"), "position")),
	    (json_int_t)strlen(cut));
	tc_close(tc);
}
END_TEST

/* A reason that begins with its field's name loses that prefix. */
START_TEST(test_server_error_prefix_good)
{
	struct tclient	*tc = tc_open();
	json_t		*r;

	r = tc_call(tc, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":"
	    "\"test.prefixed\"}");
	assert_error(r, CTL_E_INVALID_PARAMS, "cron", NULL);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(
	    json_object_get(r, "error"), "data"), "reason")),
	    "bad minute field \"61\"");
	tc_close(tc);
}
END_TEST

/* A reason that only starts like its field's name is left whole. */
START_TEST(test_server_error_prefix_bad)
{
	struct tclient	*tc = tc_open();
	json_t		*r;

	r = tc_call(tc, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":"
	    "\"test.prefixed\",\"params\":{\"text\":\"other\"}}");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(
	    json_object_get(r, "error"), "data"), "reason")),
	    "cronjob: not a field");
	tc_close(tc);
}
END_TEST

/* A notification runs but gets no answer; the next request does. */
START_TEST(test_server_notification_good)
{
	struct tclient	*tc = tc_open();
	json_t		*r;

	tc_send(tc, "{\"jsonrpc\":\"2.0\",\"method\":\"test.async\"}\n");
	tc_send(tc, "{\"jsonrpc\":\"2.0\",\"method\":\"test.nope\"}\n");
	tc_send(tc, "{\"jsonrpc\":\"2.0\",\"method\":\"test.types\"}\n");
	r = tc_call(tc, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"test.echo\"}");
	ck_assert_int_eq(json_integer_value(json_object_get(r, "id")), 2);
	while (pending > 0)
		event_base_loop(base, EVLOOP_ONCE);
	r = tc_call(tc, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"test.echo\"}");
	ck_assert_int_eq(json_integer_value(json_object_get(r, "id")), 3);
	ck_assert_uint_eq(json_array_size(tc->lines), 2);
	ck_assert_int_eq(max_pending, 1);
	tc_close(tc);
}
END_TEST

/* A malformed notification is still answered (with a null id): the server
 * cannot know it was one. */
START_TEST(test_server_notification_bad)
{
	struct tclient	*tc = tc_open();
	json_t		*r;

	r = tc_call(tc, "{\"jsonrpc\":\"2.0\",\"method\":\"test.echo\","
	    "\"params\":[]}");
	assert_error(r, CTL_E_INVALID_REQUEST, "params", NULL);
	ck_assert(json_is_null(json_object_get(r, "id")));
	tc_close(tc);
}
END_TEST

/* Pipelined requests are all answered, each with its id, with no more
 * than the in-flight limit running at once. */
START_TEST(test_server_pipelined_good)
{
	struct ctl_limits	 l = { 0, 0, 4, 0, 0, 0, 0, 0, 0 };
	struct tclient		*tc;
	char			 line[128], seen[101];
	json_t			*r;
	json_int_t		 id;
	size_t			 i;

	set_limits(&l);
	tc = tc_open();
	for (i = 1; i <= 100; i++) {
		snprintf(line, sizeof line, "{\"jsonrpc\":\"2.0\",\"id\":%zu,"
		    "\"method\":\"test.%s\"}\n", i, i % 3 ? "async" : "echo");
		tc_send(tc, line);
	}
	ck_assert_uint_eq(tc_wait(tc, 100), 100);
	memset(seen, 0, sizeof seen);
	json_array_foreach(tc->lines, i, r) {
		id = json_integer_value(json_object_get(r, "id"));
		ck_assert(id >= 1 && id <= 100 && !seen[id]);
		ck_assert_ptr_nonnull(json_object_get(r, "result"));
		seen[id] = 1;
	}
	ck_assert_int_eq(max_pending, 4);
	ck_assert_int_eq(pending, 0);
	tc_close(tc);
}
END_TEST

/* A line past the request limit gets -32600 and the connection closes;
 * a large request under the limit is served. */
START_TEST(test_server_too_large_bad)
{
	const char	*head = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":"
	    "\"test.echo\",\"params\":{\"text\":\"";
	struct tclient	*tc;
	char		*big;
	json_t		*r;
	size_t		 n = CTL_MAX_REQUEST + 1;

	tc = tc_open();
	big = xmalloc(n + 1);
	memset(big, 'x', n);
	big[n] = '\0';
	tc_send(tc, big);
	tc_wait_eof(tc);
	ck_assert_uint_eq(json_array_size(tc->lines), 1);
	r = json_array_get(tc->lines, 0);
	assert_error(r, CTL_E_INVALID_REQUEST, NULL, NULL);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(r,
	    "error"), "message")), "request too large");
	tc_close(tc);
	wait_connections(0);

	tc = tc_open();
	n = CTL_MAX_REQUEST - 200;
	memset(big, 'y', n);
	big[n] = '\0';
	memcpy(big, head, strlen(head));
	memcpy(big + n - 3, "\"}}", 3);
	r = tc_call(tc, big);
	ck_assert_ptr_nonnull(json_object_get(r, "result"));
	ck_assert_uint_eq(strlen(json_string_value(json_object_get(
	    json_object_get(json_object_get(r, "result"), "params"),
	    "text"))), n - strlen(head) - 3);
	free(big);
	tc_close(tc);
}
END_TEST

/* A handled request under CTL_RELEASE_LATER bytes is freed at once; a
 * larger one after the loop's next poll, and one released after the
 * timer was set waits for the turn after (it was not answered before
 * that turn's poll).  Each holds one reference more here, to be seen. */
START_TEST(test_server_release_good)
{
	json_t	*small = json_object(), *big = json_object();
	json_t	*next = json_array();

	json_incref(small);
	json_incref(big);
	json_incref(next);
	ctl_server_release(server, small, CTL_RELEASE_LATER - 1);
	ck_assert_int_eq(small->refcount, 1);
	ctl_server_release(server, big, CTL_RELEASE_LATER);
	ctl_server_release(server, next, CTL_MAX_REQUEST);
	ck_assert_int_eq(big->refcount, 2);
	while (big->refcount == 2)
		event_base_loop(base, EVLOOP_ONCE);
	ck_assert_int_eq(next->refcount, 2);
	while (next->refcount == 2)
		event_base_loop(base, EVLOOP_ONCE);
	json_decref(small);
	json_decref(big);
	json_decref(next);
}
END_TEST

/* A large request's answer is on its way (in the client's socket) before
 * the request is freed, which is not in the turn that handled it. */
START_TEST(test_server_release_answer_good)
{
	struct tclient	*tc = tc_open();
	const char	*head = "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":"
	    "\"test.keep\",\"params\":{\"text\":\"";
	size_t		 n = CTL_RELEASE_LATER + 100, hl = strlen(head);
	char		*line = xmalloc(n + 1);
	int		 waiting = 0;

	memset(line, 'x', n);
	memcpy(line, head, hl);
	memcpy(line + n - 4, "\"}}\n", 4);
	line[n] = '\0';
	tc_send(tc, line);
	free(line);
	while (kept == NULL)
		event_base_loop(base, EVLOOP_ONCE);
	ck_assert_int_eq(kept->refcount, 2);	/* still the request's too */
	ck_assert_uint_eq(json_array_size(tc->lines), 0);
	while (kept->refcount == 2)
		event_base_loop(base, EVLOOP_ONCE);
	ck_assert_int_eq(ioctl(bufferevent_getfd(tc->bev), FIONREAD,
	    &waiting), 0);
	ck_assert_msg(waiting > 0 || json_array_size(tc->lines) > 0,
	    "the request was freed before its answer was written");
	ck_assert_uint_eq(tc_wait(tc, 1), 1);
	ck_assert(json_is_true(json_object_get(json_object_get(
	    json_array_get(tc->lines, 0), "result"), "kept")));
	ck_assert_uint_eq(strlen(json_string_value(json_object_get(kept,
	    "text"))), n - hl - 4);
	json_decref(kept);
	kept = NULL;
	tc_close(tc);
}
END_TEST

/* Large requests still waiting when the server goes are freed with it;
 * without a server a request is freed at once; NULL is nothing. */
START_TEST(test_server_release_bad)
{
	json_t	*a = json_object(), *b = json_array();

	json_incref(a);
	json_incref(b);
	ctl_server_release(server, a, CTL_RELEASE_LATER);
	ctl_server_release(server, b, CTL_RELEASE_LATER * 4);
	ctl_server_release(server, NULL, CTL_RELEASE_LATER);
	ck_assert_int_eq(a->refcount, 2);
	ck_assert_int_eq(b->refcount, 2);
	ctl_server_free(server);
	server = NULL;
	ck_assert_int_eq(a->refcount, 1);
	ck_assert_int_eq(b->refcount, 1);
	ctl_server_release(NULL, a, CTL_RELEASE_LATER);
	json_decref(b);
}
END_TEST

/* A connection that closes with a request pending leaves it answerable:
 * the late answer is dropped, nothing dangles. */
START_TEST(test_server_close_pending_good)
{
	const char	*async = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":"
	    "\"test.async\"}\n";
	struct tclient	*tc = tc_open();
	int		 fd;

	tc_send(tc, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"test.hold\"}\n");
	while (held == NULL)
		event_base_loop(base, EVLOOP_ONCE);
	ck_assert(ctl_req_connected(held));
	ck_assert_str_eq(ctl_req_method(held), "test.hold");
	ck_assert_uint_eq(ctl_req_caller(held)->uid, geteuid());
	tc_close(tc);
	wait_connections(0);
	ck_assert(!ctl_req_connected(held));
	ctl_reply(held, json_pack("{s:b}", "late", 1));

	/* The same with an answer already scheduled on the loop. */
	fd = tc_connect();
	ck_assert_int_eq(write(fd, async, strlen(async)),
	    (ssize_t)strlen(async));
	close(fd);
	while (ctl_server_connections(server) != 0 || pending != 0 ||
	    max_pending == 0)
		event_base_loop(base, EVLOOP_ONCE);
}
END_TEST

/* Freeing the server with a request pending detaches it too. */
START_TEST(test_server_close_pending_bad)
{
	struct tclient	*tc = tc_open();

	tc_send(tc, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"test.hold\"}\n");
	while (held == NULL)
		event_base_loop(base, EVLOOP_ONCE);
	ctl_server_free(server);
	server = NULL;
	ck_assert(!ctl_req_connected(held));
	ctl_error(held, CTL_E_UNAVAILABLE, "gone", NULL, NULL);
	tc_wait_eof(tc);
	ck_assert_uint_eq(json_array_size(tc->lines), 0);
	ck_assert_int_eq(access(path, F_OK), -1);
	tc_close(tc);
}
END_TEST

/* A client that half-closes after its requests still gets every answer,
 * then EOF. */
START_TEST(test_server_half_close_good)
{
	struct tclient	*tc;
	int		 fd = tc_connect();
	const char	*req = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":"
	    "\"test.async\"}\n{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":"
	    "\"test.echo\"}";

	ck_assert_int_eq(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	ck_assert_int_eq(shutdown(fd, SHUT_WR), 0);
	tc = tc_from_fd(fd);
	tc_wait_eof(tc);
	ck_assert_uint_eq(json_array_size(tc->lines), 2);
	tc_close(tc);
	wait_connections(0);
}
END_TEST

/* The socket is created with mode 0666: the daemon decides per request. */
START_TEST(test_server_socket_mode_good)
{
	struct stat	sb;

	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert(S_ISSOCK(sb.st_mode));
	ck_assert_int_eq(sb.st_mode & 07777, 0666);
	ck_assert_str_eq(ctl_server_path(server), path);
}
END_TEST

/* A path that is not a socket, or is too long, is refused and left. */
START_TEST(test_server_socket_mode_bad)
{
	struct ctl_server	*s;
	char			 other[256], *cause = NULL;
	int			 fd;

	snprintf(other, sizeof other, "%s/file", dir);
	fd = open(other, O_CREAT | O_WRONLY, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	s = ctl_server_create(base, other, test_find, &cause);
	ck_assert_ptr_null(s);
	ck_assert_ptr_nonnull(strstr(cause, "not a socket"));
	ck_assert_int_eq(access(other, F_OK), 0);
	free(cause);
	unlink(other);
	memset(other, 'a', sizeof other - 1);
	other[0] = '/';
	other[sizeof other - 1] = '\0';
	s = ctl_server_create(base, other, test_find, &cause);
	ck_assert_ptr_null(s);
	ck_assert_ptr_nonnull(strstr(cause, "too long"));
	free(cause);
}
END_TEST

/* A stale socket file (nobody listening) is replaced. */
START_TEST(test_server_stale_good)
{
	struct ctl_server	*s;
	struct sockaddr_un	 sun;
	struct tclient		*tc;
	char			*cause = NULL;
	int			 fd;

	ctl_server_free(server);
	server = NULL;
	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof sun), 0);
	close(fd);
	ck_assert_int_eq(access(path, F_OK), 0);
	s = ctl_server_create(base, path, test_find, &cause);
	ck_assert_msg(s != NULL, "create: %s", cause);
	server = s;
	tc = tc_open();
	ck_assert_ptr_nonnull(json_object_get(tc_call(tc, "{\"jsonrpc\":\"2.0\","
	    "\"id\":1,\"method\":\"test.echo\"}"), "result"));
	tc_close(tc);
}
END_TEST

/* A second server on a path where one answers is refused, and the first
 * keeps its socket. */
START_TEST(test_server_stale_bad)
{
	struct ctl_server	*s;
	struct tclient		*tc;
	char			*cause = NULL;

	s = ctl_server_create(base, path, test_find, &cause);
	ck_assert_ptr_null(s);
	ck_assert_ptr_nonnull(strstr(cause, "already"));
	free(cause);
	tc = tc_open();
	ck_assert_ptr_nonnull(json_object_get(tc_call(tc, "{\"jsonrpc\":\"2.0\","
	    "\"id\":1,\"method\":\"test.echo\"}"), "result"));
	tc_close(tc);
}
END_TEST

/* Past the connection limit a client gets one -32005 line and EOF; a
 * closed connection makes room again. */
START_TEST(test_server_connection_limit_bad)
{
	struct ctl_limits	 l = { 0, 2, 0, 0, 0, 1, 0, 0, 0 };
	struct tclient		*a, *b, *c;
	const char		*req = "{\"jsonrpc\":\"2.0\",\"id\":1,"
	    "\"method\":\"test.echo\"}";

	set_limits(&l);
	a = tc_open();
	b = tc_open();
	tc_call(a, req);
	tc_call(b, req);
	ck_assert_uint_eq(ctl_server_connections(server), 2);
	c = tc_open();
	tc_wait_eof(c);
	ck_assert_uint_eq(json_array_size(c->lines), 1);
	assert_error(json_array_get(c->lines, 0), CTL_E_OVERLOADED, NULL,
	    NULL);
	tc_close(c);
	tc_close(a);
	wait_connections(1);
	c = tc_open();
	ck_assert_ptr_nonnull(json_object_get(tc_call(c, req), "result"));
	tc_close(c);
	tc_close(b);
}
END_TEST

/* Set *ARG once the loop has run MS milliseconds. */
static void
flag_cb(evutil_socket_t fd, short events, void *arg)
{
	*(int *)arg = 1;
}

static void
run_for_ms(int ms)
{
	struct timeval	tv = { ms / 1000, (ms % 1000) * 1000 };
	int		done = 0;

	event_base_once(base, -1, EV_TIMEOUT, flag_cb, &done, &tv);
	while (!done)
		event_base_loop(base, EVLOOP_ONCE);
}

/* An idle connection is closed after the idle timeout; one whose request
 * is being served, for three times as long, is not, and gets its answer. */
START_TEST(test_server_idle_timeout_good)
{
	struct ctl_limits	 l = { 0 };
	struct tclient		*a, *b;

	l.idle_timeout_ms = 100;
	set_limits(&l);
	a = tc_open();
	ck_assert_ptr_nonnull(json_object_get(tc_call(a, "{\"jsonrpc\":"
	    "\"2.0\",\"id\":1,\"method\":\"test.echo\"}"), "result"));
	b = tc_open();
	tc_send(b, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":"
	    "\"test.hold\"}\n");
	tc_wait_eof(a);
	ck_assert_uint_eq(json_array_size(a->lines), 1);
	tc_close(a);
	run_for_ms(300);
	ck_assert(!b->eof);
	ck_assert_ptr_nonnull(held);
	ck_assert(ctl_req_connected(held));
	ctl_reply(held, json_pack("{s:b}", "done", 1));
	ck_assert_uint_eq(tc_wait(b, 1), 1);
	/* Answered and read: idle again, and closed in its turn. */
	tc_wait_eof(b);
	tc_close(b);
	wait_connections(0);
}
END_TEST

/* A request line left unfinished is answered -32600 and closed at the
 * read timeout, counted from its first byte: bytes trickling in more
 * often than the timeout do not keep it open. */
START_TEST(test_server_read_timeout_bad)
{
	struct ctl_limits	 l = { 0 };
	struct tclient		*tc;
	json_t			*e;
	int			 sends = 0;

	l.read_timeout_ms = 150;
	l.idle_timeout_ms = 60000;
	set_limits(&l);
	tc = tc_open();
	tc_send(tc, "{\"jsonrpc\":\"2.0\",");
	while (!tc->eof) {
		ck_assert_msg(sends < 40, "still open after %d bytes", sends);
		run_for_ms(25);
		tc_send(tc, " ");
		sends++;
	}
	ck_assert_uint_eq(json_array_size(tc->lines), 1);
	assert_error(json_array_get(tc->lines, 0), CTL_E_INVALID_REQUEST,
	    NULL, NULL);
	e = json_object_get(json_array_get(tc->lines, 0), "error");
	ck_assert_str_eq(json_string_value(json_object_get(e, "message")),
	    "request not complete within 150 ms");
	ck_assert(json_is_null(json_object_get(json_array_get(tc->lines, 0),
	    "id")));
	tc_close(tc);
	wait_connections(0);
}
END_TEST

/* A request finished within the read timeout is served, and the next
 * line has a deadline of its own. */
START_TEST(test_server_read_timeout_good)
{
	struct ctl_limits	 l = { 0 };
	struct tclient		*tc;
	json_t			*r;

	l.read_timeout_ms = 200;
	set_limits(&l);
	tc = tc_open();
	tc_send(tc, "{\"jsonrpc\":\"2.0\",\"id\":1,");
	run_for_ms(120);
	r = tc_call(tc, "\"method\":\"test.echo\"}");
	ck_assert_ptr_nonnull(json_object_get(r, "result"));
	tc_send(tc, "{\"jsonrpc\":\"2.0\",\"id\":2,");
	run_for_ms(120);
	r = tc_call(tc, "\"method\":\"test.echo\"}");
	ck_assert_int_eq(json_integer_value(json_object_get(r, "id")), 2);
	ck_assert_ptr_nonnull(json_object_get(r, "result"));
	ck_assert(!tc->eof);
	tc_close(tc);
}
END_TEST

/* Limits that do not hold together are refused and change nothing. */
START_TEST(test_server_set_limits_bad)
{
	struct ctl_limits	 l = { 0 };
	struct tclient		*a, *b;
	char			*cause = NULL;
	const char		*req = "{\"jsonrpc\":\"2.0\",\"id\":1,"
	    "\"method\":\"test.echo\"}";

	l.max_connections = 16;		/* the 16 kept for admins: none left */
	ck_assert_int_eq(ctl_server_set_limits(server, &l, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "kept for admins"));
	free(cause);
	cause = NULL;
	l.max_connections = 2;
	l.admin_reserved = 2;
	ck_assert_int_eq(ctl_server_set_limits(server, &l, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "leave none of 2"));
	free(cause);
	/* Still 256 connections: a third one is served. */
	a = tc_open();
	b = tc_open();
	tc_call(a, req);
	tc_call(b, req);
	tc_close(a);
	a = tc_open();
	ck_assert_ptr_nonnull(json_object_get(tc_call(a, req), "result"));
	ck_assert_uint_eq(ctl_server_connections(server), 2);
	tc_close(a);
	tc_close(b);
}
END_TEST

/* A client that does not read its answers is closed once they pass the
 * output limit. */
START_TEST(test_server_output_limit_bad)
{
	struct ctl_limits	 l = { 0, 0, 0, 16 * 1024, 0, 0, 0, 0, 0 };
	char			 line[128];
	int			 fd, i, n, sndbuf;
	socklen_t		 len = sizeof sndbuf;

	set_limits(&l);
	fd = tc_connect();
	/* Enough answers to fill the socket's buffer twice over. */
	ck_assert_int_eq(getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, &len),
	    0);
	n = 2 * sndbuf / 32768 + 4;
	if (n > CTL_MAX_INFLIGHT)
		n = CTL_MAX_INFLIGHT;
	for (i = 0; i < n; i++) {
		snprintf(line, sizeof line, "{\"jsonrpc\":\"2.0\",\"id\":%d,"
		    "\"method\":\"test.async\",\"params\":{\"size\":32768}}\n",
		    i);
		ck_assert_int_eq(write(fd, line, strlen(line)),
		    (ssize_t)strlen(line));
	}
	wait_connections(1);
	wait_connections(0);
	while (pending != 0)
		event_base_loop(base, EVLOOP_ONCE);
	close(fd);
}
END_TEST

/* A client that reads gets every large answer: the server waits for it
 * instead of buffering past the limit. */
START_TEST(test_server_output_limit_good)
{
	struct ctl_limits	 l = { 0, 0, 0, 16 * 1024, 0, 0, 0, 0, 0 };
	struct tclient		*tc;
	char			 line[128];
	int			 i;

	set_limits(&l);
	tc = tc_open();
	for (i = 0; i < 20; i++) {
		snprintf(line, sizeof line, "{\"jsonrpc\":\"2.0\",\"id\":%d,"
		    "\"method\":\"test.echo\",\"params\":{\"size\":16384}}\n",
		    i);
		tc_send(tc, line);
	}
	ck_assert_uint_eq(tc_wait(tc, 20), 20);
	ck_assert_uint_eq(ctl_server_connections(server), 1);
	tc_close(tc);
}
END_TEST

/* After stop_accepting new connects fail; open connections still work. */
START_TEST(test_server_stop_accepting_good)
{
	struct tclient	*tc = tc_open();
	char		*cause = NULL;

	tc_call(tc, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"test.echo\"}");
	ctl_server_stop_accepting(server);
	ck_assert_int_eq(ctl_client_connect(path, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, path));
	free(cause);
	ck_assert_ptr_nonnull(json_object_get(tc_call(tc, "{\"jsonrpc\":"
	    "\"2.0\",\"id\":2,\"method\":\"test.async\"}"), "result"));
	tc_close(tc);
}
END_TEST

/* The daemon's own uid (or root) may call admin methods. */
START_TEST(test_server_admin_good)
{
	struct tclient	*tc = tc_open();

	ck_assert_ptr_nonnull(json_object_get(tc_call(tc, "{\"jsonrpc\":\"2.0\","
	    "\"id\":1,\"method\":\"test.admin\"}"), "result"));
	tc_close(tc);
}
END_TEST

static void
pipe_cb(evutil_socket_t fd, short events, void *arg)
{
	*(int *)arg = 1;
}

/* Another uid gets -32003 from an admin method before it runs; it may
 * call the others.  Needs root to become another uid. */
START_TEST(test_server_admin_bad)
{
	struct event	*ev;
	char		 buf[4096];
	json_t		*r;
	ssize_t		 n;
	int		 p[2], done = 0, status, fd;
	pid_t		 pid;
	char		*cause = NULL;

	if (geteuid() != 0)
		return;		/* cannot switch uid: nothing to test */
	ck_assert_int_eq(chmod(dir, 0755), 0);
	ck_assert_int_eq(chmod(path, 0666), 0);
	ck_assert_int_eq(pipe(p), 0);
	if ((pid = fork()) == 0) {
		close(p[0]);
		if (setgroups(0, NULL) != 0 || setgid(65534) != 0 ||
		    setuid(65534) != 0)
			_exit(10);
		if ((fd = ctl_client_connect(path, &cause)) == -1)
			_exit(11);
		if (ctl_client_call(fd, "test.admin", NULL, 10000, &r,
		    &cause) != 0)
			_exit(12);
		n = snprintf(buf, sizeof buf, "%s\n", json_dumps(r,
		    JSON_COMPACT));
		if (ctl_client_call(fd, "test.echo", NULL, 10000, &r,
		    &cause) != 0)
			_exit(13);
		n += snprintf(buf + n, sizeof buf - n, "%s\n", json_dumps(r,
		    JSON_COMPACT));
		if (write(p[1], buf, n) != n)
			_exit(14);
		_exit(0);
	}
	ck_assert_int_gt(pid, 0);
	close(p[1]);
	ev = event_new(base, p[0], EV_READ, pipe_cb, &done);
	event_add(ev, NULL);
	while (!done)
		event_base_loop(base, EVLOOP_ONCE);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_int_eq(WEXITSTATUS(status), 0);
	n = read(p[0], buf, sizeof buf - 1);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	r = json_loads(buf, JSON_DISABLE_EOF_CHECK, NULL);
	assert_error(r, CTL_E_FORBIDDEN, NULL, NULL);
	json_decref(r);
	ck_assert_ptr_nonnull(strstr(buf, "\"result\""));
	event_free(ev);
	close(p[0]);
}
END_TEST

struct call_thread {
	const char	*method;
	json_t		*resp;
	char		*cause;
	int		 rc;
	int		 pipe;
	int		 timeout_ms;
};

static void *
call_thread(void *arg)
{
	struct call_thread	*ct = arg;
	json_t			*params;
	int			 fd;

	fd = ctl_client_connect(path, &ct->cause);
	if (fd == -1) {
		ct->rc = -1;
	} else {
		params = json_pack("{s:s}", "text", "thread");
		ct->rc = ctl_client_call(fd, ct->method, params,
		    ct->timeout_ms, &ct->resp, &ct->cause);
		json_decref(params);
		close(fd);
	}
	if (write(ct->pipe, "x", 1) != 1)
		ct->rc = -2;
	return (NULL);
}

/* chimectl's blocking transport gets the response to its request. */
START_TEST(test_server_client_call_good)
{
	struct call_thread	 ct = { "test.async", NULL, NULL, 0, -1, 10000 };
	struct event		*ev;
	pthread_t		 t;
	int			 p[2], done = 0;

	ck_assert_int_eq(pipe(p), 0);
	ct.pipe = p[1];
	ev = event_new(base, p[0], EV_READ, pipe_cb, &done);
	event_add(ev, NULL);
	ck_assert_int_eq(pthread_create(&t, NULL, call_thread, &ct), 0);
	while (!done)
		event_base_loop(base, EVLOOP_ONCE);
	pthread_join(t, NULL);
	ck_assert_msg(ct.rc == 0, "call: %s", ct.cause);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(
	    json_object_get(ct.resp, "result"), "params"), "text")), "thread");
	json_decref(ct.resp);
	event_free(ev);
	close(p[0]);
	close(p[1]);
}
END_TEST

/* The transport says which socket it could not reach, and gives up on an
 * answer that does not come within its timeout. */
START_TEST(test_server_client_call_bad)
{
	struct call_thread	 ct = { "test.hold", NULL, NULL, 0, -1, 50 };
	struct event		*ev;
	pthread_t		 t;
	char			*cause = NULL, other[200];
	int			 p[2], done = 0;

	snprintf(other, sizeof other, "%s/none.sock", dir);
	ck_assert_int_eq(ctl_client_connect(other, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, other));
	ck_assert_ptr_nonnull(strstr(cause, "No such file"));
	free(cause);

	ck_assert_int_eq(pipe(p), 0);
	ct.pipe = p[1];
	ev = event_new(base, p[0], EV_READ, pipe_cb, &done);
	event_add(ev, NULL);
	ck_assert_int_eq(pthread_create(&t, NULL, call_thread, &ct), 0);
	while (!done)
		event_base_loop(base, EVLOOP_ONCE);
	pthread_join(t, NULL);
	ck_assert_int_eq(ct.rc, -1);
	ck_assert_ptr_nonnull(strstr(ct.cause, "timed out"));
	free(ct.cause);
	wait_connections(0);
	ck_assert_ptr_nonnull(held);
	ctl_reply(held, NULL);
	event_free(ev);
	close(p[0]);
	close(p[1]);
}
END_TEST

/* ---- suite: protocol ------------------------------------------------------ */

/* An error object carries code, message and data.field/data.reason. */
START_TEST(test_protocol_error_object_good)
{
	json_t	*e = ctl_error_object(CTL_E_INVALID_PARAMS, "invalid params",
	    "count", "must be an integer");

	ck_assert_int_eq(json_integer_value(json_object_get(e, "code")),
	    -32602);
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(e,
	    "data"), "reason")), "must be an integer");
	json_decref(e);
}
END_TEST

/* Without field and reason there is no data member. */
START_TEST(test_protocol_error_object_bad)
{
	json_t	*e = ctl_error_object(CTL_E_NOT_FOUND, "no such schedule",
	    NULL, NULL);

	ck_assert_ptr_null(json_object_get(e, "data"));
	json_decref(e);
}
END_TEST

/* A reason written to stand alone ("cron: bad ...") is not prefixed by
 * its field twice: the field's own prefix goes. */
START_TEST(test_protocol_error_fields_good)
{
	json_t	*d = ctl_error_fields("cron", "cron: bad minute field");

	ck_assert_str_eq(json_string_value(json_object_get(d, "field")),
	    "cron");
	ck_assert_str_eq(json_string_value(json_object_get(d, "reason")),
	    "bad minute field");
	json_decref(d);
	d = ctl_error_object(CTL_E_INVALID_PARAMS, "invalid params",
	    "catalog", "catalog: /x.json:2:0: '}' expected");
	ck_assert_str_eq(json_string_value(json_object_get(json_object_get(d,
	    "data"), "reason")), "/x.json:2:0: '}' expected");
	json_decref(d);
}
END_TEST

/* Reasons that do not begin "FIELD: " are kept whole, and nothing is
 * left empty. */
START_TEST(test_protocol_error_fields_bad)
{
	static const char *keep[][2] = {
		{ "cron", "cronjob: x" },
		{ "cron", "cron:x" },
		{ "cron", "cron: " },
		{ "cron", "bad: cron: x" },
		{ "", ": x" },
	};
	json_t	*d;
	size_t	 i;

	for (i = 0; i < sizeof keep / sizeof *keep; i++) {
		d = ctl_error_fields(keep[i][0], keep[i][1]);
		ck_assert_str_eq(json_string_value(json_object_get(d,
		    "reason")), keep[i][1]);
		json_decref(d);
	}
	d = ctl_error_fields(NULL, NULL);
	ck_assert_str_eq(json_string_value(json_object_get(d, "reason")), "");
	json_decref(d);
}
END_TEST

/* USD and duration values convert to micro-units exactly. */
START_TEST(test_protocol_values_good)
{
	json_t	*v;
	int64_t	 x;

	ck_assert_int_eq(parse_usd_json(v = json_string("1.25"), &x), 0);
	ck_assert_int_eq(x, 1250000);
	json_decref(v);
	ck_assert_int_eq(parse_usd_json(v = json_real(0.1), &x), 0);
	ck_assert_int_eq(x, 100000);
	json_decref(v);
	ck_assert_int_eq(parse_usd_json(v = json_real(19.99), &x), 0);
	ck_assert_int_eq(x, 19990000);
	json_decref(v);
	ck_assert_int_eq(parse_usd_json(v = json_integer(3), &x), 0);
	ck_assert_int_eq(x, 3000000);
	json_decref(v);
	ck_assert_int_eq(param_value_duration(v = json_string("1h30m"), &x), 0);
	ck_assert_int_eq(x, 5400 * USEC_PER_SEC);
	json_decref(v);
	ck_assert_int_eq(param_value_duration(v = json_integer(90), &x), 0);
	ck_assert_int_eq(x, 90 * USEC_PER_SEC);
	json_decref(v);
}
END_TEST

/* Negative, over-precise and mistyped values are refused. */
START_TEST(test_protocol_values_bad)
{
	json_t	*v;
	int64_t	 x;

	ck_assert_int_eq(parse_usd_json(v = json_real(-0.5), &x), -1);
	json_decref(v);
	ck_assert_int_eq(parse_usd_json(v = json_real(1.0000001), &x), -1);
	json_decref(v);
	ck_assert_int_eq(parse_usd_json(v = json_string("1.2.3"), &x), -1);
	json_decref(v);
	ck_assert_int_eq(parse_usd_json(v = json_integer(-1), &x), -1);
	json_decref(v);
	ck_assert_int_eq(param_value_duration(v = json_string("-5"), &x), -1);
	json_decref(v);
	ck_assert_int_eq(param_value_duration(v = json_integer(-5), &x), -1);
	json_decref(v);
	ck_assert_int_eq(param_value_duration(v = json_true(), &x), -1);
	json_decref(v);
}
END_TEST

/* The typed getters read checked params. */
START_TEST(test_protocol_getters_good)
{
	json_t	*p = json_pack("{s:s,s:i,s:b,s:s,s:s,s:s}", "s", "x", "i", 4,
	    "b", 1, "usd", "2.5", "d", "2m", "t", "1970-01-01T00:00:01Z");
	int64_t	 x;
	int	 b;

	ck_assert_str_eq(param_string(p, "s"), "x");
	ck_assert(param_int(p, "i", &x) && x == 4);
	ck_assert(param_bool(p, "b", &b) && b == 1);
	ck_assert(param_usd(p, "usd", &x) && x == 2500000);
	ck_assert(param_duration(p, "d", &x) && x == 120 * USEC_PER_SEC);
	ck_assert(param_time(p, "t", &x) && x == USEC_PER_SEC);
	json_decref(p);
}
END_TEST

/* Absent params leave the output alone and say so. */
START_TEST(test_protocol_getters_bad)
{
	json_t	*p = json_object();
	int64_t	 x = 42;
	int	 b = 7;

	ck_assert_ptr_null(param_string(p, "s"));
	ck_assert(!param_int(p, "i", &x) && x == 42);
	ck_assert(!param_bool(p, "b", &b) && b == 7);
	ck_assert(!param_usd(p, "usd", &x) && x == 42);
	ck_assert(!param_time(p, "t", &x) && x == 42);
	json_decref(p);
}
END_TEST

/* ---- suite: client-args --------------------------------------------------- */

static const struct ctl_param p_thing[] = {
	{ .name = "name", .type = CTL_P_STRING,
	    .flags = CTL_P_REQUIRED | CTL_P_POSITIONAL,
	    .help = "name" },
	{ .name = "operation", .type = CTL_P_STRING, .flags = CTL_P_REQUIRED,
	    .alias = "op",
	    .help = "operation id" },
	{ .name = "count", .type = CTL_P_INT,
	    .help = "how many" },
	{ .name = "paused", .type = CTL_P_BOOL,
	    .help = "start paused" },
	{ .name = "parameters", .type = CTL_P_OBJECT, .alias = "param",
	    .help = "operation parameters" },
	{ .name = "max_cost", .type = CTL_P_USD,
	    .help = "monthly cap" },
	{ .name = "every", .type = CTL_P_DURATION,
	    .help = "interval" },
	{ .name = NULL }
};
static const struct ctl_param p_none[] = { { .name = NULL } };
static const struct ctl_method t_thing[] = {
	{ .name = "thing.create", .summary = "create a thing", .params = p_thing },
	{ .name = "thing.list", .summary = "list things", .params = p_none,
	    .flags = CTL_M_READONLY, .columns = "id,name,cost.mid",
	    .list_key = "things" },
	{ .name = "thing.delete", .summary = "delete a thing", .params = p_none },
	{ .name = "thing.get", .summary = "show a thing", .params = p_none },
	{ .name = NULL }
};
static const struct ctl_method t_tool[] = {
	{ .name = "tool.get", .summary = "show a tool", .params = p_none },
	{ .name = "tool.getall", .summary = "show all tools", .params = p_none },
	{ .name = NULL }
};
static const struct ctl_param p_long[] = {
	{ .name = "id", .type = CTL_P_STRING,
	    .flags = CTL_P_REQUIRED | CTL_P_POSITIONAL,
	    .help = "the id" },
	{ .name = "an_extra_long_flag", .type = CTL_P_STRING,
	    .help = "long" },
	{ .name = "n", .type = CTL_P_INT,
	    .help = "a number" },
	{ .name = "on", .type = CTL_P_BOOL,
	    .help = "a switch whose help is long enough to be wrapped "
	        "onto a second line, and then onto a third one as well, "
	        "since it goes on and on and on" },
	{ .name = NULL }
};
static const struct ctl_method t_long[] = {
	{ .name = "long.create", .summary = "long flags", .params = p_long },
	{ .name = "long.list", .summary = "a table that fits", .params = p_none,
	    .flags = CTL_M_READONLY, .columns = "id,name~,note~,state",
	    .list_key = "items" },
	{ .name = "long.joined", .summary = "joined and wide-only columns",
	    .params = p_none, .flags = CTL_M_READONLY,
	    .columns = "id,kind spec~,+extra", .list_key = "items" },
	{ .name = NULL }
};
static const struct ctl_method *const t_tables[] = { t_thing, t_tool, NULL };

static json_t *
args(char **cause, ...)
{
	char	*argv[32];
	int	 argc = 0;
	va_list	 ap;
	json_t	*out = NULL;

	va_start(ap, cause);
	while ((argv[argc] = va_arg(ap, char *)) != NULL)
		argc++;
	va_end(ap);
	*cause = NULL;
	if (ctl_params_from_argv(&t_thing[0], argc, argv, &out, cause) != 0)
		ck_assert_ptr_null(out);
	return (out);
}

/* Positional, aliased, key=value and boolean flags become typed params. */
START_TEST(test_args_parse_good)
{
	char	*cause, *s;
	json_t	*p;

	p = args(&cause, "n1", "--op", "summ", "--count", "-3", "--paused",
	    "--param", "a=1", "--param", "b=hi", "--param", "c={\"d\":true}",
	    "--param", "e=", "--max-cost=1.50", "--every", "5m", NULL);
	ck_assert_msg(p != NULL, "%s", cause);
	s = json_dumps(p, JSON_COMPACT | JSON_SORT_KEYS);
	ck_assert_str_eq(s, "{\"count\":-3,\"every\":\"5m\",\"max_cost\":"
	    "\"1.50\",\"name\":\"n1\",\"operation\":\"summ\",\"parameters\":"
	    "{\"a\":1,\"b\":\"hi\",\"c\":{\"d\":true},\"e\":\"\"},"
	    "\"paused\":true}");
	free(s);
	json_decref(p);
	p = args(&cause, "--operation", "x", "--no-paused", "--name", "n",
	    "--param", "{\"k\":[1,2]}", NULL);
	ck_assert_msg(p != NULL, "%s", cause);
	s = json_dumps(p, JSON_COMPACT | JSON_SORT_KEYS);
	ck_assert_str_eq(s, "{\"name\":\"n\",\"operation\":\"x\","
	    "\"parameters\":{\"k\":[1,2]},\"paused\":false}");
	free(s);
	json_decref(p);
	p = args(&cause, "--op", "x", "--paused=no", "--", "--dash", NULL);
	ck_assert_msg(p != NULL, "%s", cause);
	ck_assert_str_eq(json_string_value(json_object_get(p, "name")),
	    "--dash");
	ck_assert(json_is_false(json_object_get(p, "paused")));
	json_decref(p);
}
END_TEST

/* Unknown flags, missing values or arguments and bad integers are usage
 * errors that name the problem. */
START_TEST(test_args_parse_bad)
{
	static const struct {
		const char	*argv[6];
		const char	*cause;
	} bad[] = {
		{ { "n", "--op", "x", "--bogus", NULL }, "unknown flag --bogus" },
		{ { "n", "--op", "x", "-v", NULL }, "unknown flag -v" },
		{ { "n", "--op", NULL }, "--op needs a value" },
		{ { "n", NULL }, "missing --op" },
		{ { "--op", "x", NULL }, "missing NAME" },
		{ { "n", "--op", "x", "--count", "3x", NULL }, "not an integer" },
		{ { "n", "--op", "x", "--count", "", NULL }, "not an integer" },
		{ { "n", "--op", "x", "extra", NULL }, "unexpected argument" },
		{ { "n", "--op", "x", "--no-count", NULL }, "unknown flag" },
		{ { "n", "--op", "x", "--op", "y", NULL }, "given twice" },
		{ { "n", "--op", "x", "--param", "novalue", NULL }, "KEY=VALUE" },
		{ { "n", "--op", "x", "--paused=maybe", NULL }, "true or false" },
	};
	json_t	*p;
	char	*cause;
	size_t	 i;
	int	 argc;

	for (i = 0; i < sizeof bad / sizeof *bad; i++) {
		for (argc = 0; bad[i].argv[argc] != NULL; argc++)
			/* nothing */;
		cause = NULL;
		p = NULL;
		ck_assert_int_eq(ctl_params_from_argv(&t_thing[0], argc,
		    (char *const *)bad[i].argv, &p, &cause), -1);
		ck_assert_ptr_null(p);
		ck_assert_msg(strstr(cause, bad[i].cause) != NULL,
		    "case %zu: \"%s\" lacks \"%s\"", i, cause, bad[i].cause);
		free(cause);
	}
}
END_TEST

/* Unique prefixes and the ls/rm/show aliases resolve to methods. */
START_TEST(test_args_match_good)
{
	char	*cause = NULL;

	ck_assert_str_eq(ctl_method_match_in(t_tables, "th", "cr",
	    &cause)->name, "thing.create");
	ck_assert_str_eq(ctl_method_match_in(t_tables, "thing", "ls",
	    &cause)->name, "thing.list");
	ck_assert_str_eq(ctl_method_match_in(t_tables, "thing", "rm",
	    &cause)->name, "thing.delete");
	ck_assert_str_eq(ctl_method_match_in(t_tables, "thi", "show",
	    &cause)->name, "thing.get");
	ck_assert_str_eq(ctl_method_match_in(t_tables, "th.d", NULL,
	    &cause)->name, "thing.delete");
	ck_assert_str_eq(ctl_method_match_in(t_tables, "tool", "get",
	    &cause)->name, "tool.get");
}
END_TEST

/* Ambiguous and unknown nouns and verbs name the candidates. */
START_TEST(test_args_match_bad)
{
	char	*cause = NULL;

	ck_assert_ptr_null(ctl_method_match_in(t_tables, "t", "get", &cause));
	ck_assert_ptr_nonnull(strstr(cause, "ambiguous command \"t\": thing, "
	    "tool"));
	free(cause);
	ck_assert_ptr_null(ctl_method_match_in(t_tables, "tool", "g", &cause));
	ck_assert_ptr_nonnull(strstr(cause, "get, getall"));
	free(cause);
	ck_assert_ptr_null(ctl_method_match_in(t_tables, "zz", "get", &cause));
	ck_assert_ptr_nonnull(strstr(cause, "unknown command \"zz\""));
	free(cause);
	ck_assert_ptr_null(ctl_method_match_in(t_tables, "thing", "x", &cause));
	ck_assert_ptr_nonnull(strstr(cause, "unknown verb \"x\""));
	free(cause);
	ck_assert_ptr_null(ctl_method_match_in(t_tables, "thing", NULL,
	    &cause));
	ck_assert_ptr_nonnull(strstr(cause, "missing verb"));
	free(cause);
}
END_TEST

/* Print into a string. */
static char *
capture(void (*fn)(FILE *, const struct ctl_method *, json_t *),
    const struct ctl_method *m, const char *json)
{
	json_t	*v = json_loads(json, JSON_DECODE_ANY, NULL);
	char	*buf = NULL;
	size_t	 len = 0;
	FILE	*fp = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(v);
	fn(fp, m, v);
	fclose(fp);
	json_decref(v);
	return (buf);
}

/* A list result is a table with upper-case headers, aligned columns,
 * dotted keys and '-' for missing values; other members follow. */
START_TEST(test_args_print_good)
{
	char	*s;

	s = capture(print_result, &t_thing[1], "{\"things\":[{\"id\":\"a\","
	    "\"name\":\"first\",\"cost\":{\"mid\":\"0.25\"}},{\"id\":\"bbbb\"}],"
	    "\"next\":null}");
	ck_assert_str_eq(s, "ID    NAME   COST.MID\na     first  0.25\n"
	    "bbbb  -      -\nnext: -\n");
	free(s);
	s = capture(print_result, &t_thing[0], "{\"id\":\"a\",\"n\":2,"
	    "\"cost\":{\"low\":1,\"high\":3},\"tags\":[\"x\",\"y\"],"
	    "\"runs\":[{\"id\":1,\"ok\":true}]}");
	ck_assert_str_eq(s, "id: a\nn: 2\ncost:\n  low: 1\n  high: 3\n"
	    "tags: x, y\nruns:\n  - id: 1\n    ok: true\n");
	free(s);
}
END_TEST

/* Control characters from the daemon never reach the terminal; a list
 * method whose result has no list falls back to key: value. */
START_TEST(test_args_print_bad)
{
	char	*s;

	s = capture(print_result, &t_thing[1], "{\"things\":[{\"id\":"
	    "\"a\\u001b[2Jb\"}]}");
	ck_assert_ptr_null(strchr(s, 0x1b));
	ck_assert_ptr_nonnull(strstr(s, "a?[2Jb"));
	free(s);
	s = capture(print_result, &t_thing[1], "{\"things\":5}");
	ck_assert_str_eq(s, "things: 5\n");
	free(s);
}
END_TEST

static void
error_to(FILE *fp, const struct ctl_method *m, json_t *v)
{
	print_error(fp, v);
}

static void
usage_to(FILE *fp, const struct ctl_method *m, json_t *v)
{
	print_usage(fp, m);
}

static void
help_to(FILE *fp, const struct ctl_method *m, json_t *v)
{
	print_method_help(fp, m);
}

/* Display width: UTF-8 code points. */
static size_t
print_test_width(const char *s)
{
	size_t	n = 0;

	for (; *s != '\0'; s++) {
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	}
	return (n);
}

/* Errors print as "chimectl: MESSAGE (field: reason)". */
START_TEST(test_args_error_good)
{
	char	*s;

	s = capture(error_to, NULL, "{\"code\":-32602,\"message\":"
	    "\"invalid params\",\"data\":{\"field\":\"count\",\"reason\":"
	    "\"must be an integer\"}}");
	ck_assert_str_eq(s, "chimectl: invalid params (count: must be an "
	    "integer)\n");
	free(s);
	s = capture(error_to, NULL, "{\"code\":-32601,\"message\":"
	    "\"no such method\",\"data\":{\"method\":\"x.y\"}}");
	ck_assert_str_eq(s, "chimectl: no such method (method: x.y)\n");
	free(s);
	s = capture(usage_to, &t_thing[0], "null");
	ck_assert_str_eq(s, "usage: chimectl thing create NAME --op OPERATION "
	    "[--count N] [--paused] [--param KEY=VALUE]... [--max-cost USD] "
	    "[--every DURATION]\n");
	free(s);
}
END_TEST

/* The column where S's help text starts: after the type column. */
static size_t
help_column(const char *line)
{
	const char	*p;

	p = strstr(line, "  string  ");
	if (p == NULL)
		p = strstr(line, "  integer ");
	if (p == NULL)
		p = strstr(line, "  boolean ");
	ck_assert_msg(p != NULL, "no type in \"%s\"", line);
	return (p - line);
}

/* Help lines up its columns whatever the length of a flag. */
START_TEST(test_args_help_columns_good)
{
	char	*s, *line, *save = NULL;
	size_t	 col = 0, n = 0;

	s = capture(help_to, &t_long[0], "null");
	for (line = strtok_r(s, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "  ", 2) != 0 || line[2] == ' ')
			continue;
		if (n++ == 0)
			col = help_column(line);
		ck_assert_uint_eq(help_column(line), col);
	}
	ck_assert_uint_eq(n, 4);
	free(s);
}
END_TEST

/* A help text too long for one line wraps under its own column; no line
 * passes 100 columns. */
START_TEST(test_args_help_columns_bad)
{
	char	*s, *line, *save = NULL, *at;
	size_t	 col = 0, cont = 0;

	s = capture(help_to, &t_long[0], "null");
	at = strstr(s, "a switch whose");
	ck_assert_ptr_nonnull(at);
	while (at > s && at[-1] != '\n')
		at--;
	col = strstr(at, "a switch") - at;
	for (line = strtok_r(at, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		ck_assert_uint_le(strlen(line), 100);
		if (line != at) {
			ck_assert_uint_eq(strspn(line, " "), col);
			cont++;
		}
	}
	ck_assert_uint_ge(cont, 1);
	free(s);
}
END_TEST

static void
fit_to(FILE *fp, const struct ctl_method *m, json_t *v)
{
	print_result_fit(fp, m, v, 60);
}

/* A table wider than the limit narrows its "~" columns, cutting values
 * with an ellipsis, and then fits. */
START_TEST(test_args_print_fit_good)
{
	char	*s, *line, *save = NULL;

	s = capture(fit_to, &t_long[1], "{\"items\":[{\"id\":\"s_1\","
	    "\"name\":\"a-rather-long-schedule-name-that-goes-on\",\"note\":"
	    "\"a note that is long as well, longer than it should be\","
	    "\"state\":\"active\"},{\"id\":\"s_2\",\"name\":\"b\","
	    "\"note\":null,\"state\":\"paused\"}]}");
	ck_assert_ptr_nonnull(strstr(s, "\u2026"));
	ck_assert_ptr_nonnull(strstr(s, "s_2  b "));
	for (line = strtok_r(s, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		ck_assert_msg(print_test_width(line) <= 60, "%zu: \"%s\"",
		    print_test_width(line), line);
		ck_assert_ptr_nonnull(strstr(line, "s_") != NULL ? line :
		    strstr(line, "ID"));
	}
	free(s);
}
END_TEST

/* Without a limit, or with no "~" column to narrow, nothing is cut; a
 * narrowed column keeps its header. */
START_TEST(test_args_print_fit_bad)
{
	char	*s;

	s = capture(print_result, &t_long[1], "{\"items\":[{\"id\":\"s_1\","
	    "\"name\":\"a-rather-long-schedule-name-that-goes-on-and-on\","
	    "\"state\":\"active\"}]}");
	ck_assert_ptr_null(strstr(s, "\u2026"));
	ck_assert_ptr_nonnull(strstr(s, "a-rather-long-schedule-name-that-goes-"
	    "on-and-on"));
	free(s);
	s = capture(fit_to, &t_thing[1], "{\"things\":[{\"id\":\"an-id-far-"
	    "too-long-to-fit-in-sixty-columns-but-not-shrinkable\",\"name\":"
	    "\"x\"}]}");
	ck_assert_ptr_null(strstr(s, "\u2026"));
	free(s);
	s = capture(fit_to, &t_long[1], "{\"items\":[{\"id\":\"" "s_1234567"
	    "89012345678901234567890123456789012345678901234567890\",\"name\":"
	    "\"abcdefghijklmnop\",\"note\":\"abcdefghijkl\"}]}");
	ck_assert_ptr_nonnull(strstr(s, "NAME    NOTE"));
	ck_assert_ptr_nonnull(strstr(s, "abcde\u2026  abcde\u2026"));
	free(s);
}
END_TEST

/* "a b" columns join their values under A's header; "+c" columns show
 * only at full width. */
START_TEST(test_args_print_joined_good)
{
	char	*s;

	s = capture(print_result, &t_long[2], "{\"items\":[{\"id\":\"1\","
	    "\"kind\":\"cron\",\"spec\":\"0 7 * * *\",\"extra\":\"x\"},"
	    "{\"id\":\"2\",\"kind\":\"manual\",\"spec\":\"\"}]}");
	ck_assert_str_eq(s, "ID  KIND            EXTRA\n"
	    "1   cron 0 7 * * *  x\n"
	    "2   manual          -\n");
	free(s);
	s = capture(fit_to, &t_long[2], "{\"items\":[{\"id\":\"1\","
	    "\"kind\":\"cron\",\"spec\":\"0 7 * * *\",\"extra\":\"x\"}]}");
	ck_assert_str_eq(s, "ID  KIND\n1   cron 0 7 * * *\n");
	free(s);
}
END_TEST

/* A joined cell with no value at all is "-"; its values are cleaned of
 * control characters. */
START_TEST(test_args_print_joined_bad)
{
	char	*s;

	s = capture(fit_to, &t_long[2], "{\"items\":[{\"id\":\"1\","
	    "\"spec\":null},{\"id\":\"2\",\"kind\":\"a\\u001bb\","
	    "\"spec\":3}]}");
	ck_assert_str_eq(s, "ID  KIND\n1   -\n2   a?b 3\n");
	free(s);
}
END_TEST

static void
block_to(FILE *fp, const struct ctl_method *m, json_t *v)
{
	json_t	*running = json_object_get(v, "running_ops");

	print_batch_block(fp, json_object_get(v, "batch"), running,
	    (int64_t)1795000065 * USEC_PER_SEC, 80);
}

static void
line_to(FILE *fp, const struct ctl_method *m, json_t *v)
{
	print_batch_line(fp, v);
}

#define WATCH_BATCH \
	"{\"id\":\"b_1\",\"name\":\"sweep\",\"type\":\"conditional\"," \
	"\"state\":\"running\",\"total\":4,\"completed\":2,\"failed\":1," \
	"\"skipped\":0,\"cancelled\":0,\"running\":1,\"pending\":0," \
	"\"progress\":\"3/4 ended\",\"spent_usd\":\"0.001200\"," \
	"\"estimate_low_usd\":\"0.001000\",\"estimate_high_usd\":" \
	"\"0.003000\",\"max_cost_usd\":\"0.500000\",\"started\":" \
	"\"2026-11-18T11:06:40Z\",\"finished\":null}"

/* The watch block: name and state, a bar, elapsed and cost, the counts
 * and the running operations; the line form has progress and cost. */
START_TEST(test_args_watch_block_good)
{
	char	*s;

	s = capture(block_to, NULL, "{\"batch\":" WATCH_BATCH ",\"running_ops"
	    "\":[{\"id\":\"brief\",\"operation\":\"analytics-summary\","
	    "\"run_id\":\"b_1:4\"}]}");
	ck_assert_str_eq(s, "batch b_1 sweep (conditional): running\n"
	    "[##############################----------]  3/4 ended, 75%\n"
	    "elapsed 1m05s  spent $0.001200  estimate $0.001000 to $0.003000  "
	    "max $0.500000\n"
	    "2 completed, 1 failed, 0 skipped, 0 cancelled, 1 running, "
	    "0 pending\n"
	    "running:\n"
	    "  brief  analytics-summary  b_1:4\n");
	free(s);
	s = capture(line_to, NULL, WATCH_BATCH);
	ck_assert_str_eq(s, "3/4 ended; spent $0.001200\n");
	free(s);
}
END_TEST

/* A narrow terminal cuts every line short of its last column; missing
 * members show as "-"; control characters never reach the terminal. */
START_TEST(test_args_watch_block_bad)
{
	char	*s, *line, *save = NULL;
	json_t	*b;
	FILE	*fp;
	size_t	 len;
	int	 n;

	b = json_loads("{\"id\":\"b_\\u001b[2J\",\"total\":0}", 0, NULL);
	fp = open_memstream(&s, &len);
	n = print_batch_block(fp, b, NULL, 0, 30);
	fclose(fp);
	ck_assert_int_eq(n, 4);
	ck_assert_ptr_null(strchr(s, 0x1b));
	ck_assert_ptr_nonnull(strstr(s, "batch b_?[2J - (-): -"));
	ck_assert_ptr_nonnull(strstr(s, "0/0 ended, 0%"));
	for (line = strtok_r(s, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save))
		ck_assert_uint_le(print_test_width(line), 29);
	free(s);
	json_decref(b);
}
END_TEST

/* An error with no message or odd data still prints one line. */
START_TEST(test_args_error_bad)
{
	char	*s;

	s = capture(error_to, NULL, "{\"code\":1,\"data\":\"x\\ny\"}");
	ck_assert_str_eq(s, "chimectl: error (x?y)\n");
	free(s);
}
END_TEST

static Suite *
server_suite(void)
{
	Suite	*s = suite_create("server");

	lib_tcase(s, "server", server_setup, server_teardown, 0,
	    test_server_request_good,
	    test_server_request_bad,
	    test_server_parse_reason_good,
	    test_server_parse_reason_bad,
	    test_server_invalid_request_bad,
	    test_server_unknown_method_bad,
	    test_server_params_good,
	    test_server_params_bad,
	    test_server_big_integer_good,
	    test_server_big_integer_bad,
	    test_server_error_prefix_good,
	    test_server_error_prefix_bad,
	    test_server_notification_good,
	    test_server_notification_bad,
	    test_server_pipelined_good,
	    test_server_too_large_bad,
	    test_server_release_good,
	    test_server_release_answer_good,
	    test_server_release_bad,
	    test_server_close_pending_good,
	    test_server_close_pending_bad,
	    test_server_half_close_good,
	    test_server_socket_mode_good,
	    test_server_socket_mode_bad,
	    test_server_stale_good,
	    test_server_stale_bad,
	    test_server_connection_limit_bad,
	    test_server_idle_timeout_good,
	    test_server_read_timeout_bad,
	    test_server_read_timeout_good,
	    test_server_set_limits_bad,
	    test_server_output_limit_bad,
	    test_server_output_limit_good,
	    test_server_stop_accepting_good,
	    test_server_admin_good,
	    test_server_admin_bad,
	    test_server_client_call_good,
	    test_server_client_call_bad,
	    NULL);
	return (s);
}

static Suite *
protocol_suite(void)
{
	Suite	*s = suite_create("protocol");

	lib_tcase(s, "protocol", NULL, NULL, 0,
	    test_protocol_error_object_good,
	    test_protocol_error_object_bad,
	    test_protocol_error_fields_good,
	    test_protocol_error_fields_bad,
	    test_protocol_values_good,
	    test_protocol_values_bad,
	    test_protocol_getters_good,
	    test_protocol_getters_bad,
	    NULL);
	return (s);
}


/* ---- suite: stream (server.c's streams) ----------------------------------- */

/* A stream: the answer, every notification in order, the last one, then
 * the server closes; a request sent after the stream began is dropped. */
START_TEST(test_stream_notify_good)
{
	struct ctl_limits	 l = { 0 };
	struct tclient		*tc;
	json_t			*m;
	size_t			 i;

	l.stream_output = 4096;
	set_limits(&l);
	tc = tc_open();
	tc_send(tc, "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"test.stream\","
	    "\"params\":{\"size\":300}}\n{\"jsonrpc\":\"2.0\",\"id\":8,"
	    "\"method\":\"test.echo\"}\n");
	tc_wait_eof(tc);
	ck_assert_uint_eq(json_array_size(tc->lines), 302);
	m = json_array_get(tc->lines, 0);
	ck_assert_int_eq(json_integer_value(json_object_get(m, "id")), 7);
	ck_assert(json_is_true(json_object_get(json_object_get(m, "result"),
	    "streaming")));
	for (i = 1; i <= 300; i++) {
		m = json_array_get(tc->lines, i);
		ck_assert_ptr_null(json_object_get(m, "id"));
		ck_assert_str_eq(json_string_value(json_object_get(m,
		    "method")), "tick");
		ck_assert_int_eq(json_integer_value(json_object_get(
		    json_object_get(m, "params"), "n")), (json_int_t)i - 1);
	}
	m = json_array_get(tc->lines, 301);
	ck_assert_str_eq(json_string_value(json_object_get(m, "method")),
	    "done");
	ck_assert_int_eq(prod.closed, 0);
	ck_assert_uint_le(prod.unread_max, 4096 + 200);
	tc_close(tc);
}
END_TEST

/* A client that does not read pauses the producer at the bound (nothing
 * more is buffered); once it reads, the producer is told and goes on. */
START_TEST(test_stream_pause_good)
{
	struct ctl_limits	 l = { 0 };
	struct tclient		*tc;
	const char		*req = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":"
				    "\"test.stream\",\"params\":{\"size\":"
				    "20000}}\n";
	int			 fd;

	l.stream_output = 8192;
	set_limits(&l);
	fd = tc_connect();
	ck_assert_int_eq(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	while (!prod.blocked)
		event_base_loop(base, EVLOOP_ONCE);
	/* Paused: the loop runs, nothing more is produced. */
	event_base_loop(base, EVLOOP_NONBLOCK);
	ck_assert_int_eq(prod.blocked, 1);
	ck_assert_int_lt(prod.sent, 20000);
	ck_assert_uint_le(prod.unread_max, 8192 + 200);
	ck_assert_uint_ge(prod.unread_max, 8192);
	tc = tc_from_fd(fd);
	tc_wait_eof(tc);
	ck_assert_uint_eq(json_array_size(tc->lines), 20002);
	ck_assert_int_gt(prod.writable, 0);
	ck_assert_int_eq(prod.sent, 20000);
	ck_assert_int_eq(prod.closed, 0);
	tc_close(tc);
}
END_TEST

/* A client that goes mid-stream: the producer is told once, and the
 * connection is gone. */
START_TEST(test_stream_closed_bad)
{
	struct ctl_limits	 l = { 0 };
	struct tclient		*tc;

	l.stream_output = 4096;
	l.idle_timeout_ms = 1;
	set_limits(&l);
	tc = tc_open();
	tc_send(tc, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"test.stream\","
	    "\"params\":{\"size\":1000000}}\n");
	while (!prod.blocked)
		event_base_loop(base, EVLOOP_ONCE);
	ck_assert_uint_eq(ctl_server_connections(server), 1);
	tc_close(tc);
	wait_connections(0);
	ck_assert_int_eq(prod.closed, 1);
	ck_assert_ptr_null(prod.st);
	ck_assert_int_lt(prod.sent, 1000000);
}
END_TEST

/* A stream has no idle timeout: a paused one is not closed for it. */
START_TEST(test_stream_idle_good)
{
	struct ctl_limits	 l = { 0 };
	const char		*req = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":"
				    "\"test.stream\",\"params\":{\"size\":"
				    "100000}}\n";
	struct timeval		 tv = { 0, 300000 };
	int			 fd;

	l.stream_output = 4096;
	l.idle_timeout_ms = 50;
	set_limits(&l);
	fd = tc_connect();
	ck_assert_int_eq(write(fd, req, strlen(req)), (ssize_t)strlen(req));
	while (!prod.blocked)
		event_base_loop(base, EVLOOP_ONCE);
	/* Six idle timeouts' worth of loop time. */
	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
	ck_assert_uint_eq(ctl_server_connections(server), 1);
	ck_assert_int_eq(prod.closed, 0);
	close(fd);
	wait_connections(0);
}
END_TEST

/* ---- suite: events (method-events.c, the kinds filter) -------------------- */

/* Exact kinds, and prefixes ending in "." or "*". */
START_TEST(test_events_kinds_good)
{
	struct ctl_kinds	*k;
	json_t			*list;
	char			*cause = NULL;

	list = json_pack("[s,s,s]", "run.finished", "batch.", "sched*");
	k = ctl_kinds_parse(list, &cause);
	ck_assert_msg(k != NULL, "%s", cause);
	ck_assert(ctl_kinds_match(k, "run.finished"));
	ck_assert(!ctl_kinds_match(k, "run.finished2"));
	ck_assert(!ctl_kinds_match(k, "run.started"));
	ck_assert(!ctl_kinds_match(k, "run"));
	ck_assert(ctl_kinds_match(k, "batch.created"));
	ck_assert(!ctl_kinds_match(k, "batch"));
	ck_assert(!ctl_kinds_match(k, "batches.x"));
	ck_assert(ctl_kinds_match(k, "schedule.created"));
	ck_assert(ctl_kinds_match(k, "sched"));
	ck_assert(!ctl_kinds_match(k, "daemon.started"));
	ctl_kinds_free(k);
	json_decref(list);

	list = json_pack("[s]", "*");
	k = ctl_kinds_parse(list, &cause);
	ck_assert_ptr_nonnull(k);
	ck_assert(ctl_kinds_match(k, "daemon.started"));
	ck_assert(ctl_kinds_match(k, "x"));
	ctl_kinds_free(k);
	json_decref(list);
	ctl_kinds_free(NULL);
}
END_TEST

/* Anything else is refused, naming the entry. */
START_TEST(test_events_kinds_bad)
{
	static const char *const bad[] = {
	    "[]", "[1]", "[\"\"]", "[\"run started\"]", "[\"run*x\"]",
	    "[\"run.**\"]", "[\"ok\", \"r\\u00e9\"]", "{}", "\"run.\"",
	    "[\"ok\", null]"
	};
	char			 longest[CTL_MAX_KIND + 2];
	struct ctl_kinds	*k;
	json_t			*list;
	char			*cause;
	size_t			 i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		list = json_loads(bad[i], JSON_DECODE_ANY, NULL);
		ck_assert_ptr_nonnull(list);
		cause = NULL;
		k = ctl_kinds_parse(list, &cause);
		ck_assert_msg(k == NULL, "%s was taken", bad[i]);
		ck_assert_ptr_nonnull(cause);
		free(cause);
		json_decref(list);
	}
	memset(longest, 'a', sizeof longest - 1);
	longest[sizeof longest - 1] = '\0';
	list = json_pack("[s]", longest);
	cause = NULL;
	ck_assert_ptr_null(ctl_kinds_parse(list, &cause));
	ck_assert_msg(strstr(cause, "entry 1") != NULL, "%s", cause);
	free(cause);
	json_decref(list);
}
END_TEST

static const struct ctl_param p_strings[] = {
	{ .name = "kinds", .type = CTL_P_STRINGS, .alias = "kind",
	    .help = "", .min = 1, .max = 2 },
	{ .name = NULL }
};
static const struct ctl_method m_strings = {
	.name = "test.strings", .summary = "", .params = p_strings
};

/* A STRINGS parameter: an array of strings within its bounds; on the
 * command line its flag repeated. */
START_TEST(test_events_strings_good)
{
	json_t	*params;
	char	*field, *reason, *cause = NULL;
	char	*argv[] = { "--kind", "run.", "--kind=batch.*" };

	params = json_pack("{s:[s,s]}", "kinds", "a", "b");
	ck_assert_int_eq(ctl_check_params(&m_strings, params, &field,
	    &reason), 0);
	json_decref(params);
	ck_assert_int_eq(ctl_params_from_argv(&m_strings, 3, argv, &params,
	    &cause), 0);
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(
	    params, "kinds"), 0)), "run.");
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(
	    params, "kinds"), 1)), "batch.*");
	ck_assert_uint_eq(json_array_size(json_object_get(params, "kinds")),
	    2);
	json_decref(params);
}
END_TEST

/* Not an array, an entry not a string, too few or too many. */
START_TEST(test_events_strings_bad)
{
	static const char *const bad[] = {
	    "{\"kinds\": \"a\"}", "{\"kinds\": [1]}", "{\"kinds\": []}",
	    "{\"kinds\": [\"a\", \"b\", \"c\"]}", "{\"kinds\": [\"a\", null]}"
	};
	json_t	*params;
	char	*field, *reason;
	size_t	 i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		params = json_loads(bad[i], 0, NULL);
		ck_assert_int_eq(ctl_check_params(&m_strings, params, &field,
		    &reason), -1);
		ck_assert_str_eq(field, "kinds");
		free(field);
		free(reason);
		json_decref(params);
	}
}
END_TEST

static Suite *
stream_suite(void)
{
	Suite	*s = suite_create("stream");

	lib_tcase(s, "stream", server_setup, server_teardown, 0,
	    test_stream_notify_good,
	    test_stream_pause_good,
	    test_stream_closed_bad,
	    test_stream_idle_good,
	    NULL);
	return (s);
}

static Suite *
events_suite(void)
{
	Suite	*s = suite_create("events");

	lib_tcase(s, "events", NULL, NULL, 0,
	    test_events_kinds_good,
	    test_events_kinds_bad,
	    test_events_strings_good,
	    test_events_strings_bad,
	    NULL);
	return (s);
}

static Suite *
client_args_suite(void)
{
	Suite	*s = suite_create("client-args");

	lib_tcase(s, "client-args", NULL, NULL, 0,
	    test_args_parse_good,
	    test_args_parse_bad,
	    test_args_match_good,
	    test_args_match_bad,
	    test_args_print_good,
	    test_args_print_bad,
	    test_args_error_good,
	    test_args_error_bad,
	    test_args_help_columns_good,
	    test_args_help_columns_bad,
	    test_args_print_fit_good,
	    test_args_print_fit_bad,
	    test_args_print_joined_good,
	    test_args_print_joined_bad,
	    test_args_watch_block_good,
	    test_args_watch_block_bad,
	    NULL);
	return (s);
}

int
main(void)
{
	log_open("check_ctl", LOG_LEVEL_WARN);
	return (lib_run(CK_NORMAL, protocol_suite(), server_suite(),
	    client_args_suite(), stream_suite(), events_suite(), NULL));
}
