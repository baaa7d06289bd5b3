/*
 * tests/check_mail.c: email messages as bytes (engine/mail.c) and the
 * relay's configuration (engine/smtp.c): addresses, subject templates,
 * the summary's escaping, whole messages (headers, the MIME tree, base64
 * lines, RFC 2047 subjects, CRLF everywhere, the same bytes for the same
 * inputs), refusals of anything that could split a header, the size
 * limit, and the unsubscribe token against Python's hmac.
 */
#include <sys/types.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "lib.h"

/* A message with everything: used by the build tests. */
static const unsigned char blob[] = { 0, 1, 2, 253, 254, 255 };
static const struct mail_attachment atts[] = {
	{ "numbers.csv", "text/csv", (const unsigned char *)"a,b\n1,2\n", 8 },
	{ "blob.bin", "application/octet-stream", blob, sizeof blob },
	{ "r\xc3\xa9sum\xc3\xa9.txt", "text/plain",
	    (const unsigned char *)"x", 1 },
};

static void
sample(struct mail_message *m)
{
	memset(m, 0, sizeof *m);
	m->from = "reports@chime.example.org";
	m->from_name = "chime";
	m->to = "ann@example.com";
	m->subject = "Weekly numbers";
	m->text = "Total: 42\n";
	m->html = "<p>Total: <b>42</b></p>";
	m->message_id = "0123abcd@chime.example.org";
	m->date_us = 1765000000LL * 1000000;	/* 2025-12-06 05:46:40 UTC */
	m->unsubscribe_url = "https://chime.example.org/v1/email/unsubscribe"
	    "?account=default&address=ann%40example.com&token=T";
}

/* Is every line of S (LEN bytes) ended by CRLF, and no line of the body
 * longer than 76? */
static int
lines_ok(const char *s, size_t len)
{
	const char	*p, *nl, *body = strstr(s, "\r\n\r\n");
	size_t		 i;

	for (i = 0; i < len; i++)
		if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
			return (0);
	for (p = body; p != NULL && *p != '\0'; p = nl + 1) {
		if ((nl = strchr(p, '\n')) == NULL)
			break;
		if (nl - p - 1 > 76)
			return (0);
	}
	return (s[len - 1] == '\n');
}

/* Addresses chime sends to. */
START_TEST(test_mail_address)
{
	const char	*why;

	ck_assert_int_eq(mail_address_check("ann@example.com", &why), 0);
	ck_assert_int_eq(mail_address_check("a.b+tag@mail.example.co.uk",
	    &why), 0);
	ck_assert_int_eq(mail_address_check("o'brien@example.com", &why), 0);
	ck_assert_int_eq(mail_address_check("x@a-b.example", &why), 0);
}
END_TEST

/* Anything a header could be split on, or that is not LOCAL@DOMAIN. */
START_TEST(test_mail_address_bad)
{
	static const char *const bad[] = { "", "ann", "@example.com",
	    "ann@", "ann@localhost", "ann@@example.com", "a@b@example.com",
	    "ann@example.com>", "<ann@example.com>", "ann@example.com\r\nBcc: x@y.z",
	    "ann @example.com", "\"ann\"@example.com", "ann,bob@example.com",
	    ".ann@example.com", "ann.@example.com", "a..b@example.com",
	    "ann@-example.com", "ann@example-.com", "ann@example..com",
	    "ann@ex_ample.com", "ann\x7f@example.com", "\xc3\xa9@example.com",
	    NULL };
	const char		*why;
	char			 longl[80], longa[300];
	size_t			 i;

	for (i = 0; bad[i] != NULL; i++)
		ck_assert_msg(mail_address_check(bad[i], &why) == -1,
		    "accepted \"%s\"", bad[i]);
	memset(longl, 'a', 65);
	strcpy(longl + 65, "@example.com");
	ck_assert_int_eq(mail_address_check(longl, &why), -1);
	memset(longa, 'a', 250);
	strcpy(longa + 250, "@example.com");
	ck_assert_int_eq(mail_address_check(longa, &why), -1);
}
END_TEST

/* Templates: the placeholders, their values' control characters made
 * spaces. */
START_TEST(test_mail_subject)
{
	struct mail_summary	 s;
	const char		*why;
	char			*out;

	memset(&s, 0, sizeof s);
	s.schedule = "weekly";
	s.status = "success";
	s.run_id = "s_x:3";
	s.account = "acme";
	s.operation = "report\r\nBcc: x";
	s.finished_us = 1765000000LL * 1000000;
	ck_assert_int_eq(mail_subject_check("{schedule} {status} {run} "
	    "{account} {operation} {date} {", &why), -1);
	ck_assert_int_eq(mail_subject_check("{schedule}: {status} on {date}",
	    &why), 0);
	out = mail_subject("[{account}] {schedule}: {status} ({run}) {date} "
	    "{operation}", &s);
	ck_assert_str_eq(out, "[acme] weekly: success (s_x:3) 2025-12-06 "
	    "report  Bcc: x");
	free(out);
}
END_TEST

/* Templates refused: line breaks, unknown placeholders, too long. */
START_TEST(test_mail_subject_bad)
{
	const char	*why;
	char		 big[300];

	ck_assert_int_eq(mail_subject_check("Hi\r\nBcc: x@y.z", &why), -1);
	ck_assert_int_eq(mail_subject_check("Hi\nthere", &why), -1);
	ck_assert_int_eq(mail_subject_check("Hi {password}", &why), -1);
	ck_assert_int_eq(mail_subject_check("Hi {schedule", &why), -1);
	memset(big, 'x', 201);
	big[201] = '\0';
	ck_assert_int_eq(mail_subject_check(big, &why), -1);
}
END_TEST

/* The summary: every value escaped in the HTML, as it is in the text. */
START_TEST(test_mail_summary)
{
	struct mail_summary	 s;
	char			*text, *html;

	memset(&s, 0, sizeof s);
	s.schedule = "weekly";
	s.account = "acme";
	s.run_id = "s_x:3";
	s.operation = "report";
	s.status = "failed";
	s.error = "exit 3: <script>alert('x')</script>";
	s.result = "{\"note\":\"<b>a & b</b>\"}";
	s.cost_micro = 1234567;
	s.finished_us = 1765000000LL * 1000000;
	mail_summary_render(&s, &text, &html);
	ck_assert_ptr_nonnull(strstr(text, "<script>alert('x')</script>"));
	ck_assert_ptr_nonnull(strstr(text, "\"note\": \"<b>a & b</b>\""));
	ck_assert_ptr_nonnull(strstr(text, "$1.234567"));
	ck_assert_ptr_null(strstr(html, "<script>"));
	ck_assert_ptr_null(strstr(html, "<b>a"));
	ck_assert_ptr_nonnull(strstr(html, "&lt;script&gt;alert(&#39;x&#39;)"));
	ck_assert_ptr_nonnull(strstr(html,
	    "&quot;note&quot;: &quot;&lt;b&gt;a &amp; b&lt;/b&gt;&quot;"));
	free(text);
	free(html);
}
END_TEST

/* A result that is not JSON is shown as it is (escaped); no cost. */
START_TEST(test_mail_summary_bad)
{
	struct mail_summary	 s;
	char			*text, *html;

	memset(&s, 0, sizeof s);
	s.schedule = "w";
	s.status = "success";
	s.result = "not json <x>";
	s.cost_micro = -1;
	mail_summary_render(&s, &text, &html);
	ck_assert_ptr_nonnull(strstr(text, "not json <x>"));
	ck_assert_ptr_nonnull(strstr(text, "unknown"));
	ck_assert_ptr_nonnull(strstr(html, "not json &lt;x&gt;"));
	free(text);
	free(html);
}
END_TEST

/* A whole message: headers, the MIME tree, base64 bodies, CRLF lines. */
START_TEST(test_mail_build)
{
	struct mail_message	 m;
	char			*out, *again, *cause = NULL;
	size_t			 len, len2;

	sample(&m);
	ck_assert_int_eq(mail_build(&m, &out, &len, &cause), 0);
	ck_assert_uint_eq(strlen(out), len);
	ck_assert_msg(strncmp(out, "From: \"chime\" "
	    "<reports@chime.example.org>\r\nTo: <ann@example.com>\r\n"
	    "Subject: Weekly numbers\r\n"
	    "Date: Sat, 6 Dec 2025 05:46:40 +0000\r\n"
	    "Message-ID: <0123abcd@chime.example.org>\r\n"
	    "MIME-Version: 1.0\r\nAuto-Submitted: auto-generated\r\n"
	    "List-Unsubscribe: <https://chime.example.org/v1/email/"
	    "unsubscribe?account=default&address=ann%40example.com&token=T>"
	    "\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
	    "Content-Type: multipart/alternative; boundary=\"=_alt_", 400) == 0,
	    "%.600s", out);
	/* "Total: 42\n" and the HTML, in base64. */
	ck_assert_ptr_nonnull(strstr(out, "Content-Type: text/plain; "
	    "charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n"
	    "VG90YWw6IDQyCg==\r\n"));
	ck_assert_ptr_nonnull(strstr(out, "Content-Type: text/html; "
	    "charset=utf-8\r\n"));
	ck_assert_ptr_null(strstr(out, "multipart/mixed"));
	ck_assert(lines_ok(out, len));
	/* The same inputs, the same bytes. */
	ck_assert_int_eq(mail_build(&m, &again, &len2, &cause), 0);
	ck_assert_uint_eq(len, len2);
	ck_assert_int_eq(memcmp(out, again, len), 0);
	free(again);
	free(out);

	/* Attachments: multipart/mixed around the alternative. */
	m.attachments = atts;
	m.nattachments = 3;
	m.unsubscribe_url = NULL;
	m.from_name = NULL;
	m.subject = "Rapport \xc3\xbc" "ber weekly";
	ck_assert_int_eq(mail_build(&m, &out, &len, &cause), 0);
	ck_assert_ptr_nonnull(strstr(out, "From: <reports@chime.example."
	    "org>\r\n"));
	ck_assert_ptr_nonnull(strstr(out,
	    "Subject: =?UTF-8?B?UmFwcG9ydCDDvGJlciB3ZWVrbHk=?=\r\n"));
	ck_assert_ptr_null(strstr(out, "List-Unsubscribe"));
	ck_assert_ptr_nonnull(strstr(out, "Content-Type: multipart/mixed; "
	    "boundary=\"=_mix_"));
	ck_assert_ptr_nonnull(strstr(out, "Content-Type: text/csv\r\n"
	    "Content-Transfer-Encoding: base64\r\n"
	    "Content-Disposition: attachment; filename=\"numbers.csv\"\r\n"
	    "\r\nYSxiCjEsMgo=\r\n"));
	ck_assert_ptr_nonnull(strstr(out, "filename=\"blob.bin\"\r\n\r\n"
	    "AAEC/f7/\r\n"));
	ck_assert_ptr_nonnull(strstr(out,
	    "filename*=UTF-8''r%C3%A9sum%C3%A9.txt"));
	ck_assert(lines_ok(out, len));
	free(out);

	/* An account's display name: not ASCII, or with a quote, as RFC
	 * 2047 encoded words ("\xc3\x89quipe \"R\"" is w4lxdWlwZSAiUiI=). */
	m.from_name = "\xc3\x89quipe \"R\"";
	ck_assert_int_eq(mail_build(&m, &out, &len, &cause), 0);
	ck_assert_msg(strncmp(out, "From: =?UTF-8?B?w4lxdWlwZSAiUiI=?=\r\n"
	    " <reports@chime.example.org>\r\n", 64) == 0, "%.200s", out);
	ck_assert(lines_ok(out, len));
	free(out);
}
END_TEST

/* Long things: a long non-ASCII subject folds into encoded words under
 * 76 characters, cut on characters; a large attachment's base64 lines are
 * 76; past 10 MiB the message is refused. */
START_TEST(test_mail_build_long)
{
	struct mail_message	 m;
	struct mail_attachment	 big;
	unsigned char		*data;
	char			 subj[200], *out, *cause = NULL, *p, *nl;
	size_t			 len, i, words = 0;

	sample(&m);
	for (i = 0; i + 2 < sizeof subj; i += 2)
		memcpy(subj + i, "\xc3\xa9", 2);
	subj[i] = '\0';
	m.subject = subj;
	ck_assert_int_eq(mail_build(&m, &out, &len, &cause), 0);
	p = strstr(out, "Subject: ");
	for (;;) {
		nl = strstr(p, "\r\n");
		ck_assert_int_le(nl - p, 76);
		words++;
		if (nl[2] != ' ')
			break;
		p = nl + 2;
	}
	ck_assert_uint_gt(words, 3);
	free(out);

	data = xcalloc(1, 9 * 1024 * 1024);
	big.name = "big.bin";
	big.content_type = "application/octet-stream";
	big.data = data;
	big.len = 1000;
	m.attachments = &big;
	m.nattachments = 1;
	ck_assert_int_eq(mail_build(&m, &out, &len, &cause), 0);
	ck_assert(lines_ok(out, len));
	ck_assert_ptr_nonnull(strstr(out, "\r\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\r\n"));
	free(out);
	big.len = 9 * 1024 * 1024;
	ck_assert_int_eq(mail_build(&m, &out, &len, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "10 MiB"));
	free(cause);
	free(data);
}
END_TEST

/* Refused: line breaks in any header value, bad addresses, bad MIME
 * types and names. */
START_TEST(test_mail_build_bad)
{
	struct mail_message	 m;
	struct mail_attachment	 a = { "x.txt", "text/plain",
				    (const unsigned char *)"x", 1 };
	char			*out = NULL, *cause = NULL;
	size_t			 len;
	int			 i;

	for (i = 0; i < 9; i++) {
		sample(&m);
		switch (i) {
		case 0:
			m.subject = "Hi\r\nBcc: evil@example.com";
			break;
		case 1:
			m.to = "ann@example.com\r\nBcc: evil@example.com";
			break;
		case 2:
			m.message_id = "x@y\r\nBcc: z";
			break;
		case 3:
			m.message_id = "<x@y>";
			break;
		case 4:
			m.from_name = "Reports\r\nBcc: evil@example.com";
			break;
		case 5:
			m.unsubscribe_url = "https://x/\r\nBcc: z";
			break;
		case 6:
			a.content_type = "text/plain\r\nX: y";
			m.attachments = &a;
			m.nattachments = 1;
			break;
		case 7:
			a.content_type = "text";
			m.attachments = &a;
			m.nattachments = 1;
			break;
		case 8:
			a.content_type = "text/plain";
			a.name = "x\r\n.txt";
			m.attachments = &a;
			m.nattachments = 1;
			break;
		}
		ck_assert_msg(mail_build(&m, &out, &len, &cause) == -1,
		    "case %d built", i);
		ck_assert_ptr_nonnull(cause);
		free(cause);
		cause = NULL;
	}
}
END_TEST

/* The token is HMAC-SHA256("ACCOUNT\nADDRESS") in base64url, as Python's
 * hmac computes it; the URL escapes the query. */
START_TEST(test_mail_token)
{
	char	tok[MAIL_TOKEN_LEN + 1], *url;

	mail_unsubscribe_token((const unsigned char *)"key", 3, "default",
	    "a@example.com", tok);
	ck_assert_str_eq(tok, "kYAbUqCBQmUG0M53hp2HHHep8-XBCGbvPRXrhVPynE8");
	url = mail_unsubscribe_url("https://c.example.org/", "acme corp",
	    "a+b@example.com", tok);
	ck_assert_str_eq(url, "https://c.example.org/v1/email/unsubscribe?"
	    "account=acme%20corp&address=a%2Bb%40example.com&token="
	    "kYAbUqCBQmUG0M53hp2HHHep8-XBCGbvPRXrhVPynE8");
	free(url);
}
END_TEST

/* Another account, another address or another key: another token. */
START_TEST(test_mail_token_bad)
{
	char	a[MAIL_TOKEN_LEN + 1], b[MAIL_TOKEN_LEN + 1];

	mail_unsubscribe_token((const unsigned char *)"key", 3, "default",
	    "a@example.com", a);
	mail_unsubscribe_token((const unsigned char *)"key", 3, "other",
	    "a@example.com", b);
	ck_assert_str_ne(a, b);
	mail_unsubscribe_token((const unsigned char *)"key", 3, "default",
	    "b@example.com", b);
	ck_assert_str_ne(a, b);
	mail_unsubscribe_token((const unsigned char *)"kez", 3, "default",
	    "a@example.com", b);
	ck_assert_str_ne(a, b);
	/* The separator keeps "ab"+"c" apart from "a"+"bc". */
	mail_unsubscribe_token((const unsigned char *)"key", 3, "ab",
	    "c@example.com", a);
	mail_unsubscribe_token((const unsigned char *)"key", 3, "a",
	    "bc@example.com", b);
	ck_assert_str_ne(a, b);
}
END_TEST

static int
relay_ok(const char *url, const char *from, int insecure)
{
	struct smtp_config	 c;
	char			*cause = NULL;
	int			 rc;

	memset(&c, 0, sizeof c);
	c.url = (char *)url;
	c.from = (char *)from;
	c.insecure = insecure;
	rc = smtp_config_check(&c, &cause);
	free(cause);
	return (rc);
}

/* Relays an admin may give. */
START_TEST(test_smtp_config)
{
	ck_assert_int_eq(relay_ok("smtp://mail.example.com:587",
	    "r@example.com", 0), 0);
	ck_assert_int_eq(relay_ok("smtps://mail.example.com:465",
	    "r@example.com", 0), 0);
	ck_assert_int_eq(relay_ok("smtp://127.0.0.1:25", "r@example.com", 1),
	    0);
	ck_assert_int_eq(relay_ok("smtp://localhost:2525", "r@example.com", 1),
	    0);
	ck_assert_int_eq(relay_ok("smtp://[::1]:25", "r@example.com", 1), 0);
}
END_TEST

/* Refused: other schemes, credentials or paths in the URL, insecure off
 * loopback or with smtps, no or a bad from. */
START_TEST(test_smtp_config_bad)
{
	ck_assert_int_eq(relay_ok("http://mail.example.com", "r@example.com",
	    0), -1);
	ck_assert_int_eq(relay_ok("smtp://u:p@mail.example.com",
	    "r@example.com", 0), -1);
	ck_assert_int_eq(relay_ok("smtp://mail.example.com/x",
	    "r@example.com", 0), -1);
	ck_assert_int_eq(relay_ok("smtp://", "r@example.com", 0), -1);
	ck_assert_int_eq(relay_ok("smtp://mail.example.com:587",
	    "r@example.com", 1), -1);
	ck_assert_int_eq(relay_ok("smtp://127.0.0.1.example.com:25",
	    "r@example.com", 1), -1);
	ck_assert_int_eq(relay_ok("smtp://localhost.example.com:25",
	    "r@example.com", 1), -1);
	ck_assert_int_eq(relay_ok("smtps://127.0.0.1:465", "r@example.com",
	    1), -1);
	ck_assert_int_eq(relay_ok("smtp://mail.example.com", NULL, 0), -1);
	ck_assert_int_eq(relay_ok("smtp://mail.example.com", "r", 0), -1);
	ck_assert_int_eq(relay_ok(NULL, "r@example.com", 0), -1);
}
END_TEST

static Suite *
mail_suite(void)
{
	Suite	*s = suite_create("mail");

	lib_tcase(s, "mail", NULL, NULL, 0,
	    test_mail_address, test_mail_address_bad,
	    test_mail_subject, test_mail_subject_bad,
	    test_mail_summary, test_mail_summary_bad,
	    test_mail_build, test_mail_build_long, test_mail_build_bad,
	    test_mail_token, test_mail_token_bad, NULL);
	lib_tcase(s, "smtp", NULL, NULL, 0,
	    test_smtp_config, test_smtp_config_bad, NULL);
	return (s);
}

int
main(void)
{
	log_open("check_mail", LOG_LEVEL_WARN);
	return (lib_run(CK_NORMAL, mail_suite(), NULL));
}
