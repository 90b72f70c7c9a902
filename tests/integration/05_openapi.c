/* 05_openapi.c: the server and docs/openapi.yaml agree: every route the binary serves is
 * documented, and every documented operation is served. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define OPS_MAX 512

struct ops {
    char items[OPS_MAX][600];
    int n;
};

static void add(struct ops *o, const char *method, const char *path)
{
    assert_true(o->n < OPS_MAX);
    snprintf(o->items[o->n++], sizeof(o->items[0]), "%s %s", method, path);
}

static bool has(const struct ops *o, const char *item)
{
    for (int i = 0; i < o->n; i++)
        if (strcmp(o->items[i], item) == 0)
            return true;
    return false;
}

/* Reads "  /path:" and "    get:" lines between "paths:" and the next top-level key. */
static void documented(struct ops *o)
{
    char path[512], line[1024], current[256] = "";
    snprintf(path, sizeof(path), "%s/docs/openapi.yaml", getenv("PITBOSS_SOURCE_DIR"));
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    bool in_paths = false;
    static const char *const methods[] = {"get", "head", "post", "put", "patch", "delete",
                                          "options"};
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] != ' ' && line[0] != '\0') {
            in_paths = strcmp(line, "paths:") == 0;
            continue;
        }
        if (!in_paths)
            continue;
        size_t len = strlen(line);
        if (strncmp(line, "  /", 3) == 0 && line[len - 1] == ':') {
            snprintf(current, sizeof(current), "%.*s", (int)(len - 3), line + 2);
            continue;
        }
        for (size_t m = 0; m < sizeof(methods) / sizeof(methods[0]); m++) {
            char want[32];
            snprintf(want, sizeof(want), "    %s:", methods[m]);
            if (strcmp(line, want) == 0) {
                char upper[16];
                size_t k = 0;
                for (; methods[m][k]; k++)
                    upper[k] = (char)(methods[m][k] - 32);
                upper[k] = '\0';
                add(o, upper, current);
            }
        }
    }
    fclose(f);
}

static void served(struct ops *o)
{
    char cmd[600], line[512];
    snprintf(cmd, sizeof(cmd), "PITBOSS_DIAGNOSTICS=1 '%s' routes", getenv("PITBOSS_BIN"));
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    while (fgets(line, sizeof(line), p)) {
        line[strcspn(line, "\r\n")] = '\0';
        char *sp = strchr(line, ' ');
        assert_non_null(sp);
        *sp = '\0';
        add(o, line, sp + 1);
    }
    assert_int_equal(pclose(p), 0);
}

static void test_every_route_is_documented_and_every_operation_served(void **state)
{
    (void)state;
    static struct ops doc, srv;
    documented(&doc);
    served(&srv);
    assert_true(srv.n >= 5);
    int missing = 0;
    for (int i = 0; i < srv.n; i++)
        if (!has(&doc, srv.items[i])) {
            printf("served but not in docs/openapi.yaml: %s\n", srv.items[i]);
            missing++;
        }
    for (int i = 0; i < doc.n; i++)
        if (!has(&srv, doc.items[i])) {
            printf("in docs/openapi.yaml but not served: %s\n", doc.items[i]);
            missing++;
        }
    assert_int_equal(missing, 0);
    assert_int_equal(doc.n, srv.n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_route_is_documented_and_every_operation_served),
    };
    return cmocka_run_group_tests_name("integration.openapi", tests, NULL, NULL);
}
