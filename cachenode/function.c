/* function.c: Redis 7.0 functions: libraries loaded with FUNCTION LOAD
 * (a "#!lua name=<lib>" shebang, then code that calls
 * redis.register_function), FCALL/FCALL_RO, and FUNCTION DELETE, LIST,
 * FLUSH, DUMP, RESTORE, STATS and KILL. Libraries are replicated (the
 * FUNCTION commands propagate as themselves) and kept in snapshots (a
 * record per library, see snapshot.c). The Lua side is in script_lua.c. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "dict.h"
#include "log.h"
#include "script_lua.h"
#include "snapshot.h"

struct library;

struct function {
    char *name;
    struct library *lib;
    int ref;   /* the callback in the Lua registry */
    int flags; /* FUNCTION_FLAG_* */
    char *description;
};

struct library {
    char *name;
    char *code;
    size_t code_len;
    struct function **fns;
    int nfns;
};

/* Libraries by name and functions by name (pointer values). */
struct function_set {
    dict *libs;
    dict *fns;
};

static struct function_set live;

/* ---- the set ---------------------------------------------------------------- */

static void *dict_ptr(dnode *n)
{
    void *p;
    memcpy(&p, dnode_val(n), sizeof(p));
    return p;
}

static struct library *find_library(struct function_set *set, const char *name, size_t len)
{
    dnode *n = dict_find(set->libs, name, len);
    return n ? dict_ptr(n) : NULL;
}

static struct function *find_function(struct function_set *set, const char *name, size_t len)
{
    dnode *n = dict_find(set->fns, name, len);
    return n ? dict_ptr(n) : NULL;
}

static void set_init(struct function_set *set)
{
    set->libs = dict_create();
    set->fns = dict_create();
}

static void library_free(struct library *lib)
{
    for (int i = 0; i < lib->nfns; i++) {
        script_lua_unref(lib->fns[i]->ref);
        zfree(lib->fns[i]->name);
        zfree(lib->fns[i]->description);
        zfree(lib->fns[i]);
    }
    zfree(lib->fns);
    zfree(lib->name);
    zfree(lib->code);
    zfree(lib);
}

/* Takes the library out of the set (its functions too) without freeing. */
static void set_unlink(struct function_set *set, struct library *lib)
{
    for (int i = 0; i < lib->nfns; i++)
        dict_delete(set->fns, lib->fns[i]->name, strlen(lib->fns[i]->name));
    dict_delete(set->libs, lib->name, strlen(lib->name));
}

static void set_link(struct function_set *set, struct library *lib)
{
    dict_add(set->libs, lib->name, strlen(lib->name), &lib, sizeof(lib));
    for (int i = 0; i < lib->nfns; i++)
        dict_add(set->fns, lib->fns[i]->name, strlen(lib->fns[i]->name), &lib->fns[i], sizeof(void *));
}

/* Every library of the set, into a new array (count in *n). */
static struct library **set_libraries(struct function_set *set, size_t *n)
{
    *n = dict_size(set->libs);
    struct library **out = zmalloc(sizeof(*out) * (*n ? *n : 1));
    size_t i = 0;
    dict_iter it;
    dict_iter_init(&it, set->libs);
    dnode *node;
    while ((node = dict_iter_next(&it)) && i < *n) out[i++] = dict_ptr(node);
    dict_iter_release(&it);
    *n = i;
    return out;
}

static void set_free(struct function_set *set)
{
    size_t n;
    struct library **libs = set_libraries(set, &n);
    for (size_t i = 0; i < n; i++) library_free(libs[i]);
    zfree(libs);
    dict_free(set->libs);
    dict_free(set->fns);
    set->libs = set->fns = NULL;
}

void functions_init(void) { set_init(&live); }

void functions_release(void)
{
    if (live.libs) set_free(&live);
}

size_t functions_library_count(void) { return live.libs ? dict_size(live.libs) : 0; }
size_t functions_count(void) { return live.fns ? dict_size(live.fns) : 0; }

size_t functions_memory(void)
{
    size_t n, bytes = 0;
    struct library **libs = set_libraries(&live, &n);
    for (size_t i = 0; i < n; i++)
        bytes += sizeof(struct library) + libs[i]->code_len + (size_t)libs[i]->nfns * sizeof(struct function);
    zfree(libs);
    return bytes;
}

/* ---- compiling a library ------------------------------------------------------ */

static int valid_name(const char *s, size_t len)
{
    if (len == 0) return 0;
    for (size_t i = 0; i < len; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '_') return 0;
    return 1;
}

#define NAME_RULE "names can only contain letters, numbers, or underscores(_) and must be at least one character long"

/* The shebang: "#!lua name=<lib>" and nothing else. The library name goes
 * to name; returns 0, or -1 with Redis's error in err. */
static int parse_shebang(const char *code, size_t len, char *name, size_t name_size, char *err,
                         size_t errlen)
{
    if (len < 2 || code[0] != '#' || code[1] != '!') {
        snprintf(err, errlen, "ERR Missing library metadata");
        return -1;
    }
    const char *nl = memchr(code, '\n', len);
    if (nl == NULL) {
        snprintf(err, errlen, "ERR Invalid library metadata");
        return -1;
    }
    char line[512];
    size_t llen = (size_t)(nl - code - 2);
    if (llen >= sizeof(line)) llen = sizeof(line) - 1;
    memcpy(line, code + 2, llen);
    line[llen] = '\0';
    char *save = NULL, *engine = strtok_r(line, " \t\r", &save);
    int have_name = 0;
    if (engine == NULL) {
        snprintf(err, errlen, "ERR Invalid library metadata");
        return -1;
    }
    for (char *part; (part = strtok_r(NULL, " \t\r", &save));) {
        if (strncasecmp(part, "name=", 5) != 0) {
            snprintf(err, errlen, "ERR Invalid metadata value given: %s", part);
            return -1;
        }
        if (have_name) {
            snprintf(err, errlen, "ERR Invalid metadata value, name argument was given multiple times");
            return -1;
        }
        snprintf(name, name_size, "%s", part + 5);
        have_name = 1;
    }
    if (!have_name) {
        snprintf(err, errlen, "ERR Library name was not given");
        return -1;
    }
    if (strcasecmp(engine, "lua") != 0) {
        snprintf(err, errlen, "ERR Engine '%s' not found", engine);
        return -1;
    }
    if (!valid_name(name, strlen(name))) {
        snprintf(err, errlen, "ERR Library " NAME_RULE);
        return -1;
    }
    return 0;
}

/* redis.register_function's callback while a library loads. */
static int register_in_library(void *ctx, const char *name, size_t len, int ref, int flags,
                               const char *description, char *err, size_t errlen)
{
    struct library *lib = ctx;
    if (!valid_name(name, len)) { /* sic: Redis 7.0 words it so */
        snprintf(err, errlen, "Library " NAME_RULE);
        return -1;
    }
    for (int i = 0; i < lib->nfns; i++) {
        if (strlen(lib->fns[i]->name) == len && memcmp(lib->fns[i]->name, name, len) == 0) {
            snprintf(err, errlen, "Function already exists in the library");
            return -1;
        }
    }
    struct function *f = zcalloc(sizeof(*f));
    f->name = zstrndup(name, len);
    f->lib = lib;
    f->ref = ref;
    f->flags = flags;
    f->description = description ? zstrndup(description, strlen(description)) : NULL;
    lib->fns = zrealloc(lib->fns, sizeof(*lib->fns) * (size_t)(lib->nfns + 1));
    lib->fns[lib->nfns++] = f;
    return 0;
}

/* Compiles a library's code into a new library (not in any set). */
static struct library *compile_library(const char *code, size_t len, char *err, size_t errlen)
{
    char name[256];
    if (parse_shebang(code, len, name, sizeof(name), err, errlen) == -1) return NULL;
    struct library *lib = zcalloc(sizeof(*lib));
    lib->name = zstrndup(name, strlen(name));
    lib->code = zstrndup(code, len);
    lib->code_len = len;
    /* the shebang line stays, blank, so line numbers match the code's */
    size_t skip = (size_t)((const char *)memchr(code, '\n', len) - code);
    if (script_lua_load_library(code + skip, len - skip, register_in_library, lib, err, errlen) == -1) {
        library_free(lib);
        return NULL;
    }
    if (lib->nfns == 0) {
        snprintf(err, errlen, "ERR No functions registered");
        library_free(lib);
        return NULL;
    }
    return lib;
}

/* Adds lib to set; with replace an existing library of its name goes.
 * Returns 0, or -1 with the error (lib is left to the caller). */
static int set_add(struct function_set *set, struct library *lib, int replace, char *err, size_t errlen)
{
    struct library *old = find_library(set, lib->name, strlen(lib->name));
    if (old && !replace) {
        snprintf(err, errlen, "ERR Library '%s' already exists", lib->name);
        return -1;
    }
    for (int i = 0; i < lib->nfns; i++) {
        struct function *f = find_function(set, lib->fns[i]->name, strlen(lib->fns[i]->name));
        if (f && f->lib != old) {
            snprintf(err, errlen, "ERR Function %s already exists", lib->fns[i]->name);
            return -1;
        }
    }
    if (old) {
        set_unlink(set, old);
        library_free(old);
    }
    set_link(set, lib);
    return 0;
}

/* ---- snapshots and full sync -------------------------------------------------- */

int functions_foreach_code(int (*fn)(void *priv, const char *code, size_t len), void *priv)
{
    size_t n;
    struct library **libs = set_libraries(&live, &n);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) rc = fn(priv, libs[i]->code, libs[i]->code_len);
    zfree(libs);
    return rc;
}

struct function_batch {
    struct function_set set;
};

struct function_batch *functions_batch_new(void)
{
    struct function_batch *b = zmalloc(sizeof(*b));
    set_init(&b->set);
    return b;
}

int functions_batch_add(struct function_batch *b, const char *code, size_t len, char *err, size_t errlen)
{
    struct library *lib = compile_library(code, len, err, errlen);
    if (lib == NULL) return -1;
    if (set_add(&b->set, lib, 0, err, errlen) == -1) {
        library_free(lib);
        return -1;
    }
    return 0;
}

void functions_batch_free(struct function_batch *b)
{
    if (b == NULL) return;
    set_free(&b->set);
    zfree(b);
}

/* The batch's libraries replace every live one. */
void functions_batch_commit(struct function_batch *b)
{
    set_free(&live);
    live = b->set;
    zfree(b);
}

/* ---- FCALL ------------------------------------------------------------------------ */

static void fcall_generic(client *c, int readonly)
{
    long long numkeys;
    propagate_prevent(); /* the function's writes propagate, not FCALL */
    if (!string2ll(c->argv[2].p, c->argv[2].len, &numkeys)) {
        reply_error(c, "ERR Bad number of keys provided");
        return;
    }
    if (numkeys > c->argc - 3) {
        reply_error(c, "ERR Number of keys can't be greater than number of args");
        return;
    }
    if (numkeys < 0) {
        reply_error(c, "ERR Number of keys can't be negative");
        return;
    }
    struct function *f = find_function(&live, c->argv[1].p, c->argv[1].len);
    if (f == NULL) {
        reply_error(c, "ERR Function not found");
        return;
    }
    const char *why = script_flags_refusal(f->flags, readonly);
    if (why) {
        reply_error(c, why);
        return;
    }
    struct script_run run = {.caller = c, .sha = f->name, .is_function = 1,
                             .readonly = readonly || (f->flags & FUNCTION_FLAG_NO_WRITES)};
    script_lua_run(f->ref, &c->argv[3], (int)numkeys, &c->argv[3 + numkeys],
                   c->argc - 3 - (int)numkeys, &run);
}

static void fcall_command(client *c) { fcall_generic(c, 0); }
static void fcall_ro_command(client *c) { fcall_generic(c, 1); }

/* ---- FUNCTION LOAD, DELETE, FLUSH ------------------------------------------------- */

static void function_load_command(client *c)
{
    int replace = 0, i = 2;
    if (c->argc == 4) {
        if (!arg_is(c->argv[2].p, c->argv[2].len, "replace")) {
            reply_errorf(c, "ERR Unknown option given: %.*s", (int)(c->argv[2].len > 64 ? 64 : c->argv[2].len), c->argv[2].p);
            return;
        }
        replace = 1;
        i = 3;
    } else if (c->argc > 4) {
        reply_error(c, "ERR Unknown option given");
        return;
    }
    char err[1024];
    struct library *lib = compile_library(c->argv[i].p, c->argv[i].len, err, sizeof(err));
    if (lib == NULL || set_add(&live, lib, replace, err, sizeof(err)) == -1) {
        if (lib) library_free(lib);
        reply_error(c, err);
        return;
    }
    server.dirty++; /* propagates as itself */
    reply_bulk_cstr(c, lib->name);
}

static void function_delete_command(client *c)
{
    struct library *lib = find_library(&live, c->argv[2].p, c->argv[2].len);
    if (lib == NULL) {
        reply_error(c, "ERR Library not found");
        return;
    }
    set_unlink(&live, lib);
    library_free(lib);
    server.dirty++;
    reply_ok(c);
}

static void function_flush_command(client *c)
{
    if (c->argc > 3 || (c->argc == 3 && !arg_is(c->argv[2].p, c->argv[2].len, "sync") &&
                        !arg_is(c->argv[2].p, c->argv[2].len, "async"))) {
        reply_error(c, "ERR FUNCTION FLUSH only supports SYNC|ASYNC option");
        return;
    }
    set_free(&live);
    set_init(&live);
    server.dirty++;
    reply_ok(c);
}

/* ---- FUNCTION LIST ------------------------------------------------------------------ */

static void reply_function(client *c, const struct function *f)
{
    reply_map(c, 3);
    reply_bulk_cstr(c, "name");
    reply_bulk_cstr(c, f->name);
    reply_bulk_cstr(c, "description");
    reply_bulk_cstr(c, f->description);
    reply_bulk_cstr(c, "flags");
    int n = 0;
    for (int b = 0; b < 5; b++) n += (f->flags >> b) & 1;
    static const char *const names[] = {"no-writes", "allow-oom", "allow-stale", "no-cluster",
                                        "allow-cross-slot-keys"};
    reply_set(c, n);
    for (int b = 0; b < 5; b++)
        if (f->flags & (1 << b)) reply_status(c, names[b]);
}

static void reply_library(client *c, const struct library *lib, int with_code)
{
    reply_map(c, with_code ? 4 : 3);
    reply_bulk_cstr(c, "library_name");
    reply_bulk_cstr(c, lib->name);
    reply_bulk_cstr(c, "engine");
    reply_bulk_cstr(c, "LUA");
    reply_bulk_cstr(c, "functions");
    reply_array(c, lib->nfns);
    for (int i = 0; i < lib->nfns; i++) reply_function(c, lib->fns[i]);
    if (with_code) {
        reply_bulk_cstr(c, "library_code");
        reply_bulk(c, lib->code, lib->code_len);
    }
}

static void function_list_command(client *c)
{
    int with_code = 0;
    const arg *pattern = NULL;
    for (int i = 2; i < c->argc; i++) {
        const arg *a = &c->argv[i];
        if (!with_code && arg_is(a->p, a->len, "withcode")) {
            with_code = 1;
        } else if (!pattern && arg_is(a->p, a->len, "libraryname")) {
            if (i + 1 >= c->argc) {
                reply_error(c, "ERR library name argument was not given");
                return;
            }
            pattern = &c->argv[++i];
        } else {
            reply_errorf(c, "ERR Unknown argument %.*s", (int)(a->len > 128 ? 128 : a->len), a->p);
            return;
        }
    }
    size_t n;
    struct library **libs = set_libraries(&live, &n);
    void *len = reply_deferred(c);
    long count = 0;
    for (size_t i = 0; i < n; i++) {
        if (pattern && !glob_match(pattern->p, pattern->len, libs[i]->name, strlen(libs[i]->name), 0))
            continue;
        reply_library(c, libs[i], with_code);
        count++;
    }
    reply_set_deferred_array(c, len, count);
    zfree(libs);
}

/* ---- FUNCTION DUMP and RESTORE --------------------------------------------------------
 *
 * Payload: "CNFN", version byte 1, then per library a uint32 length (LE)
 * and its code, then a CRC-64 (LE, snapshot.c's) of everything before. */

#define DUMP_MAGIC "CNFN"
#define DUMP_VERSION 1

static void put_le(char *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++) p[i] = (char)(v >> (8 * i));
}

static uint64_t get_le(const unsigned char *p, int bytes)
{
    uint64_t v = 0;
    for (int i = bytes - 1; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static void function_dump_command(client *c)
{
    size_t n, total = 5 + 8;
    struct library **libs = set_libraries(&live, &n);
    for (size_t i = 0; i < n; i++) total += 4 + libs[i]->code_len;
    char *buf = zmalloc(total);
    memcpy(buf, DUMP_MAGIC, 4);
    buf[4] = DUMP_VERSION;
    size_t off = 5;
    for (size_t i = 0; i < n; i++) {
        put_le(buf + off, libs[i]->code_len, 4);
        memcpy(buf + off + 4, libs[i]->code, libs[i]->code_len);
        off += 4 + libs[i]->code_len;
    }
    put_le(buf + off, snapshot_crc64(0, buf, off), 8);
    reply_bulk(c, buf, total);
    zfree(buf);
    zfree(libs);
}

/* Compiles a payload's libraries into batch; 0, or -1 with err. */
static int load_payload(const arg *payload, struct function_batch *batch, char *err, size_t errlen)
{
    const unsigned char *p = (const unsigned char *)payload->p;
    size_t len = payload->len;
    if (len < 13 || memcmp(p, DUMP_MAGIC, 4) != 0 || p[4] != DUMP_VERSION ||
        get_le(p + len - 8, 8) != snapshot_crc64(0, p, len - 8)) {
        snprintf(err, errlen, "ERR DUMP payload version or checksum are wrong");
        return -1;
    }
    size_t off = 5, end = len - 8;
    while (off < end) {
        if (end - off < 4 || get_le(p + off, 4) > end - off - 4) {
            snprintf(err, errlen, "ERR DUMP payload version or checksum are wrong");
            return -1;
        }
        size_t code_len = (size_t)get_le(p + off, 4);
        if (functions_batch_add(batch, (const char *)p + off + 4, code_len, err, errlen) == -1) return -1;
        off += 4 + code_len;
    }
    return 0;
}

enum restore_policy { RESTORE_APPEND, RESTORE_REPLACE, RESTORE_FLUSH };

/* Moves the batch's libraries into the live set by the policy; all or
 * nothing: on a collision the live set is left as it was. */
static int merge_batch(struct function_batch *batch, enum restore_policy policy, char *err, size_t errlen)
{
    if (policy == RESTORE_FLUSH) {
        functions_batch_commit(batch);
        return 0;
    }
    size_t n;
    struct library **libs = set_libraries(&batch->set, &n);
    for (size_t i = 0; i < n; i++) { /* check every collision first */
        struct library *old = find_library(&live, libs[i]->name, strlen(libs[i]->name));
        if (old && policy == RESTORE_APPEND) {
            snprintf(err, errlen, "ERR Library %s already exists", libs[i]->name);
            zfree(libs);
            return -1;
        }
        for (int j = 0; j < libs[i]->nfns; j++) {
            struct function *f = find_function(&live, libs[i]->fns[j]->name, strlen(libs[i]->fns[j]->name));
            if (f && f->lib != old) {
                snprintf(err, errlen, "ERR Function %s already exists", libs[i]->fns[j]->name);
                zfree(libs);
                return -1;
            }
        }
    }
    for (size_t i = 0; i < n; i++) {
        set_unlink(&batch->set, libs[i]);
        set_add(&live, libs[i], 1, err, errlen);
    }
    zfree(libs);
    functions_batch_free(batch);
    return 0;
}

static void function_restore_command(client *c)
{
    enum restore_policy policy = RESTORE_APPEND;
    if (c->argc == 4) {
        const arg *a = &c->argv[3];
        if (arg_is(a->p, a->len, "flush")) policy = RESTORE_FLUSH;
        else if (arg_is(a->p, a->len, "replace")) policy = RESTORE_REPLACE;
        else if (!arg_is(a->p, a->len, "append")) {
            reply_error(c, "ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.");
            return;
        }
    } else if (c->argc > 4) {
        reply_syntax_error(c);
        return;
    }
    char err[1024];
    struct function_batch *batch = functions_batch_new();
    if (load_payload(&c->argv[2], batch, err, sizeof(err)) == -1 ||
        merge_batch(batch, policy, err, sizeof(err)) == -1) {
        functions_batch_free(batch);
        reply_error(c, err);
        return;
    }
    server.dirty++;
    reply_ok(c);
}

/* ---- FUNCTION STATS, KILL, HELP ------------------------------------------------------ */

static void function_stats_command(client *c)
{
    struct script_run *run = script_lua_running();
    reply_map(c, 2);
    reply_bulk_cstr(c, "running_script");
    if (run == NULL || !run->is_function) {
        reply_null(c);
    } else {
        reply_map(c, 3);
        reply_bulk_cstr(c, "name");
        reply_bulk_cstr(c, run->sha);
        reply_bulk_cstr(c, "command");
        reply_array(c, run->caller->argc);
        for (int i = 0; i < run->caller->argc; i++) reply_bulk(c, run->caller->argv[i].p, run->caller->argv[i].len);
        reply_bulk_cstr(c, "duration_ms");
        reply_int(c, mstime() - run->start_ms);
    }
    reply_bulk_cstr(c, "engines");
    reply_map(c, 1);
    reply_bulk_cstr(c, "LUA");
    reply_map(c, 2);
    reply_bulk_cstr(c, "libraries_count");
    reply_int(c, (long long)functions_library_count());
    reply_bulk_cstr(c, "functions_count");
    reply_int(c, (long long)functions_count());
}

static void function_kill_command(client *c) { scripts_kill(c, 1); }

static void function_help_command(client *c)
{
    static const char *const lines[] = {
        "FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "LOAD [REPLACE] <FUNCTION CODE>",
        "    Create a new library with the given library name and code.",
        "DELETE <LIBRARY NAME>",
        "    Delete the given library.",
        "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
        "    Return general information on all the libraries:",
        "    * Library name",
        "    * The engine used to run the Library",
        "    * Library description",
        "    * Functions list",
        "    * Library code (if WITHCODE is given)",
        "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
        "STATS",
        "    Return information about the current function running:",
        "    * Function name",
        "    * Command used to run the function",
        "    * Duration in MS that the function is running",
        "    If no function is running, return nil",
        "    In addition, returns a list of available engines.",
        "KILL",
        "    Kill the current running function.",
        "FLUSH [ASYNC|SYNC]",
        "    Delete all the libraries.",
        "    When called without the optional mode argument, the behavior is determined by the",
        "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
        "    * ASYNC: Asynchronously flush the libraries.",
        "    * SYNC: Synchronously flush the libraries.",
        "DUMP",
        "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
        "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
        "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
        "    control how to handle existing libraries (default APPEND):",
        "    * FLUSH: delete all existing libraries.",
        "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
        "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
        "      libraries with the new libraries (notice that even on this option there is a chance of failure",
        "      in case of functions name collision with another library).",
        "HELP",
        "    Prints this help.",
    };
    reply_help(c, lines, sizeof(lines) / sizeof(lines[0]));
}

#define FCALL_FLAGS (CMD_NOSCRIPT | CMD_STALE | CMD_SKIP_MONITOR | CMD_NO_MANDATORY_KEYS | CMD_MOVABLE_KEYS)
#define FCALL_NOTE "(We cannot tell how the keys will be used so we assume the worst, "
#define ALL_SHARDS_OK "request_policy:all_shards response_policy:all_succeeded"

static struct command function_subcommands[] = {
    {"function|delete", function_delete_command, 3, CMD_WRITE | CMD_NOSCRIPT, ACL_SCRIPTING, 0, 0, 0, NULL, ALL_SHARDS_OK, "scripting", "Delete a function by name", "7.0.0", "O(1)", NULL, 0, 0, 0, 0},
    {"function|dump", function_dump_command, 2, CMD_NOSCRIPT, ACL_SCRIPTING, 0, 0, 0, NULL, NULL, "scripting", "Dump all functions into a serialized binary payload", "7.0.0", "O(N) where N is the number of functions", NULL, 0, 0, 0, 0},
    {"function|flush", function_flush_command, -2, CMD_WRITE | CMD_NOSCRIPT, ACL_SCRIPTING, 0, 0, 0, NULL, ALL_SHARDS_OK, "scripting", "Deleting all functions", "7.0.0", "O(N) where N is the number of functions deleted", NULL, 0, 0, 0, 0},
    {"function|help", function_help_command, 2, CMD_LOADING | CMD_STALE, ACL_SCRIPTING, 0, 0, 0, NULL, NULL, "scripting", "Show helpful text about the different subcommands", "7.0.0", "O(1)", NULL, 0, 0, 0, 0},
    {"function|kill", function_kill_command, 2, CMD_NOSCRIPT | CMD_ALLOW_BUSY, ACL_SCRIPTING, 0, 0, 0, NULL, "request_policy:all_shards response_policy:one_succeeded", "scripting", "Kill the function currently in execution.", "7.0.0", "O(1)", NULL, 0, 0, 0, 0},
    {"function|list", function_list_command, -2, CMD_NOSCRIPT, ACL_SCRIPTING, 0, 0, 0, NULL, "nondeterministic_output_order", "scripting", "List information about all the functions", "7.0.0", "O(N) where N is the number of functions", NULL, 0, 0, 0, 0},
    {"function|load", function_load_command, -3, CMD_WRITE | CMD_DENYOOM | CMD_NOSCRIPT, ACL_SCRIPTING, 0, 0, 0, NULL, ALL_SHARDS_OK, "scripting", "Create a function with the given arguments (name, code, description)", "7.0.0", "O(1) (considering compilation time is redundant)", NULL, 0, 0, 0, 0},
    {"function|restore", function_restore_command, -3, CMD_WRITE | CMD_DENYOOM | CMD_NOSCRIPT, ACL_SCRIPTING, 0, 0, 0, NULL, ALL_SHARDS_OK, "scripting", "Restore all the functions on the given payload", "7.0.0", "O(N) where N is the number of functions on the payload", NULL, 0, 0, 0, 0},
    {"function|stats", function_stats_command, 2, CMD_NOSCRIPT | CMD_ALLOW_BUSY, ACL_SCRIPTING, 0, 0, 0, NULL, "nondeterministic_output request_policy:all_shards response_policy:special", "scripting", "Return information about the function currently running (name, description, duration)", "7.0.0", "O(1)", NULL, 0, 0, 0, 0},
    {NULL, NULL, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0, 0},
};

static void function_container_command(client *c) { reply_arity_error(c); }

struct command function_commands[] = {
    {"fcall", fcall_command, -3, FCALL_FLAGS, ACL_SCRIPTING, 0, 0, 0, "RW access update @2#0,1,1 " FCALL_NOTE "RW and UPDATE)", NULL, "scripting", "Invoke a function", "7.0.0", "Depends on the function that is executed.", NULL, 0, 0, 0, 0},
    {"fcall_ro", fcall_ro_command, -3, FCALL_FLAGS | CMD_READONLY, ACL_SCRIPTING, 0, 0, 0, "RO access @2#0,1,1 " FCALL_NOTE "RO and ACCESS)", NULL, "scripting", "Invoke a read-only function", "7.0.0", "Depends on the function that is executed.", NULL, 0, 0, 0, 0},
    {"function", function_container_command, -2, 0, 0, 0, 0, 0, NULL, NULL, "scripting", "A container for function commands", "7.0.0", "Depends on subcommand.", function_subcommands, 0, 0, 0, 0},
    {NULL, NULL, 0, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 0, 0},
};
