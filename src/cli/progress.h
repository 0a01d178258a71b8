/* progress.h: what srgan-up tells the user while it works.
 *
 * On a terminal: one live line, redrawn at most 10 times a second. With one
 * file in flight it shows that file (name, rows, speed, ETA); with several
 * (-j N) it shows how many are running, the fraction of the whole batch, the
 * combined speed and the batch's ETA. Otherwise: a plain line per finished
 * file. Errors always go out as their own line. Thread-safe.
 *
 *     progress p;
 *     progress_init(&p, nfiles, quiet);
 *     int s = progress_start_file(&p, "a.png");   // a slot per file in flight
 *     progress_rows(&p, s, rows_done, rows_total, width, page, pages);
 *     progress_end_file(&p, s, "a.png", "a_x4.png", "written", seconds, NULL);
 *     progress_finish(&p);
 */
#ifndef SRGAN_CLI_PROGRESS_H
#define SRGAN_CLI_PROGRESS_H

#include <pthread.h>
#include <stdio.h>

#define PROGRESS_SLOTS 64 /* files in flight at once; more are not drawn */

typedef struct progress_slot {
    int active;
    char name[256];
    int rows_done, rows_total, page, pages;
    int out_width;
    double t_file;
    double out_pixels; /* output pixels written so far, for the speed */
} progress_slot;

typedef struct progress {
    pthread_mutex_t lock;
    FILE *out; /* stderr; tests point it elsewhere */
    int tty, quiet;
    int total, done;
    double t_start, t_last_draw;
    int line_shown;
    progress_slot slot[PROGRESS_SLOTS];
} progress;

void progress_init(progress *p, int total, int quiet);
/* A file starts: returns its slot for progress_rows/progress_end_file
 * (-1 when all slots are taken; the calls then only count the file). */
int progress_start_file(progress *p, const char *name);
/* Rows of `width` output pixels done on a page. Returns 0 (never cancels;
 * signals are handled elsewhere). */
int progress_rows(progress *p, int slot, int rows_done, int rows_total, int width, int page, int pages);
/* status: "written", "skipped", "failed"; msg: error or NULL; slot: from
 * progress_start_file, or -1 for a file that never started. */
void progress_end_file(progress *p, int slot, const char *in, const char *out, const char *status,
                       double seconds, const char *msg);
void progress_finish(progress *p);
double progress_now(void);

#endif
