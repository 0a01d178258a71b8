/* pipes.c: standard input and output as image files (see pipes.h). */
#include "pipes.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *tmpdir(void)
{
    const char *t = getenv("TMPDIR");
    return t && *t ? t : "/tmp";
}

static int copy_fd(int from, int to)
{
    char buf[1 << 16];
    for (;;) {
        ssize_t n = read(from, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            return 0;
        for (ssize_t o = 0; o < n;) {
            ssize_t w = write(to, buf + o, (size_t)(n - o));
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                return -2;
            o += w;
        }
    }
}

int pipe_stdin(pipe_files *p, void (*on_temp)(void *, const char *, int), sr_error *err)
{
    struct stat st;
    if (isatty(STDIN_FILENO)) {
        sr_error_set(err, SR_ERR_ARG, "-: standard input is a terminal; pipe an image into it");
        return -1;
    }
    if (fstat(STDIN_FILENO, &st) == 0 && S_ISREG(st.st_mode) && lseek(STDIN_FILENO, 0, SEEK_CUR) == 0) {
        /* `< file`: the file itself, opened again through /proc */
        snprintf(p->in, sizeof p->in, "/dev/stdin");
        return 0;
    }
    snprintf(p->in, sizeof p->in, "%s/.srgan-up-stdin.%ld.XXXXXX", tmpdir(), (long)getpid());
    int fd = mkstemp(p->in);
    if (fd < 0) {
        sr_error_set(err, SR_ERR_IO, "-: cannot create a temporary file in %s: %s", tmpdir(), strerror(errno));
        p->in[0] = '\0';
        return -1;
    }
    p->in_spooled = 1;
    if (on_temp)
        on_temp(NULL, p->in, 1);
    int rc = copy_fd(STDIN_FILENO, fd);
    if (close(fd) != 0 && !rc)
        rc = -2;
    if (rc) {
        sr_error_set(err, SR_ERR_IO, "-: %s standard input: %s", rc == -1 ? "cannot read" : "cannot store",
                     strerror(errno));
        return -1;
    }
    return 0;
}

int pipe_stdout_path(pipe_files *p, const char *ext, sr_error *err)
{
    if (isatty(STDOUT_FILENO)) {
        sr_error_set(err, SR_ERR_ARG, "-: standard output is a terminal; redirect it to a file or a pipe");
        return -1;
    }
    /* A name that does not exist yet: the writer creates it atomically. */
    for (int i = 0; i < 1000; i++) {
        snprintf(p->out, sizeof p->out, "%s/.srgan-up-stdout.%ld.%d.%s", tmpdir(), (long)getpid(), i, ext);
        if (access(p->out, F_OK) != 0)
            return 0;
    }
    sr_error_set(err, SR_ERR_IO, "-: no free temporary name in %s", tmpdir());
    p->out[0] = '\0';
    return -1;
}

int pipe_copy_out(const pipe_files *p, sr_error *err)
{
    int fd = open(p->out, O_RDONLY);
    if (fd < 0) {
        sr_error_set(err, SR_ERR_IO, "-: %s", strerror(errno));
        return -1;
    }
    int rc = copy_fd(fd, STDOUT_FILENO);
    close(fd);
    if (rc) {
        sr_error_set(err, SR_ERR_IO, "-: cannot write to standard output: %s", strerror(errno));
        return -1;
    }
    return 0;
}

void pipe_cleanup(pipe_files *p)
{
    if (p->in_spooled && p->in[0])
        unlink(p->in);
    if (p->out[0])
        unlink(p->out);
}

void pipe_rename_in_msg(char *msg, size_t cap, const char *path, const char *name)
{
    size_t pl = strlen(path), nl = strlen(name);
    if (!pl)
        return;
    char *s = msg;
    while ((s = strstr(s, path))) {
        size_t tail = strlen(s + pl);
        if ((size_t)(s - msg) + nl + tail + 1 > cap)
            return;
        memmove(s + nl, s + pl, tail + 1);
        memcpy(s, name, nl);
        s += nl;
    }
}
