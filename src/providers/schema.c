/* schema.c: the provider tables (module "providers" migrations). Design: docs/providers.md.
 *
 * provider_registry  one row per provider: protocol, launch base URL, its HMAC secret sealed
 *                    (providers_seal), allowed CIDR ranges, currencies, session TTL, whether
 *                    wins for unknown rounds are accepted, enabled.
 * provider_games     the catalog of third-party games, keyed "<provider>:<external id>".
 * provider_launch    launch tokens (SHA-256 hex of the token only), bound to player, game,
 *                    currency and the player's session; used once, short TTL.
 * provider_sessions  provider session tokens (hash only) exchanged for a launch token: the
 *                    player, game and currency every wallet call acts for. Rows are kept after
 *                    expiry, because wins and rollbacks are accepted after it.
 * provider_tx        every bet applied (amount, the player's and provider's accounts, round)
 *                    and every tombstone (a rollback of a bet never seen): what rollbacks
 *                    and late bets are checked against. */
#include "base/base.h"
#include "providers/providers.h"

const struct store_migration providers_migrations[] = {
    {"providers", 1, "provider registry, catalog, launch tokens, sessions, transactions",
     "CREATE TABLE provider_registry ("
     " name TEXT PRIMARY KEY, protocol TEXT NOT NULL, base_url TEXT NOT NULL,"
     " ip_ranges TEXT NOT NULL, currencies TEXT NOT NULL,"
     " accept_unknown_round_wins INTEGER NOT NULL, enabled INTEGER NOT NULL,"
     " session_ttl_s BIGINT NOT NULL, secret_sealed TEXT NOT NULL,"
     " created_at_ms BIGINT NOT NULL, updated_at_ms BIGINT NOT NULL);"
     "CREATE TABLE provider_games ("
     " game_id TEXT PRIMARY KEY, provider TEXT NOT NULL, external_id TEXT NOT NULL,"
     " name TEXT NOT NULL, category TEXT NOT NULL, tags TEXT NOT NULL,"
     " rtp_bp BIGINT NOT NULL, volatility TEXT NOT NULL, jurisdictions TEXT NOT NULL,"
     " brands TEXT NOT NULL, enabled INTEGER NOT NULL, ordering BIGINT NOT NULL,"
     " updated_at_ms BIGINT NOT NULL);"
     "CREATE INDEX provider_games_order ON provider_games (ordering, name);"
     "CREATE TABLE provider_launch ("
     " token_hash TEXT PRIMARY KEY, provider TEXT NOT NULL, game_id TEXT NOT NULL,"
     " player_id TEXT NOT NULL, currency TEXT NOT NULL, player_session_id TEXT NOT NULL,"
     " expires_at_ms BIGINT NOT NULL, used_at_ms BIGINT NOT NULL,"
     " created_at_ms BIGINT NOT NULL);"
     "CREATE TABLE provider_sessions ("
     " token_hash TEXT PRIMARY KEY, provider TEXT NOT NULL, game_id TEXT NOT NULL,"
     " player_id TEXT NOT NULL, currency TEXT NOT NULL, player_session_id TEXT NOT NULL,"
     " expires_at_ms BIGINT NOT NULL, created_at_ms BIGINT NOT NULL);"
     "CREATE TABLE provider_tx ("
     " provider TEXT NOT NULL, tx_id TEXT NOT NULL, kind TEXT NOT NULL,"
     " player_id TEXT NOT NULL, currency TEXT NOT NULL, round_ext TEXT NOT NULL,"
     " round_id BIGINT NOT NULL, amount_minor BIGINT NOT NULL,"
     " player_account BIGINT NOT NULL, house_account BIGINT NOT NULL,"
     " rolled_back INTEGER NOT NULL, created_at_ms BIGINT NOT NULL,"
     " PRIMARY KEY (provider, tx_id));",
     NULL},
};
const size_t providers_migrations_count = PB_ARRAY_LEN(providers_migrations);
