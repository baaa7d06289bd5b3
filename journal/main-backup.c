/*
 * journal/main-backup.c: chime-journal backup, a consistent copy of a data
 * directory's journal, also while chimed runs and writes, that chimed can
 * start from as it is.
 *
 * BACKUP is a new directory, made 0700, laid out as a data directory:
 *
 *	BACKUP/journal/data.mdb	LMDB's copy of the journal with compaction
 *				(one read transaction: the journal as one
 *				commit left it; free pages left out), 0600
 *	BACKUP/keys/		the checkpoint signing key and its public key
 *	BACKUP/secrets/		the secrets chimed generated (webhooks)
 *
 * The journal is copied first, then the keys and the secrets, so that
 * every secret a schedule of the copy names is there (a secret made after
 * the copy is there too, unused; one whose grace period ended meanwhile
 * may be missing, as it would be after a restart).  Every file is synced
 * before the copy is read back and verified as `chime-journal verify`
 * does; a copy that does not verify is kept for inspection, said, and the
 * exit status is 1.  BACKUP must not exist: nothing is ever overwritten.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine.h"
#include "journal.h"

#define BACKUP_CHUNK	65536

/* Make DIR (0700) or say why; 0 or -1. */
static int
backup_mkdir(const char *dir)
{
	if (mkdir(dir, 0700) == -1) {
		fprintf(stderr, "chime-journal: backup: cannot make %s: %s\n",
		    dir, strerror(errno));
		return (-1);
	}
	return (0);
}

/* fsync the file or directory at PATH; 0 or -1 (said). */
static int
backup_sync(const char *path)
{
	int	fd, rc;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		rc = -1;
	else {
		rc = fsync(fd);
		close(fd);
	}
	if (rc == -1)
		fprintf(stderr, "chime-journal: backup: cannot sync %s: %s\n",
		    path, strerror(errno));
	return (rc);
}

/* Copy the regular file FROM to the new file TO with FROM's permission
 * bits, synced; symbolic links are not followed.  0, or -1 (said). */
static int
backup_file(const char *from, const char *to)
{
	struct stat	 sb;
	char		 buf[BACKUP_CHUNK];
	ssize_t		 n;
	int		 in, out = -1, rc = -1;

	if ((in = open(from, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1 ||
	    fstat(in, &sb) == -1) {
		fprintf(stderr, "chime-journal: backup: cannot read %s: %s\n",
		    from, strerror(errno));
		goto out;
	}
	if (!S_ISREG(sb.st_mode)) {
		fprintf(stderr, "chime-journal: backup: %s is not a regular "
		    "file\n", from);
		goto out;
	}
	if ((out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    sb.st_mode & 0777)) == -1)
		goto bad;
	while ((n = read(in, buf, sizeof buf)) > 0)
		if (write_all(out, buf, (size_t)n) == -1)
			goto bad;
	if (n == -1 || fchmod(out, sb.st_mode & 0777) == -1 ||
	    fsync(out) == -1)
		goto bad;
	rc = 0;
	goto out;
bad:
	fprintf(stderr, "chime-journal: backup: cannot copy %s to %s: %s\n",
	    from, to, strerror(errno));
out:
	if (in != -1)
		close(in);
	if (out != -1 && close(out) == -1 && rc == 0) {
		fprintf(stderr, "chime-journal: backup: cannot write %s: %s\n",
		    to, strerror(errno));
		rc = -1;
	}
	return (rc);
}

/* Copy the regular files of the directory FROM (absent: none) into the new
 * directory TO; *N counts them.  0, or -1 (said). */
static int
backup_dir(const char *from, const char *to, size_t *n)
{
	DIR		*d;
	struct dirent	*de;
	char		*src, *dst;
	int		 rc = 0;

	*n = 0;
	if ((d = opendir(from)) == NULL) {
		if (errno == ENOENT)
			return (0);
		fprintf(stderr, "chime-journal: backup: cannot read %s: %s\n",
		    from, strerror(errno));
		return (-1);
	}
	if (backup_mkdir(to) == -1) {
		closedir(d);
		return (-1);
	}
	while (rc == 0 && (de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		xasprintf(&src, "%s/%s", from, de->d_name);
		xasprintf(&dst, "%s/%s", to, de->d_name);
		rc = backup_file(src, dst);
		free(src);
		free(dst);
		(*n)++;
	}
	closedir(d);
	if (rc == 0)
		rc = backup_sync(to);
	return (rc);
}

/* The journal of DATA into BACKUP/journal/data.mdb, synced; its size in
 * *SIZE.  0, or -1 (said). */
static int
backup_journal(const char *data, const char *backup, uint64_t *seq,
    off_t *size)
{
	struct journal_meta	 m;
	struct journal		*j;
	struct stat		 sb;
	char			*dir, *file, *cause = NULL;
	int			 fd, rc = -1;

	xasprintf(&dir, "%s/journal", backup);
	xasprintf(&file, "%s/data.mdb", dir);
	if (backup_mkdir(dir) == -1)
		goto out;
	if ((fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	    0600)) == -1) {
		fprintf(stderr, "chime-journal: backup: cannot make %s: %s\n",
		    file, strerror(errno));
		goto out;
	}
	j = jcli_open(data);
	if (journal_copy(j, fd, &cause) != 0) {
		fprintf(stderr, "chime-journal: backup: %s\n", cause);
		free(cause);
		journal_close(j);
		close(fd);
		goto out;
	}
	journal_close(j);
	if (fsync(fd) == -1 || fstat(fd, &sb) == -1) {
		fprintf(stderr, "chime-journal: backup: cannot write %s: %s\n",
		    file, strerror(errno));
		close(fd);
		goto out;
	}
	close(fd);
	*size = sb.st_size;
	/* The head the copy holds, read from the copy: the live journal
	 * has moved on since its read transaction began. */
	j = jcli_open(backup);
	if (journal_meta(j, &m, &cause) != 0) {
		fprintf(stderr, "chime-journal: backup: %s\n", cause);
		free(cause);
		journal_close(j);
		goto out;
	}
	journal_close(j);
	*seq = m.head_seq;
	rc = backup_sync(dir);
out:
	free(dir);
	free(file);
	return (rc);
}

/* The data directory the journal of DATA belongs to (DATA itself, or its
 * parent when DATA is the journal's directory); allocated. */
static char *
backup_base(const char *data)
{
	char	*journal, *base;
	size_t	 len;

	journal = jcli_path(data, "journal");
	len = strlen(journal);
	if (strcmp(journal, data) == 0)
		xasprintf(&base, "%s/..", data);
	else
		base = xstrndup(journal, len - strlen("/journal"));
	free(journal);
	return (base);
}

int
cmd_backup(int argc, char **argv)
{
	const char	*data, *backup, *verify[3];
	char		*base, *from, *to;
	uint64_t	 seq = 0;
	off_t		 size = 0;
	size_t		 nkeys = 0, nsecrets = 0;
	int		 rc;

	if (argc < 2 || argc > 3 || argv[argc - 1][0] == '-')
		jcli_usage();
	backup = argv[argc - 1];
	data = jcli_data(argc - 2, argv + 1);
	if (backup_mkdir(backup) == -1)
		return (1);
	base = backup_base(data);
	if (backup_journal(data, backup, &seq, &size) == -1)
		goto fail;
	xasprintf(&from, "%s/keys", base);
	xasprintf(&to, "%s/keys", backup);
	rc = backup_dir(from, to, &nkeys);
	free(from);
	free(to);
	if (rc == -1)
		goto fail;
	xasprintf(&from, "%s/secrets", base);
	xasprintf(&to, "%s/secrets", backup);
	rc = backup_dir(from, to, &nsecrets);
	free(from);
	free(to);
	if (rc == -1 || backup_sync(backup) == -1)
		goto fail;
	printf("backup %s: journal to seq %" PRIu64 " (%lld bytes), %zu "
	    "key files, %zu secrets\n", backup, seq, (long long)size, nkeys,
	    nsecrets);
	fflush(stdout);
	verify[0] = "verify";
	verify[1] = backup;
	verify[2] = NULL;
	if (proof_cmd_verify(2, (char **)verify) != 0) {
		fprintf(stderr, "chime-journal: backup: the copy in %s does "
		    "not verify; it is kept for inspection\n", backup);
		free(base);
		return (1);
	}
	free(base);
	return (0);
fail:
	fprintf(stderr, "chime-journal: backup: not made; remove %s before "
	    "trying again\n", backup);
	free(base);
	return (1);
}
