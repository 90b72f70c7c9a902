/* casino_http.c: the casino routes (casino_http.h; rules in docs/casino.md, schemas in
 * docs/openapi.yaml).
 *
 * Pipeline of a play: player session (401) -> game (404) -> Idempotency-Key (400) -> strict
 * body decoding and the game's check_bet (400 naming the field; no writer, nothing
 * recorded) -> one writer command: ledger_idem_check (scope "casino:<player>") -> REPLAY
 * (the recorded answer, Idempotent-Replayed), CONFLICT (409 naming the field) or NEW ->
 * bet block and KYC gate -> casino_play_round -> ledger_idem_record of the answer (201 and
 * refusals alike, so a retry gets the same answer) -> finish.
 *
 * A play command is one allocation: the struct (its writer_cmd first, so the server's
 * pb_free frees everything, also when the queue was full and finish never ran), then the
 * canonical request, the bet's text, and room for the answer. */
#include "games/casino_http.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/log.h"
#include "core/writer.h"
#include "games/casino.h"
#include "games/casino_answer.h"
#include "games/games.h"
#include "games/rounds.h"
#include "games/seeds.h"
#include "http/ws.h"
#include "ledger/audit.h"
#include "ledger/ledger_http.h"
#include "pam/pam.h"
#include "pam/pam_http.h"
#include "pam/staff_http.h"

#define IDEM_SCOPE_MAX (sizeof("casino:") + ROUNDS_PLAYER_ID_MAX)

/* ---- common pieces ---- */

static bool player_ok(struct http_request *req, struct http_response *resp,
                      struct pam_principal *who)
{
    int rc = pam_authenticate(req->app, req, who);
    if (rc != PB_OK)
        pam_http_auth_problem(resp, rc);
    return rc == PB_OK;
}

static bool reader_acquire(struct http_request *req, struct http_response *resp,
                           struct store **s)
{
    int rc = store_pool_acquire(app_readers(req->app), CASINO_HTTP_READER_WAIT_MS, s);
    if (rc != PB_OK)
        http_unavailable(resp, PB_ERR_TIMEOUT);
    return rc == PB_OK;
}

static void reader_release(struct http_request *req, struct store *s)
{
    store_pool_release(app_readers(req->app), s);
}

static const struct game_type *game_of(struct http_request *req, struct http_response *resp)
{
    PB_ASSERT(req->nparams >= 1);
    const struct game_type *g = games_find(req->params[0]);
    if (!g)
        http_problem(resp, 404, "not_found", "Not found", "no in-house game has this id",
                     "game_id");
    return g;
}

static json_t *time_json(int64_t ms)
{
    char text[PB_TIME_TEXT_MAX];
    pb_format_time_ms(ms, text);
    return json_string(text);
}

/* ---- GET /api/v1/games ---- */

static json_t *limits_json(const struct casino_limits *l)
{
    return json_pack("{s:s,s:I,s:I}", "currency", l->currency, "min_stake_minor",
                     (json_int_t)l->min_stake_minor, "max_stake_minor",
                     (json_int_t)l->max_stake_minor);
}

static void rtp_text(int32_t ppm, char out[16])
{
    snprintf(out, 16, "%d.%04d", ppm / 10000, ppm % 10000); /* percent: "98.9901" */
}

/* One catalogue entry; currency, when not NULL, gives that currency's limits. */
static int catalog_entry(struct store *s, const struct game_type *g, const char *currency,
                         json_t **out)
{
    struct casino_game_config cfg;
    struct casino_limits list[CASINO_LIMITS_MAX];
    size_t n = 0;
    int rc = casino_config_get(s, g, &cfg);
    if (rc == PB_OK && currency) {
        rc = casino_limits_get(s, g, currency, &list[0]);
        n = 1;
    } else if (rc == PB_OK) {
        rc = casino_limits_list(s, g, list, CASINO_LIMITS_MAX, &n);
    }
    if (rc != PB_OK)
        return rc;
    json_t *limits = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(limits, limits_json(&list[i]));
    char rtp[16];
    rtp_text(cfg.rtp_ppm, rtp);
    *out = json_pack("{s:s,s:s,s:s,s:s,s:i,s:s?,s:b,s:b,s:o,s:{s:I,s:I}}", "id", g->id, "name",
                     g->name, "kind", g->kind, "rtp", rtp, "rtp_ppm", (int)cfg.rtp_ppm,
                     "variant", cfg.variant >= 0 ? g->variants[cfg.variant].id : NULL,
                     "provably_fair", (int)g->provably_fair, "enabled", (int)cfg.enabled,
                     "stake_limits", limits, "default_stake_limits", "min_stake_minor",
                     (json_int_t)CASINO_MIN_STAKE_MINOR_DEFAULT, "max_stake_major",
                     (json_int_t)CASINO_MAX_STAKE_MAJOR_DEFAULT);
    PB_ASSERT(*out != NULL);
    return PB_OK;
}

static enum http_result get_games(struct http_request *req, struct http_response *resp)
{
    const char *currency = http_query(req, "currency");
    if (currency && !ledger_currency_find(currency)) {
        http_invalid(resp, "currency", "is not a known currency code");
        return HTTP_DONE;
    }
    struct store *s;
    if (!reader_acquire(req, resp, &s))
        return HTTP_DONE;
    json_t *list = json_array();
    int rc = PB_OK;
    for (size_t i = 0; rc == PB_OK && i < games_count(); i++) {
        json_t *entry;
        rc = catalog_entry(s, games_at(i), currency, &entry);
        if (rc == PB_OK)
            json_array_append_new(list, entry);
    }
    reader_release(req, s);
    if (rc != PB_OK) {
        json_decref(list);
        http_unavailable(resp, rc);
        return HTTP_DONE;
    }
    http_json(resp, 200, json_pack("{s:o}", "games", list));
    return HTTP_DONE;
}

/* ---- play: decoding ---- */

struct play_fields {
    const char *currency, *stake;
    int64_t stake_minor;
    json_t *bet;
    bool autoplay, turbo;
    bool has_stake, has_stake_minor;
};

static const struct pb_json_field play_fields[] = {
    PB_JSON_STR(struct play_fields, currency, PB_JSON_REQUIRED, 1, LEDGER_CURRENCY_MAX),
    {"stake_minor", PB_JSON_KIND_INT, PB_JSON_OPTIONAL, offsetof(struct play_fields, stake_minor),
     offsetof(struct play_fields, has_stake_minor), 1, INT64_MAX},
    {"stake", PB_JSON_KIND_STRING, PB_JSON_OPTIONAL, offsetof(struct play_fields, stake),
     offsetof(struct play_fields, has_stake), 1, 40},
    PB_JSON_OBJ(struct play_fields, bet, PB_JSON_OPTIONAL),
    PB_JSON_BOOL(struct play_fields, autoplay, PB_JSON_OPTIONAL),
    PB_JSON_BOOL(struct play_fields, turbo, PB_JSON_OPTIONAL),
};

static int decode_fail(struct pb_json_error *err, const char *code, const char *field,
                       const char *detail)
{
    err->code = code;
    pb_strlcpy(err->field, field, sizeof(err->field));
    pb_strlcpy(err->detail, detail, sizeof(err->detail));
    return PB_ERR_INVALID;
}

/* The game's refusal of the bet, its field made relative to the body. */
static int bet_refused(struct pb_json_error *err)
{
    char field[PB_JSON_FIELD_PATH_MAX];
    if (err->code && strcmp(err->code, "stake_too_large") == 0)
        pb_strlcpy(field, "stake_minor", sizeof(field));
    else if (err->field[0])
        snprintf(field, sizeof(field), "bet.%.*s", (int)sizeof(field) - 8, err->field);
    else
        pb_strlcpy(field, "bet", sizeof(field));
    pb_strlcpy(err->field, field, sizeof(err->field));
    if (!err->detail[0])
        pb_strlcpy(err->detail, "is not a bet this game takes", sizeof(err->detail));
    if (!err->code)
        err->code = "out_of_range";
    return PB_ERR_INVALID;
}

int casino_play_decode(const struct game_type *game, const char *body, size_t len,
                       struct casino_play_body *out, json_t **root, struct pb_json_error *err)
{
    memset(out, 0, sizeof(*out));
    memset(err, 0, sizeof(*err));
    *root = NULL;
    struct play_fields f = {0};
    if (pb_json_parse(body, len, true, root, err) != PB_OK ||
        pb_json_decode(*root, "", play_fields, PB_ARRAY_LEN(play_fields), &f, err) != PB_OK)
        return PB_ERR_INVALID;
    const struct ledger_currency *c = ledger_currency_find(f.currency);
    if (!c)
        return decode_fail(err, "out_of_range", "currency", "is not a known currency code");
    if (f.has_stake == f.has_stake_minor)
        return decode_fail(err, f.has_stake ? "conflicting_fields" : "missing_field",
                           "stake_minor", "give exactly one of stake_minor (integer minor"
                                          " units) and stake (a decimal string)");
    if (f.has_stake) {
        if (ledger_amount_parse(f.stake, c, false, &f.stake_minor) != PB_OK)
            return decode_fail(err, "out_of_range", "stake", "must be a decimal amount with"
                                                             " at most the currency's decimals");
        if (f.stake_minor < 1)
            return decode_fail(err, "out_of_range", "stake", "must be positive");
    }
    int64_t total;
    if (game->check_bet(f.bet, f.stake_minor, &total, err) != PB_OK)
        return bet_refused(err);
    PB_ASSERT(total >= f.stake_minor);
    out->currency = f.currency;
    out->stake_minor = f.stake_minor;
    out->bet = f.bet;
    out->autoplay = f.autoplay;
    out->turbo = f.turbo;
    return PB_OK;
}

/* Adds v to flat under key: objects as "key.member", arrays as "key[i]", scalars as is. */
static void flatten(json_t *flat, const char *key, json_t *v)
{
    char sub[PB_JSON_FIELD_PATH_MAX * 2];
    if (json_is_object(v) && json_object_size(v) > 0) {
        const char *k;
        json_t *m;
        json_object_foreach(v, k, m) {
            snprintf(sub, sizeof(sub), "%s.%s", key, k);
            flatten(flat, sub, m);
        }
    } else if (json_is_array(v) && json_array_size(v) > 0) {
        size_t i;
        json_t *m;
        json_array_foreach(v, i, m) {
            snprintf(sub, sizeof(sub), "%s[%zu]", key, i);
            flatten(flat, sub, m);
        }
    } else {
        json_object_set(flat, key, v);
    }
}

char *casino_play_canonical(const struct game_type *game, const struct casino_play_body *b)
{
    json_t *flat = json_pack("{s:s,s:s,s:I,s:b,s:b}", "game_id", game->id, "currency",
                             b->currency, "stake_minor", (json_int_t)b->stake_minor, "autoplay",
                             (int)b->autoplay, "turbo", (int)b->turbo);
    PB_ASSERT(flat != NULL);
    if (b->bet)
        flatten(flat, "bet", (json_t *)b->bet);
    else
        json_object_set_new(flat, "bet", json_null());
    char *text = json_dumps(flat, JSON_COMPACT | JSON_SORT_KEYS);
    PB_ASSERT(text != NULL);
    json_decref(flat);
    return text;
}

/* ---- play: the command ---- */

struct play_cmd {
    struct writer_cmd cmd; /* first: the server frees the whole allocation */
    struct ledger *lg;
    const struct pam_config *pam;
    const struct game_type *game;
    char player_id[ROUNDS_PLAYER_ID_MAX + 1];
    char currency[LEDGER_CURRENCY_MAX + 1];
    int64_t stake_minor;
    bool autoplay, turbo;
    char scope[IDEM_SCOPE_MAX + 1];
    char key[CASINO_HTTP_IDEM_KEY_MAX + 1];
    int64_t now_ms;
    const char *request_json; /* inside the allocation */
    const char *bet_text;     /* inside the allocation; NULL: no bet */
    struct casino_answer ans; /* inside the allocation, CASINO_HTTP_ANSWER_MAX bytes */
};

static int answer_played(struct play_cmd *c, const struct casino_result *res)
{
    const struct ledger_currency *cur = ledger_currency_find(c->currency);
    PB_ASSERT(cur != NULL);
    json_t *round = casino_round_json(&res->round);
    json_t *doc = json_pack("{s:o,s:{s:s,s:i,s:I,s:I}}", "round", round, "balance",
                            "currency", c->currency, "exponent", cur->exponent,
                            "available_minor", (json_int_t)res->balance_available_minor,
                            "posted_minor", (json_int_t)res->balance_posted_minor);
    PB_ASSERT(doc != NULL);
    char *text = json_dumps(doc, JSON_COMPACT);
    if (strlen(text) >= CASINO_HTTP_ANSWER_MAX) { /* a huge feature: GET /rounds/{id} has it */
        free(text);
        json_object_del(round, "detail");
        json_object_set_new(round, "detail_omitted", json_true());
        text = json_dumps(doc, JSON_COMPACT);
    }
    PB_ASSERT(text != NULL);
    json_decref(doc);
    int rc = casino_answer_set(&c->ans, 201, text, strlen(text));
    free(text);
    return rc == PB_OK ? PB_OK : PB_ERR_DB; /* without the detail it always fits */
}

static int play_apply(struct store *tx, void *arg, const char *idem)
{
    struct play_cmd *c = arg;
    json_t *bet = c->bet_text ? json_loads(c->bet_text, 0, NULL) : NULL;
    PB_ASSERT(!c->bet_text || bet != NULL); /* dumped by the handler */
    struct casino_play p = {c->game, c->player_id, c->currency, c->stake_minor, bet,
                            c->autoplay, c->turbo, idem};
    struct casino_result res;
    struct casino_refusal *ref = pb_calloc(1, sizeof(*ref));
    int rc = casino_play_round(c->lg, tx, &c->cmd, &p, c->now_ms, &res, ref);
    json_decref(bet);
    if (rc == PB_OK && ref->status != 0) {
        casino_answer_refusal(&c->ans, ref);
    } else if (rc == PB_OK) {
        rc = answer_played(c, &res);
        round_info_release(&res.round);
    }
    pb_free(ref);
    return rc;
}

static int play_run(struct store *tx, struct writer_cmd *cmd)
{
    struct play_cmd *c = (struct play_cmd *)cmd;
    struct casino_idem q = {c->scope, c->key, c->request_json, c->pam, c->player_id};
    return casino_answer_idem(tx, &c->ans, &q, play_apply, c);
}

static void play_finish(struct http_request *req, struct writer_cmd *cmd,
                        struct http_response *resp)
{
    PB_UNUSED(req);
    casino_answer_finish(&((struct play_cmd *)cmd)->ans, cmd->status, resp);
}

static const char *idempotency_key(struct http_request *req, struct http_response *resp)
{
    return ledger_http_idempotency_key(
        req, resp, "a play moves money: an Idempotency-Key header is required");
}

static struct play_cmd *play_cmd_new(struct http_request *req, const struct game_type *g,
                                     const struct pam_principal *who, const char *key,
                                     const struct casino_play_body *b)
{
    char *canonical = casino_play_canonical(g, b);
    char *bet = b->bet ? json_dumps(b->bet, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    size_t nreq = strlen(canonical) + 1, nbet = bet ? strlen(bet) + 1 : 0;
    char *block = pb_calloc(1, sizeof(struct play_cmd) + nreq + nbet + CASINO_HTTP_ANSWER_MAX);
    struct play_cmd *c = (struct play_cmd *)block;
    char *next = block + sizeof(*c);
    c->request_json = memcpy(next, canonical, nreq);
    next += nreq;
    if (bet) {
        c->bet_text = memcpy(next, bet, nbet);
        next += nbet;
    }
    casino_answer_init(&c->ans, next, CASINO_HTTP_ANSWER_MAX);
    c->ans.conflict_named = true; /* the 409 names the first field that differs */
    free(canonical);
    free(bet);
    c->cmd.run = play_run;
    c->lg = app_ledger(req->app);
    c->pam = app_pam_config(req->app);
    c->game = g;
    pb_strlcpy(c->player_id, who->player_id, sizeof(c->player_id));
    pb_strlcpy(c->currency, b->currency, sizeof(c->currency));
    c->stake_minor = b->stake_minor;
    c->autoplay = b->autoplay;
    c->turbo = b->turbo;
    snprintf(c->scope, sizeof(c->scope), "casino:%s", who->player_id);
    pb_strlcpy(c->key, key, sizeof(c->key));
    c->now_ms = pb_wall_ms();
    return c;
}

static enum http_result post_play(struct http_request *req, struct http_response *resp)
{
    struct pam_principal who;
    const struct game_type *g;
    const char *key;
    if (!player_ok(req, resp, &who) || !(g = game_of(req, resp)) ||
        !(key = idempotency_key(req, resp)))
        return HTTP_DONE;
    struct casino_play_body b;
    struct pb_json_error err;
    json_t *root = NULL;
    if (casino_play_decode(g, req->body.data ? req->body.data : "", req->body.len, &b, &root,
                           &err) != PB_OK) {
        http_problem_json(resp, &err);
        json_decref(root);
        return HTTP_DONE;
    }
    struct play_cmd *c = play_cmd_new(req, g, &who, key, &b);
    json_decref(root);
    return http_submit(req, app_writer(req->app), &c->cmd, play_finish);
}

/* ---- GET /api/v1/rounds/{round_id}, GET /api/v1/players/me/rounds ---- */

/* The round's view; for a provably-fair round whose pair was rotated out, the revealed
 * server seed ("fair_reveal"), so the player can verify it. */
static int round_view(struct store *s, const struct round_info *r, json_t **out)
{
    *out = casino_round_json(r);
    json_t *fair = json_object_get(json_object_get(*out, "detail"), "fair");
    const char *hash = json_string_value(json_object_get(fair, "server_seed_hash"));
    if (!hash)
        return PB_OK;
    struct fair_revealed rv;
    int rc = fair_seeds_revealed_get(s, r->player_id, hash, &rv);
    if (rc == PB_ERR_NOT_FOUND) {
        json_object_set_new(*out, "fair_reveal", json_null());
        return PB_OK;
    }
    if (rc != PB_OK) {
        json_decref(*out);
        return rc;
    }
    json_object_set_new(*out, "fair_reveal",
                        json_pack("{s:s,s:o}", "server_seed", rv.server_seed, "revealed_at",
                                  time_json(rv.revealed_ms)));
    return PB_OK;
}

static bool round_id_of(struct http_request *req, struct http_response *resp, int64_t *id)
{
    const char *v = req->params[0];
    char *end;
    long long x = strtoll(v, &end, 10);
    if (v[0] < '1' || v[0] > '9' || *end || x < 1 || x == LLONG_MAX) {
        http_invalid(resp, "round_id", "must be a round id (a positive integer)");
        return false;
    }
    *id = x;
    return true;
}

/* A player session (player_id gets its id) or a staff session with ledger.read ("" then). */
static bool player_or_staff(struct http_request *req, struct http_response *resp,
                            char player_id[ROUNDS_PLAYER_ID_MAX + 1])
{
    struct pam_principal who;
    int rc = pam_authenticate(req->app, req, &who);
    if (rc == PB_OK) {
        pb_strlcpy(player_id, who.player_id, ROUNDS_PLAYER_ID_MAX + 1);
        return true;
    }
    if (rc != PB_ERR_INVALID) {
        pam_http_auth_problem(resp, rc);
        return false;
    }
    struct staff_principal staff;
    player_id[0] = '\0';
    return staff_authenticate(req->app, req, "ledger.read", &staff, resp) == PB_OK;
}

static enum http_result get_round(struct http_request *req, struct http_response *resp)
{
    char player_id[ROUNDS_PLAYER_ID_MAX + 1];
    int64_t id;
    struct store *s;
    if (!player_or_staff(req, resp, player_id) || !round_id_of(req, resp, &id) ||
        !reader_acquire(req, resp, &s))
        return HTTP_DONE;
    struct round_info r;
    json_t *doc = NULL;
    int rc = rounds_get(s, id, &r);
    if (rc == PB_OK && player_id[0] && strcmp(r.player_id, player_id) != 0) {
        round_info_release(&r);
        rc = PB_ERR_NOT_FOUND; /* another player's round: as if it did not exist */
    }
    if (rc == PB_OK) {
        rc = round_view(s, &r, &doc);
        round_info_release(&r);
    }
    reader_release(req, s);
    if (rc == PB_ERR_NOT_FOUND)
        http_problem(resp, 404, "not_found", "Not found", "no such round", "round_id");
    else if (rc != PB_OK)
        http_unavailable(resp, rc);
    else
        http_json(resp, 200, doc);
    return HTTP_DONE;
}

static enum http_result get_my_rounds(struct http_request *req, struct http_response *resp)
{
    struct pam_principal who;
    if (!player_ok(req, resp, &who))
        return HTTP_DONE;
    int64_t limit = ROUNDS_RECALL_MAX;
    const char *v = http_query(req, "limit");
    if (v) {
        char *end;
        limit = strtoll(v, &end, 10);
        if (v[0] < '1' || v[0] > '9' || *end || limit < 1 || limit > ROUNDS_RECALL_MAX) {
            http_invalid(resp, "limit", "must be an integer from 1 to " PB_STR(ROUNDS_RECALL_MAX));
            return HTTP_DONE;
        }
    }
    struct store *s;
    if (!reader_acquire(req, resp, &s))
        return HTTP_DONE;
    struct round_info *list = pb_calloc(ROUNDS_RECALL_MAX, sizeof(*list));
    size_t n = 0;
    int rc = rounds_recall(s, who.player_id, list, (size_t)limit, &n);
    json_t *rounds = json_array();
    for (size_t i = 0; rc == PB_OK && i < n; i++) {
        json_t *doc;
        rc = round_view(s, &list[i], &doc);
        if (rc == PB_OK)
            json_array_append_new(rounds, doc);
    }
    for (size_t i = 0; i < n; i++)
        round_info_release(&list[i]);
    pb_free(list);
    reader_release(req, s);
    if (rc != PB_OK) {
        json_decref(rounds);
        http_unavailable(resp, rc);
        return HTTP_DONE;
    }
    http_json(resp, 200, json_pack("{s:s,s:o}", "player_id", who.player_id, "rounds", rounds));
    return HTTP_DONE;
}

/* ---- provably-fair seeds ---- */

enum seeds_op { SEEDS_ENSURE = 1, SEEDS_SET_CLIENT, SEEDS_ROTATE };

struct seeds_cmd {
    struct writer_cmd cmd; /* first */
    enum seeds_op op;
    char player_id[ROUNDS_PLAYER_ID_MAX + 1];
    char client_seed[RNG_CLIENT_SEED_MAX + 1];
    int64_t now_ms;
    struct fair_seeds seeds;
    struct fair_revealed revealed;
};

static json_t *seeds_json(const struct fair_seeds *s)
{
    /* Never the server seed: only its commitment while the pair is active. */
    return json_pack("{s:s,s:s,s:I,s:o}", "server_seed_hash", s->server_hash, "client_seed",
                     s->client_seed, "nonce", (json_int_t)s->nonce, "created_at",
                     time_json(s->created_ms));
}

static json_t *revealed_json(const struct fair_revealed *r)
{
    return json_pack("{s:s,s:s,s:s,s:I,s:o,s:o}", "server_seed", r->server_seed,
                     "server_seed_hash", r->server_hash, "client_seed", r->client_seed,
                     "nonces", (json_int_t)r->nonces, "created_at", time_json(r->created_ms),
                     "revealed_at", time_json(r->revealed_ms));
}

static int seeds_run(struct store *tx, struct writer_cmd *cmd)
{
    struct seeds_cmd *c = (struct seeds_cmd *)cmd;
    switch (c->op) {
    case SEEDS_ENSURE: return fair_seeds_ensure(tx, c->player_id, c->now_ms, &c->seeds);
    case SEEDS_SET_CLIENT:
        return fair_seeds_set_client(tx, c->player_id, c->client_seed, c->now_ms, &c->seeds);
    case SEEDS_ROTATE:
        return fair_seeds_rotate(tx, c->player_id, c->now_ms, &c->revealed, &c->seeds);
    }
    PB_ASSERT(!"unknown seeds op");
    return PB_ERR_INVALID;
}

static void seeds_finish(struct http_request *req, struct writer_cmd *cmd,
                         struct http_response *resp)
{
    PB_UNUSED(req);
    struct seeds_cmd *c = (struct seeds_cmd *)cmd;
    if (cmd->status == PB_ERR_CONFLICT) { /* a bet of another node raced the rotation */
        http_problem(resp, 409, "conflict", "Conflict", "a bet used the pair meanwhile; retry",
                     NULL);
        return;
    }
    if (cmd->status != PB_OK) {
        http_problem(resp, 500, "internal_error", "Internal error", pb_err_name(cmd->status),
                     NULL);
        return;
    }
    if (c->op == SEEDS_ROTATE)
        http_json(resp, 200, json_pack("{s:o,s:o}", "revealed", revealed_json(&c->revealed),
                                       "current", seeds_json(&c->seeds)));
    else if (c->op == SEEDS_ENSURE) /* a first look: nothing was revealed yet */
        http_json(resp, 200, json_pack("{s:s,s:s,s:I,s:o,s:[]}", "server_seed_hash",
                                       c->seeds.server_hash, "client_seed",
                                       c->seeds.client_seed, "nonce",
                                       (json_int_t)c->seeds.nonce, "created_at",
                                       time_json(c->seeds.created_ms), "revealed"));
    else
        http_json(resp, 200, seeds_json(&c->seeds));
}

static enum http_result submit_seeds(struct http_request *req, const char *player_id,
                                     enum seeds_op op, const char *client_seed)
{
    struct seeds_cmd *c = pb_calloc(1, sizeof(*c));
    c->cmd.run = seeds_run;
    c->op = op;
    pb_strlcpy(c->player_id, player_id, sizeof(c->player_id));
    if (client_seed)
        pb_strlcpy(c->client_seed, client_seed, sizeof(c->client_seed));
    c->now_ms = pb_wall_ms();
    return http_submit(req, app_writer(req->app), &c->cmd, seeds_finish);
}

static enum http_result get_seeds(struct http_request *req, struct http_response *resp)
{
    struct pam_principal who;
    struct store *s;
    if (!player_ok(req, resp, &who) || !reader_acquire(req, resp, &s))
        return HTTP_DONE;
    struct fair_seeds seeds;
    struct fair_revealed list[FAIR_REVEALED_LIST_MAX];
    size_t n = 0;
    int rc = fair_seeds_get(s, who.player_id, &seeds);
    if (rc == PB_OK)
        rc = fair_seeds_revealed_list(s, who.player_id, list, FAIR_REVEALED_LIST_MAX, &n);
    reader_release(req, s);
    if (rc == PB_ERR_NOT_FOUND) /* the first look commits a pair */
        return submit_seeds(req, who.player_id, SEEDS_ENSURE, NULL);
    if (rc != PB_OK) {
        http_unavailable(resp, rc);
        return HTTP_DONE;
    }
    json_t *doc = seeds_json(&seeds), *revealed = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(revealed, revealed_json(&list[i]));
    json_object_set_new(doc, "revealed", revealed);
    http_json(resp, 200, doc);
    return HTTP_DONE;
}

struct client_seed_body {
    const char *client_seed;
};

static enum http_result post_seeds(struct http_request *req, struct http_response *resp)
{
    struct pam_principal who;
    if (!player_ok(req, resp, &who))
        return HTTP_DONE;
    static const struct pb_json_field fields[] = {
        PB_JSON_STR(struct client_seed_body, client_seed, PB_JSON_REQUIRED, 1,
                    RNG_CLIENT_SEED_MAX),
    };
    struct client_seed_body in = {0};
    json_t *root = NULL;
    enum http_result r = HTTP_DONE;
    if (!http_decode_body(req, resp, fields, PB_ARRAY_LEN(fields), &in, &root)) {
        /* resp holds the 400 */
    } else if (!rng_fair_client_seed_ok(in.client_seed)) {
        http_invalid(resp, "client_seed", "must be 1 to 64 printable ASCII characters without"
                                          " spaces");
    } else {
        r = submit_seeds(req, who.player_id, SEEDS_SET_CLIENT, in.client_seed);
    }
    json_decref(root);
    return r;
}

static enum http_result post_rotate(struct http_request *req, struct http_response *resp)
{
    struct pam_principal who;
    if (!player_ok(req, resp, &who))
        return HTTP_DONE;
    if (req->body.len > 0 && !(req->body.len == 2 && memcmp(req->body.data, "{}", 2) == 0)) {
        http_invalid(resp, "", "this request takes no body (or {})");
        return HTTP_DONE;
    }
    return submit_seeds(req, who.player_id, SEEDS_ROTATE, NULL);
}

/* ---- staff: game configuration ---- */

static int config_json(struct store *s, const struct game_type *g, json_t **out)
{
    struct casino_game_config cfg;
    struct casino_limits list[CASINO_LIMITS_MAX];
    size_t n;
    int rc = casino_config_get(s, g, &cfg);
    if (rc == PB_OK)
        rc = casino_limits_list(s, g, list, CASINO_LIMITS_MAX, &n);
    if (rc != PB_OK)
        return rc;
    json_t *limits = json_array(), *offered = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(limits, limits_json(&list[i]));
    json_t *variants = json_array();
    for (int v = 0; v < g->nvariants; v++) {
        json_array_append_new(offered, json_integer(g->variants[v].rtp_ppm));
        json_array_append_new(variants, json_pack("{s:s,s:i,s:b}", "id", g->variants[v].id,
                                                  "rtp_ppm", (int)g->variants[v].rtp_ppm,
                                                  "default", v == 0));
    }
    *out = json_pack("{s:s,s:b,s:i,s:s?,s:o,s:o,s:o,s:o,s:s}", "game_id", g->id, "enabled",
                     (int)cfg.enabled, "rtp_ppm", (int)cfg.rtp_ppm, "variant",
                     cfg.variant >= 0 ? g->variants[cfg.variant].id : NULL, "rtp_ppm_offered",
                     offered, "variants", variants, "limits", limits, "updated_at",
                     cfg.updated_ms ? time_json(cfg.updated_ms) : json_null(), "updated_by",
                     cfg.updated_by);
    PB_ASSERT(*out != NULL);
    if (g == &roulette_game) { /* from the server's configuration: read-only here */
        struct roulette_limits rl;
        roulette_limits_get(&rl);
        json_object_set_new(*out, "table_limits", roulette_limits_json(&rl));
    }
    return PB_OK;
}

static enum http_result get_config(struct http_request *req, struct http_response *resp)
{
    struct staff_principal who;
    const struct game_type *g;
    struct store *s;
    if (staff_authenticate(req->app, req, "games.manage", &who, resp) != PB_OK ||
        !(g = game_of(req, resp)) || !reader_acquire(req, resp, &s))
        return HTTP_DONE;
    json_t *doc;
    int rc = config_json(s, g, &doc);
    reader_release(req, s);
    if (rc != PB_OK)
        http_unavailable(resp, rc);
    else
        http_json(resp, 200, doc);
    return HTTP_DONE;
}

struct config_cmd {
    struct writer_cmd cmd; /* first */
    const struct game_type *game;
    struct casino_game_config cfg;
    struct casino_limits limits[CASINO_LIMITS_MAX];
    size_t n;
    char reason[CASINO_HTTP_REASON_MAX + 1];
    int64_t now_ms;
    json_t *after; /* the configuration written (finish answers it and decrefs) */
};

static int config_run(struct store *tx, struct writer_cmd *cmd)
{
    struct config_cmd *c = (struct config_cmd *)cmd;
    json_t *before = NULL;
    int64_t audit_id;
    int rc = config_json(tx, c->game, &before);
    if (rc == PB_OK)
        rc = casino_config_put(tx, c->game, &c->cfg, c->limits, c->n, c->now_ms);
    PB_ASSERT(rc != PB_ERR_INVALID); /* the handler checked every field */
    if (rc == PB_OK)
        rc = config_json(tx, c->game, &c->after);
    if (rc == PB_OK)
        rc = audit_next_id(tx, &audit_id);
    if (rc == PB_OK) {
        char *b = json_dumps(before, JSON_COMPACT | JSON_SORT_KEYS);
        char *a = json_dumps(c->after, JSON_COMPACT | JSON_SORT_KEYS);
        char subject[ROUNDS_GAME_ID_MAX + 8];
        snprintf(subject, sizeof(subject), "game:%s", c->game->id);
        struct audit_record r = {audit_id, c->now_ms * 1000000, c->cfg.updated_by,
                                 "games.config", subject, c->reason, b, a, subject};
        rc = audit_insert(tx, &r);
        free(b);
        free(a);
    }
    json_decref(before);
    if (rc != PB_OK) {
        json_decref(c->after);
        c->after = NULL;
    }
    return rc;
}

static void config_finish(struct http_request *req, struct writer_cmd *cmd,
                          struct http_response *resp)
{
    PB_UNUSED(req);
    struct config_cmd *c = (struct config_cmd *)cmd;
    if (cmd->status != PB_OK || !c->after) {
        json_decref(c->after);
        http_problem(resp, 500, "internal_error", "Internal error", pb_err_name(cmd->status),
                     NULL);
        return;
    }
    http_json(resp, 200, c->after);
}

struct config_body {
    bool enabled;
    int64_t rtp_ppm;
    bool has_rtp_ppm;
    const char *variant;
    json_t *limits;
    const char *reason;
};

/* The variant a configuration body chooses: by "variant" (its id), by "rtp_ppm", or both
 * (they must agree). -1 with a 400 in resp. */
static int config_variant(const struct game_type *g, const struct config_body *in,
                          struct http_response *resp)
{
    if (!in->variant && !in->has_rtp_ppm) {
        http_invalid(resp, "variant", "is required (or rtp_ppm): the RTP variant to play");
        return -1;
    }
    int v = in->variant ? game_variant_find(g, in->variant) : -1;
    if (in->variant && v < 0) {
        http_invalid(resp, "variant", "is not an RTP variant this game offers");
        return -1;
    }
    if (in->has_rtp_ppm) {
        int r = game_variant_by_rtp(g, (int32_t)in->rtp_ppm);
        if (r < 0 || (v >= 0 && r != v)) {
            http_invalid(resp, "rtp_ppm", r < 0 ? "is not an RTP variant this game offers"
                                                : "is not the RTP of the variant named");
            return -1;
        }
        v = r;
    }
    return v;
}

struct limit_body {
    const char *currency;
    int64_t min_stake_minor, max_stake_minor;
};

/* Decodes the limits array into c; false with a 400 in resp. */
static bool config_limits(json_t *limits, struct config_cmd *c, struct http_response *resp)
{
    static const struct pb_json_field fields[] = {
        PB_JSON_STR(struct limit_body, currency, PB_JSON_REQUIRED, 1, LEDGER_CURRENCY_MAX),
        PB_JSON_INT(struct limit_body, min_stake_minor, PB_JSON_REQUIRED, 1, INT64_MAX),
        PB_JSON_INT(struct limit_body, max_stake_minor, PB_JSON_REQUIRED, 1, INT64_MAX),
    };
    if (json_array_size(limits) > CASINO_LIMITS_MAX) {
        http_invalid(resp, "limits", "at most " PB_STR(CASINO_LIMITS_MAX) " currencies");
        return false;
    }
    size_t i;
    json_t *item;
    json_array_foreach(limits, i, item) {
        char prefix[32], field[48];
        snprintf(prefix, sizeof(prefix), "limits[%zu]", i);
        struct limit_body b = {0};
        struct pb_json_error err;
        if (!json_is_object(item)) {
            http_invalid(resp, prefix, "must be an object");
            return false;
        }
        if (pb_json_decode(item, prefix, fields, PB_ARRAY_LEN(fields), &b, &err) != PB_OK) {
            http_problem_json(resp, &err);
            return false;
        }
        const char *bad = !ledger_currency_find(b.currency) ? "currency"
                          : b.min_stake_minor > b.max_stake_minor ? "min_stake_minor"
                                                                  : NULL;
        for (size_t k = 0; !bad && k < i; k++)
            if (strcmp(c->limits[k].currency, b.currency) == 0)
                bad = "currency";
        if (bad) {
            snprintf(field, sizeof(field), "%s.%s", prefix, bad);
            http_invalid(resp, field, strcmp(bad, "currency") == 0
                                          ? "must be a known currency code, once"
                                          : "must not exceed max_stake_minor");
            return false;
        }
        pb_strlcpy(c->limits[i].currency, b.currency, sizeof(c->limits[i].currency));
        c->limits[i].min_stake_minor = b.min_stake_minor;
        c->limits[i].max_stake_minor = b.max_stake_minor;
    }
    c->n = json_array_size(limits);
    return true;
}

static enum http_result put_config(struct http_request *req, struct http_response *resp)
{
    struct staff_principal who;
    const struct game_type *g;
    if (staff_authenticate(req->app, req, "games.manage", &who, resp) != PB_OK ||
        !(g = game_of(req, resp)))
        return HTTP_DONE;
    static const struct pb_json_field fields[] = {
        PB_JSON_BOOL(struct config_body, enabled, PB_JSON_REQUIRED),
        {"rtp_ppm", PB_JSON_KIND_INT, PB_JSON_OPTIONAL, offsetof(struct config_body, rtp_ppm),
         offsetof(struct config_body, has_rtp_ppm), 1, 1000000},
        PB_JSON_STR(struct config_body, variant, PB_JSON_OPTIONAL, 1, GAME_VARIANT_ID_MAX),
        PB_JSON_ARR(struct config_body, limits, PB_JSON_REQUIRED),
        PB_JSON_STR(struct config_body, reason, PB_JSON_REQUIRED, CASINO_HTTP_REASON_MIN,
                    CASINO_HTTP_REASON_MAX),
    };
    struct config_body in = {0};
    json_t *root = NULL;
    struct config_cmd *c = pb_calloc(1, sizeof(*c));
    bool ok = http_decode_body(req, resp, fields, PB_ARRAY_LEN(fields), &in, &root);
    int variant = ok ? config_variant(g, &in, resp) : -1;
    ok = ok && variant >= 0;
    ok = ok && config_limits(in.limits, c, resp);
    if (ok) {
        c->cmd.run = config_run;
        c->game = g;
        c->cfg.enabled = in.enabled;
        c->cfg.rtp_ppm = g->variants[variant].rtp_ppm;
        c->cfg.variant = variant;
        pb_strlcpy(c->cfg.updated_by, who.actor, sizeof(c->cfg.updated_by));
        pb_strlcpy(c->reason, in.reason, sizeof(c->reason));
        c->now_ms = pb_wall_ms();
    }
    json_decref(root);
    if (!ok) {
        pb_free(c);
        return HTTP_DONE;
    }
    return http_submit(req, app_writer(req->app), &c->cmd, config_finish);
}

/* ---- WebSocket push ---- */

void casino_http_on_event(const struct pb_event *ev, void *app)
{
    if (strcmp(ev->type, CASINO_EVENT_ROUND_SETTLED) != 0)
        return;
    json_t *data = json_loads(ev->data, 0, NULL);
    const char *player = json_string_value(json_object_get(data, "player_id"));
    json_t *round = json_object_get(data, "round");
    if (!player || !json_is_object(round)) {
        pb_log(PB_LOG_WARN, "round event not understood", "\"event\":\"%s\"", ev->id);
        json_decref(data);
        return;
    }
    json_t *msg = json_pack("{s:s,s:s,s:O}", "kind", "round", "player_id", player, "round",
                            round);
    char *text = json_dumps(msg, JSON_COMPACT);
    char topic[PB_WS_TOPIC_MAX + 1];
    snprintf(topic, sizeof(topic), "player:%s", player);
    int rc = ws_hub_publish(ws_hub_of(app), topic, text, strlen(text));
    if (rc != PB_OK && rc != PB_ERR_CLOSED)
        pb_log(PB_LOG_WARN, "round not published to websocket",
               "\"event\":\"%s\",\"error\":\"%s\"", ev->id, pb_err_name(rc));
    free(text);
    json_decref(msg);
    json_decref(data);
}

/* ---- reports ---- */

#define REPORT_DAYS_DEFAULT 30

/* "YYYY-MM-DD" of a day number since 1970-01-01 (UTC). */
static void day_text(int64_t day, char out[16])
{
    char text[PB_TIME_TEXT_MAX];
    pb_format_time_ms(day * 86400000, text);
    snprintf(out, 16, "%.10s", text);
}

/* GET /api/v1/admin/reports/casino-daily?currency=&days= (ledger.read): closed rounds per UTC
 * day over the last `days` days (today included): count, stakes, payouts and GGR (stakes
 * minus payouts), days without rounds left out, and the totals. */
static enum http_result get_daily(struct http_request *req, struct http_response *resp)
{
    struct staff_principal who;
    if (staff_authenticate(req->app, req, "ledger.read", &who, resp) != PB_OK)
        return HTTP_DONE;
    const char *currency = http_query(req, "currency");
    const struct ledger_currency *cur = currency ? ledger_currency_find(currency) : NULL;
    if (!cur) {
        http_invalid(resp, "currency", currency ? "is not a known currency code" : "is required");
        return HTTP_DONE;
    }
    int64_t days = REPORT_DAYS_DEFAULT;
    const char *v = http_query(req, "days");
    if (v) {
        char *end;
        days = strtoll(v, &end, 10);
        if (v[0] < '1' || v[0] > '9' || *end || days < 1 || days > ROUNDS_DAILY_DAYS_MAX) {
            http_invalid(resp, "days",
                         "must be an integer from 1 to " PB_STR(ROUNDS_DAILY_DAYS_MAX));
            return HTTP_DONE;
        }
    }
    int64_t today = pb_wall_ms() / 86400000;
    int64_t first = today - days + 1;
    struct store *s;
    if (!reader_acquire(req, resp, &s))
        return HTTP_DONE;
    struct rounds_day *list = pb_calloc(ROUNDS_DAILY_DAYS_MAX, sizeof(*list));
    size_t n = 0;
    int rc = rounds_daily(s, cur->code, first * 86400000, list, (size_t)days, &n);
    reader_release(req, s);
    json_t *rows = json_array();
    int64_t t_rounds = 0, t_stakes = 0, t_payouts = 0, t_ggr = 0;
    for (size_t i = 0; rc == PB_OK && i < n; i++) {
        int64_t ggr;
        char day[16];
        if (__builtin_sub_overflow(list[i].stakes_minor, list[i].payouts_minor, &ggr) ||
            __builtin_add_overflow(t_rounds, list[i].rounds, &t_rounds) ||
            __builtin_add_overflow(t_stakes, list[i].stakes_minor, &t_stakes) ||
            __builtin_add_overflow(t_payouts, list[i].payouts_minor, &t_payouts) ||
            __builtin_add_overflow(t_ggr, ggr, &t_ggr)) {
            rc = PB_ERR_INVALID;
            break;
        }
        day_text(list[i].day, day);
        json_array_append_new(rows, json_pack("{s:s,s:I,s:I,s:I,s:I,s:I}", "day", day, "rounds",
                                              (json_int_t)list[i].rounds, "stakes_minor",
                                              (json_int_t)list[i].stakes_minor, "payouts_minor",
                                              (json_int_t)list[i].payouts_minor, "ggr_minor",
                                              (json_int_t)ggr, "active_players",
                                              (json_int_t)list[i].active_players));
    }
    pb_free(list);
    if (rc != PB_OK) {
        json_decref(rows);
        if (rc == PB_ERR_INVALID)
            http_problem(resp, 500, "overflow", "Internal error", "a total does not fit 64 bits",
                         NULL);
        else
            http_unavailable(resp, rc);
        return HTTP_DONE;
    }
    char from[16], to[16];
    day_text(first, from);
    day_text(today, to);
    http_json(resp, 200,
              json_pack("{s:s,s:i,s:s,s:s,s:o,s:{s:I,s:I,s:I,s:I}}", "currency", cur->code,
                        "exponent", cur->exponent, "from", from, "to", to, "days", rows, "totals",
                        "rounds", (json_int_t)t_rounds, "stakes_minor", (json_int_t)t_stakes,
                        "payouts_minor", (json_int_t)t_payouts, "ggr_minor", (json_int_t)t_ggr));
    return HTTP_DONE;
}

/* GET /api/v1/admin/reports/casino-minutes?minutes= (ledger.read): rounds opened (bets)
 * and distinct players per UTC minute over the last `minutes` minutes (1..1440, default 60;
 * the current minute included), minutes without rounds left out. */
static enum http_result get_minutes(struct http_request *req, struct http_response *resp)
{
    struct staff_principal who;
    if (staff_authenticate(req->app, req, "ledger.read", &who, resp) != PB_OK)
        return HTTP_DONE;
    int64_t minutes = 60;
    const char *v = http_query(req, "minutes");
    if (v) {
        char *end;
        minutes = strtoll(v, &end, 10);
        if (v[0] < '1' || v[0] > '9' || *end || minutes < 1 || minutes > ROUNDS_MINUTES_MAX) {
            http_invalid(resp, "minutes",
                         "must be an integer from 1 to " PB_STR(ROUNDS_MINUTES_MAX));
            return HTTP_DONE;
        }
    }
    int64_t now_minute = pb_wall_ms() / 60000;
    int64_t first = now_minute - minutes + 1;
    struct store *s;
    if (!reader_acquire(req, resp, &s))
        return HTTP_DONE;
    struct rounds_minute *list = pb_calloc(ROUNDS_MINUTES_MAX, sizeof(*list));
    size_t n = 0;
    int rc = rounds_per_minute(s, first * 60000, list, (size_t)minutes, &n);
    reader_release(req, s);
    if (rc != PB_OK) {
        pb_free(list);
        http_unavailable(resp, rc);
        return HTTP_DONE;
    }
    json_t *rows = json_array();
    for (size_t i = 0; i < n; i++) {
        char at[PB_TIME_TEXT_MAX];
        pb_format_time_ms(list[i].minute * 60000, at);
        json_array_append_new(rows, json_pack("{s:s,s:I,s:I}", "minute", at, "rounds",
                                              (json_int_t)list[i].rounds, "players",
                                              (json_int_t)list[i].players));
    }
    pb_free(list);
    char from[PB_TIME_TEXT_MAX], to[PB_TIME_TEXT_MAX];
    pb_format_time_ms(first * 60000, from);
    pb_format_time_ms(now_minute * 60000, to);
    http_json(resp, 200, json_pack("{s:s,s:s,s:o}", "from", from, "to", to, "minutes", rows));
    return HTTP_DONE;
}

/* ---- routes ---- */

const struct http_route casino_routes[] = {
    {HTTP_GET, "/api/v1/games", get_games, 0},
    {HTTP_POST, "/api/v1/games/{game_id}/play", post_play, HTTP_ROUTE_JSON_BODY},
    {HTTP_GET, "/api/v1/rounds/{round_id}", get_round, 0},
    {HTTP_GET, "/api/v1/players/me/rounds", get_my_rounds, 0},
    {HTTP_GET, "/api/v1/fair/seeds", get_seeds, 0},
    {HTTP_POST, "/api/v1/fair/seeds", post_seeds, HTTP_ROUTE_JSON_BODY},
    {HTTP_POST, "/api/v1/fair/seeds/rotate", post_rotate, 0},
    {HTTP_GET, "/api/v1/admin/games/{game_id}/config", get_config, 0},
    {HTTP_PUT, "/api/v1/admin/games/{game_id}/config", put_config, HTTP_ROUTE_JSON_BODY},
    {HTTP_GET, "/api/v1/admin/reports/casino-daily", get_daily, 0},
    {HTTP_GET, "/api/v1/admin/reports/casino-minutes", get_minutes, 0},
};
const size_t casino_routes_count = PB_ARRAY_LEN(casino_routes);
