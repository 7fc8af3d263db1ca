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
 * once where it is detected. Handles are typed: every provider object (a
 * context, a listen/send/recv comm, a registration, a request) starts with an
 * lc_prov_obj_t that says which provider made it and what it is, so the
 * library and the plugin check a handle before handing it to an op. Every op
 * but reg_mr, dereg_mr and wait must be set; those three may be NULL (or lie
 * beyond an older provider's size) and the registry then points them at
 * stubs returning -ENOSYS (provider_sdk.h). Providers write themselves with
 * provider_sdk.h; ofi and raweth are loadable modules (provider_module.h).
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

/** What a provider object is. */
typedef enum lc_prov_kind {
    LC_PROV_CTX = 1,    /**< a context (init) */
    LC_PROV_LISTEN = 2, /**< a listen comm (listen) */
    LC_PROV_SEND = 3,   /**< a send comm (connect) */
    LC_PROV_RECV = 4,   /**< a recv comm (accept) */
    LC_PROV_MR = 5,     /**< a registration (reg_mr) */
    LC_PROV_REQ = 6,    /**< a request (isend, irecv) */
} lc_prov_kind_t;

/**
 * The header every provider object starts with (lc_prov_obj_init in
 * provider_sdk.h sets it): magic LC_PROV_MAGIC while the object lives, its
 * lc_prov_kind_t, and the ops table of the provider that made it.
 */
typedef struct lc_prov_obj {
    uint32_t magic;
    uint32_t kind;
    const lc_provider_t *prov;
} lc_prov_obj_t;

/* The handle types of the ops: a provider's own structs start with one of
 * these (`struct tcp_comm { lc_prov_comm_t base; ... }`). */
typedef struct lc_prov_ctx { lc_prov_obj_t obj; } lc_prov_ctx_t;
typedef struct lc_prov_comm { lc_prov_obj_t obj; } lc_prov_comm_t; /**< listen, send or recv */
typedef struct lc_prov_mr { lc_prov_obj_t obj; } lc_prov_mr_t;
typedef struct lc_prov_req {
    lc_prov_obj_t obj;
    void *user; /**< NULL when made; set by the caller to have progress() report it */
} lc_prov_req_t;

/** A request progress() reports: completed or failed, and freed. */
typedef struct lc_prov_cqe {
    void *user;   /**< the request's user field */
    int status;   /**< 0, or the error it failed with (test()'s return) */
    size_t size;  /**< the message's size */
} lc_prov_cqe_t;

/** The ops table. Providers define one as `const lc_provider_t lc_prov_NAME`. */
struct lc_provider {
    size_t size;           /**< sizeof(lc_provider_t) at the provider's build */
    const char *name;      /**< "tcp", "ofi", "raweth" */
    const struct lc_param *params; /**< the provider's LC_* parameters, NULL-name terminated */

    /** Create a context; -ENODEV when no usable device exists. */
    int (*init)(const lc_prov_init_opts_t *opts, lc_prov_ctx_t **ctx);
    /** Destroy a context after all its comms are closed. */
    void (*fini)(lc_prov_ctx_t *ctx);
    /** Number of devices of the context. */
    int (*devices)(lc_prov_ctx_t *ctx, int *ndev);
    int (*get_props)(lc_prov_ctx_t *ctx, int dev, lc_prov_props_t *props);

    /** Listen on a device: fills handle (<= LC_PROV_HANDLE_MAX bytes). */
    int (*listen)(lc_prov_ctx_t *ctx, int dev, void *handle, lc_prov_comm_t **listen_comm);
    /** Non-blocking connect; *send_comm stays NULL until connected. */
    int (*connect)(lc_prov_ctx_t *ctx, int dev, const void *handle, lc_prov_comm_t **send_comm);
    /** Non-blocking accept; *recv_comm stays NULL until a peer connected. */
    int (*accept)(lc_prov_comm_t *listen_comm, lc_prov_comm_t **recv_comm);

    /** Register [buf, buf+len) for a comm (any comm of the context if reg_is_global). */
    int (*reg_mr)(lc_prov_comm_t *comm, void *buf, size_t len, lc_prov_mr_t **mhandle);
    int (*dereg_mr)(lc_prov_comm_t *comm, lc_prov_mr_t *mhandle);

    /** Post a send of len bytes; *req NULL means "no resources now, retry". */
    int (*isend)(lc_prov_comm_t *send_comm, const void *buf, size_t len, lc_prov_mr_t *mhandle,
                 lc_prov_req_t **req);
    /** Post a receive of at most len bytes; *req NULL means "retry". */
    int (*irecv)(lc_prov_comm_t *recv_comm, void *buf, size_t len, lc_prov_mr_t *mhandle,
                 lc_prov_req_t **req);
    /**
     * Progress and test a request. *done = 1 when complete; then *size (if
     * not NULL) is the message size and the request is freed. A failed
     * request returns its error and is freed as well.
     */
    int (*test)(lc_prov_req_t *req, int *done, size_t *size);

    int (*close_send)(lc_prov_comm_t *send_comm);
    int (*close_recv)(lc_prov_comm_t *recv_comm);
    int (*close_listen)(lc_prov_comm_t *listen_comm);

    /**
     * Optional (NULL: the registry's stub, -ENOSYS): block until the context
     * may make progress (a socket or completion queue is ready) or timeout_us
     * passes. Callers use it instead of spinning when a
     * pass over their requests found nothing to do, which matters when ranks
     * outnumber cores. Returns 0 or a negative code.
     */
    int (*wait)(lc_prov_ctx_t *ctx, int timeout_us);

    /**
     * Optional (NULL: callers test() each request): move every comm of the
     * context once, then report up to max requests that completed or failed
     * and whose user field the caller set (right after isend or irecv returned
     * them); a reported request is freed and never goes through test().
     * Requests whose user field stays NULL are test()ed as before. Returns the
     * number reported (0..max), or a negative code.
     */
    int (*progress)(lc_prov_ctx_t *ctx, lc_prov_cqe_t *cqe, int max);
};

/* ------------------------------------------------------------------ */
/* Provider registry                                                   */
/* ------------------------------------------------------------------ */

/*
 * tcp is built into the library; the others are loadable modules,
 * liblioncub-NAME.so, looked for in the folders of LC_MODULE_PATH, then in
 * the folder lioncub/ next to liblioncub.so (for a program linked with the
 * static library: ../lib/lioncub and ../LIBDIR/lioncub from the program's
 * folder). Folders are listed once, on first use of the registry; a module is
 * loaded (dlopen) when first needed; one that does not load is skipped and
 * the reason kept (lc_provider_module_at). A provider linked into the program
 * itself (tests of a provider's internals) is registered with
 * lc_provider_register and then wins over its module.
 */

/** What the registry knows of one module. */
typedef enum lc_module_state {
    LC_MODULE_FOUND = 0,  /**< found, not loaded yet */
    LC_MODULE_LOADED = 1, /**< loaded: its provider is usable */
    LC_MODULE_FAILED = 2, /**< did not load: see reason */
    LC_MODULE_SHADOWED = 3, /**< not loaded: an earlier folder or the program has the provider */
} lc_module_state_t;

typedef struct lc_module_info {
    size_t size;              /**< sizeof(lc_module_info_t), set by the caller */
    char name[32];            /**< the provider's name, from the file name */
    char path[512];           /**< the module's file */
    lc_module_state_t state;
    char reason[256];         /**< LC_MODULE_FAILED/SHADOWED: why ("libfabric.so.1: cannot open ...") */
} lc_module_info_t;

/**
 * @brief Module idx of those found (0, 1, ...), in search order.
 * @param[in,out] info with info->size set by the caller.
 * @return 0, -ENOENT past the last one, or -EINVAL.
 */
LC_API int lc_provider_module_at(int idx, lc_module_info_t *info);

/**
 * @brief Load every module found (lc_provider_list needs them all).
 * @return the number of providers now usable (built in or loaded), >= 1.
 */
LC_API int lc_provider_load_all(void);

/**
 * @brief Register a provider linked into the program (a test of its
 *        internals), so that lookups by its name use it instead of its module.
 *        Checked like a module's table. Call before the first communicator.
 * @return 0, -EINVAL (bad table), -EEXIST (a provider of that name is loaded
 *         already) or -ENOSPC.
 */
LC_API int lc_provider_register(const lc_provider_t *prov);

/**
 * @brief Every usable provider (built in, registered, and every module that
 *        loads), in preference order; loads the modules found.
 * @param[out] count number of entries.
 * @return the table, NULL-terminated, never NULL.
 */
LC_API const lc_provider_t *const *lc_provider_list(int *count);

/**
 * @brief Look a provider up by name, loading its module on first use.
 * @return the provider, or NULL (with lc_last_error set: not found, or why
 *         its module did not load).
 */
LC_API const lc_provider_t *lc_provider_find(const char *name);

/**
 * @brief Select providers from a list in LC_PROVIDER syntax: names separated
 *        by commas, in preference order; a leading '^' excludes the listed
 *        names from all usable providers instead. NULL or "" means the
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

/* ------------------------------------------------------------------ */
/* Modules                                                             */
/* ------------------------------------------------------------------ */

/** ABI version of the module entry; raised only when lc_prov_core_t or the
 *  entry changes incompatibly (both only grow, so far never). */
#define LC_PROV_MODULE_ABI 2

/**
 * The library's services a module calls (its logging, errors and
 * parameters), handed to the module's entry point: a module does not link
 * liblioncub, so it also works in a program linked with the static library.
 * Grows only at the end; size is sizeof at the library's build.
 */
typedef struct lc_prov_core {
    size_t size;
    unsigned abi; /**< LC_PROV_MODULE_ABI */
    void (*log)(lc_log_level_t level, const char *subsys, const char *fmt, ...);
    int (*log_enabled)(lc_log_level_t level);
    int (*seterr)(int err, const char *subsys, const char *fmt, ...);
    const char *(*param_str)(const char *name);
    int (*param_int)(const char *name, int64_t *value);
    const char *(*strerror)(int err);
    const char *(*last_error)(void);
    int (*derive)(const uint8_t key[LC_PROV_KEY_LEN], const char *label, const void *ctx,
                  size_t ctxlen, void *out, size_t outlen); /**< lc_prov_derive */
} lc_prov_core_t;

/**
 * The one symbol a module exports (provider_module.h defines it): takes the
 * library's services and returns the module's ops table. 0 or a negative code.
 */
#define LC_PROV_MODULE_ENTRY "lc_prov_module_load"
typedef int (*lc_prov_module_load_t)(const lc_prov_core_t *core, const lc_provider_t **prov);

#ifdef __cplusplus
}
#endif

#endif /* LIONCUB_PROVIDER_H */
