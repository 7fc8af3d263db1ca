/* error.c - error codes, their names, and the per-thread last-error message. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

static __thread char lc_last_msg[512];

const char *lc_strerror(int err)
{
    static __thread char buf[64];

    switch (err) {
    case 0:
        return "success";
    case LC_ERR_MISMATCH:
        return "ranks called the collective with different arguments";
    case LC_ERR_JOB_KEY:
        return "wrong job key";
    case LC_ERR_NO_PROVIDER:
        return "no provider matched";
    case LC_ERR_PEER:
        return "a peer failed or left";
    case LC_ERR_SIMD:
        return "SIMD level not supported by this CPU";
    case LC_ERR_CONFIG:
        return "bad configuration value";
    case LC_ERR_PROTO:
        return "protocol error";
    default:
        break;
    }
    if (err < 0 && err > -LC_ERR_BASE) {
        char tmp[64];
        const char *s = strerror_r(-err, tmp, sizeof(tmp));
        snprintf(buf, sizeof(buf), "%s", s);
        return buf;
    }
    snprintf(buf, sizeof(buf), "unknown error %d", err);
    return buf;
}

const char *lc_last_error(void)
{
    return lc_last_msg;
}

void lc_restore_error(const char *msg)
{
    snprintf(lc_last_msg, sizeof(lc_last_msg), "%s", msg);
}

int lc_seterr(int err, const char *subsys, const char *fmt, ...)
{
    va_list ap;
    int n;

    n = snprintf(lc_last_msg, sizeof(lc_last_msg), "%s: ", subsys ? subsys : "lioncub");
    if (n < 0 || (size_t)n >= sizeof(lc_last_msg))
        n = 0;
    va_start(ap, fmt);
    vsnprintf(lc_last_msg + n, sizeof(lc_last_msg) - (size_t)n, fmt, ap);
    va_end(ap);
    if (lc_log_enabled(LC_LOG_ERROR))
        lc_log(LC_LOG_ERROR, subsys ? subsys : "lioncub", "%s (%s)", lc_last_msg + n,
               lc_strerror(err));
    return err;
}
