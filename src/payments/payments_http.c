/* payments_http.c: the payments routes (payments_http.h; decisions in docs/payments.md).
 *
 * Pipeline per request: authenticate (player session, staff permission "payments.review", or
 * a webhook's HMAC signature) -> strict decoding (400 naming the field) -> one writer command
 * (struct pay_cmd) that re-reads what it depends on and writes. Money-moving player requests
 * carry an Idempotency-Key: the command checks it, and records its answer (success and
 * refusal alike) with ledger_idem_record, so a retry gets the same answer and moves nothing.
 * A refusal that must change nothing returns PB_ERR_CONFLICT from the command, rolling its
 * savepoint back. The service (worker thread) is at the end of the file. */
#include "payments/payments_http.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/log.h"
#include "core/writer.h"
#include "ledger/ledger.h"
#include "ledger/ledger_http.h"
#include "pam/pam_http.h"
#include "pam/staff_http.h"
#include "payments/payments_int.h"

#define READER_WAIT_MS 1000
#define ALNUM "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
#define TOKEN_CHARS ALNUM "._:-"
#define CHAIN_CHARS "abcdefghijklmnopqrstuvwxyz0123456789-"

struct payments_service {
    struct pb_config cfg;
    struct payments_settings set;
    struct writer *writer;
    struct store_pool *readers;
    struct ledger *lg;
    bool sandbox;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stopping;
};

/* ---- the command ---- */

struct pay_cmd;
typedef int (*pay_run_fn)(struct store *tx, struct pay_cmd *c);
typedef void (*pay_ok_fn)(struct http_request *req, struct pay_cmd *c,
                          struct http_response *resp);

struct pay_cmd {
    struct writer_cmd cmd; /* first: the server frees the struct */
    pay_run_fn run;
    pay_ok_fn ok;
    struct ledger *lg;
    const struct pam_config *pam;
    struct payments_service *ps;
    int64_t now_ms;
    char player_id[PAM_PLAYER_ID_SIZE];
    char actor[AUDIT_ACTOR_MAX + 1];
    char reason[PAYMENTS_REASON_MAX + 1];
    char request_id[PB_HTTP_REQUEST_ID_MAX + 1];
    /* idempotency */
    char scope[96];
    char key[LEDGER_HTTP_IDEM_KEY_MAX + 1];
    char request_json[PAYMENTS_REQUEST_JSON_MAX + 1];
    bool replayed;
    char conflict_field[64];
    int answer_status;
    size_t answer_len;
    char answer[PAYMENTS_RESULT_MAX + 1];
    /* objects */
    struct payments_deposit dep;
    struct payments_withdrawal wdr;
    enum payments_withdrawal_state to;
    const struct payments_psp *psp;
    struct payments_event ev;
    const char *outcome; /* webhook: "applied", "ignored", "duplicate" */
    struct payments_chain_report rep;
    char chain[PAYMENTS_CHAIN_MAX + 1], asset[LEDGER_CURRENCY_MAX + 1];
    char txid[PAYMENTS_TXID_MAX + 1], address[PAYMENTS_ADDRESS_MAX + 1];
    struct payments_crypto_result crypto;
    char (*addresses)[PAYMENTS_ADDRESS_MAX + 1]; /* inside the allocation, after the struct */
    size_t naddresses;
    int added, completed;
    struct http_refusal refusal;
};

static int pay_cmd_run(struct store *tx, struct writer_cmd *cmd)
{
    struct pay_cmd *c = (struct pay_cmd *)cmd;
    return c->run(tx, c);
}

static void pay_finish(struct http_request *req, struct writer_cmd *cmd,
                       struct http_response *resp)
{
    struct pay_cmd *c = (struct pay_cmd *)cmd;
    if (!http_answer_refusal(&c->refusal, cmd->status, resp))
        c->ok(req, c, resp);
}

/* One allocation (the server frees it with pb_free, also when the writer's queue is full and
 * finish never runs): extra bytes after the struct hold variable-size arguments. */
static struct pay_cmd *pay_cmd_new_extra(struct http_request *req, pay_run_fn run,
                                         pay_ok_fn ok, size_t extra)
{
    struct pay_cmd *c = pb_calloc(1, sizeof(*c) + extra);
    c->cmd.run = pay_cmd_run;
    c->run = run;
    c->ok = ok;
    c->now_ms = pb_wall_ms();
    c->lg = app_ledger(req->app);
    c->pam = app_pam_config(req->app);
    c->ps = app_payments(req->app);
    pb_strlcpy(c->request_id, req->request_id, sizeof(c->request_id));
    return c;
}

static struct pay_cmd *pay_cmd_new(struct http_request *req, pay_run_fn run, pay_ok_fn ok)
{
    return pay_cmd_new_extra(req, run, ok, 0);
}

static enum http_result submit(struct http_request *req, struct pay_cmd *c)
{
    return http_submit(req, app_writer(req->app), &c->cmd, pay_finish);
}

static int refuse(struct pay_cmd *c, int status, const char *code, const char *detail,
                  const char *field)
{
    c->refusal = (struct http_refusal){status, code, detail, field, 0};
    return PB_ERR_CONFLICT;
}

/* ---- common pieces ---- */

static bool service_ok(struct http_request *req, struct http_response *resp)
{
    if (app_payments(req->app))
        return true;
    http_problem(resp, 503, "payments_unavailable", "Service unavailable",
                 "the payments service is not running", NULL);
    return false;
}

static bool player_ok(struct http_request *req, struct http_response *resp,
                      struct pam_principal *who)
{
    if (!service_ok(req, resp))
        return false;
    int rc = pam_authenticate(req->app, req, who);
    if (rc != PB_OK)
        pam_http_auth_problem(resp, rc);
    return rc == PB_OK;
}

static bool staff_ok(struct http_request *req, struct http_response *resp,
                     struct staff_principal *who)
{
    return service_ok(req, resp) &&
           staff_authenticate(req->app, req, "payments.review", who, resp) == PB_OK;
}

static const char *idempotency_key(struct http_request *req, struct http_response *resp)
{
    const char *key = http_header(req, "Idempotency-Key");
    size_t n = key ? strlen(key) : 0;
    if (n >= 1 && n <= LEDGER_HTTP_IDEM_KEY_MAX && strspn(key, TOKEN_CHARS) == n)
        return key;
    http_problem(resp, 400, "validation_failed", "The request is not valid",
                 key ? "must be 1 to 128 characters of A-Z, a-z, 0-9, '.', '_', ':' and '-'"
                     : "this request moves money: an Idempotency-Key header is required",
                 "Idempotency-Key");
    return NULL;
}

static bool id_param_ok(struct http_request *req, struct http_response *resp, const char *field)
{
    size_t n = strlen(req->params[0]);
    if (n >= 1 && n < PAYMENTS_ID_SIZE && strspn(req->params[0], TOKEN_CHARS) == n)
        return true;
    http_invalid(resp, field, "is not a payment id");
    return false;
}

static json_t *time_json(int64_t ms)
{
    char text[PB_TIME_TEXT_MAX];
    if (ms <= 0)
        return json_null();
    pb_format_time_ms(ms, text);
    return json_string(text);
}

static json_t *deposit_json(const struct payments_deposit *d, const char *checkout)
{
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:I,s:I,s:s,s:s,s:o,s:o,s:o}", "deposit_id", d->id,
                          "method", d->method, "psp", d->psp, "currency", d->currency,
                          "amount_minor", (json_int_t)d->amount_minor, "fee_minor",
                          (json_int_t)d->fee_minor, "fee_bearer",
                          d->fee_bearer == PAYMENTS_FEE_PLAYER ? "player" : "operator",
                          "state", payments_deposit_state_name(d->state), "created_at",
                          time_json(d->created_at_ms), "updated_at",
                          time_json(d->updated_at_ms), "expires_at",
                          time_json(d->expires_at_ms));
    json_object_set_new(o, "reference", json_string(d->reference));
    if (checkout)
        json_object_set_new(o, "redirect_url", json_string(checkout));
    return o;
}

static json_t *withdrawal_json(const struct payments_withdrawal *w)
{
    json_t *reasons = json_array();
    char copy[PAYMENTS_REASONS_MAX + 1], *save = NULL;
    pb_strlcpy(copy, w->review_reasons, sizeof(copy));
    for (char *p = strtok_r(copy, ",", &save); p; p = strtok_r(NULL, ",", &save))
        json_array_append_new(reasons, json_string(p));
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:I,s:s,s:o,s:s,s:s,s:o,s:o}", "withdrawal_id",
                          w->id, "player_id", w->player_id, "method", w->method, "currency",
                          w->currency, "amount_minor", (json_int_t)w->amount_minor, "state",
                          payments_withdrawal_state_name(w->state), "review_reasons", reasons,
                          "reviewer", w->reviewer, "reason", w->reason, "created_at",
                          time_json(w->created_at_ms), "updated_at",
                          time_json(w->updated_at_ms));
    json_object_set_new(o, "reference", json_string(w->reference));
    if (w->destination[0])
        json_object_set_new(o, "destination", json_string(w->destination));
    if (w->batch[0])
        json_object_set_new(o, "batch", json_string(w->batch));
    return o;
}

/* ---- idempotent commands ---- */

/* Keeps an answer (at most PAYMENTS_RESULT_MAX bytes: one deposit or withdrawal, a problem). */
static void answer_set(struct pay_cmd *c, int status, const char *text, size_t len)
{
    PB_ASSERT(len <= PAYMENTS_RESULT_MAX);
    memcpy(c->answer, text, len);
    c->answer[len] = '\0';
    c->answer_len = len;
    c->answer_status = status;
}

static void answer_json(struct pay_cmd *c, int status, json_t *doc)
{
    char *text = json_dumps(doc, JSON_COMPACT);
    PB_ASSERT(text != NULL);
    json_decref(doc);
    answer_set(c, status, text, strlen(text));
    free(text);
}

/* The answer of a refusal decided by the domain (struct payments_refusal), recorded like a
 * success so a retry gets it again. */
static void answer_refusal(struct pay_cmd *c, const struct payments_refusal *r)
{
    struct http_response tmp;
    http_response_init(&tmp);
    if (r->code)
        http_problem(&tmp, r->status, r->code, http_status_title(r->status), r->detail,
                     r->field);
    else
        ledger_http_refusal(&tmp, &r->ledger, "amount_minor");
    answer_set(c, tmp.status, tmp.body.data, tmp.body.len);
    http_response_release(&tmp);
}

typedef int (*idem_apply_fn)(struct store *tx, struct pay_cmd *c);

/* idem check -> replay / conflict / apply -> record. */
static int idem_run(struct store *tx, struct pay_cmd *c, idem_apply_fn apply)
{
    enum ledger_idem_state state;
    struct ledger_idem_hit hit;
    if (ledger_idem_check(tx, c->scope, c->key, c->request_json, &state, &hit) != PB_OK)
        return PB_ERR_DB;
    if (state == LEDGER_IDEM_REPLAY) {
        size_t len = strlen(hit.body);
        if (len <= PAYMENTS_RESULT_MAX)
            answer_set(c, hit.status, hit.body, len);
        c->replayed = true;
        pb_free(hit.body);
        return len <= PAYMENTS_RESULT_MAX ? PB_OK : PB_ERR_DB;
    }
    if (state == LEDGER_IDEM_CONFLICT) {
        pb_strlcpy(c->conflict_field, hit.field, sizeof(c->conflict_field));
        return refuse(c, 409, "idempotency_conflict",
                      "this Idempotency-Key was used with a different request",
                      c->conflict_field);
    }
    int rc = apply(tx, c);
    if (rc != PB_OK)
        return rc;
    PB_ASSERT(c->answer_status >= 200 && c->answer_len > 0);
    return ledger_idem_record(tx, c->scope, c->key, c->request_json, c->answer_status,
                              c->answer);
}

static void answer_ok(struct http_request *req, struct pay_cmd *c, struct http_response *resp)
{
    PB_UNUSED(req);
    pb_buf_reset(&resp->body);
    pb_buf_append(&resp->body, c->answer, c->answer_len);
    resp->status = c->answer_status;
    resp->content_type =
        c->answer_status >= 400 ? "application/problem+json" : "application/json";
    if (c->replayed)
        http_header_add(resp, "Idempotent-Replayed", "true");
}

/* ---- GET /api/v1/payments/methods ---- */

static enum http_result get_methods(struct http_request *req, struct http_response *resp)
{
    PB_UNUSED(req);
    json_t *list = json_array();
    const struct payments_method *m;
    for (size_t i = 0; (m = payments_method_at(i)) != NULL; i++) {
        bool chain = strcmp(m->psp, PAYMENTS_CHAIN_PSP) == 0;
        json_array_append_new(
            list, json_pack("{s:s,s:s,s:I,s:I,s:I,s:I,s:s,s:b,s:b}", "method", m->name, "psp",
                            m->psp, "min_minor", (json_int_t)m->min_minor, "max_minor",
                            (json_int_t)m->max_minor, "fee_fixed_minor",
                            (json_int_t)m->fee_fixed_minor, "fee_basis_points",
                            (json_int_t)m->fee_basis_points, "fee_bearer",
                            m->fee_bearer == PAYMENTS_FEE_PLAYER ? "player" : "operator",
                            "deposit", !chain, "withdrawal", true));
    }
    http_json(resp, 200, json_pack("{s:o}", "methods", list));
    return HTTP_DONE;
}

/* ---- POST /api/v1/payments/deposits ---- */

struct deposit_body {
    const char *method;
    int64_t amount_minor;
    const char *currency;
    const char *scenario;
};

static int deposit_apply(struct store *tx, struct pay_cmd *c)
{
    struct payments_refusal r;
    int rc = payments_deposit_start(c->lg, tx, &c->cmd, c->pam, &c->dep, &r);
    if (rc != PB_OK)
        return rc;
    if (r.status) {
        answer_refusal(c, &r);
        return PB_OK;
    }
    char url[PAYMENTS_URL_MAX];
    payments_psp_find(c->dep.psp)->checkout_url(&c->dep, url, sizeof(url));
    answer_json(c, 201, deposit_json(&c->dep, url));
    return PB_OK;
}

static int deposit_run(struct store *tx, struct pay_cmd *c)
{
    return idem_run(tx, c, deposit_apply);
}

/* Fire and forget: a deposit the PSP would not take fails at once. */
struct start_failed {
    struct writer_cmd cmd;
    struct ledger *lg;
    char reference[PAYMENTS_REFERENCE_MAX + 1];
};

static int start_failed_run(struct store *tx, struct writer_cmd *cmd)
{
    struct start_failed *f = (struct start_failed *)cmd;
    bool changed;
    return payments_deposit_settle(f->lg, tx, cmd, f->reference, PAYMENTS_DEP_FAILED, 0, "",
                                   pb_wall_ms(), &changed, NULL);
}

static void start_failed_done(struct writer_cmd *cmd)
{
    pb_free(cmd);
}

static void deposit_ok(struct http_request *req, struct pay_cmd *c, struct http_response *resp)
{
    answer_ok(req, c, resp);
    if (c->replayed || c->answer_status != 201)
        return;
    const struct payments_psp *psp = payments_psp_find(c->dep.psp);
    if (psp->start_deposit(&c->dep) == PB_OK)
        return;
    pb_log(PB_LOG_WARN, "psp did not take the deposit: failed", "\"deposit_id\":\"%s\"",
           c->dep.id);
    struct start_failed *f = pb_calloc(1, sizeof(*f));
    f->cmd = (struct writer_cmd){.run = start_failed_run, .done = start_failed_done};
    f->lg = c->lg;
    pb_strlcpy(f->reference, c->dep.reference, sizeof(f->reference));
    if (writer_submit(app_writer(req->app), &f->cmd) != PB_OK)
        pb_free(f); /* the expiry fails it later */
}

/* The canonical text of the request (keys sorted, compact) into c->request_json: its fields
 * are bounded (names, amounts, a currency, an address), so it always fits. */
static void canonical(struct pay_cmd *c, json_t *flat)
{
    char *text = json_dumps(flat, JSON_COMPACT | JSON_SORT_KEYS);
    PB_ASSERT(text != NULL && strlen(text) <= PAYMENTS_REQUEST_JSON_MAX);
    json_decref(flat);
    pb_strlcpy(c->request_json, text, sizeof(c->request_json));
    free(text);
}

static enum http_result post_deposit(struct http_request *req, struct http_response *resp)
{
    static const struct pb_json_field fields[] = {
        PB_JSON_STR(struct deposit_body, method, PB_JSON_REQUIRED, 1, PAYMENTS_METHOD_MAX),
        PB_JSON_INT(struct deposit_body, amount_minor, PB_JSON_REQUIRED, 1, INT64_MAX),
        PB_JSON_STR(struct deposit_body, currency, PB_JSON_REQUIRED, 1, LEDGER_CURRENCY_MAX),
        PB_JSON_STR(struct deposit_body, scenario, PB_JSON_OPTIONAL, 1, PAYMENTS_SCENARIO_MAX),
    };
    struct pam_principal who;
    struct deposit_body b = {0};
    json_t *root = NULL;
    const char *key;
    if (!player_ok(req, resp, &who) || !(key = idempotency_key(req, resp)))
        return HTTP_DONE;
    if (!http_decode_body(req, resp, fields, PB_ARRAY_LEN(fields), &b, &root))
        return json_decref(root), HTTP_DONE;
    const struct payments_method *m = payments_method_find(b.method);
    const char *bad = NULL, *field = NULL;
    if (!m || strcmp(m->psp, PAYMENTS_CHAIN_PSP) == 0)
        field = "method", bad = "is not a deposit method (GET /api/v1/payments/methods; crypto "
                                "deposits go to the player's address)";
    else if (!ledger_currency_find(b.currency))
        field = "currency", bad = "is not a known currency";
    else if (b.scenario && !payments_sandbox_scenario_ok(b.scenario))
        field = "scenario", bad = "must be succeed, fail, expire, duplicate or out_of_order";
    else if (b.scenario && strcmp(m->psp, "sandbox") != 0)
        field = "scenario", bad = "only the sandbox PSP takes a scenario";
    if (bad) {
        http_invalid(resp, field, bad);
        return json_decref(root), HTTP_DONE;
    }
    struct pay_cmd *c = pay_cmd_new(req, deposit_run, deposit_ok);
    struct payments_deposit *d = &c->dep;
    char hex[25];
    pb_random_hex(hex, 12);
    snprintf(d->id, sizeof(d->id), "dep_%s", hex);
    snprintf(d->reference, sizeof(d->reference), "pb-dep-%s", hex);
    pb_strlcpy(d->player_id, who.player_id, sizeof(d->player_id));
    pb_strlcpy(d->method, m->name, sizeof(d->method));
    pb_strlcpy(d->psp, m->psp, sizeof(d->psp));
    pb_strlcpy(d->currency, b.currency, sizeof(d->currency));
    pb_strlcpy(d->scenario, b.scenario ? b.scenario : "", sizeof(d->scenario));
    d->amount_minor = b.amount_minor;
    d->created_at_ms = c->now_ms;
    d->expires_at_ms = c->now_ms + c->ps->set.deposit_expiry_s * 1000;
    snprintf(c->scope, sizeof(c->scope), "payments.deposits:%s", who.player_id);
    pb_strlcpy(c->key, key, sizeof(c->key));
    canonical(c, json_pack("{s:s,s:I,s:s,s:s}", "method", b.method, "amount_minor",
                           (json_int_t)b.amount_minor, "currency", b.currency, "scenario",
                           b.scenario ? b.scenario : ""));
    json_decref(root);
    return submit(req, c);
}

/* ---- GET deposit / withdrawal (own) ---- */

static enum http_result get_deposit(struct http_request *req, struct http_response *resp)
{
    struct pam_principal who;
    struct payments_deposit d;
    struct store *s;
    if (!player_ok(req, resp, &who) || !id_param_ok(req, resp, "deposit_id"))
        return HTTP_DONE;
    if (store_pool_acquire(app_readers(req->app), READER_WAIT_MS, &s) != PB_OK)
        return http_unavailable(resp, PB_ERR_TIMEOUT), HTTP_DONE;
    int rc = payments_deposit_get(s, req->params[0], &d);
    store_pool_release(app_readers(req->app), s);
    if (rc == PB_OK && strcmp(d.player_id, who.player_id) == 0)
        http_json(resp, 200, deposit_json(&d, NULL));
    else if (rc == PB_OK || rc == PB_ERR_NOT_FOUND)
        http_problem(resp, 404, "deposit_not_found", "Not found", "no deposit of yours has this id",
                     "deposit_id");
    else
        http_unavailable(resp, rc);
    return HTTP_DONE;
}

static enum http_result get_withdrawal(struct http_request *req, struct http_response *resp)
{
    struct pam_principal who;
    struct payments_withdrawal w;
    struct store *s;
    if (!player_ok(req, resp, &who) || !id_param_ok(req, resp, "withdrawal_id"))
        return HTTP_DONE;
    if (store_pool_acquire(app_readers(req->app), READER_WAIT_MS, &s) != PB_OK)
        return http_unavailable(resp, PB_ERR_TIMEOUT), HTTP_DONE;
    int rc = payments_withdrawal_get(s, req->params[0], &w);
    store_pool_release(app_readers(req->app), s);
    if (rc == PB_OK && strcmp(w.player_id, who.player_id) == 0)
        http_json(resp, 200, withdrawal_json(&w));
    else if (rc == PB_OK || rc == PB_ERR_NOT_FOUND)
        http_problem(resp, 404, "withdrawal_not_found", "Not found",
                     "no withdrawal of yours has this id", "withdrawal_id");
    else
        http_unavailable(resp, rc);
    return HTTP_DONE;
}

/* ---- webhooks ---- */

static void webhook_refused(struct http_request *req, const char *psp, const char *why)
{
    char ip[PAM_IP_MAX + 1];
    app_peer_address(req, ip, sizeof(ip));
    pb_log(PB_LOG_WARN, "payments webhook refused",
           "\"psp\":\"%s\",\"reason\":\"%s\",\"peer\":\"%s\",\"request_id\":\"%s\"", psp, why,
           ip, req->request_id);
}

/* The signature step: true, or false with 503 (no secret) or 401 in resp. */
static bool webhook_signed(struct http_request *req, struct http_response *resp,
                           const char *name, const char *secret,
                           int (*verify)(const char *, const char *, const char *, size_t,
                                         int64_t))
{
    if (!secret[0]) {
        http_problem(resp, 503, "payments_not_configured", "Service unavailable",
                     "no webhook secret is configured for this sender", NULL);
        return false;
    }
    const char *sig = http_header(req, "X-Pitboss-Signature");
    const char *body = req->body.data ? req->body.data : "";
    int rc = verify(secret, sig, body, req->body.len, pb_wall_ms() / 1000);
    if (rc == PB_OK)
        return true;
    const char *why = rc == PB_ERR_TIMEOUT ? "signature_expired" : "signature_invalid";
    webhook_refused(req, name, why);
    http_problem(resp, 401, why, "Unauthorized",
                 rc == PB_ERR_TIMEOUT ? "the signature's timestamp is outside the 5-minute window"
                                      : "X-Pitboss-Signature is missing or does not match",
                 NULL);
    return false;
}

static int webhook_deposit(struct store *tx, struct pay_cmd *c)
{
    static const enum payments_deposit_state to[] = {
        [PAYMENTS_EV_DEPOSIT_PENDING] = PAYMENTS_DEP_PENDING,
        [PAYMENTS_EV_DEPOSIT_SUCCEEDED] = PAYMENTS_DEP_SUCCEEDED,
        [PAYMENTS_EV_DEPOSIT_FAILED] = PAYMENTS_DEP_FAILED,
    };
    bool changed = false;
    int rc = payments_deposit_settle(c->lg, tx, &c->cmd, c->ev.reference, to[c->ev.type],
                                     c->ev.amount_minor, c->ev.currency, c->now_ms, &changed,
                                     &c->dep);
    if (rc == PB_ERR_NOT_FOUND)
        return refuse(c, 404, "unknown_reference", "no payment has this reference", "reference");
    if (rc == PB_ERR_CONFLICT)
        return refuse(c, 409, "amount_mismatch",
                      "the amount or currency differs from the deposit's", "amount_minor");
    c->outcome = changed ? "applied" : "ignored";
    return rc;
}

static int webhook_payout(struct store *tx, struct pay_cmd *c)
{
    struct payments_withdrawal w;
    struct payments_refusal r;
    int rc = payments_withdrawal_by_reference(tx, c->ev.reference, &w);
    if (rc == PB_ERR_NOT_FOUND)
        return refuse(c, 404, "unknown_reference", "no payment has this reference", "reference");
    if (rc != PB_OK)
        return rc;
    if (w.amount_minor != c->ev.amount_minor || strcmp(w.currency, c->ev.currency) != 0)
        return refuse(c, 409, "amount_mismatch",
                      "the amount or currency differs from the withdrawal's", "amount_minor");
    enum payments_withdrawal_state to = c->ev.type == PAYMENTS_EV_PAYOUT_SUCCEEDED
                                            ? PAYMENTS_WDR_COMPLETED
                                            : PAYMENTS_WDR_FAILED;
    if (!payments_withdrawal_transition_ok(w.state, to)) {
        c->outcome = "ignored";
        return PB_OK;
    }
    rc = payments_withdrawal_move(c->lg, tx, &c->cmd, w.id, to, NULL,
                                  to == PAYMENTS_WDR_FAILED ? "the PSP reported the payout failed"
                                                            : NULL,
                                  NULL, c->now_ms, &c->wdr, &r);
    if (rc == PB_OK && r.status)
        return refuse(c, r.status, r.code, r.detail, r.field);
    c->outcome = "applied";
    return rc;
}

/* Records the event id first: a repeat answers 200 and changes nothing. */
static int webhook_run(struct store *tx, struct pay_cmd *c)
{
    bool seen = false;
    int rc = payments_webhook_record(tx, c->psp->name, c->ev.event_id, c->now_ms, &seen);
    if (rc != PB_OK)
        return rc;
    if (seen) {
        c->outcome = "duplicate";
        return PB_OK;
    }
    bool deposit = c->ev.type <= PAYMENTS_EV_DEPOSIT_FAILED;
    return deposit ? webhook_deposit(tx, c) : webhook_payout(tx, c);
}

static void webhook_ok(struct http_request *req, struct pay_cmd *c, struct http_response *resp)
{
    PB_UNUSED(req);
    http_json(resp, 200, json_pack("{s:s,s:s,s:s}", "status", c->outcome, "event_id",
                                   c->ev.event_id, "reference", c->ev.reference));
}

static void webhook_finish(struct http_request *req, struct writer_cmd *cmd,
                           struct http_response *resp)
{
    struct pay_cmd *c = (struct pay_cmd *)cmd;
    if (c->refusal.status)
        webhook_refused(req, c->psp->name, c->refusal.code);
    pay_finish(req, cmd, resp);
}

static enum http_result post_webhook(struct http_request *req, struct http_response *resp)
{
    if (!service_ok(req, resp))
        return HTTP_DONE;
    const struct payments_psp *p = payments_psp_find(req->params[0]);
    if (!p) {
        http_problem(resp, 404, "psp_unknown", "Not found", "no such PSP", "psp");
        return HTTP_DONE;
    }
    struct payments_service *ps = app_payments(req->app);
    if (!webhook_signed(req, resp, p->name, ps->cfg.payments_sandbox_secret,
                        p->verify_signature))
        return HTTP_DONE;
    struct payments_event ev;
    struct pb_json_error err;
    const char *body = req->body.data ? req->body.data : "";
    if (p->parse_webhook(body, req->body.len, &ev, &err) != PB_OK) {
        webhook_refused(req, p->name, "malformed");
        http_problem_json(resp, &err);
        return HTTP_DONE;
    }
    struct pay_cmd *c = pay_cmd_new(req, webhook_run, webhook_ok);
    c->psp = p;
    c->ev = ev;
    return http_submit(req, app_writer(req->app), &c->cmd, webhook_finish);
}

/* ---- POST /api/v1/payments/withdrawals ---- */

struct withdrawal_body {
    const char *method;
    int64_t amount_minor;
    const char *currency;
    const char *destination;
};

static int withdrawal_apply(struct store *tx, struct pay_cmd *c)
{
    struct payments_refusal r;
    int rc = payments_withdrawal_request(c->lg, tx, &c->cmd, c->pam, &c->ps->set, &c->wdr, &r);
    if (rc != PB_OK)
        return rc;
    if (r.status)
        answer_refusal(c, &r);
    else
        answer_json(c, 201, withdrawal_json(&c->wdr));
    return PB_OK;
}

static int withdrawal_run(struct store *tx, struct pay_cmd *c)
{
    return idem_run(tx, c, withdrawal_apply);
}

static void withdrawal_ok(struct http_request *req, struct pay_cmd *c,
                          struct http_response *resp)
{
    answer_ok(req, c, resp);
    if (!c->replayed && c->answer_status == 201)
        pthread_cond_signal(&c->ps->cv); /* an approved one is sent at once */
}

static enum http_result post_withdrawal(struct http_request *req, struct http_response *resp)
{
    static const struct pb_json_field fields[] = {
        PB_JSON_STR(struct withdrawal_body, method, PB_JSON_REQUIRED, 1, PAYMENTS_METHOD_MAX),
        PB_JSON_INT(struct withdrawal_body, amount_minor, PB_JSON_REQUIRED, 1, INT64_MAX),
        PB_JSON_STR(struct withdrawal_body, currency, PB_JSON_REQUIRED, 1, LEDGER_CURRENCY_MAX),
        PB_JSON_STR(struct withdrawal_body, destination, PB_JSON_OPTIONAL, 1,
                    PAYMENTS_ADDRESS_MAX),
    };
    struct pam_principal who;
    struct withdrawal_body b = {0};
    json_t *root = NULL;
    const char *key;
    if (!player_ok(req, resp, &who) || !(key = idempotency_key(req, resp)))
        return HTTP_DONE;
    if (!http_decode_body(req, resp, fields, PB_ARRAY_LEN(fields), &b, &root))
        return json_decref(root), HTTP_DONE;
    const struct payments_method *m = payments_method_find(b.method);
    bool chain = m && strcmp(m->psp, PAYMENTS_CHAIN_PSP) == 0;
    const char *bad = NULL, *field = NULL;
    if (!m)
        field = "method", bad = "is not a payment method (GET /api/v1/payments/methods)";
    else if (!ledger_currency_find(b.currency))
        field = "currency", bad = "is not a known currency";
    else if (chain != (b.destination != NULL))
        field = "destination", bad = chain ? "a crypto withdrawal needs a destination address"
                                           : "only crypto withdrawals take a destination";
    else if (b.destination && strspn(b.destination, ALNUM) != strlen(b.destination))
        field = "destination", bad = "an address is letters and digits";
    if (bad) {
        http_invalid(resp, field, bad);
        return json_decref(root), HTTP_DONE;
    }
    struct pay_cmd *c = pay_cmd_new(req, withdrawal_run, withdrawal_ok);
    struct payments_withdrawal *w = &c->wdr;
    char hex[25];
    pb_random_hex(hex, 12);
    snprintf(w->id, sizeof(w->id), "wdr_%s", hex);
    snprintf(w->reference, sizeof(w->reference), "pb-wdr-%s", hex);
    pb_strlcpy(w->player_id, who.player_id, sizeof(w->player_id));
    pb_strlcpy(w->method, m->name, sizeof(w->method));
    pb_strlcpy(w->psp, m->psp, sizeof(w->psp));
    pb_strlcpy(w->currency, b.currency, sizeof(w->currency));
    pb_strlcpy(w->destination, b.destination ? b.destination : "", sizeof(w->destination));
    w->amount_minor = b.amount_minor;
    w->created_at_ms = c->now_ms;
    snprintf(c->scope, sizeof(c->scope), "payments.withdrawals:%s", who.player_id);
    pb_strlcpy(c->key, key, sizeof(c->key));
    canonical(c, json_pack("{s:s,s:I,s:s,s:s}", "method", b.method, "amount_minor",
                           (json_int_t)b.amount_minor, "currency", b.currency, "destination",
                           b.destination ? b.destination : ""));
    json_decref(root);
    return submit(req, c);
}

/* ---- moves: cancel (player), approve / reject (staff) ---- */

static int move_run(struct store *tx, struct pay_cmd *c)
{
    struct payments_refusal r;
    struct payments_withdrawal before;
    int rc = payments_withdrawal_get(tx, c->wdr.id, &before);
    if (rc == PB_ERR_NOT_FOUND || (rc == PB_OK && c->player_id[0] &&
                                   strcmp(before.player_id, c->player_id) != 0))
        return refuse(c, 404, "withdrawal_not_found", "no withdrawal has this id",
                      "withdrawal_id");
    if (rc != PB_OK)
        return rc;
    if (c->to == PAYMENTS_WDR_CANCELLED && !c->ps->set.player_cancel)
        return refuse(c, 403, "cancel_disabled", "the operator does not let players cancel",
                      NULL);
    rc = payments_withdrawal_move(c->lg, tx, &c->cmd, before.id, c->to, c->actor,
                                  c->reason[0] ? c->reason : NULL, NULL, c->now_ms, &c->wdr, &r);
    if (rc == PB_OK && r.status)
        return refuse(c, r.status, r.code, r.detail, r.field);
    if (rc != PB_OK || c->player_id[0])
        return rc;
    /* A staff decision: audited in the same command. */
    char subject[64], after[128], beforej[128];
    snprintf(subject, sizeof(subject), "withdrawal:%s", before.id);
    snprintf(beforej, sizeof(beforej), "{\"state\":\"%s\",\"amount_minor\":%lld}",
             payments_withdrawal_state_name(before.state), (long long)before.amount_minor);
    snprintf(after, sizeof(after), "{\"state\":\"%s\",\"amount_minor\":%lld}",
             payments_withdrawal_state_name(c->wdr.state), (long long)c->wdr.amount_minor);
    struct staff_audit a = {c->actor, c->to == PAYMENTS_WDR_APPROVED ? "payments.approve"
                                                                   : "payments.reject",
                            subject, c->reason, beforej, after, c->request_id, c->now_ms};
    return staff_audit_write(tx, &a);
}

static void move_ok(struct http_request *req, struct pay_cmd *c, struct http_response *resp)
{
    PB_UNUSED(req);
    if (c->to == PAYMENTS_WDR_APPROVED)
        pthread_cond_signal(&c->ps->cv);
    http_json(resp, 200, withdrawal_json(&c->wdr));
}

static enum http_result post_cancel(struct http_request *req, struct http_response *resp)
{
    struct pam_principal who;
    if (!player_ok(req, resp, &who) || !id_param_ok(req, resp, "withdrawal_id"))
        return HTTP_DONE;
    struct pay_cmd *c = pay_cmd_new(req, move_run, move_ok);
    pb_strlcpy(c->wdr.id, req->params[0], sizeof(c->wdr.id));
    pb_strlcpy(c->player_id, who.player_id, sizeof(c->player_id));
    pb_strlcpy(c->actor, "player", sizeof(c->actor));
    pb_strlcpy(c->reason, "cancelled by the player", sizeof(c->reason));
    c->to = PAYMENTS_WDR_CANCELLED;
    return submit(req, c);
}

struct reason_body {
    const char *reason;
};

static enum http_result staff_decide(struct http_request *req, struct http_response *resp,
                                     enum payments_withdrawal_state to)
{
    static const struct pb_json_field fields[] = {
        PB_JSON_STR(struct reason_body, reason, PB_JSON_REQUIRED, 1, PAYMENTS_REASON_MAX),
    };
    struct staff_principal who;
    struct reason_body b = {0};
    json_t *root = NULL;
    if (!staff_ok(req, resp, &who) || !id_param_ok(req, resp, "withdrawal_id"))
        return HTTP_DONE;
    if (!http_decode_body(req, resp, fields, PB_ARRAY_LEN(fields), &b, &root))
        return json_decref(root), HTTP_DONE;
    struct pay_cmd *c = pay_cmd_new(req, move_run, move_ok);
    pb_strlcpy(c->wdr.id, req->params[0], sizeof(c->wdr.id));
    pb_strlcpy(c->actor, who.actor, sizeof(c->actor));
    pb_strlcpy(c->reason, b.reason, sizeof(c->reason));
    c->to = to;
    json_decref(root);
    return submit(req, c);
}

static enum http_result post_approve(struct http_request *req, struct http_response *resp)
{
    return staff_decide(req, resp, PAYMENTS_WDR_APPROVED);
}

static enum http_result post_reject(struct http_request *req, struct http_response *resp)
{
    return staff_decide(req, resp, PAYMENTS_WDR_REJECTED);
}

/* ---- GET /api/v1/admin/withdrawals?state= ---- */

static enum http_result get_withdrawals(struct http_request *req, struct http_response *resp)
{
    struct staff_principal who;
    enum payments_withdrawal_state state = PAYMENTS_WDR_REVIEW;
    const char *name = http_query(req, "state");
    struct store *s;
    if (!staff_ok(req, resp, &who))
        return HTTP_DONE;
    if (name && payments_withdrawal_state_parse(name, &state) != PB_OK)
        return http_invalid(resp, "state", "is not a withdrawal state"), HTTP_DONE;
    if (store_pool_acquire(app_readers(req->app), READER_WAIT_MS, &s) != PB_OK)
        return http_unavailable(resp, PB_ERR_TIMEOUT), HTTP_DONE;
    struct payments_withdrawal *list = pb_calloc(PAYMENTS_LIST_MAX, sizeof(*list));
    size_t n = 0;
    int rc = payments_withdrawals_list(s, state, NULL, list, PAYMENTS_LIST_MAX, &n);
    store_pool_release(app_readers(req->app), s);
    if (rc == PB_OK) {
        json_t *a = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(a, withdrawal_json(&list[i]));
        http_json(resp, 200, json_pack("{s:s,s:o}", "state", payments_withdrawal_state_name(state),
                                       "withdrawals", a));
    } else {
        http_unavailable(resp, rc);
    }
    pb_free(list);
    return HTTP_DONE;
}

/* ---- crypto ---- */

struct address_body {
    const char *chain;
    const char *asset;
    json_t *addresses;
};

static const char *chain_asset_bad(const char *chain, const char *asset, const char **field)
{
    const struct ledger_currency *cur = ledger_currency_find(asset);
    if (strlen(chain) > PAYMENTS_CHAIN_MAX || strspn(chain, CHAIN_CHARS) != strlen(chain))
        return *field = "chain", "must be 1 to 16 of a-z, 0-9 and -";
    if (!cur || !cur->crypto)
        return *field = "asset", "is not a crypto currency";
    return NULL;
}

static int address_run(struct store *tx, struct pay_cmd *c)
{
    int rc = payments_crypto_address(tx, c->player_id, c->chain, c->asset, c->address,
                                     c->now_ms);
    if (rc == PB_ERR_NOT_FOUND)
        return refuse(c, 409, "address_pool_empty",
                      "no deposit address is left for this chain and asset; staff import more",
                      NULL);
    if (rc == PB_ERR_CONFLICT)
        return refuse(c, 503, "overloaded", "the address was taken meanwhile; retry", NULL);
    return rc;
}

static void address_ok(struct http_request *req, struct pay_cmd *c, struct http_response *resp)
{
    PB_UNUSED(req);
    http_json(resp, 200, json_pack("{s:s,s:s,s:s,s:I,s:I}", "chain", c->chain, "asset",
                                   c->asset, "address", c->address, "confirmations_play",
                                   (json_int_t)c->ps->set.confirmations_play,
                                   "confirmations_withdraw",
                                   (json_int_t)c->ps->set.confirmations_withdraw));
}

static enum http_result post_address(struct http_request *req, struct http_response *resp)
{
    static const struct pb_json_field fields[] = {
        PB_JSON_STR(struct address_body, chain, PB_JSON_REQUIRED, 1, PAYMENTS_CHAIN_MAX),
        PB_JSON_STR(struct address_body, asset, PB_JSON_REQUIRED, 1, LEDGER_CURRENCY_MAX),
    };
    struct pam_principal who;
    struct address_body b = {0};
    json_t *root = NULL;
    const char *field = NULL, *bad;
    if (!player_ok(req, resp, &who))
        return HTTP_DONE;
    if (!http_decode_body(req, resp, fields, PB_ARRAY_LEN(fields), &b, &root))
        return json_decref(root), HTTP_DONE;
    if ((bad = chain_asset_bad(b.chain, b.asset, &field)) != NULL) {
        http_invalid(resp, field, bad);
        return json_decref(root), HTTP_DONE;
    }
    struct pay_cmd *c = pay_cmd_new(req, address_run, address_ok);
    pb_strlcpy(c->player_id, who.player_id, sizeof(c->player_id));
    pb_strlcpy(c->chain, b.chain, sizeof(c->chain));
    pb_strlcpy(c->asset, b.asset, sizeof(c->asset));
    json_decref(root);
    return submit(req, c);
}

static int import_run(struct store *tx, struct pay_cmd *c)
{
    const char **list = pb_calloc(c->naddresses, sizeof(*list));
    for (size_t i = 0; i < c->naddresses; i++)
        list[i] = c->addresses[i];
    int rc = payments_crypto_import(tx, c->chain, c->asset, list, c->naddresses, c->now_ms,
                                    &c->added);
    pb_free(list);
    if (rc != PB_OK)
        return rc;
    char subject[64], after[96];
    snprintf(subject, sizeof(subject), "crypto_pool:%s:%s", c->chain, c->asset);
    snprintf(after, sizeof(after), "{\"added\":%d,\"given\":%zu}", c->added, c->naddresses);
    struct staff_audit a = {c->actor, "payments.address_import", subject, "address pool import",
                            "{}", after, c->request_id, c->now_ms};
    return staff_audit_write(tx, &a);
}

static void import_ok(struct http_request *req, struct pay_cmd *c, struct http_response *resp)
{
    PB_UNUSED(req);
    http_json(resp, 200, json_pack("{s:s,s:s,s:i,s:I}", "chain", c->chain, "asset", c->asset,
                                   "added", c->added, "given", (json_int_t)c->naddresses));
}

static enum http_result post_import(struct http_request *req, struct http_response *resp)
{
    static const struct pb_json_field fields[] = {
        PB_JSON_STR(struct address_body, chain, PB_JSON_REQUIRED, 1, PAYMENTS_CHAIN_MAX),
        PB_JSON_STR(struct address_body, asset, PB_JSON_REQUIRED, 1, LEDGER_CURRENCY_MAX),
        PB_JSON_ARR(struct address_body, addresses, PB_JSON_REQUIRED),
    };
    struct staff_principal who;
    struct address_body b = {0};
    json_t *root = NULL;
    const char *field = NULL, *bad;
    if (!staff_ok(req, resp, &who))
        return HTTP_DONE;
    if (!http_decode_body(req, resp, fields, PB_ARRAY_LEN(fields), &b, &root))
        return json_decref(root), HTTP_DONE;
    size_t n = json_array_size(b.addresses);
    bad = chain_asset_bad(b.chain, b.asset, &field);
    if (!bad && (n < 1 || n > PAYMENTS_ADDRESS_IMPORT_MAX))
        field = "addresses", bad = "must hold 1 to 1000 addresses";
    for (size_t i = 0; !bad && i < n; i++) {
        const char *a = json_string_value(json_array_get(b.addresses, i));
        if (!a || !*a || strlen(a) > PAYMENTS_ADDRESS_MAX || strspn(a, ALNUM) != strlen(a))
            field = "addresses", bad = "each address is 1 to 128 letters and digits";
    }
    if (bad) {
        http_invalid(resp, field, bad);
        return json_decref(root), HTTP_DONE;
    }
    struct pay_cmd *c = pay_cmd_new_extra(req, import_run, import_ok, n * sizeof(*c->addresses));
    pb_strlcpy(c->actor, who.actor, sizeof(c->actor));
    pb_strlcpy(c->chain, b.chain, sizeof(c->chain));
    pb_strlcpy(c->asset, b.asset, sizeof(c->asset));
    c->addresses = (void *)(c + 1);
    for (size_t i = 0; i < n; i++)
        pb_strlcpy(c->addresses[i], json_string_value(json_array_get(b.addresses, i)),
                   sizeof(c->addresses[i]));
    c->naddresses = n;
    json_decref(root);
    return submit(req, c);
}

/* ---- the chain watcher ---- */

struct report_body {
    const char *txid;
    int64_t vout;
    const char *asset;
    const char *address;
    int64_t amount_minor;
    int64_t confirmations;
    bool dropped;
};

static int report_run(struct store *tx, struct pay_cmd *c)
{
    int rc = payments_crypto_report(c->lg, tx, &c->cmd, &c->ps->set, &c->rep, c->now_ms,
                                    &c->crypto);
    if (rc == PB_OK && c->crypto.unknown_address) {
        pb_log(PB_LOG_WARN, "chain report for an unassigned address: ignored",
               "\"chain\":\"%s\",\"address\":\"%s\"", c->chain, c->address);
        return refuse(c, 404, "unknown_address", "no player has this deposit address",
                      "address");
    }
    return rc;
}

static void report_ok(struct http_request *req, struct pay_cmd *c, struct http_response *resp)
{
    PB_UNUSED(req);
    const char *state = c->crypto.state ? payments_crypto_state_name(c->crypto.state) : "none";
    http_json(resp, 200, json_pack("{s:s,s:s,s:I,s:s,s:b}", "chain", c->chain, "txid", c->txid,
                                   "vout", (json_int_t)c->rep.vout, "state", state, "changed",
                                   c->crypto.changed));
}

/* Decoding (also reached by the fuzzer through payments_chain_report_parse). */
static bool report_decode(struct http_request *req, struct http_response *resp,
                          struct report_body *b, json_t **root)
{
    static const struct pb_json_field fields[] = {
        PB_JSON_STR(struct report_body, txid, PB_JSON_REQUIRED, 1, PAYMENTS_TXID_MAX),
        PB_JSON_INT(struct report_body, vout, PB_JSON_REQUIRED, 0, 1000000),
        PB_JSON_STR(struct report_body, asset, PB_JSON_REQUIRED, 1, LEDGER_CURRENCY_MAX),
        PB_JSON_STR(struct report_body, address, PB_JSON_REQUIRED, 1, PAYMENTS_ADDRESS_MAX),
        PB_JSON_INT(struct report_body, amount_minor, PB_JSON_REQUIRED, 1, INT64_MAX),
        PB_JSON_INT(struct report_body, confirmations, PB_JSON_REQUIRED, 0, 1000000000),
        PB_JSON_BOOL(struct report_body, dropped, PB_JSON_OPTIONAL),
    };
    if (!http_decode_body(req, resp, fields, PB_ARRAY_LEN(fields), b, root))
        return false;
    const char *field = NULL, *bad = chain_asset_bad(req->params[0], b->asset, &field);
    if (!bad && strspn(b->txid, ALNUM) != strlen(b->txid))
        field = "txid", bad = "a transaction id is letters and digits";
    if (!bad && strspn(b->address, ALNUM) != strlen(b->address))
        field = "address", bad = "an address is letters and digits";
    if (bad)
        http_invalid(resp, field, bad);
    return bad == NULL;
}

static enum http_result post_report(struct http_request *req, struct http_response *resp)
{
    struct report_body b = {0};
    json_t *root = NULL;
    if (!service_ok(req, resp) ||
        !webhook_signed(req, resp, "chain", app_payments(req->app)->cfg.payments_watcher_secret,
                        payments_verify_signature))
        return HTTP_DONE;
    if (!report_decode(req, resp, &b, &root))
        return json_decref(root), HTTP_DONE;
    struct pay_cmd *c = pay_cmd_new(req, report_run, report_ok);
    pb_strlcpy(c->chain, req->params[0], sizeof(c->chain));
    pb_strlcpy(c->asset, b.asset, sizeof(c->asset));
    pb_strlcpy(c->txid, b.txid, sizeof(c->txid));
    pb_strlcpy(c->address, b.address, sizeof(c->address));
    c->rep = (struct payments_chain_report){c->chain, c->asset, c->txid, c->address, b.vout,
                                            b.amount_minor, b.confirmations, b.dropped};
    json_decref(root);
    return submit(req, c);
}

/* A batch transaction of crypto withdrawals: confirmed (>= N1) completes them, dropped fails
 * them (their funds return to cash). */
static int batch_run(struct store *tx, struct pay_cmd *c)
{
    struct payments_withdrawal *list = pb_calloc(PAYMENTS_PAYOUT_BATCH_MAX, sizeof(*list));
    size_t n = 0;
    int rc = payments_withdrawals_list(tx, PAYMENTS_WDR_PROCESSING, "crypto", list,
                                       PAYMENTS_PAYOUT_BATCH_MAX, &n);
    bool done = c->rep.dropped || c->rep.confirmations >= c->ps->set.confirmations_play;
    for (size_t i = 0; rc == PB_OK && done && i < n; i++) {
        struct payments_refusal r;
        if (strcmp(list[i].batch, c->txid) != 0)
            continue;
        rc = payments_withdrawal_move(c->lg, tx, &c->cmd, list[i].id,
                                      c->rep.dropped ? PAYMENTS_WDR_FAILED
                                                     : PAYMENTS_WDR_COMPLETED,
                                      NULL, c->rep.dropped ? "batch dropped from the chain" : NULL,
                                      NULL, c->now_ms, &c->wdr, &r);
        c->completed += rc == PB_OK && !r.status;
    }
    pb_free(list);
    return rc;
}

static void batch_ok(struct http_request *req, struct pay_cmd *c, struct http_response *resp)
{
    PB_UNUSED(req);
    http_json(resp, 200, json_pack("{s:s,s:i}", "batch", c->txid, c->rep.dropped ? "failed"
                                                                                   : "completed",
                                   c->completed));
}

struct batch_body {
    int64_t confirmations;
    bool dropped;
};

static enum http_result post_batch(struct http_request *req, struct http_response *resp)
{
    static const struct pb_json_field fields[] = {
        PB_JSON_INT(struct batch_body, confirmations, PB_JSON_REQUIRED, 0, 1000000000),
        PB_JSON_BOOL(struct batch_body, dropped, PB_JSON_OPTIONAL),
    };
    struct batch_body b = {0};
    json_t *root = NULL;
    if (!service_ok(req, resp) ||
        !webhook_signed(req, resp, "chain", app_payments(req->app)->cfg.payments_watcher_secret,
                        payments_verify_signature))
        return HTTP_DONE;
    if (!http_decode_body(req, resp, fields, PB_ARRAY_LEN(fields), &b, &root))
        return json_decref(root), HTTP_DONE;
    json_decref(root);
    if (strlen(req->params[1]) > PAYMENTS_TXID_MAX ||
        strspn(req->params[1], TOKEN_CHARS) != strlen(req->params[1]))
        return http_invalid(resp, "batch", "is not a batch id"), HTTP_DONE;
    struct pay_cmd *c = pay_cmd_new(req, batch_run, batch_ok);
    pb_strlcpy(c->txid, req->params[1], sizeof(c->txid));
    c->rep.confirmations = b.confirmations;
    c->rep.dropped = b.dropped;
    return submit(req, c);
}

/* ---- statements and reconciliation ---- */

static enum http_result get_statement(struct http_request *req, struct http_response *resp)
{
    struct staff_principal who;
    if (!staff_ok(req, resp, &who))
        return HTTP_DONE;
    if (strcmp(req->params[0], "sandbox") != 0 || !app_payments(req->app)->sandbox) {
        http_problem(resp, 404, "psp_unknown", "Not found",
                     "only the running sandbox PSP produces a statement here", "psp");
        return HTTP_DONE;
    }
    pb_buf_reset(&resp->body);
    payments_sandbox_statement(&resp->body);
    resp->status = 200;
    resp->content_type = "application/json";
    return HTTP_DONE;
}

static enum http_result get_reconciliation(struct http_request *req,
                                           struct http_response *resp)
{
    struct staff_principal who;
    struct store *s;
    if (!staff_ok(req, resp, &who))
        return HTTP_DONE;
    const char *psp = http_query(req, "psp");
    if (!psp || strcmp(psp, "sandbox") != 0 || !app_payments(req->app)->sandbox) {
        http_invalid(resp, "psp", "only the running sandbox PSP can be reconciled live");
        return HTTP_DONE;
    }
    struct pb_buf statement = PB_BUF_INIT, report = PB_BUF_INIT;
    payments_sandbox_statement(&statement);
    int mismatches = 0, rc = PB_ERR_TIMEOUT;
    if (store_pool_acquire(app_readers(req->app), READER_WAIT_MS, &s) == PB_OK) {
        rc = payments_reconcile(s, psp, pb_buf_str(&statement), statement.len, &report,
                                &mismatches);
        store_pool_release(app_readers(req->app), s);
    }
    if (rc == PB_OK)
        http_json(resp, 200, json_pack("{s:s,s:i,s:s}", "psp", psp, "mismatches", mismatches,
                                       "report", pb_buf_str(&report)));
    else
        http_unavailable(resp, rc);
    pb_buf_release(&statement);
    pb_buf_release(&report);
    return HTTP_DONE;
}

const struct http_route payments_routes[] = {
    {HTTP_GET, "/api/v1/payments/methods", get_methods, 0},
    {HTTP_POST, "/api/v1/payments/deposits", post_deposit, HTTP_ROUTE_JSON_BODY},
    {HTTP_GET, "/api/v1/payments/deposits/{deposit_id}", get_deposit, 0},
    {HTTP_POST, "/api/v1/payments/webhooks/{psp}", post_webhook, HTTP_ROUTE_JSON_BODY},
    {HTTP_POST, "/api/v1/payments/withdrawals", post_withdrawal, HTTP_ROUTE_JSON_BODY},
    {HTTP_GET, "/api/v1/payments/withdrawals/{withdrawal_id}", get_withdrawal, 0},
    {HTTP_POST, "/api/v1/payments/withdrawals/{withdrawal_id}/cancel", post_cancel, 0},
    {HTTP_POST, "/api/v1/payments/crypto/addresses", post_address, HTTP_ROUTE_JSON_BODY},
    {HTTP_POST, "/api/v1/payments/chain/{chain}/reports", post_report, HTTP_ROUTE_JSON_BODY},
    {HTTP_POST, "/api/v1/payments/chain/{chain}/batches/{batch}", post_batch,
     HTTP_ROUTE_JSON_BODY},
    {HTTP_GET, "/api/v1/admin/withdrawals", get_withdrawals, 0},
    {HTTP_POST, "/api/v1/admin/withdrawals/{withdrawal_id}/approve", post_approve,
     HTTP_ROUTE_JSON_BODY},
    {HTTP_POST, "/api/v1/admin/withdrawals/{withdrawal_id}/reject", post_reject,
     HTTP_ROUTE_JSON_BODY},
    {HTTP_POST, "/api/v1/admin/payments/crypto/addresses", post_import, HTTP_ROUTE_JSON_BODY},
    {HTTP_GET, "/api/v1/admin/payments/statements/{psp}", get_statement, 0},
    {HTTP_GET, "/api/v1/admin/payments/reconciliation", get_reconciliation, 0},
};
const size_t payments_routes_count = PB_ARRAY_LEN(payments_routes);

/* ---- the service: worker thread ---- */

struct sync_cmd {
    struct writer_cmd cmd;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool done;
    struct payments_service *ps;
    int (*fn)(struct store *tx, struct sync_cmd *s);
    /* arguments and results */
    const char *id;
    enum payments_withdrawal_state to;
    const char *reason, *batch;
    struct payments_withdrawal w;
    struct payments_refusal r;
    int n;
};

static int sync_run(struct store *tx, struct writer_cmd *cmd)
{
    struct sync_cmd *s = (struct sync_cmd *)cmd;
    return s->fn(tx, s);
}

static void sync_done(struct writer_cmd *cmd)
{
    struct sync_cmd *s = (struct sync_cmd *)cmd;
    pthread_mutex_lock(&s->mu);
    s->done = true;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

/* Runs s->fn as one writer command and waits for it; the command's status. */
static int sync_submit(struct payments_service *ps, struct sync_cmd *s)
{
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    s->ps = ps;
    s->done = false;
    s->cmd = (struct writer_cmd){.run = sync_run, .done = sync_done};
    int rc = writer_submit(ps->writer, &s->cmd);
    if (rc == PB_OK) {
        pthread_mutex_lock(&s->mu);
        while (!s->done)
            pthread_cond_wait(&s->cv, &s->mu);
        pthread_mutex_unlock(&s->mu);
        rc = s->cmd.status;
    }
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    return rc;
}

static int expire_fn(struct store *tx, struct sync_cmd *s)
{
    return payments_deposits_expire(s->ps->lg, tx, &s->cmd, pb_wall_ms(),
                                     PAYMENTS_EXPIRE_BATCH_MAX, &s->n);
}

static int move_fn(struct store *tx, struct sync_cmd *s)
{
    int rc = payments_withdrawal_move(s->ps->lg, tx, &s->cmd, s->id, s->to, NULL, s->reason,
                                      s->batch, pb_wall_ms(), &s->w, &s->r);
    return rc == PB_OK && s->r.status ? PB_ERR_CONFLICT : rc;
}

/* Sends approved withdrawals: approved -> processing (committed) before the PSP is called,
 * so a crash in between leaves it processing (never sent twice: the reference is the PSP's
 * idempotency key, and reconciliation shows it); a PSP refusal fails it (funds return). */
static void send_payouts(struct payments_service *ps, struct payments_withdrawal *list,
                         size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct sync_cmd s = {.id = list[i].id, .to = PAYMENTS_WDR_PROCESSING, .fn = move_fn};
        if (strcmp(list[i].psp, PAYMENTS_CHAIN_PSP) == 0 || sync_submit(ps, &s) != PB_OK)
            continue;
        const struct payments_psp *psp = payments_psp_find(s.w.psp);
        if (psp && psp->payout(&s.w) == PB_OK)
            continue;
        struct sync_cmd f = {.id = list[i].id, .to = PAYMENTS_WDR_FAILED, .fn = move_fn,
                             .reason = "the PSP refused the payout"};
        if (sync_submit(ps, &f) != PB_OK)
            pb_log(PB_LOG_ERROR, "payout refused and not failed", "\"withdrawal_id\":\"%s\"",
                   list[i].id);
    }
}

/* Approved crypto withdrawals of one asset go out in one batch transaction. */
static void batch_crypto(struct payments_service *ps, struct payments_withdrawal *list,
                         size_t n)
{
    char batch[PAYMENTS_TXID_MAX + 1] = "", asset[LEDGER_CURRENCY_MAX + 1] = "";
    for (size_t i = 0; i < n; i++) {
        if (strcmp(list[i].psp, PAYMENTS_CHAIN_PSP) != 0)
            continue;
        if (strcmp(asset, list[i].currency) != 0) {
            char hex[25];
            pb_random_hex(hex, 12);
            snprintf(batch, sizeof(batch), "batch-%s-%s", list[i].currency, hex);
            pb_strlcpy(asset, list[i].currency, sizeof(asset));
        }
        struct sync_cmd s = {.id = list[i].id, .to = PAYMENTS_WDR_PROCESSING, .fn = move_fn,
                             .batch = batch};
        if (sync_submit(ps, &s) == PB_OK)
            pb_log(PB_LOG_INFO, "crypto withdrawal batched",
                   "\"withdrawal_id\":\"%s\",\"batch\":\"%s\"", list[i].id, batch);
    }
}

static int by_currency(const void *a, const void *b)
{
    return strcmp(((const struct payments_withdrawal *)a)->currency,
                  ((const struct payments_withdrawal *)b)->currency);
}

static void worker_turn(struct payments_service *ps)
{
    struct sync_cmd e = {.fn = expire_fn};
    if (sync_submit(ps, &e) == PB_OK && e.n > 0)
        pb_log(PB_LOG_INFO, "deposits expired", "\"count\":%d", e.n);
    struct store *s;
    if (store_pool_acquire(ps->readers, READER_WAIT_MS, &s) != PB_OK)
        return;
    struct payments_withdrawal *list = pb_calloc(PAYMENTS_PAYOUT_BATCH_MAX, sizeof(*list));
    size_t n = 0;
    int rc = payments_withdrawals_list(s, PAYMENTS_WDR_APPROVED, NULL, list,
                                       PAYMENTS_PAYOUT_BATCH_MAX, &n);
    store_pool_release(ps->readers, s);
    if (rc == PB_OK) {
        send_payouts(ps, list, n);
        qsort(list, n, sizeof(*list), by_currency);
        batch_crypto(ps, list, n);
    }
    pb_free(list);
}

static void *worker_main(void *arg)
{
    struct payments_service *ps = arg;
    pthread_setname_np(pthread_self(), "pb-payments");
    pthread_mutex_lock(&ps->mu);
    while (!ps->stopping) {
        pthread_mutex_unlock(&ps->mu);
        worker_turn(ps);
        pthread_mutex_lock(&ps->mu);
        if (ps->stopping)
            break;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += (long)PAYMENTS_WORKER_INTERVAL_MS * 1000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&ps->cv, &ps->mu, &ts);
    }
    pthread_mutex_unlock(&ps->mu);
    return NULL;
}

int payments_service_start(const struct pb_config *cfg, const char *callback_base,
                           struct writer *w, struct store_pool *readers, struct ledger *lg,
                           struct payments_service **out)
{
    struct payments_service *ps = pb_calloc(1, sizeof(*ps));
    ps->cfg = *cfg;
    payments_settings_defaults(&ps->set);
    ps->set.deposit_expiry_s = cfg->payments_deposit_expiry_s;
    ps->set.review_threshold_minor = cfg->payments_review_threshold_minor;
    ps->set.wagering_percent = cfg->payments_wagering_percent;
    ps->set.player_cancel = cfg->payments_player_cancel != 0;
    ps->set.confirmations_play = cfg->payments_confirmations_play;
    ps->set.confirmations_withdraw = cfg->payments_confirmations_withdraw;
    if (ps->set.confirmations_withdraw < ps->set.confirmations_play) {
        pb_log(PB_LOG_ERROR, "payments.confirmations_withdraw must be >= confirmations_play",
               NULL);
        pb_free(ps);
        return PB_ERR_INVALID;
    }
    ps->writer = w;
    ps->readers = readers;
    ps->lg = lg;
    pthread_mutex_init(&ps->mu, NULL);
    pthread_cond_init(&ps->cv, NULL);
    if (cfg->payments_sandbox_secret[0]) {
        struct payments_sandbox_config sc = {.delay_ms = (int)cfg->payments_sandbox_delay_ms};
        pb_strlcpy(sc.secret, cfg->payments_sandbox_secret, sizeof(sc.secret));
        if (cfg->payments_callback_url[0])
            pb_strlcpy(sc.callback_url, cfg->payments_callback_url, sizeof(sc.callback_url));
        else
            snprintf(sc.callback_url, sizeof(sc.callback_url),
                     "%s/api/v1/payments/webhooks/sandbox", callback_base);
        ps->sandbox = payments_sandbox_start(&sc) == PB_OK;
    }
    if (pthread_create(&ps->thread, NULL, worker_main, ps) != 0) {
        payments_sandbox_stop();
        pb_free(ps);
        return PB_ERR_IO;
    }
    *out = ps;
    return PB_OK;
}

void payments_service_stop(struct payments_service *ps)
{
    if (!ps)
        return;
    pthread_mutex_lock(&ps->mu);
    ps->stopping = true;
    pthread_cond_signal(&ps->cv);
    pthread_mutex_unlock(&ps->mu);
    pthread_join(ps->thread, NULL);
    if (ps->sandbox)
        payments_sandbox_stop();
    pthread_mutex_destroy(&ps->mu);
    pthread_cond_destroy(&ps->cv);
    pb_free(ps);
}
