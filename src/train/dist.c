/* dist.c: data-parallel training over MPI ranks, and its single-process
 * stand-ins when the build has no MPI (meson's optional dependency).
 *
 * Every rank holds the same weights and runs the same optimiser step on the
 * same summed gradients, so weights stay identical without broadcasting
 * them; what must be identical is the sum. MPI_Allreduce does not promise
 * an order of addition (the algorithm, and so the rounding, depends on the
 * rank count, message size and tuning), so sums are made here, in rank
 * order, from MPI's plain data movement:
 *
 *   1. MPI_Alltoallv: rank j receives chunk j (1/N of the vector) from every
 *      rank, in rank order (a reduce-scatter without the reduction);
 *   2. rank j adds its N copies of chunk j as ((r0 + r1) + r2) + ...;
 *   3. MPI_Allgatherv: every rank receives every summed chunk.
 *
 * Each element is summed in the same order by one rank whatever N's chunk
 * boundaries are, so the result is bit-identical on all ranks and across
 * MPI implementations and settings. The traffic is that of a ring
 * allreduce: 2 (N-1)/N of the vector sent and received per rank (gathering
 * whole vectors and adding them on every rank would move (N-1) vectors). */
#include "dist.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef SRGAN_HAVE_MPI
#include <mpi.h>
#endif

static int g_rank = 0, g_size = 1;
/* the failure the ranks agreed on: the lowest failed rank, -1 none */
static int g_first = -1;
/* Packed gradients and the receive side of step 1; grown as needed and
 * kept for the process (MPI is per process; only the main thread calls). */
static float *g_pack, *g_recv;
static size_t g_pack_cap, g_recv_cap;

/* The process count the launcher announces (OpenMPI's mpirun, MPICH's
 * hydra or Slurm's PMI); 0 when not launched as part of a job. */
static int launcher_size(void)
{
    const char *keys[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE"};
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        const char *v = getenv(keys[i]);
        if (v && *v) return atoi(v);
    }
    return 0;
}

static float *grow(float **p, size_t *cap, size_t n)
{
    if (n <= *cap) return *p;
    float *q = realloc(*p, n * sizeof(float));
    if (!q) return NULL;
    *p = q, *cap = n;
    return q;
}

int sr_dist_rank(void) { return g_rank; }
void sr_dist_failed_together(void) { g_first = 0; }
int sr_dist_should_report(void) { return g_first < 0 || g_first == g_rank; }
int sr_dist_size(void) { return g_size; }

#ifdef SRGAN_HAVE_MPI

static int g_mpi;

int sr_dist_init(int *argc, char ***argv, sr_error *err)
{
    /* Not under a launcher: no MPI_Init at all (a singleton init would try
     * to start OpenMPI's runtime for nothing). */
    if (launcher_size() == 0 && !getenv("PMIX_RANK")) return 0;
    int provided;
    /* Only the main thread calls MPI; workers and the loader never do. */
    if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
        sr_error_set(err, SR_ERR_IO, "MPI: initialisation failed");
        return -1;
    }
    g_mpi = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &g_size);
    return 0;
}

int sr_dist_any(int flag)
{
    if (g_size == 1) return flag != 0;
    int in = flag != 0, out = 0;
    MPI_Allreduce(&in, &out, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    return out;
}

int sr_dist_first_failed(int failed)
{
    if (g_size == 1) return g_first = failed ? 0 : -1;
    int in = failed ? g_rank : INT_MAX, out = INT_MAX;
    MPI_Allreduce(&in, &out, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    return g_first = out == INT_MAX ? -1 : out;
}

int sr_dist_sum(float *buf, size_t n, sr_error *err)
{
    if (g_size == 1 || n == 0) return 0;
    const int N = g_size;
    if (n > (size_t)INT_MAX) {
        sr_error_set(err, SR_ERR_ARG, "MPI: %zu floats are too many for one exchange", n);
        return -1;
    }
    int *cnt = calloc(4 * (size_t)N, sizeof *cnt);
    if (!cnt) goto nomem;
    int *dsp = cnt + N, *rcnt = cnt + 2 * N, *rdsp = cnt + 3 * N;
    for (int j = 0; j < N; j++) {
        size_t a = n * (size_t)j / (size_t)N, b = n * (size_t)(j + 1) / (size_t)N;
        dsp[j] = (int)a, cnt[j] = (int)(b - a);
    }
    const int me = cnt[g_rank];
    for (int i = 0; i < N; i++) rcnt[i] = me, rdsp[i] = i * me;
    float *r = grow(&g_recv, &g_recv_cap, (size_t)N * me + 1);
    if (!r) {
        free(cnt);
        goto nomem;
    }
    MPI_Alltoallv(buf, cnt, dsp, MPI_FLOAT, r, rcnt, rdsp, MPI_FLOAT, MPI_COMM_WORLD);
    /* rank order, element by element: plain float adds (no FMA, no
     * reassociation: the build has no -ffast-math) */
    float *out = buf + dsp[g_rank];
    memcpy(out, r, (size_t)me * sizeof(float));
    for (int i = 1; i < N; i++) {
        const float *src = r + (size_t)i * me;
        for (int k = 0; k < me; k++) out[k] += src[k];
    }
    MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, buf, cnt, dsp, MPI_FLOAT,
                   MPI_COMM_WORLD);
    free(cnt);
    return 0;
nomem:
    sr_error_set(err, SR_ERR_NOMEM, "MPI: out of memory for the gradient exchange");
    return -1;
}

int sr_dist_sum_d(double *v, int n, sr_error *err)
{
    if (g_size == 1 || n <= 0) return 0;
    double *all = malloc((size_t)g_size * n * sizeof *all);
    if (!all) {
        sr_error_set(err, SR_ERR_NOMEM, "MPI: out of memory");
        return -1;
    }
    MPI_Allgather(v, n, MPI_DOUBLE, all, n, MPI_DOUBLE, MPI_COMM_WORLD);
    for (int k = 0; k < n; k++) {
        double s = all[k];
        for (int i = 1; i < g_size; i++) s += all[(size_t)i * n + k];
        v[k] = s;
    }
    free(all);
    return 0;
}

int sr_dist_allgather(float *buf, size_t part, sr_error *err)
{
    if (g_size == 1) return 0;
    if (part > (size_t)INT_MAX) {
        sr_error_set(err, SR_ERR_ARG, "MPI: %zu floats are too many for one exchange", part);
        return -1;
    }
    MPI_Allgather(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, buf, (int)part, MPI_FLOAT, MPI_COMM_WORLD);
    return 0;
}

int sr_dist_finish(int code, int failed)
{
    free(g_pack);
    free(g_recv);
    g_pack = g_recv = NULL;
    g_pack_cap = g_recv_cap = 0;
    if (!g_mpi) return code;
    if (failed && g_first < 0 && g_size > 1) MPI_Abort(MPI_COMM_WORLD, code ? code : 1);
    MPI_Finalize();
    g_mpi = 0;
    return code;
}

#else /* no MPI: one rank */

int sr_dist_init(int *argc, char ***argv, sr_error *err)
{
    (void)argc, (void)argv;
    int n = launcher_size();
    if (n > 1) {
        sr_error_set(err, SR_ERR_UNSUPPORTED,
                     "this srgan-train was built without MPI, so it cannot train as one of the "
                     "%d processes of an MPI job (each would train alone and overwrite the "
                     "others' files): run it without mpirun, or rebuild with MPI "
                     "(libopenmpi-dev)", n);
        return -1;
    }
    return 0;
}

int sr_dist_any(int flag) { return flag != 0; }
int sr_dist_first_failed(int failed) { return g_first = failed ? 0 : -1; }
int sr_dist_sum(float *buf, size_t n, sr_error *err) { (void)buf, (void)n, (void)err; return 0; }
int sr_dist_sum_d(double *v, int n, sr_error *err) { (void)v, (void)n, (void)err; return 0; }
int sr_dist_allgather(float *buf, size_t part, sr_error *err)
{
    (void)buf, (void)part, (void)err;
    return 0;
}
int sr_dist_finish(int code, int failed)
{
    (void)failed;
    free(g_pack);
    g_pack = NULL;
    g_pack_cap = 0;
    (void)g_recv, (void)g_recv_cap, (void)grow;
    return code;
}

#endif

int sr_dist_sum_grads(sr_param *const *gp, int ngp, float *gw, size_t ngw, sr_error *err)
{
    if (g_size == 1) return 0;
    size_t n = gw ? ngw : 0;
    for (int i = 0; i < ngp; i++) n += gp[i]->numel;
    float *p = grow(&g_pack, &g_pack_cap, n);
    if (!p) {
        sr_error_set(err, SR_ERR_NOMEM, "MPI: out of memory for the gradient exchange");
        return -1;
    }
    size_t o = 0;
    for (int i = 0; i < ngp; i++) {
        memcpy(p + o, gp[i]->grad, gp[i]->numel * sizeof(float));
        o += gp[i]->numel;
    }
    if (gw) memcpy(p + o, gw, ngw * sizeof(float));
    if (sr_dist_sum(p, n, err)) return -1;
    o = 0;
    for (int i = 0; i < ngp; i++) {
        memcpy(gp[i]->grad, p + o, gp[i]->numel * sizeof(float));
        o += gp[i]->numel;
    }
    if (gw) memcpy(gw, p + o, ngw * sizeof(float));
    return 0;
}
