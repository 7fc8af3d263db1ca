/* json.c - the tools' streaming JSON writer (see json.h). */
#include <errno.h>
#include <math.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "json.h"

extern char **environ;

int lcj_open(lcj_t *j, const char *path)
{
    memset(j, 0, sizeof(*j));
    j->f = fopen(path, "w");
    if (!j->f)
        return -errno;
    j->depth = -1;
    lcj_begin(j, '{');
    return 0;
}

/* Separator, newline and indent before a value or a key. */
static void lcj_sep(lcj_t *j)
{
    if (j->after_key) {
        j->after_key = 0;
        return;
    }
    if (j->depth < 0)
        return;
    fprintf(j->f, "%s\n%*s", j->count[j->depth]++ ? "," : "", 2 * (j->depth + 1), "");
}

void lcj_begin(lcj_t *j, char bracket)
{
    if (!j->f || j->depth + 1 >= LCJ_MAX_DEPTH)
        return;
    lcj_sep(j);
    fputc(bracket, j->f);
    j->count[++j->depth] = 0;
    j->close[j->depth] = bracket == '[' ? ']' : '}';
}

void lcj_end(lcj_t *j)
{
    if (!j->f || j->depth < 0)
        return;
    if (j->count[j->depth])
        fprintf(j->f, "\n%*s", 2 * j->depth, "");
    fputc(j->close[j->depth], j->f);
    j->depth--;
    if (j->depth < 0)
        fputc('\n', j->f);
}

void lcj_key(lcj_t *j, const char *key)
{
    if (!j->f)
        return;
    lcj_str(j, key);
    fputs(": ", j->f);
    j->after_key = 1;
}

void lcj_str(lcj_t *j, const char *s)
{
    if (!j->f)
        return;
    lcj_sep(j);
    if (!s) {
        fputs("null", j->f);
        return;
    }
    fputc('"', j->f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(j->f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(j->f, "\\u%04x", *p);
        else
            fputc(*p, j->f);
    }
    fputc('"', j->f);
}

void lcj_num(lcj_t *j, double v)
{
    if (!j->f)
        return;
    lcj_sep(j);
    if (isfinite(v))
        fprintf(j->f, "%.10g", v);
    else
        fputs("null", j->f);
}

void lcj_int(lcj_t *j, long long v)
{
    if (!j->f)
        return;
    lcj_sep(j);
    fprintf(j->f, "%lld", v);
}

void lcj_bool(lcj_t *j, int v)
{
    if (!j->f)
        return;
    lcj_sep(j);
    fputs(v ? "true" : "false", j->f);
}

int lcj_close(lcj_t *j)
{
    int rc = 0;

    if (!j->f)
        return 0;
    while (j->depth >= 0)
        lcj_end(j);
    if (ferror(j->f))
        rc = -EIO;
    if (fclose(j->f))
        rc = -errno;
    j->f = NULL;
    return rc;
}

void lcj_now(char *buf, size_t len)
{
    time_t now = time(NULL);
    struct tm tm;

    strftime(buf, len, "%Y-%m-%d %H:%M:%S", localtime_r(&now, &tm));
}

void lcj_preamble(lcj_t *j, const char *tool, int argc, char **argv)
{
    char now[32];

    lcj_now(now, sizeof(now));
    lcj_key(j, "tool");
    lcj_str(j, tool);
    lcj_key(j, "lioncub_version");
    lcj_str(j, lc_version(NULL));
    lcj_key(j, "start_time");
    lcj_str(j, now);
    lcj_key(j, "args");
    lcj_begin(j, '[');
    for (int i = 0; i < argc; i++)
        lcj_str(j, argv[i]);
    lcj_end(j);
    lcj_key(j, "env");
    lcj_begin(j, '{');
    for (char **e = environ; *e; e++) {
        const char *eq = strchr(*e, '=');
        char name[128];

        if (strncmp(*e, "LC_", 3) || !eq || (size_t)(eq - *e) >= sizeof(name))
            continue;
        memcpy(name, *e, (size_t)(eq - *e));
        name[eq - *e] = 0;
        lcj_key(j, name);
        lcj_str(j, strcmp(name, "LC_JOB_KEY") ? eq + 1 : "(set, not shown)");
    }
    lcj_end(j);
}
