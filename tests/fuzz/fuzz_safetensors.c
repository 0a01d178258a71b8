/* fuzz_safetensors.c: the safetensors parser (header length, JSON, dtypes,
 * offsets, metadata) and, for files it accepts, every tensor read as float
 * and the generator's loader (architecture metadata, shapes). */
#include "fuzz_common.h"

#include "srgan/model.h"
#include "srgan/weights.h"

#define FUZZ_MAX_NUMEL ((int64_t)1 << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_file(data, size);
    sr_error err = {0};
    sr_safetensors *st = sr_safetensors_open(path, &err);
    if (!st) {
        fuzz_check_error(&err, path, "open");
        return 0;
    }
    for (int i = 0; i < sr_safetensors_meta_count(st); i++) {
        const char *k = sr_safetensors_meta_key(st, i);
        if (!k || !sr_safetensors_meta(st, k)) {
            fprintf(stderr, "srgan-fuzz: metadata key %d has no value\n", i);
            abort();
        }
    }
    for (int i = 0; i < sr_safetensors_count(st); i++) {
        const char *name = sr_safetensors_name(st, i);
        int64_t shape[8];
        int nd = sr_safetensors_shape(st, name, shape);
        if (nd < 0 || nd > 8) {
            fprintf(stderr, "srgan-fuzz: tensor '%s' listed but has no shape\n", name);
            abort();
        }
        int64_t numel = 1;
        for (int d = 0; d < nd && numel <= FUZZ_MAX_NUMEL; d++)
            numel = shape[d] > 0 && shape[d] <= FUZZ_MAX_NUMEL ? numel * shape[d] : FUZZ_MAX_NUMEL + 1;
        if (numel > FUZZ_MAX_NUMEL)
            continue;
        float *out = malloc((size_t)(numel ? numel : 1) * sizeof(float));
        sr_error e2 = {0};
        if (out && sr_safetensors_read(st, name, nd, shape, out, &e2))
            fuzz_check_error(&e2, path, "read");
        free(out);
    }
    sr_safetensors_close(st);
    sr_error e3 = {0};
    sr_generator *g = sr_generator_load(path, &e3);
    if (g) {
        if (fuzz_verbose())
            fprintf(stderr, "  loaded as a generator\n");
        sr_generator_free(g);
    }
    else
        fuzz_check_error(&e3, path, "generator_load");
    return 0;
}
