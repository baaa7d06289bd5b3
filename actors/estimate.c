/*
 * actors/estimate.c: cost estimates that learn.  For each (account,
 * operation, model) the token usage of the last ESTIMATE_WINDOW successful
 * runs is kept; once ESTIMATE_MIN_RUNS are known, an estimate takes its
 * low / mid / high tokens from the 10th, 50th and 90th percentiles of that
 * usage instead of the catalog's guess, and says so.  The window of each
 * key is a row of the "usage" table, written in the record of the run that
 * adds to it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors.h"

#define ESTIMATE_MIN_RUNS	10

struct usage_window {
	struct strmap_node	 node;
	char			*key;		/* "ACCOUNT/OPERATION/MODEL" */
	uint32_t		 n;		/* samples held */
	uint32_t		 next;		/* ring position */
	int64_t			 in[ESTIMATE_WINDOW];
	int64_t			 out[ESTIMATE_WINDOW];
};

static struct strmap	windows;

static char *
usage_key(const char *account, const char *op, const char *model)
{
	char	*k;

	xasprintf(&k, "%s/%s/%s", account, op, model);
	return (k);
}

static struct usage_window *
usage_find(const char *key)
{
	struct strmap_node	*n;

	if (windows.nbuckets == 0 || (n = strmap_find(&windows, key)) == NULL)
		return (NULL);
	return ((struct usage_window *)((char *)n -
	    offsetof(struct usage_window, node)));
}

static struct usage_window *
usage_get(const char *key)
{
	struct usage_window	*w;

	if ((w = usage_find(key)) != NULL)
		return (w);
	if (windows.nbuckets == 0)
		strmap_init(&windows);
	w = xcalloc(1, sizeof *w);
	w->key = xstrdup(key);
	strmap_insert(&windows, &w->node, w->key);
	return (w);
}

static int
cmp_int64(const void *a, const void *b)
{
	int64_t	x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x < y ? -1 : x > y);
}

/* The P-th percentile (nearest rank) of N values. */
static int64_t
percentile(const int64_t *v, uint32_t n, int p)
{
	int64_t		sorted[ESTIMATE_WINDOW];
	uint32_t	rank;

	memcpy(sorted, v, n * sizeof *v);
	xqsort(sorted, n, sizeof *sorted, cmp_int64);
	rank = (uint32_t)((p * (int64_t)n + 99) / 100);
	if (rank < 1)
		rank = 1;
	return (sorted[rank - 1]);
}

/*
 * The estimate for one run of OP with MODEL for ACCOUNT.  *SOURCE says
 * where the token counts came from: "catalog" or "observed".  *SAMPLES is
 * how many runs the observed figures rest on (0 for the catalog).
 */
void
estimate_run(const char *account, const struct operation *op,
    const struct model *model, struct cost_range *out, const char **source,
    int *samples)
{
	struct usage_window	*w;
	struct operation	 obs;
	char			*key;

	w = NULL;
	if (windows.count != 0) {	/* (no key to make for none) */
		key = usage_key(account, op->id, model->id);
		w = usage_find(key);
		free(key);
	}
	if (w == NULL || w->n < ESTIMATE_MIN_RUNS) {
		cost_estimate(op, model, out);
		*source = "catalog";
		*samples = w != NULL ? (int)w->n : 0;
		return;
	}
	obs = *op;
	obs.input_tokens[0] = percentile(w->in, w->n, 10);
	obs.input_tokens[1] = percentile(w->in, w->n, 50);
	obs.input_tokens[2] = percentile(w->in, w->n, 90);
	obs.output_tokens[0] = percentile(w->out, w->n, 10);
	obs.output_tokens[1] = percentile(w->out, w->n, 50);
	obs.output_tokens[2] = percentile(w->out, w->n, 90);
	cost_estimate(&obs, model, out);
	*source = "observed";
	*samples = (int)w->n;
}

/* A "usage" row: the N token counts IN and OUT, oldest first (the
 * daemon's and replay's). */
void
estimate_pack_usage(msgpack_packer *pk, const int64_t *in, const int64_t *out,
    uint32_t n)
{
	uint32_t	i;

	msgpack_pack_map(pk, 2);
	pack_str(pk, "input");
	msgpack_pack_array(pk, n);
	for (i = 0; i < n; i++)
		msgpack_pack_int64(pk, in[i]);
	pack_str(pk, "output");
	msgpack_pack_array(pk, n);
	for (i = 0; i < n; i++)
		msgpack_pack_int64(pk, out[i]);
}

/* Window W's row, oldest first, so that a reload keeps the ring's order. */
static void
usage_pack(msgpack_packer *pk, const struct usage_window *w)
{
	int64_t		in[ESTIMATE_WINDOW], out[ESTIMATE_WINDOW];
	uint32_t	i, idx;

	for (i = 0; i < w->n; i++) {
		idx = (w->next + ESTIMATE_WINDOW - w->n + i) % ESTIMATE_WINDOW;
		in[i] = w->in[idx];
		out[i] = w->out[idx];
	}
	estimate_pack_usage(pk, in, out, w->n);
}

/*
 * A run of OPERATION with MODEL for ACCOUNT used IN and OUT tokens: add it
 * to the window and put the window's row into REC (the run's record).
 * Unreported usage (negative) is not a sample.
 */
void
estimate_observe(const char *account, const char *operation,
    const char *model, int64_t in, int64_t out, struct jrec *rec)
{
	struct usage_window	*w;
	struct pack_buffer	 pb;
	char			*key;

	if (in < 0 || out < 0 || model == NULL)
		return;
	key = usage_key(account, operation, model);
	w = usage_get(key);
	free(key);
	w->in[w->next] = in;
	w->out[w->next] = out;
	w->next = (w->next + 1) % ESTIMATE_WINDOW;
	if (w->n < ESTIMATE_WINDOW)
		w->n++;
	pack_buffer_init(&pb);
	usage_pack(&pb.pk, w);
	/* an operation whose runs all report the same counts puts the
	 * same window again (lazy) */
	jrec_put_lazy(rec, "usage", w->key, strlen(w->key), pb.sbuf.data,
	    pb.sbuf.size);
	pack_buffer_clear(&pb);
	/* The model of the row's key (the catalog's, which the body's
	 * "model", as the executor reported it, may not be). */
	pack_buffer_init(&pb);
	pack_str(&pb.pk, model);
	jrec_body_add(rec, "usage_model", pb.sbuf.data, pb.sbuf.size);
	pack_buffer_clear(&pb);
}

static void
usage_load_array(const msgpack_object *a, int64_t *v, uint32_t *n)
{
	uint32_t	i;

	*n = 0;
	if (a == NULL || a->type != MSGPACK_OBJECT_ARRAY)
		return;
	for (i = 0; i < a->via.array.size && i < ESTIMATE_WINDOW; i++) {
		if (a->via.array.ptr[i].type ==
		    MSGPACK_OBJECT_POSITIVE_INTEGER)
			v[(*n)++] = (int64_t)a->via.array.ptr[i].via.u64;
	}
}

static int
usage_row_cb(const struct journal_row *row, void *arg)
{
	struct usage_window	*w;
	msgpack_unpacked	 u;
	char			*key;
	uint32_t		 nin, nout;

	if (unpack_buffer(row->val, row->vlen, &u) == -1)
		return (0);
	key = xstrndup(row->key, row->klen);
	w = usage_get(key);
	free(key);
	usage_load_array(unpack_get(&u.data, "input"), w->in, &nin);
	usage_load_array(unpack_get(&u.data, "output"), w->out, &nout);
	w->n = nin < nout ? nin : nout;
	w->next = w->n % ESTIMATE_WINDOW;
	msgpack_unpacked_destroy(&u);
	return (0);
}

int
estimate_load_all(struct journal *j, char **cause)
{
	if (windows.nbuckets == 0)
		strmap_init(&windows);
	if (journal_table_foreach(j, "usage", NULL, 0, 0, usage_row_cb,
	    NULL) == -1) {
		*cause = xstrdup("cannot read the usage table");
		return (-1);
	}
	return (0);
}

static void
usage_free_node(struct strmap_node *n, void *arg)
{
	struct usage_window	*w = (struct usage_window *)((char *)n -
	    offsetof(struct usage_window, node));

	free(w->key);
	free(w);
}

void
estimate_free_all(void)
{
	if (windows.nbuckets == 0)
		return;
	strmap_foreach(&windows, usage_free_node, NULL);
	strmap_clear(&windows);
}
