/* staff.h: back-office staff: roles and their permissions (a static matrix), staff users with
 * mandatory TOTP, staff sessions, the audit rows staff actions write, and the helpers the
 * staff routes share (PII masking, CSV escaping). DESIGN.md section 5 (authentication, RBAC,
 * audit); the matrix and the decisions behind it in docs/staff.md. HTTP side: staff_http.h.
 *
 * Storage functions take a connection: those that write must run inside a writer command
 * (tx), those that read take any connection. Times are milliseconds since the Unix epoch,
 * passed in by the caller. Every string argument is borrowed; every output struct is
 * caller-owned. Tables in staff_schema.c (module "staff"). */
#ifndef PB_PAM_STAFF_H
#define PB_PAM_STAFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "pam/auth.h"
#include "store/store.h"

#define STAFF_ID_SIZE 25                /* 24 hex characters (96 random bits) + NUL */
#define STAFF_SESSION_TTL_S 28800       /* absolute session lifetime: 8 h */
#define STAFF_SESSION_IDLE_S 900        /* idle timeout: 15 min */
#define STAFF_SESSION_TOUCH_S 60        /* last-seen is written at most this often */
#define STAFF_PASSWORD_GENERATED_LEN 24 /* one-time password: 24 hex characters, 96 bits */
#define STAFF_TOTP_ISSUER "pitboss-staff"
#define STAFF_ACTOR_SERVICE "staff"     /* audit actor of the static staff token */
#define STAFF_ACTOR_PREFIX "staff:"     /* audit actor of a staff user: "staff:<id>" */
#define STAFF_IP_MAX 64

/* ---- roles and permissions (staff.c) ---- */

enum staff_role {
    STAFF_ROLE_ADMIN = 1,
    STAFF_ROLE_SUPPORT,
    STAFF_ROLE_RISK,
    STAFF_ROLE_FINANCE,
    STAFF_ROLE_COMPLIANCE,
    STAFF_ROLE_CRM,
};
#define STAFF_ROLES_COUNT 6

enum staff_permission {
    STAFF_PERM_PLAYERS_READ = 1u << 0,
    STAFF_PERM_PLAYERS_READ_PII = 1u << 1,
    STAFF_PERM_PLAYERS_BLOCK = 1u << 2,
    STAFF_PERM_PLAYERS_UNLOCK = 1u << 3,
    STAFF_PERM_LEDGER_READ = 1u << 4,
    STAFF_PERM_LEDGER_ADJUST = 1u << 5,
    STAFF_PERM_AUDIT_READ = 1u << 6,
    STAFF_PERM_AUDIT_EXPORT = 1u << 7,
    STAFF_PERM_STAFF_MANAGE = 1u << 8,
    STAFF_PERM_LEDGER_TRANSFER = 1u << 9, /* the transfers API: games and providers' service */
    STAFF_PERM_KYC_REVIEW = 1u << 10,
    STAFF_PERM_GAMES_MANAGE = 1u << 11, /* in-house games' configuration (docs/casino.md) */
    STAFF_PERM_PROVIDERS_MANAGE = 1u << 12, /* game providers' registry and the catalog */
};
#define STAFF_PERMISSIONS_COUNT 13
#define STAFF_PERM_ALL ((1u << STAFF_PERMISSIONS_COUNT) - 1u)

/* "admin", "support", ... for a role; NULL for anything else. */
const char *staff_role_name(enum staff_role role);
/* The role called name, or 0. */
enum staff_role staff_role_parse(const char *name);
/* "players.read", ... for one permission bit; NULL otherwise. */
const char *staff_permission_name(unsigned permission);
/* The bit called name ("ledger.adjust"), or 0. */
unsigned staff_permission_parse(const char *name);
/* The permission bits of role (0 for an unknown role): the static matrix of docs/staff.md. */
unsigned staff_role_permissions(enum staff_role role);
/* True when role holds the permission called name; false for unknown names or roles. */
bool staff_role_allows(enum staff_role role, const char *permission);

/* ---- staff users (staff.c) ---- */

enum staff_status { STAFF_ACTIVE = 1, STAFF_DISABLED = 2 };

struct staff_user {
    char id[STAFF_ID_SIZE];
    char email[PAM_EMAIL_SIZE]; /* normalized (pam_email_normalize) */
    char password_hash[PAM_PASSWORD_HASH_SIZE];
    enum staff_role role;
    enum staff_status status;
    char totp_secret_b32[PAM_TOTP_SECRET_B32_SIZE];
    int64_t totp_last_step; /* PAM_TOTP_STEP_NONE before the first login */
    int64_t created_at_ms;
};

/* Fills u for a new user (id, TOTP secret, hash of password; status active). password must
 * pass the caller's policy; returns 0 or PB_ERR_TOO_LARGE for an over-long password. */
int staff_user_prepare(struct staff_user *u, const char *email, enum staff_role role,
                       const char *password, int64_t now_ms);
/* Inserts u. Returns 0, PB_ERR_CONFLICT when the e-mail is taken, or PB_ERR_DB. */
int staff_user_insert(struct store *tx, const struct staff_user *u);
/* Reads a user by id or by normalized e-mail. PB_ERR_NOT_FOUND when absent. */
int staff_user_get(struct store *s, const char *id, struct staff_user *out);
int staff_user_find(struct store *s, const char *email, struct staff_user *out);
/* Records step as the last TOTP step used when it is later than the stored one (conditional
 * update: a code is single-use across nodes too); PB_ERR_CONFLICT when it is not. */
int staff_totp_use_step(struct store *tx, const char *staff_id, int64_t step);
/* Checks code against the user's secret at now_ms and consumes its step in tx. 0 accepted;
 * PB_ERR_INVALID wrong; PB_ERR_CONFLICT replayed; PB_ERR_DB. */
int staff_totp_check(struct store *tx, const struct staff_user *u, const char *code,
                     int64_t now_ms);

/* ---- staff sessions (staff.c) ---- */

struct staff_session {
    char id[STAFF_ID_SIZE];
    char staff_id[STAFF_ID_SIZE];
    int64_t created_at_ms;
    int64_t expires_at_ms;
    int64_t last_seen_ms;
    char ip[STAFF_IP_MAX + 1];
};

/* Inserts ses; only token_hash (hex SHA-256 of the token) is stored. */
int staff_session_insert(struct store *tx, const struct staff_session *ses,
                         const char *token_hash);
/* The live session of token_hash at now_ms (not revoked, before expiry, seen within
 * STAFF_SESSION_IDLE_S) whose user is active; its user in *user. PB_ERR_NOT_FOUND otherwise. */
int staff_session_lookup(struct store *s, const char *token_hash, int64_t now_ms,
                         struct staff_session *out, struct staff_user *user);
/* Moves last_seen forward to now_ms (never back). */
int staff_session_touch(struct store *tx, const char *session_id, int64_t now_ms);
/* Revokes session_id; *count gets 1, or 0 when it was not live. */
int staff_session_revoke(struct store *tx, const char *session_id, int64_t now_ms, int *count);

/* ---- audit (staff.c; rows in ledger/audit.h's audit_log) ---- */

/* One staff action: written with audit_next_id/audit_insert inside the writer command that
 * makes the change. actor is STAFF_ACTOR_SERVICE or "staff:<id>"; request_id goes to the ref
 * column as "request:<id>" (cut to AUDIT_REF_MAX; see docs/staff.md). */
struct staff_audit {
    const char *actor;
    const char *action;  /* "players.block_set", ... */
    const char *subject; /* "player:<id>", "staff:<id>" */
    const char *reason;
    const char *before_json;
    const char *after_json;
    const char *request_id;
    int64_t now_ms;
};
int staff_audit_write(struct store *tx, const struct staff_audit *a);

/* Appends the audit rows with from_ms <= time < to_ms, oldest first, as CSV (RFC 4180, CRLF,
 * header row: id,time,actor,actor_email,action,subject,reason,before,after,ref) to out.
 * At most max_rows rows: PB_ERR_TOO_LARGE (out holds a partial export) when there are more. */
int staff_audit_export_csv(struct store *s, int64_t from_ms, int64_t to_ms, size_t max_rows,
                           struct pb_buf *out);

/* ---- helpers (staff.c) ---- */

/* Appends one CSV field: quoted when it holds ',', '"', CR or LF (quotes doubled); a field
 * starting with '=', '+', '-', '@', TAB or CR is prefixed with a single quote so a
 * spreadsheet does not run it as a formula (docs/staff.md). */
void staff_csv_field(struct pb_buf *out, const char *s);
/* "j***@example.com" for "jane@example.com" (out: PAM_EMAIL_SIZE bytes). */
void staff_mask_email(const char *email, char out[PAM_EMAIL_SIZE]);
/* "19**-**-**" for "1990-05-17" (out: PAM_DATE_TEXT_LEN + 1 bytes). */
void staff_mask_date(const char *date, char out[PAM_DATE_TEXT_LEN + 1]);

/* `pitboss staff create --email E --role R`: opens db_url, creates an active user with a
 * generated one-time password and TOTP secret, prints id, password, secret and otpauth URI.
 * argv[0] is "create". Returns the exit status: 0 done, 1 database error or e-mail taken,
 * 2 bad arguments. */
int staff_cli_create(const char *db_url, int argc, char **argv);

/* ---- schema (staff_schema.c) ---- */

extern const struct store_migration staff_migrations[];
extern const size_t staff_migrations_count;

#endif
