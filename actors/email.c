/*
 * actors/email.c: delivering a run's report by email (doc/email.md).
 *
 * A schedule's "deliver" (checked here, email_deliver_check, kept as
 * canonical JSON in its configuration) names up to EMAIL_RECIPIENTS_MAX
 * addresses, when to send (success, failure, always), a subject template
 * and whether to attach the result.  When a run of such a schedule ends
 * (email_run_finished, called by run_finish after its run.finished is
 * submitted, so the run's own outcome never waits for mail), the message
 * is made once: the operation's report (result.report) or the plain
 * summary (engine/mail.c).  One email.queued record claims every
 * recipient (dedup key email:RUN:ADDRESS), carries the message and puts
 * the "email-outbox" row (RUN) and one "email-pending" row per recipient
 * (RUN ADDRESS).  Only once it is durable does sending begin.
 *
 * Each recipient is sent its own message (To, Message-ID, the unsubscribe
 * link differ) through smtp.c, at most EMAIL_PARALLEL at once; a
 * transient failure (4xx, connection, TLS) is tried again after a delay
 * that doubles from --smtp-retry-delay, up to --smtp-max-attempts; a 5xx
 * reply is final (with --smtp-suppress-bounces, a 550, 551 or 553 also
 * suppresses the address: reason "bounce").  An address the account
 * suppressed (suppression.c) is not sent to.  The outcome is journaled (email.sent with the reply code,
 * email.failed, email.suppressed), deleting the recipient's pending row;
 * the last one of a run also deletes the outbox row.
 *
 * At start (email_start) every pending row is sent again from its outbox
 * row, with the same Message-ID: a crash between a relay's acceptance and
 * the email.sent record sends that recipient's message twice
 * (doc/operations.md); nothing else does.
 */
#include <sys/types.h>
#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/event.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "engine.h"
#include "journal.h"
#include "actors.h"

#define EMAIL_PARALLEL		4	/* sends in flight at once */
#define EMAIL_RETRY_MAX_US	(3600 * USEC_PER_SEC)
#define EMAIL_DEFAULT_SUBJECT	"[chime] {schedule}: {status}"
#define EMAIL_OUTBOX		"email-outbox"
#define EMAIL_PENDING		"email-pending"
#define EMAIL_LOG		"email-log"
#define EMAIL_BY_RUN		"email-by-run"
#define EMAIL_LOG_DEFAULT	50

enum email_state {
	RCPT_QUEUED,		/* waiting for a place */
	RCPT_SENDING,
	RCPT_WAITING,		/* a retry's delay */
	RCPT_RECORDING,		/* its outcome's record on its way */
};

struct email_out;
struct email_rcpt {
	TAILQ_ENTRY(email_rcpt)	 entry;		/* email_queue */
	struct email_out	*out;
	char			*address;
	int			 attempts;
	enum email_state	 state;
	struct event		*retry_ev;
	struct smtp_job		*job;
};
TAILQ_HEAD(email_rcpts, email_rcpt);

/* One run's message, while any recipient is left. */
struct email_out {
	LIST_ENTRY(email_out)	 entry;
	char			*run_id;
	char			*account;
	char			*schedule;
	char			*subject;
	char			*text;
	char			*html;
	struct mail_attachment	*atts;
	size_t			 natts;
	int64_t			 date_us;
	struct email_rcpt	*rcpts;
	size_t			 nrcpts;
	size_t			 left;		/* outcomes not yet durable */
	size_t			 unrecorded;	/* outcomes not yet submitted */
	void			(*queued)(int, void *); /* a notice's */
	void			*queued_arg;
};
LIST_HEAD(email_outs, email_out);

static struct email_config	 email_cfg;
static int			 email_on;	/* a relay is configured */
static unsigned char		*email_unsub_key;
static size_t			 email_unsub_len;
static struct email_outs	 email_outs = LIST_HEAD_INITIALIZER(email_outs);
static struct email_rcpts	 email_queue = TAILQ_HEAD_INITIALIZER(email_queue);
static int			 email_sending;

static const char *const email_on_names[] = { "success", "failure",
    "always", NULL };

/* What a run's message is made of, before it is journaled. */
struct email_parts {
	char		*subject;	/* the report's, or NULL */
	char		*text;
	char		*html;
	json_t		*atts;		/* [{name, content_type,
					   content_base64}] */
};

static void	 deliver_split(const char *, json_t *);
static int	 deliver_addresses(json_t *, json_t *, char **);
static int	 deliver_dup(json_t *, size_t, const char *);
static int	 email_unbase64(const char *, size_t, unsigned char **,
		    size_t *);
static int	 email_report(const char *, struct email_parts *,
		    const char **);
static json_t	*email_deliver_wanted(const char *, int, int, const char *,
		     const char *, json_t **);
static char	*email_subject_of(const char *, const char *,
		    const struct mail_summary *);
struct email_body;
static void	 email_queue_body(const char *, const struct email_body *,
		    const char *, const char *, void (*)(int, void *), void *);
static char	*email_pending_key(const char *, const char *);
static void	 email_queued_cb(const struct journal_result *, void *);
static void	 email_parts_make(const struct email_run *,
		    const struct mail_summary *, int, struct email_parts *);
static void	 email_enqueue(const struct email_run *, json_t *,
		    const struct email_parts *, const char *);
static struct email_out *email_out_from_row(const msgpack_object *,
		    const char *, json_t *);
static void	 email_out_free(struct email_out *);
static void	 email_pump(void);
static void	 email_message_id(const char *, const char *, char *, size_t);
static void	 email_send(struct email_rcpt *);
static void	 email_sent_cb(const struct smtp_outcome *, void *);
static void	 email_retry_cb(evutil_socket_t, short, void *);
static void	 email_bounce_cb(void *, int, json_t *, const char *);
static void	 email_record(struct email_rcpt *, const char *,
		    const struct smtp_outcome *);
static void	 email_recorded_cb(const struct journal_result *, void *);
static int	 email_scan_row(const struct journal_row *, void *);
static int	 email_unsub_load(char **);
static int	 email_log_row(const struct journal_row *, void *);

/* ---- configuration ------------------------------------------------------ */

/* Take CFG (its strings borrowed for the daemon's life); a relay is
 * configured when it has a URL. */
void
email_configure(const struct email_config *cfg)
{
	email_cfg = *cfg;
	email_on = cfg->smtp.url != NULL;
	if (email_cfg.max_attempts <= 0)
		email_cfg.max_attempts = EMAIL_ATTEMPTS_DEFAULT;
	if (email_cfg.retry_delay_us <= 0)
		email_cfg.retry_delay_us = EMAIL_RETRY_DELAY_DEFAULT;
}

/* Is PUBLIC_URL a base for links in messages: https://HOST[:PORT][/PATH]
 * (http:// only to a loopback host), no query or fragment?  0, or -1 with
 * *CAUSE. */
int
email_public_url_check(const char *url, char **cause)
{
	const char	*host;
	char		*name;
	int		 loop;

	if (strncmp(url, "https://", 8) == 0)
		host = url + 8;
	else if (strncmp(url, "http://", 7) == 0)
		host = url + 7;
	else
		host = NULL;
	if (host == NULL || *host == '\0' || *host == '/' ||
	    strpbrk(url, "?#@ \t\r\n<>\"") != NULL || strlen(url) > 512) {
		xasprintf(cause, "expected https://HOST[:PORT][/PATH] with "
		    "no query, got \"%s\"", url);
		return (-1);
	}
	if (*host == '[')
		name = xstrndup(host, strcspn(host, "]") + 1);
	else
		name = xstrndup(host, strcspn(host, ":/"));
	loop = smtp_loopback(name);
	free(name);
	if (host == url + 7 && !loop) {
		xasprintf(cause, "http:// only for a loopback host; the links "
		    "go to people's mail: use https://, got \"%s\"", url);
		return (-1);
	}
	return (0);
}

/* ---- a schedule's "deliver" --------------------------------------------- */

/* Append the comma-separated addresses of S to TO. */
static void
deliver_split(const char *s, json_t *to)
{
	char	*copy, *p, *tok, *save = NULL;

	copy = xstrdup(s);
	for (p = copy; (tok = strtok_r(p, ",", &save)) != NULL; p = NULL) {
		while (*tok == ' ')
			tok++;
		tok[strcspn(tok, " ")] = '\0';
		if (*tok != '\0')
			json_array_append_new(to, json_string(tok));
	}
	free(copy);
}

/* Append the addresses of V (an array of strings, or one string, each of
 * comma-separated ones) to TO; -1 with *REASON on a bad one. */
static int
deliver_addresses(json_t *v, json_t *to, char **reason)
{
	const char	*why, *s;
	json_t		*e;
	size_t		 i;

	if (json_is_string(v))
		deliver_split(json_string_value(v), to);
	else if (json_is_array(v)) {
		json_array_foreach(v, i, e) {
			if (!json_is_string(e)) {
				*reason = xstrdup("must be addresses (strings)");
				return (-1);
			}
			deliver_split(json_string_value(e), to);
		}
	} else {
		*reason = xstrdup("must be an array of addresses");
		return (-1);
	}
	json_array_foreach(to, i, e) {
		s = json_string_value(e);
		if (mail_address_check(s, &why) == -1) {
			xasprintf(reason, "\"%.80s\" %s", s, why);
			return (-1);
		}
	}
	return (0);
}

/* Is address A already among the first N of TO (case-insensitively)? */
static int
deliver_dup(json_t *to, size_t n, const char *a)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (strcasecmp(json_string_value(json_array_get(to, i)), a) == 0)
			return (1);
	return (0);
}

/*
 * Check D, a "deliver" object ({email_to, on, subject, attach_result}),
 * into *TEXT: its canonical JSON (allocated), or NULL when it has no
 * recipient (delivery off).  0, or -1 with *FIELD ("deliver.email_to",
 * ...) and *REASON (allocated).
 */
int
email_deliver_check(json_t *d, char **text, const char **field,
    char **reason)
{
	json_t		*out, *to, *v;
	const char	*key, *why;
	size_t		 i;

	*text = NULL;
	*field = "deliver";
	if (!json_is_object(d)) {
		*reason = xstrdup("must be an object");
		return (-1);
	}
	json_object_foreach(d, key, v) {
		if (strcmp(key, "email_to") != 0 && strcmp(key, "on") != 0 &&
		    strcmp(key, "subject") != 0 &&
		    strcmp(key, "attach_result") != 0) {
			xasprintf(reason, "unknown key \"%s\" (email_to, on, "
			    "subject, attach_result)", key);
			return (-1);
		}
	}
	to = json_array();
	out = json_object();
	json_object_set_new(out, "email_to", to);
	*field = "deliver.email_to";
	if ((v = json_object_get(d, "email_to")) != NULL &&
	    deliver_addresses(v, to, reason) == -1)
		goto fail;
	if (json_array_size(to) > EMAIL_RECIPIENTS_MAX) {
		xasprintf(reason, "at most %d addresses",
		    EMAIL_RECIPIENTS_MAX);
		goto fail;
	}
	for (i = 1; i < json_array_size(to); i++) {
		if (deliver_dup(to, i, json_string_value(json_array_get(to,
		    i)))) {
			xasprintf(reason, "\"%s\" is given twice",
			    json_string_value(json_array_get(to, i)));
			goto fail;
		}
	}
	*field = "deliver.on";
	v = json_object_get(d, "on");
	for (i = 0; email_on_names[i] != NULL; i++)
		if (v == NULL || (json_is_string(v) &&
		    strcmp(json_string_value(v), email_on_names[i]) == 0))
			break;
	if (email_on_names[i] == NULL) {
		*reason = xstrdup("must be success, failure or always");
		goto fail;
	}
	json_object_set_new(out, "on", json_string(email_on_names[i]));
	*field = "deliver.subject";
	if ((v = json_object_get(d, "subject")) != NULL && !json_is_null(v)) {
		if (!json_is_string(v) || mail_subject_check(
		    json_string_value(v), &why) == -1) {
			*reason = xstrdup(json_is_string(v) ? why :
			    "must be a string");
			goto fail;
		}
		json_object_set(out, "subject", v);
	}
	*field = "deliver.attach_result";
	if ((v = json_object_get(d, "attach_result")) != NULL &&
	    !json_is_boolean(v)) {
		*reason = xstrdup("must be true or false");
		goto fail;
	}
	json_object_set_new(out, "attach_result", json_boolean(v != NULL &&
	    json_is_true(v)));
	if (json_array_size(to) > 0)
		*text = json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(out);
	return (0);
fail:
	json_decref(out);
	return (-1);
}

/* ---- the message of a run ----------------------------------------------- */

/* LEN characters of base64 at S decoded into *OUT (allocated) and *OUTLEN;
 * line breaks allowed.  0 or -1. */
static int
email_unbase64(const char *s, size_t len, unsigned char **out,
    size_t *outlen)
{
	EVP_ENCODE_CTX	*ctx;
	unsigned char	*buf;
	int		 n = 0, m = 0, rc;

	buf = xmalloc(len / 4 * 3 + 4);
	if ((ctx = EVP_ENCODE_CTX_new()) == NULL)
		fatalx("EVP_ENCODE_CTX_new");
	EVP_DecodeInit(ctx);
	rc = EVP_DecodeUpdate(ctx, buf, &n, (const unsigned char *)s,
	    (int)len);
	if (rc != -1)
		rc = EVP_DecodeFinal(ctx, buf + n, &m);
	EVP_ENCODE_CTX_free(ctx);
	if (rc == -1) {
		free(buf);
		return (-1);
	}
	*out = buf;
	*outlen = (size_t)(n + m);
	return (0);
}


/*
 * The report of RESULT ({"report": {subject, text, html, attachments}})
 * into P: 0, or -1 when RESULT has none or it is refused (then the
 * summary is sent; *WHY says why a report was refused, or NULL).
 */
static int
email_report(const char *result, struct email_parts *p, const char **why)
{
	json_t		*j, *r, *v, *a, *e;
	unsigned char	*bytes;
	size_t		 i, len, total = 0;

	*why = NULL;
	if (result == NULL || (j = json_loads(result, 0, NULL)) == NULL)
		return (-1);
	if ((r = json_object_get(j, "report")) == NULL || !json_is_object(r)) {
		json_decref(j);
		return (-1);
	}
	*why = "result.report: text or html must be strings, attachments "
	    "[{name, content_type, content_base64}]";
	if (((v = json_object_get(r, "text")) != NULL && !json_is_string(v)) ||
	    ((v = json_object_get(r, "html")) != NULL && !json_is_string(v)) ||
	    (json_object_get(r, "text") == NULL &&
	    json_object_get(r, "html") == NULL))
		goto fail;
	a = json_array();
	if ((v = json_object_get(r, "attachments")) != NULL) {
		if (!json_is_array(v) || json_array_size(v) > 20) {
			json_decref(a);
			goto fail;
		}
		json_array_foreach(v, i, e) {
			const char	*name, *type, *b64;

			if (json_unpack(e, "{s:s, s:s, s:s}", "name", &name,
			    "content_type", &type, "content_base64",
			    &b64) != 0 || mail_attachment_check(name, type,
			    why) == -1 || email_unbase64(b64, strlen(b64),
			    &bytes, &len) == -1) {
				json_decref(a);
				goto fail;
			}
			free(bytes);
			total += len;
			json_array_append_new(a, json_pack("{s:s, s:s, s:s}",
			    "name", name, "content_type", type,
			    "content_base64", b64));
		}
	}
	v = json_object_get(r, "subject");
	p->subject = json_is_string(v) ? xstrndup(json_string_value(v),
	    MAIL_SUBJECT_MAX) : NULL;
	v = json_object_get(r, "text");
	p->text = v != NULL ? xstrdup(json_string_value(v)) : NULL;
	v = json_object_get(r, "html");
	p->html = v != NULL ? xstrdup(json_string_value(v)) : NULL;
	p->atts = a;
	json_decref(j);
	if (p->text == NULL) {
		p->text = xstrdup("This report is in HTML.\n");
	} else if (p->html == NULL) {
		char	*esc = mail_html_escaped(p->text);

		xasprintf(&p->html, "<!DOCTYPE html>\n<html><body><pre>%s"
		    "</pre></body></html>\n", esc);
		free(esc);
	}
	if (strlen(p->text) + strlen(p->html) + total > EMAIL_REPORT_MAX) {
		*why = "result.report: larger than 8 MiB";
		free(p->subject);
		free(p->text);
		free(p->html);
		json_decref(p->atts);
		memset(p, 0, sizeof *p);
		return (-1);
	}
	*why = NULL;
	return (0);
fail:
	json_decref(j);
	return (-1);
}

/*
 * DELIVER (a deliver's JSON text), parsed, when its "on" takes an end
 * ("always" every one; "success" one where SUCCESS, "failure" one where
 * FAILURE) and it has recipients (*TO, borrowed from it) and a relay is
 * there to send to them (if not, said with WHAT=ID); the caller frees it.
 * NULL otherwise.
 */
static json_t *
email_deliver_wanted(const char *deliver, int success, int failure,
    const char *what, const char *id, json_t **to)
{
	json_t		*d;
	const char	*on;
	int		 wanted;

	if (deliver == NULL || (d = json_loads(deliver, 0, NULL)) == NULL)
		return (NULL);
	on = json_string_value(json_object_get(d, "on"));
	*to = json_object_get(d, "email_to");
	wanted = on != NULL && (strcmp(on, "always") == 0 ||
	    (strcmp(on, "success") == 0 ? success : failure));
	if (!wanted || json_array_size(*to) == 0) {
		json_decref(d);
		return (NULL);
	}
	if (!email_on) {
		log_warnx("msg=\"email not sent: no relay configured "
		    "(--smtp-url)\" %s=%s", what, id);
		json_decref(d);
		return (NULL);
	}
	return (d);
}

/* The subject: TMPL if the schedule gives one, else the report's, else
 * the default; control characters made spaces. */
static char *
email_subject_of(const char *tmpl, const char *report,
    const struct mail_summary *s)
{
	char	*out;
	size_t	 i;

	if (tmpl != NULL || report == NULL)
		return (mail_subject(tmpl != NULL ? tmpl :
		    EMAIL_DEFAULT_SUBJECT, s));
	out = xstrdup(report);
	for (i = 0; out[i] != '\0'; i++)
		if ((u_char)out[i] < 0x20 || out[i] == 0x7f)
			out[i] = ' ';
	return (out);
}

/* What an outbox row (the body of email.queued and notify.queued) holds. */
struct email_body {
	const char	*run_id;
	const char	*account;
	const char	*schedule;
	const char	*event_key;	/* "status" (a run), "notice" */
	const char	*event;
	int64_t		 date_us;
	json_t		*to;		/* the recipients */
	const char	*subject;
	const char	*text;
	const char	*html;
	json_t		*atts;		/* attachments, or NULL: none */
	json_t		*pending;	/* notify-pending keys, or NULL */
};

/* email_pack_body's entries (pack_map_counted counts them). */
static void
email_body_entries(msgpack_packer *pk, const void *arg)
{
	const struct email_body	*b = arg;
	json_t			*e;
	size_t			 i;
	const char		*name, *type, *b64;

	pack_kstr(pk, "run_id", b->run_id);
	pack_kstr(pk, "account", b->account);
	pack_kstr(pk, "schedule", b->schedule);
	pack_kstr(pk, b->event_key, b->event);
	pack_kint(pk, "date_us", b->date_us);
	pack_str(pk, "recipients");
	msgpack_pack_array(pk, json_array_size(b->to));
	json_array_foreach(b->to, i, e)
		pack_str(pk, json_string_value(e));
	pack_kstr(pk, "subject", b->subject);
	pack_kstr(pk, "text", b->text);
	pack_kstr(pk, "html", b->html);
	pack_str(pk, "attachments");
	msgpack_pack_array(pk, json_array_size(b->atts));
	json_array_foreach(b->atts, i, e) {
		json_unpack(e, "{s:s, s:s, s:s}", "name", &name,
		    "content_type", &type, "content_base64", &b64);
		msgpack_pack_map(pk, 3);
		pack_kstr(pk, "name", name);
		pack_kstr(pk, "content_type", type);
		pack_kstr(pk, "content_base64", b64);
	}
	if (b->pending != NULL) {
		pack_str(pk, "pending");
		msgpack_pack_array(pk, json_array_size(b->pending));
		json_array_foreach(b->pending, i, e)
			pack_str(pk, json_string_value(e));
	}
	pack_kint(pk, "format", 1);
}

/*
 * Queue outbox row B as a record of KIND: the row in the outbox (when it
 * has recipients), each recipient claimed as PREFIX + ID:ADDRESS and given
 * a pending row, and B's "pending" rows deleted from PENDING_TABLE.  Sends
 * start from the record's callback, which calls DONE(ok, ARG) if given.
 */
static void
email_queue_body(const char *kind, const struct email_body *b,
    const char *prefix, const char *pending_table, void (*done)(int, void *),
    void *arg)
{
	struct pack_buffer	 pb;
	struct jrec		*rec;
	struct email_out	*out;
	msgpack_unpacked	 u;
	json_t			*e;
	const char		*a;
	char			*claim, *key;
	size_t			 i;

	rec = jrec_create(kind, b->account);
	pack_buffer_init(&pb);
	pack_map_counted(&pb.pk, email_body_entries, b);
	pack_raw(jrec_body(rec), pb.sbuf.data, pb.sbuf.size);
	if (json_array_size(b->to) > 0)
		jrec_put(rec, EMAIL_OUTBOX, b->run_id, strlen(b->run_id),
		    pb.sbuf.data, pb.sbuf.size);
	json_array_foreach(b->to, i, e) {
		a = json_string_value(e);
		xasprintf(&claim, "%s%s:%s", prefix, b->run_id, a);
		jrec_claim(rec, claim);
		free(claim);
		key = email_pending_key(b->run_id, a);
		jrec_put(rec, EMAIL_PENDING, key, strlen(key), "\x80", 1);
		free(key);
	}
	json_array_foreach(b->pending, i, e) {
		a = json_string_value(e);
		jrec_del(rec, pending_table, a, strlen(a));
	}
	/* The same bytes, read back: the message as recovery sees it. */
	if (unpack_buffer(pb.sbuf.data, pb.sbuf.size, &u) == -1)
		fatalx("email: cannot read its own outbox row");
	out = email_out_from_row(&u.data, b->run_id, b->to);
	msgpack_unpacked_destroy(&u);
	pack_buffer_clear(&pb);
	out->queued = done;
	out->queued_arg = arg;
	journal_submit(engine->journal, rec, email_queued_cb, out);
}

/* The key of an email log row: "ACCOUNT/" + 16 hex digits of AT + "/" +
 * "RUN ADDRESS"; allocated.  Replay's fold makes the same. */
char *
email_log_key(const char *account, int64_t at, const char *run_id,
    const char *address)
{
	char	*key;

	xasprintf(&key, "%s/%016llx/%s %s", account, (unsigned long long)at,
	    run_id, address);
	return (key);
}

/* The key of a recipient's pending row: "RUN ADDRESS" (no space in
 * either); allocated. */
static char *
email_pending_key(const char *run_id, const char *address)
{
	char	*key;

	xasprintf(&key, "%s %s", run_id, address);
	return (key);
}

/* email.queued is durable (or refused): start sending. */
static void
email_queued_cb(const struct journal_result *res, void *arg)
{
	struct email_out	*out = arg;
	size_t			 i;

	if (out->queued != NULL)
		out->queued(res->status == JOURNAL_OK, out->queued_arg);
	if (res->status == JOURNAL_OK && out->nrcpts == 0) {
		email_out_free(out);
		return;
	}
	if (res->status != JOURNAL_OK) {
		log_warnx("msg=\"email not queued\" run=%s error=\"%s\"",
		    out->run_id, log_escape(res->error != NULL ?
		    res->error : res->status == JOURNAL_DUPLICATE ?
		    "already claimed" : "?"));
		email_out_free(out);
		return;
	}
	LIST_INSERT_HEAD(&email_outs, out, entry);
	for (i = 0; i < out->nrcpts; i++)
		TAILQ_INSERT_TAIL(&email_queue, &out->rcpts[i], entry);
	email_pump();
}

/* The parts of ER's message into P: the operation's report, else the
 * summary of SUM; with ATTACH, the result as result.json. */
static void
email_parts_make(const struct email_run *er, const struct mail_summary *sum,
    int attach, struct email_parts *p)
{
	json_t		*j;
	const char	*why = NULL;
	char		*pretty;
	unsigned char	*b64;
	size_t		 plen;

	memset(p, 0, sizeof *p);
	if (email_report(er->result, p, &why) == -1) {
		if (why != NULL)
			log_info("msg=\"report refused: the summary is sent\" "
			    "run=%s reason=\"%s\"", er->run_id, why);
		mail_summary_render(sum, &p->text, &p->html);
		p->atts = json_array();
	}
	if (!attach || er->result == NULL || json_array_size(p->atts) > 20)
		return;
	j = json_loads(er->result, 0, NULL);
	pretty = j != NULL ? json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS) :
	    xstrdup(er->result);
	json_decref(j);
	plen = strlen(pretty);
	b64 = xmalloc(4 * ((plen + 2) / 3) + 1);
	EVP_EncodeBlock(b64, (unsigned char *)pretty, (int)plen);
	json_array_append_new(p->atts, json_pack("{s:s, s:s, s:s}", "name",
	    "result.json", "content_type", "application/json",
	    "content_base64", (char *)b64));
	free(b64);
	free(pretty);
}

/*
 * Journal email.queued for ER's message (P, SUBJECT) to TO: the body is
 * the outbox row; each recipient claimed and given a pending row.  Its
 * sends start from the record's callback.
 */
static void
email_enqueue(const struct email_run *er, json_t *to,
    const struct email_parts *p, const char *subject)
{
	const struct email_body	b = {
		.run_id = er->run_id, .account = er->account,
		.schedule = er->schedule_id, .event_key = "status",
		.event = er->status, .date_us = er->finished_us, .to = to,
		.subject = subject, .text = p->text, .html = p->html,
		.atts = p->atts,
	};

	email_queue_body("email.queued", &b, "email:", NULL, NULL, NULL);
}

/*
 * A run of a schedule with a "deliver" ended (its run.finished submitted):
 * when its status is one the deliver wants, make the message and queue
 * it (email.queued, claiming every recipient); sends follow once it is
 * durable.
 */
void
email_run_finished(const struct email_run *er)
{
	struct email_parts	 p;
	struct mail_summary	 sum;
	json_t			*d, *to;
	char			*subject;

	if ((d = email_deliver_wanted(er->deliver, er->st == RUN_SUCCESS,
	    er->st == RUN_FAILED, "run", er->run_id, &to)) == NULL)
		return;
	memset(&sum, 0, sizeof sum);
	sum.schedule = er->schedule_name;
	sum.account = er->account;
	sum.run_id = er->run_id;
	sum.operation = er->operation;
	sum.status = er->status;
	sum.error = er->error;
	sum.result = er->result;
	sum.cost_micro = er->cost_micro;
	sum.finished_us = er->finished_us;
	email_parts_make(er, &sum, json_is_true(json_object_get(d,
	    "attach_result")), &p);
	subject = email_subject_of(json_string_value(json_object_get(d,
	    "subject")), p.subject, &sum);
	email_enqueue(er, to, &p, subject);
	free(subject);
	free(p.subject);
	free(p.text);
	free(p.html);
	json_decref(p.atts);
	json_decref(d);
}

/*
 * Queue notice N (notice.c): one record of N's kind whose body is the
 * outbox row (as email.queued's, with the notice's id as its "run_id",
 * "notice" its event and "pending" the notify-pending rows it deletes),
 * each address claimed as ID:ADDRESS and given a pending row.  N's done
 * is called once the record is durable (1) or refused (0); sends follow.
 */
void
email_notice_queue(const struct email_notice *n)
{
	const struct email_body	 b = {
		.run_id = n->id, .account = n->account,
		.schedule = n->schedule != NULL ? n->schedule : "",
		.event_key = "notice", .event = n->notice,
		.date_us = n->date_us, .to = n->to, .subject = n->subject,
		.text = n->text, .html = n->html, .pending = n->pending,
	};

	email_queue_body(n->kind, &b, n->claim_prefix != NULL ?
	    n->claim_prefix : "", n->pending_table, n->done, n->arg);
}

/*
 * A batch with a "deliver" ended (its record submitted): when its end is
 * one the deliver wants (success: completed; failure: failed or
 * cancelled; always), its summary (operations by state, cost, reason) is
 * queued as an email.queued under the batch's id, claiming
 * "email:BATCH:ADDRESS" for each recipient.
 */
void
email_batch_ended(const struct email_batch *eb)
{
	struct email_notice	 n;
	struct mail_summary	 sum;
	json_t			*d, *to, *counts;
	const char		*tmpl;
	char			*subject, *text, *html, *result, *what;

	if ((d = email_deliver_wanted(eb->deliver, eb->succeeded,
	    !eb->succeeded, "batch", eb->id, &to)) == NULL)
		return;
	counts = json_pack("{s:i, s:i, s:i, s:i, s:i}", "total",
	    (int)eb->total, "completed", (int)eb->completed, "failed",
	    (int)eb->failed, "skipped", (int)eb->skipped, "cancelled",
	    (int)eb->cancelled);
	if (eb->schedule != NULL)
		json_object_set_new(counts, "schedule", json_string(
		    eb->schedule));
	result = json_dumps(counts, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(counts);
	xasprintf(&what, "batch of %u operations", eb->total);
	memset(&sum, 0, sizeof sum);
	sum.schedule = eb->name;
	sum.account = eb->account;
	sum.run_id = eb->id;
	sum.operation = what;
	sum.status = eb->state;
	sum.error = eb->reason;
	sum.result = result;
	sum.cost_micro = eb->spent;
	sum.finished_us = eb->finished_us;
	mail_summary_render(&sum, &text, &html);
	tmpl = json_string_value(json_object_get(d, "subject"));
	subject = mail_subject(tmpl != NULL ? tmpl :
	    "[chime] batch {schedule}: {status}", &sum);
	memset(&n, 0, sizeof n);
	n.kind = "email.queued";
	n.id = eb->id;
	n.account = eb->account;
	n.schedule = eb->schedule;
	n.subject = subject;
	n.text = text;
	n.html = html;
	n.date_us = eb->finished_us;
	n.to = to;
	n.claim_prefix = "email:";
	log_info("msg=\"batch report queued\" batch=%s state=%s "
	    "recipients=%zu", eb->id, eb->state, json_array_size(to));
	email_notice_queue(&n);
	free(subject);
	free(text);
	free(html);
	free(what);
	free(result);
	json_decref(d);
}

/* Is a relay configured (messages can be sent)? */
int
email_enabled(void)
{
	return (email_on);
}

/*
 * A run's message from its outbox row O (the email.queued body), for the
 * recipients of TO (a JSON array of strings: all of them at the queue,
 * those still pending at a start).
 */
static struct email_out *
email_out_from_row(const msgpack_object *o, const char *run_id, json_t *to)
{
	struct email_out	*out;
	const msgpack_object	*atts, *a;
	char			*b64;
	size_t			 i;

	out = xcalloc(1, sizeof *out);
	out->run_id = xstrdup(run_id);
	if ((out->account = unpack_strdup(o, "account")) == NULL)
		out->account = xstrdup("default");
	if ((out->schedule = unpack_strdup(o, "schedule")) == NULL)
		out->schedule = xstrdup("");
	out->subject = unpack_strdup(o, "subject");
	out->text = unpack_strdup(o, "text");
	out->html = unpack_strdup(o, "html");
	if (out->subject == NULL)
		out->subject = xstrdup("");
	if (out->text == NULL)
		out->text = xstrdup("");
	if (out->html == NULL)
		out->html = xstrdup("");
	out->date_us = unpack_int(o, "date_us", 0);
	atts = unpack_get(o, "attachments");
	if (atts != NULL && atts->type == MSGPACK_OBJECT_ARRAY &&
	    atts->via.array.size > 0) {
		out->atts = xcalloc(atts->via.array.size, sizeof *out->atts);
		for (i = 0; i < atts->via.array.size; i++) {
			struct mail_attachment	*m = &out->atts[out->natts];
			unsigned char		*bytes;
			size_t			 len;

			a = &atts->via.array.ptr[i];
			if ((b64 = unpack_strdup(a, "content_base64")) ==
			    NULL || email_unbase64(b64, strlen(b64), &bytes,
			    &len) == -1) {
				free(b64);
				continue;
			}
			free(b64);
			m->name = unpack_strdup(a, "name");
			m->content_type = unpack_strdup(a, "content_type");
			m->data = bytes;
			m->len = len;
			if (m->name == NULL || m->content_type == NULL) {
				free((char *)m->name);
				free((char *)m->content_type);
				free(bytes);
				continue;
			}
			out->natts++;
		}
	}
	if (to != NULL) {
		out->nrcpts = json_array_size(to);
		out->rcpts = xcalloc(out->nrcpts, sizeof *out->rcpts);
		for (i = 0; i < out->nrcpts; i++)
			out->rcpts[i].address = xstrdup(json_string_value(
			    json_array_get(to, i)));
	}
	for (i = 0; i < out->nrcpts; i++) {
		out->rcpts[i].out = out;
		out->rcpts[i].state = RCPT_QUEUED;
	}
	out->left = out->unrecorded = out->nrcpts;
	return (out);
}

static void
email_out_free(struct email_out *out)
{
	size_t	i;

	if (out == NULL)
		return;
	for (i = 0; i < out->nrcpts; i++) {
		free(out->rcpts[i].address);
		if (out->rcpts[i].retry_ev != NULL)
			event_free(out->rcpts[i].retry_ev);
	}
	for (i = 0; i < out->natts; i++) {
		free((char *)out->atts[i].name);
		free((char *)out->atts[i].content_type);
		free((unsigned char *)out->atts[i].data);
	}
	free(out->atts);
	free(out->rcpts);
	free(out->run_id);
	free(out->account);
	free(out->schedule);
	free(out->subject);
	free(out->text);
	free(out->html);
	free(out);
}

/* ---- sending ------------------------------------------------------------ */

/* Start queued recipients while places are free; none while the daemon
 * drains (they stay pending for the next start). */
static void
email_pump(void)
{
	struct email_rcpt	*r;

	while (!engine->draining && email_sending < EMAIL_PARALLEL &&
	    (r = TAILQ_FIRST(&email_queue)) != NULL) {
		TAILQ_REMOVE(&email_queue, r, entry);
		email_send(r);
	}
}

/*
 * The Message-ID of RUN's message to ADDRESS: the first 32 hex digits of
 * SHA-256("RUN\nADDRESS") at the from address's domain; the same at every
 * attempt and after a restart.
 */
static void
email_message_id(const char *run_id, const char *address, char *buf,
    size_t len)
{
	unsigned char	 h[SHA256_DIGEST_LENGTH];
	char		*in, hex[33];
	const char	*dom = strchr(email_cfg.smtp.from, '@');
	size_t		 i;

	xasprintf(&in, "%s\n%s", run_id, address);
	SHA256((unsigned char *)in, strlen(in), h);
	free(in);
	for (i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", h[i]);
	snprintf(buf, len, "%s@%s", hex, dom != NULL ? dom + 1 : "chime");
}

/* Build R's message and hand it to the relay. */
static void
email_send(struct email_rcpt *r)
{
	struct email_out	*out = r->out;
	const struct account	*acct;
	struct mail_message	 m;
	struct smtp_outcome	 o;
	char			 msgid[128], token[MAIL_TOKEN_LEN + 1];
	char			*data, *url = NULL, *cause = NULL, *reason;
	size_t			 len;

	/* An address the account suppressed is skipped, and journaled. */
	r->attempts++;
	if (suppression_find(out->account, r->address, &reason)) {
		xasprintf(&cause, "suppressed (%s)", reason);
		o.code = 0;
		o.transient = 0;
		o.error = cause;
		metrics_count(METRICS_EMAIL, "suppressed", 1);
		email_record(r, "email.suppressed", &o);
		free(reason);
		free(cause);
		return;
	}
	email_message_id(out->run_id, r->address, msgid, sizeof msgid);
	if (email_cfg.public_url != NULL && email_unsub_key != NULL) {
		mail_unsubscribe_token(email_unsub_key, email_unsub_len,
		    out->account, r->address, token);
		url = mail_unsubscribe_url(email_cfg.public_url, out->account,
		    r->address, token);
	}
	memset(&m, 0, sizeof m);
	m.from = email_cfg.smtp.from;
	/* The account's display name, else the daemon's. */
	acct = account_find(out->account);
	m.from_name = acct != NULL && acct->email_from_name != NULL ?
	    acct->email_from_name : email_cfg.smtp.from_name;
	m.to = r->address;
	m.subject = out->subject;
	m.text = out->text;
	m.html = out->html;
	m.attachments = out->atts;
	m.nattachments = out->natts;
	m.message_id = msgid;
	m.date_us = out->date_us;
	m.unsubscribe_url = url;
	if (mail_build(&m, &data, &len, &cause) == -1) {
		o.code = 0;
		o.transient = 0;
		o.error = cause;
		email_record(r, "email.failed", &o);
		free(cause);
		free(url);
		return;
	}
	free(url);
	r->state = RCPT_SENDING;
	email_sending++;
	log_trace(TRACE_HTTP, "msg=\"email sending\" run=%s attempt=%d",
	    out->run_id, r->attempts);
	r->job = smtp_send(&email_cfg.smtp, r->address, data, len,
	    email_sent_cb, r);
	free(data);
}

/* The relay answered R's attempt. */
static void
email_sent_cb(const struct smtp_outcome *o, void *arg)
{
	struct email_rcpt	*r = arg;
	struct timeval		 tv;
	int64_t			 delay;
	int			 i;

	r->job = NULL;
	email_sending--;
	if (o->error == NULL) {
		metrics_count(METRICS_EMAIL, "sent", 1);
		email_record(r, "email.sent", o);
	} else if (o->transient && r->attempts < email_cfg.max_attempts &&
	    !engine->draining) {
		delay = email_cfg.retry_delay_us;
		for (i = 1; i < r->attempts && delay < EMAIL_RETRY_MAX_US; i++)
			delay *= 2;
		if (delay > EMAIL_RETRY_MAX_US)
			delay = EMAIL_RETRY_MAX_US;
		log_info("msg=\"email deferred\" run=%s attempt=%d code=%d "
		    "delay_ms=%lld error=\"%s\"", r->out->run_id, r->attempts,
		    o->code, (long long)(delay / USEC_PER_MSEC),
		    log_escape(o->error));
		metrics_count(METRICS_EMAIL, "deferred", 1);
		r->state = RCPT_WAITING;
		if (r->retry_ev == NULL &&
		    (r->retry_ev = evtimer_new(engine->base, email_retry_cb,
		    r)) == NULL)
			fatalx("email: evtimer_new failed");
		tv.tv_sec = delay / USEC_PER_SEC;
		tv.tv_usec = delay % USEC_PER_SEC;
		evtimer_add(r->retry_ev, &tv);
	} else if (o->transient && engine->draining) {
		/* Left pending: the next start sends it. */
		log_info("msg=\"email left for the next start (draining)\" "
		    "run=%s", r->out->run_id);
		r->state = RCPT_WAITING;
	} else {
		metrics_count(METRICS_EMAIL, "failed", 1);
		if (email_cfg.suppress_bounces && (o->code == 550 ||
		    o->code == 551 || o->code == 553))
			suppression_change(r->out->account, r->address,
			    "bounce", email_bounce_cb, NULL);
		email_record(r, "email.failed", o);
	}
	email_pump();
}

/* A bounced address was suppressed (or not: the journal's error). */
static void
email_bounce_cb(void *arg, int rc, json_t *row, const char *error)
{
	if (rc == -1)
		log_warnx("msg=\"bounced address not suppressed\" error=\"%s\"",
		    log_escape(error));
}

static void
email_retry_cb(evutil_socket_t fd, short events, void *arg)
{
	struct email_rcpt	*r = arg;

	r->state = RCPT_QUEUED;
	TAILQ_INSERT_TAIL(&email_queue, r, entry);
	email_pump();
}

/* Journal R's outcome: KIND with O's code (and error). */
static void
email_record(struct email_rcpt *r, const char *kind,
    const struct smtp_outcome *o)
{
	struct email_out	*out = r->out;
	struct jrec		*rec;
	char			*key, msgid[128];
	int64_t			 at;
	int			 done;

	r->state = RCPT_RECORDING;
	done = --out->unrecorded == 0;
	at = now_us();
	email_message_id(out->run_id, r->address, msgid, sizeof msgid);
	rec = jrec_create(kind, out->account);
	{
		const struct pack_pair	 v[] = {
			PACK_PAIR_STR("run_id", out->run_id),
			PACK_PAIR_STR("schedule", out->schedule),
			PACK_PAIR_STR("address", r->address),
			PACK_PAIR_STR("outcome", kind + 6),
			PACK_PAIR_INT("code", o->code),
			PACK_PAIR_INT("attempts", r->attempts),
			PACK_PAIR_STR("message_id", msgid),
			PACK_PAIR_STR("subject", out->subject),
			PACK_PAIR_STR("error", o->error),
			PACK_PAIR_INT("at_us", at),
			PACK_PAIR_BOOL("done", done),
		};
		struct pack_buffer	 pb;

		/* The body is also the email log's row. */
		pack_buffer_init(&pb);
		PACK_MAP(&pb.pk, v);
		pack_raw(jrec_body(rec), pb.sbuf.data, pb.sbuf.size);
		key = email_log_key(out->account, at, out->run_id, r->address);
		jrec_put(rec, EMAIL_LOG, key, strlen(key), pb.sbuf.data,
		    pb.sbuf.size);
		free(key);
		/* and under the run, for run.get's deliveries */
		key = email_pending_key(out->run_id, r->address);
		jrec_put(rec, EMAIL_BY_RUN, key, strlen(key), pb.sbuf.data,
		    pb.sbuf.size);
		free(key);
		pack_buffer_clear(&pb);
	}
	key = email_pending_key(out->run_id, r->address);
	jrec_del(rec, EMAIL_PENDING, key, strlen(key));
	free(key);
	if (done)
		jrec_del(rec, EMAIL_OUTBOX, out->run_id, strlen(out->run_id));
	log_info("msg=\"%s\" run=%s code=%d attempts=%d", kind, out->run_id,
	    o->code, r->attempts);
	journal_submit(engine->journal, rec, email_recorded_cb, r);
}

static void
email_recorded_cb(const struct journal_result *res, void *arg)
{
	struct email_rcpt	*r = arg;
	struct email_out	*out = r->out;

	if (res->status != JOURNAL_OK)
		log_warnx("msg=\"email outcome not journaled: sent again at "
		    "the next start\" run=%s", out->run_id);
	if (--out->left == 0) {
		LIST_REMOVE(out, entry);
		email_out_free(out);
	}
}

/* ---- start and stop ----------------------------------------------------- */

/* A pending row found at start. */
struct email_scan {
	struct journal	*j;
	json_t		*runs;		/* run id -> [addresses] */
};

static int
email_scan_row(const struct journal_row *row, void *arg)
{
	struct email_scan	*sc = arg;
	const char		*sp;
	char			*run;
	json_t			*list;

	if ((sp = memchr(row->key, ' ', row->klen)) == NULL)
		return (0);
	run = xstrndup(row->key, (size_t)(sp - (const char *)row->key));
	if ((list = json_object_get(sc->runs, run)) == NULL) {
		list = json_array();
		json_object_set_new(sc->runs, run, list);
	}
	json_array_append_new(list, json_stringn(sp + 1, row->klen -
	    (size_t)(sp + 1 - (const char *)row->key)));
	free(run);
	return (0);
}

/* The unsubscribe key: DATA/secrets/email-unsubscribe, made at first use
 * (0600, 32 random bytes). */
static int
email_unsub_load(char **cause)
{
	char	*whsec = NULL;

	if (secret_resolve("generated:email-unsubscribe", &email_unsub_key,
	    &email_unsub_len, cause) == 0)
		return (0);
	free(*cause);
	*cause = NULL;
	if (secret_generate(engine->data_dir, "email-unsubscribe", &whsec,
	    cause) == -1)
		return (-1);
	secret_free((unsigned char *)whsec, strlen(whsec));
	return (secret_resolve("generated:email-unsubscribe",
	    &email_unsub_key, &email_unsub_len, cause));
}

/*
 * At start: the unsubscribe key (with a public URL), then every recipient
 * left pending is sent again from its run's outbox row.  0, or -1 with
 * *CAUSE.
 */
int
email_start(struct journal *j, char **cause)
{
	struct email_scan	 sc = { j, NULL };
	struct email_out	*out;
	msgpack_unpacked	 u;
	const char		*run;
	json_t			*list;
	void			*val;
	size_t			 vlen, i, n = 0;

	/* With a public URL, also without a relay: the links of messages
	 * sent before keep working. */
	if (email_cfg.public_url != NULL && email_unsub_load(cause) == -1)
		return (-1);
	sc.runs = json_object();
	if (journal_table_foreach(j, EMAIL_PENDING, NULL, 0, 0,
	    email_scan_row, &sc) == -1) {
		json_decref(sc.runs);
		*cause = xstrdup("cannot read the email-pending table");
		return (-1);
	}
	json_object_foreach(sc.runs, run, list) {
		if (journal_table_get(j, EMAIL_OUTBOX, run, strlen(run), &val,
		    &vlen) == -1) {
			log_warnx("msg=\"pending email without its message\" "
			    "run=%s", run);
			continue;
		}
		if (unpack_buffer(val, vlen, &u) == -1) {
			free(val);
			continue;
		}
		out = email_out_from_row(&u.data, run, list);
		msgpack_unpacked_destroy(&u);
		free(val);
		/* Recipients sent before the crash are not pending: the
		 * outbox row goes with the last of this run's. */
		LIST_INSERT_HEAD(&email_outs, out, entry);
		for (i = 0; i < out->nrcpts; i++)
			TAILQ_INSERT_TAIL(&email_queue, &out->rcpts[i], entry);
		n += out->nrcpts;
	}
	json_decref(sc.runs);
	if (n > 0) {
		if (!email_on) {
			log_warnx("msg=\"pending email kept: no relay "
			    "configured (--smtp-url)\" recipients=%zu", n);
			return (0);
		}
		log_info("msg=\"pending email sent again\" recipients=%zu", n);
	}
	if (email_on)
		email_pump();
	return (0);
}

/* Shutdown: drop sends in flight (their recipients stay pending). */
void
email_stop(void)
{
	struct email_out	*out;
	size_t			 i;

	while ((out = LIST_FIRST(&email_outs)) != NULL) {
		LIST_REMOVE(out, entry);
		for (i = 0; i < out->nrcpts; i++) {
			if (out->rcpts[i].job != NULL)
				smtp_abort(out->rcpts[i].job);
		}
		email_out_free(out);
	}
	TAILQ_INIT(&email_queue);
	email_sending = 0;
	if (email_unsub_key != NULL)
		secret_free(email_unsub_key, email_unsub_len);
	email_unsub_key = NULL;
}

/*
 * Is TOKEN the unsubscribe token of ADDRESS in ACCOUNT (compared in
 * constant time)?  0, or -1 (also when no key is loaded: no public URL).
 */
int
email_unsubscribe_verify(const char *account, const char *address,
    const char *token)
{
	char	want[MAIL_TOKEN_LEN + 1];

	if (email_unsub_key == NULL || strlen(token) != MAIL_TOKEN_LEN)
		return (-1);
	mail_unsubscribe_token(email_unsub_key, email_unsub_len, account,
	    address, want);
	return (CRYPTO_memcmp(want, token, MAIL_TOKEN_LEN) == 0 ? 0 : -1);
}

/* An email outcome map (a row of the email log) as the protocol shows
 * it. */
static json_t *
email_outcome_json(const msgpack_object *o)
{
	json_t	*j;
	char	*run, *sched, *addr, *subject, *outcome, *error;
	char	 when[40];

	run = unpack_strdup(o, "run_id");
	sched = unpack_strdup(o, "schedule");
	addr = unpack_strdup(o, "address");
	subject = unpack_strdup(o, "subject");
	outcome = unpack_strdup(o, "outcome");
	error = unpack_strdup(o, "error");
	fmt_rfc3339(unpack_int(o, "at_us", 0), when, sizeof when);
	j = json_pack("{s:s, s:s?, s:s?, s:s?, s:s?, s:s?, s:I, s:I, s:s?}",
	    "at", when, "run_id", run, "schedule", sched, "address", addr,
	    "subject", subject, "outcome", outcome, "code",
	    (json_int_t)unpack_int(o, "code", 0), "attempts",
	    (json_int_t)unpack_int(o, "attempts", 0), "error", error);
	free(run);
	free(sched);
	free(addr);
	free(subject);
	free(outcome);
	free(error);
	return (j);
}

static int
email_by_run_row(const struct journal_row *row, void *arg)
{
	json_t			*list = arg;
	msgpack_unpacked	 u;

	if (unpack_buffer(row->val, row->vlen, &u) == -1)
		return (0);
	json_array_append_new(list, email_outcome_json(&u.data));
	msgpack_unpacked_destroy(&u);
	return (0);
}

/* The outcomes of RUN's messages (a run's or a batch's id), one per
 * recipient that has one, by address. */
json_t *
email_deliveries(const char *run)
{
	json_t	*list = json_array();
	char	*prefix;

	xasprintf(&prefix, "%s ", run);
	journal_table_foreach(engine->journal, EMAIL_BY_RUN, prefix,
	    strlen(prefix), 0, email_by_run_row, list);
	free(prefix);
	return (list);
}

/* The walk of email_log. */
struct email_log_walk {
	const struct email_log_query	*q;
	json_t				*list;
};

static int
email_log_row(const struct journal_row *row, void *arg)
{
	struct email_log_walk	*w = arg;
	const struct email_log_query *q = w->q;
	msgpack_unpacked	 u;
	char			*run, *sched, *addr;
	int			 keep;

	if (json_array_size(w->list) >= q->limit)
		return (1);
	if (unpack_buffer(row->val, row->vlen, &u) == -1)
		return (0);
	run = unpack_strdup(&u.data, "run_id");
	sched = unpack_strdup(&u.data, "schedule");
	addr = unpack_strdup(&u.data, "address");
	keep = run != NULL && addr != NULL &&
	    (q->run == NULL || strcmp(q->run, run) == 0) &&
	    (q->schedule == NULL || (sched != NULL &&
	    strcmp(q->schedule, sched) == 0)) &&
	    (q->address == NULL || strcasecmp(q->address, addr) == 0);
	if (keep)
		json_array_append_new(w->list, email_outcome_json(&u.data));
	free(run);
	free(sched);
	free(addr);
	msgpack_unpacked_destroy(&u);
	return (0);
}

/*
 * The email log of Q's account, newest first: each recipient's outcome
 * (sent, failed, suppressed) with its run, schedule, subject, code and
 * error, filtered by Q's run, schedule and address, at most Q's limit.
 */
json_t *
email_log(const struct email_log_query *q)
{
	struct email_log_walk	 w = { q, json_array() };
	char			*prefix, *end;

	xasprintf(&prefix, "%s/", q->account);
	xasprintf(&end, "%s/g", q->account);	/* past every hex digit */
	journal_table_seek_back(engine->journal, EMAIL_LOG, prefix,
	    strlen(prefix), end, strlen(end), email_log_row, &w);
	free(end);
	free(prefix);
	return (w.list);
}

/* Sends in flight or waiting (for the drain and the status). */
size_t
email_busy(void)
{
	return ((size_t)email_sending);
}
