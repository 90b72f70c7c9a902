/* unit.h: what the unit tests share (cmocka): fresh databases on both engines, running a
 * step as one writer command, and PBT_BOTH/PBT_PAIR, which run one behaviour on SQLite and,
 * when PITBOSS_TEST_PG names a server, on PostgreSQL (said and skipped when it does not). */
#ifndef PB_TEST_UNIT_H
#define PB_TEST_UNIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/writer.h"
#include "store/store.h"

/* A new empty database: the SQLite file $PITBOSS_TEST_TMP/<prefix>_<pid>_<n>.db, or the
 * PostgreSQL database <prefix>_<pid>_<n> on $PITBOSS_TEST_PG. url (len bytes) gets its URL. */
void pbt_fresh_database(bool postgres, const char *prefix, char *url, size_t len);
/* Opens url, asserting success. */
struct store *pbt_open(const char *url);
/* Applies a migration list to the database at url, asserting success. */
void pbt_migrate(const char *url, const struct store_migration *list, size_t count);

/* Starts a writer (batches of 64, queue of 1024) over a new connection to url, with the
 * participant p when not NULL. */
struct writer *pbt_start_writer(const char *url, const struct writer_participant *p);

/* Runs fn(tx, arg) as one writer command on w and waits; returns the command's status. */
typedef int (*pbt_step_fn)(struct store *tx, void *arg);
int pbt_run(struct writer *w, pbt_step_fn fn, void *arg);

/* Defines test_sqlite_NAME and test_postgres_NAME from a function NAME(bool postgres). */
#define PBT_BOTH(fn)                                                                           \
    static void test_sqlite_##fn(void **state)                                                 \
    {                                                                                          \
        (void)state;                                                                           \
        fn(false);                                                                             \
    }                                                                                          \
    static void test_postgres_##fn(void **state)                                               \
    {                                                                                          \
        (void)state;                                                                           \
        if (!getenv("PITBOSS_TEST_PG")) {                                                      \
            printf("# PITBOSS_TEST_PG is not set: the PostgreSQL half was not run\n");          \
            skip();                                                                            \
        }                                                                                      \
        fn(true);                                                                              \
    }
#define PBT_PAIR(fn) cmocka_unit_test(test_sqlite_##fn), cmocka_unit_test(test_postgres_##fn)

#endif
