/* 60_payments_api.c: payments against the real binary (docs/payments.md), on the backend
 * under test: deposits through the sandbox PSP end to end with its real, signed, asynchronous
 * webhooks (succeed, duplicate, out-of-order, fail, expire), forged webhooks (bad signature,
 * expired timestamp, unknown reference, malformed) refused with nothing credited, idempotent
 * requests, the KYC gate; withdrawals through review (reject, approve -> payout -> completed,
 * approve -> payout failed -> funds back, cancel), audited; crypto addresses, confirmations N1
 * and N2, duplicate notifications, a reorganisation reversing a credit, a batched crypto
 * withdrawal; reconciliation by staff route and by `pitboss payments reconcile`; and
 * `pitboss ledger verify` passing after each scenario. */
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
#include <curl/curl.h>
#include <jansson.h>

#include "base/base.h"
#include "client.h"
#include "pam/auth.h"
#include "pam/pam.h"
#include "payments/payments.h"

#define PASSWORD "correct horse battery"
#define STAFF "staff-token-for-payments-tests-0123456789"
#define PSP_SECRET "psp-sandbox-secret-for-tests"
#define CHAIN_SECRET "chain-watcher-secret-for-tests"
#define STAFF_AUTH "Authorization: Bearer " STAFF

static char jurisdictions_path[600];
static char jurisdictions_env[700];
static const char *env[] = {"PITBOSS_STAFF_TOKEN=" STAFF,
                            "PITBOSS_PAYMENTS_SANDBOX_SECRET=" PSP_SECRET,
                            "PITBOSS_PAYMENTS_WATCHER_SECRET=" CHAIN_SECRET,
                            "PITBOSS_PAYMENTS_SANDBOX_DELAY_MS=100",
                            "PITBOSS_PAYMENTS_DEPOSIT_EXPIRY_S=2",
                            jurisdictions_env,
                            NULL};

/* brand demo: KYC before withdrawals; brand strict: KYC before deposits. */
static void write_jurisdictions(void)
{
    char *path = jurisdictions_path;
    snprintf(path, sizeof(jurisdictions_path), "%s/payments_jurisdictions_%d.json",
             getenv("PITBOSS_TEST_TMP"), (int)getpid());
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("{\"jurisdictions\":{\"demo\":{\"min_age\":18,\"currencies\":[\"EUR\"],"
          "\"countries\":[\"*\"],\"kyc_required\":[\"withdrawal\"],\"rg_rule_set\":\"permissive\"},"
          "\"strict\":{\"min_age\":18,\"currencies\":[\"EUR\"],\"countries\":[\"*\"],"
          "\"kyc_required\":[\"deposit\",\"withdrawal\"],\"rg_rule_set\":\"permissive\"}},"
          "\"brands\":{\"demo\":{\"jurisdiction\":\"demo\"},"
          "\"strict\":{\"jurisdiction\":\"strict\"}}}", f);
    fclose(f);
    snprintf(jurisdictions_env, sizeof(jurisdictions_env), "PITBOSS_JURISDICTIONS=%s", path);
}

static void call(const struct pb_server *srv, const char *method, const char *path,
                 const char *body, const char *token, const char *extra, struct pb_response *r)
{
    char auth[128];
    const char *headers[3] = {NULL, NULL, NULL};
    size_t n = 0;
    if (token && strcmp(token, "staff") == 0)
        headers[n++] = STAFF_AUTH;
    else if (token) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
        headers[n++] = auth;
    }
    if (extra)
        headers[n++] = extra;
    pb_request(srv, method, path, body ? "application/json" : NULL, body,
               body ? strlen(body) : 0, headers, r);
}

static json_t *call_json(const struct pb_server *srv, const char *method, const char *path,
                         const char *body, const char *token, const char *extra, long status)
{
    struct pb_response r;
    json_error_t err;
    call(srv, method, path, body, token, extra, &r);
    if (r.status != status)
        fail_msg("%s %s answered %ld, expected %ld: %s", method, path, r.status, status, r.body);
    json_t *doc = json_loads(r.body, 0, &err);
    if (!doc)
        fail_msg("not JSON (%s): %s", err.text, r.body);
    pb_response_release(&r);
    return doc;
}

static void expect_problem(const struct pb_server *srv, const char *method, const char *path,
                           const char *body, const char *token, const char *extra, long status,
                           const char *code, const char *field)
{
    struct pb_response r;
    call(srv, method, path, body, token, extra, &r);
    pb_assert_problem(&r, status, code);
    json_t *doc = json_loads(r.body, 0, NULL);
    const char *f = json_string_value(json_object_get(doc, "field"));
    if (field && (!f || strcmp(f, field) != 0))
        fail_msg("expected field %s in %s", field, r.body);
    json_decref(doc);
    pb_response_release(&r);
}

static const char *str(json_t *doc, const char *key)
{
    const char *s = json_string_value(json_object_get(doc, key));
    if (!s)
        fail_msg("no string %s", key);
    return s;
}

static void new_player(const struct pb_server *srv, const char *brand, const char *email,
                       char *id, char *token)
{
    char body[512];
    snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"" PASSWORD "\","
             "\"date_of_birth\":\"1990-05-17\",\"country\":\"DE\",\"currency\":\"EUR\","
             "\"brand\":\"%s\"}", email, brand);
    json_t *doc = call_json(srv, "POST", "/api/v1/players", body, NULL, NULL, 201);
    snprintf(id, PAM_PLAYER_ID_SIZE, "%s", str(doc, "player_id"));
    json_decref(doc);
    snprintf(body, sizeof(body), "{\"brand\":\"%s\",\"email\":\"%s\",\"password\":\""
             PASSWORD "\"}", brand, email);
    doc = call_json(srv, "POST", "/api/v1/sessions", body, NULL, NULL, 201);
    snprintf(token, PAM_TOKEN_TEXT_SIZE, "%s", str(doc, "token"));
    json_decref(doc);
}

static void verify_kyc(const struct pb_server *srv, const char *id, const char *token)
{
    char path[160];
    json_decref(call_json(srv, "POST", "/api/v1/players/me/kyc/documents",
                          "{\"type\":\"passport\",\"reference\":\"p-1\"}", token, NULL, 201));
    snprintf(path, sizeof(path), "/api/v1/admin/kyc/%s/decision", id);
    json_decref(call_json(srv, "POST", path,
                          "{\"decision\":\"verify\",\"tier\":1,\"reason\":\"documents ok\"}",
                          "staff", NULL, 200));
}

/* The player's available balance of account type ("cash", "locked") in currency. */
static long long balance(const struct pb_server *srv, const char *id, const char *type,
                         const char *currency)
{
    char path[160];
    snprintf(path, sizeof(path), "/api/v1/players/%s/balances", id);
    json_t *doc = call_json(srv, "GET", path, NULL, "staff", NULL, 200);
    json_t *list = json_object_get(doc, "balances"), *b;
    size_t i;
    long long v = 0;
    json_array_foreach(list, i, b) {
        if (strcmp(str(b, "type"), type) == 0 && strcmp(str(b, "currency"), currency) == 0)
            v = json_integer_value(json_object_get(b, "available_minor"));
    }
    json_decref(doc);
    return v;
}

/* Starts a deposit with key; returns its id (static buffer per call site). */
static void deposit(const struct pb_server *srv, const char *token, const char *key,
                    const char *body, char id[PAYMENTS_ID_SIZE])
{
    char header[200];
    snprintf(header, sizeof(header), "Idempotency-Key: %s", key);
    json_t *doc = call_json(srv, "POST", "/api/v1/payments/deposits", body, token, header, 201);
    assert_string_equal(str(doc, "state"), "initiated");
    assert_non_null(strstr(str(doc, "redirect_url"), str(doc, "reference")));
    snprintf(id, PAYMENTS_ID_SIZE, "%s", str(doc, "deposit_id"));
    json_decref(doc);
}

/* Polls GET path until "state" is want (asserts within 10 s). */
static void wait_state(const struct pb_server *srv, const char *path, const char *token,
                       const char *want)
{
    char last[64] = "";
    for (int i = 0; i < 200; i++) {
        json_t *doc = call_json(srv, "GET", path, NULL, token, NULL, 200);
        snprintf(last, sizeof(last), "%s", str(doc, "state"));
        json_decref(doc);
        if (strcmp(last, want) == 0)
            return;
        pb_sleep_ms(50);
    }
    fail_msg("%s stayed %s, expected %s", path, last, want);
}

static void wait_deposit(const struct pb_server *srv, const char *token, const char *id,
                         const char *want)
{
    char path[128];
    snprintf(path, sizeof(path), "/api/v1/payments/deposits/%s", id);
    wait_state(srv, path, token, want);
}

static void verify_ledger(const struct pb_server *srv)
{
    char cmd[1600], line[512], last[512] = "";
    snprintf(cmd, sizeof(cmd), "PITBOSS_DB='%s' '%s' ledger verify 2>&1", srv->db_url,
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

/* POST a body to path signed with secret at t (0: now); returns the response. */
static void signed_post(const struct pb_server *srv, const char *path, const char *secret,
                        const char *body, int64_t t, struct pb_response *r)
{
    char sig[PAYMENTS_SIGNATURE_HEADER_MAX], header[PAYMENTS_SIGNATURE_HEADER_MAX + 32];
    payments_sign(secret, t ? t : (int64_t)time(NULL), body, strlen(body), sig);
    snprintf(header, sizeof(header), "X-Pitboss-Signature: %s", sig);
    call(srv, "POST", path, body, NULL, header, r);
}

/* ---- deposits ---- */

static void withdraw(const struct pb_server *srv, const char *token, const char *key,
                     long long amount, const char *want_state, char wid[PAYMENTS_ID_SIZE]);

static void test_deposits_through_the_sandbox(void **state)
{
    (void)state;
    struct pb_server srv;
    char id[PAM_PLAYER_ID_SIZE], token[PAM_TOKEN_TEXT_SIZE];
    char other[PAM_PLAYER_ID_SIZE], other_token[PAM_TOKEN_TEXT_SIZE];
    char d1[PAYMENTS_ID_SIZE], d2[PAYMENTS_ID_SIZE], d3[PAYMENTS_ID_SIZE];
    char d4[PAYMENTS_ID_SIZE], d5[PAYMENTS_ID_SIZE], d6[PAYMENTS_ID_SIZE];
    pb_server_start(&srv, env);
    new_player(&srv, "demo", "dep@example.com", id, token);
    new_player(&srv, "demo", "other@example.com", other, other_token);
    json_t *doc = call_json(&srv, "GET", "/api/v1/payments/methods", NULL, NULL, NULL, 200);
    assert_true(json_array_size(json_object_get(doc, "methods")) >= 2);
    json_decref(doc);

    const char *path = "/api/v1/payments/deposits";
    const char *card = "{\"method\":\"card\",\"amount_minor\":5000,\"currency\":\"EUR\"}";
    expect_problem(&srv, "POST", path, card, NULL, "Idempotency-Key: k", 401, "unauthorized",
                   NULL);
    expect_problem(&srv, "POST", path, card, token, NULL, 400, "validation_failed",
                   "Idempotency-Key");
    expect_problem(&srv, "POST", path, "{\"method\":\"cheque\",\"amount_minor\":5000,"
                   "\"currency\":\"EUR\"}", token, "Idempotency-Key: k", 400,
                   "validation_failed", "method");
    expect_problem(&srv, "POST", path, "{\"method\":\"card\",\"amount_minor\":5000,"
                   "\"currency\":\"EUR\",\"scenario\":\"explode\"}", token, "Idempotency-Key: k",
                   400, "validation_failed", "scenario");
    expect_problem(&srv, "POST", path, "{\"method\":\"card\",\"amount_minor\":10,"
                   "\"currency\":\"EUR\"}", token, "Idempotency-Key: small", 422,
                   "amount_out_of_range", "amount_minor");

    /* succeed: pending, then succeeded; credited once, less the player's card fee */
    deposit(&srv, token, "k1", card, d1);
    wait_deposit(&srv, token, d1, "succeeded");
    assert_int_equal(balance(&srv, id, "cash", "EUR"), 4900);
    /* the same request again: the recorded answer; another body with the key: conflict */
    struct pb_response r;
    call(&srv, "POST", path, card, token, "Idempotency-Key: k1", &r);
    assert_int_equal(r.status, 201);
    assert_non_null(strstr(r.body, d1));
    char replayed[16];
    assert_true(pb_response_header(&r, "Idempotent-Replayed", replayed, sizeof(replayed)));
    pb_response_release(&r);
    expect_problem(&srv, "POST", path, "{\"method\":\"card\",\"amount_minor\":6000,"
                   "\"currency\":\"EUR\"}", token, "Idempotency-Key: k1", 409,
                   "idempotency_conflict", "amount_minor");
    /* somebody else's deposit is not found */
    char own[128];
    snprintf(own, sizeof(own), "/api/v1/payments/deposits/%s", d1);
    expect_problem(&srv, "GET", own, NULL, other_token, NULL, 404, "deposit_not_found", NULL);

    /* duplicate and out-of-order callbacks: credited once, never backwards */
    deposit(&srv, token, "k2", "{\"method\":\"bank_transfer\",\"amount_minor\":10000,"
            "\"currency\":\"EUR\",\"scenario\":\"duplicate\"}", d2);
    deposit(&srv, token, "k3", "{\"method\":\"bank_transfer\",\"amount_minor\":20016,"
            "\"currency\":\"EUR\"}", d3); /* .16: out of order */
    wait_deposit(&srv, token, d2, "succeeded");
    wait_deposit(&srv, token, d3, "succeeded");
    pb_sleep_ms(800); /* the late "pending" and the repeats arrive */
    wait_deposit(&srv, token, d3, "succeeded");
    assert_int_equal(balance(&srv, id, "cash", "EUR"), 4900 + 10000 + 20016);

    /* failure (scenario and magic amount) and expiry: nothing credited */
    deposit(&srv, token, "k4", "{\"method\":\"card\",\"amount_minor\":5000,"
            "\"currency\":\"EUR\",\"scenario\":\"fail\"}", d4);
    deposit(&srv, token, "k5", "{\"method\":\"card\",\"amount_minor\":5013,"
            "\"currency\":\"EUR\"}", d5);
    deposit(&srv, token, "k6", "{\"method\":\"card\",\"amount_minor\":5014,"
            "\"currency\":\"EUR\"}", d6);
    wait_deposit(&srv, token, d4, "failed");
    wait_deposit(&srv, token, d5, "failed");
    wait_deposit(&srv, token, d6, "expired");
    assert_int_equal(balance(&srv, id, "cash", "EUR"), 34916);

    /* forged and broken webhooks: refused, nothing credited */
    const char *hook = "/api/v1/payments/webhooks/sandbox";
    char body[512];
    doc = call_json(&srv, "GET", own, NULL, token, NULL, 200);
    snprintf(body, sizeof(body), "{\"event_id\":\"forged-1\",\"type\":\"deposit.succeeded\","
             "\"reference\":\"%s\",\"amount_minor\":5014,\"currency\":\"EUR\"}",
             str(doc, "reference"));
    json_decref(doc);
    signed_post(&srv, hook, "not-the-secret", body, 0, &r);
    pb_assert_problem(&r, 401, "signature_invalid");
    pb_response_release(&r);
    signed_post(&srv, hook, PSP_SECRET, body, (int64_t)time(NULL) - 3600, &r);
    pb_assert_problem(&r, 401, "signature_expired");
    pb_response_release(&r);
    call(&srv, "POST", hook, body, NULL, NULL, &r);
    pb_assert_problem(&r, 401, "signature_invalid");
    pb_response_release(&r);
    signed_post(&srv, hook, PSP_SECRET, "{\"event_id\":\"e-2\",\"type\":\"deposit.succeeded\","
                "\"reference\":\"pb-dep-unknown\",\"amount_minor\":5000,\"currency\":\"EUR\"}",
                0, &r);
    pb_assert_problem(&r, 404, "unknown_reference");
    pb_response_release(&r);
    signed_post(&srv, hook, PSP_SECRET, "{\"event_id\":\"e-3\"}", 0, &r);
    pb_assert_problem(&r, 400, "validation_failed");
    pb_response_release(&r);
    signed_post(&srv, "/api/v1/payments/webhooks/acme", PSP_SECRET, body, 0, &r);
    pb_assert_problem(&r, 404, "psp_unknown");
    pb_response_release(&r);
    /* a genuine, late success for the first deposit (already succeeded): ignored */
    doc = call_json(&srv, "GET", own, NULL, token, NULL, 200);
    snprintf(body, sizeof(body), "{\"event_id\":\"late-1\",\"type\":\"deposit.succeeded\","
             "\"reference\":\"%s\",\"amount_minor\":5000,\"currency\":\"EUR\"}",
             str(doc, "reference"));
    json_decref(doc);
    signed_post(&srv, hook, PSP_SECRET, body, 0, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"ignored\""));
    pb_response_release(&r);
    signed_post(&srv, hook, PSP_SECRET, body, 0, &r); /* the same event again */
    assert_non_null(strstr(r.body, "\"duplicate\""));
    pb_response_release(&r);
    assert_int_equal(balance(&srv, id, "cash", "EUR"), 34916);

    /* reconciliation: the sandbox's statement agrees with the payments */
    doc = call_json(&srv, "GET", "/api/v1/admin/payments/reconciliation?psp=sandbox", NULL,
                    "staff", NULL, 200);
    if (json_integer_value(json_object_get(doc, "mismatches")) != 0)
        fail_msg("reconciliation: %s", str(doc, "report"));
    json_decref(doc);
    call(&srv, "GET", "/api/v1/admin/payments/statements/sandbox", NULL, "staff", NULL, &r);
    assert_int_equal(r.status, 200);
    char file[700], cmd[2000];
    snprintf(file, sizeof(file), "%s/statement.json", srv.dir);
    FILE *f = fopen(file, "w");
    assert_non_null(f);
    fputs(r.body, f);
    fclose(f);
    pb_response_release(&r);
    snprintf(cmd, sizeof(cmd), "PITBOSS_DB='%s' '%s' payments reconcile --psp sandbox "
             "--statement '%s' >/dev/null", srv.db_url, getenv("PITBOSS_BIN"), file);
    assert_int_equal(system(cmd), 0);
    /* a statement with a payment pitboss does not know: a mismatch, exit 1 */
    f = fopen(file, "w");
    fputs("reference,kind,amount_minor,currency,status\nghost,deposit,100,EUR,succeeded\n", f);
    fclose(f);
    assert_int_equal(WEXITSTATUS(system(cmd)), 1);
    verify_ledger(&srv);
    pb_server_stop(&srv);
}

static void test_kyc_gate_before_deposits(void **state)
{
    (void)state;
    struct pb_server srv;
    char id[PAM_PLAYER_ID_SIZE], token[PAM_TOKEN_TEXT_SIZE], d[PAYMENTS_ID_SIZE];
    pb_server_start(&srv, env);
    new_player(&srv, "strict", "strict@example.com", id, token);
    const char *card = "{\"method\":\"card\",\"amount_minor\":5000,\"currency\":\"EUR\"}";
    expect_problem(&srv, "POST", "/api/v1/payments/deposits", card, token,
                   "Idempotency-Key: g1", 403, "kyc_required", NULL);
    assert_int_equal(balance(&srv, id, "cash", "EUR"), 0);
    verify_kyc(&srv, id, token);
    deposit(&srv, token, "g2", card, d);
    wait_deposit(&srv, token, d, "succeeded");
    assert_int_equal(balance(&srv, id, "cash", "EUR"), 4900);
    /* a deposit block refuses the next one */
    char path[160];
    snprintf(path, sizeof(path), "/api/v1/admin/players/%s/blocks", id);
    json_decref(call_json(&srv, "POST", path,
                          "{\"block\":\"deposit\",\"reason\":\"AML check\"}", "staff", NULL,
                          200));
    expect_problem(&srv, "POST", "/api/v1/payments/deposits", card, token,
                   "Idempotency-Key: g3", 403, "deposit_blocked", NULL);
    assert_int_equal(balance(&srv, id, "cash", "EUR"), 4900);
    verify_ledger(&srv);
    pb_server_stop(&srv);
}

/* With payments.player_cancel 0 players cannot cancel (staff still reject). */
static void test_cancel_can_be_disabled(void **state)
{
    (void)state;
    struct pb_server srv;
    char id[PAM_PLAYER_ID_SIZE], token[PAM_TOKEN_TEXT_SIZE], d[PAYMENTS_ID_SIZE];
    char wid[PAYMENTS_ID_SIZE], path[200];
    const char *no_cancel[PB_ARRAY_LEN(env) + 1];
    memcpy(no_cancel, env, sizeof(env));
    no_cancel[PB_ARRAY_LEN(env) - 1] = "PITBOSS_PAYMENTS_PLAYER_CANCEL=0";
    no_cancel[PB_ARRAY_LEN(env)] = NULL;
    pb_server_start(&srv, no_cancel);
    new_player(&srv, "demo", "nocancel@example.com", id, token);
    verify_kyc(&srv, id, token);
    deposit(&srv, token, "f",
            "{\"method\":\"card\",\"amount_minor\":5000,\"currency\":\"EUR\"}", d);
    wait_deposit(&srv, token, d, "succeeded");
    withdraw(&srv, token, "w", 1000, "review", wid);
    snprintf(path, sizeof(path), "/api/v1/payments/withdrawals/%s/cancel", wid);
    expect_problem(&srv, "POST", path, NULL, token, NULL, 403, "cancel_disabled", NULL);
    assert_int_equal(balance(&srv, id, "locked", "EUR"), 1000);
    verify_ledger(&srv);
    pb_server_stop(&srv);
}

/* ---- withdrawals ---- */

static void withdraw(const struct pb_server *srv, const char *token, const char *key,
                     long long amount, const char *want_state, char wid[PAYMENTS_ID_SIZE])
{
    char header[200], body[200];
    snprintf(header, sizeof(header), "Idempotency-Key: %s", key);
    snprintf(body, sizeof(body), "{\"method\":\"card\",\"amount_minor\":%lld,"
             "\"currency\":\"EUR\"}", amount);
    json_t *doc = call_json(srv, "POST", "/api/v1/payments/withdrawals", body, token, header, 201);
    assert_string_equal(str(doc, "state"), want_state);
    snprintf(wid, PAYMENTS_ID_SIZE, "%s", str(doc, "withdrawal_id"));
    json_decref(doc);
}

static void test_withdrawals_with_review(void **state)
{
    (void)state;
    struct pb_server srv;
    char id[PAM_PLAYER_ID_SIZE], token[PAM_TOKEN_TEXT_SIZE], d[PAYMENTS_ID_SIZE];
    char w1[PAYMENTS_ID_SIZE], w2[PAYMENTS_ID_SIZE], w3[PAYMENTS_ID_SIZE], w4[PAYMENTS_ID_SIZE];
    char path[200];
    pb_server_start(&srv, env);
    new_player(&srv, "demo", "wdr@example.com", id, token);
    deposit(&srv, token, "fund", "{\"method\":\"bank_transfer\",\"amount_minor\":100000,"
            "\"currency\":\"EUR\"}", d);
    wait_deposit(&srv, token, d, "succeeded");
    const char *wpath = "/api/v1/payments/withdrawals";
    const char *small = "{\"method\":\"card\",\"amount_minor\":2000,\"currency\":\"EUR\"}";
    expect_problem(&srv, "POST", wpath, small, token, "Idempotency-Key: nokyc", 403,
                   "kyc_required", NULL);
    verify_kyc(&srv, id, token);
    expect_problem(&srv, "POST", wpath, "{\"method\":\"card\",\"amount_minor\":200000,"
                   "\"currency\":\"EUR\"}", token, "Idempotency-Key: big", 422,
                   "insufficient_funds", "amount_minor");
    expect_problem(&srv, "POST", wpath, "{\"method\":\"card\",\"amount_minor\":2000,"
                   "\"currency\":\"EUR\",\"destination\":\"x\"}", token, "Idempotency-Key: d",
                   400, "validation_failed", "destination");

    /* no bets since the deposit: every withdrawal goes to review (low_wagering) */
    withdraw(&srv, token, "w1", 2000, "review", w1);
    assert_int_equal(balance(&srv, id, "cash", "EUR"), 98000);
    assert_int_equal(balance(&srv, id, "locked", "EUR"), 2000);
    json_t *doc = call_json(&srv, "GET", "/api/v1/admin/withdrawals?state=review", NULL,
                            "staff", NULL, 200);
    assert_int_equal(json_array_size(json_object_get(doc, "withdrawals")), 1);
    assert_string_equal(json_string_value(json_array_get(
                            json_object_get(json_array_get(json_object_get(doc, "withdrawals"),
                                                           0), "review_reasons"), 0)),
                        "low_wagering");
    json_decref(doc);
    expect_problem(&srv, "GET", "/api/v1/admin/withdrawals?state=paid", NULL, "staff", NULL,
                   400, "validation_failed", "state");

    /* reject: reason mandatory; the funds return; audited */
    snprintf(path, sizeof(path), "/api/v1/admin/withdrawals/%s/reject", w1);
    expect_problem(&srv, "POST", path, "{}", "staff", NULL, 400, "validation_failed", "reason");
    expect_problem(&srv, "POST", path, "{\"reason\":\"\"}", "staff", NULL, 400,
                   "validation_failed", "reason");
    doc = call_json(&srv, "POST", path, "{\"reason\":\"bonus abuse pattern\"}", "staff", NULL,
                    200);
    assert_string_equal(str(doc, "state"), "rejected");
    json_decref(doc);
    expect_problem(&srv, "POST", path, "{\"reason\":\"again\"}", "staff", NULL, 409,
                   "withdrawal_state_illegal", NULL);
    assert_int_equal(balance(&srv, id, "cash", "EUR"), 100000);
    assert_int_equal(balance(&srv, id, "locked", "EUR"), 0);
    doc = call_json(&srv, "GET", "/api/v1/admin/audit", NULL, "staff", NULL, 200);
    assert_string_equal(str(json_array_get(json_object_get(doc, "entries"), 0), "action"),
                        "payments.reject");
    json_decref(doc);

    /* approve -> sent to the PSP -> completed: the funds leave */
    withdraw(&srv, token, "w2", 3000, "review", w2);
    snprintf(path, sizeof(path), "/api/v1/admin/withdrawals/%s/approve", w2);
    json_decref(call_json(&srv, "POST", path, "{\"reason\":\"source of funds seen\"}", "staff",
                          NULL, 200));
    snprintf(path, sizeof(path), "/api/v1/payments/withdrawals/%s", w2);
    wait_state(&srv, path, token, "completed");
    assert_int_equal(balance(&srv, id, "cash", "EUR"), 97000);
    assert_int_equal(balance(&srv, id, "locked", "EUR"), 0);
    snprintf(path, sizeof(path), "/api/v1/payments/withdrawals/%s/cancel", w2);
    expect_problem(&srv, "POST", path, NULL, token, NULL, 409, "withdrawal_state_illegal", NULL);

    /* approve -> the PSP fails the payout (.13) -> failed: the funds return */
    withdraw(&srv, token, "w3", 3013, "review", w3);
    snprintf(path, sizeof(path), "/api/v1/admin/withdrawals/%s/approve", w3);
    json_decref(call_json(&srv, "POST", path, "{\"reason\":\"ok\"}", "staff", NULL, 200));
    snprintf(path, sizeof(path), "/api/v1/payments/withdrawals/%s", w3);
    wait_state(&srv, path, token, "failed");
    assert_int_equal(balance(&srv, id, "cash", "EUR"), 97000);

    /* the player cancels before processing starts */
    withdraw(&srv, token, "w4", 1500, "review", w4);
    snprintf(path, sizeof(path), "/api/v1/payments/withdrawals/%s/cancel", w4);
    doc = call_json(&srv, "POST", path, NULL, token, NULL, 200);
    assert_string_equal(str(doc, "state"), "cancelled");
    json_decref(doc);
    expect_problem(&srv, "POST", path, NULL, token, NULL, 409, "withdrawal_state_illegal", NULL);
    assert_int_equal(balance(&srv, id, "cash", "EUR"), 97000);
    snprintf(path, sizeof(path), "/api/v1/admin/withdrawals/%s/approve", w4);
    expect_problem(&srv, "POST", path, "{\"reason\":\"ok\"}", "staff", NULL, 409,
                   "withdrawal_state_illegal", NULL);
    expect_problem(&srv, "POST", "/api/v1/admin/withdrawals/wdr_none/approve",
                   "{\"reason\":\"ok\"}", "staff", NULL, 404, "withdrawal_not_found", NULL);
    doc = call_json(&srv, "GET", "/api/v1/admin/payments/reconciliation?psp=sandbox", NULL,
                    "staff", NULL, 200);
    if (json_integer_value(json_object_get(doc, "mismatches")) != 0)
        fail_msg("reconciliation: %s", str(doc, "report"));
    json_decref(doc);
    verify_ledger(&srv);
    pb_server_stop(&srv);
}

/* ---- crypto ---- */

static json_t *report(const struct pb_server *srv, const char *txid, const char *address,
                      long long amount, int conf, bool dropped, long status)
{
    char body[400];
    struct pb_response r;
    json_error_t err;
    snprintf(body, sizeof(body), "{\"txid\":\"%s\",\"vout\":0,\"asset\":\"BTC\",\"address\":"
             "\"%s\",\"amount_minor\":%lld,\"confirmations\":%d,\"dropped\":%s}", txid, address,
             amount, conf, dropped ? "true" : "false");
    signed_post(srv, "/api/v1/payments/chain/bitcoin/reports", CHAIN_SECRET, body, 0, &r);
    if (r.status != status)
        fail_msg("report %s answered %ld: %s", txid, r.status, r.body);
    json_t *doc = json_loads(r.body, 0, &err);
    pb_response_release(&r);
    return doc;
}

static void expect_report(const struct pb_server *srv, const char *txid, const char *address,
                          long long amount, int conf, bool dropped, const char *state,
                          bool changed)
{
    json_t *doc = report(srv, txid, address, amount, conf, dropped, 200);
    assert_string_equal(str(doc, "state"), state);
    assert_int_equal(json_is_true(json_object_get(doc, "changed")), changed);
    json_decref(doc);
}

static void test_crypto_confirmations_reorg_and_batches(void **state)
{
    (void)state;
    struct pb_server srv;
    char id[PAM_PLAYER_ID_SIZE], token[PAM_TOKEN_TEXT_SIZE], addr[PAYMENTS_ADDRESS_MAX + 1];
    pb_server_start(&srv, env);
    new_player(&srv, "demo", "btc@example.com", id, token);
    verify_kyc(&srv, id, token);
    const char *mine = "{\"chain\":\"bitcoin\",\"asset\":\"BTC\"}";
    expect_problem(&srv, "POST", "/api/v1/payments/crypto/addresses", mine, token, NULL, 409,
                   "address_pool_empty", NULL);
    expect_problem(&srv, "POST", "/api/v1/admin/payments/crypto/addresses",
                   "{\"chain\":\"bitcoin\",\"asset\":\"EUR\",\"addresses\":[\"bc1a\"]}",
                   "staff", NULL, 400, "validation_failed", "asset");
    json_t *doc = call_json(&srv, "POST", "/api/v1/admin/payments/crypto/addresses",
                            "{\"chain\":\"bitcoin\",\"asset\":\"BTC\",\"addresses\":"
                            "[\"bc1qpool0\",\"bc1qpool1\"]}", "staff", NULL, 200);
    assert_int_equal(json_integer_value(json_object_get(doc, "added")), 2);
    json_decref(doc);
    doc = call_json(&srv, "POST", "/api/v1/payments/crypto/addresses", mine, token, NULL, 200);
    snprintf(addr, sizeof(addr), "%s", str(doc, "address"));
    assert_int_equal(json_integer_value(json_object_get(doc, "confirmations_play")), 2);
    json_decref(doc);

    /* confirmations: seen at 1, credited at N1 = 2, withdrawable at N2 = 6 */
    expect_report(&srv, "tx1", addr, 50000, 1, false, "seen", true);
    assert_int_equal(balance(&srv, id, "cash", "BTC"), 0);
    expect_report(&srv, "tx1", addr, 50000, 2, false, "credited", true);
    expect_report(&srv, "tx1", addr, 50000, 2, false, "credited", false); /* duplicate */
    assert_int_equal(balance(&srv, id, "cash", "BTC"), 50000);
    const char *wpath = "/api/v1/payments/withdrawals";
    const char *out = "{\"method\":\"crypto\",\"amount_minor\":10000,\"currency\":\"BTC\","
                      "\"destination\":\"bc1qexternal\"}";
    expect_problem(&srv, "POST", wpath, out, token, "Idempotency-Key: c1", 422,
                   "insufficient_funds", "amount_minor");
    expect_report(&srv, "tx1", addr, 50000, 6, false, "settled", true);

    /* a reorganisation drops a credited output: the credit is reversed */
    expect_report(&srv, "tx2", addr, 7000, 3, false, "credited", true);
    assert_int_equal(balance(&srv, id, "cash", "BTC"), 57000);
    expect_report(&srv, "tx2", addr, 7000, 0, true, "reversed", true);
    expect_report(&srv, "tx2", addr, 7000, 4, false, "reversed", false);
    assert_int_equal(balance(&srv, id, "cash", "BTC"), 50000);
    json_decref(report(&srv, "tx3", "bc1qnobody", 100, 3, false, 404));
    struct pb_response r;
    signed_post(&srv, "/api/v1/payments/chain/bitcoin/reports", "wrong", "{}", 0, &r);
    pb_assert_problem(&r, 401, "signature_invalid");
    pb_response_release(&r);

    /* a crypto withdrawal: no review rule fires (verified, below the threshold, no fiat
     * deposit to wager): approved at once, batched, confirmed */
    char header[64] = "Idempotency-Key: c2", wid[PAYMENTS_ID_SIZE], path[200];
    doc = call_json(&srv, "POST", wpath, out, token, header, 201);
    snprintf(wid, sizeof(wid), "%s", str(doc, "withdrawal_id"));
    assert_string_equal(str(doc, "state"), "approved");
    json_decref(doc);
    snprintf(path, sizeof(path), "/api/v1/payments/withdrawals/%s", wid);
    wait_state(&srv, path, token, "processing");
    doc = call_json(&srv, "GET", path, NULL, token, NULL, 200);
    char batch[PAYMENTS_TXID_MAX + 1], bpath[300];
    snprintf(batch, sizeof(batch), "%s", str(doc, "batch"));
    json_decref(doc);
    snprintf(bpath, sizeof(bpath), "/api/v1/payments/chain/bitcoin/batches/%s", batch);
    signed_post(&srv, bpath, CHAIN_SECRET, "{\"confirmations\":1}", 0, &r);
    assert_int_equal(r.status, 200);
    pb_response_release(&r);
    wait_state(&srv, path, token, "processing"); /* below N1 */
    signed_post(&srv, bpath, CHAIN_SECRET, "{\"confirmations\":2}", 0, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"completed\":1"));
    pb_response_release(&r);
    wait_state(&srv, path, token, "completed");
    assert_int_equal(balance(&srv, id, "cash", "BTC"), 40000);
    assert_int_equal(balance(&srv, id, "locked", "BTC"), 0);
    verify_ledger(&srv);
    pb_server_stop(&srv);
}

static int setup(void **state)
{
    (void)state;
    curl_global_init(CURL_GLOBAL_ALL);
    write_jurisdictions();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(jurisdictions_path);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deposits_through_the_sandbox),
        cmocka_unit_test(test_kyc_gate_before_deposits),
        cmocka_unit_test(test_cancel_can_be_disabled),
        cmocka_unit_test(test_withdrawals_with_review),
        cmocka_unit_test(test_crypto_confirmations_reorg_and_batches),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
