/*
 * lioncub_mpi.h - build a lioncub communicator from an MPI communicator.
 * Header only: include it in an MPI program after <mpi.h> and link with
 * liblioncub; lioncub itself does not depend on MPI.
 *
 * Rank 0 starts the rendezvous (lc_get_unique_id) and MPI_Bcast spreads the
 * token. The rendezvous listens on LC_ROOT's host if set; otherwise on
 * loopback when all ranks share a node, else on rank 0's host name. Ranks
 * share a host in lioncub when MPI puts them in one shared-memory node
 * (MPI_COMM_TYPE_SHARED), unless LC_HOST says otherwise.
 */
#ifndef LIONCUB_MPI_H
#define LIONCUB_MPI_H

#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "lioncub.h"

/**
 * @brief Collective over mcomm: every rank gets a lioncub communicator with
 *        the same ranks as mcomm.
 * @return 0, or a negative lioncub code (the same on every rank).
 */
static inline int lc_comm_init_mpi(MPI_Comm mcomm, lc_comm_t **comm)
{
    lc_unique_id_t id;
    lc_comm_config_t cfg = {sizeof(cfg), -1, 0, NULL, NULL, NULL, NULL, 0, NULL};
    MPI_Comm node;
    char node_name[32];
    int rank, size, node_size, node_first, rc = 0;

    if (!comm)
        return -22; /* -EINVAL */
    MPI_Comm_rank(mcomm, &rank);
    MPI_Comm_size(mcomm, &size);
    MPI_Comm_split_type(mcomm, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
    MPI_Comm_size(node, &node_size);
    MPI_Allreduce(&rank, &node_first, 1, MPI_INT, MPI_MIN, node);
    MPI_Comm_free(&node);
    snprintf(node_name, sizeof(node_name), "mpi-node-%d", node_first);
    if (rank == 0) {
        if (!getenv("LC_ROOT") && node_size < size) {
            char host[256], root[300];
            if (gethostname(host, sizeof(host)) == 0) {
                host[sizeof(host) - 1] = 0;
                snprintf(root, sizeof(root), "%s:0", host);
                setenv("LC_ROOT", root, 0);
            }
        }
        rc = lc_get_unique_id(&id);
    }
    MPI_Bcast(&rc, 1, MPI_INT, 0, mcomm);
    if (rc)
        return rc;
    MPI_Bcast(&id, (int)sizeof(id), MPI_BYTE, 0, mcomm);
    cfg.rank = rank;
    cfg.nranks = size;
    cfg.id = &id;
    cfg.host = getenv("LC_HOST") ? NULL : node_name;
    rc = lc_comm_init(&cfg, comm);
    /* agree on the outcome: a rank that failed makes every rank fail */
    {
        int worst = rc;
        MPI_Allreduce(&rc, &worst, 1, MPI_INT, MPI_MIN, mcomm);
        if (worst && !rc) {
            lc_comm_destroy(*comm);
            *comm = NULL;
            rc = worst;
        }
    }
    return rc;
}

#endif /* LIONCUB_MPI_H */
