/* bench_ledger.c: durable ledger transfers per second through the real writer, in process.
 *
 *   bench_ledger --db URL [--clients K] [--seconds S] [--linked N] [--players P]
 *                [--batch-max B] [--spread] [--verify]
 *
 * The ledger joins the writer as a participant and every command does what the HTTP transfer
 * route does inside the writer: an idempotency check, ledger_apply of one linked group (with
 * its "ledger.transfers" outbox event) and the record of the result. A setup phase opens P
 * players' EUR accounts and funds each cash account by a deposit; then K clients run a closed
 * loop (each keeps one command in flight, as K HTTP clients waiting for their answer would).
 * A group of N = 1 is one bet (player cash -> house casino) or one win (house -> player
 * cash), chosen at random; N > 1 alternates bet, win, bet, ... for one player, linked; with
 * --spread each of the N transfers is a bet or a win of its own random player (a client
 * submitting a batch of unrelated transfers, as ledger clients batch them; still linked).
 * Amounts are 1..100 minor units. A command is complete only after its batch's COMMIT
 * (SQLite synchronous=FULL: after fsync). Prints transfers/s, commands/s and exact latency
 * percentiles (submit to completion, after a 1 s warm-up); --verify runs ledger_verify at the
 * end. Like bench_writer, it prints figures and asserts only that commands succeed.
 *
 * As in `pitboss serve`, a thread checkpoints SQLite's WAL from its own connection (off the
 * writer's path; store_checkpoint_due). Besides throughput it prints the CPU time
 * the writer thread spent per transfer over the measured window (from /proc): the writer is
 * the ledger's one serial resource, so this figure says what the ledger costs even when the
 * machine is shared with other work. */
#include <dirent.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "base/base.h"
#include "base/buf.h"
#include "base/limits.h"
#include "core/outbox.h"
#include "core/writer.h"
#include "ledger/ledger.h"
#include "store/store.h"

#define LATENCY_SAMPLES_MAX (1 << 24)
#define SETUP_PLAYERS_PER_COMMAND 32 /* one event each; <= PB_WRITER_EVENTS_PER_COMMAND_MAX */
#define FUNDING_MINOR 100000000 /* 1,000,000.00 EUR per player: bets never run out */
#define IDEM_SCOPE "http:transfers"

struct bench {
    struct writer *w;
    struct ledger *lg;
    int linked, players;
    bool bare;   /* --bare: ledger_apply only (no idempotency record, no event) */
    bool spread; /* --spread: every transfer of a group for its own random player */
    int64_t *cash;           /* each player's cash account id */
    int64_t house, psp;
    volatile bool stopping;
    uint64_t *lat;           /* written by the writer thread only */
    size_t nlat;
    uint64_t measure_from_ns;
    _Atomic int in_flight;
    /* writer thread only: */
    int64_t next_key;
    uint64_t transfers_done, refused;
};

struct client_cmd {
    struct writer_cmd cmd;
    struct bench *b;
    uint64_t rng, t0;
    int64_t key;
    size_t applied;          /* transfers of the last run (0 when refused) */
};

static uint64_t next_random(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* The group of one command: N transfers for one random player. */
static void make_group(struct client_cmd *c, struct ledger_transfer *t, char *reference,
                       size_t reflen)
{
    struct bench *b = c->b;
    int64_t player_cash = b->cash[next_random(&c->rng) % (uint64_t)b->players];
    bool first_is_bet = b->linked > 1 || (next_random(&c->rng) & 1);
    snprintf(reference, reflen, "round:%lld", (long long)c->key);
    for (int i = 0; i < b->linked; i++) {
        bool bet = (i % 2 == 0) == first_is_bet;
        if (b->spread && i > 0) {
            player_cash = b->cash[next_random(&c->rng) % (uint64_t)b->players];
            bet = next_random(&c->rng) & 1;
        }
        t[i] = (struct ledger_transfer){
            .kind = LEDGER_POSTED,
            .debit_account = bet ? player_cash : b->house,
            .credit_account = bet ? b->house : player_cash,
            .amount = 1 + (int64_t)(next_random(&c->rng) % 100),
            .code = bet ? LEDGER_TX_BET : LEDGER_TX_WIN,
            .reference = reference,
        };
    }
}

/* The decoded request as canonical JSON, as the HTTP route records it (formatted without
 * printf, as jansson does: the route's own cost, not the ledger's, is what the HTTP bench
 * measures). */
static void request_json(const struct ledger_transfer *t, int n, struct pb_buf *out)
{
    pb_buf_puts(out, "{\"transfers\":[");
    for (int i = 0; i < n; i++) {
        pb_buf_puts(out, i ? ",{\"amount_minor\":" : "{\"amount_minor\":");
        pb_buf_put_i64(out, t[i].amount);
        pb_buf_puts(out, ",\"code\":\"");
        pb_buf_puts(out, ledger_transfer_code_name(t[i].code));
        pb_buf_puts(out, "\",\"credit_account\":");
        pb_buf_put_i64(out, t[i].credit_account);
        pb_buf_puts(out, ",\"debit_account\":");
        pb_buf_put_i64(out, t[i].debit_account);
        pb_buf_puts(out, ",\"kind\":\"posted\",\"reference\":\"");
        pb_buf_puts(out, t[i].reference);
        pb_buf_puts(out, "\"}");
    }
    pb_buf_puts(out, "]}");
}

static void response_json(const struct ledger_outcome *o, struct pb_buf *out)
{
    if (o->error != LEDGER_OK) {
        pb_buf_printf(out, "{\"code\":\"%s\"}", ledger_error_name(o->error));
        return;
    }
    pb_buf_puts(out, "{\"transfers\":[");
    for (size_t i = 0; i < o->n; i++) {
        pb_buf_puts(out, i ? ",{\"id\":" : "{\"id\":");
        pb_buf_put_i64(out, o->applied[i].id);
        pb_buf_puts(out, ",\"time\":");
        pb_buf_put_i64(out, o->applied[i].timestamp_ns);
        pb_buf_puts(out, ",\"amount_minor\":");
        pb_buf_put_i64(out, o->applied[i].amount);
        pb_buf_puts(out, ",\"hash\":\"");
        pb_buf_puts(out, o->applied[i].hash);
        pb_buf_puts(out, "\"}");
    }
    pb_buf_puts(out, "]}");
}

static int run_transfer(struct store *tx, struct writer_cmd *cmd)
{
    struct client_cmd *c = (struct client_cmd *)cmd;
    struct ledger_transfer t[LEDGER_LINKED_MAX];
    char reference[64], key[64], idem[96];
    make_group(c, t, reference, sizeof(reference));
    snprintf(key, sizeof(key), "bench-%lld", (long long)c->key);
    snprintf(idem, sizeof(idem), IDEM_SCOPE ":%s", key);
    struct pb_buf req = PB_BUF_INIT, body = PB_BUF_INIT;
    request_json(t, c->b->linked, &req);
    enum ledger_idem_state state;
    struct ledger_idem_hit hit = {0};
    struct ledger_outcome out;
    c->applied = 0;
    if (c->b->bare) {
        int rc = ledger_apply(c->b->lg, tx, NULL, NULL, t, (size_t)c->b->linked, &out);
        if (rc == PB_OK && out.error == LEDGER_OK)
            c->applied = out.n;
        pb_buf_release(&req);
        return rc;
    }
    int rc = ledger_idem_check(tx, IDEM_SCOPE, key, req.data, &state, &hit);
    if (rc != PB_OK)
        goto done;
    PB_ASSERT(state == LEDGER_IDEM_NEW); /* every key is fresh */
    rc = ledger_apply(c->b->lg, tx, cmd, idem, t, (size_t)c->b->linked, &out);
    if (rc != PB_OK)
        goto done;
    response_json(&out, &body);
    rc = ledger_idem_record(tx, IDEM_SCOPE, key, req.data, out.error == LEDGER_OK ? 201 : 422,
                            body.data);
    if (out.error == LEDGER_OK)
        c->applied = out.n;
done:
    pb_free(hit.body);
    pb_buf_release(&req);
    pb_buf_release(&body);
    return rc;
}

static void submit(struct client_cmd *c);

static void done_transfer(struct writer_cmd *cmd)
{
    struct client_cmd *c = (struct client_cmd *)cmd;
    struct bench *b = c->b;
    uint64_t now = pb_mono_ns();
    PB_ASSERT(cmd->status == PB_OK);
    if (c->t0 >= b->measure_from_ns && b->nlat < LATENCY_SAMPLES_MAX)
        b->lat[b->nlat++] = now - c->t0;
    __atomic_fetch_add(&b->transfers_done, c->applied, __ATOMIC_RELAXED);
    b->refused += c->applied == 0;
    if (b->stopping) {
        atomic_fetch_sub(&b->in_flight, 1);
        return;
    }
    c->key = ++b->next_key;
    submit(c);
}

static void submit(struct client_cmd *c)
{
    c->cmd.run = run_transfer;
    c->cmd.done = done_transfer;
    c->t0 = pb_mono_ns();
    PB_ASSERT(writer_submit(c->b->w, &c->cmd) == PB_OK);
}

/* ---- setup: accounts and funding, one command per SETUP_PLAYERS_PER_COMMAND players ---- */

struct setup_cmd {
    struct writer_cmd cmd;
    struct bench *b;
    int first, count; /* players [first, first + count); first == -1: the house accounts */
    sem_t *finished;
};

static int open_house(struct bench *b, struct store *tx)
{
    int rc = ledger_open_account(b->lg, tx, "house", LEDGER_ACC_HOUSE_CASINO, "EUR", &b->house);
    if (rc == PB_OK)
        rc = ledger_open_account(b->lg, tx, "house", LEDGER_ACC_PSP_CLEARING, "EUR", &b->psp);
    return rc;
}

static int fund_player(struct bench *b, struct store *tx, struct writer_cmd *cmd, int i)
{
    char player[32];
    int64_t ids[3];
    snprintf(player, sizeof(player), "bench%d", i);
    int rc = ledger_open_player_accounts(b->lg, tx, player, "EUR", ids);
    if (rc != PB_OK)
        return rc;
    b->cash[i] = ids[0];
    struct ledger_transfer t = {.kind = LEDGER_POSTED, .debit_account = b->psp,
                                .credit_account = ids[0], .amount = FUNDING_MINOR,
                                .code = LEDGER_TX_DEPOSIT, .reference = "payment:setup"};
    struct ledger_outcome out;
    rc = ledger_apply(b->lg, tx, cmd, NULL, &t, 1, &out);
    if (rc == PB_OK && out.error != LEDGER_OK) {
        fprintf(stderr, "bench_ledger: funding refused: %s\n", ledger_error_name(out.error));
        return PB_ERR_INVALID;
    }
    return rc;
}

static int run_setup(struct store *tx, struct writer_cmd *cmd)
{
    struct setup_cmd *s = (struct setup_cmd *)cmd;
    if (s->first < 0)
        return open_house(s->b, tx);
    for (int i = s->first; i < s->first + s->count; i++) {
        int rc = fund_player(s->b, tx, cmd, i);
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

static void setup_accounts(struct bench *b)
{
    sem_t finished;
    sem_init(&finished, 0, 0);
    struct setup_cmd house = {.cmd = {.run = run_setup, .done = done_setup}, .b = b,
                              .first = -1, .finished = &finished};
    PB_ASSERT(writer_submit(b->w, &house.cmd) == PB_OK);
    sem_wait(&finished);
    int ncmds = (b->players + SETUP_PLAYERS_PER_COMMAND - 1) / SETUP_PLAYERS_PER_COMMAND;
    struct setup_cmd *cmds = pb_calloc((size_t)ncmds, sizeof(*cmds));
    for (int k = 0; k < ncmds; k++) {
        int first = k * SETUP_PLAYERS_PER_COMMAND;
        int left = b->players - first;
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

/* ---- main ---- */

struct options {
    const char *url;
    int clients, seconds, linked, players, batch_max;
    bool verify, bare, spread;
};

static int parse_options(int argc, char **argv, struct options *o)
{
    *o = (struct options){NULL, 256, 10, 1, 4000, 512, false, false, false};
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : "";
        if (!strcmp(argv[i], "--verify")) { o->verify = true; continue; }
        if (!strcmp(argv[i], "--bare")) { o->bare = true; continue; }
        if (!strcmp(argv[i], "--spread")) { o->spread = true; continue; }
        if (!strcmp(argv[i], "--db")) o->url = v;
        else if (!strcmp(argv[i], "--clients")) o->clients = atoi(v);
        else if (!strcmp(argv[i], "--seconds")) o->seconds = atoi(v);
        else if (!strcmp(argv[i], "--linked")) o->linked = atoi(v);
        else if (!strcmp(argv[i], "--players")) o->players = atoi(v);
        else if (!strcmp(argv[i], "--batch-max")) o->batch_max = atoi(v);
        else return -1;
        i++;
    }
    if (!o->url || o->clients < 1 || o->seconds < 1 || o->linked < 1 ||
        o->linked > LEDGER_LINKED_MAX || o->players < 1 || o->batch_max < 1) {
        fprintf(stderr, "usage: bench_ledger --db URL [--clients K] [--seconds S] "
                        "[--linked 1..%d] [--players P] [--batch-max B] [--spread] [--verify]\n",
                LEDGER_LINKED_MAX);
        return -1;
    }
    return 0;
}

/* Migrates (outbox, ledger) a database that must hold no ledger accounts yet. */
static int prepare_db(const char *url)
{
    struct store *s;
    char err[256];
    if (store_open(url, &s, err, sizeof(err)) != PB_OK) {
        fprintf(stderr, "bench_ledger: %s\n", err);
        return 1;
    }
    int rc = store_migrate(s, outbox_migrations, outbox_migrations_count, NULL);
    if (rc == PB_OK)
        rc = store_migrate(s, ledger_migrations, ledger_migrations_count, NULL);
    struct store_stmt *st = NULL;
    if (rc == PB_OK && store_prepare(s, "SELECT COUNT(*) FROM ledger_accounts", &st) == PB_OK &&
        store_step(st) == STORE_ROW && store_column_int64(st, 0) > 0) {
        fprintf(stderr, "bench_ledger: %s already holds ledger accounts; use a fresh one\n",
                url);
        rc = PB_ERR_CONFLICT;
    }
    store_finalize(st);
    store_close(s);
    return rc == PB_OK ? 0 : 1;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static double pct_ms(const uint64_t *v, size_t n, double q)
{
    if (n == 0)
        return 0;
    return (double)v[(size_t)(q * (double)(n - 1))] / 1e6;
}

static void verify_ledger(const char *url)
{
    struct store *s;
    char err[256];
    PB_ASSERT(store_open(url, &s, err, sizeof(err)) == PB_OK);
    struct pb_buf report = PB_BUF_INIT;
    uint64_t t0 = pb_mono_ns();
    int rc = ledger_verify(s, &report);
    printf("ledger_verify: %s in %.1f s%s%s", rc == PB_OK ? "all invariants hold" : "FAILED",
           (double)(pb_mono_ns() - t0) / 1e9, report.len ? "\n" : "", pb_buf_str(&report));
    printf("\n");
    pb_buf_release(&report);
    store_close(s);
}

/* CPU seconds (user + system) used so far by this process's thread named name, or -1. */
static double thread_cpu_s(const char *name)
{
    DIR *d = opendir("/proc/self/task");
    double cpu = -1;
    struct dirent *e;
    while (d && cpu < 0 && (e = readdir(d)) != NULL) {
        char path[300], comm[32] = "", stat[1024];
        snprintf(path, sizeof(path), "/proc/self/task/%s/comm", e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        if (!fgets(comm, sizeof(comm), f))
            comm[0] = '\0';
        fclose(f);
        comm[strcspn(comm, "\n")] = '\0';
        if (strcmp(comm, name) != 0)
            continue;
        snprintf(path, sizeof(path), "/proc/self/task/%s/stat", e->d_name);
        f = fopen(path, "r");
        size_t len = f ? fread(stat, 1, sizeof(stat) - 1, f) : 0;
        if (f)
            fclose(f);
        stat[len] = '\0';
        const char *p = strrchr(stat, ')'); /* fields after the command: state is field 3 */
        unsigned long long ut, st;
        if (p && sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut,
                        &st) == 2)
            cpu = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
    }
    if (d)
        closedir(d);
    return cpu;
}

struct checkpointer {
    const char *url;
    volatile bool stop;
};

/* The server's checkpoint task (app.c, same policy), on its own connection. */
static void *checkpoint_main(void *arg)
{
    struct checkpointer *c = arg;
    struct store *s;
    char err[256];
    PB_ASSERT(store_open(c->url, &s, err, sizeof(err)) == PB_OK);
    int64_t frames = 0;
    uint64_t last = 0;
    while (!c->stop) {
        usleep(PB_STORE_CHECKPOINT_CATCH_UP_MS * 1000);
        uint64_t now = pb_mono_ns();
        if (store_checkpoint_due(frames, last, now)) {
            (void)store_checkpoint(s, &frames);
            last = now;
        }
    }
    store_close(s);
    return NULL;
}

/* Runs the closed loop for o->seconds after a 1 s warm-up; prints the figures. */
static void measure(struct bench *b, const struct options *o)
{
    struct client_cmd *cs = pb_calloc((size_t)o->clients, sizeof(*cs));
    b->measure_from_ns = pb_mono_ns() + 1000000000ull;
    atomic_store(&b->in_flight, o->clients);
    for (int i = 0; i < o->clients; i++) {
        cs[i].b = b;
        cs[i].rng = 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1);
        cs[i].key = -(int64_t)i - 1;
        submit(&cs[i]);
    }
    sleep(1);
    struct writer_stats *ws = writer_stats_of(b->w);
    uint64_t c0 = atomic_load(&ws->commands_total), t0 = pb_mono_ns();
    uint64_t batches0 = atomic_load(&ws->batch_size.count);
    uint64_t x0 = __atomic_load_n(&b->transfers_done, __ATOMIC_RELAXED);
    double cpu0 = thread_cpu_s("pb-writer");
    sleep((unsigned)o->seconds);
    double cpu1 = thread_cpu_s("pb-writer");
    uint64_t c1 = atomic_load(&ws->commands_total), t1 = pb_mono_ns();
    uint64_t batches1 = atomic_load(&ws->batch_size.count);
    uint64_t x1 = __atomic_load_n(&b->transfers_done, __ATOMIC_RELAXED);
    b->stopping = true;
    for (int i = 0; i < 10000 && atomic_load(&b->in_flight) > 0; i++)
        usleep(1000);
    PB_ASSERT(atomic_load(&b->in_flight) == 0);
    size_t n = b->nlat;
    qsort(b->lat, n, sizeof(uint64_t), cmp_u64);
    double secs = (double)(t1 - t0) / 1e9;
    uint64_t batches = batches1 - batches0 ? batches1 - batches0 : 1;
    printf("ledger%s%s db=%s clients=%d linked=%d players=%d batch_max=%d: %.0f transfers/s, "
           "%.0f commands/s, avg batch %.1f, latency ms p50 %.2f p99 %.2f p99.9 %.2f "
           "max %.2f (%zu samples, %llu refused), writer CPU %.2f us/transfer\n",
           o->bare ? " (bare: no idempotency, no event)" : "",
           o->spread ? " (spread: a random player per transfer)" : "",
           strncmp(o->url, "postgres", 8) == 0 ? "postgresql" : "sqlite", o->clients,
           o->linked, o->players, o->batch_max, (double)(x1 - x0) / secs,
           (double)(c1 - c0) / secs, (double)(c1 - c0) / (double)batches,
           pct_ms(b->lat, n, 0.50), pct_ms(b->lat, n, 0.99), pct_ms(b->lat, n, 0.999),
           pct_ms(b->lat, n, 1.0), n, (unsigned long long)b->refused,
           x1 > x0 ? (cpu1 - cpu0) * 1e6 / (double)(x1 - x0) : 0.0);
    pb_free(cs);
}

int main(int argc, char **argv)
{
    struct options o;
    if (parse_options(argc, argv, &o) != 0)
        return 2;
    if (sodium_init() < 0 || prepare_db(o.url) != 0)
        return 1;
    struct bench b = {.linked = o.linked, .players = o.players, .bare = o.bare,
                      .spread = o.spread};
    b.lat = pb_malloc(sizeof(uint64_t) * LATENCY_SAMPLES_MAX);
    b.cash = pb_calloc((size_t)o.players, sizeof(int64_t));
    b.lg = ledger_new();
    struct outbox *ob = outbox_new("bench");
    struct store *tx;
    char err[256];
    if (store_open(o.url, &tx, err, sizeof(err)) != PB_OK) {
        fprintf(stderr, "bench_ledger: %s\n", err);
        return 1;
    }
    int setup_cmds = o.players / SETUP_PLAYERS_PER_COMMAND + 2;
    struct writer_config cfg = {.batch_max = o.batch_max, .wait_us = 0,
                                .queue_max = o.clients * 2 + setup_cmds, .url = o.url,
                                .participants = {ledger_participant(b.lg)}, .nparticipants = 1};
    PB_ASSERT(writer_start(&cfg, tx, ob, &b.w) == PB_OK);
    struct checkpointer ckpt = {.url = o.url};
    pthread_t ckpt_thread;
    bool sqlite = strncmp(o.url, "sqlite:", 7) == 0;
    if (sqlite)
        PB_ASSERT(pthread_create(&ckpt_thread, NULL, checkpoint_main, &ckpt) == 0);
    uint64_t setup0 = pb_mono_ns();
    setup_accounts(&b);
    fprintf(stderr, "bench_ledger: %d players opened and funded in %.2f s\n", o.players,
            (double)(pb_mono_ns() - setup0) / 1e9);
    measure(&b, &o);
    writer_stop(b.w);
    ckpt.stop = true;
    if (sqlite)
        pthread_join(ckpt_thread, NULL);
    outbox_free(ob);
    ledger_free(b.lg);
    if (o.verify)
        verify_ledger(o.url);
    pb_free(b.cash);
    pb_free(b.lat);
    return 0;
}
