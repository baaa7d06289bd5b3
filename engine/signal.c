/*
 * engine/signal.c: SIGTERM and SIGINT start a drain, SIGHUP reloads the
 * catalog; SIGPIPE is ignored (a closed peer is an error return).  The
 * handlers run on the loop through libevent, never in signal context.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"

static struct event	*sig_term;
static struct event	*sig_int;
static struct event	*sig_hup;
static void		(*sig_drain_cb)(void);
static void		(*sig_reload_cb)(void);

static void
signal_cb(evutil_socket_t sig, short events, void *arg)
{
	switch (sig) {
	case SIGTERM:
	case SIGINT:
		log_info("msg=\"signal received, draining\" signal=%d",
		    (int)sig);
		if (sig_drain_cb != NULL)
			sig_drain_cb();
		break;
	case SIGHUP:
		log_info("msg=\"SIGHUP received, reloading catalog\"");
		if (sig_reload_cb != NULL)
			sig_reload_cb();
		break;
	}
}

void
signal_init(struct event_base *base, void (*drain)(void), void (*reload)(void))
{
	struct sigaction	sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sig_drain_cb = drain;
	sig_reload_cb = reload;
	sig_term = evsignal_new(base, SIGTERM, signal_cb, NULL);
	sig_int = evsignal_new(base, SIGINT, signal_cb, NULL);
	sig_hup = evsignal_new(base, SIGHUP, signal_cb, NULL);
	if (sig_term == NULL || sig_int == NULL || sig_hup == NULL ||
	    evsignal_add(sig_term, NULL) == -1 ||
	    evsignal_add(sig_int, NULL) == -1 ||
	    evsignal_add(sig_hup, NULL) == -1)
		fatalx("signal_init: cannot install signal events");
}

void
signal_free(void)
{
	if (sig_term != NULL)
		event_free(sig_term);
	if (sig_int != NULL)
		event_free(sig_int);
	if (sig_hup != NULL)
		event_free(sig_hup);
	sig_term = sig_int = sig_hup = NULL;
}
