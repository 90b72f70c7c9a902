/* fuzz_placeholders.c: libFuzzer target for the '?' -> $n rewriting of SQL text. */
#include <stdint.h>
#include <string.h>

#include "base/base.h"
#include "base/limits.h"
#include "store/store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char sql[4097], out[4096 * 4];
    memcpy(sql, data, size);
    sql[size] = '\0';
    int n = store_rewrite_placeholders(sql, out, sizeof(out));
    PB_ASSERT(n >= -1 && n <= PB_STORE_PARAMS_MAX);
    if (n >= 0)
        PB_ASSERT(strlen(out) < sizeof(out));
    return 0;
}
