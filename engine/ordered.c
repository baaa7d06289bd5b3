/*
 * engine/ordered.c: ordered work on more than one core.  The caller hands
 * items in order, one slot each (ordered_next).  A worker thread works
 * them, a chunk at a time, and so does the caller whenever it would
 * otherwise wait; then the caller finishes each item, on its own thread,
 * in the order it gave them.  WORK may run on any thread and must touch
 * nothing but its slot and what it allocates; FINISH runs where the
 * caller runs and may touch anything.
 *
 * The slots are a ring of ORDERED_CHUNKS chunks of ORDERED_CHUNK slots:
 * when the ring is full the caller works or finishes before it takes a
 * new slot, so the memory held is fixed however many items come.  Without
 * a second core (or with no worker asked for) the caller does it all, in
 * the same order.
 */
#include <sched.h>
#include <signal.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine.h"

#define ORDERED_CHUNK		256	/* slots a chunk holds */
#define ORDERED_CHUNKS		64	/* chunks in the ring */
#define ORDERED_MAX_WORKERS	3

enum ordered_state {
	CHUNK_FREE,		/* being filled, or empty */
	CHUNK_READY,		/* filled: to be worked */
	CHUNK_WORKING,
	CHUNK_WORKED,		/* to be finished, in order */
};

struct ordered_chunk {
	enum ordered_state	 state;
	size_t			 n;	/* slots used */
	char			*slots;
};

struct ordered {
	size_t			 size;		/* bytes a slot */
	void			(*work)(void *, void *);
	void			(*finish)(void *, void *);
	void			*arg;
	struct ordered_chunk	 chunks[ORDERED_CHUNKS];
	/* Chunk numbers, each counted from 0 (the ring's place is the
	 * number modulo ORDERED_CHUNKS): done <= next_work <= fill. */
	size_t			 fill;		/* being filled */
	size_t			 next_work;	/* next to be worked */
	size_t			 done;		/* next to be finished */
	pthread_mutex_t		 mtx;
	pthread_cond_t		 cond;
	pthread_t		 threads[ORDERED_MAX_WORKERS];
	int			 nthreads;
	int			 stop;
};

static void	*ordered_main(void *);
static void	 ordered_step(struct ordered *);
static void	 ordered_work_next(struct ordered *);

/* The worker threads to start: one less than the cores this process may
 * run on (its CPU affinity: taskset, a cpuset), at most
 * ORDERED_MAX_WORKERS. */
int
ordered_workers(void)
{
	cpu_set_t	set;
	long		n;

	if (sched_getaffinity(0, sizeof set, &set) == 0)
		n = CPU_COUNT(&set);
	else
		n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n <= 1)
		return (0);
	return (n - 1 > ORDERED_MAX_WORKERS ? ORDERED_MAX_WORKERS :
	    (int)n - 1);
}

/*
 * Ordered work on slots of SIZE bytes: WORK(slot, ARG) on any thread,
 * FINISH(slot, ARG) (if not NULL) on the caller's, in order.  WORKERS
 * threads at most (-1: ordered_workers(); 0: the caller alone).  Threads
 * that cannot be started leave their share to the caller.
 */
struct ordered *
ordered_start(size_t size, void (*work)(void *, void *),
    void (*finish)(void *, void *), void *arg, int workers)
{
	struct ordered	*o;
	sigset_t	 all, old;
	int		 i;

	o = xcalloc(1, sizeof *o);
	o->size = size;
	o->work = work;
	o->finish = finish;
	o->arg = arg;
	for (i = 0; i < ORDERED_CHUNKS; i++)
		o->chunks[i].slots = xcalloc(ORDERED_CHUNK, size);
	pthread_mutex_init(&o->mtx, NULL);
	pthread_cond_init(&o->cond, NULL);
	if (workers < 0)
		workers = ordered_workers();
	if (workers > ORDERED_MAX_WORKERS)
		workers = ORDERED_MAX_WORKERS;
	/* The workers take no signal: the loop's thread handles them. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (i = 0; i < workers; i++) {
		if (pthread_create(&o->threads[o->nthreads], NULL,
		    ordered_main, o) != 0)
			break;
		o->nthreads++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return (o);
}

/* A worker: works ready chunks, in order of filling, until told to stop
 * with none left. */
static void *
ordered_main(void *arg)
{
	struct ordered	*o = arg;

	pthread_mutex_lock(&o->mtx);
	for (;;) {
		if (o->next_work < o->fill) {
			ordered_work_next(o);
			pthread_cond_broadcast(&o->cond);
		} else if (o->stop)
			break;
		else
			pthread_cond_wait(&o->cond, &o->mtx);
	}
	pthread_mutex_unlock(&o->mtx);
	return (NULL);
}

/* Work the next ready chunk (there is one), the lock held before and
 * after but not meanwhile. */
static void
ordered_work_next(struct ordered *o)
{
	struct ordered_chunk	*c;
	size_t			 i;

	c = &o->chunks[o->next_work++ % ORDERED_CHUNKS];
	c->state = CHUNK_WORKING;
	pthread_mutex_unlock(&o->mtx);
	for (i = 0; i < c->n; i++)
		o->work(c->slots + i * o->size, o->arg);
	pthread_mutex_lock(&o->mtx);
	c->state = CHUNK_WORKED;
}

/*
 * The caller's share, once: finish the oldest chunk if it is worked, else
 * work the next ready chunk, else wait for a worker to end one.
 */
static void
ordered_step(struct ordered *o)
{
	struct ordered_chunk	*c;
	size_t			 i;

	pthread_mutex_lock(&o->mtx);
	for (;;) {
		c = &o->chunks[o->done % ORDERED_CHUNKS];
		if (o->done < o->fill && c->state == CHUNK_WORKED) {
			pthread_mutex_unlock(&o->mtx);
			for (i = 0; o->finish != NULL && i < c->n; i++)
				o->finish(c->slots + i * o->size, o->arg);
			memset(c->slots, 0, c->n * o->size);
			c->n = 0;
			pthread_mutex_lock(&o->mtx);
			c->state = CHUNK_FREE;
			o->done++;
			break;
		}
		if (o->next_work < o->fill) {
			ordered_work_next(o);
			continue;
		}
		pthread_cond_wait(&o->cond, &o->mtx);
	}
	pthread_mutex_unlock(&o->mtx);
}

/* Hand the chunk being filled to the workers. */
static void
ordered_publish(struct ordered *o)
{
	pthread_mutex_lock(&o->mtx);
	o->chunks[o->fill % ORDERED_CHUNKS].state = CHUNK_READY;
	o->fill++;
	pthread_cond_broadcast(&o->cond);
	pthread_mutex_unlock(&o->mtx);
}

/*
 * The slot of the next item, zeroed: the caller fills it before it calls
 * ordered_next or ordered_end again.  Items before it may be worked and
 * finished meanwhile.
 */
void *
ordered_next(struct ordered *o)
{
	struct ordered_chunk	*c = &o->chunks[o->fill % ORDERED_CHUNKS];

	if (c->n == ORDERED_CHUNK) {
		ordered_publish(o);
		/* fill and done only move on this thread */
		while (o->fill - o->done >= ORDERED_CHUNKS)
			ordered_step(o);
		c = &o->chunks[o->fill % ORDERED_CHUNKS];
	}
	return (c->slots + c->n++ * o->size);
}

/* Hand the items given so far to the workers now (ordered_next hands a
 * chunk on when it is full): work that the caller does meanwhile runs
 * beside theirs. */
void
ordered_flush(struct ordered *o)
{
	if (o->chunks[o->fill % ORDERED_CHUNKS].n == 0)
		return;
	ordered_publish(o);
	while (o->fill - o->done >= ORDERED_CHUNKS)
		ordered_step(o);
}

/* Work and finish every item given, stop the workers, free O. */
void
ordered_end(struct ordered *o)
{
	int	i;

	if (o->chunks[o->fill % ORDERED_CHUNKS].n > 0)
		ordered_publish(o);
	while (o->done < o->fill)
		ordered_step(o);
	pthread_mutex_lock(&o->mtx);
	o->stop = 1;
	pthread_cond_broadcast(&o->cond);
	pthread_mutex_unlock(&o->mtx);
	for (i = 0; i < o->nthreads; i++)
		pthread_join(o->threads[i], NULL);
	pthread_mutex_destroy(&o->mtx);
	pthread_cond_destroy(&o->cond);
	for (i = 0; i < ORDERED_CHUNKS; i++)
		free(o->chunks[i].slots);
	free(o);
}

/* The threads working beside the caller. */
int
ordered_threads(const struct ordered *o)
{
	return (o->nthreads);
}
