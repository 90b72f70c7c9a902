/* unit.h: what the unit tests share (cmocka): fresh databases on both engines, running a
 * step as one writer command, and PBT_BOTH/PBT_PAIR, which run one behaviour on SQLite and,
 * when PITBOSS_TEST_PG names a server, on PostgreSQL (said and skipped when it does not). */
#ifndef PB_TEST_UNIT_H
#define PB_TEST_UNIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
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

/* A database with the outbox and ledger schemas, a writer whose participant is the ledger,
 * and a reader connection: the scaffolding of the tests whose steps move money. */
struct ledger;
struct pbt_schema {
    const struct store_migration *list;
    size_t count;
};
struct pbt_ledger_db {
    char url[600];
    struct ledger *lg;
    struct writer *w;
    struct store *rd;
};
/* A fresh database (pbt_fresh_database with prefix) migrated with the outbox and ledger
 * schemas and then the n schemas extra (in order), a ledger, a writer with the ledger as
 * participant and a reader on it. */
void pbt_ledger_start(struct pbt_ledger_db *db, bool postgres, const char *prefix,
                      const struct pbt_schema *extra, size_t n);
/* Opens player's EUR accounts and, when amount > 0, credits amount to the cash account
 * from the house adjustments account (a posted deposit, reference "test:funds"), as one
 * writer command; asserts it succeeded. */
void pbt_ledger_fund(struct pbt_ledger_db *db, const char *player, int64_t amount);
/* The posted balance of player's cash account (owner "player:<player>"); fails the test
 * when there is none. */
int64_t pbt_cash(const struct pbt_ledger_db *db, const char *player);
/* Asserts ledger_verify passes on the reader, then closes the reader, stops the writer
 * and frees the ledger. */
void pbt_ledger_stop(struct pbt_ledger_db *db);

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
