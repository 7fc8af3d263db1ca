/* provider_registry.c - the providers built into the library and LC_PROVIDER selection. */
#include <stdio.h>
#include <string.h>

#include "internal.h"

#ifdef LC_HAVE_PROV_TCP
extern const lc_provider_t lc_prov_tcp;
#endif
#ifdef LC_HAVE_PROV_OFI
extern const lc_provider_t lc_prov_ofi;
#endif
#ifdef LC_HAVE_PROV_RAWETH
extern const lc_provider_t lc_prov_raweth;
#endif

static const lc_provider_t *const lc_providers[] = {
#ifdef LC_HAVE_PROV_TCP
    &lc_prov_tcp,
#endif
#ifdef LC_HAVE_PROV_OFI
    &lc_prov_ofi,
#endif
#ifdef LC_HAVE_PROV_RAWETH
    &lc_prov_raweth,
#endif
    NULL,
};

const lc_provider_t *const *lc_provider_list(int *count)
{
    if (count)
        *count = (int)(sizeof(lc_providers) / sizeof(lc_providers[0])) - 1;
    return lc_providers;
}

const lc_provider_t *lc_provider_find(const char *name)
{
    if (!name) {
        lc_seterr(-EINVAL, "provider", "lc_provider_find: NULL name");
        return NULL;
    }
    for (int i = 0; lc_providers[i]; i++)
        if (!strcmp(lc_providers[i]->name, name))
            return lc_providers[i];
    lc_seterr(LC_ERR_NO_PROVIDER, "provider", "provider '%s' is not built into this library",
              name);
    return NULL;
}

/* Whether the comma list contains name. */
static int lc_list_has(const char *list, const char *name)
{
    size_t len = strlen(name);

    for (const char *p = list; *p;) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == len && !strncmp(p, name, len))
            return 1;
        p += n + (end ? 1 : 0);
    }
    return 0;
}

int lc_provider_select(const char *list, const lc_provider_t **out, int max)
{
    int n = 0;

    if (!out || max < 1)
        return LC_EINVAL("provider", "lc_provider_select: bad output array");
    if (!list || !*list)
        list = lc_param_str("LC_PROVIDER");
    if (!list || !*list)
        list = "tcp";
    if (list[0] == '^') {
        for (int i = 0; lc_providers[i] && n < max; i++)
            if (!lc_list_has(list + 1, lc_providers[i]->name))
                out[n++] = lc_providers[i];
    } else {
        for (const char *p = list; *p && n < max;) {
            const char *end = strchr(p, ',');
            size_t len = end ? (size_t)(end - p) : strlen(p);
            char name[32];
            const lc_provider_t *prov;

            if (len == 0 || len >= sizeof(name))
                return lc_seterr(LC_ERR_CONFIG, "provider", "LC_PROVIDER='%s' is malformed",
                                 list);
            memcpy(name, p, len);
            name[len] = 0;
            prov = lc_provider_find(name);
            if (!prov)
                return LC_ERR_NO_PROVIDER;
            out[n++] = prov;
            p += len + (end ? 1 : 0);
        }
    }
    if (n == 0)
        return lc_seterr(LC_ERR_NO_PROVIDER, "provider", "LC_PROVIDER='%s' leaves no provider",
                         list);
    return n;
}
