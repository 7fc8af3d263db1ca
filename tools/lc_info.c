/*
 * lc_info.c - what this lioncub build offers: version, SIMD levels, providers
 * and their devices; `lc_info -e` lists every LC_* variable with its default,
 * current value and help text.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static void list_params(void)
{
    const lc_param_t *p;
    const char *owner;

    printf("%-20s %-8s %-10s %-14s %s\n", "variable", "owner", "default", "value", "help");
    for (int i = 0; (p = lc_param_at(i, &owner)); i++) {
        const char *v = getenv(p->name);
        printf("%-20s %-8s %-10s %-14s %s\n", p->name, owner, p->def ? p->def : "-",
               v ? v : "-", p->help);
    }
}

static void list_providers(void)
{
    lc_prov_init_opts_t opts = {.size = sizeof(opts), .rank = -1};
    const lc_provider_t *const *provs;
    int n;

    provs = lc_provider_list(&n);
    printf("providers built in: %d\n", n);
    for (int i = 0; i < n; i++) {
        void *ctx = NULL;
        int ndev = 0, rc = provs[i]->init(&opts, &ctx);

        if (!rc)
            rc = provs[i]->devices(ctx, &ndev);
        if (rc) {
            printf("  %-7s unusable here: %s (%s)\n", provs[i]->name, lc_strerror(rc),
                   lc_last_error());
            if (ctx)
                provs[i]->fini(ctx);
            continue;
        }
        printf("  %-7s %d device(s)\n", provs[i]->name, ndev);
        for (int d = 0; d < ndev; d++) {
            lc_prov_props_t pr = {.size = sizeof(pr)};
            if (provs[i]->get_props(ctx, d, &pr))
                continue;
            printf("    [%d] %-24s speed %d Mb/s, latency %.1f us, max_recvs %d, "
                   "reg_is_global %d, max_msg %zu%s%s\n",
                   d, pr.name, pr.speed_mbps, (double)pr.latency_us, pr.max_recvs,
                   pr.reg_is_global, pr.max_msg_size, pr.pci_path[0] ? ", pci " : "",
                   pr.pci_path);
        }
        provs[i]->fini(ctx);
    }
}

int main(int argc, char **argv)
{
    int simd;

    if (argc > 1 && !strcmp(argv[1], "-e")) {
        list_params();
        return 0;
    }
    if (argc > 1) {
        fprintf(stderr, "usage: lc_info [-e]\n  -e  list the LC_* environment variables\n");
        return strcmp(argv[1], "-h") && strcmp(argv[1], "--help") ? 2 : 0;
    }
    printf("lioncub %s\n", lc_version(NULL));
    simd = lc_simd_active();
    printf("simd: active %s; supported:", simd < 0 ? lc_strerror(simd) : lc_simd_name(simd));
    for (int l = 0; l < LC_SIMD_COUNT; l++)
        if (lc_simd_supported((lc_simd_t)l) == 1)
            printf(" %s", lc_simd_name((lc_simd_t)l));
    printf("\n");
    list_providers();
    return simd < 0;
}
