/* notify: cleaning and escaping text, classifying addresses, signing, reading the input */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "notify.h"
#include "t.h"

static void
t_clean(void)
{
	char *s;

	s = notify_clean("[USER_DATA_BEGIN]root login[USER_DATA_END]", 100);
	is_str(s, "root login", "the earlier implementation's markers are removed");
	free(s);
	s = notify_clean("a\x1b[31mred\x1b[0m b\x1b]0;title\x07 c\xc2\x9b" "2Jd", 100);
	is_str(s, "ared b cd", "CSI, OSC and C1 CSI sequences are removed whole");
	free(s);
	s = notify_clean("  one\r\ntwo\t\tthree\x01\x7f ", 100);
	is_str(s, "one two three", "line breaks and tabs become one space, other controls go");
	free(s);
	s = notify_clean("safe\xe2\x80\xaetxt.exe", 100);
	is_str(s, "safetxt.exe", "a bidirectional override is removed");
	free(s);
	s = notify_clean("abcdefghij", 8);
	is_str(s, "abcde\xe2\x80\xa6", "long text is capped with an ellipsis within the limit");
	free(s);
	s = notify_clean("ab\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9", 8);
	is_str(s, "ab\xc3\xa9\xe2\x80\xa6", "never cut inside a character");
	free(s);
}

static void
t_escape(void)
{
	char *s;

	s = notify_escape_slack("<!channel> a&b <https://x|y>");
	is_str(s, "&lt;!channel&gt; a&amp;b &lt;https://x|y&gt;", "Slack: & < > as entities");
	free(s);
	s = notify_escape_markdown("[click](https://e) *b* _i_ `c` <x> \\");
	is_str(s, "\\[click\\](https://e) \\*b\\* \\_i\\_ \\`c\\` \\<x\\> \\\\",
	    "markdown: link, emphasis, code, angle brackets, backslash escaped");
	free(s);
	s = notify_escape_html("<script>\"a\" & 'b'</script>");
	is_str(s, "&lt;script&gt;&quot;a&quot; &amp; &#39;b&#39;&lt;/script&gt;",
	    "HTML: & < > \" ' as entities");
	free(s);
}

static void
t_private(void)
{
	static const struct {
		const char *ip, *why;
	} cases[] = {
		{"127.0.0.1", "loopback"}, {"127.255.0.9", "loopback"}, {"10.1.2.3", "private"},
		{"172.16.0.1", "private"}, {"172.31.255.255", "private"}, {"172.32.0.1", NULL},
		{"192.168.1.1", "private"}, {"169.254.169.254", "link-local"},
		{"100.64.0.1", "shared (carrier-grade NAT)"}, {"100.128.0.1", NULL},
		{"0.0.0.0", "unspecified"}, {"224.0.0.1", "multicast"}, {"8.8.8.8", NULL},
		{"::1", "loopback"}, {"::", "unspecified"}, {"fc00::1", "unique-local"},
		{"fd12:3456::1", "unique-local"}, {"fe80::1", "link-local"},
		{"::ffff:10.0.0.1", "private"}, {"::ffff:8.8.8.8", NULL},
		{"64:ff9b::7f00:1", "loopback"}, {"2002:c0a8:101::1", "private"},
		{"2606:4700::1111", NULL}, {"ff02::1", "multicast"}, {"nonsense", "not an address"},
	};

	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		const char *got = notify_private_reason(cases[i].ip);

		if (cases[i].why)
			is_str(got, cases[i].why, "%s is %s", cases[i].ip, cases[i].why);
		else
			ok(got == NULL, "%s is public", cases[i].ip);
	}
}

static void
t_resolve(void)
{
	char *pin, *err;

	ok(notify_resolve("localhost", "443", 0, &pin, &err) == -1 && err &&
	    strstr(err, "loopback"), "localhost is refused: %s", err ? err : "");
	free(err);
	ok(notify_resolve("localhost", "8443", 1, &pin, &err) == 0 && pin &&
	    strncmp(pin, "localhost:8443:", 15) == 0, "allowed, it is pinned: %s",
	    pin ? pin : "");
	free(pin);
	ok(notify_resolve("127.0.0.1", "443", 1, &pin, &err) == 0 && pin == NULL,
	    "an IP literal needs no pin");
}

static void
t_signature(void)
{
	char *s = notify_signature("key", "1700000000", "{\"a\":1}");

	/* printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac key */
	is_str(s, "sha256=a438e398bfafc57e4396bb7fc2304422f0f768e965d073ca313cb52e22e6ad03",
	    "HMAC-SHA256 over \"timestamp.body\"");
	free(s);
}

static void
t_input(void)
{
	notify_input in;
	char *err;
	const char *one = "{\"id\":\"x\",\"severity\":\"warn\"}";
	const char *empty = "{\"kind\":\"digest\",\"findings\":[]}";
	const char *bad = "{\"id\":\"a\"}\n{oops\n";
	const char *lines =
	    "{\"id\":\"a\",\"title\":\"info one\",\"severity\":\"info\"}\n"
	    "\n"
	    "{\"id\":\"b\",\"title\":\"crit\",\"severity\":\"critical\",\"annotations\":"
	    "[{\"actor\":\"x\",\"content\":\"old\"},{\"actor\":\"triage\",\"content\":\"new\"}]}\n";

	ok(notify_parse(lines, strlen(lines), &in, &err) == 0 && in.n == 2,
	    "JSON Lines: two findings");
	is_str(in.items[0].id, "b", "critical first");
	is_str(in.items[0].content, "new", "the last annotation");
	is_str(in.summary, "mallcop: 2 findings (1 critical, 1 info)", "the summary");
	is_str(in.headline, in.summary, "without a digest title the headline is the summary");
	ok(jv_equal(jv_object_get(jv_copy(in.body), jv_string("kind")), jv_string("digest")),
	    "posted as a digest");
	notify_input_free(&in);

	ok(notify_parse(one, strlen(one), &in, &err) == 0 &&
	    in.n == 1, "one finding");
	is_str(in.summary, "mallcop: 1 finding (warn)", "one finding, one severity");
	is_str(in.items[0].title, "(no title)", "a finding without a title still shows");
	ok(jv_equal(jv_object_get(jv_copy(in.body), jv_string("kind")), jv_string("finding")),
	    "posted as a finding");
	notify_input_free(&in);

	ok(notify_parse(empty, strlen(empty), &in, &err) == 1,
	    "an empty digest: nothing to send");
	notify_input_free(&in);

	ok(notify_parse(bad, strlen(bad), &in, &err) == -1 && err &&
	    strstr(err, "stdin line 2: malformed JSON"), "a malformed line is named: %s",
	    err ? err : "");
	free(err);
	notify_input_free(&in);
}

int
main(void)
{
	t_clean();
	t_escape();
	t_private();
	t_resolve();
	t_signature();
	t_input();
	return t_done();
}
