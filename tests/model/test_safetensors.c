/* test_safetensors.c: safetensors reader/writer: round trip, F16/BF16
 * conversion, and hostile files (truncated at every offset, flipped bytes,
 * lying lengths, offsets and shapes) that must fail with a one-line error
 * naming the file, never crash. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "srgan/weights.h"
#include "testlib.h"

static char g_dir[1024];

static const char *tmp_path(const char *name)
{
    static char buf[4][1200];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", g_dir, name);
    return buf[k];
}

static void write_bytes(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        exit(2);
    }
    if (n)
        fwrite(p, 1, n, f);
    fclose(f);
}

static unsigned char *read_bytes(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *p = malloc(*n + 1);
    if (fread(p, 1, *n, f) != *n)
        *n = 0;
    fclose(f);
    return p;
}

/* A file made of an explicit header (length field = strlen(json) unless
 * lenfield != UINT64_MAX) and data. */
static void write_raw(const char *path, const char *json, const void *data, size_t ndata,
                      uint64_t lenfield)
{
    size_t hl = strlen(json);
    uint64_t L = lenfield == UINT64_MAX ? hl : lenfield;
    unsigned char *buf = malloc(8 + hl + ndata);
    for (int i = 0; i < 8; i++)
        buf[i] = (unsigned char)(L >> (8 * i));
    memcpy(buf + 8, json, hl);
    if (ndata)
        memcpy(buf + 8 + hl, data, ndata);
    write_bytes(path, buf, 8 + hl + ndata);
    free(buf);
}

/* Opening must fail with a one-line message naming the file and containing
 * `want` (if not NULL). */
static int expect_fail(const char *path, const char *want)
{
    sr_error err = {0};
    sr_safetensors *st = sr_safetensors_open(path, &err);
    if (st) {
        sr_safetensors_close(st);
        fprintf(stderr, "  opened unexpectedly (want error '%s')\n", want ? want : "");
        return 0;
    }
    int ok = err.code != SR_OK && strstr(err.msg, path) == err.msg && !strchr(err.msg, '\n');
    if (want && !strstr(err.msg, want))
        ok = 0;
    if (!ok)
        fprintf(stderr, "  message: %s (want '%s')\n", err.msg, want ? want : "");
    return ok;
}

static void test_roundtrip(void)
{
    const char *path = tmp_path("rt.safetensors");
    float a[2 * 3 * 4], b[5], c[1];
    for (int i = 0; i < 24; i++)
        a[i] = (float)i * 0.25f - 3.0f;
    for (int i = 0; i < 5; i++)
        b[i] = (float)(1e-30 * (i + 1)) * (i % 2 ? -1.0f : 1.0f);
    c[0] = INFINITY;
    int64_t sa[3] = {2, 3, 4}, sb[1] = {5};
    sr_st_writer *w = sr_st_writer_new();
    sr_st_writer_meta(w, "arch", "msrresnet");
    sr_st_writer_meta(w, "quote\"back\\slash", "line\nbreak\ttab \xc3\xa9 \x01");
    sr_st_writer_meta(w, "arch", "srresnet"); /* replaces */
    sr_st_writer_add(w, "a.weight", 3, sa, a);
    sr_st_writer_add(w, "b", 1, sb, b);
    sr_st_writer_add(w, "scalar", 0, NULL, c);
    sr_error err = {0};
    CHECK(sr_st_writer_save(w, path, &err) == 0);
    sr_st_writer_free(w);

    size_t n;
    unsigned char *raw = read_bytes(path, &n);
    CHECK(raw && n > 8);
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--)
        hl = hl << 8 | raw[i];
    CHECK(hl % 8 == 0);
    CHECK(n == 8 + hl + 4 * (24 + 5 + 1));
    free(raw);

    sr_safetensors *st = sr_safetensors_open(path, &err);
    CHECK_MSG(st != NULL, "%s", err.msg);
    if (!st)
        return;
    CHECK(sr_safetensors_count(st) == 3);
    CHECK(!strcmp(sr_safetensors_meta(st, "arch"), "srresnet"));
    const char *v = sr_safetensors_meta(st, "quote\"back\\slash");
    CHECK(v && !strcmp(v, "line\nbreak\ttab \xc3\xa9 \x01"));
    CHECK(sr_safetensors_meta(st, "nope") == NULL);
    CHECK(sr_safetensors_meta_count(st) == 2);
    CHECK(sr_safetensors_has(st, "b") && !sr_safetensors_has(st, "c"));
    int64_t shp[8];
    CHECK(sr_safetensors_shape(st, "a.weight", shp) == 3 && shp[0] == 2 && shp[2] == 4);
    CHECK(sr_safetensors_shape(st, "scalar", shp) == 0);
    CHECK(sr_safetensors_shape(st, "zzz", shp) == -1);
    float ra[24], rb[5], rc[1];
    CHECK(sr_safetensors_read(st, "a.weight", 3, sa, ra, &err) == 0);
    CHECK(sr_safetensors_read(st, "b", 1, sb, rb, &err) == 0);
    CHECK(sr_safetensors_read(st, "scalar", 0, NULL, rc, &err) == 0);
    CHECK(!memcmp(a, ra, sizeof a) && !memcmp(b, rb, sizeof b) && isinf(rc[0]));
    /* shape mismatch and absent tensor: errors naming file and tensor */
    int64_t wrong[3] = {2, 4, 3};
    sr_error e2 = {0};
    CHECK(sr_safetensors_read(st, "a.weight", 3, wrong, ra, &e2) == -1);
    CHECK(strstr(e2.msg, path) && strstr(e2.msg, "'a.weight'") && strstr(e2.msg, "[2, 3, 4]"));
    sr_error e3 = {0};
    CHECK(sr_safetensors_read(st, "missing.bias", 1, sb, rb, &e3) == -1);
    CHECK(strstr(e3.msg, "'missing.bias'") && strstr(e3.msg, "missing"));
    sr_safetensors_close(st);

    /* No temporary file left behind next to the output. */
    char cmd[1400];
    snprintf(cmd, sizeof cmd, "ls '%s' | grep -q 'rt.safetensors.tmp'", g_dir);
    CHECK(system(cmd) != 0);
}

static void test_writer_errors(void)
{
    float x = 1;
    int64_t s1[1] = {1};
    sr_st_writer *w = sr_st_writer_new();
    sr_st_writer_add(w, "x", 1, s1, &x);
    sr_st_writer_add(w, "x", 1, s1, &x); /* duplicate */
    sr_error err = {0};
    CHECK(sr_st_writer_save(w, tmp_path("dup.safetensors"), &err) == -1);
    CHECK(strstr(err.msg, "duplicate") != NULL);
    sr_st_writer_free(w);
    w = sr_st_writer_new();
    sr_st_writer_add(w, "x", 1, s1, &x);
    sr_error e2 = {0};
    CHECK(sr_st_writer_save(w, "/nonexistent-dir/x.safetensors", &e2) == -1);
    CHECK(strstr(e2.msg, "/nonexistent-dir/x.safetensors") == e2.msg);
    sr_st_writer_free(w);
}

/* Independent half -> float (ldexp arithmetic rather than bit assembly). */
static double half_ref(uint16_t h)
{
    int s = h >> 15, e = (h >> 10) & 31, m = h & 1023;
    double v;
    if (e == 0)
        v = ldexp(m, -24);
    else if (e == 31)
        v = m ? NAN : INFINITY;
    else
        v = ldexp(1024 + m, e - 25);
    return s ? -v : v;
}

static void test_f16_bf16(void)
{
    uint16_t h[8] = {0x3C00, 0xC000, 0x7BFF, 0x0001, 0x03FF, 0x7C00, 0x8000, 0x3555};
    uint16_t bf[3] = {0x3F80, 0xC0A0, 0x0001};
    unsigned char data[16 + 6];
    for (int i = 0; i < 8; i++) {
        data[2 * i] = (unsigned char)h[i];
        data[2 * i + 1] = (unsigned char)(h[i] >> 8);
    }
    for (int i = 0; i < 3; i++) {
        data[16 + 2 * i] = (unsigned char)bf[i];
        data[16 + 2 * i + 1] = (unsigned char)(bf[i] >> 8);
    }
    const char *path = tmp_path("half.safetensors");
    write_raw(path,
              "{\"h\":{\"dtype\":\"F16\",\"shape\":[2,4],\"data_offsets\":[0,16]},"
              " \"b\" : {\"shape\":[3],\"dtype\":\"BF16\",\"data_offsets\":[16,22]}}",
              data, sizeof data, UINT64_MAX);
    sr_error err = {0};
    sr_safetensors *st = sr_safetensors_open(path, &err);
    CHECK_MSG(st != NULL, "%s", err.msg);
    if (!st)
        return;
    float out[8], ob[3];
    int64_t s[2] = {2, 4}, sb[1] = {3};
    CHECK(sr_safetensors_read(st, "h", 2, s, out, &err) == 0);
    for (int i = 0; i < 8; i++)
        CHECK_MSG((double)out[i] == half_ref(h[i]), "h[%d] = %g vs %g", i, out[i],
                  half_ref(h[i]));
    CHECK(signbit(out[6]));
    CHECK(sr_safetensors_read(st, "b", 1, sb, ob, &err) == 0);
    CHECK(ob[0] == 1.0f && ob[1] == -5.0f && ob[2] > 0 && ob[2] < 1e-38f);
    sr_safetensors_close(st);
}

static void test_bad_headers(void)
{
    const char *p = tmp_path("bad.safetensors");
    unsigned char d[64] = {0};
    struct {
        const char *json;
        size_t ndata;
        const char *want;
    } cases[] = {
        {"{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4, "'x'"},
        {"{\"x\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8, "'x'"},
        {"{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 8, "'x'"},
        {"{\"x\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]}}", 8, "F64"},
        {"{\"x\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[0,8]}}", 8, "'x'"},
        {"{\"x\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4, "shape"},
        {"{\"x\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", 4, "shape"},
        {"{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
         "\"y\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 8, "contiguous"},
        {"{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
         "\"y\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", 12, "'y'"},
        {"{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 8, "cover"},
        {"{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
         "\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, "twice"},
        {"{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"extra\":1}}", 4, "'x'"},
        {"{\"x\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, "'x'"},
        {"{\"x\":[1,2]}", 0, "'x'"},
        {"{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}} x", 4, "trailing"},
        {"{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}", 4, "JSON"},
        {"{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],}}", 4, "JSON"},
        {"{\"__metadata__\":{\"a\":1},"
         "\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "__metadata__"},
        {"{\"__metadata__\":{\"a\":\"1\",\"a\":\"2\"}}", 0, "twice"},
        {"{\"__metadata__\":[]}", 0, "__metadata__"},
        {"{\"a\\q\":1}", 0, "escape"},
        {"{\"a\\ud800\":1}", 0, "surrogate"},
        {"{\"a\x01\":1}", 0, "control"},
        {"{\"\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "empty"},
        {"{\"a\\u0000b\":1}", 0, "NUL"},
        {"{\"x\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 4,
         "'x'"},
        {"{\"x\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,4]}}", 4,
         "'x'"},
        {"{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,18446744073709551620]}}", 4,
         "'x'"},
        {"{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[18446744073709551612,0]}}", 4,
         "'x'"},
        {"[]", 0, "JSON"},
        {"{}", 4, "no tensors"},
        {"{\"n\":01}", 0, "leading zero"},
        {"{\"n\":tru}", 0, "JSON"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        write_raw(p, cases[i].json, d, cases[i].ndata, UINT64_MAX);
        CHECK_MSG(expect_fail(p, cases[i].want), "case %zu: %s", i, cases[i].json);
    }
    /* nesting limit */
    char deep[200] = "{\"a\":";
    for (int i = 0; i < 40; i++)
        strcat(deep, "[");
    write_raw(p, deep, d, 0, UINT64_MAX);
    CHECK(expect_fail(p, "deep"));
    /* a few structurally valid files that must open */
    write_raw(p, "{}", d, 0, UINT64_MAX);
    sr_error err = {0};
    sr_safetensors *st = sr_safetensors_open(p, &err);
    CHECK(st && sr_safetensors_count(st) == 0);
    sr_safetensors_close(st);
    write_raw(p,
              " {\"e\":{\"dtype\":\"F32\",\"shape\":[0,3],\"data_offsets\":[0,0]},"
              "\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
              "\"__metadata__\":{\"k\\u00e9\\ud83d\\ude00\":\"v\\/\"}}   ",
              d, 4, UINT64_MAX);
    /* a header must start with '{' */
    CHECK(expect_fail(p, "JSON"));
    write_raw(p,
              "{\"e\":{\"dtype\":\"F32\",\"shape\":[0,3],\"data_offsets\":[0,0]},"
              "\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
              "\"__metadata__\":{\"k\\u00e9\\ud83d\\ude00\":\"v\\/\"}}   ",
              d, 4, UINT64_MAX);
    sr_error e2 = {0};
    st = sr_safetensors_open(p, &e2);
    CHECK_MSG(st != NULL, "%s", e2.msg);
    if (st) {
        CHECK(sr_safetensors_count(st) == 2);
        const char *v = sr_safetensors_meta(st, "k\xc3\xa9\xf0\x9f\x98\x80");
        CHECK(v && !strcmp(v, "v/"));
        sr_safetensors_close(st);
    }
    /* lying header length fields */
    const char *ok = "{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}";
    uint64_t hl = strlen(ok);
    uint64_t lies[] = {0, 1, hl - 1, hl + 1, hl + 4, hl + 5, 1000, (uint64_t)1 << 40,
                       UINT64_MAX - 1};
    for (size_t i = 0; i < sizeof lies / sizeof *lies; i++) {
        write_raw(p, ok, d, 4, lies[i]);
        CHECK_MSG(expect_fail(p, NULL), "header length %llu", (unsigned long long)lies[i]);
    }
    write_raw(p, ok, d, 4, UINT64_MAX);
    st = sr_safetensors_open(p, &err);
    CHECK(st != NULL);
    sr_safetensors_close(st);
    /* not a file / missing / empty */
    CHECK(expect_fail(tmp_path("does-not-exist.safetensors"), NULL));
    CHECK(expect_fail(g_dir, NULL));
    write_bytes(p, "", 0);
    CHECK(expect_fail(p, "short"));
}

/* A valid reference file used by the fuzz loops. */
static unsigned char *make_valid(const char *path, size_t *n)
{
    float a[12], b[3];
    for (int i = 0; i < 12; i++)
        a[i] = (float)i;
    for (int i = 0; i < 3; i++)
        b[i] = -(float)i;
    int64_t sa[2] = {3, 4}, sb[1] = {3};
    sr_st_writer *w = sr_st_writer_new();
    sr_st_writer_meta(w, "arch", "msrresnet");
    sr_st_writer_meta(w, "scale", "4");
    sr_st_writer_add(w, "conv.weight", 2, sa, a);
    sr_st_writer_add(w, "conv.bias", 1, sb, b);
    sr_error err = {0};
    if (sr_st_writer_save(w, path, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        exit(2);
    }
    sr_st_writer_free(w);
    return read_bytes(path, n);
}

/* Opening a damaged file either fails cleanly or yields a consistent file
 * whose tensors can all be read. */
static int open_and_read_all(const char *path)
{
    sr_error err = {0};
    sr_safetensors *st = sr_safetensors_open(path, &err);
    if (!st)
        return err.code != SR_OK && strstr(err.msg, path) == err.msg && !strchr(err.msg, '\n')
                   ? 0
                   : -1;
    int rc = 1;
    for (int i = 0; i < sr_safetensors_count(st); i++) {
        int64_t s[8];
        const char *name = sr_safetensors_name(st, i);
        int nd = sr_safetensors_shape(st, name, s);
        size_t numel = 1;
        for (int k = 0; k < nd; k++)
            numel *= (size_t)s[k];
        if (numel > (1u << 20))
            return -1; /* impossible: the data area is tiny */
        float *buf = malloc((numel ? numel : 1) * sizeof(float));
        sr_error e2 = {0};
        if (sr_safetensors_read(st, name, nd, s, buf, &e2))
            rc = -1;
        free(buf);
    }
    sr_safetensors_close(st);
    return rc;
}

static void test_truncated(void)
{
    const char *ref = tmp_path("fuzz_ref.safetensors");
    const char *p = tmp_path("trunc.safetensors");
    size_t n;
    unsigned char *valid = make_valid(ref, &n);
    CHECK(open_and_read_all(ref) == 1);
    int bad = 0;
    for (size_t cut = 0; cut < n; cut++) {
        write_bytes(p, valid, cut);
        if (open_and_read_all(p) != 0) { /* every truncation must be refused */
            fprintf(stderr, "  truncation at %zu not refused cleanly\n", cut);
            bad++;
        }
    }
    CHECK(bad == 0);
    free(valid);
}

static void test_flipped(void)
{
    const char *ref = tmp_path("flip_ref.safetensors");
    const char *p = tmp_path("flip.safetensors");
    size_t n;
    unsigned char *valid = make_valid(ref, &n);
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--)
        hl = hl << 8 | valid[i];
    unsigned char *buf = malloc(n);
    const unsigned char subst[] = {0x00, 0xFF, '"', '\\', '{', '}', '[', ']', ',', ':',
                                   '0',  '9',  '-', 'e', ' ', 'u', 0x80, 'F'};
    int bad = 0, opened = 0, refused = 0;
    /* every byte of the length field and the header, many substitutes each */
    for (size_t pos = 0; pos < 8 + hl; pos++) {
        for (size_t k = 0; k < sizeof subst + 1; k++) {
            memcpy(buf, valid, n);
            buf[pos] = k < sizeof subst ? subst[k] : (unsigned char)(valid[pos] ^ 0x01);
            if (buf[pos] == valid[pos])
                continue;
            write_bytes(p, buf, n);
            int r = open_and_read_all(p);
            if (r < 0) {
                fprintf(stderr, "  flip at %zu to 0x%02x: unclean\n", pos, buf[pos]);
                bad++;
            }
            opened += r == 1;
            refused += r == 0;
        }
    }
    /* random multi-byte damage, deterministic seed */
    uint32_t s = 12345;
    for (int it = 0; it < 1000; it++) {
        memcpy(buf, valid, n);
        int k = 1 + it % 4;
        for (int j = 0; j < k; j++) {
            s = s * 1664525u + 1013904223u;
            size_t pos = (s >> 8) % (8 + hl);
            s = s * 1664525u + 1013904223u;
            buf[pos] = (unsigned char)(s >> 24);
        }
        write_bytes(p, buf, n);
        int r = open_and_read_all(p);
        if (r < 0)
            bad++;
        opened += r == 1;
        refused += r == 0;
    }
    fprintf(stderr, "  damaged files: %d refused, %d still valid\n", refused, opened);
    CHECK(bad == 0);
    CHECK(refused > 500);
    free(buf);
    free(valid);
}

static void test_vgg19(void)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/vgg19/vgg19_conv.safetensors", TEST_SHARED());
    struct stat sb;
    if (stat(path, &sb)) {
        fprintf(stderr, "  %s absent: skipped\n", path);
        return;
    }
    sr_error err = {0};
    sr_safetensors *st = sr_safetensors_open(path, &err);
    CHECK_MSG(st != NULL, "%s", err.msg);
    if (!st)
        return;
    CHECK(sr_safetensors_count(st) == 32);
    int64_t s[8];
    CHECK(sr_safetensors_shape(st, "conv1_1.weight", s) == 4 && s[0] == 64 && s[1] == 3 &&
          s[2] == 3 && s[3] == 3);
    CHECK(sr_safetensors_shape(st, "conv5_4.weight", s) == 4 && s[0] == 512 && s[1] == 512);
    static float w[64 * 27];
    sr_safetensors_shape(st, "conv1_1.weight", s);
    CHECK(sr_safetensors_read(st, "conv1_1.weight", 4, s, w, &err) == 0);
    /* compare with the raw F16 bits, converted independently */
    FILE *f = fopen(path, "rb");
    unsigned char lb[8];
    CHECK(fread(lb, 1, 8, f) == 8);
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--)
        hl = hl << 8 | lb[i];
    fseek(f, (long)(8 + hl), SEEK_SET); /* conv1_1.weight is first: offsets [0, 3456] */
    unsigned char raw[64 * 27 * 2];
    CHECK(fread(raw, 1, sizeof raw, f) == sizeof raw);
    fclose(f);
    int mism = 0;
    double sumabs = 0;
    for (int i = 0; i < 64 * 27; i++) {
        uint16_t h = (uint16_t)(raw[2 * i] | raw[2 * i + 1] << 8);
        mism += (double)w[i] != half_ref(h);
        sumabs += fabs(w[i]);
    }
    CHECK(mism == 0);
    CHECK(sumabs > 1.0 && sumabs < 1e4);
    int64_t sbias[1] = {512};
    float bias[512];
    CHECK(sr_safetensors_read(st, "conv5_4.bias", 1, sbias, bias, &err) == 0);
    sr_safetensors_close(st);
}

int main(void)
{
    snprintf(g_dir, sizeof g_dir, "%s/model_safetensors", TEST_TMPDIR());
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", g_dir);
    if (system(cmd))
        return 2;
    RUN(test_roundtrip);
    RUN(test_writer_errors);
    RUN(test_f16_bf16);
    RUN(test_bad_headers);
    RUN(test_truncated);
    RUN(test_flipped);
    RUN(test_vgg19);
    return testlib_summary();
}
