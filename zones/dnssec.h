/* SPDX-License-Identifier: MIT */
/*
 * dnssec.h -- DNSSEC keys, policy and signing (zones layer).
 *
 * DESIGN (issue #14). Every stored RRset of a signed zone (flag
 * ZS_ZONE_F_SIGNED), in the default view and in every region's overlay,
 * carries its RRSIGs in its own value (schema.h: ZS_RRSET_F_SIGNED), made
 * by the writer in the write transaction that writes the RRset
 * (zd_sign_touched() from zw_prepare()), so a positive answer costs no
 * crypto at query time. Denials differ per view and are built online by
 * dnsd (compact denial, RFC 9824) with zd_sign() and a per-worker cache.
 *
 * Keys live in the "dnssec" sub-database (layout below), private keys as
 * PKCS#8 DER, never logged, never printed. Which keys sign what:
 *   - DNSKEY, CDS and CDNSKEY at the apex: every key whose role has
 *     ZD_ROLE_KSK and that is in state ZD_KS_ACTIVE or ZD_KS_RETIRING
 *     with ksk signing still on (see zd_key_signs_dnskey());
 *   - everything else: keys with ZD_ROLE_ZSK in state ZD_KS_ACTIVE.
 *   A CSK has both roles.
 * What is signed (RFC 4035 2.2): every authoritative RRset; not the NS at
 * a delegation point, nor anything at or below it (glue), except the DS
 * at the cut; never RRSIG itself.
 *
 * Store layout, sub-database ZS_DB_DNSSEC ("dnssec"), never read by queries
 * except through zd_keys_load():
 *   u32 zone id | u8 'P'            -> policy (zd_policy_t, format 1)
 *   u32 zone id | u8 'K' | u32 key id -> key (format 1): see dnssec.c
 *   u32 zone id | u8 'N'            -> u32 the next key id (ids never reused)
 *   meta "dnssec_gen" -> u64, bumped by every write that changes a key or a
 *   policy (dnsd's workers reload their online keys when it moves).
 * Added after schema version 1 without a bump, like the journal.
 *
 * Threads: everything here is slow path and may allocate, except
 * zd_sign() (used by dnsd's workers for denials: no lock; OpenSSL may
 * allocate inside, which is why its results are cached by the caller).
 */
#ifndef DNSD_DNSSEC_H
#define DNSD_DNSSEC_H

#include <lmdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zones/base/diag.h"
#include "zones/schema.h"
#include "zones/store.h"

/* ZS_DB_DNSSEC ("dnssec") is in schema.h with the other sub-databases */
#define ZD_META_GEN "dnssec_gen"

#define ZD_ALG_ECDSAP256SHA256 13u
#define ZD_ALG_ED25519 15u

#define ZD_ROLE_KSK 0x1u
#define ZD_ROLE_ZSK 0x2u
#define ZD_ROLE_CSK (ZD_ROLE_KSK | ZD_ROLE_ZSK)

/* Key states (RFC 7583 timeline, simplified to what a rollover needs):
 * PUBLISHED: in the DNSKEY RRset, not signing (pre-publish, or a new KSK
 *            waiting for its DS); ACTIVE: signing (its role's RRsets);
 * RETIRING:  in DNSKEY, no longer signing zone data (old ZSK while old
 *            signatures expire from caches; old KSK until its DS is gone);
 * REMOVED:   gone from DNSKEY; the record is kept for history until purged
 *            (policy purge_keys after it left DNSKEY: zones/dnssec_roll.h). */
typedef enum zd_key_state {
    ZD_KS_PUBLISHED = 1,
    ZD_KS_ACTIVE = 2,
    ZD_KS_RETIRING = 3,
    ZD_KS_REMOVED = 4,
} zd_key_state_t;

#define ZD_PUB_MAX 64u   /* DNSKEY public key field: 64 (P-256) or 32 (Ed25519) */
#define ZD_PRIV_MAX 200u /* PKCS#8 DER of either algorithm */
#define ZD_SIG_MAX 64u   /* signature field of an RRSIG: 64 for both */
/* an RRSIG rdata: 18 fixed bytes + signer name + signature */
#define ZD_RRSIG_MAX (18u + 255u + ZD_SIG_MAX)

/** One key as stored (private part included: handle with care). */
typedef struct zd_key {
    uint32_t zone_id;
    uint32_t id;       /* per zone, 1, 2, ... never reused */
    uint8_t alg;       /* ZD_ALG_* */
    uint8_t role;      /* ZD_ROLE_* */
    uint16_t flags;    /* DNSKEY flags: 257 with the KSK role (SEP), else 256 */
    uint16_t tag;      /* RFC 4034 appendix B */
    uint8_t state;     /* zd_key_state_t */
    /* timeline, seconds since the epoch; 0: not (yet). While a key with the ZSK
     * role is RETIRING, `removed` is the time its last signature left the store
     * (0: some are left), from which the rollover counts its removal
     * (zones/dnssec_roll.h); once REMOVED, the time it left DNSKEY */
    uint64_t created, published, active, retired, removed;
    uint64_t ds_seen;  /* the operator said (`dnssec ds-seen`) or a check saw the DS at the parent */
    uint16_t pub_len;
    uint8_t pub[ZD_PUB_MAX];   /* DNSKEY public key field */
    uint16_t priv_len;
    uint8_t priv[ZD_PRIV_MAX]; /* PKCS#8 DER */
} zd_key_t;

/** A zone's signing policy (defaults: zd_policy_default()). */
typedef struct zd_policy {
    uint8_t alg;               /* ZD_ALG_* for new keys */
    bool split;                /* true: KSK + ZSK; false: one CSK */
    uint32_t sig_validity;     /* s, RRSIG expiration - inception (default 14 days) */
    uint32_t sig_refresh;      /* s, re-sign when less than this is left (default 7 days) */
    uint32_t sig_jitter;       /* s, expiration spread (default 12 h) */
    uint32_t zsk_lifetime;     /* s, 0: never roll automatically (default 90 days) */
    uint32_t ksk_lifetime;     /* s, 0: never (default 0; CSK uses this too) */
    uint32_t propagation;      /* s, propagation delay (default 300 s) */
    uint32_t parent_ds_ttl;    /* s, the parent's DS TTL (default 86400) */
    uint32_t parent_propagation; /* s, parent's propagation delay (default 3600) */
    uint32_t purge_keys;       /* s, a REMOVED key (and its private key) is deleted this long
                                * after it left DNSKEY; 0: kept (default 90 days, as BIND's
                                * dnssec-policy purge-keys) */
} zd_policy_t;

void zd_policy_default(zd_policy_t *p);

/** Does @p k sign the apex DNSKEY, CDS and CDNSKEY RRsets? (KSK role, ACTIVE) */
bool zd_key_signs_dnskey(const zd_key_t *k);
/** Does @p k sign the zone's other RRsets? (ZSK role, ACTIVE) */
bool zd_key_signs_zone(const zd_key_t *k);
/** Is @p k in the DNSKEY RRset? (PUBLISHED, ACTIVE or RETIRING) */
bool zd_key_in_dnskey(const zd_key_t *k);

/* ---- keys and records (pure functions) ---- */

/**
 * Generate a key of @p alg with @p role (OpenSSL). Fills alg, role, flags
 * (257 with the KSK role), tag, pub, priv, created (now) and state
 * ZD_KS_PUBLISHED; zone_id and id are 0 (the caller sets them:
 * zd_key_next_id()). @return 0, DNSD_EMALFORMED (algorithm or role, @p d
 * says which) or DNSD_ECRYPTO.
 */
int zd_key_generate(uint8_t alg, uint8_t role, zd_key_t *out, diag_t *d);

/** The DNSKEY rdata of @p k into @p out (cap >= 4 + ZD_PUB_MAX). @return its length. */
size_t zd_dnskey_rdata(const zd_key_t *k, uint8_t *out);

/** RFC 4034 appendix B key tag of DNSKEY rdata. */
uint16_t zd_keytag(const uint8_t *rdata, size_t len);

/** DS rdata (digest type 2, SHA-256) of @p k for owner @p apex (wire). @return length (36). */
size_t zd_ds_rdata(const zd_key_t *k, const uint8_t *apex, uint8_t *out);

/** A key ready to sign (its parsed private key); opaque. */
typedef struct zd_signer zd_signer_t;

/** Parse @p k's private key once. @return 0 and *@p out (zd_signer_free), or DNSD_E*. Slow. */
int zd_signer_new(const zd_key_t *k, zd_signer_t **out);
void zd_signer_free(zd_signer_t *sg);
/** The key tag and algorithm the signer signs as. */
uint16_t zd_signer_tag(const zd_signer_t *sg);
uint8_t zd_signer_alg(const zd_signer_t *sg);

/**
 * Sign one RRset: RFC 4034 3.1.8.1 / 6.2 canonical form. @p rrs holds
 * @p count records as (u16 rdlen | rdata), in any order and case: they are
 * canonicalised (names in the rdata of the RFC 4034 6.2 types lower-cased,
 * sorted, duplicates dropped) in @p scratch (@p scratch_cap bytes, at least
 * 2 x @p rrs_len + 1024). @p owner is the absolute wire name (a wildcard
 * owner "*.x" gives labels = labels(x)); @p signer the apex (lower case).
 * Writes the RRSIG rdata to @p out (ZD_RRSIG_MAX bytes).
 * @return its length (> 0), or a negative DNSD_E* code.
 * Any thread, no lock, one signer per thread at a time; OpenSSL allocates
 * inside, which is why dnsd caches what it signs online.
 */
int zd_sign(zd_signer_t *sg, const uint8_t *owner, const uint8_t *signer, uint16_t type,
            uint32_t ttl, const uint8_t *rrs, size_t rrs_len, uint16_t count, uint32_t inception,
            uint32_t expiration, uint8_t *scratch, size_t scratch_cap, uint8_t *out);

/* ---- the store ----
 * The sub-database is opened by zs_open() (store.c's table of sub-databases
 * added after version 1; s->has_dnssec false: a read-only open of a store
 * that never had one, read as empty). Every put or delete here bumps meta
 * ZD_META_GEN. They write through zs_put()/zs_del(), so a cluster
 * replicates them (zones/repl.c's ZR_DB_DNSSEC). */

/** The policy of a zone: 0, or DNSD_ENOTFOUND (then @p out holds the defaults); DNSD_ESTORE. */
int zd_policy_get(zs_store_t *s, MDB_txn *txn, uint32_t zone_id, zd_policy_t *out);
/** Store a zone's policy (write txn). DNSD_EMALFORMED if a field is out of range. */
int zd_policy_put(zs_store_t *s, MDB_txn *txn, uint32_t zone_id, const zd_policy_t *p);
/** Insert or replace key (@p k->zone_id, @p k->id) (write txn). */
int zd_key_put(zs_store_t *s, MDB_txn *txn, const zd_key_t *k);
/** Delete a key: 0 or DNSD_ENOTFOUND. */
int zd_key_del(zs_store_t *s, MDB_txn *txn, uint32_t zone_id, uint32_t key_id);
/** Take the zone's next key id (1, 2, ...; never reused), in write txn @p txn. */
int zd_key_next_id(zs_store_t *s, MDB_txn *txn, uint32_t zone_id, uint32_t *out);
/** Delete a zone's keys, policy and id counter (zw_zone_delete() calls it). */
int zd_zone_drop(zs_store_t *s, MDB_txn *txn, uint32_t zone_id);
/** Every key of a zone (any state), in id order; *out freed by the caller. */
int zd_keys_list(zs_store_t *s, MDB_txn *txn, uint32_t zone_id, zd_key_t **out, size_t *n);

/**
 * The keys a query worker needs for online denial of zone @p zone_id:
 * the ZSK-role keys in state ACTIVE (at most @p max), copied out.
 * @return the number (0: the zone has none), or a negative DNSD_E* code.
 */
int zd_keys_load(zs_store_t *s, MDB_txn *txn, uint32_t zone_id, zd_key_t *out, size_t max);

/* ---- signing stored RRsets (dnssec.c), inside a write txn ----
 * Which keys: zd_key_signs_dnskey() for DNSKEY/CDS/CDNSKEY at the apex,
 * zd_key_signs_zone() for the rest, read once per call. What: every
 * RRset of the zone except the NS at a delegation point (a non-apex name
 * with NS in any region), anything else at a delegation point but its DS,
 * and anything below one (glue); RRSIG never. An RRset that must not be
 * signed is written back without signatures. Validity: inception now - 1 h,
 * expiration now + sig_validity - jitter (deterministic per RRset key, at
 * most sig_jitter). Each returns 0, or DNSD_ECRYPTO (no active key for
 * what must be signed, or OpenSSL failed), DNSD_ESTORE, an LMDB error;
 * @p d says which zone and why. */

/** The zone being signed (apex: wire, lower case). */
typedef struct zd_zone {
    uint32_t id;
    const uint8_t *apex;
    int apex_labels;
} zd_zone_t;

/** One RRset a write txn changed (it may be gone now). */
typedef struct zd_change {
    const uint8_t *owner; /* absolute wire name, lower case */
    uint16_t type;
    uint16_t region;
} zd_change_t;

/**
 * Re-sign what a txn changed: each listed RRset (in its region), the whole
 * subtree under a non-apex name whose NS changed (a cut came or went: its
 * NS and the glue below lose or gain signatures), and the apex SOA. Called
 * by zw_prepare() for a zone with ZS_ZONE_F_SIGNED after the serial bump.
 * @p ch may hold duplicates (it is sorted in place). @p nsigned counts
 * the RRsets written (may be NULL).
 */
int zd_sign_touched(zs_store_t *s, MDB_txn *txn, const zd_zone_t *z, zd_change_t *ch, size_t n,
                    uint64_t now, size_t *nsigned, diag_t *d);

/** (Re)sign every RRset of the zone in every region, or with @p strip remove every signature. */
int zd_sign_all(zs_store_t *s, MDB_txn *txn, const zd_zone_t *z, bool strip, uint64_t now,
                size_t *nsigned, diag_t *d);

/**
 * Re-sign at most @p max RRsets that need it: unsigned or signed where they
 * must not be, a signature expiring within the policy's sig_refresh, or
 * signed by another set of keys than the current one (a rollover step).
 * *@p more: others still need it (call again, in a new txn).
 */
int zd_resign_some(zs_store_t *s, MDB_txn *txn, const zd_zone_t *z, uint64_t now, size_t max,
                   size_t *nsigned, bool *more, diag_t *d);

/* ---- whole zones, inside a caller's writer txn (zones/dnssec_zone.c) ----
 * zones/writer.h's zw_t and zw_zone_t; declared here by their struct tags
 * because the writer includes this header. Each makes its edits through
 * the writer (journalled, checked, replicated); the caller commits. */
struct zw;
struct zw_zone;

/**
 * Sign zone @p z: store @p p (NULL: defaults), generate its keys (one CSK,
 * or with p->split a KSK and a ZSK; state ACTIVE), publish DNSKEY, CDS and
 * CDNSKEY at the apex (zd_zone_publish_keys()), set ZS_ZONE_F_SIGNED
 * (@p z->flags too) and sign every RRset in every region. DNSD_EEXIST if
 * the zone is signed already; DNSD_ESECONDARY for a secondary zone.
 */
int zd_zone_enable(struct zw *w, struct zw_zone *z, const zd_policy_t *p, diag_t *d);

/**
 * Unsign zone @p z: strip every signature, delete its DNSKEY, CDS and
 * CDNSKEY RRsets, its keys and policy, clear ZS_ZONE_F_SIGNED. Publishes
 * nothing else: the DS must be gone from the parent (and its TTL passed)
 * BEFORE, or validators see the zone as bogus. DNSD_ENOTFOUND if not signed.
 */
int zd_zone_disable(struct zw *w, struct zw_zone *z, diag_t *d);

/**
 * Rewrite the apex DNSKEY RRset (every key zd_key_in_dnskey()) and CDS /
 * CDNSKEY (RFC 7344: the KSK-role keys in state PUBLISHED or ACTIVE, the
 * DS the parent should hold; CDS digest SHA-256) from the stored key set,
 * in the default region, TTL = the apex SOA's TTL; an empty set is
 * deleted. A set whose records are right and (in a signed zone) whose
 * signatures come from exactly the keys zd_key_signs_dnskey() names is
 * left alone; any other is written again, and zw_prepare() signs what
 * changed -- so a KSK that begins or stops signing re-signs the key sets
 * in the same txn. Call after every key state change.
 */
int zd_zone_publish_keys(struct zw *w, const struct zw_zone *z, diag_t *d);

/**
 * One re-sign batch of zone @p z (zd_resign_some() in @p w's txn): up to
 * @p max RRsets; *@p more says whether another batch is due now. The caller
 * commits (one txn per batch). The SOA serial is not bumped (no data change).
 */
int zd_zone_resign(struct zw *w, const struct zw_zone *z, uint64_t now, size_t max, bool *more,
                   diag_t *d);

#endif
