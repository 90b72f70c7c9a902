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

void http_json(struct http_response *resp, int status, json_t *doc)
{
    char *text = json_dumps(doc, JSON_COMPACT);
    PB_ASSERT(text != NULL);
    json_decref(doc);
    pb_buf_reset(&resp->body);
    pb_buf_puts(&resp->body, text);
    free(text);
    resp->status = status;
    resp->content_type = "application/json";
}

void http_problem(struct http_response *resp, int status, const char *code, const char *title,
                  const char *detail, const char *field)
{
    struct pb_buf *b = &resp->body;
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
