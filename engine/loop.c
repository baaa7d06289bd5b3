/*
 * engine/loop.c: the daemon's context and its one libevent loop.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/thread.h>

#include "engine.h"

struct engine	*engine;

/* Create the loop and the runtimes every actor relies on. */
int
engine_init(void)
{
	struct event_config	*cfg;

	if (evthread_use_pthreads() == -1)
		return (-1);
	log_route_libevent();
	engine = xcalloc(1, sizeof *engine);
	engine->started_us = now_us();
	engine->max_running = 32;
	engine->drain_timeout_ms = 30000;
	engine->uid = geteuid();
	if ((cfg = event_config_new()) == NULL)
		return (-1);
	/* Timers are set in wall-clock terms; precise waits matter. */
	event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER);
	engine->base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	if (engine->base == NULL)
		return (-1);
	actor_runtime_init(engine->base);
	timer_runtime_init(engine->base);
	exec_runtime_init(engine->base);
	return (0);
}

void
engine_free(void)
{
	if (engine == NULL)
		return;
	exec_runtime_free();
	timer_runtime_free();
	slots_free();
	actor_runtime_free();
	if (engine->catalog != NULL)
		catalog_unref(engine->catalog);
	if (engine->base != NULL)
		event_base_free(engine->base);
	free(engine->data_dir);
	free(engine->catalog_path);
	free(engine);
	engine = NULL;
}

int
engine_run(void)
{
	return (event_base_dispatch(engine->base));
}

/*
 * Load the catalog from its configured source (a file, or the built-in
 * sample) and make it current.  On error the old catalog stays and *cause
 * says why.  Runs in flight keep the catalog they started with.
 */
int
engine_reload(char **cause)
{
	struct catalog	*cat;

	if (engine->catalog_path != NULL)
		cat = catalog_load_file(engine->catalog_path, cause);
	else
		cat = catalog_load_default(cause);
	if (cat == NULL)
		return (-1);
	if (engine->catalog != NULL)
		catalog_unref(engine->catalog);
	engine->catalog = cat;
	catalog_prefetch_secrets(cat);
	log_info("msg=\"catalog loaded\" source=\"%s\" operations=%zu "
	    "models=%zu", log_escape(cat->source), cat->nops, cat->nmodels);
	return (0);
}
