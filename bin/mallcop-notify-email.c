/* mallcop-notify-email: findings as one email over SMTP with TLS (STARTTLS or implicit) */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "http.h"
#include "human.h"
#include "notify.h"
#include "util.h"

enum { TRIES = 3, REPLY_MAX = 300 };

static struct mail {
	char *url;		/* smtp://host:port or smtps://host:port */
	char *host, *port;
	char *pin;
	char *from;
	char **to;
	size_t nto;
	char *username, *password;
	long timeout;
} m;

static void
mail_free(void)
{
	free(m.url);
	free(m.host);
	free(m.port);
	free(m.pin);
	free(m.from);
	for (size_t i = 0; i < m.nto; i++)
		free(m.to[i]);
	free(m.to);
	free(m.username);
	if (m.password)
		explicit_bzero(m.password, strlen(m.password));
	free(m.password);
	memset(&m, 0, sizeof m);
}

/* a bare address "local@domain": printable ASCII, no space, angle bracket, comma or quote */
static int
address_ok(const char *a, char **err, const char *key)
{
	const char *at = strrchr(a, '@');

	if (strpbrk(a, "\r\n")) {
		*err = xasprintf("%s: an address holds a line break", key);
		return 0;
	}
	for (const char *p = a; *p; p++)
		if (*p <= ' ' || *p >= 0x7f || strchr("<>,;:()\"\\[]", *p)) {
			*err = xasprintf("%s: '%s' is not a plain address (local@domain)", key, a);
			return 0;
		}
	if (!at || at == a || !at[1]) {
		*err = xasprintf("%s: '%s' is not an address (local@domain)", key, a);
		return 0;
	}
	return 1;
}

static char *
trimmed(const char *s, size_t n)
{
	while (n > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		n--;
	}
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	return xasprintf("%.*s", (int)n, s);
}

static void
add_to(const char *s, size_t n)
{
	char *a = trimmed(s, n);

	if (!*a) {
		free(a);
		return;
	}
	m.to = xrealloc(m.to, (m.nto + 1) * sizeof *m.to);
	m.to[m.nto++] = a;
}

/* to: a list of addresses, or one string of them separated by commas */
static int
recipients(const notify_conf *c, char **err)
{
	jv v = jv_object_get(jv_copy(c->cfg), jv_string("to"));
	char *s = NULL;
	int rc = 0;

	if (jv_get_kind(v) == JV_KIND_ARRAY) {
		jv_array_foreach(v, i, a) {
			if (jv_get_kind(a) != JV_KIND_STRING) {
				*err = xasprintf("to[%d] must be a string", i);
				rc = -1;
			} else {
				add_to(jv_string_value(a), strlen(jv_string_value(a)));
			}
			jv_free(a);
		}
	} else if ((rc = notify_str(c, "to", "SMTP_TO", &s, err)) == 0 && s) {
		for (const char *p = s, *e; ; p = e + 1) {
			e = strchr(p, ',');
			add_to(p, e ? (size_t)(e - p) : strlen(p));
			if (!e)
				break;
		}
	}
	jv_free(v);
	free(s);
	if (rc == 0 && m.nto == 0) {
		*err = xstrdup("no recipient: set to in the channel's settings or SMTP_TO");
		rc = -1;
	}
	for (size_t i = 0; rc == 0 && i < m.nto; i++)
		if (!address_ok(m.to[i], err, "to"))
			rc = -1;
	return rc;
}

/* smtp_url, or smtp_host and smtp_port: the server, its scheme deciding the kind of TLS */
static int
server(const notify_conf *c, char **err)
{
	char *url = NULL, *host = NULL, *port = NULL, *scheme = NULL, *h = NULL, *p = NULL;
	CURLU *u;
	int rc = -1;

	if (notify_str(c, "smtp_url", "SMTP_URL", &url, err) < 0)
		return -1;
	if (!url) {
		if (notify_str(c, "smtp_host", "SMTP_HOST", &host, err) < 0 ||
		    notify_str(c, "smtp_port", "SMTP_PORT", &port, err) < 0)
			goto out;
		if (!host) {
			*err = xstrdup("no SMTP server: set smtp_url (or smtp_host) in the channel's "
			    "settings, or SMTP_URL (or SMTP_HOST)");
			goto out;
		}
		url = xasprintf("%s://%s%s%s:%s", port && streq(port, "465") ? "smtps" : "smtp",
		    strchr(host, ':') ? "[" : "", host, strchr(host, ':') ? "]" : "",
		    port ? port : "587");
	}
	if (!(u = curl_url()))
		die(EXIT_WORK, "out of memory");
	if (curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &h, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &p, CURLU_DEFAULT_PORT) != CURLUE_OK) {
		*err = xstrdup("smtp_url is not a URL (smtp://host:587 or smtps://host:465)");
	} else if (strcasecmp(scheme, "smtp") != 0 && strcasecmp(scheme, "smtps") != 0) {
		*err = xasprintf("smtp_url must be smtp:// (STARTTLS) or smtps:// (TLS), not %s://",
		    scheme);
	} else {
		size_t n = strlen(h);

		m.host = h[0] == '[' ? xasprintf("%.*s", (int)(n - 2), h + 1) : xstrdup(h);
		m.port = xstrdup(p);
		m.url = xasprintf("%s://%s:%s", strcasecmp(scheme, "smtps") == 0 ? "smtps" : "smtp",
		    h, p);
		rc = notify_resolve(m.host, m.port, c->allow_private, &m.pin, err);
		if (rc < 0) {
			char *t = xasprintf("smtp_url: %s", *err);

			free(*err);
			*err = t;
		}
	}
	curl_free(scheme);
	curl_free(h);
	curl_free(p);
	curl_url_cleanup(u);
out:
	free(url);
	free(host);
	free(port);
	return rc;
}

static int
check(notify_conf *c, char **err)
{
	mail_free();
	m.timeout = c->timeout;
	if (server(c, err) < 0)
		return -1;
	if (notify_str(c, "from", "SMTP_FROM", &m.from, err) < 0)
		return -1;
	if (!m.from) {
		*err = xstrdup("no sender: set from in the channel's settings or SMTP_FROM");
		return -1;
	}
	if (!address_ok(m.from, err, "from") || recipients(c, err) < 0)
		return -1;
	if (notify_str(c, "username", "SMTP_USERNAME", &m.username, err) < 0 ||
	    notify_str(c, "password", "SMTP_PASSWORD", &m.password, err) < 0)
		return -1;
	if ((m.username && strpbrk(m.username, "\r\n")) ||
	    (m.password && strpbrk(m.password, "\r\n"))) {
		*err = xstrdup("username or password holds a line break");
		return -1;
	}
	return 0;
}

/* ---- the message ---- */

typedef struct text {
	char *p;
	size_t len;
} text;

static void
put(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
put(text *t, const char *fmt, ...)
{
	va_list ap;
	char *s;
	size_t n;

	va_start(ap, fmt);
	s = xvasprintf(fmt, ap);
	va_end(ap);
	n = strlen(s);
	t->p = xrealloc(t->p, t->len + n + 1);
	memcpy(t->p + t->len, s, n + 1);
	t->len += n;
	free(s);
}

static void
plain(text *t, const notify_input *in)
{
	put(t, "%s\r\n", in->headline);
	if (strcmp(in->headline, in->summary) != 0)
		put(t, "%s\r\n", in->summary);
	if (in->note)
		put(t, "\r\n%s\r\n", in->note);
	for (size_t i = 0; i < in->n; i++) {
		const notify_item *it = &in->items[i];

		if (i == 0 || it->group != in->items[i - 1].group)
			put(t, "\r\n%s (%zu)\r\n", notify_group_name(it->group),
			    in->count[it->group]);
		put(t, "  - %s: %s\r\n", it->id, it->title);
		if (it->content)
			put(t, "    %s: %s\r\n", it->actor ? it->actor : "note", it->content);
		if (it->detector || it->timestamp)
			put(t, "    (%s%s%s)\r\n", it->detector ? it->detector : "",
			    it->detector && it->timestamp ? ", " : "",
			    it->timestamp ? it->timestamp : "");
	}
}

static void
html(text *t, const notify_input *in)
{
	static const char *const colors[NOTIFY_SEVS] = { "#dc3545", "#b8860b", "#17a2b8", "#6c757d" };
	char *a, *b;

	a = notify_escape_html(in->headline);
	put(t, "<!DOCTYPE html>\r\n<html><body>\r\n<h2>%s</h2>\r\n", a);
	free(a);
	if (strcmp(in->headline, in->summary) != 0) {
		a = notify_escape_html(in->summary);
		put(t, "<p>%s</p>\r\n", a);
		free(a);
	}
	if (in->note) {
		a = notify_escape_html(in->note);
		put(t, "<p>%s</p>\r\n", a);
		free(a);
	}
	for (size_t i = 0; i < in->n; i++) {
		const notify_item *it = &in->items[i];

		if (i == 0 || it->group != in->items[i - 1].group)
			put(t, "%s<h3 style=\"color: %s\">%s (%zu)</h3>\r\n<ul>\r\n", i ? "</ul>\r\n" : "",
			    colors[it->group], notify_group_name(it->group), in->count[it->group]);
		a = notify_escape_html(it->id);
		b = notify_escape_html(it->title);
		put(t, "<li><code>%s</code> %s", a, b);
		free(a);
		free(b);
		if (it->content) {
			a = notify_escape_html(it->actor ? it->actor : "note");
			b = notify_escape_html(it->content);
			put(t, "<br><em>%s: %s</em>", a, b);
			free(a);
			free(b);
		}
		put(t, "</li>\r\n");
	}
	put(t, "%s</body></html>\r\n", in->n ? "</ul>\r\n" : "");
}

/* base64 in lines of 76: no line too long for SMTP, whatever the text holds */
static void
base64(text *out, const text *in)
{
	for (size_t i = 0; i < in->len; i += 57) {
		unsigned char line[80];
		size_t n = in->len - i < 57 ? in->len - i : 57;

		EVP_EncodeBlock(line, (const unsigned char *)in->p + i, (int)n);
		put(out, "%s\r\n", line);
	}
}

static char *
hex_random(size_t bytes)
{
	unsigned char r[32];
	char *s = xmalloc(2 * bytes + 1);

	if (bytes > sizeof r || RAND_bytes(r, (int)bytes) != 1)
		die(EXIT_WORK, "no random bytes");
	for (size_t i = 0; i < bytes; i++)
		snprintf(s + 2 * i, 3, "%02x", r[i]);
	return s;
}

/* the whole message; every header value is ours or an address checked for line breaks */
static char *
message(const notify_input *in)
{
	text msg = { 0 }, part = { 0 };
	char date[64], *boundary = hex_random(12), *id = hex_random(16);
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
	put(&msg, "Date: %s\r\nFrom: mallcop <%s>\r\nTo: ", date, m.from);
	for (size_t i = 0; i < m.nto; i++)
		put(&msg, "%s%s", i ? ",\r\n " : "", m.to[i]);
	put(&msg, "\r\nSubject: %s\r\nMessage-ID: <%s@%s>\r\n", in->summary, id,
	    strrchr(m.from, '@') + 1);
	put(&msg, "MIME-Version: 1.0\r\nAuto-Submitted: auto-generated\r\n"
	    "Content-Type: multipart/alternative; boundary=\"=_mallcop_%s\"\r\n\r\n", boundary);
	put(&msg, "--=_mallcop_%s\r\nContent-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\n", boundary);
	plain(&part, in);
	base64(&msg, &part);
	free(part.p);
	part = (text){ 0 };
	put(&msg, "--=_mallcop_%s\r\nContent-Type: text/html; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\n", boundary);
	html(&part, in);
	base64(&msg, &part);
	free(part.p);
	put(&msg, "--=_mallcop_%s--\r\n", boundary);
	free(boundary);
	free(id);
	return msg.p;
}

/* ---- sending ---- */

typedef struct upload {
	const char *p;
	size_t left;
	char reply[REPLY_MAX];	/* the server's last 4xx/5xx reply */
} upload;

static size_t
on_read(char *buf, size_t size, size_t n, void *arg)
{
	upload *u = arg;
	size_t k = size * n < u->left ? size * n : u->left;

	memcpy(buf, u->p, k);
	u->p += k;
	u->left -= k;
	return k;
}

/* the server's words: only its replies (never what we sent, which holds AUTH) */
static int
on_debug(CURL *h, curl_infotype type, char *data, size_t n, void *arg)
{
	upload *u = arg;

	(void)h;
	if (type == CURLINFO_HEADER_IN && n >= 3 && (data[0] == '4' || data[0] == '5') &&
	    isdigit((unsigned char)data[1])) {
		while (n > 0 && (data[n - 1] == '\r' || data[n - 1] == '\n'))
			n--;
		snprintf(u->reply, sizeof u->reply, "%.*s", (int)n, data);
	}
	return 0;
}

/* every occurrence of secret in msg as "***" */
static void
scrub(char *msg, const char *secret)
{
	size_t n = secret ? strlen(secret) : 0;
	char *p;

	if (n == 0)
		return;
	while ((p = strstr(msg, secret)) != NULL) {
		memcpy(p, "***", n < 3 ? n : 3);
		memmove(p + (n < 3 ? n : 3), p + n, strlen(p + n) + 1);
	}
}

/* one try; CURLE_OK when the server accepted the message; *reply the server's refusal */
static CURLcode
try_send(const char *msg, char *errbuf, upload *u)
{
	CURL *h = curl_easy_init();
	struct curl_slist *rcpt = NULL, *pin = NULL, *t;
	const char *ca = getenv("CURL_CA_BUNDLE");
	char *from = xasprintf("<%s>", m.from);
	CURLcode rc;

	if (!h)
		return CURLE_OUT_OF_MEMORY;
	if (!ca || !*ca)
		ca = getenv("SSL_CERT_FILE");
	for (size_t i = 0; i < m.nto; i++) {
		char *a = xasprintf("<%s>", m.to[i]);

		if (!(t = curl_slist_append(rcpt, a)))
			die(EXIT_WORK, "out of memory");
		rcpt = t;
		free(a);
	}
	if (m.pin && !(pin = curl_slist_append(NULL, m.pin)))
		die(EXIT_WORK, "out of memory");
	u->p = msg;
	u->left = strlen(msg);
	u->reply[0] = '\0';
	errbuf[0] = '\0';
	curl_easy_setopt(h, CURLOPT_URL, m.url);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
#else
	curl_easy_setopt(h, CURLOPT_PROTOCOLS, (long)(CURLPROTO_SMTP | CURLPROTO_SMTPS));
#endif
	curl_easy_setopt(h, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);	/* STARTTLS or fail */
	if (ca && *ca)
		curl_easy_setopt(h, CURLOPT_CAINFO, ca);
	if (pin) {
		curl_easy_setopt(h, CURLOPT_RESOLVE, pin);
		curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
	}
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, m.timeout);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(h, CURLOPT_MAIL_FROM, from);
	curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt);
	if (m.username && m.password) {
		curl_easy_setopt(h, CURLOPT_USERNAME, m.username);
		curl_easy_setopt(h, CURLOPT_PASSWORD, m.password);
	}
	curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
	curl_easy_setopt(h, CURLOPT_READDATA, u);
	curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)u->left);
	curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, on_debug);
	curl_easy_setopt(h, CURLOPT_DEBUGDATA, u);
	curl_easy_setopt(h, CURLOPT_VERBOSE, 1L);	/* to on_debug, not stderr */
	rc = curl_easy_perform(h);
	curl_easy_cleanup(h);
	curl_slist_free_all(rcpt);
	curl_slist_free_all(pin);
	free(from);
	return rc;
}

/* worth another try: the connection failed, or the server said "try again later" (4xx) */
static int
transient(CURLcode rc, const upload *u)
{
	if (u->reply[0] == '4')
		return 1;
	if (u->reply[0] == '5')
		return 0;
	return rc == CURLE_COULDNT_CONNECT || rc == CURLE_OPERATION_TIMEDOUT ||
	    rc == CURLE_GOT_NOTHING || rc == CURLE_SEND_ERROR || rc == CURLE_RECV_ERROR;
}

static int
send_mail(notify_conf *c, const notify_input *in, char **err)
{
	char *msg = message(in), errbuf[CURL_ERROR_SIZE], *reply = NULL;
	upload u;
	CURLcode rc;
	int tries = 0;

	(void)c;
	for (;;) {
		rc = try_send(msg, errbuf, &u);
		tries++;
		if (rc == CURLE_OK || !transient(rc, &u) || tries >= TRIES)
			break;
		http_nap(2000L << (tries - 1));
	}
	free(msg);
	if (rc != CURLE_OK) {
		reply = u.reply[0] ? human_safe(u.reply) : NULL;
		*err = xasprintf("email: SMTP %s:%s: %s%s%s%s", m.host, m.port,
		    reply ? reply : "", reply ? " (" : "", *errbuf ? errbuf : curl_easy_strerror(rc),
		    reply ? ")" : "");
		if (tries > 1) {
			char *t = xasprintf("%s, after %d tries", *err, tries);

			free(*err);
			*err = t;
		}
		scrub(*err, m.password);
		free(reply);
	}
	mail_free();
	return rc == CURLE_OK ? 0 : -1;
}

static const notify_channel email = {
	.name = "email",
	.usage = "usage: mallcop-notify-email [--check] < FINDINGS",
	.check = check,
	.send = send_mail,
};

int
main(int argc, char **argv)
{
	int rc = notify_main(argc, argv, &email);

	mail_free();
	return rc;
}
