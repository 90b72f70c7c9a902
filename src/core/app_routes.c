/* app_routes.c: the system routes (/, /healthz, /readyz, /metrics, the WebSocket endpoint)
 * and the diagnostic routes used by tests and benchmarks (app_int.h). */
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/log.h"
#include "core/app.h"
#include "core/app_int.h"
#include "core/outbox.h"
#include "core/writer.h"
#include "http/http.h"
#include "http/ws.h"

/* ---- system routes ---- */

static enum http_result healthz(struct http_request *req, struct http_response *resp)
{
    PB_UNUSED(req);
    http_json(resp, 200, json_pack("{s:s}", "status", "ok"));
    return HTTP_DONE;
}

static enum http_result readyz(struct http_request *req, struct http_response *resp)
{
    struct pb_app *app = req->app;
    struct store *s;
    if (store_pool_acquire(app->readers, 1000, &s) != PB_OK) {
        http_problem(resp, 503, "not_ready", "Not ready", "no database connection", NULL);
        return HTTP_DONE;
    }
    struct store_stmt *st;
    int rc = store_prepare(s, "SELECT 1", &st);
    if (rc == PB_OK) {
        rc = store_step(st) == STORE_ROW ? PB_OK : PB_ERR_DB;
        store_finalize(st);
    }
    store_pool_release(app->readers, s);
    if (rc != PB_OK)
        http_problem(resp, 503, "not_ready", "Not ready", "the database does not answer", NULL);
    else
        http_json(resp, 200, json_pack("{s:s}", "status", "ready"));
    return HTTP_DONE;
}

static enum http_result metrics(struct http_request *req, struct http_response *resp)
{
    struct pb_app *app = req->app;
    http_server_metrics(app->http, &resp->body);
    writer_metrics(app->writer, &resp->body);
    outbox_metrics(app->outbox, &resp->body);
    ws_hub_metrics(app->hub, &resp->body);
    resp->status = 200;
    resp->content_type = "text/plain; version=0.0.4";
    return HTTP_DONE;
}

static enum http_result root(struct http_request *req, struct http_response *resp)
{
    PB_UNUSED(req);
    http_json(resp, 200, json_pack("{s:s,s:s}", "name", "pitboss", "version", PITBOSS_VERSION));
    return HTTP_DONE;
}

const struct http_route app__system_routes[] = {
    {HTTP_GET, "/", root, 0},
    {HTTP_GET, "/healthz", healthz, 0},
    {HTTP_GET, "/readyz", readyz, 0},
    {HTTP_GET, "/metrics", metrics, 0},
    {HTTP_GET, "/api/v1/ws", ws_handle_upgrade, 0},
};

/* ---- diagnostic routes (cfg.diagnostics only) ---- */

struct noop_cmd {
    struct writer_cmd cmd; /* first: the server frees the struct */
    bool emit_event;
};

static int noop_run(struct store *tx, struct writer_cmd *cmd)
{
    struct noop_cmd *c = (struct noop_cmd *)cmd;
    if (!c->emit_event)
        return PB_OK;
    return writer_emit(tx, cmd, "diagnostics.noop", "diagnostics", "{\"noop\":true}");
}

static void noop_finish(struct http_request *req, struct writer_cmd *cmd,
                        struct http_response *resp)
{
    PB_UNUSED(req);
    if (cmd->status != PB_OK) {
        http_problem(resp, 500, "internal_error", "Internal error", pb_err_name(cmd->status),
                     NULL);
        return;
    }
    http_json(resp, 200, json_pack("{s:s}", "status", "committed"));
}

static enum http_result diag_noop(struct http_request *req, struct http_response *resp)
{
    struct {
        bool emit_event;
    } in = {false};
    static const struct pb_json_field fields[] = {
        {"emit_event", PB_JSON_KIND_BOOL, PB_JSON_OPTIONAL, 0, SIZE_MAX, 0, 0},
    };
    if (req->body.len > 0) {
        json_t *root;
        bool ok = http_decode_body(req, resp, fields, PB_ARRAY_LEN(fields), &in, &root);
        json_decref(root);
        if (!ok)
            return HTTP_DONE;
    }
    struct noop_cmd *c = pb_calloc(1, sizeof(*c));
    c->cmd.run = noop_run;
    c->emit_event = in.emit_event;
    struct pb_app *app = req->app;
    return http_submit(req, app->writer, &c->cmd, noop_finish);
}

struct publish_body {
    const char *topic;
    json_t *data;
};

static enum http_result diag_publish(struct http_request *req, struct http_response *resp)
{
    static const struct pb_json_field fields[] = {
        PB_JSON_STR(struct publish_body, topic, PB_JSON_REQUIRED, 1, PB_WS_TOPIC_MAX),
        PB_JSON_OBJ(struct publish_body, data, PB_JSON_REQUIRED),
    };
    json_t *root;
    struct publish_body in = {0};
    if (http_decode_body(req, resp, fields, PB_ARRAY_LEN(fields), &in, &root)) {
        char *data = json_dumps(in.data, JSON_COMPACT);
        struct pb_app *app = req->app;
        int rc = ws_hub_publish(app->hub, in.topic, data, strlen(data));
        free(data);
        if (rc == PB_OK)
            http_json(resp, 202, json_pack("{s:s}", "status", "queued"));
        else if (rc == PB_ERR_TOO_LARGE)
            http_problem(resp, 413, "message_too_large", "Message too large",
                         "data exceeds ws.send_queue_max", "data");
        else if (rc == PB_ERR_CLOSED)
            http_problem(resp, 503, "shutting_down", "Service unavailable",
                         "the server is stopping", NULL);
        else
            http_problem(resp, 503, "overloaded", "Service unavailable",
                         "the publish queue is full", NULL);
    }
    json_decref(root);
    return HTTP_DONE;
}

const struct http_route app__diagnostic_routes[] = {
    {HTTP_POST, "/api/v1/diagnostics/noop", diag_noop, 0},
    {HTTP_POST, "/api/v1/diagnostics/publish", diag_publish, HTTP_ROUTE_JSON_BODY},
};
const size_t app__system_routes_count = PB_ARRAY_LEN(app__system_routes);
const size_t app__diagnostic_routes_count = PB_ARRAY_LEN(app__diagnostic_routes);

/* Every committed domain event goes to WebSocket topic "events" as its envelope
 * (diagnostics only). */
void app__events_to_hub(const struct pb_event *ev, void *arg)
{
    struct pb_app *app = arg;
    if (!ws_hub_wanted(app->hub, "events"))
        return; /* nobody subscribed: no envelope to build */
    struct pb_buf env = PB_BUF_INIT;
    outbox_envelope(ev, &env);
    int rc = ws_hub_publish(app->hub, "events", env.data, env.len);
    if (rc != PB_OK && rc != PB_ERR_CLOSED)
        pb_log(PB_LOG_WARN, "event not published to websocket", "\"event\":\"%s\",\"error\":\"%s\"",
               ev->id, pb_err_name(rc));
    pb_buf_release(&env);
}
