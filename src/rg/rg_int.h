/* rg_int.h: internals shared by the rg files. Design notes are in rg.h. */
#ifndef PB_RG_INT_H
#define PB_RG_INT_H

#include "base/buf.h"
#include "pam/kyc.h"
#include "pam/pam.h"
#include "rg/rg.h"

struct rg__cache;

struct rg {
    const struct pam_config *cfg;
    struct rg_rules *rules;
    int64_t (*clock)(void *arg);
    void *clock_arg;
    struct rg__cache *cache; /* the guard's inputs per player, on the writer thread */
};

/* Running totals of one (player, currency) after an activity row. */
struct rg__activity {
    int64_t seq, at_ms, stakes, wins, deposits;
};

/* The latest row at or before at_ms (INT64_MAX: the latest); zeros when none. */
int rg__activity_at(struct store *s, const char *player_id, const char *currency,
                    int64_t at_ms, struct rg__activity *out);
/* The first rows after at_ms (oldest first), at most max. */
int rg__activity_after(struct store *s, const char *player_id, const char *currency,
                       int64_t at_ms, struct rg__activity *out, size_t max, size_t *n);
/* The player's per-player row: prompt answered, reality interval (-1: the rule set's), start
 * of the last slot cycle, chasing-losses counter; defaults when there is none. */
struct rg__player {
    bool prompt_answered;
    int reality_minutes;
    int64_t last_slot_cycle_ms;
    int64_t chase_from_ms;
    int chase_deposits;
};
int rg__player_get(struct store *s, const char *player_id, struct rg__player *out);
int rg__player_put(struct store *tx, const char *player_id, const struct rg__player *p);
/* Appends ",\"key\":\"<ISO time>\"" to b. */
void rg__time_member(struct pb_buf *b, const char *key, int64_t ms);
/* The rule set for players PAM does not know. */
const struct rg_rule_set *rg__default_rules(const struct rg *rg);
const struct rg_rule_set *rg__rules_of(const struct rg *rg, const struct pam_player *p);

/* ---- stored rows, as the guard's state is loaded from them (rg.c) ---- */

/* The player's limit rows as stored (a pending change not applied), ordered by kind, window,
 * currency; at most max; *more when there are further rows. */
int rg__limit_rows(struct store *s, const char *player_id, struct rg_limit *out, size_t max,
                   size_t *n, bool *more);
/* Limit row raw as in force at now (a due pending change applied) into *out; false when it
 * limits nothing then (value 0 and nothing pending). */
bool rg__limit_at(const struct rg_limit *raw, int64_t now, struct rg_limit *out);

struct rg__excl_row {
    int64_t seq, from_ms, until_ms;
    enum rg_exclusion_kind kind;
};
/* The active exclusion at now (as rg_exclusion_get). */
int rg__exclusion_at(struct store *s, const char *player_id, int64_t now, bool *active,
                     struct rg_exclusion *out);
/* The limits in force at now, at most max (as rg_limits_get, without usage). */
int rg__limits_in_force(struct store *s, const char *player_id, int64_t now,
                        struct rg_limit *out, size_t max, size_t *n);
/* The player's exclusions ending after after_ms, latest end first (ties: latest seq first),
 * at most max; *more when there are further ones. */
int rg__exclusion_rows(struct store *s, const char *player_id, int64_t after_ms,
                       struct rg__excl_row *out, size_t max, size_t *n, bool *more);

/* ---- the guard's inputs per player (cache.c) ----
 * A player state holds what the guard reads about one player, each part loaded from the
 * database on first use: PAM's view (known, closed, blocks, date of birth, rule set), the KYC
 * gate per action, the rg_players row, exclusions ending after a time, the limit rows, and
 * the latest running totals per currency. On the writer's connection (SQLite) states live on
 * in a cache between guard calls, kept exact as docs/rg.md ("Performance") explains;
 * elsewhere (PostgreSQL, other connections, the cache not joined to the writer) a state lives
 * for one guard call only, so it reads what the guard always read. */

#define RG__CURRENCIES_MAX RG_CACHE_CURRENCIES_MAX
#define RG__EXCL_MAX RG_CACHE_EXCLUSIONS_MAX
#define RG__LIMIT_ROWS_MAX RG_CACHE_LIMIT_ROWS_MAX
#define RG__BOUNDS_MAX RG_CACHE_WINDOW_STARTS_MAX
#define RG__BOUND_ROWS RG_CACHE_WINDOW_ROWS

enum {
    RG__HAVE_PAM = 1u,
    RG__HAVE_KYC_PLAY = 2u,
    RG__HAVE_KYC_DEPOSIT = 4u,
    RG__HAVE_RP = 8u,
    RG__HAVE_EXCL = 16u,
    RG__HAVE_LIMITS = 32u,
};

struct rg__totals {
    char currency[LEDGER_CURRENCY_MAX + 1]; /* "": slot unused */
    struct rg__activity last;
    uint64_t used; /* for replacement: the state's use counter when last used */
};

/* The running totals around a window's start: the latest row at or before `at` (has0), then
 * the rows after it; every row before hi is here (INT64_MAX: every row there was). */
struct rg__bound {
    char currency[LEDGER_CURRENCY_MAX + 1]; /* "": unused */
    int64_t window_ms;
    int64_t at, hi;
    bool has0;
    size_t n;
    uint64_t used;
    struct rg__activity rows[RG__BOUND_ROWS];
};

struct rg__pstate {
    char player_id[LEDGER_OWNER_MAX + 1];
    unsigned have; /* RG__HAVE_* */
    bool cached;   /* false: lives for one guard call */
    /* RG__HAVE_PAM */
    uint64_t pam_generation; /* pam_player_generation when loaded */
    bool known, closed;
    unsigned blocks;
    int dob[3];   /* the date of birth: year, month, day */
    bool dob_ok;  /* it reads as YYYY-MM-DD */
    const struct rg_rule_set *rules;
    /* RG__HAVE_KYC_*: the gate lets the player through (also: no rule applies) */
    bool kyc_play, kyc_deposit;
    /* RG__HAVE_RP */
    struct rg__player rp;
    /* RG__HAVE_EXCL: every exclusion ending after excl_after, latest end first, unless
     * excl_more (then the first nexcl of them) */
    int64_t excl_after;
    bool excl_more;
    size_t nexcl;
    struct rg__excl_row *excl; /* pb_malloc'd when nexcl > 0 */
    /* RG__HAVE_LIMITS: the stored rows, unless limits_more */
    bool limits_more;
    size_t nlimits;
    struct rg_limit *limits; /* pb_malloc'd when nlimits > 0 */
    /* running totals: the latest per currency, and around window starts */
    uint64_t uses;
    struct rg__totals totals[RG__CURRENCIES_MAX];
    struct rg__bound *bounds[RG__BOUNDS_MAX]; /* pb_calloc'd on first use (cached states) */
};

/* A guard call: rg__guard_begin, then per (player, currency) rg__acquire (scratch: storage
 * for a state that lives for this call only) ... rg__release, and rg__guard_end(ok): when
 * the call failed or refused (its savepoint is rolled back), the states it changed go back
 * to what they were. */
void rg__guard_begin(struct rg *rg, struct store *tx);
struct rg__pstate *rg__acquire(struct rg *rg, struct store *tx, const char *player_id,
                               struct rg__pstate *scratch);
void rg__release(struct rg *rg, struct rg__pstate *ps);
void rg__guard_end(struct rg *rg, bool ok);

/* Readers of a state (load on first use; PB_OK or PB_ERR_DB). */
int rg__ps_pam(struct rg *rg, struct store *tx, struct rg__pstate *ps);
/* The KYC gate for action (KYC_ACTION_PLAY or _DEPOSIT) of a known player. */
int rg__ps_kyc(struct rg *rg, struct store *tx, struct rg__pstate *ps, enum kyc_action action,
               bool *allowed);
int rg__ps_rp(struct rg *rg, struct store *tx, struct rg__pstate *ps, struct rg__player *out);
/* As rg_exclusion_get at now. */
int rg__ps_exclusion(struct rg *rg, struct store *tx, struct rg__pstate *ps, int64_t now,
                     bool *active, struct rg_exclusion *out);
/* The limits in force at now, as rg_limits_get lists them (without usage). */
int rg__ps_limits(struct rg *rg, struct store *tx, struct rg__pstate *ps, int64_t now,
                  struct rg_limit *out, size_t max, size_t *n);
/* The latest running totals in currency (zeros when none). */
int rg__ps_last(struct rg *rg, struct store *tx, struct rg__pstate *ps, const char *currency,
                struct rg__activity *out);
/* The running totals in currency at the start of a money limit's window: the latest row at
 * or before now - window_ms (zeros when none). */
int rg__ps_at(struct rg *rg, struct store *tx, struct rg__pstate *ps, const char *currency,
              int64_t window_ms, int64_t now, struct rg__activity *out);

/* Writers: after the guard wrote the row / appended the totals (inside the guard call). */
void rg__ps_set_rp(struct rg *rg, struct rg__pstate *ps, const struct rg__player *rp);
void rg__ps_set_last(struct rg *rg, struct rg__pstate *ps, const char *currency,
                     const struct rg__activity *last);

/* A write outside the guard changed what the guard reads about player_id (limits,
 * exclusions, the rg_players row): its cached state goes. */
void rg__forget(struct rg *rg, const char *player_id);

/* The cache's life (rg_new / rg_free); check: compare every cached state with the
 * database when it is used (tests; PITBOSS_RG_CACHE_CHECK=1). */
struct rg__cache *rg__cache_new(bool check);
void rg__cache_free(struct rg__cache *c);

#endif
