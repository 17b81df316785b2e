/* expire.c: TTL commands and active expiry. */
#include "server.h"

void active_expire_cycle(int fast) { (void)fast; }

struct command expire_commands[] = {
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, 0, 0, 0, 0},
};
