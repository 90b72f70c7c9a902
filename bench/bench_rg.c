/* bench_rg.c: the responsible-gaming guard's cost on the writer thread, in process.
 *
 *   bench_rg --db URL [--groups K] [--players P] [--who unknown|demo|uk] [--guard on|off]
 *            [--cache on|off] [--game table|slot] [--limits] [--clients C] [--batch-max B]
 *
 * Opens P players and funds each by a deposit, then runs K linked groups [bet, win] (two
 * transfers, amounts 1..100 minor units) through ledger_apply inside writer commands, C
 * clients in a closed loop, with the rg guard registered (--guard on, the default) or not
 * (--guard off: the ledger alone, to subtract), with its cache of players' inputs (the rg
 * writer participant; --cache off: every input read from the database). Players:
 *   unknown  accounts opened for owner ids PAM does not know ("bench<N>"), as the HTTP
 *            benchmark's staff-opened wallets: the permissive rule set, no block/KYC gate;
 *   demo     PAM players of a brand under the permissive rule set;
 *   uk       PAM players under the UK-like rule set (deposit-limit prompt answered).
 * --limits gives every player a deposit (30d), loss (24h) and wager (7d) limit too high to
 * refuse anything, so their usage is computed for every bet. --game slot marks the stakes as
 * slot game cycles (stake caps and, for uk, the 2.5 s pace). Players take turns in order and
 * the rg clock advances 1 ms per group (a synthetic clock: with P >= 2500 no slot cycle is
 * too fast), so every group is accepted.
 *
 * Prints groups/s (wall clock; the machine may be shared) and CPU per group: of the writer
 * thread (CLOCK_THREAD_CPUTIME_ID read inside two marker commands around the measured run:
 * what bounds throughput) and of the whole process (getrusage: with the clients and the
 * syncer), and the cache's counters. Run it twice (--guard on / off) to get the guard's own
 * cost. */
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "base/base.h"
#include "core/app.h"
#include "core/outbox.h"
#include "core/writer.h"
#include "ledger/ledger.h"
#include "pam/pam.h"
#include "rg/rg.h"
#include "store/store.h"

#define SETUP_PLAYERS_PER_COMMAND 8 /* up to 4 events each (limits, deposit) */
#define FUNDING_MINOR 100000000 /* 1,000,000.00 GBP per player: bets never run out */
#define LIMIT_MINOR 1000000000000LL /* limits that never refuse */
#define BENCH_T0 1767225600000LL    /* 2026-01-01T00:00:00Z */

#define PAM_CFG                                                                               \
    "{\"jurisdictions\":{"                                                                    \
    "\"uk-j\":{\"min_age\":18,\"currencies\":[\"GBP\"],\"countries\":[\"*\"],"                \
    "\"kyc_required\":[],\"rg_rule_set\":\"uk\"},"                                            \
    "\"demo-j\":{\"min_age\":18,\"currencies\":[\"GBP\"],\"countries\":[\"*\"],"              \
    "\"kyc_required\":[],\"rg_rule_set\":\"permissive\"}},"                                   \
    "\"brands\":{\"uk\":{\"jurisdiction\":\"uk-j\"},\"demo\":{\"jurisdiction\":\"demo-j\"}}}"

enum who { WHO_UNKNOWN, WHO_DEMO, WHO_UK };

struct options {
    const char *url;
    long groups;
    int players, clients, batch_max;
    enum who who;
    bool guard, cache, slot, limits;
};

struct bench {
    struct options o;
    struct writer *w;
    struct ledger *lg;
    struct rg *rg;
    int64_t *cash;
    int64_t house, psp;
    /* writer thread only: */
    int64_t clock_ms;
    long next_player, done, refused;
    _Atomic long started;
    bool stopping;
    _Atomic int in_flight;
    sem_t finished;
};

static int64_t bench_clock(void *arg)
{
    return ((struct bench *)arg)->clock_ms;
}

static const struct ledger_context slot_ctx = {.product = "casino", .game_kind = "slot",
                                               .game_id = "bench-slot"};
static const struct ledger_context table_ctx = {.product = "casino", .game_kind = "roulette",
                                                .game_id = "bench-table"};

/* ---- the measured commands: one [bet, win] group each ---- */

struct client_cmd {
    struct writer_cmd cmd;
    struct bench *b;
    uint64_t rng;
};

static uint64_t next_random(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static int run_group(struct store *tx, struct writer_cmd *cmd)
{
    struct client_cmd *c = (struct client_cmd *)cmd;
    struct bench *b = c->b;
    int64_t cash = b->cash[b->next_player++ % b->o.players];
    b->clock_ms++;
    const struct ledger_context *ctx = b->o.slot ? &slot_ctx : &table_ctx;
    struct ledger_transfer t[2] = {
        {.kind = LEDGER_POSTED, .debit_account = cash, .credit_account = b->house,
         .amount = 1 + (int64_t)(next_random(&c->rng) % 100), .code = LEDGER_TX_BET,
         .reference = "round:bench", .context = ctx},
        {.kind = LEDGER_POSTED, .debit_account = b->house, .credit_account = cash,
         .amount = 1 + (int64_t)(next_random(&c->rng) % 100), .code = LEDGER_TX_WIN,
         .reference = "round:bench", .context = ctx},
    };
    struct ledger_outcome out;
    int rc = ledger_apply(b->lg, tx, cmd, NULL, t, 2, &out);
    if (rc == PB_OK && out.error != LEDGER_OK) {
        if (b->refused++ == 0)
            fprintf(stderr, "bench_rg: refused: %s %s\n", ledger_error_name(out.error),
                    out.refusal.code);
    }
    return rc;
}

static void submit(struct client_cmd *c);

static void done_group(struct writer_cmd *cmd)
{
    struct client_cmd *c = (struct client_cmd *)cmd;
    struct bench *b = c->b;
    PB_ASSERT(cmd->status == PB_OK);
    /* done runs on one thread at a time (the syncer, or the writer): plain counters. */
    b->done++;
    if (b->stopping || atomic_load(&b->started) >= b->o.groups) {
        if (atomic_fetch_sub(&b->in_flight, 1) == 1)
            sem_post(&b->finished);
        return;
    }
    submit(c);
}

static void submit(struct client_cmd *c)
{
    atomic_fetch_add(&c->b->started, 1);
    c->cmd.run = run_group;
    c->cmd.done = done_group;
    PB_ASSERT(writer_submit(c->b->w, &c->cmd) == PB_OK);
}

/* ---- a marker command: reads the writer thread's CPU clock ---- */

struct mark_cmd {
    struct writer_cmd cmd;
    int64_t cpu_ns;
    sem_t done;
};

static int run_mark(struct store *tx, struct writer_cmd *cmd)
{
    PB_UNUSED(tx);
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    ((struct mark_cmd *)cmd)->cpu_ns = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    return PB_OK;
}

static void done_mark(struct writer_cmd *cmd)
{
    sem_post(&((struct mark_cmd *)cmd)->done);
}

static int64_t writer_cpu_ns(struct bench *b)
{
    struct mark_cmd m = {.cmd = {.run = run_mark, .done = done_mark}};
    sem_init(&m.done, 0, 0);
    PB_ASSERT(writer_submit(b->w, &m.cmd) == PB_OK);
    while (sem_wait(&m.done) != 0) {
    }
    sem_destroy(&m.done);
    return m.cpu_ns;
}

static int64_t process_cpu_ns(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ((int64_t)ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000 +
           ((int64_t)ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000;
}

/* ---- setup ---- */

struct setup_cmd {
    struct writer_cmd cmd;
    struct bench *b;
    int first, count; /* players [first, first + count); first == -1: the house accounts */
    sem_t *finished;
};

static int open_player(struct bench *b, struct store *tx, struct writer_cmd *cmd, int i)
{
    char id[PAM_PLAYER_ID_SIZE];
    int64_t ids[3];
    snprintf(id, sizeof(id), "bench%d", i);
    int rc = PB_OK;
    if (b->o.who != WHO_UNKNOWN) {
        struct pam_player p = {0};
        pb_strlcpy(p.id, id, sizeof(p.id));
        pb_strlcpy(p.brand, b->o.who == WHO_UK ? "uk" : "demo", sizeof(p.brand));
        snprintf(p.email, sizeof(p.email), "%s@example.com", id);
        pb_strlcpy(p.password_hash, "$argon2id$bench", sizeof(p.password_hash));
        pb_strlcpy(p.date_of_birth, "1980-05-05", sizeof(p.date_of_birth));
        pb_strlcpy(p.country, "GB", sizeof(p.country));
        pb_strlcpy(p.currency, "GBP", sizeof(p.currency));
        p.created_at_ms = BENCH_T0;
        rc = pam_player_insert(tx, &p);
    }
    if (rc == PB_OK && b->o.who == WHO_UK)
        rc = rg_prompt_answer(b->rg, tx, id);
    if (rc == PB_OK && b->o.limits) {
        static const struct {
            enum rg_limit_kind kind;
            enum rg_window window;
        } l[] = {{RG_LIMIT_DEPOSIT, RG_WINDOW_MONTH},
                 {RG_LIMIT_LOSS, RG_WINDOW_DAY},
                 {RG_LIMIT_WAGER, RG_WINDOW_WEEK}};
        for (size_t k = 0; k < PB_ARRAY_LEN(l) && rc == PB_OK; k++) {
            bool now;
            rc = rg_limit_set(b->rg, tx, cmd, id, l[k].kind, l[k].window, "GBP", LIMIT_MINOR,
                              "player", &now);
        }
    }
    rc = rc ? rc : ledger_open_player_accounts(b->lg, tx, id, "GBP", ids);
    if (rc != PB_OK)
        return rc;
    b->cash[i] = ids[0];
    struct ledger_transfer t = {.kind = LEDGER_POSTED, .debit_account = b->psp,
                                .credit_account = ids[0], .amount = FUNDING_MINOR,
                                .code = LEDGER_TX_DEPOSIT, .reference = "payment:setup"};
    struct ledger_outcome out;
    rc = ledger_apply(b->lg, tx, cmd, NULL, &t, 1, &out);
    if (rc == PB_OK && out.error != LEDGER_OK) {
        fprintf(stderr, "bench_rg: funding refused: %s %s\n", ledger_error_name(out.error),
                out.refusal.code);
        return PB_ERR_INVALID;
    }
    return rc;
}

static int run_setup(struct store *tx, struct writer_cmd *cmd)
{
    struct setup_cmd *s = (struct setup_cmd *)cmd;
    struct bench *b = s->b;
    if (s->first < 0) {
        int rc = ledger_open_account(b->lg, tx, "house", LEDGER_ACC_HOUSE_CASINO, "GBP",
                                     &b->house);
        return rc ? rc
                  : ledger_open_account(b->lg, tx, "house", LEDGER_ACC_PSP_CLEARING, "GBP",
                                        &b->psp);
    }
    for (int i = s->first; i < s->first + s->count; i++) {
        b->clock_ms++;
        int rc = open_player(b, tx, cmd, i);
        if (rc != PB_OK)
            return rc;
    }
    return PB_OK;
}

static void done_setup(struct writer_cmd *cmd)
{
    struct setup_cmd *s = (struct setup_cmd *)cmd;
    PB_ASSERT(cmd->status == PB_OK);
    sem_post(s->finished);
}

static void setup_players(struct bench *b)
{
    sem_t finished;
    sem_init(&finished, 0, 0);
    struct setup_cmd house = {.cmd = {.run = run_setup, .done = done_setup}, .b = b,
                              .first = -1, .finished = &finished};
    PB_ASSERT(writer_submit(b->w, &house.cmd) == PB_OK);
    sem_wait(&finished);
    int ncmds = (b->o.players + SETUP_PLAYERS_PER_COMMAND - 1) / SETUP_PLAYERS_PER_COMMAND;
    struct setup_cmd *cmds = pb_calloc((size_t)ncmds, sizeof(*cmds));
    for (int k = 0; k < ncmds; k++) {
        int first = k * SETUP_PLAYERS_PER_COMMAND, left = b->o.players - first;
        cmds[k] = (struct setup_cmd){.cmd = {.run = run_setup, .done = done_setup}, .b = b,
                                     .first = first, .finished = &finished,
                                     .count = left < SETUP_PLAYERS_PER_COMMAND
                                                  ? left : SETUP_PLAYERS_PER_COMMAND};
        PB_ASSERT(writer_submit(b->w, &cmds[k].cmd) == PB_OK);
    }
    for (int k = 0; k < ncmds; k++)
        sem_wait(&finished);
    pb_free(cmds);
    sem_destroy(&finished);
}

/* Runs n groups in a closed loop of the configured clients. */
static void run_groups(struct bench *b, long n)
{
    b->o.groups = n;
    atomic_store(&b->started, 0);
    b->done = 0;
    b->stopping = false;
    int clients = b->o.clients < n ? b->o.clients : (int)n;
    struct client_cmd *cs = pb_calloc((size_t)clients, sizeof(*cs));
    atomic_store(&b->in_flight, clients);
    for (int i = 0; i < clients; i++) {
        cs[i].b = b;
        cs[i].rng = 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1);
    }
    for (int i = 0; i < clients; i++)
        submit(&cs[i]);
    while (sem_wait(&b->finished) != 0) {
    }
    pb_free(cs);
}

/* ---- main ---- */

static int parse_options(int argc, char **argv, struct options *o)
{
    *o = (struct options){NULL, 200000, 4000, 256, 512, WHO_UNKNOWN, true, true, false, false};
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : "";
        if (!strcmp(argv[i], "--limits")) { o->limits = true; continue; }
        if (!strcmp(argv[i], "--db")) o->url = v;
        else if (!strcmp(argv[i], "--groups")) o->groups = atol(v);
        else if (!strcmp(argv[i], "--players")) o->players = atoi(v);
        else if (!strcmp(argv[i], "--clients")) o->clients = atoi(v);
        else if (!strcmp(argv[i], "--batch-max")) o->batch_max = atoi(v);
        else if (!strcmp(argv[i], "--guard") && (!strcmp(v, "on") || !strcmp(v, "off")))
            o->guard = !strcmp(v, "on");
        else if (!strcmp(argv[i], "--cache") && (!strcmp(v, "on") || !strcmp(v, "off")))
            o->cache = !strcmp(v, "on");
        else if (!strcmp(argv[i], "--game") && (!strcmp(v, "slot") || !strcmp(v, "table")))
            o->slot = !strcmp(v, "slot");
        else if (!strcmp(argv[i], "--who") && !strcmp(v, "unknown")) o->who = WHO_UNKNOWN;
        else if (!strcmp(argv[i], "--who") && !strcmp(v, "demo")) o->who = WHO_DEMO;
        else if (!strcmp(argv[i], "--who") && !strcmp(v, "uk")) o->who = WHO_UK;
        else return -1;
        i++;
    }
    if (!o->url || o->groups < 1 || o->players < 1 || o->clients < 1 || o->batch_max < 1) {
        fprintf(stderr, "usage: bench_rg --db URL [--groups K] [--players P] "
                        "[--who unknown|demo|uk] [--guard on|off] [--cache on|off] "
                        "[--game table|slot] "
                        "[--limits] [--clients C] [--batch-max B]\n");
        return -1;
    }
    return 0;
}

static int prepare_db(const char *url)
{
    struct store *s;
    char err[256];
    if (store_open(url, &s, err, sizeof(err)) != PB_OK) {
        fprintf(stderr, "bench_rg: %s\n", err);
        return 1;
    }
    size_t n;
    const struct store_migration *list = app_migrations(&n);
    int rc = store_migrate(s, list, n, NULL);
    struct store_stmt *st = NULL;
    if (rc == PB_OK && store_prepare(s, "SELECT COUNT(*) FROM ledger_accounts", &st) == PB_OK &&
        store_step(st) == STORE_ROW && store_column_int64(st, 0) > 0) {
        fprintf(stderr, "bench_rg: %s already holds ledger accounts; use a fresh one\n", url);
        rc = PB_ERR_CONFLICT;
    }
    store_finalize(st);
    store_close(s);
    return rc == PB_OK ? 0 : 1;
}

int main(int argc, char **argv)
{
    struct bench b = {0};
    if (parse_options(argc, argv, &b.o) != 0)
        return 2;
    if (sodium_init() < 0 || prepare_db(b.o.url) != 0)
        return 1;
    char err[256];
    struct pam_config *cfg;
    struct rg_rules *rules;
    if (pam_config_load_text(PAM_CFG, strlen(PAM_CFG), &cfg, err, sizeof(err)) != PB_OK ||
        rg_rules_load(NULL, &rules, err, sizeof(err)) != PB_OK) {
        fprintf(stderr, "bench_rg: %s\n", err);
        return 1;
    }
    b.rg = rg_new(cfg, rules);
    rg_cache_configure(b.rg, b.o.cache, false, 0);
    b.clock_ms = BENCH_T0;
    rg_set_clock(b.rg, bench_clock, &b);
    b.cash = pb_calloc((size_t)b.o.players, sizeof(int64_t));
    b.lg = ledger_new();
    sem_init(&b.finished, 0, 0);
    struct outbox *ob = outbox_new("bench");
    struct store *tx;
    if (store_open(b.o.url, &tx, err, sizeof(err)) != PB_OK) {
        fprintf(stderr, "bench_rg: %s\n", err);
        return 1;
    }
    struct ledger_guard guard = rg_guard(b.rg);
    ledger_set_guard(b.lg, &guard); /* setup always runs guarded (prompt, limits) */
    int setup_cmds = b.o.players / SETUP_PLAYERS_PER_COMMAND + 2;
    struct writer_config wc = {.batch_max = b.o.batch_max, .wait_us = 0,
                               .queue_max = b.o.clients * 2 + setup_cmds, .url = b.o.url,
                               .participants = {ledger_participant(b.lg),
                                                rg_participant(b.rg)},
                               .nparticipants = 2};
    PB_ASSERT(writer_start(&wc, tx, ob, &b.w) == PB_OK);
    uint64_t t0 = pb_mono_ns();
    setup_players(&b);
    fprintf(stderr, "bench_rg: %d players opened and funded in %.2f s\n", b.o.players,
            (double)(pb_mono_ns() - t0) / 1e9);
    if (!b.o.guard) {
        writer_stop(b.w); /* the guard is changed only while no command runs */
        ledger_set_guard(b.lg, NULL);
        PB_ASSERT(store_open(b.o.url, &tx, err, sizeof(err)) == PB_OK);
        PB_ASSERT(writer_start(&wc, tx, ob, &b.w) == PB_OK);
    }
    long groups = b.o.groups;
    run_groups(&b, groups / 10 + 1); /* warm-up: caches, statements, pages */
    int64_t refused0 = b.refused;
    int64_t wcpu0 = writer_cpu_ns(&b), pcpu0 = process_cpu_ns();
    t0 = pb_mono_ns();
    run_groups(&b, groups);
    uint64_t t1 = pb_mono_ns();
    int64_t wcpu1 = writer_cpu_ns(&b), pcpu1 = process_cpu_ns();
    double secs = (double)(t1 - t0) / 1e9, n = (double)groups;
    static const char *const who[] = {"unknown", "demo", "uk"};
    printf("bench_rg db=%s guard=%s cache=%s who=%s game=%s limits=%s players=%d groups=%ld "
           "clients=%d: %.0f groups/s, writer CPU %.2f us/group, process CPU %.2f us/group "
           "(%ld refused)\n",
           strncmp(b.o.url, "postgres", 8) == 0 ? "postgresql" : "sqlite",
           b.o.guard ? "on" : "off", b.o.cache ? "on" : "off", who[b.o.who], b.o.slot ? "slot" : "table",
           b.o.limits ? "yes" : "no", b.o.players, b.o.groups, b.o.clients, n / secs,
           (double)(wcpu1 - wcpu0) / 1e3 / n, (double)(pcpu1 - pcpu0) / 1e3 / n,
           (long)(b.refused - refused0));
    struct rg_cache_stats cs;
    rg_cache_stats(b.rg, &cs);
    printf("  rg cache: %llu hits, %llu misses, %llu evictions, %llu dropped, %llu flushes\n",
           (unsigned long long)cs.hits, (unsigned long long)cs.misses,
           (unsigned long long)cs.evictions, (unsigned long long)cs.dropped,
           (unsigned long long)cs.flushes);
    writer_stop(b.w);
    outbox_free(ob);
    ledger_free(b.lg);
    rg_free(b.rg);
    pam_config_free(cfg);
    pb_free(b.cash);
    sem_destroy(&b.finished);
    return b.refused ? 1 : 0;
}
