/* SPDX-License-Identifier: MIT */
/*
 * dnssec_roll.h -- automatic DNSSEC key management: the rollover state
 * machine over a zone's keys (zones/dnssec.h: zd_key_t states and
 * timestamps) and its policy (zd_policy_t).
 *
 * Callers: dnsd's orchestration timer (dnsd/orch.c: zd_roll_step() in its
 * own write txn, for every signed zone, on the node holding the cluster
 * task lock "dnssec"), dnsctl (`dnssec rollover`: zd_roll_start();
 * `dnssec ds-seen`: zd_roll_ds_seen()), and the unit tests
 * (zd_roll_decide() with a simulated clock). Slow path: may allocate and
 * scan a whole zone. Never logs or prints key material: key tags only.
 *
 * DESIGN. The timings are RFC 7583's (section 3.2 ZSK pre-publication,
 * 3.3 KSK double-DS) with the zone's TTLs (zd_roll_ttls_t) and the policy:
 *
 *   Ipub     = propagation + TTLkey     new key in every cache's DNSKEY RRset
 *   Iret_zsk = propagation + TTLsig     old signatures gone from caches, counted
 *                                       from the moment the store holds none
 *                                       (the re-sign batches replace them:
 *                                       RFC 7583's Dsgn is measured, not guessed)
 *   Iret_ksk = propagation + TTLkey     DNSKEY RRset signed by the new key everywhere
 *   Ids      = parent_propagation + parent_ds_ttl
 *                                       new DS at every parent server, old DS
 *                                       RRsets gone from caches
 *   TTLsig   = max(largest RRset TTL of any region, min(SOA TTL, SOA MINIMUM))
 *              (the second is the TTL of the online denials, RFC 9077)
 *
 * ZSK rollover (pre-publication; role ZSK only), one step each:
 *   1 start    new ZSK PUBLISHED (in DNSKEY, not signing); automatic at
 *              old.active + zsk_lifetime - Ipub, so the new key is ready
 *              when the old one's lifetime ends; or `dnssec rollover`
 *   2 activate at new.published + Ipub: new ACTIVE (signs), old RETIRING
 *   3 sigs gone  once no stored RRset carries a signature of the old key
 *              (the orchestration side re-signs in batches): old.removed is
 *              set to that time (for a RETIRING key, `removed` is the time
 *              its last signature left the store; 0: some are left)
 *   4 remove   at old.removed + Iret_zsk: old REMOVED (leaves DNSKEY)
 *
 * KSK and CSK rollover (double-DS: the parent holds both DS records for
 * the swap; the new key is pre-published in DNSKEY meanwhile, not signing):
 *   1 start    new key PUBLISHED; CDS/CDNSKEY (RFC 7344, RFC 8078; written
 *              by zd_zone_publish_keys(): the KSK-role keys PUBLISHED or
 *              ACTIVE) now ask the parent to add the new DS; automatic at
 *              old.active + ksk_lifetime
 *   2 (operator) `dnsctl dnssec ds-seen ZONE TAG` once the parent serves
 *              the new DS: new.ds_seen = now. dnsd does not query the
 *              parent itself (no resolver configuration): like Knot's
 *              `knotc zone-ksk-submitted`, the operator confirms
 *   3 activate at max(new.published + Ipub, new.ds_seen + Ids): new
 *              ACTIVE (signs DNSKEY/CDS/CDNSKEY; a CSK also zone data),
 *              old RETIRING. CDS/CDNSKEY list only the new key from now
 *              on: the parent may drop the old DS, since every resolver
 *              holds the new DS (Ids has passed) and the new key alone
 *              signs the DNSKEY RRset (a stale DS beside a valid one
 *              breaks nothing)
 *   (CSK: 3b sigs gone, as ZSK step 3)
 *   4 remove   at old.retired + Iret_ksk (a CSK also at old.removed +
 *              Iret_zsk): old REMOVED: it leaves DNSKEY
 *
 * Purge: a REMOVED key's record (with its private key) is deleted from the
 * store at removed + purge_keys (policy; 0 keeps it for ever), so retired
 * private keys do not pile up (BIND's dnssec-policy purge-keys, 90 days by
 * default here too). Its key id is never reused (zd_key_next_id).
 *
 * A new key has the algorithm of the key it replaces (no algorithm
 * rollover) and a key tag no other key of the zone has (ds-seen names keys
 * by tag). A rollover of a role does not start while a key of that role is
 * PUBLISHED or RETIRING.
 */
#ifndef DNSD_DNSSEC_ROLL_H
#define DNSD_DNSSEC_ROLL_H

#include <stddef.h>
#include <stdint.h>

#include "zones/base/diag.h"
#include "zones/dnssec.h"
#include "zones/writer.h"

/** The zone's TTLs the waits are made of. */
typedef struct zd_roll_ttls {
    uint32_t dnskey_ttl; /* TTLkey: the DNSKEY RRset's TTL */
    uint32_t max_ttl;    /* the largest TTL of any RRset in any region */
    uint32_t neg_ttl;    /* min(SOA TTL, SOA MINIMUM): online denials (RFC 9077) */
} zd_roll_ttls_t;

/** The intervals above, in seconds (no overflow: 64 bits). */
uint64_t zd_roll_ipub(const zd_policy_t *p, const zd_roll_ttls_t *t);
uint64_t zd_roll_iret_zsk(const zd_policy_t *p, const zd_roll_ttls_t *t);
uint64_t zd_roll_iret_ksk(const zd_policy_t *p, const zd_roll_ttls_t *t);
uint64_t zd_roll_ids(const zd_policy_t *p);

typedef enum zd_roll_kind {
    ZD_ROLL_NONE = 0,   /* nothing due */
    ZD_ROLL_START,      /* make a successor of keys[old] (same role and algorithm), PUBLISHED */
    ZD_ROLL_ACTIVATE,   /* keys[new] ACTIVE, keys[old] (if >= 0) RETIRING */
    ZD_ROLL_CHECK_SIGS, /* keys[old] is a RETIRING ZSK-role key: do signatures of it remain? */
    ZD_ROLL_REMOVE,     /* keys[old] REMOVED */
    ZD_ROLL_PURGE,      /* keys[old] (REMOVED, purge_keys over): delete its record */
} zd_roll_kind_t;

typedef struct zd_roll_action {
    zd_roll_kind_t kind;
    int old_idx, new_idx; /* indexes into the keys array; -1: none */
    /* ZD_ROLL_NONE: when the next step may be due; 0: none is scheduled
     * (a steady zone without lifetimes, or a rollover waiting for ds-seen) */
    uint64_t next_at;
    /* ZD_ROLL_NONE with a rollover under way: index of the key that waits
     * for the operator's ds-seen, else -1 */
    int wait_ds_idx;
} zd_roll_action_t;

/**
 * The state machine itself, pure: which step is due at @p now for the
 * zone's @p n keys (any order), its policy and TTLs. The first due step
 * in key order is chosen. No I/O; the unit tests drive it with a
 * simulated clock.
 */
void zd_roll_decide(const zd_key_t *keys, size_t n, const zd_policy_t *p,
                    const zd_roll_ttls_t *t, uint64_t now, zd_roll_action_t *a);

/**
 * Apply a decided ZD_ROLL_ACTIVATE, ZD_ROLL_REMOVE, or ZD_ROLL_CHECK_SIGS
 * (call it for that one only once no signature of the key is left) to
 * @p keys at @p now, in memory. ZD_ROLL_START makes a key and
 * ZD_ROLL_PURGE deletes one: zd_roll_step() (here they change nothing).
 */
void zd_roll_apply(zd_key_t *keys, const zd_roll_action_t *a, uint64_t now);

/**
 * Read the zone's TTLs from the store (any txn). When @p tag_count is not
 * NULL, also count the stored signatures made by key (@p alg, @p tag),
 * except those over DNSKEY, CDS and CDNSKEY (the KSK side of the key):
 * a whole-zone scan. @return 0 or DNSD_E*.
 */
int zd_roll_ttls(zs_store_t *s, MDB_txn *txn, const zw_zone_t *z, zd_roll_ttls_t *out,
                 uint8_t alg, uint16_t tag, uint64_t *tag_count);

/**
 * Make at most one key state change of zone @p z at @p now inside the
 * caller's write txn @p w (the keys written, then zd_zone_publish_keys()
 * rewrites DNSKEY/CDS/CDNSKEY; the writer re-signs at commit). @p what
 * (cap bytes) says what was done, for the log ("" when nothing); *@p
 * next_at when the next step may be due (0: nothing scheduled; @p now:
 * at the next check). @return 1 when something changed (commit), 0 when
 * nothing did (abort), or a negative DNSD_E* (abort; @p what says why).
 */
int zd_roll_step(zw_t *w, const zw_zone_t *z, uint64_t now, char *what, size_t cap,
                 uint64_t *next_at);

/**
 * Start a rollover now (`dnsctl dnssec rollover`): @p role ZD_ROLE_ZSK
 * (split zones: the ZSK), ZD_ROLE_KSK (the KSK, or the CSK), or 0 (the ZSK
 * of a split zone, the CSK of a CSK zone). Step 1 of the sequences above,
 * in @p w. @return 0 with @p what said; DNSD_EEXIST (a rollover of that
 * role is under way), DNSD_ENOTFOUND (no active key of that role, or
 * --zsk on a CSK zone), others; @p d says why.
 */
int zd_roll_start(zw_t *w, const zw_zone_t *z, uint8_t role, uint64_t now, char *what,
                  size_t cap, diag_t *d);

/**
 * The parent serves the DS of the zone's KSK-role key with tag @p tag
 * (`dnsctl dnssec ds-seen`): set its ds_seen to @p now, in @p w. @return 0;
 * DNSD_ENOTFOUND (no such key in DNSKEY with the KSK role), DNSD_EEXIST
 * (already recorded), with @p d saying why.
 */
int zd_roll_ds_seen(zw_t *w, const zw_zone_t *z, uint16_t tag, uint64_t now, diag_t *d);

#endif
