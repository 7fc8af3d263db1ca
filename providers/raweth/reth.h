/*
 * reth.h - the raweth provider's internal objects: context, connection,
 * request, counters, and the functions the provider's files share.
 */
#ifndef RETH_H
#define RETH_H

#include <stddef.h>
#include <stdint.h>

#include "lioncub/provider_sdk.h"
#include "reth_counters.h"
#include "reth_dp.h"
#include "reth_fault.h"
#include "reth_frame.h"
#include "reth_window.h"

LC_HIDDEN extern const lc_provider_t lc_prov_raweth;

#define RETH_HANDLE_MAGIC 0x4552434Cu /* "LCRE" */
#define RETH_MAX_CONNS 65535
#define RETH_LINGER 1.0 /* s: at most this long fini() keeps acking closed receive comms */

/* The listen handle exchanged out of band (fits LC_PROV_HANDLE_MAX). */
typedef struct reth_handle {
    uint32_t magic;
    uint8_t version, queue;
    uint8_t mac[6];   /* the listener's interface MAC: ifindex means nothing in another namespace */
    uint32_t ep;      /* the listener's endpoint (context) id */
    uint32_t listen_id;
    uint64_t job_id;
} reth_handle_t;
_Static_assert(sizeof(reth_handle_t) <= LC_PROV_HANDLE_MAX, "raweth handle too large");

typedef struct reth_ctx reth_ctx_t;
typedef struct reth_conn reth_conn_t;
typedef struct reth_req reth_req_t;

enum reth_kind { RETH_K_LISTEN, RETH_K_SEND, RETH_K_RECV };
enum reth_state { RETH_S_CONNECTING, RETH_S_OPEN, RETH_S_FAILED };

struct reth_req {
    lc_prov_req_t base;
    reth_conn_t *conn;
    reth_ctx_t *ctx;
    reth_req_t *next;   /* in its connection's queue, then in the context's done list */
    reth_req_t *prev;   /* in the done list */
    uint8_t *buf;
    size_t len;
    size_t off;      /* send: bytes framed so far; recv: bytes of the message received */
    size_t msg_len;  /* recv: size of the message being received */
    uint32_t frames; /* send: frames not yet acknowledged */
    uint8_t started; /* recv: the first fragment arrived */
    uint8_t done;
    int err;
    size_t size;     /* done: the message's size */
};

struct reth_conn {
    lc_prov_comm_t base;          /* its kind follows kind */
    reth_ctx_t *ctx;
    int kind, state, err;
    uint32_t id;                  /* our connection id (index | generation << 16) */
    uint8_t peer_mac[6];
    uint32_t peer_ep, peer_conn;  /* while connecting: peer_conn is the listen id */
    int32_t peer_rank;
    uint32_t maxpay;              /* payload bytes per frame on this connection */
    reth_txwin_t tx;              /* send side */
    reth_rxwin_t rx;              /* receive side */
    reth_req_t *q_head, *q_tail;  /* posted requests, oldest first */
    reth_req_t *q_frame;          /* send: first request with bytes left to frame */
    double t_heard, t_tx;         /* last frame from / to the peer */
    double t_syn;                 /* connecting: when the SYN was last sent */
    int syn_tries;
    uint32_t ack_due;             /* receive: frames since our last ack */
    uint32_t last_seq;            /* receive: newest DATA frame, echoed in acks */
    uint8_t handed_out;           /* connect()/accept() returned it */
    uint8_t closing;              /* receive: closed by the user, still acking until FIN */
    uint8_t fin;                  /* receive: the sender closed after seq fin_seq */
    uint32_t fin_seq;
    reth_conn_t *acc_next;        /* accept queue link */
    reth_conn_t *acc_head, *acc_tail; /* listen: accepted, not yet returned */
    uint32_t listen_id;           /* send: the listen id connected to; recv: came through */
    uint8_t nonce_c[RETH_NONCE_LEN]; /* the connector's nonce (its SYN's payload) */
    uint8_t nonce_s[RETH_NONCE_LEN]; /* the listener's nonce (its SYNACK's payload) */
    reth_mackey_t key;            /* the session key, once both nonces are known */
    uint8_t keyed;                /* key is set */
    uint8_t proven;               /* recv: the connector proved the session key (accept may
                                     return it); send: the SYNACK did */
};

struct reth_ctx {
    lc_prov_ctx_t base;
    lc_prov_mr_t mr;     /* the one registration: both datapaths copy, nothing to pin */
    reth_iface_t ifc;
    const reth_dp_ops_t *dpo;
    reth_dp_t *dp;
    reth_fault_t *fault;
    uint64_t job_id;
    uint8_t key[LC_PROV_KEY_LEN]; /* the job's provider key: session keys come from it */
    reth_mackey_t ctl;   /* MAC key of SYN frames (no session yet) */
    int32_t rank;
    uint32_t ep;         /* random endpoint id of this context */
    uint32_t window;     /* frames per connection window (power of two) */
    uint32_t maxpay;     /* payload bytes per frame on this interface */
    double timeout;      /* s: give up on a silent peer after this */
    reth_conn_t **conns; /* by id & 0xFFFF */
    reth_req_t *done_head, *done_tail; /* done requests not yet reported or tested */
    uint32_t nconns;
    uint16_t gen;
    reth_counters_t cnt;
};

/* reth_ctx.c */
LC_HIDDEN int reth_init(const lc_prov_init_opts_t *opts, lc_prov_ctx_t **ctx);
LC_HIDDEN void reth_fini(lc_prov_ctx_t *ctx);
LC_HIDDEN int reth_conn_new(reth_ctx_t *ctx, int kind, reth_conn_t **out);
LC_HIDDEN void reth_conn_free(reth_conn_t *c);
LC_HIDDEN reth_conn_t *reth_conn_lookup(reth_ctx_t *ctx, uint32_t id);
/* Receive, then send what is due on every connection. */
LC_HIDDEN void reth_progress(reth_ctx_t *ctx);
/* The wait op: sleep until a frame arrives, the ring drains, or a timer may be due. */
LC_HIDDEN int reth_wait(lc_prov_ctx_t *ctx, int timeout_us);
/* Encode and queue one frame to c's peer; -EAGAIN while the ring is full. */
LC_HIDDEN int reth_send_frame(reth_ctx_t *ctx, reth_conn_t *c, reth_hdr_t *h, const void *payload,
                              size_t len);

/* reth_conn.c: connection set-up and teardown */
LC_HIDDEN int reth_listen(lc_prov_ctx_t *ctx, int dev, void *handle, lc_prov_comm_t **listen_comm);
LC_HIDDEN int reth_connect(lc_prov_ctx_t *ctx, int dev, const void *handle,
                           lc_prov_comm_t **send_comm);
LC_HIDDEN int reth_accept(lc_prov_comm_t *listen_comm, lc_prov_comm_t **recv_comm);
LC_HIDDEN int reth_close_send(lc_prov_comm_t *send_comm);
LC_HIDDEN int reth_close_recv(lc_prov_comm_t *recv_comm);
LC_HIDDEN int reth_close_listen(lc_prov_comm_t *listen_comm);
/* A SYN or SYNACK arrived (after the job and endpoint checks): frame is the
 * whole frame, for the MAC; or a FIN or CONFIRM of c with a valid MAC. */
LC_HIDDEN void reth_conn_control(reth_ctx_t *ctx, reth_conn_t *c, const reth_hdr_t *h,
                                 const uint8_t *frame, const uint8_t *payload);
/* Derive c's session key from both nonces and the ends' ids. 0 or an error. */
LC_HIDDEN int reth_conn_key(reth_conn_t *c);
/* A receive connection whose connector proved the session key goes to its listener. */
LC_HIDDEN void reth_conn_proven(reth_conn_t *c);
/* Connecting: resend the SYN when due; give up after the timeout. */
LC_HIDDEN void reth_conn_tick(reth_conn_t *c, double now);
/* Fail every request of c with err. */
LC_HIDDEN void reth_conn_fail(reth_conn_t *c, int err);
/* r (off its connection's queue) is done with err: into the done list, where
 * progress() reports it (a user field set) or test() finds it. */
LC_HIDDEN void reth_req_done(reth_conn_t *c, reth_req_t *r, int err);

/* reth_xfer.c: messages */
LC_HIDDEN int reth_isend(lc_prov_comm_t *send_comm, const void *buf, size_t len, lc_prov_mr_t *mh,
                         lc_prov_req_t **req);
LC_HIDDEN int reth_irecv(lc_prov_comm_t *recv_comm, void *buf, size_t len, lc_prov_mr_t *mh,
                         lc_prov_req_t **req);
LC_HIDDEN int reth_test(lc_prov_req_t *req, int *done, size_t *size);
LC_HIDDEN int reth_progress_op(lc_prov_ctx_t *ctx, lc_prov_cqe_t *cqe, int max);
/* A DATA, ACK or PING frame for an open connection. */
LC_HIDDEN void reth_xfer_frame(reth_conn_t *c, const reth_hdr_t *h, const uint8_t *payload);
/* Send new and retransmitted frames, acks and keepalives; check timeouts. */
LC_HIDDEN void reth_xfer_tick(reth_conn_t *c, double now);

#endif
