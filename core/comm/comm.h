/* comm.h - the communicator's internal state, shared by core/comm and core/coll. */
#ifndef LC_COMM_H
#define LC_COMM_H

#include <stddef.h>
#include <pthread.h>
#include <stdint.h>

#include "internal.h"
#include "sec/sec.h"

/*
 * A scratch buffer of the collectives, registered with every peer connection
 * once and kept for the comm's lifetime: a collective in flight holds one, so
 * that several can run at once, and the next collective of a shape that ran
 * before allocates and registers nothing.
 */
typedef struct lc_scratch {
    void *buf;
    size_t len;
    lc_prov_mr_t **mh; /* per peer: [2*j] on send[j], [2*j+1] on recv[j] */
    int busy;       /* held by a collective in flight */
} lc_scratch_t;

struct lc_request;

struct lc_comm {
    int rank;
    int nranks;
    int timeout_ms;
    int failed;             /* a collective failed: the comm is unusable */
    int busy;               /* a thread is inside a collective (atomic: lc_comm_enter) */
    uint64_t job_id;
    lc_job_keys_t keys;     /* from the job's secret; job_id is keys.job_id */
    uint64_t seq;           /* collectives started, for the argument check */
    int check_args;         /* send a descriptor ahead of each collective's data */
    size_t segment;         /* elements per pipelined vote segment */
    int vote_depth;         /* vote segments in flight */
    size_t vote_direct;     /* LC_VOTE_DIRECT: bytes a one-round vote may send per rank */
    int hier;               /* LC_HIER: LC_HIER_NEVER, _ALWAYS or _AUTO */

    /* topology (core/comm/topo.c) */
    int *host_of;           /* host index of every rank; hosts in order of their lowest rank */
    int nhosts;
    int local_rank;         /* index among the ranks of this rank's host */
    int local_size;
    int max_local;          /* most ranks on one host */
    struct lc_shm *shm;     /* shared memory with the ranks of this host (core/comm/shm.c) */

    const lc_provider_t *prov;
    lc_prov_ctx_t *ctx;
    int dev;
    int reg_is_global;
    lc_prov_comm_t *listen;
    lc_prov_comm_t **send;     /* send[j]: connection to rank j (NULL for j == rank) */
    lc_prov_comm_t **recv;     /* recv[j]: connection from rank j */

    lc_scratch_t **scratch; /* scratch buffers, grown on demand (entries never move) */
    int nscratch;

    pthread_mutex_t lock;   /* the request queue and the engine (core/coll/request.c) */
    struct lc_request *reqs;          /* collectives issued and not yet freed, in issue order */
    struct lc_request *req_free[4];   /* finished ones kept per kind (LC_REQ_NKINDS) */
    struct lc_progress_thread *progress; /* LC_PROGRESS_THREAD, or NULL */

    uint64_t xfers_posted;  /* transfers handed to the provider (the engine's passes) */
    uint64_t xfers_reported; /* of those, reported (or dropped) by its progress op */
    lc_comm_stats_t stats;
};

/*
 * The environment's view of rank and size (LC_*, OMPI_*, PMI_*, SLURM_*, then
 * PyTorch's RANK/WORLD_SIZE); *from_torch tells whether torch's pair was used.
 */
LC_HIDDEN int lc_env_rank_size(int *rank, int *nranks, int *from_torch);

/*
 * PyTorch's rendezvous as lioncub's: MASTER_ADDR at MASTER_PORT +
 * LC_TORCH_PORT_OFFSET into root; -ENOENT when either is unset.
 */
LC_HIDDEN int lc_env_torch_root(char *root, size_t len);

/* 64-bit FNV-1a hash (not keyed), used to compare collective descriptors. */
LC_HIDDEN uint64_t lc_hash64(const void *data, size_t len, uint64_t seed);

enum { LC_HIER_NEVER = 0, LC_HIER_ALWAYS = 1, LC_HIER_AUTO = 2 }; /* lc_hier_names */

/* A rank's host key: from name (lc_comm_config_t.host), else LC_HOST, else the
 * hostname, boot id and network namespace (ranks in other namespaces reach it
 * over a network). */
LC_HIDDEN uint64_t lc_topo_host_key(const char *name);

/* How this process's host key is made, and the key, in words (lc_info). */
LC_HIDDEN void lc_topo_describe(char *buf, size_t len);

/* Set c's topology from every rank's host key (keys[rank]; NULL: a single rank). */
LC_HIDDEN int lc_topo_build(struct lc_comm *c, const uint64_t *keys);

/* Whether collectives on c run in two levels (LC_HIER and the layout). */
LC_HIDDEN int lc_topo_two_level(const struct lc_comm *c);

/* Connect every pair of ranks given all ranks' listen handles. */
LC_HIDDEN int lc_comm_connect_all(struct lc_comm *comm, const uint8_t *handles);

/* Close every provider connection (also used to abort after a failure). */
LC_HIDDEN void lc_comm_close_all(struct lc_comm *comm);

/* Hold a scratch buffer of at least len bytes, registered with every peer connection. */
LC_HIDDEN int lc_comm_scratch_get(struct lc_comm *comm, size_t len, lc_scratch_t **s);

/* Give a held scratch buffer back (NULL is fine). */
LC_HIDDEN void lc_comm_scratch_put(lc_scratch_t *s);

/* Drop every scratch registration (before the connections close). */
LC_HIDDEN void lc_comm_scratch_dereg_all(struct lc_comm *comm);

/* Free every scratch buffer (at destroy, connections closed). */
LC_HIDDEN void lc_comm_scratch_free(struct lc_comm *comm);

/* The registration of the scratch buffer holding ptr for a send to / receive from peer. */
LC_HIDDEN lc_prov_mr_t *lc_comm_scratch_mh(struct lc_comm *comm, int peer, int is_recv,
                                   const void *ptr);

#endif
