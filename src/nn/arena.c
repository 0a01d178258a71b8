/* arena.c: bump allocator for per-tile / per-step tensors, and the aligned
 * heap allocation used for long-lived buffers. */
#include "srgan/nn.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define SR_ALIGN 64
/* Large arenas are aligned to 2 MiB and marked for transparent huge pages:
 * a fresh tile arena is first touched layer by layer, and with 4 KiB pages
 * the page faults alone took 15% of an inference (measured with perf). */
#define SR_HUGE_ALIGN ((size_t)2 << 20)
#define SR_HUGE_MIN ((size_t)8 << 20)

struct sr_arena {
    unsigned char *base;
    size_t cap;  /* bytes */
    size_t used; /* bytes, always a multiple of SR_ALIGN */
    size_t peak;
};

static size_t round_up(size_t n, size_t a)
{
    return (n + a - 1) / a * a;
}

sr_arena *sr_arena_new(size_t bytes)
{
    sr_arena *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->cap = round_up(bytes ? bytes : SR_ALIGN, SR_ALIGN);
    if (a->cap >= SR_HUGE_MIN) {
        a->cap = round_up(a->cap, SR_HUGE_ALIGN);
        a->base = aligned_alloc(SR_HUGE_ALIGN, a->cap);
#ifdef MADV_HUGEPAGE
        if (a->base)
            madvise(a->base, a->cap, MADV_HUGEPAGE); /* a hint: failure is harmless */
#endif
    } else {
        a->base = aligned_alloc(SR_ALIGN, a->cap);
    }
    if (!a->base) {
        free(a);
        return NULL;
    }
    return a;
}

float *sr_arena_alloc(sr_arena *a, size_t nfloats)
{
    if (!a || nfloats > (SIZE_MAX - SR_ALIGN) / sizeof(float))
        return NULL;
    size_t bytes = round_up(nfloats * sizeof(float), SR_ALIGN);
    if (bytes == 0)
        bytes = SR_ALIGN; /* distinct, valid pointer even for 0 floats */
    if (bytes > a->cap - a->used)
        return NULL;
    float *p = (float *)(void *)(a->base + a->used);
    a->used += bytes;
    if (a->used > a->peak)
        a->peak = a->used;
    return p;
}

void sr_arena_reset(sr_arena *a)
{
    if (a)
        a->used = 0;
}

size_t sr_arena_used(const sr_arena *a)
{
    return a ? a->used : 0;
}

size_t sr_arena_peak(const sr_arena *a)
{
    return a ? a->peak : 0;
}

void sr_arena_free(sr_arena *a)
{
    if (!a)
        return;
    free(a->base);
    free(a);
}

float *sr_alloc_floats(size_t n)
{
    if (n > (SIZE_MAX - SR_ALIGN) / sizeof(float))
        return NULL;
    size_t bytes = round_up((n ? n : 1) * sizeof(float), SR_ALIGN);
    float *p = aligned_alloc(SR_ALIGN, bytes);
    if (p)
        memset(p, 0, bytes);
    return p;
}

void sr_free_floats(float *p)
{
    free(p);
}
