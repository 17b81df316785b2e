/* test_command_docs.c: unit tests for cachenode/command_docs.c: every entry
 * of the COMMAND DOCS table parses and names a command cachenode has, the
 * notation's parser builds the right tree and refuses malformed text, and
 * the reply has Redis's field order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "command_docs.h"
#include "test_client.h"

/* "name" or "container|sub", as COMMAND DOCS finds them. */
static const struct command *find_full_name(const char *name)
{
    const char *bar = strchr(name, '|');
    struct command *cmd = command_lookup(name, bar ? (size_t)(bar - name) : strlen(name));
    if (bar == NULL || cmd == NULL || cmd->subcommands == NULL) return bar ? NULL : cmd;
    for (struct command *s = cmd->subcommands; s->name; s++)
        if (strcmp(s->name, name) == 0) return s;
    return NULL;
}

/* Key specs are ';'-separated (see struct command). */
static int key_spec_count(const char *specs)
{
    int n = 0;
    for (const char *p = specs; p && *p;) {
        size_t len = strcspn(p, ";");
        if (strspn(p, " ") < len) n++;
        p += len + (p[len] == ';');
    }
    return n;
}

static void test_every_entry_is_well_formed(void **state)
{
    (void)state;
    size_t n;
    const struct command_doc *docs = command_docs_all(&n);
    assert_true(n > 50);
    for (size_t i = 0; i < n; i++) {
        char err[128] = "";
        if (command_doc_check(&docs[i], err, sizeof(err)) != 0) fail_msg("%s: %s", docs[i].name, err);
        if (find_full_name(docs[i].name) == NULL) fail_msg("%s: no such command", docs[i].name);
        for (size_t j = 0; j < i; j++)
            if (strcmp(docs[i].name, docs[j].name) == 0) fail_msg("%s: two entries", docs[i].name);
    }
}

static void test_key_indexes_name_key_specs(void **state)
{
    (void)state;
    size_t n;
    const struct command_doc *docs = command_docs_all(&n);
    for (size_t i = 0; i < n; i++) {
        struct doc_tree t;
        char err[128];
        if (docs[i].args == NULL) continue;
        assert_int_equal(doc_parse_args(docs[i].args, &t, err, sizeof(err)), 0);
        int specs = key_spec_count(find_full_name(docs[i].name)->key_specs);
        for (int a = 0; a < t.count; a++)
            if (t.arg[a].key_spec_index >= specs)
                fail_msg("%s: key_spec_index %d of %d specs", docs[i].name, t.arg[a].key_spec_index, specs);
    }
}

static int span_eq(struct doc_span s, const char *want)
{
    if (want == NULL) return s.p == NULL;
    return s.p != NULL && s.len == strlen(want) && memcmp(s.p, want, s.len) == 0;
}

static void test_parser_builds_the_tree(void **state)
{
    (void)state;
    struct doc_tree t;
    char err[128] = "";
    const char *s = "key:key@0* oneof:f=TYPE? since=2.8.12 (NX string:ip:port deprecated=2.8.12) "
                    "string:p=lib-name?*+";
    assert_int_equal(doc_parse_args(s, &t, err, sizeof(err)), 0);
    assert_int_equal(t.count, 5);
    const struct doc_arg *a = t.arg;
    assert_true(span_eq(a[0].name, "key") && span_eq(a[0].type, "key") && a[0].key_spec_index == 0);
    assert_int_equal(a[0].flags, DOC_ARG_MULTIPLE);
    assert_int_equal(a[0].next, 1);
    assert_true(span_eq(a[1].type, "oneof") && span_eq(a[1].token, "TYPE") && span_eq(a[1].since, "2.8.12"));
    assert_int_equal(a[1].child, 2);
    assert_int_equal(a[1].next, 4);
    assert_true(span_eq(a[2].type, "pure-token") && span_eq(a[2].token, "NX") && a[2].lower_name);
    assert_int_equal(a[2].next, 3);
    assert_true(span_eq(a[3].name, "ip:port") && span_eq(a[3].deprecated_since, "2.8.12"));
    assert_true(span_eq(a[3].token, NULL) && a[3].next == -1 && a[3].key_spec_index == -1);
    assert_true(span_eq(a[4].token, "lib-name"));
    assert_int_equal(a[4].flags, DOC_ARG_OPTIONAL | DOC_ARG_MULTIPLE | DOC_ARG_MULTIPLE_TOKEN);

    /* a pattern may name a key spec (SORT's BY and GET), or not (SCAN's MATCH) */
    assert_int_equal(doc_parse_args("pattern:pattern=GET@1?*+ pattern:p=MATCH?", &t, err, sizeof(err)), 0);
    assert_int_equal(t.count, 2);
    assert_true(span_eq(t.arg[0].token, "GET") && t.arg[0].key_spec_index == 1);
    assert_int_equal(t.arg[0].flags, DOC_ARG_OPTIONAL | DOC_ARG_MULTIPLE | DOC_ARG_MULTIPLE_TOKEN);
    assert_int_equal(t.arg[1].key_spec_index, -1);
}

static void test_parser_refuses_malformed(void **state)
{
    (void)state;
    const char *bad[] = {
        "",                          /* no arguments */
        "key:key",                   /* a key without @N */
        "string:s@0",                /* @N on a non-key */
        "integer:i@0",               /* @N on a non-key */
        "strin:s",                   /* unknown type */
        "lower",                     /* neither type:name nor TOKEN */
        ":name",                     /* empty type */
        "string:",                   /* empty name */
        "string:s=",                 /* empty token */
        "string:s?? ",               /* repeated mark */
        "string:s!",                 /* unknown mark */
        "key:k@0@1",                 /* two key indexes */
        "key:k@",                    /* @ without a number */
        "since=1.0.0 string:s",      /* attribute before any argument */
        "NX since=1.0 since=2.0",    /* repeated attribute */
        "NX since=",                 /* empty attribute */
        "oneof:o",                   /* a group without arguments */
        "oneof:o ()",                /* an empty group */
        "oneof:o (NX",               /* unclosed */
        "NX)",                       /* unbalanced */
        "string:s (NX)",             /* a group on a non-group */
        "oneof:o (NX) (XX)",         /* two groups */
        "pure-token:nx",             /* a pure-token without a token */
        "block:a (block:b (block:c (block:d (block:e (block:f (block:g (NX)))))))", /* too deep */
        "ABCDEFGHIJABCDEFGHIJABCDEFGHIJABCDEFGHIJABCDEFGHIJABCDEFGHIJABCDEFGHIJ", /* token too long */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct doc_tree t;
        char err[128] = "";
        if (doc_parse_args(bad[i], &t, err, sizeof(err)) != -1) fail_msg("accepted '%s'", bad[i]);
        assert_true(err[0] != '\0');
    }
}

static void test_parser_bounds_the_argument_count(void **state)
{
    (void)state;
    char s[DOC_MAX_ARGS * 3 + 8];
    size_t n = 0;
    for (int i = 0; i <= DOC_MAX_ARGS; i++) n += (size_t)snprintf(s + n, sizeof(s) - n, "NX ");
    struct doc_tree t;
    char err[128];
    assert_int_equal(doc_parse_args(s, &t, err, sizeof(err)), -1);
    s[3 * DOC_MAX_ARGS] = '\0';
    assert_int_equal(doc_parse_args(s, &t, err, sizeof(err)), 0);
    assert_int_equal(t.count, DOC_MAX_ARGS);
}

static void test_bad_entries_are_refused(void **state)
{
    (void)state;
    const struct command_doc bad[] = {
        {.name = "x", .history = ""},
        {.name = "x", .history = "1.0.0"},
        {.name = "x", .history = "v1 text"},
        {.name = "x", .history = "1.0.0 text\n"},
        {.name = "x", .doc_flags = DOC_DEPRECATED},
        {.name = "x", .deprecated_since = "1.0.0"},
        {.name = "x", .doc_flags = DOC_SYSCMD, .replaced_by = "`Y`"},
        {.name = "x", .doc_flags = DOC_DEPRECATED, .deprecated_since = "soon"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char err[128] = "";
        assert_int_equal(command_doc_check(&bad[i], err, sizeof(err)), -1);
        assert_true(err[0] != '\0');
    }
}

/* The reply's bytes for GETSET and for a command without an entry. */
static void test_reply_fields(void **state)
{
    (void)state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    client *c = test_client_new(fds[1]);
    c->resp = 3;
    struct doc_reply r;
    assert_int_equal(doc_reply_load("getset", &r), 4);
    reply_doc_fields(c, &r);
    const char *want = "$9\r\ndoc_flags\r\n~1\r\n+deprecated\r\n"
                       "$16\r\ndeprecated_since\r\n$5\r\n6.2.0\r\n"
                       "$11\r\nreplaced_by\r\n$30\r\n`SET` with the `!GET` argument\r\n"
                       "$9\r\narguments\r\n*2\r\n"
                       "%3\r\n$4\r\nname\r\n$3\r\nkey\r\n$4\r\ntype\r\n$3\r\nkey\r\n"
                       "$14\r\nkey_spec_index\r\n:0\r\n"
                       "%2\r\n$4\r\nname\r\n$5\r\nvalue\r\n$4\r\ntype\r\n$6\r\nstring\r\n";
    assert_int_equal(c->bufpos, strlen(want));
    assert_memory_equal(c->buf, want, strlen(want));
    assert_int_equal(doc_reply_load("randomkey", &r), 0);
    reply_doc_fields(c, &r);
    assert_int_equal(c->bufpos, strlen(want));
    test_client_free(c);
    assert_int_equal(close(fds[0]), 0);
    assert_int_equal(close(fds[1]), 0);
}

int main(void)
{
    commands_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_entry_is_well_formed),
        cmocka_unit_test(test_key_indexes_name_key_specs),
        cmocka_unit_test(test_parser_builds_the_tree),
        cmocka_unit_test(test_parser_refuses_malformed),
        cmocka_unit_test(test_parser_bounds_the_argument_count),
        cmocka_unit_test(test_bad_entries_are_refused),
        cmocka_unit_test(test_reply_fields),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
