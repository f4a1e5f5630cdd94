/* SPDX-License-Identifier: MIT */
/*
 * fuzz_update.c -- libFuzzer target for RFC 2136 UPDATE (zones/update.c):
 * upd_parse() on any bytes, then upd_apply() against the test store
 * (tests/testzone.c) with update policies: an address rule (127.0.0.0/8,
 * anything in example.test), a key rule (TXT at _acme-challenge.*) and a
 * key bound to region eu.
 *
 * Input: byte 0 picks the requester (bits 0-1: unsigned from 127.0.0.1,
 * key acme.key, key eu.key, unsigned from 10.0.0.1), the rest is the UPDATE
 * message. Checks what must hold for any input: a parsed message has valid
 * lower-case owner names and its RRs' rdata inside the arena; upd_apply()
 * returns 0 or a store error, and a refused or failed update leaves the
 * store as it was (generation unchanged), a committed one moves it once.
 * The store is rebuilt every REBUILD_EVERY commits so it stays small.
 * Without --enable-fuzzing, replay.c's main() runs the seed corpus
 * (tests/fuzz/make_seeds.py update).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz_util.h"
#include "tests/testzone.h"
#include "zones/base/err.h"
#include "zones/tsig.h"
#include "zones/update.h"
#include "zones/upolicy.h"
#include "zones/writer.h"

#define REBUILD_EVERY 2000

static zs_store_t *store;
static unsigned commits, builds;
static const char *top;

static void rule(zw_zone_t *z, MDB_txn *t, const char *key, const char *cidr, uint8_t match,
                 const char *what, uint16_t type, const char *region)
{
    upol_rule_t r;
    memset(&r, 0, sizeof(r));
    if (key) {
        tsig_key_t k;
        diag_t d = {0};
        if (tsig_key_parse(key, "hmac-sha256", "c2VjcmV0LXNlY3JldC1zZWNyZXQ=", &k, &d) != 0 ||
            tsig_key_put(store, t, &k) != 0) {
            abort();
        }
        r.flags |= UPOL_F_KEY;
        memcpy(r.key, k.name, k.name_len);
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
    if (type) {
        r.types[0] = type;
        r.ntypes = 1;
    }
    snprintf(r.region, sizeof(r.region), "%s", region ? region : "");
    if (upol_add(store, t, z->id, z->apex, &r) != 0) {
        abort();
    }
}

static void build(void)
{
    char dir[4200];
    zw_t w;
    zw_zone_t z;
    diag_t d = {0};
    zs_close(store);
    snprintf(dir, sizeof(dir), "%s/s%u", top, builds++);
    store = tz_build(dir); /* creates the directory */
    if (zw_begin(store, &w) != 0 || zw_zone_get(store, w.txn, tz_name("example.test"), &z) != 0) {
        abort();
    }
    zs_region_t reg;
    memset(&reg, 0, sizeof(reg));
    snprintf(reg.name, sizeof(reg.name), "eu");
    if (zw_region_put(&w, &reg, &d) != 0) {
        abort();
    }
    rule(&z, w.txn, NULL, "127.0.0.0/8", UPOL_M_SUBDOMAIN, "example.test", 0, NULL);
    rule(&z, w.txn, "acme.key", NULL, UPOL_M_PATTERN, "_acme-challenge.*", 16 /* TXT */, NULL);
    rule(&z, w.txn, "eu.key", NULL, UPOL_M_SUBDOMAIN, "example.test", 0, "eu");
    if (zw_commit(&w, &d) != 0) {
        abort();
    }
    commits = 0;
}

static void cleanup(void)
{
    zs_close(store);
}

static uint64_t generation(void)
{
    MDB_txn *t;
    uint64_t g = 0;
    if (mdb_txn_begin(store->env, NULL, MDB_RDONLY, &t) != 0) {
        abort();
    }
    zs_generation(store, t, &g);
    mdb_txn_abort(t);
    return g;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    top = fz_tmpdir("update"); /* removed at exit, after cleanup() */
    build();
    atexit(cleanup);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    upd_msg_t m;
    upd_result_t res;
    diag_t d = {0};
    if (size < 1) {
        return 0;
    }
    int err = upd_parse(data + 1, size - 1, &m, &d);
    if (err) {
        if (err != DNSD_EMALFORMED || !d.text[0] || m.pre || m.upd || m.arena) {
            fz_fail("upd_parse failed with %d (%s) and left data behind", err, d.text);
        }
        upd_msg_fini(&m);
        return 0;
    }
    if (dname_wire_len(m.zone, sizeof(m.zone)) < 1) {
        fz_fail("zone name is not a wire name");
    }
    for (size_t i = 0; i < m.npre + m.nupd; i++) {
        const upd_rr_t *rr = i < m.npre ? &m.pre[i] : &m.upd[i - m.npre];
        int l = dname_wire_len(rr->owner, sizeof(rr->owner));
        if (l < 1) {
            fz_fail("RR %zu: owner is not a wire name", i);
        }
        for (int k = 0; k < l; k++) {
            if (rr->owner[k] >= 'A' && rr->owner[k] <= 'Z') {
                fz_fail("RR %zu: owner not lower-cased", i);
            }
        }
        if (rr->rdlen && !rr->rdata) {
            fz_fail("RR %zu: rdata missing", i);
        }
        volatile uint8_t sink = 0;
        for (unsigned k = 0; k < rr->rdlen; k++) {
            sink ^= rr->rdata[k]; /* ASan: every rdata byte is readable */
        }
        (void)sink;
    }
    uint8_t kb[32];
    upol_who_t who;
    memset(&who, 0, sizeof(who));
    struct sockaddr_in *sin = (struct sockaddr_in *)&who.addr;
    sin->sin_family = AF_INET;
    unsigned sel = data[0] & 3;
    inet_pton(AF_INET, sel == 3 ? "10.0.0.1" : "127.0.0.1", &sin->sin_addr);
    if (sel == 1 || sel == 2) {
        tz_wire(sel == 1 ? "acme.key" : "eu.key", kb);
        who.key = kb;
    }
    uint64_t g0 = generation();
    err = upd_apply(store, &m, &who, &res);
    uint64_t g1 = generation();
    if (err && (res.rcode != UPD_R_SERVFAIL || !res.reason[0])) {
        fz_fail("store error %d without SERVFAIL and a reason", err);
    }
    if (!err && res.rcode != UPD_R_NOERROR && !res.reason[0]) {
        fz_fail("rcode %s without a reason", upd_rcode_str(res.rcode));
    }
    if (res.changed != (g1 == g0 + 1) || (!res.changed && g1 != g0)) {
        fz_fail("rcode %s changed=%d but the generation went %llu -> %llu (%s)",
                upd_rcode_str(res.rcode), res.changed, (unsigned long long)g0,
                (unsigned long long)g1, res.reason);
    }
    upd_msg_fini(&m);
    if (res.changed && ++commits >= REBUILD_EVERY) {
        build();
    }
    return 0;
}
