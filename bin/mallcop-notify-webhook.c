/* mallcop-notify-webhook: findings as JSON to any HTTPS endpoint, signed with HMAC-SHA256 */
#include <stdlib.h>

#include "notify.h"
#include "util.h"

/* a receiver can only trust what is signed: unsigned delivery must be asked for */
static int
check(notify_conf *c, char **err)
{
	int unsigned_ok;

	if (notify_str(c, "secret", "MALLCOP_WEBHOOK_SECRET", &c->secret, err) < 0 ||
	    notify_bool(c, "unsigned", 0, &unsigned_ok, err) < 0)
		return -1;
	if (!c->secret && !unsigned_ok) {
		*err = xstrdup("no secret: set secret in the channel's settings or "
		    "MALLCOP_WEBHOOK_SECRET (or unsigned: true to send without a signature)");
		return -1;
	}
	return 0;
}

static char *
payload(const notify_input *in)
{
	return notify_dump(jv_copy(in->body));
}

static const notify_channel webhook = {
	.name = "webhook",
	.usage = "usage: mallcop-notify-webhook [--check] < FINDINGS",
	.url_key = "url",
	.url_env = "MALLCOP_WEBHOOK_URL",
	.check = check,
	.payload = payload,
};

int
main(int argc, char **argv)
{
	return notify_main(argc, argv, &webhook);
}
