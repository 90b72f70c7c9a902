/* 56_blackjack_api.c: blackjack rounds against the real binary (docs/table-games.md): a funded
 * player deals rounds and plays them to the end through the actions route, taking only the
 * actions the view lists, with seq in turn; the money moved equals every round's stake and
 * payout; the view never shows the shoe and hides the hole card while the round is open; a
 * replayed deal gives the same answer and no second debit, another body under its key is 409;
 * bad bodies are 400 naming the field; an action out of turn, an illegal action and another
 * player's round change nothing; and `pitboss ledger verify` holds at the end. */
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

#define STAFF "staff-token-for-tests-0123456789"
#define PASSWORD "correct horse battery"
#define FUNDS 100000

static const char *const env[] = {"PITBOSS_STAFF_TOKEN=" STAFF, NULL};

struct fixture {
    struct pb_server srv;
    char player[32], token[128];
    char other[32], other_token[128];
    int64_t moved; /* the player's net result over every round so far */
};

static void call_key(const struct pb_server *srv, const char *method, const char *path,
                     const char *body, const char *token, const char *key, struct pb_response *r)
{
    char auth[192], idem[192];
    const char *headers[3] = {NULL, NULL, NULL};
    int n = 0;
    if (token) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
        headers[n++] = auth;
    }
    if (key) {
        snprintf(idem, sizeof(idem), "Idempotency-Key: %s", key);
        headers[n++] = idem;
    }
    pb_request(srv, method, path, body ? "application/json" : NULL, body,
               body ? strlen(body) : 0, headers, r);
}

static json_t *call_json(const struct pb_server *srv, const char *method, const char *path,
                         const char *body, const char *token, const char *key, long status)
{
    struct pb_response r;
    call_key(srv, method, path, body, token, key, &r);
    if (r.status != status)
        fail_msg("%s %s answered %ld, expected %ld: %s", method, path, r.status, status, r.body);
    json_t *doc = r.body_len ? json_loads(r.body, 0, NULL) : NULL;
    if (r.body_len && !doc)
        fail_msg("not JSON: %s", r.body);
    pb_response_release(&r);
    return doc;
}

static void expect_problem(const struct pb_server *srv, const char *method, const char *path,
                           const char *body, const char *token, const char *key, long status,
                           const char *code, const char *field)
{
    struct pb_response r;
    call_key(srv, method, path, body, token, key, &r);
    if (r.status != status)
        fail_msg("%s %s answered %ld, expected %ld: %s", method, path, r.status, status, r.body);
    pb_assert_problem(&r, status, code);
    json_t *doc = json_loads(r.body, 0, NULL);
    const char *f = json_string_value(json_object_get(doc, "field"));
    if (field && (!f || strcmp(f, field) != 0))
        fail_msg("expected field %s in %s", field, r.body);
    json_decref(doc);
    pb_response_release(&r);
}

static const char *str_at(json_t *obj, const char *name)
{
    const char *v = json_string_value(json_object_get(obj, name));
    if (!v)
        fail_msg("%s is not a string", name);
    return v;
}

static int64_t int_at(json_t *obj, const char *name)
{
    json_t *v = json_object_get(obj, name);
    if (!json_is_integer(v))
        fail_msg("%s is not an integer", name);
    return json_integer_value(v);
}

static const char *next_key(void)
{
    static char key[64];
    static int counter;
    snprintf(key, sizeof(key), "bj-test-%d", ++counter);
    return key;
}

static void register_and_login(const struct pb_server *srv, const char *email, char *id,
                               char *token)
{
    char body[512];
    snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"" PASSWORD "\","
             "\"date_of_birth\":\"1990-05-17\",\"country\":\"DE\",\"currency\":\"EUR\","
             "\"brand\":\"demo\"}", email);
    json_t *doc = call_json(srv, "POST", "/api/v1/players", body, NULL, NULL, 201);
    snprintf(id, 32, "%s", str_at(doc, "player_id"));
    json_decref(doc);
    snprintf(body, sizeof(body), "{\"brand\":\"demo\",\"email\":\"%s\",\"password\":\""
             PASSWORD "\"}", email);
    doc = call_json(srv, "POST", "/api/v1/sessions", body, NULL, NULL, 201);
    snprintf(token, 128, "%s", str_at(doc, "token"));
    json_decref(doc);
}

static void open_and_fund(const struct pb_server *srv, const char *player, int64_t amount)
{
    char path[128], body[256];
    snprintf(path, sizeof(path), "/api/v1/players/%s/wallets", player);
    json_decref(call_json(srv, "POST", path, "{\"currency\":\"EUR\"}", STAFF, NULL, 200));
    if (amount == 0)
        return;
    snprintf(body, sizeof(body), "{\"player_id\":\"%s\",\"currency\":\"EUR\",\"account\":"
             "\"cash\",\"amount_minor\":%lld,\"reason\":\"test funding\"}", player,
             (long long)amount);
    json_decref(call_json(srv, "POST", "/api/v1/admin/adjustments", body, STAFF, next_key(),
                          201));
}

static int64_t cash(const struct pb_server *srv, const char *player)
{
    char path[128];
    snprintf(path, sizeof(path), "/api/v1/players/%s/balances", player);
    json_t *doc = call_json(srv, "GET", path, NULL, STAFF, NULL, 200);
    json_t *list = json_object_get(doc, "balances");
    int64_t v = INT64_MIN;
    for (size_t i = 0; i < json_array_size(list); i++) {
        json_t *b = json_array_get(list, i);
        if (strcmp(str_at(b, "type"), "cash") == 0 && strcmp(str_at(b, "currency"), "EUR") == 0)
            v = int_at(b, "posted_minor");
    }
    json_decref(doc);
    if (v == INT64_MIN)
        fail_msg("no EUR cash account for %s", player);
    return v;
}

static bool legal(json_t *detail, const char *action)
{
    json_t *list = json_object_get(detail, "actions");
    for (size_t i = 0; i < json_array_size(list); i++)
        if (strcmp(json_string_value(json_array_get(list, i)), action) == 0)
            return true;
    return false;
}

/* A simple player: decline insurance, double on 10-11, hit below 17, stand. */
static const char *choose(json_t *detail)
{
    if (legal(detail, "no_insurance"))
        return "no_insurance";
    json_t *hands = json_object_get(detail, "hands");
    json_t *h = json_array_get(hands, (size_t)int_at(detail, "active_hand"));
    int64_t total = int_at(h, "total");
    if ((total == 10 || total == 11) && legal(detail, "double"))
        return "double";
    return total < 17 ? "hit" : "stand";
}

/* Plays round (its first answer doc) to the end; returns the closed round. */
static json_t *play_out(struct fixture *f, json_t *doc)
{
    json_t *round = json_object_get(doc, "round");
    int64_t id = int_at(round, "round_id");
    char path[96];
    snprintf(path, sizeof(path), "/api/v1/blackjack/rounds/%lld/actions", (long long)id);
    for (int guard = 0; strcmp(str_at(round, "state"), "closed") != 0; guard++) {
        assert_true(guard < 40);
        json_t *detail = json_object_get(round, "detail");
        assert_string_equal(str_at(round, "state"), "outcome");
        assert_int_equal(json_array_size(json_object_get(json_object_get(detail, "dealer"),
                                                         "cards")), 1);
        char body[96];
        snprintf(body, sizeof(body), "{\"action\":\"%s\",\"seq\":%lld}", choose(detail),
                 (long long)int_at(detail, "seq"));
        json_t *next = call_json(&f->srv, "POST", path, body, f->token, NULL, 200);
        json_decref(doc);
        doc = next;
        round = json_object_get(doc, "round");
    }
    json_t *detail = json_object_get(round, "detail");
    assert_string_equal(str_at(detail, "phase"), "settled");
    assert_int_equal(int_at(detail, "payout_minor"), int_at(round, "payout_minor"));
    assert_int_equal(int_at(detail, "staked_minor"), int_at(round, "stake_minor"));
    assert_true(json_array_size(json_object_get(json_object_get(detail, "dealer"), "cards")) >= 2);
    f->moved += int_at(round, "payout_minor") - int_at(round, "stake_minor");
    return doc;
}

static void test_rounds_play_to_the_end_and_move_exact_money(void **state)
{
    struct fixture *f = *state;
    for (int i = 0; i < 25; i++) {
        json_t *doc = call_json(&f->srv, "POST", "/api/v1/blackjack/rounds",
                                "{\"currency\":\"EUR\",\"stake_minor\":200}", f->token,
                                next_key(), 201);
        json_t *round = json_object_get(doc, "round");
        assert_string_equal(str_at(round, "game_id"), "blackjack");
        char *text = json_dumps(doc, 0);
        assert_null(strstr(text, "shoe"));
        free(text);
        doc = play_out(f, doc);
        char path[64];
        snprintf(path, sizeof(path), "/api/v1/rounds/%lld",
                 (long long)int_at(json_object_get(doc, "round"), "round_id"));
        json_t *again = call_json(&f->srv, "GET", path, NULL, f->token, NULL, 200);
        assert_string_equal(str_at(again, "state"), "closed");
        json_decref(again);
        json_decref(doc);
    }
    assert_int_equal(cash(&f->srv, f->player), FUNDS + f->moved);
}

static void test_deal_replays_and_conflicts(void **state)
{
    struct fixture *f = *state;
    int64_t before = cash(&f->srv, f->player);
    const char *key = "bj-replay-1";
    json_t *a = call_json(&f->srv, "POST", "/api/v1/blackjack/rounds",
                          "{\"currency\":\"EUR\",\"stake_minor\":300}", f->token, key, 201);
    json_t *b = call_json(&f->srv, "POST", "/api/v1/blackjack/rounds",
                          "{\"currency\":\"EUR\",\"stake_minor\":300}", f->token, key, 201);
    assert_int_equal(int_at(json_object_get(a, "round"), "round_id"),
                     int_at(json_object_get(b, "round"), "round_id"));
    bool closed = strcmp(str_at(json_object_get(a, "round"), "state"), "closed") == 0;
    int64_t payout = int_at(json_object_get(a, "round"), "payout_minor");
    assert_int_equal(cash(&f->srv, f->player), before - 300 + (closed ? payout : 0));
    expect_problem(&f->srv, "POST", "/api/v1/blackjack/rounds",
                   "{\"currency\":\"EUR\",\"stake_minor\":301}", f->token, key, 409,
                   "idempotency_conflict", NULL);
    json_decref(b);
    if (closed)
        f->moved += payout - 300;
    else
        json_decref(play_out(f, json_incref(a)));
    json_decref(a);
    assert_int_equal(cash(&f->srv, f->player), FUNDS + f->moved);
}

static void test_bad_requests_change_nothing(void **state)
{
    struct fixture *f = *state;
    const char *path = "/api/v1/blackjack/rounds";
    expect_problem(&f->srv, "POST", path, "{\"currency\":\"EUR\",\"stake_minor\":100}", f->token,
                   NULL, 400, "validation_failed", "Idempotency-Key");
    expect_problem(&f->srv, "POST", path, "{\"currency\":\"EUR\",\"stake_minor\":0}", f->token,
                   next_key(), 400, "validation_failed", "stake_minor");
    expect_problem(&f->srv, "POST", path, "{\"currency\":\"EUR\",\"stake_minor\":100,\"x\":1}",
                   f->token, next_key(), 400, "validation_failed", "x");
    expect_problem(&f->srv, "POST", path, "{\"currency\":\"XXX\",\"stake_minor\":100}", f->token,
                   next_key(), 400, "validation_failed", "currency");
    expect_problem(&f->srv, "POST", path, "{\"currency\":\"EUR\",\"stake_minor\":100}", NULL,
                   next_key(), 401, "unauthorized", NULL);
    expect_problem(&f->srv, "POST", path, "{\"currency\":\"EUR\",\"stake_minor\":100000000}",
                   f->token, next_key(), 422, "stake_out_of_range", "stake_minor");
    assert_int_equal(cash(&f->srv, f->player), FUNDS + f->moved);
    /* Deal until a round stays open, then refuse actions around it. */
    json_t *doc = NULL;
    for (int i = 0; i < 20; i++) {
        doc = call_json(&f->srv, "POST", path, "{\"currency\":\"EUR\",\"stake_minor\":100}",
                        f->token, next_key(), 201);
        if (strcmp(str_at(json_object_get(doc, "round"), "state"), "outcome") == 0)
            break;
        f->moved += int_at(json_object_get(doc, "round"), "payout_minor") - 100;
        json_decref(doc);
        doc = NULL;
    }
    assert_non_null(doc);
    json_t *round = json_object_get(doc, "round");
    json_t *detail = json_object_get(round, "detail");
    char apath[96], body[96];
    snprintf(apath, sizeof(apath), "/api/v1/blackjack/rounds/%lld/actions",
             (long long)int_at(round, "round_id"));
    bool insurance = strcmp(str_at(detail, "phase"), "insurance") == 0;
    expect_problem(&f->srv, "POST", apath, "{\"action\":\"stand\",\"seq\":5}", f->token, NULL,
                   409, "action_out_of_turn", "seq");
    snprintf(body, sizeof(body), "{\"action\":\"%s\",\"seq\":0}",
             insurance ? "hit" : "insurance");
    expect_problem(&f->srv, "POST", apath, body, f->token, NULL, 409,
                   insurance ? "insurance_pending" : "insurance_not_offered", "action");
    expect_problem(&f->srv, "POST", apath, "{\"action\":\"fold\",\"seq\":0}", f->token, NULL,
                   400, "validation_failed", "action");
    expect_problem(&f->srv, "POST", apath, "{\"action\":\"stand\"}", f->token, NULL, 400,
                   "validation_failed", "seq");
    expect_problem(&f->srv, "POST", apath, "{\"action\":\"stand\",\"seq\":0}", f->other_token,
                   NULL, 404, "not_found", "round_id");
    expect_problem(&f->srv, "POST", "/api/v1/blackjack/rounds/abc/actions",
                   "{\"action\":\"stand\",\"seq\":0}", f->token, NULL, 400, "validation_failed",
                   "round_id");
    assert_int_equal(cash(&f->srv, f->player), FUNDS + f->moved - 100);
    doc = play_out(f, doc);
    json_decref(doc);
    assert_int_equal(cash(&f->srv, f->player), FUNDS + f->moved);
}

static void test_ledger_verify_holds(void **state)
{
    struct fixture *f = *state;
    char cmd[1600], line[512], last[512] = "";
    snprintf(cmd, sizeof(cmd), "PITBOSS_DB='%s' '%s' ledger verify 2>&1", f->srv.db_url,
             getenv("PITBOSS_BIN"));
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    while (fgets(line, sizeof(line), p)) {
        if (!strstr(line, "ledger verify: OK"))
            fputs(line, stderr);
        snprintf(last, sizeof(last), "%s", line);
    }
    int status = pclose(p);
    if (status != 0 || !strstr(last, "ledger verify: OK"))
        fail_msg("ledger verify exited with %d: %s", status, last);
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
        cmocka_unit_test(test_rounds_play_to_the_end_and_move_exact_money),
        cmocka_unit_test(test_deal_replays_and_conflicts),
        cmocka_unit_test(test_bad_requests_change_nothing),
        cmocka_unit_test(test_ledger_verify_holds),
    };
    return cmocka_run_group_tests_name("integration.blackjack_api", tests, setup, teardown);
}
