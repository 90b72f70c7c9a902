/* providers.h: game aggregation (DESIGN.md 4.2; operators' and integrators' view in
 * docs/providers.md): the registry of third-party game providers, the game catalog, launch
 * tokens and provider sessions, the seamless-wallet operations every provider protocol maps
 * onto, request signing, and the protocol adapters (generic, alt).
 *
 * Layers:
 *   registry.c   providers and catalog games (tables provider_registry, provider_games),
 *                secrets sealed at rest, CIDR ranges, signatures;
 *   wallet.c     the wallet operations inside one writer command: idempotency by the
 *                provider's transaction id (scope "provider:<name>"), sessions, tombstones,
 *                rounds (games/rounds.h), every money movement through ledger_apply;
 *   protocol.c   decoders and encoders: the generic protocol and the "alt" adapter
 *                (pure functions: the fuzz target's surface);
 *   providers_http.c  routes.
 *
 * Strings passed in are borrowed; output structs are caller-owned. Times are milliseconds
 * since the Unix epoch, passed in by the caller. */
#ifndef PB_PROVIDERS_H
#define PB_PROVIDERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/json.h"
#include "store/store.h"

struct ledger;
struct writer_cmd;

#define PROVIDERS_NAME_MAX 32          /* [a-z0-9_-]; == ROUNDS_PROVIDER_MAX */
#define PROVIDERS_URL_MAX 256          /* a provider's launch base URL */
#define PROVIDERS_RANGES_MAX 16        /* allowed CIDR ranges per provider */
#define PROVIDERS_RANGES_TEXT_MAX 1024 /* their comma-separated text as stored */
#define PROVIDERS_CURRENCIES_MAX 16    /* currencies per provider */
#define PROVIDERS_SECRET_BYTES 32      /* generated HMAC secrets: 256 bits */
#define PROVIDERS_SECRET_TEXT 65       /* as given to the provider: 64 hex + NUL */
#define PROVIDERS_SEAL_KEY_ENV "PITBOSS_PROVIDER_SEAL_KEY" /* 64 hex: the at-rest key */
#define PROVIDERS_SIGNATURE_WINDOW_S 300 /* replay window: |now - timestamp| <= 5 min, the
                                            usual allowance for clock skew between studios */
#define PROVIDERS_SESSION_TTL_S_DEFAULT 3600 /* a provider session: one hour of play */
#define PROVIDERS_SESSION_TTL_S_MIN 1        /* tests use short sessions */
#define PROVIDERS_SESSION_TTL_S_MAX 86400
#define PROVIDERS_LAUNCH_TTL_S 120     /* a launch token must be exchanged within 2 min */
#define PROVIDERS_TX_ID_MAX 128        /* the provider's transaction id (idempotency key) */
#define PROVIDERS_ROUND_ID_MAX 128     /* == ROUNDS_EXTERNAL_ID_MAX */
#define PROVIDERS_GAME_EXTERNAL_MAX 64
#define PROVIDERS_GAME_ID_MAX 64       /* "<provider>:<external id>" must fit ROUNDS_GAME_ID_MAX */
#define PROVIDERS_GAME_NAME_MAX 128
#define PROVIDERS_CATEGORY_MAX 32
#define PROVIDERS_LIST_TEXT_MAX 512    /* tags, jurisdictions, brands: comma-separated */
#define PROVIDERS_CATALOG_MAX 500      /* games answered by one catalog request */
#define PROVIDERS_SEARCH_MAX 64        /* the catalog's search text */
#define PROVIDERS_CAMPAIGN_MAX 64      /* a free-round campaign id */
#define PROVIDERS_ANSWER_MAX 4096      /* a wallet answer (recorded for replays) */
#define PROVIDERS_SIGNATURE_HEX 64
#define PROVIDERS_IN_HOUSE "pitboss"   /* the provider name of in-house games */

/* ---- the registry ---- */

struct provider {
    char name[PROVIDERS_NAME_MAX + 1];
    char protocol[8];                      /* "generic" or "alt" */
    char base_url[PROVIDERS_URL_MAX + 1];
    char ip_ranges[PROVIDERS_RANGES_TEXT_MAX + 1];  /* "10.0.0.0/8,2001:db8::/32" */
    char currencies[PROVIDERS_CURRENCIES_MAX * 9];  /* "EUR,GBP" */
    bool accept_unknown_round_wins;
    bool enabled;
    int64_t session_ttl_s;
    char secret_sealed[256];               /* hex nonce || secretbox(secret) */
    int64_t created_at_ms, updated_at_ms;
};

extern const struct store_migration providers_migrations[];
extern const size_t providers_migrations_count;

/* Inside a writer command: inserts p (PB_ERR_CONFLICT when the name is taken) or replaces the
 * row of p->name (providers_update; PB_ERR_NOT_FOUND when absent). */
int providers_insert(struct store *tx, const struct provider *p);
int providers_update(struct store *tx, const struct provider *p);
/* Any connection: 0, PB_ERR_NOT_FOUND or PB_ERR_DB. */
int providers_get(struct store *s, const char *name, struct provider *out);
/* Up to max providers by name; *n how many. */
int providers_list(struct store *s, struct provider *out, size_t max, size_t *n);

/* True for 1..PROVIDERS_NAME_MAX of [a-z0-9_-]. */
bool providers_name_ok(const char *name);
/* Checks a comma-separated list of CIDR ranges ("192.0.2.0/24,2001:db8::/32"; a bare address
 * is a /32 or /128); at most PROVIDERS_RANGES_MAX. 0 or PB_ERR_INVALID. */
int providers_ranges_check(const char *ranges);
/* True when the textual address ip (v4, v6, or v4-mapped v6) lies in one of ranges. */
bool providers_ip_allowed(const char *ranges, const char *ip);
/* True when code is one of the comma-separated currencies list. */
bool providers_list_has(const char *list, const char *item);

/* The seal: secrets are stored encrypted (XSalsa20-Poly1305, libsodium secretbox) under the
 * 32-byte key in $PITBOSS_PROVIDER_SEAL_KEY (64 hex), so a copy of the database alone does
 * not give away the HMAC secrets. Returns PB_ERR_INVALID when the key is missing or bad
 * (the provider routes then answer 503), PB_ERR_CONFLICT when a sealed secret does not open
 * under the key. */
int providers_seal(const char *secret, char *out, size_t outlen);
int providers_unseal(const char *sealed, char out[PROVIDERS_SECRET_TEXT]);

/* hex HMAC-SHA256(secret, "<timestamp_s>.<body>") into out. */
void providers_sign(const char *secret, int64_t timestamp_s, const char *body, size_t len,
                    char out[PROVIDERS_SIGNATURE_HEX + 1]);
/* Checks a signature (hex, constant-time) and its timestamp text (decimal seconds) against
 * now_s and PROVIDERS_SIGNATURE_WINDOW_S. 0, PB_ERR_INVALID (missing, malformed or wrong) or
 * PB_ERR_TIMEOUT (outside the window). */
int providers_verify(const char *secret, const char *timestamp, const char *signature,
                     const char *body, size_t len, int64_t now_s);

/* ---- the catalog ---- */

struct catalog_game {
    char game_id[PROVIDERS_GAME_ID_MAX + 1];   /* "<provider>:<external_id>" */
    char provider[PROVIDERS_NAME_MAX + 1];
    char external_id[PROVIDERS_GAME_EXTERNAL_MAX + 1];
    char name[PROVIDERS_GAME_NAME_MAX + 1];
    char category[PROVIDERS_CATEGORY_MAX + 1]; /* "slot", "table", "crash", ... */
    char tags[PROVIDERS_LIST_TEXT_MAX + 1];
    int64_t rtp_bp;                            /* return to player in basis points: 9650 */
    char volatility[16];                       /* "low", "medium", "high" */
    char jurisdictions[PROVIDERS_LIST_TEXT_MAX + 1]; /* "*" or "uk-like,demo" */
    char brands[PROVIDERS_LIST_TEXT_MAX + 1];        /* "*" or "demo" */
    bool enabled;
    int64_t ordering;                          /* ascending, then name */
    int64_t updated_at_ms;
};

/* Inside a writer command: inserts or replaces the game of (provider, external_id);
 * *created tells which. */
int catalog_upsert(struct store *tx, const struct catalog_game *g, bool *created);
int catalog_get(struct store *s, const char *game_id, struct catalog_game *out);

struct catalog_filter {
    const char *brand;        /* NULL: any */
    const char *jurisdiction; /* NULL: any */
    const char *search;       /* case-insensitive substring of name or tags; NULL: any */
    const char *category;     /* NULL: any */
    const char *provider;     /* NULL: any */
    bool include_disabled;    /* staff view */
};
/* Games matching f, in-house games (games/games.h) first-class among them, ordered by
 * ordering then name; at most max (*n how many, *more when there were more). */
int catalog_list(struct store *s, const struct catalog_filter *f, struct catalog_game *out,
                 size_t max, size_t *n, bool *more);
/* Whether g may be shown to a player of brand in jurisdiction. */
bool catalog_visible(const struct catalog_game *g, const char *brand, const char *jurisdiction);

/* ---- launch tokens and provider sessions ---- */

struct provider_session {
    char provider[PROVIDERS_NAME_MAX + 1];
    char game_id[PROVIDERS_GAME_ID_MAX + 1];
    char player_id[65];
    char currency[9];
    char player_session_id[65];
    int64_t expires_at_ms;
};

/* Inside a writer command: stores a launch token's hash (TTL PROVIDERS_LAUNCH_TTL_S). */
int providers_launch_insert(struct store *tx, const char *token_hash,
                            const struct provider_session *binding, int64_t now_ms);

/* ---- wallet operations (wallet.c) ---- */

enum provider_op_kind {
    PROVIDER_OP_AUTHENTICATE = 1,
    PROVIDER_OP_BALANCE,
    PROVIDER_OP_BET,
    PROVIDER_OP_WIN,
    PROVIDER_OP_ROLLBACK,
    PROVIDER_OP_END_ROUND,
    PROVIDER_OP_FREE_ROUND_WIN,
};
const char *provider_op_name(enum provider_op_kind k); /* "bet", "end_round", ... */

/* One decoded wallet request, whatever protocol carried it. Strings are borrowed from the
 * decoder's document (or copied by the HTTP layer into its command). */
struct provider_op {
    enum provider_op_kind kind;
    const char *token;          /* launch token (authenticate) or session token */
    const char *transaction_id; /* bet, win, rollback, free-round win */
    const char *round_id;       /* bet, win, rollback (optional), end round, free-round win */
    const char *reference_transaction_id; /* rollback: the bet it undoes */
    const char *campaign_id;    /* free-round win */
    const char *currency;       /* when the protocol carries one: must be the session's */
    int64_t amount_minor;       /* bet > 0, win >= 0, free-round win >= 0 */
    bool amount_decimal;        /* the protocol gave amount_text (decimal string) */
    const char *amount_text;    /* alt: "12.50", parsed in the session's currency */
};

/* The stable error taxonomy of the wallet API (docs/providers.md). */
#define PROVIDER_E_INSUFFICIENT_FUNDS "insufficient_funds"
#define PROVIDER_E_SESSION_EXPIRED "session_expired"
#define PROVIDER_E_INVALID_TOKEN "invalid_token"
#define PROVIDER_E_PLAYER_BLOCKED "player_blocked"
#define PROVIDER_E_LIMIT_EXCEEDED "limit_exceeded"
#define PROVIDER_E_DUPLICATE "duplicate_transaction"
#define PROVIDER_E_BET_NOT_FOUND "bet_not_found"
#define PROVIDER_E_ROLLED_BACK "already_rolled_back"
#define PROVIDER_E_ROUND_CLOSED "round_closed"
#define PROVIDER_E_INVALID_SIGNATURE "invalid_signature"
#define PROVIDER_E_IP_NOT_ALLOWED "ip_not_allowed"
#define PROVIDER_E_VALIDATION "validation_failed"

/* The answer of one operation in the generic protocol: an HTTP status and a JSON body (a
 * success document, or a problem+json whose members carry balance_minor and currency when the
 * player is known). It is what is recorded for the transaction id, so replays are byte-equal;
 * adapters translate it (providers_alt_encode). */
struct provider_answer {
    int status;
    bool replayed;
    char body[PROVIDERS_ANSWER_MAX];
};

/* Inside a writer command: runs op for provider p (its registry row as read for the request)
 * at now_ms; the answer in *ans. Refusals are answers (status 4xx), not errors: the function
 * returns 0, or PB_ERR_DB when the command must fail. */
int providers_wallet_run(struct ledger *lg, struct store *tx, struct writer_cmd *cmd,
                         const struct provider *p, const struct provider_op *op, int64_t now_ms,
                         struct provider_answer *ans);

/* ---- protocols (protocol.c) ---- */

/* Generic: one route per operation; the body is a JSON object decoded strictly (unknown,
 * missing or mistyped fields refused and named). root receives the parsed document, which
 * op's strings borrow (json_decref it either way). 0 or PB_ERR_INVALID with err filled. */
int providers_generic_decode(enum provider_op_kind kind, const char *body, size_t len,
                             struct provider_op *op, json_t **root, struct pb_json_error *err);
/* The "alt" adapter: one endpoint, the operation in "action", amounts as decimal strings,
 * other field names; docs/providers.md ("Adapters"). */
int providers_alt_decode(const char *body, size_t len, struct provider_op *op, json_t **root,
                         struct pb_json_error *err);
/* The alt protocol's numeric error code for a generic code (0 for success). */
int providers_alt_error_code(const char *code);
/* Translates a generic answer into the alt protocol's body (always HTTP 200 for answers the
 * provider must act on) into out. */
void providers_alt_encode(const struct provider_answer *ans, struct pb_buf *out);

#endif
