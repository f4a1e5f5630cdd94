/* SPDX-License-Identifier: MIT */
/*
 * fuzz_store.c -- libFuzzer target for the store's value (and key) decoding:
 * what every reader does with a damaged store. The scratch store is the
 * test store (tests/testzone.c) plus regions eu and eu-west with records.
 *
 * Input: byte 0 = mode, then
 *   mode < 0x80:  byte 1 picks one of the store's entries (zones, rrsets,
 *                 regions: every one, in key order); the rest replaces its
 *                 value;
 *   mode >= 0x80: a new entry in sub-database (mode & 3: zones, rrsets,
 *                 regions, journal); byte 1 = key length, then the key, then
 *                 the value.
 *
 * 1. The pure decoders run on the value: zs_rrset_decode(), zs_zone_decode(),
 *    zs_region_decode(), zs_rollout_decode(). What they accept must hold: counts match, every
 *    rdata lies inside the value and they tile it exactly; a zone's apex is a
 *    wire name filling the value; a region re-encodes to the same bytes.
 * 2. The entry is committed to the store, and every reader runs on it:
 *    answer_query() for a list of queries (UDP and TCP, with and without
 *    ECS; the geo snapshot rebuilt from the store when a region changed):
 *    each gets a
 *    well-formed reply (fz_check_response()), within the size limits, with
 *    its id; the slow path (zw_zone_get(), zw_foreach_zone/_rrset(),
 *    zs_regions_load(), zw_check_zone(), zw_soa_serial(), zf_export_all(),
 *    and the journal's zj_foreach() / zj_changes(), whose records must tile
 *    each entry they hand out) returns 0 or an error, never crashes, and a
 *    value its decoder refuses is DNSD_ESTORE wherever it is read.
 * 3. The entry is restored (or deleted), so every run starts from the same
 *    store.
 * Without --enable-fuzzing, replay.c's main() runs the seed corpus. With
 * $FUZZ_STORE_WRITE_SEEDS=DIR it writes its seed corpus to DIR and exits
 * (tests/fuzz/make_seeds.py store): every entry as it is, damaged copies of
 * a few, and new keys, so the seeds follow the test store.
 */
#include <arpa/inet.h>
#include <lmdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnsd/answer.h"
#include "dnsd/geo_state.h"
#include "dnsd/pkt.h"
#include "tests/fuzz/fuzz_util.h"
#include "tests/testzone.h"
#include "zones/base/err.h"
#include "zones/export.h"
#include "zones/journal.h"
#include "zones/reader.h"
#include "zones/regions.h"
#include "zones/rollout.h"
#include "zones/writer.h"

#define VALUE_MAX 70000

typedef struct entry {
    int db; /* 0 zones, 1 rrsets, 2 regions */
    MDB_val key, val;
} entry_t;

static zs_store_t *store;
static zr_t rd;
static geo_state_t *geo0; /* the snapshot of the intact regions */
static entry_t *ents;
static size_t nents;
static uint8_t out[65536];
static const char *const zone_names[] = {"example.test.", "deep.example.test."};

/* the RR type in an rrsets key (0 if it is too short to have one) */
static uint16_t key_type(const MDB_val *k)
{
    return k->mv_size >= 9 ? zs_get16((const uint8_t *)k->mv_data + k->mv_size - 4) : 0;
}

static MDB_dbi dbi_of(int db)
{
    return db == 0 ? store->zones : db == 1 ? store->rrsets : db == 2 ? store->regions
                                                                    : store->journal;
}

static uint16_t add_region(zw_t *w, const char *name, const char *cidr, const char *country,
                           uint16_t parent, bool coords)
{
    zs_region_t *r = calloc(1, sizeof(*r));
    diag_t d = {0};
    if (!r) {
        abort();
    }
    snprintf(r->name, sizeof(r->name), "%s", name);
    if (zs_cidr_parse(cidr, &r->cidr[r->ncidr++]) != 0) {
        abort();
    }
    snprintf(r->country[r->ncountry++], 3, "%s", country);
    snprintf(r->subdiv[r->nsubdiv++], 8, "%s-X1", country);
    r->parent = parent;
    r->has_coords = coords;
    r->lat = coords ? 51.5 : 0;
    r->lon = coords ? -0.12 : 0;
    if (zw_region_put(w, r, &d) != 0) {
        fz_fail("region %s: %s", name, d.text);
    }
    uint16_t id = r->id;
    free(r);
    return id;
}

static void add_a(zw_t *w, const char *zone, const char *owner, uint16_t region, uint8_t last)
{
    uint8_t apex[256], o[256], a[4] = {192, 0, 2, last};
    zw_zone_t z;
    tz_wire(zone, apex);
    tz_wire(owner, o);
    if (zw_zone_get(store, w->txn, apex, &z) != 0 ||
        zw_rr_add(w, &z, o, DNS_T_A, region, 300, a, 4) != 0) {
        abort();
    }
}

/* copy every entry of the three sub-databases: the originals to restore */
static void collect(void)
{
    MDB_txn *txn;
    if (mdb_txn_begin(store->env, NULL, MDB_RDONLY, &txn) != 0) {
        abort();
    }
    for (int db = 0; db < 3; db++) {
        MDB_cursor *c;
        MDB_val k, v;
        if (mdb_cursor_open(txn, dbi_of(db), &c) != 0) {
            abort();
        }
        for (int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
             rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
            ents = realloc(ents, (nents + 1) * sizeof(*ents));
            entry_t *e = ents ? &ents[nents++] : NULL;
            if (!e || !(e->key.mv_data = malloc(k.mv_size)) ||
                !(e->val.mv_data = malloc(v.mv_size ? v.mv_size : 1))) {
                abort();
            }
            e->db = db;
            e->key.mv_size = k.mv_size;
            e->val.mv_size = v.mv_size;
            memcpy(e->key.mv_data, k.mv_data, k.mv_size);
            memcpy(e->val.mv_data, v.mv_data, v.mv_size);
        }
        mdb_cursor_close(c);
    }
    mdb_txn_abort(txn);
}

static void cleanup(void)
{
    for (size_t i = 0; i < nents; i++) {
        free(ents[i].key.mv_data);
        free(ents[i].val.mv_data);
    }
    free(ents);
    geo_state_free(geo0);
    zr_fini(&rd);
    zs_close(store);
}

/* ---- the seed corpus ---- */

static void seed(const char *dir, const char *name, uint8_t b0, uint8_t b1, const void *p1,
                 size_t l1, const void *p2, size_t l2)
{
    char path[512];
    uint8_t *buf = malloc(2 + l1 + l2);
    if (!buf) {
        abort();
    }
    buf[0] = b0;
    buf[1] = b1;
    memcpy(buf + 2, p1, l1);
    if (l2) {
        memcpy(buf + 2 + l1, p2, l2);
    }
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    fz_write(path, buf, 2 + l1 + l2);
    free(buf);
}

/* a copy of entry @p i's value with @p fn applied, as a seed */
static void damaged(const char *dir, size_t i, const char *what, size_t cut, int at, int xor)
{
    char name[128];
    const entry_t *e = &ents[i];
    size_t len = e->val.mv_size > cut ? e->val.mv_size - cut : 0;
    uint8_t *v = malloc(len + 1);
    if (!v) {
        abort();
    }
    memcpy(v, e->val.mv_data, len);
    if (at >= 0 && (size_t)at < len) {
        v[at] ^= (uint8_t)xor;
    }
    snprintf(name, sizeof(name), "%c%03zu-%s", "zrg"[e->db], i, what);
    seed(dir, name, 0, (uint8_t)i, v, len, NULL, 0);
    free(v);
}

static void write_seeds(const char *dir)
{
    char name[64];
    for (size_t i = 0; i < nents && i < 256; i++) {
        const entry_t *e = &ents[i];
        snprintf(name, sizeof(name), "%c%03zu-as-is", "zrg"[e->db], i);
        seed(dir, name, 0, (uint8_t)i, e->val.mv_data, e->val.mv_size, NULL, 0);
        bool first_of_db = i == 0 || ents[i - 1].db != e->db;
        zs_rrset_t rr;
        bool multi = e->db == 1 &&
                     zs_rrset_decode(e->val.mv_data, e->val.mv_size, key_type(&e->key), &rr) &&
                     rr.count > 1 && rr.count < 5;
        if (first_of_db || multi || e->db != 1) {
            damaged(dir, i, "short", 1, -1, 0);
            damaged(dir, i, "format", 0, 0, 0x02);
            damaged(dir, i, "len-byte", 0, e->db == 1 ? 9 : e->db == 0 ? 5 : 20, 0x40);
            damaged(dir, i, "count", 0, e->db == 1 ? 7 : e->db == 0 ? 6 : 21, 0x01);
            damaged(dir, i, "empty", e->val.mv_size, -1, 0);
        }
    }
    /* a value shaped as a rollout's split entry (zones/rollout.h) on the first entry */
    static const uint8_t ro[ZS_ROLLOUT_VALUE_LEN] = {1, 0, 0, 7, 0x01, 0xf4, 24, 56, 1, 2, 3, 4,
                                                     5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    seed(dir, "z000-rollout-shape", 0, 0, ro, sizeof(ro), NULL, 0);
    /* new keys: (mode 0x80 | db) (key length) key value */
    static const uint8_t a_rr[] = {1, 0, 0, 0, 1, 44, 0, 1, 0, 4, 192, 0, 2, 9};
    static const uint8_t k_ok[] = {0, 0, 0, 1, 'n', 'e', 'w', 0, 0, 0, 1, 0, 0};
    static const uint8_t k_noend[] = {0, 0, 0, 1, 'n', 'e', 'w', 0, 1, 0, 0};
    static const uint8_t k_region[] = {0, 0, 0, 1, 'w', 'w', 'w', 0, 0, 0, 1, 0, 9};
    static const uint8_t k_deep[] = {0, 0, 0, 1, 'x', 0, 'y', 0, 'z', 0, 0, 0, 2, 0, 0};
    static const uint8_t k_esc[] = {0, 0, 0, 1, 1, 3, 0, 0, 0, 1, 0, 0};
    static const uint8_t k_zone9[] = {0, 0, 0, 9, 0, 0, 6, 0, 0};
    static const uint8_t z_key[] = {'t', 'e', 's', 't', 0, 'o', 't', 'h', 'e', 'r', 0};
    static const uint8_t z_val[] = {0, 0, 0, 9, 0, 12, 5, 'o', 't', 'h', 'e', 'r', 4,
                                    't', 'e', 's', 't', 0};
    static const uint8_t g_key[] = {0, 9};
    struct {
        const char *name;
        uint8_t db;
        const uint8_t *k, *v;
        size_t kl, vl;
    } nk[] = {
        {"new-rrset", 1, k_ok, a_rr, sizeof(k_ok), sizeof(a_rr)},
        {"new-rrset-no-end", 1, k_noend, a_rr, sizeof(k_noend), sizeof(a_rr)},
        {"new-rrset-no-region", 1, k_region, a_rr, sizeof(k_region), sizeof(a_rr)},
        {"new-rrset-deep", 1, k_deep, a_rr, sizeof(k_deep), sizeof(a_rr)},
        {"new-rrset-escape", 1, k_esc, a_rr, sizeof(k_esc), sizeof(a_rr)},
        {"new-rrset-no-zone", 1, k_zone9, a_rr, sizeof(k_zone9), sizeof(a_rr)},
        {"new-zone", 0, z_key, z_val, sizeof(z_key), sizeof(z_val)},
        {"new-region-copy", 2, g_key, NULL, sizeof(g_key), 0},
    };
    for (size_t i = 0; i < sizeof(nk) / sizeof(nk[0]); i++) {
        const void *v = nk[i].v;
        size_t vl = nk[i].vl;
        if (!v) { /* a copy of the last region's value under another id */
            v = ents[nents - 1].val.mv_data;
            vl = ents[nents - 1].val.mv_size;
        }
        seed(dir, nk[i].name, (uint8_t)(0x80 | nk[i].db), (uint8_t)nk[i].kl, nk[i].k, nk[i].kl,
             v, vl);
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    store = tz_build(fz_tmpdir("store"));
    mdb_env_set_flags(store->env, MDB_NOSYNC, 1); /* a scratch store: nothing to keep */
    zw_t w;
    if (zw_begin(store, &w) != 0) {
        abort();
    }
    uint16_t eu = add_region(&w, "eu", "198.51.100.0/24", "DE", 0, false);
    uint16_t euw = add_region(&w, "eu-west", "2001:db8:1::/48", "GB", eu, true);
    add_a(&w, "example.test.", "www.example.test.", eu, 101);
    add_a(&w, "example.test.", "www.example.test.", euw, 102);
    add_a(&w, "example.test.", "ns1.example.test.", euw, 153);
    if (zw_commit(&w, NULL) != 0 || zr_init(&rd, store) != 0) {
        abort();
    }
    collect();
    diag_t d = {0};
    if (!(geo0 = geo_state_build(store, NULL, NULL, &d))) {
        fz_fail("geo_state_build: %s", d.text);
    }
    atexit(cleanup);
    const char *sd = getenv("FUZZ_STORE_WRITE_SEEDS");
    if (sd && *sd) {
        write_seeds(sd);
        exit(0);
    }
    return 0;
}

/* ---- 1. the decoders alone ---- */

static void check_rrset(const uint8_t *v, size_t len, uint16_t type)
{
    zs_rrset_t rr;
    if (zs_rrset_decode(v, len, type, &rr)) {
        size_t off = 0;
        const uint8_t *d;
        uint16_t l;
        unsigned n = 0;
        while (zf_rrset_next(&rr, &off, &d, &l)) {
            if (d < v + ZS_RRSET_HDR || d + l > v + len) {
                fz_fail("rrset: rdata %u lies outside the value", n);
            }
            n++;
        }
        size_t sig_part = rr.nsig ? 2 + rr.sigs_len : 0;
        if (rr.count == 0 || n != rr.count || off != rr.rdata_len || rr.rdata != v + 8 ||
            rr.rdata_len + sig_part != len - 8 || rr.ttl != zs_get32(v + 2) ||
            (rr.nsig && rr.sigs != v + 8 + rr.rdata_len + 2)) {
            fz_fail("rrset: count %u, walked %u, %zu of %zu bytes", rr.count, n, off,
                    rr.rdata_len);
        }
    }
}

/* @p type: the RR type of the entry the value is for, 0 if none */
static void check_decoders(const uint8_t *v, size_t len, uint16_t type)
{
    static const uint16_t types[] = {1, 2, 6, 15, 16, 28};
    check_rrset(v, len, type);
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        check_rrset(v, len, types[i]);
    }
    zs_zone_t z;
    if (zs_zone_decode(v, len, &z)) {
        if (z.apex != v + ZS_ZONE_HDR || ZS_ZONE_HDR + z.apex_len != len ||
            dname_wire_len(z.apex, z.apex_len) != (int)z.apex_len ||
            z.apex_labels != dname_labels(z.apex) || z.id != zs_get32(v)) {
            fz_fail("zone: apex of %zu bytes in a value of %zu", z.apex_len, len);
        }
    }
    static zs_region_t r;
    static uint8_t back[ZS_REGION_VALUE_MAX];
    if (zs_region_decode(7, v, len, &r) == 0) {
        size_t bl = zs_region_encode(&r, back);
        if (bl != len || memcmp(back, v, len) != 0) {
            fz_fail("region: decodes, but encodes to %zu other bytes (of %zu)", bl, len);
        }
    }
    /* a rollout's canary split entry (zones/rollout.h): what decodes is in
     * range and encodes to the same bytes */
    zs_rollout_t ro;
    if (zs_rollout_decode(v, len, &ro)) {
        uint8_t rb[ZS_ROLLOUT_VALUE_LEN];
        zs_rollout_encode(&ro, rb);
        if (len != ZS_ROLLOUT_VALUE_LEN || memcmp(rb, v, len) != 0 || ro.canary == 0 ||
            ro.permyriad > ZS_ROLLOUT_PERMYRIAD || ro.prefix4 < 8 || ro.prefix4 > 32 ||
            ro.prefix6 < 16 || ro.prefix6 > 128) {
            fz_fail("rollout: decodes out of range or encodes to other bytes");
        }
        uint8_t addr[16] = {10, 1, 2, 3};
        if (zs_rollout_bucket(&ro, AF_INET, addr) >= ZS_ROLLOUT_PERMYRIAD ||
            zs_rollout_bucket(&ro, AF_INET6, addr) >= ZS_ROLLOUT_PERMYRIAD) {
            fz_fail("rollout: a bucket past 9999");
        }
    }
}

/* ---- 2. every reader on the damaged store ---- */

/* a query for NAME TYPE (EDNS with ECS ADDR/PREFIX when @p ecs) into @p q; returns its length */
static size_t make_query(uint8_t *q, const char *name, uint16_t type, const char *ecs)
{
    size_t o = 12;
    memset(q, 0, 12);
    put16(q, 0x4242);
    put16(q + 4, 1);
    o += (size_t)tz_wire(name, q + o);
    put16(q + o, type);
    put16(q + o + 2, DNS_C_IN);
    o += 4;
    if (!ecs) {
        return o;
    }
    put16(q + 10, 1);
    q[o] = 0;
    put16(q + o + 1, DNS_T_OPT);
    put16(q + o + 3, 1232);
    memset(q + o + 5, 0, 4);
    size_t rdl = o + 9;
    o += 11;
    char ip[64];
    const char *slash = strchr(ecs, '/');
    snprintf(ip, sizeof(ip), "%.*s", (int)(slash - ecs), ecs);
    int plen = atoi(slash + 1), fam = strchr(ip, ':') ? 2 : 1;
    uint8_t addr[16] = {0};
    inet_pton(fam == 1 ? AF_INET : AF_INET6, ip, addr);
    size_t alen = (size_t)(plen + 7) / 8;
    put16(q + o, 8); /* ECS */
    put16(q + o + 2, (uint16_t)(4 + alen));
    put16(q + o + 4, (uint16_t)fam);
    q[o + 6] = (uint8_t)plen;
    q[o + 7] = 0;
    memcpy(q + o + 8, addr, alen);
    put16(q + rdl, (uint16_t)(8 + alen));
    return o + 8 + alen;
}

/* @p regions_changed: rebuild the geo snapshot from the store (slow: only then) */
static void check_answers(bool regions_changed)
{
    static const struct {
        const char *name;
        uint16_t type;
        const char *ecs;
    } qs[] = {
        {"www.example.test.", DNS_T_A, NULL},
        {"www.example.test.", DNS_T_A, "198.51.100.7/32"},
        {"www.example.test.", DNS_T_A, "2001:db8:1::/48"},
        {"ns1.example.test.", DNS_T_A, "2001:db8:1::/56"},
        {"example.test.", DNS_T_MX, NULL},
        {"example.test.", DNS_T_NS, "198.51.100.0/24"},
        {"example.test.", DNS_T_SOA, NULL},
        {"example.test.", DNS_T_ANY, "0.0.0.0/0"},
        {"nope.example.test.", DNS_T_A, NULL},
        {"b.ent.example.test.", DNS_T_A, NULL},
        {"x.y.wild.example.test.", DNS_T_A, NULL},
        {"host.wild.example.test.", DNS_T_A, NULL},
        {"c1.example.test.", DNS_T_A, NULL},
        {"l1.example.test.", DNS_T_A, NULL},
        {"out.example.test.", DNS_T_A, NULL},
        {"host.sub.example.test.", DNS_T_A, "198.51.100.9/32"},
        {"big.example.test.", 16 /* TXT */, NULL},
        {"host.deep.example.test.", DNS_T_A, NULL},
        {"www.nowhere.test.", DNS_T_A, NULL},
    };
    diag_t d = {0};
    /* a damaged region makes the build fail: dnsd then keeps no geo table (NULL) */
    geo_state_t *g = regions_changed ? geo_state_build(store, NULL, NULL, &d) : geo0;
    answer_ctx_t a = {.rd = &rd, .udp_max = ANSWER_UDP_MAX_DEFAULT, .geo = g};
    uint8_t q[512];
    for (size_t i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
        size_t ql = make_query(q, qs[i].name, qs[i].type, qs[i].ecs);
        for (int tcp = 0; tcp < 2; tcp++) {
            a.rd_ok = zr_begin(&rd) == 0;
            size_t len = answer_query(&a, q, ql, out, tcp ? ANSWER_TCP_MAX : 4096, tcp, NULL);
            zr_end(&rd);
            const char *why = fz_check_response(out, len);
            if (len == 0 || why || get16(out) != 0x4242 || !(out[2] & 0x80) ||
                (!tcp && !(out[2] & 0x02) && len > (qs[i].ecs ? 1232u : 512u))) {
                fz_fail("%s/%u%s: reply of %zu bytes: %s", qs[i].name, qs[i].type,
                        tcp ? " over TCP" : "", len, why ? why : "header or size");
            }
        }
    }
    if (g != geo0) {
        geo_state_free(g);
    }
}

static int noop_rrset(const uint8_t *owner, const zs_rrset_t *rr, void *arg)
{
    (void)owner;
    (void)rr;
    (void)arg;
    return 0;
}

/* a journal entry handed out must hold exactly its records, each inside it */
static int walk_entry(const zj_entry_t *e, void *arg)
{
    (void)arg;
    size_t off = 0, n = 0;
    zj_rr_t rr;
    while (zj_rr_next(e, &off, &rr)) {
        if (off > e->recs_len || rr.rdata + rr.rdlen > e->recs + e->recs_len ||
            dname_wire_len(rr.owner, DNAME_MAXLEN + 1) < 1) {
            fz_fail("journal record %zu runs past its entry", n);
        }
        n++;
    }
    if (n != (size_t)e->ndel + e->nadd + 2) {
        fz_fail("journal entry: %zu records, header says %u + %u + 2", n, e->ndel, e->nadd);
    }
    return 0;
}

static int noop_zone(const zw_zone_t *z, void *arg)
{
    (void)z;
    (void)arg;
    return 0;
}

/* must be 0 or a negative error; DNSD_ESTORE when @p refused says the damage is read */
static void expect(const char *what, int err, bool refused)
{
    if (err > 0 || (refused && err != DNSD_ESTORE)) {
        fz_fail("%s returned %d (%s) on %s", what, err, dnsd_strerror(err),
                refused ? "a refused value" : "the store");
    }
}

/*
 * @p e: the entry changed (NULL when a new key was added); @p ok: its
 * decoder accepted the new value. A refused value must surface as
 * DNSD_ESTORE from the readers that read it whole: the zone lookup for a
 * zone value, the RRset walk of its zone for an RRset value, the region
 * list for a region value.
 */
static void check_slow_path(const entry_t *e, bool ok)
{
    MDB_txn *txn;
    zw_t w;
    if (zw_begin(store, &w) != 0) {
        abort();
    }
    txn = w.txn;
    expect("zw_foreach_zone", zw_foreach_zone(store, txn, noop_zone, NULL),
           e && e->db == 0 && !ok);
    zs_region_t *rs = NULL;
    size_t n = 0;
    expect("zs_regions_load", zs_regions_load(store, txn, &rs, &n), e && e->db == 2 && !ok);
    free(rs);
    for (size_t i = 0; i < sizeof(zone_names) / sizeof(zone_names[0]); i++) {
        uint8_t apex[256];
        zw_zone_t z;
        dname_key_t k;
        tz_wire(zone_names[i], apex);
        dname_key_build(apex, &k);
        bool this_zone = e && e->db == 0 && e->key.mv_size == k.len &&
                         memcmp(e->key.mv_data, k.key, k.len) == 0;
        int err = zw_zone_get(store, txn, apex, &z);
        expect("zw_zone_get", err, this_zone && !ok);
        if (err) {
            continue;
        }
        bool its_rrset = e && e->db == 1 && e->key.mv_size >= 4 &&
                         zs_get32(e->key.mv_data) == z.id;
        expect("zw_foreach_rrset", zw_foreach_rrset(store, txn, &z, noop_rrset, NULL),
               its_rrset && !ok);
        uint32_t serial = 0;
        expect("zw_soa_serial", zw_soa_serial(store, txn, &z, &serial), false);
        diag_t d = {0};
        expect("zw_check_zone", zw_check_zone(&w, &z, &d), its_rrset && !ok);
        FILE *f = fopen("/dev/null", "w");
        if (!f) {
            abort();
        }
        expect("zf_export_all", zf_export_all(store, txn, &z, f, &d), its_rrset && !ok);
        fclose(f);
        int je = zj_foreach(store, txn, z.id, walk_entry, NULL);
        if (je != 0 && je != DNSD_ESTORE) {
            fz_fail("zj_foreach: %s", dnsd_strerror(je));
        }
        je = zj_changes(store, txn, z.id, serial - 1u, serial, walk_entry, NULL);
        if (je != 0 && je != DNSD_ESTORE && je != DNSD_ERANGE) {
            fz_fail("zj_changes: %s", dnsd_strerror(je));
        }
    }
    zw_abort(&w);
}

static void put(int db, MDB_val *k, MDB_val *v, bool del)
{
    zw_t w;
    if (zw_begin(store, &w) != 0) {
        abort();
    }
    int rc = del ? mdb_del(w.txn, dbi_of(db), k, NULL) : mdb_put(w.txn, dbi_of(db), k, v, 0);
    if (rc || zw_commit(&w, NULL) != 0) {
        fz_fail("cannot %s an entry: %s", del ? "delete" : "write", mdb_strerror(rc));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2 || size > VALUE_MAX) {
        return 0;
    }
    const entry_t *e = NULL;
    int db;
    MDB_val k, v;
    bool existed = false;
    entry_t *orig = NULL;
    if (data[0] < 0x80) {
        e = &ents[data[1] % nents];
        db = e->db;
        k = e->key;
        v.mv_data = (void *)(data + 2);
        v.mv_size = size - 2;
    } else {
        db = data[0] & 3;
        size_t kl = data[1];
        if (kl == 0 || kl > size - 2 || kl > (size_t)mdb_env_get_maxkeysize(store->env)) {
            return 0;
        }
        k.mv_data = (void *)(data + 2);
        k.mv_size = kl;
        v.mv_data = (void *)(data + 2 + kl);
        v.mv_size = size - 2 - kl;
        for (size_t i = 0; i < nents && !orig; i++) {
            if (ents[i].db == db && ents[i].key.mv_size == kl &&
                memcmp(ents[i].key.mv_data, k.mv_data, kl) == 0) {
                orig = &ents[i];
            }
        }
        existed = orig != NULL;
    }
    check_decoders(v.mv_data, v.mv_size, db == 1 ? key_type(&k) : 0);
    /* did the decoder of this entry's kind accept the value? */
    bool ok = true;
    if (e) {
        zs_rrset_t rr;
        zs_zone_t z;
        static zs_region_t r;
        ok = db == 0   ? zs_zone_decode(v.mv_data, v.mv_size, &z) &&
                             z.apex_labels == dname_labels(z.apex)
             : db == 1 ? zs_rrset_decode(v.mv_data, v.mv_size, key_type(&k), &rr)
                       : zs_region_decode(zs_get16(k.mv_data), v.mv_data, v.mv_size, &r) == 0;
    }
    put(db, &k, &v, false);
    check_answers(db == 2);
    check_slow_path(e, ok);
    /* restore */
    if (e) {
        put(db, &k, (MDB_val *)&e->val, false);
    } else if (existed) {
        put(db, &k, &orig->val, false);
    } else {
        put(db, &k, NULL, true);
    }
    return 0;
}
