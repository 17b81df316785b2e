/* test_agent_ports.c: port range parsing and free-port picking (agent/ports.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ports.h"

static void test_parse(void **state)
{
    (void)state;
    struct port_range r;
    assert_int_equal(ports_parse_range("7000-7999", &r), 0);
    assert_int_equal(r.first, 7000);
    assert_int_equal(r.last, 7999);
    assert_int_equal(ports_parse_range("7000", &r), 0);
    assert_int_equal(r.first, 7000);
    assert_int_equal(r.last, 7000);
    assert_int_equal(ports_parse_range("7999-7000", &r), -1);
    assert_int_equal(ports_parse_range("0-10", &r), -1);
    assert_int_equal(ports_parse_range("1-65536", &r), -1);
    assert_int_equal(ports_parse_range("a-b", &r), -1);
    assert_int_equal(ports_parse_range("-7000", &r), -1);
    assert_int_equal(ports_parse_range("7000-", &r), -1);
    assert_int_equal(ports_parse_range("", &r), -1);
    assert_int_equal(ports_parse_range("7000-7001-7002", &r), -1);
    assert_int_equal(ports_parse_range("123456-7", &r), -1);
}

static int busy_7001(int port, void *ctx)
{
    (*(int *)ctx)++;
    return port == 7001;
}

static void test_pick(void **state)
{
    (void)state;
    struct port_range r = {7000, 7003};
    int used[] = {7000, 7002};
    assert_int_equal(ports_pick(&r, NULL, 0, NULL, NULL), 7000);
    assert_int_equal(ports_pick(&r, used, 2, NULL, NULL), 7001);
    int probes = 0;
    assert_int_equal(ports_pick(&r, used, 2, busy_7001, &probes), 7003);
    assert_int_equal(probes, 2); /* used ports are not probed */
    int all[] = {7000, 7001, 7002, 7003};
    assert_int_equal(ports_pick(&r, all, 4, NULL, NULL), 0);
    assert_true(ports_in_range(&r, 7000));
    assert_true(ports_in_range(&r, 7003));
    assert_false(ports_in_range(&r, 6999));
    assert_false(ports_in_range(&r, 7004));
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_parse), cmocka_unit_test(test_pick)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
