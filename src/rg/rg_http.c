/* rg_http.c: the responsible-gaming routes (rg_http.h; rules in docs/rg.md).
 *
 * Pipeline: authenticate (player session or staff) -> strict decoding (400 naming the field)
 * -> one writer command that re-reads what it depends on. Refusals are problems and change
 * nothing. Reads use the reader pool. */
#include "rg/rg_http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/base.h"
#include "base/log.h"
#include "core/writer.h"
#include "http/ws.h"
#include "ledger/audit.h"
#include "ledger/ledger.h"
#include "pam/pam.h"
#include "pam/pam_http.h"
#include "pam/staff_http.h"
#include "rg/rg.h"

#define RG_REASON_MIN 3
#define RG_REASON_MAX 500
#define RG_SESSION_SECONDS_MAX (30LL * 24 * 3600)

struct rg_cmd;
typedef int (*rg_run_fn)(struct store *tx, struct rg_cmd *c);

struct rg_cmd {
    struct writer_cmd cmd; /* first: the server frees the struct */
    rg_run_fn run;
    struct rg *rg;
    char player_id[PAM_PLAYER_ID_SIZE];
    char session_id[PAM_SESSION_ID_SIZE];
    char actor[AUDIT_ACTOR_MAX + 1];
    char reason[RG_REASON_MAX + 1];
    enum rg_limit_kind kind;
    enum rg_window window;
    char currency[LEDGER_CURRENCY_MAX + 1];
    int64_t value;
    enum rg_exclusion_kind exclusion;
    int64_t until_ms;
    int minutes;
    char action[16];
    bool effective_now;
    struct http_refusal refusal;
};

static int refuse(struct rg_cmd *c, int status, const char *code, const char *detail,
                  const char *field)
{
    c->refusal = (struct http_refusal){status, code, detail, field, 0};
    return PB_ERR_CONFLICT;
}

static int cmd_run(struct store *tx, struct writer_cmd *cmd)
{
    struct rg_cmd *c = (struct rg_cmd *)cmd;
    return c->run(tx, c);
}

static struct rg_cmd *cmd_new(struct http_request *req, rg_run_fn run)
{
    struct rg_cmd *c = pb_calloc(1, sizeof(*c));
    c->cmd.run = cmd_run;
    c->run = run;
    c->rg = app_rg(req->app);
    return c;
}

static void finish_ok(struct http_request *req, struct writer_cmd *cmd,
                      struct http_response *resp)
{
    PB_UNUSED(req);
    struct rg_cmd *c = (struct rg_cmd *)cmd;
    if (http_answer_refusal(&c->refusal, cmd->status, resp))
        return;
    json_t *o = json_pack("{s:s}", "player_id", c->player_id);
    if (c->run != NULL && c->kind) {
        json_object_set_new(o, "limit", json_string(rg_limit_kind_name(c->kind)));
        json_object_set_new(o, "window", json_string(rg_window_name(c->window)));
        json_object_set_new(o, "effective_now", json_boolean(c->effective_now));
    }
    http_json(resp, 200, o);
}

static bool player_ok(struct http_request *req, struct http_response *resp,
                      struct pam_principal *who)
{
    int rc = pam_authenticate(req->app, req, who);
    if (rc != PB_OK)
        pam_http_auth_problem(resp, rc);
    return rc == PB_OK;
}

static bool staff_ok(struct http_request *req, struct http_response *resp,
                     const char *permission, char actor[AUDIT_ACTOR_MAX + 1])
{
    struct staff_principal who;
    if (staff_authenticate(req->app, req, permission, &who, resp) != PB_OK)
        return false;
    pb_strlcpy(actor, who.actor, AUDIT_ACTOR_MAX + 1);
    return true;
}

static int reader(struct http_request *req, struct store **s)
{
    return store_pool_acquire(app_readers(req->app), PAM_HTTP_READER_WAIT_MS, s) == PB_OK
               ? PB_OK
               : PB_ERR_TIMEOUT;
}

static void json_text(struct http_response *resp, int status, struct pb_buf *b)
{
    pb_buf_reset(&resp->body);
    pb_buf_append(&resp->body, b->data, b->len);
    resp->status = status;
    resp->content_type = "application/json";
}

/* ---- status and limits (reads) ---- */

static void limits_json(struct rg *rg, struct pb_buf *b, const struct rg_limit *l, size_t n)
{
    pb_buf_puts(b, ",\"limits\":[");
    for (size_t i = 0; i < n; i++) {
        const struct rg_limit *x = &l[i];
        bool money = x->kind != RG_LIMIT_SESSION;
        const char *unit = money ? "minor" : "s";
        pb_buf_printf(b, "%s{\"limit\":\"%s\",\"window\":\"%s\"", i ? "," : "",
                      rg_limit_kind_name(x->kind), rg_window_name(x->window));
        if (money)
            pb_buf_printf(b, ",\"currency\":\"%s\"", x->currency);
        pb_buf_printf(b, ",\"value_%s\":%lld,\"used_%s\":%lld,\"remaining_%s\":%lld", unit,
                      (long long)x->value, unit, (long long)x->used, unit,
                      (long long)(x->value > x->used ? x->value - x->used : 0));
        if (x->pending_at_ms) {
            pb_buf_printf(b, ",\"pending\":{\"value_%s\":%lld", unit,
                          (long long)x->pending_value);
            char text[PB_TIME_TEXT_MAX];
            pb_format_time_ms(x->pending_at_ms, text);
            pb_buf_printf(b, ",\"effective_at\":\"%s\",\"removal\":%s}", text,
                          x->pending_value == 0 ? "true" : "false");
        } else {
            pb_buf_puts(b, ",\"pending\":null");
        }
        pb_buf_putc(b, '}');
    }
    pb_buf_putc(b, ']');
    PB_UNUSED(rg);
}

/* {status members, "limits": [...]} of player_id; 404 for an unknown player. */
static void status_and_limits(struct http_request *req, struct http_response *resp,
                              const char *player_id, bool with_status)
{
    struct rg *rg = app_rg(req->app);
    struct store *s;
    int rc = reader(req, &s);
    if (rc != PB_OK) {
        http_unavailable(resp, rc);
        return;
    }
    struct pb_buf b = PB_BUF_INIT;
    struct rg_limit limits[RG_LIMITS_MAX * 4];
    size_t n = 0;
    pb_buf_putc(&b, '{');
    if (with_status)
        rc = rg_status_json(rg, s, player_id, &b);
    else
        pb_buf_printf(&b, "\"player_id\":\"%s\"", player_id);
    rc = rc ? rc : rg_limits_get(rg, s, player_id, limits, PB_ARRAY_LEN(limits), &n);
    store_pool_release(app_readers(req->app), s);
    if (rc == PB_OK) {
        limits_json(rg, &b, limits, n);
        pb_buf_putc(&b, '}');
        json_text(resp, 200, &b);
    } else if (rc == PB_ERR_NOT_FOUND) {
        http_problem(resp, 404, "player_not_found", "Not found", "no player has this id",
                     "player_id");
    } else {
        http_unavailable(resp, rc);
    }
    pb_buf_release(&b);
}

static enum http_result get_status(struct http_request *req, struct http_response *resp)
{
    struct pam_principal who;
    if (player_ok(req, resp, &who))
        status_and_limits(req, resp, who.player_id, true);
    return HTTP_DONE;
}

static enum http_result get_limits(struct http_request *req, struct http_response *resp)
{
    struct pam_principal who;
    if (player_ok(req, resp, &who))
        status_and_limits(req, resp, who.player_id, false);
    return HTTP_DONE;
}

static enum http_result get_staff_view(struct http_request *req, struct http_response *resp)
{
    char actor[AUDIT_ACTOR_MAX + 1];
    if (staff_ok(req, resp, "players.read", actor))
        status_and_limits(req, resp, req->params[0], true);
    return HTTP_DONE;
}

/* ---- setting limits ---- */

static int audit(struct store *tx, struct rg_cmd *c, const char *action, const char *after)
{
    int64_t id;
    char subject[16 + PAM_PLAYER_ID_SIZE];
    snprintf(subject, sizeof(subject), "player:%s", c->player_id);
    int rc = audit_next_id(tx, &id);
    struct audit_record r = {id,        pb_wall_ms() * 1000000, c->actor, action, subject,
                             c->reason, "{}",                   after,    "rg"};
    return rc ? rc : audit_insert(tx, &r);
}

static int limit_run(struct store *tx, struct rg_cmd *c)
{
    struct pam_player p;
    int rc = pam_player_get(tx, c->player_id, &p);
    if (rc == PB_ERR_NOT_FOUND)
        return refuse(c, 404, "player_not_found", "no player has this id", "player_id");
    rc = rc ? rc : rg_limit_set(c->rg, tx, &c->cmd, c->player_id, c->kind, c->window,
                                c->currency, c->value, c->actor, &c->effective_now);
    if (rc == PB_OK && c->reason[0]) {
        char after[160];
        snprintf(after, sizeof(after),
                 "{\"limit\":\"%s\",\"window\":\"%s\",\"currency\":\"%s\",\"value\":%lld}",
                 rg_limit_kind_name(c->kind), rg_window_name(c->window), c->currency,
                 (long long)c->value);
        rc = audit(tx, c, "rg.limit_set", after);
    }
    return rc;
}

struct limit_body {
    const char *currency;
    const char *amount;
    int64_t seconds;
    bool has_seconds;
    const char *reason;
};

/* Decodes kind/window from the path and the body into c; false with a 400 in resp. */
static bool decode_limit(struct http_request *req, struct http_response *resp, struct rg_cmd *c,
                         size_t first_param, bool removal, bool staff)
{
    if (rg_limit_kind_parse(req->params[first_param], &c->kind) != PB_OK) {
        http_invalid(resp, "kind", "must be deposit, loss, wager or session_time");
        return false;
    }
    if (rg_window_parse(req->params[first_param + 1], &c->window) != PB_OK) {
        http_invalid(resp, "window", "must be 24h, 7d or 30d");
        return false;
    }
    bool money = c->kind != RG_LIMIT_SESSION;
    if (removal) {
        const char *cur = http_query(req, "currency");
        if (money && (!cur || !ledger_currency_find(cur))) {
            http_invalid(resp, "currency", "a known currency code is required (?currency=)");
            return false;
        }
        if (money)
            pb_strlcpy(c->currency, cur, sizeof(c->currency));
        return true;
    }
    static const struct pb_json_field fields[] = {
        PB_JSON_STR(struct limit_body, currency, PB_JSON_OPTIONAL, 3, LEDGER_CURRENCY_MAX),
        PB_JSON_STR(struct limit_body, amount, PB_JSON_OPTIONAL, 1, 32),
        {"seconds", PB_JSON_KIND_INT, PB_JSON_OPTIONAL, offsetof(struct limit_body, seconds),
         offsetof(struct limit_body, has_seconds), 60, RG_SESSION_SECONDS_MAX},
        PB_JSON_STR(struct limit_body, reason, PB_JSON_OPTIONAL, RG_REASON_MIN, RG_REASON_MAX),
    };
    struct limit_body b = {0};
    json_t *root;
    bool ok = http_decode_body(req, resp, fields, PB_ARRAY_LEN(fields), &b, &root);
    if (ok && staff && !b.reason) {
        http_invalid(resp, "reason", "is required for a change made by staff");
        ok = false;
    }
    if (ok && b.reason)
        pb_strlcpy(c->reason, b.reason, sizeof(c->reason));
    const struct ledger_currency *cur = ok && b.currency ? ledger_currency_find(b.currency)
                                                         : NULL;
    if (ok && money) {
        if (!cur) {
            http_invalid(resp, "currency", "a known currency code is required");
            ok = false;
        } else if (!b.amount || ledger_amount_parse(b.amount, cur, false, &c->value) != PB_OK ||
                   c->value <= 0) {
            http_invalid(resp, "amount", "must be a positive decimal amount in the currency");
            ok = false;
        } else {
            pb_strlcpy(c->currency, cur->code, sizeof(c->currency));
        }
    } else if (ok) {
        if (!b.has_seconds || b.currency || b.amount) {
            http_invalid(resp, "seconds", "a session-time limit takes seconds (60 to 30 days)"
                                          " and no currency or amount");
            ok = false;
        }
        c->value = b.seconds;
    }
    json_decref(root);
    return ok;
}

static enum http_result put_limit(struct http_request *req, struct http_response *resp)
{
    struct pam_principal who;
    if (!player_ok(req, resp, &who))
        return HTTP_DONE;
    struct rg_cmd *c = cmd_new(req, limit_run);
    pb_strlcpy(c->player_id, who.player_id, sizeof(c->player_id));
    pb_strlcpy(c->actor, "player", sizeof(c->actor));
    if (!decode_limit(req, resp, c, 0, false, false) || c->reason[0]) {
        if (c->reason[0])
            http_invalid(resp, "reason", "is for staff changes only");
        pb_free(c);
        return HTTP_DONE;
    }
    return http_submit(req, app_writer(req->app), &c->cmd, finish_ok);
}

static enum http_result delete_limit(struct http_request *req, struct http_response *resp)
{
    struct pam_principal who;
    if (!player_ok(req, resp, &who))
        return HTTP_DONE;
    struct rg_cmd *c = cmd_new(req, limit_run);
    pb_strlcpy(c->player_id, who.player_id, sizeof(c->player_id));
    pb_strlcpy(c->actor, "player", sizeof(c->actor));
    if (!decode_limit(req, resp, c, 0, true, false)) {
        pb_free(c);
        return HTTP_DONE;
    }
    c->value = 0;
    return http_submit(req, app_writer(req->app), &c->cmd, finish_ok);
}

static enum http_result put_staff_limit(struct http_request *req, struct http_response *resp)
{
    struct rg_cmd *c = cmd_new(req, limit_run);
    if (!staff_ok(req, resp, "players.block", c->actor) ||
        !decode_limit(req, resp, c, 1, false, true)) {
        pb_free(c);
        return HTTP_DONE;
    }
    if (!pb_strlcpy(c->player_id, req->params[0], sizeof(c->player_id))) {
        http_problem(resp, 404, "player_not_found", "Not found", "no player has this id",
                     "player_id");
        pb_free(c);
        return HTTP_DONE;
    }
    return http_submit(req, app_writer(req->app), &c->cmd, finish_ok);
}

/* ---- time-out and self-exclusion ---- */

static int exclude_run(struct store *tx, struct rg_cmd *c)
{
    struct pam_player p;
    int rc = pam_player_get(tx, c->player_id, &p);
    if (rc == PB_ERR_NOT_FOUND)
        return refuse(c, 404, "player_not_found", "no player has this id", "player_id");
    rc = rc ? rc : rg_exclude(c->rg, tx, &c->cmd, c->player_id, c->exclusion, c->until_ms,
                              c->actor);
    if (rc == PB_ERR_CONFLICT)
        return refuse(c, 409, "exclusion_cannot_be_shortened",
                      "an active time-out or self-exclusion cannot end earlier; a new one "
                      "may only extend it",
                      NULL);
    if (rc == PB_OK && c->reason[0])
        rc = audit(tx, c, c->exclusion == RG_TIME_OUT ? "rg.time_out" : "rg.self_exclusion",
                   "{}");
    return rc;
}

/* until for a time-out of hours or an exclusion of months (30.44-day months rounded up to
 * whole days would surprise people: a calendar month is used) or permanent. */
static int64_t months_later(int64_t now, int months)
{
    time_t t = (time_t)(now / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    tm.tm_mon += months;
    return (int64_t)timegm(&tm) * 1000 + now % 1000;
}

struct exclusion_body {
    const char *kind;
    int64_t hours, months;
    bool has_hours, has_months;
    bool permanent;
    const char *reason;
};

static bool decode_exclusion(struct http_request *req, struct http_response *resp,
                             struct rg_cmd *c, const char *forced_kind, bool staff)
{
    static const struct pb_json_field fields[] = {
        PB_JSON_STR(struct exclusion_body, kind, PB_JSON_OPTIONAL, 1, 16),
        {"hours", PB_JSON_KIND_INT, PB_JSON_OPTIONAL, offsetof(struct exclusion_body, hours),
         offsetof(struct exclusion_body, has_hours), 1, 24 * 365},
        {"months", PB_JSON_KIND_INT, PB_JSON_OPTIONAL, offsetof(struct exclusion_body, months),
         offsetof(struct exclusion_body, has_months), 1, 120},
        PB_JSON_BOOL(struct exclusion_body, permanent, PB_JSON_OPTIONAL),
        PB_JSON_STR(struct exclusion_body, reason, PB_JSON_OPTIONAL, RG_REASON_MIN,
                    RG_REASON_MAX),
    };
    struct exclusion_body b = {0};
    json_t *root;
    if (!http_decode_body(req, resp, fields, PB_ARRAY_LEN(fields), &b, &root))
        return json_decref(root), false;
    const char *kind = forced_kind ? forced_kind : b.kind;
    const char *bad = NULL, *field = NULL;
    if (staff && !b.reason)
        bad = "is required for a change made by staff", field = "reason";
    else if (!staff && (b.reason || b.kind))
        bad = "is not accepted here", field = b.reason ? "reason" : "kind";
    else if (!kind || (strcmp(kind, "time_out") != 0 && strcmp(kind, "self_exclusion") != 0))
        bad = "must be time_out or self_exclusion", field = "kind";
    if (bad) {
        http_invalid(resp, field, bad);
        return json_decref(root), false;
    }
    if (b.reason)
        pb_strlcpy(c->reason, b.reason, sizeof(c->reason));
    /* The rule set's ranges: read with a reader; the command re-checks nothing here
     * because rule sets do not change while serving. */
    const struct rg_rule_set *rs = NULL;
    struct store *s;
    int rc = reader(req, &s);
    if (rc == PB_OK) {
        rc = rg_player_rules(c->rg, s, c->player_id, &rs);
        store_pool_release(app_readers(req->app), s);
    }
    if (rc != PB_OK) {
        if (rc == PB_ERR_NOT_FOUND)
            http_problem(resp, 404, "player_not_found", "Not found", "no player has this id",
                         "player_id");
        else
            http_unavailable(resp, rc);
        return json_decref(root), false;
    }
    int64_t now = rg_now_ms(c->rg);
    char detail[128];
    if (strcmp(kind, "time_out") == 0) {
        c->exclusion = RG_TIME_OUT;
        if (!b.has_hours || b.has_months || b.permanent || b.hours < rs->time_out_hours_min ||
            b.hours > rs->time_out_hours_max) {
            snprintf(detail, sizeof(detail), "a time-out takes hours from %d to %d",
                     rs->time_out_hours_min, rs->time_out_hours_max);
            http_invalid(resp, "hours", detail);
            return json_decref(root), false;
        }
        c->until_ms = now + b.hours * RG_HOUR_MS;
    } else {
        c->exclusion = RG_SELF_EXCLUSION;
        bool months_ok = b.has_months && !b.permanent && b.months >= rs->exclusion_months_min &&
                         b.months <= rs->exclusion_months_max;
        bool permanent_ok = b.permanent && !b.has_months && rs->exclusion_permanent;
        if (b.has_hours || (!months_ok && !permanent_ok)) {
            snprintf(detail, sizeof(detail),
                     "a self-exclusion takes months from %d to %d%s", rs->exclusion_months_min,
                     rs->exclusion_months_max,
                     rs->exclusion_permanent ? ", or permanent: true" : "");
            http_invalid(resp, b.permanent ? "permanent" : "months", detail);
            return json_decref(root), false;
        }
        c->until_ms = permanent_ok ? INT64_MAX : months_later(now, (int)b.months);
    }
    json_decref(root);
    return true;
}

static enum http_result post_exclusion_kind(struct http_request *req,
                                            struct http_response *resp, const char *kind)
{
    struct pam_principal who;
    if (!player_ok(req, resp, &who))
        return HTTP_DONE;
    struct rg_cmd *c = cmd_new(req, exclude_run);
    pb_strlcpy(c->player_id, who.player_id, sizeof(c->player_id));
    pb_strlcpy(c->actor, "player", sizeof(c->actor));
    if (!decode_exclusion(req, resp, c, kind, false)) {
        pb_free(c);
        return HTTP_DONE;
    }
    return http_submit(req, app_writer(req->app), &c->cmd, finish_ok);
}

static enum http_result post_time_out(struct http_request *req, struct http_response *resp)
{
    return post_exclusion_kind(req, resp, "time_out");
}

static enum http_result post_self_exclusion(struct http_request *req,
                                            struct http_response *resp)
{
    return post_exclusion_kind(req, resp, "self_exclusion");
}

static enum http_result post_staff_exclusion(struct http_request *req,
                                             struct http_response *resp)
{
    struct rg_cmd *c = cmd_new(req, exclude_run);
    if (!staff_ok(req, resp, "players.block", c->actor) ||
        !pb_strlcpy(c->player_id, req->params[0], sizeof(c->player_id)) ||
        !decode_exclusion(req, resp, c, NULL, true)) {
        if (resp->status == 0)
            http_problem(resp, 404, "player_not_found", "Not found", "no player has this id",
                         "player_id");
        pb_free(c);
        return HTTP_DONE;
    }
    return http_submit(req, app_writer(req->app), &c->cmd, finish_ok);
}

/* ---- the deposit-limit prompt and reality checks ---- */

static int decline_run(struct store *tx, struct rg_cmd *c)
{
    int rc = rg_prompt_answer(c->rg, tx, c->player_id);
    char data[96];
    snprintf(data, sizeof(data), "{\"player_id\":\"%s\",\"answer\":\"declined\"}",
             c->player_id);
    char subject[16 + PAM_PLAYER_ID_SIZE];
    snprintf(subject, sizeof(subject), "player:%s", c->player_id);
    return rc ? rc : writer_emit(tx, &c->cmd, "rg.deposit_limit_prompt", subject, data);
}

static enum http_result post_decline(struct http_request *req, struct http_response *resp)
{
    struct pam_principal who;
    if (!player_ok(req, resp, &who))
        return HTTP_DONE;
    struct rg_cmd *c = cmd_new(req, decline_run);
    pb_strlcpy(c->player_id, who.player_id, sizeof(c->player_id));
    return http_submit(req, app_writer(req->app), &c->cmd, finish_ok);
}

static enum http_result get_reality(struct http_request *req, struct http_response *resp)
{
    struct pam_principal who;
    if (!player_ok(req, resp, &who))
        return HTTP_DONE;
    struct store *s;
    int rc = reader(req, &s);
    if (rc != PB_OK)
        return http_unavailable(resp, rc), HTTP_DONE;
    struct pam_session ses[PAM_SESSIONS_LIST_MAX];
    size_t n = 0;
    const struct pam_config *cfg = app_pam_config(req->app);
    struct rg *rg = app_rg(req->app);
    rc = pam_session_list(s, who.player_id, rg_now_ms(rg), cfg->policy.session_idle_s, ses,
                          PB_ARRAY_LEN(ses), &n);
    int64_t started = 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(ses[i].id, who.session_id) == 0)
            started = ses[i].created_at_ms;
    struct pb_buf b = PB_BUF_INIT;
    pb_buf_putc(&b, '{');
    if (rc == PB_OK && started == 0)
        rc = PB_ERR_NOT_FOUND;
    rc = rc ? rc : rg_reality_json(rg, s, who.player_id, who.session_id, started, &b);
    store_pool_release(app_readers(req->app), s);
    pb_buf_putc(&b, '}');
    if (rc == PB_OK)
        json_text(resp, 200, &b);
    else
        http_unavailable(resp, rc);
    pb_buf_release(&b);
    return HTTP_DONE;
}

static int interval_run(struct store *tx, struct rg_cmd *c)
{
    return rg_reality_interval_set(c->rg, tx, c->player_id, c->minutes);
}

struct interval_body {
    int64_t interval_minutes;
};

static enum http_result put_reality(struct http_request *req, struct http_response *resp)
{
    static const struct pb_json_field fields[] = {
        PB_JSON_INT(struct interval_body, interval_minutes, PB_JSON_REQUIRED, 0,
                    RG_REALITY_MINUTES_MAX),
    };
    struct pam_principal who;
    if (!player_ok(req, resp, &who))
        return HTTP_DONE;
    struct interval_body b = {0};
    json_t *root;
    bool ok = http_decode_body(req, resp, fields, PB_ARRAY_LEN(fields), &b, &root);
    json_decref(root);
    if (!ok)
        return HTTP_DONE;
    const struct rg_rule_set *rs = NULL;
    struct store *s;
    int rc = reader(req, &s);
    if (rc == PB_OK) {
        rc = rg_player_rules(app_rg(req->app), s, who.player_id, &rs);
        store_pool_release(app_readers(req->app), s);
    }
    if (rc != PB_OK)
        return http_unavailable(resp, rc), HTTP_DONE;
    /* Where the rule set requires reality checks, they cannot be switched off. */
    if ((b.interval_minutes != 0 && b.interval_minutes < RG_REALITY_MINUTES_MIN) ||
        (b.interval_minutes == 0 && rs->reality_check_minutes > 0) ||
        (rs->reality_check_minutes > 0 && b.interval_minutes > rs->reality_check_minutes)) {
        char detail[128];
        snprintf(detail, sizeof(detail), "must be %d to %d minutes%s", RG_REALITY_MINUTES_MIN,
                 rs->reality_check_minutes > 0 ? rs->reality_check_minutes
                                               : RG_REALITY_MINUTES_MAX,
                 rs->reality_check_minutes > 0 ? "" : ", or 0 for none");
        http_invalid(resp, "interval_minutes", detail);
        return HTTP_DONE;
    }
    struct rg_cmd *c = cmd_new(req, interval_run);
    pb_strlcpy(c->player_id, who.player_id, sizeof(c->player_id));
    c->minutes = (int)b.interval_minutes;
    return http_submit(req, app_writer(req->app), &c->cmd, finish_ok);
}

static int ack_run(struct store *tx, struct rg_cmd *c)
{
    int rc = rg_reality_ack(c->rg, tx, &c->cmd, c->player_id, c->session_id, c->action);
    if (rc == PB_OK && strcmp(c->action, "stop") == 0) {
        int count;
        rc = pam_session_revoke(tx, c->player_id, c->session_id, rg_now_ms(c->rg), &count);
    }
    return rc;
}

struct ack_body {
    const char *action;
};

static enum http_result post_ack(struct http_request *req, struct http_response *resp)
{
    static const struct pb_json_field fields[] = {
        PB_JSON_STR(struct ack_body, action, PB_JSON_REQUIRED, 1, 16),
    };
    struct pam_principal who;
    if (!player_ok(req, resp, &who))
        return HTTP_DONE;
    struct ack_body b = {0};
    json_t *root;
    if (!http_decode_body(req, resp, fields, PB_ARRAY_LEN(fields), &b, &root))
        return json_decref(root), HTTP_DONE;
    if (strcmp(b.action, "continue") != 0 && strcmp(b.action, "stop") != 0) {
        http_invalid(resp, "action", "must be continue or stop (stop ends this session)");
        return json_decref(root), HTTP_DONE;
    }
    struct rg_cmd *c = cmd_new(req, ack_run);
    pb_strlcpy(c->player_id, who.player_id, sizeof(c->player_id));
    pb_strlcpy(c->session_id, who.session_id, sizeof(c->session_id));
    pb_strlcpy(c->action, b.action, sizeof(c->action));
    json_decref(root);
    return http_submit(req, app_writer(req->app), &c->cmd, finish_ok);
}

/* ---- WebSocket push ---- */

void rg_http_on_event(const struct pb_event *ev, void *app)
{
    if (strncmp(ev->type, "rg.", 3) != 0 || strncmp(ev->subject, "player:", 7) != 0)
        return;
    struct pb_buf b = PB_BUF_INIT;
    /* {"kind":"rg.x", <the event's members>}: the data is a JSON object from this module. */
    size_t len = strlen(ev->data);
    PB_ASSERT(len >= 2 && ev->data[0] == '{');
    pb_buf_printf(&b, "{\"kind\":\"%s\"%s", ev->type, len > 2 ? "," : "");
    pb_buf_append(&b, ev->data + 1, len - 1);
    int rc = ws_hub_publish(ws_hub_of(app), ev->subject, b.data, b.len);
    if (rc != PB_OK && rc != PB_ERR_CLOSED)
        pb_log(PB_LOG_WARN, "rg event not published to websocket",
               "\"event\":\"%s\",\"error\":\"%s\"", ev->id, pb_err_name(rc));
    pb_buf_release(&b);
}

/* ---- routes ---- */

const struct http_route rg_routes[] = {
    {HTTP_GET, "/api/v1/rg/status", get_status, 0},
    {HTTP_GET, "/api/v1/rg/limits", get_limits, 0},
    {HTTP_PUT, "/api/v1/rg/limits/{kind}/{window}", put_limit, HTTP_ROUTE_JSON_BODY},
    {HTTP_DELETE, "/api/v1/rg/limits/{kind}/{window}", delete_limit, 0},
    {HTTP_POST, "/api/v1/rg/time-out", post_time_out, HTTP_ROUTE_JSON_BODY},
    {HTTP_POST, "/api/v1/rg/self-exclusion", post_self_exclusion, HTTP_ROUTE_JSON_BODY},
    {HTTP_POST, "/api/v1/rg/deposit-limit-prompt/decline", post_decline, 0},
    {HTTP_GET, "/api/v1/rg/reality-check", get_reality, 0},
    {HTTP_PUT, "/api/v1/rg/reality-check", put_reality, HTTP_ROUTE_JSON_BODY},
    {HTTP_POST, "/api/v1/rg/reality-check/ack", post_ack, HTTP_ROUTE_JSON_BODY},
    {HTTP_GET, "/api/v1/admin/players/{player_id}/rg", get_staff_view, 0},
    {HTTP_PUT, "/api/v1/admin/players/{player_id}/rg/limits/{kind}/{window}", put_staff_limit,
     HTTP_ROUTE_JSON_BODY},
    {HTTP_POST, "/api/v1/admin/players/{player_id}/rg/exclusion", post_staff_exclusion,
     HTTP_ROUTE_JSON_BODY},
};
const size_t rg_routes_count = PB_ARRAY_LEN(rg_routes);
