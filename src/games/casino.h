/* casino.h: the round engine of in-house games (DESIGN.md 4.1; docs/casino.md): per-game
 * configuration, one play as one writer command, settlement with an idempotent payout, and
 * the recovery of interrupted rounds. Game maths is game.h's; round records rounds.h's;
 * seeds seeds.h's. The HTTP side is casino_http.h.
 *
 * A play, inside one writer command (so a crash leaves nothing or the whole round):
 *   configuration check (enabled, stake limits of the currency) -> open the round ->
 *   debit the total stake (LEDGER_TX_BET, player cash -> house casino, reference
 *   "round:<id>", the responsible-gaming guard sees the product, game and autoplay/turbo) ->
 *   draw (the player's fair seed pair and next nonce for provably-fair games, the CSPRNG
 *   otherwise) -> store the outcome with the stake (OUTCOME, one statement) -> settle: close
 *   the round with its payout (one conditional statement, so a second settlement changes
 *   nothing), credit the payout when > 0 (LEDGER_TX_WIN, house -> player cash, ledger
 *   idempotency "round:<id>:payout") -> event "round.settled". A refused debit leaves no
 *   round. In-house rounds go from OUTCOME to CLOSED (settled and closed at once); SETTLED
 *   is for third-party rounds whose provider ends them later.
 *
 * Threads: functions taking tx run inside a writer command (writer thread); the reads take
 * any connection; the recovery task's tick runs on the scheduler thread. */
#ifndef PB_CASINO_H
#define PB_CASINO_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "games/game.h"
#include "games/rounds.h"
#include "games/seeds.h"
#include "ledger/ledger.h"
#include "store/store.h"

#define CASINO_PROVIDER "pitboss"          /* the provider of in-house rounds */
#define CASINO_HOUSE_OWNER "house"
#define CASINO_MAX_STAKE_MAJOR_DEFAULT 1000 /* default maximum total stake: 1000 major units */
#define CASINO_MIN_STAKE_MINOR_DEFAULT 1    /* default minimum total stake: one minor unit */
#define CASINO_LIMITS_MAX 32                /* currencies with their own limits, per game */
#define CASINO_ACTOR_MAX 64                 /* who changed a configuration ("staff:<id>") */
#define CASINO_RECOVERY_TIMEOUT_MS 60000    /* an interactive round untouched for a minute is
                                             * abandoned: its game completes it */
#define CASINO_RECOVERY_INTERVAL_MS 5000    /* how often the recovery task looks */
#define CASINO_RECOVERY_SKIP_MAX 64         /* rounds whose recovery failed, skipped until
                                             * restart (each is logged) */
#define CASINO_EVENT_ROUND_SETTLED "round.settled"
#define CASINO_EVENT_DATA_MAX (32 * 1024) /* a round.settled event: a round whose detail would
                                           * pass this goes without it ("detail_omitted"), so
                                           * WebSocket send queues stay small */

/* ---- configuration (games_config, games_limits) ---- */

struct casino_game_config {
    bool enabled;
    int32_t rtp_ppm;  /* the RTP of the variant in play (stored; names the variant) */
    int64_t updated_ms; /* 0: never changed (the registry's defaults) */
    char updated_by[CASINO_ACTOR_MAX + 1];
    int variant; /* read: rtp_ppm's index in game->variants; -1 when no variant the game
                  * offers has the stored RTP any more (a definition changed): play is
                  * refused until staff choose one. Put ignores it. */
};

struct casino_limits {
    char currency[LEDGER_CURRENCY_MAX + 1];
    int64_t min_stake_minor, max_stake_minor; /* of a round's total stake, inclusive */
};

/* The defaults: CASINO_MIN_STAKE_MINOR_DEFAULT .. CASINO_MAX_STAKE_MAJOR_DEFAULT major units
 * of currency (a known code). */
void casino_limits_default(const char *currency, struct casino_limits *out);
/* Whether rtp_ppm is the RTP of a variant game offers (game_variant_by_rtp). */
bool casino_rtp_offered(const struct game_type *game, int32_t rtp_ppm);
/* The game's configuration (the defaults when none was stored). 0 or PB_ERR_DB. */
int casino_config_get(struct store *s, const struct game_type *game,
                      struct casino_game_config *out);
/* The game's stake limits in currency (stored, or the defaults). 0 or PB_ERR_DB. */
int casino_limits_get(struct store *s, const struct game_type *game, const char *currency,
                      struct casino_limits *out);
/* The stored per-currency limits of the game, by currency, up to max. */
int casino_limits_list(struct store *s, const struct game_type *game, struct casino_limits *out,
                       size_t max, size_t *n);
/* Replaces the game's configuration and its whole set of per-currency limits (n <=
 * CASINO_LIMITS_MAX, currencies known and distinct, 1 <= min <= max, rtp offered:
 * PB_ERR_INVALID otherwise, nothing written). */
int casino_config_put(struct store *tx, const struct game_type *game,
                      const struct casino_game_config *cfg, const struct casino_limits *limits,
                      size_t n, int64_t now_ms);

/* ---- play ---- */

struct casino_play {
    const struct game_type *game;
    const char *player_id;
    const char *currency;
    int64_t stake_minor;   /* per unit, as the game's check_bet takes it */
    const json_t *bet;     /* the game's bet object (borrowed), or NULL */
    bool autoplay, turbo;  /* for the responsible-gaming guard */
    const char *idem;      /* ledger idempotency of the debit ("casino:<player>:<key>") */
};

/* Why a play was refused (status 0: it was not). Strings are static or inside. */
struct casino_refusal {
    int status;
    const char *code;
    char detail[160];
    const char *field;
    struct ledger_outcome ledger; /* code "ledger": the refused debit (ledger_http_refusal) */
};

struct casino_result {
    struct round_info round; /* as stored at the end (detail owned: round_info_release) */
    int64_t balance_available_minor, balance_posted_minor; /* player cash afterwards */
};

/* Plays one round of a checked bet (the game's check_bet accepted it) as described above.
 * Returns 0 with either *refusal->status != 0 (refused: nothing written) or *out filled;
 * PB_ERR_DB (the command must fail). cmd (may be NULL: no events) receives the ledger's and
 * the round's events. */
int casino_play_round(struct ledger *lg, struct store *tx, struct writer_cmd *cmd,
                      const struct casino_play *p, int64_t now_ms,
                      struct casino_result *out, struct casino_refusal *refusal);

/* Settles a round in DEBITED or OUTCOME: closes it with payout_minor added to its payout
 * and its detail replaced when detail is not NULL (one conditional statement: a round
 * already settled, here or on another node, is not touched again), then credits
 * payout_minor (> 0) to the player's cash account from the house casino account
 * (LEDGER_TX_WIN, reference "round:<id>", ledger idempotency "round:<id>:payout") and emits
 * "round.settled" (cmd may be NULL). PB_ERR_CONFLICT when the round is not waiting for
 * settlement (so it is never paid twice); PB_ERR_INVALID when the ledger refuses the credit
 * (the command must fail); PB_ERR_DB. Interactive games and recovery functions finish rounds
 * with it. */
int casino_round_settle(struct ledger *lg, struct store *tx, struct writer_cmd *cmd,
                        int64_t round_id, int64_t payout_minor, const char *detail,
                        int64_t now_ms);

/* Credits the payout of a round that stays open (a crash cash-out, paid at once while the
 * round runs on): payout_minor (> 0) as casino_round_settle credits it (same idempotency
 * "round:<id>:payout", so it is made once), added to the round, which moves to OUTCOME with
 * detail (when not NULL). The round is closed later by casino_round_settle with payout 0.
 * PB_ERR_CONFLICT when the round is not open or its payout was already made; PB_ERR_INVALID
 * when the ledger refuses the credit; PB_ERR_DB. */
int casino_round_pay(struct ledger *lg, struct store *tx, struct writer_cmd *cmd,
                     int64_t round_id, int64_t payout_minor, const char *detail, int64_t now_ms);

/* The public view of a round (stake, payout, state, times, detail); the caller decrefs. */
json_t *casino_round_json(const struct round_info *r);

/* ---- rounds that span several requests (interactive games: blackjack) ---- */

/* Opens a round of p->game and takes its total stake (the game's check_bet on p->bet and
 * p->stake_minor gives it) with the checks and refusals of casino_play_round (configuration,
 * limits, wallet, the ledger and its guard), and leaves it DEBITED: the game draws, stores
 * and settles it later (casino_round_settle). Returns 0 with *round_id, or 0 with
 * refusal->status != 0 (nothing written), or PB_ERR_DB. */
int casino_round_begin(struct ledger *lg, struct store *tx, struct writer_cmd *cmd,
                       const struct casino_play *p, int64_t now_ms, int64_t *round_id,
                       struct casino_refusal *refusal);
/* Takes amount_minor (> 0) more stake for an open round (a double, a split, insurance) from
 * the round player's cash (LEDGER_TX_BET, reference "round:<id>", ledger idempotency idem)
 * and adds it to the round's stake. Returns 0, or 0 with refusal->status != 0 (code
 * "ledger": insufficient funds or the responsible-gaming guard; nothing written), or
 * PB_ERR_DB. */
int casino_round_stake_more(struct ledger *lg, struct store *tx, struct writer_cmd *cmd,
                            const struct round_info *round, const char *game_kind,
                            int64_t amount_minor, const char *idem, int64_t now_ms,
                            struct casino_refusal *refusal);

/* ---- recovery of interrupted rounds ---- */

/* Completes the rounds left DEBITED or OUTCOME longer than timeout_ms before now_ms, oldest
 * first, up to ROUNDS_STALE_MAX, each by the recovery registered for its kind
 * (rounds_register_recovery); rounds without one, or whose id is in skip[0..nskip), are left
 * alone. *recovered gets how many were completed. A recovery that fails stops the pass:
 * *failed_round gets its id and the error is returned (the writer rolls the command back). */
int casino_recover(struct ledger *lg, struct store *tx, struct writer_cmd *cmd, int64_t now_ms,
                   int64_t timeout_ms, const int64_t *skip, size_t nskip, int *recovered,
                   int64_t *failed_round);

/* The scheduler task: at most one recovery command in flight; a round whose recovery failed
 * is skipped from then on (up to CASINO_RECOVERY_SKIP_MAX). */
struct casino_recovery;
struct writer;
struct casino_recovery *casino_recovery_new(struct writer *w, struct ledger *lg);
/* For scheduler_every (arg: the struct casino_recovery). */
void casino_recovery_tick(void *arg);
/* After the writer has stopped (its command, if any, has completed). NULL is ignored. */
void casino_recovery_free(struct casino_recovery *r);

#endif
