/* rg.c: the debit-path guard, limits, exclusions and usage over rolling windows (rg.h). */
#include "rg/rg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/base.h"
#include "pam/kyc.h"
#include "pam/pam.h"
#include "rg/rg_int.h"

#define PLAYER_PREFIX "player:"
#define PLAYER_PREFIX_LEN 7

/* ---- names ---- */

static const char *const kind_names[] = {NULL, "deposit", "loss", "wager", "session_time"};
static const char *const window_names[] = {NULL, "24h", "7d", "30d"};

const char *rg_limit_kind_name(enum rg_limit_kind k)
{
    PB_ASSERT(k >= RG_LIMIT_DEPOSIT && k <= RG_LIMIT_SESSION);
    return kind_names[k];
}

int rg_limit_kind_parse(const char *name, enum rg_limit_kind *out)
{
    for (int k = RG_LIMIT_DEPOSIT; k <= RG_LIMIT_SESSION; k++)
        if (strcmp(name, kind_names[k]) == 0)
            return *out = (enum rg_limit_kind)k, PB_OK;
    return PB_ERR_INVALID;
}

const char *rg_window_name(enum rg_window w)
{
    PB_ASSERT(w >= RG_WINDOW_DAY && w <= RG_WINDOW_MONTH);
    return window_names[w];
}

int rg_window_parse(const char *name, enum rg_window *out)
{
    for (int w = RG_WINDOW_DAY; w <= RG_WINDOW_MONTH; w++)
        if (strcmp(name, window_names[w]) == 0)
            return *out = (enum rg_window)w, PB_OK;
    return PB_ERR_INVALID;
}

int64_t rg_window_ms(enum rg_window w)
{
    static const int64_t days[] = {0, 1, 7, 30};
    PB_ASSERT(w >= RG_WINDOW_DAY && w <= RG_WINDOW_MONTH);
    return days[w] * RG_DAY_MS;
}

void rg__time_member(struct pb_buf *b, const char *key, int64_t ms)
{
    char text[PB_TIME_TEXT_MAX];
    if (ms == INT64_MAX) {
        pb_buf_printf(b, ",\"%s\":null", key);
        return;
    }
    pb_format_time_ms(ms, text);
    pb_buf_printf(b, ",\"%s\":\"%s\"", key, text);
}

/* ---- the module ---- */

struct rg *rg_new(const struct pam_config *cfg, struct rg_rules *rules)
{
    PB_ASSERT(cfg && rules && rules->nsets >= 1);
    struct rg *rg = pb_calloc(1, sizeof(*rg));
    rg->cfg = cfg;
    rg->rules = rules;
    const char *check = getenv("PITBOSS_RG_CACHE_CHECK");
    rg->cache = rg__cache_new(check && strcmp(check, "1") == 0);
    return rg;
}

void rg_free(struct rg *rg)
{
    if (!rg)
        return;
    rg_rules_free(rg->rules);
    rg__cache_free(rg->cache);
    pb_free(rg);
}

void rg_set_clock(struct rg *rg, int64_t (*now_ms)(void *arg), void *arg)
{
    rg->clock = now_ms;
    rg->clock_arg = arg;
}

int64_t rg_now_ms(const struct rg *rg)
{
    return rg->clock ? rg->clock(rg->clock_arg) : pb_wall_ms();
}

const struct rg_rule_set *rg__default_rules(const struct rg *rg)
{
    const struct rg_rule_set *rs = rg_rules_find(rg->rules, "permissive");
    return rs ? rs : &rg->rules->sets[0];
}

/* The rule set of a known player p. */
const struct rg_rule_set *rg__rules_of(const struct rg *rg, const struct pam_player *p)
{
    const struct pam_brand *b = pam_config_brand(rg->cfg, p->brand);
    const struct rg_rule_set *rs = b ? rg_rules_find(rg->rules, b->jurisdiction->rg_rule_set)
                                     : NULL;
    return rs ? rs : rg__default_rules(rg);
}

int rg_player_rules(struct rg *rg, struct store *s, const char *player_id,
                    const struct rg_rule_set **out)
{
    struct pam_player p;
    int rc = pam_player_get(s, player_id, &p);
    if (rc == PB_OK)
        *out = rg__rules_of(rg, &p);
    return rc;
}

/* ---- storage helpers ---- */

static int bind_text(struct store_stmt *st, int idx, const char *v)
{
    return store_bind_text(st, idx, v, strlen(v));
}

int rg__activity_at(struct store *s, const char *player_id, const char *currency,
                    int64_t at_ms, struct rg__activity *out)
{
    memset(out, 0, sizeof(*out));
    struct store_stmt *st;
    int rc = store_prepare(s,
                           "SELECT seq, at_ms, stakes, wins, deposits FROM rg_activity"
                           " WHERE player_id = ? AND currency = ? AND at_ms <= ?"
                           " ORDER BY at_ms DESC, seq DESC LIMIT 1",
                           &st);
    if (rc != PB_OK)
        return rc;
    rc = bind_text(st, 1, player_id);
    rc = rc ? rc : bind_text(st, 2, currency);
    rc = rc ? rc : store_bind_int64(st, 3, at_ms);
    rc = rc ? rc : store_step(st);
    if (rc == STORE_ROW) {
        int64_t *f[] = {&out->seq, &out->at_ms, &out->stakes, &out->wins, &out->deposits};
        for (int i = 0; i < 5; i++)
            *f[i] = store_column_int64(st, i);
    }
    store_finalize(st);
    return rc == STORE_ROW || rc == STORE_DONE ? PB_OK : PB_ERR_DB;
}

int rg__activity_after(struct store *s, const char *player_id, const char *currency,
                       int64_t at_ms, struct rg__activity *out, size_t max, size_t *n)
{
    *n = 0;
    struct store_stmt *st;
    int rc = store_prepare(s,
                           "SELECT seq, at_ms, stakes, wins, deposits FROM rg_activity"
                           " WHERE player_id = ? AND currency = ? AND at_ms > ?"
                           " ORDER BY at_ms, seq LIMIT ?",
                           &st);
    if (rc != PB_OK)
        return rc;
    rc = bind_text(st, 1, player_id);
    rc = rc ? rc : bind_text(st, 2, currency);
    rc = rc ? rc : store_bind_int64(st, 3, at_ms);
    rc = rc ? rc : store_bind_int64(st, 4, (int64_t)max);
    while (rc == PB_OK && *n < max && (rc = store_step(st)) == STORE_ROW) {
        rc = PB_OK;
        int64_t *f[] = {&out[*n].seq, &out[*n].at_ms, &out[*n].stakes, &out[*n].wins,
                        &out[*n].deposits};
        for (int i = 0; i < 5; i++)
            *f[i] = store_column_int64(st, i);
        (*n)++;
    }
    store_finalize(st);
    return rc == STORE_DONE || rc == PB_OK ? PB_OK : PB_ERR_DB;
}

static int activity_append(struct store *tx, const char *player_id, const char *currency,
                           const struct rg__activity *a)
{
    struct store_stmt *st;
    int rc = store_prepare(tx,
                           "INSERT INTO rg_activity (player_id, currency, seq, at_ms, stakes,"
                           " wins, deposits) VALUES (?, ?, ?, ?, ?, ?, ?)",
                           &st);
    if (rc != PB_OK)
        return rc;
    rc = bind_text(st, 1, player_id);
    rc = rc ? rc : bind_text(st, 2, currency);
    const int64_t v[] = {a->seq, a->at_ms, a->stakes, a->wins, a->deposits};
    for (int i = 0; i < 5 && rc == PB_OK; i++)
        rc = store_bind_int64(st, 3 + i, v[i]);
    rc = rc ? rc : store_step(st);
    store_finalize(st);
    return rc == STORE_DONE ? PB_OK : PB_ERR_DB;
}

int rg__player_get(struct store *s, const char *player_id, struct rg__player *out)
{
    *out = (struct rg__player){.reality_minutes = -1};
    struct store_stmt *st;
    int rc = store_prepare(s,
                           "SELECT prompt_answered, reality_minutes, last_slot_cycle_ms,"
                           " chase_from_ms, chase_deposits FROM rg_players WHERE player_id = ?",
                           &st);
    if (rc != PB_OK)
        return rc;
    rc = bind_text(st, 1, player_id);
    rc = rc ? rc : store_step(st);
    if (rc == STORE_ROW) {
        out->prompt_answered = store_column_int64(st, 0) != 0;
        out->reality_minutes = (int)store_column_int64(st, 1);
        out->last_slot_cycle_ms = store_column_int64(st, 2);
        out->chase_from_ms = store_column_int64(st, 3);
        out->chase_deposits = (int)store_column_int64(st, 4);
    }
    store_finalize(st);
    return rc == STORE_ROW || rc == STORE_DONE ? PB_OK : PB_ERR_DB;
}

int rg__player_put(struct store *tx, const char *player_id, const struct rg__player *p)
{
    struct store_stmt *st;
    int rc = store_prepare(tx,
                           "INSERT INTO rg_players (player_id, prompt_answered, reality_minutes,"
                           " last_slot_cycle_ms, chase_from_ms, chase_deposits)"
                           " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (player_id) DO UPDATE SET"
                           " prompt_answered = excluded.prompt_answered,"
                           " reality_minutes = excluded.reality_minutes,"
                           " last_slot_cycle_ms = excluded.last_slot_cycle_ms,"
                           " chase_from_ms = excluded.chase_from_ms,"
                           " chase_deposits = excluded.chase_deposits",
                           &st);
    if (rc != PB_OK)
        return rc;
    rc = bind_text(st, 1, player_id);
    const int64_t v[] = {p->prompt_answered, p->reality_minutes, p->last_slot_cycle_ms,
                         p->chase_from_ms, p->chase_deposits};
    for (int i = 0; i < 5 && rc == PB_OK; i++)
        rc = store_bind_int64(st, 2 + i, v[i]);
    rc = rc ? rc : store_step(st);
    store_finalize(st);
    return rc == STORE_DONE ? PB_OK : PB_ERR_DB;
}

/* ---- limits ---- */

static void limit_row(struct store_stmt *st, struct rg_limit *l)
{
    memset(l, 0, sizeof(*l));
    l->kind = (enum rg_limit_kind)store_column_int64(st, 0);
    l->window = (enum rg_window)store_column_int64(st, 1);
    pb_strlcpy(l->currency, store_column_text(st, 2), sizeof(l->currency));
    l->value = store_column_int64(st, 3);
    l->pending_value = store_column_int64(st, 4);
    l->pending_at_ms = store_column_int64(st, 5);
    l->set_at_ms = store_column_int64(st, 6);
    PB_ASSERT(l->kind >= RG_LIMIT_DEPOSIT && l->kind <= RG_LIMIT_SESSION);
    PB_ASSERT(l->window >= RG_WINDOW_DAY && l->window <= RG_WINDOW_MONTH);
}

static int limit_rows_prepare(struct store *s, const char *player_id, struct store_stmt **st)
{
    int rc = store_prepare(s,
                           "SELECT kind, win, currency, value, pending_value, pending_at_ms,"
                           " set_at_ms FROM rg_limits WHERE player_id = ?"
                           " ORDER BY kind, win, currency",
                           st);
    if (rc != PB_OK)
        return rc;
    return bind_text(*st, 1, player_id);
}

bool rg__limit_at(const struct rg_limit *raw, int64_t now, struct rg_limit *out)
{
    *out = *raw;
    if (out->pending_at_ms && now >= out->pending_at_ms) {
        out->set_at_ms = out->pending_at_ms;
        out->value = out->pending_value;
        out->pending_value = 0;
        out->pending_at_ms = 0;
    }
    return out->value > 0 || out->pending_at_ms;
}

int rg__limit_rows(struct store *s, const char *player_id, struct rg_limit *out, size_t max,
                   size_t *n, bool *more)
{
    *n = 0;
    *more = false;
    struct store_stmt *st = NULL;
    int rc = limit_rows_prepare(s, player_id, &st);
    while (rc == PB_OK && (rc = store_step(st)) == STORE_ROW) {
        rc = PB_OK;
        if (*n == max) {
            *more = true;
            break;
        }
        limit_row(st, &out[(*n)++]);
    }
    store_finalize(st);
    return rc == STORE_DONE || rc == PB_OK ? PB_OK : PB_ERR_DB;
}

/* Reads the player's limits as in force at now (a due pending change applied). */
int rg__limits_in_force(struct store *s, const char *player_id, int64_t now,
                        struct rg_limit *out, size_t max, size_t *n)
{
    *n = 0;
    struct store_stmt *st = NULL;
    int rc = limit_rows_prepare(s, player_id, &st);
    while (rc == PB_OK && *n < max && (rc = store_step(st)) == STORE_ROW) {
        rc = PB_OK;
        struct rg_limit raw;
        limit_row(st, &raw);
        if (rg__limit_at(&raw, now, &out[*n]))
            (*n)++;
    }
    store_finalize(st);
    return rc == STORE_DONE || rc == PB_OK ? PB_OK : PB_ERR_DB;
}

static int limit_write(struct store *tx, const char *player_id, const struct rg_limit *l)
{
    struct store_stmt *st;
    int rc = store_prepare(tx,
                           "INSERT INTO rg_limits (player_id, kind, win, currency, value,"
                           " pending_value, pending_at_ms, set_at_ms) VALUES (?, ?, ?, ?, ?, ?,"
                           " ?, ?) ON CONFLICT (player_id, kind, win, currency) DO UPDATE SET"
                           " value = excluded.value, pending_value = excluded.pending_value,"
                           " pending_at_ms = excluded.pending_at_ms, set_at_ms ="
                           " excluded.set_at_ms",
                           &st);
    if (rc != PB_OK)
        return rc;
    rc = bind_text(st, 1, player_id);
    rc = rc ? rc : store_bind_int64(st, 2, l->kind);
    rc = rc ? rc : store_bind_int64(st, 3, l->window);
    rc = rc ? rc : bind_text(st, 4, l->currency);
    const int64_t v[] = {l->value, l->pending_value, l->pending_at_ms, l->set_at_ms};
    for (int i = 0; i < 4 && rc == PB_OK; i++)
        rc = store_bind_int64(st, 5 + i, v[i]);
    rc = rc ? rc : store_step(st);
    store_finalize(st);
    return rc == STORE_DONE ? PB_OK : PB_ERR_DB;
}

/* The value a limit kind measures from running totals. */
static int64_t metric(enum rg_limit_kind k, const struct rg__activity *a)
{
    switch (k) {
    case RG_LIMIT_DEPOSIT:
        return a->deposits;
    case RG_LIMIT_WAGER:
        return a->stakes;
    case RG_LIMIT_LOSS:
        return a->stakes - a->wins;
    case RG_LIMIT_SESSION:
        break;
    }
    PB_ASSERT(!"session time is not a money metric");
    return 0;
}

/* Usage of limit l at now: money over the window from running totals, or session seconds. */
static int limit_usage(const struct rg *rg, struct store *s, const char *player_id,
                       const struct rg_limit *l, int64_t now, int64_t *used)
{
    if (l->kind == RG_LIMIT_SESSION) {
        int64_t ms;
        int rc = pam_session_time(s, player_id, now - rg_window_ms(l->window), now,
                                  rg->cfg->policy.session_idle_s, &ms);
        *used = ms / 1000;
        return rc;
    }
    struct rg__activity last, before;
    int rc = rg__activity_at(s, player_id, l->currency, INT64_MAX, &last);
    rc = rc ? rc : rg__activity_at(s, player_id, l->currency, now - rg_window_ms(l->window),
                                   &before);
    *used = metric(l->kind, &last) - metric(l->kind, &before);
    return rc;
}

int rg_limits_get(struct rg *rg, struct store *s, const char *player_id, struct rg_limit *out,
                  size_t max, size_t *n)
{
    int64_t now = rg_now_ms(rg);
    int rc = rg__limits_in_force(s, player_id, now, out, max, n);
    for (size_t i = 0; i < *n && rc == PB_OK; i++)
        rc = limit_usage(rg, s, player_id, &out[i], now, &out[i].used);
    return rc;
}

int rg_limit_set(struct rg *rg, struct store *tx, struct writer_cmd *cmd, const char *player_id,
                 enum rg_limit_kind kind, enum rg_window window, const char *currency,
                 int64_t value, const char *actor, bool *effective_now)
{
    PB_ASSERT(value >= 0 && (kind == RG_LIMIT_SESSION) == (currency[0] == '\0'));
    int64_t now = rg_now_ms(rg);
    rg__forget(rg, player_id);
    const struct rg_rule_set *rs = rg__default_rules(rg);
    struct pam_player p;
    int rc = pam_player_get(tx, player_id, &p);
    if (rc == PB_OK)
        rs = rg__rules_of(rg, &p);
    else if (rc != PB_ERR_NOT_FOUND)
        return rc;
    struct rg_limit all[RG_LIMITS_MAX * 4], cur = {.kind = kind, .window = window};
    size_t n;
    rc = rg__limits_in_force(tx, player_id, now, all, PB_ARRAY_LEN(all), &n);
    if (rc != PB_OK)
        return rc;
    pb_strlcpy(cur.currency, currency, sizeof(cur.currency));
    for (size_t i = 0; i < n; i++)
        if (all[i].kind == kind && all[i].window == window &&
            strcmp(all[i].currency, currency) == 0)
            cur = all[i];
    /* Tighter (or equal, which cancels a pending change) takes effect now; looser waits. */
    bool tighter = value > 0 && (cur.value == 0 || value <= cur.value);
    if (tighter || (value == 0 && cur.value == 0)) {
        cur.value = value;
        cur.pending_value = 0;
        cur.pending_at_ms = 0;
        cur.set_at_ms = now;
        *effective_now = true;
    } else {
        cur.pending_value = value;
        cur.pending_at_ms = now + rs->cooling_ms;
        *effective_now = false;
    }
    rc = limit_write(tx, player_id, &cur);
    if (rc == PB_OK && kind == RG_LIMIT_DEPOSIT && value > 0)
        rc = rg_prompt_answer(rg, tx, player_id); /* a deposit limit answers the prompt */
    if (rc != PB_OK)
        return rc;
    struct pb_buf b = PB_BUF_INIT;
    pb_buf_printf(&b, "{\"player_id\":\"%s\",\"limit\":\"%s\",\"window\":\"%s\","
                      "\"currency\":\"%s\",\"value\":%lld,\"effective_now\":%s",
                  player_id, rg_limit_kind_name(kind), rg_window_name(window), currency,
                  (long long)value, *effective_now ? "true" : "false");
    if (!*effective_now)
        rg__time_member(&b, "effective_at", cur.pending_at_ms);
    pb_buf_puts(&b, ",\"actor\":");
    pb_buf_json_string(&b, actor, strlen(actor));
    pb_buf_putc(&b, '}');
    char subject[PLAYER_PREFIX_LEN + PAM_PLAYER_ID_SIZE];
    snprintf(subject, sizeof(subject), PLAYER_PREFIX "%s", player_id);
    rc = writer_emit(tx, cmd, "rg.limit_set", subject, b.data);
    pb_buf_release(&b);
    return rc;
}

/* ---- exclusions ---- */

int rg__exclusion_at(struct store *s, const char *player_id, int64_t now, bool *active,
                     struct rg_exclusion *out)
{
    *active = false;
    struct store_stmt *st;
    int rc = store_prepare(s,
                           "SELECT kind, from_ms, until_ms FROM rg_exclusions WHERE player_id = ?"
                           " AND from_ms <= ? AND until_ms > ? ORDER BY until_ms DESC, seq DESC"
                           " LIMIT 1",
                           &st);
    if (rc != PB_OK)
        return rc;
    rc = bind_text(st, 1, player_id);
    rc = rc ? rc : store_bind_int64(st, 2, now);
    rc = rc ? rc : store_bind_int64(st, 3, now);
    rc = rc ? rc : store_step(st);
    if (rc == STORE_ROW) {
        *active = true;
        out->kind = (enum rg_exclusion_kind)store_column_int64(st, 0);
        out->from_ms = store_column_int64(st, 1);
        out->until_ms = store_column_int64(st, 2);
    }
    store_finalize(st);
    return rc == STORE_ROW || rc == STORE_DONE ? PB_OK : PB_ERR_DB;
}

int rg_exclusion_get(struct rg *rg, struct store *s, const char *player_id, bool *active,
                     struct rg_exclusion *out)
{
    return rg__exclusion_at(s, player_id, rg_now_ms(rg), active, out);
}

int rg__exclusion_rows(struct store *s, const char *player_id, int64_t after_ms,
                       struct rg__excl_row *out, size_t max, size_t *n, bool *more)
{
    *n = 0;
    *more = false;
    struct store_stmt *st;
    int rc = store_prepare(s,
                           "SELECT seq, kind, from_ms, until_ms FROM rg_exclusions"
                           " WHERE player_id = ? AND until_ms > ?"
                           " ORDER BY until_ms DESC, seq DESC LIMIT ?",
                           &st);
    if (rc != PB_OK)
        return rc;
    rc = bind_text(st, 1, player_id);
    rc = rc ? rc : store_bind_int64(st, 2, after_ms);
    rc = rc ? rc : store_bind_int64(st, 3, (int64_t)max + 1);
    while (rc == PB_OK && (rc = store_step(st)) == STORE_ROW) {
        rc = PB_OK;
        if (*n == max) {
            *more = true;
            break;
        }
        out[*n] = (struct rg__excl_row){store_column_int64(st, 0), store_column_int64(st, 2),
                                        store_column_int64(st, 3),
                                        (enum rg_exclusion_kind)store_column_int64(st, 1)};
        (*n)++;
    }
    store_finalize(st);
    return rc == STORE_DONE || rc == PB_OK ? PB_OK : PB_ERR_DB;
}

int rg_exclude(struct rg *rg, struct store *tx, struct writer_cmd *cmd, const char *player_id,
               enum rg_exclusion_kind kind, int64_t until_ms, const char *actor)
{
    int64_t now = rg_now_ms(rg);
    PB_ASSERT(until_ms > now);
    rg__forget(rg, player_id);
    bool active;
    struct rg_exclusion cur;
    int rc = rg_exclusion_get(rg, tx, player_id, &active, &cur);
    if (rc != PB_OK)
        return rc;
    if (active && until_ms < cur.until_ms)
        return PB_ERR_CONFLICT; /* cannot be shortened */
    struct store_stmt *st;
    rc = store_prepare(tx,
                       "INSERT INTO rg_exclusions (player_id, seq, kind, from_ms, until_ms,"
                       " actor) SELECT ?, COALESCE(MAX(seq), 0) + 1, ?, ?, ?, ?"
                       " FROM rg_exclusions WHERE player_id = ?",
                       &st);
    if (rc != PB_OK)
        return rc;
    rc = bind_text(st, 1, player_id);
    rc = rc ? rc : store_bind_int64(st, 2, kind);
    rc = rc ? rc : store_bind_int64(st, 3, now);
    rc = rc ? rc : store_bind_int64(st, 4, until_ms);
    rc = rc ? rc : bind_text(st, 5, actor);
    rc = rc ? rc : bind_text(st, 6, player_id);
    rc = rc ? rc : store_step(st);
    store_finalize(st);
    if (rc != STORE_DONE)
        return PB_ERR_DB;
    struct pb_buf b = PB_BUF_INIT;
    pb_buf_printf(&b, "{\"player_id\":\"%s\"", player_id);
    rg__time_member(&b, "until", until_ms);
    pb_buf_printf(&b, ",\"permanent\":%s,\"marketing_allowed\":false,\"actor\":",
                  until_ms == INT64_MAX ? "true" : "false");
    pb_buf_json_string(&b, actor, strlen(actor));
    pb_buf_putc(&b, '}');
    char subject[PLAYER_PREFIX_LEN + PAM_PLAYER_ID_SIZE];
    snprintf(subject, sizeof(subject), PLAYER_PREFIX "%s", player_id);
    rc = writer_emit(tx, cmd, kind == RG_TIME_OUT ? "rg.time_out" : "rg.self_exclusion",
                     subject, b.data);
    pb_buf_release(&b);
    return rc;
}

int rg_prompt_answer(struct rg *rg, struct store *tx, const char *player_id)
{
    rg__forget(rg, player_id);
    struct rg__player p;
    int rc = rg__player_get(tx, player_id, &p);
    p.prompt_answered = true;
    return rc ? rc : rg__player_put(tx, player_id, &p);
}

/* ---- the guard ---- */

/* What one group does for one player in one currency. */
struct agg {
    const char *player_id; /* into an owner string of the group */
    const char *currency;
    int64_t stake, stake_back, win, deposit, deposit_back, slot_stake;
    const struct ledger_context *ctx; /* of the first stake */
};

static struct agg *agg_of(struct agg *a, size_t *n, const char *owner, const char *currency)
{
    const char *id = owner + PLAYER_PREFIX_LEN;
    for (size_t i = 0; i < *n; i++)
        if (strcmp(a[i].player_id, id) == 0 && strcmp(a[i].currency, currency) == 0)
            return &a[i];
    a[*n] = (struct agg){.player_id = id, .currency = currency};
    return &a[(*n)++];
}

static bool is_player(const char *owner)
{
    return strncmp(owner, PLAYER_PREFIX, PLAYER_PREFIX_LEN) == 0;
}

static int refuse(struct ledger_refusal *r, int status, const char *code, const char *detail)
{
    memset(r, 0, sizeof(*r));
    r->status = status;
    pb_strlcpy(r->code, code, sizeof(r->code));
    pb_strlcpy(r->detail, detail, sizeof(r->detail));
    return LEDGER_E_REFUSED;
}

static void members(struct ledger_refusal *r, const struct pb_buf *b)
{
    /* b starts with ','; the members string has no leading comma. */
    PB_ASSERT(b->len < sizeof(r->members) + 1);
    pb_strlcpy(r->members, b->len ? b->data + 1 : "", sizeof(r->members));
}

/* Age in whole years at now of a player born on y-m-d (read from "YYYY-MM-DD"); 200 when
 * the date was unreadable (no youth cap). */
static int age_years(const struct rg__pstate *ps, int64_t now)
{
    if (!ps->dob_ok)
        return 200;
    int y = ps->dob[0], m = ps->dob[1], d = ps->dob[2];
    time_t t = (time_t)(now / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    int age = tm.tm_year + 1900 - y;
    if (tm.tm_mon + 1 < m || (tm.tm_mon + 1 == m && tm.tm_mday < d))
        age--;
    return age;
}

/* The block, exclusion and KYC checks shared by stakes and deposits. */
static int common_checks(struct rg *rg, struct store *tx, struct rg__pstate *ps, int64_t now,
                         unsigned block, enum kyc_action action, struct ledger_refusal *r)
{
    if (ps->known && (ps->closed || (ps->blocks & block)))
        return refuse(r, 403, "player_blocked",
                      "the account is blocked for this operation; withdrawals stay possible");
    bool active;
    struct rg_exclusion ex;
    int rc = rg__ps_exclusion(rg, tx, ps, now, &active, &ex);
    if (rc != PB_OK)
        return rc;
    if (active) {
        refuse(r, 403, "self_excluded",
               ex.kind == RG_TIME_OUT ? "the player has taken a time-out"
                                      : "the player has excluded themselves");
        struct pb_buf b = PB_BUF_INIT;
        pb_buf_printf(&b, ",\"exclusion\":\"%s\"",
                      ex.kind == RG_TIME_OUT ? "time_out" : "self_exclusion");
        rg__time_member(&b, "until", ex.until_ms);
        members(r, &b);
        pb_buf_release(&b);
        return LEDGER_E_REFUSED;
    }
    if (ps->known) {
        bool allowed;
        rc = rg__ps_kyc(rg, tx, ps, action, &allowed);
        if (rc != PB_OK)
            return rc;
        if (!allowed)
            return refuse(r, 403, "kyc_required",
                          "the jurisdiction requires verified identity (KYC) first");
    }
    return PB_OK;
}

/* When limit l (measured on running totals) lets amount through again, if no new activity
 * happens: the first activity row leaving the window that brings usage low enough. */
static int resets_at(struct store *tx, const char *player_id, const struct rg_limit *l,
                     int64_t now, int64_t amount, int64_t *at)
{
    *at = INT64_MAX;
    struct rg__activity last;
    int rc = rg__activity_at(tx, player_id, l->currency, INT64_MAX, &last);
    if (rc != PB_OK)
        return rc;
    int64_t w = rg_window_ms(l->window);
    struct store_stmt *st;
    rc = store_prepare(tx,
                       "SELECT seq, at_ms, stakes, wins, deposits FROM rg_activity WHERE"
                       " player_id = ? AND currency = ? AND at_ms > ? ORDER BY at_ms, seq"
                       " LIMIT ?",
                       &st);
    if (rc != PB_OK)
        return rc;
    rc = bind_text(st, 1, player_id);
    rc = rc ? rc : bind_text(st, 2, l->currency);
    rc = rc ? rc : store_bind_int64(st, 3, now - w);
    rc = rc ? rc : store_bind_int64(st, 4, RG_REFUSAL_SCAN_MAX);
    while (rc == PB_OK && (rc = store_step(st)) == STORE_ROW) {
        rc = PB_OK;
        struct rg__activity a = {store_column_int64(st, 0), store_column_int64(st, 1),
                                 store_column_int64(st, 2), store_column_int64(st, 3),
                                 store_column_int64(st, 4)};
        /* Once row a leaves the window (at a.at_ms + w), usage is last - a. */
        if (metric(l->kind, &last) - metric(l->kind, &a) + amount <= l->value) {
            *at = a.at_ms + w;
            break;
        }
    }
    store_finalize(st);
    return rc == PB_OK || rc == STORE_DONE ? PB_OK : PB_ERR_DB;
}

/* Checks the limits of kinds k1/k2 (0: unused) in currency against amount; refuses with the
 * one that has the least room. */
static int limit_checks(struct rg *rg, struct store *tx, struct rg__pstate *ps,
                        const char *currency, enum rg_limit_kind k1, enum rg_limit_kind k2,
                        int64_t amount, int64_t now, struct ledger_refusal *r)
{
    const char *player_id = ps->player_id;
    struct rg_limit all[RG_LIMITS_MAX * 4];
    size_t n;
    int rc = rg__ps_limits(rg, tx, ps, now, all, PB_ARRAY_LEN(all), &n);
    const struct rg_limit *worst = NULL;
    int64_t worst_room = INT64_MAX, worst_used = 0;
    for (size_t i = 0; i < n && rc == PB_OK; i++) {
        const struct rg_limit *l = &all[i];
        if (l->value <= 0 || (l->kind != k1 && l->kind != k2))
            continue;
        if (l->kind != RG_LIMIT_SESSION && strcmp(l->currency, currency) != 0)
            continue;
        int64_t used;
        if (l->kind == RG_LIMIT_SESSION) {
            rc = limit_usage(rg, tx, player_id, l, now, &used);
        } else {
            struct rg__activity last, before;
            rc = rg__ps_last(rg, tx, ps, currency, &last);
            rc = rc ? rc : rg__ps_at(rg, tx, ps, currency, rg_window_ms(l->window), now,
                                     &before);
            used = metric(l->kind, &last) - metric(l->kind, &before);
        }
        bool over = l->kind == RG_LIMIT_SESSION ? used >= l->value
                                                : used > l->value - amount;
        int64_t room = l->value - used;
        if (rc == PB_OK && over && room < worst_room) {
            worst = l;
            worst_room = room;
            worst_used = used;
        }
    }
    if (rc != PB_OK || !worst)
        return rc;
    char detail[LEDGER_REFUSAL_DETAIL_MAX];
    snprintf(detail, sizeof(detail), "the player's %s limit over %s does not allow this",
             rg_limit_kind_name(worst->kind), rg_window_name(worst->window));
    refuse(r, 422, "limit_exceeded", detail);
    struct pb_buf b = PB_BUF_INIT;
    pb_buf_printf(&b, ",\"limit\":\"%s\",\"window\":\"%s\"", rg_limit_kind_name(worst->kind),
                  rg_window_name(worst->window));
    if (worst->kind == RG_LIMIT_SESSION) {
        pb_buf_printf(&b, ",\"limit_s\":%lld,\"used_s\":%lld,\"remaining_s\":0",
                      (long long)worst->value, (long long)worst_used);
    } else {
        int64_t at;
        rc = resets_at(tx, player_id, worst, now, amount, &at);
        pb_buf_printf(&b, ",\"currency\":\"%s\",\"limit_minor\":%lld,\"used_minor\":%lld,"
                          "\"remaining_minor\":%lld",
                      currency, (long long)worst->value, (long long)worst_used,
                      (long long)(worst_room > 0 ? worst_room : 0));
        rg__time_member(&b, "resets_at", at);
    }
    members(r, &b);
    pb_buf_release(&b);
    return rc ? rc : LEDGER_E_REFUSED;
}

static int stake_checks(struct rg *rg, struct store *tx, const struct agg *a,
                        struct rg__pstate *ps, int64_t now, struct rg__player *rp,
                        bool *rp_dirty, struct ledger_refusal *r)
{
    int rc = common_checks(rg, tx, ps, now, PAM_BLOCK_BET, KYC_ACTION_PLAY, r);
    if (rc != PB_OK)
        return rc;
    const struct rg_rule_set *rs = ps->rules;
    if (a->ctx && a->ctx->autoplay && !rs->autoplay)
        return refuse(r, 422, "autoplay_not_allowed", "the jurisdiction does not allow autoplay");
    if (a->ctx && a->ctx->turbo && !rs->turbo)
        return refuse(r, 422, "turbo_not_allowed",
                      "the jurisdiction does not allow shortened game cycles");
    if (a->slot_stake > 0) {
        for (size_t i = 0; i < rs->nslot_stake_caps; i++) {
            const struct rg_stake_cap *c = &rs->slot_stake_caps[i];
            if (strcmp(c->currency, a->currency) != 0)
                continue;
            bool young = ps->known && rs->young_age_max > 0 && c->young_cap_minor > 0 &&
                         age_years(ps, now) <= rs->young_age_max;
            int64_t cap = young ? c->young_cap_minor : c->cap_minor;
            if (a->slot_stake > cap) {
                refuse(r, 422, "stake_cap_exceeded",
                       "the stake is above the jurisdiction's cap per slot game cycle");
                snprintf(r->members, sizeof(r->members),
                         "\"currency\":\"%s\",\"cap_minor\":%lld,\"young_player_cap\":%s",
                         a->currency, (long long)cap, young ? "true" : "false");
                return LEDGER_E_REFUSED;
            }
        }
        if (rs->min_game_cycle_ms > 0) {
            int64_t next = rp->last_slot_cycle_ms + rs->min_game_cycle_ms;
            if (rp->last_slot_cycle_ms > 0 && now < next) {
                refuse(r, 429, "game_cycle_too_fast",
                       "a slot game cycle may start only after the jurisdiction's minimum");
                snprintf(r->members, sizeof(r->members),
                         "\"min_game_cycle_ms\":%lld,\"retry_after_ms\":%lld",
                         (long long)rs->min_game_cycle_ms, (long long)(next - now));
                return LEDGER_E_REFUSED;
            }
            rp->last_slot_cycle_ms = now;
            *rp_dirty = true;
        }
    }
    rc = limit_checks(rg, tx, ps, a->currency, RG_LIMIT_WAGER, RG_LIMIT_LOSS, a->stake, now, r);
    return rc ? rc : limit_checks(rg, tx, ps, a->currency, RG_LIMIT_SESSION, 0, 0, now, r);
}

static int deposit_checks(struct rg *rg, struct store *tx, const struct agg *a,
                          struct rg__pstate *ps, const struct rg__player *rp, int64_t now,
                          struct ledger_refusal *r)
{
    int rc = common_checks(rg, tx, ps, now, PAM_BLOCK_DEPOSIT, KYC_ACTION_DEPOSIT, r);
    if (rc != PB_OK)
        return rc;
    if (ps->known && ps->rules->deposit_limit_prompt && !rp->prompt_answered) {
        struct rg_limit all[RG_LIMITS_MAX * 4];
        size_t n;
        bool has_deposit_limit = false;
        rc = rg__ps_limits(rg, tx, ps, now, all, PB_ARRAY_LEN(all), &n);
        for (size_t i = 0; i < n && rc == PB_OK; i++)
            has_deposit_limit |= all[i].kind == RG_LIMIT_DEPOSIT && all[i].value > 0;
        if (rc != PB_OK)
            return rc;
        if (!has_deposit_limit)
            return refuse(r, 403, "deposit_limit_prompt_required",
                          "set a deposit limit or decline the prompt before the first deposit");
    }
    return limit_checks(rg, tx, ps, a->currency, RG_LIMIT_DEPOSIT, 0, a->deposit, now, r);
}

/* Sorts the group's transfers into per-player, per-currency aggregates. */
static size_t aggregate(const struct ledger_guard_item *items, size_t n, struct agg *a)
{
    size_t na = 0;
    for (size_t i = 0; i < n; i++) {
        const struct ledger_guard_item *it = &items[i];
        bool opening = it->kind == LEDGER_POSTED || it->kind == LEDGER_PENDING;
        bool settling = it->kind == LEDGER_POSTED || it->kind == LEDGER_POST;
        if (it->code == LEDGER_TX_BET && is_player(it->debit_owner)) {
            struct agg *g = agg_of(a, &na, it->debit_owner, it->currency);
            if (opening) {
                const struct ledger_context *ctx = it->transfer->context;
                g->stake += it->amount;
                if (ctx && ctx->game_kind && strcmp(ctx->game_kind, "slot") == 0)
                    g->slot_stake += it->amount;
                if (!g->ctx)
                    g->ctx = ctx;
            } else {
                g->stake_back += it->released;
            }
        } else if (it->code == LEDGER_TX_DEPOSIT && is_player(it->credit_owner)) {
            struct agg *g = agg_of(a, &na, it->credit_owner, it->currency);
            if (opening)
                g->deposit += it->amount;
            else
                g->deposit_back += it->released;
        } else if (it->code == LEDGER_TX_WIN && settling && is_player(it->credit_owner)) {
            agg_of(a, &na, it->credit_owner, it->currency)->win += it->amount;
        } else if (it->code == LEDGER_TX_REFUND && settling && is_player(it->credit_owner) &&
                   !is_player(it->debit_owner)) {
            /* A stake paid back by the house. A refund between the player's own accounts
             * (a cancelled or rejected withdrawal: locked -> cash) gives no stake back: it
             * would otherwise reopen wager and loss room. */
            agg_of(a, &na, it->credit_owner, it->currency)->stake_back += it->amount;
        }
    }
    return na;
}

/* The chasing-losses marker: the RG_CHASING_DEPOSITS-th deposit within RG_CHASING_WINDOW_MS
 * made while the player's net loss over the last 24 hours is positive. */
static int chasing(struct rg *rg, struct store *tx, struct writer_cmd *cmd, const struct agg *a,
                   struct rg__pstate *ps, struct rg__player *rp, int64_t now, bool *rp_dirty)
{
    struct rg__activity last, day;
    int rc = rg__ps_last(rg, tx, ps, a->currency, &last);
    rc = rc ? rc : rg__activity_at(tx, a->player_id, a->currency, now - RG_DAY_MS, &day);
    if (rc != PB_OK || metric(RG_LIMIT_LOSS, &last) - metric(RG_LIMIT_LOSS, &day) <= 0)
        return rc;
    if (now - rp->chase_from_ms > RG_CHASING_WINDOW_MS) {
        rp->chase_from_ms = now;
        rp->chase_deposits = 0;
    }
    rp->chase_deposits++;
    *rp_dirty = true;
    if (rp->chase_deposits != RG_CHASING_DEPOSITS || !cmd)
        return PB_OK;
    char subject[PLAYER_PREFIX_LEN + PAM_PLAYER_ID_SIZE], data[160];
    snprintf(subject, sizeof(subject), PLAYER_PREFIX "%s", a->player_id);
    snprintf(data, sizeof(data),
             "{\"player_id\":\"%s\",\"marker\":\"chasing_losses\",\"deposits\":%d,"
             "\"currency\":\"%s\"}",
             a->player_id, rp->chase_deposits, a->currency);
    return writer_emit(tx, cmd, "rg.marker", subject, data);
}

/* The checks and the usage record of one player in one currency. */
static int guard_one(struct rg *rg, struct store *tx, struct writer_cmd *cmd,
                     const struct agg *g, struct rg__pstate *ps, int64_t now,
                     struct ledger_refusal *refusal)
{
    int rc = PB_OK;
    if (g->stake > 0 || g->deposit > 0) {
        struct rg__player rp;
        bool rp_dirty = false;
        rc = rg__ps_pam(rg, tx, ps);
        rc = rc ? rc : rg__ps_rp(rg, tx, ps, &rp);
        if (rc == PB_OK && g->stake > 0)
            rc = stake_checks(rg, tx, g, ps, now, &rp, &rp_dirty, refusal);
        if (rc == PB_OK && g->deposit > 0)
            rc = deposit_checks(rg, tx, g, ps, &rp, now, refusal);
        if (rc == PB_OK && g->deposit > 0)
            rc = chasing(rg, tx, cmd, g, ps, &rp, now, &rp_dirty);
        if (rc == PB_OK && rp_dirty) {
            rc = rg__player_put(tx, g->player_id, &rp);
            if (rc == PB_OK)
                rg__ps_set_rp(rg, ps, &rp);
        }
    }
    if (rc != PB_OK)
        return rc; /* LEDGER_E_REFUSED or an error */
    int64_t dstakes = g->stake - g->stake_back, ddeposits = g->deposit - g->deposit_back;
    if (dstakes == 0 && g->win == 0 && ddeposits == 0)
        return PB_OK;
    struct rg__activity last;
    rc = rg__ps_last(rg, tx, ps, g->currency, &last);
    if (rc != PB_OK)
        return rc;
    last.seq++;
    last.at_ms = now > last.at_ms ? now : last.at_ms; /* never back in time */
    if (ledger_add(last.stakes, dstakes, &last.stakes) != PB_OK ||
        ledger_add(last.wins, g->win, &last.wins) != PB_OK ||
        ledger_add(last.deposits, ddeposits, &last.deposits) != PB_OK)
        return refuse(refusal, 422, "overflow", "the player's running totals would overflow");
    rc = activity_append(tx, g->player_id, g->currency, &last);
    if (rc == PB_OK)
        rg__ps_set_last(rg, ps, g->currency, &last);
    return rc;
}

static int guard_check(void *arg, struct store *tx, struct writer_cmd *cmd,
                       const struct ledger_guard_item *items, size_t n,
                       struct ledger_refusal *refusal)
{
    struct rg *rg = arg;
    struct agg a[2 * LEDGER_LINKED_MAX];
    size_t na = aggregate(items, n, a);
    if (na == 0)
        return PB_OK; /* no stake, win, refund or deposit of a player: nothing to check */
    int64_t now = rg_now_ms(rg);
    int rc = PB_OK;
    rg__guard_begin(rg, tx);
    for (size_t i = 0; i < na && rc == PB_OK; i++) {
        struct rg__pstate scratch, *ps = rg__acquire(rg, tx, a[i].player_id, &scratch);
        rc = guard_one(rg, tx, cmd, &a[i], ps, now, refusal);
        rg__release(rg, ps);
    }
    rg__guard_end(rg, rc == PB_OK); /* otherwise the ledger rolls the group back */
    return rc;
}

/* After a refusal: "rg.limit_reached" for a limit, so the risk engine and CRM see it. */
static int guard_refused(void *arg, struct store *tx, struct writer_cmd *cmd,
                         const struct ledger_guard_item *items, size_t n,
                         const struct ledger_refusal *refusal)
{
    PB_UNUSED(arg);
    if (!cmd || strcmp(refusal->code, "limit_exceeded") != 0)
        return PB_OK;
    const char *owner = NULL;
    for (size_t i = 0; i < n && !owner; i++)
        owner = is_player(items[i].debit_owner)    ? items[i].debit_owner
                : is_player(items[i].credit_owner) ? items[i].credit_owner
                                                   : NULL;
    if (!owner)
        return PB_OK;
    struct pb_buf b = PB_BUF_INIT;
    pb_buf_printf(&b, "{\"player_id\":\"%s\",%s}", owner + PLAYER_PREFIX_LEN, refusal->members);
    int rc = writer_emit(tx, cmd, "rg.limit_reached", owner, b.data);
    pb_buf_release(&b);
    return rc;
}

struct ledger_guard rg_guard(struct rg *rg)
{
    return (struct ledger_guard){guard_check, guard_refused, rg};
}
