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
#include "fixtures.h"
#include "pam/auth.h"
#include "pam/pam.h"
#include "payments/payments.h"

#define STAFF "staff-token-for-payments-tests-0123456789"
#define PSP_SECRET "psp-sandbox-secret-for-tests"
#define CHAIN_SECRET "chain-watcher-secret-for-tests"

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

static void verify_kyc(const struct pb_server *srv, const char *id, const char *token)
{
    char path[160];
    json_decref(pb_call_json(srv, "POST", "/api/v1/players/me/kyc/documents",
                             "{\"type\":\"passport\",\"reference\":\"p-1\"}", token, NULL, 201));
    snprintf(path, sizeof(path), "/api/v1/admin/kyc/%s/decision", id);
    json_decref(pb_call_json(srv, "POST", path,
                             "{\"decision\":\"verify\",\"tier\":1,\"reason\":\"documents ok\"}",
                             STAFF, NULL, 200));
}

/* Starts a deposit with key; returns its id (static buffer per call site). */
static void deposit(const struct pb_server *srv, const char *token, const char *key,
                    const char *body, char id[PAYMENTS_ID_SIZE])
{
    char header[200];
    snprintf(header, sizeof(header), "Idempotency-Key: %s", key);
    json_t *doc = pb_call_json(srv, "POST", "/api/v1/payments/deposits", body, token, header, 201);
    assert_string_equal(pb_str_at(doc, "state"), "initiated");
    assert_non_null(strstr(pb_str_at(doc, "redirect_url"), pb_str_at(doc, "reference")));
    snprintf(id, PAYMENTS_ID_SIZE, "%s", pb_str_at(doc, "deposit_id"));
    json_decref(doc);
}

/* Polls GET path until "state" is want (asserts within 10 s). */
static void wait_state(const struct pb_server *srv, const char *path, const char *token,
                       const char *want)
{
    char last[64] = "";
    for (int i = 0; i < 200; i++) {
        json_t *doc = pb_call_json(srv, "GET", path, NULL, token, NULL, 200);
        snprintf(last, sizeof(last), "%s", pb_str_at(doc, "state"));
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

/* POST a body to path signed with secret at t (0: now); returns the response. */
static void signed_post(const struct pb_server *srv, const char *path, const char *secret,
                        const char *body, int64_t t, struct pb_response *r)
{
    char sig[PAYMENTS_SIGNATURE_HEADER_MAX], header[PAYMENTS_SIGNATURE_HEADER_MAX + 32];
    payments_sign(secret, t ? t : (int64_t)time(NULL), body, strlen(body), sig);
    snprintf(header, sizeof(header), "X-Pitboss-Signature: %s", sig);
    pb_call(srv, "POST", path, body, NULL, header, r);
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
    pb_player_new(&srv, "demo", "dep@example.com", "EUR", id, PAM_PLAYER_ID_SIZE, token,
                  PAM_TOKEN_TEXT_SIZE);
    pb_player_new(&srv, "demo", "other@example.com", "EUR", other, PAM_PLAYER_ID_SIZE, other_token,
                  PAM_TOKEN_TEXT_SIZE);
    json_t *doc = pb_call_json(&srv, "GET", "/api/v1/payments/methods", NULL, NULL, NULL, 200);
    assert_true(json_array_size(json_object_get(doc, "methods")) >= 2);
    json_decref(doc);

    const char *path = "/api/v1/payments/deposits";
    const char *card = "{\"method\":\"card\",\"amount_minor\":5000,\"currency\":\"EUR\"}";
    pb_expect_problem(&srv, "POST", path, card, NULL, "Idempotency-Key: k", 401, "unauthorized",
                      NULL);
    pb_expect_problem(&srv, "POST", path, card, token, NULL, 400, "validation_failed",
                      "Idempotency-Key");
    pb_expect_problem(&srv, "POST", path,
                      "{\"method\":\"cheque\",\"amount_minor\":5000,"
                      "\"currency\":\"EUR\"}",
                      token, "Idempotency-Key: k", 400, "validation_failed", "method");
    pb_expect_problem(&srv, "POST", path,
                      "{\"method\":\"card\",\"amount_minor\":5000,"
                      "\"currency\":\"EUR\",\"scenario\":\"explode\"}",
                      token, "Idempotency-Key: k", 400, "validation_failed", "scenario");
    pb_expect_problem(&srv, "POST", path,
                      "{\"method\":\"card\",\"amount_minor\":10,"
                      "\"currency\":\"EUR\"}",
                      token, "Idempotency-Key: small", 422, "amount_out_of_range", "amount_minor");

    /* succeed: pending, then succeeded; credited once, less the player's card fee */
    deposit(&srv, token, "k1", card, d1);
    wait_deposit(&srv, token, d1, "succeeded");
    assert_int_equal(pb_balance(&srv, STAFF, id, "cash", "EUR", "available_minor"), 4900);
    /* the same request again: the recorded answer; another body with the key: conflict */
    struct pb_response r;
    pb_call(&srv, "POST", path, card, token, "Idempotency-Key: k1", &r);
    assert_int_equal(r.status, 201);
    assert_non_null(strstr(r.body, d1));
    char replayed[16];
    assert_true(pb_response_header(&r, "Idempotent-Replayed", replayed, sizeof(replayed)));
    pb_response_release(&r);
    pb_expect_problem(&srv, "POST", path,
                      "{\"method\":\"card\",\"amount_minor\":6000,"
                      "\"currency\":\"EUR\"}",
                      token, "Idempotency-Key: k1", 409, "idempotency_conflict", "amount_minor");
    /* somebody else's deposit is not found */
    char own[128];
    snprintf(own, sizeof(own), "/api/v1/payments/deposits/%s", d1);
    pb_expect_problem(&srv, "GET", own, NULL, other_token, NULL, 404, "deposit_not_found", NULL);

    /* duplicate and out-of-order callbacks: credited once, never backwards */
    deposit(&srv, token, "k2", "{\"method\":\"bank_transfer\",\"amount_minor\":10000,"
            "\"currency\":\"EUR\",\"scenario\":\"duplicate\"}", d2);
    deposit(&srv, token, "k3", "{\"method\":\"bank_transfer\",\"amount_minor\":20016,"
            "\"currency\":\"EUR\"}", d3); /* .16: out of order */
    wait_deposit(&srv, token, d2, "succeeded");
    wait_deposit(&srv, token, d3, "succeeded");
    pb_sleep_ms(800); /* the late "pending" and the repeats arrive */
    wait_deposit(&srv, token, d3, "succeeded");
    assert_int_equal(pb_balance(&srv, STAFF, id, "cash", "EUR", "available_minor"),
                     4900 + 10000 + 20016);

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
    assert_int_equal(pb_balance(&srv, STAFF, id, "cash", "EUR", "available_minor"), 34916);

    /* forged and broken webhooks: refused, nothing credited */
    const char *hook = "/api/v1/payments/webhooks/sandbox";
    char body[512];
    doc = pb_call_json(&srv, "GET", own, NULL, token, NULL, 200);
    snprintf(body, sizeof(body),
             "{\"event_id\":\"forged-1\",\"type\":\"deposit.succeeded\","
             "\"reference\":\"%s\",\"amount_minor\":5014,\"currency\":\"EUR\"}",
             pb_str_at(doc, "reference"));
    json_decref(doc);
    signed_post(&srv, hook, "not-the-secret", body, 0, &r);
    pb_assert_problem(&r, 401, "signature_invalid");
    pb_response_release(&r);
    signed_post(&srv, hook, PSP_SECRET, body, (int64_t)time(NULL) - 3600, &r);
    pb_assert_problem(&r, 401, "signature_expired");
    pb_response_release(&r);
    pb_call(&srv, "POST", hook, body, NULL, NULL, &r);
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
    doc = pb_call_json(&srv, "GET", own, NULL, token, NULL, 200);
    snprintf(body, sizeof(body),
             "{\"event_id\":\"late-1\",\"type\":\"deposit.succeeded\","
             "\"reference\":\"%s\",\"amount_minor\":5000,\"currency\":\"EUR\"}",
             pb_str_at(doc, "reference"));
    json_decref(doc);
    signed_post(&srv, hook, PSP_SECRET, body, 0, &r);
    assert_int_equal(r.status, 200);
    assert_non_null(strstr(r.body, "\"ignored\""));
    pb_response_release(&r);
    signed_post(&srv, hook, PSP_SECRET, body, 0, &r); /* the same event again */
    assert_non_null(strstr(r.body, "\"duplicate\""));
    pb_response_release(&r);
    assert_int_equal(pb_balance(&srv, STAFF, id, "cash", "EUR", "available_minor"), 34916);

    /* reconciliation: the sandbox's statement agrees with the payments */
    doc = pb_call_json(&srv, "GET", "/api/v1/admin/payments/reconciliation?psp=sandbox", NULL,
                       STAFF, NULL, 200);
    if (json_integer_value(json_object_get(doc, "mismatches")) != 0)
        fail_msg("reconciliation: %s", pb_str_at(doc, "report"));
    json_decref(doc);
    pb_call(&srv, "GET", "/api/v1/admin/payments/statements/sandbox", NULL, STAFF, NULL, &r);
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
    pb_ledger_verify_ok(&srv);
    pb_server_stop(&srv);
}

static void test_kyc_gate_before_deposits(void **state)
{
    (void)state;
    struct pb_server srv;
    char id[PAM_PLAYER_ID_SIZE], token[PAM_TOKEN_TEXT_SIZE], d[PAYMENTS_ID_SIZE];
    pb_server_start(&srv, env);
    pb_player_new(&srv, "strict", "strict@example.com", "EUR", id, PAM_PLAYER_ID_SIZE, token,
                  PAM_TOKEN_TEXT_SIZE);
    const char *card = "{\"method\":\"card\",\"amount_minor\":5000,\"currency\":\"EUR\"}";
    pb_expect_problem(&srv, "POST", "/api/v1/payments/deposits", card, token, "Idempotency-Key: g1",
                      403, "kyc_required", NULL);
    assert_int_equal(pb_balance(&srv, STAFF, id, "cash", "EUR", "available_minor"), 0);
    verify_kyc(&srv, id, token);
    deposit(&srv, token, "g2", card, d);
    wait_deposit(&srv, token, d, "succeeded");
    assert_int_equal(pb_balance(&srv, STAFF, id, "cash", "EUR", "available_minor"), 4900);
    /* a deposit block refuses the next one */
    char path[160];
    snprintf(path, sizeof(path), "/api/v1/admin/players/%s/blocks", id);
    json_decref(pb_call_json(&srv, "POST", path, "{\"block\":\"deposit\",\"reason\":\"AML check\"}",
                             STAFF, NULL, 200));
    pb_expect_problem(&srv, "POST", "/api/v1/payments/deposits", card, token, "Idempotency-Key: g3",
                      403, "deposit_blocked", NULL);
    assert_int_equal(pb_balance(&srv, STAFF, id, "cash", "EUR", "available_minor"), 4900);
    pb_ledger_verify_ok(&srv);
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
    pb_player_new(&srv, "demo", "nocancel@example.com", "EUR", id, PAM_PLAYER_ID_SIZE, token,
                  PAM_TOKEN_TEXT_SIZE);
    verify_kyc(&srv, id, token);
    deposit(&srv, token, "f",
            "{\"method\":\"card\",\"amount_minor\":5000,\"currency\":\"EUR\"}", d);
    wait_deposit(&srv, token, d, "succeeded");
    withdraw(&srv, token, "w", 1000, "review", wid);
    snprintf(path, sizeof(path), "/api/v1/payments/withdrawals/%s/cancel", wid);
    pb_expect_problem(&srv, "POST", path, NULL, token, NULL, 403, "cancel_disabled", NULL);
    assert_int_equal(pb_balance(&srv, STAFF, id, "locked", "EUR", "available_minor"), 1000);
    pb_ledger_verify_ok(&srv);
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
    json_t *doc =
        pb_call_json(srv, "POST", "/api/v1/payments/withdrawals", body, token, header, 201);
    assert_string_equal(pb_str_at(doc, "state"), want_state);
    snprintf(wid, PAYMENTS_ID_SIZE, "%s", pb_str_at(doc, "withdrawal_id"));
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
    pb_player_new(&srv, "demo", "wdr@example.com", "EUR", id, PAM_PLAYER_ID_SIZE, token,
                  PAM_TOKEN_TEXT_SIZE);
    deposit(&srv, token, "fund", "{\"method\":\"bank_transfer\",\"amount_minor\":100000,"
            "\"currency\":\"EUR\"}", d);
    wait_deposit(&srv, token, d, "succeeded");
    const char *wpath = "/api/v1/payments/withdrawals";
    const char *small = "{\"method\":\"card\",\"amount_minor\":2000,\"currency\":\"EUR\"}";
    pb_expect_problem(&srv, "POST", wpath, small, token, "Idempotency-Key: nokyc", 403,
                      "kyc_required", NULL);
    verify_kyc(&srv, id, token);
    pb_expect_problem(&srv, "POST", wpath,
                      "{\"method\":\"card\",\"amount_minor\":200000,"
                      "\"currency\":\"EUR\"}",
                      token, "Idempotency-Key: big", 422, "insufficient_funds", "amount_minor");
    pb_expect_problem(&srv, "POST", wpath,
                      "{\"method\":\"card\",\"amount_minor\":2000,"
                      "\"currency\":\"EUR\",\"destination\":\"x\"}",
                      token, "Idempotency-Key: d", 400, "validation_failed", "destination");

    /* no bets since the deposit: every withdrawal goes to review (low_wagering) */
    withdraw(&srv, token, "w1", 2000, "review", w1);
    assert_int_equal(pb_balance(&srv, STAFF, id, "cash", "EUR", "available_minor"), 98000);
    assert_int_equal(pb_balance(&srv, STAFF, id, "locked", "EUR", "available_minor"), 2000);
    json_t *doc =
        pb_call_json(&srv, "GET", "/api/v1/admin/withdrawals?state=review", NULL, STAFF, NULL, 200);
    assert_int_equal(json_array_size(json_object_get(doc, "withdrawals")), 1);
    assert_string_equal(json_string_value(json_array_get(
                            json_object_get(json_array_get(json_object_get(doc, "withdrawals"),
                                                           0), "review_reasons"), 0)),
                        "low_wagering");
    json_decref(doc);
    pb_expect_problem(&srv, "GET", "/api/v1/admin/withdrawals?state=paid", NULL, STAFF, NULL, 400,
                      "validation_failed", "state");

    /* reject: reason mandatory; the funds return; audited */
    snprintf(path, sizeof(path), "/api/v1/admin/withdrawals/%s/reject", w1);
    pb_expect_problem(&srv, "POST", path, "{}", STAFF, NULL, 400, "validation_failed", "reason");
    pb_expect_problem(&srv, "POST", path, "{\"reason\":\"\"}", STAFF, NULL, 400,
                      "validation_failed", "reason");
    doc =
        pb_call_json(&srv, "POST", path, "{\"reason\":\"bonus abuse pattern\"}", STAFF, NULL, 200);
    assert_string_equal(pb_str_at(doc, "state"), "rejected");
    json_decref(doc);
    pb_expect_problem(&srv, "POST", path, "{\"reason\":\"again\"}", STAFF, NULL, 409,
                      "withdrawal_state_illegal", NULL);
    assert_int_equal(pb_balance(&srv, STAFF, id, "cash", "EUR", "available_minor"), 100000);
    assert_int_equal(pb_balance(&srv, STAFF, id, "locked", "EUR", "available_minor"), 0);
    doc = pb_call_json(&srv, "GET", "/api/v1/admin/audit", NULL, STAFF, NULL, 200);
    assert_string_equal(pb_str_at(json_array_get(json_object_get(doc, "entries"), 0), "action"),
                        "payments.reject");
    json_decref(doc);

    /* approve -> sent to the PSP -> completed: the funds leave */
    withdraw(&srv, token, "w2", 3000, "review", w2);
    snprintf(path, sizeof(path), "/api/v1/admin/withdrawals/%s/approve", w2);
    json_decref(pb_call_json(&srv, "POST", path, "{\"reason\":\"source of funds seen\"}", STAFF,
                             NULL, 200));
    snprintf(path, sizeof(path), "/api/v1/payments/withdrawals/%s", w2);
    wait_state(&srv, path, token, "completed");
    assert_int_equal(pb_balance(&srv, STAFF, id, "cash", "EUR", "available_minor"), 97000);
    assert_int_equal(pb_balance(&srv, STAFF, id, "locked", "EUR", "available_minor"), 0);
    snprintf(path, sizeof(path), "/api/v1/payments/withdrawals/%s/cancel", w2);
    pb_expect_problem(&srv, "POST", path, NULL, token, NULL, 409, "withdrawal_state_illegal", NULL);

    /* approve -> the PSP fails the payout (.13) -> failed: the funds return */
    withdraw(&srv, token, "w3", 3013, "review", w3);
    snprintf(path, sizeof(path), "/api/v1/admin/withdrawals/%s/approve", w3);
    json_decref(pb_call_json(&srv, "POST", path, "{\"reason\":\"ok\"}", STAFF, NULL, 200));
    snprintf(path, sizeof(path), "/api/v1/payments/withdrawals/%s", w3);
    wait_state(&srv, path, token, "failed");
    assert_int_equal(pb_balance(&srv, STAFF, id, "cash", "EUR", "available_minor"), 97000);

    /* the player cancels before processing starts */
    withdraw(&srv, token, "w4", 1500, "review", w4);
    snprintf(path, sizeof(path), "/api/v1/payments/withdrawals/%s/cancel", w4);
    doc = pb_call_json(&srv, "POST", path, NULL, token, NULL, 200);
    assert_string_equal(pb_str_at(doc, "state"), "cancelled");
    json_decref(doc);
    pb_expect_problem(&srv, "POST", path, NULL, token, NULL, 409, "withdrawal_state_illegal", NULL);
    assert_int_equal(pb_balance(&srv, STAFF, id, "cash", "EUR", "available_minor"), 97000);
    snprintf(path, sizeof(path), "/api/v1/admin/withdrawals/%s/approve", w4);
    pb_expect_problem(&srv, "POST", path, "{\"reason\":\"ok\"}", STAFF, NULL, 409,
                      "withdrawal_state_illegal", NULL);
    pb_expect_problem(&srv, "POST", "/api/v1/admin/withdrawals/wdr_none/approve",
                      "{\"reason\":\"ok\"}", STAFF, NULL, 404, "withdrawal_not_found", NULL);
    doc = pb_call_json(&srv, "GET", "/api/v1/admin/payments/reconciliation?psp=sandbox", NULL,
                       STAFF, NULL, 200);
    if (json_integer_value(json_object_get(doc, "mismatches")) != 0)
        fail_msg("reconciliation: %s", pb_str_at(doc, "report"));
    json_decref(doc);
    pb_ledger_verify_ok(&srv);
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
    assert_string_equal(pb_str_at(doc, "state"), state);
    assert_int_equal(json_is_true(json_object_get(doc, "changed")), changed);
    json_decref(doc);
}

static void test_crypto_confirmations_reorg_and_batches(void **state)
{
    (void)state;
    struct pb_server srv;
    char id[PAM_PLAYER_ID_SIZE], token[PAM_TOKEN_TEXT_SIZE], addr[PAYMENTS_ADDRESS_MAX + 1];
    pb_server_start(&srv, env);
    pb_player_new(&srv, "demo", "btc@example.com", "EUR", id, PAM_PLAYER_ID_SIZE, token,
                  PAM_TOKEN_TEXT_SIZE);
    verify_kyc(&srv, id, token);
    const char *mine = "{\"chain\":\"bitcoin\",\"asset\":\"BTC\"}";
    pb_expect_problem(&srv, "POST", "/api/v1/payments/crypto/addresses", mine, token, NULL, 409,
                      "address_pool_empty", NULL);
    pb_expect_problem(&srv, "POST", "/api/v1/admin/payments/crypto/addresses",
                      "{\"chain\":\"bitcoin\",\"asset\":\"EUR\",\"addresses\":[\"bc1a\"]}", STAFF,
                      NULL, 400, "validation_failed", "asset");
    json_t *doc = pb_call_json(&srv, "POST", "/api/v1/admin/payments/crypto/addresses",
                               "{\"chain\":\"bitcoin\",\"asset\":\"BTC\",\"addresses\":"
                               "[\"bc1qpool0\",\"bc1qpool1\"]}",
                               STAFF, NULL, 200);
    assert_int_equal(json_integer_value(json_object_get(doc, "added")), 2);
    json_decref(doc);
    doc = pb_call_json(&srv, "POST", "/api/v1/payments/crypto/addresses", mine, token, NULL, 200);
    snprintf(addr, sizeof(addr), "%s", pb_str_at(doc, "address"));
    assert_int_equal(json_integer_value(json_object_get(doc, "confirmations_play")), 2);
    json_decref(doc);

    /* confirmations: seen at 1, credited at N1 = 2, withdrawable at N2 = 6 */
    expect_report(&srv, "tx1", addr, 50000, 1, false, "seen", true);
    assert_int_equal(pb_balance_or(&srv, STAFF, id, "cash", "BTC", "available_minor", 0), 0);
    expect_report(&srv, "tx1", addr, 50000, 2, false, "credited", true);
    expect_report(&srv, "tx1", addr, 50000, 2, false, "credited", false); /* duplicate */
    assert_int_equal(pb_balance(&srv, STAFF, id, "cash", "BTC", "available_minor"), 50000);
    const char *wpath = "/api/v1/payments/withdrawals";
    const char *out = "{\"method\":\"crypto\",\"amount_minor\":10000,\"currency\":\"BTC\","
                      "\"destination\":\"bc1qexternal\"}";
    pb_expect_problem(&srv, "POST", wpath, out, token, "Idempotency-Key: c1", 422,
                      "insufficient_funds", "amount_minor");
    expect_report(&srv, "tx1", addr, 50000, 6, false, "settled", true);

    /* a reorganisation drops a credited output: the credit is reversed */
    expect_report(&srv, "tx2", addr, 7000, 3, false, "credited", true);
    assert_int_equal(pb_balance(&srv, STAFF, id, "cash", "BTC", "available_minor"), 57000);
    expect_report(&srv, "tx2", addr, 7000, 0, true, "reversed", true);
    expect_report(&srv, "tx2", addr, 7000, 4, false, "reversed", false);
    assert_int_equal(pb_balance(&srv, STAFF, id, "cash", "BTC", "available_minor"), 50000);
    json_decref(report(&srv, "tx3", "bc1qnobody", 100, 3, false, 404));
    struct pb_response r;
    signed_post(&srv, "/api/v1/payments/chain/bitcoin/reports", "wrong", "{}", 0, &r);
    pb_assert_problem(&r, 401, "signature_invalid");
    pb_response_release(&r);

    /* a crypto withdrawal: no review rule fires (verified, below the threshold, no fiat
     * deposit to wager): approved at once, batched, confirmed */
    char header[64] = "Idempotency-Key: c2", wid[PAYMENTS_ID_SIZE], path[200];
    doc = pb_call_json(&srv, "POST", wpath, out, token, header, 201);
    snprintf(wid, sizeof(wid), "%s", pb_str_at(doc, "withdrawal_id"));
    assert_string_equal(pb_str_at(doc, "state"), "approved");
    json_decref(doc);
    snprintf(path, sizeof(path), "/api/v1/payments/withdrawals/%s", wid);
    wait_state(&srv, path, token, "processing");
    doc = pb_call_json(&srv, "GET", path, NULL, token, NULL, 200);
    char batch[PAYMENTS_TXID_MAX + 1], bpath[300];
    snprintf(batch, sizeof(batch), "%s", pb_str_at(doc, "batch"));
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
    assert_int_equal(pb_balance(&srv, STAFF, id, "cash", "BTC", "available_minor"), 40000);
    assert_int_equal(pb_balance(&srv, STAFF, id, "locked", "BTC", "available_minor"), 0);
    pb_ledger_verify_ok(&srv);
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
