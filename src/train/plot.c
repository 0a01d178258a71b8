/* plot.c: a tiny line plotter for the training curves (losses on a log
 * scale, validation PSNR linear), drawn into an RGB buffer with a 3x5 pixel
 * font and written as PNG through image.h.
 *
 * Hand-written rather than Cairo: Cairo's text needs fontconfig and an
 * installed font (a fresh Debian or CI machine may have none, and text would
 * silently vanish), and this whole plotter is smaller than the glue to set
 * Cairo up. What a plot needs from a library -- ticks that differ and sit on
 * round numbers, a legend that never covers data -- is below. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "srgan/image.h"
#include "srgan/train.h"

typedef struct canvas {
    uint8_t *px;
    int w, h;
} canvas;

static void put(canvas *c, int x, int y, const uint8_t col[3])
{
    if (x < 0 || y < 0 || x >= c->w || y >= c->h) return;
    memcpy(c->px + ((size_t)y * c->w + x) * 3, col, 3);
}

static void line(canvas *c, int x0, int y0, int x1, int y1, const uint8_t col[3])
{
    int dx = abs(x1 - x0), dy = -abs(y1 - y0), sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
    int e = dx + dy;
    for (int guard = 0; guard < 100000; guard++) {
        put(c, x0, y0, col);
        if (x0 == x1 && y0 == y1) break;
        int e2 = 2 * e;
        if (e2 >= dy) e += dy, x0 += sx;
        if (e2 <= dx) e += dx, y0 += sy;
    }
}

static const char *glyph(int ch)
{
    static const char *digits[] = {"111101101101111", "010110010010111", "111001111100111",
                                   "111001111001111", "101101111001001", "111100111001111",
                                   "111100111101111", "111001001001001", "111101111101111",
                                   "111101111001111"};
    static const char *letters[] = {
        "010101111101101", "110101110101110", "011100100100011", "110101101101110",
        "111100110100111", "111100110100100", "011100101101011", "101101111101101",
        "111010010010111", "001001001101010", "101101110101101", "100100100100111",
        "101111111101101", "110101101101101", "010101101101010", "110101110100100",
        "010101101110011", "110101110101101", "011100010001110", "111010010010010",
        "101101101101111", "101101101101010", "101101111111101", "101101010101101",
        "101101010010010", "111001010100111"};
    ch = toupper(ch);
    if (ch >= '0' && ch <= '9') return digits[ch - '0'];
    if (ch >= 'A' && ch <= 'Z') return letters[ch - 'A'];
    switch (ch) {
    case '.': return "000000000000010";
    case '-': return "000000111000000";
    case '+': return "000010111010000";
    case '_': return "000000000000111";
    case ':': return "000010000010000";
    case '(': return "001010010010001";
    case ')': return "100010010010100";
    case '/': return "001001010100100";
    default: return "000000000000000";
    }
}

static void text(canvas *c, int x, int y, const char *s, const uint8_t col[3])
{
    for (; *s; s++, x += 8) {
        const char *g = glyph((unsigned char)*s);
        for (int r = 0; r < 5; r++)
            for (int k = 0; k < 3; k++)
                if (g[r * 3 + k] == '1')
                    for (int dy = 0; dy < 2; dy++)
                        for (int dx = 0; dx < 2; dx++) put(c, x + 2 * k + dx, y + 2 * r + dy, col);
    }
}

static const uint8_t PALETTE[][3] = {{31, 119, 180}, {214, 39, 40},  {44, 160, 44},
                                     {255, 127, 14}, {148, 103, 189}, {140, 86, 75},
                                     {227, 119, 194}, {23, 190, 207}};
static const uint8_t BLACK[3] = {0, 0, 0}, GREY[3] = {200, 200, 200};

/* Tick positions for an axis from lo to hi (data units; for a log axis the
 * values themselves, not their logarithms): 1, 2 or 5 times a power of ten
 * apart, as matplotlib's default locator, at most max of them. A log axis
 * spanning a decade or more gets ticks at powers of ten (1-2-5 within the
 * decade when there are few decades); a narrower one uses linear steps,
 * which stay distinct where decade ticks would not exist. Returns the count. */
int sr_plot_ticks(double lo, double hi, int log_scale, double *t, int max)
{
    if (!(hi > lo) || max < 2) return 0;
    int n = 0;
    if (log_scale && lo > 0 && log10(hi) - log10(lo) >= 1.0) {
        int d0 = (int)floor(log10(lo)), d1 = (int)ceil(log10(hi));
        int dense = d1 - d0 <= 2;
        static const double mult[] = {1, 2, 5};
        for (int d = d0; d <= d1 && n < max; d++)
            for (int m = 0; m < (dense ? 3 : 1) && n < max; m++) {
                double v = mult[m] * pow(10, d);
                if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) t[n++] = v;
            }
        if (n >= 2) return n;
        n = 0;
    }
    double raw = (hi - lo) / (max - 1), p = pow(10, floor(log10(raw))), step = 10 * p;
    static const double nice[] = {1, 2, 5, 10};
    for (int i = 0; i < 4; i++)
        if (nice[i] * p >= raw) { step = nice[i] * p; break; }
    for (double v = ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9 && n < max; v += step)
        t[n++] = fabs(v) < step * 1e-9 ? 0 : v;
    return n;
}

/* Labels for ticks with the fewest significant digits that say each tick's
 * value exactly and keep every label distinct (two ticks never read the
 * same). */
void sr_plot_labels(const double *t, int n, char (*lab)[16])
{
    int whole = 1; /* iteration counts: 1000, not 1e+03 */
    for (int i = 0; i < n; i++) whole &= fabs(t[i]) < 1e7 && fabs(t[i] - round(t[i])) < 1e-9;
    if (whole) {
        for (int i = 0; i < n; i++) snprintf(lab[i], 16, "%.0f", t[i]);
        return;
    }
    for (int prec = 1; prec <= 8; prec++) {
        for (int i = 0; i < n; i++) snprintf(lab[i], 16, "%.*g", prec, t[i]);
        int bad = 0;
        for (int i = 0; i < n; i++)
            bad |= (i && !strcmp(lab[i], lab[i - 1])) || fabs(atof(lab[i]) - t[i]) > 1e-9 * fabs(t[i]);
        if (!bad) return;
    }
}

#define LEGEND_W 170 /* legend column right of the plot: it never covers data */

static void panel(canvas *c, int top, int bottom, const double *x, int n,
                  const sr_plot_series *s, int ns, int which, const char *title)
{
    int left = 80, right = c->w - LEGEND_W;
    top += 24, bottom -= 34;
    double xmin = INFINITY, xmax = -INFINITY, ymin = INFINITY, ymax = -INFINITY;
    int logy = 0, any = 0;
    for (int k = 0; k < ns; k++) {
        if (s[k].panel != which) continue;
        logy |= s[k].log_scale;
        for (int i = 0; i < n; i++) {
            double v = s[k].y[i];
            if (!isfinite(v) || (s[k].log_scale && v <= 0)) continue;
            ymin = fmin(ymin, v), ymax = fmax(ymax, v);
            xmin = fmin(xmin, x[i]), xmax = fmax(xmax, x[i]);
            any = 1;
        }
    }
    text(c, left, top - 18, title, BLACK);
    line(c, left, top, left, bottom, BLACK);
    line(c, left, bottom, right, bottom, BLACK);
    if (!any) return;
    /* Pad the range a little so the curve does not run along the frame. */
    if (logy) {
        if (ymax / ymin < 1.0001) ymax *= 1.05, ymin /= 1.05;
        double pad = pow(ymax / ymin, 0.05);
        ymax *= pad, ymin /= pad;
    } else {
        if (ymax - ymin < 1e-9) ymax += 0.5, ymin -= 0.5;
        double pad = (ymax - ymin) * 0.05;
        ymax += pad, ymin -= pad;
    }
    if (xmax - xmin < 1e-9) xmax += 1;
    double ly0 = logy ? log10(ymin) : ymin, ly1 = logy ? log10(ymax) : ymax;
#define MAPY(v) (bottom - (int)lround((bottom - top) * (((logy ? log10(v) : (v)) - ly0) / (ly1 - ly0))))
#define MAPX(v) (left + (int)lround((right - left) * ((v) - xmin) / (xmax - xmin)))
    double t[16];
    char lab[16][16];
    int nt = sr_plot_ticks(ymin, ymax, logy, t, 6);
    sr_plot_labels(t, nt, lab);
    for (int i = 0; i < nt; i++) { /* y grid, tick marks and labels */
        int py = MAPY(t[i]);
        for (int px = left + 1; px < right; px += 4) put(c, px, py, GREY);
        line(c, left - 4, py, left, py, BLACK);
        text(c, left - 8 - 8 * (int)strlen(lab[i]), py - 5, lab[i], BLACK);
    }
    nt = sr_plot_ticks(xmin, xmax, 0, t, 7);
    sr_plot_labels(t, nt, lab);
    for (int i = 0; i < nt; i++) { /* x tick marks and labels along the axis */
        int px = MAPX(t[i]);
        line(c, px, bottom, px, bottom + 4, BLACK);
        int tw = 8 * (int)strlen(lab[i]) - 2;
        text(c, px - tw / 2, bottom + 8, lab[i], BLACK);
    }
    int leg = 0;
    for (int k = 0; k < ns; k++) {
        if (s[k].panel != which) continue;
        const uint8_t *col = PALETTE[k % 8];
        int have = 0, lx = 0, ly = 0, finite = 0;
        for (int i = 0; i < n; i++) finite |= isfinite(s[k].y[i]);
        if (!finite) continue; /* no legend for empty columns */
        for (int i = 0; i < n; i++) {
            double v = s[k].y[i];
            if (!isfinite(v) || (s[k].log_scale && v <= 0)) continue;
            int px = MAPX(x[i]), py = MAPY(v);
            if (have) line(c, lx, ly, px, py, col);
            else put(c, px, py, col);
            lx = px, ly = py, have = 1;
        }
        int yy = top + 4 + 16 * leg++;
        for (int d = 0; d < 3; d++) line(c, right + 12, yy + 4 + d, right + 30, yy + 4 + d, col);
        text(c, right + 36, yy, s[k].name, col);
    }
#undef MAPX
#undef MAPY
}

int sr_plot_png(const char *path, const double *x, int n, const sr_plot_series *s, int ns,
                int width, int height, sr_error *err)
{
    canvas c = {malloc((size_t)width * height * 3), width, height};
    if (!c.px) {
        sr_error_set(err, SR_ERR_NOMEM, "%s: out of memory", path);
        return -1;
    }
    memset(c.px, 255, (size_t)width * height * 3);
    int has1 = 0;
    for (int k = 0; k < ns; k++) has1 |= s[k].panel == 1;
    int split = has1 ? height * 3 / 5 : height;
    panel(&c, 0, split, x, n, s, ns, 0, "TRAINING LOSS (LOG SCALE)");
    if (has1) panel(&c, split, height, x, n, s, ns, 1, "VALIDATION PSNR (DB)");
    text(&c, (width - LEGEND_W) / 2, height - 14, "ITERATION", BLACK);
    sr_image_info info;
    memset(&info, 0, sizeof info);
    info.width = width, info.height = height, info.channels = 3, info.dtype = SR_U8;
    info.pages = 1, info.format = SR_FMT_PNG, info.bits = 8, info.meta.srgb_intent = -1;
    sr_write_opts o;
    memset(&o, 0, sizeof o);
    o.overwrite = 1;
    sr_writer *w = sr_writer_open(path, SR_FMT_PNG, &info, &o, err);
    int rc = -1;
    if (w) {
        rc = sr_writer_write_rows(w, c.px, height, err);
        if (rc) sr_writer_abort(w);
        else rc = sr_writer_finish(w, err);
    }
    free(c.px);
    return rc;
}

#define MAXCOL 16

int sr_plot_csv(const char *csv_path, const char *png_path, sr_error *err)
{
    FILE *f = fopen(csv_path, "r");
    if (!f) {
        sr_error_set(err, SR_ERR_IO, "%s: cannot open", csv_path);
        return -1;
    }
    char line_[2048], names[MAXCOL][32];
    int ncol = 0, xcol = -1;
    if (!fgets(line_, sizeof line_, f)) {
        fclose(f);
        sr_error_set(err, SR_ERR_CORRUPT, "%s: empty log", csv_path);
        return -1;
    }
    for (char *tok = strtok(line_, ",\r\n"); tok && ncol < MAXCOL; tok = strtok(NULL, ",\r\n")) {
        snprintf(names[ncol], sizeof names[ncol], "%s", tok);
        if (!strcmp(tok, "iter")) xcol = ncol;
        ncol++;
    }
    double *cols[MAXCOL] = {0}, *x = NULL;
    int n = 0, cap = 0, rc = -1;
    while (fgets(line_, sizeof line_, f)) {
        if (n == cap) {
            cap = cap ? 2 * cap : 256;
            for (int k = 0; k < ncol; k++) {
                double *t = realloc(cols[k], (size_t)cap * sizeof *t);
                if (!t) goto done;
                cols[k] = t;
            }
        }
        char *p = line_;
        for (int k = 0; k < ncol; k++) {
            char *e;
            double v = strtod(p, &e);
            cols[k][n] = e == p ? NAN : v;
            p = strchr(e, ',');
            if (!p) {
                for (int j = k + 1; j < ncol; j++) cols[j][n] = NAN;
                break;
            }
            p++;
        }
        n++;
    }
    if (xcol < 0 || n == 0) {
        sr_error_set(err, SR_ERR_CORRUPT, "%s: no 'iter' column or no rows", csv_path);
        goto done;
    }
    x = cols[xcol];
    sr_plot_series s[MAXCOL];
    int ns = 0;
    for (int k = 0; k < ncol; k++) {
        int loss = !strncmp(names[k], "l_", 2), val = !strcmp(names[k], "val_psnr");
        if (!loss && !val) continue;
        s[ns++] = (sr_plot_series){names[k], cols[k], loss, val};
    }
    rc = sr_plot_png(png_path, x, n, s, ns, 800, 520, err);
done:
    for (int k = 0; k < ncol; k++) free(cols[k]);
    fclose(f);
    return rc;
}
