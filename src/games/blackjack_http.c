/* blackjack_http.c: blackjack round routes (blackjack_http.h).
 *
 * Start: player session (401) -> Idempotency-Key (400) -> strict body {"currency",
 * "stake_minor"} (400 naming the field) -> one writer command: ledger_idem_check (scope
 * "blackjack:<player>"; a replay answers the recorded answer with Idempotent-Replayed, a
 * different request under the key 409) -> bet block and KYC gate -> a shoe shuffled from the
 * system CSPRNG -> bj_round_start -> the answer (201 and refusals alike) recorded for the key.
 * Action: player session -> round id -> strict body {"action", "seq"} -> one writer command:
 * bj_round_act. seq makes actions idempotent: a retried action finds its number taken and
 * gets 409 action_out_of_turn (the round's view says where it stands).
 *
 * A command is one allocation: the struct (its writer_cmd first, so the server's pb_free frees
 * everything) followed by room for the answer. */
#include "games/blackjack_http.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "core/app.h"
#include "core/writer.h"
#include "games/blackjack_round.h"
#include "games/casino.h"
#include "games/casino_answer.h"
#include "games/casino_http.h"
#include "ledger/ledger_http.h"
#include "pam/pam.h"
#include "pam/pam_http.h"

#define SCOPE_MAX (sizeof("blackjack:") + ROUNDS_PLAYER_ID_MAX)

struct bj_cmd {
    struct writer_cmd cmd; /* first: the server frees the whole allocation */
    struct ledger *lg;
    const struct pam_config *pam;
    char player_id[ROUNDS_PLAYER_ID_MAX + 1];
    int64_t now_ms;
    /* start */
    char currency[LEDGER_CURRENCY_MAX + 1];
    int64_t stake_minor;
    char scope[SCOPE_MAX + 1];
    char key[CASINO_HTTP_IDEM_KEY_MAX + 1];
    char request_json[160];
    /* action */
    int64_t round_id, seq;
    enum bj_action action;
    struct casino_answer ans; /* BJ_HTTP_ANSWER_MAX bytes after the struct */
};

static struct bj_cmd *cmd_new(struct http_request *req, const struct pam_principal *who,
                              int (*run)(struct store *, struct writer_cmd *))
{
    char *block = pb_calloc(1, sizeof(struct bj_cmd) + BJ_HTTP_ANSWER_MAX);
    struct bj_cmd *c = (struct bj_cmd *)block;
    casino_answer_init(&c->ans, block + sizeof(*c), BJ_HTTP_ANSWER_MAX);
    c->cmd.run = run;
    c->lg = app_ledger(req->app);
    c->pam = app_pam_config(req->app);
    pb_strlcpy(c->player_id, who->player_id, sizeof(c->player_id));
    c->now_ms = pb_wall_ms();
    return c;
}

/* The round as GET /api/v1/rounds/{id} shows it (bounded by the hands' limits). */
static int answer_round(struct bj_cmd *c, struct store *tx, int64_t round_id, int status)
{
    struct round_info r;
    if (rounds_get(tx, round_id, &r) != PB_OK)
        return PB_ERR_DB;
    json_t *doc = json_pack("{s:o}", "round", casino_round_json(&r));
    round_info_release(&r);
    casino_answer_json(&c->ans, status, doc);
    return PB_OK;
}

static void finish(struct http_request *req, struct writer_cmd *cmd, struct http_response *resp)
{
    PB_UNUSED(req);
    casino_answer_finish(&((struct bj_cmd *)cmd)->ans, cmd->status, resp);
}

static bool player_ok(struct http_request *req, struct http_response *resp,
                      struct pam_principal *who)
{
    int rc = pam_authenticate(req->app, req, who);
    if (rc != PB_OK)
        pam_http_auth_problem(resp, rc);
    return rc == PB_OK;
}

/* ---- POST /api/v1/blackjack/rounds ---- */

static int start_apply(struct store *tx, void *arg, const char *idem)
{
    struct bj_cmd *c = arg;
    struct bj_rules rules;
    bj_rules_default(&rules);
    struct rng rng;
    rng_init_system(&rng);
    struct shoe *shoe = pb_malloc(sizeof(*shoe));
    bj_shoe_new(&rules, &rng, shoe);
    struct casino_refusal *f = pb_calloc(1, sizeof(*f));
    int64_t round_id = 0;
    int rc = bj_round_start(c->lg, tx, &c->cmd, c->player_id, c->currency, c->stake_minor,
                            idem, &rules, shoe, c->now_ms, &round_id, f);
    pb_free(shoe);
    if (rc == PB_OK && f->status != 0)
        casino_answer_refusal(&c->ans, f);
    else if (rc == PB_OK)
        rc = answer_round(c, tx, round_id, 201);
    pb_free(f);
    return rc;
}

static int start_run(struct store *tx, struct writer_cmd *cmd)
{
    struct bj_cmd *c = (struct bj_cmd *)cmd;
    struct casino_idem q = {c->scope, c->key, c->request_json, c->pam, c->player_id};
    return casino_answer_idem(tx, &c->ans, &q, start_apply, c);
}

struct start_body {
    const char *currency;
    int64_t stake_minor;
};
static const struct pb_json_field start_fields[] = {
    PB_JSON_STR(struct start_body, currency, PB_JSON_REQUIRED, 3, LEDGER_CURRENCY_MAX),
    PB_JSON_INT(struct start_body, stake_minor, PB_JSON_REQUIRED, 1, BJ_STAKE_MAX),
};

static enum http_result post_start(struct http_request *req, struct http_response *resp)
{
    struct pam_principal who;
    if (!player_ok(req, resp, &who))
        return HTTP_DONE;
    const char *key = ledger_http_idempotency_key(
        req, resp, "a round moves money: an Idempotency-Key header is required");
    if (!key)
        return HTTP_DONE;
    struct start_body b = {0};
    json_t *root = NULL;
    if (!http_decode_body(req, resp, start_fields, PB_ARRAY_LEN(start_fields), &b, &root)) {
        json_decref(root);
        return HTTP_DONE;
    }
    if (!ledger_currency_find(b.currency)) {
        http_invalid(resp, "currency", "not a currency this platform knows");
        json_decref(root);
        return HTTP_DONE;
    }
    struct bj_cmd *c = cmd_new(req, &who, start_run);
    pb_strlcpy(c->currency, b.currency, sizeof(c->currency));
    c->stake_minor = b.stake_minor;
    snprintf(c->scope, sizeof(c->scope), "blackjack:%s", who.player_id);
    pb_strlcpy(c->key, key, sizeof(c->key));
    snprintf(c->request_json, sizeof(c->request_json),
             "{\"currency\":\"%s\",\"stake_minor\":%lld}", c->currency,
             (long long)c->stake_minor);
    json_decref(root);
    return http_submit(req, app_writer(req->app), &c->cmd, finish);
}

/* ---- POST /api/v1/blackjack/rounds/{round_id}/actions ---- */

static int action_run(struct store *tx, struct writer_cmd *cmd)
{
    struct bj_cmd *c = (struct bj_cmd *)cmd;
    struct casino_refusal *f = pb_calloc(1, sizeof(*f));
    int rc = bj_round_act(c->lg, tx, cmd, c->player_id, c->round_id, c->seq, c->action,
                          c->now_ms, f);
    if (rc == PB_OK && f->status != 0)
        casino_answer_refusal(&c->ans, f);
    else if (rc == PB_OK)
        rc = answer_round(c, tx, c->round_id, 200);
    pb_free(f);
    return rc;
}

struct action_body {
    const char *action;
    int64_t seq;
};
static const struct pb_json_field action_fields[] = {
    PB_JSON_STR(struct action_body, action, PB_JSON_REQUIRED, 1, 32),
    PB_JSON_INT(struct action_body, seq, PB_JSON_REQUIRED, 0, BJ_ACTIONS_MAX),
};

static enum http_result post_action(struct http_request *req, struct http_response *resp)
{
    struct pam_principal who;
    if (!player_ok(req, resp, &who))
        return HTTP_DONE;
    const char *v = req->params[0];
    char *end;
    long long id = strtoll(v, &end, 10);
    if (v[0] < '1' || v[0] > '9' || *end || id < 1 || id == LLONG_MAX) {
        http_invalid(resp, "round_id", "must be a round id (a positive integer)");
        return HTTP_DONE;
    }
    struct action_body b = {0};
    json_t *root = NULL;
    enum bj_action action;
    if (!http_decode_body(req, resp, action_fields, PB_ARRAY_LEN(action_fields), &b, &root)) {
        json_decref(root);
        return HTTP_DONE;
    }
    if (bj_action_parse(b.action, &action) != PB_OK) {
        http_invalid(resp, "action", "one of hit, stand, double, split, surrender, insurance,"
                                     " no_insurance");
        json_decref(root);
        return HTTP_DONE;
    }
    json_decref(root);
    struct bj_cmd *c = cmd_new(req, &who, action_run);
    c->round_id = id;
    c->seq = b.seq;
    c->action = action;
    return http_submit(req, app_writer(req->app), &c->cmd, finish);
}

const struct http_route blackjack_routes[] = {
    {HTTP_POST, "/api/v1/blackjack/rounds", post_start, HTTP_ROUTE_JSON_BODY},
    {HTTP_POST, "/api/v1/blackjack/rounds/{round_id}/actions", post_action,
     HTTP_ROUTE_JSON_BODY},
};
const size_t blackjack_routes_count = PB_ARRAY_LEN(blackjack_routes);
