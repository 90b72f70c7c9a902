/* bench_store.c: what store_prepare costs on SQLite with and without its statement cache.
 *
 *   bench_store --dir DIR [--ops N] [--rounds R]
 *
 * On a fresh SQLite file under DIR (removed at the end), each round runs N times
 * prepare + bind + step + finalize of a small INSERT inside one transaction (BEGIN ... COMMIT;
 * only the N operations are timed), in three ways:
 *   cached    the same SQL text every time: store_prepare finds the compiled statement;
 *   uncached  a distinct text every time (a counter in a trailing comment): every prepare
 *             compiles, as store_prepare did before the cache (plus the cache's own miss
 *             work: filing the new statement and evicting the least recently used one);
 *   reused    prepared once per round, then bind + step + reset: the floor, no prepare.
 * Rounds alternate the three ways so drift hits them alike; the median round is printed in
 * nanoseconds per operation. Design notes of the cache: src/store/store_int.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/base.h"
#include "store/store.h"

#define BENCH_ROUNDS_MAX 1000
#define BENCH_SQL "INSERT INTO bench (k, v) VALUES (?, ?)"

enum mode { MODE_CACHED, MODE_UNCACHED, MODE_REUSED, MODE_COUNT };

static const char *const mode_names[MODE_COUNT] = {"cached", "uncached", "reused"};
static const char *const mode_notes[MODE_COUNT] = {
    "same text: compiled statement from the cache",
    "distinct text: compiles every time (before the cache)",
    "prepared once, bind+step+reset: the floor",
};

struct bench {
    struct store *s;
    int64_t next_key;
    uint64_t next_text; /* numbers the uncached texts: never repeats */
};

static void die(struct bench *b, const char *what)
{
    fprintf(stderr, "bench_store: %s: %s\n", what, b->s ? store_errmsg(b->s) : "");
    exit(1);
}

static void insert_step(struct bench *b, struct store_stmt *st)
{
    int64_t k = ++b->next_key;
    if (store_bind_int64(st, 1, k) != PB_OK || store_bind_int64(st, 2, k * 7) != PB_OK)
        die(b, "bind");
    if (store_step(st) != STORE_DONE)
        die(b, "step");
}

/* One prepare + bind + step + finalize, of the fixed text or of a fresh one. */
static void insert_prepared(struct bench *b, bool distinct)
{
    char sql[96];
    const char *text = BENCH_SQL;
    if (distinct) {
        snprintf(sql, sizeof(sql), BENCH_SQL " /* %llu */", (unsigned long long)b->next_text++);
        text = sql;
    }
    struct store_stmt *st = NULL;
    if (store_prepare(b->s, text, &st) != PB_OK)
        die(b, "prepare");
    insert_step(b, st);
    store_finalize(st);
}

/* Runs one round of ops operations in mode; returns nanoseconds per operation. */
static double run_round(struct bench *b, enum mode mode, int ops)
{
    if (store_begin(b->s) != PB_OK)
        die(b, "begin");
    struct store_stmt *reused = NULL;
    if (mode == MODE_REUSED && store_prepare(b->s, BENCH_SQL, &reused) != PB_OK)
        die(b, "prepare");
    uint64_t start_ns = pb_mono_ns();
    for (int i = 0; i < ops; i++) {
        if (mode == MODE_REUSED) {
            insert_step(b, reused);
            store_reset(reused);
        } else {
            insert_prepared(b, mode == MODE_UNCACHED);
        }
    }
    uint64_t elapsed_ns = pb_mono_ns() - start_ns;
    store_finalize(reused);
    if (store_commit(b->s) != PB_OK)
        die(b, "commit");
    return (double)elapsed_ns / ops;
}

static int compare_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void remove_database(const char *path)
{
    const char *suffixes[] = {"", "-wal", "-shm"};
    for (size_t i = 0; i < PB_ARRAY_LEN(suffixes); i++) {
        char file[4096];
        snprintf(file, sizeof(file), "%s%s", path, suffixes[i]);
        unlink(file);
    }
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_store --dir DIR [--ops N] [--rounds R]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *dir = NULL;
    int ops = 20000, rounds = 11;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--dir"))
            dir = argv[i + 1];
        else if (!strcmp(argv[i], "--ops"))
            ops = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--rounds"))
            rounds = atoi(argv[i + 1]);
        else
            usage();
    }
    if (dir == NULL || ops < 1 || rounds < 1 || rounds > BENCH_ROUNDS_MAX)
        usage();
    char path[2048];
    char url[2100];
    snprintf(path, sizeof(path), "%s/bench_store_%ld.db", dir, (long)getpid());
    snprintf(url, sizeof(url), "sqlite:%s", path);
    remove_database(path);
    struct bench b = {0};
    char err[256];
    if (store_open(url, &b.s, err, sizeof(err)) != PB_OK) {
        fprintf(stderr, "bench_store: %s\n", err);
        return 1;
    }
    if (store_exec(b.s, "CREATE TABLE bench (k INTEGER PRIMARY KEY, v BIGINT NOT NULL)"))
        die(&b, "create table");
    for (int m = 0; m < MODE_COUNT; m++) /* warm-up: page cache, allocator, statement cache */
        run_round(&b, (enum mode)m, ops < 2000 ? ops : 2000);
    static double ns[MODE_COUNT][BENCH_ROUNDS_MAX];
    for (int r = 0; r < rounds; r++) {
        for (int m = 0; m < MODE_COUNT; m++)
            ns[m][r] = run_round(&b, (enum mode)m, ops);
    }
    printf("bench_store sqlite: prepare+bind+step+finalize of a small INSERT, %d per "
           "transaction, median of %d rounds (min in brackets)\n",
           ops, rounds);
    for (int m = 0; m < MODE_COUNT; m++) {
        qsort(ns[m], (size_t)rounds, sizeof(double), compare_double);
        printf("  %-9s %8.0f ns/op  [%6.0f]  %s\n", mode_names[m], ns[m][rounds / 2], ns[m][0],
               mode_notes[m]);
    }
    printf("  uncached / cached: %.1fx\n",
           ns[MODE_UNCACHED][rounds / 2] / ns[MODE_CACHED][rounds / 2]);
    store_close(b.s);
    remove_database(path);
    return 0;
}
