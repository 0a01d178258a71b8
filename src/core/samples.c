/* samples.c: native sample types <-> normalised float. */
#include "srgan/pipeline.h"

#include <math.h>
#include <stdint.h>

size_t sr_dtype_size(sr_dtype t)
{
    switch (t) {
    case SR_U8: return 1;
    case SR_U16: return 2;
    case SR_F32: return 4;
    }
    return 0;
}

size_t sr_row_bytes(const sr_image_info *info)
{
    return (size_t)info->width * (size_t)info->channels * sr_dtype_size(info->dtype);
}

int sr_info_has_alpha(const sr_image_info *info)
{
    return info->channels == 2 || info->channels == 4;
}

void sr_samples_to_float(const void *in, sr_dtype t, size_t n, float *out)
{
    switch (t) {
    case SR_U8: {
        const uint8_t *p = in;
        for (size_t i = 0; i < n; i++)
            out[i] = p[i] * (1.0f / 255.0f);
        break;
    }
    case SR_U16: {
        const uint16_t *p = in;
        for (size_t i = 0; i < n; i++)
            out[i] = p[i] * (1.0f / 65535.0f);
        break;
    }
    case SR_F32: {
        const float *p = in;
        for (size_t i = 0; i < n; i++)
            out[i] = p[i];
        break;
    }
    }
}

/* Clamp to [0, max] and round half up; NaN becomes 0. The comparisons are
 * written so that NaN fails the first test. */
static inline float clamp_scale(float v, float max)
{
    float s = v * max + 0.5f;
    if (!(s > 0.0f))
        return 0.0f;
    if (s > max)
        return max;
    return s;
}

void sr_samples_from_float(const float *in, sr_dtype t, size_t n, void *out)
{
    switch (t) {
    case SR_U8: {
        uint8_t *p = out;
        for (size_t i = 0; i < n; i++)
            p[i] = (uint8_t)clamp_scale(in[i], 255.0f);
        break;
    }
    case SR_U16: {
        uint16_t *p = out;
        for (size_t i = 0; i < n; i++)
            p[i] = (uint16_t)clamp_scale(in[i], 65535.0f);
        break;
    }
    case SR_F32: {
        float *p = out;
        for (size_t i = 0; i < n; i++)
            p[i] = in[i];
        break;
    }
    }
}
