/*
 * shm.c - create, share and map the regions of the shared-memory path
 * (shm.h). Sizes follow the vote's segments: a slot holds one segment's
 * packed votes and its decoded planes, the largest LC_SEGMENT allows.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "shm.h"

#define LC_SHM_MAGIC 0x4c4353484d310000ull /* "LCSHM1" */

int lc_shm_create(struct lc_comm *c, int32_t *pid, int32_t *fd)
{
    int64_t on = 1;
    int rc;

    *pid = 0;
    *fd = -1;
    if ((rc = lc_param_int("LC_SHM", &on)) && rc != -ENOENT)
        return rc;
    if (!on)
        return 0;
    c->shm = calloc(1, sizeof(*c->shm));
    if (!c->shm)
        return -ENOMEM;
    c->shm->fd = memfd_create("lioncub-shm", MFD_CLOEXEC);
    if (c->shm->fd < 0) {
        LC_WARN("comm", "rank %d: memfd_create: %s: no shared memory between local ranks",
                c->rank, strerror(errno));
        return 0;
    }
    *pid = (int32_t)getpid();
    *fd = c->shm->fd;
    return 0;
}

/* Bytes of one area of a slot: LC_SEGMENT bits plus the padding of S x H cells. */
static size_t lc_shm_area_bytes(const struct lc_comm *c)
{
    size_t cells = (size_t)c->max_local * (size_t)c->nhosts;
    size_t w = (size_t)lc_count_planes((size_t)c->nranks);

    return ((c->segment + cells * 64 * (w > 8 ? w : 8)) / 8 + 63) & ~(size_t)63;
}

/* Size and map this rank's region, and lay out its header. */
static int lc_shm_map_mine(struct lc_comm *c)
{
    struct lc_shm *s = c->shm;
    size_t area = lc_shm_area_bytes(c), slots = (size_t)c->vote_depth;
    size_t size = sizeof(lc_shm_hdr_t) + slots * 2 * area;
    void *p;

    if (ftruncate(s->fd, (off_t)size))
        return -errno;
    p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, s->fd, 0);
    if (p == MAP_FAILED)
        return -errno;
    s->mine = p;
    memset(s->mine, 0, sizeof(*s->mine));
    s->mine->size = size;
    s->mine->slot_bytes = 2 * area;
    s->mine->vote_bytes = area;
    lc_shm_store(&s->mine->magic, LC_SHM_MAGIC);
    return 0;
}

/* Map the region of the process pid's descriptor fd. */
static int lc_shm_map_peer(int32_t pid, int32_t fd, lc_shm_hdr_t **out)
{
    char path[64];
    struct stat st;
    void *p;
    int f;

    snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)pid, (int)fd);
    f = open(path, O_RDWR | O_CLOEXEC);
    if (f < 0)
        return -errno;
    if (fstat(f, &st) || (size_t)st.st_size < sizeof(lc_shm_hdr_t)) {
        close(f);
        return -EPROTO;
    }
    p = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, f, 0);
    close(f);
    if (p == MAP_FAILED)
        return -errno;
    *out = p;
    if (lc_shm_load(&(*out)->magic) != LC_SHM_MAGIC || (*out)->size != (uint64_t)st.st_size)
        return -EPROTO;
    return 0;
}

int lc_shm_attach(struct lc_comm *c, const int32_t *pids, const int32_t *fds)
{
    struct lc_shm *s = c->shm;
    int p = c->nranks, l = 0, rc = 0;
    char ok, *all = calloc((size_t)p, 1);

    if (!all)
        return -ENOMEM;
    /* 1: every rank's own region is laid out before anyone maps it */
    ok = s && s->fd >= 0 && c->local_size > 1 && c->local_size <= LC_SHM_MAX_LOCAL &&
         lc_shm_map_mine(c) == 0;
    if ((rc = lc_allgather(c, &ok, all, 1)))
        goto out;
    /* 2: map the regions of this host's ranks; used only when every rank could */
    if (ok && !(s->peer = calloc((size_t)c->local_size, sizeof(*s->peer))))
        ok = 0;
    for (int r = 0; ok && r < p; r++) {
        if (c->host_of[r] != c->host_of[c->rank])
            continue;
        if (!all[r])
            ok = 0;
        else if (r == c->rank)
            s->peer[l] = s->mine;
        else if ((rc = lc_shm_map_peer(pids[r], fds[r], &s->peer[l]))) {
            LC_WARN("comm", "rank %d: cannot map rank %d's shared memory (/proc/%d/fd/%d): %s",
                    c->rank, r, (int)pids[r], (int)fds[r], strerror(-rc));
            ok = 0;
        }
        l++;
    }
    rc = lc_allgather(c, &ok, all, 1);
    if (rc)
        goto out;
    s = c->shm;
    if (!s)
        goto out;
    s->active = 1;
    for (int r = 0; r < p; r++) { /* a rank alone on its host has nothing to map */
        int shared = 0;

        for (int q = 0; q < p && !shared; q++)
            shared = q != r && c->host_of[q] == c->host_of[r];
        if (shared && !all[r])
            s->active = 0;
    }
out:
    free(all);
    return rc;
}

void lc_shm_close(struct lc_comm *c)
{
    struct lc_shm *s = c->shm;

    if (!s)
        return;
    for (int l = 0; s->peer && l < c->local_size; l++)
        if (s->peer[l] && s->peer[l] != s->mine)
            munmap(s->peer[l], s->peer[l]->size);
    if (s->mine)
        munmap(s->mine, s->mine->size);
    if (s->fd >= 0)
        close(s->fd);
    free(s->peer);
    free(s);
    c->shm = NULL;
}
