/* test_providers.c: the providers module (src/providers/providers.h): CIDR ranges, lists,
 * signatures and the replay window, sealed secrets, the generic and alt decoders and the alt
 * encoder; and, on both engines, the wallet operations against the real ledger and rounds:
 * rounds opened on the first bet and closed on end round with their totals, cancelled by a
 * rollback, and the debit-path guard seeing provider bets with their context and its refusals
 * mapped onto the provider taxonomy. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "unit.h"

#include "base/base.h"
#include "core/outbox.h"
#include "games/rounds.h"
#include "ledger/audit.h"
#include "ledger/ledger.h"
#include "pam/auth.h"
#include "pam/pam.h"
#include "providers/providers.h"

#define KEY "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

/* ---- pure functions ---- */

static void test_ranges_v4_v6_and_mapped(void **state)
{
    (void)state;
    const char *r = "10.0.0.0/8,192.0.2.7,2001:db8::/32";
    assert_int_equal(providers_ranges_check(r), PB_OK);
    assert_true(providers_ip_allowed(r, "10.200.3.4"));
    assert_true(providers_ip_allowed(r, "192.0.2.7"));
    assert_false(providers_ip_allowed(r, "192.0.2.8"));
    assert_true(providers_ip_allowed(r, "::ffff:10.1.1.1")); /* v4-mapped */
    assert_true(providers_ip_allowed(r, "2001:db8:ffff::1"));
    assert_false(providers_ip_allowed(r, "2001:db9::1"));
    assert_false(providers_ip_allowed(r, "11.0.0.1"));
    assert_false(providers_ip_allowed(r, "unknown"));
    assert_false(providers_ip_allowed("", "127.0.0.1")); /* no range: nobody */
    assert_true(providers_ip_allowed("0.0.0.0/0", "203.0.113.9"));
    assert_true(providers_ip_allowed("10.0.0.0/7", "11.255.0.1"));
    assert_false(providers_ip_allowed("10.0.0.0/7", "12.0.0.1"));
    const char *bad[] = {"10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0/8", "a,b", "10.0.0.1,",
                         "10.0.0.0/-1", "10.0.0.0/8/8", "1.2.3.4/0008"};
    for (size_t i = 0; i < PB_ARRAY_LEN(bad); i++)
        if (providers_ranges_check(bad[i]) == PB_OK)
            fail_msg("accepted %s", bad[i]);
    char many[1024] = "";
    for (int i = 0; i <= PROVIDERS_RANGES_MAX; i++)
        strcat(many, i ? ",10.0.0.1" : "10.0.0.1");
    assert_int_equal(providers_ranges_check(many), PB_ERR_INVALID);
}

static void test_lists(void **state)
{
    (void)state;
    assert_true(providers_list_has("EUR,GBP", "GBP"));
    assert_false(providers_list_has("EUR,GBP", "GB"));
    assert_false(providers_list_has("", "EUR"));
    assert_true(providers_list_has("*", "anything"));
    assert_true(providers_name_ok("a-b_9"));
    assert_false(providers_name_ok("A"));
    assert_false(providers_name_ok(""));
    assert_false(providers_name_ok("a:b"));
}

static void test_signature_and_window(void **state)
{
    (void)state;
    char sig[PROVIDERS_SIGNATURE_HEX + 1];
    const char *body = "{\"session_token\":\"abc\"}";
    /* the worked example of docs/providers.md (computed independently with Python's hmac) */
    providers_sign("s3cr3t", 1700000000, body, strlen(body), sig);
    assert_string_equal(sig, "4787547b4f7fac956db8373bbfceb22deb1349681690513ea0f3e108f411ddf3");
    int64_t t = 1700000000;
    assert_int_equal(providers_verify("s3cr3t", "1700000000", sig, body, strlen(body), t), PB_OK);
    assert_int_equal(providers_verify("s3cr3t", "1700000000", sig, body, strlen(body),
                                      t + PROVIDERS_SIGNATURE_WINDOW_S), PB_OK);
    assert_int_equal(providers_verify("s3cr3t", "1700000000", sig, body, strlen(body),
                                      t + PROVIDERS_SIGNATURE_WINDOW_S + 1), PB_ERR_TIMEOUT);
    assert_int_equal(providers_verify("s3cr3t", "1700000000", sig, body, strlen(body),
                                      t - PROVIDERS_SIGNATURE_WINDOW_S - 1), PB_ERR_TIMEOUT);
    assert_int_equal(providers_verify("s3cr3t", "1700000001", sig, body, strlen(body), t),
                     PB_ERR_INVALID);
    assert_int_equal(providers_verify("other", "1700000000", sig, body, strlen(body), t),
                     PB_ERR_INVALID);
    assert_int_equal(providers_verify("s3cr3t", "1700000000", sig, body, strlen(body) - 1, t),
                     PB_ERR_INVALID);
    assert_int_equal(providers_verify("s3cr3t", NULL, sig, body, strlen(body), t),
                     PB_ERR_INVALID);
    assert_int_equal(providers_verify("s3cr3t", "17e8", sig, body, strlen(body), t),
                     PB_ERR_INVALID);
    assert_int_equal(providers_verify("s3cr3t", "1700000000", "zz", body, strlen(body), t),
                     PB_ERR_INVALID);
    sig[0] = sig[0] == '4' ? '5' : '4';
    assert_int_equal(providers_verify("s3cr3t", "1700000000", sig, body, strlen(body), t),
                     PB_ERR_INVALID);
}

static void test_seal(void **state)
{
    (void)state;
    char sealed[256], out[PROVIDERS_SECRET_TEXT];
    unsetenv(PROVIDERS_SEAL_KEY_ENV);
    assert_int_equal(providers_seal("abc", sealed, sizeof(sealed)), PB_ERR_INVALID);
    setenv(PROVIDERS_SEAL_KEY_ENV, KEY, 1);
    assert_int_equal(providers_seal("the-secret", sealed, sizeof(sealed)), PB_OK);
    assert_null(strstr(sealed, "the-secret"));
    assert_int_equal(providers_unseal(sealed, out), PB_OK);
    assert_string_equal(out, "the-secret");
    char again[256];
    assert_int_equal(providers_seal("the-secret", again, sizeof(again)), PB_OK);
    assert_string_not_equal(sealed, again); /* a fresh nonce each time */
    sealed[strlen(sealed) - 1] ^= 1;
    assert_int_equal(providers_unseal(sealed, out), PB_ERR_CONFLICT);
    setenv(PROVIDERS_SEAL_KEY_ENV,
           "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff", 1);
    assert_int_equal(providers_unseal(again, out), PB_ERR_CONFLICT);
    setenv(PROVIDERS_SEAL_KEY_ENV, "short", 1);
    assert_int_equal(providers_unseal(again, out), PB_ERR_INVALID);
    setenv(PROVIDERS_SEAL_KEY_ENV, KEY, 1);
}

static int generic(enum provider_op_kind k, const char *body, struct provider_op *op,
                   struct pb_json_error *err)
{
    json_t *root;
    int rc = providers_generic_decode(k, body, strlen(body), op, &root, err);
    json_decref(root);
    return rc;
}

static void test_generic_decoder(void **state)
{
    (void)state;
    struct provider_op op;
    struct pb_json_error err;
    json_t *root;
    const char *ok = "{\"session_token\":\"s\",\"transaction_id\":\"t-1\",\"round_id\":\"r\","
                     "\"amount_minor\":5}";
    assert_int_equal(providers_generic_decode(PROVIDER_OP_BET, ok, strlen(ok), &op, &root, &err),
                     PB_OK);
    assert_int_equal(op.kind, PROVIDER_OP_BET);
    assert_string_equal(op.transaction_id, "t-1");
    assert_int_equal(op.amount_minor, 5);
    json_decref(root);
    assert_int_equal(generic(PROVIDER_OP_BET, "{\"session_token\":\"s\",\"transaction_id\":"
                             "\"t\",\"round_id\":\"r\",\"amount_minor\":0}", &op, &err),
                     PB_ERR_INVALID);
    assert_string_equal(err.field, "amount_minor");
    assert_int_equal(generic(PROVIDER_OP_WIN, "{\"session_token\":\"s\",\"transaction_id\":"
                             "\"t\",\"round_id\":\"r\",\"amount_minor\":0}", &op, &err), PB_OK);
    assert_int_equal(generic(PROVIDER_OP_BET, "{\"session_token\":\"s\",\"transaction_id\":"
                             "\"t x\",\"round_id\":\"r\",\"amount_minor\":1}", &op, &err),
                     PB_ERR_INVALID);
    assert_string_equal(err.field, "transaction_id");
    assert_int_equal(generic(PROVIDER_OP_BALANCE, "{\"session_token\":\"s\",\"x\":1}", &op,
                             &err), PB_ERR_INVALID);
    assert_string_equal(err.code, "unknown_field");
    assert_int_equal(generic(PROVIDER_OP_ROLLBACK, "{\"session_token\":\"s\","
                             "\"transaction_id\":\"t\"}", &op, &err), PB_ERR_INVALID);
    assert_string_equal(err.field, "reference_transaction_id");
    assert_int_equal(generic(PROVIDER_OP_END_ROUND, "[]", &op, &err), PB_ERR_INVALID);
}

static int alt(const char *body, struct provider_op *op, struct pb_json_error *err)
{
    json_t *root;
    int rc = providers_alt_decode(body, strlen(body), op, &root, err);
    json_decref(root);
    return rc;
}

static void test_alt_decoder_and_encoder(void **state)
{
    (void)state;
    struct provider_op op;
    struct pb_json_error err;
    json_t *root;
    const char *debit = "{\"action\":\"debit\",\"token\":\"s\",\"txn\":\"t\",\"round\":\"r\","
                        "\"amount\":\"1.50\",\"currency\":\"EUR\"}";
    assert_int_equal(providers_alt_decode(debit, strlen(debit), &op, &root, &err), PB_OK);
    assert_int_equal(op.kind, PROVIDER_OP_BET);
    assert_true(op.amount_decimal);
    assert_string_equal(op.amount_text, "1.50");
    assert_string_equal(op.currency, "EUR");
    json_decref(root);
    assert_int_equal(alt("{\"action\":\"spin\"}", &op, &err), PB_ERR_INVALID);
    assert_string_equal(err.field, "action");
    assert_int_equal(alt("{\"action\":7}", &op, &err), PB_ERR_INVALID);
    assert_string_equal(err.field, "action");
    assert_int_equal(alt("{\"token\":\"s\"}", &op, &err), PB_ERR_INVALID);
    assert_int_equal(alt("{\"action\":\"debit\",\"token\":\"s\",\"txn\":\"t\",\"round\":\"r\","
                         "\"amount\":\"-1\",\"currency\":\"EUR\"}", &op, &err), PB_ERR_INVALID);
    assert_string_equal(err.field, "amount");
    assert_int_equal(alt("{\"action\":\"debit\",\"token\":\"s\",\"txn\":\"t\",\"round\":\"r\","
                         "\"amount\":\"1\",\"currency\":\"XXX\"}", &op, &err), PB_ERR_INVALID);
    assert_string_equal(err.field, "currency");
    assert_int_equal(alt("{\"action\":\"rollback\",\"token\":\"s\",\"txn\":\"t\","
                         "\"ref_txn\":\"b\"}", &op, &err), PB_OK);
    assert_int_equal(op.kind, PROVIDER_OP_ROLLBACK);
    /* encoding */
    assert_int_equal(providers_alt_error_code(NULL), 0);
    assert_int_equal(providers_alt_error_code("insufficient_funds"), 1);
    assert_int_equal(providers_alt_error_code("invalid_signature"), 10);
    assert_int_equal(providers_alt_error_code("something_new"), 99);
    struct provider_answer a = {.status = 200};
    strcpy(a.body, "{\"balance_minor\":1234,\"currency\":\"EUR\",\"transaction_id\":\"t\"}");
    struct pb_buf out = PB_BUF_INIT;
    providers_alt_encode(&a, &out);
    assert_string_equal(out.data, "{\"balance\":\"12.34\",\"currency\":\"EUR\",\"error\":0,"
                                  "\"status\":\"OK\",\"txn\":\"t\"}");
    pb_buf_reset(&out);
    a.status = 422;
    strcpy(a.body, "{\"code\":\"insufficient_funds\",\"balance_minor\":5,\"currency\":\"BTC\"}");
    providers_alt_encode(&a, &out);
    assert_string_equal(out.data, "{\"balance\":\"0.00000005\",\"currency\":\"BTC\",\"error\":1,"
                                  "\"message\":\"insufficient_funds\",\"status\":\"ERROR\"}");
    pb_buf_release(&out);
}

/* ---- the wallet on both engines ---- */

struct env {
    char url[512];
    struct ledger *lg;
    struct writer *w;
    struct provider p;
    char launch[PAM_TOKEN_TEXT_SIZE], session[80];
    int guard_calls;
    const char *refuse_with; /* the guard's refusal code for bets, or NULL */
    char seen_kind[32], seen_product[32];
};

struct step {
    struct env *e;
    struct provider_op op;
    struct provider_answer ans;
};

static int guard(void *arg, struct store *tx, struct writer_cmd *cmd,
                 const struct ledger_guard_item *items, size_t n, struct ledger_refusal *refusal)
{
    (void)tx;
    (void)cmd;
    struct env *e = arg;
    for (size_t i = 0; i < n; i++) {
        if (items[i].code != LEDGER_TX_BET)
            continue;
        e->guard_calls++;
        const struct ledger_context *c = items[i].transfer->context;
        assert_non_null(c);
        snprintf(e->seen_kind, sizeof(e->seen_kind), "%s", c->game_kind ? c->game_kind : "");
        snprintf(e->seen_product, sizeof(e->seen_product), "%s", c->product);
        if (e->refuse_with) {
            refusal->status = 403;
            snprintf(refusal->code, sizeof(refusal->code), "%s", e->refuse_with);
            snprintf(refusal->detail, sizeof(refusal->detail), "refused by the test guard");
            return LEDGER_E_REFUSED;
        }
    }
    return PB_OK;
}

static int setup_step(struct store *tx, void *arg)
{
    struct env *e = arg;
    int64_t ids[3], house;
    struct catalog_game g = {.game_id = "studio:g1", .provider = "studio", .external_id = "g1",
                             .name = "G", .category = "slot", .tags = "", .rtp_bp = 9600,
                             .volatility = "low", .jurisdictions = "*", .brands = "*",
                             .enabled = true};
    bool created;
    struct provider_session b = {.provider = "studio", .game_id = "studio:g1",
                                 .player_id = "p1", .currency = "EUR",
                                 .player_session_id = "s1"};
    char hash[PAM_TOKEN_HASH_HEX_SIZE];
    pam_token_new(e->launch, hash);
    assert_int_equal(providers_insert(tx, &e->p), PB_OK);
    assert_int_equal(catalog_upsert(tx, &g, &created), PB_OK);
    assert_true(created);
    assert_int_equal(providers_launch_insert(tx, hash, &b, pb_wall_ms()), PB_OK);
    assert_int_equal(ledger_open_player_accounts(e->lg, tx, "p1", "EUR", ids), PB_OK);
    assert_int_equal(ledger_open_account(e->lg, tx, "house", LEDGER_ACC_ADJUSTMENTS, "EUR",
                                         &house), PB_OK);
    struct ledger_transfer t = {.kind = LEDGER_POSTED, .debit_account = house,
                                .credit_account = ids[0], .amount = 1000,
                                .code = LEDGER_TX_DEPOSIT, .reference = "test"};
    struct ledger_outcome out;
    assert_int_equal(ledger_apply(e->lg, tx, NULL, "test:fund", &t, 1, &out), PB_OK);
    assert_int_equal(out.error, LEDGER_OK);
    return PB_OK;
}

static int op_step(struct store *tx, void *arg)
{
    struct step *s = arg;
    return providers_wallet_run(s->e->lg, tx, NULL, &s->e->p, &s->op, pb_wall_ms(), &s->ans);
}

/* Runs op; asserts the status and (when code) the problem code; returns the body's balance. */
static long long run(struct env *e, struct provider_op op, int status, const char *code)
{
    struct step s = {.e = e, .op = op};
    if (!op.token)
        s.op.token = e->session;
    assert_int_equal(pbt_run(e->w, op_step, &s), PB_OK);
    if (s.ans.status != status)
        fail_msg("%s answered %d, expected %d: %s", provider_op_name(op.kind), s.ans.status,
                 status, s.ans.body);
    json_t *doc = json_loads(s.ans.body, 0, NULL);
    assert_non_null(doc);
    if (code)
        assert_string_equal(json_string_value(json_object_get(doc, "code")), code);
    if (op.kind == PROVIDER_OP_AUTHENTICATE && status == 200)
        snprintf(e->session, sizeof(e->session), "%s",
                 json_string_value(json_object_get(doc, "session_token")));
    long long balance = json_integer_value(json_object_get(doc, "balance_minor"));
    json_decref(doc);
    return balance;
}

static void env_start(struct env *e, bool postgres)
{
    memset(e, 0, sizeof(*e));
    pbt_fresh_database(postgres, "providers", e->url, sizeof(e->url));
    pbt_migrate(e->url, outbox_migrations, outbox_migrations_count);
    pbt_migrate(e->url, ledger_migrations, ledger_migrations_count);
    pbt_migrate(e->url, pam_migrations, pam_migrations_count);
    pbt_migrate(e->url, rounds_migrations, rounds_migrations_count);
    pbt_migrate(e->url, providers_migrations, providers_migrations_count);
    e->lg = ledger_new();
    struct ledger_guard g = {guard, NULL, e};
    ledger_set_guard(e->lg, &g);
    struct writer_participant p = ledger_participant(e->lg);
    e->w = pbt_start_writer(e->url, &p);
    snprintf(e->p.name, sizeof(e->p.name), "studio");
    snprintf(e->p.protocol, sizeof(e->p.protocol), "generic");
    snprintf(e->p.currencies, sizeof(e->p.currencies), "EUR");
    snprintf(e->p.secret_sealed, sizeof(e->p.secret_sealed), "00");
    e->p.enabled = true;
    e->p.session_ttl_s = 3600;
    assert_int_equal(pbt_run(e->w, setup_step, e), PB_OK);
    run(e, (struct provider_op){.kind = PROVIDER_OP_AUTHENTICATE, .token = e->launch}, 200,
        NULL);
}

static void env_stop(struct env *e)
{
    writer_stop(e->w);
    ledger_free(e->lg);
}

static void round_of(struct env *e, const char *ext, struct round_info *r)
{
    struct store *s = pbt_open(e->url);
    assert_int_equal(rounds_find_external(s, "studio", ext, r), PB_OK);
    store_close(s);
}

#define BET(tx, round, amt)                                                                \
    (struct provider_op){.kind = PROVIDER_OP_BET, .transaction_id = tx, .round_id = round, \
                         .amount_minor = amt}
#define WIN(tx, round, amt)                                                                \
    (struct provider_op){.kind = PROVIDER_OP_WIN, .transaction_id = tx, .round_id = round, \
                         .amount_minor = amt}

static void rounds_follow_the_wallet(bool postgres)
{
    struct env e;
    struct round_info r;
    env_start(&e, postgres);
    assert_int_equal(run(&e, BET("b1", "r1", 100), 200, NULL), 900);
    assert_int_equal(e.guard_calls, 1);
    assert_string_equal(e.seen_product, "provider");
    assert_string_equal(e.seen_kind, "slot");
    round_of(&e, "r1", &r);
    assert_int_equal(r.state, ROUND_DEBITED);
    assert_int_equal(r.stake_minor, 100);
    assert_string_equal(r.game_id, "studio:g1");
    assert_string_equal(r.player_id, "p1");
    round_info_release(&r);
    assert_int_equal(run(&e, BET("b2", "r1", 50), 200, NULL), 850);
    assert_int_equal(run(&e, WIN("w1", "r1", 400), 200, NULL), 1250);
    round_of(&e, "r1", &r);
    assert_int_equal(r.state, ROUND_SETTLED);
    assert_int_equal(r.stake_minor, 150);
    assert_int_equal(r.payout_minor, 400);
    round_info_release(&r);
    run(&e, (struct provider_op){.kind = PROVIDER_OP_END_ROUND, .round_id = "r1"}, 200, NULL);
    round_of(&e, "r1", &r);
    assert_int_equal(r.state, ROUND_CLOSED);
    round_info_release(&r);
    /* a rollback cancels the round */
    assert_int_equal(run(&e, BET("b3", "r2", 200), 200, NULL), 1050);
    assert_int_equal(run(&e, (struct provider_op){.kind = PROVIDER_OP_ROLLBACK,
                                                  .transaction_id = "rb3",
                                                  .reference_transaction_id = "b3"},
                         200, NULL),
                     1250);
    round_of(&e, "r2", &r);
    assert_int_equal(r.state, ROUND_CANCELLED);
    round_info_release(&r);
    /* a decimal amount is parsed in the session's currency; a foreign currency is refused */
    struct provider_op dec = BET("b4", "r4", 0);
    dec.amount_decimal = true;
    dec.amount_text = "0.50";
    assert_int_equal(run(&e, dec, 200, NULL), 1200);
    dec.transaction_id = "b5";
    dec.currency = "GBP";
    run(&e, dec, 400, "validation_failed");
    env_stop(&e);
}
PBT_BOTH(rounds_follow_the_wallet)

static void guard_refusals_map_to_the_taxonomy(bool postgres)
{
    struct env e;
    env_start(&e, postgres);
    e.refuse_with = "self_excluded";
    assert_int_equal(run(&e, BET("b1", "r1", 100), 403, "player_blocked"), 1000);
    e.refuse_with = "stake_cap_exceeded";
    assert_int_equal(run(&e, BET("b2", "r2", 100), 403, "limit_exceeded"), 1000);
    e.refuse_with = NULL;
    /* the refusal is recorded: a retry is refused the same, nothing moves */
    assert_int_equal(run(&e, BET("b2", "r2", 100), 403, "limit_exceeded"), 1000);
    /* no round was left behind by the refused bets */
    struct round_info r;
    struct store *s = pbt_open(e.url);
    assert_int_equal(rounds_find_external(s, "studio", "r1", &r), PB_ERR_NOT_FOUND);
    store_close(s);
    assert_int_equal(run(&e, BET("b3", "r3", 100), 200, NULL), 900);
    env_stop(&e);
}
PBT_BOTH(guard_refusals_map_to_the_taxonomy)

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    setenv(PROVIDERS_SEAL_KEY_ENV, KEY, 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ranges_v4_v6_and_mapped),
        cmocka_unit_test(test_lists),
        cmocka_unit_test(test_signature_and_window),
        cmocka_unit_test(test_seal),
        cmocka_unit_test(test_generic_decoder),
        cmocka_unit_test(test_alt_decoder_and_encoder),
        PBT_PAIR(rounds_follow_the_wallet),
        PBT_PAIR(guard_refusals_map_to_the_taxonomy),
    };
    return cmocka_run_group_tests_name("unit.providers", tests, NULL, NULL);
}
