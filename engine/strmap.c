/*
 * engine/strmap.c: an intrusive string-keyed hash map (chained, FNV-1a,
 * power-of-two buckets, doubling at load factor 1).
 */
#include <stdlib.h>
#include <string.h>

#include "engine.h"

static uint32_t	strmap_hash(const char *);
static void	strmap_grow(struct strmap *);

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

static void
strmap_grow(struct strmap *m)
{
	struct strmap_node	**nb, *n, *next;
	size_t			  i, size = m->nbuckets * 2;

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

struct strmap_node *
strmap_find(struct strmap *m, const char *key)
{
	struct strmap_node	*n;
	uint32_t		 h;

	if (m->nbuckets == 0)
		return (NULL);
	h = strmap_hash(key);
	for (n = m->buckets[h & (m->nbuckets - 1)]; n != NULL; n = n->next) {
		if (n->hash == h && strcmp(n->key, key) == 0)
			return (n);
	}
	return (NULL);
}

/* Insert NODE under KEY (borrowed); -1 if the key is present already. */
int
strmap_insert(struct strmap *m, struct strmap_node *node, const char *key)
{
	size_t	b;

	if (m->nbuckets == 0)
		strmap_init(m);
	if (strmap_find(m, key) != NULL)
		return (-1);
	if (m->count >= m->nbuckets)
		strmap_grow(m);
	node->key = key;
	node->hash = strmap_hash(key);
	b = node->hash & (m->nbuckets - 1);
	node->next = m->buckets[b];
	m->buckets[b] = node;
	m->count++;
	return (0);
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
