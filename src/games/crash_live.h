/* crash_live.h: crash as a live multiplayer game on the round engine (crash.h, casino.h,
 * rounds.h; docs/table-games.md, "Live crash").
 *
 * Schedule (one node runs it: crash.enabled): a round is opened (one writer command: the next
 * link of the pre-committed hash chain is taken, its crash point computed and stored, never
 * shown) with a betting phase of crash.betting_ms; the multiplier starts at 1.00x when betting
 * closes (bets_close_ms, the round's time origin) and follows m(t) until the crash time
 * crash_at_ms = bets_close_ms + crash_time_ms(crash point); CRASH_SETTLE_GRACE_MS later the
 * settle command closes the round (automatic cash-outs paid, the other open bets lost, the
 * hash revealed); crash.pause_ms later the next round opens. The scheduler task
 * (crash_engine_tick, every CRASH_TICK_MS) decides what comes next by crash_live_step and
 * publishes the rising multiplier on the WebSocket topic "crash" (one message per tick).
 *
 * Money: a bet is a round of the engine (game "crash", kind "crash"): casino_round_begin
 * debits it (stake limits, the wallet and the responsible-gaming guard). A manual cash-out
 * is decided by the time the server received it (crash_resolve): paid at once
 * (casino_round_pay, idempotency "round:<id>:payout": once), the round staying open until the
 * crash closes it with the revealed hash. The server's clock is the only clock.
 *
 * Recovery rule: a round whose settle command never committed (the process stopped or
 * crashed before it) is void at the next start: bets still open are refunded (their stake
 * credited back, once, by the same payout key), cash-outs already paid stand, the hash is
 * revealed. Nothing is ever paid twice: every payout goes through the round's single payout
 * key and the bet's stored state.
 *
 * Chain: created at the first open (crash.chain_length links from crash.chain_seed or a
 * CSPRNG seed; terminating hash published as the commitment; crash.salt public), consumed
 * backwards: round k of a chain uses h[k]; an exhausted chain is followed by a new one.
 *
 * Threads: functions taking tx run in writer commands; crash_engine_tick on the scheduler
 * thread; crash_engine_state on HTTP threads (it reads the engine's snapshot under a lock). */
#ifndef PB_CRASH_LIVE_H
#define PB_CRASH_LIVE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/config.h"
#include "games/casino.h"
#include "games/crash.h"
#include "games/game.h"

#define CRASH_GAME_ID "crash"
#define CRASH_KIND "crash"
#define CRASH_TOPIC "crash"
#define CRASH_TICK_MS 100          /* the multiplier broadcast: at most 10 messages a second */
#define CRASH_SETTLE_GRACE_MS 250  /* cash-outs received just before the crash time reach the
                                    * writer before the settle command (a handler submits its
                                    * command within microseconds of reading the clock) */
#define CRASH_BETS_MAX 10000       /* bets in one round: bounds the settle command */
#define CRASH_STAKE_MAX ((int64_t)1 << 40) /* x 1,000,000.00 (CRASH_TARGET_MAX) < 2^63 */
#define CRASH_ROUND_RTP_PPM 990000 /* 99%: the 1% edge of the crash-point formula */

extern const struct game_type crash_game;
extern const struct store_migration crash_migrations[];
extern const size_t crash_migrations_count;

/* ---- the schedule (pure, driven by a clock) ---- */

struct crash_schedule {
    bool loaded;           /* the resume command ran */
    bool enabled;          /* this node opens rounds */
    int64_t round_id;      /* the current or last round; 0: none */
    bool settled;          /* the current round was settled (or voided) */
    int64_t bets_close_ms; /* the current round: betting closes, the multiplier starts */
    int64_t crash_at_ms;   /* the current round's crash time (secret until it passes) */
    int64_t next_open_ms;  /* when the next round opens (after a settled round) */
};
enum crash_step { CRASH_STEP_WAIT, CRASH_STEP_RESUME, CRASH_STEP_OPEN, CRASH_STEP_SETTLE };
enum crash_phase { CRASH_PHASE_CLOSED, CRASH_PHASE_WAITING, CRASH_PHASE_BETTING,
                   CRASH_PHASE_RUNNING, CRASH_PHASE_CRASHED };
/* What the engine does now: RESUME until loaded; then OPEN when no round is open and
 * next_open_ms has come (and the node is enabled); SETTLE once now >= crash_at_ms +
 * CRASH_SETTLE_GRACE_MS; otherwise WAIT. */
enum crash_step crash_live_step(const struct crash_schedule *s, int64_t now_ms);
/* The phase players see at now: BETTING before bets_close_ms, RUNNING before crash_at_ms,
 * CRASHED after it (until the next round opens), WAITING with no round yet, CLOSED when the
 * node does not run rounds. */
enum crash_phase crash_live_phase(const struct crash_schedule *s, int64_t now_ms);
const char *crash_phase_name(enum crash_phase p);

/* A manual cash-out received at received_ms in a round whose multiplier started at
 * bets_close_ms: NULL and *out (won) when it pays; otherwise the refusal's code:
 * "round_not_started" (still betting) or "round_crashed" (at or after the crash time). */
const char *crash_live_cashout(uint64_t crash_point, int64_t bets_close_ms, int64_t stake_minor,
                               uint64_t auto_target, int64_t received_ms,
                               struct crash_cashout *out);

/* ---- stored rounds and bets ---- */

enum crash_round_phase { CRASH_ROUND_OPEN = 1, CRASH_ROUND_CRASHED = 2, CRASH_ROUND_VOID = 3 };
enum crash_bet_state { CRASH_BET_OPEN = 1, CRASH_BET_CASHED = 2, CRASH_BET_LOST = 3,
                       CRASH_BET_REFUNDED = 4 };

struct crash_round_row {
    int64_t id, chain_id, chain_index;
    char hash[CRASH_HASH_HEX + 1];
    char commitment[CRASH_HASH_HEX + 1]; /* the chain's terminating hash */
    char salt[CRASH_SALT_MAX + 1];
    uint64_t crash_point;
    enum crash_round_phase phase;
    int64_t opened_ms, bets_close_ms, crash_at_ms, ended_ms; /* ended_ms 0 while open */
    int64_t bets;
};

struct crash_bet_row {
    int64_t id; /* the round id of the round engine */
    int64_t crash_round;
    char player_id[ROUNDS_PLAYER_ID_MAX + 1];
    char currency[LEDGER_CURRENCY_MAX + 1];
    int64_t stake_minor;
    uint64_t auto_target; /* 0: none */
    enum crash_bet_state state;
    uint64_t multiplier;  /* when cashed */
    int64_t cashout_ms;   /* ms after the start when the cash-out took effect (cashed) */
    bool auto_cashout;    /* the automatic target paid it */
    int64_t payout_minor;
    int64_t placed_ms;
};

int crash_round_get(struct store *s, int64_t id, struct crash_round_row *out);
int crash_bet_get(struct store *s, int64_t bet_id, struct crash_bet_row *out);
/* The public view of a round: the hash and crash point only once it is over. */
json_t *crash_round_json(const struct crash_round_row *r);
/* The public view of a bet (with its round's reveal once over). */
json_t *crash_bet_json(const struct crash_bet_row *b, const struct crash_round_row *r);

/* ---- writer commands (inside a writer command) ---- */

struct crash_settings {
    int64_t betting_ms;
    uint64_t chain_length;
    bool have_seed;
    uint8_t seed[CRASH_HASH_BYTES]; /* the first chain's secret seed when have_seed */
    char salt[CRASH_SALT_MAX + 1];  /* "": none */
};

/* Voids every round left open (the recovery rule above); *last gets the newest round (id 0
 * when there is none). */
int crash_live_resume(struct ledger *lg, struct store *tx, struct writer_cmd *cmd,
                      int64_t now_ms, int *voided, struct crash_round_row *last);
/* Opens the next round (creating a chain when needed). */
int crash_live_open(struct store *tx, const struct crash_settings *set, int64_t now_ms,
                    struct crash_round_row *out);
/* Settles round_id (open): automatic cash-outs paid, other open bets lost, every bet's round
 * closed with the revealed hash. *out gets the settled round. PB_ERR_CONFLICT when it is not
 * open. */
int crash_live_settle(struct ledger *lg, struct store *tx, struct writer_cmd *cmd,
                      int64_t round_id, int64_t now_ms, struct crash_round_row *out);

struct crash_bet_request {
    const char *player_id, *currency, *idem;
    int64_t stake_minor;
    uint64_t auto_target; /* 0 or CRASH_TARGET_MIN..CRASH_TARGET_MAX */
    int64_t received_ms;
};
/* Places a bet in the open round while betting (received_ms < bets_close_ms): 409
 * betting_closed, 409 bet_exists (one per player and round), 409 round_full, or the
 * engine's refusals (casino_round_begin). 0 with *out, 0 with refusal->status, PB_ERR_DB. */
int crash_live_bet(struct ledger *lg, struct store *tx, struct writer_cmd *cmd,
                   const struct crash_bet_request *q, struct crash_bet_row *out,
                   struct casino_refusal *refusal);
/* Cashes out bet_id of player_id received at received_ms: pays it (crash_live_cashout) or
 * refuses: 404 not_found, 409 round_not_started, 409 round_crashed (nothing changes; the
 * settle decides the bet), 409 round_void. A bet already cashed answers it unchanged. */
int crash_live_cashout_bet(struct ledger *lg, struct store *tx, struct writer_cmd *cmd,
                           const char *player_id, int64_t bet_id, int64_t received_ms,
                           struct crash_bet_row *out, struct casino_refusal *refusal);

/* ---- the engine (scheduler task and snapshot) ---- */

struct crash_engine;
struct writer;
struct ws_hub;
/* PB_ERR_INVALID when crash.chain_seed is not 64 hex digits. */
int crash_engine_new(const struct pb_config *cfg, struct writer *w, struct ledger *lg,
                     struct ws_hub *hub, struct crash_engine **out);
void crash_engine_tick(void *arg); /* for scheduler_every(CRASH_TICK_MS) */
/* The public state at now: {"phase","round_id","commitment","chain_index","betting_ms",
 * "bets_close_ms","next_round_ms","multiplier","elapsed_ms","server_ms","previous"}. */
json_t *crash_engine_state(struct crash_engine *e, int64_t now_ms);
/* After the writer and the scheduler have stopped. NULL is ignored. */
void crash_engine_free(struct crash_engine *e);

#endif
