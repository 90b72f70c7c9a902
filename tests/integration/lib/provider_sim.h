/* provider_sim.h: a game studio talking to pitboss's generic seamless-wallet API, for
 * black-box tests (docs/providers.md). Setup helpers (provider, catalog game, players,
 * funding, launch and authenticate, signed calls) and the simulator: many players on their
 * own threads play rounds with bets, wins, rollbacks, duplicates, out-of-order delivery,
 * client timeouts (retried or rolled back) and refused bets, each keeping an expected
 * balance; at the end every player's balance is checked against the model.
 *
 * Signing is written here independently of the server (HMAC-SHA256 over "<ts>.<body>"). */
#ifndef PB_TEST_PROVIDER_SIM_H
#define PB_TEST_PROVIDER_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "client.h"

#define PSIM_STAFF "staff-token-for-provider-tests-0123456789"
#define PSIM_SEAL_KEY "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

struct psim_provider {
    char name[33];
    char secret[65];
};

/* POST /api/v1/admin/providers (staff token): protocol "generic" or "alt", ranges a JSON
 * array text; the generated secret is kept. */
void psim_provider_create(const struct pb_server *srv, const char *name, const char *protocol,
                          const char *ranges_json, bool accept_unknown, int ttl_s,
                          struct psim_provider *out);
/* PUT a catalog game (category "slot", brands and jurisdictions "*", enabled). */
void psim_game_create(const struct pb_server *srv, const char *provider, const char *external);
/* Launches game_id for the player (real money) and returns the launch token from the URL. */
void psim_launch(const struct pb_server *srv, const char *player_token, const char *game_id,
                 char *launch_token, size_t len);
/* Exchanges the launch token for a session token (provider p). */
void psim_authenticate(const struct pb_server *srv, const struct psim_provider *p,
                       const char *launch_token, char *session_token, size_t len);

/* hex HMAC-SHA256(secret, "<ts>.<body>") */
void psim_sign(const char *secret, long long ts, const char *body, char out[65]);
/* A generic wallet call signed with timestamp now + ts_offset_s. */
void psim_call(const struct pb_server *srv, const struct psim_provider *p, const char *op,
               const char *body, long long ts_offset_s, struct pb_response *r);

struct psim_config {
    int players;          /* threads, one player each */
    int rounds;           /* rounds per player */
    int64_t start_minor;  /* each player's funding */
    unsigned seed;
};

struct psim_stats {
    long requests, timeouts, replays, tombstones, rollbacks, refused_bets, conflicts;
    int failures;         /* model mismatches (0 expected) */
};

/* Runs the simulation against provider p serving game_id; returns the failures count and
 * fills stats. Prints each mismatch. */
int psim_run(const struct pb_server *srv, const struct psim_provider *p, const char *game_id,
             const struct psim_config *cfg, struct psim_stats *stats);

#endif
