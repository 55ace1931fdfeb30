/* JSON through yajl: parsing into a tree with bounded size, typed getters,
 * and a generator with short helpers for the common key/value shapes. */
#ifndef RL_JSON_H
#define RL_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "util/error.h"

/* Largest JSON document rl reads (manifests, configs, records). */
#define JSON_MAX_SIZE (4 * 1024 * 1024)

void cleanup_yajl_valp (yajl_val *v);
void cleanup_yajl_genp (yajl_gen *g);
#define cleanup_json __attribute__ ((cleanup (cleanup_yajl_valp)))
#define cleanup_gen  __attribute__ ((cleanup (cleanup_yajl_genp)))

/* Parse a NUL-terminated document; what names the document in errors. */
int json_parse (const char *text, const char *what, yajl_val *out, rl_error_t *err);
/* Read and parse dirfd/name (bounded by JSON_MAX_SIZE). */
int json_parse_file_at (int dirfd, const char *name, yajl_val *out, rl_error_t *err);

/* Getters return NULL / fallback when the key is missing or of another type. */
yajl_val json_get (yajl_val obj, const char *key);
const char *json_get_str (yajl_val obj, const char *key);
int64_t json_get_int (yajl_val obj, const char *key, int64_t fallback);
bool json_get_bool (yajl_val obj, const char *key, bool fallback);
/* A JSON array of strings as a new strv; NULL if missing or not an array. */
char **json_get_strv (yajl_val obj, const char *key);

/* Generator helpers (yajl_gen_* with C strings). */
yajl_gen json_gen_new (bool pretty);
void jg_str (yajl_gen g, const char *s); /* NULL gives null */
void jg_kstr (yajl_gen g, const char *key, const char *s);
void jg_kint (yajl_gen g, const char *key, long long v);
void jg_kbool (yajl_gen g, const char *key, bool v);
void jg_kstrv (yajl_gen g, const char *key, char *const *v); /* NULL gives null */
void jg_key (yajl_gen g, const char *key);
/* "KEY=VALUE" strings (labels, environments) as a JSON object under key. */
void jg_klabels (yajl_gen g, const char *key, char *const *labels);
/* Copy a parsed value (any type, recursively) into the generator. */
void jg_value (yajl_gen g, yajl_val v);
/* The generated text as a new string. */
char *jg_finish (yajl_gen g, size_t *len);

#endif
