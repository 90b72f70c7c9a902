/* 55_casino_api.c: the casino API against the real binary (docs/casino.md): the catalogue; a
 * registered player with a staff-funded wallet plays dice: the stake is debited, the outcome
 * stored and the payout credited exactly by the dice rule; a replay with the same key gives
 * the same body and no second debit; another body under the key is 409 naming the field;
 * insufficient funds (422) and invalid bets (400 naming the field) change nothing; recall
 * and round views (own rounds only, staff any); seeds (commitment, client seed, rotation
 * revealing the server seed) and `pitboss fair verify` reproducing the stored outcome; the
 * round pushed on the player's WebSocket topic; staff configuration (limits, disabling,
 * validation); and `pitboss ledger verify` at the end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>
#include <sodium.h>

#include "client.h"
#include "fixtures.h"
#include "ws_client.h"

#define STAFF "staff-token-for-tests-0123456789"
#define PASSWORD "correct horse battery"
#define FUNDS 10000
#define DICE_BET "{\"target\":5000,\"direction\":\"under\"}"

/* Roulette's table limits from the configuration: a straight up to 50 minor units. */
static const char *const env[] = {"PITBOSS_STAFF_TOKEN=" STAFF,
                                  "PITBOSS_ROULETTE_LIMITS={\"bets\":{\"straight\":"
                                  "{\"max_minor\":50}}}",
                                  NULL};

struct fixture {
    struct pb_server srv;
    char player[32], token[128];     /* the player who plays */
    char other[32], other_token[128]; /* another player */
};

/* ---- helpers ---- */

/* The shared helpers (fixtures.h) under this file's names: key is the Idempotency-Key. */
static void call_key(const struct pb_server *srv, const char *method, const char *path,
                     const char *body, const char *token, const char *key, struct pb_response *r)
{
    pb_call(srv, method, path, body, token, pb_idem(key), r);
}

static json_t *parse(const struct pb_response *r)
{
    json_error_t err;
    json_t *doc = json_loads(r->body, 0, &err);
    if (!doc)
        fail_msg("not JSON (%s): %s", err.text, r->body);
    return doc;
}

static json_t *call_json(const struct pb_server *srv, const char *method, const char *path,
                         const char *body, const char *token, const char *key, long status)
{
    return pb_call_json(srv, method, path, body, token, pb_idem(key), status);
}

static void expect_problem(const struct pb_server *srv, const char *method, const char *path,
                           const char *body, const char *token, const char *key, long status,
                           const char *code, const char *field)
{
    pb_expect_problem(srv, method, path, body, token, pb_idem(key), status, code, field);
}

#define str_at pb_str_at
#define int_at pb_int_at
#define next_key() pb_next_key("casino-test")

static void register_and_login(const struct pb_server *srv, const char *email, char *id,
                               char *token)
{
    pb_player_new(srv, "demo", email, "EUR", id, 32, token, 128);
}

/* Registration opened the EUR wallet (200: already open); a staff adjustment funds it. */
static void open_and_fund(const struct pb_server *srv, const char *player, int64_t amount)
{
    pb_wallet_fund(srv, STAFF, player, "EUR", amount);
}

/* The player's EUR cash balance (posted) as the staff API shows it. */
static int64_t cash(const struct pb_server *srv, const char *player)
{
    return pb_balance(srv, STAFF, player, "cash", "EUR", "posted_minor");
}

static size_t recall_count(const struct fixture *f)
{
    json_t *doc = call_json(&f->srv, "GET", "/api/v1/players/me/rounds", NULL, f->token, NULL,
                            200);
    size_t n = json_array_size(json_object_get(doc, "rounds"));
    json_decref(doc);
    return n;
}

static json_t *play(const struct fixture *f, const char *body, const char *key, long status)
{
    return call_json(&f->srv, "POST", "/api/v1/games/dice/play", body, f->token, key, status);
}

/* What the dice rule pays for a bet (target, under) given a roll: stake * 9900 / chance,
 * rounded down, or 0. */
static int64_t dice_rule(int64_t stake, int64_t target, bool under, int64_t roll)
{
    bool win = under ? roll < target : roll > target;
    int64_t chance = under ? target : 10000 - target;
    return win ? stake * 9900 / chance : 0;
}

/* ---- the catalogue ---- */

static void test_catalogue_lists_dice_with_its_figures(void **state)
{
    struct fixture *f = *state;
    json_t *doc = call_json(&f->srv, "GET", "/api/v1/games?currency=EUR", NULL, NULL, NULL, 200);
    json_t *games = json_object_get(doc, "games"), *dice = NULL;
    for (size_t i = 0; i < json_array_size(games); i++)
        if (strcmp(str_at(json_array_get(games, i), "id"), "dice") == 0)
            dice = json_array_get(games, i);
    assert_non_null(dice);
    assert_string_equal(str_at(dice, "kind"), "dice");
    assert_true(json_is_true(json_object_get(dice, "provably_fair")));
    assert_true(json_is_true(json_object_get(dice, "enabled")));
    assert_true(int_at(dice, "rtp_ppm") > 900000 && int_at(dice, "rtp_ppm") < 1000000);
    json_t *lim = json_array_get(json_object_get(dice, "stake_limits"), 0);
    assert_string_equal(str_at(lim, "currency"), "EUR");
    assert_int_equal(int_at(lim, "min_stake_minor"), 1);
    assert_int_equal(int_at(lim, "max_stake_minor"), 100000);
    json_decref(doc);
    expect_problem(&f->srv, "GET", "/api/v1/games?currency=XXX", NULL, NULL, NULL, 400,
                   "validation_failed", "currency");
}

/* ---- play ---- */

static void test_play_moves_money_by_the_dice_rule_and_replays(void **state)
{
    struct fixture *f = *state;
    json_t *seeds = call_json(&f->srv, "GET", "/api/v1/fair/seeds", NULL, f->token, NULL, 200);
    assert_null(json_object_get(seeds, "server_seed")); /* never while active */
    assert_int_equal(int_at(seeds, "nonce"), 0);
    assert_int_equal(json_array_size(json_object_get(seeds, "revealed")), 0);
    char first_hash[80];
    snprintf(first_hash, sizeof(first_hash), "%s", str_at(seeds, "server_seed_hash"));
    json_decref(seeds);
    seeds = call_json(&f->srv, "GET", "/api/v1/fair/seeds", NULL, f->token, NULL, 200);
    assert_string_equal(str_at(seeds, "server_seed_hash"), first_hash); /* committed once */
    json_decref(seeds);
    seeds = call_json(&f->srv, "POST", "/api/v1/fair/seeds", "{\"client_seed\":\"it-client\"}",
                      f->token, NULL, 200);
    assert_string_equal(str_at(seeds, "client_seed"), "it-client");
    char hash[80];
    snprintf(hash, sizeof(hash), "%s", str_at(seeds, "server_seed_hash"));
    json_decref(seeds);

    int64_t before = cash(&f->srv, f->player);
    assert_int_equal(before, FUNDS);
    const char *body = "{\"currency\":\"EUR\",\"stake_minor\":100,\"bet\":" DICE_BET "}";
    struct pb_response first, again;
    call_key(&f->srv, "POST", "/api/v1/games/dice/play", body, f->token, "play-1", &first);
    if (first.status != 201)
        fail_msg("play answered %ld: %s", first.status, first.body);
    json_t *doc = parse(&first);
    json_t *round = json_object_get(doc, "round"), *detail = json_object_get(round, "detail");
    json_t *outcome = json_object_get(detail, "outcome"), *fair = json_object_get(detail, "fair");
    assert_string_equal(str_at(round, "state"), "closed");
    assert_string_equal(str_at(round, "game_id"), "dice");
    assert_int_equal(int_at(round, "stake_minor"), 100);
    assert_string_equal(str_at(fair, "server_seed_hash"), hash);
    assert_string_equal(str_at(fair, "client_seed"), "it-client");
    assert_int_equal(int_at(fair, "nonce"), 0);
    int64_t payout = int_at(round, "payout_minor");
    assert_int_equal(payout, dice_rule(100, 5000, true, int_at(outcome, "roll_hundredths")));
    int64_t after = cash(&f->srv, f->player);
    assert_int_equal(after, before - 100 + payout);
    assert_int_equal(int_at(json_object_get(doc, "balance"), "posted_minor"), after);
    json_decref(doc);

    /* the same key and body: the same answer, no second debit */
    call_key(&f->srv, "POST", "/api/v1/games/dice/play", body, f->token, "play-1", &again);
    assert_int_equal(again.status, 201);
    assert_string_equal(again.body, first.body);
    char replayed[16];
    assert_true(pb_response_header(&again, "Idempotent-Replayed", replayed, sizeof(replayed)));
    assert_string_equal(replayed, "true");
    assert_int_equal(cash(&f->srv, f->player), after);
    assert_int_equal(recall_count(f), 1);
    pb_response_release(&first);
    pb_response_release(&again);

    /* the same key with another body: 409 naming the field */
    expect_problem(&f->srv, "POST", "/api/v1/games/dice/play",
                   "{\"currency\":\"EUR\",\"stake_minor\":200,\"bet\":" DICE_BET "}", f->token,
                   "play-1", 409, "idempotency_conflict", "stake_minor");
    expect_problem(&f->srv, "POST", "/api/v1/games/dice/play",
                   "{\"currency\":\"EUR\",\"stake_minor\":100,\"bet\":{\"target\":4000,"
                   "\"direction\":\"under\"}}", f->token, "play-1", 409,
                   "idempotency_conflict", "bet.target");
    assert_int_equal(cash(&f->srv, f->player), after);

    /* a decimal stake */
    doc = play(f, "{\"currency\":\"EUR\",\"stake\":\"1.50\",\"bet\":{\"target\":3000,"
                  "\"direction\":\"over\"}}", "play-2", 201);
    round = json_object_get(doc, "round");
    assert_int_equal(int_at(round, "stake_minor"), 150);
    outcome = json_object_get(json_object_get(round, "detail"), "outcome");
    payout = int_at(round, "payout_minor");
    assert_int_equal(payout, dice_rule(150, 3000, false, int_at(outcome, "roll_hundredths")));
    assert_int_equal(int_at(json_object_get(json_object_get(round, "detail"), "fair"), "nonce"),
                     1);
    assert_int_equal(cash(&f->srv, f->player), after - 150 + payout);
    json_decref(doc);
    assert_int_equal(recall_count(f), 2);
}

static void test_refusals_and_invalid_bets_change_nothing(void **state)
{
    struct fixture *f = *state;
    int64_t funds = cash(&f->srv, f->player);
    size_t rounds = recall_count(f);
    json_t *seeds = call_json(&f->srv, "GET", "/api/v1/fair/seeds", NULL, f->token, NULL, 200);
    int64_t nonce = int_at(seeds, "nonce");
    json_decref(seeds);
    const char *path = "/api/v1/games/dice/play";
    /* insufficient funds: 422, and it stays refused for its key */
    char body[256];
    snprintf(body, sizeof(body), "{\"currency\":\"EUR\",\"stake_minor\":%lld,\"bet\":" DICE_BET
             "}", (long long)(funds + 1));
    expect_problem(&f->srv, "POST", path, body, f->token, "poor-1", 422, "insufficient_funds",
                   "stake_minor");
    expect_problem(&f->srv, "POST", path, body, f->token, "poor-1", 422, "insufficient_funds",
                   "stake_minor");
    static const struct {
        const char *body, *code, *field;
    } bad[] = {
        {"{\"currency\":\"EUR\",\"stake_minor\":100,\"bet\":{\"target\":10001,"
         "\"direction\":\"under\"}}", "out_of_range", "bet.target"},
        {"{\"currency\":\"EUR\",\"stake_minor\":100,\"bet\":{\"target\":9900,"
         "\"direction\":\"under\"}}", "out_of_range", "bet.target"},
        {"{\"currency\":\"EUR\",\"stake_minor\":100,\"bet\":{\"target\":5000,"
         "\"direction\":\"sideways\"}}", "out_of_range", "bet.direction"},
        {"{\"currency\":\"EUR\",\"stake_minor\":100,\"bet\":{\"target\":5000}}",
         "missing_field", "bet.direction"},
        {"{\"currency\":\"EUR\",\"stake_minor\":100}", "out_of_range", "bet"},
        {"{\"currency\":\"EUR\",\"stake_minor\":100,\"bet\":" DICE_BET ",\"colour\":1}",
         "unknown_field", "colour"},
        {"{\"currency\":\"EUR\",\"stake_minor\":0,\"bet\":" DICE_BET "}", "out_of_range",
         "stake_minor"},
        {"{\"currency\":\"EUR\",\"stake_minor\":1,\"stake\":\"0.01\",\"bet\":" DICE_BET "}",
         "conflicting_fields", "stake_minor"},
        {"{\"currency\":\"EUR\",\"bet\":" DICE_BET "}", "missing_field", "stake_minor"},
        {"{\"currency\":\"EUR\",\"stake\":\"1.001\",\"bet\":" DICE_BET "}", "out_of_range",
         "stake"},
        {"{\"currency\":\"EUR\",\"stake\":\"-1\",\"bet\":" DICE_BET "}", "out_of_range",
         "stake"},
        {"{\"currency\":\"XXX\",\"stake_minor\":100,\"bet\":" DICE_BET "}", "out_of_range",
         "currency"},
        {"{\"currency\":\"EUR\",\"stake_minor\":\"100\",\"bet\":" DICE_BET "}", "wrong_type",
         "stake_minor"},
        {"[1]", NULL, ""},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct pb_response r;
        call_key(&f->srv, "POST", path, bad[i].body, f->token, next_key(), &r);
        if (r.status != 400)
            fail_msg("bad body %zu answered %ld: %s", i, r.status, r.body);
        json_t *doc = parse(&r);
        const char *field = json_string_value(json_object_get(doc, "field"));
        if (bad[i].code && (!field || strcmp(field, bad[i].field) != 0))
            fail_msg("bad body %zu: expected field %s: %s", i, bad[i].field, r.body);
        json_decref(doc);
        pb_response_release(&r);
    }
    expect_problem(&f->srv, "POST", path, "{\"currency\":\"EUR\",\"stake_minor\":100,\"bet\":"
                   DICE_BET "}", f->token, NULL, 400, "validation_failed", "Idempotency-Key");
    expect_problem(&f->srv, "POST", path, "{\"currency\":\"EUR\",\"stake_minor\":100,\"bet\":"
                   DICE_BET "}", f->token, "bad key!", 400, "validation_failed",
                   "Idempotency-Key");
    expect_problem(&f->srv, "POST", "/api/v1/games/nope/play", "{}", f->token, next_key(), 404,
                   "not_found", "game_id");
    expect_problem(&f->srv, "POST", path, "{}", NULL, next_key(), 401, "unauthorized", NULL);
    expect_problem(&f->srv, "POST", path, "{}", "not-a-token", next_key(), 401, "unauthorized",
                   NULL);
    /* a player without a wallet in the currency */
    expect_problem(&f->srv, "POST", path, "{\"currency\":\"USD\",\"stake_minor\":100,\"bet\":"
                   DICE_BET "}", f->token, next_key(), 422, "no_wallet", "currency");
    assert_int_equal(cash(&f->srv, f->player), funds);
    assert_int_equal(recall_count(f), rounds);
    seeds = call_json(&f->srv, "GET", "/api/v1/fair/seeds", NULL, f->token, NULL, 200);
    assert_int_equal(int_at(seeds, "nonce"), nonce); /* no nonce taken either */
    json_decref(seeds);
}

/* A bet block set by staff, and a jurisdiction that requires KYC before play, refuse plays
 * before any money moves. */
static void test_bet_block_and_kyc_gate_refuse_play(void **state)
{
    struct fixture *f = *state;
    const char *body = "{\"currency\":\"EUR\",\"stake_minor\":100,\"bet\":" DICE_BET "}";
    int64_t funds = cash(&f->srv, f->player);
    size_t rounds = recall_count(f);
    char path[160];
    snprintf(path, sizeof(path), "/api/v1/admin/players/%s/blocks", f->player);
    json_decref(call_json(&f->srv, "POST", path, "{\"block\":\"bet\",\"reason\":\"review\"}",
                          STAFF, NULL, 200));
    expect_problem(&f->srv, "POST", "/api/v1/games/dice/play", body, f->token, next_key(), 403,
                   "account_blocked", NULL);
    snprintf(path, sizeof(path), "/api/v1/admin/players/%s/blocks/bet", f->player);
    json_decref(call_json(&f->srv, "DELETE", path, "{\"reason\":\"cleared\"}", STAFF, NULL,
                          200));
    assert_int_equal(cash(&f->srv, f->player), funds);
    assert_int_equal(recall_count(f), rounds);
    /* brand demo-uk: its jurisdiction requires verified identity before play */
    char id[32], token[128];
    const char *reg = "{\"email\":\"uk@example.com\",\"password\":\"" PASSWORD "\","
                      "\"date_of_birth\":\"1990-05-17\",\"country\":\"GB\",\"currency\":"
                      "\"GBP\",\"brand\":\"demo-uk\"}";
    json_t *doc = call_json(&f->srv, "POST", "/api/v1/players", reg, NULL, NULL, 201);
    snprintf(id, sizeof(id), "%s", str_at(doc, "player_id"));
    json_decref(doc);
    doc = call_json(&f->srv, "POST", "/api/v1/sessions", "{\"brand\":\"demo-uk\",\"email\":"
                    "\"uk@example.com\",\"password\":\"" PASSWORD "\"}", NULL, NULL, 201);
    snprintf(token, sizeof(token), "%s", str_at(doc, "token"));
    json_decref(doc);
    expect_problem(&f->srv, "POST", "/api/v1/games/dice/play",
                   "{\"currency\":\"GBP\",\"stake_minor\":100,\"bet\":" DICE_BET "}", token,
                   next_key(), 403, "kyc_required", NULL);
}

/* ---- recall, round views, rotation and fair verify ---- */

/* Runs `pitboss fair verify` and returns its JSON output. */
static json_t *fair_verify(const char *server_seed, const char *client_seed, int64_t nonce)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "'%s' fair verify --game dice --server-seed %s --client-seed '%s'"
             " --nonce %lld", getenv("PITBOSS_BIN"), server_seed, client_seed, (long long)nonce);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char out[4096];
    size_t n = fread(out, 1, sizeof(out) - 1, p);
    out[n] = '\0';
    int status = pclose(p);
    if (status != 0)
        fail_msg("fair verify exited with %d: %s", status, out);
    json_error_t err;
    json_t *doc = json_loads(out, 0, &err);
    if (!doc)
        fail_msg("fair verify printed no JSON: %s", out);
    return doc;
}

static void test_recall_views_rotation_and_fair_verify(void **state)
{
    struct fixture *f = *state;
    json_t *list = call_json(&f->srv, "GET", "/api/v1/players/me/rounds", NULL, f->token, NULL,
                             200);
    json_t *rounds = json_object_get(list, "rounds");
    assert_int_equal(json_array_size(rounds), 2);
    int64_t newest = int_at(json_array_get(rounds, 0), "round_id");
    int64_t oldest = int_at(json_array_get(rounds, 1), "round_id");
    assert_true(newest > oldest);
    json_decref(list);
    list = call_json(&f->srv, "GET", "/api/v1/players/me/rounds?limit=1", NULL, f->token, NULL,
                     200);
    assert_int_equal(json_array_size(json_object_get(list, "rounds")), 1);
    json_decref(list);
    expect_problem(&f->srv, "GET", "/api/v1/players/me/rounds?limit=51", NULL, f->token, NULL,
                   400, "validation_failed", "limit");

    char path[128];
    snprintf(path, sizeof(path), "/api/v1/rounds/%lld", (long long)oldest);
    json_t *round = call_json(&f->srv, "GET", path, NULL, f->token, NULL, 200);
    assert_true(json_is_null(json_object_get(round, "fair_reveal"))); /* still active */
    json_decref(round);
    expect_problem(&f->srv, "GET", path, NULL, f->other_token, NULL, 404, "not_found",
                   "round_id");
    json_decref(call_json(&f->srv, "GET", path, NULL, STAFF, NULL, 200));
    expect_problem(&f->srv, "GET", "/api/v1/rounds/abc", NULL, f->token, NULL, 400,
                   "validation_failed", "round_id");
    expect_problem(&f->srv, "GET", "/api/v1/rounds/999999", NULL, f->token, NULL, 404,
                   "not_found", "round_id");

    /* rotation reveals the committed seed */
    json_t *rot = call_json(&f->srv, "POST", "/api/v1/fair/seeds/rotate", NULL, f->token, NULL,
                            200);
    json_t *revealed = json_object_get(rot, "revealed");
    const char *seed = str_at(revealed, "server_seed");
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, (const unsigned char *)seed, strlen(seed));
    char hex[2 * crypto_hash_sha256_BYTES + 1];
    sodium_bin2hex(hex, sizeof(hex), digest, sizeof(digest));
    assert_string_equal(hex, str_at(revealed, "server_seed_hash"));
    assert_int_equal(int_at(revealed, "nonces"), 2);
    assert_int_equal(int_at(json_object_get(rot, "current"), "nonce"), 0);
    assert_string_not_equal(str_at(json_object_get(rot, "current"), "server_seed_hash"), hex);

    /* every round of the pair: fair verify reproduces the stored outcome and the payout */
    for (int k = 0; k < 2; k++) {
        snprintf(path, sizeof(path), "/api/v1/rounds/%lld", (long long)(k ? newest : oldest));
        round = call_json(&f->srv, "GET", path, NULL, f->token, NULL, 200);
        json_t *detail = json_object_get(round, "detail");
        json_t *fair = json_object_get(detail, "fair"), *bet = json_object_get(detail, "bet");
        json_t *stored = json_object_get(detail, "outcome");
        assert_string_equal(str_at(json_object_get(round, "fair_reveal"), "server_seed"), seed);
        assert_string_equal(str_at(fair, "server_seed_hash"), hex);
        json_t *v = fair_verify(seed, str_at(fair, "client_seed"), int_at(fair, "nonce"));
        json_t *computed = json_object_get(v, "outcome");
        assert_int_equal(int_at(computed, "roll_hundredths"), int_at(stored, "roll_hundredths"));
        assert_string_equal(str_at(computed, "roll"), str_at(stored, "roll"));
        bool under = strcmp(str_at(bet, "direction"), "under") == 0;
        assert_int_equal(int_at(round, "payout_minor"),
                         dice_rule(int_at(round, "stake_minor"), int_at(bet, "target"), under,
                                   int_at(computed, "roll_hundredths")));
        json_decref(v);
        json_decref(round);
    }
    json_decref(rot);
    json_t *seeds = call_json(&f->srv, "GET", "/api/v1/fair/seeds", NULL, f->token, NULL, 200);
    assert_int_equal(json_array_size(json_object_get(seeds, "revealed")), 1);
    json_decref(seeds);
    expect_problem(&f->srv, "POST", "/api/v1/fair/seeds", "{\"client_seed\":\"has space\"}",
                   f->token, NULL, 400, "validation_failed", "client_seed");
    expect_problem(&f->srv, "POST", "/api/v1/fair/seeds", "{\"client\":\"x\"}", f->token, NULL,
                   400, "validation_failed", "client");
}

/* ---- other games through the same engine ---- */

/* Plays body on game and checks the money: the total stake went out, the payout came in. */
static json_t *play_game(const struct fixture *f, const char *game, const char *body)
{
    char path[128];
    snprintf(path, sizeof(path), "/api/v1/games/%s/play", game);
    int64_t before = cash(&f->srv, f->player);
    json_t *doc = call_json(&f->srv, "POST", path, body, f->token, next_key(), 201);
    json_t *round = json_object_get(doc, "round");
    assert_string_equal(str_at(round, "state"), "closed");
    assert_string_equal(str_at(round, "game_id"), game);
    assert_int_equal(cash(&f->srv, f->player),
                     before - int_at(round, "stake_minor") + int_at(round, "payout_minor"));
    return doc;
}

static void test_roulette_and_a_slot_play_through_the_engine(void **state)
{
    struct fixture *f = *state;
    json_t *doc = play_game(f, "roulette", "{\"currency\":\"EUR\",\"stake_minor\":10,\"bet\":"
                            "{\"bets\":[{\"kind\":\"red\",\"chips\":5},{\"kind\":\"straight\","
                            "\"numbers\":[17],\"chips\":1}]}}");
    json_t *round = json_object_get(doc, "round"), *detail = json_object_get(round, "detail");
    assert_int_equal(int_at(round, "stake_minor"), 60); /* 6 chips of 10 */
    assert_non_null(json_object_get(detail, "fair")); /* provably fair: its own nonce */
    json_decref(doc);
    doc = play_game(f, "lucky-sevens", "{\"currency\":\"EUR\",\"stake_minor\":2,\"bet\":{}}");
    round = json_object_get(doc, "round");
    detail = json_object_get(round, "detail");
    assert_null(json_object_get(detail, "fair")); /* drawn from the CSPRNG */
    assert_int_equal(int_at(round, "stake_minor"), int_at(detail, "total_stake_minor"));
    assert_true(int_at(round, "stake_minor") >= 2);
    json_decref(doc);
    expect_problem(&f->srv, "POST", "/api/v1/games/roulette/play",
                   "{\"currency\":\"EUR\",\"stake_minor\":10,\"bet\":{\"bets\":[{\"kind\":"
                   "\"split\",\"numbers\":[1,36],\"chips\":1}]}}", f->token, next_key(), 400,
                   "validation_failed", NULL);
}

/* ---- WebSocket ---- */

static void test_settled_round_is_pushed_on_the_player_topic(void **state)
{
    struct fixture *f = *state;
    char path[256], topic[64];
    snprintf(path, sizeof(path), "/api/v1/ws?access_token=%s", f->token);
    struct ws_client c;
    struct ws_client_options opt = {.path = path};
    if (ws_client_connect(&c, f->srv.port, &opt) != 0)
        fail_msg("handshake failed: %d", c.handshake_status);
    snprintf(topic, sizeof(topic), "player:%s", f->player);
    ws_client_subscribe(&c, topic, 5000);
    json_t *doc = play(f, "{\"currency\":\"EUR\",\"stake_minor\":10,\"bet\":" DICE_BET "}",
                       next_key(), 201);
    int64_t id = int_at(json_object_get(doc, "round"), "round_id");
    json_decref(doc);
    /* earlier plays' events may still be on their way: wait for this round's */
    char needle[64];
    snprintf(needle, sizeof(needle), "\"round_id\":%lld,", (long long)id);
    char *msg = ws_client_read_until(&c, needle, 5000);
    if (!msg)
        fail_msg("no round message on %s", topic);
    json_t *m = json_loads(msg, 0, NULL);
    json_t *data = json_object_get(m, "data");
    assert_string_equal(str_at(data, "kind"), "round");
    assert_string_equal(str_at(data, "player_id"), f->player);
    assert_int_equal(int_at(json_object_get(data, "round"), "round_id"), id);
    assert_string_equal(str_at(json_object_get(data, "round"), "state"), "closed");
    json_decref(m);
    free(msg);
    ws_client_close(&c);
}

/* ---- staff configuration ---- */

static void test_staff_configuration_limits_and_disables(void **state)
{
    struct fixture *f = *state;
    const char *path = "/api/v1/admin/games/dice/config";
    json_t *cfg = call_json(&f->srv, "GET", path, NULL, STAFF, NULL, 200);
    assert_true(json_is_true(json_object_get(cfg, "enabled")));
    int64_t rtp = int_at(cfg, "rtp_ppm");
    assert_true(json_is_null(json_object_get(cfg, "updated_at")));
    json_decref(cfg);
    expect_problem(&f->srv, "GET", path, NULL, f->token, NULL, 401, "unauthorized", NULL);
    expect_problem(&f->srv, "GET", "/api/v1/admin/games/nope/config", NULL, STAFF, NULL, 404,
                   "not_found", "game_id");
    char body[512];
    snprintf(body, sizeof(body), "{\"enabled\":true,\"rtp_ppm\":%lld,\"limits\":[],\"reason\":"
             "\"test\"}", (long long)rtp + 1);
    expect_problem(&f->srv, "PUT", path, body, STAFF, NULL, 400, "validation_failed", "rtp_ppm");
    snprintf(body, sizeof(body), "{\"enabled\":true,\"rtp_ppm\":%lld,\"limits\":[{\"currency\":"
             "\"XXX\",\"min_stake_minor\":1,\"max_stake_minor\":2}],\"reason\":\"test\"}",
             (long long)rtp);
    expect_problem(&f->srv, "PUT", path, body, STAFF, NULL, 400, "validation_failed",
                   "limits[0].currency");
    snprintf(body, sizeof(body), "{\"enabled\":true,\"rtp_ppm\":%lld,\"limits\":[{\"currency\":"
             "\"EUR\",\"min_stake_minor\":9,\"max_stake_minor\":2}],\"reason\":\"test\"}",
             (long long)rtp);
    expect_problem(&f->srv, "PUT", path, body, STAFF, NULL, 400, "validation_failed",
                   "limits[0].min_stake_minor");
    snprintf(body, sizeof(body), "{\"enabled\":true,\"rtp_ppm\":%lld,\"limits\":[{\"currency\":"
             "\"EUR\",\"min_stake_minor\":50,\"max_stake_minor\":500}],\"reason\":\"table"
             " limits\"}", (long long)rtp);
    cfg = call_json(&f->srv, "PUT", path, body, STAFF, NULL, 200);
    assert_string_equal(str_at(cfg, "updated_by"), "staff");
    assert_int_equal(int_at(json_array_get(json_object_get(cfg, "limits"), 0), "max_stake_minor"),
                     500);
    json_decref(cfg);
    int64_t funds = cash(&f->srv, f->player);
    expect_problem(&f->srv, "POST", "/api/v1/games/dice/play",
                   "{\"currency\":\"EUR\",\"stake_minor\":10,\"bet\":" DICE_BET "}", f->token,
                   next_key(), 422, "stake_out_of_range", "stake_minor");
    snprintf(body, sizeof(body), "{\"enabled\":false,\"rtp_ppm\":%lld,\"limits\":[],\"reason\":"
             "\"maintenance\"}", (long long)rtp);
    json_decref(call_json(&f->srv, "PUT", path, body, STAFF, NULL, 200));
    expect_problem(&f->srv, "POST", "/api/v1/games/dice/play",
                   "{\"currency\":\"EUR\",\"stake_minor\":100,\"bet\":" DICE_BET "}", f->token,
                   next_key(), 403, "game_disabled", "game_id");
    json_t *games = call_json(&f->srv, "GET", "/api/v1/games", NULL, NULL, NULL, 200);
    json_t *dice = json_array_get(json_object_get(games, "games"), 0);
    assert_string_equal(str_at(dice, "id"), "dice");
    assert_true(json_is_false(json_object_get(dice, "enabled")));
    json_decref(games);
    assert_int_equal(cash(&f->srv, f->player), funds);
    /* the audit trail has both changes */
    json_t *audit = call_json(&f->srv, "GET", "/api/v1/admin/audit", NULL, STAFF, NULL, 200);
    json_t *entry = json_array_get(json_object_get(audit, "entries"), 0);
    assert_string_equal(str_at(entry, "action"), "games.config");
    assert_string_equal(str_at(entry, "reason"), "maintenance");
    json_decref(audit);
    snprintf(body, sizeof(body), "{\"enabled\":true,\"rtp_ppm\":%lld,\"limits\":[],\"reason\":"
             "\"open again\"}", (long long)rtp);
    json_decref(call_json(&f->srv, "PUT", path, body, STAFF, NULL, 200));
}

/* The id of the variant of a configuration document whose RTP is rtp. */
static const char *variant_with_rtp(json_t *cfg, int64_t rtp)
{
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(cfg, "variants"), i, v)
        if (int_at(v, "rtp_ppm") == rtp)
            return str_at(v, "id");
    fail_msg("no variant with rtp_ppm %lld", (long long)rtp);
    return NULL;
}

static void test_staff_switches_a_slot_variant_and_the_next_round_records_it(void **state)
{
    struct fixture *f = *state;
    const char *path = "/api/v1/admin/games/lucky-sevens/config";
    json_t *cfg = call_json(&f->srv, "GET", path, NULL, STAFF, NULL, 200);
    json_t *variants = json_object_get(cfg, "variants");
    assert_true(json_array_size(variants) >= 2);
    assert_int_equal(json_array_size(json_object_get(cfg, "rtp_ppm_offered")),
                     json_array_size(variants));
    json_t *first = json_array_get(variants, 0), *other = json_array_get(variants, 1);
    assert_true(json_is_true(json_object_get(first, "default")));
    assert_string_equal(str_at(cfg, "variant"), str_at(first, "id"));
    assert_int_equal(int_at(cfg, "rtp_ppm"), int_at(first, "rtp_ppm"));
    char other_id[32], body[512];
    snprintf(other_id, sizeof(other_id), "%s", str_at(other, "id"));
    int64_t other_rtp = int_at(other, "rtp_ppm"), first_rtp = int_at(first, "rtp_ppm");
    /* refusals name the field and change nothing */
    expect_problem(&f->srv, "PUT", path, "{\"enabled\":true,\"variant\":\"nope\",\"limits\":[],"
                   "\"reason\":\"test\"}", STAFF, NULL, 400, "validation_failed", "variant");
    expect_problem(&f->srv, "PUT", path, "{\"enabled\":true,\"limits\":[],\"reason\":\"test\"}",
                   STAFF, NULL, 400, "validation_failed", "variant");
    snprintf(body, sizeof(body), "{\"enabled\":true,\"variant\":\"%s\",\"rtp_ppm\":%lld,"
             "\"limits\":[],\"reason\":\"test\"}", other_id, (long long)first_rtp);
    expect_problem(&f->srv, "PUT", path, body, STAFF, NULL, 400, "validation_failed", "rtp_ppm");
    json_t *again = call_json(&f->srv, "GET", path, NULL, STAFF, NULL, 200);
    assert_int_equal(int_at(again, "rtp_ppm"), first_rtp);
    json_decref(again);
    /* switch by id: the next round plays and records it, the catalogue shows it */
    snprintf(body, sizeof(body), "{\"enabled\":true,\"variant\":\"%s\",\"limits\":[],"
             "\"reason\":\"lower return\"}", other_id);
    json_t *put = call_json(&f->srv, "PUT", path, body, STAFF, NULL, 200);
    assert_string_equal(str_at(put, "variant"), other_id);
    assert_int_equal(int_at(put, "rtp_ppm"), other_rtp);
    json_decref(put);
    json_t *doc = play_game(f, "lucky-sevens", "{\"currency\":\"EUR\",\"stake_minor\":2}");
    json_t *detail = json_object_get(json_object_get(doc, "round"), "detail");
    assert_string_equal(str_at(detail, "variant"), other_id);
    assert_int_equal(int_at(detail, "rtp_ppm"), other_rtp);
    json_decref(doc);
    json_t *games = call_json(&f->srv, "GET", "/api/v1/games", NULL, NULL, NULL, 200);
    size_t i;
    json_t *g;
    bool seen = false;
    json_array_foreach(json_object_get(games, "games"), i, g) {
        if (strcmp(str_at(g, "id"), "lucky-sevens") != 0)
            continue;
        seen = true;
        assert_int_equal(int_at(g, "rtp_ppm"), other_rtp);
        assert_string_equal(str_at(g, "variant"), other_id);
    }
    assert_true(seen);
    json_decref(games);
    /* back by RTP alone, as before variants had ids */
    snprintf(body, sizeof(body), "{\"enabled\":true,\"rtp_ppm\":%lld,\"limits\":[],\"reason\":"
             "\"standard return\"}", (long long)first_rtp);
    put = call_json(&f->srv, "PUT", path, body, STAFF, NULL, 200);
    assert_string_equal(str_at(put, "variant"), variant_with_rtp(cfg, first_rtp));
    json_decref(put);
    doc = play_game(f, "lucky-sevens", "{\"currency\":\"EUR\",\"stake_minor\":2}");
    detail = json_object_get(json_object_get(doc, "round"), "detail");
    assert_int_equal(int_at(detail, "rtp_ppm"), first_rtp);
    json_decref(doc);
    json_decref(cfg);
}

/* The server was started with PITBOSS_ROULETTE_LIMITS (straight up to 50): in force, and
 * shown in the staff view. */
static void test_roulette_table_limits_come_from_the_configuration(void **state)
{
    struct fixture *f = *state;
    json_t *cfg = call_json(&f->srv, "GET", "/api/v1/admin/games/roulette/config", NULL, STAFF,
                            NULL, 200);
    json_t *straight = json_object_get(json_object_get(json_object_get(cfg, "table_limits"),
                                                       "bets"), "straight");
    assert_int_equal(int_at(straight, "max_minor"), 50);
    assert_int_equal(int_at(straight, "min_minor"), 10); /* the default stays */
    json_decref(cfg);
    int64_t funds = cash(&f->srv, f->player);
    expect_problem(&f->srv, "POST", "/api/v1/games/roulette/play",
                   "{\"currency\":\"EUR\",\"stake_minor\":10,\"bet\":{\"bets\":[{\"kind\":"
                   "\"straight\",\"numbers\":[17],\"chips\":6}]}}", f->token, next_key(), 400,
                   "validation_failed", "bet.bets[0].chips");
    assert_int_equal(cash(&f->srv, f->player), funds);
    json_decref(play_game(f, "roulette", "{\"currency\":\"EUR\",\"stake_minor\":10,\"bet\":"
                          "{\"bets\":[{\"kind\":\"straight\",\"numbers\":[17],\"chips\":5}]}}"));
}

/* ---- the invariants after everything above ---- */

static void test_ledger_verify_holds_after_the_casino_workload(void **state)
{
    struct fixture *f = *state;
    pb_ledger_verify_ok(&f->srv);
}

static int setup(void **state)
{
    static struct fixture f;
    curl_global_init(CURL_GLOBAL_ALL);
    if (sodium_init() < 0)
        return -1;
    pb_server_start(&f.srv, env);
    register_and_login(&f.srv, "player@example.com", f.player, f.token);
    register_and_login(&f.srv, "other@example.com", f.other, f.other_token);
    open_and_fund(&f.srv, f.player, FUNDS);
    open_and_fund(&f.srv, f.other, 0);
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    if (f)
        pb_server_stop(&f->srv);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_catalogue_lists_dice_with_its_figures),
        cmocka_unit_test(test_play_moves_money_by_the_dice_rule_and_replays),
        cmocka_unit_test(test_refusals_and_invalid_bets_change_nothing),
        cmocka_unit_test(test_bet_block_and_kyc_gate_refuse_play),
        cmocka_unit_test(test_recall_views_rotation_and_fair_verify),
        cmocka_unit_test(test_roulette_and_a_slot_play_through_the_engine),
        cmocka_unit_test(test_settled_round_is_pushed_on_the_player_topic),
        cmocka_unit_test(test_staff_configuration_limits_and_disables),
        cmocka_unit_test(test_staff_switches_a_slot_variant_and_the_next_round_records_it),
        cmocka_unit_test(test_roulette_table_limits_come_from_the_configuration),
        cmocka_unit_test(test_ledger_verify_holds_after_the_casino_workload),
    };
    return cmocka_run_group_tests_name("integration.casino_api", tests, setup, teardown);
}
