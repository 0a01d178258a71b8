/* test_parity.c: the generator against PyTorch on committed fixtures
 * (tools/make_parity_fixtures.py): MSRResNet x2/x3(gray)/x4 and SRResNet
 * x2/x4 with batch norm folded at load; (tools/make_arch_fixtures.py, the
 * networks of tools/ref_archs.py) SRVGGNetCompact x4 (PReLU) and x2
 * (LeakyReLU), RRDBNet x4 and x2 (pixel unshuffle), EDSR x2 (res_scale
 * 0.1) and x3 (another mean and range). Max |C - PyTorch| <= 1e-4, as
 * loaded and again prepared as the CLI runs it (sr_generator_prepare:
 * Winograd for the 3x3 convs with >= 8 outputs on AVX2 CPUs). Run again by
 * meson with SRGAN_CONV=winograd (every 3x3 conv Winograd). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "srgan/model.h"
#include "srgan/weights.h"
#include "testlib.h"

static float *read_tensor(sr_safetensors *st, const char *name, int64_t shape[8])
{
    if (sr_safetensors_shape(st, name, shape) != 4)
        return NULL;
    float *p = malloc((size_t)(shape[0] * shape[1] * shape[2] * shape[3]) * sizeof(float));
    sr_error err = {0};
    if (sr_safetensors_read(st, name, 4, shape, p, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        free(p);
        return NULL;
    }
    return p;
}

static double run_case(const char *name, sr_arch arch, int scale)
{
    char wpath[1024], iopath[1024];
    snprintf(wpath, sizeof wpath, "%s/tests/fixtures/model/%s.safetensors", TEST_SRCDIR(), name);
    snprintf(iopath, sizeof iopath, "%s/tests/fixtures/model/%s_io.safetensors", TEST_SRCDIR(),
             name);
    sr_error err = {0};
    sr_generator *g = sr_generator_load(wpath, &err);
    CHECK_MSG(g != NULL, "%s", err.msg);
    if (!g)
        return INFINITY;
    const sr_generator_config *c = sr_generator_get_config(g);
    CHECK(c->arch == arch && c->scale == scale);
    CHECK(sr_generator_meta(g, "training_data") != NULL);
    sr_safetensors *io = sr_safetensors_open(iopath, &err);
    CHECK_MSG(io != NULL, "%s", err.msg);
    if (!io) {
        sr_generator_free(g);
        return INFINITY;
    }
    int64_t xs[8], ys[8];
    float *x = read_tensor(io, "input", xs), *yref = read_tensor(io, "output", ys);
    CHECK(x && yref);
    double maxd = INFINITY;
    double dprep = INFINITY;
    for (int prep = 0; prep < 2 && x && yref; prep++) {
        if (prep)
            CHECK(sr_generator_prepare(g, &err) == 0);
        sr_tensor tx = {1, (int)xs[1], (int)xs[2], (int)xs[3], x};
        sr_tensor ty = sr_tensor_alloc(1, (int)ys[1], (int)ys[2], (int)ys[3]);
        CHECK(sr_generator_forward(g, &tx, &ty, &err) == 0);
        double m = 0;
        for (size_t i = 0; i < sr_tensor_numel(&ty); i++) {
            double d = fabs((double)ty.data[i] - yref[i]);
            if (!(d <= m))
                m = d;
        }
        sr_tensor_free(&ty);
        *(prep ? &dprep : &maxd) = m;
    }
    printf("parity %-18s max |C - PyTorch| = %.3g, prepared %.3g\n", name, maxd, dprep);
    CHECK_MSG(maxd <= 1e-4, "%s: %g", name, maxd);
    CHECK_MSG(dprep <= 1e-4, "%s prepared: %g", name, dprep);
    if (dprep > maxd)
        maxd = dprep;
    free(x);
    free(yref);
    sr_safetensors_close(io);
    sr_generator_free(g);
    return maxd;
}

static void test_msrresnet_x2(void) { run_case("msrresnet_x2", SR_ARCH_MSRRESNET, 2); }
static void test_msrresnet_x4(void) { run_case("msrresnet_x4", SR_ARCH_MSRRESNET, 4); }
static void test_msrresnet_x3_gray(void) { run_case("msrresnet_x3_gray", SR_ARCH_MSRRESNET, 3); }
static void test_srresnet_x2(void) { run_case("srresnet_x2", SR_ARCH_SRRESNET, 2); }
static void test_srresnet_x4(void) { run_case("srresnet_x4", SR_ARCH_SRRESNET, 4); }
static void test_srvgg_x4(void) { run_case("srvgg_x4", SR_ARCH_SRVGG, 4); }
static void test_srvgg_x2_lrelu(void) { run_case("srvgg_x2_lrelu", SR_ARCH_SRVGG, 2); }
static void test_rrdbnet_x4(void) { run_case("rrdbnet_x4", SR_ARCH_RRDBNET, 4); }
static void test_rrdbnet_x2(void) { run_case("rrdbnet_x2", SR_ARCH_RRDBNET, 2); }
static void test_edsr_x2(void) { run_case("edsr_x2", SR_ARCH_EDSR, 2); }
static void test_edsr_x3(void) { run_case("edsr_x3", SR_ARCH_EDSR, 3); }

/* The fixture's network part must matter: zeroing conv_last must move the
 * output far beyond the tolerance (otherwise the test could not fail). */
static void test_sensitivity(void)
{
    char wpath[1024];
    snprintf(wpath, sizeof wpath, "%s/tests/fixtures/model/msrresnet_x4.safetensors",
             TEST_SRCDIR());
    sr_error err = {0};
    sr_generator *g = sr_generator_load(wpath, &err);
    if (!g)
        return;
    sr_tensor x = sr_tensor_alloc(1, 3, 6, 5), y1 = sr_tensor_alloc(1, 3, 24, 20),
              y2 = sr_tensor_alloc(1, 3, 24, 20);
    for (size_t i = 0; i < sr_tensor_numel(&x); i++)
        x.data[i] = (float)((i * 37) % 17) / 16.0f;
    CHECK(sr_generator_forward(g, &x, &y1, &err) == 0);
    sr_param *p = sr_generator_param_by_name(g, "conv_last.weight");
    CHECK(p != NULL);
    if (p)
        memset(p->data, 0, p->numel * sizeof(float));
    CHECK(sr_generator_forward(g, &x, &y2, &err) == 0);
    double maxd = 0;
    for (size_t i = 0; i < sr_tensor_numel(&y1); i++)
        maxd = fmax(maxd, fabs(y1.data[i] - y2.data[i]));
    CHECK(maxd > 1e-2);
    sr_tensor_free(&x);
    sr_tensor_free(&y1);
    sr_tensor_free(&y2);
    sr_generator_free(g);
}

int main(void)
{
    RUN(test_msrresnet_x2);
    RUN(test_msrresnet_x4);
    RUN(test_msrresnet_x3_gray);
    RUN(test_srresnet_x2);
    RUN(test_srresnet_x4);
    RUN(test_srvgg_x4);
    RUN(test_srvgg_x2_lrelu);
    RUN(test_rrdbnet_x4);
    RUN(test_rrdbnet_x2);
    RUN(test_edsr_x2);
    RUN(test_edsr_x3);
    RUN(test_sensitivity);
    return testlib_summary();
}
