/* The sluice command line: one entry point per command group. Each takes the arguments after
 * the command name (argv[0] is the command name) and returns the process exit status. */
#ifndef SL_CLI_H
#define SL_CLI_H

#include "sl_common.h"

int sl_cmd_check(int argc, char **argv);
int sl_cmd_serve(int argc, char **argv);
/* Clients of a running server (cmd_client.h: --host, --token, config file). */
int sl_cmd_sql(int argc, char **argv);
int sl_cmd_send(int argc, char **argv);
/* `sluice datasource ls|push|pull|rm|truncate|infer` (argv[0] = "datasource"). */
int sl_cmd_datasource(int argc, char **argv);
/* `sluice token ls|create|rm` (argv[0] = "token"). */
int sl_cmd_token(int argc, char **argv);
/* `sluice datasource infer FILE` (argv[0] = "infer"). */
int sl_cmd_datasource_infer(int argc, char **argv);
/* `sluice wal check|dump --data DIR` (argv[0] = "wal"): offline write-ahead log inspection. */
int sl_cmd_wal(int argc, char **argv);

/* Appends the whole file at `path` to `out`. 0, or -1 with errno set (EFBIG past out's cap). */
int sl_cli_read_file(const char *path, sl_buf *out);

#endif
