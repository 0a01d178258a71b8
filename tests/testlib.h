/* testlib.h: the tiny test harness every test program uses.
 *
 *     static void test_roundtrip(void) { CHECK(x == 1); CHECK_NEAR(a, b, 1e-5); }
 *     int main(void) { RUN(test_roundtrip); return testlib_summary(); }
 *
 * Each failed CHECK prints file:line and the expression; the summary line is
 * "N passed, N failed" and the exit status is non-zero on any failure.
 * testlib_skip() exits 77, which meson reports as SKIP (used only when data
 * that lives outside the repository, ../shared, is absent).
 */
#ifndef SRGAN_TESTLIB_H
#define SRGAN_TESTLIB_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__GNUC__)
#define TESTLIB_UNUSED __attribute__((unused))
#else
#define TESTLIB_UNUSED
#endif
static int testlib_checks_failed_in_test TESTLIB_UNUSED;
static int testlib_passed TESTLIB_UNUSED, testlib_failed TESTLIB_UNUSED;

#define CHECK(cond)                                                                    \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);   \
            testlib_checks_failed_in_test++;                                           \
        }                                                                              \
    } while (0)

#define CHECK_MSG(cond, ...)                                                           \
    do {                                                                               \
        if (!(cond)) {                                                                 \
            fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond);   \
            fprintf(stderr, __VA_ARGS__);                                              \
            fputc('\n', stderr);                                                       \
            testlib_checks_failed_in_test++;                                           \
        }                                                                              \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                                          \
    do {                                                                               \
        double testlib_a_ = (double)(a), testlib_b_ = (double)(b);                     \
        if (!(fabs(testlib_a_ - testlib_b_) <= (double)(tol))) {                       \
            fprintf(stderr, "%s:%d: CHECK_NEAR failed: %s = %.9g, %s = %.9g, tol %g\n",\
                    __FILE__, __LINE__, #a, testlib_a_, #b, testlib_b_, (double)(tol));\
            testlib_checks_failed_in_test++;                                           \
        }                                                                              \
    } while (0)

#define RUN(fn)                                                                        \
    do {                                                                               \
        testlib_checks_failed_in_test = 0;                                             \
        fn();                                                                          \
        if (testlib_checks_failed_in_test) {                                           \
            testlib_failed++;                                                          \
            fprintf(stderr, "FAIL %s\n", #fn);                                         \
        } else {                                                                       \
            testlib_passed++;                                                          \
            fprintf(stderr, "ok   %s\n", #fn);                                         \
        }                                                                              \
    } while (0)

static inline int testlib_summary(void)
{
    printf("%d passed, %d failed\n", testlib_passed, testlib_failed);
    return testlib_failed ? 1 : 0;
}

static inline void testlib_skip(const char *why)
{
    printf("SKIP: %s\n", why);
    exit(77);
}

/* Environment set by tests/meson.build. */
static inline const char *testlib_env(const char *name)
{
    const char *v = getenv(name);
    if (!v) {
        fprintf(stderr, "environment variable %s not set (run through meson test)\n", name);
        exit(2);
    }
    return v;
}
#define TEST_SRCDIR() testlib_env("SRGAN_SRCDIR")   /* repository root           */
#define TEST_SHARED() testlib_env("SRGAN_SHARED")   /* ../shared beside the repo */
#define TEST_TMPDIR() testlib_env("SRGAN_TMPDIR")   /* scratch dir in build tree */
#define TEST_SRGAN_UP() testlib_env("SRGAN_UP")     /* the srgan-up binary       */

#endif
