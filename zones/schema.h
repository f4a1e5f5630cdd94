/* SPDX-License-Identifier: MIT */
/*
 * schema.h -- the layout of everything in the LMDB store, version 1.
 * Included by the reader (hot), the writer, import/export and dnsctl.
 *
 * DESIGN. One environment (a directory), named sub-databases:
 *
 *   meta    "schema"       -> u32 ZS_SCHEMA_VERSION
 *           "generation"   -> u64, +1 in every write transaction
 *           "next_zone_id" -> u32
 *   zones   canonical key of the apex (names.h) -> zone value:
 *           u32 id | u8 flags | u8 name_len | apex wire name (lower case)
 *   rrsets  u32 zone id | relative owner key | 0x00 | u16 type | u16 region
 *           -> rrset value:
 *           u8 format (1) | u8 flags | u32 ttl | u16 count |
 *           count x (u16 rdlen | rdata)       (rdata: uncompressed wire form,
 *                                               sorted, no duplicates)
 *           [flags & ZS_RRSET_F_SIGNED: u16 nsig | nsig x (u16 len | RRSIG
 *           rdata, signer name uncompressed, lower case)] -- the RRset's
 *           signatures (zones/dnssec.h), written in the txn that writes it
 *   regions see regions.h
 *   certs   "account:<directory URL>" / "cert:<id>" -> JSON (acme/certdb.h):
 *           slow-path state of the ACME worker, never read by queries
 *   journal the change journal (zones/journal.h), never read by queries:
 *           u32 zone id | u64 0 -> zone header:
 *               u8 format (1) | 7 x 0 | u64 next seq | u64 records kept |
 *               u64 bytes kept | u64 max records | u64 max bytes
 *               (a max of 2^64-1 means "the store's default")
 *           u32 zone id | u64 seq (1, 2, ... per zone, commit order) -> entry:
 *               u8 format (1) | u8 flags (0) | u32 from serial |
 *               u32 to serial | u64 commit time (s) | u32 ndel | u32 nadd |
 *               (2 + ndel + nadd) x record, in IXFR order (RFC 1995 4):
 *               old SOA, ndel removed, new SOA, nadd added; a record is
 *               u8 owner_len | owner (absolute wire, lower case) | u16 type |
 *               u8 region_len | region name (0 bytes: default; a name, not
 *               an id: ids are local and reused) | u32 ttl | u16 rdlen | rdata
 *           meta "journal_max_changes" / "journal_max_bytes" -> u64: the
 *           store-wide retention defaults (absent: journal.h's defaults).
 *           The journal came after version 1 without a version bump: it is
 *           a new sub-database, created by any writable open; a read-only
 *           open of an older store has none and reads it as empty.
 *   tsig    TSIG keys and who uses them (zones/tsig.h), never read by queries:
 *           'k' | canonical key of the key name (names.h) -> key value:
 *               u8 format (1) | u8 algorithm (tsig_alg_t: 1 sha1, 2 sha224,
 *               3 sha256, 4 sha384, 5 sha512) | u16 secret_len | secret
 *           'r' | canonical key of the key name | 0x00 | label -> empty:
 *               a reference (tsig_ref_add: "xfrout example.com.", ...); the
 *               0x00 cannot start a label, so one key's references are
 *               contiguous and never mixed with a longer name's
 *           Added after version 1 without a bump, like the journal.
 *   xfrout  outgoing transfer settings per zone (zones/xfracl.h), never read
 *           by queries:
 *           u32 zone id | 'a' -> transfer ACL; u32 zone id | 'n' -> NOTIFY
 *               targets; both: u8 format (1) | u8 count (<= 32) | count x
 *               (u8 family (0 any, AF_INET, AF_INET6) | u8 prefix |
 *               16 bytes address | u16 port (notify; 0 in an ACL) |
 *               u16 key_len | TSIG key name, wire form, lower case (0: none))
 *           Added after version 1 without a bump, like the journal.
 *   secondary  zones whose default view is a copy of a primary's (zones/secondary.h);
 *           written by dnsctl (settings) and dnsd's transfer thread (state),
 *           never read by queries (they see only the zone flags below):
 *           u32 zone id | u8 0 -> settings:
 *               u8 format (1) | u8 nprimaries (1..ZSEC_PRIMARY_MAX) |
 *               nprimaries x (u8 family (4 or 6) | 16 bytes address (IPv4 in
 *               the first 4) | u16 port) | u8 key_len | TSIG key name
 *               (wire form, lower case; key_len 0: no TSIG; the key is in
 *               "tsig" with a reference "xfrin ZONE.")
 *           u32 zone id | u8 1 -> transfer state:
 *               u8 format (1) | u8 flags (1: has a serial) | u32 serial |
 *               u64 last success (s) | u64 last attempt (s) | u64 next refresh (s) |
 *               u64 expire deadline (s, 0: none) | u8 kind of the last transfer
 *               (0 none, 1 AXFR, 2 IXFR, 3 up to date) | u8 error_len | error text
 *           The zone's ZS_ZONE_F_SECONDARY flag says "has settings here"; the
 *           same rule as the journal: a new sub-database, no version bump.
 *   update_policy  RFC 2136 UPDATE policies (zones/upolicy.h), never read
 *           by queries: u32 zone id | u32 rule id -> rule (format 1: who,
 *           names, types, region); added like the journal (no version bump).
 *   dnssec  DNSSEC keys and signing policies (zones/dnssec.h, layout in
 *           zones/dnssec.c), never read by queries except dnsd's online
 *           keys (zd_keys_load()): u32 zone id | 'P' -> policy;
 *           u32 zone id | 'K' | u32 key id -> key (private key included);
 *           u32 zone id | 'N' -> u32 next key id. meta "dnssec_gen" -> u64,
 *           bumped by every key or policy write. Added like the journal.
 *   rollout the canary split of a certificate rollout (zones/rollout.h), read
 *           by queries of zones with ZS_ZONE_F_ROLLOUT only:
 *           u32 zone id | u16 region id (whose clients split) -> u8 format (1) |
 *           u8 flags (0) | u16 canary region id ("<region>.canary") |
 *           u16 permyriad (0..10000) | u8 prefix4 (8..32) | u8 prefix6 (16..128) |
 *           16 bytes SipHash key. Deleted with its zone, and with the region
 *           or the canary region it names. Added like the journal.
 *
 * All integers are big-endian, so keys sort numerically. The relative owner
 * key is the owner's canonical key minus the apex's prefix (empty at the
 * apex); the 0x00 after it cannot start a label (label bytes are never 0x00
 * in keys), so one owner's RRsets are contiguous, sort before its children,
 * and the whole tree under a zone is in canonical order: a name exists iff
 * some key starts with "id | relkey", and existence, closest encloser,
 * wildcards and cuts are cursor seeks. Region 0 is "default"; issue #4's
 * regions add RRsets under other region ids without a migration.
 */
#ifndef DNSD_SCHEMA_H
#define DNSD_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "zones/names.h"
#include "zones/rrtype.h"

#define ZS_SCHEMA_VERSION 1u

#define ZS_DB_META   "meta"
#define ZS_DB_ZONES  "zones"
#define ZS_DB_RRSETS "rrsets"
#define ZS_DB_REGIONS "regions" /* operator regions: see zones/regions.h */
#define ZS_DB_CERTS  "certs" /* ACME state, JSON values: see acme/certdb.h */
#define ZS_DB_JOURNAL "journal" /* change journal: see zones/journal.h */
#define ZS_DB_TSIG    "tsig"    /* TSIG keys: see zones/tsig.h */
#define ZS_DB_XFROUT  "xfrout"  /* transfer ACLs, NOTIFY targets: see zones/xfracl.h */
#define ZS_DB_SECONDARY "secondary" /* secondary zones: see zones/secondary.h */
#define ZS_DB_UPOLICY "update_policy" /* RFC 2136 update policies: see zones/upolicy.h */
#define ZS_DB_DNSSEC "dnssec"         /* DNSSEC keys and policies: see zones/dnssec.h */
#define ZS_DB_ROLLOUT "rollout"       /* canary splits of certificate rollouts: zones/rollout.h */

#define ZS_META_SCHEMA     "schema"
#define ZS_META_GENERATION "generation"
#define ZS_META_NEXT_ZONE  "next_zone_id"
#define ZS_META_JOURNAL_CHANGES "journal_max_changes"
#define ZS_META_JOURNAL_BYTES   "journal_max_bytes"

#define ZS_REGION_DEFAULT 0u

#define ZS_ZONE_F_NO_ECS 0x01u /* zone flag: ignore EDNS Client Subnet (use the source address) */
/* zone flag: the default view is a copy of a primary's (zones/secondary.h); only a
 * transfer writer (zw_t.xfr) may edit it, overlays stay local */
#define ZS_ZONE_F_SECONDARY 0x02u
/* zone flag: answer SERVFAIL for the zone (a secondary before its first transfer, or
 * expired: RFC 1035 4.3.5, as Knot and BIND do) */
#define ZS_ZONE_F_SERVFAIL 0x04u

/* zone flag: the zone is signed (zones/dnssec.h): its RRsets carry RRSIGs,
 * and dnsd adds them, and online denials, to answers for DO=1 queries */
#define ZS_ZONE_F_SIGNED 0x08u

/* zone flag: the zone has canary split entries in "rollout" (zones/rollout.h);
 * kept by zw_rollout_put/del, so the query path looks entries up only for
 * such zones */
#define ZS_ZONE_F_ROLLOUT 0x10u

#define ZS_RRSET_FORMAT 1u
#define ZS_RRSET_F_SIGNED 0x01u /* rrset value flag: signatures follow the records */
#define ZS_RRSET_SIG_MAX 16u    /* signatures one RRset may carry (a rollover has 2-3) */
#define ZS_RRSET_HDR    8u       /* format, flags, ttl, count */
#define ZS_ZONE_HDR     6u       /* id, flags, name_len */
#define ZS_RRKEY_MAX    (4 + DNAME_KEY_MAX + 1 + 2 + 2)
#define ZS_NODE_MAX     64       /* RRset types one owner may hold (writer enforces) */

static inline void zs_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}
static inline void zs_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}
static inline void zs_put64(uint8_t *p, uint64_t v)
{
    zs_put32(p, (uint32_t)(v >> 32));
    zs_put32(p + 4, (uint32_t)v);
}
static inline uint16_t zs_get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}
static inline uint32_t zs_get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline uint64_t zs_get64(const uint8_t *p)
{
    return (uint64_t)zs_get32(p) << 32 | zs_get32(p + 4);
}

/**
 * Owner prefix of an rrsets key: id | relkey (no end marker). The relative
 * key is @p k's bytes after ends[@p apex_labels]. Returns the length written
 * to @p out (ZS_RRKEY_MAX bytes).
 */
static inline size_t zs_owner_prefix(uint32_t zone_id, const dname_key_t *k, int apex_labels,
                                     uint8_t *out)
{
    size_t from = k->ends[apex_labels];
    size_t rl = k->len - from;
    zs_put32(out, zone_id);
    memcpy(out + 4, k->key + from, rl);
    return 4 + rl;
}

/** Full rrsets key: owner prefix | 0x00 | type | region. Returns its length. */
static inline size_t zs_rrset_key(uint32_t zone_id, const dname_key_t *k, int apex_labels,
                                  uint16_t type, uint16_t region, uint8_t *out)
{
    size_t n = zs_owner_prefix(zone_id, k, apex_labels, out);
    out[n] = 0;
    zs_put16(out + n + 1, type);
    zs_put16(out + n + 3, region);
    return n + 5;
}

/** A decoded rrset value; points into the map (see reader.h for lifetime). */
typedef struct zs_rrset {
    uint16_t type;
    uint16_t region;
    uint32_t ttl;
    uint16_t count;
    const uint8_t *rdata; /* count x (u16 rdlen | rdata) */
    size_t rdata_len;
    uint16_t nsig;        /* signatures (0: unsigned) */
    const uint8_t *sigs;  /* nsig x (u16 len | RRSIG rdata); NULL when nsig is 0 */
    size_t sigs_len;
} zs_rrset_t;

/*
 * Is @p rd (@p rl bytes) well formed as rdata of @p type? Checked for the
 * types whose rdata dnsd reads or compresses when it answers, as the type
 * table (zones/rrtype.h) describes them: a fixed length (A, AAAA), and the
 * RFC 1035 types holding names (NS CNAME PTR MD MF MB MG MR MX SOA MINFO:
 * uncompressed wire names, nothing missing, nothing after). Any other
 * type's rdata is opaque bytes.
 */
static inline bool zs_rdata_ok(uint16_t type, const uint8_t *rd, size_t rl)
{
    const rrtype_t *t = rrtype_get(type);
    if (!t) {
        return true;
    }
    if (t->fixed_len) {
        return rl == t->fixed_len;
    }
    if (!t->compress || !t->nnames) {
        return true;
    }
    size_t pre = t->name_off, names = t->nnames, post = t->name_post;
    if (rl < pre) {
        return false;
    }
    size_t off = pre;
    for (size_t i = 0; i < names; i++) {
        int nl = dname_wire_len(rd + off, rl - off);
        if (nl < 0) {
            return false;
        }
        off += (size_t)nl;
    }
    return rl - off == post;
}

/**
 * Check and decode the value of an RRset of @p type. Every length is
 * verified, and so is each record's rdata where its type gives it a shape
 * (zs_rdata_ok()), so a damaged value is rejected rather than trusted.
 * @return true if well formed; fills @p out (type set, region left alone).
 */
static inline bool zs_rrset_decode(const uint8_t *v, size_t len, uint16_t type, zs_rrset_t *out)
{
    if (len < ZS_RRSET_HDR || v[0] != ZS_RRSET_FORMAT || (v[1] & ~ZS_RRSET_F_SIGNED)) {
        return false;
    }
    out->type = type;
    out->ttl = zs_get32(v + 2);
    out->count = zs_get16(v + 6);
    out->rdata = v + ZS_RRSET_HDR;
    out->nsig = 0;
    out->sigs = NULL;
    out->sigs_len = 0;
    if (out->count == 0) {
        return false;
    }
    size_t avail = len - ZS_RRSET_HDR, off = 0;
    for (unsigned i = 0; i < out->count; i++) {
        if (avail - off < 2) {
            return false;
        }
        size_t rl = zs_get16(out->rdata + off);
        off += 2;
        if (avail - off < rl || !zs_rdata_ok(type, out->rdata + off, rl)) {
            return false;
        }
        off += rl;
    }
    out->rdata_len = off;
    if (!(v[1] & ZS_RRSET_F_SIGNED)) {
        return off == avail;
    }
    /* signatures: u16 nsig | nsig x (u16 len | RRSIG rdata of at least 19 bytes) */
    if (avail - off < 2) {
        return false;
    }
    out->nsig = zs_get16(out->rdata + off);
    off += 2;
    out->sigs = out->rdata + off;
    size_t s0 = off;
    if (out->nsig == 0 || out->nsig > ZS_RRSET_SIG_MAX) {
        return false;
    }
    for (unsigned i = 0; i < out->nsig; i++) {
        if (avail - off < 2) {
            return false;
        }
        size_t sl = zs_get16(out->rdata + off);
        off += 2;
        if (sl < 19 || avail - off < sl || zs_get16(out->rdata + off) != type) {
            return false; /* an RRSIG covers the RRset it is stored with */
        }
        off += sl;
    }
    out->sigs_len = off - s0;
    return off == avail;
}

/**
 * Split an rrsets key. @return true if well formed; fills the zone id, the
 * relative owner key span, type and region.
 */
static inline bool zs_rrset_key_split(const uint8_t *key, size_t len, uint32_t *zone_id,
                                      const uint8_t **rel, size_t *rel_len, uint16_t *type,
                                      uint16_t *region)
{
    if (len < 4 + 1 + 4) {
        return false;
    }
    size_t rl = len - 4 - 5;
    if (key[4 + rl] != 0 || (rl > 0 && key[4 + rl - 1] != 0)) {
        return false;
    }
    *zone_id = zs_get32(key);
    *rel = key + 4;
    *rel_len = rl;
    *type = zs_get16(key + len - 4);
    *region = zs_get16(key + len - 2);
    return true;
}

/*
 * Zone flag kept by the writer (zw_check_zone(), at every commit that
 * edits the zone): no region of the zone holds a DNAME RRset, so the query
 * path skips its DNAME lookups (answer.c). Absent, as in zones written
 * before it existed, the lookups are made: never wrong, only slower.
 */
#define ZS_ZONE_F_NO_DNAME 0x80u

/** A decoded zone value. */
typedef struct zs_zone {
    uint32_t id;
    uint8_t flags;
    uint8_t apex_labels;
    const uint8_t *apex; /* wire name, lower case */
    size_t apex_len;
} zs_zone_t;

static inline bool zs_zone_decode(const uint8_t *v, size_t len, zs_zone_t *out)
{
    if (len < ZS_ZONE_HDR) {
        return false;
    }
    out->id = zs_get32(v);
    out->flags = v[4];
    out->apex_len = v[5];
    out->apex = v + ZS_ZONE_HDR;
    if (len != ZS_ZONE_HDR + out->apex_len ||
        dname_wire_len(out->apex, out->apex_len) != (int)out->apex_len) {
        return false;
    }
    out->apex_labels = (uint8_t)dname_labels(out->apex);
    return true;
}

#endif
