/* test_train_optim.c: Adam against torch.optim.Adam values (computed once
 * with PyTorch 1.13, written here as literals) and the hand formula;
 * learning-rate schedules; gradient clipping; EMA; the RNG's streams. */
#include <math.h>
#include "srgan/train.h"
#include "testlib.h"

static void test_adam_matches_torch(void)
{
    float data[3] = {1.0f, -2.0f, 0.5f}, grad[3];
    sr_param p = {.name = "p", .ndim = 1, .shape = {3}, .numel = 3, .data = data, .grad = grad};
    sr_param *ps[1] = {&p};
    sr_adam *a = sr_adam_new(ps, 1, 0.9, 0.99, 1e-8, NULL);
    CHECK(a != NULL);
    const float g[3][3] = {{0.5f, 0.1f, -3.0f}, {-0.25f, 0.1f, 2.0f}, {0.0f, 0.3f, 1.0f}};
    /* torch.optim.Adam(lr=0.1, betas=(0.9, 0.99), eps=1e-8) */
    const double want[3][3] = {{0.8999999761581421, -2.0999999046325684, 0.6000000238418579},
                               {0.8733300566673279, -2.1999998092651367, 0.6144647002220154},
                               {0.8526672124862671, -2.290433883666992, 0.6081262826919556}};
    for (int t = 0; t < 3; t++) {
        for (int k = 0; k < 3; k++) grad[k] = g[t][k];
        sr_adam_step(a, ps, 0.1);
        for (int k = 0; k < 3; k++) CHECK_NEAR(data[k], want[t][k], 1e-6);
    }
    CHECK(a->step == 3);
    sr_adam_free(a);
}

static void test_adam_hand_formula(void)
{
    /* step 1 with g = 0.5: m = 0.05, v = 0.0025, m_hat = 0.5, v_hat = 0.25:
     * p -= lr * 0.5 / (0.5 + eps) */
    float data[1] = {1.0f}, grad[1] = {0.5f};
    sr_param p = {.name = "p", .ndim = 1, .shape = {1}, .numel = 1, .data = data, .grad = grad};
    sr_param *ps[1] = {&p};
    sr_adam *a = sr_adam_new(ps, 1, 0.9, 0.99, 1e-8, NULL);
    sr_adam_step(a, ps, 0.01);
    CHECK_NEAR(data[0], 1.0 - 0.01 * 0.5 / (0.5 + 1e-8), 1e-7);
    CHECK_NEAR(a->m[0][0], 0.05, 1e-7);
    CHECK_NEAR(a->v[0][0], 0.0025, 1e-8);
    sr_adam_free(a);
}

static void test_schedules(void)
{
    sr_lr_schedule s;
    sr_error err = {0};
    CHECK(sr_lr_parse("constant", 2e-4, &s, &err) == 0);
    CHECK_NEAR(sr_lr_at(&s, 123456), 2e-4, 1e-15);
    CHECK(sr_lr_parse("multistep:100,200@0.5", 1e-4, &s, &err) == 0);
    CHECK_NEAR(sr_lr_at(&s, 99), 1e-4, 1e-15);
    CHECK_NEAR(sr_lr_at(&s, 100), 5e-5, 1e-15);
    CHECK_NEAR(sr_lr_at(&s, 250), 2.5e-5, 1e-15);
    CHECK(sr_lr_parse("cosine:100,50@1e-7", 1e-3, &s, &err) == 0);
    CHECK_NEAR(sr_lr_at(&s, 0), 1e-3, 1e-15);
    CHECK_NEAR(sr_lr_at(&s, 50), 1e-7 + 0.5 * (1e-3 - 1e-7), 1e-12); /* half way: cos = 0 */
    CHECK_NEAR(sr_lr_at(&s, 100), 1e-3, 1e-15);                     /* restart */
    CHECK_NEAR(sr_lr_at(&s, 125), 1e-7 + 0.5 * (1e-3 - 1e-7), 1e-12);
    CHECK_NEAR(sr_lr_at(&s, 150), 1e-3, 1e-15); /* last period repeats */
    CHECK(sr_lr_parse("cosine:", 1e-3, &s, &err) == -1);
    CHECK(err.code == SR_ERR_ARG && strstr(err.msg, "cosine"));
    sr_error_clear(&err);
    CHECK(sr_lr_parse("multistep:200,100", 1e-3, &s, &err) == -1);
    sr_error_clear(&err);
    CHECK(sr_lr_parse("warmup", 1e-3, &s, &err) == -1);
}

static void test_clip_and_ema(void)
{
    float d1[2] = {0}, g1[2] = {3, 0}, d2[1] = {0}, g2[1] = {4};
    sr_param a = {.numel = 2, .data = d1, .grad = g1}, b = {.numel = 1, .data = d2, .grad = g2};
    sr_param *ps[2] = {&a, &b};
    double n = sr_clip_grad_norm(ps, 2, 1.0);
    CHECK_NEAR(n, 5.0, 1e-12);
    CHECK_NEAR(g1[0], 3.0 / (5.0 + 1e-6), 1e-6);
    CHECK_NEAR(g2[0], 4.0 / (5.0 + 1e-6), 1e-6);
    n = sr_clip_grad_norm(ps, 2, 10.0); /* under the limit: unchanged */
    CHECK_NEAR(n, 1.0, 1e-5);
    CHECK_NEAR(g2[0], 0.8, 1e-5);
    float ema[2] = {1, 2}, w[2] = {3, -2};
    sr_ema_update(ema, w, 2, 0.999);
    CHECK_NEAR(ema[0], 0.999 * 1 + 0.001 * 3, 1e-6);
    CHECK_NEAR(ema[1], 0.999 * 2 - 0.001 * 2, 1e-6);
}

static void test_rng_streams(void)
{
    sr_rng a, b, c;
    sr_rng_seed(&a, 42, 7);
    sr_rng_seed(&b, 42, 7);
    sr_rng_seed(&c, 42, 8);
    int same = 1, diff = 0;
    double mean = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t x = sr_rng_next(&a), y = sr_rng_next(&b), z = sr_rng_next(&c);
        same &= x == y;
        diff += x != z;
        mean += sr_rng_uniform(&a);
        sr_rng_uniform(&b);
    }
    CHECK(same);
    CHECK(diff == 1000);
    CHECK_NEAR(mean / 1000, 0.5, 0.05);
}

static void test_ema_warmup(void)
{
    CHECK_NEAR(sr_ema_decay_at(0.999, 0), 0.1, 1e-12);
    CHECK_NEAR(sr_ema_decay_at(0.999, 90), 91.0 / 100.0, 1e-12);
    CHECK_NEAR(sr_ema_decay_at(0.999, 100000), 0.999, 1e-12);
    /* After 1000 steps the initial weights' share is tiny, unlike 0.999^1000 = 0.37. */
    double keep = 1.0;
    for (long t = 0; t < 1000; t++)
        keep *= sr_ema_decay_at(0.999, t);
    CHECK(keep < 0.01);
}

int main(void)
{
    RUN(test_adam_matches_torch);
    RUN(test_adam_hand_formula);
    RUN(test_schedules);
    RUN(test_clip_and_ema);
    RUN(test_rng_streams);
    RUN(test_ema_warmup);
    return testlib_summary();
}
