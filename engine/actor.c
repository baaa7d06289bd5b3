/*
 * engine/actor.c: the actor runtime.  Actors with mail wait on one run
 * queue; a single libevent event drains it.  Each actor handles at most
 * ACTOR_TURN messages per turn and then goes to the back of the queue, and
 * one pass of the event handles at most the actors queued when it began, so
 * I/O and timers run between passes.  Actors whose last reference is dropped
 * are freed at the end of a pass, never inside their own handler.
 */
#include <stdlib.h>
#include <string.h>

#include "engine.h"

#define ACTOR_TURN	16

TAILQ_HEAD(actor_list, actor);

static struct event		*actor_run_ev;
static struct actor_list	 actor_runq = TAILQ_HEAD_INITIALIZER(actor_runq);
static struct actor_list	 actor_dead = TAILQ_HEAD_INITIALIZER(actor_dead);
static size_t			 actor_nqueued;

static void	actor_run_cb(evutil_socket_t, short, void *);
static void	actor_wake(void);
static void	actor_reap(void);
static void	actor_drop_mail(struct actor *);

void
actor_runtime_init(struct event_base *base)
{
	actor_run_ev = event_new(base, -1, 0, actor_run_cb, NULL);
	if (actor_run_ev == NULL)
		fatalx("actor_runtime_init: event_new failed");
}

void
actor_runtime_free(void)
{
	struct actor	*a;

	while ((a = TAILQ_FIRST(&actor_runq)) != NULL) {
		TAILQ_REMOVE(&actor_runq, a, runq);
		a->flags &= ~ACTOR_QUEUED;
		actor_drop_mail(a);
		actor_unref(a);
	}
	actor_reap();
	if (actor_run_ev != NULL)
		event_free(actor_run_ev);
	actor_run_ev = NULL;
}

/* Messages waiting in every mailbox (for drain and status). */
size_t
actor_runtime_pending(void)
{
	return (actor_nqueued);
}

void
actor_init(struct actor *a, const struct actor_type *type)
{
	a->type = type;
	a->refs = 1;
	a->flags = 0;
	STAILQ_INIT(&a->mailbox);
}

void
actor_ref(struct actor *a)
{
	a->refs++;
}

/* Drop a reference; the last one schedules the free for the end of the
 * current pass (or the next one). */
void
actor_unref(struct actor *a)
{
	if (a->refs == 0)
		fatalx("actor_unref: %s actor has no references", a->type->name);
	if (--a->refs > 0)
		return;
	actor_drop_mail(a);
	a->flags |= ACTOR_FREEING;
	TAILQ_INSERT_TAIL(&actor_dead, a, runq);
	actor_wake();
}

/* Mark the actor dead: pending and future mail is dropped. */
void
actor_kill(struct actor *a)
{
	a->flags |= ACTOR_DEAD;
	actor_drop_mail(a);
}

struct msg *
msg_create(int type, uint64_t arg, void *ptr, void (*ptr_free)(void *))
{
	struct msg	*m;

	m = xmalloc(sizeof *m);
	m->type = type;
	m->arg = arg;
	m->ptr = ptr;
	m->ptr_free = ptr_free;
	return (m);
}

void
msg_free(struct msg *m)
{
	if (m == NULL)
		return;
	if (m->ptr != NULL && m->ptr_free != NULL)
		m->ptr_free(m->ptr);
	free(m);
}

/* Hand MSG to actor A; it is handled on a later pass of the loop. */
void
actor_send(struct actor *a, struct msg *m)
{
	if (a->flags & (ACTOR_DEAD | ACTOR_FREEING)) {
		msg_free(m);
		return;
	}
	STAILQ_INSERT_TAIL(&a->mailbox, m, entry);
	actor_nqueued++;
	if ((a->flags & ACTOR_QUEUED) == 0) {
		a->flags |= ACTOR_QUEUED;
		actor_ref(a);
		TAILQ_INSERT_TAIL(&actor_runq, a, runq);
	}
	actor_wake();
}

void
actor_post(struct actor *a, int type, uint64_t arg)
{
	actor_send(a, msg_create(type, arg, NULL, NULL));
}

static void
actor_wake(void)
{
	struct timeval	tv = { 0, 0 };

	if (actor_run_ev != NULL && !event_pending(actor_run_ev, EV_TIMEOUT,
	    NULL))
		event_add(actor_run_ev, &tv);
}

static void
actor_drop_mail(struct actor *a)
{
	struct msg	*m;

	while ((m = STAILQ_FIRST(&a->mailbox)) != NULL) {
		STAILQ_REMOVE_HEAD(&a->mailbox, entry);
		actor_nqueued--;
		if (m->type == MSG_SLOT)
			slots_release();
		msg_free(m);
	}
}

static void
actor_reap(void)
{
	struct actor	*a;

	while ((a = TAILQ_FIRST(&actor_dead)) != NULL) {
		TAILQ_REMOVE(&actor_dead, a, runq);
		a->type->free(a);
	}
}

/* Handle up to ACTOR_TURN messages of one actor; requeue it if it has more. */
static void
actor_turn(struct actor *a)
{
	struct msg	*m;
	int		 n;

	for (n = 0; n < ACTOR_TURN; n++) {
		if (a->flags & ACTOR_DEAD)
			break;
		if ((m = STAILQ_FIRST(&a->mailbox)) == NULL)
			break;
		STAILQ_REMOVE_HEAD(&a->mailbox, entry);
		actor_nqueued--;
		a->type->handle(a, m);
		msg_free(m);
	}
	if (!STAILQ_EMPTY(&a->mailbox) && (a->flags & ACTOR_DEAD) == 0) {
		TAILQ_INSERT_TAIL(&actor_runq, a, runq);
		return;
	}
	a->flags &= ~ACTOR_QUEUED;
	actor_unref(a);
}

static void
actor_run_cb(evutil_socket_t fd, short events, void *arg)
{
	struct actor	*a, *last;

	last = TAILQ_LAST(&actor_runq, actor_list);
	while (last != NULL && (a = TAILQ_FIRST(&actor_runq)) != NULL) {
		TAILQ_REMOVE(&actor_runq, a, runq);
		actor_turn(a);
		if (a == last)
			break;
	}
	actor_reap();
	if (!TAILQ_EMPTY(&actor_runq))
		actor_wake();
}
