/*
 * tests/hold.c: chime-test-hold, a test helper that holds a journal's
 * writer.  Not installed.
 *
 *	chime-test-hold DIR
 *
 * It opens the LMDB environment in DIR (a data directory's journal/), begins
 * a write transaction (LMDB's one writer lock, shared between processes
 * through the lock file), prints "held" on standard output, and keeps it
 * until SIGTERM or SIGINT (or the death of its parent, the test script);
 * then it aborts the transaction, having written nothing, and exits 0.
 * While it holds the lock, a running daemon's writer thread waits at its
 * next commit: integration tests use it to check that what must wait for a
 * durable record (an answer, a 202) waits with it, and that a request in
 * flight that long is not cut by a timeout.
 *
 * Exit status 0 once released; 1 if the lock could not be taken.
 */
#include <sys/prctl.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <lmdb.h>

static volatile sig_atomic_t	hold_stop;

static void	hold_fail(const char *, const char *, int);
static void	hold_signal(int);

static void
hold_fail(const char *what, const char *dir, int rc)
{
	fprintf(stderr, "chime-test-hold: %s %s: %s\n", what, dir,
	    mdb_strerror(rc));
	exit(1);
}

static void
hold_signal(int sig)
{
	hold_stop = 1;
}

int
main(int argc, char **argv)
{
	struct sigaction	 sa;
	sigset_t		 block, old;
	MDB_env			*env;
	MDB_txn			*txn;
	int			 rc;

	if (argc != 2) {
		fprintf(stderr, "usage: chime-test-hold DIR\n");
		return (2);
	}
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &old);
	sa.sa_handler = hold_signal;
	sa.sa_flags = 0;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	/* A test that dies must not leave the daemon's writer stuck. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() == 1)
		return (1);

	if ((rc = mdb_env_create(&env)) != 0)
		hold_fail("mdb_env_create", argv[1], rc);
	if ((rc = mdb_env_set_maxdbs(env, 64)) != 0)
		hold_fail("mdb_env_set_maxdbs", argv[1], rc);
	if ((rc = mdb_env_open(env, argv[1], 0, 0600)) != 0)
		hold_fail("mdb_env_open", argv[1], rc);
	if ((rc = mdb_txn_begin(env, NULL, 0, &txn)) != 0)
		hold_fail("mdb_txn_begin", argv[1], rc);
	printf("held\n");
	fflush(stdout);
	while (!hold_stop)
		sigsuspend(&old);
	mdb_txn_abort(txn);
	mdb_env_close(env);
	return (0);
}
