/*
 * tests/check_metrics.c: the metrics registry and its Prometheus text
 * exposition (engine/metrics.c), and the address parser of the HTTP
 * listener (engine/http-server.c).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "engine.h"
#include "lib.h"

static double	 fixed_value(void *);
static void	 metrics_teardown(void);
static Suite	*metrics_suite(void);
static Suite	*httpd_suite(void);

static double
fixed_value(void *arg)
{
	return (*(double *)arg);
}

static void
metrics_teardown(void)
{
	metrics_free();
}

/* A counter without labels renders 0, then its sum, after HELP and TYPE. */
START_TEST(test_counter_render)
{
	char	*cause = NULL, *text;

	ck_assert_int_eq(metrics_counter("t_fires_total", "Fires.", NULL, 0,
	    &cause), 0);
	text = metrics_render(NULL);
	ck_assert_str_eq(text, "# HELP t_fires_total Fires.\n"
	    "# TYPE t_fires_total counter\nt_fires_total 0\n");
	free(text);
	metrics_count("t_fires_total", NULL, 2);
	metrics_count("t_fires_total", NULL, 3);
	ck_assert_uint_eq(metrics_value("t_fires_total", NULL), 5);
	text = metrics_render(NULL);
	ck_assert_str_eq(text, "# HELP t_fires_total Fires.\n"
	    "# TYPE t_fires_total counter\nt_fires_total 5\n");
	free(text);
}
END_TEST

/* A counter whose name lacks _total, or a bad name, is refused. */
START_TEST(test_counter_render_bad)
{
	char	*cause = NULL, *text;

	ck_assert_int_eq(metrics_counter("t_fires", "x", NULL, 0, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "_total"));
	free(cause);
	cause = NULL;
	ck_assert_int_eq(metrics_counter("9bad_total", "x", NULL, 0, &cause),
	    -1);
	ck_assert_ptr_nonnull(strstr(cause, "bad metric name"));
	free(cause);
	cause = NULL;
	ck_assert_int_eq(metrics_counter("t-dash_total", "x", NULL, 0,
	    &cause), -1);
	free(cause);
	cause = NULL;
	ck_assert_int_eq(metrics_counter("t_ok_total", "x", NULL, 0, &cause),
	    0);
	ck_assert_int_eq(metrics_counter("t_ok_total", "x", NULL, 0, &cause),
	    -1);
	ck_assert_ptr_nonnull(strstr(cause, "already"));
	free(cause);
	/* Counting an unknown name changes nothing. */
	metrics_count("t_unknown_total", NULL, 1);
	text = metrics_render(NULL);
	ck_assert_ptr_null(strstr(text, "t_unknown"));
	ck_assert_ptr_null(strstr(text, "t_fires "));
	free(text);
}
END_TEST

/* Labelled series render in creation order, values escaped. */
START_TEST(test_labels_escape)
{
	const char	*labels[2] = { "status", "kind" };
	const char	*v1[2] = { "ok", "a" };
	const char	*v2[2] = { "we\"ird\\x\ny", "b" };
	char		*cause = NULL, *text;

	ck_assert_int_eq(metrics_counter("t_runs_total", "Runs\\ended\nhere.",
	    labels, 2, &cause), 0);
	metrics_count_labels("t_runs_total", v1, 1);
	metrics_count_labels("t_runs_total", v2, 4);
	metrics_count_labels("t_runs_total", v1, 1);
	text = metrics_render(NULL);
	ck_assert_str_eq(text, "# HELP t_runs_total Runs\\\\ended\\nhere.\n"
	    "# TYPE t_runs_total counter\n"
	    "t_runs_total{status=\"ok\",kind=\"a\"} 2\n"
	    "t_runs_total{status=\"we\\\"ird\\\\x\\ny\",kind=\"b\"} 4\n");
	free(text);
}
END_TEST

/* Bad label names, too many labels, a missing label value are refused. */
START_TEST(test_labels_escape_bad)
{
	const char	*bad[1] = { "__reserved" };
	const char	*dup[2] = { "a", "a" };
	const char	*three[3] = { "a", "b", "c" };
	const char	*one[1] = { "status" };
	char		*cause = NULL, *text;

	ck_assert_int_eq(metrics_counter("t_a_total", "x", bad, 1, &cause),
	    -1);
	free(cause);
	ck_assert_int_eq(metrics_counter("t_b_total", "x", dup, 2, &cause),
	    -1);
	free(cause);
	ck_assert_int_eq(metrics_counter("t_c_total", "x", three, 3, &cause),
	    -1);
	free(cause);
	ck_assert_int_eq(metrics_counter("t_d_total", "x", one, 1, &cause),
	    0);
	metrics_count("t_d_total", NULL, 7);
	text = metrics_render(NULL);
	ck_assert_str_eq(text, "# HELP t_d_total x\n"
	    "# TYPE t_d_total counter\n");
	free(text);
}
END_TEST

/* Callback gauges are read at each scrape; one label groups series. */
START_TEST(test_gauge_callback)
{
	double	 a = 3, b = 0.25, c = 12;
	char	*cause = NULL, *text;

	ck_assert_int_eq(metrics_callback("t_actors", "Actors.", 0, "kind",
	    "schedule", fixed_value, &a, &cause), 0);
	ck_assert_int_eq(metrics_callback("t_actors", "Actors.", 0, "kind",
	    "batch", fixed_value, &b, &cause), 0);
	ck_assert_int_eq(metrics_callback("t_done_total", "Done.", 1, NULL,
	    NULL, fixed_value, &c, &cause), 0);
	a = 4;
	text = metrics_render(NULL);
	ck_assert_str_eq(text, "# HELP t_actors Actors.\n"
	    "# TYPE t_actors gauge\n"
	    "t_actors{kind=\"schedule\"} 4\n"
	    "t_actors{kind=\"batch\"} 0.25\n"
	    "# HELP t_done_total Done.\n"
	    "# TYPE t_done_total counter\n"
	    "t_done_total 12\n");
	free(text);
	ck_assert_uint_eq(metrics_value("t_done_total", NULL), 12);
}
END_TEST

/* A series twice, another label name, a missing callback are refused. */
START_TEST(test_gauge_callback_bad)
{
	double	 a = 1;
	char	*cause = NULL;

	ck_assert_int_eq(metrics_callback("t_g", "x", 0, "kind", "s",
	    fixed_value, &a, &cause), 0);
	ck_assert_int_eq(metrics_callback("t_g", "x", 0, "kind", "s",
	    fixed_value, &a, &cause), -1);
	free(cause);
	ck_assert_int_eq(metrics_callback("t_g", "x", 0, "other", "s",
	    fixed_value, &a, &cause), -1);
	free(cause);
	ck_assert_int_eq(metrics_callback("t_g", "x", 1, "kind", "t",
	    fixed_value, &a, &cause), -1);
	free(cause);
	ck_assert_int_eq(metrics_callback("t_h", "x", 0, NULL, NULL, NULL,
	    NULL, &cause), -1);
	free(cause);
	ck_assert_int_eq(metrics_callback("t_i", "x", 0, "kind", NULL,
	    fixed_value, &a, &cause), -1);
	free(cause);
}
END_TEST

/* A gauge's value in the fewest digits that read back as itself. */
START_TEST(test_gauge_digits)
{
	double	 a = 35.891694, b = 0.1 + 0.2, c = 1e-7;
	char	*cause = NULL, *text;

	ck_assert_int_eq(metrics_callback("t_up", "Up.", 0, "n", "a",
	    fixed_value, &a, &cause), 0);
	ck_assert_int_eq(metrics_callback("t_up", "Up.", 0, "n", "b",
	    fixed_value, &b, &cause), 0);
	ck_assert_int_eq(metrics_callback("t_up", "Up.", 0, "n", "c",
	    fixed_value, &c, &cause), 0);
	text = metrics_render(NULL);
	ck_assert_str_eq(text, "# HELP t_up Up.\n# TYPE t_up gauge\n"
	    "t_up{n=\"a\"} 35.891694\n"
	    "t_up{n=\"b\"} 0.30000000000000004\n"
	    "t_up{n=\"c\"} 1e-07\n");
	free(text);
}
END_TEST

static void
collect_two(metrics_emit_fn emit, void *arg)
{
	const char	*x[2] = { "acme", "" }, *y[2] = { "acme", "a\"b" };

	emit(arg, x, 1.5);
	emit(arg, y, 0.000002);
}

/* A collector's series are made at each scrape, labels escaped. */
START_TEST(test_collector)
{
	static const char *const labels[] = { "account", "operation" };
	char	*cause = NULL, *text;

	ck_assert_int_eq(metrics_collector("t_spend_usd", "Spend.", labels, 2,
	    collect_two, &cause), 0);
	text = metrics_render(NULL);
	ck_assert_str_eq(text, "# HELP t_spend_usd Spend.\n"
	    "# TYPE t_spend_usd gauge\n"
	    "t_spend_usd{account=\"acme\",operation=\"\"} 1.5\n"
	    "t_spend_usd{account=\"acme\",operation=\"a\\\"b\"} 2e-06\n");
	free(text);
}
END_TEST

/* A collector's name and labels are checked like any metric's. */
START_TEST(test_collector_bad)
{
	static const char *const labels[] = { "account", "account" };
	char	*cause = NULL;

	ck_assert_int_eq(metrics_collector("t spend", "x", labels, 1,
	    collect_two, &cause), -1);
	free(cause);
	ck_assert_int_eq(metrics_collector("t_x", "x", labels, 2,
	    collect_two, &cause), -1);
	free(cause);
}
END_TEST

/* A histogram: cumulative buckets, le inclusive, sum in exact seconds. */
START_TEST(test_histogram_render)
{
	static const int64_t bounds[] = { 1000, 500000, 2000000 };
	char	*cause = NULL, *text;

	ck_assert_int_eq(metrics_histogram("t_lat_seconds", "Latency.",
	    bounds, 3, &cause), 0);
	metrics_observe_us("t_lat_seconds", 1000);	/* le 0.001 */
	metrics_observe_us("t_lat_seconds", 1001);	/* le 0.5 */
	metrics_observe_us("t_lat_seconds", 2500000);	/* +Inf */
	metrics_observe_us("t_lat_seconds", -5);	/* as 0 */
	text = metrics_render(NULL);
	ck_assert_str_eq(text, "# HELP t_lat_seconds Latency.\n"
	    "# TYPE t_lat_seconds histogram\n"
	    "t_lat_seconds_bucket{le=\"0.001\"} 2\n"
	    "t_lat_seconds_bucket{le=\"0.5\"} 3\n"
	    "t_lat_seconds_bucket{le=\"2\"} 3\n"
	    "t_lat_seconds_bucket{le=\"+Inf\"} 4\n"
	    "t_lat_seconds_sum 2.502001\n"
	    "t_lat_seconds_count 4\n");
	free(text);
}
END_TEST

/* Bounds not increasing, none, or not positive are refused. */
START_TEST(test_histogram_render_bad)
{
	static const int64_t down[] = { 10, 5 };
	static const int64_t zero[] = { 0, 5 };
	char	*cause = NULL, *text;

	ck_assert_int_eq(metrics_histogram("t_h1", "x", down, 2, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "increasing"));
	free(cause);
	ck_assert_int_eq(metrics_histogram("t_h2", "x", zero, 2, &cause), -1);
	free(cause);
	ck_assert_int_eq(metrics_histogram("t_h3", "x", down, 0, &cause), -1);
	free(cause);
	ck_assert_int_eq(metrics_histogram("t h4", "x", zero + 1, 1, &cause),
	    -1);
	free(cause);
	/* Observing a counter's name as a histogram does nothing. */
	metrics_observe_us("t_h1", 3);
	text = metrics_render(NULL);
	ck_assert_str_eq(text, "");
	free(text);
}
END_TEST

/* Addresses: IPv4, localhost, [IPv6], port 0, and none. */
START_TEST(test_httpd_parse_address)
{
	char		*host, *cause = NULL;
	uint16_t	 port;

	ck_assert_int_eq(httpd_parse_address("127.0.0.1:8470", &host, &port,
	    &cause), 0);
	ck_assert_str_eq(host, "127.0.0.1");
	ck_assert_uint_eq(port, 8470);
	free(host);
	ck_assert_int_eq(httpd_parse_address("[::1]:0", &host, &port,
	    &cause), 0);
	ck_assert_str_eq(host, "::1");
	ck_assert_uint_eq(port, 0);
	free(host);
	ck_assert_int_eq(httpd_parse_address("localhost:80", &host, &port,
	    &cause), 0);
	ck_assert_str_eq(host, "127.0.0.1");
	free(host);
	ck_assert_int_eq(httpd_parse_address("none", &host, &port, &cause),
	    0);
	ck_assert_ptr_null(host);
}
END_TEST

/* Anything else is refused with the expected forms in the message. */
START_TEST(test_httpd_parse_address_bad)
{
	static const char *bad[] = { "", "8470", "127.0.0.1", "127.0.0.1:",
	    "127.0.0.1:65536", "127.0.0.1:-1", "127.0.0.1:80x", "::1:80",
	    "[::1]80", "[nothost]:80", "example.com:80", "1.2.3:80",
	    "127.0.0.1: 80" };
	char		*host, *cause;
	uint16_t	 port;
	size_t		 i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cause = NULL;
		ck_assert_msg(httpd_parse_address(bad[i], &host, &port,
		    &cause) == -1, "accepted \"%s\"", bad[i]);
		ck_assert_ptr_null(host);
		ck_assert_ptr_nonnull(strstr(cause, "[IPV6]:PORT"));
		free(cause);
	}
}
END_TEST

static Suite *
metrics_suite(void)
{
	Suite	*s = suite_create("metrics");

	lib_tcase(s, "registry", NULL, metrics_teardown, 0,
	    test_counter_render,
	    test_counter_render_bad,
	    test_labels_escape,
	    test_labels_escape_bad,
	    test_gauge_callback,
	    test_gauge_callback_bad,
	    test_gauge_digits,
	    test_collector,
	    test_collector_bad,
	    test_histogram_render,
	    test_histogram_render_bad,
	    NULL);
	return (s);
}

static Suite *
httpd_suite(void)
{
	Suite	*s = suite_create("httpd");

	lib_tcase(s, "address", NULL, NULL, 0,
	    test_httpd_parse_address,
	    test_httpd_parse_address_bad,
	    NULL);
	return (s);
}

int
main(void)
{
	log_open("check_metrics", LOG_LEVEL_ERROR);
	return (lib_run(CK_NORMAL, metrics_suite(), httpd_suite(), NULL));
}
