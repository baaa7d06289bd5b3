/*
 * ctl/method-journal.c: the journal.* methods as the protocol knows them:
 * names, parameters and flags, shared by the daemon and chimectl.  The
 * daemon's handlers are in daemon/method-journal.c.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "ctl.h"

static const struct ctl_param method_journal_none[] = {
	{ .name = NULL }
};

const struct ctl_method ctl_methods_journal[] = {
	{
		.name = "journal.checkpoint",
		.summary = "write a signed checkpoint of the journal now and "
		    "print its note (admin)",
		.params = method_journal_none,
		.flags = CTL_M_ADMIN,
		.text_key = "note",
	},
	{ .name = NULL }
};
