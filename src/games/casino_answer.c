/* casino_answer.c: the answer of a casino money command (casino_answer.h). */
#include "games/casino_answer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "ledger/ledger.h"
#include "ledger/ledger_http.h"
#include "pam/kyc.h"

_Static_assert(CASINO_ANSWER_FIELD_MAX == sizeof(((struct ledger_idem_hit *)0)->field),
               "a conflict's field is ledger_idem_hit.field");
_Static_assert(CASINO_ANSWER_KEY_MAX == LEDGER_HTTP_IDEM_KEY_MAX, "the keys the routes take");

void casino_answer_init(struct casino_answer *a, char *buf, size_t cap)
{
    PB_ASSERT(buf != NULL && cap > 0);
    a->body = buf;
    a->cap = cap;
    a->body[0] = '\0';
}

int casino_answer_set(struct casino_answer *a, int status, const char *text, size_t len)
{
    if (len >= a->cap)
        return PB_ERR_TOO_LARGE;
    memcpy(a->body, text, len);
    a->body[len] = '\0';
    a->body_len = len;
    a->status = status;
    return PB_OK;
}

void casino_answer_response(struct casino_answer *a, struct http_response *tmp)
{
    int rc = casino_answer_set(a, tmp->status, tmp->body.data, tmp->body.len);
    PB_ASSERT(rc == PB_OK); /* problems are short */
    http_response_release(tmp);
}

void casino_answer_problem(struct casino_answer *a, int status, const char *code,
                           const char *detail, const char *field)
{
    struct http_response tmp;
    http_response_init(&tmp);
    http_problem(&tmp, status, code, http_status_title(status), detail, field);
    casino_answer_response(a, &tmp);
}

void casino_answer_refusal(struct casino_answer *a, const struct casino_refusal *f)
{
    PB_ASSERT(f->status != 0 && f->code != NULL);
    if (strcmp(f->code, "ledger") == 0) {
        struct http_response tmp;
        http_response_init(&tmp);
        ledger_http_refusal(&tmp, &f->ledger, f->field);
        casino_answer_response(a, &tmp);
        return;
    }
    casino_answer_problem(a, f->status, f->code, f->detail, f->field);
}

void casino_answer_json(struct casino_answer *a, int status, json_t *doc)
{
    PB_ASSERT(doc != NULL);
    char *text = json_dumps(doc, JSON_COMPACT);
    PB_ASSERT(text != NULL);
    json_decref(doc);
    int rc = casino_answer_set(a, status, text, strlen(text));
    PB_ASSERT(rc == PB_OK); /* the owner's answer limit bounds its documents */
    free(text);
}

/* The player's own gates: 0 with *refused (the answer set when true), or PB_ERR_DB. */
static int player_gates(struct store *tx, struct casino_answer *a, const struct pam_config *pam,
                        const char *player_id, bool *refused)
{
    unsigned blocks = 0;
    bool allowed = true;
    *refused = false;
    if (pam_player_blocks(tx, player_id, &blocks) != PB_OK)
        return PB_ERR_DB;
    if (blocks & PAM_BLOCK_BET) {
        casino_answer_problem(a, 403, "account_blocked", "betting is blocked for this account",
                              NULL);
        *refused = true;
        return PB_OK;
    }
    int rc = pam ? kyc_allows(tx, pam, player_id, KYC_ACTION_PLAY, &allowed) : PB_OK;
    if (rc != PB_OK && rc != PB_ERR_NOT_FOUND)
        return PB_ERR_DB;
    if (!allowed) {
        casino_answer_problem(a, 403, "kyc_required",
                              "this jurisdiction requires verified identity before play", NULL);
        *refused = true;
    }
    return PB_OK;
}

int casino_answer_idem(struct store *tx, struct casino_answer *a, const struct casino_idem *q,
                       int (*apply)(struct store *tx, void *arg, const char *idem), void *arg)
{
    enum ledger_idem_state state;
    struct ledger_idem_hit hit = {0};
    if (ledger_idem_check(tx, q->scope, q->key, q->request_json, &state, &hit) != PB_OK)
        return PB_ERR_DB;
    if (state == LEDGER_IDEM_REPLAY) {
        PB_ASSERT(hit.body != NULL && hit.status >= 200 && hit.status <= 599); /* ours */
        int rc = casino_answer_set(a, hit.status, hit.body, strlen(hit.body));
        pb_free(hit.body);
        a->replayed = true;
        return rc == PB_OK ? PB_OK : PB_ERR_DB;
    }
    if (state == LEDGER_IDEM_CONFLICT) {
        a->conflict = true;
        pb_strlcpy(a->conflict_field, hit.field, sizeof(a->conflict_field));
        return PB_OK;
    }
    bool refused;
    if (player_gates(tx, a, q->pam, q->player_id, &refused) != PB_OK)
        return PB_ERR_DB;
    if (!refused) {
        char idem[CASINO_ANSWER_SCOPE_MAX + CASINO_ANSWER_KEY_MAX + 2];
        int n = snprintf(idem, sizeof(idem), "%s:%s", q->scope, q->key);
        PB_ASSERT(n > 0 && (size_t)n < sizeof(idem));
        int rc = apply(tx, arg, idem);
        if (rc != PB_OK)
            return rc;
    }
    PB_ASSERT(a->status != 0 && a->body_len > 0);
    return ledger_idem_record(tx, q->scope, q->key, q->request_json, a->status, a->body);
}

void casino_answer_finish(const struct casino_answer *a, int cmd_status, struct http_response *resp)
{
    if (cmd_status != PB_OK) {
        http_problem(resp, 500, "internal_error", "Internal error", pb_err_name(cmd_status), NULL);
        return;
    }
    if (a->conflict) {
        http_problem(resp, 409, "idempotency_conflict", "Idempotency key reused",
                     "this Idempotency-Key was used with a different request",
                     a->conflict_named ? a->conflict_field : NULL);
        return;
    }
    PB_ASSERT(a->status != 0);
    pb_buf_reset(&resp->body);
    pb_buf_append(&resp->body, a->body, a->body_len);
    resp->status = a->status;
    resp->content_type = a->status >= 400 ? "application/problem+json" : "application/json";
    if (a->replayed)
        http_header_add(resp, "Idempotent-Replayed", "true");
}
