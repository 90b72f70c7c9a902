/* staff.c: staff roles and permissions, staff users, sessions and TOTP, audit rows, CSV and
 * masking helpers, and `pitboss staff create` (staff.h; design in docs/staff.md). Writers run
 * inside writer commands; readers take any connection. Single use of TOTP codes rests on a
 * conditional update (totp_last_step < ?), so it holds across nodes too. */
#include "pam/staff.h"

#include <stdio.h>
#include <string.h>

#include "base/base.h"
#include "ledger/audit.h"

/* ---- roles and permissions ---- */

static const char *const role_names[STAFF_ROLES_COUNT + 1] = {
    NULL, "admin", "support", "risk", "finance", "compliance", "crm",
};

static const char *const permission_names[STAFF_PERMISSIONS_COUNT] = {
    "players.read", "players.read_pii", "players.block", "players.unlock", "ledger.read",
    "ledger.adjust", "audit.read", "audit.export", "staff.manage", "ledger.transfer",
    "kyc.review", "games.manage", "providers.manage",
};

/* The matrix (docs/staff.md, "Roles"): least privilege per job; only admin manages staff. */
static const unsigned role_permissions[STAFF_ROLES_COUNT + 1] = {
    [STAFF_ROLE_ADMIN] = STAFF_PERM_ALL,
    [STAFF_ROLE_SUPPORT] = STAFF_PERM_PLAYERS_READ | STAFF_PERM_PLAYERS_BLOCK |
                           STAFF_PERM_PLAYERS_UNLOCK,
    [STAFF_ROLE_RISK] = STAFF_PERM_PLAYERS_READ | STAFF_PERM_PLAYERS_READ_PII |
                        STAFF_PERM_PLAYERS_BLOCK | STAFF_PERM_LEDGER_READ |
                        STAFF_PERM_AUDIT_READ,
    [STAFF_ROLE_FINANCE] = STAFF_PERM_PLAYERS_READ | STAFF_PERM_LEDGER_READ |
                           STAFF_PERM_LEDGER_ADJUST,
    [STAFF_ROLE_COMPLIANCE] = STAFF_PERM_PLAYERS_READ | STAFF_PERM_PLAYERS_READ_PII |
                              STAFF_PERM_PLAYERS_BLOCK | STAFF_PERM_LEDGER_READ |
                              STAFF_PERM_AUDIT_READ | STAFF_PERM_AUDIT_EXPORT |
                              STAFF_PERM_KYC_REVIEW,
    [STAFF_ROLE_CRM] = STAFF_PERM_PLAYERS_READ,
};

const char *staff_role_name(enum staff_role role)
{
    return role >= STAFF_ROLE_ADMIN && role <= STAFF_ROLE_CRM ? role_names[role] : NULL;
}

enum staff_role staff_role_parse(const char *name)
{
    for (int r = STAFF_ROLE_ADMIN; r <= STAFF_ROLE_CRM; r++)
        if (strcmp(name, role_names[r]) == 0)
            return (enum staff_role)r;
    return 0;
}

const char *staff_permission_name(unsigned permission)
{
    for (unsigned i = 0; i < STAFF_PERMISSIONS_COUNT; i++)
        if (permission == 1u << i)
            return permission_names[i];
    return NULL;
}

unsigned staff_permission_parse(const char *name)
{
    for (unsigned i = 0; i < STAFF_PERMISSIONS_COUNT; i++)
        if (strcmp(name, permission_names[i]) == 0)
            return 1u << i;
    return 0;
}

unsigned staff_role_permissions(enum staff_role role)
{
    return staff_role_name(role) ? role_permissions[role] : 0;
}

bool staff_role_allows(enum staff_role role, const char *permission)
{
    unsigned bit = staff_permission_parse(permission);
    return bit != 0 && (staff_role_permissions(role) & bit) != 0;
}

/* ---- statements ---- */

static int bind_text(struct store_stmt *st, int idx, const char *v)
{
    return store_bind_text(st, idx, v, strlen(v));
}

/* Runs a statement without result rows; *changes (may be NULL) gets the rows changed. */
static int step_changes(struct store_stmt *st, int rc, int64_t *changes)
{
    if (rc == PB_OK) {
        rc = store_step(st);
        rc = rc == STORE_DONE ? PB_OK : rc == STORE_ROW ? PB_ERR_DB : rc;
    }
    if (rc == PB_OK && changes)
        *changes = store_changes(st);
    store_finalize(st);
    return rc;
}

/* ---- users ---- */

int staff_user_prepare(struct staff_user *u, const char *email, enum staff_role role,
                       const char *password, int64_t now_ms)
{
    PB_ASSERT(staff_role_name(role) != NULL);
    memset(u, 0, sizeof(*u));
    pb_random_hex(u->id, (STAFF_ID_SIZE - 1) / 2);
    pb_strlcpy(u->email, email, sizeof(u->email));
    u->role = role;
    u->status = STAFF_ACTIVE;
    unsigned char secret[PAM_TOTP_SECRET_BYTES];
    pam_totp_secret_new(secret);
    pam_base32_encode(secret, sizeof(secret), u->totp_secret_b32, sizeof(u->totp_secret_b32));
    u->totp_last_step = PAM_TOTP_STEP_NONE;
    u->created_at_ms = now_ms;
    return pam_password_hash(password, u->password_hash);
}

int staff_user_insert(struct store *tx, const struct staff_user *u)
{
    PB_ASSERT(u->id[0] && u->email[0] && u->password_hash[0] && u->totp_secret_b32[0]);
    PB_ASSERT(staff_role_name(u->role) != NULL);
    struct store_stmt *st;
    int rc = store_prepare(tx,
                           "INSERT INTO staff_users (id, email, password_hash, role, status,"
                           " totp_secret, totp_last_step, created_at_ms)"
                           " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                           &st);
    if (rc != PB_OK)
        return rc;
    rc = bind_text(st, 1, u->id);
    rc = rc ? rc : bind_text(st, 2, u->email);
    rc = rc ? rc : bind_text(st, 3, u->password_hash);
    rc = rc ? rc : bind_text(st, 4, staff_role_name(u->role));
    rc = rc ? rc : bind_text(st, 5, u->status == STAFF_ACTIVE ? "active" : "disabled");
    rc = rc ? rc : bind_text(st, 6, u->totp_secret_b32);
    rc = rc ? rc : store_bind_int64(st, 7, u->totp_last_step);
    rc = rc ? rc : store_bind_int64(st, 8, u->created_at_ms);
    return step_changes(st, rc, NULL);
}

#define USER_COLUMNS                                                                           \
    "u.id, u.email, u.password_hash, u.role, u.status, u.totp_secret, u.totp_last_step,"     \
    " u.created_at_ms"

/* Reads the 8 USER_COLUMNS starting at column col. */
static void read_user(struct store_stmt *st, int col, struct staff_user *out)
{
    memset(out, 0, sizeof(*out));
    pb_strlcpy(out->id, store_column_text(st, col), sizeof(out->id));
    pb_strlcpy(out->email, store_column_text(st, col + 1), sizeof(out->email));
    pb_strlcpy(out->password_hash, store_column_text(st, col + 2), sizeof(out->password_hash));
    out->role = staff_role_parse(store_column_text(st, col + 3));
    out->status = strcmp(store_column_text(st, col + 4), "active") == 0 ? STAFF_ACTIVE
                                                                         : STAFF_DISABLED;
    pb_strlcpy(out->totp_secret_b32, store_column_text(st, col + 5),
               sizeof(out->totp_secret_b32));
    out->totp_last_step = store_column_int64(st, col + 6);
    out->created_at_ms = store_column_int64(st, col + 7);
    PB_ASSERT(out->role != 0 && out->id[0]); /* only staff_user_insert writes the table */
}

static int user_by(struct store *s, const char *sql, const char *key, struct staff_user *out)
{
    struct store_stmt *st;
    int rc = store_prepare(s, sql, &st);
    if (rc != PB_OK)
        return rc;
    rc = bind_text(st, 1, key);
    rc = rc ? rc : store_step(st);
    if (rc == STORE_ROW)
        read_user(st, 0, out);
    store_finalize(st);
    return rc == STORE_ROW ? PB_OK : rc == STORE_DONE ? PB_ERR_NOT_FOUND : rc;
}

int staff_user_get(struct store *s, const char *id, struct staff_user *out)
{
    return user_by(s, "SELECT " USER_COLUMNS " FROM staff_users u WHERE u.id = ?", id, out);
}

int staff_user_find(struct store *s, const char *email, struct staff_user *out)
{
    return user_by(s, "SELECT " USER_COLUMNS " FROM staff_users u WHERE u.email = ?", email,
                   out);
}

int staff_totp_use_step(struct store *tx, const char *staff_id, int64_t step)
{
    PB_ASSERT(step >= 0);
    struct store_stmt *st;
    int rc = store_prepare(tx,
                           "UPDATE staff_users SET totp_last_step = ?"
                           " WHERE id = ? AND totp_last_step < ?",
                           &st);
    if (rc != PB_OK)
        return rc;
    int64_t changes = 0;
    rc = store_bind_int64(st, 1, step);
    rc = rc ? rc : bind_text(st, 2, staff_id);
    rc = rc ? rc : store_bind_int64(st, 3, step);
    rc = step_changes(st, rc, &changes);
    return rc == PB_OK && changes == 0 ? PB_ERR_CONFLICT : rc;
}

int staff_totp_check(struct store *tx, const struct staff_user *u, const char *code,
                     int64_t now_ms)
{
    unsigned char secret[PAM_TOTP_SECRET_BYTES_MAX];
    size_t len = 0;
    struct staff_user fresh; /* the last step as this transaction sees it */
    int rc = staff_user_get(tx, u->id, &fresh);
    if (rc != PB_OK)
        return rc == PB_ERR_NOT_FOUND ? PB_ERR_INVALID : rc;
    rc = pam_base32_decode(fresh.totp_secret_b32, strlen(fresh.totp_secret_b32), secret,
                           sizeof(secret), &len);
    PB_ASSERT(rc == PB_OK); /* written by staff_user_prepare */
    int64_t step = 0;
    rc = pam_totp_verify(secret, len, code, now_ms / 1000, fresh.totp_last_step, NULL, &step);
    if (rc != PB_OK)
        return rc;
    return staff_totp_use_step(tx, u->id, step);
}

/* ---- sessions ---- */

int staff_session_insert(struct store *tx, const struct staff_session *ses,
                         const char *token_hash)
{
    PB_ASSERT(ses->id[0] && ses->staff_id[0] && strlen(token_hash) == 64);
    PB_ASSERT(ses->expires_at_ms > ses->created_at_ms);
    struct store_stmt *st;
    int rc = store_prepare(tx,
                           "INSERT INTO staff_sessions (id, staff_id, token_hash, created_at_ms,"
                           " expires_at_ms, last_seen_ms, revoked_at_ms, ip)"
                           " VALUES (?, ?, ?, ?, ?, ?, NULL, ?)",
                           &st);
    if (rc != PB_OK)
        return rc;
    rc = bind_text(st, 1, ses->id);
    rc = rc ? rc : bind_text(st, 2, ses->staff_id);
    rc = rc ? rc : bind_text(st, 3, token_hash);
    rc = rc ? rc : store_bind_int64(st, 4, ses->created_at_ms);
    rc = rc ? rc : store_bind_int64(st, 5, ses->expires_at_ms);
    rc = rc ? rc : store_bind_int64(st, 6, ses->last_seen_ms);
    rc = rc ? rc : bind_text(st, 7, ses->ip);
    return step_changes(st, rc, NULL);
}

int staff_session_lookup(struct store *s, const char *token_hash, int64_t now_ms,
                         struct staff_session *out, struct staff_user *user)
{
    struct store_stmt *st;
    int rc = store_prepare(s,
                           "SELECT s.id, s.staff_id, s.created_at_ms, s.expires_at_ms,"
                           " s.last_seen_ms, s.ip, " USER_COLUMNS
                           " FROM staff_sessions s JOIN staff_users u ON u.id = s.staff_id"
                           " WHERE s.token_hash = ? AND s.revoked_at_ms IS NULL"
                           " AND s.expires_at_ms > ? AND s.last_seen_ms > ?"
                           " AND u.status = 'active'",
                           &st);
    if (rc != PB_OK)
        return rc;
    rc = bind_text(st, 1, token_hash);
    rc = rc ? rc : store_bind_int64(st, 2, now_ms);
    rc = rc ? rc : store_bind_int64(st, 3, now_ms - STAFF_SESSION_IDLE_S * 1000);
    rc = rc ? rc : store_step(st);
    if (rc == STORE_ROW) {
        memset(out, 0, sizeof(*out));
        pb_strlcpy(out->id, store_column_text(st, 0), sizeof(out->id));
        pb_strlcpy(out->staff_id, store_column_text(st, 1), sizeof(out->staff_id));
        out->created_at_ms = store_column_int64(st, 2);
        out->expires_at_ms = store_column_int64(st, 3);
        out->last_seen_ms = store_column_int64(st, 4);
        pb_strlcpy(out->ip, store_column_text(st, 5), sizeof(out->ip));
        read_user(st, 6, user);
        PB_ASSERT(strcmp(out->staff_id, user->id) == 0);
    }
    store_finalize(st);
    return rc == STORE_ROW ? PB_OK : rc == STORE_DONE ? PB_ERR_NOT_FOUND : rc;
}

int staff_session_touch(struct store *tx, const char *session_id, int64_t now_ms)
{
    struct store_stmt *st;
    int rc = store_prepare(tx,
                           "UPDATE staff_sessions SET last_seen_ms = ?"
                           " WHERE id = ? AND last_seen_ms < ?",
                           &st);
    if (rc != PB_OK)
        return rc;
    rc = store_bind_int64(st, 1, now_ms);
    rc = rc ? rc : bind_text(st, 2, session_id);
    rc = rc ? rc : store_bind_int64(st, 3, now_ms);
    return step_changes(st, rc, NULL);
}

int staff_session_revoke(struct store *tx, const char *session_id, int64_t now_ms, int *count)
{
    struct store_stmt *st;
    *count = 0;
    int rc = store_prepare(tx,
                           "UPDATE staff_sessions SET revoked_at_ms = ?"
                           " WHERE id = ? AND revoked_at_ms IS NULL",
                           &st);
    if (rc != PB_OK)
        return rc;
    int64_t changes = 0;
    rc = store_bind_int64(st, 1, now_ms);
    rc = rc ? rc : bind_text(st, 2, session_id);
    rc = step_changes(st, rc, &changes);
    *count = (int)changes;
    return rc;
}

/* ---- audit ---- */

int staff_audit_write(struct store *tx, const struct staff_audit *a)
{
    PB_ASSERT(a->actor && a->action && a->subject && a->reason && a->now_ms > 0);
    char ref[AUDIT_REF_MAX + 1];
    snprintf(ref, sizeof(ref), "request:%s", a->request_id ? a->request_id : "");
    struct audit_record r = {
        .time_ns = a->now_ms * 1000000,
        .actor = a->actor,
        .action = a->action,
        .subject = a->subject,
        .reason = a->reason,
        .before_json = a->before_json ? a->before_json : "{}",
        .after_json = a->after_json ? a->after_json : "{}",
        .ref = ref,
    };
    int rc = audit_next_id(tx, &r.id);
    return rc ? rc : audit_insert(tx, &r);
}

void staff_csv_field(struct pb_buf *out, const char *s)
{
    bool formula = strchr("=+-@\t\r", s[0]) != NULL && s[0] != '\0';
    bool quote = formula || strpbrk(s, ",\"\r\n") != NULL;
    if (quote)
        pb_buf_putc(out, '"');
    if (formula)
        pb_buf_putc(out, '\'');
    for (const char *p = s; *p; p++) {
        if (*p == '"')
            pb_buf_putc(out, '"');
        pb_buf_putc(out, *p);
    }
    if (quote)
        pb_buf_putc(out, '"');
}

static void csv_row(struct pb_buf *out, struct store_stmt *st)
{
    char id[24], time[PB_TIME_TEXT_MAX];
    snprintf(id, sizeof(id), "%lld", (long long)store_column_int64(st, 0));
    pb_format_time_ms(store_column_int64(st, 1) / 1000000, time);
    const char *fields[] = {id, time, store_column_text(st, 2), store_column_text(st, 3),
                            store_column_text(st, 4), store_column_text(st, 5),
                            store_column_text(st, 6), store_column_text(st, 7),
                            store_column_text(st, 8), store_column_text(st, 9)};
    for (size_t i = 0; i < PB_ARRAY_LEN(fields); i++) {
        if (i > 0)
            pb_buf_putc(out, ',');
        staff_csv_field(out, fields[i]);
    }
    pb_buf_puts(out, "\r\n");
}

int staff_audit_export_csv(struct store *s, int64_t from_ms, int64_t to_ms, size_t max_rows,
                           struct pb_buf *out)
{
    PB_ASSERT(from_ms < to_ms && max_rows >= 1);
    struct store_stmt *st;
    int rc = store_prepare(s,
                           "SELECT a.id, a.time_ns, a.actor, COALESCE(u.email, ''), a.action,"
                           " a.subject, a.reason, a.before_json, a.after_json, a.ref"
                           " FROM audit_log a LEFT JOIN staff_users u"
                           " ON a.actor = 'staff:' || u.id"
                           " WHERE a.time_ns >= ? AND a.time_ns < ? ORDER BY a.id LIMIT ?",
                           &st);
    if (rc != PB_OK)
        return rc;
    rc = store_bind_int64(st, 1, from_ms * 1000000);
    rc = rc ? rc : store_bind_int64(st, 2, to_ms * 1000000);
    rc = rc ? rc : store_bind_int64(st, 3, (int64_t)max_rows + 1);
    pb_buf_puts(out, "id,time,actor,actor_email,action,subject,reason,before,after,ref\r\n");
    size_t n = 0;
    while (rc == PB_OK && (rc = store_step(st)) == STORE_ROW) {
        if (n == max_rows) {
            rc = PB_ERR_TOO_LARGE;
            break;
        }
        csv_row(out, st);
        n++;
        rc = PB_OK;
    }
    store_finalize(st);
    return rc == STORE_DONE ? PB_OK : rc;
}

/* ---- masking ---- */

void staff_mask_email(const char *email, char out[PAM_EMAIL_SIZE])
{
    const char *at = strrchr(email, '@');
    if (!at || at == email) {
        pb_strlcpy(out, "***", PAM_EMAIL_SIZE);
        return;
    }
    snprintf(out, PAM_EMAIL_SIZE, "%c***%s", email[0], at);
}

void staff_mask_date(const char *date, char out[PAM_DATE_TEXT_LEN + 1])
{
    if (strlen(date) != PAM_DATE_TEXT_LEN) {
        pb_strlcpy(out, "****-**-**", PAM_DATE_TEXT_LEN + 1);
        return;
    }
    snprintf(out, PAM_DATE_TEXT_LEN + 1, "%.2s**-**-**", date);
}

/* ---- pitboss staff create ---- */

static int cli_insert(struct store *s, const struct staff_user *u)
{
    char after[160];
    snprintf(after, sizeof(after), "{\"email_domain\":\"%s\",\"role\":\"%s\"}",
             strchr(u->email, '@') + 1, staff_role_name(u->role));
    char subject[AUDIT_SUBJECT_MAX + 1];
    snprintf(subject, sizeof(subject), STAFF_ACTOR_PREFIX "%s", u->id);
    struct staff_audit a = {"cli", "staff.create", subject, "pitboss staff create", "{}",
                            after, "cli", u->created_at_ms};
    if (store_begin(s) != PB_OK)
        return PB_ERR_DB;
    int rc = staff_user_insert(s, u);
    rc = rc ? rc : staff_audit_write(s, &a);
    if (rc == PB_OK)
        return store_commit(s) == PB_OK ? PB_OK : PB_ERR_DB;
    store_rollback(s);
    return rc;
}

static void cli_print(const struct staff_user *u, const char *password)
{
    struct pb_buf uri = PB_BUF_INIT;
    int rc = pam_totp_uri(STAFF_TOTP_ISSUER, u->email, u->totp_secret_b32, NULL, &uri);
    PB_ASSERT(rc == PB_OK);
    printf("id: %s\nemail: %s\nrole: %s\npassword: %s\ntotp_secret: %s\notpauth_uri: %s\n",
           u->id, u->email, staff_role_name(u->role), password, u->totp_secret_b32,
           pb_buf_str(&uri));
    pb_buf_release(&uri);
}

/* Parses --email and --role; 0, or 2 with a message on stderr. */
static int cli_args(int argc, char **argv, char email[PAM_EMAIL_SIZE], enum staff_role *role)
{
    const char *e = NULL, *r = NULL;
    for (int i = 1; i < argc; i++) {
        if (i + 1 < argc && strcmp(argv[i], "--email") == 0)
            e = argv[++i];
        else if (i + 1 < argc && strcmp(argv[i], "--role") == 0)
            r = argv[++i];
        else
            return fprintf(stderr, "pitboss staff create: unknown argument '%s'\n", argv[i]),
                   2;
    }
    if (!e || !r)
        return fprintf(stderr, "usage: pitboss staff create --email E --role ROLE\n"), 2;
    const char *reason = NULL;
    if (pam_email_normalize(e, strlen(e), email, &reason) != PB_OK)
        return fprintf(stderr, "pitboss staff create: --email: %s\n", reason), 2;
    *role = staff_role_parse(r);
    if (*role == 0)
        return fprintf(stderr, "pitboss staff create: --role: one of admin, support, risk,"
                               " finance, compliance, crm\n"), 2;
    return 0;
}

int staff_cli_create(const char *db_url, int argc, char **argv)
{
    char email[PAM_EMAIL_SIZE];
    enum staff_role role = 0;
    if (argc < 1 || strcmp(argv[0], "create") != 0)
        return fprintf(stderr, "usage: pitboss staff create --email E --role ROLE\n"), 2;
    int rc = cli_args(argc, argv, email, &role);
    if (rc != 0)
        return rc;
    struct store *s;
    char err[256];
    if (store_open(db_url, &s, err, sizeof(err)) != PB_OK)
        return fprintf(stderr, "pitboss: cannot open the database: %s\n", err), 1;
    const struct store_migration *first;
    if (store_migrations_pending(s, staff_migrations, staff_migrations_count, &first) != 0) {
        fprintf(stderr, "pitboss: the database has no staff tables (run pitboss migrate)\n");
        store_close(s);
        return 1;
    }
    char password[STAFF_PASSWORD_GENERATED_LEN + 1];
    pb_random_hex(password, STAFF_PASSWORD_GENERATED_LEN / 2);
    struct staff_user u;
    rc = staff_user_prepare(&u, email, role, password, pb_wall_ms());
    PB_ASSERT(rc == PB_OK);
    rc = cli_insert(s, &u);
    store_close(s);
    if (rc == PB_ERR_CONFLICT)
        return fprintf(stderr, "pitboss staff create: %s is already a staff user\n", email), 1;
    if (rc != PB_OK)
        return fprintf(stderr, "pitboss staff create: database error\n"), 1;
    cli_print(&u, password);
    return 0;
}
