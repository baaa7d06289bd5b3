/*
 * journal/main-archive.c: chime-journal archive, which moves the log's
 * oldest records into a file and prunes them from the journal, leaving an
 * anchor (the last archived seq, its hash and the Merkle tree's compact
 * range over the archived records) from which the rest of the log chains
 * on (doc/journal-format.md, "Archives").
 *
 * In order, nothing pruned until the end: take the writer lock (chimed
 * must be stopped), check that no subscription still has to deliver the
 * records, walk them in one snapshot checking the chain while writing the
 * file, sync and name the file, read it back and check it again, then
 * delete the records and write the anchor in one transaction.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "journal.h"
#include "actors.h"

struct archive_walk {
	struct journal_check	 c;
	struct merkle_range	 range;
	struct archive_writer	*w;
	uint64_t		 upto;
	uint8_t			 hash[JOURNAL_HASH_LEN];	/* of upto */
	char			*cause;
};

/* Where --before TIME falls: the first record at or after it. */
struct archive_find {
	int64_t			 before_us;
	uint64_t		 seq;		/* 0: none */
	char			*cause;
};

struct archive_subs {
	uint64_t		 upto;
	int			 blocked;
};

int			 cmd_archive(int, char **);
static int		 archive_find_entry(const struct journal_entry *,
			     void *);
static uint64_t		 archive_before(struct journal *,
			     const struct journal_meta *, const char *);
static int		 archive_sub_row(const struct journal_row *, void *);
static int		 archive_walk_entry(const struct journal_entry *,
			     void *);
static int		 archive_check_entry(const struct journal_entry *,
			     void *);
static int		 archive_write(struct journal *,
			     const struct journal_meta *, uint64_t,
			     const char *, struct archive_walk *);
static int		 archive_reread(const char *,
			     const struct journal_meta *,
			     const struct archive_walk *);

static int
archive_find_entry(const struct journal_entry *e, void *arg)
{
	struct archive_find	*f = arg;
	struct record		 rec;

	if (e->hash == NULL || record_decode(e->rec, e->len, &rec,
	    &f->cause) != 0) {
		if (f->cause == NULL)
			f->cause = xstrdup("value shorter than a hash");
		f->seq = e->seq;
		return (1);
	}
	if (rec.time_us >= f->before_us)
		f->seq = e->seq;
	record_clear(&rec);
	return (f->seq != 0);
}

/* The seq --before names (a seq, or the first record at or after an RFC
 * 3339 instant), or exit 2 (bad usage) or 1. */
static uint64_t
archive_before(struct journal *j, const struct journal_meta *m,
    const char *s)
{
	struct archive_find	 f;
	unsigned long long	 v;
	char			*end, *cause;

	if (*s >= '0' && *s <= '9' && strchr(s, '-') == NULL &&
	    strchr(s, ':') == NULL) {
		errno = 0;
		v = strtoull(s, &end, 10);
		if (*end != '\0' || errno != 0 || v == 0) {
			fprintf(stderr, "chime-journal: --before: not a seq "
			    "(from 1) or an RFC 3339 time: %s\n", s);
			jcli_usage();
		}
		return (v);
	}
	memset(&f, 0, sizeof f);
	if (parse_rfc3339(s, &f.before_us) != 0) {
		fprintf(stderr, "chime-journal: --before: not a seq or an RFC "
		    "3339 time (2026-01-01T00:00:00Z): %s\n", s);
		jcli_usage();
	}
	if (journal_log_foreach(j, m->anchor_seq + 1, NULL,
	    archive_find_entry, &f, &cause) != 0) {
		fprintf(stderr, "chime-journal: %s\n", cause);
		exit(1);
	}
	if (f.cause != NULL) {
		fprintf(stderr, "chime-journal: seq %" PRIu64 ": record: %s\n",
		    f.seq, f.cause);
		exit(1);
	}
	/* every record is older: all but the last, which stays */
	return (f.seq != 0 ? f.seq : m->head_seq);
}

/* A subscription that has not passed UPTO yet blocks the archive. */
static int
archive_sub_row(const struct journal_row *row, void *arg)
{
	struct archive_subs	*as = arg;
	struct sub_row		 r;
	char			*cause;

	if (sub_row_decode(row->val, row->vlen, &r, &cause) != 0) {
		fprintf(stderr, "chime-journal: subscription %.*s: %s\n",
		    (int)row->klen, (const char *)row->key, cause);
		free(cause);
		as->blocked = 1;
		return (0);
	}
	if (r.state != SUB_DISABLED && r.cursor < as->upto) {
		fprintf(stderr, "chime-journal: subscription %s (account %s, "
		    "%s) has passed seq %" PRIu64 " only: archiving up to "
		    "seq %" PRIu64 " would lose its events; archive "
		    "--before %" PRIu64 " or less, or --force\n", r.id,
		    r.account, sub_state_name(r.state), r.cursor, as->upto,
		    r.cursor + 1);
		as->blocked = 1;
	}
	sub_row_clear(&r);
	return (0);
}

/* One record to archive: checked, added to the tree and the file. */
static int
archive_walk_entry(const struct journal_entry *e, void *arg)
{
	struct archive_walk	*aw = arg;
	uint8_t			 leaf[MERKLE_HASH_LEN];

	if (e->seq > aw->upto)
		return (1);
	if (journal_check_entry(&aw->c, e) != 0) {
		xasprintf(&aw->cause, "seq %" PRIu64 ": %s (chime-journal "
		    "verify says more; nothing was archived)", aw->c.bad_seq,
		    aw->c.cause);
		return (1);
	}
	chain_ctx_leaf(aw->c.ctx, e->rec, e->len, NULL, 0, leaf);
	merkle_range_append(&aw->range, leaf);
	memcpy(aw->hash, e->hash, JOURNAL_HASH_LEN);
	if (archive_add(aw->w, e, &aw->cause) != 0)
		return (1);
	return (0);
}

/* Write records M's anchor + 1 .. UPTO of J to OUT: 0, or -1 (said). */
static int
archive_write(struct journal *j, const struct journal_meta *m,
    uint64_t upto, const char *out, struct archive_walk *aw)
{
	struct archive_head	 h;
	char			*cause = NULL;

	memset(&h, 0, sizeof h);
	memcpy(h.journal_id, m->journal_id, sizeof h.journal_id);
	h.anchor_seq = m->anchor_seq;
	memcpy(h.anchor_hash, m->anchor_seq > 0 ? m->anchor_hash :
	    aw->c.prev, JOURNAL_HASH_LEN);
	if (m->anchor_seq > 0)
		memcpy(&h.anchor_range, &m->anchor_range,
		    sizeof h.anchor_range);
	else
		merkle_range_init(&h.anchor_range);
	h.created_us = now_us();
	memcpy(&aw->range, &h.anchor_range, sizeof aw->range);
	if ((aw->w = archive_create(out, &h, &cause)) == NULL) {
		fprintf(stderr, "chime-journal: %s\n", cause);
		free(cause);
		return (-1);
	}
	if (journal_log_foreach(j, m->anchor_seq + 1, NULL,
	    archive_walk_entry, aw, &cause) != 0)
		aw->cause = cause;
	else if (aw->cause == NULL && aw->c.expect != upto + 1)
		xasprintf(&aw->cause, "the log ends at seq %" PRIu64 " before "
		    "seq %" PRIu64, aw->c.expect - 1, upto);
	if (aw->cause != NULL) {
		archive_discard(aw->w);
		fprintf(stderr, "chime-journal: %s\n", aw->cause);
		return (-1);
	}
	if (archive_finish(aw->w, &cause) != 0) {
		fprintf(stderr, "chime-journal: %s (nothing was pruned)\n",
		    cause);
		free(cause);
		return (-1);
	}
	return (0);
}

static int
archive_check_entry(const struct journal_entry *e, void *arg)
{
	return (journal_check_entry(arg, e) != 0);
}

/* Read OUT back: its records chain from M's anchor to what AW wrote. */
static int
archive_reread(const char *out, const struct journal_meta *m,
    const struct archive_walk *aw)
{
	struct journal_check	 c;
	struct archive_head	 h;
	struct archive_tail	 t;
	char			*cause = NULL;
	int			 rc;

	journal_check_init(&c);
	journal_check_anchor(&c, m);
	rc = archive_read(out, &h, archive_check_entry, &c, &t, &cause);
	if (rc == 0 && (c.cause != NULL || t.last_seq != aw->upto ||
	    memcmp(t.last_hash, aw->hash, JOURNAL_HASH_LEN) != 0))
		rc = -1;
	if (rc != 0)
		fprintf(stderr, "chime-journal: %s: read back, it is not what "
		    "was written (%s); nothing was pruned\n", out,
		    cause != NULL ? cause : c.cause != NULL ? c.cause :
		    "another last record");
	free(cause);
	journal_check_clear(&c);
	return (rc == 0 ? 0 : -1);
}

int
cmd_archive(int argc, char **argv)
{
	static const struct option	 longopts[] = {
		{ "before", required_argument, NULL, 'b' },
		{ "out", required_argument, NULL, 'o' },
		{ "force", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 }
	};
	struct journal_options		 o;
	struct journal_meta		 m;
	struct archive_walk		 aw;
	struct archive_subs		 as;
	struct journal			*j;
	struct stat			 sb;
	const char			*before = NULL, *out = NULL;
	char				*dir, *cause, hex[65];
	uint64_t			 seq;
	int				 ch, force = 0, rc = 1;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'b':
			before = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 'f':
			force = 1;
			break;
		default:
			jcli_usage();
		}
	}
	if (before == NULL || out == NULL) {
		fprintf(stderr, "chime-journal: archive needs --before and "
		    "--out\n");
		jcli_usage();
	}
	dir = jcli_path(jcli_data(argc - optind, argv + optind), "journal");
	if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
		fprintf(stderr, "chime-journal: %s: no journal there\n", dir);
		exit(1);
	}
	memset(&o, 0, sizeof o);
	if ((j = journal_open(dir, &o, &cause)) == NULL) {
		fprintf(stderr, "chime-journal: %s%s\n", cause,
		    strstr(cause, "already open for writing") != NULL ?
		    " (archive prunes the log: stop chimed first)" : "");
		exit(1);
	}
	free(dir);
	memset(&aw, 0, sizeof aw);
	journal_check_init(&aw.c);
	if (journal_meta(j, &m, &cause) != 0) {
		fprintf(stderr, "chime-journal: %s\n", cause);
		goto out;
	}
	journal_check_anchor(&aw.c, &m);
	seq = archive_before(j, &m, before);
	if (seq <= m.anchor_seq + 1) {
		fprintf(stderr, "chime-journal: nothing to archive before seq "
		    "%" PRIu64 ": the log begins at seq %" PRIu64 "\n", seq,
		    m.anchor_seq + 1);
		goto out;
	}
	if (seq > m.head_seq) {
		fprintf(stderr, "chime-journal: --before %" PRIu64 ": the "
		    "last record (seq %" PRIu64 ") always stays in the "
		    "journal\n", seq, m.head_seq);
		goto out;
	}
	aw.upto = seq - 1;
	as.upto = aw.upto;
	as.blocked = 0;
	if (!force && journal_table_foreach(j, SUB_TABLE, NULL, 0, 0,
	    archive_sub_row, &as) != 0)
		as.blocked = 1;
	if (as.blocked)
		goto out;
	if (archive_write(j, &m, aw.upto, out, &aw) != 0 ||
	    archive_reread(out, &m, &aw) != 0)
		goto out;
	if (journal_prune(j, aw.upto, aw.hash, &aw.range, &cause) != 0) {
		fprintf(stderr, "chime-journal: cannot prune the journal: %s "
		    "(%s holds the records, and the journal still does)\n",
		    cause, out);
		free(cause);
		goto out;
	}
	chain_hex(aw.hash, hex);
	printf("ok: archived seq %" PRIu64 "..%" PRIu64 " (%" PRIu64
	    " records) to %s\nok: the log begins at seq %" PRIu64 ", "
	    "anchored at seq %" PRIu64 " hash %s\n", m.anchor_seq + 1, aw.upto,
	    aw.upto - m.anchor_seq, out, aw.upto + 1, aw.upto, hex);
	rc = 0;
out:
	free(aw.cause);
	journal_check_clear(&aw.c);
	journal_close(j);
	return (rc);
}
