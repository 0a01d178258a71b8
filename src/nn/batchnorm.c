/* batchnorm.c: fold an inference-mode BatchNorm into the preceding conv,
 * so the generator runs one conv where PyTorch runs conv + BN. */
#include "srgan/nn.h"

#include <math.h>

void sr_fold_batchnorm(sr_conv2d *conv, const float *gamma, const float *beta,
                       const float *mean, const float *var, float eps)
{
    size_t per_out = (size_t)conv->cin * conv->kh * conv->kw;
    for (int o = 0; o < conv->cout; o++) {
        /* double: the scale is applied to every weight, keep it exact */
        double s = (double)gamma[o] / sqrt((double)var[o] + eps);
        float *w = conv->weight + (size_t)o * per_out;
        for (size_t i = 0; i < per_out; i++)
            w[i] = (float)(w[i] * s);
        conv->bias[o] = (float)(((double)conv->bias[o] - mean[o]) * s + beta[o]);
    }
}
