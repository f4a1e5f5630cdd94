/* SPDX-License-Identifier: MIT */
/*
 * xalloc.h -- allocators that abort on out-of-memory. For set-up, dnsctl and
 * slow paths only; the per-query path allocates nothing at all.
 */
#ifndef DNSD_XALLOC_H
#define DNSD_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);

#endif
