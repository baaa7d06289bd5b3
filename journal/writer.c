/*
 * journal/writer.c: the writer thread and group commit.
 *
 * The writer sleeps until records are queued, takes the whole queue at
 * once, and writes it in transactions of at most JOURNAL_BATCH_MAX
 * records: for each record, its claims are checked, then it gets the next
 * seq, its header is packed, its hash chained, its log entry appended and
 * its claims and table changes written; meta's head (and a verified point
 * the loop left for it, journal_set_verified) follows; one commit.
 * A full map is grown (doubled) and the transaction retried.  When the
 * storage cannot take writes (no space, an I/O error, a read-only file
 * system, the map at map_max) the writer stalls: it holds the transaction
 * and everything queued after it, tells the loop (journal_stalled), and
 * tries the same transaction again after a pause growing from 0.1 s to
 * 5 s, until it commits; nothing is dropped or reordered, so a run's end
 * is never lost to a full disk.  Any other failure makes the writer redo
 * that batch one record per transaction, so that only the records that
 * cannot be written fail.  The outcomes go to the loop through
 * journal_deliver.
 *
 * The writer also keeps the Merkle tree over the log (its compact range,
 * put in meta with each commit) and writes checkpoint records
 * (checkpoint.c): one asked for, where it was submitted; one of its own as
 * the last record of a transaction once checkpoint_every records passed
 * since the last, or when it wakes checkpoint_interval_us after the last
 * with records since; none with nothing since the last.
 *
 * A transaction's merges (jrec_merge) are held until something else of
 * it reads or writes their table, or it commits: then each row's deltas
 * are applied together, in their order (one read of the row, one put), as
 * the records would have applied them one by one.
 *
 * Everything the writer reuses (header buffer, hashing context, the array
 * of a transaction's records) is allocated once in writer_start.
 */
#include <sys/types.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine.h"
#include "journal.h"

#define WRITER_STALL_FIRST_MS	100
#define WRITER_STALL_MAX_MS	5000
#define WRITER_GATHER_MAX	64	/* held merges grouped without a sort */

/* A merge held until its row's deltas are applied together. */
struct writer_pending {
	struct jrec		*rec;
	const struct jrec_op	*op;
	size_t			 order;
};

static void	*writer_main(void *);
static int	 writer_attempt(struct journal *, struct jrec **, size_t *,
		     int, size_t *, char **);
static void	 writer_shed(struct journal *, struct jrec **, size_t *,
		     const char *);
static int	 writer_stall(struct journal *, const char *, int64_t *);
static void	 writer_stall_mark(struct journal *, const char *);
static int	 writer_probe(struct journal *, size_t *, char **);
static void	 writer_unstall(struct journal *);
static void	 writer_notify(struct journal *);
static const char *writer_reason(struct journal *, const char *);
static void	 writer_batch(struct journal *, struct jrec **, size_t, int);
static int	 writer_wait(struct journal *);
static int	 writer_checkpoint(struct journal *, struct jrec *,
		     uint64_t *, uint8_t *, struct merkle_range *,
		     uint64_t *, const char **, char **);
static int	 writer_try(struct journal *, struct jrec **, size_t,
		     size_t *, char **);
static void	 writer_some(struct journal *, struct jrec **, size_t,
		     struct journal_stats *);
static int	 writer_record(struct journal *, struct jrec *, uint64_t *,
		     uint8_t *, struct merkle_range *, char **);
static int	 writer_merge(struct journal *, struct jrec *,
		     const struct jrec_op *, char **);
static int	 writer_pending_cmp(const void *, const void *);
static int	 writer_apply(struct journal *, struct writer_pending *,
		     size_t, char **);
static int	 writer_same_row(const struct writer_pending *,
		     const struct writer_pending *);
static int	 writer_flush(struct journal *, char **);
static int	 writer_touch(struct journal *, const char *, char **);
static int	 writer_claims(struct journal *, struct jrec *, char **);
static int	 writer_index_entry(struct journal *, const void *, size_t,
		     const void *, size_t, char *, size_t *,
		     msgpack_sbuffer *);
static int	 writer_holds(struct journal *, struct jrec *,
		     const struct jrec_op *, int *, char **);
static int	 writer_index(struct journal *, const char *, const void *,
		     size_t, const void *, size_t, char **);
static int	 writer_ops(struct journal *, struct jrec *, uint64_t,
		     char **);
static void	 writer_count(struct jrec **, size_t,
		     struct journal_stats *);
static int	 writer_verified(struct journal *, uint64_t *, char **);

int
writer_start(struct journal *j, char **cause)
{
	sigset_t	all, old;
	int		error;

	if (j->started)
		return (0);
	msgpack_sbuffer_init(&j->whdr);
	msgpack_packer_init(&j->wpk, &j->whdr, msgpack_sbuffer_write);
	j->wchain = chain_ctx_create();
	/* a batch may run past the maximum to keep a group whole */
	j->wrecs = xreallocarray(NULL, JOURNAL_BATCH_MAX + JOURNAL_GROUP_MAX,
	    sizeof *j->wrecs);
	j->stopping = 0;
	j->wckpt_us = now_us();

	/* The writer inherits a mask that keeps signals for the loop. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	error = pthread_create(&j->thread, NULL, writer_main, j);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (error != 0) {
		xasprintf(cause, "cannot start the writer thread: %s",
		    strerror(error));
		msgpack_sbuffer_destroy(&j->whdr);
		chain_ctx_free(j->wchain);
		free(j->wrecs);
		return (-1);
	}
	j->started = 1;
	return (0);
}

/* Stop the writer once the queue is empty, and wait for it. */
void
writer_stop(struct journal *j)
{
	if (!j->started)
		return;
	pthread_mutex_lock(&j->mtx);
	j->stopping = 1;
	pthread_cond_signal(&j->work_cond);
	pthread_mutex_unlock(&j->mtx);
	pthread_join(j->thread, NULL);
	msgpack_sbuffer_destroy(&j->whdr);
	chain_ctx_free(j->wchain);
	free(j->wrecs);
	j->wrecs = NULL;
	free(j->wpend);
	j->wpend = NULL;
	j->npend = j->pendcap = 0;
	free(j->wdeltas);
	j->wdeltas = NULL;
	j->deltacap = 0;
	j->started = 0;
}

static void *
writer_main(void *arg)
{
	struct journal		*j = arg;
	struct jrec_queue	 batch;
	struct jrec		*rec;
	size_t			 n;
	int			 timed;

	for (;;) {
		pthread_mutex_lock(&j->mtx);
		timed = writer_wait(j);
		STAILQ_INIT(&batch);
		STAILQ_CONCAT(&batch, &j->queue);
		pthread_mutex_unlock(&j->mtx);
		if (timed) {
			writer_batch(j, j->wrecs, 0, 1);
			continue;
		}
		if (STAILQ_EMPTY(&batch))
			break;
		while (!STAILQ_EMPTY(&batch)) {
			for (n = 0; (n < JOURNAL_BATCH_MAX ||
			    j->wrecs[n - 1]->grouped) &&
			    (rec = STAILQ_FIRST(&batch)) != NULL; n++) {
				STAILQ_REMOVE_HEAD(&batch, entry);
				j->wrecs[n] = rec;
			}
			writer_batch(j, j->wrecs, n, 0);
		}
	}
	return (NULL);
}

/*
 * Wait (mtx held) for records or the order to stop.  With records since
 * the last checkpoint and an interval, wait at most until the next
 * checkpoint is due: returns 1 when it is (nothing queued), else 0.
 */
static int
writer_wait(struct journal *j)
{
	struct timespec	ts;
	int64_t		due;

	while (STAILQ_EMPTY(&j->queue) && !j->stopping) {
		if (j->signer == NULL || j->ckpt_interval_us <= 0 ||
		    j->wseq == j->wckpt_seq) {
			pthread_cond_wait(&j->work_cond, &j->mtx);
			continue;
		}
		due = j->wckpt_us + j->ckpt_interval_us;
		if (now_us() >= due)
			return (1);
		ts.tv_sec = due / 1000000;
		ts.tv_nsec = (due % 1000000) * 1000;
		pthread_cond_timedwait(&j->work_cond, &j->mtx, &ts);
	}
	return (0);
}

/* Write N records in one transaction (or one by one if that fails) and
 * deliver their outcomes; a checkpoint of the writer's own follows them
 * when due (TIMED: the interval passed). */
static void
writer_batch(struct journal *j, struct jrec **recs, size_t n, int timed)
{
	struct journal_stats	 d;
	struct jrec_queue	 out;
	int64_t			 start, now;
	size_t			 i, k, written = 0;
	char			*cause = NULL;
	int			 rc;

	memset(&d, 0, sizeof d);
	start = mono_us();
	if ((now = now_us()) > j->wtime)
		j->wtime = now;	/* never before an earlier record */
	if (j->signer != NULL) {
		j->wauto = jrec_create(JOURNAL_CHECKPOINT_KIND, NULL);
		j->wauto->ckpt = j->wauto->internal = 1;
		j->wforce = timed;
	}
	rc = writer_attempt(j, recs, &n, 1, &written, &cause);
	if (rc == STORE_UNAVAILABLE) {
		/* Told to give up while stalled: fail them all. */
		for (i = 0; i < n; i++)
			jrec_fail(recs[i], cause, writer_reason(j, cause));
		writer_count(recs, n, &d);
	} else if (rc == STORE_OK) {
		if (written > 0) {
			d.commits = 1;
			d.commit_us_total = (uint64_t)(mono_us() - start);
			d.rows_kept = j->wkept;
		}
		if (written > 0 && n > 0) {
			recs[n - 1]->commit_records = written;
			recs[n - 1]->commit_us = (int64_t)d.commit_us_total;
		}
		writer_count(recs, n, &d);
	} else {
		jrec_free(j->wauto);	/* the next batch's will do */
		j->wauto = NULL;
		log_warnx("msg=\"journal: batch failed, writing its records "
		    "one by one\" records=%zu error=\"%s\"", n,
		    cause != NULL ? cause : "map full");
		for (i = 0; i < n; i += k) {
			for (k = 1; i + k < n && recs[i + k - 1]->grouped; k++)
				continue;
			writer_some(j, recs + i, k, &d);
		}
	}
	free(cause);
	log_trace(TRACE_JOURNAL, "msg=\"journal commit\" records=%zu "
	    "written=%llu duplicates=%llu errors=%llu kept=%llu seq=%llu "
	    "us=%llu", n,
	    (unsigned long long)d.records, (unsigned long long)d.duplicates,
	    (unsigned long long)d.errors, (unsigned long long)d.rows_kept,
	    (unsigned long long)j->wseq,
	    (unsigned long long)d.commit_us_total);
	d.map_size = j->ops->map_size(j->store);
	STAILQ_INIT(&out);
	for (i = 0; i < n; i++)
		STAILQ_INSERT_TAIL(&out, recs[i], entry);
	if (j->wauto != NULL && j->wauto->seq != 0 && rc == STORE_OK) {
		/* Last of its transaction: it carries the commit's figures. */
		j->wauto->commit_records = n > 0 ? recs[n - 1]->commit_records :
		    written;
		j->wauto->commit_us = n > 0 ? recs[n - 1]->commit_us :
		    (int64_t)d.commit_us_total;
		if (n > 0)
			recs[n - 1]->commit_records = 0;
		STAILQ_INSERT_TAIL(&out, j->wauto, entry);
		d.records++;
	} else
		jrec_free(j->wauto);
	j->wauto = NULL;
	j->wforce = 0;
	journal_deliver(j, &out, &d);
}

/* Count outcomes into the figures handed to the loop. */
static void
writer_count(struct jrec **recs, size_t n, struct journal_stats *d)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		if (recs[i]->status == JOURNAL_OK && !recs[i]->reused)
			d->records++;
		else if (recs[i]->status == JOURNAL_DUPLICATE)
			d->duplicates++;
		else
			d->errors++;
	}
}

/* One record (or the N of a group) in its own transaction, growing the
 * map if it must. */
static void
writer_some(struct journal *j, struct jrec **recs, size_t n,
    struct journal_stats *d)
{
	int64_t	 start = mono_us();
	size_t	 written, i, m = n;
	char	*cause = NULL;
	int	 rc;

	rc = writer_attempt(j, recs, &m, 0, &written, &cause);
	if (rc != STORE_OK) {
		for (i = 0; i < n; i++)
			jrec_fail(recs[i], cause, rc == STORE_UNAVAILABLE ?
			    writer_reason(j, cause) : JOURNAL_R_STORAGE);
	} else if (written > 0) {
		d->commits++;
		d->rows_kept += j->wkept;
		recs[n - 1]->commit_records = written;
		recs[n - 1]->commit_us = mono_us() - start;
		d->commit_us_total += (uint64_t)recs[n - 1]->commit_us;
	}
	free(cause);
	writer_count(recs, n, d);
}

/*
 * writer_try, growing a full map and stalling while the storage cannot
 * take writes.  With SHED, records marked failfast are taken out of RECS
 * (*N shrinks) and failed at once while stalled.  Returns STORE_OK,
 * STORE_ERROR (*cause set), or STORE_UNAVAILABLE (*cause set) only when
 * told to give up.
 */
static int
writer_attempt(struct journal *j, struct jrec **recs, size_t *n, int shed,
    size_t *written, char **cause)
{
	int64_t	 delay = WRITER_STALL_FIRST_MS;
	int	 rc, stalled = 0;

	/* Given up (stopping while stalled): what was queued behind the held
	 * records fails with them, for their reason, never written after
	 * them (a smaller transaction could fit where theirs did not). */
	pthread_mutex_lock(&j->mtx);
	if (j->give_up) {
		*cause = xstrdup(j->wstall_error != NULL ? j->wstall_error :
		    "the journal gave up writing");
		pthread_mutex_unlock(&j->mtx);
		return (STORE_UNAVAILABLE);
	}
	pthread_mutex_unlock(&j->mtx);
	for (;;) {
		/* Every record was shed: only a write tells when the storage
		 * takes writes again, so the stall lasts until one commits. */
		if (stalled && *n == 0)
			rc = writer_probe(j, written, cause);
		else
			rc = writer_try(j, recs, *n, written, cause);
		if (rc == STORE_FULL && j->ops->grow(j->store) == 0)
			continue;
		if (rc == STORE_FULL) {
			free(*cause);
			xasprintf(cause, "journal full: map size limit %zu "
			    "reached", j->ops->map_size(j->store));
			rc = STORE_UNAVAILABLE;
		}
		if (rc != STORE_UNAVAILABLE)
			break;
		stalled = 1;
		writer_stall_mark(j, *cause);
		writer_shed(j, shed ? recs : NULL, n, *cause);
		if (writer_stall(j, *cause, &delay) == -1)
			return (STORE_UNAVAILABLE);
		free(*cause);
		*cause = NULL;
	}
	if (stalled)
		writer_unstall(j);
	return (rc);
}

/*
 * The journal cannot write for CAUSE: fail the records marked failfast,
 * those of the transaction in RECS (if not NULL; the others close up) and
 * those queued behind it, and hand them to the loop now.
 */
static void
writer_shed(struct journal *j, struct jrec **recs, size_t *n,
    const char *cause)
{
	struct jrec_queue	 out, keep;
	struct journal_stats	 d;
	struct jrec		*rec;
	const char		*reason = writer_reason(j, cause);
	size_t			 i, k = 0;
	char			*msg;

	xasprintf(&msg, "the journal cannot write: %s", cause);
	memset(&d, 0, sizeof d);
	STAILQ_INIT(&out);
	for (i = 0; recs != NULL && i < *n; i++) {
		if (!recs[i]->failfast) {
			recs[k++] = recs[i];
			continue;
		}
		jrec_fail(recs[i], msg, reason);
		STAILQ_INSERT_TAIL(&out, recs[i], entry);
		d.errors++;
	}
	if (recs != NULL)
		*n = k;
	STAILQ_INIT(&keep);
	pthread_mutex_lock(&j->mtx);
	while ((rec = STAILQ_FIRST(&j->queue)) != NULL) {
		STAILQ_REMOVE_HEAD(&j->queue, entry);
		if (rec->failfast) {
			jrec_fail(rec, msg, reason);
			STAILQ_INSERT_TAIL(&out, rec, entry);
			d.errors++;
		} else
			STAILQ_INSERT_TAIL(&keep, rec, entry);
	}
	STAILQ_CONCAT(&j->queue, &keep);
	pthread_mutex_unlock(&j->mtx);
	free(msg);
	if (!STAILQ_EMPTY(&out))
		journal_deliver(j, &out, &d);
}

/* The JOURNAL_R_* reason of the storage's last refusal, CAUSE its
 * message ("journal full: ..." for the map at map_max). */
static const char *
writer_reason(struct journal *j, const char *cause)
{
	if (cause != NULL && strncmp(cause, "journal full", 12) == 0)
		return (store_reason(-1));
	return (store_reason(j->ops->last_errno != NULL ?
	    j->ops->last_errno(j->store) : 0));
}

/* Wake the loop so that it sees the stall state (no records with it). */
static void
writer_notify(struct journal *j)
{
	struct jrec_queue	q;
	struct journal_stats	d;

	STAILQ_INIT(&q);
	memset(&d, 0, sizeof d);
	journal_deliver(j, &q, &d);
}

/*
 * The storage refused a transaction for CAUSE: mark the journal stalled
 * (the first time), then wait *DELAY ms (doubled for next time, up to
 * WRITER_STALL_MAX_MS).  Returns -1 when told to give up, else 0.
 */
static int
writer_stall(struct journal *j, const char *cause, int64_t *delay)
{
	struct timespec	ts;
	int		give_up;

	writer_stall_mark(j, cause);
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += *delay / 1000;
	ts.tv_nsec += (*delay % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&j->mtx);
	while (!j->give_up && pthread_cond_timedwait(&j->work_cond, &j->mtx,
	    &ts) != ETIMEDOUT)
		continue;
	give_up = j->give_up;
	pthread_mutex_unlock(&j->mtx);
	if ((*delay *= 2) > WRITER_STALL_MAX_MS)
		*delay = WRITER_STALL_MAX_MS;
	return (give_up ? -1 : 0);
}

/*
 * Mark the journal stalled for CAUSE, the first time: from then on the
 * loop's write gate refuses changes, so none is submitted behind the
 * records about to be shed (which would be held without an answer).
 */
static void
writer_stall_mark(struct journal *j, const char *cause)
{
	int	first;

	pthread_mutex_lock(&j->mtx);
	if ((first = !j->stalled)) {
		j->stalled = 1;
		free(j->wstall_error);
		j->wstall_error = xstrdup(cause != NULL ? cause : "unknown");
		j->wstall_errno = j->ops->last_errno != NULL ?
		    j->ops->last_errno(j->store) : 0;
		if (strncmp(j->wstall_error, "journal full", 12) == 0)
			j->wstall_errno = -1;
	}
	pthread_mutex_unlock(&j->mtx);
	if (first) {
		log_warnx("msg=\"journal cannot write: holding records and "
		    "trying again\" error=\"%s\"", cause);
		writer_notify(j);
	}
}

/* A transaction committed after a stall: the journal writes again. */
static void
writer_unstall(struct journal *j)
{
	pthread_mutex_lock(&j->mtx);
	j->stalled = 0;
	pthread_mutex_unlock(&j->mtx);
	log_info("msg=\"journal writes again\" seq=%llu",
	    (unsigned long long)j->wseq);
	writer_notify(j);
}

/*
 * One transaction for N records.  On STORE_OK every record has its
 * outcome and *WRITTEN says how many were written (0: nothing committed).
 * On STORE_FULL or STORE_ERROR nothing was written and the writer's head
 * is unchanged.
 */
static int
writer_try(struct journal *j, struct jrec **recs, size_t n, size_t *written,
    char **cause)
{
	struct merkle_range	 range;
	struct jrec		*rec;
	uint8_t			 hash[JOURNAL_HASH_LEN];
	uint64_t		 seq = j->wseq, gen, ck = j->wckpt_seq;
	const char		*note = j->wnote;
	size_t			 i;
	int			 rc;

	*written = 0;
	j->npend = j->nptab = 0;
	j->wkept = 0;
	memcpy(hash, j->whash, sizeof hash);
	memcpy(&range, &j->wrange, sizeof range);
	if (j->wauto != NULL)
		j->wauto->seq = 0;
	if ((rc = j->ops->begin(j->store, cause)) != STORE_OK)
		return (rc);
	for (i = 0; i <= n; i++) {
		if (i == n) {
			/* The writer's own checkpoint, when due. */
			rec = j->wauto;
			if (rec == NULL || seq == ck || (!j->wforce &&
			    seq - (ck > j->wckpt_base ? ck : j->wckpt_base) <
			    j->ckpt_every))
				break;
		} else
			rec = recs[i];
		rec->commit_records = 0;
		if (rec->error != NULL) {
			rec->status = JOURNAL_ERROR;
			continue;
		}
		if (rec->ckpt)
			rc = writer_checkpoint(j, rec, &seq, hash, &range, &ck,
			    &note, cause);
		else
			rc = writer_record(j, rec, &seq, hash, &range, cause);
		if (rc != STORE_OK) {
			j->ops->abort(j->store);
			return (rc);
		}
		if (rec->status == JOURNAL_OK && !rec->reused)
			(*written)++;
	}
	if ((rc = writer_flush(j, cause)) != STORE_OK) {
		j->ops->abort(j->store);
		return (rc);
	}
	if (*written == 0) {
		j->ops->abort(j->store);
		return (STORE_OK);
	}
	if ((rc = j->ops->set_head(j->store, seq, hash, cause)) != STORE_OK ||
	    (rc = j->ops->set_range(j->store, &range, cause)) != STORE_OK ||
	    (rc = writer_verified(j, &gen, cause)) != STORE_OK) {
		j->ops->abort(j->store);
		*written = 0;
		return (rc);
	}
	if ((rc = j->ops->commit(j->store, cause)) != STORE_OK) {
		*written = 0;
		return (rc);
	}
	if (gen != 0) {
		pthread_mutex_lock(&j->mtx);
		j->vdone = gen;
		pthread_mutex_unlock(&j->mtx);
	}
	j->wseq = seq;
	memcpy(j->whash, hash, sizeof hash);
	memcpy(&j->wrange, &range, sizeof range);
	if (note != j->wnote) {		/* a checkpoint in this one */
		j->wckpt_base = ck;
		j->wckpt_us = now_us();
		free(j->wnote);
		j->wnote = xstrdup(note);
	}
	j->wckpt_seq = ck == seq ? ck : 0;
	return (STORE_OK);
}

/*
 * Checkpoint record REC after *SEQ (see writer_record), the tree being
 * RANGE; *CK is the seq of the transaction's last record if that is a
 * checkpoint (else 0) and *NOTE its note.  With nothing since that one,
 * REC answers with it and nothing is written.  A note that cannot be
 * signed fails REC alone.
 */
static int
writer_checkpoint(struct journal *j, struct jrec *rec, uint64_t *seq,
    uint8_t *hash, struct merkle_range *range, uint64_t *ck,
    const char **note, char **cause)
{
	char	*why = NULL;
	int	 rc;

	free(rec->note);
	rec->note = NULL;
	rec->reused = 0;
	if (*seq == *ck && *note != NULL) {
		rec->status = JOURNAL_OK;
		rec->seq = *ck;
		rec->reused = 1;
		rec->note = xstrdup(*note);
		return (STORE_OK);
	}
	if (checkpoint_fill(j, rec, range, hash, &why) != 0) {
		jrec_fail(rec, why, JOURNAL_R_STORAGE);
		free(why);
		return (STORE_OK);
	}
	rc = writer_record(j, rec, seq, hash, range, cause);
	if (rc == STORE_OK && rec->status == JOURNAL_OK) {
		*ck = *seq;
		*note = rec->note;
	}
	return (rc);
}

/* A transaction that only rewrites meta's head as it is: it commits when
 * the storage takes writes again.  *WRITTEN is 0. */
static int
writer_probe(struct journal *j, size_t *written, char **cause)
{
	int	rc;

	*written = 0;
	if ((rc = j->ops->begin(j->store, cause)) != STORE_OK)
		return (rc);
	if ((rc = j->ops->set_head(j->store, j->wseq, j->whash, cause)) !=
	    STORE_OK) {
		j->ops->abort(j->store);
		return (rc);
	}
	return (j->ops->commit(j->store, cause));
}

/* Put the pending verified point (journal_set_verified) in meta, in the
 * transaction; *GEN is its generation, 0 if none was pending. */
static int
writer_verified(struct journal *j, uint64_t *gen, char **cause)
{
	uint8_t		hash[JOURNAL_HASH_LEN];
	uint64_t	seq;
	int64_t		scrubbed;

	pthread_mutex_lock(&j->mtx);
	*gen = j->vgen != j->vdone ? j->vgen : 0;
	seq = j->vseq;
	memcpy(hash, j->vhash, sizeof hash);
	scrubbed = j->vscrubbed;
	pthread_mutex_unlock(&j->mtx);
	if (*gen == 0)
		return (STORE_OK);
	return (j->ops->set_verified(j->store, seq, hash, scrubbed, cause));
}

/* Is any claim of REC taken (also by an earlier record of this
 * transaction)?  Sets the outcome to JOURNAL_DUPLICATE if so. */
static int
writer_claims(struct journal *j, struct jrec *rec, char **cause)
{
	uint64_t	owner;
	u_int		i;
	int		rc;

	for (i = 0; i < rec->nops; i++) {
		if (rec->ops[i].type != JREC_CLAIM)
			continue;
		rc = j->ops->claimed(j->store, jrec_str(rec, rec->ops[i].name),
		    &owner, cause);
		if (rc != STORE_OK)
			return (rc);
		if (owner != 0) {
			rec->status = JOURNAL_DUPLICATE;
			rec->dup_seq = owner;
			return (STORE_OK);
		}
	}
	return (STORE_OK);
}

/* A merge, held until the transaction's merges are applied
 * (writer_flush). */
static int
writer_merge(struct journal *j, struct jrec *rec, const struct jrec_op *op,
    char **cause)
{
	const char		*name = jrec_str(rec, op->name);
	struct writer_pending	*p;
	size_t			 i;
	int			 rc;

	for (i = 0; i < j->nptab; i++) {
		if (strcmp(j->wptab[i], name) == 0)
			break;
	}
	if (i == j->nptab) {
		if (j->nptab == JOURNAL_PEND_TABLES &&
		    (rc = writer_flush(j, cause)) != STORE_OK)
			return (rc);
		j->wptab[j->nptab++] = name;
	}
	if (j->npend == j->pendcap) {
		j->pendcap = j->pendcap == 0 ? 64 : j->pendcap * 2;
		j->wpend = xreallocarray(j->wpend, j->pendcap,
		    sizeof *j->wpend);
	}
	p = &j->wpend[j->npend];
	p->rec = rec;
	p->op = op;
	p->order = j->npend++;
	return (STORE_OK);
}

/* Held merges by table, row, then order. */
static int
writer_pending_cmp(const void *x, const void *y)
{
	const struct writer_pending	*a = x, *b = y;
	int				 c;

	if ((c = strcmp(jrec_str(a->rec, a->op->name),
	    jrec_str(b->rec, b->op->name))) != 0)
		return (c);
	if (a->op->klen != b->op->klen)
		return (a->op->klen < b->op->klen ? -1 : 1);
	if ((c = memcmp(jrec_str(a->rec, a->op->key),
	    jrec_str(b->rec, b->op->key), a->op->klen)) != 0)
		return (c);
	return (a->order < b->order ? -1 : a->order > b->order);
}

/* The N held merges of one row: the row as this transaction left it, the
 * deltas added in their order, put back (unless that changed nothing). */
static int
writer_apply(struct journal *j, struct writer_pending *p, size_t n,
    char **cause)
{
	const struct jrec_op	*op = p[0].op;
	struct jrec		*rec = p[0].rec;
	msgpack_sbuffer		 out[2];
	const void		*old, *row;
	size_t			 oldlen, rowlen, i;
	int			 rc, k = 0;

	rc = j->ops->wget(j->store, jrec_str(rec, op->name),
	    jrec_str(rec, op->key), op->klen, &old, &oldlen, cause);
	if (rc != STORE_OK)
		return (rc);
	row = old;
	rowlen = oldlen;
	msgpack_sbuffer_init(&out[0]);
	msgpack_sbuffer_init(&out[1]);
	if (op->merge_all != NULL) {
		if (n > j->deltacap) {
			j->deltacap = n < 64 ? 64 : n;
			j->wdeltas = xreallocarray(j->wdeltas, j->deltacap,
			    sizeof *j->wdeltas);
		}
		for (i = 0; i < n; i++) {
			j->wdeltas[i].data = jrec_val(p[i].rec, p[i].op);
			j->wdeltas[i].len = p[i].op->vlen;
		}
		op->merge_all(old, oldlen, j->wdeltas, n, &out[0]);
	} else {
		for (i = 0; i < n; i++) {
			k = i & 1;
			msgpack_sbuffer_clear(&out[k]);
			p[i].op->merge(old, oldlen, jrec_val(p[i].rec,
			    p[i].op), p[i].op->vlen, &out[k]);
			old = out[k].data;
			oldlen = out[k].size;
		}
	}
	if (row != NULL && rowlen == out[k].size && (rowlen == 0 ||
	    memcmp(row, out[k].data, rowlen) == 0))
		j->wkept++;
	else
		rc = j->ops->put(j->store, jrec_str(rec, op->name),
		    jrec_str(rec, op->key), op->klen, out[k].data, out[k].size,
		    cause);
	msgpack_sbuffer_destroy(&out[0]);
	msgpack_sbuffer_destroy(&out[1]);
	return (rc);
}

/* Are held merges A and B of the same row? */
static int
writer_same_row(const struct writer_pending *a, const struct writer_pending *b)
{
	return (a->op->klen == b->op->klen && memcmp(jrec_str(a->rec,
	    a->op->key), jrec_str(b->rec, b->op->key), a->op->klen) == 0 &&
	    strcmp(jrec_str(a->rec, a->op->name), jrec_str(b->rec,
	    b->op->name)) == 0);
}

/* Apply the held merges, each row's together. */
static int
writer_flush(struct journal *j, char **cause)
{
	size_t	i, k, m, n = j->npend;
	int	rc = STORE_OK;

	j->npend = 0;
	j->nptab = 0;
	if (n == 0)
		return (STORE_OK);
	if (n <= WRITER_GATHER_MAX) {
		/* Few: each row's gathered in their order, no sort. */
		struct writer_pending	grp[WRITER_GATHER_MAX];
		char			done[WRITER_GATHER_MAX];

		memset(done, 0, n);
		for (i = 0; i < n && rc == STORE_OK; i++) {
			if (done[i])
				continue;
			grp[0] = j->wpend[i];
			for (k = 1, m = i + 1; m < n; m++) {
				if (!done[m] && writer_same_row(&j->wpend[i],
				    &j->wpend[m])) {
					grp[k++] = j->wpend[m];
					done[m] = 1;
				}
			}
			rc = writer_apply(j, grp, k, cause);
		}
		return (rc);
	}
	xqsort(j->wpend, n, sizeof *j->wpend, writer_pending_cmp);
	for (i = 0; i < n && rc == STORE_OK; i += k) {
		for (k = 1; i + k < n && writer_same_row(&j->wpend[i],
		    &j->wpend[i + k]); k++)
			continue;
		rc = writer_apply(j, j->wpend + i, k, cause);
	}
	return (rc);
}

/* Before a put or delete in table NAME (and what its index writes):
 * the held merges applied if any is of those tables. */
static int
writer_touch(struct journal *j, const char *name, char **cause)
{
	size_t	i;
	int	idx;

	if (j->npend == 0)
		return (STORE_OK);
	idx = j->index.of != NULL && strcmp(name, j->index.of) == 0;
	for (i = 0; i < j->nptab; i++) {
		if (strcmp(j->wptab[i], name) == 0 || (idx &&
		    strcmp(j->wptab[i], j->index.table) == 0))
			return (writer_flush(j, cause));
	}
	return (STORE_OK);
}

/* Row KEY's (value VAL) entry in J's index: 1 with its key in IKEY and
 * its value in IVAL (cleared first), 0 when the row has none. */
static int
writer_index_entry(struct journal *j, const void *key, size_t klen,
    const void *val, size_t vlen, char *ikey, size_t *iklen,
    msgpack_sbuffer *ival)
{
	msgpack_sbuffer_clear(ival);
	*iklen = 0;
	return (j->index.fn(key, klen, val, vlen, ikey, iklen, ival) == 0 &&
	    *iklen > 0 && *iklen <= JOURNAL_MAX_KEY);
}

/*
 * Before a put (VAL) or a delete (VAL NULL) of row KEY of table NAME: if
 * NAME is the indexed table, the entry of the row it replaces or removes
 * (as the transaction left it) out, the new row's in.
 */
static int
writer_index(struct journal *j, const char *name, const void *key,
    size_t klen, const void *val, size_t vlen, char **cause)
{
	char		 okey[JOURNAL_MAX_KEY + 1], nkey[JOURNAL_MAX_KEY + 1];
	size_t		 oklen, nklen, oldlen;
	const void	*old;
	msgpack_sbuffer	 sb;
	int		 o, n, rc;

	if (j->index.of == NULL || strcmp(name, j->index.of) != 0)
		return (STORE_OK);
	rc = j->ops->wget(j->store, name, key, klen, &old, &oldlen, cause);
	if (rc != STORE_OK)
		return (rc);
	msgpack_sbuffer_init(&sb);
	o = old != NULL && writer_index_entry(j, key, klen, old, oldlen, okey,
	    &oklen, &sb);
	n = val != NULL && writer_index_entry(j, key, klen, val, vlen, nkey,
	    &nklen, &sb);
	if (o && (!n || oklen != nklen || memcmp(okey, nkey, oklen) != 0))
		rc = j->ops->del(j->store, j->index.table, okey, oklen, cause);
	if (rc == STORE_OK && n)
		rc = j->ops->put(j->store, j->index.table, nkey, nklen,
		    sb.data, sb.size, cause);
	msgpack_sbuffer_destroy(&sb);
	return (rc);
}

/*
 * Does the row OP of REC puts hold its value already (read as the
 * transaction left it, its held merges applied by writer_touch)?  Then
 * the row, and its index entry, which comes from the same bytes, stay as
 * they are.  *RC is set when the read fails (1 is returned: nothing more
 * to do for OP).
 */
static int
writer_holds(struct journal *j, struct jrec *rec, const struct jrec_op *op,
    int *rc, char **cause)
{
	const void	*old;
	size_t		 oldlen;

	*rc = j->ops->wget(j->store, jrec_str(rec, op->name),
	    jrec_str(rec, op->key), op->klen, &old, &oldlen, cause);
	if (*rc != STORE_OK)
		return (1);
	if (old == NULL || oldlen != op->vlen || (oldlen > 0 &&
	    memcmp(old, jrec_val(rec, op), oldlen) != 0))
		return (0);
	j->wkept++;
	return (1);
}

/* Write REC's claims and table changes at SEQ. */
static int
writer_ops(struct journal *j, struct jrec *rec, uint64_t seq, char **cause)
{
	const struct jrec_op	*op;
	u_int			 i;
	int			 rc = STORE_OK;

	for (i = 0; i < rec->nops && rc == STORE_OK; i++) {
		op = &rec->ops[i];
		switch (op->type) {
		case JREC_CLAIM:
			rc = j->ops->claim(j->store, jrec_str(rec, op->name),
			    seq, cause);
			break;
		case JREC_PUT:
		case JREC_PUT_LAZY:
			rc = writer_touch(j, jrec_str(rec, op->name), cause);
			if (rc != STORE_OK || (op->type == JREC_PUT_LAZY &&
			    writer_holds(j, rec, op, &rc, cause)))
				break;
			rc = writer_index(j, jrec_str(rec, op->name),
			    jrec_str(rec, op->key), op->klen,
			    jrec_val(rec, op), op->vlen, cause);
			if (rc != STORE_OK)
				break;
			rc = j->ops->put(j->store, jrec_str(rec, op->name),
			    jrec_str(rec, op->key), op->klen,
			    jrec_val(rec, op), op->vlen, cause);
			break;
		case JREC_DEL:
			rc = writer_touch(j, jrec_str(rec, op->name), cause);
			if (rc != STORE_OK)
				break;
			rc = writer_index(j, jrec_str(rec, op->name),
			    jrec_str(rec, op->key), op->klen, NULL, 0, cause);
			if (rc != STORE_OK)
				break;
			rc = j->ops->del(j->store, jrec_str(rec, op->name),
			    jrec_str(rec, op->key), op->klen, cause);
			break;
		case JREC_RELEASE:
			rc = j->ops->unclaim(j->store, jrec_str(rec, op->name),
			    cause);
			break;
		case JREC_MERGE:
			rc = writer_merge(j, rec, op, cause);
			break;
		}
	}
	return (rc);
}

/*
 * Write one record after *SEQ, chaining from HASH; both advance when it is
 * written.  A duplicate or a record too large gets its outcome and
 * STORE_OK with nothing written.
 */
static int
writer_record(struct journal *j, struct jrec *rec, uint64_t *seq,
    uint8_t *hash, struct merkle_range *range, char **cause)
{
	uint8_t		 next_hash[JOURNAL_HASH_LEN], leaf[MERKLE_HASH_LEN];
	uint64_t	 next = *seq + 1;
	int		 rc;

	rec->status = JOURNAL_OK;
	rec->dup_seq = 0;
	if ((rc = writer_claims(j, rec, cause)) != STORE_OK ||
	    rec->status == JOURNAL_DUPLICATE)
		return (rc);
	msgpack_sbuffer_clear(&j->whdr);
	record_pack_header(&j->wpk, next, j->wtime, rec->kind, rec->account);
	if (j->whdr.size + rec->body.len > JOURNAL_MAX_RECORD) {
		jrec_fail(rec, "record too large", JOURNAL_R_INVALID);
		return (STORE_OK);
	}
	chain_ctx_begin(j->wchain, hash);
	chain_ctx_update(j->wchain, j->whdr.data, j->whdr.size);
	chain_ctx_update(j->wchain, rec->body.data, rec->body.len);
	chain_ctx_end(j->wchain, next_hash);
	rc = j->ops->append(j->store, next, next_hash, j->whdr.data,
	    j->whdr.size, rec->body.data, rec->body.len, cause);
	if (rc != STORE_OK || (rc = writer_ops(j, rec, next, cause)) !=
	    STORE_OK)
		return (rc);
	chain_ctx_leaf(j->wchain, j->whdr.data, j->whdr.size, rec->body.data,
	    rec->body.len, leaf);
	merkle_range_append(range, leaf);
	*seq = next;
	memcpy(hash, next_hash, JOURNAL_HASH_LEN);
	rec->seq = next;
	memcpy(rec->hash, next_hash, JOURNAL_HASH_LEN);
	return (STORE_OK);
}
