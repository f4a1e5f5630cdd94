/* SPDX-License-Identifier: MIT */
/*
 * fuzz_util.h -- small helpers shared by the fuzz targets (test code: any
 * failure to set up aborts): a private temp directory removed at exit,
 * whole-file writes, and fz_fail(), which prints why an invariant broke and
 * aborts so libFuzzer (or replay.c) reports the input.
 */
#ifndef DNSD_FUZZ_UTIL_H
#define DNSD_FUZZ_UTIL_H

#include <ftw.h> /* nftw: config.h (AC_USE_SYSTEM_EXTENSIONS) defines _GNU_SOURCE */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

__attribute__((format(printf, 1, 2), noreturn)) static inline void fz_fail(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "fuzz invariant broken: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}

static char fz_dir[64];

static inline int fz_rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static inline void fz_rmtree(void)
{
    if (fz_dir[0] && nftw(fz_dir, fz_rm_one, 16, FTW_DEPTH | FTW_PHYS) != 0) {
        fprintf(stderr, "cannot remove %s\n", fz_dir);
    }
}

/* Make the process's temp dir /tmp/fuzz_NAME.XXXXXX ($TMPDIR honoured), removed at exit. */
static inline const char *fz_tmpdir(const char *name)
{
    const char *t = getenv("TMPDIR");
    snprintf(fz_dir, sizeof(fz_dir), "%.30s/fuzz_%.12s.XXXXXX", t && *t ? t : "/tmp", name);
    if (!mkdtemp(fz_dir)) {
        perror("mkdtemp");
        abort();
    }
    atexit(fz_rmtree);
    return fz_dir;
}

/* Replace @p path with @p len bytes of @p data. */
static inline void fz_write(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f || (len && fwrite(data, 1, len, f) != len) || fclose(f) != 0) {
        perror(path);
        abort();
    }
}

#endif
