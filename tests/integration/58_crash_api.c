/* 58_crash_api.c: live crash against the real binary (docs/table-games.md, "Live crash"),
 * with a chain seed chosen by the test so it knows every round's crash point in advance:
 * rounds run on their own schedule and the multiplier is broadcast on the WebSocket topic
 * "crash"; 24 players cash out at the same instant from 24 threads and each is paid
 * floor(stake * m(t) / 100) for the server time t of its request (equal times, equal
 * multipliers; all before the crash point); an automatic cash-out pays its target; a
 * cash-out after the crash is refused and the bet lost; recall shows the bet, the cash-out,
 * the crash point and the revealed hash, which `pitboss fair verify --game crash` checks
 * against the published commitment; bad requests are 400 naming the field and refusals
 * change nothing; a server killed while a round runs voids it at restart (open bets refunded,
 * cash-outs kept, nothing paid twice) and rounds go on; every player's balance is exact and
 * `pitboss ledger verify` holds at the end. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>
#include <sodium.h>

#include "client.h"
#include "fixtures.h"
#include "games/crash.h"
#include "ws_client.h"

#define STAFF "staff-token-for-tests-0123456789"
#define FUNDS 100000
#define RACERS 24
#define CHAIN 400
#define ROUNDS_KNOWN 40 /* rounds whose crash point the seed keeps at most 6.00x */

static char seed_env[128];
static const char *env[] = {"PITBOSS_STAFF_TOKEN=" STAFF, "PITBOSS_CRASH_ENABLED=1",
                            "PITBOSS_CRASH_BETTING_MS=1500",
                            "PITBOSS_CRASH_PAUSE_MS=200", "PITBOSS_CRASH_CHAIN_LENGTH=400",
                            seed_env, NULL};

struct player {
    char id[32], token[128];
    int64_t expected; /* cash the player must have */
};

static struct {
    struct pb_server srv;
    uint8_t seed[CRASH_HASH_BYTES];
    char hashes[ROUNDS_KNOWN + 1][CRASH_HASH_HEX + 1];
    uint64_t points[ROUNDS_KNOWN + 1];
    char terminal[CRASH_HASH_HEX + 1];
    struct player p[RACERS + 2]; /* racers, then the main player and the other */
} g;

static int64_t now_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* A seed whose first ROUNDS_KNOWN rounds crash at most at 6.00x (short rounds) and whose
 * crash points are known here. */
static void choose_seed(void)
{
    for (uint32_t s = 0;; s++) {
        memset(g.seed, 0, sizeof(g.seed));
        memcpy(g.seed, &s, sizeof(s));
        g.seed[31] = 0x5a;
        uint8_t h[CRASH_HASH_BYTES];
        memcpy(h, g.seed, sizeof(h));
        for (uint64_t k = CHAIN; k > ROUNDS_KNOWN; k--)
            crash_chain_step(h, h);
        bool ok = true;
        for (uint64_t k = ROUNDS_KNOWN; k >= 1 && ok; k--) {
            crash_hash_hex(h, g.hashes[k]);
            g.points[k] = crash_point(h, NULL);
            ok = g.points[k] <= 600;
            crash_chain_step(h, h);
        }
        if (!ok)
            continue;
        crash_chain_step(h, h); /* h[0] after one more step from h[1]: check below */
        uint8_t t[CRASH_HASH_BYTES];
        crash_chain_terminal(g.seed, CHAIN, t);
        crash_hash_hex(t, g.terminal);
        char hex[CRASH_HASH_HEX + 1];
        crash_hash_hex(g.seed, hex);
        snprintf(seed_env, sizeof(seed_env), "PITBOSS_CRASH_CHAIN_SEED=%s", hex);
        return;
    }
}

static void register_player(struct player *p, const char *email)
{
    pb_player_new(&g.srv, "demo", email, "EUR", p->id, sizeof(p->id), p->token, sizeof(p->token));
    pb_wallet_fund(&g.srv, STAFF, p->id, "EUR", FUNDS);
    p->expected = FUNDS;
}

static int64_t cash(const struct player *p)
{
    return pb_balance(&g.srv, STAFF, p->id, "cash", "EUR", "posted_minor");
}

static void check_balances(void)
{
    for (int i = 0; i < RACERS + 2; i++)
        if (cash(&g.p[i]) != g.p[i].expected)
            fail_msg("player %d has %lld, expected %lld", i, (long long)cash(&g.p[i]),
                     (long long)g.p[i].expected);
}

/* Waits for a round taking bets, at least min_left ms before betting closes, whose crash
 * point is within [lo, hi]; returns its id and sets *close_ms. */
static int64_t wait_betting(uint64_t lo, uint64_t hi, int64_t min_left, int64_t *close_ms)
{
    for (int guard = 0; guard < 3000; guard++) {
        json_t *st = pb_call_json(&g.srv, "GET", "/api/v1/crash/state", NULL, NULL, NULL, 200);
        const char *phase = pb_str_at(st, "phase");
        json_t *rid = json_object_get(st, "round_id");
        if (strcmp(phase, "betting") == 0 && json_is_integer(rid)) {
            int64_t id = json_integer_value(rid);
            int64_t left = pb_int_at(st, "bets_close_ms") - pb_int_at(st, "server_ms");
            assert_true(id >= 1 && id <= ROUNDS_KNOWN);
            assert_string_equal(pb_str_at(st, "commitment"), g.terminal);
            if (g.points[id] >= lo && g.points[id] <= hi && left >= min_left) {
                *close_ms = pb_int_at(st, "bets_close_ms");
                json_decref(st);
                return id;
            }
        }
        json_decref(st);
        pb_sleep_ms(50);
    }
    fail_msg("no suitable crash round came");
    return 0;
}

static json_t *place(struct player *p, int64_t amount, const char *auto_cashout, int64_t round)
{
    char body[160];
    if (auto_cashout)
        snprintf(body, sizeof(body), "{\"currency\":\"EUR\",\"amount_minor\":%lld,"
                 "\"auto_cashout\":\"%s\"}", (long long)amount, auto_cashout);
    else
        snprintf(body, sizeof(body), "{\"currency\":\"EUR\",\"amount_minor\":%lld}",
                 (long long)amount);
    json_t *doc = pb_call_json(&g.srv, "POST", "/api/v1/crash/bets", body, p->token,
                               pb_idem(pb_next_key("crash-test")), 201);
    json_t *bet = json_object_get(doc, "bet");
    assert_int_equal(pb_int_at(bet, "round_id"), round);
    assert_string_equal(pb_str_at(bet, "status"), "open");
    p->expected -= amount;
    return doc;
}

static void sleep_until(int64_t t)
{
    int64_t left = t - now_ms();
    if (left > 0)
        pb_sleep_ms((int)left);
}

/* The bet's round as recall shows it. */
static json_t *recall(const struct player *p, int64_t bet_id)
{
    char path[64];
    snprintf(path, sizeof(path), "/api/v1/rounds/%lld", (long long)bet_id);
    return pb_call_json(&g.srv, "GET", path, NULL, p->token, NULL, 200);
}

static void wait_round_over(int64_t round)
{
    char path[64];
    snprintf(path, sizeof(path), "/api/v1/crash/rounds/%lld", (long long)round);
    for (int guard = 0; guard < 2000; guard++) {
        json_t *r = pb_call_json(&g.srv, "GET", path, NULL, NULL, NULL, 200);
        bool over = strcmp(pb_str_at(r, "phase"), "open") != 0;
        json_decref(r);
        if (over)
            return;
        pb_sleep_ms(50);
    }
    fail_msg("round %lld never ended", (long long)round);
}

struct racer {
    struct player *p;
    int64_t bet_id;
    pthread_barrier_t *go;
    long status;
    json_t *bet;
};

static void *race(void *arg)
{
    struct racer *r = arg;
    char path[96];
    snprintf(path, sizeof(path), "/api/v1/crash/bets/%lld/cashout", (long long)r->bet_id);
    pthread_barrier_wait(r->go);
    struct pb_response resp;
    pb_call(&g.srv, "POST", path, NULL, r->p->token, NULL, &resp);
    r->status = resp.status;
    json_t *doc = json_loads(resp.body, 0, NULL);
    r->bet = json_incref(json_object_get(doc, "bet"));
    json_decref(doc);
    pb_response_release(&resp);
    return NULL;
}

static void test_many_players_cash_out_at_once(void **state)
{
    (void)state;
    struct player *main = &g.p[RACERS];
    struct player *late = &g.p[RACERS + 1];
    /* the multiplier on the WebSocket */
    struct ws_client ws;
    assert_int_equal(ws_client_connect(&ws, g.srv.port, NULL), 0);
    ws_client_subscribe(&ws, "crash", 5000);
    int64_t close_ms;
    int64_t round = wait_betting(200, 600, 900, &close_ms);
    struct racer rs[RACERS];
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, RACERS);
    for (int i = 0; i < RACERS; i++) {
        json_t *doc = place(&g.p[i], 1000 + 37 * i, NULL, round);
        rs[i] =
            (struct racer){&g.p[i], pb_int_at(json_object_get(doc, "bet"), "bet_id"), &go, 0, NULL};
        json_decref(doc);
    }
    json_t *auto_doc = place(main, 999, "1.20", round);
    int64_t auto_id = pb_int_at(json_object_get(auto_doc, "bet"), "bet_id");
    json_decref(auto_doc);
    json_t *late_doc = place(late, 500, NULL, round);
    int64_t late_id = pb_int_at(json_object_get(late_doc, "bet"), "bet_id");
    json_decref(late_doc);
    /* refusals in the same round change nothing */
    pb_expect_problem(&g.srv, "POST", "/api/v1/crash/bets",
                      "{\"currency\":\"EUR\",\"amount_minor\":5}", late->token,
                      pb_idem(pb_next_key("crash-test")), 409, "bet_exists", NULL);
    char path[96];
    snprintf(path, sizeof(path), "/api/v1/crash/bets/%lld/cashout", (long long)late_id);
    pb_expect_problem(&g.srv, "POST", path, NULL, late->token, NULL, 409, "round_not_started",
                      NULL);
    pb_expect_problem(&g.srv, "POST", path, NULL, main->token, NULL, 404, "not_found", "bet_id");
    /* ticks of this round (earlier rounds' messages may be queued before them) */
    for (int seen = 0; seen < 3;) {
        char *tick = ws_client_read_until(&ws, "\"tick\"", 10000);
        assert_non_null(tick);
        json_t *msg = json_loads(tick, 0, NULL);
        json_t *data = json_object_get(msg, "data");
        assert_string_equal(pb_str_at(msg, "topic"), "crash");
        if (pb_int_at(data, "round_id") == round) {
            int64_t t = pb_int_at(data, "elapsed_ms");
            assert_int_equal((uint64_t)pb_int_at(data, "multiplier_x100"), crash_multiplier_at(t));
            assert_true((uint64_t)pb_int_at(data, "multiplier_x100") < g.points[round]);
            seen++;
        }
        json_decref(msg);
        free(tick);
    }
    /* everyone at once at about 1.30x (the crash point is at least 2.00x) */
    sleep_until(close_ms + crash_time_ms(130));
    pthread_t th[RACERS];
    for (int i = 0; i < RACERS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, race, &rs[i]), 0);
    for (int i = 0; i < RACERS; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&go);
    for (int i = 0; i < RACERS; i++) {
        if (rs[i].status != 200)
            fail_msg("racer %d answered %ld", i, rs[i].status);
        json_t *co = json_object_get(rs[i].bet, "cashout");
        int64_t m = pb_int_at(co, "multiplier_x100"), at = pb_int_at(co, "at_ms");
        assert_int_equal((uint64_t)m, crash_multiplier_at(at));
        assert_true((uint64_t)m < g.points[round] && m >= 125 && m <= 160);
        int64_t stake = 1000 + 37 * i;
        assert_int_equal(pb_int_at(rs[i].bet, "payout_minor"), stake * m / 100);
        assert_false(json_is_true(json_object_get(co, "automatic")));
        for (int j = 0; j < i; j++) {
            json_t *cj = json_object_get(rs[j].bet, "cashout");
            if (pb_int_at(cj, "at_ms") == at)
                assert_int_equal(pb_int_at(cj, "multiplier_x100"), m);
        }
        g.p[i].expected += stake * m / 100;
    }
    /* the same cash-out again answers the same bet */
    snprintf(path, sizeof(path), "/api/v1/crash/bets/%lld/cashout", (long long)rs[0].bet_id);
    json_t *again = pb_call_json(&g.srv, "POST", path, NULL, g.p[0].token, NULL, 200);
    assert_int_equal(pb_int_at(json_object_get(again, "bet"), "payout_minor"),
                     pb_int_at(rs[0].bet, "payout_minor"));
    json_decref(again);
    check_balances();
    /* after the crash: the late cash-out is refused and the bet lost; the automatic target paid */
    wait_round_over(round);
    snprintf(path, sizeof(path), "/api/v1/crash/bets/%lld/cashout", (long long)late_id);
    pb_expect_problem(&g.srv, "POST", path, NULL, late->token, NULL, 409, "round_crashed", NULL);
    main->expected += 999 * 120 / 100;
    check_balances();
    char cp[32];
    crash_format(g.points[round], cp);
    json_t *r = recall(main, auto_id);
    assert_string_equal(pb_str_at(r, "state"), "closed");
    assert_int_equal(pb_int_at(r, "payout_minor"), 999 * 120 / 100);
    json_t *d = json_object_get(r, "detail");
    assert_string_equal(pb_str_at(d, "status"), "cashed");
    assert_true(json_is_true(json_object_get(json_object_get(d, "cashout"), "automatic")));
    assert_string_equal(pb_str_at(json_object_get(d, "cashout"), "multiplier"), "1.20");
    assert_string_equal(pb_str_at(json_object_get(d, "round"), "crash_point"), cp);
    assert_string_equal(pb_str_at(json_object_get(d, "round"), "hash"), g.hashes[round]);
    json_decref(r);
    r = recall(late, late_id);
    assert_int_equal(pb_int_at(r, "payout_minor"), 0);
    assert_string_equal(pb_str_at(json_object_get(r, "detail"), "status"), "lost");
    json_decref(r);
    r = recall(&g.p[3], rs[3].bet_id);
    assert_int_equal(pb_int_at(r, "payout_minor"), pb_int_at(rs[3].bet, "payout_minor"));
    assert_string_equal(pb_str_at(json_object_get(r, "detail"), "status"), "cashed");
    assert_string_equal(pb_str_at(json_object_get(json_object_get(r, "detail"), "round"), "hash"),
                        g.hashes[round]);
    json_decref(r);
    for (int i = 0; i < RACERS; i++)
        json_decref(rs[i].bet);
    /* the public round and the verifier */
    snprintf(path, sizeof(path), "/api/v1/crash/rounds/%lld", (long long)round);
    r = pb_call_json(&g.srv, "GET", path, NULL, NULL, NULL, 200);
    assert_string_equal(pb_str_at(r, "phase"), "crashed");
    assert_string_equal(pb_str_at(r, "hash"), g.hashes[round]);
    assert_string_equal(pb_str_at(r, "commitment"), g.terminal);
    assert_int_equal(pb_int_at(r, "bets"), RACERS + 2);
    json_decref(r);
    char cmd[1024], out[4096] = "", line[512];
    snprintf(cmd, sizeof(cmd), "'%s' fair verify --game crash --hash %s --terminal %s 2>&1",
             getenv("PITBOSS_BIN"), g.hashes[round], g.terminal);
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    while (fgets(line, sizeof(line), f))
        strncat(out, line, sizeof(out) - strlen(out) - 1);
    assert_int_equal(pclose(f), 0);
    char want[96];
    snprintf(want, sizeof(want), "crash point: %sx", cp);
    if (!strstr(out, want))
        fail_msg("verify said: %s (expected %s)", out, want);
    snprintf(want, sizeof(want), "round %lld of the chain", (long long)round);
    if (!strstr(out, want))
        fail_msg("verify said: %s (expected %s)", out, want);
    char *crashed = ws_client_read_until(&ws, "\"crashed\"", 10000);
    assert_non_null(crashed);
    assert_non_null(strstr(crashed, g.hashes[round]));
    free(crashed);
    ws_client_close(&ws);
}

static void test_bad_requests_change_nothing(void **state)
{
    (void)state;
    struct player *p = &g.p[0];
    const char *path = "/api/v1/crash/bets";
    pb_expect_problem(&g.srv, "POST", path, "{\"currency\":\"EUR\",\"amount_minor\":100}", p->token,
                      NULL, 400, "validation_failed", "Idempotency-Key");
    pb_expect_problem(&g.srv, "POST", path, "{\"currency\":\"EUR\",\"amount_minor\":0}", p->token,
                      pb_idem(pb_next_key("crash-test")), 400, "validation_failed", "amount_minor");
    pb_expect_problem(&g.srv, "POST", path,
                      "{\"currency\":\"EUR\",\"amount_minor\":1,"
                      "\"auto_cashout\":\"1.00\"}",
                      p->token, pb_idem(pb_next_key("crash-test")), 400, "validation_failed",
                      "auto_cashout");
    pb_expect_problem(&g.srv, "POST", path,
                      "{\"currency\":\"EUR\",\"amount_minor\":1,"
                      "\"auto_cashout\":\"2.555\"}",
                      p->token, pb_idem(pb_next_key("crash-test")), 400, "validation_failed",
                      "auto_cashout");
    pb_expect_problem(&g.srv, "POST", path, "{\"currency\":\"XXX\",\"amount_minor\":1}", p->token,
                      pb_idem(pb_next_key("crash-test")), 400, "validation_failed", "currency");
    pb_expect_problem(&g.srv, "POST", path, "{\"currency\":\"EUR\",\"amount_minor\":1,\"x\":1}",
                      p->token, pb_idem(pb_next_key("crash-test")), 400, "validation_failed", "x");
    pb_expect_problem(&g.srv, "POST", path, "{\"currency\":\"EUR\",\"amount_minor\":1}", NULL,
                      pb_idem(pb_next_key("crash-test")), 401, "unauthorized", NULL);
    pb_expect_problem(&g.srv, "POST", "/api/v1/crash/bets/abc/cashout", NULL, p->token, NULL, 400,
                      "validation_failed", "bet_id");
    pb_expect_problem(&g.srv, "GET", "/api/v1/crash/rounds/999999", NULL, NULL, NULL, 404,
                      "not_found", "round_id");
    /* a bet while the multiplier runs */
    for (int guard = 0; guard < 2000; guard++) {
        json_t *st = pb_call_json(&g.srv, "GET", "/api/v1/crash/state", NULL, NULL, NULL, 200);
        bool running =
            strcmp(pb_str_at(st, "phase"), "running") == 0 && pb_int_at(st, "elapsed_ms") > 200;
        json_decref(st);
        if (running)
            break;
        pb_sleep_ms(20);
    }
    pb_expect_problem(&g.srv, "POST", path, "{\"currency\":\"EUR\",\"amount_minor\":100}", p->token,
                      pb_idem(pb_next_key("crash-test")), 409, "betting_closed", NULL);
    /* stake limits of the round engine */
    int64_t close_ms;
    wait_betting(100, 600, 600, &close_ms);
    pb_expect_problem(&g.srv, "POST", path, "{\"currency\":\"EUR\",\"amount_minor\":100000000}",
                      p->token, pb_idem(pb_next_key("crash-test")), 422, "stake_out_of_range",
                      "stake_minor");
    /* a replay answers the same bet, another body under the key is a conflict */
    json_t *a = pb_call_json(&g.srv, "POST", path, "{\"currency\":\"EUR\",\"amount_minor\":10}",
                             p->token, pb_idem("crash-replay"), 201);
    json_t *b = pb_call_json(&g.srv, "POST", path, "{\"currency\":\"EUR\",\"amount_minor\":10}",
                             p->token, pb_idem("crash-replay"), 201);
    assert_int_equal(pb_int_at(json_object_get(a, "bet"), "bet_id"),
                     pb_int_at(json_object_get(b, "bet"), "bet_id"));
    pb_expect_problem(&g.srv, "POST", path, "{\"currency\":\"EUR\",\"amount_minor\":11}", p->token,
                      pb_idem("crash-replay"), 409, "idempotency_conflict", NULL);
    p->expected -= 10;
    wait_round_over(pb_int_at(json_object_get(a, "bet"), "round_id"));
    json_decref(a);
    json_decref(b);
    check_balances(); /* the bet had no cash-out: lost */
}

static void test_restart_voids_the_interrupted_round(void **state)
{
    (void)state;
    struct player *a = &g.p[0], *b = &g.p[1];
    int64_t close_ms;
    int64_t round = wait_betting(300, 600, 700, &close_ms);
    json_t *da = place(a, 2000, NULL, round);
    json_t *db = place(b, 3000, NULL, round);
    int64_t bet_a = pb_int_at(json_object_get(da, "bet"), "bet_id");
    int64_t bet_b = pb_int_at(json_object_get(db, "bet"), "bet_id");
    json_decref(da);
    json_decref(db);
    sleep_until(close_ms + crash_time_ms(110));
    char path[96];
    snprintf(path, sizeof(path), "/api/v1/crash/bets/%lld/cashout", (long long)bet_b);
    json_t *c = pb_call_json(&g.srv, "POST", path, NULL, b->token, NULL, 200);
    int64_t paid = pb_int_at(json_object_get(c, "bet"), "payout_minor");
    json_decref(c);
    b->expected += paid;
    /* killed while the multiplier runs (the crash point is at least 3.00x) */
    pb_server_kill(&g.srv);
    pb_server_restart(&g.srv, env);
    wait_round_over(round);
    snprintf(path, sizeof(path), "/api/v1/crash/rounds/%lld", (long long)round);
    json_t *r = pb_call_json(&g.srv, "GET", path, NULL, NULL, NULL, 200);
    assert_string_equal(pb_str_at(r, "phase"), "void");
    assert_string_equal(pb_str_at(r, "hash"), g.hashes[round]);
    json_decref(r);
    a->expected += 2000; /* refunded */
    check_balances();
    r = recall(a, bet_a);
    assert_string_equal(pb_str_at(r, "state"), "closed");
    assert_int_equal(pb_int_at(r, "payout_minor"), 2000);
    assert_string_equal(pb_str_at(json_object_get(r, "detail"), "status"), "refunded");
    json_decref(r);
    r = recall(b, bet_b);
    assert_int_equal(pb_int_at(r, "payout_minor"), paid);
    assert_string_equal(pb_str_at(json_object_get(r, "detail"), "status"), "cashed");
    json_decref(r);
    snprintf(path, sizeof(path), "/api/v1/crash/bets/%lld/cashout", (long long)bet_a);
    pb_expect_problem(&g.srv, "POST", path, NULL, a->token, NULL, 409, "round_void", NULL);
    /* rounds go on with the next links of the same chain */
    int64_t next = wait_betting(100, 600, 0, &close_ms);
    assert_true(next > round);
    /* a second restart pays nothing again */
    pb_server_stop(&g.srv);
    pb_server_restart(&g.srv, env);
    check_balances();
}

static void test_ledger_verify_holds(void **state)
{
    (void)state;
    pb_ledger_verify_ok(&g.srv);
}

static int setup(void **state)
{
    (void)state;
    curl_global_init(CURL_GLOBAL_ALL);
    if (sodium_init() < 0)
        return -1;
    choose_seed();
    pb_server_start(&g.srv, env);
    for (int i = 0; i < RACERS + 2; i++) {
        char email[64];
        snprintf(email, sizeof(email), "crash%d@example.com", i);
        register_player(&g.p[i], email);
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    pb_server_stop(&g.srv);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_many_players_cash_out_at_once),
        cmocka_unit_test(test_bad_requests_change_nothing),
        cmocka_unit_test(test_restart_voids_the_interrupted_round),
        cmocka_unit_test(test_ledger_verify_holds),
    };
    return cmocka_run_group_tests_name("integration.crash_api", tests, setup, teardown);
}
