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
#include <stdlib.h>
#include <string.h>

#include "tests/tap.h"
#include "zones/base/err.h"
#include "zones/dnssec_roll.h"

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
    uint64_t seen[5] = {0};
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

int main(void)
{
    test_waits();
    test_zsk();
    test_ksk(ZD_ROLE_KSK);
    test_ksk(ZD_ROLE_CSK);
    test_walk();
    printf("1..%d\n", tap_n);
    return tap_fail ? 1 : 0;
}
