/* buf.h: a growable byte buffer, always NUL-terminated (after git's strbuf).
 * Ownership: the buffer owns data; pb_buf_release frees it and leaves an empty buffer. */
#ifndef PB_BUF_H
#define PB_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

struct pb_buf {
    char *data; /* NUL-terminated; NULL only before the first append */
    size_t len;
    size_t cap;
};

#define PB_BUF_INIT {NULL, 0, 0}

void pb_buf_init(struct pb_buf *b);
void pb_buf_release(struct pb_buf *b);
void pb_buf_reset(struct pb_buf *b); /* len = 0, keeps the allocation */
void pb_buf_grow(struct pb_buf *b, size_t extra);
void pb_buf_append(struct pb_buf *b, const void *data, size_t len);
void pb_buf_puts(struct pb_buf *b, const char *s);
void pb_buf_putc(struct pb_buf *b, char c);
__attribute__((format(printf, 2, 3))) void pb_buf_printf(struct pb_buf *b, const char *fmt, ...);
void pb_buf_vprintf(struct pb_buf *b, const char *fmt, va_list ap);
/* Appends v in decimal, as "%lld" would (without printf's cost). */
void pb_buf_put_i64(struct pb_buf *b, int64_t v);
/* v in decimal into out (NUL-terminated); returns the length. */
#define PB_I64_TEXT_MAX 21 /* "-9223372036854775808" and the NUL */
size_t pb_i64_text(int64_t v, char out[PB_I64_TEXT_MAX]);
/* Appends s (len bytes) as a JSON string literal, quotes included, escaping as RFC 8259 asks. */
void pb_buf_json_string(struct pb_buf *b, const char *s, size_t len);
/* Returns the data (never NULL; "" for an empty buffer). */
const char *pb_buf_str(const struct pb_buf *b);
/* Hands the allocation to the caller (free with pb_free) and empties the buffer. */
char *pb_buf_detach(struct pb_buf *b, size_t *len_out);

#endif
