/* test_pam.c: the pam module's configuration loader and storage functions, the latter on
 * SQLite and (PITBOSS_TEST_PG) PostgreSQL, each write inside a writer command: players and
 * unique e-mails, blocks and closure, throttling and lock-out, sessions (idle, absolute
 * expiry, touch, revoke), TOTP steps used once and recovery codes used once. */
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
#include "pam/pam.h"
#include "store/store.h"

/* ---- configuration ---- */

static void expect_config_error(const char *text, const char *want_prefix)
{
    struct pam_config *cfg = (void *)1;
    char err[256];
    assert_int_equal(pam_config_load_text(text, strlen(text), &cfg, err, sizeof(err)),
                     PB_ERR_INVALID);
    assert_null(cfg);
    if (strncmp(err, want_prefix, strlen(want_prefix)) != 0)
        fail_msg("error \"%s\" does not start with \"%s\"", err, want_prefix);
}

static void test_demo_config_is_built_in(void **state)
{
    (void)state;
    struct pam_config *cfg;
    char err[256];
    assert_int_equal(pam_config_load(NULL, &cfg, err, sizeof(err)), 0);
    const struct pam_brand *b = pam_config_brand(cfg, "demo");
    assert_non_null(b);
    assert_string_equal(b->jurisdiction->name, "demo");
    assert_int_equal(b->jurisdiction->min_age, 18);
    assert_true(pam_jurisdiction_allows_currency(b->jurisdiction, "GBP"));
    assert_false(pam_jurisdiction_allows_currency(b->jurisdiction, "JPY"));
    assert_true(pam_jurisdiction_allows_country(b->jurisdiction, "FR"));
    assert_int_equal(b->jurisdiction->kyc_required, PAM_KYC_WITHDRAWAL);
    b = pam_config_brand(cfg, "demo-uk");
    assert_string_equal(b->jurisdiction->name, "uk-like");
    assert_string_equal(b->jurisdiction->rg_rule_set, "uk");
    assert_true(pam_jurisdiction_allows_country(b->jurisdiction, "GB"));
    assert_false(pam_jurisdiction_allows_country(b->jurisdiction, "FR"));
    assert_int_equal(b->jurisdiction->kyc_required, PAM_KYC_PLAY);
    assert_int_equal(cfg->policy.account_failures_max, 5);
    assert_int_equal(cfg->policy.session_ttl_s, 43200);
    pam_config_free(cfg);
}

#define J_OK "\"min_age\":18,\"currencies\":[\"EUR\"],\"countries\":[\"*\"],"             \
             "\"kyc_required\":[],\"rg_rule_set\":\"x\""

static void test_bad_config_names_the_key(void **state)
{
    (void)state;
    expect_config_error("{\"jurisdictions\":{\"j\":{" J_OK ",\"colour\":1}},\"brands\":{\"b\":"
                        "{\"jurisdiction\":\"j\"}}}",
                        "jurisdictions.j.colour:");
    expect_config_error("{\"jurisdictions\":{\"j\":{" J_OK "}},\"brands\":{\"b\":"
                        "{\"jurisdiction\":\"k\"}}}", "brands.b.jurisdiction:");
    expect_config_error("{\"jurisdictions\":{\"j\":{\"min_age\":18,\"currencies\":[\"EUR\","
                        "\"XXX\"],\"countries\":[\"*\"],\"kyc_required\":[],"
                        "\"rg_rule_set\":\"x\"}},\"brands\":{\"b\":{\"jurisdiction\":\"j\"}}}",
                        "jurisdictions.j.currencies[1]:");
    expect_config_error("{\"jurisdictions\":{\"j\":{\"min_age\":18,\"currencies\":[\"EUR\"],"
                        "\"countries\":[\"gb\"],\"kyc_required\":[],\"rg_rule_set\":\"x\"}},"
                        "\"brands\":{\"b\":{\"jurisdiction\":\"j\"}}}",
                        "jurisdictions.j.countries[0]:");
    expect_config_error("{\"jurisdictions\":{\"j\":{\"min_age\":18,\"currencies\":[\"EUR\"],"
                        "\"countries\":[\"*\"],\"kyc_required\":[\"lunch\"],"
                        "\"rg_rule_set\":\"x\"}},\"brands\":{\"b\":{\"jurisdiction\":\"j\"}}}",
                        "jurisdictions.j.kyc_required[0]:");
    expect_config_error("{\"jurisdictions\":{\"j\":{" J_OK "}},\"brands\":{\"b\":"
                        "{\"jurisdiction\":\"j\"}},\"policy\":{\"lockout_s\":0}}",
                        "policy.lockout_s:");
    expect_config_error("{\"jurisdictions\":{\"j\":{" J_OK "}}}", "brands:");
    struct pam_config *cfg;
    char err[256];
    assert_int_equal(pam_config_load("/nonexistent/j.json", &cfg, err, sizeof(err)),
                     PB_ERR_IO);
}

/* ---- storage, on both engines ---- */

static char db_url[600];
static struct writer *w;
static struct store *rd; /* a reader connection */

static void fresh_database(bool postgres)
{
    pbt_fresh_database(postgres, "pb_pam", db_url, sizeof(db_url));
    rd = pbt_open(db_url);
    assert_int_equal(store_migrate(rd, pam_migrations, pam_migrations_count, NULL), 0);
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

static struct pam_player sample_player(const char *id, const char *email)
{
    struct pam_player p = {0};
    snprintf(p.id, sizeof(p.id), "%s", id);
    snprintf(p.brand, sizeof(p.brand), "demo");
    snprintf(p.email, sizeof(p.email), "%s", email);
    snprintf(p.password_hash, sizeof(p.password_hash), "$argon2id$placeholder");
    snprintf(p.date_of_birth, sizeof(p.date_of_birth), "1990-01-01");
    snprintf(p.country, sizeof(p.country), "DE");
    snprintf(p.currency, sizeof(p.currency), "EUR");
    p.created_at_ms = 1000;
    return p;
}

static int insert_step(struct store *tx, void *arg)
{
    return pam_player_insert(tx, arg);
}

static void players_are_unique_per_brand_and_email(bool pg)
{
    start(pg);
    struct pam_player a = sample_player("p1", "a@example.com"), got;
    assert_int_equal(run(insert_step, &a), 0);
    struct pam_player dup = sample_player("p2", "a@example.com");
    assert_int_equal(run(insert_step, &dup), PB_ERR_CONFLICT);
    snprintf(dup.brand, sizeof(dup.brand), "other");
    assert_int_equal(run(insert_step, &dup), 0);
    assert_int_equal(pam_player_find(rd, "demo", "a@example.com", &got), 0);
    assert_string_equal(got.id, "p1");
    assert_int_equal(pam_player_get(rd, "p2", &got), 0);
    assert_string_equal(got.brand, "other");
    assert_int_equal(pam_player_get(rd, "p3", &got), PB_ERR_NOT_FOUND);
    stop();
}

static int block_step(struct store *tx, void *arg)
{
    PB_UNUSED(arg);
    int rc = pam_player_block_set(tx, "p1", PAM_BLOCK_LOGIN, "fraud review", 5);
    rc = rc ? rc : pam_player_block_set(tx, "p1", PAM_BLOCK_LOGIN, "second reason", 6);
    rc = rc ? rc : pam_player_block_set(tx, "p1", PAM_BLOCK_WITHDRAW, "kyc", 7);
    rc = rc ? rc : pam_player_block_clear(tx, "p1", PAM_BLOCK_WITHDRAW);
    return rc ? rc : pam_player_close(tx, "p1", "closed by the player", 8);
}

static void record_reason(unsigned block, const char *reason, int64_t since_ms, void *arg)
{
    if (block == PAM_BLOCK_LOGIN) {
        assert_string_equal(reason, "fraud review");
        assert_int_equal(since_ms, 5);
        *(int *)arg += 1;
    }
}

static void blocks_carry_reasons_and_closure_blocks_deposit_and_bet(bool pg)
{
    start(pg);
    struct pam_player a = sample_player("p1", "a@example.com"), got;
    assert_int_equal(run(insert_step, &a), 0);
    unsigned blocks;
    assert_int_equal(pam_player_blocks(rd, "p1", &blocks), 0);
    assert_int_equal(blocks, 0);
    assert_int_equal(run(block_step, NULL), 0);
    assert_int_equal(pam_player_blocks(rd, "p1", &blocks), 0);
    assert_int_equal(blocks, PAM_BLOCK_LOGIN | PAM_BLOCK_DEPOSIT | PAM_BLOCK_BET);
    int seen = 0;
    assert_int_equal(pam_player_blocks_each(rd, "p1", record_reason, &seen), 0);
    assert_int_equal(seen, 1);
    assert_int_equal(pam_player_get(rd, "p1", &got), 0);
    assert_true(got.closed);
    assert_int_equal(pam_player_blocks(rd, "nobody", &blocks), 0);
    assert_int_equal(blocks, 0);
    stop();
}

struct throttle_args {
    int64_t now_ms;
    bool reset;
};

static int fail_step(struct store *tx, void *arg)
{
    struct throttle_args *a = arg;
    struct pam_policy p = {.failure_window_s = 60, .lockout_s = 30};
    if (a->reset)
        return pam_throttle_reset(tx, "account", "demo/a@example.com");
    return pam_throttle_fail(tx, "account", "demo/a@example.com", 3, &p, a->now_ms);
}

static void throttle_locks_after_max_failures_in_window(bool pg)
{
    start(pg);
    int64_t retry;
    struct throttle_args a = {1000, false};
    assert_int_equal(run(fail_step, &a), 0);
    a.now_ms = 1000 + 61000; /* outside the window: counting starts again */
    assert_int_equal(run(fail_step, &a), 0);
    assert_int_equal(run(fail_step, &a), 0);
    assert_int_equal(pam_throttle_check(rd, "account", "demo/a@example.com", a.now_ms, &retry),
                     0);
    assert_int_equal(retry, 0);
    assert_int_equal(run(fail_step, &a), 0); /* the third in the window locks */
    assert_int_equal(pam_throttle_check(rd, "account", "demo/a@example.com", a.now_ms + 500,
                                        &retry), 0);
    assert_int_equal(retry, 30);
    assert_int_equal(pam_throttle_check(rd, "account", "demo/a@example.com", a.now_ms + 30000,
                                        &retry), 0);
    assert_int_equal(retry, 0);
    assert_int_equal(pam_throttle_check(rd, "ip", "demo/a@example.com", a.now_ms, &retry), 0);
    assert_int_equal(retry, 0);
    a.reset = true;
    assert_int_equal(run(fail_step, &a), 0);
    assert_int_equal(pam_throttle_check(rd, "account", "demo/a@example.com", a.now_ms, &retry),
                     0);
    assert_int_equal(retry, 0);
    stop();
}

static struct pam_session sample_session(const char *id, int64_t created)
{
    struct pam_session s = {0};
    snprintf(s.id, sizeof(s.id), "%s", id);
    snprintf(s.player_id, sizeof(s.player_id), "p1");
    s.created_at_ms = s.last_seen_ms = created;
    s.expires_at_ms = created + 10000;
    snprintf(s.ip, sizeof(s.ip), "127.0.0.1");
    return s;
}

static char hashes[3][PAM_TOKEN_HASH_HEX_SIZE];

static int sessions_step(struct store *tx, void *arg)
{
    PB_UNUSED(arg);
    char token[PAM_TOKEN_TEXT_SIZE];
    int rc = PB_OK;
    for (int i = 0; rc == PB_OK && i < 3; i++) {
        pam_token_new(token, hashes[i]);
        char id[16];
        snprintf(id, sizeof(id), "s%d", i);
        struct pam_session s = sample_session(id, 1000 + i);
        rc = pam_session_insert(tx, &s, hashes[i]);
    }
    return rc;
}

static int touch_step(struct store *tx, void *arg)
{
    return pam_session_touch(tx, "s0", *(int64_t *)arg);
}

static int revoked;

static int revoke_step(struct store *tx, void *arg)
{
    return pam_session_revoke(tx, "p1", arg, 5000, &revoked);
}

static int revoke_session(const char *id)
{
    assert_int_equal(run(revoke_step, (void *)id), 0);
    return revoked;
}

static void sessions_expire_touch_and_revoke(bool pg)
{
    start(pg);
    struct pam_session got, list[8];
    size_t n;
    assert_int_equal(run(sessions_step, NULL), 0);
    assert_int_equal(pam_session_lookup(rd, hashes[0], 2000, 5, &got), 0);
    assert_string_equal(got.id, "s0");
    assert_int_equal(pam_session_lookup(rd, hashes[0], 6000, 5, &got), PB_ERR_NOT_FOUND);
    int64_t at = 4000;
    assert_int_equal(run(touch_step, &at), 0);
    at = 3000; /* never moves back */
    assert_int_equal(run(touch_step, &at), 0);
    assert_int_equal(pam_session_lookup(rd, hashes[0], 8000, 5, &got), 0);
    assert_int_equal(got.last_seen_ms, 4000);
    assert_int_equal(pam_session_lookup(rd, hashes[0], 11000, 100, &got), PB_ERR_NOT_FOUND);
    assert_int_equal(pam_session_list(rd, "p1", 2000, 5, list, 8, &n), 0);
    assert_int_equal(n, 3);
    assert_string_equal(list[0].id, "s2"); /* newest first */
    assert_int_equal(revoke_session("s1"), 1);
    assert_int_equal(revoke_session("s1"), 0);
    assert_int_equal(pam_session_lookup(rd, hashes[1], 2000, 5, &got), PB_ERR_NOT_FOUND);
    assert_int_equal(revoke_session(NULL), 2);
    assert_int_equal(pam_session_list(rd, "p1", 2000, 5, list, 8, &n), 0);
    assert_int_equal(n, 0);
    stop();
}

static char recovery[PAM_RECOVERY_CODES_COUNT][PAM_RECOVERY_CODE_SIZE];

static int totp_step(struct store *tx, void *arg)
{
    char hash[PAM_RECOVERY_CODES_COUNT][PAM_RECOVERY_HASH_SIZE];
    int rc = pam_totp_begin(tx, "p1", arg, 1000);
    rc = rc ? rc : pam_totp_use_step(tx, "p1", 100);
    pam_recovery_codes_generate(PAM_RECOVERY_CODES_COUNT, recovery, hash);
    return rc ? rc : pam_totp_activate(tx, "p1", hash, PAM_RECOVERY_CODES_COUNT);
}

static int use_step_step(struct store *tx, void *arg)
{
    return pam_totp_use_step(tx, "p1", *(int64_t *)arg);
}

static int begin_step(struct store *tx, void *arg)
{
    return pam_totp_begin(tx, "p1", arg, 2000);
}

static int recovery_step(struct store *tx, void *arg)
{
    return pam_recovery_use(tx, "p1", arg, 3000);
}

static int remove_step(struct store *tx, void *arg)
{
    PB_UNUSED(arg);
    return pam_totp_remove(tx, "p1");
}

static void totp_steps_and_recovery_codes_are_single_use(bool pg)
{
    start(pg);
    unsigned char secret[PAM_TOTP_SECRET_BYTES];
    char b32[PAM_TOTP_SECRET_B32_SIZE];
    pam_totp_secret_new(secret);
    pam_base32_encode(secret, sizeof(secret), b32, sizeof(b32));
    struct pam_totp_state t;
    assert_int_equal(pam_totp_get(rd, "p1", &t), 0);
    assert_false(t.exists);
    assert_int_equal(run(totp_step, b32), 0);
    assert_int_equal(pam_totp_get(rd, "p1", &t), 0);
    assert_true(t.exists && t.active);
    assert_int_equal(t.last_used_step, 100);
    assert_memory_equal(t.secret, secret, sizeof(secret));
    int64_t step = 100;
    assert_int_equal(run(use_step_step, &step), PB_ERR_CONFLICT);
    step = 101;
    assert_int_equal(run(use_step_step, &step), 0);
    assert_int_equal(run(begin_step, b32), PB_ERR_CONFLICT); /* active: no restart */
    assert_int_equal(run(recovery_step, recovery[3]), 0);
    assert_int_equal(run(recovery_step, recovery[3]), PB_ERR_INVALID);
    assert_int_equal(run(recovery_step, "zzzz-zzzz-zzzz"), PB_ERR_INVALID);
    assert_int_equal(run(remove_step, NULL), 0);
    assert_int_equal(pam_totp_get(rd, "p1", &t), 0);
    assert_false(t.exists);
    assert_int_equal(run(recovery_step, recovery[4]), PB_ERR_INVALID);
    stop();
}

#define BOTH PBT_BOTH
#define PAIR PBT_PAIR

BOTH(players_are_unique_per_brand_and_email)
BOTH(blocks_carry_reasons_and_closure_blocks_deposit_and_bet)
BOTH(throttle_locks_after_max_failures_in_window)
BOTH(sessions_expire_touch_and_revoke)
BOTH(totp_steps_and_recovery_codes_are_single_use)

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_demo_config_is_built_in),
        cmocka_unit_test(test_bad_config_names_the_key),
        PAIR(players_are_unique_per_brand_and_email),
        PAIR(blocks_carry_reasons_and_closure_blocks_deposit_and_bet),
        PAIR(throttle_locks_after_max_failures_in_window),
        PAIR(sessions_expire_touch_and_revoke),
        PAIR(totp_steps_and_recovery_codes_are_single_use),
    };
    return cmocka_run_group_tests_name("unit.pam", tests, NULL, NULL);
}
