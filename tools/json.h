/*
 * json.h - the JSON report files of lc_coll and lc_ping (-J FILE): a small
 * streaming writer that indents, separates and closes containers itself.
 */
#ifndef LC_TOOLS_JSON_H
#define LC_TOOLS_JSON_H

#include <stdio.h>

#define LCJ_MAX_DEPTH 8

typedef struct lcj {
    FILE *f;
    int depth;
    int count[LCJ_MAX_DEPTH];  /* values written in each open container */
    char close[LCJ_MAX_DEPTH]; /* the bracket that closes it */
    int after_key;             /* a key was written; its value comes next */
} lcj_t;

/* Create (or truncate) path and open the top-level object; 0 or -errno. */
int lcj_open(lcj_t *j, const char *path);

/* Close every open container and the file; 0 or -errno (the file is then incomplete). */
int lcj_close(lcj_t *j);

/* Open '{' or '[' as the next value; lcj_end closes the innermost one. */
void lcj_begin(lcj_t *j, char bracket);
void lcj_end(lcj_t *j);

/* The key of the next value, inside an object. */
void lcj_key(lcj_t *j, const char *key);

/* Values: a string (NULL: null), a number (not finite: null), an integer, a boolean. */
void lcj_str(lcj_t *j, const char *s);
void lcj_num(lcj_t *j, double v);
void lcj_int(lcj_t *j, long long v);
void lcj_bool(lcj_t *j, int v);

/* The keys every report starts with: tool, lioncub_version, start_time, the
 * command line (args) and the LC_* variables set (env; LC_JOB_KEY hidden). */
void lcj_preamble(lcj_t *j, const char *tool, int argc, char **argv);

/* The current local time as "YYYY-MM-DD HH:MM:SS". */
void lcj_now(char *buf, size_t len);

#endif
