/* casino_answer.h: the answer of a casino writer command that moves money, shared by the
 * play route (casino_http.c) and the table games' routes (blackjack_http.c, baccarat_http.c,
 * crash_http.c).
 *
 * A command answers into a fixed buffer (inside its own allocation, so the server's pb_free
 * of the command frees it): a status and a JSON or problem+json body. An idempotent command
 * runs through casino_answer_idem: ledger_idem_check (scope, key, canonical request) ->
 * REPLAY (the recorded answer, answered with Idempotent-Replayed: true), CONFLICT (409
 * idempotency_conflict, not recorded) or NEW -> apply -> ledger_idem_record of the answer
 * (success and refusals alike, so a retry gets the same answer). The finish function on the
 * HTTP thread turns the answer into the response (casino_answer_finish).
 *
 * Threads: everything but casino_answer_finish on the writer thread, inside the command. */
#ifndef PB_CASINO_ANSWER_H
#define PB_CASINO_ANSWER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "games/casino.h"
#include "games/rounds.h"
#include "http/http.h"
#include "pam/pam.h"
#include "store/store.h"

#define CASINO_ANSWER_FIELD_MAX 64 /* a conflict's field name: ledger_idem_hit.field */
#define CASINO_ANSWER_SCOPE_MAX (16 + ROUNDS_PLAYER_ID_MAX) /* "<route>:<player>" */
#define CASINO_ANSWER_KEY_MAX 128 /* an Idempotency-Key (LEDGER_HTTP_IDEM_KEY_MAX) */

struct casino_answer {
    int status;          /* 0 until answered */
    bool replayed;       /* the recorded answer of an earlier attempt */
    bool conflict;       /* the key was used with a different request: 409 */
    bool conflict_named; /* set by the owner: the 409 names the first field that differs
                          * (the play route); otherwise it names none (the table games) */
    char conflict_field[CASINO_ANSWER_FIELD_MAX];
    char *body; /* cap bytes, inside the command's allocation; NUL-terminated */
    size_t cap, body_len;
};

/* Points a at its buffer (cap bytes, cap > 0). */
void casino_answer_init(struct casino_answer *a, char *buf, size_t cap);
/* Sets the answer to status + text (len bytes). PB_ERR_TOO_LARGE when it does not fit (the
 * answer is unchanged). */
int casino_answer_set(struct casino_answer *a, int status, const char *text, size_t len);
/* Takes tmp's status and body (they must fit) and releases tmp. */
void casino_answer_response(struct casino_answer *a, struct http_response *tmp);
/* A problem (http_problem with the status's title). */
void casino_answer_problem(struct casino_answer *a, int status, const char *code,
                           const char *detail, const char *field);
/* A casino refusal (f->status != 0): code "ledger" is the refused debit as
 * ledger_http_refusal answers it, anything else a problem with f's status, code, detail
 * and field. */
void casino_answer_refusal(struct casino_answer *a, const struct casino_refusal *f);
/* status + doc as compact JSON (the reference is stolen); the document must fit. */
void casino_answer_json(struct casino_answer *a, int status, json_t *doc);

/* A player's bet under an Idempotency-Key. */
struct casino_idem {
    const char *scope;            /* "blackjack:<player>", at most CASINO_ANSWER_SCOPE_MAX */
    const char *key;              /* the Idempotency-Key, at most CASINO_ANSWER_KEY_MAX */
    const char *request_json;     /* the canonical request */
    const struct pam_config *pam; /* the KYC rules; NULL: none */
    const char *player_id;
};

/* Runs a bet once per (scope, key) as the header describes: a NEW request passes the
 * player's own gates first, the bet block (403 account_blocked) and, when pam is not NULL,
 * the jurisdiction's KYC rule (403 kyc_required); then apply(tx, arg, idem) with idem
 * "scope:key" (the ledger's idempotency for its money movements), which must set the answer
 * when it returns 0. Returns 0 (an answer, a replay or a conflict is set), PB_ERR_DB, or
 * apply's error (the command fails and nothing is recorded). */
int casino_answer_idem(struct store *tx, struct casino_answer *a, const struct casino_idem *q,
                       int (*apply)(struct store *tx, void *arg, const char *idem), void *arg);

/* The response of a finished command (HTTP thread): 500 internal_error when the command
 * failed (cmd_status != 0), 409 idempotency_conflict, else the answer (problem+json from
 * 400 on), with Idempotent-Replayed: true when it was replayed. */
void casino_answer_finish(const struct casino_answer *a, int cmd_status,
                          struct http_response *resp);

#endif
