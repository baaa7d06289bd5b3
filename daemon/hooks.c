/*
 * daemon/hooks.c: the HTTP edge of inbound webhooks.  POST /v1/hooks/ID on
 * the listener becomes a struct webhook_delivery (the path's id, the body,
 * the peer's address, the headers the signature styles read) handed to
 * actors/webhook.c, which verifies, journals and answers it through
 * hooks_answer; the requests the listener refuses itself (413, 400) are
 * handed over to be journaled too.  The webhook code never sees libevent's
 * request.
 */
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "actors.h"
#include "ctl.h"
#include "daemon.h"

static void	hooks_http(struct evhttp_request *, const char *, void *);
static void	hooks_answer(void *, int, const char *);
static void	hooks_refused(const char *, int, const char *, const char *,
		    void *);

/* Serve POST /v1/hooks/SCHEDULE_ID on H, and hear of the requests there
 * that the listener refuses itself. */
int
hooks_route(struct httpd *h, char **cause)
{
	if (httpd_route(h, "/v1/hooks/", HTTPD_POST, hooks_http, NULL,
	    cause) == -1)
		return (-1);
	return (httpd_route_refusals(h, "/v1/hooks/", hooks_refused, NULL,
	    cause));
}

/* POST /v1/hooks/REST: everything borrowed from REQ until it is answered. */
static void
hooks_http(struct evhttp_request *req, const char *rest, void *arg)
{
	struct evbuffer			*in = evhttp_request_get_input_buffer(req);
	struct evkeyvalq		*h = evhttp_request_get_input_headers(req);
	struct evhttp_connection	*conn;
	struct webhook_delivery		 d;
	char				*addr = NULL;
	ev_uint16_t			 port = 0;
	int				 i;

	memset(&d, 0, sizeof d);
	d.sid = rest;
	d.size = evbuffer_get_length(in);
	d.body = d.size > 0 ? (const char *)evbuffer_pullup(in, -1) : "";
	if ((conn = evhttp_request_get_connection(req)) != NULL)
		evhttp_connection_get_peer(conn, &addr, &port);
	d.source = addr;
	for (i = 0; i < WEBHOOK_H_MAX; i++)
		d.header[i] = evhttp_find_header(h, webhook_header_names[i]);
	d.answer = hooks_answer;
	d.arg = req;
	webhook_deliver(&d);
}

/* The webhook's answer: STATUS and JSON; a client told to slow down (429,
 * 503) may try again in a second. */
static void
hooks_answer(void *arg, int status, const char *json)
{
	struct evhttp_request	*req = arg;

	if (status == 429 || status == 503)
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Retry-After", "1");
	httpd_reply(req, status, "application/json", json, strlen(json));
}

/* The listener answered a request to /v1/hooks/REST itself. */
static void
hooks_refused(const char *rest, int status, const char *reason,
    const char *address, void *arg)
{
	webhook_refused(rest, status, address);
}
