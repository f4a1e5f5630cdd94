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
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char fz_dir[64];
static void fz_rmtree(void);

__attribute__((format(printf, 1, 2), noreturn)) static inline void fz_fail(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "fuzz invariant broken: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fz_rmtree(); /* abort() skips atexit(): leave no scratch store behind */
    abort();
}

static inline int fz_rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void fz_rmtree(void)
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

/*
 * A name at *@p off of DNS message @p p: labels of at most 63 bytes, at most
 * 255 bytes in all, compression pointers only to earlier bytes (so no loop).
 * Moves *@p off past it. false if malformed.
 */
static inline bool fz_name(const uint8_t *p, size_t len, size_t *off)
{
    size_t o = *off, total = 0;
    bool jumped = false;
    for (;;) {
        if (o >= len) {
            return false;
        }
        uint8_t l = p[o];
        if ((l & 0xC0) == 0xC0) {
            if (o + 1 >= len) {
                return false;
            }
            size_t to = (size_t)(l & 0x3F) << 8 | p[o + 1];
            if (to >= o) {
                return false;
            }
            if (!jumped) {
                *off = o + 2;
            }
            jumped = true;
            o = to;
            continue;
        }
        if (l & 0xC0) {
            return false;
        }
        total += 1u + l;
        if (total > 255) {
            return false;
        }
        if (l == 0) {
            if (!jumped) {
                *off = o + 1;
            }
            return true;
        }
        o += 1u + l;
    }
}

/*
 * Is @p p (@p len bytes) a well-formed DNS response? Header counts match
 * the sections, every name decompresses (fz_name), every RR fits, nothing
 * follows the last one; the rdata of the types a resolver decompresses (NS,
 * CNAME, PTR, MX, SOA) holds exactly its names and numbers. Returns NULL, or
 * what is wrong.
 */
static inline const char *fz_check_response(const uint8_t *p, size_t len)
{
    if (len < 12) {
        return "shorter than a header";
    }
    size_t off = 12;
    unsigned qd = (unsigned)(p[4] << 8 | p[5]);
    unsigned rrs = (unsigned)(p[6] << 8 | p[7]) + (unsigned)(p[8] << 8 | p[9]) +
                   (unsigned)(p[10] << 8 | p[11]);
    for (unsigned i = 0; i < qd; i++) {
        if (!fz_name(p, len, &off) || len - off < 4) {
            return "bad question";
        }
        off += 4;
    }
    for (unsigned i = 0; i < rrs; i++) {
        if (!fz_name(p, len, &off) || len - off < 10) {
            return "bad RR owner or header";
        }
        unsigned type = (unsigned)(p[off] << 8 | p[off + 1]);
        size_t rdlen = (size_t)(p[off + 8] << 8 | p[off + 9]);
        off += 10;
        if (len - off < rdlen) {
            return "rdata past the end";
        }
        size_t r = off, end = off + rdlen;
        bool names = true;
        switch (type) {
        case 2: case 5: case 12: /* NS CNAME PTR */
            names = fz_name(p, end, &r);
            break;
        case 15: /* MX */
            r += 2;
            names = r <= end && fz_name(p, end, &r);
            break;
        case 6: /* SOA */
            names = fz_name(p, end, &r) && fz_name(p, end, &r) && end - r == 20;
            r = names ? end : r;
            break;
        default:
            r = end;
        }
        if (!names || r != end) {
            return "rdata of NS/CNAME/PTR/MX/SOA is not its names";
        }
        off = end;
    }
    return off == len ? NULL : "bytes after the last RR";
}

#endif
