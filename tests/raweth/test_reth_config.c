/*
 * test_reth_config.c - raweth configuration errors that need no privileges:
 * bad LC_RAWETH_* values, an unknown interface, malformed handles and
 * arguments, each refused with its own code before any socket is opened.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "reth_fault.h"

static const lc_provider_t *prov;

static int try_init(void)
{
    lc_prov_init_opts_t o = {.size = sizeof(o), .job_id = 1, .rank = 0};
    lc_prov_ctx_t *ctx = NULL;
    int rc = prov->init(&o, &ctx);

    if (rc == 0)
        prov->fini(ctx);
    return rc;
}

static void clear_env(void)
{
    unsetenv("LC_RAWETH_MODE");
    unsetenv("LC_RAWETH_WINDOW");
    unsetenv("LC_RAWETH_RING");
    unsetenv("LC_RAWETH_FAULT");
    setenv("LC_RAWETH_IFNAME", "lcreth-none0", 1);
}

static void test_bad_values(void **state)
{
    clear_env();
    setenv("LC_RAWETH_MODE", "carrier-pigeon", 1);
    assert_int_equal(try_init(), LC_ERR_CONFIG);
    assert_non_null(strstr(lc_last_error(), "LC_RAWETH_MODE"));
    clear_env();
    setenv("LC_RAWETH_WINDOW", "8", 1);
    assert_int_equal(try_init(), LC_ERR_CONFIG);
    setenv("LC_RAWETH_WINDOW", "lots", 1);
    assert_int_equal(try_init(), LC_ERR_CONFIG);
    clear_env();
    setenv("LC_RAWETH_RING", "4K", 1);
    assert_int_equal(try_init(), LC_ERR_CONFIG);
    clear_env();
    setenv("LC_RAWETH_FAULT", "loss=0.1,wobble=2", 1);
    assert_int_equal(try_init(), LC_ERR_CONFIG);
    assert_non_null(strstr(lc_last_error(), "LC_RAWETH_FAULT"));
    clear_env();
    /* Valid values get as far as the interface, which does not exist. */
    setenv("LC_RAWETH_WINDOW", "100", 1);
    setenv("LC_RAWETH_FAULT", "loss=0.1,dup=0.01,reorder=0.2,delay=3,corrupt=0.001,seed=9", 1);
    assert_int_equal(try_init(), -ENODEV);
    assert_non_null(strstr(lc_last_error(), "lcreth-none0"));
    clear_env();
}

static void test_fault_spec(void **state)
{
    reth_fault_t *f = (reth_fault_t *)1;

    assert_int_equal(reth_fault_parse(NULL, &f), 0);
    assert_null(f);
    assert_int_equal(reth_fault_parse("", &f), 0);
    assert_null(f);
    assert_int_equal(reth_fault_parse("loss=0.5", &f), 0);
    assert_non_null(f);
    reth_fault_free(f);
    assert_int_equal(reth_fault_parse("loss=-1", &f), LC_ERR_CONFIG);
    assert_int_equal(reth_fault_parse("loss=0.1;dup=2", &f), LC_ERR_CONFIG);
    assert_int_equal(reth_fault_parse("loss", &f), LC_ERR_CONFIG);
}

static void test_bad_arguments(void **state)
{
    uint8_t handle[LC_PROV_HANDLE_MAX];
    lc_prov_comm_t *comm = (void *)1;
    lc_prov_req_t *req = NULL;
    int done;

    assert_int_equal(prov->init(NULL, NULL), -EINVAL);
    assert_int_equal(prov->listen(NULL, 0, handle, &comm), -EINVAL);
    assert_int_equal(prov->connect(NULL, 0, handle, &comm), -EINVAL);
    assert_int_equal(prov->accept(NULL, &comm), -EINVAL);
    assert_int_equal(prov->isend(NULL, handle, 1, NULL, &req), -EINVAL);
    assert_int_equal(prov->irecv(NULL, handle, 1, NULL, &req), -EINVAL);
    assert_int_equal(prov->test(NULL, &done, NULL), -EINVAL);
    assert_int_equal(prov->close_send(NULL), -EINVAL);
    assert_int_equal(prov->close_recv(NULL), -EINVAL);
    assert_int_equal(prov->close_listen(NULL), -EINVAL);
    assert_int_equal(prov->devices(NULL, &done), -EINVAL);
    prov->fini(NULL);
}

static void test_ops_complete(void **state)
{
    assert_int_equal(prov->size, sizeof(lc_provider_t));
    assert_string_equal(prov->name, "raweth");
    assert_true(prov->init && prov->fini && prov->devices && prov->get_props && prov->listen &&
                prov->connect && prov->accept && prov->reg_mr && prov->dereg_mr && prov->isend &&
                prov->irecv && prov->test && prov->close_send && prov->close_recv &&
                prov->close_listen);
    assert_non_null(prov->params);
    assert_string_equal(prov->params[0].name, "LC_RAWETH_IFNAME");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ops_complete),
        cmocka_unit_test(test_bad_values),
        cmocka_unit_test(test_fault_spec),
        cmocka_unit_test(test_bad_arguments),
    };
    prov = lc_provider_find("raweth");
    if (!prov)
        return 77;
    return cmocka_run_group_tests(tests, NULL, NULL);
}
