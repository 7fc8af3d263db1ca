/*
 * provider_sdk.h - what a lioncub provider is written with: the ops table and
 * handle types (provider.h), and the helpers every provider shares: logging,
 * parameters and errors (declared in provider.h), LC_EINVAL, monotonic time,
 * size-prefixed structs of any caller's size, handle checks, and stubs for
 * the ops a provider does not offer. A provider includes this header and
 * never the library's internal ones; built as a loadable module it also
 * includes provider_module.h in exactly one file (its entry point).
 */
#ifndef LIONCUB_PROVIDER_SDK_H
#define LIONCUB_PROVIDER_SDK_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "provider.h"

/* Symbols shared between the files of the library or of a module, not exported. */
#define LC_HIDDEN __attribute__((visibility("hidden")))

/* Record an invalid-argument error naming the function and return -EINVAL. */
#define LC_EINVAL(subsys, ...) lc_seterr(-EINVAL, subsys, __VA_ARGS__)

/* Monotonic time in seconds. */
static inline double lc_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/*
 * A caller's size-prefixed struct `in` (in->size bytes) into the full-size
 * local `out` (len bytes, this build's sizeof): a smaller caller's missing
 * tail reads as zero; a larger caller's extra bytes must be zero, since they
 * are fields this build does not know. out->size becomes len. 0, or -EINVAL
 * naming the struct (name) with lc_last_error set.
 */
static inline int lc_struct_in(const void *in, void *out, size_t len, const char *name)
{
    size_t size;

    memcpy(&size, in, sizeof(size));
    if (size < sizeof(size_t))
        return LC_EINVAL("abi", "%s: size %zu is not set", name, size);
    memset(out, 0, len);
    memcpy(out, in, size < len ? size : len);
    for (size_t i = len; i < size; i++)
        if (((const unsigned char *)in)[i])
            return LC_EINVAL("abi",
                             "%s: size %zu is larger than this library's %zu and byte %zu "
                             "is not zero (a field this library does not know)",
                             name, size, len, i);
    memcpy(out, &len, sizeof(len));
    return 0;
}

/*
 * Fill a caller's size-prefixed output struct `out` (out->size bytes) from
 * the full-size `in` (len bytes): a smaller caller gets the fields that fit,
 * a larger one zeros in the fields this build does not know. out->size is
 * kept. 0, or -EINVAL (size not set) naming the struct.
 */
static inline int lc_struct_out(void *out, const void *in, size_t len, const char *name)
{
    size_t size;

    memcpy(&size, out, sizeof(size));
    if (size < sizeof(size_t))
        return LC_EINVAL("abi", "%s: size %zu is not set", name, size);
    memcpy((char *)out + sizeof(size), (const char *)in + sizeof(size),
           (size < len ? size : len) - sizeof(size));
    if (size > len)
        memset((char *)out + len, 0, size - len);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Handles                                                             */
/* ------------------------------------------------------------------ */

/* The magic of a live provider object; a closed one has LC_PROV_DEAD. */
#define LC_PROV_MAGIC 0x6c63706fu /* "lcpo" */
#define LC_PROV_DEAD  0x6c636478u /* "lcdx" */

/** Mark a provider object live: its provider and kind, set where it is allocated. */
static inline void lc_prov_obj_init(lc_prov_obj_t *obj, const lc_provider_t *prov,
                                    lc_prov_kind_t kind)
{
    obj->magic = LC_PROV_MAGIC;
    obj->kind = (uint32_t)kind;
    obj->prov = prov;
}

/** Mark a provider object closed, just before it is freed or recycled. */
static inline void lc_prov_obj_kill(lc_prov_obj_t *obj)
{
    obj->magic = LC_PROV_DEAD;
}

/**
 * Check that h is a live provider object of the given kind, made by the
 * provider named like prov (when prov is not NULL). what names the caller and
 * argument for the message ("tcp isend: comm"). 0, or -EINVAL.
 */
static inline int lc_prov_check(const void *h, lc_prov_kind_t kind, const lc_provider_t *prov,
                                const char *what)
{
    static const char *const kinds[] = {"?",         "context",      "listen comm", "send comm",
                                        "recv comm", "registration", "request"};
    const lc_prov_obj_t *o = (const lc_prov_obj_t *)h;

    if (!o)
        return LC_EINVAL("provider", "%s: NULL %s", what, kinds[kind <= 6 ? kind : 0]);
    if (o->magic != LC_PROV_MAGIC)
        return LC_EINVAL("provider", "%s: %p is %s", what, h,
                         o->magic == LC_PROV_DEAD ? "closed" : "not a live provider object");
    if (o->kind != (uint32_t)kind)
        return LC_EINVAL("provider", "%s: a %s where a %s is expected", what,
                         kinds[o->kind <= 6 ? o->kind : 0], kinds[kind <= 6 ? kind : 0]);
    if (prov && o->prov != prov && (!o->prov || strcmp(o->prov->name, prov->name)))
        return LC_EINVAL("provider", "%s: made by provider %s, not %s", what,
                         o->prov ? o->prov->name : "?", prov->name);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Stubs: what a provider points the ops it does not offer at          */
/* ------------------------------------------------------------------ */

static inline int lc_prov_enosys_reg_mr(lc_prov_comm_t *comm, void *buf, size_t len,
                                        lc_prov_mr_t **mhandle)
{
    return -ENOSYS;
}

static inline int lc_prov_enosys_dereg_mr(lc_prov_comm_t *comm, lc_prov_mr_t *mhandle)
{
    return -ENOSYS;
}

static inline int lc_prov_enosys_listen(lc_prov_ctx_t *ctx, int dev, void *handle,
                                        lc_prov_comm_t **listen_comm)
{
    return -ENOSYS;
}

static inline int lc_prov_enosys_wait(lc_prov_ctx_t *ctx, int timeout_us)
{
    return -ENOSYS;
}

#endif /* LIONCUB_PROVIDER_SDK_H */
