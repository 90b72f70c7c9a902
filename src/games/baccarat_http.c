/* baccarat_http.c: the baccarat round route (baccarat_http.h).
 *
 * Player session (401) -> Idempotency-Key (400) -> strict body (400 naming the field; at
 * least one bet, each 0..BACCARAT_STAKE_MAX) -> one writer command: ledger_idem_check (scope
 * "baccarat:<player>"; a replay answers the recorded answer with Idempotent-Replayed, a
 * different request under the key 409) -> bet block and KYC gate -> baccarat_round_play ->
 * the answer (201 and refusals alike) recorded for the key.
 *
 * A command is one allocation: the struct (its writer_cmd first, so the server's pb_free frees
 * everything) followed by room for the answer. */
#include "games/baccarat_http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "core/app.h"
#include "core/writer.h"
#include "games/baccarat_round.h"
#include "games/casino.h"
#include "games/casino_answer.h"
#include "games/casino_http.h"
#include "ledger/ledger_http.h"
#include "pam/pam.h"
#include "pam/pam_http.h"

#define SCOPE_MAX (sizeof("baccarat:") + ROUNDS_PLAYER_ID_MAX)

struct bac_cmd {
    struct writer_cmd cmd; /* first: the server frees the whole allocation */
    struct ledger *lg;
    const struct pam_config *pam;
    char player_id[ROUNDS_PLAYER_ID_MAX + 1];
    int64_t now_ms;
    char currency[LEDGER_CURRENCY_MAX + 1];
    int table;
    enum baccarat_variant variant;
    struct baccarat_bets bets;
    char scope[SCOPE_MAX + 1];
    char key[CASINO_HTTP_IDEM_KEY_MAX + 1];
    char request_json[384];
    struct casino_answer ans; /* BACCARAT_HTTP_ANSWER_MAX bytes after the struct */
};

static int answer_round(struct bac_cmd *c, struct store *tx, int64_t round_id)
{
    struct round_info r;
    if (rounds_get(tx, round_id, &r) != PB_OK)
        return PB_ERR_DB;
    json_t *doc = json_pack("{s:o}", "round", casino_round_json(&r));
    round_info_release(&r);
    casino_answer_json(&c->ans, 201, doc);
    return PB_OK;
}

static void finish(struct http_request *req, struct writer_cmd *cmd, struct http_response *resp)
{
    PB_UNUSED(req);
    casino_answer_finish(&((struct bac_cmd *)cmd)->ans, cmd->status, resp);
}

static int apply(struct store *tx, void *arg, const char *idem)
{
    struct bac_cmd *c = arg;
    struct rng rng;
    rng_init_system(&rng);
    struct casino_refusal *f = pb_calloc(1, sizeof(*f));
    int64_t round_id = 0;
    int rc = baccarat_round_play(c->lg, tx, &c->cmd, c->player_id, c->currency, c->table,
                                 c->variant, &c->bets, idem, &rng, c->now_ms, &round_id, f);
    if (rc == PB_OK && f->status != 0)
        casino_answer_refusal(&c->ans, f);
    else if (rc == PB_OK)
        rc = answer_round(c, tx, round_id);
    pb_free(f);
    return rc;
}

static int play_run(struct store *tx, struct writer_cmd *cmd)
{
    struct bac_cmd *c = (struct bac_cmd *)cmd;
    struct casino_idem q = {c->scope, c->key, c->request_json, c->pam, c->player_id};
    return casino_answer_idem(tx, &c->ans, &q, apply, c);
}

struct play_body {
    const char *currency, *variant;
    int64_t table;
    int64_t player_minor, banker_minor, tie_minor, player_pair_minor, banker_pair_minor;
};
static const struct pb_json_field play_fields[] = {
    PB_JSON_STR(struct play_body, currency, PB_JSON_REQUIRED, 3, LEDGER_CURRENCY_MAX),
    PB_JSON_STR(struct play_body, variant, PB_JSON_OPTIONAL, 1, 32),
    PB_JSON_INT(struct play_body, table, PB_JSON_OPTIONAL, 1, BACCARAT_TABLES),
    PB_JSON_INT(struct play_body, player_minor, PB_JSON_OPTIONAL, 0, BACCARAT_STAKE_MAX),
    PB_JSON_INT(struct play_body, banker_minor, PB_JSON_OPTIONAL, 0, BACCARAT_STAKE_MAX),
    PB_JSON_INT(struct play_body, tie_minor, PB_JSON_OPTIONAL, 0, BACCARAT_STAKE_MAX),
    PB_JSON_INT(struct play_body, player_pair_minor, PB_JSON_OPTIONAL, 0, BACCARAT_STAKE_MAX),
    PB_JSON_INT(struct play_body, banker_pair_minor, PB_JSON_OPTIONAL, 0, BACCARAT_STAKE_MAX),
};

static enum http_result post_round(struct http_request *req, struct http_response *resp)
{
    struct pam_principal who;
    int arc = pam_authenticate(req->app, req, &who);
    if (arc != PB_OK) {
        pam_http_auth_problem(resp, arc);
        return HTTP_DONE;
    }
    const char *key = ledger_http_idempotency_key(
        req, resp, "a round moves money: an Idempotency-Key header is required");
    if (!key)
        return HTTP_DONE;
    struct play_body b = {0};
    json_t *root = NULL;
    if (!http_decode_body(req, resp, play_fields, PB_ARRAY_LEN(play_fields), &b, &root)) {
        json_decref(root);
        return HTTP_DONE;
    }
    enum baccarat_variant variant = BACCARAT_COMMISSION;
    struct baccarat_bets bets = {b.player_minor, b.banker_minor, b.tie_minor,
                                 b.player_pair_minor, b.banker_pair_minor};
    const char *field = NULL;
    char bad[48];
    bool ok = false;
    if (!ledger_currency_find(b.currency)) {
        http_invalid(resp, "currency", "not a currency this platform knows");
    } else if (b.variant && strcmp(b.variant, "commission") != 0 &&
               strcmp(b.variant, "no_commission") != 0) {
        http_invalid(resp, "variant", "one of commission, no_commission");
    } else if (baccarat_check_bets(&bets, &field) != PB_OK) {
        /* "bets" (none placed) names the first bet field; a bet names its own field */
        snprintf(bad, sizeof(bad), "%s_minor", strcmp(field, "bets") == 0 ? "player" : field);
        http_invalid(resp, bad, "place at least one bet (player_minor, banker_minor,"
                                " tie_minor, player_pair_minor, banker_pair_minor)");
    } else {
        ok = true;
    }
    if (!ok) {
        json_decref(root);
        return HTTP_DONE;
    }
    if (b.variant && strcmp(b.variant, "no_commission") == 0)
        variant = BACCARAT_NO_COMMISSION;
    char *block = pb_calloc(1, sizeof(struct bac_cmd) + BACCARAT_HTTP_ANSWER_MAX);
    struct bac_cmd *c = (struct bac_cmd *)block;
    casino_answer_init(&c->ans, block + sizeof(*c), BACCARAT_HTTP_ANSWER_MAX);
    c->cmd.run = play_run;
    c->lg = app_ledger(req->app);
    c->pam = app_pam_config(req->app);
    pb_strlcpy(c->player_id, who.player_id, sizeof(c->player_id));
    c->now_ms = pb_wall_ms();
    pb_strlcpy(c->currency, b.currency, sizeof(c->currency));
    c->table = b.table ? (int)b.table : 1;
    c->variant = variant;
    c->bets = bets;
    snprintf(c->scope, sizeof(c->scope), "baccarat:%s", who.player_id);
    pb_strlcpy(c->key, key, sizeof(c->key));
    snprintf(c->request_json, sizeof(c->request_json),
             "{\"currency\":\"%s\",\"table\":%d,\"variant\":\"%s\",\"bets\":[%lld,%lld,%lld,"
             "%lld,%lld]}", c->currency, c->table,
             variant == BACCARAT_COMMISSION ? "commission" : "no_commission",
             (long long)bets.player_minor, (long long)bets.banker_minor,
             (long long)bets.tie_minor, (long long)bets.player_pair_minor,
             (long long)bets.banker_pair_minor);
    json_decref(root);
    return http_submit(req, app_writer(req->app), &c->cmd, finish);
}

const struct http_route baccarat_routes[] = {
    {HTTP_POST, "/api/v1/baccarat/rounds", post_round, HTTP_ROUTE_JSON_BODY},
};
const size_t baccarat_routes_count = PB_ARRAY_LEN(baccarat_routes);
