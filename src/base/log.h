/* log.h: JSON-lines logging to stderr, one object per line:
 *   {"time":"2026-11-20T23:59:01.123Z","level":"info","msg":"listening", ...fields}
 * Fields are passed as a printf format producing the rest of the object's members, e.g.
 *   pb_log(PB_LOG_INFO, "listening", "\"url\":\"%s\"", url);
 * Strings from the outside world must be escaped by the caller (pb_buf_json_string). */
#ifndef PB_LOG_H
#define PB_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum pb_log_level { PB_LOG_DEBUG = 0, PB_LOG_INFO, PB_LOG_WARN, PB_LOG_ERROR };

void pb_log_set_level(enum pb_log_level level);
/* Returns 0 and sets *out for "debug", "info", "warn" or "error"; PB_ERR_INVALID otherwise. */
int pb_log_level_parse(const char *name, enum pb_log_level *out);
bool pb_log_enabled(enum pb_log_level level);
/* fields may be NULL. */
__attribute__((format(printf, 3, 4))) void pb_log(enum pb_log_level level, const char *msg,
                                                  const char *fields, ...);
/* Writes one already formatted JSON object line (no trailing newline needed). */
void pb_log_raw(const char *line, size_t len);

#endif
