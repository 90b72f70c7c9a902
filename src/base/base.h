/* base.h: allocation that aborts on out-of-memory, assertions that stay on in release
 * builds, the error convention and clocks. Every pitboss file includes this first.
 * Conventions: STYLE.md sections 6, 7 and 12. */
#ifndef PB_BASE_H
#define PB_BASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Errors: functions that can fail return 0 (PB_OK) or one of these negative values. */
enum pb_err {
    PB_OK = 0,
    PB_ERR_INVALID = -1,   /* bad input from the outside world */
    PB_ERR_NOT_FOUND = -2, /* the thing asked for does not exist */
    PB_ERR_CONFLICT = -3,  /* a uniqueness or state conflict */
    PB_ERR_FULL = -4,      /* a bounded queue or limit is full: try again later */
    PB_ERR_IO = -5,        /* an operating-system call failed */
    PB_ERR_DB = -6,        /* the database reported an error */
    PB_ERR_CLOSED = -7,    /* the component is shutting down */
    PB_ERR_TOO_LARGE = -8, /* input exceeds a named limit */
    PB_ERR_TIMEOUT = -9,   /* a deadline passed */
};

/* The stable name of an error value, for logs. */
const char *pb_err_name(int err);

/* Programmer errors crash, in every build type. */
#define PB_ASSERT(cond)                                                                         \
    do {                                                                                       \
        if (__builtin_expect(!(cond), 0))                                                      \
            pb_assert_fail(#cond, __FILE__, __LINE__);                                         \
    } while (0)
_Noreturn void pb_assert_fail(const char *cond, const char *file, int line);

#define PB_STR_(x) #x
#define PB_STR(x) PB_STR_(x) /* a macro's value as a string literal */
#define PB_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define PB_UNUSED(x) ((void)(x))

/* Allocation: never returns NULL; aborts the process when memory is exhausted. */
void *pb_malloc(size_t size);
void *pb_calloc(size_t count, size_t size);
void *pb_realloc(void *ptr, size_t size);
char *pb_strdup(const char *s);
char *pb_strndup(const char *s, size_t n);
void pb_free(void *ptr);

/* Clocks. pb_wall_ms: milliseconds since the Unix epoch. pb_mono_ns: monotonic nanoseconds,
 * for durations only. */
int64_t pb_wall_ms(void);
uint64_t pb_mono_ns(void);

/* Formats ms since the epoch as RFC 3339 UTC with milliseconds: 2026-11-20T23:59:01.123Z. */
#define PB_TIME_TEXT_MAX 64
void pb_format_time_ms(int64_t ms, char out[PB_TIME_TEXT_MAX]);

/* Copies src into dst (size dstlen, > 0), always terminated; returns false if truncated. */
bool pb_strlcpy(char *dst, const char *src, size_t dstlen);

/* Fills out (2 * nbytes + 1 chars) with nbytes of CSPRNG output as lower-case hex. */
void pb_random_hex(char *out, size_t nbytes);
/* Fills out with n bytes of CSPRNG output. */
void pb_random_bytes(void *out, size_t n);

#endif
