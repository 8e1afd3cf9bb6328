/* human: outside text made safe for a terminal */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "human.h"
#include "t.h"

#define is_safe(in, want, ...) do { \
	char *s_ = human_safe(in); \
	is_str(s_, want, __VA_ARGS__); \
	free(s_); \
} while (0)

/* 1 when s has no byte that a terminal acts on: C0, DEL, or the UTF-8 of C1 and bidi controls */
static int
inert(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	for (; *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			return 0;
		if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
			return 0;
		if (*p == 0xe2 && p[1] == 0x80 && p[2] >= 0xaa && p[2] <= 0xae)
			return 0;
		if (*p >= 0x80 && *p <= 0xbf && (p == (const unsigned char *)s ||
		    p[-1] < 0x80))
			return 0;	/* a lone continuation byte */
	}
	return 1;
}

int
main(void)
{
	static const char *hostile[] = {
		"\x1b]0;owned\x07", "\x1b[2J\x1b[H", "a\rb", "\xc2\x9b" "31m", "\xe2\x80\xae" "gpj.exe",
		"\xff\xfe", "\xc0\xaf", "\xed\xa0\x80", "\xe2\x80", "\x9b", "x\x7fy", NULL,
	};

	setvbuf(stdout, NULL, _IOLBF, 0);	/* TAP lines survive a sanitizer exit */
	is_safe("plain text", "plain text", "plain ASCII is kept");
	is_safe("café ☕ 日本 \xf0\x9f\x94\x92", "café ☕ 日本 \xf0\x9f\x94\x92",
	    "ordinary UTF-8 (accents, CJK, emoji) is kept");
	is_safe("", "", "the empty string");
	is_safe("\x1b[31mred\x1b[0m", "\\e[31mred\\e[0m", "ESC is shown as \\e");
	is_safe("line1\nline2", "line1\\nline2", "a newline is shown as \\n");
	is_safe("a\tb", "a\\tb", "a tab is shown as \\t");
	is_safe("a\rb", "a\\rb", "a carriage return is shown as \\r");
	is_safe("bell\x07", "bell\\x07", "BEL is shown as \\x07");
	is_safe("del\x7f", "del\\x7f", "DEL is shown as \\x7f");
	is_safe("\xc2\x9b" "31m", "\\x9b31m", "C1 CSI (U+009B, UTF-8 C2 9B) is shown as \\x9b");
	is_safe("\xc2\x85", "\\x85", "C1 NEL is escaped");
	is_safe("abc\xe2\x80\xae" "txt.exe", "abc\\u202etxt.exe", "U+202E (RLO) is shown as \\u202e");
	is_safe("\xe2\x81\xa6x\xe2\x81\xa9", "\\u2066x\\u2069", "bidi isolates are escaped");
	is_safe("zero\xe2\x80\x8bwidth", "zero\\u200bwidth", "a zero-width space is escaped");
	is_safe("\xef\xbb\xbf" "bom", "\\ufeffbom", "a BOM is escaped");
	is_safe("bad \xff byte", "bad \\xff byte", "an invalid byte is shown as \\xNN");
	is_safe("\x9b" "31m", "\\x9b31m", "a raw 8-bit CSI byte is shown as \\x9b");
	is_safe("\xc3", "\\xc3", "a truncated sequence at the end");
	is_safe("\xc3(", "\\xc3(", "a lead byte followed by ASCII");
	is_safe("\xc0\xaf", "\\xc0\\xaf", "an overlong encoding is invalid");
	is_safe("\xed\xa0\x80", "\\xed\\xa0\\x80", "a UTF-16 surrogate is invalid");
	is_safe("\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80", "a code point above U+10FFFF is invalid");
	is_safe("back\\slash", "back\\\\slash", "a backslash is doubled");
	is_safe("\\e[31m", "\\\\e[31m", "a literal \\e in the data cannot pass for an escaped ESC");
	for (int i = 0; hostile[i]; i++) {
		char *s = human_safe(hostile[i]);

		ok(s && inert(s), "hostile input %d comes out inert (%s)", i, s ? s : "null");
		free(s);
	}
	{
		char *buf = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&buf, &len);

		human_put(f, "x\x1b" "y\n");
		fclose(f);
		is_str(buf, "x\\ey\\n", "human_put writes the same as human_safe");
		free(buf);
	}
	{
		/* a NUL does not end what is shown: "alice-acme\0-mallory" is not alice */
		jv e = jv_parse("{\"actor\":\"alice-acme\\u0000-mallory\",\"n\":1,\"e\":\"\"}");
		char *buf = NULL, *s;
		size_t len = 0;
		FILE *f = open_memstream(&buf, &len);

		human_putn(f, "a\0b\xc3", 4);
		fclose(f);
		is_str(buf, "a\\u0000b\\xc3", "human_putn shows a NUL as \\u0000 and goes on");
		free(buf);
		s = human_safe_field(e, "actor", NULL);
		is_str(s, "alice-acme\\u0000-mallory", "human_field shows the whole string");
		free(s);
		s = human_safe_field(e, "n", "-");
		is_str(s, "-", "human_field: a number gives the default");
		free(s);
		s = human_safe_field(e, "e", "-");
		is_str(s, "-", "human_field: an empty string gives the default");
		free(s);
		s = human_safe_field(e, "missing", NULL);
		is_str(s, "", "human_field: nothing without a default");
		free(s);
		s = human_safe_field(jv_null(), "actor", "-");
		is_str(s, "-", "human_field: not an object gives the default");
		free(s);
		jv_free(e);
	}
	return t_done();
}
