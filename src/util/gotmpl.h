/* A subset of Go's text/template for --format, evaluated over a yajl tree:
 * fields ({{.A.B}}), $ (the root), string/number/bool literals, pipelines
 * and parentheses, if/else if/else, range/else, with/else, comments, the
 * {{- -}} trim markers and the functions json, index, join, upper, lower,
 * title, len, truncate, printf, eq, ne, not, and, or.
 *
 * JSON objects are structs (a missing key is an error, as an unknown field
 * is in Go) unless they hang under a key the caller names as a map (e.g.
 * "Labels"), where a missing key gives "<no value>" as a Go map does. */
#ifndef RL_GOTMPL_H
#define RL_GOTMPL_H

#include <stdbool.h>
#include <yajl/yajl_tree.h>

#include "util/error.h"

struct gotmpl;

/* Parse a template; syntax errors fill err ("template: ..."). */
int gotmpl_parse (const char *text, struct gotmpl **out, rl_error_t *err);
void gotmpl_free (struct gotmpl *t);

/* Execute over data.  map_keys (NULL-terminated, may be NULL) names the keys
 * whose object values are maps.  header: render a table's header row, where
 * data holds the column titles (functions then give their first argument,
 * a range runs its body once).  The output is a new string in *out. */
int gotmpl_exec (const struct gotmpl *t, yajl_val data, const char *const *map_keys, bool header,
                 char **out, rl_error_t *err);

/* Docker's handling of a --format value: a "table" prefix is removed (and
 * *table set), spaces around are trimmed, and the two-character escapes
 * \t and \n become a tab and a newline.  Returns a new string. */
char *gotmpl_prepare (const char *format, bool *table);

/* Align tab-terminated cells into columns like Docker's table output (Go's
 * tabwriter with minimum width 10 and padding 3).  Returns a new string. */
char *gotmpl_tabwrite (const char *text);

/* yajl's pretty JSON as Docker and Podman print it: empty arrays and
 * objects as [] and {}, no trailing newline.  Changes text in place. */
void gotmpl_json_tidy (char *text);

#endif
