/*
 * provider_module.h - the entry point of a provider built as a loadable
 * module (liblioncub-NAME.so). Include it in exactly one file of the module,
 * after defining LC_PROV_MODULE_OPS as the module's ops table:
 *
 *     #include "lioncub/provider_sdk.h"
 *     extern const lc_provider_t lc_prov_ofi;
 *     #define LC_PROV_MODULE_OPS lc_prov_ofi
 *     #include "lioncub/provider_module.h"
 *
 * It defines lc_prov_module_load (LC_PROV_MODULE_ENTRY), which the registry
 * calls with the library's services, and the library functions the SDK
 * declares (lc_log, lc_seterr, lc_param_str, ...) as forwarders to those
 * services, so the module needs no link to liblioncub and binds to whichever
 * copy of the library loaded it (shared, or linked statically into a
 * program). Link the module with a version script that exports only
 * lc_prov_module_load (cmake/lc_module.map).
 */
#ifndef LIONCUB_PROVIDER_MODULE_H
#define LIONCUB_PROVIDER_MODULE_H

#include <stdarg.h>
#include <stdio.h>

#include "provider_sdk.h"

#ifndef LC_PROV_MODULE_OPS
#error "define LC_PROV_MODULE_OPS as the module's ops table before including provider_module.h"
#endif

/* The library's services, set by the entry point before any op runs. */
static const lc_prov_core_t *lc_prov_core;

/* One formatted line, as the library's own logger would format it. */
#define LC_PROV_MODULE_FMT(buf, fmt)                                                               \
    do {                                                                                           \
        va_list ap_;                                                                               \
        va_start(ap_, fmt);                                                                        \
        vsnprintf(buf, sizeof(buf), fmt, ap_);                                                     \
        va_end(ap_);                                                                               \
    } while (0)

void lc_log(lc_log_level_t level, const char *subsys, const char *fmt, ...)
{
    char msg[1024];

    LC_PROV_MODULE_FMT(msg, fmt);
    lc_prov_core->log(level, subsys, "%s", msg);
}

int lc_log_enabled(lc_log_level_t level)
{
    return lc_prov_core->log_enabled(level);
}

int lc_seterr(int err, const char *subsys, const char *fmt, ...)
{
    char msg[1024];

    LC_PROV_MODULE_FMT(msg, fmt);
    return lc_prov_core->seterr(err, subsys, "%s", msg);
}

const char *lc_param_str(const char *name)
{
    return lc_prov_core->param_str(name);
}

int lc_param_int(const char *name, int64_t *value)
{
    return lc_prov_core->param_int(name, value);
}

const char *lc_strerror(int err)
{
    return lc_prov_core->strerror(err);
}

const char *lc_last_error(void)
{
    return lc_prov_core->last_error();
}

int lc_prov_derive(const uint8_t key[LC_PROV_KEY_LEN], const char *label, const void *ctx,
                   size_t ctxlen, void *out, size_t outlen)
{
    return lc_prov_core->derive(key, label, ctx, ctxlen, out, outlen);
}

__attribute__((visibility("default"))) int lc_prov_module_load(const lc_prov_core_t *core,
                                                               const lc_provider_t **prov);
int lc_prov_module_load(const lc_prov_core_t *core, const lc_provider_t **prov)
{
    if (!core || !prov || core->abi != LC_PROV_MODULE_ABI ||
        core->size < offsetof(lc_prov_core_t, derive) + sizeof(core->derive))
        return -EINVAL;
    lc_prov_core = core;
    *prov = &LC_PROV_MODULE_OPS;
    return 0;
}

#endif /* LIONCUB_PROVIDER_MODULE_H */
