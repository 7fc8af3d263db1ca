/*
 * param_check.c - checking the LC_* environment against the registry
 * (param.c): the accepted form of each variable in words, the check of one
 * value or of all of them (lc_comm_init), the structured forms (provider
 * lists, host:port), and a warning, once per process, for LC_* variables the
 * registry does not know (a misspelt name would otherwise be ignored).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "comm/sock.h"
#include "internal.h"

extern char **environ;

void lc_param_form(const lc_param_t *p, char *buf, size_t len)
{
    const lc_param_rule_t *r = NULL;
    char lo[32], hi[32];
    size_t n = 0;

    lc_param_find(p->name, &r);
    if (p->type == LC_PARAM_BOOL) {
        snprintf(buf, len, "1, 0, yes, no, on, off, true or false");
    } else if (p->type == LC_PARAM_INT) {
        n = (size_t)snprintf(buf, len, "an integer");
        if (r && r->min < r->max) {
            lc_format_size(r->min, lo, sizeof(lo));
            lc_format_size(r->max, hi, sizeof(hi));
            n += (size_t)(r->max == INT64_MAX ? snprintf(buf + n, len - n, " >= %s", lo)
                                              : snprintf(buf + n, len - n, " %s..%s", lo, hi));
        }
        if (r && r->multiple && n < len)
            n += (size_t)snprintf(buf + n, len - n, ", a multiple of %lld", (long long)r->multiple);
        if (n < len)
            snprintf(buf + n, len - n, " (K, M or G suffix: x1024)%s",
                     r ? "" : "; the provider checks its range");
    } else if (r && r->words) {
        n = (size_t)snprintf(buf, len, "one of ");
        for (int i = 0; r->words[i] && n < len; i++)
            n += (size_t)snprintf(buf + n, len - n, "%s%s", i ? ", " : "", r->words[i]);
    } else if (r) {
        snprintf(buf, len, "%s", r->form ? r->form : "any text");
    } else {
        snprintf(buf, len, "what the help says; the provider checks it");
    }
}

int lc_param_check(const char *name)
{
    const lc_param_rule_t *r;
    const lc_param_t *p = lc_param_find(name, &r);
    const char *v = lc_param_str(name);
    char form[256];
    int64_t x;

    if (!p)
        return LC_EINVAL("config", "lc_param_check: %s is not registered", name);
    if (!v)
        return 0;
    if (p->type != LC_PARAM_STR)
        return lc_param_int(name, &x);
    if ((r && r->words && lc_param_word(name) < 0) || (r && r->check && r->check(v))) {
        lc_param_form(p, form, sizeof(form));
        return lc_seterr(LC_ERR_CONFIG, "config", "%s=%s: expected %s", name, v, form);
    }
    return 0;
}

int lc_param_check_providers(const char *v)
{
    const lc_provider_t *provs[16];

    return lc_provider_select(v, provs, 16) < 0 ? -EINVAL : 0;
}

int lc_param_check_hostport(const char *v)
{
    char host[256], port[16], *end;
    long x;

    if (lc_sock_split(v, host, sizeof(host), port, sizeof(port)))
        return -EINVAL;
    x = strtol(port, &end, 10);
    return *end || x < 0 || x > 65535 ? -EINVAL : 0;
}

/* Edit distance of a and b (names: short), to suggest the name meant. */
static int lc_param_distance(const char *a, const char *b)
{
    int la = (int)strlen(a), lb = (int)strlen(b), d[64 + 1];

    if (la > 64 || lb > 64)
        return 99;
    for (int j = 0; j <= lb; j++)
        d[j] = j;
    for (int i = 1; i <= la; i++) {
        int diag = d[0];
        d[0] = i;
        for (int j = 1; j <= lb; j++) {
            int up = d[j], best = diag + (a[i - 1] != b[j - 1]);
            best = up + 1 < best ? up + 1 : best;
            best = d[j - 1] + 1 < best ? d[j - 1] + 1 : best;
            diag = up;
            d[j] = best;
        }
    }
    return d[lb];
}

/* When environment entry e is an LC_ variable: its name into name (size 128),
 * and its value; NULL if not. */
static const char *lc_env_lc_var(const char *e, char name[128])
{
    const char *eq = strchr(e, '=');

    if (strncmp(e, "LC_", 3) || !eq || (size_t)(eq - e) >= 128)
        return NULL;
    memcpy(name, e, (size_t)(eq - e));
    name[eq - e] = 0;
    return eq + 1;
}

static void lc_params_warn_once(void)
{
    for (char **e = environ; e && *e; e++) {
        const char *best = NULL, *pn;
        const lc_param_t *p;
        char name[128];
        int bestd; /* suggest a name at most 1 edit away, 2 for long names */

        if (!lc_env_lc_var(*e, name))
            continue;
        if (lc_param_find(name, NULL))
            continue;
        bestd = strlen(name) < 10 ? 2 : 3;
        for (int i = 0; (p = lc_param_at(i, NULL)); i++) {
            int d = lc_param_distance(name, pn = p->name);
            if (d < bestd)
                bestd = d, best = pn;
        }
        lc_log(LC_LOG_WARN, "config", "%s is not a lioncub variable%s%s%s (lc_info -e lists them)",
               name, best ? "; did you mean " : "", best ? best : "", best ? "?" : "");
    }
}

void lc_params_warn_unknown(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;

    pthread_once(&once, lc_params_warn_once);
}

int lc_params_check(void)
{
    char name[128];
    int rc;

    lc_params_warn_unknown();
    /* the variables set, not every one registered: a module's are looked up
     * (and the modules loaded) only when one of them is set */
    for (char **e = environ; e && *e; e++) {
        const char *v = lc_env_lc_var(*e, name);

        if (!v || !*v || !lc_param_find(name, NULL))
            continue;
        if ((rc = lc_param_check(name)))
            return rc;
    }
    return 0;
}
