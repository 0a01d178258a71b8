/* test_find.c: sr_model_find(), the library's lookup of weights by name.
 * The test binary lives in the build directory, so the source tree's
 * weights/ is on its search path; $SRGAN_UP_WEIGHTS comes first. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "srgan/model.h"
#include "testlib.h"

static void test_find(void)
{
    char path[4096], want[4096];
    sr_error err = {0};
    unsetenv("SRGAN_UP_WEIGHTS");
    CHECK(sr_running_from_build_tree());
    CHECK_MSG(sr_model_find("x4-psnr", path, sizeof path, &err) == 0, "%s", err.msg);
    snprintf(want, sizeof want, "%s/weights/x4-psnr.safetensors", TEST_SRCDIR());
    char a[4096], b[4096];
    CHECK(realpath(path, a) && realpath(want, b) && !strcmp(a, b));
    sr_generator *g = sr_generator_load(path, &err);
    CHECK(g != NULL);
    sr_generator_free(g);
    sr_error_clear(&err);
    CHECK(sr_model_find("no-such-model", path, sizeof path, &err) != 0);
    CHECK(strstr(err.msg, "no-such-model") && strchr(err.msg, '\n') == NULL);
    CHECK(sr_model_find("../weights/x4-psnr", path, sizeof path, &err) != 0);
    /* $SRGAN_UP_WEIGHTS first: a directory with another x4-psnr wins. */
    char dir[1024], copy[1200];
    snprintf(dir, sizeof dir, "%s/find_weights", TEST_TMPDIR());
    mkdir(TEST_TMPDIR(), 0777);
    mkdir(dir, 0777);
    snprintf(copy, sizeof copy, "%s/x4-psnr.safetensors", dir);
    FILE *f = fopen(copy, "w");
    if (f) fclose(f);
    setenv("SRGAN_UP_WEIGHTS", dir, 1);
    CHECK(sr_model_find("x4-psnr", path, sizeof path, &err) == 0 && !strcmp(path, copy));
    const char *dirs[4];
    int n = sr_model_dirs(dirs, 4);
    CHECK(n == 3 && !strcmp(dirs[0], dir));
    unsetenv("SRGAN_UP_WEIGHTS");
    CHECK(sr_model_dirs(dirs, 4) == 2);
}

int main(void)
{
    RUN(test_find);
    return testlib_summary();
}
