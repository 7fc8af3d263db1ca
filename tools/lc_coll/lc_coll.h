/*
 * lc_coll.h - the parts of lc_coll, the collective benchmark in nccl-tests'
 * conventions: the options, one size's measurement, the collectives with
 * their inputs and reference check (coll.c), the table, CSV and JSON output
 * (report.c). docs/tools.md maps every flag and column to nccl-tests'.
 */
#ifndef LC_COLL_H
#define LC_COLL_H

#include <stddef.h>
#include <stdint.h>

#include "internal.h"
#include "json.h"

enum lcc_coll { LCC_VOTE, LCC_VOTE_AVG, LCC_VOTE_L1, LCC_ALLREDUCE, LCC_ALLGATHER, LCC_NCOLL };
enum lcc_type { LCC_FLOAT, LCC_BF16, LCC_UINT8, LCC_BITS, LCC_NTYPE };
enum lcc_average { LCC_AVG_RANK0, LCC_AVG_MEAN, LCC_AVG_MIN, LCC_AVG_MAX };

extern const char *const lcc_coll_names[]; /* --op words */
extern const char *const lcc_type_names[]; /* -d words */
extern const char *const lcc_avg_names[];  /* -a 0..3 */

struct lcc_opts {
    int coll, type;
    size_t minbytes, maxbytes, stepbytes; /* stepbytes 0: multiply by factor */
    double factor;
    int iters, warmup, check, average, csv;
    double link_bps; /* 0: no floor column */
    int level_bits;
    uint64_t seed;
    const char *json; /* -J FILE, or NULL */
};

/* One size as rank 0 reports it. */
struct lcc_result {
    size_t bytes;     /* size column: bytes of the collective (nccl-tests' S) */
    size_t count;     /* count column: elements per rank */
    double time_s;    /* per iteration, aggregated over ranks per -a */
    double algbw;     /* GB/s: bytes / time */
    double busbw;     /* GB/s: algbw * the collective's bus factor */
    double wire;      /* GB/s: payload bytes the busiest rank sent / time */
    double floor_pct; /* wire-time floor on --link / time, %; < 0 without --link */
    long long wrong;  /* elements that differ from the reference, all ranks; < 0: unchecked */
};

/* Elements per rank of a collective of `bytes`, and the bytes of `count` (inverse). */
size_t lcc_count(const struct lcc_opts *o, size_t bytes, int p);
size_t lcc_bytes(const struct lcc_opts *o, size_t count, int p);

/* Buffer bytes of one rank's input and of its output, for count elements. */
size_t lcc_in_len(const struct lcc_opts *o, size_t count);
size_t lcc_out_len(const struct lcc_opts *o, size_t count, int p);

/* Rank r's input: the same on every rank that regenerates it from the seed. */
void lcc_input(const struct lcc_opts *o, int r, size_t count, void *buf);

/* One collective; 0 or a negative code. */
int lcc_run(lc_comm_t *c, const struct lcc_opts *o, const void *in, void *out, size_t count);

/* Elements of out that differ from the reference built from every rank's
 * input, or -ENOMEM. */
long long lcc_check(lc_comm_t *c, const struct lcc_opts *o, const void *out, size_t count);

/* nccl-tests' bus factor: 2(p-1)/p, or (p-1)/p for the all-gather. */
double lcc_bus_factor(const struct lcc_opts *o, int p);

/* Wire bits one rank sends per element of its input: the floor's numerator. */
double lcc_wire_bits(const struct lcc_opts *o, int p);

/* The redop column: sum, none, or the vote's rule (majority, average, l1). */
const char *lcc_redop(const struct lcc_opts *o);

/* Output (rank 0 only): the header, one row per size, the summary at the end. */
void lcc_report_begin(const struct lcc_opts *o, lc_comm_t *c, int argc, char **argv, lcj_t *j);
void lcc_report_row(const struct lcc_opts *o, const struct lcc_result *r, lcj_t *j);
void lcc_report_end(const struct lcc_opts *o, const struct lcc_result *sum, int rows, int bad_rows,
                    lcj_t *j);

#endif
