/* crash_http.c: live crash routes (crash_http.h).
 *
 * Bet: player session (401) -> Idempotency-Key (400) -> strict body (400 naming the field)
 * -> the server's time is read -> one writer command: ledger_idem_check (scope
 * "crash:<player>"; replay / 409 conflict as every money route) -> bet block and KYC gate ->
 * crash_live_bet -> the answer recorded for the key.
 * Cash-out: player session -> bet id -> the server's time is read at once (the only clock
 * that counts) -> one writer command: crash_live_cashout_bet. A repeated cash-out answers the
 * bet as it stands, so no key is needed. */
#include "games/crash_http.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "core/app.h"
#include "core/writer.h"
#include "games/casino.h"
#include "games/casino_answer.h"
#include "games/casino_http.h"
#include "games/crash_live.h"
#include "ledger/ledger_http.h"
#include "pam/pam.h"
#include "pam/pam_http.h"

#define SCOPE_MAX (sizeof("crash:") + ROUNDS_PLAYER_ID_MAX)
#define READER_WAIT_MS 2000

struct crash_cmd {
    struct writer_cmd cmd; /* first: the server frees the whole allocation */
    struct ledger *lg;
    const struct pam_config *pam;
    char player_id[ROUNDS_PLAYER_ID_MAX + 1];
    int64_t received_ms;
    char currency[LEDGER_CURRENCY_MAX + 1];
    int64_t amount_minor;
    uint64_t auto_target;
    int64_t bet_id;
    char scope[SCOPE_MAX + 1];
    char key[CASINO_HTTP_IDEM_KEY_MAX + 1];
    char request_json[160];
    struct casino_answer ans; /* CRASH_HTTP_ANSWER_MAX bytes after the struct */
};

int crash_http_parse_multiplier(const char *text, uint64_t *out)
{
    uint64_t whole = 0, frac = 0;
    size_t i = 0, digits = 0;
    while (text[i] >= '0' && text[i] <= '9' && digits < 10) {
        whole = whole * 10 + (uint64_t)(text[i++] - '0');
        digits++;
    }
    if (digits == 0 || (text[0] == '0' && digits > 1))
        return PB_ERR_INVALID;
    if (text[i] == '.') {
        i++;
        int n = 0;
        while (text[i] >= '0' && text[i] <= '9' && n < 2) {
            frac = frac * 10 + (uint64_t)(text[i++] - '0');
            n++;
        }
        if (n == 0)
            return PB_ERR_INVALID;
        if (n == 1)
            frac *= 10;
    }
    if (text[i] != '\0')
        return PB_ERR_INVALID;
    *out = whole * 100 + frac;
    return PB_OK;
}

static struct crash_cmd *cmd_new(struct http_request *req, const struct pam_principal *who,
                                 int64_t received_ms, int (*run)(struct store *,
                                                                 struct writer_cmd *))
{
    char *block = pb_calloc(1, sizeof(struct crash_cmd) + CRASH_HTTP_ANSWER_MAX);
    struct crash_cmd *c = (struct crash_cmd *)block;
    casino_answer_init(&c->ans, block + sizeof(*c), CRASH_HTTP_ANSWER_MAX);
    c->cmd.run = run;
    c->lg = app_ledger(req->app);
    c->pam = app_pam_config(req->app);
    pb_strlcpy(c->player_id, who->player_id, sizeof(c->player_id));
    c->received_ms = received_ms;
    return c;
}

static int answer_bet(struct crash_cmd *c, struct store *tx, const struct crash_bet_row *b,
                      int status)
{
    struct crash_round_row r;
    if (crash_round_get(tx, b->crash_round, &r) != PB_OK)
        return PB_ERR_DB;
    casino_answer_json(&c->ans, status, json_pack("{s:o}", "bet", crash_bet_json(b, &r)));
    return PB_OK;
}

static void finish(struct http_request *req, struct writer_cmd *cmd, struct http_response *resp)
{
    PB_UNUSED(req);
    casino_answer_finish(&((struct crash_cmd *)cmd)->ans, cmd->status, resp);
}

static bool player_ok(struct http_request *req, struct http_response *resp,
                      struct pam_principal *who)
{
    int rc = pam_authenticate(req->app, req, who);
    if (rc != PB_OK)
        pam_http_auth_problem(resp, rc);
    return rc == PB_OK;
}

static bool id_param(struct http_request *req, struct http_response *resp, const char *name,
                     int64_t *out)
{
    const char *v = req->params[0];
    char *end;
    long long id = strtoll(v, &end, 10);
    if (v[0] < '1' || v[0] > '9' || *end || id < 1 || id == LLONG_MAX) {
        http_invalid(resp, name, "must be an id (a positive integer)");
        return false;
    }
    *out = id;
    return true;
}

/* ---- GET /api/v1/crash/state ---- */

static enum http_result get_state(struct http_request *req, struct http_response *resp)
{
    http_json(resp, 200, crash_engine_state(app_crash(req->app), pb_wall_ms()));
    return HTTP_DONE;
}

/* ---- GET /api/v1/crash/rounds/{round_id} ---- */

static enum http_result get_round(struct http_request *req, struct http_response *resp)
{
    int64_t id;
    if (!id_param(req, resp, "round_id", &id))
        return HTTP_DONE;
    struct store *s;
    int rc = store_pool_acquire(app_readers(req->app), READER_WAIT_MS, &s);
    if (rc != PB_OK) {
        http_unavailable(resp, PB_ERR_TIMEOUT);
        return HTTP_DONE;
    }
    struct crash_round_row r;
    rc = crash_round_get(s, id, &r);
    store_pool_release(app_readers(req->app), s);
    if (rc == PB_ERR_NOT_FOUND)
        http_problem(resp, 404, "not_found", "Not Found", "no crash round has this id",
                     "round_id");
    else if (rc != PB_OK)
        http_problem(resp, 500, "internal_error", "Internal error", pb_err_name(rc), NULL);
    else
        http_json(resp, 200, crash_round_json(&r));
    return HTTP_DONE;
}

/* ---- POST /api/v1/crash/bets ---- */

static int bet_apply(struct store *tx, void *arg, const char *idem)
{
    struct crash_cmd *c = arg;
    struct crash_bet_request q = {c->player_id, c->currency, idem, c->amount_minor,
                                  c->auto_target, c->received_ms};
    struct casino_refusal *f = pb_calloc(1, sizeof(*f));
    struct crash_bet_row b;
    int rc = crash_live_bet(c->lg, tx, &c->cmd, &q, &b, f);
    if (rc == PB_OK && f->status != 0)
        casino_answer_refusal(&c->ans, f);
    else if (rc == PB_OK)
        rc = answer_bet(c, tx, &b, 201);
    pb_free(f);
    return rc;
}

static int bet_run(struct store *tx, struct writer_cmd *cmd)
{
    struct crash_cmd *c = (struct crash_cmd *)cmd;
    struct casino_idem q = {c->scope, c->key, c->request_json, c->pam, c->player_id};
    return casino_answer_idem(tx, &c->ans, &q, bet_apply, c);
}

struct bet_body {
    const char *currency, *auto_cashout;
    int64_t amount_minor;
};
static const struct pb_json_field bet_fields[] = {
    PB_JSON_STR(struct bet_body, currency, PB_JSON_REQUIRED, 3, LEDGER_CURRENCY_MAX),
    PB_JSON_INT(struct bet_body, amount_minor, PB_JSON_REQUIRED, 1, CRASH_STAKE_MAX),
    PB_JSON_STR(struct bet_body, auto_cashout, PB_JSON_OPTIONAL, 1, 16),
};

static enum http_result post_bet(struct http_request *req, struct http_response *resp)
{
    int64_t received_ms = pb_wall_ms();
    struct pam_principal who;
    if (!player_ok(req, resp, &who))
        return HTTP_DONE;
    const char *key = ledger_http_idempotency_key(
        req, resp, "a bet moves money: an Idempotency-Key header is required");
    if (!key)
        return HTTP_DONE;
    struct bet_body b = {0};
    json_t *root = NULL;
    if (!http_decode_body(req, resp, bet_fields, PB_ARRAY_LEN(bet_fields), &b, &root)) {
        json_decref(root);
        return HTTP_DONE;
    }
    uint64_t target = 0;
    bool ok = false;
    if (!ledger_currency_find(b.currency))
        http_invalid(resp, "currency", "not a currency this platform knows");
    else if (b.auto_cashout && (crash_http_parse_multiplier(b.auto_cashout, &target) != PB_OK ||
                                target < CRASH_TARGET_MIN || target > CRASH_TARGET_MAX))
        http_invalid(resp, "auto_cashout", "a multiplier from \"1.01\" to \"1000000.00\" (at"
                                           " most two decimals)");
    else
        ok = true;
    if (!ok) {
        json_decref(root);
        return HTTP_DONE;
    }
    struct crash_cmd *c = cmd_new(req, &who, received_ms, bet_run);
    pb_strlcpy(c->currency, b.currency, sizeof(c->currency));
    c->amount_minor = b.amount_minor;
    c->auto_target = target;
    snprintf(c->scope, sizeof(c->scope), "crash:%s", who.player_id);
    pb_strlcpy(c->key, key, sizeof(c->key));
    snprintf(c->request_json, sizeof(c->request_json),
             "{\"currency\":\"%s\",\"amount_minor\":%lld,\"auto_cashout\":%llu}", c->currency,
             (long long)c->amount_minor, (unsigned long long)target);
    json_decref(root);
    return http_submit(req, app_writer(req->app), &c->cmd, finish);
}

/* ---- POST /api/v1/crash/bets/{bet_id}/cashout ---- */

static int cashout_run(struct store *tx, struct writer_cmd *cmd)
{
    struct crash_cmd *c = (struct crash_cmd *)cmd;
    struct casino_refusal *f = pb_calloc(1, sizeof(*f));
    struct crash_bet_row b;
    int rc = crash_live_cashout_bet(c->lg, tx, cmd, c->player_id, c->bet_id, c->received_ms,
                                    &b, f);
    if (rc == PB_OK && f->status != 0)
        casino_answer_refusal(&c->ans, f);
    else if (rc == PB_OK)
        rc = answer_bet(c, tx, &b, 200);
    pb_free(f);
    return rc;
}

static enum http_result post_cashout(struct http_request *req, struct http_response *resp)
{
    int64_t received_ms = pb_wall_ms(); /* first: the server's clock decides */
    struct pam_principal who;
    if (!player_ok(req, resp, &who))
        return HTTP_DONE;
    int64_t id;
    if (!id_param(req, resp, "bet_id", &id))
        return HTTP_DONE;
    struct crash_cmd *c = cmd_new(req, &who, received_ms, cashout_run);
    c->bet_id = id;
    return http_submit(req, app_writer(req->app), &c->cmd, finish);
}

const struct http_route crash_routes[] = {
    {HTTP_GET, "/api/v1/crash/state", get_state, 0},
    {HTTP_POST, "/api/v1/crash/bets", post_bet, HTTP_ROUTE_JSON_BODY},
    {HTTP_POST, "/api/v1/crash/bets/{bet_id}/cashout", post_cashout, 0},
    {HTTP_GET, "/api/v1/crash/rounds/{round_id}", get_round, 0},
};
const size_t crash_routes_count = PB_ARRAY_LEN(crash_routes);
