/* command_docs.h: what COMMAND DOCS says beyond the command tables (argument
 * trees, history, doc flags, deprecation), and the parser of the argument
 * notation, which tests use to check every entry. */
#ifndef CN_COMMAND_DOCS_H
#define CN_COMMAND_DOCS_H

#include <stddef.h>

#include "server.h"

/* Doc flags, in the order Redis lists them. */
#define DOC_DEPRECATED (1u << 0)
#define DOC_SYSCMD (1u << 1)

/* One command's documentary data; the notation of args is described at the
 * top of command_docs.c. */
struct command_doc {
    const char *name;    /* full name: "set", "client|kill" */
    const char *args;    /* argument tree, or NULL if none */
    const char *history; /* lines "VERSION text" joined by '\n', or NULL */
    unsigned doc_flags;  /* DOC_* */
    const char *deprecated_since, *replaced_by;
};

/* ---- the parsed argument tree -------------------------------------------------- */

#define DOC_MAX_ARGS 64 /* arguments in one command's tree */
#define DOC_MAX_DEPTH 6 /* nesting of oneof and block groups */
#define DOC_NAME_MAX 64 /* a pure-token's name, lower-cased from its token */

#define DOC_ARG_OPTIONAL (1u << 0)
#define DOC_ARG_MULTIPLE (1u << 1)
#define DOC_ARG_MULTIPLE_TOKEN (1u << 2)

struct doc_span {
    const char *p; /* NULL when absent */
    size_t len;
};

struct doc_arg {
    struct doc_span name, type, token, since, deprecated_since;
    int lower_name;     /* the name is the token in lower case */
    int key_spec_index; /* -1 unless the argument is a key */
    unsigned flags;     /* DOC_ARG_* */
    int child, next;    /* first argument of its group, next sibling; -1 if none */
};

struct doc_tree {
    struct doc_arg arg[DOC_MAX_ARGS]; /* arg[0] is the first top-level argument */
    int count;
};

/* Parses an argument description; on error returns -1 and says why in err. */
int doc_parse_args(const char *s, struct doc_tree *t, char *err, size_t errlen);

/* Every entry, for tests; *count is set to their number. */
const struct command_doc *command_docs_all(size_t *count);
/* Checks one entry (arguments, history, deprecation); -1 and err if bad. */
int command_doc_check(const struct command_doc *d, char *err, size_t errlen);

/* ---- COMMAND DOCS ---------------------------------------------------------------- */

/* A command's extra fields, looked up and parsed once per reply. */
struct doc_reply {
    const struct command_doc *doc; /* NULL if the command has none */
    struct doc_tree tree;
    int has_args;
};

/* Loads the extra fields of the command named full_name; returns how many
 * map fields reply_doc_fields will add. */
int doc_reply_load(const char *full_name, struct doc_reply *r);
/* Adds doc_flags, deprecated_since, replaced_by, history and arguments. */
void reply_doc_fields(client *c, const struct doc_reply *r);

#endif
