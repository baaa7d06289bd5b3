/*
 * ctl/method-table.c: every control method, one table per noun, and the
 * lookups: by full name for the server, by unique prefixes of noun and verb
 * for chimectl ("chimectl sched cr" is schedule.create).
 */
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "ctl.h"

const struct ctl_method *const ctl_method_tables[] = {
	ctl_methods_schedule,
	ctl_methods_run,
	ctl_methods_daemon,
	ctl_methods_account,
	ctl_methods_prefs,
	ctl_methods_notify,
	ctl_methods_budget,
	ctl_methods_batch,
	ctl_methods_webhook,
	ctl_methods_journal,
	ctl_methods_subscription,
	ctl_methods_events,
	ctl_methods_token,
	ctl_methods_analytics,
	ctl_methods_suppression,
	ctl_methods_email,
	NULL
};

/* Short verbs chimectl accepts for the usual ones. */
static const struct {
	const char	*alias;
	const char	*verb;
} ctl_verb_aliases[] = {
	{ "ls", "list" },
	{ "rm", "delete" },
	{ "show", "get" },
};

static size_t	 ctl_noun_len(const char *);
static int	 ctl_noun_seen(const struct ctl_method *const *, size_t,
		     const struct ctl_method *);
static void	 ctl_append(char **, const char *, size_t);
static const struct ctl_method *ctl_match_verb(
		     const struct ctl_method *const *, const char *, size_t,
		     const char *, char **);

const struct ctl_method *
ctl_method_find(const char *name)
{
	const struct ctl_method *const	*t;
	const struct ctl_method		*m;

	for (t = ctl_method_tables; *t != NULL; t++) {
		for (m = *t; m->name != NULL; m++) {
			if (strcmp(m->name, name) == 0)
				return (m);
		}
	}
	return (NULL);
}

void
ctl_method_foreach(void (*cb)(const struct ctl_method *, void *), void *arg)
{
	const struct ctl_method *const	*t;
	const struct ctl_method		*m;

	for (t = ctl_method_tables; *t != NULL; t++) {
		for (m = *t; m->name != NULL; m++)
			cb(m, arg);
	}
}

const struct ctl_method *
ctl_method_match(const char *noun, const char *verb, char **cause)
{
	return (ctl_method_match_in(ctl_method_tables, noun, verb, cause));
}

/* Length of the noun of "noun.verb". */
static size_t
ctl_noun_len(const char *name)
{
	return (strcspn(name, "."));
}

/* Does a method before M (in table order) have M's noun? */
static int
ctl_noun_seen(const struct ctl_method *const *tables, size_t len,
    const struct ctl_method *m)
{
	const struct ctl_method *const	*t;
	const struct ctl_method		*o;

	for (t = tables; *t != NULL; t++) {
		for (o = *t; o->name != NULL; o++) {
			if (o == m)
				return (0);
			if (ctl_noun_len(o->name) == len &&
			    strncmp(o->name, m->name, len) == 0)
				return (1);
		}
	}
	return (0);
}

/* Append ", WORD" (or "WORD" first) to the allocated list *S. */
static void
ctl_append(char **s, const char *word, size_t len)
{
	char	*n;

	if (*s == NULL)
		xasprintf(&n, "%.*s", (int)len, word);
	else
		xasprintf(&n, "%s, %.*s", *s, (int)len, word);
	free(*s);
	*s = n;
}

/* The noun NOUN stands for: itself, or the one noun it is a prefix of.
 * The name of a method of that noun (borrowed) and the noun's length in
 * *LENP, or NULL and an allocated *CAUSE naming the nouns. */
const char *
ctl_method_noun_in(const struct ctl_method *const *tables, const char *noun,
    size_t *lenp, char **cause)
{
	const struct ctl_method *const	*t;
	const struct ctl_method		*m;
	const char			*found = NULL;
	char				*all = NULL, *cands = NULL;
	size_t				 len, n = 0, want = strlen(noun);

	for (t = tables; *t != NULL; t++) {
		for (m = *t; m->name != NULL; m++) {
			len = ctl_noun_len(m->name);
			if (ctl_noun_seen(tables, len, m))
				continue;
			ctl_append(&all, m->name, len);
			if (len == want && strncmp(m->name, noun, len) == 0) {
				free(all);
				free(cands);
				*lenp = len;
				return (m->name);
			}
			if (want == 0 || want > len ||
			    strncmp(m->name, noun, want) != 0)
				continue;
			ctl_append(&cands, m->name, len);
			found = m->name;
			*lenp = len;
			n++;
		}
	}
	if (n == 1) {
		free(all);
		free(cands);
		return (found);
	}
	if (n == 0)
		xasprintf(cause, "unknown command \"%s\" (one of: %s)", noun,
		    all != NULL ? all : "none");
	else
		xasprintf(cause, "ambiguous command \"%s\": %s", noun, cands);
	free(all);
	free(cands);
	return (NULL);
}

/* The method of noun NOUN (LEN bytes) whose verb VERB is or begins. */
static const struct ctl_method *
ctl_match_verb(const struct ctl_method *const *tables, const char *noun,
    size_t len, const char *verb, char **cause)
{
	const struct ctl_method *const	*t;
	const struct ctl_method		*m, *found = NULL;
	const char			*v;
	char				*all = NULL, *cands = NULL;
	size_t				 n = 0, want = strlen(verb);

	for (t = tables; *t != NULL; t++) {
		for (m = *t; m->name != NULL; m++) {
			if (ctl_noun_len(m->name) != len ||
			    strncmp(m->name, noun, len) != 0)
				continue;
			v = m->name + len + (m->name[len] == '.');
			ctl_append(&all, v, strlen(v));
			if (strcmp(v, verb) == 0) {
				free(all);
				free(cands);
				return (m);
			}
			if (want == 0 || strncmp(v, verb, want) != 0)
				continue;
			ctl_append(&cands, v, strlen(v));
			found = m;
			n++;
		}
	}
	if (n != 1) {
		if (n == 0 && want == 0)
			xasprintf(cause, "%.*s: missing verb (one of: %s)",
			    (int)len, noun, all);
		else if (n == 0)
			xasprintf(cause, "%.*s: unknown verb \"%s\" (one of: "
			    "%s)", (int)len, noun, verb, all);
		else
			xasprintf(cause, "%.*s: ambiguous verb \"%s\": %s",
			    (int)len, noun, verb, cands);
		found = NULL;
	}
	free(all);
	free(cands);
	return (found);
}

/*
 * Resolve NOUN and VERB (VERB may be NULL when NOUN is "noun.verb") by
 * exact name, then alias (verbs only), then unique prefix.
 */
const struct ctl_method *
ctl_method_match_in(const struct ctl_method *const *tables, const char *noun,
    const char *verb, char **cause)
{
	const struct ctl_method	*m;
	const char		*found, *dot;
	char			*copy = NULL, *why;
	size_t			 len, i;

	if (verb == NULL && (dot = strchr(noun, '.')) != NULL) {
		copy = xstrndup(noun, dot - noun);
		verb = dot + 1;
		noun = copy;
	}
	if ((found = ctl_method_noun_in(tables, noun, &len, cause)) == NULL) {
		free(copy);
		return (NULL);
	}
	if (verb == NULL)
		verb = "";
	m = ctl_match_verb(tables, found, len, verb, cause);
	for (i = 0; m == NULL && i < sizeof ctl_verb_aliases /
	    sizeof *ctl_verb_aliases; i++) {
		if (strcmp(verb, ctl_verb_aliases[i].alias) != 0)
			continue;
		m = ctl_match_verb(tables, found, len,
		    ctl_verb_aliases[i].verb, &why);
		if (m != NULL) {
			free(*cause);
			*cause = NULL;
		} else
			free(why);
	}
	free(copy);
	return (m);
}
