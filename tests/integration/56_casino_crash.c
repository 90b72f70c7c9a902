/* 56_casino_crash.c: casino plays survive kill -9 (docs/casino.md, "One play = one writer
 * command"). Against the real binary, on SQLite and on PostgreSQL.
 *
 * Two registered players with funded wallets play dice from several client threads (one
 * Idempotency-Key per play, a few plays too large for the balance) while the server is killed
 * with SIGKILL at random moments and restarted on the same database. A client retries each
 * play with the SAME key until it gets an answer (201, or 422 insufficient_funds). Afterwards:
 *   - every answered key replays the same status and body (Idempotent-Replayed: true);
 *   - every round id the database holds belongs to exactly one 201 answer and is closed with
 *     that answer's stake and payout: a crash left no half-played round and lost none;
 *   - each player's cash equals the funding plus the payouts minus the stakes of the 201s;
 *   - `pitboss ledger verify` exits 0. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>

#include "base/base.h"
#include "client.h"
#include "fixtures.h"
#include "load.h"

#define STAFF "staff-token-for-casino-crash-0123456789"
#define PLAYERS 2
#define CLIENTS 3
#define OPS_PER_CLIENT_MAX 2000 /* bound on the load, whatever the timing */
#define KILLS 4
#define FUNDING 50000
#define ANSWER_WAIT_MS 60000 /* one play gets an answer within this, restarts included */

static const char *const env[] = {"PITBOSS_STAFF_TOKEN=" STAFF, NULL};

struct player {
    char id[32], token[128];
};

struct op {
    char key[48];
    int player;
    char body[256];
    long status;  /* 201 or 422 */
    char *answer; /* malloc'ed */
    int64_t round_id, stake, payout;
};

struct client {
    pthread_t thread;
    int index;
    uint64_t rng;
    struct op ops[OPS_PER_CLIENT_MAX];
    int nops;
    char failure[512];
};

static struct player players[PLAYERS];
static struct client clients[CLIENTS];
static _Atomic int server_port;
static atomic_bool stop_load;
static _Atomic long attempts_failed;

/* ---- the load ---- */

static void make_op(struct client *cl, struct op *op, int n)
{
    memset(op, 0, sizeof(*op));
    op->player = (int)(pb_splitmix(&cl->rng) % PLAYERS);
    snprintf(op->key, sizeof(op->key), "crash-%d-%d", cl->index, n);
    int64_t stake = 1 + (int64_t)(pb_splitmix(&cl->rng) % 200);
    if (pb_splitmix(&cl->rng) % 100 < 3)
        stake = 99999; /* more than any balance here: 422, recorded as such */
    int64_t target = 100 + (int64_t)(pb_splitmix(&cl->rng) % 9700);
    snprintf(op->body, sizeof(op->body), "{\"currency\":\"EUR\",\"stake_minor\":%lld,\"bet\":"
             "{\"target\":%lld,\"direction\":\"under\"}}", (long long)stake, (long long)target);
}

/* Reads round_id, stake and payout of a 201 answer. */
static bool parse_round(struct op *op)
{
    json_t *doc = json_loads(op->answer, 0, NULL);
    json_t *round = json_object_get(doc, "round");
    op->round_id = json_integer_value(json_object_get(round, "round_id"));
    op->stake = json_integer_value(json_object_get(round, "stake_minor"));
    op->payout = json_integer_value(json_object_get(round, "payout_minor"));
    bool ok = op->round_id > 0 && op->stake > 0 &&
              strcmp(json_string_value(json_object_get(round, "state")), "closed") == 0;
    json_decref(doc);
    return ok;
}

static bool perform(struct client *cl, struct op *op)
{
    struct pb_answer a;
    int attempts;
    if (!pb_post_until_answered(&server_port, "/api/v1/games/dice/play",
                                players[op->player].token, op->key, op->body, ANSWER_WAIT_MS,
                                &attempts_failed, &attempts, &a, cl->failure,
                                sizeof(cl->failure)))
        return false;
    op->status = a.status;
    op->answer = a.body;
    if (a.status == 201 && !parse_round(op)) {
        snprintf(cl->failure, sizeof(cl->failure), "%s: bad answer %s", op->key, a.body);
        return false;
    }
    return true;
}

static void *client_main(void *arg)
{
    struct client *cl = arg;
    while (cl->nops < OPS_PER_CLIENT_MAX && !atomic_load(&stop_load)) {
        struct op *op = &cl->ops[cl->nops];
        make_op(cl, op, cl->nops);
        if (!perform(cl, op))
            break;
        cl->nops++;
    }
    return NULL;
}

static void setup_player(const struct pb_server *srv, struct player *p, int i)
{
    char email[64];
    snprintf(email, sizeof(email), "crash%d@example.com", i);
    pb_player_new(srv, "demo", email, "EUR", p->id, sizeof(p->id), p->token, sizeof(p->token));
    pb_adjust(srv, STAFF, p->id, "EUR", FUNDING);
}

static void check_replays(const struct pb_server *srv)
{
    for (int c = 0; c < CLIENTS; c++) {
        for (int i = 0; i < clients[c].nops; i++) {
            const struct op *op = &clients[c].ops[i];
            struct pb_answer a;
            assert_true(pb_http_once(srv->port, "POST", "/api/v1/games/dice/play",
                                     players[op->player].token, op->key, op->body, &a));
            if (a.status != op->status || strcmp(a.body, op->answer) != 0 || !a.replayed)
                fail_msg("%s replayed %ld%s %s; first answer %ld %s", op->key, a.status,
                         a.replayed ? " (marked)" : " (not marked)", a.body, op->status,
                         op->answer);
            free(a.body);
        }
    }
}

/* The 201 op whose round is id, or NULL. */
static const struct op *op_of_round(int64_t id)
{
    for (int c = 0; c < CLIENTS; c++)
        for (int i = 0; i < clients[c].nops; i++)
            if (clients[c].ops[i].status == 201 && clients[c].ops[i].round_id == id)
                return &clients[c].ops[i];
    return NULL;
}

/* Every round in the database is a 201's, closed with its stake and payout; every 201's round
 * is there. Returns how many rounds there are. */
static int64_t check_rounds(const struct pb_server *srv)
{
    int64_t max_id = 0, answered = 0, found = 0;
    for (int c = 0; c < CLIENTS; c++)
        for (int i = 0; i < clients[c].nops; i++)
            if (clients[c].ops[i].status == 201) {
                answered++;
                if (clients[c].ops[i].round_id > max_id)
                    max_id = clients[c].ops[i].round_id;
            }
    for (int64_t id = 1; id <= max_id + 50; id++) {
        char path[64];
        snprintf(path, sizeof(path), "/api/v1/rounds/%lld", (long long)id);
        struct pb_response r;
        const char *headers[] = {"Authorization: Bearer " STAFF, NULL};
        pb_request(srv, "GET", path, NULL, NULL, 0, headers, &r);
        if (r.status == 404) {
            pb_response_release(&r);
            continue;
        }
        if (r.status != 200)
            fail_msg("GET %s answered %ld: %s", path, r.status, r.body);
        json_t *round = json_loads(r.body, 0, NULL);
        const struct op *op = op_of_round(id);
        if (!op)
            fail_msg("round %lld belongs to no answered play: %s", (long long)id, r.body);
        if (strcmp(json_string_value(json_object_get(round, "state")), "closed") != 0 ||
            json_integer_value(json_object_get(round, "stake_minor")) != op->stake ||
            json_integer_value(json_object_get(round, "payout_minor")) != op->payout)
            fail_msg("round %lld differs from its answer %s: %s", (long long)id, op->answer,
                     r.body);
        json_decref(round);
        pb_response_release(&r);
        found++;
    }
    assert_int_equal(found, answered);
    return found;
}

static void check_balances(const struct pb_server *srv)
{
    for (int p = 0; p < PLAYERS; p++) {
        int64_t cash = FUNDING;
        for (int c = 0; c < CLIENTS; c++)
            for (int i = 0; i < clients[c].nops; i++) {
                const struct op *op = &clients[c].ops[i];
                if (op->player == p && op->status == 201)
                    cash += op->payout - op->stake;
            }
        char path[512];
        snprintf(path, sizeof(path), "/api/v1/players/%s/balances", players[p].id);
        json_t *doc = pb_call_json(srv, "GET", path, NULL, STAFF, NULL, 200);
        json_t *list = json_object_get(doc, "balances");
        int64_t posted = INT64_MIN;
        for (size_t i = 0; i < json_array_size(list); i++) {
            json_t *b = json_array_get(list, i);
            if (strcmp(json_string_value(json_object_get(b, "type")), "cash") == 0)
                posted = json_integer_value(json_object_get(b, "posted_minor"));
        }
        json_decref(doc);
        if (posted != cash)
            fail_msg("%s: cash %lld, but funding and answered plays make %lld", players[p].id,
                     (long long)posted, (long long)cash);
    }
}

static void test_plays_survive_kill_9(void **state)
{
    (void)state;
    struct pb_server srv;
    pb_server_start(&srv, env);
    for (int p = 0; p < PLAYERS; p++)
        setup_player(&srv, &players[p], p);
    atomic_store(&server_port, srv.port);
    uint64_t rng = (uint64_t)getpid() * 7919;
    for (int c = 0; c < CLIENTS; c++) {
        clients[c].index = c;
        clients[c].rng = rng + (uint64_t)c * 104729;
        assert_int_equal(pthread_create(&clients[c].thread, NULL, client_main, &clients[c]), 0);
    }
    pb_kill_and_restart(&srv, env, &rng, KILLS, &server_port);
    atomic_store(&stop_load, true);
    long total = 0, refused = 0;
    for (int c = 0; c < CLIENTS; c++) {
        pthread_join(clients[c].thread, NULL);
        if (clients[c].failure[0])
            fail_msg("client %d: %s", c, clients[c].failure);
        total += clients[c].nops;
        for (int i = 0; i < clients[c].nops; i++)
            refused += clients[c].ops[i].status == 422;
    }
    check_replays(&srv);
    int64_t rounds = check_rounds(&srv);
    check_balances(&srv);
    pb_server_kill(&srv); /* one more crash, then the invariants */
    pb_ledger_verify_ok(&srv);
    printf("# %ld plays answered (%lld rounds, %ld refused), %ld attempts without an answer,"
           " %d kills\n", total, (long long)rounds, refused, atomic_load(&attempts_failed),
           KILLS + 1);
    assert_true(total > 0 && rounds > 0);
    for (int c = 0; c < CLIENTS; c++)
        for (int i = 0; i < clients[c].nops; i++)
            free(clients[c].ops[i].answer);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_ALL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plays_survive_kill_9),
    };
    return cmocka_run_group_tests_name("integration.casino_crash", tests, NULL, NULL);
}
