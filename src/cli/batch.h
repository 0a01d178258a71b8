/* batch.h: the list of files to upscale, and running it with N workers so
 * that one bad file never stops the rest. */
#ifndef SRGAN_CLI_BATCH_H
#define SRGAN_CLI_BATCH_H

#include <pthread.h>

#include "cli_args.h"
#include "progress.h"
#include "upscale.h"

typedef enum job_status { JOB_PENDING = 0, JOB_WRITTEN, JOB_SKIPPED, JOB_FAILED } job_status;

typedef struct job {
    char *in, *out;
    /* What messages and the report call in/out when they are temporaries
     * standing for standard input or output ("-"); NULL = in/out. */
    const char *in_name, *out_name;
    job_status status;
    double seconds;
    char error[SR_ERROR_MSG_MAX + 128]; /* the library message plus a CLI hint */
} job;

typedef struct job_list {
    job *v;
    int n;
} job_list;

/* Build the jobs from the arguments (single file, -o with files, -i dir).
 * Returns 0, or -1 after printing why (e.g. the input directory is missing). */
int jobs_build(const cli_args *a, job_list *jobs);
void jobs_free(job_list *jobs);

/* The --report CSV, written as files finish: a line per file, each with one
 * write(), so an interrupted batch (Ctrl-C, SIGTERM; SIGKILL too, short of a
 * kill landing inside one small write) leaves a valid CSV of what finished,
 * for the retry workflow. */
typedef struct batch_report {
    const char *path;
    int fd;
    int error; /* first errno of a failed write, 0 = none */
    pthread_mutex_t lock;
} batch_report;

typedef struct batch_ctx {
    const cli_args *args;
    const upscale_plan *plan;
    progress *prog;
    batch_report *report; /* NULL without --report */
    /* Temp-file registry for the signal handler. */
    void (*on_temp)(void *user, const char *tmp_path, int active);
    void *temp_user;
} batch_ctx;

/* Run every job (args->jobs at a time). */
void batch_run(job_list *jobs, const batch_ctx *ctx);
/* "N written, N skipped, N failed" plus each failure; returns the failures. */
int batch_summary(const job_list *jobs, int quiet);
/* CSV report: input,output,status,seconds,error. Open creates (replaces)
 * the file and writes the header; returns -1 after printing why. Close
 * returns -1 after printing why when any line could not be written. */
int batch_report_open(batch_report *r, const char *path);
int batch_report_close(batch_report *r);

#endif
