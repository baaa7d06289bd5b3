/*
 * daemon/config.c: chimed's configuration file, and where each setting
 * came from.
 *
 * The file (--config FILE, else CHIME_CONFIG_FILE when it exists) is read
 * with inih (Debian's libinih): lines "KEY = VALUE", KEY one of chimed's
 * long flags without its "--", VALUE the flag's value (yes or no for a
 * flag that takes none); comment lines begin with '#' or ';'; there are no
 * sections.  Values are taken whole: no inline comments, no quotes, no
 * continuation lines.  A setting the command line gives is not read from
 * the file (the command line wins); a setting given twice in the file is
 * refused unless it is one that repeats (http-allow).  Every error is
 * reported with the file, the line and the key, and nothing starts.
 *
 * What was set, by whom, is kept for daemon.status: each setting's value
 * as given and its source ("command line", "FILE:LINE") or "default".
 * A password in a URL (scheme://user:password@host) is shown as "***".
 */
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "ctl.h"
#include "daemon.h"

#define CONFIG_LINE_MAX		4096	/* bytes of a line, its end included */
#define CONFIG_SETTINGS_MAX	256	/* settings kept for daemon.status */
#define CONFIG_ERRORS_MAX	20	/* errors said before "and more" */

/* One setting as given. */
struct config_setting {
	char	*name;
	char	*value;		/* as shown; NULL: the default */
	char	*raw;		/* a file's value as the daemon took it */
	char	*source;	/* "command line", "FILE:LINE", "default" */
};

/* The file being read. */
struct config_read {
	const char		*path;
	FILE			*fp;
	int			 line;		/* of the line read last */
	int			 errors;
	int			 section_said;
	config_setting_cb	 cb;
	void			*arg;
};

static struct config_setting	 config_settings[CONFIG_SETTINGS_MAX];
static size_t			 config_nsettings;
static char			*config_file;	/* the file read, or NULL */
static const char *const	*config_order;	/* every setting's name */

static const char *const config_repeatable[] = { "http-allow", NULL };

/* VALUE with the password of a URL in it replaced by "***"; allocated. */
static char *
config_mask(const char *value)
{
	const char	*scheme, *at, *colon;
	char		*out;

	if ((scheme = strstr(value, "://")) == NULL ||
	    (at = strchr(scheme + 3, '@')) == NULL ||
	    (colon = memchr(scheme + 3, ':', (size_t)(at - scheme - 3))) ==
	    NULL)
		return (xstrdup(value));
	xasprintf(&out, "%.*s***%s", (int)(colon + 1 - value), value, at);
	return (out);
}

/* Keep NAME = VALUE from SOURCE; RAW (allocated, or NULL) is the value
 * the daemon took, kept until config_free. */
static void
config_keep(const char *name, const char *value, char *raw,
    const char *source)
{
	struct config_setting	*s;

	if (config_nsettings == CONFIG_SETTINGS_MAX)
		fatalx("config_keep: more than %d settings",
		    CONFIG_SETTINGS_MAX);
	s = &config_settings[config_nsettings++];
	s->name = xstrdup(name);
	s->value = value != NULL ? config_mask(value) : NULL;
	s->raw = raw;
	s->source = xstrdup(source);
}

/* NAME = VALUE came from the command line. */
void
config_given(const char *name, const char *value)
{
	config_keep(name, value, NULL, "command line");
}

/* The line of NAME's first setting in the file so far, or 0. */
static int
config_seen(const char *name)
{
	const char	*colon;
	size_t		 i;

	for (i = 0; i < config_nsettings; i++) {
		if (strcmp(config_settings[i].name, name) != 0 ||
		    (colon = strrchr(config_settings[i].source, ':')) == NULL ||
		    strncmp(config_settings[i].source, "command line", 12) == 0)
			continue;
		return (atoi(colon + 1));
	}
	return (0);
}

static int
config_repeats(const char *name)
{
	size_t	i;

	for (i = 0; config_repeatable[i] != NULL; i++)
		if (strcmp(config_repeatable[i], name) == 0)
			return (1);
	return (0);
}

/* 1 for yes, 0 for no (true/false, on/off, 1/0 too), -1 otherwise. */
int
config_bool(const char *s)
{
	static const char *const yes[] = { "yes", "true", "on", "1", NULL };
	static const char *const no[] = { "no", "false", "off", "0", NULL };
	size_t	i;

	for (i = 0; yes[i] != NULL; i++)
		if (strcasecmp(s, yes[i]) == 0)
			return (1);
	for (i = 0; no[i] != NULL; i++)
		if (strcasecmp(s, no[i]) == 0)
			return (0);
	return (-1);
}

static void
config_error(struct config_read *r, const char *key, const char *fmt, ...)
{
	va_list	 ap;
	char	*msg;

	if (++r->errors > CONFIG_ERRORS_MAX)
		return;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) == -1)
		fatal("vasprintf");
	va_end(ap);
	if (r->errors == CONFIG_ERRORS_MAX)
		fprintf(stderr, "chimed: %s: more errors follow; the first "
		    "%d are said\n", r->path, CONFIG_ERRORS_MAX);
	else if (key != NULL)
		fprintf(stderr, "chimed: %s:%d: %s: %s\n", r->path, r->line,
		    key, msg);
	else
		fprintf(stderr, "chimed: %s:%d: %s\n", r->path, r->line, msg);
	free(msg);
}

/* inih's reader: a line of the file, counted; one longer than inih's
 * buffer is an error of its own, its rest skipped. */
static char *
config_reader(char *buf, int size, void *arg)
{
	struct config_read	*r = arg;
	size_t			 len;
	int			 c;

	if (fgets(buf, size, r->fp) == NULL)
		return (NULL);
	r->line++;
	len = strlen(buf);
	if (len > 0 && buf[len - 1] != '\n' && !feof(r->fp)) {
		while ((c = fgetc(r->fp)) != EOF && c != '\n')
			/* the rest of the line */;
		config_error(r, NULL, "a line longer than %d bytes", size - 3);
		buf[0] = '\0';
	}
	return (buf);
}

/* inih's handler: one KEY = VALUE of SECTION ("" before any). */
static int
config_handler(void *arg, const char *section, const char *key,
    const char *value)
{
	struct config_read	*r = arg;
	char			*cause = NULL, *raw, where[PATH_MAX + 32];
	int			 line, rc;

	if (section[0] != '\0') {
		if (!r->section_said)
			config_error(r, NULL, "sections are not used: \"[%s]\" "
			    "(every setting is at the top level)", section);
		r->section_said = 1;
		return (1);
	}
	if ((line = config_seen(key)) != 0 && !config_repeats(key)) {
		config_error(r, key, "given twice (first on line %d)", line);
		return (1);
	}
	/* inih's buffer is reused: the daemon keeps pointers into RAW. */
	raw = xstrdup(value);
	rc = r->cb(r->arg, key, raw, &cause);
	if (rc == -1) {
		config_error(r, key, "%s", cause);
		free(cause);
	}
	if (rc != 0) {
		free(raw);
		return (1);
	}
	snprintf(where, sizeof where, "%s:%d", r->path, r->line);
	config_keep(key, value, raw, where);
	return (1);
}

/*
 * Read the configuration file PATH (NULL: CHIME_CONFIG_FILE, and none is
 * fine if it does not exist), giving each setting to CB(ARG, KEY, VALUE,
 * &cause), which answers 0, CONFIG_OVERRIDDEN (the command line gave it),
 * or -1 with a cause.  0, or -1 after saying every error on stderr.
 */
int
config_load(const char *path, config_setting_cb cb, void *arg)
{
	struct config_read	 r;
	int			 rc;

	memset(&r, 0, sizeof r);
	r.path = path != NULL ? path : CHIME_CONFIG_FILE;
	r.cb = cb;
	r.arg = arg;
	if ((r.fp = fopen(r.path, "re")) == NULL) {
		if (path == NULL && errno == ENOENT)
			return (0);
		fprintf(stderr, "chimed: cannot read the configuration file "
		    "%s: %s\n", r.path, strerror(errno));
		return (-1);
	}
#if HAVE_DECL_INI_MAX_LINE
	/* Debian's inih takes its options at run time. */
	ini_use_stack = 0;
	ini_max_line = CONFIG_LINE_MAX;
	ini_initial_alloc = CONFIG_LINE_MAX;
	ini_allow_multiline = 0;
	ini_allow_inline_comments = 0;
#endif
	rc = ini_parse_stream(config_reader, &r, config_handler, &r);
	if (rc > 0) {
		r.line = rc;
		config_error(&r, NULL, "not a setting: expected KEY = VALUE "
		    "(or a comment beginning with # or ;)");
	} else if (rc < 0)
		config_error(&r, NULL, "cannot read the file");
	if (ferror(r.fp))
		config_error(&r, NULL, "cannot read the file: %s",
		    strerror(errno));
	fclose(r.fp);
	if (r.errors > 0)
		return (-1);
	free(config_file);
	config_file = xstrdup(r.path);
	return (0);
}

/* The file read, or NULL. */
const char *
config_path(void)
{
	return (config_file);
}

/* NAMES (NULL-terminated, kept): every setting, in daemon.status's
 * order. */
void
config_names(const char *const *names)
{
	config_order = names;
}

/*
 * The settings as daemon.status shows them, in config_names's order
 * (those not given are "default"): {"file", "settings": [{"name",
 * "value", "source"}]}.
 */
json_t *
config_settings_json(void)
{
	const char *const	*names = config_order;
	json_t			*list = json_array();
	size_t			 i, k;
	int			 found;

	for (k = 0; names != NULL && names[k] != NULL; k++) {
		found = 0;
		for (i = 0; i < config_nsettings; i++) {
			if (strcmp(config_settings[i].name, names[k]) != 0)
				continue;
			found = 1;
			json_array_append_new(list, json_pack("{s:s, s:s?, "
			    "s:s}", "name", names[k], "value",
			    config_settings[i].value, "source",
			    config_settings[i].source));
		}
		if (!found)
			json_array_append_new(list, json_pack("{s:s, s:n, "
			    "s:s}", "name", names[k], "value", "source",
			    "default"));
	}
	return (json_pack("{s:s?, s:o}", "file", config_file, "settings",
	    list));
}

void
config_free(void)
{
	size_t	i;

	for (i = 0; i < config_nsettings; i++) {
		free(config_settings[i].name);
		free(config_settings[i].value);
		free(config_settings[i].raw);
		free(config_settings[i].source);
	}
	config_nsettings = 0;
	free(config_file);
	config_file = NULL;
}
