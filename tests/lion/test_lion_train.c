/*
 * test_lion_train.c - the lc_train example end to end: two ranks under lc_run
 * for every Lion mode (with a momentum sync policy), each run must exit 0,
 * print its summary and find the parameter checksums identical on all ranks.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "lioncub/lioncub.h"

static void run_train(const char *mode, const char *extra)
{
    const char *bin = getenv("LC_BIN");
    char cmd[1024], line[512], want[128], tail[16][512]; /* the last lines, shown on failure */
    int summary = 0, checksum = 0, status, nlines = 0;
    FILE *f;

    assert_non_null(bin);
    snprintf(cmd, sizeof(cmd),
             "'%s/lc_run' -n 2 --prefix --timeout 120 -- '%s/lc_train' --mode %s --steps 12 --width 32 "
             "--depth 2 --in 16 --batch 16 --print-every 0 %s 2>&1",
             bin, bin, mode, extra);
    snprintf(want, sizeof(want), "[0] summary mode=%s ranks=2 ", mode);
    f = popen(cmd, "r");
    assert_non_null(f);
    while (fgets(line, sizeof(line), f)) {
        summary |= !strncmp(line, want, strlen(want));
        checksum |= strstr(line, "(identical on all 2 ranks)") != NULL;
        snprintf(tail[nlines++ % 16], sizeof(tail[0]), "%s", line);
    }
    status = pclose(f);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !summary || !checksum) {
        for (int i = nlines > 16 ? nlines - 16 : 0; i < nlines; i++)
            print_error("  %s", tail[i % 16]);
        fail_msg("%s: status %d, summary %d, checksum %d", cmd, status, summary, checksum);
    }
}

static void test_modes(void **state)
{
    for (int m = 0; m < LC_LION_MODE_COUNT; m++)
        run_train(lc_lion_mode_name((lc_lion_mode_t)m), "--msync every:4");
}

static void test_options(void **state)
{
    run_train("vote-l1", "--msync exp:1:2 --msync-dtype bf16 --level-bits 3 --loss mse --act tanh");
    run_train("vote", "--msync until:2:6 --eval-every 5");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_modes),
        cmocka_unit_test(test_options),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
