/* staff_http.c: the staff routes (staff_http.h; decisions in docs/staff.md).
 *
 * Pipeline per request: authenticate and authorise (staff_authenticate: 401, 403 naming the
 * permission) -> path and query (400/404, the field named) -> strict body decoding (400) ->
 * slow crypto on this HTTP thread (argon2id) -> one writer command (struct staff_cmd) that
 * re-reads what it changes, changes it and writes the audit row (actor, action, subject,
 * before, after, reason, request id) in the same savepoint. The command sets its answer;
 * staff_finish turns it into the response. */
#include "pam/staff_http.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/base.h"
#include "core/writer.h"
#include "ledger/ledger_http.h"
#include "pam/pam.h"
#include "pam/pam_http.h"
#include "store/store.h"

#define EMAIL_INPUT_MAX 320
#define PASSWORD_INPUT_MAX 1024
#define CODE_INPUT_MAX 16
#define THROTTLE_ACCOUNT "staff"  /* pam_throttle scope: key the normalized e-mail */
#define THROTTLE_IP "staff_ip"    /* pam_throttle scope: key the peer address */
#define INVALID_CREDENTIALS "the e-mail address, the password or the code is not correct"
#define HEX "0123456789abcdef"

/* ---- the command ---- */

struct staff_cmd;
typedef int (*staff_run_fn)(struct store *tx, struct staff_cmd *c);
typedef void (*staff_ok_fn)(struct staff_cmd *c, struct http_response *resp);

struct staff_cmd {
    struct writer_cmd cmd; /* first: the server frees the struct */
    staff_run_fn run;
    staff_ok_fn ok;
    const struct pam_config *cfg;
    int64_t now_ms;
    char ip[PAM_IP_MAX + 1];
    char request_id[PB_HTTP_REQUEST_ID_MAX + 1];
    struct staff_principal who;
    /* login and staff creation */
    struct staff_user user;
    bool found, password_ok;
    char code[CODE_INPUT_MAX + 1];
    char email_key[PAM_EMAIL_SIZE + 8];
    struct staff_session session;
    char token[PAM_TOKEN_TEXT_SIZE];
    char token_hash[PAM_TOKEN_HASH_HEX_SIZE];
    char password[STAFF_PASSWORD_GENERATED_LEN + 1];
    /* player actions */
    char player_id[PAM_PLAYER_ID_SIZE];
    unsigned block;
    unsigned blocks_after;
    char reason[STAFF_HTTP_REASON_MAX + 1];
    /* the audit export: the CSV lives after the struct (one allocation) */
    const char *csv;
    size_t csv_len;
    const char *export_range; /* audit export: {"from","to"} for the audit row */
    struct http_refusal refusal; /* the answer when it is a problem (status != 0) */
};

static void set_problem(struct staff_cmd *c, int status, const char *code, const char *detail,
                        const char *field)
{
    c->refusal = (struct http_refusal){status, code, detail, field, 0};
}

static int staff_cmd_run(struct store *tx, struct writer_cmd *cmd)
{
    struct staff_cmd *c = (struct staff_cmd *)cmd;
    return c->run(tx, c);
}

static struct staff_cmd *staff_cmd_new(struct http_request *req, staff_run_fn run,
                                       staff_ok_fn ok, size_t extra)
{
    struct staff_cmd *c = pb_calloc(1, sizeof(*c) + extra);
    c->cmd.run = staff_cmd_run;
    c->run = run;
    c->ok = ok;
    c->cfg = app_pam_config(req->app);
    c->now_ms = pb_wall_ms();
    app_peer_address(req, c->ip, sizeof(c->ip));
    pb_strlcpy(c->request_id, req->request_id, sizeof(c->request_id));
    return c;
}

static void staff_finish(struct http_request *req, struct writer_cmd *cmd,
                         struct http_response *resp)
{
    PB_UNUSED(req);
    struct staff_cmd *c = (struct staff_cmd *)cmd;
    if (!http_answer_refusal(&c->refusal, cmd->status, resp))
        c->ok(c, resp);
}

static enum http_result submit(struct http_request *req, struct staff_cmd *c)
{
    return http_submit(req, app_writer(req->app), &c->cmd, staff_finish);
}

/* ---- common pieces ---- */

static int reader_acquire(void *app, struct store **s)
{
    return store_pool_acquire(app_readers(app), PAM_HTTP_READER_WAIT_MS, s) == PB_OK
               ? PB_OK
               : PB_ERR_TIMEOUT;
}

static void no_content(struct staff_cmd *c, struct http_response *resp)
{
    PB_UNUSED(c);
    pb_buf_reset(&resp->body);
    resp->status = 204;
    resp->content_type = NULL;
}

/* The audit row of c's action on subject. */
static int audit(struct store *tx, struct staff_cmd *c, const char *action, const char *subject,
                 const char *before, const char *after)
{
    struct staff_audit a = {c->who.actor, action, subject, c->reason, before, after,
                            c->request_id, c->now_ms};
    return staff_audit_write(tx, &a);
}

/* ---- authentication ---- */

static bool token_equal(const char *given, const char *want)
{
    size_t n = strlen(want);
    if (strlen(given) != n)
        return false;
    unsigned char diff = 0; /* constant time in the token's content */
    for (size_t i = 0; i < n; i++)
        diff |= (unsigned char)(given[i] ^ want[i]);
    return diff == 0;
}

struct touch_cmd {
    struct writer_cmd cmd;
    char session_id[STAFF_ID_SIZE];
    int64_t now_ms;
};

static int touch_run(struct store *tx, struct writer_cmd *cmd)
{
    struct touch_cmd *t = (struct touch_cmd *)cmd;
    return staff_session_touch(tx, t->session_id, t->now_ms);
}

static void touch_done(struct writer_cmd *cmd)
{
    pb_free(cmd);
}

/* Moves last-seen forward without waiting; a full queue skips it (the next request retries). */
static void touch_later(void *app, const char *session_id, int64_t now_ms)
{
    struct touch_cmd *t = pb_calloc(1, sizeof(*t));
    t->cmd = (struct writer_cmd){.run = touch_run, .done = touch_done};
    pb_strlcpy(t->session_id, session_id, sizeof(t->session_id));
    t->now_ms = now_ms;
    if (writer_submit(app_writer(app), &t->cmd) != PB_OK)
        pb_free(t);
}

static void unauthorized(struct http_response *resp, const char *detail)
{
    http_problem(resp, 401, "unauthorized", "Unauthorized", detail, NULL);
    http_header_add(resp, "WWW-Authenticate", "Bearer");
}

static void forbidden(struct http_response *resp, const char *permission)
{
    char detail[128];
    snprintf(detail, sizeof(detail), "your role lacks the permission %s", permission);
    http_json(resp, 403, json_pack("{s:s,s:s,s:i,s:s,s:s,s:s}", "type",
                                   "https://pitboss.dev/problems/forbidden", "title",
                                   "Forbidden", "status", 403, "code", "forbidden", "detail",
                                   detail, "permission", permission));
    resp->content_type = "application/problem+json";
}

/* A staff session token: fills out or answers 401/503. */
static int session_principal(void *app, const char *token, struct staff_principal *out,
                             struct http_response *resp)
{
    char hash[PAM_TOKEN_HASH_HEX_SIZE];
    if (pam_token_hash(token, hash) != PB_OK)
        return unauthorized(resp, "the token is not valid"), PB_ERR_INVALID;
    int64_t now_ms = pb_wall_ms();
    struct store *s;
    int rc = reader_acquire(app, &s);
    if (rc != PB_OK)
        return http_unavailable(resp, rc), rc;
    struct staff_session ses;
    struct staff_user u;
    rc = staff_session_lookup(s, hash, now_ms, &ses, &u);
    store_pool_release(app_readers(app), s);
    if (rc == PB_ERR_NOT_FOUND)
        return unauthorized(resp, "the session is not valid or has expired"), PB_ERR_INVALID;
    if (rc != PB_OK)
        return http_unavailable(resp, rc), rc;
    pb_strlcpy(out->staff_id, u.id, sizeof(out->staff_id));
    pb_strlcpy(out->email, u.email, sizeof(out->email));
    pb_strlcpy(out->session_id, ses.id, sizeof(out->session_id));
    out->role = u.role;
    out->permissions = staff_role_permissions(u.role);
    snprintf(out->actor, sizeof(out->actor), STAFF_ACTOR_PREFIX "%s", u.id);
    if (now_ms - ses.last_seen_ms >= STAFF_SESSION_TOUCH_S * 1000)
        touch_later(app, ses.id, now_ms);
    return PB_OK;
}

int staff_authenticate(void *app, struct http_request *req, const char *permission,
                       struct staff_principal *out, struct http_response *resp)
{
    memset(out, 0, sizeof(*out));
    unsigned need = permission ? staff_permission_parse(permission) : 0;
    PB_ASSERT(!permission || need != 0); /* route tables name known permissions */
    const char *auth = http_header(req, "Authorization");
    if (!auth || strncasecmp(auth, "Bearer ", 7) != 0)
        return unauthorized(resp, "an Authorization: Bearer token is required"),
               PB_ERR_INVALID;
    const char *service = app_staff_token(app);
    if (service && service[0] && token_equal(auth + 7, service)) {
        out->service = true;
        out->permissions = STAFF_PERM_ALL;
        pb_strlcpy(out->actor, STAFF_ACTOR_SERVICE, sizeof(out->actor));
        return PB_OK;
    }
    int rc = session_principal(app, auth + 7, out, resp);
    if (rc != PB_OK)
        return rc;
    if ((out->permissions & need) != need)
        return forbidden(resp, permission), PB_ERR_CONFLICT;
    return PB_OK;
}

/* ---- POST /api/v1/admin/sessions (login) ---- */

struct login_body {
    const char *email;
    const char *password;
    const char *totp_code;
};

/* Both counters count the failure; the login answers 401. */
static int login_failed(struct store *tx, struct staff_cmd *c, const char *code,
                        const char *detail)
{
    const struct pam_policy *p = &c->cfg->policy;
    set_problem(c, 401, code, detail, NULL);
    int rc = pam_throttle_fail(tx, THROTTLE_ACCOUNT, c->email_key, p->account_failures_max, p,
                               c->now_ms);
    return rc ? rc : pam_throttle_fail(tx, THROTTLE_IP, c->ip, p->ip_failures_max, p,
                                       c->now_ms);
}

static int login_locked(struct store *tx, struct staff_cmd *c, bool *locked)
{
    int64_t ip_retry = 0, account_retry = 0;
    int rc = pam_throttle_check(tx, THROTTLE_IP, c->ip, c->now_ms, &ip_retry);
    if (rc == PB_OK)
        rc = pam_throttle_check(tx, THROTTLE_ACCOUNT, c->email_key, c->now_ms,
                                &account_retry);
    *locked = ip_retry > 0 || account_retry > 0;
    if (*locked) {
        c->refusal.status = 429;
        c->refusal.retry_after_s = ip_retry > account_retry ? ip_retry : account_retry;
    }
    return rc;
}

static int login_run(struct store *tx, struct staff_cmd *c)
{
    bool locked;
    int rc = login_locked(tx, c, &locked);
    if (rc != PB_OK || locked)
        return rc;
    if (!c->password_ok || c->user.status != STAFF_ACTIVE)
        return login_failed(tx, c, "invalid_credentials", INVALID_CREDENTIALS);
    rc = staff_totp_check(tx, &c->user, c->code, c->now_ms);
    if (rc == PB_ERR_INVALID)
        return login_failed(tx, c, "invalid_credentials", INVALID_CREDENTIALS);
    if (rc == PB_ERR_CONFLICT)
        return login_failed(tx, c, "totp_replayed",
                            "this code was already used; wait for the next one");
    rc = rc ? rc : pam_throttle_reset(tx, THROTTLE_ACCOUNT, c->email_key);
    rc = rc ? rc : staff_session_insert(tx, &c->session, c->token_hash);
    char subject[AUDIT_SUBJECT_MAX + 1], after[96];
    snprintf(subject, sizeof(subject), STAFF_ACTOR_PREFIX "%s", c->user.id);
    snprintf(after, sizeof(after), "{\"session_id\":\"%s\"}", c->session.id);
    pb_strlcpy(c->who.actor, subject, sizeof(c->who.actor));
    pb_strlcpy(c->reason, "login", sizeof(c->reason));
    return rc ? rc : audit(tx, c, "staff.login", subject, "{}", after);
}

static void login_ok(struct staff_cmd *c, struct http_response *resp)
{
    char expires[PB_TIME_TEXT_MAX];
    pb_format_time_ms(c->session.expires_at_ms, expires);
    json_t *perms = json_array();
    for (unsigned i = 0; i < STAFF_PERMISSIONS_COUNT; i++)
        if (staff_role_permissions(c->user.role) & (1u << i))
            json_array_append_new(perms, json_string(staff_permission_name(1u << i)));
    http_json(resp, 201, json_pack("{s:s,s:s,s:s,s:s,s:s,s:o}", "token", c->token,
                                   "expires_at", expires, "staff_id", c->user.id,
                                   "session_id", c->session.id, "role",
                                   staff_role_name(c->user.role), "permissions", perms));
}

/* Reads the user (if any) and the locks; false with a 429/503 answer in resp. */
static bool login_read(struct http_request *req, struct http_response *resp,
                       struct staff_cmd *c)
{
    struct store *s;
    int64_t ip_retry = 0, account_retry = 0;
    int rc = reader_acquire(req->app, &s);
    if (rc != PB_OK)
        return http_unavailable(resp, rc), false;
    rc = pam_throttle_check(s, THROTTLE_IP, c->ip, c->now_ms, &ip_retry);
    rc = rc ? rc : pam_throttle_check(s, THROTTLE_ACCOUNT, c->email_key, c->now_ms,
                                      &account_retry);
    rc = rc ? rc : staff_user_find(s, c->email_key, &c->user);
    store_pool_release(app_readers(req->app), s);
    c->found = rc == PB_OK;
    if (rc != PB_OK && rc != PB_ERR_NOT_FOUND)
        return http_unavailable(resp, rc), false;
    if (ip_retry > 0 || account_retry > 0)
        return http_too_many(resp, ip_retry > account_retry ? ip_retry : account_retry), false;
    return true;
}

static bool login_prepare(struct http_request *req, struct http_response *resp,
                          const struct login_body *b, struct staff_cmd *c)
{
    bool email_ok =
        pam_email_normalize(b->email, strlen(b->email), c->email_key, NULL) == PB_OK;
    if (!email_ok)
        pb_strlcpy(c->email_key, b->email, sizeof(c->email_key));
    if (email_ok && !login_read(req, resp, c))
        return false;
    /* The same argon2id work whether or not the user exists (no timing oracle). */
    c->password_ok = c->found ? pam_password_verify(c->user.password_hash, b->password) == 0
                              : (pam_password_verify_dummy(b->password), false);
    pb_strlcpy(c->code, b->totp_code, sizeof(c->code));
    pam_token_new(c->token, c->token_hash);
    pb_random_hex(c->session.id, (STAFF_ID_SIZE - 1) / 2);
    pb_strlcpy(c->session.staff_id, c->user.id[0] ? c->user.id : "-",
               sizeof(c->session.staff_id));
    c->session.created_at_ms = c->session.last_seen_ms = c->now_ms;
    c->session.expires_at_ms = c->now_ms + STAFF_SESSION_TTL_S * 1000;
    pb_strlcpy(c->session.ip, c->ip, sizeof(c->session.ip));
    return true;
}

static enum http_result post_session(struct http_request *req, struct http_response *resp)
{
    static const struct pb_json_field fields[] = {
        PB_JSON_STR(struct login_body, email, PB_JSON_REQUIRED, 1, EMAIL_INPUT_MAX),
        PB_JSON_STR(struct login_body, password, PB_JSON_REQUIRED, 1, PASSWORD_INPUT_MAX),
        PB_JSON_STR(struct login_body, totp_code, PB_JSON_REQUIRED, 1, CODE_INPUT_MAX),
    };
    struct login_body b = {0};
    json_t *root;
    struct staff_cmd *c = staff_cmd_new(req, login_run, login_ok, 0);
    bool ok = http_decode_body(req, resp, fields, PB_ARRAY_LEN(fields), &b, &root) &&
              login_prepare(req, resp, &b, c);
    json_decref(root);
    if (!ok) {
        pb_free(c);
        return HTTP_DONE;
    }
    return submit(req, c);
}

/* ---- DELETE /api/v1/admin/sessions (logout) ---- */

static int logout_run(struct store *tx, struct staff_cmd *c)
{
    int count = 0;
    int rc = staff_session_revoke(tx, c->who.session_id, c->now_ms, &count);
    if (rc != PB_OK || count == 0)
        return rc; /* already revoked by a concurrent logout: nothing to audit */
    char subject[AUDIT_SUBJECT_MAX + 1], before[96];
    snprintf(subject, sizeof(subject), STAFF_ACTOR_PREFIX "%s", c->who.staff_id);
    snprintf(before, sizeof(before), "{\"session_id\":\"%s\"}", c->who.session_id);
    pb_strlcpy(c->reason, "logout", sizeof(c->reason));
    return audit(tx, c, "staff.logout", subject, before, "{}");
}

static enum http_result delete_sessions(struct http_request *req, struct http_response *resp)
{
    struct staff_principal who;
    if (staff_authenticate(req->app, req, NULL, &who, resp) != PB_OK)
        return HTTP_DONE;
    if (who.service) {
        http_invalid(resp, "Authorization", "the staff service token has no session to end");
        return HTTP_DONE;
    }
    struct staff_cmd *c = staff_cmd_new(req, logout_run, no_content, 0);
    c->who = who;
    return submit(req, c);
}

/* ---- POST /api/v1/admin/staff ---- */

struct create_body {
    const char *email;
    const char *role;
    const char *reason;
};

static int create_run(struct store *tx, struct staff_cmd *c)
{
    int rc = staff_user_insert(tx, &c->user);
    if (rc == PB_ERR_CONFLICT) {
        set_problem(c, 409, "email_taken", "a staff user with this e-mail exists", "email");
        return PB_OK;
    }
    char subject[AUDIT_SUBJECT_MAX + 1], after[PAM_EMAIL_SIZE + 64];
    snprintf(subject, sizeof(subject), STAFF_ACTOR_PREFIX "%s", c->user.id);
    snprintf(after, sizeof(after), "{\"email\":\"%s\",\"role\":\"%s\",\"status\":\"active\"}",
             c->user.email, staff_role_name(c->user.role)); /* normalized: no quotes */
    return rc ? rc : audit(tx, c, "staff.create", subject, "{}", after);
}

static void create_ok(struct staff_cmd *c, struct http_response *resp)
{
    struct pb_buf uri = PB_BUF_INIT;
    int rc = pam_totp_uri(STAFF_TOTP_ISSUER, c->user.email, c->user.totp_secret_b32, NULL,
                          &uri);
    PB_ASSERT(rc == PB_OK);
    http_json(resp, 201, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "staff_id", c->user.id,
                                   "email", c->user.email, "role",
                                   staff_role_name(c->user.role), "status", "active",
                                   "password", c->password, "totp_secret",
                                   c->user.totp_secret_b32, "otpauth_uri", pb_buf_str(&uri)));
    pb_buf_release(&uri);
}

static bool create_rules(const struct create_body *b, struct staff_cmd *c,
                         struct http_response *resp, enum staff_role *role)
{
    const char *reason = NULL;
    char email[PAM_EMAIL_SIZE];
    if (pam_email_normalize(b->email, strlen(b->email), email, &reason) != PB_OK)
        return http_invalid(resp, "email", reason), false;
    *role = staff_role_parse(b->role);
    if (*role == 0)
        return http_invalid(resp, "role", "role_unknown"), false;
    pb_strlcpy(c->reason, b->reason ? b->reason : "staff user created", sizeof(c->reason));
    pb_random_hex(c->password, STAFF_PASSWORD_GENERATED_LEN / 2);
    /* argon2id (~70 ms) here on the HTTP thread, never on the writer. */
    int rc = staff_user_prepare(&c->user, email, *role, c->password, c->now_ms);
    PB_ASSERT(rc == PB_OK);
    return true;
}

static enum http_result post_staff(struct http_request *req, struct http_response *resp)
{
    static const struct pb_json_field fields[] = {
        PB_JSON_STR(struct create_body, email, PB_JSON_REQUIRED, 1, EMAIL_INPUT_MAX),
        PB_JSON_STR(struct create_body, role, PB_JSON_REQUIRED, 1, 32),
        PB_JSON_STR(struct create_body, reason, PB_JSON_OPTIONAL, 1, STAFF_HTTP_REASON_MAX),
    };
    struct staff_principal who;
    if (staff_authenticate(req->app, req, "staff.manage", &who, resp) != PB_OK)
        return HTTP_DONE;
    struct create_body b = {0};
    json_t *root;
    enum staff_role role;
    struct staff_cmd *c = staff_cmd_new(req, create_run, create_ok, 0);
    c->who = who;
    bool ok = http_decode_body(req, resp, fields, PB_ARRAY_LEN(fields), &b, &root) &&
              create_rules(&b, c, resp, &role);
    json_decref(root);
    if (!ok) {
        pb_free(c);
        return HTTP_DONE;
    }
    return submit(req, c);
}

/* ---- players: search and profile ---- */

static bool player_id_ok(const char *id)
{
    return strlen(id) == PAM_PLAYER_ID_SIZE - 1 && strspn(id, HEX) == PAM_PLAYER_ID_SIZE - 1;
}

static void player_not_found(struct http_response *resp)
{
    http_problem(resp, 404, "not_found", "Not found", "no player has this id", "player_id");
}

static void block_json(unsigned block, const char *reason, int64_t since_ms, void *arg)
{
    char since[PB_TIME_TEXT_MAX];
    pb_format_time_ms(since_ms, since);
    json_array_append_new(arg, json_pack("{s:s,s:s,s:s}", "block", pam_block_name(block),
                                         "reason", reason, "since", since));
}

/* The player as staff see it: PII masked unless pii. */
static json_t *player_json(const struct pam_player *p, bool pii)
{
    char created[PB_TIME_TEXT_MAX], email[PAM_EMAIL_SIZE], dob[PAM_DATE_TEXT_LEN + 1];
    pb_format_time_ms(p->created_at_ms, created);
    pb_strlcpy(email, p->email, sizeof(email));
    pb_strlcpy(dob, p->date_of_birth, sizeof(dob));
    if (!pii) {
        staff_mask_email(p->email, email);
        staff_mask_date(p->date_of_birth, dob);
    }
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:b}", "player_id", p->id, "brand",
                     p->brand, "email", email, "date_of_birth", dob, "country", p->country,
                     "currency", p->currency, "status", p->closed ? "closed" : "active",
                     "created_at", created, "pii_masked", !pii);
}

static int read_profile(struct store *s, const char *player_id, bool pii, json_t **out)
{
    struct pam_player p;
    int rc = pam_player_get(s, player_id, &p);
    if (rc != PB_OK)
        return rc;
    char key[PAM_NAME_MAX + PAM_EMAIL_SIZE + 2];
    int64_t retry = 0;
    snprintf(key, sizeof(key), "%s/%s", p.brand, p.email);
    rc = pam_throttle_check(s, "account", key, pb_wall_ms(), &retry);
    json_t *blocks = json_array();
    rc = rc ? rc : pam_player_blocks_each(s, player_id, block_json, blocks);
    if (rc != PB_OK) {
        json_decref(blocks);
        return rc;
    }
    *out = player_json(&p, pii);
    json_object_set_new(*out, "blocks", blocks);
    json_object_set_new(*out, "login_locked_for_s", json_integer(retry));
    return PB_OK;
}

static enum http_result get_player(struct http_request *req, struct http_response *resp)
{
    struct staff_principal who;
    struct store *s;
    if (staff_authenticate(req->app, req, "players.read", &who, resp) != PB_OK)
        return HTTP_DONE;
    PB_ASSERT(req->nparams == 1);
    if (!player_id_ok(req->params[0]))
        return player_not_found(resp), HTTP_DONE;
    int rc = reader_acquire(req->app, &s);
    if (rc != PB_OK)
        return http_unavailable(resp, rc), HTTP_DONE;
    json_t *doc = NULL;
    rc = read_profile(s, req->params[0], who.permissions & STAFF_PERM_PLAYERS_READ_PII, &doc);
    store_pool_release(app_readers(req->app), s);
    if (rc == PB_ERR_NOT_FOUND)
        player_not_found(resp);
    else if (rc != PB_OK)
        http_unavailable(resp, rc);
    else
        http_json(resp, 200, doc);
    return HTTP_DONE;
}

struct search_query {
    char email_like[2 * EMAIL_INPUT_MAX + 2]; /* escaped prefix + '%' */
    int64_t limit;
    char cursor[PAM_PLAYER_ID_SIZE];
};

/* Reads ?email=&limit=&cursor=; false with a 400 naming the parameter. */
static bool search_query(struct http_request *req, struct http_response *resp,
                         struct search_query *q)
{
    const char *email = http_query(req, "email"), *limit = http_query(req, "limit");
    const char *cursor = http_query(req, "cursor");
    size_t n = 0;
    if (email && strlen(email) > EMAIL_INPUT_MAX)
        return http_invalid(resp, "email", "must be at most 320 characters"), false;
    for (const char *p = email ? email : ""; *p; p++) { /* lower case, LIKE escaped */
        if (*p == '%' || *p == '_' || *p == '\\')
            q->email_like[n++] = '\\';
        q->email_like[n++] = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
    }
    q->email_like[n] = '%';
    q->limit = STAFF_HTTP_PAGE_DEFAULT;
    if (limit) {
        char *end;
        long long v = strtoll(limit, &end, 10);
        if (!limit[0] || *end || v < 1 || v > STAFF_HTTP_PAGE_MAX)
            return http_invalid(resp, "limit", "must be an integer from 1 to 100"), false;
        q->limit = v;
    }
    if (cursor && !player_id_ok(cursor))
        return http_invalid(resp, "cursor", "is not a cursor this API returned"), false;
    pb_strlcpy(q->cursor, cursor ? cursor : "", sizeof(q->cursor));
    return true;
}

static int search_run(struct store *s, const struct search_query *q, bool pii, json_t *items,
                      const char **next)
{
    struct store_stmt *st;
    int rc = store_prepare(s,
                           "SELECT id, brand, email, date_of_birth, country, currency, status,"
                           " created_at_ms FROM pam_players WHERE email LIKE ? ESCAPE '\\'"
                           " AND id > ? ORDER BY id LIMIT ?",
                           &st);
    if (rc != PB_OK)
        return rc;
    rc = store_bind_text(st, 1, q->email_like, strlen(q->email_like));
    rc = rc ? rc : store_bind_text(st, 2, q->cursor, strlen(q->cursor));
    rc = rc ? rc : store_bind_int64(st, 3, q->limit + 1);
    int64_t n = 0;
    *next = NULL;
    while (rc == PB_OK && (rc = store_step(st)) == STORE_ROW) {
        rc = PB_OK;
        if (n++ == q->limit) { /* one more row: a next page exists */
            *next = json_string_value(json_object_get(json_array_get(items, n - 2),
                                                      "player_id"));
            break;
        }
        struct pam_player p = {0};
        char *col[] = {p.id, p.brand, p.email, p.date_of_birth, p.country, p.currency};
        size_t size[] = {sizeof(p.id), sizeof(p.brand), sizeof(p.email),
                         sizeof(p.date_of_birth), sizeof(p.country), sizeof(p.currency)};
        for (int i = 0; i < 6; i++)
            pb_strlcpy(col[i], store_column_text(st, i), size[i]);
        p.closed = strcmp(store_column_text(st, 6), "closed") == 0;
        p.created_at_ms = store_column_int64(st, 7);
        json_array_append_new(items, player_json(&p, pii));
    }
    store_finalize(st);
    return rc == STORE_DONE ? PB_OK : rc;
}

static enum http_result get_players(struct http_request *req, struct http_response *resp)
{
    struct staff_principal who;
    struct search_query q = {0};
    struct store *s;
    if (staff_authenticate(req->app, req, "players.read", &who, resp) != PB_OK ||
        !search_query(req, resp, &q))
        return HTTP_DONE;
    int rc = reader_acquire(req->app, &s);
    if (rc != PB_OK)
        return http_unavailable(resp, rc), HTTP_DONE;
    json_t *items = json_array();
    const char *next = NULL;
    rc = search_run(s, &q, who.permissions & STAFF_PERM_PLAYERS_READ_PII, items, &next);
    store_pool_release(app_readers(req->app), s);
    if (rc != PB_OK) {
        json_decref(items);
        return http_unavailable(resp, rc), HTTP_DONE;
    }
    http_json(resp, 200, json_pack("{s:o,s:s?}", "players", items, "next_cursor", next));
    return HTTP_DONE;
}

/* ---- players: blocks and unlock ---- */

static void blocks_text(unsigned blocks, char *out, size_t len)
{
    size_t n = (size_t)snprintf(out, len, "{\"blocks\":[");
    for (unsigned bit = 1; bit <= PAM_BLOCK_ALL && n < len; bit <<= 1)
        if (blocks & bit)
            n += (size_t)snprintf(out + n, len - n, "%s\"%s\"",
                                  out[n - 1] == '[' ? "" : ",", pam_block_name(bit));
    PB_ASSERT(n + 3 <= len);
    snprintf(out + n, len - n, "]}");
}

/* POST sets c->block, DELETE clears it; the audit row has the blocks before and after. */
static int block_run(struct store *tx, struct staff_cmd *c, bool set)
{
    struct pam_player p;
    unsigned before = 0;
    int rc = pam_player_get(tx, c->player_id, &p);
    if (rc == PB_ERR_NOT_FOUND) {
        set_problem(c, 404, "not_found", "no player has this id", "player_id");
        return PB_OK;
    }
    rc = rc ? rc : pam_player_blocks(tx, c->player_id, &before);
    if (rc == PB_OK)
        rc = set ? pam_player_block_set(tx, c->player_id, c->block, c->reason, c->now_ms)
                 : pam_player_block_clear(tx, c->player_id, c->block);
    rc = rc ? rc : pam_player_blocks(tx, c->player_id, &c->blocks_after);
    if (rc != PB_OK)
        return rc;
    char subject[AUDIT_SUBJECT_MAX + 1], b[128], a[128];
    snprintf(subject, sizeof(subject), "player:%s", c->player_id);
    blocks_text(before, b, sizeof(b));
    blocks_text(c->blocks_after, a, sizeof(a));
    return audit(tx, c, set ? "players.block_set" : "players.block_clear", subject, b, a);
}

static int block_set_run(struct store *tx, struct staff_cmd *c)
{
    return block_run(tx, c, true);
}

static int block_clear_run(struct store *tx, struct staff_cmd *c)
{
    return block_run(tx, c, false);
}

static void blocks_ok(struct staff_cmd *c, struct http_response *resp)
{
    json_t *arr = json_array();
    for (unsigned bit = 1; bit <= PAM_BLOCK_ALL; bit <<= 1)
        if (c->blocks_after & bit)
            json_array_append_new(arr, json_string(pam_block_name(bit)));
    http_json(resp, 200, json_pack("{s:s,s:o}", "player_id", c->player_id, "blocks", arr));
}

struct reason_body {
    const char *block;
    const char *reason;
};

/* The common steps of the player actions: permission, {player_id}, body; NULL with the
 * answer in resp, or the command to submit. */
static struct staff_cmd *player_action(struct http_request *req, struct http_response *resp,
                                       bool with_block, staff_run_fn run, staff_ok_fn ok)
{
    static const struct pb_json_field block_fields[] = {
        PB_JSON_STR(struct reason_body, block, PB_JSON_REQUIRED, 1, 32),
        PB_JSON_STR(struct reason_body, reason, PB_JSON_REQUIRED, 1, STAFF_HTTP_REASON_MAX),
    };
    const struct pb_json_field *fields = with_block ? block_fields : block_fields + 1;
    struct staff_principal who;
    const char *perm = run == block_set_run || run == block_clear_run ? "players.block"
                                                                      : "players.unlock";
    if (staff_authenticate(req->app, req, perm, &who, resp) != PB_OK)
        return NULL;
    if (!player_id_ok(req->params[0]))
        return player_not_found(resp), NULL;
    const char *block_name = req->nparams > 1 ? req->params[1] : NULL;
    if (block_name && !pam_block_parse(block_name))
        return http_invalid(resp, "block", "block_unknown"), NULL;
    struct reason_body b = {0};
    json_t *root;
    bool decoded = http_decode_body(req, resp, fields, with_block ? 2 : 1, &b, &root);
    if (decoded && with_block && !pam_block_parse(b.block)) {
        http_invalid(resp, "block", "block_unknown");
        decoded = false;
    }
    if (!decoded) {
        json_decref(root);
        return NULL;
    }
    struct staff_cmd *c = staff_cmd_new(req, run, ok, 0);
    c->who = who;
    pb_strlcpy(c->player_id, req->params[0], sizeof(c->player_id));
    c->block = pam_block_parse(with_block ? b.block : block_name ? block_name : "login");
    pb_strlcpy(c->reason, b.reason, sizeof(c->reason));
    json_decref(root);
    return c;
}

static enum http_result post_block(struct http_request *req, struct http_response *resp)
{
    struct staff_cmd *c = player_action(req, resp, true, block_set_run, blocks_ok);
    return c ? submit(req, c) : HTTP_DONE;
}

static enum http_result delete_block(struct http_request *req, struct http_response *resp)
{
    PB_ASSERT(req->nparams == 2);
    struct staff_cmd *c = player_action(req, resp, false, block_clear_run, blocks_ok);
    return c ? submit(req, c) : HTTP_DONE;
}

static int unlock_run(struct store *tx, struct staff_cmd *c)
{
    struct pam_player p;
    int rc = pam_player_get(tx, c->player_id, &p);
    if (rc == PB_ERR_NOT_FOUND) {
        set_problem(c, 404, "not_found", "no player has this id", "player_id");
        return PB_OK;
    }
    char key[PAM_NAME_MAX + PAM_EMAIL_SIZE + 2];
    int64_t retry = 0;
    snprintf(key, sizeof(key), "%s/%s", p.brand, p.email); /* pam_http's account key */
    rc = rc ? rc : pam_throttle_check(tx, "account", key, c->now_ms, &retry);
    rc = rc ? rc : pam_throttle_reset(tx, "account", key);
    if (rc != PB_OK)
        return rc;
    char subject[AUDIT_SUBJECT_MAX + 1], before[64];
    snprintf(subject, sizeof(subject), "player:%s", c->player_id);
    snprintf(before, sizeof(before), "{\"login_locked_for_s\":%lld}", (long long)retry);
    return audit(tx, c, "players.unlock", subject, before, "{\"login_locked_for_s\":0}");
}

static void unlock_ok(struct staff_cmd *c, struct http_response *resp)
{
    http_json(resp, 200, json_pack("{s:s,s:i}", "player_id", c->player_id,
                                   "login_locked_for_s", 0));
}

static enum http_result post_unlock(struct http_request *req, struct http_response *resp)
{
    struct staff_cmd *c = player_action(req, resp, false, unlock_run, unlock_ok);
    return c ? submit(req, c) : HTTP_DONE;
}

/* ---- GET /api/v1/admin/audit/export ---- */

/* "YYYY-MM-DDTHH:MM:SS[.fff]Z" to ms since the epoch; false when it is not that. */
static bool parse_time_ms(const char *text, int64_t *ms)
{
    struct tm tm = {0};
    int consumed = 0, frac = 0, frac_digits = 0;
    if (sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
               &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &consumed) != 6 || consumed != 19)
        return false;
    const char *p = text + consumed;
    if (*p == '.')
        for (p++; *p >= '0' && *p <= '9'; p++, frac_digits++)
            if (frac_digits < 3)
                frac = frac * 10 + (*p - '0');
    for (int d = frac_digits; d < 3; d++)
        frac *= 10;
    if (strcmp(p, "Z") != 0 || (text[19] == '.' && frac_digits == 0) || tm.tm_mon < 1 ||
        tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
        tm.tm_min > 59 || tm.tm_sec > 60 || tm.tm_year < 1970)
        return false;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    *ms = (int64_t)timegm(&tm) * 1000 + frac;
    return true;
}

static bool export_range(struct http_request *req, struct http_response *resp, int64_t *from,
                         int64_t *to)
{
    const char *names[] = {"from", "to"};
    int64_t *out[] = {from, to};
    for (int i = 0; i < 2; i++) {
        const char *v = http_query(req, names[i]);
        if (!v || !parse_time_ms(v, out[i]))
            return http_invalid(resp, names[i], "must be an RFC 3339 UTC time such as "
                           "2026-01-31T00:00:00Z"), false;
    }
    if (*to <= *from)
        return http_invalid(resp, "to", "must be later than from"), false;
    return true;
}

static int export_run(struct store *tx, struct staff_cmd *c)
{
    return audit(tx, c, "audit.export", "audit_log", "{}", c->export_range);
}

static void export_ok(struct staff_cmd *c, struct http_response *resp)
{
    pb_buf_reset(&resp->body);
    pb_buf_append(&resp->body, c->csv, c->csv_len);
    resp->status = 200;
    resp->content_type = "text/csv; charset=utf-8";
    http_header_add(resp, "Content-Disposition", "attachment; filename=\"audit.csv\"");
}

/* The CSV is read first; the command records the export itself, then sends the CSV. */
static enum http_result get_export(struct http_request *req, struct http_response *resp)
{
    struct staff_principal who;
    int64_t from = 0, to = 0;
    struct store *s;
    if (staff_authenticate(req->app, req, "audit.export", &who, resp) != PB_OK ||
        !export_range(req, resp, &from, &to))
        return HTTP_DONE;
    int rc = reader_acquire(req->app, &s);
    if (rc != PB_OK)
        return http_unavailable(resp, rc), HTTP_DONE;
    struct pb_buf csv = PB_BUF_INIT;
    rc = staff_audit_export_csv(s, from, to, STAFF_HTTP_EXPORT_ROWS_MAX, &csv);
    store_pool_release(app_readers(req->app), s);
    if (rc != PB_OK) {
        pb_buf_release(&csv);
        if (rc == PB_ERR_TOO_LARGE)
            http_problem(resp, 413, "export_too_large", "Export too large",
                         "more than 100000 rows: narrow the range", "to");
        else
            http_unavailable(resp, rc);
        return HTTP_DONE;
    }
    char range[160];
    snprintf(range, sizeof(range), "{\"from\":\"%s\",\"to\":\"%s\"}", http_query(req, "from"),
             http_query(req, "to")); /* both checked by parse_time_ms: no quotes */
    struct staff_cmd *c = staff_cmd_new(req, export_run, export_ok, csv.len + sizeof(range));
    c->who = who;
    char *tail = (char *)(c + 1);
    memcpy(tail, range, sizeof(range));
    memcpy(tail + sizeof(range), pb_buf_str(&csv), csv.len);
    c->export_range = tail;
    c->csv = tail + sizeof(range);
    c->csv_len = csv.len;
    pb_strlcpy(c->reason, "audit export", sizeof(c->reason));
    pb_buf_release(&csv);
    return submit(req, c);
}

const struct http_route staff_routes[] = {
    {HTTP_POST, "/api/v1/admin/sessions", post_session, HTTP_ROUTE_JSON_BODY},
    {HTTP_DELETE, "/api/v1/admin/sessions", delete_sessions, 0},
    {HTTP_POST, "/api/v1/admin/staff", post_staff, HTTP_ROUTE_JSON_BODY},
    {HTTP_GET, "/api/v1/admin/players", get_players, 0},
    {HTTP_GET, "/api/v1/admin/players/{player_id}", get_player, 0},
    {HTTP_POST, "/api/v1/admin/players/{player_id}/blocks", post_block, HTTP_ROUTE_JSON_BODY},
    {HTTP_DELETE, "/api/v1/admin/players/{player_id}/blocks/{block}", delete_block,
     HTTP_ROUTE_JSON_BODY},
    {HTTP_POST, "/api/v1/admin/players/{player_id}/unlock", post_unlock, HTTP_ROUTE_JSON_BODY},
    {HTTP_GET, "/api/v1/admin/audit/export", get_export, 0},
};
const size_t staff_routes_count = PB_ARRAY_LEN(staff_routes);
