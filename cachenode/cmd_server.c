/* cmd_server.c: server commands (CONFIG, INFO, CLIENT, DBSIZE, ...). */
#include "server.h"

struct command server_commands[] = {
    {"config", command_config, -2, CMD_ADMIN | CMD_NOSCRIPT | CMD_LOADING | CMD_STALE, 0, 0, 0, "server", "A container for server configuration commands.", "2.0.0", "Depends on subcommand.", NULL, 0, 0, 0, 0},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, 0, 0, 0, 0},
};
