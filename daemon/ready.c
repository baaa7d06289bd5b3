/*
 * daemon/ready.c: what the daemon's readiness (GET /readyz, and the
 * watchdog's word) adds to the listener's own: a journal that is open,
 * can write, and has had no write error since its last good commit.
 */
#include <sys/types.h>

#include <stdint.h>

#include "engine.h"
#include "journal.h"
#include "ctl.h"
#include "daemon.h"

static uint64_t	ready_commits;
static uint64_t	ready_errors;
static int	ready_failing;
static int	ready_sampled;

/*
 * A journal error since the previous sample makes the journal failing; a
 * sample that sees new commits and no new error makes it good again.
 */
static void
ready_sample(void)
{
	struct journal_stats	st;

	journal_stats(engine->journal, &st);
	if (ready_sampled && st.errors != ready_errors)
		ready_failing = 1;
	else if (st.commits != ready_commits)
		ready_failing = 0;
	ready_errors = st.errors;
	ready_commits = st.commits;
	ready_sampled = 1;
}

/* The ready hook of the HTTP listener: 1, or 0 and *REASON. */
int
ready_journal(const char **reason)
{
	if (engine == NULL || engine->journal == NULL) {
		*reason = "journal not open";
		return (0);
	}
	if (journal_stalled(engine->journal, NULL, NULL)) {
		*reason = "the journal cannot write";
		return (0);
	}
	ready_sample();
	if (ready_failing) {
		*reason = "journal write error";
		return (0);
	}
	return (1);
}
