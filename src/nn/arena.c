/* arena.c: bump allocator for per-tile / per-step tensors, and the aligned
 * heap allocation used for long-lived buffers. */
#include "srgan/nn.h"

#include <pthread.h>
#include <stdint.h>
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

/* Long-lived buffers carry a SR_ALIGN-byte header before the pointer that
 * says how they were made. Those of SR_POPULATE_MIN bytes and up (a layer's
 * Winograd weights, 590 KB for 64 -> 64 channels) are mapped with
 * MAP_POPULATE: the kernel zeroes and maps all their pages in one call
 * instead of one page fault per 4 KiB on first touch. On the 2-core VM a
 * page fault costs about 27 us and the prepared weights of MSRResNet (22 MB)
 * took 5,400 of them, half the faults of a 256^2 upscale; populating took
 * half the time of malloc + memset in a micro-benchmark (0.18 vs 0.35 s for
 * 59 MB). Those of SR_HUGE_MIN and up (the tiler's output band, 12 MB for
 * a 1024-pixel-wide x4 output) are also placed on 2 MiB boundaries and
 * marked for transparent huge pages before they are populated: one fault per
 * 2 MiB. The band alone took 47 % of a 256^2 upscale's page faults as 4 KiB
 * pages (perf record -e page-faults, Zen 4 VM). Smaller buffers stay on the
 * heap. */
#define SR_POPULATE_MIN ((size_t)256 << 10)

typedef struct {
    size_t bytes; /* the whole block, header included */
    int mapped;   /* 1: munmap, 0: free */
} alloc_header;

_Static_assert(sizeof(alloc_header) <= SR_ALIGN, "the header fits its SR_ALIGN bytes");

#if defined(MAP_POPULATE) && defined(MAP_ANONYMOUS)
/* len bytes (a multiple of SR_HUGE_ALIGN) at a 2 MiB boundary, zeroed and
 * populated with huge pages where the kernel has them; NULL on failure. */
static unsigned char *map_huge(size_t len)
{
    if (len > SIZE_MAX - SR_HUGE_ALIGN)
        return NULL;
    unsigned char *m = mmap(NULL, len + SR_HUGE_ALIGN, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return NULL;
    unsigned char *a = (unsigned char *)round_up((uintptr_t)m, SR_HUGE_ALIGN);
    size_t head = (size_t)(a - m);
    if (head)
        munmap(m, head);
    munmap(a + len, SR_HUGE_ALIGN - head);
#ifdef MADV_HUGEPAGE
    madvise(a, len, MADV_HUGEPAGE); /* hints: on failure the pages come on first touch */
#endif
#ifdef MADV_POPULATE_WRITE
    madvise(a, len, MADV_POPULATE_WRITE);
#endif
    return a;
}
#endif

float *sr_alloc_floats(size_t n)
{
    if (n > (SIZE_MAX - 4 * SR_HUGE_ALIGN) / sizeof(float))
        return NULL;
    size_t bytes = round_up((n ? n : 1) * sizeof(float), SR_ALIGN) + SR_ALIGN;
    unsigned char *base = NULL;
    int mapped = 0;
#if defined(MAP_POPULATE) && defined(MAP_ANONYMOUS)
    if (bytes >= SR_HUGE_MIN) { /* rounding up to 2 MiB costs at most a quarter */
        const size_t len = round_up(bytes, SR_HUGE_ALIGN);
        base = map_huge(len); /* zeroed by the kernel */
        if (base) {
            bytes = len;
            mapped = 1;
        }
    }
    if (!base && bytes >= SR_POPULATE_MIN) {
        void *m = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
        if (m != MAP_FAILED) {
            base = m; /* zeroed by the kernel */
            mapped = 1;
        }
    }
#endif
    if (!base) {
        base = aligned_alloc(SR_ALIGN, bytes);
        if (!base)
            return NULL;
        memset(base, 0, bytes);
    }
    alloc_header h = {.bytes = bytes, .mapped = mapped};
    memcpy(base, &h, sizeof h);
    return (float *)(void *)(base + SR_ALIGN);
}

void sr_free_floats(float *p)
{
    if (!p)
        return;
    unsigned char *base = (unsigned char *)p - SR_ALIGN;
    alloc_header h;
    memcpy(&h, base, sizeof h);
    if (h.mapped)
        munmap(base, h.bytes);
    else
        free(base);
}

/* ---- the pool of released arenas -----------------------------------------
 * Fresh memory is expensive: the kernel zeroes every page on first touch
 * (clear_page_erms), and on a virtual machine the host may have to back the
 * page too. Measured on the 2-core EPYC VM: first touch ran at about
 * 330 MB/s, so the ~600 MB of arenas of a 256x256 x4 inference cost 1.4-2 s
 * of system time out of 9 s. Stages (one per file) therefore hand their
 * arenas back here when they end, and the next stage takes them again:
 * already faulted-in memory, reused for every file of a batch.
 * Bounded: at most POOL_MAX arenas are kept; an arena too small for a request
 * is freed before a larger one is made, so what is held never exceeds what
 * the concurrent stages needed at their peak. */
#define POOL_MAX 64

static pthread_mutex_t pool_mu = PTHREAD_MUTEX_INITIALIZER;
static sr_arena *pool[POOL_MAX];
static int npool;
static size_t pool_created; /* arenas made by sr_arena_pool_take */

static sr_arena *pool_take(size_t bytes, size_t most)
{
    const size_t need = round_up(bytes ? bytes : SR_ALIGN, SR_ALIGN);
    sr_arena *victim = NULL, *got = NULL;
    pthread_mutex_lock(&pool_mu);
    int best = -1, small = -1;
    for (int i = 0; i < npool; i++) {
        if (pool[i]->cap >= need) {
            if (pool[i]->cap <= most && (best < 0 || pool[i]->cap < pool[best]->cap))
                best = i;
        } else if (small < 0 || pool[i]->cap > pool[small]->cap) {
            small = i;
        }
    }
    if (best >= 0) {
        got = pool[best];
        pool[best] = pool[--npool];
    } else {
        if (small >= 0 && most == SIZE_MAX) { /* replaced by the larger arena made below */
            victim = pool[small];
            pool[small] = pool[--npool];
        }
        pool_created++;
    }
    pthread_mutex_unlock(&pool_mu);
    sr_arena_free(victim);
    if (!got)
        got = sr_arena_new(need);
    sr_arena_reset(got);
    return got;
}

sr_arena *sr_arena_pool_take(size_t bytes)
{
    return pool_take(bytes, SIZE_MAX);
}

sr_arena *sr_arena_pool_take_fit(size_t bytes, size_t most)
{
    return pool_take(bytes, most < SIZE_MAX ? most : SIZE_MAX - 1);
}

void sr_arena_pool_give(sr_arena *a)
{
    if (!a)
        return;
    pthread_mutex_lock(&pool_mu);
    if (npool < POOL_MAX) {
        sr_arena_reset(a);
        pool[npool++] = a;
        a = NULL;
    }
    pthread_mutex_unlock(&pool_mu);
    sr_arena_free(a);
}

void sr_arena_pool_clear(void)
{
    pthread_mutex_lock(&pool_mu);
    for (int i = 0; i < npool; i++)
        sr_arena_free(pool[i]);
    npool = 0;
    pthread_mutex_unlock(&pool_mu);
}

size_t sr_arena_pool_created(void)
{
    pthread_mutex_lock(&pool_mu);
    size_t n = pool_created;
    pthread_mutex_unlock(&pool_mu);
    return n;
}

size_t sr_arena_pool_bytes(void)
{
    size_t n = 0;
    pthread_mutex_lock(&pool_mu);
    for (int i = 0; i < npool; i++)
        n += pool[i]->cap;
    pthread_mutex_unlock(&pool_mu);
    return n;
}

size_t sr_arena_cap(const sr_arena *a)
{
    return a ? a->cap : 0;
}
