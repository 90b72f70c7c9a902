/* staff_schema.c: the staff tables (module "staff" migrations). Design: docs/staff.md.
 *
 * staff_users     one row per member of staff: e-mail unique (normalized, lower case),
 *                 argon2id hash, role name, status 'active' or 'disabled', the TOTP secret
 *                 (base32; mandatory) and the last TOTP step used (codes are single-use).
 * staff_sessions  staff sessions: only the SHA-256 of the token is stored. */
#include "base/base.h"
#include "pam/staff.h"

const struct store_migration staff_migrations[] = {
    {"staff", 1, "staff users and sessions",
     "CREATE TABLE staff_users ("
     " id TEXT PRIMARY KEY, email TEXT NOT NULL UNIQUE, password_hash TEXT NOT NULL,"
     " role TEXT NOT NULL, status TEXT NOT NULL, totp_secret TEXT NOT NULL,"
     " totp_last_step BIGINT NOT NULL, created_at_ms BIGINT NOT NULL);"
     "CREATE TABLE staff_sessions ("
     " id TEXT PRIMARY KEY, staff_id TEXT NOT NULL, token_hash TEXT NOT NULL UNIQUE,"
     " created_at_ms BIGINT NOT NULL, expires_at_ms BIGINT NOT NULL,"
     " last_seen_ms BIGINT NOT NULL, revoked_at_ms BIGINT, ip TEXT NOT NULL);"
     "CREATE INDEX staff_sessions_staff ON staff_sessions (staff_id, created_at_ms);",
     NULL},
};
const size_t staff_migrations_count = PB_ARRAY_LEN(staff_migrations);
