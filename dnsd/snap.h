/* SPDX-License-Identifier: MIT */
/*
 * snap.h -- publish an immutable snapshot (settings, the geo state, later
 * keys) from the main thread to the workers, and free a replaced one once
 * no worker can still be using it. The one scheme for every such snapshot.
 *
 * DESIGN. Hazard pointers: each worker (reader r) has one slot per
 * snapshot kind, on its own cache line. snap_acquire() loads the current
 * pointer, stores it in the slot, and re-checks the current pointer, so
 * once it returns the main thread sees the slot before it could free what
 * it names. A worker holds a snapshot for one batch (geo: snap_release at
 * the end) or until it adopts the next one (settings: never released while
 * running). snap_publish() swaps the pointer and keeps the old one on a
 * retire list; snap_reclaim(), run from a main-thread timer, frees every
 * retired snapshot no slot names. An idle worker holds nothing or the
 * snapshot it will use next, so it never needs waking to let memory go.
 * Readers: lock-free, no allocation, one seq_cst store per acquire; main
 * thread: publish, reclaim, fini (slow path). liburcu's QSBR (Debian
 * liburcu-dev) would do the same with per-thread quiescent states, but it
 * needs every worker registered and reporting (also while idle in
 * epoll, through rcu_thread_offline) and the reclaiming side waiting in
 * synchronize_rcu() or a call_rcu thread; for two pointers swapped a few
 * times a day this file is smaller than the wiring, and adds no library.
 */
#ifndef DNSD_SNAP_H
#define DNSD_SNAP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#define SNAP_RETIRED_MAX 64

typedef struct snap_slot {
    _Alignas(64) _Atomic(void *) p; /* the snapshot this reader may be using */
} snap_slot_t;

typedef struct snap {
    const char *what;             /* for the log: "geo", "settings" */
    _Atomic(void *) cur;          /* the published snapshot */
    void (*free_fn)(void *);
    int nreaders;
    snap_slot_t *slot;            /* [nreaders] */
    int nretired;                 /* main thread only */
    void *retired[SNAP_RETIRED_MAX];
} snap_t;

/** Main thread: set up @p s for @p nreaders readers (ids 0..n-1), nothing published. */
void snap_init(snap_t *s, const char *what, int nreaders, void (*free_fn)(void *));

/**
 * Main thread: make @p next current (it must not change from here on);
 * the one it replaces is retired. @return true if something was retired
 * (run snap_reclaim until it returns 0).
 */
bool snap_publish(snap_t *s, void *next);

/** Main thread: the current snapshot (the main thread is the only writer). */
static inline void *snap_current(snap_t *s)
{
    return atomic_load_explicit(&s->cur, memory_order_relaxed);
}

/** Main thread: free the retired snapshots no reader holds. @return how many remain. */
int snap_reclaim(snap_t *s);

/** Main thread, every reader stopped: free the current and the retired snapshots. */
void snap_fini(snap_t *s);

/** Reader @p r: take the current snapshot; valid until snap_release or the next acquire. Hot. */
static inline void *snap_acquire(snap_t *s, int r)
{
    void *p;
    do {
        p = atomic_load_explicit(&s->cur, memory_order_acquire);
        atomic_store_explicit(&s->slot[r].p, p, memory_order_seq_cst);
    } while (p != atomic_load_explicit(&s->cur, memory_order_seq_cst));
    return p;
}

/** Reader @p r: done with what it acquired. Hot. */
static inline void snap_release(snap_t *s, int r)
{
    atomic_store_explicit(&s->slot[r].p, NULL, memory_order_release);
}

#endif
