/*
 * journal/journal.c: the journal as the loop sees it: open, submit,
 * completions, reads and verification.
 *
 * Submitted records go on a queue (mtx, work_cond) that the writer thread
 * (writer.c) empties.  The writer appends each transaction's outcomes to
 * the done queue and, if the loop was not told yet, writes one byte to a
 * pipe watched by a persistent libevent event on the loop's base.  The
 * loop then moves the done queue to its own ready queue and runs the
 * callbacks one by one, in submit order (which is seq order), at most
 * JOURNAL_DISPATCH_TURN a turn of the loop.  journal_flush waits on
 * done_cond instead of the pipe and runs them all.
 */
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine.h"
#include "journal.h"

#define JOURNAL_DISPATCH_TURN	128	/* outcomes delivered a turn */

struct journal_tail {
	uint64_t	 last;
	int		 have_prev;
	uint8_t		 prev[JOURNAL_HASH_LEN];
	int		 have_last;
	uint8_t		 hash[JOURNAL_HASH_LEN];
	void		*rec;
	size_t		 len;
	int64_t		 time_us;	/* of the last record */
};

/*
 * A check of a walk's entries on more than one core (ordered.c): each
 * entry is scanned (record_scan) and hashed on any thread, the stored
 * hash of the entry before standing for prev (as c->computed says), then
 * checked in order by journal_check_entry on the caller's.  The walk's
 * first entry is hashed in order, from C's prev.  After a bad entry the
 * walk stops and what was handed on is dropped.
 */
struct check_walk {
	struct journal_check	*c;
	struct ordered		*ord;
	const uint8_t		*prev;	/* stored hash of the entry before */
	int			 stop;
};

struct check_slot {
	struct journal_entry	 e;
	const uint8_t		*prev;	/* NULL: hash in order */
	int			 scanned;
	struct record		 rec;	/* the header, if scanned */
	uint8_t			 chain[JOURNAL_HASH_LEN];
};

/* The check at open: from meta's verified point FROM (whose stored hash
 * must be HASH) to the tail. */
struct journal_startcheck {
	struct journal_check	 c;
	struct check_walk	 walk;	/* the entries after FROM */
	uint64_t		 from;
	uint8_t			 hash[JOURNAL_HASH_LEN];
	int			 first;		/* entry FROM is next */
	int			 window;	/* FROM's stored hash is trusted */
};

/*
 * At open, at most this many records are checked before the daemon goes
 * on (a few hundred ms); with more since the point verified earlier, the
 * open checks the last ones and the scrub starts at once for the rest.
 */
#define JOURNAL_START_CHECK_MAX	100000

static int	 journal_check_tail(struct journal *, char **);
static int	 journal_tail_entry(const struct journal_entry *, void *);
static int	 journal_tail_record(struct journal_tail *,
		     const struct journal_meta *, char **);
static void	 journal_wake(evutil_socket_t, short, void *);
static void	 journal_collect(struct journal *);
static void	 journal_dispatch(struct journal *, size_t);
static void	 journal_compact_hooks(struct journal *);
static void	 journal_call_hooks(struct journal *, size_t, int64_t);
static void	 journal_failed(struct journal *, struct jrec *,
		     struct journal_result *);
static int	 journal_check_fail(struct journal_check *, uint64_t,
		     const char *, ...) printflike(3, 4);
static int	 journal_check_record(struct journal_check *,
		     const struct journal_entry *, struct record_head *,
		     struct record **);
static void	 journal_check_open(struct journal *,
		     const struct journal_meta *);
static int	 journal_start_entry(const struct journal_entry *, void *);
static void	 journal_start_end(void *);
static void	 check_walk_work(void *, void *);
static void	 check_walk_finish(void *, void *);
static void	 check_walk_init(struct check_walk *, struct journal_check *);
static int	 check_walk_entry(struct check_walk *,
		     const struct journal_entry *);
static void	 check_walk_end(void *);
static int	 journal_verify_walk(const struct journal_entry *, void *);
static int	 journal_start_first(struct journal_startcheck *,
		     const struct journal_entry *);
static int	 journal_table_walk(struct journal *, const char *,
		     const void *, size_t, int,
		     int (*)(const struct journal_row *, void *),
		     void (*)(void *), void *);

struct journal *
journal_open(const char *dir, const struct journal_options *options,
    char **cause)
{
	static const struct journal_options defaults;
	struct journal		*j;
	struct journal_meta	 m;
	char			*why = NULL;

	if (options == NULL)
		options = &defaults;
	j = xcalloc(1, sizeof *j);
	j->ops = &store_lmdb_ops;
	j->readonly = options->readonly;
	j->index = options->index;
	j->chain.start_check_max = options->start_check_max != 0 ?
	    options->start_check_max : JOURNAL_START_CHECK_MAX;
	j->pipe[0] = j->pipe[1] = -1;
	pthread_mutex_init(&j->mtx, NULL);
	pthread_cond_init(&j->work_cond, NULL);
	pthread_cond_init(&j->done_cond, NULL);
	STAILQ_INIT(&j->queue);
	STAILQ_INIT(&j->group);
	STAILQ_INIT(&j->done);
	STAILQ_INIT(&j->ready);
	if ((j->store = j->ops->open(dir, options, &why)) == NULL)
		goto fail;
	if (!j->readonly && journal_check_tail(j, &why) != 0)
		goto fail;
	if (j->ops->meta(j->store, &m, &why) != 0)
		goto fail;
	snprintf(j->origin, sizeof j->origin, "%s%.32s",
	    CHECKPOINT_ORIGIN_PREFIX, m.journal_id);
	j->ckpt_every = options->checkpoint_every != 0 ?
	    options->checkpoint_every : JOURNAL_CHECKPOINT_EVERY;
	j->ckpt_interval_us = options->checkpoint_interval_us != 0 ?
	    options->checkpoint_interval_us : JOURNAL_CHECKPOINT_INTERVAL_US;
	if (!j->readonly) {
		journal_check_open(j, &m);
		if (checkpoint_load(j, &m, &why) != 0)
			goto fail;
	}
	j->seq = j->wseq = m.head_seq;
	memcpy(j->head, m.head_hash, JOURNAL_HASH_LEN);
	memcpy(j->whash, m.head_hash, JOURNAL_HASH_LEN);
	if (pipe2(j->pipe, O_NONBLOCK | O_CLOEXEC) == -1) {
		xasprintf(&why, "pipe: %s", strerror(errno));
		goto fail;
	}
	j->stats.map_size = j->ops->map_size(j->store);
	log_debug("msg=\"journal opened\" dir=%s seq=%llu readonly=%d", dir,
	    (unsigned long long)j->seq, j->readonly);
	return (j);
fail:
	xasprintf(cause, "journal %s: %s", dir, why);
	free(why);
	journal_close(j);
	return (NULL);
}

/* Collect the last two log entries (copying the last record). */
static int
journal_tail_entry(const struct journal_entry *e, void *arg)
{
	struct journal_tail	*t = arg;

	if (e->hash == NULL)
		return (0);
	if (e->seq + 1 == t->last) {
		t->have_prev = 1;
		memcpy(t->prev, e->hash, JOURNAL_HASH_LEN);
	} else if (e->seq == t->last) {
		t->have_last = 1;
		memcpy(t->hash, e->hash, JOURNAL_HASH_LEN);
		t->rec = xmalloc(e->len + 1);
		memcpy(t->rec, e->rec, e->len);
		t->len = e->len;
	}
	return (0);
}

/* Check the collected tail against the chain and meta. */
static int
journal_tail_record(struct journal_tail *t, const struct journal_meta *m,
    char **cause)
{
	struct record	 rec;
	uint8_t		 h[JOURNAL_HASH_LEN];
	char		*why;

	if (!t->have_last || (t->last > m->anchor_seq + 1 && !t->have_prev)) {
		xasprintf(cause, "chain tail mismatch at seq %llu: %s missing",
		    (unsigned long long)t->last, t->have_last ?
		    "the previous record is" : "the record's hash is");
		return (-1);
	}
	if (t->last == 1)
		chain_genesis(t->prev);
	else if (t->last == m->anchor_seq + 1)
		memcpy(t->prev, m->anchor_hash, JOURNAL_HASH_LEN);
	chain_next(t->prev, t->rec, t->len, h);
	if (memcmp(h, t->hash, JOURNAL_HASH_LEN) != 0) {
		xasprintf(cause, "chain tail mismatch at seq %llu: the stored "
		    "hash does not match the record",
		    (unsigned long long)t->last);
		return (-1);
	}
	if (memcmp(t->hash, m->head_hash, JOURNAL_HASH_LEN) != 0) {
		xasprintf(cause, "chain tail mismatch at seq %llu: meta's "
		    "head_hash is not the record's hash",
		    (unsigned long long)t->last);
		return (-1);
	}
	if (record_decode(t->rec, t->len, &rec, &why) != 0) {
		xasprintf(cause, "chain tail mismatch at seq %llu: %s",
		    (unsigned long long)t->last, why);
		free(why);
		return (-1);
	}
	if (rec.seq != t->last) {
		xasprintf(cause, "chain tail mismatch at seq %llu: the record "
		    "says seq %llu", (unsigned long long)t->last,
		    (unsigned long long)rec.seq);
		record_clear(&rec);
		return (-1);
	}
	t->time_us = rec.time_us;
	record_clear(&rec);
	return (0);
}

/*
 * Check the chain's tail: the last record's hash recomputed from the
 * previous one's, against its stored hash and meta's head.  The writer's
 * clock starts at the last record's time, so times never go back.
 */
static int
journal_check_tail(struct journal *j, char **cause)
{
	struct journal_meta	m;
	struct journal_tail	t;
	uint8_t			genesis[JOURNAL_HASH_LEN];
	int			rc;

	memset(&t, 0, sizeof t);
	if (j->ops->log_last(j->store, &t.last, cause) != 0 ||
	    j->ops->meta(j->store, &m, cause) != 0)
		return (-1);
	if (t.last != m.head_seq) {
		xasprintf(cause, "chain tail mismatch: the log ends at seq "
		    "%llu but meta's head is seq %llu",
		    (unsigned long long)t.last,
		    (unsigned long long)m.head_seq);
		return (-1);
	}
	if (t.last == 0) {
		chain_genesis(genesis);
		if (memcmp(genesis, m.head_hash, JOURNAL_HASH_LEN) == 0)
			return (0);
		*cause = xstrdup("chain tail mismatch at seq 0: meta's "
		    "head_hash is not the genesis hash");
		return (-1);
	}
	if (j->ops->log_foreach(j->store, t.last > 1 ? t.last - 1 : 1, NULL,
	    journal_tail_entry, NULL, &t, cause) != 0)
		return (-1);
	if ((rc = journal_tail_record(&t, &m, cause)) == 0)
		j->wtime = t.time_us;
	free(t.rec);
	return (rc);
}

int
journal_start(struct journal *j, struct event_base *base, char **cause)
{
	if (j->base != NULL) {
		*cause = xstrdup("journal already started");
		return (-1);
	}
	j->ev = event_new(base, j->pipe[0], EV_READ | EV_PERSIST,
	    journal_wake, j);
	if (j->ev == NULL || event_add(j->ev, NULL) != 0) {
		*cause = xstrdup("journal: cannot add the completion event");
		if (j->ev != NULL)
			event_free(j->ev);
		j->ev = NULL;
		return (-1);
	}
	j->base = base;
	if (!j->readonly && writer_start(j, cause) != 0)
		return (-1);
	return (0);
}

void
journal_close(struct journal *j)
{
	if (j == NULL)
		return;
	scrub_stop(j);
	if (j->store != NULL && j->signer != NULL && !j->readonly &&
	    checkpoint_request(j, journal_log_cb, NULL, NULL) == 0)
		log_debug("msg=\"journal: checkpoint at close\"");
	if (j->store != NULL)
		journal_flush(j);
	writer_stop(j);
	journal_collect(j);	/* what the writer made on its own */
	journal_dispatch(j, SIZE_MAX);
	checkpoint_free(j);
	if (j->ev != NULL)
		event_free(j->ev);
	if (j->pipe[0] != -1)
		close(j->pipe[0]);
	if (j->pipe[1] != -1)
		close(j->pipe[1]);
	if (j->store != NULL)
		j->ops->close(j->store);
	pthread_cond_destroy(&j->work_cond);
	pthread_cond_destroy(&j->done_cond);
	pthread_mutex_destroy(&j->mtx);
	free(j->broken_reason);
	free(j->stall_error);
	free(j->wstall_error);
	free(j->hooks);
	free(j);
}

void
journal_flush(struct journal *j)
{
	char	*cause;

	if (j->pending > 0 && !j->readonly && !j->started &&
	    writer_start(j, &cause) != 0)
		fatalx("%s", cause);
	journal_dispatch(j, SIZE_MAX);
	while (j->pending > 0) {
		pthread_mutex_lock(&j->mtx);
		while (STAILQ_EMPTY(&j->done))
			pthread_cond_wait(&j->done_cond, &j->mtx);
		STAILQ_CONCAT(&j->ready, &j->done);
		j->notified = 0;
		pthread_mutex_unlock(&j->mtx);
		journal_dispatch(j, SIZE_MAX);
	}
}

/* Writer thread (or a readonly submit): queue outcomes for the loop and
 * wake it; D holds the figures of these records. */
void
journal_deliver(struct journal *j, struct jrec_queue *q,
    const struct journal_stats *d)
{
	int	wake;

	pthread_mutex_lock(&j->mtx);
	j->stats.commits += d->commits;
	j->stats.records += d->records;
	j->stats.duplicates += d->duplicates;
	j->stats.errors += d->errors;
	j->stats.commit_us_total += d->commit_us_total;
	j->stats.rows_kept += d->rows_kept;
	if (d->map_size != 0)
		j->stats.map_size = d->map_size;
	STAILQ_CONCAT(&j->done, q);
	wake = !j->notified;
	j->notified = 1;
	pthread_cond_broadcast(&j->done_cond);
	pthread_mutex_unlock(&j->mtx);
	if (wake && write(j->pipe[1], "", 1) == -1 && errno != EAGAIN)
		log_warn("msg=\"journal: cannot wake the loop\"");
}

/*
 * The pipe is readable: drain it, then deliver what is done, at most
 * JOURNAL_DISPATCH_TURN outcomes a turn: a commit of thousands of records
 * (each callback may start an operation) does not hold the loop; the rest
 * follow on the next turn, after the loop has polled (a byte on the pipe).
 */
static void
journal_wake(evutil_socket_t fd, short events, void *arg)
{
	struct journal	*j = arg;
	char		 buf[64];

	while (read(fd, buf, sizeof buf) > 0)
		;
	journal_collect(j);
	journal_dispatch(j, JOURNAL_DISPATCH_TURN);
	if (!STAILQ_EMPTY(&j->ready) && write(j->pipe[1], "", 1) == -1 &&
	    errno != EAGAIN)
		log_warn("msg=\"journal: cannot wake the loop\"");
}

static void
journal_collect(struct journal *j)
{
	pthread_mutex_lock(&j->mtx);
	STAILQ_CONCAT(&j->ready, &j->done);
	j->notified = 0;
	pthread_mutex_unlock(&j->mtx);
}

/* Run the ready callbacks in order, at most MAX of them; a callback may
 * submit or flush. */
static void
journal_dispatch(struct journal *j, size_t max)
{
	struct journal_result	 r;
	struct jrec		*rec;
	const char		*reason, *error;
	size_t			 n = 0;
	int			 stalled;

	while (n++ < max && (rec = STAILQ_FIRST(&j->ready)) != NULL) {
		STAILQ_REMOVE_HEAD(&j->ready, entry);
		if (!rec->internal)
			j->pending--;
		memset(&r, 0, sizeof r);
		r.status = rec->status;
		r.note = rec->note;
		if (r.status == JOURNAL_OK) {
			r.seq = rec->seq;
			if (!rec->reused) {
				j->seq = rec->seq;
				memcpy(j->head, rec->hash, JOURNAL_HASH_LEN);
			}
		} else if (r.status == JOURNAL_DUPLICATE)
			r.dup_seq = rec->dup_seq;
		else
			journal_failed(j, rec, &r);
		/* The witness has a checkpoint before anyone is told. */
		if (rec->note != NULL && r.status == JOURNAL_OK &&
		    !rec->reused && j->ckpt_hook != NULL)
			j->ckpt_hook(rec->seq, rec->note, j->ckpt_hookarg);
		if (rec->cb != NULL)
			rec->cb(&r, rec->cbarg);
		if (rec->commit_records != 0)
			journal_call_hooks(j, rec->commit_records,
			    rec->commit_us);
		jrec_free(rec);
	}
	stalled = journal_stalled(j, &reason, &error);
	if (stalled != j->stall_seen) {
		j->stall_seen = stalled;
		if (j->stall_hook != NULL)
			j->stall_hook(stalled, j->stall_hookarg);
	}
}

int
journal_stalled(struct journal *j, const char **reason, const char **error)
{
	int	stalled;

	if (reason == NULL && error == NULL)
		return (j->stall_seen);	/* the loop's view: no lock */
	pthread_mutex_lock(&j->mtx);
	if ((stalled = j->stalled)) {
		snprintf(j->stall_reason, sizeof j->stall_reason, "%s",
		    store_reason(j->wstall_errno));
		free(j->stall_error);
		j->stall_error = xstrdup(j->wstall_error != NULL ?
		    j->wstall_error : "unknown");
	}
	pthread_mutex_unlock(&j->mtx);
	if (reason != NULL)
		*reason = stalled ? j->stall_reason : NULL;
	if (error != NULL)
		*error = stalled ? j->stall_error : NULL;
	return (stalled);
}

void
journal_set_stall_hook(struct journal *j, void (*fn)(int, void *), void *arg)
{
	j->stall_hook = fn;
	j->stall_hookarg = arg;
}

void
journal_stop_retrying(struct journal *j)
{
	pthread_mutex_lock(&j->mtx);
	j->give_up = 1;
	pthread_cond_broadcast(&j->work_cond);
	pthread_mutex_unlock(&j->mtx);
}

/* A record was not written: fill R's error and reason, and log it with
 * its kind, account and the seq it would have had (the callbacks run in
 * seq order, so that is the one after the last durable one). */
static void
journal_failed(struct journal *j, struct jrec *rec, struct journal_result *r)
{
	if ((r->error = rec->result_error) != NULL)
		r->reason = rec->result_reason != NULL ? rec->result_reason :
		    JOURNAL_R_STORAGE;
	else if ((r->error = rec->error) != NULL)
		r->reason = JOURNAL_R_INVALID;
	else {
		r->error = "unknown error";
		r->reason = JOURNAL_R_STORAGE;
	}
	log_warnx("msg=\"journal record not written\" kind=%s account=%s "
	    "would_be_seq=%llu reason=%s error=\"%s\"", log_escape(rec->kind),
	    rec->account != NULL ? log_escape(rec->account) : "-",
	    (unsigned long long)j->seq + 1, r->reason, log_escape(r->error));
}

const char *
journal_reason_text(const char *reason)
{
	static const struct {
		const char	*reason;
		const char	*text;
	} texts[] = {
		{ JOURNAL_R_DISK_FULL, "the disk holding the journal is full" },
		{ JOURNAL_R_MAP_FULL, "the journal reached its size limit "
		    "(chimed --journal-max-mb)" },
		{ JOURNAL_R_IO_ERROR, "an I/O error on the journal's disk" },
		{ JOURNAL_R_READ_ONLY, "the journal is read-only" },
		{ JOURNAL_R_INVALID, "the record is invalid" },
	};
	size_t	i;

	for (i = 0; i < sizeof texts / sizeof texts[0]; i++) {
		if (reason != NULL && strcmp(reason, texts[i].reason) == 0)
			return (texts[i].text);
	}
	return ("the journal could not write");
}

void
journal_submit(struct journal *j, struct jrec *rec, journal_done_cb cb,
    void *arg)
{
	struct jrec_queue	q;
	struct journal_stats	d;

	rec->cb = cb;
	rec->cbarg = arg;
	jrec_seal(rec);
	j->pending++;
	if (j->readonly) {
		jrec_fail(rec, "journal is read-only", JOURNAL_R_READ_ONLY);
		memset(&d, 0, sizeof d);
		d.errors = 1;
		STAILQ_INIT(&q);
		STAILQ_INSERT_TAIL(&q, rec, entry);
		journal_deliver(j, &q, &d);
		return;
	}
	if (j->grouping > 0) {
		STAILQ_INSERT_TAIL(&j->group, rec, entry);
		return;
	}
	pthread_mutex_lock(&j->mtx);
	STAILQ_INSERT_TAIL(&j->queue, rec, entry);
	pthread_cond_signal(&j->work_cond);
	pthread_mutex_unlock(&j->mtx);
}

/*
 * Records submitted between journal_group_begin and its journal_group_end
 * (on the loop; groups nest) reach the writer together and are written in
 * one transaction, also when the writer falls back to smaller ones: a
 * crash keeps all of them or none (a run's end and the report it queues).
 * Each still has its own outcome.  At most JOURNAL_GROUP_MAX records are
 * kept together; a longer group is cut into such pieces.
 */
void
journal_group_begin(struct journal *j)
{
	j->grouping++;
}

void
journal_group_end(struct journal *j)
{
	struct jrec	*rec;
	size_t		 i = 0;

	if (j->grouping == 0 || --j->grouping > 0 || STAILQ_EMPTY(&j->group))
		return;
	STAILQ_FOREACH(rec, &j->group, entry) {
		i++;
		rec->grouped = STAILQ_NEXT(rec, entry) != NULL &&
		    i % JOURNAL_GROUP_MAX != 0;
	}
	pthread_mutex_lock(&j->mtx);
	STAILQ_CONCAT(&j->queue, &j->group);
	pthread_cond_signal(&j->work_cond);
	pthread_mutex_unlock(&j->mtx);
}

void
journal_log_cb(const struct journal_result *res, void *arg)
{
	(void)arg;
	if (res->status == JOURNAL_ERROR)
		log_warnx("msg=\"journal write failed\" error=\"%s\"",
		    log_escape(res->error != NULL ? res->error : "unknown"));
}

void
journal_release_cache(struct journal *j)
{
	if (j->ops->release_cache != NULL)
		j->ops->release_cache(j->store);
}

uint64_t
journal_seq(struct journal *j)
{
	return (j->seq);
}

void
journal_head(struct journal *j, uint8_t head[JOURNAL_HASH_LEN])
{
	memcpy(head, j->head, JOURNAL_HASH_LEN);
}

size_t
journal_pending(struct journal *j)
{
	return (j->pending);
}

void
journal_stats(struct journal *j, struct journal_stats *st)
{
	pthread_mutex_lock(&j->mtx);
	*st = j->stats;
	pthread_mutex_unlock(&j->mtx);
}

size_t
journal_map_used(struct journal *j)
{
	return (j->ops->map_used(j->store));
}

/* A consistent, compacted copy of J's store (its LMDB environment as one
 * data.mdb) written to FD: 0, or -1 with *CAUSE. */
int
journal_copy(struct journal *j, int fd, char **cause)
{
	return (j->ops->copy(j->store, fd, cause));
}

void
journal_add_commit_hook(struct journal *j, void (*fn)(size_t, int64_t,
    void *), void *arg)
{
	if (j->nhooks == j->hooks_alloc) {
		j->hooks_alloc = j->hooks_alloc == 0 ? 4 : j->hooks_alloc * 2;
		j->hooks = xreallocarray(j->hooks, j->hooks_alloc,
		    sizeof *j->hooks);
	}
	j->hooks[j->nhooks].fn = fn;
	j->hooks[j->nhooks].arg = arg;
	j->nhooks++;
}

void
journal_remove_commit_hook(struct journal *j, void (*fn)(size_t, int64_t,
    void *), void *arg)
{
	size_t	 i;

	for (i = 0; i < j->nhooks; i++) {
		if (j->hooks[i].fn == fn && j->hooks[i].arg == arg) {
			j->hooks[i].fn = NULL;
			break;
		}
	}
	if (j->hooks_busy == 0)
		journal_compact_hooks(j);
}

/* Drop the removed hooks, keeping the order of the rest. */
static void
journal_compact_hooks(struct journal *j)
{
	size_t	 i, n = 0;

	for (i = 0; i < j->nhooks; i++) {
		if (j->hooks[i].fn != NULL)
			j->hooks[n++] = j->hooks[i];
	}
	j->nhooks = n;
}

/* Call every hook present when the call began and not removed since. */
static void
journal_call_hooks(struct journal *j, size_t records, int64_t commit_us)
{
	size_t	 i, n = j->nhooks;

	j->hooks_busy++;
	for (i = 0; i < n; i++) {
		if (j->hooks[i].fn != NULL)
			j->hooks[i].fn(records, commit_us, j->hooks[i].arg);
	}
	if (--j->hooks_busy == 0)
		journal_compact_hooks(j);
}

/* The store's table_seek, forward or BACK; a failure is logged. */
static int
journal_seek(struct journal *j, const char *table, const void *prefix,
    size_t plen, const void *from, size_t flen, int back,
    int (*cb)(const struct journal_row *, void *), void *arg)
{
	char	*cause;

	if (j->ops->table_seek(j->store, table, prefix, plen, from, flen, back,
	    cb, arg, &cause) != 0) {
		log_warnx("msg=\"journal: cannot read table\" table=%s "
		    "error=\"%s\"", table, cause);
		free(cause);
		return (-1);
	}
	return (0);
}

int
journal_table_seek(struct journal *j, const char *table, const void *prefix,
    size_t plen, const void *start, size_t slen,
    int (*cb)(const struct journal_row *, void *), void *arg)
{
	return (journal_seek(j, table, prefix, plen, start, slen, 0, cb, arg));
}

int
journal_table_seek_back(struct journal *j, const char *table,
    const void *prefix, size_t plen, const void *before, size_t blen,
    int (*cb)(const struct journal_row *, void *), void *arg)
{
	return (journal_seek(j, table, prefix, plen, before, blen, 1, cb,
	    arg));
}

int
journal_table_foreach(struct journal *j, const char *table,
    const void *prefix, size_t plen, int reverse,
    int (*cb)(const struct journal_row *, void *), void *arg)
{
	return (journal_table_walk(j, table, prefix, plen, reverse, cb, NULL,
	    arg));
}

int
journal_table_foreach_end(struct journal *j, const char *table,
    int (*cb)(const struct journal_row *, void *), void (*end)(void *),
    void *arg)
{
	return (journal_table_walk(j, table, NULL, 0, 0, cb, end, arg));
}

static int
journal_table_walk(struct journal *j, const char *table,
    const void *prefix, size_t plen, int reverse,
    int (*cb)(const struct journal_row *, void *), void (*end)(void *),
    void *arg)
{
	char	*cause;

	if (j->ops->table_foreach(j->store, table, prefix, plen, reverse, cb,
	    end, arg, &cause) != 0) {
		log_warnx("msg=\"journal: cannot read table\" table=%s "
		    "error=\"%s\"", table, cause);
		free(cause);
		return (-1);
	}
	return (0);
}

int
journal_table_get(struct journal *j, const char *table, const void *key,
    size_t klen, void **val, size_t *vlen)
{
	char	*cause;
	int	 rc;

	rc = j->ops->table_get(j->store, table, key, klen, val, vlen, &cause);
	if (rc == -1) {
		log_warnx("msg=\"journal: cannot read table\" table=%s "
		    "error=\"%s\"", table, cause);
		free(cause);
	}
	return (rc == 0 ? 0 : -1);
}

uint64_t
journal_dedup_seq(struct journal *j, const char *key)
{
	uint64_t	 seq;
	char		*cause;

	if (j->ops->dedup_get(j->store, key, &seq, &cause) != 0) {
		log_warnx("msg=\"journal: cannot read dedup\" error=\"%s\"",
		    cause);
		free(cause);
		return (0);
	}
	return (seq);
}

int
journal_log_foreach(struct journal *j, uint64_t from,
    struct journal_meta *meta, int (*cb)(const struct journal_entry *,
    void *), void *arg, char **cause)
{
	return (j->ops->log_foreach(j->store, from, meta, cb, NULL, arg,
	    cause));
}

int
journal_meta(struct journal *j, struct journal_meta *m, char **cause)
{
	return (j->ops->meta(j->store, m, cause));
}

void
journal_check_init(struct journal_check *c)
{
	memset(c, 0, sizeof *c);
	c->expect = 1;
	c->time_us = INT64_MIN;
	chain_genesis(c->prev);
}

void
journal_check_anchor(struct journal_check *c, const struct journal_meta *m)
{
	if (m->anchor_seq == 0)
		return;
	c->expect = m->anchor_seq + 1;
	memcpy(c->prev, m->anchor_hash, JOURNAL_HASH_LEN);
}

/* The anchor of the walk's snapshot, once, before its first entry. */
static void
journal_check_start(struct journal_check *c)
{
	if (c->anchor == NULL)
		return;
	journal_check_anchor(c, c->anchor);
	c->anchor = NULL;
}

void
journal_check_clear(struct journal_check *c)
{
	free(c->cause);
	c->cause = NULL;
	chain_ctx_free(c->ctx);
	c->ctx = NULL;
}

/* Set the first failure: SEQ and the reason. */
static int
journal_check_fail(struct journal_check *c, uint64_t seq, const char *fmt,
    ...)
{
	va_list	ap;

	c->bad_seq = seq;
	free(c->cause);
	va_start(ap, fmt);
	xvasprintf(&c->cause, fmt, ap);
	va_end(ap);
	return (-1);
}

/*
 * The record of E, checked (record_check_keys) and in *REC, or -1 with the
 * failure set.  record_scan takes the usual record in one walk (its body
 * left nil, its header in H); any other is decoded whole, which says why
 * it is bad if it is.  Either way *REC is record_clear'ed by the caller.
 */
static int
journal_check_record(struct journal_check *c, const struct journal_entry *e,
    struct record_head *h, struct record **rec)
{
	char	*why;
	int	 scanned, rc = 0;

	if (c->scanned != NULL) {
		h->rec = *c->scanned;
		scanned = 1;
	} else
		scanned = record_scan(e->rec, e->len, h) == 0;
	if (scanned)
		*rec = &h->rec;
	else if (record_decode(e->rec, e->len, *rec, &why) != 0) {
		journal_check_fail(c, e->seq, "record: %s", why);
		free(why);
		return (-1);
	}
	if ((*rec)->seq != e->seq)
		rc = journal_check_fail(c, e->seq, "record says seq %llu",
		    (unsigned long long)(*rec)->seq);
	else if (!scanned && record_check_keys(&(*rec)->body, &why) != 0) {
		rc = journal_check_fail(c, e->seq, "record: %s", why);
		free(why);
	} else if (c->time_us != INT64_MIN && (*rec)->time_us < c->time_us)
		rc = journal_check_fail(c, e->seq, "time_us %lld is before "
		    "the previous record's %lld", (long long)(*rec)->time_us,
		    (long long)c->time_us);
	return (rc);
}

int
journal_check_entry(struct journal_check *c, const struct journal_entry *e)
{
	struct record_head	 head;
	struct record		 decoded, *r = &decoded;
	uint8_t			 h[JOURNAL_HASH_LEN];
	char			 a[65], b[65];

	journal_check_start(c);
	if (e->seq != c->expect)
		return (journal_check_fail(c, c->expect, "missing (the next "
		    "record in the log is seq %llu)",
		    (unsigned long long)e->seq));
	if (e->hash == NULL)
		return (journal_check_fail(c, e->seq, "value shorter than a "
		    "hash"));
	memset(&decoded, 0, sizeof decoded);
	if (journal_check_record(c, e, &head, &r) != 0) {
		record_clear(r);
		return (-1);
	}
	if (c->ctx == NULL)
		c->ctx = chain_ctx_create();
	if (c->computed != NULL)
		memcpy(h, c->computed, JOURNAL_HASH_LEN);
	else {
		chain_ctx_begin(c->ctx, c->prev);
		chain_ctx_update(c->ctx, e->rec, e->len);
		chain_ctx_end(c->ctx, h);
	}
	if (memcmp(h, e->hash, JOURNAL_HASH_LEN) == 0 && c->record_cb != NULL &&
	    c->record_cb(c, e, r) != 0) {
		record_clear(r);
		return (-1);
	}
	c->time_us = r->time_us;
	record_clear(r);
	if (memcmp(h, e->hash, JOURNAL_HASH_LEN) != 0) {
		chain_hex(e->hash, a);
		chain_hex(h, b);
		return (journal_check_fail(c, e->seq, "hash mismatch: stored "
		    "%s, computed %s", a, b));
	}
	memcpy(c->prev, h, JOURNAL_HASH_LEN);
	c->records++;
	c->expect++;
	return (0);
}

int
journal_check_meta(struct journal_check *c, const struct journal_meta *m)
{
	uint64_t	last;

	journal_check_start(c);
	last = c->expect - 1;
	if (m->head_seq > last)
		return (journal_check_fail(c, last + 1, "missing (meta's head "
		    "is seq %llu)", (unsigned long long)m->head_seq));
	if (m->head_seq < last)
		return (journal_check_fail(c, m->head_seq + 1, "after meta's "
		    "head (seq %llu)", (unsigned long long)m->head_seq));
	if (memcmp(m->head_hash, c->prev, JOURNAL_HASH_LEN) != 0) {
		if (last == 0)
			return (journal_check_fail(c, 1, "meta's head_hash is "
			    "not the genesis hash of an empty journal"));
		return (journal_check_fail(c, last, "meta's head_hash is not "
		    "this record's hash"));
	}
	return (0);
}

int
journal_prune(struct journal *j, uint64_t upto, const uint8_t *hash,
    const struct merkle_range *r, char **cause)
{
	int	rc;

	if (j->readonly || j->started) {
		*cause = xstrdup("journal_prune: the journal is read-only or "
		    "its writer runs");
		return (-1);
	}
	for (;;) {
		if ((rc = j->ops->begin(j->store, cause)) != STORE_OK)
			break;
		if ((rc = j->ops->prune(j->store, upto, hash, r, cause)) ==
		    STORE_OK)
			rc = j->ops->commit(j->store, cause);
		else
			j->ops->abort(j->store);
		if (rc != STORE_FULL || j->ops->grow(j->store) != 0)
			break;
	}
	if (rc == STORE_FULL)
		xasprintf(cause, "journal full: map size limit %zu reached",
		    j->ops->map_size(j->store));
	return (rc == STORE_OK ? 0 : -1);
}

static void
check_walk_work(void *p, void *arg)
{
	struct check_slot	*s = p;
	struct record_head	 h;

	(void)arg;
	if (s->e.hash == NULL)
		return;		/* journal_check_entry says why */
	if ((s->scanned = record_scan(s->e.rec, s->e.len, &h) == 0)) {
		s->rec = h.rec;
		s->rec.kind = s->rec.account = NULL;	/* h's own */
	}
	if (s->prev != NULL)
		chain_next(s->prev, s->e.rec, s->e.len, s->chain);
}

static void
check_walk_finish(void *p, void *arg)
{
	struct check_slot	*s = p;
	struct check_walk	*w = arg;

	if (w->stop)
		return;
	w->c->computed = s->prev != NULL ? s->chain : NULL;
	w->c->scanned = s->scanned ? &s->rec : NULL;
	if (journal_check_entry(w->c, &s->e) != 0)
		w->stop = 1;
	w->c->computed = NULL;
	w->c->scanned = NULL;
}

static void
check_walk_init(struct check_walk *w, struct journal_check *c)
{
	memset(w, 0, sizeof *w);
	w->c = c;
	w->ord = ordered_start(sizeof (struct check_slot), check_walk_work,
	    check_walk_finish, w, -1);
}

/* One entry of the walk: handed on.  Non-zero stops the walk. */
static int
check_walk_entry(struct check_walk *w, const struct journal_entry *e)
{
	struct check_slot	*s;

	if (w->stop)
		return (1);
	s = ordered_next(w->ord);
	s->e = *e;
	s->prev = w->prev;
	w->prev = e->hash;
	return (w->stop);
}

/* The walk's end, in its transaction: every entry handed on checked. */
static void
check_walk_end(void *arg)
{
	struct check_walk	*w = arg;

	ordered_end(w->ord);
	w->ord = NULL;
}

static int
journal_verify_walk(const struct journal_entry *e, void *arg)
{
	return (check_walk_entry(arg, e));
}

int
journal_verify(struct journal *j, struct journal_verify *v, char **cause)
{
	struct journal_check	c;
	struct journal_meta	m;
	struct check_walk	w;
	int			rc;

	memset(v, 0, sizeof *v);
	journal_check_init(&c);
	c.anchor = &m;
	check_walk_init(&w, &c);
	if (j->ops->log_foreach(j->store, 1, &m, journal_verify_walk,
	    check_walk_end, &w, cause) != 0) {
		journal_check_clear(&c);
		return (-1);
	}
	rc = c.cause != NULL ? -1 : journal_check_meta(&c, &m);
	v->records = c.records;
	v->last_seq = c.expect - 1;
	memcpy(v->head, c.prev, JOURNAL_HASH_LEN);
	if (rc == 0) {
		journal_check_clear(&c);
		return (0);
	}
	v->bad_seq = c.bad_seq;
	*cause = c.cause;
	c.cause = NULL;
	journal_check_clear(&c);
	return (-1);
}

/* The first entry of the check at open: the verified point itself. */
static int
journal_start_first(struct journal_startcheck *sc,
    const struct journal_entry *e)
{
	struct record	 rec;
	char		*why;

	sc->first = 0;
	if (e->seq != sc->from)
		return (journal_check_fail(&sc->c, sc->from, "missing (the "
		    "next record in the log is seq %llu)",
		    (unsigned long long)e->seq));
	if (e->hash != NULL && sc->window)
		memcpy(sc->hash, e->hash, JOURNAL_HASH_LEN);
	if (e->hash == NULL || memcmp(e->hash, sc->hash,
	    JOURNAL_HASH_LEN) != 0)
		return (journal_check_fail(&sc->c, sc->from, "the stored hash "
		    "is not the one verified earlier"));
	if (record_decode(e->rec, e->len, &rec, &why) != 0) {
		journal_check_fail(&sc->c, sc->from, "record: %s", why);
		free(why);
		return (-1);
	}
	sc->c.time_us = rec.time_us;
	record_clear(&rec);
	memcpy(sc->c.prev, sc->hash, JOURNAL_HASH_LEN);
	sc->c.expect = sc->from + 1;
	return (0);
}

static int
journal_start_entry(const struct journal_entry *e, void *arg)
{
	struct journal_startcheck	*sc = arg;

	if (sc->first)
		return (journal_start_first(sc, e) != 0);
	return (check_walk_entry(&sc->walk, e));
}

static void
journal_start_end(void *arg)
{
	struct journal_startcheck	*sc = arg;

	check_walk_end(&sc->walk);
}

/*
 * Check the chain from meta's verified point to the tail (the tail itself
 * was checked already).  Intact: the tail becomes the verified point.  A
 * break at B is kept (journal_chain) and the verified point goes back to
 * B - 1, so that the next open finds it again; the open goes on.
 */
static void
journal_check_open(struct journal *j, const struct journal_meta *m)
{
	struct journal_startcheck	 sc;
	uint8_t				 genesis[JOURNAL_HASH_LEN];
	char				*cause = NULL;
	int64_t				 start = mono_us();

	memset(&sc, 0, sizeof sc);
	journal_check_init(&sc.c);
	journal_check_anchor(&sc.c, m);
	j->chain.verified_seq = m->verified_seq;
	j->chain.scrubbed_us = m->scrubbed_us;
	/* from the verified point, or the anchor of an archived prefix */
	if (m->verified_seq > m->anchor_seq &&
	    m->verified_seq <= m->head_seq) {
		sc.from = m->verified_seq;
		memcpy(sc.hash, m->verified_hash, JOURNAL_HASH_LEN);
		sc.first = 1;
	} else
		sc.from = m->anchor_seq;
	/* Too many to check now: the last ones; the scrub does the rest. */
	if (m->head_seq - sc.from > j->chain.start_check_max) {
		sc.from = m->head_seq - j->chain.start_check_max;
		sc.first = 1;
		sc.window = 1;
		j->chain.start_partial = 1;
	}
	j->chain.start_from = sc.from;
	j->chain.start_to = m->head_seq;
	check_walk_init(&sc.walk, &sc.c);
	if (j->ops->log_foreach(j->store, sc.first ? sc.from : sc.from + 1,
	    NULL, journal_start_entry, journal_start_end, &sc, &cause) != 0) {
		log_warnx("msg=\"journal: cannot check the chain at start\" "
		    "error=\"%s\"", cause);
		free(cause);
		return;
	}
	if (sc.c.cause == NULL && sc.c.expect - 1 < m->head_seq)
		journal_check_fail(&sc.c, sc.c.expect, "missing (meta's head "
		    "is seq %llu)", (unsigned long long)m->head_seq);
	j->chain.start_records = sc.c.records;
	if (sc.c.cause == NULL) {
		if (m->head_seq != m->verified_seq && !sc.window)
			journal_set_verified(j, m->head_seq, m->head_hash, 0);
		log_info("msg=\"journal chain checked\" from=%llu to=%llu "
		    "records=%llu ms=%lld%s", (unsigned long long)sc.from,
		    (unsigned long long)m->head_seq,
		    (unsigned long long)sc.c.records,
		    (long long)((mono_us() - start) / 1000), sc.window ?
		    " rest=\"the scrub, starting now\"" : "");
		journal_check_clear(&sc.c);
		return;
	}
	log_warnx("msg=\"journal chain broken\" seq=%llu found_by=start "
	    "checked_from=%llu reason=\"%s\"", (unsigned long long)sc.c.bad_seq,
	    (unsigned long long)sc.from, log_escape(sc.c.cause));
	journal_set_broken(j, sc.c.bad_seq, sc.c.cause, "start");
	if (sc.c.bad_seq > sc.from) {
		if (sc.c.bad_seq - 1 != m->verified_seq)
			journal_set_verified(j, sc.c.bad_seq - 1, sc.c.prev, 0);
	} else {
		chain_genesis(genesis);
		journal_set_verified(j, 0, genesis, 0);
	}
	journal_check_clear(&sc.c);
}

void
journal_set_verified(struct journal *j, uint64_t seq, const uint8_t *hash,
    int64_t scrubbed_us)
{
	pthread_mutex_lock(&j->mtx);
	j->vgen++;
	j->vseq = seq;
	memcpy(j->vhash, hash, JOURNAL_HASH_LEN);
	j->vscrubbed = scrubbed_us;
	pthread_mutex_unlock(&j->mtx);
	j->chain.verified_seq = seq;
	if (scrubbed_us != 0)
		j->chain.scrubbed_us = scrubbed_us;
}

void
journal_set_broken(struct journal *j, uint64_t seq, const char *reason,
    const char *found_by)
{
	free(j->broken_reason);
	j->broken_reason = NULL;
	j->chain.broken_seq = seq;
	j->chain.broken_reason = NULL;
	j->chain.found_by = NULL;
	j->chain.found_us = 0;
	if (seq == 0)
		return;
	j->broken_reason = xstrdup(reason);
	j->chain.broken_reason = j->broken_reason;
	j->chain.found_by = found_by;
	j->chain.found_us = now_us();
}

void
journal_chain(struct journal *j, struct journal_chain *c)
{
	*c = j->chain;
}
