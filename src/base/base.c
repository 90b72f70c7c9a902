/* base.c: allocation, assertions, clocks and small string helpers (base.h). */
#include "base/base.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *pb_err_name(int err)
{
    switch (err) {
    case PB_OK: return "ok";
    case PB_ERR_INVALID: return "invalid";
    case PB_ERR_NOT_FOUND: return "not_found";
    case PB_ERR_CONFLICT: return "conflict";
    case PB_ERR_FULL: return "full";
    case PB_ERR_IO: return "io";
    case PB_ERR_DB: return "db";
    case PB_ERR_CLOSED: return "closed";
    case PB_ERR_TOO_LARGE: return "too_large";
    case PB_ERR_TIMEOUT: return "timeout";
    default: return "unknown";
    }
}

void pb_assert_fail(const char *cond, const char *file, int line)
{
    fprintf(stderr, "{\"level\":\"fatal\",\"msg\":\"assertion failed\",\"cond\":\"%s\","
                    "\"file\":\"%s\",\"line\":%d}\n", cond, file, line);
    fflush(stderr);
    abort();
}

static void *oom(size_t size)
{
    fprintf(stderr, "{\"level\":\"fatal\",\"msg\":\"out of memory\",\"size\":%zu}\n", size);
    abort();
}

void *pb_malloc(size_t size)
{
    void *p = malloc(size ? size : 1);
    return p ? p : oom(size);
}

void *pb_calloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    return p ? p : oom(count * size);
}

void *pb_realloc(void *ptr, size_t size)
{
    void *p = realloc(ptr, size ? size : 1);
    return p ? p : oom(size);
}

char *pb_strdup(const char *s)
{
    return pb_strndup(s, strlen(s));
}

char *pb_strndup(const char *s, size_t n)
{
    char *p = pb_malloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void pb_free(void *ptr)
{
    free(ptr);
}

int64_t pb_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint64_t pb_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void pb_format_time_ms(int64_t ms, char out[PB_TIME_TEXT_MAX])
{
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    snprintf(out, PB_TIME_TEXT_MAX, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

bool pb_strlcpy(char *dst, const char *src, size_t dstlen)
{
    PB_ASSERT(dstlen > 0);
    size_t n = strlen(src);
    bool fits = n < dstlen;
    if (!fits)
        n = dstlen - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
    return fits;
}

void pb_random_bytes(void *out, size_t n)
{
    randombytes_buf(out, n);
}

void pb_random_hex(char *out, size_t nbytes)
{
    unsigned char raw[64];
    PB_ASSERT(nbytes <= sizeof(raw));
    randombytes_buf(raw, nbytes);
    sodium_bin2hex(out, 2 * nbytes + 1, raw, nbytes);
}
