/* find.c: where shipped and installed weights live, and finding one by name.
 *
 * The search path, first match wins:
 *   1. $SRGAN_UP_WEIGHTS (a directory, or one file);
 *   2. for a program run from this project's build directory (the tests, a
 *      developer's build/src/cli/srgan-up): the source tree's weights/;
 *   3. the installed data directory (PREFIX/share/srgan-up).
 * An installed program never looks at the source tree it was built from:
 * that tree may be gone, or hold other weights than were installed.
 */
#include "srgan/model.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "srgan_config.h"

int sr_running_from_build_tree(void)
{
    char exe[PATH_MAX], root[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0 || !realpath(SRGAN_BUILD_ROOT, root))
        return 0;
    exe[n] = '\0';
    size_t rl = strlen(root);
    return !strncmp(exe, root, rl) && exe[rl] == '/';
}

int sr_model_dirs(const char **dirs, int max)
{
    int n = 0;
    const char *env = getenv("SRGAN_UP_WEIGHTS");
    if (env && *env && n < max)
        dirs[n++] = env;
    if (sr_running_from_build_tree() && n < max)
        dirs[n++] = SRGAN_SOURCE_WEIGHTS;
    if (n < max)
        dirs[n++] = SRGAN_DATADIR;
    return n;
}

int sr_model_find(const char *name, char *path, size_t cap, sr_error *err)
{
    const char *dirs[4];
    int n = sr_model_dirs(dirs, 4);
    if (!name || !*name || strchr(name, '/')) {
        sr_error_set(err, SR_ERR_ARG, "%s: not a model name (a file name without .safetensors)",
                     name ? name : "(null)");
        return -1;
    }
    for (int i = 0; i < n; i++) {
        struct stat st;
        if (stat(dirs[i], &st) == 0 && S_ISREG(st.st_mode)) {
            /* $SRGAN_UP_WEIGHTS naming one file: that file is the model of its name */
            const char *base = strrchr(dirs[i], '/');
            base = base ? base + 1 : dirs[i];
            size_t l = strlen(name);
            if (!strncmp(base, name, l) && !strcmp(base + l, ".safetensors") &&
                snprintf(path, cap, "%s", dirs[i]) < (int)cap)
                return 0;
            continue;
        }
        if (snprintf(path, cap, "%s/%s.safetensors", dirs[i], name) < (int)cap && stat(path, &st) == 0 &&
            S_ISREG(st.st_mode))
            return 0;
    }
    sr_error_set(err, SR_ERR_ARG, "%s: no such model in $SRGAN_UP_WEIGHTS%s or %s", name,
                 sr_running_from_build_tree() ? ", " SRGAN_SOURCE_WEIGHTS : "", SRGAN_DATADIR);
    return -1;
}
