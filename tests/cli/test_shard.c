/* test_shard.c: splitting a batch across array tasks (src/cli/shard.c).
 * - K/N and "slurm" parsing, with Slurm's array variables (steps too);
 * - every file goes to exactly one part, parts balanced by bytes (one huge
 *   file alone in its part), the split independent of anything but the
 *   list and sizes;
 * - report names per part (%K, %N, or .K-of-N before the extension);
 * - merged reports: one header, sorted, the last report's row wins for an
 *   input listed twice (a retry), malformed reports refused with the name.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../src/cli/shard.h"
#include "testlib.h"

static void test_parse(void)
{
    int k, n;
    char why[256];
    CHECK(shard_parse("2/4", &k, &n, why, sizeof why) == 0 && k == 2 && n == 4);
    CHECK(shard_parse("1/1", &k, &n, why, sizeof why) == 0 && k == 1 && n == 1);
    static const char *bad[] = {"0/4", "5/4", "2/0", "2", "/4", "2/", "a/b", "-1/4", "2/4x", "1/100001", ""};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        CHECK_MSG(shard_parse(bad[i], &k, &n, why, sizeof why) != 0, "'%s' accepted", bad[i]);
        CHECK(strstr(why, "--shard") != NULL && strchr(why, '\n') == NULL);
    }
    unsetenv("SLURM_ARRAY_TASK_ID");
    CHECK(shard_parse("slurm", &k, &n, why, sizeof why) != 0 && strstr(why, "sbatch"));
    char hint[256];
    CHECK(shard_slurm_hint(hint, sizeof hint) == NULL);
    setenv("SLURM_ARRAY_TASK_ID", "5", 1);
    setenv("SLURM_ARRAY_TASK_MIN", "4", 1);
    setenv("SLURM_ARRAY_TASK_COUNT", "3", 1);
    unsetenv("SLURM_ARRAY_TASK_STEP");
    CHECK(shard_parse("slurm", &k, &n, why, sizeof why) == 0 && k == 2 && n == 3); /* --array=4-6 */
    CHECK(shard_slurm_hint(hint, sizeof hint) && strstr(hint, "--shard slurm"));
    setenv("SLURM_ARRAY_TASK_ID", "10", 1); /* --array=0-10:5: tasks 0, 5, 10 */
    setenv("SLURM_ARRAY_TASK_MIN", "0", 1);
    setenv("SLURM_ARRAY_TASK_STEP", "5", 1);
    CHECK(shard_parse("slurm", &k, &n, why, sizeof why) == 0 && k == 3 && n == 3);
    setenv("SLURM_ARRAY_TASK_ID", "7", 1); /* not on the step: an irregular array */
    CHECK(shard_parse("slurm", &k, &n, why, sizeof why) != 0 && strstr(why, "K/N"));
    unsetenv("SLURM_ARRAY_TASK_COUNT");
    setenv("SLURM_ARRAY_TASK_ID", "5", 1);
    setenv("SLURM_ARRAY_TASK_MAX", "10", 1);
    CHECK(shard_parse("slurm", &k, &n, why, sizeof why) == 0 && k == 2 && n == 3); /* count from max */
    unsetenv("SLURM_ARRAY_TASK_ID");
}

static void test_assign(void)
{
    enum { C = 40 };
    uint64_t size[C];
    for (int i = 0; i < C; i++) size[i] = 1000 + (uint64_t)(i * 7919 % 97) * 10;
    size[13] = 1000000; /* one huge stack */
    for (int n = 1; n <= 6; n++) {
        int part[C], again[C];
        shard_assign(size, C, n, part);
        shard_assign(size, C, n, again);
        CHECK(!memcmp(part, again, sizeof part)); /* deterministic */
        uint64_t load[7] = {0};
        int count[7] = {0};
        for (int i = 0; i < C; i++) {
            CHECK(part[i] >= 1 && part[i] <= n);
            load[part[i]] += size[i];
            count[part[i]]++;
        }
        if (n >= 2) {
            /* The huge file's part holds nothing else; the others share the
             * rest evenly (within one file's size). */
            CHECK_MSG(count[part[13]] == 1, "n=%d: the huge file shares its part with %d", n,
                      count[part[13]] - 1);
            uint64_t lo = UINT64_MAX, hi = 0;
            for (int p = 1; p <= n; p++)
                if (p != part[13]) {
                    lo = load[p] < lo ? load[p] : lo;
                    hi = load[p] > hi ? load[p] : hi;
                }
            CHECK_MSG(hi - lo <= 2000, "n=%d: parts of %llu..%llu bytes", n, (unsigned long long)lo,
                      (unsigned long long)hi);
        }
    }
    /* More parts than files: every file still goes somewhere once. */
    int part[3];
    uint64_t s3[3] = {5, 5, 5};
    shard_assign(s3, 3, 8, part);
    CHECK(part[0] != part[1] && part[1] != part[2] && part[0] != part[2]);
}

static void test_report_path(void)
{
    char out[256];
    CHECK(shard_report_path("run_%K.csv", 2, 4, out, sizeof out) == 0 && !strcmp(out, "run_2.csv"));
    CHECK(shard_report_path("r/%K-of-%N.csv", 3, 8, out, sizeof out) == 0 && !strcmp(out, "r/3-of-8.csv"));
    CHECK(shard_report_path("run.csv", 2, 4, out, sizeof out) == 0 && !strcmp(out, "run.2-of-4.csv"));
    CHECK(shard_report_path("dir.v1/run", 1, 2, out, sizeof out) == 0 && !strcmp(out, "dir.v1/run.1-of-2"));
    CHECK(shard_report_path("x/.csv", 1, 2, out, sizeof out) == 0 && !strcmp(out, "x/.csv.1-of-2"));
    CHECK(shard_report_path("run_%K.csv", 2, 4, out, 6) != 0);
}

static void put(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

static void test_merge(void)
{
    char a[512], b[512], o[512], bad[512];
    mkdir(TEST_TMPDIR(), 0777);
    snprintf(a, sizeof a, "%s/shard_a.csv", TEST_TMPDIR());
    snprintf(b, sizeof b, "%s/shard_b.csv", TEST_TMPDIR());
    snprintf(o, sizeof o, "%s/shard_all.csv", TEST_TMPDIR());
    snprintf(bad, sizeof bad, "%s/shard_bad.csv", TEST_TMPDIR());
    put(a, "input,output,status,seconds,error\n"
           "in/z.png,out/z.png,written,1.0,\n"
           "\"in/a,b.png\",\"out/a,b.png\",failed,0.1,\"in/a,b.png: truncated\"\n");
    put(b, "input,output,status,seconds,error\r\n"
           "in/m.png,out/m.png,written,2.0,\r\n"
           "\"in/a,b.png\",\"out/a,b.png\",written,0.5,\r\n"
           "in/q.png,out/q.png,failed,0.1,\"in/q.png: bad\nsecond line\"\r\n");
    char *in[] = {a, b};
    FILE *msg = tmpfile();
    CHECK(shard_merge_reports(o, in, 2, msg) == 0);
    FILE *f = fopen(o, "r");
    char got[1024] = "";
    size_t n = f ? fread(got, 1, sizeof got - 1, f) : 0;
    got[n] = '\0';
    if (f) fclose(f);
    CHECK_MSG(!strcmp(got, "input,output,status,seconds,error\n"
                           "\"in/a,b.png\",\"out/a,b.png\",written,0.5,\n"
                           "in/m.png,out/m.png,written,2.0,\n"
                           "in/q.png,out/q.png,failed,0.1,\"in/q.png: bad\nsecond line\"\n"
                           "in/z.png,out/z.png,written,1.0,\n"),
              "merged:\n%s", got);
    put(bad, "input,output,status,seconds,error\nx.png,y.png,written\n");
    char *in2[] = {a, bad};
    unlink(o);
    CHECK(shard_merge_reports(o, in2, 2, msg) != 0);
    struct stat st;
    CHECK(stat(o, &st) != 0); /* nothing written on failure */
    rewind(msg);
    char line[512] = "";
    while (fgets(line, sizeof line, msg)) {}
    CHECK_MSG(strstr(line, bad) != NULL, "message '%s'", line);
    fclose(msg);
}

int main(void)
{
    RUN(test_parse);
    RUN(test_assign);
    RUN(test_report_path);
    RUN(test_merge);
    return testlib_summary();
}
