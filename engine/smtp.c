/*
 * engine/smtp.c: sending one message to one recipient through the admin's
 * relay, without blocking the loop.  Each send is a libcurl easy handle
 * run on the http executor's multi handle (http_other_start: its socket
 * and timer plumbing on the loop); the password is a secret reference
 * (secret.c), read for each send (an exec: one first made ready in the
 * background).  The outcome is the relay's last reply code and whether
 * it is worth trying again: 5xx replies are final, anything else (4xx, a
 * connection, TLS or time-out failure) is transient.  Retries are the
 * caller's.
 *
 * smtp:// requires STARTTLS (CURLUSESSL_ALL) unless the configuration
 * says insecure, which smtp_config_check allows for a loopback relay only;
 * smtps:// is TLS from the start.  A callback runs once, from the loop,
 * never inside smtp_send or smtp_abort.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "engine.h"

#define SMTP_TIMEOUT_MS		60000
#define SMTP_CONNECT_MS		10000

struct smtp_job {
	const struct smtp_config *cfg;
	CURL			*easy;
	struct curl_slist	*rcpt;
	struct http_other	*other;
	char			*from;		/* "<addr>" */
	char			*to;
	char			*data;
	size_t			 len;
	size_t			 off;
	smtp_done_cb		 cb;
	void			*arg;
	int			 preparing;	/* an exec: secret is read */
	struct event		*fail_ev;	/* a failure before curl ran */
	char			*fail;
	char			 errbuf[CURL_ERROR_SIZE];
};

static void	 smtp_secret_ready(void *, const char *);
static void	 smtp_go(struct smtp_job *);
static void	 smtp_fail_later(struct smtp_job *, const char *);
static void	 smtp_fail_cb(evutil_socket_t, short, void *);
static void	 smtp_done(void *, int, void *);
static size_t	 smtp_read_cb(char *, size_t, size_t, void *);
static void	 smtp_job_free(struct smtp_job *);

/*
 * Is HOST (a URL's host: a name, an IPv4 address or [IPv6]) the loopback:
 * "localhost", an address of 127.0.0.0/8, or [::1]?  A name is never
 * resolved here: "127.0.0.1.example.com" is not.
 */
int
smtp_loopback(const char *host)
{
	struct in_addr	a4;

	if (strcasecmp(host, "localhost") == 0 || strcmp(host, "[::1]") == 0)
		return (1);
	return (inet_pton(AF_INET, host, &a4) == 1 &&
	    (ntohl(a4.s_addr) >> 24) == 127);
}

/*
 * Check CFG as the admin gave it: the URL smtp://HOST[:PORT] or
 * smtps://HOST[:PORT] with no user, password, path or query (the user is
 * --smtp-user, the password a secret reference), insecure only with
 * smtp:// to a loopback host, a from address, a readable password
 * reference.  0, or -1 with *CAUSE.
 */
int
smtp_config_check(const struct smtp_config *cfg, char **cause)
{
	const char	*rest, *reason, *end;
	char		*host;
	int		 tls;

	if (cfg->url == NULL) {
		*cause = xstrdup("--smtp-url is required for the other "
		    "--smtp-* settings");
		return (-1);
	}
	if (strncmp(cfg->url, "smtp://", 7) == 0) {
		rest = cfg->url + 7;
		tls = 0;
	} else if (strncmp(cfg->url, "smtps://", 8) == 0) {
		rest = cfg->url + 8;
		tls = 1;
	} else {
		xasprintf(cause, "--smtp-url: expected smtp://HOST[:PORT] "
		    "(STARTTLS) or smtps://HOST[:PORT], got \"%s\"", cfg->url);
		return (-1);
	}
	if (*rest == '\0' || strpbrk(rest, "@?#") != NULL ||
	    ((end = strchr(rest, '/')) != NULL && end[1] != '\0') ||
	    strpbrk(rest, " \t\r\n") != NULL) {
		xasprintf(cause, "--smtp-url: expected a host and port only "
		    "(user with --smtp-user, password with --smtp-password), "
		    "got \"%s\"", cfg->url);
		return (-1);
	}
	if (*rest == '[')
		host = xstrndup(rest, strcspn(rest, "]") + 1);
	else
		host = xstrndup(rest, strcspn(rest, ":/"));
	if (cfg->insecure && (tls || !smtp_loopback(host))) {
		xasprintf(cause, "--smtp-insecure: only for smtp:// to a "
		    "loopback relay (localhost, 127.0.0.0/8, [::1]), not "
		    "\"%s\"", cfg->url);
		free(host);
		return (-1);
	}
	free(host);
	if (cfg->from == NULL) {
		*cause = xstrdup("--smtp-from is required with --smtp-url");
		return (-1);
	}
	if (mail_address_check(cfg->from, &reason) == -1) {
		xasprintf(cause, "--smtp-from: \"%s\" %s", cfg->from, reason);
		return (-1);
	}
	if (cfg->from_name != NULL && (strlen(cfg->from_name) > 64 ||
	    strpbrk(cfg->from_name, "\"\\\r\n") != NULL)) {
		*cause = xstrdup("--smtp-from-name: at most 64 characters, "
		    "no quotes, backslashes or line breaks");
		return (-1);
	}
	if ((cfg->user == NULL) != (cfg->password_ref == NULL)) {
		*cause = xstrdup("--smtp-user and --smtp-password go together");
		return (-1);
	}
	if (cfg->password_ref != NULL &&
	    secret_ref_check(cfg->password_ref, cause) == -1)
		return (-1);
	return (0);
}

/*
 * Send DATA (LEN bytes, a whole message; copied) to RCPT through CFG's
 * relay (CFG borrowed until the callback).  CB runs once, from the loop,
 * with the outcome.  Never fails: a failure to start is an outcome too.
 */
struct smtp_job *
smtp_send(const struct smtp_config *cfg, const char *rcpt, const char *data,
    size_t len, smtp_done_cb cb, void *arg)
{
	struct smtp_job	*job;
	char		*cause = NULL;
	int		 rc;

	job = xcalloc(1, sizeof *job);
	job->cfg = cfg;
	job->cb = cb;
	job->arg = arg;
	xasprintf(&job->from, "<%s>", cfg->from);
	xasprintf(&job->to, "<%s>", rcpt);
	job->data = xmalloc(len + 1);
	memcpy(job->data, data, len);
	job->len = len;
	if (cfg->password_ref != NULL) {
		rc = secret_prepare(cfg->password_ref, smtp_secret_ready, job,
		    &cause);
		if (rc == -1) {
			smtp_fail_later(job, cause);
			free(cause);
			return (job);
		}
		if (rc == 1) {
			job->preparing = 1;
			return (job);
		}
	}
	smtp_go(job);
	return (job);
}

/* An exec: password was read (or not: REASON). */
static void
smtp_secret_ready(void *arg, const char *reason)
{
	struct smtp_job	*job = arg;

	job->preparing = 0;
	if (job->cb == NULL) {
		/* Aborted meanwhile. */
		smtp_job_free(job);
		return;
	}
	if (reason != NULL) {
		smtp_fail_later(job, reason);
		return;
	}
	smtp_go(job);
}

/* Set up the easy handle and hand it to the multi handle. */
static void
smtp_go(struct smtp_job *job)
{
	const struct smtp_config	*cfg = job->cfg;
	unsigned char			*pw = NULL;
	size_t				 pwlen = 0;
	char				*cause = NULL;

	if (cfg->password_ref != NULL && secret_resolve(cfg->password_ref,
	    &pw, &pwlen, &cause) == -1) {
		smtp_fail_later(job, cause);
		free(cause);
		return;
	}
	if ((job->easy = curl_easy_init()) == NULL)
		fatalx("smtp: curl_easy_init failed");
	job->rcpt = curl_slist_append(NULL, job->to);
	curl_easy_setopt(job->easy, CURLOPT_URL, cfg->url);
	curl_easy_setopt(job->easy, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	curl_easy_setopt(job->easy, CURLOPT_MAIL_FROM, job->from);
	curl_easy_setopt(job->easy, CURLOPT_MAIL_RCPT, job->rcpt);
	curl_easy_setopt(job->easy, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(job->easy, CURLOPT_READFUNCTION, smtp_read_cb);
	curl_easy_setopt(job->easy, CURLOPT_READDATA, job);
	curl_easy_setopt(job->easy, CURLOPT_INFILESIZE_LARGE,
	    (curl_off_t)job->len);
	curl_easy_setopt(job->easy, CURLOPT_USE_SSL, cfg->insecure ?
	    (long)CURLUSESSL_NONE : (long)CURLUSESSL_ALL);
	if (cfg->ca_file != NULL)
		curl_easy_setopt(job->easy, CURLOPT_CAINFO, cfg->ca_file);
	if (cfg->user != NULL) {
		curl_easy_setopt(job->easy, CURLOPT_USERNAME, cfg->user);
		curl_easy_setopt(job->easy, CURLOPT_PASSWORD, (char *)pw);
	}
	curl_easy_setopt(job->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(job->easy, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)SMTP_CONNECT_MS);
	curl_easy_setopt(job->easy, CURLOPT_TIMEOUT_MS, cfg->timeout_ms > 0 ?
	    (long)cfg->timeout_ms : (long)SMTP_TIMEOUT_MS);
	curl_easy_setopt(job->easy, CURLOPT_ERRORBUFFER, job->errbuf);
	/* libcurl copies the password: ours is wiped now. */
	secret_free(pw, pwlen);
	job->other = http_other_start(job->easy, smtp_done, job);
}

/* Report CAUSE as a transient failure from the loop. */
static void
smtp_fail_later(struct smtp_job *job, const char *cause)
{
	job->fail = xstrdup(cause);
	job->fail_ev = event_new(engine->base, -1, 0, smtp_fail_cb, job);
	if (job->fail_ev == NULL)
		fatalx("smtp: event_new failed");
	event_active(job->fail_ev, 0, 0);
}

static void
smtp_fail_cb(evutil_socket_t fd, short events, void *arg)
{
	struct smtp_job		*job = arg;
	struct smtp_outcome	 o = { 0, 1, job->fail };

	job->cb(&o, job->arg);
	smtp_job_free(job);
}

/* The transfer ended with libcurl's CODE. */
static void
smtp_done(void *easy, int code, void *arg)
{
	struct smtp_job		*job = arg;
	struct smtp_outcome	 o;
	long			 reply = 0;
	char			 buf[CURL_ERROR_SIZE + 64];

	job->other = NULL;
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &reply);
	o.code = (int)reply;
	if (code == CURLE_OK && reply >= 200 && reply < 300) {
		o.transient = 0;
		o.error = NULL;
	} else {
		o.transient = !(reply >= 500 && reply < 600);
		snprintf(buf, sizeof buf, "%s (reply %ld)",
		    job->errbuf[0] != '\0' ? job->errbuf :
		    curl_easy_strerror((CURLcode)code), reply);
		o.error = buf;
	}
	job->cb(&o, job->arg);
	smtp_job_free(job);
}

/* libcurl reads the message (it turns LF into CRLF and dot-stuffs). */
static size_t
smtp_read_cb(char *buf, size_t size, size_t n, void *arg)
{
	struct smtp_job	*job = arg;
	size_t		 want = size * n;

	if (want > job->len - job->off)
		want = job->len - job->off;
	memcpy(buf, job->data + job->off, want);
	job->off += want;
	return (want);
}

/* Stop JOB; its callback never runs. */
void
smtp_abort(struct smtp_job *job)
{
	if (job == NULL)
		return;
	if (job->other != NULL) {
		http_other_abort(job->other);
		job->other = NULL;
	}
	if (job->preparing) {
		/* The secret's callback frees it. */
		job->cb = NULL;
		return;
	}
	smtp_job_free(job);
}

static void
smtp_job_free(struct smtp_job *job)
{
	if (job->easy != NULL)
		curl_easy_cleanup(job->easy);
	curl_slist_free_all(job->rcpt);
	if (job->fail_ev != NULL)
		event_free(job->fail_ev);
	free(job->fail);
	free(job->from);
	free(job->to);
	free(job->data);
	free(job);
}
