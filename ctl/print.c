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

/* A column narrowed to fit keeps at least this many characters (or its
 * header's). */
#define PRINT_MIN_COLUMN	6
/* Help text wraps at this column, unless that leaves under
 * PRINT_HELP_MIN columns for it. */
#define PRINT_HELP_WIDTH	100
#define PRINT_HELP_MIN		30

static char	*print_text(json_t *);
static void	 print_clean(FILE *, const char *);
static void	 print_upper(const char *, char *, size_t);
static size_t	 print_width(const char *);
static json_t	*print_path(json_t *, const char *);
static void	 print_kv(FILE *, json_t *, int, int);
static void	 print_array(FILE *, json_t *, int);
static int	 print_table(FILE *, const struct ctl_method *, json_t *,
		     size_t);
static void	 print_row(FILE *, char **, const size_t *, size_t);
static char	*print_cell(json_t *, const char *);
static char	*print_cut(char *, size_t);
static void	 print_fit(size_t *, const size_t *, const int *, size_t,
		     size_t);
static void	 print_placeholder(const struct ctl_param *, char *, size_t);
static void	 print_flag_usage(FILE *, const struct ctl_param *);
static void	 print_label(const struct ctl_param *, char *, size_t);
static void	 print_wrapped(FILE *, const char *, size_t);
static char	*print_member(json_t *, const char *);
static void	 print_elapsed(int64_t, char *, size_t);
static void	 print_block_line(FILE *, char *, size_t, int *);
static int64_t	 print_batch_elapsed(json_t *, int64_t);
static char	*print_batch_bar(json_t *, size_t);

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

/* The cell of column COL ("path", or "path path..." for the values of
 * several joined by spaces, empty ones left out) in ROW; allocated. */
static char *
print_cell(json_t *row, const char *col)
{
	json_t	*v;
	char	*copy, *p, *path, *text, *cell = NULL, *joined;

	if (strchr(col, ' ') == NULL) {
		v = print_path(row, col);
		return (print_text(v != NULL ? v : json_null()));
	}
	copy = xstrdup(col);
	for (p = copy; (path = strsep(&p, " ")) != NULL;) {
		v = print_path(row, path);
		if (v == NULL || json_is_null(v) || (json_is_string(v) &&
		    *json_string_value(v) == '\0'))
			continue;
		text = print_text(v);
		if (cell == NULL)
			cell = text;
		else {
			xasprintf(&joined, "%s %s", cell, text);
			free(cell);
			free(text);
			cell = joined;
		}
	}
	free(copy);
	return (cell != NULL ? cell : xstrdup("-"));
}

/* CELL (allocated) cut to WIDTH code points, its last one "\u2026". */
static char *
print_cut(char *cell, size_t width)
{
	char	*p, *out;
	size_t	 n = 0;

	if (print_width(cell) <= width || width == 0)
		return (cell);
	for (p = cell; *p != '\0'; p++) {
		if (((unsigned char)*p & 0xc0) != 0x80 && n++ == width - 1)
			break;
	}
	xasprintf(&out, "%.*s\u2026", (int)(p - cell), cell);
	free(cell);
	return (out);
}

/*
 * Narrow the shrinkable columns (SHRINK[j]) until the table's lines fit
 * in MAXW columns, the widest first, none below MINW[j]; a table that
 * cannot fit keeps what it reached.
 */
static void
print_fit(size_t *widths, const size_t *minw, const int *shrink,
    size_t ncols, size_t maxw)
{
	size_t	total = 2 * (ncols - 1), j, best;

	for (j = 0; j < ncols; j++)
		total += widths[j];
	while (total > maxw) {
		best = ncols;
		for (j = 0; j < ncols; j++) {
			if (shrink[j] && widths[j] > minw[j] && (best == ncols ||
			    widths[j] > widths[best]))
				best = j;
		}
		if (best == ncols)
			break;
		widths[best]--;
		total--;
	}
}

/*
 * The method's list as a table; 0 if printed, -1 if not a list result.
 * A column written "NAME~" in the method's columns may be narrowed (its
 * values cut with an ellipsis) so that lines fit in MAXW; one written
 * "+NAME" is shown only at full width (MAXW 0); "NAME OTHER" shows both
 * values, under NAME.
 */
static int
print_table(FILE *fp, const struct ctl_method *m, json_t *result,
    size_t maxw)
{
	json_t		*list, *row;
	char		*copy, *p, *col, **cols = NULL, **cells;
	size_t		 ncols = 0, nrows, i, j, *widths, *minw;
	int		*shrink = NULL;

	list = json_object_get(result, m->list_key);
	if (!json_is_array(list))
		return (-1);
	copy = xstrdup(m->columns);
	for (p = copy; (col = strsep(&p, ",")) != NULL;) {
		if (*col == '+' && maxw != 0)
			continue;
		if (*col == '+')
			col++;
		cols = xreallocarray(cols, ncols + 1, sizeof *cols);
		shrink = xreallocarray(shrink, ncols + 1, sizeof *shrink);
		shrink[ncols] = col[0] != '\0' && col[strlen(col) - 1] == '~';
		if (shrink[ncols])
			col[strlen(col) - 1] = '\0';
		cols[ncols++] = col;
	}
	nrows = json_array_size(list);
	cells = xcalloc((nrows + 1) * ncols, sizeof *cells);
	widths = xcalloc(ncols, sizeof *widths);
	minw = xcalloc(ncols, sizeof *minw);
	for (j = 0; j < ncols; j++) {
		cells[j] = xstrndup(cols[j], strcspn(cols[j], " "));
		for (p = cells[j]; *p != '\0'; p++)
			*p = toupper((unsigned char)*p);
		minw[j] = print_width(cells[j]) > PRINT_MIN_COLUMN ?
		    print_width(cells[j]) : PRINT_MIN_COLUMN;
	}
	json_array_foreach(list, i, row) {
		for (j = 0; j < ncols; j++)
			cells[(i + 1) * ncols + j] = print_cell(row, cols[j]);
	}
	for (i = 0; i < (nrows + 1) * ncols; i++) {
		if (print_width(cells[i]) > widths[i % ncols])
			widths[i % ncols] = print_width(cells[i]);
	}
	if (maxw != 0)
		print_fit(widths, minw, shrink, ncols, maxw);
	for (i = 0; i < (nrows + 1) * ncols; i++)
		cells[i] = print_cut(cells[i], widths[i % ncols]);
	for (i = 0; i <= nrows; i++)
		print_row(fp, cells + i * ncols, widths, ncols);
	for (i = 0; i < (nrows + 1) * ncols; i++)
		free(cells[i]);
	free(cells);
	free(widths);
	free(minw);
	free(shrink);
	free(cols);
	free(copy);
	return (0);
}

/* A result: a table if the method lists, then any other members. */
void
print_result(FILE *fp, const struct ctl_method *m, json_t *result)
{
	print_result_fit(fp, m, result, 0);
}

/* A number of a series entry's value (a money string too); -1: none. */
static double
print_spark_value(json_t *v)
{
	if (json_is_number(v))
		return (json_number_value(v));
	if (json_is_string(v))
		return (strtod(json_string_value(v), NULL));
	return (-1);
}

/*
 * SERIES (analytics.trends') as a sparkline: one block of eight heights a
 * value, scaled from 0 to the largest; a space where there is no value.
 */
void
print_sparkline(FILE *fp, json_t *series)
{
	static const char *const blocks[] = { "\u2581", "\u2582", "\u2583",
	    "\u2584", "\u2585", "\u2586", "\u2587", "\u2588" };
	json_t	*e;
	double	 v, max = 0;
	size_t	 i;

	json_array_foreach(series, i, e) {
		if ((v = print_spark_value(json_object_get(e, "value"))) > max)
			max = v;
	}
	json_array_foreach(series, i, e) {
		v = print_spark_value(json_object_get(e, "value"));
		if (v < 0)
			fputc(' ', fp);
		else
			fputs(blocks[max > 0 ? (int)(v / max * 7.0 + 0.5) : 0],
			    fp);
	}
	fprintf(fp, "  (max %g)\n", max);
}

/* The same, with the table's shrinkable columns fitted to MAXW. */
void
print_result_fit(FILE *fp, const struct ctl_method *m, json_t *result,
    size_t maxw)
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
	if (m != NULL && m->text_key != NULL &&
	    json_is_string(v = json_object_get(result, m->text_key))) {
		fputs(json_string_value(v), fp);	/* a text to keep */
		return;
	}
	if (m == NULL || m->list_key == NULL || m->columns == NULL ||
	    print_table(fp, m, result, maxw) != 0) {
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
	if (strcmp(m->name, "analytics.trends") == 0)
		print_sparkline(fp, json_object_get(result, "series"));
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

/* The value placeholder of a parameter in usage text: its type's, else
 * its name in capitals. */
static void
print_placeholder(const struct ctl_param *p, char *buf, size_t len)
{
	static const char *const types[] = {
		[CTL_P_INT] = "N",
		[CTL_P_USD] = "USD",
		[CTL_P_DURATION] = "DURATION",
		[CTL_P_TIME] = "TIME",
		[CTL_P_OBJECT] = "KEY=VALUE",
	};

	if ((size_t)p->type < sizeof types / sizeof types[0] &&
	    types[p->type] != NULL)
		snprintf(buf, len, "%s", types[p->type]);
	else if (p->type == CTL_P_STRINGS && p->alias != NULL)
		print_upper(p->alias, buf, len);
	else
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
	else if (p->type == CTL_P_OBJECT || p->type == CTL_P_STRINGS)
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

/* How a parameter is given on the command line ("--op OPERATION"). */
static void
print_label(const struct ctl_param *p, char *buf, size_t len)
{
	char	flag[128], ph[128];

	ctl_param_flag(p, flag, sizeof flag);
	print_placeholder(p, ph, sizeof ph);
	if (p->flags & CTL_P_POSITIONAL) {
		print_upper(p->name, ph, sizeof ph);
		snprintf(buf, len, "%s | --%s", ph, flag);
	} else if (p->type == CTL_P_BOOL)
		snprintf(buf, len, "--[no-]%s", flag);
	else
		snprintf(buf, len, "--%s %s", flag, ph);
}

/*
 * TEXT from column COL on, wrapped at PRINT_HELP_WIDTH with continuation
 * lines indented to COL; not wrapped when COL leaves too little room.
 */
static void
print_wrapped(FILE *fp, const char *text, size_t col)
{
	const char	*word, *end;
	size_t		 at = col, len;
	int		 first = 1;

	if (col + PRINT_HELP_MIN > PRINT_HELP_WIDTH) {
		fprintf(fp, "%s\n", text);
		return;
	}
	for (word = text; *word != '\0'; word = end) {
		while (*word == ' ')
			word++;
		if (*word == '\0')
			break;
		end = word + strcspn(word, " ");
		len = end - word;
		if (!first && at + 1 + len > PRINT_HELP_WIDTH) {
			fprintf(fp, "\n%*s", (int)col, "");
			at = col;
			first = 1;
		}
		fprintf(fp, "%s%.*s", first ? "" : " ", (int)len, word);
		at += len + !first;
		first = 0;
	}
	fputc('\n', fp);
}

/* Usage, summary, then one line per parameter: how to give it, its type,
 * whether it is required, and its help, in columns as wide as their
 * widest entry. */
void
print_method_help(FILE *fp, const struct ctl_method *m)
{
	const struct ctl_param	*p;
	char			 label[300];
	size_t			 lw = 0, tw = 0, col;
	int			 req = 0;

	print_usage(fp, m);
	fprintf(fp, "\n%s (%s)\n", m->summary, m->name);
	if (m->params == NULL || m->params[0].name == NULL)
		return;
	fputc('\n', fp);
	for (p = m->params; p->name != NULL; p++) {
		print_label(p, label, sizeof label);
		if (strlen(label) > lw)
			lw = strlen(label);
		if (strlen(ctl_ptype_name(p->type)) > tw)
			tw = strlen(ctl_ptype_name(p->type));
		if (p->flags & CTL_P_REQUIRED)
			req = 1;
	}
	col = 2 + lw + 2 + tw + 2 + (req ? strlen("required") + 2 : 0);
	for (p = m->params; p->name != NULL; p++) {
		print_label(p, label, sizeof label);
		fprintf(fp, "  %-*s  %-*s  ", (int)lw, label, (int)tw,
		    ctl_ptype_name(p->type));
		if (req)
			fprintf(fp, "%-8s  ", (p->flags & CTL_P_REQUIRED) ?
			    "required" : "");
		print_wrapped(fp, p->help != NULL ? p->help : "", col);
	}
	if (m->columns != NULL && strpbrk(m->columns, "~+") != NULL)
		fprintf(fp, "\nThe answer prints as a table fitted to %d "
		    "columns; --wide prints it whole.\n", PRINT_TABLE_WIDTH);
}

/* ---- batch watch --------------------------------------------------------- */

/* The string member KEY of O, cleaned for display; allocated ("-" if
 * absent). */
static char *
print_member(json_t *o, const char *key)
{
	json_t	*v = json_object_get(o, key);

	return (print_text(v != NULL ? v : json_null()));
}

/* "1h02m03s", "5m03s", "12s" */
static void
print_elapsed(int64_t us, char *buf, size_t len)
{
	int64_t	s = us > 0 ? us / USEC_PER_SEC : 0;

	if (s >= 3600)
		snprintf(buf, len, "%lldh%02lldm%02llds", (long long)(s / 3600),
		    (long long)(s / 60 % 60), (long long)(s % 60));
	else if (s >= 60)
		snprintf(buf, len, "%lldm%02llds", (long long)(s / 60),
		    (long long)(s % 60));
	else
		snprintf(buf, len, "%llds", (long long)s);
}

/* One line of a status block: LINE (allocated, freed) cut to WIDTH. */
static void
print_block_line(FILE *fp, char *line, size_t width, int *n)
{
	line = print_cut(line, width);
	fprintf(fp, "%s\n", line);
	free(line);
	(*n)++;
}

/* The time the batch has run: started to finished, or to NOW. */
static int64_t
print_batch_elapsed(json_t *b, int64_t now)
{
	const char	*s;
	int64_t		 start, end = now;

	if ((s = json_string_value(json_object_get(b, "started"))) == NULL ||
	    parse_rfc3339(s, &start) != 0)
		return (0);
	if ((s = json_string_value(json_object_get(b, "finished"))) != NULL)
		parse_rfc3339(s, &end);
	return (end - start);
}

/* "[#####-----]  3/4 ended, 75%" with a bar fitting WIDTH. */
static char *
print_batch_bar(json_t *b, size_t width)
{
	json_int_t	 total, ended = 0;
	const char	*keys[] = { "completed", "failed", "skipped",
	    "cancelled" };
	size_t		 k, bw, fill;
	char		*bar, *line;

	total = json_integer_value(json_object_get(b, "total"));
	for (k = 0; k < sizeof keys / sizeof keys[0]; k++)
		ended += json_integer_value(json_object_get(b, keys[k]));
	bw = width > 60 ? 40 : width > 30 ? width - 20 : 10;
	fill = total > 0 ? (size_t)(ended * (json_int_t)bw / total) : 0;
	bar = xmalloc(bw + 1);
	memset(bar, '#', fill);
	memset(bar + fill, '-', bw - fill);
	bar[bw] = '\0';
	xasprintf(&line, "[%s]  %lld/%lld ended, %lld%%", bar,
	    (long long)ended, (long long)total, total > 0 ?
	    (long long)(ended * 100 / total) : 0LL);
	free(bar);
	return (line);
}

/*
 * The status block of a watched batch: B is batch.get's result (without
 * operations), RUNNING batch.ops's list of its running operations (or
 * NULL), NOW the time.  Each line is cut to WIDTH - 1 columns, so that a
 * terminal never wraps it.  Returns the number of lines.
 */
int
print_batch_block(FILE *fp, json_t *b, json_t *running, int64_t now,
    size_t width)
{
	char		*id, *name, *type, *state, *spent, *low, *high, *max;
	char		*line, *opid, *op, *run, elapsed[32];
	json_t		*o;
	size_t		 i, w = width > 20 ? width - 1 : 19;
	int		 n = 0;

	id = print_member(b, "id");
	name = print_member(b, "name");
	type = print_member(b, "type");
	state = print_member(b, "state");
	xasprintf(&line, "batch %s %s (%s): %s", id, name, type, state);
	print_block_line(fp, line, w, &n);
	print_block_line(fp, print_batch_bar(b, w), w, &n);
	spent = print_member(b, "spent_usd");
	low = print_member(b, "estimate_low_usd");
	high = print_member(b, "estimate_high_usd");
	max = print_member(b, "max_cost_usd");
	print_elapsed(print_batch_elapsed(b, now), elapsed, sizeof elapsed);
	xasprintf(&line, "elapsed %s  spent $%s  estimate $%s to $%s%s%s",
	    elapsed, spent, low, high, strcmp(max, "-") != 0 ? "  max $" :
	    "", strcmp(max, "-") != 0 ? max : "");
	print_block_line(fp, line, w, &n);
	xasprintf(&line, "%lld completed, %lld failed, %lld skipped, "
	    "%lld cancelled, %lld running, %lld pending",
	    (long long)json_integer_value(json_object_get(b, "completed")),
	    (long long)json_integer_value(json_object_get(b, "failed")),
	    (long long)json_integer_value(json_object_get(b, "skipped")),
	    (long long)json_integer_value(json_object_get(b, "cancelled")),
	    (long long)json_integer_value(json_object_get(b, "running")),
	    (long long)json_integer_value(json_object_get(b, "pending")));
	print_block_line(fp, line, w, &n);
	json_array_foreach(running, i, o) {
		if (i == 0)
			print_block_line(fp, xstrdup("running:"), w, &n);
		opid = print_member(o, "id");
		op = print_member(o, "operation");
		run = print_member(o, "run_id");
		xasprintf(&line, "  %s  %s  %s", opid, op, run);
		print_block_line(fp, line, w, &n);
		free(opid);
		free(op);
		free(run);
	}
	if (json_array_size(running) > 0 &&
	    json_integer_value(json_object_get(b, "running")) >
	    (json_int_t)json_array_size(running)) {
		xasprintf(&line, "  and %lld more", (long long)(
		    json_integer_value(json_object_get(b, "running")) -
		    (json_int_t)json_array_size(running)));
		print_block_line(fp, line, w, &n);
	}
	free(id);
	free(name);
	free(type);
	free(state);
	free(spent);
	free(low);
	free(high);
	free(max);
	return (n);
}

/* A watched batch in one line, which changes only when the batch does:
 * its progress and what it has spent. */
void
print_batch_line(FILE *fp, json_t *b)
{
	char	*progress, *spent;

	progress = print_member(b, "progress");
	spent = print_member(b, "spent_usd");
	fprintf(fp, "%s; spent $%s\n", progress, spent);
	free(progress);
	free(spent);
}

/* ---- chimectl watch ------------------------------------------------------ */

/*
 * An event (the journal's export object) as one line for a terminal: its
 * time, seq, kind, account ("-" for the daemon's own records) and the
 * scalar members of its body as KEY=VALUE, in the body's order, the line
 * cut to WIDTH columns (0: whole).
 */
void
print_event_line(FILE *fp, json_t *ev, size_t width)
{
	json_t		*body = json_object_get(ev, "body"), *v;
	const char	*key;
	char		*line, *text, *kind, *account, *time;
	size_t		 len;
	FILE		*mem;

	time = print_member(ev, "time");
	kind = print_member(ev, "kind");
	account = print_member(ev, "account");
	mem = open_memstream(&line, &len);
	fprintf(mem, "%s  %6lld  %-20s %-12s", time,
	    (long long)json_integer_value(json_object_get(ev, "seq")), kind,
	    account);
	json_object_foreach(body, key, v) {
		if (json_is_object(v) || json_is_array(v) || json_is_null(v))
			continue;
		text = print_text(v);
		fputc(' ', mem);
		print_clean(mem, key);
		fputc('=', mem);
		print_clean(mem, text);
		free(text);
	}
	fclose(mem);
	line = print_cut(line, width);
	fprintf(fp, "%s\n", line);
	free(line);
	free(time);
	free(kind);
	free(account);
}
