/*
 * engine/timer.c: timers for a million actors.  The timers live in their
 * owners; the heap (heap.c) orders them by (when, insertion), so
 * timers due at the same instant fire in the order they were set (the
 * order is a 32-bit serial number: of two timers set more than 2^31 sets
 * apart, either may come first; never one due later).  One
 * libevent timer is armed for the earliest entry, at most TIMER_MAX_SLEEP
 * ahead so that a step of the wall clock is noticed.  One callback fires
 * at most TIMER_BURST timers, then lets the loop run (the actors they woke
 * among them) before the next ones: 10,000 timers due at one instant
 * neither hold the loop for milliseconds nor keep the first of them from
 * being handled until the last has fired.
 */
#include <stdlib.h>
#include <string.h>

#include "engine.h"

#define TIMER_MAX_SLEEP	(30 * USEC_PER_SEC)
#define TIMER_BURST	256

static int	timer_before(const struct heap_node *, const struct heap_node *);
static void	timer_cb(evutil_socket_t, short, void *);
static void	timer_arm(void);

static struct heap	 timers = HEAP_INITIALIZER(timer_before, 1024);
static struct event	*timer_ev;
static int64_t		 timer_lag_us;
static uint32_t		 timer_seq;

#define TIMER(n)	HEAP_ENTRY(n, struct timer, node)

/* The heap's order: by instant, then by the order they were set. */
static int
timer_before(const struct heap_node *na, const struct heap_node *nb)
{
	const struct timer	*a = TIMER(na), *b = TIMER(nb);

	if (a->when != b->when)
		return (a->when < b->when);
	return ((int32_t)(a->seq - b->seq) < 0);
}

void
timer_runtime_init(struct event_base *base)
{
	timer_ev = evtimer_new(base, timer_cb, NULL);
	if (timer_ev == NULL)
		fatalx("timer_runtime_init: evtimer_new failed");
}

void
timer_runtime_free(void)
{
	heap_free(&timers);
	if (timer_ev != NULL)
		event_free(timer_ev);
	timer_ev = NULL;
}

void
timer_init(struct timer *t, struct actor *a)
{
	t->when = 0;
	t->arg = 0;
	t->actor = a;
	heap_node_init(&t->node);
}

int
timer_armed(const struct timer *t)
{
	return (t->node.index != HEAP_NONE);
}

size_t
timer_count(void)
{
	return (heap_len(&timers));
}

/* The lag of the most recent firing: now minus the timer's instant. */
int64_t
timer_last_lag_us(void)
{
	return (timer_lag_us);
}

/* Arm (or re-arm) T to post MSG_TIMER with ARG to its actor at WHEN. */
void
timer_set(struct timer *t, int64_t when, uint64_t arg)
{
	int	was_first;

	was_first = heap_peek(&timers) == &t->node;
	t->when = when;
	t->arg = arg;
	t->seq = ++timer_seq;
	if (timer_armed(t))
		heap_fix(&timers, &t->node);
	else
		heap_push(&timers, &t->node);
	if (was_first || heap_peek(&timers) == &t->node)
		timer_arm();
}

void
timer_cancel(struct timer *t)
{
	int	was_first;

	if (!timer_armed(t))
		return;
	was_first = heap_peek(&timers) == &t->node;
	heap_remove(&timers, &t->node);
	if (was_first)
		timer_arm();
}

static void
timer_arm(void)
{
	struct heap_node	*first;
	int64_t			 delay, now, when;

	if (timer_ev == NULL)
		return;
	if ((first = heap_peek(&timers)) == NULL) {
		evtimer_del(timer_ev);
		return;
	}
	now = now_us();
	when = TIMER(first)->when;
	delay = when <= now ? 0 : when - now;
	if (delay > TIMER_MAX_SLEEP)
		delay = TIMER_MAX_SLEEP;
	timeout_add_us(timer_ev, delay);
}

static void
timer_cb(evutil_socket_t fd, short events, void *arg)
{
	struct heap_node	*first;
	struct timer		*t;
	int64_t			 now = now_us();
	int			 n = 0;

	while (n++ < TIMER_BURST && (first = heap_peek(&timers)) != NULL &&
	    TIMER(first)->when <= now) {
		t = TIMER(first);
		heap_remove(&timers, first);
		timer_lag_us = t->when < now - INT64_MAX ? INT64_MAX :
		    now - t->when;
		actor_post(t->actor, MSG_TIMER, t->arg);
	}
	timer_arm();
}
