/* sessions.c: login throttling, sessions, player TOTP and recovery codes (pam.h; tables in
 * schema.c, design in docs/pam.md). Writers run inside writer commands; readers take any
 * connection. Single use of codes rests on conditional updates (last_used_step < ?,
 * used_at_ms IS NULL), so it holds across nodes sharing one database too. */
#include <string.h>

#include "base/base.h"
#include "pam/pam.h"

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

/* ---- throttling ---- */

int pam_throttle_check(struct store *s, const char *scope, const char *key, int64_t now_ms,
                       int64_t *retry_after_s)
{
    *retry_after_s = 0;
    struct store_stmt *st;
    int rc = store_prepare(s,
                           "SELECT locked_until_ms FROM pam_throttle WHERE scope = ? AND key = ?",
                           &st);
    if (rc != PB_OK)
        return rc;
    rc = bind_text(st, 1, scope);
    rc = rc ? rc : bind_text(st, 2, key);
    rc = rc ? rc : store_step(st);
    if (rc == STORE_ROW) {
        int64_t until = store_column_int64(st, 0);
        if (until > now_ms)
            *retry_after_s = (until - now_ms + 999) / 1000;
        rc = PB_OK;
    }
    store_finalize(st);
    return rc == STORE_DONE ? PB_OK : rc;
}

int pam_throttle_fail(struct store *tx, const char *scope, const char *key, int64_t max,
                      const struct pam_policy *policy, int64_t now_ms)
{
    PB_ASSERT(max >= 1 && policy->failure_window_s > 0 && policy->lockout_s > 0);
    struct store_stmt *st;
    int rc = store_prepare(tx,
                           "SELECT window_start_ms, failures, locked_until_ms FROM pam_throttle"
                           " WHERE scope = ? AND key = ?",
                           &st);
    if (rc != PB_OK)
        return rc;
    rc = bind_text(st, 1, scope);
    rc = rc ? rc : bind_text(st, 2, key);
    rc = rc ? rc : store_step(st);
    int64_t start = now_ms, failures = 0, until = 0;
    if (rc == STORE_ROW && now_ms - store_column_int64(st, 0) < policy->failure_window_s * 1000) {
        start = store_column_int64(st, 0);
        failures = store_column_int64(st, 1);
    }
    if (rc == STORE_ROW)
        until = store_column_int64(st, 2);
    store_finalize(st);
    if (rc != STORE_ROW && rc != STORE_DONE)
        return rc;
    if (++failures >= max) { /* lock, and start counting afresh once the lock ends */
        until = now_ms + policy->lockout_s * 1000;
        failures = 0;
        start = now_ms;
    }
    PB_ASSERT(failures >= 0 && failures < max);
    rc = store_prepare(tx,
                       "INSERT INTO pam_throttle (scope, key, window_start_ms, failures,"
                       " locked_until_ms) VALUES (?, ?, ?, ?, ?) ON CONFLICT (scope, key) DO"
                       " UPDATE SET window_start_ms = excluded.window_start_ms,"
                       " failures = excluded.failures, locked_until_ms = excluded.locked_until_ms",
                       &st);
    if (rc != PB_OK)
        return rc;
    rc = bind_text(st, 1, scope);
    rc = rc ? rc : bind_text(st, 2, key);
    rc = rc ? rc : store_bind_int64(st, 3, start);
    rc = rc ? rc : store_bind_int64(st, 4, failures);
    rc = rc ? rc : store_bind_int64(st, 5, until);
    return step_changes(st, rc, NULL);
}

int pam_throttle_reset(struct store *tx, const char *scope, const char *key)
{
    struct store_stmt *st;
    int rc = store_prepare(tx, "DELETE FROM pam_throttle WHERE scope = ? AND key = ?", &st);
    if (rc != PB_OK)
        return rc;
    rc = bind_text(st, 1, scope);
    rc = rc ? rc : bind_text(st, 2, key);
    return step_changes(st, rc, NULL);
}

/* ---- sessions ---- */

int pam_session_insert(struct store *tx, const struct pam_session *ses, const char *token_hash)
{
    PB_ASSERT(ses->id[0] && ses->player_id[0] && strlen(token_hash) == 64);
    PB_ASSERT(ses->expires_at_ms > ses->created_at_ms);
    struct store_stmt *st;
    int rc = store_prepare(tx,
                           "INSERT INTO pam_sessions (id, player_id, token_hash, created_at_ms,"
                           " expires_at_ms, last_seen_ms, revoked_at_ms, ip)"
                           " VALUES (?, ?, ?, ?, ?, ?, NULL, ?)",
                           &st);
    if (rc != PB_OK)
        return rc;
    rc = bind_text(st, 1, ses->id);
    rc = rc ? rc : bind_text(st, 2, ses->player_id);
    rc = rc ? rc : bind_text(st, 3, token_hash);
    rc = rc ? rc : store_bind_int64(st, 4, ses->created_at_ms);
    rc = rc ? rc : store_bind_int64(st, 5, ses->expires_at_ms);
    rc = rc ? rc : store_bind_int64(st, 6, ses->last_seen_ms);
    rc = rc ? rc : bind_text(st, 7, ses->ip);
    return step_changes(st, rc, NULL);
}

#define SESSION_COLUMNS                                                                        \
    "SELECT id, player_id, created_at_ms, expires_at_ms, last_seen_ms, ip FROM pam_sessions "
#define SESSION_LIVE "revoked_at_ms IS NULL AND expires_at_ms > ? AND last_seen_ms > ?"

static void read_session(struct store_stmt *st, struct pam_session *out)
{
    memset(out, 0, sizeof(*out));
    pb_strlcpy(out->id, store_column_text(st, 0), sizeof(out->id));
    pb_strlcpy(out->player_id, store_column_text(st, 1), sizeof(out->player_id));
    out->created_at_ms = store_column_int64(st, 2);
    out->expires_at_ms = store_column_int64(st, 3);
    out->last_seen_ms = store_column_int64(st, 4);
    pb_strlcpy(out->ip, store_column_text(st, 5), sizeof(out->ip));
    PB_ASSERT(out->id[0] && out->player_id[0] && out->expires_at_ms > out->created_at_ms);
}

int pam_session_lookup(struct store *s, const char *token_hash, int64_t now_ms, int64_t idle_s,
                       struct pam_session *out)
{
    struct store_stmt *st;
    int rc = store_prepare(s, SESSION_COLUMNS "WHERE token_hash = ? AND " SESSION_LIVE, &st);
    if (rc != PB_OK)
        return rc;
    rc = bind_text(st, 1, token_hash);
    rc = rc ? rc : store_bind_int64(st, 2, now_ms);
    rc = rc ? rc : store_bind_int64(st, 3, now_ms - idle_s * 1000);
    rc = rc ? rc : store_step(st);
    if (rc == STORE_ROW) {
        read_session(st, out);
        rc = PB_OK;
    } else if (rc == STORE_DONE) {
        rc = PB_ERR_NOT_FOUND;
    }
    store_finalize(st);
    return rc;
}

int pam_session_touch(struct store *tx, const char *session_id, int64_t now_ms)
{
    struct store_stmt *st;
    int rc = store_prepare(tx,
                           "UPDATE pam_sessions SET last_seen_ms = ?"
                           " WHERE id = ? AND last_seen_ms < ?",
                           &st);
    if (rc != PB_OK)
        return rc;
    rc = store_bind_int64(st, 1, now_ms);
    rc = rc ? rc : bind_text(st, 2, session_id);
    rc = rc ? rc : store_bind_int64(st, 3, now_ms);
    return step_changes(st, rc, NULL);
}

int pam_session_revoke(struct store *tx, const char *player_id, const char *session_id,
                       int64_t now_ms, int *count)
{
    *count = 0;
    struct store_stmt *st;
    int rc = store_prepare(tx,
                           session_id ? "UPDATE pam_sessions SET revoked_at_ms = ? WHERE"
                                        " player_id = ? AND revoked_at_ms IS NULL AND id = ?"
                                      : "UPDATE pam_sessions SET revoked_at_ms = ? WHERE"
                                        " player_id = ? AND revoked_at_ms IS NULL",
                           &st);
    if (rc != PB_OK)
        return rc;
    rc = store_bind_int64(st, 1, now_ms);
    rc = rc ? rc : bind_text(st, 2, player_id);
    if (session_id)
        rc = rc ? rc : bind_text(st, 3, session_id);
    int64_t changes = 0;
    rc = step_changes(st, rc, &changes);
    *count = (int)changes;
    return rc;
}

int pam_session_list(struct store *s, const char *player_id, int64_t now_ms, int64_t idle_s,
                     struct pam_session *out, size_t max, size_t *n)
{
    *n = 0;
    struct store_stmt *st;
    int rc = store_prepare(s,
                           SESSION_COLUMNS "WHERE player_id = ? AND " SESSION_LIVE
                                           " ORDER BY created_at_ms DESC, id DESC",
                           &st);
    if (rc != PB_OK)
        return rc;
    rc = bind_text(st, 1, player_id);
    rc = rc ? rc : store_bind_int64(st, 2, now_ms);
    rc = rc ? rc : store_bind_int64(st, 3, now_ms - idle_s * 1000);
    while (rc == PB_OK && *n < max && (rc = store_step(st)) == STORE_ROW) {
        read_session(st, &out[(*n)++]);
        rc = PB_OK;
    }
    store_finalize(st);
    return rc == STORE_DONE ? PB_OK : rc;
}

int pam_session_time(struct store *s, const char *player_id, int64_t from_ms, int64_t now_ms,
                     int64_t idle_s, int64_t *ms)
{
    *ms = 0;
    struct store_stmt *st;
    /* Sessions that began before now and may still overlap the window. */
    int rc = store_prepare(s,
                           "SELECT id, player_id, created_at_ms, expires_at_ms, last_seen_ms, ip,"
                           " revoked_at_ms FROM pam_sessions WHERE player_id = ?"
                           " AND created_at_ms < ? AND expires_at_ms > ? AND last_seen_ms >= ?"
                           " ORDER BY created_at_ms, id",
                           &st);
    if (rc != PB_OK)
        return rc;
    rc = bind_text(st, 1, player_id);
    rc = rc ? rc : store_bind_int64(st, 2, now_ms);
    rc = rc ? rc : store_bind_int64(st, 3, from_ms);
    rc = rc ? rc : store_bind_int64(st, 4, from_ms - idle_s * 1000);
    int64_t covered_to = from_ms; /* overlapping sessions are counted once */
    size_t rows = 0;
    while (rc == PB_OK && rows < PAM_SESSION_TIME_ROWS_MAX &&
           (rc = store_step(st)) == STORE_ROW) {
        rows++;
        rc = PB_OK;
        struct pam_session ses;
        int64_t revoked = store_column_is_null(st, 6) ? INT64_MAX : store_column_int64(st, 6);
        read_session(st, &ses);
        /* A live session lasts until now; an ended one until its last activity. */
        bool live = revoked > now_ms && ses.expires_at_ms > now_ms &&
                    ses.last_seen_ms >= now_ms - idle_s * 1000;
        int64_t end = live ? now_ms : ses.last_seen_ms;
        if (revoked < end)
            end = revoked;
        int64_t start = ses.created_at_ms > covered_to ? ses.created_at_ms : covered_to;
        if (end > start) {
            *ms += end - start;
            covered_to = end;
        }
    }
    store_finalize(st);
    return rc == STORE_DONE || rc == PB_OK ? PB_OK : rc;
}

int pam_sessions_live_each(struct store *s, int64_t now_ms, int64_t idle_s,
                           pam_session_fn fn, void *arg)
{
    struct store_stmt *st;
    int rc = store_prepare(s, SESSION_COLUMNS "WHERE " SESSION_LIVE " ORDER BY created_at_ms",
                           &st);
    if (rc != PB_OK)
        return rc;
    rc = store_bind_int64(st, 1, now_ms);
    rc = rc ? rc : store_bind_int64(st, 2, now_ms - idle_s * 1000);
    while (rc == PB_OK && (rc = store_step(st)) == STORE_ROW) {
        struct pam_session ses;
        read_session(st, &ses);
        rc = fn(&ses, arg);
    }
    store_finalize(st);
    return rc == STORE_DONE ? PB_OK : rc;
}

/* ---- TOTP ---- */

int pam_totp_begin(struct store *tx, const char *player_id, const char *secret_b32,
                   int64_t now_ms)
{
    struct store_stmt *st;
    int rc = store_prepare(tx,
                           "INSERT INTO pam_totp (player_id, secret, active, last_used_step,"
                           " created_at_ms) VALUES (?, ?, 0, -1, ?) ON CONFLICT (player_id) DO"
                           " UPDATE SET secret = excluded.secret, last_used_step = -1,"
                           " created_at_ms = excluded.created_at_ms WHERE pam_totp.active = 0",
                           &st);
    if (rc != PB_OK)
        return rc;
    rc = bind_text(st, 1, player_id);
    rc = rc ? rc : bind_text(st, 2, secret_b32);
    rc = rc ? rc : store_bind_int64(st, 3, now_ms);
    int64_t changes = 0;
    rc = step_changes(st, rc, &changes);
    return rc == PB_OK && changes == 0 ? PB_ERR_CONFLICT : rc;
}

int pam_totp_get(struct store *s, const char *player_id, struct pam_totp_state *out)
{
    memset(out, 0, sizeof(*out));
    struct store_stmt *st;
    int rc = store_prepare(s,
                           "SELECT secret, active, last_used_step FROM pam_totp"
                           " WHERE player_id = ?",
                           &st);
    if (rc != PB_OK)
        return rc;
    rc = bind_text(st, 1, player_id);
    rc = rc ? rc : store_step(st);
    if (rc == STORE_ROW) {
        const char *b32 = store_column_text(st, 0);
        rc = pam_base32_decode(b32, strlen(b32), out->secret, sizeof(out->secret),
                               &out->secret_len);
        PB_ASSERT(rc == PB_OK); /* only pam_totp_begin writes it, from a fresh secret */
        out->exists = true;
        out->active = store_column_int64(st, 1) != 0;
        out->last_used_step = store_column_int64(st, 2);
    }
    store_finalize(st);
    return rc == STORE_ROW || rc == STORE_DONE ? PB_OK : rc;
}

int pam_totp_use_step(struct store *tx, const char *player_id, int64_t step)
{
    PB_ASSERT(step >= 0);
    struct store_stmt *st;
    int rc = store_prepare(tx,
                           "UPDATE pam_totp SET last_used_step = ?"
                           " WHERE player_id = ? AND last_used_step < ?",
                           &st);
    if (rc != PB_OK)
        return rc;
    rc = store_bind_int64(st, 1, step);
    rc = rc ? rc : bind_text(st, 2, player_id);
    rc = rc ? rc : store_bind_int64(st, 3, step);
    int64_t changes = 0;
    rc = step_changes(st, rc, &changes);
    return rc == PB_OK && changes != 1 ? PB_ERR_CONFLICT : rc;
}

static int exec_player(struct store *tx, const char *sql, const char *player_id,
                       int64_t *changes)
{
    struct store_stmt *st;
    int rc = store_prepare(tx, sql, &st);
    if (rc != PB_OK)
        return rc;
    return step_changes(st, bind_text(st, 1, player_id), changes);
}

int pam_totp_activate(struct store *tx, const char *player_id,
                      const char hashes[][PAM_RECOVERY_HASH_SIZE], size_t n)
{
    PB_ASSERT(n >= 1 && n <= PAM_RECOVERY_CODES_MAX);
    int64_t changes = 0;
    int rc = exec_player(tx, "UPDATE pam_totp SET active = 1 WHERE player_id = ? AND active = 0",
                         player_id, &changes);
    if (rc == PB_OK && changes != 1)
        return PB_ERR_CONFLICT;
    if (rc == PB_OK)
        rc = exec_player(tx, "DELETE FROM pam_recovery_codes WHERE player_id = ?", player_id,
                         NULL);
    for (size_t i = 0; rc == PB_OK && i < n; i++) {
        struct store_stmt *st;
        rc = store_prepare(tx,
                           "INSERT INTO pam_recovery_codes (player_id, idx, hash, used_at_ms)"
                           " VALUES (?, ?, ?, NULL)",
                           &st);
        if (rc != PB_OK)
            break;
        rc = bind_text(st, 1, player_id);
        rc = rc ? rc : store_bind_int64(st, 2, (int64_t)i);
        rc = rc ? rc : bind_text(st, 3, hashes[i]);
        rc = step_changes(st, rc, NULL);
    }
    return rc;
}

int pam_totp_remove(struct store *tx, const char *player_id)
{
    int rc = exec_player(tx, "DELETE FROM pam_totp WHERE player_id = ?", player_id, NULL);
    if (rc == PB_OK)
        rc = exec_player(tx, "DELETE FROM pam_recovery_codes WHERE player_id = ?", player_id,
                         NULL);
    return rc;
}

/* Reads the unused recovery code hashes: hashes[idx] or NULL when used or absent. */
static int recovery_hashes(struct store *s, const char *player_id,
                           char store_[PAM_RECOVERY_CODES_MAX][PAM_RECOVERY_HASH_SIZE],
                           const char *hashes[PAM_RECOVERY_CODES_MAX])
{
    struct store_stmt *st;
    int rc = store_prepare(s,
                           "SELECT idx, hash FROM pam_recovery_codes"
                           " WHERE player_id = ? AND used_at_ms IS NULL",
                           &st);
    if (rc != PB_OK)
        return rc;
    rc = bind_text(st, 1, player_id);
    while (rc == PB_OK && (rc = store_step(st)) == STORE_ROW) {
        int64_t idx = store_column_int64(st, 0);
        PB_ASSERT(idx >= 0 && idx < PAM_RECOVERY_CODES_MAX);
        pb_strlcpy(store_[idx], store_column_text(st, 1), PAM_RECOVERY_HASH_SIZE);
        hashes[idx] = store_[idx];
        rc = PB_OK;
    }
    store_finalize(st);
    return rc == STORE_DONE ? PB_OK : rc;
}

int pam_recovery_use(struct store *tx, const char *player_id, const char *code, int64_t now_ms)
{
    char text[PAM_RECOVERY_CODES_MAX][PAM_RECOVERY_HASH_SIZE];
    const char *hashes[PAM_RECOVERY_CODES_MAX] = {0};
    int rc = recovery_hashes(tx, player_id, text, hashes);
    size_t idx;
    if (rc != PB_OK)
        return rc;
    if (pam_recovery_code_verify(code, hashes, PAM_RECOVERY_CODES_MAX, &idx) != PB_OK)
        return PB_ERR_INVALID;
    struct store_stmt *st;
    rc = store_prepare(tx,
                       "UPDATE pam_recovery_codes SET used_at_ms = ?"
                       " WHERE player_id = ? AND idx = ? AND used_at_ms IS NULL",
                       &st);
    if (rc != PB_OK)
        return rc;
    rc = store_bind_int64(st, 1, now_ms);
    rc = rc ? rc : bind_text(st, 2, player_id);
    rc = rc ? rc : store_bind_int64(st, 3, (int64_t)idx);
    int64_t changes = 0;
    rc = step_changes(st, rc, &changes);
    return rc == PB_OK && changes != 1 ? PB_ERR_INVALID : rc;
}

static bool six_digits(const char *code)
{
    return strlen(code) == 6 && strspn(code, "0123456789") == 6;
}

int pam_second_factor_use(struct store *tx, const char *player_id, const char *code,
                          int64_t now_ms)
{
    struct pam_totp_state t;
    int rc = pam_totp_get(tx, player_id, &t);
    if (rc != PB_OK)
        return rc;
    if (!t.exists || !t.active)
        return PB_ERR_INVALID;
    if (!six_digits(code))
        return pam_recovery_use(tx, player_id, code, now_ms);
    int64_t step;
    rc = pam_totp_verify(t.secret, t.secret_len, code, now_ms / 1000, t.last_used_step, NULL,
                         &step);
    if (rc != PB_OK)
        return rc; /* PB_ERR_INVALID wrong, PB_ERR_CONFLICT replayed */
    return pam_totp_use_step(tx, player_id, step);
}
