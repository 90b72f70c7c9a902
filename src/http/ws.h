/* ws.h: WebSocket at /api/v1/ws (MHD upgrade + wslay framing). DESIGN.md sections 2.1, 5.
 *
 * One thread (the hub) owns every upgraded socket in one epoll loop. Other threads never touch
 * a socket: they publish to topics through a bounded queue (ws_hub_publish), and the HTTP
 * threads hand over freshly upgraded sockets through another. Each connection has a capped
 * send queue; a consumer that falls behind by more than the cap is closed (1008 policy).
 * Ping every ping_interval_s; a connection silent for idle_timeout_s is closed. Messages
 * larger than message_max are refused with close code 1009.
 *
 * Protocol (JSON text frames, each with a "type"):
 *   client -> {"type":"subscribe","topic":"T"}   server -> {"type":"subscribed","topic":"T"}
 *     (topic "player:<id>" only for that player's session or staff: else an error "forbidden")
 *   client -> {"type":"unsubscribe","topic":"T"} server -> {"type":"unsubscribed","topic":"T"}
 *   client -> {"type":"ping"}                    server -> {"type":"pong"}
 *   server -> {"type":"event","topic":"T","data":{...}}   for each publish to T
 *   server -> {"type":"error","code":"...","detail":"..."} for a bad client message
 */
#ifndef PB_WS_H
#define PB_WS_H

#include <stdbool.h>
#include <stddef.h>

#include "http/http.h"

struct ws_hub_config {
    size_t message_max;       /* largest client message accepted, bytes */
    size_t send_queue_max;    /* bytes queued to one client before it is evicted */
    int connections_max;      /* further upgrade requests get 503 */
    int ping_interval_s;
    int idle_timeout_s;
};

struct ws_hub;

/* Starts the hub thread. Returns 0, PB_ERR_INVALID for a config outside the bounds in
 * limits.h, or PB_ERR_IO when the thread or its descriptors cannot be created. */
int ws_hub_start(const struct ws_hub_config *cfg, struct ws_hub **out);
/* Closes every connection (close frame 1001 going away; waits at most PB_WS_STOP_WAIT_MS for
 * the handshakes) and joins the thread. Afterwards handshakes get 503 and sockets still
 * arriving from MHD are given straight back. Idempotent.
 * Shutdown order: ws_hub_stop, then http_server_free (MHD frees every upgrade handle), then
 * ws_hub_free (the upgrade callbacks hold the hub pointer until MHD is gone). */
void ws_hub_stop(struct ws_hub *hub);
/* Frees the hub (stopping it first if needed). NULL is ignored. */
void ws_hub_free(struct ws_hub *hub);

/* Any thread: queues data (a JSON value as text, len bytes, copied) for every connection
 * subscribed to topic (1..PB_WS_TOPIC_MAX bytes). Returns 0, PB_ERR_FULL when the publish
 * queue is full (counted in pitboss_ws_publish_dropped_total), PB_ERR_TOO_LARGE when len
 * exceeds send_queue_max (no subscriber could take it), PB_ERR_INVALID for a bad topic or
 * empty data, PB_ERR_CLOSED once the hub is stopping. A topic no connection holds
 * (ws_hub_wanted false) queues nothing and answers 0. */
int ws_hub_publish(struct ws_hub *hub, const char *topic, const char *data, size_t len);
/* Any thread: true when no connection is open or being handed over, so a publish now would
 * reach nobody (a connection subscribes only after it is open): publishers may skip building
 * the message. */
bool ws_hub_idle(struct ws_hub *hub);
/* Any thread: false when no connection is subscribed to topic, so a publish to it now would
 * reach nobody: publishers may skip building the message. True may be a false alarm (another
 * topic sharing its filter slot). A subscription counts from before its "subscribed" reply;
 * a publish made while a subscription is being taken may miss it, as one made just before. */
bool ws_hub_wanted(struct ws_hub *hub, const char *topic);

/* The HTTP handler for GET /api/v1/ws: validates the handshake (426/400 problem otherwise)
 * and answers 101 with an upgrade response whose callback hands the socket to the hub. The
 * hub is found in the application context through ws_hub_of(req->app). */
enum http_result ws_handle_upgrade(struct http_request *req, struct http_response *resp);
struct ws_hub *ws_hub_of(void *app); /* provided by the application (src/core/app.c) */
/* Provided by the application: authenticates the WebSocket handshake from its
 * "Authorization: Bearer <token>" header or, for browsers (which cannot set headers on a
 * WebSocket), its access_token query parameter. Sets req->principal ("" when no credential
 * was given). Returns 0, or PB_ERR_INVALID for a credential that is not valid (answered 401).
 * Topics "player:<id>" may only be subscribed by that player or by staff. */
int ws_authenticate(struct http_request *req);

/* Prometheus lines: open connections, evictions, messages in/out, dropped publishes. */
void ws_hub_metrics(struct ws_hub *hub, struct pb_buf *out);

/* Sec-WebSocket-Accept for a client key (RFC 6455 section 4.2.2): out gets 28 chars + NUL. */
void ws_accept_key(const char *client_key, char out[29]);

#endif
