/* ws_client.c: a small blocking WebSocket client for tests (ws_client.h). */
#include "ws_client.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http/ws.h"

#define WS_CLIENT_HANDSHAKE_MAX 8192 /* the 101 response is a few hundred bytes */
#define WS_CLIENT_HANDSHAKE_MS 5000

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void client_init(struct ws_client *c, int fd)
{
    memset(c, 0, sizeof(*c));
    c->fd = fd;
    c->answer_pings = true;
}

void ws_client_attach(struct ws_client *c, int fd)
{
    client_init(c, fd);
}

void ws_client_close(struct ws_client *c)
{
    if (c->fd >= 0)
        close(c->fd);
    free(c->buf);
    memset(c, 0, sizeof(*c));
    c->fd = -1;
}

static int send_all(int fd, const void *data, size_t len)
{
    const unsigned char *p = data;
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Reads more bytes into c->buf, waiting until deadline (ms, monotonic): 1 read, 0 timeout,
 * -1 EOF or error. */
static int fill(struct ws_client *c, int64_t deadline)
{
    int64_t left = deadline - now_ms();
    if (left < 0)
        left = 0;
    struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
    int rc = poll(&pfd, 1, (int)left);
    if (rc < 0 && errno == EINTR)
        return 0;
    if (rc <= 0)
        return rc == 0 ? 0 : -1;
    if (c->cap - c->len < 65536) {
        c->cap = c->cap * 2 + 65536;
        c->buf = realloc(c->buf, c->cap);
        if (!c->buf)
            abort();
    }
    ssize_t n = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
    if (n <= 0)
        return -1;
    c->len += (size_t)n;
    return 1;
}

static void consume(struct ws_client *c, size_t n)
{
    memmove(c->buf, c->buf + n, c->len - n);
    c->len -= n;
}

static int connect_socket(int port, int rcvbuf)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    if (rcvbuf > 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Copies the value of header name from the response head into out ("" if absent). */
static void head_value(const char *head, const char *name, char *out, size_t outlen)
{
    out[0] = '\0';
    size_t n = strlen(name);
    for (const char *p = strstr(head, "\r\n"); p && p[2]; p = strstr(p + 2, "\r\n")) {
        const char *line = p + 2;
        if (strncasecmp(line, name, n) != 0 || line[n] != ':')
            continue;
        const char *v = line + n + 1;
        while (*v == ' ')
            v++;
        size_t len = strcspn(v, "\r");
        snprintf(out, outlen, "%.*s", (int)len, v);
        return;
    }
}

/* Reads the response head (up to and including the blank line); bytes after it stay in c->buf
 * as the first frames. Returns 0 or -1. */
static int read_head(struct ws_client *c, char *head, size_t head_len)
{
    int64_t deadline = now_ms() + WS_CLIENT_HANDSHAKE_MS;
    for (;;) {
        for (size_t i = 3; i < c->len; i++) {
            if (memcmp(c->buf + i - 3, "\r\n\r\n", 4) != 0)
                continue;
            if (i + 1 >= head_len)
                return -1;
            memcpy(head, c->buf, i + 1);
            head[i + 1] = '\0';
            consume(c, i + 1);
            return 0;
        }
        if (c->len >= WS_CLIENT_HANDSHAKE_MAX || fill(c, deadline) <= 0)
            return -1;
    }
}

int ws_client_connect(struct ws_client *c, int port, const struct ws_client_options *opt)
{
    int fd = connect_socket(port, opt ? opt->rcvbuf : 0);
    client_init(c, fd);
    if (fd < 0)
        return -1;
    unsigned char raw_key[16];
    randombytes_buf(raw_key, sizeof(raw_key));
    sodium_bin2base64(c->key, sizeof(c->key), raw_key, sizeof(raw_key),
                      sodium_base64_VARIANT_ORIGINAL);
    char req[1024], auth[320] = "";
    if (opt && opt->authorization)
        snprintf(auth, sizeof(auth), "Authorization: %s\r\n", opt->authorization);
    int n = snprintf(req, sizeof(req),
                     "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                     "Sec-WebSocket-Version: 13\r\n%s\r\n",
                     opt && opt->path ? opt->path : "/api/v1/ws", port, c->key, auth);
    if (n <= 0 || (size_t)n >= sizeof(req) || send_all(fd, req, (size_t)n) != 0)
        return -1;
    char head[WS_CLIENT_HANDSHAKE_MAX + 1];
    if (read_head(c, head, sizeof(head)) != 0)
        return -1;
    if (sscanf(head, "HTTP/1.1 %d", &c->handshake_status) != 1)
        return -1;
    head_value(head, "Sec-WebSocket-Accept", c->accept, sizeof(c->accept));
    char expected[29];
    ws_accept_key(c->key, expected);
    if (c->handshake_status != 101 || strcmp(c->accept, expected) != 0)
        return -1;
    return 0;
}

/* Writes a frame header (FIN bit from fin, MASK set) for len payload bytes; returns its size. */
static size_t frame_header(unsigned char *h, int opcode, bool fin, uint64_t len,
                           const unsigned char mask[4])
{
    size_t n = 0;
    h[n++] = (unsigned char)((fin ? 0x80 : 0) | (opcode & 0x0f));
    if (len < 126) {
        h[n++] = (unsigned char)(0x80 | len);
    } else if (len <= 0xffff) {
        h[n++] = 0x80 | 126;
        h[n++] = (unsigned char)(len >> 8);
        h[n++] = (unsigned char)len;
    } else {
        h[n++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--)
            h[n++] = (unsigned char)(len >> (8 * i));
    }
    memcpy(h + n, mask, 4);
    return n + 4;
}

int ws_client_send(struct ws_client *c, int opcode, const void *data, size_t len)
{
    unsigned char mask[4];
    randombytes_buf(mask, sizeof(mask));
    unsigned char *frame = malloc(14 + len);
    if (!frame)
        abort();
    size_t h = frame_header(frame, opcode, true, len, mask);
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++)
        frame[h + i] = p[i] ^ mask[i % 4];
    int rc = send_all(c->fd, frame, h + len);
    free(frame);
    return rc;
}

int ws_client_send_text(struct ws_client *c, const char *text)
{
    return ws_client_send(c, WS_OP_TEXT, text, strlen(text));
}

int ws_client_send_close(struct ws_client *c, int code, const char *reason)
{
    unsigned char payload[125];
    size_t len = 0;
    if (code >= 0) {
        payload[0] = (unsigned char)(code >> 8);
        payload[1] = (unsigned char)code;
        size_t rl = reason ? strlen(reason) : 0;
        if (rl > sizeof(payload) - 2)
            rl = sizeof(payload) - 2;
        memcpy(payload + 2, reason, rl);
        len = 2 + rl;
    }
    return ws_client_send(c, WS_OP_CLOSE, payload, len);
}

int ws_client_send_header(struct ws_client *c, int opcode, bool fin, uint64_t declared_len)
{
    unsigned char mask[4];
    randombytes_buf(mask, sizeof(mask));
    unsigned char h[14];
    size_t n = frame_header(h, opcode, fin, declared_len, mask);
    return send_all(c->fd, h, n);
}

int ws_client_send_raw(struct ws_client *c, const void *data, size_t len)
{
    return send_all(c->fd, data, len);
}

/* Parses one complete frame at the start of c->buf: 1 parsed (f filled, bytes consumed), 0
 * more bytes needed. */
static int parse_frame(struct ws_client *c, struct ws_frame *f)
{
    if (c->len < 2)
        return 0;
    const unsigned char *b = c->buf;
    bool masked = (b[1] & 0x80) != 0;
    uint64_t len = b[1] & 0x7f;
    size_t pos = 2;
    if (len == 126 || len == 127) {
        size_t ext = len == 126 ? 2 : 8;
        if (c->len < pos + ext)
            return 0;
        len = 0;
        for (size_t i = 0; i < ext; i++)
            len = (len << 8) | b[pos + i];
        pos += ext;
    }
    size_t mask_pos = pos;
    pos += masked ? 4 : 0;
    if (c->len < pos || c->len - pos < len)
        return 0;
    memset(f, 0, sizeof(*f));
    f->opcode = b[0] & 0x0f;
    f->fin = (b[0] & 0x80) != 0;
    f->len = (size_t)len;
    f->data = malloc(f->len + 1);
    if (!f->data)
        abort();
    for (size_t i = 0; i < f->len; i++)
        f->data[i] = b[pos + i] ^ (masked ? b[mask_pos + i % 4] : 0);
    f->data[f->len] = '\0';
    if (f->opcode == WS_OP_CLOSE) {
        f->close_code = f->len >= 2 ? (f->data[0] << 8) | f->data[1] : 1005;
        if (f->len > 2)
            snprintf(f->close_reason, sizeof(f->close_reason), "%.*s", (int)(f->len - 2),
                     (const char *)f->data + 2);
    }
    consume(c, pos + f->len);
    return 1;
}

int ws_client_read_frame(struct ws_client *c, struct ws_frame *f, int timeout_ms)
{
    int64_t deadline = now_ms() + timeout_ms;
    for (;;) {
        if (parse_frame(c, f)) {
            if (f->opcode == WS_OP_PING) {
                c->pings_seen++;
                if (c->answer_pings)
                    ws_client_send(c, WS_OP_PONG, f->data, f->len);
            }
            return 1;
        }
        int rc = fill(c, deadline);
        if (rc <= 0)
            return rc;
    }
}

void ws_frame_release(struct ws_frame *f)
{
    free(f->data);
    f->data = NULL;
}

char *ws_client_read_text(struct ws_client *c, int timeout_ms, int *close_code)
{
    int64_t deadline = now_ms() + timeout_ms;
    if (close_code)
        *close_code = 0;
    for (;;) {
        int64_t left = deadline - now_ms();
        struct ws_frame f;
        if (left < 0 || ws_client_read_frame(c, &f, (int)left) != 1)
            return NULL;
        if (f.opcode == WS_OP_TEXT)
            return (char *)f.data; /* the caller frees */
        if (f.opcode == WS_OP_CLOSE && close_code)
            *close_code = f.close_code;
        ws_frame_release(&f);
        if (close_code && *close_code)
            return NULL;
    }
}

char *ws_client_read_until(struct ws_client *c, const char *needle, int timeout_ms)
{
    int64_t deadline = now_ms() + timeout_ms;
    for (;;) {
        int64_t left = deadline - now_ms();
        int close_code = 0;
        char *text = left >= 0 ? ws_client_read_text(c, (int)left, &close_code) : NULL;
        if (!text || strstr(text, needle))
            return text;
        free(text);
    }
}

int ws_client_read_close(struct ws_client *c, int timeout_ms, char *reason, size_t reason_len)
{
    int64_t deadline = now_ms() + timeout_ms;
    for (;;) {
        int64_t left = deadline - now_ms();
        if (left < 0)
            return -1;
        struct ws_frame f;
        int rc = ws_client_read_frame(c, &f, (int)left);
        if (rc <= 0)
            return rc == 0 ? -1 : 0;
        int code = f.opcode == WS_OP_CLOSE ? f.close_code : 0;
        if (code && reason)
            snprintf(reason, reason_len, "%s", f.close_reason);
        ws_frame_release(&f);
        if (code)
            return code;
    }
}

bool ws_client_wait_eof(struct ws_client *c, int timeout_ms)
{
    int64_t deadline = now_ms() + timeout_ms;
    for (;;) {
        c->len = 0; /* discard */
        int rc = fill(c, deadline);
        if (rc < 0)
            return true;
        if (rc == 0 && now_ms() >= deadline)
            return false;
    }
}

void ws_client_expect_text(struct ws_client *c, const char *expected, int timeout_ms)
{
    char *text = ws_client_read_text(c, timeout_ms, NULL);
    if (!text)
        fail_msg("no text message, expected %s", expected);
    assert_string_equal(text, expected);
    free(text);
}

void ws_client_subscribe(struct ws_client *c, const char *topic, int timeout_ms)
{
    char msg[256], reply[256];
    snprintf(msg, sizeof(msg), "{\"type\":\"subscribe\",\"topic\":\"%s\"}", topic);
    snprintf(reply, sizeof(reply), "{\"type\":\"subscribed\",\"topic\":\"%s\"}", topic);
    assert_int_equal(ws_client_send_text(c, msg), 0);
    ws_client_expect_text(c, reply, timeout_ms);
}
