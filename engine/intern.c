/*
 * engine/intern.c: shared copies of strings that many objects hold alike
 * (a schedule's account, operation, model and parameters: a million
 * schedules name a few of each).  A string held once costs more here than
 * its own allocation: intern only what is shared.  intern() returns the one
 * copy of a string, counted; intern_drop() gives a reference back and
 * frees the copy with its last.  A string from intern() must never be
 * passed to free(), nor changed.  The loop thread's only, but while
 * intern_share(1) holds (the loop waits on workers that intern too, as
 * schedule.apply's do) every call takes a lock.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"

/* One shared string: its node in the pool (keyed by S), its references. */
struct intern {
	struct strmap_node	 node;
	uint32_t		 refs;
	char			 s[];
};

#define INTERN_OF(p) \
	((struct intern *)((char *)(p) - offsetof(struct intern, s)))

static struct strmap	pool;
/* Held a few dozen instructions at a time: one that spins a while before
 * it sleeps (half the time of a plain one for apply's two threads). */
static pthread_mutex_t	pool_lock = PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP;
static int		pool_shared;

/*
 * ON: other threads intern too from now on, until intern_share(0).  The
 * loop's, called while no other thread can intern (before it starts the
 * threads that will, after it has joined them).
 */
void
intern_share(int on)
{
	pool_shared = on;
}

static void
intern_lock(void)
{
	if (pool_shared)
		pthread_mutex_lock(&pool_lock);
}

static void
intern_unlock(void)
{
	if (pool_shared)
		pthread_mutex_unlock(&pool_lock);
}

/* The shared copy of S (NULL: NULL), one more reference to it. */
char *
intern(const char *s)
{
	struct strmap_node	*n;
	struct intern		*e;
	size_t			 len;

	if (s == NULL)
		return (NULL);
	intern_lock();
	if ((n = strmap_find(&pool, s)) != NULL) {
		e = (struct intern *)n;
		if (e->refs == UINT32_MAX)
			fatalx("intern: too many references");
		e->refs++;
		intern_unlock();
		return (e->s);
	}
	len = strlen(s);
	e = xmalloc(sizeof *e + len + 1);
	memcpy(e->s, s, len + 1);
	e->refs = 1;
	strmap_insert(&pool, &e->node, e->s);
	intern_unlock();
	return (e->s);
}

/* The shared copy of the LEN bytes at P (no NUL among them). */
char *
intern_n(const char *p, size_t len)
{
	char	 buf[128], *tmp, *s;

	if (len < sizeof buf) {
		memcpy(buf, p, len);
		buf[len] = '\0';
		return (intern(buf));
	}
	tmp = xstrndup(p, len);
	s = intern(tmp);
	free(tmp);
	return (s);
}

/* One more reference to S, a string from intern (NULL: NULL). */
char *
intern_ref(char *s)
{
	struct intern	*e;

	if (s == NULL)
		return (NULL);
	e = INTERN_OF(s);
	intern_lock();
	if (e->refs == UINT32_MAX)
		fatalx("intern: too many references");
	e->refs++;
	intern_unlock();
	return (s);
}

/* Give back a reference to S (from intern; NULL: nothing). */
void
intern_drop(char *s)
{
	struct intern	*e;

	if (s == NULL)
		return;
	e = INTERN_OF(s);
	intern_lock();
	if (--e->refs > 0) {
		intern_unlock();
		return;
	}
	strmap_remove(&pool, &e->node);
	intern_unlock();
	free(e);
}

/* How many distinct strings are shared. */
size_t
intern_count(void)
{
	return (pool.count);
}
