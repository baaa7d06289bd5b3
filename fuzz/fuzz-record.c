/*
 * fuzz/fuzz-record.c: the journal's record decoder.
 *
 * The input is the bytes of one log entry's record (doc/journal-format.md:
 * the msgpack array [version, seq, time_us, kind, account, body]), as
 * chime-journal reads them from a journal it does not trust.  They go
 * through record_decode, then what chime-journal export and the daemon
 * make of a decoded record: record_to_json and run_row_to_json of the
 * body; and, on their own, through record_check_body (the check a body
 * passes before it is journaled).
 *
 * Properties: a refusal has a cause and leaves the record cleared; the
 * JSON of a decoded record serialises and parses back (unless a key holds
 * a NUL, which jansson cannot read) with the same kind and seq.  The same
 * bytes also go through the in-place reader (unpack_cursor, which the
 * analytics scans use): where it reads a value, msgpack-c reads the same
 * bytes.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "actors.h"
#include "fuzz.h"

static void	fuzz_record_json(json_t *, const struct record *);
static void	fuzz_record_cursor(const uint8_t *, size_t);

/*
 * The cursor against msgpack-c over DATA.  Only where the cursor reads a
 * value: msgpack-c allocates for an array's or map's count before it
 * reads the elements (a count of 2^32 - 1 in five bytes asks for 96 GB),
 * and the cursor refuses a count that the remaining bytes cannot hold.
 * msgpack-c may then still refuse nesting deeper than its stack.
 */
static void
fuzz_record_cursor(const uint8_t *data, size_t size)
{
	struct unpack_cursor	 c;
	msgpack_zone		 z;
	msgpack_object		 o;
	size_t			 off = 0;
	int			 rc;

	unpack_cursor_init(&c, data, size);
	unpack_next_skip(&c);
	if (c.err)
		return;
	if (c.p < data || c.p > data + size)
		fuzz_fail("the cursor left its bytes", NULL);
	msgpack_zone_init(&z, 2048);
	rc = msgpack_unpack((const char *)data, size, &off, &z, &o);
	if ((rc == MSGPACK_UNPACK_SUCCESS || rc == MSGPACK_UNPACK_EXTRA_BYTES) &&
	    (size_t)(c.p - data) != off)
		fuzz_fail("the cursor skips other bytes than msgpack-c reads",
		    NULL);
	msgpack_zone_destroy(&z);
}

/* J must serialise, and parse back to an object with REC's kind and seq. */
static void
fuzz_record_json(json_t *j, const struct record *rec)
{
	json_t	*back, *kind = NULL;
	char	*s;

	if (j == NULL || (s = json_dumps(j, JSON_COMPACT)) == NULL)
		fuzz_fail("a decoded record whose JSON does not serialise",
		    NULL);
	/* jansson reads no NUL in a key ("\u0000"), which JSON allows. */
	if ((back = json_loads(s, JSON_ALLOW_NUL, NULL)) == NULL) {
		if (strstr(s, "\\u0000") == NULL)
			fuzz_fail("a record's JSON that does not parse back",
			    NULL);
		free(s);
		return;
	}
	/* A kind that is not UTF-8 is shown with U+FFFD in its place. */
	if (rec != NULL && ((uint64_t)json_integer_value(json_object_get(back,
	    "seq")) != rec->seq || ((kind = json_string(rec->kind)) != NULL &&
	    !json_equal(kind, json_object_get(back, "kind")))))
		fuzz_fail("a record's JSON with another kind or seq", NULL);
	json_decref(kind);
	json_decref(back);
	free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t	 hash[32] = { 0xc5, 0x1d, 0x2e };
	struct record		 rec;
	json_t			*j;
	char			*cause = NULL;

	fuzz_quiet();
	fuzz_record_cursor(data, size);
	if (record_check_body(data, size, &cause) != 0) {
		if (cause == NULL)
			fuzz_fail("a body refused without a cause", NULL);
		free(cause);
		cause = NULL;
	}
	if (record_decode(data, size, &rec, &cause) != 0) {
		if (cause == NULL || rec.zone != NULL || rec.kind != NULL)
			fuzz_fail("a refused record without a cause, or not "
			    "cleared", NULL);
		free(cause);
		return (0);
	}
	/* A map with two keys of one name is refused, with a cause. */
	if ((j = record_to_json(&rec, size % 2 ? hash : NULL, &cause)) ==
	    NULL) {
		if (cause == NULL)
			fuzz_fail("a record's JSON refused without a cause",
			    NULL);
		free(cause);
		cause = NULL;
	} else {
		fuzz_record_json(j, &rec);
		json_decref(j);
	}
	j = run_row_to_json(&rec.body);
	fuzz_record_json(j, NULL);
	json_decref(j);
	record_clear(&rec);
	return (0);
}
