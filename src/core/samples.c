/* samples.c: native sample types <-> normalised float. */
#include "srgan/pipeline.h"

#include <math.h>
#include <stdint.h>

size_t sr_dtype_size(sr_dtype t)
{
    switch (t) {
    case SR_U8:
    case SR_I8: return 1;
    case SR_U16:
    case SR_I16: return 2;
    case SR_F32:
    case SR_U32:
    case SR_I32: return 4;
    }
    return 0;
}

const char *sr_dtype_name(sr_dtype t)
{
    switch (t) {
    case SR_U8: return "uint8";
    case SR_U16: return "uint16";
    case SR_F32: return "float32";
    case SR_I8: return "int8";
    case SR_I16: return "int16";
    case SR_U32: return "uint32";
    case SR_I32: return "int32";
    }
    return "?";
}

double sr_dtype_unit(sr_dtype t)
{
    switch (t) {
    case SR_U8: return 255.0;
    case SR_U16: return 65535.0;
    case SR_F32: return 1.0;
    case SR_I8: return INT8_MAX;
    case SR_I16: return INT16_MAX;
    case SR_U32: return UINT32_MAX;
    case SR_I32: return INT32_MAX;
    }
    return 1.0;
}

int sr_dtype_is_label(sr_dtype t)
{
    return t == SR_U32 || t == SR_I32;
}

int sr_dtype_is_integer(sr_dtype t)
{
    return t != SR_F32;
}

size_t sr_row_bytes(const sr_image_info *info)
{
    return (size_t)info->width * (size_t)info->channels * sr_dtype_size(info->dtype);
}

int sr_info_has_alpha(const sr_image_info *info)
{
    int base = info->channels - info->data_channels;
    return base == 2 || base == 4;
}

int sr_info_color_channels(const sr_image_info *info)
{
    return info->channels - info->data_channels >= 3 ? 3 : 1;
}

/* Normalised float = sample / max: the type's largest value is 1.0 (for
 * signed types the smallest is a little below -1.0). */
void sr_samples_to_float(const void *in, sr_dtype t, size_t n, float *out)
{
#define TO_FLOAT(type, scale)                                                                      \
    do {                                                                                           \
        const type *p = in;                                                                        \
        for (size_t i = 0; i < n; i++)                                                             \
            out[i] = (float)((double)p[i] * (scale));                                              \
    } while (0)
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
    case SR_I8: TO_FLOAT(int8_t, 1.0 / sr_dtype_unit(t)); break;
    case SR_I16: TO_FLOAT(int16_t, 1.0 / sr_dtype_unit(t)); break;
    case SR_U32: TO_FLOAT(uint32_t, 1.0 / sr_dtype_unit(t)); break;
    case SR_I32: TO_FLOAT(int32_t, 1.0 / sr_dtype_unit(t)); break;
    }
#undef TO_FLOAT
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

/* The same for signed and 32-bit types, in double (32-bit values do not
 * fit a float): round half up, clamp to [lo, hi], NaN becomes 0. */
static inline double clamp_scale_d(float v, double lo, double hi, double max)
{
    if (v != v)
        return 0.0;
    double s = floor((double)v * max + 0.5);
    return s < lo ? lo : s > hi ? hi : s;
}

void sr_samples_from_float(const float *in, sr_dtype t, size_t n, void *out)
{
#define FROM_FLOAT(type, lo, hi, max)                                                              \
    do {                                                                                           \
        type *p = out;                                                                             \
        for (size_t i = 0; i < n; i++)                                                             \
            p[i] = (type)clamp_scale_d(in[i], (lo), (hi), (max));                                  \
    } while (0)
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
    case SR_I8: FROM_FLOAT(int8_t, INT8_MIN, INT8_MAX, sr_dtype_unit(t)); break;
    case SR_I16: FROM_FLOAT(int16_t, INT16_MIN, INT16_MAX, sr_dtype_unit(t)); break;
    case SR_U32: FROM_FLOAT(uint32_t, 0, UINT32_MAX, sr_dtype_unit(t)); break;
    case SR_I32: FROM_FLOAT(int32_t, INT32_MIN, INT32_MAX, sr_dtype_unit(t)); break;
    }
#undef FROM_FLOAT
}
