/*
 * daemon/methods.c: the methods the daemon serves.  The control server
 * looks a method up by its full name: its spec (ctl/, the same chimectl
 * uses) and its handler (daemon/method-*.c).
 */
#include <string.h>

#include "engine.h"
#include "ctl.h"
#include "daemon.h"

static const struct daemon_method *const daemon_method_tables[] = {
	daemon_methods_schedule,
	daemon_methods_run,
	daemon_methods_daemon,
	daemon_methods_account,
	daemon_methods_prefs,
	daemon_methods_budget,
	daemon_methods_batch,
	daemon_methods_webhook,
	NULL
};

/* NAME's handler, with its spec in *SPEC; NULL if the daemon has none. */
ctl_handler
daemon_method_find(const char *name, const struct ctl_method **spec)
{
	const struct daemon_method *const	*t;
	const struct daemon_method		*m;

	if ((*spec = ctl_method_find(name)) == NULL)
		return (NULL);
	for (t = daemon_method_tables; *t != NULL; t++) {
		for (m = *t; m->name != NULL; m++) {
			if (strcmp(m->name, name) == 0)
				return (m->handler);
		}
	}
	return (NULL);
}
