/* test_writer.c: what io.c does for every format.
 *
 * - the temporary file is .NAME.srgan-up.HOST.PID.part next to the target;
 * - stale temporary files of the same target left by dead processes on this
 *   host are removed by the next writer, nothing else is (a live process's,
 *   another target's, another host's, a user's file that merely looks alike);
 * - "already exists" does not name a CLI flag (the library has none);
 * - a FIFO, a directory or a device given as input is refused at once,
 *   never blocking.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "srgan/image.h"
#include "testlib.h"
#include "io_testutil.h"

static char g_dir[1024];

static const char *in_dir(const char *name)
{
    static char buf[8][1400];
    static int k;
    char *p = buf[k++ % 8];
    snprintf(p, sizeof buf[0], "%s/%s", g_dir, name);
    return p;
}

static int exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

static void touch(const char *path)
{
    spit(path, "x", 1);
}

/* A PID that was ours a moment ago and now belongs to no process. */
static long dead_pid(void)
{
    pid_t p = fork();
    if (p == 0)
        _exit(0);
    waitpid(p, NULL, 0);
    return (long)p;
}

static const uint8_t px[4 * 3 * 3] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};

/* The host tag the writer puts in its temporary names, read back from one. */
static char g_host[256];

static void test_temp_name(void)
{
    const char *out = in_dir("name.png");
    sr_image_info info = mkinfo(4, 3, 3, SR_U8);
    sr_error err = {0};
    sr_writer *w = sr_writer_open(out, SR_FMT_AUTO, &info, NULL, &err);
    CHECK_MSG(w != NULL, "%s", err.msg);
    if (!w)
        return;
    const char *tmp = sr_writer_temp_path(w);
    char want[1400];
    snprintf(want, sizeof want, "%s/.name.png.srgan-up.", g_dir);
    CHECK_MSG(strncmp(tmp, want, strlen(want)) == 0, "temporary file %s", tmp);
    char suffix[64];
    snprintf(suffix, sizeof suffix, ".%ld.part", (long)getpid());
    size_t tl = strlen(tmp), sl = strlen(suffix), wl = strlen(want);
    CHECK_MSG(tl > wl + sl && !strcmp(tmp + tl - sl, suffix), "temporary file %s", tmp);
    if (tl > wl + sl)
        snprintf(g_host, sizeof g_host, "%.*s", (int)(tl - wl - sl), tmp + wl);
    CHECK(g_host[0] && !strchr(g_host, '.') && !strchr(g_host, '/'));
    CHECK(exists(tmp));
    char keep[1400];
    snprintf(keep, sizeof keep, "%s", tmp);
    CHECK(sr_writer_write_rows(w, px, 3, &err) == 0);
    CHECK(sr_writer_finish(w, &err) == 0);
    CHECK(!exists(keep) && exists(out));
}

/* Temporary-file name for target base `base` of host and pid text. */
static const char *temp_of(const char *base, const char *host, const char *pid)
{
    static char buf[8][1400];
    static int k;
    char *p = buf[k++ % 8];
    snprintf(p, sizeof buf[0], "%s/.%s.srgan-up.%s.%s.part", g_dir, base, host, pid);
    return p;
}

/* A fresh folder: a process lists a folder's temporaries once (the first
 * time it writes there), so stale files a test plants must come first. */
static void fresh_dir(const char *name)
{
    size_t n = strlen(g_dir);
    snprintf(g_dir + n, sizeof g_dir - n, "/%s", name);
    mkdir(g_dir, 0777);
}

static void test_stale_removed(void)
{
    CHECK_MSG(g_host[0], "no host tag in the temporary name");
    if (!g_host[0])
        return;
    char saved[sizeof g_dir];
    snprintf(saved, sizeof saved, "%s", g_dir);
    fresh_dir("stale1");
    char dead[32], dead3[32], live[32], deadx[32];
    long d = dead_pid();
    snprintf(dead, sizeof dead, "%ld", d);
    snprintf(dead3, sizeof dead3, "%ld-3", d);
    snprintf(deadx, sizeof deadx, "%ldx", d);
    snprintf(live, sizeof live, "%ld", (long)getppid()); /* meson, or the shell: alive */
    const char *gone[] = {temp_of("s.png", g_host, dead), temp_of("s.png", g_host, dead3)};
    const char *kept[] = {
        temp_of("s.png", g_host, live),            /* a live process is writing it */
        temp_of("s.png", "another-host", dead),    /* written from another machine */
        temp_of("t.png", g_host, dead),            /* another target's */
        temp_of("s.png", g_host, deadx),           /* not our pattern */
        in_dir(".s.png.part"),
        in_dir(".s.png.srgan-up.part"),
    };
    for (size_t i = 0; i < 2; i++)
        touch(gone[i]);
    for (size_t i = 0; i < sizeof kept / sizeof *kept; i++)
        touch(kept[i]);
    sr_image_info info = mkinfo(4, 3, 3, SR_U8);
    sr_error err = {0};
    CHECK_MSG(write_all(in_dir("s.png"), &info, px, NULL, &err) == 0, "%s", err.msg);
    for (size_t i = 0; i < 2; i++)
        CHECK_MSG(!exists(gone[i]), "stale %s not removed", gone[i]);
    for (size_t i = 0; i < sizeof kept / sizeof *kept; i++) {
        CHECK_MSG(exists(kept[i]), "%s removed", kept[i]);
        unlink(kept[i]);
    }
    /* A name too long to carry the suffix: its temporary names still belong
     * to it alone, stay under 255 bytes, and stale ones are found. */
    char base[250];
    memset(base, 'n', 240);
    snprintf(base + 240, 10, ".png");
    snprintf(g_dir, sizeof g_dir, "%s", saved);
    fresh_dir("stale2_names"); /* learn the temporary name here... */
    sr_writer *w = sr_writer_open(in_dir(base), SR_FMT_AUTO, &info, NULL, &err);
    CHECK_MSG(w != NULL, "%s", err.msg);
    if (!w)
        return;
    char stale[1400];
    snprintf(stale, sizeof stale, "%s", sr_writer_temp_path(w));
    const char *slash = strrchr(stale, '/');
    CHECK(strlen(slash + 1) < 255);
    sr_writer_abort(w);
    /* the same name with a dead PID: what a killed run leaves */
    char *p = strstr(stale, ".part");
    char *dot = p;
    while (dot > stale && dot[-1] != '.')
        dot--;
    snprintf(dot, sizeof stale - (size_t)(dot - stale), "%s.part", dead);
    /* ...and plant the stale one in a folder this process has not listed */
    const char *leaf = strrchr(stale, '/');
    snprintf(g_dir, sizeof g_dir, "%s", saved);
    fresh_dir("stale3");
    char planted[1400];
    snprintf(planted, sizeof planted, "%s%s", g_dir, leaf);
    touch(planted);
    CHECK(write_all(in_dir(base), &info, px, NULL, &err) == 0);
    CHECK_MSG(!exists(planted), "stale %s not removed", planted);
    snprintf(g_dir, sizeof g_dir, "%s", saved);
}

static void test_exists_message(void)
{
    const char *out = in_dir("exists.png");
    touch(out);
    sr_image_info info = mkinfo(4, 3, 3, SR_U8);
    sr_error err = {0};
    CHECK(sr_writer_open(out, SR_FMT_AUTO, &info, NULL, &err) == NULL);
    CHECK(err.code == SR_ERR_EXISTS);
    check_error_line(&err, out);
    CHECK_MSG(strstr(err.msg, "already exists") && !strstr(err.msg, "--"),
              "library message names a CLI flag: %s", err.msg);
}

static void on_alarm(int sig)
{
    (void)sig;
    static const char msg[] = "test_writer: blocked opening a FIFO\n";
    ssize_t ignored = write(2, msg, sizeof msg - 1);
    (void)ignored;
    _exit(1);
}

static void test_not_regular_refused(void)
{
    /* Before the fix, open() on a FIFO blocked until a writer appeared. */
    signal(SIGALRM, on_alarm);
    alarm(20);
    const char *fifo = in_dir("fifo.png");
    unlink(fifo);
    CHECK(mkfifo(fifo, 0666) == 0);
    sr_error err = {0};
    CHECK(sr_reader_open(fifo, NULL, &err) == NULL);
    check_error_line(&err, fifo);
    CHECK_MSG(strstr(err.msg, "FIFO") != NULL, "%s", err.msg);
    sr_error_clear(&err);
    CHECK(sr_reader_open(g_dir, NULL, &err) == NULL);
    CHECK_MSG(strstr(err.msg, "directory") != NULL, "%s", err.msg);
    sr_error_clear(&err);
    CHECK(sr_reader_open("/dev/zero", NULL, &err) == NULL);
    check_error_line(&err, "/dev/zero");
    CHECK_MSG(strstr(err.msg, "device") != NULL, "%s", err.msg);
    alarm(0);
    unlink(fifo);
}

int main(void)
{
    mkdir(TEST_TMPDIR(), 0777);
    snprintf(g_dir, sizeof g_dir, "%s/writer.%ld", TEST_TMPDIR(), (long)getpid());
    mkdir(g_dir, 0777);
    RUN(test_temp_name);
    RUN(test_stale_removed);
    RUN(test_exists_message);
    RUN(test_not_regular_refused);
    return testlib_summary();
}
