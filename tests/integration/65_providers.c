/* 65_providers.c: game aggregation against the real binary (docs/providers.md): the provider
 * registry and catalog (staff, audited, filtered by brand and jurisdiction, in-house games
 * included), launch tokens (once, demo without one), and each rule of the wallet API:
 * signature, replay window, source ranges, idempotent replays and conflicts, tombstones, win
 * after rollback, unknown-round wins on and off, session expiry, blocked players, the alt
 * adapter; then the studio simulator with many concurrent players, and `pitboss ledger
 * verify` on what it left. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <sodium.h>

#include "client.h"
#include "fixtures.h"
#include "provider_sim.h"

static const char *const env[] = {"PITBOSS_STAFF_TOKEN=" PSIM_STAFF,
                                  "PITBOSS_PROVIDER_SEAL_KEY=" PSIM_SEAL_KEY, NULL};
#define PROVIDERS_WINDOW_TEST_S 300 /* docs/providers.md: the replay window */
#define LOCAL_RANGES "[\"127.0.0.0/8\",\"::1/128\"]"

static json_t *parse(const struct pb_response *r)
{
    json_t *doc = json_loads(r->body, 0, NULL);
    if (!doc)
        fail_msg("not JSON: %s", r->body);
    return doc;
}

static void expect_status(const struct pb_response *r, long status)
{
    if (r->status != status)
        fail_msg("answered %ld, expected %ld: %s", r->status, status, r->body);
}

/* A wallet call answering status (and code) with balance (unless -1); returns the doc. */
static json_t *wallet(const struct pb_server *srv, const struct psim_provider *p,
                      const char *op, const char *body, long status, const char *code,
                      long long balance)
{
    struct pb_response r;
    psim_call(srv, p, op, body, 0, &r);
    if (r.status != status)
        fail_msg("%s answered %ld, expected %ld: %s", op, r.status, status, r.body);
    json_t *doc = parse(&r);
    if (code) {
        const char *c = json_string_value(json_object_get(doc, "code"));
        if (!c || strcmp(c, code) != 0)
            fail_msg("%s: expected code %s: %s", op, code, r.body);
    }
    if (balance >= 0 && pb_int_at(doc, "balance_minor") != balance)
        fail_msg("%s: expected balance %lld: %s", op, balance, r.body);
    pb_response_release(&r);
    return doc;
}

static void wallet_ok(const struct pb_server *srv, const struct psim_provider *p,
                      const char *op, const char *body, long status, const char *code,
                      long long balance)
{
    json_decref(wallet(srv, p, op, body, status, code, balance));
}

/* A provider "name" with a game "g1", a funded player with a provider session. */
struct fixture {
    struct pb_server srv;
    struct psim_provider p;
    char player[25], token[44], session[64], game_id[64];
};

static void fixture_start(struct fixture *f, const char *name, bool accept_unknown, int ttl_s,
                          int64_t funds)
{
    pb_server_start(&f->srv, env);
    psim_provider_create(&f->srv, name, "generic", LOCAL_RANGES, accept_unknown, ttl_s, &f->p);
    psim_game_create(&f->srv, name, "g1");
    snprintf(f->game_id, sizeof(f->game_id), "%s:g1", name);
    char email[64], launch[64];
    snprintf(email, sizeof(email), "%s@example.com", name);
    pb_player_new(&f->srv, "demo", email, "EUR", f->player, sizeof(f->player), f->token,
                  sizeof(f->token));
    if (funds > 0)
        pb_adjust(&f->srv, PSIM_STAFF, f->player, "EUR", funds);
    psim_launch(&f->srv, f->token, f->game_id, launch, sizeof(launch));
    psim_authenticate(&f->srv, &f->p, launch, f->session, sizeof(f->session));
}

static char *body_money(const struct fixture *f, const char *tx, const char *round,
                        long long amount)
{
    static char body[512];
    snprintf(body, sizeof(body), "{\"session_token\":\"%s\",\"transaction_id\":\"%s\","
             "\"round_id\":\"%s\",\"amount_minor\":%lld}", f->session, tx, round, amount);
    return body;
}

static char *body_rollback(const struct fixture *f, const char *tx, const char *ref)
{
    static char body[512];
    snprintf(body, sizeof(body), "{\"session_token\":\"%s\",\"transaction_id\":\"%s\","
             "\"reference_transaction_id\":\"%s\"}", f->session, tx, ref);
    return body;
}

/* ---- registry and catalog ---- */

static bool catalog_has(const json_t *doc, const char *game_id)
{
    size_t i;
    json_t *g;
    json_array_foreach(json_object_get(doc, "games"), i, g)
        if (strcmp(json_string_value(json_object_get(g, "game_id")), game_id) == 0)
            return true;
    return false;
}

static void test_registry_catalog_and_launch(void **state)
{
    (void)state;
    struct fixture f;
    struct pb_response r;
    fixture_start(&f, "studio", false, 3600, 1000);
    /* bad input names the field and changes nothing */
    pb_call(&f.srv, "POST", "/api/v1/admin/providers",
            "{\"name\":\"bad\",\"base_url\":\"https://x.example\",\"ip_ranges\":[\"10.0.0.0/33\"],"
            "\"currencies\":[\"EUR\"],\"reason\":\"r\"}",
            PSIM_STAFF, NULL, &r);
    pb_assert_problem(&r, 400, "validation_failed");
    assert_non_null(strstr(r.body, "\"field\":\"ip_ranges\""));
    pb_response_release(&r);
    pb_call(&f.srv, "POST", "/api/v1/admin/providers",
            "{\"name\":\"Bad Name\",\"base_url\":\"https://x.example\",\"ip_ranges\":[],"
            "\"currencies\":[\"EUR\"],\"reason\":\"r\"}",
            PSIM_STAFF, NULL, &r);
    pb_assert_problem(&r, 400, "validation_failed");
    pb_response_release(&r);
    pb_call(&f.srv, "POST", "/api/v1/admin/providers",
            "{\"name\":\"studio\",\"base_url\":\"https://x.example\",\"ip_ranges\":[],"
            "\"currencies\":[\"EUR\"],\"reason\":\"r\"}",
            PSIM_STAFF, NULL, &r);
    pb_assert_problem(&r, 409, "provider_exists");
    pb_response_release(&r);
    pb_request(&f.srv, "GET", "/api/v1/admin/providers", NULL, NULL, 0, NULL, &r);
    pb_assert_problem(&r, 401, "unauthorized");
    pb_response_release(&r);
    pb_call(&f.srv, "GET", "/api/v1/admin/providers", NULL, PSIM_STAFF, NULL, &r);
    expect_status(&r, 200);
    assert_null(strstr(r.body, "secret")); /* never shown again */
    assert_non_null(strstr(r.body, "\"::1/128\""));
    pb_response_release(&r);
    /* the registry change is audited */
    pb_call(&f.srv, "GET", "/api/v1/admin/audit?limit=20", NULL, PSIM_STAFF, NULL, &r);
    assert_non_null(strstr(r.body, "providers.create"));
    assert_non_null(strstr(r.body, "catalog.upsert"));
    pb_response_release(&r);
    /* a game for another jurisdiction and a disabled one */
    pb_call(&f.srv, "PUT", "/api/v1/admin/providers/studio/games/uk-only",
            "{\"name\":\"Crown Reels\",\"category\":\"slot\",\"rtp_bp\":9500,"
            "\"volatility\":\"high\",\"jurisdictions\":[\"uk-like\"],\"brands\":[\"*\"],"
            "\"enabled\":true,\"reason\":\"r\"}",
            PSIM_STAFF, NULL, &r);
    expect_status(&r, 201);
    pb_response_release(&r);
    pb_call(&f.srv, "PUT", "/api/v1/admin/providers/studio/games/off",
            "{\"name\":\"Dormant\",\"category\":\"table\",\"rtp_bp\":9700,"
            "\"volatility\":\"low\",\"jurisdictions\":[\"*\"],\"brands\":[\"*\"],"
            "\"enabled\":false,\"reason\":\"r\"}",
            PSIM_STAFF, NULL, &r);
    expect_status(&r, 201);
    pb_response_release(&r);
    pb_call(&f.srv, "PUT", "/api/v1/admin/providers/studio/games/x",
            "{\"name\":\"X\",\"category\":\"slot\",\"rtp_bp\":9700,\"volatility\":\"wild\","
            "\"jurisdictions\":[\"*\"],\"brands\":[\"*\"],\"enabled\":true,\"reason\":\"r\"}",
            PSIM_STAFF, NULL, &r);
    pb_assert_problem(&r, 400, "validation_failed");
    assert_non_null(strstr(r.body, "\"field\":\"volatility\""));
    pb_response_release(&r);
    json_t *doc =
        pb_call_json(&f.srv, "GET", "/api/v1/catalog", NULL, f.token, NULL, 200); /* brand demo */
    assert_true(catalog_has(doc, "studio:g1"));
    assert_false(catalog_has(doc, "studio:uk-only"));
    assert_false(catalog_has(doc, "studio:off"));
    assert_true(catalog_has(doc, "pitboss:dice")); /* in-house games in the same catalog */
    json_decref(doc);
    doc = pb_call_json(&f.srv, "GET", "/api/v1/catalog?jurisdiction=uk-like&q=crown", NULL, NULL,
                       NULL, 200);
    assert_true(catalog_has(doc, "studio:uk-only"));
    assert_int_equal(json_array_size(json_object_get(doc, "games")), 1);
    json_decref(doc);
    doc = pb_call_json(&f.srv, "GET", "/api/v1/admin/catalog?provider=studio", NULL, PSIM_STAFF,
                       NULL, 200);
    assert_true(catalog_has(doc, "studio:off"));
    json_decref(doc);
    /* launch: demo has no token; unknown games and in-house games are refused */
    const char *h[] = {NULL, NULL};
    char auth[96];
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", f.token);
    h[0] = auth;
    pb_request(&f.srv, "POST", "/api/v1/catalog/studio:g1/launch", "application/json",
               "{\"mode\":\"demo\"}", 15, h, &r);
    expect_status(&r, 200);
    assert_non_null(strstr(r.body, "https://games.example/studio?game=g1&mode=demo"));
    assert_null(strstr(r.body, "token="));
    pb_response_release(&r);
    pb_request(&f.srv, "POST", "/api/v1/catalog/studio:nope/launch", "application/json",
               "{\"mode\":\"real\"}", 15, h, &r);
    pb_assert_problem(&r, 404, "game_not_found");
    pb_response_release(&r);
    pb_request(&f.srv, "POST", "/api/v1/catalog/studio:off/launch", "application/json",
               "{\"mode\":\"real\"}", 15, h, &r);
    pb_assert_problem(&r, 404, "game_not_found");
    pb_response_release(&r);
    pb_request(&f.srv, "POST", "/api/v1/catalog/studio:g1/launch", "application/json",
               "{\"mode\":\"fun\"}", 14, h, &r);
    pb_assert_problem(&r, 400, "validation_failed");
    pb_response_release(&r);
    /* a launch token is exchanged once */
    char launch[64], session[64], body[128];
    psim_launch(&f.srv, f.token, f.game_id, launch, sizeof(launch));
    psim_authenticate(&f.srv, &f.p, launch, session, sizeof(session));
    snprintf(body, sizeof(body), "{\"token\":\"%s\"}", launch);
    wallet_ok(&f.srv, &f.p, "authenticate", body, 401, "invalid_token", -1);
    snprintf(body, sizeof(body), "{\"session_token\":\"%s\"}", session);
    wallet_ok(&f.srv, &f.p, "balance", body, 200, NULL, 1000);
    pb_server_stop(&f.srv);
}

/* ---- signature, replay window, source ranges ---- */

static void test_signature_window_and_ranges(void **state)
{
    (void)state;
    struct fixture f;
    struct pb_response r;
    char body[128];
    fixture_start(&f, "signed", false, 3600, 500);
    snprintf(body, sizeof(body), "{\"session_token\":\"%s\"}", f.session);
    psim_call(&f.srv, &f.p, "balance", body, -(PROVIDERS_WINDOW_TEST_S + 10), &r);
    pb_assert_problem(&r, 401, "invalid_signature");
    assert_non_null(strstr(r.body, "replay window"));
    pb_response_release(&r);
    psim_call(&f.srv, &f.p, "balance", body, PROVIDERS_WINDOW_TEST_S + 10, &r);
    pb_assert_problem(&r, 401, "invalid_signature");
    pb_response_release(&r);
    psim_call(&f.srv, &f.p, "balance", body, -60, &r); /* inside the window */
    expect_status(&r, 200);
    pb_response_release(&r);
    struct psim_provider wrong = f.p;
    wrong.secret[0] = wrong.secret[0] == 'a' ? 'b' : 'a';
    psim_call(&f.srv, &wrong, "balance", body, 0, &r);
    pb_assert_problem(&r, 401, "invalid_signature");
    pb_response_release(&r);
    /* a signature over another body */
    char ts_h[64], sig_h[128], sig[65];
    long long ts = (long long)time(NULL);
    psim_sign(f.p.secret, ts, "{}", sig);
    snprintf(ts_h, sizeof(ts_h), "X-Provider-Timestamp: %lld", ts);
    snprintf(sig_h, sizeof(sig_h), "X-Provider-Signature: %s", sig);
    const char *h[] = {ts_h, sig_h, NULL};
    pb_request(&f.srv, "POST", "/api/v1/providers/signed/wallet/balance", "application/json",
               body, strlen(body), h, &r);
    pb_assert_problem(&r, 401, "invalid_signature");
    pb_response_release(&r);
    pb_request(&f.srv, "POST", "/api/v1/providers/signed/wallet/balance", "application/json",
               body, strlen(body), NULL, &r);
    pb_assert_problem(&r, 401, "invalid_signature");
    pb_response_release(&r);
    /* outside the ranges: refused before the signature is even looked at */
    pb_call(&f.srv, "PATCH", "/api/v1/admin/providers/signed",
            "{\"ip_ranges\":[\"10.0.0.0/8\",\"2001:db8::/32\"],\"reason\":\"move\"}", PSIM_STAFF,
            NULL, &r);
    expect_status(&r, 200);
    pb_response_release(&r);
    psim_call(&f.srv, &f.p, "balance", body, 0, &r);
    pb_assert_problem(&r, 403, "ip_not_allowed");
    pb_response_release(&r);
    pb_call(&f.srv, "PATCH", "/api/v1/admin/providers/signed",
            "{\"ip_ranges\":[\"127.0.0.1\"],\"reason\":\"back\"}", PSIM_STAFF, NULL, &r);
    expect_status(&r, 200);
    pb_response_release(&r);
    psim_call(&f.srv, &f.p, "balance", body, 0, &r);
    expect_status(&r, 200);
    pb_response_release(&r);
    /* a rotated secret: the old one no longer signs */
    pb_call(&f.srv, "POST", "/api/v1/admin/providers/signed/secret", "{\"reason\":\"rotation\"}",
            PSIM_STAFF, NULL, &r);
    expect_status(&r, 200);
    json_t *doc = parse(&r);
    struct psim_provider rotated = f.p;
    snprintf(rotated.secret, sizeof(rotated.secret), "%s",
             json_string_value(json_object_get(doc, "secret")));
    json_decref(doc);
    pb_response_release(&r);
    psim_call(&f.srv, &f.p, "balance", body, 0, &r);
    pb_assert_problem(&r, 401, "invalid_signature");
    pb_response_release(&r);
    psim_call(&f.srv, &rotated, "balance", body, 0, &r);
    expect_status(&r, 200);
    pb_response_release(&r);
    /* a body that breaks the protocol names the field */
    psim_call(&f.srv, &rotated, "bet", "{\"session_token\":\"x\",\"transaction_id\":\"t\","
              "\"round_id\":\"r\",\"amount_minor\":0}", 0, &r);
    pb_assert_problem(&r, 400, "validation_failed");
    assert_non_null(strstr(r.body, "\"field\":\"amount_minor\""));
    pb_response_release(&r);
    pb_server_stop(&f.srv);
}

/* ---- money rules ---- */

static void test_idempotency_tombstones_and_rollbacks(void **state)
{
    (void)state;
    struct fixture f;
    struct pb_response r1, r2;
    fixture_start(&f, "money", false, 3600, 1000);
    wallet_ok(&f.srv, &f.p, "bet", body_money(&f, "b1", "r1", 300), 200, NULL, 700);
    /* the same request: the same answer, nothing applied twice */
    psim_call(&f.srv, &f.p, "bet", body_money(&f, "b1", "r1", 300), 0, &r1);
    psim_call(&f.srv, &f.p, "bet", body_money(&f, "b1", "r1", 300), 0, &r2);
    assert_string_equal(r1.body, r2.body);
    char replayed[16];
    assert_true(pb_response_header(&r2, "Idempotent-Replayed", replayed, sizeof(replayed)));
    pb_response_release(&r1);
    pb_response_release(&r2);
    /* the same id, another body */
    json_t *doc = wallet(&f.srv, &f.p, "bet", body_money(&f, "b1", "r1", 301), 409,
                         "duplicate_transaction", 700);
    assert_string_equal(json_string_value(json_object_get(doc, "field")), "amount_minor");
    json_decref(doc);
    wallet_ok(&f.srv, &f.p, "bet", body_money(&f, "b2", "r2", 5000), 422, "insufficient_funds",
              700);
    wallet_ok(&f.srv, &f.p, "win", body_money(&f, "w1", "r1", 450), 200, NULL, 1150);
    char end[256];
    snprintf(end, sizeof(end), "{\"session_token\":\"%s\",\"round_id\":\"r1\"}", f.session);
    wallet_ok(&f.srv, &f.p, "end-round", end, 200, NULL, 1150);
    wallet_ok(&f.srv, &f.p, "end-round", end, 200, NULL, 1150);
    wallet_ok(&f.srv, &f.p, "bet", body_money(&f, "b3", "r1", 10), 409, "round_closed", 1150);
    /* a rollback of a bet never seen succeeds, and the late bet is refused */
    doc = wallet(&f.srv, &f.p, "rollback", body_rollback(&f, "rb-ghost", "ghost"), 200, NULL,
                 1150);
    assert_true(json_is_true(json_object_get(doc, "tombstone")));
    json_decref(doc);
    wallet_ok(&f.srv, &f.p, "bet", body_money(&f, "ghost", "r9", 100), 409,
              "already_rolled_back", 1150);
    wallet_ok(&f.srv, &f.p, "rollback", body_rollback(&f, "rb-ghost2", "ghost"), 409,
              "already_rolled_back", 1150);
    /* a tombstone also stops a win that reuses the rolled-back id */
    wallet_ok(&f.srv, &f.p, "rollback", body_rollback(&f, "rb-ghost3", "ghost-w"), 200, NULL,
              1150);
    wallet_ok(&f.srv, &f.p, "win", body_money(&f, "ghost-w", "r1", 10), 409,
              "already_rolled_back", 1150);
    /* a rollback refunds; the round's win is then refused; a second rollback too */
    wallet_ok(&f.srv, &f.p, "bet", body_money(&f, "b4", "r4", 200), 200, NULL, 950);
    doc = wallet(&f.srv, &f.p, "rollback", body_rollback(&f, "rb4", "b4"), 200, NULL, 1150);
    assert_int_equal(pb_int_at(doc, "refunded_minor"), 200);
    json_decref(doc);
    wallet_ok(&f.srv, &f.p, "rollback", body_rollback(&f, "rb4", "b4"), 200, NULL, -1);
    wallet_ok(&f.srv, &f.p, "rollback", body_rollback(&f, "rb4b", "b4"), 409,
              "already_rolled_back", 1150);
    wallet_ok(&f.srv, &f.p, "win", body_money(&f, "w4", "r4", 900), 409, "already_rolled_back",
              1150);
    /* a win for a round never bet on: refused unless the provider accepts them */
    wallet_ok(&f.srv, &f.p, "win", body_money(&f, "w5", "r5", 100), 404, "bet_not_found", 1150);
    /* free-round (promotional) wins are paid by the house */
    char free_body[512];
    snprintf(free_body, sizeof(free_body), "{\"session_token\":\"%s\",\"transaction_id\":\"fr1\","
             "\"round_id\":\"fr-r1\",\"amount_minor\":75,\"campaign_id\":\"welcome\"}", f.session);
    wallet_ok(&f.srv, &f.p, "free-round-win", free_body, 200, NULL, 1225);
    wallet_ok(&f.srv, &f.p, "free-round-win", free_body, 200, NULL, -1);
    /* an unknown session token */
    wallet_ok(&f.srv, &f.p, "balance", "{\"session_token\":\"nope\"}", 401, "invalid_token", -1);
    pb_server_stop(&f.srv);
}

static void test_unknown_round_wins_when_configured(void **state)
{
    (void)state;
    struct fixture f;
    fixture_start(&f, "lenient", true, 3600, 0);
    wallet_ok(&f.srv, &f.p, "win", body_money(&f, "w1", "never-bet", 120), 200, NULL, 120);
    wallet_ok(&f.srv, &f.p, "win", body_money(&f, "w1", "never-bet", 120), 200, NULL, -1);
    struct pb_response r;
    pb_call(&f.srv, "PATCH", "/api/v1/admin/providers/lenient",
            "{\"accept_unknown_round_wins\":false,\"reason\":\"stricter\"}", PSIM_STAFF, NULL, &r);
    expect_status(&r, 200);
    pb_response_release(&r);
    wallet_ok(&f.srv, &f.p, "win", body_money(&f, "w2", "never-bet-2", 120), 404,
              "bet_not_found", 120);
    pb_server_stop(&f.srv);
}

static void test_session_expiry_and_blocked_player(void **state)
{
    (void)state;
    struct fixture f;
    struct pb_response r;
    fixture_start(&f, "short", false, 2, 1000);
    wallet_ok(&f.srv, &f.p, "bet", body_money(&f, "b1", "r1", 100), 200, NULL, 900);
    wallet_ok(&f.srv, &f.p, "bet", body_money(&f, "b2", "r2", 100), 200, NULL, 800);
    pb_sleep_ms(2600);
    wallet_ok(&f.srv, &f.p, "bet", body_money(&f, "b3", "r1", 100), 401, "session_expired", 800);
    wallet_ok(&f.srv, &f.p, "win", body_money(&f, "w1", "r1", 250), 200, NULL, 1050);
    wallet_ok(&f.srv, &f.p, "rollback", body_rollback(&f, "rb2", "b2"), 200, NULL, 1150);
    /* a new session; then the player is blocked from betting */
    char launch[64];
    psim_launch(&f.srv, f.token, f.game_id, launch, sizeof(launch));
    psim_authenticate(&f.srv, &f.p, launch, f.session, sizeof(f.session));
    char path[128];
    snprintf(path, sizeof(path), "/api/v1/admin/players/%s/blocks", f.player);
    pb_call(&f.srv, "POST", path, "{\"block\":\"bet\",\"reason\":\"risk review\"}", PSIM_STAFF,
            NULL, &r);
    expect_status(&r, 200);
    pb_response_release(&r);
    wallet_ok(&f.srv, &f.p, "bet", body_money(&f, "b4", "r4", 100), 403, "player_blocked", 1150);
    wallet_ok(&f.srv, &f.p, "win", body_money(&f, "w9", "r2", 10), 409, "already_rolled_back",
              1150);
    const char *h[] = {NULL, NULL};
    char auth[96];
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", f.token);
    h[0] = auth;
    pb_request(&f.srv, "POST", "/api/v1/catalog/short:g1/launch", "application/json",
               "{\"mode\":\"real\"}", 15, h, &r);
    pb_assert_problem(&r, 403, "player_blocked");
    pb_response_release(&r);
    pb_server_stop(&f.srv);
}

/* ---- the alt adapter ---- */

static json_t *alt_call(const struct pb_server *srv, const struct psim_provider *p,
                        const char *body, long long ts_offset, const char *secret)
{
    char path[512], sig[65];
    long long ts = (long long)time(NULL) + ts_offset;
    psim_sign(secret ? secret : p->secret, ts, body, sig);
    snprintf(path, sizeof(path), "/api/v1/providers/%s/alt?ts=%lld&sig=%s", p->name, ts, sig);
    struct pb_response r;
    pb_request(srv, "POST", path, "application/json", body, strlen(body), NULL, &r);
    expect_status(&r, 200);
    json_t *doc = parse(&r);
    pb_response_release(&r);
    return doc;
}

static void expect_alt(json_t *doc, int error, const char *balance)
{
    if (pb_int_at(doc, "error") != error)
        fail_msg("alt error %lld, expected %d", (long long)pb_int_at(doc, "error"), error);
    const char *b = json_string_value(json_object_get(doc, "balance"));
    if (balance && (!b || strcmp(b, balance) != 0))
        fail_msg("alt balance %s, expected %s", b ? b : "(none)", balance);
    json_decref(doc);
}

static void test_alt_adapter(void **state)
{
    (void)state;
    struct pb_server srv;
    struct psim_provider p;
    char player[25], token[44], launch[64], body[512];
    pb_server_start(&srv, env);
    psim_provider_create(&srv, "altstudio", "alt", LOCAL_RANGES, false, 3600, &p);
    psim_game_create(&srv, "altstudio", "fruit");
    pb_player_new(&srv, "demo", "alt@example.com", "EUR", player, sizeof(player), token,
                  sizeof(token));
    pb_adjust(&srv, PSIM_STAFF, player, "EUR", 1000);
    psim_launch(&srv, token, "altstudio:fruit", launch, sizeof(launch));
    snprintf(body, sizeof(body), "{\"action\":\"auth\",\"token\":\"%s\"}", launch);
    json_t *doc = alt_call(&srv, &p, body, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(doc, "status")), "OK");
    assert_string_equal(json_string_value(json_object_get(doc, "balance")), "10.00");
    assert_string_equal(json_string_value(json_object_get(doc, "game")), "fruit");
    char session[64];
    snprintf(session, sizeof(session), "%s", json_string_value(json_object_get(doc, "token")));
    json_decref(doc);
    expect_alt(alt_call(&srv, &p, body, 0, NULL), 3, NULL); /* launch token used */
#define ALT_MONEY(action, txn, amount)                                                     \
    (snprintf(body, sizeof(body), "{\"action\":\"" action "\",\"token\":\"%s\",\"txn\":\"%s\","\
              "\"round\":\"ar1\",\"amount\":\"%s\",\"currency\":\"EUR\"}", session, txn,    \
              amount), body)
    expect_alt(alt_call(&srv, &p, ALT_MONEY("debit", "t1", "1.50"), 0, NULL), 0, "8.50");
    expect_alt(alt_call(&srv, &p, ALT_MONEY("debit", "t1", "1.50"), 0, NULL), 0, "8.50");
    expect_alt(alt_call(&srv, &p, ALT_MONEY("debit", "t1", "1.60"), 0, NULL), 6, "8.50");
    expect_alt(alt_call(&srv, &p, ALT_MONEY("debit", "t2", "100.00"), 0, NULL), 1, "8.50");
    expect_alt(alt_call(&srv, &p, ALT_MONEY("debit", "t3", "0.005"), 0, NULL), 12, "8.50");
    expect_alt(alt_call(&srv, &p, ALT_MONEY("credit", "t4", "3"), 0, NULL), 0, "11.50");
    expect_alt(alt_call(&srv, &p, ALT_MONEY("debit", "t5", "1.00"), -1000, NULL), 10, NULL);
    expect_alt(alt_call(&srv, &p, ALT_MONEY("debit", "t5", "1.00"), 0, "0000"), 10, NULL);
    snprintf(body, sizeof(body), "{\"action\":\"rollback\",\"token\":\"%s\",\"txn\":\"t6\","
             "\"ref_txn\":\"t1\"}", session);
    expect_alt(alt_call(&srv, &p, body, 0, NULL), 0, "13.00");
    snprintf(body, sizeof(body), "{\"action\":\"rollback\",\"token\":\"%s\",\"txn\":\"t7\","
             "\"ref_txn\":\"t1\"}", session);
    expect_alt(alt_call(&srv, &p, body, 0, NULL), 8, "13.00");
    snprintf(body, sizeof(body), "{\"action\":\"spin\",\"token\":\"%s\"}", session);
    doc = alt_call(&srv, &p, body, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(doc, "field")), "action");
    expect_alt(doc, 12, NULL);
    snprintf(body, sizeof(body), "{\"action\":\"balance\",\"token\":\"%s\"}", session);
    expect_alt(alt_call(&srv, &p, body, 0, NULL), 0, "13.00");
    /* the generic routes do not serve an alt provider */
    struct pb_response r;
    psim_call(&srv, &p, "balance", "{\"session_token\":\"x\"}", 0, &r);
    pb_assert_problem(&r, 404, "provider_unknown");
    pb_response_release(&r);
    pb_server_stop(&srv);
}

static void test_simulated_studio(void **state)
{
    (void)state;
    struct pb_server srv;
    struct psim_provider p;
    struct psim_stats st;
    struct psim_config cfg = {.players = 12, .rounds = 40, .start_minor = 5000,
                              .seed = (unsigned)time(NULL)};
    pb_server_start(&srv, env);
    psim_provider_create(&srv, "simstudio", "generic", LOCAL_RANGES, false, 3600, &p);
    psim_game_create(&srv, "simstudio", "reels");
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int failures = psim_run(&srv, &p, "simstudio:reels", &cfg, &st);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    fprintf(stderr, "simulator (seed %u): %ld requests in %.2f s, %ld lost, %ld replays, "
            "%ld tombstones, %ld rollbacks, %ld refused bets, %ld conflicts, %d mismatches\n",
            cfg.seed, st.requests, s, st.timeouts, st.replays, st.tombstones, st.rollbacks,
            st.refused_bets, st.conflicts, failures);
    assert_int_equal(failures, 0);
    assert_true(st.tombstones > 0 && st.rollbacks > 0 && st.timeouts > 0);
    pb_server_stop(&srv);
    pb_ledger_verify_ok(&srv);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registry_catalog_and_launch),
        cmocka_unit_test(test_signature_window_and_ranges),
        cmocka_unit_test(test_idempotency_tombstones_and_rollbacks),
        cmocka_unit_test(test_unknown_round_wins_when_configured),
        cmocka_unit_test(test_session_expiry_and_blocked_player),
        cmocka_unit_test(test_alt_adapter),
        cmocka_unit_test(test_simulated_studio),
    };
    return cmocka_run_group_tests_name("integration.providers", tests, NULL, NULL);
}
