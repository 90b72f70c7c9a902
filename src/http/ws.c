/* ws.c: the WebSocket handshake (RFC 6455 section 4.2) on GET /api/v1/ws and the client
 * message protocol (ws.h). The hub thread that owns the upgraded sockets is in ws_hub.c; the
 * design notes shared by both files are in ws_int.h. DESIGN.md sections 2.1 and 5. */
#include "http/ws.h"

#include <microhttpd.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/base.h"
#include "base/log.h"
#include "base/sha1.h"
#include "http/ws_int.h"

/* RFC 6455 section 1.3: appended to the client's key before hashing. */
static const char WS_GUID[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
#define WS_KEY_BYTES 16
#define WS_CLIENT_KEY_MAX 128 /* ws_accept_key's input; validated keys are 24 characters */
#define WS_TYPE_MAX 32        /* longest "type" value in a client message */

void ws_accept_key(const char *client_key, char out[29])
{
    size_t key_len = strlen(client_key);
    PB_ASSERT(key_len <= WS_CLIENT_KEY_MAX);
    char input[WS_CLIENT_KEY_MAX + sizeof(WS_GUID)];
    memcpy(input, client_key, key_len);
    memcpy(input + key_len, WS_GUID, sizeof(WS_GUID) - 1);
    unsigned char digest[PB_SHA1_DIGEST_LEN];
    pb_sha1(input, key_len + sizeof(WS_GUID) - 1, digest);
    PB_ASSERT(sodium_base64_ENCODED_LEN(PB_SHA1_DIGEST_LEN, sodium_base64_VARIANT_ORIGINAL) == 29);
    sodium_bin2base64(out, 29, digest, sizeof(digest), sodium_base64_VARIANT_ORIGINAL);
    PB_ASSERT(strlen(out) == 28);
}

bool ws__key_valid(const char *key)
{
    if (!key || strlen(key) != WS_KEY_LEN)
        return false;
    unsigned char bin[WS_KEY_BYTES];
    size_t bin_len = 0;
    const char *end = NULL;
    if (sodium_base642bin(bin, sizeof(bin), key, WS_KEY_LEN, NULL, &bin_len, &end,
                          sodium_base64_VARIANT_ORIGINAL) != 0)
        return false;
    return bin_len == WS_KEY_BYTES && end == key + WS_KEY_LEN;
}

bool ws__header_has_token(const char *value, const char *token)
{
    if (!value)
        return false;
    size_t token_len = strlen(token);
    const char *p = value;
    while (*p) { /* each pass consumes at least one character */
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *start = p;
        while (*p && *p != ',')
            p++;
        const char *end = p;
        while (end > start && (end[-1] == ' ' || end[-1] == '\t'))
            end--;
        if ((size_t)(end - start) == token_len && strncasecmp(start, token, token_len) == 0)
            return true;
    }
    return false;
}

/* Client messages. */

struct msg_body {
    const char *type;
    const char *topic;
};

static const struct pb_json_field topic_fields[] = {
    PB_JSON_STR(struct msg_body, type, PB_JSON_REQUIRED, 1, WS_TYPE_MAX),
    PB_JSON_STR(struct msg_body, topic, PB_JSON_REQUIRED, 1, PB_WS_TOPIC_MAX),
};

static const struct pb_json_field ping_fields[] = {
    PB_JSON_STR(struct msg_body, type, PB_JSON_REQUIRED, 1, WS_TYPE_MAX),
};

static int msg_fail(struct pb_json_error *err, const char *code, const char *detail)
{
    err->code = code;
    snprintf(err->field, sizeof(err->field), "type");
    snprintf(err->detail, sizeof(err->detail), "%s", detail);
    return PB_ERR_INVALID;
}

int ws__client_msg_parse(const char *text, size_t len, struct ws__client_msg *out,
                         struct pb_json_error *err)
{
    memset(out, 0, sizeof(*out));
    json_t *root = NULL;
    int rc = pb_json_parse(text, len, true, &root, err);
    if (rc != PB_OK)
        return rc;
    const json_t *type = json_object_get(root, "type");
    const struct pb_json_field *fields = topic_fields;
    size_t nfields = PB_ARRAY_LEN(topic_fields);
    if (!type) {
        rc = msg_fail(err, "missing_field", "is required");
        goto done;
    }
    if (!json_is_string(type)) {
        rc = msg_fail(err, "wrong_type", "must be a string");
        goto done;
    }
    if (strcmp(json_string_value(type), "subscribe") == 0) {
        out->kind = WS_MSG_SUBSCRIBE;
    } else if (strcmp(json_string_value(type), "unsubscribe") == 0) {
        out->kind = WS_MSG_UNSUBSCRIBE;
    } else if (strcmp(json_string_value(type), "ping") == 0) {
        out->kind = WS_MSG_PING;
        fields = ping_fields;
        nfields = PB_ARRAY_LEN(ping_fields);
    } else {
        rc = msg_fail(err, "unknown_type", "must be one of subscribe, unsubscribe, ping");
        goto done;
    }
    struct msg_body body = {0};
    rc = pb_json_decode(root, "", fields, nfields, &body, err);
    if (rc == PB_OK && body.topic) {
        PB_ASSERT(strlen(body.topic) <= PB_WS_TOPIC_MAX);
        pb_strlcpy(out->topic, body.topic, sizeof(out->topic));
    }
done:
    json_decref(root);
    return rc;
}

void ws__encode_error(struct pb_buf *out, const char *code, const char *detail, const char *field)
{
    pb_buf_puts(out, "{\"type\":\"error\",\"code\":");
    pb_buf_json_string(out, code, strlen(code));
    pb_buf_puts(out, ",\"detail\":");
    pb_buf_json_string(out, detail, strlen(detail));
    if (field && field[0]) {
        pb_buf_puts(out, ",\"field\":");
        pb_buf_json_string(out, field, strlen(field));
    }
    pb_buf_putc(out, '}');
}

void ws__encode_topic_reply(struct pb_buf *out, const char *type, const char *topic)
{
    pb_buf_puts(out, "{\"type\":");
    pb_buf_json_string(out, type, strlen(type));
    pb_buf_puts(out, ",\"topic\":");
    pb_buf_json_string(out, topic, strlen(topic));
    pb_buf_putc(out, '}');
}

void ws__encode_event(struct pb_buf *out, const char *topic, size_t topic_len, const char *data,
                      size_t data_len)
{
    pb_buf_puts(out, "{\"type\":\"event\",\"topic\":");
    pb_buf_json_string(out, topic, topic_len);
    pb_buf_puts(out, ",\"data\":");
    pb_buf_append(out, data, data_len);
    pb_buf_putc(out, '}');
}

/* The handshake. */

/* Runs on an MHD thread once the 101 has been handed to the kernel: passes the socket to the
 * hub, or gives it straight back to MHD when the hub cannot take it. */
static void upgraded(void *cls, struct MHD_Connection *connection, void *req_cls,
                     const char *extra_in, size_t extra_in_size, MHD_socket sock,
                     struct MHD_UpgradeResponseHandle *urh)
{
    PB_UNUSED(connection);
    struct ws_hub *hub = cls;
    /* req_cls is the request the 101 answered (it lives until the connection ends). */
    const struct http_request *req = req_cls;
    int rc = ws__hub_hand_over(hub, sock, urh, extra_in, extra_in_size, req->principal);
    if (rc != PB_OK) {
        pb_log(PB_LOG_WARN, "websocket hand-over refused", "\"error\":\"%s\"", pb_err_name(rc));
        MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
    }
}

static bool handshake_refused(struct http_response *resp, int status, const char *code,
                              const char *detail)
{
    const char *title = status == MHD_HTTP_UPGRADE_REQUIRED      ? "Upgrade required"
                        : status == MHD_HTTP_SERVICE_UNAVAILABLE ? "WebSocket service unavailable"
                                                                 : "Bad WebSocket handshake";
    if (status == MHD_HTTP_UPGRADE_REQUIRED) {
        http_header_add(resp, "Upgrade", "websocket");
        http_header_add(resp, "Sec-WebSocket-Version", "13");
    }
    if (status == MHD_HTTP_SERVICE_UNAVAILABLE)
        http_header_add(resp, "Retry-After", "5");
    http_problem(resp, status, code, title, detail, NULL);
    return false;
}

/* Checks the request headers: true (and *key set) when the handshake is acceptable, false
 * with resp filled when it is refused. */
static bool handshake_ok(const struct http_request *req, struct http_response *resp,
                         const char **key)
{
    if (req->method != HTTP_GET) {
        http_header_add(resp, "Allow", "GET");
        http_problem(resp, MHD_HTTP_METHOD_NOT_ALLOWED, "method_not_allowed", "Method not allowed",
                     "the WebSocket endpoint accepts GET only", NULL);
        return false;
    }
    if (!ws__header_has_token(http_header(req, "Upgrade"), "websocket"))
        return handshake_refused(resp, MHD_HTTP_UPGRADE_REQUIRED, "websocket_upgrade_required",
                                 "this endpoint speaks WebSocket only (Upgrade: websocket)");
    if (!ws__header_has_token(http_header(req, "Connection"), "upgrade"))
        return handshake_refused(resp, MHD_HTTP_BAD_REQUEST, "bad_websocket_handshake",
                                 "the Connection header must contain the token upgrade");
    const char *version = http_header(req, "Sec-WebSocket-Version");
    if (!version || strcmp(version, "13") != 0)
        return handshake_refused(resp, MHD_HTTP_UPGRADE_REQUIRED, "unsupported_websocket_version",
                                 "only WebSocket version 13 is supported");
    *key = http_header(req, "Sec-WebSocket-Key");
    if (!ws__key_valid(*key))
        return handshake_refused(resp, MHD_HTTP_BAD_REQUEST, "bad_websocket_handshake",
                                 "Sec-WebSocket-Key must be the base64 encoding of 16 bytes");
    return true;
}

/* 503 for a handshake the hub cannot take. */
static enum http_result refused(struct http_response *resp, const char *code, const char *detail)
{
    handshake_refused(resp, MHD_HTTP_SERVICE_UNAVAILABLE, code, detail);
    return HTTP_DONE;
}

bool ws__may_subscribe(const char *principal, const char *topic)
{
    static const char prefix[] = "player:";
    if (strncmp(topic, prefix, sizeof(prefix) - 1) != 0)
        return true; /* public topics (odds, tables, ...) */
    if (strncmp(principal, "staff", 5) == 0)
        return true;
    return strcmp(principal, topic) == 0;
}

enum http_result ws_handle_upgrade(struct http_request *req, struct http_response *resp)
{
    const char *key = NULL;
    if (!handshake_ok(req, resp, &key))
        return HTTP_DONE;
    PB_ASSERT(key != NULL);
    if (ws_authenticate(req) != PB_OK) {
        http_problem(resp, 401, "unauthorized", "Unauthorized",
                     "the session token is not valid", NULL);
        http_header_add(resp, "WWW-Authenticate", "Bearer");
        return HTTP_DONE;
    }

    struct ws_hub *hub = ws_hub_of(req->app);
    int rc = hub ? ws__hub_admit(hub) : PB_ERR_CLOSED;
    if (rc == PB_ERR_FULL)
        return refused(resp, "ws_capacity", "too many WebSocket connections; try again later");
    if (rc != PB_OK)
        return refused(resp, "ws_unavailable", "the WebSocket service is not running");

    char accept[29];
    ws_accept_key(key, accept);
    struct MHD_Response *raw = MHD_create_response_for_upgrade(upgraded, hub);
    if (!raw)
        return refused(resp, "ws_unavailable", "could not create the upgrade response");
    /* MHD adds "Connection: Upgrade" to upgrade responses itself (and checks it is there);
     * adding it again would send the token twice. */
    if (MHD_add_response_header(raw, MHD_HTTP_HEADER_UPGRADE, "websocket") != MHD_YES ||
        MHD_add_response_header(raw, "Sec-WebSocket-Accept", accept) != MHD_YES) {
        MHD_destroy_response(raw);
        return refused(resp, "ws_unavailable", "could not create the upgrade response");
    }
    resp->raw = raw;
    resp->status = MHD_HTTP_SWITCHING_PROTOCOLS;
    return HTTP_DONE;
}
