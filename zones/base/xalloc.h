/* SPDX-License-Identifier: MIT */
/*
 * xalloc.h -- allocators that abort on out-of-memory. For set-up, dnsctl and
 * slow paths only; the per-query path allocates nothing at all.
 */
#ifndef DNSD_XALLOC_H
#define DNSD_XALLOC_H

#include <stddef.h>
#include <stdint.h>

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);

/**
 * Append @p n bytes at @p p to the growing byte buffer *@p buf (*@p len
 * bytes used of *@p cap; the buffer doubles, from 4 KiB, as needed).
 * @return the offset they start at: keep offsets, the buffer moves.
 */
size_t xappend(uint8_t **buf, size_t *len, size_t *cap, const void *p, size_t n);

#endif
