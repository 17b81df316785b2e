/* replication.c: primary/replica replication. (stub) */
#include "server.h"

struct command replication_commands[] = {
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, 0, 0, 0, 0},
};
