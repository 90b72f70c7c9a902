/* table_cli.h: the command-line tools of the table and multiplayer games (docs/table-games.md):
 *   pitboss games exact baccarat [--decks 8|6|...]      exact odds and house edges
 *   pitboss games rtp blackjack [--rounds N] [--seed S] [--h17] [--surrender] [--no-das]
 *   pitboss games crash-chain --length N [--seed HEX]   a new chain and its terminating hash
 *   pitboss fair verify --game crash --hash H [--salt S] [--terminal T --max-rounds N]
 * Each takes the arguments after its command word (argv[0] = "exact", "verify", ...) and
 * returns the process exit status: 0 done, 1 a check failed, 2 bad arguments. */
#ifndef PB_TABLE_CLI_H
#define PB_TABLE_CLI_H

int table_cli_games(int argc, char **argv);
int table_cli_fair_crash(int argc, char **argv);

#endif
