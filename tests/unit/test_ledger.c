/* test_ledger.c: the ledger's rules, one behaviour per test, on SQLite and (PITBOSS_TEST_PG)
 * PostgreSQL: accounts, posted/pending/post/void, linked groups, no-overdraft, overflow,
 * expiry, the hash chain, hot house accounts, idempotency and history. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
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

static void fresh_database(bool postgres)
{
    pbt_fresh_database(postgres, "pb_ledger", db_url, sizeof(db_url));
    pbt_migrate(db_url, outbox_migrations, outbox_migrations_count);
    pbt_migrate(db_url, ledger_migrations, ledger_migrations_count);
}

static void start(bool pg)
{
    fresh_database(pg);
    lg = ledger_new();
    struct writer_participant p = ledger_participant(lg);
    w = pbt_start_writer(db_url, &p);
}

static void stop(void)
{
    writer_stop(w);
    ledger_free(lg);
}

typedef int (*step_fn)(struct store *tx, void *arg);

/* Runs fn(tx, arg) as one writer command on w; returns the command's status. */
static int run(step_fn fn, void *arg)
{
    return pbt_run(w, fn, arg);
}

/* ---- steps ---- */

struct open_args {
    const char *player;
    const char *currency;
    int64_t ids[3];
    int64_t house;
};

static int open_step(struct store *tx, void *arg)
{
    struct open_args *a = arg;
    int rc = ledger_open_player_accounts(lg, tx, a->player, a->currency, a->ids);
    if (rc == PB_OK)
        rc = ledger_open_account(lg, tx, "house", LEDGER_ACC_HOUSE_CASINO, a->currency,
                                 &a->house);
    return rc;
}

struct apply_args {
    const struct ledger_transfer *t;
    size_t n;
    const char *idem;
    struct ledger_outcome out;
    int fail_after; /* return this after applying (to test the command's savepoint) */
};

static int apply_step(struct store *tx, void *arg)
{
    struct apply_args *a = arg;
    int rc = ledger_apply(lg, tx, NULL, a->idem, a->t, a->n, &a->out);
    return rc ? rc : a->fail_after;
}

static struct ledger_outcome apply(const struct ledger_transfer *t, size_t n)
{
    struct apply_args a = {t, n, NULL, {0}, 0};
    assert_int_equal(run(apply_step, &a), 0);
    return a.out;
}

static struct ledger_account account(int64_t id)
{
    struct store *s;
    char err[256];
    assert_int_equal(store_open(db_url, &s, err, sizeof(err)), 0);
    struct ledger_account a;
    assert_int_equal(ledger_account_get(s, id, &a), 0);
    store_close(s);
    return a;
}

static struct ledger_transfer posted(int64_t from, int64_t to, int64_t amount, int code)
{
    return (struct ledger_transfer){.kind = LEDGER_POSTED, .debit_account = from,
                                    .credit_account = to, .amount = amount, .code = code,
                                    .reference = "round:1"};
}

/* A player with cash funded by amount from the house. */
static struct open_args funded(const char *player, const char *currency, int64_t amount)
{
    struct open_args o = {.player = player, .currency = currency};
    assert_int_equal(run(open_step, &o), 0);
    if (amount > 0) {
        struct ledger_transfer t = posted(o.house, o.ids[0], amount, LEDGER_TX_DEPOSIT);
        assert_int_equal(apply(&t, 1).error, LEDGER_OK);
    }
    return o;
}

/* ---- behaviours ---- */

static void accounts_open_once_with_flags(bool pg)
{
    start(pg);
    struct open_args a = funded("42", "EUR", 0), b = funded("42", "EUR", 0);
    for (int i = 0; i < 3; i++)
        assert_int_equal(a.ids[i], b.ids[i]);
    assert_int_equal(a.house, b.house);
    struct ledger_account cash = account(a.ids[0]), house = account(a.house);
    assert_int_equal(cash.code, LEDGER_ACC_PLAYER_CASH);
    assert_string_equal(cash.owner, "player:42");
    assert_true(cash.flags & LEDGER_FLAG_NO_OVERDRAFT);
    assert_true(house.flags & LEDGER_FLAG_HOT);
    struct open_args bad = {.player = "42", .currency = "XXX"};
    assert_int_equal(run(open_step, &bad), PB_ERR_INVALID);
    stop();
}

static void posted_transfer_moves_money_and_chains(bool pg)
{
    start(pg);
    struct open_args p = funded("1", "EUR", 1000);
    struct ledger_transfer bet = posted(p.ids[0], p.house, 250, LEDGER_TX_BET);
    struct ledger_outcome o = apply(&bet, 1);
    assert_int_equal(o.error, LEDGER_OK);
    assert_int_equal(o.n, 1);
    assert_int_equal(o.applied[0].id, 2); /* the deposit was 1 */
    struct ledger_account cash = account(p.ids[0]), house = account(p.house);
    assert_int_equal(ledger_available(&cash), 750);
    assert_int_equal(house.debits_posted, 1000); /* hot: exact after the commit */
    assert_int_equal(house.credits_posted, 250);
    /* The chain: row 2's prev_hash is row 1's hash, and both recompute. */
    struct store *s;
    char err[256];
    assert_int_equal(store_open(db_url, &s, err, sizeof(err)), 0);
    struct store_stmt *st;
    assert_int_equal(store_prepare(s, "SELECT prev_hash, hash, ts_ns FROM ledger_transfers"
                                      " ORDER BY id", &st), 0);
    char prev[65] = "0000000000000000000000000000000000000000000000000000000000000000";
    int64_t last_ts = 0;
    for (int i = 0; i < 2; i++) {
        assert_int_equal(store_step(st), STORE_ROW);
        assert_string_equal(store_column_text(st, 0), prev);
        snprintf(prev, sizeof(prev), "%s", store_column_text(st, 1));
        assert_true(store_column_int64(st, 2) > last_ts);
        last_ts = store_column_int64(st, 2);
    }
    assert_string_equal(prev, o.applied[0].hash);
    store_finalize(st);
    store_close(s);
    stop();
}

static void refusals_change_nothing(bool pg)
{
    start(pg);
    struct open_args p = funded("1", "EUR", 100), q = funded("2", "USD", 100);
    struct { struct ledger_transfer t; enum ledger_error want; } cases[] = {
        {posted(p.ids[0], p.house, 101, LEDGER_TX_BET), LEDGER_E_INSUFFICIENT_FUNDS},
        {posted(p.ids[0], 999, 1, LEDGER_TX_BET), LEDGER_E_ACCOUNT_NOT_FOUND},
        {posted(p.ids[0], q.house, 1, LEDGER_TX_BET), LEDGER_E_CURRENCY_MISMATCH},
        {posted(p.ids[0], p.ids[0], 1, LEDGER_TX_BET), LEDGER_E_INVALID},
        {posted(p.ids[0], p.house, 0, LEDGER_TX_BET), LEDGER_E_INVALID},
        {posted(p.ids[0], p.house, -5, LEDGER_TX_BET), LEDGER_E_INVALID},
        {posted(p.ids[0], p.house, 1, 999), LEDGER_E_INVALID},
    };
    for (size_t i = 0; i < PB_ARRAY_LEN(cases); i++) {
        struct ledger_outcome o = apply(&cases[i].t, 1);
        assert_int_equal(o.error, cases[i].want);
        assert_int_equal(o.failed_index, 0);
    }
    struct ledger_account cash = account(p.ids[0]);
    assert_int_equal(ledger_available(&cash), 100);
    /* Ids were not consumed by the refusals: the next transfer is 3 (after two deposits). */
    struct ledger_transfer ok = posted(p.ids[0], p.house, 1, LEDGER_TX_BET);
    assert_int_equal(apply(&ok, 1).applied[0].id, 3);
    stop();
}

static void linked_group_is_all_or_nothing(bool pg)
{
    start(pg);
    struct open_args p = funded("1", "EUR", 100);
    struct ledger_transfer group[2] = {posted(p.ids[0], p.house, 60, LEDGER_TX_BET),
                                       posted(p.ids[0], p.house, 60, LEDGER_TX_BET)};
    struct ledger_outcome o = apply(group, 2);
    assert_int_equal(o.error, LEDGER_E_INSUFFICIENT_FUNDS);
    assert_int_equal(o.failed_index, 1);
    struct ledger_account cash = account(p.ids[0]), house = account(p.house);
    assert_int_equal(ledger_available(&cash), 100);
    assert_int_equal(house.credits_posted, 0);
    /* bet + win in one group: both apply. */
    struct ledger_transfer betwin[2] = {posted(p.ids[0], p.house, 60, LEDGER_TX_BET),
                                        posted(p.house, p.ids[0], 90, LEDGER_TX_WIN)};
    o = apply(betwin, 2);
    assert_int_equal(o.error, LEDGER_OK);
    assert_int_equal(o.applied[1].id, o.applied[0].id + 1);
    cash = account(p.ids[0]);
    assert_int_equal(ledger_available(&cash), 130);
    /* The refused group left no trace in the writer's own copy of the totals either (SQLite
     * keeps them in memory): all 130 can be bet, and one more unit cannot. */
    struct ledger_transfer all = posted(p.ids[0], p.house, 130, LEDGER_TX_BET);
    assert_int_equal(apply(&all, 1).error, LEDGER_OK);
    struct ledger_transfer one = posted(p.ids[0], p.house, 1, LEDGER_TX_BET);
    assert_int_equal(apply(&one, 1).error, LEDGER_E_INSUFFICIENT_FUNDS);
    stop();
}

static void command_rollback_undoes_applied_group(bool pg)
{
    start(pg);
    struct open_args p = funded("1", "EUR", 100);
    struct ledger_transfer bet = posted(p.ids[0], p.house, 10, LEDGER_TX_BET);
    struct apply_args a = {&bet, 1, NULL, {0}, PB_ERR_INVALID};
    assert_int_equal(run(apply_step, &a), PB_ERR_INVALID);
    struct ledger_account cash = account(p.ids[0]), house = account(p.house);
    assert_int_equal(ledger_available(&cash), 100);
    assert_int_equal(house.credits_posted, 0);
    assert_int_equal(apply(&bet, 1).applied[0].id, 2); /* id 2 was not burnt */
    /* The rolled-back bet is gone from the writer's copy of the totals too: 90 is left. */
    struct ledger_transfer rest = posted(p.ids[0], p.house, 90, LEDGER_TX_BET);
    assert_int_equal(apply(&rest, 1).error, LEDGER_OK);
    assert_int_equal(apply(&bet, 1).error, LEDGER_E_INSUFFICIENT_FUNDS);
    stop();
}

static struct ledger_transfer pending(int64_t from, int64_t to, int64_t amount, int64_t ms)
{
    struct ledger_transfer t = posted(from, to, amount, LEDGER_TX_HOLD);
    t.kind = LEDGER_PENDING;
    t.timeout_ms = ms;
    return t;
}

static struct ledger_transfer resolve_t(enum ledger_kind kind, int64_t pending_id, int64_t amount)
{
    return (struct ledger_transfer){.kind = kind, .pending_id = pending_id, .amount = amount,
                                    .code = LEDGER_TX_HOLD, .reference = "withdrawal:1"};
}

static void two_phase_post_partial_and_void(bool pg)
{
    start(pg);
    struct open_args p = funded("1", "EUR", 100);
    struct ledger_transfer hold = pending(p.ids[0], p.ids[2], 80, 60000);
    struct ledger_outcome o = apply(&hold, 1);
    assert_int_equal(o.error, LEDGER_OK);
    int64_t pid = o.applied[0].id;
    struct ledger_account cash = account(p.ids[0]);
    assert_int_equal(ledger_available(&cash), 20);
    assert_int_equal(cash.debits_pending, 80);
    /* More than is available while held: refused. */
    struct ledger_transfer bet = posted(p.ids[0], p.house, 21, LEDGER_TX_BET);
    assert_int_equal(apply(&bet, 1).error, LEDGER_E_INSUFFICIENT_FUNDS);
    struct ledger_transfer too_much = resolve_t(LEDGER_POST, pid, 81);
    assert_int_equal(apply(&too_much, 1).error, LEDGER_E_POST_EXCEEDS_PENDING);
    struct ledger_transfer post = resolve_t(LEDGER_POST, pid, 50);
    o = apply(&post, 1);
    assert_int_equal(o.error, LEDGER_OK);
    assert_int_equal(o.applied[0].amount, 50);
    cash = account(p.ids[0]);
    struct ledger_account locked = account(p.ids[2]);
    assert_int_equal(cash.debits_pending, 0);
    assert_int_equal(ledger_available(&cash), 50); /* 30 released */
    assert_int_equal(ledger_posted_balance(&locked), 50);
    assert_int_equal(locked.credits_pending, 0);
    /* Resolved once only. */
    struct ledger_transfer again = resolve_t(LEDGER_VOID, pid, 0);
    assert_int_equal(apply(&again, 1).error, LEDGER_E_PENDING_RESOLVED);
    struct ledger_transfer not_pending = resolve_t(LEDGER_VOID, o.applied[0].id, 0);
    assert_int_equal(apply(&not_pending, 1).error, LEDGER_E_PENDING_NOT_FOUND);
    struct ledger_transfer missing = resolve_t(LEDGER_POST, 9999, 0);
    assert_int_equal(apply(&missing, 1).error, LEDGER_E_PENDING_NOT_FOUND);
    /* Void releases everything. */
    hold.amount = 40;
    int64_t pid2 = apply(&hold, 1).applied[0].id;
    struct ledger_transfer v = resolve_t(LEDGER_VOID, pid2, 0);
    assert_int_equal(apply(&v, 1).error, LEDGER_OK);
    cash = account(p.ids[0]);
    assert_int_equal(ledger_available(&cash), 50);
    assert_int_equal(cash.debits_pending, 0);
    stop();
}

struct expire_args {
    int64_t now;
    int voided;
};

static int expire_step(struct store *tx, void *arg)
{
    struct expire_args *a = arg;
    return ledger_expire(lg, tx, NULL, a->now, 100, &a->voided);
}

static void expired_pending_cannot_post_and_is_voided(bool pg)
{
    start(pg);
    struct open_args p = funded("1", "EUR", 100);
    struct ledger_transfer hold = pending(p.ids[0], p.ids[2], 70, 1);
    int64_t pid = apply(&hold, 1).applied[0].id;
    nanosleep(&(struct timespec){0, 5000000}, NULL);
    struct ledger_transfer post = resolve_t(LEDGER_POST, pid, 0);
    assert_int_equal(apply(&post, 1).error, LEDGER_E_PENDING_EXPIRED);
    struct expire_args e = {INT64_MAX, 0};
    assert_int_equal(run(expire_step, &e), 0);
    assert_int_equal(e.voided, 1);
    assert_int_equal(run(expire_step, &e), 0);
    assert_int_equal(e.voided, 0); /* nothing twice */
    struct ledger_account cash = account(p.ids[0]);
    assert_int_equal(ledger_available(&cash), 100);
    assert_int_equal(cash.debits_pending, 0);
    stop();
}

static void overflow_is_refused(bool pg)
{
    start(pg);
    struct open_args p = funded("1", "EUR", INT64_MAX - 10);
    struct ledger_transfer more = posted(p.house, p.ids[0], 11, LEDGER_TX_DEPOSIT);
    assert_int_equal(apply(&more, 1).error, LEDGER_E_OVERFLOW);
    more.amount = 10;
    assert_int_equal(apply(&more, 1).error, LEDGER_OK);
    struct ledger_account cash = account(p.ids[0]);
    assert_int_equal(cash.credits_posted, INT64_MAX);
    struct ledger_transfer hold = pending(p.ids[0], p.ids[2], INT64_MAX, INT64_MAX / 1000000);
    assert_int_equal(apply(&hold, 1).error, LEDGER_E_OVERFLOW); /* the expiry time overflows */
    stop();
}

static void hot_house_account_takes_batch_net_delta(bool pg)
{
    start(pg);
    struct open_args p = funded("1", "EUR", 1000);
    struct ledger_transfer t[2] = {posted(p.ids[0], p.house, 30, LEDGER_TX_BET),
                                   posted(p.house, p.ids[0], 20, LEDGER_TX_WIN)};
    for (int i = 0; i < 10; i++)
        assert_int_equal(apply(t, 2).error, LEDGER_OK);
    struct ledger_account house = account(p.house), cash = account(p.ids[0]);
    assert_int_equal(house.credits_posted, 300);
    assert_int_equal(house.debits_posted, 1000 + 200);
    assert_int_equal(ledger_available(&cash), 1000 - 100);
    stop();
}

struct idem_args {
    const char *key, *request;
    enum ledger_idem_state state;
    struct ledger_idem_hit hit;
    int record_status;
};

static int idem_step(struct store *tx, void *arg)
{
    struct idem_args *a = arg;
    int rc = ledger_idem_check(tx, "test", a->key, a->request, &a->state, &a->hit);
    if (rc == PB_OK && a->state == LEDGER_IDEM_NEW)
        rc = ledger_idem_record(tx, "test", a->key, a->request, a->record_status, "{\"r\":1}");
    return rc;
}

static void idempotency_replays_and_names_conflicting_field(bool pg)
{
    start(pg);
    struct idem_args a = {"k1", "{\"amount\":5,\"currency\":\"EUR\"}", 0, {0}, 201};
    assert_int_equal(run(idem_step, &a), 0);
    assert_int_equal(a.state, LEDGER_IDEM_NEW);
    assert_int_equal(run(idem_step, &a), 0);
    assert_int_equal(a.state, LEDGER_IDEM_REPLAY);
    assert_int_equal(a.hit.status, 201);
    assert_string_equal(a.hit.body, "{\"r\":1}");
    pb_free(a.hit.body);
    struct idem_args b = {"k1", "{\"amount\":6,\"currency\":\"EUR\"}", 0, {0}, 201};
    assert_int_equal(run(idem_step, &b), 0);
    assert_int_equal(b.state, LEDGER_IDEM_CONFLICT);
    assert_string_equal(b.hit.field, "amount");
    struct idem_args c = {"k2", "{\"amount\":6}", 0, {0}, 422};
    assert_int_equal(run(idem_step, &c), 0);
    assert_int_equal(run(idem_step, &c), 0);
    assert_int_equal(c.state, LEDGER_IDEM_REPLAY);
    assert_int_equal(c.hit.status, 422); /* a refusal stays refused */
    pb_free(c.hit.body);
    stop();
}

static void history_pages_newest_first_with_filters(bool pg)
{
    start(pg);
    struct open_args p = funded("1", "EUR", 1000);
    for (int i = 0; i < 7; i++) {
        struct ledger_transfer t = posted(p.ids[0], p.house, 1 + i, LEDGER_TX_BET);
        assert_int_equal(apply(&t, 1).error, LEDGER_OK);
    }
    struct store *s;
    char err[256];
    assert_int_equal(store_open(db_url, &s, err, sizeof(err)), 0);
    struct ledger_history_filter f = {.owner = "player:1", .limit = 3};
    struct ledger_history_row rows[3];
    size_t n, total = 0;
    int64_t next, last_id = INT64_MAX;
    do {
        assert_int_equal(ledger_history(s, &f, rows, &n, &next), 0);
        for (size_t i = 0; i < n; i++) {
            assert_true(rows[i].id < last_id);
            last_id = rows[i].id;
            pb_free(rows[i].metadata);
        }
        total += n;
        f.before_id = next;
    } while (next != 0);
    assert_int_equal(total, 8); /* the deposit and 7 bets */
    f = (struct ledger_history_filter){.owner = "player:1", .limit = 50, .code = LEDGER_TX_DEPOSIT};
    struct ledger_history_row all[50];
    assert_int_equal(ledger_history(s, &f, all, &n, &next), 0);
    assert_int_equal(n, 1);
    assert_int_equal(all[0].amount, 1000);
    pb_free(all[0].metadata);
    f.code = 0;
    f.currency = "USD";
    assert_int_equal(ledger_history(s, &f, all, &n, &next), 0);
    assert_int_equal(n, 0);
    store_close(s);
    stop();
}

/* The ids of the transfers touching owner's accounts (currency: NULL for any; code 0 for any;
 * times in [from, to)), newest first, by a plain scan: what ledger_history must list. */
static size_t history_truth(struct store *s, const char *owner, const char *currency, int code,
                            int64_t from, int64_t to, int64_t *ids, size_t max)
{
    struct store_stmt *st;
    const char *cur = currency ? currency : "";
    assert_int_equal(store_prepare(s, "SELECT t.id FROM ledger_transfers t WHERE"
                                      " EXISTS (SELECT 1 FROM ledger_accounts a WHERE a.owner = ?"
                                      " AND (? = '' OR a.currency = ?) AND"
                                      " (a.id = t.debit_account OR a.id = t.credit_account))"
                                      " AND (? = 0 OR t.code = ?) AND t.ts_ns >= ? AND t.ts_ns < ?"
                                      " ORDER BY t.id DESC", &st), 0);
    store_bind_text(st, 1, owner, strlen(owner));
    store_bind_text(st, 2, cur, strlen(cur));
    store_bind_text(st, 3, cur, strlen(cur));
    store_bind_int64(st, 4, code);
    store_bind_int64(st, 5, code);
    store_bind_int64(st, 6, from);
    store_bind_int64(st, 7, to);
    size_t n = 0;
    while (store_step(st) == STORE_ROW) {
        assert_true(n < max);
        ids[n++] = store_column_int64(st, 0);
    }
    store_finalize(st);
    return n;
}

/* Pages through owner's history with f (limit per page) and checks it lists exactly the
 * transfers of history_truth, each once, newest first. */
static void check_history(struct store *s, struct ledger_history_filter f)
{
    int64_t want[400];
    size_t nwant = history_truth(s, f.owner, f.currency, f.code, f.from_ns,
                                 f.to_ns ? f.to_ns : INT64_MAX, want, PB_ARRAY_LEN(want));
    struct ledger_history_row rows[LEDGER_HISTORY_PAGE_MAX];
    size_t got = 0, n;
    int64_t next;
    do {
        assert_int_equal(ledger_history(s, &f, rows, &n, &next), 0);
        for (size_t i = 0; i < n; i++) {
            assert_true(got < nwant);
            assert_int_equal(rows[i].id, want[got]);
            got++;
            pb_free(rows[i].metadata);
        }
        assert_true(next == 0 || n == (size_t)f.limit);
        f.before_id = next;
    } while (next != 0);
    assert_int_equal(got, nwant);
}

/* History walks the chains of all the owner's accounts (cash, bonus, locked, every currency)
 * merged by id: a random workload, including moves between the owner's own accounts (met on
 * two chains, listed once), checked page by page against a plain scan for every filter. */
static void history_walks_every_account_of_the_owner(bool pg)
{
    start(pg);
    const char *players[3] = {"7", "8", "9"};
    struct open_args eur[3], usd[3];
    for (int i = 0; i < 3; i++) {
        eur[i] = funded(players[i], "EUR", 100000);
        usd[i] = funded(players[i], "USD", 100000);
    }
    uint64_t rng = 0x2545F4914F6CDD1Dull;
    int64_t mid_ns = 0;
    for (int k = 0; k < 240; k++) {
        rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
        struct open_args *o = (rng >> 8) % 2 ? &eur[(rng >> 16) % 3] : &usd[(rng >> 16) % 3];
        int64_t amount = 1 + (int64_t)((rng >> 24) % 50);
        struct ledger_transfer t[2];
        size_t n = 1;
        switch ((rng >> 32) % 4) {
        case 0: t[0] = posted(o->ids[0], o->house, amount, LEDGER_TX_BET); break;
        case 1: t[0] = posted(o->house, o->ids[0], amount, LEDGER_TX_WIN); break;
        case 2: t[0] = posted(o->ids[0], o->ids[2], amount, LEDGER_TX_HOLD); break; /* own */
        default:
            t[0] = posted(o->ids[0], o->house, amount, LEDGER_TX_BET);
            t[1] = posted(o->house, o->ids[1], amount, LEDGER_TX_BONUS_GRANT);
            n = 2;
        }
        struct ledger_outcome out = apply(t, n);
        assert_int_equal(out.error, LEDGER_OK);
        if (k == 120)
            mid_ns = out.applied[0].timestamp_ns;
    }
    struct store *s;
    char err[256];
    assert_int_equal(store_open(db_url, &s, err, sizeof(err)), 0);
    const int limits[] = {1, 3, 50, LEDGER_HISTORY_PAGE_MAX};
    for (int i = 0; i < 3; i++) {
        char owner[32];
        snprintf(owner, sizeof(owner), "player:%s", players[i]);
        for (size_t l = 0; l < PB_ARRAY_LEN(limits); l++) {
            struct ledger_history_filter f = {.owner = owner, .limit = limits[l]};
            check_history(s, f);
            f.currency = "USD";
            check_history(s, f);
            f.currency = NULL;
            f.code = LEDGER_TX_HOLD;
            check_history(s, f);
            f.code = 0;
            f.from_ns = mid_ns;
            check_history(s, f);
            f.from_ns = 0;
            f.to_ns = mid_ns;
            check_history(s, f);
        }
    }
    /* house accounts keep no chain: their history is not offered */
    struct ledger_history_filter f = {.owner = "house", .limit = 10};
    struct ledger_history_row rows[10];
    size_t n;
    int64_t next;
    assert_int_equal(ledger_history(s, &f, rows, &n, &next), PB_ERR_INVALID);
    assert_int_equal(n, 0);
    store_close(s);
    stop();
}

/* A metadata cache of 8 slots (cleared whenever it holds 4 accounts) under linked groups that
 * move several players twice each, refused groups and rolled-back commands: the writer's
 * copies of the totals and chain heads must survive every clearing, including one in the
 * middle of a group (on SQLite a group's account rows are written only at its end). Checked
 * against a model after every step, and by ledger_verify at the end. */
static void tiny_metadata_cache_keeps_totals_exact(bool pg)
{
    start(pg);
    enum { PLAYERS = 6 };
    struct open_args p[PLAYERS];
    int64_t cash[PLAYERS], locked[PLAYERS];
    char names[PLAYERS][16];
    for (int i = 0; i < PLAYERS; i++) {
        snprintf(names[i], sizeof(names[i]), "m%d", i);
        p[i] = funded(names[i], "EUR", 1000);
        cash[i] = 1000;
        locked[i] = 0;
    }
    ledger__set_meta_slots(lg, 8);
    uint64_t rng = 0x9E3779B97F4A7C15ull;
    for (int step = 0; step < 300; step++) {
        struct ledger_transfer t[LEDGER_LINKED_MAX];
        int64_t c2[PLAYERS], l2[PLAYERS];
        memcpy(c2, cash, sizeof(c2));
        memcpy(l2, locked, sizeof(l2));
        rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
        size_t n = 2 + (size_t)(rng % 7);
        bool ok = true;
        for (size_t k = 0; k < n; k++) {
            rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
            int i = (int)((rng >> 8) % PLAYERS);
            int64_t amount = 1 + (int64_t)((rng >> 16) % 400);
            switch ((rng >> 40) % 3) {
            case 0:
                t[k] = posted(p[i].ids[0], p[i].house, amount, LEDGER_TX_BET);
                ok = ok && c2[i] >= amount;
                c2[i] -= amount;
                break;
            case 1:
                t[k] = posted(p[i].house, p[i].ids[0], amount, LEDGER_TX_WIN);
                c2[i] += amount;
                break;
            default:
                t[k] = posted(p[i].ids[0], p[i].ids[2], amount, LEDGER_TX_HOLD);
                ok = ok && c2[i] >= amount;
                c2[i] -= amount;
                l2[i] += amount;
            }
        }
        bool rollback = step % 11 == 5;
        struct apply_args a = {t, n, NULL, {0}, rollback ? PB_ERR_INVALID : 0};
        assert_int_equal(run(apply_step, &a), rollback ? PB_ERR_INVALID : 0);
        if (!rollback)
            assert_int_equal(a.out.error, ok ? LEDGER_OK : LEDGER_E_INSUFFICIENT_FUNDS);
        if (ok && !rollback) {
            memcpy(cash, c2, sizeof(c2));
            memcpy(locked, l2, sizeof(l2));
        }
        for (int i = 0; i < PLAYERS; i++) {
            struct ledger_account c = account(p[i].ids[0]), l = account(p[i].ids[2]);
            assert_int_equal(ledger_posted_balance(&c), cash[i]);
            assert_int_equal(ledger_posted_balance(&l), locked[i]);
        }
    }
    struct store *s;
    char err[256];
    assert_int_equal(store_open(db_url, &s, err, sizeof(err)), 0);
    struct pb_buf out = PB_BUF_INIT;
    if (ledger_verify(s, &out) != PB_OK)
        fail_msg("%s", pb_buf_str(&out));
    pb_buf_release(&out);
    store_close(s);
    stop();
}

#define BOTH PBT_BOTH
#define PAIR PBT_PAIR

BOTH(accounts_open_once_with_flags)
BOTH(posted_transfer_moves_money_and_chains)
BOTH(refusals_change_nothing)
BOTH(linked_group_is_all_or_nothing)
BOTH(command_rollback_undoes_applied_group)
BOTH(two_phase_post_partial_and_void)
BOTH(expired_pending_cannot_post_and_is_voided)
BOTH(overflow_is_refused)
BOTH(hot_house_account_takes_batch_net_delta)
BOTH(idempotency_replays_and_names_conflicting_field)
BOTH(history_pages_newest_first_with_filters)
BOTH(history_walks_every_account_of_the_owner)
BOTH(tiny_metadata_cache_keeps_totals_exact)

int main(void)
{
    const struct CMUnitTest tests[] = {
        PAIR(accounts_open_once_with_flags),
        PAIR(posted_transfer_moves_money_and_chains),
        PAIR(refusals_change_nothing),
        PAIR(linked_group_is_all_or_nothing),
        PAIR(command_rollback_undoes_applied_group),
        PAIR(two_phase_post_partial_and_void),
        PAIR(expired_pending_cannot_post_and_is_voided),
        PAIR(overflow_is_refused),
        PAIR(hot_house_account_takes_batch_net_delta),
        PAIR(idempotency_replays_and_names_conflicting_field),
        PAIR(history_pages_newest_first_with_filters),
        PAIR(history_walks_every_account_of_the_owner),
        PAIR(tiny_metadata_cache_keeps_totals_exact),
    };
    return cmocka_run_group_tests_name("unit.ledger", tests, NULL, NULL);
}
