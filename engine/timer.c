/*
 * engine/timer.c: timers for a million actors.  The timers live in their
 * owners; the heap is an array of pointers ordered by (when, insertion), so
 * timers due at the same instant fire in the order they were set.  One
 * libevent timer is armed for the earliest entry, at most TIMER_MAX_SLEEP
 * ahead so that a step of the wall clock is noticed.
 */
#include <stdlib.h>
#include <string.h>

#include "engine.h"

#define TIMER_MAX_SLEEP	(30 * USEC_PER_SEC)

static struct timer	**heap;
static size_t		  heap_len;
static size_t		  heap_cap;
static struct event	 *timer_ev;
static int64_t		  timer_lag_us;
static uint64_t		  timer_seq;

static void	timer_cb(evutil_socket_t, short, void *);
static void	timer_arm(void);
static void	heap_up(size_t);
static void	heap_down(size_t);
static void	heap_remove(size_t);

static int
timer_before(const struct timer *a, const struct timer *b)
{
	if (a->when != b->when)
		return (a->when < b->when);
	return (a->seq < b->seq);
}

static void
heap_place(struct timer *t, size_t i)
{
	heap[i] = t;
	t->index = (uint32_t)i;
}

static void
heap_up(size_t i)
{
	struct timer	*t = heap[i];
	size_t		 parent;

	while (i > 0) {
		parent = (i - 1) / 2;
		if (!timer_before(t, heap[parent]))
			break;
		heap_place(heap[parent], i);
		i = parent;
	}
	heap_place(t, i);
}

static void
heap_down(size_t i)
{
	struct timer	*t = heap[i];
	size_t		 child;

	for (;;) {
		child = 2 * i + 1;
		if (child >= heap_len)
			break;
		if (child + 1 < heap_len &&
		    timer_before(heap[child + 1], heap[child]))
			child++;
		if (!timer_before(heap[child], t))
			break;
		heap_place(heap[child], i);
		i = child;
	}
	heap_place(t, i);
}

static void
heap_remove(size_t i)
{
	struct timer	*t = heap[i], *last;

	t->index = TIMER_NONE;
	last = heap[--heap_len];
	if (i == heap_len)
		return;
	heap_place(last, i);
	if (i > 0 && timer_before(last, heap[(i - 1) / 2]))
		heap_up(i);
	else
		heap_down(i);
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
	while (heap_len > 0)
		heap_remove(heap_len - 1);
	free(heap);
	heap = NULL;
	heap_cap = 0;
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
	t->index = TIMER_NONE;
}

int
timer_armed(const struct timer *t)
{
	return (t->index != TIMER_NONE);
}

size_t
timer_count(void)
{
	return (heap_len);
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

	was_first = heap_len > 0 && heap[0] == t;
	if (timer_armed(t))
		heap_remove(t->index);
	t->when = when;
	t->arg = arg;
	t->seq = ++timer_seq;
	if (heap_len == heap_cap) {
		heap_cap = heap_cap == 0 ? 1024 : heap_cap * 2;
		heap = xreallocarray(heap, heap_cap, sizeof *heap);
	}
	heap_place(t, heap_len++);
	heap_up(t->index);
	if (was_first || heap[0] == t)
		timer_arm();
}

void
timer_cancel(struct timer *t)
{
	int	was_first;

	if (!timer_armed(t))
		return;
	was_first = heap[0] == t;
	heap_remove(t->index);
	if (was_first)
		timer_arm();
}

static void
timer_arm(void)
{
	struct timeval	tv;
	int64_t		delay, now;

	if (timer_ev == NULL)
		return;
	if (heap_len == 0) {
		evtimer_del(timer_ev);
		return;
	}
	now = now_us();
	delay = heap[0]->when <= now ? 0 : heap[0]->when - now;
	if (delay > TIMER_MAX_SLEEP)
		delay = TIMER_MAX_SLEEP;
	tv.tv_sec = delay / USEC_PER_SEC;
	tv.tv_usec = delay % USEC_PER_SEC;
	evtimer_add(timer_ev, &tv);
}

static void
timer_cb(evutil_socket_t fd, short events, void *arg)
{
	struct timer	*t;
	int64_t		 now = now_us();

	while (heap_len > 0 && heap[0]->when <= now) {
		t = heap[0];
		heap_remove(0);
		timer_lag_us = t->when < now - INT64_MAX ? INT64_MAX :
		    now - t->when;
		actor_post(t->actor, MSG_TIMER, t->arg);
	}
	timer_arm();
}
