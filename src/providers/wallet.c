/* wallet.c: the seamless-wallet operations inside one writer command (providers.h; the rules
 * and their reasons in docs/providers.md, "Semantics").
 *
 * Order of a money operation (bet, win, rollback, free-round win):
 *   session (by token hash; unknown: invalid_token, not recorded) -> amount and currency
 *   (validation, not recorded) -> idempotency by the provider's transaction id in scope
 *   "provider:<name>" (replay: the recorded answer; another body: duplicate_transaction) ->
 *   the rule checks -> a savepoint around round changes and ledger_apply (a refusal undoes
 *   both) -> the answer, recorded for the transaction id.
 * The ledger is the authority on money; provider_tx remembers which bets were applied and
 * which ids were rolled back before they were seen (tombstones); rounds.h holds the rounds. */
#include "providers/providers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/log.h"
#include "games/rounds.h"
#include "http/http.h"
#include "ledger/ledger.h"
#include "pam/auth.h"
#include "pam/pam.h"

#define OP_SAVEPOINT "provider_op"

const char *provider_op_name(enum provider_op_kind k)
{
    static const char *const names[] = {NULL, "authenticate", "balance", "bet", "win",
                                        "rollback", "end_round", "free_round_win"};
    return (size_t)k < PB_ARRAY_LEN(names) ? names[k] : NULL;
}

/* The state of one operation. */
struct wop {
    struct ledger *lg;
    struct store *tx;
    struct writer_cmd *cmd;
    const struct provider *p;
    const struct provider_op *op;
    int64_t now_ms;
    struct provider_answer *ans;
    char session_hash[PAM_TOKEN_HASH_HEX_SIZE];
    struct provider_session ses;
    bool known;          /* ses is filled: answers carry the balance */
    int64_t cash;        /* the player's cash account in the session's currency */
    int64_t amount;      /* op's amount in minor units */
    char game_kind[PROVIDERS_CATEGORY_MAX + 1];
};

/* ---- answers ---- */

static int balance_of(struct wop *w, int64_t *out)
{
    struct ledger_account a;
    int rc = ledger_account_get(w->tx, w->cash, &a);
    if (rc != PB_OK)
        return PB_ERR_DB;
    *out = ledger_available(&a);
    PB_ASSERT(*out >= 0); /* a player account never goes below zero */
    return PB_OK;
}

static void answer_set(struct provider_answer *ans, int status, const char *text, size_t len)
{
    PB_ASSERT(len < sizeof(ans->body));
    memcpy(ans->body, text, len);
    ans->body[len] = '\0';
    ans->status = status;
}

/* A refusal in the generic shape, with the balance when the player is known and extra
 * members (JSON members without braces, or NULL). Returns 0, or PB_ERR_DB. */
static int refuse(struct wop *w, int status, const char *code, const char *detail,
                  const char *field, const char *extra)
{
    char members[512] = "";
    int64_t balance = 0;
    if (w->known) {
        if (balance_of(w, &balance) != PB_OK)
            return PB_ERR_DB;
        snprintf(members, sizeof(members), "\"balance_minor\":%lld,\"currency\":\"%s\"%s%s",
                 (long long)balance, w->ses.currency, extra ? "," : "", extra ? extra : "");
    } else if (extra) {
        pb_strlcpy(members, extra, sizeof(members));
    }
    struct http_response tmp;
    http_response_init(&tmp);
    http_problem_members(&tmp, status, code, http_status_title(status), detail, field, members);
    answer_set(w->ans, status, tmp.body.data, tmp.body.len);
    http_response_release(&tmp);
    return PB_OK;
}

/* The success document: balance, currency and the operation's ids (doc may be NULL). */
static int succeed(struct wop *w, json_t *doc, int64_t transfer_id)
{
    int64_t balance;
    if (balance_of(w, &balance) != PB_OK) {
        json_decref(doc);
        return PB_ERR_DB;
    }
    if (!doc)
        doc = json_object();
    json_object_set_new(doc, "balance_minor", json_integer(balance));
    json_object_set_new(doc, "currency", json_string(w->ses.currency));
    if (w->op->transaction_id)
        json_object_set_new(doc, "transaction_id", json_string(w->op->transaction_id));
    if (w->op->round_id)
        json_object_set_new(doc, "round_id", json_string(w->op->round_id));
    if (transfer_id)
        json_object_set_new(doc, "transfer_id", json_integer(transfer_id));
    char *text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
    PB_ASSERT(text != NULL);
    json_decref(doc);
    answer_set(w->ans, 200, text, strlen(text));
    free(text);
    return PB_OK;
}

/* ---- sessions and accounts ---- */

static int session_find(struct wop *w, const char *token)
{
    if (pam_token_hash(token, w->session_hash) != PB_OK)
        return PB_ERR_NOT_FOUND;
    struct store_stmt *st;
    int rc = store_prepare(w->tx, "SELECT game_id, player_id, currency, player_session_id,"
                                  " expires_at_ms FROM provider_sessions"
                                  " WHERE token_hash = ? AND provider = ?", &st);
    if (rc != PB_OK)
        return PB_ERR_DB;
    store_bind_text(st, 1, w->session_hash, strlen(w->session_hash));
    store_bind_text(st, 2, w->p->name, strlen(w->p->name));
    rc = store_step(st);
    if (rc == STORE_ROW) {
        struct provider_session *s = &w->ses;
        pb_strlcpy(s->provider, w->p->name, sizeof(s->provider));
        pb_strlcpy(s->game_id, store_column_text(st, 0), sizeof(s->game_id));
        pb_strlcpy(s->player_id, store_column_text(st, 1), sizeof(s->player_id));
        pb_strlcpy(s->currency, store_column_text(st, 2), sizeof(s->currency));
        pb_strlcpy(s->player_session_id, store_column_text(st, 3),
                   sizeof(s->player_session_id));
        s->expires_at_ms = store_column_int64(st, 4);
    }
    store_finalize(st);
    return rc == STORE_ROW ? PB_OK : rc == STORE_DONE ? PB_ERR_NOT_FOUND : PB_ERR_DB;
}

static int open_cash(struct wop *w)
{
    char owner[LEDGER_OWNER_MAX + 1];
    snprintf(owner, sizeof(owner), "player:%s", w->ses.player_id);
    int rc = ledger_open_account(w->lg, w->tx, owner, LEDGER_ACC_PLAYER_CASH, w->ses.currency,
                                 &w->cash);
    PB_ASSERT(rc != PB_ERR_INVALID); /* ids and currencies were checked when stored */
    return rc;
}

/* The counter-account: the provider's clearing account, or the house's bonus expense for
 * promotional wins. */
static int open_house(struct wop *w, bool promotional, int64_t *id)
{
    char owner[LEDGER_OWNER_MAX + 1];
    if (promotional)
        snprintf(owner, sizeof(owner), "house");
    else
        snprintf(owner, sizeof(owner), "provider:%s", w->p->name);
    int rc = ledger_open_account(w->lg, w->tx, owner,
                                 promotional ? LEDGER_ACC_BONUS_EXPENSE
                                             : LEDGER_ACC_PROVIDER_CLEARING,
                                 w->ses.currency, id);
    PB_ASSERT(rc != PB_ERR_INVALID);
    return rc;
}

/* ---- provider_tx ---- */

struct ptx {
    bool found;
    char kind[16];
    char player_id[65];
    char round_ext[PROVIDERS_ROUND_ID_MAX + 1];
    int64_t round_id, amount, player_account, house_account;
    bool rolled_back;
};

static int ptx_get(struct wop *w, const char *tx_id, struct ptx *out)
{
    struct store_stmt *st;
    memset(out, 0, sizeof(*out));
    int rc = store_prepare(w->tx, "SELECT kind, player_id, round_ext, round_id, amount_minor,"
                                  " player_account, house_account, rolled_back FROM provider_tx"
                                  " WHERE provider = ? AND tx_id = ?", &st);
    if (rc != PB_OK)
        return PB_ERR_DB;
    store_bind_text(st, 1, w->p->name, strlen(w->p->name));
    store_bind_text(st, 2, tx_id, strlen(tx_id));
    rc = store_step(st);
    if (rc == STORE_ROW) {
        out->found = true;
        pb_strlcpy(out->kind, store_column_text(st, 0), sizeof(out->kind));
        pb_strlcpy(out->player_id, store_column_text(st, 1), sizeof(out->player_id));
        pb_strlcpy(out->round_ext, store_column_text(st, 2), sizeof(out->round_ext));
        out->round_id = store_column_int64(st, 3);
        out->amount = store_column_int64(st, 4);
        out->player_account = store_column_int64(st, 5);
        out->house_account = store_column_int64(st, 6);
        out->rolled_back = store_column_int64(st, 7) != 0;
    }
    store_finalize(st);
    return rc == STORE_ROW || rc == STORE_DONE ? PB_OK : PB_ERR_DB;
}

static int ptx_insert(struct wop *w, const char *tx_id, const char *kind, const char *round_ext,
                      int64_t round_id, int64_t amount, int64_t house)
{
    struct store_stmt *st;
    int rc = store_prepare(w->tx, "INSERT INTO provider_tx (provider, tx_id, kind, player_id,"
                                  " currency, round_ext, round_id, amount_minor, player_account,"
                                  " house_account, rolled_back, created_at_ms)"
                                  " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?)", &st);
    if (rc != PB_OK)
        return PB_ERR_DB;
    store_bind_text(st, 1, w->p->name, strlen(w->p->name));
    store_bind_text(st, 2, tx_id, strlen(tx_id));
    store_bind_text(st, 3, kind, strlen(kind));
    store_bind_text(st, 4, w->ses.player_id, strlen(w->ses.player_id));
    store_bind_text(st, 5, w->ses.currency, strlen(w->ses.currency));
    store_bind_text(st, 6, round_ext, strlen(round_ext));
    store_bind_int64(st, 7, round_id);
    store_bind_int64(st, 8, amount);
    store_bind_int64(st, 9, w->cash);
    store_bind_int64(st, 10, house);
    store_bind_int64(st, 11, w->now_ms);
    rc = store_step(st);
    store_finalize(st);
    return rc == STORE_DONE ? PB_OK : PB_ERR_DB;
}

static int ptx_mark_rolled_back(struct wop *w, const char *tx_id)
{
    struct store_stmt *st;
    int rc = store_prepare(w->tx, "UPDATE provider_tx SET rolled_back = 1"
                                  " WHERE provider = ? AND tx_id = ? AND rolled_back = 0", &st);
    if (rc != PB_OK)
        return PB_ERR_DB;
    store_bind_text(st, 1, w->p->name, strlen(w->p->name));
    store_bind_text(st, 2, tx_id, strlen(tx_id));
    rc = store_step(st);
    bool one = rc == STORE_DONE && store_changes(st) == 1;
    store_finalize(st);
    if (rc != STORE_DONE)
        return PB_ERR_DB;
    PB_ASSERT(one); /* the caller read it as not rolled back in this transaction */
    return PB_OK;
}

/* ---- the ledger ---- */

/* Applies one transfer; *refused tells whether a rule refused it (the answer is then set). */
static int apply(struct wop *w, int64_t debit, int64_t credit, int64_t amount, int code,
                 int64_t round_id, const char *field, bool *refused, int64_t *transfer_id)
{
    char reference[LEDGER_REFERENCE_MAX + 1], idem[LEDGER_REFERENCE_MAX + 48];
    snprintf(reference, sizeof(reference), "round:%lld", (long long)round_id);
    snprintf(idem, sizeof(idem), "provider:%s:%s", w->p->name, w->op->transaction_id);
    json_t *meta = json_pack("{s:s,s:s,s:s}", "provider", w->p->name, "transaction_id",
                             w->op->transaction_id, "operation", provider_op_name(w->op->kind));
    if (w->op->campaign_id)
        json_object_set_new(meta, "campaign_id", json_string(w->op->campaign_id));
    char *metadata = json_dumps(meta, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(meta);
    struct ledger_context ctx = {.product = "provider",
                                 .game_kind = w->game_kind[0] ? w->game_kind : NULL,
                                 .game_id = w->ses.game_id};
    struct ledger_transfer t = {.kind = LEDGER_POSTED, .debit_account = debit,
                                .credit_account = credit, .amount = amount, .code = code,
                                .reference = reference, .metadata = metadata,
                                .context = &ctx};
    struct ledger_outcome out;
    int rc = ledger_apply(w->lg, w->tx, w->cmd, idem, &t, 1, &out);
    free(metadata);
    *refused = false;
    if (rc != PB_OK)
        return PB_ERR_DB;
    if (out.error == LEDGER_OK) {
        PB_ASSERT(out.n == 1 && out.applied[0].amount == amount);
        *transfer_id = out.applied[0].id;
        return PB_OK;
    }
    *refused = true;
    if (out.error == LEDGER_E_INSUFFICIENT_FUNDS)
        return refuse(w, 422, PROVIDER_E_INSUFFICIENT_FUNDS,
                      "the player's balance does not cover the bet", field, NULL);
    if (out.error == LEDGER_E_REFUSED) {
        const struct ledger_refusal *r = &out.refusal;
        char extra[LEDGER_REFUSAL_MEMBERS_MAX + 64];
        snprintf(extra, sizeof(extra), "\"reason_code\":\"%s\"%s%s", r->code,
                 r->members[0] ? "," : "", r->members);
        bool blocked = strstr(r->code, "exclu") || strstr(r->code, "time_out") ||
                       strstr(r->code, "timeout") || strstr(r->code, "cool") ||
                       strstr(r->code, "blocked");
        return refuse(w, blocked ? 403 : r->status >= 400 && r->status < 500 ? r->status : 422,
                      blocked ? PROVIDER_E_PLAYER_BLOCKED : PROVIDER_E_LIMIT_EXCEEDED,
                      r->detail[0] ? r->detail : NULL, field, extra);
    }
    char detail[128];
    snprintf(detail, sizeof(detail), "refused by the ledger (%s)", ledger_error_name(out.error));
    return refuse(w, 422, PROVIDER_E_VALIDATION, detail, field, NULL);
}

/* ---- rounds ---- */

/* The round of op->round_id: *found, and in r. A round of another player is a validation
 * refusal (*refused). */
static int round_find(struct wop *w, struct round_info *r, bool *found, bool *refused)
{
    memset(r, 0, sizeof(*r));
    *refused = false;
    int rc = rounds_find_external(w->tx, w->p->name, w->op->round_id, r);
    *found = rc == PB_OK;
    if (rc != PB_OK && rc != PB_ERR_NOT_FOUND)
        return PB_ERR_DB;
    if (*found && strcmp(r->player_id, w->ses.player_id) != 0) {
        *refused = true;
        return refuse(w, 409, PROVIDER_E_VALIDATION, "this round belongs to another player",
                      "round_id", NULL);
    }
    return PB_OK;
}

static int round_open(struct wop *w, int64_t *round_id)
{
    int rc = w->game_kind[0]
                 ? rounds_open_game(w->tx, w->ses.player_id, w->ses.game_id, w->game_kind,
                                    w->p->name, w->op->round_id, w->ses.currency, w->now_ms,
                                    round_id)
                 : rounds_open(w->tx, w->ses.player_id, w->ses.game_id, w->p->name,
                               w->op->round_id, w->ses.currency, w->now_ms, round_id);
    return rc == PB_OK ? PB_OK : PB_ERR_DB;
}

/* Moves r forward to state unless it is already there or beyond. */
static int round_advance(struct wop *w, int64_t round_id, enum round_state from,
                         enum round_state to)
{
    if (from >= to || from == ROUND_CLOSED || from == ROUND_CANCELLED)
        return PB_OK;
    return rounds_set_state(w->tx, round_id, to, NULL, w->now_ms) == PB_OK ? PB_OK : PB_ERR_DB;
}

/* Refusals shared by bets and wins on a round in a final state. */
static bool round_final_refusal(struct wop *w, const struct round_info *r, int *rc)
{
    if (r->state == ROUND_CANCELLED)
        *rc = refuse(w, 409, PROVIDER_E_ROLLED_BACK, "the round's bet was rolled back",
                     "round_id", NULL);
    else if (r->state == ROUND_CLOSED)
        *rc = refuse(w, 409, PROVIDER_E_ROUND_CLOSED, "the round was ended", "round_id", NULL);
    else
        return false;
    return true;
}

/* ---- operations ---- */

static int savepoint(struct wop *w)
{
    return store_savepoint(w->tx, OP_SAVEPOINT) == PB_OK ? PB_OK : PB_ERR_DB;
}

/* Ends the savepoint: undone when refused (the answer stays), kept otherwise. */
static int savepoint_end(struct wop *w, bool undo)
{
    if (undo && store_rollback_to(w->tx, OP_SAVEPOINT) != PB_OK)
        return PB_ERR_DB;
    return store_release(w->tx, OP_SAVEPOINT) == PB_OK ? PB_OK : PB_ERR_DB;
}

static int do_bet(struct wop *w)
{
    unsigned blocks = 0;
    struct ptx prior;
    struct round_info r;
    bool found, refused;
    if (w->now_ms >= w->ses.expires_at_ms)
        return refuse(w, 401, PROVIDER_E_SESSION_EXPIRED,
                      "the session has expired: bets are refused, wins and rollbacks accepted",
                      NULL, NULL);
    if (pam_player_blocks(w->tx, w->ses.player_id, &blocks) != PB_OK ||
        ptx_get(w, w->op->transaction_id, &prior) != PB_OK)
        return PB_ERR_DB;
    if (blocks & PAM_BLOCK_BET)
        return refuse(w, 403, PROVIDER_E_PLAYER_BLOCKED, "the player may not bet", NULL, NULL);
    if (prior.found) /* only a tombstone can be there: the id is new to idempotency */
        return refuse(w, 409, PROVIDER_E_ROLLED_BACK,
                      "this transaction was rolled back before it arrived", "transaction_id",
                      NULL);
    int rc = round_find(w, &r, &found, &refused);
    if (rc != PB_OK || refused)
        return rc;
    if (found && round_final_refusal(w, &r, &rc))
        return round_info_release(&r), rc;
    int64_t house, round_id = r.id, transfer_id = 0;
    if (open_house(w, false, &house) != PB_OK || savepoint(w) != PB_OK)
        return round_info_release(&r), PB_ERR_DB;
    rc = found ? PB_OK : round_open(w, &round_id);
    if (rc == PB_OK)
        rc = apply(w, w->cash, house, w->amount, LEDGER_TX_BET, round_id, "amount", &refused,
                   &transfer_id);
    if (rc == PB_OK && !refused) {
        rc = rounds_add(w->tx, round_id, w->amount, 0, w->now_ms) == PB_OK ? PB_OK : PB_ERR_DB;
        rc = rc ? rc : round_advance(w, round_id, found ? r.state : ROUND_OPEN, ROUND_DEBITED);
        rc = rc ? rc : ptx_insert(w, w->op->transaction_id, "bet", w->op->round_id, round_id,
                                  w->amount, house);
    }
    round_info_release(&r);
    if (rc != PB_OK)
        return rc;
    if (savepoint_end(w, refused) != PB_OK)
        return PB_ERR_DB;
    return refused ? PB_OK : succeed(w, NULL, transfer_id);
}

/* Wins and free-round wins: a credit to the player on the round. */
static int do_win(struct wop *w, bool promotional)
{
    struct round_info r;
    struct ptx prior;
    bool found, refused;
    if (ptx_get(w, w->op->transaction_id, &prior) != PB_OK)
        return PB_ERR_DB;
    if (prior.found) /* a tombstone: a rollback named this id before it came */
        return refuse(w, 409, PROVIDER_E_ROLLED_BACK,
                      "this transaction id was rolled back before it arrived", "transaction_id",
                      NULL);
    int rc = round_find(w, &r, &found, &refused);
    if (rc != PB_OK || refused)
        return rc;
    if (found && round_final_refusal(w, &r, &rc))
        return round_info_release(&r), rc;
    if (!found && !promotional && !w->p->accept_unknown_round_wins)
        return round_info_release(&r),
               refuse(w, 404, PROVIDER_E_BET_NOT_FOUND, "no bet was placed in this round",
                      "round_id", NULL);
    int64_t house, round_id = r.id, transfer_id = 0;
    if (open_house(w, promotional, &house) != PB_OK || savepoint(w) != PB_OK)
        return round_info_release(&r), PB_ERR_DB;
    refused = false;
    rc = found ? PB_OK : round_open(w, &round_id);
    if (rc == PB_OK && w->amount > 0)
        rc = apply(w, house, w->cash, w->amount, LEDGER_TX_WIN, round_id, "amount", &refused,
                   &transfer_id);
    if (rc == PB_OK && !refused) {
        rc = rounds_add(w->tx, round_id, 0, w->amount, w->now_ms) == PB_OK ? PB_OK : PB_ERR_DB;
        rc = rc ? rc : round_advance(w, round_id, found ? r.state : ROUND_OPEN, ROUND_SETTLED);
        rc = rc ? rc : ptx_insert(w, w->op->transaction_id, promotional ? "free_round" : "win",
                                  w->op->round_id, round_id, w->amount, house);
    }
    round_info_release(&r);
    if (rc != PB_OK || savepoint_end(w, refused) != PB_OK)
        return PB_ERR_DB;
    return refused ? PB_OK : succeed(w, NULL, transfer_id);
}

static int do_rollback(struct wop *w)
{
    struct ptx bet;
    const char *ref = w->op->reference_transaction_id;
    if (ptx_get(w, ref, &bet) != PB_OK)
        return PB_ERR_DB;
    if (!bet.found) {
        /* Never seen: succeed and leave a tombstone, so the bet is refused if it comes. */
        if (ptx_insert(w, ref, "tombstone", w->op->round_id ? w->op->round_id : "", 0, 0,
                       0) != PB_OK)
            return PB_ERR_DB;
        return succeed(w, json_pack("{s:s,s:b}", "reference_transaction_id", ref, "tombstone",
                                    1), 0);
    }
    if (strcmp(bet.kind, "tombstone") == 0 || bet.rolled_back)
        return refuse(w, 409, PROVIDER_E_ROLLED_BACK, "this bet was already rolled back",
                      "reference_transaction_id", NULL);
    if (strcmp(bet.kind, "bet") != 0)
        return refuse(w, 400, PROVIDER_E_VALIDATION, "only bets can be rolled back",
                      "reference_transaction_id", NULL);
    if (strcmp(bet.player_id, w->ses.player_id) != 0 || bet.player_account != w->cash)
        return refuse(w, 409, PROVIDER_E_VALIDATION, "this bet belongs to another session",
                      "reference_transaction_id", NULL);
    bool refused;
    int64_t transfer_id = 0;
    if (savepoint(w) != PB_OK)
        return PB_ERR_DB;
    int rc = apply(w, bet.house_account, w->cash, bet.amount, LEDGER_TX_REFUND, bet.round_id,
                   "reference_transaction_id", &refused, &transfer_id);
    if (rc == PB_OK && !refused) {
        struct round_info r;
        rc = ptx_mark_rolled_back(w, ref);
        if (rc == PB_OK && rounds_get(w->tx, bet.round_id, &r) == PB_OK) {
            rc = round_advance(w, bet.round_id, r.state, ROUND_CANCELLED);
            round_info_release(&r);
        } else if (rc == PB_OK) {
            rc = PB_ERR_DB;
        }
    }
    if (rc != PB_OK || savepoint_end(w, refused) != PB_OK)
        return PB_ERR_DB;
    return refused ? PB_OK
                   : succeed(w, json_pack("{s:s,s:I}", "reference_transaction_id", ref,
                                          "refunded_minor", (json_int_t)bet.amount),
                             transfer_id);
}

static int do_end_round(struct wop *w)
{
    struct round_info r;
    bool found, refused;
    int rc = round_find(w, &r, &found, &refused);
    if (rc != PB_OK || refused)
        return rc;
    if (!found)
        return round_info_release(&r),
               refuse(w, 404, PROVIDER_E_BET_NOT_FOUND, "no such round", "round_id", NULL);
    rc = round_advance(w, r.id, r.state, ROUND_CLOSED);
    json_t *doc = json_pack("{s:s}", "round_state",
                            round_state_name(r.state == ROUND_CANCELLED ? ROUND_CANCELLED
                                                                        : ROUND_CLOSED));
    round_info_release(&r);
    return rc != PB_OK ? (json_decref(doc), rc) : succeed(w, doc, 0);
}

/* ---- authenticate: the launch token, once, for a session token ---- */

static int do_authenticate(struct wop *w)
{
    char hash[PAM_TOKEN_HASH_HEX_SIZE];
    struct store_stmt *st;
    if (pam_token_hash(w->op->token, hash) != PB_OK)
        return refuse(w, 401, PROVIDER_E_INVALID_TOKEN, "unknown launch token", "token", NULL);
    int rc = store_prepare(w->tx, "UPDATE provider_launch SET used_at_ms = ?"
                                  " WHERE token_hash = ? AND provider = ? AND used_at_ms = 0"
                                  " AND expires_at_ms > ?"
                                  " RETURNING game_id, player_id, currency, player_session_id",
                           &st);
    if (rc != PB_OK)
        return PB_ERR_DB;
    store_bind_int64(st, 1, w->now_ms);
    store_bind_text(st, 2, hash, strlen(hash));
    store_bind_text(st, 3, w->p->name, strlen(w->p->name));
    store_bind_int64(st, 4, w->now_ms);
    rc = store_step(st);
    struct provider_session *s = &w->ses;
    if (rc == STORE_ROW) {
        pb_strlcpy(s->provider, w->p->name, sizeof(s->provider));
        pb_strlcpy(s->game_id, store_column_text(st, 0), sizeof(s->game_id));
        pb_strlcpy(s->player_id, store_column_text(st, 1), sizeof(s->player_id));
        pb_strlcpy(s->currency, store_column_text(st, 2), sizeof(s->currency));
        pb_strlcpy(s->player_session_id, store_column_text(st, 3),
                   sizeof(s->player_session_id));
        rc = store_step(st) == STORE_DONE ? STORE_ROW : PB_ERR_DB;
    }
    store_finalize(st);
    if (rc == STORE_DONE)
        return refuse(w, 401, PROVIDER_E_INVALID_TOKEN,
                      "the launch token is unknown, used or expired", "token", NULL);
    if (rc != STORE_ROW)
        return PB_ERR_DB;
    unsigned blocks = 0;
    if (pam_player_blocks(w->tx, s->player_id, &blocks) != PB_OK || open_cash(w) != PB_OK)
        return PB_ERR_DB;
    w->known = true;
    if (blocks & PAM_BLOCK_LOGIN)
        return refuse(w, 403, PROVIDER_E_PLAYER_BLOCKED, "the player is blocked", NULL, NULL);
    char token[PAM_TOKEN_TEXT_SIZE];
    pam_token_new(token, hash);
    s->expires_at_ms = w->now_ms + w->p->session_ttl_s * 1000;
    rc = store_prepare(w->tx, "INSERT INTO provider_sessions (token_hash, provider, game_id,"
                              " player_id, currency, player_session_id, expires_at_ms,"
                              " created_at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", &st);
    if (rc != PB_OK)
        return PB_ERR_DB;
    const char *texts[] = {hash, s->provider, s->game_id, s->player_id, s->currency,
                           s->player_session_id};
    for (int i = 0; i < 6; i++)
        store_bind_text(st, i + 1, texts[i], strlen(texts[i]));
    store_bind_int64(st, 7, s->expires_at_ms);
    store_bind_int64(st, 8, w->now_ms);
    rc = store_step(st);
    store_finalize(st);
    if (rc != STORE_DONE)
        return PB_ERR_DB;
    char expires[PB_TIME_TEXT_MAX];
    pb_format_time_ms(s->expires_at_ms, expires);
    const char *external = strchr(s->game_id, ':');
    return succeed(w, json_pack("{s:s,s:s,s:s,s:s,s:s}", "session_token", token, "player_id",
                                s->player_id, "game_id", s->game_id, "external_game_id",
                                external ? external + 1 : s->game_id, "expires_at", expires),
                   0);
}

/* ---- the entry point ---- */

static char *canonical_request(const struct wop *w)
{
    const struct provider_op *op = w->op;
    json_t *doc = json_pack("{s:s,s:I}", "operation", provider_op_name(op->kind),
                            "amount_minor", (json_int_t)w->amount);
    json_object_set_new(doc, "round_id", op->round_id ? json_string(op->round_id) : json_null());
    json_object_set_new(doc, "reference_transaction_id",
                        op->reference_transaction_id ? json_string(op->reference_transaction_id)
                                                     : json_null());
    json_object_set_new(doc, "campaign_id",
                        op->campaign_id ? json_string(op->campaign_id) : json_null());
    char *text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
    PB_ASSERT(text != NULL);
    json_decref(doc);
    return text;
}

static int run_money_op(struct wop *w)
{
    const struct provider_op *op = w->op;
    char scope[16 + PROVIDERS_NAME_MAX];
    snprintf(scope, sizeof(scope), "provider:%s", w->p->name);
    char *request = canonical_request(w);
    enum ledger_idem_state state;
    struct ledger_idem_hit hit;
    memset(&hit, 0, sizeof(hit));
    int rc = ledger_idem_check(w->tx, scope, op->transaction_id, request, &state, &hit);
    if (rc != PB_OK) {
        free(request);
        return PB_ERR_DB;
    }
    if (state == LEDGER_IDEM_REPLAY) {
        PB_ASSERT(hit.body != NULL);
        answer_set(w->ans, hit.status, hit.body, strlen(hit.body));
        w->ans->replayed = true;
        pb_free(hit.body);
        free(request);
        return PB_OK;
    }
    if (state == LEDGER_IDEM_CONFLICT) {
        free(request);
        return refuse(w, 409, PROVIDER_E_DUPLICATE,
                      "this transaction id was used with a different request", hit.field,
                      NULL);
    }
    switch (op->kind) {
    case PROVIDER_OP_BET: rc = do_bet(w); break;
    case PROVIDER_OP_WIN: rc = do_win(w, false); break;
    case PROVIDER_OP_FREE_ROUND_WIN: rc = do_win(w, true); break;
    case PROVIDER_OP_ROLLBACK: rc = do_rollback(w); break;
    default: PB_ASSERT(!"not a money operation");
    }
    if (rc == PB_OK) {
        PB_ASSERT(w->ans->status != 0);
        rc = ledger_idem_record(w->tx, scope, op->transaction_id, request, w->ans->status,
                                w->ans->body) == PB_OK ? PB_OK : PB_ERR_DB;
    }
    free(request);
    return rc;
}

/* The session of op's token, its cash account and the amount; refusals not recorded. */
static int prepare(struct wop *w, bool *refused)
{
    const struct provider_op *op = w->op;
    *refused = true;
    int rc = session_find(w, op->token);
    if (rc == PB_ERR_NOT_FOUND)
        return refuse(w, 401, PROVIDER_E_INVALID_TOKEN, "unknown session token", "token", NULL);
    if (rc != PB_OK || open_cash(w) != PB_OK)
        return PB_ERR_DB;
    w->known = true;
    if (op->currency && strcmp(op->currency, w->ses.currency) != 0)
        return refuse(w, 400, PROVIDER_E_VALIDATION, "is not the session's currency",
                      "currency", NULL);
    w->amount = op->amount_minor;
    if (op->amount_decimal) {
        const struct ledger_currency *c = ledger_currency_find(w->ses.currency);
        PB_ASSERT(c != NULL);
        if (!op->amount_text ||
            ledger_amount_parse(op->amount_text, c, false, &w->amount) != PB_OK)
            return refuse(w, 400, PROVIDER_E_VALIDATION,
                          "must be a decimal amount with at most the currency's decimals",
                          "amount", NULL);
    }
    if (op->kind == PROVIDER_OP_BET && w->amount <= 0)
        return refuse(w, 400, PROVIDER_E_VALIDATION, "a bet must be above zero", "amount",
                      NULL);
    struct catalog_game g;
    rc = catalog_get(w->tx, w->ses.game_id, &g);
    if (rc == PB_OK)
        pb_strlcpy(w->game_kind, g.category, sizeof(w->game_kind));
    else if (rc != PB_ERR_NOT_FOUND)
        return PB_ERR_DB;
    *refused = false;
    return PB_OK;
}

int providers_wallet_run(struct ledger *lg, struct store *tx, struct writer_cmd *cmd,
                         const struct provider *p, const struct provider_op *op, int64_t now_ms,
                         struct provider_answer *ans)
{
    PB_ASSERT(p && op && op->token && providers_name_ok(p->name));
    struct wop w = {.lg = lg, .tx = tx, .cmd = cmd, .p = p, .op = op, .now_ms = now_ms,
                    .ans = ans};
    memset(ans, 0, sizeof(*ans));
    if (op->kind == PROVIDER_OP_AUTHENTICATE)
        return do_authenticate(&w);
    bool refused;
    int rc = prepare(&w, &refused);
    if (rc != PB_OK || refused)
        return rc;
    if (op->kind == PROVIDER_OP_BALANCE)
        return succeed(&w, NULL, 0);
    if (op->kind == PROVIDER_OP_END_ROUND)
        return do_end_round(&w);
    PB_ASSERT(op->transaction_id != NULL);
    rc = run_money_op(&w);
    PB_ASSERT(rc != PB_OK || ans->status != 0);
    return rc;
}
