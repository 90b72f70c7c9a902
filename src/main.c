/* main.c: the pitboss program: subcommands serve, migrate, routes, ledger verify, version, help.
 * Configuration: --config FILE (JSON) then PITBOSS_* environment overrides (base/config.h).
 * A bad configuration names the key and what is wrong and exits with status 2. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "base/base.h"
#include "base/config.h"
#include "base/log.h"
#include "core/app.h"
#include "games/games.h"
#include "http/http.h"
#include "ledger/ledger.h"
#include "pam/staff.h"
#include "store/store.h"

extern char **environ;

#define EXIT_CONFIG 2

static const char usage[] =
    "usage: pitboss [--config FILE] COMMAND [OPTIONS]\n"
    "\n"
    "commands:\n"
    "  serve [--migrate]   run the server (--migrate: apply pending migrations first)\n"
    "  migrate             apply pending database migrations and exit\n"
    "  routes              print the HTTP routes serve offers (METHOD PATTERN)\n"
    "  ledger verify       check the ledger's invariants (hash chain, debits = credits,\n"
    "                      balances = replay of transfers, ...); exit 0 if all hold, else 1\n"
    "  staff create --email E --role ROLE\n"
    "                      create a staff user (admin, support, risk, finance, compliance,\n"
    "                      crm); prints its id, one-time password and TOTP secret and URI\n"
    "  version             print the version\n"
    "  help                print this text\n"
    "\n"
    "configuration: --config FILE (JSON), then environment variables PITBOSS_LISTEN,\n"
    "PITBOSS_DB, PITBOSS_LOG_LEVEL, ... (see README.md, 'Configuration').\n";

struct args {
    const char *config_path;
    const char *command;
    const char *subcommand; /* ledger's: "verify" */
    bool migrate;
    int staff_argc;         /* staff: the arguments from "create" on */
    char **staff_argv;
    int rest_argc;          /* games, rng, fair: the words after the command */
    char **rest_argv;
};

static int parse_args(int argc, char **argv, struct args *a)
{
    memset(a, 0, sizeof(*a));
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "pitboss: --config needs a FILE\n");
                return EXIT_CONFIG;
            }
            a->config_path = argv[++i];
        } else if (strcmp(argv[i], "--migrate") == 0) {
            a->migrate = true;
        } else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            a->command = "help";
        } else if (argv[i][0] != '-' && !a->command) {
            a->command = argv[i];
            if (strcmp(a->command, "staff") == 0) { /* the rest is staff's */
                a->staff_argc = argc - i - 1;
                a->staff_argv = argv + i + 1;
                break;
            }
            if (strcmp(a->command, "games") == 0 || strcmp(a->command, "rng") == 0 ||
                strcmp(a->command, "fair") == 0) { /* the rest is the games module's */
                a->rest_argc = argc - i - 1;
                a->rest_argv = argv + i + 1;
                break;
            }
        } else if (argv[i][0] != '-' && strcmp(a->command, "ledger") == 0 && !a->subcommand) {
            a->subcommand = argv[i];
        } else {
            fprintf(stderr, "pitboss: unknown argument '%s'\n%s", argv[i], usage);
            return EXIT_CONFIG;
        }
    }
    if (!a->command)
        a->command = "help";
    return 0;
}

static int load_config(const struct args *a, struct pb_config *cfg)
{
    struct pb_config_error err;
    pb_config_defaults(cfg);
    int rc = PB_OK;
    if (a->config_path)
        rc = pb_config_load_file(cfg, a->config_path, &err);
    if (rc == PB_OK)
        rc = pb_config_apply_env(cfg, environ, &err);
    if (rc != PB_OK) {
        fprintf(stderr, "pitboss: configuration error: %s: %s\n", err.key, err.detail);
        return EXIT_CONFIG;
    }
    pb_log_set_level(cfg->log_level);
    return 0;
}

static int cmd_migrate(const struct pb_config *cfg)
{
    int applied = 0;
    if (app_migrate(cfg, &applied) != PB_OK)
        return 1;
    printf("migrations applied: %d\n", applied);
    return 0;
}

/* ledger verify: reads the database named by cfg in one transaction and prints the report;
 * 0 when every invariant holds, 1 when one does not or the ledger cannot be read. */
static int cmd_ledger_verify(const struct pb_config *cfg)
{
    struct store *s;
    char err[256];
    if (store_open(cfg->db_url, &s, err, sizeof(err)) != PB_OK) {
        fprintf(stderr, "pitboss: cannot open the database: %s\n", err);
        return 1;
    }
    const struct store_migration *first;
    if (store_migrations_pending(s, ledger_migrations, ledger_migrations_count, &first) > 0) {
        fprintf(stderr, "pitboss: the database has no ledger (migration %s/%d is pending;"
                        " run pitboss migrate)\n", first->module, first->version);
        store_close(s);
        return 1;
    }
    struct pb_buf report = PB_BUF_INIT;
    int rc = ledger_verify(s, &report);
    store_close(s);
    fputs(pb_buf_str(&report), rc == PB_ERR_DB ? stderr : stdout);
    pb_buf_release(&report);
    return rc == PB_OK ? 0 : 1;
}

static int cmd_serve(const struct pb_config *cfg, bool migrate)
{
    if (migrate && app_migrate(cfg, NULL) != PB_OK)
        return 1;
    /* Signals are taken by sigwait below, so every thread started from here blocks them. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    struct pb_app app;
    int rc = app_start(&app, cfg);
    if (rc != PB_OK)
        return rc == PB_ERR_INVALID ? EXIT_CONFIG : 1; /* invalid: a configuration error */
    char url[128];
    const char *fmt = strchr(cfg->listen_host, ':') ? "http://[%s]:%d" : "http://%s:%d";
    snprintf(url, sizeof(url), fmt, cfg->listen_host, http_server_port(app.http));
    pb_log(PB_LOG_INFO, "listening", "\"url\":\"%s\",\"db\":\"%s\",\"version\":\"%s\"", url,
           strncmp(cfg->db_url, "postgres", 8) == 0 ? "postgresql" : cfg->db_url,
           PITBOSS_VERSION);
    printf("pitboss %s listening on %s\n", PITBOSS_VERSION, url);
    fflush(stdout);
    int sig = 0;
    sigwait(&set, &sig);
    pb_log(PB_LOG_INFO, "stopping", "\"signal\":%d", sig);
    app_stop(&app);
    pb_log(PB_LOG_INFO, "stopped", NULL);
    return 0;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    if (sodium_init() < 0) {
        fprintf(stderr, "pitboss: libsodium failed to initialise\n");
        return 1;
    }
    struct args a;
    int rc = parse_args(argc, argv, &a);
    if (rc != 0)
        return rc;
    if (strcmp(a.command, "help") == 0) {
        fputs(usage, stdout);
        return 0;
    }
    if (strcmp(a.command, "version") == 0) {
        printf("pitboss %s\n", PITBOSS_VERSION);
        return 0;
    }
    if (strcmp(a.command, "games") == 0) /* no configuration: pure maths */
        return games_cli_games(a.rest_argc, a.rest_argv);
    if (strcmp(a.command, "rng") == 0)
        return games_cli_rng(a.rest_argc, a.rest_argv);
    if (strcmp(a.command, "fair") == 0)
        return games_cli_fair(a.rest_argc, a.rest_argv);
    struct pb_config cfg;
    if (strcmp(a.command, "serve") != 0 && strcmp(a.command, "migrate") != 0 &&
        strcmp(a.command, "routes") != 0 && strcmp(a.command, "ledger") != 0 &&
        strcmp(a.command, "staff") != 0) {
        fprintf(stderr, "pitboss: unknown command '%s'\n%s", a.command, usage);
        return EXIT_CONFIG;
    }
    bool verify = a.subcommand && strcmp(a.subcommand, "verify") == 0;
    if (strcmp(a.command, "ledger") == 0 && !verify) {
        fprintf(stderr, "pitboss: ledger needs a command: verify\n%s", usage);
        return EXIT_CONFIG;
    }
    rc = load_config(&a, &cfg);
    if (rc != 0)
        return rc;
    if (strcmp(a.command, "migrate") == 0)
        return cmd_migrate(&cfg);
    if (strcmp(a.command, "ledger") == 0)
        return cmd_ledger_verify(&cfg);
    if (strcmp(a.command, "staff") == 0)
        return staff_cli_create(cfg.db_url, a.staff_argc, a.staff_argv);
    if (strcmp(a.command, "routes") == 0) {
        struct pb_buf out = PB_BUF_INIT;
        app_routes(&cfg, &out);
        fputs(pb_buf_str(&out), stdout);
        pb_buf_release(&out);
        return 0;
    }
    return cmd_serve(&cfg, a.migrate);
}
