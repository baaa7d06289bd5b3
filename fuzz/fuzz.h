/*
 * fuzz/fuzz.h: what the fuzz targets share.
 *
 * Each fuzz/fuzz-NAME.c defines LLVMFuzzerTestOneInput.  Built with
 * --enable-fuzz it links libFuzzer's main; otherwise fuzz/replay.c's main
 * runs it over fuzz/corpus/NAME/ as a test of `make check`.
 */
#ifndef CHIME_FUZZ_H
#define CHIME_FUZZ_H

#include <stddef.h>
#include <stdint.h>

/* At most FUZZ_FIELDS_MAX fields of an input. */
#define FUZZ_FIELDS_MAX	8

struct fuzz_fields {
	int	 n;
	char	*v[FUZZ_FIELDS_MAX];	/* NUL-terminated copies */
	size_t	 len[FUZZ_FIELDS_MAX];	/* bytes, NULs inside included */
};

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* Split DATA at each '\n' into at most MAX fields, the last one taking the
 * rest (newlines included).  fuzz_fields_free frees the copies. */
void	fuzz_fields_split(const uint8_t *, size_t, int, struct fuzz_fields *);
void	fuzz_fields_free(struct fuzz_fields *);

/* Silence the daemon's log (the targets call code that logs). */
void	fuzz_quiet(void);

/* A failed property: print WHAT and the input's fields, then abort so the
 * fuzzer keeps the input. */
void	fuzz_fail(const char *, const struct fuzz_fields *)
	    __attribute__((noreturn));

#endif /* CHIME_FUZZ_H */
