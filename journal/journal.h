/*
 * journal/journal.h: the append-only, hash-chained journal on LMDB.
 *
 * A record is a msgpack array [version, seq, time_us, kind, account, body]
 * (doc/journal-format.md).  The loop builds a record (struct jrec), attaches
 * the dedup claims and state-table changes it causes, and submits it.  A
 * writer thread takes every record submitted since its last commit, writes
 * them (log entry + hash + claims + table changes) in one LMDB transaction,
 * commits once, and hands the outcomes back to the loop, where each record's
 * callback runs, in seq order.  Nothing a record claims may be acted on
 * before its callback says it is durable.
 *
 * Threads: every function here is called on the loop thread, except the
 * read-only journal_reader_* family, which any process may use.
 */
#ifndef CHIME_JOURNAL_H
#define CHIME_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <jansson.h>
#include <msgpack.h>

#define JOURNAL_FORMAT_VERSION	1
#define JOURNAL_HASH_LEN	32
#define JOURNAL_MAX_KEY		511

enum journal_sync {
	JOURNAL_SYNC_FULL,	/* durable: every commit is fsynced (default) */
	JOURNAL_SYNC_BATCH,	/* metadata sync deferred: last commits may be
				   lost on power failure, never corrupted */
	JOURNAL_SYNC_NONE,	/* no fsync: an OS crash may lose or corrupt */
};

enum journal_status {
	JOURNAL_OK,		/* the record is durable at result->seq */
	JOURNAL_DUPLICATE,	/* a claimed key exists; nothing was written;
				   result->dup_seq is the seq that owns it */
	JOURNAL_ERROR,		/* not written; result->error says why */
};

struct journal_result {
	enum journal_status	 status;
	uint64_t		 seq;
	uint64_t		 dup_seq;
	const char		*error;		/* borrowed for the callback */
};

typedef void (*journal_done_cb)(const struct journal_result *, void *);

struct journal;
struct jrec;

/* One row of a state table, handed to a journal_table_foreach callback;
 * key and value point into LMDB's map and are valid only in the callback. */
struct journal_row {
	const void	*key;
	size_t		 klen;
	const void	*val;
	size_t		 vlen;
};

struct journal_options {
	enum journal_sync	 sync;
	size_t			 map_initial;	/* bytes; 0: 64 MiB */
	size_t			 map_max;	/* bytes; 0: 64 GiB */
	int			 readonly;	/* readers: no writer thread */
};

/* journal.c: the daemon-side journal (open, submit, group commit). */

/*
 * Open (creating if needed) the journal in DIR (DATA/journal).  Runs
 * mdb_reader_check, checks the chain tail (the last record's hash against
 * meta's head).  Returns NULL and an allocated *cause on failure.
 */
struct journal	*journal_open(const char *, const struct journal_options *,
		     char **);
/* Start the writer thread and deliver completions on BASE. */
int		 journal_start(struct journal *, struct event_base *, char **);
/* Wait for every submitted record to be committed and its callback run,
 * stop the writer thread, close LMDB. */
void		 journal_close(struct journal *);
/* Run callbacks for everything committed so far, blocking until the queue
 * is empty (used at drain). */
void		 journal_flush(struct journal *);

/* Build a record.  KIND is "schedule.created", "run.started", ...;
 * ACCOUNT may be NULL (daemon-level records). */
struct jrec	*jrec_create(const char *, const char *);
/* The body: pack exactly one msgpack map with this packer. */
msgpack_packer	*jrec_body(struct jrec *);
/* Claim a dedup key (<= JOURNAL_MAX_KEY bytes): if it exists the whole
 * record is refused with JOURNAL_DUPLICATE and nothing is written. */
void		 jrec_claim(struct jrec *, const char *);
/* Put or delete a row of a state table in the record's transaction. */
void		 jrec_put(struct jrec *, const char *, const void *, size_t,
		     const void *, size_t);
void		 jrec_del(struct jrec *, const char *, const void *, size_t);
void		 jrec_free(struct jrec *);

/* Hand the record over (always consumed).  CB runs on the loop once the
 * record is durable, refused or failed; never before this returns. */
void		 journal_submit(struct journal *, struct jrec *,
		     journal_done_cb, void *);

/* Last durable seq and chain head. */
uint64_t	 journal_seq(struct journal *);
void		 journal_head(struct journal *, uint8_t[JOURNAL_HASH_LEN]);
/* Records submitted but not yet durable. */
size_t		 journal_pending(struct journal *);
/* Cumulative figures for status and metrics. */
struct journal_stats {
	uint64_t	commits;
	uint64_t	records;
	uint64_t	duplicates;
	uint64_t	errors;
	uint64_t	commit_us_total;
	size_t		map_size;
};
void		 journal_stats(struct journal *, struct journal_stats *);

/* Read a state table (loop thread, read-only transaction).  The callback
 * returns 0 to go on, non-zero to stop.  PREFIX (may be NULL) limits the
 * walk to keys that begin with it; REVERSE walks from the end. */
int		 journal_table_foreach(struct journal *, const char *,
		     const void *, size_t, int,
		     int (*)(const struct journal_row *, void *), void *);
/* Copy one row's value: 0 and allocated *val, or -1 if absent. */
int		 journal_table_get(struct journal *, const char *,
		     const void *, size_t, void **, size_t *);
/* Does a dedup key exist?  Returns its seq, or 0. */
uint64_t	 journal_dedup_seq(struct journal *, const char *);

/* record.c: the msgpack codec shared by the daemon and chime-journal. */
struct record {
	uint64_t	 version;
	uint64_t	 seq;
	int64_t		 time_us;
	char		*kind;
	char		*account;	/* NULL if nil */
	msgpack_object	 body;		/* points into the record's zone */
	msgpack_zone	*zone;
};
int		 record_decode(const void *, size_t, struct record *, char **);
void		 record_clear(struct record *);
/* Convert any msgpack object to JSON (binary as base64 string). */
json_t		*record_object_to_json(const msgpack_object *);
json_t		*record_to_json(const struct record *, const uint8_t *);

/* chain.c */
void		 chain_genesis(uint8_t[JOURNAL_HASH_LEN]);
void		 chain_next(const uint8_t[JOURNAL_HASH_LEN], const void *,
		     size_t, uint8_t[JOURNAL_HASH_LEN]);
void		 chain_hex(const uint8_t[JOURNAL_HASH_LEN], char[65]);

#endif /* CHIME_JOURNAL_H */
