/* SPDX-License-Identifier: MIT */
/*
 * line.c -- bounded line reads (see line.h). getline() is not used: it
 * grows its buffer without limit and, on older C libraries, reports a
 * failed allocation like the end of the file.
 */
#include "zones/base/line.h"

#include <errno.h>
#include <stdlib.h>

#include "zones/base/err.h"

static int grow(line_buf_t *lb, size_t max)
{
    size_t cap = lb->cap ? lb->cap * 2 : 256;
    if (cap > max + 2) {
        cap = max + 2; /* max bytes, the newline and the NUL */
    }
    char *b = realloc(lb->buf, cap);
    if (!b) {
        return -ENOMEM;
    }
    lb->buf = b;
    lb->cap = cap;
    return 0;
}

ssize_t line_read(FILE *f, line_buf_t *lb, size_t max)
{
    size_t len = 0;
    ssize_t ret = 0;
    if (!lb->buf && grow(lb, max) != 0) {
        return -ENOMEM;
    }
    flockfile(f);
    for (;;) {
        errno = 0;
        int c = getc_unlocked(f);
        if (c == EOF) {
            /* end of file only when the stream says so: anything else is an error */
            if (ferror_unlocked(f) || !feof_unlocked(f)) {
                ret = errno ? -errno : -EIO;
                goto out;
            }
            break;
        }
        if (c != '\n' && len >= max) {
            ret = DNSD_ELIMIT;
            goto out;
        }
        if (len + 2 > lb->cap) {
            int err = grow(lb, max);
            if (err) {
                ret = err;
                goto out;
            }
        }
        lb->buf[len++] = (char)c;
        if (c == '\n') {
            break;
        }
    }
    ret = (ssize_t)len;
out:
    funlockfile(f);
    lb->buf[ret > 0 ? (size_t)ret : 0] = 0;
    return ret;
}

void line_buf_fini(line_buf_t *lb)
{
    free(lb->buf);
    lb->buf = NULL;
    lb->cap = 0;
}
