/* SPDX-License-Identifier: MIT */
/*
 * t_dnssec_zone.c -- signing through the writer (zones/writer.c +
 * zones/dnssec.c + zones/dnssec_zone.c) on a real store, every stored
 * signature checked by ldns (ldns_verify_rrsig_keylist_time) against the
 * zone's stored DNSKEY RRset, with the expected signed/unsigned state of
 * each RRset worked out here from the test's own list of delegation points
 * (RFC 4035 2.2): enable signs every RRset in every region, cut NS, data at
 * a cut and glue stay unsigned and the DS at a cut is signed; record add
 * and delete re-sign (and the SOA at every serial bump); an NS added above
 * signed names turns them into unsigned glue and removing it signs them
 * again; a region's overlay is signed; re-sign batches renew signatures
 * close to expiry; KSK/ZSK split with Ed25519 signs DNSKEY with the KSK
 * only; disable strips everything; errors leave the store unchanged.
 */
#include <ldns/ldns.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/tap.h"
#include "tests/testzone.h"
#include "tests/ldns_rr.h"
#include "zones/base/err.h"
#include "zones/dnssec.h"
#include "zones/writer.h"

static zs_store_t *st;

struct vstate {
    const zw_zone_t *z;
    const char *const *cuts; /* the delegation points, NULL-terminated */
    ldns_rr_list *keys;      /* the DNSKEY RRset */
    time_t when;
    bool expect_unsigned;    /* after disable: nothing signed */
    int good, bad, nsigned, nunsigned;
    uint16_t ksk_tags[4], zsk_tags[4]; /* when set: who must sign what */
    int nksk, nzsk;
    uint32_t min_exp;
    char first_bad[1200];
};

/* 0 authoritative, 1 at a cut, 2 below one: from the test's own list */
static int where(const struct vstate *v, const uint8_t *owner)
{
    int r = 0;
    for (size_t i = 0; v->cuts[i]; i++) {
        const uint8_t *c = tz_name(v->cuts[i]);
        if (dname_eq(owner, c)) {
            r = r > 1 ? r : 1;
        } else if (dname_is_sub(owner, c)) {
            r = 2;
        }
    }
    return r;
}

static void bad(struct vstate *v, const uint8_t *owner, uint16_t type, const char *why)
{
    if (!v->first_bad[0]) {
        char on[1024];
        dname_to_str(owner, on, sizeof(on));
        snprintf(v->first_bad, sizeof(v->first_bad), "%s type %u: %s", on, type, why);
    }
    v->bad++;
}

static bool has_tag(const uint16_t *tags, int n, uint16_t t)
{
    for (int i = 0; i < n; i++) {
        if (tags[i] == t) {
            return true;
        }
    }
    return false;
}

static int verify_cb(const uint8_t *owner, const zs_rrset_t *rr, void *arg)
{
    struct vstate *v = arg;
    int wh = where(v, owner);
    bool want = !v->expect_unsigned && wh != 2 && (wh == 0 || rr->type == DNS_T_DS);
    if (!want) {
        if (rr->nsig) {
            bad(v, owner, rr->type, "signed but must not be");
        } else {
            v->good++;
            v->nunsigned++;
        }
        return 0;
    }
    if (rr->nsig == 0) {
        bad(v, owner, rr->type, "not signed");
        return 0;
    }
    ldns_rr_list *set = ldns_rr_list_new();
    size_t off = 0;
    for (unsigned i = 0; i < rr->count; i++) {
        size_t rl = zs_get16(rr->rdata + off);
        ldns_rr_list_push_rr(set, tl_rr_wire(owner, rr->type, rr->ttl, rr->rdata + off + 2, rl));
        off += 2 + rl;
    }
    const uint8_t *p = rr->sigs;
    bool dnskey = rr->type == DNS_T_DNSKEY || rr->type == DNS_T_CDS || rr->type == DNS_T_CDNSKEY;
    for (unsigned i = 0; i < rr->nsig; i++) {
        size_t sl = zs_get16(p);
        ldns_rr *sig = tl_rr_wire(owner, DNS_T_RRSIG, rr->ttl, p + 2, sl);
        uint16_t tag = zs_get16(p + 2 + 16);
        uint32_t exp = zs_get32(p + 2 + 8);
        if (v->min_exp == 0 || exp < v->min_exp) {
            v->min_exp = exp;
        }
        p += 2 + sl;
        ldns_rr_list *sigs = ldns_rr_list_new(), *good = ldns_rr_list_new();
        ldns_rr_list_push_rr(sigs, sig);
        ldns_status s = ldns_verify_rrsig_keylist_time(set, sig, v->keys, v->when, good);
        if (s != LDNS_STATUS_OK) {
            bad(v, owner, rr->type, ldns_get_errorstr_by_id(s));
        } else if (v->nksk && dnskey && !has_tag(v->ksk_tags, v->nksk, tag)) {
            bad(v, owner, rr->type, "DNSKEY-type RRset signed by a key that is no KSK");
        } else if (v->nzsk && !dnskey && !has_tag(v->zsk_tags, v->nzsk, tag)) {
            bad(v, owner, rr->type, "zone data signed by a key that is no ZSK");
        } else {
            v->good++;
        }
        ldns_rr_list_free(good);
        ldns_rr_list_deep_free(sigs);
    }
    v->nsigned++;
    ldns_rr_list_deep_free(set);
    return 0;
}

/* Check every RRset of zone @p apex; @return the number of problems (first one printed). */
static int verify_zone(const char *apex, const char *const *cuts, time_t when, bool unsigned_,
                       struct vstate *out)
{
    struct vstate v = {0};
    MDB_txn *txn;
    zw_zone_t z;
    zs_read_begin(st, &txn);
    zw_zone_get(st, txn, tz_name(apex), &z);
    v.z = &z;
    v.cuts = cuts;
    v.when = when;
    v.expect_unsigned = unsigned_;
    v.keys = ldns_rr_list_new();
    zs_rrset_t dk;
    if (zw_rrset_get(st, txn, &z, z.apex, DNS_T_DNSKEY, 0, &dk) == 0) {
        size_t off = 0;
        for (unsigned i = 0; i < dk.count; i++) {
            size_t rl = zs_get16(dk.rdata + off);
            ldns_rr *k = tl_rr_wire(z.apex, DNS_T_DNSKEY, dk.ttl, dk.rdata + off + 2, rl);
            uint16_t fl = zs_get16(dk.rdata + off + 2);
            if ((fl & 1) && v.nksk < 4) {
                v.ksk_tags[v.nksk++] = ldns_calc_keytag(k);
            }
            if (!(fl & 1) && v.nzsk < 4) {
                v.zsk_tags[v.nzsk++] = ldns_calc_keytag(k);
            }
            ldns_rr_list_push_rr(v.keys, k);
            off += 2 + rl;
        }
    }
    struct vstate roles = v;
    if (v.nzsk == 0) {
        v.nksk = 0; /* a CSK: one key signs all */
    }
    zw_foreach_rrset(st, txn, &z, verify_cb, &v);
    zs_read_end(st, txn);
    ldns_rr_list_deep_free(v.keys);
    if (v.bad) {
        printf("# %s: %d bad, first: %s\n", apex, v.bad, v.first_bad);
    }
    if (out) {
        *out = v;
        out->nksk = roles.nksk;
        out->nzsk = roles.nzsk;
    }
    return v.bad;
}

static uint32_t serial_of(const char *apex)
{
    MDB_txn *txn;
    zw_zone_t z;
    uint32_t s = 0;
    zs_read_begin(st, &txn);
    zw_zone_get(st, txn, tz_name(apex), &z);
    zw_soa_serial(st, txn, &z, &s);
    zs_read_end(st, txn);
    return s;
}

static zw_zone_t zone_of(const char *apex)
{
    MDB_txn *txn;
    zw_zone_t z = {0};
    zs_read_begin(st, &txn);
    zw_zone_get(st, txn, tz_name(apex), &z);
    zs_read_end(st, txn);
    return z;
}

static const char *const zone_text[] = {
    "example.test. 3600 IN SOA ns1.example.test. hostmaster.example.test. 1 7200 900 1209600 300",
    "example.test. 86400 IN NS NS1.Example.TEST.",
    "example.test. 86400 IN NS ns2.example.test.",
    "example.test. 300 IN MX 10 MAIL.Example.Test.",
    "example.test. 300 IN MX 20 mail2.example.test.",
    "example.test. 300 IN TXT \"Hello WORLD\"",
    "ns1.example.test. 300 IN A 192.0.2.1",
    "ns2.example.test. 300 IN A 192.0.2.2",
    "www.example.test. 300 IN A 192.0.2.10",
    "www.example.test. 300 IN AAAA 2001:db8::10",
    "*.example.test. 300 IN A 192.0.2.99",
    "_sip._tcp.example.test. 300 IN SRV 10 60 5060 SIP.example.test.",
    "sub.example.test. 86400 IN NS ns.sub.example.test.",
    "sub.example.test. 86400 IN DS 12345 13 2 "
    "2BB183AF5F22588179A53B0A98631FAD1A292118A5DAB7F3B6A2E1C7E30A3C88",
    "ns.sub.example.test. 300 IN A 192.0.2.53",
    "deep.ns.sub.example.test. 300 IN A 192.0.2.54",
    "host.cut2.example.test. 300 IN A 192.0.2.60",
    "cut2.example.test. 300 IN TXT \"soon a delegation\"",
    NULL,
};

static const char *const cuts1[] = {"sub.example.test.", NULL};
static const char *const cuts2[] = {"sub.example.test.", "cut2.example.test.", NULL};

static int rrset_nsig(const char *apex, const char *owner, uint16_t type, uint16_t region)
{
    MDB_txn *txn;
    zs_rrset_t rr;
    zw_zone_t z;
    int n = -1;
    zs_read_begin(st, &txn);
    zw_zone_get(st, txn, tz_name(apex), &z);
    if (zw_rrset_get(st, txn, &z, tz_name(owner), type, region, &rr) == 0) {
        n = rr.nsig;
    }
    zs_read_end(st, txn);
    return n;
}

int main(void)
{
    char dir[] = "/tmp/t_dnssec_zone.XXXXXX";
    if (!(st = tz_store_tmp(dir))) {
        return 1;
    }
    zw_t w;
    diag_t d = {0};
    zw_zone_t z;
    time_t now = time(NULL);

    /* an unsigned zone with a region overlay */
    zw_begin(st, &w);
    zw_zone_create(&w, tz_name("example.test."), &z);
    for (size_t i = 0; zone_text[i]; i++) {
        if (tl_rr_add(&w, &z, 0, zone_text[i]) != 0) {
            printf("Bail out! cannot add %s\n", zone_text[i]);
            return 1;
        }
    }
    zs_region_t r = {0};
    snprintf(r.name, sizeof(r.name), "eu");
    is_int(zw_region_put(&w, &r, &d), 0, "region eu added");
    uint16_t eu = r.id;
    is_int(tl_rr_add(&w, &z, eu, "www.example.test. 60 IN A 198.51.100.10"), 0, "eu overlay A");
    is_int(tl_rr_add(&w, &z, eu, "eu-only.example.test. 60 IN TXT \"EU\""), 0, "eu-only TXT");
    is_int(zw_commit(&w, &d), 0, "unsigned zone committed");
    is_int(rrset_nsig("example.test.", "www.example.test.", DNS_T_A, 0), 0, "unsigned: no sigs");

    /* enable: one CSK, algorithm 13 */
    uint32_t s0 = serial_of("example.test.");
    zw_begin(st, &w);
    z = zone_of("example.test.");
    is_int(zd_zone_enable(&w, &z, NULL, &d), 0, "enable");
    ok(z.flags & ZS_ZONE_F_SIGNED, "the zone flag is set");
    is_int(zw_commit(&w, &d), 0, "enable committed");
    ok(serial_of("example.test.") != s0, "the serial moved (DNSKEY published)");
    struct vstate v = {0};
    is_int(verify_zone("example.test.", cuts1, now, false, &v), 0,
           "enabled: every RRset as it must be, each signature verified by ldns");
    ok(v.nsigned > 15 && v.nunsigned == 3, "signed %d, unsigned %d (the cut NS and 2 glue A)",
       v.nsigned, v.nunsigned);
    is_int(rrset_nsig("example.test.", "sub.example.test.", DNS_T_NS, 0), 0, "cut NS unsigned");
    is_int(rrset_nsig("example.test.", "ns.sub.example.test.", DNS_T_A, 0), 0, "glue unsigned");
    is_int(rrset_nsig("example.test.", "deep.ns.sub.example.test.", DNS_T_A, 0), 0,
           "deeper glue unsigned");
    is_int(rrset_nsig("example.test.", "sub.example.test.", DNS_T_DS, 0), 1, "DS at the cut signed");
    is_int(rrset_nsig("example.test.", "www.example.test.", DNS_T_A, eu), 1, "eu overlay signed");
    is_int(rrset_nsig("example.test.", "example.test.", DNS_T_DNSKEY, 0), 1, "DNSKEY signed");
    is_int(rrset_nsig("example.test.", "example.test.", DNS_T_CDS, 0), 1, "CDS signed");
    is_int(rrset_nsig("example.test.", "example.test.", DNS_T_CDNSKEY, 0), 1, "CDNSKEY signed");
    ok(v.min_exp > (uint32_t)now + 14 * 86400 - 12 * 3600 - 60 &&
           v.min_exp <= (uint32_t)now + 14 * 86400 + 60,
       "expirations within 14 days minus the 12 h jitter");

    /* enable twice: refused, store unchanged */
    zw_begin(st, &w);
    z = zone_of("example.test.");
    is_int(zd_zone_enable(&w, &z, NULL, &d), DNSD_EEXIST, "enable again: refused");
    ok(strstr(d.text, "signed already") != NULL, "message says so: %s", d.text);
    zw_abort(&w);

    /* record add and delete re-sign, the SOA too */
    for (int round = 0; round < 2; round++) {
        uint32_t before = serial_of("example.test.");
        zw_begin(st, &w);
        z = zone_of("example.test.");
        if (round == 0) {
            is_int(tl_rr_add(&w, &z, 0, "www.example.test. 300 IN A 192.0.2.11"), 0, "add an A");
            is_int(tl_rr_add(&w, &z, eu, "new.example.test. 60 IN A 198.51.100.77"), 0,
                   "add a regional A at a new name");
        } else {
            uint8_t mx[64];
            mx[0] = 0;
            mx[1] = 20;
            int l = tz_wire("mail2.example.test.", mx + 2);
            is_int(zw_rr_del(&w, &z, tz_name("example.test."), DNS_T_MX, 0, mx, (uint16_t)(2 + l)),
                   0, "delete one MX");
        }
        is_int(zw_commit(&w, &d), 0, "round %d committed", round);
        ok(serial_of("example.test.") == before + 1, "round %d: serial bumped", round);
        is_int(verify_zone("example.test.", cuts1, now, false, NULL), 0,
               "round %d: all signatures verify (the SOA re-signed)", round);
    }

    /* a whole-zone replace (what `zone import` does) keeps DNSKEY, CDS, CDNSKEY: they
     * follow the key set, not the file */
    zw_begin(st, &w);
    z = zone_of("example.test.");
    is_int(zw_zone_clear(&w, &z, 0, true), 0, "replace: zone cleared");
    for (size_t i = 0; zone_text[i]; i++) {
        tl_rr_add(&w, &z, 0, zone_text[i]);
    }
    tl_rr_add(&w, &z, eu, "www.example.test. 60 IN A 198.51.100.10");
    is_int(zw_commit(&w, &d), 0, "replace committed");
    is_int(rrset_nsig("example.test.", "example.test.", DNS_T_DNSKEY, 0), 1, "DNSKEY still there");
    is_int(rrset_nsig("example.test.", "example.test.", DNS_T_CDS, 0), 1, "CDS still there");
    is_int(verify_zone("example.test.", cuts1, now, false, NULL), 0, "replaced zone: all verify");
    zw_begin(st, &w);
    z = zone_of("example.test.");
    is_int(zw_rr_del(&w, &z, tz_name("example.test."), DNS_T_DNSKEY, 0, NULL, 0), 0,
           "DNSKEY deleted by hand");
    is_int(zw_commit(&w, &d), 0, "committed");
    is_int(rrset_nsig("example.test.", "example.test.", DNS_T_DNSKEY, 0), 1,
           "and put back from the key set");

    /* an NS above signed names: they become glue, unsigned; removing it signs them again */
    zw_begin(st, &w);
    z = zone_of("example.test.");
    is_int(tl_rr_add(&w, &z, 0, "cut2.example.test. 3600 IN NS ns.elsewhere.test."), 0, "NS at cut2");
    is_int(zw_commit(&w, &d), 0, "delegation committed");
    is_int(rrset_nsig("example.test.", "host.cut2.example.test.", DNS_T_A, 0), 0,
           "what is below the new cut lost its signature");
    is_int(rrset_nsig("example.test.", "cut2.example.test.", DNS_T_TXT, 0), 0,
           "data at the new cut lost its signature");
    is_int(verify_zone("example.test.", cuts2, now, false, NULL), 0, "with cut2: all as it must be");
    zw_begin(st, &w);
    z = zone_of("example.test.");
    is_int(zw_rr_del(&w, &z, tz_name("cut2.example.test."), DNS_T_NS, 0, NULL, 0), 0,
           "NS at cut2 removed");
    is_int(zw_commit(&w, &d), 0, "undelegation committed");
    is_int(rrset_nsig("example.test.", "host.cut2.example.test.", DNS_T_A, 0), 1,
           "signed again once the cut is gone");
    is_int(verify_zone("example.test.", cuts1, now, false, NULL), 0, "without cut2: all verify");

    /* re-sign batches: eight days on, every signature is within the 7-day refresh */
    time_t later = now + 8 * 86400;
    int batches = 0;
    bool more = true;
    while (more && batches < 100) {
        zw_begin(st, &w);
        z = zone_of("example.test.");
        is_int(zd_zone_resign(&w, &z, (uint64_t)later, 5, &more, &d), 0, "resign batch %d",
               batches);
        is_int(zw_commit(&w, &d), 0, "batch %d committed", batches);
        batches++;
    }
    ok(!more && batches > 2, "re-signed in %d batches of at most 5", batches);
    is_int(verify_zone("example.test.", cuts1, later, false, &v), 0,
           "eight days later all signatures verify");
    ok(v.min_exp > (uint32_t)later + 13 * 86400, "and expire two weeks after that");
    zw_begin(st, &w);
    z = zone_of("example.test.");
    is_int(zd_zone_resign(&w, &z, (uint64_t)later, 5, &more, &d), 0, "one more batch");
    ok(!more, "nothing left to re-sign");
    zw_abort(&w);

    /* a signed zone without an active key: a write is refused, the store unchanged */
    zw_begin(st, &w);
    z = zone_of("example.test.");
    zd_key_t *ks;
    size_t nk;
    zd_keys_list(st, w.txn, z.id, &ks, &nk);
    for (size_t i = 0; i < nk; i++) {
        zd_key_del(st, w.txn, z.id, ks[i].id);
    }
    free(ks);
    tl_rr_add(&w, &z, 0, "nokey.example.test. 300 IN A 192.0.2.200");
    is_int(zw_commit(&w, &d), DNSD_ECRYPTO, "no active key: commit refused");
    ok(strstr(d.text, "no active zone-signing key") != NULL, "message: %s", d.text);
    is_int(rrset_nsig("example.test.", "nokey.example.test.", DNS_T_A, 0), -1, "store unchanged");

    /* disable: everything stripped, keys gone */
    zw_begin(st, &w);
    z = zone_of("example.test.");
    is_int(zd_zone_disable(&w, &z, &d), 0, "disable");
    is_int(zw_commit(&w, &d), 0, "disable committed");
    is_int(verify_zone("example.test.", cuts1, now, true, NULL), 0, "disabled: no signature left");
    is_int(rrset_nsig("example.test.", "example.test.", DNS_T_DNSKEY, 0), -1, "DNSKEY gone");
    is_int(rrset_nsig("example.test.", "example.test.", DNS_T_CDS, 0), -1, "CDS gone");
    ok(!(zone_of("example.test.").flags & ZS_ZONE_F_SIGNED), "flag cleared");
    zw_begin(st, &w);
    z = zone_of("example.test.");
    zd_keys_list(st, w.txn, z.id, &ks, &nk);
    is_int(nk, 0, "no keys left");
    free(ks);
    is_int(zd_zone_disable(&w, &z, &d), DNSD_ENOTFOUND, "disable again: not signed");
    zw_abort(&w);

    /* KSK + ZSK, Ed25519: DNSKEY/CDS/CDNSKEY by the KSK only, the rest by the ZSK only */
    zd_policy_t p;
    zd_policy_default(&p);
    p.alg = ZD_ALG_ED25519;
    p.split = true;
    zw_begin(st, &w);
    z = zone_of("example.test.");
    is_int(zd_zone_enable(&w, &z, &p, &d), 0, "enable with KSK + ZSK, Ed25519");
    is_int(zw_commit(&w, &d), 0, "committed");
    memset(&v, 0, sizeof(v));
    is_int(verify_zone("example.test.", cuts1, now, false, &v), 0, "split keys: all verify");
    ok(v.nksk == 1 && v.nzsk == 1, "one KSK and one ZSK in DNSKEY");
    is_int(rrset_nsig("example.test.", "example.test.", DNS_T_CDNSKEY, 0), 1,
           "CDNSKEY: one signature");
    MDB_txn *txn;
    zs_read_begin(st, &txn);
    z = zone_of("example.test.");
    zs_rrset_t cds;
    zw_rrset_get(st, txn, &z, z.apex, DNS_T_CDS, 0, &cds);
    is_int(cds.count, 1, "CDS for the KSK only");
    zs_read_end(st, txn);

    /* a zone created and signed in one txn, then records added in the same txn */
    zw_begin(st, &w);
    zw_zone_t z2;
    zw_zone_create(&w, tz_name("two.test."), &z2);
    tl_rr_add(&w, &z2, 0, "two.test. 3600 IN SOA ns.two.test. h.two.test. 5 7200 900 1209600 300");
    tl_rr_add(&w, &z2, 0, "two.test. 3600 IN NS ns.two.test.");
    tl_rr_add(&w, &z2, 0, "ns.two.test. 3600 IN A 192.0.2.1");
    is_int(zd_zone_enable(&w, &z2, NULL, &d), 0, "new zone: enable in its creating txn");
    tl_rr_add(&w, &z2, 0, "late.two.test. 3600 IN A 192.0.2.2");
    is_int(zw_commit(&w, &d), 0, "committed");
    static const char *const nocuts[] = {NULL};
    is_int(verify_zone("two.test.", nocuts, now, false, NULL), 0,
           "new zone: all verify, the record added after enable too");

    /* deleting a signed zone drops its keys */
    zw_begin(st, &w);
    z2 = zone_of("two.test.");
    uint32_t id2 = z2.id;
    is_int(zw_zone_delete(&w, &z2), 0, "zone deleted");
    zd_keys_list(st, w.txn, id2, &ks, &nk);
    is_int(nk, 0, "its keys went with it");
    free(ks);
    zw_commit(&w, &d);

    tz_store_rm(st, dir);
    return done_testing();
}
