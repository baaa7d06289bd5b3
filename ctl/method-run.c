/*
 * ctl/method-run.c: the run.* methods as the protocol knows them: names,
 * parameters, flags and table columns, shared by the daemon and chimectl.
 * The daemon's handlers are in daemon/method-run.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "ctl.h"

static const struct ctl_param p_run_get[] = {
	{ .name = "run_id", .type = CTL_P_STRING,
	    .flags = CTL_P_REQUIRED | CTL_P_POSITIONAL,
	    .help = "run id (SCHEDULE:N)" },
	{ .name = NULL }
};

const struct ctl_method ctl_methods_run[] = {
	{
		.name = "run.get",
		.summary = "show one run",
		.params = p_run_get,
		.flags = CTL_M_READONLY,
	},
	{ .name = NULL }
};
