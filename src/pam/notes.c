/* notes.c: staff notes on players (notes.h). One writer command per note: the player must
 * exist; the note and its audit record are written together. */
#include "pam/notes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "core/writer.h"
#include "ledger/audit.h"
#include "pam/pam.h"
#include "pam/pam_http.h"
#include "pam/staff_http.h"

const struct store_migration notes_migrations[] = {
    {"notes", 1, "staff notes on players",
     "CREATE TABLE pam_player_notes ("
     " player_id TEXT NOT NULL, seq BIGINT NOT NULL, author TEXT NOT NULL,"
     " text TEXT NOT NULL, created_at_ms BIGINT NOT NULL, PRIMARY KEY (player_id, seq));",
     NULL},
};
const size_t notes_migrations_count = PB_ARRAY_LEN(notes_migrations);

struct note_cmd {
    struct writer_cmd cmd; /* first: the server frees the struct */
    char player_id[PAM_PLAYER_ID_SIZE];
    char author[AUDIT_ACTOR_MAX + 1];
    char text[NOTES_TEXT_MAX + 1];
    int64_t now_ms, seq;
    struct http_refusal refusal;
};

static int note_run(struct store *tx, struct writer_cmd *cmd)
{
    struct note_cmd *c = (struct note_cmd *)cmd;
    struct pam_player p;
    int rc = pam_player_get(tx, c->player_id, &p);
    if (rc == PB_ERR_NOT_FOUND) {
        c->refusal = (struct http_refusal){404, "player_not_found", "no player has this id",
                                           "player_id", 0};
        return PB_ERR_CONFLICT;
    }
    if (rc != PB_OK)
        return rc;
    struct store_stmt *st;
    if (store_prepare(tx, "SELECT COALESCE(MAX(seq), 0) + 1 FROM pam_player_notes"
                          " WHERE player_id = ?", &st) != PB_OK)
        return PB_ERR_DB;
    store_bind_text(st, 1, c->player_id, strlen(c->player_id));
    rc = store_step(st);
    c->seq = rc == STORE_ROW ? store_column_int64(st, 0) : 0;
    store_finalize(st);
    if (rc != STORE_ROW)
        return PB_ERR_DB;
    if (store_prepare(tx, "INSERT INTO pam_player_notes (player_id, seq, author, text,"
                          " created_at_ms) VALUES (?, ?, ?, ?, ?)", &st) != PB_OK)
        return PB_ERR_DB;
    store_bind_text(st, 1, c->player_id, strlen(c->player_id));
    store_bind_int64(st, 2, c->seq);
    store_bind_text(st, 3, c->author, strlen(c->author));
    store_bind_text(st, 4, c->text, strlen(c->text));
    store_bind_int64(st, 5, c->now_ms);
    rc = store_step(st);
    store_finalize(st);
    if (rc != STORE_DONE)
        return PB_ERR_DB;
    int64_t id;
    char subject[16 + PAM_PLAYER_ID_SIZE], ref[32];
    snprintf(subject, sizeof(subject), "player:%s", c->player_id);
    snprintf(ref, sizeof(ref), "note:%lld", (long long)c->seq);
    if (audit_next_id(tx, &id) != PB_OK)
        return PB_ERR_DB;
    json_t *after = json_pack("{s:s}", "text", c->text);
    char *after_text = json_dumps(after, JSON_COMPACT);
    json_decref(after);
    struct audit_record r = {id,        c->now_ms * 1000000, c->author, "players.note", subject,
                             "staff note", "{}",          after_text, ref};
    rc = audit_insert(tx, &r);
    free(after_text);
    return rc == PB_OK ? PB_OK : PB_ERR_DB;
}

static void note_finish(struct http_request *req, struct writer_cmd *cmd,
                        struct http_response *resp)
{
    PB_UNUSED(req);
    struct note_cmd *c = (struct note_cmd *)cmd;
    if (http_answer_refusal(&c->refusal, cmd->status, resp))
        return;
    char at[PB_TIME_TEXT_MAX];
    pb_format_time_ms(c->now_ms, at);
    http_json(resp, 201, json_pack("{s:s,s:I,s:s,s:s,s:s}", "player_id", c->player_id, "seq",
                                   (json_int_t)c->seq, "author", c->author, "text", c->text,
                                   "created_at", at));
}

struct note_body {
    const char *text;
};

static enum http_result post_note(struct http_request *req, struct http_response *resp)
{
    static const struct pb_json_field fields[] = {
        PB_JSON_STR(struct note_body, text, PB_JSON_REQUIRED, NOTES_TEXT_MIN, NOTES_TEXT_MAX),
    };
    struct staff_principal who;
    if (staff_authenticate(req->app, req, "players.block", &who, resp) != PB_OK)
        return HTTP_DONE;
    struct note_body b = {0};
    json_t *root;
    if (!http_decode_body(req, resp, fields, PB_ARRAY_LEN(fields), &b, &root))
        return json_decref(root), HTTP_DONE;
    struct note_cmd *c = pb_calloc(1, sizeof(*c));
    c->cmd.run = note_run;
    c->now_ms = pb_wall_ms();
    pb_strlcpy(c->author, who.actor, sizeof(c->author));
    pb_strlcpy(c->text, b.text, sizeof(c->text));
    json_decref(root);
    if (!pb_strlcpy(c->player_id, req->params[0], sizeof(c->player_id))) {
        pb_free(c);
        http_problem(resp, 404, "player_not_found", "Not found", "no player has this id",
                     "player_id");
        return HTTP_DONE;
    }
    return http_submit(req, app_writer(req->app), &c->cmd, note_finish);
}

static enum http_result get_notes(struct http_request *req, struct http_response *resp)
{
    struct staff_principal who;
    if (staff_authenticate(req->app, req, "players.read", &who, resp) != PB_OK)
        return HTTP_DONE;
    struct store *s;
    if (store_pool_acquire(app_readers(req->app), PAM_HTTP_READER_WAIT_MS, &s) != PB_OK)
        return http_unavailable(resp, PB_ERR_TIMEOUT), HTTP_DONE;
    struct pam_player p;
    int rc = pam_player_get(s, req->params[0], &p);
    json_t *list = json_array();
    struct store_stmt *st = NULL;
    if (rc == PB_OK)
        rc = store_prepare(s, "SELECT seq, author, text, created_at_ms FROM pam_player_notes"
                              " WHERE player_id = ? ORDER BY seq DESC LIMIT ?", &st);
    if (rc == PB_OK) {
        store_bind_text(st, 1, req->params[0], strlen(req->params[0]));
        store_bind_int64(st, 2, NOTES_LIST_MAX);
        while ((rc = store_step(st)) == STORE_ROW) {
            char at[PB_TIME_TEXT_MAX];
            pb_format_time_ms(store_column_int64(st, 3), at);
            json_array_append_new(list, json_pack("{s:I,s:s,s:s,s:s}", "seq",
                                                  (json_int_t)store_column_int64(st, 0),
                                                  "author", store_column_text(st, 1), "text",
                                                  store_column_text(st, 2), "created_at", at));
        }
        rc = rc == STORE_DONE ? PB_OK : PB_ERR_DB;
        store_finalize(st);
    }
    store_pool_release(app_readers(req->app), s);
    if (rc == PB_OK) {
        http_json(resp, 200, json_pack("{s:s,s:o}", "player_id", req->params[0], "notes", list));
        return HTTP_DONE;
    }
    json_decref(list);
    if (rc == PB_ERR_NOT_FOUND)
        http_problem(resp, 404, "player_not_found", "Not found", "no player has this id",
                     "player_id");
    else
        http_unavailable(resp, rc);
    return HTTP_DONE;
}

const struct http_route notes_routes[] = {
    {HTTP_GET, "/api/v1/admin/players/{player_id}/notes", get_notes, 0},
    {HTTP_POST, "/api/v1/admin/players/{player_id}/notes", post_note, HTTP_ROUTE_JSON_BODY},
};
const size_t notes_routes_count = PB_ARRAY_LEN(notes_routes);
