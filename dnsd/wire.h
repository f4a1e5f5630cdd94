/* SPDX-License-Identifier: MIT */
/*
 * wire.h -- the response writer's cursor: a position in the caller's send
 * buffer whose error sticks (a write that does not fit writes nothing and
 * marks the cursor; code writes straight through and checks w->bad once,
 * as rd_t does for reading), with room reserved at the end for what must
 * always fit after the records: the OPT record now, TSIG and RRSIGs later.
 * Knot's wire_ctx_t (contrib/wire_ctx.h) and its packet's reserve/reclaim
 * are the model. Used by answer.c on every worker thread; hot: inline, no
 * allocation, no lock.
 *
 * Bounds: data is written below lim = cap - reserved; wire_reclaim() gives
 * reserved room back just before writing what it was kept for. Nothing is
 * ever written at or past cap, the size the caller passed.
 */
#ifndef DNSD_WIRE_H
#define DNSD_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct wire {
    uint8_t *buf;
    size_t pos;      /* bytes written */
    size_t cap;      /* the caller's buffer size: never written at or past */
    size_t reserved; /* kept free at the end (wire_reserve) */
    bool bad;        /* a write did not fit: sticks until wire_seek back */
} wire_t;

static inline void wire_init(wire_t *w, uint8_t *buf, size_t cap)
{
    w->buf = buf;
    w->pos = 0;
    w->cap = cap;
    w->reserved = 0;
    w->bad = false;
}

/** Room for data now: up to the reserved part. */
static inline size_t wire_avail(const wire_t *w)
{
    size_t lim = w->cap - w->reserved;
    return w->bad || w->pos > lim ? 0 : lim - w->pos;
}

/**
 * Keep @p n bytes free at the end for later (OPT, TSIG, RRSIG).
 * @return false (nothing reserved) when they do not fit beside what is
 * written; the cursor is not marked bad.
 */
static inline bool wire_reserve(wire_t *w, size_t n)
{
    if (n > w->cap - w->reserved || w->pos > w->cap - w->reserved - n) {
        return false;
    }
    w->reserved += n;
    return true;
}

/** Give back @p n reserved bytes (at most what is reserved). */
static inline void wire_reclaim(wire_t *w, size_t n)
{
    w->reserved = n > w->reserved ? 0 : w->reserved - n;
}

/** Go back to @p pos (<= pos now) and clear the error: undoes a partial write. */
static inline void wire_seek(wire_t *w, size_t pos)
{
    if (pos <= w->pos) {
        w->pos = pos;
    }
    w->bad = false;
}

/** Room for @p n more bytes? If not, the cursor turns bad. */
static inline bool wire_need(wire_t *w, size_t n)
{
    if (wire_avail(w) < n) {
        w->bad = true;
        return false;
    }
    return true;
}

static inline void wire_put(wire_t *w, const void *p, size_t n)
{
    if (wire_need(w, n)) {
        memcpy(w->buf + w->pos, p, n);
        w->pos += n;
    }
}

static inline void wire_u8(wire_t *w, uint8_t v)
{
    if (wire_need(w, 1)) {
        w->buf[w->pos++] = v;
    }
}

static inline void wire_u16(wire_t *w, uint16_t v)
{
    if (wire_need(w, 2)) {
        w->buf[w->pos] = (uint8_t)(v >> 8);
        w->buf[w->pos + 1] = (uint8_t)v;
        w->pos += 2;
    }
}

static inline void wire_u32(wire_t *w, uint32_t v)
{
    if (wire_need(w, 4)) {
        w->buf[w->pos] = (uint8_t)(v >> 24);
        w->buf[w->pos + 1] = (uint8_t)(v >> 16);
        w->buf[w->pos + 2] = (uint8_t)(v >> 8);
        w->buf[w->pos + 3] = (uint8_t)v;
        w->pos += 4;
    }
}

/** Overwrite 16 bits already written at @p at (a count, a length). */
static inline void wire_patch16(wire_t *w, size_t at, uint16_t v)
{
    if (at + 2 <= w->pos) {
        w->buf[at] = (uint8_t)(v >> 8);
        w->buf[at + 1] = (uint8_t)v;
    }
}

#endif
