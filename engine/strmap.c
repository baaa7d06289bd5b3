/*
 * engine/strmap.c: an intrusive string-keyed hash map (chained, FNV-1a,
 * power-of-two buckets, doubling at load factor 1).
 */
#include <stdlib.h>
#include <string.h>

#include "engine.h"

static uint32_t	strmap_hash(const char *);
static void	strmap_resize(struct strmap *, size_t);
static struct strmap_node *strmap_lookup(struct strmap *, const char *,
		    uint32_t);
static void	strmap_link(struct strmap *, struct strmap_node *,
		    const char *, uint32_t);

static uint32_t
strmap_hash(const char *s)
{
	uint32_t	h = 2166136261u;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 16777619u;
	}
	return (h);
}

void
strmap_init(struct strmap *m)
{
	m->nbuckets = 16;
	m->buckets = xcalloc(m->nbuckets, sizeof *m->buckets);
	m->count = 0;
}

void
strmap_clear(struct strmap *m)
{
	free(m->buckets);
	m->buckets = NULL;
	m->nbuckets = m->count = 0;
}

/* Rehash M into SIZE buckets (a power of two). */
static void
strmap_resize(struct strmap *m, size_t size)
{
	struct strmap_node	**nb, *n, *next;
	size_t			  i;

	nb = xcalloc(size, sizeof *nb);
	for (i = 0; i < m->nbuckets; i++) {
		for (n = m->buckets[i]; n != NULL; n = next) {
			next = n->next;
			n->next = nb[n->hash & (size - 1)];
			nb[n->hash & (size - 1)] = n;
		}
	}
	free(m->buckets);
	m->buckets = nb;
	m->nbuckets = size;
}

/*
 * Make room for N entries in all, so that inserting up to N rehashes
 * nothing: one resize now instead of a doubling at each power of two (the
 * load of a million schedules).
 */
void
strmap_reserve(struct strmap *m, size_t n)
{
	size_t	size;

	if (m->nbuckets == 0)
		strmap_init(m);
	for (size = m->nbuckets; size < n; size *= 2)
		;
	if (size != m->nbuckets)
		strmap_resize(m, size);
}

/* The node under KEY, whose hash is H. */
static struct strmap_node *
strmap_lookup(struct strmap *m, const char *key, uint32_t h)
{
	struct strmap_node	*n;

	for (n = m->buckets[h & (m->nbuckets - 1)]; n != NULL; n = n->next) {
		if (n->hash == h && strcmp(n->key, key) == 0)
			return (n);
	}
	return (NULL);
}

struct strmap_node *
strmap_find(struct strmap *m, const char *key)
{
	if (m->nbuckets == 0)
		return (NULL);
	return (strmap_lookup(m, key, strmap_hash(key)));
}

/* Insert NODE under KEY (borrowed); -1 if the key is present already. */
int
strmap_insert(struct strmap *m, struct strmap_node *node, const char *key)
{
	uint32_t	h;

	if (m->nbuckets == 0)
		strmap_init(m);
	h = strmap_hash(key);
	if (strmap_lookup(m, key, h) != NULL)
		return (-1);
	strmap_link(m, node, key, h);
	return (0);
}

/*
 * Insert NODE under KEY (borrowed), which the caller knows is not in M
 * (the keys of a table walked once): no lookup, so no visit of the
 * bucket's chain.
 */
void
strmap_insert_new(struct strmap *m, struct strmap_node *node,
    const char *key)
{
	if (m->nbuckets == 0)
		strmap_init(m);
	strmap_link(m, node, key, strmap_hash(key));
}

/*
 * Start reading KEY's bucket from memory (STAGE 0), or the first node of
 * its chain once the bucket was read (STAGE 1): a walk that inserts many
 * keys asks for them some keys ahead, so that a lookup's misses overlap.
 */
void
strmap_prefetch(const struct strmap *m, const char *key, int stage)
{
	struct strmap_node	*const *b;

	if (m->nbuckets == 0)
		return;
	b = &m->buckets[strmap_hash(key) & (m->nbuckets - 1)];
	if (stage == 0)
		__builtin_prefetch(b);
	else if (*b != NULL)
		__builtin_prefetch(*b);
}

/* Put NODE, under KEY of hash H, at the head of its bucket. */
static void
strmap_link(struct strmap *m, struct strmap_node *node, const char *key,
    uint32_t h)
{
	size_t	b;

	if (m->count >= m->nbuckets)
		strmap_resize(m, m->nbuckets * 2);
	node->key = key;
	node->hash = h;
	b = h & (m->nbuckets - 1);
	node->next = m->buckets[b];
	m->buckets[b] = node;
	m->count++;
}

void
strmap_remove(struct strmap *m, struct strmap_node *node)
{
	struct strmap_node	**pp;

	if (m->nbuckets == 0)
		return;
	pp = &m->buckets[node->hash & (m->nbuckets - 1)];
	for (; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == node) {
			*pp = node->next;
			node->next = NULL;
			m->count--;
			return;
		}
	}
}

void
strmap_foreach(struct strmap *m, void (*cb)(struct strmap_node *, void *),
    void *arg)
{
	struct strmap_node	*n, *next;
	size_t			 i;

	for (i = 0; i < m->nbuckets; i++) {
		for (n = m->buckets[i]; n != NULL; n = next) {
			next = n->next;
			cb(n, arg);
		}
	}
}
