/*
 * main.c - lc_coll, the collective benchmark in nccl-tests' conventions:
 * options, the loop over sizes and one size's measurement.
 *
 *   lc_run -n 4 -- lc_coll --op vote -b 4M -e 64M -f 2 -n 20 -w 5 --link 1gbit
 */
#include <limits.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "lc_coll.h"

/* --op words: the collectives, then two older names of allreduce with its datatype. */
static const char *const lcc_op_words[] = {
    "vote", "vote-avg", "vote-l1", "allreduce", "allgather", "allreduce-fp32", "allreduce-bf16",
    NULL};

/* The datatypes each collective accepts (bit i: enum lcc_type i). */
static const unsigned lcc_types_ok[LCC_NCOLL] = {
    [LCC_VOTE] = 1u << LCC_FLOAT | 1u << LCC_BF16 | 1u << LCC_BITS,
    [LCC_VOTE_AVG] = 1u << LCC_FLOAT | 1u << LCC_BF16 | 1u << LCC_BITS,
    [LCC_VOTE_L1] = 1u << LCC_FLOAT | 1u << LCC_BF16,
    [LCC_ALLREDUCE] = 1u << LCC_FLOAT | 1u << LCC_BF16,
    [LCC_ALLGATHER] = 1u << LCC_FLOAT | 1u << LCC_BF16 | 1u << LCC_UINT8,
};

static const char lcc_about[] =
    "The collectives of lioncub timed and checked as nccl-tests times NCCL's: the\n"
    "same flags, sizes in bytes and columns. Start it on every rank (lc_run -n N,\n"
    "mpirun, srun); rank 0 prints. docs/tools.md maps it to nccl-tests.\n";

static const char lcc_more[] =
    "Columns (every other line starts with '#'):\n"
    "  size      bytes of the collective: one rank's input, or for allgather the\n"
    "            gathered output (nccl-tests' S)\n"
    "  count     elements per rank\n"
    "  time      microseconds per iteration: each rank's mean over -n iterations\n"
    "            after -w warm-ups, combined over the ranks as -a says\n"
    "  algbw     size / time, GB/s (1e9 bytes per second)\n"
    "  busbw     algbw * 2(n-1)/n for allreduce and the vote family (the allreduce\n"
    "            the vote replaces), algbw * (n-1)/n for allgather\n"
    "  #wrong    elements that differ from the reference, all ranks (N/A: -c 0)\n"
    "  wire      payload bytes the busiest rank sent per second, GB/s\n"
    "  floor     with --link: the wire-time floor of the schedule / time, in %\n"
    "Exit status: 0; 1 when a result is wrong or a collective fails; 2 on a usage\n"
    "error.\n";

struct lcc_cli {
    struct lcc_opts o;
    int op, packed, e_given, d_given, i_given, f_given;
};

static int lcc_parse(struct lcc_cli *cl, int argc, char **argv)
{
    struct lcc_opts *o = &cl->o;
    const lca_opt_t opts[] = {
        {.longname = "op", .kind = LCA_CHOICE, .dst = &cl->op, .metavar = "COLL",
         .choices = lcc_op_words,
         .help = "vote, vote-avg, vote-l1 (the vote family),\n"
                 "allreduce (sum) or allgather (default vote);\n"
                 "allreduce-fp32 and allreduce-bf16 are allreduce\n"
                 "with -d float and -d bfloat16"},
        {.shortname = 'b', .longname = "minbytes", .kind = LCA_SIZE, .dst = &o->minbytes,
         .metavar = "SIZE", .help = "smallest size in bytes (default 4M)", .min = 0,
         .max = (double)LC_MAX_BUFFER},
        {.shortname = 'e', .longname = "maxbytes", .kind = LCA_SIZE, .dst = &o->maxbytes,
         .metavar = "SIZE", .help = "largest size in bytes, always measured (default: -b)",
         .min = 0, .max = (double)LC_MAX_BUFFER, .given = &cl->e_given},
        {.shortname = 'i', .longname = "stepbytes", .kind = LCA_SIZE, .dst = &o->stepbytes,
         .metavar = "SIZE", .help = "add SIZE bytes per step (instead of -f)", .min = 1,
         .max = (double)LC_MAX_BUFFER, .given = &cl->i_given},
        {.shortname = 'f', .longname = "stepfactor", .kind = LCA_REAL, .dst = &o->factor,
         .metavar = "F", .help = "multiply the size by F per step (default 2)", .min = 1,
         .max = HUGE_VAL, .min_open = 1, .given = &cl->f_given},
        {.shortname = 'd', .longname = "datatype", .kind = LCA_CHOICE, .dst = &o->type,
         .metavar = "TYPE", .choices = lcc_type_names, .given = &cl->d_given,
         .help = "float (default), bfloat16, uint8 (allgather) or bits:\n"
                 "prepacked sign bits, 1 per element (vote, vote-avg)"},
        {.shortname = 'n', .longname = "iters", .kind = LCA_INT, .dst = &o->iters, .metavar = "N",
         .help = "timed iterations per size (default 20)", .min = 1, .max = INT_MAX},
        {.shortname = 'w', .longname = "warmup_iters", .kind = LCA_INT, .dst = &o->warmup,
         .metavar = "N", .help = "untimed iterations first (default 5)", .min = 0,
         .max = INT_MAX},
        {.shortname = 'c', .longname = "check", .kind = LCA_INT, .dst = &o->check,
         .metavar = "0|1", .min = 0, .max = 1,
         .help = "check the last timed result of every rank against a\n"
                 "reference built from all inputs (default 1)"},
        {.shortname = 'a', .longname = "average", .kind = LCA_INT, .dst = &o->average,
         .metavar = "0|1|2|3", .min = 0, .max = 3,
         .help = "time of rank 0 (0), the mean of the ranks (1,\n"
                 "default), the fastest (2) or the slowest rank (3)"},
        {.shortname = 'J', .longname = "output_file", .kind = LCA_STR, .dst = &o->json,
         .metavar = "FILE", .help = "also write the results as JSON to FILE (replaced)"},
        {.longname = "link", .kind = LCA_RATE, .dst = &o->link_bps, .metavar = "RATE",
         .help = "link rate in tc syntax (1gbit, 100mbit): adds\n"
                 "the floor column"},
        {.longname = "level-bits", .kind = LCA_INT, .dst = &o->level_bits, .metavar = "B",
         .help = "bits per level of vote-l1 (default 4)", .min = 2, .max = 8},
        {.longname = "seed", .kind = LCA_U64, .dst = &o->seed, .metavar = "S",
         .help = "input seed (default 1)"},
        {.longname = "packed", .kind = LCA_FLAG, .dst = &cl->packed,
         .help = "-d bits: the input the Lion step passes"},
        {.longname = "csv", .kind = LCA_FLAG, .dst = &o->csv,
         .help = "print CSV (a header row, then one row per size)"},
        {.help = NULL},
    };
    const lca_tool_t tool = {.name = "lc_coll", .usage = "[options]", .about = lcc_about,
                             .opts = opts, .more = lcc_more};
    int rc = lca_parse(&tool, argc, argv);

    if (rc >= 0)
        return rc;
    o->coll = cl->op < LCC_NCOLL ? cl->op : LCC_ALLREDUCE;
    if (cl->op >= LCC_NCOLL) {
        int t = cl->op == LCC_NCOLL ? LCC_FLOAT : LCC_BF16;
        if (cl->d_given && o->type != t)
            return lca_error(&tool, "--op %s and -d %s disagree", lcc_op_words[cl->op],
                             lcc_type_names[o->type]);
        o->type = t;
    }
    if (cl->packed) {
        if (cl->d_given && o->type != LCC_BITS)
            return lca_error(&tool, "--packed and -d %s disagree", lcc_type_names[o->type]);
        o->type = LCC_BITS;
    }
    if (!(lcc_types_ok[o->coll] >> o->type & 1)) {
        char ok[64] = "";
        for (int t = 0; t < LCC_NTYPE; t++)
            if (lcc_types_ok[o->coll] >> t & 1)
                snprintf(ok + strlen(ok), sizeof(ok) - strlen(ok), "%s%s", ok[0] ? ", " : "",
                         lcc_type_names[t]);
        return lca_error(&tool, "-d %s is not a datatype of %s (accepted: %s)",
                         lcc_type_names[o->type], lcc_coll_names[o->coll], ok);
    }
    if (cl->i_given && cl->f_given)
        return lca_error(&tool, "-i/--stepbytes and -f/--stepfactor exclude each other");
    if (!cl->e_given)
        o->maxbytes = o->minbytes;
    if (o->maxbytes < o->minbytes)
        return lca_error(&tool, "-e/--maxbytes %zu is below -b/--minbytes %zu", o->maxbytes,
                         o->minbytes);
    return -1;
}

/* Combine the ranks' values v[0..p-1] (their mean times) as -a says. */
static double lcc_combine(const double *v, int stride, int p, int how)
{
    double x = v[0];

    for (int r = 1; r < p; r++) {
        double y = v[r * stride];
        x = how == LCC_AVG_MEAN ? x + y : how == LCC_AVG_MIN ? fmin(x, y)
                                        : how == LCC_AVG_MAX ? fmax(x, y) : x;
    }
    return how == LCC_AVG_MEAN ? x / p : x;
}

/* Time, check and report one size; 0, or a negative code. */
static int lcc_measure(lc_comm_t *c, const struct lcc_opts *o, size_t bytes,
                       struct lcc_result *res)
{
    int p = lc_comm_size(c), rc = 0;
    size_t n = lcc_count(o, bytes, p);
    void *in = malloc(lcc_in_len(o, n) + 8), *out = malloc(lcc_out_len(o, n, p) + 8);
    double *all = malloc((size_t)p * 3 * sizeof(double)), mine[3], t0, sent = 0;
    lc_comm_stats_t s0 = {.size = sizeof(s0)}, s1 = {.size = sizeof(s1)};
    long long wrong = 0;

    if (!in || !out || !all) {
        rc = -ENOMEM;
        goto out;
    }
    lcc_input(o, lc_comm_rank(c), n, in);
    for (int i = 0; i < o->warmup && !rc; i++)
        rc = lcc_run(c, o, in, out, n);
    if (!rc)
        rc = lc_barrier(c);
    lc_comm_get_stats(c, &s0);
    t0 = lc_now();
    for (int i = 0; i < o->iters && !rc; i++)
        rc = lcc_run(c, o, in, out, n);
    mine[0] = (lc_now() - t0) / o->iters;
    lc_comm_get_stats(c, &s1);
    if (!rc && o->check && (wrong = lcc_check(c, o, out, n)) < 0)
        rc = (int)wrong;
    if (rc)
        goto out;
    mine[1] = (double)(s1.bytes_sent - s0.bytes_sent) / o->iters;
    mine[2] = (double)wrong;
    rc = lc_allgather(c, mine, all, sizeof(mine));
    if (rc)
        goto out;
    *res = (struct lcc_result){.bytes = lcc_bytes(o, n, p), .count = n, .floor_pct = -1,
                               .wrong = o->check ? 0 : -1};
    res->time_s = lcc_combine(all, 3, p, o->average);
    for (int r = 0; r < p; r++) {
        sent = fmax(sent, all[3 * r + 1]);
        res->wrong += o->check ? (long long)all[3 * r + 2] : 0;
    }
    res->algbw = (double)res->bytes / res->time_s / 1e9;
    res->busbw = res->algbw * lcc_bus_factor(o, p);
    res->wire = sent / res->time_s / 1e9;
    if (o->link_bps > 0)
        res->floor_pct = 100.0 * lcc_wire_bits(o, p) * (double)n / o->link_bps / res->time_s;
out:
    free(in);
    free(out);
    free(all);
    return rc;
}

int main(int argc, char **argv)
{
    struct lcc_cli cl = {.o = {.coll = LCC_VOTE, .type = LCC_FLOAT, .minbytes = 4 << 20,
                               .factor = 2, .iters = 20, .warmup = 5, .check = 1,
                               .average = LCC_AVG_MEAN, .level_bits = 4, .seed = 1}};
    const struct lcc_opts *o = &cl.o;
    struct lcc_result res, sum = {0};
    lcj_t j = {0};
    lc_comm_t *c;
    int rc, rank, rows = 0, bad = 0, failed = 0;

    rc = lcc_parse(&cl, argc, argv);
    if (rc >= 0)
        return rc;
    rc = lc_comm_init(NULL, &c);
    if (rc) {
        fprintf(stderr, "lc_coll: lc_comm_init: %s: %s\n", lc_strerror(rc), lc_last_error());
        return 1;
    }
    rank = lc_comm_rank(c);
    if (rank == 0 && o->json && (rc = lcj_open(&j, o->json))) {
        fprintf(stderr, "lc_coll: -J %s: %s\n", o->json, strerror(-rc));
        failed = 1;
    }
    if (rank == 0)
        lcc_report_begin(o, c, argc, argv, &j);
    for (size_t b = o->minbytes, last = SIZE_MAX;;) {
        if (lcc_count(o, b, lc_comm_size(c)) == last)
            break; /* the clamped -e gives the count just measured */
        last = lcc_count(o, b, lc_comm_size(c));
        rc = lcc_measure(c, o, b, &res);
        if (rc) {
            fprintf(stderr, "lc_coll: rank %d: %s: %s\n", rank, lc_strerror(rc),
                    lc_last_error());
            failed = 1;
            break;
        }
        if (rank == 0)
            lcc_report_row(o, &res, &j);
        rows++;
        bad += res.wrong > 0;
        sum.busbw += res.busbw;
        sum.wire += res.wire;
        if (b >= o->maxbytes)
            break;
        b = o->stepbytes ? b + o->stepbytes : b ? (size_t)((double)b * o->factor) : 1;
        b = b > o->maxbytes ? o->maxbytes : b;
    }
    if (rank == 0) {
        lcc_report_end(o, &sum, rows, bad, &j);
        if (lcj_close(&j)) {
            fprintf(stderr, "lc_coll: -J %s: write failed\n", o->json);
            failed = 1;
        }
    }
    lc_comm_destroy(c);
    return failed || bad;
}
