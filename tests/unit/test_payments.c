/* test_payments.c: payments (src/payments/payments.h): every legal and illegal transition of
 * the deposit and withdrawal state machines, fees, the webhook signature scheme and decoder,
 * the sandbox's scenarios; on SQLite and PostgreSQL: deposits credited exactly once (repeat,
 * late and out-of-order reports change nothing), failure and expiry void, every refusal
 * (block, KYC gate, currency, range, the debit-path guard) writes nothing; withdrawals
 * through review, approval, completion, rejection, cancellation and failure with their ledger
 * steps, the review rules (threshold, KYC, wagering since the last deposit, risk flag); crypto
 * outputs credited at N1, withdrawable at N2, duplicates, reorganisations reversing or
 * holding, and a chain simulator (blocks, mempool, fee spikes, reorganisations with double
 * spends, every output re-reported each block) checked against a model; reconciliation
 * reporting every kind of mismatch. ledger_verify after each. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "unit.h"

#include "base/base.h"
#include "core/outbox.h"
#include "ledger/audit.h"
#include "ledger/ledger.h"
#include "pam/kyc.h"
#include "pam/pam.h"
#include "payments/payments.h"
#include "store/store.h"

/* ---- pure rules ---- */

static void test_deposit_transitions(void **state)
{
    (void)state;
    /* legal[from][to] */
    static const bool legal[6][6] = {
        [PAYMENTS_DEP_INITIATED] = {[PAYMENTS_DEP_PENDING] = true, [PAYMENTS_DEP_SUCCEEDED] = true,
                                    [PAYMENTS_DEP_FAILED] = true, [PAYMENTS_DEP_EXPIRED] = true},
        [PAYMENTS_DEP_PENDING] = {[PAYMENTS_DEP_SUCCEEDED] = true, [PAYMENTS_DEP_FAILED] = true,
                                  [PAYMENTS_DEP_EXPIRED] = true},
    };
    for (int from = 1; from <= 5; from++)
        for (int to = 1; to <= 5; to++)
            if (payments_deposit_transition_ok(from, to) != legal[from][to])
                fail_msg("deposit %s -> %s", payments_deposit_state_name(from),
                         payments_deposit_state_name(to));
    enum payments_deposit_state s;
    assert_int_equal(payments_deposit_state_parse("expired", &s), 0);
    assert_int_equal(s, PAYMENTS_DEP_EXPIRED);
    assert_int_equal(payments_deposit_state_parse("done", &s), PB_ERR_INVALID);
}

static void test_withdrawal_transitions(void **state)
{
    (void)state;
    static const bool legal[9][9] = {
        [PAYMENTS_WDR_REQUESTED] = {[PAYMENTS_WDR_REVIEW] = true, [PAYMENTS_WDR_APPROVED] = true,
                                    [PAYMENTS_WDR_CANCELLED] = true},
        [PAYMENTS_WDR_REVIEW] = {[PAYMENTS_WDR_APPROVED] = true, [PAYMENTS_WDR_REJECTED] = true,
                                 [PAYMENTS_WDR_CANCELLED] = true},
        [PAYMENTS_WDR_APPROVED] = {[PAYMENTS_WDR_PROCESSING] = true,
                                   [PAYMENTS_WDR_CANCELLED] = true},
        [PAYMENTS_WDR_PROCESSING] = {[PAYMENTS_WDR_COMPLETED] = true,
                                     [PAYMENTS_WDR_FAILED] = true},
    };
    for (int from = 1; from <= 8; from++)
        for (int to = 1; to <= 8; to++)
            if (payments_withdrawal_transition_ok(from, to) != legal[from][to])
                fail_msg("withdrawal %s -> %s", payments_withdrawal_state_name(from),
                         payments_withdrawal_state_name(to));
    enum payments_withdrawal_state s;
    assert_int_equal(payments_withdrawal_state_parse("review", &s), 0);
    assert_int_equal(s, PAYMENTS_WDR_REVIEW);
    assert_int_equal(payments_withdrawal_state_parse("paid", &s), PB_ERR_INVALID);
}

static void test_fees_and_methods(void **state)
{
    (void)state;
    const struct payments_method *card = payments_method_find("card");
    int64_t fee;
    assert_non_null(card);
    assert_null(payments_method_find("cheque"));
    assert_int_equal(payments_fee(card, 5000, &fee), 0);
    assert_int_equal(fee, 25 + 75); /* 25 fixed + 1.5 % */
    assert_int_equal(payments_fee(card, 1033, &fee), 0);
    assert_int_equal(fee, 25 + 15); /* 15.495 rounded down */
    assert_int_equal(payments_fee(card, INT64_MAX / 2, &fee), PB_ERR_INVALID);
    assert_string_equal(payments_sandbox_scenario("", 1013), "fail");
    assert_string_equal(payments_sandbox_scenario("", 1014), "expire");
    assert_string_equal(payments_sandbox_scenario("", 1015), "duplicate");
    assert_string_equal(payments_sandbox_scenario("", 1016), "out_of_order");
    assert_string_equal(payments_sandbox_scenario("", 1000), "succeed");
    assert_string_equal(payments_sandbox_scenario("fail", 1000), "fail");
    assert_true(payments_sandbox_scenario_ok("out_of_order"));
    assert_false(payments_sandbox_scenario_ok("explode"));
}

#define SECRET "payments-secret-for-tests"
#define BODY                                                                                   \
    "{\"event_id\":\"evt-1\",\"type\":\"deposit.succeeded\",\"reference\":\"pb-dep-1\","     \
    "\"amount_minor\":5000,\"currency\":\"EUR\"}"

static void test_signature_good_bad_expired(void **state)
{
    (void)state;
    char header[PAYMENTS_SIGNATURE_HEADER_MAX];
    int64_t now = 1700000000;
    payments_sign(SECRET, now, BODY, strlen(BODY), header);
    assert_int_equal(payments_verify_signature(SECRET, header, BODY, strlen(BODY), now), 0);
    assert_int_equal(payments_verify_signature(SECRET, header, BODY, strlen(BODY), now + 300), 0);
    assert_int_equal(payments_verify_signature(SECRET, header, BODY, strlen(BODY), now + 301),
                     PB_ERR_TIMEOUT);
    assert_int_equal(payments_verify_signature(SECRET, header, BODY, strlen(BODY), now - 301),
                     PB_ERR_TIMEOUT);
    assert_int_equal(payments_verify_signature("other", header, BODY, strlen(BODY), now),
                     PB_ERR_INVALID);
    assert_int_equal(payments_verify_signature(SECRET, header, BODY, strlen(BODY) - 1, now),
                     PB_ERR_INVALID);
    static const char *const malformed[] = {
        NULL, "", "t=,v1=00", "v1=ab,t=1", "t=1700000000", "t=1700000000,v1=zz",
        "t=12345678901234,v1=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    };
    for (size_t i = 0; i < PB_ARRAY_LEN(malformed); i++)
        assert_int_equal(payments_verify_signature(SECRET, malformed[i], BODY, strlen(BODY), now),
                         PB_ERR_INVALID);
}

static void expect_parse_error(const char *body, const char *field)
{
    struct payments_event ev;
    struct pb_json_error err;
    assert_int_equal(payments_sandbox_parse(body, strlen(body), &ev, &err), PB_ERR_INVALID);
    if (strcmp(err.field, field) != 0)
        fail_msg("%s: field %s, expected %s", body, err.field, field);
}

static void test_webhook_decoder(void **state)
{
    (void)state;
    struct payments_event ev;
    struct pb_json_error err;
    assert_int_equal(payments_sandbox_parse(BODY, strlen(BODY), &ev, &err), 0);
    assert_int_equal(ev.type, PAYMENTS_EV_DEPOSIT_SUCCEEDED);
    assert_string_equal(ev.reference, "pb-dep-1");
    assert_int_equal(ev.amount_minor, 5000);
    expect_parse_error("{\"event_id\":\"e\",\"type\":\"deposit.won\",\"reference\":\"r\","
                       "\"amount_minor\":1,\"currency\":\"EUR\"}", "type");
    expect_parse_error("{\"event_id\":\"e\",\"type\":\"deposit.failed\",\"reference\":\"r r\","
                       "\"amount_minor\":1,\"currency\":\"EUR\"}", "reference");
    expect_parse_error("{\"event_id\":\"e\",\"type\":\"deposit.failed\",\"reference\":\"r\","
                       "\"amount_minor\":0,\"currency\":\"EUR\"}", "amount_minor");
    expect_parse_error("{\"event_id\":\"e\",\"type\":\"deposit.failed\",\"reference\":\"r\","
                       "\"amount_minor\":1,\"currency\":\"XXX\"}", "currency");
    expect_parse_error("{\"type\":\"deposit.failed\",\"reference\":\"r\","
                       "\"amount_minor\":1,\"currency\":\"EUR\"}", "event_id");
    expect_parse_error("{\"event_id\":\"e\",\"type\":\"deposit.failed\",\"reference\":\"r\","
                       "\"amount_minor\":1,\"currency\":\"EUR\",\"x\":1}", "x");
    expect_parse_error("[1]", "");
}

/* ---- storage, on both engines ---- */

static char db_url[600];
static struct writer *w;
static struct ledger *lg;
static struct store *rd;
static struct pam_config *cfg;
static struct payments_settings set;

static const char kyc_deposit_config[] =
    "{\"jurisdictions\":{\"strict\":{\"min_age\":18,\"currencies\":[\"EUR\"],"
    "\"countries\":[\"*\"],\"kyc_required\":[\"deposit\"],\"rg_rule_set\":\"permissive\"},"
    "\"open\":{\"min_age\":18,\"currencies\":[\"EUR\"],\"countries\":[\"*\"],"
    "\"kyc_required\":[],\"rg_rule_set\":\"permissive\"}},"
    "\"brands\":{\"strict\":{\"jurisdiction\":\"strict\"},\"open\":{\"jurisdiction\":\"open\"}}}";

static void start(bool pg)
{
    char err[256];
    pbt_fresh_database(pg, "pb_pay", db_url, sizeof(db_url));
    pbt_migrate(db_url, outbox_migrations, outbox_migrations_count);
    pbt_migrate(db_url, ledger_migrations, ledger_migrations_count);
    pbt_migrate(db_url, audit_migrations, audit_migrations_count);
    pbt_migrate(db_url, pam_migrations, pam_migrations_count);
    pbt_migrate(db_url, kyc_migrations, kyc_migrations_count);
    pbt_migrate(db_url, payments_migrations, payments_migrations_count);
    assert_int_equal(pam_config_load_text(kyc_deposit_config, strlen(kyc_deposit_config), &cfg,
                                          err, sizeof(err)), 0);
    payments_settings_defaults(&set);
    lg = ledger_new();
    struct writer_participant p = ledger_participant(lg);
    w = pbt_start_writer(db_url, &p);
    rd = pbt_open(db_url);
}

static void stop(void)
{
    struct pb_buf report = PB_BUF_INIT;
    int rc = ledger_verify(rd, &report);
    if (rc != 0)
        fail_msg("ledger verify: %s", pb_buf_str(&report));
    pb_buf_release(&report);
    store_close(rd);
    writer_stop(w);
    ledger_free(lg);
    pam_config_free(cfg);
}

static int insert_player_step(struct store *tx, void *arg)
{
    const char *const *a = arg;
    struct pam_player p;
    memset(&p, 0, sizeof(p));
    snprintf(p.id, sizeof(p.id), "%s", a[0]);
    snprintf(p.brand, sizeof(p.brand), "%s", a[1]);
    snprintf(p.email, sizeof(p.email), "%s@example.com", a[0]);
    snprintf(p.password_hash, sizeof(p.password_hash), "$argon2id$placeholder");
    snprintf(p.date_of_birth, sizeof(p.date_of_birth), "1990-01-01");
    snprintf(p.country, sizeof(p.country), "DE");
    snprintf(p.currency, sizeof(p.currency), "EUR");
    p.created_at_ms = 1000;
    return pam_player_insert(tx, &p);
}

static void player(const char *id, const char *brand)
{
    const char *a[2] = {id, brand};
    assert_int_equal(pbt_run(w, insert_player_step, a), 0);
}

/* ---- deposits ---- */

struct dep_arg {
    struct payments_deposit d;
    struct payments_refusal r;
    const char *reference;
    enum payments_deposit_state to;
    int64_t amount;
    const char *currency;
    bool changed;
    int n;
};

static int start_step(struct store *tx, void *arg)
{
    struct dep_arg *a = arg;
    return payments_deposit_start(lg, tx, NULL, cfg, &a->d, &a->r);
}

static int settle_step(struct store *tx, void *arg)
{
    struct dep_arg *a = arg;
    return payments_deposit_settle(lg, tx, NULL, a->reference, a->to, a->amount,
                                   a->currency ? a->currency : "EUR", 2000, &a->changed, &a->d);
}

static int expire_step(struct store *tx, void *arg)
{
    struct dep_arg *a = arg;
    return payments_deposits_expire(lg, tx, NULL, 1000000, 10, &a->n);
}

static int seq;

/* Starts a deposit; returns its refusal status (0: started). */
static int deposit(const char *player_id, const char *method, int64_t amount, const char *cur,
                   struct dep_arg *a)
{
    memset(a, 0, sizeof(*a));
    snprintf(a->d.id, sizeof(a->d.id), "dep_%d", ++seq);
    snprintf(a->d.reference, sizeof(a->d.reference), "ref-%d", seq);
    snprintf(a->d.player_id, sizeof(a->d.player_id), "%s", player_id);
    snprintf(a->d.method, sizeof(a->d.method), "%s", method);
    snprintf(a->d.psp, sizeof(a->d.psp), "sandbox");
    snprintf(a->d.currency, sizeof(a->d.currency), "%s", cur);
    a->d.amount_minor = amount;
    a->d.created_at_ms = 1000;
    a->d.expires_at_ms = 1000 + 1800 * 1000;
    assert_int_equal(pbt_run(w, start_step, a), 0);
    return a->r.status;
}

static int settle(const char *reference, enum payments_deposit_state to, int64_t amount,
                  bool *changed)
{
    struct dep_arg a = {.reference = reference, .to = to, .amount = amount};
    int rc = pbt_run(w, settle_step, &a);
    *changed = a.changed;
    return rc;
}

/* posted and available balance of the player's account of code in EUR (or cur). */
static int64_t balance_of(const char *player_id, int code, const char *cur)
{
    char owner[80];
    struct ledger_account acc[16];
    size_t n;
    snprintf(owner, sizeof(owner), "player:%s", player_id);
    assert_int_equal(ledger_balances(rd, owner, acc, 16, &n), 0);
    for (size_t i = 0; i < n; i++)
        if (acc[i].code == code && strcmp(acc[i].currency, cur) == 0)
            return ledger_available(&acc[i]);
    return 0;
}

static int64_t cash(const char *player_id)
{
    return balance_of(player_id, LEDGER_ACC_PLAYER_CASH, "EUR");
}

static void deposit_credited_exactly_once(bool pg)
{
    start(pg);
    player("p1", "open");
    struct dep_arg a;
    bool changed;
    assert_int_equal(deposit("p1", "card", 5000, "EUR", &a), 0);
    assert_int_equal(a.d.state, PAYMENTS_DEP_INITIATED);
    assert_int_equal(a.d.fee_minor, 100);
    assert_int_equal(cash("p1"), 0); /* a pending credit is not available */
    char r1[PAYMENTS_REFERENCE_MAX + 1], r2[PAYMENTS_REFERENCE_MAX + 1], id2[PAYMENTS_ID_SIZE];
    snprintf(r1, sizeof(r1), "%s", a.d.reference);
    assert_int_equal(settle(r1, PAYMENTS_DEP_PENDING, 5000, &changed), 0);
    assert_true(changed);
    assert_int_equal(settle(r1, PAYMENTS_DEP_SUCCEEDED, 5000, &changed), 0);
    assert_true(changed);
    assert_int_equal(cash("p1"), 4900); /* the player bears the card fee */
    /* a repeat, a late pending, a late failure: nothing */
    assert_int_equal(settle(r1, PAYMENTS_DEP_SUCCEEDED, 5000, &changed), 0);
    assert_false(changed);
    assert_int_equal(settle(r1, PAYMENTS_DEP_PENDING, 5000, &changed), 0);
    assert_false(changed);
    assert_int_equal(settle(r1, PAYMENTS_DEP_FAILED, 5000, &changed), 0);
    assert_false(changed);
    assert_int_equal(cash("p1"), 4900);
    /* unknown reference, a different amount: refused, nothing */
    assert_int_equal(settle("ref-x", PAYMENTS_DEP_SUCCEEDED, 5000, &changed), PB_ERR_NOT_FOUND);
    assert_int_equal(deposit("p1", "bank_transfer", 3000, "EUR", &a), 0);
    snprintf(r2, sizeof(r2), "%s", a.d.reference);
    snprintf(id2, sizeof(id2), "%s", a.d.id);
    assert_int_equal(settle(r2, PAYMENTS_DEP_SUCCEEDED, 3001, &changed), PB_ERR_CONFLICT);
    assert_int_equal(cash("p1"), 4900);
    assert_int_equal(settle(r2, PAYMENTS_DEP_SUCCEEDED, 3000, &changed), 0);
    assert_int_equal(cash("p1"), 7900); /* the operator bears the bank fee */
    struct payments_deposit d;
    assert_int_equal(payments_deposit_get(rd, id2, &d), 0);
    assert_int_equal(d.state, PAYMENTS_DEP_SUCCEEDED);
    stop();
}
PBT_BOTH(deposit_credited_exactly_once)

static void deposit_failure_and_expiry_void(bool pg)
{
    start(pg);
    player("p1", "open");
    struct dep_arg a;
    bool changed;
    assert_int_equal(deposit("p1", "card", 2000, "EUR", &a), 0);
    assert_int_equal(settle(a.d.reference, PAYMENTS_DEP_FAILED, 2000, &changed), 0);
    assert_true(changed);
    assert_int_equal(settle(a.d.reference, PAYMENTS_DEP_SUCCEEDED, 2000, &changed), 0);
    assert_false(changed); /* never backwards */
    assert_int_equal(deposit("p1", "card", 2000, "EUR", &a), 0);
    assert_int_equal(settle(a.d.reference, PAYMENTS_DEP_PENDING, 2000, &changed), 0);
    struct dep_arg e = {0};
    assert_int_equal(pbt_run(w, expire_step, &e), 0);
    assert_int_equal(e.n, 0); /* not yet due at 1 000 000 ms: expires at 1 801 000 */
    struct payments_deposit d;
    char ref[PAYMENTS_REFERENCE_MAX + 1];
    snprintf(ref, sizeof(ref), "%s", a.d.reference);
    assert_int_equal(payments_deposit_by_reference(rd, ref, &d), 0);
    assert_int_equal(d.state, PAYMENTS_DEP_PENDING);
    assert_int_equal(settle(ref, PAYMENTS_DEP_EXPIRED, 0, &changed), 0);
    assert_true(changed);
    assert_int_equal(settle(ref, PAYMENTS_DEP_SUCCEEDED, 2000, &changed), 0);
    assert_false(changed);
    assert_int_equal(cash("p1"), 0);
    stop();
}
PBT_BOTH(deposit_failure_and_expiry_void)

static int block_step(struct store *tx, void *arg)
{
    return pam_player_block_set(tx, arg, PAM_BLOCK_DEPOSIT, "test", 1000);
}

static int refuse_deposits(void *arg, struct store *tx, struct writer_cmd *cmd,
                           const struct ledger_guard_item *items, size_t n,
                           struct ledger_refusal *refusal)
{
    (void)arg;
    (void)tx;
    (void)cmd;
    for (size_t i = 0; i < n; i++) {
        if (items[i].code == LEDGER_TX_DEPOSIT && items[i].kind == LEDGER_PENDING &&
            items[i].amount > 10000) {
            refusal->status = 422;
            snprintf(refusal->code, sizeof(refusal->code), "limit_exceeded");
            snprintf(refusal->detail, sizeof(refusal->detail), "deposit limit");
            refusal->members[0] = '\0';
            return LEDGER_E_REFUSED;
        }
    }
    return 0;
}

static int count_rows(const char *table)
{
    char sql[128];
    struct store_stmt *st;
    snprintf(sql, sizeof(sql), "SELECT COUNT(*) FROM %s", table);
    assert_int_equal(store_prepare(rd, sql, &st), 0);
    assert_int_equal(store_step(st), STORE_ROW);
    int n = (int)store_column_int64(st, 0);
    store_finalize(st);
    return n;
}

static void deposit_refusals_write_nothing(bool pg)
{
    start(pg);
    player("p1", "open");
    player("p2", "strict");
    struct dep_arg a;
    assert_int_equal(deposit("nobody", "card", 2000, "EUR", &a), 404);
    assert_int_equal(deposit("p2", "card", 2000, "EUR", &a), 403);
    assert_string_equal(a.r.code, "kyc_required");
    assert_int_equal(deposit("p1", "card", 2000, "USD", &a), 422);
    assert_string_equal(a.r.code, "currency_not_allowed");
    assert_int_equal(deposit("p1", "card", 999, "EUR", &a), 422);
    assert_string_equal(a.r.code, "amount_out_of_range");
    assert_int_equal(deposit("p1", "card", 500001, "EUR", &a), 422);
    struct ledger_guard refusing = {refuse_deposits, NULL, NULL};
    ledger_set_guard(lg, &refusing);
    assert_int_equal(deposit("p1", "card", 20000, "EUR", &a), 422);
    assert_null(a.r.code);
    assert_int_equal(a.r.ledger.error, LEDGER_E_REFUSED);
    assert_string_equal(a.r.ledger.refusal.code, "limit_exceeded");
    ledger_set_guard(lg, NULL);
    assert_int_equal(pbt_run(w, block_step, "p1"), 0);
    assert_int_equal(deposit("p1", "card", 2000, "EUR", &a), 403);
    assert_string_equal(a.r.code, "deposit_blocked");
    assert_int_equal(count_rows("payment_deposits"), 0);
    assert_int_equal(count_rows("ledger_transfers"), 0);
    stop();
}
PBT_BOTH(deposit_refusals_write_nothing)

/* ---- withdrawals ---- */

struct wdr_arg {
    struct payments_withdrawal w;
    struct payments_refusal r;
    const char *id;
    enum payments_withdrawal_state to;
};

static int request_step(struct store *tx, void *arg)
{
    struct wdr_arg *a = arg;
    return payments_withdrawal_request(lg, tx, NULL, cfg, &set, &a->w, &a->r);
}

static int move_step(struct store *tx, void *arg)
{
    struct wdr_arg *a = arg;
    return payments_withdrawal_move(lg, tx, NULL, a->id, a->to, "staff", "checked", NULL, 3000,
                                    &a->w, &a->r);
}

static int withdraw(const char *player_id, const char *method, int64_t amount, const char *cur,
                    struct wdr_arg *a)
{
    memset(a, 0, sizeof(*a));
    snprintf(a->w.id, sizeof(a->w.id), "wdr_%d", ++seq);
    snprintf(a->w.reference, sizeof(a->w.reference), "wref-%d", seq);
    snprintf(a->w.player_id, sizeof(a->w.player_id), "%s", player_id);
    snprintf(a->w.method, sizeof(a->w.method), "%s", method);
    snprintf(a->w.psp, sizeof(a->w.psp), "%s", payments_method_find(method)->psp);
    snprintf(a->w.currency, sizeof(a->w.currency), "%s", cur);
    a->w.amount_minor = amount;
    a->w.created_at_ms = 2500;
    assert_int_equal(pbt_run(w, request_step, a), 0);
    return a->r.status;
}

static int move(const char *id, enum payments_withdrawal_state to)
{
    struct wdr_arg a = {.id = id, .to = to};
    assert_int_equal(pbt_run(w, move_step, &a), 0);
    return a.r.status;
}

static void funded(const char *player_id, int64_t amount)
{
    struct dep_arg a;
    bool changed;
    assert_int_equal(deposit(player_id, "bank_transfer", amount, "EUR", &a), 0);
    assert_int_equal(settle(a.d.reference, PAYMENTS_DEP_SUCCEEDED, amount, &changed), 0);
}

struct bet_arg {
    const char *player_id;
    int64_t amount;
};

static int bet_step(struct store *tx, void *arg)
{
    struct bet_arg *b = arg;
    int64_t ids[3], house;
    struct ledger_outcome out;
    assert_int_equal(ledger_open_player_accounts(lg, tx, b->player_id, "EUR", ids), 0);
    assert_int_equal(ledger_open_account(lg, tx, "house", LEDGER_ACC_HOUSE_CASINO, "EUR", &house),
                     0);
    struct ledger_transfer t = {.kind = LEDGER_POSTED, .debit_account = ids[0],
                                .credit_account = house, .amount = b->amount,
                                .code = LEDGER_TX_BET, .reference = "round:1"};
    int rc = ledger_apply(lg, tx, NULL, NULL, &t, 1, &out);
    return rc ? rc : out.error == LEDGER_OK ? 0 : PB_ERR_CONFLICT;
}

static void withdrawal_review_and_ledger_steps(bool pg)
{
    start(pg);
    player("p1", "open");
    funded("p1", 300000);
    struct wdr_arg a;
    struct payments_withdrawal got;
    /* no bets since the deposit, KYC not verified, at the threshold: review for all three */
    assert_int_equal(withdraw("p1", "card", 100000, "EUR", &a), 0);
    assert_int_equal(a.w.state, PAYMENTS_WDR_REVIEW);
    assert_string_equal(a.w.review_reasons, "amount_threshold,kyc_unverified,low_wagering");
    assert_int_equal(cash("p1"), 200000);
    assert_int_equal(balance_of("p1", LEDGER_ACC_PLAYER_LOCKED, "EUR"), 100000);
    char first[PAYMENTS_ID_SIZE];
    snprintf(first, sizeof(first), "%s", a.w.id);
    assert_int_equal(move(first, PAYMENTS_WDR_COMPLETED), 409);
    assert_int_equal(move("wdr_none", PAYMENTS_WDR_APPROVED), 404);
    assert_int_equal(move(first, PAYMENTS_WDR_APPROVED), 0);
    assert_int_equal(move(first, PAYMENTS_WDR_APPROVED), 409);
    assert_int_equal(move(first, PAYMENTS_WDR_PROCESSING), 0);
    assert_int_equal(move(first, PAYMENTS_WDR_CANCELLED), 409); /* too late to cancel */
    assert_int_equal(move(first, PAYMENTS_WDR_COMPLETED), 0);
    assert_int_equal(move(first, PAYMENTS_WDR_FAILED), 409);
    assert_int_equal(balance_of("p1", LEDGER_ACC_PLAYER_LOCKED, "EUR"), 0);
    assert_int_equal(payments_withdrawal_get(rd, first, &got), 0);
    assert_int_equal(got.state, PAYMENTS_WDR_COMPLETED);
    assert_string_equal(got.reviewer, "staff");
    /* rejected, cancelled and failed ones return their funds */
    assert_int_equal(withdraw("p1", "card", 5000, "EUR", &a), 0);
    assert_int_equal(move(a.w.id, PAYMENTS_WDR_REJECTED), 0);
    assert_int_equal(withdraw("p1", "card", 5000, "EUR", &a), 0);
    assert_int_equal(move(a.w.id, PAYMENTS_WDR_CANCELLED), 0);
    assert_int_equal(withdraw("p1", "card", 5000, "EUR", &a), 0);
    assert_int_equal(move(a.w.id, PAYMENTS_WDR_APPROVED), 0);
    assert_int_equal(move(a.w.id, PAYMENTS_WDR_PROCESSING), 0);
    assert_int_equal(move(a.w.id, PAYMENTS_WDR_FAILED), 0);
    assert_int_equal(cash("p1"), 200000);
    assert_int_equal(balance_of("p1", LEDGER_ACC_PLAYER_LOCKED, "EUR"), 0);
    /* refusals */
    assert_int_equal(withdraw("p1", "card", 999, "EUR", &a), 422);
    assert_string_equal(a.r.code, "amount_out_of_range");
    assert_int_equal(withdraw("p1", "bank_transfer", 200001, "EUR", &a), 422);
    assert_string_equal(a.r.code, "insufficient_funds");
    assert_int_equal(withdraw("p1", "card", 5000, "GBP", &a), 422);
    assert_string_equal(a.r.code, "currency_not_allowed");
    stop();
}
PBT_BOTH(withdrawal_review_and_ledger_steps)

static int verify_step(struct store *tx, void *arg)
{
    return kyc_transition(tx, arg, KYC_PENDING, 0, "player", "", 1000, NULL, NULL) ||
           kyc_transition(tx, arg, KYC_VERIFIED, 1, "staff", "ok", 1000, NULL, NULL);
}

static int withdraw_block_step(struct store *tx, void *arg)
{
    return pam_player_block_set(tx, arg, PAM_BLOCK_BET, "time-out", 1000);
}

static void withdrawal_rules(bool pg)
{
    start(pg);
    player("p1", "open");
    assert_int_equal(pbt_run(w, verify_step, "p1"), 0);
    set.wagering_percent = 50; /* bets of half the last deposit */
    funded("p1", 10000);
    struct wdr_arg a;
    assert_int_equal(withdraw("p1", "card", 1000, "EUR", &a), 0);
    assert_string_equal(a.w.review_reasons, "low_wagering");
    struct bet_arg b = {"p1", 3000};
    assert_int_equal(pbt_run(w, bet_step, &b), 0);
    assert_int_equal(withdraw("p1", "card", 1000, "EUR", &a), 0);
    assert_string_equal(a.w.review_reasons, "low_wagering"); /* 3000 < 5000 */
    b.amount = 2000;
    assert_int_equal(pbt_run(w, bet_step, &b), 0);
    assert_int_equal(withdraw("p1", "card", 1000, "EUR", &a), 0);
    assert_string_equal(a.w.review_reasons, "");
    assert_int_equal(a.w.state, PAYMENTS_WDR_APPROVED);
    assert_int_equal(pbt_run(w, withdraw_block_step, "p1"), 0);
    assert_int_equal(withdraw("p1", "card", 1000, "EUR", &a), 0);
    assert_string_equal(a.w.review_reasons, "risk_flag");
    stop();
}
PBT_BOTH(withdrawal_rules)

/* ---- crypto ---- */

struct crypto_arg {
    struct payments_chain_report rep;
    struct payments_crypto_result res;
    char address[PAYMENTS_ADDRESS_MAX + 1];
    const char *player_id;
    int added;
};

static int import_step(struct store *tx, void *arg)
{
    struct crypto_arg *a = arg;
    static const char *const pool[] = {"bc1alpha", "bc1beta", "bc1alpha"};
    return payments_crypto_import(tx, "bitcoin", "BTC", pool, 3, 1000, &a->added);
}

static int address_step(struct store *tx, void *arg)
{
    struct crypto_arg *a = arg;
    return payments_crypto_address(tx, a->player_id, "bitcoin", "BTC", a->address, 1000);
}

static int report_step(struct store *tx, void *arg)
{
    struct crypto_arg *a = arg;
    return payments_crypto_report(lg, tx, NULL, &set, &a->rep, 4000, &a->res);
}

static struct payments_crypto_result report(const char *txid, const char *address,
                                            int64_t amount, int64_t conf, bool dropped)
{
    struct crypto_arg a = {.rep = {"bitcoin", "BTC", txid, address, 0, amount, conf, dropped}};
    assert_int_equal(pbt_run(w, report_step, &a), 0);
    return a.res;
}

static int64_t btc(const char *player_id)
{
    return balance_of(player_id, LEDGER_ACC_PLAYER_CASH, "BTC");
}

static void crypto_confirmations_and_reorgs(bool pg)
{
    start(pg);
    player("p1", "open");
    player("p2", "open");
    struct crypto_arg a = {.player_id = "p1"};
    assert_int_equal(pbt_run(w, import_step, &a), 0);
    assert_int_equal(a.added, 2);
    assert_int_equal(pbt_run(w, address_step, &a), 0);
    assert_string_equal(a.address, "bc1alpha");
    assert_int_equal(pbt_run(w, address_step, &a), 0); /* the same one again */
    assert_string_equal(a.address, "bc1alpha");
    struct crypto_arg b = {.player_id = "p2"};
    assert_int_equal(pbt_run(w, address_step, &b), 0);
    assert_string_equal(b.address, "bc1beta");
    struct crypto_arg c = {.player_id = "p3"};
    assert_int_equal(pbt_run(w, address_step, &c), PB_ERR_NOT_FOUND); /* pool empty */

    assert_true(report("tx1", "bc1nobody", 500, 1, false).unknown_address);
    struct payments_crypto_result r = report("tx1", "bc1alpha", 50000, 1, false);
    assert_int_equal(r.state, PAYMENTS_CRYPTO_SEEN);
    assert_int_equal(btc("p1"), 0);
    r = report("tx1", "bc1alpha", 50000, 2, false);
    assert_int_equal(r.state, PAYMENTS_CRYPTO_CREDITED);
    assert_int_equal(btc("p1"), 50000);
    r = report("tx1", "bc1alpha", 50000, 2, false); /* duplicate notification */
    assert_false(r.changed);
    assert_int_equal(btc("p1"), 50000);
    int64_t wd;
    assert_int_equal(payments_withdrawable(rd, "p1", "BTC", &wd), 0);
    assert_int_equal(wd, 0); /* credited for play, not withdrawable before N2 */
    struct wdr_arg wa;
    assert_int_equal(withdraw("p1", "crypto", 1000, "BTC", &wa), 422);
    r = report("tx1", "bc1alpha", 50000, 6, false);
    assert_int_equal(r.state, PAYMENTS_CRYPTO_SETTLED);
    assert_int_equal(payments_withdrawable(rd, "p1", "BTC", &wd), 0);
    assert_int_equal(wd, 50000);

    /* a second output, credited, then dropped by a reorganisation: reversed */
    report("tx2", "bc1alpha", 7000, 3, false);
    assert_int_equal(btc("p1"), 57000);
    r = report("tx2", "bc1alpha", 7000, 0, true);
    assert_int_equal(r.state, PAYMENTS_CRYPTO_REVERSED);
    assert_int_equal(btc("p1"), 50000);
    r = report("tx2", "bc1alpha", 7000, 5, false); /* late report of the old chain */
    assert_false(r.changed);
    assert_int_equal(btc("p1"), 50000);
    /* seen only, then dropped: nothing was credited */
    report("tx3", "bc1alpha", 9000, 1, false);
    r = report("tx3", "bc1alpha", 9000, 0, true);
    assert_int_equal(r.state, PAYMENTS_CRYPTO_DROPPED);
    assert_int_equal(btc("p1"), 50000);

    /* p2: credited, played, then the amount changes (replaced transaction): held */
    report("tx4", "bc1beta", 8000, 2, false);
    assert_int_equal(btc("p2"), 8000);
    assert_int_equal(withdraw("p2", "crypto", 8000, "BTC", &wa), 422); /* not yet N2 */
    r = report("tx4", "bc1beta", 8000, 6, false);
    assert_int_equal(withdraw("p2", "crypto", 8000, "BTC", &wa), 0); /* all of it to locked */
    r = report("tx4", "bc1beta", 7000, 6, false);
    assert_int_equal(r.state, PAYMENTS_CRYPTO_HELD);
    unsigned blocks = 0;
    assert_int_equal(pam_player_blocks(rd, "p2", &blocks), 0);
    assert_true(blocks & PAM_BLOCK_WITHDRAW);
    stop();
}
PBT_BOTH(crypto_confirmations_and_reorgs)

/* ---- a chain simulator: blocks, a mempool with a minimum fee, reorganisations ---- */

#define SIM_TX_MAX 16

struct sim_tx {
    char txid[16];
    int64_t amount;
    int fee;
    int block;          /* height of its block; -1 in the mempool */
    bool dropped;       /* double-spent away by a reorganisation: gone for good */
    int64_t max_conf;   /* the most confirmations ever reported before it was dropped */
};

struct sim {
    int height, min_fee, n;
    uint64_t rng;
    struct sim_tx tx[SIM_TX_MAX];
};

static unsigned sim_rand(struct sim *s, unsigned n)
{
    s->rng = s->rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return (unsigned)(s->rng >> 33) % n;
}

static void sim_mine(struct sim *s)
{
    s->height++;
    for (int i = 0; i < s->n; i++)
        if (s->tx[i].block < 0 && !s->tx[i].dropped && s->tx[i].fee >= s->min_fee)
            s->tx[i].block = s->height;
}

/* The last depth blocks are replaced by depth + 1 others; their transactions go back to the
 * mempool, and with double_spend one of them is replaced by a conflicting one. */
static void sim_reorg(struct sim *s, int depth, bool double_spend)
{
    int victim = -1, victim_block = -2; /* the newest lost transaction, else a mempool one */
    for (int i = 0; i < s->n; i++) {
        bool lost = s->tx[i].block > s->height - depth, mempool = s->tx[i].block < 0;
        if (s->tx[i].dropped || (!lost && !mempool))
            continue;
        if (s->tx[i].block >= victim_block) {
            victim = i;
            victim_block = s->tx[i].block;
        }
        if (lost)
            s->tx[i].block = -1;
    }
    if (double_spend && victim >= 0)
        s->tx[victim].dropped = true;
    s->height -= depth;
    for (int i = 0; i <= depth; i++)
        sim_mine(s);
}

/* The watcher reports every transaction it knows, every block: duplicates galore. */
static void sim_report(struct sim *s)
{
    for (int i = 0; i < s->n; i++) {
        struct sim_tx *t = &s->tx[i];
        int64_t conf = t->block < 0 || t->dropped ? 0 : s->height - t->block + 1;
        if (!t->dropped && conf > t->max_conf)
            t->max_conf = conf;
        report(t->txid, "bc1alpha", t->amount, conf, t->dropped);
    }
}

static void chain_simulation_matches_the_model(bool pg)
{
    start(pg);
    player("p1", "open");
    struct crypto_arg a = {.player_id = "p1"};
    assert_int_equal(pbt_run(w, import_step, &a), 0);
    assert_int_equal(pbt_run(w, address_step, &a), 0);
    struct sim s = {.rng = 42, .min_fee = 1};
    for (int step = 0; step < 80; step++) {
        unsigned op = sim_rand(&s, 10);
        if (op < 3 && s.n < SIM_TX_MAX) {
            struct sim_tx *t = &s.tx[s.n++];
            snprintf(t->txid, sizeof(t->txid), "sim%d", s.n);
            t->amount = 1000 + sim_rand(&s, 9000);
            t->fee = 1 + (int)sim_rand(&s, 10);
            t->block = -1;
        } else if (op < 7) {
            sim_mine(&s);
        } else if (op < 9) {
            sim_reorg(&s, 1 + (int)sim_rand(&s, 3), sim_rand(&s, 2) == 0);
        } else {
            s.min_fee = 1 + (int)sim_rand(&s, 12); /* a fee spike (or its end) */
        }
        sim_report(&s);
        int64_t credited = 0, settled = 0, withdrawable = 0;
        for (int i = 0; i < s.n; i++) {
            const struct sim_tx *t = &s.tx[i];
            if (!t->dropped && t->max_conf >= set.confirmations_play)
                credited += t->amount;
            if (!t->dropped && t->max_conf >= set.confirmations_withdraw)
                settled += t->amount;
        }
        if (btc("p1") != credited)
            fail_msg("step %d: cash %lld, model %lld", step, (long long)btc("p1"),
                     (long long)credited);
        assert_int_equal(payments_withdrawable(rd, "p1", "BTC", &withdrawable), 0);
        assert_int_equal(withdrawable, settled);
    }
    /* the seed's run went through every path: settled, reversed after a credit, dropped */
    for (int state = PAYMENTS_CRYPTO_SETTLED; state <= PAYMENTS_CRYPTO_DROPPED; state++) {
        struct store_stmt *st;
        assert_int_equal(store_prepare(rd, "SELECT COUNT(*) FROM payment_crypto_outputs"
                                           " WHERE state = ?", &st), 0);
        store_bind_int64(st, 1, state);
        assert_int_equal(store_step(st), STORE_ROW);
        printf("# %s: %lld\n", payments_crypto_state_name(state),
               (long long)store_column_int64(st, 0));
        if (state != PAYMENTS_CRYPTO_HELD)
            assert_true(store_column_int64(st, 0) > 0);
        store_finalize(st);
    }
    stop();
}
PBT_BOTH(chain_simulation_matches_the_model)

/* ---- reconciliation ---- */

static void reconciliation_lists_every_mismatch(bool pg)
{
    start(pg);
    player("p1", "open");
    struct dep_arg a;
    bool changed;
    deposit("p1", "card", 2000, "EUR", &a); /* ref-N: succeeded */
    char r1[PAYMENTS_REFERENCE_MAX + 1], r2[PAYMENTS_REFERENCE_MAX + 1];
    char r3[PAYMENTS_REFERENCE_MAX + 1];
    snprintf(r1, sizeof(r1), "%s", a.d.reference);
    settle(r1, PAYMENTS_DEP_SUCCEEDED, 2000, &changed);
    deposit("p1", "card", 3000, "EUR", &a); /* failed here, succeeded at the PSP */
    snprintf(r2, sizeof(r2), "%s", a.d.reference);
    settle(r2, PAYMENTS_DEP_FAILED, 3000, &changed);
    deposit("p1", "card", 4000, "EUR", &a); /* not on the statement */
    snprintf(r3, sizeof(r3), "%s", a.d.reference);
    char json[1024];
    snprintf(json, sizeof(json),
             "{\"psp\":\"sandbox\",\"rows\":["
             "{\"reference\":\"%s\",\"kind\":\"deposit\",\"amount_minor\":2000,"
             "\"currency\":\"EUR\",\"status\":\"succeeded\"},"
             "{\"reference\":\"%s\",\"kind\":\"deposit\",\"amount_minor\":3100,"
             "\"currency\":\"EUR\",\"status\":\"succeeded\"},"
             "{\"reference\":\"ghost\",\"kind\":\"deposit\",\"amount_minor\":10,"
             "\"currency\":\"EUR\",\"status\":\"succeeded\"}]}", r1, r2);
    struct pb_buf out = PB_BUF_INIT;
    int n = 0;
    assert_int_equal(payments_reconcile(rd, "sandbox", json, strlen(json), &out, &n), 0);
    assert_int_equal(n, 4);
    const char *text = pb_buf_str(&out);
    assert_non_null(strstr(text, "amount_differs deposit"));
    assert_non_null(strstr(text, "status_differs deposit"));
    assert_non_null(strstr(text, "missing_at_psp deposit"));
    assert_non_null(strstr(text, r3));
    assert_non_null(strstr(text, "missing_in_ledger deposit ghost"));
    pb_buf_reset(&out);
    char csv[512];
    snprintf(csv, sizeof(csv), "reference,kind,amount_minor,currency,status\n"
             "%s,deposit,2000,EUR,succeeded\n%s,deposit,3000,EUR,failed\n"
             "%s,deposit,4000,EUR,pending\n", r1, r2, r3);
    assert_int_equal(payments_reconcile(rd, "sandbox", csv, strlen(csv), &out, &n), 0);
    assert_int_equal(n, 0);
    pb_buf_reset(&out);
    const char *bad = "reference,kind\nx,deposit\n";
    assert_int_equal(payments_reconcile(rd, "sandbox", bad, strlen(bad), &out, &n),
                     PB_ERR_INVALID);
    pb_buf_release(&out);
    stop();
}
PBT_BOTH(reconciliation_lists_every_mismatch)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deposit_transitions),
        cmocka_unit_test(test_withdrawal_transitions),
        cmocka_unit_test(test_fees_and_methods),
        cmocka_unit_test(test_signature_good_bad_expired),
        cmocka_unit_test(test_webhook_decoder),
        PBT_PAIR(deposit_credited_exactly_once),
        PBT_PAIR(deposit_failure_and_expiry_void),
        PBT_PAIR(deposit_refusals_write_nothing),
        PBT_PAIR(withdrawal_review_and_ledger_steps),
        PBT_PAIR(withdrawal_rules),
        PBT_PAIR(crypto_confirmations_and_reorgs),
        PBT_PAIR(chain_simulation_matches_the_model),
        PBT_PAIR(reconciliation_lists_every_mismatch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
