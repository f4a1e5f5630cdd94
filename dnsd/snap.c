/* SPDX-License-Identifier: MIT */
/* snap.c -- snapshot publishing and reclaim (see snap.h). Slow path, main thread. */
#include "dnsd/snap.h"

#include <stdlib.h>
#include <string.h>

#include "zones/base/log.h"

void snap_init(snap_t *s, const char *what, int nreaders, void (*free_fn)(void *))
{
    memset(s, 0, sizeof(*s));
    s->what = what;
    s->free_fn = free_fn;
    s->nreaders = nreaders;
    size_t size = sizeof(snap_slot_t) * (size_t)(nreaders > 0 ? nreaders : 1);
    s->slot = aligned_alloc(_Alignof(snap_slot_t), size);
    if (!s->slot) {
        log_err("out of memory");
        abort();
    }
    for (int i = 0; i < nreaders; i++) {
        atomic_init(&s->slot[i].p, NULL);
    }
    atomic_init(&s->cur, NULL);
}

bool snap_publish(snap_t *s, void *next)
{
    void *old = atomic_exchange_explicit(&s->cur, next, memory_order_seq_cst);
    if (!old) {
        return false;
    }
    if (s->nretired == SNAP_RETIRED_MAX) {
        /* cannot happen unless workers are stuck; keep the memory rather than risk a use */
        log_warn("%s: too many retired snapshots; leaking one", s->what);
        return true;
    }
    s->retired[s->nretired++] = old;
    return true;
}

static bool in_use(const snap_t *s, const void *p)
{
    for (int i = 0; i < s->nreaders; i++) {
        if (atomic_load_explicit(&s->slot[i].p, memory_order_seq_cst) == p) {
            return true;
        }
    }
    return false;
}

int snap_reclaim(snap_t *s)
{
    int keep = 0;
    for (int i = 0; i < s->nretired; i++) {
        if (in_use(s, s->retired[i])) {
            s->retired[keep++] = s->retired[i];
        } else {
            s->free_fn(s->retired[i]);
        }
    }
    s->nretired = keep;
    return keep;
}

void snap_fini(snap_t *s)
{
    if (!s->slot) {
        return;
    }
    for (int i = 0; i < s->nretired; i++) {
        s->free_fn(s->retired[i]);
    }
    s->nretired = 0;
    void *cur = atomic_exchange(&s->cur, NULL);
    if (cur) {
        s->free_fn(cur);
    }
    free(s->slot);
    s->slot = NULL;
}
