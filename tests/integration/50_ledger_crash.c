/* 50_ledger_crash.c: the ledger survives kill -9 (DESIGN.md section 3, "Invariants"; STYLE.md
 * section 22). Against the real binary, on SQLite and on PostgreSQL.
 *
 * A few players get wallets and funds; several client threads then send bets, wins and
 * bet+win groups (POST /api/v1/ledger/transfers, one Idempotency-Key per operation) while the
 * server is killed with SIGKILL at random moments and restarted on the same database. A
 * client retries each operation with the SAME key until it gets an answer (201, or 422 for a
 * refusal), whatever happened to earlier attempts. Afterwards:
 *   - every answered key replays the same status and body (Idempotent-Replayed: true);
 *   - each 201 operation's transfers are in the history exactly once, a 422's not at all;
 *   - each player's cash equals the funding plus the effects of the 201 operations (nothing
 *     applied twice, nothing lost);
 *   - after one more kill, `pitboss ledger verify` exits 0 with the expected count.
 * A second test alters the database and expects `pitboss ledger verify` to exit 1. */
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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <jansson.h>

#include "base/base.h"
#include "client.h"
#include "fixtures.h"
#include "load.h"
#include "store/store.h"

#define TOKEN "staff-token-for-crash-tests-0123456789"
#define PLAYERS 4
#define CLIENTS 4
#define OPS_PER_CLIENT_MAX 3000 /* bound on the load, whatever the timing */
#define KILLS 5                 /* kill -9 points per run (at least 4) */
#define FUNDING 100000
#define ANSWER_WAIT_MS 60000    /* one operation gets an answer within this, restarts included */
#define HISTORY_REFS_MAX (PLAYERS * CLIENTS * OPS_PER_CLIENT_MAX * 2 + 64)

static const char *const token_env[] = {"PITBOSS_STAFF_TOKEN=" TOKEN, NULL};

struct player {
    char id[32];
    int64_t cash, house;
};

/* One money-moving operation and its final answer. */
struct op {
    char key[48];
    int player;
    char body[768];
    char refs[2][48];
    int nrefs;
    int64_t effect; /* on the player's cash, when answered 201 */
    long status;    /* 201 or 422 */
    char *answer;   /* the answer's body (malloc'ed) */
};

struct client {
    pthread_t thread;
    int index;
    uint64_t rng;
    struct op ops[OPS_PER_CLIENT_MAX];
    int nops;
    char failure[512]; /* empty unless something unexpected happened */
};

static struct player players[PLAYERS];
static _Atomic int server_port;
static atomic_bool stop_load;
static _Atomic long attempts_failed; /* attempts without an HTTP answer, or 5xx */
static _Atomic long answered_by_replay; /* first answer after a failed attempt was a replay */

/* ---- the load ---- */

static void make_transfer(char *out, size_t len, int64_t debit, int64_t credit, int64_t amount,
                          const char *code, const char *reference)
{
    snprintf(out, len, "{\"kind\":\"posted\",\"debit_account\":%lld,\"credit_account\":%lld,"
             "\"amount_minor\":%lld,\"code\":\"%s\",\"reference\":\"%s\"}", (long long)debit,
             (long long)credit, (long long)amount, code, reference);
}

/* A bet, a win, a bet and a win linked, or (rarely) a bet no balance covers (422). */
static void make_op(struct client *cl, struct op *op, int n)
{
    memset(op, 0, sizeof(*op));
    op->player = (int)(pb_splitmix(&cl->rng) % PLAYERS);
    const struct player *p = &players[op->player];
    snprintf(op->key, sizeof(op->key), "crash-%d-%d", cl->index, n);
    int r = (int)(pb_splitmix(&cl->rng) % 100);
    int64_t bet = 1 + (int64_t)(pb_splitmix(&cl->rng) % 500);
    int64_t win = 1 + (int64_t)(pb_splitmix(&cl->rng) % 400);
    if (r < 3)
        bet = 1000000000; /* refused: insufficient_funds, and recorded as such */
    char t[2][320];
    if (r < 50 || r >= 85) {
        snprintf(op->refs[op->nrefs], sizeof(op->refs[0]), "crash:%d-%d:bet", cl->index, n);
        make_transfer(t[op->nrefs], sizeof(t[0]), p->cash, p->house, bet, "bet",
                      op->refs[op->nrefs]);
        op->effect -= bet;
        op->nrefs++;
    }
    if (r >= 50) {
        snprintf(op->refs[op->nrefs], sizeof(op->refs[0]), "crash:%d-%d:win", cl->index, n);
        make_transfer(t[op->nrefs], sizeof(t[0]), p->house, p->cash, win, "win",
                      op->refs[op->nrefs]);
        op->effect += win;
        op->nrefs++;
    }
    snprintf(op->body, sizeof(op->body), "{\"transfers\":[%s%s%s]}", t[0],
             op->nrefs == 2 ? "," : "", op->nrefs == 2 ? t[1] : "");
}

/* Sends op with its key until an answer comes: 201 or 422. Retries (same key, same body)
 * when the server is down, was killed mid-request, or answered 5xx. */
static bool perform(struct client *cl, struct op *op)
{
    struct pb_answer a;
    int attempts;
    if (!pb_post_until_answered(&server_port, "/api/v1/ledger/transfers", TOKEN, op->key,
                                op->body, ANSWER_WAIT_MS, &attempts_failed, &attempts, &a,
                                cl->failure, sizeof(cl->failure)))
        return false;
    op->status = a.status;
    op->answer = a.body;
    if (attempts > 1 && a.replayed) /* committed, but the answer was lost in a crash */
        atomic_fetch_add(&answered_by_replay, 1);
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

/* Opens a wallet, funds the cash account (an adjustment), and finds the house account of the
 * adjustment, which is the counterparty of every bet and win. */
static void setup_player(const struct pb_server *srv, struct player *p, int i)
{
    char path[256];
    snprintf(p->id, sizeof(p->id), "crash-%d", i);
    snprintf(path, sizeof(path), "/api/v1/players/%s/wallets", p->id);
    json_t *doc = pb_call_json(srv, "POST", path, "{\"currency\":\"EUR\"}", TOKEN, NULL, 201);
    p->cash = pb_int_at(json_array_get(json_object_get(doc, "accounts"), 0), "account_id");
    json_decref(doc);
    pb_adjust(srv, TOKEN, p->id, "EUR", FUNDING);
    snprintf(path, sizeof(path), "/api/v1/players/%s/transactions?code=adjustment&limit=1",
             p->id);
    doc = pb_call_json(srv, "GET", path, NULL, TOKEN, NULL, 200);
    p->house = pb_int_at(json_array_get(json_object_get(doc, "transactions"), 0),
                         "counterparty_account_id");
    json_decref(doc);
}

/* Every answered key answers again the same, marked as a replay. */
static void check_replays(const struct pb_server *srv, struct client *clients)
{
    for (int c = 0; c < CLIENTS; c++) {
        for (int i = 0; i < clients[c].nops; i++) {
            const struct op *op = &clients[c].ops[i];
            struct pb_answer a;
            assert_true(pb_http_once(srv->port, "POST", "/api/v1/ledger/transfers", TOKEN, op->key,
                                     op->body, &a));
            if (a.status != op->status || strcmp(a.body, op->answer) != 0 || !a.replayed)
                fail_msg("%s replayed %ld%s %s; first answer %ld %s", op->key, a.status,
                         a.replayed ? " (marked)" : " (not marked)", a.body, op->status,
                         op->answer);
            free(a.body);
        }
    }
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* All references in player's history (every page), sorted; *n gets how many. */
static char **history_references(const struct pb_server *srv, const struct player *p, size_t *n)
{
    char **refs = calloc(HISTORY_REFS_MAX, sizeof(char *));
    char cursor[256] = "";
    *n = 0;
    for (int page = 0; page < 100; page++) {
        char path[512];
        snprintf(path, sizeof(path), "/api/v1/players/%s/transactions?limit=200%s%s", p->id,
                 cursor[0] ? "&cursor=" : "", cursor);
        json_t *doc = pb_call_json(srv, "GET", path, NULL, TOKEN, NULL, 200);
        json_t *rows = json_object_get(doc, "transactions");
        for (size_t i = 0; i < json_array_size(rows); i++) {
            assert_true(*n < HISTORY_REFS_MAX);
            const char *ref = json_string_value(json_object_get(json_array_get(rows, i),
                                                                "reference"));
            refs[(*n)++] = strdup(ref ? ref : "");
        }
        const char *next = json_string_value(json_object_get(doc, "next_cursor"));
        snprintf(cursor, sizeof(cursor), "%s", next ? next : "");
        json_decref(doc);
        if (!cursor[0])
            break;
    }
    qsort(refs, *n, sizeof(char *), compare_strings);
    return refs;
}

static size_t occurrences(char **refs, size_t n, const char *ref)
{
    char **hit = bsearch(&ref, refs, n, sizeof(char *), compare_strings);
    if (!hit)
        return 0;
    char **lo = hit, **hi = hit;
    while (lo > refs && strcmp(lo[-1], ref) == 0)
        lo--;
    while (hi + 1 < refs + n && strcmp(hi[1], ref) == 0)
        hi++;
    return (size_t)(hi - lo) + 1;
}

/* Each 201 operation's transfers are in the history once, a 422's not at all; each player's
 * cash is the funding plus the 201 effects. Returns the transfers the operations applied. */
static int64_t check_history_and_balances(const struct pb_server *srv, struct client *clients)
{
    int64_t applied = 0;
    for (int p = 0; p < PLAYERS; p++) {
        size_t n;
        char **refs = history_references(srv, &players[p], &n);
        int64_t cash = FUNDING;
        for (int c = 0; c < CLIENTS; c++) {
            for (int i = 0; i < clients[c].nops; i++) {
                const struct op *op = &clients[c].ops[i];
                if (op->player != p)
                    continue;
                size_t want = op->status == 201 ? 1 : 0;
                for (int k = 0; k < op->nrefs; k++)
                    if (occurrences(refs, n, op->refs[k]) != want)
                        fail_msg("%s (answered %ld): %s is in the history %zu times",
                                 op->key, op->status, op->refs[k],
                                 occurrences(refs, n, op->refs[k]));
                if (op->status == 201) {
                    cash += op->effect;
                    applied += op->nrefs;
                }
            }
        }
        for (size_t i = 0; i < n; i++)
            free(refs[i]);
        free(refs);
        char path[256];
        snprintf(path, sizeof(path), "/api/v1/players/%s/balances", players[p].id);
        json_t *doc = pb_call_json(srv, "GET", path, NULL, TOKEN, NULL, 200);
        json_t *list = json_object_get(doc, "balances");
        int64_t posted = INT64_MIN;
        for (size_t i = 0; i < json_array_size(list); i++)
            if (pb_int_at(json_array_get(list, i), "account_id") == players[p].cash)
                posted = pb_int_at(json_array_get(list, i), "posted_minor");
        json_decref(doc);
        if (posted != cash)
            fail_msg("%s: cash posted %lld, but funding and answered operations make %lld",
                     players[p].id, (long long)posted, (long long)cash);
    }
    return applied;
}

static void test_acknowledged_operations_survive_kill_9(void **state)
{
    (void)state;
    struct pb_server srv;
    pb_server_start(&srv, token_env);
    for (int i = 0; i < PLAYERS; i++)
        setup_player(&srv, &players[i], i);
    uint64_t seed = (uint64_t)time(NULL);
    printf("# crash run seed %llu\n", (unsigned long long)seed);
    atomic_store(&server_port, srv.port);
    atomic_store(&stop_load, false);
    struct client *clients = calloc(CLIENTS, sizeof(*clients));
    for (int c = 0; c < CLIENTS; c++) {
        clients[c].index = c;
        clients[c].rng = seed * 31 + (uint64_t)c;
        assert_int_equal(pthread_create(&clients[c].thread, NULL, client_main, &clients[c]), 0);
    }
    pb_kill_and_restart(&srv, token_env, &seed, KILLS, &server_port);
    atomic_store(&stop_load, true);
    int total = 0, refused = 0;
    for (int c = 0; c < CLIENTS; c++) {
        pthread_join(clients[c].thread, NULL);
        if (clients[c].failure[0])
            fail_msg("client %d: %s", c, clients[c].failure);
        total += clients[c].nops;
        for (int i = 0; i < clients[c].nops; i++)
            refused += clients[c].ops[i].status == 422;
    }
    printf("# %d operations answered (%d refused), %ld attempts retried, %ld answered by a"
           " replay after a lost answer, %d kills\n", total, refused,
           atomic_load(&attempts_failed), atomic_load(&answered_by_replay), KILLS);
    /* Each kill leaves the clients without a server for a while: they must have noticed. */
    if (atomic_load(&attempts_failed) < KILLS)
        fail_msg("only %ld failed attempts: the load ended before the kills",
                 atomic_load(&attempts_failed));
    check_replays(&srv, clients);
    int64_t applied = check_history_and_balances(&srv, clients);
    pb_server_kill(&srv); /* and once more, idle: verification reads what the crash left */
    char out[4096], want[128];
    int rc = pb_ledger_verify(srv.db_url, out, sizeof(out));
    snprintf(want, sizeof(want), "ledger verify: OK (%lld transfers, ",
             (long long)(applied + PLAYERS));
    if (rc != 0 || !strstr(out, want))
        fail_msg("ledger verify exited %d, expected 0 and '%s...':\n%s", rc, want, out);
    for (int c = 0; c < CLIENTS; c++)
        for (int i = 0; i < clients[c].nops; i++)
            free(clients[c].ops[i].answer);
    free(clients);
}

/* An account total changed behind the ledger's back: verify names it and exits 1. */
static void test_ledger_verify_fails_on_an_altered_database(void **state)
{
    (void)state;
    struct pb_server srv;
    pb_server_start(&srv, token_env);
    struct player p;
    setup_player(&srv, &p, 99);
    pb_server_stop(&srv);
    char out[4096];
    assert_int_equal(pb_ledger_verify(srv.db_url, out, sizeof(out)), 0);
    struct store *s;
    char err[256], sql[160];
    assert_int_equal(store_open(srv.db_url, &s, err, sizeof(err)), 0);
    snprintf(sql, sizeof(sql), "UPDATE ledger_accounts SET credits_posted = credits_posted + 1"
                               " WHERE id = %lld", (long long)p.cash);
    assert_int_equal(store_exec(s, sql), 0);
    store_close(s);
    assert_int_equal(pb_ledger_verify(srv.db_url, out, sizeof(out)), 1);
    char want[160];
    snprintf(want, sizeof(want), "account %lld (player:crash-99 player_cash EUR): credits_posted"
             " %d but transfers replay to %d\n", (long long)p.cash, FUNDING + 1, FUNDING);
    if (!strstr(out, want) || !strstr(out, "ledger verify: FAILED ("))
        fail_msg("expected '%s' and FAILED in:\n%s", want, out);
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_acknowledged_operations_survive_kill_9),
        cmocka_unit_test(test_ledger_verify_fails_on_an_altered_database),
    };
    int rc = cmocka_run_group_tests_name("integration.ledger_crash", tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
