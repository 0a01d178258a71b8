/* stdiff: compare the tensors of two safetensors files (metadata such as
 * dates and timings is ignored).
 *
 *   stdiff A B TOL    print the largest absolute difference over all tensors;
 *                     exit 0 when it is <= TOL (TOL 0: bit for bit), 1 when
 *                     larger or when the files hold other names or shapes,
 *                     2 on an unreadable file.
 * A tensor present in only one file, or shaped differently, is a difference. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "srgan/weights.h"

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: stdiff A B TOL\n");
        return 2;
    }
    double tol = atof(argv[3]), worst = 0;
    char worst_name[160] = "";
    sr_error err = {0};
    sr_safetensors *a = sr_safetensors_open(argv[1], &err), *b = a ? sr_safetensors_open(argv[2], &err) : NULL;
    if (!a || !b) {
        fprintf(stderr, "stdiff: %s\n", err.msg);
        sr_safetensors_close(a);
        return 2;
    }
    int rc = 0;
    if (sr_safetensors_count(a) != sr_safetensors_count(b)) {
        printf("stdiff: %d tensors vs %d\n", sr_safetensors_count(a), sr_safetensors_count(b));
        rc = 1;
    }
    for (int i = 0; i < sr_safetensors_count(a) && rc == 0; i++) {
        const char *name = sr_safetensors_name(a, i);
        int64_t sa[8], sb[8];
        int na = sr_safetensors_shape(a, name, sa), nb = sr_safetensors_has(b, name) ? sr_safetensors_shape(b, name, sb) : -1;
        if (na < 0 || na != nb || memcmp(sa, sb, (size_t)na * sizeof *sa)) {
            printf("stdiff: %s: missing or shaped differently in %s\n", name, argv[2]);
            rc = 1;
            break;
        }
        size_t n = 1;
        for (int k = 0; k < na; k++) n *= (size_t)sa[k];
        float *x = malloc(n * sizeof *x + 1), *y = malloc(n * sizeof *y + 1);
        if (!x || !y || sr_safetensors_read(a, name, na, sa, x, &err) ||
            sr_safetensors_read(b, name, nb, sb, y, &err)) {
            fprintf(stderr, "stdiff: %s: %s\n", name, err.msg[0] ? err.msg : "out of memory");
            free(x), free(y);
            rc = 2;
            break;
        }
        for (size_t k = 0; k < n; k++) {
            double d = fabs((double)x[k] - (double)y[k]);
            if (isnan(d)) d = INFINITY;
            else if (d == 0 && memcmp(&x[k], &y[k], sizeof *x)) d = 1e-45; /* -0 vs 0: not bit for bit */
            if (d > worst) worst = d, snprintf(worst_name, sizeof worst_name, "%s", name);
        }
        free(x), free(y);
    }
    sr_safetensors_close(a);
    sr_safetensors_close(b);
    if (rc) return rc;
    printf("max abs difference %.3g%s%s\n", worst, *worst_name ? " in " : "", worst_name);
    return worst <= tol ? 0 : 1;
}
