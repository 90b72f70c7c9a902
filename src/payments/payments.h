/* payments.h: deposits through payment service providers (PSPs), withdrawals with review,
 * crypto deposits with confirmation tracking, and reconciliation against PSP statements.
 * DESIGN.md sections 3 and 4 (module payments); the operators' view: docs/payments.md.
 *
 * Money moves only through ledger_apply, each step with an idempotency key
 * "payments:<object>:<id>:<step>", and each step is tied to a state transition made with a
 * conditional UPDATE in the same writer command: a step runs exactly when its transition
 * does, so nothing is credited twice however often a webhook or notification repeats.
 *
 * Deposits: initiated -> pending -> succeeded | failed | expired (also initiated -> any
 * terminal state). Starting one writes a PENDING transfer (code deposit) from the currency's
 * PSP clearing account to the player's cash account with the deposit's expiry as timeout, so
 * the debit-path guard (responsible gaming) sees and may refuse it before anything starts;
 * success POSTs it (plus the fee transfer, linked), failure and expiry VOID it.
 *
 * Withdrawals: requested -> review | approved; review -> approved | rejected; approved ->
 * processing -> completed | failed; requested, review, approved -> cancelled (by the player
 * while cancelling is enabled). The request moves the amount cash -> locked (posted, code
 * hold); completion moves it locked -> PSP clearing (code withdrawal); reject, cancel and
 * failure move it locked -> cash (code refund). The locked balance shows the money in flight.
 *
 * Crypto deposits: (chain, txid, output index) unique. Credited to cash (code deposit, from
 * the chain's clearing account) at PAYMENTS_CONFIRMATIONS_PLAY confirmations; withdrawable at
 * PAYMENTS_CONFIRMATIONS_WITHDRAW: until then the amount is held back from withdrawals (the
 * withdrawable amount is cash available minus credited-but-unsettled crypto). A report that
 * drops or changes a credited transaction reverses the credit (code adjustment) or, when the
 * funds were played, blocks the player's withdrawals (pam block "withdraw") and marks it held.
 *
 * Threads: functions that take tx run inside a writer command; functions that take s read
 * from any connection. Strings passed in are borrowed; output structs are caller-owned. */
#ifndef PB_PAYMENTS_H
#define PB_PAYMENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/json.h"
#include "core/writer.h"
#include "ledger/ledger.h"
#include "pam/pam.h"
#include "store/store.h"

#define PAYMENTS_ID_SIZE 29              /* "dep_" / "wdr_" + 24 hex characters + NUL */
#define PAYMENTS_METHOD_MAX 32
#define PAYMENTS_PSP_NAME_MAX 32
#define PAYMENTS_REFERENCE_MAX 64        /* a PSP's reference for a payment */
#define PAYMENTS_EVENT_ID_MAX 128        /* a PSP's webhook event id */
#define PAYMENTS_SCENARIO_MAX 16
#define PAYMENTS_REASON_MAX 500          /* a reviewer's reason (== AUDIT_REASON_MAX) */
#define PAYMENTS_REASONS_MAX 256         /* review rule names that fired, comma-separated */
#define PAYMENTS_URL_MAX 512
#define PAYMENTS_SIGNATURE_HEADER_MAX 256
#define PAYMENTS_WEBHOOK_WINDOW_S 300    /* a signed webhook older or newer than this: refused */
#define PAYMENTS_LIST_MAX 100            /* rows per review-queue page */
#define PAYMENTS_CHAIN_MAX 16            /* "bitcoin", "ethereum", "tron" */
#define PAYMENTS_ADDRESS_MAX 128
#define PAYMENTS_TXID_MAX 128
#define PAYMENTS_ADDRESS_IMPORT_MAX 1000 /* addresses per import request: one body <= 64 KiB */
#define PAYMENTS_WAGERING_PAGES_MAX 50   /* history pages read for the wagering rule (10000
                                          * bets); beyond that the rule counts as met */
#define PAYMENTS_RECONCILE_ROWS_MAX 100000 /* statement rows per reconciliation run */

/* ---- methods (payments.c): static, documented in docs/payments.md ---- */

enum payments_fee_bearer { PAYMENTS_FEE_PLAYER = 1, PAYMENTS_FEE_OPERATOR = 2 };

struct payments_method {
    const char *name;       /* "card", "bank_transfer" */
    const char *psp;        /* the adapter that serves it: "sandbox" */
    int64_t min_minor, max_minor;     /* per deposit / withdrawal, in the currency's minor unit */
    int64_t fee_fixed_minor;          /* deposit fee: fixed part */
    int64_t fee_basis_points;         /* deposit fee: proportional part (1/10000) */
    enum payments_fee_bearer fee_bearer;
};
const struct payments_method *payments_method_find(const char *name);
const struct payments_method *payments_method_at(size_t i); /* NULL past the end */
/* The deposit fee of m for amount: fixed + amount * bp / 10000 rounded down (in the payer's
 * favour). PB_ERR_INVALID on overflow. */
int payments_fee(const struct payments_method *m, int64_t amount_minor, int64_t *fee_minor);

/* ---- state machines ---- */

enum payments_deposit_state {
    PAYMENTS_DEP_INITIATED = 1,
    PAYMENTS_DEP_PENDING,
    PAYMENTS_DEP_SUCCEEDED,
    PAYMENTS_DEP_FAILED,
    PAYMENTS_DEP_EXPIRED,
};
enum payments_withdrawal_state {
    PAYMENTS_WDR_REQUESTED = 1,
    PAYMENTS_WDR_REVIEW,
    PAYMENTS_WDR_APPROVED,
    PAYMENTS_WDR_PROCESSING,
    PAYMENTS_WDR_COMPLETED,
    PAYMENTS_WDR_FAILED,
    PAYMENTS_WDR_REJECTED,
    PAYMENTS_WDR_CANCELLED,
};
const char *payments_deposit_state_name(enum payments_deposit_state s);
int payments_deposit_state_parse(const char *name, enum payments_deposit_state *out);
const char *payments_withdrawal_state_name(enum payments_withdrawal_state s);
int payments_withdrawal_state_parse(const char *name, enum payments_withdrawal_state *out);
/* The rule books: true when from -> to is legal. Never backwards; terminal states stay. */
bool payments_deposit_transition_ok(enum payments_deposit_state from,
                                    enum payments_deposit_state to);
bool payments_withdrawal_transition_ok(enum payments_withdrawal_state from,
                                       enum payments_withdrawal_state to);

/* ---- settings (from src/base/config.h's payments section) ---- */

struct payments_settings {
    int64_t deposit_expiry_s;          /* a deposit not settled by then expires */
    int64_t review_threshold_minor;    /* withdrawals at or above this go to review */
    int64_t wagering_percent;          /* bets since the last deposit below this % of it:
                                        * review */
    bool player_cancel;                /* players may cancel until processing starts */
    int64_t confirmations_play;        /* N1: credited for play */
    int64_t confirmations_withdraw;    /* N2: withdrawable */
};
void payments_settings_defaults(struct payments_settings *s);

/* ---- refusals decided inside writer commands ---- */

struct payments_refusal {
    int status;             /* 0: none */
    const char *code;       /* static */
    const char *detail;     /* static */
    const char *field;      /* static or NULL */
    struct ledger_outcome ledger; /* code == NULL && status != 0: a ledger refusal */
};

/* ---- deposits (deposits.c) ---- */

struct payments_deposit {
    char id[PAYMENTS_ID_SIZE];
    char player_id[PAM_PLAYER_ID_SIZE];
    char method[PAYMENTS_METHOD_MAX + 1];
    char psp[PAYMENTS_PSP_NAME_MAX + 1];
    char reference[PAYMENTS_REFERENCE_MAX + 1]; /* ours, sent to the PSP; unique */
    char currency[LEDGER_CURRENCY_MAX + 1];
    int64_t amount_minor, fee_minor;
    enum payments_fee_bearer fee_bearer;
    enum payments_deposit_state state;
    char scenario[PAYMENTS_SCENARIO_MAX + 1]; /* sandbox only; "" */
    int64_t pending_transfer_id;
    int64_t created_at_ms, updated_at_ms, expires_at_ms;
};

/* Starts deposit d (id, player_id, method, psp, reference, currency, amount_minor, scenario,
 * created_at_ms, expires_at_ms filled; fee and state are set here): checks the player's
 * deposit block and kyc_allows(KYC_ACTION_DEPOSIT) under cfg, opens the accounts, writes the
 * PENDING transfer (guarded) and the row in state initiated. Returns 0 (r->status 0: started;
 * otherwise refused and nothing written), or PB_ERR_DB. */
int payments_deposit_start(struct ledger *lg, struct store *tx, struct writer_cmd *cmd,
                           const struct pam_config *cfg, struct payments_deposit *d,
                           struct payments_refusal *r);
/* Moves the deposit with reference to state to (pending, succeeded, failed, expired) at
 * now_ms, doing its ledger step (POST with the fee, or VOID). amount_minor and currency, when
 * amount_minor > 0, must match the deposit. *changed false when the deposit already was in a
 * state from which the move is not legal (a repeat or a late, out-of-order report): nothing
 * happens. Returns 0, PB_ERR_NOT_FOUND (no such reference), PB_ERR_CONFLICT (amount or
 * currency differ: nothing happens), or PB_ERR_DB. d (may be NULL) gets the row after. */
int payments_deposit_settle(struct ledger *lg, struct store *tx, struct writer_cmd *cmd,
                            const char *reference, enum payments_deposit_state to,
                            int64_t amount_minor, const char *currency, int64_t now_ms,
                            bool *changed, struct payments_deposit *d);
/* Expires up to max deposits past their expiry at now_ms; *n gets how many. */
int payments_deposits_expire(struct ledger *lg, struct store *tx, struct writer_cmd *cmd,
                             int64_t now_ms, int max, int *n);
int payments_deposit_get(struct store *s, const char *id, struct payments_deposit *out);
int payments_deposit_by_reference(struct store *s, const char *reference,
                                  struct payments_deposit *out);

/* ---- withdrawals (withdrawals.c) ---- */

struct payments_withdrawal {
    char id[PAYMENTS_ID_SIZE];
    char player_id[PAM_PLAYER_ID_SIZE];
    char method[PAYMENTS_METHOD_MAX + 1];
    char psp[PAYMENTS_PSP_NAME_MAX + 1];
    char reference[PAYMENTS_REFERENCE_MAX + 1];
    char currency[LEDGER_CURRENCY_MAX + 1];
    char destination[PAYMENTS_ADDRESS_MAX + 1]; /* crypto: the address; "" otherwise */
    int64_t amount_minor;
    enum payments_withdrawal_state state;
    char review_reasons[PAYMENTS_REASONS_MAX + 1];
    char reviewer[64];
    char reason[PAYMENTS_REASON_MAX + 1];
    char batch[PAYMENTS_TXID_MAX + 1];          /* crypto: the batch transaction; "" */
    int64_t created_at_ms, updated_at_ms;
};

/* The amount of currency the player may withdraw now: cash available minus crypto credits
 * that have not reached confirmations_withdraw. */
int payments_withdrawable(struct store *s, const char *player_id, const char *currency,
                          int64_t *out);
/* Requests withdrawal w (id, player_id, method, psp, reference, currency, amount_minor,
 * destination, created_at_ms filled): checks blocks, KYC, withdrawable funds, moves the
 * amount cash -> locked and runs the review rules: state review (w->review_reasons names the
 * rules) or approved. Returns 0 (r->status 0) / 0 with a refusal / PB_ERR_DB. */
int payments_withdrawal_request(struct ledger *lg, struct store *tx, struct writer_cmd *cmd,
                                const struct pam_config *cfg,
                                const struct payments_settings *set,
                                struct payments_withdrawal *w, struct payments_refusal *r);
/* Moves withdrawal id to `to` with actor and reason, doing its ledger step: approved (from
 * review), rejected / cancelled / failed (refund locked -> cash), processing (from approved;
 * batch may be NULL), completed (locked -> PSP clearing). Returns 0 (r->status 0 and w
 * updated, or a refusal: 404 unknown, 409 withdrawal_state_illegal), or PB_ERR_DB. */
int payments_withdrawal_move(struct ledger *lg, struct store *tx, struct writer_cmd *cmd,
                             const char *id, enum payments_withdrawal_state to,
                             const char *actor, const char *reason, const char *batch,
                             int64_t now_ms, struct payments_withdrawal *w,
                             struct payments_refusal *r);
int payments_withdrawal_get(struct store *s, const char *id, struct payments_withdrawal *out);
int payments_withdrawal_by_reference(struct store *s, const char *reference,
                                     struct payments_withdrawal *out);
/* Up to max withdrawals in state, oldest first. */
int payments_withdrawals_list(struct store *s, enum payments_withdrawal_state state,
                              const char *method_or_null, struct payments_withdrawal *out,
                              size_t max, size_t *n);

/* ---- webhook events ---- */

/* Records (psp, event_id); *seen true when it already was (a repeat: change nothing). */
int payments_webhook_record(struct store *tx, const char *psp, const char *event_id,
                            int64_t now_ms, bool *seen);

/* ---- PSP adapters ---- */

enum payments_event_type {
    PAYMENTS_EV_DEPOSIT_PENDING = 1,
    PAYMENTS_EV_DEPOSIT_SUCCEEDED,
    PAYMENTS_EV_DEPOSIT_FAILED,
    PAYMENTS_EV_PAYOUT_SUCCEEDED,
    PAYMENTS_EV_PAYOUT_FAILED,
};
const char *payments_event_type_name(enum payments_event_type t);

/* What a verified webhook says. */
struct payments_event {
    char event_id[PAYMENTS_EVENT_ID_MAX + 1];
    enum payments_event_type type;
    char reference[PAYMENTS_REFERENCE_MAX + 1];
    int64_t amount_minor;
    char currency[LEDGER_CURRENCY_MAX + 1];
};

/* A PSP. start_deposit and payout may block on the network: call them on HTTP or payments
 * worker threads, never on the writer.
 *   checkout_url:     the hosted-checkout URL for a deposit (pure; no I/O);
 *   start_deposit:    tells the PSP about deposit d: 0 or PB_ERR_IO;
 *   payout:           sends withdrawal w to the PSP (w->reference is its idempotency key):
 *                     0 (accepted; the result comes by webhook) or PB_ERR_IO;
 *   verify_signature: the webhook's signature header over the raw body at now_s: 0,
 *                     PB_ERR_INVALID (malformed or wrong), PB_ERR_TIMEOUT (outside window);
 *   parse_webhook:    a verified body into *out: 0 or PB_ERR_INVALID with err. */
struct payments_psp {
    const char *name;
    void (*checkout_url)(const struct payments_deposit *d, char *out, size_t outlen);
    int (*start_deposit)(const struct payments_deposit *d);
    int (*payout)(const struct payments_withdrawal *w);
    int (*verify_signature)(const char *secret, const char *header, const char *body,
                            size_t len, int64_t now_s);
    int (*parse_webhook)(const char *body, size_t len, struct payments_event *out,
                         struct pb_json_error *err);
};
const struct payments_psp *payments_psp_find(const char *name);

/* The HMAC scheme of the sandbox: "t=<unix s>,v1=<hex HMAC-SHA256(secret, "t.body")>". */
void payments_sign(const char *secret, int64_t t_s, const char *body, size_t len,
                   char out[PAYMENTS_SIGNATURE_HEADER_MAX]);
int payments_verify_signature(const char *secret, const char *header, const char *body,
                              size_t len, int64_t now_s);
/* The sandbox webhook decoder (also the fuzz target). */
int payments_sandbox_parse(const char *body, size_t len, struct payments_event *out,
                           struct pb_json_error *err);

/* ---- the sandbox PSP (psp_sandbox.c) ----
 * An in-process simulated PSP: it keeps its own books (the statement), and a thread delivers
 * signed webhooks to pitboss's own webhook endpoint over HTTP (libcurl), retrying with
 * backoff until a 2xx answer. Deposit scenarios ("scenario" in sandbox mode, or magic
 * amounts: minor part .13 fail, .14 expire, .15 duplicate, .16 out_of_order):
 *   succeed       deposit.pending, then deposit.succeeded;
 *   fail          deposit.failed;
 *   expire        nothing (the deposit expires);
 *   duplicate     deposit.succeeded delivered twice (two event ids) and once repeated;
 *   out_of_order  deposit.succeeded first, deposit.pending after it.
 * Payouts succeed, except amounts whose minor part is .13 (payout.failed). */
struct payments_sandbox_config {
    char callback_url[PAYMENTS_URL_MAX]; /* ".../api/v1/payments/webhooks/sandbox" */
    char secret[129];
    int delay_ms;                        /* before the first delivery */
};
/* Starts the sandbox thread (once per process); payments_sandbox_stop joins it. */
int payments_sandbox_start(const struct payments_sandbox_config *cfg);
void payments_sandbox_stop(void);
/* The sandbox's statement as JSON: {"psp":"sandbox","rows":[{reference, kind, amount_minor,
 * currency, status, fee_minor}]}. */
void payments_sandbox_statement(struct pb_buf *out);
/* The scenario a deposit of amount (or the named scenario) gets: "" -> by amount. */
const char *payments_sandbox_scenario(const char *named, int64_t amount_minor);
bool payments_sandbox_scenario_ok(const char *name);

/* ---- crypto (crypto.c) ---- */

enum payments_crypto_state {
    PAYMENTS_CRYPTO_SEEN = 1,     /* below N1: nothing credited */
    PAYMENTS_CRYPTO_CREDITED,     /* N1 reached: in cash, held back from withdrawals */
    PAYMENTS_CRYPTO_SETTLED,      /* N2 reached: withdrawable */
    PAYMENTS_CRYPTO_REVERSED,     /* dropped by a reorganisation; credit reversed */
    PAYMENTS_CRYPTO_HELD,         /* dropped after the funds were played: withdrawals blocked */
    PAYMENTS_CRYPTO_DROPPED,      /* dropped before N1: nothing was credited */
};
const char *payments_crypto_state_name(enum payments_crypto_state s);

/* Assigns an address of (chain, asset) to the player from the imported pool, or returns the
 * one already assigned. Returns 0, PB_ERR_NOT_FOUND (the pool is empty), or PB_ERR_DB. */
int payments_crypto_address(struct store *tx, const char *player_id, const char *chain,
                            const char *asset, char out[PAYMENTS_ADDRESS_MAX + 1],
                            int64_t now_ms);
/* Imports addresses into the pool; *added gets how many were new. */
int payments_crypto_import(struct store *tx, const char *chain, const char *asset,
                           const char *const *addresses, size_t n, int64_t now_ms, int *added);

/* A chain watcher's report on one output: (chain, txid, vout) paying amount_minor of asset to
 * address with confirmations (>= 0), or dropped (not in the best chain any more). */
struct payments_chain_report {
    const char *chain, *asset, *txid, *address;
    int64_t vout, amount_minor, confirmations;
    bool dropped;
};
struct payments_crypto_result {
    enum payments_crypto_state state;
    bool changed;          /* false: a repeat, nothing happened */
    bool unknown_address;  /* the address is not assigned to anyone: ignored, logged */
    char player_id[PAM_PLAYER_ID_SIZE];
};
/* Applies a report: first sight inserts the output; N1 credits (idem "payments:crypto:
 * chain:txid:vout:credit"); N2 settles; dropped or a changed amount reverses or holds.
 * Returns 0 or PB_ERR_DB. */
int payments_crypto_report(struct ledger *lg, struct store *tx, struct writer_cmd *cmd,
                           const struct payments_settings *set,
                           const struct payments_chain_report *rep, int64_t now_ms,
                           struct payments_crypto_result *out);

/* ---- reconciliation (reconcile.c) ---- */

/* Compares a PSP statement (the sandbox's JSON, or CSV with header
 * "reference,kind,amount_minor,currency,status") with the payments of psp in s. Appends one
 * line per mismatch ("missing_in_ledger", "missing_at_psp", "amount_differs",
 * "status_differs") and a summary line to out. *mismatches gets how many. Returns 0,
 * PB_ERR_INVALID (the statement cannot be read: out says why), or PB_ERR_DB. */
int payments_reconcile(struct store *s, const char *psp, const char *statement, size_t len,
                       struct pb_buf *out, int *mismatches);
/* `pitboss payments reconcile --psp NAME --statement FILE`: exit status 0 (no mismatch),
 * 1 (mismatches or a database error), 2 (bad arguments or statement). */
int payments_cli(const char *db_url, int argc, char **argv);

/* ---- schema ---- */

extern const struct store_migration payments_migrations[];
extern const size_t payments_migrations_count;

#endif
