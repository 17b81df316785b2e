/* t_string.c: the string commands. (Being filled in: GET and SET only.) */
#include "server.h"

static void get_command(client *c)
{
    entry *e = lookup_read(c, &c->argv[1]);
    if (e == NULL) {
        reply_null(c);
        return;
    }
    if (e->type != TYPE_STRING) {
        reply_wrongtype(c);
        return;
    }
    reply_entry_string(c, e);
}

static void set_command(client *c)
{
    lookup_write(c, &c->argv[1]);
    set_string(c->db, &c->argv[1], c->argv[2].p, c->argv[2].len, 0);
    key_modified(c->db, &c->argv[1]);
    reply_ok(c);
}

struct command string_commands[] = {
    {"get", get_command, 2, CMD_READONLY | CMD_FAST, 1, 1, 1, "string", "Returns the string value of a key.", "1.0.0", "O(1)", NULL, 0, 0, 0, 0},
    {"set", set_command, -3, CMD_WRITE | CMD_DENYOOM, 1, 1, 1, "string", "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.", "1.0.0", "O(1)", NULL, 0, 0, 0, 0},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, 0, 0, 0, 0},
};
