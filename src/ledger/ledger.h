/* ledger.h: the wallet's double-entry ledger, modelled on TigerBeetle's accounts and transfers.
 * DESIGN.md section 3 (money rules); design notes in ledger_int.h.
 *
 * Money is int64_t in the currency's minor unit; every sum is overflow-checked. Nothing is
 * updated or deleted but account totals; a correction is a new, compensating transfer.
 *
 * Accounts carry posted and pending debit and credit totals. A player account is
 * credit-normal with LEDGER_FLAG_NO_OVERDRAFT: its available balance, credits_posted -
 * debits_posted - debits_pending, never goes below zero. House accounts (LEDGER_FLAG_HOT) may
 * go negative and are updated once per writer batch with the batch's net delta.
 *
 * Transfers move an amount from a debit account to a credit account in one currency. Kinds:
 *   POSTED   moves the amount at once;
 *   PENDING  reserves it (pending totals) until posted, voided, or expired after its timeout;
 *   POST     posts a pending transfer in full or in part (the rest is released);
 *   VOID     releases a pending transfer (an expiry is a VOID written by the scheduler).
 * Transfers given to one ledger_apply call are linked: all are applied or none.
 * Every transfer row carries SHA-256(previous hash || its canonical bytes): a hash chain.
 *
 * Threads: everything that writes runs inside a writer command (writer thread). The read
 * functions (ledger_account_get, ledger_balances, ledger_history) take any connection. */
#ifndef PB_LEDGER_H
#define PB_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "core/writer.h"
#include "store/store.h"

#define LEDGER_CURRENCY_MAX 8     /* "USDT" etc.; codes are upper-case letters and digits */
#define LEDGER_OWNER_MAX 72       /* "player:" + a 64-character player id, "house" */
#define LEDGER_REFERENCE_MAX 128  /* "round:123", "payment:abc" */
#define LEDGER_METADATA_MAX 2048  /* JSON object text */
#define LEDGER_LINKED_MAX 16      /* transfers in one linked group */
#define LEDGER_HASH_HEX 64

/* ---- currencies ---- */

struct ledger_currency {
    const char *code;
    int exponent; /* minor units per major unit = 10^exponent */
    bool crypto;
};

/* The registry: ISO 4217 fiat currencies and configured crypto scales (BTC 8, ETH 9, ...).
 * Returns NULL for an unknown code. */
const struct ledger_currency *ledger_currency_find(const char *code);
/* Parses a decimal amount ("12.34", no exponent, no sign unless allow_negative) into minor
 * units of c, exactly; more decimals than c's exponent or overflow: PB_ERR_INVALID. */
int ledger_amount_parse(const char *text, const struct ledger_currency *c, bool allow_negative,
                        int64_t *out);
/* Formats minor units as a decimal string with c's exponent ("-0.05"). */
void ledger_amount_format(int64_t minor, const struct ledger_currency *c, char *out,
                          size_t outlen);
/* Overflow-checked arithmetic: 0 or PB_ERR_INVALID. */
int ledger_add(int64_t a, int64_t b, int64_t *out);
int ledger_sub(int64_t a, int64_t b, int64_t *out);

/* ---- codes ---- */

enum ledger_account_code {
    LEDGER_ACC_PLAYER_CASH = 1,
    LEDGER_ACC_PLAYER_BONUS = 2,
    LEDGER_ACC_PLAYER_LOCKED = 3,
    LEDGER_ACC_HOUSE_CASINO = 10,
    LEDGER_ACC_HOUSE_SPORTSBOOK = 11,
    LEDGER_ACC_PROVIDER_CLEARING = 12,
    LEDGER_ACC_PSP_CLEARING = 13,
    LEDGER_ACC_BONUS_EXPENSE = 14,
    LEDGER_ACC_COMMISSION_PAYABLE = 15,
    LEDGER_ACC_ADJUSTMENTS = 16,
};

enum ledger_transfer_code {
    LEDGER_TX_BET = 1,
    LEDGER_TX_WIN = 2,
    LEDGER_TX_REFUND = 3,
    LEDGER_TX_DEPOSIT = 4,
    LEDGER_TX_WITHDRAWAL = 5,
    LEDGER_TX_BONUS_GRANT = 6,
    LEDGER_TX_BONUS_CONVERSION = 7,
    LEDGER_TX_COMMISSION = 8,
    LEDGER_TX_ADJUSTMENT = 9,
    LEDGER_TX_HOLD = 10,
    LEDGER_TX_TRANSFER = 11,
};

/* Names used in the API and reports ("player_cash", "bet"); NULL / PB_ERR_INVALID if unknown. */
const char *ledger_account_code_name(int code);
int ledger_account_code_parse(const char *name, int *out);
const char *ledger_transfer_code_name(int code);
int ledger_transfer_code_parse(const char *name, int *out);

/* ---- accounts ---- */

#define LEDGER_FLAG_NO_OVERDRAFT 1u /* available (credits - debits - pending debits) >= 0 */
#define LEDGER_FLAG_HOT 2u          /* totals updated once per batch with the net delta */

struct ledger_account {
    int64_t id;
    char currency[LEDGER_CURRENCY_MAX + 1];
    int code;
    char owner[LEDGER_OWNER_MAX + 1];
    uint32_t flags;
    int64_t debits_posted, credits_posted;
    int64_t debits_pending, credits_pending;
};

/* credits_posted - debits_posted (what the account holds once pending ones settle either way
 * is between this and ledger_available). */
int64_t ledger_posted_balance(const struct ledger_account *a);
/* credits_posted - debits_posted - debits_pending: what may still be debited. */
int64_t ledger_available(const struct ledger_account *a);

/* ---- the module ---- */

struct ledger;

extern const struct store_migration ledger_migrations[];
extern const size_t ledger_migrations_count;

struct ledger *ledger_new(void);
void ledger_free(struct ledger *lg);
/* Joins the writer (chain head, id counters, hot-account deltas follow its savepoints and
 * batches): put it in writer_config.participants. */
struct writer_participant ledger_participant(struct ledger *lg);

/* ---- writing (inside a writer command) ---- */

/* Opens the account (owner, code, currency) or returns the existing one's id. Player codes
 * get LEDGER_FLAG_NO_OVERDRAFT, house codes LEDGER_FLAG_HOT. Returns 0, PB_ERR_INVALID (bad
 * owner, code or currency) or PB_ERR_DB. */
int ledger_open_account(struct ledger *lg, struct store *tx, const char *owner, int code,
                        const char *currency, int64_t *id_out);
/* Opens a player's cash, bonus and locked accounts in currency (owner "player:ID");
 * ids_out[0..2] in that order. */
int ledger_open_player_accounts(struct ledger *lg, struct store *tx, const char *player_id,
                                const char *currency, int64_t ids_out[3]);

enum ledger_kind { LEDGER_POSTED = 0, LEDGER_PENDING = 1, LEDGER_POST = 2, LEDGER_VOID = 3 };

/* What a transfer is for, as the debit-path guard needs it (stake caps and game-cycle
 * rules depend on the product and the kind of game). Borrowed for the ledger_apply call. */
struct ledger_context {
    const char *product;    /* "casino", "provider", "sports", "live", "payments"; NULL */
    const char *game_kind;  /* "slot", "table", "dice", "crash", ...; NULL when no game */
    const char *game_id;    /* the game's catalog id; NULL */
    bool autoplay;          /* the client asked for an automatic spin */
    bool turbo;             /* the client asked for a shortened game cycle */
};

struct ledger_transfer {
    enum ledger_kind kind;
    int64_t debit_account;  /* POSTED, PENDING; for POST/VOID 0 (taken from the pending one) */
    int64_t credit_account;
    int64_t amount;         /* > 0; for POST 0 means the full pending amount; VOID: 0 */
    int code;               /* enum ledger_transfer_code */
    int64_t pending_id;     /* POST, VOID: the pending transfer */
    int64_t timeout_ms;     /* PENDING: > 0, it expires this long after its timestamp */
    const char *reference;  /* the business object, 1..LEDGER_REFERENCE_MAX bytes */
    const char *metadata;   /* a JSON object as text, or NULL for {} */
    const struct ledger_context *context; /* for the guard; NULL: none */
};

/* Why a linked group was refused: a rule, not a fault. Stable names by ledger_error_name. */
enum ledger_error {
    LEDGER_OK = 0,
    LEDGER_E_INVALID,             /* a field breaks a static rule (amount <= 0, same account) */
    LEDGER_E_ACCOUNT_NOT_FOUND,
    LEDGER_E_CURRENCY_MISMATCH,   /* the two accounts hold different currencies */
    LEDGER_E_INSUFFICIENT_FUNDS,
    LEDGER_E_OVERFLOW,            /* a total would pass INT64_MAX */
    LEDGER_E_PENDING_NOT_FOUND,
    LEDGER_E_PENDING_RESOLVED,    /* already posted, voided or expired */
    LEDGER_E_PENDING_EXPIRED,     /* its timeout has passed (the scheduler voids it) */
    LEDGER_E_POST_EXCEEDS_PENDING,
    LEDGER_E_REFUSED,             /* the debit-path guard refused it: see outcome.refusal */
};
const char *ledger_error_name(enum ledger_error e); /* "insufficient_funds", ... */

struct ledger_applied {
    int64_t id;
    int64_t timestamp_ns; /* assigned by the writer; strictly increasing */
    int64_t amount;       /* for POST: the amount posted */
    int64_t debit_account, credit_account;
    char hash[LEDGER_HASH_HEX + 1];
};

#define LEDGER_REFUSAL_CODE_MAX 40
#define LEDGER_REFUSAL_DETAIL_MAX 160
#define LEDGER_REFUSAL_MEMBERS_MAX 512

/* The guard's reason: a stable problem code ("limit_exceeded", "self_excluded",
 * "stake_cap_exceeded", "game_cycle_too_fast", ...), a sentence for people, and extension
 * members for the problem document as JSON object members without braces
 * ("\"limit\":\"loss\",\"remaining_minor\":500"), possibly empty. */
struct ledger_refusal {
    int status; /* the HTTP status to answer with (403 exclusions, 422 limits, 429 pace) */
    char code[LEDGER_REFUSAL_CODE_MAX];
    char detail[LEDGER_REFUSAL_DETAIL_MAX];
    char members[LEDGER_REFUSAL_MEMBERS_MAX];
};

struct ledger_outcome {
    enum ledger_error error;
    struct ledger_refusal refusal; /* error == LEDGER_E_REFUSED */
    int failed_index;     /* which transfer broke the rule (-1 when none) */
    size_t n;
    struct ledger_applied applied[LEDGER_LINKED_MAX];
    /* When applied: the non-house (non-hot) accounts the group touched, in the order first
     * touched, with their totals after it (what the "ledger.transfers" event lists), so the
     * caller needs no read to answer with balances. Last: ledger_apply fills only nbalances
     * entries. */
    size_t nbalances;
    struct ledger_account balances[2 * LEDGER_LINKED_MAX];
};

/* Applies n (1..LEDGER_LINKED_MAX) linked transfers: all of them or, when a rule refuses
 * one, none. The group runs in its own savepoint, so the calling command may go on (e.g. to
 * record the refusal for idempotency). idem ("scope:key", or NULL) is stored on every row of
 * the group, so verification can prove one effect per key. cmd, when not NULL, gets a
 * "ledger.transfers" event with the transfers and the new balances of the non-hot accounts
 * they touched (subject: the owner of the first non-hot account).
 * Returns 0 with out->error LEDGER_OK (applied) or another ledger_error (refused, nothing
 * changed), or PB_ERR_DB (the command must fail). */
int ledger_apply(struct ledger *lg, struct store *tx, struct writer_cmd *cmd,
                 const char *idem, const struct ledger_transfer *t, size_t n,
                 struct ledger_outcome *out);

/* ---- the debit-path guard ----
 * One set of functions, registered once (src/rg registers the responsible-gaming and
 * jurisdiction checks), that sees every linked group touching a non-house account inside
 * ledger_apply, after its transfers are applied and before the group's savepoint is
 * released. So no product can move a player's money without it, and its own writes (usage
 * records, events) commit or roll back with the group. check returns 0 to let the group
 * stand, LEDGER_E_REFUSED (after filling *refusal) to undo it, or PB_ERR_DB. When check
 * refused, refused (optional) is called after the group was rolled back, so the refusal
 * itself can be recorded (an event) in the calling command. Both run on the writer thread. */
struct ledger_guard_item {
    const struct ledger_transfer *transfer;
    enum ledger_kind kind;
    int code;               /* the transfer code (a resolution's pending transfer's code) */
    int64_t amount;         /* the amount moved (POSTED, POST), reserved (PENDING) or 0 */
    int64_t released;       /* POST, VOID: the part of the pending amount given back */
    int64_t ts_ns;          /* the transfer's timestamp */
    const char *currency;
    const char *debit_owner, *credit_owner; /* "player:ID", "house", ... */
    int debit_code, credit_code;            /* the accounts' codes */
};
struct ledger_guard {
    int (*check)(void *arg, struct store *tx, struct writer_cmd *cmd,
                 const struct ledger_guard_item *items, size_t n,
                 struct ledger_refusal *refusal);
    int (*refused)(void *arg, struct store *tx, struct writer_cmd *cmd,
                   const struct ledger_guard_item *items, size_t n,
                   const struct ledger_refusal *refusal);
    void *arg;
};
/* Registers the guard (copied), or removes it (NULL); while no command runs. */
void ledger_set_guard(struct ledger *lg, const struct ledger_guard *guard);

/* Voids up to max pending transfers whose timeout passed at now_ns (scheduler command).
 * *voided gets how many. */
int ledger_expire(struct ledger *lg, struct store *tx, struct writer_cmd *cmd, int64_t now_ns,
                  int max, int *voided);

/* ---- idempotency (inside a writer command) ---- */

/* A request is identified by (scope, key) — scope names the API ("http:adjustments",
 * "provider:acme") — and described by request_json, its decoded fields as canonical JSON
 * (an object; compared field by field). */
enum ledger_idem_state { LEDGER_IDEM_NEW = 0, LEDGER_IDEM_REPLAY = 1, LEDGER_IDEM_CONFLICT = 2 };

struct ledger_idem_hit {
    int status;      /* REPLAY: the recorded status (an HTTP status for HTTP scopes) */
    char *body;      /* REPLAY: the recorded body (pb_malloc'ed; caller frees) */
    char field[64];  /* CONFLICT: the first field that differs */
};

/* Looks the key up. Returns 0 with *state set, or PB_ERR_DB. */
int ledger_idem_check(struct store *tx, const char *scope, const char *key,
                      const char *request_json, enum ledger_idem_state *state,
                      struct ledger_idem_hit *hit);
/* Records the result of the first attempt: success, or a refusal that depends on state (it
 * stays refused on every retry with the same key: see docs/ledger.md). */
int ledger_idem_record(struct store *tx, const char *scope, const char *key,
                       const char *request_json, int status, const char *body);

/* ---- reading (any connection) ---- */

/* Returns 0, PB_ERR_NOT_FOUND or PB_ERR_DB. */
int ledger_account_get(struct store *s, int64_t id, struct ledger_account *out);
/* The accounts of owner (all currencies and codes), up to max; *n gets how many. */
int ledger_balances(struct store *s, const char *owner, struct ledger_account *out, size_t max,
                    size_t *n);

struct ledger_history_filter {
    const char *owner;     /* required */
    const char *currency;  /* NULL: any */
    int code;              /* transfer code, 0: any */
    int64_t from_ns, to_ns; /* 0: open */
    int64_t before_id;     /* cursor: only transfers with id < before_id; 0: from the newest */
    int limit;             /* 1..LEDGER_HISTORY_PAGE_MAX */
};
#define LEDGER_HISTORY_PAGE_MAX 200

struct ledger_history_row {
    int64_t id, timestamp_ns;
    enum ledger_kind kind;
    int64_t debit_account, credit_account, amount, pending_id;
    char currency[LEDGER_CURRENCY_MAX + 1];
    int code;
    char reference[LEDGER_REFERENCE_MAX + 1];
    char *metadata; /* pb_malloc'ed */
};

/* Newest first. rows gets up to f->limit rows (caller frees each metadata);
 * *n how many; *next_before_id the cursor for the next page (0 when this was the last).
 * Walks the owner's accounts' transfer chains (ledger_int.h): the cost is the page plus the
 * transfers above the cursor. PB_ERR_INVALID for an owner with hot (house) accounts, which
 * have no chain; PB_ERR_DB for a read error or a broken chain. */
int ledger_history(struct store *s, const struct ledger_history_filter *f,
                   struct ledger_history_row *rows, size_t *n, int64_t *next_before_id);

/* ---- verification ---- */

/* Checks the whole ledger: the hash chain, debits equal credits per currency, no
 * no-overdraft account below zero, every account's totals equal the replay of its transfers,
 * every pending transfer resolved at most once, one effect per idempotency key. Appends a
 * precise report to out (one line per finding, then a verdict line). Returns 0 when all
 * holds, PB_ERR_CONFLICT
 * when anything is off, PB_ERR_DB when it could not read. */
int ledger_verify(struct store *s, struct pb_buf *out);

#endif
