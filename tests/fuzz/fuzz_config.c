/* fuzz_config.c: libFuzzer target for the configuration decoder: any document either applies
 * or names a key; an applied configuration stays within every bound. */
#include <stdint.h>
#include <string.h>

#include "base/base.h"
#include "base/config.h"
#include "base/limits.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pb_config cfg;
    struct pb_config_error err;
    pb_config_defaults(&cfg);
    memset(&err, 0, sizeof(err));
    if (pb_config_load_text(&cfg, (const char *)data, size, &err) != PB_OK) {
        PB_ASSERT(err.key[0] != '\0' && err.detail[0] != '\0');
        return 0;
    }
    PB_ASSERT(cfg.http_threads >= 2 && cfg.http_threads <= PB_HTTP_THREADS_MAX);
    PB_ASSERT(cfg.writer_batch_max >= 1 && cfg.writer_batch_max <= PB_WRITER_BATCH_MAX_CEILING);
    PB_ASSERT(cfg.listen_port >= 0 && cfg.listen_port <= 65535);
    PB_ASSERT(cfg.db_url[0] != '\0' && cfg.listen_host[0] != '\0');
    return 0;
}
