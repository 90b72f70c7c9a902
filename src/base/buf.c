/* buf.c: growable byte buffer (buf.h). */
#include "base/buf.h"

#include <stdio.h>
#include <string.h>

#include "base/base.h"

void pb_buf_init(struct pb_buf *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void pb_buf_release(struct pb_buf *b)
{
    pb_free(b->data);
    pb_buf_init(b);
}

void pb_buf_reset(struct pb_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

void pb_buf_grow(struct pb_buf *b, size_t extra)
{
    PB_ASSERT(b->len + extra + 1 > b->len); /* no wrap-around */
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    b->data = pb_realloc(b->data, cap);
    b->cap = cap;
}

void pb_buf_append(struct pb_buf *b, const void *data, size_t len)
{
    pb_buf_grow(b, len);
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
}

void pb_buf_puts(struct pb_buf *b, const char *s)
{
    pb_buf_append(b, s, strlen(s));
}

void pb_buf_putc(struct pb_buf *b, char c)
{
    pb_buf_append(b, &c, 1);
}

/* One pass when the text fits in the spare capacity (the common case once a buffer has
 * grown); a second, into room made to measure, when it does not. */
void pb_buf_vprintf(struct pb_buf *b, const char *fmt, va_list ap)
{
    va_list copy;
    va_copy(copy, ap);
    size_t room = b->cap - b->len; /* cap > len whenever data is allocated */
    int n = vsnprintf(b->cap ? b->data + b->len : NULL, b->cap ? room : 0, fmt, copy);
    va_end(copy);
    PB_ASSERT(n >= 0);
    if (b->cap == 0 || (size_t)n >= room) {
        pb_buf_grow(b, (size_t)n);
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    }
    b->len += (size_t)n;
}

void pb_buf_put_i64(struct pb_buf *b, int64_t v)
{
    char tmp[PB_I64_TEXT_MAX];
    pb_buf_append(b, tmp, pb_i64_text(v, tmp));
}

size_t pb_i64_text(int64_t v, char out[PB_I64_TEXT_MAX])
{
    char rev[PB_I64_TEXT_MAX];
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v; /* INT64_MIN too */
    size_t n = 0, len = 0;
    do {
        rev[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        out[len++] = '-';
    while (n)
        out[len++] = rev[--n];
    out[len] = '\0';
    return len;
}

void pb_buf_printf(struct pb_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    pb_buf_vprintf(b, fmt, ap);
    va_end(ap);
}

void pb_buf_json_string(struct pb_buf *b, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    pb_buf_grow(b, len + 2);
    pb_buf_putc(b, '"');
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            char esc[2] = {'\\', (char)c};
            pb_buf_append(b, esc, 2);
        } else if (c == '\n' || c == '\r' || c == '\t') {
            char esc[2] = {'\\', c == '\n' ? 'n' : c == '\r' ? 'r' : 't'};
            pb_buf_append(b, esc, 2);
        } else if (c < 0x20) {
            char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            pb_buf_append(b, esc, 6);
        } else {
            pb_buf_putc(b, (char)c);
        }
    }
    pb_buf_putc(b, '"');
}

const char *pb_buf_str(const struct pb_buf *b)
{
    return b->data ? b->data : "";
}

char *pb_buf_detach(struct pb_buf *b, size_t *len_out)
{
    if (!b->data)
        pb_buf_grow(b, 0), b->data[0] = '\0';
    char *p = b->data;
    if (len_out)
        *len_out = b->len;
    pb_buf_init(b);
    return p;
}
