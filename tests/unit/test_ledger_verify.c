/* test_ledger_verify.c: ledger_verify (src/ledger/verify.c) on SQLite and (PITBOSS_TEST_PG)
 * PostgreSQL. A clean ledger built through ledger_apply inside writer commands verifies; then
 * the database is altered behind the ledger's back, one way per test, and the report must
 * name the altered thing with the exact numbers and return PB_ERR_CONFLICT. */
#include <semaphore.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "unit.h"

#include "base/base.h"
#include "core/outbox.h"
#include "core/writer.h"
#include "ledger/ledger.h"
#include "ledger/ledger_int.h"
#include "store/store.h"

static char db_url[600];
static struct ledger *lg;
static struct writer *w;

static void fresh_database(bool postgres, bool with_ledger)
{
    pbt_fresh_database(postgres, "pb_verify", db_url, sizeof(db_url));
    pbt_migrate(db_url, outbox_migrations, outbox_migrations_count);
    if (with_ledger)
        pbt_migrate(db_url, ledger_migrations, ledger_migrations_count);
}

static struct store *open_db(void)
{
    struct store *s;
    char err[256];
    assert_int_equal(store_open(db_url, &s, err, sizeof(err)), 0);
    return s;
}

static void start(bool pg)
{
    fresh_database(pg, true);
    lg = ledger_new();
    struct writer_participant p = ledger_participant(lg);
    w = pbt_start_writer(db_url, &p);
}

static void stop(void)
{
    writer_stop(w);
    ledger_free(lg);
}

/* Runs fn(tx, arg) as one writer command and waits; returns the command's status. */
typedef int (*step_fn)(struct store *tx, void *arg);
struct step_cmd {
    struct writer_cmd cmd;
    step_fn fn;
    void *arg;
    sem_t done;
};

static int step_run(struct store *tx, struct writer_cmd *cmd)
{
    struct step_cmd *c = (struct step_cmd *)cmd;
    return c->fn(tx, c->arg);
}

static void step_done(struct writer_cmd *cmd)
{
    sem_post(&((struct step_cmd *)cmd)->done);
}

static int run(step_fn fn, void *arg)
{
    struct step_cmd c = {.cmd = {.run = step_run, .done = step_done}, .fn = fn, .arg = arg};
    sem_init(&c.done, 0, 0);
    assert_int_equal(writer_submit(w, &c.cmd), 0);
    sem_wait(&c.done);
    sem_destroy(&c.done);
    return c.cmd.status;
}

/* ---- building a clean ledger ---- */

struct open_args {
    const char *player, *currency;
    int64_t ids[3], house;
};

static int open_step(struct store *tx, void *arg)
{
    struct open_args *a = arg;
    int rc = ledger_open_player_accounts(lg, tx, a->player, a->currency, a->ids);
    return rc ? rc : ledger_open_account(lg, tx, "house", LEDGER_ACC_HOUSE_CASINO, a->currency,
                                         &a->house);
}

struct apply_args {
    const struct ledger_transfer *t;
    size_t n;
    const char *idem;
    struct ledger_outcome out;
};

static int apply_step(struct store *tx, void *arg)
{
    struct apply_args *a = arg;
    return ledger_apply(lg, tx, NULL, a->idem, a->t, a->n, &a->out);
}

static struct ledger_outcome apply(const char *idem, const struct ledger_transfer *t, size_t n)
{
    struct apply_args a = {t, n, idem, {0}};
    assert_int_equal(run(apply_step, &a), 0);
    return a.out;
}

static struct ledger_transfer tr(enum ledger_kind kind, int64_t from, int64_t to, int64_t amount,
                                 int code)
{
    return (struct ledger_transfer){.kind = kind, .debit_account = from, .credit_account = to,
                                    .amount = amount, .code = code, .reference = "round:1",
                                    .timeout_ms = kind == LEDGER_PENDING ? 60000 : 0};
}

static struct ledger_transfer resolution(enum ledger_kind kind, int64_t pending_id, int64_t amount)
{
    return (struct ledger_transfer){.kind = kind, .pending_id = pending_id, .amount = amount,
                                    .code = LEDGER_TX_HOLD, .reference = "round:1"};
}

/* What the clean ledger holds; transfer ids in the order they were applied. */
struct fixture {
    struct open_args alice, bob, carol;
    int64_t bet_id, hold_id, post_id, hold2_id, void_id, group1_id, group2_id, open_hold_id;
    char hashes[16][LEDGER_HASH_HEX + 1]; /* by transfer id */
};

static int64_t applied_ok(struct fixture *f, const char *idem, const struct ledger_transfer *t,
                          size_t n)
{
    struct ledger_outcome o = apply(idem, t, n);
    assert_int_equal(o.error, LEDGER_OK);
    for (size_t i = 0; i < n; i++)
        snprintf(f->hashes[o.applied[i].id], LEDGER_HASH_HEX + 1, "%s", o.applied[i].hash);
    return o.applied[0].id;
}

/* Alice and Bob in EUR, Carol in BTC; posted, pending-post (partial), pending-void, linked
 * groups with idempotency keys, a refusal, and one pending transfer left open: 13 transfers
 * over 11 accounts. */
static void build(struct fixture *f)
{
    memset(f, 0, sizeof(*f));
    f->alice = (struct open_args){.player = "alice", .currency = "EUR"};
    f->bob = (struct open_args){.player = "bob", .currency = "EUR"};
    f->carol = (struct open_args){.player = "carol", .currency = "BTC"};
    assert_int_equal(run(open_step, &f->alice), 0);
    assert_int_equal(run(open_step, &f->bob), 0);
    assert_int_equal(run(open_step, &f->carol), 0);
    int64_t a = f->alice.ids[0], b = f->bob.ids[0], c = f->carol.ids[0], h = f->alice.house;
    struct ledger_transfer t;
    t = tr(LEDGER_POSTED, h, a, 10000, LEDGER_TX_DEPOSIT);
    applied_ok(f, "test:dep-alice", &t, 1);
    t = tr(LEDGER_POSTED, h, b, 1000, LEDGER_TX_DEPOSIT);
    applied_ok(f, "test:dep-bob", &t, 1);
    t = tr(LEDGER_POSTED, f->carol.house, c, 500000, LEDGER_TX_DEPOSIT);
    applied_ok(f, NULL, &t, 1);
    t = tr(LEDGER_POSTED, a, h, 300, LEDGER_TX_BET);
    f->bet_id = applied_ok(f, NULL, &t, 1);
    t = tr(LEDGER_PENDING, a, h, 2000, LEDGER_TX_HOLD);
    f->hold_id = applied_ok(f, NULL, &t, 1);
    t = resolution(LEDGER_POST, f->hold_id, 1500);
    f->post_id = applied_ok(f, NULL, &t, 1);
    t = tr(LEDGER_PENDING, b, h, 400, LEDGER_TX_HOLD);
    f->hold2_id = applied_ok(f, NULL, &t, 1);
    t = resolution(LEDGER_VOID, f->hold2_id, 0);
    f->void_id = applied_ok(f, NULL, &t, 1);
    struct ledger_transfer g1[2] = {tr(LEDGER_POSTED, a, h, 100, LEDGER_TX_BET),
                                    tr(LEDGER_POSTED, h, f->alice.ids[1], 50,
                                       LEDGER_TX_BONUS_GRANT)};
    f->group1_id = applied_ok(f, "test:bet-1", g1, 2);
    t = tr(LEDGER_POSTED, b, h, 200, LEDGER_TX_BET);
    f->group2_id = applied_ok(f, "test:bet-2", &t, 1);
    t = tr(LEDGER_POSTED, c, f->carol.house, 1000, LEDGER_TX_BET);
    applied_ok(f, NULL, &t, 1);
    t = tr(LEDGER_POSTED, b, h, 1000000, LEDGER_TX_BET); /* refused: nothing is written */
    assert_int_equal(apply("test:too-much", &t, 1).error, LEDGER_E_INSUFFICIENT_FUNDS);
    t = tr(LEDGER_PENDING, a, h, 100, LEDGER_TX_HOLD);
    f->open_hold_id = applied_ok(f, NULL, &t, 1);
    assert_int_equal(f->open_hold_id, 13);
}

/* ---- checking ---- */

static void exec_sql(const char *sql)
{
    struct store *s = open_db();
    if (store_exec(s, sql) != 0)
        fail_msg("%s: %s", sql, store_errmsg(s));
    store_close(s);
}

__attribute__((format(printf, 1, 2))) static void exec_sqlf(const char *fmt, ...)
{
    char sql[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(sql, sizeof(sql), fmt, ap);
    va_end(ap);
    exec_sql(sql);
}

static struct ledger_account account(int64_t id)
{
    struct store *s = open_db();
    struct ledger_account a;
    assert_int_equal(ledger_account_get(s, id, &a), 0);
    store_close(s);
    return a;
}

/* Runs ledger_verify on a new connection; asserts its result and returns the report. */
static char *verify_expecting(int want)
{
    struct store *s = open_db();
    struct pb_buf out = PB_BUF_INIT;
    int rc = ledger_verify(s, &out);
    store_close(s);
    if (rc != want)
        fail_msg("ledger_verify returned %d, expected %d; report:\n%s", rc, want,
                 pb_buf_str(&out));
    return pb_buf_detach(&out, NULL);
}

static void expect_line(const char *report, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    size_t n = strlen(line);
    for (const char *p = report; (p = strstr(p, line)); p += n)
        if ((p == report || p[-1] == '\n') && p[n] == '\n')
            return;
    fail_msg("expected the line\n  %s\nin the report:\n%s", line, report);
}

static void expect_no_text(const char *report, const char *text)
{
    if (strstr(report, text))
        fail_msg("did not expect '%s' in the report:\n%s", text, report);
}

/* ---- behaviours ---- */

static void empty_ledger_verifies(bool pg)
{
    start(pg);
    char *report = verify_expecting(0);
    assert_string_equal(report, "ledger verify: OK (0 transfers, 0 accounts)\n");
    pb_free(report);
    stop();
}

static void clean_ledger_verifies(bool pg)
{
    start(pg);
    struct fixture f;
    build(&f);
    char *report = verify_expecting(0);
    assert_string_equal(report, "ledger verify: OK (13 transfers, 11 accounts)\n");
    pb_free(report);
    stop();
}

static void missing_tables_are_a_read_error(bool pg)
{
    fresh_database(pg, false);
    char *report = verify_expecting(PB_ERR_DB);
    assert_non_null(strstr(report, "ledger verify: could not read the ledger: "));
    pb_free(report);
}

/* A changed amount breaks the row's hash and both accounts' replay, by exactly the change. */
static void altered_amount_is_reported(bool pg)
{
    start(pg);
    struct fixture f;
    build(&f);
    struct ledger_account alice = account(f.alice.ids[0]), house = account(f.alice.house);
    char sql[128];
    snprintf(sql, sizeof(sql), "UPDATE ledger_transfers SET amount = 400 WHERE id = %lld",
             (long long)f.bet_id); /* was 300 */
    exec_sql(sql);
    char *report = verify_expecting(PB_ERR_CONFLICT);
    char prefix[160];
    snprintf(prefix, sizeof(prefix), "\ntransfer %lld: hash %s but its contents hash to ",
             (long long)f.bet_id, f.hashes[f.bet_id]);
    if (!strstr(report, prefix) && strncmp(report, prefix + 1, strlen(prefix + 1)) != 0)
        fail_msg("expected '%s' in\n%s", prefix + 1, report);
    expect_line(report, "account %lld (player:alice player_cash EUR): debits_posted %lld but"
                        " transfers replay to %lld", (long long)alice.id,
                (long long)alice.debits_posted, (long long)alice.debits_posted + 100);
    expect_line(report, "account %lld (house house_casino EUR): credits_posted %lld but"
                        " transfers replay to %lld", (long long)house.id,
                (long long)house.credits_posted, (long long)house.credits_posted + 100);
    expect_line(report, "ledger verify: FAILED (3 findings)");
    pb_free(report);
    stop();
}

/* A replaced hash: the row's hash does not recompute and the next row's link is broken. */
static void altered_hash_is_reported(bool pg)
{
    start(pg);
    struct fixture f;
    build(&f);
    char fake[LEDGER_HASH_HEX + 1], sql[256];
    memset(fake, 'f', LEDGER_HASH_HEX);
    fake[LEDGER_HASH_HEX] = '\0';
    snprintf(sql, sizeof(sql), "UPDATE ledger_transfers SET hash = '%s' WHERE id = %lld", fake,
             (long long)f.hold_id);
    exec_sql(sql);
    char *report = verify_expecting(PB_ERR_CONFLICT);
    expect_line(report, "transfer %lld: hash %s but its contents hash to %s",
                (long long)f.hold_id, fake, f.hashes[f.hold_id]);
    expect_line(report, "transfer %lld: prev_hash %s but the previous transfer's hash is %s",
                (long long)f.hold_id + 1, f.hashes[f.hold_id], fake);
    expect_line(report, "ledger verify: FAILED (2 findings)");
    pb_free(report);
    stop();
}

/* An account total changed without a transfer: its replay and its currency's balance. */
static void altered_account_total_is_reported(bool pg)
{
    start(pg);
    struct fixture f;
    build(&f);
    struct ledger_account bob = account(f.bob.ids[0]);
    char sql[128];
    snprintf(sql, sizeof(sql), "UPDATE ledger_accounts SET credits_posted = credits_posted + 77"
                               " WHERE id = %lld", (long long)bob.id);
    exec_sql(sql);
    char *report = verify_expecting(PB_ERR_CONFLICT);
    expect_line(report, "account %lld (player:bob player_cash EUR): credits_posted %lld but"
                        " transfers replay to %lld", (long long)bob.id,
                (long long)bob.credits_posted + 77, (long long)bob.credits_posted);
    /* EUR moved 10000 + 1000 deposits, 300 + 100 + 50 + 200 bets and grant, 1500 posted. */
    expect_line(report, "currency EUR: accounts' debits_posted sum to 13150 but credits_posted"
                        " to 13227");
    expect_no_text(report, "currency BTC");
    expect_line(report, "ledger verify: FAILED (2 findings)");
    pb_free(report);
    stop();
}

/* A deleted transfer: a gap in the ids, a broken link, and totals no transfer explains. */
static void deleted_transfer_is_reported(bool pg)
{
    start(pg);
    struct fixture f;
    build(&f);
    struct ledger_account bob = account(f.bob.ids[0]);
    char sql[128];
    int64_t gone = f.group2_id;
    snprintf(sql, sizeof(sql), "DELETE FROM ledger_transfers WHERE id = %lld", (long long)gone);
    exec_sql(sql);
    char *report = verify_expecting(PB_ERR_CONFLICT);
    expect_line(report, "transfer %lld: follows transfer %lld (transfer %lld is missing)",
                (long long)gone + 1, (long long)gone - 1, (long long)gone);
    expect_line(report, "transfer %lld: prev_hash %s but the previous transfer's hash is %s",
                (long long)gone + 1, f.hashes[gone], f.hashes[gone - 1]);
    expect_line(report, "account %lld (player:bob player_cash EUR): debits_posted %lld but"
                        " transfers replay to %lld", (long long)bob.id,
                (long long)bob.debits_posted, (long long)bob.debits_posted - 200);
    pb_free(report);
    stop();
}

/* Two linked groups under one idempotency key: two effects of one request. */
static void idempotency_key_with_two_effects_is_reported(bool pg)
{
    start(pg);
    struct fixture f;
    build(&f);
    char sql[128];
    snprintf(sql, sizeof(sql), "UPDATE ledger_transfers SET idem = 'test:bet-1'"
                               " WHERE group_id = %lld", (long long)f.group2_id);
    exec_sql(sql);
    char *report = verify_expecting(PB_ERR_CONFLICT);
    expect_line(report, "idempotency key 'test:bet-1': 2 effects (linked groups %lld to %lld),"
                        " not one", (long long)f.group1_id, (long long)f.group2_id);
    pb_free(report);
    stop();
}

/* A no-overdraft account pushed below zero (and so off its replay and its currency). */
static void overdrawn_account_is_reported(bool pg)
{
    start(pg);
    struct fixture f;
    build(&f);
    struct ledger_account bob = account(f.bob.ids[0]); /* 1000 in, 200 bet */
    assert_int_equal(ledger_available(&bob), 800);
    char sql[128];
    snprintf(sql, sizeof(sql), "UPDATE ledger_accounts SET debits_pending = 900 WHERE id = %lld",
             (long long)bob.id);
    exec_sql(sql);
    char *report = verify_expecting(PB_ERR_CONFLICT);
    expect_line(report, "account %lld (player:bob player_cash EUR): no-overdraft, but available"
                        " is -100 (credits_posted 1000 - debits_posted 200 - debits_pending 900)",
                (long long)bob.id);
    expect_line(report, "account %lld (player:bob player_cash EUR): debits_pending 900 but"
                        " transfers replay to 0", (long long)bob.id);
    pb_free(report);
    stop();
}

/* The no-overdraft flag taken off a player account (which would hide an overdraft). */
static void player_account_without_its_flag_is_reported(bool pg)
{
    start(pg);
    struct fixture f;
    build(&f);
    char sql[128];
    snprintf(sql, sizeof(sql), "UPDATE ledger_accounts SET flags = 0 WHERE id = %lld",
             (long long)f.alice.ids[1]);
    exec_sql(sql);
    char *report = verify_expecting(PB_ERR_CONFLICT);
    expect_line(report, "account %lld (player:alice player_bonus EUR): a player account without"
                        " the no-overdraft flag (flags 0)", (long long)f.alice.ids[1]);
    expect_line(report, "ledger verify: FAILED (1 finding)");
    pb_free(report);
    stop();
}

/* A post that takes more than its pending transfer held. */
static void post_exceeding_its_pending_is_reported(bool pg)
{
    start(pg);
    struct fixture f;
    build(&f);
    char sql[128];
    snprintf(sql, sizeof(sql), "UPDATE ledger_transfers SET amount = 2500 WHERE id = %lld",
             (long long)f.post_id);
    exec_sql(sql);
    char *report = verify_expecting(PB_ERR_CONFLICT);
    expect_line(report, "transfer %lld (post of %lld): amount 2500 exceeds the pending amount"
                        " 2000", (long long)f.post_id, (long long)f.hold_id);
    pb_free(report);
    stop();
}

/* A pending transfer resolved twice (the unique index dropped first, as an attacker would). */
static void pending_resolved_twice_is_reported(bool pg)
{
    start(pg);
    struct fixture f;
    build(&f);
    exec_sql("DROP INDEX ledger_transfers_resolution");
    char sql[128];
    snprintf(sql, sizeof(sql), "UPDATE ledger_transfers SET pending_id = %lld WHERE id = %lld",
             (long long)f.hold_id, (long long)f.void_id);
    exec_sql(sql);
    char *report = verify_expecting(PB_ERR_CONFLICT);
    expect_line(report, "pending transfer %lld: resolved 2 times (transfers %lld to %lld)",
                (long long)f.hold_id, (long long)f.post_id, (long long)f.void_id);
    expect_line(report, "transfer %lld (void of %lld): debit_account %lld but the pending"
                        " transfer's is %lld", (long long)f.void_id, (long long)f.hold_id,
                (long long)f.bob.ids[0], (long long)f.alice.ids[0]);
    pb_free(report);
    stop();
}

/* A transfer moved to an account that does not exist, and one into another currency. */
static void transfer_to_unknown_or_foreign_account_is_reported(bool pg)
{
    start(pg);
    struct fixture f;
    build(&f);
    char sql[128];
    snprintf(sql, sizeof(sql), "UPDATE ledger_transfers SET credit_account = 999 WHERE id = %lld",
             (long long)f.bet_id);
    exec_sql(sql);
    snprintf(sql, sizeof(sql), "UPDATE ledger_transfers SET credit_account = %lld WHERE id = %lld",
             (long long)f.carol.house, (long long)f.group2_id);
    exec_sql(sql);
    char *report = verify_expecting(PB_ERR_CONFLICT);
    expect_line(report, "transfer %lld (posted): credit account 999 does not exist",
                (long long)f.bet_id);
    expect_line(report, "transfer %lld (posted): currency EUR but credit account %lld holds BTC",
                (long long)f.group2_id, (long long)f.carol.house);
    pb_free(report);
    stop();
}

/* One int64 read by a query on a new connection. */
static int64_t query_int(const char *sql)
{
    struct store *s = open_db();
    struct store_stmt *st;
    assert_int_equal(store_prepare(s, sql, &st), 0);
    assert_int_equal(store_step(st), STORE_ROW);
    int64_t v = store_column_int64(st, 0);
    store_finalize(st);
    store_close(s);
    return v;
}

/* How many transfer sides name a non-hot account: what the chain walks must meet. */
static int64_t chained_sides(void)
{
    return query_int("SELECT COUNT(*) FROM ledger_transfers t JOIN ledger_accounts a"
                     " ON a.id = t.debit_account WHERE (a.flags & 2) = 0") +
           query_int("SELECT COUNT(*) FROM ledger_transfers t JOIN ledger_accounts a"
                     " ON a.id = t.credit_account WHERE (a.flags & 2) = 0");
}

/* A chain pointer that skips a transfer of its account: the walk misses it, so the account's
 * totals do not replay and the walks meet one side fewer than the transfers have. */
static void chain_skipping_a_transfer_is_reported(bool pg)
{
    start(pg);
    struct fixture f;
    build(&f);
    struct ledger_account alice = account(f.alice.ids[0]);
    /* the hold follows the bet on Alice's cash chain; make it skip the bet */
    char sql[200];
    snprintf(sql, sizeof(sql), "SELECT debit_prev FROM ledger_transfers WHERE id = %lld",
             (long long)f.hold_id);
    assert_int_equal(query_int(sql), f.bet_id);
    exec_sqlf("UPDATE ledger_transfers SET debit_prev = (SELECT debit_prev FROM ledger_transfers"
              " WHERE id = %lld) WHERE id = %lld", (long long)f.bet_id, (long long)f.hold_id);
    char *report = verify_expecting(PB_ERR_CONFLICT);
    expect_line(report, "account %lld (player:alice player_cash EUR): debits_posted %lld but"
                        " transfers replay to %lld", (long long)alice.id,
                (long long)alice.debits_posted, (long long)alice.debits_posted - 300);
    int64_t sides = chained_sides();
    expect_line(report, "account chains: the walks met %lld transfer sides of non-hot accounts,"
                        " but the transfers have %lld (a chain skips transfers of its account)",
                (long long)sides - 1, (long long)sides);
    expect_line(report, "ledger verify: FAILED (2 findings)");
    pb_free(report);
    stop();
}

/* Chain pointers where there must be none (a hot side) or that lead elsewhere, and a head
 * that is not the account's last transfer. */
static void broken_chain_links_are_reported(bool pg)
{
    start(pg);
    struct fixture f;
    build(&f);
    /* the bet's credit side is the hot house account: no pointer allowed */
    exec_sqlf("UPDATE ledger_transfers SET credit_prev = 1 WHERE id = %lld", (long long)f.bet_id);
    /* Bob's bet of group 2 now leads to Carol's deposit (3), which is not Bob's */
    exec_sqlf("UPDATE ledger_transfers SET debit_prev = 3 WHERE id = %lld",
              (long long)f.group2_id);
    /* Carol's cash head goes back to her deposit: her bet (11) is off her chain */
    exec_sqlf("UPDATE ledger_accounts SET last_transfer = 3 WHERE id = %lld",
              (long long)f.carol.ids[0]);
    char *report = verify_expecting(PB_ERR_CONFLICT);
    expect_line(report, "transfer %lld: credit_prev 1 on the side of hot account %lld, which"
                        " has no chain", (long long)f.bet_id, (long long)f.alice.house);
    expect_line(report, "account %lld (player:bob player_cash EUR): its chain reaches transfer"
                        " 3, which does not touch it", (long long)f.bob.ids[0]);
    struct ledger_account carol = account(f.carol.ids[0]);
    expect_line(report, "account %lld (player:carol player_cash BTC): debits_posted %lld but"
                        " transfers replay to 0", (long long)carol.id,
                (long long)carol.debits_posted);
    pb_free(report);
    stop();
}

/* Migration 2's backfill rebuilds the chains of a ledger written before them: wipe the
 * chains, restore the history indexes the backfill reads, run it, and get the same chains
 * back (and a ledger that verifies). */
static void chain_backfill_rebuilds_the_chains(bool pg)
{
    start(pg);
    struct fixture f;
    build(&f);
    stop();
    const char *fingerprint_sql =
        "SELECT SUM(id * 1000003 + COALESCE(debit_prev, -1) * 1009 + COALESCE(credit_prev, -7))"
        " + (SELECT SUM(id * 31 + last_transfer) FROM ledger_accounts) FROM ledger_transfers";
    int64_t before = query_int(fingerprint_sql);
    exec_sql("UPDATE ledger_transfers SET debit_prev = NULL, credit_prev = NULL");
    exec_sql("UPDATE ledger_accounts SET last_transfer = 0");
    exec_sql("CREATE INDEX ledger_transfers_debit ON ledger_transfers (debit_account, id)");
    exec_sql("CREATE INDEX ledger_transfers_credit ON ledger_transfers (credit_account, id)");
    assert_int_not_equal(query_int(fingerprint_sql), before);
    char *report = verify_expecting(PB_ERR_CONFLICT); /* chains gone */
    pb_free(report);
    exec_sql(LEDGER__CHAIN_BACKFILL_SQL);
    assert_int_equal(query_int(fingerprint_sql), before);
    report = verify_expecting(0);
    pb_free(report);
}

#define BOTH PBT_BOTH

BOTH(empty_ledger_verifies)
BOTH(clean_ledger_verifies)
BOTH(missing_tables_are_a_read_error)
BOTH(altered_amount_is_reported)
BOTH(altered_hash_is_reported)
BOTH(altered_account_total_is_reported)
BOTH(deleted_transfer_is_reported)
BOTH(idempotency_key_with_two_effects_is_reported)
BOTH(overdrawn_account_is_reported)
BOTH(player_account_without_its_flag_is_reported)
BOTH(post_exceeding_its_pending_is_reported)
BOTH(pending_resolved_twice_is_reported)
BOTH(transfer_to_unknown_or_foreign_account_is_reported)
BOTH(chain_skipping_a_transfer_is_reported)
BOTH(broken_chain_links_are_reported)
BOTH(chain_backfill_rebuilds_the_chains)

#define PAIR PBT_PAIR

int main(void)
{
    const struct CMUnitTest tests[] = {
        PAIR(empty_ledger_verifies),
        PAIR(clean_ledger_verifies),
        PAIR(missing_tables_are_a_read_error),
        PAIR(altered_amount_is_reported),
        PAIR(altered_hash_is_reported),
        PAIR(altered_account_total_is_reported),
        PAIR(deleted_transfer_is_reported),
        PAIR(idempotency_key_with_two_effects_is_reported),
        PAIR(overdrawn_account_is_reported),
        PAIR(player_account_without_its_flag_is_reported),
        PAIR(post_exceeding_its_pending_is_reported),
        PAIR(pending_resolved_twice_is_reported),
        PAIR(transfer_to_unknown_or_foreign_account_is_reported),
        PAIR(chain_skipping_a_transfer_is_reported),
        PAIR(broken_chain_links_are_reported),
        PAIR(chain_backfill_rebuilds_the_chains),
    };
    return cmocka_run_group_tests_name("unit.ledger_verify", tests, NULL, NULL);
}
