/* progress.c: the live progress line and the plain per-file lines. */
#include <stdio.h>
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
    p->tty = isatty(STDERR_FILENO);
    p->quiet = quiet;
    p->total = total;
    p->t_start = progress_now();
}

static void clear_line(progress *p)
{
    if (p->line_shown) {
        fputs("\r\033[K", stderr);
        p->line_shown = 0;
    }
}

static void draw(progress *p, double now)
{
    double elapsed = now - p->t_file;
    double frac = p->rows_total ? (double)p->rows_done / p->rows_total : 0;
    if (p->pages > 1)
        frac = (p->page + frac) / p->pages;
    double mps = elapsed > 0 ? p->out_pixels / elapsed / 1e6 : 0;
    double eta = frac > 0.01 ? elapsed * (1 - frac) / frac : -1;
    char eta_s[32] = "--:--";
    if (eta >= 0)
        snprintf(eta_s, sizeof eta_s, "%d:%02d", (int)eta / 60, (int)eta % 60);
    int width = 24, fill = (int)(frac * width + 0.5);
    char bar[32];
    for (int i = 0; i < width; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[width] = '\0';
    const char *name = p->current;
    size_t len = strlen(name);
    if (len > 32)
        name += len - 32;
    fprintf(stderr, "\r\033[K[%d/%d] %s [%s] %3d%% %.2f MP/s ETA %s", p->done, p->total, name, bar,
            (int)(frac * 100), mps, eta_s);
    fflush(stderr);
    p->line_shown = 1;
    p->t_last_draw = now;
}

void progress_start_file(progress *p, const char *name)
{
    pthread_mutex_lock(&p->lock);
    snprintf(p->current, sizeof p->current, "%s", name);
    p->rows_done = p->rows_total = p->page = 0;
    p->pages = 1;
    p->out_pixels = 0;
    p->out_width = 0;
    p->t_file = progress_now();
    if (p->tty && !p->quiet)
        draw(p, p->t_file); /* show the file at once, before its first band */
    pthread_mutex_unlock(&p->lock);
}

int progress_rows(progress *p, int rows_done, int rows_total, int width, int page, int pages)
{
    pthread_mutex_lock(&p->lock);
    p->out_width = width;
    /* Tiles (ahead) and written bands (behind) both report: only forward
     * moves count, so the fraction and the speed never step back. */
    if (page == p->page && rows_done <= p->rows_done) {
        pthread_mutex_unlock(&p->lock);
        return 0;
    }
    if (page == p->page)
        p->out_pixels += (double)(rows_done - p->rows_done) * p->out_width;
    else
        p->out_pixels += (double)rows_done * p->out_width;
    p->rows_done = rows_done;
    p->rows_total = rows_total;
    p->page = page;
    p->pages = pages;
    double now = progress_now();
    if (p->tty && !p->quiet && now - p->t_last_draw > 0.1)
        draw(p, now);
    pthread_mutex_unlock(&p->lock);
    return 0;
}

void progress_end_file(progress *p, const char *in, const char *out, const char *status,
                       double seconds, const char *msg)
{
    pthread_mutex_lock(&p->lock);
    p->done++;
    clear_line(p);
    if (msg)
        fprintf(stderr, "srgan-up: %s\n", msg);
    else if (!p->quiet)
        fprintf(stderr, "srgan-up: [%d/%d] %s %s -> %s (%.1f s)\n", p->done, p->total, status, in, out,
                seconds);
    fflush(stderr);
    pthread_mutex_unlock(&p->lock);
}

void progress_finish(progress *p)
{
    pthread_mutex_lock(&p->lock);
    clear_line(p);
    pthread_mutex_unlock(&p->lock);
    pthread_mutex_destroy(&p->lock);
}
