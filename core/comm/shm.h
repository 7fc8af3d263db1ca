/*
 * shm.h - the shared-memory path between the ranks of one host, used by the
 * two-level vote (core/coll/vote_hier.c) for its steps inside the host.
 *
 * Every rank owns one region: an anonymous memfd, mapped by the ranks of its
 * host through /proc/PID/fd/FD (process and descriptor travel in the
 * rendezvous table). It has no name anywhere, so nothing outlives the ranks,
 * whichever way they end (kill -9 included). Every rank maps the host's
 * regions side by side in local-rank order, so the same slot of all of them
 * is one strided array that the count kernels read in place. A region holds
 * LC_VOTE_DEPTH slots; slot k carries one pipelined segment at a time: the owner's packed
 * votes, then its decoded stripes. Flags in the region's header say which
 * segment (a tag: collective sequence and segment) a slot holds and which
 * tag every reader has finished with; the owner refills a slot only after
 * every reader finished with what it held.
 */
#ifndef LC_SHM_H
#define LC_SHM_H

#include <stdint.h>

#include "comm.h"

#define LC_SHM_MAX_LOCAL 64
#define LC_SHM_COST_SAMPLES 4 /* per kind of copy; the fastest counts (a slow one was preempted) */

/* One rank's region as a peer sees it: the header, then the slots. */
typedef struct lc_shm_hdr {
    uint64_t magic;
    uint64_t size;
    uint64_t slot_bytes;  /* bytes of one slot: votes, then stripes at vote_bytes */
    uint64_t vote_bytes;
    struct {
        uint64_t votes;                    /* tag of the packed votes in the slot */
        uint64_t pad1[7];
        uint64_t stripes;                  /* tag of the decoded stripes in the slot */
        uint64_t pad2[7];
        uint64_t done[LC_SHM_MAX_LOCAL];   /* per local rank: the last tag it finished reading */
    } slot[LC_VOTE_MAX_DEPTH];
} lc_shm_hdr_t;

struct lc_shm {
    int fd;
    size_t size;           /* bytes of every region (the same on every rank) */
    char *all;             /* the host's regions, local rank l's at all + l * size */
    int nlocal;
    lc_shm_hdr_t *mine;
    lc_shm_hdr_t **peer;   /* by local rank; peer[local_rank] is mine */
    int32_t *pid;          /* by local rank: its process, checked while waiting on it */
    double checked;        /* when the processes were last checked */
    uint64_t last[LC_VOTE_MAX_DEPTH]; /* the tag each of my slots held last */
    int active;            /* every rank of the comm mapped its host's regions */
    int split;             /* one host: every rank counts its stripes (LC_SHM_SPLIT) */
    int waiting;           /* a collective waits for a flag: poll, do not sleep in the provider */
    int stream;            /* LC_SHM_STREAM: LC_HIER_NEVER, _ALWAYS or _AUTO (lc_hier_names) */
    double cost[2][LC_SHM_COST_SAMPLES]; /* auto: the last seconds per byte of plain (0) and
                                          * streaming (1) copies, 0 for none yet */
    unsigned copies;       /* auto: copies timed, for the turns and the periodic try */
};

/* Create this rank's region (before the rendezvous): *pid and *fd for the table. */
LC_HIDDEN int lc_shm_create(struct lc_comm *c, int32_t *pid, int32_t *fd);

/*
 * Map the regions of the ranks on this rank's host (after the connections
 * are up: pids[r], fds[r] from the table), and agree with every rank on
 * whether the path is used (an allgather): it is when every rank of a host
 * with several ranks mapped all of them, and LC_SHM allows it. The same
 * allgather settles LC_SHM_SPLIT: split when any rank asks for it.
 */
LC_HIDDEN int lc_shm_attach(struct lc_comm *c, const int32_t *pids, const int32_t *fds);

/* While a collective waits on local ranks' flags: every 100 ms, whether the
 * process of each is alive; LC_ERR_PEER (with a message) when one is gone,
 * so a killed rank fails its host's collectives at once, not at LC_TIMEOUT. */
LC_HIDDEN int lc_shm_check_alive(struct lc_comm *c);

/*
 * Copy n bytes into this rank's region for the other local ranks to read. A
 * plain copy first fetches for ownership every line that the readers, on
 * other cores, still hold from the slot's previous segment; non-temporal
 * stores (x86-64) do not, but leave the bytes in memory rather than in a
 * cache the readers share. Which costs less depends on where the cores sit
 * (on a shared VM it changes within seconds: docs/hosts.md), so with
 * LC_SHM_STREAM=auto the copy takes the kind that was faster lately and now
 * and then times the other. Either way the bytes are published by a flag
 * stored after the call (lc_shm_store). With s NULL (no shared memory, dst
 * a private buffer) it is memcpy.
 */
LC_HIDDEN void lc_shm_put(struct lc_shm *s, void *dst, const void *src, size_t n);

/* Unmap everything and close (at destroy; fine when nothing was created). */
LC_HIDDEN void lc_shm_close(struct lc_comm *c);

/* Slot k of local rank l's region: its packed votes, and its decoded stripes. */
static inline uint64_t *lc_shm_votes(const struct lc_shm *s, int l, int k)
{
    lc_shm_hdr_t *h = s->peer[l];

    return (uint64_t *)((char *)h + sizeof(*h) + h->slot_bytes * (uint64_t)k);
}

static inline uint64_t *lc_shm_stripes(const struct lc_shm *s, int l, int k)
{
    return (uint64_t *)((char *)lc_shm_votes(s, l, k) + s->peer[l]->vote_bytes);
}

/* Tags: the collective's sequence number and the segment, never 0. */
static inline uint64_t lc_shm_tag(uint64_t seq, int seg)
{
    return seq << 32 | (uint64_t)(seg + 1);
}

static inline uint64_t lc_shm_load(const uint64_t *flag)
{
    return __atomic_load_n(flag, __ATOMIC_ACQUIRE);
}

static inline void lc_shm_store(uint64_t *flag, uint64_t v)
{
    __atomic_store_n(flag, v, __ATOMIC_RELEASE);
}

#endif
