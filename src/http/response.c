/* response.c: building responses: JSON bodies, RFC 9457 problems, headers (http.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "http/http_int.h"

void http_response_init(struct http_response *resp)
{
    memset(resp, 0, sizeof(*resp));
    pb_buf_init(&resp->body);
}

void http_response_release(struct http_response *resp)
{
    for (size_t i = 0; i < resp->nheaders; i++)
        pb_free(resp->headers[i].value);
    pb_buf_release(&resp->body);
    resp->nheaders = 0;
    PB_ASSERT(resp->raw == NULL); /* handed to MHD or destroyed by the server */
}

void http_header_add(struct http_response *resp, const char *name, const char *value)
{
    PB_ASSERT(resp->nheaders < PB_ARRAY_LEN(resp->headers));
    resp->headers[resp->nheaders].name = name;
    resp->headers[resp->nheaders].value = pb_strdup(value);
    resp->nheaders++;
}

void http_body_borrow(struct http_response *resp, const char *text, size_t len)
{
    PB_ASSERT(text != NULL && resp->raw == NULL);
    pb_buf_reset(&resp->body);
    resp->borrowed = text;
    resp->borrowed_len = len;
}

void http_json(struct http_response *resp, int status, json_t *doc)
{
    char *text = json_dumps(doc, JSON_COMPACT);
    PB_ASSERT(text != NULL);
    json_decref(doc);
    resp->borrowed = NULL;
    pb_buf_reset(&resp->body);
    pb_buf_puts(&resp->body, text);
    free(text);
    resp->status = status;
    resp->content_type = "application/json";
}

void http_problem(struct http_response *resp, int status, const char *code, const char *title,
                  const char *detail, const char *field)
{
    http_problem_members(resp, status, code, title, detail, field, NULL);
}

void http_problem_members(struct http_response *resp, int status, const char *code,
                          const char *title, const char *detail, const char *field,
                          const char *members)
{
    struct pb_buf *b = &resp->body;
    resp->borrowed = NULL;
    pb_buf_reset(b);
    pb_buf_puts(b, "{\"type\":\"https://pitboss.dev/problems/");
    pb_buf_puts(b, code);
    pb_buf_puts(b, "\",\"title\":");
    pb_buf_json_string(b, title, strlen(title));
    pb_buf_printf(b, ",\"status\":%d,\"code\":\"%s\"", status, code);
    if (detail) {
        pb_buf_puts(b, ",\"detail\":");
        pb_buf_json_string(b, detail, strlen(detail));
    }
    if (field) {
        pb_buf_puts(b, ",\"field\":");
        pb_buf_json_string(b, field, strlen(field));
    }
    if (members && members[0]) {
        pb_buf_putc(b, ',');
        pb_buf_puts(b, members);
    }
    pb_buf_putc(b, '}');
    resp->status = status;
    resp->content_type = "application/problem+json";
}

void http_problem_json(struct http_response *resp, const struct pb_json_error *err)
{
    char detail[PB_JSON_FIELD_PATH_MAX + 300];
    if (err->field[0])
        snprintf(detail, sizeof(detail), "%s %s (%s)", err->field, err->detail, err->code);
    else
        snprintf(detail, sizeof(detail), "%s (%s)", err->detail, err->code);
    http_problem(resp, 400, "validation_failed", "The request is not valid", detail,
                 err->field);
}

int http_body_json(struct http_request *req, struct http_response *resp, json_t **out)
{
    struct pb_json_error err;
    int rc = pb_json_parse(pb_buf_str(&req->body), req->body.len, true, out, &err);
    if (rc != PB_OK)
        http_problem_json(resp, &err);
    return rc;
}

bool http_decode_body(struct http_request *req, struct http_response *resp,
                      const struct pb_json_field *fields, size_t n, void *out, json_t **root)
{
    *root = NULL;
    if (http_body_json(req, resp, root) != PB_OK)
        return false;
    struct pb_json_error err;
    if (pb_json_decode(*root, "", fields, n, out, &err) != PB_OK) {
        http_problem_json(resp, &err);
        return false;
    }
    return true;
}

const char *http_status_title(int status)
{
    switch (status) {
    case 400: return "The request is not valid";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not found";
    case 409: return "Conflict";
    case 415: return "Unsupported media type";
    case 422: return "Refused";
    case 429: return "Too many attempts";
    case 503: return "Service unavailable";
    default: return status >= 500 ? "Internal error" : "Refused";
    }
}

void http_invalid(struct http_response *resp, const char *field, const char *detail)
{
    http_problem(resp, 400, "validation_failed", http_status_title(400), detail, field);
}

void http_too_many(struct http_response *resp, int64_t retry_after_s)
{
    char value[24];
    PB_ASSERT(retry_after_s > 0);
    snprintf(value, sizeof(value), "%lld", (long long)retry_after_s);
    http_problem(resp, 429, "too_many_attempts", http_status_title(429),
                 "too many failed attempts; retry after the time in Retry-After", NULL);
    http_header_add(resp, "Retry-After", value);
}

void http_unavailable(struct http_response *resp, int rc)
{
    if (rc == PB_ERR_TIMEOUT) {
        http_problem(resp, 503, "overloaded", http_status_title(503),
                     "no database connection is free; retry shortly", NULL);
        http_header_add(resp, "Retry-After", "1");
    } else {
        http_problem(resp, 500, "internal_error", "Internal error", pb_err_name(rc), NULL);
    }
}

bool http_answer_refusal(const struct http_refusal *r, int cmd_status,
                         struct http_response *resp)
{
    if (r->status != 0 && (cmd_status == PB_OK || cmd_status == PB_ERR_CONFLICT)) {
        if (r->status == 429) {
            http_too_many(resp, r->retry_after_s);
            return true;
        }
        http_problem(resp, r->status, r->code, http_status_title(r->status), r->detail,
                     r->field);
        if (r->status == 401)
            http_header_add(resp, "WWW-Authenticate", "Bearer");
        return true;
    }
    if (cmd_status != PB_OK) {
        http_problem(resp, 500, "internal_error", "Internal error", pb_err_name(cmd_status),
                     NULL);
        return true;
    }
    return false;
}
