/* 49_notes_api.c: staff notes on players (src/pam/notes.h) against the real binary: a note
 * is added and listed newest first with its author and time, audited; bad input names the
 * field and writes nothing; an unknown player is 404; no staff credential is 401. Which
 * roles may read and write is checked by 46_staff_api's permission matrix. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "client.h"
#include "fixtures.h"
#include "pam/pam.h"

#define STAFF "staff-token-for-notes-tests-0123456789"

static const char *const env[] = {"PITBOSS_STAFF_TOKEN=" STAFF, NULL};

static void test_notes_are_added_listed_and_audited(void **state)
{
    (void)state;
    struct pb_server srv;
    pb_server_start(&srv, env);
    char id[PAM_PLAYER_ID_SIZE], path[160];
    pb_player_new(&srv, "demo", "noted@example.com", "EUR", id, sizeof(id), NULL, 0);
    snprintf(path, sizeof(path), "/api/v1/admin/players/%s/notes", id);
    json_t *doc = pb_call_json(&srv, "GET", path, NULL, STAFF, NULL, 200);
    assert_int_equal(json_array_size(json_object_get(doc, "notes")), 0);
    json_decref(doc);
    doc = pb_call_json(&srv, "POST", path, "{\"text\":\"called about a late withdrawal\"}",
                       STAFF, NULL, 201);
    assert_int_equal(pb_int_at(doc, "seq"), 1);
    assert_string_equal(pb_str_at(doc, "author"), "staff");
    json_decref(doc);
    doc = pb_call_json(&srv, "POST", path, "{\"text\":\"second \\u00e9t\\u00e9 note\"}", STAFF,
                       NULL, 201);
    json_decref(doc);
    doc = pb_call_json(&srv, "GET", path, NULL, STAFF, NULL, 200);
    json_t *notes = json_object_get(doc, "notes");
    assert_int_equal(json_array_size(notes), 2);
    json_t *first = json_array_get(notes, 0);
    assert_int_equal(pb_int_at(first, "seq"), 2); /* newest first */
    assert_string_equal(pb_str_at(first, "text"), "second \xc3\xa9t\xc3\xa9 note");
    assert_true(strlen(pb_str_at(json_array_get(notes, 1), "created_at")) > 10);
    json_decref(doc);
    /* bad input names the field and writes nothing */
    pb_expect_problem(&srv, "POST", path, "{\"text\":\"\"}", STAFF, NULL, 400,
                      "validation_failed", "text");
    pb_expect_problem(&srv, "POST", path, "{\"text\":\"x\",\"pin\":true}", STAFF, NULL, 400,
                      "validation_failed", "pin");
    pb_expect_problem(&srv, "POST", path, "{}", STAFF, NULL, 400, "validation_failed", "text");
    char *long_text = malloc(2100 + 32);
    snprintf(long_text, 32, "{\"text\":\"");
    memset(long_text + strlen(long_text), 'a', 2001);
    strcpy(long_text + 9 + 2001, "\"}");
    pb_expect_problem(&srv, "POST", path, long_text, STAFF, NULL, 400, "validation_failed",
                      "text");
    free(long_text);
    doc = pb_call_json(&srv, "GET", path, NULL, STAFF, NULL, 200);
    assert_int_equal(json_array_size(json_object_get(doc, "notes")), 2);
    json_decref(doc);
    /* unknown player, no credential */
    pb_expect_problem(&srv, "POST", "/api/v1/admin/players/000000000000000000000000/notes",
                      "{\"text\":\"x\"}", STAFF, NULL, 404, "player_not_found", "player_id");
    pb_expect_problem(&srv, "GET", "/api/v1/admin/players/000000000000000000000000/notes",
                      NULL, STAFF, NULL, 404, "player_not_found", "player_id");
    pb_expect_problem(&srv, "GET", path, NULL, NULL, NULL, 401, "unauthorized", NULL);
    /* audited */
    doc = pb_call_json(&srv, "GET", "/api/v1/admin/audit", NULL, STAFF, NULL, 200);
    char *audit = json_dumps(doc, 0);
    assert_non_null(strstr(audit, "players.note"));
    free(audit);
    json_decref(doc);
    pb_server_stop(&srv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_notes_are_added_listed_and_audited),
    };
    return cmocka_run_group_tests_name("integration.notes_api", tests, NULL, NULL);
}
