/*
 * daemon/gauges.c: the daemon's metrics: what it registers in engine's
 * registry (engine/metrics.c) and the callbacks that read the journal, the
 * schedules, the slots and the budgets at each scrape.
 */
#include <sys/types.h>

#include <stdint.h>
#include <stdlib.h>

#include "engine.h"
#include "journal.h"
#include "actors.h"
#include "ctl.h"
#include "daemon.h"

static double	 gauges_cb_chain(void *);
static double	 gauges_cb_journal(void *);
static double	 gauges_cb_one(void *);
static double	 gauges_cb_schedules(void *);
static double	 gauges_cb_slots(void *);
static double	 gauges_cb_timers(void *);
static double	 gauges_cb_uptime(void *);
static double	 gauges_cb_waiting(void *);
static void	 gauges_commit_hook(size_t, int64_t, void *);

/* Buckets of the latency histograms, in microseconds. */
static const int64_t gauges_run_bounds[] = {
	100000, 500000, 1000000, 2500000, 5000000, 10000000, 30000000,
	60000000, 300000000, 1800000000
};
static const int64_t gauges_lag_bounds[] = {
	1000, 5000, 10000, 50000, 100000, 500000, 1000000, 5000000, 60000000
};
static const int64_t gauges_commit_bounds[] = {
	100, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 500000,
	1000000
};
#define nitems(a)	(sizeof (a) / sizeof (a)[0])

enum {
	GAUGES_J_COMMITS, GAUGES_J_RECORDS, GAUGES_J_ERRORS,
	GAUGES_J_DUPLICATES, GAUGES_J_MAP
};
static const int gauges_j_which[] = { GAUGES_J_COMMITS, GAUGES_J_RECORDS,
	GAUGES_J_ERRORS, GAUGES_J_DUPLICATES, GAUGES_J_MAP };
enum {
	METRICS_C_OK, METRICS_C_BROKEN, METRICS_C_VERIFIED, METRICS_C_SCRUBS,
	METRICS_C_LAST
};
static const int metrics_c_which[] = { METRICS_C_OK, METRICS_C_BROKEN,
	METRICS_C_VERIFIED, METRICS_C_SCRUBS, METRICS_C_LAST };

static double
gauges_cb_uptime(void *arg)
{
	return ((double)(now_us() - engine->started_us) / USEC_PER_SEC);
}

static double
gauges_cb_one(void *arg)
{
	return (1);
}

static double
gauges_cb_slots(void *arg)
{
	return (slots_in_use());
}

static double
gauges_cb_waiting(void *arg)
{
	return ((double)slots_waiting());
}

static double
gauges_cb_schedules(void *arg)
{
	struct schedule_counts	sc;

	schedule_counts(&sc);
	return ((double)sc.total);
}

static double
gauges_cb_timers(void *arg)
{
	return ((double)timer_count());
}

/* One figure of journal_stats, ARG pointing at its GAUGES_J_ index. */
static double
gauges_cb_journal(void *arg)
{
	struct journal_stats	st;

	if (engine->journal == NULL)
		return (0);
	journal_stats(engine->journal, &st);
	switch (*(const int *)arg) {
	case GAUGES_J_COMMITS:
		return ((double)st.commits);
	case GAUGES_J_RECORDS:
		return ((double)st.records);
	case GAUGES_J_ERRORS:
		return ((double)st.errors);
	case GAUGES_J_DUPLICATES:
		return ((double)st.duplicates);
	default:
		return ((double)journal_map_used(engine->journal));
	}
}

/* One figure of the chain's check (journal_chain, scrub_status), ARG
 * pointing at its METRICS_C_ index. */
static double
gauges_cb_chain(void *arg)
{
	struct journal_chain	c;
	struct scrub_status	st;

	if (engine->journal == NULL)
		return (0);
	journal_chain(engine->journal, &c);
	scrub_status(engine->journal, &st);
	switch (*(const int *)arg) {
	case METRICS_C_OK:
		return (c.broken_seq == 0);
	case METRICS_C_BROKEN:
		return ((double)c.broken_seq);
	case METRICS_C_VERIFIED:
		return ((double)c.verified_seq);
	case METRICS_C_SCRUBS:
		return ((double)st.scrubs);
	default:
		return ((double)c.scrubbed_us / USEC_PER_SEC);
	}
}

static void
gauges_commit_hook(size_t records, int64_t commit_us, void *arg)
{
	metrics_observe_us(METRICS_COMMIT_SECONDS, commit_us);
}

/*
 * Register the daemon's chime_* metrics (once, before the listener) and
 * hook the journal's commits when there is a journal.
 */
void
gauges_init(void)
{
	static const char *const status[] = { "status" };
	static const char *const spend_labels[] = { "account", "operation" };
	static const char *const sub_labels[] = { "subscription", "account" };
	static const char *const outcome[] = { "outcome" };
	static const char *const reason[] = { "reason" };
	static const char *const runst[] = { "success", "failed", "skipped",
	    "missed", "interrupted", "cancelled" };
	static const char *const hookst[] = { "accepted", "duplicate",
	    "unauthorized", "not_found", "too_large", "overloaded", "rejected",
	    "unavailable" };
	static const char *const httpst[] = { "connections", "timeout",
	    "too_large", "bad_request" };
	static const char *const emailst[] = { "sent", "failed", "deferred",
	    "suppressed" };
	const char	*version[1] = { "version" };
	char		*cause = NULL;
	size_t		 i;
	int		 rc = 0;

	rc |= metrics_counter(METRICS_FIRES, "Timed fires of schedules.",
	    NULL, 0, &cause);
	rc |= metrics_counter(METRICS_RUNS, "Runs ended, by final status.",
	    status, 1, &cause);
	rc |= metrics_histogram(METRICS_RUN_SECONDS, "Time from a run's start "
	    "to its end.", gauges_run_bounds, nitems(gauges_run_bounds),
	    &cause);
	rc |= metrics_histogram(METRICS_FIRE_LAG_SECONDS, "Delay between a "
	    "fire's scheduled instant and its handling.", gauges_lag_bounds,
	    nitems(gauges_lag_bounds), &cause);
	rc |= metrics_counter(METRICS_EMAIL, "Email messages by outcome: sent "
	    "(the relay took it), failed (refused for good or out of "
	    "attempts), deferred (a transient failure, tried again), "
	    "suppressed (the account suppressed the address).",
	    outcome, 1, &cause);
	rc |= metrics_counter(METRICS_BUDGET_SKIPS, "Runs skipped because a "
	    "budget would be exceeded.", NULL, 0, &cause);
	rc |= metrics_counter(METRICS_WEBHOOKS, "Inbound webhook requests, by "
	    "outcome.", outcome, 1, &cause);
	rc |= metrics_counter(METRICS_WEBHOOK_FOLDED, "Webhook refusals past "
	    "those journaled in full in their minute, folded into one counted "
	    "record (also in chime_webhook_requests_total).", NULL, 0, &cause);
	rc |= metrics_counter(METRICS_HTTP_REFUSED, "HTTP connections and "
	    "requests the listener refused or cut, by reason.", reason, 1,
	    &cause);
	rc |= metrics_callback("chime_journal_commits_total", "Journal "
	    "transactions committed.", 1, NULL, NULL, gauges_cb_journal,
	    (void *)&gauges_j_which[GAUGES_J_COMMITS], &cause);
	rc |= metrics_callback("chime_journal_records_total", "Journal records "
	    "committed (records per commit: this over commits).", 1, NULL,
	    NULL, gauges_cb_journal,
	    (void *)&gauges_j_which[GAUGES_J_RECORDS], &cause);
	rc |= metrics_callback("chime_journal_errors_total", "Journal write "
	    "errors.", 1, NULL, NULL, gauges_cb_journal,
	    (void *)&gauges_j_which[GAUGES_J_ERRORS], &cause);
	rc |= metrics_callback("chime_journal_duplicates_total", "Records "
	    "refused as duplicates of a dedup key.", 1, NULL, NULL,
	    gauges_cb_journal, (void *)&gauges_j_which[GAUGES_J_DUPLICATES],
	    &cause);
	rc |= metrics_callback("chime_journal_map_used_bytes", "Bytes of the "
	    "journal map in use.", 0, NULL, NULL, gauges_cb_journal,
	    (void *)&gauges_j_which[GAUGES_J_MAP], &cause);
	rc |= metrics_callback("chime_journal_chain_ok", "1 while no break "
	    "of the hash chain is known, 0 once the start check or a scrub "
	    "found one.", 0, NULL, NULL, gauges_cb_chain,
	    (void *)&metrics_c_which[METRICS_C_OK], &cause);
	rc |= metrics_callback("chime_journal_chain_broken_seq", "The first "
	    "bad seq of the chain found (0: none).", 0, NULL, NULL,
	    gauges_cb_chain, (void *)&metrics_c_which[METRICS_C_BROKEN],
	    &cause);
	rc |= metrics_callback("chime_journal_verified_seq", "The chain was "
	    "read back and verified up to this seq.", 0, NULL, NULL,
	    gauges_cb_chain, (void *)&metrics_c_which[METRICS_C_VERIFIED],
	    &cause);
	rc |= metrics_callback("chime_journal_scrubs_total", "Whole-chain "
	    "scrubs ended since the start.", 1, NULL, NULL, gauges_cb_chain,
	    (void *)&metrics_c_which[METRICS_C_SCRUBS], &cause);
	rc |= metrics_callback("chime_journal_scrub_last_timestamp_seconds",
	    "When the last whole-chain scrub ended (0: never).", 0, NULL, NULL,
	    gauges_cb_chain, (void *)&metrics_c_which[METRICS_C_LAST], &cause);
	rc |= metrics_histogram(METRICS_COMMIT_SECONDS, "Journal writer time "
	    "per commit, fsync included.", gauges_commit_bounds,
	    nitems(gauges_commit_bounds), &cause);
	rc |= metrics_callback("chime_executor_slots_in_use", "Operations "
	    "running now.", 0, NULL, NULL, gauges_cb_slots, NULL, &cause);
	rc |= metrics_callback("chime_runs_waiting", "Runs waiting for an "
	    "executor slot.", 0, NULL, NULL, gauges_cb_waiting, NULL, &cause);
	rc |= metrics_callback("chime_actors", "Live actors, by kind.", 0,
	    "kind", "schedule", gauges_cb_schedules, NULL, &cause);
	rc |= metrics_callback("chime_timers", "Armed timers.", 0, NULL, NULL,
	    gauges_cb_timers, NULL, &cause);
	rc |= metrics_callback("chime_uptime_seconds", "Seconds since the "
	    "daemon started.", 0, NULL, NULL, gauges_cb_uptime, NULL, &cause);
	rc |= metrics_callback("chime_build_info", "Always 1; the version is "
	    "a label.", 0, version[0], CHIME_VERSION, gauges_cb_one, NULL,
	    &cause);
	rc |= metrics_collector("chime_spend_usd", "Month-to-date actual "
	    "spend in USD, per account (operation \"\": the account's total) "
	    "and operation, in the account's zone.", spend_labels, 2,
	    budget_metrics_spend, &cause);
	rc |= metrics_collector("chime_subscription_delivered_events",
	    "Events a subscription's receiver acknowledged (2xx).",
	    sub_labels, 2, subscription_metrics, &cause);
	rc |= metrics_collector("chime_subscription_failed_attempts",
	    "A subscription's delivery attempts that failed.", sub_labels, 2,
	    subscription_metrics_failed, &cause);
	rc |= metrics_collector("chime_subscription_lag_records", "Records "
	    "of the journal a subscription has not passed yet (acknowledged "
	    "or filtered out).", sub_labels, 2, subscription_metrics_lag,
	    &cause);
	rc |= metrics_collector("chime_subscription_lag_seconds", "Age of "
	    "the oldest record a subscription has not passed yet (0: none).",
	    sub_labels, 2, subscription_metrics_lag_seconds, &cause);
	rc |= metrics_collector("chime_budget_remaining_usd", "What is left "
	    "this month of a monthly budget in USD (budget less actual spend "
	    "and reserved estimates; may be negative), per account "
	    "(operation \"\": the account's budget) and operation, where one "
	    "is set.", spend_labels, 2, budget_metrics_remaining, &cause);
	if (rc != 0)
		fatalx("metrics: %s", cause);
	for (i = 0; i < nitems(runst); i++)
		metrics_count(METRICS_RUNS, runst[i], 0);
	for (i = 0; i < nitems(emailst); i++)
		metrics_count(METRICS_EMAIL, emailst[i], 0);
	for (i = 0; i < nitems(hookst); i++)
		metrics_count(METRICS_WEBHOOKS, hookst[i], 0);
	metrics_count(METRICS_WEBHOOK_FOLDED, NULL, 0);
	for (i = 0; i < nitems(httpst); i++)
		metrics_count(METRICS_HTTP_REFUSED, httpst[i], 0);
	if (engine->journal != NULL)
		journal_add_commit_hook(engine->journal, gauges_commit_hook,
		    NULL);
}
