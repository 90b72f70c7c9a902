/* app.h: the running pitboss process: configuration, store, writer, event outbox, WebSocket
 * hub and HTTP server, started and stopped in dependency order. DESIGN.md section 2.
 *
 * Start order: readers -> migrations check -> writer (with the outbox and ledger as
 * participants) -> WebSocket hub -> outbox relay -> HTTP -> scheduler.
 * Stop order is the reverse, so in-flight requests finish through a still-running writer. */
#ifndef PB_APP_H
#define PB_APP_H

#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/config.h"
#include "store/store.h"

struct pb_app {
    struct pb_config cfg;
    struct store_pool *readers;
    struct writer *writer;
    struct outbox *outbox;
    struct ledger *ledger;
    struct scheduler *scheduler;
    struct ws_hub *hub;
    struct http_server *http;
    struct pam_config *pam;    /* brands, jurisdictions, policy (PITBOSS_JURISDICTIONS) */
    struct rg *rg;             /* responsible gaming: the ledger's debit-path guard */
    struct app_periodic *expiry;  /* the pending-transfer expiry task's command */
    struct app_periodic *reality; /* the reality-check task's command */
    struct casino_recovery *casino_recovery; /* the interrupted-round recovery task */
    struct payments_service *payments; /* deposits, withdrawals, crypto (src/payments) */
    struct crash_engine *crash; /* live crash rounds (src/games/crash_live.h) */
    int64_t wal_frames;          /* SQLite: the WAL's length at the last checkpoint */
    uint64_t checkpoint_last_ns; /* when it ran (store_checkpoint_due) */
};

/* Every module's migrations, in one list (for pitboss migrate and --migrate). */
const struct store_migration *app_migrations(size_t *count);

/* Opens the database named by cfg and applies pending migrations. Returns 0 or PB_ERR_DB. */
int app_migrate(const struct pb_config *cfg, int *applied_out);

/* Appends "METHOD PATTERN\n" for every route serve would offer with cfg. */
void app_routes(const struct pb_config *cfg, struct pb_buf *out);

/* Starts everything; on failure stops what was started and returns the error:
 * PB_ERR_INVALID for a configuration problem found at start (the jurisdictions file, a
 * listen address that is not an IP literal), others for resources that failed. */
int app_start(struct pb_app *app, const struct pb_config *cfg);
void app_stop(struct pb_app *app);

#endif
