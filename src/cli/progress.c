/* progress.c: the live progress line and the plain per-file lines. */
#include "progress.h"

#include <string.h>
#include <time.h>
#include <unistd.h>

double progress_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

void progress_init(progress *p, int total, int quiet)
{
    memset(p, 0, sizeof *p);
    pthread_mutex_init(&p->lock, NULL);
    p->out = stderr;
    p->tty = isatty(STDERR_FILENO);
    p->quiet = quiet;
    p->total = total;
    p->t_start = progress_now();
}

static void clear_line(progress *p)
{
    if (p->line_shown) {
        fputs("\r\033[K", p->out);
        p->line_shown = 0;
    }
}

/* Fraction of a file done: pages done plus the current page's rows. */
static double slot_fraction(const progress_slot *s)
{
    double frac = s->rows_total ? (double)s->rows_done / s->rows_total : 0;
    return s->pages > 1 ? (s->page + frac) / s->pages : frac;
}

static void format_eta(char *buf, size_t n, double elapsed, double frac)
{
    double eta = frac > 0.01 ? elapsed * (1 - frac) / frac : -1;
    if (eta >= 0)
        snprintf(buf, n, "%d:%02d", (int)eta / 60, (int)eta % 60);
    else
        snprintf(buf, n, "--:--");
}

static void draw(progress *p, double now)
{
    /* One file in flight: that file's progress. Several: the batch's, since
     * their names and fractions would take turns on one line. */
    int active = 0, last = -1;
    double files = p->done, mps = 0;
    for (int i = 0; i < PROGRESS_SLOTS; i++) {
        const progress_slot *s = &p->slot[i];
        if (!s->active)
            continue;
        active++, last = i;
        files += slot_fraction(s);
        if (now > s->t_file)
            mps += s->out_pixels / (now - s->t_file) / 1e6;
    }
    double frac;
    char what[64], eta[32];
    const char *name = what;
    if (active == 1) {
        const progress_slot *s = &p->slot[last];
        frac = slot_fraction(s);
        format_eta(eta, sizeof eta, now - s->t_file, frac);
        size_t len = strlen(s->name);
        name = len > 32 ? s->name + len - 32 : s->name;
    } else {
        frac = p->total ? files / p->total : 0;
        format_eta(eta, sizeof eta, now - p->t_start, frac);
        snprintf(what, sizeof what, "%d files running, batch", active);
    }
    int width = 24, fill = (int)(frac * width + 0.5);
    char bar[32];
    for (int i = 0; i < width; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[width] = '\0';
    fprintf(p->out, "\r\033[K[%d/%d] %s [%s] %3d%% %.2f MP/s ETA %s", p->done, p->total, name, bar,
            (int)(frac * 100), mps, eta);
    fflush(p->out);
    p->line_shown = 1;
    p->t_last_draw = now;
}

int progress_start_file(progress *p, const char *name)
{
    pthread_mutex_lock(&p->lock);
    int k = -1;
    for (int i = 0; i < PROGRESS_SLOTS && k < 0; i++)
        if (!p->slot[i].active)
            k = i;
    if (k >= 0) {
        progress_slot *s = &p->slot[k];
        memset(s, 0, sizeof *s);
        s->active = 1;
        snprintf(s->name, sizeof s->name, "%s", name);
        s->pages = 1;
        s->t_file = progress_now();
        if (p->tty && !p->quiet)
            draw(p, s->t_file); /* show the file at once, before its first band */
    }
    pthread_mutex_unlock(&p->lock);
    return k;
}

int progress_rows(progress *p, int slot, int rows_done, int rows_total, int width, int page, int pages)
{
    if (slot < 0 || slot >= PROGRESS_SLOTS)
        return 0;
    pthread_mutex_lock(&p->lock);
    progress_slot *s = &p->slot[slot];
    s->out_width = width;
    /* Tiles (ahead) and written bands (behind) both report: only forward
     * moves count, so the fraction and the speed never step back. */
    if (page == s->page && rows_done <= s->rows_done) {
        pthread_mutex_unlock(&p->lock);
        return 0;
    }
    if (page == s->page)
        s->out_pixels += (double)(rows_done - s->rows_done) * s->out_width;
    else
        s->out_pixels += (double)rows_done * s->out_width;
    s->rows_done = rows_done;
    s->rows_total = rows_total;
    s->page = page;
    s->pages = pages;
    double now = progress_now();
    if (p->tty && !p->quiet && now - p->t_last_draw > 0.1)
        draw(p, now);
    pthread_mutex_unlock(&p->lock);
    return 0;
}

void progress_end_file(progress *p, int slot, const char *in, const char *out, const char *status,
                       double seconds, const char *msg)
{
    pthread_mutex_lock(&p->lock);
    p->done++;
    if (slot >= 0 && slot < PROGRESS_SLOTS)
        p->slot[slot].active = 0;
    clear_line(p);
    if (msg)
        fprintf(p->out, "srgan-up: %s\n", msg);
    else if (!p->quiet)
        fprintf(p->out, "srgan-up: [%d/%d] %s %s -> %s (%.1f s)\n", p->done, p->total, status, in, out,
                seconds);
    fflush(p->out);
    pthread_mutex_unlock(&p->lock);
}

void progress_finish(progress *p)
{
    pthread_mutex_lock(&p->lock);
    clear_line(p);
    pthread_mutex_unlock(&p->lock);
    pthread_mutex_destroy(&p->lock);
}
