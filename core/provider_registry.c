/*
 * provider_registry.c - the providers: tcp built in, the others loadable
 * modules (liblioncub-NAME.so) found in the module folders and loaded with
 * dlopen on first use; every ops table checked and completed with stubs;
 * LC_PROVIDER selection.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <limits.h>
#include <link.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

#ifdef LC_HAVE_PROV_TCP
extern const lc_provider_t lc_prov_tcp;
#endif

#define LC_MODULE_PREFIX "liblioncub-"
#define LC_MODULE_SUFFIX ".so"
#define LC_MAX_MODULES   16
#define LC_MAX_PROVIDERS (LC_MAX_MODULES + 1)

struct lc_module {
    lc_module_info_t info;
    void *dl;
    lc_provider_t ops; /* the module's table, checked and completed */
};

static struct {
    pthread_mutex_t lock;
    int scanned;
    int nmod;
    struct lc_module mod[LC_MAX_MODULES];
#ifdef LC_HAVE_PROV_TCP
    lc_provider_t tcp;
#endif
    int nprov;
    const lc_provider_t *prov[LC_MAX_PROVIDERS + 1]; /* usable ones, NULL-terminated */
} lc_reg = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* The library's services a module calls (provider_module.h). */
static const lc_prov_core_t lc_prov_core = {
    .size = sizeof(lc_prov_core_t),
    .abi = LC_PROV_MODULE_ABI,
    .log = lc_log,
    .log_enabled = lc_log_enabled,
    .seterr = lc_seterr,
    .param_str = lc_param_str,
    .param_int = lc_param_int,
    .strerror = lc_strerror,
    .last_error = lc_last_error,
    .derive = lc_prov_derive,
};

/*
 * A provider's table p into the full-size out: the size rule of every public
 * struct (lc_struct_in), the required ops set, the optional ones (reg_mr,
 * dereg_mr, wait) pointed at the SDK's stubs when NULL. 0 or -EINVAL.
 */
static int lc_provider_table_in(const lc_provider_t *p, lc_provider_t *out)
{
    static const struct {
        const char *name;
        size_t off;
    } required[] = {
#define LC_OP(op) {#op, offsetof(lc_provider_t, op)}
        LC_OP(name),   LC_OP(init),       LC_OP(fini),       LC_OP(devices),      LC_OP(get_props),
        LC_OP(listen), LC_OP(connect),    LC_OP(accept),     LC_OP(isend),        LC_OP(irecv),
        LC_OP(test),   LC_OP(close_send), LC_OP(close_recv), LC_OP(close_listen),
#undef LC_OP
    };
    int rc = lc_struct_in(p, out, sizeof(*out), "lc_provider_t");

    if (rc)
        return rc;
    for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
        void *op;

        memcpy(&op, (const char *)out + required[i].off, sizeof(op));
        if (!op)
            return LC_EINVAL("provider", "provider '%s' lacks the required op %s",
                             out->name ? out->name : "?", required[i].name);
    }
    if (strlen(out->name) >= sizeof(((lc_module_info_t *)0)->name))
        return LC_EINVAL("provider", "provider name '%.40s...' is too long", out->name);
    if (!out->reg_mr)
        out->reg_mr = lc_prov_enosys_reg_mr;
    if (!out->dereg_mr)
        out->dereg_mr = lc_prov_enosys_dereg_mr;
    if (!out->wait)
        out->wait = lc_prov_enosys_wait;
    return 0;
}

/* Whether a usable provider of that name is there. Lock held. */
static const lc_provider_t *lc_reg_usable(const char *name)
{
    for (int i = 0; i < lc_reg.nprov; i++)
        if (!strcmp(lc_reg.prov[i]->name, name))
            return lc_reg.prov[i];
    return NULL;
}

/* Record module m's file as found in dir, or as shadowed by an earlier one. Lock held. */
static void lc_reg_add_module(const char *dir, const char *file)
{
    size_t n = strlen(file) - strlen(LC_MODULE_PREFIX) - strlen(LC_MODULE_SUFFIX);
    struct lc_module *m;

    if (lc_reg.nmod == LC_MAX_MODULES || n == 0 || n >= sizeof(m->info.name) ||
        strlen(dir) + strlen(file) + 2 > sizeof(m->info.path))
        return;
    m = &lc_reg.mod[lc_reg.nmod++];
    m->info.size = sizeof(m->info);
    memcpy(m->info.name, file + strlen(LC_MODULE_PREFIX), n);
    m->info.name[n] = 0;
    snprintf(m->info.path, sizeof(m->info.path), "%.255s/%.255s", dir, file);
    if (lc_reg_usable(m->info.name)) {
        m->info.state = LC_MODULE_SHADOWED;
        snprintf(m->info.reason, sizeof(m->info.reason), "built into the library");
        return;
    }
    for (struct lc_module *e = lc_reg.mod; e < m; e++)
        if (!strcmp(e->info.name, m->info.name)) {
            m->info.state = LC_MODULE_SHADOWED;
            snprintf(m->info.reason, sizeof(m->info.reason), "shadowed by %.200s", e->info.path);
            return;
        }
    m->info.state = LC_MODULE_FOUND;
}

static int lc_module_file_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The modules of one folder, in name order; folders seen before are skipped. Lock held. */
static void lc_reg_scan_dir(const char *dir, char (*seen)[PATH_MAX], int *nseen)
{
    char real[PATH_MAX], *files[LC_MAX_MODULES];
    struct dirent *e;
    int nfiles = 0;
    DIR *d;

    if (!realpath(dir, real))
        return;
    for (int i = 0; i < *nseen; i++)
        if (!strcmp(seen[i], real))
            return;
    if (*nseen < 8)
        snprintf(seen[(*nseen)++], PATH_MAX, "%s", real);
    if (!(d = opendir(real)))
        return;
    while ((e = readdir(d)) && nfiles < LC_MAX_MODULES) {
        size_t len = strlen(e->d_name);

        if (len > strlen(LC_MODULE_PREFIX) + strlen(LC_MODULE_SUFFIX) &&
            !strncmp(e->d_name, LC_MODULE_PREFIX, strlen(LC_MODULE_PREFIX)) &&
            !strcmp(e->d_name + len - strlen(LC_MODULE_SUFFIX), LC_MODULE_SUFFIX) &&
            (files[nfiles] = strdup(e->d_name)))
            nfiles++;
    }
    closedir(d);
    qsort(files, (size_t)nfiles, sizeof(files[0]), lc_module_file_cmp);
    for (int i = 0; i < nfiles; i++) {
        lc_reg_add_module(real, files[i]);
        free(files[i]);
    }
}

/*
 * The absolute path of the object holding this code: liblioncub.so, or the
 * program itself when linked with the static library (whose name dladdr
 * would give as argv[0]). 1, or 0 when unknown.
 */
static int lc_reg_self(char *path, size_t len)
{
    struct link_map *lm = NULL;
    Dl_info dl;
    ssize_t n;

    if (!dladdr1((void *)lc_reg_self, &dl, (void **)&lm, RTLD_DL_LINKMAP) || !lm)
        return 0;
    if (lm->l_name && lm->l_name[0]) {
        char real[PATH_MAX];

        if (!realpath(lm->l_name, real) || strlen(real) >= len)
            return 0;
        memcpy(path, real, strlen(real) + 1);
        return 1;
    }
    n = readlink("/proc/self/exe", path, len - 1);
    if (n <= 0)
        return 0;
    path[n] = 0;
    return path[0] == '/';
}

/*
 * On first use: the built-in providers, then the modules of LC_MODULE_PATH's
 * folders and of the library's own module folder: lioncub/ next to the
 * object holding this code (liblioncub.so), or, in a program linked with the
 * static library, ../lib/lioncub and ../LIBDIR/lioncub from its folder.
 * Lock held; path is LC_MODULE_PATH's value (read before locking).
 */
static void lc_reg_scan(const char *path)
{
    char seen[8][PATH_MAX], dir[PATH_MAX], self[PATH_MAX];
    int nseen = 0;

    if (lc_reg.scanned)
        return;
    lc_reg.scanned = 1;
#ifdef LC_HAVE_PROV_TCP
    if (!lc_provider_table_in(&lc_prov_tcp, &lc_reg.tcp))
        lc_reg.prov[lc_reg.nprov++] = &lc_reg.tcp;
#endif
    for (const char *p = path ? path : ""; *p;) {
        size_t n = strcspn(p, ":");

        if (n && n < sizeof(dir)) {
            memcpy(dir, p, n);
            dir[n] = 0;
            lc_reg_scan_dir(dir, seen, &nseen);
        }
        p += n + (p[n] == ':');
    }
    if (lc_reg_self(self, sizeof(self))) {
        static const char *const subdirs[] = {"lioncub", "../lib/lioncub",
                                              "../" LC_INSTALL_LIBDIR "/lioncub"};
        int len = (int)(strrchr(self, '/') - self);

        for (size_t i = 0; i < sizeof(subdirs) / sizeof(subdirs[0]); i++) {
            snprintf(dir, sizeof(dir), "%.*s/%s", len, self, subdirs[i]);
            lc_reg_scan_dir(dir, seen, &nseen);
        }
    }
}

/* Load module m (found, not loaded): its provider becomes usable, or m keeps why not. Lock held. */
static void lc_reg_load(struct lc_module *m)
{
    const lc_provider_t *prov = NULL;
    lc_prov_module_load_t load;
    const char *err;
    int rc;

    m->info.state = LC_MODULE_FAILED;
    dlerror();
    if (!(m->dl = dlopen(m->info.path, RTLD_NOW | RTLD_LOCAL))) {
        err = dlerror();
        snprintf(m->info.reason, sizeof(m->info.reason), "%s", err ? err : "dlopen failed");
        return;
    }
    *(void **)&load = dlsym(m->dl, LC_PROV_MODULE_ENTRY);
    if (!load) {
        snprintf(m->info.reason, sizeof(m->info.reason), "no %s: not a lioncub module",
                 LC_PROV_MODULE_ENTRY);
    } else if ((rc = load(&lc_prov_core, &prov)) || !prov) {
        snprintf(m->info.reason, sizeof(m->info.reason), "%s failed: %s", LC_PROV_MODULE_ENTRY,
                 lc_strerror(rc ? rc : -EINVAL));
    } else if (lc_provider_table_in(prov, &m->ops)) {
        snprintf(m->info.reason, sizeof(m->info.reason), "%s", lc_last_error());
    } else if (strcmp(m->ops.name, m->info.name)) {
        snprintf(m->info.reason, sizeof(m->info.reason), "its provider is named '%s'", m->ops.name);
    } else {
        m->info.state = LC_MODULE_LOADED;
        m->info.reason[0] = 0;
        lc_reg.prov[lc_reg.nprov++] = &m->ops;
        LC_INFO("provider", "module %s loaded from %s", m->info.name, m->info.path);
        return;
    }
    LC_INFO("provider", "module %s (%s) did not load: %s", m->info.name, m->info.path,
            m->info.reason);
    dlclose(m->dl);
    m->dl = NULL;
}

/* Lock the registry, scanning the folders on first use. */
static void lc_reg_enter(void)
{
    const char *path = lc_param_str("LC_MODULE_PATH");

    pthread_mutex_lock(&lc_reg.lock);
    lc_reg_scan(path);
}

int lc_provider_load_all(void)
{
    int n;

    lc_reg_enter();
    for (int i = 0; i < lc_reg.nmod; i++)
        if (lc_reg.mod[i].info.state == LC_MODULE_FOUND)
            lc_reg_load(&lc_reg.mod[i]);
    n = lc_reg.nprov;
    pthread_mutex_unlock(&lc_reg.lock);
    return n;
}

const lc_param_t *lc_provider_param_find(const char *name, int load_all)
{
    const lc_param_t *found = NULL;

    if (load_all)
        lc_provider_load_all();
    lc_reg_enter();
    for (int k = 0; k < lc_reg.nprov && !found; k++)
        for (const lc_param_t *p = lc_reg.prov[k]->params; p && p->name && !found; p++)
            if (!strcmp(p->name, name))
                found = p;
    pthread_mutex_unlock(&lc_reg.lock);
    return found;
}

int lc_provider_module_at(int idx, lc_module_info_t *info)
{
    lc_module_info_t copy;
    int rc = 0;

    if (!info)
        return LC_EINVAL("provider", "lc_provider_module_at: NULL info");
    lc_reg_enter();
    if (idx < 0 || idx >= lc_reg.nmod)
        rc = -ENOENT;
    else
        copy = lc_reg.mod[idx].info;
    pthread_mutex_unlock(&lc_reg.lock);
    return rc ? rc : lc_struct_out(info, &copy, sizeof(copy), "lc_module_info_t");
}

const lc_provider_t *const *lc_provider_list(int *count)
{
    int n = lc_provider_load_all();

    if (count)
        *count = n;
    return lc_reg.prov;
}

const lc_provider_t *lc_provider_find(const char *name)
{
    const lc_provider_t *prov;
    const char *why = "";

    if (!name)
        return LC_EINVAL("provider", "lc_provider_find: NULL name"), NULL;
    lc_reg_enter();
    for (int i = 0; !lc_reg_usable(name) && i < lc_reg.nmod; i++) {
        struct lc_module *m = &lc_reg.mod[i];

        if (strcmp(m->info.name, name))
            continue;
        if (m->info.state == LC_MODULE_FOUND)
            lc_reg_load(m);
        if (m->info.state == LC_MODULE_FAILED)
            why = m->info.reason;
    }
    prov = lc_reg_usable(name);
    pthread_mutex_unlock(&lc_reg.lock);
    if (!prov && *why)
        lc_seterr(LC_ERR_NO_PROVIDER, "provider", "provider '%s': its module did not load: %s",
                  name, why);
    else if (!prov)
        lc_seterr(LC_ERR_NO_PROVIDER, "provider",
                  "provider '%s' is neither built in nor a module found (lc_info lists them)",
                  name);
    return prov;
}

int lc_list_has(const char *list, const char *name)
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

    lc_prov_env_prepare(list);
    if (!out || max < 1)
        return LC_EINVAL("provider", "lc_provider_select: bad output array");
    if (!list || !*list)
        list = lc_param_str("LC_PROVIDER");
    if (!list || !*list)
        list = "tcp";
    if (list[0] == '^') {
        const lc_provider_t *const *provs = lc_provider_list(NULL);

        for (int i = 0; provs[i] && n < max; i++)
            if (!lc_list_has(list + 1, provs[i]->name))
                out[n++] = provs[i];
    } else {
        for (const char *p = list; *p && n < max;) {
            const char *end = strchr(p, ',');
            size_t len = end ? (size_t)(end - p) : strlen(p);
            char name[32];
            const lc_provider_t *prov;

            if (len == 0 || len >= sizeof(name))
                return lc_seterr(LC_ERR_CONFIG, "provider", "LC_PROVIDER='%s' is malformed", list);
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
