/* schema.c: the pam module's tables (module "pam" migrations). Brands and jurisdictions are
 * configuration (config.c), not tables. Design: docs/pam.md.
 *
 * pam_players         one row per player; (brand, email) unique, email normalized (lower case)
 *                     so uniqueness is case-insensitive. status: 'active' or 'closed'.
 * pam_blocks          granular blocks (login, deposit, withdraw, bet, read_only) with reasons.
 * pam_throttle        failed-login counters per (scope, key): scope 'account' keys
 *                     "brand/email" (also for e-mails without an account), 'ip' the peer.
 * pam_sessions        sessions: only the SHA-256 of the token is stored.
 * pam_totp            a player's TOTP secret (base32), active once confirmed, and the last
 *                     time step used (codes are single-use).
 * pam_recovery_codes  salted hashes of recovery codes; used_at_ms set once used. */
#include "base/base.h"
#include "pam/pam.h"

const struct store_migration pam_migrations[] = {
    {"pam", 1, "players, blocks, throttle, sessions, totp, recovery codes",
     "CREATE TABLE pam_players ("
     " id TEXT PRIMARY KEY, brand TEXT NOT NULL, email TEXT NOT NULL,"
     " password_hash TEXT NOT NULL, date_of_birth TEXT NOT NULL, country TEXT NOT NULL,"
     " currency TEXT NOT NULL, referral_code TEXT NOT NULL, status TEXT NOT NULL,"
     " created_at_ms BIGINT NOT NULL, UNIQUE (brand, email));"
     "CREATE TABLE pam_blocks ("
     " player_id TEXT NOT NULL, block TEXT NOT NULL, reason TEXT NOT NULL,"
     " created_at_ms BIGINT NOT NULL, PRIMARY KEY (player_id, block));"
     "CREATE TABLE pam_throttle ("
     " scope TEXT NOT NULL, key TEXT NOT NULL, window_start_ms BIGINT NOT NULL,"
     " failures BIGINT NOT NULL, locked_until_ms BIGINT NOT NULL,"
     " PRIMARY KEY (scope, key));"
     "CREATE TABLE pam_sessions ("
     " id TEXT PRIMARY KEY, player_id TEXT NOT NULL, token_hash TEXT NOT NULL UNIQUE,"
     " created_at_ms BIGINT NOT NULL, expires_at_ms BIGINT NOT NULL,"
     " last_seen_ms BIGINT NOT NULL, revoked_at_ms BIGINT, ip TEXT NOT NULL);"
     "CREATE INDEX pam_sessions_player ON pam_sessions (player_id, created_at_ms);"
     "CREATE TABLE pam_totp ("
     " player_id TEXT PRIMARY KEY, secret TEXT NOT NULL, active INTEGER NOT NULL,"
     " last_used_step BIGINT NOT NULL, created_at_ms BIGINT NOT NULL);"
     "CREATE TABLE pam_recovery_codes ("
     " player_id TEXT NOT NULL, idx INTEGER NOT NULL, hash TEXT NOT NULL,"
     " used_at_ms BIGINT, PRIMARY KEY (player_id, idx));",
     NULL},
};
const size_t pam_migrations_count = PB_ARRAY_LEN(pam_migrations);
