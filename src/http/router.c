/* router.c: matching a method and path against route patterns with {param} segments.
 * Routes are few (tens to a few hundred) and fixed at start-up, so a linear scan over
 * pre-split patterns is enough; see http_route_match in http.h. */
#include <string.h>

#include "base/base.h"
#include "http/http.h"

static const char *const method_names[] = {"GET",   "HEAD",   "POST",   "PUT",
                                           "PATCH", "DELETE", "OPTIONS"};

enum http_method http_method_parse(const char *name)
{
    for (size_t i = 0; i < PB_ARRAY_LEN(method_names); i++)
        if (strcmp(name, method_names[i]) == 0)
            return (enum http_method)(1u << i);
    return 0;
}

const char *http_method_name(enum http_method method)
{
    PB_ASSERT(method != 0 && (method & (method - 1)) == 0);
    unsigned i = (unsigned)__builtin_ctz((unsigned)method);
    PB_ASSERT(i < PB_ARRAY_LEN(method_names));
    return method_names[i];
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
