/* reality.c: reality checks (elapsed session time and net position, pushed when due and
 * acknowledged by the player) and the player's responsible-gaming status (rg.h). */
#include <stdio.h>
#include <string.h>

#include "base/base.h"
#include "pam/pam.h"
#include "rg/rg_int.h"

/* The interval in minutes for the player: their own choice, else the rule set's. */
static int interval_minutes(struct rg *rg, struct store *s, const char *player_id, int *out)
{
    struct rg__player p;
    const struct rg_rule_set *rs;
    int rc = rg__player_get(s, player_id, &p);
    if (rc != PB_OK)
        return rc;
    rc = rg_player_rules(rg, s, player_id, &rs);
    if (rc != PB_OK && rc != PB_ERR_NOT_FOUND)
        return rc;
    *out = p.reality_minutes >= 0 ? p.reality_minutes : rc == PB_OK ? rs->reality_check_minutes
                                                                    : 0;
    return PB_OK;
}

int rg_reality_interval_set(struct rg *rg, struct store *tx, const char *player_id,
                            int minutes)
{
    PB_ASSERT(minutes == 0 || (minutes >= RG_REALITY_MINUTES_MIN &&
                               minutes <= RG_REALITY_MINUTES_MAX));
    rg__forget(rg, player_id);
    struct rg__player p;
    int rc = rg__player_get(tx, player_id, &p);
    p.reality_minutes = minutes;
    return rc ? rc : rg__player_put(tx, player_id, &p);
}

struct reality_row {
    int sent;
    int64_t next_due_ms, last_sent_ms, acked_ms;
    char ack_action[16];
    bool long_marked, found;
};

static int reality_get(struct store *s, const char *session_id, struct reality_row *out)
{
    memset(out, 0, sizeof(*out));
    struct store_stmt *st;
    int rc = store_prepare(s,
                           "SELECT sent, next_due_ms, last_sent_ms, acked_ms, ack_action,"
                           " long_marked FROM rg_reality WHERE session_id = ?",
                           &st);
    if (rc != PB_OK)
        return rc;
    rc = store_bind_text(st, 1, session_id, strlen(session_id));
    rc = rc ? rc : store_step(st);
    if (rc == STORE_ROW) {
        out->found = true;
        out->sent = (int)store_column_int64(st, 0);
        out->next_due_ms = store_column_int64(st, 1);
        out->last_sent_ms = store_column_int64(st, 2);
        out->acked_ms = store_column_int64(st, 3);
        pb_strlcpy(out->ack_action, store_column_text(st, 4), sizeof(out->ack_action));
        out->long_marked = store_column_int64(st, 5) != 0;
    }
    store_finalize(st);
    return rc == STORE_ROW || rc == STORE_DONE ? PB_OK : PB_ERR_DB;
}

static int reality_put(struct store *tx, const char *session_id, const char *player_id,
                       const struct reality_row *r)
{
    struct store_stmt *st;
    int rc = store_prepare(tx,
                           "INSERT INTO rg_reality (session_id, player_id, sent, next_due_ms,"
                           " last_sent_ms, acked_ms, ack_action, long_marked) VALUES (?, ?, ?,"
                           " ?, ?, ?, ?, ?) ON CONFLICT (session_id) DO UPDATE SET"
                           " sent = excluded.sent, next_due_ms = excluded.next_due_ms,"
                           " last_sent_ms = excluded.last_sent_ms, acked_ms = excluded.acked_ms,"
                           " ack_action = excluded.ack_action, long_marked ="
                           " excluded.long_marked",
                           &st);
    if (rc != PB_OK)
        return rc;
    rc = store_bind_text(st, 1, session_id, strlen(session_id));
    rc = rc ? rc : store_bind_text(st, 2, player_id, strlen(player_id));
    rc = rc ? rc : store_bind_int64(st, 3, r->sent);
    rc = rc ? rc : store_bind_int64(st, 4, r->next_due_ms);
    rc = rc ? rc : store_bind_int64(st, 5, r->last_sent_ms);
    rc = rc ? rc : store_bind_int64(st, 6, r->acked_ms);
    rc = rc ? rc : store_bind_text(st, 7, r->ack_action, strlen(r->ack_action));
    rc = rc ? rc : store_bind_int64(st, 8, r->long_marked);
    rc = rc ? rc : store_step(st);
    store_finalize(st);
    return rc == STORE_DONE ? PB_OK : PB_ERR_DB;
}

/* ",\"net\":[{currency, stakes_minor, wins_minor, net_minor}]" since since_ms. */
static int net_members(struct store *s, const char *player_id, int64_t since_ms,
                       struct pb_buf *out)
{
    char currencies[8][LEDGER_CURRENCY_MAX + 1];
    size_t nc = 0;
    struct store_stmt *st;
    int rc = store_prepare(s,
                           "SELECT DISTINCT currency FROM rg_activity WHERE player_id = ?"
                           " ORDER BY currency",
                           &st);
    if (rc != PB_OK)
        return rc;
    rc = store_bind_text(st, 1, player_id, strlen(player_id));
    while (rc == PB_OK && nc < PB_ARRAY_LEN(currencies) && (rc = store_step(st)) == STORE_ROW) {
        rc = PB_OK;
        pb_strlcpy(currencies[nc++], store_column_text(st, 0), sizeof(currencies[0]));
    }
    store_finalize(st);
    if (rc != PB_OK && rc != STORE_DONE)
        return PB_ERR_DB;
    pb_buf_puts(out, ",\"net\":[");
    for (size_t i = 0; i < nc; i++) {
        struct rg__activity last, before;
        rc = rg__activity_at(s, player_id, currencies[i], INT64_MAX, &last);
        rc = rc ? rc : rg__activity_at(s, player_id, currencies[i], since_ms, &before);
        if (rc != PB_OK)
            return rc;
        int64_t stakes = last.stakes - before.stakes, wins = last.wins - before.wins;
        pb_buf_printf(out, "%s{\"currency\":\"%s\",\"stakes_minor\":%lld,\"wins_minor\":%lld,"
                           "\"net_minor\":%lld}",
                      i ? "," : "", currencies[i], (long long)stakes, (long long)wins,
                      (long long)(wins - stakes));
    }
    pb_buf_putc(out, ']');
    return PB_OK;
}

int rg_reality_json(struct rg *rg, struct store *s, const char *player_id,
                    const char *session_id, int64_t session_start_ms, struct pb_buf *out)
{
    int64_t now = rg_now_ms(rg);
    int minutes;
    struct reality_row r;
    int rc = interval_minutes(rg, s, player_id, &minutes);
    rc = rc ? rc : reality_get(s, session_id, &r);
    if (rc != PB_OK)
        return rc;
    pb_buf_printf(out, "\"session_id\":\"%s\"", session_id);
    rg__time_member(out, "session_started_at", session_start_ms);
    pb_buf_printf(out, ",\"elapsed_s\":%lld,\"interval_minutes\":%d,\"checks_sent\":%d",
                  (long long)((now - session_start_ms) / 1000), minutes, r.sent);
    if (minutes > 0)
        rg__time_member(out, "next_check_at",
                        session_start_ms + (int64_t)(r.sent + 1) * minutes * 60000);
    if (r.acked_ms > 0) {
        rg__time_member(out, "last_acknowledged_at", r.acked_ms);
        pb_buf_printf(out, ",\"last_action\":\"%s\"", r.ack_action);
    }
    return net_members(s, player_id, session_start_ms, out);
}

int rg_reality_ack(struct rg *rg, struct store *tx, struct writer_cmd *cmd,
                   const char *player_id, const char *session_id, const char *action)
{
    PB_ASSERT(strcmp(action, "continue") == 0 || strcmp(action, "stop") == 0);
    struct reality_row r;
    int rc = reality_get(tx, session_id, &r);
    if (rc != PB_OK)
        return rc;
    r.acked_ms = rg_now_ms(rg);
    pb_strlcpy(r.ack_action, action, sizeof(r.ack_action));
    rc = reality_put(tx, session_id, player_id, &r);
    if (rc != PB_OK)
        return rc;
    char subject[8 + PAM_PLAYER_ID_SIZE], data[192];
    snprintf(subject, sizeof(subject), "player:%s", player_id);
    snprintf(data, sizeof(data),
             "{\"player_id\":\"%s\",\"session_id\":\"%s\",\"action\":\"%s\",\"checks_sent\":%d}",
             player_id, session_id, action, r.sent);
    return writer_emit(tx, cmd, "rg.reality_check_acknowledged", subject, data);
}

struct tick {
    struct rg *rg;
    struct store *tx;
    struct writer_cmd *cmd;
    int64_t now;
    int max, sent;
};

static int tick_session(const struct pam_session *ses, void *arg)
{
    struct tick *t = arg;
    if (t->sent >= t->max)
        return PB_OK;
    int minutes;
    struct reality_row r;
    int rc = interval_minutes(t->rg, t->tx, ses->player_id, &minutes);
    if (rc != PB_OK || minutes == 0)
        return rc;
    rc = reality_get(t->tx, ses->id, &r);
    if (rc != PB_OK)
        return rc;
    int64_t due = ses->created_at_ms + (int64_t)(r.sent + 1) * minutes * 60000;
    if (t->now < due)
        return PB_OK;
    /* One check per due time, however late the tick: skip the ones missed meanwhile. */
    int64_t elapsed = t->now - ses->created_at_ms;
    r.sent = (int)(elapsed / ((int64_t)minutes * 60000));
    r.last_sent_ms = t->now;
    r.next_due_ms = ses->created_at_ms + (int64_t)(r.sent + 1) * minutes * 60000;
    struct pb_buf b = PB_BUF_INIT;
    pb_buf_printf(&b, "{\"player_id\":\"%s\",", ses->player_id);
    rc = rg_reality_json(t->rg, t->tx, ses->player_id, ses->id, ses->created_at_ms, &b);
    pb_buf_putc(&b, '}');
    char subject[8 + PAM_PLAYER_ID_SIZE];
    snprintf(subject, sizeof(subject), "player:%s", ses->player_id);
    rc = rc ? rc : writer_emit(t->tx, t->cmd, "rg.reality_check", subject, b.data);
    pb_buf_release(&b);
    if (rc == PB_OK && elapsed >= RG_LONG_SESSION_MS && !r.long_marked) {
        char data[192];
        snprintf(data, sizeof(data),
                 "{\"player_id\":\"%s\",\"marker\":\"long_session\",\"session_id\":\"%s\","
                 "\"elapsed_s\":%lld}",
                 ses->player_id, ses->id, (long long)(elapsed / 1000));
        r.long_marked = true;
        rc = writer_emit(t->tx, t->cmd, "rg.marker", subject, data);
    }
    rc = rc ? rc : reality_put(t->tx, ses->id, ses->player_id, &r);
    t->sent += rc == PB_OK;
    return rc;
}

int rg_reality_tick(struct rg *rg, struct store *tx, struct writer_cmd *cmd, int max,
                    int *sent)
{
    struct tick t = {rg, tx, cmd, rg_now_ms(rg), max, 0};
    int rc = pam_sessions_live_each(tx, t.now, rg->cfg->policy.session_idle_s, tick_session, &t);
    *sent = t.sent;
    return rc;
}

int rg_status_json(struct rg *rg, struct store *s, const char *player_id, struct pb_buf *out)
{
    bool active;
    struct rg_exclusion ex;
    struct rg__player p;
    const struct rg_rule_set *rs;
    int minutes;
    int rc = rg_exclusion_get(rg, s, player_id, &active, &ex);
    rc = rc ? rc : rg__player_get(s, player_id, &p);
    rc = rc ? rc : interval_minutes(rg, s, player_id, &minutes);
    if (rc != PB_OK)
        return rc;
    rc = rg_player_rules(rg, s, player_id, &rs);
    if (rc != PB_OK)
        return rc; /* PB_ERR_NOT_FOUND: no such player */
    pb_buf_printf(out, "\"player_id\":\"%s\",\"rule_set\":\"%s\"", player_id, rs->name);
    if (active) {
        pb_buf_printf(out, ",\"exclusion\":{\"kind\":\"%s\",\"permanent\":%s",
                      ex.kind == RG_TIME_OUT ? "time_out" : "self_exclusion",
                      ex.until_ms == INT64_MAX ? "true" : "false");
        rg__time_member(out, "from", ex.from_ms);
        rg__time_member(out, "until", ex.until_ms);
        pb_buf_putc(out, '}');
    } else {
        pb_buf_puts(out, ",\"exclusion\":null");
    }
    pb_buf_printf(out, ",\"marketing_allowed\":%s,\"deposit_limit_prompt_required\":%s,"
                       "\"reality_check_minutes\":%d",
                  active ? "false" : "true",
                  rs->deposit_limit_prompt && !p.prompt_answered ? "true" : "false", minutes);
    pb_buf_printf(out, ",\"rules\":{\"autoplay\":%s,\"turbo\":%s,\"min_game_cycle_ms\":%lld,"
                       "\"cooling_hours\":%lld,\"time_out_hours\":[%d,%d],"
                       "\"self_exclusion_months\":[%d,%d],\"self_exclusion_permanent\":%s}",
                  rs->autoplay ? "true" : "false", rs->turbo ? "true" : "false",
                  (long long)rs->min_game_cycle_ms, (long long)(rs->cooling_ms / RG_HOUR_MS),
                  rs->time_out_hours_min, rs->time_out_hours_max, rs->exclusion_months_min,
                  rs->exclusion_months_max, rs->exclusion_permanent ? "true" : "false");
    return PB_OK;
}
