/*
 * engine/mail.c: email messages as bytes, with no effects.  An address is
 * checked (mail_address_check: a conservative subset of RFC 5321's
 * mailbox, nothing a header could be split on); a subject template is
 * expanded (mail_subject); a plain summary of a run is rendered as text and
 * HTML (mail_summary, every value escaped in the HTML); a whole RFC 5322
 * message is built (mail_build): multipart/alternative text and HTML
 * parts, attachments beside them in multipart/mixed, every body base64 in
 * lines of 76, a non-ASCII subject as RFC 2047 encoded words, Message-ID,
 * Date, Auto-Submitted and, with an unsubscribe URL, List-Unsubscribe and
 * List-Unsubscribe-Post (RFC 8058).  The unsubscribe token is an
 * HMAC-SHA256 over the account and the address (mail_unsubscribe_token).
 *
 * Nothing here reads the clock, a file or the network: the same inputs
 * give the same bytes, which tests/check_mail.c checks.
 */
#include <sys/types.h>
#include <sys/uio.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "engine.h"

#define MAIL_LINE	76	/* characters of a base64 line */
#define MAIL_EW_BYTES	45	/* bytes of subject in one encoded word */

/* A growing buffer of the message. */
struct mail_buf {
	char	*p;
	size_t	 len;
	size_t	 size;
};

static void	 mbuf_add(struct mail_buf *, const char *, size_t);
static void	 mbuf_str(struct mail_buf *, const char *);
static void	 mbuf_printf(struct mail_buf *, const char *, ...)
		    printflike(2, 3);
static void	 mbuf_base64(struct mail_buf *, const unsigned char *, size_t);
static int	 mail_header_safe(const char *);
static int	 mail_ascii(const char *);
static size_t	 mail_utf8_cut(const char *, size_t, size_t);
static void	 mail_subject_header(struct mail_buf *, const char *);
static void	 mail_from_header(struct mail_buf *, const char *,
		    const char *);
static void	 mail_filename(struct mail_buf *, const char *);
static void	 mail_part_text(struct mail_buf *, const char *, const char *,
		    const char *);
static int	 mail_content_type_ok(const char *);
static void	 mail_html_escape(struct mail_buf *, const char *);
static void	 mail_date(struct mail_buf *, int64_t);
static int	 mail_fail(struct mail_buf *, char **, const char *);
static void	 mail_query_escape(struct mail_buf *, const char *);

static void
mbuf_add(struct mail_buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->size) {
		b->size = b->size == 0 ? 4096 : b->size;
		while (b->len + n + 1 > b->size)
			b->size *= 2;
		b->p = xreallocarray(b->p, b->size, 1);
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
mbuf_str(struct mail_buf *b, const char *s)
{
	mbuf_add(b, s, strlen(s));
}

static void
mbuf_printf(struct mail_buf *b, const char *fmt, ...)
{
	va_list	 ap;
	char	*s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) == -1)
		fatal("vasprintf");
	va_end(ap);
	mbuf_str(b, s);
	free(s);
}

/* LEN bytes at IN as base64 in lines of MAIL_LINE, each ended by CRLF. */
static void
mbuf_base64(struct mail_buf *b, const unsigned char *in, size_t len)
{
	unsigned char	out[MAIL_LINE + 4];
	size_t		chunk, n;

	/* MAIL_LINE characters are 57 bytes of input. */
	for (; len > 0; in += chunk, len -= chunk) {
		chunk = len < MAIL_LINE / 4 * 3 ? len : MAIL_LINE / 4 * 3;
		n = (size_t)EVP_EncodeBlock(out, in, (int)chunk);
		mbuf_add(b, (const char *)out, n);
		mbuf_add(b, "\r\n", 2);
	}
}

/*
 * Is ADDR an address chime sends to: LOCAL@DOMAIN, at most 254 bytes, the
 * local part 1-64 of letters, digits and !#$%&'*+-/=?^_`{|}~. (no dot at
 * either end, none doubled), the domain two or more labels of letters,
 * digits and '-' (1-63 each, no '-' at either end).  No quoting, no
 * comments, no spaces, no control or non-ASCII characters: nothing a
 * header could be split on.  0, or -1 with *REASON (static).
 */
int
mail_address_check(const char *addr, const char **reason)
{
	const char	*at, *p, *label;
	size_t		 len;
	int		 labels = 0;

	len = strlen(addr);
	if (len == 0 || len > MAIL_ADDRESS_MAX) {
		*reason = "must be 1-254 characters";
		return (-1);
	}
	if ((at = strchr(addr, '@')) == NULL || strchr(at + 1, '@') != NULL ||
	    at == addr || at - addr > 64) {
		*reason = "must be LOCAL@DOMAIN, the local part 1-64 "
		    "characters";
		return (-1);
	}
	for (p = addr; p < at; p++) {
		if (isalnum((u_char)*p) ||
		    strchr("!#$%&'*+-/=?^_`{|}~", *p) != NULL)
			continue;
		if (*p == '.' && p != addr && p + 1 != at && p[1] != '.')
			continue;
		*reason = "has a character an address may not have here (no "
		    "spaces, quotes, commas, angle brackets or control "
		    "characters)";
		return (-1);
	}
	for (label = p = at + 1;; p++) {
		if (*p == '.' || *p == '\0') {
			if (p == label || p - label > 63 || *label == '-' ||
			    p[-1] == '-') {
				*reason = "has a bad domain (labels of 1-63 "
				    "letters, digits and -)";
				return (-1);
			}
			labels++;
			if (*p == '\0')
				break;
			label = p + 1;
			continue;
		}
		if (!isalnum((u_char)*p) && *p != '-') {
			*reason = "has a bad domain (labels of 1-63 letters, "
			    "digits and -)";
			return (-1);
		}
	}
	if (labels < 2) {
		*reason = "needs a domain with a dot (user@example.com)";
		return (-1);
	}
	return (0);
}

/* No CR, LF or other control character (tab aside) in S. */
static int
mail_header_safe(const char *s)
{
	for (; *s != '\0'; s++)
		if ((u_char)*s < 0x20 && *s != '\t')
			return (0);
		else if (*s == 0x7f)
			return (0);
	return (1);
}

/* Is S printable ASCII? */
static int
mail_ascii(const char *s)
{
	for (; *s != '\0'; s++)
		if ((u_char)*s < 0x20 || (u_char)*s > 0x7e)
			return (0);
	return (1);
}

/*
 * Is TEMPLATE a subject template chime takes: at most MAIL_SUBJECT_MAX
 * bytes, no control characters, only the placeholders {schedule},
 * {status}, {run}, {account}, {operation}, {date}.  0, or -1 with *REASON
 * (static).
 */
int
mail_subject_check(const char *tmpl, const char **reason)
{
	static const char *const names[] = { "{schedule}", "{status}",
	    "{run}", "{account}", "{operation}", "{date}", NULL };
	const char		*p;
	size_t			 i;

	if (strlen(tmpl) > MAIL_SUBJECT_MAX) {
		*reason = "must be at most 200 bytes";
		return (-1);
	}
	if (!mail_header_safe(tmpl)) {
		*reason = "may not hold line breaks or control characters";
		return (-1);
	}
	for (p = tmpl; (p = strchr(p, '{')) != NULL; p++) {
		for (i = 0; names[i] != NULL; i++)
			if (strncmp(p, names[i], strlen(names[i])) == 0)
				break;
		if (names[i] == NULL) {
			*reason = "knows only {schedule}, {status}, {run}, "
			    "{account}, {operation} and {date}";
			return (-1);
		}
	}
	return (0);
}

/*
 * TEMPLATE with its placeholders replaced by S's values (control
 * characters of the values become spaces); allocated.
 */
char *
mail_subject(const char *tmpl, const struct mail_summary *s)
{
	struct mail_buf	 b = { NULL, 0, 0 };
	const char	*p, *v;
	char		 date[40], *out;
	size_t		 i;
	const struct {
		const char	*name;
		const char	*value;
	} vars[] = {
		{ "{schedule}", s->schedule },
		{ "{status}", s->status },
		{ "{run}", s->run_id },
		{ "{account}", s->account },
		{ "{operation}", s->operation },
		{ "{date}", date },
	};

	fmt_rfc3339(s->finished_us, date, sizeof date);
	date[10] = '\0';
	mbuf_add(&b, "", 0);
	for (p = tmpl; *p != '\0'; p++) {
		for (i = 0; i < sizeof vars / sizeof vars[0]; i++) {
			if (strncmp(p, vars[i].name, strlen(vars[i].name)) != 0)
				continue;
			v = vars[i].value != NULL ? vars[i].value : "";
			mbuf_str(&b, v);
			p += strlen(vars[i].name) - 1;
			break;
		}
		if (i == sizeof vars / sizeof vars[0])
			mbuf_add(&b, p, 1);
	}
	out = b.p;
	for (i = 0; out[i] != '\0'; i++)
		if ((u_char)out[i] < 0x20 || out[i] == 0x7f)
			out[i] = ' ';
	return (out);
}

/* S with &, <, >, " and ' escaped for HTML; appended to B. */
static void
mail_html_escape(struct mail_buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '&':
			mbuf_str(b, "&amp;");
			break;
		case '<':
			mbuf_str(b, "&lt;");
			break;
		case '>':
			mbuf_str(b, "&gt;");
			break;
		case '"':
			mbuf_str(b, "&quot;");
			break;
		case '\'':
			mbuf_str(b, "&#39;");
			break;
		default:
			mbuf_add(b, s, 1);
			break;
		}
	}
}

/* S, HTML-escaped; allocated. */
char *
mail_html_escaped(const char *s)
{
	struct mail_buf	b = { NULL, 0, 0 };

	mbuf_add(&b, "", 0);
	mail_html_escape(&b, s);
	return (b.p);
}

/*
 * The plain summary of a run: *TEXT and *HTML (allocated), the schedule,
 * run, status, cost, error and the result pretty-printed (the HTML part
 * escapes every value).
 */
void
mail_summary_render(const struct mail_summary *s, char **text, char **html)
{
	struct mail_buf	 t = { NULL, 0, 0 }, h = { NULL, 0, 0 };
	json_t		*j;
	char		*pretty = NULL, when[40], cost[40];
	size_t		 i;
	const struct {
		const char	*label;
		const char	*value;
	} rows[] = {
		{ "Schedule", s->schedule },
		{ "Account", s->account },
		{ "Run", s->run_id },
		{ "Operation", s->operation },
		{ "Status", s->status },
		{ "Finished", when },
		{ "Cost", cost },
		{ "Error", s->error },
	};

	fmt_rfc3339(s->finished_us, when, sizeof when);
	if (s->cost_micro >= 0)
		snprintf(cost, sizeof cost, "$%lld.%06lld",
		    (long long)(s->cost_micro / 1000000),
		    (long long)(s->cost_micro % 1000000));
	else
		snprintf(cost, sizeof cost, "unknown");
	if (s->result != NULL && (j = json_loads(s->result, 0, NULL)) != NULL) {
		pretty = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
		json_decref(j);
	}
	if (pretty == NULL && s->result != NULL)
		pretty = xstrdup(s->result);
	mbuf_str(&h, "<!DOCTYPE html>\n<html><body>\n<table>\n");
	for (i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		if (rows[i].value == NULL)
			continue;
		mbuf_printf(&t, "%-10s %s\n", rows[i].label, rows[i].value);
		mbuf_printf(&h, "<tr><th align=\"left\">%s</th><td>",
		    rows[i].label);
		mail_html_escape(&h, rows[i].value);
		mbuf_str(&h, "</td></tr>\n");
	}
	mbuf_str(&h, "</table>\n");
	if (pretty != NULL) {
		mbuf_printf(&t, "\nResult:\n%s\n", pretty);
		mbuf_str(&h, "<h3>Result</h3>\n<pre>");
		mail_html_escape(&h, pretty);
		mbuf_str(&h, "</pre>\n");
	}
	mbuf_str(&h, "</body></html>\n");
	free(pretty);
	*text = t.p;
	*html = h.p;
}

/* Where to cut S (LEN bytes) at most MAX bytes in, on a UTF-8 character
 * boundary (never 0 when LEN > 0). */
static size_t
mail_utf8_cut(const char *s, size_t len, size_t max)
{
	size_t	n;

	if (len <= max)
		return (len);
	n = max;
	while (n > 0 && ((u_char)s[n] & 0xc0) == 0x80)
		n--;
	return (n > 0 ? n : max);
}

/* The Subject header: as it is when printable ASCII, else RFC 2047
 * encoded words (UTF-8, base64), each under 76 characters, folded. */
static void
mail_subject_header(struct mail_buf *b, const char *subject)
{
	unsigned char	 out[4 * MAIL_EW_BYTES / 3 + 8];
	size_t		 len = strlen(subject), n;
	int		 first = 1;

	mbuf_str(b, "Subject: ");
	if (mail_ascii(subject)) {
		mbuf_str(b, subject);
		mbuf_str(b, "\r\n");
		return;
	}
	while (len > 0) {
		/* "Subject: " takes 9 of the first line's 76. */
		n = mail_utf8_cut(subject, len, first ? MAIL_EW_BYTES - 9 :
		    MAIL_EW_BYTES);
		EVP_EncodeBlock(out, (const unsigned char *)subject, (int)n);
		mbuf_printf(b, "%s=?UTF-8?B?%s?=", first ? "" : "\r\n ", out);
		first = 0;
		subject += n;
		len -= n;
	}
	mbuf_str(b, "\r\n");
}

/* The From header: NAME (or none) quoted when plain ASCII without a quote
 * or backslash, else RFC 2047 encoded words (a phrase may be made of
 * them), folded; then <ADDRESS>. */
static void
mail_from_header(struct mail_buf *b, const char *name, const char *address)
{
	unsigned char	 out[4 * MAIL_EW_BYTES / 3 + 8];
	size_t		 len, n;
	int		 first = 1;

	if (name == NULL || *name == '\0') {
		mbuf_printf(b, "From: <%s>\r\n", address);
		return;
	}
	if (mail_ascii(name) && strpbrk(name, "\"\\") == NULL) {
		mbuf_printf(b, "From: \"%s\" <%s>\r\n", name, address);
		return;
	}
	mbuf_str(b, "From: ");
	for (len = strlen(name); len > 0; first = 0) {
		/* "From: " takes 6 of the first line's 76. */
		n = mail_utf8_cut(name, len, first ? MAIL_EW_BYTES - 6 :
		    MAIL_EW_BYTES);
		EVP_EncodeBlock(out, (const unsigned char *)name, (int)n);
		mbuf_printf(b, "%s=?UTF-8?B?%s?=", first ? "" : "\r\n ", out);
		name += n;
		len -= n;
	}
	mbuf_printf(b, "\r\n <%s>\r\n", address);
}

/* An attachment's file name: quoted when plain ASCII, else RFC 2231. */
static void
mail_filename(struct mail_buf *b, const char *name)
{
	const u_char	*p;

	if (mail_ascii(name) && strpbrk(name, "\"\\") == NULL) {
		mbuf_printf(b, "; filename=\"%s\"", name);
		return;
	}
	mbuf_str(b, "; filename*=UTF-8''");
	for (p = (const u_char *)name; *p != '\0'; p++) {
		if (isalnum(*p) || strchr("-._~", *p) != NULL)
			mbuf_add(b, (const char *)p, 1);
		else
			mbuf_printf(b, "%%%02X", *p);
	}
}

/* Is T a MIME type chime writes: TYPE/SUBTYPE of token characters? */
static int
mail_content_type_ok(const char *t)
{
	const char	*p, *slash = strchr(t, '/');
	size_t		 len = strlen(t);

	if (slash == NULL || slash == t || slash[1] == '\0' || len > 127 ||
	    strchr(slash + 1, '/') != NULL)
		return (0);
	for (p = t; *p != '\0'; p++)
		if (p != slash && !isalnum((u_char)*p) &&
		    strchr("!#$&^_.+-", *p) == NULL)
			return (0);
	return (1);
}

/* Would mail_build take an attachment named NAME of TYPE?  0, or -1
 * with *REASON (static). */
int
mail_attachment_check(const char *name, const char *type,
    const char **reason)
{
	if (*name == '\0' || strlen(name) > 255 || !mail_header_safe(name)) {
		*reason = "an attachment's name must be 1-255 bytes with no "
		    "line breaks or control characters";
		return (-1);
	}
	if (!mail_content_type_ok(type)) {
		*reason = "an attachment's content_type must be TYPE/SUBTYPE";
		return (-1);
	}
	return (0);
}

/* A text part of TYPE ("plain", "html") with BODY in UTF-8. */
static void
mail_part_text(struct mail_buf *b, const char *boundary, const char *type,
    const char *body)
{
	mbuf_printf(b, "--%s\r\nContent-Type: text/%s; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\n", boundary, type);
	mbuf_base64(b, (const unsigned char *)body, strlen(body));
}

/* RFC 5322's date of US (UTC). */
static void
mail_date(struct mail_buf *b, int64_t us)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed",
	    "Thu", "Fri", "Sat" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr",
	    "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t		t = (time_t)(us / USEC_PER_SEC);
	struct tm	tm;

	gmtime_r(&t, &tm);
	mbuf_printf(b, "Date: %s, %d %s %04d %02d:%02d:%02d +0000\r\n",
	    days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* Free what mail_build's error path made. */
static int
mail_fail(struct mail_buf *b, char **cause, const char *why)
{
	free(b->p);
	*cause = xstrdup(why);
	return (-1);
}

/*
 * Build M as an RFC 5322 message with CRLF line ends into *OUT (allocated,
 * NUL-terminated) and *LEN.  Returns 0, or -1 with *CAUSE when a header
 * value holds a line break or a control character, an address or a MIME
 * type is refused, or the message would pass MAIL_MESSAGE_MAX bytes.
 */
int
mail_build(const struct mail_message *m, char **out, size_t *len,
    char **cause)
{
	struct mail_buf		 b = { NULL, 0, 0 };
	unsigned char		 h[SHA256_DIGEST_LENGTH];
	char			 alt[48], mixed[48];
	const char		*reason;
	size_t			 i;

	if (mail_address_check(m->from, &reason) == -1 ||
	    mail_address_check(m->to, &reason) == -1)
		return (mail_fail(&b, cause, "bad address"));
	if (!mail_header_safe(m->subject) || !mail_header_safe(
	    m->message_id) || strpbrk(m->message_id, "<> ") != NULL ||
	    (m->from_name != NULL && !mail_header_safe(m->from_name)) ||
	    (m->unsubscribe_url != NULL && (!mail_ascii(m->unsubscribe_url) ||
	    strpbrk(m->unsubscribe_url, "<> ") != NULL)))
		return (mail_fail(&b, cause, "a header value holds a line "
		    "break, a control character or a character it may not"));
	for (i = 0; i < m->nattachments; i++)
		if (mail_attachment_check(m->attachments[i].name,
		    m->attachments[i].content_type, &reason) == -1)
			return (mail_fail(&b, cause, reason));
	/* Boundaries from the Message-ID: the same message, the same bytes;
	 * base64 lines never begin with "--". */
	SHA256((const unsigned char *)m->message_id, strlen(m->message_id), h);
	snprintf(alt, sizeof alt, "=_alt_%02x%02x%02x%02x%02x%02x%02x%02x",
	    h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7]);
	snprintf(mixed, sizeof mixed, "=_mix_%02x%02x%02x%02x%02x%02x%02x%02x",
	    h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7]);

	mail_from_header(&b, m->from_name, m->from);
	mbuf_printf(&b, "To: <%s>\r\n", m->to);
	mail_subject_header(&b, m->subject);
	mail_date(&b, m->date_us);
	mbuf_printf(&b, "Message-ID: <%s>\r\n", m->message_id);
	mbuf_str(&b, "MIME-Version: 1.0\r\n");
	mbuf_str(&b, "Auto-Submitted: auto-generated\r\n");
	if (m->unsubscribe_url != NULL) {
		mbuf_printf(&b, "List-Unsubscribe: <%s>\r\n",
		    m->unsubscribe_url);
		mbuf_str(&b, "List-Unsubscribe-Post: "
		    "List-Unsubscribe=One-Click\r\n");
	}
	if (m->nattachments > 0)
		mbuf_printf(&b, "Content-Type: multipart/mixed; "
		    "boundary=\"%s\"\r\n\r\n--%s\r\n", mixed, mixed);
	mbuf_printf(&b, "Content-Type: multipart/alternative; "
	    "boundary=\"%s\"\r\n\r\n", alt);
	mail_part_text(&b, alt, "plain", m->text);
	mail_part_text(&b, alt, "html", m->html);
	mbuf_printf(&b, "--%s--\r\n", alt);
	for (i = 0; i < m->nattachments; i++) {
		mbuf_printf(&b, "--%s\r\nContent-Type: %s\r\n"
		    "Content-Transfer-Encoding: base64\r\n"
		    "Content-Disposition: attachment", mixed,
		    m->attachments[i].content_type);
		mail_filename(&b, m->attachments[i].name);
		mbuf_str(&b, "\r\n\r\n");
		mbuf_base64(&b, m->attachments[i].data, m->attachments[i].len);
		if (b.len > MAIL_MESSAGE_MAX)
			break;
	}
	if (m->nattachments > 0)
		mbuf_printf(&b, "--%s--\r\n", mixed);
	if (b.len > MAIL_MESSAGE_MAX)
		return (mail_fail(&b, cause, "the message is larger than "
		    "10 MiB"));
	*out = b.p;
	*len = b.len;
	return (0);
}

/*
 * The unsubscribe token of ADDRESS in ACCOUNT: the HMAC-SHA256 of
 * "ACCOUNT\nADDRESS" keyed by KEY (KEYLEN bytes), as 43 characters of
 * unpadded base64url, into OUT.
 */
void
mail_unsubscribe_token(const unsigned char *key, size_t keylen,
    const char *account, const char *address, char out[MAIL_TOKEN_LEN + 1])
{
	uint8_t		 mac[SIGN_HMAC_LEN];
	unsigned char	 b64[64];
	struct iovec	 parts[3];
	size_t		 i;

	parts[0].iov_base = (void *)account;
	parts[0].iov_len = strlen(account);
	parts[1].iov_base = (void *)"\n";
	parts[1].iov_len = 1;
	parts[2].iov_base = (void *)address;
	parts[2].iov_len = strlen(address);
	sign_hmac_sha256(key, keylen, parts, 3, mac);
	EVP_EncodeBlock(b64, mac, (int)sizeof mac);
	for (i = 0; i < MAIL_TOKEN_LEN; i++)
		out[i] = b64[i] == '+' ? '-' : b64[i] == '/' ? '_' :
		    (char)b64[i];
	out[MAIL_TOKEN_LEN] = '\0';
}

/* S percent-encoded for a URL's query (unreserved characters kept);
 * appended to B. */
static void
mail_query_escape(struct mail_buf *b, const char *s)
{
	const u_char	*p;

	for (p = (const u_char *)s; *p != '\0'; p++) {
		if (isalnum(*p) || strchr("-._~", *p) != NULL)
			mbuf_add(b, (const char *)p, 1);
		else
			mbuf_printf(b, "%%%02X", *p);
	}
}

/* The one-click unsubscribe URL under BASE (the daemon's public URL, no
 * trailing slash needed) for ADDRESS in ACCOUNT with TOKEN; allocated. */
char *
mail_unsubscribe_url(const char *base, const char *account,
    const char *address, const char *token)
{
	struct mail_buf	b = { NULL, 0, 0 };
	size_t		len = strlen(base);

	while (len > 0 && base[len - 1] == '/')
		len--;
	mbuf_add(&b, base, len);
	mbuf_str(&b, "/v1/email/unsubscribe?account=");
	mail_query_escape(&b, account);
	mbuf_str(&b, "&address=");
	mail_query_escape(&b, address);
	mbuf_str(&b, "&token=");
	mbuf_str(&b, token);
	return (b.p);
}
