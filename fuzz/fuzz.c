/*
 * fuzz/fuzz.c: helpers of the fuzz targets (fuzz.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "fuzz.h"

void
fuzz_fields_split(const uint8_t *data, size_t size, int max,
    struct fuzz_fields *f)
{
	const uint8_t	*p = data, *end = data + size, *nl;
	size_t		 len;

	if (max > FUZZ_FIELDS_MAX)
		max = FUZZ_FIELDS_MAX;
	memset(f, 0, sizeof *f);
	while (f->n < max) {
		nl = f->n + 1 < max ? memchr(p, '\n', end - p) : NULL;
		len = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		f->v[f->n] = xmalloc(len + 1);
		memcpy(f->v[f->n], p, len);
		f->v[f->n][len] = '\0';
		f->len[f->n] = len;
		f->n++;
		if (nl == NULL)
			break;
		p = nl + 1;
	}
}

void
fuzz_fields_free(struct fuzz_fields *f)
{
	int	i;

	for (i = 0; i < f->n; i++)
		free(f->v[i]);
	memset(f, 0, sizeof *f);
}

void
fuzz_quiet(void)
{
	log_open("fuzz", LOG_LEVEL_ERROR);
}

void
fuzz_fail(const char *what, const struct fuzz_fields *f)
{
	int	i;

	fprintf(stderr, "fuzz: property failed: %s\n", what);
	for (i = 0; f != NULL && i < f->n; i++)
		fprintf(stderr, "fuzz:   field %d: \"%s\"\n", i, f->v[i]);
	abort();
}
