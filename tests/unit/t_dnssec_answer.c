/* SPDX-License-Identifier: MIT */
/*
 * t_dnssec_answer.c -- answer_query() on a signed zone (issue #14): the
 * test store signed with a real key (tz_sign: zd_key_generate + zd_sign),
 * DO=1 queries answered through a real online signer (dnssec_online.c),
 * and every RRSIG in every answer and authority section verified by ldns
 * (ldns_verify_rrsig_keylist) against the zone's DNSKEY; the compact
 * denial shapes of RFC 9824 (NXNAME, NODATA bitmaps, the wildcard cover
 * of RFC 4470, the NSEC at an insecure cut) read back with ldns; DO=0
 * answers byte for byte those of the same store unsigned; truncation when
 * an RRset's signatures do not fit.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <ldns/ldns.h>

#include "dnsd/answer.h"
#include "dnsd/dnssec_online.h"
#include "dnsd/pkt.h"
#include "tests/tap.h"
#include "tests/testzone.h"
#include "zones/writer.h"

static uint8_t resp[65536];
static ldns_rr_list *keys;

#define diag(...) (printf("# " __VA_ARGS__), printf("\n"))

static size_t mkq(uint8_t *q, const char *name, uint16_t type, int edns_udp, bool do_bit)
{
    memset(q, 0, 12);
    put16(q, 0x4242);
    put16(q + 4, 1);
    size_t o = 12 + (size_t)tz_wire(name, q + 12);
    put16(q + o, type);
    put16(q + o + 2, DNS_C_IN);
    o += 4;
    if (edns_udp) {
        put16(q + 10, 1);
        q[o] = 0;
        put16(q + o + 1, DNS_T_OPT);
        put16(q + o + 3, (uint16_t)edns_udp);
        q[o + 5] = 0;
        q[o + 6] = 0;
        put16(q + o + 7, do_bit ? 0x8000 : 0);
        put16(q + o + 9, 0);
        o += 11;
    }
    return o;
}

static size_t ask(answer_ctx_t *a, const char *name, uint16_t type, bool do_bit, bool tcp)
{
    uint8_t q[600];
    size_t ql = mkq(q, name, type, 4096, do_bit);
    a->rd_ok = zr_begin(a->rd) == 0;
    size_t n = answer_query(a, q, ql, resp, tcp ? ANSWER_TCP_MAX : 4096, tcp, NULL);
    zr_end(a->rd);
    return n;
}

/* Every RRSIG of @p sec verified against its RRset of the same section:
 * @return the number verified, -1 if one fails or has no RRset. */
static int verify_section(ldns_pkt *p, ldns_pkt_section sec)
{
    ldns_rr_list *l = ldns_pkt_get_section_clone(p, sec);
    int n = 0;
    for (size_t i = 0; l && i < ldns_rr_list_rr_count(l); i++) {
        ldns_rr *sig = ldns_rr_list_rr(l, i);
        if (ldns_rr_get_type(sig) != LDNS_RR_TYPE_RRSIG) {
            continue;
        }
        ldns_rr_type covered = ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(sig));
        ldns_rr_list *set = ldns_rr_list_new();
        for (size_t j = 0; j < ldns_rr_list_rr_count(l); j++) {
            ldns_rr *r = ldns_rr_list_rr(l, j);
            if (ldns_rr_get_type(r) == covered &&
                ldns_dname_compare(ldns_rr_owner(r), ldns_rr_owner(sig)) == 0) {
                ldns_rr_list_push_rr(set, r);
            }
        }
        ldns_rr_list *good = ldns_rr_list_new();
        ldns_status st = ldns_rr_list_rr_count(set)
                             ? ldns_verify_rrsig_keylist(set, sig, keys, good)
                             : LDNS_STATUS_ERR;
        ldns_rr_list_free(good);
        ldns_rr_list_free(set);
        if (st != LDNS_STATUS_OK) {
            diag("RRSIG over type %u does not verify: %s", covered, ldns_get_errorstr_by_id(st));
            n = -1;
            break;
        }
        n++;
    }
    ldns_rr_list_deep_free(l);
    return n;
}

typedef struct shape {
    ldns_pkt *p;
    int rcode, an, ns, ar;
    bool tc;
    int sigs_an, sigs_ns; /* verified RRSIGs, -1 if one failed */
} shape_t;

/* the DNSKEY of @p k as an ldns RR, added to the keys we verify with */
static void add_key(const zd_key_t *k)
{
    uint8_t w[600];
    size_t o = (size_t)tz_wire("example.test.", w);
    put16(w + o, DNS_T_DNSKEY);
    put16(w + o + 2, DNS_C_IN);
    put32(w + o + 4, 3600);
    size_t rl = zd_dnskey_rdata(k, w + o + 10);
    put16(w + o + 8, (uint16_t)rl);
    ldns_rr *rr = NULL;
    size_t pos = 0;
    if (ldns_wire2rr(&rr, w, o + 10 + rl, &pos, LDNS_SECTION_ANSWER) != LDNS_STATUS_OK) {
        abort();
    }
    ldns_rr_list_push_rr(keys, rr);
}

/* the RRSIGs over NSEC in the authority section */
static int nsec_sigs(ldns_pkt *p)
{
    int n = 0;
    ldns_rr_list *l = ldns_pkt_authority(p);
    for (size_t i = 0; i < ldns_rr_list_rr_count(l); i++) {
        ldns_rr *r = ldns_rr_list_rr(l, i);
        n += ldns_rr_get_type(r) == LDNS_RR_TYPE_RRSIG &&
             ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(r)) == LDNS_RR_TYPE_NSEC;
    }
    return n;
}

static shape_t parse(size_t len)
{
    shape_t s;
    memset(&s, 0, sizeof(s));
    if (ldns_wire2pkt(&s.p, resp, len) != LDNS_STATUS_OK) {
        s.rcode = -1;
        return s;
    }
    s.rcode = ldns_pkt_get_rcode(s.p);
    s.an = (int)ldns_pkt_ancount(s.p);
    s.ns = (int)ldns_pkt_nscount(s.p);
    s.ar = (int)ldns_pkt_arcount(s.p);
    s.tc = ldns_pkt_tc(s.p);
    s.sigs_an = verify_section(s.p, LDNS_SECTION_ANSWER);
    s.sigs_ns = verify_section(s.p, LDNS_SECTION_AUTHORITY);
    return s;
}

/* the first RR of @p type in section @p sec, or NULL */
static ldns_rr *find(ldns_pkt *p, ldns_pkt_section sec, ldns_rr_type type)
{
    ldns_rr_list *l = sec == LDNS_SECTION_ANSWER ? ldns_pkt_answer(p) : ldns_pkt_authority(p);
    for (size_t i = 0; l && i < ldns_rr_list_rr_count(l); i++) {
        if (ldns_rr_get_type(ldns_rr_list_rr(l, i)) == type) {
            return ldns_rr_list_rr(l, i);
        }
    }
    return NULL;
}

static bool owner_is(const ldns_rr *rr, const char *name)
{
    ldns_rdf *n = ldns_dname_new_frm_str(name);
    bool eq = rr && ldns_dname_compare(ldns_rr_owner(rr), n) == 0;
    ldns_rdf_deep_free(n);
    return eq;
}

static bool nsec_next_is(const ldns_rr *rr, const char *name)
{
    ldns_rdf *n = ldns_dname_new_frm_str(name);
    bool eq = rr && ldns_dname_compare(ldns_rr_rdf(rr, 0), n) == 0;
    ldns_rdf_deep_free(n);
    return eq;
}

/* the NSEC's types, exactly @p want (ldns reads the bitmap) */
static bool nsec_types_are(const ldns_rr *rr, const uint16_t *want, size_t n)
{
    if (!rr) {
        return false;
    }
    for (uint16_t t = 1; t < 300; t++) {
        bool in = false;
        for (size_t i = 0; i < n; i++) {
            in = in || want[i] == t;
        }
        if (ldns_nsec_bitmap_covers_type(ldns_nsec_get_bitmap(rr), t) != in) {
            diag("NSEC bitmap: type %u %s", t, in ? "missing" : "unexpected");
            return false;
        }
    }
    return true;
}

/* owner < name < next, canonically (ldns): the NSEC covers @p name */
static bool nsec_covers(const ldns_rr *rr, const char *name)
{
    ldns_rdf *n = ldns_dname_new_frm_str(name);
    bool c = rr && ldns_dname_compare(ldns_rr_owner(rr), n) < 0 &&
             ldns_dname_compare(n, ldns_rr_rdf(rr, 0)) < 0 &&
             !ldns_dname_is_subdomain(ldns_rr_rdf(rr, 0), n);
    ldns_rdf_deep_free(n);
    return c;
}

static uint8_t rrsig_labels(ldns_pkt *p, ldns_rr_type covered)
{
    ldns_rr_list *l = ldns_pkt_answer(p);
    for (size_t i = 0; i < ldns_rr_list_rr_count(l); i++) {
        ldns_rr *r = ldns_rr_list_rr(l, i);
        if (ldns_rr_get_type(r) == LDNS_RR_TYPE_RRSIG &&
            ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(r)) == covered) {
            return ldns_rdf2native_int8(ldns_rr_rrsig_labels(r));
        }
    }
    return 0;
}

static void done(shape_t *s)
{
    ldns_pkt_free(s->p);
}

int main(void)
{
    char dir[] = "/tmp/t_dnssec_answer.XXXXXX", dir0[] = "/tmp/t_dnssec_answer0.XXXXXX";
    if (!mkdtemp(dir) || !mkdtemp(dir0)) {
        return 1;
    }
    zs_store_t *st = tz_build(dir), *st0 = tz_build(dir0);
    zd_key_t key;
    zd_key_t key0;
    tz_sign(st, "example.test.", ZD_ALG_ECDSAP256SHA256, &key, true);
    tz_sign(st0, "example.test.", ZD_ALG_ECDSAP256SHA256, &key0, false); /* same data, unsigned */
    keys = ldns_rr_list_new();
    add_key(&key);
    ok(ldns_rr_list_rr_count(keys) == 1, "ldns reads the zone's DNSKEY");
    zr_t rd, rd0;
    answer_ctx_t a, a0;
    memset(&a, 0, sizeof(a));
    memset(&a0, 0, sizeof(a0));
    a.rd = &rd;
    a0.rd = &rd0;
    a.udp_max = a0.udp_max = ANSWER_UDP_MAX_DEFAULT;
    a.don = don_new();
    if (zr_init(&rd, st) != 0 || zr_init(&rd0, st0) != 0 || !a.don) {
        return 1;
    }
    static const uint16_t nx_types[] = {DNS_T_RRSIG, DNS_T_NSEC, DON_T_NXNAME};
    static const uint16_t ent_types[] = {DNS_T_RRSIG, DNS_T_NSEC};
    static const uint16_t www_types[] = {DNS_T_A, DNS_T_RRSIG, DNS_T_NSEC};
    static const uint16_t cut_types[] = {DNS_T_NS, DNS_T_RRSIG, DNS_T_NSEC};
    shape_t s;

    /* positive */
    s = parse(ask(&a, "www.example.test.", DNS_T_A, true, false));
    ok(s.rcode == 0 && s.an == 3 && s.sigs_an == 1, "A, DO=1: 2 A + their RRSIG, verified");
    done(&s);
    s = parse(ask(&a, "example.test.", DNS_T_DNSKEY, true, false));
    ok(s.an == 2 && s.sigs_an == 1, "DNSKEY at the apex: the key and its RRSIG, verified");
    done(&s);
    s = parse(ask(&a, "example.test.", DNS_T_MX, true, false));
    ldns_rr_list *add = ldns_pkt_additional(s.p);
    ok(s.an == 2 && s.sigs_an == 1 && ldns_rr_list_rr_count(add) == 1 &&
           ldns_rr_get_type(ldns_rr_list_rr(add, 0)) == LDNS_RR_TYPE_A,
       "MX: RRSIG verified, the target's A unsigned in additional");
    done(&s);
    s = parse(ask(&a, "c1.example.test.", DNS_T_A, true, false));
    ok(s.an == 7 && s.sigs_an == 3, "CNAME chain: each RRset with its RRSIG (2 CNAME, 2 A)");
    done(&s);

    /* NXDOMAIN -> compact denial */
    uint64_t signed0 = STAT_GET(CTR(&a.st, DNSSEC_SIGNED));
    size_t len1 = ask(&a, "nope.example.test.", DNS_T_A, true, false);
    uint8_t first[4096];
    memcpy(first, resp, len1);
    s = parse(len1);
    ldns_rr *nsec = find(s.p, LDNS_SECTION_AUTHORITY, LDNS_RR_TYPE_NSEC);
    ok(s.rcode == 0 && s.an == 0 && s.ns == 4 && s.sigs_ns == 2,
       "missing name, DO=1: NOERROR, SOA + NSEC, each with a verified RRSIG");
    ok(owner_is(nsec, "nope.example.test.") && nsec_next_is(nsec, "\\000.nope.example.test."),
       "missing name: NSEC nope -> \\000.nope (RFC 9824)");
    ok(nsec_types_are(nsec, nx_types, 3), "missing name: NSEC types RRSIG NSEC NXNAME");
    ok(nsec && ldns_rr_ttl(nsec) == 300, "NSEC TTL = min(SOA TTL, MINIMUM)");
    done(&s);
    ok(STAT_GET(CTR(&a.st, DNSSEC_SIGNED)) == signed0 + 1, "one online signature made");
    uint64_t hits0 = STAT_GET(CTR(&a.st, DNSSEC_CACHE_HITS));
    size_t len2 = ask(&a, "nope.example.test.", DNS_T_A, true, false);
    ok(STAT_GET(CTR(&a.st, DNSSEC_CACHE_HITS)) == hits0 + 1 &&
           STAT_GET(CTR(&a.st, DNSSEC_SIGNED)) == signed0 + 1,
       "the same denial again: a cache hit, no signature");
    ok(len1 == len2 && memcmp(first, resp, len1) == 0, "... and the same bytes");
    s = parse(ask(&a, "NoPe.ExAmPlE.tEsT.", DNS_T_A, true, false));
    ok(s.sigs_ns == 2 && STAT_GET(CTR(&a.st, DNSSEC_SIGNED)) == signed0 + 1,
       "mixed-case qname: the cached signature (canonical owner) still verifies");
    done(&s);

    /* NODATA, ENT, NSEC queries */
    s = parse(ask(&a, "www.example.test.", DNS_T_TXT, true, false));
    nsec = find(s.p, LDNS_SECTION_AUTHORITY, LDNS_RR_TYPE_NSEC);
    ok(s.rcode == 0 && s.an == 0 && s.sigs_ns == 2 && nsec_types_are(nsec, www_types, 3),
       "NODATA: NSEC with the name's types (A RRSIG NSEC), verified");
    done(&s);
    s = parse(ask(&a, "b.ent.example.test.", DNS_T_A, true, false));
    nsec = find(s.p, LDNS_SECTION_AUTHORITY, LDNS_RR_TYPE_NSEC);
    ok(s.rcode == 0 && s.sigs_ns == 2 && owner_is(nsec, "b.ent.example.test.") &&
           nsec_types_are(nsec, ent_types, 2),
       "empty non-terminal: NSEC {RRSIG, NSEC}, verified");
    done(&s);
    s = parse(ask(&a, "www.example.test.", DNS_T_NSEC, true, false));
    nsec = find(s.p, LDNS_SECTION_ANSWER, LDNS_RR_TYPE_NSEC);
    ok(s.rcode == 0 && s.an == 2 && s.ns == 0 && s.sigs_an == 1 &&
           nsec_types_are(nsec, www_types, 3),
       "qtype NSEC at a name: the NSEC and its RRSIG answer, no SOA");
    done(&s);

    s = parse(ask(&a, "www.example.test.", DNS_T_RRSIG, true, true));
    ok(s.rcode == 0 && s.an == 1 && find(s.p, LDNS_SECTION_ANSWER, LDNS_RR_TYPE_RRSIG) &&
           !find(s.p, LDNS_SECTION_ANSWER, LDNS_RR_TYPE_A),
       "qtype RRSIG: the signatures stored at the name, without their RRsets");
    done(&s);

    /* wildcards */
    s = parse(ask(&a, "x.y.wild.example.test.", DNS_T_A, true, false));
    nsec = find(s.p, LDNS_SECTION_AUTHORITY, LDNS_RR_TYPE_NSEC);
    ok(s.rcode == 0 && s.an == 2 && s.sigs_an == 1 && rrsig_labels(s.p, LDNS_RR_TYPE_A) == 3,
       "wildcard answer: the stored RRSIG (labels 3) verifies for the qname");
    ok(s.sigs_ns == 1 && nsec_covers(nsec, "y.wild.example.test.") &&
           nsec_types_are(nsec, ent_types, 2),
       "wildcard answer: a signed NSEC covers the next closer name (RFC 4470)");
    done(&s);
    s = parse(ask(&a, "other.wild.example.test.", DNS_T_TXT, true, false));
    nsec = find(s.p, LDNS_SECTION_AUTHORITY, LDNS_RR_TYPE_NSEC);
    ok(s.rcode == 0 && s.an == 0 && s.sigs_ns == 2 && owner_is(nsec, "other.wild.example.test.") &&
           nsec_types_are(nsec, www_types, 3),
       "wildcard NODATA: NSEC at the qname with the wildcard's types");
    done(&s);
    s = parse(ask(&a, "x.y.dn.example.test.", DNS_T_A, true, false));
    ok(s.an == 5 && s.sigs_an == 2 && s.sigs_ns == 1,
       "DNAME: DNAME + RRSIG, CNAME unsigned, the wildcard's A + RRSIG, the cover NSEC");
    done(&s);

    /* delegations */
    s = parse(ask(&a, "host.sub.example.test.", DNS_T_A, true, false));
    nsec = find(s.p, LDNS_SECTION_AUTHORITY, LDNS_RR_TYPE_NSEC);
    ok(s.an == 0 && s.ns == 3 && s.sigs_ns == 1 && owner_is(nsec, "sub.example.test.") &&
           nsec_types_are(nsec, cut_types, 3),
       "insecure referral: NS unsigned, NSEC at the cut {NS RRSIG NSEC} signed");
    done(&s);
    s = parse(ask(&a, "host.secure.example.test.", DNS_T_A, true, false));
    ok(s.an == 0 && s.ns == 3 && s.sigs_ns == 1 && find(s.p, LDNS_SECTION_AUTHORITY,
                                                       LDNS_RR_TYPE_DS),
       "secure referral: NS, DS and the DS's RRSIG, verified");
    done(&s);
    s = parse(ask(&a, "sub.example.test.", DNS_T_DS, true, false));
    nsec = find(s.p, LDNS_SECTION_AUTHORITY, LDNS_RR_TYPE_NSEC);
    ok(s.rcode == 0 && s.an == 0 && s.sigs_ns == 2 && nsec_types_are(nsec, cut_types, 3),
       "DS query at an insecure cut: NODATA, NSEC {NS RRSIG NSEC} (no glue types)");
    done(&s);
    s = parse(ask(&a, "secure.example.test.", DNS_T_DS, true, false));
    ok(s.an == 2 && s.sigs_an == 1, "DS query at a secure cut: DS + RRSIG, verified");
    done(&s);

    /* NXNAME is a meta-type (RFC 9824 3.5) */
    s = parse(ask(&a, "www.example.test.", DON_T_NXNAME, true, false));
    is_int(s.rcode, DNS_R_FORMERR, "qtype NXNAME: FORMERR");
    done(&s);

    /* truncation: an RRset whose signature does not fit */
    size_t full = ask(&a, "www.example.test.", DNS_T_A, true, false);
    a.udp_max = (uint16_t)(full - 1);
    s = parse(ask(&a, "www.example.test.", DNS_T_A, true, false));
    ok(s.tc && s.an == 0, "A + RRSIG one byte over the size: TC=1, no partial RRset");
    done(&s);
    a.udp_max = (uint16_t)full;
    s = parse(ask(&a, "www.example.test.", DNS_T_A, true, false));
    ok(!s.tc && s.an == 3, "... and at the exact size: all of it");
    done(&s);
    a.udp_max = ANSWER_UDP_MAX_DEFAULT;
    s = parse(ask(&a, "big.example.test.", 16, true, true));
    ok(!s.tc && s.an == 21 && s.sigs_an == 1, "TCP: the 2 KB TXT RRset and its RRSIG");
    done(&s);

    /* DO=0 (and no EDNS): what the unsigned store answers, byte for byte */
    static const struct {
        const char *n;
        uint16_t t;
    } same[] = {{"www.example.test.", DNS_T_A},       {"nope.example.test.", DNS_T_A},
                {"www.example.test.", DNS_T_TXT},     {"b.ent.example.test.", DNS_T_A},
                {"x.y.wild.example.test.", DNS_T_A},  {"c1.example.test.", DNS_T_A},
                {"host.sub.example.test.", DNS_T_A},  {"sub.example.test.", DNS_T_DS},
                {"x.y.dn.example.test.", DNS_T_A},    {"example.test.", DNS_T_MX},
                {"www.example.test.", DNS_T_NSEC},    {"big.example.test.", 16}};
    bool all_same = true;
    for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
        for (int edns = 0; edns < 2; edns++) {
            uint8_t q[600], r0[4096];
            size_t ql = mkq(q, same[i].n, same[i].t, edns ? 4096 : 0, false);
            a0.rd_ok = zr_begin(&rd0) == 0;
            size_t l0 = answer_query(&a0, q, ql, r0, sizeof(r0), false, NULL);
            zr_end(&rd0);
            a.rd_ok = zr_begin(&rd) == 0;
            size_t l1 = answer_query(&a, q, ql, resp, 4096, false, NULL);
            zr_end(&rd);
            if (l0 != l1 || memcmp(r0, resp, l0) != 0) {
                diag("DO=0 differs: %s/%u edns %d", same[i].n, same[i].t, edns);
                all_same = false;
            }
        }
    }
    ok(all_same, "DO=0: every answer byte for byte the unsigned store's");
    ok(STAT_GET(CTR(&a.st, DNSSEC_ANSWERS)) > 0 && STAT_GET(CTR(&a.st, DNSSEC_ERRORS)) == 0,
       "counters: signed answers counted, no signing error");

    /* a key change (a second ZSK made ACTIVE, as a rollover step does): the
     * worker sees meta dnssec_gen move and signs with both from then on */
    {
        zw_t w;
        zw_zone_t z;
        zd_key_t k2;
        diag_t d;
        uint8_t apex[64];
        tz_wire("example.test.", apex);
        bool made = zw_begin(st, &w) == 0 && zw_zone_get(st, w.txn, apex, &z) == 0 &&
                    zd_key_generate(ZD_ALG_ECDSAP256SHA256, ZD_ROLE_ZSK, &k2, &d) == 0;
        k2.zone_id = z.id;
        k2.state = ZD_KS_ACTIVE;
        made = made && zd_key_next_id(st, w.txn, z.id, &k2.id) == 0 &&
               zd_key_put(st, w.txn, &k2) == 0 && zd_zone_publish_keys(&w, &z, &d) == 0 &&
               zw_commit(&w, &d) == 0;
        ok(made, "a second active ZSK committed");
        add_key(&k2);
        s = parse(ask(&a, "nope.example.test.", DNS_T_A, true, false));
        ok(nsec_sigs(s.p) == 2 && s.sigs_ns >= 3,
           "after the key change: the NSEC signed by both keys, each verified");
        done(&s);
    }

    /* without an online signer (a->don NULL): stored RRSIGs, denial as DO=0 */
    don_t *keep = a.don;
    a.don = NULL;
    s = parse(ask(&a, "nope.example.test.", DNS_T_A, true, false));
    ok(s.rcode == DNS_R_NXDOMAIN && s.sigs_ns >= 1 && s.ns == 1 + s.sigs_ns &&
           !find(s.p, LDNS_SECTION_AUTHORITY, LDNS_RR_TYPE_NSEC),
       "no online keys: NXDOMAIN with the signed SOA");
    done(&s);
    a.don = keep;

    don_free(a.don);
    zr_fini(&rd);
    zr_fini(&rd0);
    ldns_rr_list_deep_free(keys);
    tz_store_rm(st, dir);
    tz_store_rm(st0, dir0);
    return done_testing();
}
