/* kyc.c: the KYC state machine, documents, jurisdiction gates and the sandbox provider
 * (kyc.h; decisions in docs/kyc.md). Tables are in kyc_schema.c. */
#include "pam/kyc.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "base/sign.h"

/* ---- names ---- */

static const char *const state_names[] = {"none", "pending", "verified", "rejected"};
static const char *const doc_type_names[] = {NULL, "passport", "id_card", "driving_licence",
                                             "proof_of_address", "source_of_funds"};
static const char *const doc_status_names[] = {NULL, "submitted", "accepted", "rejected"};

static int parse_name(const char *const *names, size_t n, const char *name, int *out)
{
    for (size_t i = 0; i < n; i++) {
        if (names[i] && name && strcmp(names[i], name) == 0) {
            *out = (int)i;
            return PB_OK;
        }
    }
    return PB_ERR_INVALID;
}

const char *kyc_state_name(enum kyc_state s)
{
    PB_ASSERT((unsigned)s < PB_ARRAY_LEN(state_names));
    return state_names[s];
}

int kyc_state_parse(const char *name, enum kyc_state *out)
{
    int v = 0;
    int rc = parse_name(state_names, PB_ARRAY_LEN(state_names), name, &v);
    *out = (enum kyc_state)v;
    return rc;
}

const char *kyc_doc_type_name(enum kyc_doc_type t)
{
    PB_ASSERT((unsigned)t >= 1 && (unsigned)t < PB_ARRAY_LEN(doc_type_names));
    return doc_type_names[t];
}

int kyc_doc_type_parse(const char *name, enum kyc_doc_type *out)
{
    int v = 0;
    int rc = parse_name(doc_type_names, PB_ARRAY_LEN(doc_type_names), name, &v);
    *out = (enum kyc_doc_type)v;
    return rc;
}

const char *kyc_doc_status_name(enum kyc_doc_status s)
{
    PB_ASSERT((unsigned)s >= 1 && (unsigned)s < PB_ARRAY_LEN(doc_status_names));
    return doc_status_names[s];
}

int kyc_doc_status_parse(const char *name, enum kyc_doc_status *out)
{
    int v = 0;
    int rc = parse_name(doc_status_names, PB_ARRAY_LEN(doc_status_names), name, &v);
    *out = (enum kyc_doc_status)v;
    return rc;
}

/* ---- the state machine ---- */

int kyc_transition_check(enum kyc_state from, int from_tier, enum kyc_state to, int to_tier,
                         const char **why)
{
    const char *w = NULL;
    int rc = PB_OK;
    PB_ASSERT(from_tier >= 0 && from_tier <= KYC_TIER_MAX);
    PB_ASSERT((from == KYC_VERIFIED) == (from_tier > 0));
    if (to == KYC_VERIFIED ? to_tier < 1 || to_tier > KYC_TIER_MAX : to_tier != 0) {
        rc = PB_ERR_INVALID;
        w = to == KYC_VERIFIED ? "verification needs a tier from 1 to 2"
                               : "only verified players have a tier above 0";
    } else if (from == KYC_NONE && to == KYC_PENDING) {
    } else if (from == KYC_PENDING && (to == KYC_VERIFIED || to == KYC_REJECTED)) {
    } else if (from == KYC_REJECTED && to == KYC_PENDING) {
    } else if (from == KYC_VERIFIED && to == KYC_VERIFIED) {
        if (to_tier <= from_tier) {
            rc = PB_ERR_CONFLICT;
            w = "the player is already verified at this tier or higher";
        }
    } else {
        rc = PB_ERR_CONFLICT;
        w = from == KYC_PENDING && to == KYC_PENDING ? "the player is already pending review"
            : from == KYC_NONE                        ? "the player has submitted no documents"
            : to == KYC_NONE                          ? "a player never goes back to none"
            : from == KYC_VERIFIED                    ? "the player is already verified"
            : from == KYC_REJECTED ? "the player was rejected: a new submission must come first"
                                   : "this transition is not allowed";
    }
    if (why)
        *why = w;
    return rc;
}

int kyc_status_get(struct store *s, const char *player_id, struct kyc_status *out)
{
    struct store_stmt *st;
    *out = (struct kyc_status){KYC_NONE, 0, 0};
    int rc = store_prepare(s, "SELECT state, tier, updated_at_ms FROM kyc_status"
                              " WHERE player_id = ?", &st);
    if (rc != PB_OK)
        return rc;
    rc = store_bind_text(st, 1, player_id, strlen(player_id));
    int step = rc == PB_OK ? store_step(st) : rc;
    if (step == STORE_ROW) {
        PB_ASSERT(kyc_state_parse(store_column_text(st, 0), &out->state) == PB_OK);
        out->tier = (int)store_column_int64(st, 1);
        out->updated_at_ms = store_column_int64(st, 2);
        PB_ASSERT((out->state == KYC_VERIFIED) == (out->tier > 0));
        rc = PB_OK;
    } else {
        rc = step == STORE_DONE ? PB_OK : step;
    }
    store_finalize(st);
    return rc;
}

/* Writes the new state only if the stored one is still from (conditional: a racing node's
 * change makes this one a conflict). */
static int status_write(struct store *tx, const char *player_id, const struct kyc_status *from,
                        enum kyc_state to, int tier, int64_t now_ms)
{
    struct store_stmt *st;
    const char *sql = from->state == KYC_NONE
        ? "INSERT INTO kyc_status (state, tier, updated_at_ms, player_id) VALUES (?, ?, ?, ?)"
          " ON CONFLICT (player_id) DO NOTHING"
        : "UPDATE kyc_status SET state = ?, tier = ?, updated_at_ms = ?"
          " WHERE player_id = ? AND state = ? AND tier = ?";
    int rc = store_prepare(tx, sql, &st);
    if (rc != PB_OK)
        return rc;
    const char *to_name = kyc_state_name(to), *from_name = kyc_state_name(from->state);
    rc = store_bind_text(st, 1, to_name, strlen(to_name));
    rc = rc ? rc : store_bind_int64(st, 2, tier);
    rc = rc ? rc : store_bind_int64(st, 3, now_ms);
    rc = rc ? rc : store_bind_text(st, 4, player_id, strlen(player_id));
    if (from->state != KYC_NONE) {
        rc = rc ? rc : store_bind_text(st, 5, from_name, strlen(from_name));
        rc = rc ? rc : store_bind_int64(st, 6, from->tier);
    }
    rc = rc ? rc : store_step(st);
    if (rc == STORE_DONE)
        rc = store_changes(st) == 1 ? PB_OK : PB_ERR_CONFLICT;
    store_finalize(st);
    pam_player_changed(player_id); /* the wallet's KYC gate (src/rg caches it) */
    return rc;
}

static int event_append(struct store *tx, const char *player_id, const struct kyc_status *from,
                        enum kyc_state to, int tier, const char *actor, const char *reason,
                        int64_t now_ms)
{
    struct store_stmt *st;
    int rc = store_prepare(tx, "INSERT INTO kyc_events (player_id, seq, from_state, to_state,"
                               " from_tier, to_tier, actor, reason, at_ms) SELECT ?,"
                               " COALESCE(MAX(seq), 0) + 1, ?, ?, ?, ?, ?, ?, ?"
                               " FROM kyc_events WHERE player_id = ?", &st);
    if (rc != PB_OK)
        return rc;
    const char *f = kyc_state_name(from->state), *t = kyc_state_name(to);
    rc = store_bind_text(st, 1, player_id, strlen(player_id));
    rc = rc ? rc : store_bind_text(st, 2, f, strlen(f));
    rc = rc ? rc : store_bind_text(st, 3, t, strlen(t));
    rc = rc ? rc : store_bind_int64(st, 4, from->tier);
    rc = rc ? rc : store_bind_int64(st, 5, tier);
    rc = rc ? rc : store_bind_text(st, 6, actor, strlen(actor));
    rc = rc ? rc : store_bind_text(st, 7, reason, strlen(reason));
    rc = rc ? rc : store_bind_int64(st, 8, now_ms);
    rc = rc ? rc : store_bind_text(st, 9, player_id, strlen(player_id));
    rc = rc ? rc : store_step(st);
    store_finalize(st);
    return rc == STORE_DONE ? PB_OK : rc;
}

int kyc_transition(struct store *tx, const char *player_id, enum kyc_state to, int tier,
                   const char *actor, const char *reason, int64_t now_ms,
                   struct kyc_status *from, const char **why)
{
    PB_ASSERT(actor && actor[0] && strlen(actor) <= KYC_ACTOR_MAX);
    PB_ASSERT(reason && strlen(reason) <= KYC_REASON_MAX);
    struct kyc_status cur;
    if (why)
        *why = NULL;
    int rc = kyc_status_get(tx, player_id, &cur);
    if (from)
        *from = cur;
    if (rc != PB_OK)
        return rc;
    rc = kyc_transition_check(cur.state, cur.tier, to, tier, why);
    if (rc != PB_OK)
        return rc;
    rc = status_write(tx, player_id, &cur, to, tier, now_ms);
    if (rc == PB_ERR_CONFLICT && why)
        *why = "the player's KYC state changed meanwhile; retry";
    if (rc == PB_OK)
        rc = event_append(tx, player_id, &cur, to, tier, actor, reason, now_ms);
    return rc;
}

int kyc_events_list(struct store *s, const char *player_id, struct kyc_event *out, size_t max,
                    size_t *n)
{
    struct store_stmt *st;
    *n = 0;
    int rc = store_prepare(s, "SELECT seq, from_state, to_state, from_tier, to_tier, actor,"
                              " reason, at_ms FROM kyc_events WHERE player_id = ?"
                              " ORDER BY seq LIMIT ?", &st);
    if (rc != PB_OK)
        return rc;
    rc = store_bind_text(st, 1, player_id, strlen(player_id));
    rc = rc ? rc : store_bind_int64(st, 2, (int64_t)max);
    while (rc == PB_OK && (rc = store_step(st)) == STORE_ROW) {
        PB_ASSERT(*n < max);
        struct kyc_event *e = &out[(*n)++];
        e->seq = store_column_int64(st, 0);
        PB_ASSERT(kyc_state_parse(store_column_text(st, 1), &e->from) == PB_OK);
        PB_ASSERT(kyc_state_parse(store_column_text(st, 2), &e->to) == PB_OK);
        e->from_tier = (int)store_column_int64(st, 3);
        e->to_tier = (int)store_column_int64(st, 4);
        pb_strlcpy(e->actor, store_column_text(st, 5), sizeof(e->actor));
        pb_strlcpy(e->reason, store_column_text(st, 6), sizeof(e->reason));
        e->at_ms = store_column_int64(st, 7);
        rc = PB_OK;
    }
    store_finalize(st);
    return rc == STORE_DONE ? PB_OK : rc;
}

int kyc_queue(struct store *s, struct kyc_queue_entry *out, size_t max, size_t *n)
{
    struct store_stmt *st;
    *n = 0;
    int rc = store_prepare(s, "SELECT player_id, tier, updated_at_ms FROM kyc_status"
                              " WHERE state = 'pending' ORDER BY updated_at_ms, player_id"
                              " LIMIT ?", &st);
    if (rc != PB_OK)
        return rc;
    rc = store_bind_int64(st, 1, (int64_t)max);
    while (rc == PB_OK && (rc = store_step(st)) == STORE_ROW) {
        PB_ASSERT(*n < max);
        struct kyc_queue_entry *e = &out[(*n)++];
        pb_strlcpy(e->player_id, store_column_text(st, 0), sizeof(e->player_id));
        e->tier = (int)store_column_int64(st, 1);
        e->since_ms = store_column_int64(st, 2);
        rc = PB_OK;
    }
    store_finalize(st);
    return rc == STORE_DONE ? PB_OK : rc;
}

/* ---- documents ---- */

static int documents_count(struct store *s, const char *player_id, int64_t *count)
{
    struct store_stmt *st;
    int rc = store_prepare(s, "SELECT COUNT(*) FROM kyc_documents WHERE player_id = ?", &st);
    if (rc != PB_OK)
        return rc;
    rc = store_bind_text(st, 1, player_id, strlen(player_id));
    rc = rc ? rc : store_step(st);
    if (rc == STORE_ROW) {
        *count = store_column_int64(st, 0);
        rc = PB_OK;
    }
    store_finalize(st);
    return rc;
}

static int document_insert(struct store *tx, const struct kyc_document *d)
{
    struct store_stmt *st;
    int rc = store_prepare(tx, "INSERT INTO kyc_documents (id, player_id, type, reference,"
                               " status, reviewer, reason, submitted_at_ms, reviewed_at_ms)"
                               " VALUES (?, ?, ?, ?, 'submitted', '', '', ?, 0)", &st);
    if (rc != PB_OK)
        return rc;
    const char *type = kyc_doc_type_name(d->type);
    rc = store_bind_text(st, 1, d->id, strlen(d->id));
    rc = rc ? rc : store_bind_text(st, 2, d->player_id, strlen(d->player_id));
    rc = rc ? rc : store_bind_text(st, 3, type, strlen(type));
    rc = rc ? rc : store_bind_text(st, 4, d->reference, strlen(d->reference));
    rc = rc ? rc : store_bind_int64(st, 5, d->submitted_at_ms);
    rc = rc ? rc : store_step(st);
    store_finalize(st);
    return rc == STORE_DONE ? PB_OK : rc;
}

int kyc_document_submit(struct store *tx, struct kyc_document *d, struct kyc_status *status)
{
    PB_ASSERT(d->id[0] && d->player_id[0] && d->reference[0]);
    int64_t count = 0;
    int rc = documents_count(tx, d->player_id, &count);
    if (rc == PB_OK && count >= KYC_DOCUMENTS_MAX)
        return PB_ERR_FULL;
    d->status = KYC_DOC_SUBMITTED;
    d->reviewer[0] = d->reason[0] = '\0';
    d->reviewed_at_ms = 0;
    rc = rc ? rc : document_insert(tx, d);
    rc = rc ? rc : kyc_status_get(tx, d->player_id, status);
    if (rc == PB_OK && (status->state == KYC_NONE || status->state == KYC_REJECTED)) {
        rc = kyc_transition(tx, d->player_id, KYC_PENDING, 0, "player",
                            "document submitted", d->submitted_at_ms, NULL, NULL);
        PB_ASSERT(rc != PB_ERR_INVALID);
        rc = rc ? rc : kyc_status_get(tx, d->player_id, status);
        PB_ASSERT(rc != PB_OK || status->state == KYC_PENDING);
    }
    return rc;
}

int kyc_documents_list(struct store *s, const char *player_id, struct kyc_document *out,
                       size_t max, size_t *n)
{
    struct store_stmt *st;
    *n = 0;
    int rc = store_prepare(s, "SELECT id, type, reference, status, reviewer, reason,"
                              " submitted_at_ms, reviewed_at_ms FROM kyc_documents"
                              " WHERE player_id = ? ORDER BY submitted_at_ms, id LIMIT ?", &st);
    if (rc != PB_OK)
        return rc;
    rc = store_bind_text(st, 1, player_id, strlen(player_id));
    rc = rc ? rc : store_bind_int64(st, 2, (int64_t)max);
    while (rc == PB_OK && (rc = store_step(st)) == STORE_ROW) {
        PB_ASSERT(*n < max);
        struct kyc_document *d = &out[(*n)++];
        pb_strlcpy(d->id, store_column_text(st, 0), sizeof(d->id));
        pb_strlcpy(d->player_id, player_id, sizeof(d->player_id));
        PB_ASSERT(kyc_doc_type_parse(store_column_text(st, 1), &d->type) == PB_OK);
        pb_strlcpy(d->reference, store_column_text(st, 2), sizeof(d->reference));
        PB_ASSERT(kyc_doc_status_parse(store_column_text(st, 3), &d->status) == PB_OK);
        pb_strlcpy(d->reviewer, store_column_text(st, 4), sizeof(d->reviewer));
        pb_strlcpy(d->reason, store_column_text(st, 5), sizeof(d->reason));
        d->submitted_at_ms = store_column_int64(st, 6);
        d->reviewed_at_ms = store_column_int64(st, 7);
        rc = PB_OK;
    }
    store_finalize(st);
    return rc == STORE_DONE ? PB_OK : rc;
}

int kyc_documents_review(struct store *tx, const char *player_id, enum kyc_doc_status status,
                         const char *reviewer, const char *reason, int64_t now_ms, int *count)
{
    PB_ASSERT(status == KYC_DOC_ACCEPTED || status == KYC_DOC_REJECTED);
    struct store_stmt *st;
    *count = 0;
    int rc = store_prepare(tx, "UPDATE kyc_documents SET status = ?, reviewer = ?, reason = ?,"
                               " reviewed_at_ms = ? WHERE player_id = ?"
                               " AND status = 'submitted'", &st);
    if (rc != PB_OK)
        return rc;
    const char *name = kyc_doc_status_name(status);
    rc = store_bind_text(st, 1, name, strlen(name));
    rc = rc ? rc : store_bind_text(st, 2, reviewer, strlen(reviewer));
    rc = rc ? rc : store_bind_text(st, 3, reason, strlen(reason));
    rc = rc ? rc : store_bind_int64(st, 4, now_ms);
    rc = rc ? rc : store_bind_text(st, 5, player_id, strlen(player_id));
    rc = rc ? rc : store_step(st);
    if (rc == STORE_DONE) {
        *count = (int)store_changes(st);
        rc = PB_OK;
    }
    store_finalize(st);
    return rc;
}

/* ---- jurisdiction gates ---- */

int kyc_allows(struct store *s, const struct pam_config *cfg, const char *player_id,
               enum kyc_action action, bool *allowed)
{
    static const unsigned points[] = {0, PAM_KYC_DEPOSIT, PAM_KYC_WITHDRAWAL, PAM_KYC_PLAY};
    PB_ASSERT(action >= KYC_ACTION_DEPOSIT && action <= KYC_ACTION_PLAY);
    struct pam_player p;
    struct kyc_status ks;
    *allowed = false;
    int rc = pam_player_get(s, player_id, &p);
    if (rc != PB_OK)
        return rc;
    const struct pam_brand *b = pam_config_brand(cfg, p.brand);
    if (!b)
        return PB_ERR_NOT_FOUND;
    if (!(b->jurisdiction->kyc_required & points[action])) {
        *allowed = true;
        return PB_OK;
    }
    rc = kyc_status_get(s, player_id, &ks);
    *allowed = rc == PB_OK && ks.state == KYC_VERIFIED && ks.tier >= 1;
    return rc;
}

/* ---- webhooks ---- */

int kyc_webhook_record(struct store *tx, const char *provider, const char *event_id,
                       const char *player_id, int64_t now_ms, bool *seen)
{
    struct store_stmt *st;
    *seen = false;
    int rc = store_prepare(tx, "INSERT INTO kyc_webhook_events (provider, event_id, player_id,"
                               " received_at_ms) VALUES (?, ?, ?, ?)"
                               " ON CONFLICT (provider, event_id) DO NOTHING", &st);
    if (rc != PB_OK)
        return rc;
    rc = store_bind_text(st, 1, provider, strlen(provider));
    rc = rc ? rc : store_bind_text(st, 2, event_id, strlen(event_id));
    rc = rc ? rc : store_bind_text(st, 3, player_id, strlen(player_id));
    rc = rc ? rc : store_bind_int64(st, 4, now_ms);
    rc = rc ? rc : store_step(st);
    if (rc == STORE_DONE) {
        *seen = store_changes(st) == 0;
        rc = PB_OK;
    }
    store_finalize(st);
    return rc;
}

/* ---- the sandbox provider ---- */

static int sandbox_start_check(const char *player_id, char *ref, size_t reflen)
{
    char hex[17];
    pb_random_hex(hex, 8);
    snprintf(ref, reflen, "sandbox-%s-%s", player_id, hex);
    return PB_OK;
}

void kyc_sandbox_sign(const char *secret, int64_t t_s, const char *body, size_t len,
                      char out[KYC_SIGNATURE_HEADER_MAX])
{
    pb_sign_header(secret, t_s, body, len, out, KYC_SIGNATURE_HEADER_MAX);
}

static int sandbox_verify(const char *secret, const char *header, const char *body, size_t len,
                          int64_t now_s)
{
    PB_ASSERT(secret && secret[0]);
    return pb_sign_verify_header(secret, header, body, len, now_s, KYC_WEBHOOK_WINDOW_S);
}

struct sandbox_body {
    const char *event_id;
    const char *player_id;
    const char *result;
    int64_t tier;
    bool has_tier;
    const char *reason;
};

static void field_error(struct pb_json_error *err, const char *code, const char *field,
                        const char *detail)
{
    err->code = code;
    pb_strlcpy(err->field, field, sizeof(err->field));
    pb_strlcpy(err->detail, detail, sizeof(err->detail));
}

static int sandbox_parse(const char *body, size_t len, struct kyc_result *out,
                         struct pb_json_error *err)
{
    static const struct pb_json_field fields[] = {
        PB_JSON_STR(struct sandbox_body, event_id, PB_JSON_REQUIRED, 1, KYC_EVENT_ID_MAX),
        PB_JSON_STR(struct sandbox_body, player_id, PB_JSON_REQUIRED, 1, PAM_PLAYER_ID_SIZE - 1),
        PB_JSON_STR(struct sandbox_body, result, PB_JSON_REQUIRED, 1, 16),
        {"tier", PB_JSON_KIND_INT, PB_JSON_OPTIONAL, offsetof(struct sandbox_body, tier),
         offsetof(struct sandbox_body, has_tier), 0, KYC_TIER_MAX},
        PB_JSON_STR(struct sandbox_body, reason, PB_JSON_OPTIONAL, 0, KYC_REASON_MAX),
    };
    struct sandbox_body b = {0};
    json_t *root = NULL;
    memset(out, 0, sizeof(*out));
    int rc = pb_json_parse(body, len, true, &root, err);
    rc = rc ? rc : pb_json_decode(root, "", fields, PB_ARRAY_LEN(fields), &b, err);
    if (rc == PB_OK && strcmp(b.result, "verified") != 0 && strcmp(b.result, "rejected") != 0) {
        field_error(err, "out_of_range", "result", "must be verified or rejected");
        rc = PB_ERR_INVALID;
    }
    if (rc == PB_OK) {
        out->outcome = b.result[0] == 'v' ? KYC_VERIFIED : KYC_REJECTED;
        out->tier = out->outcome == KYC_VERIFIED ? (b.has_tier ? (int)b.tier : 1) : 0;
        if (out->outcome == KYC_VERIFIED && out->tier < 1) {
            field_error(err, "out_of_range", "tier", "a verified result needs tier 1 or 2");
            rc = PB_ERR_INVALID;
        }
        pb_strlcpy(out->event_id, b.event_id, sizeof(out->event_id));
        pb_strlcpy(out->player_id, b.player_id, sizeof(out->player_id));
        pb_strlcpy(out->reason, b.reason ? b.reason : "", sizeof(out->reason));
    }
    json_decref(root);
    return rc;
}

const struct kyc_provider kyc_sandbox_provider = {
    "sandbox", sandbox_start_check, sandbox_verify, sandbox_parse,
};

const struct kyc_provider *kyc_provider_find(const char *name)
{
    return strcmp(name, kyc_sandbox_provider.name) == 0 ? &kyc_sandbox_provider : NULL;
}
