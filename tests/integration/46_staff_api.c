/* 46_staff_api.c: the staff side against the real binary (docs/staff.md): the authorisation
 * matrix (every role against every staff route: allowed or 403 naming the permission), staff
 * login with mandatory TOTP, replayed codes refused, logout, lock-out, PII masking by role,
 * an audit row with actor, before/after, reason and request id for every action, and the CSV
 * export with its escaping. */
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
#include "pam/auth.h"

#define SERVICE "staff-token-for-tests-0123456789"
#define PLAYER_PASSWORD "correct horse battery"
#define NO_PLAYER "000000000000000000000000"
#define EXPORT_ALL "/api/v1/admin/audit/export?from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z"

struct staff {
    char id[32];
    char email[128];
    char password[64];
    char secret[PAM_TOTP_SECRET_B32_SIZE];
    char token[PAM_TOKEN_TEXT_SIZE];
};

static void start(struct pb_server *srv, const char *policy_json)
{
    static int counter;
    const char *tmp = getenv("PITBOSS_TEST_TMP");
    char path[512], env[600];
    snprintf(path, sizeof(path), "%s/staff_%d_%d.json", tmp && tmp[0] ? tmp : "/tmp",
             (int)getpid(), ++counter);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "{\"jurisdictions\":{\"demo\":{\"min_age\":18,\"currencies\":[\"EUR\"],"
            "\"countries\":[\"*\"],\"kyc_required\":[\"withdrawal\"],"
            "\"rg_rule_set\":\"permissive\"}},\"brands\":{\"demo\":{\"jurisdiction\":\"demo\"}}"
            "%s%s}", policy_json[0] ? ",\"policy\":" : "", policy_json);
    fclose(f);
    snprintf(env, sizeof(env), "PITBOSS_JURISDICTIONS=%s", path);
    const char *const envp[] = {env, "PITBOSS_STAFF_TOKEN=" SERVICE, NULL};
    pb_server_start(srv, envp);
}

/* Creates a staff user with the service token. */
static void staff_create(const struct pb_server *srv, const char *email, const char *role,
                         struct staff *out)
{
    char body[256];
    snprintf(body, sizeof(body), "{\"email\":\"%s\",\"role\":\"%s\"}", email, role);
    json_t *doc = pb_call_json(srv, "POST", "/api/v1/admin/staff", body, SERVICE, NULL, 201);
    memset(out, 0, sizeof(*out));
    snprintf(out->id, sizeof(out->id), "%s", pb_str_at(doc, "staff_id"));
    snprintf(out->email, sizeof(out->email), "%s", pb_str_at(doc, "email"));
    snprintf(out->password, sizeof(out->password), "%s", pb_str_at(doc, "password"));
    snprintf(out->secret, sizeof(out->secret), "%s", pb_str_at(doc, "totp_secret"));
    assert_non_null(strstr(pb_str_at(doc, "otpauth_uri"), out->secret));
    assert_string_equal(pb_str_at(doc, "role"), role);
    json_decref(doc);
}

/* The TOTP code of st's secret steps time steps from now. */
static void code_at(const struct staff *st, int steps, char code[PAM_TOTP_CODE_SIZE])
{
    unsigned char secret[PAM_TOTP_SECRET_BYTES_MAX];
    size_t len = 0;
    assert_int_equal(pam_base32_decode(st->secret, strlen(st->secret), secret, sizeof(secret),
                                       &len), 0);
    assert_int_equal(pam_totp_code(secret, len, (int64_t)time(NULL) + 30 * steps, NULL, code),
                     0);
}

static void login_body(char *out, size_t len, const struct staff *st, const char *password,
                       const char *code)
{
    snprintf(out, len, "{\"email\":\"%s\",\"password\":\"%s\",\"totp_code\":\"%s\"}",
             st->email, password, code);
}

/* Logs st in with the code steps ahead of now; the token goes to st->token. */
static void staff_login(const struct pb_server *srv, struct staff *st, int steps)
{
    char code[PAM_TOTP_CODE_SIZE], body[512];
    code_at(st, steps, code);
    login_body(body, sizeof(body), st, st->password, code);
    json_t *doc = pb_call_json(srv, "POST", "/api/v1/admin/sessions", body, NULL, NULL, 201);
    snprintf(st->token, sizeof(st->token), "%s", pb_str_at(doc, "token"));
    json_decref(doc);
}

/* ---- the authorisation matrix ---- */

struct route_case {
    const char *method, *path, *body, *permission;
};

static const struct route_case routes[] = {
    {"GET", "/api/v1/admin/players?email=a", NULL, "players.read"},
    {"GET", "/api/v1/admin/players/" NO_PLAYER, NULL, "players.read"},
    {"POST", "/api/v1/admin/players/" NO_PLAYER "/blocks", "{\"block\":\"bet\",\"reason\":\"r\"}",
     "players.block"},
    {"DELETE", "/api/v1/admin/players/" NO_PLAYER "/blocks/bet", "{\"reason\":\"r\"}",
     "players.block"},
    {"POST", "/api/v1/admin/players/" NO_PLAYER "/unlock", "{\"reason\":\"r\"}",
     "players.unlock"},
    {"GET", EXPORT_ALL, NULL, "audit.export"},
    {"POST", "/api/v1/admin/staff", "{\"email\":\"\",\"role\":\"crm\"}", "staff.manage"},
    /* The wallet's staff routes (src/ledger/ledger_http.c). */
    {"GET", "/api/v1/players/" NO_PLAYER "/balances", NULL, "ledger.read"},
    {"GET", "/api/v1/players/" NO_PLAYER "/transactions", NULL, "ledger.read"},
    {"POST", "/api/v1/players/" NO_PLAYER "/wallets", "{\"currency\":\"EUR\"}",
     "ledger.adjust"},
    {"POST", "/api/v1/ledger/transfers", "{}", "ledger.transfer"},
    {"POST", "/api/v1/admin/adjustments", "{}", "ledger.adjust"},
    {"GET", "/api/v1/admin/audit", NULL, "audit.read"},
    {"PUT", "/api/v1/admin/house-accounts/house_casino/EUR", NULL, "ledger.adjust"},
    /* KYC review (src/pam/kyc_http.c). */
    {"GET", "/api/v1/admin/kyc/queue", NULL, "kyc.review"},
    {"GET", "/api/v1/admin/kyc/" NO_PLAYER, NULL, "kyc.review"},
    {"POST", "/api/v1/admin/kyc/" NO_PLAYER "/decision", "{}", "kyc.review"},
    /* In-house games' configuration (src/games/casino_http.c). */
    {"GET", "/api/v1/admin/games/dice/config", NULL, "games.manage"},
    {"PUT", "/api/v1/admin/games/dice/config", "{}", "games.manage"},
    /* Payments review (src/payments/payments_http.c). */
    {"GET", "/api/v1/admin/withdrawals?state=review", NULL, "payments.review"},
    {"POST", "/api/v1/admin/withdrawals/wdr_none/approve", "{\"reason\":\"r\"}",
     "payments.review"},
    {"POST", "/api/v1/admin/withdrawals/wdr_none/reject", "{\"reason\":\"r\"}",
     "payments.review"},
    {"POST", "/api/v1/admin/payments/crypto/addresses", "{}", "payments.review"},
    {"GET", "/api/v1/admin/payments/reconciliation?psp=sandbox", NULL, "payments.review"},
};

/* docs/staff.md, "Roles", written out independently of the code's table. */
static const struct {
    const char *role, *allowed;
} matrix[] = {
    {"admin", "players.read players.read_pii players.block players.unlock ledger.read "
              "ledger.adjust audit.read audit.export staff.manage ledger.transfer "
              "kyc.review games.manage providers.manage payments.review"},
    {"support", "players.read players.block players.unlock"},
    {"risk", "players.read players.read_pii players.block ledger.read audit.read"},
    {"finance", "players.read ledger.read ledger.adjust payments.review"},
    {"compliance", "players.read players.read_pii players.block ledger.read audit.read "
                   "audit.export kyc.review"},
    {"crm", "players.read"},
};

static bool allows(const char *allowed, const char *permission)
{
    size_t n = strlen(permission);
    for (const char *p = strstr(allowed, permission); p; p = strstr(p + 1, permission))
        if ((p == allowed || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
            return true;
    return false;
}

static void check_route(const struct pb_server *srv, const char *role, const char *allowed,
                        const struct route_case *rc, const char *token)
{
    struct pb_response r;
    pb_call(srv, rc->method, rc->path, rc->body, token, NULL, &r);
    if (allows(allowed, rc->permission)) {
        if (r.status == 401 || r.status == 403)
            fail_msg("%s: %s %s refused (%ld): %s", role, rc->method, rc->path, r.status,
                     r.body);
    } else {
        pb_assert_problem(&r, 403, "forbidden");
        json_t *doc = json_loads(r.body, 0, NULL);
        assert_string_equal(pb_str_at(doc, "permission"), rc->permission);
        assert_non_null(strstr(pb_str_at(doc, "detail"), rc->permission));
        json_decref(doc);
    }
    pb_response_release(&r);
}

static void test_every_role_against_every_staff_route(void **state)
{
    (void)state;
    struct pb_server srv;
    start(&srv, "");
    for (size_t i = 0; i < sizeof(matrix) / sizeof(matrix[0]); i++) {
        struct staff st;
        char email[64];
        snprintf(email, sizeof(email), "%s@ops.example.com", matrix[i].role);
        staff_create(&srv, email, matrix[i].role, &st);
        staff_login(&srv, &st, 0);
        for (size_t k = 0; k < sizeof(routes) / sizeof(routes[0]); k++)
            check_route(&srv, matrix[i].role, matrix[i].allowed, &routes[k], st.token);
    }
    for (size_t k = 0; k < sizeof(routes) / sizeof(routes[0]); k++) /* the service token */
        check_route(&srv, "service", matrix[0].allowed, &routes[k], SERVICE);
    pb_expect_problem(&srv, "GET", "/api/v1/admin/players", NULL, NULL, NULL, 401, "unauthorized",
                      NULL);
    pb_expect_problem(&srv, "GET", "/api/v1/admin/players", NULL, "nope", NULL, 401, "unauthorized",
                      NULL);
    pb_server_stop(&srv);
}

/* ---- login ---- */

static void test_login_needs_password_and_a_fresh_totp_code(void **state)
{
    (void)state;
    struct pb_server srv;
    start(&srv, "");
    struct staff st;
    char body[512], code[PAM_TOTP_CODE_SIZE], wrong[PAM_TOTP_CODE_SIZE];
    staff_create(&srv, "Ann@Ops.Example.com", "support", &st);
    assert_string_equal(st.email, "ann@ops.example.com");
    code_at(&st, 0, code);
    snprintf(body, sizeof(body), "{\"email\":\"%s\",\"password\":\"%s\"}", st.email,
             st.password);
    pb_expect_problem(&srv, "POST", "/api/v1/admin/sessions", body, NULL, NULL, 400,
                      "validation_failed", "totp_code");
    snprintf(wrong, sizeof(wrong), "%06d", (atoi(code) + 1) % 1000000);
    login_body(body, sizeof(body), &st, st.password, wrong);
    pb_expect_problem(&srv, "POST", "/api/v1/admin/sessions", body, NULL, NULL, 401,
                      "invalid_credentials", NULL);
    login_body(body, sizeof(body), &st, "wrong password here", code);
    pb_expect_problem(&srv, "POST", "/api/v1/admin/sessions", body, NULL, NULL, 401,
                      "invalid_credentials", NULL);
    login_body(body, sizeof(body), &st, st.password, code);
    json_t *doc = pb_call_json(&srv, "POST", "/api/v1/admin/sessions", body, NULL, NULL, 201);
    assert_string_equal(pb_str_at(doc, "role"), "support");
    assert_string_equal(pb_str_at(doc, "staff_id"), st.id);
    snprintf(st.token, sizeof(st.token), "%s", pb_str_at(doc, "token"));
    json_decref(doc);
    pb_expect_problem(&srv, "POST", "/api/v1/admin/sessions", body, NULL, NULL, 401,
                      "totp_replayed", NULL); /* the same code again */
    struct staff other = st;
    staff_login(&srv, &other, 1); /* the next step's code is fresh */
    json_decref(pb_call_json(&srv, "GET", "/api/v1/admin/players", NULL, st.token, NULL, 200));
    pb_call_status(&srv, "DELETE", "/api/v1/admin/sessions", NULL, st.token, NULL, 204);
    pb_expect_problem(&srv, "GET", "/api/v1/admin/players", NULL, st.token, NULL, 401,
                      "unauthorized", NULL);
    json_decref(pb_call_json(&srv, "GET", "/api/v1/admin/players", NULL, other.token, NULL, 200));
    pb_expect_problem(&srv, "DELETE", "/api/v1/admin/sessions", NULL, SERVICE, NULL, 400,
                      "validation_failed", "Authorization");
    pb_server_stop(&srv);
}

static void test_lockout_after_failures_even_with_right_credentials(void **state)
{
    (void)state;
    struct pb_server srv;
    start(&srv, "{\"account_failures_max\":3,\"lockout_s\":60}");
    struct staff st;
    char body[512], code[PAM_TOTP_CODE_SIZE];
    staff_create(&srv, "bob@ops.example.com", "risk", &st);
    code_at(&st, 0, code);
    login_body(body, sizeof(body), &st, "not the password", code);
    for (int i = 0; i < 3; i++)
        pb_expect_problem(&srv, "POST", "/api/v1/admin/sessions", body, NULL, NULL, 401,
                          "invalid_credentials", NULL);
    login_body(body, sizeof(body), &st, st.password, code);
    struct pb_response r;
    pb_call(&srv, "POST", "/api/v1/admin/sessions", body, NULL, NULL, &r);
    pb_assert_problem(&r, 429, "too_many_attempts");
    char retry[16];
    assert_true(pb_response_header(&r, "Retry-After", retry, sizeof(retry)));
    assert_true(atoi(retry) > 0 && atoi(retry) <= 60);
    pb_response_release(&r);
    /* Unknown e-mails lock the same way (no enumeration). */
    struct staff ghost = st;
    snprintf(ghost.email, sizeof(ghost.email), "ghost@ops.example.com");
    login_body(body, sizeof(body), &ghost, "not the password", code);
    for (int i = 0; i < 3; i++)
        pb_expect_problem(&srv, "POST", "/api/v1/admin/sessions", body, NULL, NULL, 401,
                          "invalid_credentials", NULL);
    pb_expect_problem(&srv, "POST", "/api/v1/admin/sessions", body, NULL, NULL, 429,
                      "too_many_attempts", NULL);
    pb_server_stop(&srv);
}

/* ---- players ---- */

static void test_pii_is_masked_without_players_read_pii(void **state)
{
    (void)state;
    struct pb_server srv;
    start(&srv, "");
    char pid[32], path[128];
    pb_player_new(&srv, "demo", "jane@example.com", "EUR", pid, sizeof(pid), NULL, 0);
    struct staff crm, compliance;
    staff_create(&srv, "crm@ops.example.com", "crm", &crm);
    staff_create(&srv, "comp@ops.example.com", "compliance", &compliance);
    staff_login(&srv, &crm, 0);
    staff_login(&srv, &compliance, 0);
    snprintf(path, sizeof(path), "/api/v1/admin/players/%s", pid);
    json_t *doc = pb_call_json(&srv, "GET", path, NULL, crm.token, NULL, 200);
    assert_string_equal(pb_str_at(doc, "email"), "j***@example.com");
    assert_string_equal(pb_str_at(doc, "date_of_birth"), "19**-**-**");
    assert_true(json_is_true(json_object_get(doc, "pii_masked")));
    json_decref(doc);
    doc = pb_call_json(&srv, "GET", path, NULL, compliance.token, NULL, 200);
    assert_string_equal(pb_str_at(doc, "email"), "jane@example.com");
    assert_string_equal(pb_str_at(doc, "date_of_birth"), "1990-05-17");
    json_decref(doc);
    doc = pb_call_json(&srv, "GET", "/api/v1/admin/players?email=JANE", NULL, crm.token, NULL, 200);
    json_t *list = json_object_get(doc, "players");
    assert_int_equal(json_array_size(list), 1);
    assert_string_equal(pb_str_at(json_array_get(list, 0), "email"), "j***@example.com");
    assert_string_equal(pb_str_at(json_array_get(list, 0), "player_id"), pid);
    json_decref(doc);
    pb_expect_problem(&srv, "GET", "/api/v1/admin/players?limit=0", NULL, crm.token, NULL, 400,
                      "validation_failed", "limit");
    pb_expect_problem(&srv, "GET", "/api/v1/admin/players?cursor=x", NULL, crm.token, NULL, 400,
                      "validation_failed", "cursor");
    pb_server_stop(&srv);
}

static void test_search_pages_with_a_cursor(void **state)
{
    (void)state;
    struct pb_server srv;
    start(&srv, "");
    char pid[32];
    for (int i = 0; i < 3; i++) {
        char email[64];
        snprintf(email, sizeof(email), "page%d@example.com", i);
        pb_player_new(&srv, "demo", email, "EUR", pid, sizeof(pid), NULL, 0);
    }
    pb_player_new(&srv, "demo", "other@example.com", "EUR", pid, sizeof(pid), NULL, 0);
    json_t *doc = pb_call_json(&srv, "GET", "/api/v1/admin/players?email=page&limit=2", NULL,
                               SERVICE, NULL, 200);
    assert_int_equal(json_array_size(json_object_get(doc, "players")), 2);
    char path[160];
    snprintf(path, sizeof(path), "/api/v1/admin/players?email=page&limit=2&cursor=%s",
             pb_str_at(doc, "next_cursor"));
    json_decref(doc);
    doc = pb_call_json(&srv, "GET", path, NULL, SERVICE, NULL, 200);
    assert_int_equal(json_array_size(json_object_get(doc, "players")), 1);
    assert_true(json_is_null(json_object_get(doc, "next_cursor")));
    json_decref(doc);
    pb_server_stop(&srv);
}

/* The audit row of action in csv (the export): actor, subject, reason and request id. */
static void expect_audit_line(const char *csv, const char *actor, const char *email,
                              const char *action, const char *subject, const char *reason,
                              const char *request_id)
{
    char want[512];
    snprintf(want, sizeof(want), ",%s,%s,%s,%s,%s,", actor, email, action, subject, reason);
    const char *line = strstr(csv, want);
    if (!line)
        fail_msg("no audit line with %s in:\n%s", want, csv);
    const char *end = strstr(line, "\r\n");
    char ref[128];
    snprintf(ref, sizeof(ref), ",request:%s\r\n", request_id);
    assert_non_null(end);
    assert_memory_equal(end - strlen(ref) + 2, ref, strlen(ref));
}

static void test_actions_are_audited_and_exported_as_csv(void **state)
{
    (void)state;
    struct pb_server srv;
    start(&srv, "{\"account_failures_max\":2}");
    char pid[32], path[160], body[256], actor[64], subject[64];
    pb_player_new(&srv, "demo", "max@example.com", "EUR", pid, sizeof(pid), NULL, 0);
    struct staff adm;
    staff_create(&srv, "adm@ops.example.com", "admin", &adm);
    staff_login(&srv, &adm, 0);
    snprintf(actor, sizeof(actor), "staff:%s", adm.id);
    snprintf(subject, sizeof(subject), "player:%s", pid);
    struct pb_response r;
    snprintf(path, sizeof(path), "/api/v1/admin/players/%s/blocks", pid);
    pb_call(&srv, "POST", path, "{\"block\":\"bet\",\"reason\":\"chargeback, \\\"fraud\\\"\"}",
            adm.token, pb_header("X-Request-Id", "req-block-1"), &r);
    assert_int_equal(r.status, 200);
    pb_response_release(&r);
    pb_call(&srv, "POST", path, "{\"block\":\"nope\",\"reason\":\"x\"}", adm.token, NULL, &r);
    pb_assert_problem(&r, 400, "validation_failed");
    pb_response_release(&r);
    snprintf(path, sizeof(path), "/api/v1/admin/players/%s/blocks/bet", pid);
    pb_call(&srv, "DELETE", path, "{\"reason\":\"=cleared\"}", adm.token,
            pb_header("X-Request-Id", "req-clear-1"), &r);
    assert_int_equal(r.status, 200);
    pb_response_release(&r);
    snprintf(body, sizeof(body), "{\"brand\":\"demo\",\"email\":\"max@example.com\","
             "\"password\":\"wrong password!\"}");
    for (int i = 0; i < 2; i++)
        json_decref(pb_call_json(&srv, "POST", "/api/v1/sessions", body, NULL, NULL, 401));
    snprintf(path, sizeof(path), "/api/v1/admin/players/%s", pid);
    json_t *doc = pb_call_json(&srv, "GET", path, NULL, adm.token, NULL, 200);
    assert_true(json_integer_value(json_object_get(doc, "login_locked_for_s")) > 0);
    json_decref(doc);
    snprintf(path, sizeof(path), "/api/v1/admin/players/%s/unlock", pid);
    pb_call(&srv, "POST", path, "{\"reason\":\"called in\"}", adm.token,
            pb_header("X-Request-Id", "req-unlock-1"), &r);
    assert_int_equal(r.status, 200);
    pb_response_release(&r);
    snprintf(body, sizeof(body), "{\"brand\":\"demo\",\"email\":\"max@example.com\","
             "\"password\":\"" PLAYER_PASSWORD "\"}");
    json_decref(pb_call_json(&srv, "POST", "/api/v1/sessions", body, NULL, NULL, 201));
    pb_call(&srv, "GET", EXPORT_ALL, NULL, adm.token, NULL, &r);
    assert_int_equal(r.status, 200);
    char ctype[64];
    assert_true(pb_response_header(&r, "Content-Type", ctype, sizeof(ctype)));
    assert_non_null(strstr(ctype, "text/csv"));
    assert_memory_equal(r.body, "id,time,actor,actor_email,action,subject,reason,before,after,"
                        "ref\r\n", 63);
    expect_audit_line(r.body, actor, adm.email, "players.block_set", subject,
                      "\"chargeback, \"\"fraud\"\"\"", "req-block-1");
    expect_audit_line(r.body, actor, adm.email, "players.block_clear", subject,
                      "\"'=cleared\"", "req-clear-1");
    expect_audit_line(r.body, actor, adm.email, "players.unlock", subject, "called in",
                      "req-unlock-1");
    assert_non_null(strstr(r.body, ",\"{\"\"blocks\"\":[\"\"bet\"\"]}\","));
    assert_non_null(strstr(r.body, ",staff,,staff.create,staff:"));
    assert_non_null(strstr(r.body, ",staff.login,staff:"));
    assert_null(strstr(r.body, "nope"));
    pb_response_release(&r);
    pb_expect_problem(&srv, "GET", "/api/v1/admin/audit/export?from=x&to=y", NULL, adm.token, NULL,
                      400, "validation_failed", "from");
    pb_expect_problem(&srv, "GET",
                      "/api/v1/admin/audit/export?from=2030-01-01T00:00:00Z"
                      "&to=2020-01-01T00:00:00Z",
                      NULL, adm.token, NULL, 400, "validation_failed", "to");
    pb_server_stop(&srv);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_role_against_every_staff_route),
        cmocka_unit_test(test_login_needs_password_and_a_fresh_totp_code),
        cmocka_unit_test(test_lockout_after_failures_even_with_right_credentials),
        cmocka_unit_test(test_pii_is_masked_without_players_read_pii),
        cmocka_unit_test(test_search_pages_with_a_cursor),
        cmocka_unit_test(test_actions_are_audited_and_exported_as_csv),
    };
    return cmocka_run_group_tests_name("integration.staff_api", tests, NULL, NULL);
}
