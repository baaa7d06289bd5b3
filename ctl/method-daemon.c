/*
 * ctl/method-daemon.c: the daemon.* methods as the protocol knows them: names,
 * parameters, flags and table columns, shared by the daemon and chimectl.
 * The daemon's handlers are in daemon/method-daemon.c.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine.h"
#include "ctl.h"

static const struct ctl_param method_daemon_none[] = {
	{ .name = NULL }
};

const struct ctl_method ctl_methods_daemon[] = {
	{
		.name = "daemon.status",
		.summary = "show the daemon's state and figures",
		.params = method_daemon_none,
		.flags = CTL_M_READONLY,
	},
	{
		.name = "daemon.reload",
		.summary = "reload the operation catalog (admin)",
		.params = method_daemon_none,
		.flags = CTL_M_ADMIN,
	},
	{ .name = NULL }
};
