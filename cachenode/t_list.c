/* t_list.c: the list type (placeholder: its commands and value operations are
 * being written). */
#include "object.h"
#include "server.h"

struct command list_commands[] = {{.name = NULL}};

const struct object_type list_type = {.name = "list", .snap_code = 0x02};
