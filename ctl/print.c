/*
 * ctl/print.c: chimectl's human output: tables for list results, indented
 * "key: value" lines for everything else, error lines and usage text.
 * Control characters from the daemon's data are shown as '?' so that no
 * value can drive the terminal.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "ctl.h"

static char	*print_text(json_t *);
static void	 print_clean(FILE *, const char *);
static void	 print_upper(const char *, char *, size_t);
static size_t	 print_width(const char *);
static json_t	*print_path(json_t *, const char *);
static void	 print_kv(FILE *, json_t *, int, int);
static void	 print_array(FILE *, json_t *, int);
static int	 print_table(FILE *, const struct ctl_method *, json_t *);
static void	 print_row(FILE *, char **, const size_t *, size_t);
static void	 print_placeholder(const struct ctl_param *, char *, size_t);
static void	 print_flag_usage(FILE *, const struct ctl_param *);

/* A scalar (or compact JSON) as display text; allocated. */
static char *
print_text(json_t *v)
{
	char	*s, *c;

	switch (json_typeof(v)) {
	case JSON_STRING:
		s = xstrdup(json_string_value(v));
		break;
	case JSON_INTEGER:
		xasprintf(&s, "%lld", (long long)json_integer_value(v));
		break;
	case JSON_REAL:
		xasprintf(&s, "%.17g", json_real_value(v));
		break;
	case JSON_TRUE:
		s = xstrdup("true");
		break;
	case JSON_FALSE:
		s = xstrdup("false");
		break;
	case JSON_NULL:
		s = xstrdup("-");
		break;
	default:
		if ((s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY)) == NULL)
			s = xstrdup("?");
		break;
	}
	for (c = s; *c != '\0'; c++) {
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	}
	return (s);
}

/* S with control characters shown as '?'. */
static void
print_clean(FILE *fp, const char *s)
{
	for (; s != NULL && *s != '\0'; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			fputc('?', fp);
		else
			fputc(*s, fp);
	}
}

/* NAME upper-cased, '-' as '_': a placeholder ("max_cost" MAX_COST). */
static void
print_upper(const char *name, char *buf, size_t len)
{
	char	*c;

	snprintf(buf, len, "%s", name);
	for (c = buf; *c != '\0'; c++)
		*c = *c == '-' ? '_' : toupper((unsigned char)*c);
}

/* Display width: UTF-8 code points. */
static size_t
print_width(const char *s)
{
	size_t	n = 0;

	for (; *s != '\0'; s++) {
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	}
	return (n);
}

/* OBJ's member at dotted PATH ("cost.mid"), or NULL. */
static json_t *
print_path(json_t *obj, const char *path)
{
	char	*copy, *p, *key;

	copy = xstrdup(path);
	for (p = copy; obj != NULL && (key = strsep(&p, ".")) != NULL;)
		obj = json_object_get(obj, key);
	free(copy);
	return (obj);
}

/*
 * OBJ's members as "key: value" lines at INDENT; nested objects and arrays
 * of objects go on indented lines.  DASH marks an array element: its first
 * line carries "- ".
 */
static void
print_kv(FILE *fp, json_t *obj, int indent, int dash)
{
	const char	*key;
	json_t		*v;
	char		*text;
	int		 first = 1;

	json_object_foreach(obj, key, v) {
		if (first && dash)
			fprintf(fp, "%*s- ", indent - 2, "");
		else
			fprintf(fp, "%*s", indent, "");
		first = 0;
		print_clean(fp, key);
		if (json_is_object(v) && json_object_size(v) != 0) {
			fputs(":\n", fp);
			print_kv(fp, v, indent + 2, 0);
		} else if (json_is_array(v) && json_array_size(v) != 0) {
			fputc(':', fp);
			print_array(fp, v, indent + 2);
		} else {
			text = print_text(v);
			fprintf(fp, ": %s\n", text);
			free(text);
		}
	}
}

/* An array: scalars joined on the key's line, else one element a block. */
static void
print_array(FILE *fp, json_t *a, int indent)
{
	size_t	 i;
	json_t	*v;
	char	*text;
	int	 scalars = 1;

	json_array_foreach(a, i, v) {
		if (json_is_object(v) || json_is_array(v))
			scalars = 0;
	}
	if (scalars) {
		json_array_foreach(a, i, v) {
			text = print_text(v);
			fprintf(fp, "%s%s", i == 0 ? " " : ", ", text);
			free(text);
		}
		fputc('\n', fp);
		return;
	}
	fputc('\n', fp);
	json_array_foreach(a, i, v) {
		if (json_is_object(v) && json_object_size(v) != 0)
			print_kv(fp, v, indent + 2, 1);
		else {
			text = print_text(v);
			fprintf(fp, "%*s- %s\n", indent, "", text);
			free(text);
		}
	}
}

static void
print_row(FILE *fp, char **cells, const size_t *widths, size_t n)
{
	size_t	i, pad;

	for (i = 0; i < n; i++) {
		fputs(cells[i], fp);
		if (i + 1 == n)
			break;
		pad = widths[i] - print_width(cells[i]) + 2;
		fprintf(fp, "%*s", (int)pad, "");
	}
	fputc('\n', fp);
}

/* The method's list as a table; 0 if printed, -1 if not a list result. */
static int
print_table(FILE *fp, const struct ctl_method *m, json_t *result)
{
	json_t		*list, *row;
	char		*copy, *p, *col, **cols = NULL, **cells;
	size_t		 ncols = 0, nrows, i, j, *widths;

	list = json_object_get(result, m->list_key);
	if (!json_is_array(list))
		return (-1);
	copy = xstrdup(m->columns);
	for (p = copy; (col = strsep(&p, ",")) != NULL;) {
		cols = xreallocarray(cols, ncols + 1, sizeof *cols);
		cols[ncols++] = col;
	}
	nrows = json_array_size(list);
	cells = xcalloc((nrows + 1) * ncols, sizeof *cells);
	widths = xcalloc(ncols, sizeof *widths);
	for (j = 0; j < ncols; j++) {
		cells[j] = xstrdup(cols[j]);
		for (p = cells[j]; *p != '\0'; p++)
			*p = toupper((unsigned char)*p);
	}
	json_array_foreach(list, i, row) {
		for (j = 0; j < ncols; j++) {
			cells[(i + 1) * ncols + j] = print_text(
			    print_path(row, cols[j]) != NULL ?
			    print_path(row, cols[j]) : json_null());
		}
	}
	for (i = 0; i < (nrows + 1) * ncols; i++) {
		if (print_width(cells[i]) > widths[i % ncols])
			widths[i % ncols] = print_width(cells[i]);
	}
	for (i = 0; i <= nrows; i++)
		print_row(fp, cells + i * ncols, widths, ncols);
	for (i = 0; i < (nrows + 1) * ncols; i++)
		free(cells[i]);
	free(cells);
	free(widths);
	free(cols);
	free(copy);
	return (0);
}

/* A result: a table if the method lists, then any other members. */
void
print_result(FILE *fp, const struct ctl_method *m, json_t *result)
{
	const char	*key;
	json_t		*rest, *v;
	char		*text;

	if (!json_is_object(result)) {
		text = print_text(result);
		fprintf(fp, "%s\n", text);
		free(text);
		return;
	}
	if (m == NULL || m->list_key == NULL || m->columns == NULL ||
	    print_table(fp, m, result) != 0) {
		print_kv(fp, result, 0, 0);
		return;
	}
	rest = json_object();
	json_object_foreach(result, key, v) {
		if (strcmp(key, m->list_key) != 0)
			json_object_set(rest, key, v);
	}
	print_kv(fp, rest, 0, 0);
	json_decref(rest);
}

/* "chimectl: MESSAGE (field: reason)" for an error object. */
void
print_error(FILE *fp, json_t *error)
{
	json_t		*data, *v;
	const char	*message, *key;
	char		*text;
	int		 first = 1;

	message = json_string_value(json_object_get(error, "message"));
	fputs("chimectl: ", fp);
	print_clean(fp, message != NULL ? message : "error");
	data = json_object_get(error, "data");
	if (json_is_object(data)) {
		json_object_foreach(data, key, v) {
			if (json_is_object(data) && json_object_get(data,
			    "field") != NULL && strcmp(key, "field") == 0) {
				fputs(first ? " (" : ", ", fp);
				print_clean(fp, json_string_value(v));
				fputs(": ", fp);
				print_clean(fp, json_string_value(
				    json_object_get(data, "reason")));
				first = 0;
				continue;
			}
			if (json_object_get(data, "field") != NULL &&
			    strcmp(key, "reason") == 0)
				continue;
			fputs(first ? " (" : ", ", fp);
			print_clean(fp, key);
			text = print_text(v);
			fprintf(fp, ": %s", text);
			free(text);
			first = 0;
		}
		if (!first)
			fputc(')', fp);
	} else if (data != NULL) {
		text = print_text(data);
		fprintf(fp, " (%s)", text);
		free(text);
	}
	fputc('\n', fp);
}

/* The value placeholder of a parameter in usage text. */
static void
print_placeholder(const struct ctl_param *p, char *buf, size_t len)
{
	switch (p->type) {
	case CTL_P_INT:
		snprintf(buf, len, "N");
		return;
	case CTL_P_USD:
		snprintf(buf, len, "USD");
		return;
	case CTL_P_DURATION:
		snprintf(buf, len, "DURATION");
		return;
	case CTL_P_TIME:
		snprintf(buf, len, "TIME");
		return;
	case CTL_P_OBJECT:
		snprintf(buf, len, "KEY=VALUE");
		return;
	default:
		break;
	}
	print_upper(p->name, buf, len);
}

static void
print_flag_usage(FILE *fp, const struct ctl_param *p)
{
	char	flag[128], ph[128];
	int	req = p->flags & CTL_P_REQUIRED;

	ctl_param_flag(p, flag, sizeof flag);
	print_placeholder(p, ph, sizeof ph);
	if (p->type == CTL_P_BOOL)
		fprintf(fp, " [--%s]", flag);
	else if (p->type == CTL_P_OBJECT)
		fprintf(fp, " %s--%s %s%s", req ? "" : "[", flag, ph,
		    req ? "..." : "]...");
	else
		fprintf(fp, " %s--%s %s%s", req ? "" : "[", flag, ph,
		    req ? "" : "]");
}

void
print_usage(FILE *fp, const struct ctl_method *m)
{
	const struct ctl_param	*p;
	size_t			 n = strcspn(m->name, ".");
	char			 ph[128];

	fprintf(fp, "usage: chimectl %.*s %s", (int)n, m->name,
	    m->name[n] == '.' ? m->name + n + 1 : "");
	for (p = m->params; p != NULL && p->name != NULL; p++) {
		if (~p->flags & CTL_P_POSITIONAL)
			continue;
		print_upper(p->name, ph, sizeof ph);
		fprintf(fp, (p->flags & CTL_P_REQUIRED) ? " %s" : " [%s]", ph);
	}
	for (p = m->params; p != NULL && p->name != NULL; p++) {
		if (~p->flags & CTL_P_POSITIONAL)
			print_flag_usage(fp, p);
	}
	fputc('\n', fp);
}

/* Usage, summary, then one line per parameter: how to give it, its type,
 * whether it is required, and its help. */
void
print_method_help(FILE *fp, const struct ctl_method *m)
{
	const struct ctl_param	*p;
	char			 label[300], flag[128], ph[128];

	print_usage(fp, m);
	fprintf(fp, "\n%s (%s)\n", m->summary, m->name);
	if (m->params == NULL || m->params[0].name == NULL)
		return;
	fputc('\n', fp);
	for (p = m->params; p->name != NULL; p++) {
		ctl_param_flag(p, flag, sizeof flag);
		print_placeholder(p, ph, sizeof ph);
		if (p->flags & CTL_P_POSITIONAL) {
			print_upper(p->name, ph, sizeof ph);
			snprintf(label, sizeof label, "%s | --%s", ph, flag);
		} else if (p->type == CTL_P_BOOL)
			snprintf(label, sizeof label, "--[no-]%s", flag);
		else
			snprintf(label, sizeof label, "--%s %s", flag, ph);
		fprintf(fp, "  %-28s %-9s %-9s %s\n", label,
		    ctl_ptype_name(p->type),
		    (p->flags & CTL_P_REQUIRED) ? "required" : "",
		    p->help != NULL ? p->help : "");
	}
}
