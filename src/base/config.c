/* config.c: configuration from defaults, a JSON file and the environment (config.h). */
#include "base/config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/buf.h"
#include "base/json.h"
#include "base/limits.h"

/* One integer setting: its place in the file, its variable, its bounds. */
struct int_key {
    const char *section; /* NULL for top level */
    const char *name;
    const char *env;
    size_t offset;
    int64_t min, max;
};

#define K(sec, n, env, field, lo, hi) {sec, n, env, offsetof(struct pb_config, field), lo, hi}
static const struct int_key int_keys[] = {
    K("http", "threads", "PITBOSS_HTTP_THREADS", http_threads, 2, PB_HTTP_THREADS_MAX),
    K("http", "connection_limit", "PITBOSS_HTTP_CONNECTION_LIMIT", http_connection_limit, 16,
      PB_HTTP_CONNECTIONS_CEILING),
    K("http", "per_ip_connection_limit", "PITBOSS_HTTP_PER_IP_CONNECTION_LIMIT",
      http_per_ip_connection_limit, 0, PB_HTTP_CONNECTIONS_CEILING),
    K("http", "connection_timeout_s", "PITBOSS_HTTP_CONNECTION_TIMEOUT_S",
      http_connection_timeout_s, 1, 3600),
    K("http", "body_max", "PITBOSS_HTTP_BODY_MAX", http_body_max, 1024, PB_HTTP_BODY_MAX_CEILING),
    K("store", "readers", "PITBOSS_STORE_READERS", store_readers, 1, PB_STORE_READERS_CEILING),
    K("writer", "batch_max", "PITBOSS_WRITER_BATCH_MAX", writer_batch_max, 1,
      PB_WRITER_BATCH_MAX_CEILING),
    K("writer", "wait_us", "PITBOSS_WRITER_WAIT_US", writer_wait_us, 0, PB_WRITER_WAIT_US_CEILING),
    K("writer", "queue_max", "PITBOSS_WRITER_QUEUE_MAX", writer_queue_max, 1,
      PB_WRITER_QUEUE_MAX_CEILING),
    K("ws", "message_max", "PITBOSS_WS_MESSAGE_MAX", ws_message_max, 128,
      PB_WS_MESSAGE_MAX_CEILING),
    K("ws", "send_queue_max", "PITBOSS_WS_SEND_QUEUE_MAX", ws_send_queue_max, 1024,
      PB_WS_SEND_QUEUE_MAX_CEILING),
    K("ws", "connections_max", "PITBOSS_WS_CONNECTIONS_MAX", ws_connections_max, 1,
      PB_WS_CONNECTIONS_CEILING),
    K("ws", "ping_interval_s", "PITBOSS_WS_PING_INTERVAL_S", ws_ping_interval_s, 1,
      PB_WS_INTERVAL_S_CEILING),
    K("ws", "idle_timeout_s", "PITBOSS_WS_IDLE_TIMEOUT_S", ws_idle_timeout_s, 2,
      PB_WS_INTERVAL_S_CEILING),
    /* payments (docs/payments.md): a day of checkout at most; N2 >= N1 is checked at start */
    K("payments", "deposit_expiry_s", "PITBOSS_PAYMENTS_DEPOSIT_EXPIRY_S",
      payments_deposit_expiry_s, 1, 86400),
    K("payments", "review_threshold_minor", "PITBOSS_PAYMENTS_REVIEW_THRESHOLD_MINOR",
      payments_review_threshold_minor, 1, INT64_MAX),
    K("payments", "wagering_percent", "PITBOSS_PAYMENTS_WAGERING_PERCENT",
      payments_wagering_percent, 0, 10000),
    K("payments", "player_cancel", "PITBOSS_PAYMENTS_PLAYER_CANCEL", payments_player_cancel, 0,
      1),
    K("payments", "confirmations_play", "PITBOSS_PAYMENTS_CONFIRMATIONS_PLAY",
      payments_confirmations_play, 1, 1000),
    K("payments", "confirmations_withdraw", "PITBOSS_PAYMENTS_CONFIRMATIONS_WITHDRAW",
      payments_confirmations_withdraw, 1, 1000),
    K("payments", "sandbox_delay_ms", "PITBOSS_PAYMENTS_SANDBOX_DELAY_MS",
      payments_sandbox_delay_ms, 0, 60000),
    /* live crash (docs/table-games.md): a betting phase of 1 s .. 10 min, a pause up to
     * 10 min, chains of 10 .. 10^6 rounds (hashing a round's link costs up to ~0.5 s at 10^6) */
    K("crash", "enabled", "PITBOSS_CRASH_ENABLED", crash_enabled, 0, 1),
    K("crash", "betting_ms", "PITBOSS_CRASH_BETTING_MS", crash_betting_ms, 1000, 600000),
    K("crash", "pause_ms", "PITBOSS_CRASH_PAUSE_MS", crash_pause_ms, 0, 600000),
    K("crash", "chain_length", "PITBOSS_CRASH_CHAIN_LENGTH", crash_chain_length, 10, 1000000),
};
#undef K

static const char *const sections[] = {"http", "store", "writer", "ws", "log", "payments",
                                       "crash"};

/* The payments section's strings: name, variable, where. */
#define S(n, env, field)                                                                      \
    {n, env, offsetof(struct pb_config, field), sizeof(((struct pb_config *)0)->field)}
static const struct {
    const char *name, *env;
    size_t offset, size;
} payments_strings[] = {
    S("sandbox_secret", "PITBOSS_PAYMENTS_SANDBOX_SECRET", payments_sandbox_secret),
    S("watcher_secret", "PITBOSS_PAYMENTS_WATCHER_SECRET", payments_watcher_secret),
    S("callback_url", "PITBOSS_PAYMENTS_CALLBACK_URL", payments_callback_url),
};
/* The crash section's strings (checked when the chain is created: docs/table-games.md). */
static const struct {
    const char *name, *env;
    size_t offset, size;
} crash_strings[] = {
    S("chain_seed", "PITBOSS_CRASH_CHAIN_SEED", crash_chain_seed),
    S("salt", "PITBOSS_CRASH_SALT", crash_salt),
};
#undef S

static int fail(struct pb_config_error *err, const char *key, const char *detail)
{
    pb_strlcpy(err->key, key[0] ? key : "\"\" (an empty key)", sizeof(err->key));
    pb_strlcpy(err->detail, detail, sizeof(err->detail));
    return PB_ERR_INVALID;
}

void pb_config_defaults(struct pb_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    pb_strlcpy(cfg->listen_host, "127.0.0.1", sizeof(cfg->listen_host));
    cfg->listen_port = 8080;
    pb_strlcpy(cfg->db_url, "sqlite:var/pitboss.db", sizeof(cfg->db_url));
    pb_strlcpy(cfg->node, "n1", sizeof(cfg->node));
    pb_strlcpy(cfg->web_dir, "web/dist", sizeof(cfg->web_dir));
    cfg->log_level = PB_LOG_INFO;
    cfg->access_log = true;
    cfg->http_threads = PB_HTTP_THREADS_DEFAULT;
    cfg->http_connection_limit = PB_HTTP_CONNECTIONS_DEFAULT;
    cfg->http_per_ip_connection_limit = PB_HTTP_PER_IP_CONNECTIONS_DEFAULT;
    cfg->http_connection_timeout_s = PB_HTTP_TIMEOUT_S_DEFAULT;
    cfg->http_body_max = PB_HTTP_BODY_MAX_DEFAULT;
    cfg->store_readers = PB_STORE_READERS_DEFAULT;
    cfg->writer_batch_max = PB_WRITER_BATCH_MAX_DEFAULT;
    cfg->writer_wait_us = PB_WRITER_WAIT_US_DEFAULT;
    cfg->writer_queue_max = PB_WRITER_QUEUE_MAX_DEFAULT;
    cfg->ws_message_max = PB_WS_MESSAGE_MAX_DEFAULT;
    cfg->ws_send_queue_max = PB_WS_SEND_QUEUE_MAX_DEFAULT;
    cfg->ws_connections_max = PB_WS_CONNECTIONS_MAX_DEFAULT;
    cfg->ws_ping_interval_s = PB_WS_PING_INTERVAL_S_DEFAULT;
    cfg->ws_idle_timeout_s = PB_WS_IDLE_TIMEOUT_S_DEFAULT;
    cfg->payments_deposit_expiry_s = 1800;
    cfg->payments_review_threshold_minor = 100000;
    cfg->payments_wagering_percent = 100;
    cfg->payments_player_cancel = 1;
    cfg->payments_confirmations_play = 2;
    cfg->payments_confirmations_withdraw = 6;
    cfg->payments_sandbox_delay_ms = 500;
    cfg->crash_enabled = 1;
    cfg->crash_betting_ms = 5000;
    cfg->crash_pause_ms = 3000;
    cfg->crash_chain_length = 10000;
}

int pb_config_set_listen(struct pb_config *cfg, const char *value, struct pb_config_error *err,
                         const char *key)
{
    const char *colon = strrchr(value, ':');
    if (!colon || colon == value)
        return fail(err, key, "must be HOST:PORT, e.g. 127.0.0.1:8080");
    const char *host = value;
    size_t hostlen = (size_t)(colon - value);
    if (host[0] == '[' && hostlen >= 2 && host[hostlen - 1] == ']') {
        host++;
        hostlen -= 2;
    }
    if (hostlen == 0 || hostlen >= sizeof(cfg->listen_host))
        return fail(err, key, "host is empty or too long");
    char *end;
    errno = 0;
    long port = strtol(colon + 1, &end, 10);
    if (errno || *end || end == colon + 1 || port < 0 || port > 65535)
        return fail(err, key, "port must be a number from 0 to 65535");
    memcpy(cfg->listen_host, host, hostlen);
    cfg->listen_host[hostlen] = '\0';
    cfg->listen_port = (int)port;
    return PB_OK;
}

static int set_string(char *dst, size_t dstlen, const char *value, const char *key,
                      struct pb_config_error *err)
{
    if (value[0] == '\0')
        return fail(err, key, "must not be empty");
    if (!pb_strlcpy(dst, value, dstlen))
        return fail(err, key, "is too long");
    return PB_OK;
}

static int set_int(struct pb_config *cfg, const struct int_key *k, int64_t v, const char *key,
                   struct pb_config_error *err)
{
    if (v < k->min || v > k->max) {
        char detail[128];
        snprintf(detail, sizeof(detail), "must be an integer from %lld to %lld",
                 (long long)k->min, (long long)k->max);
        return fail(err, key, detail);
    }
    *(int64_t *)((char *)cfg + k->offset) = v;
    return PB_OK;
}

/* The staff token: PB_CONFIG_STAFF_TOKEN_MIN..MAX characters, each printable ASCII other than
 * space (what fits in "Authorization: Bearer TOKEN" without quoting). */
static int set_staff_token(struct pb_config *cfg, const char *value, const char *key,
                           struct pb_config_error *err)
{
    size_t n = strnlen(value, PB_CONFIG_STAFF_TOKEN_MAX + 1);
    if (n < PB_CONFIG_STAFF_TOKEN_MIN || n > PB_CONFIG_STAFF_TOKEN_MAX) {
        char detail[96];
        snprintf(detail, sizeof(detail), "must be %d to %d characters long",
                 PB_CONFIG_STAFF_TOKEN_MIN, PB_CONFIG_STAFF_TOKEN_MAX);
        return fail(err, key, detail);
    }
    for (size_t i = 0; i < n; i++)
        if (value[i] < '!' || value[i] > '~')
            return fail(err, key, "must be printable ASCII characters without spaces");
    memcpy(cfg->staff_token, value, n + 1);
    return PB_OK;
}

static int set_log_level(struct pb_config *cfg, const char *value, const char *key,
                         struct pb_config_error *err)
{
    if (pb_log_level_parse(value, &cfg->log_level) != PB_OK)
        return fail(err, key, "must be one of debug, info, warn, error");
    return PB_OK;
}

static int file_top_level(struct pb_config *cfg, const char *key, json_t *v,
                          struct pb_config_error *err)
{
    if (strcmp(key, "web_dir") == 0) {
        if (!json_is_string(v))
            return fail(err, key, "must be a string");
        return set_string(cfg->web_dir, sizeof(cfg->web_dir), json_string_value(v), key, err);
    }
    if (strcmp(key, "listen") == 0 || strcmp(key, "db") == 0 || strcmp(key, "node") == 0) {
        if (!json_is_string(v))
            return fail(err, key, "must be a string");
        const char *s = json_string_value(v);
        if (key[0] == 'l')
            return pb_config_set_listen(cfg, s, err, key);
        if (key[0] == 'd')
            return set_string(cfg->db_url, sizeof(cfg->db_url), s, key, err);
        return set_string(cfg->node, sizeof(cfg->node), s, key, err);
    }
    if (strcmp(key, "staff_token") == 0) {
        if (!json_is_string(v))
            return fail(err, key, "must be a string");
        return set_staff_token(cfg, json_string_value(v), key, err);
    }
    if (strcmp(key, "roulette_limits") == 0) {
        /* kept as text: the games module checks it at start (docs/casino.md) */
        if (!json_is_object(v))
            return fail(err, key, "must be an object");
        char *text = json_dumps(v, JSON_COMPACT);
        int rc = text ? set_string(cfg->roulette_limits, sizeof(cfg->roulette_limits), text,
                                   key, err)
                      : fail(err, key, "cannot be encoded");
        free(text);
        return rc;
    }
    if (strcmp(key, "diagnostics") == 0) {
        if (!json_is_boolean(v))
            return fail(err, key, "must be true or false");
        cfg->diagnostics = json_is_true(v);
        return PB_OK;
    }
    return fail(err, key, "is not a known setting");
}

static int file_section_key(struct pb_config *cfg, const char *section, const char *name,
                            json_t *v, struct pb_config_error *err)
{
    char key[64];
    snprintf(key, sizeof(key), "%s.%s", section, name);
    if (strcmp(section, "log") == 0) {
        if (strcmp(name, "level") == 0) {
            if (!json_is_string(v))
                return fail(err, key, "must be a string");
            return set_log_level(cfg, json_string_value(v), key, err);
        }
        if (strcmp(name, "access") == 0) {
            if (!json_is_boolean(v))
                return fail(err, key, "must be true or false");
            cfg->access_log = json_is_true(v);
            return PB_OK;
        }
        return fail(err, key, "is not a known setting");
    }
    for (size_t i = 0; strcmp(section, "payments") == 0 && i < PB_ARRAY_LEN(payments_strings);
         i++) {
        if (strcmp(payments_strings[i].name, name) != 0)
            continue;
        if (!json_is_string(v))
            return fail(err, key, "must be a string");
        return set_string((char *)cfg + payments_strings[i].offset, payments_strings[i].size,
                          json_string_value(v), key, err);
    }
    for (size_t i = 0; strcmp(section, "crash") == 0 && i < PB_ARRAY_LEN(crash_strings); i++) {
        if (strcmp(crash_strings[i].name, name) != 0)
            continue;
        if (!json_is_string(v))
            return fail(err, key, "must be a string");
        return set_string((char *)cfg + crash_strings[i].offset, crash_strings[i].size,
                          json_string_value(v), key, err);
    }
    for (size_t i = 0; i < PB_ARRAY_LEN(int_keys); i++) {
        const struct int_key *k = &int_keys[i];
        if (strcmp(k->section, section) != 0 || strcmp(k->name, name) != 0)
            continue;
        if (!json_is_integer(v))
            return fail(err, key, "must be an integer");
        return set_int(cfg, k, (int64_t)json_integer_value(v), key, err);
    }
    return fail(err, key, "is not a known setting");
}

static bool is_section(const char *key)
{
    for (size_t i = 0; i < PB_ARRAY_LEN(sections); i++)
        if (strcmp(sections[i], key) == 0)
            return true;
    return false;
}

static int apply_document(struct pb_config *cfg, json_t *root, struct pb_config_error *err)
{
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v) {
        int rc;
        if (is_section(key)) {
            if (!json_is_object(v))
                return fail(err, key, "must be an object");
            const char *name;
            json_t *sv;
            json_object_foreach(v, name, sv) {
                rc = file_section_key(cfg, key, name, sv, err);
                if (rc != PB_OK)
                    return rc;
            }
            continue;
        }
        rc = file_top_level(cfg, key, v, err);
        if (rc != PB_OK)
            return rc;
    }
    return PB_OK;
}

int pb_config_load_file(struct pb_config *cfg, const char *path, struct pb_config_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        char detail[256];
        snprintf(detail, sizeof(detail), "cannot open %s: %s", path, strerror(errno));
        return fail(err, "--config", detail);
    }
    struct pb_buf text = PB_BUF_INIT;
    char chunk[4096];
    size_t n;
    int rc = PB_OK;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        pb_buf_append(&text, chunk, n);
        if (text.len > 1024 * 1024) {
            rc = fail(err, "--config", "file is larger than 1 MiB");
            break;
        }
    }
    fclose(f);
    if (rc == PB_OK)
        rc = pb_config_load_text(cfg, pb_buf_str(&text), text.len, err);
    pb_buf_release(&text);
    return rc;
}

int pb_config_load_text(struct pb_config *cfg, const char *text, size_t len,
                        struct pb_config_error *err)
{
    json_t *root = NULL;
    struct pb_json_error jerr;
    int rc = pb_json_parse(text, len, true, &root, &jerr);
    if (rc != PB_OK)
        fail(err, "--config", jerr.detail);
    else
        rc = apply_document(cfg, root, err);
    json_decref(root);
    return rc;
}

static int env_bool(const char *value, bool *out, const char *key, struct pb_config_error *err)
{
    if (strcmp(value, "1") == 0 || strcmp(value, "true") == 0)
        *out = true;
    else if (strcmp(value, "0") == 0 || strcmp(value, "false") == 0)
        *out = false;
    else
        return fail(err, key, "must be 1, 0, true or false");
    return PB_OK;
}

static int env_one(struct pb_config *cfg, const char *name, const char *value,
                   struct pb_config_error *err)
{
    if (strcmp(name, "PITBOSS_LISTEN") == 0)
        return pb_config_set_listen(cfg, value, err, name);
    if (strcmp(name, "PITBOSS_DB") == 0)
        return set_string(cfg->db_url, sizeof(cfg->db_url), value, name, err);
    if (strcmp(name, "PITBOSS_NODE") == 0)
        return set_string(cfg->node, sizeof(cfg->node), value, name, err);
    if (strcmp(name, "PITBOSS_STAFF_TOKEN") == 0)
        return set_staff_token(cfg, value, name, err);
    if (strcmp(name, "PITBOSS_WEB_DIR") == 0)
        return set_string(cfg->web_dir, sizeof(cfg->web_dir), value, name, err);
    if (strcmp(name, "PITBOSS_LOG_LEVEL") == 0)
        return set_log_level(cfg, value, name, err);
    if (strcmp(name, "PITBOSS_ACCESS_LOG") == 0)
        return env_bool(value, &cfg->access_log, name, err);
    if (strcmp(name, "PITBOSS_ROULETTE_LIMITS") == 0)
        return set_string(cfg->roulette_limits, sizeof(cfg->roulette_limits), value, name, err);
    if (strcmp(name, "PITBOSS_DIAGNOSTICS") == 0)
        return env_bool(value, &cfg->diagnostics, name, err);
    for (size_t i = 0; i < PB_ARRAY_LEN(payments_strings); i++)
        if (strcmp(payments_strings[i].env, name) == 0)
            return set_string((char *)cfg + payments_strings[i].offset,
                              payments_strings[i].size, value, name, err);
    for (size_t i = 0; i < PB_ARRAY_LEN(crash_strings); i++)
        if (strcmp(crash_strings[i].env, name) == 0)
            return set_string((char *)cfg + crash_strings[i].offset, crash_strings[i].size,
                              value, name, err);
    for (size_t i = 0; i < PB_ARRAY_LEN(int_keys); i++) {
        if (strcmp(int_keys[i].env, name) != 0)
            continue;
        char *end;
        errno = 0;
        long long v = strtoll(value, &end, 10);
        if (errno || *end || end == value)
            return fail(err, name, "must be an integer");
        return set_int(cfg, &int_keys[i], v, name, err);
    }
    return PB_OK; /* other PITBOSS_* variables belong to tools and tests */
}

int pb_config_apply_env(struct pb_config *cfg, char *const *envp, struct pb_config_error *err)
{
    for (size_t i = 0; envp && envp[i]; i++) {
        const char *eq = strchr(envp[i], '=');
        if (!eq || strncmp(envp[i], "PITBOSS_", 8) != 0)
            continue;
        char name[64];
        size_t n = (size_t)(eq - envp[i]);
        if (n >= sizeof(name))
            continue;
        memcpy(name, envp[i], n);
        name[n] = '\0';
        int rc = env_one(cfg, name, eq + 1, err);
        if (rc != PB_OK)
            return rc;
    }
    return PB_OK;
}
