/* provider_sim.c: the studio simulator and setup helpers (provider_sim.h). */
#include "provider_sim.h"

#include "fixtures.h"

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <sodium.h>

void psim_provider_create(const struct pb_server *srv, const char *name, const char *protocol,
                          const char *ranges_json, bool accept_unknown, int ttl_s,
                          struct psim_provider *out)
{
    char body[1024];
    snprintf(body, sizeof(body),
             "{\"name\":\"%s\",\"protocol\":\"%s\",\"base_url\":\"https://games.example/%s\","
             "\"ip_ranges\":%s,\"currencies\":[\"EUR\",\"GBP\"],"
             "\"accept_unknown_round_wins\":%s,\"session_ttl_s\":%d,"
             "\"reason\":\"integration test\"}",
             name, protocol, name, ranges_json, accept_unknown ? "true" : "false", ttl_s);
    json_t *doc = pb_call_json(srv, "POST", "/api/v1/admin/providers", body, PSIM_STAFF, NULL, 201);
    snprintf(out->name, sizeof(out->name), "%s", name);
    const char *secret = json_string_value(json_object_get(doc, "secret"));
    assert_non_null(secret);
    assert_int_equal(strlen(secret), 64);
    snprintf(out->secret, sizeof(out->secret), "%s", secret);
    json_decref(doc);
}

void psim_game_create(const struct pb_server *srv, const char *provider, const char *external)
{
    char path[256];
    snprintf(path, sizeof(path), "/api/v1/admin/providers/%s/games/%s", provider, external);
    const char *body = "{\"name\":\"Sim Slot\",\"category\":\"slot\",\"tags\":[\"sim\"],"
                       "\"rtp_bp\":9600,\"volatility\":\"medium\",\"jurisdictions\":[\"*\"],"
                       "\"brands\":[\"*\"],\"enabled\":true,\"ordering\":10,"
                       "\"reason\":\"integration test\"}";
    json_t *doc = pb_call_json(srv, "PUT", path, body, PSIM_STAFF, NULL, 201);
    json_decref(doc);
}

void psim_launch(const struct pb_server *srv, const char *player_token, const char *game_id,
                 char *launch_token, size_t len)
{
    char path[256];
    snprintf(path, sizeof(path), "/api/v1/catalog/%s/launch", game_id);
    json_t *doc = pb_call_json(srv, "POST", path, "{\"mode\":\"real\"}", player_token, NULL, 201);
    const char *url = json_string_value(json_object_get(doc, "url"));
    const char *t = url ? strstr(url, "token=") : NULL;
    assert_non_null(t);
    t += 6;
    size_t n = strcspn(t, "&");
    assert_true(n > 0 && n < len);
    memcpy(launch_token, t, n);
    launch_token[n] = '\0';
    json_decref(doc);
}

void psim_sign(const char *secret, long long ts, const char *body, char out[65])
{
    crypto_auth_hmacsha256_state st;
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    char prefix[32];
    int n = snprintf(prefix, sizeof(prefix), "%lld.", ts);
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)secret, strlen(secret));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)prefix, (unsigned long long)n);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, strlen(body));
    crypto_auth_hmacsha256_final(&st, mac);
    sodium_bin2hex(out, 65, mac, sizeof(mac));
}

void psim_call(const struct pb_server *srv, const struct psim_provider *p, const char *op,
               const char *body, long long ts_offset_s, struct pb_response *r)
{
    char path[256], ts_h[64], sig_h[128], sig[65];
    long long ts = (long long)time(NULL) + ts_offset_s;
    psim_sign(p->secret, ts, body, sig);
    snprintf(path, sizeof(path), "/api/v1/providers/%s/wallet/%s", p->name, op);
    snprintf(ts_h, sizeof(ts_h), "X-Provider-Timestamp: %lld", ts);
    snprintf(sig_h, sizeof(sig_h), "X-Provider-Signature: %s", sig);
    const char *headers[] = {ts_h, sig_h, NULL};
    pb_request(srv, "POST", path, "application/json", body, strlen(body), headers, r);
}

void psim_authenticate(const struct pb_server *srv, const struct psim_provider *p,
                       const char *launch_token, char *session_token, size_t len)
{
    char body[256];
    struct pb_response r;
    snprintf(body, sizeof(body), "{\"token\":\"%s\"}", launch_token);
    psim_call(srv, p, "authenticate", body, 0, &r);
    if (r.status != 200)
        fail_msg("authenticate answered %ld: %s", r.status, r.body);
    json_t *doc = json_loads(r.body, 0, NULL);
    const char *t = json_string_value(json_object_get(doc, "session_token"));
    assert_non_null(t);
    assert_true(strlen(t) < len);
    snprintf(session_token, len, "%s", t);
    json_decref(doc);
    pb_response_release(&r);
}

/* ---- the simulator (worker threads: no cmocka assertions here) ---- */

#define LOST_TIMEOUT_MS 1L      /* a "lost" request: the answer never arrives in time */
#define CALL_TIMEOUT_MS 30000L  /* a definitive request */
#define TRANSPORT_RETRIES 20

struct sim_player {
    const struct pb_server *srv;
    const struct psim_provider *p;
    const struct psim_config *cfg;
    int index;
    char id[25], token[44], session[64];
    int64_t model;
    unsigned rng;
    CURL *curl;
    struct psim_stats st;
};

struct sim_answer {
    long status;
    bool replayed;
    char *body;
    json_t *doc;
};

static void answer_release(struct sim_answer *a)
{
    free(a->body);
    json_decref(a->doc);
    memset(a, 0, sizeof(*a));
}

static size_t sink(char *data, size_t size, size_t nmemb, void *arg)
{
    char **buf = arg;
    size_t old = *buf ? strlen(*buf) : 0, n = size * nmemb;
    *buf = realloc(*buf, old + n + 1);
    memcpy(*buf + old, data, n);
    (*buf)[old + n] = '\0';
    return n;
}

/* One signed POST; 0 with the answer, or -1 when it timed out or failed in transport. */
static int post(struct sim_player *pl, const char *op, const char *body, long timeout_ms,
                struct sim_answer *a)
{
    char url[256], ts_h[64], sig_h[128], sig[65];
    long long ts = (long long)time(NULL);
    char *headers = NULL;
    memset(a, 0, sizeof(*a));
    psim_sign(pl->p->secret, ts, body, sig);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/api/v1/providers/%s/wallet/%s",
             pl->srv->port, pl->p->name, op);
    snprintf(ts_h, sizeof(ts_h), "X-Provider-Timestamp: %lld", ts);
    snprintf(sig_h, sizeof(sig_h), "X-Provider-Signature: %s", sig);
    struct curl_slist *hl = curl_slist_append(NULL, "Content-Type: application/json");
    hl = curl_slist_append(hl, "Expect:");
    hl = curl_slist_append(hl, ts_h);
    hl = curl_slist_append(hl, sig_h);
    CURL *c = pl->curl;
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &a->body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, sink);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &headers);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    CURLcode rc = curl_easy_perform(c);
    curl_slist_free_all(hl);
    pl->st.requests++;
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &a->status);
    a->replayed = headers && strstr(headers, "Idempotent-Replayed: true");
    free(headers);
    if (rc != CURLE_OK || !a->body) {
        answer_release(a);
        return -1;
    }
    a->doc = json_loads(a->body, 0, NULL);
    return a->doc ? 0 : -1;
}

/* Sends until an answer arrives (retries after transport failures: same body, same id). */
static void definitive(struct sim_player *pl, const char *op, const char *body,
                       struct sim_answer *a)
{
    for (int i = 0; i < TRANSPORT_RETRIES; i++)
        if (post(pl, op, body, CALL_TIMEOUT_MS, a) == 0)
            return;
    a->status = -1;
}

/* Sometimes first loses the request (a client timeout), then sends it definitively. */
static void lossy(struct sim_player *pl, const char *op, const char *body, int lose_percent,
                  struct sim_answer *a)
{
    if ((int)(rand_r(&pl->rng) % 100) < lose_percent) {
        pl->st.timeouts++;
        if (post(pl, op, body, LOST_TIMEOUT_MS, a) == 0)
            answer_release(a); /* it came in time after all: resend anyway */
    }
    definitive(pl, op, body, a);
}

static void mismatch(struct sim_player *pl, const char *what, const struct sim_answer *a)
{
    pl->st.failures++;
    fprintf(stderr, "sim player %d: %s (status %ld%s): %s\n", pl->index, what, a->status,
            a->replayed ? ", replayed" : "", a->body ? a->body : "(none)");
}

static long long balance_of(const struct sim_answer *a)
{
    const json_t *b = json_object_get(a->doc, "balance_minor");
    return json_is_integer(b) ? (long long)json_integer_value(b) : -1;
}

static const char *code_of(const struct sim_answer *a)
{
    const char *c = json_string_value(json_object_get(a->doc, "code"));
    return c ? c : "";
}

/* Expects status (and code for problems); checks the balance against the model unless the
 * answer is a replay (it carries the balance of its first delivery). */
static bool expect(struct sim_player *pl, struct sim_answer *a, long status, const char *code,
                   const char *what)
{
    bool ok = a->status == status && (!code || strcmp(code_of(a), code) == 0) &&
              (a->replayed || balance_of(a) == pl->model);
    if (!ok) {
        char text[160];
        snprintf(text, sizeof(text), "%s: expected %ld %s, model balance %lld", what, status,
                 code ? code : "", (long long)pl->model);
        mismatch(pl, text, a);
    }
    return ok;
}

static void body_of(char *out, size_t len, const struct sim_player *pl, const char *tx,
                    const char *round, int64_t amount)
{
    snprintf(out, len, "{\"session_token\":\"%s\",\"transaction_id\":\"%s\",\"round_id\":\"%s\","
             "\"amount_minor\":%lld}", pl->session, tx, round, (long long)amount);
}

static void rollback_body(char *out, size_t len, const struct sim_player *pl, const char *tx,
                          const char *ref, const char *round)
{
    snprintf(out, len, "{\"session_token\":\"%s\",\"transaction_id\":\"%s\","
             "\"reference_transaction_id\":\"%s\",\"round_id\":\"%s\"}", pl->session, tx, ref,
             round);
}

static void end_round(struct sim_player *pl, const char *round, bool must_exist)
{
    char body[256];
    struct sim_answer a;
    snprintf(body, sizeof(body), "{\"session_token\":\"%s\",\"round_id\":\"%s\"}", pl->session,
             round);
    definitive(pl, "end-round", body, &a);
    if (must_exist || a.status != 404)
        expect(pl, &a, 200, NULL, "end round");
    answer_release(&a);
}

/* A rollback that arrives before its bet: it succeeds, and the bet is then refused. */
static void out_of_order(struct sim_player *pl, const char *tx, const char *round)
{
    char body[512], rb[128];
    struct sim_answer a;
    snprintf(rb, sizeof(rb), "%s-rb", tx);
    rollback_body(body, sizeof(body), pl, rb, tx, round);
    definitive(pl, "rollback", body, &a);
    if (expect(pl, &a, 200, NULL, "rollback before its bet") &&
        !json_is_true(json_object_get(a.doc, "tombstone")))
        mismatch(pl, "rollback of an unknown bet without tombstone", &a);
    answer_release(&a);
    body_of(body, sizeof(body), pl, tx, round, 10);
    definitive(pl, "bet", body, &a);
    expect(pl, &a, 409, "already_rolled_back", "bet after its rollback");
    answer_release(&a);
    pl->st.tombstones++;
}

/* A bet whose answer was lost, then rolled back: net zero whether it had applied or not; a
 * late retry of the bet is a replay or refused. */
static void lost_then_rolled_back(struct sim_player *pl, const char *tx, const char *round,
                                  int64_t amount)
{
    char body[512], rb[128];
    struct sim_answer a;
    body_of(body, sizeof(body), pl, tx, round, amount);
    pl->st.timeouts++;
    if (post(pl, "bet", body, LOST_TIMEOUT_MS, &a) == 0)
        answer_release(&a);
    snprintf(rb, sizeof(rb), "%s-rb", tx);
    char rbody[512];
    rollback_body(rbody, sizeof(rbody), pl, rb, tx, round);
    lossy(pl, "rollback", rbody, 10, &a);
    expect(pl, &a, 200, NULL, "rollback after a lost bet");
    answer_release(&a);
    definitive(pl, "bet", body, &a);
    if (!(a.status == 200 && a.replayed) &&
        !(a.status == 409 && strcmp(code_of(&a), "already_rolled_back") == 0))
        mismatch(pl, "late bet after rollback is neither a replay nor refused", &a);
    answer_release(&a);
    end_round(pl, round, false);
    pl->st.rollbacks++;
}

static void play_round(struct sim_player *pl, int i)
{
    char tx[96], round[96], body[512];
    struct sim_answer a, again;
    unsigned *r = &pl->rng;
    snprintf(tx, sizeof(tx), "b-%d-%d", pl->index, i);
    snprintf(round, sizeof(round), "r-%d-%d", pl->index, i);
    int scenario = (int)(rand_r(r) % 100);
    if (scenario < 5)
        return out_of_order(pl, tx, round);
    if (scenario < 9 || pl->model == 0) { /* more than the balance */
        body_of(body, sizeof(body), pl, tx, round, pl->model + 1 + rand_r(r) % 50);
        definitive(pl, "bet", body, &a);
        expect(pl, &a, 422, "insufficient_funds", "bet above the balance");
        answer_release(&a);
        pl->st.refused_bets++;
        return;
    }
    int64_t amount = 1 + (int64_t)(rand_r(r) % 200);
    if (amount > pl->model)
        amount = pl->model;
    if (scenario < 17)
        return lost_then_rolled_back(pl, tx, round, amount);
    body_of(body, sizeof(body), pl, tx, round, amount);
    lossy(pl, "bet", body, 10, &a);
    pl->model -= amount;
    expect(pl, &a, 200, NULL, "bet");
    if ((int)(rand_r(r) % 100) < 10) { /* a duplicate delivery */
        definitive(pl, "bet", body, &again);
        if (again.status != a.status || !again.replayed || strcmp(again.body, a.body) != 0)
            mismatch(pl, "duplicate bet is not the same answer", &again);
        answer_release(&again);
        pl->st.replays++;
    }
    answer_release(&a);
    if ((int)(rand_r(r) % 100) < 5) { /* the same id with another amount */
        body_of(body, sizeof(body), pl, tx, round, amount + 1);
        definitive(pl, "bet", body, &a);
        expect(pl, &a, 409, "duplicate_transaction", "reused transaction id");
        answer_release(&a);
        pl->st.conflicts++;
    }
    char wtx[96];
    snprintf(wtx, sizeof(wtx), "w-%d-%d", pl->index, i);
    if ((int)(rand_r(r) % 100) < 15) { /* the studio rolls the bet back */
        char rb[128];
        snprintf(rb, sizeof(rb), "%s-rb", tx);
        rollback_body(body, sizeof(body), pl, rb, tx, round);
        lossy(pl, "rollback", body, 10, &a);
        pl->model += amount;
        expect(pl, &a, 200, NULL, "rollback");
        answer_release(&a);
        body_of(body, sizeof(body), pl, wtx, round, 50);
        definitive(pl, "win", body, &a);
        expect(pl, &a, 409, "already_rolled_back", "win after rollback");
        answer_release(&a);
        pl->st.rollbacks++;
        end_round(pl, round, true);
        return;
    }
    int64_t win = rand_r(r) % 3 == 0 ? 0 : (int64_t)(rand_r(r) % 400);
    body_of(body, sizeof(body), pl, wtx, round, win);
    lossy(pl, "win", body, 10, &a);
    pl->model += win;
    expect(pl, &a, 200, NULL, "win");
    answer_release(&a);
    end_round(pl, round, true);
}

static void *player_main(void *arg)
{
    struct sim_player *pl = arg;
    pl->curl = curl_easy_init();
    for (int i = 0; i < pl->cfg->rounds; i++)
        play_round(pl, i);
    char body[256];
    struct sim_answer a;
    snprintf(body, sizeof(body), "{\"session_token\":\"%s\"}", pl->session);
    definitive(pl, "balance", body, &a);
    expect(pl, &a, 200, NULL, "final balance");
    answer_release(&a);
    curl_easy_cleanup(pl->curl);
    return NULL;
}

int psim_run(const struct pb_server *srv, const struct psim_provider *p, const char *game_id,
             const struct psim_config *cfg, struct psim_stats *stats)
{
    curl_global_init(CURL_GLOBAL_ALL);
    struct sim_player *pl = calloc((size_t)cfg->players, sizeof(*pl));
    pthread_t *th = calloc((size_t)cfg->players, sizeof(*th));
    for (int i = 0; i < cfg->players; i++) {
        char email[96], launch[64];
        pl[i] = (struct sim_player){.srv = srv, .p = p, .cfg = cfg, .index = i,
                                    .model = cfg->start_minor, .rng = cfg->seed + (unsigned)i};
        snprintf(email, sizeof(email), "sim%d-%u@example.com", i, cfg->seed);
        pb_player_new(srv, "demo", email, "EUR", pl[i].id, sizeof(pl[i].id), pl[i].token,
                      sizeof(pl[i].token));
        pb_adjust(srv, PSIM_STAFF, pl[i].id, "EUR", cfg->start_minor);
        psim_launch(srv, pl[i].token, game_id, launch, sizeof(launch));
        psim_authenticate(srv, p, launch, pl[i].session, sizeof(pl[i].session));
    }
    for (int i = 0; i < cfg->players; i++)
        assert_int_equal(pthread_create(&th[i], NULL, player_main, &pl[i]), 0);
    memset(stats, 0, sizeof(*stats));
    for (int i = 0; i < cfg->players; i++) {
        pthread_join(th[i], NULL);
        stats->requests += pl[i].st.requests;
        stats->timeouts += pl[i].st.timeouts;
        stats->replays += pl[i].st.replays;
        stats->tombstones += pl[i].st.tombstones;
        stats->rollbacks += pl[i].st.rollbacks;
        stats->refused_bets += pl[i].st.refused_bets;
        stats->conflicts += pl[i].st.conflicts;
        stats->failures += pl[i].st.failures;
    }
    free(pl);
    free(th);
    return stats->failures;
}
