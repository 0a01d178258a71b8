/* fixture_io.h: read the raw fixtures of tests/fixtures/resample. */
#ifndef TEST_RESAMPLE_FIXTURE_IO_H
#define TEST_RESAMPLE_FIXTURE_IO_H

#include <stdio.h>
#include <stdlib.h>
#include "testlib.h"

/* Path of fixture `name` (static buffer per call site is enough here). */
static void fixture_path(char *buf, size_t n, const char *name)
{
    snprintf(buf, n, "%s/tests/fixtures/resample/%s", TEST_SRCDIR(), name);
}

/* Whole file of exactly `size` bytes, or NULL (with a message). */
static void *fixture_read(const char *name, size_t size)
{
    char path[1024];
    fixture_path(path, sizeof path, name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        return NULL;
    }
    unsigned char *p = malloc(size + 1);
    size_t got = fread(p, 1, size + 1, f);
    fclose(f);
    if (got != size) {
        fprintf(stderr, "%s: %zu bytes, expected %zu\n", path, got, size);
        free(p);
        return NULL;
    }
    return p;
}

static FILE *fixture_open_text(const char *name)
{
    char path[1024];
    fixture_path(path, sizeof path, name);
    FILE *f = fopen(path, "r");
    if (!f)
        fprintf(stderr, "cannot open %s\n", path);
    return f;
}

#endif
