/*
 * actors/cost.c: the cost model.  Money is int64_t micro-dollars; prices
 * are micro-dollars per million tokens.  Every product is taken exactly
 * (128-bit) and rounded up to the next micro-dollar, so a cost is never
 * under-charged by rounding; a result past INT64_MAX saturates there.
 */
#include <stdint.h>

#include "actors.h"

#define COST_MTOK	1000000

static int64_t	cost_add(int64_t, int64_t);

/* A saturating sum of two non-negative amounts. */
static int64_t
cost_add(int64_t a, int64_t b)
{
	if (a > INT64_MAX - b)
		return (INT64_MAX);
	return (a + b);
}

/*
 * Micro-dollars for TOKENS at PER_MTOK micro-dollars per million tokens,
 * rounded up: ceil(TOKENS * PER_MTOK / 1000000).  Negative inputs count as
 * zero.
 */
int64_t
cost_tokens(int64_t tokens, int64_t per_mtok)
{
	__int128	p;

	if (tokens <= 0 || per_mtok <= 0)
		return (0);
	p = (__int128)tokens * per_mtok;
	p = (p + COST_MTOK - 1) / COST_MTOK;
	if (p > INT64_MAX)
		return (INT64_MAX);
	return ((int64_t)p);
}

/*
 * The estimate of one run of OP priced with M: for each of low, mid and
 * high, the input tokens at the input price plus the output tokens at the
 * output price, each part rounded up on its own.
 */
void
cost_estimate(const struct operation *op, const struct model *m,
    struct cost_range *out)
{
	int64_t	v[3];
	int	i;

	for (i = 0; i < 3; i++)
		v[i] = cost_add(cost_tokens(op->input_tokens[i],
		    m->input_per_mtok), cost_tokens(op->output_tokens[i],
		    m->output_per_mtok));
	out->low = v[0];
	out->mid = v[1];
	out->high = v[2];
}

/* The cost of a finished run from its reported usage (-1: not reported). */
int64_t
cost_actual(const struct model *m, int64_t input_tokens,
    int64_t output_tokens)
{
	return (cost_add(cost_tokens(input_tokens, m->input_per_mtok),
	    cost_tokens(output_tokens, m->output_per_mtok)));
}
