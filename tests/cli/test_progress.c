/* The live progress line: one file shows that file; several files in flight
 * (-j N) show the batch, so their names and fractions never take turns on
 * one line. The line goes to a temporary file here instead of a terminal. */
#include "../../src/cli/progress.h"
#include "testlib.h"

/* The last live line drawn so far (after the last "\r\033[K"). */
static const char *last_line(progress *p, char *buf, size_t n)
{
    fflush(p->out);
    long len = ftell(p->out);
    rewind(p->out);
    size_t got = fread(buf, 1, len < (long)n - 1 ? (size_t)len : n - 1, p->out);
    buf[got] = '\0';
    fseek(p->out, 0, SEEK_END);
    const char *s = buf, *q;
    while ((q = strstr(s, "\r\033[K")) != NULL)
        s = q + 4;
    return s;
}

static void open_tty(progress *p, int total)
{
    progress_init(p, total, 0);
    p->out = tmpfile();
    p->tty = 1;
}

static void rows(progress *p, int slot, int done, int total)
{
    p->t_last_draw = 0; /* no 0.1 s throttle here */
    progress_rows(p, slot, done, total, 100, 0, 1);
}

static void test_one_file(void)
{
    progress p;
    open_tty(&p, 3);
    int a = progress_start_file(&p, "dir/a.png");
    CHECK(a >= 0);
    rows(&p, a, 50, 100);
    char buf[8192];
    const char *line = last_line(&p, buf, sizeof buf);
    CHECK_MSG(strstr(line, "[0/3] dir/a.png") != NULL, "%s", line);
    CHECK_MSG(strstr(line, " 50%") != NULL, "%s", line);
    rows(&p, a, 40, 100); /* a band behind the tiles: never steps back */
    line = last_line(&p, buf, sizeof buf);
    CHECK_MSG(strstr(line, " 50%") != NULL, "%s", line);
    progress_end_file(&p, a, "dir/a.png", "a_x4.png", "written", 1.0, NULL);
    line = last_line(&p, buf, sizeof buf);
    CHECK_MSG(strstr(line, "srgan-up: [1/3] written dir/a.png -> a_x4.png") != NULL, "%s", line);
    progress_finish(&p);
    fclose(p.out);
}

static void test_files_in_parallel(void)
{
    progress p;
    open_tty(&p, 4);
    int a = progress_start_file(&p, "a.png"), b = progress_start_file(&p, "b.png");
    CHECK(a >= 0 && b >= 0 && a != b);
    rows(&p, a, 100, 100);
    rows(&p, b, 0, 100);
    char buf[8192];
    const char *line = last_line(&p, buf, sizeof buf);
    /* the batch: (0 done + 1.0 + 0.0) / 4 files */
    CHECK_MSG(strstr(line, "2 files running") != NULL, "%s", line);
    CHECK_MSG(strstr(line, " 25%") != NULL, "%s", line);
    CHECK_MSG(strstr(line, "a.png") == NULL && strstr(line, "b.png") == NULL, "%s", line);
    progress_end_file(&p, a, "a.png", "a_x4.png", "written", 1.0, NULL);
    int c = progress_start_file(&p, "c.png");
    CHECK(c == a); /* a finished file's slot is reused */
    rows(&p, b, 50, 100);
    rows(&p, c, 50, 100);
    line = last_line(&p, buf, sizeof buf);
    CHECK_MSG(strstr(line, "[1/4]") != NULL && strstr(line, " 50%") != NULL, "%s", line); /* 2/4 */
    progress_end_file(&p, b, "b.png", "b_x4.png", "written", 1.0, NULL);
    rows(&p, c, 75, 100); /* alone again: that file's own line */
    line = last_line(&p, buf, sizeof buf);
    CHECK_MSG(strstr(line, "[2/4] c.png") != NULL && strstr(line, " 75%") != NULL, "%s", line);
    progress_finish(&p);
    fclose(p.out);
}

static void test_not_a_terminal(void)
{
    progress p;
    progress_init(&p, 1, 0);
    p.out = tmpfile();
    p.tty = 0;
    int a = progress_start_file(&p, "a.png");
    rows(&p, a, 50, 100);
    progress_end_file(&p, a, "a.png", "a_x4.png", "failed", 0, "a.png: truncated");
    char buf[8192];
    const char *all = last_line(&p, buf, sizeof buf);
    CHECK_MSG(!strcmp(all, "srgan-up: a.png: truncated\n"), "%s", all); /* nothing but the error */
    progress_finish(&p);
    fclose(p.out);
}

int main(void)
{
    RUN(test_one_file);
    RUN(test_files_in_parallel);
    RUN(test_not_a_terminal);
    return testlib_summary();
}
