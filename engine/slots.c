/*
 * engine/slots.c: the global limit on operations running at once
 * (--max-running).  Work that finds no free slot waits in a heap ordered by
 * priority (higher first) raised by the time waited (waiter_before; the
 * heap is heap.c's); a released slot goes to the head waiter, which
 * receives MSG_SLOT.  The waiter holds a reference on its
 * actor while it waits.
 */
#include <stdlib.h>

#include "engine.h"

#define SLOTS_AGING_STEP	(30 * USEC_PER_SEC)	/* one level per 30 s */

static int	waiter_before(const struct heap_node *,
		    const struct heap_node *);

static int		 slots_max = 32;
static int		 slots_used;
static struct heap	 waiters = HEAP_INITIALIZER(waiter_before, 64);
static uint64_t		 wait_order;

#define WAITER(n)	HEAP_ENTRY(n, struct slot_waiter, node)

/*
 * Who goes first: the higher effective priority, which is the priority
 * plus one level for every SLOTS_AGING_STEP waited.  As every waiter ages
 * at the same rate, comparing priority * step - since gives the same order
 * at any instant, so the heap's order never goes stale; nothing starves:
 * priority-1 work waits at most nine steps behind a stream of priority-10
 * work.  Ties go to the older.
 */
static int
waiter_before(const struct heap_node *na, const struct heap_node *nb)
{
	const struct slot_waiter	*a = WAITER(na), *b = WAITER(nb);
	int64_t	ka = (int64_t)a->priority * SLOTS_AGING_STEP - a->since_us;
	int64_t	kb = (int64_t)b->priority * SLOTS_AGING_STEP - b->since_us;

	if (ka != kb)
		return (ka > kb);
	return (a->order < b->order);
}

void
slots_init(int max)
{
	slots_max = max > 0 ? max : 1;
	slots_used = 0;
}

void
slots_free(void)
{
	struct heap_node	*n;

	while ((n = heap_peek(&waiters)) != NULL)
		slots_cancel(WAITER(n));
	heap_free(&waiters);
}

/* A waiter that is not waiting. */
void
slots_waiter_init(struct slot_waiter *w)
{
	w->actor = NULL;
	heap_node_init(&w->node);
}

/* Take a slot now if one is free and nobody waits; 0 on success. */
int
slots_try_acquire(void)
{
	if (slots_used >= slots_max || heap_len(&waiters) > 0)
		return (-1);
	slots_used++;
	return (0);
}

/* Queue W for a slot; ACTOR gets MSG_SLOT with ARG when it is granted (the
 * slot is then already taken for it). */
void
slots_wait(struct slot_waiter *w, struct actor *a, uint64_t arg, int priority)
{
	slots_wait_since(w, a, arg, priority, now_us());
}

/* slots_wait for a waiter that has been waiting since SINCE (its age
 * counts from then). */
void
slots_wait_since(struct slot_waiter *w, struct actor *a, uint64_t arg,
    int priority, int64_t since)
{
	w->actor = a;
	w->arg = arg;
	w->priority = priority;
	w->since_us = since;
	w->order = ++wait_order;
	actor_ref(a);
	heap_push(&waiters, &w->node);
}

/* Leave the queue (no message will come). */
void
slots_cancel(struct slot_waiter *w)
{
	struct actor	*a = w->actor;

	if (!heap_contains(&waiters, &w->node))
		return;
	heap_remove(&waiters, &w->node);
	w->actor = NULL;
	actor_unref(a);
}

/* Give a slot back; the head waiter, if any, is granted it. */
void
slots_release(void)
{
	struct slot_waiter	*w;
	struct actor		*a;

	if (slots_used > 0)
		slots_used--;
	while (slots_used < slots_max && heap_len(&waiters) > 0) {
		w = WAITER(heap_pop(&waiters));
		a = w->actor;
		w->actor = NULL;
		if ((a->flags & (ACTOR_DEAD | ACTOR_FREEING)) == 0) {
			slots_used++;
			actor_post(a, MSG_SLOT, w->arg);
		}
		actor_unref(a);
	}
}

int
slots_in_use(void)
{
	return (slots_used);
}

size_t
slots_waiting(void)
{
	return (heap_len(&waiters));
}
