/* SPDX-License-Identifier: MIT */
/*
 * t_secondary.c -- zones/secondary.c and the writer's rules for secondary
 * zones, on a real store in a temp directory: primary address parsing
 * (table), settings and state round trips, damaged values refused as
 * DNSD_ESTORE, the default view refused to every writer but a transfer
 * writer (zw_t.xfr), overlay edits leaving the serial and the journal
 * alone, a transfer writer setting the primary's serial with a journal
 * entry, and zone deletion dropping the settings.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/tap.h"
#include "tests/testzone.h"
#include "zones/base/err.h"
#include "zones/journal.h"
#include "zones/rrtype.h"
#include "zones/secondary.h"
#include "zones/writer.h"

#define W(s) tz_name(s)

static zs_store_t *st;
static char dir[] = "/tmp/t_secondary.XXXXXX";

static const struct {
    const char *name, *text;
    int err;
    uint8_t family;
    uint16_t port;
    const char *back; /* zsec_primary_str() of the result */
} parse_cases[] = {
    {"v4 bare: port 53", "192.0.2.1", 0, 4, 53, "192.0.2.1:53"},
    {"v4 with port", "192.0.2.1:5300", 0, 4, 5300, "192.0.2.1:5300"},
    {"v6 bare: port 53", "2001:db8::1", 0, 6, 53, "[2001:db8::1]:53"},
    {"v6 bracketed with port", "[2001:db8::1]:5353", 0, 6, 5353, "[2001:db8::1]:5353"},
    {"v6 bracketed, no port", "[::1]", 0, 6, 53, "[::1]:53"},
    {"port 0", "192.0.2.1:0", DNSD_EMALFORMED, 0, 0, NULL},
    {"port too large", "192.0.2.1:65536", DNSD_EMALFORMED, 0, 0, NULL},
    {"port not a number", "192.0.2.1:x", DNSD_EMALFORMED, 0, 0, NULL},
    {"a host name", "ns1.example.com", DNSD_EMALFORMED, 0, 0, NULL},
    {"no closing bracket", "[::1:53", DNSD_EMALFORMED, 0, 0, NULL},
    {"junk after the bracket", "[::1]x53", DNSD_EMALFORMED, 0, 0, NULL},
    {"empty", "", DNSD_EMALFORMED, 0, 0, NULL},
};

static void test_parse(void)
{
    for (size_t i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
        zsec_primary_t p;
        diag_t d = {0};
        char buf[64];
        int err = zsec_primary_parse(parse_cases[i].text, &p, &d);
        is_int(err, parse_cases[i].err, "parse: %s", parse_cases[i].name);
        if (err == 0) {
            ok(p.family == parse_cases[i].family && p.port == parse_cases[i].port,
               "parse: %s: family and port", parse_cases[i].name);
            is_str(zsec_primary_str(&p, buf, sizeof(buf)), parse_cases[i].back,
                   "parse: %s: printed back", parse_cases[i].name);
        } else {
            ok(d.text[0] != 0, "parse: %s: says why", parse_cases[i].name);
        }
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

static int count_entries(const zj_entry_t *e, void *arg)
{
    (void)e;
    (*(int *)arg)++;
    return 0;
}

static int journal_entries(const zw_zone_t *z)
{
    MDB_txn *t;
    int n = 0;
    mdb_txn_begin(st->env, NULL, MDB_RDONLY, &t);
    zj_foreach(st, t, z->id, count_entries, &n);
    mdb_txn_abort(t);
    return n;
}

static int add_soa(zw_t *w, const zw_zone_t *z, uint32_t serial)
{
    uint8_t rd[300];
    size_t a = (size_t)dname_wire_len(W("ns1.sec.test"), 256);
    memcpy(rd, W("ns1.sec.test"), a);
    size_t b = (size_t)dname_wire_len(W("h.sec.test"), 256);
    memcpy(rd + a, W("h.sec.test"), b);
    uint32_t v[5] = {serial, 3600, 600, 86400, 60};
    for (int i = 0; i < 5; i++) {
        zs_put32(rd + a + b + 4 * i, v[i]);
    }
    return zw_rr_add(w, z, W("sec.test"), DNS_T_SOA, 0, 300, rd, (uint16_t)(a + b + 20));
}

static int add_a(zw_t *w, const zw_zone_t *z, const char *owner, uint16_t region, uint8_t last)
{
    uint8_t a[4] = {192, 0, 2, last};
    return zw_rr_add(w, z, W(owner), DNS_T_A, region, 300, a, 4);
}

static void test_store(void)
{
    zw_t w;
    zw_zone_t z;
    diag_t d = {0};
    zsec_conf_t c = {0}, c2;
    zsec_state_t s = {0}, s2;

    /* a zone with data, made a secondary */
    zw_begin(st, &w);
    is_int(zw_zone_create(&w, W("sec.test"), &z), 0, "zone created");
    add_soa(&w, &z, 100);
    const uint8_t *ns = W("ns1.sec.test");
    zw_rr_add(&w, &z, W("sec.test"), DNS_T_NS, 0, 300, ns, (uint16_t)dname_wire_len(ns, 256));
    add_a(&w, &z, "www.sec.test", 0, 1);
    zs_region_t r = {0};
    snprintf(r.name, sizeof(r.name), "eu");
    is_int(zw_region_put(&w, &r, &d), 0, "region eu added");
    zsec_primary_parse("192.0.2.53:5300", &c.primary[0], &d);
    zsec_primary_parse("[2001:db8::53]", &c.primary[1], &d);
    c.nprimaries = 2;
    memcpy(c.key, W("xfr-key"), (size_t)dname_wire_len(W("xfr-key"), 256));
    c.key_len = (uint16_t)dname_wire_len(W("xfr-key"), 256);
    is_int(zsec_conf_put(st, w.txn, z.id, &c), 0, "settings written");
    is_int(zw_zone_set_flags(&w, &z, ZS_ZONE_F_SECONDARY, 0), 0, "flagged secondary");
    is_int(zw_commit(&w, &d), 0, "committed");

    MDB_txn *t;
    mdb_txn_begin(st->env, NULL, MDB_RDONLY, &t);
    is_int(zsec_conf_get(st, t, z.id, &c2), 0, "settings read back");
    ok(c2.nprimaries == 2 && memcmp(&c2.primary[0], &c.primary[0], sizeof(c.primary[0])) == 0 &&
           memcmp(&c2.primary[1], &c.primary[1], sizeof(c.primary[1])) == 0,
       "the same primaries, in order");
    ok(c2.key_len == c.key_len && memcmp(c2.key, c.key, c.key_len) == 0, "the same key name");
    is_int(zsec_state_get(st, t, z.id, &s2), DNSD_ENOTFOUND, "no state before a refresh");
    is_int(zsec_conf_get(st, t, z.id + 1, &c2), DNSD_ENOTFOUND, "another zone: not a secondary");
    mdb_txn_abort(t);

    /* state round trip */
    s.has_serial = true;
    s.serial = 100;
    s.last_ok = 1700000000;
    s.last_try = 1700000001;
    s.next = 1700003600;
    s.expire_at = 1700086400;
    s.kind = ZSEC_KIND_IXFR;
    snprintf(s.error, sizeof(s.error), "connect: Connection refused");
    zw_begin(st, &w);
    is_int(zsec_state_put(st, w.txn, z.id, &s), 0, "state written");
    is_int(zsec_state_get(st, w.txn, z.id, &s2), 0, "state read back");
    ok(s2.has_serial && s2.serial == 100 && s2.last_ok == s.last_ok && s2.last_try == s.last_try &&
           s2.next == s.next && s2.expire_at == s.expire_at && s2.kind == ZSEC_KIND_IXFR,
       "state fields round trip");
    is_str(s2.error, s.error, "the error text round trips");
    /* damage: a settings value with a bad family, a truncated state */
    uint8_t kb[5];
    zs_put32(kb, z.id);
    kb[4] = 0;
    uint8_t bad[] = {1, 1, 5};
    MDB_val key = {5, kb}, val = {sizeof(bad), bad};
    mdb_put(w.txn, st->secondary, &key, &val, 0);
    is_int(zsec_conf_get(st, w.txn, z.id, &c2), DNSD_ESTORE, "damaged settings: DNSD_ESTORE");
    kb[4] = 1;
    uint8_t bad2[] = {1, 1, 0, 0};
    val.mv_size = sizeof(bad2);
    val.mv_data = bad2;
    mdb_put(w.txn, st->secondary, &key, &val, 0);
    is_int(zsec_state_get(st, w.txn, z.id, &s2), DNSD_ESTORE, "damaged state: DNSD_ESTORE");
    zw_abort(&w);

    /* the default view is the transfers' */
    uint32_t before = serial_of(&z);
    int jbefore = journal_entries(&z);
    z.flags |= ZS_ZONE_F_SECONDARY;
    zw_begin(st, &w);
    is_int(add_a(&w, &z, "new.sec.test", 0, 9), DNSD_ESECONDARY, "default-view add: refused");
    is_int(zw_rr_del(&w, &z, W("www.sec.test"), DNS_T_A, 0, NULL, 0), DNSD_ESECONDARY,
           "default-view delete: refused");
    is_int(zw_zone_clear(&w, &z, 0, false), DNSD_ESECONDARY, "default-view clear: refused");
    is_int(zw_zone_clear(&w, &z, 0, true), DNSD_ESECONDARY, "all-regions clear: refused");
    /* overlays stay editable, without a serial bump or a journal entry */
    is_int(add_a(&w, &z, "www.sec.test", r.id, 7), 0, "overlay add: accepted");
    is_int(zw_commit(&w, &d), 0, "overlay edit committed");
    is_int(serial_of(&z), before, "overlay edit: the serial is the primary's still");
    is_int(journal_entries(&z), jbefore, "overlay edit: no journal entry");

    /* a transfer writer: the default view, the primary's serial, journalled */
    zw_begin(st, &w);
    w.xfr = true;
    is_int(add_a(&w, &z, "new.sec.test", 0, 9), 0, "transfer writer: default-view add");
    is_int(zw_serial_set(&w, &z, 150), 0, "transfer writer: the primary's serial");
    is_int(zw_commit(&w, &d), 0, "transfer committed");
    is_int(serial_of(&z), 150, "the zone has the primary's serial");
    is_int(journal_entries(&z), jbefore + 1, "and a journal entry for its own secondaries");

    /* a secondary with no data yet (before its first transfer) commits */
    zw_zone_t e;
    zw_begin(st, &w);
    is_int(zw_zone_create(&w, W("empty.test"), &e), 0, "empty secondary created");
    is_int(zw_zone_set_flags(&w, &e, ZS_ZONE_F_SECONDARY | ZS_ZONE_F_SERVFAIL, 0), 0,
           "flagged secondary + SERVFAIL");
    is_int(zw_commit(&w, &d), 0, "committed without SOA (awaiting its first transfer)");

    /* zone delete drops the settings */
    zw_begin(st, &w);
    zsec_conf_put(st, w.txn, z.id, &c);
    zsec_state_put(st, w.txn, z.id, &s);
    is_int(zw_zone_delete(&w, &z), 0, "zone deleted");
    is_int(zsec_conf_get(st, w.txn, z.id, &c2), DNSD_ENOTFOUND, "its settings went with it");
    is_int(zsec_state_get(st, w.txn, z.id, &s2), DNSD_ENOTFOUND, "and its state");
    zw_abort(&w);
}

int main(void)
{
    if (!(st = tz_store_tmp(dir))) {
        return 1;
    }
    test_parse();
    test_store();
    tz_store_rm(st, dir);
    return done_testing();
}
