/* schema.c: the responsible-gaming tables (module "rg" migrations). Design: rg.h, docs/rg.md.
 *
 * rg_limits      one row per (player, kind, window, currency): the value in force, a pending
 *                change (value and the time it takes effect) and when it was set.
 * rg_activity    running totals per (player, currency): one row per guarded group with the
 *                cumulative stakes, wins and deposits after it, so usage over any window is a
 *                difference of two rows. Append-only. Since version 2 one B-tree keyed
 *                (player, currency, at_ms, seq) (SQLite: WITHOUT ROWID) serves every lookup,
 *                so a group's row costs one index insert instead of three (table, primary key
 *                and time index); seq stays unique per (player, currency) by construction.
 * rg_exclusions  every time-out and self-exclusion (history; never updated or deleted).
 * rg_players     per-player settings and state: the deposit-limit prompt answer, the
 *                reality-check interval (-1: the rule set's), the start of the last slot
 *                game cycle, deposits made while losing (the chasing-losses marker).
 * rg_reality     per session: reality checks sent, next one due, the last acknowledgement. */
#include "base/base.h"
#include "rg/rg.h"

const struct store_migration rg_migrations[] = {
    {"rg", 1, "limits, activity, exclusions, player settings, reality checks",
     "CREATE TABLE rg_limits ("
     " player_id TEXT NOT NULL, kind INTEGER NOT NULL, win INTEGER NOT NULL,"
     " currency TEXT NOT NULL, value BIGINT NOT NULL, pending_value BIGINT NOT NULL,"
     " pending_at_ms BIGINT NOT NULL, set_at_ms BIGINT NOT NULL,"
     " PRIMARY KEY (player_id, kind, win, currency));"
     "CREATE TABLE rg_activity ("
     " player_id TEXT NOT NULL, currency TEXT NOT NULL, seq BIGINT NOT NULL,"
     " at_ms BIGINT NOT NULL, stakes BIGINT NOT NULL, wins BIGINT NOT NULL,"
     " deposits BIGINT NOT NULL, PRIMARY KEY (player_id, currency, seq));"
     "CREATE INDEX rg_activity_time ON rg_activity (player_id, currency, at_ms, seq);"
     "CREATE TABLE rg_exclusions ("
     " player_id TEXT NOT NULL, seq BIGINT NOT NULL, kind INTEGER NOT NULL,"
     " from_ms BIGINT NOT NULL, until_ms BIGINT NOT NULL, actor TEXT NOT NULL,"
     " PRIMARY KEY (player_id, seq));"
     "CREATE TABLE rg_players ("
     " player_id TEXT PRIMARY KEY, prompt_answered INTEGER NOT NULL,"
     " reality_minutes INTEGER NOT NULL, last_slot_cycle_ms BIGINT NOT NULL,"
     " chase_from_ms BIGINT NOT NULL, chase_deposits INTEGER NOT NULL);"
     "CREATE TABLE rg_reality ("
     " session_id TEXT PRIMARY KEY, player_id TEXT NOT NULL, sent INTEGER NOT NULL,"
     " next_due_ms BIGINT NOT NULL, last_sent_ms BIGINT NOT NULL, acked_ms BIGINT NOT NULL,"
     " ack_action TEXT NOT NULL, long_marked INTEGER NOT NULL);",
     NULL},
    {"rg", 2, "activity rows in one B-tree keyed by player, currency, time",
     "CREATE TABLE rg_activity_v2 ("
     " player_id TEXT NOT NULL, currency TEXT NOT NULL, at_ms BIGINT NOT NULL,"
     " seq BIGINT NOT NULL, stakes BIGINT NOT NULL, wins BIGINT NOT NULL,"
     " deposits BIGINT NOT NULL, PRIMARY KEY (player_id, currency, at_ms, seq))"
     " WITHOUT ROWID;"
     "INSERT INTO rg_activity_v2 (player_id, currency, at_ms, seq, stakes, wins, deposits)"
     " SELECT player_id, currency, at_ms, seq, stakes, wins, deposits FROM rg_activity;"
     "DROP TABLE rg_activity;"
     "ALTER TABLE rg_activity_v2 RENAME TO rg_activity;",
     "CREATE TABLE rg_activity_v2 ("
     " player_id TEXT NOT NULL, currency TEXT NOT NULL, at_ms BIGINT NOT NULL,"
     " seq BIGINT NOT NULL, stakes BIGINT NOT NULL, wins BIGINT NOT NULL,"
     " deposits BIGINT NOT NULL, PRIMARY KEY (player_id, currency, at_ms, seq));"
     "INSERT INTO rg_activity_v2 (player_id, currency, at_ms, seq, stakes, wins, deposits)"
     " SELECT player_id, currency, at_ms, seq, stakes, wins, deposits FROM rg_activity;"
     "DROP TABLE rg_activity;"
     "ALTER TABLE rg_activity_v2 RENAME TO rg_activity;"},
};
const size_t rg_migrations_count = PB_ARRAY_LEN(rg_migrations);
