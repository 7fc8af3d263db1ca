/*
 * mpi_vote.c - lioncub inside an MPI program: build a lioncub communicator
 * from MPI_COMM_WORLD, run a 1-bit majority vote, and check it against the
 * plain MPI way (MPI_Allgather of every rank's packed signs, counted locally).
 *
 *   mpirun -np 4 build/bin/lc_mpi_vote [count]
 */
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lioncub/lioncub_mpi.h"

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoull(argv[1], NULL, 0) : 1000003, words = LC_BITS_WORDS(n);
    int rank, size, rc, bad = 0, bad_all = 0;
    lc_comm_t *comm;
    float *g;
    uint64_t *mine, *all, *vote;
    double t0, t_lc, t_mpi;

    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    rc = lc_comm_init_mpi(MPI_COMM_WORLD, &comm);
    if (rc) {
        fprintf(stderr, "rank %d: lc_comm_init_mpi: %s: %s\n", rank, lc_strerror(rc),
                lc_last_error());
        MPI_Abort(MPI_COMM_WORLD, 1);
    }

    g = malloc(n * sizeof(float));
    mine = calloc(words, 8);
    all = calloc(words * (size_t)size, 8);
    vote = calloc(words, 8);
    srand(1234 + rank);
    for (size_t i = 0; i < n; i++)
        g[i] = (float)rand() / (float)RAND_MAX - 0.5f;

    MPI_Barrier(MPI_COMM_WORLD);
    t0 = MPI_Wtime();
    rc = lc_vote(comm, g, LC_FP32, vote, LC_BITS, n, NULL);
    t_lc = MPI_Wtime() - t0;
    if (rc) {
        fprintf(stderr, "rank %d: lc_vote: %s: %s\n", rank, lc_strerror(rc), lc_last_error());
        MPI_Abort(MPI_COMM_WORLD, 1);
    }

    /* The Distributed Lion way: all-gather every rank's packed signs. */
    t0 = MPI_Wtime();
    lc_pack_signs(g, LC_FP32, n, mine);
    MPI_Allgather(mine, (int)words, MPI_UINT64_T, all, (int)words, MPI_UINT64_T,
                  MPI_COMM_WORLD);
    t_mpi = MPI_Wtime() - t0;
    for (size_t i = 0; i < n; i++) {
        int neg = 0, want;
        for (int r = 0; r < size; r++)
            neg += (int)((all[(size_t)r * words + i / 64] >> (i % 64)) & 1);
        want = 2 * neg > size ? 1 : 2 * neg < size ? 0 : (int)(i & 1); /* tie rule, salt 0 */
        bad += want != (int)((vote[i / 64] >> (i % 64)) & 1);
    }
    MPI_Reduce(&bad, &bad_all, 1, MPI_INT, MPI_SUM, 0, MPI_COMM_WORLD);
    if (rank == 0)
        printf("lc_mpi_vote: %d ranks, %zu elements: lc_vote %.2f ms, MPI_Allgather of signs "
               "%.2f ms, %d wrong\n",
               size, n, t_lc * 1e3, t_mpi * 1e3, bad_all);
    lc_comm_destroy(comm);
    free(g);
    free(mine);
    free(all);
    free(vote);
    MPI_Finalize();
    return bad_all ? 1 : 0;
}
