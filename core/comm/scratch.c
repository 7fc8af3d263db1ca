/*
 * scratch.c - the collectives' scratch buffers: allocated and registered with
 * every peer connection on first need, then held by one collective at a time
 * and reused, so that collectives in flight at once each have their own and a
 * collective of a shape seen before allocates nothing.
 */
#include <stdlib.h>
#include <string.h>

#include "comm.h"

/* Drop the registrations of s (before its connections close or it grows). */
static void lc_scratch_dereg(struct lc_comm *c, lc_scratch_t *s)
{
    for (int j = 0; j < c->nranks; j++) {
        if (s->mh[2 * j] && c->send[j])
            c->prov->dereg_mr(c->send[j], s->mh[2 * j]);
        if (s->mh[2 * j + 1] && c->recv[j])
            c->prov->dereg_mr(c->recv[j], s->mh[2 * j + 1]);
        s->mh[2 * j] = s->mh[2 * j + 1] = NULL;
    }
}

/* (Re)allocate s at len bytes (page-aligned) and register it with every connection. */
static int lc_scratch_alloc(struct lc_comm *c, lc_scratch_t *s, size_t len)
{
    lc_scratch_dereg(c, s);
    free(s->buf);
    s->buf = NULL;
    s->len = 0;
    len = (len + 4095) & ~(size_t)4095;
    if (posix_memalign(&s->buf, 4096, len))
        return lc_seterr(-ENOMEM, "comm", "cannot allocate %zu bytes of scratch", len);
    s->len = len;
    for (int j = 0; j < c->nranks; j++) {
        int rc = 0;

        if (c->send[j])
            rc = c->prov->reg_mr(c->send[j], s->buf, len, &s->mh[2 * j]);
        if (!rc && c->recv[j])
            rc = c->prov->reg_mr(c->recv[j], s->buf, len, &s->mh[2 * j + 1]);
        if (rc)
            return lc_seterr(rc, "comm", "registering %zu bytes of scratch failed", len);
    }
    return 0;
}

/* A new, empty entry at the end of the comm's list. */
static lc_scratch_t *lc_scratch_add(struct lc_comm *c)
{
    lc_scratch_t **list = realloc(c->scratch, (size_t)(c->nscratch + 1) * sizeof(*list));
    lc_scratch_t *s;

    if (!list)
        return NULL;
    c->scratch = list;
    s = calloc(1, sizeof(*s));
    if (s && !(s->mh = calloc(2 * (size_t)c->nranks, sizeof(*s->mh)))) {
        free(s);
        s = NULL;
    }
    if (s)
        list[c->nscratch++] = s;
    return s;
}

int lc_comm_scratch_get(struct lc_comm *c, size_t len, lc_scratch_t **out)
{
    lc_scratch_t *fit = NULL, *grow = NULL;
    int rc;

    /* the smallest free buffer that is large enough, else the largest free one grows */
    for (int i = 0; i < c->nscratch; i++) {
        lc_scratch_t *s = c->scratch[i];

        if (s->busy)
            continue;
        if (s->len >= len && (!fit || s->len < fit->len))
            fit = s;
        if (!grow || s->len > grow->len)
            grow = s;
    }
    if (!fit) {
        fit = grow ? grow : lc_scratch_add(c);
        if (!fit)
            return lc_seterr(-ENOMEM, "comm", "cannot allocate a scratch entry");
        if ((rc = lc_scratch_alloc(c, fit, len)))
            return rc;
    }
    fit->busy = 1;
    *out = fit;
    return 0;
}

void lc_comm_scratch_put(lc_scratch_t *s)
{
    if (s)
        s->busy = 0;
}

void lc_comm_scratch_dereg_all(struct lc_comm *c)
{
    for (int i = 0; i < c->nscratch; i++)
        lc_scratch_dereg(c, c->scratch[i]);
}

void lc_comm_scratch_free(struct lc_comm *c)
{
    for (int i = 0; i < c->nscratch; i++) {
        lc_scratch_t *s = c->scratch[i];

        free(s->buf);
        free(s->mh);
        free(s);
    }
    free(c->scratch);
    c->scratch = NULL;
    c->nscratch = 0;
}

lc_prov_mr_t *lc_comm_scratch_mh(struct lc_comm *c, int peer, int is_recv, const void *ptr)
{
    const char *p = ptr;

    for (int i = 0; i < c->nscratch; i++) {
        const lc_scratch_t *s = c->scratch[i];
        const char *b = s->buf;

        if (b && p >= b && p < b + s->len)
            return s->mh[2 * peer + (is_recv ? 1 : 0)];
    }
    return NULL;
}
