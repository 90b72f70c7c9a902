/* server.c: the libmicrohttpd server and the request pipeline (http.h, http_int.h). */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <strings.h>
#include <stdarg.h>

#include "base/base.h"
#include "base/log.h"
#include "base/metrics.h"
#include "core/writer.h"
#include "http/http_int.h"

#define ROUTES_MAX 256

/* Per-route counters by status class and a latency histogram. */
struct route_stats {
    _Atomic uint64_t by_class[6]; /* index status / 100: 1xx..5xx */
    struct pb_histogram latency;
};

struct http_server {
    struct http_server_config cfg;
    void *app;
    struct MHD_Daemon *daemon;
    int port;
    const struct http_route *routes[ROUTES_MAX];
    struct route_stats stats[ROUTES_MAX + 1]; /* the last slot: unmatched requests */
    size_t nroutes;
    char *static_root; /* canonical web_dir, NULL: no static files */
    _Atomic int suspended; /* connections waiting for the writer */
};

/* ---- request intake ---- */

#define REQUEST_ID_BYTES 12          /* 24 hex digits */
#define REQUEST_ID_POOL_BYTES 3072   /* random bytes drawn at once: 256 ids per draw */
_Static_assert(REQUEST_ID_POOL_BYTES % REQUEST_ID_BYTES == 0, "whole ids per pool");
_Static_assert(2 * REQUEST_ID_BYTES <= PB_HTTP_REQUEST_ID_MAX, "fits the request's id");

/* A fresh request id: REQUEST_ID_BYTES from the system's random source as hex. Each HTTP
 * thread draws a pool at a time (one getrandom call per 256 requests instead of one per
 * request) and hands every byte out once. */
static void request_id_new(char out[2 * REQUEST_ID_BYTES + 1])
{
    static _Thread_local unsigned char pool[REQUEST_ID_POOL_BYTES];
    static _Thread_local size_t used = REQUEST_ID_POOL_BYTES;
    static const char hex[] = "0123456789abcdef";
    if (used == REQUEST_ID_POOL_BYTES) {
        pb_random_bytes(pool, sizeof(pool));
        used = 0;
    }
    for (size_t i = 0; i < REQUEST_ID_BYTES; i++) {
        out[2 * i] = hex[pool[used + i] >> 4];
        out[2 * i + 1] = hex[pool[used + i] & 15];
    }
    out[2 * REQUEST_ID_BYTES] = '\0';
    used += REQUEST_ID_BYTES;
}

static bool request_id_ok(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n > PB_HTTP_REQUEST_ID_MAX)
        return false;
    return strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") == n;
}

static bool is_json_type(const char *ct)
{
    if (!ct)
        return false;
    size_t n = strlen("application/json");
    if (strncasecmp(ct, "application/json", n) != 0)
        return false;
    return ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ';
}

static void set_allow(struct http_response *resp, unsigned allowed)
{
    char allow[64] = "";
    for (unsigned bit = 1; bit <= HTTP_OPTIONS; bit <<= 1) {
        if (!(allowed & bit))
            continue;
        if (allow[0])
            strcat(allow, ", ");
        strcat(allow, http_method_name((enum http_method)bit));
    }
    http_header_add(resp, "Allow", allow);
}

/* GET / from a browser (Accept names text/html) gets the player app, API clients the root
 * route's JSON. */
static bool wants_html_root(const struct http_server *srv, struct http_request *req,
                            const char *url)
{
    if (!srv->static_root || strcmp(url, "/") != 0 ||
        (req->method != HTTP_GET && req->method != HTTP_HEAD))
        return false;
    const char *accept = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "Accept");
    return accept && strstr(accept, "text/html") != NULL;
}

static int route(struct http_server *srv, struct http__request_int *r, const char *url)
{
    struct http_request *req = &r->pub;
    unsigned allowed;
    if (wants_html_root(srv, req, url)) {
        http_static_serve(srv->static_root, url, &r->early);
        return -1;
    }
    int idx = http_route_match(srv->routes, srv->nroutes, req->method, url, req->params,
                               &req->nparams, r->param_storage, r->param_storage_len,
                               &allowed);
    if (idx == -2 && req->method == HTTP_HEAD && (allowed & HTTP_GET))
        idx = http_route_match(srv->routes, srv->nroutes, HTTP_GET, url, req->params,
                               &req->nparams, r->param_storage, r->param_storage_len,
                               &allowed);
    if (idx >= 0) {
        req->route = srv->routes[idx];
        return idx;
    }
    if (idx == -2) {
        http_problem(&r->early, 405, "method_not_allowed", "Method not allowed",
                     "the resource exists but does not accept this method", NULL);
        set_allow(&r->early, allowed);
    } else if (srv->static_root && http_static_wants(url, req->method)) {
        http_static_serve(srv->static_root, url, &r->early);
    } else {
        http_problem(&r->early, 404, "not_found", "Not found", "no such resource", NULL);
    }
    return -1;
}

/* First call for a request: route it and decide early errors. */
static struct http__request_int *request_new(struct http_server *srv,
                                             struct MHD_Connection *conn, const char *url,
                                             const char *method)
{
    /* Path parameters are pieces of the path, so its length bounds their storage; sized so,
     * the request usually fits the allocator's per-thread cache. */
    size_t url_len = strnlen(url, PB_HTTP_PATH_MAX);
    struct http__request_int *r = pb_calloc(1, sizeof(*r) + url_len + 1);
    r->param_storage_len = url_len + 1;
    struct http_request *req = &r->pub;
    r->started_ns = pb_mono_ns();
    r->route_index = -1;
    http_response_init(&r->early);
    pb_buf_init(&req->body);
    req->conn = conn;
    req->server = srv;
    req->app = srv->app;
    req->method_name = method;
    req->method = http_method_parse(method);
    req->path = url;
    const char *rid = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Request-Id");
    if (rid && request_id_ok(rid))
        pb_strlcpy(req->request_id, rid, sizeof(req->request_id));
    else
        request_id_new(req->request_id);
    if (url_len >= PB_HTTP_PATH_MAX) {
        http_problem(&r->early, 414, "uri_too_long", "URI too long", NULL, NULL);
        return r;
    }
    r->route_index = route(srv, r, url);
    if (r->route_index < 0)
        return r;
    const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
    if (cl && strtoull(cl, NULL, 10) > srv->cfg.body_max) {
        r->body_too_large = true;
    } else if ((req->route->flags & HTTP_ROUTE_JSON_BODY) &&
               !is_json_type(MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                         "Content-Type"))) {
        http_problem(&r->early, 415, "unsupported_media_type", "Unsupported media type",
                     "the body must be application/json", "Content-Type");
    }
    return r;
}

static void take_body(struct http_server *srv, struct http__request_int *r, const char *data,
                      size_t size)
{
    if (r->early.status || r->body_too_large)
        return; /* discard: the answer is already decided */
    if (r->pub.body.len + size > srv->cfg.body_max) {
        r->body_too_large = true;
        pb_buf_release(&r->pub.body);
        return;
    }
    pb_buf_append(&r->pub.body, data, size);
}

/* ---- answering ---- */

/* Releases the early answer, destroying a prepared file response never sent (the client
 * went away first). */
static void early_release(struct http__request_int *r)
{
    if (r->early.raw) {
        MHD_destroy_response(r->early.raw);
        r->early.raw = NULL;
    }
    http_response_release(&r->early);
}

static enum MHD_Result send_response(struct http__request_int *r, struct http_response *resp)
{
    struct MHD_Response *mr = resp->raw;
    resp->raw = NULL;
    if (!mr && resp->borrowed) { /* the command's memory, freed after the response is sent */
        mr = MHD_create_response_from_buffer(resp->borrowed_len, (void *)resp->borrowed,
                                             MHD_RESPMEM_PERSISTENT);
        PB_ASSERT(mr != NULL);
        if (resp->content_type)
            MHD_add_response_header(mr, MHD_HTTP_HEADER_CONTENT_TYPE, resp->content_type);
        r->bytes_out = resp->borrowed_len;
    } else if (!mr) {
        size_t len;
        char *body = pb_buf_detach(&resp->body, &len);
        mr = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
        PB_ASSERT(mr != NULL);
        if (resp->content_type)
            MHD_add_response_header(mr, MHD_HTTP_HEADER_CONTENT_TYPE, resp->content_type);
        r->bytes_out = len;
    }
    MHD_add_response_header(mr, "X-Request-Id", r->pub.request_id);
    for (size_t i = 0; i < resp->nheaders; i++)
        MHD_add_response_header(mr, resp->headers[i].name, resp->headers[i].value);
    PB_ASSERT(resp->status >= 100 && resp->status <= 599);
    r->status = resp->status;
    r->state = STATE_ANSWERED;
    enum MHD_Result ok = MHD_queue_response(r->pub.conn, (unsigned)resp->status, mr);
    MHD_destroy_response(mr);
    http_response_release(resp);
    return ok;
}

static enum MHD_Result dispatch(struct http__request_int *r)
{
    struct http_request *req = &r->pub;
    struct http_response resp;
    http_response_init(&resp);
    if (r->state == STATE_RESUMED) {
        if (!r->early.status)
            req->finish(req, req->cmd, &resp);
        else
            return send_response(r, &r->early);
        PB_ASSERT(resp.status != 0);
        return send_response(r, &resp);
    }
    enum http_result res = req->route->handler(req, &resp);
    if (res == HTTP_SUSPENDED) {
        http_response_release(&resp);
        return MHD_YES;
    }
    PB_ASSERT(resp.status != 0);
    return send_response(r, &resp);
}

static enum MHD_Result access_handler(void *cls, struct MHD_Connection *conn, const char *url,
                                      const char *method, const char *version,
                                      const char *upload_data, size_t *upload_data_size,
                                      void **con_cls)
{
    struct http_server *srv = cls;
    PB_UNUSED(version);
    struct http__request_int *r = *con_cls;
    if (!r) {
        *con_cls = r = request_new(srv, conn, url, method);
        if (r->body_too_large)
            goto too_large;
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        take_body(srv, r, upload_data, *upload_data_size);
        *upload_data_size = 0;
        if (r->body_too_large)
            goto too_large;
        return MHD_YES;
    }
    switch (r->state) {
    case STATE_READING:
        if (r->early.status)
            return send_response(r, &r->early);
        return dispatch(r);
    case STATE_RESUMED:
        return dispatch(r);
    case STATE_WAITING:   /* not resumed yet: nothing to do */
    case STATE_ANSWERED:
        return MHD_YES;
    }
    return MHD_NO;
too_large:
    early_release(r);
    http_response_init(&r->early);
    http_problem(&r->early, 413, "body_too_large", "Request body too large",
                 "the body exceeds the configured limit", NULL);
    http_header_add(&r->early, "Connection", "close");
    return send_response(r, &r->early);
}

/* ---- completion: access log and metrics ---- */

static void log_access(struct http__request_int *r, uint64_t dur_ns)
{
    struct http_request *req = &r->pub;
    struct pb_buf line = PB_BUF_INIT;
    char when[PB_TIME_TEXT_MAX];
    pb_format_time_ms(pb_wall_ms(), when);
    pb_buf_printf(&line, "{\"time\":\"%s\",\"level\":\"info\",\"msg\":\"request\","
                         "\"request_id\":\"%s\",\"method\":",
                  when, req->request_id);
    pb_buf_json_string(&line, req->method_name, strlen(req->method_name));
    pb_buf_puts(&line, ",\"path\":");
    pb_buf_json_string(&line, req->path, strnlen(req->path, PB_HTTP_PATH_MAX));
    pb_buf_printf(&line, ",\"route\":\"%s\",\"status\":%d,\"bytes\":%zu,\"duration_us\":%llu}\n",
                  req->route ? req->route->pattern : "", r->status, r->bytes_out,
                  (unsigned long long)(dur_ns / 1000));
    pb_log_raw(line.data, line.len);
    pb_buf_release(&line);
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    struct http_server *srv = cls;
    struct http__request_int *r = *con_cls;
    PB_UNUSED(conn);
    PB_UNUSED(toe);
    if (!r)
        return;
    *con_cls = NULL;
    PB_ASSERT(r->state != STATE_WAITING);
    uint64_t dur = pb_mono_ns() - r->started_ns;
    struct route_stats *st = &srv->stats[r->route_index >= 0 ? (size_t)r->route_index
                                                             : srv->nroutes];
    int cls_idx = r->status / 100;
    atomic_fetch_add_explicit(&st->by_class[cls_idx >= 1 && cls_idx <= 5 ? cls_idx : 0], 1,
                              memory_order_relaxed);
    pb_histogram_observe(&st->latency, dur);
    if (srv->cfg.access_log)
        log_access(r, dur);
    early_release(r);
    pb_buf_release(&r->pub.body);
    if (r->pub.cmd && r->pub.cmd_free)
        r->pub.cmd_free(r->pub.cmd);
    else
        pb_free(r->pub.cmd);
    pb_free(r);
}

/* ---- suspending for the writer ---- */

static void command_done(struct writer_cmd *cmd)
{
    struct http__request_int *r = cmd->arg;
    PB_ASSERT(r->state == STATE_WAITING);
    r->state = STATE_RESUMED;
    atomic_fetch_sub(&r->pub.server->suspended, 1);
    MHD_resume_connection(r->pub.conn);
}

enum http_result http_submit(struct http_request *req, struct writer *w, struct writer_cmd *cmd,
                             http_finish_fn finish)
{
    struct http__request_int *r = (struct http__request_int *)req;
    PB_ASSERT(r->state == STATE_READING && finish != NULL);
    req->cmd = cmd;
    req->finish = finish;
    cmd->done = command_done;
    cmd->arg = r;
    r->state = STATE_WAITING;
    atomic_fetch_add(&req->server->suspended, 1);
    MHD_suspend_connection(req->conn);
    int rc = writer_submit(w, cmd);
    if (rc != PB_OK) {
        /* Queue full or stopping: answer 503 now; finish is never called. */
        http_problem(&r->early, 503, rc == PB_ERR_FULL ? "overloaded" : "shutting_down",
                     "Service unavailable", "the write queue is full; retry shortly", NULL);
        http_header_add(&r->early, "Retry-After", "1");
        command_done(cmd);
    }
    return HTTP_SUSPENDED;
}

/* ---- reading the request ---- */

const char *http_header(const struct http_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *http_query(const struct http_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

/* ---- lifecycle ---- */

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    PB_UNUSED(cls);
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    struct pb_buf esc = PB_BUF_INIT;
    pb_buf_json_string(&esc, msg, n);
    pb_log(PB_LOG_WARN, "http server", "\"detail\":%s", esc.data);
    pb_buf_release(&esc);
}

int http_server_new(const struct http_server_config *cfg, void *app, struct http_server **out)
{
    PB_ASSERT(cfg->threads >= 2 && cfg->body_max > 0);
    struct http_server *srv = pb_calloc(1, sizeof(*srv));
    srv->cfg = *cfg;
    srv->cfg.host = pb_strdup(cfg->host);
    srv->cfg.web_dir = NULL;
    srv->static_root = app ? http_static_root(cfg->web_dir) : NULL;
    srv->app = app;
    for (size_t i = 0; i <= ROUTES_MAX; i++)
        pb_histogram_init_latency(&srv->stats[i].latency);
    *out = srv;
    return PB_OK;
}

void http_server_add_routes(struct http_server *srv, const struct http_route *routes, size_t n)
{
    PB_ASSERT(srv->daemon == NULL && srv->nroutes + n <= ROUTES_MAX);
    for (size_t i = 0; i < n; i++) {
        PB_ASSERT(routes[i].pattern[0] == '/' && routes[i].handler != NULL);
        srv->routes[srv->nroutes++] = &routes[i];
    }
}

static int bind_address(const struct http_server *srv, struct sockaddr_storage *ss,
                        unsigned *flags)
{
    memset(ss, 0, sizeof(*ss));
    struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, srv->cfg.host, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)srv->cfg.port);
        return PB_OK;
    }
    if (inet_pton(AF_INET6, srv->cfg.host, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)srv->cfg.port);
        *flags |= MHD_USE_IPv6;
        return PB_OK;
    }
    return PB_ERR_INVALID;
}

int http_server_start(struct http_server *srv)
{
    struct sockaddr_storage ss;
    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_ALLOW_UPGRADE | MHD_USE_ERROR_LOG;
    if (bind_address(srv, &ss, &flags) != PB_OK) {
        pb_log(PB_LOG_ERROR, "listen address is not an IP literal", "\"host\":\"%s\"",
               srv->cfg.host);
        return PB_ERR_INVALID;
    }
    srv->daemon = MHD_start_daemon(
        flags, (uint16_t)srv->cfg.port, NULL, NULL, access_handler, srv,
        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, srv, /* first, so it covers option parsing */
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)srv->cfg.threads,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)srv->cfg.connection_limit,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)srv->cfg.per_ip_connection_limit,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)srv->cfg.connection_timeout_s,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)PB_HTTP_MEMORY_PER_CONNECTION,
        MHD_OPTION_LISTEN_BACKLOG_SIZE, 1024u,
        MHD_OPTION_NOTIFY_COMPLETED, completed, srv,
        MHD_OPTION_END);
    if (!srv->daemon)
        return PB_ERR_IO;
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv->daemon,
                                                           MHD_DAEMON_INFO_BIND_PORT);
    srv->port = info ? info->port : srv->cfg.port;
    return PB_OK;
}

int http_server_port(const struct http_server *srv)
{
    return srv->port;
}

void http_server_free(struct http_server *srv)
{
    if (!srv)
        return;
    if (srv->daemon) {
        MHD_socket ls = MHD_quiesce_daemon(srv->daemon);
        /* Suspended requests complete through the writer, which is still running. */
        for (int i = 0; i < 10000 && atomic_load(&srv->suspended) > 0; i++)
            nanosleep(&(struct timespec){0, 1000000}, NULL);
        MHD_stop_daemon(srv->daemon);
        if (ls != MHD_INVALID_SOCKET)
            close(ls);
    }
    pb_free((char *)srv->cfg.host);
    pb_free(srv->static_root);
    pb_free(srv);
}

static void render_route(const struct route_stats *st, const char *method, const char *pattern,
                         struct pb_buf *out)
{
    char labels[PB_HTTP_PATH_MAX + 64];
    static const char *const classes[] = {"other", "1xx", "2xx", "3xx", "4xx", "5xx"};
    for (size_t c = 0; c < PB_ARRAY_LEN(classes); c++) {
        uint64_t v = atomic_load(&st->by_class[c]);
        if (v)
            pb_buf_printf(out, "pitboss_http_requests_total{method=\"%s\",route=\"%s\","
                               "status=\"%s\"} %llu\n",
                          method, pattern, classes[c], (unsigned long long)v);
    }
    snprintf(labels, sizeof(labels), "method=\"%s\",route=\"%s\"", method, pattern);
    pb_histogram_render(&st->latency, "pitboss_http_request_seconds", labels, out);
}

void http_server_metrics(struct http_server *srv, struct pb_buf *out)
{
    pb_metric_type(out, "pitboss_http_requests_total", "counter");
    pb_metric_type(out, "pitboss_http_request_seconds", "histogram");
    for (size_t i = 0; i < srv->nroutes; i++)
        render_route(&srv->stats[i], http_method_name(srv->routes[i]->method),
                     srv->routes[i]->pattern, out);
    render_route(&srv->stats[srv->nroutes], "any", "unmatched", out);
    pb_buf_printf(out, "# TYPE pitboss_http_suspended gauge\npitboss_http_suspended %d\n",
                  atomic_load(&srv->suspended));
}

void http_server_routes(const struct http_server *srv, struct pb_buf *out)
{
    for (size_t i = 0; i < srv->nroutes; i++)
        pb_buf_printf(out, "%s %s\n", http_method_name(srv->routes[i]->method),
                      srv->routes[i]->pattern);
}
