/* cache.c: the guard's inputs per player (rg_int.h), kept between guard calls on the writer
 * thread; why it is exact: docs/rg.md, "Performance".
 *
 * Entries live in a hash table with an LRU list (RG_CACHE_PLAYERS_MAX). What can make an
 * entry disagree with the database, and what the cache does about it:
 *   - the guard's own writes (the rg_players row, the running totals): it updates the entry
 *     after writing; when the guard call then fails or refuses (the ledger rolls the group's
 *     savepoint back) the entry gets its previous content back (rg__guard_end);
 *   - a command or a batch rolled back after the guard's changes: every entry used in a
 *     command is remembered (the touched list) and dropped when the command's savepoint or
 *     the batch is rolled back (writer participant: command_end, batch_end);
 *   - rg's other writers (limits, exclusions, prompt answers, reality-check intervals):
 *     rg__forget drops the player's entry;
 *   - PAM's writers (player rows, blocks, KYC status): pam_player_generation moves and the
 *     entry's PAM and KYC parts are loaded again;
 *   - other connections (another process, a tool): PRAGMA data_version, read once per batch
 *     inside the writer's transaction, changes; then every entry goes;
 *   - time: entries hold rows, never answers: pending limit changes, exclusions and ages are
 *     evaluated at each call's time (exclusions are reloaded when the clock goes back).
 * PostgreSQL (several nodes may write one database) and connections other than the writer's
 * keep no entries. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/log.h"
#include "rg/rg_int.h"

#define NONE (-1)
#define TOUCHED_MAX RG_CACHE_TOUCHED_MAX
#define SAVED_MAX (2 * LEDGER_LINKED_MAX) /* players in one guard call */

struct entry {
    struct rg__pstate ps; /* first: a state of the cache is its entry */
    uint32_t hash;
    int32_t chain;        /* the next entry in the bucket */
    int32_t prev, next;   /* the LRU list: head is the most recently used */
    uint32_t gen;         /* changes whenever the entry is dropped (touched list) */
    uint64_t touched_cmd; /* the command that put it on the touched list last */
    uint64_t pinned_call; /* the guard call using it: never evicted meanwhile */
    bool used;
};

/* An entry's state before the running guard call changed it. */
struct saved {
    struct entry *e;
    uint32_t gen;
    unsigned have_rp;
    struct rg__player rp;
    struct rg__totals totals[RG__CURRENCIES_MAX];
};

struct rg__cache {
    bool enabled, check;
    bool joined;          /* the participant loaded on a SQLite connection */
    struct store *tx;     /* that connection: the writer's */
    bool batch_checked;   /* data_version read in this batch */
    bool batch_usable;
    int64_t data_version;
    struct entry *entries; /* RG_CACHE_PLAYERS_MAX, used up from index 0 */
    int32_t nused, free_head;
    int32_t count, cap;    /* entries in use, and at most */
    int32_t *buckets;      /* RG_CACHE_PLAYERS_MAX heads */
    int32_t lru_head, lru_tail;
    struct {
        int32_t idx;
        uint32_t gen;
    } touched[TOUCHED_MAX];
    size_t ntouched, cmd_mark;
    bool overflow;
    uint64_t cmd_seq, call;
    bool call_cached; /* the running guard call may use entries */
    struct saved saved[SAVED_MAX];
    size_t nsaved;
    _Atomic uint64_t hits, misses, evictions, dropped, flushes;
};

static uint32_t hash_of(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const unsigned char *c = (const unsigned char *)s; *c; c++)
        h = (h ^ *c) * 16777619u;
    return h;
}

static void count(_Atomic uint64_t *n)
{
    atomic_fetch_add_explicit(n, 1, memory_order_relaxed);
}

static void pstate_free(struct rg__pstate *ps)
{
    pb_free(ps->excl);
    pb_free(ps->limits);
    ps->excl = NULL;
    ps->limits = NULL;
    for (size_t i = 0; i < RG__BOUNDS_MAX; i++) {
        pb_free(ps->bounds[i]);
        ps->bounds[i] = NULL;
    }
}

/* ---- the table ---- */

struct rg__cache *rg__cache_new(bool check)
{
    struct rg__cache *c = pb_calloc(1, sizeof(*c));
    c->enabled = true;
    c->check = check;
    /* calloc: pages are taken from the system only as entries come into use. */
    c->entries = pb_calloc(RG_CACHE_PLAYERS_MAX, sizeof(*c->entries));
    c->buckets = pb_malloc(RG_CACHE_PLAYERS_MAX * sizeof(*c->buckets));
    for (size_t i = 0; i < RG_CACHE_PLAYERS_MAX; i++)
        c->buckets[i] = NONE;
    c->free_head = c->lru_head = c->lru_tail = NONE;
    c->cap = RG_CACHE_PLAYERS_MAX;
    return c;
}

static void lru_unlink(struct rg__cache *c, struct entry *e)
{
    if (e->prev != NONE)
        c->entries[e->prev].next = e->next;
    else
        c->lru_head = e->next;
    if (e->next != NONE)
        c->entries[e->next].prev = e->prev;
    else
        c->lru_tail = e->prev;
    e->prev = e->next = NONE;
}

static void lru_push_front(struct rg__cache *c, struct entry *e)
{
    int32_t idx = (int32_t)(e - c->entries);
    e->prev = NONE;
    e->next = c->lru_head;
    if (c->lru_head != NONE)
        c->entries[c->lru_head].prev = idx;
    c->lru_head = idx;
    if (c->lru_tail == NONE)
        c->lru_tail = idx;
}

static struct entry *find(struct rg__cache *c, const char *player_id, uint32_t h)
{
    for (int32_t i = c->buckets[h % RG_CACHE_PLAYERS_MAX]; i != NONE; i = c->entries[i].chain)
        if (c->entries[i].hash == h && strcmp(c->entries[i].ps.player_id, player_id) == 0)
            return &c->entries[i];
    return NULL;
}

static void drop(struct rg__cache *c, struct entry *e)
{
    PB_ASSERT(e->used && !(c->call_cached && e->pinned_call == c->call));
    int32_t idx = (int32_t)(e - c->entries);
    int32_t *link = &c->buckets[e->hash % RG_CACHE_PLAYERS_MAX];
    while (*link != idx)
        link = &c->entries[*link].chain;
    *link = e->chain;
    lru_unlink(c, e);
    pstate_free(&e->ps);
    e->used = false;
    e->gen++;
    e->chain = c->free_head;
    c->free_head = idx;
    c->count--;
}

static void flush_all(struct rg__cache *c)
{
    for (int32_t i = 0; i < c->nused; i++)
        if (c->entries[i].used)
            drop(c, &c->entries[i]);
    c->ntouched = c->cmd_mark = 0;
    c->overflow = false;
    count(&c->flushes);
}

void rg__cache_free(struct rg__cache *c)
{
    if (!c)
        return;
    for (int32_t i = 0; i < c->nused; i++)
        if (c->entries[i].used)
            pstate_free(&c->entries[i].ps);
    pb_free(c->entries);
    pb_free(c->buckets);
    pb_free(c);
}

/* A free entry (the least recently used one goes when the cache is full, unless the running
 * guard call holds it); NULL when there is none. */
static struct entry *take(struct rg__cache *c)
{
    if (c->count >= c->cap) {
        if (c->lru_tail == NONE || c->entries[c->lru_tail].pinned_call == c->call)
            return NULL;
        drop(c, &c->entries[c->lru_tail]);
        count(&c->evictions);
    }
    struct entry *e;
    if (c->free_head != NONE) {
        e = &c->entries[c->free_head];
        c->free_head = e->chain;
    } else {
        PB_ASSERT(c->nused < RG_CACHE_PLAYERS_MAX);
        e = &c->entries[c->nused++];
    }
    c->count++;
    return e;
}

/* Remembers e for a rollback of the running command or batch. */
static void touch(struct rg__cache *c, struct entry *e)
{
    if (e->touched_cmd == c->cmd_seq)
        return;
    e->touched_cmd = c->cmd_seq;
    if (c->ntouched == TOUCHED_MAX) {
        c->overflow = true;
        return;
    }
    c->touched[c->ntouched].idx = (int32_t)(e - c->entries);
    c->touched[c->ntouched++].gen = e->gen;
}

/* Drops the entries touched since mark (every entry when the list overflowed). */
static void drop_touched(struct rg__cache *c, size_t mark)
{
    if (c->overflow) {
        flush_all(c);
        return;
    }
    for (size_t i = mark; i < c->ntouched; i++) {
        struct entry *e = &c->entries[c->touched[i].idx];
        if (e->used && e->gen == c->touched[i].gen) {
            drop(c, e);
            count(&c->dropped);
        }
    }
    c->ntouched = mark;
}

void rg__forget(struct rg *rg, const char *player_id)
{
    struct rg__cache *c = rg->cache;
    struct entry *e = find(c, player_id, hash_of(player_id));
    if (e) {
        drop(c, e);
        count(&c->dropped);
    }
}

/* ---- the writer participant ---- */

static int read_data_version(struct store *tx, int64_t *out)
{
    struct store_stmt *st;
    if (store_prepare(tx, "PRAGMA data_version", &st) != PB_OK)
        return PB_ERR_DB;
    int rc = store_step(st);
    if (rc == STORE_ROW)
        *out = store_column_int64(st, 0);
    store_finalize(st);
    return rc == STORE_ROW ? PB_OK : PB_ERR_DB;
}

static int p_load(struct store *tx, void *arg)
{
    struct rg__cache *c = ((struct rg *)arg)->cache;
    flush_all(c);
    c->tx = tx;
    c->joined = store_backend_of(tx) == STORE_SQLITE &&
                read_data_version(tx, &c->data_version) == PB_OK;
    c->batch_checked = false;
    return PB_OK; /* without the cache the guard reads the database: never a failure */
}

static void p_command_begin(void *arg)
{
    struct rg__cache *c = ((struct rg *)arg)->cache;
    c->cmd_seq++;
    c->cmd_mark = c->ntouched;
}

static void p_command_end(bool kept, void *arg)
{
    struct rg__cache *c = ((struct rg *)arg)->cache;
    if (!kept)
        drop_touched(c, c->cmd_mark);
    c->cmd_seq++; /* entries used between commands are touched anew */
}

static void p_batch_end(bool committed, void *arg)
{
    struct rg__cache *c = ((struct rg *)arg)->cache;
    if (!committed)
        drop_touched(c, 0);
    c->ntouched = c->cmd_mark = 0;
    c->overflow = false;
    c->batch_checked = false;
}

struct writer_participant rg_participant(struct rg *rg)
{
    return (struct writer_participant){.arg = rg, .load = p_load,
                                       .command_begin = p_command_begin,
                                       .command_end = p_command_end,
                                       .batch_end = p_batch_end};
}

void rg_cache_configure(struct rg *rg, bool enabled, bool check, size_t capacity)
{
    struct rg__cache *c = rg->cache;
    PB_ASSERT(capacity <= RG_CACHE_PLAYERS_MAX);
    flush_all(c);
    c->enabled = enabled;
    c->check = check;
    c->cap = capacity ? (int32_t)capacity : RG_CACHE_PLAYERS_MAX;
}

void rg_cache_stats(const struct rg *rg, struct rg_cache_stats *out)
{
    struct rg__cache *c = rg->cache;
    out->hits = atomic_load_explicit(&c->hits, memory_order_relaxed);
    out->misses = atomic_load_explicit(&c->misses, memory_order_relaxed);
    out->evictions = atomic_load_explicit(&c->evictions, memory_order_relaxed);
    out->dropped = atomic_load_explicit(&c->dropped, memory_order_relaxed);
    out->flushes = atomic_load_explicit(&c->flushes, memory_order_relaxed);
}

/* ---- guard calls ---- */

void rg__guard_begin(struct rg *rg, struct store *tx)
{
    struct rg__cache *c = rg->cache;
    c->call++;
    c->nsaved = 0;
    c->call_cached = false;
    if (!c->enabled || !c->joined || tx != c->tx)
        return;
    if (!c->batch_checked) {
        /* Inside the writer's transaction, after the ledger's writes: no other connection
         * can commit until ours does, so one read per batch covers it. */
        int64_t v;
        c->batch_usable = read_data_version(tx, &v) == PB_OK;
        if (!c->batch_usable || v != c->data_version)
            flush_all(c);
        if (c->batch_usable)
            c->data_version = v;
        c->batch_checked = true;
    }
    c->call_cached = c->batch_usable;
}

static void verify(struct rg *rg, struct store *tx, struct entry *e);

struct rg__pstate *rg__acquire(struct rg *rg, struct store *tx, const char *player_id,
                               struct rg__pstate *scratch)
{
    struct rg__cache *c = rg->cache;
    size_t len = strlen(player_id);
    PB_ASSERT(len <= LEDGER_OWNER_MAX);
    if (c->call_cached) {
        uint32_t h = hash_of(player_id);
        struct entry *e = find(c, player_id, h);
        if (e) {
            count(&c->hits);
            lru_unlink(c, e);
        } else if ((e = take(c)) != NULL) {
            count(&c->misses);
            uint32_t gen = e->gen;
            memset(e, 0, sizeof(*e));
            e->gen = gen;
            memcpy(e->ps.player_id, player_id, len + 1);
            e->ps.cached = true;
            e->hash = h;
            e->used = true;
            e->chain = c->buckets[h % RG_CACHE_PLAYERS_MAX];
            c->buckets[h % RG_CACHE_PLAYERS_MAX] = (int32_t)(e - c->entries);
        }
        if (e) {
            lru_push_front(c, e);
            e->pinned_call = c->call;
            touch(c, e);
            if ((e->ps.have & RG__HAVE_PAM) &&
                e->ps.pam_generation != pam_player_generation(player_id))
                e->ps.have &= ~(RG__HAVE_PAM | RG__HAVE_KYC_PLAY | RG__HAVE_KYC_DEPOSIT);
            if (c->check)
                verify(rg, tx, e);
            return &e->ps;
        }
    }
    memset(scratch, 0, sizeof(*scratch));
    memcpy(scratch->player_id, player_id, len + 1);
    return scratch;
}

void rg__release(struct rg *rg, struct rg__pstate *ps)
{
    PB_UNUSED(rg);
    if (!ps->cached)
        pstate_free(ps);
}

void rg__guard_end(struct rg *rg, bool ok)
{
    struct rg__cache *c = rg->cache;
    for (size_t i = c->nsaved; !ok && i-- > 0;) {
        struct saved *s = &c->saved[i];
        if (!s->e->used || s->e->gen != s->gen)
            continue;
        s->e->ps.have = (s->e->ps.have & ~RG__HAVE_RP) | s->have_rp;
        s->e->ps.rp = s->rp;
        memcpy(s->e->ps.totals, s->totals, sizeof(s->totals));
    }
    c->nsaved = 0;
    c->call_cached = false;
}

/* Before the running guard call changes a cached state the first time: keep a copy. */
static void save(struct rg *rg, struct rg__pstate *ps)
{
    struct rg__cache *c = rg->cache;
    if (!ps->cached)
        return;
    struct entry *e = (struct entry *)ps;
    for (size_t i = 0; i < c->nsaved; i++)
        if (c->saved[i].e == e)
            return;
    PB_ASSERT(c->nsaved < SAVED_MAX);
    struct saved *s = &c->saved[c->nsaved++];
    s->e = e;
    s->gen = e->gen;
    s->have_rp = ps->have & RG__HAVE_RP;
    s->rp = ps->rp;
    memcpy(s->totals, ps->totals, sizeof(s->totals));
}

/* ---- the parts of a state ---- */

int rg__ps_pam(struct rg *rg, struct store *tx, struct rg__pstate *ps)
{
    if (ps->have & RG__HAVE_PAM)
        return PB_OK;
    uint64_t gen = pam_player_generation(ps->player_id); /* before reading */
    struct pam_player p;
    int rc = pam_player_get(tx, ps->player_id, &p);
    ps->known = rc == PB_OK;
    ps->closed = false;
    ps->blocks = 0;
    ps->dob_ok = false;
    ps->rules = rg__default_rules(rg);
    if (rc == PB_ERR_NOT_FOUND)
        rc = PB_OK; /* an account opened by staff for an id PAM does not know */
    else if (rc == PB_OK) {
        ps->closed = p.closed;
        ps->dob_ok = sscanf(p.date_of_birth, "%4d-%2d-%2d", &ps->dob[0], &ps->dob[1],
                            &ps->dob[2]) == 3;
        ps->rules = rg__rules_of(rg, &p);
        rc = pam_player_blocks(tx, ps->player_id, &ps->blocks);
    }
    if (rc != PB_OK)
        return rc;
    ps->pam_generation = gen;
    ps->have |= RG__HAVE_PAM;
    return PB_OK;
}

int rg__ps_kyc(struct rg *rg, struct store *tx, struct rg__pstate *ps, enum kyc_action action,
               bool *allowed)
{
    PB_ASSERT((ps->have & RG__HAVE_PAM) && ps->known);
    PB_ASSERT(action == KYC_ACTION_PLAY || action == KYC_ACTION_DEPOSIT);
    unsigned bit = action == KYC_ACTION_PLAY ? RG__HAVE_KYC_PLAY : RG__HAVE_KYC_DEPOSIT;
    bool *slot = action == KYC_ACTION_PLAY ? &ps->kyc_play : &ps->kyc_deposit;
    if (!(ps->have & bit)) {
        bool a;
        int rc = kyc_allows(tx, rg->cfg, ps->player_id, action, &a);
        if (rc == PB_ERR_NOT_FOUND)
            a = true; /* no brand or jurisdiction: no KYC rule applies */
        else if (rc != PB_OK)
            return rc;
        *slot = a;
        ps->have |= bit;
    }
    *allowed = *slot;
    return PB_OK;
}

int rg__ps_rp(struct rg *rg, struct store *tx, struct rg__pstate *ps, struct rg__player *out)
{
    PB_UNUSED(rg);
    if (!(ps->have & RG__HAVE_RP)) {
        int rc = rg__player_get(tx, ps->player_id, &ps->rp);
        if (rc != PB_OK)
            return rc;
        ps->have |= RG__HAVE_RP;
    }
    *out = ps->rp;
    return PB_OK;
}

static int load_exclusions(struct store *tx, struct rg__pstate *ps, int64_t after)
{
    struct rg__excl_row rows[RG__EXCL_MAX];
    size_t n;
    bool more;
    int rc = rg__exclusion_rows(tx, ps->player_id, after, rows, RG__EXCL_MAX, &n, &more);
    if (rc != PB_OK)
        return rc;
    pb_free(ps->excl);
    ps->excl = NULL;
    if (n > 0) {
        ps->excl = pb_malloc(n * sizeof(*ps->excl));
        memcpy(ps->excl, rows, n * sizeof(*ps->excl));
    }
    ps->nexcl = n;
    ps->excl_more = more;
    ps->excl_after = after;
    ps->have |= RG__HAVE_EXCL;
    return PB_OK;
}

int rg__ps_exclusion(struct rg *rg, struct store *tx, struct rg__pstate *ps, int64_t now,
                     bool *active, struct rg_exclusion *out)
{
    PB_UNUSED(rg);
    *active = false;
    if (!(ps->have & RG__HAVE_EXCL) || now < ps->excl_after) {
        int rc = load_exclusions(tx, ps, now); /* first use, or the clock went back */
        if (rc != PB_OK)
            return rc;
    }
    /* Every exclusion ending after now is here (they end after excl_after <= now) unless
     * there were more than kept, latest end first: the first one that has begun is the one
     * the database would pick. */
    for (size_t i = 0; i < ps->nexcl; i++) {
        const struct rg__excl_row *x = &ps->excl[i];
        if (x->until_ms <= now)
            return PB_OK;
        if (x->from_ms <= now) {
            *active = true;
            *out = (struct rg_exclusion){x->kind, x->from_ms, x->until_ms};
            return PB_OK;
        }
    }
    /* All kept ones begin later (the clock went back); the rest decides. */
    return ps->excl_more ? rg__exclusion_at(tx, ps->player_id, now, active, out) : PB_OK;
}

int rg__ps_limits(struct rg *rg, struct store *tx, struct rg__pstate *ps, int64_t now,
                  struct rg_limit *out, size_t max, size_t *n)
{
    PB_UNUSED(rg);
    if (!(ps->have & RG__HAVE_LIMITS)) {
        struct rg_limit rows[RG__LIMIT_ROWS_MAX];
        size_t k;
        bool more;
        int rc = rg__limit_rows(tx, ps->player_id, rows, RG__LIMIT_ROWS_MAX, &k, &more);
        if (rc != PB_OK)
            return rc;
        pb_free(ps->limits);
        ps->limits = NULL;
        if (k > 0) {
            ps->limits = pb_malloc(k * sizeof(*ps->limits));
            memcpy(ps->limits, rows, k * sizeof(*ps->limits));
        }
        ps->nlimits = k;
        ps->limits_more = more;
        ps->have |= RG__HAVE_LIMITS;
    }
    if (ps->limits_more)
        return rg__limits_in_force(tx, ps->player_id, now, out, max, n);
    *n = 0;
    for (size_t i = 0; i < ps->nlimits && *n < max; i++)
        if (rg__limit_at(&ps->limits[i], now, &out[*n]))
            (*n)++;
    return PB_OK;
}

static struct rg__totals *totals_of(struct rg__pstate *ps, const char *currency)
{
    for (size_t i = 0; i < RG__CURRENCIES_MAX; i++)
        if (strcmp(ps->totals[i].currency, currency) == 0)
            return &ps->totals[i];
    return NULL;
}

/* The slot for currency: an unused one, else the least recently used. */
static struct rg__totals *totals_slot(struct rg__pstate *ps)
{
    struct rg__totals *t = &ps->totals[0];
    for (size_t i = 0; i < RG__CURRENCIES_MAX; i++) {
        if (ps->totals[i].currency[0] == '\0')
            return &ps->totals[i];
        if (ps->totals[i].used < t->used)
            t = &ps->totals[i];
    }
    return t;
}

int rg__ps_last(struct rg *rg, struct store *tx, struct rg__pstate *ps, const char *currency,
                struct rg__activity *out)
{
    PB_UNUSED(rg);
    PB_ASSERT(currency[0] != '\0' && strlen(currency) <= LEDGER_CURRENCY_MAX);
    struct rg__totals *t = totals_of(ps, currency);
    if (!t) {
        struct rg__activity a;
        int rc = rg__activity_at(tx, ps->player_id, currency, INT64_MAX, &a);
        if (rc != PB_OK)
            return rc;
        t = totals_slot(ps);
        pb_strlcpy(t->currency, currency, sizeof(t->currency));
        t->last = a;
    }
    t->used = ++ps->uses;
    *out = t->last;
    return PB_OK;
}

static int load_bound(struct store *tx, const struct rg__pstate *ps, const char *currency,
                      int64_t at, struct rg__bound *b)
{
    struct rg__activity after[RG__BOUND_ROWS];
    size_t k;
    int rc = rg__activity_at(tx, ps->player_id, currency, at, &b->rows[0]);
    rc = rc ? rc : rg__activity_after(tx, ps->player_id, currency, at, after, RG__BOUND_ROWS,
                                      &k);
    if (rc != PB_OK)
        return rc;
    pb_strlcpy(b->currency, currency, sizeof(b->currency));
    b->at = at;
    b->has0 = b->rows[0].seq > 0; /* seq counts from 1 */
    b->n = 1 + (k < RG__BOUND_ROWS ? k : RG__BOUND_ROWS - 1);
    memcpy(&b->rows[1], after, (b->n - 1) * sizeof(after[0]));
    b->hi = k == RG__BOUND_ROWS ? after[RG__BOUND_ROWS - 1].at_ms : INT64_MAX;
    return PB_OK;
}

int rg__ps_at(struct rg *rg, struct store *tx, struct rg__pstate *ps, const char *currency,
              int64_t window_ms, int64_t now, struct rg__activity *out)
{
    PB_UNUSED(rg);
    int64_t at = now - window_ms;
    if (!ps->cached)
        return rg__activity_at(tx, ps->player_id, currency, at, out);
    struct rg__bound *b = NULL, **slot = NULL;
    for (size_t i = 0; i < RG__BOUNDS_MAX && !b; i++) {
        struct rg__bound *x = ps->bounds[i];
        if (x && x->window_ms == window_ms && strcmp(x->currency, currency) == 0)
            b = x;
        else if (!slot || (*slot && (!x || x->used < (*slot)->used)))
            slot = &ps->bounds[i]; /* an empty one, else the least recently used */
    }
    if (!b || at < (b->has0 ? b->rows[0].at_ms : INT64_MIN) || at >= b->hi) {
        if (!b) {
            if (!*slot)
                *slot = pb_calloc(1, sizeof(**slot));
            b = *slot;
        }
        int rc = load_bound(tx, ps, currency, at, b);
        if (rc != PB_OK) {
            b->currency[0] = '\0';
            return rc;
        }
        b->window_ms = window_ms;
    }
    b->used = ++ps->uses;
    /* Every row before hi is here: the latest at or before `at` is the answer. */
    for (size_t i = b->n; i-- > 1;)
        if (b->rows[i].at_ms <= at)
            return *out = b->rows[i], PB_OK;
    if (b->has0)
        *out = b->rows[0];
    else
        memset(out, 0, sizeof(*out));
    return PB_OK;
}

void rg__ps_set_rp(struct rg *rg, struct rg__pstate *ps, const struct rg__player *rp)
{
    save(rg, ps);
    ps->rp = *rp;
    ps->have |= RG__HAVE_RP;
}

void rg__ps_set_last(struct rg *rg, struct rg__pstate *ps, const char *currency,
                     const struct rg__activity *last)
{
    save(rg, ps);
    PB_ASSERT(last->seq > 0);
    struct rg__totals *t = totals_of(ps, currency);
    if (!t) {
        t = totals_slot(ps);
        pb_strlcpy(t->currency, currency, sizeof(t->currency));
    } else {
        /* The row appended follows the one held: the next seq, never back in time. */
        PB_ASSERT(last->seq == t->last.seq + 1 && last->at_ms >= t->last.at_ms);
    }
    t->last = *last;
    t->used = ++ps->uses;
    /* The new row is the latest: window starts that held every row hold those before it. */
    for (size_t i = 0; i < RG__BOUNDS_MAX; i++)
        if (ps->bounds[i] && ps->bounds[i]->hi == INT64_MAX &&
            strcmp(ps->bounds[i]->currency, currency) == 0)
            ps->bounds[i]->hi = last->at_ms;
}

/* ---- the self-check (tests, PITBOSS_RG_CACHE_CHECK=1) ---- */

static void stale(const struct rg__pstate *ps, const char *part)
{
    pb_log(PB_LOG_ERROR, "rg cache differs from the database",
           "\"player_id\":\"%s\",\"part\":\"%s\"", ps->player_id, part);
    PB_ASSERT(!"the rg cache matches the database");
}

static bool same_limit(const struct rg_limit *a, const struct rg_limit *b)
{
    return a->kind == b->kind && a->window == b->window &&
           strcmp(a->currency, b->currency) == 0 && a->value == b->value &&
           a->pending_value == b->pending_value && a->pending_at_ms == b->pending_at_ms &&
           a->set_at_ms == b->set_at_ms;
}

/* Reads every part e holds afresh and compares. */
static void verify(struct rg *rg, struct store *tx, struct entry *e)
{
    const struct rg__pstate *ps = &e->ps;
    struct rg__pstate f;
    memset(&f, 0, sizeof(f));
    memcpy(f.player_id, ps->player_id, sizeof(f.player_id));
    bool ok;
    if ((ps->have & RG__HAVE_PAM) && rg__ps_pam(rg, tx, &f) == PB_OK &&
        (f.known != ps->known || f.closed != ps->closed || f.blocks != ps->blocks ||
         f.dob_ok != ps->dob_ok || (f.dob_ok && memcmp(f.dob, ps->dob, sizeof(f.dob))) ||
         f.rules != ps->rules))
        stale(ps, "pam");
    if ((ps->have & RG__HAVE_KYC_PLAY) && rg__ps_pam(rg, tx, &f) == PB_OK &&
        rg__ps_kyc(rg, tx, &f, KYC_ACTION_PLAY, &ok) == PB_OK && ok != ps->kyc_play)
        stale(ps, "kyc play");
    if ((ps->have & RG__HAVE_KYC_DEPOSIT) && rg__ps_pam(rg, tx, &f) == PB_OK &&
        rg__ps_kyc(rg, tx, &f, KYC_ACTION_DEPOSIT, &ok) == PB_OK && ok != ps->kyc_deposit)
        stale(ps, "kyc deposit");
    struct rg__player rp;
    if ((ps->have & RG__HAVE_RP) && rg__ps_rp(rg, tx, &f, &rp) == PB_OK &&
        (rp.prompt_answered != ps->rp.prompt_answered ||
         rp.reality_minutes != ps->rp.reality_minutes ||
         rp.last_slot_cycle_ms != ps->rp.last_slot_cycle_ms ||
         rp.chase_from_ms != ps->rp.chase_from_ms || rp.chase_deposits != ps->rp.chase_deposits))
        stale(ps, "rg_players");
    if ((ps->have & RG__HAVE_EXCL) && load_exclusions(tx, &f, ps->excl_after) == PB_OK) {
        bool same = f.nexcl == ps->nexcl && f.excl_more == ps->excl_more;
        for (size_t i = 0; same && i < f.nexcl; i++)
            same = f.excl[i].seq == ps->excl[i].seq && f.excl[i].kind == ps->excl[i].kind &&
                   f.excl[i].from_ms == ps->excl[i].from_ms &&
                   f.excl[i].until_ms == ps->excl[i].until_ms;
        if (!same)
            stale(ps, "exclusions");
    }
    size_t n;
    struct rg_limit l[1];
    if ((ps->have & RG__HAVE_LIMITS) && rg__ps_limits(rg, tx, &f, 0, l, 0, &n) == PB_OK) {
        bool same = f.nlimits == ps->nlimits && f.limits_more == ps->limits_more;
        for (size_t i = 0; same && i < f.nlimits; i++)
            same = same_limit(&f.limits[i], &ps->limits[i]);
        if (!same)
            stale(ps, "limits");
    }
    for (size_t i = 0; i < RG__CURRENCIES_MAX; i++) {
        const struct rg__totals *t = &ps->totals[i];
        struct rg__activity a;
        if (t->currency[0] && rg__activity_at(tx, ps->player_id, t->currency, INT64_MAX, &a) ==
                                  PB_OK &&
            memcmp(&a, &t->last, sizeof(a)) != 0)
            stale(ps, "running totals");
    }
    for (size_t i = 0; i < RG__BOUNDS_MAX; i++) {
        const struct rg__bound *b = ps->bounds[i];
        struct rg__bound fb;
        if (!b || !b->currency[0] || load_bound(tx, ps, b->currency, b->at, &fb) != PB_OK)
            continue;
        /* The same rows (appended ones come after them and lowered hi). */
        bool same = fb.has0 == b->has0 && fb.n >= b->n &&
                    memcmp(fb.rows, b->rows, b->n * sizeof(b->rows[0])) == 0 &&
                    (fb.n > b->n ? fb.rows[b->n].at_ms >= b->hi : fb.hi >= b->hi);
        if (!same)
            stale(ps, "window start");
    }
    pstate_free(&f);
}
