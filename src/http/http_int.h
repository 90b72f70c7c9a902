/* http_int.h: internals shared by the HTTP server files.
 *
 * A request's life (struct http_request, allocated on MHD's first call for the connection's
 * request and freed in the completion callback):
 *   STATE_READING   body bytes are being appended (or discarded after an early error);
 *   STATE_WAITING   the handler submitted a writer command; the connection is suspended;
 *   STATE_RESUMED   the command completed (or the queue was full); the connection is resumed
 *                   and the next call builds and queues the response;
 *   STATE_ANSWERED  a response was queued.
 * An early error (404, 405, 413, 415) is decided on the first call and kept in `early` until
 * the body has been consumed, so the connection stays usable for keep-alive. */
#ifndef PB_HTTP_INT_H
#define PB_HTTP_INT_H

#include "http/http.h"

enum http__state { STATE_READING, STATE_WAITING, STATE_RESUMED, STATE_ANSWERED };

struct http__request_int {
    struct http_request pub;
    enum http__state state;
    int route_index; /* -1: unmatched */
    uint64_t started_ns;
    int status;      /* the status sent, for the log and metrics */
    size_t bytes_out;
    bool body_too_large;
    struct http_response early; /* status != 0: answer this once the body is read */
    size_t param_storage_len;
    char param_storage[]; /* the path parameters' values: the path's length and a NUL */
};

/* The static file server (static.c). */
/* The canonical path of dir (pb_malloc'ed; pb_free it), or NULL when dir is empty or not a
 * directory (static serving off; logged). */
char *http_static_root(const char *dir);
/* True for GET/HEAD outside /api/: requests the static server may answer when no route
 * matched. */
bool http_static_wants(const char *path, enum http_method method);
/* Answers path from root: the file, the app's index.html for a client-side route, or a 404
 * problem. */
void http_static_serve(const char *root, const char *path, struct http_response *resp);
/* Exposed for tests: whether a request path passes the segment checks, and the content type
 * of a file name by its extension. */
bool http_static_path_ok(const char *path);
const char *http_static_content_type(const char *path);

#endif
