/*
 * mpi_coll.c - the Open MPI side of bench/vs_mpi, with lc_coll's sizes (bytes
 * of one rank's fp32 input), options and CSV columns, for
 *   allreduce-fp32   MPI_Allreduce(MPI_FLOAT, MPI_SUM): the global-Lion baseline
 *   allgather-vote   pack signs, MPI_Allgather of the packed words, count and
 *                    decode the majority locally: what Distributed Lion does
 * The time is the slowest rank's (lc_coll -a 3); busbw is algbw * 2(p-1)/p for
 * both, as lc_coll gives the vote; wire and #wrong stay empty.
 *
 *   mpirun -np 8 mpi_coll --op allgather-vote -b 64M -e 64M -n 5 -w 2 --link 1gbit
 */
#include <limits.h>
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "internal.h"

static const char *const ops[] = {"allreduce-fp32", "allgather-vote", NULL};

int main(int argc, char **argv)
{
    size_t min = 4 << 20, max = 0;
    int iters = 5, warm = 2, csv = 0, vote = 0, rank, p, rc, max_given = 0;
    double factor = 2, link = 0;
    const lca_opt_t opts[] = {
        {.longname = "op", .kind = LCA_CHOICE, .dst = &vote, .metavar = "OP", .choices = ops,
         .help = "allreduce-fp32 (default) or allgather-vote"},
        {.shortname = 'b', .longname = "minbytes", .kind = LCA_SIZE, .dst = &min,
         .metavar = "SIZE", .help = "smallest fp32 input in bytes (default 4M)", .min = 4,
         .max = (double)INT_MAX * 4},
        {.shortname = 'e', .longname = "maxbytes", .kind = LCA_SIZE, .dst = &max,
         .metavar = "SIZE", .help = "largest, always measured (default: -b)", .min = 4,
         .max = (double)INT_MAX * 4, .given = &max_given},
        {.shortname = 'f', .longname = "stepfactor", .kind = LCA_REAL, .dst = &factor,
         .metavar = "F", .help = "multiply the size by F per step (default 2)", .min = 1,
         .max = HUGE_VAL, .min_open = 1},
        {.shortname = 'n', .longname = "iters", .kind = LCA_INT, .dst = &iters, .metavar = "N",
         .help = "timed iterations (default 5)", .min = 1, .max = INT_MAX},
        {.shortname = 'w', .longname = "warmup_iters", .kind = LCA_INT, .dst = &warm,
         .metavar = "N", .help = "untimed iterations first (default 2)", .min = 0,
         .max = INT_MAX},
        {.longname = "link", .kind = LCA_RATE, .dst = &link, .metavar = "RATE",
         .help = "link rate in tc syntax: adds the floor column"},
        {.longname = "csv", .kind = LCA_FLAG, .dst = &csv, .help = "print CSV"},
        {.help = NULL},
    };
    const lca_tool_t tool = {.name = "mpi_coll", .usage = "[options]   (under mpirun)",
                             .about = "Open MPI's allreduce and all-gather vote, timed as "
                                      "lc_coll times lioncub's.\n",
                             .opts = opts};

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &p);
    rc = lca_parse(&tool, argc, argv);
    if (rc >= 0) {
        MPI_Finalize();
        return rc;
    }
    if (!max_given)
        max = min;
    if (max < min) {
        rc = lca_error(&tool, "-e/--maxbytes %zu is below -b/--minbytes %zu", max, min);
        MPI_Finalize();
        return rc;
    }
    if (rank == 0 && csv)
        printf("size,count,type,redop,collective,time_us,algbw_GBps,busbw_GBps,wire_GBps,wrong,"
               "floor_pct\n");
    for (size_t bytes = min;;) {
        size_t n = bytes / 4, words = LC_BITS_WORDS(n);
        float *in = malloc(n * sizeof(float)), *out = vote ? NULL : malloc(n * sizeof(float));
        uint64_t *mine = calloc(words, 8), *all = calloc(words * (size_t)p, 8);
        uint64_t *planes = calloc(words * 32, 8), *res = calloc(words, 8);
        double t0 = MPI_Wtime(), t, worst, floor_s, wire, algbw, busbw;

        for (size_t i = 0; i < n; i++)
            in[i] = (float)((int)((i * 2654435761u + (size_t)rank * 40503u) % 17) - 8);
        for (int it = -warm; it < iters; it++) {
            if (it == 0) {
                MPI_Barrier(MPI_COMM_WORLD);
                t0 = MPI_Wtime();
            }
            if (vote) {
                lc_pack_signs(in, LC_FP32, n, mine);
                MPI_Allgather(mine, (int)words, MPI_UINT64_T, all, (int)words, MPI_UINT64_T,
                              MPI_COMM_WORLD);
                lc_count_votes(all, words, (size_t)p, n, planes);
                lc_decode_majority(planes, (size_t)p, n, 0, 0, res);
            } else {
                MPI_Allreduce(in, out, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
            }
        }
        t = (MPI_Wtime() - t0) / iters;
        MPI_Reduce(&t, &worst, 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
        /* floor of the op's own traffic: (p-1) bits per element gathered, or a ring allreduce */
        wire = vote ? (double)(p - 1) * (double)n : 2.0 * (p - 1) / p * 32.0 * (double)n;
        floor_s = link > 0 ? wire / link : 0;
        algbw = (double)n * 4 / worst / 1e9;
        busbw = algbw * 2 * (p - 1) / p;
        if (rank == 0) {
            char fl[24] = "";
            if (link > 0)
                snprintf(fl, sizeof(fl), "%.1f", 100 * floor_s / worst);
            if (csv)
                printf("%zu,%zu,float,%s,%s,%.2f,%.4f,%.4f,,,%s\n", n * 4, n,
                       vote ? "majority" : "sum", ops[vote], worst * 1e6, algbw, busbw, fl);
            else
                printf("%12zu  %12zu  %8s  %15s  %9.1f  %7.3f  %7.3f  %6s\n", n * 4, n,
                       "float", ops[vote], worst * 1e6, algbw, busbw, fl);
            fflush(stdout);
        }
        free(in);
        free(out);
        free(mine);
        free(all);
        free(planes);
        free(res);
        if (bytes >= max)
            break;
        bytes = (size_t)((double)bytes * factor) > max ? max : (size_t)((double)bytes * factor);
    }
    MPI_Finalize();
    return 0;
}
