/*
 * fuzz/replay.c: a main for the fuzz targets in a build without libFuzzer.
 *
 *	fuzz/fuzz-NAME [FILE | DIR]...
 *
 * runs LLVMFuzzerTestOneInput once on each FILE and each file in each
 * DIR; with no argument, on every file of $CHIME_SRCDIR/fuzz/corpus/NAME
 * (NAME from the program's name).  `make check` runs it that way, so
 * every seed, and every input that once crashed a target, stays a test.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "fuzz.h"

static int	replay_file(const char *);
static int	replay_dir(const char *, size_t *);
static int	replay_path(const char *, size_t *);

/* Run the target on one file; -1 if it cannot be read. */
static int
replay_file(const char *path)
{
	FILE	*f;
	uint8_t	*buf = NULL;
	size_t	 len = 0, cap = 0, n;

	if ((f = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return (-1);
	}
	for (;;) {
		if (len == cap) {
			cap = cap == 0 ? 4096 : cap * 2;
			buf = xreallocarray(buf, cap, 1);
		}
		if ((n = fread(buf + len, 1, cap - len, f)) == 0)
			break;
		len += n;
	}
	if (ferror(f)) {
		fprintf(stderr, "replay: %s: read error\n", path);
		fclose(f);
		free(buf);
		return (-1);
	}
	fclose(f);
	/* An exact-size copy, so ASan sees a read past the input. */
	n = len;
	buf = xreallocarray(buf, n == 0 ? 1 : n, 1);
	LLVMFuzzerTestOneInput(buf, n);
	free(buf);
	return (0);
}

/* Every regular file of DIR, in name order. */
static int
replay_dir(const char *dir, size_t *count)
{
	struct dirent	**names;
	char		  path[PATH_MAX];
	int		  n, i, rc = 0;

	if ((n = scandir(dir, &names, NULL, alphasort)) == -1) {
		fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
		return (-1);
	}
	for (i = 0; i < n; i++) {
		if (names[i]->d_name[0] != '.') {
			snprintf(path, sizeof path, "%s/%s", dir,
			    names[i]->d_name);
			if (replay_path(path, count) != 0)
				rc = -1;
		}
		free(names[i]);
	}
	free(names);
	return (rc);
}

static int
replay_path(const char *path, size_t *count)
{
	struct stat	st;

	if (stat(path, &st) == -1) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return (-1);
	}
	if (S_ISDIR(st.st_mode))
		return (replay_dir(path, count));
	if (replay_file(path) != 0)
		return (-1);
	(*count)++;
	return (0);
}

int
main(int argc, char **argv)
{
	const char	*name, *src;
	char		 dir[PATH_MAX];
	size_t		 count = 0;
	int		 i, rc = 0;

	if (argc > 1) {
		for (i = 1; i < argc; i++) {
			if (replay_path(argv[i], &count) != 0)
				rc = 1;
		}
		printf("replayed %zu inputs\n", count);
		return (rc);
	}
	name = strrchr(argv[0], '/') != NULL ? strrchr(argv[0], '/') + 1 :
	    argv[0];
	if (strncmp(name, "fuzz-", 5) == 0)
		name += 5;
	if ((src = getenv("CHIME_SRCDIR")) == NULL)
		src = ".";
	snprintf(dir, sizeof dir, "%s/fuzz/corpus/%s", src, name);
	if (replay_dir(dir, &count) != 0)
		rc = 1;
	if (count == 0) {
		fprintf(stderr, "replay: no inputs in %s\n", dir);
		rc = 1;
	}
	/* Counted by .ci/run like an integration script's checks. */
	printf("%s: fuzz-%s replayed %zu inputs from %s\n", rc == 0 ? "PASS" :
	    "FAIL", name, count, dir);
	return (rc);
}
