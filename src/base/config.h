/* config.h: pitboss configuration: defaults, then a JSON file (--config FILE), then
 * environment overrides (PITBOSS_*). Every key is checked; a bad one is named with what is
 * wrong, and the program exits with status 2 before starting anything.
 *
 * File layout (every key optional; unknown keys are refused):
 *   {"listen": "127.0.0.1:8080", "db": "sqlite:var/pitboss.db", "node": "n1",
 *    "staff_token": "16 to 256 printable ASCII characters, no spaces", "web_dir": "web/dist",
 *    "log": {"level": "info", "access": true}, "diagnostics": false,
 *    "http": {"threads": 2, "connection_limit": 4096, "per_ip_connection_limit": 0,
 *             "connection_timeout_s": 60, "body_max": 65536},
 *    "store": {"readers": 4},
 *    "writer": {"batch_max": 512, "wait_us": 0, "queue_max": 16384},
 *    "ws": {"message_max": 16384, "send_queue_max": 262144, "connections_max": 10000,
 *           "ping_interval_s": 20, "idle_timeout_s": 60}}
 * Environment: PITBOSS_LISTEN, PITBOSS_DB, PITBOSS_NODE, PITBOSS_STAFF_TOKEN, PITBOSS_WEB_DIR,
 * PITBOSS_LOG_LEVEL,
 * PITBOSS_ACCESS_LOG, PITBOSS_DIAGNOSTICS, PITBOSS_HTTP_THREADS, PITBOSS_HTTP_CONNECTION_LIMIT,
 * PITBOSS_HTTP_PER_IP_CONNECTION_LIMIT, PITBOSS_HTTP_CONNECTION_TIMEOUT_S, PITBOSS_HTTP_BODY_MAX,
 * PITBOSS_STORE_READERS, PITBOSS_WRITER_BATCH_MAX, PITBOSS_WRITER_WAIT_US,
 * PITBOSS_WRITER_QUEUE_MAX, PITBOSS_WS_MESSAGE_MAX, PITBOSS_WS_SEND_QUEUE_MAX,
 * PITBOSS_WS_CONNECTIONS_MAX, PITBOSS_WS_PING_INTERVAL_S, PITBOSS_WS_IDLE_TIMEOUT_S.
 * Payments (docs/payments.md, "Configuration"): section "payments" with sandbox_secret,
 * watcher_secret, callback_url (strings) and deposit_expiry_s, review_threshold_minor,
 * wagering_percent, player_cancel, confirmations_play, confirmations_withdraw,
 * sandbox_delay_ms; environment PITBOSS_PAYMENTS_<KEY in upper case>.
 * Live crash (docs/table-games.md, "Live crash"): section "crash" with enabled (0/1),
 * betting_ms, pause_ms, chain_length (integers) and chain_seed, salt (strings); environment
 * PITBOSS_CRASH_<KEY in upper case>.
 * Roulette table limits (docs/casino.md, "Roulette table limits"): top-level
 * "roulette_limits": {"max_total_minor": N, "bets": {"straight": {"min_minor": N,
 * "max_minor": N}, ...}}, kept as JSON text and checked when the server starts; environment
 * PITBOSS_ROULETTE_LIMITS (the same JSON). */
#ifndef PB_CONFIG_H
#define PB_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/log.h"

#define PB_CONFIG_STAFF_TOKEN_MIN 16  /* shorter tokens can be guessed */
#define PB_CONFIG_STAFF_TOKEN_MAX 256 /* fits one Authorization header with room to spare */
#define PB_CONFIG_SECRET_MAX 128      /* an HMAC key: 32 random bytes in hex with room */
#define PB_CONFIG_ROULETTE_LIMITS_MAX 2048 /* every kind's two limits in JSON: ~900 bytes */

struct pb_config {
    char listen_host[64];
    int listen_port;
    char db_url[512];
    char node[32]; /* names this process in the outbox; unique per node sharing a database */
    enum pb_log_level log_level;
    bool access_log;
    bool diagnostics; /* enables /api/v1/diagnostics/... (tests and benchmarks only) */
    /* Bearer token of the staff (back-office) routes; "" (the default): no staff access, those
     * routes answer 401. PB_CONFIG_STAFF_TOKEN_MIN..MAX characters of '!'..'~'. */
    char staff_token[PB_CONFIG_STAFF_TOKEN_MAX + 1];
    /* The built web app (web/dist) served at / and /admin (http/static.c); a relative path is
     * taken from the working directory. A directory that does not exist turns it off. */
    char web_dir[512];
    int64_t http_threads;
    int64_t http_connection_limit;
    int64_t http_per_ip_connection_limit;
    int64_t http_connection_timeout_s;
    int64_t http_body_max;
    int64_t store_readers;
    int64_t writer_batch_max;
    int64_t writer_wait_us;
    int64_t writer_queue_max;
    int64_t ws_message_max;
    int64_t ws_send_queue_max;
    int64_t ws_connections_max;
    int64_t ws_ping_interval_s;
    int64_t ws_idle_timeout_s;
    /* payments: webhook secrets ("": the PSP's webhooks answer 503), where the sandbox PSP
     * calls back ("": http://<listen address>), and the module's rules. */
    char payments_sandbox_secret[PB_CONFIG_SECRET_MAX + 1];
    char payments_watcher_secret[PB_CONFIG_SECRET_MAX + 1];
    char payments_callback_url[512];
    int64_t payments_deposit_expiry_s;
    int64_t payments_review_threshold_minor;
    int64_t payments_wagering_percent;
    int64_t payments_player_cancel;
    int64_t payments_confirmations_play;
    int64_t payments_confirmations_withdraw;
    int64_t payments_sandbox_delay_ms;
    /* live crash: whether this node runs the rounds (one node per database), the betting
     * phase and the pause after a crash, the length of a new hash chain, the secret seed of
     * the first chain (64 hex digits; "": drawn from the CSPRNG) and the public salt. */
    int64_t crash_enabled;
    int64_t crash_betting_ms;
    int64_t crash_pause_ms;
    int64_t crash_chain_length;
    char crash_chain_seed[65];
    char crash_salt[129];
    /* roulette table limits: a JSON object ("": the defaults of docs/games.md) */
    char roulette_limits[PB_CONFIG_ROULETTE_LIMITS_MAX + 1];
};

/* A configuration error: the key ("writer.batch_max", or the variable "PITBOSS_DB") and what
 * is wrong with it. */
struct pb_config_error {
    char key[64];
    char detail[256];
};

void pb_config_defaults(struct pb_config *cfg);
/* Reads and applies the JSON file at path. Returns 0 or PB_ERR_INVALID with err filled. */
int pb_config_load_file(struct pb_config *cfg, const char *path, struct pb_config_error *err);
/* Applies a JSON document (len bytes) as pb_config_load_file does. */
int pb_config_load_text(struct pb_config *cfg, const char *text, size_t len,
                        struct pb_config_error *err);
/* Applies PITBOSS_* variables from envp (NULL-terminated "NAME=value" strings). */
int pb_config_apply_env(struct pb_config *cfg, char *const *envp, struct pb_config_error *err);
/* Parses "host:port" or "[v6]:port" into cfg. */
int pb_config_set_listen(struct pb_config *cfg, const char *value, struct pb_config_error *err,
                         const char *key);

#endif
