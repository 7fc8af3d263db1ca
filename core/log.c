/* log.c - one-line logging with rank and subsystem; silent unless LC_LOG_LEVEL says otherwise. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static lc_log_sink_t lc_sink;
static int lc_rank_for_log = -1;
static int lc_level = -2; /* -2: not read yet */

const char *const lc_log_level_names[] = {"none", "error", "warn", "info", "debug", NULL};

/* The level LC_LOG_LEVEL asks for; a value that is not a level is reported
 * once (stderr, or the sink) and logs nothing; lc_comm_init fails on it. */
static int lc_level_from_env(void)
{
    const char *s = getenv("LC_LOG_LEVEL");
    char form[128];
    int w;

    if (!s || !*s)
        return lc_sink ? LC_LOG_INFO : LC_LOG_NONE;
    w = lc_param_word("LC_LOG_LEVEL");
    if (w >= 0)
        return w - 1; /* "none" is LC_LOG_NONE (-1), then error, warn, info, debug */
    lc_param_form(lc_param_find("LC_LOG_LEVEL", NULL), form, sizeof(form));
    lc_log(LC_LOG_WARN, "config", "LC_LOG_LEVEL=%s: expected %s; not logging", s, form);
    return LC_LOG_NONE;
}

void lc_log_set_sink(lc_log_sink_t sink)
{
    lc_sink = sink;
    lc_level = -2;
}

void lc_log_set_rank(int rank)
{
    lc_rank_for_log = rank;
}

int lc_log_enabled(lc_log_level_t level)
{
    int cur = __atomic_load_n(&lc_level, __ATOMIC_RELAXED);

    if (cur == -2) {
        __atomic_store_n(&lc_level, LC_LOG_NONE, __ATOMIC_RELAXED); /* while looking it up */
        cur = lc_level_from_env();
        __atomic_store_n(&lc_level, cur, __ATOMIC_RELAXED);
    }
    return level != LC_LOG_NONE && (int)level <= cur;
}

void lc_log(lc_log_level_t level, const char *subsys, const char *fmt, ...)
{
    static const char *const names[] = {"ERROR", "WARN", "INFO", "DEBUG"};
    char msg[1024];
    va_list ap;

    if ((int)level < 0 || level > LC_LOG_DEBUG)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (lc_sink) {
        lc_sink(level, subsys, msg);
        return;
    }
    if (lc_rank_for_log >= 0)
        fprintf(stderr, "lioncub[%d] %s %s: %s\n", lc_rank_for_log, subsys, names[level], msg);
    else
        fprintf(stderr, "lioncub %s %s: %s\n", subsys, names[level], msg);
}
