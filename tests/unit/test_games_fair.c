/* test_games_fair.c: the provably-fair verifiers and the command-line tools (fair verify,
 * rng dump, rng sample, games rtp) against values computed independently: Python's
 * hashlib.sha256(server_seed) for the commitment and hmac.new(server_seed,
 * b"client:nonce:0", sha256) for the first float, then floor(f * 10001) or floor(f * 37). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/base.h"
#include "games/games.h"

static const char *const seed_a =
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
static const char *const seed_b =
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/* Runs fn(argc, argv) in a child with stdout into out (cap bytes); returns its exit status. */
static int capture(int (*fn)(int, char **), int argc, char **argv, char *out, size_t cap,
                   size_t *len)
{
    int p[2];
    assert_int_equal(pipe(p), 0);
    fflush(stdout);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        dup2(p[1], 1);
        FILE *devnull = freopen("/dev/null", "w", stderr);
        PB_UNUSED(devnull);
        int rc = fn(argc, argv);
        fflush(stdout);
        _exit(rc);
    }
    close(p[1]);
    size_t n = 0;
    ssize_t got;
    while ((got = read(p[0], out + n, cap - 1 - n)) > 0)
        n += (size_t)got;
    close(p[0]);
    out[n] = '\0';
    *len = n;
    int status;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_verifiers_match_independent_values(void **state)
{
    (void)state;
    struct rng_fair f;
    const struct fair_verifier *dice = fair_verifier_find("dice");
    const struct fair_verifier *roulette = fair_verifier_find("roulette");
    assert_non_null(dice);
    assert_non_null(roulette);
    assert_null(fair_verifier_find("golden-reef")); /* slots are not provably fair */
    assert_int_equal(rng_fair_init(&f, seed_a, "player", 0), PB_OK);
    json_t *o = dice->outcome(&f);
    assert_string_equal(json_string_value(json_object_get(o, "roll")), "24.39");
    json_decref(o);
    assert_int_equal(rng_fair_init(&f, seed_b, "lucky", 7), PB_OK); /* f = 0.89786... */
    o = roulette->outcome(&f);
    assert_int_equal(json_integer_value(json_object_get(o, "pocket")), 33);
    assert_string_equal(json_string_value(json_object_get(o, "color")), "black");
    json_decref(o);
    assert_int_equal(rng_fair_init(&f, seed_b, "lucky", 42), PB_OK); /* f = 0.86856... */
    o = roulette->outcome(&f);
    assert_int_equal(json_integer_value(json_object_get(o, "pocket")), 32);
    assert_string_equal(json_string_value(json_object_get(o, "color")), "red");
    json_decref(o);
    /* every provably-fair catalogue game has a verifier */
    for (size_t i = 0; i < games_count(); i++)
        if (games_at(i)->provably_fair)
            assert_non_null(fair_verifier_find(games_at(i)->id));
}

static void test_fair_verify_command(void **state)
{
    (void)state;
    char out[4096];
    size_t len;
    char *argv[] = {"verify", "--game", "roulette", "--server-seed", (char *)seed_b,
                    "--client-seed", "lucky", "--nonce", "7"};
    assert_int_equal(capture(games_cli_fair, 9, argv, out, sizeof(out), &len), 0);
    assert_string_equal(out, "{\"client_seed\": \"lucky\", \"game\": \"roulette\", \"nonce\": 7,"
                             " \"outcome\": {\"color\": \"black\", \"pocket\": 33},"
                             " \"server_seed_hash\": \"a8ae6e6ee929abea3afcfc5258c8ccd6f85273e0"
                             "d4626d26c7279f3250f77c8e\"}\n");
    char *argv_dice[] = {"verify", "--game", "dice", "--server-seed", (char *)seed_a,
                         "--client-seed", "player", "--nonce", "1"};
    assert_int_equal(capture(games_cli_fair, 9, argv_dice, out, sizeof(out), &len), 0);
    assert_non_null(strstr(out, "\"roll\": \"10.11\""));
    assert_non_null(strstr(out, "\"server_seed_hash\": \"ffe054fe7ae0cb6dc65c3af9b61d5209f439851d"
                                "b43d0ba5997337df154668eb\""));
    char *bad_game[] = {"verify", "--game", "poker", "--server-seed", (char *)seed_a,
                        "--client-seed", "player", "--nonce", "1"};
    assert_int_equal(capture(games_cli_fair, 9, bad_game, out, sizeof(out), &len), 2);
    char *bad_seed[] = {"verify", "--game", "dice", "--server-seed", "ABC",
                        "--client-seed", "player", "--nonce", "1"};
    assert_int_equal(capture(games_cli_fair, 9, bad_seed, out, sizeof(out), &len), 2);
    char *no_nonce[] = {"verify", "--game", "dice", "--server-seed", (char *)seed_a,
                        "--client-seed", "player"};
    assert_int_equal(capture(games_cli_fair, 7, no_nonce, out, sizeof(out), &len), 2);
}

static void test_rng_commands(void **state)
{
    (void)state;
    static char out[1 << 16];
    size_t len;
    char *dump[] = {"dump", "--bytes", "4099"};
    assert_int_equal(capture(games_cli_rng, 3, dump, out, sizeof(out), &len), 0);
    assert_int_equal(len, 4099);
    int zeros = 0;
    for (size_t i = 0; i < len; i++)
        zeros += out[i] == 0;
    assert_true(zeros < 60); /* about 16 expected */
    char *sample[] = {"sample", "--range", "6", "--count", "3000"};
    assert_int_equal(capture(games_cli_rng, 5, sample, out, sizeof(out), &len), 0);
    int counts[6] = {0}, lines = 0;
    for (char *p = out; *p; p++) {
        assert_true(*p >= '0' && *p <= '5');
        counts[*p - '0']++;
        assert_int_equal(p[1], '\n');
        p++;
        lines++;
    }
    assert_int_equal(lines, 3000);
    for (int i = 0; i < 6; i++)
        assert_true(counts[i] > 400 && counts[i] < 600);
    char *zero_range[] = {"sample", "--range", "0", "--count", "3"};
    assert_int_equal(capture(games_cli_rng, 5, zero_range, out, sizeof(out), &len), 2);
    char *negative[] = {"dump", "--bytes", "-5"};
    assert_int_equal(capture(games_cli_rng, 3, negative, out, sizeof(out), &len), 2);
}

static void test_games_rtp_command(void **state)
{
    (void)state;
    static char out[1 << 14];
    size_t len;
    char *roulette[] = {"rtp", "roulette"};
    assert_int_equal(capture(games_cli_games, 2, roulette, out, sizeof(out), &len), 0);
    assert_non_null(strstr(out, "every bet: rtp = 36 / 37 = 97.297297%"));
    char *dice[] = {"rtp", "dice", "--exact"};
    assert_int_equal(capture(games_cli_games, 3, dice, out, sizeof(out), &len), 0);
    assert_non_null(strstr(out, "98.990101%"));
    char *sevens[] = {"rtp", "lucky-sevens", "--exact", "--simulate", "100000", "--seed", "3"};
    assert_int_equal(capture(games_cli_games, 7, sevens, out, sizeof(out), &len), 0);
    assert_non_null(strstr(out, "exact: rtp 95.1875%"));
    assert_non_null(strstr(out, "declared rtp_ppm 951875: matches"));
    assert_non_null(strstr(out, "simulated: 100000 rounds (seed 3)"));
    char *unknown[] = {"rtp", "no-such-game"};
    assert_int_equal(capture(games_cli_games, 2, unknown, out, sizeof(out), &len), 1);
    char *list[] = {"list"};
    assert_int_equal(capture(games_cli_games, 1, list, out, sizeof(out), &len), 0);
    assert_non_null(strstr(out, "golden-reef"));
    assert_non_null(strstr(out, "roulette"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_verifiers_match_independent_values),
        cmocka_unit_test(test_fair_verify_command),
        cmocka_unit_test(test_rng_commands),
        cmocka_unit_test(test_games_rtp_command),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
