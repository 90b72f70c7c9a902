/* ws_hub.c: the WebSocket hub (ws.h): one thread, one epoll set over every upgraded socket,
 * wslay framing, capped per-connection send queues, pings, idle timeouts and topic fan-out.
 * Design notes in ws_int.h; DESIGN.md section 2.1.
 *
 * One loop turn: wait for socket events (at most PB_WS_TICK_MS), read what arrived, adopt
 * handed-over sockets, fan out publishes, check timers every tick, then flush once: every
 * connection touched this turn sends what it has queued, re-arms its epoll interest or, when
 * finished, is released. Connections are released only in that flush, so the event array of
 * a turn never points at freed memory. */
#include "http/ws.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>
#include <wslay/wslay.h>

#include "base/base.h"
#include "base/log.h"
#include "http/ws_int.h"

#define NS_PER_MS UINT64_C(1000000)
#define NS_PER_S UINT64_C(1000000000)
#define DRAIN_CHUNK 4096 /* stack buffer for input discarded while draining */

/* An upgraded socket on its way from an MHD thread to the hub. */
struct handover {
    struct handover *next;
    int fd;
    struct MHD_UpgradeResponseHandle *urh; /* NULL: the hub owns fd */
    char principal[PB_HTTP_PRINCIPAL_MAX + 1];
    size_t extra_len;
    char extra[]; /* bytes MHD read past the handshake */
};

/* Slots of the publishers' filter (struct ws_hub's wanted): a few times the topics held at
 * once in a busy node (players online each subscribe their own), so that an unwanted topic
 * rarely shares a slot with a wanted one; 16 KiB. */
#define WS_WANTED_SLOTS 4096

/* A publish on its way to the hub: topic, NUL, data, NUL in one allocation. */
struct publish {
    struct publish *next;
    uint64_t topic_hash;
    size_t topic_len;
    size_t data_len;
    char bytes[];
};

struct topic {
    uint64_t hash;
    char *name; /* owned */
};

enum conn_state {
    CONN_OPEN,     /* messages flow both ways */
    CONN_CLOSING,  /* a close frame is queued or sent; waiting for the handshake to finish */
    CONN_DRAINING, /* our write side is shut down; discarding input until EOF or deadline */
    CONN_DONE,     /* released in this turn's flush */
};

struct conn {
    struct ws_hub *hub;
    struct conn *prev, *next; /* hub->conns */
    struct conn *dirty_next;  /* hub->dirty, while dirty */
    bool dirty;
    bool registered; /* fd is in the epoll set */
    bool peer_gone;  /* EOF or a socket error: nothing more can be exchanged */
    enum conn_state state;
    int fd;
    struct MHD_UpgradeResponseHandle *urh; /* NULL: we close fd ourselves (tests) */
    char principal[PB_HTTP_PRINCIPAL_MAX + 1]; /* who opened it (ws_authenticate) */
    wslay_event_context_ptr ctx;
    char *extra; /* MHD's extra_in, consumed before the socket */
    size_t extra_len, extra_off;
    size_t recv_budget;    /* socket bytes this connection may still read this turn */
    uint32_t epoll_events; /* interest currently registered */
    uint64_t last_recv_ns, last_ping_ns, deadline_ns;
    size_t ntopics;
    struct topic topics[PB_WS_TOPICS_PER_CONNECTION_MAX];
};

struct ws_hub {
    struct ws_hub_config cfg;
    pthread_t thread;
    bool thread_started;
    int epoll_fd;
    int wake_fd;
    atomic_bool stop;

    /* The hand-over queues; lock is never held during socket I/O. */
    pthread_mutex_t lock;
    bool closed;       /* no further hand-overs or publishes */
    bool wake_pending; /* the eventfd was written and the hub has not taken the queues yet */
    struct handover *handover_head, *handover_tail;
    size_t handover_count;
    struct publish *publish_head, *publish_tail;
    size_t publish_count, publish_bytes;
    atomic_long handovers_waiting; /* for ws__hub_admit, read without the lock */

    /* Hub thread only. */
    struct conn *conns;
    struct conn *dirty;
    uint64_t next_tick_ns;
    struct pb_buf reply; /* replies to client messages */
    struct pb_buf event; /* the event frame of the publish being fanned out */

    /* Subscriptions per slot of topic hashes (hash % WS_WANTED_SLOTS), kept by the hub thread
     * and read by publishers (ws_hub_wanted): a slot at 0 means no connection holds any of
     * its topics, so a publish there would reach nobody. */
    _Atomic uint32_t wanted[WS_WANTED_SLOTS];

    /* Metrics, read by any thread. */
    atomic_long connections;
    atomic_ulong evictions, messages_received, messages_sent, publish_dropped;
};

static uint64_t topic_hash(const char *s, size_t len)
{
    uint64_t h = UINT64_C(14695981039346656037); /* FNV-1a */
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= UINT64_C(1099511628211);
    }
    return h;
}

/* Nanoseconds from then to now; 0 if then is later (clock reads within one turn). */
static uint64_t elapsed_ns(uint64_t now, uint64_t then)
{
    return now > then ? now - then : 0;
}

static void hub_wake(struct ws_hub *hub)
{
    uint64_t one = 1;
    ssize_t n = write(hub->wake_fd, &one, sizeof(one));
    PB_ASSERT(n == (ssize_t)sizeof(one) || errno == EAGAIN); /* EAGAIN: already signalled */
}

static void hub_mark_dirty(struct conn *c)
{
    if (c->dirty)
        return;
    c->dirty = true;
    c->dirty_next = c->hub->dirty;
    c->hub->dirty = c;
}

/* Socket callbacks for wslay. */

static ssize_t on_recv(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, int flags,
                       void *user)
{
    PB_UNUSED(flags);
    struct conn *c = user;
    if (c->extra_off < c->extra_len) {
        size_t n = c->extra_len - c->extra_off < len ? c->extra_len - c->extra_off : len;
        memcpy(buf, c->extra + c->extra_off, n);
        c->extra_off += n;
        if (c->extra_off == c->extra_len) {
            pb_free(c->extra);
            c->extra = NULL;
            c->extra_len = c->extra_off = 0;
        }
        return (ssize_t)n;
    }
    if (c->recv_budget == 0) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    ssize_t n = recv(c->fd, buf, len < c->recv_budget ? len : c->recv_budget, 0);
    if (n > 0) {
        c->recv_budget -= (size_t)n;
        return n;
    }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    c->peer_gone = true; /* EOF or a socket error */
    wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
    return -1;
}

static ssize_t on_send(wslay_event_context_ptr ctx, const uint8_t *data, size_t len, int flags,
                       void *user)
{
    struct conn *c = user;
    int send_flags = MSG_NOSIGNAL | ((flags & WSLAY_MSG_MORE) ? MSG_MORE : 0);
    ssize_t n = send(c->fd, data, len, send_flags);
    if (n > 0)
        return n;
    if (n == 0 || errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
        wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
        return -1;
    }
    c->peer_gone = true;
    wslay_event_set_error(ctx, WSLAY_ERR_CALLBACK_FAILURE);
    return -1;
}

static void on_frame_start(wslay_event_context_ptr ctx,
                           const struct wslay_event_on_frame_recv_start_arg *arg, void *user)
{
    PB_UNUSED(ctx);
    PB_UNUSED(arg);
    struct conn *c = user;
    c->last_recv_ns = pb_mono_ns(); /* any frame, pongs included, proves the peer is there */
}

/* Sending and closing. */

/* Queues our close frame (code, reason) unless closing has already begun. */
static void conn_close(struct conn *c, uint16_t code, const char *reason)
{
    if (c->state != CONN_OPEN)
        return;
    int rc = wslay_event_queue_close(c->ctx, code, (const uint8_t *)reason, strlen(reason));
    PB_ASSERT(rc == 0 || rc == WSLAY_ERR_NO_MORE_MSG); /* NO_MORE_MSG: wslay closes already */
    c->state = CONN_CLOSING;
    c->deadline_ns = pb_mono_ns() + (uint64_t)PB_WS_CLOSE_TIMEOUT_S * NS_PER_S;
    hub_mark_dirty(c);
}

static void conn_evict(struct conn *c)
{
    if (c->state != CONN_OPEN)
        return;
    atomic_fetch_add(&c->hub->evictions, 1);
    pb_log(PB_LOG_WARN, "websocket slow consumer evicted", "\"fd\":%d,\"queued_bytes\":%zu", c->fd,
           wslay_event_get_queued_msg_length(c->ctx));
    conn_close(c, WSLAY_CODE_POLICY_VIOLATION, "slow consumer");
}

/* Queues a text message (copied by wslay), evicting the connection instead when its unsent
 * bytes would exceed send_queue_max. */
static void conn_queue_text(struct conn *c, const char *text, size_t len)
{
    if (c->state != CONN_OPEN)
        return;
    size_t queued = wslay_event_get_queued_msg_length(c->ctx);
    if (queued + len > c->hub->cfg.send_queue_max) {
        conn_evict(c);
        return;
    }
    struct wslay_event_msg msg = {WSLAY_TEXT_FRAME, (const uint8_t *)text, len};
    int rc = wslay_event_queue_msg(c->ctx, &msg);
    PB_ASSERT(rc == 0 || rc == WSLAY_ERR_NO_MORE_MSG);
    if (rc == 0) {
        atomic_fetch_add(&c->hub->messages_sent, 1);
        hub_mark_dirty(c);
    }
}

static void conn_ping(struct conn *c, uint64_t now)
{
    struct wslay_event_msg msg = {WSLAY_PING, NULL, 0};
    int rc = wslay_event_queue_msg(c->ctx, &msg);
    PB_ASSERT(rc == 0 || rc == WSLAY_ERR_NO_MORE_MSG);
    c->last_ping_ns = now;
    hub_mark_dirty(c);
}

/* Client messages. */

static int conn_find_topic(const struct conn *c, uint64_t hash, const char *name)
{
    for (size_t i = 0; i < c->ntopics; i++)
        if (c->topics[i].hash == hash && strcmp(c->topics[i].name, name) == 0)
            return (int)i;
    return -1;
}

static void hub_unwant(struct ws_hub *hub, uint64_t hash)
{
    uint32_t before = atomic_fetch_sub(&hub->wanted[hash % WS_WANTED_SLOTS], 1);
    PB_ASSERT(before > 0);
}

static void conn_subscribe(struct conn *c, const char *topic, struct pb_buf *out)
{
    if (!ws__may_subscribe(c->principal, topic)) {
        ws__encode_error(out, "forbidden", "player topics are for that player's session",
                         "topic");
        return;
    }
    uint64_t hash = topic_hash(topic, strlen(topic));
    if (conn_find_topic(c, hash, topic) < 0) {
        if (c->ntopics == PB_WS_TOPICS_PER_CONNECTION_MAX) {
            char detail[96];
            snprintf(detail, sizeof(detail), "at most %d topics per connection",
                     PB_WS_TOPICS_PER_CONNECTION_MAX);
            ws__encode_error(out, "too_many_topics", detail, "topic");
            return;
        }
        c->topics[c->ntopics].hash = hash;
        c->topics[c->ntopics].name = pb_strdup(topic);
        c->ntopics++;
        /* Before the reply: a publish after the client learns of its subscription sees it. */
        atomic_fetch_add(&c->hub->wanted[hash % WS_WANTED_SLOTS], 1);
    }
    PB_ASSERT(c->ntopics <= PB_WS_TOPICS_PER_CONNECTION_MAX);
    ws__encode_topic_reply(out, "subscribed", topic);
}

static void conn_unsubscribe(struct conn *c, const char *topic, struct pb_buf *out)
{
    int i = conn_find_topic(c, topic_hash(topic, strlen(topic)), topic);
    if (i >= 0) {
        hub_unwant(c->hub, c->topics[i].hash);
        pb_free(c->topics[i].name);
        c->topics[i] = c->topics[c->ntopics - 1];
        c->ntopics--;
    }
    ws__encode_topic_reply(out, "unsubscribed", topic);
}

static void conn_handle_text(struct conn *c, const char *text, size_t len)
{
    struct pb_buf *out = &c->hub->reply;
    pb_buf_reset(out);
    struct ws__client_msg msg;
    struct pb_json_error err;
    if (ws__client_msg_parse(text, len, &msg, &err) != PB_OK) {
        ws__encode_error(out, err.code, err.detail, err.field);
    } else if (msg.kind == WS_MSG_SUBSCRIBE) {
        conn_subscribe(c, msg.topic, out);
    } else if (msg.kind == WS_MSG_UNSUBSCRIBE) {
        conn_unsubscribe(c, msg.topic, out);
    } else {
        PB_ASSERT(msg.kind == WS_MSG_PING);
        pb_buf_puts(out, "{\"type\":\"pong\"}");
    }
    conn_queue_text(c, pb_buf_str(out), out->len);
}

static void on_msg(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *arg,
                   void *user)
{
    struct conn *c = user;
    if (arg->opcode == WSLAY_PING) {
        /* wslay queued the pong itself; a peer that pings without reading must not grow
         * our queue without bound. */
        if (wslay_event_get_queued_msg_length(ctx) > c->hub->cfg.send_queue_max)
            conn_evict(c);
        return;
    }
    if (arg->opcode != WSLAY_TEXT_FRAME && arg->opcode != WSLAY_BINARY_FRAME)
        return; /* close and pong: wslay handles them */
    atomic_fetch_add(&c->hub->messages_received, 1);
    if (c->state != CONN_OPEN)
        return;
    if (arg->opcode == WSLAY_BINARY_FRAME) {
        conn_close(c, WSLAY_CODE_UNSUPPORTED_DATA, "binary frames are not accepted");
        return;
    }
    conn_handle_text(c, (const char *)arg->msg, arg->msg_length);
}

static const struct wslay_event_callbacks conn_callbacks = {
    .recv_callback = on_recv,
    .send_callback = on_send,
    .on_frame_recv_start_callback = on_frame_start,
    .on_msg_recv_callback = on_msg,
};

/* Connection lifecycle. */

static void conn_read(struct conn *c)
{
    c->recv_budget = PB_WS_RECV_BUDGET;
    if (wslay_event_recv(c->ctx) != 0)
        c->peer_gone = true;
    hub_mark_dirty(c);
}

/* Reads and discards input while draining; EOF or an error ends the connection. */
static void conn_drain(struct conn *c)
{
    char scratch[DRAIN_CHUNK];
    for (size_t total = 0; total < PB_WS_RECV_BUDGET; total += sizeof(scratch)) {
        ssize_t n = recv(c->fd, scratch, sizeof(scratch), 0);
        if (n > 0)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            break;
        c->state = CONN_DONE;
        break;
    }
    hub_mark_dirty(c);
}

static void conn_on_event(struct conn *c, uint32_t events)
{
    if (c->state == CONN_DONE)
        return;
    if (c->state == CONN_DRAINING) {
        conn_drain(c);
        return;
    }
    if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        if (wslay_event_want_read(c->ctx))
            conn_read(c);
        else if (events & (EPOLLHUP | EPOLLERR))
            c->peer_gone = true;
    }
    hub_mark_dirty(c); /* EPOLLOUT: the flush sends */
}

/* Moves the connection along its states after I/O (see enum conn_state). */
static void conn_advance(struct conn *c)
{
    if (c->peer_gone) {
        c->state = CONN_DONE;
        return;
    }
    if (c->state != CONN_OPEN && c->state != CONN_CLOSING)
        return;
    bool reading = wslay_event_want_read(c->ctx);
    bool writing = wslay_event_want_write(c->ctx);
    bool close_received = wslay_event_get_close_received(c->ctx);
    if (c->state == CONN_OPEN && (!reading || close_received)) {
        /* wslay began closing: the peer's close, 1009, a protocol error */
        c->state = CONN_CLOSING;
        c->deadline_ns = pb_mono_ns() + (uint64_t)PB_WS_CLOSE_TIMEOUT_S * NS_PER_S;
    }
    if (reading || writing)
        return;
    if (close_received) {
        c->state = CONN_DONE; /* both close frames exchanged */
        return;
    }
    /* Our close is sent but wslay stopped reading before the peer's close came: let the peer
     * read our close frame before the socket goes, instead of a reset over unread input. */
    shutdown(c->fd, SHUT_WR);
    c->state = CONN_DRAINING;
}

static void conn_rearm(struct conn *c)
{
    uint32_t want = 0;
    if (c->state == CONN_DRAINING) {
        want = EPOLLIN;
    } else {
        if (wslay_event_want_read(c->ctx))
            want |= EPOLLIN;
        if (wslay_event_want_write(c->ctx))
            want |= EPOLLOUT;
    }
    if (want == c->epoll_events || !c->registered)
        return;
    struct epoll_event ev = {.events = want, .data.ptr = c};
    int rc = epoll_ctl(c->hub->epoll_fd, EPOLL_CTL_MOD, c->fd, &ev);
    PB_ASSERT(rc == 0);
    c->epoll_events = want;
}

static void conn_release(struct conn *c)
{
    struct ws_hub *hub = c->hub;
    PB_ASSERT(!c->dirty);
    if (c->registered) {
        int rc = epoll_ctl(hub->epoll_fd, EPOLL_CTL_DEL, c->fd, NULL);
        PB_ASSERT(rc == 0);
    }
    if (!c->peer_gone)
        shutdown(c->fd, SHUT_RDWR); /* the peer sees EOF now, whenever MHD gets to close */
    wslay_event_context_free(c->ctx);
    /* After this the fd belongs to MHD again (it closes it), so it is touched no more. */
    if (c->urh)
        MHD_upgrade_action(c->urh, MHD_UPGRADE_ACTION_CLOSE);
    else
        close(c->fd);
    if (c->prev)
        c->prev->next = c->next;
    else
        hub->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    for (size_t i = 0; i < c->ntopics; i++) {
        hub_unwant(hub, c->topics[i].hash);
        pb_free(c->topics[i].name);
    }
    pb_free(c->extra);
    pb_free(c);
    long before = atomic_fetch_sub(&hub->connections, 1);
    PB_ASSERT(before > 0);
}

/* Sends what the connection has queued, then releases it or re-arms its interest. */
static void conn_settle(struct conn *c)
{
    bool can_send = !c->peer_gone && (c->state == CONN_OPEN || c->state == CONN_CLOSING);
    if (can_send && wslay_event_want_write(c->ctx) && wslay_event_send(c->ctx) != 0)
        c->peer_gone = true;
    conn_advance(c);
    if (c->state == CONN_DONE)
        conn_release(c);
    else
        conn_rearm(c);
}

static void hub_flush(struct ws_hub *hub)
{
    struct conn *c = hub->dirty;
    hub->dirty = NULL;
    while (c) { /* the list is finite: nothing below marks a connection dirty again */
        struct conn *next = c->dirty_next;
        c->dirty = false;
        c->dirty_next = NULL;
        conn_settle(c);
        c = next;
    }
    PB_ASSERT(hub->dirty == NULL);
}

static void hub_adopt(struct ws_hub *hub, struct handover *h)
{
    struct conn *c = pb_calloc(1, sizeof(*c));
    c->hub = hub;
    c->fd = h->fd;
    c->urh = h->urh;
    pb_strlcpy(c->principal, h->principal, sizeof(c->principal));
    if (h->extra_len > 0) {
        c->extra = pb_malloc(h->extra_len);
        memcpy(c->extra, h->extra, h->extra_len);
        c->extra_len = h->extra_len;
    }
    c->last_recv_ns = c->last_ping_ns = pb_mono_ns();
    int fl = fcntl(c->fd, F_GETFL);
    if (fl >= 0 && !(fl & O_NONBLOCK))
        fcntl(c->fd, F_SETFL, fl | O_NONBLOCK);
    int one = 1; /* small JSON messages: no Nagle delay (fails harmlessly on non-TCP) */
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    int rc = wslay_event_context_server_init(&c->ctx, &conn_callbacks, c);
    PB_ASSERT(rc == 0); /* fails only for lack of memory */
    wslay_event_config_set_max_recv_msg_length(c->ctx, hub->cfg.message_max);
    c->next = hub->conns;
    if (hub->conns)
        hub->conns->prev = c;
    hub->conns = c;
    long count = atomic_fetch_add(&hub->connections, 1) + 1;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    c->registered = epoll_ctl(hub->epoll_fd, EPOLL_CTL_ADD, c->fd, &ev) == 0;
    c->epoll_events = EPOLLIN;
    if (!c->registered) {
        pb_log(PB_LOG_ERROR, "websocket epoll_ctl failed", "\"errno\":%d", errno);
        c->state = CONN_DONE;
    } else if (count > hub->cfg.connections_max) {
        conn_close(c, 1013, "try again later"); /* the admission check is soft; this is not */
    } else if (c->extra_len > 0) {
        conn_read(c); /* the socket may stay silent: consume extra_in now */
    }
    hub_mark_dirty(c);
}

static void hub_fan_out(struct ws_hub *hub, const struct publish *p)
{
    const char *topic = p->bytes;
    const char *data = p->bytes + p->topic_len + 1;
    bool encoded = false;
    for (struct conn *c = hub->conns; c; c = c->next) {
        if (c->state != CONN_OPEN || conn_find_topic(c, p->topic_hash, topic) < 0)
            continue;
        if (!encoded) {
            pb_buf_reset(&hub->event);
            ws__encode_event(&hub->event, topic, p->topic_len, data, p->data_len);
            encoded = true;
        }
        conn_queue_text(c, pb_buf_str(&hub->event), hub->event.len);
    }
}

/* Takes both hand-over queues in one go and processes them without the lock. */
static void hub_take_queues(struct ws_hub *hub)
{
    pthread_mutex_lock(&hub->lock);
    struct handover *h = hub->handover_head;
    struct publish *p = hub->publish_head;
    hub->handover_head = hub->handover_tail = NULL;
    hub->publish_head = hub->publish_tail = NULL;
    hub->handover_count = hub->publish_count = hub->publish_bytes = 0;
    hub->wake_pending = false;
    pthread_mutex_unlock(&hub->lock);
    while (h) { /* at most PB_WS_HANDOVER_QUEUE_MAX */
        struct handover *next = h->next;
        hub_adopt(hub, h);
        atomic_fetch_sub(&hub->handovers_waiting, 1);
        pb_free(h);
        h = next;
    }
    while (p) { /* at most PB_WS_PUBLISH_QUEUE_MAX */
        struct publish *next = p->next;
        hub_fan_out(hub, p);
        pb_free(p);
        p = next;
    }
}

/* Pings, idle timeouts and close deadlines. */
static void hub_tick(struct ws_hub *hub, uint64_t now)
{
    uint64_t idle_ns = (uint64_t)hub->cfg.idle_timeout_s * NS_PER_S;
    uint64_t ping_ns = (uint64_t)hub->cfg.ping_interval_s * NS_PER_S;
    for (struct conn *c = hub->conns; c; c = c->next) {
        if (c->state == CONN_OPEN) {
            if (elapsed_ns(now, c->last_recv_ns) >= idle_ns)
                conn_close(c, WSLAY_CODE_GOING_AWAY, "idle");
            else if (elapsed_ns(now, c->last_ping_ns) >= ping_ns)
                conn_ping(c, now);
        } else if (c->state != CONN_DONE && now >= c->deadline_ns) {
            c->state = CONN_DONE; /* the peer did not finish the close handshake in time */
            hub_mark_dirty(c);
        }
    }
}

static void hub_turn(struct ws_hub *hub, int timeout_ms)
{
    struct epoll_event events[PB_WS_EPOLL_EVENTS_MAX];
    int n = epoll_wait(hub->epoll_fd, events, PB_WS_EPOLL_EVENTS_MAX, timeout_ms);
    PB_ASSERT(n >= 0 || errno == EINTR);
    for (int i = 0; i < n; i++) {
        if (events[i].data.ptr == NULL) {
            uint64_t count;
            ssize_t got = read(hub->wake_fd, &count, sizeof(count));
            PB_ASSERT(got == (ssize_t)sizeof(count) || errno == EAGAIN);
        } else {
            conn_on_event(events[i].data.ptr, events[i].events);
        }
    }
    hub_take_queues(hub);
    uint64_t now = pb_mono_ns();
    if (now >= hub->next_tick_ns) {
        hub_tick(hub, now);
        hub->next_tick_ns = now + PB_WS_TICK_MS * NS_PER_MS;
    }
    hub_flush(hub);
}

static int hub_timeout_ms(const struct ws_hub *hub)
{
    uint64_t now = pb_mono_ns();
    if (now >= hub->next_tick_ns)
        return 0;
    return (int)((hub->next_tick_ns - now + NS_PER_MS - 1) / NS_PER_MS);
}

/* Sends 1001 to everyone, runs the loop until the handshakes are done or PB_WS_STOP_WAIT_MS
 * has passed, then releases whatever is left. */
static void hub_shutdown(struct ws_hub *hub)
{
    hub_take_queues(hub); /* closed is set: nothing arrives after this */
    for (struct conn *c = hub->conns; c; c = c->next)
        conn_close(c, WSLAY_CODE_GOING_AWAY, "server shutting down");
    hub_flush(hub);
    uint64_t deadline = pb_mono_ns() + PB_WS_STOP_WAIT_MS * NS_PER_MS;
    for (uint64_t now = pb_mono_ns(); hub->conns && now < deadline; now = pb_mono_ns()) {
        uint64_t left_ms = (deadline - now) / NS_PER_MS + 1;
        hub_turn(hub, (int)(left_ms < PB_WS_TICK_MS ? left_ms : PB_WS_TICK_MS));
    }
    PB_ASSERT(hub->dirty == NULL);
    while (hub->conns) /* each pass releases one */
        conn_release(hub->conns);
}

static void *hub_main(void *arg)
{
    struct ws_hub *hub = arg;
    hub->next_tick_ns = pb_mono_ns() + PB_WS_TICK_MS * NS_PER_MS;
    while (!atomic_load(&hub->stop))
        hub_turn(hub, hub_timeout_ms(hub));
    hub_shutdown(hub);
    return NULL;
}

/* The public interface. */

static bool config_valid(const struct ws_hub_config *cfg)
{
    return cfg->message_max >= 1 && cfg->message_max <= PB_WS_MESSAGE_MAX_CEILING &&
           cfg->send_queue_max >= 1 && cfg->send_queue_max <= PB_WS_SEND_QUEUE_MAX_CEILING &&
           cfg->connections_max >= 1 && cfg->connections_max <= PB_WS_CONNECTIONS_CEILING &&
           cfg->ping_interval_s >= 1 && cfg->ping_interval_s <= PB_WS_INTERVAL_S_CEILING &&
           cfg->idle_timeout_s >= 1 && cfg->idle_timeout_s <= PB_WS_INTERVAL_S_CEILING;
}

int ws_hub_start(const struct ws_hub_config *cfg, struct ws_hub **out)
{
    *out = NULL;
    if (!config_valid(cfg))
        return PB_ERR_INVALID;
    struct ws_hub *hub = pb_calloc(1, sizeof(*hub));
    hub->cfg = *cfg;
    pthread_mutex_init(&hub->lock, NULL);
    pb_buf_init(&hub->reply);
    pb_buf_init(&hub->event);
    hub->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    hub->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    if (hub->epoll_fd < 0 || hub->wake_fd < 0 ||
        epoll_ctl(hub->epoll_fd, EPOLL_CTL_ADD, hub->wake_fd, &ev) != 0)
        goto fail;
    if (pthread_create(&hub->thread, NULL, hub_main, hub) != 0)
        goto fail;
    pthread_setname_np(hub->thread, "pb-websocket");
    hub->thread_started = true;
    *out = hub;
    return PB_OK;
fail:
    pb_log(PB_LOG_ERROR, "websocket hub start failed", "\"errno\":%d", errno);
    ws_hub_free(hub);
    return PB_ERR_IO;
}

void ws_hub_stop(struct ws_hub *hub)
{
    if (!hub || !hub->thread_started)
        return;
    pthread_mutex_lock(&hub->lock);
    hub->closed = true;
    pthread_mutex_unlock(&hub->lock);
    atomic_store(&hub->stop, true);
    hub_wake(hub);
    int rc = pthread_join(hub->thread, NULL);
    PB_ASSERT(rc == 0);
    hub->thread_started = false;
    PB_ASSERT(hub->conns == NULL);
}

void ws_hub_free(struct ws_hub *hub)
{
    if (!hub)
        return;
    ws_hub_stop(hub);
    PB_ASSERT(hub->handover_head == NULL && hub->conns == NULL);
    for (struct publish *p = hub->publish_head, *next; p; p = next) {
        next = p->next;
        pb_free(p);
    }
    if (hub->epoll_fd >= 0)
        close(hub->epoll_fd);
    if (hub->wake_fd >= 0)
        close(hub->wake_fd);
    pthread_mutex_destroy(&hub->lock);
    pb_buf_release(&hub->reply);
    pb_buf_release(&hub->event);
    pb_free(hub);
}

int ws__hub_admit(struct ws_hub *hub)
{
    if (atomic_load(&hub->stop))
        return PB_ERR_CLOSED;
    long used = atomic_load(&hub->connections) + atomic_load(&hub->handovers_waiting);
    return used >= hub->cfg.connections_max ? PB_ERR_FULL : PB_OK;
}

int ws__hub_hand_over(struct ws_hub *hub, int fd, struct MHD_UpgradeResponseHandle *urh,
                      const char *extra, size_t extra_len, const char *principal)
{
    PB_ASSERT(fd >= 0);
    PB_ASSERT(extra != NULL || extra_len == 0);
    struct handover *h = pb_malloc(sizeof(*h) + extra_len);
    h->next = NULL;
    h->fd = fd;
    h->urh = urh;
    pb_strlcpy(h->principal, principal, sizeof(h->principal));
    h->extra_len = extra_len;
    if (extra_len > 0)
        memcpy(h->extra, extra, extra_len);
    int rc = PB_OK;
    bool wake = false;
    pthread_mutex_lock(&hub->lock);
    if (hub->closed) {
        rc = PB_ERR_CLOSED;
    } else if (hub->handover_count >= PB_WS_HANDOVER_QUEUE_MAX) {
        rc = PB_ERR_FULL;
    } else {
        if (hub->handover_tail)
            hub->handover_tail->next = h;
        else
            hub->handover_head = h;
        hub->handover_tail = h;
        hub->handover_count++;
        atomic_fetch_add(&hub->handovers_waiting, 1);
        wake = !hub->wake_pending;
        hub->wake_pending = true;
    }
    pthread_mutex_unlock(&hub->lock);
    if (rc != PB_OK)
        pb_free(h);
    if (wake)
        hub_wake(hub);
    return rc;
}

bool ws_hub_wanted(struct ws_hub *hub, const char *topic)
{
    PB_ASSERT(hub != NULL && topic != NULL);
    uint64_t hash = topic_hash(topic, strnlen(topic, PB_WS_TOPIC_MAX + 1));
    return atomic_load(&hub->wanted[hash % WS_WANTED_SLOTS]) != 0;
}

bool ws_hub_idle(struct ws_hub *hub)
{
    PB_ASSERT(hub != NULL);
    return atomic_load(&hub->connections) == 0 && atomic_load(&hub->handovers_waiting) == 0;
}

int ws_hub_publish(struct ws_hub *hub, const char *topic, const char *data, size_t len)
{
    PB_ASSERT(hub != NULL && topic != NULL);
    size_t topic_len = strnlen(topic, PB_WS_TOPIC_MAX + 1);
    if (topic_len == 0 || topic_len > PB_WS_TOPIC_MAX || !data || len == 0)
        return PB_ERR_INVALID;
    if (len > hub->cfg.send_queue_max)
        return PB_ERR_TOO_LARGE;
    uint64_t hash = topic_hash(topic, topic_len);
    if (atomic_load(&hub->wanted[hash % WS_WANTED_SLOTS]) == 0) {
        /* Nobody holds the topic: nothing to queue, nobody to wake. */
        pthread_mutex_lock(&hub->lock);
        bool closed = hub->closed;
        pthread_mutex_unlock(&hub->lock);
        return closed ? PB_ERR_CLOSED : PB_OK;
    }
    struct publish *p = pb_malloc(sizeof(*p) + topic_len + 1 + len + 1);
    p->next = NULL;
    p->topic_hash = hash;
    p->topic_len = topic_len;
    p->data_len = len;
    memcpy(p->bytes, topic, topic_len + 1);
    memcpy(p->bytes + topic_len + 1, data, len);
    p->bytes[topic_len + 1 + len] = '\0';
    int rc = PB_OK;
    bool wake = false;
    pthread_mutex_lock(&hub->lock);
    if (hub->closed) {
        rc = PB_ERR_CLOSED;
    } else if (hub->publish_count >= PB_WS_PUBLISH_QUEUE_MAX ||
               hub->publish_bytes + len > PB_WS_PUBLISH_QUEUE_BYTES_MAX) {
        rc = PB_ERR_FULL;
    } else {
        if (hub->publish_tail)
            hub->publish_tail->next = p;
        else
            hub->publish_head = p;
        hub->publish_tail = p;
        hub->publish_count++;
        hub->publish_bytes += len;
        wake = !hub->wake_pending;
        hub->wake_pending = true;
    }
    pthread_mutex_unlock(&hub->lock);
    if (rc != PB_OK)
        pb_free(p);
    if (rc == PB_ERR_FULL)
        atomic_fetch_add(&hub->publish_dropped, 1);
    if (wake)
        hub_wake(hub);
    return rc;
}

void ws_hub_metrics(struct ws_hub *hub, struct pb_buf *out)
{
    pb_buf_printf(out,
                  "# HELP pitboss_ws_connections Open WebSocket connections.\n"
                  "# TYPE pitboss_ws_connections gauge\n"
                  "pitboss_ws_connections %ld\n",
                  atomic_load(&hub->connections));
    static const struct {
        const char *name, *help;
        size_t offset;
    } counters[] = {
        {"pitboss_ws_evictions_total", "Slow consumers closed for exceeding the send queue.",
         offsetof(struct ws_hub, evictions)},
        {"pitboss_ws_messages_received_total", "Data messages received from clients.",
         offsetof(struct ws_hub, messages_received)},
        {"pitboss_ws_messages_sent_total", "Text messages queued to clients.",
         offsetof(struct ws_hub, messages_sent)},
        {"pitboss_ws_publish_dropped_total", "Publishes refused because the queue was full.",
         offsetof(struct ws_hub, publish_dropped)},
    };
    for (size_t i = 0; i < PB_ARRAY_LEN(counters); i++) {
        atomic_ulong *v = (atomic_ulong *)((char *)hub + counters[i].offset);
        pb_buf_printf(out, "# HELP %s %s\n# TYPE %s counter\n%s %lu\n", counters[i].name,
                      counters[i].help, counters[i].name, counters[i].name, atomic_load(v));
    }
}
