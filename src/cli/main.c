/* sluice: entry point. Dispatches to the command groups in src/cli/. */
#include "sl_cli.h"

#include <stdio.h>
#include <string.h>

static const char usage[] =
    "usage: sluice <command> [options]\n"
    "\n"
    "Events ingestion API for ClickHouse.\n"
    "\n"
    "server:\n"
    "  serve                               run the server (default 127.0.0.1:7181, ./data)\n"
    "\n"
    "clients of a running server (--host URL / SLUICE_HOST, --token T / SLUICE_TOKEN, or a\n"
    "config file ~/.config/sluice/config with 'host = ...' and 'token = ...' lines):\n"
    "  send DATASOURCE FILE.ndjson[.gz]    send rows in batches, retried, with a progress bar\n"
    "  sql QUERY                           run a read-only query and print the result\n"
    "  datasource SUBCOMMAND               ls, push, pull, rm or truncate data sources\n"
    "  token SUBCOMMAND                    ls, create or rm API tokens\n"
    "\n"
    "offline (no server):\n"
    "  wal check|dump [--data DIR]         inspect the write-ahead log offline\n"
    "  check FILE.datasource FILE.ndjson   convert rows offline and report what would be\n"
    "                                      accepted and quarantined, and why\n"
    "  datasource infer FILE.ndjson        print the .datasource auto-create would make\n"
    "\n"
    "Run 'sluice <command> --help' for the options of a command.\n"
    "Exit status: 0 done, 1 failed (the server said no or could not be reached), 2 bad usage.\n";

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
} command;

static const command commands[] = {
    {"serve", sl_cmd_serve}, {"send", sl_cmd_send},
    {"sql", sl_cmd_sql},     {"datasource", sl_cmd_datasource},
    {"token", sl_cmd_token}, {"check", sl_cmd_check},
    {"wal", sl_cmd_wal},
};

int main(int argc, char **argv)
{
    /* `sluice help CMD [SUB]` is `sluice CMD [SUB] --help`. */
    char *help_argv[5] = {argv[0], NULL, NULL, NULL, NULL};
    if (argc >= 3 && argc <= 4 && strcmp(argv[1], "help") == 0) {
        for (int i = 2; i < argc; i++)
            help_argv[i - 1] = argv[i];
        help_argv[argc - 1] = (char *)"--help";
        argv = help_argv;
    }
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "sluice: unknown command '%s'\n\n%s", argv[1], usage);
    return 2;
}
