/* progress.h: what srgan-up tells the user while it works.
 *
 * On a terminal: one live line (files done/total, the current file's rows,
 * speed, ETA), redrawn at most 10 times a second. Otherwise: a plain line per
 * finished file. Errors always go out as their own line. Thread-safe. */
#ifndef SRGAN_CLI_PROGRESS_H
#define SRGAN_CLI_PROGRESS_H

#include <pthread.h>

typedef struct progress {
    pthread_mutex_t lock;
    int tty, quiet;
    int total, done;
    char current[256];
    int rows_done, rows_total, page, pages;
    double t_start, t_file, t_last_draw;
    double out_pixels; /* output pixels written so far, for the speed */
    int out_width;
    int line_shown;
} progress;

void progress_init(progress *p, int total, int quiet);
void progress_start_file(progress *p, const char *name);
/* Rows of `width` output pixels done on a page. Returns 0 (never cancels;
 * signals are handled elsewhere). */
int progress_rows(progress *p, int rows_done, int rows_total, int width, int page, int pages);
/* status: "written", "skipped", "failed"; msg: error or NULL. */
void progress_end_file(progress *p, const char *in, const char *out, const char *status,
                       double seconds, const char *msg);
void progress_finish(progress *p);
double progress_now(void);

#endif
