/* cliconfig.h: `--config FILE` for the control-plane programs.
 *
 * A config file holds the long options as lines `name value` (the option
 * without its dashes; blank lines and lines starting with '#' are skipped).
 * Its options are placed before the command line's, so a flag given on the
 * command line wins. Only options that take a value may appear in a file. */
#ifndef CF_CLICONFIG_H
#define CF_CLICONFIG_H

#include <getopt.h>
#include <stddef.h>

struct config_args {
    int argc;
    char **argv;  /* what getopt sees */
    char **owned; /* the strings read from the file */
    size_t nowned, cap;
};

/* Builds ca->argv: argv[0], the config file's options, then the command
 * line without --config. `opts` is the program's option table, used to
 * refuse unknown names with file:line. Returns 0, or -1 after printing why. */
int config_args_expand(int argc, char **argv, const struct option *opts, struct config_args *ca);
void config_args_free(struct config_args *ca);

#endif
