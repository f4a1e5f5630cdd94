/* SPDX-License-Identifier: MIT */
/*
 * t_update.c -- zones/update.c and zones/upolicy.c on a real store in a temp
 * directory: the UPDATE parser (compression, loops, counts), each kind of
 * prerequisite passing and failing with its rcode (RFC 2136 3.2), the
 * update section (3.4: add, delete RRset, delete all at a name, delete one
 * RR, the SOA/apex NS/CNAME rules), the policy (key, address, name, pattern,
 * types, region), NOTZONE/NOTAUTH/FORMERR, and for every refusal a store
 * that did not change (its generation and its records); a committed update
 * bumps the serial once and leaves one journal entry.
 */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "tests/tap.h"
#include "tests/testzone.h"
#include "zones/base/err.h"
#include "zones/journal.h"
#include "zones/rrtype.h"
#include "zones/tsig.h"
#include "zones/update.h"
#include "zones/upolicy.h"
#include "zones/writer.h"

#define W(s) tz_name(s)

static zs_store_t *st;
static char dir[] = "/tmp/t_update.XXXXXX";
static zw_zone_t zone, other;
static uint16_t eu_id;

/* ---- message builder ---- */

typedef struct msg {
    uint8_t b[8192];
    size_t len;
    uint16_t *counts; /* header counts: zo, pr, up, ad at b+4.. */
} msg_t;

static void put16(msg_t *m, uint16_t v)
{
    zs_put16(m->b + m->len, v);
    m->len += 2;
}

static void put_name(msg_t *m, const char *name)
{
    int l = tz_wire(name, m->b + m->len);
    m->len += (size_t)l;
}

static void msg_begin(msg_t *m, const char *zone_name)
{
    memset(m, 0, sizeof(*m));
    zs_put16(m->b, 0x1234);
    zs_put16(m->b + 2, UPD_OPCODE << 11);
    zs_put16(m->b + 4, 1);
    m->len = 12;
    put_name(m, zone_name);
    put16(m, DNS_T_SOA);
    put16(m, UPD_CLASS_IN);
}

/* one RR in section 1 (prerequisites) or 2 (update); rdata given as bytes */
static void msg_rr(msg_t *m, int sect, const char *owner, uint16_t type, uint16_t cls,
                   uint32_t ttl, const void *rd, uint16_t rdlen)
{
    put_name(m, owner);
    put16(m, type);
    put16(m, cls);
    zs_put32(m->b + m->len, ttl);
    m->len += 4;
    put16(m, rdlen);
    if (rdlen) { /* rd may be NULL for an empty rdata */
        memcpy(m->b + m->len, rd, rdlen);
    }
    m->len += rdlen;
    uint8_t *c = m->b + 4 + 2 * sect;
    zs_put16(c, (uint16_t)(zs_get16(c) + 1));
}

static void msg_a(msg_t *m, int sect, const char *owner, uint16_t cls, uint32_t ttl, int last)
{
    uint8_t a[4] = {192, 0, 2, (uint8_t)last};
    msg_rr(m, sect, owner, DNS_T_A, cls, ttl, a, cls == UPD_CLASS_ANY ? 0 : 4);
}

static void msg_txt(msg_t *m, int sect, const char *owner, uint16_t cls, uint32_t ttl,
                    const char *text)
{
    uint8_t t[256];
    t[0] = (uint8_t)strlen(text);
    memcpy(t + 1, text, t[0]);
    msg_rr(m, sect, owner, DNS_T_TXT, cls, ttl, t, (uint16_t)(1 + t[0]));
}

static void msg_empty(msg_t *m, int sect, const char *owner, uint16_t type, uint16_t cls)
{
    msg_rr(m, sect, owner, type, cls, 0, NULL, 0);
}

/* ---- store state ---- */

static uint64_t generation(void)
{
    MDB_txn *t;
    uint64_t g = 0;
    mdb_txn_begin(st->env, NULL, MDB_RDONLY, &t);
    zs_generation(st, t, &g);
    mdb_txn_abort(t);
    return g;
}

static uint32_t serial(void)
{
    MDB_txn *t;
    uint32_t s = 0;
    mdb_txn_begin(st->env, NULL, MDB_RDONLY, &t);
    zw_soa_serial(st, t, &zone, &s);
    mdb_txn_abort(t);
    return s;
}

static int count_cb(const zj_entry_t *e, void *arg)
{
    (void)e;
    (*(int *)arg)++;
    return 0;
}

static int journal_entries(void)
{
    MDB_txn *t;
    int n = 0;
    mdb_txn_begin(st->env, NULL, MDB_RDONLY, &t);
    zj_foreach(st, t, zone.id, count_cb, &n);
    mdb_txn_abort(t);
    return n;
}

/* records of RRset (owner, type, region): count, or -1 if none */
static int rrset_count(const char *owner, uint16_t type, uint16_t region)
{
    MDB_txn *t;
    zs_rrset_t rs;
    mdb_txn_begin(st->env, NULL, MDB_RDONLY, &t);
    int err = zw_rrset_get(st, t, &zone, W(owner), type, region, &rs);
    int n = err ? -1 : rs.count;
    mdb_txn_abort(t);
    return n;
}

static uint32_t rrset_ttl(const char *owner, uint16_t type)
{
    MDB_txn *t;
    zs_rrset_t rs = {0};
    mdb_txn_begin(st->env, NULL, MDB_RDONLY, &t);
    zw_rrset_get(st, t, &zone, W(owner), type, 0, &rs);
    uint32_t ttl = rs.ttl;
    mdb_txn_abort(t);
    return ttl;
}

/* ---- requesters ---- */

static upol_who_t who_key(const char *key, const char *addr)
{
    upol_who_t w;
    memset(&w, 0, sizeof(w));
    w.key = key ? W(key) : NULL;
    struct sockaddr_in *sin = (struct sockaddr_in *)&w.addr;
    sin->sin_family = AF_INET;
    inet_pton(AF_INET, addr ? addr : "127.0.0.1", &sin->sin_addr);
    return w;
}

/* run an UPDATE; the rcode (or -1 when it did not parse, -2 on a store error) */
static int run(msg_t *m, const char *key, const char *addr, upd_result_t *res)
{
    upd_msg_t um;
    diag_t d = {0};
    upd_result_t r0;
    if (!res) {
        res = &r0;
    }
    memset(res, 0, sizeof(*res));
    if (upd_parse(m->b, m->len, &um, &d) != 0) {
        upd_msg_fini(&um);
        return -1;
    }
    /* the key name must outlive the call: copy it (tz_name buffers rotate) */
    uint8_t kb[256];
    upol_who_t w = who_key(NULL, addr);
    if (key) {
        tz_wire(key, kb);
        w.key = kb;
    }
    int err = upd_apply(st, &um, &w, res);
    upd_msg_fini(&um);
    return err ? -2 : res->rcode;
}

/* run it and check the rcode and that a refusal changed nothing */
static void expect(const char *what, msg_t *m, const char *key, const char *addr, int rcode)
{
    upd_result_t res;
    uint64_t g0 = generation();
    uint32_t s0 = serial();
    int got = run(m, key, addr, &res);
    if (!is_int(got, rcode, "%s: rcode %s", what, upd_rcode_str((unsigned)rcode))) {
        printf("#   reason: %s\n", res.reason);
    }
    if (rcode != UPD_R_NOERROR) {
        ok(generation() == g0 && serial() == s0, "%s: store unchanged", what);
        ok(res.reason[0] != 0, "%s: a reason is given (%s)", what, res.reason);
    }
}

/* ---- setup ---- */

static void add_rule(uint32_t zid, const char *key, const char *cidr, uint8_t match,
                     const char *what, const uint16_t *types, int ntypes, const char *region)
{
    MDB_txn *t;
    upol_rule_t r;
    memset(&r, 0, sizeof(r));
    if (key) {
        r.flags |= UPOL_F_KEY;
        tz_wire(key, r.key);
    }
    if (cidr) {
        r.flags |= UPOL_F_ADDR;
        zs_cidr_parse(cidr, &r.addr);
    }
    r.match = match;
    if (match == UPOL_M_PATTERN) {
        snprintf(r.pattern, sizeof(r.pattern), "%s", what);
    } else {
        tz_wire(what, r.name);
    }
    for (int i = 0; i < ntypes; i++) {
        r.types[i] = types[i];
    }
    r.ntypes = (uint8_t)ntypes;
    snprintf(r.region, sizeof(r.region), "%s", region ? region : "");
    mdb_txn_begin(st->env, NULL, 0, &t);
    int err = 0;
    if (key) {
        /* the key must exist: rules reference it in the key store */
        tsig_key_t k;
        diag_t d = {0};
        err = tsig_key_parse(key, "hmac-sha256", "c2VjcmV0LXNlY3JldC1zZWNyZXQ=", &k, &d);
        if (!err && tsig_key_get(st, t, k.name, &(tsig_key_t){0}) != 0) {
            err = tsig_key_put(st, t, &k);
        }
    }
    err = err ? err : upol_add(st, t, zid, zid == zone.id ? zone.apex : other.apex, &r);
    mdb_txn_commit(t);
    if (err) {
        printf("Bail out! cannot add a rule: %s\n", dnsd_strerror(err));
        exit(1);
    }
}

static void setup(void)
{
    zw_t w;
    diag_t d = {0};
    uint8_t rd[300];
    st = tz_store_tmp(dir);
    if (!st) {
        exit(1);
    }
    zw_begin(st, &w);
    zw_zone_create(&w, W("example.test"), &zone);
    size_t o = 0;
    o += (size_t)tz_wire("ns1.example.test", rd);
    o += (size_t)tz_wire("hostmaster.example.test", rd + o);
    uint32_t v[5] = {100, 7200, 3600, 1209600, 300};
    for (int i = 0; i < 5; i++, o += 4) {
        zs_put32(rd + o, v[i]);
    }
    zw_rr_add(&w, &zone, W("example.test"), DNS_T_SOA, 0, 3600, rd, (uint16_t)o);
    zw_rr_add(&w, &zone, W("example.test"), DNS_T_NS, 0, 3600, W("ns1.example.test"), 18);
    zw_rr_add(&w, &zone, W("example.test"), DNS_T_NS, 0, 3600, W("ns2.example.test"), 18);
    uint8_t a1[4] = {192, 0, 2, 1}, a2[4] = {192, 0, 2, 2};
    zw_rr_add(&w, &zone, W("www.example.test"), DNS_T_A, 0, 300, a1, 4);
    zw_rr_add(&w, &zone, W("www.example.test"), DNS_T_A, 0, 300, a2, 4);
    zw_rr_add(&w, &zone, W("mail.example.test"), DNS_T_A, 0, 300, a1, 4);
    zw_rr_add(&w, &zone, W("alias.example.test"), DNS_T_CNAME, 0, 300, W("www.example.test"),
              18);
    zw_rr_add(&w, &zone, W("example.test"), DNS_T_MX, 0, 300, (const uint8_t *)"\0\x0a\0", 3);
    /* a second zone without any policy, and a child zone */
    zw_zone_create(&w, W("other.test"), &other);
    o = 0;
    o += (size_t)tz_wire("ns1.other.test", rd);
    o += (size_t)tz_wire("hostmaster.other.test", rd + o);
    for (int i = 0; i < 5; i++, o += 4) {
        zs_put32(rd + o, v[i]);
    }
    zw_rr_add(&w, &other, W("other.test"), DNS_T_SOA, 0, 3600, rd, (uint16_t)o);
    zw_rr_add(&w, &other, W("other.test"), DNS_T_NS, 0, 3600, W("ns1.other.test"), 16);
    zw_zone_t child;
    zw_zone_create(&w, W("sub.example.test"), &child);
    o = 0;
    o += (size_t)tz_wire("ns1.example.test", rd);
    o += (size_t)tz_wire("hostmaster.example.test", rd + o);
    for (int i = 0; i < 5; i++, o += 4) {
        zs_put32(rd + o, v[i]);
    }
    zw_rr_add(&w, &child, W("sub.example.test"), DNS_T_SOA, 0, 3600, rd, (uint16_t)o);
    zw_rr_add(&w, &child, W("sub.example.test"), DNS_T_NS, 0, 3600, W("ns1.example.test"), 18);
    zs_region_t r;
    memset(&r, 0, sizeof(r));
    snprintf(r.name, sizeof(r.name), "eu");
    int e1 = zw_region_put(&w, &r, &d);
    eu_id = r.id;
    int e2 = zw_commit(&w, &d);
    if (e1 || e2) {
        printf("Bail out! setup: %d %d %s\n", e1, e2, d.text);
        exit(1);
    }
    static const uint16_t txt[] = {DNS_T_TXT}, a[] = {DNS_T_A}, atxt[] = {DNS_T_A, DNS_T_TXT};
    add_rule(zone.id, "acme.key", NULL, UPOL_M_PATTERN, "_acme-challenge.*", txt, 1, NULL);
    add_rule(zone.id, "admin.key", NULL, UPOL_M_SUBDOMAIN, "example.test", NULL, 0, NULL);
    add_rule(zone.id, "eu.key", NULL, UPOL_M_SUBDOMAIN, "example.test", atxt, 2, "eu");
    add_rule(zone.id, NULL, "127.0.0.0/8", UPOL_M_NAME, "open.example.test", a, 1, NULL);
    add_rule(zone.id, "gone.key", NULL, UPOL_M_SUBDOMAIN, "example.test", a, 1, "nowhere");
}

/* ---- tests ---- */

static void t_parse(void)
{
    msg_t m;
    upd_msg_t um;
    diag_t d = {0};

    /* compression: the owner points at the zone name, the CNAME target at the owner */
    msg_begin(&m, "example.test");
    size_t own = m.len;
    m.b[m.len++] = 3;
    memcpy(m.b + m.len, "NEW", 3);
    m.len += 3;
    put16(&m, 0xC00C);
    put16(&m, DNS_T_CNAME);
    put16(&m, UPD_CLASS_IN);
    zs_put32(m.b + m.len, 60);
    m.len += 4;
    put16(&m, 2);
    put16(&m, (uint16_t)(0xC000 | own));
    zs_put16(m.b + 8, 1);
    is_int(upd_parse(m.b, m.len, &um, &d), 0, "parse: compressed owner and rdata");
    ok(um.nupd == 1 && dname_eq(um.upd[0].owner, W("new.example.test")),
       "parse: owner decompressed and lower-cased");
    ok(um.nupd == 1 && um.upd[0].rdlen == 18 &&
           memcmp(um.upd[0].rdata, "\3NEW\7example\4test", 18) == 0,
       "parse: CNAME target decompressed");
    upd_msg_fini(&um);

    /* a pointer to itself / forward */
    msg_begin(&m, "example.test");
    size_t at = m.len;
    put16(&m, (uint16_t)(0xC000 | at));
    put16(&m, DNS_T_A);
    put16(&m, UPD_CLASS_ANY);
    m.len += 6;
    zs_put16(m.b + 8, 1);
    is_int(upd_parse(m.b, m.len, &um, &d), DNSD_EMALFORMED, "parse: pointer loop refused");
    upd_msg_fini(&um);

    msg_begin(&m, "example.test");
    zs_put16(m.b + 4, 2);
    is_int(upd_parse(m.b, m.len, &um, &d), DNSD_EMALFORMED, "parse: two zones refused");
    upd_msg_fini(&um);

    msg_begin(&m, "example.test");
    zs_put16(m.b + 8, 500);
    is_int(upd_parse(m.b, m.len, &um, &d), DNSD_EMALFORMED, "parse: counts past the end");
    upd_msg_fini(&um);

    msg_begin(&m, "example.test");
    msg_a(&m, 2, "x.example.test", UPD_CLASS_IN, 60, 1);
    m.len -= 2;
    is_int(upd_parse(m.b, m.len, &um, &d), DNSD_EMALFORMED, "parse: truncated rdata");
    upd_msg_fini(&um);

    msg_begin(&m, "example.test");
    zs_put16(m.b + 2, 0);
    is_int(upd_parse(m.b, m.len, &um, &d), DNSD_EMALFORMED, "parse: opcode QUERY refused");
    upd_msg_fini(&um);

    /* the additional section: an OPT is noted; a count one too high (a TSIG cut off) is fine */
    msg_begin(&m, "example.test");
    msg_a(&m, 2, "x.example.test", UPD_CLASS_IN, 60, 1);
    memcpy(m.b + m.len, "\0\0\x29\x04\xd0\0\0\0\0\0\0", 11);
    m.len += 11;
    zs_put16(m.b + 10, 2);
    is_int(upd_parse(m.b, m.len, &um, &d), 0, "parse: OPT, then a TSIG cut off");
    ok(um.has_opt && um.edns_version == 0, "parse: the OPT is seen");
    upd_msg_fini(&um);
    m.b[m.len - 5] = 1;
    zs_put16(m.b + 10, 1);
    ok(upd_parse(m.b, m.len, &um, &d) == 0 && um.edns_version == 1, "parse: EDNS version 1 seen");
    upd_msg_fini(&um);
    m.b[m.len - 11] = 1; /* an OPT owner that is not the root: no longer a name that ends */
    is_int(upd_parse(m.b, m.len, &um, &d), DNSD_EMALFORMED, "parse: bad additional RR");
    upd_msg_fini(&um);

    /* an MX whose exchange runs past its rdata */
    msg_begin(&m, "example.test");
    msg_rr(&m, 2, "example.test", DNS_T_MX, UPD_CLASS_IN, 60, "\0\x0a\3abc", 6);
    is_int(upd_parse(m.b, m.len, &um, &d), DNSD_EMALFORMED, "parse: MX name past its rdata");
    upd_msg_fini(&um);
}

static void t_prereqs(void)
{
    msg_t m;
    const char *k = "admin.key";

    /* 2.4.4 name is in use */
    msg_begin(&m, "example.test");
    msg_empty(&m, 1, "www.example.test", DNS_T_ANY, UPD_CLASS_ANY);
    expect("name in use: pass", &m, k, NULL, UPD_R_NOERROR);
    msg_begin(&m, "example.test");
    msg_empty(&m, 1, "nope.example.test", DNS_T_ANY, UPD_CLASS_ANY);
    msg_a(&m, 2, "nope.example.test", UPD_CLASS_IN, 60, 9);
    expect("name in use: fail", &m, k, NULL, UPD_R_NXDOMAIN);
    ok(rrset_count("nope.example.test", DNS_T_A, 0) == -1, "name in use: fail: no add");
    /* an empty non-terminal is not in use: a.b exists, b does not */
    msg_begin(&m, "example.test");
    msg_empty(&m, 1, "test", DNS_T_ANY, UPD_CLASS_ANY); /* outside */
    expect("prerequisite outside the zone", &m, k, NULL, UPD_R_NOTZONE);

    /* 2.4.5 name is not in use */
    msg_begin(&m, "example.test");
    msg_empty(&m, 1, "nope.example.test", DNS_T_ANY, UPD_CLASS_NONE);
    expect("name not in use: pass", &m, k, NULL, UPD_R_NOERROR);
    msg_begin(&m, "example.test");
    msg_empty(&m, 1, "www.example.test", DNS_T_ANY, UPD_CLASS_NONE);
    expect("name not in use: fail", &m, k, NULL, UPD_R_YXDOMAIN);

    /* 2.4.1 RRset exists (value independent) */
    msg_begin(&m, "example.test");
    msg_empty(&m, 1, "www.example.test", DNS_T_A, UPD_CLASS_ANY);
    expect("RRset exists: pass", &m, k, NULL, UPD_R_NOERROR);
    msg_begin(&m, "example.test");
    msg_empty(&m, 1, "www.example.test", DNS_T_AAAA, UPD_CLASS_ANY);
    expect("RRset exists: fail", &m, k, NULL, UPD_R_NXRRSET);

    /* 2.4.3 RRset does not exist */
    msg_begin(&m, "example.test");
    msg_empty(&m, 1, "www.example.test", DNS_T_AAAA, UPD_CLASS_NONE);
    expect("RRset does not exist: pass", &m, k, NULL, UPD_R_NOERROR);
    msg_begin(&m, "example.test");
    msg_empty(&m, 1, "www.example.test", DNS_T_A, UPD_CLASS_NONE);
    expect("RRset does not exist: fail", &m, k, NULL, UPD_R_YXRRSET);

    /* 2.4.2 RRset exists (value dependent): exactly the records given */
    msg_begin(&m, "example.test");
    msg_a(&m, 1, "www.example.test", UPD_CLASS_IN, 0, 2);
    msg_a(&m, 1, "www.example.test", UPD_CLASS_IN, 0, 1);
    msg_a(&m, 1, "www.example.test", UPD_CLASS_IN, 0, 1);
    expect("RRset equals: pass (any order, duplicates)", &m, k, NULL, UPD_R_NOERROR);
    msg_begin(&m, "example.test");
    msg_a(&m, 1, "www.example.test", UPD_CLASS_IN, 0, 1);
    expect("RRset equals: fail (a subset)", &m, k, NULL, UPD_R_NXRRSET);
    msg_begin(&m, "example.test");
    msg_a(&m, 1, "www.example.test", UPD_CLASS_IN, 0, 1);
    msg_a(&m, 1, "www.example.test", UPD_CLASS_IN, 0, 2);
    msg_a(&m, 1, "www.example.test", UPD_CLASS_IN, 0, 3);
    expect("RRset equals: fail (a superset)", &m, k, NULL, UPD_R_NXRRSET);
    msg_begin(&m, "example.test");
    msg_a(&m, 1, "nope.example.test", UPD_CLASS_IN, 0, 1);
    expect("RRset equals: fail (no RRset)", &m, k, NULL, UPD_R_NXRRSET);

    /* form */
    msg_begin(&m, "example.test");
    msg_a(&m, 1, "www.example.test", UPD_CLASS_IN, 60, 1);
    expect("prerequisite with a TTL", &m, k, NULL, UPD_R_FORMERR);
    msg_begin(&m, "example.test");
    msg_a(&m, 1, "www.example.test", UPD_CLASS_NONE, 0, 1);
    expect("prerequisite NONE with rdata", &m, k, NULL, UPD_R_FORMERR);

    /* a failing prerequisite stops the whole update */
    msg_begin(&m, "example.test");
    msg_empty(&m, 1, "www.example.test", DNS_T_A, UPD_CLASS_NONE);
    msg_a(&m, 2, "added.example.test", UPD_CLASS_IN, 60, 7);
    expect("prerequisite fails: no update", &m, k, NULL, UPD_R_YXRRSET);
    ok(rrset_count("added.example.test", DNS_T_A, 0) == -1, "prerequisite fails: nothing added");
}

static void t_updates(void)
{
    msg_t m;
    upd_result_t res;
    const char *k = "admin.key";

    /* adds: two RRs, one serial bump, one journal entry */
    uint32_t s0 = serial();
    int j0 = journal_entries();
    msg_begin(&m, "example.test");
    msg_empty(&m, 1, "new.example.test", DNS_T_ANY, UPD_CLASS_NONE);
    msg_a(&m, 2, "new.example.test", UPD_CLASS_IN, 120, 5);
    msg_txt(&m, 2, "new.example.test", UPD_CLASS_IN, 120, "hello");
    msg_a(&m, 2, "new.example.test", UPD_CLASS_IN, 120, 6);
    is_int(run(&m, k, NULL, &res), UPD_R_NOERROR, "add: NOERROR");
    ok(res.changed, "add: changed");
    is_int(rrset_count("new.example.test", DNS_T_A, 0), 2, "add: two A records");
    is_int(rrset_count("new.example.test", DNS_T_TXT, 0), 1, "add: one TXT record");
    is_int(serial(), s0 + 1, "add: serial bumped once");
    is_int(res.serial, s0 + 1, "add: the result carries the new serial");
    is_int(journal_entries(), j0 + 1, "add: one journal entry");

    /* the same record again with another TTL: replaced (the TTL changes), nothing else */
    msg_begin(&m, "example.test");
    msg_a(&m, 2, "new.example.test", UPD_CLASS_IN, 600, 5);
    is_int(run(&m, k, NULL, &res), UPD_R_NOERROR, "re-add with a new TTL: NOERROR");
    is_int(rrset_ttl("new.example.test", DNS_T_A), 600, "re-add: the RRset's TTL changed");
    is_int(rrset_count("new.example.test", DNS_T_A, 0), 2, "re-add: still two records");

    /* a no-op update: NOERROR, no serial bump */
    s0 = serial();
    msg_begin(&m, "example.test");
    msg_a(&m, 2, "new.example.test", UPD_CLASS_IN, 600, 5);
    is_int(run(&m, k, NULL, &res), UPD_R_NOERROR, "no-op: NOERROR");
    ok(!res.changed && serial() == s0, "no-op: no change, no serial bump");

    /* delete one RR */
    msg_begin(&m, "example.test");
    msg_a(&m, 2, "new.example.test", UPD_CLASS_NONE, 0, 6);
    is_int(run(&m, k, NULL, NULL), UPD_R_NOERROR, "delete an RR: NOERROR");
    is_int(rrset_count("new.example.test", DNS_T_A, 0), 1, "delete an RR: one A left");

    /* delete an RRset */
    msg_begin(&m, "example.test");
    msg_empty(&m, 2, "new.example.test", DNS_T_A, UPD_CLASS_ANY);
    is_int(run(&m, k, NULL, NULL), UPD_R_NOERROR, "delete an RRset: NOERROR");
    is_int(rrset_count("new.example.test", DNS_T_A, 0), -1, "delete an RRset: A gone");
    is_int(rrset_count("new.example.test", DNS_T_TXT, 0), 1, "delete an RRset: TXT stays");

    /* delete all RRsets at a name */
    msg_begin(&m, "example.test");
    msg_a(&m, 2, "new.example.test", UPD_CLASS_IN, 60, 7);
    msg_empty(&m, 2, "new.example.test", DNS_T_ANY, UPD_CLASS_ANY);
    is_int(run(&m, k, NULL, NULL), UPD_R_NOERROR, "delete a name: NOERROR");
    ok(rrset_count("new.example.test", DNS_T_A, 0) == -1 &&
           rrset_count("new.example.test", DNS_T_TXT, 0) == -1,
       "delete a name: everything at it gone (the add before it too)");

    /* the apex: delete-all keeps SOA and NS; SOA and the last NS are never deleted */
    msg_begin(&m, "example.test");
    msg_empty(&m, 2, "example.test", DNS_T_ANY, UPD_CLASS_ANY);
    msg_empty(&m, 2, "example.test", DNS_T_NS, UPD_CLASS_ANY);
    msg_empty(&m, 2, "example.test", DNS_T_SOA, UPD_CLASS_ANY);
    is_int(run(&m, k, NULL, NULL), UPD_R_NOERROR, "apex delete-all: NOERROR");
    is_int(rrset_count("example.test", DNS_T_MX, 0), -1, "apex delete-all: MX gone");
    is_int(rrset_count("example.test", DNS_T_NS, 0), 2, "apex delete-all: NS kept");
    is_int(rrset_count("example.test", DNS_T_SOA, 0), 1, "apex delete-all: SOA kept");
    msg_begin(&m, "example.test");
    msg_rr(&m, 2, "example.test", DNS_T_NS, UPD_CLASS_NONE, 0, W("ns1.example.test"), 18);
    msg_rr(&m, 2, "example.test", DNS_T_NS, UPD_CLASS_NONE, 0, W("ns2.example.test"), 18);
    is_int(run(&m, k, NULL, NULL), UPD_R_NOERROR, "deleting both apex NS: NOERROR");
    is_int(rrset_count("example.test", DNS_T_NS, 0), 1, "deleting both apex NS: the last stays");

    /* SOA: a newer serial replaces it (and is the serial), an older one is ignored */
    uint8_t soa[128];
    size_t o = 0;
    o += (size_t)tz_wire("ns1.example.test", soa);
    o += (size_t)tz_wire("hostmaster.example.test", soa + o);
    uint32_t v[5] = {5000, 7200, 3600, 1209600, 300};
    for (int i = 0; i < 5; i++, o += 4) {
        zs_put32(soa + o, v[i]);
    }
    msg_begin(&m, "example.test");
    msg_rr(&m, 2, "example.test", DNS_T_SOA, UPD_CLASS_IN, 3600, soa, (uint16_t)o);
    is_int(run(&m, k, NULL, NULL), UPD_R_NOERROR, "SOA with a newer serial: NOERROR");
    is_int(serial(), 5000, "SOA with a newer serial: it is the serial");
    zs_put32(soa + o - 20, 10);
    s0 = serial();
    msg_begin(&m, "example.test");
    msg_rr(&m, 2, "example.test", DNS_T_SOA, UPD_CLASS_IN, 3600, soa, (uint16_t)o);
    is_int(run(&m, k, NULL, NULL), UPD_R_NOERROR, "SOA with an older serial: NOERROR");
    is_int(serial(), s0, "SOA with an older serial: ignored");

    /* CNAME beside data is ignored; data beside a CNAME too */
    msg_begin(&m, "example.test");
    msg_rr(&m, 2, "www.example.test", DNS_T_CNAME, UPD_CLASS_IN, 60, W("mail.example.test"), 19);
    msg_a(&m, 2, "alias.example.test", UPD_CLASS_IN, 60, 9);
    is_int(run(&m, k, NULL, NULL), UPD_R_NOERROR, "CNAME rules: NOERROR");
    ok(rrset_count("www.example.test", DNS_T_CNAME, 0) == -1 &&
           rrset_count("alias.example.test", DNS_T_A, 0) == -1,
       "CNAME rules: both update RRs ignored");
    /* a CNAME replaces a CNAME */
    msg_begin(&m, "example.test");
    msg_rr(&m, 2, "alias.example.test", DNS_T_CNAME, UPD_CLASS_IN, 60, W("mail.example.test"),
           19);
    is_int(run(&m, k, NULL, NULL), UPD_R_NOERROR, "CNAME replaced: NOERROR");
    is_int(rrset_count("alias.example.test", DNS_T_CNAME, 0), 1, "CNAME replaced: still one");

    /* all or nothing: an update that breaks the zone at commit leaves it as it was */
    msg_begin(&m, "example.test");
    msg_a(&m, 2, "many.example.test", UPD_CLASS_IN, 60, 1);
    for (int i = 0; i < ZS_NODE_MAX + 1; i++) {
        msg_rr(&m, 2, "many.example.test", (uint16_t)(65280 + i), UPD_CLASS_IN, 60, "x", 1);
    }
    expect("too many types at a name", &m, k, NULL, UPD_R_REFUSED);
    is_int(rrset_count("many.example.test", DNS_T_A, 0), -1,
           "too many types: the A before them is not there either");

    /* form and zone errors */
    msg_begin(&m, "example.test");
    msg_a(&m, 2, "www.other.test", UPD_CLASS_IN, 60, 1);
    expect("update outside the zone", &m, k, NULL, UPD_R_NOTZONE);
    msg_begin(&m, "example.test");
    msg_a(&m, 2, "x.sub.example.test", UPD_CLASS_IN, 60, 1);
    expect("update in a child zone", &m, k, NULL, UPD_R_NOTZONE);
    msg_begin(&m, "nothere.test");
    msg_a(&m, 2, "x.nothere.test", UPD_CLASS_IN, 60, 1);
    expect("zone not served", &m, k, NULL, UPD_R_NOTAUTH);
    msg_begin(&m, "example.test");
    msg_empty(&m, 2, "x.example.test", DNS_T_ANY, UPD_CLASS_IN);
    expect("add of type ANY", &m, k, NULL, UPD_R_FORMERR);
    msg_begin(&m, "example.test");
    msg_rr(&m, 2, "x.example.test", DNS_T_A, UPD_CLASS_IN, 60, "abc", 3);
    expect("add of a 3-byte A", &m, k, NULL, UPD_R_FORMERR);
    msg_begin(&m, "example.test");
    msg_rr(&m, 2, "x.example.test", DNS_T_A, UPD_CLASS_ANY, 60, NULL, 0);
    expect("RRset deletion with a TTL", &m, k, NULL, UPD_R_FORMERR);
    msg_begin(&m, "example.test");
    msg_a(&m, 2, "x.example.test", 3 /* CH */, 60, 1);
    expect("update RR of class CH", &m, k, NULL, UPD_R_FORMERR);
}

static void t_policy(void)
{
    msg_t m;
    upd_result_t res;

    /* the ACME key: TXT at _acme-challenge.* only */
    msg_begin(&m, "example.test");
    msg_txt(&m, 2, "_acme-challenge.example.test", UPD_CLASS_IN, 60, "token1");
    msg_txt(&m, 2, "_acme-challenge.www.example.test", UPD_CLASS_IN, 60, "token2");
    expect("acme key: TXT at _acme-challenge", &m, "acme.key", NULL, UPD_R_NOERROR);
    is_int(rrset_count("_acme-challenge.www.example.test", DNS_T_TXT, 0), 1,
           "acme key: the TXT is there");
    msg_begin(&m, "example.test");
    msg_a(&m, 2, "_acme-challenge.example.test", UPD_CLASS_IN, 60, 1);
    expect("acme key: an A at _acme-challenge", &m, "acme.key", NULL, UPD_R_REFUSED);
    msg_begin(&m, "example.test");
    msg_txt(&m, 2, "www.example.test", UPD_CLASS_IN, 60, "x");
    expect("acme key: TXT at www", &m, "acme.key", NULL, UPD_R_REFUSED);
    msg_begin(&m, "example.test");
    msg_txt(&m, 2, "_acme-challenge.example.test", UPD_CLASS_IN, 60, "t3");
    msg_txt(&m, 2, "x_acme-challenge.example.test", UPD_CLASS_IN, 60, "t3");
    expect("acme key: one RR out of policy refuses all", &m, "acme.key", NULL, UPD_R_REFUSED);
    msg_begin(&m, "example.test");
    msg_empty(&m, 2, "_acme-challenge.example.test", DNS_T_ANY, UPD_CLASS_ANY);
    expect("acme key: delete-all needs an any-type rule", &m, "acme.key", NULL, UPD_R_REFUSED);
    msg_begin(&m, "example.test");
    msg_empty(&m, 2, "_acme-challenge.example.test", DNS_T_TXT, UPD_CLASS_ANY);
    expect("acme key: delete its TXT RRset", &m, "acme.key", NULL, UPD_R_NOERROR);

    /* unknown key, unsigned, other zone */
    msg_begin(&m, "example.test");
    msg_txt(&m, 2, "_acme-challenge.example.test", UPD_CLASS_IN, 60, "t");
    expect("a key no rule names", &m, "stranger.key", NULL, UPD_R_REFUSED);
    expect("unsigned", &m, NULL, "10.1.1.1", UPD_R_REFUSED);
    msg_begin(&m, "other.test");
    msg_a(&m, 2, "x.other.test", UPD_CLASS_IN, 60, 1);
    upd_result_t r2;
    is_int(run(&m, "admin.key", NULL, &r2), UPD_R_REFUSED, "zone without a policy: REFUSED");
    ok(strstr(r2.reason, "has no update policy") != NULL, "zone without a policy: says so (%s)",
       r2.reason);

    /* an address rule: no key needed from 127/8, nothing from elsewhere */
    msg_begin(&m, "example.test");
    msg_a(&m, 2, "open.example.test", UPD_CLASS_IN, 60, 1);
    expect("address rule: unsigned from 127.0.0.1", &m, NULL, "127.0.0.1", UPD_R_NOERROR);
    is_int(rrset_count("open.example.test", DNS_T_A, 0), 1, "address rule: added");
    expect("address rule: from 10.0.0.1", &m, NULL, "10.0.0.1", UPD_R_REFUSED);
    msg_begin(&m, "example.test");
    msg_a(&m, 2, "open2.example.test", UPD_CLASS_IN, 60, 1);
    expect("address rule: another name", &m, NULL, "127.0.0.1", UPD_R_REFUSED);

    /* a region-bound key: its update lands in the region's overlay only */
    uint32_t s0 = serial();
    msg_begin(&m, "example.test");
    msg_a(&m, 2, "www.example.test", UPD_CLASS_IN, 60, 77);
    is_int(run(&m, "eu.key", NULL, &res), UPD_R_NOERROR, "eu key: NOERROR");
    is_str(res.region, "eu", "eu key: written to region eu");
    is_int(rrset_count("www.example.test", DNS_T_A, eu_id), 1, "eu key: one A in eu");
    is_int(rrset_count("www.example.test", DNS_T_A, 0), 2, "eu key: default untouched");
    is_int(serial(), s0 + 1, "eu key: serial bumped once");
    /* its prerequisites see the eu view: www A there is the eu record */
    msg_begin(&m, "example.test");
    msg_a(&m, 1, "www.example.test", UPD_CLASS_IN, 0, 77);
    expect("eu key: prerequisite in the eu view", &m, "eu.key", NULL, UPD_R_NOERROR);
    /* ... which falls back to default for what eu lacks */
    msg_begin(&m, "example.test");
    msg_empty(&m, 1, "mail.example.test", DNS_T_A, UPD_CLASS_ANY);
    expect("eu key: prerequisite falls back to default", &m, "eu.key", NULL, UPD_R_NOERROR);
    msg_begin(&m, "example.test");
    msg_empty(&m, 2, "www.example.test", DNS_T_A, UPD_CLASS_ANY);
    is_int(run(&m, "eu.key", NULL, NULL), UPD_R_NOERROR, "eu key: delete its A RRset");
    ok(rrset_count("www.example.test", DNS_T_A, eu_id) == -1 &&
           rrset_count("www.example.test", DNS_T_A, 0) == 2,
       "eu key: only the eu RRset went");
    msg_begin(&m, "example.test");
    msg_rr(&m, 2, "example.test", DNS_T_NS, UPD_CLASS_IN, 60, W("ns3.example.test"), 18);
    expect("eu key: apex NS is the default view's", &m, "eu.key", NULL, UPD_R_REFUSED);
    msg_begin(&m, "example.test");
    msg_rr(&m, 2, "example.test", DNS_T_MX, UPD_CLASS_IN, 60, "\0\x0a\0", 3);
    expect("eu key: a type it may not touch", &m, "eu.key", NULL, UPD_R_REFUSED);
    msg_begin(&m, "example.test");
    msg_a(&m, 2, "x.example.test", UPD_CLASS_IN, 60, 1);
    expect("a rule naming a missing region", &m, "gone.key", NULL, UPD_R_REFUSED);
}

static void t_rules(void)
{
    upol_rule_t r, back;
    uint8_t buf[UPOL_VALUE_MAX];
    memset(&r, 0, sizeof(r));
    r.flags = UPOL_F_KEY | UPOL_F_ADDR;
    tz_wire("k.example", r.key);
    zs_cidr_parse("2001:db8::/32", &r.addr);
    r.match = UPOL_M_PATTERN;
    snprintf(r.pattern, sizeof(r.pattern), "_acme-challenge.*");
    r.ntypes = 2;
    r.types[0] = DNS_T_TXT;
    r.types[1] = DNS_T_A;
    snprintf(r.region, sizeof(r.region), "eu");
    size_t n = upol_encode(&r, buf, sizeof(buf));
    ok(n > 0 && upol_decode(buf, n, &back) == 0, "rule: encode/decode");
    ok(back.ntypes == 2 && back.types[1] == DNS_T_A && strcmp(back.region, "eu") == 0 &&
           strcmp(back.pattern, r.pattern) == 0 && dname_eq(back.key, r.key),
       "rule: fields survive");
    is_int(upol_decode(buf, n - 1, &back), DNSD_ESTORE, "rule: a cut value is damage");
    buf[0] = 9;
    is_int(upol_decode(buf, n, &back), DNSD_ESTORE, "rule: unknown format is damage");
    ok(upol_covers(&r, W("_acme-challenge.Www.Example.Test"), DNS_T_TXT),
       "pattern: case-insensitive");
    ok(!upol_covers(&r, W("www._acme-challenge.example.test"), DNS_T_TXT),
       "pattern: anchored at the start");
    ok(!upol_covers(&r, W("_acme-challenge.example.test"), DNS_T_MX), "pattern: type list");
    upol_who_t w = who_key("k.example", NULL);
    ok(!upol_who_matches(&r, &w), "who: key right, address (IPv4) wrong");
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&w.addr;
    memset(&w.addr, 0, sizeof(w.addr));
    s6->sin6_family = AF_INET6;
    inet_pton(AF_INET6, "2001:db8::1", &s6->sin6_addr);
    ok(upol_who_matches(&r, &w), "who: key and address right");
    w.key = W("other.example");
    ok(!upol_who_matches(&r, &w), "who: other key");
    w.key = NULL;
    ok(!upol_who_matches(&r, &w), "who: unsigned");
}

static int ref_cb(const char *label, void *arg)
{
    (void)label;
    (*(int *)arg)++;
    return 0;
}

static int refs(const char *key)
{
    MDB_txn *t;
    int n = 0;
    mdb_txn_begin(st->env, NULL, MDB_RDONLY, &t);
    tsig_ref_foreach(st, t, W(key), ref_cb, &n);
    mdb_txn_abort(t);
    return n;
}

static int rule_cb(const upol_rule_t *r, void *arg)
{
    (void)r;
    (*(int *)arg)++;
    return 0;
}

static void t_zone_delete(void)
{
    zw_t w;
    MDB_txn *t;
    int n = 0;
    mdb_txn_begin(st->env, NULL, MDB_RDONLY, &t);
    upol_foreach(st, t, zone.id, rule_cb, &n);
    mdb_txn_abort(t);
    is_int(n, 5, "zone delete: the zone had its rules");
    is_int(refs("admin.key"), 1, "key reference: a rule's key is referenced");
    add_rule(zone.id, "admin.key", NULL, UPOL_M_NAME, "x.example.test", NULL, 0, NULL);
    add_rule(zone.id, "acme2.key", NULL, UPOL_M_NAME, "x.example.test", NULL, 0, NULL);
    is_int(refs("acme2.key"), 1, "key reference: a second key");
    mdb_txn_begin(st->env, NULL, 0, &t);
    is_int(upol_del(st, t, zone.id, zone.apex, 6), 0, "rule del: admin.key's second rule");
    is_int(upol_del(st, t, zone.id, zone.apex, 7), 0, "rule del: acme2.key's rule");
    is_int(upol_del(st, t, zone.id, zone.apex, 7), DNSD_ENOTFOUND, "rule del: gone");
    mdb_txn_commit(t);
    is_int(refs("admin.key"), 1, "rule del: a key another rule uses stays referenced");
    is_int(refs("acme2.key"), 0, "rule del: a key no rule uses is free again");
    mdb_txn_begin(st->env, NULL, 0, &t);
    is_int(tsig_key_del(st, t, W("admin.key")), DNSD_EEXIST,
           "key reference: a key in use cannot be deleted");
    mdb_txn_abort(t);
    n = 0;
    zw_begin(st, &w);
    zw_zone_delete(&w, &zone);
    zw_commit(&w, NULL);
    mdb_txn_begin(st->env, NULL, MDB_RDONLY, &t);
    upol_foreach(st, t, zone.id, rule_cb, &n);
    mdb_txn_abort(t);
    is_int(n, 0, "zone delete: its rules went with it");
    is_int(refs("admin.key"), 0, "zone delete: the key references went too");
}

int main(void)
{
    setup();
    t_parse();
    t_prereqs();
    t_updates();
    t_policy();
    t_rules();
    t_zone_delete();
    tz_store_rm(st, dir);
    done_testing();
}
