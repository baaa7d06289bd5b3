/*
 * engine/executor.c: the table of executors, one entry per enum
 * executor_kind, and the calls a run makes through it.  A caller starts an
 * operation with executor_start and holds the struct job it returns; the
 * job names its executor, so aborting it needs no branch on the kind.  The
 * catalog spells each executor with the name in this table.
 */
#include <sys/types.h>

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "engine.h"

static const struct executor *executors[EXECUTOR_MAX] = {
	[EXECUTOR_EXEC] = &exec_executor,
	[EXECUTOR_HTTP] = &http_executor,
};

/* The executor of KIND, or NULL for a kind outside the table. */
const struct executor *
executor_find(enum executor_kind kind)
{
	if ((unsigned)kind >= EXECUTOR_MAX)
		return (NULL);
	return (executors[kind]);
}

/* The kind whose executor is called NAME: 0, or -1 if none is. */
int
executor_lookup(const char *name, enum executor_kind *kind)
{
	int	i;

	for (i = 0; i < EXECUTOR_MAX; i++) {
		if (strcmp(executors[i]->name, name) == 0) {
			*kind = (enum executor_kind)i;
			return (0);
		}
	}
	return (-1);
}

/*
 * Start attempt ATTEMPT of OP for REQ on OP's executor.  Returns the job,
 * whose CB runs once on the loop when it ends; or NULL with *cause set
 * when nothing was started.
 */
struct job *
executor_start(const struct operation *op, const struct exec_request *req,
    int attempt, exec_done_cb cb, void *arg, char **cause)
{
	const struct executor	*e;

	if ((e = executor_find(op->executor)) == NULL) {
		xasprintf(cause, "operation %s has no executor", op->id);
		return (NULL);
	}
	return (e->start(op, req, attempt, cb, arg, cause));
}

/* Abort JOB (NULL: nothing); its callback says CANCELLED, once. */
void
executor_abort(struct job *job)
{
	if (job != NULL)
		job->executor->abort(job);
}

/* Jobs started and not yet ended, over every executor. */
int
executor_running(void)
{
	int	i, n = 0;

	for (i = 0; i < EXECUTOR_MAX; i++)
		n += executors[i]->running();
	return (n);
}
