/* SPDX-License-Identifier: MIT */
/*
 * journal.h -- the change journal: per zone, one entry per committed write
 * transaction that changed the zone, in IXFR order (RFC 1995 section 4: old
 * SOA, removed records, new SOA, added records), with a retention limit.
 * Written only by the writer (zones/writer.c, inside the write txn that
 * makes the change); read by `dnsctl zone journal` and later IXFR, NOTIFY
 * and the cluster. Slow path: never called by a query worker.
 */
#ifndef DNSD_JOURNAL_H
#define DNSD_JOURNAL_H

#include <lmdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zones/store.h"

#define ZJ_DEFAULT_MAX_CHANGES 100000u            /* records per zone (see schema.h) */
#define ZJ_DEFAULT_MAX_BYTES   ((uint64_t)16 << 20) /* 16 MiB per zone */
#define ZJ_INHERIT             UINT64_MAX           /* a zone's limit: use the store's */

/** One record of an entry. Pointers lend bytes of the entry (see zj_entry_t). */
typedef struct zj_rr {
    const uint8_t *owner; /* absolute wire name, lower case */
    uint16_t type;
    const char *region;  /* the region's NAME (not its id: ids are local to a store and
                          * may be reused; names are what a secondary or another node
                          * knows), not NUL-terminated; region_len 0 is the default */
    uint8_t region_len;
    uint32_t ttl;
    const uint8_t *rdata; /* uncompressed wire rdata */
    uint16_t rdlen;
} zj_rr_t;

/**
 * A decoded journal entry: the change from serial @p from to serial @p to.
 * Its records: the old SOA, @p ndel removed records, the new SOA, @p nadd
 * added records (zj_rr_next()). It points into the LMDB map: valid until
 * the txn ends or writes again.
 */
typedef struct zj_entry {
    uint64_t seq;    /* per zone, 1, 2, ...: the order of commits */
    uint32_t from;   /* SOA serial before the transaction */
    uint32_t to;     /* SOA serial after it */
    uint64_t time_s; /* commit time, seconds since the epoch */
    uint32_t ndel, nadd;
    const uint8_t *recs;
    size_t recs_len;
} zj_entry_t;

/** Retention limits; ZJ_INHERIT in a zone's own limits means "the store's". */
typedef struct zj_limits {
    uint64_t max_changes; /* records (removed + added + the two SOAs) kept per zone */
    uint64_t max_bytes;   /* bytes of entries kept per zone */
} zj_limits_t;

/**
 * Decode the next record of @p e at *@p off (start with 0). @return true
 * and fills @p rr, false at the end. Entries are checked by the reader
 * before they are handed out, so a record is never truncated.
 */
bool zj_rr_next(const zj_entry_t *e, size_t *off, zj_rr_t *rr);

/**
 * Append an entry for zone @p zone_id in write txn @p txn and drop the
 * zone's oldest entries beyond its limits (the new one too when it alone
 * exceeds them: a reader then finds nothing and falls back to the whole
 * zone). @p old_soa / @p new_soa are the apex SOA records; @p del and
 * @p add the removed and added records, in the order to store them.
 * @return 0, DNSD_ELIMIT for an entry over 4 GiB, or an LMDB error.
 */
int zj_append(zs_store_t *s, MDB_txn *txn, uint32_t zone_id, uint32_t from, uint32_t to,
              uint64_t time_s, const zj_rr_t *old_soa, const zj_rr_t *del, size_t ndel,
              const zj_rr_t *new_soa, const zj_rr_t *add, size_t nadd);

/** Remove a zone's journal (entries and limits) in write txn @p txn. */
int zj_zone_drop(zs_store_t *s, MDB_txn *txn, uint32_t zone_id);

/**
 * Read the limits: the store's defaults (@p zone_id 0) or a zone's own
 * (ZJ_INHERIT where it has none) into @p own, and into @p eff (may be
 * NULL) the ones in force for it. Any txn.
 */
int zj_limits_get(zs_store_t *s, MDB_txn *txn, uint32_t zone_id, zj_limits_t *own,
                  zj_limits_t *eff);

/**
 * Set limits in write txn @p txn: the store's defaults (@p zone_id 0) or a
 * zone's own (ZJ_INHERIT: back to the store's). A field of @p set that is
 * ZJ_KEEP stays as it is. The zone's journal is trimmed to the new limits
 * at once (in this txn).
 */
#define ZJ_KEEP (UINT64_MAX - 1)
int zj_limits_set(zs_store_t *s, MDB_txn *txn, uint32_t zone_id, const zj_limits_t *set);

/** Visit each retained entry of a zone, oldest first; the callback's non-0 stops and is returned. */
typedef int (*zj_entry_cb)(const zj_entry_t *e, void *arg);
int zj_foreach(zs_store_t *s, MDB_txn *txn, uint32_t zone_id, zj_entry_cb cb, void *arg);

/**
 * The changes that take the zone from serial @p from to @p current (its SOA
 * serial now): the callback gets each entry, oldest first. Nothing to visit
 * when @p from == @p current.
 * @return 0; DNSD_ERANGE when the journal no longer holds (or never held)
 * an unbroken chain of entries from @p from to @p current, meaning "send the
 * whole zone" (AXFR-style fallback); DNSD_ESTORE for a damaged entry; or
 * the callback's value. Any txn.
 */
int zj_changes(zs_store_t *s, MDB_txn *txn, uint32_t zone_id, uint32_t from, uint32_t current,
               zj_entry_cb cb, void *arg);

#endif
