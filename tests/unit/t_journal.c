/* SPDX-License-Identifier: MIT */
/*
 * t_journal.c -- the one write path (zones/writer.c) and the change journal
 * (zones/journal.c) on a real store in a temp directory: the touched-zone
 * set (one check and one serial bump per zone and txn, whatever the number
 * of edits), a refused commit leaving data and journal unchanged, IXFR
 * order (old SOA, removed, new SOA, added), netting inside a txn (an ACME
 * TXT added and removed in one txn leaves nothing), TTL changes, regions,
 * zone replace and delete, retention dropping the oldest entries, the
 * "range gone" error, and serials across the RFC 1982 wrap.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/tap.h"
#include "tests/testzone.h"
#include "zones/base/err.h"
#include "zones/journal.h"
#include "zones/regions.h"
#include "zones/rrtype.h"
#include "zones/writer.h"


static zs_store_t *st;
static char dir[] = "/tmp/t_journal.XXXXXX";

#define W(s) tz_name(s) /* wire form, rotating buffers (testzone.h) */

static size_t wlen(const uint8_t *n)
{
    return (size_t)dname_wire_len(n, 256);
}

static int add_a(zw_t *w, const zw_zone_t *z, const char *owner, uint32_t ttl, uint8_t last)
{
    uint8_t a[4] = {192, 0, 2, last};
    return zw_rr_add(w, z, W(owner), DNS_T_A, 0, ttl, a, 4);
}

static int del_a(zw_t *w, const zw_zone_t *z, const char *owner, uint8_t last)
{
    uint8_t a[4] = {192, 0, 2, last};
    return zw_rr_del(w, z, W(owner), DNS_T_A, 0, a, 4);
}

static int add_soa(zw_t *w, const zw_zone_t *z, uint32_t serial)
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
    return zw_rr_add(w, z, z->apex, DNS_T_SOA, 0, 3600, rd, (uint16_t)o);
}

static void make_zone(const char *apex, zw_zone_t *z)
{
    zw_t w;
    const uint8_t *ns = W("ns1.example.test");
    int e0 = zw_begin(st, &w);
    int e1 = zw_zone_create(&w, W(apex), z);
    int e2 = add_soa(&w, z, 1);
    int e3 = zw_rr_add(&w, z, z->apex, DNS_T_NS, 0, 3600, ns, (uint16_t)wlen(ns));
    int e4 = zw_commit(&w, NULL);
    if (e0 || e1 || e2 || e3 || e4) {
        printf("Bail out! cannot make zone %s: %d %d %d %d %d\n", apex, e0, e1, e2, e3, e4);
        exit(1);
    }
}

static uint32_t serial_of(const zw_zone_t *z)
{
    MDB_txn *t;
    uint32_t s = 0;
    mdb_txn_begin(st->env, NULL, MDB_RDONLY, &t);
    zw_soa_serial(st, t, z, &s);
    mdb_txn_abort(t);
    return s;
}

/* ---- reading entries back ---- */

#define MAXE 16
#define MAXR 16
typedef struct rec {
    char owner[64];
    uint16_t type;
    char region[64];
    uint32_t ttl;
    uint8_t rd[64];
    uint16_t rdlen;
} rec_t;
typedef struct ent {
    uint32_t from, to, ndel, nadd;
    int nrec;
    rec_t r[MAXR];
} ent_t;
typedef struct ents {
    int n;
    ent_t e[MAXE];
} ents_t;

static int collect_cb(const zj_entry_t *e, void *arg)
{
    ents_t *x = arg;
    if (x->n == MAXE) {
        return 0;
    }
    ent_t *o = &x->e[x->n++];
    memset(o, 0, sizeof(*o));
    o->from = e->from;
    o->to = e->to;
    o->ndel = e->ndel;
    o->nadd = e->nadd;
    size_t off = 0;
    zj_rr_t rr;
    while (zj_rr_next(e, &off, &rr) && o->nrec < MAXR) {
        rec_t *r = &o->r[o->nrec++];
        dname_to_str(rr.owner, r->owner, sizeof(r->owner));
        r->type = rr.type;
        snprintf(r->region, sizeof(r->region), "%.*s", (int)rr.region_len, rr.region);
        r->ttl = rr.ttl;
        r->rdlen = rr.rdlen < sizeof(r->rd) ? rr.rdlen : sizeof(r->rd);
        memcpy(r->rd, rr.rdata, r->rdlen);
    }
    return 0;
}

static int journal_all(const zw_zone_t *z, ents_t *x)
{
    MDB_txn *t;
    x->n = 0;
    mdb_txn_begin(st->env, NULL, MDB_RDONLY, &t);
    int err = zj_foreach(st, t, z->id, collect_cb, x);
    mdb_txn_abort(t);
    return err;
}

static int journal_from(const zw_zone_t *z, uint32_t from, ents_t *x)
{
    MDB_txn *t;
    x->n = 0;
    mdb_txn_begin(st->env, NULL, MDB_RDONLY, &t);
    uint32_t cur = 0;
    zw_soa_serial(st, t, z, &cur);
    int err = zj_changes(st, t, z->id, from, cur, collect_cb, x);
    mdb_txn_abort(t);
    return err;
}

static uint32_t soa_serial_rd(const rec_t *r)
{
    return r->rdlen >= 20 ? zs_get32(r->rd + r->rdlen - 20) : 0xdeadbeef;
}

static const ent_t *last(const ents_t *x)
{
    return x->n ? &x->e[x->n - 1] : NULL;
}

/* ---- tests ---- */

static void test_touched(void)
{
    zw_zone_t a, b;
    zw_t w;
    ents_t x;
    make_zone("a.test", &a);
    make_zone("b.test", &b);
    journal_all(&a, &x);
    is_int(x.n, 0, "touched: a created zone has no journal entry");
    uint32_t sa = serial_of(&a), sb = serial_of(&b);
    zw_begin(st, &w);
    for (uint8_t i = 1; i <= 5; i++) {
        add_a(&w, &a, "www.a.test", 300, i);
    }
    add_a(&w, &b, "x.b.test", 300, 1);
    add_a(&w, &b, "y.b.test", 300, 1);
    is_int(zw_commit(&w, NULL), 0, "touched: 7 edits in 2 zones commit");
    is_int(serial_of(&a), sa + 1, "touched: a's serial +1 for 5 edits");
    is_int(serial_of(&b), sb + 1, "touched: b's serial +1 for 2 edits");
    journal_all(&a, &x);
    is_int(x.n, 1, "touched: one journal entry for a");
    is_int(last(&x)->nadd, 5, "touched: it adds the 5 records");
    journal_all(&b, &x);
    is_int(x.n, 1, "touched: one journal entry for b");

    /* an edit that changes nothing (a record already there) touches nothing */
    zw_begin(st, &w);
    is_int(add_a(&w, &a, "www.a.test", 300, 1), DNSD_EEXIST, "touched: duplicate add: EEXIST");
    zw_commit(&w, NULL);
    is_int(serial_of(&a), sa + 1, "touched: no change, no bump");

    /* a refused commit: the store, serial and journal stay as they were */
    diag_t d = {0};
    zw_begin(st, &w);
    add_a(&w, &a, "c.a.test", 300, 9);
    const uint8_t *tgt = W("www.a.test");
    zw_rr_add(&w, &a, W("c.a.test"), DNS_T_CNAME, 0, 300, tgt, (uint16_t)wlen(tgt));
    is_int(zw_commit(&w, &d), DNSD_ECNAME, "refused: CNAME beside an A");
    ok(strstr(d.text, "c.a.test") != NULL, "refused: the diag names the owner (%s)", d.text);
    ok(w.txn == NULL, "refused: the txn is gone");
    is_int(serial_of(&a), sa + 1, "refused: serial unchanged");
    journal_all(&a, &x);
    is_int(x.n, 1, "refused: no journal entry added");
}

static void test_acme_netting(void)
{
    zw_zone_t z;
    zw_t w;
    ents_t x;
    make_zone("acme.test", &z);
    uint32_t s0 = serial_of(&z);
    /* what commit_step does for a challenge answered and cleaned in one txn */
    uint8_t txt[] = "\x0bchallenge-1";
    zw_begin(st, &w);
    is_int(zw_rr_add(&w, &z, W("_acme-challenge.acme.test"), DNS_T_TXT, 0, 60, txt, 12), 0,
           "acme: TXT added");
    is_int(zw_rr_del(&w, &z, W("_acme-challenge.acme.test"), DNS_T_TXT, 0, txt, 12), 0,
           "acme: TXT removed in the same txn");
    is_int(zw_commit(&w, NULL), 0, "acme: commit");
    is_int(serial_of(&z), s0 + 1, "acme: one bump for add + del");
    journal_all(&z, &x);
    is_int(x.n, 1, "acme: one entry");
    is_int(last(&x)->ndel, 0, "acme: netted: nothing removed");
    is_int(last(&x)->nadd, 0, "acme: netted: nothing added");
    is_int(last(&x)->nrec, 2, "acme: only the two SOAs");

    /* removed then put back unchanged: nothing; put back with another TTL: both */
    zw_begin(st, &w);
    add_a(&w, &z, "keep.acme.test", 300, 1);
    add_a(&w, &z, "ttl.acme.test", 300, 2);
    zw_commit(&w, NULL);
    zw_begin(st, &w);
    del_a(&w, &z, "keep.acme.test", 1);
    add_a(&w, &z, "keep.acme.test", 300, 1);
    del_a(&w, &z, "ttl.acme.test", 2);
    add_a(&w, &z, "ttl.acme.test", 900, 2);
    add_a(&w, &z, "new.acme.test", 300, 3);
    zw_commit(&w, NULL);
    journal_all(&z, &x);
    const ent_t *e = last(&x);
    is_int(e->ndel, 1, "netting: one removal (the old TTL)");
    is_int(e->nadd, 2, "netting: two additions (new TTL, new record)");
    is_str(e->r[1].owner, "ttl.acme.test.", "netting: the removal is ttl's");
    is_int(e->r[1].ttl, 300, "netting: with its old TTL");
    is_str(e->r[3].owner, "new.acme.test.", "netting: additions in canonical order (new)");
    is_str(e->r[4].owner, "ttl.acme.test.", "netting: then ttl");
    is_int(e->r[4].ttl, 900, "netting: with its new TTL");

    /* one record joining an RRset with another TTL changes the others' TTL too */
    zw_begin(st, &w);
    add_a(&w, &z, "keep.acme.test", 60, 7);
    zw_commit(&w, NULL);
    journal_all(&z, &x);
    e = last(&x);
    is_int(e->ndel, 1, "rrset ttl: the old record removed with TTL 300");
    is_int(e->nadd, 2, "rrset ttl: both added with TTL 60");
    is_int(e->r[1].ttl, 300, "rrset ttl: old TTL in the removal");
    is_int(e->r[3].ttl, 60, "rrset ttl: new TTL in the additions");
}

static void test_ixfr_order(void)
{
    zw_zone_t z;
    zw_t w;
    ents_t x;
    make_zone("ixfr.test", &z);
    zw_begin(st, &w);
    add_a(&w, &z, "a.ixfr.test", 300, 1);
    add_a(&w, &z, "b.ixfr.test", 300, 1);
    zw_commit(&w, NULL);
    uint32_t s1 = serial_of(&z);
    zw_begin(st, &w);
    del_a(&w, &z, "a.ixfr.test", 1);
    add_a(&w, &z, "c.ixfr.test", 300, 1);
    zs_region_t r = {0};
    uint16_t rid = 0;
    diag_t d = {0};
    snprintf(r.name, sizeof(r.name), "eu");
    r.parent = 0;
    is_int(zw_region_put(&w, &r, &d), 0, "ixfr: region eu added");
    rid = r.id;
    uint8_t a[4] = {198, 51, 100, 1};
    is_int(zw_rr_add(&w, &z, W("b.ixfr.test"), DNS_T_A, rid, 300, a, 4), 0, "ixfr: regional A added");
    zw_commit(&w, NULL);
    journal_all(&z, &x);
    const ent_t *e = last(&x);
    is_int(e->from, s1, "ixfr: from the serial before");
    is_int(e->to, s1 + 1, "ixfr: to the one after");
    is_int(e->nrec, 5, "ixfr: SOA, 1 removed, SOA, 2 added");
    is_int(e->r[0].type, DNS_T_SOA, "ixfr: first the old SOA");
    is_int(soa_serial_rd(&e->r[0]), s1, "ixfr: with the old serial");
    is_str(e->r[1].owner, "a.ixfr.test.", "ixfr: then the removed record");
    is_int(e->r[2].type, DNS_T_SOA, "ixfr: then the new SOA");
    is_int(soa_serial_rd(&e->r[2]), s1 + 1, "ixfr: with the new serial");
    is_str(e->r[3].owner, "b.ixfr.test.", "ixfr: then the added: b (regional)");
    is_str(e->r[3].region, "eu", "ixfr: the region is recorded by name");
    is_str(e->r[4].owner, "c.ixfr.test.", "ixfr: and c");
    is_str(e->r[4].region, "", "ixfr: in the default region (empty name)");

    /* a zone cleared and filled again (an import) is journalled as the difference */
    uint32_t s2 = serial_of(&z);
    zw_begin(st, &w);
    is_int(zw_zone_clear(&w, &z, 0, false), 0, "replace: default region cleared");
    add_soa(&w, &z, s2 + 10);
    const uint8_t *ns = W("ns1.example.test");
    zw_rr_add(&w, &z, z.apex, DNS_T_NS, 0, 3600, ns, (uint16_t)wlen(ns));
    add_a(&w, &z, "b.ixfr.test", 300, 1);
    add_a(&w, &z, "d.ixfr.test", 300, 1);
    is_int(zw_commit(&w, NULL), 0, "replace: committed");
    is_int(serial_of(&z), s2 + 10, "replace: the written SOA's serial is kept (no bump on top)");
    journal_all(&z, &x);
    e = last(&x);
    is_int(e->ndel, 1, "replace: c removed");
    is_str(e->r[1].owner, "c.ixfr.test.", "replace: it is c");
    is_int(e->nadd, 1, "replace: d added (b, NS unchanged: not listed)");
    is_str(e->r[3].owner, "d.ixfr.test.", "replace: it is d");

    /* from any retained serial, the chain to now */
    is_int(journal_from(&z, s1, &x), 0, "changes: from s1");
    is_int(x.n, 2, "changes: two entries from s1");
    is_int(journal_from(&z, s2 + 10, &x), 0, "changes: from the current serial");
    is_int(x.n, 0, "changes: nothing to send");
    is_int(journal_from(&z, 12345, &x), DNSD_ERANGE, "changes: an unknown serial: ERANGE");

    /* zone delete drops its journal */
    zw_begin(st, &w);
    is_int(zw_zone_delete(&w, &z), 0, "delete: zone deleted");
    is_int(zw_commit(&w, NULL), 0, "delete: committed");
    is_int(journal_all(&z, &x), 0, "delete: journal reads");
    is_int(x.n, 0, "delete: no entries left");
}

static void test_retention(void)
{
    zw_zone_t z;
    zw_t w;
    ents_t x;
    make_zone("ret.test", &z);
    uint32_t s0 = serial_of(&z);
    /* each txn below writes an entry of 3 records (2 SOAs + 1 added) */
    zw_begin(st, &w);
    is_int(zj_limits_set(st, w.txn, z.id, &(zj_limits_t){7, ZJ_KEEP}), 0,
           "retention: zone limit 7 records");
    zw_commit(&w, NULL);
    for (uint8_t i = 1; i <= 4; i++) {
        zw_begin(st, &w);
        add_a(&w, &z, "r.ret.test", 300, i);
        zw_commit(&w, NULL);
    }
    journal_all(&z, &x);
    is_int(x.n, 2, "retention: only 2 entries (6 records) of 4 kept");
    is_int(x.e[0].from, s0 + 2, "retention: the oldest two were dropped");
    is_int(last(&x)->to, s0 + 4, "retention: the newest ends at the serial now");
    is_int(journal_from(&z, s0, &x), DNSD_ERANGE, "retention: from a dropped serial: ERANGE");
    is_int(journal_from(&z, s0 + 2, &x), 0, "retention: from the oldest kept: fine");
    is_int(x.n, 2, "retention: both entries");

    /* the store-wide default applies to zones without their own */
    zj_limits_t own, eff;
    MDB_txn *t;
    mdb_txn_begin(st->env, NULL, MDB_RDONLY, &t);
    zj_limits_get(st, t, z.id, &own, &eff);
    mdb_txn_abort(t);
    ok(own.max_changes == 7 && own.max_bytes == ZJ_INHERIT, "limits: the zone's own");
    ok(eff.max_bytes == ZJ_DEFAULT_MAX_BYTES, "limits: bytes from the store default");
    zw_begin(st, &w);
    is_int(zj_limits_set(st, w.txn, z.id, &(zj_limits_t){ZJ_INHERIT, ZJ_KEEP}), 0,
           "limits: back to the store's");
    is_int(zj_limits_set(st, w.txn, 0, &(zj_limits_t){3, ZJ_KEEP}), 0,
           "limits: store default 3 records");
    zw_commit(&w, NULL);
    journal_all(&z, &x);
    is_int(x.n, 1, "limits: the new default trims at once");
    zw_begin(st, &w);
    zj_limits_set(st, w.txn, 0, &(zj_limits_t){ZJ_INHERIT, ZJ_INHERIT});
    /* a byte limit smaller than one entry: even the newest goes; readers fall back */
    zj_limits_set(st, w.txn, z.id, &(zj_limits_t){ZJ_KEEP, 10});
    zw_commit(&w, NULL);
    zw_begin(st, &w);
    add_a(&w, &z, "r.ret.test", 300, 9);
    zw_commit(&w, NULL);
    journal_all(&z, &x);
    is_int(x.n, 0, "bytes: nothing fits in 10 bytes");
    is_int(journal_from(&z, serial_of(&z) - 1, &x), DNSD_ERANGE, "bytes: ERANGE, whole zone");
}

static void test_wrap(void)
{
    zw_zone_t z;
    zw_t w;
    ents_t x;
    make_zone("wrap.test", &z);
    zw_begin(st, &w);
    zw_serial_set(&w, &z, 4294967294u);
    zw_commit(&w, NULL);
    for (uint8_t i = 1; i <= 3; i++) {
        zw_begin(st, &w);
        add_a(&w, &z, "w.wrap.test", 300, i);
        zw_commit(&w, NULL);
    }
    is_int(serial_of(&z), 1, "wrap: 4294967294 + 3 = 1 (RFC 1982)");
    journal_all(&z, &x);
    is_int(x.n, 4, "wrap: four entries");
    ok(x.e[1].from == 4294967294u && x.e[1].to == 4294967295u && x.e[2].to == 0 &&
       x.e[3].from == 0 && x.e[3].to == 1, "wrap: entries in commit order across the wrap");
    is_int(journal_from(&z, 4294967294u, &x), 0, "wrap: changes from before the wrap");
    is_int(x.n, 3, "wrap: three entries to now");
    is_int(x.e[0].from, 4294967294u, "wrap: starting there");
}

int main(void)
{
    if ((st = tz_store_tmp(dir)) == NULL) {
        return 1;
    }
    test_touched();
    test_acme_netting();
    test_ixfr_order();
    test_retention();
    test_wrap();
    tz_store_rm(st, dir);
    return done_testing();
}
