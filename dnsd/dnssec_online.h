/* SPDX-License-Identifier: MIT */
/*
 * dnssec_online.h -- what dnsd signs at query time for a signed zone
 * (issue #14): the NSEC records of compact denial of existence (RFC 9824)
 * and of the two other proofs a query may need (a wildcard answer's
 * "next closer name does not exist", RFC 4470 minimally covering; an
 * insecure delegation's NSEC at the cut), with one worker's keys and a
 * bounded cache of what it signed. Called by answer.c on the worker
 * threads, by the unit tests and by the fuzz target (the builder).
 *
 * DESIGN. Positive answers carry the RRSIGs the writer stored; only these
 * NSECs are made per query, because the set of types at a name differs
 * between regions (one NSEC chain cannot serve every view).
 *   - don_build() is pure: the NSEC's owner and rdata for one proof, from
 *     the name and the types of the client's view. No store, no crypto:
 *     fuzzed (tests/fuzz/fuzz_denial.c).
 *   - don_sign() signs an NSEC with every ACTIVE ZSK-role key of the zone
 *     (zd_keys_load(), parsed once with zd_signer_new(), reloaded when the
 *     store's meta "dnssec_gen" moves), or finds the signature in the cache.
 *     Validity is aligned to the hour (inception = hour - 1 h, expiration
 *     = hour + 2 days), so the same NSEC in the same hour signs the same:
 *     the cache key is (zone, key id, TTL, owner, rdata) and an entry
 *     serves only its own hour. The cache is allocated by don_new() (at
 *     worker start): DON_CACHE_SLOTS entries, two-way set associative on a
 *     seeded hash, the older of the two replaced.
 * Cost: a cache hit is a hash, a compare and a copy; a miss is one
 * signature per active ZSK (ECDSA P-256: see README.md, "worst case per
 * query"), and OpenSSL allocates inside it. A key reload (first use of a
 * zone by a worker, or a key change) parses the keys: it allocates too.
 * Nothing here locks or logs. One don_t per thread.
 */
#ifndef DNSD_DNSSEC_ONLINE_H
#define DNSD_DNSSEC_ONLINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dnsd/counters.h"
#include "zones/dnssec.h"
#include "zones/reader.h"

#define DON_T_NXNAME 128u /* RFC 9824: the meta-type of a compact answer for a missing name */

/* the proofs don_build() makes */
typedef enum don_kind {
    DON_NXNAME = 1, /* the name does not exist: owner = name, {RRSIG, NSEC, NXNAME} */
    DON_NODATA,     /* the name exists without the type: owner = name, its types + RRSIG, NSEC
                     * (none: an empty non-terminal) */
    DON_CUT,        /* a delegation point: owner = name, only NS and DS of its types kept */
    DON_COVER,      /* name does not exist, RFC 4470: owner = a predecessor, next = a
                     * successor, {RRSIG, NSEC} (a wildcard answer's next closer name) */
} don_kind_t;

/* types at one name: ZS_NODE_MAX stored, plus RRSIG, NSEC, NXNAME */
#define DON_TYPES_MAX (ZS_NODE_MAX + 3)
/* NSEC rdata: next name + type bitmap (every type alone in its window: 34 bytes each) */
#define DON_RDATA_MAX (DNAME_MAXLEN + 1 + DON_TYPES_MAX * 34)
#define DON_KEYS_MAX 4 /* active ZSK-role keys used at once (a rollover has 2) */
#define DON_SIGS_MAX (DON_KEYS_MAX * (2 + ZD_RRSIG_MAX))
#define DON_ZONES_MAX 256 /* signed zones whose keys one worker keeps parsed */
#define DON_CACHE_SLOTS 4096u
#define DON_KEY_MAX 640 /* cache key bytes; a longer NSEC is signed every time */

/**
 * Build the NSEC of proof @p kind about @p name (absolute wire name, any
 * case): its owner into @p owner (DNAME_MAXLEN + 1 bytes, lower case) and
 * its rdata into @p rd (@p cap bytes; DON_RDATA_MAX always suffices).
 * @p types (@p ntypes, any order, duplicates fine): the RRset types at the
 * name in the client's view (DON_NODATA, DON_CUT); ignored otherwise.
 * @return the rdata length, or DNSD_EMALFORMED (@p name is not a wire
 * name; DON_COVER of a name with no predecessor or successor at its own
 * depth, e.g. the root), DNSD_ESPACE (@p cap too small). Pure: any thread,
 * no allocation.
 */
int don_build(don_kind_t kind, const uint8_t *name, const uint16_t *types, int ntypes,
              uint8_t *owner, uint8_t *rd, size_t cap);

/** One worker's keys and signature cache; opaque. */
typedef struct don don_t;

/** Slow: allocate (the cache included). @return NULL on failure (out of memory). */
don_t *don_new(void);
void don_free(don_t *d);

/**
 * Sign the NSEC (@p owner, @p ttl, rdata @p rd of @p rdlen bytes) of zone
 * @p z with its active ZSK-role keys, as seen by read txn @p rd_txn (the
 * worker's, begun) at time @p now (seconds). Writes nsig x (u16 len | RRSIG
 * rdata) to @p sigs (DON_SIGS_MAX bytes), the format of zs_rrset_t.sigs.
 * @return the number of signatures (> 0); 0 when the zone has no active
 * key; a negative DNSD_E* code when the keys cannot be read or a signature
 * fails. Counts online signatures and cache hits into @p st.
 * Hot: no lock, no log; allocates only on a cache miss or a key reload.
 */
int don_sign(don_t *d, zr_t *rd_txn, const zs_zone_t *z, const uint8_t *owner, uint32_t ttl,
             const uint8_t *rd, size_t rdlen, uint64_t now, uint8_t *sigs, counters_t *st);

/** The validity window don_sign() uses at @p now: [*inception, *expiration]. */
void don_window(uint64_t now, uint32_t *inception, uint32_t *expiration);

#endif
