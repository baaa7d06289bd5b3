/*
 * daemon/http-email.c: the unsubscribe link of report messages
 * (doc/email.md).  GET /v1/email/unsubscribe?account=A&address=X&token=T
 * shows a small page with a button; POST to the same URL (RFC 8058's
 * one-click, "List-Unsubscribe=One-Click", or the page's button)
 * suppresses X for A with reason "unsubscribe" and answers once the record
 * is durable.  The token (email_unsubscribe_verify, constant time) is
 * checked first: a bad one is answered 400, counted, and writes nothing.
 * Suppressing an address already suppressed changes nothing and answers
 * the same.  No credentials: the token is the authority, for that one
 * account and address.
 */
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "actors.h"
#include "ctl.h"
#include "daemon.h"

#define UNSUB_METRIC	"chime_email_unsubscribes_total"

static void	unsub_http(struct evhttp_request *, const char *, void *);
static void	unsub_page(struct evhttp_request *, int, const char *,
		    const char *, const char *);
static void	unsub_done(void *, int, json_t *, const char *);

/* Serve /v1/email/unsubscribe on H. */
int
unsub_route(struct httpd *h, char **cause)
{
	static const char *const outcome[] = { "outcome" };

	if (metrics_counter(UNSUB_METRIC, "Unsubscribe link requests, by "
	    "outcome: shown (the page), done (suppressed), refused (a bad "
	    "link: nothing written).", outcome, 1, cause) == -1)
		return (-1);
	metrics_count(UNSUB_METRIC, "shown", 0);
	metrics_count(UNSUB_METRIC, "done", 0);
	metrics_count(UNSUB_METRIC, "refused", 0);
	return (httpd_route(h, "/v1/email/unsubscribe", HTTPD_GET | HTTPD_POST,
	    unsub_http, NULL, cause));
}

/* An HTML page of STATUS saying TEXT (escaped) about ACCOUNT and
 * ADDRESS; with FORM, the button that POSTs to this URL. */
static void
unsub_page(struct evhttp_request *req, int status, const char *text,
    const char *address, const char *form)
{
	char	*esc, *page;

	esc = mail_html_escaped(address != NULL ? address : "");
	xasprintf(&page, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
	    "<title>Reports</title></head><body>\n<p>%s%s%s</p>\n%s"
	    "</body></html>\n", text, address != NULL ? " " : "", esc,
	    form != NULL ? form : "");
	httpd_reply(req, status, "text/html; charset=utf-8", page,
	    strlen(page));
	free(page);
	free(esc);
}

static void
unsub_http(struct evhttp_request *req, const char *rest, void *arg)
{
	const struct evhttp_uri	*uri = evhttp_request_get_evhttp_uri(req);
	struct evkeyvalq	 q;
	const char		*account, *address, *token, *why;

	TAILQ_INIT(&q);
	account = address = token = NULL;
	if (*rest == '\0' && uri != NULL && evhttp_uri_get_query(uri) != NULL &&
	    evhttp_parse_query_str(evhttp_uri_get_query(uri), &q) == 0) {
		account = evhttp_find_header(&q, "account");
		address = evhttp_find_header(&q, "address");
		token = evhttp_find_header(&q, "token");
	}
	if (account == NULL || address == NULL || token == NULL ||
	    mail_address_check(address, &why) == -1 ||
	    email_unsubscribe_verify(account, address, token) == -1) {
		metrics_count(UNSUB_METRIC, "refused", 1);
		log_info("msg=\"unsubscribe link refused\"");
		unsub_page(req, 400, "This link is not valid.", NULL, NULL);
		evhttp_clear_headers(&q);
		return;
	}
	if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
		metrics_count(UNSUB_METRIC, "shown", 1);
		unsub_page(req, 200, "Stop sending reports to", address,
		    "<form method=\"post\"><button type=\"submit\" "
		    "name=\"List-Unsubscribe\" value=\"One-Click\">"
		    "Unsubscribe</button></form>\n");
		evhttp_clear_headers(&q);
		return;
	}
	suppression_change(account, address, "unsubscribe", unsub_done, req);
	evhttp_clear_headers(&q);
}

/* The suppression is durable (or not). */
static void
unsub_done(void *arg, int rc, json_t *row, const char *error)
{
	struct evhttp_request	*req = arg;

	if (rc == -1) {
		unsub_page(req, 503, "Not now: try again later.", NULL, NULL);
		return;
	}
	metrics_count(UNSUB_METRIC, "done", 1);
	unsub_page(req, 200, "No more reports will be sent to",
	    json_string_value(json_object_get(row, "address")), NULL);
}
