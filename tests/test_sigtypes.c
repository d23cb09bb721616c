/*
 * The signal-type intern table: ids in order of first intern, idempotence,
 * the name rules, the table's limit at -1, exactly and +1, and allocation
 * failures.
 */
#include "tidal_test.h"

#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "store/sigtypes.h"

TIDAL_SUITE(sigtypes);

Test(sigtypes, ids_follow_first_intern_and_repeat)
{
    tidal_sigtypes *t;
    uint16_t view, like, again;

    TIDAL_PASS(tidal_sigtypes_open(&t));
    TIDAL_PASS(tidal_sigtypes_intern(t, "view", &view));
    TIDAL_PASS(tidal_sigtypes_intern(t, "like", &like));
    TIDAL_PASS(tidal_sigtypes_intern(t, "view", &again));
    cr_assert(view == 1 && like == 2 && again == 1);
    cr_assert_str_eq(tidal_sigtypes_name(t, view), "view");
    cr_assert_str_eq(tidal_sigtypes_name(t, like), "like");
    cr_assert_null(tidal_sigtypes_name(t, 0));
    cr_assert_null(tidal_sigtypes_name(t, 3));
    TIDAL_PASS(tidal_sigtypes_find(t, "like", &again));
    cr_assert_eq(again, like);
    TIDAL_FAIL(tidal_sigtypes_find(t, "skip", &again), TIDAL_ENOENT);
    TIDAL_FAIL(tidal_sigtypes_find(t, "", &again), TIDAL_ENOENT);
    cr_assert_eq(tidal_sigtypes_count(t), 2);
    /* intern_n reads exactly len bytes. */
    TIDAL_PASS(tidal_sigtypes_intern_n(t, "likes", 4, &again));
    cr_assert_eq(again, like);
    tidal_sigtypes_close(t);
    tidal_sigtypes_close(NULL);
}

Test(sigtypes, invalid_names_are_refused)
{
    char longest[TIDAL_SIGTYPE_NAME_BYTES_MAX];
    char too_long[TIDAL_SIGTYPE_NAME_BYTES_MAX + 1];
    tidal_sigtypes *t;
    uint16_t id;

    memset(longest, 'a', sizeof(longest) - 1);
    longest[sizeof(longest) - 1] = '\0';
    memset(too_long, 'b', sizeof(too_long) - 1);
    too_long[sizeof(too_long) - 1] = '\0';
    TIDAL_PASS(tidal_sigtypes_open(&t));
    TIDAL_PASS(tidal_sigtypes_intern(t, longest, &id));
    TIDAL_FAIL(tidal_sigtypes_intern(t, too_long, &id), TIDAL_EINVAL);
    TIDAL_FAIL(tidal_sigtypes_intern(t, "", &id), TIDAL_EINVAL);
    TIDAL_FAIL(tidal_sigtypes_intern(t, NULL, &id), TIDAL_EINVAL);
    TIDAL_FAIL(tidal_sigtypes_intern(t, "add to cart", &id), TIDAL_EINVAL);
    TIDAL_FAIL(tidal_sigtypes_intern(t, "tab\there", &id), TIDAL_EINVAL);
    TIDAL_FAIL(tidal_sigtypes_intern(t, "del\x7f", &id), TIDAL_EINVAL);
    TIDAL_FAIL(tidal_sigtypes_intern(t, "\xc3\xa9t\xc3\xa9", &id), TIDAL_EINVAL);
    TIDAL_FAIL(tidal_sigtypes_intern_n(t, "a\0b", 3, &id), TIDAL_EINVAL);
    TIDAL_PASS(tidal_sigtypes_intern(t, "add_to_cart", &id));
    TIDAL_PASS(tidal_sigtypes_intern(t, "!~", &id));
    cr_assert_eq(tidal_sigtypes_count(t), 3);
    tidal_sigtypes_close(t);
}

Test(sigtypes, table_limit_minus_one_exact_plus_one)
{
    tidal_sigtypes *t;
    char name[16];
    uint16_t id;

    TIDAL_PASS(tidal_sigtypes_open(&t));
    for (unsigned i = 1; i < TIDAL_SIGTYPES_MAX; i++) {
        snprintf(name, sizeof(name), "t%u", i);
        TIDAL_PASS(tidal_sigtypes_intern(t, name, &id));
        cr_assert_eq(id, i);
    }
    TIDAL_PASS(tidal_sigtypes_intern(t, "last", &id));
    cr_assert_eq(id, TIDAL_SIGTYPES_MAX);
    TIDAL_FAIL(tidal_sigtypes_intern(t, "one-too-many", &id), TIDAL_ELIMIT);
    TIDAL_PASS(tidal_sigtypes_intern(t, "t7", &id)); /* existing names still resolve */
    cr_assert_eq(id, 7);
    cr_assert_eq(tidal_sigtypes_count(t), TIDAL_SIGTYPES_MAX);
    cr_assert_str_eq(tidal_sigtypes_name(t, TIDAL_SIGTYPES_MAX), "last");
    tidal_sigtypes_close(t);
}

Test(sigtypes, out_of_memory_changes_nothing)
{
    tidal_sigtypes *t;
    char name[16];
    uint16_t id;
    int failures = 0;

    TIDAL_PASS(tidal_sigtypes_open(&t));
    for (unsigned i = 0; i < 300; i++) {
        int rv;
        snprintf(name, sizeof(name), "n%u", i);
        tidal__alloc_fail_after(0);
        rv = tidal_sigtypes_intern(t, name, &id);
        tidal__alloc_fail_after(-1);
        if (rv != 0) {
            cr_assert_eq(rv, TIDAL_ENOMEM);
            cr_assert_eq(tidal_sigtypes_count(t), i);
            TIDAL_FAIL(tidal_sigtypes_find(t, name, &id), TIDAL_ENOENT);
            failures++;
            /* Half way: the names array may grow while the map cannot. */
            tidal__alloc_fail_after(1);
            rv = tidal_sigtypes_intern(t, name, &id);
            tidal__alloc_fail_after(-1);
            if (rv != 0) {
                cr_assert_eq(tidal_sigtypes_count(t), i);
            }
            TIDAL_PASS(tidal_sigtypes_intern(t, name, &id));
        }
        cr_assert_eq(id, i + 1);
    }
    cr_assert(failures > 3);
    tidal_sigtypes_close(t);
}
