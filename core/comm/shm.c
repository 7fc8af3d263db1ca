/*
 * shm.c - create, share and map the regions of the shared-memory path
 * (shm.h), and copy into them. Sizes follow the vote's segments: a slot
 * holds one segment's packed votes and its decoded planes, the largest
 * LC_SEGMENT allows.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "shm.h"

#define LC_SHM_MAGIC 0x4c4353484d310000ull /* "LCSHM1" */

int lc_shm_create(struct lc_comm *c, int32_t *pid, int32_t *fd)
{
    int64_t on = 1;
    int rc, stream;

    *pid = 0;
    *fd = -1;
    if ((rc = lc_param_int("LC_SHM", &on)) && rc != -ENOENT)
        return rc;
    if (!on)
        return 0;
    if ((stream = lc_param_word("LC_SHM_STREAM")) < 0)
        return (rc = lc_param_check("LC_SHM_STREAM")) ? rc : -EINVAL;
    c->shm = calloc(1, sizeof(*c->shm));
    if (!c->shm)
        return -ENOMEM;
    c->shm->stream = stream;
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

/* Size this rank's region and lay out its header (through a temporary mapping). */
static int lc_shm_init_mine(struct lc_comm *c)
{
    struct lc_shm *s = c->shm;
    size_t area = lc_shm_area_bytes(c), slots = (size_t)c->vote_depth;
    lc_shm_hdr_t *h;

    s->size = (sizeof(lc_shm_hdr_t) + slots * 2 * area + 4095) & ~(size_t)4095;
    if (ftruncate(s->fd, (off_t)s->size))
        return -errno;
    h = mmap(NULL, sizeof(*h), PROT_READ | PROT_WRITE, MAP_SHARED, s->fd, 0);
    if (h == MAP_FAILED)
        return -errno;
    memset(h, 0, sizeof(*h));
    h->size = s->size;
    h->slot_bytes = 2 * area;
    h->vote_bytes = area;
    lc_shm_store(&h->magic, LC_SHM_MAGIC);
    munmap(h, sizeof(*h));
    return 0;
}

/* Map the region of the process pid's descriptor fd (fd itself when pid is
 * this process's: its own region) at addr, which the caller reserved. */
static int lc_shm_map_at(int32_t pid, int32_t fd, size_t size, void *addr)
{
    char path[64];
    struct stat st;
    void *p;
    int f;

    snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)pid, (int)fd);
    f = open(path, O_RDWR | O_CLOEXEC);
    if (f < 0)
        return -errno;
    if (fstat(f, &st) || (size_t)st.st_size != size) {
        close(f);
        return -EPROTO; /* another size: another LC_SEGMENT or LC_VOTE_DEPTH */
    }
    p = mmap(addr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, f, 0);
    close(f);
    if (p == MAP_FAILED)
        return -errno;
    if (lc_shm_load(&((lc_shm_hdr_t *)p)->magic) != LC_SHM_MAGIC)
        return -EPROTO;
    return 0;
}

/* LC_SHM_SPLIT on this rank: 1 to split one-host votes, 0 not to; auto splits
 * when the host has fewer online CPUs than ranks. A negative error for a bad value. */
static int lc_shm_split_wanted(const struct lc_comm *c)
{
    int w = lc_param_word("LC_SHM_SPLIT");

    if (w < 0)
        return lc_param_check("LC_SHM_SPLIT");
    if (w == LC_HIER_AUTO)
        return sysconf(_SC_NPROCESSORS_ONLN) < c->local_size;
    return w == LC_HIER_ALWAYS;
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
         lc_shm_init_mine(c) == 0;
    if ((rc = lc_allgather(c, &ok, all, 1)))
        goto out;
    /* 2: map the host's regions side by side; used only when every rank could */
    if (ok) {
        s->nlocal = c->local_size;
        s->peer = calloc((size_t)s->nlocal, sizeof(*s->peer));
        s->pid = calloc((size_t)s->nlocal, sizeof(*s->pid));
        s->all = mmap(NULL, s->size * (size_t)s->nlocal, PROT_NONE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (s->all == MAP_FAILED)
            s->all = NULL;
        ok = s->peer && s->pid && s->all;
    }
    for (int r = 0; ok && r < p; r++) {
        if (c->host_of[r] != c->host_of[c->rank])
            continue;
        s->peer[l] = (lc_shm_hdr_t *)(s->all + (size_t)l * s->size);
        s->pid[l] = pids[r];
        if (!all[r]) {
            ok = 0;
        } else if ((rc = lc_shm_map_at(pids[r], fds[r], s->size, s->peer[l]))) {
            LC_WARN("comm", "rank %d: cannot map rank %d's shared memory (/proc/%d/fd/%d): %s",
                    c->rank, r, (int)pids[r], (int)fds[r], strerror(-rc));
            ok = 0;
            rc = 0;
        }
        l++;
    }
    if (ok)
        s->mine = s->peer[c->local_rank];
    if ((rc = lc_shm_split_wanted(c)) < 0)
        goto out;
    ok |= (char)(rc << 1);
    if ((rc = lc_allgather(c, &ok, all, 1)) || !s)
        goto out;
    s->active = 1;
    for (int r = 0; r < p; r++) { /* a rank alone on its host has nothing to map */
        int shared = 0;

        for (int q = 0; q < p && !shared; q++)
            shared = q != r && c->host_of[q] == c->host_of[r];
        if (shared && !(all[r] & 1))
            s->active = 0;
        s->split |= all[r] >> 1 & 1;
    }
    if (s->active && c->local_size > 1)
        LC_INFO("comm", "rank %d: votes inside the host go through shared memory (%d ranks)",
                c->rank, c->local_size);
out:
    free(all);
    return rc;
}

int lc_shm_check_alive(struct lc_comm *c)
{
    struct lc_shm *s = c->shm;
    double now = lc_now();

    if (now - s->checked < 0.1)
        return 0;
    s->checked = now;
    for (int l = 0; l < s->nlocal; l++)
        if (kill(s->pid[l], 0) && errno == ESRCH)
            return lc_seterr(LC_ERR_PEER, "comm",
                             "rank %d: process %d of local rank %d on this host is gone",
                             c->rank, (int)s->pid[l], l);
    return 0;
}

/* With LC_SHM_STREAM=auto: plain copies go on until they cost this many times
 * a streaming one (streaming leaves the readers reading memory, not a cache);
 * and every this many copies takes the other kind, to time it again (odd, so
 * that the tries fall on a segment's votes and on its stripes in turn). */
#define LC_SHM_STREAM_BIAS 1.5
#define LC_SHM_TRY_EVERY 63

/* The copies below this many bytes are plain and not timed. */
#define LC_SHM_STREAM_MIN 4096

/* Seconds per byte of the kind's fastest recent copy; 0 when none was timed. */
static double lc_shm_cost(const struct lc_shm *s, int kind)
{
    double best = 0;

    for (int i = 0; i < LC_SHM_COST_SAMPLES; i++)
        if (s->cost[kind][i] > 0 && (best == 0 || s->cost[kind][i] < best))
            best = s->cost[kind][i];
    return best;
}

/* LC_SHM_STREAM=auto: 1 to stream this copy, 0 for a plain one. */
static int lc_shm_put_kind(const struct lc_shm *s)
{
    double plain = lc_shm_cost(s, 0), stream = lc_shm_cost(s, 1);
    int best;

    if (plain == 0 || stream == 0)
        return plain != 0; /* each kind timed once first */
    best = plain > LC_SHM_STREAM_BIAS * stream;
    return s->copies % LC_SHM_TRY_EVERY == LC_SHM_TRY_EVERY - 1 ? !best : best;
}

/* memcpy with non-temporal stores and a store fence where the CPU has them. */
static void lc_shm_stream_copy(void *dst, const void *src, size_t n)
{
#ifdef __SSE2__
    char *d = dst;
    const char *s = src;
    size_t head = (16 - ((uintptr_t)d & 15)) & 15;

    memcpy(d, s, head);
    d += head, s += head, n -= head;
    for (; n >= 64; d += 64, s += 64, n -= 64) {
        __m128i a = _mm_loadu_si128((const __m128i *)s);
        __m128i b = _mm_loadu_si128((const __m128i *)(s + 16));
        __m128i e = _mm_loadu_si128((const __m128i *)(s + 32));
        __m128i f = _mm_loadu_si128((const __m128i *)(s + 48));

        _mm_stream_si128((__m128i *)d, a);
        _mm_stream_si128((__m128i *)(d + 16), b);
        _mm_stream_si128((__m128i *)(d + 32), e);
        _mm_stream_si128((__m128i *)(d + 48), f);
    }
    memcpy(d, s, n);
    _mm_sfence();
#else
    memcpy(dst, src, n);
#endif
}

void lc_shm_put(struct lc_shm *s, void *dst, const void *src, size_t n)
{
    int kind;
    double t0;

    if (!s || n < LC_SHM_STREAM_MIN || s->stream == LC_HIER_NEVER) {
        memcpy(dst, src, n);
        return;
    }
    if (s->stream == LC_HIER_ALWAYS) {
        lc_shm_stream_copy(dst, src, n);
        return;
    }
    kind = lc_shm_put_kind(s);
    t0 = lc_now();
    if (kind)
        lc_shm_stream_copy(dst, src, n);
    else
        memcpy(dst, src, n);
    memmove(&s->cost[kind][1], &s->cost[kind][0], (LC_SHM_COST_SAMPLES - 1) * sizeof(double));
    s->cost[kind][0] = (lc_now() - t0) / (double)n;
    s->copies++;
}

void lc_shm_close(struct lc_comm *c)
{
    struct lc_shm *s = c->shm;

    if (!s)
        return;
    if (s->all)
        munmap(s->all, s->size * (size_t)s->nlocal);
    if (s->fd >= 0)
        close(s->fd);
    free(s->peer);
    free(s->pid);
    free(s);
    c->shm = NULL;
}
