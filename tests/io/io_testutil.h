/* io_testutil.h: helpers shared by the codec tests: whole files in and
 * out, whole images through the public reader and writer. */
#ifndef SRGAN_IO_TESTUTIL_H
#define SRGAN_IO_TESTUTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "srgan/image.h"
#include "testlib.h" /* CHECK, CHECK_MSG */

static inline uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    uint8_t *d = NULL;
    long n;
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    d = malloc(n > 0 ? (size_t)n : 1);
    if (d && fread(d, 1, (size_t)n, f) != (size_t)n) {
        free(d);
        d = NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return d;
}

static inline void spit(const char *path, const void *d, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f) return;
    if (n) fwrite(d, 1, n, f);
    fclose(f);
}

/* Read a whole page (rows in varying batch sizes, 1, 2, 3, ...). NULL on
 * error, with err filled. */
static inline void *read_all(const char *path, const sr_read_opts *opts, sr_image_info *info, sr_error *err)
{
    sr_reader *r = sr_reader_open(path, opts, err);
    uint8_t *buf;
    size_t rb;
    if (!r) return NULL;
    *info = *sr_reader_info(r);
    rb = sr_row_bytes(info);
    buf = malloc(rb * (size_t)info->height);
    for (int y = 0, n = 1; buf && y < info->height; y += n, n++) {
        if (n > info->height - y) n = info->height - y;
        if (sr_reader_read_rows(r, buf + rb * (size_t)y, n, err)) {
            free(buf);
            buf = NULL;
        }
    }
    sr_reader_close(r);
    return buf;
}

static inline int write_all(const char *path, const sr_image_info *info, const void *data,
                     const sr_write_opts *opts, sr_error *err)
{
    sr_write_opts o = opts ? *opts : (sr_write_opts){0};
    o.overwrite = 1;
    sr_writer *w = sr_writer_open(path, SR_FMT_AUTO, info, &o, err);
    if (!w) return -1;
    if (sr_writer_write_rows(w, data, info->height, err)) {
        sr_writer_abort(w);
        return -1;
    }
    return sr_writer_finish(w, err);
}

static inline sr_image_info mkinfo(int w, int h, int ch, sr_dtype t)
{
    sr_image_info i;
    memset(&i, 0, sizeof i);
    sr_default_meta(&i.meta);
    i.width = w;
    i.height = h;
    i.channels = ch;
    i.dtype = t;
    i.pages = 1;
    return i;
}

/* A failure must be one line that starts with the file's name. */
static inline void check_error_line(const sr_error *err, const char *path)
{
    CHECK(err->code != SR_OK);
    CHECK_MSG(strncmp(err->msg, path, strlen(path)) == 0, "message '%s' does not name %s", err->msg, path);
    CHECK_MSG(strchr(err->msg, '\n') == NULL, "message '%s' is not one line", err->msg);
}

/* Open and read every row; returns 0 when that worked, else -1 with err. */
static inline int try_read(const char *path, const sr_read_opts *opts, sr_error *err)
{
    sr_image_info info;
    void *d = read_all(path, opts, &info, err);
    free(d);
    return d ? 0 : -1;
}

#endif
