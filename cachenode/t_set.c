/* t_set.c: the set type (placeholder: its commands and value operations are
 * being written). */
#include "object.h"
#include "server.h"

struct command set_commands[] = {{.name = NULL}};

const struct object_type set_type = {.name = "set", .snap_code = 0x03};
