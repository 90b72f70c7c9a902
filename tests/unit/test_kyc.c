/* test_kyc.c: KYC (src/pam/kyc.h): every legal and illegal transition of the state machine
 * (pure check, and through kyc_transition with its history on SQLite and PostgreSQL), document
 * submission moving none/rejected to pending, staff review of documents, the queue, the
 * jurisdiction gates for each action and state, webhook idempotency records, and the sandbox
 * provider's signatures (good, bad, expired, malformed) and webhook parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "unit.h"
#include <sodium.h>

#include "base/base.h"
#include "core/writer.h"
#include "pam/kyc.h"
#include "pam/pam.h"
#include "store/store.h"

/* ---- the pure rule book ---- */

struct move {
    enum kyc_state from;
    int from_tier;
    enum kyc_state to;
    int to_tier;
    int want;
};

static const struct move moves[] = {
    {KYC_NONE, 0, KYC_PENDING, 0, PB_OK},
    {KYC_PENDING, 0, KYC_VERIFIED, 1, PB_OK},
    {KYC_PENDING, 0, KYC_VERIFIED, 2, PB_OK},
    {KYC_PENDING, 0, KYC_REJECTED, 0, PB_OK},
    {KYC_REJECTED, 0, KYC_PENDING, 0, PB_OK},
    {KYC_VERIFIED, 1, KYC_VERIFIED, 2, PB_OK},
    /* illegal moves */
    {KYC_NONE, 0, KYC_NONE, 0, PB_ERR_CONFLICT},
    {KYC_NONE, 0, KYC_VERIFIED, 1, PB_ERR_CONFLICT},
    {KYC_NONE, 0, KYC_REJECTED, 0, PB_ERR_CONFLICT},
    {KYC_PENDING, 0, KYC_PENDING, 0, PB_ERR_CONFLICT},
    {KYC_PENDING, 0, KYC_NONE, 0, PB_ERR_CONFLICT},
    {KYC_VERIFIED, 1, KYC_PENDING, 0, PB_ERR_CONFLICT},
    {KYC_VERIFIED, 1, KYC_REJECTED, 0, PB_ERR_CONFLICT},
    {KYC_VERIFIED, 2, KYC_NONE, 0, PB_ERR_CONFLICT},
    {KYC_VERIFIED, 1, KYC_VERIFIED, 1, PB_ERR_CONFLICT},
    {KYC_VERIFIED, 2, KYC_VERIFIED, 1, PB_ERR_CONFLICT},
    {KYC_REJECTED, 0, KYC_VERIFIED, 1, PB_ERR_CONFLICT},
    {KYC_REJECTED, 0, KYC_REJECTED, 0, PB_ERR_CONFLICT},
    {KYC_REJECTED, 0, KYC_NONE, 0, PB_ERR_CONFLICT},
    /* tiers that do not fit the target state */
    {KYC_PENDING, 0, KYC_VERIFIED, 0, PB_ERR_INVALID},
    {KYC_PENDING, 0, KYC_VERIFIED, 3, PB_ERR_INVALID},
    {KYC_PENDING, 0, KYC_REJECTED, 1, PB_ERR_INVALID},
    {KYC_NONE, 0, KYC_PENDING, 2, PB_ERR_INVALID},
};

static void test_every_transition_is_checked_in_one_place(void **state)
{
    (void)state;
    for (size_t i = 0; i < PB_ARRAY_LEN(moves); i++) {
        const struct move *m = &moves[i];
        const char *why = "unset";
        int rc = kyc_transition_check(m->from, m->from_tier, m->to, m->to_tier, &why);
        if (rc != m->want)
            fail_msg("%s/%d -> %s/%d gave %d, expected %d", kyc_state_name(m->from),
                     m->from_tier, kyc_state_name(m->to), m->to_tier, rc, m->want);
        if (rc == PB_OK)
            assert_null(why);
        else
            assert_non_null(why);
    }
}

static void test_names_round_trip(void **state)
{
    (void)state;
    enum kyc_state s;
    enum kyc_doc_type t;
    enum kyc_doc_status d;
    assert_int_equal(kyc_state_parse("rejected", &s), 0);
    assert_int_equal(s, KYC_REJECTED);
    assert_int_equal(kyc_state_parse("approved", &s), PB_ERR_INVALID);
    assert_int_equal(kyc_doc_type_parse("driving_licence", &t), 0);
    assert_string_equal(kyc_doc_type_name(t), "driving_licence");
    assert_int_equal(kyc_doc_type_parse("selfie", &t), PB_ERR_INVALID);
    assert_int_equal(kyc_doc_status_parse("accepted", &d), 0);
    assert_int_equal(d, KYC_DOC_ACCEPTED);
}

/* ---- the sandbox provider ---- */

#define SECRET "sandbox-secret-for-tests"
#define BODY "{\"event_id\":\"ev-1\",\"player_id\":\"p1\",\"result\":\"verified\",\"tier\":2}"

static void test_sandbox_signature_good_bad_expired(void **state)
{
    (void)state;
    const struct kyc_provider *p = kyc_provider_find("sandbox");
    char header[KYC_SIGNATURE_HEADER_MAX];
    assert_non_null(p);
    assert_null(kyc_provider_find("acme"));
    int64_t now = 1700000000;
    kyc_sandbox_sign(SECRET, now, BODY, strlen(BODY), header);
    assert_int_equal(p->verify_signature(SECRET, header, BODY, strlen(BODY), now), 0);
    assert_int_equal(p->verify_signature(SECRET, header, BODY, strlen(BODY), now + 300), 0);
    assert_int_equal(p->verify_signature(SECRET, header, BODY, strlen(BODY), now + 301),
                     PB_ERR_TIMEOUT);
    assert_int_equal(p->verify_signature(SECRET, header, BODY, strlen(BODY), now - 301),
                     PB_ERR_TIMEOUT);
    /* another secret, a changed body, a changed timestamp: all wrong */
    assert_int_equal(p->verify_signature("other", header, BODY, strlen(BODY), now),
                     PB_ERR_INVALID);
    assert_int_equal(p->verify_signature(SECRET, header, BODY, strlen(BODY) - 1, now),
                     PB_ERR_INVALID);
    header[2] = header[2] == '1' ? '2' : '1';
    assert_int_equal(p->verify_signature(SECRET, header, BODY, strlen(BODY), now),
                     PB_ERR_INVALID);
    static const char *const malformed[] = {
        NULL, "", "t=,v1=00", "v1=ab,t=1", "t=1700000000", "t=1700000000,v1=zz",
        "t=1700000000,v1=" "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde",
        "t=12345678901234,v1=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
    };
    for (size_t i = 0; i < PB_ARRAY_LEN(malformed); i++)
        assert_int_equal(p->verify_signature(SECRET, malformed[i], BODY, strlen(BODY), now),
                         PB_ERR_INVALID);
}

static void expect_parse_error(const char *body, const char *field)
{
    struct kyc_result r;
    struct pb_json_error err;
    assert_int_equal(kyc_sandbox_provider.parse_webhook(body, strlen(body), &r, &err),
                     PB_ERR_INVALID);
    assert_string_equal(err.field, field);
}

static void test_sandbox_webhook_parsing(void **state)
{
    (void)state;
    struct kyc_result r;
    struct pb_json_error err;
    assert_int_equal(kyc_sandbox_provider.parse_webhook(BODY, strlen(BODY), &r, &err), 0);
    assert_string_equal(r.event_id, "ev-1");
    assert_string_equal(r.player_id, "p1");
    assert_int_equal(r.outcome, KYC_VERIFIED);
    assert_int_equal(r.tier, 2);
    const char *rej = "{\"event_id\":\"e\",\"player_id\":\"p\",\"result\":\"rejected\","
                      "\"reason\":\"blurry\"}";
    assert_int_equal(kyc_sandbox_provider.parse_webhook(rej, strlen(rej), &r, &err), 0);
    assert_int_equal(r.outcome, KYC_REJECTED);
    assert_int_equal(r.tier, 0);
    assert_string_equal(r.reason, "blurry");
    expect_parse_error("{\"event_id\":\"e\",\"player_id\":\"p\",\"result\":\"maybe\"}",
                       "result");
    expect_parse_error("{\"event_id\":\"e\",\"player_id\":\"p\",\"result\":\"verified\","
                       "\"tier\":0}", "tier");
    expect_parse_error("{\"player_id\":\"p\",\"result\":\"verified\"}", "event_id");
    expect_parse_error("{\"event_id\":\"e\",\"player_id\":\"p\",\"result\":\"verified\","
                       "\"colour\":1}", "colour");
    char ref[128];
    assert_int_equal(kyc_sandbox_provider.start_check("p1", ref, sizeof(ref)), 0);
    assert_int_equal(strncmp(ref, "sandbox-p1-", 11), 0);
}

/* ---- storage, on both engines ---- */

static char db_url[600];
static struct writer *w;
static struct store *rd; /* a reader connection */

static void fresh_database(bool postgres)
{
    pbt_fresh_database(postgres, "pb_kyc", db_url, sizeof(db_url));
    rd = pbt_open(db_url);
    assert_int_equal(store_migrate(rd, pam_migrations, pam_migrations_count, NULL), 0);
    assert_int_equal(store_migrate(rd, kyc_migrations, kyc_migrations_count, NULL), 0);
}

static void start(bool pg)
{
    fresh_database(pg);
    w = pbt_start_writer(db_url, NULL);
}

static void stop(void)
{
    writer_stop(w);
    store_close(rd);
}

typedef int (*step_fn)(struct store *tx, void *arg);

/* Runs fn(tx, arg) as one writer command on w; returns the command's status. */
static int run(step_fn fn, void *arg)
{
    return pbt_run(w, fn, arg);
}

struct move_arg {
    const char *player_id;
    enum kyc_state to;
    int tier;
    const char *why;
};

static int move_step(struct store *tx, void *arg)
{
    struct move_arg *m = arg;
    return kyc_transition(tx, m->player_id, m->to, m->tier, "staff", "checked", 5000, NULL,
                          &m->why);
}

static int move(const char *player_id, enum kyc_state to, int tier)
{
    struct move_arg m = {player_id, to, tier, NULL};
    return run(move_step, &m);
}

static void expect_status(const char *player_id, enum kyc_state state, int tier)
{
    struct kyc_status ks;
    assert_int_equal(kyc_status_get(rd, player_id, &ks), 0);
    assert_int_equal(ks.state, state);
    assert_int_equal(ks.tier, tier);
}

/* Drives a player through every legal move; each illegal one in between changes nothing. */
static void transitions_are_checked_and_recorded(bool pg)
{
    start(pg);
    expect_status("p1", KYC_NONE, 0);
    assert_int_equal(move("p1", KYC_VERIFIED, 1), PB_ERR_CONFLICT);
    assert_int_equal(move("p1", KYC_REJECTED, 0), PB_ERR_CONFLICT);
    assert_int_equal(move("p1", KYC_PENDING, 0), 0);
    assert_int_equal(move("p1", KYC_PENDING, 0), PB_ERR_CONFLICT);
    assert_int_equal(move("p1", KYC_NONE, 0), PB_ERR_CONFLICT);
    assert_int_equal(move("p1", KYC_VERIFIED, 0), PB_ERR_INVALID);
    assert_int_equal(move("p1", KYC_REJECTED, 0), 0);
    assert_int_equal(move("p1", KYC_VERIFIED, 1), PB_ERR_CONFLICT);
    assert_int_equal(move("p1", KYC_REJECTED, 0), PB_ERR_CONFLICT);
    assert_int_equal(move("p1", KYC_PENDING, 0), 0);
    assert_int_equal(move("p1", KYC_VERIFIED, 1), 0);
    assert_int_equal(move("p1", KYC_PENDING, 0), PB_ERR_CONFLICT);
    assert_int_equal(move("p1", KYC_REJECTED, 0), PB_ERR_CONFLICT);
    assert_int_equal(move("p1", KYC_VERIFIED, 1), PB_ERR_CONFLICT);
    assert_int_equal(move("p1", KYC_VERIFIED, 2), 0);
    assert_int_equal(move("p1", KYC_VERIFIED, 1), PB_ERR_CONFLICT);
    expect_status("p1", KYC_VERIFIED, 2);
    struct kyc_event ev[16];
    size_t n;
    assert_int_equal(kyc_events_list(rd, "p1", ev, 16, &n), 0);
    assert_int_equal(n, 5);
    static const enum kyc_state to[] = {KYC_PENDING, KYC_REJECTED, KYC_PENDING, KYC_VERIFIED,
                                        KYC_VERIFIED};
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(ev[i].seq, (int64_t)i + 1);
        assert_int_equal(ev[i].to, to[i]);
        assert_string_equal(ev[i].actor, "staff");
        assert_string_equal(ev[i].reason, "checked");
        assert_int_equal(ev[i].at_ms, 5000);
    }
    assert_int_equal(ev[4].from_tier, 1);
    assert_int_equal(ev[4].to_tier, 2);
    assert_int_equal(kyc_events_list(rd, "p2", ev, 16, &n), 0);
    assert_int_equal(n, 0);
    stop();
}

static struct kyc_document sample_document(const char *id, const char *player_id)
{
    struct kyc_document d = {0};
    snprintf(d.id, sizeof(d.id), "%s", id);
    snprintf(d.player_id, sizeof(d.player_id), "%s", player_id);
    d.type = KYC_DOC_PASSPORT;
    snprintf(d.reference, sizeof(d.reference), "upload:%s", id);
    d.submitted_at_ms = 1000;
    return d;
}

static struct kyc_status submitted_status;

static int submit_step(struct store *tx, void *arg)
{
    return kyc_document_submit(tx, arg, &submitted_status);
}

static int review_step(struct store *tx, void *arg)
{
    int count;
    int rc = kyc_documents_review(tx, "p1", KYC_DOC_REJECTED, "staff", "blurry", 7000, &count);
    *(int *)arg = count;
    return rc;
}

static void documents_move_to_pending_and_are_reviewed(bool pg)
{
    start(pg);
    struct kyc_document d = sample_document("d1", "p1");
    assert_int_equal(run(submit_step, &d), 0);
    assert_int_equal(submitted_status.state, KYC_PENDING);
    d = sample_document("d2", "p1");
    assert_int_equal(run(submit_step, &d), 0); /* pending stays pending */
    assert_int_equal(submitted_status.state, KYC_PENDING);
    struct kyc_queue_entry q[4];
    size_t n;
    assert_int_equal(kyc_queue(rd, q, 4, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(q[0].player_id, "p1");
    int reviewed = 0;
    assert_int_equal(run(review_step, &reviewed), 0);
    assert_int_equal(reviewed, 2);
    assert_int_equal(move("p1", KYC_REJECTED, 0), 0);
    assert_int_equal(kyc_queue(rd, q, 4, &n), 0);
    assert_int_equal(n, 0);
    d = sample_document("d3", "p1");
    assert_int_equal(run(submit_step, &d), 0); /* rejected -> pending */
    assert_int_equal(submitted_status.state, KYC_PENDING);
    struct kyc_document docs[KYC_DOCUMENTS_MAX];
    assert_int_equal(kyc_documents_list(rd, "p1", docs, KYC_DOCUMENTS_MAX, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(docs[0].status, KYC_DOC_REJECTED);
    assert_string_equal(docs[0].reviewer, "staff");
    assert_string_equal(docs[0].reason, "blurry");
    assert_int_equal(docs[0].reviewed_at_ms, 7000);
    assert_int_equal(docs[2].status, KYC_DOC_SUBMITTED);
    assert_string_equal(docs[2].reference, "upload:d3");
    for (int i = 3; i < KYC_DOCUMENTS_MAX; i++) {
        char id[16];
        snprintf(id, sizeof(id), "d%d", i + 1);
        d = sample_document(id, "p1");
        assert_int_equal(run(submit_step, &d), 0);
    }
    d = sample_document("dx", "p1");
    assert_int_equal(run(submit_step, &d), PB_ERR_FULL);
    stop();
}

struct webhook_arg {
    const char *event_id;
    bool seen;
};

static int webhook_step(struct store *tx, void *arg)
{
    struct webhook_arg *a = arg;
    return kyc_webhook_record(tx, "sandbox", a->event_id, "p1", 1000, &a->seen);
}

static void webhook_events_are_recorded_once(bool pg)
{
    start(pg);
    struct webhook_arg a = {"ev-1", true};
    assert_int_equal(run(webhook_step, &a), 0);
    assert_false(a.seen);
    assert_int_equal(run(webhook_step, &a), 0);
    assert_true(a.seen);
    a = (struct webhook_arg){"ev-2", true};
    assert_int_equal(run(webhook_step, &a), 0);
    assert_false(a.seen);
    stop();
}

/* ---- jurisdiction gates ---- */

static struct pam_player sample_player(const char *id, const char *brand)
{
    struct pam_player p = {0};
    snprintf(p.id, sizeof(p.id), "%s", id);
    snprintf(p.brand, sizeof(p.brand), "%s", brand);
    snprintf(p.email, sizeof(p.email), "%s@example.com", id);
    snprintf(p.password_hash, sizeof(p.password_hash), "$argon2id$placeholder");
    snprintf(p.date_of_birth, sizeof(p.date_of_birth), "1990-01-01");
    snprintf(p.country, sizeof(p.country), "GB");
    snprintf(p.currency, sizeof(p.currency), "GBP");
    p.created_at_ms = 1000;
    return p;
}

static int insert_step(struct store *tx, void *arg)
{
    return pam_player_insert(tx, arg);
}

#define GATES_CONFIG                                                                          \
    "{\"jurisdictions\":{"                                                                    \
    "\"all\":{\"min_age\":18,\"currencies\":[\"GBP\"],\"countries\":[\"*\"],"                 \
    "\"kyc_required\":[\"deposit\",\"withdrawal\",\"play\"],\"rg_rule_set\":\"x\"},"           \
    "\"w\":{\"min_age\":18,\"currencies\":[\"GBP\"],\"countries\":[\"*\"],"                   \
    "\"kyc_required\":[\"withdrawal\"],\"rg_rule_set\":\"x\"},"                               \
    "\"free\":{\"min_age\":18,\"currencies\":[\"GBP\"],\"countries\":[\"*\"],"                \
    "\"kyc_required\":[],\"rg_rule_set\":\"x\"}},"                                            \
    "\"brands\":{\"b-all\":{\"jurisdiction\":\"all\"},\"b-w\":{\"jurisdiction\":\"w\"},"      \
    "\"b-free\":{\"jurisdiction\":\"free\"}}}"

/* allowed[action-1] for player id in cfg. */
static void expect_gates(const struct pam_config *cfg, const char *id, bool dep, bool wd,
                         bool play)
{
    bool want[3] = {dep, wd, play}, got;
    for (int a = KYC_ACTION_DEPOSIT; a <= KYC_ACTION_PLAY; a++) {
        assert_int_equal(kyc_allows(rd, cfg, id, (enum kyc_action)a, &got), 0);
        if (got != want[a - 1])
            fail_msg("player %s action %d: allowed=%d, expected %d", id, a, got, want[a - 1]);
    }
}

static void gates_follow_the_jurisdiction_and_state(bool pg)
{
    start(pg);
    struct pam_config *cfg;
    char err[256];
    assert_int_equal(pam_config_load_text(GATES_CONFIG, strlen(GATES_CONFIG), &cfg, err,
                                          sizeof(err)), 0);
    struct pam_player p = sample_player("pa", "b-all");
    assert_int_equal(run(insert_step, &p), 0);
    p = sample_player("pw", "b-w");
    assert_int_equal(run(insert_step, &p), 0);
    p = sample_player("pf", "b-free");
    assert_int_equal(run(insert_step, &p), 0);
    /* none, pending, rejected: only what the jurisdiction does not gate */
    for (int round = 0; round < 3; round++) {
        expect_gates(cfg, "pa", false, false, false);
        expect_gates(cfg, "pw", true, false, true);
        expect_gates(cfg, "pf", true, true, true);
        if (round == 2)
            break;
        enum kyc_state next = round == 0 ? KYC_PENDING : KYC_REJECTED;
        assert_int_equal(move("pa", next, 0), 0);
        assert_int_equal(move("pw", next, 0), 0);
        assert_int_equal(move("pf", next, 0), 0);
    }
    assert_int_equal(move("pa", KYC_PENDING, 0), 0);
    assert_int_equal(move("pw", KYC_PENDING, 0), 0);
    assert_int_equal(move("pa", KYC_VERIFIED, 1), 0);
    assert_int_equal(move("pw", KYC_VERIFIED, 2), 0);
    expect_gates(cfg, "pa", true, true, true);
    expect_gates(cfg, "pw", true, true, true);
    bool allowed = true;
    assert_int_equal(kyc_allows(rd, cfg, "nobody", KYC_ACTION_PLAY, &allowed),
                     PB_ERR_NOT_FOUND);
    assert_false(allowed);
    pam_config_free(cfg);
    stop();
}

#define BOTH PBT_BOTH
#define PAIR PBT_PAIR

BOTH(transitions_are_checked_and_recorded)
BOTH(documents_move_to_pending_and_are_reviewed)
BOTH(webhook_events_are_recorded_once)
BOTH(gates_follow_the_jurisdiction_and_state)

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_transition_is_checked_in_one_place),
        cmocka_unit_test(test_names_round_trip),
        cmocka_unit_test(test_sandbox_signature_good_bad_expired),
        cmocka_unit_test(test_sandbox_webhook_parsing),
        PAIR(transitions_are_checked_and_recorded),
        PAIR(documents_move_to_pending_and_are_reviewed),
        PAIR(webhook_events_are_recorded_once),
        PAIR(gates_follow_the_jurisdiction_and_state),
    };
    return cmocka_run_group_tests_name("unit.kyc", tests, NULL, NULL);
}
