/* http.h: the HTTP server (libmicrohttpd behind our own header), router, request pipeline and
 * RFC 9457 problem responses. DESIGN.md sections 2.1 and 5; STYLE.md section 17.
 *
 * Pipeline for every request: route (404/405) -> request id -> content type and body limit
 * (415/413) -> handler -> encode -> access log and metrics. A handler either fills the
 * response and returns HTTP_DONE, or submits a writer command with http_submit and returns
 * HTTP_SUSPENDED: the connection is suspended (no HTTP thread waits) and resumed when the
 * command completes, at which point the finish function builds the response.
 *
 * Threads: handlers run on MHD's pool threads; finish functions too. */
#ifndef PB_HTTP_H
#define PB_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/json.h"
#include "base/limits.h"

struct MHD_Connection;
struct MHD_Response;
struct writer;
struct writer_cmd;

enum http_method {
    HTTP_GET = 1,
    HTTP_HEAD = 2,
    HTTP_POST = 4,
    HTTP_PUT = 8,
    HTTP_PATCH = 16,
    HTTP_DELETE = 32,
    HTTP_OPTIONS = 64,
};

enum http_result { HTTP_DONE = 0, HTTP_SUSPENDED = 1 };

struct http_request;
struct http_response;
typedef enum http_result (*http_handler_fn)(struct http_request *req, struct http_response *resp);
/* Builds the response once a submitted writer command has completed (cmd->status says how). */
typedef void (*http_finish_fn)(struct http_request *req, struct writer_cmd *cmd,
                               struct http_response *resp);

/* Route flags. */
#define HTTP_ROUTE_JSON_BODY 1u /* the body must be application/json (415 otherwise) */

struct http_route {
    enum http_method method;
    const char *pattern; /* "/api/v1/things/{id}": {name} matches one non-empty segment */
    http_handler_fn handler;
    unsigned flags;
};

struct http_request {
    enum http_method method;
    const char *method_name;
    const char *path;                  /* without the query string; borrowed from MHD */
    const struct http_route *route;
    const char *params[PB_HTTP_PATH_PARAMS_MAX]; /* path parameter values, in pattern order */
    size_t nparams;
    struct pb_buf body;
    char request_id[PB_HTTP_REQUEST_ID_MAX + 1];
    /* Who the request is authenticated as ("player:42", "staff:7", "staff"); "" anonymous.
     * Set by the route's authenticate step where it records one (today: the WebSocket). */
    char principal[PB_HTTP_PRINCIPAL_MAX + 1];
    struct MHD_Connection *conn;
    struct http_server *server;
    void *app; /* the application context given to http_server_new */
    /* Set by http_submit; owned by the handler's module until finish runs. */
    struct writer_cmd *cmd;
    http_finish_fn finish;
    /* How the server frees cmd when the request ends: NULL for pb_free (the command is one
     * allocation); a handler whose command owns more sets it before http_submit. */
    void (*cmd_free)(struct writer_cmd *cmd);
};

struct http_header_kv {
    const char *name; /* static string */
    char *value;      /* owned */
};

struct http_response {
    int status;
    const char *content_type; /* static string */
    struct pb_buf body;
    struct http_header_kv headers[8];
    size_t nheaders;
    struct MHD_Response *raw; /* a handler-built MHD response (WebSocket upgrade); owned */
    const char *borrowed;     /* the body when borrowed (http_body_borrow), else NULL */
    size_t borrowed_len;
};

/* Reading the request. Return borrowed strings or NULL. */
const char *http_header(const struct http_request *req, const char *name);
const char *http_query(const struct http_request *req, const char *name);

/* A response built outside the pipeline (e.g. the scratch answer of an authenticate step
 * whose refusal is not used): initialise, then release what it holds. */
void http_response_init(struct http_response *resp);
void http_response_release(struct http_response *resp);

/* Building the response. */
void http_header_add(struct http_response *resp, const char *name, const char *value);
/* For finish functions: the body is the len bytes at text, which belong to the submitted
 * command (text lives until the server frees the command, after the response is sent), so
 * they are sent without a copy. Replaces any body built so far. */
void http_body_borrow(struct http_response *resp, const char *text, size_t len);
/* Serialises doc (reference stolen) as the body with application/json. */
void http_json(struct http_response *resp, int status, json_t *doc);
/* RFC 9457 problem+json: {"type","title","status","code","detail"[,"field"]}. detail and field
 * may be NULL. */
void http_problem(struct http_response *resp, int status, const char *code, const char *title,
                  const char *detail, const char *field);
/* The title that goes with a problem status ("Not found" for 404, ...). */
const char *http_status_title(int status);
/* 400 validation_failed naming field, with detail. */
void http_invalid(struct http_response *resp, const char *field, const char *detail);
/* 429 too_many_attempts with Retry-After: retry_after_s (> 0). */
void http_too_many(struct http_response *resp, int64_t retry_after_s);
/* A resource failure: 503 overloaded with Retry-After for PB_ERR_TIMEOUT (no database
 * connection free), 500 internal_error otherwise. */
void http_unavailable(struct http_response *resp, int rc);
/* http_problem with extension members: members is JSON object members without braces
 * ("\"limit\":\"loss\",\"remaining_minor\":5"), trusted to be well-formed; NULL or "" for none. */
void http_problem_members(struct http_response *resp, int status, const char *code,
                          const char *title, const char *detail, const char *field,
                          const char *members);
/* 400 validation_failed from a JSON decoding error, naming the field. */
void http_problem_json(struct http_response *resp, const struct pb_json_error *err);
/* Parses the request body as a JSON object; on failure fills resp with a 400 and returns
 * PB_ERR_INVALID. */
int http_body_json(struct http_request *req, struct http_response *resp, json_t **out);

/* Parses the body as a JSON object and decodes it into out by the field table; on failure
 * fills resp with a 400 naming the field and returns false. *root (the parsed document,
 * which out's strings borrow from) must be json_decref'ed by the caller either way. */
bool http_decode_body(struct http_request *req, struct http_response *resp,
                      const struct pb_json_field *fields, size_t n, void *out, json_t **root);

/* A refusal decided inside a writer command (status 0: none), answered by its finish
 * function. Strings are static or live as long as the command. */
struct http_refusal {
    int status;
    const char *code;
    const char *detail;
    const char *field;
    int64_t retry_after_s; /* 429 only */
};

/* Answers what a command's finish function must answer when it is not a success: its
 * refusal (a problem; 429 with Retry-After, 401 with WWW-Authenticate) when it has one and
 * the command kept or deliberately rolled back its changes (cmd_status 0 or
 * PB_ERR_CONFLICT), otherwise a failed command (500). Returns false when neither applies
 * and the caller builds the success response. */
bool http_answer_refusal(const struct http_refusal *r, int cmd_status,
                         struct http_response *resp);

/* Submits cmd to writer w for req, suspending the connection; finish builds the response once
 * the command has completed. The caller sets cmd->run; http_submit sets cmd->done and
 * cmd->arg (the command's own data lives in the enclosing struct). Ownership: cmd is the
 * first member of a struct the handler
 * allocated with pb_malloc/pb_calloc; it passes to the server, which frees it when the request
 * ends. Always returns HTTP_SUSPENDED: a full queue answers 503 with Retry-After without
 * calling finish. */
enum http_result http_submit(struct http_request *req, struct writer *w, struct writer_cmd *cmd,
                             http_finish_fn finish);

/* The server. */
struct http_server_config {
    const char *host; /* IPv4 or IPv6 literal to bind */
    int port;         /* 0: pick a free port (see http_server_port) */
    int threads;
    int connection_limit;
    int per_ip_connection_limit; /* 0: none */
    int connection_timeout_s;
    size_t body_max;
    bool access_log;
    /* The built web app served for GET/HEAD outside /api/ that no route matched, and for GET /
     * asking for HTML (static.c); NULL or "": none. Copied. */
    const char *web_dir;
};

struct http_server;
/* Creates a server (not yet listening). app is handed to every handler as req->app. */
int http_server_new(const struct http_server_config *cfg, void *app, struct http_server **out);
/* Adds routes (the array is borrowed and must outlive the server). Call before start. */
void http_server_add_routes(struct http_server *srv, const struct http_route *routes, size_t n);
/* Binds and starts serving. Returns PB_ERR_IO when the address cannot be bound. */
int http_server_start(struct http_server *srv);
int http_server_port(const struct http_server *srv);
/* Appends the per-route request counters and latency histograms in Prometheus text format. */
void http_server_metrics(struct http_server *srv, struct pb_buf *out);
/* Appends "METHOD PATTERN\n" for every route. */
void http_server_routes(const struct http_server *srv, struct pb_buf *out);
/* Stops accepting, finishes in-flight requests, frees everything. */
void http_server_free(struct http_server *srv);

/* The route matcher, exposed for tests. Returns the index of the route matching method and
 * path (params filled), -1 if no pattern matches the path (404), or -2 if a pattern matches
 * but not the method (405; *allowed gets the methods that would match). */
int http_route_match(const struct http_route *const *routes, size_t n, enum http_method method,
                     const char *path, const char **params, size_t *nparams,
                     char *param_storage, size_t storage_len, unsigned *allowed);
/* "GET" -> HTTP_GET; 0 for an unknown method. */
enum http_method http_method_parse(const char *name);
/* HTTP_GET -> "GET" (exactly one bit set). */
const char *http_method_name(enum http_method method);

#endif
