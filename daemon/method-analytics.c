/*
 * daemon/method-analytics.c: the handlers of analytics.* methods: the
 * period asked for, in days of the account's zone (UTC over several
 * accounts), then the figures from the analytics table
 * (actors/analytics.c).
 */
#include <stdlib.h>
#include <string.h>

#include "actors.h"
#include "ctl.h"
#include "daemon.h"

/* A schedule as the analytics queries see it. */
static int
method_analytics_sched(const char *id, struct analytics_sched *out)
{
	struct schedule	*s = schedule_find(id);

	if (s == NULL)
		return (-1);
	out->name = s->name;
	out->active = s->state == SCHEDULE_ACTIVE;
	out->max_cost_month = s->max_cost_month;
	return (0);
}

/* The days FROM..TO a request asks for: 0, or -1 after answering. */
static int
method_analytics_period(struct ctl_req *req, json_t *params,
    const char *account, int64_t *from, int64_t *to)
{
	static const struct {
		const char	*name;
		int64_t		 days;
	} periods[] = {
		{ "week", 7 }, { "month", 30 }, { "quarter", 91 },
		{ "year", 365 },
	};
	const char	*period = param_string(params, "period");
	const char	*f = param_string(params, "from");
	const char	*t = param_string(params, "to");
	size_t		 i;

	if (period != NULL && f != NULL) {
		ctl_error_param(req, "period", "give a period or from, not "
		    "both");
		return (-1);
	}
	*to = t != NULL ? analytics_parse_day(t) : analytics_today(account);
	if (*to < 0) {
		ctl_error_param(req, "to", "not a day (YYYY-MM-DD)");
		return (-1);
	}
	if (f != NULL) {
		if ((*from = analytics_parse_day(f)) < 0) {
			ctl_error_param(req, "from", "not a day (YYYY-MM-DD)");
			return (-1);
		}
		return (0);
	}
	if (period == NULL)
		period = "month";
	for (i = 0; i < sizeof periods / sizeof periods[0]; i++) {
		if (strcmp(period, periods[i].name) == 0) {
			*from = analytics_days_before(*to,
			    periods[i].days - 1);
			return (0);
		}
	}
	ctl_error_param(req, "period", "week, month, quarter or year");
	return (-1);
}

static void	 method_analytics_query(struct ctl_req *, json_t *,
		    const struct target *, json_t *(*)(struct journal *,
		    const struct caller *, const char *, int64_t, int64_t,
		    char **));

static void
method_analytics_summary(struct ctl_req *req, json_t *params,
    const struct target *t)
{
	method_analytics_query(req, params, t, analytics_summary);
}

static void
method_analytics_breakdown(struct ctl_req *req, json_t *params,
    const struct target *t)
{
	const char	*by = param_string(params, "by");
	json_t		*result;
	int64_t		 from, to;
	char		*cause = NULL;

	if (by == NULL)
		by = "operation";
	if (!analytics_by_valid(by)) {
		ctl_error_param(req, "by", "operation, model, schedule or "
		    "account");
		return;
	}
	if (method_analytics_period(req, params, t->account, &from, &to) != 0)
		return;
	if ((result = analytics_breakdown(engine->journal,
	    ctl_req_caller(req), t->account, from, to, by,
	    method_analytics_sched, &cause)) == NULL) {
		ctl_error_param(req, "from", cause);
		free(cause);
		return;
	}
	ctl_reply(req, result);
}

static void
method_analytics_trends(struct ctl_req *req, json_t *params,
    const struct target *t)
{
	const char	*metric = param_string(params, "metric");
	const char	*gran = param_string(params, "granularity");
	json_t		*result;
	int64_t		 from, to;
	char		*cause = NULL;

	if (metric == NULL)
		metric = "cost";
	if (!analytics_metric_valid(metric)) {
		ctl_error_param(req, "metric", "cost, runs, failures or "
		    "latency_p95");
		return;
	}
	if (gran != NULL && strcmp(gran, "day") != 0 &&
	    strcmp(gran, "week") != 0) {
		ctl_error_param(req, "granularity", "day or week");
		return;
	}
	if (method_analytics_period(req, params, t->account, &from, &to) != 0)
		return;
	if ((result = analytics_trends(engine->journal, ctl_req_caller(req),
	    t->account, from, to, metric, gran != NULL &&
	    strcmp(gran, "week") == 0, &cause)) == NULL) {
		ctl_error_param(req, "from", cause);
		free(cause);
		return;
	}
	ctl_reply(req, result);
}

/* A query over a period: FN's answer, or its refusal. */
static void
method_analytics_query(struct ctl_req *req, json_t *params,
    const struct target *t, json_t *(*fn)(struct journal *,
    const struct caller *, const char *, int64_t, int64_t, char **))
{
	json_t	*result;
	int64_t	 from, to;
	char	*cause = NULL;

	if (method_analytics_period(req, params, t->account, &from, &to) != 0)
		return;
	if ((result = fn(engine->journal, ctl_req_caller(req), t->account,
	    from, to, &cause)) == NULL) {
		ctl_error_param(req, "from", cause);
		free(cause);
		return;
	}
	ctl_reply(req, result);
}

static void
method_analytics_models(struct ctl_req *req, json_t *params,
    const struct target *t)
{
	method_analytics_query(req, params, t, analytics_models);
}

static void
method_analytics_accuracy(struct ctl_req *req, json_t *params,
    const struct target *t)
{
	method_analytics_query(req, params, t, analytics_accuracy);
}

/* analytics.pace: budget.status with each cap's projection. */
static void
method_analytics_pace(struct ctl_req *req, json_t *params,
    const struct target *t)
{
	json_t	*status = method_budget_status_of(t->account);

	analytics_pace(status, t->account, now_us());
	ctl_reply(req, status);
}

/* analytics.recommendations: from the rows and the caps' pace. */
static void
method_analytics_recommendations(struct ctl_req *req, json_t *params,
    const struct target *t)
{
	json_t	*pace = method_budget_status_of(t->account), *result;
	char	*cause = NULL;

	analytics_pace(pace, t->account, now_us());
	result = analytics_recommendations(engine->journal,
	    ctl_req_caller(req), t->account, pace, method_analytics_sched,
	    &cause);
	json_decref(pace);
	if (result == NULL) {
		ctl_error(req, CTL_E_INTERNAL, cause, NULL, NULL);
		free(cause);
		return;
	}
	ctl_reply(req, result);
}

const struct daemon_method daemon_methods_analytics[] = {
	{ "analytics.recommendations", method_analytics_recommendations },
	{ "analytics.pace", method_analytics_pace },
	{ "analytics.summary", method_analytics_summary },
	{ "analytics.breakdown", method_analytics_breakdown },
	{ "analytics.trends", method_analytics_trends },
	{ "analytics.models", method_analytics_models },
	{ "analytics.accuracy", method_analytics_accuracy },
	{ NULL, NULL }
};
