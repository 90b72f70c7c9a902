/* pam.h: player account management: brands and jurisdictions (configuration), players,
 * account blocks, login throttling, sessions and player TOTP. DESIGN.md sections 4 and 5;
 * the API and the decisions behind it in docs/pam.md. Security primitives are in auth.h.
 *
 * Storage functions take a connection: those that write must run inside a writer command
 * (tx), those that read take any connection (a reader or tx). Times are milliseconds since
 * the Unix epoch, passed in by the caller so tests control the clock. Every string argument
 * is borrowed; every output struct is caller-owned. */
#ifndef PB_PAM_H
#define PB_PAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pam/auth.h"
#include "store/store.h"

#define PAM_NAME_MAX 32            /* brand, jurisdiction and rule-set names: [a-z0-9_-] */
#define PAM_JURISDICTIONS_MAX 64
#define PAM_BRANDS_MAX 256
#define PAM_CURRENCIES_MAX 32      /* allowed currencies per jurisdiction */
#define PAM_COUNTRIES_MAX 250      /* ISO 3166-1 has 249 assigned codes */
#define PAM_CONFIG_FILE_MAX (1024 * 1024) /* a jurisdictions file larger is refused */
#define PAM_PLAYER_ID_SIZE 25      /* 24 hex characters (96 random bits) + NUL */
#define PAM_SESSION_ID_SIZE 25
#define PAM_REFERRAL_MAX 64
#define PAM_BLOCK_REASON_MAX 200
#define PAM_IP_MAX 64              /* textual IPv6 with zone fits */
#define PAM_SESSIONS_LIST_MAX 100  /* active sessions listed per player */
#define PAM_CURRENCY_SIZE 9

/* ---- configuration (config.c) ---- */

enum pam_kyc_point { PAM_KYC_DEPOSIT = 1u, PAM_KYC_WITHDRAWAL = 2u, PAM_KYC_PLAY = 4u };

struct pam_jurisdiction {
    char name[PAM_NAME_MAX + 1];
    int min_age;
    char currencies[PAM_CURRENCIES_MAX][PAM_CURRENCY_SIZE];
    size_t ncurrencies;
    bool all_countries; /* "countries": ["*"] */
    char countries[PAM_COUNTRIES_MAX][3];
    size_t ncountries;
    unsigned kyc_required; /* enum pam_kyc_point bits */
    char rg_rule_set[PAM_NAME_MAX + 1];
};

struct pam_brand {
    char name[PAM_NAME_MAX + 1];
    const struct pam_jurisdiction *jurisdiction; /* points into the same pam_config */
};

/* Lock-out and session timing; defaults in docs/pam.md, overridable in the file. */
struct pam_policy {
    int64_t account_failures_max; /* failed logins per (brand, e-mail) in a window: 5 */
    int64_t ip_failures_max;      /* failed logins per IP in a window: 50 */
    int64_t failure_window_s;     /* 900 */
    int64_t lockout_s;            /* 900 */
    int64_t session_ttl_s;        /* absolute lifetime: 43200 */
    int64_t session_idle_s;       /* idle timeout: 1800 */
    int64_t session_touch_s;      /* last-seen is written at most this often: 60 */
};

struct pam_config {
    struct pam_jurisdiction jurisdictions[PAM_JURISDICTIONS_MAX];
    size_t njurisdictions;
    struct pam_brand brands[PAM_BRANDS_MAX];
    size_t nbrands;
    struct pam_policy policy;
};

/* Loads brands and jurisdictions from the JSON file at path_or_null, or the built-in demo
 * set when it is NULL or "" (brand "demo" in jurisdiction "demo", jurisdiction "uk-like").
 * Every key is checked, unknown keys refused; on error returns PB_ERR_INVALID (or PB_ERR_IO
 * when the file cannot be read) with "key: what is wrong" in err, and *out is NULL.
 * On success *out is allocated; free it with pam_config_free. */
int pam_config_load(const char *path_or_null, struct pam_config **out, char *err,
                    size_t errlen);
/* Loads from text (len bytes) as pam_config_load does. */
int pam_config_load_text(const char *text, size_t len, struct pam_config **out, char *err,
                         size_t errlen);
void pam_config_free(struct pam_config *cfg);
/* The brand called name, or NULL. */
const struct pam_brand *pam_config_brand(const struct pam_config *cfg, const char *name);
bool pam_jurisdiction_allows_currency(const struct pam_jurisdiction *j, const char *code);
bool pam_jurisdiction_allows_country(const struct pam_jurisdiction *j, const char *code);

/* ---- schema (schema.c) ---- */

extern const struct store_migration pam_migrations[];
extern const size_t pam_migrations_count;

/* ---- players and blocks (players.c) ---- */

enum pam_block {
    PAM_BLOCK_LOGIN = 1u,
    PAM_BLOCK_DEPOSIT = 2u,
    PAM_BLOCK_WITHDRAW = 4u,
    PAM_BLOCK_BET = 8u,
    PAM_BLOCK_READ_ONLY = 16u,
};
#define PAM_BLOCK_ALL 31u

/* "login", "deposit", ... for one bit; NULL otherwise. */
const char *pam_block_name(unsigned block);
/* The bit called name, or 0. */
unsigned pam_block_parse(const char *name);

struct pam_player {
    char id[PAM_PLAYER_ID_SIZE];
    char brand[PAM_NAME_MAX + 1];
    char email[PAM_EMAIL_SIZE];
    char password_hash[PAM_PASSWORD_HASH_SIZE];
    char date_of_birth[PAM_DATE_TEXT_LEN + 1];
    char country[3];
    char currency[PAM_CURRENCY_SIZE];
    char referral_code[PAM_REFERRAL_MAX + 1]; /* "" when none */
    bool closed;
    int64_t created_at_ms;
};

/* Inserts p (id, brand and normalized email filled). Returns 0, PB_ERR_CONFLICT when the
 * brand already has a player with this e-mail, or PB_ERR_DB. */
int pam_player_insert(struct store *tx, const struct pam_player *p);
/* Reads a player by id, or by brand and normalized e-mail. PB_ERR_NOT_FOUND when absent. */
int pam_player_get(struct store *s, const char *player_id, struct pam_player *out);
int pam_player_find(struct store *s, const char *brand, const char *email,
                    struct pam_player *out);
/* Sets *blocks to the player's enum pam_block bits (0 for an unknown player): what the
 * wallet's debit path asks before moving money. Returns 0 or PB_ERR_DB. */
int pam_player_blocks(struct store *s, const char *player_id, unsigned *blocks);
/* One block with its reason (1..PAM_BLOCK_REASON_MAX bytes); setting a block that is already
 * set keeps the first reason. Clearing one that is not set does nothing. */
int pam_player_block_set(struct store *tx, const char *player_id, unsigned block,
                         const char *reason, int64_t now_ms);
int pam_player_block_clear(struct store *tx, const char *player_id, unsigned block);
/* Calls fn for each block of the player with its reason and time (for GET /players/me). */
typedef void (*pam_block_fn)(unsigned block, const char *reason, int64_t since_ms, void *arg);
int pam_player_blocks_each(struct store *s, const char *player_id, pam_block_fn fn, void *arg);
/* Closes the account: status closed and blocks deposit and bet (withdrawal and reading stay
 * possible). Closing a closed account changes nothing. */
int pam_player_close(struct store *tx, const char *player_id, const char *reason,
                     int64_t now_ms);

/* Change generations, for caches of player data on the writer thread (src/rg keeps each
 * player's block and KYC gate inputs): every write of a player's row (insert, close), blocks
 * or KYC status (kyc.c) bumps the player's counter, one of PAM_GENERATION_STRIPES shared by
 * hashing the id (a bump may make other players' entries reload, never the reverse). A cache
 * remembers the value it loaded at and reloads when it moved; rolled-back writes and writes of
 * other connections are the cache's own business (rg: savepoints and PRAGMA data_version).
 * Any thread. */
#define PAM_GENERATION_STRIPES 4096
uint64_t pam_player_generation(const char *player_id);
void pam_player_changed(const char *player_id);

/* ---- login throttling (sessions.c) ---- */

/* Counters are kept per scope ("account": "brand/email", also for e-mails that have no
 * account, so a lock-out reveals nothing; "ip": the peer address). */
/* *retry_after_s > 0 when key is locked at now_ms. */
int pam_throttle_check(struct store *s, const char *scope, const char *key, int64_t now_ms,
                       int64_t *retry_after_s);
/* Counts one failure in the window; at max failures the key is locked for lockout_s. */
int pam_throttle_fail(struct store *tx, const char *scope, const char *key, int64_t max,
                      const struct pam_policy *policy, int64_t now_ms);
/* Forgets the key's failures (after a successful login). */
int pam_throttle_reset(struct store *tx, const char *scope, const char *key);

/* ---- sessions (sessions.c) ---- */

struct pam_session {
    char id[PAM_SESSION_ID_SIZE];
    char player_id[PAM_PLAYER_ID_SIZE];
    int64_t created_at_ms;
    int64_t expires_at_ms; /* absolute expiry */
    int64_t last_seen_ms;
    char ip[PAM_IP_MAX + 1];
};

/* Inserts a session whose token hashes to token_hash (the token itself is never stored). */
int pam_session_insert(struct store *tx, const struct pam_session *ses, const char *token_hash);
/* The live session of token_hash at now_ms: not revoked, before its absolute expiry and
 * seen within idle_s. PB_ERR_NOT_FOUND otherwise. */
int pam_session_lookup(struct store *s, const char *token_hash, int64_t now_ms, int64_t idle_s,
                       struct pam_session *out);
/* Moves last_seen forward to now_ms (never back). */
int pam_session_touch(struct store *tx, const char *session_id, int64_t now_ms);
/* Revokes the player's session session_id, or every live one when session_id is NULL;
 * *count gets how many were revoked (0: none of the player's live sessions has that id). */
int pam_session_revoke(struct store *tx, const char *player_id, const char *session_id,
                       int64_t now_ms, int *count);
/* The player's live sessions, newest first, at most max. */
int pam_session_list(struct store *s, const char *player_id, int64_t now_ms, int64_t idle_s,
                     struct pam_session *out, size_t max, size_t *n);

/* The time the player's sessions were open within [from_ms, now_ms], in milliseconds: a
 * live session counts until now, an ended one (revoked, expired, idle) until its last
 * activity; overlapping sessions count once. At most PAM_SESSION_TIME_ROWS_MAX sessions are
 * read (oldest first), which bounds the work for a 30-day window. */
#define PAM_SESSION_TIME_ROWS_MAX 5000
int pam_session_time(struct store *s, const char *player_id, int64_t from_ms, int64_t now_ms,
                     int64_t idle_s, int64_t *ms);
/* Calls fn for every live session (oldest first); fn returns 0 to go on or an error that
 * stops the walk and is returned. */
typedef int (*pam_session_fn)(const struct pam_session *ses, void *arg);
int pam_sessions_live_each(struct store *s, int64_t now_ms, int64_t idle_s,
                           pam_session_fn fn, void *arg);

/* ---- player TOTP (sessions.c) ---- */

struct pam_totp_state {
    bool exists;
    bool active;
    unsigned char secret[PAM_TOTP_SECRET_BYTES_MAX];
    size_t secret_len;
    int64_t last_used_step;
};

/* Starts (or restarts) enrolment with secret_b32, inactive. PB_ERR_CONFLICT when TOTP is
 * already active. */
int pam_totp_begin(struct store *tx, const char *player_id, const char *secret_b32,
                   int64_t now_ms);
int pam_totp_get(struct store *s, const char *player_id, struct pam_totp_state *out);
/* Records step as used when it is later than the stored one (the conditional update that
 * makes a code single-use even across nodes); PB_ERR_CONFLICT when it is not. */
int pam_totp_use_step(struct store *tx, const char *player_id, int64_t step);
/* Activates enrolment and stores the recovery code hashes (n of them). */
int pam_totp_activate(struct store *tx, const char *player_id,
                      const char hashes[][PAM_RECOVERY_HASH_SIZE], size_t n);
/* Removes TOTP and the recovery codes. */
int pam_totp_remove(struct store *tx, const char *player_id);
/* Checks code against the player's unused recovery codes and marks the match used
 * (conditionally). 0 on a match; PB_ERR_INVALID when none matches. */
int pam_recovery_use(struct store *tx, const char *player_id, const char *code,
                     int64_t now_ms);

/* Checks a TOTP code or a recovery code (any code that is not 6 digits is tried as a recovery
 * code) for the player inside tx and consumes it. 0 when accepted; PB_ERR_INVALID wrong;
 * PB_ERR_CONFLICT a replayed TOTP code; PB_ERR_DB. */
int pam_second_factor_use(struct store *tx, const char *player_id, const char *code,
                          int64_t now_ms);

#endif
