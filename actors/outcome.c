/*
 * actors/outcome.c: the outcome of a journal write as an answer.  A
 * request whose record the journal did not write is refused "unavailable"
 * with the reason (data.reason: disk_full, map_full, io_error, ...) and
 * the store's message (data.error); nothing it asked for happened.
 */
#include <stdio.h>
#include <stdlib.h>

#include "actors.h"

/* Refuse R: the record RES was about was not written. */
void
outcome_journal(struct reply *r, const struct journal_result *res)
{
	const char	*reason;
	char		*msg;

	reason = res->reason != NULL ? res->reason : JOURNAL_R_STORAGE;
	xasprintf(&msg, "not recorded: %s", journal_reason_text(reason));
	reply_fail_data(r, REPLY_UNAVAILABLE, msg, json_pack("{s:s,s:s}",
	    "reason", reason, "error", res->error != NULL ? res->error :
	    "journal write failed"));
	free(msg);
}
