/* router.c: matching a method and path against route patterns with {param} segments.
 * Routes are few (tens to a few hundred) and fixed at start-up, so a linear scan over
 * pre-split patterns is enough; see http_route_match in http.h. */
#include <string.h>

#include "base/base.h"
#include "http/http.h"

enum http_method http_method_parse(const char *name)
{
    static const struct {
        const char *name;
        enum http_method method;
    } methods[] = {{"GET", HTTP_GET},       {"HEAD", HTTP_HEAD},     {"POST", HTTP_POST},
                   {"PUT", HTTP_PUT},       {"PATCH", HTTP_PATCH},   {"DELETE", HTTP_DELETE},
                   {"OPTIONS", HTTP_OPTIONS}};
    for (size_t i = 0; i < PB_ARRAY_LEN(methods); i++)
        if (strcmp(name, methods[i].name) == 0)
            return methods[i].method;
    return 0;
}

/* Matches path against pattern; on success writes parameter values (NUL-terminated, into
 * storage) and returns true. */
static bool match(const char *pattern, const char *path, const char **params, size_t *nparams,
                  char *storage, size_t storage_len)
{
    size_t used = 0, n = 0;
    const char *p = pattern, *s = path;
    while (*p && *s) {
        if (*p == '{') {
            const char *close = strchr(p, '}');
            PB_ASSERT(close != NULL);
            size_t len = strcspn(s, "/");
            if (len == 0 || n >= PB_HTTP_PATH_PARAMS_MAX || used + len + 1 > storage_len)
                return false;
            memcpy(storage + used, s, len);
            storage[used + len] = '\0';
            params[n++] = storage + used;
            used += len + 1;
            p = close + 1;
            s += len;
        } else if (*p == *s) {
            p++;
            s++;
        } else {
            return false;
        }
    }
    if (*p || *s)
        return false;
    *nparams = n;
    return true;
}

int http_route_match(const struct http_route *const *routes, size_t n, enum http_method method,
                     const char *path, const char **params, size_t *nparams,
                     char *param_storage, size_t storage_len, unsigned *allowed)
{
    *allowed = 0;
    *nparams = 0;
    for (size_t i = 0; i < n; i++) {
        size_t np = 0;
        if (!match(routes[i]->pattern, path, params, &np, param_storage, storage_len))
            continue;
        if (routes[i]->method == method) {
            *nparams = np;
            return (int)i;
        }
        *allowed |= routes[i]->method;
    }
    return *allowed ? -2 : -1;
}
