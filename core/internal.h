/* internal.h - declarations shared inside the library (never installed). */
#ifndef LC_INTERNAL_H
#define LC_INTERNAL_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "lioncub/lioncub.h"
#include "lioncub/provider.h"

/* Symbols used across the library's files but not exported. */
#define LC_HIDDEN __attribute__((visibility("hidden")))

/* Record an invalid-argument error naming the function and return -EINVAL. */
#define LC_EINVAL(subsys, ...) lc_seterr(-EINVAL, subsys, __VA_ARGS__)

/* Core parameters (the registry's first table). */
LC_HIDDEN extern const lc_param_t lc_core_params[];

/* Largest buffer a collective accepts, in bytes (16 TiB): a larger size is a
 * caller's overflow, refused before any address is computed from it. */
#define LC_MAX_BUFFER ((size_t)1 << 44)

/* Monotonic time in seconds. */
static inline double lc_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/*
 * Words between the rows (one per rank) that lc_vote counts together: a row's
 * words, plus one cache line when that is a multiple of 512 bytes. The
 * counter reads all p rows at once, and rows a multiple of 4 KiB apart share
 * one L1 set: padding made count+majority 1.5-2.5x faster in cache
 * (docs/benchmarks.md, lc_bench_kernels "/pad" rows).
 */
#define LC_VOTE_ROW_PAD 8
static inline size_t lc_vote_row_words(size_t words)
{
    return words % 64 ? words : words + LC_VOTE_ROW_PAD;
}

/* Parse "123", "4K", "16M", "1G" (x1024) into *v; 0 or -EINVAL. */
LC_HIDDEN int lc_parse_size(const char *s, int64_t *v);

/* Parse a link rate in tc syntax ("1gbit", "100mbit", "10gbit", "125mbps", "1e9")
 * into bits per second; 0 or -EINVAL. */
LC_HIDDEN int lc_parse_rate(const char *s, double *bits_per_s);

#endif
