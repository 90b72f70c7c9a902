/* fixtures.h: the set-up and checks that black-box tests share on top of client.h: the
 * Idempotency-Key header, typed reads of JSON fields, a registered and logged-in player, a
 * staff-funded wallet, a balance as the staff API shows it, and `pitboss ledger verify`.
 * Every helper asserts (cmocka) what it expects of the server, so a test that calls one
 * asserts the same statuses as if it spelled the requests out. */
#ifndef PB_TEST_FIXTURES_H
#define PB_TEST_FIXTURES_H

#include <stddef.h>
#include <stdint.h>

#include "client.h"

/* The password pb_player_new registers every player with. */
#define PB_PLAYER_PASSWORD "correct horse battery"

/* "Idempotency-Key: <key>" for the extra header of pb_call / pb_call_json /
 * pb_expect_problem, or NULL when key is NULL. The text lives in a small per-thread ring
 * (8 entries), so it stays valid for the call it is an argument of. */
const char *pb_idem(const char *key);
/* "<name>: <value>" in the same ring, or NULL when value is NULL. */
const char *pb_header(const char *name, const char *value);

/* A fresh idempotency key "<prefix>-<n>" with n unique in the process (thread-safe); the
 * text lives in a per-thread ring of its own (8 entries): it stays valid over the next 7
 * calls. */
const char *pb_next_key(const char *prefix);

/* pb_call expecting status, for answers that may have no body (204); a body it has must
 * be JSON. */
void pb_call_status(const struct pb_server *srv, const char *method, const char *path,
                    const char *body, const char *token, const char *extra, long status);

/* The string / integer member name of obj; fails the test when it is missing or of another
 * type. */
const char *pb_str_at(const struct json_t *obj, const char *name);
int64_t pb_int_at(const struct json_t *obj, const char *name);

/* Registers email in brand with currency (password PB_PLAYER_PASSWORD, born 1990-05-17,
 * country DE; asserts 201) and, when id is not NULL, copies the player id into id (id_len
 * bytes). When token is
 * not NULL, also logs in (asserts 201) and copies the session token into token (token_len
 * bytes). */
void pb_player_new(const struct pb_server *srv, const char *brand, const char *email,
                   const char *currency, char *id, size_t id_len, char *token, size_t token_len);

/* Credits amount minor units to player's cash account in currency with a staff adjustment
 * (POST /api/v1/admin/adjustments, reason "test funding", a fresh idempotency key; asserts
 * 201). */
void pb_adjust(const struct pb_server *srv, const char *staff_token, const char *player,
               const char *currency, int64_t amount);

/* Logs email of brand in (password PB_PLAYER_PASSWORD; asserts 201): the session token
 * goes to token (token_len bytes) and, when session is not NULL, the session id to session
 * (session_len bytes). */
void pb_player_login(const struct pb_server *srv, const char *brand, const char *email, char *token,
                     size_t token_len, char *session, size_t session_len);

/* Opens player's wallet in currency through the staff API (asserts 200: registration
 * opened it already) and, when amount > 0, funds it with pb_adjust. */
void pb_wallet_fund(const struct pb_server *srv, const char *staff_token, const char *player,
                    const char *currency, int64_t amount);

/* field ("posted_minor", "available_minor") of player's account of type ("cash", "bonus",
 * "locked") in currency, from GET /api/v1/players/{id}/balances with staff_token; fails the
 * test when the account is not listed. */
int64_t pb_balance(const struct pb_server *srv, const char *staff_token, const char *player,
                   const char *type, const char *currency, const char *field);
/* pb_balance, but absent when the account is not listed (not opened yet). */
int64_t pb_balance_or(const struct pb_server *srv, const char *staff_token, const char *player,
                      const char *type, const char *currency, const char *field, int64_t absent);

/* A cmocka group teardown: *state is NULL or points at a struct pb_server (alone or as the
 * first member of the test's fixture), which is stopped (pb_server_stop). */
int pb_teardown_server(void **state);

/* Runs `pitboss ledger verify` on db_url (PITBOSS_LOG_LEVEL=error; its stderr goes to the
 * test's); stdout goes to out (len bytes, NUL-terminated); returns the exit status (asserts
 * it exited). */
int pb_ledger_verify(const char *db_url, char *out, size_t len);
/* pb_ledger_verify on srv's database; fails the test unless it exits 0 with its last line
 * "ledger verify: OK ...". */
void pb_ledger_verify_ok(const struct pb_server *srv);

#endif
