/* SPDX-License-Identifier: MIT */
/* xalloc.c -- see xalloc.h. */
#include "zones/base/xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void oom(size_t n)
{
    fprintf(stderr, "out of memory allocating %zu bytes\n", n);
    abort();
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        oom(n);
    }
    return p;
}

void *xcalloc(size_t nmemb, size_t size)
{
    void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);
    if (!p) {
        oom(nmemb * size);
    }
    return p;
}

void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        oom(n);
    }
    return q;
}

char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = xmalloc(n);
    memcpy(d, s, n);
    return d;
}

size_t xappend(uint8_t **buf, size_t *len, size_t *cap, const void *p, size_t n)
{
    if (*cap - *len < n) {
        size_t c = *cap ? *cap : 4096;
        while (c - *len < n) {
            c *= 2;
        }
        *buf = xrealloc(*buf, c);
        *cap = c;
    }
    size_t off = *len;
    if (n) { /* memcpy from NULL is undefined even for 0 bytes */
        memcpy(*buf + off, p, n);
    }
    *len += n;
    return off;
}
