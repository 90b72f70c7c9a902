/* reconcile.c: a PSP statement against pitboss's payments (payments.h, docs/payments.md
 * "Reconciliation") and the `pitboss payments reconcile` subcommand. Read-only. */
#include "payments/payments.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"

#define STATEMENT_FILE_MAX (64 * 1024 * 1024) /* 100000 rows of < 200 bytes, with room */

struct srow {
    char reference[PAYMENTS_REFERENCE_MAX + 1];
    bool payout;
    int64_t amount_minor;
    char status[16];
    bool matched;
};

static int by_reference(const void *a, const void *b)
{
    return strcmp(((const struct srow *)a)->reference, ((const struct srow *)b)->reference);
}

static int bad(struct pb_buf *out, const char *what, size_t row)
{
    pb_buf_printf(out, "statement: row %zu: %s\n", row + 1, what);
    return PB_ERR_INVALID;
}

static int row_set(struct srow *r, const char *reference, const char *kind, int64_t amount,
                   const char *status, struct pb_buf *out, size_t i)
{
    if (!reference || !*reference || strlen(reference) > PAYMENTS_REFERENCE_MAX)
        return bad(out, "reference missing or too long", i);
    if (!kind || (strcmp(kind, "deposit") != 0 && strcmp(kind, "payout") != 0))
        return bad(out, "kind must be deposit or payout", i);
    if (amount <= 0)
        return bad(out, "amount_minor must be a positive integer", i);
    if (!status || strlen(status) >= sizeof(r->status))
        return bad(out, "status missing or too long", i);
    pb_strlcpy(r->reference, reference, sizeof(r->reference));
    r->payout = kind[0] == 'p';
    r->amount_minor = amount;
    pb_strlcpy(r->status, status, sizeof(r->status));
    return PB_OK;
}

static int parse_json(const char *text, size_t len, struct srow **rows, size_t *n,
                      struct pb_buf *out)
{
    json_error_t jerr;
    json_t *root = json_loadb(text, len, 0, &jerr);
    json_t *list = json_object_get(root, "rows");
    int rc = PB_OK;
    if (!json_is_array(list)) {
        pb_buf_printf(out, "statement: not a JSON object with a rows array (%s)\n", jerr.text);
        json_decref(root);
        return PB_ERR_INVALID;
    }
    if (json_array_size(list) > PAYMENTS_RECONCILE_ROWS_MAX) {
        json_decref(root);
        return bad(out, "more rows than PAYMENTS_RECONCILE_ROWS_MAX", PAYMENTS_RECONCILE_ROWS_MAX);
    }
    *rows = pb_calloc(json_array_size(list) + 1, sizeof(**rows));
    for (size_t i = 0; i < json_array_size(list) && rc == PB_OK; i++) {
        json_t *o = json_array_get(list, i);
        json_t *amount = json_object_get(o, "amount_minor");
        rc = row_set(&(*rows)[i], json_string_value(json_object_get(o, "reference")),
                     json_string_value(json_object_get(o, "kind")),
                     json_is_integer(amount) ? (int64_t)json_integer_value(amount) : 0,
                     json_string_value(json_object_get(o, "status")), out, i);
        *n = i + 1;
    }
    json_decref(root);
    return rc;
}

/* CSV: header "reference,kind,amount_minor,currency,status", then plain fields (no quoting:
 * references, kinds, amounts and statuses hold no commas). */
static int parse_csv(const char *text, size_t len, struct srow **rows, size_t *n,
                     struct pb_buf *out)
{
    char *copy = pb_strndup(text, len);
    char *save = NULL;
    int rc = PB_OK;
    size_t cap = 0;
    *rows = NULL;
    char *line = strtok_r(copy, "\r\n", &save);
    if (!line || strcmp(line, "reference,kind,amount_minor,currency,status") != 0) {
        pb_free(copy);
        pb_buf_puts(out, "statement: CSV header must be "
                         "reference,kind,amount_minor,currency,status\n");
        return PB_ERR_INVALID;
    }
    while (rc == PB_OK && (line = strtok_r(NULL, "\r\n", &save)) != NULL) {
        if (*n == PAYMENTS_RECONCILE_ROWS_MAX) {
            rc = bad(out, "more rows than PAYMENTS_RECONCILE_ROWS_MAX", *n);
            break;
        }
        if (*n == cap) {
            cap = cap ? cap * 2 : 64;
            *rows = pb_realloc(*rows, cap * sizeof(**rows));
        }
        char *f[5] = {0}, *s2 = NULL;
        int k = 0;
        for (char *p = strtok_r(line, ",", &s2); p && k < 5; p = strtok_r(NULL, ",", &s2))
            f[k++] = p;
        char *end = NULL;
        errno = 0;
        long long amount = k == 5 ? strtoll(f[2], &end, 10) : 0;
        if (k != 5 || errno || !end || *end)
            amount = 0;
        memset(&(*rows)[*n], 0, sizeof(**rows));
        rc = row_set(&(*rows)[*n], f[0], f[1], amount, f[4], out, *n);
        (*n)++;
    }
    pb_free(copy);
    return rc;
}

/* The statement status pitboss's state corresponds to. */
static const char *deposit_status(int state)
{
    switch (state) {
    case PAYMENTS_DEP_SUCCEEDED: return "succeeded";
    case PAYMENTS_DEP_FAILED: return "failed";
    case PAYMENTS_DEP_EXPIRED: return "expired";
    default: return "pending";
    }
}

static const char *payout_status(int state)
{
    switch (state) {
    case PAYMENTS_WDR_COMPLETED: return "succeeded";
    case PAYMENTS_WDR_FAILED: return "failed";
    default: return "pending";
    }
}

static int compare(struct store *s, const char *psp, bool payouts, struct srow *rows,
                   size_t n, struct pb_buf *out, int *mismatches)
{
    struct store_stmt *st;
    const char *sql = payouts ? "SELECT reference, amount_minor, state FROM payment_withdrawals"
                                " WHERE psp = ? AND state IN (4, 5, 6) ORDER BY reference"
                              : "SELECT reference, amount_minor, state FROM payment_deposits"
                                " WHERE psp = ? ORDER BY reference";
    if (store_prepare(s, sql, &st) != PB_OK)
        return PB_ERR_DB;
    store_bind_text(st, 1, psp, strlen(psp));
    int rc;
    const char *kind = payouts ? "payout" : "deposit";
    while ((rc = store_step(st)) == STORE_ROW) {
        struct srow key;
        pb_strlcpy(key.reference, store_column_text(st, 0), sizeof(key.reference));
        int64_t amount = store_column_int64(st, 1);
        int state = (int)store_column_int64(st, 2);
        const char *status = payouts ? payout_status(state) : deposit_status(state);
        struct srow *r = n ? bsearch(&key, rows, n, sizeof(*rows), by_reference) : NULL;
        if (!r || r->payout != payouts) {
            pb_buf_printf(out, "missing_at_psp %s %s amount_minor=%lld status=%s\n", kind,
                          key.reference, (long long)amount, status);
            ++*mismatches;
            continue;
        }
        r->matched = true;
        if (r->amount_minor != amount) {
            pb_buf_printf(out, "amount_differs %s %s ledger=%lld psp=%lld\n", kind,
                          key.reference, (long long)amount, (long long)r->amount_minor);
            ++*mismatches;
        }
        if (strcmp(r->status, status) != 0) {
            pb_buf_printf(out, "status_differs %s %s ledger=%s psp=%s\n", kind, key.reference,
                          status, r->status);
            ++*mismatches;
        }
    }
    store_finalize(st);
    return rc == STORE_DONE ? PB_OK : PB_ERR_DB;
}

int payments_reconcile(struct store *s, const char *psp, const char *statement, size_t len,
                       struct pb_buf *out, int *mismatches)
{
    struct srow *rows = NULL;
    size_t n = 0;
    *mismatches = 0;
    size_t skip = strspn(statement, " \t\r\n");
    int rc = skip < len && statement[skip] == '{' ? parse_json(statement, len, &rows, &n, out)
                                                   : parse_csv(statement, len, &rows, &n, out);
    if (rc == PB_OK && n > 0) { /* a header-only CSV has no rows (rows NULL) */
        qsort(rows, n, sizeof(*rows), by_reference);
        for (size_t i = 1; i < n && rc == PB_OK; i++)
            if (strcmp(rows[i].reference, rows[i - 1].reference) == 0)
                rc = bad(out, "reference appears twice", i);
    }
    rc = rc ? rc : compare(s, psp, false, rows, n, out, mismatches);
    rc = rc ? rc : compare(s, psp, true, rows, n, out, mismatches);
    for (size_t i = 0; rc == PB_OK && i < n; i++) {
        if (rows[i].matched)
            continue;
        pb_buf_printf(out, "missing_in_ledger %s %s amount_minor=%lld status=%s\n",
                      rows[i].payout ? "payout" : "deposit", rows[i].reference,
                      (long long)rows[i].amount_minor, rows[i].status);
        ++*mismatches;
    }
    if (rc == PB_OK)
        pb_buf_printf(out, "%s: %zu statement rows, %d mismatches\n",
                      *mismatches ? "MISMATCH" : "OK", n, *mismatches);
    pb_free(rows);
    return rc;
}

static int read_file(const char *path, struct pb_buf *text)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return PB_ERR_IO;
    char chunk[8192];
    size_t got;
    int rc = PB_OK;
    while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        pb_buf_append(text, chunk, got);
        if (text->len > STATEMENT_FILE_MAX) {
            rc = PB_ERR_TOO_LARGE;
            break;
        }
    }
    fclose(f);
    return rc;
}

int payments_cli(const char *db_url, int argc, char **argv)
{
    const char *psp = NULL, *file = NULL;
    if (argc < 1 || strcmp(argv[0], "reconcile") != 0)
        goto usage;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--psp") == 0 && i + 1 < argc)
            psp = argv[++i];
        else if (strcmp(argv[i], "--statement") == 0 && i + 1 < argc)
            file = argv[++i];
        else
            goto usage;
    }
    if (!psp || !file)
        goto usage;
    struct pb_buf text = PB_BUF_INIT, report = PB_BUF_INIT;
    if (read_file(file, &text) != PB_OK) {
        fprintf(stderr, "pitboss: cannot read %s (missing, unreadable or larger than 64 MiB)\n",
                file);
        pb_buf_release(&text);
        return 2;
    }
    struct store *s;
    char err[256];
    if (store_open(db_url, &s, err, sizeof(err)) != PB_OK) {
        fprintf(stderr, "pitboss: cannot open the database: %s\n", err);
        pb_buf_release(&text);
        return 1;
    }
    int mismatches = 0;
    int rc = payments_reconcile(s, psp, pb_buf_str(&text), text.len, &report, &mismatches);
    store_close(s);
    fputs(pb_buf_str(&report), rc == PB_ERR_INVALID ? stderr : stdout);
    pb_buf_release(&text);
    pb_buf_release(&report);
    if (rc == PB_ERR_DB)
        fprintf(stderr, "pitboss: cannot read the payments tables\n");
    return rc == PB_ERR_INVALID ? 2 : rc != PB_OK || mismatches ? 1 : 0;
usage:
    fprintf(stderr, "usage: pitboss payments reconcile --psp NAME --statement FILE\n");
    return 2;
}
