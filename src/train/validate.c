/* validate.c: validation on HR images (LR made by MATLAB bicubic of the whole
 * modcropped image, read from a paired directory, or made once by a
 * degradation pipeline with a fixed seed), PSNR/SSIM on Y with border = scale through resample.h,
 * exactly the protocol of ../shared/peers/sr_eval.py, plus sample PNGs. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "srgan/degrade.h"
#include "srgan/image.h"
#include "srgan/resample.h"
#include "srgan/train.h"

typedef struct val_image {
    char name[256];
    float *hr, *lr; /* planar [C,h,w], [C,h/s,w/s] */
    int w, h;       /* modcropped HR size */
} val_image;

struct sr_valset {
    val_image *img;
    int n, scale, channels;
};

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* planar [C,h,w] <-> interleaved [h,w,C] */
static void to_interleaved(const float *p, int c, int w, int h, float *o)
{
    for (int k = 0; k < c; k++)
        for (size_t i = 0; i < (size_t)w * h; i++) o[i * c + k] = p[(size_t)k * w * h + i];
}
static void to_planar(const float *o, int c, int w, int h, float *p)
{
    for (int k = 0; k < c; k++)
        for (size_t i = 0; i < (size_t)w * h; i++) p[(size_t)k * w * h + i] = o[i * c + k];
}

/* The file in dir whose name has the stem of `name` (NULL: none). */
static char *find_stem(const char *dir, const char *name)
{
    size_t sl = strrchr(name, '.') ? (size_t)(strrchr(name, '.') - name) : strlen(name);
    DIR *d = opendir(dir);
    if (!d) return NULL;
    char *found = NULL;
    struct dirent *e;
    while (!found && (e = readdir(d)))
        if (e->d_name[0] != '.' && sr_is_image_name(e->d_name) && !strncmp(e->d_name, name, sl) &&
            e->d_name[sl] == '.' && strchr(e->d_name + sl + 1, '.') == NULL) {
            size_t n = strlen(dir) + strlen(e->d_name) + 2;
            if ((found = malloc(n))) snprintf(found, n, "%s/%s", dir, e->d_name);
        }
    closedir(d);
    return found;
}

/* A fixed seed for degraded validation sets: the same inputs in every run,
 * whatever --seed the training uses. */
#define VAL_SEED 0x7a11da7eULL

sr_valset *sr_valset_open(const char *dir, int scale, int channels, sr_error *err)
{
    return sr_valset_open_ex(dir, NULL, NULL, scale, channels, err);
}

sr_valset *sr_valset_open_ex(const char *dir, const char *lr_dir, const sr_degrade_params *deg,
                             int scale, int channels, sr_error *err)
{
    DIR *d = opendir(dir);
    if (!d) {
        sr_error_set(err, SR_ERR_IO, "%s: cannot open validation directory", dir);
        return NULL;
    }
    if (lr_dir) {
        DIR *ld = opendir(lr_dir);
        if (!ld) {
            closedir(d);
            sr_error_set(err, SR_ERR_IO, "%s: cannot open validation LR directory", lr_dir);
            return NULL;
        }
        closedir(ld);
    }
    char **names = NULL;
    int nn = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.' && sr_is_image_name(e->d_name)) {
            char **t = realloc(names, (size_t)(nn + 1) * sizeof *t);
            if (!t) break;
            names = t;
            names[nn++] = strdup(e->d_name);
        }
    closedir(d);
    sr_valset *v = calloc(1, sizeof *v);
    if (!v || nn == 0) {
        if (v && nn == 0) sr_error_set(err, SR_ERR_ARG, "%s: no validation images", dir);
        else sr_error_set(err, SR_ERR_NOMEM, "validation: out of memory");
        goto fail;
    }
    qsort(names, (size_t)nn, sizeof *names, cmp_str);
    v->img = calloc((size_t)nn, sizeof *v->img);
    v->scale = scale, v->channels = channels;
    if (!v->img) goto fail;
    for (int i = 0; i < nn; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        int w, h;
        double quant = 0;
        float *full = sr_load_image_planar_q(path, channels, &w, &h, &quant, err);
        if (!full) goto fail;
        val_image *im = &v->img[v->n++];
        snprintf(im->name, sizeof im->name, "%.*s", (int)(strrchr(names[i], '.') - names[i]),
                 names[i]);
        im->w = w - w % scale, im->h = h - h % scale;
        int lw = im->w / scale, lh = im->h / scale;
        if (lw < 1 || lh < 1) {
            free(full);
            sr_error_set(err, SR_ERR_ARG, "%s: smaller than the scale", path);
            goto fail;
        }
        im->hr = malloc((size_t)im->w * im->h * channels * sizeof(float));
        float *il = malloc((size_t)im->w * im->h * channels * sizeof(float));
        float *sl = malloc((size_t)lw * lh * channels * sizeof(float));
        int ok = im->hr && il && sl;
        if (ok) {
            for (int k = 0; k < channels; k++)
                for (int y = 0; y < im->h; y++)
                    memcpy(im->hr + ((size_t)k * im->h + y) * im->w,
                           full + ((size_t)k * h + y) * w, (size_t)im->w * sizeof(float));
        } else {
            sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory", path);
        }
        if (ok && lr_dir) {
            char *lp = find_stem(lr_dir, names[i]);
            int pw = 0, ph = 0;
            if (!lp) {
                sr_error_set(err, SR_ERR_ARG, "%s: no LR image with the same name in %s", path,
                             lr_dir);
                ok = 0;
            } else if (!(im->lr = sr_load_image_planar(lp, channels, &pw, &ph, err))) {
                ok = 0;
            } else if (pw != lw || ph != lh) {
                sr_error_set(err, SR_ERR_ARG, "%s is %dx%d, not 1/%d of %s (%dx%d after modcrop)",
                             lp, pw, ph, scale, path, im->w, im->h);
                ok = 0;
            }
            free(lp);
        } else if (ok) {
            to_interleaved(im->hr, channels, im->w, im->h, il);
            if (deg) {
                sr_rng r;
                sr_rng_seed(&r, VAL_SEED, (uint64_t)i);
                ok = !sr_degrade_apply(deg, &r, il, im->w, im->h, channels, sl, lw, lh, quant,
                                       err);
            } else {
                ok = !sr_imresize(il, im->w, im->h, channels, sl, lw, lh, SR_FILTER_BICUBIC,
                                  err);
            }
            if (ok && !(im->lr = malloc((size_t)lw * lh * channels * sizeof(float)))) {
                sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory", path);
                ok = 0;
            }
            if (ok) to_planar(sl, channels, lw, lh, im->lr);
        }
        free(il);
        free(sl);
        free(full);
        if (!ok) goto fail;
    }
    for (int i = 0; i < nn; i++) free(names[i]);
    free(names);
    return v;
fail:
    for (int i = 0; i < nn; i++) free(names[i]);
    free(names);
    sr_valset_free(v);
    return NULL;
}

void sr_valset_free(sr_valset *v)
{
    if (!v) return;
    for (int i = 0; i < v->n; i++) {
        free(v->img[i].hr);
        free(v->img[i].lr);
    }
    free(v->img);
    free(v);
}

int sr_valset_count(const sr_valset *v) { return v->n; }

static uint8_t *to_u8(const float *p, int c, int w, int h)
{
    uint8_t *o = malloc((size_t)w * h * c);
    if (!o) return NULL;
    for (int k = 0; k < c; k++)
        for (size_t i = 0; i < (size_t)w * h; i++) {
            float v = p[(size_t)k * w * h + i] * 255.0f;
            v = v < 0 ? 0 : v > 255 ? 255 : v;
            o[i * c + k] = (uint8_t)lrintf(v);
        }
    return o;
}

void sr_val_metrics(const float *sr, const float *hr, int c, int w, int h, int shave,
                    double *psnr, double *ssim)
{
    uint8_t *a = to_u8(sr, c, w, h), *b = to_u8(hr, c, w, h);
    if (a && b) {
        *psnr = sr_psnr_y(a, b, w, h, c, shave);
        *ssim = sr_ssim_y(a, b, w, h, c, shave);
    } else {
        *psnr = *ssim = NAN;
    }
    free(a);
    free(b);
}

int sr_save_png_planar(const char *path, const float *img, int c, int w, int h, sr_error *err)
{
    uint8_t *px = to_u8(img, c, w, h);
    if (!px) {
        sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory", path);
        return -1;
    }
    sr_image_info info;
    memset(&info, 0, sizeof info);
    info.width = w, info.height = h, info.channels = c, info.dtype = SR_U8;
    info.pages = 1, info.format = SR_FMT_PNG, info.bits = 8;
    info.meta.srgb_intent = -1;
    sr_write_opts o;
    memset(&o, 0, sizeof o);
    o.overwrite = 1;
    o.software = "srgan-train";
    sr_writer *wr = sr_writer_open(path, SR_FMT_PNG, &info, &o, err);
    int rc = -1;
    if (wr) {
        rc = sr_writer_write_rows(wr, px, h, err);
        if (rc) sr_writer_abort(wr);
        else rc = sr_writer_finish(wr, err);
    }
    free(px);
    return rc;
}

int sr_validate(const sr_generator *g, sr_valset *v, const char *sample_dir, int nsamples,
                long iter, double *psnr, double *ssim, sr_error *err)
{
    const sr_generator_config *gc = sr_generator_get_config((sr_generator *)g);
    if (gc->in_channels != v->channels || gc->scale != v->scale) {
        sr_error_set(err, SR_ERR_ARG, "validation: set made for %d channels x%d, model is %d x%d",
                     v->channels, v->scale, gc->in_channels, gc->scale);
        return -1;
    }
    double sp = 0, ss = 0;
    for (int i = 0; i < v->n; i++) {
        val_image *im = &v->img[i];
        sr_tensor x = {1, v->channels, im->h / v->scale, im->w / v->scale, im->lr};
        sr_tensor y = sr_tensor_alloc(1, gc->out_channels, im->h, im->w);
        if (!y.data) {
            sr_error_set(err, SR_ERR_NOMEM, "validation: out of memory");
            return -1;
        }
        if (sr_generator_forward(g, &x, &y, err)) {
            sr_tensor_free(&y);
            return -1;
        }
        double p, s;
        sr_val_metrics(y.data, im->hr, v->channels, im->w, im->h, v->scale, &p, &s);
        sp += p, ss += s;
        if (sample_dir && i < nsamples) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s_iter%ld.png", sample_dir, im->name, iter);
            if (sr_save_png_planar(path, y.data, v->channels, im->w, im->h, err)) {
                sr_tensor_free(&y);
                return -1;
            }
        }
        sr_tensor_free(&y);
    }
    *psnr = sp / v->n;
    *ssim = ss / v->n;
    return 0;
}
