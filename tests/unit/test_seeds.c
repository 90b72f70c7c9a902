/* test_seeds.c: provably-fair seed pairs (src/games/seeds.h) on SQLite and PostgreSQL: a pair
 * is created on first use with its commitment, nonces are taken one per bet, the client seed
 * changes without touching the server seed or the nonce, bad client seeds change nothing,
 * and a rotation reveals the committed server seed (which reproduces the stream the bets
 * drew from) and starts a new pair at nonce 0. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "unit.h"

#include "base/base.h"
#include "games/rounds.h"
#include "games/seeds.h"
#include "rng/rng.h"

#define T0 1700000000000LL

static char db_url[600];
static struct writer *w;
static struct store *rd;

static void start(bool pg)
{
    pbt_fresh_database(pg, "pb_seeds", db_url, sizeof(db_url));
    pbt_migrate(db_url, rounds_migrations, rounds_migrations_count);
    rd = pbt_open(db_url);
    w = pbt_start_writer(db_url, NULL);
}

static void stop(void)
{
    writer_stop(w);
    store_close(rd);
}

struct seeds_args {
    const char *player, *client_seed;
    int64_t now_ms;
    struct fair_seeds seeds;
    struct fair_revealed revealed;
};

static int ensure_step(struct store *tx, void *arg)
{
    struct seeds_args *a = arg;
    return fair_seeds_ensure(tx, a->player, a->now_ms, &a->seeds);
}

static int take_step(struct store *tx, void *arg)
{
    struct seeds_args *a = arg;
    return fair_seeds_take_nonce(tx, a->player, a->now_ms, &a->seeds);
}

static int client_step(struct store *tx, void *arg)
{
    struct seeds_args *a = arg;
    return fair_seeds_set_client(tx, a->player, a->client_seed, a->now_ms, &a->seeds);
}

static int rotate_step(struct store *tx, void *arg)
{
    struct seeds_args *a = arg;
    return fair_seeds_rotate(tx, a->player, a->now_ms, &a->revealed, &a->seeds);
}

static void assert_commitment(const struct fair_seeds *s)
{
    char hash[FAIR_HASH_HEX + 1];
    rng_fair_commitment(s->server_seed, hash);
    assert_string_equal(hash, s->server_hash);
    assert_int_equal(strlen(s->server_seed), RNG_SERVER_SEED_HEX);
}

static void pair_is_created_once_with_its_commitment(bool pg)
{
    start(pg);
    struct fair_seeds got;
    assert_int_equal(fair_seeds_get(rd, "p1", &got), PB_ERR_NOT_FOUND);
    struct seeds_args a = {.player = "p1", .now_ms = T0};
    assert_int_equal(pbt_run(w, ensure_step, &a), 0);
    assert_commitment(&a.seeds);
    assert_int_equal(strlen(a.seeds.client_seed), 2 * FAIR_CLIENT_SEED_DEFAULT_BYTES);
    assert_int_equal(a.seeds.nonce, 0);
    assert_int_equal(a.seeds.created_ms, T0);
    struct seeds_args again = {.player = "p1", .now_ms = T0 + 5};
    assert_int_equal(pbt_run(w, ensure_step, &again), 0);
    assert_string_equal(again.seeds.server_hash, a.seeds.server_hash);
    assert_string_equal(again.seeds.client_seed, a.seeds.client_seed);
    assert_int_equal(fair_seeds_get(rd, "p1", &got), 0);
    assert_string_equal(got.server_seed, a.seeds.server_seed);
    /* another player gets another pair */
    struct seeds_args b = {.player = "p2", .now_ms = T0};
    assert_int_equal(pbt_run(w, ensure_step, &b), 0);
    assert_string_not_equal(b.seeds.server_seed, a.seeds.server_seed);
    struct seeds_args bad = {.player = "", .now_ms = T0};
    assert_int_equal(pbt_run(w, ensure_step, &bad), PB_ERR_INVALID);
    stop();
}
PBT_BOTH(pair_is_created_once_with_its_commitment)

static void nonces_are_taken_one_per_bet(bool pg)
{
    start(pg);
    struct seeds_args a = {.player = "p1", .now_ms = T0};
    for (int64_t i = 0; i < 5; i++) {
        assert_int_equal(pbt_run(w, take_step, &a), 0);
        assert_int_equal(a.seeds.nonce, i);
        assert_commitment(&a.seeds);
    }
    struct fair_seeds got;
    assert_int_equal(fair_seeds_get(rd, "p1", &got), 0);
    assert_int_equal(got.nonce, 5);
    stop();
}
PBT_BOTH(nonces_are_taken_one_per_bet)

static void client_seed_changes_alone(bool pg)
{
    start(pg);
    struct seeds_args a = {.player = "p1", .now_ms = T0};
    assert_int_equal(pbt_run(w, take_step, &a), 0);
    assert_int_equal(pbt_run(w, take_step, &a), 0);
    char server[RNG_SERVER_SEED_HEX + 1];
    memcpy(server, a.seeds.server_seed, sizeof(server));
    char too_long[RNG_CLIENT_SEED_MAX + 2];
    memset(too_long, 'a', sizeof(too_long) - 1);
    too_long[sizeof(too_long) - 1] = '\0';
    const char *bad[] = {"", "with space", too_long, "tab\there", "caf\xc3\xa9", NULL};
    for (size_t i = 0; i < PB_ARRAY_LEN(bad); i++) {
        struct seeds_args c = {.player = "p1", .client_seed = bad[i], .now_ms = T0};
        if (pbt_run(w, client_step, &c) != PB_ERR_INVALID)
            fail_msg("client seed %zu accepted", i);
    }
    struct fair_seeds got;
    assert_int_equal(fair_seeds_get(rd, "p1", &got), 0);
    assert_string_equal(got.client_seed, a.seeds.client_seed); /* nothing changed */
    struct seeds_args c = {.player = "p1", .client_seed = "lucky:7", .now_ms = T0 + 1};
    assert_int_equal(pbt_run(w, client_step, &c), 0);
    assert_string_equal(c.seeds.client_seed, "lucky:7");
    assert_string_equal(c.seeds.server_seed, server);
    assert_int_equal(c.seeds.nonce, 2);
    /* a new player may start with a chosen client seed */
    struct seeds_args d = {.player = "p2", .client_seed = "mine", .now_ms = T0};
    assert_int_equal(pbt_run(w, client_step, &d), 0);
    assert_string_equal(d.seeds.client_seed, "mine");
    assert_int_equal(d.seeds.nonce, 0);
    stop();
}
PBT_BOTH(client_seed_changes_alone)

static void rotation_reveals_the_committed_seed(bool pg)
{
    start(pg);
    struct seeds_args a = {.player = "p1", .now_ms = T0};
    double floats[3];
    char committed[FAIR_HASH_HEX + 1], client[RNG_CLIENT_SEED_MAX + 1];
    for (int i = 0; i < 3; i++) {
        assert_int_equal(pbt_run(w, take_step, &a), 0);
        struct rng_fair f;
        assert_int_equal(rng_fair_init(&f, a.seeds.server_seed, a.seeds.client_seed,
                                       (uint64_t)a.seeds.nonce), 0);
        floats[i] = rng_fair_float(&f);
    }
    memcpy(committed, a.seeds.server_hash, sizeof(committed));
    memcpy(client, a.seeds.client_seed, sizeof(client));
    struct seeds_args r = {.player = "p1", .now_ms = T0 + 100};
    assert_int_equal(pbt_run(w, rotate_step, &r), 0);
    assert_string_equal(r.revealed.server_hash, committed);
    char hash[FAIR_HASH_HEX + 1];
    rng_fair_commitment(r.revealed.server_seed, hash);
    assert_string_equal(hash, committed); /* the seed matches what was committed */
    assert_string_equal(r.revealed.client_seed, client);
    assert_int_equal(r.revealed.nonces, 3);
    assert_int_equal(r.revealed.revealed_ms, T0 + 100);
    /* the revealed seed reproduces every bet of the pair */
    for (int i = 0; i < 3; i++) {
        struct rng_fair f;
        assert_int_equal(rng_fair_init(&f, r.revealed.server_seed, client, (uint64_t)i), 0);
        assert_true(rng_fair_float(&f) == floats[i]);
    }
    /* the new pair: new server seed, same client seed, nonce 0 */
    assert_string_not_equal(r.seeds.server_hash, committed);
    assert_commitment(&r.seeds);
    assert_string_equal(r.seeds.client_seed, client);
    assert_int_equal(r.seeds.nonce, 0);
    struct fair_seeds got;
    assert_int_equal(fair_seeds_get(rd, "p1", &got), 0);
    assert_string_equal(got.server_hash, r.seeds.server_hash);
    assert_int_equal(got.nonce, 0);
    struct fair_revealed rv;
    assert_int_equal(fair_seeds_revealed_get(rd, "p1", committed, &rv), 0);
    assert_string_equal(rv.server_seed, r.revealed.server_seed);
    assert_int_equal(fair_seeds_revealed_get(rd, "p2", committed, &rv), PB_ERR_NOT_FOUND);
    assert_int_equal(fair_seeds_revealed_get(rd, "p1", r.seeds.server_hash, &rv),
                     PB_ERR_NOT_FOUND); /* the active one is not revealed */
    /* a second rotation: listed newest first */
    struct seeds_args r2 = {.player = "p1", .now_ms = T0 + 200};
    assert_int_equal(pbt_run(w, rotate_step, &r2), 0);
    assert_string_equal(r2.revealed.server_hash, r.seeds.server_hash);
    assert_int_equal(r2.revealed.nonces, 0);
    struct fair_revealed list[FAIR_REVEALED_LIST_MAX];
    size_t n;
    assert_int_equal(fair_seeds_revealed_list(rd, "p1", list, FAIR_REVEALED_LIST_MAX, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(list[0].server_hash, r.seeds.server_hash);
    assert_string_equal(list[1].server_hash, committed);
    assert_int_equal(fair_seeds_revealed_list(rd, "p2", list, FAIR_REVEALED_LIST_MAX, &n), 0);
    assert_int_equal(n, 0);
    stop();
}
PBT_BOTH(rotation_reveals_the_committed_seed)

int main(void)
{
    const struct CMUnitTest tests[] = {
        PBT_PAIR(pair_is_created_once_with_its_commitment),
        PBT_PAIR(nonces_are_taken_one_per_bet),
        PBT_PAIR(client_seed_changes_alone),
        PBT_PAIR(rotation_reveals_the_committed_seed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
