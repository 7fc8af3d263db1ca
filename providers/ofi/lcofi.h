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
#define LCOFI_NONCE_LEN 16
#define LCOFI_PROOF_LEN 16
#define LCOFI_ACCEPT_LABEL  "lioncub ofi accept"  /* the listener's proof, in the reply */
#define LCOFI_CONFIRM_LABEL "lioncub ofi confirm" /* the connector's proof, in the confirm */
#define LCOFI_MAX_PENDING 64 /* connections per listener waiting for their confirm */
#define LCOFI_CONFIRM_S 5.0  /* s a connection has to send its confirm */
/* A peer some request waits on, with no completion from it for LCOFI_PROBE_S,
 * gets a zero-length probe; a probe that libfabric refuses to post for
 * LCOFI_PROBE_DEAD_S (no connection, none can be made) or that ends in an
 * error means the peer is gone. */
#define LCOFI_PROBE_S      0.01
#define LCOFI_PROBE_DEAD_S 0.1

/*
 * Tag layout. Control messages have bit 63 set: the handshake carries a
 * listener id in the low 32 bits, the reply (bit 62) a connect cookie, the
 * confirm (bit 61) the comm id; a probe (bit 60) carries nothing. Data messages carry
 * the receiver-assigned comm id, the message sequence number and the chunk
 * index; bit 62 marks the last chunk of a message. Receives are posted with
 * the exact tag (only the last-chunk bit ignored), so a message can only land
 * in the receive posted for its connection and position, whatever order the
 * provider delivers in.
 */
#define LCOFI_TAG_CTRL   (1ULL << 63)
#define LCOFI_TAG_ACK    (1ULL << 62)
#define LCOFI_TAG_CONFIRM (1ULL << 61)
#define LCOFI_TAG_PROBE  (1ULL << 60)
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
    LCOFI_OP_CONFIRM_SEND, /* connector: confirm sent */
    LCOFI_OP_CONFIRM_RECV, /* listener: waiting for the connector's confirm */
    LCOFI_OP_PROBE_SEND,   /* a probe to a peer */
    LCOFI_OP_PROBE_RECV,   /* the context's receive swallowing probes */
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

/* A peer address already inserted into the address vector, and its liveness. */
typedef struct lcofi_peer {
    struct lcofi_peer *next;
    size_t len;
    uint8_t addr[LCOFI_ADDR_MAX];
    fi_addr_t fa;
    int dead;            /* its connection is gone: every request to or from it fails */
    int want;            /* some request waits on it (set by each progress pass) */
    double last_seen;    /* last completion of an operation with it, or of a probe */
    int reached;         /* an operation with it completed: libfabric had a connection */
    double eagain_since; /* first refused probe post of a series, or 0 */
    uint64_t tx_inflight; /* data sends to it posted and not completed */
    lcofi_op_t probe_op;
} lcofi_peer_t;

/* The listen handle exchanged out of band. */
typedef struct lcofi_handle {
    uint32_t magic;
    uint32_t listen_id;
    uint16_t addrlen;
    uint8_t addr[LCOFI_ADDR_MAX];
} lcofi_handle_t;

/*
 * Connection set-up, three control messages: the handshake carries the
 * connector's fresh nonce; the reply the listener's fresh nonce and its
 * proof; the confirm the connector's proof. Both proofs are
 * lc_prov_derive(job's provider key, label, handshake | reply up to its
 * proof), with a label per direction, so each side shows the other it holds
 * the key for this exchange only, and no proof serves twice.
 */
/* Handshake: connector -> listener (tag CTRL | listen_id). */
typedef struct lcofi_hs {
    uint32_t magic;
    uint32_t cookie; /* the connector's id for the reply */
    uint64_t chunk;  /* the connector's largest chunk */
    uint8_t nonce[LCOFI_NONCE_LEN];
    uint16_t addrlen;
    uint8_t addr[LCOFI_ADDR_MAX];
} lcofi_hs_t;

/* Reply: listener -> connector (tag CTRL | ACK | cookie). */
typedef struct lcofi_ack {
    uint32_t magic;
    uint32_t comm_id; /* tag id of the new connection */
    uint64_t chunk;   /* agreed chunk size */
    uint8_t nonce[LCOFI_NONCE_LEN];
    uint8_t proof[LCOFI_PROOF_LEN]; /* last: LCOFI_ACCEPT_LABEL */
} lcofi_ack_t;

/* Confirm: connector -> listener (tag CTRL | CONFIRM | comm_id). */
typedef struct lcofi_confirm {
    uint32_t magic;
    uint32_t comm_id;
    uint8_t proof[LCOFI_PROOF_LEN]; /* LCOFI_CONFIRM_LABEL */
} lcofi_confirm_t;

typedef struct lcofi_ctx lcofi_ctx_t;

/* Receiving end of a connection (created when a handshake arrives, accepted
 * once its confirm proves the key). */
typedef struct lcofi_recv_comm {
    lc_prov_comm_t base;
    lcofi_ctx_t *ctx;             /* second in every comm, after base: reg_mr finds it there */
    struct lcofi_recv_comm *next; /* in the listener's pending list or accept queue */
    struct lcofi_listen_comm *lc; /* while pending */
    uint32_t id;
    uint32_t seq;
    size_t chunk;
    fi_addr_t peer;
    lcofi_peer_t *pe;
    double deadline; /* for the confirm */
    int ack_state;   /* 0 to post, 1 posted, 2 done, <0 error */
    int need_confirm_post;
    lcofi_op_t ack_op, confirm_op;
    lcofi_hs_t hs; /* as received: the proofs cover it */
    lcofi_ack_t ack;
    lcofi_confirm_t confirm;
    lcofi_mr_t *ack_mr, *confirm_mr;
} lcofi_recv_comm_t;

/* Listening end: one posted handshake receive, the connections waiting for
 * their confirm, and a queue of confirmed ones. */
typedef struct lcofi_listen_comm {
    lc_prov_comm_t base;
    lcofi_ctx_t *ctx;
    struct lcofi_listen_comm *next; /* in the context's list */
    uint32_t id;
    int need_post;
    lcofi_op_t hs_op;
    lcofi_hs_t hs;
    lcofi_mr_t *hs_mr;
    lcofi_recv_comm_t *pending; /* newest first */
    int npending;
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
    lcofi_peer_t *pe;
    int state; /* 0 connecting, 1 connected, <0 error */
    int need_hs, need_ack, need_confirm; /* posts that found no room yet */
    lcofi_op_t hs_op, ack_op, confirm_op;
    lcofi_hs_t hs;
    lcofi_ack_t ack;
    lcofi_confirm_t confirm;
    lcofi_mr_t *hs_mr, *ack_mr, *confirm_mr;
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
    lcofi_peer_t *pe;
    int zombie; /* reported done, operations still posted: freed when they end */
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
    int directed;     /* FI_DIRECTED_RECV: receives name their peer */
    int stuck;        /* a wait for an operation ran out: later ones do not wait */
    uint8_t key[LC_PROV_KEY_LEN]; /* the job's provider key, for connection proofs */
    uint64_t refused;  /* handshakes, replies and confirms dropped: bad proof, expired, cap */
    uint64_t tx_inflight; /* send operations posted and not completed */
    lcofi_op_t probe_rx_op; /* zero-length receive swallowing peers' probes */
    int probe_rx_need;
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
LC_HIDDEN int lcofi_av_insert(lcofi_ctx_t *ctx, const void *addr, size_t len, lcofi_peer_t **pe);

/* lcofi_auth.c: nonces and proofs of connection set-up. */
LC_HIDDEN int lcofi_nonce(uint8_t nonce[LCOFI_NONCE_LEN]);
LC_HIDDEN int lcofi_proof(const lcofi_ctx_t *ctx, const char *label, const lcofi_hs_t *hs,
                          const lcofi_ack_t *ack, uint8_t proof[LCOFI_PROOF_LEN]);
/* 1 when proof is the one for label, hs and ack (constant time), else 0. */
LC_HIDDEN int lcofi_proof_ok(const lcofi_ctx_t *ctx, const char *label, const lcofi_hs_t *hs,
                             const lcofi_ack_t *ack, const uint8_t proof[LCOFI_PROOF_LEN]);

/* lcofi_peer.c: probes and lost peers (ctx lock held). */
LC_HIDDEN int lcofi_peer_init(lcofi_ctx_t *ctx);
LC_HIDDEN void lcofi_peer_progress(lcofi_ctx_t *ctx);
LC_HIDDEN void lcofi_peer_on_probe(lcofi_ctx_t *ctx, lcofi_op_t *op, int err, const char *msg);
/* The connection to pe is gone (why: for the message): fail its requests. */
LC_HIDDEN void lcofi_peer_lost(lcofi_ctx_t *ctx, lcofi_peer_t *pe, const char *why);

/* An operation with pe (or a probe of it) completed: it is alive and libfabric reached it. */
static inline void lcofi_peer_heard(lcofi_peer_t *pe)
{
    pe->last_seen = lc_now();
    pe->reached = 1;
}

/* lcofi_progress.c (ctx lock held) */
LC_HIDDEN int lcofi_progress(lcofi_ctx_t *ctx);
/* The provider's wait op (takes the lock). */
LC_HIDDEN int lcofi_wait(lc_prov_ctx_t *ctx, int timeout_us);
/*
 * Progress until op completed (or its cancellation did), at most LCOFI_QUIET_S:
 * the teardown of a comm or request waits so, never letting the provider touch
 * freed memory. A send to a dead peer never completes (rxm cannot cancel it):
 * the bound is what a failure then costs, beyond LC_TIMEOUT. Once a wait ran
 * out, later ones on the context only make one progress pass (what does not
 * end then keeps its memory), so a teardown with many stuck operations (a
 * link that went down) costs LCOFI_QUIET_S once, not once per operation.
 */
#define LCOFI_QUIET_S 1.0
LC_HIDDEN int lcofi_wait_op(lcofi_ctx_t *ctx, lcofi_op_t *op);

/* lcofi_listen.c */
LC_HIDDEN int lcofi_listen(lc_prov_ctx_t *ctx, int dev, void *handle,
                           lc_prov_comm_t **listen_comm);
LC_HIDDEN int lcofi_accept(lc_prov_comm_t *listen_comm, lc_prov_comm_t **recv_comm);
LC_HIDDEN int lcofi_close_listen(lc_prov_comm_t *listen_comm);
LC_HIDDEN int lcofi_close_recv(lc_prov_comm_t *recv_comm);
LC_HIDDEN void lcofi_listen_on_hs(lcofi_listen_comm_t *lc, size_t len, int err);
LC_HIDDEN void lcofi_listen_on_confirm(lcofi_recv_comm_t *rc, size_t len, int err);
LC_HIDDEN void lcofi_listen_retry(lcofi_ctx_t *ctx);

/* lcofi_connect.c */
/*
 * Send a control message of connection set-up (handshake, reply or confirm):
 * msg (len bytes, registered in mr where the domain needs it) to peer with
 * tag, on op (op->posted set when posted). 1 when posted, 0 when libfabric has
 * no room now (-FI_EAGAIN: post it again later), or the error (what names the call).
 */
LC_HIDDEN int lcofi_ctrl_post(lcofi_ctx_t *ctx, const void *msg, size_t len, const lcofi_mr_t *mr,
                              fi_addr_t peer, uint64_t tag, const char *what, lcofi_op_t *op);
LC_HIDDEN int lcofi_connect(lc_prov_ctx_t *ctx, int dev, const void *handle,
                            lc_prov_comm_t **send_comm);
LC_HIDDEN int lcofi_close_send(lc_prov_comm_t *send_comm);
LC_HIDDEN void lcofi_connect_on_ack(lcofi_send_comm_t *sc, size_t len, int err);
/* The handshake or the confirm was sent (or failed). */
LC_HIDDEN void lcofi_connect_on_sent(lcofi_send_comm_t *sc, lcofi_op_t *op, int err,
                                     const char *msg);
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
/* Fail every live request with pe (-ECONNRESET, message msg) and cancel its operations. */
LC_HIDDEN void lcofi_req_peer_lost(lcofi_ctx_t *ctx, lcofi_peer_t *pe, const char *msg);

#endif
