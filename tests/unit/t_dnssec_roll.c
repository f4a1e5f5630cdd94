/* SPDX-License-Identifier: MIT */
/*
 * t_dnssec_roll.c -- the key rollover state machine (zones/dnssec_roll.h)
 * under a simulated clock: every step of a ZSK pre-publication rollover and
 * of a KSK and a CSK double-DS rollover, at exactly the times RFC 7583's
 * waits give for the zone's TTLs and policy, never a second early; then a
 * whole rollover walked minute by minute with invariants checked at every
 * tick (a key signs only once every cache can have it, and leaves DNSKEY
 * only once nothing cached can need it). The store side (zd_roll_step on
 * a real store, DNSKEY/CDS contents) is in the second half.
 */
#include <ldns/ldns.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/tap.h"
#include "tests/testzone.h"
#include "tests/ldns_rr.h"
#include "zones/base/err.h"
#include "zones/dnssec_roll.h"
#include "zones/writer.h"

#define DAY 86400u
#define T0 1800000000u /* a fixed epoch for the simulated clock */

static zd_policy_t pol(void)
{
    zd_policy_t p;
    memset(&p, 0, sizeof(p));
    p.alg = ZD_ALG_ECDSAP256SHA256;
    p.zsk_lifetime = 30 * DAY;
    p.ksk_lifetime = 365 * DAY;
    p.propagation = 300;
    p.parent_ds_ttl = 86400;
    p.parent_propagation = 3600;
    p.sig_validity = 14 * DAY;
    p.sig_refresh = 7 * DAY;
    return p;
}

static zd_key_t key(uint32_t id, uint16_t tag, uint8_t role, uint8_t state, uint64_t t)
{
    zd_key_t k;
    memset(&k, 0, sizeof(k));
    k.id = id;
    k.tag = tag;
    k.role = role;
    k.alg = ZD_ALG_ECDSAP256SHA256;
    k.flags = (role & ZD_ROLE_KSK) ? 257 : 256;
    k.state = state;
    k.created = k.published = t;
    if (state == ZD_KS_ACTIVE) {
        k.active = t;
    }
    return k;
}

/* add the successor START asks for, the way zd_roll_step makes it */
static size_t start(zd_key_t *keys, size_t n, const zd_roll_action_t *a, uint64_t now,
                    uint16_t tag)
{
    zd_key_t *o = &keys[a->old_idx];
    keys[n] = key(o->id + 100, tag, o->role, ZD_KS_PUBLISHED, now);
    return n + 1;
}

static zd_roll_action_t decide(const zd_key_t *k, size_t n, const zd_policy_t *p,
                               const zd_roll_ttls_t *t, uint64_t now)
{
    zd_roll_action_t a;
    zd_roll_decide(k, n, p, t, now, &a);
    return a;
}

static void test_waits(void)
{
    zd_policy_t p = pol();
    zd_roll_ttls_t t = {.dnskey_ttl = 3600, .max_ttl = 7200, .neg_ttl = 900};
    is_int(zd_roll_ipub(&p, &t), 3900, "Ipub = propagation + DNSKEY TTL");
    is_int(zd_roll_iret_zsk(&p, &t), 7500, "Iret (ZSK) = propagation + largest RRset TTL");
    t.neg_ttl = 10800;
    is_int(zd_roll_iret_zsk(&p, &t), 11100, "... or the negative TTL when it is larger");
    is_int(zd_roll_iret_ksk(&p, &t), 3900, "Iret (KSK) = propagation + DNSKEY TTL");
    is_int(zd_roll_ids(&p), 90000, "Ids = parent propagation + parent DS TTL");
}

static void test_zsk(void)
{
    zd_policy_t p = pol();
    zd_roll_ttls_t t = {.dnskey_ttl = 3600, .max_ttl = 86400, .neg_ttl = 900};
    zd_key_t k[8];
    size_t n = 0;
    k[n++] = key(1, 1111, ZD_ROLE_KSK, ZD_KS_ACTIVE, T0);
    k[n++] = key(2, 2222, ZD_ROLE_ZSK, ZD_KS_ACTIVE, T0);
    uint64_t ipub = 3900, due = T0 + 30 * DAY - ipub;
    zd_roll_action_t a = decide(k, n, &p, &t, T0);
    is_int(a.kind, ZD_ROLL_NONE, "ZSK: nothing due at the start");
    is_int(a.next_at, due, "ZSK: next step: lifetime end - Ipub (pre-publication)");
    a = decide(k, n, &p, &t, due - 1);
    is_int(a.kind, ZD_ROLL_NONE, "ZSK: not a second early");
    a = decide(k, n, &p, &t, due);
    is_int(a.kind, ZD_ROLL_START, "ZSK 1: start when the lifetime is nearly over");
    is_int(k[a.old_idx].tag, 2222, "ZSK 1: the ZSK is rolled, not the KSK");
    uint64_t now = due;
    n = start(k, n, &a, now, 3333);
    a = decide(k, n, &p, &t, now + 10 * DAY);
    ok(a.kind != ZD_ROLL_START, "ZSK: no second rollover while one is under way");
    a = decide(k, n, &p, &t, now + ipub - 1);
    is_int(a.kind, ZD_ROLL_NONE, "ZSK 2: the new key does not sign before Ipub");
    is_int(a.next_at, now + ipub, "ZSK 2: due at published + Ipub");
    now += ipub;
    a = decide(k, n, &p, &t, now);
    is_int(a.kind, ZD_ROLL_ACTIVATE, "ZSK 2: activate at published + Ipub");
    is_int(k[a.new_idx].tag, 3333, "ZSK 2: the new key becomes active");
    is_int(k[a.old_idx].tag, 2222, "ZSK 2: the old one retires");
    zd_roll_apply(k, &a, now);
    is_int(k[1].state, ZD_KS_RETIRING, "ZSK 2: old ZSK retiring (still in DNSKEY)");
    is_int(k[2].state, ZD_KS_ACTIVE, "ZSK 2: new ZSK active");
    a = decide(k, n, &p, &t, now + 20 * DAY);
    is_int(a.kind, ZD_ROLL_CHECK_SIGS, "ZSK 3: while signatures of the old key may remain, "
                                       "they are checked, however late");
    /* the re-sign batches take an hour; then the store holds none of the old key's */
    uint64_t gone = now + 3600;
    a = decide(k, n, &p, &t, gone);
    is_int(a.kind, ZD_ROLL_CHECK_SIGS, "ZSK 3: check at the hour");
    zd_roll_apply(k, &a, gone);
    is_int(k[1].removed, gone, "ZSK 3: the time the last old signature left is recorded");
    is_int(k[1].state, ZD_KS_RETIRING, "ZSK 3: ... and the key stays in DNSKEY");
    uint64_t rm = gone + 300 + 86400;
    a = decide(k, n, &p, &t, rm - 1);
    is_int(a.kind, ZD_ROLL_NONE, "ZSK 4: not removed before propagation + largest TTL");
    is_int(a.next_at, rm, "ZSK 4: removal due at last signature + Iret");
    a = decide(k, n, &p, &t, rm);
    is_int(a.kind, ZD_ROLL_REMOVE, "ZSK 4: removed at last signature + Iret");
    is_int(k[a.old_idx].tag, 2222, "ZSK 4: the old key is the one removed");
    zd_roll_apply(k, &a, rm);
    is_int(k[1].state, ZD_KS_REMOVED, "ZSK 4: old ZSK removed");
    a = decide(k, n, &p, &t, rm);
    is_int(a.kind, ZD_ROLL_NONE, "ZSK: steady again");
    is_int(a.next_at, k[2].active + 30 * DAY - ipub, "ZSK: the next rollover from the new "
                                                     "key's activation");
}

/* KSK (split) or CSK double-DS */
static void test_ksk(uint8_t role)
{
    const char *nm = role == ZD_ROLE_CSK ? "CSK" : "KSK";
    zd_policy_t p = pol();
    zd_roll_ttls_t t = {.dnskey_ttl = 3600, .max_ttl = 7200, .neg_ttl = 900};
    zd_key_t k[8];
    size_t n = 0;
    k[n++] = key(1, 1111, role, ZD_KS_ACTIVE, T0);
    if (role == ZD_ROLE_KSK) {
        k[n++] = key(2, 2222, ZD_ROLE_ZSK, ZD_KS_ACTIVE, T0);
        p.zsk_lifetime = 0;
    }
    uint64_t due = T0 + 365 * DAY;
    zd_roll_action_t a = decide(k, n, &p, &t, due - 1);
    is_int(a.kind, ZD_ROLL_NONE, "%s: nothing a second before the lifetime ends", nm);
    is_int(a.next_at, due, "%s: due at the end of ksk_lifetime", nm);
    a = decide(k, n, &p, &t, due);
    is_int(a.kind, ZD_ROLL_START, "%s 1: start at the end of ksk_lifetime", nm);
    uint64_t now = due;
    n = start(k, n, &a, now, 4444);
    int ni = (int)n - 1;
    a = decide(k, n, &p, &t, now + 1000 * DAY);
    is_int(a.kind, ZD_ROLL_NONE, "%s 2: never active without its DS at the parent", nm);
    is_int(a.next_at, 0, "%s 2: nothing scheduled: the operator's ds-seen is awaited", nm);
    is_int(a.wait_ds_idx, ni, "%s 2: the key waiting for its DS is named", nm);
    /* the DS is seen at the parent 2 hours later */
    uint64_t seen = now + 7200;
    k[ni].ds_seen = seen;
    uint64_t ready = seen + 3600 + 86400; /* parent propagation + DS TTL > Ipub */
    a = decide(k, n, &p, &t, ready - 1);
    is_int(a.kind, ZD_ROLL_NONE, "%s 3: not active before ds_seen + Ids", nm);
    is_int(a.next_at, ready, "%s 3: due at ds_seen + parent propagation + DS TTL", nm);
    a = decide(k, n, &p, &t, ready);
    is_int(a.kind, ZD_ROLL_ACTIVATE, "%s 3: the new key signs DNSKEY at ds_seen + Ids", nm);
    is_int(a.new_idx, ni, "%s 3: the new key", nm);
    is_int(a.old_idx, 0, "%s 3: the old one retires", nm);
    zd_roll_apply(k, &a, ready);
    now = ready;
    if (role == ZD_ROLE_CSK) {
        a = decide(k, n, &p, &t, now);
        is_int(a.kind, ZD_ROLL_CHECK_SIGS, "CSK 3b: its zone data signatures are checked");
        uint64_t gone = now + 60;
        zd_roll_apply(k, &a, gone);
        /* Iret_zsk = 300 + 7200 from gone > Iret_ksk = 300 + 3600 from retired */
        uint64_t rm = gone + 7500;
        a = decide(k, n, &p, &t, rm - 1);
        is_int(a.kind, ZD_ROLL_NONE, "CSK 4: kept until its last signature + Iret (ZSK)");
        is_int(a.next_at, rm, "CSK 4: due at last signature + propagation + largest TTL");
        a = decide(k, n, &p, &t, rm);
        is_int(a.kind, ZD_ROLL_REMOVE, "CSK 4: removed then");
        now = rm;
    } else {
        uint64_t rm = now + 3900;
        a = decide(k, n, &p, &t, rm - 1);
        is_int(a.kind, ZD_ROLL_NONE, "KSK 4: kept until retired + propagation + DNSKEY TTL");
        is_int(a.next_at, rm, "KSK 4: no signature check for a KSK: due at retired + Iret");
        a = decide(k, n, &p, &t, rm);
        is_int(a.kind, ZD_ROLL_REMOVE, "KSK 4: removed then");
        now = rm;
    }
    is_int(a.old_idx, 0, "%s 4: the old key goes", nm);
    zd_roll_apply(k, &a, now);
    is_int(k[0].state, ZD_KS_REMOVED, "%s 4: old key removed", nm);
    a = decide(k, n, &p, &t, now);
    is_int(a.kind, ZD_ROLL_NONE, "%s: steady", nm);
    is_int(a.next_at, ready + 365 * DAY, "%s: next rollover a lifetime after the new key's "
                                         "activation", nm);
}

/* a CSK rollover walked minute by minute, everything due done at each tick
 * (as dnsd's timer does), with the invariants checked at every tick */
static void test_walk(void)
{
    zd_policy_t p = pol();
    p.ksk_lifetime = 2 * DAY;
    zd_roll_ttls_t t = {.dnskey_ttl = 600, .max_ttl = 3000, .neg_ttl = 300};
    zd_key_t k[8];
    size_t n = 0;
    k[n++] = key(1, 1111, ZD_ROLE_CSK, ZD_KS_ACTIVE, T0);
    uint64_t resign_done = 0, ds_at = 0;
    int steps = 0, bad = 0;
    uint64_t seen[6] = {0};
    for (uint64_t now = T0; now < T0 + 5 * DAY && !bad; now += 60) {
        /* the parent: the operator confirms the DS 30 minutes after the new key appears */
        if (n == 2 && !k[1].ds_seen && k[1].published && now >= k[1].published + 1800) {
            k[1].ds_seen = ds_at = now;
        }
        for (int g = 0; g < 8; g++) {
            zd_roll_action_t a = decide(k, n, &p, &t, now);
            if (a.kind == ZD_ROLL_NONE) {
                break;
            }
            if (a.kind == ZD_ROLL_START) {
                n = start(k, n, &a, now, 5555);
            } else if (a.kind == ZD_ROLL_CHECK_SIGS) {
                if (!resign_done) {
                    resign_done = now + 600; /* the batches take 10 minutes */
                }
                if (now < resign_done) {
                    break;
                }
                zd_roll_apply(k, &a, now);
            } else {
                zd_roll_apply(k, &a, now);
            }
            seen[a.kind] = now;
            steps++;
        }
        /* invariants */
        int active = 0;
        for (size_t i = 0; i < n; i++) {
            active += k[i].state == ZD_KS_ACTIVE;
        }
        if (active != 1) {
            ok(0, "walk: exactly one active CSK at every minute (%d at +%llu s)", active,
               (unsigned long long)(now - T0));
            bad = 1;
        }
        if (n == 2 && k[1].state == ZD_KS_ACTIVE &&
            (!ds_at || k[1].active < ds_at + 90000 || k[1].active < k[1].published + 900)) {
            ok(0, "walk: the new CSK signs only after its DS and Ipub");
            bad = 1;
        }
        if (k[0].state == ZD_KS_REMOVED &&
            (k[0].removed < resign_done + 3300 || k[0].removed < k[0].retired + 900)) {
            ok(0, "walk: the old CSK leaves DNSKEY only after its signatures and Iret");
            bad = 1;
        }
    }
    ok(!bad, "walk: invariants held at every minute");
    is_int(steps, 4, "walk: four state changes (start, activate, signatures gone, remove)");
    is_int(seen[ZD_ROLL_START], T0 + 2 * DAY, "walk: started when the lifetime ended");
    is_int(seen[ZD_ROLL_ACTIVATE], ds_at + 90000, "walk: activated at ds_seen + Ids");
    is_int(seen[ZD_ROLL_CHECK_SIGS], resign_done, "walk: signatures gone when re-signed");
    is_int(seen[ZD_ROLL_REMOVE], resign_done + 3300, "walk: removed at re-signed + Iret");
    is_int(k[0].state, ZD_KS_REMOVED, "walk: the old CSK is gone in the end");
    is_int(k[1].state, ZD_KS_ACTIVE, "walk: the new CSK is active in the end");
}

/* ---- the store side: zd_roll_start/step/ds_seen on a real store ---- */

static zs_store_t *st;

static zw_zone_t zone_of(const char *apex)
{
    MDB_txn *txn;
    zw_zone_t z = {0};
    zs_read_begin(st, &txn);
    zw_zone_get(st, txn, tz_name(apex), &z);
    zs_read_end(st, txn);
    return z;
}

/* what the zone publishes and who signs it, checked by ldns against the stored DNSKEY RRset */
typedef struct zview {
    int ndnskey, ncds, ncdnskey;
    uint16_t dnskey_tags[8];
    uint16_t dnskey_signer[4]; /* tags of the DNSKEY RRset's signatures */
    int ndnskey_sig;
    uint16_t cds_tags[4];
    int bad;                   /* signatures ldns does not verify */
    int data_signed_by_old;    /* zone data RRsets carrying a signature of tag `old` */
    int data_signed_by_new;
    uint16_t old, new_;
    ldns_rr_list *keys;
    char first_bad[256];
} zview_t;

static int view_cb(const uint8_t *owner, const zs_rrset_t *rr, void *arg)
{
    zview_t *v = arg;
    if (rr->nsig == 0) {
        return 0;
    }
    ldns_rr_list *set = ldns_rr_list_new();
    size_t off = 0;
    for (unsigned i = 0; i < rr->count; i++) {
        size_t rl = zs_get16(rr->rdata + off);
        ldns_rr_list_push_rr(set, tl_rr_wire(owner, rr->type, rr->ttl, rr->rdata + off + 2, rl));
        off += 2 + rl;
    }
    bool keyset = rr->type == DNS_T_DNSKEY || rr->type == DNS_T_CDS || rr->type == DNS_T_CDNSKEY;
    bool old = false, nw = false;
    const uint8_t *p = rr->sigs;
    for (unsigned i = 0; i < rr->nsig; i++) {
        size_t sl = zs_get16(p);
        uint16_t tag = zs_get16(p + 2 + 16);
        ldns_rr *sig = tl_rr_wire(owner, DNS_T_RRSIG, rr->ttl, p + 2, sl);
        ldns_rr_list *good = ldns_rr_list_new();
        ldns_status s = ldns_verify_rrsig_keylist_time(set, sig, v->keys, time(NULL), good);
        if (s != LDNS_STATUS_OK) {
            if (!v->bad++) {
                snprintf(v->first_bad, sizeof(v->first_bad), "type %u tag %u: %s", rr->type,
                         tag, ldns_get_errorstr_by_id(s));
            }
        }
        ldns_rr_list_free(good);
        ldns_rr_free(sig);
        if (rr->type == DNS_T_DNSKEY && v->ndnskey_sig < 4) {
            v->dnskey_signer[v->ndnskey_sig++] = tag;
        }
        old |= !keyset && tag == v->old;
        nw |= !keyset && tag == v->new_;
        p += 2 + sl;
    }
    v->data_signed_by_old += old;
    v->data_signed_by_new += nw;
    ldns_rr_list_deep_free(set);
    return 0;
}

static zview_t view(const char *apex, uint16_t old, uint16_t nw)
{
    zview_t v;
    memset(&v, 0, sizeof(v));
    v.old = old;
    v.new_ = nw;
    MDB_txn *txn;
    zw_zone_t z = zone_of(apex);
    zs_rrset_t r;
    v.keys = ldns_rr_list_new();
    zs_read_begin(st, &txn);
    if (zw_rrset_get(st, txn, &z, z.apex, DNS_T_DNSKEY, 0, &r) == 0) {
        size_t off = 0;
        for (unsigned i = 0; i < r.count; i++) {
            size_t rl = zs_get16(r.rdata + off);
            ldns_rr *k = tl_rr_wire(z.apex, DNS_T_DNSKEY, r.ttl, r.rdata + off + 2, rl);
            if (v.ndnskey < 8) {
                v.dnskey_tags[v.ndnskey] = ldns_calc_keytag(k);
            }
            v.ndnskey++;
            ldns_rr_list_push_rr(v.keys, k);
            off += 2 + rl;
        }
    }
    if (zw_rrset_get(st, txn, &z, z.apex, DNS_T_CDS, 0, &r) == 0) {
        size_t off = 0;
        for (unsigned i = 0; i < r.count; i++) {
            if (v.ncds < 4) {
                v.cds_tags[v.ncds] = zs_get16(r.rdata + off + 2);
            }
            v.ncds++;
            off += 2 + zs_get16(r.rdata + off);
        }
    }
    if (zw_rrset_get(st, txn, &z, z.apex, DNS_T_CDNSKEY, 0, &r) == 0) {
        v.ncdnskey = r.count;
    }
    zw_foreach_rrset(st, txn, &z, view_cb, &v);
    zs_read_end(st, txn);
    ldns_rr_list_deep_free(v.keys);
    v.keys = NULL;
    if (v.bad) {
        printf("# %s: %d signatures do not verify, first: %s\n", apex, v.bad, v.first_bad);
    }
    return v;
}

static bool has(const uint16_t *tags, int n, uint16_t t)
{
    for (int i = 0; i < n && i < 8; i++) {
        if (tags[i] == t) {
            return true;
        }
    }
    return false;
}

/* one zd_roll_step in its own txn, committed when it changed something */
static int step(const char *apex, uint64_t now, uint64_t *next, char *what, size_t cap)
{
    zw_t w;
    diag_t d = {0};
    zw_zone_t z = zone_of(apex);
    zw_begin(st, &w);
    int rc = zd_roll_step(&w, &z, now, what, cap, next);
    if (rc == 1) {
        if (zw_commit(&w, &d) != 0) {
            printf("# commit: %s\n", d.text);
            return -1;
        }
    } else {
        zw_abort(&w);
    }
    return rc;
}

static void resign_all(const char *apex)
{
    bool more = true;
    for (int i = 0; more && i < 100; i++) {
        zw_t w;
        diag_t d = {0};
        zw_zone_t z = zone_of(apex);
        zw_begin(st, &w);
        if (zd_zone_resign(&w, &z, (uint64_t)time(NULL), 4, &more, &d) != 0 ||
            zw_commit(&w, &d) != 0) {
            printf("# resign: %s\n", d.text);
            return;
        }
    }
}

static void make_zone(const char *apex, bool split, const zd_policy_t *p)
{
    static const char *const recs[] = {
        "%s 3600 IN SOA ns1.%s hostmaster.%s 1 7200 900 1209600 300",
        "%s 86400 IN NS ns1.%s",
        "ns1.%s 600 IN A 192.0.2.1",
        "www.%s 300 IN A 192.0.2.10",
        "www.%s 300 IN AAAA 2001:db8::10",
        "mail.%s 7200 IN TXT \"longest TTL below the NS\"",
        NULL,
    };
    zw_t w;
    diag_t d = {0};
    zw_zone_t z;
    zw_begin(st, &w);
    zw_zone_create(&w, tz_name(apex), &z);
    for (size_t i = 0; recs[i]; i++) {
        char line[512];
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
        snprintf(line, sizeof(line), recs[i], apex, apex, apex);
#pragma GCC diagnostic pop
        if (tl_rr_add(&w, &z, 0, line) != 0) {
            printf("Bail out! cannot add %s\n", line);
            exit(1);
        }
    }
    if (zw_commit(&w, &d) != 0) {
        printf("Bail out! %s\n", d.text);
        exit(1);
    }
    zd_policy_t q = *p;
    q.split = split;
    zw_begin(st, &w);
    z = zone_of(apex);
    if (zd_zone_enable(&w, &z, &q, &d) != 0 || zw_commit(&w, &d) != 0) {
        printf("Bail out! enable %s: %s\n", apex, d.text);
        exit(1);
    }
}

static void keys_of(const char *apex, zd_key_t *out, size_t *n)
{
    MDB_txn *txn;
    zd_key_t *ks = NULL;
    zw_zone_t z = zone_of(apex);
    zs_read_begin(st, &txn);
    zd_keys_list(st, txn, z.id, &ks, n);
    zs_read_end(st, txn);
    memcpy(out, ks, *n * sizeof(*ks));
    free(ks);
}

static int find_state(const zd_key_t *k, size_t n, uint8_t role, uint8_t state)
{
    for (size_t i = 0; i < n; i++) {
        if ((k[i].role & role) && k[i].state == state) {
            return (int)i;
        }
    }
    return -1;
}

static void test_store_zsk(void)
{
    const char *apex = "split.test.";
    zd_policy_t p = pol();
    make_zone(apex, true, &p);
    zd_key_t k[8];
    size_t n;
    char what[512];
    uint64_t next = 0, now = (uint64_t)time(NULL);
    keys_of(apex, k, &n);
    int zi = find_state(k, n, ZD_ROLE_ZSK, ZD_KS_ACTIVE);
    ok(n == 2 && zi >= 0 && k[zi].role == ZD_ROLE_ZSK, "store ZSK: enable made a KSK and a ZSK");
    uint16_t old = k[zi].tag;
    /* TTLs read from the store: DNSKEY TTL = SOA TTL 3600, largest 86400 (NS) */
    zw_zone_t z = zone_of(apex);
    zd_roll_ttls_t t;
    MDB_txn *txn;
    zs_read_begin(st, &txn);
    is_int(zd_roll_ttls(st, txn, &z, &t, 0, 0, NULL), 0, "store ZSK: TTLs read");
    zs_read_end(st, txn);
    is_int(t.dnskey_ttl, 3600, "store ZSK: DNSKEY TTL from the stored DNSKEY RRset");
    is_int(t.max_ttl, 86400, "store ZSK: largest TTL of the zone (the NS)");
    is_int(t.neg_ttl, 300, "store ZSK: negative TTL min(SOA TTL, MINIMUM)");
    is_int(step(apex, now, &next, what, sizeof(what)), 0, "store ZSK: nothing due at once");
    is_int(next, k[zi].active + 30 * DAY - 3900, "store ZSK: next at lifetime end - Ipub");

    zw_t w;
    diag_t d = {0};
    zw_begin(st, &w);
    is_int(zd_roll_start(&w, &z, ZD_ROLE_ZSK, now, what, sizeof(what), &d), 0,
           "store ZSK 1: rollover started: %s", what);
    is_int(zw_commit(&w, &d), 0, "store ZSK 1: committed");
    keys_of(apex, k, &n);
    int ni = find_state(k, n, ZD_ROLE_ZSK, ZD_KS_PUBLISHED);
    ok(ni >= 0 && k[ni].role == ZD_ROLE_ZSK && k[ni].alg == k[zi].alg, "store ZSK 1: a new ZSK, "
                                                                       "same algorithm, published");
    uint16_t nw = ni >= 0 ? k[ni].tag : 0;
    ok(nw != old, "store ZSK 1: its tag differs");
    zview_t v = view(apex, old, nw);
    is_int(v.ndnskey, 3, "store ZSK 1: DNSKEY holds KSK, old and new ZSK");
    ok(has(v.dnskey_tags, v.ndnskey, nw), "store ZSK 1: the new ZSK is in DNSKEY");
    is_int(v.ncds, 1, "store ZSK 1: CDS still the KSK's alone");
    is_int(v.bad, 0, "store ZSK 1: every signature verifies (ldns)");
    ok(v.data_signed_by_new == 0 && v.data_signed_by_old > 0, "store ZSK 1: the new ZSK does "
                                                              "not sign yet");
    zw_begin(st, &w);
    is_int(zd_roll_start(&w, &z, ZD_ROLE_ZSK, now, what, sizeof(what), &d), DNSD_EEXIST,
           "store ZSK: a second rollover is refused");
    ok(strstr(d.text, "under way") != NULL, "store ZSK: ... saying why: %s", d.text);
    zw_abort(&w);

    is_int(step(apex, now + 3899, &next, what, sizeof(what)), 0, "store ZSK 2: not before Ipub");
    is_int(next, now + 3900, "store ZSK 2: due at published + Ipub");
    is_int(step(apex, now + 3900, &next, what, sizeof(what)), 1, "store ZSK 2: %s", what);
    v = view(apex, old, nw);
    is_int(v.bad, 0, "store ZSK 2: every signature verifies");
    is_int(v.ndnskey, 3, "store ZSK 2: the old ZSK stays in DNSKEY");
    ok(v.data_signed_by_old > 0, "store ZSK 2: old signatures remain until re-signed (%d)",
       v.data_signed_by_old);
    uint64_t t2 = now + 3900 + 60;
    is_int(step(apex, t2, &next, what, sizeof(what)), 0, "store ZSK 3: old signatures in the "
                                                         "store: no change");
    is_int(next, t2, "store ZSK 3: look again at the next check");
    resign_all(apex);
    v = view(apex, old, nw);
    ok(v.data_signed_by_old == 0 && v.data_signed_by_new > 0 && v.bad == 0,
       "store ZSK 3: the re-sign batches replaced every old signature (new %d, old %d)",
       v.data_signed_by_new, v.data_signed_by_old);
    is_int(step(apex, t2 + 60, &next, what, sizeof(what)), 1, "store ZSK 3: %s", what);
    uint64_t rm = t2 + 60 + 300 + 86400;
    is_int(next, rm, "store ZSK 4: removal due at last signature + propagation + largest TTL");
    is_int(step(apex, rm - 1, &next, what, sizeof(what)), 0, "store ZSK 4: not a second early");
    v = view(apex, old, nw);
    ok(has(v.dnskey_tags, v.ndnskey, old), "store ZSK 4: the old ZSK still in DNSKEY");
    is_int(step(apex, rm, &next, what, sizeof(what)), 1, "store ZSK 4: %s", what);
    v = view(apex, old, nw);
    is_int(v.ndnskey, 2, "store ZSK 4: DNSKEY: KSK and the new ZSK");
    ok(!has(v.dnskey_tags, v.ndnskey, old), "store ZSK 4: the old ZSK left DNSKEY");
    is_int(v.bad, 0, "store ZSK 4: every signature verifies");
    keys_of(apex, k, &n);
    is_int(k[zi].state, ZD_KS_REMOVED, "store ZSK 4: its key record says REMOVED");
    uint32_t old_id = k[zi].id;

    /* purge: with purge-keys 0 (pol()) the record stays; with 7 days it goes then */
    is_int(step(apex, rm + 20 * DAY, &next, what, sizeof(what)), 0,
           "store purge: purge-keys 0 keeps a removed key");
    keys_of(apex, k, &n);
    is_int((int)n, 3, "store purge: ... its record is still there");
    zd_policy_t q;
    zw_begin(st, &w);
    zd_policy_get(st, w.txn, z.id, &q);
    q.purge_keys = 7 * DAY;
    is_int(zd_policy_put(st, w.txn, z.id, &q), 0, "store purge: purge-keys 7 days set");
    is_int(zw_commit(&w, &d), 0, "store purge: committed");
    is_int(step(apex, rm + 7 * DAY - 1, &next, what, sizeof(what)), 0,
           "store purge: not a second early");
    is_int(next, rm + 7 * DAY, "store purge: due 7 days after it left DNSKEY");
    is_int(step(apex, rm + 7 * DAY, &next, what, sizeof(what)), 1, "store purge: %s", what);
    keys_of(apex, k, &n);
    bool gone = n == 2;
    for (size_t i = 0; i < n; i++) {
        gone = gone && k[i].id != old_id && k[i].state == ZD_KS_ACTIVE;
    }
    ok(gone, "store purge: the old ZSK's record is deleted, the two active keys stay");
    v = view(apex, old, nw);
    ok(v.ndnskey == 2 && v.bad == 0, "store purge: DNSKEY and signatures unchanged");
    is_int(step(apex, rm + 8 * DAY, &next, what, sizeof(what)), 0, "store purge: steady again");

    /* a policy stored before purge-keys existed (format 1, 36 bytes) reads with the default */
    uint8_t kb[5], b[36];
    zs_put32(kb, z.id);
    kb[4] = 'P';
    memset(b, 0, sizeof(b));
    b[0] = 1;
    b[1] = ZD_ALG_ECDSAP256SHA256;
    zs_put32(b + 4, 14 * DAY);
    zs_put32(b + 8, 7 * DAY);
    zs_put32(b + 32, 3600);
    MDB_val mk = {sizeof(kb), kb}, mv = {sizeof(b), b};
    zw_begin(st, &w);
    is_int(zs_put(st, w.txn, st->dnssec, &mk, &mv, 0), 0, "store purge: a format 1 policy");
    is_int(zw_commit(&w, &d), 0, "store purge: ... committed");
    MDB_txn *rt;
    zs_read_begin(st, &rt);
    memset(&q, 0, sizeof(q));
    is_int(zd_policy_get(st, rt, z.id, &q), 0, "store purge: format 1 still reads");
    zs_read_end(st, rt);
    ok(q.purge_keys == 90 * DAY && q.parent_propagation == 3600 && q.sig_refresh == 7 * DAY,
       "store purge: ... with purge-keys 90 days and its own fields (%u)", q.purge_keys);
}

/* purge in the pure state machine */
static void test_purge(void)
{
    zd_policy_t p = pol();
    zd_roll_ttls_t t = {.dnskey_ttl = 600, .max_ttl = 3000, .neg_ttl = 300};
    zd_key_t k[3];
    k[0] = key(1, 1111, ZD_ROLE_KSK, ZD_KS_ACTIVE, T0);
    k[1] = key(2, 2222, ZD_ROLE_ZSK, ZD_KS_REMOVED, T0);
    k[1].removed = T0 + DAY;
    k[2] = key(3, 3333, ZD_ROLE_ZSK, ZD_KS_ACTIVE, T0 + DAY);
    p.zsk_lifetime = 0;
    p.ksk_lifetime = 0;
    zd_roll_action_t a = decide(k, 3, &p, &t, T0 + 1000 * DAY);
    ok(a.kind == ZD_ROLL_NONE && a.next_at == 0, "purge: purge-keys 0: never, nothing scheduled");
    p.purge_keys = 30 * DAY;
    a = decide(k, 3, &p, &t, T0 + 31 * DAY - 1);
    ok(a.kind == ZD_ROLL_NONE && a.next_at == T0 + 31 * DAY,
       "purge: due at removed + purge-keys, not a second early");
    a = decide(k, 3, &p, &t, T0 + 31 * DAY);
    ok(a.kind == ZD_ROLL_PURGE && a.old_idx == 1, "purge: the removed ZSK is purged then");
    k[1].state = ZD_KS_RETIRING;
    k[1].removed = 0;
    a = decide(k, 3, &p, &t, T0 + 400 * DAY);
    ok(a.kind != ZD_ROLL_PURGE, "purge: never a key still in DNSKEY");
}

static void test_store_csk(void)
{
    const char *apex = "csk.test.";
    zd_policy_t p = pol();
    p.ksk_lifetime = 0;
    p.parent_propagation = 60;
    p.parent_ds_ttl = 120;
    make_zone(apex, false, &p);
    zd_key_t k[8];
    size_t n;
    char what[512];
    uint64_t next = 0, now = (uint64_t)time(NULL);
    keys_of(apex, k, &n);
    ok(n == 1 && k[0].role == ZD_ROLE_CSK && k[0].state == ZD_KS_ACTIVE,
       "store CSK: enable made one active CSK");
    uint16_t old = k[0].tag;
    is_int(step(apex, now + 1000 * DAY, &next, what, sizeof(what)), 0,
           "store CSK: no lifetime, no rollover");
    zw_t w;
    diag_t d = {0};
    zw_zone_t z = zone_of(apex);
    zw_begin(st, &w);
    is_int(zd_roll_start(&w, &z, ZD_ROLE_ZSK, now, what, sizeof(what), &d), DNSD_ENOTFOUND,
           "store CSK: --zsk refused");
    ok(strstr(d.text, "CSK") != NULL, "store CSK: ... saying why: %s", d.text);
    zw_abort(&w);
    zw_begin(st, &w);
    is_int(zd_roll_start(&w, &z, 0, now, what, sizeof(what), &d), 0, "store CSK 1: %s", what);
    is_int(zw_commit(&w, &d), 0, "store CSK 1: committed");
    keys_of(apex, k, &n);
    int ni = find_state(k, n, ZD_ROLE_CSK, ZD_KS_PUBLISHED);
    ok(ni >= 0 && k[ni].role == ZD_ROLE_CSK, "store CSK 1: a new CSK published");
    uint16_t nw = ni >= 0 ? k[ni].tag : 0;
    zview_t v = view(apex, old, nw);
    is_int(v.ndnskey, 2, "store CSK 1: DNSKEY holds both");
    ok(v.ncds == 2 && has(v.cds_tags, v.ncds, nw) && has(v.cds_tags, v.ncds, old),
       "store CSK 1: CDS lists the new key beside the old one");
    is_int(v.ncdnskey, 2, "store CSK 1: CDNSKEY too");
    ok(v.ndnskey_sig == 1 && v.dnskey_signer[0] == old, "store CSK 1: only the old key signs "
                                                        "DNSKEY");
    is_int(v.bad, 0, "store CSK 1: every signature verifies");
    is_int(step(apex, now + 100 * DAY, &next, what, sizeof(what)), 0,
           "store CSK 2: without ds-seen, never active");
    is_int(next, 0, "store CSK 2: nothing scheduled");

    zw_begin(st, &w);
    is_int(zd_roll_ds_seen(&w, &z, (uint16_t)(nw + 1), now, &d), DNSD_ENOTFOUND,
           "store CSK 2: ds-seen of an unknown tag refused");
    ok(strstr(d.text, "its KSK-role keys") != NULL, "store CSK 2: ... naming the keys: %s", d.text);
    zw_abort(&w);
    uint64_t seen = now + 600;
    zw_begin(st, &w);
    is_int(zd_roll_ds_seen(&w, &z, nw, seen, &d), 0, "store CSK 2: ds-seen %u", nw);
    is_int(zw_commit(&w, &d), 0, "store CSK 2: committed");
    zw_begin(st, &w);
    is_int(zd_roll_ds_seen(&w, &z, nw, seen + 5, &d), DNSD_EEXIST, "store CSK 2: twice: said so");
    zw_abort(&w);
    /* Ids = 60 + 120 = 180 < Ipub = 300 + 3600 from publication */
    uint64_t ready = now + 3900;
    is_int(step(apex, ready - 1, &next, what, sizeof(what)), 0, "store CSK 3: not before Ipub");
    is_int(next, ready, "store CSK 3: due at max(published + Ipub, ds_seen + Ids)");
    is_int(step(apex, ready, &next, what, sizeof(what)), 1, "store CSK 3: %s", what);
    v = view(apex, old, nw);
    ok(v.ndnskey_sig == 1 && v.dnskey_signer[0] == nw, "store CSK 3: the new key signs DNSKEY");
    ok(v.ncds == 1 && v.cds_tags[0] == nw, "store CSK 3: CDS lists only the new key");
    is_int(v.ndnskey, 2, "store CSK 3: the old key stays in DNSKEY");
    is_int(v.bad, 0, "store CSK 3: every signature verifies");
    is_int(step(apex, ready + 1, &next, what, sizeof(what)), 0, "store CSK 3b: data signed by "
                                                                "the old key: wait");
    resign_all(apex);
    v = view(apex, old, nw);
    ok(v.data_signed_by_old == 0 && v.data_signed_by_new > 0, "store CSK 3b: re-signed");
    is_int(step(apex, ready + 2, &next, what, sizeof(what)), 1, "store CSK 3b: %s", what);
    uint64_t rm = ready + 2 + 300 + 86400;
    is_int(next, rm, "store CSK 4: due at last signature + Iret (ZSK) > retired + Iret (KSK)");
    is_int(step(apex, rm - 1, &next, what, sizeof(what)), 0, "store CSK 4: not a second early");
    is_int(step(apex, rm, &next, what, sizeof(what)), 1, "store CSK 4: %s", what);
    v = view(apex, old, nw);
    ok(v.ndnskey == 1 && v.dnskey_tags[0] == nw, "store CSK 4: DNSKEY holds the new key alone");
    ok(v.ncds == 1 && v.cds_tags[0] == nw, "store CSK 4: CDS too");
    is_int(v.bad, 0, "store CSK 4: every signature verifies");
    is_int(step(apex, rm + 1, &next, what, sizeof(what)), 0, "store CSK: steady");
}

int main(void)
{
    test_waits();
    test_zsk();
    test_ksk(ZD_ROLE_KSK);
    test_ksk(ZD_ROLE_CSK);
    test_walk();
    test_purge();
    char dir[] = "/tmp/t_dnssec_roll.XXXXXX";
    if (!(st = tz_store_tmp(dir))) {
        return 1;
    }
    test_store_zsk();
    test_store_csk();
    tz_store_rm(st, dir);
    printf("1..%d\n", tap_n);
    return tap_fail ? 1 : 0;
}
