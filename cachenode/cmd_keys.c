/* cmd_keys.c: generic keyspace commands (DEL, EXISTS, TYPE, RENAME, SCAN...). */
#include "server.h"

struct command keyspace_commands[] = {
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, 0, 0, 0, 0},
};
