/* fuzz_router.c: libFuzzer target for the route matcher on arbitrary request paths. */
#include <stdint.h>
#include <string.h>

#include "base/base.h"
#include "http/http.h"

static enum http_result nop(struct http_request *req, struct http_response *resp)
{
    (void)req;
    (void)resp;
    return HTTP_DONE;
}

static const struct http_route table[] = {
    {HTTP_GET, "/healthz", nop, 0},
    {HTTP_GET, "/api/v1/players/{id}", nop, 0},
    {HTTP_POST, "/api/v1/players/{id}/sessions/{sid}/x/{a}/{b}", nop, 0},
    {HTTP_PUT, "/{a}", nop, 0},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0 || size >= PB_HTTP_PATH_MAX)
        return 0;
    char path[PB_HTTP_PATH_MAX];
    memcpy(path, data + 1, size - 1);
    path[size - 1] = '\0';
    const struct http_route *routes[PB_ARRAY_LEN(table)];
    for (size_t i = 0; i < PB_ARRAY_LEN(table); i++)
        routes[i] = &table[i];
    const char *params[PB_HTTP_PATH_PARAMS_MAX];
    size_t np;
    unsigned allowed;
    char storage[PB_HTTP_PATH_MAX];
    enum http_method m = (enum http_method)(1u << (data[0] % 7));
    int idx = http_route_match(routes, PB_ARRAY_LEN(table), m, path, params, &np, storage,
                               sizeof(storage), &allowed);
    if (idx >= 0) {
        PB_ASSERT(table[idx].method == m && np <= PB_HTTP_PATH_PARAMS_MAX);
        for (size_t i = 0; i < np; i++)
            PB_ASSERT(params[i][0] != '\0' && strchr(params[i], '/') == NULL);
    }
    return 0;
}
