/* ws_client.h: a small blocking WebSocket client (RFC 6455, client side) for black-box tests:
 * connect and handshake over a raw socket, send masked frames (including malformed ones: a
 * header declaring more payload than is ever sent), read frames with a timeout, answer pings.
 * Deliberately independent of client.h so unit tests can include ws_client.c and drive the
 * hub over a socketpair (ws_client_attach). Functions return status codes; tests assert. */
#ifndef PB_TEST_WS_CLIENT_H
#define PB_TEST_WS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ws_opcode {
    WS_OP_CONTINUATION = 0x0,
    WS_OP_TEXT = 0x1,
    WS_OP_BINARY = 0x2,
    WS_OP_CLOSE = 0x8,
    WS_OP_PING = 0x9,
    WS_OP_PONG = 0xa,
};

struct ws_client {
    int fd;
    bool answer_pings;    /* reading answers each ping with a pong (default true) */
    int pings_seen;       /* pings read so far */
    int handshake_status; /* HTTP status of the handshake response, 0 if none arrived */
    char accept[64];      /* Sec-WebSocket-Accept of the response */
    char key[32];         /* Sec-WebSocket-Key we sent */
    unsigned char *buf;   /* received bytes not yet returned as frames */
    size_t len, cap;
};

struct ws_frame {
    int opcode;
    bool fin;
    unsigned char *data; /* owned, NUL-terminated; ws_frame_release */
    size_t len;
    int close_code; /* close frames: the status code, 1005 when the frame has none */
    char close_reason[128];
};

struct ws_client_options {
    const char *path; /* request target; NULL: /api/v1/ws */
    int rcvbuf;       /* > 0: SO_RCVBUF set before connect (a slow consumer) */
    const char *authorization; /* the Authorization header's value, or NULL */
};

/* Connects to 127.0.0.1:port and performs the handshake (opt may be NULL). Returns 0 when the
 * server answered 101 with the right Sec-WebSocket-Accept, -1 otherwise (handshake_status
 * tells what came back). The client must be closed with ws_client_close either way. */
int ws_client_connect(struct ws_client *c, int port, const struct ws_client_options *opt);
/* Wraps an already upgraded stream socket (fd is owned from now on). */
void ws_client_attach(struct ws_client *c, int fd);
/* Closes the socket and frees the buffer. */
void ws_client_close(struct ws_client *c);

/* One masked frame with FIN set. Return 0, or -1 when the socket refuses the bytes. */
int ws_client_send(struct ws_client *c, int opcode, const void *data, size_t len);
int ws_client_send_text(struct ws_client *c, const char *text);
/* Close frame with code and reason; code < 0 sends an empty close frame. */
int ws_client_send_close(struct ws_client *c, int code, const char *reason);
/* Only the header (and mask key) of a frame declaring declared_len payload bytes; follow it
 * with ws_client_send_raw (servers such as wslay check the length once payload arrives). */
int ws_client_send_header(struct ws_client *c, int opcode, bool fin, uint64_t declared_len);
/* Bytes as they are, no framing. */
int ws_client_send_raw(struct ws_client *c, const void *data, size_t len);

/* Reads one frame, waiting at most timeout_ms: 1 with f filled, 0 on timeout, -1 on EOF or a
 * socket error. Pings are answered when c->answer_pings (and still returned). */
int ws_client_read_frame(struct ws_client *c, struct ws_frame *f, int timeout_ms);
void ws_frame_release(struct ws_frame *f);
/* The next text message (pings and pongs skipped), malloc'ed; NULL on timeout, EOF or a close
 * frame (then *close_code, if not NULL, gets its code; otherwise 0). */
char *ws_client_read_text(struct ws_client *c, int timeout_ms, int *close_code);
/* Reads text messages until one contains needle; returns it (malloc'ed) or NULL. */
char *ws_client_read_until(struct ws_client *c, const char *needle, int timeout_ms);
/* Skips frames until a close frame: returns its code (reason copied to reason if not NULL),
 * 0 on EOF without a close frame, -1 on timeout. */
int ws_client_read_close(struct ws_client *c, int timeout_ms, char *reason, size_t reason_len);
/* Reads and discards until EOF: true if the peer closed the connection within timeout_ms. */
bool ws_client_wait_eof(struct ws_client *c, int timeout_ms);

/* Test assertions (cmocka): the next message is the text expected; subscribing to topic is
 * acknowledged. */
void ws_client_expect_text(struct ws_client *c, const char *expected, int timeout_ms);
void ws_client_subscribe(struct ws_client *c, const char *topic, int timeout_ms);

#endif
