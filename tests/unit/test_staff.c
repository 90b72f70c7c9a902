/* test_staff.c: the staff module: the role/permission matrix, masking and CSV escaping, and
 * the storage functions on SQLite and (PITBOSS_TEST_PG) PostgreSQL, each write inside a
 * writer command: unique e-mails, TOTP codes accepted once, sessions (idle, absolute expiry,
 * revoke, disabled users), audit rows with the request id and their CSV export. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "unit.h"
#include <sodium.h>

#include "base/base.h"
#include "core/writer.h"
#include "ledger/audit.h"
#include "pam/staff.h"
#include "store/store.h"

/* ---- the matrix and helpers ---- */

static void test_matrix_is_least_privilege(void **state)
{
    (void)state;
    assert_int_equal(staff_role_permissions(STAFF_ROLE_ADMIN), STAFF_PERM_ALL);
    assert_true(staff_role_allows(STAFF_ROLE_ADMIN, "staff.manage"));
    for (int r = STAFF_ROLE_SUPPORT; r <= STAFF_ROLE_CRM; r++) {
        assert_false(staff_role_allows((enum staff_role)r, "staff.manage"));
        assert_true(staff_role_allows((enum staff_role)r, "players.read"));
    }
    assert_false(staff_role_allows(STAFF_ROLE_SUPPORT, "players.read_pii"));
    assert_true(staff_role_allows(STAFF_ROLE_SUPPORT, "players.unlock"));
    assert_true(staff_role_allows(STAFF_ROLE_FINANCE, "ledger.adjust"));
    assert_false(staff_role_allows(STAFF_ROLE_RISK, "ledger.adjust"));
    assert_false(staff_role_allows(STAFF_ROLE_RISK, "audit.export"));
    assert_true(staff_role_allows(STAFF_ROLE_COMPLIANCE, "audit.export"));
    assert_int_equal(staff_role_permissions(STAFF_ROLE_CRM), STAFF_PERM_PLAYERS_READ);
    assert_false(staff_role_allows(STAFF_ROLE_ADMIN, "players.everything"));
    assert_false(staff_role_allows(0, "players.read"));
}

static void test_names_round_trip(void **state)
{
    (void)state;
    for (int r = STAFF_ROLE_ADMIN; r <= STAFF_ROLE_CRM; r++)
        assert_int_equal(staff_role_parse(staff_role_name((enum staff_role)r)), r);
    assert_int_equal(staff_role_parse("root"), 0);
    assert_null(staff_role_name(0));
    for (unsigned i = 0; i < STAFF_PERMISSIONS_COUNT; i++)
        assert_int_equal(staff_permission_parse(staff_permission_name(1u << i)), 1u << i);
    assert_null(staff_permission_name(3));
    assert_int_equal(staff_permission_parse("Players.Read"), 0);
}

static void test_masking_hides_pii(void **state)
{
    (void)state;
    char email[PAM_EMAIL_SIZE], date[PAM_DATE_TEXT_LEN + 1];
    staff_mask_email("jane@example.com", email);
    assert_string_equal(email, "j***@example.com");
    staff_mask_email("broken", email);
    assert_string_equal(email, "***");
    staff_mask_date("1990-05-17", date);
    assert_string_equal(date, "19**-**-**");
    staff_mask_date("", date);
    assert_string_equal(date, "****-**-**");
}

static void expect_csv(const char *in, const char *want)
{
    struct pb_buf b = PB_BUF_INIT;
    staff_csv_field(&b, in);
    assert_string_equal(pb_buf_str(&b), want);
    pb_buf_release(&b);
}

static void test_csv_fields_are_escaped(void **state)
{
    (void)state;
    expect_csv("plain", "plain");
    expect_csv("", "");
    expect_csv("a,b", "\"a,b\"");
    expect_csv("say \"hi\"", "\"say \"\"hi\"\"\"");
    expect_csv("two\r\nlines", "\"two\r\nlines\"");
    expect_csv("=HYPERLINK(1)", "\"'=HYPERLINK(1)\"");
    expect_csv("-1", "\"'-1\"");
    expect_csv("@x", "\"'@x\"");
}

/* ---- storage on both engines ---- */

static char db_url[600];
static struct store *rd;
static struct writer *w;

static void fresh_database(bool postgres)
{
    pbt_fresh_database(postgres, "pb_staff", db_url, sizeof(db_url));
    rd = pbt_open(db_url);
    assert_int_equal(store_migrate(rd, audit_migrations, audit_migrations_count, NULL), 0);
    assert_int_equal(store_migrate(rd, staff_migrations, staff_migrations_count, NULL), 0);
}

static void start(bool pg)
{
    fresh_database(pg);
    w = pbt_start_writer(db_url, NULL);
}

static void stop(void)
{
    writer_stop(w);
    store_close(rd);
}

typedef int (*step_fn)(struct store *tx, void *arg);

/* Runs fn(tx, arg) as one writer command on w; returns the command's status. */
static int run(step_fn fn, void *arg)
{
    return pbt_run(w, fn, arg);
}

static int insert_step(struct store *tx, void *arg)
{
    return staff_user_insert(tx, arg);
}

struct check_arg {
    const struct staff_user *u;
    const char *code;
    int64_t now_ms;
};

static int check_step(struct store *tx, void *arg)
{
    struct check_arg *a = arg;
    return staff_totp_check(tx, a->u, a->code, a->now_ms);
}

static void code_at(const struct staff_user *u, int64_t now_ms, char code[PAM_TOTP_CODE_SIZE])
{
    unsigned char secret[PAM_TOTP_SECRET_BYTES_MAX];
    size_t len;
    assert_int_equal(pam_base32_decode(u->totp_secret_b32, strlen(u->totp_secret_b32), secret,
                                       sizeof(secret), &len), 0);
    assert_int_equal(pam_totp_code(secret, len, now_ms / 1000, NULL, code), 0);
}

static void users_are_unique_and_codes_single_use(bool pg)
{
    start(pg);
    struct staff_user u, dup, got;
    assert_int_equal(staff_user_prepare(&u, "ann@ops.example.com", STAFF_ROLE_RISK,
                                        "a fine long password", 1000), 0);
    assert_int_equal(run(insert_step, &u), 0);
    assert_int_equal(staff_user_prepare(&dup, "ann@ops.example.com", STAFF_ROLE_CRM,
                                        "another password 1", 1000), 0);
    assert_int_equal(run(insert_step, &dup), PB_ERR_CONFLICT);
    assert_int_equal(staff_user_find(rd, "ann@ops.example.com", &got), 0);
    assert_string_equal(got.id, u.id);
    assert_int_equal(got.role, STAFF_ROLE_RISK);
    assert_int_equal(got.status, STAFF_ACTIVE);
    assert_int_equal(got.totp_last_step, PAM_TOTP_STEP_NONE);
    assert_int_equal(pam_password_verify(got.password_hash, "a fine long password"), 0);
    assert_int_equal(staff_user_get(rd, "nobody", &got), PB_ERR_NOT_FOUND);
    int64_t now_ms = INT64_C(1800000000000);
    char code[PAM_TOTP_CODE_SIZE];
    code_at(&u, now_ms, code);
    struct check_arg a = {&u, code, now_ms};
    assert_int_equal(run(check_step, &a), 0);
    assert_int_equal(run(check_step, &a), PB_ERR_CONFLICT); /* replayed */
    a.code = "000000";
    if (strcmp(code, "000000") != 0)
        assert_int_equal(run(check_step, &a), PB_ERR_INVALID);
    code_at(&u, now_ms + 30000, code);
    a = (struct check_arg){&u, code, now_ms + 30000};
    assert_int_equal(run(check_step, &a), 0);
    assert_int_equal(staff_user_get(rd, u.id, &got), 0);
    assert_int_equal(got.totp_last_step, (now_ms + 30000) / 30000);
    stop();
}

struct session_arg {
    struct staff_session *ses;
    const char *hash;
    int64_t now_ms;
    int count;
};

static int session_insert_step(struct store *tx, void *arg)
{
    struct session_arg *a = arg;
    return staff_session_insert(tx, a->ses, a->hash);
}

static int session_touch_step(struct store *tx, void *arg)
{
    struct session_arg *a = arg;
    return staff_session_touch(tx, a->ses->id, a->now_ms);
}

static int session_revoke_step(struct store *tx, void *arg)
{
    struct session_arg *a = arg;
    return staff_session_revoke(tx, a->ses->id, a->now_ms, &a->count);
}

static void sessions_expire_idle_and_revoke(bool pg)
{
    start(pg);
    struct staff_user u, got;
    assert_int_equal(staff_user_prepare(&u, "bob@ops.example.com", STAFF_ROLE_ADMIN,
                                        "a fine long password", 1000), 0);
    assert_int_equal(run(insert_step, &u), 0);
    char token[PAM_TOKEN_TEXT_SIZE], hash[PAM_TOKEN_HASH_HEX_SIZE];
    pam_token_new(token, hash);
    int64_t t0 = INT64_C(1800000000000);
    struct staff_session ses = {.id = "s1", .created_at_ms = t0, .last_seen_ms = t0,
                                .expires_at_ms = t0 + STAFF_SESSION_TTL_S * 1000, .ip = "::1"};
    snprintf(ses.staff_id, sizeof(ses.staff_id), "%s", u.id);
    struct session_arg a = {&ses, hash, t0, 0};
    assert_int_equal(run(session_insert_step, &a), 0);
    struct staff_session out;
    assert_int_equal(staff_session_lookup(rd, hash, t0 + 1000, &out, &got), 0);
    assert_string_equal(got.email, "bob@ops.example.com");
    int64_t idle = STAFF_SESSION_IDLE_S * 1000;
    assert_int_equal(staff_session_lookup(rd, hash, t0 + idle, &out, &got), PB_ERR_NOT_FOUND);
    for (int64_t t = t0 + idle - 1; t < t0 + STAFF_SESSION_TTL_S * 1000; t += idle - 1) {
        a.now_ms = t; /* kept alive by activity, up to the absolute expiry */
        assert_int_equal(run(session_touch_step, &a), 0);
        assert_int_equal(staff_session_lookup(rd, hash, t, &out, &got), 0);
    }
    assert_int_equal(staff_session_lookup(rd, hash, ses.expires_at_ms, &out, &got),
                     PB_ERR_NOT_FOUND);
    a.now_ms = t0 + 2000;
    assert_int_equal(run(session_revoke_step, &a), 0);
    assert_int_equal(a.count, 1);
    assert_int_equal(run(session_revoke_step, &a), 0);
    assert_int_equal(a.count, 0);
    assert_int_equal(staff_session_lookup(rd, hash, t0 + 3000, &out, &got), PB_ERR_NOT_FOUND);
    stop();
}

static int audit_step(struct store *tx, void *arg)
{
    return staff_audit_write(tx, arg);
}

static void audit_rows_carry_request_id_and_export(bool pg)
{
    start(pg);
    struct staff_user u;
    assert_int_equal(staff_user_prepare(&u, "cat@ops.example.com", STAFF_ROLE_COMPLIANCE,
                                        "a fine long password", 1000), 0);
    assert_int_equal(run(insert_step, &u), 0);
    char actor[64];
    snprintf(actor, sizeof(actor), "staff:%s", u.id);
    struct staff_audit a = {actor, "players.block_set", "player:p1", "fraud, \"likely\"",
                            "{\"blocks\":[]}", "{\"blocks\":[\"bet\"]}", "rid-1",
                            INT64_C(1800000000000)};
    assert_int_equal(run(audit_step, &a), 0);
    a = (struct staff_audit){"staff", "players.unlock", "player:p2", "ok", NULL, NULL,
                             "rid-2", INT64_C(1800000001000)};
    assert_int_equal(run(audit_step, &a), 0);
    struct audit_row rows[4];
    size_t n = 0;
    int64_t next = 0;
    assert_int_equal(audit_list(rd, 0, 4, rows, &n, &next), 0);
    assert_int_equal(n, 2);
    assert_string_equal(rows[1].ref, "request:rid-1");
    assert_string_equal(rows[1].actor, actor);
    assert_string_equal(rows[0].before_json, "{}");
    for (size_t i = 0; i < n; i++)
        audit_row_release(&rows[i]);
    struct pb_buf csv = PB_BUF_INIT;
    assert_int_equal(staff_audit_export_csv(rd, INT64_C(1800000000000),
                                            INT64_C(1800000001000), 10, &csv), 0);
    char want[512];
    snprintf(want, sizeof(want), "1,2027-01-15T08:00:00.000Z,%s,cat@ops.example.com,"
             "players.block_set,player:p1,\"fraud, \"\"likely\"\"\",\"{\"\"blocks\"\":[]}\","
             "\"{\"\"blocks\"\":[\"\"bet\"\"]}\",request:rid-1\r\n", actor);
    assert_non_null(strstr(pb_buf_str(&csv), want));
    assert_null(strstr(pb_buf_str(&csv), "rid-2")); /* to is exclusive */
    pb_buf_reset(&csv);
    assert_int_equal(staff_audit_export_csv(rd, 0, INT64_C(1900000000000), 1, &csv),
                     PB_ERR_TOO_LARGE);
    pb_buf_release(&csv);
    stop();
}

#define BOTH PBT_BOTH
#define PAIR PBT_PAIR

BOTH(users_are_unique_and_codes_single_use)
BOTH(sessions_expire_idle_and_revoke)
BOTH(audit_rows_carry_request_id_and_export)

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matrix_is_least_privilege),
        cmocka_unit_test(test_names_round_trip),
        cmocka_unit_test(test_masking_hides_pii),
        cmocka_unit_test(test_csv_fields_are_escaped),
        PAIR(users_are_unique_and_codes_single_use),
        PAIR(sessions_expire_idle_and_revoke),
        PAIR(audit_rows_carry_request_id_and_export),
    };
    return cmocka_run_group_tests_name("unit.staff", tests, NULL, NULL);
}
