/* pam_http.c: the player routes of pam (pam_http.h; decisions in docs/pam.md).
 *
 * Pipeline per request: authenticate (player routes: Bearer session token, 401) -> strict
 * body decoding (400, the field named) -> rules (400 validation_failed, detail the rule's
 * reason code) -> throttle (429) -> slow crypto on this HTTP thread (argon2id) -> one writer
 * command (struct pam_cmd) that re-checks what may have changed and writes. The command
 * sets its answer (a problem or a success builder); pam_finish turns it into the response. */
#include "pam/pam_http.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/base.h"
#include "base/log.h"
#include "core/writer.h"
#include "ledger/ledger.h"
#include "store/store.h"

#define ACCOUNT_KEY_MAX (PAM_NAME_MAX + 1 + 320) /* "brand/email as typed" */
#define EMAIL_INPUT_MAX 320   /* before trimming and normalization */
#define PASSWORD_INPUT_MAX 1024 /* longer than the policy, so the policy names the rule */
#define CODE_INPUT_MAX 32     /* a TOTP code or a recovery code with separators */
#define INVALID_CREDENTIALS "the e-mail address or the password is not correct"

/* ---- the command ---- */

struct pam_cmd;
typedef int (*pam_run_fn)(struct store *tx, struct pam_cmd *c);
typedef void (*pam_ok_fn)(struct pam_cmd *c, struct http_response *resp);

struct pam_cmd {
    struct writer_cmd cmd; /* first: the server frees the struct */
    pam_run_fn run;
    pam_ok_fn ok;
    const struct pam_config *cfg;
    struct ledger *lg;
    int64_t now_ms;
    char ip[PAM_IP_MAX + 1];
    char account_key[ACCOUNT_KEY_MAX + 1];
    bool password_ok;
    bool has_code;
    char code[CODE_INPUT_MAX + 1];
    struct pam_player player;
    struct pam_session session;
    char token[PAM_TOKEN_TEXT_SIZE];
    char token_hash[PAM_TOKEN_HASH_HEX_SIZE];
    char secret_b32[PAM_TOTP_SECRET_B32_SIZE];
    char recovery[PAM_RECOVERY_CODES_COUNT][PAM_RECOVERY_CODE_SIZE];
    char recovery_hash[PAM_RECOVERY_CODES_COUNT][PAM_RECOVERY_HASH_SIZE];
    struct http_refusal refusal; /* the answer when it is a problem (status != 0) */
    int count;
};

static void set_problem(struct pam_cmd *c, int status, const char *code, const char *detail,
                        const char *field)
{
    c->refusal = (struct http_refusal){status, code, detail, field, 0};
}

static int pam_cmd_run(struct store *tx, struct writer_cmd *cmd)
{
    struct pam_cmd *c = (struct pam_cmd *)cmd;
    return c->run(tx, c);
}

static struct pam_cmd *pam_cmd_new(struct http_request *req, pam_run_fn run, pam_ok_fn ok)
{
    struct pam_cmd *c = pb_calloc(1, sizeof(*c));
    c->cmd.run = pam_cmd_run;
    c->run = run;
    c->ok = ok;
    c->cfg = app_pam_config(req->app);
    c->lg = app_ledger(req->app);
    c->now_ms = pb_wall_ms();
    app_peer_address(req, c->ip, sizeof(c->ip));
    return c;
}

static void pam_finish(struct http_request *req, struct writer_cmd *cmd,
                       struct http_response *resp)
{
    PB_UNUSED(req);
    struct pam_cmd *c = (struct pam_cmd *)cmd;
    if (!http_answer_refusal(&c->refusal, cmd->status, resp))
        c->ok(c, resp);
}

static enum http_result submit(struct http_request *req, struct pam_cmd *c)
{
    return http_submit(req, app_writer(req->app), &c->cmd, pam_finish);
}

/* ---- common pieces ---- */

static int reader_acquire(struct http_request *req, struct store **s)
{
    return store_pool_acquire(app_readers(req->app), PAM_HTTP_READER_WAIT_MS, s) == PB_OK
               ? PB_OK
               : PB_ERR_TIMEOUT;
}

static void reader_release(struct http_request *req, struct store *s)
{
    store_pool_release(app_readers(req->app), s);
}

static void time_text(int64_t ms, char out[PB_TIME_TEXT_MAX])
{
    pb_format_time_ms(ms, out);
}

/* ---- authentication ---- */

struct touch_cmd {
    struct writer_cmd cmd;
    char session_id[PAM_SESSION_ID_SIZE];
    int64_t now_ms;
};

static int touch_run(struct store *tx, struct writer_cmd *cmd)
{
    struct touch_cmd *t = (struct touch_cmd *)cmd;
    return pam_session_touch(tx, t->session_id, t->now_ms);
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

int pam_authenticate(void *app, struct http_request *req, struct pam_principal *out)
{
    const char *auth = http_header(req, "Authorization");
    if (!auth || strncasecmp(auth, "Bearer ", 7) != 0) {
        memset(out, 0, sizeof(*out));
        return PB_ERR_INVALID;
    }
    return pam_authenticate_token(app, auth + 7, out);
}

int pam_authenticate_token(void *app, const char *token, struct pam_principal *out)
{
    memset(out, 0, sizeof(*out));
    char hash[PAM_TOKEN_HASH_HEX_SIZE];
    if (pam_token_hash(token, hash) != 0)
        return PB_ERR_INVALID;
    const struct pam_policy *policy = &app_pam_config(app)->policy;
    int64_t now_ms = pb_wall_ms();
    struct store *s;
    if (store_pool_acquire(app_readers(app), PAM_HTTP_READER_WAIT_MS, &s) != PB_OK)
        return PB_ERR_TIMEOUT;
    struct pam_session ses;
    int rc = pam_session_lookup(s, hash, now_ms, policy->session_idle_s, &ses);
    if (rc == PB_OK)
        rc = pam_player_blocks(s, ses.player_id, &out->blocks);
    store_pool_release(app_readers(app), s);
    if (rc == PB_ERR_NOT_FOUND || (rc == PB_OK && (out->blocks & PAM_BLOCK_LOGIN)))
        return PB_ERR_INVALID;
    if (rc != PB_OK)
        return rc;
    pb_strlcpy(out->player_id, ses.player_id, sizeof(out->player_id));
    pb_strlcpy(out->session_id, ses.id, sizeof(out->session_id));
    if (now_ms - ses.last_seen_ms >= policy->session_touch_s * 1000)
        touch_later(app, ses.id, now_ms);
    return PB_OK;
}

void pam_http_auth_problem(struct http_response *resp, int rc)
{
    if (rc == PB_ERR_INVALID) {
        http_problem(resp, 401, "unauthorized", "Unauthorized",
                     "a valid session token is required (Authorization: Bearer)", NULL);
        http_header_add(resp, "WWW-Authenticate", "Bearer");
    } else {
        http_unavailable(resp, rc);
    }
}

/* The authenticate step of player routes: true, or false with the answer in resp. */
static bool player_ok(struct http_request *req, struct http_response *resp,
                      struct pam_principal *who)
{
    int rc = pam_authenticate(req->app, req, who);
    if (rc != PB_OK)
        pam_http_auth_problem(resp, rc);
    return rc == PB_OK;
}


/* ---- POST /api/v1/players ---- */

struct register_body {
    const char *email;
    const char *password;
    const char *date_of_birth;
    const char *country;
    const char *currency;
    const char *brand;
    const char *referral_code;
};

static void today_text(int64_t now_ms, char out[PAM_DATE_TEXT_LEN + 1])
{
    time_t secs = (time_t)(now_ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    PB_ASSERT(strftime(out, PAM_DATE_TEXT_LEN + 1, "%Y-%m-%d", &tm) == PAM_DATE_TEXT_LEN);
}

/* Every rule in field order; the first broken one is answered (field and reason code). */
static bool register_rules(const struct pam_config *cfg, const struct register_body *b,
                           struct pam_player *p, struct http_response *resp)
{
    const char *reason = NULL;
    const struct pam_brand *brand = pam_config_brand(cfg, b->brand);
    char today[PAM_DATE_TEXT_LEN + 1];
    int years = 0;
    today_text(pb_wall_ms(), today);
    if (!brand)
        return http_invalid(resp, "brand", "brand_unknown"), false;
    const struct pam_jurisdiction *j = brand->jurisdiction;
    if (pam_email_normalize(b->email, strlen(b->email), p->email, &reason) != PB_OK)
        return http_invalid(resp, "email", reason), false;
    if (pam_password_strength(b->password, strlen(b->password), p->email, &reason) != PB_OK)
        return http_invalid(resp, "password", reason), false;
    if (pam_age_years(b->date_of_birth, today, &years, &reason) != PB_OK)
        return http_invalid(resp, "date_of_birth", reason), false;
    if (years < j->min_age)
        return http_invalid(resp, "date_of_birth", "age_below_minimum"), false;
    if (pam_country_valid(b->country, &reason) != PB_OK)
        return http_invalid(resp, "country", reason), false;
    if (!pam_jurisdiction_allows_country(j, b->country))
        return http_invalid(resp, "country", "country_not_allowed"), false;
    if (!pam_jurisdiction_allows_currency(j, b->currency))
        return http_invalid(resp, "currency", "currency_not_allowed"), false;
    size_t rn = b->referral_code ? strlen(b->referral_code) : 0;
    if (b->referral_code && strspn(b->referral_code, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                   "abcdefghijklmnopqrstuvwxyz0123456789_-") != rn)
        return http_invalid(resp, "referral_code", "referral_code_invalid"), false;
    pb_strlcpy(p->brand, brand->name, sizeof(p->brand));
    pb_strlcpy(p->date_of_birth, b->date_of_birth, sizeof(p->date_of_birth));
    pb_strlcpy(p->country, b->country, sizeof(p->country));
    pb_strlcpy(p->currency, b->currency, sizeof(p->currency));
    pb_strlcpy(p->referral_code, b->referral_code ? b->referral_code : "",
               sizeof(p->referral_code));
    return true;
}

static int register_run(struct store *tx, struct pam_cmd *c)
{
    int64_t retry = 0;
    int rc = pam_throttle_check(tx, "ip", c->ip, c->now_ms, &retry);
    if (rc != PB_OK || retry > 0) {
        c->refusal.status = retry > 0 ? 429 : 0;
        c->refusal.retry_after_s = retry;
        return rc;
    }
    rc = pam_player_insert(tx, &c->player);
    if (rc == PB_ERR_CONFLICT) { /* counted like a failed login: bounds enumeration per IP */
        set_problem(c, 409, "email_taken", "this e-mail address is already registered with "
                    "this brand; log in or reset the password", "email");
        return pam_throttle_fail(tx, "ip", c->ip, c->cfg->policy.ip_failures_max,
                                 &c->cfg->policy, c->now_ms);
    }
    int64_t ids[3];
    if (rc == PB_OK)
        rc = ledger_open_player_accounts(c->lg, tx, c->player.id, c->player.currency, ids);
    PB_ASSERT(rc != PB_ERR_INVALID); /* id and currency were checked by the handler */
    if (rc == PB_OK)
        rc = writer_emit(tx, &c->cmd, "pam.player_registered", c->player.id, "{}");
    return rc;
}

static json_t *player_json(const struct pam_player *p)
{
    char created[PB_TIME_TEXT_MAX];
    time_text(p->created_at_ms, created);
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "player_id", p->id, "brand",
                     p->brand, "email", p->email, "date_of_birth", p->date_of_birth, "country",
                     p->country, "currency", p->currency, "status",
                     p->closed ? "closed" : "active", "created_at", created);
}

static void register_ok(struct pam_cmd *c, struct http_response *resp)
{
    http_json(resp, 201, player_json(&c->player));
}

static enum http_result post_player(struct http_request *req, struct http_response *resp)
{
    static const struct pb_json_field fields[] = {
        PB_JSON_STR(struct register_body, email, PB_JSON_REQUIRED, 0, EMAIL_INPUT_MAX),
        PB_JSON_STR(struct register_body, password, PB_JSON_REQUIRED, 0, PASSWORD_INPUT_MAX),
        PB_JSON_STR(struct register_body, date_of_birth, PB_JSON_REQUIRED, 0, 32),
        PB_JSON_STR(struct register_body, country, PB_JSON_REQUIRED, 0, 8),
        PB_JSON_STR(struct register_body, currency, PB_JSON_REQUIRED, 0, 16),
        PB_JSON_STR(struct register_body, brand, PB_JSON_REQUIRED, 0, 64),
        PB_JSON_STR(struct register_body, referral_code, PB_JSON_OPTIONAL, 1,
                    PAM_REFERRAL_MAX),
    };
    struct register_body b = {0};
    json_t *root;
    struct pam_cmd *c = pam_cmd_new(req, register_run, register_ok);
    if (!http_decode_body(req, resp, fields, PB_ARRAY_LEN(fields), &b, &root) ||
        !register_rules(c->cfg, &b, &c->player, resp)) {
        json_decref(root);
        pb_free(c);
        return HTTP_DONE;
    }
    pb_random_hex(c->player.id, (PAM_PLAYER_ID_SIZE - 1) / 2);
    c->player.created_at_ms = c->now_ms;
    /* argon2id (~70 ms) here on the HTTP thread, never on the writer. */
    int rc = pam_password_hash(b.password, c->player.password_hash);
    PB_ASSERT(rc == PB_OK); /* the policy capped the length */
    json_decref(root);
    return submit(req, c);
}

/* ---- POST /api/v1/sessions (login) ---- */

struct login_body {
    const char *brand;
    const char *email;
    const char *password;
    const char *totp_code;
    bool has_totp_code;
};

/* Both counters count the failure; the login answers 401 invalid_credentials. */
static int login_failed(struct store *tx, struct pam_cmd *c, const char *code,
                        const char *detail)
{
    const struct pam_policy *p = &c->cfg->policy;
    set_problem(c, 401, code, detail, NULL);
    int rc = pam_throttle_fail(tx, "account", c->account_key, p->account_failures_max, p,
                               c->now_ms);
    return rc ? rc : pam_throttle_fail(tx, "ip", c->ip, p->ip_failures_max, p, c->now_ms);
}

/* A lock on the IP or the account: 429 (nothing counted). */
static int login_locked(struct store *tx, struct pam_cmd *c, bool *locked)
{
    int64_t ip_retry = 0, account_retry = 0;
    int rc = pam_throttle_check(tx, "ip", c->ip, c->now_ms, &ip_retry);
    if (rc == PB_OK)
        rc = pam_throttle_check(tx, "account", c->account_key, c->now_ms, &account_retry);
    *locked = ip_retry > 0 || account_retry > 0;
    if (*locked) {
        c->refusal.status = 429;
        c->refusal.retry_after_s = ip_retry > account_retry ? ip_retry : account_retry;
    }
    return rc;
}

/* The second factor when the player has TOTP: 0 and *passed, or a failure answer set. */
static int login_second_factor(struct store *tx, struct pam_cmd *c, bool *passed)
{
    struct pam_totp_state t;
    *passed = false;
    int rc = pam_totp_get(tx, c->player.id, &t);
    if (rc != PB_OK)
        return rc;
    if (!t.active) {
        *passed = true;
        return PB_OK;
    }
    if (!c->has_code) {
        set_problem(c, 401, "totp_required", "this account uses two-factor authentication: "
                    "send totp_code (an authenticator code or a recovery code)", "totp_code");
        return PB_OK;
    }
    rc = pam_second_factor_use(tx, c->player.id, c->code, c->now_ms);
    if (rc == PB_ERR_INVALID)
        return login_failed(tx, c, "invalid_totp", "the code is not valid");
    if (rc == PB_ERR_CONFLICT)
        return login_failed(tx, c, "totp_replayed", "this code was already used; wait for "
                            "the next one");
    *passed = rc == PB_OK;
    return rc;
}

static int login_run(struct store *tx, struct pam_cmd *c)
{
    bool locked, passed;
    int rc = login_locked(tx, c, &locked);
    if (rc != PB_OK || locked)
        return rc;
    if (!c->password_ok)
        return login_failed(tx, c, "invalid_credentials", INVALID_CREDENTIALS);
    rc = login_second_factor(tx, c, &passed);
    if (rc != PB_OK || !passed)
        return rc;
    unsigned blocks;
    rc = pam_player_blocks(tx, c->player.id, &blocks);
    if (rc == PB_OK && (blocks & PAM_BLOCK_LOGIN)) {
        set_problem(c, 403, "account_blocked", "logging in is blocked for this account", NULL);
        return PB_OK;
    }
    if (rc == PB_OK)
        rc = pam_throttle_reset(tx, "account", c->account_key);
    if (rc == PB_OK)
        rc = pam_session_insert(tx, &c->session, c->token_hash);
    return rc;
}

static void login_ok(struct pam_cmd *c, struct http_response *resp)
{
    char expires[PB_TIME_TEXT_MAX];
    time_text(c->session.expires_at_ms, expires);
    http_json(resp, 201, json_pack("{s:s,s:s,s:s,s:s}", "token", c->token, "expires_at",
                                   expires, "player_id", c->player.id, "session_id",
                                   c->session.id));
}

/* Reads the account (if any) and the locks; false with a 429/503 answer in resp. */
static bool login_read(struct http_request *req, struct http_response *resp, struct pam_cmd *c,
                       const char *email, bool *found)
{
    struct store *s;
    int64_t ip_retry = 0, account_retry = 0;
    int rc = reader_acquire(req, &s);
    if (rc != PB_OK)
        return http_unavailable(resp, rc), false;
    rc = pam_throttle_check(s, "ip", c->ip, c->now_ms, &ip_retry);
    rc = rc ? rc : pam_throttle_check(s, "account", c->account_key, c->now_ms, &account_retry);
    rc = rc ? rc : pam_player_find(s, c->player.brand, email, &c->player);
    reader_release(req, s);
    *found = rc == PB_OK;
    if (rc != PB_OK && rc != PB_ERR_NOT_FOUND)
        return http_unavailable(resp, rc), false;
    if (ip_retry > 0 || account_retry > 0)
        return http_too_many(resp, ip_retry > account_retry ? ip_retry : account_retry), false;
    return true;
}

/* Everything but decoding: the brand, the lookup, argon2id here, the session to create. */
static bool login_prepare(struct http_request *req, struct http_response *resp,
                          const struct login_body *b, struct pam_cmd *c)
{
    char email[PAM_EMAIL_SIZE];
    if (!pam_config_brand(c->cfg, b->brand))
        return http_invalid(resp, "brand", "brand_unknown"), false;
    pb_strlcpy(c->player.brand, b->brand, sizeof(c->player.brand));
    bool email_ok = pam_email_normalize(b->email, strlen(b->email), email, NULL) == PB_OK;
    snprintf(c->account_key, sizeof(c->account_key), "%s/%s", b->brand,
             email_ok ? email : b->email);
    bool found = false;
    if (email_ok && !login_read(req, resp, c, email, &found))
        return false;
    /* The same argon2id work whether or not the account exists (no timing oracle). */
    c->password_ok = found ? pam_password_verify(c->player.password_hash, b->password) == 0
                           : (pam_password_verify_dummy(b->password), false);
    c->has_code = b->has_totp_code;
    if (b->has_totp_code)
        pb_strlcpy(c->code, b->totp_code, sizeof(c->code));
    const struct pam_policy *p = &c->cfg->policy;
    pam_token_new(c->token, c->token_hash);
    pb_random_hex(c->session.id, (PAM_SESSION_ID_SIZE - 1) / 2);
    pb_strlcpy(c->session.player_id, c->player.id, sizeof(c->session.player_id));
    c->session.created_at_ms = c->session.last_seen_ms = c->now_ms;
    c->session.expires_at_ms = c->now_ms + p->session_ttl_s * 1000;
    pb_strlcpy(c->session.ip, c->ip, sizeof(c->session.ip));
    return true;
}

static enum http_result post_session(struct http_request *req, struct http_response *resp)
{
    static const struct pb_json_field fields[] = {
        {"brand", PB_JSON_KIND_STRING, true, offsetof(struct login_body, brand), SIZE_MAX, 1,
         64},
        {"email", PB_JSON_KIND_STRING, true, offsetof(struct login_body, email), SIZE_MAX, 1,
         EMAIL_INPUT_MAX},
        {"password", PB_JSON_KIND_STRING, true, offsetof(struct login_body, password),
         SIZE_MAX, 1, PASSWORD_INPUT_MAX},
        {"totp_code", PB_JSON_KIND_STRING, false, offsetof(struct login_body, totp_code),
         offsetof(struct login_body, has_totp_code), 1, CODE_INPUT_MAX},
    };
    struct login_body b = {0};
    json_t *root;
    struct pam_cmd *c = pam_cmd_new(req, login_run, login_ok);
    bool ok = http_decode_body(req, resp, fields, PB_ARRAY_LEN(fields), &b, &root) &&
              login_prepare(req, resp, &b, c);
    json_decref(root);
    if (!ok) {
        pb_free(c);
        return HTTP_DONE;
    }
    return submit(req, c);
}

/* ---- GET/DELETE /api/v1/sessions, DELETE /api/v1/sessions/{id} ---- */

static json_t *session_json(const struct pam_session *ses, const char *current_id)
{
    char created[PB_TIME_TEXT_MAX], seen[PB_TIME_TEXT_MAX], expires[PB_TIME_TEXT_MAX];
    time_text(ses->created_at_ms, created);
    time_text(ses->last_seen_ms, seen);
    time_text(ses->expires_at_ms, expires);
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:b}", "id", ses->id, "created_at", created,
                     "last_seen_at", seen, "expires_at", expires, "ip", ses->ip, "current",
                     strcmp(ses->id, current_id) == 0);
}

static enum http_result get_sessions(struct http_request *req, struct http_response *resp)
{
    struct pam_principal who;
    struct store *s;
    if (!player_ok(req, resp, &who))
        return HTTP_DONE;
    int rc = reader_acquire(req, &s);
    if (rc != PB_OK)
        return http_unavailable(resp, rc), HTTP_DONE;
    struct pam_session *list = pb_calloc(PAM_SESSIONS_LIST_MAX, sizeof(*list));
    size_t n = 0;
    rc = pam_session_list(s, who.player_id, pb_wall_ms(),
                          app_pam_config(req->app)->policy.session_idle_s, list,
                          PAM_SESSIONS_LIST_MAX, &n);
    reader_release(req, s);
    if (rc != PB_OK) {
        http_unavailable(resp, rc);
    } else {
        json_t *arr = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(arr, session_json(&list[i], who.session_id));
        http_json(resp, 200, json_pack("{s:o}", "sessions", arr));
    }
    pb_free(list);
    return HTTP_DONE;
}

static int revoke_run(struct store *tx, struct pam_cmd *c)
{
    int rc = pam_session_revoke(tx, c->player.id, c->session.id[0] ? c->session.id : NULL,
                                c->now_ms, &c->count);
    if (rc == PB_OK && c->session.id[0] && c->count == 0)
        set_problem(c, 404, "not_found", "you have no live session with this id", "id");
    return rc;
}

static void no_content(struct pam_cmd *c, struct http_response *resp)
{
    PB_UNUSED(c);
    pb_buf_reset(&resp->body);
    resp->status = 204;
    resp->content_type = NULL;
}

/* Revokes one session (id) or all of the caller's (id NULL). */
static enum http_result revoke(struct http_request *req, struct http_response *resp,
                               const char *id)
{
    struct pam_principal who;
    if (!player_ok(req, resp, &who))
        return HTTP_DONE;
    if (id && (strlen(id) != PAM_SESSION_ID_SIZE - 1 ||
               strspn(id, "0123456789abcdef") != PAM_SESSION_ID_SIZE - 1)) {
        http_problem(resp, 404, "not_found", "Not found",
                     "you have no live session with this id", "id");
        return HTTP_DONE;
    }
    struct pam_cmd *c = pam_cmd_new(req, revoke_run, no_content);
    pb_strlcpy(c->player.id, who.player_id, sizeof(c->player.id));
    if (id)
        pb_strlcpy(c->session.id, id, sizeof(c->session.id));
    return submit(req, c);
}

static enum http_result delete_session(struct http_request *req, struct http_response *resp)
{
    PB_ASSERT(req->nparams == 1);
    return revoke(req, resp, req->params[0]);
}

static enum http_result delete_sessions(struct http_request *req, struct http_response *resp)
{
    return revoke(req, resp, NULL);
}

/* ---- GET /api/v1/players/me, POST /api/v1/players/me/close ---- */

static void block_json(unsigned block, const char *reason, int64_t since_ms, void *arg)
{
    char since[PB_TIME_TEXT_MAX];
    time_text(since_ms, since);
    json_array_append_new(arg, json_pack("{s:s,s:s,s:s}", "block", pam_block_name(block),
                                         "reason", reason, "since", since));
}

static int read_me(struct store *s, const char *player_id, json_t **out)
{
    struct pam_player p;
    struct pam_totp_state t;
    json_t *blocks = json_array();
    int rc = pam_player_get(s, player_id, &p);
    rc = rc ? rc : pam_totp_get(s, player_id, &t);
    rc = rc ? rc : pam_player_blocks_each(s, player_id, block_json, blocks);
    if (rc != PB_OK) {
        json_decref(blocks);
        return rc;
    }
    *out = player_json(&p);
    json_object_set_new(*out, "totp_enabled", json_boolean(t.active));
    json_object_set_new(*out, "blocks", blocks);
    return PB_OK;
}

static enum http_result get_me(struct http_request *req, struct http_response *resp)
{
    struct pam_principal who;
    struct store *s;
    if (!player_ok(req, resp, &who))
        return HTTP_DONE;
    int rc = reader_acquire(req, &s);
    if (rc != PB_OK)
        return http_unavailable(resp, rc), HTTP_DONE;
    json_t *doc = NULL;
    rc = read_me(s, who.player_id, &doc);
    reader_release(req, s);
    if (rc != PB_OK)
        http_unavailable(resp, rc);
    else
        http_json(resp, 200, doc);
    return HTTP_DONE;
}

static int close_run(struct store *tx, struct pam_cmd *c)
{
    int rc = pam_player_close(tx, c->player.id, "account closed by the player", c->now_ms);
    if (rc == PB_OK)
        rc = writer_emit(tx, &c->cmd, "pam.player_closed", c->player.id, "{}");
    return rc;
}

static void close_ok(struct pam_cmd *c, struct http_response *resp)
{
    http_json(resp, 200, json_pack("{s:s,s:s,s:[s,s]}", "player_id", c->player.id, "status",
                                   "closed", "blocks", "deposit", "bet"));
}

static enum http_result post_close(struct http_request *req, struct http_response *resp)
{
    struct pam_principal who;
    if (!player_ok(req, resp, &who))
        return HTTP_DONE;
    struct pam_cmd *c = pam_cmd_new(req, close_run, close_ok);
    pb_strlcpy(c->player.id, who.player_id, sizeof(c->player.id));
    return submit(req, c);
}

/* ---- /api/v1/players/me/totp ---- */

static int totp_begin_run(struct store *tx, struct pam_cmd *c)
{
    int rc = pam_totp_begin(tx, c->player.id, c->secret_b32, c->now_ms);
    if (rc == PB_ERR_CONFLICT) {
        set_problem(c, 409, "totp_already_enabled", "two-factor authentication is already "
                    "enabled; disable it first", NULL);
        return PB_OK;
    }
    return rc;
}

static void totp_begin_ok(struct pam_cmd *c, struct http_response *resp)
{
    struct pb_buf uri = PB_BUF_INIT;
    int rc = pam_totp_uri(c->player.brand, c->player.email, c->secret_b32, NULL, &uri);
    PB_ASSERT(rc == PB_OK); /* brand names and normalized e-mails hold no ':' */
    http_json(resp, 201, json_pack("{s:s,s:s}", "secret", c->secret_b32, "otpauth_uri",
                                   pb_buf_str(&uri)));
    pb_buf_release(&uri);
}

static enum http_result post_totp(struct http_request *req, struct http_response *resp)
{
    struct pam_principal who;
    struct store *s;
    if (!player_ok(req, resp, &who))
        return HTTP_DONE;
    struct pam_cmd *c = pam_cmd_new(req, totp_begin_run, totp_begin_ok);
    int rc = reader_acquire(req, &s);
    if (rc == PB_OK) {
        rc = pam_player_get(s, who.player_id, &c->player);
        reader_release(req, s);
    }
    if (rc != PB_OK) {
        http_unavailable(resp, rc);
        pb_free(c);
        return HTTP_DONE;
    }
    unsigned char secret[PAM_TOTP_SECRET_BYTES];
    pam_totp_secret_new(secret);
    pam_base32_encode(secret, sizeof(secret), c->secret_b32, sizeof(c->secret_b32));
    return submit(req, c);
}

struct code_body {
    const char *code;
};

static int totp_confirm_run(struct store *tx, struct pam_cmd *c)
{
    struct pam_totp_state t;
    int64_t step;
    int rc = pam_totp_get(tx, c->player.id, &t);
    if (rc != PB_OK)
        return rc;
    if (!t.exists || t.active) {
        set_problem(c, 409, t.active ? "totp_already_enabled" : "totp_not_started",
                    t.active ? "two-factor authentication is already enabled"
                             : "start enrolment with POST /api/v1/players/me/totp first", NULL);
        return PB_OK;
    }
    rc = pam_totp_verify(t.secret, t.secret_len, c->code, c->now_ms / 1000, t.last_used_step,
                         NULL, &step);
    if (rc != PB_OK) {
        set_problem(c, 400, "validation_failed", "totp_invalid", "code");
        return PB_OK;
    }
    rc = pam_totp_use_step(tx, c->player.id, step);
    return rc ? rc : pam_totp_activate(tx, c->player.id, c->recovery_hash,
                                       PAM_RECOVERY_CODES_COUNT);
}

static void totp_confirm_ok(struct pam_cmd *c, struct http_response *resp)
{
    json_t *codes = json_array();
    for (size_t i = 0; i < PAM_RECOVERY_CODES_COUNT; i++)
        json_array_append_new(codes, json_string(c->recovery[i]));
    http_json(resp, 200, json_pack("{s:b,s:o}", "totp_enabled", 1, "recovery_codes", codes));
}

static int totp_disable_run(struct store *tx, struct pam_cmd *c)
{
    struct pam_totp_state t;
    int rc = pam_totp_get(tx, c->player.id, &t);
    if (rc == PB_OK && !t.active) {
        set_problem(c, 409, "totp_not_enabled", "two-factor authentication is not enabled",
                    NULL);
        return PB_OK;
    }
    rc = rc ? rc : pam_second_factor_use(tx, c->player.id, c->code, c->now_ms);
    if (rc == PB_ERR_INVALID || rc == PB_ERR_CONFLICT) {
        set_problem(c, 400, "validation_failed",
                    rc == PB_ERR_CONFLICT ? "totp_replayed" : "totp_invalid", "code");
        return PB_OK;
    }
    return rc ? rc : pam_totp_remove(tx, c->player.id);
}

/* POST .../totp/confirm and DELETE .../totp: {code} and one command. */
static enum http_result totp_code_route(struct http_request *req, struct http_response *resp,
                                        pam_run_fn run, pam_ok_fn ok)
{
    static const struct pb_json_field fields[] = {
        PB_JSON_STR(struct code_body, code, PB_JSON_REQUIRED, 1, CODE_INPUT_MAX),
    };
    struct pam_principal who;
    if (!player_ok(req, resp, &who))
        return HTTP_DONE;
    struct code_body b = {0};
    json_t *root;
    if (!http_decode_body(req, resp, fields, PB_ARRAY_LEN(fields), &b, &root)) {
        json_decref(root);
        return HTTP_DONE;
    }
    struct pam_cmd *c = pam_cmd_new(req, run, ok);
    pb_strlcpy(c->player.id, who.player_id, sizeof(c->player.id));
    pb_strlcpy(c->code, b.code, sizeof(c->code));
    json_decref(root);
    pam_recovery_codes_generate(PAM_RECOVERY_CODES_COUNT, c->recovery, c->recovery_hash);
    return submit(req, c);
}

static enum http_result post_totp_confirm(struct http_request *req, struct http_response *resp)
{
    return totp_code_route(req, resp, totp_confirm_run, totp_confirm_ok);
}

static enum http_result delete_totp(struct http_request *req, struct http_response *resp)
{
    return totp_code_route(req, resp, totp_disable_run, no_content);
}

const struct http_route pam_routes[] = {
    {HTTP_POST, "/api/v1/players", post_player, HTTP_ROUTE_JSON_BODY},
    {HTTP_GET, "/api/v1/players/me", get_me, 0},
    {HTTP_POST, "/api/v1/players/me/close", post_close, 0},
    {HTTP_POST, "/api/v1/players/me/totp", post_totp, 0},
    {HTTP_POST, "/api/v1/players/me/totp/confirm", post_totp_confirm, HTTP_ROUTE_JSON_BODY},
    {HTTP_DELETE, "/api/v1/players/me/totp", delete_totp, HTTP_ROUTE_JSON_BODY},
    {HTTP_POST, "/api/v1/sessions", post_session, HTTP_ROUTE_JSON_BODY},
    {HTTP_GET, "/api/v1/sessions", get_sessions, 0},
    {HTTP_DELETE, "/api/v1/sessions", delete_sessions, 0},
    {HTTP_DELETE, "/api/v1/sessions/{id}", delete_session, 0},
};
const size_t pam_routes_count = PB_ARRAY_LEN(pam_routes);
