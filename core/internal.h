/* internal.h - declarations shared inside the library (never installed). */
#ifndef LC_INTERNAL_H
#define LC_INTERNAL_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "lioncub/lioncub.h"
#include "lioncub/provider_sdk.h" /* LC_HIDDEN, LC_EINVAL, lc_now, lc_struct_in/out */

/*
 * The rule a registered value follows, beside its entry in the registry
 * (core/param.c holds every rule); a provider's parameters follow their type.
 */
typedef struct lc_param_rule {
    int64_t min, max;            /* LC_PARAM_INT: the accepted range, when min < max */
    int64_t multiple;            /* LC_PARAM_INT: the value is a multiple of it (0: any) */
    const char *const *words;    /* LC_PARAM_STR: the accepted words, NULL-terminated */
    int (*check)(const char *v); /* LC_PARAM_STR: 0 when v has the form below */
    const char *form;            /* what check accepts, in words */
} lc_param_rule_t;

/* A registered parameter, and in *rule (if not NULL) its rule or NULL. */
LC_HIDDEN const lc_param_t *lc_param_find(const char *name, const lc_param_rule_t **rule);

/* The form p's values take, in words ("an integer 1..8"), into buf. */
LC_HIDDEN void lc_param_form(const lc_param_t *p, char *buf, size_t len);

/* The index among its rule's words of a word parameter's value (its default
 * when unset): >= 0; -ENOENT when unset without default; -EINVAL when not one
 * of the words. Sets no error (the logger calls it). */
LC_HIDDEN int lc_param_word(const char *name);

/* Check one registered parameter's value: 0, or LC_ERR_CONFIG with a message
 * naming the variable and the form it accepts. */
LC_HIDDEN int lc_param_check(const char *name);

/* Check every LC_* variable that is set: warn (once per process, through the
 * logger even when it is silent) about those the registry does not know, and
 * return LC_ERR_CONFIG for the first registered one whose value is wrong. */
LC_HIDDEN int lc_params_check(void);

/* Set, once per process and before any lioncub thread reads the environment,
 * the variables provider libraries read when they initialize, for the
 * providers list (NULL: LC_PROVIDER) can choose (core/prov_env.c). */
LC_HIDDEN void lc_prov_env_prepare(const char *list);

/* The provider variable name among the providers usable now (tcp, modules
 * loaded so far), or with load_all among every module's, loading them. */
LC_HIDDEN const lc_param_t *lc_provider_param_find(const char *name, int load_all);

/* Whether the comma-separated list names name. */
LC_HIDDEN int lc_list_has(const char *list, const char *name);
LC_HIDDEN void lc_params_warn_unknown(void);

/* Forms of structured values, for the registry's rules: 0 or -EINVAL. */
LC_HIDDEN int lc_param_check_providers(const char *v);
LC_HIDDEN int lc_param_check_hostport(const char *v);

/* The words of LC_SIMD (in lc_simd_t order) and LC_LOG_LEVEL (none, then
 * lc_log_level_t order), NULL-terminated. */
LC_HIDDEN extern const char *const lc_simd_names[];
LC_HIDDEN extern const char *const lc_log_level_names[];
/* The words of LC_HIER, in lc_hier_t order (core/comm/comm.h). */
LC_HIDDEN extern const char *const lc_hier_names[];

/* A count in the K/M/G form lc_parse_size reads, where that is shorter:
 * 4194304 -> "4M", 86400000 -> "86400000". */
LC_HIDDEN void lc_format_size(int64_t v, char *buf, size_t len);

/* Make msg (a message lc_seterr recorded, maybe on another thread) this
 * thread's last error again, without logging it twice. */
LC_HIDDEN void lc_restore_error(const char *msg);

/* Largest buffer a collective accepts, in bytes (16 TiB): a larger size is a
 * caller's overflow, refused before any address is computed from it. */
#define LC_MAX_BUFFER ((size_t)1 << 44)

/* Most vote segments in flight (LC_VOTE_DEPTH's upper bound): the slots a
 * vote keeps, and those of a shared-memory region. */
#define LC_VOTE_MAX_DEPTH 8

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

/* Parse a decimal integer with an optional K, M or G suffix (x1024): "123", "4K",
 * "16M", "1G", into *v; 0, or -EINVAL when malformed or out of int64_t. */
LC_HIDDEN int lc_parse_size(const char *s, int64_t *v);

/* Parse a link rate in tc syntax ("1gbit", "100mbit", "10gbit", "125mbps", "1e9")
 * into bits per second; 0 or -EINVAL. */
LC_HIDDEN int lc_parse_rate(const char *s, double *bits_per_s);

#endif
