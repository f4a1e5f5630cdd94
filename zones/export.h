/* SPDX-License-Identifier: MIT */
/*
 * export.h -- zones and records printed in presentation format through ldns
 * (slow path: dnsctl and tests, zones/libzonefile.a; never dnsd's query
 * path). The output of zf_export() is a master file that zf_import() reads
 * back to the same store content, and it is deterministic: export, import
 * into a fresh store, export again gives the same bytes.
 */
#ifndef DNSD_EXPORT_H
#define DNSD_EXPORT_H

#include <lmdb.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "zones/base/diag.h"
#include "zones/schema.h"
#include "zones/store.h"
#include "zones/writer.h"

/** The presentation fields of one record. Free with zf_rr_text_fini(). */
typedef struct zf_rr_text {
    char *owner;   /* absolute; every byte but letters, digits, "-", "_" escaped */
    char type[32]; /* "A", "TYPE65000" */
    char *rdata;   /* ldns's text, or RFC 3597 "\# 3 abcdef" (see generic) */
    bool generic;  /* ldns's text would not read back to the same wire rdata */
} zf_rr_text_t;

/**
 * Format one record (wire owner and rdata as stored). The rdata text is
 * ldns's, checked by parsing it back: if that does not give the same wire
 * bytes, the RFC 3597 generic form is used instead, so output is lossless.
 * @return 0, or -ENOMEM. Allocates; slow path.
 */
int zf_rr_text(const uint8_t *owner, uint16_t type, const uint8_t *rdata, uint16_t rdlen,
               zf_rr_text_t *out);
void zf_rr_text_fini(zf_rr_text_t *t);

/**
 * Print the RRsets of zone @p z in @p region to @p out: a header comment
 * ("; zone example.com. serial 7", plus " region eu" for a region other
 * than default), the apex SOA, then every other RRset in
 * canonical order (owner, type; records in stored order), one record per
 * line, "owner<TAB>ttl<TAB>IN<TAB>type<TAB>rdata", absolute names, no
 * $ORIGIN or $TTL. Works on any txn (read-only is enough).
 * @return 0, DNSD_ESTORE (damaged value) or -EIO (write error), @p d filled.
 */
int zf_export(zs_store_t *s, MDB_txn *txn, const zw_zone_t *z, uint16_t region, FILE *out,
              diag_t *d);

/**
 * Print every region of zone @p z: zf_export() of the default region, then
 * for each other region with RRsets in the zone, in name order, a blank
 * line, "$REGION name" (dnsd's own directive, which zf_import() reads) and
 * that region's RRsets as zf_export() prints them. RRsets under a region id
 * that no region has cannot be named: a comment line says so. Any txn.
 * @return as zf_export().
 */
int zf_export_all(zs_store_t *s, MDB_txn *txn, const zw_zone_t *z, FILE *out, diag_t *d);

/**
 * Walk the records of a decoded RRset (zs_rrset_decode() checked every
 * length): start with *@p off = 0; false after the last.
 */
static inline bool zf_rrset_next(const zs_rrset_t *rr, size_t *off, const uint8_t **rd,
                                 uint16_t *rl)
{
    if (*off + 2 > rr->rdata_len) {
        return false;
    }
    *rl = zs_get16(rr->rdata + *off);
    *rd = rr->rdata + *off + 2;
    *off += 2u + *rl;
    return true;
}

#endif
