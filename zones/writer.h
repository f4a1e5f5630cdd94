/* SPDX-License-Identifier: MIT */
/*
 * writer.h -- edits to the store: the one write path. Every writer (dnsctl,
 * the ACME worker, shard rewrites, later UPDATE and cluster replay) makes
 * ONE write transaction: zw_begin(), any number of edits, zw_commit(). The
 * writer remembers the zones the edits touched and every RR they removed or
 * added; zw_commit() checks each touched zone once (zw_check_zone()), bumps
 * its SOA serial once, appends the netted change to the zone's journal
 * (zones/journal.h), bumps the generation and commits, all in that one txn.
 * On any error the caller aborts (or the failed commit already did) and the
 * store is untouched. Callers never check or bump zones themselves.
 * Slow path: may allocate; one writer at a time (LMDB serialises writers,
 * across processes too).
 */
#ifndef DNSD_WRITER_H
#define DNSD_WRITER_H

#include <lmdb.h>
#include <stdbool.h>
#include <stdint.h>

#include "zones/base/diag.h"
#include "zones/names.h"
#include "zones/regions.h"
#include "zones/schema.h"
#include "zones/store.h"

struct zw_touched; /* writer.c */
struct zw_change;

typedef struct zw {
    zs_store_t *s;
    MDB_txn *txn;
    /* private to writer.c: the touched zones and the RR changes of this txn */
    struct zw_touched *tz;
    size_t ntz, captz;
    struct zw_change *ch;
    size_t nch, capch;
    uint8_t *arena;
    size_t alen, acap;
    void *rcache; /* zs_region_t[]: region names for the journal, loaded on first need */
    size_t nrcache;
    bool prepared;
    /* set by the caller after zw_begin(): this writer applies a zone transfer
     * (dnsd/xfrin.c), the only one allowed to edit the default view of a
     * secondary zone (ZS_ZONE_F_SECONDARY); every other writer gets
     * DNSD_ESECONDARY there. A transfer's serial is the primary's
     * (zw_serial_set()); other writers' edits of a secondary zone (its
     * overlays) leave its serial alone and are not journalled: the SOA and
     * the journal, which secondaries of dnsd read, follow the primary. */
    bool xfr;
    /* private to writer.c: zw_begin() took the cluster's write lock and
     * started the capture (s->repl set); released once, on commit or abort */
    bool locked;
    /* set by zones/dnssec_zone.c while it writes a signed zone's apex DNSKEY,
     * CDS and CDNSKEY from the key set; any other writer gets DNSD_EDNSSEC
     * for those, and for RRSIG, NSEC, NSEC3, NSEC3PARAM anywhere in a
     * signed zone (ZS_ZONE_F_SIGNED): dnsd makes them itself */
    bool keys;
    /* optional, set by the caller after zw_begin() (NULL: none): long passes of
     * this txn that walk a whole zone (signing it: zd_zone_enable(), or a signed
     * zone created in the txn) report @p done of @p total RRsets through it, a
     * few times per thousand RRsets, never per RRset (dnsctl's progress line;
     * zd_progress_fn in zones/dnssec.h) */
    void (*progress)(void *arg, size_t done, size_t total);
    void *progress_arg;
} zw_t;

/** A zone, copied out of the store (owned by the caller, no lifetime limit). */
typedef struct zw_zone {
    uint32_t id;
    uint8_t apex[DNAME_MAXLEN + 1]; /* wire form, lower case */
    int apex_len;
    int apex_labels;
    uint8_t flags;                  /* ZS_ZONE_F_* */
} zw_zone_t;

int zw_begin(zs_store_t *s, zw_t *w);

/**
 * Finish the touched zones, still inside the txn: for each zone an edit
 * touched (and that still exists), zw_check_zone(); then its SOA serial:
 * the value given to zw_serial_set() if any, else the one an SOA written
 * in this txn carries (`record add` of an SOA, a zone import), else the
 * serial it had plus one (RFC 1982, wraps); a zone created in this txn
 * keeps the serial of its SOA. Then the zone's removed and added records,
 * netted (a record added then removed in the txn is in neither list), go
 * to its journal as one entry (none for a zone created in this txn). Each
 * zone is done once, whatever the number of edits. Callers may then read
 * the final serials (zw_soa_serial() on w->txn) before zw_commit(), but
 * make no more edits: they would be neither checked nor journalled.
 * @return 0; or the check's error with @p d filled (may be NULL), and the
 * txn is then aborted (the store is unchanged). Idempotent.
 */
int zw_prepare(zw_t *w, diag_t *d);

/**
 * zw_prepare() if not done, bump the generation counter and commit. On
 * error the txn is gone (aborted) and @p d says why when a zone check
 * failed. The writer's memory is released either way.
 */
int zw_commit(zw_t *w, diag_t *d);
/** Abort the txn (if any) and release the writer's memory; fine to call twice. */
void zw_abort(zw_t *w);

/**
 * Mark @p z touched without an edit: it is checked and its serial bumped
 * at commit. Edits mark their zone themselves; this is for a caller whose
 * change affects a zone indirectly. @return 0 or an LMDB error.
 */
int zw_touch(zw_t *w, const zw_zone_t *z);

/**
 * Set the SOA serial that zone @p z gets at commit (e.g. an import whose
 * file serial is not newer than the stored one): no bump on top of it.
 * Marks the zone touched.
 */
int zw_serial_set(zw_t *w, const zw_zone_t *z, uint32_t serial);

/**
 * Create an empty zone at @p apex (wire name). DNSD_EEXIST if it exists.
 * The caller adds SOA and NS before zw_commit() (which checks); @p out filled.
 */
int zw_zone_create(zw_t *w, const uint8_t *apex, zw_zone_t *out);

/** Look a zone up by its apex: 0, DNSD_ENOZONE or DNSD_ESTORE. Works on any txn. */
int zw_zone_get(zs_store_t *s, MDB_txn *txn, const uint8_t *apex, zw_zone_t *out);

/** Set and clear zone flags (ZS_ZONE_F_*); @p z->flags is updated. Writes only on a change. */
int zw_zone_set_flags(zw_t *w, zw_zone_t *z, uint8_t set, uint8_t clear);

/**
 * Delete a zone, all its RRsets (every region), its journal, its secondary
 * settings and its canary split entries.
 */
int zw_zone_delete(zw_t *w, const zw_zone_t *z);

/**
 * Delete every RRset of a zone in @p region (all regions if @p all_regions).
 * The zone counts as touched (checked, serial bumped) if anything went.
 * The default region (or all) of a secondary zone: DNSD_ESECONDARY unless @p w->xfr.
 */
int zw_zone_clear(zw_t *w, const zw_zone_t *z, uint16_t region, bool all_regions);

/**
 * Add one RR (uncompressed wire rdata) to the RRset (owner, type, region).
 * The owner must be at or below the apex (DNSD_EOUTOFZONE). The RRset's TTL
 * becomes @p ttl (RFC 2181 5.2: one TTL per RRset). Records are kept sorted
 * by rdata; an identical record is DNSD_EEXIST (nothing changes); rdata
 * without its type's shape (zs_rdata_ok(): an A of 3 bytes, an NS that is
 * not a name) is DNSD_EMALFORMED. The default region of a secondary zone
 * (ZS_ZONE_F_SECONDARY in @p z->flags) is DNSD_ESECONDARY unless @p w->xfr.
 * Structure rules (CNAME, apex) are checked at commit by zw_check_zone().
 */
int zw_rr_add(zw_t *w, const zw_zone_t *z, const uint8_t *owner, uint16_t type, uint16_t region,
              uint32_t ttl, const uint8_t *rdata, uint16_t rdlen);

/**
 * Delete records at @p owner in @p region: all types if @p type is 0, else
 * that RRset; all its records if @p rdata is NULL, else that one record.
 * @return 0, or DNSD_ENOTFOUND if nothing matched; DNSD_ESECONDARY as zw_rr_add().
 */
int zw_rr_del(zw_t *w, const zw_zone_t *z, const uint8_t *owner, uint16_t type, uint16_t region,
              const uint8_t *rdata, uint16_t rdlen);

/**
 * Read the RRset (@p owner, @p type, @p region) of zone @p z on any txn.
 * @return 0 and *@p out (it points into the LMDB map: valid until the txn
 * ends or writes again; copy what must live longer), DNSD_ENOTFOUND,
 * DNSD_EOUTOFZONE, or DNSD_ESTORE for a damaged value.
 */
int zw_rrset_get(zs_store_t *s, MDB_txn *txn, const zw_zone_t *z, const uint8_t *owner,
                 uint16_t type, uint16_t region, zs_rrset_t *out);

/**
 * Check a zone's structure: exactly one SOA and at least one NS at the apex,
 * both in the default region only (no region may hold the apex SOA or NS);
 * no CNAME at the apex; no more than ZS_NODE_MAX types at a name; and no
 * CNAME beside other data (RRSIG/NSEC excepted, RFC 2181 10.1 / RFC 4035)
 * in any region's view: dnsd answers a region from an overlay (each type
 * from the first region of the fallback chain that has it), so a CNAME in
 * eu-west beside an A in default is refused like both in one region. The
 * regions are read in @p w's txn. @return 0 or DNSD_EAPEX / DNSD_ECNAME /
 * DNSD_ELIMIT / DNSD_ESTORE with @p d naming the owner, the types (by
 * mnemonic), the regions and the problem.
 */
int zw_check_zone(zw_t *w, const zw_zone_t *z, diag_t *d);
/* zw_check_zone() also checks RFC 6672's DNAME rules (one DNAME per name,
 * none beside NS below the apex, nothing below a DNAME of the same region)
 * and, when it passes, keeps the zone's ZS_ZONE_F_NO_DNAME flag (schema.h)
 * in step with whether any region holds a DNAME. */

/** Read the SOA serial of a zone (any txn). */
int zw_soa_serial(zs_store_t *s, MDB_txn *txn, const zw_zone_t *z, uint32_t *serial);

/** RFC 1982 serial arithmetic: is @p a greater than @p b? */
bool zw_serial_gt(uint32_t a, uint32_t b);

/**
 * Visit every RRset of a zone in canonical order (owner, then type, then
 * region) on any txn. @p owner is the absolute wire name (lower case). The
 * callback returns 0 to go on, anything else stops and is returned.
 */
typedef int (*zw_rrset_cb)(const uint8_t *owner, const zs_rrset_t *rr, void *arg);
int zw_foreach_rrset(zs_store_t *s, MDB_txn *txn, const zw_zone_t *z, zw_rrset_cb cb, void *arg);

/**
 * Insert or replace a region (writer_region.c). A new region (r->id == 0)
 * gets the next free id, written back to r->id. The whole region set as it
 * would be committed must pass zs_regions_check() (codes, CIDRs, unique
 * names, codes and networks, parents that exist, chains that end at default
 * within ZS_REGION_CHAIN_MAX), so no writer can store a set dnsd would
 * refuse; a changed fallback re-checks every zone with zw_check_zone().
 * Bumps the regions generation. @return 0, DNSD_EEXIST (name, code or
 * network taken), DNSD_ENOTFOUND (parent), DNSD_ELIMIT (loop/depth),
 * DNSD_EMALFORMED (a field), or a zone check's error, with @p d set (see
 * zs_regions_check() for d->file; "zone NAME." for a zone check).
 */
int zw_region_put(zw_t *w, zs_region_t *r, diag_t *d);

/**
 * Delete a region (writer_region.c). Refused (DNSD_EEXIST, @p d says why)
 * while another region falls back to it (so a region goes after its
 * canary region); its RRsets are deleted with it, and so are the canary
 * split entries (zones/rollout.h) naming it: deleting a canary region
 * ends the splits into it (its clients get the stable pool again).
 */
int zw_region_del(zw_t *w, uint16_t id, diag_t *d);

/**
 * Delete the canary split entries (zones/rollout.h) of zone @p zone (0:
 * every zone) that name region @p region, as the split's region or its
 * canary region (ZW_ROLLOUT_ANY: every region), and clear
 * ZS_ZONE_F_ROLLOUT on each zone left with none (writer_region.c). Run by
 * zw_zone_delete() and zw_region_del(); zones/rollout.c makes the entries.
 * @return 0 or an error (DNSD_ESTORE for a damaged entry).
 */
#define ZW_ROLLOUT_ANY 0xFFFFu
int zw_rollout_drop(zw_t *w, uint32_t zone, uint16_t region);

/** Visit every zone in canonical order; callback as above. */
typedef int (*zw_zone_cb)(const zw_zone_t *z, void *arg);
int zw_foreach_zone(zs_store_t *s, MDB_txn *txn, zw_zone_cb cb, void *arg);

#endif
