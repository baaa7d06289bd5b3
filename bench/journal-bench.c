/*
 * bench/journal-bench.c: durable records per second under group commit.
 *
 * A producer on the loop keeps INFLIGHT records submitted (each callback
 * submits the next one) until N records are durable, in a temporary
 * journal.  Records look like the daemon's run records (~150 bytes: kind,
 * account, schedule and run ids, instants, status, cost); --claim adds a
 * dedup claim per record and --put a state-table row, as run.started and
 * run.finished do.  Prints records/s, commits, records per commit, commit
 * latency (writer: begin to durable commit) and ack latency (submit to
 * callback) percentiles; --out FILE writes the same figures as JSON.
 * --checkpoint-every N has the writer sign a checkpoint every N records
 * (a key made in the temporary directory): compare the commit latency
 * with and without.  --keep leaves the journal (DIR/journal, with
 * DIR/keys/journal.pub and DIR/note, the last checkpoint) and prints DIR,
 * for bench/verify-bench.
 *
 *	journal-bench [-n RECORDS] [--inflight N] [--sync full|batch|none]
 *	    [--claim] [--put] [--checkpoint-every N] [--keep] [--dir DIR]
 *	    [--out FILE]
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine.h"
#include "journal.h"
#include "bench.h"

struct bench {
	struct event_base	*base;
	struct journal		*j;
	uint64_t		 total;
	uint64_t		 inflight;
	uint64_t		 submitted;
	uint64_t		 done;
	uint64_t		 failed;
	int			 claim;
	int			 put;
	int64_t			*submit_us;	/* per record */
	int64_t			*ack_us;	/* per record */
	int64_t			*commit_us;	/* per commit */
	uint64_t		 ncommits;
	uint64_t		 notes;		/* checkpoints written */
	uint64_t		 commits_cap;
	uint64_t		 bytes;		/* record bytes */
};

static size_t	 bench_header_size(uint64_t, int64_t);
static int	 bench_id(const char *, uint64_t, char *);
static void	 bench_submit(struct bench *);
static void	 bench_done(const struct journal_result *, void *);
static void	 bench_commit(size_t, int64_t, void *);
static void	 bench_note(uint64_t, const char *, void *);
static double	 percentile_ms(int64_t *, uint64_t, double);
static deadfunc void usage(void);

static struct bench	*bench_self;

static deadfunc void
usage(void)
{
	fprintf(stderr, "usage: journal-bench [-n RECORDS] [--inflight N] "
	    "[--sync full|batch|none] [--claim] [--put]\n"
	    "    [--checkpoint-every N] [--keep] [--dir DIR] [--out FILE]\n");
	exit(2);
}

/* The size of the header the writer packs (about: its time differs). */
static size_t
bench_header_size(uint64_t seq, int64_t time_us)
{
	static msgpack_sbuffer	sb;
	static msgpack_packer	pk;

	if (sb.data == NULL) {
		msgpack_sbuffer_init(&sb);
		msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	}
	msgpack_sbuffer_clear(&sb);
	record_pack_header(&pk, seq, time_us, "run.finished", "acct-0042");
	return (sb.size);
}

/* PREFIX and 12 digits of N into OUT (like random_id's ids); the length. */
static int
bench_id(const char *prefix, uint64_t n, char *out)
{
	int	i;

	memcpy(out, prefix, 4);
	for (i = 15; i >= 4; i--, n /= 10)
		out[i] = '0' + n % 10;
	out[16] = '\0';
	return (16);
}

/* Submit record number b->submitted: a run.finished-like record. */
static void
bench_submit(struct bench *b)
{
	struct jrec	*rec;
	msgpack_packer	*pk;
	uint64_t	 i = b->submitted++;
	int64_t		 t = 1767225600000000LL + (int64_t)i * 1000;
	char		 sched[32], run[32], key[64];
	int		 slen, rlen;

	slen = bench_id("sch_", i % 100000, sched);
	rlen = bench_id("run_", i, run);
	rec = jrec_create("run.finished", "acct-0042");
	pk = jrec_body(rec);
	msgpack_pack_map(pk, 6);
	msgpack_pack_str_with_body(pk, "schedule", 8);
	msgpack_pack_str_with_body(pk, sched, (size_t)slen);
	msgpack_pack_str_with_body(pk, "run", 3);
	msgpack_pack_str_with_body(pk, run, (size_t)rlen);
	msgpack_pack_str_with_body(pk, "scheduled_for", 13);
	msgpack_pack_int64(pk, t);
	msgpack_pack_str_with_body(pk, "started", 7);
	msgpack_pack_int64(pk, t + 1500);
	msgpack_pack_str_with_body(pk, "finished", 8);
	msgpack_pack_int64(pk, t + 2501500);
	msgpack_pack_str_with_body(pk, "status", 6);
	msgpack_pack_str_with_body(pk, "success", 7);
	b->bytes += rec->body.len + bench_header_size(i + 1, t + 2502000);
	if (b->claim) {
		snprintf(key, sizeof key, "%s@%llu", sched,
		    (unsigned long long)i);
		jrec_claim(rec, key);
	}
	if (b->put)
		jrec_put(rec, "runs", run, (size_t)rlen, rec->body.data,
		    rec->body.len);
	b->submit_us[i] = mono_us();
	journal_submit(b->j, rec, bench_done, (void *)(uintptr_t)i);
}

static void
bench_done(const struct journal_result *r, void *arg)
{
	struct bench	*b = bench_self;
	uint64_t	 i = (uintptr_t)arg;

	b->ack_us[b->done++] = mono_us() - b->submit_us[i];
	if (r->status != JOURNAL_OK) {
		if (b->failed++ == 0)
			fprintf(stderr, "journal-bench: record %llu: %s\n",
			    (unsigned long long)i, r->error != NULL ?
			    r->error : "duplicate");
	}
	if (b->submitted < b->total)
		bench_submit(b);
	if (b->done == b->total)
		event_base_loopbreak(b->base);
}

static void
bench_commit(size_t records, int64_t us, void *arg)
{
	struct bench	*b = arg;

	if (b->ncommits == b->commits_cap) {
		b->commits_cap = b->commits_cap == 0 ? 4096 :
		    b->commits_cap * 2;
		b->commit_us = xreallocarray(b->commit_us, b->commits_cap,
		    sizeof *b->commit_us);
	}
	b->commit_us[b->ncommits++] = us;
}

/* The P-th percentile (0..1) of N microsecond samples, in ms (sorts). */
/* A checkpoint: counted, and kept in DIR/note (the last one). */
static void
bench_note(uint64_t seq, const char *note, void *arg)
{
	char	*path;
	FILE	*f;

	bench_self->notes++;
	xasprintf(&path, "%s/note", (const char *)arg);
	if ((f = fopen(path, "w")) == NULL)
		fatal("%s", path);
	fputs(note, f);
	fclose(f);
	free(path);
}

static double
percentile_ms(int64_t *v, uint64_t n, double p)
{
	bench_sort(v, n);
	return (bench_percentile(v, n, p) / 1000.0);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "records", required_argument, NULL, 'n' },
		{ "inflight", required_argument, NULL, 'i' },
		{ "sync", required_argument, NULL, 's' },
		{ "claim", no_argument, NULL, 'c' },
		{ "put", no_argument, NULL, 'p' },
		{ "dir", required_argument, NULL, 'd' },
		{ "out", required_argument, NULL, 'o' },
		{ "checkpoint-every", required_argument, NULL, 'C' },
		{ "keep", no_argument, NULL, 'k' },
		{ NULL, 0, NULL, 0 }
	};
	struct journal_options	 o;
	struct journal_stats	 st;
	struct bench		 b;
	const char		*out = NULL, *parent = NULL, *sync = "full";
	char			*tmp, *jdir, *cause;
	int64_t			 start, elapsed;
	double			 secs, rate, c50, c99, a50, a99;
	uint64_t		 i;
	FILE			*f;
	int			 ch, keep = 0;
	char			*key, *pub;

	memset(&b, 0, sizeof b);
	memset(&o, 0, sizeof o);
	b.total = 1000000;
	b.inflight = 10000;
	while ((ch = getopt_long(argc, argv, "n:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'n':
			b.total = (uint64_t)bench_number("journal-bench",
			    "--records", optarg, 1, 100000000, 0);
			break;
		case 'i':
			b.inflight = (uint64_t)bench_number("journal-bench",
			    "--inflight", optarg, 1, 10000000, 0);
			break;
		case 's':
			sync = optarg;
			if (strcmp(optarg, "full") == 0)
				o.sync = JOURNAL_SYNC_FULL;
			else if (strcmp(optarg, "batch") == 0)
				o.sync = JOURNAL_SYNC_BATCH;
			else if (strcmp(optarg, "none") == 0)
				o.sync = JOURNAL_SYNC_NONE;
			else
				usage();
			break;
		case 'c':
			b.claim = 1;
			break;
		case 'p':
			b.put = 1;
			break;
		case 'd':
			parent = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 'C':
			o.checkpoint_every = (uint64_t)bench_number(
			    "journal-bench", "--checkpoint-every", optarg, 1,
			    100000000, 0);
			o.checkpoint_interval_us = -1;
			break;
		case 'k':
			keep = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc || b.total == 0 || b.inflight == 0)
		usage();
	log_open("journal-bench", LOG_LEVEL_WARN);
	tmp = bench_tmpdir(parent, "journal-bench");
	xasprintf(&jdir, "%s/journal", tmp);

	b.submit_us = xreallocarray(NULL, b.total, sizeof *b.submit_us);
	b.ack_us = xreallocarray(NULL, b.total, sizeof *b.ack_us);
	b.base = event_base_new();
	if ((b.j = journal_open(jdir, &o, &cause)) == NULL)
		fatalx("%s", cause);
	xasprintf(&key, "%s/keys/journal.key", tmp);
	xasprintf(&pub, "%s/keys/journal.pub", tmp);
	if ((o.checkpoint_every != 0 || keep) &&
	    checkpoint_key(b.j, key, pub, 1, &cause) != 0)
		fatalx("%s", cause);
	checkpoint_set_hook(b.j, bench_note, tmp);
	if (journal_start(b.j, b.base, &cause) != 0)
		fatalx("%s", cause);
	journal_add_commit_hook(b.j, bench_commit, &b);
	bench_self = &b;

	start = mono_us();
	for (i = 0; i < b.inflight && b.submitted < b.total; i++)
		bench_submit(&b);
	event_base_dispatch(b.base);
	elapsed = mono_us() - start;
	journal_stats(b.j, &st);
	journal_close(b.j);
	event_base_free(b.base);
	if (keep)
		printf("journal-bench: kept %s\n", tmp);
	else
		bench_rm_tree(tmp);
	free(key);
	free(pub);
	free(jdir);
	free(tmp);

	secs = elapsed / 1e6;
	rate = b.total / secs;
	c50 = percentile_ms(b.commit_us, b.ncommits, 0.50);
	c99 = percentile_ms(b.commit_us, b.ncommits, 0.99);
	a50 = percentile_ms(b.ack_us, b.done, 0.50);
	a99 = percentile_ms(b.ack_us, b.done, 0.99);
	printf("journal-bench: %llu records, sync %s, %llu in flight%s%s, "
	    "checkpoints %s\n", (unsigned long long)b.total, sync,
	    (unsigned long long)b.inflight, b.claim ? ", claim" : "",
	    b.put ? ", put" : "", o.checkpoint_every != 0 || keep ?
	    "signed" : "off");
	if (o.checkpoint_every != 0 || keep)
		printf("  checkpoints         %llu written (every %llu "
		    "records)\n", (unsigned long long)b.notes,
		    (unsigned long long)(o.checkpoint_every != 0 ?
		    o.checkpoint_every : JOURNAL_CHECKPOINT_EVERY));
	printf("  record bytes mean   %.1f\n", (double)b.bytes / b.total);
	printf("  elapsed             %.3f s\n", secs);
	printf("  records/s           %.0f\n", rate);
	printf("  commits             %llu\n", (unsigned long long)st.commits);
	printf("  records/commit      %.1f\n", st.commits ?
	    (double)st.records / st.commits : 0.0);
	printf("  commit latency      p50 %.3f ms, p99 %.3f ms\n", c50, c99);
	printf("  ack latency         p50 %.3f ms, p99 %.3f ms\n", a50, a99);
	printf("  map size            %zu bytes\n", st.map_size);
	printf("  failed              %llu\n", (unsigned long long)b.failed);
	if (out != NULL) {
		if ((f = fopen(out, "w")) == NULL)
			fatal("%s", out);
		fprintf(f, "{\"bench\":\"journal\",\"records\":%llu,"
		    "\"sync\":\"%s\",\"inflight\":%llu,\"claim\":%s,"
		    "\"put\":%s,\"record_bytes_mean\":%.1f,\"elapsed_s\":%.3f,"
		    "\"records_per_s\":%.0f,\"commits\":%llu,"
		    "\"records_per_commit\":%.1f,\"commit_p50_ms\":%.3f,"
		    "\"commit_p99_ms\":%.3f,\"ack_p50_ms\":%.3f,"
		    "\"ack_p99_ms\":%.3f,\"map_size\":%zu,\"failed\":%llu}\n",
		    (unsigned long long)b.total, sync,
		    (unsigned long long)b.inflight, b.claim ? "true" : "false",
		    b.put ? "true" : "false", (double)b.bytes / b.total, secs,
		    rate, (unsigned long long)st.commits, st.commits ?
		    (double)st.records / st.commits : 0.0, c50, c99, a50, a99,
		    st.map_size, (unsigned long long)b.failed);
		fclose(f);
	}
	free(b.submit_us);
	free(b.ack_us);
	free(b.commit_us);
	return (b.failed == 0 ? 0 : 1);
}
