/*
 * provider.h - the provider-facing API of lioncub: the transport ops table
 * that every provider (tcp, ofi, raweth) implements, and the few core
 * services (logging, parameters, errors) a provider or the NCCL plugin may
 * call. Shaped like NCCL's net plugin ABI so that the plugin stays thin.
 *
 * Model:
 *  - a provider context (init/fini) owns devices (NICs, interfaces);
 *  - connections are one-directional: listen() on a device returns a listen
 *    comm and an opaque handle of at most LC_PROV_HANDLE_MAX bytes, which the
 *    bootstrap sends to the peer; the peer's connect() with that handle yields
 *    a send comm and the listener's accept() a recv comm;
 *  - connect() and accept() never block: they return 0 with a NULL comm
 *    while the connection is still being set up (call again);
 *  - isend()/irecv() post one message and never block; they may return 0 with
 *    a NULL request when the provider is out of resources (call again);
 *    messages are delivered whole and in order per connection; a receive
 *    buffer larger than the message is fine (test() reports the size), a
 *    smaller one completes the request with -EMSGSIZE;
 *  - test() drives progress of the whole context and reports completion; a
 *    completed (or failed) request is freed by that call;
 *  - reg_mr() registers memory once so that later sends and receives of
 *    that memory need no copy or registration; NULL mhandle is always
 *    allowed in isend/irecv (the provider copies or registers as it needs).
 * All functions return 0 or a negative errno/lc_error code and log the reason
 * once where it is detected. Every op must be set; an op a provider cannot
 * offer points at a small stub of the provider's returning -ENOSYS.
 */
#ifndef LIONCUB_PROVIDER_H
#define LIONCUB_PROVIDER_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "lioncub.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LC_PROV_HANDLE_MAX 128

/** Properties of one provider device. */
typedef struct lc_prov_props {
    size_t size;           /**< sizeof(lc_prov_props_t), set by the caller */
    char name[64];         /**< device name, e.g. "eth0" or "tcp;ofi_rxm:lo" */
    char pci_path[256];    /**< sysfs PCI path of the NIC, "" if none (veth, lo) */
    uint64_t guid;         /**< a stable identifier of the device */
    int speed_mbps;        /**< link speed, 0 if unknown */
    float latency_us;      /**< expected one-way latency, 0 if unknown */
    int port;              /**< port number, 1 if not applicable */
    int max_comms;         /**< connections the device can carry */
    int max_recvs;         /**< receives one irecv call may group (the plugin's maxRecvs) */
    int reg_is_global;     /**< 1 if a registration is valid on every comm of the context */
    size_t max_msg_size;   /**< largest message one isend may carry */
} lc_prov_props_t;

/** Options a provider context is created with. */
typedef struct lc_prov_init_opts {
    size_t size;           /**< sizeof(lc_prov_init_opts_t) */
    uint64_t job_id;       /**< job identifier (hash of the job key); 0 if none */
    int rank;              /**< this process's rank, -1 outside a communicator */
    uint8_t key[32];       /**< the job's provider key (from LC_JOB_KEY by HKDF-SHA-256;
                                public when the job has no key): connection proofs and
                                session keys come from it through lc_prov_derive */
} lc_prov_init_opts_t;

typedef struct lc_provider lc_provider_t;

/** The ops table. Providers define one as `const lc_provider_t lc_prov_NAME`. */
struct lc_provider {
    size_t size;           /**< sizeof(lc_provider_t) at the provider's build */
    const char *name;      /**< "tcp", "ofi", "raweth" */
    const struct lc_param *params; /**< the provider's LC_* parameters, NULL-name terminated */

    /** Create a context; -ENODEV when no usable device exists. */
    int (*init)(const lc_prov_init_opts_t *opts, void **ctx);
    /** Destroy a context after all its comms are closed. */
    void (*fini)(void *ctx);
    /** Number of devices of the context. */
    int (*devices)(void *ctx, int *ndev);
    int (*get_props)(void *ctx, int dev, lc_prov_props_t *props);

    /** Listen on a device: fills handle (<= LC_PROV_HANDLE_MAX bytes). */
    int (*listen)(void *ctx, int dev, void *handle, void **listen_comm);
    /** Non-blocking connect; *send_comm stays NULL until connected. */
    int (*connect)(void *ctx, int dev, const void *handle, void **send_comm);
    /** Non-blocking accept; *recv_comm stays NULL until a peer connected. */
    int (*accept)(void *listen_comm, void **recv_comm);

    /** Register [buf, buf+len) for a comm (any comm of the context if reg_is_global). */
    int (*reg_mr)(void *comm, void *buf, size_t len, void **mhandle);
    int (*dereg_mr)(void *comm, void *mhandle);

    /** Post a send of len bytes; *req NULL means "no resources now, retry". */
    int (*isend)(void *send_comm, const void *buf, size_t len, void *mhandle, void **req);
    /** Post a receive of at most len bytes; *req NULL means "retry". */
    int (*irecv)(void *recv_comm, void *buf, size_t len, void *mhandle, void **req);
    /**
     * Progress and test a request. *done = 1 when complete; then *size (if
     * not NULL) is the message size and the request is freed. A failed
     * request returns its error and is freed as well.
     */
    int (*test)(void *req, int *done, size_t *size);

    int (*close_send)(void *send_comm);
    int (*close_recv)(void *recv_comm);
    int (*close_listen)(void *listen_comm);

    /**
     * Optional (NULL allowed, the one exception to "every op is set"): block
     * until the context may make progress (a socket or completion queue is
     * ready) or timeout_us passes. Callers use it instead of spinning when a
     * pass over their requests found nothing to do, which matters when ranks
     * outnumber cores. Returns 0 or a negative code.
     */
    int (*wait)(void *ctx, int timeout_us);
};

/* ------------------------------------------------------------------ */
/* Provider registry                                                   */
/* ------------------------------------------------------------------ */

/**
 * @brief Providers built into this library, in preference order.
 * @param[out] count number of entries.
 * @return the table (static), never NULL.
 */
LC_API const lc_provider_t *const *lc_provider_list(int *count);

/**
 * @brief Look a provider up by name.
 * @return the provider, or NULL (with lc_last_error set) if not built in.
 */
LC_API const lc_provider_t *lc_provider_find(const char *name);

/**
 * @brief Select providers from a list in LC_PROVIDER syntax: names separated
 *        by commas, in preference order; a leading '^' excludes the listed
 *        names from all built-in providers instead. NULL or "" means the
 *        LC_PROVIDER parameter (default "tcp").
 * @param[out] out  up to max providers, in preference order.
 * @return the number selected (>= 1), or LC_ERR_NO_PROVIDER / LC_ERR_CONFIG.
 */
LC_API int lc_provider_select(const char *list, const lc_provider_t **out, int max);

/* ------------------------------------------------------------------ */
/* Parameters (the configuration registry)                             */
/* ------------------------------------------------------------------ */

typedef enum lc_param_type {
    LC_PARAM_STR = 0,
    LC_PARAM_INT = 1,   /**< integer, K/M/G (x1024) suffixes allowed */
    LC_PARAM_BOOL = 2,  /**< 0/1, yes/no, on/off, true/false */
} lc_param_type_t;

/** One LC_* variable: its name (with the LC_ prefix), default and help text. */
typedef struct lc_param {
    const char *name;
    lc_param_type_t type;
    const char *def;    /**< default as text; NULL: unset */
    const char *help;
} lc_param_t;

/**
 * @brief The string value of a registered parameter: the environment if set,
 *        else its default.
 * @return the value, or NULL if unset with no default or not registered.
 */
LC_API const char *lc_param_str(const char *name);

/**
 * @brief The integer value of a registered LC_PARAM_INT or LC_PARAM_BOOL parameter.
 * @return 0, LC_ERR_CONFIG (with a message naming the variable) when the
 *         value does not parse, or -ENOENT when not registered or unset.
 */
LC_API int lc_param_int(const char *name, int64_t *value);

/**
 * @brief Iterate over every registered parameter: core ones first, then each
 *        built-in provider's.
 * @param idx 0, 1, ... until NULL is returned.
 * @param[out] owner if not NULL, "core" or the provider's name.
 */
LC_API const lc_param_t *lc_param_at(int idx, const char **owner);

/* ------------------------------------------------------------------ */
/* Keys                                                                */
/* ------------------------------------------------------------------ */

#define LC_PROV_KEY_LEN 32

/**
 * @brief Derive outlen bytes (1..64) bound to a label and a context from a
 *        provider key: HKDF-Expand-SHA-256(key, label, NUL, ctx). Providers
 *        use it for the proof of a challenge-response (the context holds
 *        both nonces) and for per-session keys.
 * @return 0, or -EINVAL for a NULL argument or a bad length.
 */
LC_API int lc_prov_derive(const uint8_t key[LC_PROV_KEY_LEN], const char *label,
                          const void *ctx, size_t ctxlen, void *out, size_t outlen);

/* ------------------------------------------------------------------ */
/* Logging and errors                                                  */
/* ------------------------------------------------------------------ */

typedef enum lc_log_level {
    LC_LOG_ERROR = 0,
    LC_LOG_WARN = 1,
    LC_LOG_INFO = 2,
    LC_LOG_DEBUG = 3,
    LC_LOG_NONE = -1,
} lc_log_level_t;

/** A log sink: receives one formatted line (no trailing newline). */
typedef void (*lc_log_sink_t)(lc_log_level_t level, const char *subsys, const char *msg);

/**
 * @brief Route log lines to a sink (the NCCL plugin passes NCCL's logger)
 *        instead of stderr; NULL restores stderr.
 */
LC_API void lc_log_set_sink(lc_log_sink_t sink);

/**
 * @brief Whether a level is enabled: LC_LOG_LEVEL=none|error|warn|info|debug;
 *        default none (silent), or info while a sink is set (the sink filters).
 */
LC_API int lc_log_enabled(lc_log_level_t level);

/**
 * @brief Log one event: "lioncub[rank] SUBSYS LEVEL: message".
 */
LC_API void lc_log(lc_log_level_t level, const char *subsys, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/**
 * @brief Record err with a message as this thread's last error (lc_last_error)
 *        and log it at error level (if enabled).
 * @return err, so that `return lc_seterr(-EINVAL, "sub", "...")` reads naturally.
 */
LC_API int lc_seterr(int err, const char *subsys, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/** Set the rank printed in log lines (the communicator does this). */
LC_API void lc_log_set_rank(int rank);

#define LC_LOG(level, subsys, ...)                                                               \
    do {                                                                                         \
        if (lc_log_enabled(level))                                                               \
            lc_log(level, subsys, __VA_ARGS__);                                                  \
    } while (0)
#define LC_WARN(subsys, ...) LC_LOG(LC_LOG_WARN, subsys, __VA_ARGS__)
#define LC_INFO(subsys, ...) LC_LOG(LC_LOG_INFO, subsys, __VA_ARGS__)
#define LC_DEBUG(subsys, ...) LC_LOG(LC_LOG_DEBUG, subsys, __VA_ARGS__)

#ifdef __cplusplus
}
#endif

#endif /* LIONCUB_PROVIDER_H */
