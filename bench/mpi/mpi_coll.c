/*
 * mpi_coll.c - the Open MPI side of bench/vs_mpi: the same sizes, timing and
 * columns as lc_coll, for
 *   allreduce-fp32   MPI_Allreduce(MPI_FLOAT, MPI_SUM): the global-Lion baseline
 *   allgather-vote   pack signs, MPI_Allgather of the packed words, count and
 *                    decode the majority locally: what Distributed Lion does
 *
 *   mpirun -np 8 mpi_coll --op allgather-vote -b 16M -e 16M -n 5 -w 2 --link 1gbit
 */
#include <getopt.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* A count with K/M/G suffixes, or exit. */
static size_t parse_count(const char *s)
{
    int64_t v;

    if (lc_parse_size(s, &v) || v < 0) {
        fprintf(stderr, "mpi_coll: bad count %s\n", s);
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    return (size_t)v;
}

int main(int argc, char **argv)
{
    static const struct option lopts[] = {{"op", required_argument, 0, 'o'},
                                          {"link", required_argument, 0, 'L'},
                                          {"csv", no_argument, 0, 'C'},
                                          {0, 0, 0, 0}};
    size_t min = 1 << 20, max = 0;
    int iters = 5, warm = 2, csv = 0, vote = 0, ch, rank, p;
    double factor = 2, link = 0;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &p);
    while ((ch = getopt_long(argc, argv, "b:e:f:n:w:", lopts, NULL)) != -1) {
        switch (ch) {
        case 'o':
            if (!strcmp(optarg, "allgather-vote"))
                vote = 1;
            else if (strcmp(optarg, "allreduce-fp32")) {
                fprintf(stderr, "mpi_coll: --op allreduce-fp32 | allgather-vote\n");
                MPI_Abort(MPI_COMM_WORLD, 2);
            }
            break;
        case 'b': min = parse_count(optarg); break;
        case 'e': max = parse_count(optarg); break;
        case 'f': factor = atof(optarg); break;
        case 'n': iters = atoi(optarg); break;
        case 'w': warm = atoi(optarg); break;
        case 'L':
            if (lc_parse_rate(optarg, &link)) {
                fprintf(stderr, "mpi_coll: bad --link rate %s\n", optarg);
                MPI_Abort(MPI_COMM_WORLD, 2);
            }
            break;
        case 'C': csv = 1; break;
        default: MPI_Abort(MPI_COMM_WORLD, 2);
        }
    }
    if (!max)
        max = min;
    if (rank == 0 && csv)
        printf("size,count,type,op,time_us,algbw,busbw,wrong,floor_pct\n");
    for (size_t n = min; n <= max;) {
        size_t words = LC_BITS_WORDS(n);
        float *in = malloc(n * sizeof(float)), *out = vote ? NULL : malloc(n * sizeof(float));
        uint64_t *mine = calloc(words, 8), *all = calloc(words * (size_t)p, 8);
        uint64_t *planes = calloc(words * 32, 8), *res = calloc(words, 8);
        double t0 = MPI_Wtime(), t, worst, floor_s, wire;

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
        if (rank == 0) {
            double bytes = (double)n * 4;
            if (csv)
                printf("%.0f,%zu,float,%s,%.1f,%.4f,,,%.1f\n", bytes, n,
                       vote ? "allgather-vote" : "allreduce-fp32", worst * 1e6,
                       bytes / worst / 1e9, link > 0 ? 100 * floor_s / worst : 0.0);
            else
                printf("%12.0f %12zu %6s %15s %12.1f %8.3f %7s %7.1f\n", bytes, n, "float",
                       vote ? "allgather-vote" : "allreduce-fp32", worst * 1e6,
                       bytes / worst / 1e9, "", link > 0 ? 100 * floor_s / worst : 0.0);
            fflush(stdout);
        }
        free(in);
        free(out);
        free(mine);
        free(all);
        free(planes);
        free(res);
        if (n == max)
            break;
        n = (size_t)((double)n * factor) > max ? max : (size_t)((double)n * factor);
    }
    MPI_Finalize();
    return 0;
}
