/* SPDX-License-Identifier: MIT */
/*
 * line.h -- read one text line of bounded length from a stdio stream. Used
 * by the config parser (dnsd/config.c) and the zone importer (zones/import.c)
 * so that neither splits a long line in two nor grows without limit on a
 * file with no newline (/dev/zero), and neither mistakes a read error for
 * the end of the file. Only libc; slow path, any thread (one buffer per
 * caller).
 */
#ifndef DNSD_LINE_H
#define DNSD_LINE_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

/* The longest line the config file and zone files may have: 64 KiB, four
 * times the largest RDATA in presentation form a zone file needs in practice
 * (a 65535-byte TXT needs several lines with "( )" anyway). */
#define LINE_LEN_MAX ((size_t)64 * 1024)

typedef struct line_buf {
    char *buf; /* NUL-terminated after each successful read */
    size_t cap;
} line_buf_t;

/**
 * Read the next line of @p f into @p lb (the '\n' kept when present; bytes
 * after a NUL are kept too, so use the returned length).
 * @return the line's length (> 0); 0 at the end of the file; DNSD_ELIMIT if
 *         the line has more than @p max bytes before its newline; a negated
 *         errno for a read or allocation failure (-EIO when the stream sets
 *         no errno). A read error is never reported as the end of the file.
 */
ssize_t line_read(FILE *f, line_buf_t *lb, size_t max);

/** Release the buffer; the struct may be reused after. */
void line_buf_fini(line_buf_t *lb);

#endif
