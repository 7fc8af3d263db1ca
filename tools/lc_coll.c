/*
 * lc_coll.c - the collective benchmark, in the style of nccl-tests.
 *
 *   lc_run -n 4 -- lc_coll --op vote -b 1M -e 64M -f 2 -n 20 -w 5 -c 1 --link 1gbit
 *
 * Columns: size count type op time(us) algbw busbw #wrong [floor%]
 *   size    bytes of one rank's input (count elements of type)
 *   algbw   size / time (GB/s); busbw: payload bytes this rank sent / time
 *   #wrong  with -c 1: elements that differ from a reference computed from
 *           every rank's input (each rank regenerates all inputs from the seed)
 *   floor%  with --link RATE: the wire-time floor of the op on that link
 *           divided by the measured time (100% = line rate, no overhead)
 * The time is the slowest rank's mean over -n iterations after -w warm-ups.
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

enum op { OP_VOTE, OP_VOTE_AVG, OP_VOTE_L1, OP_AR_FP32, OP_AR_BF16, OP_ALLGATHER, OP_COUNT };

static const char *const op_names[OP_COUNT] = {"vote",           "vote-avg",       "vote-l1",
                                               "allreduce-fp32", "allreduce-bf16", "allgather"};

struct opts {
    enum op op;
    size_t min, max;
    double factor;
    int iters, warmup, check, csv;
    double link_bps;
    unsigned level_bits;
    uint64_t seed;
    int packed; /* vote, vote-avg: pass prepacked sign bits, as the Lion step does */
};

static uint64_t rnd(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static float bf16f(uint16_t h)
{
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* Rank r's input for the op: random floats for the votes, small integers
 * (exact sums) for the allreduces, bytes for the all-gather. */
static void fill_input(const struct opts *o, int r, size_t n, void *buf)
{
    uint64_t s = o->seed * 7919 + (uint64_t)r;

    for (size_t i = 0; i < n; i++) {
        uint64_t x = rnd(&s);
        switch (o->op) {
        case OP_AR_FP32:
            ((float *)buf)[i] = (float)((int)(x % 17) - 8);
            break;
        case OP_AR_BF16: {
            float f = (float)((int)(x % 17) - 8);
            uint32_t u;
            memcpy(&u, &f, 4);
            ((uint16_t *)buf)[i] = (uint16_t)(u >> 16);
            break;
        }
        case OP_ALLGATHER:
            ((uint8_t *)buf)[i] = (uint8_t)x;
            break;
        default:
            ((float *)buf)[i] = (float)((double)(x >> 11) * 0x1p-53 * 2.0 - 1.0);
            break;
        }
    }
}

static size_t elem_size(enum op op)
{
    return op == OP_AR_BF16 ? 2 : op == OP_ALLGATHER ? 1 : 4;
}

/* Wire bits per element per rank of the op's schedule (the floor's numerator). */
static double wire_bits(const struct opts *o, int p)
{
    double f = (double)(p - 1) / p;
    int w = lc_count_planes((size_t)p);

    switch (o->op) {
    case OP_VOTE: return f * 2;
    case OP_VOTE_AVG: return f * (1 + w);
    case OP_VOTE_L1: return f * (o->level_bits + 1);
    case OP_AR_FP32: return f * 2 * 32;
    case OP_AR_BF16: return f * 2 * 16;
    case OP_ALLGATHER: return (p - 1) * 8.0;
    default: return 0;
    }
}

static int run_op(lc_comm_t *c, const struct opts *o, const void *in, void *out, size_t n)
{
    lc_vote_opts_t vo = {.size = sizeof(vo), .level_bits = o->level_bits};
    lc_dtype_t vt = o->packed ? LC_BITS : LC_FP32;

    switch (o->op) {
    case OP_VOTE:
        return lc_vote(c, in, vt, out, LC_BITS, n, NULL);
    case OP_VOTE_AVG:
        vo.mode = LC_VOTE_AVERAGE;
        return lc_vote(c, in, vt, out, LC_FP32, n, &vo);
    case OP_VOTE_L1:
        vo.mode = LC_VOTE_L1;
        return lc_vote(c, in, LC_FP32, out, LC_BITS, n, &vo);
    case OP_AR_FP32:
        return lc_allreduce(c, in, out, n, LC_FP32, LC_SUM);
    case OP_AR_BF16:
        return lc_allreduce(c, in, out, n, LC_BF16, LC_SUM);
    case OP_ALLGATHER:
        return lc_allgather(c, in, out, n);
    default:
        return -EINVAL;
    }
}

/* Count elements of out that differ from the reference built from all inputs. */
static size_t check_result(lc_comm_t *c, const struct opts *o, const void *out, size_t n)
{
    int p = lc_comm_size(c);
    size_t esz = elem_size(o->op), wrong = 0;
    void **in = calloc((size_t)p, sizeof(void *));
    int8_t **q = calloc((size_t)p, sizeof(int8_t *));

    for (int r = 0; r < p; r++) {
        in[r] = malloc(n * esz + 1);
        fill_input(o, r, n, in[r]);
        if (o->op == OP_VOTE_L1) {
            q[r] = malloc(n + 1);
            lc_quantize_l1(in[r], LC_FP32, n, o->level_bits, q[r]);
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (o->op == OP_ALLGATHER) {
            for (int r = 0; r < p; r++)
                wrong += ((const uint8_t *)out)[(size_t)r * n + i] != ((uint8_t *)in[r])[i];
            continue;
        }
        if (o->op == OP_AR_FP32 || o->op == OP_AR_BF16) {
            float want = 0, got;
            for (int r = 0; r < p; r++)
                want += o->op == OP_AR_FP32 ? ((float *)in[r])[i] : bf16f(((uint16_t *)in[r])[i]);
            got = o->op == OP_AR_FP32 ? ((const float *)out)[i]
                                      : bf16f(((const uint16_t *)out)[i]);
            wrong += got != want;
            continue;
        }
        long neg = 0, sum = 0;
        for (int r = 0; r < p; r++) {
            neg += signbit(((float *)in[r])[i]) ? 1 : 0;
            if (q[r])
                sum += q[r][i];
        }
        if (o->op == OP_VOTE_AVG) {
            float want = (float)(p - 2 * neg) / (float)p;
            wrong += ((const float *)out)[i] != want;
        } else {
            long m = o->op == OP_VOTE ? 2 * neg - p : -sum; /* > 0: -1 wins */
            int want = m > 0 ? 1 : m < 0 ? 0 : (int)(i & 1);
            wrong += (int)((((const uint64_t *)out)[i / 64] >> (i % 64)) & 1) != want;
        }
    }
    for (int r = 0; r < p; r++) {
        free(in[r]);
        free(q[r]);
    }
    free(in);
    free(q);
    return wrong;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: lc_coll [options]   (start with lc_run -n N, mpirun or srun)\n"
            "  --op OP        vote | vote-avg | vote-l1 | allreduce-fp32 | allreduce-bf16 | "
            "allgather (default vote)\n"
            "  -b, --minsize N  smallest count of elements (K/M/G suffixes; default 1M)\n"
            "  -e, --maxsize N  largest count (default = minsize)\n"
            "  -f, --stepfactor F  multiply the count by F each step (default 2)\n"
            "  -n, --iters N  timed iterations (default 20)\n"
            "  -w, --warmup N warm-up iterations (default 5)\n"
            "  -c, --check 0|1  compare every result with the reference (default 0)\n"
            "  --link RATE    link rate (tc syntax, e.g. 1gbit) for the floor%% column\n"
            "  --level-bits B bits per level for vote-l1 (default 4)\n"
            "  --seed S       input seed (default 1)\n"
            "  --packed       vote, vote-avg: input is prepacked sign bits (what the Lion\n"
            "                 step passes); size and algbw then count packed bytes\n"
            "  --csv          comma-separated output\n");
}

static int parse(int argc, char **argv, struct opts *o)
{
    static const struct option lopts[] = {
        {"op", required_argument, 0, 'o'},      {"minsize", required_argument, 0, 'b'},
        {"maxsize", required_argument, 0, 'e'}, {"stepfactor", required_argument, 0, 'f'},
        {"iters", required_argument, 0, 'n'},   {"warmup", required_argument, 0, 'w'},
        {"check", required_argument, 0, 'c'},   {"link", required_argument, 0, 'L'},
        {"level-bits", required_argument, 0, 'B'}, {"seed", required_argument, 0, 'S'},
        {"csv", no_argument, 0, 'C'},           {"help", no_argument, 0, 'h'},
        {"packed", no_argument, 0, 'P'},
        {0, 0, 0, 0}};
    int64_t v;
    int ch, maxset = 0;

    *o = (struct opts){.op = OP_VOTE, .min = 1 << 20, .factor = 2, .iters = 20, .warmup = 5,
                       .level_bits = 4, .seed = 1};
    while ((ch = getopt_long(argc, argv, "b:e:f:n:w:c:h", lopts, NULL)) != -1) {
        switch (ch) {
        case 'o':
            o->op = OP_COUNT;
            for (int i = 0; i < OP_COUNT; i++)
                if (!strcmp(optarg, op_names[i]))
                    o->op = (enum op)i;
            if (o->op == OP_COUNT) {
                fprintf(stderr, "lc_coll: unknown --op %s\n", optarg);
                return -1;
            }
            break;
        case 'b':
        case 'e':
            if (lc_parse_size(optarg, &v) || v < 0) {
                fprintf(stderr, "lc_coll: bad size %s\n", optarg);
                return -1;
            }
            if (ch == 'b')
                o->min = (size_t)v;
            else
                o->max = (size_t)v, maxset = 1;
            break;
        case 'f':
            o->factor = atof(optarg);
            break;
        case 'n':
            o->iters = atoi(optarg);
            break;
        case 'w':
            o->warmup = atoi(optarg);
            break;
        case 'c':
            o->check = atoi(optarg);
            break;
        case 'L':
            if (lc_parse_rate(optarg, &o->link_bps)) {
                fprintf(stderr, "lc_coll: bad --link rate %s\n", optarg);
                return -1;
            }
            break;
        case 'B':
            o->level_bits = (unsigned)atoi(optarg);
            break;
        case 'S':
            o->seed = strtoull(optarg, NULL, 0);
            break;
        case 'C':
            o->csv = 1;
            break;
        case 'P':
            o->packed = 1;
            break;
        case 'h':
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            return -1;
        }
    }
    if (!maxset)
        o->max = o->min;
    if (o->packed && o->op != OP_VOTE && o->op != OP_VOTE_AVG) {
        fprintf(stderr, "lc_coll: --packed applies to vote and vote-avg only\n");
        return -1;
    }
    if (o->iters < 1 || o->warmup < 0 || o->factor <= 1.0 || o->max < o->min) {
        fprintf(stderr, "lc_coll: need -n >= 1, -w >= 0, -f > 1 and -e >= -b\n");
        return -1;
    }
    return 0;
}

static const char *type_name(const struct opts *o)
{
    return o->packed ? "bits" : o->op == OP_AR_BF16 ? "bf16" : o->op == OP_ALLGATHER ? "uint8"
                                                                                      : "float";
}

static int bench_size(lc_comm_t *c, const struct opts *o, size_t n)
{
    int p = lc_comm_size(c), rank = lc_comm_rank(c), rc = 0;
    size_t esz = elem_size(o->op), outlen = o->op == OP_ALLGATHER ? n * (size_t)p : n * 4 + 8;
    void *in = malloc(n * esz + 8), *out = malloc(outlen + 8);
    lc_comm_stats_t s0 = {.size = sizeof(s0)}, s1 = {.size = sizeof(s1)};
    double t0, mine, *all = malloc((size_t)p * sizeof(double)), worst = 0;
    size_t wrong = 0;
    unsigned long long wrong_all = 0, *wr = malloc((size_t)p * sizeof(*wr));

    if (!in || !out || !all || !wr) {
        rc = -ENOMEM;
        goto out;
    }
    fill_input(o, rank, n, in);
    if (o->packed) { /* the packed signs replace the values in place */
        uint64_t *bits = malloc(LC_BITS_WORDS(n) * 8 + 8);
        if (!bits || lc_pack_signs(in, LC_FP32, n, bits)) {
            free(bits);
            rc = -ENOMEM;
            goto out;
        }
        memcpy(in, bits, LC_BITS_WORDS(n) * 8);
        free(bits);
    }
    for (int i = 0; i < o->warmup && !rc; i++)
        rc = run_op(c, o, in, out, n);
    if (!rc)
        rc = lc_barrier(c);
    lc_comm_get_stats(c, &s0);
    t0 = lc_now();
    for (int i = 0; i < o->iters && !rc; i++)
        rc = run_op(c, o, in, out, n);
    mine = (lc_now() - t0) / o->iters;
    lc_comm_get_stats(c, &s1);
    if (rc)
        goto out;
    if (o->check)
        wrong = check_result(c, o, out, n);
    rc = lc_allgather(c, &mine, all, sizeof(mine));
    if (!rc) {
        unsigned long long w = wrong;
        rc = lc_allgather(c, &w, wr, sizeof(w));
    }
    if (rc)
        goto out;
    for (int r = 0; r < p; r++) {
        worst = all[r] > worst ? all[r] : worst;
        wrong_all += wr[r];
    }
    if (rank == 0) {
        double bytes = o->packed ? (double)LC_BITS_WORDS(n) * 8 : (double)n * (double)esz;
        double us = worst * 1e6;
        double algbw = bytes / worst / 1e9;
        double busbw = (double)(s1.bytes_sent - s0.bytes_sent) / o->iters / worst / 1e9;
        double floor_s = o->link_bps > 0 ? wire_bits(o, p) * (double)n / o->link_bps : 0;
        char wrong_s[24] = "N/A", floor_str[24] = "";

        if (o->check)
            snprintf(wrong_s, sizeof(wrong_s), "%llu", wrong_all);
        if (o->link_bps > 0)
            snprintf(floor_str, sizeof(floor_str), "%.1f", 100.0 * floor_s / worst);
        if (o->csv)
            printf("%.0f,%zu,%s,%s,%.1f,%.4f,%.4f,%s,%s\n", bytes, n,
                   type_name(o), op_names[o->op], us, algbw, busbw, wrong_s, floor_str);
        else
            printf("%12.0f %12zu %6s %15s %12.1f %8.3f %8.3f %7s %7s\n", bytes, n,
                   type_name(o), op_names[o->op], us, algbw, busbw, wrong_s, floor_str);
        fflush(stdout);
    }
    if (wrong_all)
        rc = 1;
out:
    free(in);
    free(out);
    free(all);
    free(wr);
    return rc;
}

int main(int argc, char **argv)
{
    struct opts o;
    lc_comm_t *c;
    int rc, failed = 0;

    if (parse(argc, argv, &o))
        return 2;
    rc = lc_comm_init(NULL, &c);
    if (rc) {
        fprintf(stderr, "lc_coll: lc_comm_init: %s: %s\n", lc_strerror(rc), lc_last_error());
        return 1;
    }
    if (lc_comm_rank(c) == 0) {
        if (o.csv)
            printf("size,count,type,op,time_us,algbw,busbw,wrong,floor_pct\n");
        else
            printf("# lc_coll: %d ranks, provider %s, simd %s, iters %d, warmup %d%s\n"
                   "%12s %12s %6s %15s %12s %8s %8s %7s %7s\n%12s %12s %6s %15s %12s %8s %8s "
                   "%7s %7s\n",
                   lc_comm_size(c), lc_comm_provider(c), lc_simd_name(lc_simd_active()),
                   o.iters, o.warmup, o.link_bps > 0 ? ", floor% of --link" : "", "size",
                   "count", "type", "op", "time", "algbw", "busbw", "#wrong", "floor", "(B)",
                   "(elements)", "", "", "(us)", "(GB/s)", "(GB/s)", "", "(%)");
        fflush(stdout);
    }
    for (size_t n = o.min; n <= o.max;) {
        rc = bench_size(c, &o, n);
        if (rc < 0) {
            fprintf(stderr, "lc_coll: rank %d: %s: %s\n", lc_comm_rank(c), lc_strerror(rc),
                    lc_last_error());
            failed = 1;
            break;
        }
        failed |= rc;
        if (n == o.max)
            break;
        n = n ? (size_t)((double)n * o.factor) : 1;
        n = n > o.max ? o.max : n;
    }
    lc_comm_destroy(c);
    return failed;
}
