/* mallcop-notify-teams: findings to a Microsoft Teams channel, through a workflow webhook */
#include <stdlib.h>
#include <string.h>

#include "notify.h"
#include "util.h"

/* a card past about 28 KB is refused: a long digest shows its first findings */
enum { FACTS_MAX = 50 };

/* Adaptive Card colours of the group headings */
static const char *const colors[NOTIFY_SEVS] = { "Attention", "Warning", "Accent", "Default" };

static jv
textblock(const char *text, const char *size, const char *weight, const char *color)
{
	char *esc = notify_escape_markdown(text);
	jv b = jv_object_set(jv_object_set(jv_object_set(jv_object(), jv_string("type"),
	    jv_string("TextBlock")), jv_string("text"), jv_string(esc)), jv_string("wrap"),
	    jv_true());

	free(esc);
	if (size)
		b = jv_object_set(b, jv_string("size"), jv_string(size));
	if (weight)
		b = jv_object_set(b, jv_string("weight"), jv_string(weight));
	if (color)
		b = jv_object_set(b, jv_string("color"), jv_string(color));
	return b;
}

/* {"title": id, "value": "title — actor: content"}, escaped */
static jv
fact(const notify_item *it)
{
	char *id = notify_escape_markdown(it->id), *value, *raw;

	raw = it->content ? xasprintf("%s \xe2\x80\x94 %s: %s", it->title,
	    it->actor ? it->actor : "note", it->content) : xstrdup(it->title);
	value = notify_escape_markdown(raw);
	jv f = jv_object_set(jv_object_set(jv_object(), jv_string("title"), jv_string(id)),
	    jv_string("value"), jv_string(value));
	free(raw);
	free(id);
	free(value);
	return f;
}

static char *
payload(const notify_input *in)
{
	jv body = jv_array(), card, msg;
	size_t i = 0, shown = 0;
	char *s;

	body = jv_array_append(body, textblock(in->headline, "Large", "Bolder", NULL));
	if (in->headline != in->summary && strcmp(in->headline, in->summary) != 0)
		body = jv_array_append(body, textblock(in->summary, NULL, NULL, NULL));
	if (in->note)
		body = jv_array_append(body, textblock(in->note, NULL, NULL, NULL));
	for (int g = 0; g < NOTIFY_SEVS; g++) {
		jv facts;

		if (!in->count[g])
			continue;
		facts = jv_array();
		s = xasprintf("%s (%zu)", notify_group_name(g), in->count[g]);
		body = jv_array_append(body, textblock(s, "Medium", "Bolder", colors[g]));
		free(s);
		for (; i < in->n && in->items[i].group == g; i++)
			if (shown < FACTS_MAX) {
				facts = jv_array_append(facts, fact(&in->items[i]));
				shown++;
			}
		body = jv_array_append(body, jv_object_set(jv_object_set(jv_object(),
		    jv_string("type"), jv_string("FactSet")), jv_string("facts"), facts));
	}
	if (shown < in->n) {
		s = xasprintf("\xe2\x80\xa6 and %zu more not shown", in->n - shown);
		body = jv_array_append(body, textblock(s, NULL, NULL, NULL));
		free(s);
	}
	card = jv_object_set(jv_object(), jv_string("$schema"),
	    jv_string("http://adaptivecards.io/schemas/adaptive-card.json"));
	card = jv_object_set(card, jv_string("type"), jv_string("AdaptiveCard"));
	card = jv_object_set(card, jv_string("version"), jv_string("1.4"));
	card = jv_object_set(card, jv_string("body"), body);
	card = jv_object_set(card, jv_string("msteams"), jv_object_set(jv_object(),
	    jv_string("width"), jv_string("Full")));
	msg = jv_object_set(jv_object(), jv_string("type"), jv_string("message"));
	msg = jv_object_set(msg, jv_string("summary"), jv_string(in->summary));
	msg = jv_object_set(msg, jv_string("attachments"), jv_array_append(jv_array(),
	    jv_object_set(jv_object_set(jv_object_set(jv_object(), jv_string("contentType"),
	    jv_string("application/vnd.microsoft.card.adaptive")), jv_string("contentUrl"),
	    jv_null()), jv_string("content"), card)));
	return notify_dump(msg);
}

static const notify_channel teams = {
	.name = "teams",
	.usage = "usage: mallcop-notify-teams [--check] < FINDINGS",
	.url_key = "webhook_url",
	.url_env = "TEAMS_WEBHOOK_URL",
	.payload = payload,
};

int
main(int argc, char **argv)
{
	return notify_main(argc, argv, &teams);
}
