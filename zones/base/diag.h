/* SPDX-License-Identifier: MIT */
/*
 * diag.h -- where an input error was found. Parsers (zone files, config,
 * dnsctl arguments) fill one; the caller prints "file:line: text" and exits
 * non-zero, having aborted its write transaction.
 */
#ifndef DNSD_DIAG_H
#define DNSD_DIAG_H

#include <stdarg.h>
#include <stdio.h>

typedef struct diag {
    char file[256]; /* file name, or an argument's name ("record"), or "" */
    int line;       /* 1-based line; 0 when not about a file */
    char text[512];
} diag_t;

__attribute__((format(printf, 4, 5)))
static inline void diag_set(diag_t *d, const char *file, int line, const char *fmt, ...)
{
    if (!d) {
        return;
    }
    snprintf(d->file, sizeof(d->file), "%s", file ? file : "");
    d->line = line;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->text, sizeof(d->text), fmt, ap);
    va_end(ap);
}

/** Print "file:line: text" (or "file: text", or "text") with a newline. */
static inline void diag_print(const diag_t *d, FILE *to)
{
    if (d->file[0] && d->line > 0) {
        fprintf(to, "%s:%d: %s\n", d->file, d->line, d->text);
    } else if (d->file[0]) {
        fprintf(to, "%s: %s\n", d->file, d->text);
    } else {
        fprintf(to, "%s\n", d->text);
    }
}

#endif
