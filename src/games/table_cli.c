/* table_cli.c: `pitboss games ...` for baccarat, blackjack and crash, and the crash branch of
 * `pitboss fair verify` (table_cli.h). */
#include "games/table_cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "base/base.h"
#include "base/buf.h"
#include "games/baccarat.h"
#include "games/blackjack.h"
#include "games/crash.h"

#define EXIT_USAGE 2
#define BJ_RTP_ROUNDS_DEFAULT 20000000ULL /* 99% CI about +-0.07% in ~40 s */
#define BJ_RTP_ROUNDS_MAX 10000000000ULL

static int usage(const char *msg)
{
    fprintf(stderr, "pitboss: %s\n"
                    "usage: pitboss games exact baccarat [--decks N]\n"
                    "       pitboss games rtp blackjack [--rounds N] [--seed S] [--h17]"
                    " [--surrender] [--no-das]\n"
                    "       pitboss games crash-chain --length N [--seed HEX]\n"
                    "       pitboss fair verify --game crash --hash H [--salt S]"
                    " [--terminal T [--max-rounds N]]\n",
            msg);
    return EXIT_USAGE;
}

static int parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
    if (!s || *s < '0' || *s > '9')
        return PB_ERR_INVALID;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v < lo || v > hi)
        return PB_ERR_INVALID;
    *out = v;
    return PB_OK;
}

static int exact_baccarat(int argc, char **argv)
{
    uint64_t decks = BACCARAT_DECKS_DEFAULT;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--decks") == 0 && i + 1 < argc) {
            if (parse_u64(argv[++i], 1, CARDS_DECKS_MAX, &decks) != PB_OK)
                return usage("--decks must be 1.." PB_STR(CARDS_DECKS_MAX));
        } else {
            return usage("unknown argument to games exact baccarat");
        }
    }
    struct baccarat_exact e;
    baccarat_exact((int)decks, &e);
    struct pb_buf out = PB_BUF_INIT;
    baccarat_exact_report(&e, &out);
    fputs(pb_buf_str(&out), stdout);
    pb_buf_release(&out);
    return 0;
}

static int rtp_blackjack(int argc, char **argv)
{
    struct bj_rules rules;
    bj_rules_default(&rules);
    uint64_t rounds = BJ_RTP_ROUNDS_DEFAULT, seed = 1;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc) {
            if (parse_u64(argv[++i], 2, BJ_RTP_ROUNDS_MAX, &rounds) != PB_OK)
                return usage("--rounds must be 2..10000000000");
        } else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
            if (parse_u64(argv[++i], 0, UINT64_MAX, &seed) != PB_OK)
                return usage("--seed must be an unsigned integer");
        } else if (strcmp(argv[i], "--h17") == 0) {
            rules.hit_soft17 = true;
        } else if (strcmp(argv[i], "--surrender") == 0) {
            rules.surrender = true;
        } else if (strcmp(argv[i], "--no-das") == 0) {
            rules.double_after_split = false;
        } else {
            return usage("unknown argument to games rtp blackjack");
        }
    }
    struct bj_rtp r;
    bj_simulate(&rules, rounds, seed, &r);
    printf("blackjack, %d decks, dealer %s soft 17, %s, %s, split to %d hands, no resplit of "
           "aces, blackjack 3:2, dealer peeks; insurance never taken\n",
           rules.decks, rules.hit_soft17 ? "hits" : "stands",
           rules.double_after_split ? "double after split" : "no double after split",
           rules.surrender ? "late surrender" : "no surrender", rules.max_hands);
    printf("basic strategy, %llu rounds (seed %llu, a fresh shoe each round)\n",
           (unsigned long long)r.rounds, (unsigned long long)seed);
    printf("staked %.0f units (%.4f per round), returned %.0f\n", r.staked_units,
           r.staked_units / (double)r.rounds, r.returned_units);
    printf("house edge per initial stake: %.4f%% +- %.4f%% (99%% confidence)\n", 100 * r.edge,
           100 * r.ci99);
    printf("return to player: %.4f%%\n", 100 * (1 - r.edge));
    return 0;
}

static int crash_chain(int argc, char **argv)
{
    uint64_t length = 0;
    uint8_t seed[CRASH_HASH_BYTES];
    bool have_seed = false;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--length") == 0 && i + 1 < argc) {
            if (parse_u64(argv[++i], 1, CRASH_CHAIN_LENGTH_MAX, &length) != PB_OK)
                return usage("--length must be 1.." PB_STR(CRASH_CHAIN_LENGTH_MAX));
        } else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
            if (crash_hash_parse(argv[++i], seed) != PB_OK)
                return usage("--seed must be 64 hex digits");
            have_seed = true;
        } else {
            return usage("unknown argument to games crash-chain");
        }
    }
    if (length == 0)
        return usage("games crash-chain needs --length N");
    if (!have_seed)
        randombytes_buf(seed, sizeof(seed));
    uint8_t terminal[CRASH_HASH_BYTES], first[CRASH_HASH_BYTES];
    crash_chain_round(seed, length, 1, first);
    crash_chain_step(first, terminal);
    char hex[CRASH_HASH_HEX + 1];
    printf("length: %llu\n", (unsigned long long)length);
    crash_hash_hex(seed, hex);
    printf("seed (secret, round %llu): %s\n", (unsigned long long)length, hex);
    crash_hash_hex(first, hex);
    printf("round 1 hash: %s\n", hex);
    crash_hash_hex(terminal, hex);
    printf("terminating hash (publish): %s\n", hex);
    sodium_memzero(seed, sizeof(seed));
    return 0;
}

int table_cli_games(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[0], "exact") == 0 && strcmp(argv[1], "baccarat") == 0)
        return exact_baccarat(argc - 2, argv + 2);
    if (argc >= 2 && strcmp(argv[0], "rtp") == 0 && strcmp(argv[1], "blackjack") == 0)
        return rtp_blackjack(argc - 2, argv + 2);
    if (argc >= 1 && strcmp(argv[0], "crash-chain") == 0)
        return crash_chain(argc - 1, argv + 1);
    return usage("games needs: exact baccarat, rtp blackjack or crash-chain");
}

int table_cli_fair_crash(int argc, char **argv)
{
    const char *hash = NULL, *salt = NULL, *terminal = NULL, *game = NULL;
    uint64_t max_rounds = CRASH_CHAIN_LENGTH_MAX;
    int i = argc >= 1 && strcmp(argv[0], "verify") == 0 ? 1 : 0;
    if (i == 0)
        return usage("fair needs: verify");
    for (; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--game") == 0 && v)
            game = argv[++i];
        else if (strcmp(argv[i], "--hash") == 0 && v)
            hash = argv[++i];
        else if (strcmp(argv[i], "--salt") == 0 && v)
            salt = argv[++i];
        else if (strcmp(argv[i], "--terminal") == 0 && v)
            terminal = argv[++i];
        else if (strcmp(argv[i], "--max-rounds") == 0 && v) {
            if (parse_u64(argv[++i], 1, CRASH_CHAIN_LENGTH_MAX, &max_rounds) != PB_OK)
                return usage("--max-rounds must be 1.." PB_STR(CRASH_CHAIN_LENGTH_MAX));
        } else
            return usage("unknown argument to fair verify --game crash");
    }
    uint8_t h[CRASH_HASH_BYTES], t[CRASH_HASH_BYTES];
    if (!game || strcmp(game, "crash") != 0)
        return usage("fair verify: --game crash");
    if (crash_hash_parse(hash, h) != PB_OK)
        return usage("--hash must be 64 hex digits");
    if (salt && (strlen(salt) == 0 || strlen(salt) > CRASH_SALT_MAX))
        return usage("--salt must be 1.." PB_STR(CRASH_SALT_MAX) " bytes");
    if (terminal && crash_hash_parse(terminal, t) != PB_OK)
        return usage("--terminal must be 64 hex digits");
    char text[32];
    crash_format(crash_point(h, salt), text);
    printf("crash point: %sx\n", text);
    if (!terminal)
        return 0;
    uint64_t round;
    if (crash_chain_verify(h, t, max_rounds, &round) != PB_OK) {
        printf("chain: NOT linked to the terminating hash within %llu rounds\n",
               (unsigned long long)max_rounds);
        return 1;
    }
    printf("chain: round %llu of the chain ending in the terminating hash\n",
           (unsigned long long)round);
    return 0;
}
