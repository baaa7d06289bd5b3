/*
 * tests/lib.h: the fixtures the Check programs share (tests/lib.c):
 * temporary directories, the source and build trees, the engine with the
 * integration catalog and a journal, waiting on the loop, pseudo-random
 * numbers, JSON getters, the test cases of a suite and running the
 * suites.  Every function asserts
 * with Check, so a failure fails the test that called it.
 */
#ifndef CHIME_TESTS_LIB_H
#define CHIME_TESTS_LIB_H

#include <sys/types.h>

#include <check.h>
#include <stdint.h>

#include <event2/event.h>
#include <jansson.h>

#include "engine.h"
#include "journal.h"

/* An executor call's outcome, filled in by lib_done. */
struct outcome {
	int			 calls;
	struct exec_result	*r;
};

char		*lib_tmpdir(const char *);
void		 lib_rm_tree(const char *);
char		*lib_put_file(const char *, const char *, const void *, size_t,
		     mode_t);
char		*lib_srcdir_path(const char *);
char		*lib_tests_dir(void);
struct journal	*lib_journal_open(const char *, struct event_base *,
		     enum journal_sync, size_t, size_t);
void		 lib_engine_start(const char *);
void		 lib_engine_stop(void);
void		 lib_submit_wait(struct jrec *);
void		 lib_done(struct exec_result *, void *);
void		 lib_wait_all(struct event_base *, struct outcome *, size_t);
uint64_t	 lib_rnd(void);
/* J as msgpack: integers as integers, null as nil (a record's body or a
 * run map written as JSON in a test). */
void		 lib_pack_json(msgpack_packer *, json_t *);
const char	*lib_json_str(json_t *, const char *);
TCase		*lib_tcase(Suite *, const char *, SFun, SFun, int, ...)
		    __attribute__((__sentinel__));
int		 lib_run(enum print_output, Suite *, ...)
		    __attribute__((__sentinel__));

#endif
