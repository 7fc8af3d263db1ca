/* internal.h - declarations shared inside the library (never installed). */
#ifndef LC_INTERNAL_H
#define LC_INTERNAL_H

#include <errno.h>
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

/* Monotonic time in seconds. */
static inline double lc_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Parse "123", "4K", "16M", "1G" (x1024) into *v; 0 or -EINVAL. */
LC_HIDDEN int lc_parse_size(const char *s, int64_t *v);

/* Parse a link rate in tc syntax ("1gbit", "100mbit", "10gbit", "125mbps", "1e9")
 * into bits per second; 0 or -EINVAL. */
LC_HIDDEN int lc_parse_rate(const char *s, double *bits_per_s);

#endif
