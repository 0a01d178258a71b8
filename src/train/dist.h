/* dist.h: data-parallel training over MPI ranks (internal to srgan-train).
 *
 * Built with MPI (meson found it), a program started by mpirun (or srun
 * with PMI) runs as one of N ranks; otherwise, or without MPI, everything
 * here is a single rank and the calls are no-ops. MPI state is per process,
 * so this is too: init once in main(), finish once before exit. Only the
 * calling (main) thread talks to MPI. */
#ifndef SRGAN_TRAIN_DIST_H
#define SRGAN_TRAIN_DIST_H

#include <stddef.h>
#include "srgan/train.h"

/* Start MPI when launched as part of an MPI job. Without MPI support, a job
 * of more than one process is refused (each would train alone and they would
 * overwrite each other's files). */
int sr_dist_init(int *argc, char ***argv, sr_error *err);
int sr_dist_rank(void);
int sr_dist_size(void);
/* 1 on every rank when flag is non-zero on any rank (a stop request). */
int sr_dist_any(int flag);
/* After a step that can fail on one rank alone: the lowest rank that
 * failed, or -1 when none did (the same answer on every rank). */
int sr_dist_first_failed(int failed);
/* Every rank fails here at once (a deterministic error such as a
 * non-finite summed loss): rank 0 reports it and all end cleanly. */
void sr_dist_failed_together(void);
/* Whether this rank should print its error: not when the ranks agreed that
 * a lower rank failed (it reports). */
int sr_dist_should_report(void);
/* buf[0..n) := the sum of every rank's buf, added in rank order
 * (((r0 + r1) + r2) + ...), identical on every rank and independent of
 * MPI's choice of algorithm; see dist.c. */
int sr_dist_sum(float *buf, size_t n, sr_error *err);
/* The same for a few doubles (losses for the log). */
int sr_dist_sum_d(double *v, int n, sr_error *err);
/* Generator gradients (param grads) and discriminator effective-weight
 * gradients gw (may be NULL) summed over ranks as by sr_dist_sum, in one
 * exchange. */
int sr_dist_sum_grads(sr_param *const *gp, int ngp, float *gw, size_t ngw, sr_error *err);
/* buf holds size() parts of `part` floats; rank r's own is at r * part;
 * afterwards every rank has all of them. */
int sr_dist_allgather(float *buf, size_t part, sr_error *err);
/* End MPI: MPI_Finalize after a clean end or an agreed failure; MPI_Abort
 * (ending every rank) when this rank failed alone, since the others may
 * wait in a collective forever. Returns `code`. */
int sr_dist_finish(int code, int failed);

#endif
