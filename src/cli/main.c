/* sluice: entry point. Dispatches to the command groups in src/cli/. */
#include "sl_cli.h"

#include <stdio.h>
#include <string.h>

static const char usage[] =
    "usage: sluice <command> [options]\n"
    "\n"
    "Events ingestion API for ClickHouse.\n"
    "\n"
    "commands:\n"
    "  check FILE.datasource FILE.ndjson   convert rows offline and report what would be\n"
    "                                      accepted and quarantined, and why\n"
    "\n"
    "Run 'sluice <command> --help' for the options of a command.\n";

int main(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (strcmp(argv[1], "check") == 0)
        return sl_cmd_check(argc - 1, argv + 1);
    fprintf(stderr, "sluice: unknown command '%s'\n\n%s", argv[1], usage);
    return 2;
}
