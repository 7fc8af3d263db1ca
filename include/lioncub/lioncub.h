/*
 * lioncub.h - the application API of lioncub: bit-packed sign votes and the
 * Lion Cub optimizer step over pluggable network providers.
 *
 * Conventions (all functions):
 *  - return 0 (or a non-negative count where documented) on success and a
 *    negative errno-style code on failure; lc_strerror() names the code;
 *  - output arguments come last; handles are opaque;
 *  - parameter structs start with a size field (set it to sizeof the struct)
 *    and only ever grow at the end.
 *
 * Packed bit vectors: bit i of a vector is bit (i % 64) of little-endian
 * uint64_t word i / 64. Bits past the last element in the last word are
 * written as 0 by every kernel and ignored on input.
 *
 * Sign convention: the packed sign of a floating-point value is its IEEE sign
 * bit. A set bit is a vote for -1, a clear bit a vote for +1. So +0 votes +1,
 * -0 votes -1, and a NaN votes by its sign bit. Every SIMD path and every
 * provider gives the same bits.
 *
 * Tie rule: with an even number of voters an element can tie. A tied element
 * of index i (its global index in the vector) decodes to the sign bit
 * ((i + tie_salt) & 1): ties alternate between -1 and +1 along the vector, and
 * a caller that advances tie_salt every step (the Lion step does) also
 * alternates them in time. The result is deterministic and identical on
 * every rank.
 */
#ifndef LIONCUB_H
#define LIONCUB_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define LC_API __attribute__((visibility("default")))
#else
#define LC_API
#endif

/* ------------------------------------------------------------------ */
/* Version                                                             */
/* ------------------------------------------------------------------ */

#define LIONCUB_VERSION_MAJOR 0
#define LIONCUB_VERSION_MINOR 1
#define LIONCUB_VERSION_PATCH 0
#define LIONCUB_VERSION_CODE(maj, min, pat) (((maj) << 16) | ((min) << 8) | (pat))
#define LIONCUB_VERSION                                                                          \
    LIONCUB_VERSION_CODE(LIONCUB_VERSION_MAJOR, LIONCUB_VERSION_MINOR, LIONCUB_VERSION_PATCH)

/**
 * @brief The library's version string, "MAJOR.MINOR.PATCH".
 * @param[out] code if not NULL, receives LIONCUB_VERSION_CODE of the library
 *             actually loaded (compare with LIONCUB_VERSION of the header).
 * @return a static string; never NULL.
 */
LC_API const char *lc_version(int *code);

/* ------------------------------------------------------------------ */
/* Errors                                                              */
/* ------------------------------------------------------------------ */

/*
 * Functions return negative errno values (-EINVAL, -ENOMEM, -ETIMEDOUT,
 * -ECONNRESET, -EPERM, -ENODEV, -ENOSYS, ...) or one of these
 * lioncub-specific codes, all below -LC_ERR_BASE.
 */
#define LC_ERR_BASE 4096
enum lc_error {
    LC_ERR_MISMATCH = -(LC_ERR_BASE + 1), /**< ranks called a collective with different arguments */
    LC_ERR_JOB_KEY = -(LC_ERR_BASE + 2),  /**< a peer presented the wrong job key */
    LC_ERR_NO_PROVIDER = -(LC_ERR_BASE + 3), /**< no provider matched LC_PROVIDER */
    LC_ERR_PEER = -(LC_ERR_BASE + 4),     /**< a peer failed or left during a collective */
    LC_ERR_SIMD = -(LC_ERR_BASE + 5),     /**< the requested SIMD level is not supported here */
    LC_ERR_CONFIG = -(LC_ERR_BASE + 6),   /**< a configuration variable has a bad value */
    LC_ERR_PROTO = -(LC_ERR_BASE + 7),    /**< a peer sent something this version cannot read */
};

/**
 * @brief A short, static description of an error code.
 * @param err a value returned by a lioncub function (negative errno or lc_error).
 * @return a static string; never NULL ("unknown error N" for unknown codes is
 *         written into a thread-local buffer).
 */
LC_API const char *lc_strerror(int err);

/**
 * @brief The message that came with the last error on this thread.
 *
 * Every failing function records a one-line explanation (which argument, which
 * peer, what the system said). It stays until the next failure on the thread.
 * @return a thread-local string, "" when no error was recorded.
 */
LC_API const char *lc_last_error(void);

/* ------------------------------------------------------------------ */
/* Data types                                                          */
/* ------------------------------------------------------------------ */

typedef enum lc_dtype {
    LC_FP32 = 0, /**< IEEE binary32 */
    LC_BF16 = 1, /**< bfloat16, stored as uint16_t */
    LC_FP16 = 2, /**< IEEE binary16, stored as uint16_t */
    LC_INT8 = 3, /**< int8_t */
    LC_INT32 = 4, /**< int32_t */
    LC_BITS = 5, /**< packed bit vector (see the file comment) */
    LC_DTYPE_COUNT
} lc_dtype_t;

/**
 * @brief Size in bytes of one element of a dtype.
 * @return the size, 0 for LC_BITS (sub-byte) and for invalid values.
 */
LC_API size_t lc_dtype_size(lc_dtype_t dtype);

/**
 * @brief Name of a dtype ("fp32", "bf16", ...), or "invalid".
 */
LC_API const char *lc_dtype_name(lc_dtype_t dtype);

/** Number of uint64_t words that hold n bits. */
#define LC_BITS_WORDS(n) (((n) + 63) / 64)

/* ------------------------------------------------------------------ */
/* SIMD level                                                          */
/* ------------------------------------------------------------------ */

typedef enum lc_simd {
    LC_SIMD_SCALAR = 0,
    LC_SIMD_AVX2 = 1,
    LC_SIMD_AVX512 = 2,
    LC_SIMD_COUNT
} lc_simd_t;

/**
 * @brief The SIMD level the kernels use: the best one the CPU has, or the one
 *        forced with LC_SIMD=scalar|avx2|avx512.
 * @return the level, or LC_ERR_SIMD / LC_ERR_CONFIG when LC_SIMD names a level
 *         the CPU lacks or is not a level at all.
 */
LC_API int lc_simd_active(void);

/**
 * @brief Whether this CPU (and build) can run a SIMD level.
 * @return 1 if supported, 0 if not, -EINVAL for an invalid level.
 */
LC_API int lc_simd_supported(lc_simd_t level);

/**
 * @brief Force a SIMD level for this process (overrides LC_SIMD).
 * @return 0, -EINVAL for an invalid level, LC_ERR_SIMD if the CPU lacks it.
 */
LC_API int lc_simd_set(lc_simd_t level);

/** @brief Name of a SIMD level ("scalar", "avx2", "avx512"), or "invalid". */
LC_API const char *lc_simd_name(lc_simd_t level);

/* ------------------------------------------------------------------ */
/* Kernels                                                             */
/* ------------------------------------------------------------------ */
/*
 * All kernels accept any n (including 0), unaligned pointers, and run on the
 * active SIMD level; every level gives the same bits as the scalar reference.
 * Element indices are global: `first` arguments give the index of element 0
 * of the call within the whole vector (for the tie rule), so a vector may be
 * processed in chunks that start at multiples of 64.
 */

/**
 * @brief Pack the sign bits of n values into a bit vector.
 * @param x      n values of type dtype (LC_FP32, LC_BF16 or LC_FP16).
 * @param dtype  element type.
 * @param n      number of elements.
 * @param bits   output, LC_BITS_WORDS(n) words.
 * @return 0 or -EINVAL.
 */
LC_API int lc_pack_signs(const void *x, lc_dtype_t dtype, size_t n, uint64_t *bits);

/**
 * @brief Number of bit planes needed to count up to p votes: ceil(log2(p+1)).
 * @return the plane count (1..32), or -EINVAL for p == 0 or p > LC_MAX_VOTERS.
 */
LC_API int lc_count_planes(size_t p);

/** Largest number of voters the count kernels accept. */
#define LC_MAX_VOTERS (1u << 20)

/**
 * @brief Count the set bits of p packed vectors, element by element, into
 *        bit-sliced counters.
 *
 * Vector j starts at vecs + j * stride words (stride >= LC_BITS_WORDS(n)).
 * The counts are written as w = lc_count_planes(p) bit planes, each a packed
 * vector of n bits, plane k at planes + k * LC_BITS_WORDS(n): bit i of plane
 * k is bit k of the number of vectors whose bit i is set.
 * @return 0, or -EINVAL.
 */
LC_API int lc_count_votes(const uint64_t *vecs, size_t stride, size_t p, size_t n,
                          uint64_t *planes);

/**
 * @brief Majority decode of bit-sliced counts of set bits (votes for -1).
 *
 * Element i decodes to 1 (-1) when 2*count > p, to 0 (+1) when 2*count < p,
 * and to the tie rule's bit ((first + i + tie_salt) & 1) when 2*count == p.
 * @param planes lc_count_planes(p) planes of n bits, laid out as written by
 *               lc_count_votes.
 * @param first  global index of element 0 (a multiple of 64 or 0).
 * @param bits   output, LC_BITS_WORDS(n) words.
 * @return 0, or -EINVAL.
 */
LC_API int lc_decode_majority(const uint64_t *planes, size_t p, size_t n, uint64_t first,
                              uint64_t tie_salt, uint64_t *bits);

/**
 * @brief Count and majority decode in one call: the same bits as
 *        lc_count_votes followed by lc_decode_majority, without a planes
 *        buffer. For p < 32 the counts never leave registers; larger p are
 *        counted and decoded in blocks of 4096 elements on the stack.
 * @param vecs, stride, p, n as for lc_count_votes.
 * @param first, tie_salt, bits as for lc_decode_majority.
 * @return 0, or -EINVAL.
 */
LC_API int lc_vote_majority(const uint64_t *vecs, size_t stride, size_t p, size_t n,
                            uint64_t first, uint64_t tie_salt, uint64_t *bits);

/**
 * @brief Average decode of bit-sliced counts: out[i] = (p - 2*count_i) / p,
 *        the mean of the voters' +1/-1 values.
 * @param out n values of type dtype (LC_FP32 or LC_BF16, round to nearest even).
 * @return 0, or -EINVAL.
 */
LC_API int lc_decode_average(const uint64_t *planes, size_t p, size_t n, void *out,
                             lc_dtype_t dtype);

/**
 * @brief Unpack a sign bit vector to +1/-1 values (bit set: -1).
 * @param out n values of type dtype (LC_FP32, LC_BF16 or LC_FP16).
 * @return 0, or -EINVAL.
 */
LC_API int lc_unpack_signs(const uint64_t *bits, size_t n, void *out, lc_dtype_t dtype);

/**
 * @brief The fused Lion parameter update with packed signs:
 *        param[i] = param[i] * (1 - lr*wd) - lr * s_i, s_i = -1 if bit i is set, else +1.
 *
 * Computed in fp32 (bf16 parameters are widened, updated, rounded to nearest
 * even).
 * @param param n parameters of type dtype (LC_FP32 or LC_BF16), updated in place.
 * @return 0, or -EINVAL.
 */
LC_API int lc_apply_signs(void *param, lc_dtype_t dtype, const uint64_t *bits, size_t n,
                          float lr, float wd);

/**
 * @brief The same update with real-valued directions:
 *        param[i] = param[i] * (1 - lr*wd) - lr * u[i].
 * @param u n fp32 directions (for example averaged votes).
 * @return 0, or -EINVAL.
 */
LC_API int lc_apply_update(void *param, lc_dtype_t dtype, const float *u, size_t n, float lr,
                           float wd);

/**
 * @brief Pack n signed levels of b bits (1 <= b <= 8) into a bit stream.
 *
 * Level i is stored as a b-bit two's complement field at bit offset i*b of
 * the little-endian word stream; q[i] must lie in [-(2^(b-1)-1), 2^(b-1)-1]
 * (for b == 1: 0 stands for +1 and -1 for -1, the sign-bit convention).
 * @param out LC_BITS_WORDS(n * b) words.
 * @return 0, -EINVAL, or -ERANGE if a level does not fit (out is then undefined).
 */
LC_API int lc_levels_pack(const int8_t *q, size_t n, unsigned b, uint64_t *out);

/**
 * @brief Add n packed b-bit levels into 32-bit sums: sums[i] += level_i.
 *
 * p ranks of levels up to 127 cannot overflow int32 for any p <= LC_MAX_VOTERS.
 * @return 0, or -EINVAL.
 */
LC_API int lc_levels_accumulate(const uint64_t *packed, size_t n, unsigned b, int32_t *sums);

/**
 * @brief Sign decode of summed levels: bit i = 1 if sums[i] < 0, 0 if > 0, and
 *        the tie rule's bit ((first + i + tie_salt) & 1) if sums[i] == 0.
 * @return 0, or -EINVAL.
 */
LC_API int lc_decode_sum_sign(const int32_t *sums, size_t n, uint64_t first, uint64_t tie_salt,
                              uint64_t *bits);

/**
 * @brief L1 quantization of Lion's interpolation c (paper-notes.md):
 *        q[i] = clip(round_half_even(c[i] * scale), -s, s), scale = (s / 2) / mean|c|,
 *        s = 2^(b-1) - 1 for b >= 2. All zeros give all-zero levels.
 *
 * Exactly, in double: |c[i]| is added to partial sum i mod 8 (in element
 * order), the eight partials are added in index order, mean = sum / n, and
 * scale = (s / 2) / mean, or 0 when mean is not positive (all zeros, NaN).
 * A NaN product (Inf or NaN in c) gives level 0. This order is the same on
 * every SIMD level, so the levels never depend on the CPU.
 * @param c n values of type dtype (LC_FP32 or LC_BF16).
 * @param b level bits, 2..8.
 * @param q n output levels.
 * @return 0, or -EINVAL.
 */
LC_API int lc_quantize_l1(const void *c, lc_dtype_t dtype, size_t n, unsigned b, int8_t *q);

/** Most levels on each side of zero that a level field (8 bits) holds. */
#define LC_MAX_LEVELS 127

/**
 * @brief lc_quantize_l1 with s levels on each side of zero given directly:
 *        q[i] in [-s, s], scale = (s / 2) / mean|c|, in the same order of
 *        operations. lc_quantize_l1(c, dtype, n, b, q) is s = 2^(b-1) - 1.
 * @param s levels per side, 1..LC_MAX_LEVELS.
 * @return 0, or -EINVAL.
 */
LC_API int lc_quantize_l1_levels(const void *c, lc_dtype_t dtype, size_t n, unsigned s,
                                 int8_t *q);

/**
 * @brief Bits of the two's complement field that holds levels -s..s:
 *        the smallest b with 2^(b-1) - 1 >= s.
 * @return b (2..8), or -EINVAL for s outside 1..LC_MAX_LEVELS.
 */
LC_API int lc_levels_bits(unsigned s);

/* ------------------------------------------------------------------ */
/* Communicator                                                        */
/* ------------------------------------------------------------------ */

typedef struct lc_comm lc_comm_t;

/** Without LC_ROOT, the rendezvous is MASTER_ADDR at MASTER_PORT + this. */
#define LC_TORCH_PORT_OFFSET 1

/** Opaque rendezvous token, NCCL-unique-id style (address of the root and job key). */
typedef struct lc_unique_id {
    char internal[128];
} lc_unique_id_t;

/**
 * @brief Make a rendezvous token: starts the bootstrap root in this process
 *        (listening on LC_ROOT's host, or all interfaces, at an ephemeral
 *        port) and describes it. Call on one rank, pass the token to all ranks
 *        (MPI_Bcast, a file, ...), then each calls lc_comm_init with it.
 * @return 0, or a negative code.
 */
LC_API int lc_get_unique_id(lc_unique_id_t *id);

typedef struct lc_comm_config {
    size_t size;              /**< sizeof(lc_comm_config_t) */
    int rank;                 /**< this rank, or -1: from the environment */
    int nranks;               /**< number of ranks, or 0: from the environment */
    const char *root;         /**< "host:port" of the rendezvous, or NULL: LC_ROOT */
    const lc_unique_id_t *id; /**< token from lc_get_unique_id, overrides root and job_key */
    const char *job_key;      /**< shared secret, or NULL: LC_JOB_KEY (may be unset) */
    const char *provider;     /**< provider list, or NULL: LC_PROVIDER (default "tcp") */
    int timeout_ms;           /**< collective and bootstrap timeout, or 0: LC_TIMEOUT */
    const char *host;         /**< this rank's host: ranks with equal names share a host;
                                   NULL: LC_HOST, else hostname, boot id and network namespace */
} lc_comm_config_t;

/**
 * @brief Join a communicator.
 *
 * With cfg NULL (or fields left at -1/0/NULL) everything comes from the
 * environment: LC_RANK/LC_SIZE or OMPI_COMM_WORLD_RANK/SIZE, PMI_RANK/PMI_SIZE,
 * SLURM_PROCID/SLURM_NTASKS, or PyTorch's RANK/WORLD_SIZE (the first pair
 * set wins); LC_ROOT=host:port (rank 0 listens there), else, when the rank
 * came from RANK/WORLD_SIZE, PyTorch's MASTER_ADDR with port MASTER_PORT +
 * LC_TORCH_PORT_OFFSET (torch's own store listens on MASTER_PORT itself);
 * LC_JOB_KEY; LC_PROVIDER; LC_TIMEOUT.
 * Blocks until all ranks have joined or the timeout expires.
 * @param[out] comm the new communicator.
 * @return 0, or a negative code (-ETIMEDOUT, LC_ERR_JOB_KEY, ...).
 */
LC_API int lc_comm_init(const lc_comm_config_t *cfg, lc_comm_t **comm);

/**
 * @brief Leave and free a communicator. Not collective: it never blocks on
 *        peers. NULL is accepted.
 * @return 0, or -EINVAL.
 */
LC_API int lc_comm_destroy(lc_comm_t *comm);

/** @brief This rank, or -EINVAL for a NULL comm. */
LC_API int lc_comm_rank(const lc_comm_t *comm);

/** @brief Number of ranks, or -EINVAL for a NULL comm. */
LC_API int lc_comm_size(const lc_comm_t *comm);

/**
 * @brief The host of @p rank: hosts are numbered 0.. in the order of their
 * lowest rank. Ranks share a host when their lc_comm_config_t.host or LC_HOST
 * names are equal, or, without either, their hostname, boot id and network
 * namespace.
 * -EINVAL for a NULL comm or a rank out of range.
 */
LC_API int lc_comm_host(const lc_comm_t *comm, int rank);

/** @brief Number of hosts the communicator's ranks are on, or -EINVAL. */
LC_API int lc_comm_num_hosts(const lc_comm_t *comm);

/** @brief This rank's index among the ranks of its host (in rank order), or -EINVAL. */
LC_API int lc_comm_local_rank(const lc_comm_t *comm);

/** @brief Number of ranks on this rank's host, or -EINVAL. */
LC_API int lc_comm_local_size(const lc_comm_t *comm);

/** @brief Name of the provider the communicator runs on, or NULL for a NULL comm. */
LC_API const char *lc_comm_provider(const lc_comm_t *comm);

/** Traffic counters of a communicator since it was created. */
typedef struct lc_comm_stats {
    size_t size;           /**< sizeof(lc_comm_stats_t) */
    uint64_t bytes_sent;   /**< payload bytes handed to the provider */
    uint64_t bytes_recv;   /**< payload bytes received */
    uint64_t collectives;  /**< collectives completed */
    double comm_seconds;   /**< wall time spent inside collectives */
    uint64_t votes_two_level; /**< votes that ran in two levels (inside hosts, then across) */
} lc_comm_stats_t;

/**
 * @brief Read the communicator's counters.
 * @param[in,out] stats with stats->size set by the caller.
 * @return 0, or -EINVAL.
 */
LC_API int lc_comm_get_stats(const lc_comm_t *comm, lc_comm_stats_t *stats);

/* ------------------------------------------------------------------ */
/* Collectives (every rank must issue them in the same order)          */
/* ------------------------------------------------------------------ */
/*
 * Each collective has a blocking form (lc_vote) and a non-blocking one
 * (lc_ivote) that returns a request at once; lc_test, lc_wait and
 * lc_waitall complete requests. The blocking form is the non-blocking one
 * followed by lc_wait, and both give the same result bit for bit.
 *
 * Order: every rank must issue the collectives of a communicator, blocking
 * or not, in the same order (as MPI requires); any number may be in flight.
 * They may complete in any order; their messages never mix.
 *
 * Buffers: a collective in flight owns its input and output buffers until
 * its request completes; the caller must not touch (or free) them before.
 *
 * Progress: a collective moves when the thread calls lioncub on its
 * communicator (lc_test, lc_wait, issuing another). With LC_PROGRESS_THREAD=1
 * a thread of the library also moves it while the caller computes.
 *
 * Threads: a communicator and its requests are used by one thread at a time:
 * a call made while another thread is inside a call on the same
 * communicator returns -EBUSY at once and changes nothing (the other call
 * goes on). Use one communicator per thread that communicates. Different
 * communicators are independent.
 *
 * Failure: a collective that fails after it started fails the communicator
 * (every later call returns LC_ERR_PEER) and every request in flight on it;
 * peers fail within LC_TIMEOUT. Arguments that differ between ranks give
 * LC_ERR_MISMATCH on every rank (with LC_CHECK_ARGS, the default). A request
 * that completed is freed: lc_test and lc_wait set the caller's pointer to
 * NULL, and NULL requests count as complete. lc_comm_destroy cancels and
 * frees the requests still in flight.
 */

/** A collective in flight (lc_ivote, lc_iallreduce, lc_iallgather, lc_ibcast). */
typedef struct lc_request lc_request_t;

/**
 * @brief Complete *req if it is done, else make progress and return.
 * @param[in,out] req the request; set to NULL once complete (NULL: done at once).
 * @param[out] done 1 when the request completed (its result is returned).
 * @return the collective's result once done (0 or a negative code); 0
 *         while not done; -EINVAL for a bad request.
 */
LC_API int lc_test(lc_request_t **req, int *done);

/**
 * @brief Wait until *req completes, then free it and set *req to NULL.
 * @return the collective's result: 0 or a negative code.
 */
LC_API int lc_wait(lc_request_t **req);

/**
 * @brief lc_wait on each of n requests (they may belong to different
 *        communicators); every one is completed and set to NULL.
 * @return 0, or the first error among them (its message in lc_last_error).
 */
LC_API int lc_waitall(lc_request_t **reqs, int n);

typedef enum lc_vote_mode {
    LC_VOTE_MAJORITY = 0, /**< sign of the sum of signs (1 bit each way) */
    LC_VOTE_AVERAGE = 1,  /**< mean of the signs, (p - 2*negatives) / p */
    LC_VOTE_L1 = 2,       /**< sign of the sum of L1-quantized levels */
} lc_vote_mode_t;

typedef struct lc_vote_opts {
    size_t size;          /**< sizeof(lc_vote_opts_t) */
    lc_vote_mode_t mode;  /**< default LC_VOTE_MAJORITY */
    unsigned level_bits;  /**< LC_VOTE_L1: bits per level 2..8 (s = 2^(b-1) - 1), 0 = 4 */
    uint64_t tie_salt;    /**< tie rule salt (the Lion step passes its step number) */
    unsigned levels;      /**< LC_VOTE_L1: levels per side s, 1..LC_MAX_LEVELS; 0: from
                               level_bits. Levels travel in lc_levels_bits(s) bits. */
    uint64_t first_index; /**< index of element 0 in the tie rule: a vote over part of a
                               longer vector passes the part's offset, and breaks ties as
                               a vote over the whole vector would */
} lc_vote_opts_t;

/**
 * @brief Vote AllReduce over count elements (two phases: all-to-all of packed
 *        votes, local count, all-gather of the decoded chunk).
 *
 * Inputs: in_type LC_FP32/LC_BF16/LC_FP16 values (their signs, or for LC_VOTE_L1
 * their L1-quantized levels), LC_BITS prepacked signs (majority and average),
 * or LC_INT8 levels already quantized to opts->level_bits (LC_VOTE_L1).
 * Outputs: LC_BITS (majority and L1: the decoded signs) or LC_FP32/LC_BF16
 * (+1/-1 values, or the averages for LC_VOTE_AVERAGE). For LC_VOTE_L1 an
 * element whose levels sum to 0 abstains: it is 0 in an LC_FP32/LC_BF16/
 * LC_FP16 output (phase 2 then carries a second bit per element, the ties),
 * and takes the tie rule's bit in an LC_BITS output, which has no zero.
 * LC_INT8 levels must lie in [-s, s]. A caller of the first, smaller
 * lc_vote_opts_t (without levels) keeps working.
 * Every rank gets the same result bit for bit. Arguments that differ between
 * ranks give LC_ERR_MISMATCH on every rank.
 * @param opts NULL for a majority vote with tie_salt 0.
 * @return 0, or a negative code.
 */
LC_API int lc_vote(lc_comm_t *comm, const void *in, lc_dtype_t in_type, void *out,
                   lc_dtype_t out_type, size_t count, const lc_vote_opts_t *opts);

/** @brief lc_vote, non-blocking: *req completes with lc_test or lc_wait. */
LC_API int lc_ivote(lc_comm_t *comm, const void *in, lc_dtype_t in_type, void *out,
                    lc_dtype_t out_type, size_t count, const lc_vote_opts_t *opts,
                    lc_request_t **req);

typedef enum lc_op { LC_SUM = 0, LC_AVG = 1 } lc_op_t;

/**
 * @brief Sum or average AllReduce of fp32 or bf16 values. in == out is
 *        allowed. Every rank gets the same result bit for bit, added in an
 *        order fixed by the ranks and their hosts: with a power of two of
 *        ranks on hosts that are aligned blocks of L >= 2 ranks (one host,
 *        2 x 4, ...) the tree ((x0 + x1) + (x2 + x3)) + ... (recursive
 *        halving, in two levels: docs/hosts.md), else a ring (reduce-scatter
 *        and all-gather). bf16 partial sums are added in fp32 and rounded to
 *        bf16 at each addition.
 * @return 0, or a negative code.
 */
LC_API int lc_allreduce(lc_comm_t *comm, const void *in, void *out, size_t count,
                        lc_dtype_t dtype, lc_op_t op);

/** @brief lc_allreduce, non-blocking: *req completes with lc_test or lc_wait. */
LC_API int lc_iallreduce(lc_comm_t *comm, const void *in, void *out, size_t count,
                         lc_dtype_t dtype, lc_op_t op, lc_request_t **req);

/**
 * @brief All-gather: out holds nranks blocks of `bytes`, block r from rank r.
 * @return 0, or a negative code.
 */
LC_API int lc_allgather(lc_comm_t *comm, const void *in, void *out, size_t bytes);

/** @brief lc_allgather, non-blocking: *req completes with lc_test or lc_wait. */
LC_API int lc_iallgather(lc_comm_t *comm, const void *in, void *out, size_t bytes,
                         lc_request_t **req);

/**
 * @brief Broadcast `bytes` of buf from rank root to all ranks.
 * @return 0, or a negative code.
 */
LC_API int lc_bcast(lc_comm_t *comm, void *buf, size_t bytes, int root);

/** @brief lc_bcast, non-blocking: *req completes with lc_test or lc_wait. */
LC_API int lc_ibcast(lc_comm_t *comm, void *buf, size_t bytes, int root, lc_request_t **req);

/**
 * @brief Barrier: returns when every rank has entered it.
 * @return 0, or a negative code.
 */
LC_API int lc_barrier(lc_comm_t *comm);

/* ------------------------------------------------------------------ */
/* Lion Cub optimizer                                                  */
/* ------------------------------------------------------------------ */

/*
 * One step, per parameter group, with gradient g (of the group's dtype),
 * fp32 momentum m (kept in fp32 whatever the parameter dtype, starts at 0),
 * lr, wd and betas (b1, b2):
 *
 *     c = b1*m + (1-b1)*g                  (fp32)
 *     p = p*(1 - lr*wd) - lr*u             (fp32; bf16 params rounded to nearest even)
 *     m = b2*m + (1-b2)*g
 *
 * where g and u depend on the mode:
 *  - LC_LION_GLOBAL_FP32 / _BF16: g is the mean gradient over the ranks
 *    (lc_allreduce LC_AVG in fp32, or in bf16: each rank's gradient rounded to
 *    bf16, averaged, widened), u = sign(c) with sign(0) = 0 as in standard
 *    Lion (a c of +0 or -0 leaves the parameter to weight decay only; so does
 *    a NaN). Momenta are the mean-gradient momentum, identical on all ranks.
 *  - LC_LION_VOTE: g is the local gradient; u = the majority vote of the
 *    ranks' sign bits of c (lc_vote LC_VOTE_MAJORITY, tie_salt = step).
 *  - LC_LION_VOTE_AVG: g local; u = the mean of the ranks' +1/-1 votes
 *    (lc_vote LC_VOTE_AVERAGE).
 *  - LC_LION_VOTE_L1: g local; u = the sign of the sum of the ranks' L1
 *    levels of c, s levels per side (lc_vote LC_VOTE_L1 into fp32 values),
 *    and u = 0 where the levels sum to 0: a tie abstains, as a level of 0
 *    (a c of 0 among them) does.
 * Zeros in the 1-bit modes (LC_LION_VOTE, LC_LION_VOTE_AVG): a c of +0 or -0
 * (a parameter that has never had a gradient, for instance) has no sign, so
 * rank r votes the parity bit ((i + step + r) & 1) for element i: -1 where
 * it is 1. Where every rank's c is 0 the votes cancel or alternate from step
 * to step (even p: the ranks split evenly and the tie rule alternates; odd p
 * and one rank: the majority is the parity of i + step), so the parameter
 * stays within 2*lr of its weight-decay-only trajectory instead of drifting;
 * in vote-l1 it does not move at all. Momenta stay local in the vote modes
 * (each rank's own gradient) until a momentum sync averages them.
 *
 * All groups travel together: one lc_allreduce or lc_vote per step over their
 * concatenation, each group starting at a multiple of 64 elements, so a tied
 * element decodes with the parity of its index within its group (and
 * tie_salt = the step number); an L1 level is scaled by its own group's
 * mean |c|. The buffers for this are allocated by lc_lion_add_group.
 *
 * Momentum sync (lc_msync_t): in the vote modes, at every step where
 * lc_msync_due(msync, step) is 1, after that step's momentum update, the
 * group's momentum is replaced on every rank by its mean over the ranks
 * (lc_allreduce LC_AVG in fp32, or in bf16: m rounded to bf16, averaged,
 * widened back to fp32), identical on all ranks. In the global modes the
 * momenta are identical already and the policy is ignored. Step numbers are
 * the optimizer's (1-based, counted by lc_lion_step on all groups alike).
 *
 * After an error from lc_lion_step (a failed collective) the parameters and
 * momenta of the step's groups are unspecified: destroy the optimizer.
 * Argument errors (-EINVAL) are found before anything is changed. The first
 * step after lc_lion_add_group also checks, with one small lc_allgather, that
 * every rank has the same mode, betas, level_bits and groups (counts, dtypes,
 * momentum policies), and fails with LC_ERR_MISMATCH on every rank if not.
 * An optimizer is used by one thread at a time.
 */
typedef struct lc_lion lc_lion_t;

typedef enum lc_lion_mode {
    LC_LION_GLOBAL_FP32 = 0, /**< fp32 gradient allreduce, Lion on the mean gradient */
    LC_LION_GLOBAL_BF16 = 1, /**< bf16 gradient allreduce, Lion on the mean gradient */
    LC_LION_VOTE = 2,        /**< 1-bit majority vote of the local sign(c) */
    LC_LION_VOTE_AVG = 3,    /**< average of the ranks' signs */
    LC_LION_VOTE_L1 = 4,     /**< sign of the sum of L1-quantized levels */
    LC_LION_MODE_COUNT
} lc_lion_mode_t;

/*
 * Momentum sync schedules. A sync is due at step s (1-based) when s <= until
 * (or until == 0) and:
 *  - LC_MSYNC_NEVER: never;
 *  - LC_MSYNC_EVERY: s is a multiple of every (every >= 1): every, 2*every, ...;
 *  - LC_MSYNC_EVERY_FROM_1: s - 1 is a multiple of every: 1, every + 1,
 *                    2*every + 1, ... (the Lion Cub authors' phase: their
 *                    code syncs at the first step of every period);
 *  - LC_MSYNC_EXP:   s is one of T(0) = every (>= 1),
 *                    T(j+1) = T(j) + floor(2^(j/k)), j = 0, 1, ..., with k > 0
 *                    and floor(2^(j/k)) computed as floor(pow(2.0, (double)j / k));
 *                    e.g. every = 1, k = 1: steps 1, 2, 4, 8, 16, ...;
 *                    every = 10, k = 2: 10, 11, 12, 14, 16, 20, 25, 33, 44, ...
 */
typedef enum lc_msync_kind {
    LC_MSYNC_NEVER = 0, /**< momenta stay local */
    LC_MSYNC_EVERY = 1, /**< every `every` steps (steps every, 2*every, ...) */
    LC_MSYNC_EXP = 2,   /**< T(0) = every, T(j+1) = T(j) + 2^(j/k) (rounded down) */
    LC_MSYNC_EVERY_FROM_1 = 3, /**< steps 1, every + 1, 2*every + 1, ... */
} lc_msync_kind_t;

typedef struct lc_msync {
    size_t size;          /**< sizeof(lc_msync_t) */
    lc_msync_kind_t kind;
    uint64_t every;       /**< period (EVERY) or first sync step (EXP) */
    uint64_t until;       /**< 0: no limit; else no sync after step `until` */
    double k;             /**< EXP: growth constant (> 0) */
    lc_dtype_t dtype;     /**< LC_FP32 or LC_BF16 on the wire */
} lc_msync_t;

/** lc_lion_config_t.flags: beta1 and beta2 are taken as given, 0 included. */
#define LC_LION_EXACT_BETAS 1u

typedef struct lc_lion_config {
    size_t size;          /**< sizeof(lc_lion_config_t) */
    lc_lion_mode_t mode;
    float lr;             /**< learning rate */
    float beta1;          /**< 0 means the default 0.9, unless LC_LION_EXACT_BETAS */
    float beta2;          /**< 0 means the default 0.99, unless LC_LION_EXACT_BETAS */
    float weight_decay;   /**< decoupled weight decay */
    unsigned level_bits;  /**< LC_LION_VOTE_L1: 2..8, 0 = default (4): s = 2^(b-1) - 1 */
    unsigned levels;      /**< LC_LION_VOTE_L1: levels per side s, 1..LC_MAX_LEVELS, or 0:
                               from level_bits. The authors' L1 vote uses floor(127 / p). */
    unsigned flags;       /**< LC_LION_EXACT_BETAS, or 0 */
} lc_lion_config_t;

/**
 * @brief Create a distributed Lion optimizer on a communicator (not
 *        collective; every rank must use the same configuration).
 * @param cfg  lr and weight_decay finite and >= 0; beta1, beta2 in [0, 1]
 *             (0 picks the default unless flags has LC_LION_EXACT_BETAS);
 *             level_bits 0 or 2..8; levels 0 or 1..LC_MAX_LEVELS. A caller
 *             of the first, smaller struct (without levels and flags) keeps
 *             working.
 * @param[out] lion the optimizer, NULL on failure.
 * @return 0, -EINVAL, or -ENOMEM.
 */
LC_API int lc_lion_create(lc_comm_t *comm, const lc_lion_config_t *cfg, lc_lion_t **lion);

/**
 * @brief Register a parameter group (a tensor or a layer). Its momentum starts
 *        at zero. All ranks must register the same groups in the same order.
 * @param params  count parameters of type dtype (LC_FP32 or LC_BF16), updated in place;
 *                may be NULL when count is 0 (an empty group is allowed and skipped).
 * @param name    for messages, copied; NULL gives "group<index>".
 * @param msync   momentum synchronization policy, NULL for never (copied).
 * @return the group index (>= 0), or a negative code (-EINVAL, -ENOMEM).
 */
LC_API int lc_lion_add_group(lc_lion_t *lion, void *params, size_t count, lc_dtype_t dtype,
                             const char *name, const lc_msync_t *msync);

/*
 * A step's hyper-parameters. Group g uses group_lr[g] when group_lr is set
 * and that entry is >= 0, else lr when lr >= 0, else the configured lr; the
 * same for its weight decay. Callers compiled against the first version of
 * this struct (size = offsetof(lc_lion_step_opts_t, group_lr)) keep working.
 */
typedef struct lc_lion_step_opts {
    size_t size;          /**< sizeof(lc_lion_step_opts_t) */
    float lr;             /**< this step's lr, or < 0: the configured one */
    float weight_decay;   /**< this step's weight decay, or < 0: the configured one */
    const float *group_lr; /**< NULL, or one lr per group in registration order (< 0: lr) */
    const float *group_weight_decay; /**< NULL, or one weight decay per group (< 0: weight_decay) */
} lc_lion_step_opts_t;

typedef struct lc_lion_step_info {
    size_t size;          /**< sizeof(lc_lion_step_info_t) */
    uint64_t step;        /**< the step just completed (1-based) */
    uint64_t bytes_sent;  /**< payload bytes this rank sent during the step */
    double comm_seconds;  /**< time in collectives during the step */
    double total_seconds; /**< time of the whole step */
    int momentum_synced;  /**< number of groups whose momentum was averaged */
} lc_lion_step_info_t;

/**
 * @brief One optimizer step over all groups.
 * @param grads  one gradient pointer per registered group, in registration order,
 *               of the group's dtype and count (NULL allowed for an empty group).
 * @param opts   NULL for the configured lr and weight decay.
 * @param info   NULL, or receives the step's figures (info->size set by caller).
 * @return 0, -EINVAL (NULL lion or grads, no groups, bad opts or info size),
 *         or a collective's error.
 */
LC_API int lc_lion_step(lc_lion_t *lion, const void *const *grads,
                        const lc_lion_step_opts_t *opts, lc_lion_step_info_t *info);

/*
 * The step split, to overlap it with backward: lc_lion_step_begin opens a
 * step; lc_lion_step_group takes group `group`'s gradient as soon as backward
 * produced it, does its local math and, in the vote modes, starts its vote
 * (non-blocking: it moves while backward goes on); lc_lion_step_end completes
 * the votes and updates every group. The result equals lc_lion_step's bit for
 * bit. Every group is given exactly once per step, and every rank gives them
 * in the same order (the votes are collectives). The global modes average all
 * gradients in one allreduce, started when the last group is given. A group's
 * gradient may be reused once lc_lion_step_group returns; its parameters
 * change in lc_lion_step_end. opts (and the arrays it points to) is read
 * until lc_lion_step_end. lc_lion_step is refused while a split step is open.
 */

/** @brief Open a step (see above). @return 0, or -EINVAL (a step is open, bad opts). */
LC_API int lc_lion_step_begin(lc_lion_t *lion, const lc_lion_step_opts_t *opts);

/**
 * @brief Give group `group`'s gradient (the group's dtype and count).
 * @return 0, -EINVAL (no open step, bad group, given twice, NULL gradient),
 *         or a collective's error.
 */
LC_API int lc_lion_step_group(lc_lion_t *lion, int group, const void *grad);

/**
 * @brief Complete the step: wait for its collectives, update every group.
 * @param info NULL, or receives the step's figures (info->size set by caller).
 * @return 0, -EINVAL (no open step, a group not given), or a collective's error.
 */
LC_API int lc_lion_step_end(lc_lion_t *lion, lc_lion_step_info_t *info);

/**
 * @brief Whether the momentum policy syncs at a step (1-based), for planning
 *        and tests.
 * @return 1 or 0, or -EINVAL.
 */
LC_API int lc_msync_due(const lc_msync_t *msync, uint64_t step);

/*
 * Optimizer state, for checkpoints. A run saved after step k (each rank its
 * own momenta: in the vote modes they differ between ranks) and restored
 * into an optimizer with the same configuration and groups, in fresh
 * processes, continues bit for bit like the uninterrupted run: the step
 * number sets the tie rule's salt and the momentum-sync schedule.
 */

/**
 * @brief The number of steps completed (0 before the first step).
 * @param[out] step receives it.
 * @return 0, or -EINVAL.
 */
LC_API int lc_lion_get_step(const lc_lion_t *lion, uint64_t *step);

/**
 * @brief Set the number of steps completed: the next lc_lion_step is step
 *        `step` + 1, for the tie salt and every group's momentum schedule.
 * @return 0, or -EINVAL.
 */
LC_API int lc_lion_set_step(lc_lion_t *lion, uint64_t step);

/**
 * @brief Copy group `group`'s fp32 momentum out.
 * @param m     count floats; count must be the group's element count.
 * @return 0, or -EINVAL (bad group, NULL m with count > 0, wrong count).
 */
LC_API int lc_lion_get_momentum(const lc_lion_t *lion, int group, float *m, size_t count);

/**
 * @brief Replace group `group`'s fp32 momentum (count floats, the group's
 *        element count). Every value is taken as it is, NaN included.
 * @return 0, or -EINVAL.
 */
LC_API int lc_lion_set_momentum(lc_lion_t *lion, int group, const float *m, size_t count);

/**
 * @brief Point group `group` at another parameter buffer of the same count
 *        and dtype (a framework that moved its tensor's storage).
 * @param params not NULL unless the group is empty.
 * @return 0, or -EINVAL.
 */
LC_API int lc_lion_set_params(lc_lion_t *lion, int group, void *params);

/**
 * @brief Free the optimizer (not the parameters). NULL is accepted.
 */
LC_API void lc_lion_destroy(lc_lion_t *lion);

/** @brief Name of a Lion mode ("global-fp32", "vote", ...), or "invalid". */
LC_API const char *lc_lion_mode_name(lc_lion_mode_t mode);

/** @brief Parse a Lion mode name. @return the mode, or -EINVAL. */
LC_API int lc_lion_mode_parse(const char *name);

#ifdef __cplusplus
}
#endif

#endif /* LIONCUB_H */
