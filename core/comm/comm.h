/* comm.h - the communicator's internal state, shared by core/comm and core/coll. */
#ifndef LC_COMM_H
#define LC_COMM_H

#include <stddef.h>
#include <stdint.h>

#include "internal.h"
#include "sec/sec.h"

/* Scratch buffer registered once with the provider for the comm's lifetime. */
typedef struct lc_scratch {
    void *buf;
    size_t len;
    void **mh;      /* one registration per peer comm (send and recv), or shared */
} lc_scratch_t;

struct lc_comm {
    int rank;
    int nranks;
    int timeout_ms;
    int failed;             /* a collective failed: the comm is unusable */
    int busy;               /* a thread is inside a collective (atomic: lc_comm_enter) */
    uint64_t job_id;
    lc_job_keys_t keys;     /* from the job's secret; job_id is keys.job_id */
    uint64_t seq;           /* collectives started, for the argument check */
    int check_args;         /* exchange a descriptor before each collective */
    size_t segment;         /* elements per pipelined vote segment */
    int vote_depth;         /* vote segments in flight */

    const lc_provider_t *prov;
    void *ctx;
    int dev;
    int reg_is_global;
    void *listen;
    void **send;            /* send[j]: connection to rank j (NULL for j == rank) */
    void **recv;            /* recv[j]: connection from rank j */

    void *scratch;          /* collective scratch, grown on demand */
    size_t scratch_len;
    void **scratch_mh;      /* per peer: [2*j] on send[j], [2*j+1] on recv[j] */

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

/* Connect every pair of ranks given all ranks' listen handles. */
LC_HIDDEN int lc_comm_connect_all(struct lc_comm *comm, const uint8_t *handles);

/* Close every provider connection (also used to abort after a failure). */
LC_HIDDEN void lc_comm_close_all(struct lc_comm *comm);

/* Scratch of at least len bytes, registered with every peer connection. */
LC_HIDDEN int lc_comm_scratch(struct lc_comm *comm, size_t len, void **buf);

/* The registration of the scratch buffer for a send to / receive from peer. */
LC_HIDDEN void *lc_comm_scratch_mh(struct lc_comm *comm, int peer, int is_recv,
                                   const void *ptr);

#endif
