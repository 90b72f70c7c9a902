/* kyc.h: know-your-customer state of players (DESIGN.md sections 1 and 4, module pam): the
 * per-player state machine with tiers, its history, identity documents, jurisdiction gates for
 * deposit, withdrawal and play, and the adapter interface for external KYC providers with the
 * built-in "sandbox" provider. The API and the decisions behind it: docs/kyc.md.
 *
 * States: none -> pending (a document is submitted) -> verified (tier 1 or 2) | rejected;
 * rejected -> pending on a new submission; verified -> verified at a higher tier (upgrade).
 * Every change goes through kyc_transition, which checks it with kyc_transition_check and
 * writes a kyc_events row (from, to, tiers, actor, reason, time).
 *
 * Storage functions take a connection: those that write must run inside a writer command
 * (tx), those that read take any connection. Times are milliseconds since the Unix epoch,
 * passed in by the caller. Strings passed in are borrowed; output structs are caller-owned. */
#ifndef PB_PAM_KYC_H
#define PB_PAM_KYC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/json.h"
#include "pam/pam.h"
#include "store/store.h"

#define KYC_TIER_MAX 2           /* 0 none, 1 basic identity, 2 enhanced / source of funds */
#define KYC_REASON_MAX 200       /* bytes of a reason given by staff or a provider */
#define KYC_ACTOR_MAX 64         /* "player", "staff", "provider:sandbox", later a staff id */
#define KYC_REFERENCE_MAX 200    /* a document's reference at the provider / upload service */
#define KYC_DOCUMENT_ID_SIZE 25  /* 24 hex characters + NUL */
#define KYC_DOCUMENTS_MAX 20     /* documents per player; bounds the GET and abuse */
#define KYC_QUEUE_PAGE_MAX 100   /* pending players listed per queue request */
#define KYC_EVENT_ID_MAX 128     /* a provider's webhook event id */
#define KYC_PROVIDER_NAME_MAX 32
#define KYC_WEBHOOK_WINDOW_S 300 /* a signed webhook older or newer than this is refused */
#define KYC_SIGNATURE_HEADER_MAX 256

enum kyc_state { KYC_NONE = 0, KYC_PENDING = 1, KYC_VERIFIED = 2, KYC_REJECTED = 3 };
enum kyc_action { KYC_ACTION_DEPOSIT = 1, KYC_ACTION_WITHDRAWAL = 2, KYC_ACTION_PLAY = 3 };
enum kyc_doc_type {
    KYC_DOC_PASSPORT = 1,
    KYC_DOC_ID_CARD,
    KYC_DOC_DRIVING_LICENCE,
    KYC_DOC_PROOF_OF_ADDRESS,
    KYC_DOC_SOURCE_OF_FUNDS,
};
enum kyc_doc_status { KYC_DOC_SUBMITTED = 1, KYC_DOC_ACCEPTED, KYC_DOC_REJECTED };

/* Names used in the API and the tables ("pending", "id_card", "accepted"); parse returns 0 or
 * PB_ERR_INVALID for a name that is not one of them. */
const char *kyc_state_name(enum kyc_state s);
int kyc_state_parse(const char *name, enum kyc_state *out);
const char *kyc_doc_type_name(enum kyc_doc_type t);
int kyc_doc_type_parse(const char *name, enum kyc_doc_type *out);
const char *kyc_doc_status_name(enum kyc_doc_status s);
int kyc_doc_status_parse(const char *name, enum kyc_doc_status *out);

/* ---- schema (kyc_schema.c) ---- */

extern const struct store_migration kyc_migrations[];
extern const size_t kyc_migrations_count;

/* ---- the state machine ---- */

struct kyc_status {
    enum kyc_state state; /* KYC_NONE for a player without a row */
    int tier;             /* 0 unless verified */
    int64_t updated_at_ms;
};

/* The single rule book: is (from, from_tier) -> (to, to_tier) legal? Returns 0; PB_ERR_INVALID
 * when to_tier does not fit to (verified needs 1..KYC_TIER_MAX, other states 0); or
 * PB_ERR_CONFLICT when the move itself is illegal. *why (may be NULL) gets a static sentence
 * for the refusal, NULL on success. Pure: no database. */
int kyc_transition_check(enum kyc_state from, int from_tier, enum kyc_state to, int to_tier,
                         const char **why);

/* The player's current state (KYC_NONE, tier 0 when nothing was ever recorded). */
int kyc_status_get(struct store *s, const char *player_id, struct kyc_status *out);

/* Moves the player to (to, tier) when kyc_transition_check allows it from the stored state,
 * with a conditional update (so two nodes racing cannot both move from the same state), and
 * appends the kyc_events row with actor (1..KYC_ACTOR_MAX bytes) and reason (may be ""). *from
 * (may be NULL) gets the previous status. Returns 0, PB_ERR_INVALID / PB_ERR_CONFLICT as the
 * check does (nothing written; *why says why), or PB_ERR_DB. Runs inside a writer command. */
int kyc_transition(struct store *tx, const char *player_id, enum kyc_state to, int tier,
                   const char *actor, const char *reason, int64_t now_ms,
                   struct kyc_status *from, const char **why);

/* One history row. */
struct kyc_event {
    int64_t seq; /* 1, 2, ... per player */
    enum kyc_state from, to;
    int from_tier, to_tier;
    char actor[KYC_ACTOR_MAX + 1];
    char reason[KYC_REASON_MAX + 1];
    int64_t at_ms;
};
/* The player's history, oldest first, at most max rows (*n of them). */
int kyc_events_list(struct store *s, const char *player_id, struct kyc_event *out, size_t max,
                    size_t *n);

/* Up to max players in state pending, longest waiting first. */
struct kyc_queue_entry {
    char player_id[PAM_PLAYER_ID_SIZE];
    int tier;
    int64_t since_ms;
};
int kyc_queue(struct store *s, struct kyc_queue_entry *out, size_t max, size_t *n);

/* ---- documents ---- */

struct kyc_document {
    char id[KYC_DOCUMENT_ID_SIZE];
    char player_id[PAM_PLAYER_ID_SIZE];
    enum kyc_doc_type type;
    char reference[KYC_REFERENCE_MAX + 1];
    enum kyc_doc_status status;
    char reviewer[KYC_ACTOR_MAX + 1]; /* "" until reviewed */
    char reason[KYC_REASON_MAX + 1];  /* "" until reviewed */
    int64_t submitted_at_ms;
    int64_t reviewed_at_ms; /* 0 until reviewed */
};

/* The player submits document d (id, player_id, type, reference, submitted_at_ms filled;
 * status becomes submitted): inserts it and, when the player is in none or rejected, moves
 * them to pending (actor "player"). *status gets the player's status afterwards. Returns 0,
 * PB_ERR_FULL when the player already has KYC_DOCUMENTS_MAX documents, or PB_ERR_DB. */
int kyc_document_submit(struct store *tx, struct kyc_document *d, struct kyc_status *status);
/* The player's documents, oldest first (at most max). */
int kyc_documents_list(struct store *s, const char *player_id, struct kyc_document *out,
                       size_t max, size_t *n);
/* Marks every submitted (not yet reviewed) document of the player accepted or rejected by
 * reviewer with reason; *count gets how many. */
int kyc_documents_review(struct store *tx, const char *player_id, enum kyc_doc_status status,
                         const char *reviewer, const char *reason, int64_t now_ms, int *count);

/* ---- jurisdiction gates ---- */

/* Sets *allowed: whether player_id may do action under the "KYC required before" settings of
 * the jurisdiction of the player's brand (pam_jurisdiction.kyc_required). An action that
 * needs KYC is allowed only in state verified (any tier >= 1). Returns 0, PB_ERR_NOT_FOUND
 * for an unknown player or a brand cfg does not know (and *allowed false), or PB_ERR_DB.
 * Payments (deposit, withdrawal) and games (play) call it before moving money. */
int kyc_allows(struct store *s, const struct pam_config *cfg, const char *player_id,
               enum kyc_action action, bool *allowed);

/* ---- providers ---- */

/* What a provider's webhook says about a player. */
struct kyc_result {
    char event_id[KYC_EVENT_ID_MAX + 1];
    char player_id[PAM_PLAYER_ID_SIZE];
    enum kyc_state outcome; /* KYC_VERIFIED or KYC_REJECTED */
    int tier;               /* 1..KYC_TIER_MAX when verified, 0 when rejected */
    char reason[KYC_REASON_MAX + 1];
};

/* An external KYC service. Functions hold no state and are thread-safe.
 *   start_check:      asks the provider to start checking player_id; writes the provider's
 *                     reference for the check into ref (reflen bytes). 0 or PB_ERR_IO.
 *   verify_signature: checks a webhook's signature header over the raw body with secret at
 *                     now_s: 0, PB_ERR_INVALID (malformed or wrong), PB_ERR_TIMEOUT (outside
 *                     the time window).
 *   parse_webhook:    decodes a verified body into *out: 0 or PB_ERR_INVALID with err. */
struct kyc_provider {
    const char *name;
    int (*start_check)(const char *player_id, char *ref, size_t reflen);
    int (*verify_signature)(const char *secret, const char *header, const char *body,
                            size_t len, int64_t now_s);
    int (*parse_webhook)(const char *body, size_t len, struct kyc_result *out,
                         struct pb_json_error *err);
};

/* The built-in sandbox provider: no external calls; webhooks carry
 * {event_id, player_id, result: "verified"|"rejected", tier?, reason?} and are signed with
 * header "X-Pitboss-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "t.body")>". */
extern const struct kyc_provider kyc_sandbox_provider;
/* The provider called name, or NULL. */
const struct kyc_provider *kyc_provider_find(const char *name);
/* Writes the sandbox signature header value for body at t_s into out (for tests and tools). */
void kyc_sandbox_sign(const char *secret, int64_t t_s, const char *body, size_t len,
                      char out[KYC_SIGNATURE_HEADER_MAX]);

/* Records (provider, event_id) as received; *seen true when it already was (the webhook is a
 * repeat and must change nothing). */
int kyc_webhook_record(struct store *tx, const char *provider, const char *event_id,
                       const char *player_id, int64_t now_ms, bool *seen);

#endif
