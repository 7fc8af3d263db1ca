/*
 * test_ofi_errors.c - the ofi provider's errors: an unknown libfabric
 * provider, interface or domain gives -ENODEV with a message that lists what
 * libfabric offers; bad parameters and bad arguments are refused.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ofi_pair.h"

static const lc_provider_t *prov;

static void test_bad_provider(void **state)
{
    lc_prov_ctx_t *ctx = (void *)1;
    const char *msg;

    (void)state;
    setenv("LC_OFI_PROVIDER", "nosuchprov", 1);
    assert_int_equal(prov->init(NULL, &ctx), -ENODEV);
    setenv("LC_OFI_PROVIDER", "tcp;ofi_rxm", 1);
    assert_null(ctx);
    msg = lc_last_error();
    assert_non_null(strstr(msg, "'nosuchprov'"));
    assert_non_null(strstr(msg, "libfabric offers:"));
    assert_non_null(strstr(msg, "tcp;ofi_rxm(rdm)")); /* what the other tests use */
}

static void test_bad_interface_and_domain(void **state)
{
    lc_prov_ctx_t *ctx = NULL;

    (void)state;
    setenv("LC_OFI_IFNAME", "nosuchif0", 1);
    assert_int_equal(prov->init(NULL, &ctx), -ENODEV);
    assert_non_null(strstr(lc_last_error(), "nosuchif0"));
    setenv("LC_OFI_IFNAME", "lo", 1);
    setenv("LC_OFI_DOMAIN", "nosuchdomain", 1);
    assert_int_equal(prov->init(NULL, &ctx), -ENODEV);
    assert_non_null(strstr(lc_last_error(), "nosuchdomain"));
    setenv("LC_OFI_DOMAIN", "lo", 1); /* the tcp provider names domains after interfaces */
    assert_int_equal(prov->init(NULL, &ctx), 0);
    prov->fini(ctx);
    unsetenv("LC_OFI_DOMAIN");
}

static void test_bad_params(void **state)
{
    lc_prov_ctx_t *ctx = NULL;

    (void)state;
    setenv("LC_OFI_MAX_MSG", "lots", 1);
    assert_int_equal(prov->init(NULL, &ctx), LC_ERR_CONFIG);
    setenv("LC_OFI_MAX_MSG", "-5", 1);
    assert_int_equal(prov->init(NULL, &ctx), LC_ERR_CONFIG);
    unsetenv("LC_OFI_MAX_MSG");
    setenv("LC_OFI_TCP_EAGER", "-1", 1);
    assert_int_equal(prov->init(NULL, &ctx), LC_ERR_CONFIG);
    assert_non_null(strstr(lc_last_error(), "LC_OFI_TCP_EAGER"));
    setenv("LC_OFI_TCP_EAGER", "big", 1);
    assert_int_equal(prov->init(NULL, &ctx), LC_ERR_CONFIG);
    unsetenv("LC_OFI_TCP_EAGER");
    setenv("LC_OFI_MR_LOCAL", "maybe", 1);
    assert_int_equal(prov->init(NULL, &ctx), LC_ERR_CONFIG);
    unsetenv("LC_OFI_MR_LOCAL");
    assert_int_equal(prov->init(NULL, NULL), -EINVAL);
}

static void test_bad_args(void **state)
{
    ofi_pair_t p;
    lc_prov_props_t props = {.size = 0};
    char handle[LC_PROV_HANDLE_MAX] = {0}, buf[8];
    lc_prov_comm_t *out = (void *)1;
    lc_prov_req_t *rout = NULL;
    int done, n;

    (void)state;
    assert_int_equal(ofi_pair_open(&p), 0);
    assert_int_equal(prov->devices(p.a, NULL), -EINVAL);
    assert_int_equal(prov->devices(NULL, &n), -EINVAL);
    assert_int_equal(prov->wait(NULL, 10), -EINVAL);
    assert_int_equal(prov->wait(p.a, -1), -EINVAL);
    assert_int_equal(prov->wait(p.a, 100), 0); /* idle: returns after the timeout */
    assert_int_equal(prov->get_props(p.a, 0, &props), -EINVAL);
    props.size = sizeof(props);
    assert_int_equal(prov->get_props(p.a, 1, &props), -EINVAL);
    assert_int_equal(prov->listen(p.a, 1, handle, &out), -EINVAL);
    assert_null(out);
    assert_int_equal(prov->listen(p.a, 0, NULL, &out), -EINVAL);
    assert_int_equal(prov->connect(p.a, 0, handle, &out), LC_ERR_PROTO); /* not a handle */
    assert_int_equal(prov->connect(p.a, 1, p.handle, &out), -EINVAL);
    assert_int_equal(prov->accept(NULL, &out), -EINVAL);
    assert_int_equal(prov->isend(NULL, buf, 1, NULL, &rout), -EINVAL);
    assert_int_equal(prov->isend(p.send, NULL, 1, NULL, &rout), -EINVAL);
    assert_int_equal(prov->isend(p.send, buf, 1, NULL, NULL), -EINVAL);
    assert_int_equal(prov->irecv(NULL, buf, 1, NULL, &rout), -EINVAL);
    assert_int_equal(prov->irecv(p.recv, NULL, 1, NULL, &rout), -EINVAL);
    assert_int_equal(prov->test(NULL, &done, NULL), -EINVAL);
    assert_int_equal(prov->close_send(NULL), -EINVAL);
    assert_int_equal(prov->close_recv(NULL), -EINVAL);
    assert_int_equal(prov->close_listen(NULL), -EINVAL);
    ofi_pair_close(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_provider),
        cmocka_unit_test(test_bad_interface_and_domain),
        cmocka_unit_test(test_bad_params),
        cmocka_unit_test(test_bad_args),
    };

    ofi_env_or_skip();
    prov = lc_provider_find("ofi");
    return cmocka_run_group_tests(tests, NULL, NULL);
}
