/* parser: an app's container-log templates (apps/APP/parser.yaml, mallcop.yaml.5 APP PARSERS) */
#ifndef MALLCOP_PARSER_H
#define MALLCOP_PARSER_H
#include <stddef.h>
#include <stdint.h>
#include <jv.h>

/*
 * A search gives up after this many backtracking steps (Oniguruma's retry limits): a pattern
 * that backtracks without end (catastrophic backtracking) on a line costs at most a fraction
 * of a second there, and the line counts as unmatched
 */
enum { PARSER_RETRY_MATCH = 1000000, PARSER_RETRY_SEARCH = 20000000 };
/* a template stopped on this many lines of a run is not tried on the rest of them */
enum { PARSER_GIVE_UP = 100 };

typedef struct parser parser;

/*
 * The parser of app from path (its templates compiled). NULL and *err naming the file, the
 * line and the fix when it is malformed: a missing or empty `templates`, a template without a
 * name or a pattern, a pattern that does not compile, a {placeholder} that names no group.
 */
parser *parser_load(const char *path, const char *app, char **err);
/* ROOT/apps/APP/parser.yaml (root NULL: apps/APP/parser.yaml); NULL and *err NULL when the
 * app has none */
parser *parser_load_app(const char *root, const char *app, char **err);
void parser_free(parser *p);
/* the app it parses */
const char *parser_app(const parser *p);

enum parser_result { PARSER_UNMATCHED, PARSER_EVENT, PARSER_NOISE, PARSER_BLANK };
/*
 * One log_line event of the app (borrowed): the first template whose pattern is found in its
 * raw.line makes *out, the event it maps to (its id from ev's, so a line read twice is the
 * same event); a noise template only counts it. Counted for the summary.
 */
enum parser_result parser_line(parser *p, jv ev, jv *out);
/*
 * What the search limit stopped since the last call, one message per template ("app 'web':
 * apps/web/parser.yaml: template 'x' ..."), malloc'd; NULL when nothing new
 */
char *parser_warning(parser *p);
/*
 * The events that sum up the lines seen: a parser_summary (always) and, unless noise_summary
 * is false, a noise_summary when there were lines; source is the connector's name. Appended
 * to list (consumed). The counts start again from zero.
 */
jv parser_summaries(parser *p, const char *source, int64_t now, jv list);

/* the raw text of one line: n bytes; PARSER_EVENT with *out, or not; for the benchmark */
enum parser_result parser_match(parser *p, const char *line, size_t n, int *template);
#endif
