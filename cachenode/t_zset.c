/* t_zset.c: the zset type (placeholder: its commands and value operations are
 * being written). */
#include "object.h"
#include "server.h"

struct command zset_commands[] = {{.name = NULL}};

const struct object_type zset_type = {.name = "zset", .snap_code = 0x04};
