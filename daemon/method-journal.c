/*
 * daemon/method-journal.c: the handlers of journal.* methods: a signed
 * checkpoint written on request, answered once it is durable.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "journal.h"
#include "actors.h"
#include "ctl.h"
#include "daemon.h"

static void	 method_journal_done(const struct journal_result *, void *);

/* The checkpoint is durable (or failed): {"seq", "tree_size", "root",
 * "note"}. */
static void
method_journal_done(const struct journal_result *r, void *arg)
{
	struct reply		*reply = arg;
	struct checkpoint_info	 info;
	char			*cause = NULL, root[65];

	if (r->status != JOURNAL_OK || r->note == NULL) {
		reply_fail(reply, REPLY_UNAVAILABLE, r->error != NULL ?
		    r->error : "the checkpoint was not written", NULL, NULL);
		return;
	}
	if (checkpoint_note(r->note, strlen(r->note), NULL, NULL, &info,
	    &cause) != 0) {
		reply_fail(reply, REPLY_INTERNAL, cause, NULL, NULL);
		free(cause);
		return;
	}
	chain_hex(info.root, root);
	reply_ok(reply, json_pack("{s:I,s:I,s:s,s:s}",
	    "seq", (json_int_t)r->seq,
	    "tree_size", (json_int_t)info.tree_size,
	    "root", root,
	    "note", r->note));
	checkpoint_clear(&info);
}

static void
method_journal_checkpoint(struct ctl_req *req, json_t *params,
    const struct target *t)
{
	struct reply	*reply = ctl_req_reply(req);
	char		*cause = NULL;

	if (checkpoint_request(engine->journal, method_journal_done, reply,
	    &cause) != 0) {
		reply_fail(reply, REPLY_UNAVAILABLE, cause, NULL, NULL);
		free(cause);
	}
}

const struct daemon_method daemon_methods_journal[] = {
	{ "journal.checkpoint", method_journal_checkpoint },
	{ NULL, NULL }
};
