/* notify: the notifiers' common part: input, settings, text, delivery (mallcop-notify-slack.1) */
#ifndef MALLCOP_NOTIFY_H
#define MALLCOP_NOTIFY_H
#include <stddef.h>
#include <stdio.h>
#include <jv.h>

/* severity groups, in the order messages show them */
enum { NOTIFY_CRITICAL, NOTIFY_WARN, NOTIFY_INFO, NOTIFY_OTHER, NOTIFY_SEVS };
/* the most input a notifier reads, in bytes */
enum { NOTIFY_INPUT_MAX = 64 << 20 };
/* the most of one finding's text a message carries, in bytes */
enum { NOTIFY_TITLE_MAX = 200, NOTIFY_TEXT_MAX = 300, NOTIFY_WORD_MAX = 80 };

/* one finding, its text cleaned (notify_clean) for a message; escaping is the format's */
typedef struct notify_item {
	char *id, *title, *severity, *detector, *timestamp;
	char *actor, *content;	/* the last annotation's, or NULL */
	int group;		/* NOTIFY_CRITICAL... */
} notify_item;

typedef struct notify_input {
	jv body;		/* what mallcop-notify-webhook posts: {"kind":"finding","finding":F}
				 * for one finding, else a digest {"kind":"digest",...} */
	notify_item *items;	/* critical first, then warn, info, others; input order within */
	size_t n;
	size_t count[NOTIFY_SEVS];
	char *summary;		/* "mallcop: 3 findings (1 critical, 2 warn)" */
	char *headline;		/* the digest's title when it has one, else the summary */
	char *note;		/* the digest's note, or NULL */
} notify_input;

/* a channel's settings: MALLCOP_NOTIFY_CONFIG, each key falling back to its variable */
typedef struct notify_conf {
	const char *channel;	/* "slack": the start of every message */
	jv cfg;			/* the settings object */
	int allow_private;	/* private and loopback addresses allowed (link-local never) */
	long timeout;		/* seconds per request, default 30 */
	char *url;		/* HTTP channels: the webhook URL (a secret) */
	char *host, *port;	/* its host (no brackets) and port */
	char *pin;		/* "HOST:PORT:ADDR,...": the checked addresses, NULL for an IP literal */
	char *secret;		/* the HMAC key signing every POST, or NULL */
} notify_conf;

typedef struct notify_channel {
	const char *name;	/* "slack" */
	const char *usage;
	const char *url_key;	/* HTTP channels: the URL's setting and variable; NULL for others */
	const char *url_env;
	int (*check)(notify_conf *c, char **err);	/* more settings (or NULL): 0, or -1 and *err */
	char *(*payload)(const notify_input *in);	/* HTTP channels: the JSON to POST */
	int (*send)(notify_conf *c, const notify_input *in, char **err);	/* the others */
} notify_channel;

/*
 * The whole program: `--check` validates the settings and sends nothing; otherwise the input
 * on stdin is read, the settings checked, the message delivered. Exit 0 delivered (or nothing
 * to send), 1 failed, 2 usage error.
 */
int notify_main(int argc, char **argv, const notify_channel *ch);

/*
 * The input: one finding, a digest {"kind":"digest","title","note","findings"}, a JSON array of
 * findings, or JSON Lines of findings (a digest of them). 0 read; 1 nothing to send; -1 with
 * *err naming the line or the finding.
 */
int notify_parse(const char *text, size_t len, notify_input *in, char **err);
int notify_read(FILE *f, notify_input *in, char **err);
void notify_input_free(notify_input *in);
/* "CRITICAL", "WARN", "INFO", "OTHER" */
const char *notify_group_name(int group);

/* the settings of channel from MALLCOP_NOTIFY_CONFIG; -1 and *err when they are not an object */
int notify_conf_init(notify_conf *c, const char *channel, char **err);
void notify_conf_free(notify_conf *c);
/*
 * A string setting: cfg[key] (a number is taken as its text), else the variable env (may be
 * NULL), else *out = NULL. -1 and *err when cfg[key] is of another type. malloc'd.
 */
int notify_str(const notify_conf *c, const char *key, const char *env, char **out, char **err);
/* a boolean setting, dflt when absent; -1 and *err when it is not a boolean */
int notify_bool(const notify_conf *c, const char *key, int dflt, int *out, char **err);

/* what makes an address unfit for a webhook: http_addr_kind */
const char *notify_private_reason(const char *ip);
/*
 * Resolve host and check every address (http_resolve, the guard of every request); *pin the
 * "HOST:PORT:ADDR,..." entry for CURLOPT_RESOLVE (NULL for an IP literal). -1 and *err naming
 * the host and the address.
 */
int notify_resolve(const char *host, const char *port, int allow_private, char **pin,
    char **err);
/* the URL setting of an HTTP channel: present, https, resolved and checked, pinned */
int notify_url(notify_conf *c, const char *key, const char *env, char **err);

/* text from outside: markers and control sequences removed, whitespace one space, at most max
 * bytes (cut on a character, ending in "…") */
char *notify_clean(const char *s, size_t max);
char *notify_escape_slack(const char *s);	/* & < > as entities */
char *notify_escape_markdown(const char *s);	/* markdown punctuation backslash-escaped */
char *notify_escape_html(const char *s);	/* & < > " ' as entities */

/* v (consumed) as compact JSON text, malloc'd */
char *notify_dump(jv v);
/* "sha256=" and the hex HMAC-SHA256 with secret over "TIMESTAMP.BODY" */
char *notify_signature(const char *secret, const char *timestamp, const char *body);
/* POST body to c->url (pinned, retried on 429/5xx, never redirected, signed when c->secret) */
int notify_post(const notify_conf *c, const char *body, char **err);
#endif
