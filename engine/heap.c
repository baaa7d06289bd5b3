/*
 * engine/heap.c: an intrusive binary heap.  The element embeds a struct
 * heap_node, which holds its index in the heap's array of node pointers, so
 * removing or moving any element is O(log n) and costs no allocation per
 * element; the array holds one pointer per queued element.  The owner
 * orders the elements with a "before" callback and gets from a node back to
 * its element with HEAP_ENTRY.  The timers (timer.c) and the slot waiters
 * (slots.c) are the two heaps.
 */
#include <stdlib.h>

#include "engine.h"

static void	heap_place(struct heap *, struct heap_node *, size_t);
static void	heap_up(struct heap *, size_t);
static void	heap_down(struct heap *, size_t);

/* An empty heap ordered by BEFORE, whose array starts at FIRST_CAP. */
void
heap_init(struct heap *h, heap_before_fn before, size_t first_cap)
{
	h->nodes = NULL;
	h->len = 0;
	h->cap = 0;
	h->first_cap = first_cap > 0 ? first_cap : 1;
	h->before = before;
}

/* Empty H and free its array; the nodes left in it are marked idle. */
void
heap_free(struct heap *h)
{
	while (h->len > 0)
		h->nodes[--h->len]->index = HEAP_NONE;
	free(h->nodes);
	h->nodes = NULL;
	h->cap = 0;
}

void
heap_node_init(struct heap_node *n)
{
	n->index = HEAP_NONE;
}

/* 1 if N is queued in H, else 0 (also for a node of another heap). */
int
heap_contains(const struct heap *h, const struct heap_node *n)
{
	return (n->index != HEAP_NONE && n->index < h->len &&
	    h->nodes[n->index] == n);
}

size_t
heap_len(const struct heap *h)
{
	return (h->len);
}

/* The first node, or NULL if H is empty (still queued). */
struct heap_node *
heap_peek(const struct heap *h)
{
	return (h->len > 0 ? h->nodes[0] : NULL);
}

/* Queue N, which must not be queued. */
void
heap_push(struct heap *h, struct heap_node *n)
{
	if (h->len == h->cap) {
		if (h->cap >= HEAP_NONE / 2)
			fatalx("heap_push: heap full");
		h->cap = h->cap == 0 ? h->first_cap : h->cap * 2;
		h->nodes = xreallocarray(h->nodes, h->cap, sizeof *h->nodes);
	}
	heap_place(h, n, h->len++);
	heap_up(h, n->index);
}

/* Take the first node out of H, or NULL if H is empty. */
struct heap_node *
heap_pop(struct heap *h)
{
	struct heap_node	*n;

	if ((n = heap_peek(h)) != NULL)
		heap_remove(h, n);
	return (n);
}

/* Take N, which must be queued in H, out of it. */
void
heap_remove(struct heap *h, struct heap_node *n)
{
	struct heap_node	*last;
	size_t			 i = n->index;

	n->index = HEAP_NONE;
	last = h->nodes[--h->len];
	if (i == h->len)
		return;
	heap_place(h, last, i);
	heap_fix(h, last);
}

/* Move N, queued in H, to its place after its key changed. */
void
heap_fix(struct heap *h, struct heap_node *n)
{
	size_t	i = n->index;

	if (i > 0 && h->before(n, h->nodes[(i - 1) / 2]))
		heap_up(h, i);
	else
		heap_down(h, i);
}

static void
heap_place(struct heap *h, struct heap_node *n, size_t i)
{
	h->nodes[i] = n;
	n->index = (uint32_t)i;
}

static void
heap_up(struct heap *h, size_t i)
{
	struct heap_node	*n = h->nodes[i];
	size_t			 parent;

	while (i > 0) {
		parent = (i - 1) / 2;
		if (!h->before(n, h->nodes[parent]))
			break;
		heap_place(h, h->nodes[parent], i);
		i = parent;
	}
	heap_place(h, n, i);
}

static void
heap_down(struct heap *h, size_t i)
{
	struct heap_node	*n = h->nodes[i];
	size_t			 child;

	for (;;) {
		child = 2 * i + 1;
		if (child >= h->len)
			break;
		if (child + 1 < h->len &&
		    h->before(h->nodes[child + 1], h->nodes[child]))
			child++;
		if (!h->before(h->nodes[child], n))
			break;
		heap_place(h, h->nodes[child], i);
		i = child;
	}
	heap_place(h, n, i);
}
