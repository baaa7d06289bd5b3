/*
 * ctl/method-events.c: the events.* methods as the protocol knows them
 * (names, parameters, flags), shared by the daemon and chimectl, and the
 * kinds filter of events.watch, which both check the same way.  The
 * daemon's handler is in daemon/method-events.c; doc/protocol.md
 * describes the stream.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "ctl.h"

/* One pattern: LEN bytes of a kind, matched whole or as a prefix. */
struct ctl_kind {
	char	*text;
	size_t	 len;
	int	 prefix;
};

struct ctl_kinds {
	struct ctl_kind	*v;
	size_t		 n;
};

static int	 ctl_kind_valid(const char *, size_t);

static const struct ctl_param p_watch[] = {
	{ .name = "from_seq", .type = CTL_P_INT, .alias = "from",
	    .help = "the first seq to send (default: the head + 1, only new "
	        "events); below the first record: from the first",
	    .min = 1, .max = INT64_MAX },
	{ .name = "kinds", .type = CTL_P_STRINGS, .alias = "kind",
	    .help = "only these kinds: exact (run.started), or prefixes "
	        "ending in \".\" or \"*\" (run., run.*); repeatable",
	    .min = 1, .max = CTL_MAX_KINDS },
	{ .name = "account", .type = CTL_P_STRING,
	    .help = "only this account's events (default: every account the "
	        "caller may act for; admins: all, daemon-level included)" },
	{ .name = NULL }
};

const struct ctl_method ctl_methods_events[] = {
	{
		.name = "events.watch",
		.summary = "follow the journal: every record as an event, "
		    "from a seq, then live",
		.params = p_watch,
		.target = CTL_T_ACCOUNT_GIVEN,
		.flags = CTL_M_READONLY | CTL_M_STREAM,
	},
	{ .name = NULL }
};

/* Is S (LEN bytes, no '*') made of what kinds are made of? */
static int
ctl_kind_valid(const char *s, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++) {
		if (strchr("abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-", s[i]) == NULL ||
		    s[i] == '\0')
			return (0);
	}
	return (1);
}

struct ctl_kinds *
ctl_kinds_parse(json_t *list, char **cause)
{
	struct ctl_kinds	*k;
	struct ctl_kind		*p;
	const char		*s;
	json_t			*e;
	size_t			 i, len;

	if (!json_is_array(list) || json_array_size(list) == 0) {
		xasprintf(cause, "must be a list of one kind or more");
		return (NULL);
	}
	k = xcalloc(1, sizeof *k);
	k->v = xcalloc(json_array_size(list), sizeof *k->v);
	json_array_foreach(list, i, e) {
		s = json_string_value(e);
		len = json_string_length(e);
		p = &k->v[k->n];
		if (s != NULL && len > 0 && s[len - 1] == '*') {
			p->prefix = 1;
			len--;
		} else if (s != NULL && len > 0 && s[len - 1] == '.')
			p->prefix = 1;
		if (s == NULL || (len == 0 && !p->prefix) ||
		    len > CTL_MAX_KIND || !ctl_kind_valid(s, len)) {
			xasprintf(cause, "entry %zu: must be a kind (letters, "
			    "digits, \".\", \"_\", \"-\"), or a prefix ending "
			    "in \".\" or \"*\"", i + 1);
			ctl_kinds_free(k);
			return (NULL);
		}
		p->text = xstrndup(s, len);
		p->len = len;
		k->n++;
	}
	return (k);
}

int
ctl_kinds_match(const struct ctl_kinds *k, const char *kind)
{
	const struct ctl_kind	*p;
	size_t			 i;

	for (i = 0; i < k->n; i++) {
		p = &k->v[i];
		if (p->prefix ? strncmp(kind, p->text, p->len) == 0 :
		    strcmp(kind, p->text) == 0)
			return (1);
	}
	return (0);
}

void
ctl_kinds_free(struct ctl_kinds *k)
{
	size_t	i;

	if (k == NULL)
		return;
	for (i = 0; i < k->n; i++)
		free(k->v[i].text);
	free(k->v);
	free(k);
}
