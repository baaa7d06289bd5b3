/*
 * journal/main.c: chime-journal, which reads a journal directly, read-only
 * (LMDB lets it run beside the daemon): verify, export, stats, the
 * checkpoint commands of proof.c (pubkey, prove, check-proof), and replay
 * (main-replay.c).
 *
 * Exit status: 0 success; 1 the journal is damaged, missing or unreadable;
 * 2 bad usage.
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

struct kind_count {
	struct strmap_node	 node;		/* first: cast from the node */
	uint64_t		 count;
	char			 name[];
};

/* Where a walk over the log stopped: the record that does not decode. */
struct walk_stop {
	uint64_t		 bad_seq;
	char			*cause;
};

struct stats_walk {
	struct walk_stop	 stop;
	struct strmap		 kinds;
	uint64_t		 records;
	uint64_t		 first;
	uint64_t		 last;
};

static int		 cmd_export(int, char **);
static int		 cmd_stats(int, char **);
int			 cmd_replay(int, char **);	/* main-replay.c */
int			 cmd_archive(int, char **);	/* main-archive.c */
static int		 walk_decode(const struct journal_entry *,
			     struct record *, struct walk_stop *);
static int		 walk_log(struct journal *, uint64_t,
			     struct journal_meta *,
			     int (*)(const struct journal_entry *, void *),
			     void *, struct walk_stop *);
static int		 export_entry(const struct journal_entry *, void *);
static int		 stats_entry(const struct journal_entry *, void *);
static void		 stats_collect(struct strmap_node *, void *);
static void		 stats_free(struct strmap_node *, void *);
static int		 stats_cmp(const void *, const void *);
static void		 stats_print(struct journal *, struct stats_walk *,
			     const struct journal_meta *, const char *);

static const struct {
	const char	*name;
	int		 (*fn)(int, char **);
} commands[] = {
	{ "verify", proof_cmd_verify },
	{ "export", cmd_export },
	{ "stats", cmd_stats },
	{ "replay", cmd_replay },
	{ "archive", cmd_archive },
	{ "backup", cmd_backup },
	{ "pubkey", proof_cmd_pubkey },
	{ "prove", proof_cmd_prove },
	{ "check-proof", proof_cmd_check },
};

deadfunc void
jcli_usage(void)
{
	fprintf(stderr,
	    "usage: chime-journal verify [DATA_DIR] [--archive FILE]... "
	    "[--pubkey KEY\n"
	    "           [--checkpoint NOTE]]\n"
	    "       chime-journal export [DATA_DIR] [--from SEQ] "
	    "[--format jsonl]\n"
	    "       chime-journal stats [DATA_DIR]\n"
	    "       chime-journal replay [DATA_DIR] --into DIR "
	    "[--archive FILE]...\n"
	    "       chime-journal archive [DATA_DIR] --before SEQ|TIME "
	    "--out FILE [--force]\n"
	    "       chime-journal backup [DATA_DIR] BACKUP_DIR\n"
	    "       chime-journal pubkey [DATA_DIR]\n"
	    "       chime-journal prove [DATA_DIR] SEQ [--checkpoint NOTE] "
	    "[--archive FILE]...\n"
	    "       chime-journal prove [DATA_DIR] --from-size N "
	    "[--to-size M] [--archive FILE]...\n"
	    "       chime-journal check-proof PROOF --pubkey KEY\n"
	    "       chime-journal help\n"
	    "DATA_DIR defaults to $CHIME_DATA, else ./var/chime (as chimed).\n");
	exit(2);
}

/* The data directory: the one operand left in ARGV (ARGC of them), else
 * $CHIME_DATA, else chimed's default; more than one is bad usage. */
const char *
jcli_data(int argc, char **argv)
{
	const char	*env;

	if (argc > 1)
		jcli_usage();
	if (argc == 1)
		return (argv[0]);
	if ((env = getenv("CHIME_DATA")) != NULL && *env != '\0')
		return (env);
	return ("./var/chime");
}

/* For WHAT "journal": DATA/journal, or DATA itself if it holds the LMDB
 * files; else the file WHAT of the keys directory beside the journal.
 * Allocated. */
char *
jcli_path(const char *data, const char *what)
{
	struct stat	 sb;
	char		*path;
	int		 inner;

	xasprintf(&path, "%s/data.mdb", data);
	inner = stat(path, &sb) == 0;
	free(path);
	if (strcmp(what, "journal") == 0)
		xasprintf(&path, inner ? "%s" : "%s/journal", data);
	else
		xasprintf(&path, inner ? "%s/../keys/%s" : "%s/keys/%s", data,
		    what);
	return (path);
}

/* Open read-only, or exit 1 with the reason. */
struct journal *
jcli_open(const char *data)
{
	struct journal_options	 o;
	struct journal		*j;
	char			*dir, *cause;

	memset(&o, 0, sizeof o);
	o.readonly = 1;
	dir = jcli_path(data, "journal");
	if ((j = journal_open(dir, &o, &cause)) == NULL) {
		fprintf(stderr, "chime-journal: %s\n", cause);
		exit(1);
	}
	free(dir);
	return (j);
}

/* Decode the record of E into REC: 0, or -1 with where and why in W (the
 * walk stops there). */
static int
walk_decode(const struct journal_entry *e, struct record *rec,
    struct walk_stop *w)
{
	char	*why;

	if (e->hash == NULL || record_decode(e->rec, e->len, rec, &why) != 0) {
		w->bad_seq = e->seq;
		xasprintf(&w->cause, "record: %s", e->hash == NULL ?
		    "value shorter than a hash" : why);
		if (e->hash != NULL)
			free(why);
		return (-1);
	}
	return (0);
}

/* Walk the log of J from FROM through FN (with ARG, whose stop is W): 0, or
 * -1 when the log could not be read or a record stopped the walk, said on
 * stderr. */
static int
walk_log(struct journal *j, uint64_t from, struct journal_meta *m,
    int (*fn)(const struct journal_entry *, void *), void *arg,
    struct walk_stop *w)
{
	char	*cause;

	if (journal_log_foreach(j, from, m, fn, arg, &cause) != 0) {
		fprintf(stderr, "chime-journal: %s\n", cause);
		free(cause);
		return (-1);
	}
	if (w->cause != NULL) {
		fprintf(stderr, "chime-journal: seq %llu: %s\n",
		    (unsigned long long)w->bad_seq, w->cause);
		free(w->cause);
		return (-1);
	}
	return (0);
}

/* One JSON line per record; a record that does not decode stops it. */
static int
export_entry(const struct journal_entry *e, void *arg)
{
	struct walk_stop	*w = arg;
	struct record		 rec;
	json_t			*obj;
	char			*line, *why;

	if (walk_decode(e, &rec, w) != 0)
		return (1);
	obj = record_to_json(&rec, e->hash, &why);
	record_clear(&rec);
	if (obj == NULL) {
		w->bad_seq = e->seq;
		xasprintf(&w->cause, "record: %s", why);
		free(why);
		return (1);
	}
	line = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(obj);
	if (line == NULL)
		fatalx("out of memory");
	puts(line);
	free(line);
	return (ferror(stdout) ? 1 : 0);
}

static int
cmd_export(int argc, char **argv)
{
	static const struct option	 longopts[] = {
		{ "from", required_argument, NULL, 'f' },
		{ "format", required_argument, NULL, 'F' },
		{ NULL, 0, NULL, 0 }
	};
	struct walk_stop		 w;
	struct journal_meta		 m;
	struct journal			*j;
	unsigned long long		 from = 1;
	char				*end, *cause;
	int				 ch, rc;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			errno = 0;
			from = strtoull(optarg, &end, 10);
			if (*optarg == '\0' || *optarg == '-' || *end != '\0' ||
			    errno != 0 || from == 0) {
				fprintf(stderr, "chime-journal: --from: not a "
				    "seq >= 1: %s\n", optarg);
				jcli_usage();
			}
			break;
		case 'F':
			if (strcmp(optarg, "jsonl") != 0) {
				fprintf(stderr, "chime-journal: unknown format "
				    "%s (only jsonl)\n", optarg);
				jcli_usage();
			}
			break;
		default:
			jcli_usage();
		}
	}
	j = jcli_open(jcli_data(argc - optind, argv + optind));
	memset(&w, 0, sizeof w);
	if (journal_meta(j, &m, &cause) != 0) {
		fprintf(stderr, "chime-journal: %s\n", cause);
		exit(1);
	}
	if (m.anchor_seq >= from)
		fprintf(stderr, "chime-journal: seq %llu..%llu are archived: "
		    "the export begins at seq %llu\n", from,
		    (unsigned long long)m.anchor_seq,
		    (unsigned long long)m.anchor_seq + 1);
	rc = walk_log(j, from, NULL, export_entry, &w, &w);
	journal_close(j);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "chime-journal: stdout: %s\n", strerror(errno));
		rc = -1;
	}
	return (rc == 0 ? 0 : 1);
}

static int
stats_entry(const struct journal_entry *e, void *arg)
{
	struct stats_walk	*w = arg;
	struct kind_count	*k;
	struct record		 rec;

	if (walk_decode(e, &rec, &w->stop) != 0)
		return (1);
	k = (struct kind_count *)strmap_find(&w->kinds, rec.kind);
	if (k == NULL) {
		k = xcalloc(1, sizeof *k + strlen(rec.kind) + 1);
		strcpy(k->name, rec.kind);
		strmap_insert(&w->kinds, &k->node, k->name);
	}
	k->count++;
	if (w->records++ == 0)
		w->first = e->seq;
	w->last = e->seq;
	record_clear(&rec);
	return (0);
}

static void
stats_collect(struct strmap_node *n, void *arg)
{
	struct kind_count	***p = arg;

	*(*p)++ = (struct kind_count *)n;
}

static void
stats_free(struct strmap_node *n, void *arg)
{
	free(n);
}

static int
stats_cmp(const void *a, const void *b)
{
	const struct kind_count	*ka = *(struct kind_count * const *)a;
	const struct kind_count	*kb = *(struct kind_count * const *)b;

	return (strcmp(ka->name, kb->name));
}

static void
stats_print(struct journal *j, struct stats_walk *w,
    const struct journal_meta *m, const char *dir)
{
	struct journal_stats	  st;
	struct kind_count	**all, **p;
	char			  ts[64], hex[65];
	size_t			  i, n = w->kinds.count;

	journal_stats(j, &st);
	chain_hex(m->head_hash, hex);
	printf("journal   %s\n", dir);
	printf("id        %.32s\n", m->journal_id);
	printf("format    %llu\n", (unsigned long long)m->format);
	printf("created   %s\n", fmt_rfc3339_ms(m->created_us, ts, sizeof ts));
	if (w->records == 0)
		printf("records   0\n");
	else
		printf("records   %llu (seq %llu..%llu)\n",
		    (unsigned long long)w->records,
		    (unsigned long long)w->first, (unsigned long long)w->last);
	printf("head      %s\n", hex);
	printf("map size  %zu bytes (%zu in use)\n", st.map_size,
	    journal_map_used(j));
	printf("kinds     %zu\n", n);
	all = xreallocarray(NULL, n + 1, sizeof *all);
	p = all;
	strmap_foreach(&w->kinds, stats_collect, &p);
	xqsort(all, n, sizeof *all, stats_cmp);
	for (i = 0; i < n; i++) {
		printf("  %-30s %llu\n", all[i]->name,
		    (unsigned long long)all[i]->count);
		free(all[i]);
	}
	free(all);
}

static int
cmd_stats(int argc, char **argv)
{
	struct stats_walk	 w;
	struct journal_meta	 m;
	struct journal		*j;
	const char		*data;
	char			*dir;
	int			 rc;

	data = jcli_data(argc - 1, argv + 1);
	j = jcli_open(data);
	memset(&w, 0, sizeof w);
	strmap_init(&w.kinds);
	rc = walk_log(j, 1, &m, stats_entry, &w, &w.stop);
	dir = jcli_path(data, "journal");
	if (rc == 0)
		stats_print(j, &w, &m, dir);
	else
		strmap_foreach(&w.kinds, stats_free, NULL);
	free(dir);
	strmap_clear(&w.kinds);
	journal_close(j);
	return (rc == 0 ? 0 : 1);
}

int
main(int argc, char **argv)
{
	size_t	i;

	log_open("chime-journal", LOG_LEVEL_WARN);
	if (argc < 2)
		jcli_usage();
	if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "--help") == 0) {
		printf("chime-journal: read a chime journal (read-only, safe "
		    "while chimed runs;\narchive excepted)\n\n"
		    "  verify [DATA_DIR] [--archive FILE]... [--pubkey KEY "
		    "[--checkpoint NOTE]]\n"
		    "                      recompute the hash chain and the "
		    "Merkle tree from\n"
		    "                      genesis (or the anchor of an "
		    "archived prefix, or\n"
		    "                      through its archives); check the "
		    "checkpoint records\n"
		    "                      and that the journal extends a "
		    "witnessed checkpoint\n"
		    "  export [DATA_DIR] [--from SEQ] [--format jsonl]\n"
		    "                      one JSON object per record\n"
		    "  stats [DATA_DIR]    records, kinds, map size, head\n"
		    "  replay [DATA_DIR] --into DIR [--archive FILE]...\n"
		    "                      rebuild the state tables from the "
		    "log into a fresh\n"
		    "                      DIR and compare them with the live "
		    "ones\n"
		    "  archive [DATA_DIR] --before SEQ|TIME --out FILE "
		    "[--force]\n"
		    "                      move the records before SEQ (or "
		    "TIME) into FILE and\n"
		    "                      prune them, leaving an anchor "
		    "(chimed stopped)\n"
		    "  backup [DATA_DIR] BACKUP_DIR\n"
		    "                      a consistent, compacted copy of "
		    "the journal (also\n"
		    "                      while chimed runs), its keys and "
		    "secrets, in a new\n"
		    "                      data directory, verified\n"
		    "  pubkey [DATA_DIR]   the verifier key of the journal's "
		    "checkpoints\n"
		    "  prove [DATA_DIR] SEQ [--checkpoint NOTE] "
		    "[--archive FILE]...\n"
		    "  prove [DATA_DIR] --from-size N [--to-size M] "
		    "[--archive FILE]...\n"
		    "                      an inclusion or consistency proof "
		    "(JSON)\n"
		    "  check-proof PROOF --pubkey KEY\n"
		    "                      check a proof without the journal\n"
		    "\nDATA_DIR is the daemon's data directory (the journal "
		    "is DATA_DIR/journal);\nwithout one, $CHIME_DATA, else "
		    "./var/chime.\n");
		return (0);
	}
	for (i = 0; i < sizeof commands / sizeof commands[0]; i++) {
		if (strcmp(argv[1], commands[i].name) == 0)
			return (commands[i].fn(argc - 1, argv + 1));
	}
	fprintf(stderr, "chime-journal: unknown command %s\n", argv[1]);
	jcli_usage();
}
