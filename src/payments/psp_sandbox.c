/* psp_sandbox.c: the sandbox PSP (payments.h, docs/payments.md "The sandbox PSP"): an
 * in-process simulated PSP that behaves like a remote one. It keeps its own books (the
 * statement) and a thread (pb-psp-sandbox) delivers HMAC-signed webhooks to pitboss's own
 * webhook endpoint over HTTP with libcurl, retrying with backoff until a 2xx answer, in the
 * order and multiplicity the deposit's scenario asks for.
 *
 * Threads: start_deposit and payout run on HTTP or payments worker threads and only queue;
 * the sandbox thread delivers. One mutex guards the queue and the statement. */
#include "payments/payments.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/base.h"
#include "base/log.h"

#define SANDBOX_QUEUE_MAX 4096        /* deliveries in flight; more: start_deposit fails */
#define SANDBOX_STATEMENT_MAX 100000  /* statement rows kept (a sandbox, not a bank) */
#define SANDBOX_ATTEMPTS_MAX 10       /* deliveries of one webhook before giving up */
#define SANDBOX_BACKOFF_MAX_MS 5000   /* retry delay doubles up to this */
#define SANDBOX_HTTP_TIMEOUT_MS 5000  /* one delivery attempt */
#define SANDBOX_BODY_MAX 512

struct delivery {
    int64_t due_ms;
    int attempts;
    char body[SANDBOX_BODY_MAX];
};

struct statement_row {
    char reference[PAYMENTS_REFERENCE_MAX + 1];
    bool payout;
    int64_t amount_minor, fee_minor;
    char currency[LEDGER_CURRENCY_MAX + 1];
    const char *status; /* static: "pending", "succeeded", "failed", "expired" */
};

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    bool running, stopping;
    struct payments_sandbox_config cfg;
    struct delivery *queue;
    size_t nqueue;
    struct statement_row *rows;
    size_t nrows;
    uint64_t event_seq;
} sb = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

const char *payments_sandbox_scenario(const char *named, int64_t amount_minor)
{
    if (named && named[0])
        return named;
    switch (amount_minor % 100) {
    case 13: return "fail";
    case 14: return "expire";
    case 15: return "duplicate";
    case 16: return "out_of_order";
    default: return "succeed";
    }
}

bool payments_sandbox_scenario_ok(const char *name)
{
    static const char *const names[] = {"succeed", "fail", "expire", "duplicate",
                                        "out_of_order"};
    for (size_t i = 0; i < PB_ARRAY_LEN(names); i++)
        if (strcmp(names[i], name) == 0)
            return true;
    return false;
}

/* ---- the books (mutex held) ---- */

static struct statement_row *row_find(const char *reference)
{
    for (size_t i = 0; i < sb.nrows; i++)
        if (strcmp(sb.rows[i].reference, reference) == 0)
            return &sb.rows[i];
    return NULL;
}

static int row_add(const char *reference, bool payout, int64_t amount, int64_t fee,
                   const char *currency, const char *status)
{
    struct statement_row *r = row_find(reference);
    if (r)
        return PB_OK; /* the same payment again (idempotent at the PSP) */
    if (sb.nrows == SANDBOX_STATEMENT_MAX)
        return PB_ERR_FULL;
    r = &sb.rows[sb.nrows++];
    memset(r, 0, sizeof(*r));
    pb_strlcpy(r->reference, reference, sizeof(r->reference));
    r->payout = payout;
    r->amount_minor = amount;
    r->fee_minor = fee;
    pb_strlcpy(r->currency, currency, sizeof(r->currency));
    r->status = status;
    return PB_OK;
}

/* Queues one webhook (event id: a new one, or repeat_of's again). */
static int enqueue(enum payments_event_type type, const char *reference, int64_t amount,
                   const char *currency, int64_t delay_ms, char *event_id_out)
{
    if (sb.nqueue == SANDBOX_QUEUE_MAX)
        return PB_ERR_FULL;
    struct delivery *d = &sb.queue[sb.nqueue++];
    char event_id[64];
    if (event_id_out && event_id_out[0]) {
        pb_strlcpy(event_id, event_id_out, sizeof(event_id));
    } else {
        snprintf(event_id, sizeof(event_id), "evt_%llu_%lld",
                 (unsigned long long)++sb.event_seq, (long long)pb_wall_ms());
        if (event_id_out)
            pb_strlcpy(event_id_out, event_id, 64);
    }
    d->due_ms = pb_wall_ms() + delay_ms;
    d->attempts = 0;
    snprintf(d->body, sizeof(d->body),
             "{\"event_id\":\"%s\",\"type\":\"%s\",\"reference\":\"%s\","
             "\"amount_minor\":%lld,\"currency\":\"%s\"}", event_id,
             payments_event_type_name(type), reference, (long long)amount, currency);
    pthread_cond_signal(&sb.cv);
    return PB_OK;
}

/* ---- the adapter ---- */

static void sandbox_checkout_url(const struct payments_deposit *d, char *out, size_t outlen)
{
    snprintf(out, outlen, "https://sandbox-psp.invalid/checkout/%s", d->reference);
}

static int sandbox_start_deposit(const struct payments_deposit *d)
{
    const char *scenario = payments_sandbox_scenario(d->scenario, d->amount_minor);
    int64_t delay = sb.cfg.delay_ms;
    const int64_t a = d->amount_minor;
    const char *ref = d->reference, *cur = d->currency;
    const char *status = strcmp(scenario, "fail") == 0     ? "failed"
                         : strcmp(scenario, "expire") == 0 ? "expired"
                                                           : "succeeded";
    pthread_mutex_lock(&sb.mu);
    int rc = sb.running ? PB_OK : PB_ERR_CLOSED;
    if (rc == PB_OK && sb.nqueue + 3 > SANDBOX_QUEUE_MAX)
        rc = PB_ERR_FULL;
    rc = rc ? rc : row_add(ref, false, a, d->fee_minor, cur, status);
    if (rc == PB_OK && strcmp(scenario, "succeed") == 0) {
        enqueue(PAYMENTS_EV_DEPOSIT_PENDING, ref, a, cur, delay / 2, NULL);
        enqueue(PAYMENTS_EV_DEPOSIT_SUCCEEDED, ref, a, cur, delay, NULL);
    } else if (rc == PB_OK && strcmp(scenario, "fail") == 0) {
        enqueue(PAYMENTS_EV_DEPOSIT_FAILED, ref, a, cur, delay, NULL);
    } else if (rc == PB_OK && strcmp(scenario, "duplicate") == 0) {
        char first[64] = "";
        enqueue(PAYMENTS_EV_DEPOSIT_SUCCEEDED, ref, a, cur, delay, first);
        enqueue(PAYMENTS_EV_DEPOSIT_SUCCEEDED, ref, a, cur, delay + 50, NULL);
        enqueue(PAYMENTS_EV_DEPOSIT_SUCCEEDED, ref, a, cur, delay + 100, first);
    } else if (rc == PB_OK && strcmp(scenario, "out_of_order") == 0) {
        enqueue(PAYMENTS_EV_DEPOSIT_SUCCEEDED, ref, a, cur, delay, NULL);
        enqueue(PAYMENTS_EV_DEPOSIT_PENDING, ref, a, cur, delay * 2 + 50, NULL);
    } /* expire: the payer never finishes; nothing is sent */
    pthread_mutex_unlock(&sb.mu);
    return rc == PB_OK ? PB_OK : PB_ERR_IO;
}

static int sandbox_payout(const struct payments_withdrawal *w)
{
    bool fails = w->amount_minor % 100 == 13;
    pthread_mutex_lock(&sb.mu);
    int rc = sb.running ? PB_OK : PB_ERR_CLOSED;
    bool known = rc == PB_OK && row_find(w->reference) != NULL;
    rc = rc ? rc : row_add(w->reference, true, w->amount_minor, 0, w->currency,
                           fails ? "failed" : "succeeded");
    if (rc == PB_OK && !known)
        rc = enqueue(fails ? PAYMENTS_EV_PAYOUT_FAILED : PAYMENTS_EV_PAYOUT_SUCCEEDED,
                     w->reference, w->amount_minor, w->currency, sb.cfg.delay_ms, NULL);
    pthread_mutex_unlock(&sb.mu);
    return rc == PB_OK ? PB_OK : PB_ERR_IO;
}

static const struct payments_psp sandbox_psp = {
    "sandbox", sandbox_checkout_url, sandbox_start_deposit, sandbox_payout,
    payments_verify_signature, payments_sandbox_parse,
};

const struct payments_psp *payments_psp_find(const char *name)
{
    return strcmp(name, sandbox_psp.name) == 0 ? &sandbox_psp : NULL;
}

void payments_sandbox_statement(struct pb_buf *out)
{
    pb_buf_puts(out, "{\"psp\":\"sandbox\",\"rows\":[");
    pthread_mutex_lock(&sb.mu);
    for (size_t i = 0; i < sb.nrows; i++) {
        const struct statement_row *r = &sb.rows[i];
        pb_buf_printf(out, "%s{\"reference\":\"%s\",\"kind\":\"%s\",\"amount_minor\":%lld,"
                      "\"fee_minor\":%lld,\"currency\":\"%s\",\"status\":\"%s\"}",
                      i ? "," : "", r->reference, r->payout ? "payout" : "deposit",
                      (long long)r->amount_minor, (long long)r->fee_minor, r->currency,
                      r->status);
    }
    pthread_mutex_unlock(&sb.mu);
    pb_buf_puts(out, "]}");
}

/* ---- delivery ---- */

static size_t discard(char *ptr, size_t size, size_t n, void *arg)
{
    PB_UNUSED(ptr);
    PB_UNUSED(arg);
    return size * n;
}

/* One POST of body, signed now. Returns the HTTP status, or 0 when the transfer failed. */
static long deliver(CURL *curl, const char *body)
{
    char sig[PAYMENTS_SIGNATURE_HEADER_MAX], header[PAYMENTS_SIGNATURE_HEADER_MAX + 32];
    payments_sign(sb.cfg.secret, pb_wall_ms() / 1000, body, strlen(body), sig);
    snprintf(header, sizeof(header), "X-Pitboss-Signature: %s", sig);
    struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
    headers = curl_slist_append(headers, header);
    curl_easy_reset(curl);
    curl_easy_setopt(curl, CURLOPT_URL, sb.cfg.callback_url);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)SANDBOX_HTTP_TIMEOUT_MS);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
    long status = 0;
    if (curl_easy_perform(curl) == CURLE_OK)
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(headers);
    return status;
}

/* Index of the earliest due delivery (mutex held); -1 when the queue is empty. */
static long earliest(void)
{
    long best = -1;
    for (size_t i = 0; i < sb.nqueue; i++)
        if (best < 0 || sb.queue[i].due_ms < sb.queue[best].due_ms)
            best = (long)i;
    return best;
}

static void *sandbox_main(void *arg)
{
    PB_UNUSED(arg);
    pthread_setname_np(pthread_self(), "pb-psp-sandbox");
    CURL *curl = curl_easy_init();
    PB_ASSERT(curl != NULL);
    pthread_mutex_lock(&sb.mu);
    while (!sb.stopping) {
        long i = earliest();
        int64_t now = pb_wall_ms();
        if (i < 0 || sb.queue[i].due_ms > now) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            int64_t wait_ms = i < 0 ? 1000 : sb.queue[i].due_ms - now;
            ts.tv_sec += wait_ms / 1000;
            ts.tv_nsec += (wait_ms % 1000) * 1000000;
            if (ts.tv_nsec >= 1000000000) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000;
            }
            pthread_cond_timedwait(&sb.cv, &sb.mu, &ts);
            continue;
        }
        struct delivery d = sb.queue[i];
        sb.queue[i] = sb.queue[--sb.nqueue];
        pthread_mutex_unlock(&sb.mu);
        long status = deliver(curl, d.body);
        pthread_mutex_lock(&sb.mu);
        if (status >= 200 && status < 300)
            continue;
        if (++d.attempts >= SANDBOX_ATTEMPTS_MAX) {
            pb_log(PB_LOG_WARN, "sandbox psp: webhook given up", "\"status\":%ld", status);
            continue;
        }
        int64_t backoff = 100LL << (d.attempts < 6 ? d.attempts : 6);
        d.due_ms = pb_wall_ms() + (backoff < SANDBOX_BACKOFF_MAX_MS ? backoff
                                                                    : SANDBOX_BACKOFF_MAX_MS);
        if (sb.nqueue < SANDBOX_QUEUE_MAX)
            sb.queue[sb.nqueue++] = d;
    }
    pthread_mutex_unlock(&sb.mu);
    curl_easy_cleanup(curl);
    return NULL;
}

int payments_sandbox_start(const struct payments_sandbox_config *cfg)
{
    pthread_mutex_lock(&sb.mu);
    PB_ASSERT(!sb.running && cfg->secret[0] && cfg->callback_url[0]);
    sb.cfg = *cfg;
    sb.queue = pb_calloc(SANDBOX_QUEUE_MAX, sizeof(*sb.queue));
    sb.rows = pb_calloc(SANDBOX_STATEMENT_MAX, sizeof(*sb.rows));
    sb.nqueue = sb.nrows = 0;
    sb.stopping = false;
    int rc = pthread_create(&sb.thread, NULL, sandbox_main, NULL) == 0 ? PB_OK : PB_ERR_IO;
    sb.running = rc == PB_OK;
    pthread_mutex_unlock(&sb.mu);
    return rc;
}

void payments_sandbox_stop(void)
{
    pthread_mutex_lock(&sb.mu);
    bool running = sb.running;
    sb.stopping = true;
    sb.running = false;
    pthread_cond_signal(&sb.cv);
    pthread_mutex_unlock(&sb.mu);
    if (!running)
        return;
    pthread_join(sb.thread, NULL);
    pb_free(sb.queue);
    pb_free(sb.rows);
    sb.queue = NULL;
    sb.rows = NULL;
}
