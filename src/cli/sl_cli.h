/* The sluice command line: one entry point per command group. Each takes the arguments after
 * the command name (argv[0] is the command name) and returns the process exit status. */
#ifndef SL_CLI_H
#define SL_CLI_H

int sl_cmd_check(int argc, char **argv);
/* `sluice datasource infer FILE` (argv[0] = "infer"). */
int sl_cmd_datasource_infer(int argc, char **argv);

#endif
