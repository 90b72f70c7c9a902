/* rounds.h: the round records of every game, in-house and third-party (DESIGN.md 4.1, 4.2).
 *
 * A round belongs to one player, one game and one currency. Its life:
 *   OPEN -> DEBITED (stake taken through the wallet) -> OUTCOME (drawn and stored, not yet
 *   shown) -> SETTLED (payout credited, possibly 0) -> CLOSED;  CANCELLED (stake refunded or
 *   rolled back). The outcome is stored in the same writer transaction that takes the stake,
 *   or before any answer reveals it, so a crash never loses or replays it.
 * Third-party rounds (providers) carry the provider's name and its round id (unique per
 * provider); in-house rounds carry provider "pitboss". Recall lists a player's last
 * ROUNDS_RECALL_MAX rounds with full detail. Stakes and payouts here are the round's
 * totals as the wallet moved them (the ledger is the authority; rounds reference it).
 *
 * Threads: the writing functions run inside a writer command; reads take any connection. */
#ifndef PB_ROUNDS_H
#define PB_ROUNDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

#define ROUNDS_RECALL_MAX 50
#define ROUNDS_PROVIDER_MAX 32
#define ROUNDS_EXTERNAL_ID_MAX 128
#define ROUNDS_GAME_ID_MAX 64
#define ROUNDS_PLAYER_ID_MAX 64
#define ROUNDS_GAME_KIND_MAX 32   /* "slot", "dice", "blackjack": the recovery key */
#define ROUNDS_DETAIL_MAX (1024 * 1024) /* a round's detail: a slot's free-spin feature is
                                         * capped at 1000 spins of < 1 KiB each; a typical
                                         * round is < 1 KiB (simulated: 300 bytes average) */
#define ROUNDS_DAILY_DAYS_MAX 366  /* a daily report's days: a year keeps the answer small */
#define ROUNDS_STALE_MAX 64       /* rounds one recovery pass takes; the next pass the rest */

enum round_state {
    ROUND_OPEN = 1,
    ROUND_DEBITED = 2,
    ROUND_OUTCOME = 3,
    ROUND_SETTLED = 4,
    ROUND_CLOSED = 5,
    ROUND_CANCELLED = 6,
};
const char *round_state_name(enum round_state s); /* "open", "debited", ... */

struct round_info {
    int64_t id;
    char player_id[ROUNDS_PLAYER_ID_MAX + 1];
    char game_id[ROUNDS_GAME_ID_MAX + 1];
    char provider[ROUNDS_PROVIDER_MAX + 1];
    char external_id[ROUNDS_EXTERNAL_ID_MAX + 1]; /* "" for in-house rounds */
    char currency[9];
    int64_t stake_minor, payout_minor;
    enum round_state state;
    int64_t opened_ms, updated_ms;
    char *detail; /* JSON object text: bets, outcome, actions (pb_malloc'ed; NULL if none) */
    char game_kind[ROUNDS_GAME_KIND_MAX + 1]; /* "" when opened with rounds_open */
};
void round_info_release(struct round_info *r);
/* The state called name ("settled"): 0 or PB_ERR_INVALID. */
int round_state_parse(const char *name, enum round_state *out);
/* Whether a round may move from -> to: forwards only (to >= from), never out of a final state
 * (CLOSED, CANCELLED); staying in a non-final state is allowed (a detail update). Pure. */
bool round_state_move_ok(enum round_state from, enum round_state to);

extern const struct store_migration rounds_migrations[];
extern const size_t rounds_migrations_count;

/* ---- writing (inside a writer command) ---- */

/* Opens a round. external_id may be "" (in-house: the round id is the reference);
 * (provider, external_id) is unique when external_id is not "": PB_ERR_CONFLICT. */
int rounds_open(struct store *tx, const char *player_id, const char *game_id,
                const char *provider, const char *external_id, const char *currency,
                int64_t now_ms, int64_t *round_id);
/* rounds_open with the game's kind recorded (game_kind: 1..ROUNDS_GAME_KIND_MAX bytes):
 * interrupted rounds are completed by the recovery registered for their kind. */
int rounds_open_game(struct store *tx, const char *player_id, const char *game_id,
                     const char *game_kind, const char *provider, const char *external_id,
                     const char *currency, int64_t now_ms, int64_t *round_id);
/* Adds to the round's stake or payout totals (overflow-checked: PB_ERR_INVALID). */
int rounds_add(struct store *tx, int64_t round_id, int64_t stake_minor, int64_t payout_minor,
               int64_t now_ms);
/* Moves the round to state (never backwards, PB_ERR_CONFLICT otherwise) and, when detail
 * is not NULL, replaces its detail (JSON object text). */
int rounds_set_state(struct store *tx, int64_t round_id, enum round_state state,
                     const char *detail, int64_t now_ms);
/* rounds_add and rounds_set_state in one conditional statement (one round trip): adds
 * stake_minor and payout_minor (>= 0) and moves to state, replacing the detail when not NULL.
 * 0; PB_ERR_NOT_FOUND; PB_ERR_CONFLICT (the move goes backwards or out of a final state:
 * nothing changed, so a racing settlement loses); PB_ERR_INVALID (a negative amount, a
 * total past INT64_MAX, a detail that is not an object); PB_ERR_DB. */
int rounds_update(struct store *tx, int64_t round_id, int64_t stake_minor, int64_t payout_minor,
                  enum round_state state, const char *detail, int64_t now_ms);
/* The round of (provider, external_id): 0, PB_ERR_NOT_FOUND or PB_ERR_DB. */
int rounds_find_external(struct store *tx, const char *provider, const char *external_id,
                         struct round_info *out);

/* ---- reading (any connection) ---- */

int rounds_get(struct store *s, int64_t round_id, struct round_info *out);
/* The player's newest rounds, newest first, up to max (<= ROUNDS_RECALL_MAX). */
int rounds_recall(struct store *s, const char *player_id, struct round_info *out, size_t max,
                  size_t *n);
/* One UTC day of closed rounds in one currency (the daily report): day = opened_ms / 1 day. */
struct rounds_day {
    int64_t day;           /* days since 1970-01-01 (UTC) */
    int64_t rounds;
    int64_t stakes_minor;
    int64_t payouts_minor;
    int64_t active_players; /* distinct players with a closed round that day */
};
/* Closed rounds in currency opened at or after from_ms, summed per UTC day (days with rounds
 * only, oldest first, up to max <= ROUNDS_DAILY_DAYS_MAX). Sums are split in SQL and joined
 * overflow-checked (PB_ERR_INVALID past INT64_MAX), as ledger verify does. */
int rounds_daily(struct store *s, const char *currency, int64_t from_ms, struct rounds_day *out,
                 size_t max, size_t *n);
#define ROUNDS_MINUTES_MAX 1440 /* the per-minute report: a day at most */
/* One minute of bets: rounds opened (every state, every currency) in that UTC minute. */
struct rounds_minute {
    int64_t minute;  /* minutes since the epoch */
    int64_t rounds;
    int64_t players; /* distinct players who opened a round that minute */
};
/* Rounds opened at or after from_ms per UTC minute (minutes with rounds only, oldest first,
 * up to max <= ROUNDS_MINUTES_MAX). */
int rounds_per_minute(struct store *s, int64_t from_ms, struct rounds_minute *out, size_t max,
                      size_t *n);
/* Rounds left DEBITED or OUTCOME whose last change is older than older_than_ms (a time in ms
 * since the epoch: updated_ms < older_than_ms), oldest first, up to max (<= ROUNDS_STALE_MAX):
 * what the recovery task completes. Callers release each with round_info_release. */
int rounds_stale(struct store *s, int64_t older_than_ms, struct round_info *out, size_t max,
                 size_t *n);

/* ---- interrupted-round recovery ----
 * A game whose rounds span several requests (blackjack, crash) registers how to complete
 * one by its rules; the recovery task (casino.h) calls it, inside a writer command, for every
 * round of that kind left DEBITED or OUTCOME past the timeout. The function must leave the
 * round SETTLED, CLOSED or CANCELLED (paying through the engine's idempotent payout, so it
 * is never paid twice) and return 0, or return an error: the round's changes are rolled back
 * and it is tried again on a later pass. The key is the round's game_kind, or its game_id
 * when the kind is "". Registration happens before serving (not thread-safe). */
struct ledger;
struct writer_cmd;
struct rounds_recovery_ctx {
    struct store *tx;
    struct writer_cmd *cmd; /* for events */
    struct ledger *lg;
    int64_t now_ms;
};
typedef int (*rounds_recovery_fn)(const struct rounds_recovery_ctx *ctx,
                                  const struct round_info *round);
#define ROUNDS_RECOVERY_MAX 16 /* registered kinds; a game family registers one */
/* Registers fn for key (static string); replaces an earlier registration of key. Returns 0 or
 * PB_ERR_FULL. */
int rounds_register_recovery(const char *game_kind, rounds_recovery_fn fn);
/* The function registered for key, or NULL. */
rounds_recovery_fn rounds_recovery_find(const char *game_kind);

#endif
