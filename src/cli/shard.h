/* shard.h: splitting one batch across the tasks of a cluster job array.
 *
 * Every task builds the same sorted file list, then keeps its own part:
 *
 *     srgan-up -x 2 -i raw/ -o up/ -r --shard 2/4 --report up_%K.csv
 *
 * Parts are balanced by input size (the largest file first to the part with
 * the fewest bytes so far, as in longest-processing-time scheduling), so a
 * single huge stack does not make one task run for hours while the others
 * idle. The split depends only on the list and the file sizes, never on which
 * outputs exist, so a retry with --skip-existing gives each task the same part.
 *
 * `--shard slurm` takes K and N from a Slurm job array (SLURM_ARRAY_TASK_ID,
 * _MIN, _STEP, _COUNT). The reports of all parts are joined with
 * `srgan-up --merge-reports OUT.csv PART.csv...`.
 */
#ifndef SRGAN_CLI_SHARD_H
#define SRGAN_CLI_SHARD_H

#include <stdint.h>
#include <stdio.h>

/* Parse "K/N" (1 <= K <= N <= 100000) or "slurm". Returns 0, or -1 with a
 * one-line reason in why. */
int shard_parse(const char *spec, int *k, int *n, char *why, size_t why_cap);

/* When no --shard was given but the process runs as a Slurm array task:
 * a one-line hint on how to shard (every task would otherwise do every file),
 * or NULL outside an array. */
const char *shard_slurm_hint(char *buf, size_t cap);

/* Which part (1..n) each of the `count` items goes to, from their sizes in
 * bytes, in list order. Deterministic; ties go to the lowest part. */
void shard_assign(const uint64_t *size, int count, int n, int *part);

/* Replace %K and %N in a --report path by k and n; a path without %K gets
 * ".K-of-N" before its extension (run.csv -> run.2-of-4.csv), so parts never
 * write one file. Returns 0, or -1 if it does not fit. */
int shard_report_path(const char *pattern, int k, int n, char *out, size_t cap);

/* Join --report CSVs into out_path (written to a temporary file, then
 * renamed): one header, one row per input; an input listed in several files
 * keeps the row of the last file given (a retry's report after the first
 * run's). Rows sorted by input. Prints a one-line error naming the file and
 * returns -1 on a missing or malformed report. */
int shard_merge_reports(const char *out_path, char *const *in, int n_in, FILE *msg);

#endif
