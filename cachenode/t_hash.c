/* t_hash.c: the hash type (placeholder: its commands and value operations are
 * being written). */
#include "object.h"
#include "server.h"

struct command hash_commands[] = {{.name = NULL}};

const struct object_type hash_type = {.name = "hash", .snap_code = 0x05};
