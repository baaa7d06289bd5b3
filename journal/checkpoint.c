/*
 * journal/checkpoint.c: signed checkpoints of the log.
 *
 * The writer (writer.c) keeps the RFC 6962 Merkle tree over the log as a
 * compact range and asks checkpoint_fill for the body of each checkpoint
 * record it writes: tree_size, root, head_hash and the C2SP signed note
 * (note.c) of the checkpoint text.  Here too: the signing key
 * (DATA/keys/journal.key, made at first start) and its published verifier
 * key, the range at open (from meta, or computed from the log), requests
 * for a checkpoint from the loop, and the decoding of checkpoint records
 * and witnessed notes for chime-journal.
 *
 * Threads: checkpoint_fill runs on the writer thread and reads only what
 * is set before journal_start (origin, signer); everything else is the
 * loop's (or chime-journal's).
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine.h"
#include "journal.h"

struct checkpoint_scan {
	struct chain_ctx	*ctx;
	struct merkle_range	*range;
	uint64_t		 expect;
	char			*cause;
};

static int	 checkpoint_write_pub(const char *, const char *, char **);
static int	 checkpoint_make_dir(const char *, char **);
static int	 checkpoint_scan_entry(const struct journal_entry *, void *);
static int	 checkpoint_tail_entry(const struct journal_entry *, void *);
static int	 checkpoint_str(const msgpack_object *, const char *, char **,
		     char **);
static int	 checkpoint_hash(const msgpack_object *, const char *,
		     uint8_t *, char **);

const char *
checkpoint_origin(struct journal *j)
{
	return (j->origin);
}

/* Make the directory of PATH (mode 0700) if it does not exist. */
static int
checkpoint_make_dir(const char *path, char **cause)
{
	char	*copy, *dir;
	int	 rc = 0;

	copy = xstrdup(path);
	dir = dirname(copy);
	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		xasprintf(cause, "%s: %s", dir, strerror(errno));
		rc = -1;
	}
	free(copy);
	return (rc);
}

/* PATH holds VKEY and a newline, mode 0644: rewritten (temporary file,
 * fsync, rename) unless it does already. */
static int
checkpoint_write_pub(const char *path, const char *vkey, char **cause)
{
	char	 buf[1024], *tmp, *want;
	ssize_t	 got;
	size_t	 len;
	int	 fd, rc = -1;

	xasprintf(&want, "%s\n", vkey);
	len = strlen(want);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) != -1) {
		got = read(fd, buf, sizeof buf);
		close(fd);
		if (got == (ssize_t)len && memcmp(buf, want, len) == 0) {
			free(want);
			return (0);
		}
	}
	xasprintf(&tmp, "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd == -1 || fchmod(fd, 0644) == -1 ||
	    write(fd, want, len) != (ssize_t)len || fsync(fd) == -1) {
		xasprintf(cause, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	if (rename(tmp, path) == -1) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	if (rc != 0)
		unlink(tmp);
	free(tmp);
	free(want);
	return (rc);
}

int
checkpoint_key(struct journal *j, const char *key, const char *pub,
    int create, char **cause)
{
	struct note_signer	*s;
	struct stat		 sb;
	char			*vkey, *why = NULL;

	if (stat(key, &sb) == -1 && errno == ENOENT && create) {
		if (checkpoint_make_dir(key, &why) != 0 ||
		    (s = note_signer_generate(j->origin, &why)) == NULL)
			goto fail;
		if (note_signer_save(s, key, &why) != 0) {
			note_signer_free(s);
			goto fail;
		}
		log_info("msg=\"journal signing key created\" path=\"%s\"",
		    log_escape(key));
	} else if ((s = note_signer_load(key, j->origin, &why)) == NULL)
		goto fail;
	if (pub != NULL) {
		vkey = note_signer_vkey(s);
		if (checkpoint_write_pub(pub, vkey, &why) != 0) {
			free(vkey);
			note_signer_free(s);
			goto fail;
		}
		free(vkey);
	}
	note_signer_free(j->signer);
	j->signer = s;
	return (0);
fail:
	xasprintf(cause, "signing key %s: %s", key, why);
	free(why);
	return (-1);
}

char *
checkpoint_vkey(struct journal *j)
{
	if (j->signer == NULL)
		return (NULL);
	return (note_signer_vkey(j->signer));
}

int
checkpoint_request(struct journal *j, journal_done_cb cb, void *arg,
    char **cause)
{
	struct jrec	*rec;

	if (j->signer == NULL || j->readonly) {
		if (cause != NULL)
			*cause = xstrdup(j->readonly ? "the journal is "
			    "read-only" : "checkpoints are off: the journal "
			    "has no signing key");
		return (-1);
	}
	rec = jrec_create(JOURNAL_CHECKPOINT_KIND, NULL);
	rec->ckpt = 1;
	msgpack_pack_map(jrec_body(rec), 0);	/* the writer's to fill */
	journal_submit(j, rec, cb, arg);
	return (0);
}

void
checkpoint_set_hook(struct journal *j, void (*fn)(uint64_t, const char *,
    void *), void *arg)
{
	j->ckpt_hook = fn;
	j->ckpt_hookarg = arg;
}

/* The checkpoint map (doc/journal-format.md). */
static void
checkpoint_pack(msgpack_packer *pk, uint64_t size, const char *root,
    const char *head, const char *note)
{
	const struct pack_pair	v[] = {
		PACK_PAIR_INT("tree_size", (int64_t)size),
		PACK_PAIR_STR("root", root),
		PACK_PAIR_STR("head_hash", head),
		PACK_PAIR_STR("note", note),
	};

	PACK_MAP(pk, v);
}

int
checkpoint_fill(struct journal *j, struct jrec *rec,
    const struct merkle_range *range, const uint8_t *head, char **cause)
{
	msgpack_packer	*pk = &rec->pk;
	uint8_t		 root[MERKLE_HASH_LEN];
	char		 rhex[65], hhex[65], *ext, *text, *note;

	merkle_range_root(range, root);
	chain_hex(root, rhex);
	chain_hex(head, hhex);
	xasprintf(&ext, "%s%s\n", CHECKPOINT_EXT_HEAD, hhex);
	text = note_checkpoint_format(j->origin, range->size, root, ext,
	    cause);
	free(ext);
	if (text == NULL)
		return (-1);
	note = note_sign(j->signer, text, strlen(text), cause);
	free(text);
	if (note == NULL)
		return (-1);
	rec->body.len = 0;
	checkpoint_pack(pk, range->size, rhex, hhex, note);
	free(rec->note);
	rec->note = note;
	return (0);
}

/* One entry of the range computed at open. */
static int
checkpoint_scan_entry(const struct journal_entry *e, void *arg)
{
	struct checkpoint_scan	*sc = arg;
	uint8_t			 leaf[MERKLE_HASH_LEN];

	if (e->seq != sc->expect || e->hash == NULL) {
		xasprintf(&sc->cause, "seq %llu: %s", (unsigned long long)
		    sc->expect, e->hash == NULL ? "value shorter than a hash" :
		    "missing");
		return (1);
	}
	chain_ctx_leaf(sc->ctx, e->rec, e->len, NULL, 0, leaf);
	merkle_range_append(sc->range, leaf);
	sc->expect++;
	return (0);
}

/* The last entry: is it a checkpoint record?  Keeps its note. */
static int
checkpoint_tail_entry(const struct journal_entry *e, void *arg)
{
	struct journal		*j = arg;
	struct checkpoint_info	 info;
	struct record		 rec;
	char			*why;

	if (e->hash == NULL || record_decode(e->rec, e->len, &rec, &why) != 0)
		return (1);	/* the chain check says why */
	if (strcmp(rec.kind, JOURNAL_CHECKPOINT_KIND) == 0 &&
	    rec.account == NULL) {
		if (checkpoint_decode(&rec, &info, &why) == 0) {
			j->wckpt_seq = e->seq;
			free(j->wnote);
			j->wnote = info.note;
			info.note = NULL;
			checkpoint_clear(&info);
		} else {
			log_warnx("msg=\"journal: the last checkpoint record "
			    "does not decode\" seq=%llu error=\"%s\"",
			    (unsigned long long)e->seq, log_escape(why));
			free(why);
		}
	}
	record_clear(&rec);
	return (1);
}

int
checkpoint_load(struct journal *j, const struct journal_meta *m,
    char **cause)
{
	struct checkpoint_scan	 sc;
	int64_t			 start = mono_us();

	j->wckpt_base = m->head_seq;
	if (m->head_seq > 0 && j->ops->log_foreach(j->store, m->head_seq,
	    NULL, checkpoint_tail_entry, NULL, j, cause) != 0)
		return (-1);
	if (m->has_range && m->range.size == m->head_seq) {
		memcpy(&j->wrange, &m->range, sizeof j->wrange);
		return (0);
	}
	memset(&sc, 0, sizeof sc);
	merkle_range_init(&j->wrange);
	if (m->anchor_seq > 0)	/* the archived prefix's range */
		memcpy(&j->wrange, &m->anchor_range, sizeof j->wrange);
	sc.range = &j->wrange;
	sc.ctx = chain_ctx_create();
	sc.expect = m->anchor_seq + 1;
	if (j->ops->log_foreach(j->store, sc.expect, NULL,
	    checkpoint_scan_entry, NULL, &sc, cause) != 0) {
		chain_ctx_free(sc.ctx);
		return (-1);
	}
	chain_ctx_free(sc.ctx);
	if (sc.cause == NULL && j->wrange.size != m->head_seq)
		xasprintf(&sc.cause, "the log ends at seq %llu, meta's head "
		    "is %llu", (unsigned long long)j->wrange.size,
		    (unsigned long long)m->head_seq);
	if (sc.cause != NULL) {
		xasprintf(cause, "cannot compute the Merkle tree: %s",
		    sc.cause);
		free(sc.cause);
		return (-1);
	}
	log_info("msg=\"journal Merkle tree computed from the log\" "
	    "records=%llu had=%s us=%lld", (unsigned long long)m->head_seq,
	    m->has_range ? "other_size" : "none",
	    (long long)(mono_us() - start));
	return (0);
}

void
checkpoint_free(struct journal *j)
{
	note_signer_free(j->signer);
	j->signer = NULL;
	free(j->wnote);
	j->wnote = NULL;
}

/* The string under KEY in map O, allocated in *OUT: 0, or -1. */
static int
checkpoint_str(const msgpack_object *o, const char *key, char **out,
    char **cause)
{
	const msgpack_object_kv	*kv;
	uint32_t		 i;

	for (i = 0; i < o->via.map.size; i++) {
		kv = &o->via.map.ptr[i];
		if (kv->key.type != MSGPACK_OBJECT_STR ||
		    kv->key.via.str.size != strlen(key) ||
		    memcmp(kv->key.via.str.ptr, key, strlen(key)) != 0)
			continue;
		if (kv->val.type != MSGPACK_OBJECT_STR)
			break;
		*out = xmalloc(kv->val.via.str.size + 1);
		memcpy(*out, kv->val.via.str.ptr, kv->val.via.str.size);
		(*out)[kv->val.via.str.size] = '\0';
		return (0);
	}
	xasprintf(cause, "checkpoint body: no string %s", key);
	return (-1);
}

/* The 64 hex digits under KEY in map O into OUT: 0, or -1. */
static int
checkpoint_hash(const msgpack_object *o, const char *key, uint8_t *out,
    char **cause)
{
	char	*s;
	int	 rc;

	if (checkpoint_str(o, key, &s, cause) != 0)
		return (-1);
	if ((rc = chain_unhex(s, out)) != 0)
		xasprintf(cause, "checkpoint body: %s is not 64 hex digits",
		    key);
	free(s);
	return (rc);
}

int
checkpoint_decode(const struct record *rec, struct checkpoint_info *info,
    char **cause)
{
	const msgpack_object	*o = &rec->body;
	uint32_t		 i;
	int			 found = 0;

	memset(info, 0, sizeof *info);
	for (i = 0; i < o->via.map.size; i++) {
		if (o->via.map.ptr[i].key.type == MSGPACK_OBJECT_STR &&
		    o->via.map.ptr[i].key.via.str.size == 9 &&
		    memcmp(o->via.map.ptr[i].key.via.str.ptr, "tree_size",
		    9) == 0 &&
		    o->via.map.ptr[i].val.type ==
		    MSGPACK_OBJECT_POSITIVE_INTEGER) {
			info->tree_size = o->via.map.ptr[i].val.via.u64;
			found = 1;
		}
	}
	if (!found) {
		*cause = xstrdup("checkpoint body: no tree_size");
		return (-1);
	}
	if (checkpoint_hash(o, "root", info->root, cause) != 0 ||
	    checkpoint_hash(o, "head_hash", info->head, cause) != 0 ||
	    checkpoint_str(o, "note", &info->note, cause) != 0) {
		checkpoint_clear(info);
		return (-1);
	}
	info->has_head = 1;
	return (0);
}

int
checkpoint_note(const char *note, size_t len, const struct note_verifier *v,
    const char *origin, struct checkpoint_info *info, char **cause)
{
	struct note_checkpoint	*c;
	const char		*p, *line, *end;
	char			*text;

	memset(info, 0, sizeof *info);
	if (v != NULL)
		text = note_verify(v, note, len, cause);
	else if ((p = memmem(note, len, "\n\n", 2)) == NULL) {
		*cause = xstrdup("not a signed note: no blank line before "
		    "the signatures");
		return (-1);
	} else {
		text = xmalloc(p - note + 2);
		memcpy(text, note, p - note + 1);
		text[p - note + 1] = '\0';
	}
	if (text == NULL)
		return (-1);
	c = note_checkpoint_parse(text, strlen(text), cause);
	free(text);
	if (c == NULL)
		return (-1);
	if (origin != NULL && strcmp(c->origin, origin) != 0) {
		xasprintf(cause, "the checkpoint is of %s, not of this journal "
		    "(%s)", c->origin, origin);
		note_checkpoint_free(c);
		return (-1);
	}
	info->tree_size = c->size;
	memcpy(info->root, c->root, MERKLE_HASH_LEN);
	info->origin = xstrdup(c->origin);
	for (line = c->extensions; *line != '\0'; line = end + 1) {
		if ((end = strchr(line, '\n')) == NULL)
			break;
		if (strncmp(line, CHECKPOINT_EXT_HEAD,
		    strlen(CHECKPOINT_EXT_HEAD)) == 0 &&
		    end - line == (ptrdiff_t)strlen(CHECKPOINT_EXT_HEAD) + 64) {
			text = xstrndup(line + strlen(CHECKPOINT_EXT_HEAD), 64);
			info->has_head = chain_unhex(text, info->head) == 0;
			free(text);
		}
	}
	note_checkpoint_free(c);
	info->note = xmalloc(len + 1);
	memcpy(info->note, note, len);
	info->note[len] = '\0';
	return (0);
}

void
checkpoint_clear(struct checkpoint_info *info)
{
	free(info->origin);
	free(info->note);
	info->origin = info->note = NULL;
}
