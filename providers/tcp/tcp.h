/*
 * tcp.h - internal types of the tcp provider (never installed).
 *
 * Wire format, per one-directional connection of nsocks TCP sockets:
 *  - the listener opens each accepted socket with a tcp_challenge_t (a fresh
 *    nonce from getrandom); the connector answers with a tcp_hello_t (magic,
 *    version, the listener's handle nonce, a random connection id, the
 *    socket's index, nsocks, chunk size) whose proof is lc_prov_derive(job's
 *    provider key, TCP_PROOF_LABEL, challenge nonce | hello up to the proof).
 *    A socket without a valid proof is dropped (and counted) by the listener
 *    without failing it, so neither replayed nor forged hellos take a peer's
 *    place; at most TCP_MAX_PENDING sockets wait for their hello, each for at
 *    most TCP_HELLO_S;
 *  - message number m (counted from 0 per connection) is cut into chunks of
 *    the hello's chunk size (one empty chunk when the message is empty).
 *    Every chunk travels as a tcp_chunk_hdr_t (message number, message
 *    length, offset, chunk length) followed by its payload, on whichever
 *    socket of the connection is free to take it: the sender hands out
 *    chunks in message order, one at a time, to the sockets that have room
 *    (with several sockets, TCP_NOTSENT_LOWAT of one chunk: a socket takes
 *    a chunk once its last one is nearly on the wire), so a socket whose
 *    TCP flow slows (a loss at a shaper, a flow that loses its fair share)
 *    carries fewer chunks instead of holding up every message;
 *  - the receiver puts each chunk where its header says once the message's
 *    receive is posted (receives match messages in posting order), and
 *    leaves a socket unread while the chunk at its head belongs to a
 *    message whose receive is not posted yet.
 * All integers on the wire are little-endian.
 *
 * Behaviour seen by callers:
 *  - test() on any request runs one progress pass over every comm of the
 *    context (one epoll_wait, then I/O on sockets with work); isend/irecv
 *    only queue. Requests of a comm match messages in posting order, but may
 *    be reported done out of order (a small message behind a large one on
 *    another socket).
 *  - at most TCP_MAX_REQS incomplete requests per comm; more get a NULL
 *    request ("retry"). Send buffers are read in place until the request is
 *    done; receives land in place (small reads pass a 16 KiB read-ahead).
 *  - every op takes the context's mutex: contexts may be shared by threads.
 *  - a chunk header that does not fit its message (an offset or length
 *    off the chunk grid, another message length, more bytes than the
 *    message has left, a message already complete) fails the receive comm
 *    with LC_ERR_PROTO, so no header makes a write leave the receive
 *    buffer. Chunks are not checked for overlap: a peer that holds the
 *    job's key controls the payload anyway;
 *  - a peer that closes or dies fails every request of the comm with
 *    -ECONNRESET; a closed comm fails its own requests with -ECANCELED.
 */
#ifndef LC_TCP_H
#define LC_TCP_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/socket.h>

#include "lioncub/provider_sdk.h"

#define TCP_SUBSYS "tcp"
#define TCP_MAGIC 0x4c435450u  /* "LCTP" */
#define TCP_VERSION 3
#define TCP_NONCE_LEN 16
#define TCP_PROOF_LEN 16
#define TCP_PROOF_LABEL "lioncub tcp hello"
#define TCP_MAX_PENDING 256    /* accepted sockets waiting for their hello */
#define TCP_HELLO_S 5.0        /* s an accepted socket has to send its hello */
#define TCP_MAX_SOCKS 16       /* most sockets per connection */
#define TCP_MAX_REQS 256       /* most requests in flight per comm (power of 2) */
#define TCP_MAX_DEVS 16        /* most devices (interfaces) per context */
#define TCP_MAX_MSG ((size_t)1 << 48)
#define TCP_MIN_CHUNK 4096     /* smallest LC_TCP_CHUNK accepted */
#define TCP_STAGE_SIZE 16384   /* read-ahead buffer of a receiving socket */

/** The listen handle, copied out of band to the connecting peer. */
typedef struct tcp_handle {
    uint32_t magic;
    uint16_t version;
    uint16_t family;           /* AF_INET or AF_INET6 */
    uint16_t port;             /* network byte order */
    uint16_t pad;
    uint32_t scope_id;         /* IPv6 link-local scope */
    uint8_t addr[16];          /* IPv4 (first 4 bytes) or IPv6 address */
    uint64_t nonce;            /* random, identifies the listener */
} tcp_handle_t;

/** First bytes from the listener on every accepted socket. */
typedef struct tcp_challenge {
    uint32_t magic;
    uint16_t version;
    uint16_t pad;
    uint8_t nonce[TCP_NONCE_LEN];
} tcp_challenge_t;

/** First bytes from the connector on every socket of a connection. */
typedef struct tcp_hello {
    uint32_t magic;
    uint16_t version;
    uint16_t sock_idx;
    uint16_t nsocks;
    uint16_t pad;
    uint32_t chunk;            /* chunk size the sender cuts messages into */
    uint64_t nonce;            /* the listener's nonce, from the handle */
    uint64_t conn_id;          /* random, the same on every socket of the connection */
    uint8_t proof[TCP_PROOF_LEN]; /* last: proves the job key for the challenge */
} tcp_hello_t;

/** Header of every chunk: which message it belongs to and where its bytes go. */
typedef struct tcp_chunk_hdr {
    uint32_t seq;              /* low 32 bits of the message number */
    uint32_t len;              /* payload bytes of this chunk */
    uint64_t msg_len;          /* length of the whole message */
    uint64_t off;              /* offset of the chunk in the message, a multiple of chunk */
} tcp_chunk_hdr_t;

/** One device: an interface and the address listeners bind to. */
typedef struct tcp_dev {
    char ifname[64];
    struct sockaddr_storage addr;
    socklen_t addrlen;
} tcp_dev_t;

typedef struct tcp_ctx tcp_ctx_t;
typedef struct tcp_comm tcp_comm_t;
typedef struct tcp_req tcp_req_t;

/** One socket of a connection and its position in the message stream. */
typedef struct tcp_sock {
    int fd;
    int idx;                   /* index in the connection */
    tcp_comm_t *comm;
    int ready;                 /* not known to block: last I/O did not hit EAGAIN */
    tcp_req_t *req;            /* message of the chunk in progress; NULL between chunks
                                  and while its receive is not posted */
    tcp_chunk_hdr_t hdr;       /* that chunk's header, being sent or read */
    size_t hdr_off;            /* header bytes done */
    size_t off;                /* payload bytes of the chunk done */
    char *stage;               /* receive: read-ahead of small reads, TCP_STAGE_SIZE bytes */
    size_t stage_pos, stage_end; /* unread bytes of stage */
    tcp_challenge_t challenge; /* connect: the listener's challenge, being read */
    size_t challenge_off;
    tcp_hello_t hello;         /* connect: hello being sent */
    size_t hello_off;
    int connected;             /* connect: TCP handshake done */
} tcp_sock_t;

/** A send or receive comm: one connection. */
struct tcp_comm {
    lc_prov_comm_t base;       /* kind LC_PROV_SEND or LC_PROV_RECV */
    tcp_ctx_t *ctx;
    int is_send;
    int err;                   /* first error; the comm is dead once set */
    int nsocks;
    size_t chunk;
    tcp_sock_t socks[TCP_MAX_SOCKS];
    uint64_t head;             /* oldest incomplete message */
    uint64_t tail;             /* next message number to post */
    uint64_t next_seq;         /* send: message of the next chunk to hand to a socket */
    size_t next_off;           /* send: that chunk's offset */
    tcp_req_t *ring[TCP_MAX_REQS]; /* messages head..tail-1; NULL once complete */
    char peer[64];             /* peer address, for messages */
    tcp_handle_t handle;       /* connect: the handle being connected to */
    int dev;
    tcp_comm_t *next;          /* in ctx->comms or ctx->connecting */
};

/** A request: one posted message. */
struct tcp_req {
    lc_prov_req_t base;        /* live while owned by the caller */
    tcp_ctx_t *ctx;
    tcp_comm_t *comm;          /* NULL once detached by a close */
    int done;
    int status;                /* 0 or the error the request fails with */
    int len_known;             /* receive: a chunk header gave the message length */
    uint64_t seq;
    char *buf;
    size_t cap;                /* receive: buffer size; send: len */
    size_t len;                /* message length (receive: known once len_known) */
    size_t left;               /* receive: payload bytes not yet received */
    size_t unclaimed;          /* receive: payload bytes of no chunk header matched yet */
    uint64_t chunks_left;      /* send: chunks not yet sent completely */
    tcp_req_t *next_free;      /* in the pool, or in the context's completions */
};

/** A memory registration: only a record, TCP needs none. */
typedef struct tcp_mr {
    lc_prov_mr_t base;         /* live until deregistered */
    const char *buf;
    size_t len;
} tcp_mr_t;

/** A provider context. */
struct tcp_ctx {
    lc_prov_ctx_t base;
    pthread_mutex_t lock;      /* every op holds it: contexts may be shared by threads */
    int epfd;
    int wait_fd;               /* level-triggered epoll holding epfd: wait() sleeps on it
                                  without the lock and without taking epfd's events */
    uint64_t idle_poll_ns;     /* when epoll_wait last found nothing (atomic) */
    int ndev;
    tcp_dev_t devs[TCP_MAX_DEVS];
    int nsocks;                /* LC_TCP_NSOCKS */
    size_t chunk;              /* LC_TCP_CHUNK */
    int sndbuf, rcvbuf;        /* from LC_TCP_SOCKBUF; 0: kernel autotuning */
    int keepalive_s;           /* keepalive idle and interval: LC_TIMEOUT / 4 */
    uint8_t key[LC_PROV_KEY_LEN]; /* the job's provider key, for hello proofs */
    uint64_t refused;          /* accepted sockets dropped: no valid proof, silent, cap */
    tcp_comm_t *comms;         /* connected comms */
    tcp_comm_t *connecting;    /* send comms still connecting */
    tcp_req_t *free_reqs;
    tcp_req_t *cq_head, *cq_tail; /* completed requests with a user field, for progress() */
    void **req_blocks;         /* every request allocation, freed at fini */
    int nreq_blocks;
    char scratch[65536];       /* sink for payload of truncated receives */
};

LC_HIDDEN extern const lc_provider_t lc_prov_tcp;

/* tcp_dev.c */
LC_HIDDEN int tcp_dev_discover(tcp_dev_t *devs, int max);
LC_HIDDEN int tcp_dev_props(const tcp_dev_t *dev, lc_prov_props_t *props);

/* tcp_sock.c */
LC_HIDDEN int tcp_sockbuf_fit(int want, int rcv);
LC_HIDDEN int tcp_sock_setup(int fd, const tcp_ctx_t *ctx);
LC_HIDDEN void tcp_sockaddr_str(const struct sockaddr *sa, char *buf, size_t len);
LC_HIDDEN uint64_t tcp_random64(void);
LC_HIDDEN int tcp_errno_to_err(int e);
LC_HIDDEN int tcp_hello_proof(const tcp_ctx_t *ctx, const uint8_t nonce[TCP_NONCE_LEN],
                              const tcp_hello_t *h, uint8_t proof[TCP_PROOF_LEN]);

/* tcp_conn.c */
LC_HIDDEN tcp_comm_t *tcp_comm_new(tcp_ctx_t *ctx, int is_send, int nsocks, size_t chunk);
LC_HIDDEN int tcp_comm_activate(tcp_comm_t *comm);
LC_HIDDEN void tcp_comm_free(tcp_comm_t *comm);
LC_HIDDEN void tcp_comm_fail(tcp_comm_t *comm, int err);
LC_HIDDEN int tcp_connect(lc_prov_ctx_t *ctx, int dev, const void *handle,
                          lc_prov_comm_t **send_comm);
LC_HIDDEN int tcp_close_send(lc_prov_comm_t *send_comm);
LC_HIDDEN int tcp_close_recv(lc_prov_comm_t *recv_comm);

/* tcp_listen.c */
LC_HIDDEN int tcp_listen(lc_prov_ctx_t *ctx, int dev, void *handle,
                         lc_prov_comm_t **listen_comm);
LC_HIDDEN int tcp_accept(lc_prov_comm_t *listen_comm, lc_prov_comm_t **recv_comm);
LC_HIDDEN int tcp_close_listen(lc_prov_comm_t *listen_comm);

/* tcp_progress.c */
LC_HIDDEN void tcp_progress(tcp_ctx_t *ctx);
LC_HIDDEN int tcp_wait(lc_prov_ctx_t *ctx, int timeout_us);
LC_HIDDEN void tcp_req_complete(tcp_req_t *req);

/* tcp_req.c */
LC_HIDDEN void tcp_req_pool_free(tcp_ctx_t *ctx);
LC_HIDDEN int tcp_isend(lc_prov_comm_t *send_comm, const void *buf, size_t len,
                        lc_prov_mr_t *mhandle, lc_prov_req_t **req);
LC_HIDDEN int tcp_irecv(lc_prov_comm_t *recv_comm, void *buf, size_t len, lc_prov_mr_t *mhandle,
                        lc_prov_req_t **req);
LC_HIDDEN int tcp_test(lc_prov_req_t *req, int *done, size_t *size);
LC_HIDDEN int tcp_progress_op(lc_prov_ctx_t *ctx, lc_prov_cqe_t *cqe, int max);

/* tcp_mr.c */
LC_HIDDEN int tcp_reg_mr(lc_prov_comm_t *comm, void *buf, size_t len, lc_prov_mr_t **mhandle);
LC_HIDDEN int tcp_dereg_mr(lc_prov_comm_t *comm, lc_prov_mr_t *mhandle);
LC_HIDDEN int tcp_mr_check(const tcp_mr_t *mr, const void *buf, size_t len);

/* tcp_ctx.c */
LC_HIDDEN int tcp_init(const lc_prov_init_opts_t *opts, lc_prov_ctx_t **ctx);
LC_HIDDEN void tcp_fini(lc_prov_ctx_t *ctx);
LC_HIDDEN int tcp_devices(lc_prov_ctx_t *ctx, int *ndev);
LC_HIDDEN int tcp_get_props(lc_prov_ctx_t *ctx, int dev, lc_prov_props_t *props);

#endif
