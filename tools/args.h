/*
 * args.h - the command-line parser the lioncub tools share. A tool lists its
 * options once (names, kind of value, bounds, help) and gets strict parsing:
 * a malformed or out-of-range value, an unknown option or a stray argument is
 * an error naming the option and the form it accepts (exit status 2); --help
 * and --version are built in. The --help text is also the source of the
 * tool's man page (tools/man/mangen.c), so it follows one layout.
 */
#ifndef LC_TOOLS_ARGS_H
#define LC_TOOLS_ARGS_H

/* The kind of value an option takes, and the type of its destination. */
typedef enum lca_kind {
    LCA_FLAG,   /* no value; int, set to 1 */
    LCA_INT,    /* decimal integer in [min, max]; int */
    LCA_SIZE,   /* byte count, K/M/G suffixes (x1024), in [min, max]; size_t */
    LCA_REAL,   /* number in [min, max], min excluded with min_open; double */
    LCA_U64,    /* decimal unsigned 64-bit integer; uint64_t */
    LCA_CHOICE, /* one word of choices; int, its index */
    LCA_RATE,   /* link rate in tc syntax (1gbit, 100mbit, 125mbps); double, bit/s */
    LCA_STR,    /* non-empty text; const char * */
} lca_kind_t;

/* One option. A table of them ends with an entry whose help is NULL. */
typedef struct lca_opt {
    char shortname;       /* 0: long form only */
    const char *longname; /* NULL: short form only */
    lca_kind_t kind;
    void *dst;                  /* where the value goes (see lca_kind_t) */
    const char *metavar;        /* the value's name in the help, e.g. "SIZE" */
    const char *help;           /* '\n' starts another line of help */
    double min, max;            /* bounds of LCA_INT, LCA_SIZE, LCA_REAL */
    int min_open;               /* LCA_REAL: the value must exceed min */
    const char *const *choices; /* LCA_CHOICE: NULL-terminated words */
    int *given;                 /* if not NULL: set to 1 when the option appears */
} lca_opt_t;

/* A tool: what --help prints, around the option table. */
typedef struct lca_tool {
    const char *name;  /* "lc_coll" */
    const char *usage; /* what follows the name on the usage line */
    const char *about; /* what the tool does (lines end with '\n') */
    const lca_opt_t *opts;
    const char *more; /* text printed after the options, or NULL */
} lca_tool_t;

/*
 * Parse argv[1..argc-1] into the options' destinations (those not given keep
 * their values). Returns -1 when the tool should run; otherwise the status to
 * exit with: 0 after printing --help or --version, 2 after reporting an error
 * on stderr.
 */
int lca_parse(const lca_tool_t *tool, int argc, char **argv);

/* Report a usage error found after parsing (e.g. two options that conflict)
 * as lca_parse does; returns 2, the status to exit with. */
int lca_error(const lca_tool_t *tool, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
