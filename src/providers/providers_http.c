/* providers_http.c: the provider routes (providers_http.h; docs/providers.md).
 *
 * Wallet requests: provider (404) -> protocol of the route (404) -> source address in the
 * provider's CIDR ranges (403) -> signature and replay window (401) -> strict decoding (400)
 * -> one writer command (providers_wallet_run). Answers are the generic documents; the alt
 * route translates them (providers_alt_encode), also for refusals before the command.
 * Staff routes change the registry and catalog in one writer command with their audit row. */
#include "providers/providers_http.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/base.h"
#include "base/log.h"
#include "core/writer.h"
#include "ledger/ledger.h"
#include "ledger/ledger_http.h"
#include "pam/pam_http.h"
#include "pam/staff_http.h"
#include "rg/rg.h"
#include "rg/rg_http.h"
#include "store/store.h"

#define LIST_ITEM_CHARS "abcdefghijklmnopqrstuvwxyz0123456789_-"
#define EXTERNAL_ID_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-"
#define REASON_MAX 200

static int reader(struct http_request *req, struct http_response *resp, struct store **s)
{
    int rc = store_pool_acquire(app_readers(req->app), PAM_HTTP_READER_WAIT_MS, s);
    if (rc != PB_OK)
        http_unavailable(resp, PB_ERR_TIMEOUT);
    return rc;
}

static void reader_release(struct http_request *req, struct store *s)
{
    store_pool_release(app_readers(req->app), s);
}

static json_t *time_json(int64_t ms)
{
    char text[PB_TIME_TEXT_MAX];
    pb_format_time_ms(ms, text);
    return json_string(text);
}

static json_t *list_json(const char *list)
{
    json_t *a = json_array();
    for (const char *p = list; *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        json_array_append_new(a, json_stringn(p, len));
        if (!end)
            break;
        p = end + 1;
    }
    return a;
}

/* A JSON array of strings (each checked by ok) as comma-separated text; false with a 400. */
static bool list_text(struct http_response *resp, const json_t *a, const char *field,
                      bool (*ok)(const char *), size_t max_items, char *out, size_t outlen)
{
    out[0] = '\0';
    if (!a)
        return true;
    if (json_array_size(a) > max_items)
        return http_invalid(resp, field, "has too many items"), false;
    size_t i;
    json_t *v;
    json_array_foreach(a, i, v) {
        const char *s = json_string_value(v);
        if (!s || !ok(s) || strchr(s, ','))
            return http_invalid(resp, field, "holds an item that is not allowed"), false;
        if (strlen(out) + strlen(s) + 2 > outlen)
            return http_invalid(resp, field, "is too long"), false;
        if (i > 0)
            strcat(out, ",");
        strcat(out, s);
    }
    return true;
}

static bool name_item_ok(const char *s)
{
    size_t n = strlen(s);
    return (n == 1 && s[0] == '*') || (n >= 1 && n <= 32 && strspn(s, LIST_ITEM_CHARS) == n);
}

static bool currency_ok(const char *s)
{
    return ledger_currency_find(s) != NULL;
}

static bool range_ok(const char *s)
{
    return providers_ranges_check(s) == PB_OK;
}

/* ---- commands ---- */

struct pcmd;
typedef int (*pcmd_run_fn)(struct store *tx, struct pcmd *c);

struct pcmd {
    struct writer_cmd cmd; /* first: the server frees the struct */
    pcmd_run_fn run;
    struct ledger *lg;
    int64_t now_ms;
    char actor[AUDIT_ACTOR_MAX + 1];
    char reason[REASON_MAX + 1];
    char request_id[PB_HTTP_REQUEST_ID_MAX + 1];
    struct provider p, before;
    struct catalog_game game;
    bool created;
    bool has_ranges, has_accept, has_enabled; /* PATCH: which fields were given */
    struct provider_session launch;
    char launch_hash[PAM_TOKEN_HASH_HEX_SIZE];
    /* wallet */
    bool alt;
    struct provider_op op;
    char token[72], tx_id[PROVIDERS_TX_ID_MAX + 1], round_id[PROVIDERS_ROUND_ID_MAX + 1],
        ref_id[PROVIDERS_TX_ID_MAX + 1], campaign[PROVIDERS_CAMPAIGN_MAX + 1], currency[9],
        amount_text[32];
    struct provider_answer ans;
    struct http_refusal refusal;
    struct rg *rg; /* launch: exclusions are checked */
    char secret[PROVIDERS_SECRET_TEXT]; /* create and rotate: shown once */
    char launch_url[PROVIDERS_URL_MAX + 256];
};

static int pcmd_run(struct store *tx, struct writer_cmd *cmd)
{
    struct pcmd *c = (struct pcmd *)cmd;
    return c->run(tx, c);
}

static struct pcmd *pcmd_new(struct http_request *req, pcmd_run_fn run)
{
    struct pcmd *c = pb_calloc(1, sizeof(*c));
    c->cmd.run = pcmd_run;
    c->run = run;
    c->lg = app_ledger(req->app);
    c->now_ms = pb_wall_ms();
    pb_strlcpy(c->request_id, req->request_id, sizeof(c->request_id));
    return c;
}

static int refuse(struct pcmd *c, int status, const char *code, const char *detail,
                  const char *field)
{
    c->refusal = (struct http_refusal){status, code, detail, field, 0};
    return PB_ERR_CONFLICT;
}

/* ---- provider documents ---- */

static json_t *provider_json(const struct provider *p)
{
    return json_pack("{s:s,s:s,s:s,s:o,s:o,s:b,s:I,s:b,s:o,s:o}", "name", p->name, "protocol",
                     p->protocol, "base_url", p->base_url, "ip_ranges", list_json(p->ip_ranges),
                     "currencies", list_json(p->currencies), "accept_unknown_round_wins",
                     p->accept_unknown_round_wins, "session_ttl_s", (json_int_t)p->session_ttl_s,
                     "enabled", p->enabled, "created_at", time_json(p->created_at_ms),
                     "updated_at", time_json(p->updated_at_ms));
}

static char *provider_text(const struct provider *p)
{
    json_t *doc = provider_json(p);
    char *text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(doc);
    PB_ASSERT(text != NULL);
    return text;
}

static int audit(struct store *tx, struct pcmd *c, const char *action, const char *subject,
                 const char *before, const char *after)
{
    struct staff_audit a = {c->actor, action, subject, c->reason, before, after, c->request_id,
                            c->now_ms};
    return staff_audit_write(tx, &a);
}

static bool staff_ok(struct http_request *req, struct http_response *resp, char *actor)
{
    struct staff_principal who;
    if (staff_authenticate(req->app, req, PROVIDERS_PERMISSION, &who, resp) != PB_OK)
        return false;
    pb_strlcpy(actor, who.actor, AUDIT_ACTOR_MAX + 1);
    return true;
}

/* A new secret, sealed into p; 503 in resp when no seal key is configured. */
static bool new_secret(struct http_response *resp, struct pcmd *c)
{
    pb_random_hex(c->secret, PROVIDERS_SECRET_BYTES);
    if (providers_seal(c->secret, c->p.secret_sealed, sizeof(c->p.secret_sealed)) == PB_OK)
        return true;
    http_problem(resp, 503, "provider_seal_key_missing", "Service unavailable",
                 "no seal key for provider secrets is configured (" PROVIDERS_SEAL_KEY_ENV ")",
                 NULL);
    return false;
}

/* ---- POST /api/v1/admin/providers and PATCH /api/v1/admin/providers/{name} ---- */

struct provider_body {
    const char *name, *protocol, *base_url, *reason;
    json_t *ip_ranges, *currencies;
    bool accept_unknown_round_wins, has_accept;
    bool enabled, has_enabled;
    int64_t session_ttl_s;
    bool has_ttl;
};

#define OPT_BOOL(f, has)                                                                   \
    {#f, PB_JSON_KIND_BOOL, PB_JSON_OPTIONAL, offsetof(struct provider_body, f),           \
     offsetof(struct provider_body, has), 0, 0}

/* Copies the body's given fields into p; false with a 400 in resp. */
static bool provider_apply(struct http_response *resp, const struct provider_body *b,
                           struct provider *p)
{
    if (b->protocol) {
        if (strcmp(b->protocol, "generic") != 0 && strcmp(b->protocol, "alt") != 0)
            return http_invalid(resp, "protocol", "must be generic or alt"), false;
        pb_strlcpy(p->protocol, b->protocol, sizeof(p->protocol));
    }
    if (b->base_url) {
        if (strncmp(b->base_url, "https://", 8) != 0 && strncmp(b->base_url, "http://", 7) != 0)
            return http_invalid(resp, "base_url", "must be an http(s) URL"), false;
        if (strspn(b->base_url, EXTERNAL_ID_CHARS ":/?&=%~+") != strlen(b->base_url))
            return http_invalid(resp, "base_url", "holds characters a URL may not"), false;
        pb_strlcpy(p->base_url, b->base_url, sizeof(p->base_url));
    }
    if (b->ip_ranges && !list_text(resp, b->ip_ranges, "ip_ranges", range_ok,
                                   PROVIDERS_RANGES_MAX, p->ip_ranges, sizeof(p->ip_ranges)))
        return false;
    if (b->currencies && !list_text(resp, b->currencies, "currencies", currency_ok,
                                    PROVIDERS_CURRENCIES_MAX, p->currencies,
                                    sizeof(p->currencies)))
        return false;
    if (b->has_accept)
        p->accept_unknown_round_wins = b->accept_unknown_round_wins;
    if (b->has_enabled)
        p->enabled = b->enabled;
    if (b->has_ttl)
        p->session_ttl_s = b->session_ttl_s;
    return true;
}

static int create_run(struct store *tx, struct pcmd *c)
{
    int rc = providers_insert(tx, &c->p);
    if (rc == PB_ERR_CONFLICT)
        return refuse(c, 409, "provider_exists", "a provider with this name exists", "name");
    char subject[64], *after = provider_text(&c->p);
    snprintf(subject, sizeof(subject), "provider:%s", c->p.name);
    rc = rc ? rc : audit(tx, c, "providers.create", subject, "{}", after);
    free(after);
    return rc;
}

static void provider_finish(struct http_request *req, struct writer_cmd *cmd,
                            struct http_response *resp)
{
    PB_UNUSED(req);
    struct pcmd *c = (struct pcmd *)cmd;
    if (http_answer_refusal(&c->refusal, cmd->status, resp))
        return;
    json_t *doc = provider_json(&c->p);
    if (c->secret[0])
        json_object_set_new(doc, "secret", json_string(c->secret));
    http_json(resp, c->created ? 201 : 200, doc);
}

static const struct pb_json_field provider_fields[] = {
    PB_JSON_STR(struct provider_body, name, PB_JSON_REQUIRED, 1, PROVIDERS_NAME_MAX),
    PB_JSON_STR(struct provider_body, protocol, PB_JSON_OPTIONAL, 1, 8),
    PB_JSON_STR(struct provider_body, base_url, PB_JSON_REQUIRED, 8, PROVIDERS_URL_MAX),
    PB_JSON_ARR(struct provider_body, ip_ranges, PB_JSON_REQUIRED),
    PB_JSON_ARR(struct provider_body, currencies, PB_JSON_REQUIRED),
    OPT_BOOL(accept_unknown_round_wins, has_accept),
    OPT_BOOL(enabled, has_enabled),
    {"session_ttl_s", PB_JSON_KIND_INT, PB_JSON_OPTIONAL,
     offsetof(struct provider_body, session_ttl_s), offsetof(struct provider_body, has_ttl),
     PROVIDERS_SESSION_TTL_S_MIN, PROVIDERS_SESSION_TTL_S_MAX},
    PB_JSON_STR(struct provider_body, reason, PB_JSON_REQUIRED, 1, REASON_MAX),
};

static enum http_result post_provider(struct http_request *req, struct http_response *resp)
{
    char actor[AUDIT_ACTOR_MAX + 1];
    struct provider_body b = {0};
    json_t *root;
    if (!staff_ok(req, resp, actor))
        return HTTP_DONE;
    if (!http_decode_body(req, resp, provider_fields, PB_ARRAY_LEN(provider_fields), &b,
                          &root))
        return json_decref(root), HTTP_DONE;
    struct pcmd *c = pcmd_new(req, create_run);
    struct provider *p = &c->p;
    pb_strlcpy(p->protocol, "generic", sizeof(p->protocol));
    p->enabled = true;
    p->session_ttl_s = PROVIDERS_SESSION_TTL_S_DEFAULT;
    p->created_at_ms = p->updated_at_ms = c->now_ms;
    bool ok = providers_name_ok(b.name) && strcmp(b.name, PROVIDERS_IN_HOUSE) != 0;
    if (!ok)
        http_invalid(resp, "name", "must be 1..32 of a-z, 0-9, _ and - (not pitboss)");
    ok = ok && provider_apply(resp, &b, p);
    if (ok && !p->currencies[0])
        ok = (http_invalid(resp, "currencies", "must name at least one currency"), false);
    pb_strlcpy(p->name, b.name, sizeof(p->name));
    pb_strlcpy(c->actor, actor, sizeof(c->actor));
    pb_strlcpy(c->reason, b.reason, sizeof(c->reason));
    json_decref(root);
    if (!ok || !new_secret(resp, c)) {
        pb_free(c);
        return HTTP_DONE;
    }
    c->created = true;
    return http_submit(req, app_writer(req->app), &c->cmd, provider_finish);
}

/* PATCH and secret rotation: re-read in the writer, change, audit. */
static int change_run(struct store *tx, struct pcmd *c, const char *action, bool rotate)
{
    int rc = providers_get(tx, c->p.name, &c->before);
    if (rc == PB_ERR_NOT_FOUND)
        return refuse(c, 404, "provider_unknown", "no provider has this name", NULL);
    if (rc != PB_OK)
        return rc;
    struct provider next = c->before;
    /* c->p holds the fields to change: copy them over the current row. */
    if (c->p.protocol[0])
        pb_strlcpy(next.protocol, c->p.protocol, sizeof(next.protocol));
    if (c->p.base_url[0])
        pb_strlcpy(next.base_url, c->p.base_url, sizeof(next.base_url));
    if (c->has_ranges)
        pb_strlcpy(next.ip_ranges, c->p.ip_ranges, sizeof(next.ip_ranges));
    if (c->p.currencies[0])
        pb_strlcpy(next.currencies, c->p.currencies, sizeof(next.currencies));
    if (c->p.session_ttl_s)
        next.session_ttl_s = c->p.session_ttl_s;
    if (c->has_accept)
        next.accept_unknown_round_wins = c->p.accept_unknown_round_wins;
    if (c->has_enabled)
        next.enabled = c->p.enabled;
    if (rotate)
        pb_strlcpy(next.secret_sealed, c->p.secret_sealed, sizeof(next.secret_sealed));
    next.updated_at_ms = c->now_ms;
    rc = providers_update(tx, &next);
    char subject[64], *before = provider_text(&c->before), *after = provider_text(&next);
    snprintf(subject, sizeof(subject), "provider:%s", next.name);
    rc = rc ? rc : audit(tx, c, action, subject, before, after);
    free(before);
    free(after);
    c->p = next;
    return rc;
}

static int patch_run(struct store *tx, struct pcmd *c)
{
    return change_run(tx, c, "providers.update", false);
}

static int rotate_run(struct store *tx, struct pcmd *c)
{
    return change_run(tx, c, "providers.rotate_secret", true);
}

static bool provider_param(struct http_request *req, struct http_response *resp)
{
    if (providers_name_ok(req->params[0]))
        return true;
    http_problem(resp, 404, "provider_unknown", "Not found", "no provider has this name", NULL);
    return false;
}

static enum http_result patch_provider(struct http_request *req, struct http_response *resp)
{
    static const struct pb_json_field fields[] = {
        PB_JSON_STR(struct provider_body, protocol, PB_JSON_OPTIONAL, 1, 8),
        PB_JSON_STR(struct provider_body, base_url, PB_JSON_OPTIONAL, 8, PROVIDERS_URL_MAX),
        PB_JSON_ARR(struct provider_body, ip_ranges, PB_JSON_OPTIONAL),
        PB_JSON_ARR(struct provider_body, currencies, PB_JSON_OPTIONAL),
        OPT_BOOL(accept_unknown_round_wins, has_accept),
        OPT_BOOL(enabled, has_enabled),
        {"session_ttl_s", PB_JSON_KIND_INT, PB_JSON_OPTIONAL,
         offsetof(struct provider_body, session_ttl_s), offsetof(struct provider_body, has_ttl),
         PROVIDERS_SESSION_TTL_S_MIN, PROVIDERS_SESSION_TTL_S_MAX},
        PB_JSON_STR(struct provider_body, reason, PB_JSON_REQUIRED, 1, REASON_MAX),
    };
    char actor[AUDIT_ACTOR_MAX + 1];
    struct provider_body b = {0};
    json_t *root;
    if (!staff_ok(req, resp, actor) || !provider_param(req, resp))
        return HTTP_DONE;
    if (!http_decode_body(req, resp, fields, PB_ARRAY_LEN(fields), &b, &root))
        return json_decref(root), HTTP_DONE;
    struct pcmd *c = pcmd_new(req, patch_run);
    pb_strlcpy(c->p.name, req->params[0], sizeof(c->p.name));
    bool ok = provider_apply(resp, &b, &c->p);
    if (ok && b.currencies && !c->p.currencies[0])
        ok = (http_invalid(resp, "currencies", "must name at least one currency"), false);
    c->has_ranges = b.ip_ranges != NULL; /* an empty list given: no address allowed */
    c->has_accept = b.has_accept;
    c->has_enabled = b.has_enabled;
    pb_strlcpy(c->actor, actor, sizeof(c->actor));
    pb_strlcpy(c->reason, b.reason, sizeof(c->reason));
    json_decref(root);
    if (!ok) {
        pb_free(c);
        return HTTP_DONE;
    }
    return http_submit(req, app_writer(req->app), &c->cmd, provider_finish);
}

struct reason_body {
    const char *reason;
};

static enum http_result post_secret(struct http_request *req, struct http_response *resp)
{
    static const struct pb_json_field fields[] = {
        PB_JSON_STR(struct reason_body, reason, PB_JSON_REQUIRED, 1, REASON_MAX),
    };
    char actor[AUDIT_ACTOR_MAX + 1];
    struct reason_body b = {0};
    json_t *root;
    if (!staff_ok(req, resp, actor) || !provider_param(req, resp))
        return HTTP_DONE;
    if (!http_decode_body(req, resp, fields, PB_ARRAY_LEN(fields), &b, &root))
        return json_decref(root), HTTP_DONE;
    struct pcmd *c = pcmd_new(req, rotate_run);
    pb_strlcpy(c->p.name, req->params[0], sizeof(c->p.name));
    pb_strlcpy(c->actor, actor, sizeof(c->actor));
    pb_strlcpy(c->reason, b.reason, sizeof(c->reason));
    json_decref(root);
    if (!new_secret(resp, c)) {
        pb_free(c);
        return HTTP_DONE;
    }
    return http_submit(req, app_writer(req->app), &c->cmd, provider_finish);
}

static enum http_result get_providers(struct http_request *req, struct http_response *resp)
{
    char actor[AUDIT_ACTOR_MAX + 1];
    struct store *s;
    if (!staff_ok(req, resp, actor) || reader(req, resp, &s) != PB_OK)
        return HTTP_DONE;
    struct provider *list = pb_calloc(PROVIDERS_LIST_MAX, sizeof(*list));
    size_t n = 0;
    int rc = providers_list(s, list, PROVIDERS_LIST_MAX, &n);
    reader_release(req, s);
    if (rc == PB_OK) {
        json_t *a = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(a, provider_json(&list[i]));
        http_json(resp, 200, json_pack("{s:o}", "providers", a));
    } else {
        http_unavailable(resp, rc);
    }
    pb_free(list);
    return HTTP_DONE;
}

/* ---- catalog ---- */

static json_t *game_json(const struct catalog_game *g)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:o,s:I,s:s,s:o,s:o,s:b,s:I}", "game_id", g->game_id,
                     "provider", g->provider, "external_id", g->external_id, "name", g->name,
                     "category", g->category, "tags", list_json(g->tags), "rtp_bp",
                     (json_int_t)g->rtp_bp, "volatility", g->volatility, "jurisdictions",
                     list_json(g->jurisdictions), "brands", list_json(g->brands), "enabled",
                     g->enabled, "ordering", (json_int_t)g->ordering);
}

struct game_body {
    const char *name, *category, *volatility, *reason;
    json_t *tags, *jurisdictions, *brands;
    int64_t rtp_bp, ordering;
    bool enabled;
};

static int game_run(struct store *tx, struct pcmd *c)
{
    struct provider p;
    int rc = providers_get(tx, c->game.provider, &p);
    if (rc == PB_ERR_NOT_FOUND)
        return refuse(c, 404, "provider_unknown", "no provider has this name", NULL);
    struct catalog_game before;
    bool existed = rc == PB_OK && catalog_get(tx, c->game.game_id, &before) == PB_OK;
    rc = rc ? rc : catalog_upsert(tx, &c->game, &c->created);
    json_t *b = existed ? game_json(&before) : json_object(), *a = game_json(&c->game);
    char *bt = json_dumps(b, JSON_COMPACT | JSON_SORT_KEYS),
         *at = json_dumps(a, JSON_COMPACT | JSON_SORT_KEYS);
    char subject[96];
    snprintf(subject, sizeof(subject), "game:%s", c->game.game_id);
    rc = rc ? rc : audit(tx, c, "catalog.upsert", subject, bt, at);
    free(bt);
    free(at);
    json_decref(a);
    json_decref(b);
    return rc;
}

static void game_finish(struct http_request *req, struct writer_cmd *cmd,
                        struct http_response *resp)
{
    PB_UNUSED(req);
    struct pcmd *c = (struct pcmd *)cmd;
    if (!http_answer_refusal(&c->refusal, cmd->status, resp))
        http_json(resp, c->created ? 201 : 200, game_json(&c->game));
}

static bool tag_ok(const char *s)
{
    return name_item_ok(s) && strcmp(s, "*") != 0;
}

static enum http_result put_game(struct http_request *req, struct http_response *resp)
{
    static const struct pb_json_field fields[] = {
        PB_JSON_STR(struct game_body, name, PB_JSON_REQUIRED, 1, PROVIDERS_GAME_NAME_MAX),
        PB_JSON_STR(struct game_body, category, PB_JSON_REQUIRED, 1, PROVIDERS_CATEGORY_MAX),
        PB_JSON_ARR(struct game_body, tags, PB_JSON_OPTIONAL),
        PB_JSON_INT(struct game_body, rtp_bp, PB_JSON_REQUIRED, 1, 10000),
        PB_JSON_STR(struct game_body, volatility, PB_JSON_REQUIRED, 1, 15),
        PB_JSON_ARR(struct game_body, jurisdictions, PB_JSON_REQUIRED),
        PB_JSON_ARR(struct game_body, brands, PB_JSON_REQUIRED),
        PB_JSON_BOOL(struct game_body, enabled, PB_JSON_REQUIRED),
        PB_JSON_INT(struct game_body, ordering, PB_JSON_OPTIONAL, 0, 1000000),
        PB_JSON_STR(struct game_body, reason, PB_JSON_REQUIRED, 1, REASON_MAX),
    };
    char actor[AUDIT_ACTOR_MAX + 1];
    struct game_body b = {0};
    json_t *root;
    if (!staff_ok(req, resp, actor) || !provider_param(req, resp))
        return HTTP_DONE;
    const char *ext = req->params[1];
    size_t n = strlen(ext);
    if (n > PROVIDERS_GAME_EXTERNAL_MAX || strspn(ext, EXTERNAL_ID_CHARS) != n ||
        strlen(req->params[0]) + 1 + n > PROVIDERS_GAME_ID_MAX)
        return http_invalid(resp, "external_id", "must be 1..64 of A-Z, a-z, 0-9, . _ -"),
               HTTP_DONE;
    if (!http_decode_body(req, resp, fields, PB_ARRAY_LEN(fields), &b, &root))
        return json_decref(root), HTTP_DONE;
    struct pcmd *c = pcmd_new(req, game_run);
    struct catalog_game *g = &c->game;
    bool ok = true;
    if (strcmp(b.volatility, "low") != 0 && strcmp(b.volatility, "medium") != 0 &&
        strcmp(b.volatility, "high") != 0)
        ok = (http_invalid(resp, "volatility", "must be low, medium or high"), false);
    if (ok && !tag_ok(b.category))
        ok = (http_invalid(resp, "category", "must be 1..32 of a-z, 0-9, _ and -"), false);
    ok = ok && list_text(resp, b.tags, "tags", tag_ok, 16, g->tags, sizeof(g->tags)) &&
         list_text(resp, b.jurisdictions, "jurisdictions", name_item_ok, 64, g->jurisdictions,
                   sizeof(g->jurisdictions)) &&
         list_text(resp, b.brands, "brands", name_item_ok, 64, g->brands, sizeof(g->brands));
    snprintf(g->game_id, sizeof(g->game_id), "%s:%s", req->params[0], ext);
    pb_strlcpy(g->provider, req->params[0], sizeof(g->provider));
    pb_strlcpy(g->external_id, ext, sizeof(g->external_id));
    pb_strlcpy(g->name, b.name, sizeof(g->name));
    pb_strlcpy(g->category, b.category, sizeof(g->category));
    pb_strlcpy(g->volatility, b.volatility, sizeof(g->volatility));
    g->rtp_bp = b.rtp_bp;
    g->enabled = b.enabled;
    g->ordering = b.ordering;
    g->updated_at_ms = c->now_ms;
    pb_strlcpy(c->actor, actor, sizeof(c->actor));
    pb_strlcpy(c->reason, b.reason, sizeof(c->reason));
    json_decref(root);
    if (!ok) {
        pb_free(c);
        return HTTP_DONE;
    }
    return http_submit(req, app_writer(req->app), &c->cmd, game_finish);
}

/* The catalog for f: 200 with the games, or an error answer. */
static void catalog_answer(struct http_request *req, struct http_response *resp,
                           const struct catalog_filter *f)
{
    struct store *s;
    if (reader(req, resp, &s) != PB_OK)
        return;
    struct catalog_game *games = pb_calloc(PROVIDERS_CATALOG_MAX, sizeof(*games));
    size_t n = 0;
    bool more = false;
    int rc = catalog_list(s, f, games, PROVIDERS_CATALOG_MAX, &n, &more);
    reader_release(req, s);
    if (rc == PB_OK) {
        json_t *a = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(a, game_json(&games[i]));
        http_json(resp, 200, json_pack("{s:o,s:b}", "games", a, "truncated", more));
    } else {
        http_unavailable(resp, rc);
    }
    pb_free(games);
}

static bool query_filter(struct http_request *req, struct http_response *resp,
                         struct catalog_filter *f)
{
    f->search = http_query(req, "q");
    f->category = http_query(req, "category");
    f->provider = http_query(req, "provider");
    if (f->search && strlen(f->search) > PROVIDERS_SEARCH_MAX)
        return http_invalid(resp, "q", "is longer than 64 bytes"), false;
    return true;
}

static enum http_result get_admin_catalog(struct http_request *req, struct http_response *resp)
{
    char actor[AUDIT_ACTOR_MAX + 1];
    struct catalog_filter f = {.include_disabled = true};
    if (!staff_ok(req, resp, actor) || !query_filter(req, resp, &f))
        return HTTP_DONE;
    f.brand = http_query(req, "brand");
    f.jurisdiction = http_query(req, "jurisdiction");
    catalog_answer(req, resp, &f);
    return HTTP_DONE;
}

/* The player's brand and jurisdiction; false with an answer in resp. */
static bool player_place(struct http_request *req, struct http_response *resp,
                         const char *player_id, struct pam_player *p,
                         const struct pam_brand **brand)
{
    struct store *s;
    if (reader(req, resp, &s) != PB_OK)
        return false;
    int rc = pam_player_get(s, player_id, p);
    reader_release(req, s);
    if (rc != PB_OK)
        return http_unavailable(resp, rc), false;
    *brand = pam_config_brand(app_pam_config(req->app), p->brand);
    PB_ASSERT(*brand != NULL); /* players are registered in configured brands */
    return true;
}

static enum http_result get_catalog(struct http_request *req, struct http_response *resp)
{
    struct catalog_filter f = {0};
    struct pam_principal who;
    struct pam_player player;
    const struct pam_brand *brand;
    if (!query_filter(req, resp, &f))
        return HTTP_DONE;
    if (http_header(req, "Authorization")) {
        int rc = pam_authenticate(req->app, req, &who);
        if (rc != PB_OK)
            return pam_http_auth_problem(resp, rc), HTTP_DONE;
        if (!player_place(req, resp, who.player_id, &player, &brand))
            return HTTP_DONE;
        f.brand = brand->name;
        f.jurisdiction = brand->jurisdiction->name;
    } else {
        f.brand = http_query(req, "brand");
        f.jurisdiction = http_query(req, "jurisdiction");
        brand = f.brand ? pam_config_brand(app_pam_config(req->app), f.brand) : NULL;
        if (f.brand && !brand)
            return http_invalid(resp, "brand", "is not a configured brand"), HTTP_DONE;
        if (brand && !f.jurisdiction)
            f.jurisdiction = brand->jurisdiction->name;
    }
    catalog_answer(req, resp, &f);
    return HTTP_DONE;
}

/* ---- POST /api/v1/catalog/{game_id}/launch ---- */

struct launch_body {
    const char *mode;
};

static int launch_run(struct store *tx, struct pcmd *c)
{
    /* A player in a time-out or self-exclusion may log in to withdraw and read history, not
     * to start a game (bets would be refused by the wallet's guard anyway). */
    bool excluded;
    struct rg_exclusion ex;
    int rc = rg_exclusion_get(c->rg, tx, c->launch.player_id, &excluded, &ex);
    if (rc != PB_OK)
        return rc;
    if (excluded) {
        c->refusal = (struct http_refusal){403, "self_excluded",
                                           "the player has taken a time-out or excluded "
                                           "themselves; games cannot be launched",
                                           NULL, 0};
        return PB_ERR_CONFLICT;
    }
    return providers_launch_insert(tx, c->launch_hash, &c->launch, c->now_ms);
}

static void launch_finish(struct http_request *req, struct writer_cmd *cmd,
                          struct http_response *resp)
{
    PB_UNUSED(req);
    struct pcmd *c = (struct pcmd *)cmd;
    if (http_answer_refusal(&c->refusal, cmd->status, resp))
        return;
    http_json(resp, 201, json_pack("{s:s,s:s,s:s,s:o}", "url", c->launch_url, "mode", "real",
                                   "game_id", c->launch.game_id, "expires_at",
                                   time_json(c->now_ms + PROVIDERS_LAUNCH_TTL_S * 1000)));
}

/* Checks what launching g needs; false with an answer in resp. */
static bool launchable(struct http_request *req, struct http_response *resp,
                       const struct catalog_game *g, const struct pam_player *player,
                       const struct pam_brand *brand, struct provider *p)
{
    struct store *s;
    if (!g->enabled || !catalog_visible(g, brand->name, brand->jurisdiction->name))
        return http_problem(resp, 404, "game_not_found", "Not found",
                            "no such game in this brand's catalog", "game_id"), false;
    if (reader(req, resp, &s) != PB_OK)
        return false;
    int rc = providers_get(s, g->provider, p);
    reader_release(req, s);
    if (rc != PB_OK)
        return http_unavailable(resp, rc), false;
    if (!p->enabled)
        return http_problem(resp, 409, "provider_disabled", "Conflict",
                            "the game's provider is disabled", "game_id"), false;
    if (!providers_list_has(p->currencies, player->currency))
        return http_problem(resp, 422, "currency_not_supported", "Unprocessable content",
                            "the provider does not offer the player's currency", NULL), false;
    return true;
}

static enum http_result post_launch(struct http_request *req, struct http_response *resp)
{
    static const struct pb_json_field fields[] = {
        PB_JSON_STR(struct launch_body, mode, PB_JSON_REQUIRED, 1, 8),
    };
    struct pam_principal who;
    struct pam_player player;
    const struct pam_brand *brand;
    struct launch_body b = {0};
    struct catalog_game g;
    struct provider p;
    json_t *root;
    struct store *s;
    int rc = pam_authenticate(req->app, req, &who);
    if (rc != PB_OK)
        return pam_http_auth_problem(resp, rc), HTTP_DONE;
    if (!http_decode_body(req, resp, fields, PB_ARRAY_LEN(fields), &b, &root))
        return json_decref(root), HTTP_DONE;
    bool demo = strcmp(b.mode, "demo") == 0;
    if (!demo && strcmp(b.mode, "real") != 0) {
        http_invalid(resp, "mode", "must be real or demo");
        return json_decref(root), HTTP_DONE;
    }
    json_decref(root);
    if (strncmp(req->params[0], PROVIDERS_IN_HOUSE ":", strlen(PROVIDERS_IN_HOUSE) + 1) == 0)
        return http_problem(resp, 409, "in_house_game", "Conflict",
                            "in-house games are played through the games API", "game_id"),
               HTTP_DONE;
    if (!player_place(req, resp, who.player_id, &player, &brand) ||
        reader(req, resp, &s) != PB_OK)
        return HTTP_DONE;
    rc = strlen(req->params[0]) <= PROVIDERS_GAME_ID_MAX ? catalog_get(s, req->params[0], &g)
                                                          : PB_ERR_NOT_FOUND;
    reader_release(req, s);
    if (rc == PB_ERR_NOT_FOUND)
        return http_problem(resp, 404, "game_not_found", "Not found", "no such game",
                            "game_id"), HTTP_DONE;
    if (rc != PB_OK)
        return http_unavailable(resp, rc), HTTP_DONE;
    if (!launchable(req, resp, &g, &player, brand, &p))
        return HTTP_DONE;
    const char *sep = strchr(p.base_url, '?') ? "&" : "?";
    if (demo) {
        char url[PROVIDERS_URL_MAX + 256];
        snprintf(url, sizeof(url), "%s%sgame=%s&mode=demo", p.base_url, sep, g.external_id);
        http_json(resp, 200, json_pack("{s:s,s:s,s:s}", "url", url, "mode", "demo", "game_id",
                                       g.game_id));
        return HTTP_DONE;
    }
    if (who.blocks & PAM_BLOCK_BET)
        return http_problem(resp, 403, "player_blocked", "Forbidden",
                            "the player may not bet", NULL), HTTP_DONE;
    char token[PAM_TOKEN_TEXT_SIZE];
    struct pcmd *c = pcmd_new(req, launch_run);
    c->rg = app_rg(req->app);
    pam_token_new(token, c->launch_hash);
    pb_strlcpy(c->launch.provider, p.name, sizeof(c->launch.provider));
    pb_strlcpy(c->launch.game_id, g.game_id, sizeof(c->launch.game_id));
    pb_strlcpy(c->launch.player_id, who.player_id, sizeof(c->launch.player_id));
    pb_strlcpy(c->launch.currency, player.currency, sizeof(c->launch.currency));
    pb_strlcpy(c->launch.player_session_id, who.session_id,
               sizeof(c->launch.player_session_id));
    snprintf(c->launch_url, sizeof(c->launch_url), "%s%stoken=%s&game=%s&currency=%s&mode=real",
             p.base_url, sep, token, g.external_id, player.currency);
    return http_submit(req, app_writer(req->app), &c->cmd, launch_finish);
}

/* ---- the wallet API ---- */

static void wallet_answer(struct http_response *resp, bool alt, const struct provider_answer *a)
{
    pb_buf_reset(&resp->body);
    if (alt) {
        providers_alt_encode(a, &resp->body);
        resp->status = a->status >= 500 ? a->status : 200;
        resp->content_type = "application/json";
        return;
    }
    pb_buf_append(&resp->body, a->body, strlen(a->body));
    resp->status = a->status;
    resp->content_type = a->status >= 400 ? "application/problem+json" : "application/json";
}

/* A refusal before the command, in the route's protocol. */
static void wallet_problem(struct http_response *resp, bool alt, int status, const char *code,
                           const char *detail, const char *field)
{
    struct provider_answer a = {0};
    struct http_response tmp;
    http_response_init(&tmp);
    http_problem(&tmp, status, code, http_status_title(status), detail, field);
    pb_strlcpy(a.body, tmp.body.data, sizeof(a.body));
    a.status = status;
    http_response_release(&tmp);
    wallet_answer(resp, alt, &a);
}

static int wallet_run(struct store *tx, struct pcmd *c)
{
    return providers_wallet_run(c->lg, tx, &c->cmd, &c->p, &c->op, c->now_ms, &c->ans);
}

static void wallet_finish(struct http_request *req, struct writer_cmd *cmd,
                          struct http_response *resp)
{
    PB_UNUSED(req);
    struct pcmd *c = (struct pcmd *)cmd;
    if (cmd->status != PB_OK) {
        http_unavailable(resp, cmd->status);
        return;
    }
    wallet_answer(resp, c->alt, &c->ans);
    if (c->ans.replayed)
        http_header_add(resp, "Idempotent-Replayed", "true");
}

static const char *copy(char *dst, size_t len, const char *src)
{
    if (!src)
        return NULL;
    PB_ASSERT(pb_strlcpy(dst, src, len)); /* the decoders bound every length */
    return dst;
}

/* Authenticates a wallet request for provider name: true with p filled, or false with the
 * refusal in resp. */
static bool wallet_gate(struct http_request *req, struct http_response *resp, bool alt,
                        struct provider *p)
{
    struct store *s;
    const char *name = req->params[0];
    if (!providers_name_ok(name))
        return wallet_problem(resp, alt, 404, "provider_unknown", "no such provider", NULL),
               false;
    if (reader(req, resp, &s) != PB_OK)
        return false;
    int rc = providers_get(s, name, p);
    reader_release(req, s);
    if (rc == PB_ERR_NOT_FOUND || (rc == PB_OK && strcmp(p->protocol, alt ? "alt" : "generic")))
        return wallet_problem(resp, alt, 404, "provider_unknown",
                              "no such provider speaks this protocol", NULL), false;
    if (rc != PB_OK)
        return http_unavailable(resp, rc), false;
    if (!p->enabled)
        return wallet_problem(resp, alt, 403, "provider_disabled", "the provider is disabled",
                              NULL), false;
    char ip[PAM_IP_MAX + 1], secret[PROVIDERS_SECRET_TEXT];
    app_peer_address(req, ip, sizeof(ip));
    if (!providers_ip_allowed(p->ip_ranges, ip)) {
        pb_log(PB_LOG_WARN, "provider request from an address outside its ranges",
               "\"provider\":\"%s\",\"peer\":\"%s\"", p->name, ip);
        return wallet_problem(resp, alt, 403, PROVIDER_E_IP_NOT_ALLOWED,
                              "the source address is not in the provider's ranges", NULL),
               false;
    }
    if (providers_unseal(p->secret_sealed, secret) != PB_OK)
        return http_problem(resp, 503, "provider_seal_key_missing", "Service unavailable",
                            "the provider's secret cannot be opened with the configured key",
                            NULL), false;
    const char *ts = alt ? http_query(req, "ts") : http_header(req, PROVIDERS_TIMESTAMP_HEADER);
    const char *sig = alt ? http_query(req, "sig") : http_header(req, PROVIDERS_SIGNATURE_HEADER);
    const char *body = req->body.data ? req->body.data : "";
    rc = providers_verify(secret, ts, sig, body, req->body.len, pb_wall_ms() / 1000);
    sodium_memzero(secret, sizeof(secret));
    if (rc != PB_OK) {
        pb_log(PB_LOG_WARN, "provider request with a bad signature",
               "\"provider\":\"%s\",\"expired\":%s", p->name,
               rc == PB_ERR_TIMEOUT ? "true" : "false");
        wallet_problem(resp, alt, 401, PROVIDER_E_INVALID_SIGNATURE,
                       rc == PB_ERR_TIMEOUT ? "the timestamp is outside the replay window"
                                            : "the signature is missing or does not match",
                       NULL);
        return false;
    }
    return true;
}

static enum http_result wallet(struct http_request *req, struct http_response *resp, bool alt,
                               enum provider_op_kind kind)
{
    struct provider p;
    struct provider_op op;
    struct pb_json_error err;
    json_t *root = NULL;
    if (!wallet_gate(req, resp, alt, &p))
        return HTTP_DONE;
    const char *body = req->body.data ? req->body.data : "";
    int rc = alt ? providers_alt_decode(body, req->body.len, &op, &root, &err)
                 : providers_generic_decode(kind, body, req->body.len, &op, &root, &err);
    if (rc != PB_OK) {
        wallet_problem(resp, alt, 400, PROVIDER_E_VALIDATION, err.detail,
                       err.field[0] ? err.field : NULL);
        return json_decref(root), HTTP_DONE;
    }
    struct pcmd *c = pcmd_new(req, wallet_run);
    c->alt = alt;
    c->p = p;
    c->op = op;
    c->op.token = copy(c->token, sizeof(c->token), op.token);
    c->op.transaction_id = copy(c->tx_id, sizeof(c->tx_id), op.transaction_id);
    c->op.round_id = copy(c->round_id, sizeof(c->round_id), op.round_id);
    c->op.reference_transaction_id = copy(c->ref_id, sizeof(c->ref_id),
                                          op.reference_transaction_id);
    c->op.campaign_id = copy(c->campaign, sizeof(c->campaign), op.campaign_id);
    c->op.currency = copy(c->currency, sizeof(c->currency), op.currency);
    c->op.amount_text = copy(c->amount_text, sizeof(c->amount_text), op.amount_text);
    json_decref(root);
    return http_submit(req, app_writer(req->app), &c->cmd, wallet_finish);
}

#define GENERIC(fn, kind)                                                                  \
    static enum http_result fn(struct http_request *req, struct http_response *resp)        \
    {                                                                                      \
        return wallet(req, resp, false, kind);                                             \
    }
GENERIC(w_authenticate, PROVIDER_OP_AUTHENTICATE)
GENERIC(w_balance, PROVIDER_OP_BALANCE)
GENERIC(w_bet, PROVIDER_OP_BET)
GENERIC(w_win, PROVIDER_OP_WIN)
GENERIC(w_rollback, PROVIDER_OP_ROLLBACK)
GENERIC(w_end_round, PROVIDER_OP_END_ROUND)
GENERIC(w_free_round_win, PROVIDER_OP_FREE_ROUND_WIN)

static enum http_result w_alt(struct http_request *req, struct http_response *resp)
{
    return wallet(req, resp, true, 0);
}

#define WALLET "/api/v1/providers/{provider}/wallet/"
const struct http_route providers_routes[] = {
    {HTTP_POST, "/api/v1/admin/providers", post_provider, HTTP_ROUTE_JSON_BODY},
    {HTTP_GET, "/api/v1/admin/providers", get_providers, 0},
    {HTTP_PATCH, "/api/v1/admin/providers/{provider}", patch_provider, HTTP_ROUTE_JSON_BODY},
    {HTTP_POST, "/api/v1/admin/providers/{provider}/secret", post_secret, HTTP_ROUTE_JSON_BODY},
    {HTTP_PUT, "/api/v1/admin/providers/{provider}/games/{external_id}", put_game,
     HTTP_ROUTE_JSON_BODY},
    {HTTP_GET, "/api/v1/admin/catalog", get_admin_catalog, 0},
    {HTTP_GET, "/api/v1/catalog", get_catalog, 0},
    {HTTP_POST, "/api/v1/catalog/{game_id}/launch", post_launch, HTTP_ROUTE_JSON_BODY},
    {HTTP_POST, WALLET "authenticate", w_authenticate, HTTP_ROUTE_JSON_BODY},
    {HTTP_POST, WALLET "balance", w_balance, HTTP_ROUTE_JSON_BODY},
    {HTTP_POST, WALLET "bet", w_bet, HTTP_ROUTE_JSON_BODY},
    {HTTP_POST, WALLET "win", w_win, HTTP_ROUTE_JSON_BODY},
    {HTTP_POST, WALLET "rollback", w_rollback, HTTP_ROUTE_JSON_BODY},
    {HTTP_POST, WALLET "end-round", w_end_round, HTTP_ROUTE_JSON_BODY},
    {HTTP_POST, WALLET "free-round-win", w_free_round_win, HTTP_ROUTE_JSON_BODY},
    {HTTP_POST, "/api/v1/providers/{provider}/alt", w_alt, HTTP_ROUTE_JSON_BODY},
};
const size_t providers_routes_count = PB_ARRAY_LEN(providers_routes);
