/* 47_kyc_api.c: KYC against the real binary (docs/kyc.md): a player submits document
 * metadata and reads the state; bad input names the field and changes nothing; staff see the
 * queue and decide (reject, then verify by the sandbox provider's webhook); webhooks are
 * refused without a configured secret (503), with a bad, missing or expired signature (401),
 * and a repeated event id answers 200 and changes nothing; illegal transitions answer 409. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>
#include <sodium.h>

#include "client.h"
#include "fixtures.h"
#include "pam/auth.h"
#include "pam/kyc.h"

#define STAFF "staff-token-for-kyc-tests-0123456789"
#define SECRET "kyc-sandbox-secret-for-tests"

static const char *const env[] = {"PITBOSS_STAFF_TOKEN=" STAFF,
                                  "PITBOSS_KYC_SANDBOX_SECRET=" SECRET, NULL};

/* GET /players/me/kyc: asserts state and tier; returns the number of documents. */
static size_t expect_state(const struct pb_server *srv, const char *token, const char *state,
                           int tier)
{
    json_t *doc = pb_call_json(srv, "GET", "/api/v1/players/me/kyc", NULL, token, NULL, 200);
    assert_string_equal(json_string_value(json_object_get(doc, "state")), state);
    assert_int_equal(json_integer_value(json_object_get(doc, "tier")), tier);
    size_t n = json_array_size(json_object_get(doc, "documents"));
    json_decref(doc);
    return n;
}

static void test_documents_state_and_bad_input(void **state)
{
    (void)state;
    struct pb_server srv;
    char id[PAM_PLAYER_ID_SIZE], token[PAM_TOKEN_TEXT_SIZE];
    pb_server_start(&srv, env);
    pb_player_new(&srv, "demo", "docs@example.com", "EUR", id, PAM_PLAYER_ID_SIZE, token,
                  PAM_TOKEN_TEXT_SIZE);
    json_t *doc = pb_call_json(&srv, "GET", "/api/v1/players/me/kyc", NULL, token, NULL, 200);
    assert_string_equal(json_string_value(json_object_get(doc, "state")), "none");
    json_t *req = json_object_get(doc, "kyc_required");
    assert_int_equal(json_array_size(req), 1);
    assert_string_equal(json_string_value(json_array_get(req, 0)), "withdrawal");
    json_decref(doc);
    const char *path = "/api/v1/players/me/kyc/documents";
    pb_expect_problem(&srv, "POST", path, "{\"type\":\"passport\",\"reference\":\"r1\"}", NULL,
                      NULL, 401, "unauthorized", NULL);
    pb_expect_problem(&srv, "POST", path, "{\"type\":\"selfie\",\"reference\":\"r1\"}", token, NULL,
                      400, "validation_failed", "type");
    pb_expect_problem(&srv, "POST", path, "{\"type\":\"passport\",\"reference\":\"a b\"}", token,
                      NULL, 400, "validation_failed", "reference");
    pb_expect_problem(&srv, "POST", path, "{\"type\":\"passport\"}", token, NULL, 400,
                      "validation_failed", "reference");
    pb_expect_problem(&srv, "POST", path, "{\"type\":\"passport\",\"reference\":\"r\",\"x\":1}",
                      token, NULL, 400, "validation_failed", "x");
    assert_int_equal(expect_state(&srv, token, "none", 0), 0);
    doc = pb_call_json(&srv, "POST", path, "{\"type\":\"passport\",\"reference\":\"up:abc/1\"}",
                       token, NULL, 201);
    assert_string_equal(json_string_value(json_object_get(doc, "status")), "submitted");
    assert_string_equal(json_string_value(json_object_get(json_object_get(doc, "kyc"),
                                                          "state")), "pending");
    json_decref(doc);
    assert_int_equal(expect_state(&srv, token, "pending", 0), 1);
    pb_server_stop(&srv);
}

static void signed_header(const char *body, int64_t t_s, char *out, size_t len)
{
    char sig[KYC_SIGNATURE_HEADER_MAX];
    kyc_sandbox_sign(SECRET, t_s, body, strlen(body), sig);
    snprintf(out, len, "X-Pitboss-Signature: %s", sig);
}

static void decision(const struct pb_server *srv, const char *id, const char *body,
                     long status, const char *code, const char *field)
{
    char path[128];
    snprintf(path, sizeof(path), "/api/v1/admin/kyc/%s/decision", id);
    if (code)
        pb_expect_problem(srv, "POST", path, body, STAFF, NULL, status, code, field);
    else
        json_decref(pb_call_json(srv, "POST", path, body, STAFF, NULL, status));
}

static void test_staff_review_webhooks_and_history(void **state)
{
    (void)state;
    struct pb_server srv;
    char id[PAM_PLAYER_ID_SIZE], token[PAM_TOKEN_TEXT_SIZE], body[512], hdr[400];
    pb_server_start(&srv, env);
    pb_player_new(&srv, "demo", "review@example.com", "EUR", id, PAM_PLAYER_ID_SIZE, token,
                  PAM_TOKEN_TEXT_SIZE);
    const char *doc_body = "{\"type\":\"id_card\",\"reference\":\"up:1\"}";
    json_decref(
        pb_call_json(&srv, "POST", "/api/v1/players/me/kyc/documents", doc_body, token, NULL, 201));
    pb_expect_problem(&srv, "GET", "/api/v1/admin/kyc/queue", NULL, NULL, NULL, 401, "unauthorized",
                      NULL);
    json_t *q = pb_call_json(&srv, "GET", "/api/v1/admin/kyc/queue", NULL, STAFF, NULL, 200);
    json_t *players = json_object_get(q, "players");
    assert_int_equal(json_array_size(players), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(players, 0),
                                                           "player_id")), id);
    json_decref(q);
    decision(&srv, id, "{\"decision\":\"approve\",\"reason\":\"x\"}", 400, "validation_failed",
             "decision");
    decision(&srv, id, "{\"decision\":\"verify\",\"reason\":\"x\"}", 400, "validation_failed",
             "tier");
    decision(&srv, id, "{\"decision\":\"verify\",\"tier\":3,\"reason\":\"x\"}", 400,
             "validation_failed", "tier");
    decision(&srv, id, "{\"decision\":\"verify\",\"tier\":1}", 400, "validation_failed",
             "reason");
    decision(&srv, "000000000000000000000000", "{\"decision\":\"reject\",\"reason\":\"x\"}",
             404, "player_not_found", "player_id");
    expect_state(&srv, token, "pending", 0);
    decision(&srv, id, "{\"decision\":\"reject\",\"reason\":\"blurry photo\"}", 200, NULL,
             NULL);
    expect_state(&srv, token, "rejected", 0);
    decision(&srv, id, "{\"decision\":\"reject\",\"reason\":\"again\"}", 409,
             "kyc_transition_illegal", NULL);
    /* A new submission; the provider verifies it by webhook. */
    json_decref(
        pb_call_json(&srv, "POST", "/api/v1/players/me/kyc/documents", doc_body, token, NULL, 201));
    snprintf(body, sizeof(body), "{\"event_id\":\"ev-1\",\"player_id\":\"%s\","
             "\"result\":\"verified\",\"tier\":2,\"reason\":\"clear\"}", id);
    const char *wh = "/api/v1/kyc/webhooks/sandbox";
    int64_t now = (int64_t)time(NULL);
    pb_expect_problem(&srv, "POST", wh, body, NULL, NULL, 401, "signature_invalid", NULL);
    signed_header(body, now, hdr, sizeof(hdr));
    hdr[strlen(hdr) - 1] = hdr[strlen(hdr) - 1] == '0' ? '1' : '0';
    pb_expect_problem(&srv, "POST", wh, body, NULL, hdr, 401, "signature_invalid", NULL);
    signed_header(body, now - 400, hdr, sizeof(hdr));
    pb_expect_problem(&srv, "POST", wh, body, NULL, hdr, 401, "signature_expired", NULL);
    expect_state(&srv, token, "pending", 0);
    signed_header(body, now, hdr, sizeof(hdr));
    json_t *r = pb_call_json(&srv, "POST", wh, body, NULL, hdr, 200);
    assert_string_equal(json_string_value(json_object_get(r, "state")), "verified");
    json_decref(r);
    expect_state(&srv, token, "verified", 2);
    r = pb_call_json(&srv, "POST", wh, body, NULL, hdr, 200); /* the same event again */
    assert_string_equal(json_string_value(json_object_get(r, "status")), "duplicate");
    json_decref(r);
    expect_state(&srv, token, "verified", 2);
    decision(&srv, id, "{\"decision\":\"reject\",\"reason\":\"late\"}", 409,
             "kyc_transition_illegal", NULL);
    pb_expect_problem(&srv, "POST", "/api/v1/kyc/webhooks/acme", body, NULL, hdr, 404,
                      "kyc_provider_unknown", NULL);
    char path[128];
    snprintf(path, sizeof(path), "/api/v1/admin/kyc/%s", id);
    json_t *v = pb_call_json(&srv, "GET", path, NULL, STAFF, NULL, 200);
    json_t *events = json_object_get(v, "events");
    assert_int_equal(json_array_size(events), 4); /* pending, rejected, pending, verified */
    json_t *last = json_array_get(events, 3);
    assert_string_equal(json_string_value(json_object_get(last, "actor")), "provider:sandbox");
    assert_string_equal(json_string_value(json_object_get(last, "reason")), "clear");
    json_t *docs = json_object_get(v, "documents");
    assert_string_equal(json_string_value(json_object_get(json_array_get(docs, 0), "status")),
                        "rejected");
    assert_string_equal(json_string_value(json_object_get(json_array_get(docs, 1), "status")),
                        "accepted");
    json_decref(v);
    pb_server_stop(&srv);
}

static void test_webhook_without_secret_answers_503(void **state)
{
    (void)state;
    static const char *const no_secret[] = {"PITBOSS_STAFF_TOKEN=" STAFF, NULL};
    struct pb_server srv;
    char hdr[400];
    const char *body = "{\"event_id\":\"e\",\"player_id\":\"p\",\"result\":\"rejected\"}";
    pb_server_start(&srv, no_secret);
    signed_header(body, (int64_t)time(NULL), hdr, sizeof(hdr));
    pb_expect_problem(&srv, "POST", "/api/v1/kyc/webhooks/sandbox", body, NULL, hdr, 503,
                      "kyc_provider_not_configured", NULL);
    pb_server_stop(&srv);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_documents_state_and_bad_input),
        cmocka_unit_test(test_staff_review_webhooks_and_history),
        cmocka_unit_test(test_webhook_without_secret_answers_503),
    };
    return cmocka_run_group_tests_name("integration.kyc_api", tests, NULL, NULL);
}
