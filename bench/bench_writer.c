/* bench_writer.c: durable writer commands per second and their latency, in process.
 *
 *   bench_writer --db URL [--clients K] [--seconds S] [--batch-max N] [--work insert|empty]
 *
 * K clients each keep one command in flight (closed loop, like K HTTP clients waiting for
 * their answer): when a command completes, that client submits its next one. Every command
 * runs in its own savepoint inside the writer's batch transaction, and a command is complete
 * only after the batch's COMMIT returned (with SQLite synchronous=FULL: after fsync).
 * Prints commands/s, batch sizes and exact latency percentiles (submit to completion). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "base/base.h"
#include "core/outbox.h"
#include "core/writer.h"
#include "store/store.h"

#define LATENCY_SAMPLES_MAX (1 << 24)

struct bench {
    struct writer *w;
    bool insert;
    volatile bool stopping;
    uint64_t *lat;      /* written by the writer thread only */
    size_t nlat;
    int64_t next_key;   /* writer thread only */
    uint64_t started_ns, measure_from_ns;
    _Atomic int in_flight;
};

struct client_cmd {
    struct writer_cmd cmd;
    struct bench *b;
    int64_t key;
    uint64_t t0;
};

static int run_cmd(struct store *tx, struct writer_cmd *cmd)
{
    struct client_cmd *c = (struct client_cmd *)cmd;
    if (!c->b->insert)
        return PB_OK;
    struct store_stmt *st;
    if (store_prepare(tx, "INSERT INTO bench (k, v) VALUES (?, ?)", &st) != PB_OK)
        return PB_ERR_DB;
    store_bind_int64(st, 1, c->key);
    store_bind_int64(st, 2, c->key * 7);
    int rc = store_step(st);
    store_finalize(st); /* the statement stays compiled in the connection's cache */
    return rc == STORE_DONE ? PB_OK : PB_ERR_DB;
}

static void submit(struct client_cmd *c);

static void done_cmd(struct writer_cmd *cmd)
{
    struct client_cmd *c = (struct client_cmd *)cmd;
    struct bench *b = c->b;
    uint64_t now = pb_mono_ns();
    PB_ASSERT(cmd->status == PB_OK);
    if (c->t0 >= b->measure_from_ns && b->nlat < LATENCY_SAMPLES_MAX)
        b->lat[b->nlat++] = now - c->t0;
    if (b->stopping) {
        atomic_fetch_sub(&b->in_flight, 1);
        return;
    }
    c->key = ++b->next_key;
    submit(c);
}

static void submit(struct client_cmd *c)
{
    c->cmd.run = run_cmd;
    c->cmd.done = done_cmd;
    c->t0 = pb_mono_ns();
    PB_ASSERT(writer_submit(c->b->w, &c->cmd) == PB_OK);
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
    size_t i = (size_t)(q * (double)(n - 1));
    return (double)v[i] / 1e6;
}

static int prepare_db(const char *url)
{
    struct store *s;
    char err[256];
    if (store_open(url, &s, err, sizeof(err)) != PB_OK) {
        fprintf(stderr, "bench_writer: %s\n", err);
        return 1;
    }
    store_migrate(s, outbox_migrations, outbox_migrations_count, NULL);
    store_exec(s, "DROP TABLE IF EXISTS bench");
    int rc = store_exec(s, "CREATE TABLE bench (k BIGINT PRIMARY KEY, v BIGINT NOT NULL)");
    store_close(s);
    return rc == PB_OK ? 0 : 1;
}

int main(int argc, char **argv)
{
    const char *url = NULL, *work = "empty";
    int clients = 256, seconds = 10, batch_max = 512;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--db")) url = argv[i + 1];
        else if (!strcmp(argv[i], "--clients")) clients = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--seconds")) seconds = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--batch-max")) batch_max = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--work")) work = argv[i + 1];
    }
    if (!url || clients < 1 || seconds < 1 || batch_max < 1) {
        fprintf(stderr, "usage: bench_writer --db URL [--clients K] [--seconds S] "
                        "[--batch-max N] [--work empty|insert]\n");
        return 2;
    }
    if (sodium_init() < 0 || prepare_db(url) != 0)
        return 1;
    struct bench b = {.insert = strcmp(work, "insert") == 0};
    b.lat = pb_malloc(sizeof(uint64_t) * LATENCY_SAMPLES_MAX);
    struct store *tx;
    char err[256];
    if (store_open(url, &tx, err, sizeof(err)) != PB_OK)
        return 1;
    struct writer_config cfg = {batch_max, 0, clients * 2, url};
    PB_ASSERT(writer_start(&cfg, tx, NULL, &b.w) == PB_OK);
    struct client_cmd *cs = pb_calloc((size_t)clients, sizeof(*cs));
    b.started_ns = pb_mono_ns();
    b.measure_from_ns = b.started_ns + 1000000000ull; /* 1 s warm-up */
    atomic_store(&b.in_flight, clients);
    for (int i = 0; i < clients; i++) {
        cs[i].b = &b;
        cs[i].key = -(int64_t)i - 1;
        submit(&cs[i]);
    }
    sleep(1);
    struct writer_stats *ws = writer_stats_of(b.w);
    uint64_t c0 = atomic_load(&ws->commands_total), t0 = pb_mono_ns();
    uint64_t batches0 = atomic_load(&ws->batch_size.count);
    sleep((unsigned)seconds);
    uint64_t c1 = atomic_load(&ws->commands_total), t1 = pb_mono_ns();
    uint64_t batches1 = atomic_load(&ws->batch_size.count);
    b.stopping = true;
    for (int i = 0; i < 10000 && atomic_load(&b.in_flight) > 0; i++)
        usleep(1000);
    size_t n = b.nlat;
    writer_stop(b.w);
    qsort(b.lat, n, sizeof(uint64_t), cmp_u64);
    double secs = (double)(t1 - t0) / 1e9;
    printf("writer %-6s db=%s clients=%d batch_max=%d: %.0f commands/s, avg batch %.1f, "
           "latency ms p50 %.2f p99 %.2f p99.9 %.2f max %.2f (%zu samples)\n",
           work, strncmp(url, "postgres", 8) == 0 ? "postgresql" : "sqlite", clients, batch_max,
           (double)(c1 - c0) / secs,
           (double)(c1 - c0) / (double)(batches1 - batches0 ? batches1 - batches0 : 1),
           pct_ms(b.lat, n, 0.50), pct_ms(b.lat, n, 0.99), pct_ms(b.lat, n, 0.999),
           pct_ms(b.lat, n, 1.0), n);
    pb_free(cs);
    pb_free(b.lat);
    return 0;
}
