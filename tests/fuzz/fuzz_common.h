/* fuzz_common.h: what the fuzz harnesses share.
 *
 * Each harness defines LLVMFuzzerTestOneInput(data, size), the libFuzzer
 * entry point (also what afl++'s afl-clang-fast -fsanitize=fuzzer drives).
 * The library reads files by path, so the bytes go into one in-memory file
 * (memfd), reached as /proc/self/fd/N, rewritten for every input: no disk
 * traffic, and the real open/stat/read path is exercised.
 *
 * Built without FUZZ_NO_MAIN (the default, and what `meson test` runs), this
 * file adds a main() that replays every file named on the command line, or
 * every file in a directory named there, through the same entry point:
 *     fuzz_png tests/fuzz/corpus/png crash-1234
 *
 * The oracle, besides the sanitizers: a call that fails must say so with an
 * error code and one line that starts with the file's name (the product's
 * rule for messages); anything else aborts, which the fuzzer records as a
 * crash.
 */
#ifndef SRGAN_FUZZ_COMMON_H
#define SRGAN_FUZZ_COMMON_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memfd_create */
#endif
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "srgan/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The bytes as a file; returns its path (valid until the next call). */
static const char *fuzz_file(const uint8_t *data, size_t size)
{
    static int fd = -1;
    static char path[64];
    if (fd < 0) {
        fd = memfd_create("srgan-fuzz", 0);
        if (fd < 0) {
            /* no memfd (old kernel): an unlinked temporary file */
            char tmpl[] = "/tmp/srgan-fuzz-XXXXXX";
            fd = mkstemp(tmpl);
            if (fd < 0) {
                perror("srgan-fuzz: no memfd and no temporary file");
                abort();
            }
            unlink(tmpl);
        }
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) != 0 || (size && pwrite(fd, data, size, 0) != (ssize_t)size)) {
        perror("srgan-fuzz: cannot write the in-memory file");
        abort();
    }
    return path;
}

/* SRGAN_FUZZ_VERBOSE=1: say what each input gave (to check that the seeds
 * reach what they are meant to). */
static int fuzz_verbose(void)
{
    static int v = -1;
    if (v < 0)
        v = getenv("SRGAN_FUZZ_VERBOSE") != NULL;
    return v;
}

/* A failure must carry a code and one line naming the file. */
static void fuzz_check_error(const sr_error *err, const char *path, const char *what)
{
    if (fuzz_verbose())
        fprintf(stderr, "  %s: %s\n", what, err->msg);
    if (err->code == SR_OK || strncmp(err->msg, path, strlen(path)) != 0 || strchr(err->msg, '\n')) {
        fprintf(stderr, "srgan-fuzz: %s failed with a bad message (code %d): '%s'\n", what,
                (int)err->code, err->msg);
        abort();
    }
}

#ifndef FUZZ_NO_MAIN
static int fuzz_replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        perror(path);
        return -1;
    }
    uint8_t *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap) {
            cap = cap ? cap * 2 : 65536;
            uint8_t *b = realloc(buf, cap);
            if (!b) {
                free(buf);
                fclose(f);
                fprintf(stderr, "%s: out of memory\n", path);
                return -1;
            }
            buf = b;
        }
        size_t k = fread(buf + n, 1, cap - n, f);
        if (k == 0)
            break;
        n += k;
    }
    fclose(f);
    if (fuzz_verbose())
        fprintf(stderr, "%s:\n", path);
    LLVMFuzzerTestOneInput(buf, n);
    free(buf);
    return 0;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE_OR_DIR...  (replays each input through the harness)\n", argv[0]);
        return 2;
    }
    int files = 0, bad = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            perror(argv[i]);
            bad++;
            continue;
        }
        if (!S_ISDIR(st.st_mode)) {
            bad += fuzz_replay_file(argv[i]) != 0;
            files++;
            continue;
        }
        struct dirent **ents;
        int n = scandir(argv[i], &ents, NULL, NULL);
        if (n < 0) {
            perror(argv[i]);
            bad++;
            continue;
        }
        char **names = malloc(sizeof *names * (size_t)(n + 1));
        int m = 0;
        for (int k = 0; k < n; k++) {
            if (names && ents[k]->d_name[0] != '.')
                names[m++] = strdup(ents[k]->d_name);
            free(ents[k]);
        }
        free(ents);
        if (m > 1)
            qsort(names, (size_t)m, sizeof *names, cmp_name);
        for (int k = 0; k < m; k++) {
            char p[4096];
            snprintf(p, sizeof p, "%s/%s", argv[i], names[k]);
            if (stat(p, &st) == 0 && S_ISREG(st.st_mode)) {
                bad += fuzz_replay_file(p) != 0;
                files++;
            }
            free(names[k]);
        }
        free(names);
    }
    printf("%s: %d input(s) replayed, %d unreadable\n", argv[0], files, bad);
    return bad || files == 0 ? 1 : 0;
}
#endif

#endif
