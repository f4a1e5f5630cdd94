/* SPDX-License-Identifier: MIT */
/*
 * t_writer.c -- zones/writer.c on a real store in a temp directory: zones,
 * add/del/merge/dedupe/sort of records, zw_check_zone() rules, SOA serial
 * arithmetic (wrap-around), abort leaving nothing behind, the generation
 * counter, canonical iteration order, a damaged value reported as
 * DNSD_ESTORE by the reader and the writer rather than trusted, and the
 * commit's check of the changed owners against the full walk.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/tap.h"
#include "tests/testzone.h"
#include "zones/base/err.h"
#include "zones/reader.h"
#include "zones/regions.h"
#include "zones/rrtype.h"
#include "zones/writer.h"

#define U(s) ((const uint8_t *)(s))

static zs_store_t *st;
static char dir[] = "/tmp/t_writer.XXXXXX";

#define W(s) tz_name(s) /* wire form, rotating buffers (testzone.h) */

static size_t wlen(const uint8_t *n)
{
    return (size_t)dname_wire_len(n, 256);
}

static uint64_t generation(void)
{
    MDB_txn *t;
    uint64_t g = 0;
    mdb_txn_begin(st->env, NULL, MDB_RDONLY, &t);
    zs_generation(st, t, &g);
    mdb_txn_abort(t);
    return g;
}

static int add_a(zw_t *w, const zw_zone_t *z, const char *owner, uint32_t ttl, uint8_t last)
{
    uint8_t a[4] = {192, 0, 2, last};
    return zw_rr_add(w, z, W(owner), DNS_T_A, 0, ttl, a, 4);
}

static int add_name(zw_t *w, const zw_zone_t *z, const char *owner, uint16_t type,
                    const char *target)
{
    const uint8_t *t = W(target);
    return zw_rr_add(w, z, W(owner), type, 0, 3600, t, (uint16_t)wlen(t));
}

static int add_soa(zw_t *w, const zw_zone_t *z, const char *owner, uint32_t serial)
{
    uint8_t rd[300];
    size_t o = wlen(W("ns1.example.test"));
    memcpy(rd, W("ns1.example.test"), o);
    memcpy(rd + o, W("hostmaster.example.test"), wlen(W("hostmaster.example.test")));
    o += wlen(W("hostmaster.example.test"));
    uint32_t v[5] = {serial, 7200, 3600, 1209600, 300};
    for (int i = 0; i < 5; i++) {
        zs_put32(rd + o, v[i]);
        o += 4;
    }
    return zw_rr_add(w, z, W(owner), DNS_T_SOA, 0, 3600, rd, (uint16_t)o);
}

/* a valid zone: SOA + NS at the apex */
static void make_zone(zw_t *w, const char *apex, zw_zone_t *z)
{
    int e1 = zw_zone_create(w, W(apex), z);
    int e2 = add_soa(w, z, apex, 1);
    int e3 = add_name(w, z, apex, DNS_T_NS, "ns1.example.test");
    if (e1 || e2 || e3) {
        printf("Bail out! cannot make zone %s: %d %d %d\n", apex, e1, e2, e3);
        exit(1);
    }
}

static void test_zones(void)
{
    zw_t w;
    zw_zone_t z, z2, g;
    uint64_t g0 = generation();
    is_int(zw_begin(st, &w), 0, "zones: begin");
    is_int(zw_zone_create(&w, W("Example.TEST"), &z), 0, "zones: create example.test");
    ok(memcmp(z.apex, W("example.test"), 14) == 0, "zones: apex stored lower-case");
    is_int(z.apex_labels, 2, "zones: apex has 2 labels");
    is_int(zw_zone_create(&w, W("example.test"), &z2), DNSD_EEXIST, "zones: create twice: EEXIST");
    is_int(zw_zone_create(&w, W("."), &z2), DNSD_ELIMIT, "zones: the root zone is refused");
    is_int(zw_zone_get(st, w.txn, W("EXAMPLE.test"), &g), 0, "zones: get, any case");
    is_int(g.id, z.id, "zones: same id");
    is_int(zw_zone_get(st, w.txn, W("other.test"), &g), DNSD_ENOZONE, "zones: unknown: ENOZONE");
    add_soa(&w, &z, "example.test", 1);
    add_name(&w, &z, "example.test", DNS_T_NS, "ns1.example.test");
    is_int(zw_commit(&w, NULL), 0, "zones: commit");
    is_int(generation(), g0 + 1, "generation: +1 for one commit");
}

/* the records of an RRset as "last-octet" list for A records: "1,2,3" */
static const char *a_list(const zw_zone_t *z, const char *owner, uint32_t *ttl)
{
    static char buf[256];
    MDB_txn *t;
    zs_rrset_t rr;
    buf[0] = 0;
    mdb_txn_begin(st->env, NULL, MDB_RDONLY, &t);
    int err = zw_rrset_get(st, t, z, W(owner), DNS_T_A, 0, &rr);
    if (err) {
        snprintf(buf, sizeof(buf), "error %d", err);
    } else {
        size_t off = 0, o = 0;
        for (unsigned i = 0; i < rr.count; i++) {
            size_t rl = zs_get16(rr.rdata + off);
            o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%u", i ? "," : "",
                                  rl == 4 ? rr.rdata[off + 2 + 3] : 999);
            off += 2 + rl;
        }
        if (ttl) {
            *ttl = rr.ttl;
        }
    }
    mdb_txn_abort(t);
    return buf;
}

static void test_records(void)
{
    zw_t w;
    zw_zone_t z;
    uint32_t ttl = 0;
    zw_begin(st, &w);
    zw_zone_get(st, w.txn, W("example.test"), &z);
    is_int(add_a(&w, &z, "www.example.test", 300, 3), 0, "add: .3");
    is_int(add_a(&w, &z, "www.example.test", 300, 1), 0, "add: .1");
    is_int(add_a(&w, &z, "WWW.example.test", 300, 2), 0, "add: .2 (owner in upper case)");
    is_int(add_a(&w, &z, "www.example.test", 300, 2), DNSD_EEXIST, "add: .2 again: EEXIST");
    is_int(add_a(&w, &z, "www.other.test", 300, 2), DNSD_EOUTOFZONE, "add: out of zone refused");
    is_int(zw_rr_add(&w, &z, W("www.example.test"), DNS_T_A, 0, 300, (const uint8_t *)"\xc0\x00\x02", 3),
           DNSD_EMALFORMED, "add: an A of 3 bytes is refused (the readers would call it damage)");
    is_int(zw_rr_add(&w, &z, W("ns.example.test"), 2, 0, 300, (const uint8_t *)"\x03ns1", 4),
           DNSD_EMALFORMED, "add: an NS that is not a name is refused");
    zw_commit(&w, NULL);
    is_str(a_list(&z, "www.example.test", &ttl), "1,2,3", "add: records sorted, no duplicate");
    is_int(ttl, 300, "add: TTL 300");

    zw_begin(st, &w);
    add_a(&w, &z, "www.example.test", 600, 4);
    zw_commit(&w, NULL);
    is_str(a_list(&z, "www.example.test", &ttl), "1,2,3,4", "merge: a fourth record joins");
    is_int(ttl, 600, "merge: the RRset takes the new TTL (one TTL per RRset)");

    /* canonical order inside an RRset: shorter prefix first */
    zw_begin(st, &w);
    is_int(zw_rr_add(&w, &z, W("t.example.test"), DNS_T_TXT, 0, 60, U("\2ab"), 3), 0, "sort: add ab");
    is_int(zw_rr_add(&w, &z, W("t.example.test"), DNS_T_TXT, 0, 60, U("\1a"), 2), 0, "sort: add a");
    is_int(zw_rr_add(&w, &z, W("t.example.test"), DNS_T_TXT, 0, 60, U("\1b"), 2), 0, "sort: add b");
    zs_rrset_t rr;
    is_int(zw_rrset_get(st, w.txn, &z, W("t.example.test"), DNS_T_TXT, 0, &rr), 0, "sort: get");
    ok(rr.count == 3 && rr.rdata_len == 13 &&
           memcmp(rr.rdata, "\0\2\1a\0\2\1b\0\3\2ab", 13) == 0,
       "sort: wire rdata order is \"\\1a\" < \"\\1b\" < \"\\2ab\" (octet order)");
    zw_commit(&w, NULL);

    /* deletes */
    uint8_t two[4] = {192, 0, 2, 2}, nine[4] = {192, 0, 2, 9};
    zw_begin(st, &w);
    is_int(zw_rr_del(&w, &z, W("www.example.test"), DNS_T_A, 0, two, 4), 0, "del: one record");
    is_int(zw_rr_del(&w, &z, W("www.example.test"), DNS_T_A, 0, nine, 4), DNSD_ENOTFOUND,
           "del: a record that is not there: ENOTFOUND");
    zw_commit(&w, NULL);
    is_str(a_list(&z, "www.example.test", NULL), "1,3,4", "del: the others stay");

    zw_begin(st, &w);
    add_a(&w, &z, "n.example.test", 60, 1);
    zw_rr_add(&w, &z, W("n.example.test"), DNS_T_AAAA, 0, 60, U("0123456789abcdef"), 16);
    add_a(&w, &z, "child.n.example.test", 60, 2);
    is_int(zw_rr_del(&w, &z, W("n.example.test"), DNS_T_AAAA, 0, NULL, 0), 0, "del: one RRset");
    is_int(zw_rrset_get(st, w.txn, &z, W("n.example.test"), DNS_T_AAAA, 0, &rr), DNSD_ENOTFOUND,
           "del: the RRset is gone");
    is_int(zw_rrset_get(st, w.txn, &z, W("n.example.test"), DNS_T_A, 0, &rr), 0,
           "del: the other type stays");
    add_a(&w, &z, "n.example.test", 60, 5);
    zw_rr_add(&w, &z, W("n.example.test"), DNS_T_A, 7, 60, nine, 4); /* region 7 */
    is_int(zw_rr_del(&w, &z, W("n.example.test"), 0, 0, NULL, 0), 0, "del: a whole name");
    is_int(zw_rrset_get(st, w.txn, &z, W("n.example.test"), DNS_T_A, 0, &rr), DNSD_ENOTFOUND,
           "del: the name's RRsets are gone");
    is_int(zw_rrset_get(st, w.txn, &z, W("n.example.test"), DNS_T_A, 7, &rr), 0,
           "del: other regions of the name stay");
    is_int(zw_rrset_get(st, w.txn, &z, W("child.n.example.test"), DNS_T_A, 0, &rr), 0,
           "del: a name's children stay");
    is_int(zw_rr_del(&w, &z, W("nothing.example.test"), 0, 0, NULL, 0), DNSD_ENOTFOUND,
           "del: a name without records: ENOTFOUND");
    zw_commit(&w, NULL);
}

/* run one structure check on a fresh zone in a txn that is then aborted */
typedef int (*setup_fn)(zw_t *w, const zw_zone_t *z);

static int check_case(setup_fn fn, diag_t *d)
{
    zw_t w;
    zw_zone_t z;
    zw_begin(st, &w);
    zw_zone_create(&w, W("check.test"), &z);
    int err = fn(&w, &z);
    if (!err) {
        err = zw_check_zone(&w, &z, d);
    }
    zw_abort(&w);
    return err;
}

static int s_empty(zw_t *w, const zw_zone_t *z)
{
    return 0;
}
static int s_soa_only(zw_t *w, const zw_zone_t *z)
{
    return add_soa(w, z, "check.test", 1);
}
static int s_ns_only(zw_t *w, const zw_zone_t *z)
{
    return add_name(w, z, "check.test", DNS_T_NS, "ns.check.test");
}
static int s_valid(zw_t *w, const zw_zone_t *z)
{
    return s_soa_only(w, z) | s_ns_only(w, z) | add_a(w, z, "www.check.test", 60, 1);
}
static int s_two_soa(zw_t *w, const zw_zone_t *z)
{
    return s_valid(w, z) | add_soa(w, z, "check.test", 2);
}
static int s_soa_below(zw_t *w, const zw_zone_t *z)
{
    return s_valid(w, z) | add_soa(w, z, "sub.check.test", 1);
}
static int s_cname_apex(zw_t *w, const zw_zone_t *z)
{
    return s_valid(w, z) | add_name(w, z, "check.test", DNS_T_CNAME, "x.test");
}
static int s_cname_a(zw_t *w, const zw_zone_t *z)
{
    return s_valid(w, z) | add_name(w, z, "www.check.test", DNS_T_CNAME, "x.test");
}
static int s_two_cname(zw_t *w, const zw_zone_t *z)
{
    return s_valid(w, z) | add_name(w, z, "c.check.test", DNS_T_CNAME, "x.test") |
           add_name(w, z, "c.check.test", DNS_T_CNAME, "y.test");
}
static int s_cname_rrsig(zw_t *w, const zw_zone_t *z)
{
    return s_valid(w, z) | add_name(w, z, "c.check.test", DNS_T_CNAME, "x.test") |
           zw_rr_add(w, z, W("c.check.test"), DNS_T_RRSIG, 0, 60, U("sig"), 3);
}
static void test_check(void)
{
    static const struct {
        const char *name;
        setup_fn fn;
        int want;
        const char *text; /* a word the message must contain */
    } cases[] = {
        {"empty zone", s_empty, DNSD_EAPEX, "no SOA"},
        {"SOA without NS", s_soa_only, DNSD_EAPEX, "no NS"},
        {"NS without SOA", s_ns_only, DNSD_EAPEX, "no SOA"},
        {"SOA + NS + A", s_valid, 0, NULL},
        {"two SOA records", s_two_soa, DNSD_EAPEX, "2 SOA"},
        {"SOA below the apex", s_soa_below, DNSD_EAPEX, "sub.check.test."},
        {"CNAME at the apex", s_cname_apex, DNSD_ECNAME, "apex"},
        {"CNAME beside A", s_cname_a, DNSD_ECNAME, "www.check.test."},
        {"two CNAMEs", s_two_cname, DNSD_ECNAME, "2 CNAME"},
        {"CNAME with RRSIG", s_cname_rrsig, 0, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        diag_t d = {0};
        int err = check_case(cases[i].fn, &d);
        is_int(err, cases[i].want, "check: %s", cases[i].name);
        if (cases[i].text) {
            ok(strstr(d.text, cases[i].text) != NULL, "check: %s: message names it (%s)",
               cases[i].name, d.text);
        }
    }
}

static void test_serial(void)
{
    zw_t w;
    zw_zone_t z;
    uint32_t s = 0;
    diag_t d = {0};
    zw_begin(st, &w);
    zw_zone_get(st, w.txn, W("example.test"), &z);
    is_int(zw_soa_serial(st, w.txn, &z, &s), 0, "serial: read");
    uint32_t s0 = s;
    is_int(zw_touch(&w, &z), 0, "serial: touch");
    is_int(zw_commit(&w, &d), 0, "serial: commit bumps");
    zw_begin(st, &w);
    zw_soa_serial(st, w.txn, &z, &s);
    is_int(s, s0 + 1, "serial: +1 at commit");
    is_int(zw_serial_set(&w, &z, 4294967295u), 0, "serial: set to 2^32-1");
    is_int(zw_commit(&w, &d), 0, "serial: commit keeps a set serial");
    zw_begin(st, &w);
    zw_soa_serial(st, w.txn, &z, &s);
    is_int(s, 4294967295u, "serial: 2^32-1 stored as set, no bump on top");
    zw_touch(&w, &z);
    is_int(zw_prepare(&w, &d), 0, "serial: bump at the top");
    zw_soa_serial(st, w.txn, &z, &s);
    is_int(s, 0, "serial: 2^32-1 + 1 wraps to 0 (RFC 1982)");
    zw_commit(&w, NULL);
    ok(zw_serial_gt(0, 4294967295u) && !zw_serial_gt(4294967295u, 0) && zw_serial_gt(5, 4),
       "serial: RFC 1982 comparison across the wrap");
    zw_begin(st, &w);
    zw_zone_t nz;
    zw_zone_create(&w, W("nosoa.test"), &nz);
    is_int(zw_soa_serial(st, w.txn, &nz, &s), DNSD_EAPEX, "serial: a zone without SOA: EAPEX");
    is_int(zw_commit(&w, &d), DNSD_EAPEX, "serial: commit of a zone without SOA: EAPEX");
    ok(strstr(d.text, "no SOA") != NULL, "serial: the refusal says why (%s)", d.text);
    ok(w.txn == NULL, "serial: the refused commit aborted the txn");
    zw_abort(&w);
}

static void test_abort(void)
{
    zw_t w;
    zw_zone_t z, g;
    uint64_t g0 = generation();
    zw_begin(st, &w);
    make_zone(&w, "gone.test", &z);
    add_a(&w, &z, "www.gone.test", 60, 1);
    zw_abort(&w);
    ok(w.txn == NULL, "abort: the txn is released");
    MDB_txn *t;
    mdb_txn_begin(st->env, NULL, MDB_RDONLY, &t);
    is_int(zw_zone_get(st, t, W("gone.test"), &g), DNSD_ENOZONE, "abort: the zone is not there");
    mdb_txn_abort(t);
    is_int(generation(), g0, "abort: the generation did not move");
    zw_abort(&w); /* twice is harmless */
    zw_begin(st, &w);
    zw_commit(&w, NULL);
    zw_begin(st, &w);
    zw_commit(&w, NULL);
    is_int(generation(), g0 + 2, "generation: +1 per commit, even an empty one");
}

struct order_ctx {
    char names[64][64];
    int n;
};

static int order_cb(const uint8_t *owner, const zs_rrset_t *rr, void *arg)
{
    struct order_ctx *c = arg;
    if (c->n < 64) {
        char s[1024];
        dname_to_str(owner, s, sizeof(s));
        snprintf(c->names[c->n++], 64, "%.40s/%u/%u", s, rr->type, rr->region);
    }
    return 0;
}

static void test_iteration(void)
{
    zw_t w;
    zw_zone_t z;
    struct order_ctx c = {0};
    zw_begin(st, &w);
    make_zone(&w, "order.test", &z);
    add_a(&w, &z, "b.order.test", 60, 1);
    add_a(&w, &z, "a.b.order.test", 60, 1);
    add_a(&w, &z, "A.order.test", 60, 1);
    zw_rr_add(&w, &z, W("a.order.test"), DNS_T_TXT, 0, 60, U("\1x"), 2);
    zw_rr_add(&w, &z, W("a.order.test"), DNS_T_A, 2, 60, U("\1\2\3\4"), 4);
    add_a(&w, &z, "z.order.test", 60, 1);
    zw_commit(&w, NULL);
    MDB_txn *t;
    mdb_txn_begin(st->env, NULL, MDB_RDONLY, &t);
    is_int(zw_foreach_rrset(st, t, &z, order_cb, &c), 0, "foreach: runs");
    mdb_txn_abort(t);
    static const char *want[] = {
        "order.test./2/0", "order.test./6/0", "a.order.test./1/0", "a.order.test./1/2",
        "a.order.test./16/0", "b.order.test./1/0", "a.b.order.test./1/0", "z.order.test./1/0",
    };
    int n = (int)(sizeof(want) / sizeof(want[0]));
    is_int(c.n, n, "foreach: %d RRsets", n);
    for (int i = 0; i < n && i < c.n; i++) {
        is_str(c.names[i], want[i], "foreach: #%d in canonical order", i);
    }
}

static void test_clear_delete(void)
{
    zw_t w;
    zw_zone_t z, o, g;
    zs_rrset_t rr;
    zw_begin(st, &w);
    zw_zone_get(st, w.txn, W("order.test"), &z);
    zw_zone_get(st, w.txn, W("example.test"), &o);
    is_int(zw_zone_clear(&w, &z, 0, false), 0, "clear: the default region");
    is_int(zw_rrset_get(st, w.txn, &z, W("b.order.test"), DNS_T_A, 0, &rr), DNSD_ENOTFOUND,
           "clear: default-region RRsets gone");
    is_int(zw_rrset_get(st, w.txn, &z, W("a.order.test"), DNS_T_A, 2, &rr), 0,
           "clear: region 2 kept");
    is_int(zw_zone_delete(&w, &z), 0, "delete: order.test");
    is_int(zw_rrset_get(st, w.txn, &z, W("a.order.test"), DNS_T_A, 2, &rr), DNSD_ENOTFOUND,
           "delete: every region's RRsets gone");
    is_int(zw_zone_get(st, w.txn, W("order.test"), &g), DNSD_ENOZONE, "delete: zone gone");
    is_int(zw_rrset_get(st, w.txn, &o, W("www.example.test"), DNS_T_A, 0, &rr), 0,
           "delete: another zone untouched");
    zw_commit(&w, NULL);
    /* deleting what empties the rrsets database (a cursor at the end) */
    zw_begin(st, &w);
    zw_zone_get(st, w.txn, W("example.test"), &o);
    is_int(zw_zone_clear(&w, &o, 0, true), 0, "clear: every region of the last zone");
    is_int(zw_zone_delete(&w, &o), 0, "delete: the last zone, rrsets already empty");
    zw_abort(&w);
}

static void test_damaged(void)
{
    zw_t w;
    zw_zone_t z;
    zw_begin(st, &w);
    make_zone(&w, "dmg.test", &z);
    add_a(&w, &z, "www.dmg.test", 60, 1);
    is_int(zw_commit(&w, NULL), 0, "damage: the zone committed");
    /* overwrite www's A RRset with a value that claims 2 records but holds 1,
     * behind the writer's back (its commit would refuse it) */
    dname_key_t k;
    MDB_txn *raw;
    uint8_t kb[ZS_RRKEY_MAX], bad[] = {1, 0, 0, 0, 0, 60, 0, 2, 0, 4, 192, 0, 2, 1};
    dname_key_build(W("www.dmg.test"), &k);
    MDB_val key = {zs_rrset_key(z.id, &k, z.apex_labels, DNS_T_A, 0, kb), kb};
    MDB_val val = {sizeof(bad), bad};
    mdb_txn_begin(st->env, NULL, 0, &raw);
    is_int(mdb_put(raw, st->rrsets, &key, &val, 0), 0, "damage: raw put");
    is_int(mdb_txn_commit(raw), 0, "damage: committed");

    zr_t r;
    zs_zone_t zz;
    zs_rrset_t rr;
    uint16_t ids[1] = {0};
    zr_chain_t ch = {ids, 1};
    is_int(zr_init(&r, st), 0, "reader: init");
    is_int(zr_begin(&r), 0, "reader: begin");
    is_int(zr_zone_find(&r, &k, k.nlabels, &zz), 0, "reader: finds dmg.test");
    is_int(zr_rrset_get(&r, &zz, &k, k.nlabels, DNS_T_A, &ch, &rr), DNSD_ESTORE,
           "reader: the damaged RRset is DNSD_ESTORE");
    zr_end(&r);
    zr_fini(&r);
    MDB_txn *t;
    mdb_txn_begin(st->env, NULL, MDB_RDONLY, &t);
    is_int(zw_rrset_get(st, t, &z, W("www.dmg.test"), DNS_T_A, 0, &rr), DNSD_ESTORE,
           "writer: zw_rrset_get says DNSD_ESTORE");
    mdb_txn_abort(t);
    zw_begin(st, &w);
    diag_t d = {0};
    is_int(zw_check_zone(&w, &z, &d), DNSD_ESTORE, "writer: zw_check_zone says DNSD_ESTORE");
    is_int(add_a(&w, &z, "www.dmg.test", 60, 2), DNSD_ESTORE,
           "writer: adding to a damaged RRset says DNSD_ESTORE");
    zw_abort(&w);
}

/*
 * zw_prepare() checks only the owners a txn changed (and the apex, and the
 * subtree of an owner with a DNAME); zw_check_zone() walks the whole zone.
 * Random edits -- A, TXT, CNAME, DNAME and NS at nested names, in the
 * default view and two regions (euw -> eu -> default) -- must get the same
 * verdict from both, commit after commit (a fixed seed: reproducible).
 */
static void test_incremental(void)
{
    static const char *owners[] = {"inc.test", "a.inc.test", "b.a.inc.test",
                                   "c.b.a.inc.test", "d.inc.test", "x.d.inc.test",
                                   "*.d.inc.test", "e.x.d.inc.test"};
    static const uint16_t types[] = {DNS_T_A, DNS_T_TXT, DNS_T_CNAME, DNS_T_DNAME, DNS_T_NS};
    zw_t w;
    zw_zone_t z;
    diag_t d = {0};
    zw_begin(st, &w);
    make_zone(&w, "inc.test", &z);
    zs_region_t r = {0};
    snprintf(r.name, sizeof(r.name), "eu");
    int e1 = zw_region_put(&w, &r, &d);
    uint16_t eu = r.id;
    memset(&r, 0, sizeof(r));
    snprintf(r.name, sizeof(r.name), "euw");
    r.parent = eu;
    int e2 = zw_region_put(&w, &r, &d);
    uint16_t regions[] = {0, eu, r.id};
    is_int(e1 | e2 | zw_commit(&w, &d), 0, "incremental: zone inc.test, regions eu and euw");
    srand(12673);
    unsigned same = 0, differ = 0, committed = 0, refused = 0, ops = 0;
    for (int round = 0; round < 3000; round++) {
        zw_begin(st, &w);
        zw_zone_get(st, w.txn, W("inc.test"), &z);
        int nops = 1 + rand() % 3;
        char what[512];
        size_t wl = 0;
        for (int k = 0; k < nops; k++) {
            const char *o = owners[rand() % 8];
            uint16_t type = types[rand() % 5], region = regions[rand() % 3];
            bool del = rand() % 3 == 0;
            int e;
            if (del) {
                e = zw_rr_del(&w, &z, W(o), type, region, NULL, 0);
            } else if (type == DNS_T_A) {
                e = add_a(&w, &z, o, 300, (uint8_t)(1 + rand() % 3));
                if (region) { /* add_a writes the default view: the region's A instead */
                    zw_abort(&w);
                    zw_begin(st, &w);
                    zw_zone_get(st, w.txn, W("inc.test"), &z);
                    uint8_t a[4] = {198, 51, 100, (uint8_t)(1 + rand() % 3)};
                    e = zw_rr_add(&w, &z, W(o), DNS_T_A, region, 300, a, 4);
                    wl = 0;
                    k = nops; /* this txn: that one edit */
                }
            } else if (type == DNS_T_TXT) {
                uint8_t t[3] = {2, 'h', (uint8_t)('a' + rand() % 3)};
                e = zw_rr_add(&w, &z, W(o), type, region, 300, t, 3);
            } else {
                const char *tg = type == DNS_T_NS ? "ns9.example.net" : "t.example.net";
                const uint8_t *t = W(tg);
                e = zw_rr_add(&w, &z, W(o), type, region, 300, t, (uint16_t)wlen(t));
            }
            ops++;
            wl += (size_t)snprintf(what + wl, sizeof(what) - wl, "%s %s %u r%u (%d); ",
                                   del ? "del" : "add", o, type, region, e);
            if (wl >= sizeof(what)) {
                wl = sizeof(what) - 1;
            }
        }
        diag_t df = {0}, di = {0};
        int full = zw_check_zone(&w, &z, &df);
        int incr = zw_prepare(&w, &di);
        if (full == incr) {
            same++;
        } else {
            differ++;
            if (differ <= 5) {
                printf("# round %d: %s full %d (%s), incremental %d (%s)\n", round, what, full,
                       df.text, incr, di.text);
            }
        }
        if (full == 0 && incr == 0) {
            committed += zw_commit(&w, &d) == 0;
        } else {
            refused++;
            zw_abort(&w);
        }
    }
    is_int(differ, 0, "incremental: the same verdict as the full walk in %u commits of %u edits",
           same, ops);
    ok(committed > 300 && refused > 300, "incremental: %u committed, %u refused (both exercised)",
       committed, refused);
}

int main(void)
{
    if ((st = tz_store_tmp(dir)) == NULL) {
        return 1;
    }
    test_zones();
    test_records();
    test_check();
    test_serial();
    test_abort();
    test_iteration();
    test_clear_delete();
    test_damaged();
    test_incremental();
    tz_store_rm(st, dir);
    return done_testing();
}
