/* mallcop-notify-slack: findings to a Slack channel, through an incoming webhook (Block Kit) */
#include <stdlib.h>
#include <string.h>

#include "notify.h"
#include "util.h"

/* Slack's limits: 50 blocks, 150 characters of header, 3000 of section text */
enum { BLOCKS_MAX = 50, HEADER_MAX = 150, SECTION_MAX = 3000 };

static const char *const marks[NOTIFY_SEVS] = {
	"\xf0\x9f\x94\xb4", "\xf0\x9f\x9f\xa1", "\xf0\x9f\x94\xb5", "\xe2\x9a\xaa" };

static jv
mrkdwn(const char *text)
{
	return jv_object_set(jv_object_set(jv_object(), jv_string("type"), jv_string("section")),
	    jv_string("text"), jv_object_set(jv_object_set(jv_object(), jv_string("type"),
	    jv_string("mrkdwn")), jv_string("text"), jv_string(text)));
}

static jv
block(const char *type)
{
	return jv_object_set(jv_object(), jv_string("type"), jv_string(type));
}

/* "• `id` title" and, when annotated, "\n    _actor: content_"; all escaped */
static char *
line(const notify_item *it)
{
	char *id = notify_escape_slack(it->id), *title = notify_escape_slack(it->title), *s;

	for (char *p = id; *p; p++)	/* a backtick would end the code span */
		if (*p == '`')
			*p = '\'';
	if (it->content) {
		char *who = notify_escape_slack(it->actor ? it->actor : "note");
		char *what = notify_escape_slack(it->content);

		s = xasprintf("\xe2\x80\xa2 `%s` %s\n    _%s: %s_", id, title, who, what);
		free(who);
		free(what);
	} else {
		s = xasprintf("\xe2\x80\xa2 `%s` %s", id, title);
	}
	free(id);
	free(title);
	return s;
}

static char *
payload(const notify_input *in)
{
	jv blocks = jv_array(), msg;
	char *head = notify_clean(in->headline, HEADER_MAX), *text, *s;
	size_t i = 0, shown = 0;

	blocks = jv_array_append(blocks, jv_object_set(block("header"), jv_string("text"),
	    jv_object_set(jv_object_set(jv_object(), jv_string("type"), jv_string("plain_text")),
	    jv_string("text"), jv_string(head))));
	if (in->note) {
		s = notify_escape_slack(in->note);
		blocks = jv_array_append(blocks, mrkdwn(s));
		free(s);
	}
	for (int g = 0; g < NOTIFY_SEVS; g++) {
		if (!in->count[g])
			continue;
		if (jv_array_length(jv_copy(blocks)) + 4 > BLOCKS_MAX)
			break;
		blocks = jv_array_append(blocks, block("divider"));
		s = xasprintf("%s *%s* (%zu)", marks[g], notify_group_name(g), in->count[g]);
		blocks = jv_array_append(blocks, mrkdwn(s));
		free(s);
		/* the group's findings, packed into sections of at most SECTION_MAX */
		text = xstrdup("");
		for (; i < in->n && in->items[i].group == g; i++) {
			char *l = line(&in->items[i]);

			if (*text && strlen(text) + 1 + strlen(l) > SECTION_MAX) {
				/* room for this section and the "more not shown" note */
				if (jv_array_length(jv_copy(blocks)) + 3 > BLOCKS_MAX) {
					free(l);
					break;
				}
				blocks = jv_array_append(blocks, mrkdwn(text));
				free(text);
				text = xstrdup("");
			}
			s = xasprintf("%s%s%s", text, *text ? "\n" : "", l);
			free(text);
			free(l);
			text = s;
			shown++;
		}
		if (*text)
			blocks = jv_array_append(blocks, mrkdwn(text));
		free(text);
		while (i < in->n && in->items[i].group == g)
			i++;
	}
	if (shown < in->n) {
		s = xasprintf("\xe2\x80\xa6 and %zu more not shown", in->n - shown);
		blocks = jv_array_append(blocks, jv_object_set(block("context"),
		    jv_string("elements"), jv_array_append(jv_array(), jv_object_set(jv_object_set(
		    jv_object(), jv_string("type"), jv_string("mrkdwn")), jv_string("text"),
		    jv_string(s)))));
		free(s);
	}
	s = notify_escape_slack(in->summary);	/* the notification's text */
	msg = jv_object_set(jv_object_set(jv_object(), jv_string("text"), jv_string(s)),
	    jv_string("blocks"), blocks);
	free(s);
	free(head);
	return notify_dump(msg);
}

static const notify_channel slack = {
	.name = "slack",
	.usage = "usage: mallcop-notify-slack [--check] < FINDINGS",
	.url_key = "webhook_url",
	.url_env = "SLACK_WEBHOOK_URL",
	.payload = payload,
};

int
main(int argc, char **argv)
{
	return notify_main(argc, argv, &slack);
}
