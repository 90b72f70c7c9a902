/* 45_pam_api.c: the player side of pam against the real binary (docs/pam.md): registration
 * rules field by field, login and its failures, no user enumeration, lock-out and per-IP
 * throttling with Retry-After, sessions (list, revoke one, everywhere, idle and absolute
 * expiry), TOTP enrolment, login with TOTP and a recovery code, replays refused, closure and
 * its blocks, and isolation of players (a token only ever shows its own player). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <sodium.h>

#include "client.h"
#include "fixtures.h"
#include "ws_client.h"
#include "pam/auth.h"

#define PASSWORD "correct horse battery"

/* ---- helpers ---- */

static json_t *parse(const struct pb_response *r)
{
    json_error_t err;
    json_t *doc = json_loads(r->body, 0, &err);
    if (!doc)
        fail_msg("not JSON (%s): %s", err.text, r->body);
    return doc;
}

/* Expects a problem with status, code, and (when not NULL) field and detail. */
static void expect_problem(const struct pb_server *srv, const char *method, const char *path,
                           const char *body, const char *token, long status, const char *code,
                           const char *field, const char *detail)
{
    struct pb_response r;
    pb_call(srv, method, path, body, token, NULL, &r);
    pb_assert_problem(&r, status, code);
    json_t *doc = parse(&r);
    const char *f = json_string_value(json_object_get(doc, "field"));
    const char *d = json_string_value(json_object_get(doc, "detail"));
    if (field && (!f || strcmp(f, field) != 0))
        fail_msg("expected field %s in %s", field, r.body);
    if (detail && (!d || strcmp(d, detail) != 0))
        fail_msg("expected detail %s in %s", detail, r.body);
    json_decref(doc);
    pb_response_release(&r);
}

static void login_body(char *out, size_t len, const char *email, const char *password,
                       const char *code)
{
    int n = snprintf(out, len, "{\"brand\":\"demo\",\"email\":\"%s\",\"password\":\"%s\"",
                     email, password);
    if (code)
        n += snprintf(out + n, len - (size_t)n, ",\"totp_code\":\"%s\"", code);
    snprintf(out + n, len - (size_t)n, "}");
}

/* Logs in; the token goes to token (PAM_TOKEN_TEXT_SIZE), session id to sid (may be NULL). */
static void login(const struct pb_server *srv, const char *email, const char *code, char *token,
                  char *sid)
{
    char body[512];
    login_body(body, sizeof(body), email, PASSWORD, code);
    json_t *doc = pb_call_json(srv, "POST", "/api/v1/sessions", body, NULL, NULL, 201);
    snprintf(token, PAM_TOKEN_TEXT_SIZE, "%s", pb_str_at(doc, "token"));
    if (sid)
        snprintf(sid, 32, "%s", pb_str_at(doc, "session_id"));
    json_decref(doc);
}

/* Starts a server with a jurisdictions file whose policy object is policy_json ("" none). */
static void start_with_policy(struct pb_server *srv, const char *policy_json)
{
    static int counter;
    const char *tmp = getenv("PITBOSS_TEST_TMP");
    char path[512], env[600];
    snprintf(path, sizeof(path), "%s/pam_%d_%d.json", tmp && tmp[0] ? tmp : "/tmp",
             (int)getpid(), ++counter);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "{\"jurisdictions\":{\"demo\":{\"min_age\":18,\"currencies\":[\"EUR\"],"
            "\"countries\":[\"*\"],\"kyc_required\":[\"withdrawal\"],"
            "\"rg_rule_set\":\"permissive\"}},\"brands\":{\"demo\":{\"jurisdiction\":\"demo\"}}"
            "%s%s}", policy_json[0] ? ",\"policy\":" : "", policy_json);
    fclose(f);
    snprintf(env, sizeof(env), "PITBOSS_JURISDICTIONS=%s", path);
    const char *const envp[] = {env, NULL};
    pb_server_start(srv, envp);
}

/* ---- registration ---- */

static void expect_register_refused(const struct pb_server *srv, const char *email,
                                    const char *password, const char *dob, const char *country,
                                    const char *currency, const char *brand, const char *field,
                                    const char *detail)
{
    char body[1024];
    snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"%s\",\"date_of_birth\":"
             "\"%s\",\"country\":\"%s\",\"currency\":\"%s\",\"brand\":\"%s\"}", email,
             password, dob, country, currency, brand);
    expect_problem(srv, "POST", "/api/v1/players", body, NULL, 400, "validation_failed", field,
                   detail);
}

static void test_registration_rules_name_field_and_rule(void **state)
{
    (void)state;
    struct pb_server srv;
    pb_server_start(&srv, NULL);
    const char *ok_pw = PASSWORD;
    expect_register_refused(&srv, "a@b.com", ok_pw, "1990-01-01", "DE", "EUR", "nope", "brand",
                            "brand_unknown");
    expect_register_refused(&srv, "not-an-email", ok_pw, "1990-01-01", "DE", "EUR", "demo",
                            "email", "email_invalid");
    expect_register_refused(&srv, "a@b.com", "short", "1990-01-01", "DE", "EUR", "demo",
                            "password", "password_too_short");
    expect_register_refused(&srv, "a@b.com", "password123", "1990-01-01", "DE", "EUR", "demo",
                            "password", "password_common");
    expect_register_refused(&srv, "a@b.com", ok_pw, "1990-02-30", "DE", "EUR", "demo",
                            "date_of_birth", "date_invalid");
    expect_register_refused(&srv, "a@b.com", ok_pw, "2020-01-01", "DE", "EUR", "demo",
                            "date_of_birth", "age_below_minimum");
    expect_register_refused(&srv, "a@b.com", ok_pw, "1990-01-01", "de", "EUR", "demo",
                            "country", "country_invalid");
    expect_register_refused(&srv, "a@b.com", ok_pw, "1990-01-01", "GB", "JPY", "demo",
                            "currency", "currency_not_allowed");
    /* uk-like (brand demo-uk): GB and GBP only. */
    expect_register_refused(&srv, "a@b.com", ok_pw, "1990-01-01", "DE", "GBP", "demo-uk",
                            "country", "country_not_allowed");
    expect_problem(&srv, "POST", "/api/v1/players", "{\"email\":\"a@b.com\",\"extra\":1}", NULL,
                   400, "validation_failed", "extra", NULL);
    expect_problem(&srv, "POST", "/api/v1/players", "{\"email\":\"a@b.com\"}", NULL, 400,
                   "validation_failed", "password", NULL);
    /* None of the refusals created anything: the address is still free. */
    pb_player_new(&srv, "demo", "a@b.com", "EUR", NULL, 0, NULL, 0);
    pb_server_stop(&srv);
}

static void test_registration_normalizes_email_and_refuses_duplicates(void **state)
{
    (void)state;
    struct pb_server srv;
    pb_server_start(&srv, NULL);
    char id[32], token[PAM_TOKEN_TEXT_SIZE];
    pb_player_new(&srv, "demo", "  Alice@Example.COM ", "EUR", id, sizeof(id), NULL, 0);
    expect_problem(&srv, "POST", "/api/v1/players",
                   "{\"email\":\"alice@example.com\",\"password\":\"" PASSWORD "\","
                   "\"date_of_birth\":\"1990-05-17\",\"country\":\"DE\",\"currency\":\"EUR\","
                   "\"brand\":\"demo\"}", NULL, 409, "email_taken", "email", NULL);
    login(&srv, "ALICE@example.com", NULL, token, NULL);
    json_t *me = pb_call_json(&srv, "GET", "/api/v1/players/me", NULL, token, NULL, 200);
    assert_string_equal(pb_str_at(me, "player_id"), id);
    assert_string_equal(pb_str_at(me, "email"), "alice@example.com");
    assert_string_equal(pb_str_at(me, "status"), "active");
    json_decref(me);
    pb_server_stop(&srv);
}

/* ---- login ---- */

static void test_unknown_email_and_wrong_password_answer_identically(void **state)
{
    (void)state;
    struct pb_server srv;
    pb_server_start(&srv, NULL);
    pb_player_new(&srv, "demo", "bob@example.com", "EUR", NULL, 0, NULL, 0);
    char body[512];
    struct pb_response a, b;
    login_body(body, sizeof(body), "bob@example.com", "wrong password 123", NULL);
    pb_call(&srv, "POST", "/api/v1/sessions", body, NULL, NULL, &a);
    login_body(body, sizeof(body), "nobody@example.com", "wrong password 123", NULL);
    pb_call(&srv, "POST", "/api/v1/sessions", body, NULL, NULL, &b);
    pb_assert_problem(&a, 401, "invalid_credentials");
    assert_int_equal(a.status, b.status);
    assert_string_equal(a.body, b.body);
    pb_response_release(&a);
    pb_response_release(&b);
    expect_problem(&srv, "GET", "/api/v1/players/me", NULL, NULL, 401, "unauthorized", NULL,
                   NULL);
    expect_problem(&srv, "GET", "/api/v1/players/me", NULL, "not-a-token", 401, "unauthorized",
                   NULL, NULL);
    pb_server_stop(&srv);
}

static void test_account_lockout_after_failures_for_known_and_unknown_emails(void **state)
{
    (void)state;
    struct pb_server srv;
    /* 8 s: long enough that a loaded machine (argon2id per failed login) stays inside it. */
    start_with_policy(&srv, "{\"account_failures_max\":3,\"lockout_s\":8}");
    pb_player_new(&srv, "demo", "carol@example.com", "EUR", NULL, 0, NULL, 0);
    const char *emails[] = {"carol@example.com", "ghost@example.com"};
    char body[512];
    for (size_t e = 0; e < 2; e++) {
        login_body(body, sizeof(body), emails[e], "wrong password 123", NULL);
        for (int i = 0; i < 3; i++)
            expect_problem(&srv, "POST", "/api/v1/sessions", body, NULL, 401,
                           "invalid_credentials", NULL, NULL);
        struct pb_response r;
        pb_call(&srv, "POST", "/api/v1/sessions", body, NULL, NULL, &r);
        pb_assert_problem(&r, 429, "too_many_attempts");
        char retry[16];
        assert_true(pb_response_header(&r, "Retry-After", retry, sizeof(retry)));
        assert_true(atoi(retry) >= 1 && atoi(retry) <= 8);
        pb_response_release(&r);
    }
    /* Locked: even the right password is refused; after the lock it works again. */
    login_body(body, sizeof(body), "carol@example.com", PASSWORD, NULL);
    expect_problem(&srv, "POST", "/api/v1/sessions", body, NULL, 429, "too_many_attempts",
                   NULL, NULL);
    pb_sleep_ms(8200);
    char token[PAM_TOKEN_TEXT_SIZE];
    login(&srv, "carol@example.com", NULL, token, NULL);
    pb_server_stop(&srv);
}

static void test_ip_throttle_across_accounts(void **state)
{
    (void)state;
    struct pb_server srv;
    start_with_policy(&srv, "{\"ip_failures_max\":4,\"account_failures_max\":100}");
    char body[512], email[64];
    for (int i = 0; i < 4; i++) {
        snprintf(email, sizeof(email), "user%d@example.com", i);
        login_body(body, sizeof(body), email, "wrong password 123", NULL);
        expect_problem(&srv, "POST", "/api/v1/sessions", body, NULL, 401,
                       "invalid_credentials", NULL, NULL);
    }
    login_body(body, sizeof(body), "fresh@example.com", "wrong password 123", NULL);
    struct pb_response r;
    pb_call(&srv, "POST", "/api/v1/sessions", body, NULL, NULL, &r);
    pb_assert_problem(&r, 429, "too_many_attempts");
    char retry[16];
    assert_true(pb_response_header(&r, "Retry-After", retry, sizeof(retry)));
    pb_response_release(&r);
    pb_server_stop(&srv);
}

/* ---- sessions ---- */

static size_t session_count(const struct pb_server *srv, const char *token)
{
    json_t *doc = pb_call_json(srv, "GET", "/api/v1/sessions", NULL, token, NULL, 200);
    size_t n = json_array_size(json_object_get(doc, "sessions"));
    json_decref(doc);
    return n;
}

static void test_sessions_list_revoke_one_and_everywhere(void **state)
{
    (void)state;
    struct pb_server srv;
    pb_server_start(&srv, NULL);
    pb_player_new(&srv, "demo", "dave@example.com", "EUR", NULL, 0, NULL, 0);
    char t1[PAM_TOKEN_TEXT_SIZE], t2[PAM_TOKEN_TEXT_SIZE], t3[PAM_TOKEN_TEXT_SIZE];
    char s1[32], s2[32], path[128];
    login(&srv, "dave@example.com", NULL, t1, s1);
    login(&srv, "dave@example.com", NULL, t2, s2);
    login(&srv, "dave@example.com", NULL, t3, NULL);
    assert_int_equal(session_count(&srv, t1), 3);
    snprintf(path, sizeof(path), "/api/v1/sessions/%s", s2);
    pb_call_status(&srv, "DELETE", path, NULL, t1, NULL, 204);
    expect_problem(&srv, "GET", "/api/v1/sessions", NULL, t2, 401, "unauthorized", NULL, NULL);
    expect_problem(&srv, "DELETE", path, NULL, t1, 404, "not_found", NULL, NULL);
    assert_int_equal(session_count(&srv, t1), 2);
    pb_call_status(&srv, "DELETE", "/api/v1/sessions", NULL, t3, NULL, 204);
    expect_problem(&srv, "GET", "/api/v1/sessions", NULL, t1, 401, "unauthorized", NULL, NULL);
    expect_problem(&srv, "GET", "/api/v1/sessions", NULL, t3, 401, "unauthorized", NULL, NULL);
    pb_server_stop(&srv);
}

static void test_sessions_expire_when_idle_and_at_absolute_expiry(void **state)
{
    (void)state;
    struct pb_server srv;
    start_with_policy(&srv, "{\"session_idle_s\":2,\"session_touch_s\":1,"
                            "\"session_ttl_s\":6}");
    pb_player_new(&srv, "demo", "erin@example.com", "EUR", NULL, 0, NULL, 0);
    char idle[PAM_TOKEN_TEXT_SIZE], busy[PAM_TOKEN_TEXT_SIZE];
    login(&srv, "erin@example.com", NULL, idle, NULL);
    login(&srv, "erin@example.com", NULL, busy, NULL);
    /* busy is used every 0.6 s (sliding idle timeout); idle is not. */
    for (int i = 0; i < 5; i++) {
        pb_sleep_ms(600);
        json_decref(pb_call_json(&srv, "GET", "/api/v1/players/me", NULL, busy, NULL, 200));
    }
    expect_problem(&srv, "GET", "/api/v1/players/me", NULL, idle, 401, "unauthorized", NULL,
                   NULL);
    for (int i = 0; i < 2; i++) {
        pb_sleep_ms(600);
        json_decref(pb_call_json(&srv, "GET", "/api/v1/players/me", NULL, busy, NULL, 200));
    }
    pb_sleep_ms(2000); /* past the absolute expiry of 6 s, however busy */
    expect_problem(&srv, "GET", "/api/v1/players/me", NULL, busy, 401, "unauthorized", NULL,
                   NULL);
    pb_server_stop(&srv);
}

/* ---- TOTP ---- */

static void totp_at(const char *secret_b32, int64_t offset_s, char code[PAM_TOTP_CODE_SIZE])
{
    unsigned char secret[PAM_TOTP_SECRET_BYTES_MAX];
    size_t n;
    assert_int_equal(pam_base32_decode(secret_b32, strlen(secret_b32), secret, sizeof(secret),
                                       &n), 0);
    assert_int_equal(pam_totp_code(secret, n, (int64_t)time(NULL) + offset_s, NULL, code), 0);
}

static void test_totp_enrolment_login_recovery_and_replay(void **state)
{
    (void)state;
    struct pb_server srv;
    pb_server_start(&srv, NULL);
    pb_player_new(&srv, "demo", "fay@example.com", "EUR", NULL, 0, NULL, 0);
    char token[PAM_TOKEN_TEXT_SIZE], secret[128], code[PAM_TOTP_CODE_SIZE], body[512];
    char recovery[PAM_RECOVERY_CODE_SIZE];
    login(&srv, "fay@example.com", NULL, token, NULL);
    json_t *doc = pb_call_json(&srv, "POST", "/api/v1/players/me/totp", NULL, token, NULL, 201);
    snprintf(secret, sizeof(secret), "%s", pb_str_at(doc, "secret"));
    assert_non_null(strstr(pb_str_at(doc, "otpauth_uri"), "otpauth://totp/demo:"));
    json_decref(doc);
    expect_problem(&srv, "POST", "/api/v1/players/me/totp/confirm", "{\"code\":\"000000\"}",
                   token, 400, "validation_failed", "code", "totp_invalid");
    totp_at(secret, 0, code);
    snprintf(body, sizeof(body), "{\"code\":\"%s\"}", code);
    doc = pb_call_json(&srv, "POST", "/api/v1/players/me/totp/confirm", body, token, NULL, 200);
    json_t *codes = json_object_get(doc, "recovery_codes");
    assert_int_equal(json_array_size(codes), PAM_RECOVERY_CODES_COUNT);
    snprintf(recovery, sizeof(recovery), "%s", json_string_value(json_array_get(codes, 0)));
    json_decref(doc);
    /* Login now needs the second factor. */
    login_body(body, sizeof(body), "fay@example.com", PASSWORD, NULL);
    expect_problem(&srv, "POST", "/api/v1/sessions", body, NULL, 401, "totp_required",
                   "totp_code", NULL);
    /* The code used to confirm is spent; the next step's code works once. */
    login_body(body, sizeof(body), "fay@example.com", PASSWORD, code);
    expect_problem(&srv, "POST", "/api/v1/sessions", body, NULL, 401, "totp_replayed", NULL,
                   NULL);
    totp_at(secret, 30, code);
    login(&srv, "fay@example.com", code, token, NULL);
    expect_problem(&srv, "POST", "/api/v1/sessions", body, NULL, 401, "totp_replayed", NULL,
                   NULL);
    login(&srv, "fay@example.com", recovery, token, NULL);
    login_body(body, sizeof(body), "fay@example.com", PASSWORD, recovery);
    expect_problem(&srv, "POST", "/api/v1/sessions", body, NULL, 401, "invalid_totp", NULL,
                   NULL);
    doc = pb_call_json(&srv, "GET", "/api/v1/players/me", NULL, token, NULL, 200);
    assert_true(json_is_true(json_object_get(doc, "totp_enabled")));
    json_decref(doc);
    pb_server_stop(&srv);
}

/* ---- status, blocks, isolation ---- */

static void test_closure_blocks_deposit_and_bet_but_not_login(void **state)
{
    (void)state;
    struct pb_server srv;
    pb_server_start(&srv, NULL);
    pb_player_new(&srv, "demo", "gus@example.com", "EUR", NULL, 0, NULL, 0);
    char token[PAM_TOKEN_TEXT_SIZE];
    login(&srv, "gus@example.com", NULL, token, NULL);
    json_decref(pb_call_json(&srv, "POST", "/api/v1/players/me/close", NULL, token, NULL, 200));
    login(&srv, "gus@example.com", NULL, token, NULL);
    json_t *me = pb_call_json(&srv, "GET", "/api/v1/players/me", NULL, token, NULL, 200);
    assert_string_equal(pb_str_at(me, "status"), "closed");
    json_t *blocks = json_object_get(me, "blocks");
    assert_int_equal(json_array_size(blocks), 2);
    assert_string_equal(pb_str_at(json_array_get(blocks, 0), "block"), "bet");
    assert_string_equal(pb_str_at(json_array_get(blocks, 1), "block"), "deposit");
    json_decref(me);
    pb_server_stop(&srv);
}

static void test_a_token_only_ever_shows_its_own_player(void **state)
{
    (void)state;
    struct pb_server srv;
    pb_server_start(&srv, NULL);
    char ida[32], idb[32], ta[PAM_TOKEN_TEXT_SIZE], tb[PAM_TOKEN_TEXT_SIZE], sb[32];
    char path[128];
    pb_player_new(&srv, "demo", "hal@example.com", "EUR", ida, sizeof(ida), NULL, 0);
    pb_player_new(&srv, "demo", "ivy@example.com", "EUR", idb, sizeof(idb), NULL, 0);
    login(&srv, "hal@example.com", NULL, ta, NULL);
    login(&srv, "ivy@example.com", NULL, tb, sb);
    json_t *me = pb_call_json(&srv, "GET", "/api/v1/players/me", NULL, ta, NULL, 200);
    assert_string_equal(pb_str_at(me, "player_id"), ida);
    json_decref(me);
    me = pb_call_json(&srv, "GET", "/api/v1/players/me", NULL, tb, NULL, 200);
    assert_string_equal(pb_str_at(me, "player_id"), idb);
    json_decref(me);
    assert_int_equal(session_count(&srv, ta), 1);
    snprintf(path, sizeof(path), "/api/v1/sessions/%s", sb); /* B's session, A's token */
    expect_problem(&srv, "DELETE", path, NULL, ta, 404, "not_found", NULL, NULL);
    json_decref(pb_call_json(&srv, "GET", "/api/v1/players/me", NULL, tb, NULL, 200));
    pb_server_stop(&srv);
}

/* A player's session token (access_token on the WebSocket URL, as browsers must send it)
 * may watch that player's topic only; a revoked token is refused at the handshake. */
static void test_websocket_player_topic_is_for_that_players_session(void **state)
{
    (void)state;
    struct pb_server srv;
    pb_server_start(&srv, NULL);
    char a[32], b[32], token[PAM_TOKEN_TEXT_SIZE], path[256], topic[64], msg[128];
    pb_player_new(&srv, "demo", "wsa@example.com", "EUR", a, sizeof(a), NULL, 0);
    pb_player_new(&srv, "demo", "wsb@example.com", "EUR", b, sizeof(b), NULL, 0);
    login(&srv, "wsa@example.com", NULL, token, NULL);
    snprintf(path, sizeof(path), "/api/v1/ws?access_token=%s", token);
    struct ws_client c;
    struct ws_client_options opt = {.path = path};
    if (ws_client_connect(&c, srv.port, &opt) != 0)
        fail_msg("handshake failed: %d", c.handshake_status);
    snprintf(topic, sizeof(topic), "player:%s", a);
    ws_client_subscribe(&c, topic, 5000);
    snprintf(msg, sizeof(msg), "{\"type\":\"subscribe\",\"topic\":\"player:%s\"}", b);
    assert_int_equal(ws_client_send_text(&c, msg), 0);
    char *reply = ws_client_read_text(&c, 5000, NULL);
    assert_non_null(reply);
    assert_non_null(strstr(reply, "\"code\":\"forbidden\""));
    free(reply);
    ws_client_close(&c);
    pb_call_status(&srv, "DELETE", "/api/v1/sessions", NULL, token, NULL, 204);
    struct ws_client revoked;
    assert_int_equal(ws_client_connect(&revoked, srv.port, &opt), -1);
    assert_int_equal(revoked.handshake_status, 401);
    ws_client_close(&revoked);
    pb_server_stop(&srv);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registration_rules_name_field_and_rule),
        cmocka_unit_test(test_registration_normalizes_email_and_refuses_duplicates),
        cmocka_unit_test(test_unknown_email_and_wrong_password_answer_identically),
        cmocka_unit_test(test_account_lockout_after_failures_for_known_and_unknown_emails),
        cmocka_unit_test(test_ip_throttle_across_accounts),
        cmocka_unit_test(test_sessions_list_revoke_one_and_everywhere),
        cmocka_unit_test(test_sessions_expire_when_idle_and_at_absolute_expiry),
        cmocka_unit_test(test_totp_enrolment_login_recovery_and_replay),
        cmocka_unit_test(test_closure_blocks_deposit_and_bet_but_not_login),
        cmocka_unit_test(test_a_token_only_ever_shows_its_own_player),
        cmocka_unit_test(test_websocket_player_topic_is_for_that_players_session),
    };
    return cmocka_run_group_tests_name("integration.pam_api", tests, NULL, NULL);
}
