/* static.c: the static file server for the built web app (docs/web.md): the player app at /
 * and the back office at /admin, from one directory (config web_dir, default web/dist).
 *
 * Only GET and HEAD requests that no API route matched reach it (and GET / when the client
 * asks for HTML: API clients still get the JSON of the root route). Rules:
 *   - the path is checked segment by segment before it touches the file system: empty, "."
 *     and ".." segments, hidden names (leading '.') and bytes outside [A-Za-z0-9._~-] are
 *     refused with 404; the file found is then resolved with realpath() and must lie inside
 *     the directory (a symbolic link pointing out of it is not served);
 *   - /api/... is never served from here (an unknown API path stays a problem+json 404);
 *   - a path whose last segment has no '.' and names no file is a client-side route: it gets
 *     the app's index.html (admin/index.html under /admin, index.html otherwise);
 *   - files under /assets/ carry content hashes in their names (Vite): cached for a year,
 *     immutable; everything else (index.html) is revalidated (no-cache).
 * The content type comes from the extension; nosniff is always set, and the pages carry a
 * Content-Security-Policy that allows only the app's own scripts, styles and API (the apps
 * build the DOM without HTML strings and load nothing from elsewhere). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <microhttpd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/base.h"
#include "base/log.h"
#include "http/http_int.h"

/* The pages' policy: own origin only; WebSocket to the same host (ws: and wss: cover both
 * schemes, CSP 3 'self' does not in every browser); data: images for the empty favicon. */
#define PAGE_CSP                                                                                   \
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "              \
    "connect-src 'self' ws: wss:; object-src 'none'; base-uri 'none'; form-action 'self'; "        \
    "frame-ancestors 'none'"

static const struct {
    const char *ext;
    const char *type;
} content_types[] = {
    {"html", "text/html; charset=utf-8"},
    {"js", "text/javascript; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},
    {"json", "application/json"},
    {"map", "application/json"},
    {"webmanifest", "application/manifest+json"},
    {"svg", "image/svg+xml"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"webp", "image/webp"},
    {"ico", "image/x-icon"},
    {"woff2", "font/woff2"},
    {"woff", "font/woff"},
    {"txt", "text/plain; charset=utf-8"},
};

const char *http_static_content_type(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(slash ? slash : path, '.');
    if (dot && dot[1]) {
        for (size_t i = 0; i < PB_ARRAY_LEN(content_types); i++)
            if (strcasecmp(dot + 1, content_types[i].ext) == 0)
                return content_types[i].type;
    }
    return "application/octet-stream";
}

bool http_static_path_ok(const char *path)
{
    if (path[0] != '/')
        return false;
    const char *seg = path + 1;
    if (*seg == '\0')
        return true; /* "/" */
    for (;;) {
        size_t len = strcspn(seg, "/");
        if (len == 0 && seg[len] == '\0')
            return true; /* one trailing slash: "/admin/" */
        if (len == 0 || seg[0] == '.')
            return false; /* "//", ".", "..", ".hidden" */
        if (strspn(seg, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._~-") !=
            len)
            return false;
        if (seg[len] == '\0')
            return true;
        seg += len + 1;
    }
}

/* The web dir's canonical path, resolved once (NULL: static serving is off). */
char *http_static_root(const char *dir)
{
    if (!dir || !dir[0])
        return NULL;
    char *root = realpath(dir, NULL);
    struct stat st;
    if (!root || stat(root, &st) != 0 || !S_ISDIR(st.st_mode)) {
        pb_log(PB_LOG_INFO, "web app not served: no such directory (build it: make web)",
               "\"web_dir\":\"%s\"", dir);
        free(root);
        return NULL;
    }
    char *copy = pb_strdup(root);
    free(root);
    return copy;
}

/* Opens root + rel if it is a regular file inside root; returns the fd (size in *size) or
 * -1. */
static int open_inside(const char *root, const char *rel, off_t *size)
{
    char joined[PATH_MAX];
    int n = snprintf(joined, sizeof(joined), "%s/%s", root, rel);
    if (n < 0 || (size_t)n >= sizeof(joined))
        return -1;
    char *real = realpath(joined, NULL);
    if (!real)
        return -1;
    size_t rootlen = strlen(root);
    int fd = -1;
    if (strncmp(real, root, rootlen) == 0 && real[rootlen] == '/') {
        fd = open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        struct stat st;
        if (fd >= 0 &&
            (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > PB_HTTP_STATIC_FILE_MAX)) {
            close(fd);
            fd = -1;
        } else if (fd >= 0) {
            *size = st.st_size;
        }
    }
    free(real);
    return fd;
}

static bool is_admin_path(const char *path)
{
    return strncmp(path, "/admin", 6) == 0 && (path[6] == '\0' || path[6] == '/');
}

/* The app a client-side route belongs to: its index.html. */
static const char *app_index(const char *path)
{
    return is_admin_path(path) ? "admin/index.html" : "index.html";
}

bool http_static_wants(const char *path, enum http_method method)
{
    if (method != HTTP_GET && method != HTTP_HEAD)
        return false;
    return strncmp(path, "/api/", 5) != 0 && strcmp(path, "/api") != 0;
}

void http_static_serve(const char *root, const char *path, struct http_response *resp)
{
    PB_ASSERT(root != NULL && path[0] == '/');
    if (!http_static_path_ok(path)) {
        http_problem(resp, 404, "not_found", "Not found", "no such resource", NULL);
        return;
    }
    const char *rel = path + 1;
    const char *last = strrchr(path, '/') + 1;
    off_t size = 0;
    int fd = -1;
    if (*rel && *last)
        fd = open_inside(root, rel, &size);
    bool hashed = strncmp(path, "/assets/", 8) == 0;
    if (fd < 0 && !strchr(last, '.')) {
        rel = app_index(path); /* a client-side route (or a directory): the app's page */
        hashed = false;
        fd = open_inside(root, rel, &size);
    }
    if (fd < 0) {
        http_problem(resp, 404, "not_found", "Not found", "no such resource", NULL);
        return;
    }
    struct MHD_Response *mr = MHD_create_response_from_fd((uint64_t)size, fd);
    PB_ASSERT(mr != NULL); /* takes the fd */
    MHD_add_response_header(mr, MHD_HTTP_HEADER_CONTENT_TYPE, http_static_content_type(rel));
    MHD_add_response_header(mr, MHD_HTTP_HEADER_CACHE_CONTROL,
                            hashed ? "public, max-age=31536000, immutable" : "no-cache");
    MHD_add_response_header(mr, "X-Content-Type-Options", "nosniff");
    if (!hashed)
        MHD_add_response_header(mr, "Referrer-Policy", "same-origin");
    if (strcmp(http_static_content_type(rel), "text/html; charset=utf-8") == 0)
        MHD_add_response_header(mr, "Content-Security-Policy", PAGE_CSP);
    resp->status = 200;
    resp->raw = mr;
}
