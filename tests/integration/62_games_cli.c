/* 62_games_cli.c: the real binary's games, rng and fair subcommands (no database): the
 * catalogue lists the embedded slots, fair verify prints the outcome a player recomputes
 * (values from Python's hmac/hashlib, see docs/fairness.md), rng dump writes exactly N bytes,
 * bad arguments exit 2. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>

/* Runs "$PITBOSS_BIN args" through the shell; out gets stdout; returns the exit status. */
static int run(const char *args, char *out, size_t cap, size_t *len)
{
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "'%s' %s 2>/dev/null", getenv("PITBOSS_BIN"), args);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    *len = fread(out, 1, cap - 1, p);
    out[*len] = '\0';
    int status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

#define SEED "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static void test_games_list_and_rtp(void **state)
{
    (void)state;
    static char out[1 << 16];
    size_t len;
    assert_int_equal(run("games list", out, sizeof(out), &len), 0);
    const char *ids[] = {"dice", "roulette", "lucky-sevens", "golden-reef", "desert-ways"};
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
        assert_non_null(strstr(out, ids[i]));
    assert_int_equal(run("games rtp lucky-sevens --exact", out, sizeof(out), &len), 0);
    assert_non_null(strstr(out, "exact: rtp 95.1875%  hit frequency 39.7125%  sd 2.2416"));
    /* RTP variants: listed, and each computed on its own reels */
    assert_int_equal(run("games list", out, sizeof(out), &len), 0);
    assert_non_null(strstr(out, "95.1875% (95) | 94.1875% (94) | 96.7500% (96)"));
    assert_int_equal(run("games rtp lucky-sevens --variant 94 --exact --simulate 100000 --seed 3",
                         out, sizeof(out), &len), 0);
    assert_non_null(strstr(out, "variant 94"));
    assert_non_null(strstr(out, "declared rtp_ppm 941875: matches (exact 941875)"));
    assert_non_null(strstr(out, "simulated: 100000 rounds (seed 3)"));
    assert_int_equal(run("games rtp lucky-sevens --variant 97", out, sizeof(out), &len), 1);
    assert_int_equal(run("games rtp dice --variant standard", out, sizeof(out), &len), 0);
    assert_int_equal(run("games rtp dice --variant 94", out, sizeof(out), &len), 1);
    assert_int_equal(run("games rtp nothing", out, sizeof(out), &len), 1);
    assert_int_equal(run("games", out, sizeof(out), &len), 2);
}

static void test_fair_verify(void **state)
{
    (void)state;
    char out[4096];
    size_t len;
    assert_int_equal(run("fair verify --game dice --server-seed " SEED
                         " --client-seed lucky --nonce 7", out, sizeof(out), &len), 0);
    assert_string_equal(out, "{\"client_seed\": \"lucky\", \"game\": \"dice\", \"nonce\": 7,"
                             " \"outcome\": {\"roll\": \"89.79\", \"roll_hundredths\": 8979},"
                             " \"server_seed_hash\": \"a8ae6e6ee929abea3afcfc5258c8ccd6f85273e0"
                             "d4626d26c7279f3250f77c8e\"}\n");
    assert_int_equal(run("fair verify --game crash --server-seed " SEED
                         " --client-seed lucky --nonce 7", out, sizeof(out), &len), 2);
    assert_int_equal(run("fair verify --game dice --server-seed " SEED
                         " --client-seed 'two words' --nonce 7", out, sizeof(out), &len), 2);
}

static void test_rng(void **state)
{
    (void)state;
    static char out[1 << 20];
    size_t len;
    assert_int_equal(run("rng dump --bytes 100000", out, sizeof(out), &len), 0);
    assert_int_equal(len, 100000);
    assert_int_equal(run("rng sample --range 37 --count 1000", out, sizeof(out), &len), 0);
    int lines = 0;
    for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
        int v = atoi(line);
        assert_true(v >= 0 && v < 37);
        lines++;
    }
    assert_int_equal(lines, 1000);
    assert_int_equal(run("rng sample --range 0 --count 3", out, sizeof(out), &len), 2);
    assert_int_equal(run("rng dump", out, sizeof(out), &len), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_games_list_and_rtp),
        cmocka_unit_test(test_fair_verify),
        cmocka_unit_test(test_rng),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
