/* args.c - the tools' strict command-line parser and their --help / --version. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "internal.h"

#define LCA_HELP_COL 26 /* column where the help text of an option starts */

/* The form an option accepts, for error messages. */
static void lca_form(const lca_opt_t *o, char *buf, size_t len)
{
    char lo[32], hi[32];
    size_t n;

    switch (o->kind) {
    case LCA_INT:
        if (o->max >= INT_MAX)
            snprintf(buf, len, "an integer >= %.0f", o->min);
        else
            snprintf(buf, len, "an integer %.0f..%.0f", o->min, o->max);
        break;
    case LCA_SIZE:
        lc_format_size((int64_t)o->min, lo, sizeof(lo));
        lc_format_size((int64_t)o->max, hi, sizeof(hi));
        n = o->max >= (double)LC_MAX_BUFFER
                ? (size_t)snprintf(buf, len, "a byte count >= %s", lo)
                : (size_t)snprintf(buf, len, "a byte count %s..%s", lo, hi);
        if (n < len)
            snprintf(buf + n, len - n, ": an integer, optionally with K, M or G (x1024)");
        break;
    case LCA_REAL:
        n = (size_t)snprintf(buf, len, "a number %s %g", o->min_open ? ">" : ">=", o->min);
        if (o->max < HUGE_VAL)
            snprintf(buf + n, len - n, " and <= %g", o->max);
        break;
    case LCA_U64:
        snprintf(buf, len, "an unsigned decimal integer");
        break;
    case LCA_CHOICE:
        n = (size_t)snprintf(buf, len, "one of ");
        for (int i = 0; o->choices[i] && n < len; i++)
            n += (size_t)snprintf(buf + n, len - n, "%s%s", i ? ", " : "", o->choices[i]);
        break;
    case LCA_RATE:
        snprintf(buf, len,
                 "a rate in tc syntax: a number with bit, kbit, mbit, gbit, tbit, "
                 "bps, kbps, mbps or gbps, e.g. 1gbit");
        break;
    default:
        snprintf(buf, len, "a non-empty value");
        break;
    }
}

/* "-b/--minbytes", "--link" or "-n": how errors name an option. */
static void lca_optname(const lca_opt_t *o, char *buf, size_t len)
{
    if (o->shortname && o->longname)
        snprintf(buf, len, "-%c/--%s", o->shortname, o->longname);
    else if (o->shortname)
        snprintf(buf, len, "-%c", o->shortname);
    else
        snprintf(buf, len, "--%s", o->longname);
}

static int lca_vreport(const lca_tool_t *t, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static int lca_vreport(const lca_tool_t *t, const char *fmt, va_list ap)
{
    fprintf(stderr, "%s: ", t->name);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\nTry '%s --help'.\n", t->name);
    return 2;
}

int lca_error(const lca_tool_t *tool, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = lca_vreport(tool, fmt, ap);
    va_end(ap);
    return rc;
}

/* Store the text v into o's destination; 0, or -EINVAL when v is not the form. */
static int lca_store(const lca_opt_t *o, const char *v)
{
    char *end;
    int64_t i64;
    double d;

    if (!*v)
        return -EINVAL;
    switch (o->kind) {
    case LCA_INT:
        errno = 0;
        i64 = strtoll(v, &end, 10);
        if (errno || *end || (double)i64 < o->min || (double)i64 > o->max)
            return -EINVAL;
        *(int *)o->dst = (int)i64;
        return 0;
    case LCA_SIZE:
        if (lc_parse_size(v, &i64) || (double)i64 < o->min || (double)i64 > o->max)
            return -EINVAL;
        *(size_t *)o->dst = (size_t)i64;
        return 0;
    case LCA_REAL:
        errno = 0;
        d = strtod(v, &end);
        if (errno || *end || !isfinite(d) || d < o->min || (o->min_open && d == o->min) ||
            d > o->max)
            return -EINVAL;
        *(double *)o->dst = d;
        return 0;
    case LCA_U64: {
        unsigned long long u;
        if (*v == '-' || *v == '+')
            return -EINVAL;
        errno = 0;
        u = strtoull(v, &end, 10);
        if (errno || *end)
            return -EINVAL;
        *(uint64_t *)o->dst = u;
        return 0;
    }
    case LCA_CHOICE:
        for (int i = 0; o->choices[i]; i++)
            if (!strcmp(v, o->choices[i])) {
                *(int *)o->dst = i;
                return 0;
            }
        return -EINVAL;
    case LCA_RATE:
        return lc_parse_rate(v, (double *)o->dst) ? -EINVAL : 0;
    case LCA_STR:
        *(const char **)o->dst = v;
        return 0;
    default:
        return -EINVAL;
    }
}

/* Print one option's help lines, the first beside its names. */
static void lca_print_opt(FILE *f, const char *s, const char *l, const char *metavar,
                          const char *help)
{
    char names[96];
    int n;

    n = snprintf(names, sizeof(names), "  %s%s%s%s%s%s", s ? s : "    ", s && l ? ", " : "",
                 l ? "--" : "", l ? l : "", metavar ? " " : "", metavar ? metavar : "");
    fputs(names, f);
    if (n >= LCA_HELP_COL - 1)
        fprintf(f, "\n%*s", LCA_HELP_COL, "");
    else
        fprintf(f, "%*s", LCA_HELP_COL - n, "");
    for (const char *p = help; *p;) {
        const char *nl = strchr(p, '\n');
        int len = nl ? (int)(nl - p) : (int)strlen(p);
        fprintf(f, "%.*s\n", len, p);
        if (!nl || !nl[1])
            break;
        p = nl + 1;
        fprintf(f, "%*s", LCA_HELP_COL, "");
    }
}

static void lca_help(const lca_tool_t *t)
{
    printf("usage: %s %s\n%s", t->name, t->usage, t->about);
    printf("Options:\n");
    for (const lca_opt_t *o = t->opts; o->help; o++) {
        char s[3] = {'-', o->shortname, 0};
        lca_print_opt(stdout, o->shortname ? s : NULL, o->longname,
                      o->kind == LCA_FLAG ? NULL : o->metavar, o->help);
    }
    lca_print_opt(stdout, "-h", "help", NULL, "print this help and exit");
    lca_print_opt(stdout, NULL, "version", NULL, "print the version and exit");
    if (t->more)
        printf("%s", t->more);
}

/* What --version prints. */
static void lca_print_version(const char *name)
{
    printf("%s (lioncub) %s\n", name, lc_version(NULL));
}

/* The option arg names ("-b", "--minbytes"), or NULL. */
static const lca_opt_t *lca_find(const lca_tool_t *t, const char *arg, size_t len)
{
    for (const lca_opt_t *o = t->opts; o->help; o++) {
        if (arg[1] != '-' && len == 2 && o->shortname && o->shortname == arg[1])
            return o;
        if (arg[1] == '-' && o->longname && strlen(o->longname) == len - 2 &&
            !strncmp(o->longname, arg + 2, len - 2))
            return o;
    }
    return NULL;
}

int lca_parse(const lca_tool_t *t, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = NULL, *eq;
        const lca_opt_t *o;
        char name[64], form[256];
        size_t len;

        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            lca_help(t);
            return 0;
        }
        if (!strcmp(a, "--version")) {
            lca_print_version(t->name);
            return 0;
        }
        if (a[0] != '-' || !a[1] || !strcmp(a, "--"))
            return lca_error(t, "unexpected argument '%s' (%s takes options only)", a, t->name);
        /* --name=value, --name value, -xVALUE, -x VALUE */
        eq = a[1] == '-' ? strchr(a, '=') : NULL;
        len = eq ? (size_t)(eq - a) : a[1] == '-' ? strlen(a) : 2;
        o = lca_find(t, a, len);
        if (!o)
            return lca_error(t, "unknown option '%.*s'", (int)len, a);
        lca_optname(o, name, sizeof(name));
        if (eq)
            val = eq + 1;
        else if (a[1] != '-' && a[2])
            val = a + 2;
        if (o->kind == LCA_FLAG) {
            if (val)
                return lca_error(t, "option %s takes no value (got '%s')", name, val);
            *(int *)o->dst = 1;
        } else {
            if (!val && i + 1 < argc)
                val = argv[++i];
            lca_form(o, form, sizeof(form));
            if (!val)
                return lca_error(t, "option %s needs a value, %s: %s", name, o->metavar, form);
            if (lca_store(o, val))
                return lca_error(t, "%s '%s': expected %s", name, val, form);
        }
        if (o->given)
            *o->given = 1;
    }
    return -1;
}
