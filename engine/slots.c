/*
 * engine/slots.c: the global limit on operations running at once
 * (--max-running).  Work that finds no free slot waits in a heap ordered by
 * priority (higher first) raised by the time waited (waiter_before); a
 * released slot goes to the head
 * waiter, which receives MSG_SLOT.  The waiter holds a reference on its
 * actor while it waits.
 */
#include <stdlib.h>

#include "engine.h"

#define SLOTS_AGING_STEP	(30 * USEC_PER_SEC)	/* one level per 30 s */

static int			 slots_max = 32;
static int			 slots_used;
static struct slot_waiter	**wait_heap;
static size_t			  wait_len;
static size_t			  wait_cap;
static uint64_t			  wait_order;

/*
 * Who goes first: the higher effective priority, which is the priority
 * plus one level for every SLOTS_AGING_STEP waited.  As every waiter ages
 * at the same rate, comparing priority * step - since gives the same order
 * at any instant, so the heap's order never goes stale; nothing starves:
 * priority-1 work waits at most nine steps behind a stream of priority-10
 * work.  Ties go to the older.
 */
static int
waiter_before(const struct slot_waiter *a, const struct slot_waiter *b)
{
	int64_t	ka = (int64_t)a->priority * SLOTS_AGING_STEP - a->since_us;
	int64_t	kb = (int64_t)b->priority * SLOTS_AGING_STEP - b->since_us;

	if (ka != kb)
		return (ka > kb);
	return (a->order < b->order);
}

static void
wait_place(struct slot_waiter *w, size_t i)
{
	wait_heap[i] = w;
	w->heap_index = i;
}

static void
wait_up(size_t i)
{
	struct slot_waiter	*w = wait_heap[i];
	size_t			 p;

	while (i > 0) {
		p = (i - 1) / 2;
		if (!waiter_before(w, wait_heap[p]))
			break;
		wait_place(wait_heap[p], i);
		i = p;
	}
	wait_place(w, i);
}

static void
wait_down(size_t i)
{
	struct slot_waiter	*w = wait_heap[i];
	size_t			 c;

	for (;;) {
		c = 2 * i + 1;
		if (c >= wait_len)
			break;
		if (c + 1 < wait_len && waiter_before(wait_heap[c + 1],
		    wait_heap[c]))
			c++;
		if (!waiter_before(wait_heap[c], w))
			break;
		wait_place(wait_heap[c], i);
		i = c;
	}
	wait_place(w, i);
}

static void
wait_remove(size_t i)
{
	struct slot_waiter	*last;

	wait_heap[i]->heap_index = SIZE_MAX;
	last = wait_heap[--wait_len];
	if (i == wait_len)
		return;
	wait_place(last, i);
	if (i > 0 && waiter_before(last, wait_heap[(i - 1) / 2]))
		wait_up(i);
	else
		wait_down(i);
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
	while (wait_len > 0)
		slots_cancel(wait_heap[wait_len - 1]);
	free(wait_heap);
	wait_heap = NULL;
	wait_cap = 0;
}

/* Take a slot now if one is free and nobody waits; 0 on success. */
int
slots_try_acquire(void)
{
	if (slots_used >= slots_max || wait_len > 0)
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
	if (wait_len == wait_cap) {
		wait_cap = wait_cap == 0 ? 64 : wait_cap * 2;
		wait_heap = xreallocarray(wait_heap, wait_cap,
		    sizeof *wait_heap);
	}
	wait_place(w, wait_len++);
	wait_up(w->heap_index);
}

/* Leave the queue (no message will come). */
void
slots_cancel(struct slot_waiter *w)
{
	struct actor	*a = w->actor;

	if (w->heap_index == SIZE_MAX || w->heap_index >= wait_len ||
	    wait_heap[w->heap_index] != w)
		return;
	wait_remove(w->heap_index);
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
	while (slots_used < slots_max && wait_len > 0) {
		w = wait_heap[0];
		wait_remove(0);
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
	return (wait_len);
}
