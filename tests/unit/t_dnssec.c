/* SPDX-License-Identifier: MIT */
/*
 * t_dnssec.c -- the DNSSEC primitives of zones/dnssec.c against an
 * independent implementation (ldns): for ECDSA P-256 (13) and Ed25519 (15),
 * the key tag (ldns_calc_keytag) and the DS (ldns_key_rr2ds) of generated
 * keys, and RRSIGs made by zd_sign() verified by ldns_verify_rrsig() for
 * RRsets of several types, cases and orders: A (unsorted, duplicate),
 * MX and SOA with upper-case names, TXT with upper-case text (never
 * lower-cased), SRV, a wildcard owner (labels field, and the signature
 * checked on an expansion), an upper-case owner. A tampered signature and
 * a wrong key must fail (so the checks can fail). Then the key store
 * (put, list, load, next id, delete, policy) on a real store in a temp dir.
 */
#include <ldns/ldns.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/tap.h"
#include "tests/ldns_rr.h"
#include "zones/base/err.h"
#include "zones/dnssec.h"
#include "zones/schema.h"

#define APEX "Example.TEST."

/* wire name of a text name (static buffer per call site) */
static void wname(const char *s, uint8_t *out)
{
    ldns_rdf *d = NULL;
    if (ldns_str2rdf_dname(&d, s) != LDNS_STATUS_OK) {
        abort();
    }
    memcpy(out, ldns_rdf_data(d), ldns_rdf_size(d));
    ldns_rdf_deep_free(d);
}

/* rdata (wire, as written) of an ldns RR into @p out; @return its length */
static size_t rdata_of(const ldns_rr *rr, uint8_t *out)
{
    size_t n = 0;
    for (size_t i = 0; i < ldns_rr_rd_count(rr); i++) {
        const ldns_rdf *f = ldns_rr_rdf(rr, i);
        memcpy(out + n, ldns_rdf_data(f), ldns_rdf_size(f));
        n += ldns_rdf_size(f);
    }
    return n;
}

struct rcase {
    const char *name;
    const char *owner;      /* the RRset's owner as stored */
    const char *verify_at;  /* the owner the validator sees (wildcard expansion), or NULL */
    const char *recs[4];    /* records, presentation form after the owner */
    int nrecs_unique;       /* records left after canonical duplicates go */
};

static const struct rcase cases[] = {
    {"A, unsorted", "www.example.test.", NULL,
     {"300 IN A 192.0.2.9", "300 IN A 192.0.2.1", "300 IN A 10.0.0.1", NULL}, 3},
    {"MX with upper-case names", "example.test.", NULL,
     {"3600 IN MX 20 MAIL2.Example.TEST.", "3600 IN MX 10 Mail.EXAMPLE.test.", NULL}, 2},
    {"MX duplicate once lower-cased", "example.test.", NULL,
     {"3600 IN MX 10 MAIL.example.test.", "3600 IN MX 10 mail.example.test.", NULL}, 1},
    {"TXT keeps its case", "txt.example.test.", NULL,
     {"60 IN TXT \"Hello WORLD\"", "60 IN TXT \"abc\"", NULL}, 2},
    {"SOA with upper-case names", "example.test.", NULL,
     {"3600 IN SOA NS1.Example.TEST. HostMaster.Example.Test. 2026120701 7200 900 1209600 300",
      NULL},
     1},
    {"SRV target upper case", "_sip._tcp.example.test.", NULL,
     {"300 IN SRV 10 60 5060 SIP.Example.TEST.", NULL}, 1},
    {"wildcard owner, checked at the wildcard", "*.example.test.", NULL,
     {"300 IN A 192.0.2.77", NULL}, 1},
    {"wildcard owner, checked at an expansion", "*.example.test.", "any.thing.example.test.",
     {"300 IN A 192.0.2.77", NULL}, 1},
    {"upper-case owner", "WWW.Example.Test.", NULL, {"300 IN AAAA 2001:db8::1", NULL}, 1},
    {"NS at the apex", "example.test.", NULL,
     {"86400 IN NS ns2.EXAMPLE.test.", "86400 IN NS NS1.example.test.", NULL}, 2},
};

static ldns_rr *dnskey_rr(const zd_key_t *k)
{
    uint8_t apex[256], rd[4 + ZD_PUB_MAX];
    wname(APEX, apex);
    return tl_rr_wire(apex, LDNS_RR_TYPE_DNSKEY, 3600, rd, zd_dnskey_rdata(k, rd));
}

static void test_key(uint8_t alg, uint8_t role)
{
    diag_t d = {0};
    zd_key_t k;
    is_int(zd_key_generate(alg, role, &k, &d), 0, "alg %u role %u: generated", alg, role);
    is_int(k.pub_len, alg == ZD_ALG_ED25519 ? 32 : 64, "alg %u: public key length", alg);
    is_int(k.flags, (role & ZD_ROLE_KSK) ? 257 : 256, "alg %u role %u: flags", alg, role);
    ldns_rr *key = dnskey_rr(&k);
    ok(key != NULL, "alg %u: ldns reads our DNSKEY", alg);
    is_int(ldns_calc_keytag(key), k.tag, "alg %u: key tag as ldns computes it", alg);
    /* DS */
    uint8_t apex[256], ds[64];
    wname(APEX, apex);
    size_t dl = zd_ds_rdata(&k, apex, ds);
    is_int(dl, 36, "alg %u: DS length", alg);
    ldns_rr *lds = ldns_key_rr2ds(key, LDNS_SHA256);
    uint8_t lrd[64];
    size_t ll = lds ? rdata_of(lds, lrd) : 0;
    ok(lds && ll == dl && memcmp(lrd, ds, dl) == 0, "alg %u: DS as ldns computes it", alg);
    ldns_rr_free(lds);

    zd_signer_t *sg;
    is_int(zd_signer_new(&k, &sg), 0, "alg %u: signer", alg);
    is_int(zd_signer_tag(sg), k.tag, "alg %u: signer tag", alg);
    is_int(zd_signer_alg(sg), alg, "alg %u: signer alg", alg);

    /* another key: a signature must not verify with it */
    zd_key_t other;
    zd_key_generate(alg, role, &other, &d);
    ldns_rr *okey = dnskey_rr(&other);

    uint32_t now = (uint32_t)time(NULL);
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        const struct rcase *rc = &cases[c];
        ldns_rr_list *set = ldns_rr_list_new();
        uint8_t rrs[4096], owner[256], scratch[2 * 4096 + 1024], sig[ZD_RRSIG_MAX];
        size_t rl = 0;
        uint16_t n = 0, type = 0;
        uint32_t ttl = 0;
        wname(rc->owner, owner);
        for (int i = 0; rc->recs[i]; i++) {
            char line[512];
            snprintf(line, sizeof(line), "%s %s", rc->verify_at ? rc->verify_at : rc->owner,
                     rc->recs[i]);
            ldns_rr *rr = NULL;
            if (ldns_rr_new_frm_str(&rr, line, 0, NULL, NULL) != LDNS_STATUS_OK) {
                abort();
            }
            type = ldns_rr_get_type(rr);
            ttl = ldns_rr_ttl(rr);
            size_t l = rdata_of(rr, rrs + rl + 2);
            zs_put16(rrs + rl, (uint16_t)l);
            rl += 2 + l;
            n++;
            /* the validator's set: without the duplicates (equal once canonical) */
            if (i < rc->nrecs_unique) {
                ldns_rr_list_push_rr(set, rr);
            } else {
                ldns_rr_free(rr);
            }
        }
        uint8_t signer[256];
        wname("example.test.", signer);
        /* every other case with an odd scratch address (the index inside must cope) */
        int sl = zd_sign(sg, owner, signer, type, ttl, rrs, rl, n, now - 3600, now + 86400,
                         scratch + (c & 1), sizeof(scratch) - 1, sig);
        ok(sl > 18, "alg %u %s: signed", alg, rc->name);
        int want_labels = dname_labels(owner) - (owner[0] == 1 && owner[1] == '*');
        is_int(sig[3], want_labels, "alg %u %s: labels", alg, rc->name);
        uint8_t vowner[256];
        wname(rc->verify_at ? rc->verify_at : rc->owner, vowner);
        ldns_rr *rrsig = tl_rr_wire(vowner, LDNS_RR_TYPE_RRSIG, ttl, sig, sl > 0 ? (size_t)sl : 0);
        ok(rrsig && ldns_verify_rrsig(set, rrsig, key) == LDNS_STATUS_OK,
           "alg %u %s: ldns verifies the RRSIG", alg, rc->name);
        ok(rrsig && ldns_verify_rrsig(set, rrsig, okey) != LDNS_STATUS_OK,
           "alg %u %s: another key does not", alg, rc->name);
        ldns_rr_free(rrsig);
        sig[sl - 5] ^= 0x40; /* tamper with the signature */
        rrsig = tl_rr_wire(vowner, LDNS_RR_TYPE_RRSIG, ttl, sig, (size_t)sl);
        ok(rrsig && ldns_verify_rrsig(set, rrsig, key) != LDNS_STATUS_OK,
           "alg %u %s: a tampered signature fails", alg, rc->name);
        ldns_rr_free(rrsig);
        ldns_rr_list_deep_free(set);
    }
    /* a bad input is an error, not a crash */
    uint8_t scratch[64], sig[ZD_RRSIG_MAX], owner[256], bad[] = {0, 9, 1, 2};
    wname("x.example.test.", owner);
    is_int(zd_sign(sg, owner, owner, 1, 1, bad, sizeof(bad), 1, 0, 1, scratch, sizeof(scratch), sig),
           DNSD_EMALFORMED, "alg %u: a record longer than the data is refused", alg);
    /* a key whose private half is not its public key: refused */
    zd_key_t mixed = k;
    memcpy(mixed.priv, other.priv, other.priv_len);
    mixed.priv_len = other.priv_len;
    zd_signer_t *bad_sg = NULL;
    is_int(zd_signer_new(&mixed, &bad_sg), DNSD_ECRYPTO,
           "alg %u: a private key that does not match the public one is refused", alg);
    zd_signer_free(sg);
    ldns_rr_free(key);
    ldns_rr_free(okey);
}

static void test_store(void)
{
    char dir[] = "/tmp/t_dnssec.XXXXXX";
    if (!mkdtemp(dir)) {
        abort();
    }
    zs_store_t *s;
    diag_t d = {0};
    is_int(zs_open(dir, ZS_OPEN_CREATE, 0, &s, &d), 0, "store opened");
    ok(s->has_dnssec, "the dnssec sub-database exists");
    MDB_txn *txn;
    zs_write_begin(s, &txn);
    zd_policy_t p, q;
    is_int(zd_policy_get(s, txn, 7, &p), DNSD_ENOTFOUND, "no policy yet");
    is_int(p.sig_validity, 14 * 86400, "defaults when absent");
    p.alg = ZD_ALG_ED25519;
    p.split = true;
    p.sig_refresh = 5 * 86400;
    is_int(zd_policy_put(s, txn, 7, &p), 0, "policy stored");
    is_int(zd_policy_get(s, txn, 7, &q), 0, "policy read");
    ok(memcmp(&p, &q, sizeof(p)) == 0, "policy round trip");
    p.sig_refresh = p.sig_validity;
    is_int(zd_policy_put(s, txn, 7, &p), DNSD_EMALFORMED, "refresh >= validity refused");
    uint64_t g0 = 0, g1 = 0;
    zs_meta_u64(s, txn, ZD_META_GEN, &g0);
    zd_key_t a, b;
    zd_key_generate(13, ZD_ROLE_KSK, &a, &d);
    zd_key_generate(13, ZD_ROLE_ZSK, &b, &d);
    a.zone_id = b.zone_id = 7;
    is_int(zd_key_next_id(s, txn, 7, &a.id), 0, "next id");
    zd_key_next_id(s, txn, 7, &b.id);
    is_int(a.id, 1, "first id 1");
    is_int(b.id, 2, "second id 2");
    a.state = ZD_KS_ACTIVE;
    b.state = ZD_KS_ACTIVE;
    is_int(zd_key_put(s, txn, &a), 0, "key a stored");
    is_int(zd_key_put(s, txn, &b), 0, "key b stored");
    zs_meta_u64(s, txn, ZD_META_GEN, &g1);
    is_int(g1, g0 + 2, "dnssec_gen bumped by each key write");
    zd_key_t *ks;
    size_t n;
    is_int(zd_keys_list(s, txn, 7, &ks, &n), 0, "list");
    is_int(n, 2, "two keys");
    ok(n == 2 && ks[0].id == 1 && ks[1].id == 2 && ks[0].tag == a.tag &&
           memcmp(ks[0].priv, a.priv, a.priv_len) == 0 && ks[1].pub_len == b.pub_len,
       "keys round trip, in id order");
    free(ks);
    zd_key_t loaded[4];
    is_int(zd_keys_load(s, txn, 7, loaded, 4), 1, "one ZSK-role ACTIVE key for the workers");
    is_int(loaded[0].id, 2, "the ZSK");
    is_int(zd_key_del(s, txn, 7, 2), 0, "key deleted");
    is_int(zd_key_del(s, txn, 7, 2), DNSD_ENOTFOUND, "deleting it again: not found");
    uint32_t id3;
    zd_key_next_id(s, txn, 7, &id3);
    is_int(id3, 3, "ids are not reused");
    is_int(zd_zone_drop(s, txn, 7), 0, "zone dropped");
    zd_keys_list(s, txn, 7, &ks, &n);
    is_int(n, 0, "no keys left");
    free(ks);
    is_int(zd_policy_get(s, txn, 7, &q), DNSD_ENOTFOUND, "no policy left");
    zs_write_abort(s, txn);
    zs_close(s);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0) {
        abort();
    }
}

int main(void)
{
    test_key(ZD_ALG_ECDSAP256SHA256, ZD_ROLE_CSK);
    test_key(ZD_ALG_ED25519, ZD_ROLE_CSK);
    test_key(ZD_ALG_ECDSAP256SHA256, ZD_ROLE_ZSK);
    diag_t d = {0};
    zd_key_t k;
    is_int(zd_key_generate(8, ZD_ROLE_CSK, &k, &d), DNSD_EMALFORMED, "RSA (8) is refused");
    ok(strstr(d.text, "algorithm 8") != NULL, "the message names the algorithm");
    test_store();
    return done_testing();
}
