/* mallcop-init: find the sources this environment can watch and write mallcop.yaml for them */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth.h"
#include "cfg.h"
#include "cli.h"
#include "event.h"
#include "http.h"
#include "human.h"
#include "jsonl.h"
#include "plugin.h"
#include "proc.h"
#include "store.h"
#include "ts.h"
#include "util.h"

static const char usage[] =
    "usage: mallcop-init [--dir DIR] [--force] [--human] [--no-sample] [--timeout SECONDS]";

enum { SAMPLE_HOURS = 24, DEFAULT_TIMEOUT_S = 120 };

/* budget defaults, as mallcop-escalate has them (mallcop.yaml.5): a donut is 1,000 tokens */
enum { MAX_FINDINGS_FOR_ACTORS = 25, MAX_DONUTS_PER_RUN = 500, MAX_DONUTS_PER_FINDING = 50,
	DONUTS_LOW = 5, DONUTS_HIGH = 15 };

/* one source this environment may have */
typedef struct source {
	const char *name;	/* the connector, and its key in mallcop.yaml */
	jv conf;		/* what goes into mallcop.yaml: settings, ${VAR} references */
	jv missing;		/* variables to set before it can work */
	jv notes;		/* what was found, what failed */
	jv resources;		/* what it watches: regions, subscriptions, the org */
	int ready;		/* the credentials are there: sample it */
	int ok;			/* the sample came: it goes into mallcop.yaml */
	int absent;		/* nothing to set, nothing there (no OpenClaw home) */
	long sampled;		/* events in the sample */
	char **argv, **envp;
	int out, err;
	proc p;
} source;

static int
set(const char *name)
{
	const char *v = getenv(name);

	return v && *v;
}

/* the variables of names that are not set, appended to s->missing; 1 when all are set */
static int
need(source *s, const char *const *names)
{
	int all = 1;

	for (; *names; names++)
		if (!set(*names)) {
			s->missing = jv_array_append(s->missing, jv_string(*names));
			all = 0;
		}
	return all;
}

static void
note(source *s, char *text)
{
	s->notes = jv_array_append(s->notes, jv_string(text));
	free(text);
}

static jv
ref(const char *var)
{
	char *r = xasprintf("${%s}", var);
	jv v = jv_string(r);

	free(r);
	return v;
}

static jv
conf_set(jv conf, const char *key, jv val)
{
	return jv_object_set(conf, jv_string(key), val);
}

/* a non-default API endpoint from the environment becomes the connector's base URL */
static jv
endpoint(jv conf, const char *key, const char *var, const char *dflt)
{
	const char *v = getenv(var);

	if (v && *v && (!dflt || !streq(v, dflt)))
		conf = conf_set(conf, key, jv_string(v));
	return conf;
}

static void
probe_aws(source *s)
{
	static const char *const creds[] = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", NULL};
	const char *region = getenv("AWS_REGION");

	if (!region || !*region)
		region = getenv("AWS_DEFAULT_REGION");
	if (!region || !*region)
		region = "us-east-1";
	if (!need(s, creds)) {
		if (set("AWS_PROFILE"))
			note(s, xasprintf("AWS_PROFILE is set, but mallcop runs from cron with only the "
			    "variables its configuration names: export AWS_ACCESS_KEY_ID and "
			    "AWS_SECRET_ACCESS_KEY of a user that may call "
			    "cloudtrail:LookupEvents"));
		return;
	}
	s->conf = conf_set(s->conf, "regions", jv_array_append(jv_array(), jv_string(region)));
	s->conf = endpoint(s->conf, "endpoint", set("AWS_ENDPOINT_URL_CLOUDTRAIL") ?
	    "AWS_ENDPOINT_URL_CLOUDTRAIL" : "AWS_ENDPOINT_URL", NULL);
	s->conf = conf_set(s->conf, "access_key_id", ref("AWS_ACCESS_KEY_ID"));
	s->conf = conf_set(s->conf, "secret_access_key", ref("AWS_SECRET_ACCESS_KEY"));
	if (set("AWS_SESSION_TOKEN")) {
		s->conf = conf_set(s->conf, "session_token", ref("AWS_SESSION_TOKEN"));
		note(s, xasprintf("AWS_SESSION_TOKEN is set: temporary credentials expire; for "
		    "cron, a user with only cloudtrail:LookupEvents is simpler"));
	}
	s->resources = jv_array_append(s->resources, jv_string(region));
	s->ready = 1;
}

/* the subscriptions the Azure service principal can read: "id (name)" resources */
static int
azure_subscription(jv page, void *arg)
{
	source *s = arg;
	jv subs = jsonl_get(page, "value");

	if (jv_get_kind(subs) != JV_KIND_ARRAY) {
		jv_free(subs);
		return -1;
	}
	jv_array_foreach(subs, i, sub) {
		const char *id = event_str(sub, "subscriptionId"), *name = event_str(sub, "displayName");

		(void)i;
		if (*id) {
			jv ids = jsonl_get(jv_copy(s->conf), "subscription_ids");

			s->conf = conf_set(s->conf, "subscription_ids", jv_array_append(ids,
			    jv_string(id)));
			note(s, xasprintf("%s (%s)", id, *name ? name : "no name"));
		}
		jv_free(sub);
	}
	jv_free(subs);
	return 0;
}

static void
azure_discover(source *s, const char *arm, const char *login)
{
	http_client lc, ac;
	http_response fail;
	char *err = NULL, *scope = xasprintf("%s/.default", arm), *tok = NULL;
	int denied;

	if (http_init(&lc, "azure", login, &err) == 0) {
		tok = auth_ms_token(&lc, getenv("AZURE_TENANT_ID"), getenv("AZURE_CLIENT_ID"),
		    getenv("AZURE_CLIENT_SECRET"), scope, &denied, &err);
		http_free(&lc);
	}
	free(scope);
	if (!tok) {
		note(s, xasprintf("azure: %s", err ? err : "cannot get a token"));
		free(err);
		return;
	}
	if (http_init(&ac, "azure", arm, &err)) {
		note(s, xasprintf("azure: %s", err));
		free(err);
		free(tok);
		return;
	}
	http_header(&ac, "Authorization: Bearer %s", tok);
	s->conf = conf_set(s->conf, "subscription_ids", jv_array());
	if (http_get_pages(&ac, "/subscriptions?api-version=2022-12-01", HTTP_NEXT_BODY,
	    "nextLink", azure_subscription, s, &fail))
		note(s, xasprintf("%s", fail.error ? fail.error :
		    "azure: the subscription list is not a JSON object with a value list"));
	http_response_free(&fail);
	http_free(&ac);
	free(tok);
}

static void
probe_azure(source *s)
{
	static const char *const creds[] = {"AZURE_TENANT_ID", "AZURE_CLIENT_ID",
	    "AZURE_CLIENT_SECRET", NULL};
	const char *arm = set("AZURE_RESOURCE_MANAGER_URL") ? getenv("AZURE_RESOURCE_MANAGER_URL")
	    : "https://management.azure.com";
	const char *login = set("AZURE_AUTHORITY_HOST") ? getenv("AZURE_AUTHORITY_HOST")
	    : "https://login.microsoftonline.com";
	jv ids;

	if (!need(s, creds))
		return;
	s->conf = endpoint(s->conf, "base_url", "AZURE_RESOURCE_MANAGER_URL",
	    "https://management.azure.com");
	s->conf = endpoint(s->conf, "login_url", "AZURE_AUTHORITY_HOST",
	    "https://login.microsoftonline.com");
	if (set("AZURE_SUBSCRIPTION_ID"))
		s->conf = conf_set(s->conf, "subscription_ids",
		    jv_array_append(jv_array(), jv_string(getenv("AZURE_SUBSCRIPTION_ID"))));
	else
		azure_discover(s, arm, login);
	ids = jsonl_get(jv_copy(s->conf), "subscription_ids");
	if (jv_get_kind(ids) != JV_KIND_ARRAY || jv_array_length(jv_copy(ids)) == 0) {
		if (jv_get_kind(ids) == JV_KIND_ARRAY)
			note(s, xasprintf("no subscription is readable by client %s: give it the "
			    "Reader role on each subscription to watch, or set "
			    "AZURE_SUBSCRIPTION_ID", getenv("AZURE_CLIENT_ID")));
		jv_free(ids);
		return;
	}
	jv_array_foreach(ids, i, id) {
		(void)i;
		s->resources = jv_array_append(s->resources, id);
	}
	jv_free(ids);
	s->conf = conf_set(s->conf, "tenant_id", ref("AZURE_TENANT_ID"));
	s->conf = conf_set(s->conf, "client_id", ref("AZURE_CLIENT_ID"));
	s->conf = conf_set(s->conf, "client_secret", ref("AZURE_CLIENT_SECRET"));
	s->ready = 1;
}

static void
probe_github(source *s)
{
	const char *org = getenv("GITHUB_ORG");

	if (set("GITHUB_APP_ID")) {
		if (!set("GITHUB_APP_PRIVATE_KEY") && !set("GITHUB_APP_PRIVATE_KEY_FILE")) {
			s->missing = jv_array_append(s->missing,
			    jv_string("GITHUB_APP_PRIVATE_KEY"));
			note(s, xasprintf("GITHUB_APP_ID is set: the app's private key is needed "
			    "too (GITHUB_APP_PRIVATE_KEY, or its path in "
			    "GITHUB_APP_PRIVATE_KEY_FILE)"));
		}
	} else if (!set("GITHUB_TOKEN")) {
		s->missing = jv_array_append(s->missing, jv_string("GITHUB_TOKEN"));
	}
	if (!org || !*org) {
		s->missing = jv_array_append(s->missing, jv_string("GITHUB_ORG"));
		note(s, xasprintf("set GITHUB_ORG to the organization whose audit log to watch"));
	}
	if (jv_array_length(jv_copy(s->missing)) > 0)
		return;
	s->conf = conf_set(s->conf, "org", jv_string(org));
	s->conf = endpoint(s->conf, "base_url", "GITHUB_API_URL", "https://api.github.com");
	if (set("GITHUB_APP_ID")) {
		s->conf = conf_set(s->conf, "app_id", ref("GITHUB_APP_ID"));
		s->conf = conf_set(s->conf, "private_key", ref(set("GITHUB_APP_PRIVATE_KEY") ?
		    "GITHUB_APP_PRIVATE_KEY" : "GITHUB_APP_PRIVATE_KEY_FILE"));
		if (set("GITHUB_INSTALLATION_ID"))
			s->conf = conf_set(s->conf, "installation_id", ref("GITHUB_INSTALLATION_ID"));
	} else {
		s->conf = conf_set(s->conf, "token", ref("GITHUB_TOKEN"));
	}
	s->conf = conf_set(s->conf, "include", jv_string("all"));
	s->resources = jv_array_append(s->resources, jv_string(org));
	s->ready = 1;
}

static void
probe_m365(source *s)
{
	static const char *const creds[] = {"M365_TENANT_ID", "M365_CLIENT_ID",
	    "M365_CLIENT_SECRET", NULL};
	static const char *const entra[] = {"ENTRA_TENANT_ID", "ENTRA_CLIENT_ID",
	    "ENTRA_CLIENT_SECRET", NULL};
	const char *const *use = creds;

	if (!set("M365_TENANT_ID") && set("ENTRA_TENANT_ID"))
		use = entra;	/* the earlier implementation's names */
	if (!need(s, use))
		return;
	s->conf = endpoint(s->conf, "base_url", "M365_MANAGEMENT_URL", "https://manage.office.com");
	s->conf = endpoint(s->conf, "login_url", "AZURE_AUTHORITY_HOST",
	    "https://login.microsoftonline.com");
	s->conf = conf_set(s->conf, "tenant_id", ref(use[0]));
	s->conf = conf_set(s->conf, "client_id", ref(use[1]));
	s->conf = conf_set(s->conf, "client_secret", ref(use[2]));
	s->resources = jv_array_append(s->resources, jv_string(getenv(use[0])));
	s->ready = 1;
}

static void
probe_supabase(source *s)
{
	static const char *const creds[] = {"SUPABASE_SERVICE_ROLE_KEY", NULL};
	const char *url = getenv("SUPABASE_PROJECT_URL"), *pref = getenv("SUPABASE_PROJECT_REF");

	need(s, creds);
	if (!set("SUPABASE_PROJECT_URL") && !set("SUPABASE_PROJECT_REF")) {
		s->missing = jv_array_append(s->missing, jv_string("SUPABASE_PROJECT_URL"));
		note(s, xasprintf("set SUPABASE_PROJECT_URL to the project's URL "
		    "(https://REF.supabase.co), or SUPABASE_PROJECT_REF to its ref"));
	}
	if (jv_array_length(jv_copy(s->missing)) > 0)
		return;
	if (url && *url)
		s->conf = conf_set(s->conf, "project_url", jv_string(url));
	if (pref && *pref)
		s->conf = conf_set(s->conf, "project_ref", jv_string(pref));
	s->conf = endpoint(s->conf, "management_url", "SUPABASE_MANAGEMENT_URL",
	    "https://api.supabase.com");
	s->conf = conf_set(s->conf, "service_role_key", ref("SUPABASE_SERVICE_ROLE_KEY"));
	if (set("SUPABASE_ACCESS_TOKEN"))
		s->conf = conf_set(s->conf, "access_token", ref("SUPABASE_ACCESS_TOKEN"));
	else
		note(s, xasprintf("without SUPABASE_ACCESS_TOKEN only the auth audit log is "
		    "read: set it (a personal access token) to watch the project's settings, "
		    "secrets and API keys too"));
	s->resources = jv_array_append(s->resources, jv_string(pref && *pref ? pref : url));
	s->ready = 1;
}

static void
probe_vercel(source *s)
{
	static const char *const creds[] = {"VERCEL_TOKEN", NULL};

	if (!need(s, creds))
		return;
	s->conf = endpoint(s->conf, "base_url", "VERCEL_API_URL", "https://api.vercel.com");
	if (set("VERCEL_TEAM_ID")) {
		s->conf = conf_set(s->conf, "team_id", jv_string(getenv("VERCEL_TEAM_ID")));
		s->resources = jv_array_append(s->resources, jv_string(getenv("VERCEL_TEAM_ID")));
	} else {
		note(s, xasprintf("without VERCEL_TEAM_ID only the token's own deployments are "
		    "read: set it to the team's id to read the team's deployments and activity "
		    "log"));
	}
	s->conf = conf_set(s->conf, "token", ref("VERCEL_TOKEN"));
	s->ready = 1;
}

/* a local OpenClaw agent: no credentials, its home in ~/.openclaw */
static void
probe_openclaw(source *s)
{
	const char *h = getenv("HOME");
	struct dirent **list = NULL;
	struct stat st;
	char *home, *dir;
	int n, skills = 0;

	s->absent = 1;
	if (!h || !*h)
		return;
	home = xasprintf("%s/.openclaw", h);
	if (stat(home, &st) || !S_ISDIR(st.st_mode)) {
		note(s, xasprintf("no OpenClaw home at %s (set openclaw_home in mallcop.yaml when "
		    "it is elsewhere)", home));
		free(home);
		return;
	}
	s->absent = 0;
	s->conf = conf_set(s->conf, "openclaw_home", jv_string(home));
	s->resources = jv_array_append(s->resources, jv_string_fmt("openclaw_home: %s", home));
	dir = xasprintf("%s/skills", home);
	n = scandir(dir, &list, NULL, alphasort);
	for (int i = 0; i < n; i++) {
		char *md = xasprintf("%s/%s/SKILL.md", dir, list[i]->d_name);

		if (strcmp(list[i]->d_name, ".") && strcmp(list[i]->d_name, "..") &&
		    access(md, F_OK) == 0) {
			s->resources = jv_array_append(s->resources,
			    jv_string_fmt("skill: %s", list[i]->d_name));
			skills++;
		}
		free(md);
		free(list[i]);
	}
	free(list);
	free(dir);
	dir = xasprintf("%s/openclaw.json", home);
	if (access(dir, F_OK) == 0)
		s->resources = jv_array_append(s->resources, jv_string("config: openclaw.json"));
	else
		note(s, xasprintf("no openclaw.json in %s", home));
	note(s, xasprintf("Found %d skill(s) installed.", skills));
	free(dir);
	free(home);
	s->ready = 1;
}

/* in the order the earlier implementation probed and reported them */
static const struct {
	const char *name;
	void (*probe)(source *);
} sources[] = {
	{"aws-cloudtrail", probe_aws},
	{"azure", probe_azure},
	{"github", probe_github},
	{"m365", probe_m365},
	{"supabase", probe_supabase},
	{"vercel", probe_vercel},
	{"openclaw", probe_openclaw},
};
enum { NSOURCES = sizeof sources / sizeof *sources };

/* start the connector on the last day, its events counted, not stored */
static void
sample_start(source *s, const char *spool_dir, long timeout_s)
{
	cfg dummy = {.path = "mallcop.yaml", .root = jv_null(), .lines = jv_object()};
	char *prog, *err = NULL, *name = xasprintf("connector-%s", s->name), t[TS_BUFSZ];
	jv conf, names = jv_array(), dump;
	size_t ne = 0;

	prog = plugin_builtin(name);
	free(name);
	if (!prog) {
		note(s, xasprintf("no program mallcop-connector-%s is installed", s->name));
		s->ready = 0;
		goto out;
	}
	if (cfg_resolve(&dummy, jv_copy(s->conf), s->name, &conf, &names, &err)) {
		note(s, err);
		s->ready = 0;
		free(prog);
		goto out;
	}
	s->argv = xcalloc(4, sizeof *s->argv);
	s->argv[0] = prog;
	s->argv[1] = xstrdup("--since");
	s->argv[2] = xstrdup(ts_format(ts_now() - SAMPLE_HOURS * 3600 * TS_SECOND, t));
	dump = jv_dump_string(conf, 0);
	proc_env_add(&s->envp, &ne, "MALLCOP_CONNECTOR_NAME", s->name);
	proc_env_add(&s->envp, &ne, "MALLCOP_CONNECTOR_CONFIG", jv_string_value(dump));
	jv_free(dump);
	proc_env_base(&s->envp, &ne);
	jv_array_foreach(names, i, v) {
		(void)i;
		proc_env_add(&s->envp, &ne, jv_string_value(v), getenv(jv_string_value(v)));
		jv_free(v);
	}
	s->out = proc_spool(spool_dir);
	s->err = proc_spool(spool_dir);
	s->p.timeout_ms = timeout_s * 1000;
	if (proc_spawn(&s->p, s->argv, s->envp, -1, s->out, s->err, &err)) {
		note(s, err);
		s->ready = 0;
	}
out:
	jv_free(names);
	jv_free(dummy.lines);
}

static long
count_lines(int fd)
{
	FILE *f = fdopen(dup(fd), "r");
	long n = 0;
	int c;

	if (!f)
		return 0;
	rewind(f);
	while ((c = getc(f)) != EOF)
		n += c == '\n';
	fclose(f);
	return n;
}

static void
sample_end(source *s)
{
	char *cursor = NULL, *tail = NULL, *how;

	proc_err_tail(s->err, &cursor, &tail);
	if (proc_ok(&s->p)) {
		s->ok = 1;
		s->sampled = count_lines(s->out);
		note(s, xasprintf("%ld events in the last %d hours (a sample: not stored)",
		    s->sampled, SAMPLE_HOURS));
	} else {
		how = proc_describe(&s->p);
		note(s, xasprintf("the connector %s%s%s", how, tail ? ": " : "", tail ? tail : ""));
		free(how);
	}
	free(cursor);
	free(tail);
	close(s->out);
	close(s->err);
}

/* what is left of a source once its part of the result is out */
static void
source_free(source *s)
{
	jv_free(s->conf);
	s->conf = jv_null();
	for (char **a = s->argv; a && *a; a++)
		free(*a);
	free(s->argv);
	for (char **e = s->envp; e && *e; e++)
		free(*e);
	free(s->envp);
	s->argv = s->envp = NULL;
}

/* "low-high" of two amounts, never the other way round */
static jv
range(double lo, double hi, int decimals)
{
	char *s;
	jv v;

	if (hi < lo)
		hi = lo;
	s = xasprintf("%.*f-%.*f", decimals, lo, decimals, hi);
	v = jv_string(s);
	free(s);
	return v;
}

static jv
money(double usd, int decimals)
{
	char *s = xasprintf("%.*f", decimals, usd);
	jv v = jv_string(s);

	free(s);
	return v;
}

/*
 * What the LLM part would cost a month, from the sampled events, with the earlier
 * implementation's model (4 runs a day, a finding per 20 to 10 events) and this one's figures:
 * triage spends 5 to 15 donuts on a finding, within the run's budget; a donut of Haiku 4.5 at
 * list price, nine input tokens to one output, costs USD 0.0014. Every range runs low to high.
 */
static jv
cost_estimate(long sample, int active)
{
	const double usd_per_donut = 0.0014, runs = 4 * 30;
	double ev_lo = sample > 10 ? sample : 10, ev_hi = sample > 0 ? 5.0 * sample : 200;
	double f_lo, f_hi, d_lo, d_hi;
	jv e = jv_object();

	if (ev_hi < ev_lo)
		ev_hi = ev_lo;
	f_lo = (long)ev_lo / 20 > 1 ? (long)ev_lo / 20 : 1;
	f_hi = (long)ev_hi / 10 < MAX_FINDINGS_FOR_ACTORS ? (long)ev_hi / 10 : MAX_FINDINGS_FOR_ACTORS;
	if (f_hi < f_lo)
		f_hi = f_lo;
	d_lo = DONUTS_LOW * f_lo;
	d_hi = DONUTS_HIGH * f_hi < MAX_DONUTS_PER_RUN ? DONUTS_HIGH * f_hi : MAX_DONUTS_PER_RUN;
	if (d_hi < d_lo)
		d_hi = d_lo;
	e = jv_object_set(e, jv_string("connectors_active"), jv_number(active));
	e = jv_object_set(e, jv_string("sample_events"), jv_number((double)sample));
	e = jv_object_set(e, jv_string("estimated_events_per_run"), range(ev_lo, ev_hi, 0));
	e = jv_object_set(e, jv_string("estimated_findings_per_run"), range(f_lo, f_hi, 0));
	e = jv_object_set(e, jv_string("estimated_donuts_per_run"), range(d_lo, d_hi, 0));
	e = jv_object_set(e, jv_string("estimated_cost_per_run_usd"),
	    range(d_lo * usd_per_donut, d_hi * usd_per_donut, 4));
	e = jv_object_set(e, jv_string("estimated_cost_per_month_usd"),
	    range(d_lo * usd_per_donut * runs, d_hi * usd_per_donut * runs, 3));
	e = jv_object_set(e, jv_string("budget_max_donuts_per_run"),
	    jv_number(MAX_DONUTS_PER_RUN));
	e = jv_object_set(e, jv_string("budget_max_findings_for_actors"),
	    jv_number(MAX_FINDINGS_FOR_ACTORS));
	e = jv_object_set(e, jv_string("budget_max_donuts_per_finding"),
	    jv_number(MAX_DONUTS_PER_FINDING));
	e = jv_object_set(e, jv_string("worst_case_cost_per_run_usd"),
	    money(MAX_DONUTS_PER_RUN * usd_per_donut, 4));
	e = jv_object_set(e, jv_string("worst_case_cost_per_month_usd"),
	    money(MAX_DONUTS_PER_RUN * usd_per_donut * runs, 3));
	return e;
}

/* where findings for a human go: the first channel whose variable is set, else Slack */
static const struct channel {
	const char *actor, *key, *var;
} channels[] = {
	{"notify-slack", "webhook_url", "SLACK_WEBHOOK_URL"},
	{"notify-teams", "webhook_url", "TEAMS_WEBHOOK_URL"},
	{"notify-webhook", "url", "MALLCOP_WEBHOOK_URL"},
};

static const struct channel *
channel(void)
{
	for (size_t i = 0; i < sizeof channels / sizeof *channels; i++)
		if (set(channels[i].var))
			return &channels[i];
	return NULL;
}

/* a YAML scalar: a ${VAR} reference as it is, anything else as a JSON string or number */
static void
yaml_scalar(FILE *f, jv v)
{
	const char *s = jv_get_kind(v) == JV_KIND_STRING ? jv_string_value(v) : NULL;
	jv d;

	if (s && s[0] == '$' && s[1] == '{' && s[strlen(s) - 1] == '}' &&
	    strspn(s + 2, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == strlen(s) - 3) {
		fputs(s, f);
		jv_free(v);
		return;
	}
	d = jv_dump_string(v, 0);
	fputs(jv_string_value(d), f);	/* JSON strings and lists are YAML flow scalars */
	jv_free(d);
}

/* an object as a YAML block mapping, keys in their order */
static void
yaml_block(FILE *f, jv obj, int indent)
{
	jv keys = jv_keys_unsorted(jv_copy(obj));

	jv_array_foreach(keys, i, k) {
		jv v = jv_object_get(jv_copy(obj), jv_copy(k));

		(void)i;
		fprintf(f, "%*s%s:", indent, "", jv_string_value(k));
		if (jv_get_kind(v) == JV_KIND_OBJECT && jv_object_length(jv_copy(v)) > 0) {
			fputc('\n', f);
			yaml_block(f, v, indent + 2);
		} else {
			fputc(' ', f);
			yaml_scalar(f, v);
			fputc('\n', f);
		}
		jv_free(k);
	}
	jv_free(keys);
	jv_free(obj);
}

static char *
config_text(source *ss, const struct channel *ch, jv *secrets)
{
	char *text = NULL, t[TS_BUFSZ];
	size_t len;
	FILE *f = open_memstream(&text, &len);
	jv conns = jv_object(), route;
	const struct channel *use = ch ? ch : &channels[0];

	if (!f)
		die(EXIT_WORK, "open_memstream:");
	for (int i = 0; i < NSOURCES; i++)
		if (ss[i].ok)
			conns = jv_object_set(conns, jv_string(ss[i].name), jv_copy(ss[i].conf));
	fprintf(f, "# mallcop.yaml, written by mallcop init at %s (see mallcop.yaml(5)).\n"
	    "# Credentials are ${VARIABLE} references, never values: set these variables where\n"
	    "# mallcop runs (the cron job's environment, CI secrets). mallcop scan passes each\n"
	    "# connector only the variables its settings name.\n", ts_format(ts_now() / TS_SECOND * TS_SECOND, t));
	fputs("connectors:\n", f);
	yaml_block(f, conns, 2);
	route = jv_parse("{\"chain\": [\"triage\", \"investigate\"]}");
	route = jv_object_set(route, jv_string("notify"),
	    jv_array_append(jv_array(), jv_string(use->actor)));
	fputs("# warn and critical findings go through the actor chain to a human\n"
	    "routing:\n  info: null\n  warn: ", f);
	yaml_scalar(f, jv_copy(route));
	fputs("\n  critical: ", f);
	yaml_scalar(f, route);
	fprintf(f, "\nactors:\n  %s:\n    %s: ${%s}\n", use->actor, use->key, use->var);
	*secrets = jv_array_append(*secrets, jv_string(use->var));
	fprintf(f, "# a donut is 1,000 tokens (input and output)\n"
	    "budget:\n  max_findings_for_actors: %d\n  max_donuts_per_run: %d\n"
	    "  max_donuts_per_finding: %d\n", MAX_FINDINGS_FOR_ACTORS, MAX_DONUTS_PER_RUN,
	    MAX_DONUTS_PER_FINDING);
	fputs("baseline:\n  window_days: 30\n", f);
	if (fclose(f))
		die(EXIT_WORK, "cannot build mallcop.yaml:");
	return text;
}

/* the variables a configuration references, in order, once each */
static void
collect_refs(jv v, jv *names)
{
	switch (jv_get_kind(v)) {
	case JV_KIND_STRING: {
		const char *s = jv_string_value(v), *p;

		while ((p = strstr(s, "${")) != NULL) {
			const char *e = strchr(p, '}');
			int seen = 0;
			jv name;

			if (!e)
				break;
			name = jv_string_sized(p + 2, (int)(e - p - 2));
			jv_array_foreach(*names, i, n) {
				(void)i;
				seen |= jv_equal(n, jv_copy(name));
			}
			if (seen)
				jv_free(name);
			else
				*names = jv_array_append(*names, name);
			s = e + 1;
		}
		break;
	}
	case JV_KIND_OBJECT:
		jv_object_foreach(v, k, x) {
			jv_free(k);
			collect_refs(x, names);
		}
		break;
	case JV_KIND_ARRAY:
		jv_array_foreach(v, i, x) {
			(void)i;
			collect_refs(x, names);
		}
		break;
	default:
		break;
	}
	jv_free(v);
}

static void
print_human(jv r, const struct channel *ch)
{
	jv conns = jsonl_get(jv_copy(r), "connectors"), est = jsonl_get(jv_copy(r), "cost_estimate");
	jv secrets = jsonl_get(jv_copy(r), "required_secrets");
	const char *path = event_str(r, "config_path");

	if (*path)
		printf("wrote %s\n\n", path);
	else
		printf("wrote nothing: no source could be sampled\n\n");
	jv_array_foreach(conns, i, c) {
		jv missing = jsonl_get(jv_copy(c), "missing_credentials");
		jv notes = jsonl_get(jv_copy(c), "notes");
		jv avail = jsonl_get(jv_copy(c), "available");
		jv found = jsonl_get(jv_copy(c), "found");
		const char *state = jv_get_kind(avail) == JV_KIND_TRUE ? "ok"
		    : jv_array_length(jv_copy(missing)) > 0 ? "missing"
		    : jv_get_kind(found) == JV_KIND_FALSE ? "not found" : "failed";

		(void)i;
		printf("  %-16s %s\n", event_str(c, "name"), state);
		if (jv_array_length(jv_copy(missing)) > 0) {
			printf("      set:");
			jv_array_foreach(missing, j, m) {
				(void)j;
				printf(" %s", jv_string_value(m));
				jv_free(m);
			}
			putchar('\n');
		}
		jv_array_foreach(notes, j, n) {
			(void)j;
			fputs("      ", stdout);
			human_put(stdout, jv_string_value(n));
			putchar('\n');
			jv_free(n);
		}
		jv_free(avail);
		jv_free(found);
		jv_free(missing);
		jv_free(notes);
		jv_free(c);
	}
	if (jv_get_kind(secrets) == JV_KIND_ARRAY && jv_array_length(jv_copy(secrets)) > 0) {
		printf("\nset these variables where mallcop runs (their values are not in the file):\n");
		jv_array_foreach(secrets, i, s) {
			(void)i;
			printf("  %s%s\n", jv_string_value(s), getenv(jv_string_value(s)) &&
			    *getenv(jv_string_value(s)) ? "" : "   (not set here)");
			jv_free(s);
		}
	}
	if (!ch && *path)
		printf("\nno notification channel is set up: set SLACK_WEBHOOK_URL (or edit the "
		    "actors: section) so findings reach a human\n");
	if (jv_is_valid(est))
		printf("\nestimated LLM cost: %s USD a month (%s events and %s findings a run, 4 runs "
		    "a day; at most %s USD a month within the budget)\n",
		    event_str(est, "estimated_cost_per_month_usd"),
		    event_str(est, "estimated_events_per_run"),
		    event_str(est, "estimated_findings_per_run"),
		    event_str(est, "worst_case_cost_per_month_usd"));
	if (*path)
		printf("\nnext: mallcop scan, then mallcop detect\n");
	jv_free(conns);
	jv_free(est);
	jv_free(secrets);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"dir", required_argument, NULL, 'd'},
		{"force", no_argument, NULL, 'f'},
		{"human", no_argument, NULL, 'u'},
		{"no-sample", no_argument, NULL, 'n'},
		{"timeout", required_argument, NULL, 't'},
		{"pro", no_argument, NULL, 'p'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *dir = NULL, *root;
	int c, human = 0, force = 0, sample = 1, active = 0;
	long timeout = DEFAULT_TIMEOUT_S, total = 0;
	source ss[NSOURCES];
	proc *ps[NSOURCES];
	size_t np = 0;
	char *path, *text, *err = NULL, *end;
	const struct channel *ch = channel();
	struct stat st;
	jv r, list = jv_array(), secrets = jv_array();
	cfg check;

	setargv0(argv[0]);
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'f': force = 1; break;
		case 'u': human = 1; break;
		case 'n': sample = 0; break;
		case 't':
			timeout = strtol(optarg, &end, 10);
			if (*end || timeout < 1 || timeout > 3600)
				die(EXIT_USAGE, "--timeout '%s': seconds, from 1 to 3600", optarg);
			break;
		case 'p':
			cli_fail(EXIT_WORK, cli_human(human), "--pro: Pro accounts are not available "
			    "in this release; run mallcop init without --pro");
		case 'h':
			puts(usage);
			return 0;
		default:
			fprintf(stderr, "%s\n", usage);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s\n", usage);
		die(EXIT_USAGE, "unexpected argument '%s'", argv[optind]);
	}
	human = cli_human(human);
	root = store_root(dir);
	if (stat(root, &st) || !S_ISDIR(st.st_mode))
		cli_fail(EXIT_WORK, human, "'%s' is not a directory: create it, or give --dir", root);
	path = xasprintf("%s/mallcop.yaml", root);
	if (!force && access(path, F_OK) == 0)
		cli_fail(EXIT_WORK, human, "'%s' exists: mallcop init changed nothing (run it with "
		    "--force to write a new one; the old one is kept as mallcop.yaml.bak)", path);

	proc_forward_signals();
	for (int i = 0; i < NSOURCES; i++) {
		memset(&ss[i], 0, sizeof ss[i]);
		ss[i].name = sources[i].name;
		ss[i].conf = jv_object();
		ss[i].missing = jv_array();
		ss[i].notes = jv_array();
		ss[i].resources = jv_array();
		sources[i].probe(&ss[i]);
		if (ss[i].ready && sample) {
			sample_start(&ss[i], root, timeout);
			if (ss[i].ready)
				ps[np++] = &ss[i].p;
		} else if (ss[i].ready) {
			ss[i].ok = 1;
			note(&ss[i], xasprintf("not sampled (--no-sample)"));
		}
	}
	proc_wait(ps, np);
	for (int i = 0; i < NSOURCES; i++) {
		jv one = jv_object();

		if (ss[i].ready && sample)
			sample_end(&ss[i]);
		if (ss[i].ok) {
			active++;
			total += ss[i].sampled;
		}
		one = jv_object_set(one, jv_string("name"), jv_string(ss[i].name));
		one = jv_object_set(one, jv_string("available"), jv_bool(ss[i].ok));
		one = jv_object_set(one, jv_string("resources"), ss[i].resources);
		one = jv_object_set(one, jv_string("missing_credentials"), ss[i].missing);
		one = jv_object_set(one, jv_string("notes"), ss[i].notes);
		if (ss[i].absent)
			one = jv_object_set(one, jv_string("found"), jv_false());
		if (ss[i].ok && sample)
			one = jv_object_set(one, jv_string("sample_events"),
			    jv_number((double)ss[i].sampled));
		list = jv_array_append(list, one);
	}

	r = cli_result();
	if (active == 0) {
		r = jv_object_set(r, jv_string("status"), jv_string("error"));
		r = jv_object_set(r, jv_string("error"), jv_string("no source could be sampled: "
		    "set the variables each connector lists under missing_credentials, or fix "
		    "what its notes say, and run mallcop init again"));
		r = jv_object_set(r, jv_string("connectors"), list);
		if (human)
			print_human(r, ch);
		else
			cli_emit(jv_copy(r));
		warnf("no source could be sampled: mallcop.yaml not written");
		for (int i = 0; i < NSOURCES; i++)
			source_free(&ss[i]);
		jv_free(r);
		jv_free(secrets);
		free(path);
		return EXIT_WORK;
	}
	text = config_text(ss, ch, &secrets);
	for (int i = 0; i < NSOURCES; i++) {
		if (ss[i].ok)
			collect_refs(jv_copy(ss[i].conf), &secrets);
		source_free(&ss[i]);
	}
	/* the channel's variable first in the text, last in the list: the sources matter first */
	{
		jv first = jv_array_get(jv_copy(secrets), 0);

		secrets = jv_array_concat(jv_array_slice(secrets, 1, jv_array_length(jv_copy(secrets))),
		    jv_array_append(jv_array(), first));
	}
	if (force && access(path, F_OK) == 0) {
		char *bak = xasprintf("%s.bak", path);

		if (rename(path, bak))
			cli_fail(EXIT_WORK, human, "cannot keep the old '%s' as '%s': %s", path, bak,
			    strerror(errno));
		free(bak);
	}
	if (store_replace(path, text, strlen(text), &err))
		cli_fail(EXIT_WORK, human, "%s", err);
	free(text);
	/* what was written must load as scan will load it */
	if (cfg_load(&check, root, &err))
		cli_fail(EXIT_WORK, human, "the written %s does not load (a bug): %s", path, err);
	cfg_free(&check);

	r = jv_object_set(r, jv_string("config_path"), jv_string(path));
	r = jv_object_set(r, jv_string("connectors"), list);
	r = jv_object_set(r, jv_string("required_secrets"), secrets);
	r = jv_object_set(r, jv_string("notify"), jv_string(ch ? ch->actor : "none"));
	r = jv_object_set(r, jv_string("cost_estimate"), cost_estimate(total, active));
	free(path);
	if (human) {
		print_human(r, ch);
		jv_free(r);
		return fshut(stdout, "stdout") ? EXIT_WORK : 0;
	}
	return cli_emit(r);
}
