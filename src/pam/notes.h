/* notes.h: staff notes on a player (back office profile): free text written by staff, kept
 * forever, newest first. Part of module pam; routes in notes.c:
 *   GET  /api/v1/admin/players/{player_id}/notes   (players.read)
 *   POST /api/v1/admin/players/{player_id}/notes   (players.block: support, risk,
 *        compliance; {"text"}; audited as "players.note")
 * A note is never edited or deleted: a correction is a new note. */
#ifndef PB_PAM_NOTES_H
#define PB_PAM_NOTES_H

#include <stddef.h>

#include "http/http.h"
#include "store/store.h"

#define NOTES_TEXT_MIN 1
#define NOTES_TEXT_MAX 2000  /* a paragraph or two; longer goes in a case file */
#define NOTES_LIST_MAX 100   /* newest notes shown on a profile */

extern const struct store_migration notes_migrations[];
extern const size_t notes_migrations_count;

extern const struct http_route notes_routes[];
extern const size_t notes_routes_count;

#endif
