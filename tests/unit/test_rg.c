/* test_rg.c: responsible gaming in the wallet's debit path, on both engines: every limit
 * kind with exact rolling-window boundaries (exactly at 24 hours), wins lowering losses, the
 * cooling period for increases and removals, time-outs and self-exclusions blocking bets and
 * deposits but not wins or withdrawals, stake caps by age, the game-cycle minimum, autoplay,
 * the deposit-limit prompt, the KYC gate, session-time limits, and the events a refusal
 * leaves; the guard's cache of players' inputs (docs/rg.md, "Performance") through command,
 * group and batch rollbacks, PAM, KYC and limit changes, a clock going back, evictions, a
 * writer restart and another connection's writes. Every test runs with the cache's
 * self-check on: a cached input that differs from the database stops the test. The clock is
 * the test's own (rg_set_clock). */
#include <semaphore.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/base.h"
#include "core/app.h"
#include "core/outbox.h"
#include "ledger/ledger.h"
#include "pam/kyc.h"
#include "pam/pam.h"
#include "rg/rg.h"
#include "unit.h"

#define T0 1767225600000LL /* 2026-01-01T00:00:00Z */
#define CFG                                                                                   \
    "{\"jurisdictions\":{"                                                                    \
    "\"uk-j\":{\"min_age\":18,\"currencies\":[\"GBP\"],\"countries\":[\"*\"],"                \
    "\"kyc_required\":[],\"rg_rule_set\":\"uk\"},"                                            \
    "\"demo-j\":{\"min_age\":18,\"currencies\":[\"GBP\"],\"countries\":[\"*\"],"              \
    "\"kyc_required\":[],\"rg_rule_set\":\"permissive\"},"                                    \
    "\"kyc-j\":{\"min_age\":18,\"currencies\":[\"GBP\"],\"countries\":[\"*\"],"               \
    "\"kyc_required\":[\"play\",\"deposit\"],\"rg_rule_set\":\"permissive\"}},"               \
    "\"brands\":{\"uk\":{\"jurisdiction\":\"uk-j\"},\"demo\":{\"jurisdiction\":\"demo-j\"},"  \
    "\"kyc\":{\"jurisdiction\":\"kyc-j\"}}}"

static char url[600];
static struct writer *w;
static struct outbox *ob;
static struct ledger *lg;
static struct rg *rg;
static struct pam_config *cfg;
static struct store *rd;
static int64_t now_ms;
static int64_t house, psp;
static bool fail_commits; /* the next batches fail at their end (a batch rollback) */

static int64_t test_clock(void *arg)
{
    (void)arg;
    return now_ms;
}

/* ---- running steps as writer commands that may emit events ---- */

typedef int (*step_fn)(struct store *tx, struct writer_cmd *cmd, void *arg);
struct step {
    struct writer_cmd cmd;
    step_fn fn;
    void *arg;
    sem_t done;
};

static int step_run(struct store *tx, struct writer_cmd *cmd)
{
    struct step *s = (struct step *)cmd;
    return s->fn(tx, cmd, s->arg);
}

static void step_done(struct writer_cmd *cmd)
{
    sem_post(&((struct step *)cmd)->done);
}

static int run(step_fn fn, void *arg)
{
    struct step s = {.cmd = {.run = step_run, .done = step_done}, .fn = fn, .arg = arg};
    sem_init(&s.done, 0, 0);
    assert_int_equal(writer_submit(w, &s.cmd), PB_OK);
    while (sem_wait(&s.done) != 0) {
    }
    sem_destroy(&s.done);
    return s.cmd.status;
}

static int open_house(struct store *tx, struct writer_cmd *cmd, void *arg)
{
    (void)cmd;
    (void)arg;
    int rc = ledger_open_account(lg, tx, "house", LEDGER_ACC_HOUSE_CASINO, "GBP", &house);
    return rc ? rc : ledger_open_account(lg, tx, "house", LEDGER_ACC_PSP_CLEARING, "GBP", &psp);
}

static int failing_before_commit(struct store *tx, void *arg)
{
    (void)tx;
    (void)arg;
    return fail_commits ? PB_ERR_DB : PB_OK;
}

static struct writer_config writer_config(void)
{
    struct writer_config wc = {64, 0, 1024, url, {ledger_participant(lg), rg_participant(rg)},
                               3};
    wc.participants[2] = (struct writer_participant){.before_commit = failing_before_commit};
    return wc;
}

static void start(bool pg)
{
    pbt_fresh_database(pg, "pb_rg", url, sizeof(url));
    size_t n;
    const struct store_migration *list = app_migrations(&n);
    pbt_migrate(url, list, n);
    char err[256];
    assert_int_equal(pam_config_load_text(CFG, strlen(CFG), &cfg, err, sizeof(err)), PB_OK);
    struct rg_rules *rules;
    assert_int_equal(rg_rules_load(NULL, &rules, err, sizeof(err)), PB_OK);
    rg = rg_new(cfg, rules);
    now_ms = T0;
    rg_set_clock(rg, test_clock, NULL);
    lg = ledger_new();
    struct ledger_guard g = rg_guard(rg);
    ledger_set_guard(lg, &g);
    ob = outbox_new("t");
    rg_cache_configure(rg, true, true, 0); /* every cached state used is checked */
    fail_commits = false;
    struct writer_config wc = writer_config();
    assert_int_equal(writer_start(&wc, pbt_open(url), ob, &w), PB_OK);
    rd = pbt_open(url);
    assert_int_equal(run(open_house, NULL), PB_OK);
}

static void stop(void)
{
    writer_stop(w);
    outbox_free(ob);
    ledger_free(lg);
    rg_free(rg);
    pam_config_free(cfg);
    store_close(rd);
}

/* ---- players and money ---- */

struct player {
    char id[PAM_PLAYER_ID_SIZE];
    const char *brand, *dob;
    int64_t acc[3];
};

static int player_step(struct store *tx, struct writer_cmd *cmd, void *arg)
{
    (void)cmd;
    struct player *p = arg;
    struct pam_player pp = {0};
    pb_strlcpy(pp.id, p->id, sizeof(pp.id));
    pb_strlcpy(pp.brand, p->brand, sizeof(pp.brand));
    snprintf(pp.email, sizeof(pp.email), "%s@example.com", p->id);
    pb_strlcpy(pp.password_hash, "$argon2id$x", sizeof(pp.password_hash));
    pb_strlcpy(pp.date_of_birth, p->dob ? p->dob : "1980-05-05", sizeof(pp.date_of_birth));
    pb_strlcpy(pp.country, "GB", sizeof(pp.country));
    pb_strlcpy(pp.currency, "GBP", sizeof(pp.currency));
    pp.created_at_ms = T0;
    int rc = pam_player_insert(tx, &pp);
    return rc ? rc : ledger_open_player_accounts(lg, tx, p->id, "GBP", p->acc);
}

static struct player new_player(const char *id, const char *brand, const char *dob)
{
    struct player p = {.brand = brand, .dob = dob};
    pb_strlcpy(p.id, id, sizeof(p.id));
    assert_int_equal(run(player_step, &p), PB_OK);
    return p;
}

struct move {
    struct ledger_transfer t;
    struct ledger_outcome out;
};

static int move_step(struct store *tx, struct writer_cmd *cmd, void *arg)
{
    struct move *m = arg;
    return ledger_apply(lg, tx, cmd, NULL, &m->t, 1, &m->out);
}

static struct ledger_context slot = {.product = "casino", .game_kind = "slot", .game_id = "s"};
static struct ledger_context table = {.product = "casino", .game_kind = "roulette"};

/* Applies one transfer; returns the ledger error (LEDGER_E_REFUSED: the guard's code in
 * refusal). */
static enum ledger_error apply(enum ledger_kind kind, int code, int64_t debit, int64_t credit,
                               int64_t amount, const struct ledger_context *ctx,
                               struct ledger_refusal *refusal)
{
    struct move m = {.t = {.kind = kind, .debit_account = debit, .credit_account = credit,
                           .amount = amount, .code = code, .reference = "test",
                           .timeout_ms = kind == LEDGER_PENDING ? 60000 : 0, .context = ctx}};
    assert_int_equal(run(move_step, &m), PB_OK);
    if (refusal)
        *refusal = m.out.refusal;
    return m.out.error;
}

static void deposit(const struct player *p, int64_t amount)
{
    assert_int_equal(apply(LEDGER_POSTED, LEDGER_TX_DEPOSIT, psp, p->acc[0], amount, NULL, NULL),
                     LEDGER_OK);
}

static enum ledger_error bet(const struct player *p, int64_t amount,
                             const struct ledger_context *ctx, struct ledger_refusal *r)
{
    return apply(LEDGER_POSTED, LEDGER_TX_BET, p->acc[0], house, amount, ctx, r);
}

static void win(const struct player *p, int64_t amount)
{
    assert_int_equal(apply(LEDGER_POSTED, LEDGER_TX_WIN, house, p->acc[0], amount, NULL, NULL),
                     LEDGER_OK);
}

struct limit_args {
    const char *player;
    enum rg_limit_kind kind;
    enum rg_window window;
    const char *currency;
    int64_t value;
    bool effective_now;
};

static int limit_step(struct store *tx, struct writer_cmd *cmd, void *arg)
{
    struct limit_args *a = arg;
    return rg_limit_set(rg, tx, cmd, a->player, a->kind, a->window, a->currency, a->value,
                        "player", &a->effective_now);
}

static bool set_limit(const struct player *p, enum rg_limit_kind kind, enum rg_window window,
                      int64_t value)
{
    struct limit_args a = {p->id, kind, window, kind == RG_LIMIT_SESSION ? "" : "GBP", value,
                           false};
    assert_int_equal(run(limit_step, &a), PB_OK);
    return a.effective_now;
}

static int64_t limit_value(const struct player *p, enum rg_limit_kind kind, int64_t *pending)
{
    struct rg_limit l[16];
    size_t n;
    assert_int_equal(rg_limits_get(rg, rd, p->id, l, 16, &n), PB_OK);
    for (size_t i = 0; i < n; i++)
        if (l[i].kind == kind) {
            if (pending)
                *pending = l[i].pending_at_ms ? l[i].pending_value : -1;
            return l[i].value;
        }
    return -1;
}

static int64_t count_events(const char *type)
{
    struct store_stmt *st;
    assert_int_equal(store_prepare(rd, "SELECT COUNT(*) FROM outbox WHERE type = ?", &st), 0);
    store_bind_text(st, 1, type, strlen(type));
    assert_int_equal(store_step(st), STORE_ROW);
    int64_t n = store_column_int64(st, 0);
    store_finalize(st);
    return n;
}

/* ---- the rules ---- */

/* A loss limit of 100.00 over 24 h: the boundary is exact, at the millisecond. */
static void loss_limit_rolls_exactly_at_24_hours(bool pg)
{
    start(pg);
    struct player p = new_player("lossplayer", "demo", NULL);
    deposit(&p, 100000);
    assert_true(set_limit(&p, RG_LIMIT_LOSS, RG_WINDOW_DAY, 10000));
    assert_int_equal(bet(&p, 6000, &table, NULL), LEDGER_OK);
    now_ms = T0 + 1000;
    assert_int_equal(bet(&p, 4000, &table, NULL), LEDGER_OK); /* exactly at the limit */
    struct ledger_refusal r;
    assert_int_equal(bet(&p, 1, &table, &r), LEDGER_E_REFUSED);
    assert_string_equal(r.code, "limit_exceeded");
    assert_int_equal(r.status, 422);
    assert_non_null(strstr(r.members, "\"limit\":\"loss\""));
    assert_non_null(strstr(r.members, "\"window\":\"24h\""));
    assert_non_null(strstr(r.members, "\"remaining_minor\":0"));
    /* The first bet (at T0) leaves the window at T0 + 24 h exactly. */
    assert_non_null(strstr(r.members, "\"resets_at\":\"2026-01-02T00:00:00.000Z\""));
    assert_int_equal(count_events("rg.limit_reached"), 1);
    now_ms = T0 + RG_DAY_MS - 1;
    assert_int_equal(bet(&p, 1, &table, &r), LEDGER_E_REFUSED);
    now_ms = T0 + RG_DAY_MS;
    assert_int_equal(bet(&p, 6001, &table, &r), LEDGER_E_REFUSED); /* 4000 + 6001 > 10000 */
    assert_int_equal(bet(&p, 6000, &table, NULL), LEDGER_OK);
    /* Wins lower the net loss: 10000 lost in the window, a win of 2500 makes room. */
    win(&p, 2500);
    assert_int_equal(bet(&p, 2500, &table, NULL), LEDGER_OK);
    assert_int_equal(bet(&p, 1, &table, &r), LEDGER_E_REFUSED);
    /* Nothing of a refused bet was applied. */
    struct ledger_account a;
    assert_int_equal(ledger_account_get(rd, p.acc[0], &a), PB_OK);
    assert_int_equal(ledger_posted_balance(&a), 100000 - 6000 - 4000 - 6000 + 2500 - 2500);
    stop();
}
PBT_BOTH(loss_limit_rolls_exactly_at_24_hours)

/* Wager counts stakes whatever was won; the lowest of several windows applies. */
static void wager_limits_the_lowest_window_applies(bool pg)
{
    start(pg);
    struct player p = new_player("wagerplayer", "demo", NULL);
    deposit(&p, 100000);
    assert_true(set_limit(&p, RG_LIMIT_WAGER, RG_WINDOW_DAY, 50000));
    assert_true(set_limit(&p, RG_LIMIT_WAGER, RG_WINDOW_WEEK, 8000));
    assert_int_equal(bet(&p, 5000, &table, NULL), LEDGER_OK);
    win(&p, 5000);
    struct ledger_refusal r;
    assert_int_equal(bet(&p, 3001, &table, &r), LEDGER_E_REFUSED);
    assert_non_null(strstr(r.members, "\"window\":\"7d\""));
    assert_non_null(strstr(r.members, "\"remaining_minor\":3000"));
    assert_int_equal(bet(&p, 3000, &table, NULL), LEDGER_OK);
    /* After 24 hours the week still holds. */
    now_ms = T0 + RG_DAY_MS;
    assert_int_equal(bet(&p, 1, &table, &r), LEDGER_E_REFUSED);
    now_ms = T0 + 7 * RG_DAY_MS;
    assert_int_equal(bet(&p, 8000, &table, NULL), LEDGER_OK);
    stop();
}
PBT_BOTH(wager_limits_the_lowest_window_applies)

/* Decreases at once; increases and removals after the cooling period (24 h). */
static void increases_wait_for_the_cooling_period(bool pg)
{
    start(pg);
    struct player p = new_player("coolplayer", "demo", NULL);
    deposit(&p, 100000);
    assert_true(set_limit(&p, RG_LIMIT_DEPOSIT, RG_WINDOW_DAY, 20000));
    assert_true(set_limit(&p, RG_LIMIT_DEPOSIT, RG_WINDOW_DAY, 10000)); /* decrease: now */
    assert_int_equal(limit_value(&p, RG_LIMIT_DEPOSIT, NULL), 10000);
    now_ms = T0 + 1000;
    assert_false(set_limit(&p, RG_LIMIT_DEPOSIT, RG_WINDOW_DAY, 30000)); /* increase: later */
    int64_t pending;
    assert_int_equal(limit_value(&p, RG_LIMIT_DEPOSIT, &pending), 10000);
    assert_int_equal(pending, 30000);
    struct ledger_refusal r;
    assert_int_equal(apply(LEDGER_POSTED, LEDGER_TX_DEPOSIT, psp, p.acc[0], 10001, NULL, &r),
                     LEDGER_E_REFUSED);
    assert_non_null(strstr(r.members, "\"limit\":\"deposit\""));
    now_ms = T0 + 1000 + RG_DAY_MS - 1;
    assert_int_equal(limit_value(&p, RG_LIMIT_DEPOSIT, NULL), 10000);
    now_ms = T0 + 1000 + RG_DAY_MS;
    assert_int_equal(limit_value(&p, RG_LIMIT_DEPOSIT, &pending), 30000);
    assert_int_equal(pending, -1);
    /* Removal waits too; asking for the current value cancels a pending change. */
    assert_false(set_limit(&p, RG_LIMIT_DEPOSIT, RG_WINDOW_DAY, 0));
    assert_int_equal(limit_value(&p, RG_LIMIT_DEPOSIT, &pending), 30000);
    assert_int_equal(pending, 0);
    assert_true(set_limit(&p, RG_LIMIT_DEPOSIT, RG_WINDOW_DAY, 30000));
    assert_int_equal(limit_value(&p, RG_LIMIT_DEPOSIT, &pending), 30000);
    assert_int_equal(pending, -1);
    assert_int_equal(count_events("rg.limit_set"), 5);
    stop();
}
PBT_BOTH(increases_wait_for_the_cooling_period)

/* A pending deposit counts at once; voiding it gives the room back. */
static void pending_deposits_count_and_voids_release(bool pg)
{
    start(pg);
    struct player p = new_player("pendplayer", "demo", NULL);
    assert_true(set_limit(&p, RG_LIMIT_DEPOSIT, RG_WINDOW_DAY, 10000));
    struct move m = {.t = {.kind = LEDGER_PENDING, .debit_account = psp,
                           .credit_account = p.acc[0], .amount = 8000,
                           .code = LEDGER_TX_DEPOSIT, .reference = "dep", .timeout_ms = 60000}};
    assert_int_equal(run(move_step, &m), PB_OK);
    assert_int_equal(m.out.error, LEDGER_OK);
    int64_t pending_id = m.out.applied[0].id;
    struct ledger_refusal r;
    assert_int_equal(apply(LEDGER_PENDING, LEDGER_TX_DEPOSIT, psp, p.acc[0], 2001, NULL, &r),
                     LEDGER_E_REFUSED);
    struct move v = {.t = {.kind = LEDGER_VOID, .pending_id = pending_id,
                           .code = LEDGER_TX_DEPOSIT, .reference = "dep-void"}};
    assert_int_equal(run(move_step, &v), PB_OK);
    assert_int_equal(v.out.error, LEDGER_OK);
    assert_int_equal(apply(LEDGER_POSTED, LEDGER_TX_DEPOSIT, psp, p.acc[0], 10000, NULL, NULL),
                     LEDGER_OK);
    stop();
}
PBT_BOTH(pending_deposits_count_and_voids_release)

struct exclude_args {
    const char *player;
    enum rg_exclusion_kind kind;
    int64_t until;
};

static int exclude_step(struct store *tx, struct writer_cmd *cmd, void *arg)
{
    struct exclude_args *a = arg;
    return rg_exclude(rg, tx, cmd, a->player, a->kind, a->until, "player");
}

/* Exclusions block bets and deposits at once, not wins or withdrawals; never shortened. */
static void exclusion_blocks_money_in_not_money_out(bool pg)
{
    start(pg);
    struct player p = new_player("exclplayer", "demo", NULL);
    deposit(&p, 50000);
    struct exclude_args a = {p.id, RG_TIME_OUT, T0 + 48 * RG_HOUR_MS};
    assert_int_equal(run(exclude_step, &a), PB_OK);
    struct ledger_refusal r;
    assert_int_equal(bet(&p, 100, &table, &r), LEDGER_E_REFUSED);
    assert_string_equal(r.code, "self_excluded");
    assert_int_equal(r.status, 403);
    assert_non_null(strstr(r.members, "\"exclusion\":\"time_out\""));
    assert_int_equal(apply(LEDGER_POSTED, LEDGER_TX_DEPOSIT, psp, p.acc[0], 100, NULL, &r),
                     LEDGER_E_REFUSED);
    assert_string_equal(r.code, "self_excluded");
    win(&p, 100); /* an open round settles */
    assert_int_equal(apply(LEDGER_PENDING, LEDGER_TX_WITHDRAWAL, p.acc[0], p.acc[2], 1000, NULL,
                           NULL),
                     LEDGER_OK);
    /* Shorter: refused; longer (self-exclusion, permanent): taken. */
    a.until = T0 + 24 * RG_HOUR_MS;
    assert_int_equal(run(exclude_step, &a), PB_ERR_CONFLICT);
    a.kind = RG_SELF_EXCLUSION;
    a.until = INT64_MAX;
    assert_int_equal(run(exclude_step, &a), PB_OK);
    now_ms = T0 + 49 * RG_HOUR_MS; /* past the time-out: the exclusion remains */
    assert_int_equal(bet(&p, 100, &table, &r), LEDGER_E_REFUSED);
    assert_non_null(strstr(r.members, "\"exclusion\":\"self_exclusion\""));
    assert_non_null(strstr(r.members, "\"until\":null"));
    assert_int_equal(count_events("rg.time_out"), 1);
    assert_int_equal(count_events("rg.self_exclusion"), 1);
    /* A time-out alone ends at its time. */
    struct player q = new_player("shorttimeout", "demo", NULL);
    deposit(&q, 1000);
    struct exclude_args b = {q.id, RG_TIME_OUT, now_ms + RG_DAY_MS};
    assert_int_equal(run(exclude_step, &b), PB_OK);
    now_ms += RG_DAY_MS - 1;
    assert_int_equal(bet(&q, 100, &table, NULL), LEDGER_E_REFUSED);
    now_ms += 1;
    assert_int_equal(bet(&q, 100, &table, NULL), LEDGER_OK);
    stop();
}
PBT_BOTH(exclusion_blocks_money_in_not_money_out)

static int answer_step(struct store *tx, struct writer_cmd *cmd, void *arg)
{
    (void)cmd;
    return rg_prompt_answer(rg, tx, arg);
}

/* The UK-like set: slot stake cap 5.00 (2.00 up to age 24), 2.5 s between slot cycles, no
 * autoplay or turbo, the deposit-limit prompt before the first deposit. */
static void uk_rules_apply_to_slots(bool pg)
{
    start(pg);
    struct player p = new_player("ukadult", "uk", "1980-01-01");
    struct ledger_refusal r;
    assert_int_equal(apply(LEDGER_POSTED, LEDGER_TX_DEPOSIT, psp, p.acc[0], 10000, NULL, &r),
                     LEDGER_E_REFUSED);
    assert_string_equal(r.code, "deposit_limit_prompt_required");
    assert_int_equal(run(answer_step, p.id), PB_OK);
    deposit(&p, 10000);
    assert_int_equal(bet(&p, 501, &slot, &r), LEDGER_E_REFUSED);
    assert_string_equal(r.code, "stake_cap_exceeded");
    assert_non_null(strstr(r.members, "\"cap_minor\":500"));
    assert_int_equal(bet(&p, 500, &slot, NULL), LEDGER_OK);
    now_ms += 2499;
    assert_int_equal(bet(&p, 100, &slot, &r), LEDGER_E_REFUSED);
    assert_string_equal(r.code, "game_cycle_too_fast");
    assert_int_equal(r.status, 429);
    assert_non_null(strstr(r.members, "\"retry_after_ms\":1"));
    assert_int_equal(bet(&p, 1000, &table, NULL), LEDGER_OK); /* not a slot: no cap, no pace */
    now_ms += 1;
    assert_int_equal(bet(&p, 100, &slot, NULL), LEDGER_OK); /* exactly 2.5 s later */
    now_ms += 5000;
    struct ledger_context auto_spin = slot;
    auto_spin.autoplay = true;
    assert_int_equal(bet(&p, 100, &auto_spin, &r), LEDGER_E_REFUSED);
    assert_string_equal(r.code, "autoplay_not_allowed");
    struct ledger_context turbo = slot;
    turbo.turbo = true;
    assert_int_equal(bet(&p, 100, &turbo, &r), LEDGER_E_REFUSED);
    assert_string_equal(r.code, "turbo_not_allowed");
    /* 2026-01-01: born 2002-01-02 is 23, so the young cap applies; born 2001-01-01 is 25. */
    struct player y = new_player("ukyoung", "uk", "2002-01-02");
    assert_true(set_limit(&y, RG_LIMIT_DEPOSIT, RG_WINDOW_MONTH, 100000)); /* answers prompt */
    deposit(&y, 10000);
    assert_int_equal(bet(&y, 201, &slot, &r), LEDGER_E_REFUSED);
    assert_non_null(strstr(r.members, "\"young_player_cap\":true"));
    assert_int_equal(bet(&y, 200, &slot, NULL), LEDGER_OK);
    /* The permissive set allows autoplay and big stakes. */
    struct player d = new_player("demoplayer", "demo", "2005-01-01");
    deposit(&d, 100000);
    assert_int_equal(bet(&d, 50000, &auto_spin, NULL), LEDGER_OK);
    assert_int_equal(bet(&d, 100, &auto_spin, NULL), LEDGER_OK); /* no pace either */
    stop();
}
PBT_BOTH(uk_rules_apply_to_slots)

static int block_step(struct store *tx, struct writer_cmd *cmd, void *arg)
{
    (void)cmd;
    return pam_player_block_set(tx, arg, PAM_BLOCK_BET, "risk review", now_ms);
}

/* Account blocks and the jurisdiction's KYC gate are enforced in the same place. */
static void blocks_and_kyc_gate_the_debit_path(bool pg)
{
    start(pg);
    struct player k = new_player("kycplayer", "kyc", NULL);
    struct ledger_refusal r;
    assert_int_equal(apply(LEDGER_POSTED, LEDGER_TX_DEPOSIT, psp, k.acc[0], 100, NULL, &r),
                     LEDGER_E_REFUSED);
    assert_string_equal(r.code, "kyc_required");
    struct player b = new_player("blockedplayer", "demo", NULL);
    deposit(&b, 1000);
    assert_int_equal(run(block_step, b.id), PB_OK);
    assert_int_equal(bet(&b, 100, &table, &r), LEDGER_E_REFUSED);
    assert_string_equal(r.code, "player_blocked");
    deposit(&b, 100); /* only betting is blocked */
    stop();
}
PBT_BOTH(blocks_and_kyc_gate_the_debit_path)

struct session_args {
    const char *player, *id;
    int64_t created, last_seen;
};

static int session_step(struct store *tx, struct writer_cmd *cmd, void *arg)
{
    (void)cmd;
    struct session_args *a = arg;
    struct pam_session s = {0};
    pb_strlcpy(s.id, a->id, sizeof(s.id));
    pb_strlcpy(s.player_id, a->player, sizeof(s.player_id));
    s.created_at_ms = a->created;
    s.expires_at_ms = a->created + 12 * RG_HOUR_MS;
    s.last_seen_ms = a->last_seen;
    pb_strlcpy(s.ip, "127.0.0.1", sizeof(s.ip));
    char hash[65];
    snprintf(hash, sizeof(hash), "%-64s", a->id); /* any 64 characters: no token is used */
    return pam_session_insert(tx, &s, hash);
}

/* Session time: ended sessions count until their last activity, a live one until now. */
static void session_time_limit_counts_open_sessions(bool pg)
{
    start(pg);
    struct player p = new_player("sessplayer", "demo", NULL);
    deposit(&p, 10000);
    assert_true(set_limit(&p, RG_LIMIT_SESSION, RG_WINDOW_DAY, 3600));
    struct session_args old = {p.id, "s-old", T0, T0 + 30 * 60000}; /* 30 minutes, ended */
    assert_int_equal(run(session_step, &old), PB_OK);
    now_ms = T0 + 2 * RG_HOUR_MS;
    struct session_args live = {p.id, "s-live", now_ms - 29 * 60000, now_ms - 1000};
    assert_int_equal(run(session_step, &live), PB_OK);
    assert_int_equal(bet(&p, 100, &table, NULL), LEDGER_OK); /* 59 minutes used */
    now_ms += 60000;                                          /* 60 minutes */
    live.id = "s-live2";
    live.last_seen = now_ms - 1000;
    live.created = now_ms - 30 * 60000 - 1; /* overlaps the first live one: counted once */
    assert_int_equal(run(session_step, &live), PB_OK);
    struct ledger_refusal r;
    assert_int_equal(bet(&p, 100, &table, &r), LEDGER_E_REFUSED);
    assert_non_null(strstr(r.members, "\"limit\":\"session_time\""));
    stop();
}
PBT_BOTH(session_time_limit_counts_open_sessions)

struct tick_args {
    int sent;
};

static int tick_step(struct store *tx, struct writer_cmd *cmd, void *arg)
{
    struct tick_args *a = arg;
    return rg_reality_tick(rg, tx, cmd, 100, &a->sent);
}

static int interval_step(struct store *tx, struct writer_cmd *cmd, void *arg)
{
    (void)cmd;
    return rg_reality_interval_set(rg, tx, arg, 5);
}

static int tick(void)
{
    struct tick_args a = {0};
    assert_int_equal(run(tick_step, &a), PB_OK);
    return a.sent;
}

/* Reality checks are due every interval from the session's start; a late tick sends one,
 * not the missed ones; a session past 3 hours is marked once. Chasing losses is marked at
 * the third deposit within an hour while losing. */
static void reality_checks_and_markers(bool pg)
{
    start(pg);
    struct player p = new_player("realityplayer", "demo", NULL);
    deposit(&p, 10000);
    struct session_args ses = {p.id, "s-reality", T0, T0 + 4 * RG_HOUR_MS};
    assert_int_equal(run(session_step, &ses), PB_OK);
    assert_int_equal(tick(), 0); /* the permissive set has no default interval */
    assert_int_equal(run(interval_step, p.id), PB_OK);
    now_ms = T0 + 1000; /* in the session: counts in its net position */
    assert_int_equal(bet(&p, 3000, &table, NULL), LEDGER_OK);
    now_ms = T0 + 5 * 60000 - 1;
    assert_int_equal(tick(), 0);
    now_ms += 1;
    assert_int_equal(tick(), 1);
    assert_int_equal(tick(), 0);
    assert_int_equal(count_events("rg.reality_check"), 1);
    struct pb_buf b = PB_BUF_INIT;
    assert_int_equal(rg_reality_json(rg, rd, p.id, "s-reality", T0, &b), PB_OK);
    assert_non_null(strstr(b.data, "\"elapsed_s\":300"));
    assert_non_null(strstr(b.data, "\"net_minor\":-3000"));
    assert_non_null(strstr(b.data, "\"checks_sent\":1"));
    pb_buf_release(&b);
    now_ms = T0 + 3 * RG_HOUR_MS + 1000; /* many intervals later: one check, one marker */
    assert_int_equal(tick(), 1);
    assert_int_equal(count_events("rg.reality_check"), 2);
    assert_int_equal(count_events("rg.marker"), 1);
    now_ms += 5 * 60000;
    assert_int_equal(tick(), 1);
    assert_int_equal(count_events("rg.marker"), 1);
    /* Chasing losses: the third deposit within an hour while the day's net loss is > 0. */
    deposit(&p, 100);
    deposit(&p, 100);
    assert_int_equal(count_events("rg.marker"), 1);
    deposit(&p, 100);
    assert_int_equal(count_events("rg.marker"), 2);
    stop();
}
PBT_BOTH(reality_checks_and_markers)

/* Rule sets are data: strict decoding names what is wrong. */
static void test_rule_sets_are_decoded_strictly(void **state)
{
    (void)state;
    struct rg_rules *r;
    char err[256];
    static const char *const bad[] = {
        "{}",
        "{\"x\":{\"autoplay\":1}}",
        "{\"x\":{\"unknown\":true}}",
        "{\"x\":{\"slot_stake_caps\":{\"XXX\":{\"cap\":\"1.00\"}}}}",
        "{\"x\":{\"slot_stake_caps\":{\"GBP\":{\"cap\":\"1.001\"}}}}",
        "{\"x\":{\"slot_stake_caps\":{\"GBP\":{\"young_cap\":\"1.00\"}}}}",
        "{\"x\":{\"time_out_hours\":[48,24]}}",
        "{\"x\":{\"reality_check_minutes\":2}}",
        "{\"Bad Name\":{}}",
    };
    for (size_t i = 0; i < PB_ARRAY_LEN(bad); i++) {
        assert_int_equal(rg_rules_load_text(bad[i], strlen(bad[i]), &r, err, sizeof(err)),
                         PB_ERR_INVALID);
        assert_true(strlen(err) > 0);
    }
    const char *good = "{\"x\":{\"slot_stake_caps\":{\"EUR\":{\"cap\":\"2.50\"}},"
                       "\"min_game_cycle_ms\":1000,\"time_out_hours\":[24,48]}}";
    assert_int_equal(rg_rules_load_text(good, strlen(good), &r, err, sizeof(err)), PB_OK);
    const struct rg_rule_set *x = rg_rules_find(r, "x");
    assert_non_null(x);
    assert_int_equal(x->slot_stake_caps[0].cap_minor, 250);
    assert_int_equal(x->min_game_cycle_ms, 1000);
    assert_int_equal(x->time_out_hours_max, 48);
    rg_rules_free(r);
    assert_int_equal(rg_rules_load(NULL, &r, err, sizeof(err)), PB_OK);
    assert_non_null(rg_rules_find(r, "uk"));
    assert_non_null(rg_rules_find(r, "permissive"));
    rg_rules_free(r);
}

/* A withdrawal returned to cash (refund from the player's locked account: cancelled or
 * rejected) gives no wager or loss room back; a stake refunded by the house does. */
static void withdrawal_refunds_give_no_limit_room(bool pg)
{
    start(pg);
    struct player p = new_player("refundplayer", "demo", NULL);
    deposit(&p, 100000);
    assert_true(set_limit(&p, RG_LIMIT_WAGER, RG_WINDOW_DAY, 3000));
    assert_true(set_limit(&p, RG_LIMIT_LOSS, RG_WINDOW_WEEK, 2500));
    assert_int_equal(bet(&p, 2000, &table, NULL), LEDGER_OK);
    /* A withdrawal locked, then returned (as payments does on cancel and reject). */
    assert_int_equal(apply(LEDGER_POSTED, LEDGER_TX_HOLD, p.acc[0], p.acc[2], 50000, NULL, NULL),
                     LEDGER_OK);
    assert_int_equal(apply(LEDGER_POSTED, LEDGER_TX_REFUND, p.acc[2], p.acc[0], 50000, NULL, NULL),
                     LEDGER_OK);
    struct ledger_refusal r;
    assert_int_equal(bet(&p, 501, &table, &r), LEDGER_E_REFUSED);
    assert_non_null(strstr(r.members, "\"limit\":\"loss\""));
    assert_non_null(strstr(r.members, "\"used_minor\":2000"));
    assert_int_equal(bet(&p, 500, &table, NULL), LEDGER_OK);
    assert_int_equal(bet(&p, 1, &table, &r), LEDGER_E_REFUSED);
    /* A stake the house refunds (a void, a provider rollback) is room again. */
    assert_int_equal(apply(LEDGER_POSTED, LEDGER_TX_REFUND, house, p.acc[0], 500, NULL, NULL),
                     LEDGER_OK);
    assert_int_equal(bet(&p, 500, &table, NULL), LEDGER_OK);
    assert_int_equal(bet(&p, 1, &table, &r), LEDGER_E_REFUSED);
    stop();
}
PBT_BOTH(withdrawal_refunds_give_no_limit_room)


/* ---- the guard's cache ---- */

static struct rg_cache_stats cache_stats(void)
{
    struct rg_cache_stats st;
    rg_cache_stats(rg, &st);
    return st;
}

/* The cache is used on SQLite (the writer's connection) and never on PostgreSQL. */
static void assert_cache_used(bool pg)
{
    struct rg_cache_stats st = cache_stats();
    if (pg) {
        assert_int_equal(st.hits + st.misses, 0);
    } else {
        assert_true(st.hits > 0);
    }
}

struct group_args {
    struct ledger_transfer t[2];
    size_t n;
    bool fail_after; /* the command fails after the group was applied */
    struct ledger_outcome out;
};

static int group_step(struct store *tx, struct writer_cmd *cmd, void *arg)
{
    struct group_args *g = arg;
    int rc = ledger_apply(lg, tx, cmd, NULL, g->t, g->n, &g->out);
    return rc ? rc : g->fail_after ? PB_ERR_INVALID : PB_OK;
}

static struct ledger_transfer bet_transfer(const struct player *p, int64_t amount,
                                           const struct ledger_context *ctx)
{
    return (struct ledger_transfer){.kind = LEDGER_POSTED, .debit_account = p->acc[0],
                                    .credit_account = house, .amount = amount,
                                    .code = LEDGER_TX_BET, .reference = "test",
                                    .context = ctx};
}

/* A bet the command undoes after the ledger applied it (the savepoint of the command). */
static void bet_then_fail(const struct player *p, int64_t amount,
                          const struct ledger_context *ctx)
{
    struct group_args g = {.t = {bet_transfer(p, amount, ctx)}, .n = 1, .fail_after = true};
    assert_int_equal(run(group_step, &g), PB_ERR_INVALID);
    assert_int_equal(g.out.error, LEDGER_OK);
}

/* A linked group of p's bet and x's bet, refused because x is excluded. */
static void refused_pair(const struct player *p, int64_t amount,
                         const struct ledger_context *ctx, const struct player *x)
{
    struct group_args g = {.t = {bet_transfer(p, amount, ctx), bet_transfer(x, 100, &table)},
                           .n = 2};
    assert_int_equal(run(group_step, &g), PB_OK);
    assert_int_equal(g.out.error, LEDGER_E_REFUSED);
    assert_string_equal(g.out.refusal.code, "self_excluded");
}

/* Usage and the slot pace are right after a command, a linked group and a batch were rolled
 * back: the cached running totals and rg_players row go back too. */
static void cache_follows_rollbacks(bool pg)
{
    start(pg);
    struct player p = new_player("rollplayer", "demo", NULL);
    struct player x = new_player("rollexcluded", "demo", NULL);
    struct player u = new_player("rollslots", "uk", "1980-01-01");
    deposit(&p, 100000);
    deposit(&x, 1000);
    assert_int_equal(run(answer_step, u.id), PB_OK);
    deposit(&u, 10000);
    struct exclude_args ex = {x.id, RG_TIME_OUT, T0 + 48 * RG_HOUR_MS};
    assert_int_equal(run(exclude_step, &ex), PB_OK);
    assert_true(set_limit(&p, RG_LIMIT_LOSS, RG_WINDOW_DAY, 10000));
    assert_int_equal(bet(&p, 1000, &table, NULL), LEDGER_OK);
    bet_then_fail(&p, 6000, &table);     /* the command is rolled back */
    refused_pair(&p, 2000, &table, &x);  /* the group is rolled back */
    fail_commits = true;                 /* the batch is rolled back */
    assert_int_equal(run(move_step, &(struct move){.t = bet_transfer(&p, 3000, &table)}),
                     PB_ERR_DB);
    fail_commits = false;
    struct ledger_refusal r;
    assert_int_equal(bet(&p, 9001, &table, &r), LEDGER_E_REFUSED);
    assert_non_null(strstr(r.members, "\"used_minor\":1000"));
    assert_int_equal(bet(&p, 9000, &table, NULL), LEDGER_OK);
    assert_int_equal(bet(&p, 1, &table, NULL), LEDGER_E_REFUSED);
    /* The slot pace: a rolled-back cycle does not count. */
    assert_int_equal(bet(&u, 100, &slot, NULL), LEDGER_OK);
    now_ms += 2500;
    bet_then_fail(&u, 100, &slot);
    assert_int_equal(bet(&u, 100, &slot, NULL), LEDGER_OK);
    now_ms += 2500;
    refused_pair(&u, 100, &slot, &x);
    assert_int_equal(bet(&u, 100, &slot, NULL), LEDGER_OK);
    assert_int_equal(bet(&u, 100, &slot, &r), LEDGER_E_REFUSED);
    assert_string_equal(r.code, "game_cycle_too_fast");
    assert_non_null(strstr(r.members, "\"retry_after_ms\":2500"));
    assert_cache_used(pg);
    if (!pg)
        assert_true(cache_stats().dropped > 0);
    stop();
}
PBT_BOTH(cache_follows_rollbacks)

static int kyc_step(struct store *tx, struct writer_cmd *cmd, void *arg)
{
    (void)cmd;
    int rc = kyc_transition(tx, arg, KYC_PENDING, 0, "staff", "documents", now_ms, NULL, NULL);
    return rc ? rc : kyc_transition(tx, arg, KYC_VERIFIED, 1, "staff", "ok", now_ms, NULL, NULL);
}

static int close_step(struct store *tx, struct writer_cmd *cmd, void *arg)
{
    (void)cmd;
    return pam_player_close(tx, arg, "closed by the player", now_ms);
}

static int unblock_step(struct store *tx, struct writer_cmd *cmd, void *arg)
{
    (void)cmd;
    return pam_player_block_clear(tx, arg, PAM_BLOCK_BET);
}

/* What other writers change reaches the next guard call: KYC, blocks, closure, limits,
 * exclusions; exclusions are evaluated at each call's time, also when the clock goes back. */
static void cache_sees_every_change(bool pg)
{
    start(pg);
    struct player k = new_player("kyccache", "kyc", NULL);
    struct ledger_refusal r;
    assert_int_equal(apply(LEDGER_POSTED, LEDGER_TX_DEPOSIT, psp, k.acc[0], 100, NULL, &r),
                     LEDGER_E_REFUSED);
    assert_string_equal(r.code, "kyc_required");
    assert_int_equal(run(kyc_step, k.id), PB_OK);
    deposit(&k, 5000);
    assert_int_equal(bet(&k, 100, &table, NULL), LEDGER_OK);
    assert_int_equal(run(block_step, k.id), PB_OK);
    assert_int_equal(bet(&k, 100, &table, &r), LEDGER_E_REFUSED);
    assert_string_equal(r.code, "player_blocked");
    assert_int_equal(run(unblock_step, k.id), PB_OK);
    assert_int_equal(bet(&k, 100, &table, NULL), LEDGER_OK);
    assert_int_equal(run(close_step, k.id), PB_OK);
    assert_int_equal(bet(&k, 100, &table, &r), LEDGER_E_REFUSED);
    assert_string_equal(r.code, "player_blocked");
    /* A limit set after the bets counts them. */
    struct player p = new_player("latelimit", "demo", NULL);
    deposit(&p, 100000);
    assert_int_equal(bet(&p, 5000, &table, NULL), LEDGER_OK);
    assert_true(set_limit(&p, RG_LIMIT_LOSS, RG_WINDOW_DAY, 6000));
    assert_int_equal(bet(&p, 1001, &table, &r), LEDGER_E_REFUSED);
    assert_int_equal(bet(&p, 1000, &table, NULL), LEDGER_OK);
    /* A time-out; then the clock goes past its end, back into it, and past it again. */
    struct player q = new_player("clockplayer", "demo", NULL);
    deposit(&q, 10000);
    assert_int_equal(bet(&q, 100, &table, NULL), LEDGER_OK);
    struct exclude_args ex = {q.id, RG_TIME_OUT, T0 + 48 * RG_HOUR_MS};
    assert_int_equal(run(exclude_step, &ex), PB_OK);
    now_ms = T0 + 49 * RG_HOUR_MS; /* first read after its end */
    assert_int_equal(bet(&q, 100, &table, NULL), LEDGER_OK);
    now_ms = T0 + 47 * RG_HOUR_MS;
    assert_int_equal(bet(&q, 100, &table, &r), LEDGER_E_REFUSED);
    assert_string_equal(r.code, "self_excluded");
    now_ms = T0 + 49 * RG_HOUR_MS;
    assert_int_equal(bet(&q, 100, &table, NULL), LEDGER_OK);
    assert_cache_used(pg);
    stop();
}
PBT_BOTH(cache_sees_every_change)

/* With room for two players, three take turns: entries are evicted and loaded again; the
 * limits hold. A new writer (a restart) and another connection's commit empty the cache. */
static void cache_evicts_and_restarts(bool pg)
{
    start(pg);
    rg_cache_configure(rg, true, true, 2);
    struct player ps[3] = {new_player("evict0", "demo", NULL),
                           new_player("evict1", "demo", NULL),
                           new_player("evict2", "uk", "1980-01-01")};
    assert_int_equal(run(answer_step, ps[2].id), PB_OK);
    for (int i = 0; i < 3; i++) {
        deposit(&ps[i], 10000);
        assert_true(set_limit(&ps[i], RG_LIMIT_WAGER, RG_WINDOW_DAY, 1000));
    }
    for (int round = 0; round < 10; round++)
        for (int i = 0; i < 3; i++)
            assert_int_equal(bet(&ps[i], 100, &table, NULL), LEDGER_OK);
    for (int i = 0; i < 3; i++)
        assert_int_equal(bet(&ps[i], 1, &table, NULL), LEDGER_E_REFUSED);
    struct rg_cache_stats st = cache_stats();
    if (!pg)
        assert_true(st.evictions > 0);
    /* A restart of the writer. */
    writer_stop(w);
    struct writer_config wc = writer_config();
    assert_int_equal(writer_start(&wc, pbt_open(url), ob, &w), PB_OK);
    assert_int_equal(bet(&ps[0], 1, &table, NULL), LEDGER_E_REFUSED);
    if (!pg)
        assert_true(cache_stats().flushes > st.flushes);
    win(&ps[0], 100); /* wins give no wager room */
    assert_int_equal(bet(&ps[0], 1, &table, NULL), LEDGER_E_REFUSED);
    /* Another connection lifts player 1's limit behind the writer's back (a tool would):
     * the next batch sees it. */
    uint64_t flushes = cache_stats().flushes;
    assert_int_equal(store_exec(rd, "DELETE FROM rg_limits WHERE player_id = 'evict1'"), 0);
    assert_int_equal(bet(&ps[1], 500, &table, NULL), LEDGER_OK);
    if (!pg)
        assert_true(cache_stats().flushes > flushes);
    stop();
}
PBT_BOTH(cache_evicts_and_restarts)

/* A window's start moves over many rows (more than the cache keeps around it) while new
 * bets come in: the usage is exact at every minute, and one millisecond before. */
static void cache_window_starts_move_exactly(bool pg)
{
    start(pg);
    struct player p = new_player("windowplayer", "demo", NULL);
    deposit(&p, 1000000);
    assert_true(set_limit(&p, RG_LIMIT_WAGER, RG_WINDOW_DAY, 4000));
    for (int i = 0; i < 40; i++) {
        now_ms = T0 + i * 60000LL;
        assert_int_equal(bet(&p, 100, &table, NULL), LEDGER_OK);
    }
    int64_t added = 0;
    for (int i = 0; i < 40; i++) {
        for (int64_t edge = -1; edge <= 0; edge++) {
            now_ms = T0 + RG_DAY_MS + i * 60000LL + edge;
            /* Bets made at T0 + j minutes have left for j < i, and for j == i at the edge. */
            int64_t used = 4000 - (i + (edge == 0)) * 100 + added;
            struct ledger_refusal r;
            char want[64];
            assert_int_equal(bet(&p, 4001 - used, &table, &r), LEDGER_E_REFUSED);
            snprintf(want, sizeof(want), "\"used_minor\":%lld", (long long)used);
            assert_non_null(strstr(r.members, want));
        }
        assert_int_equal(bet(&p, 10, &table, NULL), LEDGER_OK);
        added += 10;
    }
    /* The clock goes back 35 minutes: the window starts earlier again (the usage counts
     * every row up to the latest, as without a cache). */
    now_ms = T0 + RG_DAY_MS + 5 * 60000LL;
    struct ledger_refusal r;
    assert_int_equal(bet(&p, 201, &table, &r), LEDGER_E_REFUSED);
    assert_non_null(strstr(r.members, "\"used_minor\":3800"));
    stop();
}
PBT_BOTH(cache_window_starts_move_exactly)

/* Schema rg/2 moves the activity rows into one B-tree: rows written under rg/1 stay, with
 * their order and the window lookups they serve. */
static void activity_rows_survive_migration_2(bool pg)
{
    pbt_fresh_database(pg, "pb_rgmig", url, sizeof(url));
    pbt_migrate(url, rg_migrations, 1);
    struct store *s = pbt_open(url);
    assert_int_equal(store_exec(s, "INSERT INTO rg_activity (player_id, currency, seq, at_ms,"
                                   " stakes, wins, deposits) VALUES"
                                   " ('m1', 'GBP', 1, 1000, 100, 0, 0),"
                                   " ('m1', 'GBP', 2, 1000, 300, 50, 0),"
                                   " ('m1', 'GBP', 3, 5000, 350, 50, 1000),"
                                   " ('m1', 'EUR', 1, 2000, 7, 0, 0)"),
                     0);
    store_close(s);
    pbt_migrate(url, rg_migrations, rg_migrations_count);
    s = pbt_open(url);
    struct store_stmt *st;
    assert_int_equal(store_prepare(s, "SELECT seq, stakes FROM rg_activity WHERE player_id = ?"
                                      " AND currency = ? AND at_ms <= ?"
                                      " ORDER BY at_ms DESC, seq DESC LIMIT 1", &st), 0);
    store_bind_text(st, 1, "m1", 2);
    store_bind_text(st, 2, "GBP", 3);
    store_bind_int64(st, 3, 4999);
    assert_int_equal(store_step(st), STORE_ROW);
    assert_int_equal(store_column_int64(st, 0), 2);
    assert_int_equal(store_column_int64(st, 1), 300);
    store_finalize(st);
    assert_int_equal(store_prepare(s, "SELECT COUNT(*) FROM rg_activity", &st), 0);
    assert_int_equal(store_step(st), STORE_ROW);
    assert_int_equal(store_column_int64(st, 0), 4);
    store_finalize(st);
    store_close(s);
}
PBT_BOTH(activity_rows_survive_migration_2)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rule_sets_are_decoded_strictly),
        PBT_PAIR(loss_limit_rolls_exactly_at_24_hours),
        PBT_PAIR(wager_limits_the_lowest_window_applies),
        PBT_PAIR(increases_wait_for_the_cooling_period),
        PBT_PAIR(pending_deposits_count_and_voids_release),
        PBT_PAIR(exclusion_blocks_money_in_not_money_out),
        PBT_PAIR(uk_rules_apply_to_slots),
        PBT_PAIR(blocks_and_kyc_gate_the_debit_path),
        PBT_PAIR(session_time_limit_counts_open_sessions),
        PBT_PAIR(reality_checks_and_markers),
        PBT_PAIR(withdrawal_refunds_give_no_limit_room),
        PBT_PAIR(cache_follows_rollbacks),
        PBT_PAIR(cache_sees_every_change),
        PBT_PAIR(cache_evicts_and_restarts),
        PBT_PAIR(cache_window_starts_move_exactly),
        PBT_PAIR(activity_rows_survive_migration_2),
    };
    return cmocka_run_group_tests_name("unit.rg", tests, NULL, NULL);
}
