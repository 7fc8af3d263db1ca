/*
 * test_modules.c - the provider registry's modules: the ones built here load
 * from build/lib/lioncub (found from the program, as an installed tool finds
 * LIBDIR/lioncub); LC_MODULE_PATH's folder is searched first, and its broken
 * modules (not an ELF object, no entry point) are skipped with the reason
 * kept, listed by lc_provider_module_at and given by lc_provider_find.
 * usage: test_modules FOLDER (with liblioncub-junk.so and liblioncub-noentry.so)
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lioncub/provider.h"

/* The module named name, or -1; its info in *m. */
static int module(const char *name, lc_module_info_t *m)
{
    m->size = sizeof(*m);
    for (int i = 0; lc_provider_module_at(i, m) == 0; i++)
        if (!strcmp(m->name, name))
            return i;
    return -1;
}

static void test_broken_skipped(void **state)
{
    lc_module_info_t m;

    (void)state;
    assert_null(lc_provider_find("junk"));
    assert_non_null(strstr(lc_last_error(), "its module did not load"));
    assert_true(module("junk", &m) >= 0);
    assert_int_equal(m.state, LC_MODULE_FAILED);
    assert_true(m.reason[0] != 0);
    assert_null(lc_provider_find("noentry"));
    assert_true(module("noentry", &m) >= 0);
    assert_int_equal(m.state, LC_MODULE_FAILED);
    assert_non_null(strstr(m.reason, "lc_prov_module_load"));
    assert_null(lc_provider_find("nosuch"));
    assert_non_null(strstr(lc_last_error(), "neither built in nor a module"));
}

static void test_built_modules_load(void **state)
{
    const lc_provider_t *const *provs;
    const char *built[] = {"ofi", "raweth"};
    lc_module_info_t m;
    int n;

    (void)state;
    provs = lc_provider_list(&n);
    assert_true(n >= 1);
    assert_string_equal(provs[0]->name, "tcp");
    assert_null(provs[n]);
    for (size_t k = 0; k < sizeof(built) / sizeof(built[0]); k++) {
        if (module(built[k], &m) < 0)
            continue; /* not built here (ofi needs libfabric) */
        assert_int_equal(m.state, LC_MODULE_LOADED);
        assert_non_null(strstr(m.path, "/lioncub/liblioncub-"));
        assert_non_null(lc_provider_find(built[k]));
        assert_ptr_equal(lc_provider_find(built[k])->wait != NULL, 1); /* completed table */
    }
    /* ^ excludes among everything usable, modules included */
    {
        const lc_provider_t *sel[8];
        int k = lc_provider_select("^tcp", sel, 8);

        if (n > 1) {
            assert_int_equal(k, n - 1);
            for (int i = 0; i < k; i++)
                assert_string_not_equal(sel[i]->name, "tcp");
        } else {
            assert_int_equal(k, LC_ERR_NO_PROVIDER);
        }
    }
}

static void test_info_size(void **state)
{
    struct {
        size_t size;
        char name[32];
    } old = {.size = sizeof(old)};
    lc_module_info_t m = {.size = 4};

    (void)state;
    assert_int_equal(lc_provider_module_at(0, (lc_module_info_t *)&old), 0);
    assert_true(old.name[0] != 0);
    assert_int_equal(lc_provider_module_at(0, &m), -EINVAL);
    assert_int_equal(lc_provider_module_at(1000, (lc_module_info_t *)&old), -ENOENT);
    assert_int_equal(lc_provider_module_at(0, NULL), -EINVAL);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_broken_skipped),
        cmocka_unit_test(test_built_modules_load),
        cmocka_unit_test(test_info_size),
    };

    if (argc != 2) {
        fprintf(stderr, "usage: %s FOLDER\n", argv[0]);
        return 2;
    }
    setenv("LC_MODULE_PATH", argv[1], 1);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
