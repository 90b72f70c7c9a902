/* ledger_http.c: the ledger's staff HTTP API and the balance push over WebSocket
 * (ledger_http.h; money model and semantics in docs/ledger.md, schemas in docs/openapi.yaml).
 *
 * Pipeline per request: staff token (401) -> path and query (400) -> Idempotency-Key (400) ->
 * strict body decoding (400, the field named) -> one writer command or a reader connection.
 *
 * A money-moving command is one allocation (a reused LEDGER_HTTP_BLOCK_SIZE block when it
 * fits): the struct (its writer_cmd first; the HTTP server frees it with idem_cmd_free when
 * the request ends, also when the queue was full and finish never ran), then the canonical
 * request, the strings the transfers point to, and room for the answer (an answer longer
 * than the room gets its own, freed with the command). The answer is sent from there
 * without a copy. Inside the writer: ledger_idem_check -> REPLAY (the recorded answer),
 * CONFLICT (409, not recorded) or NEW -> apply -> ledger_idem_record(answer). Answers are
 * built in the writer from structs read in the same transaction, so what is recorded is what
 * is sent.
 *
 * The canonical request is a flat JSON object, one key per decoded field with defaults made
 * explicit ("transfers[0].amount_minor"), keys sorted: the idempotency conflict then names
 * the exact field that differs. The transfers route reads and writes it without jansson
 * (ledger_http_int.h). */
#include "ledger/ledger_http.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/base.h"
#include "base/log.h"
#include "core/writer.h"
#include "http/ws.h"
#include "ledger/audit.h"
#include "ledger/ledger.h"
#include "ledger/ledger_http_int.h"
#include "pam/pam_http.h"
#include "pam/staff_http.h"
#include "store/store.h"

#define PLAYER_PREFIX "player:"
#define PLAYER_PREFIX_LEN (sizeof(PLAYER_PREFIX) - 1)
#define PLAYER_ID_MAX 64 /* the API's limit; the ledger's owner holds "player:" + 64 */
_Static_assert(PLAYER_PREFIX_LEN + PLAYER_ID_MAX <= LEDGER_OWNER_MAX, "owner too short");
#define ALNUM "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
#define HOUSE_OWNER "house"

/* ---- common pieces ---- */

/* The authenticate step: a staff session whose role holds permission, or the service token;
 * true (actor, when not NULL, gets the audit actor), or false with a 401/403 in resp. */
static bool staff_ok(struct http_request *req, struct http_response *resp,
                     const char *permission, char *actor)
{
    struct staff_principal who;
    if (staff_authenticate(req->app, req, permission, &who, resp) != PB_OK)
        return false;
    if (actor)
        pb_strlcpy(actor, who.actor, AUDIT_ACTOR_MAX + 1);
    return true;
}

static bool player_id_ok(const char *id)
{
    size_t n = strlen(id);
    return n >= 1 && n <= PLAYER_ID_MAX && strspn(id, ALNUM "_-") == n;
}

static void player_id_problem(struct http_response *resp)
{
    char detail[96];
    snprintf(detail, sizeof(detail), "must be 1 to %d characters of A-Z, a-z, 0-9, _ and -",
             (int)PLAYER_ID_MAX);
    http_problem(resp, 400, "validation_failed", "The request is not valid", detail,
                 "player_id");
}

/* The owner of {player_id} ("player:42"), or false with a 400 in resp. */
static bool player_owner(struct http_request *req, struct http_response *resp,
                         char owner[LEDGER_OWNER_MAX + 1])
{
    PB_ASSERT(req->nparams == 1);
    if (!player_id_ok(req->params[0])) {
        player_id_problem(resp);
        return false;
    }
    snprintf(owner, LEDGER_OWNER_MAX + 1, PLAYER_PREFIX "%s", req->params[0]);
    return true;
}

const char *ledger_http_idempotency_key(struct http_request *req, struct http_response *resp,
                                        const char *missing)
{
    const char *key = http_header(req, "Idempotency-Key");
    size_t n = key ? strlen(key) : 0;
    if (n >= 1 && n <= LEDGER_HTTP_IDEM_KEY_MAX && strspn(key, ALNUM "._:-") == n)
        return key;
    http_invalid(resp, "Idempotency-Key",
                 key ? "must be 1 to 128 characters of A-Z, a-z, 0-9, '.', '_', ':' and '-'"
                     : missing);
    return NULL;
}

/* The Idempotency-Key header, or NULL with a 400 in resp. */
static const char *idempotency_key(struct http_request *req, struct http_response *resp)
{
    return ledger_http_idempotency_key(
        req, resp, "this request moves money: an Idempotency-Key header is required");
}

static void internal_error(struct http_response *resp, int err)
{
    http_problem(resp, 500, "internal_error", "Internal error", pb_err_name(err), NULL);
}

/* A reader connection, or false with a 503 in resp. */
static bool reader_acquire(struct http_request *req, struct http_response *resp,
                           struct store **s)
{
    if (store_pool_acquire(app_readers(req->app), LEDGER_HTTP_READER_WAIT_MS, s) == PB_OK)
        return true;
    http_problem(resp, 503, "overloaded", "Service unavailable",
                 "no database connection is free; retry shortly", NULL);
    http_header_add(resp, "Retry-After", "1");
    return false;
}

/* ---- time ---- */

/* n as width decimal digits (zero-padded) at out. */
static void put_digits(char *out, int64_t n, int width)
{
    for (int i = width - 1; i >= 0; i--, n /= 10)
        out[i] = (char)('0' + n % 10);
}

/* RFC 3339 UTC with nanoseconds, "2026-11-20T23:59:01.123456789Z": the date from the day
 * number (Howard Hinnant's civil_from_days), without gmtime_r's locking and strftime's and
 * snprintf's parsing (it formats every transfer of a 201 answer on the writer thread). */
void ledger_http__format_time_ns(int64_t ns, char out[LEDGER_HTTP_TIME_TEXT_MAX])
{
    PB_ASSERT(ns >= 0);
    int64_t secs = ns / 1000000000, days = secs / 86400, rem = secs % 86400;
    int64_t z = days + 719468; /* days since 0000-03-01 */
    int64_t era = z / 146097, doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t day = doy - (153 * mp + 2) / 5 + 1, month = mp < 10 ? mp + 3 : mp - 9;
    int64_t year = yoe + era * 400 + (month <= 2);
    PB_ASSERT(year >= 1970 && year <= 9999);
    memcpy(out, "0000-00-00T00:00:00.000000000Z", 31);
    put_digits(out, year, 4);
    put_digits(out + 5, month, 2);
    put_digits(out + 8, day, 2);
    put_digits(out + 11, rem / 3600, 2);
    put_digits(out + 14, rem / 60 % 60, 2);
    put_digits(out + 17, rem % 60, 2);
    put_digits(out + 20, ns % 1000000000, 9);
}

static bool digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int days_in_month(int y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

/* The fraction after the seconds (".123" -> 123000000 ns) and the zone (Z or +hh:mm). */
static bool parse_time_tail(const char *p, int64_t *frac_ns, int *offset_s)
{
    *frac_ns = 0;
    *offset_s = 0;
    if (*p == '.') {
        int nd = 0;
        for (p++; *p >= '0' && *p <= '9'; p++, nd++) {
            if (nd == 9)
                return false;
            *frac_ns = *frac_ns * 10 + (*p - '0');
        }
        if (nd == 0)
            return false;
        for (; nd < 9; nd++)
            *frac_ns *= 10;
    }
    if (*p == 'Z' || *p == 'z')
        return p[1] == '\0';
    int oh, om;
    if ((*p != '+' && *p != '-') || !digits(p + 1, 2, &oh) || p[3] != ':' ||
        !digits(p + 4, 2, &om) || p[6] != '\0' || oh > 23 || om > 59)
        return false;
    *offset_s = (oh * 3600 + om * 60) * (*p == '-' ? -1 : 1);
    return true;
}

/* RFC 3339 ("2026-11-20T23:59:01.5Z", "...+01:00") to ns since the epoch, 1970..2262. */
static bool parse_time_ns(const char *s, int64_t *out)
{
    int y, mo, d, h, mi, se, offset_s;
    int64_t frac;
    if (strnlen(s, 20) < 20 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) ||
        s[7] != '-' || !digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't') ||
        !digits(s + 11, 2, &h) || s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' ||
        !digits(s + 17, 2, &se) || !parse_time_tail(s + 19, &frac, &offset_s))
        return false;
    if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || se > 59)
        return false;
    int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + se - offset_s;
    if (secs < 0 || secs >= INT64_MAX / 1000000000)
        return false;
    *out = secs * 1000000000 + frac;
    return true;
}

/* ---- encoding from structs ---- */

/* "cash", "bonus", "locked" for player accounts; the code's name for others. */
static const char *account_type(int code)
{
    switch (code) {
    case LEDGER_ACC_PLAYER_CASH: return "cash";
    case LEDGER_ACC_PLAYER_BONUS: return "bonus";
    case LEDGER_ACC_PLAYER_LOCKED: return "locked";
    default: break;
    }
    const char *name = ledger_account_code_name(code);
    PB_ASSERT(name != NULL);
    return name;
}

static json_t *balance_json(const struct ledger_account *a)
{
    const struct ledger_currency *c = ledger_currency_find(a->currency);
    PB_ASSERT(c != NULL && a->id > 0);
    return json_pack("{s:I,s:s,s:s,s:i,s:I,s:I,s:I,s:I}", "account_id", (json_int_t)a->id,
                     "type", account_type(a->code), "currency", a->currency, "exponent",
                     c->exponent, "posted_minor", (json_int_t)ledger_posted_balance(a),
                     "available_minor", (json_int_t)ledger_available(a),
                     "pending_debits_minor", (json_int_t)a->debits_pending,
                     "pending_credits_minor", (json_int_t)a->credits_pending);
}

static json_t *cursor_json(int64_t next_before_id)
{
    if (next_before_id <= 0)
        return json_null();
    char text[24];
    snprintf(text, sizeof(text), "%lld", (long long)next_before_id);
    return json_string(text);
}

/* ---- query parameters ---- */

static bool query_problem(struct http_response *resp, const char *field, const char *detail)
{
    http_problem(resp, 400, "validation_failed", "The request is not valid", detail, field);
    return false;
}

/* A positive decimal integer up to max; absent: *out unchanged. */
static bool query_int(struct http_request *req, struct http_response *resp, const char *name,
                      int64_t max, int64_t *out)
{
    const char *v = http_query(req, name);
    if (!v)
        return true;
    char *end;
    long long x = strtoll(v, &end, 10);
    if (v[0] < '1' || v[0] > '9' || *end || x < 1 || x > max) {
        char detail[96];
        snprintf(detail, sizeof(detail), "must be an integer from 1 to %lld", (long long)max);
        return query_problem(resp, name, detail);
    }
    *out = x;
    return true;
}

/* limit (1..max, default LEDGER_HTTP_PAGE_DEFAULT) and cursor (opaque: the id to go below). */
static bool query_page(struct http_request *req, struct http_response *resp, int max,
                       int *limit, int64_t *before_id)
{
    int64_t l = LEDGER_HTTP_PAGE_DEFAULT;
    *before_id = 0;
    if (!query_int(req, resp, "limit", max, &l))
        return false;
    *limit = (int)l;
    if (!query_int(req, resp, "cursor", INT64_MAX, before_id))
        return query_problem(resp, "cursor", "is not a cursor this API returned");
    return true;
}

/* ---- GET /api/v1/players/{player_id}/balances ---- */

/* The owner's accounts (pb_calloc'ed array *out, *n of them; caller frees). */
static int owner_accounts(struct store *s, const char *owner, struct ledger_account **out,
                          size_t *n)
{
    *out = pb_calloc(LEDGER_HTTP_ACCOUNTS_MAX, sizeof(**out));
    return ledger_balances(s, owner, *out, LEDGER_HTTP_ACCOUNTS_MAX, n);
}

static void no_wallet_problem(struct http_response *resp, const char *owner)
{
    char detail[LEDGER_OWNER_MAX + 64];
    snprintf(detail, sizeof(detail), "%s has no wallet", owner);
    http_problem(resp, 404, "not_found", "Not found", detail, "player_id");
}

static enum http_result get_balances(struct http_request *req, struct http_response *resp)
{
    char owner[LEDGER_OWNER_MAX + 1];
    struct store *s;
    if (!staff_ok(req, resp, "ledger.read", NULL) || !player_owner(req, resp, owner) ||
        !reader_acquire(req, resp, &s))
        return HTTP_DONE;
    struct ledger_account *acc;
    size_t n;
    int rc = owner_accounts(s, owner, &acc, &n);
    store_pool_release(app_readers(req->app), s);
    if (rc != PB_OK) {
        internal_error(resp, rc);
    } else if (n == 0) {
        no_wallet_problem(resp, owner);
    } else {
        json_t *list = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(list, balance_json(&acc[i]));
        http_json(resp, 200, json_pack("{s:s,s:o}", "player_id", req->params[0], "balances",
                                       list));
    }
    pb_free(acc);
    return HTTP_DONE;
}

/* ---- GET /api/v1/players/{player_id}/transactions ---- */

struct history_query {
    struct ledger_history_filter f;
    char currency[LEDGER_CURRENCY_MAX + 1];
};

static bool query_time(struct http_request *req, struct http_response *resp, const char *name,
                       int64_t *out)
{
    const char *v = http_query(req, name);
    if (v && !parse_time_ns(v, out))
        return query_problem(resp, name, "must be an RFC 3339 time such as "
                                         "2026-11-20T23:59:01Z (1970 to 2262)");
    return true;
}

static bool history_query(struct http_request *req, struct http_response *resp,
                          struct history_query *q)
{
    memset(q, 0, sizeof(*q));
    const char *currency = http_query(req, "currency");
    if (currency) {
        if (!ledger_currency_find(currency))
            return query_problem(resp, "currency", "is not a known currency code");
        pb_strlcpy(q->currency, currency, sizeof(q->currency));
        q->f.currency = q->currency;
    }
    const char *code = http_query(req, "code");
    if (code && ledger_transfer_code_parse(code, &q->f.code) != PB_OK)
        return query_problem(resp, "code", "is not a known transfer code (bet, win, refund, "
                                           "deposit, withdrawal, bonus_grant, ...)");
    if (!query_time(req, resp, "from", &q->f.from_ns) ||
        !query_time(req, resp, "to", &q->f.to_ns))
        return false;
    if (http_query(req, "to") && q->f.to_ns <= q->f.from_ns)
        return query_problem(resp, "to", "must be later than from");
    return query_page(req, resp, LEDGER_HISTORY_PAGE_MAX, &q->f.limit, &q->f.before_id);
}

/* The owner's accounts as read (acc, n), or any account of owner (looked up when the list
 * was cut at LEDGER_HTTP_ACCOUNTS_MAX). */
struct player_view {
    struct store *s;
    const char *owner;
    const struct ledger_account *acc;
    size_t n;
};

static bool owns(const struct player_view *o, int64_t id)
{
    for (size_t i = 0; i < o->n; i++)
        if (o->acc[i].id == id)
            return true;
    struct ledger_account a;
    return o->n == LEDGER_HTTP_ACCOUNTS_MAX && ledger_account_get(o->s, id, &a) == PB_OK &&
           strcmp(a.owner, o->owner) == 0;
}

/* One history row from the player's side: a transfer between two of the player's own
 * accounts is shown as a debit of the debit account. */
static json_t *history_row_json(const struct ledger_history_row *r,
                                const struct player_view *o)
{
    static const char *const kinds[] = {"posted", "pending", "post", "void"};
    PB_ASSERT((size_t)r->kind < PB_ARRAY_LEN(kinds));
    bool debit = owns(o, r->debit_account);
    PB_ASSERT(debit || owns(o, r->credit_account)); /* ledger_history selects by owner */
    char when[LEDGER_HTTP_TIME_TEXT_MAX];
    ledger_http__format_time_ns(r->timestamp_ns, when);
    json_t *metadata = json_loads(r->metadata, 0, NULL);
    PB_ASSERT(json_is_object(metadata)); /* the ledger stores objects only */
    const char *code = ledger_transfer_code_name(r->code);
    PB_ASSERT(code != NULL);
    return json_pack("{s:I,s:s,s:s,s:s,s:s,s:I,s:s,s:I,s:I,s:o,s:s,s:o}", "id",
                     (json_int_t)r->id, "time", when, "kind", kinds[r->kind], "code", code,
                     "currency", r->currency, "amount_minor", (json_int_t)r->amount,
                     "direction", debit ? "debit" : "credit", "account_id",
                     (json_int_t)(debit ? r->debit_account : r->credit_account),
                     "counterparty_account_id",
                     (json_int_t)(debit ? r->credit_account : r->debit_account), "pending_id",
                     r->pending_id ? json_integer(r->pending_id) : json_null(), "reference",
                     r->reference, "metadata", metadata);
}

static int read_history(struct store *s, struct history_query *q, struct http_response *resp,
                        const char *player_id)
{
    struct ledger_account *acc;
    size_t nacc, n = 0;
    int64_t next = 0;
    struct ledger_history_row *rows = pb_calloc((size_t)q->f.limit, sizeof(*rows));
    int rc = owner_accounts(s, q->f.owner, &acc, &nacc);
    if (rc == PB_OK && nacc > 0)
        rc = ledger_history(s, &q->f, rows, &n, &next);
    if (rc == PB_OK && nacc == 0) {
        no_wallet_problem(resp, q->f.owner);
    } else if (rc == PB_OK) {
        struct player_view o = {s, q->f.owner, acc, nacc};
        json_t *list = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(list, history_row_json(&rows[i], &o));
        http_json(resp, 200, json_pack("{s:s,s:o,s:o}", "player_id", player_id,
                                       "transactions", list, "next_cursor", cursor_json(next)));
    }
    for (size_t i = 0; i < n; i++)
        pb_free(rows[i].metadata);
    pb_free(rows);
    pb_free(acc);
    return rc;
}

static enum http_result get_transactions(struct http_request *req, struct http_response *resp)
{
    char owner[LEDGER_OWNER_MAX + 1];
    struct history_query q;
    struct store *s;
    if (!staff_ok(req, resp, "ledger.read", NULL) || !player_owner(req, resp, owner) ||
        !history_query(req, resp, &q) || !reader_acquire(req, resp, &s))
        return HTTP_DONE;
    q.f.owner = owner;
    int rc = read_history(s, &q, resp, req->params[0]);
    store_pool_release(app_readers(req->app), s);
    if (rc != PB_OK)
        internal_error(resp, rc);
    return HTTP_DONE;
}

/* ---- GET /api/v1/players/me/balances and /me/transactions: the player's own ---- */

/* The authenticate step of the player's own routes: the session's player, or false with a
 * 401/503 in resp. owner gets "player:<id>". */
static bool player_self(struct http_request *req, struct http_response *resp,
                        struct pam_principal *who, char owner[LEDGER_OWNER_MAX + 1])
{
    int rc = pam_authenticate(req->app, req, who);
    if (rc != PB_OK) {
        pam_http_auth_problem(resp, rc);
        return false;
    }
    PB_ASSERT(player_id_ok(who->player_id));
    snprintf(owner, LEDGER_OWNER_MAX + 1, PLAYER_PREFIX "%s", who->player_id);
    return true;
}

static enum http_result get_my_balances(struct http_request *req, struct http_response *resp)
{
    char owner[LEDGER_OWNER_MAX + 1];
    struct pam_principal who;
    struct store *s;
    if (!player_self(req, resp, &who, owner) || !reader_acquire(req, resp, &s))
        return HTTP_DONE;
    struct ledger_account *acc;
    size_t n;
    int rc = owner_accounts(s, owner, &acc, &n);
    store_pool_release(app_readers(req->app), s);
    if (rc != PB_OK) {
        internal_error(resp, rc);
    } else {
        json_t *list = json_array(); /* a player without a wallet has no balances yet */
        for (size_t i = 0; i < n; i++)
            json_array_append_new(list, balance_json(&acc[i]));
        http_json(resp, 200, json_pack("{s:s,s:o}", "player_id", who.player_id, "balances",
                                       list));
    }
    pb_free(acc);
    return HTTP_DONE;
}

static enum http_result get_my_transactions(struct http_request *req,
                                            struct http_response *resp)
{
    char owner[LEDGER_OWNER_MAX + 1];
    struct pam_principal who;
    struct history_query q;
    struct store *s;
    if (!player_self(req, resp, &who, owner) || !history_query(req, resp, &q) ||
        !reader_acquire(req, resp, &s))
        return HTTP_DONE;
    q.f.owner = owner;
    int rc = read_history(s, &q, resp, who.player_id);
    store_pool_release(app_readers(req->app), s);
    if (rc != PB_OK)
        internal_error(resp, rc);
    return HTTP_DONE;
}

/* ---- POST /api/v1/players/{player_id}/wallets ---- */

struct wallet_cmd {
    struct writer_cmd cmd; /* first: the server frees the struct */
    struct ledger *lg;
    char player_id[PLAYER_ID_MAX + 1];
    char currency[LEDGER_CURRENCY_MAX + 1];
    bool existed;
    int64_t ids[3];
};

static int wallet_run(struct store *tx, struct writer_cmd *cmd)
{
    struct wallet_cmd *c = (struct wallet_cmd *)cmd;
    char owner[LEDGER_OWNER_MAX + 1];
    snprintf(owner, sizeof(owner), PLAYER_PREFIX "%s", c->player_id);
    struct ledger_account *acc;
    size_t n;
    int rc = owner_accounts(tx, owner, &acc, &n);
    for (size_t i = 0; rc == PB_OK && i < n; i++)
        c->existed = c->existed || (acc[i].code == LEDGER_ACC_PLAYER_CASH &&
                                    strcmp(acc[i].currency, c->currency) == 0);
    pb_free(acc);
    if (rc == PB_OK)
        rc = ledger_open_player_accounts(c->lg, tx, c->player_id, c->currency, c->ids);
    PB_ASSERT(rc != PB_ERR_INVALID); /* player id and currency were checked by the handler */
    return rc;
}

static void wallet_finish(struct http_request *req, struct writer_cmd *cmd,
                          struct http_response *resp)
{
    PB_UNUSED(req);
    struct wallet_cmd *c = (struct wallet_cmd *)cmd;
    if (cmd->status != PB_OK) {
        internal_error(resp, cmd->status);
        return;
    }
    static const int codes[3] = {LEDGER_ACC_PLAYER_CASH, LEDGER_ACC_PLAYER_BONUS,
                                 LEDGER_ACC_PLAYER_LOCKED};
    json_t *list = json_array();
    for (int i = 0; i < 3; i++) {
        PB_ASSERT(c->ids[i] > 0);
        json_array_append_new(list, json_pack("{s:I,s:s}", "account_id", (json_int_t)c->ids[i],
                                              "type", account_type(codes[i])));
    }
    http_json(resp, c->existed ? 200 : 201,
              json_pack("{s:s,s:s,s:o}", "player_id", c->player_id, "currency", c->currency,
                        "accounts", list));
}

struct wallet_body {
    const char *currency;
};

static enum http_result post_wallet(struct http_request *req, struct http_response *resp)
{
    char owner[LEDGER_OWNER_MAX + 1];
    if (!staff_ok(req, resp, "ledger.adjust", NULL) || !player_owner(req, resp, owner))
        return HTTP_DONE;
    static const struct pb_json_field fields[] = {
        PB_JSON_STR(struct wallet_body, currency, PB_JSON_REQUIRED, 1, LEDGER_CURRENCY_MAX),
    };
    json_t *root;
    struct wallet_body in = {0};
    struct wallet_cmd *c = NULL;
    if (!http_decode_body(req, resp, fields, PB_ARRAY_LEN(fields), &in, &root)) {
        /* resp holds the 400 */
    } else if (!ledger_currency_find(in.currency)) {
        http_problem(resp, 400, "validation_failed", "The request is not valid",
                     "is not a known currency code", "currency");
    } else {
        c = pb_calloc(1, sizeof(*c));
        c->cmd.run = wallet_run;
        c->lg = app_ledger(req->app);
        pb_strlcpy(c->player_id, req->params[0], sizeof(c->player_id));
        pb_strlcpy(c->currency, in.currency, sizeof(c->currency));
    }
    json_decref(root);
    if (!c)
        return HTTP_DONE;
    return http_submit(req, app_writer(req->app), &c->cmd, wallet_finish);
}

/* ---- house accounts ---- */

/* PUT /api/v1/admin/house-accounts/{type}/{currency}: makes sure the house account exists
 * (idempotent: the same id every time) and answers it. */
struct house_cmd {
    struct writer_cmd cmd; /* first: the server frees the struct */
    struct ledger *lg;
    int code;
    char currency[LEDGER_CURRENCY_MAX + 1];
    int64_t id;
};

static int house_run(struct store *tx, struct writer_cmd *cmd)
{
    struct house_cmd *c = (struct house_cmd *)cmd;
    return ledger_open_account(c->lg, tx, HOUSE_OWNER, c->code, c->currency, &c->id);
}

static void house_finish(struct http_request *req, struct writer_cmd *cmd,
                         struct http_response *resp)
{
    PB_UNUSED(req);
    struct house_cmd *c = (struct house_cmd *)cmd;
    if (cmd->status != PB_OK) {
        internal_error(resp, cmd->status);
        return;
    }
    http_json(resp, 200, json_pack("{s:I,s:s,s:s,s:s}", "account_id", (json_int_t)c->id,
                                   "owner", HOUSE_OWNER, "type", account_type(c->code),
                                   "currency", c->currency));
}

static enum http_result put_house_account(struct http_request *req, struct http_response *resp)
{
    if (!staff_ok(req, resp, "ledger.adjust", NULL))
        return HTTP_DONE;
    int code = 0;
    if (ledger_account_code_parse(req->params[0], &code) != PB_OK ||
        code < LEDGER_ACC_HOUSE_CASINO) {
        http_invalid(resp, "type", "must be a house account type (house_casino, ...)");
        return HTTP_DONE;
    }
    if (!ledger_currency_find(req->params[1])) {
        http_invalid(resp, "currency", "is not a known currency code");
        return HTTP_DONE;
    }
    struct house_cmd *c = pb_calloc(1, sizeof(*c));
    c->cmd.run = house_run;
    c->lg = app_ledger(req->app);
    c->code = code;
    pb_strlcpy(c->currency, req->params[1], sizeof(c->currency));
    return http_submit(req, app_writer(req->app), &c->cmd, house_finish);
}

/* ---- idempotent money-moving commands ---- */

struct idem_cmd;
/* Runs a request whose key is new; sets the answer (answer_json / answer_problem). Returns 0,
 * or PB_ERR_DB to fail the command (nothing of it stays). */
typedef int (*idem_apply_fn)(struct store *tx, struct idem_cmd *c);

struct idem_cmd {
    struct writer_cmd cmd; /* first: the server frees it with idem_cmd_free */
    struct ledger *lg;
    const char *scope;     /* "http:transfers", "http:adjustments" (static) */
    char key[LEDGER_HTTP_IDEM_KEY_MAX + 1];
    const char *request_json; /* canonical request, inside the allocation */
    idem_apply_fn apply;
    /* The answer: */
    int status;
    bool replayed;
    char conflict_field[64];
    char *body; /* body_cap bytes: inside the allocation, or its own when body_owned */
    size_t body_len, body_cap;
    bool body_owned;
    bool cached; /* the allocation is a LEDGER_HTTP_BLOCK_SIZE block of the cache */
};

/* Blocks of LEDGER_HTTP_BLOCK_SIZE for commands, kept for reuse instead of going back to the
 * allocator (large allocations cost it more than the rest of a request's memory): taken on
 * HTTP threads by the handlers, given back by the server's idem_cmd_free. */
static struct {
    pthread_mutex_t lock;
    void *free; /* a list through each block's first word */
    size_t count;
} block_cache = {PTHREAD_MUTEX_INITIALIZER, NULL, 0};

static char *block_take(void)
{
    pthread_mutex_lock(&block_cache.lock);
    void *b = block_cache.free;
    if (b) {
        block_cache.free = *(void **)b;
        block_cache.count--;
    }
    pthread_mutex_unlock(&block_cache.lock);
    return b ? b : pb_malloc(LEDGER_HTTP_BLOCK_SIZE);
}

static void block_give(char *b)
{
    pthread_mutex_lock(&block_cache.lock);
    if (block_cache.count < LEDGER_HTTP_BLOCK_CACHE_MAX) {
        *(void **)b = block_cache.free;
        block_cache.free = b;
        block_cache.count++;
        b = NULL;
    }
    pthread_mutex_unlock(&block_cache.lock);
    pb_free(b);
}

/* The server's way to free an idem_cmd (http_request.cmd_free). */
static void idem_cmd_free(struct writer_cmd *cmd)
{
    struct idem_cmd *c = (struct idem_cmd *)cmd;
    if (c->body_owned)
        pb_free(c->body);
    if (c->cached)
        block_give((char *)c);
    else
        pb_free(c);
}

/* Space after the struct for the canonical request, strings and the answer. */
struct idem_space {
    char *next;
    char *end;
};

static char *space_copy(struct idem_space *sp, const char *s)
{
    size_t n = strlen(s) + 1;
    PB_ASSERT((size_t)(sp->end - sp->next) >= n);
    char *out = memcpy(sp->next, s, n);
    sp->next += n;
    return out;
}

/* Allocates a command of struct size size (an idem_cmd first) followed by strings bytes of
 * room for strings (sp tracks it) and the answer's room; the caller sets request_json and
 * submits it with idem_submit. */
static void *idem_cmd_alloc(size_t size, size_t strings, const char *scope, const char *key,
                            idem_apply_fn apply, struct ledger *lg, struct idem_space *sp)
{
    size_t need = size + strings;
    bool cached = need + LEDGER_HTTP_ANSWER_ROOM_MIN <= LEDGER_HTTP_BLOCK_SIZE;
    size_t total = cached ? LEDGER_HTTP_BLOCK_SIZE : need + LEDGER_HTTP_ANSWER_ROOM_MIN;
    char *block = cached ? block_take() : pb_malloc(total);
    /* Only the struct is zeroed: the strings and the answer are written before being read
     * (answer_set; finish reads body_len bytes). */
    memset(block, 0, size);
    struct idem_cmd *c = (struct idem_cmd *)block;
    sp->next = block + size;
    sp->end = block + need;
    c->lg = lg;
    c->scope = scope;
    pb_strlcpy(c->key, key, sizeof(c->key));
    c->apply = apply;
    c->body = sp->end;
    c->body_cap = total - need;
    c->cached = cached;
    return block;
}

/* idem_cmd_alloc with room for extra bytes of strings and a copy of request_json. */
static void *idem_cmd_new(size_t size, size_t extra, const char *scope, const char *key,
                          const char *request_json, idem_apply_fn apply, struct ledger *lg,
                          struct idem_space *sp)
{
    struct idem_cmd *c = idem_cmd_alloc(size, extra + strlen(request_json) + 1, scope, key,
                                        apply, lg, sp);
    c->request_json = space_copy(sp, request_json);
    return c;
}

static int answer_set(struct idem_cmd *c, int status, const char *text, size_t len)
{
    if (len >= LEDGER_HTTP_RESULT_MAX)
        return PB_ERR_TOO_LARGE;
    if (len >= c->body_cap) { /* longer than the room left in the allocation */
        PB_ASSERT(!c->body_owned);
        c->body = pb_malloc(len + 1);
        c->body_cap = len + 1;
        c->body_owned = true;
    }
    memcpy(c->body, text, len);
    c->body[len] = '\0';
    c->body_len = len;
    c->status = status;
    return PB_OK;
}

/* The answer status + doc (reference stolen); answers built here always fit. */
static void answer_json(struct idem_cmd *c, int status, json_t *doc)
{
    char *text = json_dumps(doc, JSON_COMPACT);
    PB_ASSERT(text != NULL);
    json_decref(doc);
    PB_ASSERT(answer_set(c, status, text, strlen(text)) == PB_OK);
    free(text);
}

static void answer_problem(struct idem_cmd *c, int status, const char *code, const char *title,
                           const char *detail, const char *field)
{
    struct http_response tmp;
    memset(&tmp, 0, sizeof(tmp));
    http_problem(&tmp, status, code, title, detail, field);
    PB_ASSERT(answer_set(c, status, tmp.body.data, tmp.body.len) == PB_OK);
    pb_buf_release(&tmp.body);
}

void ledger_http_refusal(struct http_response *resp, const struct ledger_outcome *out,
                         const char *field)
{
    PB_ASSERT(out->error != LEDGER_OK);
    if (out->error == LEDGER_E_REFUSED) {
        const struct ledger_refusal *r = &out->refusal;
        PB_ASSERT(r->status >= 400 && r->status <= 499 && r->code[0]);
        http_problem_members(resp, r->status, r->code, http_status_title(r->status),
                             r->detail[0] ? r->detail : NULL, field, r->members);
        return;
    }
    char detail[160];
    snprintf(detail, sizeof(detail), "refused by the ledger (%s); nothing was applied",
             ledger_error_name(out->error));
    http_problem(resp, 422, ledger_error_name(out->error), "Refused by a ledger rule", detail,
                 field);
}

/* A refusal by a ledger rule or the guard; a retry with the key gets it again. */
static void answer_refusal(struct idem_cmd *c, const struct ledger_outcome *out,
                           const char *field)
{
    struct http_response tmp;
    memset(&tmp, 0, sizeof(tmp));
    ledger_http_refusal(&tmp, out, field);
    PB_ASSERT(answer_set(c, tmp.status, tmp.body.data, tmp.body.len) == PB_OK);
    pb_buf_release(&tmp.body);
}

static int idem_run(struct store *tx, struct writer_cmd *cmd)
{
    struct idem_cmd *c = (struct idem_cmd *)cmd;
    enum ledger_idem_state state;
    struct ledger_idem_hit hit;
    int rc = ledger_idem_check(tx, c->scope, c->key, c->request_json, &state, &hit);
    if (rc != PB_OK)
        return PB_ERR_DB;
    if (state == LEDGER_IDEM_REPLAY) {
        PB_ASSERT(hit.body != NULL && hit.status >= 200 && hit.status <= 599);
        rc = answer_set(c, hit.status, hit.body, strlen(hit.body));
        c->replayed = true;
        pb_free(hit.body);
        if (rc != PB_OK)
            pb_log(PB_LOG_ERROR, "recorded answer larger than LEDGER_HTTP_RESULT_MAX", NULL);
        return rc == PB_OK ? PB_OK : PB_ERR_DB;
    }
    if (state == LEDGER_IDEM_CONFLICT) {
        c->status = 409;
        pb_strlcpy(c->conflict_field, hit.field, sizeof(c->conflict_field));
        return PB_OK;
    }
    rc = c->apply(tx, c);
    if (rc != PB_OK)
        return rc;
    PB_ASSERT(c->status != 0 && c->body_len > 0);
    return ledger_idem_record(tx, c->scope, c->key, c->request_json, c->status, c->body);
}

static void idem_finish(struct http_request *req, struct writer_cmd *cmd,
                        struct http_response *resp)
{
    PB_UNUSED(req);
    struct idem_cmd *c = (struct idem_cmd *)cmd;
    if (cmd->status != PB_OK) {
        internal_error(resp, cmd->status);
        return;
    }
    if (c->status == 409) {
        http_problem(resp, 409, "idempotency_conflict", "Idempotency key reused",
                     "this Idempotency-Key was used with a different request", c->conflict_field);
        return;
    }
    http_body_borrow(resp, c->body, c->body_len); /* freed with the command */
    resp->status = c->status;
    resp->content_type = c->status >= 400 ? "application/problem+json" : "application/json";
    if (c->replayed)
        http_header_add(resp, "Idempotent-Replayed", "true");
}

/* Submits a command of idem_cmd_alloc (the server frees it with idem_cmd_free). */
static enum http_result idem_submit(struct http_request *req, struct idem_cmd *c)
{
    c->cmd.run = idem_run;
    req->cmd_free = idem_cmd_free;
    return http_submit(req, app_writer(req->app), &c->cmd, idem_finish);
}

/* The canonical text of a flat request object (keys sorted, compact); caller frees. */
static char *canonical_text(json_t *flat)
{
    char *text = json_dumps(flat, JSON_COMPACT | JSON_SORT_KEYS);
    PB_ASSERT(text != NULL);
    json_decref(flat);
    return text;
}

/* ---- POST /api/v1/ledger/transfers ---- */

struct transfers_cmd {
    struct idem_cmd base; /* first */
    size_t n;
    struct ledger_transfer t[LEDGER_LINKED_MAX]; /* strings inside the allocation */
};

/* The 201 answer: the applied transfers and the new balances of the non-house (non-hot)
 * accounts they touched, as the ledger reports them (no read needed). Formatted directly,
 * byte for byte what json_dumps(JSON_COMPACT) gives for the document balance_json and
 * json_pack would build (keys in the same order): this runs on the writer thread, where
 * building and dumping the document cost a tenth of the command. */
static void transfers_answer(const struct ledger_outcome *out, struct pb_buf *b)
{
    pb_buf_puts(b, "{\"transfers\":[");
    for (size_t i = 0; i < out->n; i++) {
        const struct ledger_applied *a = &out->applied[i];
        char when[LEDGER_HTTP_TIME_TEXT_MAX];
        ledger_http__format_time_ns(a->timestamp_ns, when);
        pb_buf_puts(b, i ? ",{\"id\":" : "{\"id\":");
        pb_buf_put_i64(b, a->id);
        pb_buf_puts(b, ",\"time\":");
        pb_buf_json_string(b, when, strlen(when));
        pb_buf_puts(b, ",\"amount_minor\":");
        pb_buf_put_i64(b, a->amount);
        pb_buf_puts(b, ",\"hash\":");
        pb_buf_json_string(b, a->hash, strlen(a->hash));
        pb_buf_putc(b, '}');
    }
    pb_buf_puts(b, "],\"balances\":[");
    for (size_t i = 0; i < out->nbalances; i++) {
        const struct ledger_account *acc = &out->balances[i];
        const struct ledger_currency *c = ledger_currency_find(acc->currency);
        PB_ASSERT(c != NULL && acc->id > 0 && !(acc->flags & LEDGER_FLAG_HOT));
        const char *type = account_type(acc->code);
        pb_buf_puts(b, i ? ",{\"account_id\":" : "{\"account_id\":");
        pb_buf_put_i64(b, acc->id);
        pb_buf_puts(b, ",\"type\":");
        pb_buf_json_string(b, type, strlen(type));
        pb_buf_puts(b, ",\"currency\":");
        pb_buf_json_string(b, acc->currency, strlen(acc->currency));
        pb_buf_puts(b, ",\"exponent\":");
        pb_buf_put_i64(b, c->exponent);
        pb_buf_puts(b, ",\"posted_minor\":");
        pb_buf_put_i64(b, ledger_posted_balance(acc));
        pb_buf_puts(b, ",\"available_minor\":");
        pb_buf_put_i64(b, ledger_available(acc));
        pb_buf_puts(b, ",\"pending_debits_minor\":");
        pb_buf_put_i64(b, acc->debits_pending);
        pb_buf_puts(b, ",\"pending_credits_minor\":");
        pb_buf_put_i64(b, acc->credits_pending);
        pb_buf_putc(b, '}');
    }
    pb_buf_puts(b, "]}");
}

static void idem_scoped_key(const struct idem_cmd *c, char *out, size_t len)
{
    int n = snprintf(out, len, "%s:%s", c->scope, c->key);
    PB_ASSERT(n > 0 && (size_t)n < len);
}

static int transfers_apply(struct store *tx, struct idem_cmd *base)
{
    struct transfers_cmd *c = (struct transfers_cmd *)base;
    char idem[LEDGER_HTTP_IDEM_KEY_MAX + 64];
    idem_scoped_key(base, idem, sizeof(idem));
    struct ledger_outcome out;
    int rc = ledger_apply(base->lg, tx, &base->cmd, idem, c->t, c->n, &out);
    if (rc != PB_OK)
        return PB_ERR_DB;
    if (out.error != LEDGER_OK) {
        PB_ASSERT(out.failed_index >= 0 && (size_t)out.failed_index < c->n);
        char field[32];
        snprintf(field, sizeof(field), "transfers[%d]", out.failed_index);
        answer_refusal(base, &out, field);
        return PB_OK;
    }
    PB_ASSERT(out.n == c->n);
    struct pb_buf answer = PB_BUF_INIT;
    transfers_answer(&out, &answer);
    PB_ASSERT(answer_set(base, 201, answer.data, answer.len) == PB_OK); /* always fits */
    pb_buf_release(&answer);
    return PB_OK;
}

static enum http_result post_transfers(struct http_request *req, struct http_response *resp)
{
    const char *key = NULL;
    struct ledger_http__transfers r;
    struct pb_json_error err;
    if (!staff_ok(req, resp, "ledger.transfer", NULL) || !(key = idempotency_key(req, resp)))
        return HTTP_DONE;
    if (ledger_http__transfers_decode(pb_buf_str(&req->body), req->body.len, &r, &err) !=
        PB_OK) {
        http_problem_json(resp, &err);
        ledger_http__transfers_release(&r);
        return HTTP_DONE;
    }
    size_t canonical_cap = ledger_http__transfers_canonical_max(&r) + 1;
    size_t extra = canonical_cap;
    for (size_t i = 0; i < r.n; i++)
        extra += strlen(r.t[i].reference) + 1 + (r.t[i].metadata ? strlen(r.t[i].metadata) + 1
                                                                   : 0);
    struct idem_space sp;
    struct transfers_cmd *c = idem_cmd_alloc(sizeof(*c), extra, "http:transfers", key,
                                             transfers_apply, app_ledger(req->app), &sp);
    PB_ASSERT((size_t)(sp.end - sp.next) >= canonical_cap);
    c->base.request_json = sp.next;
    sp.next += ledger_http__transfers_canonical(&r, sp.next, canonical_cap) + 1;
    c->n = r.n;
    for (size_t i = 0; i < r.n; i++) {
        c->t[i] = r.t[i];
        c->t[i].reference = space_copy(&sp, r.t[i].reference);
        if (r.t[i].metadata)
            c->t[i].metadata = space_copy(&sp, r.t[i].metadata);
    }
    ledger_http__transfers_release(&r);
    return idem_submit(req, &c->base);
}

/* ---- POST /api/v1/admin/adjustments ---- */

struct adjustment_body {
    const char *player_id, *currency, *account, *reason;
    int64_t amount_minor;
};

struct adjustment_cmd {
    struct idem_cmd base; /* first */
    char player_id[PLAYER_ID_MAX + 1];
    char currency[LEDGER_CURRENCY_MAX + 1];
    int code; /* LEDGER_ACC_PLAYER_CASH or _BONUS */
    int64_t amount; /* > 0 credits the player, < 0 debits */
    char reason[LEDGER_HTTP_REASON_MAX + 1];
    char actor[AUDIT_ACTOR_MAX + 1]; /* who, for the audit row */
};

/* The player's account (owner, code, currency) as it is now. 0, PB_ERR_NOT_FOUND, PB_ERR_DB. */
static int find_player_account(struct store *tx, const char *owner, int code,
                               const char *currency, struct ledger_account *out)
{
    struct ledger_account *acc;
    size_t n;
    int rc = owner_accounts(tx, owner, &acc, &n);
    if (rc == PB_OK)
        rc = PB_ERR_NOT_FOUND;
    for (size_t i = 0; rc == PB_ERR_NOT_FOUND && i < n; i++) {
        if (acc[i].code == code && strcmp(acc[i].currency, currency) == 0) {
            *out = acc[i];
            rc = PB_OK;
        }
    }
    pb_free(acc);
    return rc;
}

/* After the adjustment's transfer: the audit row (same transaction) and the 201 answer. */
static int adjustment_record(struct store *tx, struct adjustment_cmd *c, const char *owner,
                             const struct ledger_account *before,
                             const struct ledger_applied *applied, int64_t audit_id)
{
    struct ledger_account after;
    if (ledger_account_get(tx, before->id, &after) != PB_OK)
        return PB_ERR_DB;
    PB_ASSERT(ledger_posted_balance(&after) - ledger_posted_balance(before) == c->amount);
    json_t *before_doc = balance_json(before), *after_doc = balance_json(&after);
    char *before_text = json_dumps(before_doc, JSON_COMPACT | JSON_SORT_KEYS);
    char *after_text = json_dumps(after_doc, JSON_COMPACT | JSON_SORT_KEYS);
    char ref[32];
    snprintf(ref, sizeof(ref), "transfer:%lld", (long long)applied->id);
    struct audit_record r = {audit_id, applied->timestamp_ns, c->actor, "ledger.adjustment",
                             owner, c->reason, before_text, after_text, ref};
    int rc = audit_insert(tx, &r);
    free(before_text);
    free(after_text);
    json_decref(before_doc);
    if (rc != PB_OK) {
        json_decref(after_doc);
        return PB_ERR_DB;
    }
    answer_json(&c->base, 201, json_pack("{s:I,s:o,s:I}", "transfer_id", (json_int_t)applied->id,
                                         "balance", after_doc, "audit_id", (json_int_t)audit_id));
    return PB_OK;
}

static int adjustment_apply(struct store *tx, struct idem_cmd *base)
{
    struct adjustment_cmd *c = (struct adjustment_cmd *)base;
    char owner[LEDGER_OWNER_MAX + 1], detail[160];
    snprintf(owner, sizeof(owner), PLAYER_PREFIX "%s", c->player_id);
    struct ledger_account before;
    int rc = find_player_account(tx, owner, c->code, c->currency, &before);
    if (rc == PB_ERR_NOT_FOUND) {
        snprintf(detail, sizeof(detail), "%s has no %s %s account", owner, c->currency,
                 account_type(c->code));
        answer_problem(base, 404, "not_found", "Not found", detail, "player_id");
        return PB_OK;
    }
    int64_t house, audit_id;
    if (rc != PB_OK ||
        ledger_open_account(base->lg, tx, HOUSE_OWNER, LEDGER_ACC_ADJUSTMENTS, c->currency,
                            &house) != PB_OK ||
        audit_next_id(tx, &audit_id) != PB_OK)
        return PB_ERR_DB;
    char reference[32], metadata[48], idem[LEDGER_HTTP_IDEM_KEY_MAX + 64];
    snprintf(reference, sizeof(reference), "audit:%lld", (long long)audit_id);
    snprintf(metadata, sizeof(metadata), "{\"audit_id\":%lld}", (long long)audit_id);
    idem_scoped_key(base, idem, sizeof(idem));
    bool credit = c->amount > 0;
    struct ledger_transfer t = {.kind = LEDGER_POSTED,
                                .debit_account = credit ? house : before.id,
                                .credit_account = credit ? before.id : house,
                                .amount = credit ? c->amount : -c->amount,
                                .code = LEDGER_TX_ADJUSTMENT, .reference = reference,
                                .metadata = metadata};
    struct ledger_outcome out;
    if (ledger_apply(base->lg, tx, &base->cmd, idem, &t, 1, &out) != PB_OK)
        return PB_ERR_DB;
    if (out.error != LEDGER_OK) {
        answer_refusal(base, &out, "amount_minor");
        return PB_OK;
    }
    return adjustment_record(tx, c, owner, &before, &out.applied[0], audit_id);
}

/* Decodes and checks the body; false with a 400 in resp. */
static bool adjustment_decode(struct http_request *req, struct http_response *resp,
                              json_t **root, struct adjustment_body *in, int *code)
{
    static const struct pb_json_field fields[] = {
        PB_JSON_STR(struct adjustment_body, player_id, PB_JSON_REQUIRED, 1, 64),
        PB_JSON_STR(struct adjustment_body, currency, PB_JSON_REQUIRED, 1, LEDGER_CURRENCY_MAX),
        PB_JSON_STR(struct adjustment_body, account, PB_JSON_REQUIRED, 1, 16),
        PB_JSON_INT(struct adjustment_body, amount_minor, PB_JSON_REQUIRED, -INT64_MAX,
                    INT64_MAX),
        PB_JSON_STR(struct adjustment_body, reason, PB_JSON_REQUIRED, LEDGER_HTTP_REASON_MIN,
                    LEDGER_HTTP_REASON_MAX),
    };
    if (!http_decode_body(req, resp, fields, PB_ARRAY_LEN(fields), in, root))
        return false;
    const char *field = NULL, *detail = NULL;
    *code = strcmp(in->account, "cash") == 0    ? LEDGER_ACC_PLAYER_CASH
            : strcmp(in->account, "bonus") == 0 ? LEDGER_ACC_PLAYER_BONUS
                                                : 0;
    if (!player_id_ok(in->player_id)) {
        player_id_problem(resp);
        return false;
    }
    if (!ledger_currency_find(in->currency))
        field = "currency", detail = "is not a known currency code";
    else if (*code == 0)
        field = "account", detail = "must be cash or bonus";
    else if (in->amount_minor == 0)
        field = "amount_minor", detail = "must not be zero (positive credits the player)";
    if (field)
        http_problem(resp, 400, "validation_failed", "The request is not valid", detail, field);
    return field == NULL;
}

static enum http_result post_adjustment(struct http_request *req, struct http_response *resp)
{
    const char *key = NULL;
    char actor[AUDIT_ACTOR_MAX + 1];
    if (!staff_ok(req, resp, "ledger.adjust", actor) || !(key = idempotency_key(req, resp)))
        return HTTP_DONE;
    json_t *root = NULL;
    struct adjustment_body in = {0};
    int code;
    if (!adjustment_decode(req, resp, &root, &in, &code)) {
        json_decref(root);
        return HTTP_DONE;
    }
    json_t *flat = json_pack("{s:s,s:I,s:s,s:s,s:s}", "account", in.account, "amount_minor",
                             (json_int_t)in.amount_minor, "currency", in.currency, "player_id",
                             in.player_id, "reason", in.reason);
    PB_ASSERT(flat != NULL);
    char *canonical = canonical_text(flat);
    struct idem_space sp;
    struct adjustment_cmd *c = idem_cmd_new(sizeof(*c), 0, "http:adjustments", key, canonical,
                                            adjustment_apply, app_ledger(req->app), &sp);
    pb_strlcpy(c->player_id, in.player_id, sizeof(c->player_id));
    pb_strlcpy(c->currency, in.currency, sizeof(c->currency));
    pb_strlcpy(c->reason, in.reason, sizeof(c->reason));
    pb_strlcpy(c->actor, actor, sizeof(c->actor));
    c->code = code;
    c->amount = in.amount_minor;
    free(canonical);
    json_decref(root);
    return idem_submit(req, &c->base);
}

/* ---- GET /api/v1/admin/audit ---- */

static json_t *audit_row_json(const struct audit_row *r)
{
    char when[LEDGER_HTTP_TIME_TEXT_MAX];
    ledger_http__format_time_ns(r->time_ns, when);
    json_t *before = json_loads(r->before_json, 0, NULL), *after = json_loads(r->after_json, 0,
                                                                             NULL);
    PB_ASSERT(before != NULL && after != NULL); /* written by audit_insert from json_dumps */
    json_t *doc = json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:o,s:o,s:s}", "id", (json_int_t)r->id,
                            "time", when, "actor", r->actor, "action", r->action, "subject",
                            r->subject, "reason", r->reason, "before", before, "after", after,
                            "ref", r->ref);
    PB_ASSERT(doc != NULL);
    return doc;
}

static enum http_result get_audit(struct http_request *req, struct http_response *resp)
{
    int limit;
    int64_t before_id, next;
    struct store *s;
    if (!staff_ok(req, resp, "audit.read", NULL) ||
        !query_page(req, resp, AUDIT_PAGE_MAX, &limit, &before_id) ||
        !reader_acquire(req, resp, &s))
        return HTTP_DONE;
    struct audit_row *rows = pb_calloc((size_t)limit, sizeof(*rows));
    size_t n;
    int rc = audit_list(s, before_id, limit, rows, &n, &next);
    store_pool_release(app_readers(req->app), s);
    if (rc != PB_OK) {
        internal_error(resp, rc);
    } else {
        json_t *list = json_array();
        for (size_t i = 0; i < n; i++)
            json_array_append_new(list, audit_row_json(&rows[i]));
        http_json(resp, 200, json_pack("{s:o,s:o}", "entries", list, "next_cursor",
                                       cursor_json(next)));
        for (size_t i = 0; i < n; i++)
            audit_row_release(&rows[i]);
    }
    pb_free(rows);
    return HTTP_DONE;
}

/* ---- WebSocket push of balances ---- */

/* A balance of a "ledger.transfers" event in the shape of GET .../balances, or NULL. */
static json_t *event_balance(json_t *b)
{
    const char *currency = json_string_value(json_object_get(b, "currency"));
    const struct ledger_currency *c = currency ? ledger_currency_find(currency) : NULL;
    int code;
    if (!c ||
        ledger_account_code_parse(json_string_value(json_object_get(b, "type")), &code) != PB_OK)
        return NULL;
    return json_pack("{s:O,s:s,s:s,s:i,s:O,s:O,s:O,s:O}", "account_id",
                     json_object_get(b, "account_id"), "type", account_type(code), "currency",
                     currency, "exponent", c->exponent, "posted_minor",
                     json_object_get(b, "posted_minor"), "available_minor",
                     json_object_get(b, "available_minor"), "pending_debits_minor",
                     json_object_get(b, "pending_debits_minor"), "pending_credits_minor",
                     json_object_get(b, "pending_credits_minor"));
}

static const char *balance_owner(json_t *balances, size_t i)
{
    return json_string_value(json_object_get(json_array_get(balances, i), "owner"));
}

/* Publishes the balances of owner (from index first on) to topic owner. */
static void publish_player(void *app, const struct pb_event *ev, json_t *balances, size_t first,
                           const char *owner)
{
    json_t *list = json_array();
    for (size_t j = first; j < json_array_size(balances); j++) {
        const char *o = balance_owner(balances, j);
        json_t *b = o && strcmp(o, owner) == 0 ? event_balance(json_array_get(balances, j))
                                               : NULL;
        if (b)
            json_array_append_new(list, b);
        else if (o && strcmp(o, owner) == 0)
            pb_log(PB_LOG_WARN, "ledger event balance not understood", "\"event\":\"%s\"",
                   ev->id);
    }
    json_t *data = json_pack("{s:s,s:s,s:o}", "kind", "balances", "player_id",
                             owner + PLAYER_PREFIX_LEN, "balances", list);
    PB_ASSERT(data != NULL);
    char *text = json_dumps(data, JSON_COMPACT);
    json_decref(data);
    int rc = ws_hub_publish(ws_hub_of(app), owner, text, strlen(text));
    if (rc != PB_OK && rc != PB_ERR_CLOSED)
        pb_log(PB_LOG_WARN, "balances not published to websocket",
               "\"event\":\"%s\",\"error\":\"%s\"", ev->id, pb_err_name(rc));
    free(text);
}

/* Whether a "ledger.transfers" event may concern a subscribed player, from a look at the
 * owners in its text (the ledger writes "owner":"<owner>", and a player's owner needs no
 * escapes; the byte sequence cannot occur inside a string, whose quotes are escaped) before
 * parsing it. False only when every owner's topic is unwanted. */
static bool event_wanted(struct ws_hub *hub, const char *data)
{
    static const char key[] = "\"owner\":\"";
    char topic[PB_WS_TOPIC_MAX + 1];
    for (const char *p = strstr(data, key); p; p = strstr(p, key)) {
        p += sizeof(key) - 1;
        size_t n = strcspn(p, "\"\\");
        if (p[n] != '"' || n > PB_WS_TOPIC_MAX)
            return true; /* escaped or long: the parser decides */
        memcpy(topic, p, n);
        topic[n] = '\0';
        if (n > 0 && ws_hub_wanted(hub, topic))
            return true;
        p += n;
    }
    return false;
}

void ledger_http_on_event(const struct pb_event *ev, void *app)
{
    if (strcmp(ev->type, "ledger.transfers") != 0 || ws_hub_idle(ws_hub_of(app)) ||
        !event_wanted(ws_hub_of(app), ev->data))
        return; /* nothing to publish, or nobody to publish it to */
    json_t *root = json_loads(ev->data, 0, NULL);
    json_t *balances = json_object_get(root, "balances");
    if (!json_is_array(balances))
        pb_log(PB_LOG_WARN, "ledger event without balances", "\"event\":\"%s\"", ev->id);
    for (size_t i = 0; i < json_array_size(balances); i++) {
        const char *owner = balance_owner(balances, i);
        if (!owner || strncmp(owner, PLAYER_PREFIX, PLAYER_PREFIX_LEN) != 0 ||
            !player_id_ok(owner + PLAYER_PREFIX_LEN))
            continue;
        bool seen = false; /* published with an earlier balance of the same owner */
        for (size_t k = 0; k < i && !seen; k++) {
            const char *o = balance_owner(balances, k);
            seen = o && strcmp(o, owner) == 0;
        }
        if (!seen)
            publish_player(app, ev, balances, i, owner);
    }
    json_decref(root);
}

/* ---- routes ---- */

const struct http_route ledger_routes[] = {
    /* Before the {player_id} patterns, which "me" would match too. */
    {HTTP_GET, "/api/v1/players/me/balances", get_my_balances, 0},
    {HTTP_GET, "/api/v1/players/me/transactions", get_my_transactions, 0},
    {HTTP_POST, "/api/v1/players/{player_id}/wallets", post_wallet, HTTP_ROUTE_JSON_BODY},
    {HTTP_GET, "/api/v1/players/{player_id}/balances", get_balances, 0},
    {HTTP_GET, "/api/v1/players/{player_id}/transactions", get_transactions, 0},
    {HTTP_POST, "/api/v1/ledger/transfers", post_transfers, HTTP_ROUTE_JSON_BODY},
    {HTTP_POST, "/api/v1/admin/adjustments", post_adjustment, HTTP_ROUTE_JSON_BODY},
    {HTTP_GET, "/api/v1/admin/audit", get_audit, 0},
    {HTTP_PUT, "/api/v1/admin/house-accounts/{type}/{currency}", put_house_account, 0},
};
const size_t ledger_routes_count = PB_ARRAY_LEN(ledger_routes);
