/*
 * fuzz/fuzz-catalog.c: the catalog parser (doc/catalog.md).
 *
 * The input is a catalog file's bytes, as chimed --catalog, SIGHUP and
 * daemon.reload read them: catalog_parse validates the whole document.
 * A catalog it accepts is then used as the daemon uses it: every
 * operation and model is looked up by id, each operation is priced with
 * its default model and with every model (cost_estimate), and the
 * catalog is shown (catalog_to_json, as daemon.catalog answers).
 *
 * Properties: a refusal has a cause; in an accepted catalog every id is
 * found, every default model exists, token estimates are ordered and
 * not negative, and so are the prices of each (low <= mid <= high), and the JSON serialises.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "actors.h"
#include "fuzz.h"

static void	fuzz_catalog_price(const struct operation *,
		    const struct model *);

static void
fuzz_catalog_price(const struct operation *op, const struct model *m)
{
	struct cost_range	r;

	cost_estimate(op, m, &r);
	if (r.low < 0 || r.mid < 0 || r.high < 0)
		fuzz_fail("a negative estimate", NULL);
	if (op->input_tokens[0] < 0 ||
	    op->input_tokens[0] > op->input_tokens[1] ||
	    op->input_tokens[1] > op->input_tokens[2] ||
	    op->output_tokens[0] < 0 ||
	    op->output_tokens[0] > op->output_tokens[1] ||
	    op->output_tokens[1] > op->output_tokens[2])
		fuzz_fail("token estimates accepted out of order", NULL);
	if (r.low > r.mid || r.mid > r.high)
		fuzz_fail("ordered token estimates priced out of order", NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct catalog		*cat;
	const struct operation	*op;
	const struct model	*m;
	json_t			*j;
	char			*cause = NULL, *s;
	size_t			 i, k;

	fuzz_quiet();
	cat = catalog_parse((const char *)data, size, "fuzz", &cause);
	if (cat == NULL) {
		if (cause == NULL)
			fuzz_fail("a catalog refused without a cause", NULL);
		free(cause);
		return (0);
	}
	for (i = 0; i < cat->nmodels; i++) {
		if (catalog_model(cat, cat->models[i].id) != &cat->models[i])
			fuzz_fail("a model not found by its id", NULL);
	}
	for (i = 0; i < cat->nops; i++) {
		op = &cat->ops[i];
		if (catalog_operation(cat, op->id) != op)
			fuzz_fail("an operation not found by its id", NULL);
		if (op->default_model != NULL) {
			if ((m = catalog_model(cat, op->default_model)) == NULL)
				fuzz_fail("a default model not in the catalog",
				    NULL);
			fuzz_catalog_price(op, m);
		}
		for (k = 0; k < cat->nmodels && k < 16; k++)
			fuzz_catalog_price(op, &cat->models[k]);
	}
	j = catalog_to_json(cat);
	if (j == NULL || (s = json_dumps(j, JSON_COMPACT)) == NULL)
		fuzz_fail("a catalog whose JSON does not serialise", NULL);
	free(s);
	json_decref(j);
	catalog_unref(cat);
	return (0);
}
