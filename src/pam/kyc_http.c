/* kyc_http.c: the KYC routes (kyc_http.h; decisions in docs/kyc.md).
 *
 * Pipeline per request: authenticate (player session, staff token, or webhook signature) ->
 * strict decoding (400 naming the field) -> one writer command (struct kyc_cmd) that re-reads
 * what it depends on and writes. A command that refuses sets a problem and returns
 * PB_ERR_CONFLICT, so its savepoint is rolled back and the refusal changes nothing. */
#include "pam/kyc_http.h"
#include "pam/staff_http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/base.h"
#include "base/log.h"
#include "core/writer.h"
#include "pam/kyc.h"
#include "pam/pam_http.h"
#include "store/store.h"

#define KYC_EVENTS_LIST_MAX 100 /* history rows in the staff view of one player */
#define REFERENCE_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:/-"

struct kyc_cmd;
typedef int (*kyc_run_fn)(struct store *tx, struct kyc_cmd *c);
typedef void (*kyc_ok_fn)(struct kyc_cmd *c, struct http_response *resp);

struct kyc_cmd {
    struct writer_cmd cmd; /* first: the server frees the struct */
    kyc_run_fn run;
    kyc_ok_fn ok;
    int64_t now_ms;
    char player_id[PAM_PLAYER_ID_SIZE];
    char actor[KYC_ACTOR_MAX + 1];
    char reason[KYC_REASON_MAX + 1];
    enum kyc_state to;
    int tier;
    struct kyc_document doc;
    struct kyc_status before, after;
    const struct kyc_provider *provider;
    char event_id[KYC_EVENT_ID_MAX + 1];
    bool duplicate;
    int reviewed;
    struct http_refusal refusal; /* the answer when it is a problem (status != 0) */
};

static int refuse(struct kyc_cmd *c, int status, const char *code, const char *detail,
                  const char *field)
{
    c->refusal = (struct http_refusal){status, code, detail, field, 0};
    return PB_ERR_CONFLICT; /* rolls the command's savepoint back */
}

static int kyc_cmd_run(struct store *tx, struct writer_cmd *cmd)
{
    struct kyc_cmd *c = (struct kyc_cmd *)cmd;
    return c->run(tx, c);
}

static struct kyc_cmd *kyc_cmd_new(kyc_run_fn run, kyc_ok_fn ok)
{
    struct kyc_cmd *c = pb_calloc(1, sizeof(*c));
    c->cmd.run = kyc_cmd_run;
    c->run = run;
    c->ok = ok;
    c->now_ms = pb_wall_ms();
    return c;
}

static void kyc_finish(struct http_request *req, struct writer_cmd *cmd,
                       struct http_response *resp)
{
    PB_UNUSED(req);
    struct kyc_cmd *c = (struct kyc_cmd *)cmd;
    if (!http_answer_refusal(&c->refusal, cmd->status, resp))
        c->ok(c, resp);
}

static enum http_result submit(struct http_request *req, struct kyc_cmd *c)
{
    return http_submit(req, app_writer(req->app), &c->cmd, kyc_finish);
}

/* ---- common pieces ---- */

static int reader_acquire(struct http_request *req, struct store **s)
{
    return store_pool_acquire(app_readers(req->app), PAM_HTTP_READER_WAIT_MS, s) == PB_OK
               ? PB_OK
               : PB_ERR_TIMEOUT;
}

static void reader_release(struct http_request *req, struct store *s)
{
    store_pool_release(app_readers(req->app), s);
}

static json_t *time_json(int64_t ms)
{
    char text[PB_TIME_TEXT_MAX];
    if (ms <= 0)
        return json_null();
    pb_format_time_ms(ms, text);
    return json_string(text);
}

static int emit_state_changed(struct store *tx, struct kyc_cmd *c)
{
    char data[256];
    snprintf(data, sizeof(data), "{\"from\":\"%s\",\"to\":\"%s\",\"tier\":%d,\"actor\":\"%s\"}",
             kyc_state_name(c->before.state), kyc_state_name(c->to), c->tier,
             c->actor);
    return writer_emit(tx, &c->cmd, "kyc.state_changed", c->player_id, data);
}

/* ---- staff authentication: the single place for the permission check ---- */

/* The staff check of the review routes: a staff session whose role holds permission, or the
 * service token; true with the audit actor in actor, or false with a 401/403 in resp. */
static bool staff_authorize(struct http_request *req, struct http_response *resp,
                            const char *permission, char actor[KYC_ACTOR_MAX + 1])
{
    struct staff_principal who;
    if (staff_authenticate(req->app, req, permission, &who, resp) != PB_OK)
        return false;
    pb_strlcpy(actor, who.actor, KYC_ACTOR_MAX + 1);
    return true;
}

static bool player_ok(struct http_request *req, struct http_response *resp,
                      struct pam_principal *who)
{
    int rc = pam_authenticate(req->app, req, who);
    if (rc != PB_OK)
        pam_http_auth_problem(resp, rc);
    return rc == PB_OK;
}

/* ---- documents and status as JSON ---- */

static json_t *document_json(const struct kyc_document *d)
{
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:o}", "document_id", d->id, "type",
                          kyc_doc_type_name(d->type), "reference", d->reference, "status",
                          kyc_doc_status_name(d->status), "submitted_at",
                          time_json(d->submitted_at_ms));
    if (d->status != KYC_DOC_SUBMITTED) {
        json_object_set_new(o, "reviewer", json_string(d->reviewer));
        json_object_set_new(o, "reason", json_string(d->reason));
        json_object_set_new(o, "reviewed_at", time_json(d->reviewed_at_ms));
    }
    return o;
}

static json_t *required_json(const struct pam_config *cfg, const char *brand)
{
    json_t *a = json_array();
    const struct pam_brand *b = pam_config_brand(cfg, brand);
    unsigned bits = b ? b->jurisdiction->kyc_required : 0;
    if (bits & PAM_KYC_DEPOSIT)
        json_array_append_new(a, json_string("deposit"));
    if (bits & PAM_KYC_WITHDRAWAL)
        json_array_append_new(a, json_string("withdrawal"));
    if (bits & PAM_KYC_PLAY)
        json_array_append_new(a, json_string("play"));
    return a;
}

/* {player_id, state, tier, updated_at, documents[]} read from s; NULL on a database error. */
static json_t *status_json(struct store *s, const char *player_id, int *rc_out)
{
    struct kyc_status ks;
    struct kyc_document *docs = pb_calloc(KYC_DOCUMENTS_MAX, sizeof(*docs));
    size_t n = 0;
    json_t *o = NULL;
    int rc = kyc_status_get(s, player_id, &ks);
    rc = rc ? rc : kyc_documents_list(s, player_id, docs, KYC_DOCUMENTS_MAX, &n);
    if (rc == PB_OK) {
        json_t *list = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(list, document_json(&docs[i]));
        o = json_pack("{s:s,s:s,s:i,s:o,s:o}", "player_id", player_id, "state",
                      kyc_state_name(ks.state), "tier", ks.tier, "updated_at",
                      time_json(ks.updated_at_ms), "documents", list);
    }
    pb_free(docs);
    *rc_out = rc;
    return o;
}

/* ---- GET /api/v1/players/me/kyc ---- */

static enum http_result get_my_kyc(struct http_request *req, struct http_response *resp)
{
    struct pam_principal who;
    struct pam_player p;
    struct store *s;
    if (!player_ok(req, resp, &who))
        return HTTP_DONE;
    int rc = reader_acquire(req, &s);
    if (rc != PB_OK)
        return http_unavailable(resp, rc), HTTP_DONE;
    json_t *doc = NULL;
    rc = pam_player_get(s, who.player_id, &p);
    if (rc == PB_OK)
        doc = status_json(s, who.player_id, &rc);
    reader_release(req, s);
    if (rc != PB_OK)
        return http_unavailable(resp, rc), HTTP_DONE;
    json_object_set_new(doc, "kyc_required", required_json(app_pam_config(req->app), p.brand));
    http_json(resp, 200, doc);
    return HTTP_DONE;
}

/* ---- POST /api/v1/players/me/kyc/documents ---- */

struct document_body {
    const char *type;
    const char *reference;
};

static int document_run(struct store *tx, struct kyc_cmd *c)
{
    int rc = kyc_document_submit(tx, &c->doc, &c->after);
    if (rc == PB_ERR_FULL)
        return refuse(c, 409, "too_many_documents", "a player may submit at most 20 documents",
                      NULL);
    char data[128];
    snprintf(data, sizeof(data), "{\"document_id\":\"%s\",\"type\":\"%s\"}", c->doc.id,
             kyc_doc_type_name(c->doc.type));
    return rc ? rc : writer_emit(tx, &c->cmd, "kyc.document_submitted", c->player_id, data);
}

static void document_ok(struct kyc_cmd *c, struct http_response *resp)
{
    json_t *o = document_json(&c->doc);
    json_object_set_new(o, "kyc", json_pack("{s:s,s:i}", "state",
                                            kyc_state_name(c->after.state), "tier",
                                            c->after.tier));
    http_json(resp, 201, o);
}

static enum http_result post_document(struct http_request *req, struct http_response *resp)
{
    static const struct pb_json_field fields[] = {
        PB_JSON_STR(struct document_body, type, PB_JSON_REQUIRED, 1, 32),
        PB_JSON_STR(struct document_body, reference, PB_JSON_REQUIRED, 1, KYC_REFERENCE_MAX),
    };
    struct pam_principal who;
    struct document_body b = {0};
    json_t *root;
    enum kyc_doc_type type;
    if (!player_ok(req, resp, &who))
        return HTTP_DONE;
    if (!http_decode_body(req, resp, fields, PB_ARRAY_LEN(fields), &b, &root))
        return json_decref(root), HTTP_DONE;
    if (kyc_doc_type_parse(b.type, &type) != PB_OK) {
        http_invalid(resp, "type", "must be passport, id_card, driving_licence, proof_of_address "
                "or source_of_funds");
        return json_decref(root), HTTP_DONE;
    }
    if (strspn(b.reference, REFERENCE_CHARS) != strlen(b.reference)) {
        http_invalid(resp, "reference", "only A-Z, a-z, 0-9 and . _ : / - are allowed");
        return json_decref(root), HTTP_DONE;
    }
    struct kyc_cmd *c = kyc_cmd_new(document_run, document_ok);
    pb_strlcpy(c->player_id, who.player_id, sizeof(c->player_id));
    pb_random_hex(c->doc.id, (KYC_DOCUMENT_ID_SIZE - 1) / 2);
    pb_strlcpy(c->doc.player_id, who.player_id, sizeof(c->doc.player_id));
    c->doc.type = type;
    pb_strlcpy(c->doc.reference, b.reference, sizeof(c->doc.reference));
    c->doc.submitted_at_ms = c->now_ms;
    json_decref(root);
    return submit(req, c);
}

/* ---- decisions: staff and providers share one command ---- */

/* Applies c->to / c->tier to c->player_id with c->actor and c->reason, reviews the player's
 * submitted documents, emits kyc.state_changed. Refusals change nothing. */
static int decide(struct store *tx, struct kyc_cmd *c)
{
    struct pam_player p;
    const char *why = NULL;
    int rc = pam_player_get(tx, c->player_id, &p);
    if (rc == PB_ERR_NOT_FOUND)
        return refuse(c, 404, "player_not_found", "no player has this id", "player_id");
    if (rc == PB_OK)
        rc = kyc_transition(tx, c->player_id, c->to, c->tier, c->actor, c->reason, c->now_ms,
                            &c->before, &why);
    if (rc == PB_ERR_INVALID)
        return refuse(c, 400, "validation_failed", why, "tier");
    if (rc == PB_ERR_CONFLICT)
        return refuse(c, 409, "kyc_transition_illegal", why, NULL);
    if (rc == PB_OK)
        rc = kyc_documents_review(tx, c->player_id,
                                  c->to == KYC_VERIFIED ? KYC_DOC_ACCEPTED : KYC_DOC_REJECTED,
                                  c->actor, c->reason, c->now_ms, &c->reviewed);
    return rc ? rc : emit_state_changed(tx, c);
}

static void decide_ok(struct kyc_cmd *c, struct http_response *resp)
{
    if (c->duplicate) {
        http_json(resp, 200, json_pack("{s:s,s:s}", "status", "duplicate", "event_id",
                                       c->event_id));
        return;
    }
    http_json(resp, 200, json_pack("{s:s,s:s,s:i,s:s,s:i}", "player_id", c->player_id,
                                   "state", kyc_state_name(c->to), "tier", c->tier,
                                   "previous_state", kyc_state_name(c->before.state),
                                   "documents_reviewed", c->reviewed));
}

/* ---- POST /api/v1/admin/kyc/{player_id}/decision ---- */

struct decision_body {
    const char *decision;
    int64_t tier;
    bool has_tier;
    const char *reason;
};

static enum http_result post_decision(struct http_request *req, struct http_response *resp)
{
    static const struct pb_json_field fields[] = {
        PB_JSON_STR(struct decision_body, decision, PB_JSON_REQUIRED, 1, 16),
        {"tier", PB_JSON_KIND_INT, PB_JSON_OPTIONAL, offsetof(struct decision_body, tier),
         offsetof(struct decision_body, has_tier), 0, KYC_TIER_MAX},
        PB_JSON_STR(struct decision_body, reason, PB_JSON_REQUIRED, 1, KYC_REASON_MAX),
    };
    char actor[KYC_ACTOR_MAX + 1];
    struct decision_body b = {0};
    json_t *root;
    if (!staff_authorize(req, resp, "kyc.review", actor))
        return HTTP_DONE;
    if (strlen(req->params[0]) >= PAM_PLAYER_ID_SIZE)
        return http_invalid(resp, "player_id", "is not a player id"), HTTP_DONE;
    if (!http_decode_body(req, resp, fields, PB_ARRAY_LEN(fields), &b, &root))
        return json_decref(root), HTTP_DONE;
    bool verify = strcmp(b.decision, "verify") == 0;
    if (!verify && strcmp(b.decision, "reject") != 0) {
        http_invalid(resp, "decision", "must be verify or reject");
        return json_decref(root), HTTP_DONE;
    }
    if (verify ? !b.has_tier || b.tier < 1 : b.has_tier && b.tier != 0) {
        http_invalid(resp, "tier", verify ? "verify needs tier 1 or 2" : "reject takes no tier");
        return json_decref(root), HTTP_DONE;
    }
    struct kyc_cmd *c = kyc_cmd_new(decide, decide_ok);
    pb_strlcpy(c->player_id, req->params[0], sizeof(c->player_id));
    pb_strlcpy(c->actor, actor, sizeof(c->actor));
    pb_strlcpy(c->reason, b.reason, sizeof(c->reason));
    c->to = verify ? KYC_VERIFIED : KYC_REJECTED;
    c->tier = verify ? (int)b.tier : 0;
    json_decref(root);
    return submit(req, c);
}

/* ---- GET /api/v1/admin/kyc/queue and GET /api/v1/admin/kyc/{player_id} ---- */

static enum http_result get_queue(struct http_request *req, struct http_response *resp)
{
    char actor[KYC_ACTOR_MAX + 1];
    struct store *s;
    if (!staff_authorize(req, resp, "kyc.review", actor))
        return HTTP_DONE;
    struct kyc_queue_entry *q = pb_calloc(KYC_QUEUE_PAGE_MAX, sizeof(*q));
    size_t n = 0;
    int rc = reader_acquire(req, &s);
    if (rc == PB_OK) {
        rc = kyc_queue(s, q, KYC_QUEUE_PAGE_MAX, &n);
        reader_release(req, s);
    }
    if (rc != PB_OK) {
        pb_free(q);
        return http_unavailable(resp, rc), HTTP_DONE;
    }
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(list, json_pack("{s:s,s:i,s:o}", "player_id", q[i].player_id,
                                              "tier", q[i].tier, "pending_since",
                                              time_json(q[i].since_ms)));
    pb_free(q);
    http_json(resp, 200, json_pack("{s:o}", "players", list));
    return HTTP_DONE;
}

static json_t *events_json(const struct kyc_event *e, size_t n)
{
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(list, json_pack("{s:I,s:s,s:s,s:i,s:i,s:s,s:s,s:o}", "seq",
                                              (json_int_t)e[i].seq, "from",
                                              kyc_state_name(e[i].from), "to",
                                              kyc_state_name(e[i].to), "from_tier",
                                              e[i].from_tier, "to_tier", e[i].to_tier,
                                              "actor", e[i].actor, "reason", e[i].reason,
                                              "at", time_json(e[i].at_ms)));
    return list;
}

static enum http_result get_player_kyc(struct http_request *req, struct http_response *resp)
{
    char actor[KYC_ACTOR_MAX + 1];
    struct pam_player p;
    struct store *s;
    if (!staff_authorize(req, resp, "kyc.review", actor))
        return HTTP_DONE;
    if (strlen(req->params[0]) >= PAM_PLAYER_ID_SIZE)
        return http_invalid(resp, "player_id", "is not a player id"), HTTP_DONE;
    struct kyc_event *ev = pb_calloc(KYC_EVENTS_LIST_MAX, sizeof(*ev));
    size_t n = 0;
    json_t *doc = NULL;
    int rc = reader_acquire(req, &s);
    if (rc == PB_OK) {
        rc = pam_player_get(s, req->params[0], &p);
        doc = rc == PB_OK ? status_json(s, req->params[0], &rc) : NULL;
        rc = rc ? rc : kyc_events_list(s, req->params[0], ev, KYC_EVENTS_LIST_MAX, &n);
        reader_release(req, s);
    }
    if (rc == PB_OK) {
        json_object_set_new(doc, "events", events_json(ev, n));
        http_json(resp, 200, doc);
    } else if (rc == PB_ERR_NOT_FOUND) {
        http_problem(resp, 404, "player_not_found", "Not found", "no player has this id",
                     "player_id");
    } else {
        json_decref(doc);
        http_unavailable(resp, rc);
    }
    pb_free(ev);
    return HTTP_DONE;
}

/* ---- POST /api/v1/kyc/webhooks/{provider} ---- */

/* Records the event id first: a repeat answers 200 and changes nothing. */
static int webhook_run(struct store *tx, struct kyc_cmd *c)
{
    int rc = kyc_webhook_record(tx, c->provider->name, c->event_id, c->player_id, c->now_ms,
                                &c->duplicate);
    if (rc != PB_OK || c->duplicate)
        return rc;
    return decide(tx, c);
}

static void webhook_refused(struct http_request *req, const char *provider, const char *why)
{
    char ip[PAM_IP_MAX + 1];
    app_peer_address(req, ip, sizeof(ip));
    pb_log(PB_LOG_WARN, "kyc webhook refused",
           "\"provider\":\"%s\",\"reason\":\"%s\",\"peer\":\"%s\",\"request_id\":\"%s\"",
           provider, why, ip, req->request_id);
}

/* The signature step: true, or false with 503 (no secret) or 401 in resp. */
static bool webhook_signed(struct http_request *req, struct http_response *resp,
                           const struct kyc_provider *p)
{
    const char *secret = getenv(KYC_SANDBOX_SECRET_ENV);
    if (!secret || !secret[0]) {
        http_problem(resp, 503, "kyc_provider_not_configured", "Service unavailable",
                     "no webhook secret is configured (" KYC_SANDBOX_SECRET_ENV ")", NULL);
        return false;
    }
    const char *sig = http_header(req, "X-Pitboss-Signature");
    const char *body = req->body.data ? req->body.data : "";
    int rc = p->verify_signature(secret, sig, body, req->body.len, pb_wall_ms() / 1000);
    if (rc == PB_OK)
        return true;
    const char *why = rc == PB_ERR_TIMEOUT ? "signature_expired" : "signature_invalid";
    webhook_refused(req, p->name, why);
    http_problem(resp, 401, why, "Unauthorized",
                 rc == PB_ERR_TIMEOUT ? "the signature's timestamp is outside the 5-minute window"
                                      : "X-Pitboss-Signature is missing or does not match",
                 NULL);
    return false;
}

static enum http_result post_webhook(struct http_request *req, struct http_response *resp)
{
    const struct kyc_provider *p = kyc_provider_find(req->params[0]);
    if (!p) {
        http_problem(resp, 404, "kyc_provider_unknown", "Not found", "no such KYC provider",
                     NULL);
        return HTTP_DONE;
    }
    if (!webhook_signed(req, resp, p))
        return HTTP_DONE;
    struct kyc_result r;
    struct pb_json_error err;
    const char *body = req->body.data ? req->body.data : "";
    if (p->parse_webhook(body, req->body.len, &r, &err) != PB_OK) {
        http_problem_json(resp, &err);
        return HTTP_DONE;
    }
    struct kyc_cmd *c = kyc_cmd_new(webhook_run, decide_ok);
    c->provider = p;
    snprintf(c->actor, sizeof(c->actor), "provider:%s", p->name);
    pb_strlcpy(c->event_id, r.event_id, sizeof(c->event_id));
    pb_strlcpy(c->player_id, r.player_id, sizeof(c->player_id));
    pb_strlcpy(c->reason, r.reason, sizeof(c->reason));
    c->to = r.outcome;
    c->tier = r.tier;
    return submit(req, c);
}

const struct http_route kyc_routes[] = {
    {HTTP_GET, "/api/v1/players/me/kyc", get_my_kyc, 0},
    {HTTP_POST, "/api/v1/players/me/kyc/documents", post_document, HTTP_ROUTE_JSON_BODY},
    {HTTP_POST, "/api/v1/kyc/webhooks/{provider}", post_webhook, HTTP_ROUTE_JSON_BODY},
    {HTTP_GET, "/api/v1/admin/kyc/queue", get_queue, 0},
    {HTTP_GET, "/api/v1/admin/kyc/{player_id}", get_player_kyc, 0},
    {HTTP_POST, "/api/v1/admin/kyc/{player_id}/decision", post_decision, HTTP_ROUTE_JSON_BODY},
};
const size_t kyc_routes_count = PB_ARRAY_LEN(kyc_routes);
