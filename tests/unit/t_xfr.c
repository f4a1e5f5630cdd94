/* SPDX-License-Identifier: MIT */
/*
 * t_xfr.c -- outgoing transfers (zones/xfr.c) on real stores in temp
 * directories, every message decoded by ldns (an independent parser):
 * the request parser; AXFR of the test zone record for record against the
 * stored default view and against zf_export() (what `dnsctl zone export`
 * prints), with delegations, glue and occluded data in, regional overlays
 * out; headers (ID, QR, AA, opcode, RD, the question in the first message
 * only, OPT); message boundaries (no message over the cap, some filled to
 * exactly the cap, a record larger than the cap refused); compression
 * (owner and RFC 1035 rdata names pointed at, SRV targets never);
 * IXFR sequences replayed against AXFR snapshots taken at each serial,
 * overlay-only changes folded, up to date / client ahead, the AXFR-style
 * fallback when the journal no longer holds the range, IXFR over UDP; and
 * a 100k-record zone streamed with bounded heap.
 */
#include <ldns/ldns.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/tap.h"
#include "tests/testzone.h"
#include "zones/base/err.h"
#include "zones/export.h"
#include "zones/journal.h"
#include "zones/regions.h"
#include "zones/rrtype.h"
#include "zones/writer.h"
#include "zones/xfr.h"

#define W(s) tz_name(s)

static zs_store_t *st;
static char dir[] = "/tmp/t_xfr.XXXXXX";

static size_t wlen(const uint8_t *n)
{
    return (size_t)dname_wire_len(n, 256);
}

/* ---- a list of records as uncompressed wire bytes (ldns_rr2wire) ---- */

typedef struct rrl {
    size_t n, cap;
    uint8_t **b;
    size_t *l;
} rrl_t;

static void rrl_push(rrl_t *r, const uint8_t *b, size_t l)
{
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 64;
        r->b = realloc(r->b, r->cap * sizeof(*r->b));
        r->l = realloc(r->l, r->cap * sizeof(*r->l));
    }
    r->b[r->n] = malloc(l);
    memcpy(r->b[r->n], b, l);
    r->l[r->n++] = l;
}

static void rrl_free(rrl_t *r)
{
    for (size_t i = 0; i < r->n; i++) {
        free(r->b[i]);
    }
    free(r->b);
    free(r->l);
    memset(r, 0, sizeof(*r));
}

static bool rrl_eq(const rrl_t *a, const rrl_t *b)
{
    if (a->n != b->n) {
        printf("# %zu records vs %zu\n", a->n, b->n);
        return false;
    }
    for (size_t i = 0; i < a->n; i++) {
        if (a->l[i] != b->l[i] || memcmp(a->b[i], b->b[i], a->l[i]) != 0) {
            printf("# record %zu differs\n", i);
            return false;
        }
    }
    return true;
}

static void rrl_push_ldns(rrl_t *r, const ldns_rr *rr)
{
    uint8_t *w = NULL;
    size_t l = 0;
    if (ldns_rr2wire(&w, rr, LDNS_SECTION_ANSWER, &l) == LDNS_STATUS_OK) {
        rrl_push(r, w, l);
    }
    free(w);
}

/* a record as stored -> wire bytes */
static void rrl_push_rec(rrl_t *r, const uint8_t *owner, uint16_t type, uint32_t ttl,
                         const uint8_t *rd, uint16_t rl)
{
    uint8_t b[DNAME_MAXLEN + 11 + 65535];
    size_t o = wlen(owner);
    memcpy(b, owner, o);
    zs_put16(b + o, type);
    zs_put16(b + o + 2, 1);
    zs_put32(b + o + 4, ttl);
    zs_put16(b + o + 8, rl);
    memcpy(b + o + 10, rd, rl);
    rrl_push(r, b, o + 10 + rl);
}

/* ---- running a transfer ---- */

typedef struct run {
    int err;        /* first error (begin or next) */
    xfr_kind_t kind;
    unsigned msgs;
    size_t max_len;
    bool hit_cap;   /* some message was exactly @p cap bytes */
    bool hdr_ok;    /* every header as RFC 5936 2.2.1 wants */
    bool parse_ok;  /* ldns decoded every message */
    rrl_t rrs;      /* the answer records, in order */
    unsigned opt;   /* messages with an OPT */
    unsigned soa_only_udp;
} run_t;

static xfr_query_t mkq(const char *zone, uint16_t qtype, uint32_t serial)
{
    xfr_query_t q;
    memset(&q, 0, sizeof(q));
    q.id = 0x1234;
    q.qtype = qtype;
    q.qclass = 1;
    q.rd = false;
    q.qname_len = (size_t)tz_wire(zone, q.qname);
    if (qtype == DNS_T_IXFR) {
        q.has_serial = true;
        q.serial = serial;
    }
    return q;
}

static void check_msg(run_t *r, const xfr_query_t *q, const uint8_t *b, size_t len, size_t cap)
{
    ldns_pkt *p = NULL;
    if (len > cap) {
        r->hdr_ok = false;
    }
    if (len > r->max_len) {
        r->max_len = len;
    }
    if (len == cap) {
        r->hit_cap = true;
    }
    if (ldns_wire2pkt(&p, b, len) != LDNS_STATUS_OK) {
        r->parse_ok = false;
        return;
    }
    unsigned want_qd = r->msgs == 0 ? 1 : 0;
    if (ldns_pkt_id(p) != q->id || !ldns_pkt_qr(p) || !ldns_pkt_aa(p) ||
        ldns_pkt_get_opcode(p) != LDNS_PACKET_QUERY || ldns_pkt_get_rcode(p) != 0 ||
        ldns_pkt_rd(p) != q->rd || ldns_pkt_tc(p) || ldns_pkt_ra(p) ||
        ldns_pkt_qdcount(p) != want_qd || ldns_pkt_nscount(p) != 0) {
        r->hdr_ok = false;
    }
    if (want_qd) {
        const ldns_rr *qr = ldns_rr_list_rr(ldns_pkt_question(p), 0);
        uint8_t qn[300];
        if (ldns_rr_get_type(qr) != q->qtype || ldns_rdf_size(ldns_rr_owner(qr)) != q->qname_len ||
            memcmp(ldns_rdf_data(ldns_rr_owner(qr)), q->qname, q->qname_len) != 0) {
            r->hdr_ok = false;
        }
        (void)qn;
    }
    if (ldns_pkt_edns(p)) {
        r->opt++;
    }
    for (size_t i = 0; i < ldns_pkt_ancount(p); i++) {
        rrl_push_ldns(&r->rrs, ldns_rr_list_rr(ldns_pkt_answer(p), i));
    }
    ldns_pkt_free(p);
}

static run_t run_xfr(const xfr_query_t *q, size_t cap)
{
    run_t r;
    memset(&r, 0, sizeof(r));
    r.hdr_ok = r.parse_ok = true;
    MDB_txn *txn;
    xfr_out_t x;
    static uint8_t buf[XFR_MSG_MAX];
    if (zs_read_begin(st, &txn) != 0) {
        r.err = -1;
        return r;
    }
    r.err = xfr_out_begin(&x, st, txn, q);
    if (r.err == 0) {
        r.kind = x.kind;
        for (unsigned i = 0; i < 1000000; i++) {
            size_t len = 0;
            int rc = xfr_out_next(&x, buf, cap, &len);
            if (rc < 0) {
                r.err = rc;
                break;
            }
            check_msg(&r, q, buf, len, cap);
            r.msgs++;
            if (rc == 1) {
                break;
            }
        }
    }
    xfr_out_fini(&x);
    zs_read_end(st, txn);
    return r;
}

/* ---- what the store holds ---- */

struct exp_ctx {
    rrl_t *r;
};

static int exp_cb(const uint8_t *owner, const zs_rrset_t *rr, void *arg)
{
    struct exp_ctx *c = arg;
    if (rr->region != ZS_REGION_DEFAULT || (rr->type == DNS_T_SOA && wlen(owner) > 0 &&
                                            c->r->n > 0 && rr->type == DNS_T_SOA &&
                                            memcmp(owner, c->r->b[0], wlen(owner)) == 0)) {
        return 0;
    }
    size_t off = 0;
    const uint8_t *rd;
    uint16_t rl;
    while (zf_rrset_next(rr, &off, &rd, &rl)) {
        rrl_push_rec(c->r, owner, rr->type, rr->ttl, rd, rl);
    }
    return 0;
}

/* the expected AXFR records: SOA, the default view but the apex SOA, SOA */
static rrl_t expected_axfr(const char *zone)
{
    rrl_t r = {0};
    MDB_txn *txn;
    zw_zone_t z;
    zs_rrset_t soa;
    zs_read_begin(st, &txn);
    zw_zone_get(st, txn, W(zone), &z);
    zw_rrset_get(st, txn, &z, z.apex, DNS_T_SOA, 0, &soa);
    rrl_push_rec(&r, z.apex, DNS_T_SOA, soa.ttl, soa.rdata + 2, zs_get16(soa.rdata));
    struct exp_ctx c = {&r};
    zw_foreach_rrset(st, txn, &z, exp_cb, &c);
    rrl_push_rec(&r, z.apex, DNS_T_SOA, soa.ttl, soa.rdata + 2, zs_get16(soa.rdata));
    zs_read_end(st, txn);
    return r;
}

/* zf_export() of the default view (what `dnsctl zone export` prints), records only */
static char *export_text(const char *zone)
{
    MDB_txn *txn;
    zw_zone_t z;
    diag_t d = {0};
    char *text = NULL;
    size_t tl = 0;
    FILE *f = open_memstream(&text, &tl);
    zs_read_begin(st, &txn);
    zw_zone_get(st, txn, W(zone), &z);
    zf_export(st, txn, &z, 0, f, &d);
    zs_read_end(st, txn);
    fclose(f);
    char *nl = strchr(text, '\n'); /* drop the "; zone ..." comment */
    char *res = strdup(nl ? nl + 1 : "");
    free(text);
    return res;
}

/* the records of a transfer but the last SOA, printed as zf_export() prints */
static char *transfer_text(const rrl_t *r)
{
    char *text = NULL;
    size_t tl = 0;
    FILE *f = open_memstream(&text, &tl);
    for (size_t i = 0; i + 1 < r->n; i++) {
        const uint8_t *b = r->b[i];
        size_t o = wlen(b);
        zf_rr_text_t t;
        zf_rr_text(b, zs_get16(b + o), b + o + 10, zs_get16(b + o + 8), &t);
        fprintf(f, "%s\t%u\tIN\t%s\t%s\n", t.owner, zs_get32(b + o + 4), t.type, t.rdata);
        zf_rr_text_fini(&t);
    }
    fclose(f);
    return text;
}

/* ---- zones ---- */

static void soa_rd(uint32_t serial, uint8_t *rd, uint16_t *rl)
{
    size_t o = wlen(W("ns1.example.test"));
    memcpy(rd, W("ns1.example.test"), o);
    memcpy(rd + o, W("hostmaster.example.test"), wlen(W("hostmaster.example.test")));
    o += wlen(W("hostmaster.example.test"));
    uint32_t v[5] = {serial, 7200, 3600, 1209600, 300};
    for (int i = 0; i < 5; i++) {
        zs_put32(rd + o, v[i]);
        o += 4;
    }
    *rl = (uint16_t)o;
}

static void make_zone(zw_t *w, const char *apex, zw_zone_t *z)
{
    uint8_t rd[300];
    uint16_t rl;
    const uint8_t *ns = W("ns1.example.test");
    soa_rd(1, rd, &rl);
    int e1 = zw_zone_create(w, W(apex), z);
    int e2 = zw_rr_add(w, z, z->apex, DNS_T_SOA, 0, 3600, rd, rl);
    int e3 = zw_rr_add(w, z, z->apex, DNS_T_NS, 0, 3600, ns, (uint16_t)wlen(ns));
    if (e1 || e2 || e3) {
        printf("Bail out! cannot make zone %s: %d %d %d\n", apex, e1, e2, e3);
        exit(1);
    }
}

static int add_a(zw_t *w, const zw_zone_t *z, const char *owner, uint16_t region, uint32_t ttl,
                 uint8_t last)
{
    uint8_t a[4] = {192, 0, 2, last};
    return zw_rr_add(w, z, W(owner), DNS_T_A, region, ttl, a, 4);
}

static uint32_t serial_of(const char *zone)
{
    MDB_txn *t;
    zw_zone_t z;
    uint32_t s = 0;
    zs_read_begin(st, &t);
    zw_zone_get(st, t, W(zone), &z);
    zw_soa_serial(st, t, &z, &s);
    zs_read_end(st, t);
    return s;
}

static uint16_t region_eu;

static void make_region(void)
{
    zw_t w;
    diag_t d = {0};
    zs_region_t r = {0};
    snprintf(r.name, sizeof(r.name), "eu");
    zw_begin(st, &w);
    if (zw_region_put(&w, &r, &d) != 0 || zw_commit(&w, &d) != 0) {
        printf("Bail out! region: %s\n", d.text);
        exit(1);
    }
    region_eu = r.id;
}

/* ---- the tests ---- */

static void build_req(uint16_t qtype, bool with_soa, bool edns, uint8_t *out, size_t *len)
{
    ldns_pkt *p = ldns_pkt_query_new(ldns_dname_new_frm_str("Example.TEST."), qtype,
                                     LDNS_RR_CLASS_IN, 0);
    ldns_pkt_set_id(p, 0xbeef);
    if (with_soa) {
        ldns_rr *soa = NULL;
        ldns_rr_new_frm_str(&soa, "example.test. 3600 IN SOA ns1.example.test. h.example.test. "
                            "4242 1 2 3 4", 0, NULL, NULL);
        ldns_pkt_push_rr(p, LDNS_SECTION_AUTHORITY, soa);
    }
    if (edns) {
        ldns_pkt_set_edns_udp_size(p, 1232);
    }
    uint8_t *w = NULL;
    ldns_pkt2wire(&w, p, len);
    memcpy(out, w, *len);
    free(w);
    ldns_pkt_free(p);
}

static void test_parse(void)
{
    uint8_t m[512];
    size_t len;
    xfr_query_t q;

    build_req(LDNS_RR_TYPE_AXFR, false, false, m, &len);
    is_int(xfr_query_parse(m, len, &q), 0, "parse: AXFR");
    ok(q.id == 0xbeef && q.qtype == DNS_T_AXFR && q.qclass == 1 && !q.edns && !q.udp,
       "parse: id, type, class, no EDNS");
    ok(q.qname_len == 14 && memcmp(q.qname, "\7Example\4TEST", 13) == 0, "parse: qname as sent");

    build_req(LDNS_RR_TYPE_IXFR, true, true, m, &len);
    is_int(xfr_query_parse(m, len, &q), 0, "parse: IXFR with SOA and OPT");
    ok(q.has_serial && q.serial == 4242 && q.edns, "parse: the client's serial, EDNS");
    for (size_t cut = 0; cut < len; cut++) {
        if (xfr_query_parse(m, cut, &q) == 0) {
            ok(0, "parse: truncated at %zu accepted", cut);
            break;
        }
        if (cut + 1 == len) {
            ok(1, "parse: every truncation refused");
        }
    }
    build_req(LDNS_RR_TYPE_IXFR, false, false, m, &len);
    is_int(xfr_query_parse(m, len, &q), DNSD_EMALFORMED, "parse: IXFR without SOA is FORMERR");
    build_req(LDNS_RR_TYPE_A, false, false, m, &len);
    is_int(xfr_query_parse(m, len, &q), DNSD_ENOTFOUND, "parse: an A query is not a transfer");
    build_req(LDNS_RR_TYPE_AXFR, false, false, m, &len);
    m[2] |= 0x80;
    is_int(xfr_query_parse(m, len, &q), DNSD_EMALFORMED, "parse: a response is refused");
    m[2] = (uint8_t)((m[2] & 0x07) | (4 << 3));
    is_int(xfr_query_parse(m, len, &q), DNSD_ENOTFOUND, "parse: NOTIFY is not a transfer");
    build_req(LDNS_RR_TYPE_AXFR, false, true, m, &len);
    memcpy(m + len, m + len - 11, 11); /* a second OPT */
    zs_put16(m + 10, 2);
    is_int(xfr_query_parse(m, len + 11, &q), DNSD_EMALFORMED, "parse: two OPT records");
    build_req(LDNS_RR_TYPE_AXFR, false, false, m, &len);
    zs_put16(m + 4, 2);
    is_int(xfr_query_parse(m, len, &q), DNSD_EMALFORMED, "parse: QDCOUNT 2");
}

static void test_axfr(void)
{
    xfr_query_t q = mkq("example.test.", DNS_T_AXFR, 0);
    run_t r = run_xfr(&q, XFR_MSG_MAX);
    rrl_t want = expected_axfr("example.test.");
    is_int(r.err, 0, "axfr: no error");
    is_int(r.kind, XFR_AXFR, "axfr: kind AXFR");
    ok(r.parse_ok && r.hdr_ok, "axfr: ldns decodes every message; headers right");
    ok(rrl_eq(&r.rrs, &want), "axfr: SOA, the stored default view in canonical order, SOA");
    is_int(r.msgs, 1, "axfr: the small zone in one 64 KiB message");
    char *a = export_text("example.test."), *b = transfer_text(&r.rrs);
    is_str(b, a, "axfr: the transfer printed is what zf_export (dnsctl zone export) prints");
    free(a);
    free(b);
    /* glue and occluded data below the delegation are in */
    bool glue = false;
    for (size_t i = 0; i < r.rrs.n; i++) {
        const uint8_t *n = r.rrs.b[i];
        if (dname_is_sub(n, W("sub.example.test")) && zs_get16(n + wlen(n)) == DNS_T_A) {
            glue = true;
        }
    }
    ok(glue, "axfr: data below the delegation (glue) transferred");
    rrl_free(&want);
    rrl_free(&r.rrs);

    /* overlays: a regional A and a regional-only name stay out */
    zw_t w;
    zw_zone_t z;
    MDB_txn *t;
    zs_read_begin(st, &t);
    zw_zone_get(st, t, W("example.test."), &z);
    zs_read_end(st, t);
    zw_begin(st, &w);
    add_a(&w, &z, "www.example.test.", region_eu, 60, 77);
    add_a(&w, &z, "eu-only.example.test.", region_eu, 60, 78);
    is_int(zw_commit(&w, NULL), 0, "axfr: overlay records added");
    r = run_xfr(&q, XFR_MSG_MAX);
    want = expected_axfr("example.test.");
    ok(r.err == 0 && rrl_eq(&r.rrs, &want), "axfr: overlays are not transferred");
    bool leaked = false;
    for (size_t i = 0; i < r.rrs.n; i++) {
        if (dname_eq(r.rrs.b[i], W("eu-only.example.test"))) {
            leaked = true;
        }
    }
    ok(!leaked, "axfr: the region-only name is absent");
    rrl_free(&want);
    rrl_free(&r.rrs);

    /* the question keeps the case sent; RD copied; EDNS gets an OPT per message */
    q = mkq("EXAMPLE.test.", DNS_T_AXFR, 0);
    q.rd = true;
    q.edns = true;
    r = run_xfr(&q, 600);
    ok(r.err == 0 && r.hdr_ok && r.parse_ok, "axfr: mixed-case question, RD, EDNS, 600-byte cap");
    ok(r.msgs > 3 && r.opt == r.msgs, "axfr: %u messages, each with an OPT", r.msgs);
    want = expected_axfr("example.test.");
    ok(rrl_eq(&r.rrs, &want), "axfr: same records in small messages");
    rrl_free(&want);
    rrl_free(&r.rrs);

    q = mkq("nope.test.", DNS_T_AXFR, 0);
    r = run_xfr(&q, XFR_MSG_MAX);
    is_int(r.err, DNSD_ENOZONE, "axfr: unknown zone is DNSD_ENOZONE");
    q = mkq(".", DNS_T_AXFR, 0);
    r = run_xfr(&q, XFR_MSG_MAX);
    is_int(r.err, DNSD_ENOZONE,
           "axfr: the root is DNSD_ENOZONE (found by fuzzing: was an LMDB error)");
    q = mkq("www.example.test.", DNS_T_AXFR, 0);
    r = run_xfr(&q, XFR_MSG_MAX);
    is_int(r.err, DNSD_ENOZONE, "axfr: a name that is not an apex is DNSD_ENOZONE");
    q = mkq("example.test.", DNS_T_AXFR, 0);
    q.udp = true;
    r = run_xfr(&q, 512);
    is_int(r.err, -ENOTSUP, "axfr: over UDP refused (caller answers NOTIMP)");
    q = mkq("example.test.", DNS_T_AXFR, 0);
    q.qclass = 3;
    r = run_xfr(&q, 512);
    is_int(r.err, DNSD_EMALFORMED, "axfr: class CH refused");
}

/* a zone of TXT records of varied sizes, for the message boundary tests */
static void make_bounds_zone(void)
{
    zw_t w;
    zw_zone_t z;
    zw_begin(st, &w);
    make_zone(&w, "bounds.test.", &z);
    for (unsigned i = 0; i < 60; i++) {
        uint8_t txt[300];
        char owner[64];
        unsigned l = 1 + (i * 37) % 200;
        txt[0] = (uint8_t)l;
        memset(txt + 1, 'a' + i % 26, l);
        snprintf(owner, sizeof(owner), "t%u.bounds.test.", i);
        zw_rr_add(&w, &z, W(owner), DNS_T_TXT, 0, 300, txt, (uint16_t)(l + 1));
    }
    /* one record of 1000 bytes: too big for a 512-byte message */
    uint8_t big[1000];
    for (unsigned i = 0; i < 4; i++) {
        big[i * 250] = 249;
        memset(big + i * 250 + 1, 'z', 249);
    }
    zw_rr_add(&w, &z, W("zz-big.bounds.test."), DNS_T_TXT, 0, 300, big, 1000);
    if (zw_commit(&w, NULL) != 0) {
        printf("Bail out! bounds zone\n");
        exit(1);
    }
}

static void test_bounds(void)
{
    make_bounds_zone();
    xfr_query_t q = mkq("bounds.test.", DNS_T_AXFR, 0);
    rrl_t want = expected_axfr("bounds.test.");
    bool all_ok = true, any_exact = false;
    size_t worst = 0;
    for (size_t cap = 1100; cap < 1400; cap++) {
        run_t r = run_xfr(&q, cap);
        if (r.err || !r.parse_ok || !r.hdr_ok || !rrl_eq(&r.rrs, &want)) {
            printf("# cap %zu: err %d parse %d hdr %d\n", cap, r.err, r.parse_ok, r.hdr_ok);
            all_ok = false;
        }
        if (r.max_len > worst) {
            worst = r.max_len;
        }
        any_exact = any_exact || r.hit_cap;
        rrl_free(&r.rrs);
    }
    ok(all_ok, "bounds: caps 1100..1399: every transfer decodes to the same records");
    ok(worst <= 1399, "bounds: no message over its cap (largest %zu)", worst);
    ok(any_exact, "bounds: records exactly at the cap are taken (a message of exactly cap bytes)");
    q.edns = true;
    run_t r = run_xfr(&q, 1200);
    ok(r.err == 0 && r.max_len <= 1200 && r.opt == r.msgs, "bounds: the OPT fits under the cap");
    rrl_free(&r.rrs);
    q.edns = false;
    r = run_xfr(&q, 512);
    is_int(r.err, DNSD_ELIMIT, "bounds: a 1000-byte record in a 512-byte message is DNSD_ELIMIT");
    rrl_free(&r.rrs);
    rrl_free(&want);
}

/* walk the raw answer records of a message: type and rdlen of each */
static int raw_rrs(const uint8_t *m, size_t len, uint16_t *types, uint16_t *rdlens, int max)
{
    size_t off = 12;
    unsigned qd = zs_get16(m + 4), an = zs_get16(m + 6);
    for (unsigned i = 0; i < qd; i++) {
        while (m[off] && (m[off] & 0xC0) != 0xC0) {
            off += 1u + m[off];
        }
        off += (m[off] & 0xC0) ? 2 : 1;
        off += 4;
    }
    int n = 0;
    for (unsigned i = 0; i < an && n < max && off < len; i++) {
        while (m[off] && (m[off] & 0xC0) != 0xC0) {
            off += 1u + m[off];
        }
        off += (m[off] & 0xC0) ? 2 : 1;
        types[n] = zs_get16(m + off);
        rdlens[n] = zs_get16(m + off + 8);
        off += 10u + rdlens[n];
        n++;
    }
    return n;
}

static void test_compression(void)
{
    zw_t w;
    zw_zone_t z;
    zw_begin(st, &w);
    make_zone(&w, "comp.test.", &z);
    const uint8_t *tgt = W("www.comp.test.");
    uint8_t srv[300] = {0, 1, 0, 2, 0, 80};
    memcpy(srv + 6, tgt, wlen(tgt));
    zw_rr_add(&w, &z, W("_http._tcp.comp.test."), DNS_T_SRV, 0, 300, srv,
              (uint16_t)(6 + wlen(tgt)));
    uint8_t mx[300] = {0, 10};
    memcpy(mx + 2, tgt, wlen(tgt));
    zw_rr_add(&w, &z, W("comp.test."), DNS_T_MX, 0, 300, mx, (uint16_t)(2 + wlen(tgt)));
    zw_rr_add(&w, &z, W("alias.comp.test."), DNS_T_CNAME, 0, 300, tgt, (uint16_t)wlen(tgt));
    add_a(&w, &z, "www.comp.test.", 0, 300, 5);
    is_int(zw_commit(&w, NULL), 0, "compression: zone made");

    xfr_query_t q = mkq("comp.test.", DNS_T_AXFR, 0);
    MDB_txn *txn;
    xfr_out_t x;
    static uint8_t buf[XFR_MSG_MAX];
    size_t len = 0;
    zs_read_begin(st, &txn);
    is_int(xfr_out_begin(&x, st, txn, &q), 0, "compression: begin");
    is_int(xfr_out_next(&x, buf, XFR_MSG_MAX, &len), 1, "compression: one message");
    ok(xfr_out_next(&x, buf + 32768, 1000, &len) == -EINVAL,
       "compression: no message after the last");
    xfr_out_fini(&x);
    zs_read_end(st, txn);
    uint16_t types[32], rdl[32];
    int n = raw_rrs(buf, len, types, rdl, 32);
    bool srv_plain = false, mx_ptr = false, cname_ptr = false, ns_ptr = false;
    for (int i = 0; i < n; i++) {
        srv_plain |= types[i] == DNS_T_SRV && rdl[i] == 6 + wlen(tgt);
        mx_ptr |= types[i] == DNS_T_MX && rdl[i] < 2 + wlen(tgt);
        cname_ptr |= types[i] == DNS_T_CNAME && rdl[i] < wlen(tgt);
        ns_ptr |= types[i] == DNS_T_NS && rdl[i] < wlen(W("ns1.example.test."));
    }
    ok(srv_plain, "compression: the SRV target is written uncompressed (RFC 3597 4)");
    ok(mx_ptr && cname_ptr, "compression: MX and CNAME targets compressed");
    ok(ns_ptr, "compression: the NS target points into the SOA's MNAME (rdata to rdata)");
    ldns_pkt *p = NULL;
    ok(ldns_wire2pkt(&p, buf, len) == LDNS_STATUS_OK && ldns_pkt_ancount(p) == (size_t)n,
       "compression: ldns decodes it");
    rrl_t got = {0};
    for (size_t i = 0; p && i < ldns_pkt_ancount(p); i++) {
        rrl_push_ldns(&got, ldns_rr_list_rr(ldns_pkt_answer(p), i));
    }
    rrl_t want = expected_axfr("comp.test.");
    ok(rrl_eq(&got, &want), "compression: decompressed records are the stored ones");
    size_t raw = 12 + q.qname_len + 4;
    for (size_t i = 0; i < want.n; i++) {
        raw += want.l[i];
    }
    ok(len < raw, "compression: %zu bytes instead of %zu", len, raw);
    ldns_pkt_free(p);
    rrl_free(&got);
    rrl_free(&want);
}

/* ---- IXFR ---- */

#define NSNAP 8
static rrl_t snap[NSNAP];
static uint32_t snap_serial[NSNAP];
static int nsnap;

static void take_snap(const char *zone)
{
    snap_serial[nsnap] = serial_of(zone);
    snap[nsnap++] = expected_axfr(zone);
}

/* the body of a snapshot (no SOA) as a list */
static void set_del(rrl_t *s, const uint8_t *b, size_t l, bool *found)
{
    *found = false;
    for (size_t i = 0; i < s->n; i++) {
        if (s->l[i] == l && memcmp(s->b[i], b, l) == 0) {
            free(s->b[i]);
            s->b[i] = s->b[s->n - 1];
            s->l[i] = s->l[s->n - 1];
            s->n--;
            *found = true;
            return;
        }
    }
}

static int cmp_rr(const void *a, const void *b, void *arg)
{
    const rrl_t *s = arg;
    size_t i = *(const size_t *)a, j = *(const size_t *)b;
    size_t l = s->l[i] < s->l[j] ? s->l[i] : s->l[j];
    int c = memcmp(s->b[i], s->b[j], l);
    return c ? c : (s->l[i] > s->l[j]) - (s->l[i] < s->l[j]);
}

/* same multiset of records (the AXFR order is not the one IXFR leaves) */
static bool same_set(const rrl_t *a, const rrl_t *b)
{
    if (a->n != b->n) {
        printf("# %zu vs %zu records\n", a->n, b->n);
        return false;
    }
    size_t *ia = malloc(a->n * sizeof(size_t) + 1), *ib = malloc(b->n * sizeof(size_t) + 1);
    for (size_t i = 0; i < a->n; i++) {
        ia[i] = ib[i] = i;
    }
    qsort_r(ia, a->n, sizeof(size_t), cmp_rr, (void *)a);
    qsort_r(ib, b->n, sizeof(size_t), cmp_rr, (void *)b);
    bool same = true;
    for (size_t i = 0; i < a->n && same; i++) {
        same = a->l[ia[i]] == b->l[ib[i]] && memcmp(a->b[ia[i]], b->b[ib[i]], a->l[ia[i]]) == 0;
    }
    free(ia);
    free(ib);
    return same;
}

static uint32_t rr_soa_serial(const uint8_t *b, size_t l)
{
    return zs_get32(b + l - 20);
}

static bool is_soa(const uint8_t *b)
{
    return zs_get16(b + wlen(b)) == DNS_T_SOA;
}

/* apply an incremental IXFR answer @p r to a copy of snapshot @p from; compare to @p to */
static bool ixfr_replays(const run_t *r, const rrl_t *from, const rrl_t *to, uint32_t cur,
                         int *ndiff)
{
    rrl_t s = {0};
    for (size_t i = 1; i + 1 < from->n; i++) {
        rrl_push(&s, from->b[i], from->l[i]);
    }
    bool good = r->rrs.n >= 4 && is_soa(r->rrs.b[0]) && is_soa(r->rrs.b[1]) &&
                rr_soa_serial(r->rrs.b[0], r->rrs.l[0]) == cur &&
                is_soa(r->rrs.b[r->rrs.n - 1]) &&
                rr_soa_serial(r->rrs.b[r->rrs.n - 1], r->rrs.l[r->rrs.n - 1]) == cur;
    *ndiff = 0;
    int phase = 0; /* 0: expecting old SOA, 1: deletions, 2: additions */
    uint32_t at = 0;
    for (size_t i = 1; good && i + 1 < r->rrs.n; i++) {
        const uint8_t *b = r->rrs.b[i];
        size_t l = r->rrs.l[i];
        bool found;
        if (is_soa(b) && dname_eq(b, r->rrs.b[0])) {
            uint32_t sv = rr_soa_serial(b, l);
            if (phase == 0 || phase == 2) {
                if (*ndiff > 0 && sv != at) {
                    printf("# difference %d starts at %u, previous ended at %u\n", *ndiff, sv, at);
                    good = false;
                }
                phase = 1;
                (*ndiff)++;
            } else {
                at = sv;
                phase = 2;
            }
            continue;
        }
        if (phase == 1) {
            set_del(&s, b, l, &found);
            if (!found) {
                printf("# deleted record %zu not present\n", i);
                good = false;
            }
        } else if (phase == 2) {
            rrl_push(&s, b, l);
        } else {
            good = false;
        }
    }
    good = good && phase == 2 && at == cur;
    rrl_t t = {0};
    for (size_t i = 1; i + 1 < to->n; i++) {
        rrl_push(&t, to->b[i], to->l[i]);
    }
    good = good && same_set(&s, &t);
    rrl_free(&s);
    rrl_free(&t);
    return good;
}

static void test_ixfr(void)
{
    const char *zn = "ixfr.test.";
    zw_t w;
    zw_zone_t z;
    zw_begin(st, &w);
    make_zone(&w, zn, &z);
    add_a(&w, &z, "a.ixfr.test.", 0, 300, 1);
    zw_commit(&w, NULL);
    take_snap(zn); /* 0: serial 1 */
    zw_begin(st, &w);
    add_a(&w, &z, "b.ixfr.test.", 0, 300, 2);
    add_a(&w, &z, "a.ixfr.test.", 0, 300, 3);
    zw_commit(&w, NULL);
    take_snap(zn); /* 1: adds */
    zw_begin(st, &w);
    add_a(&w, &z, "b.ixfr.test.", region_eu, 300, 9); /* overlay only */
    zw_commit(&w, NULL);
    take_snap(zn); /* 2 */
    zw_begin(st, &w);
    zw_rr_del(&w, &z, W("a.ixfr.test."), DNS_T_A, 0, NULL, 0);
    const uint8_t *tg = W("b.ixfr.test.");
    zw_rr_add(&w, &z, W("c.ixfr.test."), DNS_T_CNAME, 0, 60, tg, (uint16_t)wlen(tg));
    zw_commit(&w, NULL);
    take_snap(zn); /* 3: deletions and an add */
    zw_begin(st, &w);
    add_a(&w, &z, "b.ixfr.test.", 0, 900, 4); /* the RRset's TTL changes */
    zw_commit(&w, NULL);
    take_snap(zn); /* 4 */
    zw_begin(st, &w);
    add_a(&w, &z, "x.ixfr.test.", region_eu, 300, 9); /* overlay only */
    zw_commit(&w, NULL);
    zw_begin(st, &w);
    zw_rr_del(&w, &z, W("x.ixfr.test."), DNS_T_A, region_eu, NULL, 0); /* overlay only */
    zw_commit(&w, NULL);
    take_snap(zn); /* 5: two overlay-only changes */
    uint32_t cur = snap_serial[nsnap - 1];

    for (int i = 0; i + 1 < nsnap; i++) {
        xfr_query_t q = mkq(zn, DNS_T_IXFR, snap_serial[i]);
        run_t r = run_xfr(&q, 512);
        int nd = 0;
        ok(r.err == 0 && r.kind == XFR_IXFR && r.parse_ok && r.hdr_ok,
           "ixfr from %u: incremental, decodes", snap_serial[i]);
        ok(ixfr_replays(&r, &snap[i], &snap[nsnap - 1], cur, &nd),
           "ixfr from %u: the differences applied to the zone at %u give the zone at %u",
           snap_serial[i], snap_serial[i], cur);
        if (i == 0) {
            /* 1->2 (adds), 2->4 (overlay-only 2->3 folded in), 4->5, 5->7 (two overlay-only) */
            is_int(nd, 4, "ixfr from %u: overlay-only changes folded into 4 differences",
                   snap_serial[i]);
        }
        rrl_free(&r.rrs);
    }
    xfr_query_t q = mkq(zn, DNS_T_IXFR, snap_serial[4]);
    run_t r = run_xfr(&q, XFR_MSG_MAX);
    is_int(r.rrs.n, 4,
           "ixfr: only overlay changes since: current SOA, old SOA, new SOA, current SOA");
    rrl_free(&r.rrs);

    q = mkq(zn, DNS_T_IXFR, cur);
    r = run_xfr(&q, XFR_MSG_MAX);
    ok(r.err == 0 && r.kind == XFR_IXFR_UPTODATE && r.msgs == 1 && r.rrs.n == 1 &&
           rr_soa_serial(r.rrs.b[0], r.rrs.l[0]) == cur,
       "ixfr: up to date: one message, the current SOA");
    rrl_free(&r.rrs);
    q = mkq(zn, DNS_T_IXFR, cur + 10);
    r = run_xfr(&q, XFR_MSG_MAX);
    ok(r.err == 0 && r.kind == XFR_IXFR_UPTODATE && r.rrs.n == 1,
       "ixfr: client ahead (RFC 1995 2): the current SOA");
    rrl_free(&r.rrs);

    rrl_t want = expected_axfr(zn);
    q = mkq(zn, DNS_T_IXFR, cur - 1000);
    r = run_xfr(&q, XFR_MSG_MAX);
    ok(r.err == 0 && r.kind == XFR_IXFR_AXFR && rrl_eq(&r.rrs, &want),
       "ixfr: a serial the journal never held: AXFR-style answer");
    rrl_free(&r.rrs);

    /* UDP: small difference fits; a big one does not and gets the SOA alone */
    q = mkq(zn, DNS_T_IXFR, snap_serial[4]);
    q.udp = true;
    r = run_xfr(&q, 512);
    ok(r.err == 0 && r.msgs == 1 && r.rrs.n == 4, "ixfr over UDP: a difference that fits");
    rrl_free(&r.rrs);
    zw_begin(st, &w);
    for (unsigned i = 0; i < 40; i++) {
        char o[64];
        snprintf(o, sizeof(o), "u%u.ixfr.test.", i);
        add_a(&w, &z, o, 0, 300, (uint8_t)i);
    }
    zw_commit(&w, NULL);
    uint32_t cur2 = serial_of(zn);
    q = mkq(zn, DNS_T_IXFR, cur);
    q.udp = true;
    r = run_xfr(&q, 512);
    ok(r.err == 0 && r.msgs == 1 && r.rrs.n == 1 && rr_soa_serial(r.rrs.b[0], r.rrs.l[0]) == cur2,
       "ixfr over UDP: too big for 512 bytes: the current SOA alone (RFC 1995 2)");
    rrl_free(&r.rrs);

    /* the journal trimmed: the range is gone: AXFR-style */
    zj_limits_t lim = {1, ZJ_KEEP};
    zw_begin(st, &w);
    is_int(zj_limits_set(st, w.txn, z.id, &lim), 0, "ixfr: journal limit set to 1 record");
    zw_commit(&w, NULL);
    rrl_free(&want);
    want = expected_axfr(zn);
    q = mkq(zn, DNS_T_IXFR, snap_serial[3]);
    r = run_xfr(&q, XFR_MSG_MAX);
    ok(r.err == 0 && r.kind == XFR_IXFR_AXFR && rrl_eq(&r.rrs, &want),
       "ixfr: after the journal dropped the range: AXFR-style answer (DNSD_ERANGE)");
    rrl_free(&r.rrs);
    rrl_free(&want);
    for (int i = 0; i < nsnap; i++) {
        rrl_free(&snap[i]);
    }
}

/* ---- a 100k-record zone with bounded heap ---- */

static void test_big(void)
{
    enum { N = 100000 };
    zw_t w;
    zw_zone_t z;
    zw_begin(st, &w);
    make_zone(&w, "big.test.", &z);
    for (unsigned i = 0; i < N; i++) {
        char o[64];
        uint8_t a[4] = {10, (uint8_t)(i >> 16), (uint8_t)(i >> 8), (uint8_t)i};
        snprintf(o, sizeof(o), "h%u.big.test.", i);
        zw_rr_add(&w, &z, W(o), DNS_T_A, 0, 300, a, 4);
    }
    if (zw_commit(&w, NULL) != 0) {
        printf("Bail out! big zone\n");
        exit(1);
    }
    xfr_query_t q = mkq("big.test.", DNS_T_AXFR, 0);
    MDB_txn *txn;
    xfr_out_t x;
    static uint8_t buf[XFR_MSG_MAX];
    zs_read_begin(st, &txn);
    struct mallinfo2 m0 = mallinfo2();
    int err = xfr_out_begin(&x, st, txn, &q);
    size_t peak = 0, rrs = 0, msgs = 0;
    bool parse_ok = true, order_ok = true;
    uint8_t prev[DNAME_KEY_MAX];
    size_t prevlen = 0;
    for (unsigned i = 0; err == 0 && i < 10 * N; i++) {
        size_t len = 0;
        int rc = xfr_out_next(&x, buf, XFR_MSG_MAX, &len);
        if (rc < 0) {
            err = rc;
            break;
        }
        struct mallinfo2 m1 = mallinfo2();
        if (m1.uordblks > m0.uordblks && m1.uordblks - m0.uordblks > peak) {
            peak = m1.uordblks - m0.uordblks;
        }
        ldns_pkt *p = NULL;
        if (ldns_wire2pkt(&p, buf, len) != LDNS_STATUS_OK) {
            parse_ok = false;
        } else {
            for (size_t j = 0; j < ldns_pkt_ancount(p); j++) {
                const ldns_rr *rr = ldns_rr_list_rr(ldns_pkt_answer(p), j);
                if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_A) {
                    continue;
                }
                /* canonical order: each owner's key after the previous one */
                dname_key_t k;
                dname_key_build(ldns_rdf_data(ldns_rr_owner(rr)), &k);
                size_t l = k.len < prevlen ? k.len : prevlen;
                int c = memcmp(k.key, prev, l);
                if (prevlen && (c < 0 || (c == 0 && k.len <= prevlen))) {
                    order_ok = false;
                }
                memcpy(prev, k.key, k.len);
                prevlen = k.len;
            }
            rrs += ldns_pkt_ancount(p);
            ldns_pkt_free(p);
        }
        msgs++;
        if (rc == 1) {
            break;
        }
    }
    xfr_out_fini(&x);
    zs_read_end(st, txn);
    is_int(err, 0, "big: 100k records transferred without error");
    is_int(rrs, N + 3, "big: SOA, NS, 100000 A, SOA");
    ok(parse_ok && order_ok, "big: %zu messages, ldns decodes all, owners in canonical order",
       msgs);
    ok(peak < 1024 * 1024, "big: heap grew by at most %zu bytes while streaming (< 1 MiB)", peak);
}

int main(void)
{
    st = tz_store_tmp(dir);
    if (!st) {
        return 1;
    }
    zs_close(st);
    st = tz_build(dir);
    make_region();
    test_parse();
    test_axfr();
    test_bounds();
    test_compression();
    test_ixfr();
    test_big();
    tz_store_rm(st, dir);
    return done_testing();
}
