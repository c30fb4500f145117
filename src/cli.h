/* cli.h - the command line: serve, migrate, version, user ... */
#pragma once

/* Runs the command named by argv; returns the process exit code
 * (0 ok, 1 runtime failure, 2 usage or configuration error). */
int cli_main(int argc, char **argv);

/* `migrate-data --from URL --to URL` (cli_migrate.c): argv holds the arguments
 * after the command name; returns the exit code. */
int cli_migrate_data(int argc, char **argv);
/* Its usage text. */
extern const char cli_migrate_usage[];
