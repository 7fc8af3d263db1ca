/*
 * test_ofi_mr.c - the ofi provider's registration cache: a buffer registered
 * once is sent many times with no new fi_mr_reg, sub-ranges are cache hits,
 * the last dereg evicts; with FI_MR_LOCAL forced, unregistered buffers are
 * registered on the fly and registered ones found in the cache.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lcofi.h"
#include "ofi_pair.h"

static void test_cache(void **state)
{
    ofi_pair_t p;
    size_t len = 1 << 20, got;
    char *s = malloc(len), *r = malloc(len);
    lcofi_mr_stats_t st0, st;
    lc_prov_mr_t *mh, *inner, *rmh;

    (void)state;
    assert_true(s && r);
    assert_int_equal(ofi_pair_open(&p), 0);
    lcofi_mr_stats(p.a, &st0);
    assert_int_equal(p.prov->reg_mr(p.send, s, len, &mh), 0);
    assert_int_equal(p.prov->reg_mr(p.recv, r, len, &rmh), 0);
    lcofi_mr_stats(p.a, &st);
    assert_int_equal(st.misses, st0.misses + 1);
    assert_int_equal(st.regs, st0.regs + 1);
    for (uint32_t i = 0; i < 50; i++) {
        size_t n = 1000 + i * 20000;

        ofi_fill(s, n, i);
        assert_int_equal(ofi_xfer(&p, s, n, mh, r, len, rmh, &got), 0);
        assert_int_equal(got, n);
        assert_true(ofi_check(r, n, i));
    }
    lcofi_mr_stats(p.a, &st0);
    assert_int_equal(st0.regs, st.regs); /* sending registered memory registers nothing */
    assert_int_equal(p.prov->reg_mr(p.send, s + 4096, 8192, &inner), 0);
    lcofi_mr_stats(p.a, &st);
    assert_int_equal(st.hits, st0.hits + 1);
    assert_int_equal(st.regs, st0.regs);
    assert_ptr_equal(inner, mh);
    assert_int_equal(p.prov->dereg_mr(p.send, inner), 0);
    lcofi_mr_stats(p.a, &st0);
    assert_int_equal(st0.deregs, st.deregs); /* still referenced */
    assert_int_equal(p.prov->dereg_mr(p.send, mh), 0);
    lcofi_mr_stats(p.a, &st);
    assert_int_equal(st.deregs, st0.deregs + 1);
    assert_int_equal(p.prov->reg_mr(p.send, s, len, &mh), 0); /* evicted: registered again */
    lcofi_mr_stats(p.a, &st0);
    assert_int_equal(st0.regs, st.regs + 1);
    assert_int_equal(p.prov->dereg_mr(p.send, mh), 0);
    assert_int_equal(p.prov->dereg_mr(p.recv, rmh), 0);
    ofi_pair_close(&p);
    free(s);
    free(r);
}

/* As if the provider asked for FI_MR_LOCAL: every buffer gets a descriptor. */
static void test_forced_local(void **state)
{
    ofi_pair_t p;
    size_t len = 256 << 10, got;
    char *s = malloc(len), *r = malloc(len), *other = malloc(len);
    lcofi_mr_stats_t st0, st;
    lc_prov_mr_t *mh;

    (void)state;
    assert_true(s && r && other);
    setenv("LC_OFI_MR_LOCAL", "1", 1);
    assert_int_equal(ofi_pair_open(&p), 0); /* control messages need descriptors too */
    unsetenv("LC_OFI_MR_LOCAL");
    assert_int_equal(p.prov->reg_mr(p.send, s, len, &mh), 0);
    lcofi_mr_stats(p.a, &st0);
    for (uint32_t i = 0; i < 10; i++) { /* NULL mhandle inside a registered buffer: hits */
        ofi_fill(s + i * 1000, 5000, i);
        assert_int_equal(ofi_xfer(&p, s + i * 1000, 5000, NULL, r, len, NULL, &got), 0);
        assert_int_equal(got, 5000);
        assert_true(ofi_check(r, 5000, i));
    }
    lcofi_mr_stats(p.a, &st);
    assert_int_equal(st.regs, st0.regs);
    assert_int_equal(st.hits, st0.hits + 10);
    ofi_fill(other, len, 77); /* unregistered memory: registered on the fly, then dropped */
    assert_int_equal(ofi_xfer(&p, other, len, NULL, r, len, NULL, &got), 0);
    assert_true(ofi_check(r, len, 77));
    lcofi_mr_stats(p.a, &st0);
    assert_int_equal(st0.regs, st.regs + 1);
    assert_int_equal(st0.deregs, st.deregs + 1);
    assert_int_equal(p.prov->dereg_mr(p.send, mh), 0);
    ofi_pair_close(&p);
    free(s);
    free(r);
    free(other);
}

static void test_bad_args(void **state)
{
    ofi_pair_t p;
    lc_prov_mr_t *mh = NULL;
    char buf[16];

    (void)state;
    assert_int_equal(ofi_pair_open(&p), 0);
    assert_int_equal(p.prov->reg_mr(NULL, buf, sizeof(buf), &mh), -EINVAL);
    assert_int_equal(p.prov->reg_mr(p.send, NULL, sizeof(buf), &mh), -EINVAL);
    assert_int_equal(p.prov->reg_mr(p.send, buf, sizeof(buf), NULL), -EINVAL);
    assert_int_equal(p.prov->dereg_mr(p.send, NULL), -EINVAL);
    ofi_pair_close(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cache),
        cmocka_unit_test(test_forced_local),
        cmocka_unit_test(test_bad_args),
    };

    ofi_env_or_skip();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
