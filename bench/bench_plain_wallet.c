/* bench_plain_wallet.c: the wallet design most operators run, for comparison with
 * bench_ledger and the HTTP figures of scripts/run-bench.sh.
 *
 *   bench_plain_wallet --db postgresql://... [--clients K] [--seconds S] [--players P]
 *
 * One PostgreSQL connection per client thread (libpq directly, prepared statements); per
 * operation one transaction with a row lock:
 *   BEGIN; SELECT balance FROM plain_wallet WHERE player = $1 FOR UPDATE;
 *   UPDATE plain_wallet SET balance = balance - $2 WHERE player = $1;
 *   INSERT INTO plain_tx (player, kind, amount, idem, created_ms) VALUES (...); COMMIT
 * (a win passes a negative $2). plain_tx.idem is UNIQUE, as it is where such wallets keep
 * their idempotency. Same mix as bench_ledger --linked 1: P funded players, each operation a
 * bet or a win chosen at random, 1..100 minor units. Prints operations/s and exact latency
 * percentiles (BEGIN to COMMIT's answer, after a 1 s warm-up). Asserts nothing but success. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "base/base.h"

#define SAMPLES_PER_CLIENT_MAX (1 << 18)
#define FUNDING_MINOR 100000000

struct client {
    pthread_t thread;
    const char *url;
    int index, players;
    volatile bool *stopping;
    uint64_t measure_from_ns;
    uint64_t rng;
    uint64_t *lat;
    size_t nlat;
    uint64_t ops, refused; /* operations measured (after the warm-up) */
    bool failed;
};

static uint64_t next_random(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Runs a statement that must succeed; prints the error otherwise. */
static bool exec_ok(PGconn *c, PGresult *r, ExecStatusType want)
{
    bool ok = PQresultStatus(r) == want;
    if (!ok)
        fprintf(stderr, "bench_plain_wallet: %s", PQerrorMessage(c));
    PQclear(r);
    return ok;
}

static bool setup_tables(const char *url, int players)
{
    PGconn *c = PQconnectdb(url);
    if (PQstatus(c) != CONNECTION_OK) {
        fprintf(stderr, "bench_plain_wallet: %s", PQerrorMessage(c));
        PQfinish(c);
        return false;
    }
    char fill[256];
    snprintf(fill, sizeof(fill),
             "INSERT INTO plain_wallet (player, balance) "
             "SELECT 'bench' || g, %d FROM generate_series(0, %d) g",
             FUNDING_MINOR, players - 1);
    bool ok = exec_ok(c, PQexec(c, "SET client_min_messages TO warning"), PGRES_COMMAND_OK) &&
              exec_ok(c, PQexec(c, "DROP TABLE IF EXISTS plain_tx, plain_wallet"),
                      PGRES_COMMAND_OK) &&
              exec_ok(c, PQexec(c, "CREATE TABLE plain_wallet (player TEXT PRIMARY KEY, "
                                   "balance BIGINT NOT NULL)"), PGRES_COMMAND_OK) &&
              exec_ok(c, PQexec(c, "CREATE TABLE plain_tx (id BIGSERIAL PRIMARY KEY, "
                                   "player TEXT NOT NULL, kind TEXT NOT NULL, "
                                   "amount BIGINT NOT NULL, idem TEXT NOT NULL UNIQUE, "
                                   "created_ms BIGINT NOT NULL)"), PGRES_COMMAND_OK) &&
              exec_ok(c, PQexec(c, fill), PGRES_COMMAND_OK) &&
              exec_ok(c, PQexec(c, "ANALYZE plain_wallet"), PGRES_COMMAND_OK);
    PQfinish(c);
    return ok;
}

static bool prepare_statements(PGconn *c)
{
    return exec_ok(c, PQprepare(c, "lock", "SELECT balance FROM plain_wallet "
                                           "WHERE player = $1 FOR UPDATE", 1, NULL),
                   PGRES_COMMAND_OK) &&
           exec_ok(c, PQprepare(c, "debit", "UPDATE plain_wallet SET balance = balance - $2 "
                                            "WHERE player = $1", 2, NULL),
                   PGRES_COMMAND_OK) &&
           exec_ok(c, PQprepare(c, "record", "INSERT INTO plain_tx (player, kind, amount, idem, "
                                             "created_ms) VALUES ($1, $2, $3, $4, $5)", 5, NULL),
                   PGRES_COMMAND_OK);
}

/* One bet or win in its own transaction. Returns 1 applied, 0 refused (funds), -1 error. */
static int one_operation(PGconn *c, struct client *cl, uint64_t seq)
{
    char player[32], delta[32], amount[32], idem[64], now[32];
    uint64_t r = next_random(&cl->rng);
    bool bet = r & 1;
    int64_t a = 1 + (int64_t)((r >> 1) % 100);
    snprintf(player, sizeof(player), "bench%d", (int)((r >> 8) % (uint64_t)cl->players));
    snprintf(delta, sizeof(delta), "%lld", (long long)(bet ? a : -a));
    snprintf(amount, sizeof(amount), "%lld", (long long)a);
    snprintf(idem, sizeof(idem), "c%d-%llu", cl->index, (unsigned long long)seq);
    snprintf(now, sizeof(now), "%lld", (long long)pb_wall_ms());
    if (!exec_ok(c, PQexec(c, "BEGIN"), PGRES_COMMAND_OK))
        return -1;
    const char *lock_params[] = {player};
    PGresult *res = PQexecPrepared(c, "lock", 1, lock_params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
        exec_ok(c, res, PGRES_TUPLES_OK);
        return -1;
    }
    int64_t balance = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    if (bet && balance < a) {
        exec_ok(c, PQexec(c, "ROLLBACK"), PGRES_COMMAND_OK);
        return 0;
    }
    const char *debit_params[] = {player, delta};
    const char *record_params[] = {player, bet ? "bet" : "win", amount, idem, now};
    bool ok = exec_ok(c, PQexecPrepared(c, "debit", 2, debit_params, NULL, NULL, 0),
                      PGRES_COMMAND_OK) &&
              exec_ok(c, PQexecPrepared(c, "record", 5, record_params, NULL, NULL, 0),
                      PGRES_COMMAND_OK) &&
              exec_ok(c, PQexec(c, "COMMIT"), PGRES_COMMAND_OK);
    return ok ? 1 : -1;
}

static void *client_main(void *arg)
{
    struct client *cl = arg;
    PGconn *c = PQconnectdb(cl->url);
    if (PQstatus(c) != CONNECTION_OK || !prepare_statements(c)) {
        fprintf(stderr, "bench_plain_wallet: client %d: %s", cl->index, PQerrorMessage(c));
        cl->failed = true;
        PQfinish(c);
        return NULL;
    }
    for (uint64_t seq = 0; !*cl->stopping; seq++) {
        uint64_t t0 = pb_mono_ns();
        int rc = one_operation(c, cl, seq);
        uint64_t t1 = pb_mono_ns();
        if (rc < 0) {
            cl->failed = true;
            break;
        }
        if (t0 < cl->measure_from_ns || *cl->stopping)
            continue;
        cl->ops++;
        cl->refused += rc == 0;
        if (cl->nlat < SAMPLES_PER_CLIENT_MAX)
            cl->lat[cl->nlat++] = t1 - t0;
    }
    PQfinish(c);
    return NULL;
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

/* Merges every client's samples and prints the figures. */
static void report(struct client *cls, int clients, int players, double secs)
{
    size_t total = 0;
    uint64_t ops = 0, refused = 0;
    for (int i = 0; i < clients; i++)
        total += cls[i].nlat;
    uint64_t *all = pb_malloc(sizeof(uint64_t) * (total ? total : 1));
    size_t k = 0;
    for (int i = 0; i < clients; i++) {
        memcpy(all + k, cls[i].lat, sizeof(uint64_t) * cls[i].nlat);
        k += cls[i].nlat;
        ops += cls[i].ops;
        refused += cls[i].refused;
    }
    qsort(all, total, sizeof(uint64_t), cmp_u64);
    printf("plain_wallet db=postgresql clients=%d players=%d: %.0f operations/s, latency ms "
           "p50 %.2f p99 %.2f p99.9 %.2f max %.2f (%zu samples, %llu refused)\n",
           clients, players, (double)ops / secs, pct_ms(all, total, 0.50),
           pct_ms(all, total, 0.99), pct_ms(all, total, 0.999), pct_ms(all, total, 1.0),
           total, (unsigned long long)refused);
    pb_free(all);
}

static int parse_options(int argc, char **argv, const char **url, int *clients, int *seconds,
                         int *players)
{
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--db")) *url = argv[i + 1];
        else if (!strcmp(argv[i], "--clients")) *clients = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--seconds")) *seconds = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--players")) *players = atoi(argv[i + 1]);
    }
    if (!*url || strncmp(*url, "postgres", 8) != 0 || *clients < 1 || *seconds < 1 ||
        *players < 1) {
        fprintf(stderr, "usage: bench_plain_wallet --db postgresql://... [--clients K] "
                        "[--seconds S] [--players P]\n");
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *url = NULL;
    int clients = 64, seconds = 10, players = 4000;
    if (parse_options(argc, argv, &url, &clients, &seconds, &players) != 0)
        return 2;
    if (!setup_tables(url, players))
        return 1;
    volatile bool stopping = false;
    struct client *cls = pb_calloc((size_t)clients, sizeof(*cls));
    uint64_t start = pb_mono_ns();
    for (int i = 0; i < clients; i++) {
        cls[i] = (struct client){.url = url, .index = i, .players = players,
                                 .stopping = &stopping, .measure_from_ns = start + 1000000000ull,
                                 .rng = 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1)};
        cls[i].lat = pb_malloc(sizeof(uint64_t) * SAMPLES_PER_CLIENT_MAX);
        PB_ASSERT(pthread_create(&cls[i].thread, NULL, client_main, &cls[i]) == 0);
    }
    sleep((unsigned)seconds + 1);
    stopping = true;
    double secs = (double)(pb_mono_ns() - (start + 1000000000ull)) / 1e9;
    bool failed = false;
    for (int i = 0; i < clients; i++) {
        pthread_join(cls[i].thread, NULL);
        failed = failed || cls[i].failed;
    }
    report(cls, clients, players, secs);
    for (int i = 0; i < clients; i++)
        pb_free(cls[i].lat);
    pb_free(cls);
    return failed ? 1 : 0;
}
