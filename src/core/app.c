/* app.c: assembling the process (app.h): migrations of every module, start and stop in
 * dependency order, periodic tasks, and the accessors modules' handlers use (app_int.h). The
 * system and diagnostic routes are in app_routes.c. */
#include "core/app.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/log.h"
#include "core/app_int.h"
#include "core/outbox.h"
#include "core/scheduler.h"
#include "core/writer.h"
#include "games/casino.h"
#include "games/blackjack_http.h"
#include "games/blackjack_round.h"
#include "games/baccarat_http.h"
#include "games/baccarat_round.h"
#include "games/crash_http.h"
#include "games/crash_live.h"
#include "games/casino_http.h"
#include "games/games.h"
#include "games/rounds.h"
#include "http/http.h"
#include "http/ws.h"
#include "ledger/audit.h"
#include "ledger/ledger.h"
#include "ledger/ledger_http.h"
#include "pam/kyc.h"
#include "pam/kyc_http.h"
#include "pam/notes.h"
#include "pam/pam.h"
#include "pam/pam_http.h"
#include "pam/staff.h"
#include "pam/staff_http.h"
#include "rg/rg.h"
#include "rg/rg_http.h"
#include "providers/providers.h"
#include "providers/providers_http.h"
#include "payments/payments.h"
#include "payments/payments_http.h"

static void log_failure(const char *msg, const char *detail)
{
    struct pb_buf esc = PB_BUF_INIT;
    pb_buf_json_string(&esc, detail, strlen(detail));
    pb_log(PB_LOG_ERROR, msg, "\"error\":%s", esc.data);
    pb_buf_release(&esc);
}

/* Every module's migrations, in dependency order. */
static const struct {
    const struct store_migration *list;
    const size_t *count;
} module_migrations[] = {
    {outbox_migrations, &outbox_migrations_count},
    {ledger_migrations, &ledger_migrations_count},
    {audit_migrations, &audit_migrations_count},
    {pam_migrations, &pam_migrations_count},
    {staff_migrations, &staff_migrations_count},
    {kyc_migrations, &kyc_migrations_count},
    {notes_migrations, &notes_migrations_count},
    {rg_migrations, &rg_migrations_count},
    {rounds_migrations, &rounds_migrations_count},
    {providers_migrations, &providers_migrations_count},
    {payments_migrations, &payments_migrations_count},
    {blackjack_migrations, &blackjack_migrations_count},
    {baccarat_migrations, &baccarat_migrations_count},
    {crash_migrations, &crash_migrations_count},
};

static struct store_migration all_migrations[128];
static size_t all_migrations_count;
static pthread_once_t migrations_once = PTHREAD_ONCE_INIT;

static void concat_migrations(void)
{
    for (size_t m = 0; m < PB_ARRAY_LEN(module_migrations); m++) {
        for (size_t i = 0; i < *module_migrations[m].count; i++) {
            PB_ASSERT(all_migrations_count < PB_ARRAY_LEN(all_migrations));
            all_migrations[all_migrations_count++] = module_migrations[m].list[i];
        }
    }
}

const struct store_migration *app_migrations(size_t *count)
{
    pthread_once(&migrations_once, concat_migrations);
    *count = all_migrations_count;
    return all_migrations;
}

int app_migrate(const struct pb_config *cfg, int *applied_out)
{
    struct store *s;
    char err[256];
    if (store_open(cfg->db_url, &s, err, sizeof(err)) != PB_OK) {
        log_failure("cannot open the database", err);
        return PB_ERR_DB;
    }
    size_t n;
    const struct store_migration *list = app_migrations(&n);
    int rc = store_migrate(s, list, n, applied_out);
    store_close(s);
    return rc;
}

/* Accessors for modules' handlers (declared in their headers); app is req->app. */
struct ws_hub *ws_hub_of(void *app)
{
    return ((struct pb_app *)app)->hub;
}

int ws_authenticate(struct http_request *req)
{
    req->principal[0] = '\0';
    const char *auth = http_header(req, "Authorization");
    const char *token = http_query(req, "access_token");
    if (!auth && !token)
        return PB_OK; /* anonymous: public topics only */
    struct pam_principal player;
    int rc = auth ? pam_authenticate(req->app, req, &player)
                  : pam_authenticate_token(req->app, token, &player);
    if (rc == PB_OK) {
        snprintf(req->principal, sizeof(req->principal), "player:%s", player.player_id);
        return PB_OK;
    }
    if (!auth)
        return PB_ERR_INVALID;
    /* Not a player session: a staff session or the service token may watch any player. */
    struct staff_principal who;
    struct http_response scratch;
    http_response_init(&scratch);
    rc = staff_authenticate(req->app, req, "ledger.read", &who, &scratch);
    http_response_release(&scratch);
    if (rc != PB_OK)
        return PB_ERR_INVALID;
    pb_strlcpy(req->principal, who.actor, sizeof(req->principal));
    return PB_OK;
}

struct crash_engine *app_crash(void *app)
{
    return ((struct pb_app *)app)->crash;
}

struct ledger *app_ledger(void *app)
{
    return ((struct pb_app *)app)->ledger;
}

struct writer *app_writer(void *app)
{
    return ((struct pb_app *)app)->writer;
}

struct store_pool *app_readers(void *app)
{
    return ((struct pb_app *)app)->readers;
}

const struct pam_config *app_pam_config(void *app)
{
    return ((struct pb_app *)app)->pam;
}

void app_peer_address(const struct http_request *req, char *out, size_t outlen)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;
    const void *addr = NULL;
    if (sa && sa->sa_family == AF_INET)
        addr = &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
    else if (sa && sa->sa_family == AF_INET6)
        addr = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
    if (!addr || !inet_ntop(sa->sa_family, addr, out, (socklen_t)outlen))
        pb_strlcpy(out, "unknown", outlen);
}

struct rg *app_rg(void *app)
{
    return ((struct pb_app *)app)->rg;
}

struct payments_service *app_payments(void *app)
{
    return ((struct pb_app *)app)->payments;
}

const char *app_staff_token(void *app)
{
    return ((struct pb_app *)app)->cfg.staff_token;
}

/* ---- start and stop ---- */

/* ---- periodic tasks ---- */

#define EXPIRY_INTERVAL_MS 1000 /* pending transfers are voided within this of their timeout */
#define EXPIRY_BATCH_MAX 256    /* voided per command; the next tick takes the rest */
#define REALITY_INTERVAL_MS 10000 /* reality checks are pushed within this of being due */
#define REALITY_BATCH_MAX 500     /* checks per command; the next tick takes the rest */

/* A periodic writer command: at most one in flight; a tick while it runs is skipped. */
struct app_periodic {
    struct writer_cmd cmd;
    struct pb_app *app;
    int (*work)(struct pb_app *app, struct store *tx, struct writer_cmd *cmd);
    atomic_bool busy;
};

static int periodic_run(struct store *tx, struct writer_cmd *cmd)
{
    struct app_periodic *p = (struct app_periodic *)cmd;
    return p->work(p->app, tx, cmd);
}

static void periodic_done(struct writer_cmd *cmd)
{
    atomic_store(&((struct app_periodic *)cmd)->busy, false);
}

static void periodic_tick(void *arg)
{
    struct app_periodic *p = arg;
    if (atomic_exchange(&p->busy, true))
        return;
    p->cmd = (struct writer_cmd){.run = periodic_run, .done = periodic_done};
    if (writer_submit(p->app->writer, &p->cmd) != PB_OK)
        atomic_store(&p->busy, false);
}

static struct app_periodic *periodic_new(struct pb_app *app,
                                         int (*work)(struct pb_app *, struct store *,
                                                     struct writer_cmd *))
{
    struct app_periodic *p = pb_calloc(1, sizeof(*p));
    p->app = app;
    p->work = work;
    return p;
}

static int expiry_work(struct pb_app *app, struct store *tx, struct writer_cmd *cmd)
{
    int voided = 0;
    int rc = ledger_expire(app->ledger, tx, cmd, pb_wall_ms() * 1000000, EXPIRY_BATCH_MAX,
                           &voided);
    if (rc == PB_OK && voided > 0)
        pb_log(PB_LOG_INFO, "expired pending transfers voided", "\"count\":%d", voided);
    return rc;
}

static int reality_work(struct pb_app *app, struct store *tx, struct writer_cmd *cmd)
{
    int sent = 0;
    return rg_reality_tick(app->rg, tx, cmd, REALITY_BATCH_MAX, &sent);
}

/* Scheduler task (every PB_STORE_CHECKPOINT_CATCH_UP_MS): checkpoints SQLite's WAL off the
 * writer's path (store_checkpoint), every PB_STORE_CHECKPOINT_INTERVAL_MS, or at each tick
 * while the WAL is long enough that the writer's own checkpoint is near (limits.h). */
static void checkpoint_tick(void *arg)
{
    struct pb_app *app = arg;
    uint64_t now = pb_mono_ns();
    if (!store_checkpoint_due(app->wal_frames, app->checkpoint_last_ns, now))
        return;
    struct store *s;
    if (store_pool_acquire(app->readers, 0, &s) != PB_OK)
        return; /* every reader busy: next tick */
    if (store_checkpoint(s, &app->wal_frames) != PB_OK)
        pb_log(PB_LOG_WARN, "checkpoint failed", NULL);
    store_pool_release(app->readers, s);
    app->checkpoint_last_ns = now;
}

static int start_scheduler(struct pb_app *app)
{
    app->expiry = periodic_new(app, expiry_work);
    app->reality = periodic_new(app, reality_work);
    app->scheduler = scheduler_new();
    scheduler_every(app->scheduler, "ledger.expiry", EXPIRY_INTERVAL_MS, periodic_tick,
                    app->expiry);
    scheduler_every(app->scheduler, "rg.reality", REALITY_INTERVAL_MS, periodic_tick,
                    app->reality);
    scheduler_every(app->scheduler, "store.checkpoint", PB_STORE_CHECKPOINT_CATCH_UP_MS,
                    checkpoint_tick, app);
    app->casino_recovery = casino_recovery_new(app->writer, app->ledger);
    PB_ASSERT(bj_round_register_recovery() == PB_OK); /* blackjack rounds left open */
    scheduler_every(app->scheduler, "casino.recovery", CASINO_RECOVERY_INTERVAL_MS,
                    casino_recovery_tick, app->casino_recovery);
    /* live crash: resumes (voids an interrupted round), then runs rounds when enabled */
    scheduler_every(app->scheduler, "crash.rounds", CRASH_TICK_MS, crash_engine_tick,
                    app->crash);
    return scheduler_start(app->scheduler);
}

/* The HTTP server with every module's routes, not yet listening. */
static void new_http_server(const struct pb_config *cfg, void *app, struct http_server **out)
{
    struct http_server_config hs = {cfg->listen_host, cfg->listen_port, (int)cfg->http_threads,
                                    (int)cfg->http_connection_limit,
                                    (int)cfg->http_per_ip_connection_limit,
                                    (int)cfg->http_connection_timeout_s,
                                    (size_t)cfg->http_body_max, cfg->access_log,
                                    cfg->web_dir};
    http_server_new(&hs, app, out);
    http_server_add_routes(*out, app__system_routes, app__system_routes_count);
    http_server_add_routes(*out, ledger_routes, ledger_routes_count);
    http_server_add_routes(*out, pam_routes, pam_routes_count);
    http_server_add_routes(*out, staff_routes, staff_routes_count);
    http_server_add_routes(*out, kyc_routes, kyc_routes_count);
    http_server_add_routes(*out, notes_routes, notes_routes_count);
    http_server_add_routes(*out, rg_routes, rg_routes_count);
    http_server_add_routes(*out, casino_routes, casino_routes_count);
    http_server_add_routes(*out, providers_routes, providers_routes_count);
    http_server_add_routes(*out, payments_routes, payments_routes_count);
    http_server_add_routes(*out, blackjack_routes, blackjack_routes_count);
    http_server_add_routes(*out, baccarat_routes, baccarat_routes_count);
    http_server_add_routes(*out, crash_routes, crash_routes_count);
    if (cfg->diagnostics)
        http_server_add_routes(*out, app__diagnostic_routes, app__diagnostic_routes_count);
}

void app_routes(const struct pb_config *cfg, struct pb_buf *out)
{
    struct http_server *srv;
    new_http_server(cfg, NULL, &srv);
    http_server_routes(srv, out);
    http_server_free(srv);
}

/* Refuses a database whose schema lacks any of this build's migrations. */
static int check_schema(struct store *s)
{
    size_t n;
    const struct store_migration *first, *list = app_migrations(&n);
    int pending = store_migrations_pending(s, list, n, &first);
    if (pending == 0)
        return PB_OK;
    pb_log(PB_LOG_ERROR, "database schema is not current: run pitboss migrate or serve --migrate",
           "\"pending\":%d,\"first\":\"%s/%d\"", pending, first->module, first->version);
    return PB_ERR_DB;
}

/* Opens the reader pool and the write connection and starts the writer (app_stop cleans up
 * whatever was opened when this fails). */
static int start_storage(struct pb_app *app)
{
    const struct pb_config *cfg = &app->cfg;
    char err[256];
    struct store *tx;
    if (store_pool_open(cfg->db_url, (int)cfg->store_readers, &app->readers, err,
                        sizeof(err)) != PB_OK) {
        log_failure("cannot open the database", err);
        return PB_ERR_DB;
    }
    if (store_open(cfg->db_url, &tx, err, sizeof(err)) != PB_OK) {
        log_failure("cannot open the write connection", err);
        return PB_ERR_DB;
    }
    if (check_schema(tx) != PB_OK) {
        store_close(tx);
        return PB_ERR_DB;
    }
    app->outbox = outbox_new(cfg->node);
    app->ledger = ledger_new();
    struct ledger_guard guard = rg_guard(app->rg);
    ledger_set_guard(app->ledger, &guard);
    struct writer_config wc = {(int)cfg->writer_batch_max, (int)cfg->writer_wait_us,
                               (int)cfg->writer_queue_max, app->cfg.db_url,
                               {ledger_participant(app->ledger), rg_participant(app->rg)}, 2};
    if (writer_start(&wc, tx, app->outbox, &app->writer) != PB_OK) {
        store_close(tx);
        return PB_ERR_IO;
    }
    return PB_OK;
}

static int start_network(struct pb_app *app)
{
    const struct pb_config *cfg = &app->cfg;
    struct ws_hub_config hc = {(size_t)cfg->ws_message_max, (size_t)cfg->ws_send_queue_max,
                               (int)cfg->ws_connections_max, (int)cfg->ws_ping_interval_s,
                               (int)cfg->ws_idle_timeout_s};
    if (ws_hub_start(&hc, &app->hub) != PB_OK)
        return PB_ERR_IO;
    if (crash_engine_new(cfg, app->writer, app->ledger, app->hub, &app->crash) != PB_OK) {
        log_failure("bad crash configuration", "crash.chain_seed must be 64 hex digits");
        return PB_ERR_INVALID;
    }
    /* The firehose of every event (topic "events") is for diagnostics: WebSocket topics are
     * not yet authorised per subscriber (that arrives with player sessions). */
    if (cfg->diagnostics)
        outbox_subscribe(app->outbox, "websocket", app__events_to_hub, app);
    outbox_subscribe(app->outbox, "ledger.balances", ledger_http_on_event, app);
    outbox_subscribe(app->outbox, "rg.push", rg_http_on_event, app);
    outbox_subscribe(app->outbox, "casino.rounds", casino_http_on_event, app);
    if (outbox_start(app->outbox, app->readers, app->writer) != PB_OK)
        return PB_ERR_IO;
    new_http_server(cfg, app, &app->http);
    if (http_server_start(app->http) != PB_OK) {
        pb_log(PB_LOG_ERROR, "cannot listen", "\"host\":\"%s\",\"port\":%d", cfg->listen_host,
               cfg->listen_port);
        return PB_ERR_IO;
    }
    return PB_OK;
}

/* Loads the rule sets (PITBOSS_RG_RULES, or the built-in ones) and checks that every
 * jurisdiction names one of them. */
static int start_rg(struct pb_app *app)
{
    char err[512];
    struct rg_rules *rules;
    if (rg_rules_load(getenv("PITBOSS_RG_RULES"), &rules, err, sizeof(err)) != PB_OK) {
        log_failure("bad responsible-gaming rules file (PITBOSS_RG_RULES)", err);
        pam_config_free(app->pam);
        app->pam = NULL;
        return PB_ERR_INVALID;
    }
    for (size_t i = 0; i < app->pam->njurisdictions; i++) {
        const struct pam_jurisdiction *j = &app->pam->jurisdictions[i];
        if (j->rg_rule_set[0] && !rg_rules_find(rules, j->rg_rule_set)) {
            snprintf(err, sizeof(err), "jurisdiction %s names rule set %s, which is not defined",
                     j->name, j->rg_rule_set);
            log_failure("bad responsible-gaming rules file (PITBOSS_RG_RULES)", err);
            rg_rules_free(rules);
            pam_config_free(app->pam);
            app->pam = NULL;
            return PB_ERR_INVALID;
        }
    }
    app->rg = rg_new(app->pam, rules);
    return PB_OK;
}

/* The payments service: its sandbox PSP calls this process back on its own address. */
static int start_payments(struct pb_app *app)
{
    const char *host = app->cfg.listen_host;
    char base[128];
    if (strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0)
        host = "127.0.0.1";
    snprintf(base, sizeof(base), strchr(host, ':') ? "http://[%s]:%d" : "http://%s:%d", host,
             http_server_port(app->http));
    return payments_service_start(&app->cfg, base, app->writer, app->readers, app->ledger,
                                  &app->payments);
}

/* The configuration's roulette table limits (games.h), checked and put in force. */
static int apply_roulette_limits(const char *text)
{
    struct roulette_limits l;
    struct pb_json_error err = {0};
    json_t *doc = json_loads(text, 0, NULL);
    bool parsed = doc != NULL;
    int rc = parsed ? roulette_limits_decode(doc, &l, &err) : PB_ERR_INVALID;
    json_decref(doc);
    if (rc == PB_OK)
        rc = roulette_set_limits(&l);
    if (rc != PB_OK) {
        char detail[sizeof(err.field) + sizeof(err.detail) + 32];
        snprintf(detail, sizeof(detail), "roulette_limits%s%s: %s", err.field[0] ? "." : "",
                 err.field, parsed ? err.detail : "is not a JSON object");
        log_failure("bad roulette table limits", detail);
    }
    return rc;
}

int app_start(struct pb_app *app, const struct pb_config *cfg)
{
    memset(app, 0, sizeof(*app));
    app->cfg = *cfg;
    char err[512];
    if (pam_config_load(getenv("PITBOSS_JURISDICTIONS"), &app->pam, err, sizeof(err)) != PB_OK) {
        log_failure("bad jurisdictions file (PITBOSS_JURISDICTIONS)", err);
        return PB_ERR_INVALID;
    }
    if (start_rg(app) != PB_OK)
        return PB_ERR_INVALID;
    if (cfg->roulette_limits[0] && apply_roulette_limits(cfg->roulette_limits) != PB_OK)
        return PB_ERR_INVALID;
    int rc = start_storage(app);
    if (rc == PB_OK)
        rc = start_network(app);
    if (rc == PB_OK)
        rc = start_scheduler(app);
    if (rc == PB_OK)
        rc = start_payments(app);
    if (rc != PB_OK)
        app_stop(app);
    return rc;
}

void app_stop(struct pb_app *app)
{
    scheduler_free(app->scheduler); /* no new periodic commands */
    payments_service_stop(app->payments); /* its worker waits on the writer */
    /* The hub hands its upgraded sockets back while MHD still runs; MHD then frees the
     * upgrade handles; the hub itself is freed once no upgrade callback can reach it. */
    if (app->hub)
        ws_hub_stop(app->hub);
    http_server_free(app->http);
    outbox_stop(app->outbox);
    writer_stop(app->writer);
    outbox_free(app->outbox);
    ledger_free(app->ledger);
    pb_free(app->expiry); /* their commands, if any, completed before the writer stopped */
    pb_free(app->reality);
    rg_free(app->rg);
    casino_recovery_free(app->casino_recovery); /* likewise */
    crash_engine_free(app->crash); /* likewise */
    if (app->hub)
        ws_hub_free(app->hub);
    store_pool_close(app->readers);
    pam_config_free(app->pam);
    memset(app, 0, sizeof(*app));
}
