/* kyc_schema.c: the KYC tables (module "kyc" migrations). Design: docs/kyc.md.
 *
 * kyc_status          one row per player who ever had a KYC state: state ('pending',
 *                     'verified', 'rejected'; no row means 'none') and tier (0 unless
 *                     verified). Changed only by kyc_transition, with a conditional update.
 * kyc_events          the history of every transition: (player_id, seq) with from/to state
 *                     and tier, actor, reason, time. Never updated or deleted.
 * kyc_documents       document metadata submitted by players: type, the reference at the
 *                     provider or upload service (no file is stored), status ('submitted',
 *                     'accepted', 'rejected'), reviewer, reason.
 * kyc_webhook_events  (provider, event_id) of every webhook applied: a repeat is ignored. */
#include "base/base.h"
#include "pam/kyc.h"

const struct store_migration kyc_migrations[] = {
    {"kyc", 1, "kyc status, events, documents, webhook events",
     "CREATE TABLE kyc_status ("
     " player_id TEXT PRIMARY KEY, state TEXT NOT NULL, tier INTEGER NOT NULL,"
     " updated_at_ms BIGINT NOT NULL);"
     "CREATE INDEX kyc_status_state ON kyc_status (state, updated_at_ms);"
     "CREATE TABLE kyc_events ("
     " player_id TEXT NOT NULL, seq BIGINT NOT NULL, from_state TEXT NOT NULL,"
     " to_state TEXT NOT NULL, from_tier INTEGER NOT NULL, to_tier INTEGER NOT NULL,"
     " actor TEXT NOT NULL, reason TEXT NOT NULL, at_ms BIGINT NOT NULL,"
     " PRIMARY KEY (player_id, seq));"
     "CREATE TABLE kyc_documents ("
     " id TEXT PRIMARY KEY, player_id TEXT NOT NULL, type TEXT NOT NULL,"
     " reference TEXT NOT NULL, status TEXT NOT NULL, reviewer TEXT NOT NULL,"
     " reason TEXT NOT NULL, submitted_at_ms BIGINT NOT NULL,"
     " reviewed_at_ms BIGINT NOT NULL);"
     "CREATE INDEX kyc_documents_player ON kyc_documents (player_id, submitted_at_ms);"
     "CREATE TABLE kyc_webhook_events ("
     " provider TEXT NOT NULL, event_id TEXT NOT NULL, player_id TEXT NOT NULL,"
     " received_at_ms BIGINT NOT NULL, PRIMARY KEY (provider, event_id));",
     NULL},
};
const size_t kyc_migrations_count = PB_ARRAY_LEN(kyc_migrations);
