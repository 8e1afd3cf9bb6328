#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "human.h"
#include "jsonl.h"
#include "util.h"

/* length of the valid UTF-8 sequence at p (of left bytes) and its code point, or 0 */
static size_t
utf8(const unsigned char *p, size_t left, uint32_t *cp)
{
	size_t n;
	uint32_t c;

	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	if ((p[0] & 0xe0) == 0xc0)
		n = 2, c = p[0] & 0x1f;
	else if ((p[0] & 0xf0) == 0xe0)
		n = 3, c = p[0] & 0x0f;
	else if ((p[0] & 0xf8) == 0xf0)
		n = 4, c = p[0] & 0x07;
	else
		return 0;
	if (n > left)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (p[i] & 0x3f);
	}
	if ((n == 2 && c < 0x80) || (n == 3 && c < 0x800) || (n == 4 && c < 0x10000) ||
	    c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

static int
unsafe(uint32_t c)
{
	return c < 0x20 || c == 0x7f || (c >= 0x80 && c <= 0x9f) ||
	    (c >= 0x200b && c <= 0x200f) || (c >= 0x202a && c <= 0x202e) ||
	    (c >= 0x2066 && c <= 0x2069) || c == 0xfeff;
}

void
human_putn(FILE *f, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;

	while (p < end) {
		uint32_t c;
		size_t n = utf8(p, (size_t)(end - p), &c);

		if (n == 0) {
			fprintf(f, "\\x%02x", *p++);
			continue;
		}
		if (c == '\\') {	/* so that "\\n" in data cannot pass for an escaped newline */
			fputs("\\\\", f);
		} else if (!unsafe(c)) {
			fwrite(p, 1, n, f);
		} else if (c == '\n') {
			fputs("\\n", f);
		} else if (c == '\t') {
			fputs("\\t", f);
		} else if (c == '\r') {
			fputs("\\r", f);
		} else if (c == 0x1b) {
			fputs("\\e", f);
		} else if (c > 0 && c < 0x100) {
			fprintf(f, "\\x%02x", (unsigned)c);
		} else {
			fprintf(f, "\\u%04x", (unsigned)c);
		}
		p += n;
	}
}

void
human_put(FILE *f, const char *s)
{
	human_putn(f, s, strlen(s));
}

void
human_field(FILE *f, jv o, const char *key, const char *dflt)
{
	jv v = jv_get_kind(o) == JV_KIND_OBJECT ? jv_object_get(jv_copy(o), jv_string(key))
	    : jv_invalid();

	if (jv_get_kind(v) == JV_KIND_STRING && (jv_string_length_bytes(jv_copy(v)) || !dflt))
		human_putn(f, jv_string_value(v), (size_t)jv_string_length_bytes(jv_copy(v)));
	else if (dflt)
		human_put(f, dflt);
	jv_free(v);
}

static FILE *
mem(char **buf, size_t *len)
{
	FILE *f = open_memstream(buf, len);

	if (!f)
		die(EXIT_WORK, "out of memory");
	return f;
}

char *
human_safe(const char *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = mem(&buf, &len);

	human_put(f, s);
	fclose(f);
	return buf;
}

char *
human_safe_field(jv o, const char *key, const char *dflt)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = mem(&buf, &len);

	human_field(f, o, key, dflt);
	fclose(f);
	return buf;
}

char *
human_strip(const char *s, size_t len, size_t max, size_t *outlen, int *cut)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;
	char *out = xmalloc((len < max ? len : max) + 1);
	size_t o = 0;

	*cut = 0;
	while (p < end) {
		uint32_t c;
		size_t n = utf8(p, (size_t)(end - p), &c);

		if (n == 0) {
			p++;
			continue;
		}
		if (!unsafe(c) || c == '\n' || c == '\t') {
			if (o + n > max) {
				*cut = 1;
				break;
			}
			memcpy(out + o, p, n);
			o += n;
		}
		p += n;
	}
	out[o] = 0;
	*outlen = o;
	return out;
}

void
human_skills(FILE *f, jv sk)
{
	jv refused = jsonl_get(jv_copy(sk), "refused");

	if (jv_get_kind(sk) != JV_KIND_OBJECT) {
		jv_free(refused);
		return;
	}
	if (event_field(sk, "error")) {
		fputs("  skills: cannot be checked: ", f);
		human_field(f, sk, "error", "");
		fputc('\n', f);
	} else {
		fprintf(f, "  skills: %d loadable, %d refused\n",
		    (int)jsonl_number(jsonl_get(jv_copy(sk), "loadable"), 0),
		    jv_get_kind(refused) == JV_KIND_ARRAY ? jv_array_length(jv_copy(refused)) : 0);
	}
	if (jv_get_kind(refused) == JV_KIND_ARRAY)
		jv_array_foreach(refused, i, s) {
			(void)i;
			fputs("    refused ", f);
			human_field(f, s, "name", "?");
			fputs(" (", f);
			human_field(f, s, "source", "?");
			fputs("): ", f);
			human_field(f, s, "status", "?");
			fputs(": ", f);
			human_field(f, s, "reason", "");
			fputc('\n', f);
			jv_free(s);
		}
	jv_free(refused);
}
