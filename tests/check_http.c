/*
 * tests/check_http.c: the HTTP executor (engine/http.c), the address
 * filter (engine/addrfilter.c), Standard Webhooks signatures
 * (engine/sign.c), the http keys of the catalog, and secret references
 * (engine/secret.c).
 *
 * The http suite calls a real chime-test-router (tests/router.c) started
 * as a child process on 127.0.0.1, and waits for callbacks by running the
 * loop, never by sleeping.  What the router saw is read back from its
 * GET /requests.
 */
#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <curl/curl.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "engine.h"
#include "lib.h"

#define WAIT_GUARD_SEC	30
#define TEST_SECRET	"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define NCONCURRENT	200

static struct event_base	*base;
static pid_t			 router_pid;
static int			 router_port;
static char			 router_url[128];
static char			*tmpdir;

/* ---- helpers ---------------------------------------------------------- */

/* A temporary directory for the test case (unchecked fixture). */
static void
tmp_start(void)
{
	log_open("check_http", LOG_LEVEL_WARN);
	tmpdir = lib_tmpdir("check_http");
}

static void
tmp_stop(void)
{
	lib_rm_tree(tmpdir);
	free(tmpdir);
	tmpdir = NULL;
}

/* Start the router (unchecked fixture: once for the test case). */
static void
router_start(void)
{
	char		*dir, *prog, *portfile;
	FILE		*f;
	int64_t		 deadline;
	struct timespec	 ts = { 0, 10 * 1000 * 1000 };

	tmp_start();
	dir = lib_tests_dir();
	xasprintf(&prog, "%s/chime-test-router", dir);
	xasprintf(&portfile, "%s/port", tmpdir);
	if ((router_pid = fork()) == -1)
		fatal("fork");
	if (router_pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execl(prog, prog, "--port-file", portfile, "--secret",
		    TEST_SECRET, "--record-bodies", "--quiet", (char *)NULL);
		fprintf(stderr, "cannot run %s: %s\n", prog, strerror(errno));
		_exit(127);
	}
	/* Wait for the port file (written once the router listens). */
	deadline = mono_us() + WAIT_GUARD_SEC * USEC_PER_SEC;
	while ((f = fopen(portfile, "r")) == NULL) {
		if (mono_us() > deadline || waitpid(router_pid, NULL,
		    WNOHANG) == router_pid)
			fatalx("the router did not start (%s)", prog);
		nanosleep(&ts, NULL);
	}
	if (fscanf(f, "%d", &router_port) != 1)
		fatalx("bad port file");
	fclose(f);
	snprintf(router_url, sizeof router_url, "http://127.0.0.1:%d/v1/run",
	    router_port);
	free(dir);
	free(prog);
	free(portfile);
}

static void
router_stop(void)
{
	if (router_pid > 0) {
		kill(router_pid, SIGTERM);
		waitpid(router_pid, NULL, 0);
		router_pid = 0;
	}
	tmp_stop();
}

/* The loop and the executor, 127.0.0.1 allowed (checked fixture). */
static void
http_setup(void)
{
	struct http_config	 cfg;
	char			*cause = NULL;

	log_open("check_http", LOG_LEVEL_WARN);
	base = event_base_new();
	ck_assert_ptr_nonnull(base);
	http_config_init(&cfg);
	ck_assert_int_eq(http_config_allow(&cfg, "127.0.0.1/32", &cause), 0);
	http_runtime_init(base, &cfg);
	http_config_clear(&cfg);
	setenv("CHIME_TEST_SECRET", TEST_SECRET, 1);
}

static void
http_teardown(void)
{
	http_runtime_free();
	event_base_free(base);
	base = NULL;
}

/* Run the loop until every outcome has its callback; nothing left running. */
static void
wait_all(struct outcome *outs, size_t n)
{
	lib_wait_all(base, outs, n);
	ck_assert_int_eq(http_running(), 0);
}

/* An http operation calling the router, signed with CHIME_TEST_SECRET. */
static void
router_op(struct operation *op)
{
	memset(op, 0, sizeof *op);
	op->id = "test-op";
	op->executor = EXECUTOR_HTTP;
	op->url = router_url;
	op->secret_ref = "env:CHIME_TEST_SECRET";
	op->timeout_ms = 10000;
	op->default_model = "m1";
}

static void
request(struct exec_request *req, const char *run_id, const char *params)
{
	memset(req, 0, sizeof *req);
	req->run_id = run_id;
	req->operation = "test-op";
	req->account = "acct";
	req->model = "m1";
	req->parameters = params;
}

/* Start one job and wait for its result (the caller frees it). */
static struct exec_result *
run_one(const struct operation *op, const struct exec_request *req)
{
	struct outcome	 o = { 0, NULL };
	struct http_job	*job;
	char		*cause = NULL;

	job = http_start(op, req, 1, lib_done, &o, &cause);
	ck_assert_msg(job != NULL, "http_start: %s", cause);
	wait_all(&o, 1);
	return (o.r);
}

static struct exec_result *
run_params(const char *run_id, const char *params)
{
	struct operation	op;
	struct exec_request	req;

	router_op(&op);
	request(&req, run_id, params);
	return (run_one(&op, &req));
}

static size_t
collect_cb(char *data, size_t size, size_t n, void *arg)
{
	struct evbuffer	*b = arg;

	evbuffer_add(b, data, size * n);
	return (size * n);
}

/* GET PATH of the router (a blocking call: test code only), as JSON. */
static json_t *
router_get(const char *path)
{
	struct evbuffer	*b = evbuffer_new();
	CURL		*c = curl_easy_init();
	char		 url[256];
	json_t		*j;
	json_error_t	 err;

	snprintf(url, sizeof url, "http://127.0.0.1:%d%s", router_port, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
	curl_easy_setopt(c, CURLOPT_PROXY, "");
	ck_assert_int_eq(curl_easy_perform(c), CURLE_OK);
	curl_easy_cleanup(c);
	j = json_loadb((const char *)evbuffer_pullup(b, -1),
	    evbuffer_get_length(b), 0, &err);
	evbuffer_free(b);
	ck_assert_msg(j != NULL, "router answer: %s", err.text);
	return (j);
}

/* What the router saw of RUN_ID: an array of requests. */
static json_t *
router_requests(const char *run_id)
{
	char	path[200];

	snprintf(path, sizeof path, "/requests?run_id=%s", run_id);
	return (router_get(path));
}

static const char *
jstr(json_t *o, const char *key)
{
	return (json_string_value(json_object_get(o, key)));
}

/* A port on 127.0.0.1 nothing listens on (bound, then closed). */
static int
closed_port(void)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof sin;
	int			fd;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof sin), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	close(fd);
	return (ntohs(sin.sin_port));
}

static struct sockaddr_storage *
addr(const char *text, struct sockaddr_storage *ss)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof *ss);
	if (inet_pton(AF_INET, text, &sin->sin_addr) == 1)
		sin->sin_family = AF_INET;
	else {
		ck_assert_msg(inet_pton(AF_INET6, text, &sin6->sin6_addr) == 1,
		    "bad test address %s", text);
		sin6->sin6_family = AF_INET6;
	}
	return (ss);
}

/* The filter's verdict on TEXT with the allowed networks ALLOW. */
static const char *
refused(const char *text, const struct cidr *allow, size_t n)
{
	struct sockaddr_storage	ss;

	return (addrfilter_refused((struct sockaddr *)addr(text, &ss), allow,
	    n));
}

/* ---- addrfilter ------------------------------------------------------- */

/* CIDRs parse, bare addresses are hosts, mapped IPv6 becomes IPv4. */
START_TEST(test_addrfilter_cidr_parse)
{
	struct cidr	c;
	char			*cause = NULL;

	ck_assert_int_eq(addrfilter_cidr_parse("127.0.0.1/32", &c, &cause), 0);
	ck_assert_int_eq(c.family, AF_INET);
	ck_assert_int_eq(c.prefix, 32);
	ck_assert_int_eq(c.addr[0], 127);
	ck_assert_int_eq(addrfilter_cidr_parse("10.0.0.0/8", &c, &cause), 0);
	ck_assert_int_eq(c.prefix, 8);
	ck_assert_int_eq(addrfilter_cidr_parse("172.16.0.0/12", &c, &cause), 0);
	ck_assert_int_eq(addrfilter_cidr_parse("0.0.0.0/0", &c, &cause), 0);
	ck_assert_int_eq(c.prefix, 0);
	ck_assert_int_eq(addrfilter_cidr_parse("192.168.1.5", &c, &cause), 0);
	ck_assert_int_eq(c.prefix, 32);
	ck_assert_int_eq(addrfilter_cidr_parse("::1/128", &c, &cause), 0);
	ck_assert_int_eq(c.family, AF_INET6);
	ck_assert_int_eq(c.addr[15], 1);
	ck_assert_int_eq(addrfilter_cidr_parse("fd00::/8", &c, &cause), 0);
	ck_assert_int_eq(c.prefix, 8);
	ck_assert_int_eq(addrfilter_cidr_parse("fe80::/10", &c, &cause), 0);
	ck_assert_int_eq(addrfilter_cidr_parse("::/0", &c, &cause), 0);
	ck_assert_int_eq(addrfilter_cidr_parse("::ffff:127.0.0.0/104", &c,
	    &cause), 0);
	ck_assert_int_eq(c.family, AF_INET);
	ck_assert_int_eq(c.prefix, 8);
	ck_assert_int_eq(c.addr[0], 127);
}
END_TEST

static const char *cidr_bad[] = {
	"", "/8", "127.0.0.1/", "127.0.0.1/33", "::1/129", "127.0.0.1/-1",
	"127.0.0.1/+8", "127.0.0.1/8x", "127.0.0.1/0008", "abc", "1.2.3",
	"127.0.0.1 /32", " 127.0.0.1/32", "fe80::1%eth0/64", "10.1.2.3/8",
	"172.16.0.1/12", "::1/64", "1.2.3.4/32/1", "1.2.3.256/32",
};

/* Malformed networks and networks with host bits are refused. */
START_TEST(test_addrfilter_cidr_parse_bad)
{
	struct cidr	c;
	char			*cause = NULL;

	ck_assert_msg(addrfilter_cidr_parse(cidr_bad[_i], &c, &cause) == -1,
	    "\"%s\" was accepted", cidr_bad[_i]);
	ck_assert_ptr_nonnull(cause);
	ck_assert_msg(strncmp(cause, cidr_bad[_i], strlen(cidr_bad[_i])) == 0,
	    "%s", cause);
	free(cause);
}
END_TEST

static const struct {
	const char	*addr;
	const char	*why;		/* NULL: allowed */
} filter_table[] = {
	{ "127.0.0.1", "loopback" },
	{ "127.255.0.9", "loopback" },
	{ "10.1.2.3", "private" },
	{ "172.16.0.1", "private" },
	{ "172.31.255.255", "private" },
	{ "172.32.0.1", NULL },
	{ "172.15.255.255", NULL },
	{ "192.168.0.1", "private" },
	{ "192.169.0.1", NULL },
	{ "100.64.0.1", "private" },
	{ "100.128.0.1", NULL },
	{ "169.254.169.254", "link-local" },
	{ "0.0.0.0", "unspecified" },
	{ "0.1.2.3", "unspecified" },
	{ "224.0.0.1", "multicast" },
	{ "239.255.255.250", "multicast" },
	{ "255.255.255.255", "reserved" },
	{ "8.8.8.8", NULL },
	{ "93.184.216.34", NULL },
	{ "::", "unspecified" },
	{ "::1", "loopback" },
	{ "fc00::1", "private" },
	{ "fd12:3456::1", "private" },
	{ "fe80::1", "link-local" },
	{ "febf::1", "link-local" },
	{ "fec0::1", "private" },
	{ "ff02::1", "multicast" },
	{ "::ffff:127.0.0.1", "loopback" },
	{ "::ffff:10.0.0.1", "private" },
	{ "::ffff:169.254.1.1", "link-local" },
	{ "::ffff:8.8.8.8", NULL },
	{ "::127.0.0.1", "loopback" },
	{ "::8.8.8.8", "reserved" },
	{ "64:ff9b::a00:1", "private" },
	{ "64:ff9b::7f00:1", "loopback" },
	{ "64:ff9b::808:808", NULL },
	{ "64:ff9b:1::1", "private" },
	{ "2002:7f00:1::", "loopback" },
	{ "2002:c0a8:101::1", "private" },
	{ "2002:808:808::1", NULL },
	{ "2606:4700:4700::1111", NULL },
	{ "2001:db8::1", NULL },
};

/* Without an allow-list: loopback, private, ... refused; public passes. */
START_TEST(test_addrfilter_refused)
{
	const char	*why;

	why = refused(filter_table[_i].addr, NULL, 0);
	if (filter_table[_i].why == NULL)
		ck_assert_msg(why == NULL, "%s refused (%s)",
		    filter_table[_i].addr, why);
	else {
		ck_assert_msg(why != NULL, "%s allowed",
		    filter_table[_i].addr);
		ck_assert_str_eq(why, filter_table[_i].why);
	}
}
END_TEST

/* A non-IP address is refused. */
START_TEST(test_addrfilter_refused_bad)
{
	struct sockaddr_storage	ss;

	memset(&ss, 0, sizeof ss);
	ss.ss_family = AF_UNIX;
	ck_assert_str_eq(addrfilter_refused((struct sockaddr *)&ss, NULL, 0),
	    "not an IP address");
}
END_TEST

/* An allowed CIDR lets exactly its addresses through (mapped ones too). */
START_TEST(test_addrfilter_allow)
{
	struct http_config	cfg;
	char			*cause = NULL;

	http_config_init(&cfg);
	ck_assert_int_eq(http_config_allow(&cfg, "127.0.0.1/32", &cause), 0);
	ck_assert_int_eq(http_config_allow(&cfg, "fd00::/8", &cause), 0);
	ck_assert_int_eq(http_config_allow(&cfg, "10.0.0.0/8", &cause), 0);
	ck_assert_int_eq(http_config_allow(&cfg, "::1", &cause), 0);
	ck_assert_uint_eq(cfg.nallow, 4);
	ck_assert_ptr_null(refused("127.0.0.1", cfg.allow, cfg.nallow));
	ck_assert_ptr_null(refused("::ffff:127.0.0.1", cfg.allow, cfg.nallow));
	ck_assert_ptr_null(refused("fd00::5", cfg.allow, cfg.nallow));
	ck_assert_ptr_null(refused("10.200.3.4", cfg.allow, cfg.nallow));
	ck_assert_ptr_null(refused("::1", cfg.allow, cfg.nallow));
	ck_assert_ptr_null(refused("8.8.8.8", cfg.allow, cfg.nallow));
	ck_assert_str_eq(refused("127.0.0.2", cfg.allow, cfg.nallow),
	    "loopback");
	ck_assert_str_eq(refused("fc00::1", cfg.allow, cfg.nallow), "private");
	ck_assert_str_eq(refused("192.168.1.1", cfg.allow, cfg.nallow),
	    "private");
	http_config_clear(&cfg);
	ck_assert_uint_eq(cfg.nallow, 0);
}
END_TEST

/* An allowed network of one family does not open the other; a bad CIDR
 * is refused and leaves the configuration as it was. */
START_TEST(test_addrfilter_allow_bad)
{
	struct http_config	cfg;
	char			*cause = NULL;

	http_config_init(&cfg);
	ck_assert_int_eq(http_config_allow(&cfg, "127.0.0.0/8", &cause), 0);
	ck_assert_int_eq(http_config_allow(&cfg, "0.0.0.0/0", &cause), 0);
	ck_assert_str_eq(refused("::1", cfg.allow, cfg.nallow), "loopback");
	ck_assert_str_eq(refused("fe80::1", cfg.allow, cfg.nallow),
	    "link-local");
	ck_assert_ptr_null(refused("169.254.1.1", cfg.allow, cfg.nallow));
	ck_assert_int_eq(http_config_allow(&cfg, "10.0.0.1/8", &cause), -1);
	ck_assert_str_eq(cause, "10.0.0.1/8: host bits are set after the "
	    "first 8");
	free(cause);
	ck_assert_int_eq(http_config_allow(&cfg, "localhost", &cause), -1);
	free(cause);
	ck_assert_uint_eq(cfg.nallow, 2);
	http_config_clear(&cfg);
}
END_TEST

/* Prefixes that are not whole bytes match on the bit. */
START_TEST(test_addrfilter_match)
{
	struct cidr		c;
	struct sockaddr_storage	ss;
	char			*cause = NULL;

	ck_assert_int_eq(addrfilter_cidr_parse("172.16.0.0/12", &c, &cause), 0);
	ck_assert(addrfilter_cidr_match(&c,
	    (struct sockaddr *)addr("172.31.1.1", &ss)));
	ck_assert(addrfilter_cidr_match(&c,
	    (struct sockaddr *)addr("172.16.0.0", &ss)));
	ck_assert(addrfilter_cidr_match(&c,
	    (struct sockaddr *)addr("::ffff:172.20.0.1", &ss)));
	ck_assert_int_eq(addrfilter_cidr_parse("fe80::/10", &c, &cause), 0);
	ck_assert(addrfilter_cidr_match(&c,
	    (struct sockaddr *)addr("febf::1", &ss)));
	ck_assert_int_eq(addrfilter_cidr_parse("::/0", &c, &cause), 0);
	ck_assert(addrfilter_cidr_match(&c,
	    (struct sockaddr *)addr("2001:db8::1", &ss)));
}
END_TEST

/* Neighbours just outside a network, and the other family, do not match. */
START_TEST(test_addrfilter_match_bad)
{
	struct cidr		c;
	struct sockaddr_storage	ss;
	char			*cause = NULL;

	ck_assert_int_eq(addrfilter_cidr_parse("172.16.0.0/12", &c, &cause), 0);
	ck_assert(!addrfilter_cidr_match(&c,
	    (struct sockaddr *)addr("172.32.0.0", &ss)));
	ck_assert(!addrfilter_cidr_match(&c,
	    (struct sockaddr *)addr("172.15.255.255", &ss)));
	ck_assert(!addrfilter_cidr_match(&c,
	    (struct sockaddr *)addr("::1", &ss)));
	ck_assert_int_eq(addrfilter_cidr_parse("fe80::/10", &c, &cause), 0);
	ck_assert(!addrfilter_cidr_match(&c,
	    (struct sockaddr *)addr("fec0::1", &ss)));
	ck_assert_int_eq(addrfilter_cidr_parse("0.0.0.0/0", &c, &cause), 0);
	ck_assert(!addrfilter_cidr_match(&c,
	    (struct sockaddr *)addr("2001:db8::1", &ss)));
}
END_TEST

/* ---- signatures and Retry-After --------------------------------------- */

/* The published Standard Webhooks vector, and an independent HMAC. */
START_TEST(test_sign_standard)
{
	unsigned char	*key, mac[EVP_MAX_MD_SIZE];
	unsigned int	 maclen;
	size_t		 klen;
	char		*sig, *cause = NULL, b64[64];
	const char	*body = "{\"test\": 2432232314}";

	ck_assert_int_eq(sign_standard_key((const unsigned char *)TEST_SECRET,
	    strlen(TEST_SECRET), &key, &klen, &cause), 0);
	ck_assert_uint_eq(klen, 24);
	sig = sign_standard(key, klen, "msg_p5jXN8AQM9LWM0D4loKWxJek",
	    1614265330, body, strlen(body));
	ck_assert_str_eq(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
	free(sig);
	/* sign_standard takes key bytes as they are: an independent HMAC. */
	sig = sign_standard((const unsigned char *)"k", 1, "id", 5, "b", 1);
	HMAC(EVP_sha256(), "k", 1, (const unsigned char *)"id.5.b", 6, mac,
	    &maclen);
	EVP_EncodeBlock((unsigned char *)b64, mac, (int)maclen);
	ck_assert_str_eq(sig + 3, b64);
	free(sig);
	secret_free(key, klen);
}
END_TEST

static void
hex32(const uint8_t *mac, char out[65])
{
	size_t	i;

	for (i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", mac[i]);
}

/*
 * sign_hmac_sha256 against RFC 4231's test cases 1, 2, 3 and 6 (a key
 * longer than the block), and against OpenSSL's HMAC() for keys of 0,
 * 63, 64 and 65 bytes, the message given whole and in pieces.
 */
START_TEST(test_sign_hmac)
{
	static const struct {
		uint8_t		 key_byte;
		size_t		 key_len;
		const char	*key;		/* instead of key_byte */
		uint8_t		 data_byte;
		size_t		 data_len;
		const char	*data;		/* instead of data_byte */
		const char	*want;
	} rfc[] = {
	    { 0x0b, 20, NULL, 0, 0, "Hi There",
	      "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7" },
	    { 0, 4, "Jefe", 0, 0, "what do ya want for nothing?",
	      "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843" },
	    { 0xaa, 20, NULL, 0xdd, 50, NULL,
	      "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe" },
	    { 0xaa, 131, NULL, 0, 0,
	      "Test Using Larger Than Block-Size Key - Hash Key First",
	      "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54" },
	};
	static const size_t	 lens[] = { 0, 63, 64, 65 };
	uint8_t			 key[256], data[256], mac[SIGN_HMAC_LEN];
	unsigned char		 ref[EVP_MAX_MD_SIZE];
	unsigned int		 reflen;
	struct iovec		 parts[3];
	char			 hex[65], refhex[65];
	const char		*msg = "id.1614265330.{\"test\": 2432232314}";
	size_t			 i, klen, dlen;

	for (i = 0; i < sizeof rfc / sizeof rfc[0]; i++) {
		klen = rfc[i].key_len;
		if (rfc[i].key != NULL)
			memcpy(key, rfc[i].key, klen);
		else
			memset(key, rfc[i].key_byte, klen);
		if (rfc[i].data != NULL) {
			dlen = strlen(rfc[i].data);
			memcpy(data, rfc[i].data, dlen);
		} else {
			dlen = rfc[i].data_len;
			memset(data, rfc[i].data_byte, dlen);
		}
		parts[0].iov_base = data;
		parts[0].iov_len = dlen;
		sign_hmac_sha256(key, klen, parts, 1, mac);
		hex32(mac, hex);
		ck_assert_str_eq(hex, rfc[i].want);
	}
	for (i = 0; i < sizeof lens / sizeof lens[0]; i++) {
		memset(key, 0x30 + (int)i, lens[i]);
		parts[0].iov_base = (void *)msg;
		parts[0].iov_len = 3;
		parts[1].iov_base = (void *)(msg + 3);
		parts[1].iov_len = 0;
		parts[2].iov_base = (void *)(msg + 3);
		parts[2].iov_len = strlen(msg) - 3;
		sign_hmac_sha256(key, lens[i], parts, 3, mac);
		hex32(mac, hex);
		ck_assert_ptr_nonnull(HMAC(EVP_sha256(), key, (int)lens[i],
		    (const unsigned char *)msg, strlen(msg), ref, &reflen));
		ck_assert_uint_eq(reflen, 32);
		hex32(ref, refhex);
		ck_assert_str_eq(hex, refhex);
	}
}
END_TEST

/* As the Standard Webhooks libraries: the whsec_ prefix is optional and
 * the padding may be left out; both give the vector's key. */
START_TEST(test_sign_standard_key)
{
	static const char	*same[] = {
	    "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",		/* bare */
	    "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",	/* prefixed */
	};
	static const struct {
		const char	*secret;
		const char	*key;
		size_t		 len;
	} unpadded[] = {
	    { "whsec_YWJjZA", "abcd", 4 },	/* "YWJjZA==" */
	    { "YWJjZA", "abcd", 4 },
	    { "YWJjZGU", "abcde", 5 },		/* "YWJjZGU=" */
	    { "YWJjZGU=", "abcde", 5 },
	    { "whsec_YQ==", "a", 1 },
	};
	unsigned char	*key, *want;
	size_t		 klen, wlen, i;
	char		*sig, *cause = NULL;

	ck_assert_int_eq(sign_standard_key((const unsigned char *)TEST_SECRET,
	    strlen(TEST_SECRET), &want, &wlen, &cause), 0);
	for (i = 0; i < sizeof same / sizeof same[0]; i++) {
		ck_assert_int_eq(sign_standard_key((const unsigned char *)
		    same[i], strlen(same[i]), &key, &klen, &cause), 0);
		ck_assert_uint_eq(klen, wlen);
		ck_assert_mem_eq(key, want, wlen);
		sig = sign_standard(key, klen, "msg_p5jXN8AQM9LWM0D4loKWxJek",
		    1614265330, "{\"test\": 2432232314}", 20);
		ck_assert_str_eq(sig,
		    "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
		free(sig);
		secret_free(key, klen);
	}
	secret_free(want, wlen);
	for (i = 0; i < sizeof unpadded / sizeof unpadded[0]; i++) {
		ck_assert_msg(sign_standard_key((const unsigned char *)
		    unpadded[i].secret, strlen(unpadded[i].secret), &key,
		    &klen, &cause) == 0, "%s: %s", unpadded[i].secret, cause);
		ck_assert_uint_eq(klen, unpadded[i].len);
		ck_assert_mem_eq(key, unpadded[i].key, klen);
		secret_free(key, klen);
	}
}
END_TEST

/* A changed byte changes the signature; a secret that is not base64,
 * with or without whsec_, fails: nothing is taken as raw bytes. */
START_TEST(test_sign_standard_bad)
{
	static const char	*bad[] = { "whsec_", "", "whsec_a", "abcde",
	    "whsec_a!==", "whsec_====", "==", "whsec_ab=c", "abc==",
	    "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS w", "raw-secret",
	    "gh_secret_text", "YWJj\n" };
	unsigned char		*key;
	size_t			 klen, i;
	char			*a, *b, *cause = NULL;

	a = sign_standard((const unsigned char *)"k", 1, "id", 5, "body", 4);
	b = sign_standard((const unsigned char *)"k", 1, "id", 6, "body", 4);
	ck_assert_str_ne(a, b);
	free(b);
	b = sign_standard((const unsigned char *)"k", 1, "id", 5, "bodY", 4);
	ck_assert_str_ne(a, b);
	free(b);
	free(a);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		ck_assert_msg(sign_standard_key((const unsigned char *)bad[i],
		    strlen(bad[i]), &key, &klen, &cause) == -1, "%s", bad[i]);
		ck_assert_ptr_null(key);
		ck_assert_str_eq(cause, "a Standard Webhooks secret must be "
		    "base64, with or without the whsec_ prefix");
		free(cause);
		cause = NULL;
	}
}
END_TEST

/* Retry-After: seconds or an HTTP date, capped at an hour. */
START_TEST(test_http_retry_after)
{
	char		 date[64];
	time_t		 t;
	struct tm	 tm;
	int64_t		 now = now_us(), ms;

	ck_assert_int_eq(http_retry_after("5", now), 5000);
	ck_assert_int_eq(http_retry_after(" 120 ", now), 120000);
	ck_assert_int_eq(http_retry_after("0", now), 0);
	ck_assert_int_eq(http_retry_after("3600", now), 3600000);
	ck_assert_int_eq(http_retry_after("99999999999999999999", now),
	    HTTP_RETRY_AFTER_MAX_MS);
	t = (time_t)(now / USEC_PER_SEC) + 30;
	gmtime_r(&t, &tm);
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	ms = http_retry_after(date, now);
	ck_assert_msg(ms > 28000 && ms <= 30000, "%s: %lld", date,
	    (long long)ms);
	t -= 3600;
	gmtime_r(&t, &tm);
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	ck_assert_int_eq(http_retry_after(date, now), 0);
	t += 7 * 86400;
	gmtime_r(&t, &tm);
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
	ck_assert_int_eq(http_retry_after(date, now), HTTP_RETRY_AFTER_MAX_MS);
}
END_TEST

/* Values that are neither are unreadable (-1). */
START_TEST(test_http_retry_after_bad)
{
	int64_t	now = now_us();

	ck_assert_int_eq(http_retry_after("", now), -1);
	ck_assert_int_eq(http_retry_after("soon", now), -1);
	ck_assert_int_eq(http_retry_after("5s", now), -1);
	ck_assert_int_eq(http_retry_after("-1", now), -1);
	ck_assert_int_eq(http_retry_after("1.5", now), -1);
}
END_TEST

/* ---- http: calls to the router ---------------------------------------- */

/* 200 with a gateway answer: success, with result, model and usage. */
START_TEST(test_http_success)
{
	struct exec_result	*r;
	json_t			*reqs, *one, *body;
	json_error_t		 err;

	r = run_params("t-success:1", "{\"router\": {\"model\": \"gw-model\", "
	    "\"usage\": {\"input_tokens\": 812, \"output_tokens\": 99}}, "
	    "\"folder\": \"inbox\"}");
	ck_assert_msg(r->status == EXEC_SUCCESS, "%s", r->error);
	ck_assert_ptr_null(r->error);
	ck_assert_int_eq(r->http_status, 200);
	ck_assert_int_eq(r->retryable, 0);
	ck_assert_int_eq(r->retry_after_ms, -1);
	ck_assert_int_eq(r->exit_code, 0);
	ck_assert_str_eq(r->model, "gw-model");
	ck_assert_int_eq(r->input_tokens, 812);
	ck_assert_int_eq(r->output_tokens, 99);
	ck_assert_int_eq(r->cost_micro, -1);
	ck_assert_str_eq(r->result, "{\"text\":\"routed answer\","
	    "\"run_id\":\"t-success:1\",\"attempt\":1}");
	ck_assert_int_ge(r->duration_us, 0);
	exec_result_free(r);

	reqs = router_requests("t-success:1");
	ck_assert_uint_eq(json_array_size(reqs), 1);
	one = json_array_get(reqs, 0);
	ck_assert_str_eq(jstr(one, "idempotency_key"), "t-success:1");
	ck_assert_str_eq(jstr(one, "content_type"), "application/json");
	ck_assert_str_eq(jstr(one, "user_agent"), "chime/" CHIME_VERSION);
	ck_assert(json_is_true(json_object_get(one, "signature_ok")));
	body = json_loads(jstr(one, "body"), 0, &err);
	ck_assert_ptr_nonnull(body);
	ck_assert_str_eq(jstr(body, "run_id"), "t-success:1");
	ck_assert_str_eq(jstr(body, "operation"), "test-op");
	ck_assert_str_eq(jstr(body, "account"), "acct");
	ck_assert_str_eq(jstr(body, "model"), "m1");
	ck_assert_int_eq(json_integer_value(json_object_get(body,
	    "deadline_ms")), 10000);
	ck_assert_str_eq(jstr(json_object_get(body, "parameters"), "folder"),
	    "inbox");
	json_decref(body);
	json_decref(reqs);
}
END_TEST

/* 2xx whose body is not a gateway answer: failed, not retryable. */
START_TEST(test_http_success_bad)
{
	struct exec_result	*r;

	r = run_params("t-sbad:1", "{\"router\": {\"body\": \"not json\"}}");
	ck_assert_int_eq(r->status, EXEC_FAILED);
	ck_assert_int_eq(r->http_status, 200);
	ck_assert_int_eq(r->retryable, 0);
	ck_assert_msg(strncmp(r->error, "bad output: ", 12) == 0, "%s",
	    r->error);
	exec_result_free(r);
	r = run_params("t-sbad:2", "{\"router\": {\"status\": 201, \"body\": "
	    "\"{\\\"result\\\": 1, \\\"usage\\\": {\\\"input_tokens\\\": "
	    "-5}}\"}}");
	ck_assert_int_eq(r->status, EXEC_FAILED);
	ck_assert_int_eq(r->http_status, 201);
	ck_assert_str_eq(r->error, "bad output: usage tokens must be "
	    "non-negative integers");
	ck_assert_int_eq(r->input_tokens, -1);
	exec_result_free(r);
	r = run_params("t-sbad:3", "{\"router\": {\"body\": \"\"}}");
	ck_assert_int_eq(r->status, EXEC_FAILED);
	ck_assert_str_eq(r->error, "bad output: no output");
	exec_result_free(r);
}
END_TEST

/* A cost the gateway reports is taken. */
START_TEST(test_http_cost)
{
	struct exec_result	*r;

	r = run_params("t-cost:1", "{\"router\": {\"cost_usd\": \"0.0125\"}}");
	ck_assert_int_eq(r->status, EXEC_SUCCESS);
	ck_assert_int_eq(r->cost_micro, 12500);
	exec_result_free(r);
}
END_TEST

/* A cost that is not a USD amount fails the answer. */
START_TEST(test_http_cost_bad)
{
	struct exec_result	*r;

	r = run_params("t-costbad:1", "{\"router\": {\"cost_usd\": -1}}");
	ck_assert_int_eq(r->status, EXEC_FAILED);
	ck_assert_int_eq(r->cost_micro, -1);
	exec_result_free(r);
}
END_TEST

/* The signature verifies: recomputed here with OpenSSL from what the
 * router received, and by the router itself. */
START_TEST(test_http_signature)
{
	struct exec_result	*r;
	struct operation	 op;
	struct exec_request	 req;
	struct outcome		 o = { 0, NULL }, o2 = { 0, NULL };
	unsigned char		 key[64], mac[EVP_MAX_MD_SIZE];
	unsigned int		 maclen;
	const char		*b64 = TEST_SECRET + 6, *id, *ts, *body;
	char			*data, want[128], *cause = NULL;
	json_t			*reqs, *one;
	int			 klen;

	router_op(&op);
	request(&req, "sched.x:7", "{}");
	ck_assert_ptr_nonnull(http_start(&op, &req, 3, lib_done, &o, &cause));
	wait_all(&o, 1);
	r = o.r;
	ck_assert_int_eq(r->status, EXEC_SUCCESS);
	exec_result_free(r);

	reqs = router_requests("sched.x:7");
	ck_assert_uint_eq(json_array_size(reqs), 1);
	one = json_array_get(reqs, 0);
	ck_assert(json_is_true(json_object_get(one, "signature_ok")));
	id = jstr(one, "webhook_id");
	ts = jstr(one, "webhook_timestamp");
	body = jstr(one, "body");
	/* Run id and attempt, without a '.'. */
	ck_assert_str_eq(id, "sched_x:7:3");
	ck_assert_int_le(llabs(strtoll(ts, NULL, 10) - now_us() /
	    USEC_PER_SEC), 60);
	klen = EVP_DecodeBlock(key, (const unsigned char *)b64,
	    (int)strlen(b64));
	ck_assert_int_eq(klen, 24);
	xasprintf(&data, "%s.%s.%s", id, ts, body);
	HMAC(EVP_sha256(), key, klen, (unsigned char *)data, strlen(data),
	    mac, &maclen);
	free(data);
	memcpy(want, "v1,", 3);
	EVP_EncodeBlock((unsigned char *)want + 3, mac, (int)maclen);
	ck_assert_str_eq(jstr(one, "webhook_signature"), want);
	json_decref(reqs);

	/* The same secret without its whsec_ prefix is the same key. */
	setenv("CHIME_TEST_BARE", TEST_SECRET + 6, 1);
	op.secret_ref = "env:CHIME_TEST_BARE";
	request(&req, "sched.x:8", "{}");
	ck_assert_ptr_nonnull(http_start(&op, &req, 1, lib_done, &o2, &cause));
	wait_all(&o2, 1);
	ck_assert_int_eq(o2.r->status, EXEC_SUCCESS);
	exec_result_free(o2.r);
	reqs = router_requests("sched.x:8");
	ck_assert(json_is_true(json_object_get(json_array_get(reqs, 0),
	    "signature_ok")));
	json_decref(reqs);
}
END_TEST

/* Without a secret no signature is sent; with another key it does not
 * verify; a secret that cannot be read starts nothing. */
START_TEST(test_http_signature_bad)
{
	struct exec_result	*r;
	struct operation	 op;
	struct exec_request	 req;
	struct outcome		 o = { 0, NULL };
	char			*cause = NULL;
	json_t			*reqs, *one;

	router_op(&op);
	op.secret_ref = NULL;
	request(&req, "t-nosig:1", "{}");
	r = run_one(&op, &req);
	ck_assert_int_eq(r->status, EXEC_SUCCESS);
	exec_result_free(r);
	reqs = router_requests("t-nosig:1");
	one = json_array_get(reqs, 0);
	ck_assert(json_is_false(json_object_get(one, "signature_ok")));
	ck_assert(json_is_null(json_object_get(one, "webhook_signature")));
	ck_assert_str_eq(jstr(one, "idempotency_key"), "t-nosig:1");
	json_decref(reqs);

	setenv("CHIME_TEST_OTHER", "whsec_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 1);
	op.secret_ref = "env:CHIME_TEST_OTHER";
	request(&req, "t-othersig:1", "{}");
	r = run_one(&op, &req);
	exec_result_free(r);
	reqs = router_requests("t-othersig:1");
	ck_assert(json_is_false(json_object_get(json_array_get(reqs, 0),
	    "signature_ok")));
	json_decref(reqs);

	unsetenv("CHIME_TEST_MISSING");
	op.secret_ref = "env:CHIME_TEST_MISSING";
	request(&req, "t-nosecret:1", "{}");
	ck_assert_ptr_null(http_start(&op, &req, 1, lib_done, &o, &cause));
	ck_assert_str_eq(cause, "secret env:CHIME_TEST_MISSING: not set");
	free(cause);
	setenv("CHIME_TEST_OTHER", "whsec_###", 1);
	op.secret_ref = "env:CHIME_TEST_OTHER";
	ck_assert_ptr_null(http_start(&op, &req, 1, lib_done, &o, &cause));
	ck_assert_str_eq(cause, "secret env:CHIME_TEST_OTHER: a Standard "
	    "Webhooks secret must be base64, with or without the whsec_ "
	    "prefix");
	free(cause);
	/* Nor is a bare secret that is not base64 taken as raw bytes. */
	setenv("CHIME_TEST_OTHER", "not-base64-text", 1);
	ck_assert_ptr_null(http_start(&op, &req, 1, lib_done, &o, &cause));
	ck_assert_ptr_nonnull(strstr(cause, "must be base64"));
	free(cause);
	ck_assert_int_eq(http_running(), 0);
	reqs = router_requests("t-nosecret:1");
	ck_assert_uint_eq(json_array_size(reqs), 0);
	json_decref(reqs);
}
END_TEST

/* 5xx: failed and retryable, the body in the error. */
START_TEST(test_http_5xx)
{
	struct exec_result	*r;

	r = run_params("t-500:1", "{\"router\": {\"status\": 500}}");
	ck_assert_int_eq(r->status, EXEC_FAILED);
	ck_assert_int_eq(r->http_status, 500);
	ck_assert_int_eq(r->retryable, 1);
	ck_assert_int_eq(r->retry_after_ms, -1);
	ck_assert_str_eq(r->error, "HTTP 500: {\"error\":\"router: status "
	    "500\"}");
	exec_result_free(r);
	r = run_params("t-503:1", "{\"router\": {\"status\": 503, "
	    "\"retry_after\": 2}}");
	ck_assert_int_eq(r->retryable, 1);
	ck_assert_int_eq(r->retry_after_ms, 2000);
	exec_result_free(r);
}
END_TEST

/* 429 with Retry-After: retryable, and the wait is reported. */
START_TEST(test_http_429)
{
	struct exec_result	*r;

	r = run_params("t-429:1", "{\"router\": {\"status\": 429, "
	    "\"retry_after\": 7}}");
	ck_assert_int_eq(r->status, EXEC_FAILED);
	ck_assert_int_eq(r->http_status, 429);
	ck_assert_int_eq(r->retryable, 1);
	ck_assert_int_eq(r->retry_after_ms, 7000);
	exec_result_free(r);
}
END_TEST

/* 429 without Retry-After (or an unreadable one): no wait reported. */
START_TEST(test_http_429_bad)
{
	struct exec_result	*r;

	r = run_params("t-429b:1", "{\"router\": {\"status\": 429}}");
	ck_assert_int_eq(r->retryable, 1);
	ck_assert_int_eq(r->retry_after_ms, -1);
	exec_result_free(r);
}
END_TEST

/* Other 4xx: not retryable; the first 200 bytes of the body say why. */
START_TEST(test_http_4xx_bad)
{
	struct exec_result	*r;
	char			 params[1024], want[300];

	r = run_params("t-404:1", "{\"router\": {\"status\": 404, \"body\": "
	    "\"no such operation\\n\"}}");
	ck_assert_int_eq(r->status, EXEC_FAILED);
	ck_assert_int_eq(r->http_status, 404);
	ck_assert_int_eq(r->retryable, 0);
	ck_assert_int_eq(r->retry_after_ms, -1);
	ck_assert_str_eq(r->error, "HTTP 404: no such operation");
	exec_result_free(r);
	snprintf(params, sizeof params, "{\"router\": {\"status\": 400, "
	    "\"body\": \"%0500d\"}}", 0);
	r = run_params("t-400:1", params);
	snprintf(want, sizeof want, "HTTP 400: %0200d", 0);
	ck_assert_str_eq(r->error, want);
	ck_assert_int_eq(r->retryable, 0);
	exec_result_free(r);
	r = run_params("t-401:1", "{\"router\": {\"status\": 401, \"body\": "
	    "\"\"}}");
	ck_assert_str_eq(r->error, "HTTP 401");
	exec_result_free(r);
}
END_TEST

/* 3xx is refused, never followed. */
START_TEST(test_http_redirect_bad)
{
	struct exec_result	*r;
	json_t			*reqs;

	r = run_params("t-302:1", "{\"router\": {\"status\": 302}}");
	ck_assert_int_eq(r->status, EXEC_FAILED);
	ck_assert_int_eq(r->http_status, 302);
	ck_assert_int_eq(r->retryable, 0);
	ck_assert_str_eq(r->error, "HTTP 302: redirect refused");
	exec_result_free(r);
	reqs = router_requests("t-302:1");
	ck_assert_uint_eq(json_array_size(reqs), 1);
	json_decref(reqs);
}
END_TEST

/* Past the deadline: TIMEOUT, retryable; the request says the deadline. */
START_TEST(test_http_timeout)
{
	struct exec_result	*r;
	struct operation	 op;
	struct exec_request	 req;
	json_t			*reqs, *body;

	router_op(&op);
	op.timeout_ms = 300;
	request(&req, "t-timeout:1", "{\"router\": {\"latency_ms\": 5000}}");
	r = run_one(&op, &req);
	ck_assert_int_eq(r->status, EXEC_TIMEOUT);
	ck_assert_int_eq(r->retryable, 1);
	ck_assert_int_eq(r->http_status, 0);
	ck_assert_str_eq(r->error, "timed out after 300ms");
	ck_assert_int_ge(r->duration_us, 300 * USEC_PER_MSEC);
	exec_result_free(r);
	/* The request's deadline wins over the operation's timeout. */
	op.timeout_ms = 10000;
	request(&req, "t-timeout:2", "{\"router\": {\"latency_ms\": 5000}}");
	req.deadline_ms = 250;
	r = run_one(&op, &req);
	ck_assert_int_eq(r->status, EXEC_TIMEOUT);
	ck_assert_str_eq(r->error, "timed out after 250ms");
	exec_result_free(r);
	reqs = router_requests("t-timeout:2");
	body = json_loads(jstr(json_array_get(reqs, 0), "body"), 0, NULL);
	ck_assert_int_eq(json_integer_value(json_object_get(body,
	    "deadline_ms")), 250);
	json_decref(body);
	json_decref(reqs);
}
END_TEST

/* A slow answer inside the deadline is no timeout. */
START_TEST(test_http_timeout_bad)
{
	struct exec_result	*r;
	struct operation	 op;
	struct exec_request	 req;

	router_op(&op);
	op.timeout_ms = 5000;
	request(&req, "t-slow:1", "{\"router\": {\"latency_ms\": 200}}");
	r = run_one(&op, &req);
	ck_assert_int_eq(r->status, EXEC_SUCCESS);
	ck_assert_int_ge(r->duration_us, 200 * USEC_PER_MSEC);
	exec_result_free(r);
}
END_TEST

/* A body up to max_response is taken. */
START_TEST(test_http_response_bound)
{
	struct exec_result	*r;
	struct operation	 op;
	struct exec_request	 req;

	router_op(&op);
	op.max_response = 4096;
	request(&req, "t-bound:1", "{\"router\": {\"pad\": 3000}}");
	r = run_one(&op, &req);
	ck_assert_int_eq(r->status, EXEC_SUCCESS);
	exec_result_free(r);
}
END_TEST

/* A larger body fails the attempt, not retryable. */
START_TEST(test_http_response_bound_bad)
{
	struct exec_result	*r;
	struct operation	 op;
	struct exec_request	 req;

	router_op(&op);
	op.max_response = 4096;
	request(&req, "t-big:1", "{\"router\": {\"pad\": 10000}}");
	r = run_one(&op, &req);
	ck_assert_int_eq(r->status, EXEC_FAILED);
	ck_assert_int_eq(r->retryable, 0);
	ck_assert_str_eq(r->error, "response exceeds 4096 bytes");
	exec_result_free(r);
	/* The default bound is 1 MiB. */
	router_op(&op);
	request(&req, "t-big:2", "{\"router\": {\"pad\": 1100000}}");
	r = run_one(&op, &req);
	ck_assert_str_eq(r->error, "response exceeds 1048576 bytes");
	exec_result_free(r);
}
END_TEST

/* Nothing listens: failed, retryable (the server may come back). */
START_TEST(test_http_connect_bad)
{
	struct exec_result	*r;
	struct operation	 op;
	struct exec_request	 req;
	char			 url[64];

	router_op(&op);
	snprintf(url, sizeof url, "http://127.0.0.1:%d/", closed_port());
	op.url = url;
	request(&req, "t-refused:1", "{}");
	r = run_one(&op, &req);
	ck_assert_int_eq(r->status, EXEC_FAILED);
	ck_assert_int_eq(r->retryable, 1);
	ck_assert_int_eq(r->http_status, 0);
	ck_assert_msg(strstr(r->error, "onnect") != NULL, "%s", r->error);
	exec_result_free(r);
}
END_TEST

/* Without the allow-list 127.0.0.1 is refused before any connection. */
START_TEST(test_http_filter_bad)
{
	struct exec_result	*r;
	json_t			*reqs;

	http_runtime_free();
	http_runtime_init(base, NULL);
	r = run_params("t-filter:1", "{}");
	ck_assert_int_eq(r->status, EXEC_FAILED);
	ck_assert_int_eq(r->retryable, 0);
	ck_assert_str_eq(r->error, "address 127.0.0.1 not allowed "
	    "(loopback)");
	exec_result_free(r);
	reqs = router_requests("t-filter:1");
	ck_assert_uint_eq(json_array_size(reqs), 0);
	json_decref(reqs);
}
END_TEST

/* With 127.0.0.1/32 allowed the same call goes through. */
START_TEST(test_http_filter)
{
	struct exec_result	*r;

	r = run_params("t-filter:2", "{}");
	ck_assert_int_eq(r->status, EXEC_SUCCESS);
	exec_result_free(r);
}
END_TEST

static void
abort_cb(evutil_socket_t fd, short events, void *arg)
{
	http_abort(arg);
	http_abort(arg);	/* a second abort changes nothing */
}

/* http_abort: the callback says CANCELLED, once. */
START_TEST(test_http_abort)
{
	struct operation	 op;
	struct exec_request	 req;
	struct outcome		 o = { 0, NULL };
	struct http_job		*job;
	struct event		*ev;
	struct timeval		 tv = { 0, 100 * 1000 };
	char			*cause = NULL;

	router_op(&op);
	request(&req, "t-abort:1", "{\"router\": {\"latency_ms\": 5000}}");
	job = http_start(&op, &req, 1, lib_done, &o, &cause);
	ck_assert_ptr_nonnull(job);
	ck_assert_int_eq(http_running(), 1);
	ev = evtimer_new(base, abort_cb, job);
	evtimer_add(ev, &tv);
	wait_all(&o, 1);
	event_free(ev);
	ck_assert_int_eq(o.r->status, EXEC_CANCELLED);
	ck_assert_str_eq(o.r->error, "cancelled");
	ck_assert_int_eq(o.r->retryable, 0);
	ck_assert_int_lt(o.r->duration_us, 4 * USEC_PER_SEC);
	exec_result_free(o.r);
}
END_TEST

/* Aborting at once still calls back later, never inside http_abort;
 * http_abort(NULL) is a no-op. */
START_TEST(test_http_abort_bad)
{
	struct operation	 op;
	struct exec_request	 req;
	struct outcome		 o = { 0, NULL };
	struct http_job		*job;
	char			*cause = NULL;

	http_abort(NULL);
	router_op(&op);
	request(&req, "t-abort:2", "{}");
	job = http_start(&op, &req, 1, lib_done, &o, &cause);
	http_abort(job);
	ck_assert_int_eq(o.calls, 0);
	ck_assert_int_eq(http_running(), 0);
	wait_all(&o, 1);
	ck_assert_int_eq(o.r->status, EXEC_CANCELLED);
	exec_result_free(o.r);
}
END_TEST

/* Many calls at once: all succeed, and the router had them in flight
 * together. */
START_TEST(test_http_concurrent)
{
	static struct outcome	 o[NCONCURRENT];
	static char		 ids[NCONCURRENT][32];
	struct operation	 op;
	struct exec_request	 req;
	char			*cause = NULL;
	json_t			*st;
	int			 i;

	router_op(&op);
	for (i = 0; i < NCONCURRENT; i++) {
		snprintf(ids[i], sizeof ids[i], "t-many:%d", i);
		request(&req, ids[i], "{\"router\": {\"latency_ms\": 500}}");
		ck_assert_ptr_nonnull(http_start(&op, &req, 1, lib_done, &o[i],
		    &cause));
	}
	ck_assert_int_eq(http_running(), NCONCURRENT);
	wait_all(o, NCONCURRENT);
	for (i = 0; i < NCONCURRENT; i++) {
		ck_assert_msg(o[i].r->status == EXEC_SUCCESS, "%d: %s", i,
		    o[i].r->error);
		ck_assert_ptr_nonnull(strstr(o[i].r->result, ids[i]));
		exec_result_free(o[i].r);
	}
	st = router_get("/stats");
	ck_assert_int_ge(json_integer_value(json_object_get(st,
	    "max_in_flight")), NCONCURRENT / 2);
	json_decref(st);
}
END_TEST

/* What cannot start is refused at once, with the reason. */
START_TEST(test_http_start_bad)
{
	struct operation	 op;
	struct exec_request	 req;
	struct outcome		 o = { 0, NULL };
	char			*cause = NULL;

	router_op(&op);
	op.executor = EXECUTOR_EXEC;
	request(&req, "t-start:1", "{}");
	ck_assert_ptr_null(http_start(&op, &req, 1, lib_done, &o, &cause));
	ck_assert_str_eq(cause, "operation test-op has no URL to call");
	free(cause);
	router_op(&op);
	request(&req, "t-start:1", "[1]");
	ck_assert_ptr_null(http_start(&op, &req, 1, lib_done, &o, &cause));
	ck_assert_str_eq(cause, "parameters: not a JSON object");
	free(cause);
	request(&req, "t-start\r\nX: y", "{}");
	ck_assert_ptr_null(http_start(&op, &req, 1, lib_done, &o, &cause));
	ck_assert_str_eq(cause, "run id is not printable ASCII");
	free(cause);
	op.url = "http://[::1";
	request(&req, "t-start:1", "{}");
	ck_assert_ptr_null(http_start(&op, &req, 1, lib_done, &o, &cause));
	ck_assert_msg(strncmp(cause, "url: ", 5) == 0, "%s", cause);
	free(cause);
	ck_assert_int_eq(http_running(), 0);
	event_base_loop(base, EVLOOP_NONBLOCK);
	ck_assert_int_eq(o.calls, 0);
}
END_TEST

/* http_runtime_free drops transfers without calling back. */
START_TEST(test_http_runtime_free)
{
	struct operation	 op;
	struct exec_request	 req;
	struct outcome		 o = { 0, NULL };
	char			*cause = NULL;
	int			 i;

	router_op(&op);
	request(&req, "t-free:1", "{\"router\": {\"latency_ms\": 5000}}");
	ck_assert_ptr_nonnull(http_start(&op, &req, 1, lib_done, &o, &cause));
	/* Let it connect and send. */
	for (i = 0; i < 20; i++)
		event_base_loop(base, EVLOOP_NONBLOCK);
	http_runtime_free();
	ck_assert_int_eq(http_running(), 0);
	ck_assert_int_eq(o.calls, 0);
	http_runtime_init(base, NULL);
	event_base_loop(base, EVLOOP_NONBLOCK);
	ck_assert_int_eq(o.calls, 0);
}
END_TEST

static void
executor_abort_cb(evutil_socket_t fd, short events, void *arg)
{
	executor_abort(arg);
}

/* Through the executor table: the job names http_executor, the call
 * succeeds, the attempt number reaches webhook-id, and an abort through
 * the table cancels a call in flight. */
START_TEST(test_http_executor)
{
	struct operation	 op;
	struct exec_request	 req;
	struct outcome		 o[2];
	struct job		*job;
	struct event		*ev;
	struct timeval		 tv = { 0, 100 * 1000 };
	char			*cause = NULL;
	json_t			*reqs;

	memset(o, 0, sizeof o);
	router_op(&op);
	request(&req, "t-executor:1", "{}");
	job = executor_start(&op, &req, 2, lib_done, &o[0], &cause);
	ck_assert_msg(job != NULL, "executor_start: %s", cause);
	ck_assert_ptr_eq(job->executor, &http_executor);
	ck_assert_ptr_eq(executor_find(EXECUTOR_HTTP), &http_executor);
	ck_assert_int_eq(executor_running(), 1);
	wait_all(&o[0], 1);
	ck_assert_int_eq(o[0].r->status, EXEC_SUCCESS);
	exec_result_free(o[0].r);
	ck_assert_int_eq(executor_running(), 0);
	reqs = router_requests("t-executor:1");
	ck_assert_uint_eq(json_array_size(reqs), 1);
	ck_assert_str_eq(jstr(json_array_get(reqs, 0), "webhook_id"),
	    "t-executor:1:2");
	json_decref(reqs);

	request(&req, "t-executor:2", "{\"router\": {\"latency_ms\": 5000}}");
	job = executor_start(&op, &req, 1, lib_done, &o[1], &cause);
	ck_assert_ptr_nonnull(job);
	ck_assert_int_eq(executor_running(), 1);
	ev = evtimer_new(base, executor_abort_cb, job);
	evtimer_add(ev, &tv);
	wait_all(&o[1], 1);
	event_free(ev);
	ck_assert_int_eq(o[1].r->status, EXEC_CANCELLED);
	ck_assert_int_lt(o[1].r->duration_us, 4 * USEC_PER_SEC);
	exec_result_free(o[1].r);
	ck_assert_int_eq(executor_running(), 0);
}
END_TEST

/* ---- catalog: the http keys ------------------------------------------- */

#define C_MODEL "{'id': 'm1', 'input_usd_per_mtok': '1', " \
    "'output_usd_per_mtok': '2'}"
#define C_TOKENS "'tokens': {'input': [1, 2, 3], 'output': [4, 5, 6]}"
#define C_HTTP(more) "{'models': [" C_MODEL "], 'operations': [{'id': " \
    "'op1', 'executor': 'http', 'url': 'https://gw.example/v1/run', " \
    C_TOKENS ", 'default_model': 'm1'" more "}]}"
#define C_EXEC(more) "{'models': [" C_MODEL "], 'operations': [{'id': " \
    "'op1', 'executor': 'exec', 'argv': ['x'], " C_TOKENS \
    ", 'default_model': 'm1'" more "}]}"

/* Catalog text with ' for " (readable test strings). */
static struct catalog *
parse_q(const char *q, char **cause)
{
	struct catalog	*cat;
	char		*s, *p;

	s = xstrdup(q);
	for (p = s; *p != '\0'; p++) {
		if (*p == '\'')
			*p = '"';
	}
	cat = catalog_parse(s, strlen(s), "test", cause);
	free(s);
	return (cat);
}

/* secret_ref, connect_timeout and max_response parse; defaults apply. */
START_TEST(test_http_catalog)
{
	struct catalog		*cat, *again;
	const struct operation	*op;
	char			*cause = NULL, *text;
	json_t			*j, *o;

	cat = parse_q(C_HTTP(""), &cause);
	ck_assert_msg(cat != NULL, "%s", cause);
	op = catalog_operation(cat, "op1");
	ck_assert_ptr_null(op->secret_ref);
	ck_assert_int_eq(op->connect_timeout_ms, HTTP_CONNECT_TIMEOUT_MS);
	ck_assert_int_eq(op->max_response, HTTP_MAX_RESPONSE);
	catalog_unref(cat);
	cat = parse_q(C_HTTP(", 'secret_ref': 'file:/etc/chime/gw.key', "
	    "'connect_timeout': '2500ms', 'max_response': 65536"), &cause);
	ck_assert_msg(cat != NULL, "%s", cause);
	op = catalog_operation(cat, "op1");
	ck_assert_str_eq(op->secret_ref, "file:/etc/chime/gw.key");
	ck_assert_int_eq(op->connect_timeout_ms, 2500);
	ck_assert_int_eq(op->max_response, 65536);
	j = catalog_to_json(cat);
	o = json_array_get(json_object_get(j, "operations"), 0);
	ck_assert_str_eq(jstr(o, "secret_ref"), "file:/etc/chime/gw.key");
	ck_assert_str_eq(jstr(o, "connect_timeout"), "2500ms");
	ck_assert_int_eq(json_integer_value(json_object_get(o,
	    "max_response")), 65536);
	json_object_del(j, "source");
	text = json_dumps(j, 0);
	again = catalog_parse(text, strlen(text), "again", &cause);
	ck_assert_msg(again != NULL, "%s", cause);
	op = catalog_operation(again, "op1");
	ck_assert_str_eq(op->secret_ref, "file:/etc/chime/gw.key");
	ck_assert_int_eq(op->connect_timeout_ms, 2500);
	free(text);
	json_decref(j);
	catalog_unref(again);
	catalog_unref(cat);
	cat = parse_q(C_HTTP(", 'secret_ref': 'env:GW_SECRET'"), &cause);
	ck_assert_msg(cat != NULL, "%s", cause);
	catalog_unref(cat);
}
END_TEST

static const struct {
	const char	*catalog;
	const char	*error;
} catalog_http_bad[] = {
	{ C_HTTP(", 'secret_ref': 'vault:x'"), "catalog: operations[0] "
	    "(\"op1\"): secret reference \"vault:x\": expected env:NAME, "
	    "file:/PATH, exec:COMMAND or generated:NAME" },
	{ C_HTTP(", 'secret_ref': 'env:1X'"), "catalog: operations[0] "
	    "(\"op1\"): secret reference \"env:1X\": env: needs a variable "
	    "name ([A-Za-z_][A-Za-z0-9_]*)" },
	{ C_HTTP(", 'secret_ref': 'file:gw.key'"), "catalog: operations[0] "
	    "(\"op1\"): secret reference \"file:gw.key\": file: needs an "
	    "absolute path" },
	{ C_HTTP(", 'secret_ref': ''"), "catalog: operations[0] (\"op1\"): "
	    "secret_ref is empty" },
	{ C_HTTP(", 'secret_ref': 5"), "catalog: operations[0] (\"op1\"): "
	    "secret_ref must be a string" },
	{ C_HTTP(", 'connect_timeout': '0s'"), "catalog: operations[0] "
	    "(\"op1\"): connect_timeout must be more than 0 and at most 24h" },
	{ C_HTTP(", 'connect_timeout': 10"), "catalog: operations[0] "
	    "(\"op1\"): connect_timeout must be a duration string such as "
	    "\"30s\"" },
	{ C_HTTP(", 'max_response': 10"), "catalog: operations[0] "
	    "(\"op1\"): max_response must be an integer number of bytes from "
	    "1024 to 67108864" },
	{ C_HTTP(", 'max_response': '1MiB'"), "catalog: operations[0] "
	    "(\"op1\"): max_response must be an integer number of bytes from "
	    "1024 to 67108864" },
	{ C_EXEC(", 'secret_ref': 'env:X'"), "catalog: operations[0] "
	    "(\"op1\"): secret_ref is only allowed with executor \"http\"" },
	{ C_EXEC(", 'connect_timeout': '1s'"), "catalog: operations[0] "
	    "(\"op1\"): connect_timeout is only allowed with executor "
	    "\"http\"" },
	{ C_EXEC(", 'max_response': 2048"), "catalog: operations[0] "
	    "(\"op1\"): max_response is only allowed with executor "
	    "\"http\"" },
	{ C_HTTP(", 'argv': ['x']"), "catalog: operations[0] (\"op1\"): "
	    "argv is only allowed with executor \"exec\"" },
};

/* Bad http keys are refused with a message naming the place. */
START_TEST(test_http_catalog_bad)
{
	char	*cause = NULL;

	ck_assert_ptr_null(parse_q(catalog_http_bad[_i].catalog, &cause));
	ck_assert_str_eq(cause, catalog_http_bad[_i].error);
	free(cause);
}
END_TEST

/* ---- secret ----------------------------------------------------------- */

/* env: reads the variable. */
START_TEST(test_secret_env)
{
	unsigned char	*s;
	size_t		 len;
	char		*cause = NULL;

	setenv("CHIME_SECRET_T", "hunter2", 1);
	ck_assert_int_eq(secret_resolve("env:CHIME_SECRET_T", &s, &len,
	    &cause), 0);
	ck_assert_uint_eq(len, 7);
	ck_assert_str_eq((char *)s, "hunter2");
	secret_free(s, len);
	secret_free(NULL, 0);
}
END_TEST

/* env: unset, empty or badly named is an error that names no secret. */
START_TEST(test_secret_env_bad)
{
	unsigned char	*s;
	size_t		 len;
	char		*cause = NULL;

	unsetenv("CHIME_SECRET_NONE");
	ck_assert_int_eq(secret_resolve("env:CHIME_SECRET_NONE", &s, &len,
	    &cause), -1);
	ck_assert_ptr_null(s);
	ck_assert_str_eq(cause, "secret env:CHIME_SECRET_NONE: not set");
	free(cause);
	setenv("CHIME_SECRET_EMPTY", "", 1);
	ck_assert_int_eq(secret_resolve("env:CHIME_SECRET_EMPTY", &s, &len,
	    &cause), -1);
	ck_assert_str_eq(cause, "secret env:CHIME_SECRET_EMPTY: empty");
	free(cause);
	ck_assert_int_eq(secret_resolve("env:A-B", &s, &len, &cause), -1);
	free(cause);
	ck_assert_int_eq(secret_resolve("env:", &s, &len, &cause), -1);
	free(cause);
}
END_TEST

static char *
secret_file(const char *name, const char *content, mode_t mode)
{
	return (lib_put_file(tmpdir, name, content, strlen(content), mode));
}

/* file: reads a private file; one trailing newline is dropped. */
START_TEST(test_secret_file)
{
	unsigned char	*s;
	size_t		 len;
	char		*path, *ref, *cause = NULL;

	path = secret_file("ok.key", "whsec_abc=\n", 0600);
	xasprintf(&ref, "file:%s", path);
	ck_assert_int_eq(secret_resolve(ref, &s, &len, &cause), 0);
	ck_assert_str_eq((char *)s, "whsec_abc=");
	ck_assert_uint_eq(len, 10);
	secret_free(s, len);
	free(ref);
	free(path);
	path = secret_file("ro.key", "a b\n\n", 0400);
	xasprintf(&ref, "file:%s", path);
	ck_assert_int_eq(secret_resolve(ref, &s, &len, &cause), 0);
	ck_assert_str_eq((char *)s, "a b\n");
	secret_free(s, len);
	free(ref);
	free(path);
}
END_TEST

/* file: group or world access, a missing file, a directory, an empty or
 * oversized file are refused. */
START_TEST(test_secret_file_bad)
{
	unsigned char	*s;
	size_t		 len;
	char		*path, *ref, *cause = NULL, *big, *want;

	path = secret_file("open.key", "k", 0640);
	xasprintf(&ref, "file:%s", path);
	ck_assert_int_eq(secret_resolve(ref, &s, &len, &cause), -1);
	xasprintf(&want, "secret file:%s: mode 0640 lets the group or "
	    "others in (chmod 600 it)", path);
	ck_assert_str_eq(cause, want);
	free(want);
	free(cause);
	ck_assert_int_eq(chmod(path, 0604), 0);
	ck_assert_int_eq(secret_resolve(ref, &s, &len, &cause), -1);
	free(cause);
	ck_assert_int_eq(chmod(path, 0620), 0);
	ck_assert_int_eq(secret_resolve(ref, &s, &len, &cause), -1);
	free(cause);
	free(ref);
	free(path);

	path = secret_file("empty.key", "\n", 0600);
	xasprintf(&ref, "file:%s", path);
	ck_assert_int_eq(secret_resolve(ref, &s, &len, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, ": empty"));
	free(cause);
	free(ref);
	free(path);

	big = xmalloc(70000);
	memset(big, 'k', 69999);
	big[69999] = '\0';
	path = secret_file("big.key", big, 0600);
	free(big);
	xasprintf(&ref, "file:%s", path);
	ck_assert_int_eq(secret_resolve(ref, &s, &len, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "larger than 65536 bytes"));
	free(cause);
	free(ref);
	free(path);

	xasprintf(&ref, "file:%s/missing.key", tmpdir);
	ck_assert_int_eq(secret_resolve(ref, &s, &len, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "No such file or directory"));
	free(cause);
	free(ref);
	xasprintf(&ref, "file:%s", tmpdir);
	ck_assert_int_eq(secret_resolve(ref, &s, &len, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "not a regular file"));
	free(cause);
	free(ref);
}
END_TEST

/* Only env:NAME and file:/PATH are references (for now). */
START_TEST(test_secret_ref_check)
{
	char	*cause = NULL;

	ck_assert_int_eq(secret_ref_check("env:GW_SECRET", &cause), 0);
	ck_assert_int_eq(secret_ref_check("env:_x1", &cause), 0);
	ck_assert_int_eq(secret_ref_check("file:/etc/chime/key", &cause), 0);
}
END_TEST

/* Anything else is refused, naming the reference. */
START_TEST(test_secret_ref_check_bad)
{
	static const char	*bad[] = { "", "GW_SECRET", "exec:",
	    "generated", "env:", "env:9A", "env:A B", "file:", "file:key",
	    "ENV:X" };
	char			*cause = NULL;
	size_t			 i;

	ck_assert_int_eq(secret_ref_check(NULL, &cause), -1);
	free(cause);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		ck_assert_msg(secret_ref_check(bad[i], &cause) == -1, "%s",
		    bad[i]);
		ck_assert_ptr_nonnull(strstr(cause, "secret reference"));
		free(cause);
	}
}
END_TEST

/* ---- suites ----------------------------------------------------------- */

static Suite *
addrfilter_suite(void)
{
	Suite	*s = suite_create("addrfilter");
	TCase	*tc;

	tc = lib_tcase(s, "addrfilter", NULL, NULL, 0,
	    test_addrfilter_cidr_parse,
	    test_addrfilter_refused_bad,
	    test_addrfilter_allow,
	    test_addrfilter_allow_bad,
	    test_addrfilter_match,
	    test_addrfilter_match_bad,
	    NULL);
	tcase_add_loop_test(tc, test_addrfilter_cidr_parse_bad, 0,
	    sizeof cidr_bad / sizeof cidr_bad[0]);
	tcase_add_loop_test(tc, test_addrfilter_refused, 0,
	    sizeof filter_table / sizeof filter_table[0]);
	return (s);
}

static Suite *
http_suite(void)
{
	Suite	*s = suite_create("http");
	TCase	*tc;

	tc = lib_tcase(s, "retry", NULL, NULL, 0,
	    test_http_retry_after,
	    test_http_retry_after_bad,
	    test_http_catalog,
	    NULL);
	tcase_add_loop_test(tc, test_http_catalog_bad, 0,
	    sizeof catalog_http_bad / sizeof catalog_http_bad[0]);
	tc = lib_tcase(s, "router", http_setup, http_teardown, 60,
	    test_http_success,
	    test_http_success_bad,
	    test_http_cost,
	    test_http_cost_bad,
	    test_http_signature,
	    test_http_signature_bad,
	    test_http_5xx,
	    test_http_429,
	    test_http_429_bad,
	    test_http_4xx_bad,
	    test_http_redirect_bad,
	    test_http_timeout,
	    test_http_timeout_bad,
	    test_http_response_bound,
	    test_http_response_bound_bad,
	    test_http_connect_bad,
	    test_http_filter,
	    test_http_filter_bad,
	    test_http_abort,
	    test_http_abort_bad,
	    test_http_concurrent,
	    test_http_start_bad,
	    test_http_executor,
	    test_http_runtime_free,
	    NULL);
	tcase_add_unchecked_fixture(tc, router_start, router_stop);
	return (s);
}

static Suite *
sign_suite(void)
{
	Suite	*s = suite_create("sign");

	lib_tcase(s, "sign", NULL, NULL, 0,
	    test_sign_standard,
	    test_sign_standard_key,
	    test_sign_hmac,
	    test_sign_standard_bad,
	    NULL);
	return (s);
}

static Suite *
secret_suite(void)
{
	Suite	*s = suite_create("secret");
	TCase	*tc;

	tc = lib_tcase(s, "secret", NULL, NULL, 0,
	    test_secret_env,
	    test_secret_env_bad,
	    test_secret_file,
	    test_secret_file_bad,
	    test_secret_ref_check,
	    test_secret_ref_check_bad,
	    NULL);
	tcase_add_unchecked_fixture(tc, tmp_start, tmp_stop);
	return (s);
}

int
main(void)
{
	return (lib_run(CK_NORMAL, addrfilter_suite(), sign_suite(),
	    http_suite(), secret_suite(), NULL));
}
