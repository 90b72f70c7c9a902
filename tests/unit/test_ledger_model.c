/* test_ledger_model.c: a randomized model test of the ledger (after TigerBeetle's VOPR), on
 * SQLite and (PITBOSS_TEST_PG) PostgreSQL. STYLE.md section 22.
 *
 * For each seed of a fixed list, a fresh ledger gets a few players' accounts and house
 * accounts, then random steps. A step is one writer batch of several commands, each one of:
 * a linked group of posted / pending / post (full, partial, too much) / void transfers, often
 * with one member that must fail (insufficient funds, unknown account, currency mismatch,
 * double resolution, unknown or non-pending pending_id, invalid field); an expiry pass
 * (ledger_expire) at a chosen clock; requests carrying an idempotency key the way an API
 * would (ledger_idem_check, ledger_apply, ledger_idem_record), including retries of earlier
 * keys with the same and with different content; and commands that fail on purpose after
 * applying, which their savepoint must undo.
 *
 * A small reference model predicts every outcome (applied with which ids and amounts, or
 * which ledger_error at which index; replay with the recorded body; conflict with the field)
 * and every account's four totals. After every step each account is read with
 * ledger_account_get and compared; at the end of a seed ledger_verify must pass and the
 * outbox must hold one event per applied group. A mismatch names the seed, step and command:
 * rerun one seed with PITBOSS_MODEL_SEED=N. PITBOSS_MODEL_SECONDS sets the time budget.
 *
 * Timing is kept out of the outcomes: short pending transfers (1 ms) are only posted after
 * the clock has passed their timeout (always expired), long ones (1 h) never expire on the
 * wall clock; ledger_expire is given an explicit now. */
#include <semaphore.h>
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
#include "store/store.h"

#define M_ACCOUNTS_MAX 24
#define M_STEP_CMDS_MAX 6        /* commands per batch */
#define M_GROUP_MAX 5            /* members per generated group (a double resolution adds 1) */
#define M_OPEN_PENDINGS_MAX 100  /* keeps ledger_expire's candidates under its max */
#define M_EXPIRE_MAX 256
#define M_POOL_MAX 2048          /* idempotency keys kept for retries */
#define M_STEPS_PER_SEED 1000
#define M_SHORT_TIMEOUT_MS 1
#define M_LONG_TIMEOUT_MS 3600000
#define M_REQUEST_MAX 2048

static const uint64_t seeds[] = {1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 377, 610, 987,
                                 1597, 2584, 4181, 6765, 10946, 17711, 28657, 46368, 75025,
                                 121393, 196418, 317811, 514229, 832040, 1346269, 2178309,
                                 3524578};

static char db_url[600];
static struct ledger *lg;
static struct writer *w;
static struct outbox *ob;
static struct store *reader;
static char where[160]; /* "seed S step N command C", for every failure message */

#define CHECK(cond, ...)                                                                       \
    do {                                                                                       \
        if (!(cond)) {                                                                         \
            char detail_[512];                                                                 \
            snprintf(detail_, sizeof(detail_), __VA_ARGS__);                                   \
            fail_msg("model mismatch at %s: %s", where, detail_);                              \
        }                                                                                      \
    } while (0)

/* ---- random numbers (splitmix64: tiny, and the same everywhere) ---- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
    uint64_t z = (rng_state += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static int64_t rnd_range(int64_t lo, int64_t hi) /* inclusive */
{
    return lo + (int64_t)(rnd() % (uint64_t)(hi - lo + 1));
}

static bool chance(int percent)
{
    return (int)(rnd() % 100) < percent;
}

static int64_t wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* ---- the reference model ---- */

enum { DP, CP, DPEND, CPEND }; /* debits_posted, credits_posted, debits/credits_pending */

struct m_account {
    int64_t id;
    const char *currency;
    bool player;
    int64_t totals[4];
};

struct m_transfer {
    int kind;
    int64_t debit, credit, amount, expires_ns;
    int code;
    bool short_timeout, resolved;
};

/* What ledger_idem_record stored for a key. */
struct m_record {
    char key[24];
    char request[M_REQUEST_MAX];
    int status;
    char body[96];
};

struct model {
    struct m_account acc[M_ACCOUNTS_MAX];
    size_t nacc;
    struct m_transfer *tr; /* by id - 1 */
    size_t ntr, trcap;
    int64_t *resolved_log; /* pending ids in the order they were resolved (for undo) */
    size_t nres, rescap;
    struct m_record *rec;
    size_t nrec, reccap;
    int64_t events, last_ts;
};

/* A point to return to: a refused group, a command that failed on purpose. */
struct m_mark {
    struct m_account acc[M_ACCOUNTS_MAX];
    size_t ntr, nres, nrec;
    int64_t events;
};

static void m_mark_take(const struct model *m, struct m_mark *k)
{
    memcpy(k->acc, m->acc, sizeof(k->acc));
    k->ntr = m->ntr;
    k->nres = m->nres;
    k->nrec = m->nrec;
    k->events = m->events;
}

static void m_mark_restore(struct model *m, const struct m_mark *k)
{
    memcpy(m->acc, k->acc, sizeof(m->acc));
    while (m->nres > k->nres)
        m->tr[m->resolved_log[--m->nres] - 1].resolved = false;
    m->ntr = k->ntr;
    m->nrec = k->nrec;
    m->events = k->events;
}

static void m_free(struct model *m)
{
    pb_free(m->tr);
    pb_free(m->resolved_log);
    pb_free(m->rec);
    memset(m, 0, sizeof(*m));
}

static struct m_account *m_account(struct model *m, int64_t id)
{
    return id >= 1 && (size_t)id <= m->nacc ? &m->acc[id - 1] : NULL;
}

static struct m_transfer *m_transfer(struct model *m, int64_t id)
{
    return id >= 1 && (size_t)id <= m->ntr ? &m->tr[id - 1] : NULL;
}

static int64_t m_available(const struct m_account *a)
{
    return a->totals[CP] - a->totals[DP] - a->totals[DPEND];
}

/* The ledger's static rules (check_static): fields alone. */
static enum ledger_error m_static(const struct ledger_transfer *t)
{
    if (!ledger_transfer_code_name(t->code))
        return LEDGER_E_INVALID;
    if (t->kind == LEDGER_POSTED || t->kind == LEDGER_PENDING) {
        if (t->amount <= 0 || t->debit_account == t->credit_account || t->pending_id != 0 ||
            (t->kind == LEDGER_PENDING) != (t->timeout_ms > 0))
            return LEDGER_E_INVALID;
        return LEDGER_OK;
    }
    if (t->pending_id <= 0 || t->amount < 0 || t->timeout_ms != 0 ||
        (t->kind == LEDGER_VOID && t->amount != 0))
        return LEDGER_E_INVALID;
    return LEDGER_OK;
}

/* POST / VOID: the pending transfer's terms, or why it cannot be resolved. */
static enum ledger_error m_resolution(struct model *m, const struct ledger_transfer *t,
                                      struct m_transfer *row, int64_t *pending_amount)
{
    struct m_transfer *p = m_transfer(m, t->pending_id);
    if (!p || p->kind != LEDGER_PENDING)
        return LEDGER_E_PENDING_NOT_FOUND;
    if (p->resolved)
        return LEDGER_E_PENDING_RESOLVED;
    if (t->kind == LEDGER_POST && p->short_timeout) /* posted only after its timeout */
        return LEDGER_E_PENDING_EXPIRED;
    if (t->amount > p->amount)
        return LEDGER_E_POST_EXCEEDS_PENDING;
    row->debit = p->debit;
    row->credit = p->credit;
    row->code = p->code;
    row->amount = t->kind == LEDGER_VOID ? p->amount : t->amount ? t->amount : p->amount;
    *pending_amount = p->amount;
    return LEDGER_OK;
}

static void m_deltas(int kind, int64_t amount, int64_t pending_amount, int64_t dr[4],
                     int64_t cr[4])
{
    memset(dr, 0, 4 * sizeof(int64_t));
    memset(cr, 0, 4 * sizeof(int64_t));
    if (kind == LEDGER_POSTED || kind == LEDGER_POST) {
        dr[DP] = amount;
        cr[CP] = amount;
    }
    if (kind == LEDGER_PENDING) {
        dr[DPEND] = amount;
        cr[CPEND] = amount;
    }
    if (kind == LEDGER_POST || kind == LEDGER_VOID) {
        dr[DPEND] -= pending_amount;
        cr[CPEND] -= pending_amount;
    }
}

/* No-overdraft: available must cover what the change takes (player accounts only). */
static bool m_allows(const struct m_account *a, const int64_t d[4])
{
    return !a->player || m_available(a) >= d[DP] + d[DPEND] - d[CP];
}

static void m_push_transfer(struct model *m, const struct m_transfer *row)
{
    if (m->ntr == m->trcap) {
        m->trcap = m->trcap ? 2 * m->trcap : 1024;
        m->tr = pb_realloc(m->tr, m->trcap * sizeof(*m->tr));
    }
    m->tr[m->ntr++] = *row;
}

static void m_resolve(struct model *m, int64_t pending_id)
{
    if (m->nres == m->rescap) {
        m->rescap = m->rescap ? 2 * m->rescap : 1024;
        m->resolved_log = pb_realloc(m->resolved_log, m->rescap * sizeof(int64_t));
    }
    m->resolved_log[m->nres++] = pending_id;
    m->tr[pending_id - 1].resolved = true;
}

/* One member of a group, in the ledger's order of checks; applied to the model when OK.
 * ts is the timestamp the ledger gave it (for a pending transfer's expiry). */
static enum ledger_error m_member(struct model *m, const struct ledger_transfer *t, int64_t ts)
{
    enum ledger_error e = m_static(t);
    if (e != LEDGER_OK)
        return e;
    struct m_transfer row = {.kind = t->kind, .code = t->code, .debit = t->debit_account,
                             .credit = t->credit_account, .amount = t->amount};
    int64_t pending_amount = 0;
    if (t->kind == LEDGER_POST || t->kind == LEDGER_VOID) {
        e = m_resolution(m, t, &row, &pending_amount);
        if (e != LEDGER_OK)
            return e;
    } else if (t->kind == LEDGER_PENDING) {
        row.expires_ns = ts + t->timeout_ms * 1000000;
        row.short_timeout = t->timeout_ms == M_SHORT_TIMEOUT_MS;
    }
    struct m_account *d = m_account(m, row.debit), *c = m_account(m, row.credit);
    if (!d || !c)
        return LEDGER_E_ACCOUNT_NOT_FOUND;
    if (strcmp(d->currency, c->currency) != 0)
        return LEDGER_E_CURRENCY_MISMATCH;
    int64_t dr[4], cr[4];
    m_deltas(t->kind, row.amount, pending_amount, dr, cr);
    if (!m_allows(d, dr) || !m_allows(c, cr))
        return LEDGER_E_INSUFFICIENT_FUNDS;
    for (int i = 0; i < 4; i++) {
        d->totals[i] += dr[i];
        c->totals[i] += cr[i];
    }
    if (t->kind == LEDGER_POST || t->kind == LEDGER_VOID)
        m_resolve(m, t->pending_id);
    m_push_transfer(m, &row);
    return LEDGER_OK;
}

/* A linked group: all members or none. actual (the ledger's outcome) gives timestamps. */
static enum ledger_error m_apply(struct model *m, const struct ledger_transfer *t, size_t n,
                                 const struct ledger_outcome *actual, int *failed_index)
{
    struct m_mark mark;
    m_mark_take(m, &mark);
    for (size_t i = 0; i < n; i++) {
        int64_t ts = actual->error == LEDGER_OK && i < actual->n
                         ? actual->applied[i].timestamp_ns : 0;
        enum ledger_error e = m_member(m, &t[i], ts);
        if (e != LEDGER_OK) {
            m_mark_restore(m, &mark);
            *failed_index = (int)i;
            return e;
        }
    }
    *failed_index = -1;
    m->events++;
    return LEDGER_OK;
}

static int compare_expiry(const void *a, const void *b, void *arg)
{
    const struct model *m = arg;
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    int64_t ex = m->tr[x - 1].expires_ns, ey = m->tr[y - 1].expires_ns;
    return ex < ey ? -1 : ex > ey ? 1 : (x > y) - (x < y);
}

/* ledger_expire(now): every open pending transfer whose timeout passed is voided. */
static int m_expire(struct model *m, int64_t now)
{
    int64_t ids[M_EXPIRE_MAX];
    size_t n = 0;
    for (size_t i = 0; i < m->ntr; i++) {
        const struct m_transfer *p = &m->tr[i];
        if (p->kind == LEDGER_PENDING && !p->resolved && p->expires_ns < now) {
            PB_ASSERT(n < M_EXPIRE_MAX);
            ids[n++] = (int64_t)i + 1;
        }
    }
    qsort_r(ids, n, sizeof(ids[0]), compare_expiry, m);
    for (size_t i = 0; i < n; i++) {
        struct ledger_transfer v = {.kind = LEDGER_VOID, .pending_id = ids[i],
                                    .code = LEDGER_TX_HOLD, .reference = "expiry"};
        PB_ASSERT(m_member(m, &v, 0) == LEDGER_OK);
        m->events++;
    }
    return (int)n;
}

static const struct m_record *m_record_find(const struct model *m, const char *key)
{
    for (size_t i = 0; i < m->nrec; i++)
        if (strcmp(m->rec[i].key, key) == 0)
            return &m->rec[i];
    return NULL;
}

static void m_record_add(struct model *m, const char *key, const char *request, int status,
                         const char *body)
{
    if (m->nrec == m->reccap) {
        m->reccap = m->reccap ? 2 * m->reccap : 256;
        m->rec = pb_realloc(m->rec, m->reccap * sizeof(*m->rec));
    }
    struct m_record *r = &m->rec[m->nrec++];
    snprintf(r->key, sizeof(r->key), "%s", key);
    snprintf(r->request, sizeof(r->request), "%s", request);
    r->status = status;
    snprintf(r->body, sizeof(r->body), "%s", body);
}

/* ---- commands (run by the writer) ---- */

enum m_op { M_GATE, M_APPLY, M_EXPIRE };

struct m_cmd {
    struct writer_cmd cmd;
    sem_t *done, *gate;
    enum m_op op;
    struct ledger_transfer t[LEDGER_LINKED_MAX];
    size_t n;
    char key[24];             /* "": no idempotency key */
    char request[M_REQUEST_MAX];
    const char *conflict_field; /* the field a conflict must name (content changed on retry) */
    int64_t now_ns;           /* M_EXPIRE */
    int fail_after;           /* returned after applying: the savepoint must undo it */
    /* results */
    struct ledger_outcome out;
    enum ledger_idem_state state;
    struct ledger_idem_hit hit;
    int voided;
};

/* The response an API would give and record: 201 with ids, or 422 with the rule. */
static int response_of(const struct ledger_outcome *o, char *body, size_t len)
{
    if (o->error == LEDGER_OK) {
        snprintf(body, len, "{\"first_id\":%lld,\"n\":%zu}", (long long)o->applied[0].id, o->n);
        return 201;
    }
    snprintf(body, len, "{\"code\":\"%s\",\"index\":%d}", ledger_error_name(o->error),
             o->failed_index);
    return 422;
}

static int run_idempotent(struct store *tx, struct m_cmd *c)
{
    int rc = ledger_idem_check(tx, "model", c->key, c->request, &c->state, &c->hit);
    if (rc != PB_OK || c->state != LEDGER_IDEM_NEW)
        return rc;
    char idem[48], body[96];
    snprintf(idem, sizeof(idem), "model:%s", c->key);
    rc = ledger_apply(lg, tx, &c->cmd, idem, c->t, c->n, &c->out);
    if (rc != PB_OK)
        return rc;
    int status = response_of(&c->out, body, sizeof(body));
    return ledger_idem_record(tx, "model", c->key, c->request, status, body);
}

static int m_run(struct store *tx, struct writer_cmd *cmd)
{
    struct m_cmd *c = (struct m_cmd *)cmd;
    int rc = PB_OK;
    if (c->op == M_GATE)
        sem_wait(c->gate);
    else if (c->op == M_EXPIRE)
        rc = ledger_expire(lg, tx, cmd, c->now_ns, M_EXPIRE_MAX, &c->voided);
    else if (c->key[0])
        rc = run_idempotent(tx, c);
    else
        rc = ledger_apply(lg, tx, cmd, NULL, c->t, c->n, &c->out);
    return rc != PB_OK ? rc : c->fail_after;
}

static void m_done(struct writer_cmd *cmd)
{
    sem_post(((struct m_cmd *)cmd)->done);
}

/* Canonical request text of a group, as an API would describe it to ledger_idem_check. */
static void request_of(struct m_cmd *c)
{
    struct pb_buf b = PB_BUF_INIT;
    for (size_t i = 0; i < c->n; i++) {
        const struct ledger_transfer *t = &c->t[i];
        pb_buf_printf(&b, "%s{\"amount\":%lld,\"code\":%d,\"credit_account\":%lld,"
                          "\"debit_account\":%lld,\"kind\":%d,\"pending_id\":%lld,"
                          "\"timeout_ms\":%lld}", i ? "," : "", (long long)t->amount, t->code,
                      (long long)t->credit_account, (long long)t->debit_account, t->kind,
                      (long long)t->pending_id, (long long)t->timeout_ms);
    }
    if (c->n == 1) /* a single transfer is the request itself */
        snprintf(c->request, sizeof(c->request), "%s", pb_buf_str(&b));
    else
        snprintf(c->request, sizeof(c->request), "{\"count\":%zu,\"transfers\":[%s]}", c->n,
                 pb_buf_str(&b));
    pb_buf_release(&b);
}

/* ---- generating steps from the model's state ---- */

/* Idempotent requests seen so far, for retries (same key, same or changed content). */
struct m_pooled {
    char key[24];
    struct ledger_transfer t[LEDGER_LINKED_MAX];
    size_t n;
};

struct gen {
    struct model *m;
    struct m_pooled *pool;
    size_t npool;
    int keys;                             /* keys made so far */
    int64_t open[M_OPEN_PENDINGS_MAX * 2]; /* open pending transfers at the step's start */
    size_t nopen;
    int64_t wait_until_ns; /* short pending transfers posted in this step time out before */
};

static const char *pick_currency(void)
{
    return chance(85) ? "EUR" : "BTC";
}

static int64_t pick_account(const struct model *m, const char *currency, bool player)
{
    int64_t ids[M_ACCOUNTS_MAX];
    size_t n = 0;
    for (size_t i = 0; i < m->nacc; i++)
        if (m->acc[i].player == player && strcmp(m->acc[i].currency, currency) == 0)
            ids[n++] = m->acc[i].id;
    PB_ASSERT(n > 0);
    return ids[rnd() % n];
}

/* The account of the same player with the next code (cash -> bonus -> locked -> cash). */
static int64_t sibling(int64_t player_account)
{
    int64_t first = player_account - (player_account - 1) % 3;
    return first + player_account % 3;
}

static int64_t some_available(const struct model *m, int64_t id)
{
    const struct m_account *a = &m->acc[id - 1];
    return a->player ? m_available(a) : 5000;
}

static void collect_open(struct gen *g)
{
    g->nopen = 0;
    for (size_t i = 0; i < g->m->ntr && g->nopen < PB_ARRAY_LEN(g->open); i++)
        if (g->m->tr[i].kind == LEDGER_PENDING && !g->m->tr[i].resolved)
            g->open[g->nopen++] = (int64_t)i + 1;
}

/* An open pending transfer (or, 1 in 10, any recent one: likely resolved), or 0. */
static int64_t pick_pending(struct gen *g)
{
    if (g->nopen > 0 && !chance(10))
        return g->open[rnd() % g->nopen];
    const struct model *m = g->m;
    for (int tries = 0; tries < 20 && m->ntr > 0; tries++) {
        size_t window = m->ntr < 300 ? m->ntr : 300;
        int64_t id = (int64_t)(m->ntr - (size_t)(rnd() % window));
        if (m->tr[id - 1].kind == LEDGER_PENDING)
            return id;
    }
    return 0;
}

/* A post of pending_id will run in this step: if the pending transfer has a short timeout,
 * the step waits until the clock passed it, so that the post is refused as expired. */
static void note_post(struct gen *g, int64_t pending_id)
{
    const struct m_transfer *p = m_transfer(g->m, pending_id);
    if (p && p->kind == LEDGER_PENDING && p->short_timeout && p->expires_ns >= g->wait_until_ns)
        g->wait_until_ns = p->expires_ns + 1;
}

static struct ledger_transfer transfer(enum ledger_kind kind, int64_t from, int64_t to,
                                       int64_t amount, int code)
{
    return (struct ledger_transfer){.kind = kind, .debit_account = from, .credit_account = to,
                                    .amount = amount, .code = code, .reference = "model"};
}

/* POST (full, partial or too much) or VOID of a pending transfer; false if there is none. */
static bool gen_resolution(struct gen *g, struct ledger_transfer *t, bool post)
{
    int64_t id = pick_pending(g);
    if (id == 0)
        return false;
    const struct m_transfer *p = &g->m->tr[id - 1];
    *t = transfer(post ? LEDGER_POST : LEDGER_VOID, 0, 0, 0, LEDGER_TX_HOLD);
    t->pending_id = id;
    if (post) {
        int r = (int)(rnd() % 100);
        t->amount = r < 40 ? 0 : r < 85 ? rnd_range(1, p->amount) : p->amount + rnd_range(1, 9);
        note_post(g, id);
    }
    return true;
}

static void gen_hold(struct gen *g, struct ledger_transfer *t, const char *currency)
{
    int64_t p = pick_account(g->m, currency, true), h = pick_account(g->m, currency, false);
    bool to_player = chance(20);
    int64_t from = to_player ? h : p, to = to_player ? p : h;
    *t = transfer(LEDGER_PENDING, from, to, rnd_range(1, some_available(g->m, from) + 10),
                  LEDGER_TX_HOLD);
    t->timeout_ms = chance(30) ? M_SHORT_TIMEOUT_MS : M_LONG_TIMEOUT_MS;
}

static void gen_member(struct gen *g, struct ledger_transfer *t)
{
    const char *cur = pick_currency();
    int64_t p = pick_account(g->m, cur, true), h = pick_account(g->m, cur, false);
    int r = (int)(rnd() % 100);
    if (r >= 58 && r < 73 && g->nopen < M_OPEN_PENDINGS_MAX)
        gen_hold(g, t, cur);
    else if (r >= 73 && gen_resolution(g, t, r < 90))
        return;
    else if (r < 15 || r >= 58)
        *t = transfer(LEDGER_POSTED, h, p - (p - 1) % 3 + (int64_t)(rnd() % 2),
                      rnd_range(1, 5000), LEDGER_TX_DEPOSIT);
    else if (r < 40)
        *t = transfer(LEDGER_POSTED, p, h, rnd_range(1, some_available(g->m, p) * 5 / 4 + 10),
                      LEDGER_TX_BET);
    else if (r < 50)
        *t = transfer(LEDGER_POSTED, h, p, rnd_range(1, 3000), LEDGER_TX_WIN);
    else
        *t = transfer(LEDGER_POSTED, p, sibling(p), rnd_range(1, some_available(g->m, p) + 5),
                      LEDGER_TX_TRANSFER);
}

/* A member that must fail (or two, for a double resolution); returns how many were written. */
static size_t gen_failure(struct gen *g, struct ledger_transfer *t)
{
    int64_t p = pick_account(g->m, "EUR", true), h = pick_account(g->m, "EUR", false);
    int64_t btc_house = pick_account(g->m, "BTC", false);
    int64_t open = g->nopen ? g->open[rnd() % g->nopen] : 0;
    switch (rnd() % 8) {
    case 0:
        t[0] = chance(50) ? transfer(LEDGER_POSTED, p, 999999, 1, LEDGER_TX_BET)
                          : transfer(LEDGER_POSTED, 999999, p, 1, LEDGER_TX_WIN);
        return 1;
    case 1:
        t[0] = transfer(LEDGER_POSTED, p, btc_house, 1, LEDGER_TX_BET);
        return 1;
    case 2:
        t[0] = transfer(LEDGER_POSTED, p, h, 1000000000000, LEDGER_TX_BET);
        return 1;
    case 3:
        if (open && !g->m->tr[open - 1].short_timeout) {
            t[0] = transfer(LEDGER_POST, 0, 0, 0, LEDGER_TX_HOLD);
            t[0].pending_id = open;
            t[1] = transfer(LEDGER_VOID, 0, 0, 0, LEDGER_TX_HOLD);
            t[1].pending_id = open;
            return 2;
        }
        break;
    case 5:
        if (g->m->ntr > 0 && g->m->tr[0].kind != LEDGER_PENDING) {
            t[0] = transfer(LEDGER_VOID, 0, 0, 0, LEDGER_TX_HOLD);
            t[0].pending_id = 1; /* the first transfer is a posted deposit */
            return 1;
        }
        break;
    case 6:
        t[0] = transfer(LEDGER_POSTED, h, p, chance(50) ? 0 : 5, chance(50) ? 999 : LEDGER_TX_WIN);
        if (t[0].amount != 0 && t[0].code != 999)
            t[0].kind = LEDGER_PENDING; /* a pending transfer without a timeout */
        return 1;
    case 7:
        if (open) {
            t[0] = transfer(LEDGER_POST, 0, 0, g->m->tr[open - 1].amount + 1, LEDGER_TX_HOLD);
            t[0].pending_id = open;
            note_post(g, open);
            return 1;
        }
        break;
    }
    t[0] = transfer(LEDGER_POST, 0, 0, 0, LEDGER_TX_HOLD);
    t[0].pending_id = 1000000000; /* no such transfer */
    return 1;
}

static void gen_group(struct gen *g, struct m_cmd *c)
{
    size_t n = chance(60) ? 1 : (size_t)rnd_range(2, M_GROUP_MAX - 1);
    size_t fail_at = chance(35) ? (size_t)(rnd() % n) : n;
    c->n = 0;
    for (size_t i = 0; i < n; i++) {
        if (i == fail_at)
            c->n += gen_failure(g, &c->t[c->n]);
        else
            gen_member(g, &c->t[c->n++]);
    }
    PB_ASSERT(c->n >= 1 && c->n <= LEDGER_LINKED_MAX);
}

/* ledger_expire at a chosen clock, derived from the ledger's last timestamp before the step
 * (never from the wall clock, so that a seed replays the same way): just past every short
 * timeout of earlier steps (short ones of this step are younger), an hour earlier (nothing),
 * two hours later (every pending transfer), or exactly at / just past an open long transfer's
 * timeout (the boundary: expires_ns < now voids). */
static int64_t gen_expiry_clock(struct gen *g)
{
    int r = (int)(rnd() % 100);
    int64_t last = g->m->last_ts;
    if (r < 25 && g->nopen > 0) {
        const struct m_transfer *p = &g->m->tr[g->open[rnd() % g->nopen] - 1];
        if (!p->short_timeout)
            return p->expires_ns + (chance(50) ? 0 : 1);
    }
    if (r < 35)
        return last + (int64_t)2 * 3600 * 1000000000;
    if (r < 50)
        return last - (int64_t)3600 * 1000000000;
    return last + (int64_t)M_SHORT_TIMEOUT_MS * 1000000 + 1;
}

static void gen_cmd(struct gen *g, struct m_cmd *c)
{
    memset(c, 0, sizeof(*c));
    c->op = M_APPLY;
    c->fail_after = chance(8) ? PB_ERR_INVALID : 0;
    if (chance(7)) {
        c->op = M_EXPIRE;
        c->now_ns = gen_expiry_clock(g);
        return;
    }
    if (g->npool > 0 && chance(15)) { /* a retry: the same key, maybe changed content */
        const struct m_pooled *p = &g->pool[rnd() % g->npool];
        snprintf(c->key, sizeof(c->key), "%s", p->key);
        memcpy(c->t, p->t, sizeof(c->t));
        c->n = p->n;
        if (chance(35))
            c->t[0].amount += 1;
        for (size_t i = 0; i < c->n; i++)
            if (c->t[i].kind == LEDGER_POST)
                note_post(g, c->t[i].pending_id);
    } else {
        gen_group(g, c);
        if (chance(40) && g->npool < M_POOL_MAX) {
            struct m_pooled *p = &g->pool[g->npool++];
            snprintf(c->key, sizeof(c->key), "k%d", ++g->keys);
            snprintf(p->key, sizeof(p->key), "%s", c->key);
            memcpy(p->t, c->t, sizeof(p->t));
            p->n = c->n;
        }
    }
    if (c->key[0])
        request_of(c);
}

/* ---- checking outcomes against the model ---- */

struct stats {
    long seeds, steps, commands, groups_applied, refusals[LEDGER_E_POST_EXCEEDS_PENDING + 1];
    long replays, conflicts, failed_on_purpose, expired, partial_posts;
};
static struct stats stats;

static void check_applied(struct model *m, const struct m_cmd *c, size_t first_id)
{
    CHECK(c->out.n == c->n, "%zu transfers applied, model %zu", c->out.n, c->n);
    for (size_t i = 0; i < c->n; i++) {
        const struct ledger_applied *a = &c->out.applied[i];
        const struct m_transfer *r = &m->tr[first_id - 1 + i];
        CHECK(a->id == (int64_t)(first_id + i), "transfer %zu got id %lld, model %zu", i,
              (long long)a->id, first_id + i);
        CHECK(a->amount == r->amount && a->debit_account == r->debit &&
                  a->credit_account == r->credit,
              "transfer %lld: %lld from %lld to %lld, model %lld from %lld to %lld",
              (long long)a->id, (long long)a->amount, (long long)a->debit_account,
              (long long)a->credit_account, (long long)r->amount, (long long)r->debit,
              (long long)r->credit);
        CHECK(a->timestamp_ns > m->last_ts, "transfer %lld: timestamp %lld not after %lld",
              (long long)a->id, (long long)a->timestamp_ns, (long long)m->last_ts);
        m->last_ts = a->timestamp_ns;
        if (c->t[i].kind == LEDGER_POST && r->amount < m->tr[c->t[i].pending_id - 1].amount)
            stats.partial_posts++;
    }
}

static void check_apply(struct model *m, const struct m_cmd *c)
{
    size_t first_id = m->ntr + 1;
    int failed;
    enum ledger_error e = m_apply(m, c->t, c->n, &c->out, &failed);
    CHECK(c->out.error == e, "ledger: %s at %d, model: %s at %d",
          ledger_error_name(c->out.error), c->out.failed_index, ledger_error_name(e), failed);
    CHECK(c->out.failed_index == failed, "%s at index %d, model %d", ledger_error_name(e),
          c->out.failed_index, failed);
    if (e == LEDGER_OK) {
        check_applied(m, c, first_id);
        stats.groups_applied++;
    } else {
        stats.refusals[e]++;
    }
}

static void check_idempotent(struct model *m, const struct m_cmd *c)
{
    const struct m_record *r = m_record_find(m, c->key);
    if (r && strcmp(r->request, c->request) == 0) {
        CHECK(c->state == LEDGER_IDEM_REPLAY, "key %s: state %d, model replay", c->key,
              c->state);
        CHECK(c->hit.status == r->status && strcmp(c->hit.body, r->body) == 0,
              "key %s replayed %d %s, recorded %d %s", c->key, c->hit.status, c->hit.body,
              r->status, r->body);
        stats.replays++;
        return;
    }
    if (r) {
        const char *field = c->n == 1 ? "amount" : "transfers";
        CHECK(c->state == LEDGER_IDEM_CONFLICT, "key %s: state %d, model conflict", c->key,
              c->state);
        CHECK(strcmp(c->hit.field, field) == 0, "key %s: conflict on '%s', model '%s'", c->key,
              c->hit.field, field);
        stats.conflicts++;
        return;
    }
    CHECK(c->state == LEDGER_IDEM_NEW, "key %s: state %d, model new", c->key, c->state);
    check_apply(m, c);
    char body[96];
    int status = response_of(&c->out, body, sizeof(body));
    m_record_add(m, c->key, c->request, status, body);
}

static void check_cmd(struct model *m, const struct m_cmd *c)
{
    CHECK(c->cmd.status == c->fail_after, "command status %d, expected %d", c->cmd.status,
          c->fail_after);
    struct m_mark mark;
    m_mark_take(m, &mark);
    int64_t last_ts = m->last_ts;
    if (c->op == M_EXPIRE) {
        int want = m_expire(m, c->now_ns);
        CHECK(c->voided == want, "expiry at %lld voided %d, model %d", (long long)c->now_ns,
              c->voided, want);
        stats.expired += want;
    } else if (c->key[0]) {
        check_idempotent(m, c);
    } else {
        check_apply(m, c);
    }
    if (c->fail_after) { /* the command's savepoint undid all of it */
        m_mark_restore(m, &mark);
        m->last_ts = last_ts;
        stats.failed_on_purpose++;
    }
}

static void check_accounts(struct model *m)
{
    for (size_t i = 0; i < m->nacc; i++) {
        const struct m_account *want = &m->acc[i];
        struct ledger_account got;
        CHECK(ledger_account_get(reader, want->id, &got) == PB_OK, "account %lld unreadable",
              (long long)want->id);
        const int64_t totals[4] = {got.debits_posted, got.credits_posted, got.debits_pending,
                                   got.credits_pending};
        static const char *const names[4] = {"debits_posted", "credits_posted",
                                             "debits_pending", "credits_pending"};
        for (int k = 0; k < 4; k++)
            CHECK(totals[k] == want->totals[k], "account %lld (%s): %s %lld, model %lld",
                  (long long)want->id, got.owner, names[k], (long long)totals[k],
                  (long long)want->totals[k]);
    }
}

/* ---- running seeds ---- */

static void fresh_database(bool postgres)
{
    pbt_fresh_database(postgres, "pb_model", db_url, sizeof(db_url));
    pbt_migrate(db_url, outbox_migrations, outbox_migrations_count);
    pbt_migrate(db_url, ledger_migrations, ledger_migrations_count);
}

static struct store *open_db(void)
{
    struct store *s;
    char err[256];
    assert_int_equal(store_open(db_url, &s, err, sizeof(err)), 0);
    return s;
}

/* Four EUR players and one BTC player (cash, bonus, locked each), two EUR house accounts and
 * one BTC house account, opened in this order so that ids are 1..18. */
static const struct {
    const char *owner;
    int code;
    const char *currency;
} layout[] = {
    {"p0", 0, "EUR"}, {"p1", 0, "EUR"}, {"p2", 0, "EUR"}, {"p3", 0, "EUR"},
    {"house", LEDGER_ACC_HOUSE_CASINO, "EUR"}, {"house", LEDGER_ACC_HOUSE_SPORTSBOOK, "EUR"},
    {"p4", 0, "BTC"}, {"house", LEDGER_ACC_HOUSE_CASINO, "BTC"},
};

static int open_accounts(struct store *tx, struct writer_cmd *cmd)
{
    struct model *m = cmd->arg;
    for (size_t i = 0; i < PB_ARRAY_LEN(layout); i++) {
        int64_t ids[3];
        bool player = layout[i].code == 0;
        int rc = player ? ledger_open_player_accounts(lg, tx, layout[i].owner,
                                                      layout[i].currency, ids)
                        : ledger_open_account(lg, tx, layout[i].owner, layout[i].code,
                                              layout[i].currency, ids);
        if (rc != PB_OK)
            return rc;
        for (int k = 0; k < (player ? 3 : 1); k++) {
            PB_ASSERT(ids[k] == (int64_t)m->nacc + 1);
            m->acc[m->nacc++] = (struct m_account){.id = ids[k], .player = player,
                                                   .currency = layout[i].currency};
        }
    }
    return PB_OK;
}

static void submit_and_wait(struct m_cmd *cmds, int n, sem_t *gate, sem_t *done)
{
    for (int i = 0; i < n; i++) {
        cmds[i].cmd.run = m_run;
        cmds[i].cmd.done = m_done;
        cmds[i].done = done;
        assert_int_equal(writer_submit(w, &cmds[i].cmd), 0);
    }
    if (gate)
        sem_post(gate);
    for (int i = 0; i < n; i++) {
        struct timespec deadline;
        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_sec += 60;
        assert_int_equal(sem_timedwait(done, &deadline), 0);
    }
}

/* One step: a gate command holds the writer while the step's commands queue up, so they run
 * in one batch (one transaction, a savepoint each). */
static void run_step(struct gen *g, uint64_t seed, int step)
{
    static struct m_cmd cmds[M_STEP_CMDS_MAX + 1];
    int n = (int)rnd_range(1, M_STEP_CMDS_MAX);
    collect_open(g);
    g->wait_until_ns = 0;
    for (int i = 1; i <= n; i++)
        gen_cmd(g, &cmds[i]);
    while (wall_ns() <= g->wait_until_ns)
        nanosleep(&(struct timespec){0, 200000}, NULL);
    sem_t gate, done;
    sem_init(&gate, 0, 0);
    sem_init(&done, 0, 0);
    memset(&cmds[0], 0, sizeof(cmds[0]));
    cmds[0].op = M_GATE;
    cmds[0].gate = &gate;
    submit_and_wait(cmds, n + 1, &gate, &done);
    for (int i = 1; i <= n; i++) {
        snprintf(where, sizeof(where), "seed %llu step %d command %d", (unsigned long long)seed,
                 step, i);
        check_cmd(g->m, &cmds[i]);
        pb_free(cmds[i].hit.body);
    }
    snprintf(where, sizeof(where), "seed %llu after step %d", (unsigned long long)seed, step);
    check_accounts(g->m);
    sem_destroy(&gate);
    sem_destroy(&done);
    stats.commands += n;
    stats.steps++;
}

static int64_t count_of(const char *sql)
{
    struct store_stmt *st;
    assert_int_equal(store_prepare(reader, sql, &st), 0);
    assert_int_equal(store_step(st), STORE_ROW);
    int64_t n = store_column_int64(st, 0);
    store_finalize(st);
    return n;
}

/* The end of a seed: verification passes and the counts agree with the model. */
static void check_seed_end(struct model *m, uint64_t seed)
{
    snprintf(where, sizeof(where), "seed %llu at the end", (unsigned long long)seed);
    struct pb_buf out = PB_BUF_INIT;
    int rc = ledger_verify(reader, &out);
    CHECK(rc == PB_OK, "ledger_verify returned %d:\n%s", rc, pb_buf_str(&out));
    char want[128];
    snprintf(want, sizeof(want), "ledger verify: OK (%zu transfers, %zu accounts)\n", m->ntr,
             m->nacc);
    CHECK(strcmp(pb_buf_str(&out), want) == 0, "report '%s', model '%s'", pb_buf_str(&out),
          want);
    pb_buf_release(&out);
    int64_t events = count_of("SELECT COUNT(*) FROM outbox WHERE type = 'ledger.transfers'");
    CHECK(events == m->events, "%lld ledger events, model %lld", (long long)events,
          (long long)m->events);
}

static void run_seed(bool pg, uint64_t seed, uint64_t deadline_ns)
{
    fresh_database(pg);
    lg = ledger_new();
    ob = outbox_new("model");
    struct writer_config cfg = {64, 0, 1024, db_url, {ledger_participant(lg)}, 1};
    assert_int_equal(writer_start(&cfg, open_db(), ob, &w), 0);
    reader = open_db();
    struct model m = {0};
    struct gen g = {.m = &m, .pool = pb_calloc(M_POOL_MAX, sizeof(struct m_pooled))};
    struct m_cmd setup = {.cmd = {.run = open_accounts, .arg = &m}};
    sem_t done;
    sem_init(&done, 0, 0);
    setup.cmd.done = m_done;
    setup.done = &done;
    assert_int_equal(writer_submit(w, &setup.cmd), 0);
    sem_wait(&done);
    sem_destroy(&done);
    assert_int_equal(setup.cmd.status, 0);
    rng_state = seed;
    for (int step = 1; step <= M_STEPS_PER_SEED && pb_mono_ns() < deadline_ns; step++)
        run_step(&g, seed, step);
    check_seed_end(&m, seed);
    stats.seeds++;
    pb_free(g.pool);
    m_free(&m);
    store_close(reader);
    outbox_stop(ob);
    writer_stop(w);
    outbox_free(ob);
    ledger_free(lg);
}

/* Every kind of outcome happened: the generator still reaches what it is meant to. */
static void check_coverage(void)
{
    for (int e = LEDGER_E_INVALID; e <= LEDGER_E_POST_EXCEEDS_PENDING; e++) {
        if (e == LEDGER_E_OVERFLOW)
            continue; /* amounts stay far from INT64_MAX here; test_ledger covers it */
        if (stats.refusals[e] == 0)
            fail_msg("no %s refusal in %ld steps", ledger_error_name((enum ledger_error)e),
                     stats.steps);
    }
    assert_true(stats.replays > 0 && stats.conflicts > 0 && stats.failed_on_purpose > 0);
    assert_true(stats.expired > 0 && stats.partial_posts > 0 && stats.groups_applied > 0);
}

static void run_model(bool pg, double default_seconds)
{
    const char *s = getenv("PITBOSS_MODEL_SECONDS"), *only = getenv("PITBOSS_MODEL_SEED");
    double seconds = s && s[0] ? atof(s) : default_seconds;
    uint64_t start = pb_mono_ns(), deadline = start + (uint64_t)(seconds * 1e9);
    memset(&stats, 0, sizeof(stats));
    if (only && only[0]) {
        run_seed(pg, strtoull(only, NULL, 10), UINT64_MAX);
    } else {
        for (size_t i = 0; i < PB_ARRAY_LEN(seeds) && pb_mono_ns() < deadline; i++)
            run_seed(pg, seeds[i], deadline);
    }
    printf("# model %s: %ld seeds, %ld steps, %ld commands, %ld groups applied, %ld replays,"
           " %ld conflicts, %ld failed on purpose, %ld expired, %ld partial posts, %.1f s\n",
           pg ? "postgres" : "sqlite", stats.seeds, stats.steps, stats.commands,
           stats.groups_applied, stats.replays, stats.conflicts, stats.failed_on_purpose,
           stats.expired, stats.partial_posts, (double)(pb_mono_ns() - start) / 1e9);
    printf("# refusals:");
    for (int e = LEDGER_E_INVALID; e <= LEDGER_E_POST_EXCEEDS_PENDING; e++)
        printf(" %s %ld", ledger_error_name((enum ledger_error)e), stats.refusals[e]);
    printf("\n");
    check_coverage();
}

static void test_sqlite_model(void **state)
{
    (void)state;
    run_model(false, 30);
}

static void test_postgres_model(void **state)
{
    (void)state;
    if (!getenv("PITBOSS_TEST_PG")) {
        printf("# PITBOSS_TEST_PG is not set: the PostgreSQL half was not run\n");
        skip();
    }
    run_model(true, 15);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sqlite_model),
        cmocka_unit_test(test_postgres_model),
    };
    return cmocka_run_group_tests_name("unit.ledger_model", tests, NULL, NULL);
}
