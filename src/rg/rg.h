/* rg.h: responsible gaming and jurisdiction rules, enforced where money moves (DESIGN.md
 * sections 1 and 4.1; operators' guide docs/rg.md).
 *
 * The module registers itself as the ledger's debit-path guard (ledger_set_guard): every
 * linked group that stakes a player's money (transfer code bet, kind posted or pending,
 * debited from a player account) or brings money in (code deposit credited to a player
 * account) is checked inside ledger_apply, so casino, provider, sportsbook, live-table and
 * payment code cannot skip it. In order, a stake is refused with:
 *   player_blocked      an account block (pam) for betting / depositing, or a closed account;
 *   self_excluded       an active time-out or self-exclusion (members: exclusion, until);
 *   kyc_required        the jurisdiction requires verified KYC for play / deposits;
 *   autoplay_not_allowed, turbo_not_allowed   the rule set forbids the requested feature;
 *   stake_cap_exceeded  a slot stake above the rule set's cap for the player's age;
 *   game_cycle_too_fast a slot game cycle starting sooner than the rule set's minimum;
 *   deposit_limit_prompt_required   (deposits) the rule set makes the player answer the
 *                       deposit-limit prompt first;
 *   limit_exceeded      a deposit, loss, wager or session-time limit (members: limit,
 *                       window, limit_minor / limit_s, remaining_minor / remaining_s,
 *                       resets_at).
 * Wins, refunds and withdrawals are never refused: open rounds settle and money can leave.
 *
 * Usage is exact over rolling windows: the guard appends one activity row per player and
 * currency per group with running totals (stakes, wins, deposits), so the usage in the
 * window (t - W, t] is the difference of two running totals found by index. Activity at
 * time e counts at time t exactly when t - W < e <= t: a bet made at 10:00:00.000 stops
 * counting at 10:00:00.000 the next day.
 *
 * Limits: a decrease (or a new limit) takes effect at once; an increase or a removal is
 * pending until the cooling period of the player's rule set has passed, and is shown as
 * pending. Time-outs and self-exclusions take effect at once and cannot be shortened.
 *
 * Times are milliseconds since the epoch from the module's clock (rg_set_clock, for tests).
 * Threads: the guard and the writing functions run on the writer thread inside commands;
 * reads take any connection. */
#ifndef PB_RG_H
#define PB_RG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "core/writer.h"
#include "ledger/ledger.h"
#include "store/store.h"

struct pam_config;

#define RG_RULE_SETS_MAX 32
#define RG_STAKE_CAPS_MAX 16          /* currencies with a stake cap per rule set */
#define RG_RULES_FILE_MAX (256 * 1024)
#define RG_HOUR_MS 3600000LL
#define RG_DAY_MS (24 * RG_HOUR_MS)
#define RG_TIME_OUT_HOURS_MIN 24      /* defaults; a rule set may narrow them */
#define RG_TIME_OUT_HOURS_MAX (6 * 7 * 24)
#define RG_EXCLUSION_MONTHS_MIN 6
#define RG_EXCLUSION_MONTHS_MAX 60
#define RG_COOLING_HOURS_DEFAULT 24
#define RG_REFUSAL_SCAN_MAX 10000     /* activity rows read to compute when a limit resets */
#define RG_LIMITS_MAX 12              /* 4 kinds x 3 windows per currency */
#define RG_REALITY_MINUTES_MIN 5
#define RG_REALITY_MINUTES_MAX 240
#define RG_LONG_SESSION_MS (3 * RG_HOUR_MS)  /* a reality check past this marks a long session */
#define RG_CHASING_DEPOSITS 3         /* deposits within RG_CHASING_WINDOW_MS after losing */
#define RG_CHASING_WINDOW_MS RG_HOUR_MS
/* The guard's cache of players' inputs (cache.c, docs/rg.md "Performance"). */
#define RG_CACHE_PLAYERS_MAX 65536    /* players kept (LRU): ~400 bytes each (more with limits),
                                         memory taken as they come; enough for the players of
                                         a busy hour on one node */
#define RG_CACHE_CURRENCIES_MAX 2     /* latest totals kept per player: most play in one */
#define RG_CACHE_EXCLUSIONS_MAX 4     /* exclusions ending later kept per player: each new one
                                         extends the last; beyond, the database decides */
#define RG_CACHE_LIMIT_ROWS_MAX 48    /* limit rows kept per player (4 currencies' worth);
                                         beyond, they are read at every call */
#define RG_CACHE_WINDOW_STARTS_MAX 4  /* (currency, window) starts of money limits kept per
                                         player (~370 bytes each, taken on first use) */
#define RG_CACHE_WINDOW_ROWS 8        /* rows kept per window start: the one at or before it and
                                         the next 7, so it moves on 7 rows without a read */
#define RG_CACHE_TOUCHED_MAX 8192     /* entries a batch may use and still be undone one by one
                                         on a rollback (512 commands x 16); beyond, all go */

/* ---- rule sets (rules.c) ---- */

struct rg_stake_cap {
    char currency[LEDGER_CURRENCY_MAX + 1];
    int64_t cap_minor;       /* per game cycle */
    int64_t young_cap_minor; /* for players aged young_age_max or less; 0: same as cap */
};

struct rg_rule_set {
    char name[33];
    struct rg_stake_cap slot_stake_caps[RG_STAKE_CAPS_MAX];
    size_t nslot_stake_caps;
    int young_age_max;             /* 0: no age-dependent cap */
    int64_t min_game_cycle_ms;     /* between slot game cycles; 0: none */
    bool autoplay, turbo;          /* allowed */
    bool deposit_limit_prompt;     /* players answer the deposit-limit prompt before depositing */
    int64_t cooling_ms;            /* before an increase or removal takes effect */
    int reality_check_minutes;     /* default interval; 0: off unless the player sets one */
    int time_out_hours_min, time_out_hours_max;
    int exclusion_months_min, exclusion_months_max;
    bool exclusion_permanent;      /* a permanent self-exclusion may be chosen */
};

struct rg_rules {
    struct rg_rule_set sets[RG_RULE_SETS_MAX];
    size_t nsets;
};

/* Loads rule sets from the JSON file at path_or_null, or the built-in ones ("uk",
 * "permissive") when NULL or "". Unknown keys and bad values are refused with "key: what is
 * wrong" in err (PB_ERR_INVALID; PB_ERR_IO when unreadable). *out is allocated on success. */
int rg_rules_load(const char *path_or_null, struct rg_rules **out, char *err, size_t errlen);
int rg_rules_load_text(const char *text, size_t len, struct rg_rules **out, char *err,
                       size_t errlen);
void rg_rules_free(struct rg_rules *r);
const struct rg_rule_set *rg_rules_find(const struct rg_rules *r, const char *name);

/* ---- limits ---- */

enum rg_limit_kind { RG_LIMIT_DEPOSIT = 1, RG_LIMIT_LOSS, RG_LIMIT_WAGER, RG_LIMIT_SESSION };
enum rg_window { RG_WINDOW_DAY = 1, RG_WINDOW_WEEK, RG_WINDOW_MONTH };
const char *rg_limit_kind_name(enum rg_limit_kind k); /* "deposit", "loss", "wager", "session_time" */
int rg_limit_kind_parse(const char *name, enum rg_limit_kind *out);
const char *rg_window_name(enum rg_window w);         /* "24h", "7d", "30d" */
int rg_window_parse(const char *name, enum rg_window *out);
int64_t rg_window_ms(enum rg_window w);

struct rg_limit {
    enum rg_limit_kind kind;
    enum rg_window window;
    char currency[LEDGER_CURRENCY_MAX + 1]; /* "" for session time */
    int64_t value;           /* minor units, or seconds for session time; 0: no limit */
    int64_t pending_value;   /* the value after the pending change; 0: removal */
    int64_t pending_at_ms;   /* when it takes effect; 0: nothing pending */
    int64_t set_at_ms;
    int64_t used;            /* filled by rg_limits_get: usage in the window now */
};

/* ---- the module ---- */

struct rg;

extern const struct store_migration rg_migrations[];
extern const size_t rg_migrations_count;

/* rules is owned by the module from here on; cfg is borrowed and must outlive it. */
struct rg *rg_new(const struct pam_config *cfg, struct rg_rules *rules);
void rg_free(struct rg *rg);
/* The guard to register with ledger_set_guard. */
struct ledger_guard rg_guard(struct rg *rg);
/* The writer participant that lets the guard keep players' inputs between calls (see
 * docs/rg.md, "Performance"): pass it in writer_config.participants of the writer whose
 * connection the guard runs on. Without it (and on PostgreSQL) the guard reads everything
 * from the database in every call. */
struct writer_participant rg_participant(struct rg *rg);
struct rg_cache_stats {
    uint64_t hits, misses; /* guard calls' players found / loaded */
    uint64_t evictions;    /* entries given up for room */
    uint64_t dropped;      /* by a write (limits, exclusions, ...) or a rollback */
    uint64_t flushes;      /* every entry at once: start, another connection's commit */
};
void rg_cache_stats(const struct rg *rg, struct rg_cache_stats *out);
/* Turns the cache off or on, and its self-check: every cached state used is compared with
 * the database, a difference stops the process (tests; PITBOSS_RG_CACHE_CHECK=1 at
 * rg_new); capacity: players kept (0: RG_CACHE_PLAYERS_MAX; tests use a few). Empties it.
 * While no command runs. */
void rg_cache_configure(struct rg *rg, bool enabled, bool check, size_t capacity);
/* Tests: a clock returning milliseconds since the epoch (NULL: the wall clock). */
void rg_set_clock(struct rg *rg, int64_t (*now_ms)(void *arg), void *arg);
int64_t rg_now_ms(const struct rg *rg);
/* The rule set of the player's brand's jurisdiction (the "permissive" set, or the first one,
 * when the player or the jurisdiction names none known). PB_ERR_NOT_FOUND for an unknown
 * player. */
int rg_player_rules(struct rg *rg, struct store *s, const char *player_id,
                    const struct rg_rule_set **out);

/* ---- writing (inside a writer command) ---- */

/* Sets a limit (value > 0) or asks for its removal (value 0). A decrease or a new limit takes
 * effect at once; an increase or a removal becomes pending for the rule set's cooling period
 * (a second request replaces the pending one; asking for the current value cancels it).
 * *effective_now tells which. actor is "player" or a staff actor. Emits "rg.limit_set". */
int rg_limit_set(struct rg *rg, struct store *tx, struct writer_cmd *cmd, const char *player_id,
                 enum rg_limit_kind kind, enum rg_window window, const char *currency,
                 int64_t value, const char *actor, bool *effective_now);

enum rg_exclusion_kind { RG_TIME_OUT = 1, RG_SELF_EXCLUSION = 2 };
struct rg_exclusion {
    enum rg_exclusion_kind kind;
    int64_t from_ms;
    int64_t until_ms; /* INT64_MAX: permanent */
};
/* Starts a time-out or self-exclusion until until_ms (INT64_MAX: permanent). While one is
 * active a new one can only extend it (an earlier end is PB_ERR_CONFLICT). Emits
 * "rg.time_out" or "rg.self_exclusion"; also revokes nothing (sessions stay, restricted). */
int rg_exclude(struct rg *rg, struct store *tx, struct writer_cmd *cmd, const char *player_id,
               enum rg_exclusion_kind kind, int64_t until_ms, const char *actor);
/* Records the player's answer to the deposit-limit prompt without a limit. */
int rg_prompt_answer(struct rg *rg, struct store *tx, const char *player_id);
/* Sets the player's reality-check interval in minutes (0: off where the rule set allows). */
int rg_reality_interval_set(struct rg *rg, struct store *tx, const char *player_id,
                            int minutes);
/* Records the acknowledgement of the reality check of session_id (action "continue" or
 * "stop"). */
int rg_reality_ack(struct rg *rg, struct store *tx, struct writer_cmd *cmd,
                   const char *player_id, const char *session_id, const char *action);
/* Scheduler command: emits "rg.reality_check" for every live session whose next check is
 * due (at most max); *sent gets how many. */
int rg_reality_tick(struct rg *rg, struct store *tx, struct writer_cmd *cmd, int max,
                    int *sent);

/* ---- reading (any connection) ---- */

/* The player's limits with their usage now; *n gets how many (<= max). */
int rg_limits_get(struct rg *rg, struct store *s, const char *player_id, struct rg_limit *out,
                  size_t max, size_t *n);
/* The active exclusion, if any (*active false otherwise). */
int rg_exclusion_get(struct rg *rg, struct store *s, const char *player_id, bool *active,
                     struct rg_exclusion *out);
/* Appends the player's responsible-gaming status as JSON members (no braces) to out:
 * exclusion, marketing_allowed, rule set, prompt state, reality-check interval. */
int rg_status_json(struct rg *rg, struct store *s, const char *player_id, struct pb_buf *out);
/* The reality check of session (started at session_start_ms) as JSON members: elapsed_s,
 * net position per currency since the session started (wins minus stakes), interval,
 * next due time, last acknowledgement. */
int rg_reality_json(struct rg *rg, struct store *s, const char *player_id,
                    const char *session_id, int64_t session_start_ms, struct pb_buf *out);

#endif
