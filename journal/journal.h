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
 * Threads: every function here is called on the loop thread.  A journal
 * opened with the readonly option (chime-journal, while the daemon runs in
 * another process) has no writer thread: its reads (journal_table_*,
 * journal_log_foreach, journal_verify, journal_meta) work, its submits fail.
 * The record_* and chain_* functions are pure and may be called anywhere.
 *
 * Errors.  Functions that a person's action can make fail return -1 (or
 * NULL) and an allocated message in *cause; the caller frees it.  A record
 * that cannot be written never fails its submitter directly: its callback
 * runs with JOURNAL_ERROR and a message, and no other record suffers.
 */
#ifndef CHIME_JOURNAL_H
#define CHIME_JOURNAL_H

#include <sys/types.h>
#include <sys/queue.h>

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <jansson.h>
/* Buffers start small: most packs are a few hundred bytes, and an 8 KB
 * first allocation is one malloc's small caches do not hold. */
#ifndef MSGPACK_SBUFFER_INIT_SIZE
#define MSGPACK_SBUFFER_INIT_SIZE	512
#endif
#include <msgpack.h>

#define JOURNAL_FORMAT_VERSION	1
#define JOURNAL_HASH_LEN	32
#define JOURNAL_MAX_KEY		511
#define JOURNAL_MAX_RECORD	(16 * 1024 * 1024) /* record or value bytes */
#define JOURNAL_MAX_TABLES	60	/* besides log, dedup and meta */
#define JOURNAL_BATCH_MAX	8192	/* records per LMDB transaction */
#define JOURNAL_GROUP_MAX	64	/* records a group keeps together */
#define JOURNAL_PEND_TABLES	4	/* tables of merges held at once */
#define JOURNAL_MAX_DEPTH	32	/* msgpack nesting in a record */
#define JOURNAL_MAX_STR		255	/* bytes of a kind or an account */
#define JOURNAL_CHECKPOINT_EVERY 10000	/* records between checkpoints */
#define JOURNAL_CHECKPOINT_INTERVAL_US (60 * 1000000LL) /* or this long */
#define JOURNAL_CHECKPOINT_KIND	"checkpoint"

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

/*
 * Why a record was not written, or why the journal cannot write
 * (journal_result.reason, journal_stalled; the data.reason of a control
 * answer, doc/protocol.md): static strings.
 */
#define JOURNAL_R_DISK_FULL	"disk_full"	/* the file system is full */
#define JOURNAL_R_MAP_FULL	"map_full"	/* the map reached map_max */
#define JOURNAL_R_IO_ERROR	"io_error"	/* an I/O error (EIO) */
#define JOURNAL_R_READ_ONLY	"read_only"	/* opened read-only, or a
						   read-only file system */
#define JOURNAL_R_INVALID	"invalid_record" /* the record itself: a bad
						   key, table, body, size */
#define JOURNAL_R_STORAGE	"storage"	/* any other LMDB error */

struct journal_result {
	enum journal_status	 status;
	uint64_t		 seq;
	uint64_t		 dup_seq;
	const char		*error;		/* borrowed for the callback */
	const char		*reason;	/* JOURNAL_R_*, with an error */
	const char		*note;		/* a checkpoint's signed note
						   (borrowed for the callback) */
};

typedef void (*journal_done_cb)(const struct journal_result *, void *);

struct journal;
struct jrec;
struct record;
struct chain_ctx;

/* One row of a state table, handed to a journal_table_foreach callback;
 * key and value point into LMDB's map and are valid only in the callback. */
struct journal_row {
	const void	*key;
	size_t		 klen;
	const void	*val;
	size_t		 vlen;
};

/*
 * A table kept from another: for a row of table "of" put or deleted, its
 * entry in table "table", from a pure function of the row (it runs on the
 * writer thread, inside the write transaction): 0 with the entry's key in
 * KEY (*KLEN bytes, at most JOURNAL_MAX_KEY) and its value packed into
 * VAL, or -1 when the row has none.  The writer deletes the entry of the
 * row a put replaces or a delete removes, and puts the new row's, in the
 * record's own transaction.
 */
typedef int (*journal_index_fn)(const void *, size_t, const void *, size_t,
    char *, size_t *, msgpack_sbuffer *);
struct journal_index {
	const char		*of;		/* NULL: no index */
	const char		*table;
	journal_index_fn	 fn;
};

struct journal_options {
	enum journal_sync	 sync;
	size_t			 map_initial;	/* bytes; 0: 64 MiB */
	size_t			 map_max;	/* bytes; 0: 64 GiB */
	int			 readonly;	/* readers: no writer thread */
	uint64_t		 start_check_max; /* records checked at open
					   before going on; 0: 100000 */
	uint64_t		 checkpoint_every;	/* records; 0: 10000 */
	int64_t			 checkpoint_interval_us; /* 0: 60 s; < 0:
					   none but by count, request, close */
	struct journal_index	 index;		/* a table kept from another */
};

/* One log entry handed to a journal_log_foreach callback: HASH (32 bytes)
 * and REC (the msgpack record bytes) point into LMDB's map and are valid
 * only in the callback. */
struct journal_entry {
	uint64_t	 seq;
	const uint8_t	*hash;
	const void	*rec;
	size_t		 len;
};

/* The meta table (doc/journal-format.md).  The last three keys are
 * optional (0 and zeros when absent). */
struct journal_meta {
	uint64_t	 format;
	char		 journal_id[33];	/* 32 hex digits */
	uint64_t	 head_seq;
	uint8_t		 head_hash[JOURNAL_HASH_LEN];
	int64_t		 created_us;
	uint64_t	 verified_seq;	/* the chain was read back and
					   verified up to here */
	uint8_t		 verified_hash[JOURNAL_HASH_LEN];
	int64_t		 scrubbed_us;	/* the last whole-chain scrub ended */
	int		 has_range;	/* merkle_range is present ... */
	struct merkle_range range;	/* ... the tree over the log as the
					   writer keeps it (size: records) */
	/* The anchor of a log whose records 1..anchor_seq were archived
	   and pruned (chime-journal archive): the log begins at
	   anchor_seq + 1, chained from anchor_hash = hash(anchor_seq), and
	   anchor_range is the Merkle tree's compact range over the
	   archived records.  anchor_seq 0: nothing was pruned. */
	uint64_t	 anchor_seq;
	uint8_t		 anchor_hash[JOURNAL_HASH_LEN];
	struct merkle_range anchor_range;
};

/*
 * Checking the chain record by record (journal_verify, the check at open,
 * the scrub): the next seq expected, the hash and time of the one before.
 */
struct journal_check {
	uint64_t	 expect;
	uint8_t		 prev[JOURNAL_HASH_LEN];
	int64_t		 time_us;	/* of expect - 1; INT64_MIN: none */
	uint64_t	 records;	/* records that verified */
	uint64_t	 bad_seq;	/* the first bad seq; 0: none yet */
	char		*cause;		/* why, with bad_seq (allocated) */
	struct chain_ctx *ctx;		/* hashing context (made on use) */
	const uint8_t	*computed;	/* SHA-256(prev || record) of the next
					   entry, computed by the caller (the
					   stored hash of the entry before
					   standing for prev); NULL: here */
	const struct record *scanned;	/* the next entry's header as
					   record_scan took it, by the caller
					   (record_cb then NULL); NULL: here */
	/* A snapshot's meta whose anchor the first entry starts from
	   (journal_check_anchor), read in the walk's own transaction;
	   NULL: as set. */
	const struct journal_meta *anchor;
	/* Called with each record that passed, its header decoded (may be
	   NULL); its body may be left nil (record_scan): record_decode the
	   entry for it.  Returns 0, or -1 after journal_check_fail-like
	   bad_seq/cause. */
	int		(*record_cb)(struct journal_check *,
			    const struct journal_entry *,
			    const struct record *);
	void		*arg;
};

/*
 * The chain as the daemon knows it (journal_chain): the verified point of
 * meta, and the first break found, at open or by the scrub.
 */
struct journal_chain {
	uint64_t	 verified_seq;
	int64_t		 scrubbed_us;	/* meta; 0: never */
	uint64_t	 start_from;	/* the open checked from here ... */
	uint64_t	 start_to;	/* ... to here ... */
	uint64_t	 start_records;	/* ... this many records */
	int		 start_partial;	/* only the last records were: the
					   scrub checks the rest at once */
	uint64_t	 start_check_max;	/* see journal_options */
	uint64_t	 broken_seq;	/* the first bad seq; 0: none known */
	const char	*broken_reason;	/* NULL when none */
	const char	*found_by;	/* "start" or "scrub" */
	int64_t		 found_us;
};

/* What journal_verify found. */
struct journal_verify {
	uint64_t	 records;	/* records that verified */
	uint64_t	 last_seq;	/* last good seq (0: none) */
	uint64_t	 bad_seq;	/* first bad seq; 0 if intact */
	uint8_t		 head[JOURNAL_HASH_LEN];	/* hash of last_seq */
};

/* journal.c: the daemon-side journal (open, submit, group commit). */

/*
 * Open (creating if needed) the journal in DIR (DATA/journal).  Refuses a
 * data.mdb shorter than the pages LMDB's meta page says are in use (or of
 * 0 bytes), runs mdb_reader_check, checks the chain tail (the last
 * record's hash against meta's head), then checks the chain from meta's
 * verified point to the tail: a break found there does not fail the open
 * (journal_chain reports it, and the verified point is lowered to before
 * it, so that every open finds it again).  Returns NULL and an allocated
 * *cause on failure.  A readonly open skips both chain checks, so that a
 * damaged journal can still be inspected (journal_verify checks
 * everything).
 *
 * DIR is created mode 0700 if missing (not in readonly mode).  OPTIONS may
 * be NULL (defaults).  A writer holds an exclusive flock on DIR/writer.lock
 * until journal_close.  Errors (in *cause): the directory cannot be created
 * or opened; another writer has it open ("already open for writing"); it
 * is not an LMDB environment or not a chime journal; the
 * format version is newer than JOURNAL_FORMAT_VERSION; map_initial is
 * larger than map_max; the chain tail does not verify ("chain tail
 * mismatch at seq N: ...") - the journal is then left untouched.
 */
struct journal	*journal_open(const char *, const struct journal_options *,
		     char **);
/*
 * Start the writer thread and deliver completions on BASE: the writer
 * wakes the loop through a pipe watched by a persistent EV_READ event on
 * BASE.  Readonly journals get the event but no thread.  Errors: called
 * twice, or the thread or event cannot be created.
 */
int		 journal_start(struct journal *, struct event_base *, char **);
/* Wait for every submitted record to be committed and its callback run,
 * stop the writer thread, close LMDB.  Callbacks that submit more records
 * are waited for too.  journal_close(NULL) is a no-op. */
void		 journal_close(struct journal *);
/* Run callbacks for everything committed so far, blocking until the queue
 * is empty (used at drain): returns once journal_pending() is 0.  Starts
 * the writer if journal_start was not called.  May be called from a
 * callback; callbacks still run in order. */
void		 journal_flush(struct journal *);

/* Build a record.  KIND is "schedule.created", "run.started", ...;
 * ACCOUNT may be NULL (daemon-level records).  Never returns NULL; an
 * empty or over-long (> JOURNAL_MAX_STR bytes) KIND or ACCOUNT makes the
 * record fail with JOURNAL_ERROR when it is submitted. */
struct jrec	*jrec_create(const char *, const char *);
/* The body: pack exactly one msgpack map with this packer.  Borrowed; valid
 * until the record is submitted or freed. */
msgpack_packer	*jrec_body(struct jrec *);
/* The bytes of the body packed so far from offset OFF on (*LEN of
 * them; OFF is a length the body had): for a row that is also a part of
 * the body, packed once and given to jrec_put.  Borrowed; valid until
 * the body grows. */
const void	*jrec_body_since(struct jrec *, size_t, size_t *);
/* Room for BODY more bytes of body, ARENA more bytes of keys and values
 * and NOPS more table changes, so that a record of many rows is not
 * copied as it grows.  Only a hint: anything past it still fits. */
void		 jrec_reserve(struct jrec *, size_t, size_t, size_t);
/* Add KEY with VAL (LEN bytes of one packed msgpack value) to the body
 * map packed so far (its entry count grows by one).  For a value known
 * only once the body is packed (the table rows a record carries, so that
 * replay can rebuild them from the log).  Copied. */
void		 jrec_body_add(struct jrec *, const char *, const void *,
		     size_t);
/* Claim a dedup key (<= JOURNAL_MAX_KEY bytes): if it exists the whole
 * record is refused with JOURNAL_DUPLICATE and nothing is written.  An
 * empty or over-long key makes the record fail with JOURNAL_ERROR. */
void		 jrec_claim(struct jrec *, const char *);
/* Put or delete a row of a state table in the record's transaction.
 * The table (1-64 of [A-Za-z0-9._-], not "log", "dedup" or "meta") is
 * created on first put.  Key 1..JOURNAL_MAX_KEY bytes, value at most
 * JOURNAL_MAX_RECORD bytes; anything else makes the record fail with
 * JOURNAL_ERROR.  Deleting an absent row is not an error.  Key and value
 * are copied. */
void		 jrec_put(struct jrec *, const char *, const void *, size_t,
		     const void *, size_t);
/* jrec_put of a row that records often put again unchanged (a run's
 * active row, its schedule's progress row): the writer leaves a row that holds these
 * bytes already alone, so that no page is copied and written for it.
 * The table ends the same either way. */
void		 jrec_put_lazy(struct jrec *, const char *, const void *,
		     size_t, const void *, size_t);
/* jrec_put of a row that is also a part of the body: LEN bytes of the
 * body from offset OFF on (OFF a length the body had), packed there once
 * and not copied; the writer reads the row from the body.  A range past
 * the body makes the record fail with JOURNAL_ERROR. */
void		 jrec_put_body(struct jrec *, const char *, const void *,
		     size_t, size_t, size_t);
void		 jrec_del(struct jrec *, const char *, const void *, size_t);
/*
 * A row's new value from its value now (OLD, OLDLEN bytes; NULL and 0
 * when absent) and DELTA (DLEN bytes), packed into OUT.  It runs on the
 * writer thread inside the record's transaction, so it sees what the
 * records before it in that transaction wrote: it must be pure (no state
 * of the loop), and it cannot fail (an old value it cannot read counts as
 * absent).
 */
typedef void (*journal_merge_fn)(const void *, size_t, const void *, size_t,
		     msgpack_sbuffer *);
/* A delta of a merge. */
struct journal_delta {
	const void	*data;
	size_t		 len;
};
/*
 * The same for N deltas at once, in their order: what N calls of the
 * journal_merge_fn would leave, packed once (the writer merges all the
 * deltas of a row in one transaction together).
 */
typedef void (*journal_merge_all_fn)(const void *, size_t,
		     const struct journal_delta *, size_t, msgpack_sbuffer *);
/* Merge DELTA into row KEY of TABLE in the record's transaction with FN
 * (counters that two records of one transaction both add to).  Table and
 * key are checked as jrec_put's; DELTA is copied.  The writer applies a
 * transaction's merges of a row together, before anything else of the
 * transaction reads or writes that table and before the commit; with
 * ALL (may be NULL) in one call. */
void		 jrec_merge(struct jrec *, const char *, const void *, size_t,
		     journal_merge_fn, const void *, size_t);
void		 jrec_merge_all(struct jrec *, const char *, const void *,
		     size_t, journal_merge_fn, journal_merge_all_fn,
		     const void *, size_t);
/* Release a dedup key in the record's transaction: it may be claimed
 * again afterwards (keys kept for a window, such as webhook ids). */
void		 jrec_release(struct jrec *, const char *);
/* Free a record that was never submitted.  jrec_free(NULL) is a no-op. */
void		 jrec_free(struct jrec *);
/* While the journal cannot write, fail this record (JOURNAL_ERROR, with
 * the storage's reason) instead of holding it until the journal can: for
 * records of requests that change nothing until their callback, so that
 * their callers get an answer now.  Every other record is held. */
void		 jrec_failfast(struct jrec *);

/* Hand the record over (always consumed).  CB runs on the loop once the
 * record is durable, refused or failed; never before this returns.  A
 * body that is not exactly one msgpack map, an invalid claim, table or key
 * (see above), a readonly journal, a full map past map_max ("journal full:
 * map size limit N reached") or an LMDB error give JOURNAL_ERROR, with
 * result->reason saying which (JOURNAL_R_*); a failed record is logged
 * with its kind, account and the seq it would have had. */
void		 journal_submit(struct journal *, struct jrec *,
		     journal_done_cb, void *);
/* A callback for records whose outcome only needs logging: a warning if
 * the record was not written. */
void		 journal_log_cb(const struct journal_result *, void *);

/* A sentence saying what REASON (JOURNAL_R_*) means, for people: "the
 * disk holding the journal is full", ...  Static. */
const char	*journal_reason_text(const char *);

/* Last durable seq and chain head, as of the last callback that ran. */
/*
 * Drop the resident pages of the journal's map from this process (they
 * stay in the page cache and come back on the next touch).  Recovery reads
 * every state row through the map; afterwards this gives the memory back.
 * No errors.
 */
void		 journal_release_cache(struct journal *);
void		 journal_group_begin(struct journal *);
void		 journal_group_end(struct journal *);
uint64_t	 journal_seq(struct journal *);
void		 journal_head(struct journal *, uint8_t[JOURNAL_HASH_LEN]);
/* Records submitted whose callback has not run yet. */
size_t		 journal_pending(struct journal *);
/*
 * Is the journal unable to write (no space, I/O error, the map at its
 * limit)?  Then its writer holds every record submitted, in order, and
 * tries again (every 0.1 s, slowing to every 5 s) until it can: no record
 * is lost or reordered, and callbacks wait.  Returns 1 with *reason (a
 * word: "disk_full", "io_error", "read_only", "map_full", "storage") and
 * *error (the store's message; both borrowed until the next call on the
 * loop), else 0.  With both NULL it answers from what the loop was last
 * told, without taking the writer's lock (for hot paths).  Loop thread.
 */
int		 journal_stalled(struct journal *, const char **, const char **);
/* Call FN(stalled, ARG) on the loop when the journal stops or starts
 * writing again (after the callbacks of that moment). */
void		 journal_set_stall_hook(struct journal *, void (*)(int, void *),
		     void *);
/* Give up on held records (shutdown): the writer fails them, as a crash
 * would have lost them; the next start settles what they were about. */
void		 journal_stop_retrying(struct journal *);
/* Cumulative figures for status and metrics. */
struct journal_stats {
	uint64_t	commits;
	uint64_t	records;
	uint64_t	duplicates;
	uint64_t	errors;
	uint64_t	commit_us_total;
	uint64_t	rows_kept;	/* puts left out: the row held those
					   bytes (jrec_put_lazy, merges) */
	size_t		map_size;
};
void		 journal_stats(struct journal *, struct journal_stats *);
/* Bytes of the map in use (up to the last page written). */
size_t		 journal_map_used(struct journal *);
int		 journal_copy(struct journal *, int, char **);
/*
 * Call FN(records, commit_us, ARG) on the loop after the callbacks of each
 * committed transaction: how many records it made durable and how long the
 * writer spent from begin to commit (fsync included); journal_seq() is then
 * the durable head.  For metrics, benchmarks and readers that follow the
 * log (events.watch, subscriptions).  Any number of hooks, called in the
 * order they were added; a hook may add or remove hooks (its own or
 * another's) while it runs: a removed one is not called again, an added
 * one from the next commit.  Removing a pair never added does nothing.
 */
void		 journal_add_commit_hook(struct journal *,
		     void (*)(size_t, int64_t, void *), void *);
void		 journal_remove_commit_hook(struct journal *,
		     void (*)(size_t, int64_t, void *), void *);

/* Read a state table (loop thread, read-only transaction).  The callback
 * returns 0 to go on, non-zero to stop.  PREFIX (may be NULL) limits the
 * walk to keys that begin with it; REVERSE walks from the end.
 * Returns 0 (walked or stopped; a table never written to is empty), -1 on
 * an LMDB read error (logged). */
int		 journal_table_foreach(struct journal *, const char *,
		     const void *, size_t, int,
		     int (*)(const struct journal_row *, void *), void *);
/* As journal_table_foreach over the whole table, forward, then END(ARG)
 * once, also when the walk fails: the rows handed to the callback are
 * valid until END returns (a reader may work on them after the walk). */
int		 journal_table_foreach_end(struct journal *, const char *,
		     int (*)(const struct journal_row *, void *),
		     void (*)(void *), void *);
/* As journal_table_foreach forward, from the first key at or after START
 * (SLEN bytes) among those with PREFIX: a range read without walking what
 * comes before it (the callback stops past its end). */
int		 journal_table_seek(struct journal *, const char *,
		     const void *, size_t, const void *, size_t,
		     int (*)(const struct journal_row *, void *), void *);
/* As journal_table_seek, backwards from the last key before BEFORE (BLEN
 * bytes; the key itself excluded) among those with PREFIX. */
int		 journal_table_seek_back(struct journal *, const char *,
		     const void *, size_t, const void *, size_t,
		     int (*)(const struct journal_row *, void *), void *);
/* Copy one row's value: 0 and allocated *val (NUL-terminated past *vlen
 * bytes, for convenience), or -1 if absent (or on a read error, logged). */
int		 journal_table_get(struct journal *, const char *,
		     const void *, size_t, void **, size_t *);
/* Does a dedup key exist?  Returns its seq, or 0 (also on a read error,
 * logged). */
uint64_t	 journal_dedup_seq(struct journal *, const char *);

/* Walk the log from seq FROM (1: everything) in one read transaction;
 * the callback returns 0 to go on, non-zero to stop.  META (may be NULL)
 * is filled from the same snapshot.  Returns 0, or -1 and *cause on a
 * read error. */
int		 journal_log_foreach(struct journal *, uint64_t,
		     struct journal_meta *,
		     int (*)(const struct journal_entry *, void *), void *,
		     char **);
/* Read the meta table.  Returns 0, or -1 and *cause. */
int		 journal_meta(struct journal *, struct journal_meta *, char **);
/*
 * Delete the log's records up to seq UPTO (after meta's anchor, before its
 * head) and make UPTO the anchor: HASH is hash(UPTO) and RANGE the Merkle
 * tree's compact range over records 1..UPTO, both as the caller computed
 * them from the records it archived first.  One transaction; the dedup
 * keys the records claimed stay.  Only on a journal opened for writing
 * whose writer was not started (chime-journal archive).  Returns 0, or -1
 * and *cause.
 */
int		 journal_prune(struct journal *, uint64_t, const uint8_t *,
		     const struct merkle_range *, char **);
/*
 * Verify the whole chain from genesis in one snapshot: every record passes
 * journal_check_entry, meta's head is the last record.  Returns 0 if
 * intact, -1 with result->bad_seq and *cause ("hash mismatch",
 * "record: ...") for the first bad seq; bad_seq is 0 if reading itself
 * failed.  On a meta mismatch bad_seq is the seq after the last record
 * (meta's head_seq is larger), the seq after meta's head (it is smaller),
 * or the last record (head_hash differs; 1 in an empty journal).
 */
int		 journal_verify(struct journal *, struct journal_verify *,
		     char **);
/* Start checking at seq 1 from the genesis hash. */
void		 journal_check_init(struct journal_check *);
/* Start checking after meta M's anchor instead (its records 1..anchor_seq
 * were archived); nothing changes when M has none. */
void		 journal_check_anchor(struct journal_check *,
		     const struct journal_meta *);
/* After the walk: meta's head must be the last record checked.  Returns
 * 0, or -1 with bad_seq and cause set. */
int		 journal_check_meta(struct journal_check *,
		     const struct journal_meta *);
/*
 * Check the next log entry: its seq is the one expected, its value holds
 * a hash and a record that decodes (record_decode) with the same seq and
 * no duplicate map key (record_check_keys), its time_us is not before the
 * previous record's, and its hash is SHA-256(previous hash || record).
 * Returns 0 (the check moves on), or -1 with bad_seq and cause set.
 */
int		 journal_check_entry(struct journal_check *,
		     const struct journal_entry *);
/* Free the cause and the hashing context.  Safe twice. */
void		 journal_check_clear(struct journal_check *);
/* The chain as known now (loop thread); strings borrowed until the next
 * journal call. */
void		 journal_chain(struct journal *, struct journal_chain *);

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
/*
 * Decode untrusted record bytes into *REC.  Everything in *REC (kind,
 * account, body and the strings inside it) lives in rec->zone, a copy
 * independent of the input; record_clear frees it.  Returns 0, or -1 and
 * *cause for anything but exactly one array of 6 with the right types:
 * truncated input, trailing bytes, nesting deeper than JOURNAL_MAX_DEPTH,
 * sizes that exceed the input, more than JOURNAL_MAX_RECORD bytes, an
 * unknown version, seq 0, a kind that is not 1..JOURNAL_MAX_STR bytes or
 * holds NUL, an account that is neither such a string nor nil, a body
 * that is not a map.
 */
int		 record_decode(const void *, size_t, struct record *, char **);
/* Free what record_decode allocated; safe on a zeroed or cleared record. */
void		 record_clear(struct record *);
/* Convert any msgpack object to JSON (binary as base64 string).  Maps with
 * string keys become objects; other keys are stringified (their compact
 * JSON text, or the string itself); bin is base64; ext is {"ext": TYPE,
 * "data": BASE64}; unsigned integers above INT64_MAX and non-finite floats
 * become strings; invalid UTF-8 is replaced by U+FFFD.  Returns a new
 * reference, never NULL. */
json_t		*record_object_to_json(const msgpack_object *);
/* Check that no map in O (at any depth, keys included) has two keys with
 * the same name in the export (record_to_json): 0, or -1 and *cause
 * ("duplicate map key \"NAME\""). */
int		 record_check_keys(const msgpack_object *, char **);
/* A record's header as record_scan reads it: rec's kind and account
 * point into the copies here; its body is nil and its zone NULL. */
struct record_head {
	struct record	 rec;
	char		 kind[JOURNAL_MAX_STR + 1];
	char		 account[JOURNAL_MAX_STR + 1];
};
/*
 * What record_decode and then record_check_keys on its body check, in one
 * walk of the bytes and without an allocation, for records of the usual
 * shape: nested at most 8 deep, no ext value, maps of at most 32 keys that
 * are strings of valid UTF-8 without NUL.  Returns 0 when both would take
 * the bytes, with the header in *H (the body is not decoded); -1 when
 * they might refuse them or the record has another shape: only
 * record_decode and record_check_keys tell which, and why.
 */
int		 record_scan(const void *, size_t, struct record_head *);
/*
 * The export line's object of a record (doc/journal-format.md, "The export
 * format"): {"seq", "time" (RFC 3339, ms), "time_us", "kind", "account",
 * "body", "hash" (hex; omitted if HASH is NULL)}.  In the body, a key
 * ending "_micro" becomes "_usd" and its integers strings of dollars with
 * six decimals (-1: null); the JSON text under "parameters", "result",
 * "default_parameters", "ui" and "batch_template" is parsed; -1 under
 * "input_tokens", "output_tokens", "by_uid" and "by_pid" is null; the rest as
 * record_object_to_json.  Returns a new reference, or NULL and *cause when
 * a map has two keys of one name.
 */
json_t		*record_to_json(const struct record *, const uint8_t *,
		     char **);
/* Check that BUF holds exactly one msgpack map, nested at most
 * JOURNAL_MAX_DEPTH - 1 deep.  Returns 0, or -1 and *cause. */
int		 record_check_body(const void *, size_t, char **);
/* Pack the five header elements of a record (an array of 6 whose sixth
 * element, the body, the caller appends as raw bytes). */
void		 record_pack_header(msgpack_packer *, uint64_t, int64_t,
		     const char *, const char *);

/* chain.c: SHA-256 chaining, hash(n) = SHA-256(hash(n-1) || record(n)). */
/* hash(0) = SHA-256("chime-journal-genesis-v1"). */
void		 chain_genesis(uint8_t[JOURNAL_HASH_LEN]);
/* OUT = SHA-256(PREV || DATA); OUT may be PREV. */
void		 chain_next(const uint8_t[JOURNAL_HASH_LEN], const void *,
		     size_t, uint8_t[JOURNAL_HASH_LEN]);
/* 64 lower-case hex digits and a NUL. */
void		 chain_hex(const uint8_t[JOURNAL_HASH_LEN], char[65]);
/* Parse 64 hex digits.  Returns 0, or -1 if S is not exactly that. */
int		 chain_unhex(const char *, uint8_t[JOURNAL_HASH_LEN]);
/* A reusable hashing context for hot paths (no allocation per hash):
 * begin with PREV, update with each piece of the record, end into OUT.
 * chain_ctx_create never returns NULL. */
struct chain_ctx;
struct chain_ctx *chain_ctx_create(void);
void		 chain_ctx_begin(struct chain_ctx *,
		     const uint8_t[JOURNAL_HASH_LEN]);
void		 chain_ctx_update(struct chain_ctx *, const void *, size_t);
void		 chain_ctx_end(struct chain_ctx *, uint8_t[JOURNAL_HASH_LEN]);
void		 chain_ctx_free(struct chain_ctx *);
/* The RFC 6962 leaf hash SHA-256(0x00 || A || B) of a record whose bytes
 * are A (ALEN) then B (BLEN; B may be NULL), into OUT. */
void		 chain_ctx_leaf(struct chain_ctx *, const void *, size_t,
		     const void *, size_t, uint8_t[JOURNAL_HASH_LEN]);

/*
 * checkpoint.c: signed checkpoints over the log (doc/journal-format.md,
 * "Checkpoints, proofs and the witness").  Leaf N-1 of the Merkle tree is
 * record N's bytes (without its chain hash); the writer keeps the tree's
 * compact range in meta with every commit and, when due, writes a
 * "checkpoint" record (account nil) as the last of a transaction: every
 * checkpoint_every records or checkpoint_interval_us, on request
 * (checkpoint_request) and at journal_close; never two with nothing in
 * between.  Its body: tree_size (the seq before it), root and head_hash
 * (hex) and note, a C2SP signed note of the checkpoint text
 * (note_checkpoint_format) with the origin "chime.journal/JOURNAL_ID" and
 * the extension line "head_hash HEX".  Without a key (checkpoint_key) no
 * checkpoint is written.
 */
#define CHECKPOINT_ORIGIN_PREFIX "chime.journal/"
#define CHECKPOINT_EXT_HEAD	"head_hash "
/* A checkpoint record's body, or a witnessed note, decoded. */
struct checkpoint_info {
	uint64_t	 tree_size;
	uint8_t		 root[JOURNAL_HASH_LEN];
	uint8_t		 head[JOURNAL_HASH_LEN];	/* chain hash of
							   tree_size */
	int		 has_head;
	char		*origin;
	char		*note;		/* the signed note (allocated) */
};
/* The journal's origin, "chime.journal/JOURNAL_ID" (borrowed). */
const char	*checkpoint_origin(struct journal *);
/*
 * Sign checkpoints with the Ed25519 key in the PEM file KEY (named by the
 * origin); if it is missing and CREATE, make a new one there (its
 * directory 0700, the file 0600).  PUB (may be NULL) then holds the
 * verifier key (C2SP vkey text and a newline, mode 0644), rewritten when
 * it differs.  Before journal_start.  Returns 0, or -1 and *cause (the
 * key cannot be read, is readable by others, is not Ed25519; the files
 * cannot be written).
 */
int		 checkpoint_key(struct journal *, const char *, const char *,
		     int, char **);
/* The verifier key of the signing key (allocated), or NULL if none. */
char		*checkpoint_vkey(struct journal *);
/*
 * Write a checkpoint now (after every record submitted before).  CB runs
 * when it is durable, with result->note (and result->seq the checkpoint
 * record's seq); with nothing written since the last checkpoint, that one
 * is answered again.  Returns 0, or -1 and *cause when the journal has no
 * signing key or is read-only.
 */
int		 checkpoint_request(struct journal *, journal_done_cb, void *,
		     char **);
/* Call FN(seq, note, ARG) on the loop for each checkpoint record made
 * durable (NOTE borrowed for the call). */
void		 checkpoint_set_hook(struct journal *,
		     void (*)(uint64_t, const char *, void *), void *);
/*
 * Decode the body of checkpoint record REC into *INFO (checkpoint_clear
 * frees it): 0, or -1 and *cause.  The note is not verified here.
 */
int		 checkpoint_decode(const struct record *,
		     struct checkpoint_info *, char **);
/*
 * Read the signed note NOTE (LEN bytes) into *INFO: verified with V
 * unless V is NULL (then only parsed), its text a checkpoint whose
 * origin is ORIGIN unless ORIGIN is NULL.  0, or -1 and *cause.
 */
int		 checkpoint_note(const char *, size_t,
		     const struct note_verifier *, const char *,
		     struct checkpoint_info *, char **);
void		 checkpoint_clear(struct checkpoint_info *);
/* (internal) Fill the body and note of checkpoint record REC for the
 * tree RANGE whose last record has chain hash HEAD (writer thread):
 * 0, or -1 and *cause. */
int		 checkpoint_fill(struct journal *, struct jrec *,
		     const struct merkle_range *, const uint8_t *, char **);
/* (internal) At open: the writer's range from meta, or computed from the
 * log when meta has none or one of another size; the last checkpoint
 * from the tail.  0, or -1 and *cause. */
int		 checkpoint_load(struct journal *, const struct journal_meta *,
		     char **);
/* (internal) journal_close: free what checkpoint_key made. */
void		 checkpoint_free(struct journal *);

/*
 * archive.c: an archived prefix of the log in a file (doc/journal-format.md,
 * "Archives"): a header (the journal and the anchor the records follow),
 * the log's entries as they were, a trailer.
 */
struct archive_head {
	char		 journal_id[33];
	uint64_t	 anchor_seq;	/* the records begin after it */
	uint8_t		 anchor_hash[JOURNAL_HASH_LEN];
	struct merkle_range anchor_range;
	int64_t		 created_us;
};
struct archive_tail {
	uint64_t	 last_seq;
	uint8_t		 last_hash[JOURNAL_HASH_LEN];
	uint64_t	 records;
};
struct archive_writer;
/* Begin an archive at PATH, written to PATH.tmp until archive_finish:
 * NULL and *cause if PATH or PATH.tmp exists or cannot be made. */
struct archive_writer *archive_create(const char *,
		     const struct archive_head *, char **);
/* Append the next log entry (its seq follows the last): 0, or -1 and
 * *cause (out of order, a write error). */
int		 archive_add(struct archive_writer *,
		     const struct journal_entry *, char **);
/* Write the trailer, fsync, link the file to its name, fsync the
 * directory; frees W.  0, or -1 and *cause (PATH.tmp removed). */
int		 archive_finish(struct archive_writer *, char **);
/* Give up: remove PATH.tmp, free W.  NULL is a no-op. */
void		 archive_discard(struct archive_writer *);
/*
 * Read the archive PATH: its header into *HEAD, then CB(entry, ARG) for
 * each record in seq order (non-zero stops: 1 is returned), then its
 * trailer into *TAIL.  Checks the framing only (header, entries in order
 * after the anchor, the trailer agrees with them, nothing after it); the
 * chain is the caller's to check.  0, 1, or -1 and *cause.
 */
int		 archive_read(const char *, struct archive_head *,
		     int (*)(const struct journal_entry *, void *), void *,
		     struct archive_tail *, char **);

/* main.c: what chime-journal's commands share.  The usage (exit 2); the
 * data directory among ARGC operands (else $CHIME_DATA, else chimed's
 * default); DATA's journal directory (WHAT "journal") or a file of its keys
 * directory (allocated); the journal opened read-only, or exit 1. */
deadfunc void	 jcli_usage(void);
const char	*jcli_data(int, char **);
char		*jcli_path(const char *, const char *);
struct journal	*jcli_open(const char *);

/* proof.c: chime-journal's pubkey, verify, prove and check-proof
 * commands (ARGV[0] is the command's name); they return the exit status. */
int		 proof_cmd_pubkey(int, char **);
int		 proof_cmd_verify(int, char **);
int		 proof_cmd_prove(int, char **);
int		 proof_cmd_check(int, char **);

/* main-backup.c: chime-journal backup. */
int		 cmd_backup(int, char **);

/*
 * store-lmdb.c: the storage interface, behind a function table, and its
 * LMDB backend (store_lmdb_ops).  Only journal/ calls it.
 *
 * Write side (writer thread only): begin, then any of append / claimed /
 * claim / put / del / set_head, then commit or abort.  These return
 * STORE_OK; STORE_FULL when the map is full (abort, grow, retry);
 * STORE_UNAVAILABLE with *cause when the storage cannot take writes now
 * (no space, I/O error, read-only file system: the writer holds its
 * records and tries again); or STORE_ERROR with *cause.  After any but
 * STORE_OK the transaction must be aborted.
 * grow doubles the map up to map_max and returns -1 when it cannot.
 * Read side (any thread): each call runs its own read transaction and
 * returns 0, or -1 and *cause.
 */
#define STORE_OK	0
#define STORE_FULL	1
#define STORE_UNAVAILABLE 2
#define STORE_ERROR	(-1)

struct store;
struct store_ops {
	const char	*name;
	struct store	*(*open)(const char *, const struct journal_options *,
			     char **);
	void		 (*close)(struct store *);
	size_t		 (*map_size)(struct store *);
	size_t		 (*map_used)(struct store *);

	int		 (*begin)(struct store *, char **);
	int		 (*commit)(struct store *, char **);
	void		 (*abort)(struct store *);
	int		 (*grow)(struct store *);
	/* seq, hash, header bytes, body bytes: value = hash || hdr || body */
	int		 (*append)(struct store *, uint64_t, const uint8_t *,
			     const void *, size_t, const void *, size_t,
			     char **);
	/* in the write transaction: the seq owning a key, 0 if none */
	int		 (*claimed)(struct store *, const char *, uint64_t *,
			     char **);
	int		 (*claim)(struct store *, const char *, uint64_t,
			     char **);
	int		 (*put)(struct store *, const char *, const void *,
			     size_t, const void *, size_t, char **);
	int		 (*del)(struct store *, const char *, const void *,
			     size_t, char **);
	int		 (*set_head)(struct store *, uint64_t, const uint8_t *,
			     char **);
	/* meta's verified_seq, verified_hash, scrubbed_us (0: unchanged) */
	int		 (*set_verified)(struct store *, uint64_t,
			     const uint8_t *, int64_t, char **);

	int		 (*meta)(struct store *, struct journal_meta *,
			     char **);
	/* the highest seq in the log (0: empty) */
	int		 (*log_last)(struct store *, uint64_t *, char **);
	/* END (may be NULL) is called once before the walk's transaction
	   ends, also when the walk fails: entries stay valid until then. */
	int		 (*log_foreach)(struct store *, uint64_t,
			     struct journal_meta *,
			     int (*)(const struct journal_entry *, void *),
			     void (*)(void *), void *, char **);
	int		 (*table_foreach)(struct store *, const char *,
			     const void *, size_t, int,
			     int (*)(const struct journal_row *, void *),
			     void (*)(void *), void *, char **);
	/* 0 and allocated value, 1 if absent, -1 on error */
	int		 (*table_get)(struct store *, const char *,
			     const void *, size_t, void **, size_t *, char **);
	/* the seq owning a key (0: none) in its own read transaction */
	int		 (*dedup_get)(struct store *, const char *, uint64_t *,
			     char **);
	/* the system error behind the last STORE_UNAVAILABLE (writer) */
	int		 (*last_errno)(struct store *);
	/* a consistent copy of the whole store, compacted, written to FD */
	int		 (*copy)(struct store *, int, char **);
	/* drop this process's resident pages of the map (page cache stays) */
	void		 (*release_cache)(struct store *);
	/* in the write transaction: delete a claim (absent: no error) */
	int		 (*unclaim)(struct store *, const char *, char **);
	/* in the write transaction: meta's merkle_range */
	int		 (*set_range)(struct store *,
			     const struct merkle_range *, char **);
	/* the rows with a prefix from a start key on, in key order
	   (reverse: from the last key before it, backwards) */
	int		 (*table_seek)(struct store *, const char *,
			     const void *, size_t, const void *, size_t, int,
			     int (*)(const struct journal_row *, void *),
			     void *, char **);
	/* in the write transaction: a row as the transaction left it
	   (*VAL NULL when absent; valid until the next write) */
	int		 (*wget)(struct store *, const char *, const void *,
			     size_t, const void **, size_t *, char **);
	/* in the write transaction: delete the log up to seq UPTO and
	   make it meta's anchor, with its hash and compact range */
	int		 (*prune)(struct store *, uint64_t, const uint8_t *,
			     const struct merkle_range *, char **);
};
extern const struct store_ops store_lmdb_ops;
/* The JOURNAL_R_* reason of a write error: an errno or LMDB code (-1 or
 * MDB_MAP_FULL: the map at map_max).  The one place codes become reasons;
 * a commit's EIO on a nearly full file system is ENOSPC already (see
 * store_lmdb_commit). */
const char	*store_reason(int);
/* V as 8 big-endian bytes in OUT: the key of log entry V, and the meta
 * values. */
void		 store_be64(uint64_t, uint8_t[8]);
/* The 8 big-endian bytes at P as a number. */
uint64_t	 store_get_be64(const void *);

/*
 * Internals shared by jrec.c, journal.c and writer.c; other modules use
 * only the functions above.
 */
#define JREC_CLAIM	0
#define JREC_PUT	1
#define JREC_DEL	2
#define JREC_RELEASE	3
#define JREC_MERGE	4
#define JREC_PUT_LAZY	5

/* A claim, put or delete: offsets into the record's arena (a value of
 * jrec_put_body: into its body; jrec_val finds it). */
struct jrec_op {
	int		 type;
	int		 inbody;	/* val is an offset into the body */
	uint32_t	 name;		/* claim key or table name, NUL-ended */
	uint32_t	 key;
	uint32_t	 klen;
	uint32_t	 val;		/* a put's value, a merge's delta */
	uint32_t	 vlen;
	journal_merge_fn merge;		/* JREC_MERGE */
	journal_merge_all_fn merge_all;	/* ... or NULL */
};

/* A growable byte buffer (body, arena). */
struct jbuf {
	char		*data;
	size_t		 len;
	size_t		 cap;
};

struct jrec {
	STAILQ_ENTRY(jrec)	 entry;
	const char		*kind;		/* in the same allocation */
	const char		*account;	/* NULL: nil */
	struct jbuf		 body;
	msgpack_packer		 pk;
	struct jbuf		 arena;
	struct jrec_op		*ops;
	u_int			 nops;
	u_int			 opcap;
	char			*error;		/* sticky; the record fails */
	int			 failfast;	/* see jrec_failfast */
	int			 ckpt;		/* a checkpoint: the writer
						   makes its body */
	int			 internal;	/* made by the writer: no
						   submitter, not pending */
	int			 reused;	/* nothing since the last
						   checkpoint: that one */
	int			 grouped;	/* the next record is in the
						   same transaction */
	char			*note;		/* a checkpoint's note */

	journal_done_cb		 cb;
	void			*cbarg;

	/* The outcome, filled by the writer. */
	enum journal_status	 status;
	uint64_t		 seq;
	uint64_t		 dup_seq;
	char			*result_error;	/* owned */
	const char		*result_reason;	/* JOURNAL_R_* */
	uint8_t			 hash[JOURNAL_HASH_LEN];
	size_t			 commit_records; /* non-zero on the last record
						    of a commit */
	int64_t			 commit_us;
};
STAILQ_HEAD(jrec_queue, jrec);

struct journal_hook {
	void			(*fn)(size_t, int64_t, void *); /* NULL: removed */
	void			*arg;
};

struct journal {
	const struct store_ops	*ops;
	struct store		*store;
	int			 readonly;

	/* Loop thread only. */
	struct event_base	*base;
	struct event		*ev;
	struct jrec_queue	 ready;		/* outcomes being delivered */
	size_t			 pending;	/* callbacks not yet run */
	uint64_t		 seq;		/* as of the last callback */
	uint8_t			 head[JOURNAL_HASH_LEN];
	struct journal_hook	*hooks;		/* commit hooks */
	size_t			 nhooks;
	size_t			 hooks_alloc;
	int			 hooks_busy;	/* being called: compact later */
	struct journal_chain	 chain;
	char			*broken_reason;	/* chain.broken_reason */
	struct scrub		*scrub;
	void			(*stall_hook)(int, void *);
	void			*stall_hookarg;
	int			 stall_seen;	/* as last told to the hook */
	char			 stall_reason[16];
	char			*stall_error;

	/* Shared, under mtx. */
	pthread_mutex_t		 mtx;
	pthread_cond_t		 work_cond;	/* records queued or stop */
	pthread_cond_t		 done_cond;	/* outcomes ready */
	struct jrec_queue	 queue;		/* submitted, not taken */
	struct jrec_queue	 group;		/* submitted in a group that
						   is not closed yet (loop) */
	int			 grouping;	/* journal_group_begin depth */
	struct jrec_queue	 done;		/* outcomes, not taken */
	int			 notified;	/* a byte is in the pipe */
	int			 stopping;
	int			 stalled;	/* the writer holds records */
	int			 give_up;	/* journal_stop_retrying */
	char			*wstall_error;	/* why, while stalled */
	int			 wstall_errno;	/* -1: the map at its limit */
	struct journal_stats	 stats;
	int			 pipe[2];
	/* A verified point the writer puts in meta with its next commit
	   (journal_set_verified): pending while vgen != vdone. */
	uint64_t		 vgen;
	uint64_t		 vdone;
	uint64_t		 vseq;
	uint8_t			 vhash[JOURNAL_HASH_LEN];
	int64_t			 vscrubbed;

	/* Writer thread only (after writer_start). */
	pthread_t		 thread;
	int			 started;
	struct journal_index	 index;		/* set at open */
	uint64_t		 wseq;
	uint64_t		 wkept;		/* the transaction's rows_kept */
	uint8_t			 whash[JOURNAL_HASH_LEN];
	int64_t			 wtime;
	msgpack_sbuffer		 whdr;
	msgpack_packer		 wpk;
	struct chain_ctx	*wchain;
	struct jrec		**wrecs;	/* the transaction's records */
	struct merkle_range	 wrange;	/* the tree over the log */
	uint64_t		 wckpt_seq;	/* the last record if it is a
						   checkpoint, else 0 */
	uint64_t		 wckpt_base;	/* records are counted from */
	struct jrec		*wauto;		/* this batch's own checkpoint */
	int			 wforce;	/* ... due whatever the count */
	int64_t			 wckpt_us;	/* its time (or the start's) */
	char			*wnote;		/* its note */
	struct writer_pending	*wpend;		/* merges not yet applied */
	size_t			 npend;
	size_t			 pendcap;
	struct journal_delta	*wdeltas;	/* one row's, applied */
	size_t			 deltacap;
	const char		*wptab[JOURNAL_PEND_TABLES]; /* their tables */
	size_t			 nptab;

	/* Checkpoints (checkpoint.c): set before journal_start. */
	char			 origin[64];	/* chime.journal/JOURNAL_ID */
	struct note_signer	*signer;	/* NULL: no checkpoints */
	uint64_t		 ckpt_every;
	int64_t			 ckpt_interval_us;
	void			(*ckpt_hook)(uint64_t, const char *, void *);
	void			*ckpt_hookarg;
};

/* jrec.c */
/* Validate and finish a record before it is queued: 0, or -1 and
 * rec->error set. */
int		 jrec_seal(struct jrec *);
/* Set the outcome of a failed record (MSG copied, REASON a JOURNAL_R_*). */
void		 jrec_fail(struct jrec *, const char *, const char *);
const char	*jrec_str(const struct jrec *, uint32_t);
const char	*jrec_val(const struct jrec *, const struct jrec_op *);

/* writer.c: the writer thread. */
int		 writer_start(struct journal *, char **);
void		 writer_stop(struct journal *);

/* journal.c (internal) */
/* Hand committed or failed records to the loop (writer thread). */
void		 journal_deliver(struct journal *, struct jrec_queue *,
		     const struct journal_stats *);
/* Have the writer put in meta, with its next commit, that the chain
 * verified up to SEQ whose hash is HASH (and, if SCRUBBED_US is not 0,
 * that a whole-chain scrub ended then).  Loop thread. */
void		 journal_set_verified(struct journal *, uint64_t,
		     const uint8_t *, int64_t);
/* Remember the first break known: SEQ, REASON (copied), FOUND_BY
 * ("start", "scrub"); SEQ 0 forgets it (a scrub found the chain whole). */
void		 journal_set_broken(struct journal *, uint64_t, const char *,
		     const char *);

/*
 * scrub.c: the background scrub.  On the loop, in slices of at most
 * SCRUB_SLICE_US of work (a read transaction each) SCRUB_GAP_MS apart,
 * it walks the whole chain from genesis to the head of when it began
 * with journal_check_entry, every INTERVAL (the first one INTERVAL after
 * the last one meta remembers, or after the journal's creation).  Each
 * scrub ends with a journal.scrub record; a break is also logged, and a
 * break found by the open is recorded by scrub_start.
 */
#define SCRUB_SLICE_US		2000
#define SCRUB_SLICE_RECORDS	4096
#define SCRUB_GAP_MS		10

struct scrub_status {
	int64_t		 interval_us;	/* 0: no scrub */
	int64_t		 next_us;	/* when the next one begins; 0 none */
	int		 running;
	uint64_t	 at_seq;	/* running: the next seq it checks */
	uint64_t	 to_seq;	/* running: where it stops */
	uint64_t	 scrubs;	/* scrubs ended since the start */
};

/* Record a break the open found, then arm the scrub (INTERVAL 0: none).
 * Loop thread, after journal_start.  Returns 0, or -1 and *cause. */
int		 scrub_start(struct journal *, int64_t, char **);
/* Stop it (journal_close does).  No-op when not started. */
void		 scrub_stop(struct journal *);
void		 scrub_status(struct journal *, struct scrub_status *);

#endif /* CHIME_JOURNAL_H */
