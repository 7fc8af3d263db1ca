/*
 * lcofi.h - internal types of the libfabric ("ofi") provider: the context
 * (one fabric, domain, address vector, completion queue and RDM endpoint,
 * shared by every comm), comms, requests, the registration cache, and the
 * tag layout that keeps connections apart and messages in order.
 */
#ifndef LCOFI_H
#define LCOFI_H

#include <pthread.h>
#include <stdint.h>

#include <rdma/fabric.h>
#include <rdma/fi_cm.h>
#include <rdma/fi_domain.h>
#include <rdma/fi_endpoint.h>
#include <rdma/fi_errno.h>
#include <rdma/fi_tagged.h>

#include "lioncub/provider_sdk.h"

LC_HIDDEN extern const lc_provider_t lc_prov_ofi;

#define LCOFI_SUBSYS   "ofi"
#define LCOFI_MAGIC    0x4c434f46u /* "LCOF" */
#define LCOFI_ADDR_MAX 104         /* endpoint name bytes that fit in a handle */

/*
 * Tag layout. Control messages (handshake, reply) have bit 63 set and carry
 * a listener id or a connect cookie in the low 32 bits. Data messages carry
 * the receiver-assigned comm id, the message sequence number and the chunk
 * index; bit 62 marks the last chunk of a message. Receives are posted with
 * the exact tag (only the last-chunk bit ignored), so a message can only land
 * in the receive posted for its connection and position, whatever order the
 * provider delivers in.
 */
#define LCOFI_TAG_CTRL   (1ULL << 63)
#define LCOFI_TAG_ACK    (1ULL << 62)
#define LCOFI_TAG_LAST   (1ULL << 62)
#define LCOFI_COMM_SHIFT 40
#define LCOFI_COMM_MASK  ((1u << 22) - 1)
#define LCOFI_SEQ_SHIFT  16
#define LCOFI_SEQ_MASK   ((1u << 24) - 1)
#define LCOFI_CHUNK_MAX  (1u << 16)

/* What a posted operation belongs to; its completion is dispatched on this. */
typedef enum lcofi_op_kind {
    LCOFI_OP_DATA = 1, /* a chunk of a request */
    LCOFI_OP_DRAIN,    /* a zero-length receive swallowing an oversized message's tail */
    LCOFI_OP_HS_RECV,  /* listener: waiting for a handshake */
    LCOFI_OP_HS_SEND,  /* connector: handshake sent */
    LCOFI_OP_ACK_RECV, /* connector: waiting for the listener's reply */
    LCOFI_OP_ACK_SEND, /* listener: reply sent */
} lcofi_op_kind_t;

/* One posted libfabric operation; the fi_context2 must come first. */
typedef struct lcofi_op {
    struct fi_context2 fctx;
    uint8_t kind;   /* lcofi_op_kind_t */
    uint8_t posted; /* posted and not yet completed */
    uint8_t cancel; /* fi_cancel issued */
    uint32_t idx;   /* chunk index */
    void *owner;    /* request, listen comm, send comm or recv comm */
} lcofi_op_t;

/* A registration: one cache entry, refcounted; the mhandle of reg_mr. */
typedef struct lcofi_mr {
    lc_prov_mr_t base;
    struct lcofi_mr *next;
    uintptr_t start, end; /* [start, end) */
    int refs;
    struct fid_mr *mr;
    void *desc;
} lcofi_mr_t;

/* Registration-cache counters (for tests and lc_info). */
typedef struct lcofi_mr_stats {
    uint64_t hits, misses, regs, deregs;
} lcofi_mr_stats_t;

/* A peer address already inserted into the address vector. */
typedef struct lcofi_peer {
    struct lcofi_peer *next;
    size_t len;
    uint8_t addr[LCOFI_ADDR_MAX];
    fi_addr_t fa;
} lcofi_peer_t;

/* The listen handle exchanged out of band. */
typedef struct lcofi_handle {
    uint32_t magic;
    uint32_t listen_id;
    uint16_t addrlen;
    uint8_t addr[LCOFI_ADDR_MAX];
} lcofi_handle_t;

/* Handshake: connector -> listener (tag CTRL | listen_id). */
typedef struct lcofi_hs {
    uint32_t magic;
    uint32_t cookie; /* the connector's id for the reply */
    uint64_t chunk;  /* the connector's largest chunk */
    uint16_t addrlen;
    uint8_t addr[LCOFI_ADDR_MAX];
} lcofi_hs_t;

/* Reply: listener -> connector (tag CTRL | ACK | cookie). */
typedef struct lcofi_ack {
    uint32_t magic;
    uint32_t comm_id; /* tag id of the new connection */
    uint64_t chunk;   /* agreed chunk size */
} lcofi_ack_t;

typedef struct lcofi_ctx lcofi_ctx_t;

/* Receiving end of a connection (created when a handshake arrives). */
typedef struct lcofi_recv_comm {
    lc_prov_comm_t base;
    lcofi_ctx_t *ctx;             /* second in every comm, after base: reg_mr finds it there */
    struct lcofi_recv_comm *next; /* in the listener's accept queue */
    uint32_t id;
    uint32_t seq;
    size_t chunk;
    fi_addr_t peer;
    uint32_t cookie;
    int ack_state; /* 0 to post, 1 posted, 2 done, <0 error */
    lcofi_op_t ack_op;
    lcofi_ack_t ack;
    lcofi_mr_t *ack_mr;
} lcofi_recv_comm_t;

/* Listening end: one posted handshake receive and a queue of new connections. */
typedef struct lcofi_listen_comm {
    lc_prov_comm_t base;
    lcofi_ctx_t *ctx;
    struct lcofi_listen_comm *next; /* in the context's list */
    uint32_t id;
    int need_post;
    lcofi_op_t hs_op;
    lcofi_hs_t hs;
    lcofi_mr_t *hs_mr;
    lcofi_recv_comm_t *ready, **ready_tail;
} lcofi_listen_comm_t;

/* Sending end of a connection. */
typedef struct lcofi_send_comm {
    lc_prov_comm_t base;
    lcofi_ctx_t *ctx;
    struct lcofi_send_comm *next; /* in the context's pending-connect list */
    lcofi_handle_t handle;        /* what we connect to (the pending key) */
    uint32_t cookie;
    uint32_t remote_id;
    uint32_t seq;
    size_t chunk;
    fi_addr_t peer;
    int state; /* 0 connecting, 1 connected, <0 error */
    int hs_posted;
    lcofi_op_t hs_op, ack_op;
    lcofi_hs_t hs;
    lcofi_ack_t ack;
    lcofi_mr_t *hs_mr, *ack_mr;
} lcofi_send_comm_t;

/* A request: one message, cut into chunks of at most ctx chunk bytes. */
typedef struct lcofi_req {
    lc_prov_req_t base;
    lcofi_ctx_t *ctx;
    struct lcofi_req *next, *prev; /* the context's live requests */
    int is_send;
    int err;
    char *buf;
    size_t len, chunk, size;
    uint64_t tag; /* comm id and sequence number, chunk bits zero */
    fi_addr_t peer;
    void *desc;
    lcofi_mr_t *tmp_mr;   /* registered for this request only */
    uint32_t nops, nwant; /* chunk operations allocated / to be posted */
    uint32_t nposted, ndone;
    int draining; /* 1 posted, 2 to post: swallowing an oversized message */
    lcofi_op_t drain_op;
    char errmsg[200];
    lcofi_op_t ops[];
} lcofi_req_t;

struct lcofi_ctx {
    lc_prov_ctx_t base;
    pthread_mutex_t lock;
    struct fi_info *info;
    struct fid_fabric *fabric;
    struct fid_domain *domain;
    struct fid_av *av;
    struct fid_cq *cq;
    int wait_fd;      /* the CQ's wait fd, or -1 */
    struct fid_ep *ep;
    uint8_t addr[LCOFI_ADDR_MAX];
    size_t addrlen;
    size_t chunk;  /* largest chunk one post may carry */
    char *scratch; /* chunk bytes catching what overflows a receive buffer */
    lcofi_mr_t *scratch_mr;
    int need_local;   /* FI_MR_LOCAL: every buffer needs a descriptor */
    uint64_t mr_key;  /* next requested key when not FI_MR_PROV_KEY */
    uint32_t next_id; /* listener ids, comm ids, cookies */
    lcofi_mr_t *mrs;
    lcofi_mr_stats_t stats;
    lcofi_peer_t *peers;
    lcofi_listen_comm_t *listens;
    lcofi_send_comm_t *connecting;
    lcofi_req_t *reqs; /* live requests: started, not yet returned done by test */
};

/* lcofi_params.c */
LC_HIDDEN extern const lc_param_t lcofi_params[];

/* lcofi_info.c: choose the fi_info to open from the LC_OFI_* parameters. */
LC_HIDDEN int lcofi_info_select(struct fi_info **out);

/* lcofi_req.c: cancel and free the live requests of one connection (comm id and
 * peer as in their tags; FI_ADDR_UNSPEC for receives), or of every connection
 * (comm_id < 0), so that nothing lands in a caller's buffer after a close (ctx
 * lock held). */
LC_HIDDEN void lcofi_req_abandon(lcofi_ctx_t *ctx, int64_t comm_id, int is_send, fi_addr_t peer);

/* lcofi_ctx.c */
LC_HIDDEN int lcofi_init(const lc_prov_init_opts_t *opts, lc_prov_ctx_t **ctx);
LC_HIDDEN void lcofi_fini(lc_prov_ctx_t *ctx);
LC_HIDDEN int lcofi_devices(lc_prov_ctx_t *ctx, int *ndev);
LC_HIDDEN int lcofi_get_props(lc_prov_ctx_t *ctx, int dev, lc_prov_props_t *props);
LC_HIDDEN int lcofi_fierr(int ret, const char *what);

/* lcofi_mr.c: the registration cache (ctx lock held). */
LC_HIDDEN int lcofi_mr_acquire(lcofi_ctx_t *ctx, const void *buf, size_t len, lcofi_mr_t **out);
LC_HIDDEN void lcofi_mr_release(lcofi_ctx_t *ctx, lcofi_mr_t *mr);
LC_HIDDEN int lcofi_mr_local(lcofi_ctx_t *ctx, const void *buf, size_t len, lcofi_mr_t **tmp,
                             void **desc);
LC_HIDDEN void lcofi_mr_stats(void *ctx, lcofi_mr_stats_t *stats);
LC_HIDDEN int lcofi_reg_mr(lc_prov_comm_t *comm, void *buf, size_t len, lc_prov_mr_t **mhandle);
LC_HIDDEN int lcofi_dereg_mr(lc_prov_comm_t *comm, lc_prov_mr_t *mhandle);

/* lcofi_av.c */
LC_HIDDEN int lcofi_av_insert(lcofi_ctx_t *ctx, const void *addr, size_t len, fi_addr_t *fa);

/* lcofi_progress.c (ctx lock held) */
LC_HIDDEN int lcofi_progress(lcofi_ctx_t *ctx);
/* The provider's wait op (takes the lock). */
LC_HIDDEN int lcofi_wait(lc_prov_ctx_t *ctx, int timeout_us);
/*
 * Progress until op completed (or its cancellation did), at most LCOFI_QUIET_S:
 * the teardown of a comm or request waits so, never letting the provider touch
 * freed memory. A send to a dead peer never completes (rxm cannot cancel it):
 * the bound is what a failure then costs, beyond LC_TIMEOUT.
 */
#define LCOFI_QUIET_S 1.0
LC_HIDDEN int lcofi_wait_op(lcofi_ctx_t *ctx, lcofi_op_t *op);

/* lcofi_listen.c */
LC_HIDDEN int lcofi_listen(lc_prov_ctx_t *ctx, int dev, void *handle,
                           lc_prov_comm_t **listen_comm);
LC_HIDDEN int lcofi_accept(lc_prov_comm_t *listen_comm, lc_prov_comm_t **recv_comm);
LC_HIDDEN int lcofi_close_listen(lc_prov_comm_t *listen_comm);
LC_HIDDEN int lcofi_close_recv(lc_prov_comm_t *recv_comm);
LC_HIDDEN void lcofi_listen_on_hs(lcofi_listen_comm_t *lc, int err);
LC_HIDDEN void lcofi_listen_retry(lcofi_ctx_t *ctx);

/* lcofi_connect.c */
LC_HIDDEN int lcofi_connect(lc_prov_ctx_t *ctx, int dev, const void *handle,
                            lc_prov_comm_t **send_comm);
LC_HIDDEN int lcofi_close_send(lc_prov_comm_t *send_comm);
LC_HIDDEN void lcofi_connect_on_ack(lcofi_send_comm_t *sc, int err);
/* Drop the connection attempts nobody completed (at fini). */
LC_HIDDEN void lcofi_connect_abandon(lcofi_ctx_t *ctx);

/* lcofi_req.c */
LC_HIDDEN int lcofi_isend(lc_prov_comm_t *send_comm, const void *buf, size_t len,
                          lc_prov_mr_t *mhandle, lc_prov_req_t **req);
LC_HIDDEN int lcofi_irecv(lc_prov_comm_t *recv_comm, void *buf, size_t len, lc_prov_mr_t *mhandle,
                          lc_prov_req_t **req);
LC_HIDDEN int lcofi_test(lc_prov_req_t *req, int *done, size_t *size);
LC_HIDDEN int lcofi_progress_op(lc_prov_ctx_t *ctx, lc_prov_cqe_t *cqe, int max);
LC_HIDDEN void lcofi_req_on_op(lcofi_op_t *op, size_t len, uint64_t tag, int err, const char *msg);

#endif
