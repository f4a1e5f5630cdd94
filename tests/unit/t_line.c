/* SPDX-License-Identifier: MIT */
/*
 * t_line.c -- line_read() (zones/base/line.c): whole lines up to the limit,
 * over-long lines refused, and a failing stream reported as an error, never
 * as the end of the file (the zone importer and config parser rely on it).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "tests/tap.h"
#include "zones/base/err.h"
#include "zones/base/line.h"

/* a stream that yields @c text, then fails with @c err (0: a clean end) */
typedef struct {
    const char *text;
    size_t off, len;
    int err;
} src_t;

static ssize_t src_read(void *cookie, char *buf, size_t size)
{
    src_t *s = cookie;
    if (s->off == s->len) {
        if (s->err) {
            errno = s->err;
            return -1;
        }
        return 0;
    }
    size_t n = s->len - s->off < size ? s->len - s->off : size;
    memcpy(buf, s->text + s->off, n);
    s->off += n;
    return (ssize_t)n;
}

static const struct {
    const char *name;
    const char *text;
    int err;     /* the stream's error after the text */
    size_t max;  /* line limit */
    int nlines;  /* lines read before the final result */
    ssize_t end; /* the final result: 0 (EOF) or an error */
} cases[] = {
    {"two lines, clean end", "a b\ncd\n", 0, 16, 2, 0},
    {"last line without newline", "a\nbc", 0, 16, 2, 0},
    {"empty stream", "", 0, 16, 0, 0},
    {"line of exactly max bytes", "abcd\nx\n", 0, 4, 2, 0},
    {"line of max+1 bytes", "abcde\n", 0, 4, 0, DNSD_ELIMIT},
    {"no newline beyond max (like /dev/zero)", "xxxxxxxxxxxxxxxx", 0, 8, 0, DNSD_ELIMIT},
    {"EIO after one line", "a\n", EIO, 16, 1, -EIO},
    {"ENOMEM in the middle of a line", "a\nbb", ENOMEM, 16, 1, -ENOMEM},
    {"EIO at once", "", EIO, 16, 0, -EIO},
};

int main(void)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        src_t s = {cases[i].text, 0, strlen(cases[i].text), cases[i].err};
        FILE *f = fopencookie(&s, "r", (cookie_io_functions_t){.read = src_read});
        line_buf_t lb = {0};
        int lines = 0;
        ssize_t r;
        while ((r = line_read(f, &lb, cases[i].max)) > 0 && lines < 100) {
            lines++;
        }
        is_int(lines, cases[i].nlines, "%s: %d lines", cases[i].name, cases[i].nlines);
        is_int(r, cases[i].end, "%s: then %s", cases[i].name,
               cases[i].end ? dnsd_strerror((int)cases[i].end) : "end of file");
        line_buf_fini(&lb);
        fclose(f);
    }
    /* the content and length of what was read */
    src_t s = {"one\ntwo\0x\n", 0, 10, 0};
    FILE *f = fopencookie(&s, "r", (cookie_io_functions_t){.read = src_read});
    line_buf_t lb = {0};
    is_int(line_read(f, &lb, 64), 4, "first line: 4 bytes");
    is_str(lb.buf, "one\n", "first line: its text and newline");
    is_int(line_read(f, &lb, 64), 6, "a NUL byte is kept: the length counts it");
    ok(memcmp(lb.buf, "two\0x\n", 6) == 0, "bytes after the NUL kept");
    is_int(line_read(f, &lb, 64), 0, "then the end");
    line_buf_fini(&lb);
    fclose(f);
    return done_testing();
}
