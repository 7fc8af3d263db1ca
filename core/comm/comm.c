/*
 * comm.c - the communicator: configuration from the caller or the environment,
 * provider selection, rendezvous, the connection mesh, scratch registration.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bootstrap.h"
#include "shm.h"
#include "coll/request.h"
#include "comm.h"
#include "sock.h"

#define LC_ID_MAGIC 0x4c434944u /* "LCID" */

/* A unique id: the root's address and the job's secret (random bytes). */
struct lc_id_body {
    uint32_t magic;
    uint32_t pad;
    uint8_t secret[32];
    char root[88];
};

_Static_assert(sizeof(struct lc_id_body) <= sizeof(lc_unique_id_t), "unique id too large");

int lc_get_unique_id(lc_unique_id_t *id)
{
    struct lc_id_body body = {.magic = LC_ID_MAGIC};
    const char *root;
    char host[64] = "127.0.0.1", port[16];
    lc_job_keys_t keys;
    int64_t timeout = 60000;
    int bound, rc;

    lc_prov_env_prepare(NULL); /* before the rendezvous thread starts */
    root = lc_param_str("LC_ROOT");
    if (!id)
        return LC_EINVAL("comm", "lc_get_unique_id: NULL id");
    if (root && lc_sock_split(root, host, sizeof(host), port, sizeof(port)))
        return lc_seterr(LC_ERR_CONFIG, "comm", "LC_ROOT=%s is not host:port", root);
    if ((rc = lc_random(body.secret, sizeof(body.secret))))
        return rc;
    lc_job_keys(body.secret, sizeof(body.secret), &keys);
    lc_param_int("LC_TIMEOUT", &timeout);
    rc = lc_boot_root_start(host, "0", keys.job_id, keys.boot, (int)timeout, &bound);
    memset(&keys, 0, sizeof(keys));
    if (rc)
        return rc;
    snprintf(body.root, sizeof(body.root), strchr(host, ':') ? "[%s]:%d" : "%s:%d", host,
             bound);
    memset(id, 0, sizeof(*id));
    memcpy(id->internal, &body, sizeof(body));
    return 0;
}

/* Fill rank, size, root, key and timeout from cfg, falling back to the environment. */
static int lc_comm_resolve(const lc_comm_config_t *cfg, struct lc_comm *c, char *root,
                           size_t rootlen, int *start_root)
{
    const char *r = cfg ? cfg->root : NULL, *key;
    int64_t v;
    int rc, from_torch = 0;

    c->rank = cfg ? cfg->rank : -1;
    c->nranks = cfg ? cfg->nranks : 0;
    if (c->rank < 0 || c->nranks <= 0) {
        rc = lc_env_rank_size(&c->rank, &c->nranks, &from_torch);
        if (rc)
            return rc;
    }
    if (c->nranks < 1 || c->rank < 0 || c->rank >= c->nranks)
        return lc_seterr(-EINVAL, "comm", "rank %d is not in [0, %d)", c->rank, c->nranks);

    c->timeout_ms = cfg && cfg->timeout_ms > 0 ? cfg->timeout_ms : 0;
    if (!c->timeout_ms) {
        rc = lc_param_int("LC_TIMEOUT", &v); /* has a default, its range is the registry's */
        if (rc)
            return rc;
        c->timeout_ms = (int)v;
    }

    *start_root = 0;
    if (cfg && cfg->id) {
        struct lc_id_body body;

        memcpy(&body, cfg->id->internal, sizeof(body));
        if (body.magic != LC_ID_MAGIC)
            return lc_seterr(-EINVAL, "comm", "the unique id is not from lc_get_unique_id");
        body.root[sizeof(body.root) - 1] = 0;
        snprintf(root, rootlen, "%s", body.root);
        lc_job_keys(body.secret, sizeof(body.secret), &c->keys);
        c->job_id = c->keys.job_id;
        return 0;
    }
    key = cfg && cfg->job_key ? cfg->job_key : lc_param_str("LC_JOB_KEY");
    if (key && !*key)
        key = NULL; /* an empty key is no key */
    lc_job_keys(key, key ? strlen(key) : 0, &c->keys);
    c->job_id = c->keys.job_id;
    if (!r)
        r = lc_param_str("LC_ROOT");
    if (!r && from_torch) {
        rc = lc_env_torch_root(root, rootlen);
        if (rc != -ENOENT) {
            *start_root = rc == 0 && c->rank == 0;
            return rc;
        }
    }
    if (!r) {
        if (c->nranks > 1)
            return lc_seterr(LC_ERR_CONFIG, "comm",
                             "%d ranks need a rendezvous: set LC_ROOT=host:port", c->nranks);
        root[0] = 0;
        return 0;
    }
    snprintf(root, rootlen, "%s", r);
    *start_root = c->rank == 0;
    return 0;
}

/* Initialise the first provider of the list that has a device, and listen on it. */
static int lc_comm_open_provider(struct lc_comm *c, const char *list, void *handle)
{
    const lc_provider_t *provs[8];
    lc_prov_init_opts_t opts = {.size = sizeof(opts), .job_id = c->job_id, .rank = c->rank};
    int n, rc = LC_ERR_NO_PROVIDER;

    memcpy(opts.key, c->keys.prov, sizeof(opts.key));
    n = lc_provider_select(list, provs, 8);
    if (n < 0)
        return n;
    for (int i = 0; i < n; i++) {
        lc_prov_props_t props = {.size = sizeof(props)};
        int ndev = 0;

        rc = provs[i]->init(&opts, &c->ctx);
        if (!rc)
            rc = provs[i]->devices(c->ctx, &ndev);
        if (!rc && ndev < 1)
            rc = -ENODEV;
        if (!rc)
            rc = provs[i]->get_props(c->ctx, 0, &props);
        if (!rc)
            rc = provs[i]->listen(c->ctx, 0, handle, &c->listen);
        if (!rc) {
            c->prov = provs[i];
            c->dev = 0;
            c->reg_is_global = props.reg_is_global;
            LC_INFO("comm", "rank %d of %d on provider %s device %s", c->rank, c->nranks,
                    provs[i]->name, props.name);
            return 0;
        }
        LC_WARN("comm", "provider %s unusable: %s", provs[i]->name, lc_strerror(rc));
        if (c->ctx)
            provs[i]->fini(c->ctx);
        c->ctx = NULL;
    }
    return rc;
}

/* A job without a key whose rendezvous is reachable from other hosts runs only
 * when the user opts out with LC_INSECURE=1. */
static int lc_comm_check_key(const struct lc_comm *c, const char *host)
{
    int64_t insecure = 0;
    int rc;

    if (c->job_id || (rc = lc_sock_is_loopback(host)) == 1)
        return 0;
    if (rc < 0)
        return rc;
    if (!lc_param_int("LC_INSECURE", &insecure) && insecure) {
        LC_WARN("comm", "no LC_JOB_KEY and LC_INSECURE=1: anyone who reaches %s may join", host);
        return 0;
    }
    return lc_seterr(LC_ERR_CONFIG, "comm",
                     "the rendezvous %s is not on loopback and the job has no key: set the "
                     "same LC_JOB_KEY on every rank (or LC_INSECURE=1 to run unauthenticated)",
                     host);
}

int lc_comm_init(const lc_comm_config_t *cfg, lc_comm_t **out)
{
    lc_comm_config_t cfg_full; /* the caller's cfg at this build's size */
    struct lc_comm *c;
    lc_boot_info_t self = {0};
    lc_boot_entry_t *table = NULL;
    uint8_t *handles = NULL;
    uint64_t *keys = NULL;
    int32_t *shm_ids = NULL; /* pid, then descriptor, of every rank's region */
    char root[128], host[112], port[16];
    int64_t v;
    int rc, start_root, progress_thread;

    if (!out)
        return LC_EINVAL("comm", "lc_comm_init: NULL output");
    *out = NULL;
    if (cfg && (rc = lc_struct_in(cfg, &cfg_full, sizeof(cfg_full), "lc_comm_config_t")))
        return rc;
    cfg = cfg ? &cfg_full : NULL;
    lc_prov_env_prepare(cfg ? cfg->provider : NULL);
    /* every LC_* value against the registry's rules, and the kernels' level */
    rc = lc_params_check();
    if (!rc && (rc = lc_simd_active()) >= 0)
        rc = 0;
    if (rc)
        return rc;
    c = calloc(1, sizeof(*c));
    if (!c)
        return -ENOMEM;
    pthread_mutex_init(&c->lock, NULL);
    rc = lc_comm_resolve(cfg, c, root, sizeof(root), &start_root);
    if (rc)
        goto fail;
    lc_log_set_rank(c->rank);
    /* these have defaults, and values the registry's rules accept */
    if ((rc = lc_param_int("LC_SEGMENT", &v)))
        goto fail;
    c->segment = (size_t)v;
    if ((rc = lc_param_int("LC_VOTE_DEPTH", &v)))
        goto fail;
    c->vote_depth = (int)v;
    if ((rc = lc_param_int("LC_VOTE_DIRECT", &v)))
        goto fail;
    c->vote_direct = (size_t)v;
    if ((rc = lc_param_int("LC_CHECK_ARGS", &v)))
        goto fail;
    c->check_args = v != 0;
    if ((rc = lc_param_int("LC_PROGRESS_THREAD", &v)))
        goto fail;
    progress_thread = v != 0;
    if ((rc = lc_param_word("LC_HIER")) < 0) {
        rc = lc_param_check("LC_HIER");
        goto fail;
    }
    c->hier = rc;

    c->send = calloc((size_t)c->nranks, sizeof(*c->send));
    c->recv = calloc((size_t)c->nranks, sizeof(*c->recv));
    handles = calloc((size_t)c->nranks, LC_PROV_HANDLE_MAX);
    table = calloc((size_t)c->nranks, sizeof(*table));
    keys = calloc((size_t)c->nranks, sizeof(*keys));
    shm_ids = calloc(2 * (size_t)c->nranks, sizeof(*shm_ids));
    if (!c->send || !c->recv || !handles || !table || !keys || !shm_ids) {
        rc = -ENOMEM;
        goto fail;
    }
    rc = lc_comm_open_provider(c, cfg ? cfg->provider : NULL, self.handle);
    if (rc)
        goto fail;
    if (c->nranks == 1 && !root[0]) {
        rc = lc_topo_build(c, NULL);
        if (rc)
            goto fail;
        goto done;
    }

    if (lc_sock_split(root, host, sizeof(host), port, sizeof(port))) {
        rc = lc_seterr(LC_ERR_CONFIG, "comm", "LC_ROOT=%s is not host:port", root);
        goto fail;
    }
    if ((rc = lc_comm_check_key(c, host)))
        goto fail;
    if (start_root) {
        rc = lc_boot_root_start(host, port, c->job_id, c->keys.boot, c->timeout_ms, NULL);
        if (rc)
            goto fail;
    }
    self.rank = c->rank;
    self.nranks = c->nranks;
    self.job_id = c->job_id;
    memcpy(self.key, c->keys.boot, sizeof(self.key));
    snprintf(self.provider, sizeof(self.provider), "%s", c->prov->name);
    self.host = lc_topo_host_key(cfg ? cfg->host : NULL);
    if ((rc = lc_shm_create(c, &self.shm_pid, &self.shm_fd)))
        goto fail;
    rc = lc_boot_exchange(host, port, &self, c->timeout_ms, table);
    if (rc)
        goto fail;
    for (int i = 0; i < c->nranks; i++) {
        memcpy(handles + (size_t)i * LC_PROV_HANDLE_MAX, table[i].handle, LC_PROV_HANDLE_MAX);
        keys[i] = table[i].host;
        shm_ids[i] = table[i].shm_pid;
        shm_ids[c->nranks + i] = table[i].shm_fd;
    }
    if ((rc = lc_topo_build(c, keys)))
        goto fail;
    rc = lc_comm_connect_all(c, handles);
    if (!rc)
        rc = lc_shm_attach(c, shm_ids, shm_ids + c->nranks);
    if (rc)
        goto fail;
done:
    if (progress_thread && c->nranks > 1 && (rc = lc_progress_thread_start(c)))
        goto fail;
    free(handles);
    free(table);
    free(keys);
    free(shm_ids);
    *out = c;
    return 0;
fail:
    free(handles);
    free(table);
    free(keys);
    free(shm_ids);
    lc_comm_destroy(c);
    return rc;
}

int lc_comm_destroy(lc_comm_t *c)
{
    if (!c)
        return 0;
    lc_progress_thread_stop(c);
    pthread_mutex_lock(&c->lock);
    if (lc_comm_in_flight(c)) {
        lc_seterr(-ECANCELED, "comm", "rank %d: communicator destroyed with collectives in flight",
                  c->rank);
        lc_comm_fail_requests(c, -ECANCELED);
    }
    if (c->prov)
        lc_comm_close_all(c);
    lc_comm_free_requests(c);
    pthread_mutex_unlock(&c->lock);
    if (c->ctx)
        c->prov->fini(c->ctx);
    lc_comm_scratch_free(c);
    lc_shm_close(c);
    pthread_mutex_destroy(&c->lock);
    free(c->send);
    free(c->recv);
    free(c->host_of);
    memset(&c->keys, 0, sizeof(c->keys));
    free(c);
    return 0;
}

int lc_comm_rank(const lc_comm_t *c)
{
    return c ? c->rank : LC_EINVAL("comm", "lc_comm_rank: NULL comm");
}

int lc_comm_size(const lc_comm_t *c)
{
    return c ? c->nranks : LC_EINVAL("comm", "lc_comm_size: NULL comm");
}

const char *lc_comm_provider(const lc_comm_t *c)
{
    return c && c->prov ? c->prov->name : NULL;
}

int lc_comm_get_stats(const lc_comm_t *c, lc_comm_stats_t *stats)
{
    if (!c || !stats)
        return LC_EINVAL("comm", "lc_comm_get_stats: NULL argument");
    return lc_struct_out(stats, &c->stats, sizeof(c->stats), "lc_comm_stats_t");
}
