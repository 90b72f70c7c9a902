/* log.c: JSON-lines logging (log.h). One write(2) per line, so lines from different threads
 * never interleave. */
#include "base/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/base.h"
#include "base/limits.h"

static atomic_int log_level = PB_LOG_INFO;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void pb_log_set_level(enum pb_log_level level)
{
    atomic_store(&log_level, (int)level);
}

int pb_log_level_parse(const char *name, enum pb_log_level *out)
{
    for (size_t i = 0; i < PB_ARRAY_LEN(level_names); i++) {
        if (strcmp(name, level_names[i]) == 0) {
            *out = (enum pb_log_level)i;
            return PB_OK;
        }
    }
    return PB_ERR_INVALID;
}

bool pb_log_enabled(enum pb_log_level level)
{
    return (int)level >= atomic_load(&log_level);
}

void pb_log_raw(const char *line, size_t len)
{
    char tmp[PB_LOG_LINE_MAX + 1];
    if (len > PB_LOG_LINE_MAX)
        len = PB_LOG_LINE_MAX;
    memcpy(tmp, line, len);
    if (len == 0 || tmp[len - 1] != '\n')
        tmp[len++] = '\n';
    ssize_t n = write(STDERR_FILENO, tmp, len);
    (void)n; /* nothing sensible to do when stderr is gone */
}

void pb_log(enum pb_log_level level, const char *msg, const char *fields, ...)
{
    if (!pb_log_enabled(level))
        return;
    char line[PB_LOG_LINE_MAX];
    char when[PB_TIME_TEXT_MAX];
    pb_format_time_ms(pb_wall_ms(), when);
    int n = snprintf(line, sizeof(line), "{\"time\":\"%s\",\"level\":\"%s\",\"msg\":\"%s\"",
                     when, level_names[level], msg);
    if (fields && n > 0 && (size_t)n < sizeof(line) - 2) {
        line[n++] = ',';
        va_list ap;
        va_start(ap, fields);
        int m = vsnprintf(line + n, sizeof(line) - (size_t)n, fields, ap);
        va_end(ap);
        if (m > 0)
            n += m;
    }
    if (n < 0 || (size_t)n >= sizeof(line) - 2)
        n = (int)sizeof(line) - 3;
    line[n++] = '}';
    line[n++] = '\n';
    pb_log_raw(line, (size_t)n);
}
