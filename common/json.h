/* json.h: small helpers on jansson shared by the agent and the controller. */
#ifndef CF_JSON_H
#define CF_JSON_H

#include <jansson.h>

/* Serialises and releases obj (NULL-safe); returns a malloc'd string or NULL. */
char *json_dump_and_free(json_t *obj);
/* {"error":{"code":...,"message":...}} as a malloc'd string. */
char *json_error_body(const char *code, const char *message);
/* Reads a whole file as JSON; NULL (with err) when missing or invalid. */
json_t *json_load_path(const char *path, char *err, size_t errlen);
/* Writes obj to path atomically: path.tmp, fsync, rename. Mode 0600. */
int json_save_path_atomic(const json_t *obj, const char *path);
/* First key of obj not in the NULL-terminated allowed list, or NULL. */
const char *json_unknown_key(const json_t *obj, const char *const *allowed);
/* obj[key] when it is an integer >= 0 (a count or size a peer reported),
 * else -1 for "not known". */
long long json_count(const json_t *obj, const char *key);

#endif
