/* ws_int.h: internals of the WebSocket module shared by ws.c (handshake, client protocol) and
 * ws_hub.c (the hub thread). Only those two files and tests/unit/test_ws.c include this.
 *
 * Design notes (DESIGN.md 2.1, STYLE.md 14):
 * - The hub thread owns every upgraded socket and all per-connection state. Other threads
 *   reach it only through two bounded hand-over queues (upgraded sockets, publishes) guarded
 *   by one mutex that is never held during socket I/O, plus an eventfd to wake the thread.
 * - The HTTP thread answering the handshake admits a connection against connections_max
 *   (ws__hub_admit, a soft check); the hub enforces the hard cap when it adopts the socket.
 * - A connection is given back to MHD with MHD_upgrade_action(urh, CLOSE) exactly once, from
 *   the hub thread, after its fd has left the hub's epoll set; MHD closes the fd itself. In
 *   tests a connection may be handed over with urh NULL, and then the hub closes the fd.
 * - Closing: we queue a close frame and wait for the peer's (at most PB_WS_CLOSE_TIMEOUT_S);
 *   when wslay has stopped reading before the peer's close arrived (1009, protocol errors),
 *   we shut down our write side and drain input briefly, so the peer reads our close frame
 *   instead of a reset. */
#ifndef PB_WS_INT_H
#define PB_WS_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "base/json.h"
#include "base/limits.h"
#include "http/ws.h"

struct MHD_UpgradeResponseHandle;

/* RFC 6455 section 4.2.1: the key is the base64 encoding of 16 bytes (24 characters). */
#define WS_KEY_LEN 24

/* Handshake helpers (pure functions). */
/* True when key is base64 (with padding) of exactly 16 bytes. */
bool ws__key_valid(const char *key);
/* True when the comma-separated header value contains token (case-insensitive). */
bool ws__header_has_token(const char *value, const char *token);

/* Client messages (pure functions). */
enum ws__msg_kind { WS_MSG_SUBSCRIBE, WS_MSG_UNSUBSCRIBE, WS_MSG_PING };

struct ws__client_msg {
    enum ws__msg_kind kind;
    char topic[PB_WS_TOPIC_MAX + 1]; /* subscribe and unsubscribe only; "" otherwise */
};

/* Decodes one client text message (len bytes, not NUL-terminated) strictly: a JSON object
 * with a known "type" and exactly that type's fields. Returns 0, or PB_ERR_INVALID with err
 * filled (codes from json.h plus "unknown_type"). */
int ws__client_msg_parse(const char *text, size_t len, struct ws__client_msg *out,
                         struct pb_json_error *err);
/* Appends {"type":"error","code":..,"detail":..[,"field":..]} to out. */
void ws__encode_error(struct pb_buf *out, const char *code, const char *detail, const char *field);
/* Appends {"type":T,"topic":topic} to out (subscribed / unsubscribed replies). */
void ws__encode_topic_reply(struct pb_buf *out, const char *type, const char *topic);
/* Appends {"type":"event","topic":topic,"data":<data>} to out; data is JSON text. */
void ws__encode_event(struct pb_buf *out, const char *topic, size_t topic_len, const char *data,
                      size_t data_len);

/* Hub entry points for ws.c. */
/* Called by the handshake handler on an HTTP thread: 0 when a new connection may be
 * accepted, PB_ERR_FULL at capacity, PB_ERR_CLOSED when the hub is stopping. */
int ws__hub_admit(struct ws_hub *hub);
/* Hands an upgraded socket to the hub (any thread). extra (extra_len bytes, may be NULL when
 * 0) is copied. urh NULL means the hub owns fd and closes it itself (tests). Returns 0, or
 * PB_ERR_FULL / PB_ERR_CLOSED: then the caller still owns the socket and must close it. */
int ws__hub_hand_over(struct ws_hub *hub, int fd, struct MHD_UpgradeResponseHandle *urh,
                      const char *extra, size_t extra_len, const char *principal);
/* Whether principal ("" anonymous, "player:<id>", "staff...") may subscribe to topic. */
bool ws__may_subscribe(const char *principal, const char *topic);

#endif
