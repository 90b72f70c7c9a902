/* load.c: see load.h. */
#include "load.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "base/base.h"

uint64_t pb_splitmix(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}

static size_t collect(char *data, size_t size, size_t nmemb, void *arg)
{
    char **buf = arg;
    size_t old = *buf ? strlen(*buf) : 0, n = size * nmemb;
    char *grown = realloc(*buf, old + n + 1);
    if (!grown)
        return 0;
    *buf = grown;
    memcpy(*buf + old, data, n);
    (*buf)[old + n] = '\0';
    return n;
}

bool pb_http_once(int port, const char *method, const char *path, const char *token,
                  const char *key, const char *body, struct pb_answer *a)
{
    memset(a, 0, sizeof(*a));
    CURL *c = curl_easy_init();
    char url[256], key_header[160], auth[192];
    char *headers_text = NULL;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
    struct curl_slist *hl = curl_slist_append(NULL, "Content-Type: application/json");
    hl = curl_slist_append(hl, auth);
    if (key) {
        snprintf(key_header, sizeof(key_header), "Idempotency-Key: %s", key);
        hl = curl_slist_append(hl, key_header);
    }
    hl = curl_slist_append(hl, "Expect:");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (body)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &a->body);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &headers_text);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    bool ok = curl_easy_perform(c) == CURLE_OK;
    if (ok)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &a->status);
    a->replayed = headers_text && strcasestr(headers_text, "\r\nIdempotent-Replayed: true");
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
    free(headers_text);
    if (!a->body)
        a->body = strdup("");
    return ok;
}

void pb_kill_and_restart(struct pb_server *srv, const char *const *env, uint64_t *rng, int kills,
                         _Atomic int *port)
{
    for (int k = 0; k < kills; k++) {
        pb_sleep_ms(200 + (int)(pb_splitmix(rng) % 700));
        pb_server_kill(srv);
        pb_sleep_ms((int)(pb_splitmix(rng) % 150));
        pb_server_restart(srv, env);
        atomic_store(port, srv->port);
    }
    pb_sleep_ms(400); /* some load on the last incarnation too */
}

bool pb_post_until_answered(_Atomic int *port, const char *path, const char *token,
                            const char *key, const char *body, int wait_ms,
                            _Atomic long *failed, int *attempts, struct pb_answer *a,
                            char *failure, size_t len)
{
    uint64_t deadline = pb_mono_ns() + (uint64_t)wait_ms * 1000000;
    for (*attempts = 1; pb_mono_ns() < deadline; (*attempts)++) {
        bool answered = pb_http_once(atomic_load(port), "POST", path, token, key, body, a);
        if (answered && (a->status == 201 || a->status == 422))
            return true;
        if (answered && a->status < 500) {
            snprintf(failure, len, "%s answered %ld: %s", key, a->status, a->body);
            free(a->body);
            return false;
        }
        free(a->body);
        atomic_fetch_add(failed, 1);
        pb_sleep_ms(20);
    }
    snprintf(failure, len, "%s: no answer within %d ms", key, wait_ms);
    return false;
}
