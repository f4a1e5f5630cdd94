/* SPDX-License-Identifier: MIT */
/*
 * fuzz_repl_entry.c -- libFuzzer target for the replication entry checker
 * and applier (zones/repl.c: zr_check(), zr_apply()), what a cluster node
 * does with each entry of the log. The input is one entry; the scratch
 * store is the test store (tests/testzone.c). Per input, in a write txn
 * that is then aborted (so every run starts from the same store):
 *  - zr_check() and zr_apply() agree: an entry the check refuses is
 *    DNSD_EMALFORMED from both, with a message, and the txn still equals
 *    the store (zr_compare against a read txn): nothing was written;
 *  - an entry the check accepts applies (0, or an LMDB error such as a
 *    full map, never DNSD_EMALFORMED), and then each key's last op holds:
 *    a put's value is there byte for byte, a deleted key is absent;
 *  - zr_check() takes a NULL diag.
 * Without --enable-fuzzing, replay.c's main() runs the seed corpus. With
 * $FUZZ_REPL_WRITE_SEEDS=DIR it writes its seed corpus to DIR and exits
 * (tests/fuzz/make_seeds.py repl_entry): the test store's snapshot in
 * small entries, the same keys deleted, and malformed shapes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz_util.h"
#include "tests/testzone.h"
#include "zones/base/err.h"
#include "zones/base/xalloc.h"
#include "zones/repl.h"

#define INPUT_MAX   (64 * 1024)
#define CHECK_OPS   512 /* the last-op check is quadratic: only up to this many ops */

static zs_store_t *st;

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* op at *off of a checked entry: fills the fields, moves *off past it */
static void op_at(const uint8_t *e, size_t *off, unsigned *op, unsigned *db, MDB_val *k,
                  MDB_val *v)
{
    size_t p = *off;
    *op = e[p];
    *db = e[p + 1];
    k->mv_size = (size_t)e[p + 2] << 8 | e[p + 3];
    k->mv_data = (void *)(e + p + 4);
    p += 4 + k->mv_size;
    v->mv_size = be32(e + p);
    v->mv_data = (void *)(e + p + 4);
    *off = p + 4 + v->mv_size;
}

static MDB_dbi dbi_of(unsigned db)
{
    MDB_dbi h[ZR_DB_COUNT] = {st->meta,    st->zones, st->rrsets,    st->regions, st->certs,
                              st->journal, st->tsig,  st->xfrout, st->secondary, st->upolicy,
                              st->dnssec,  st->rollout};
    return h[db];
}

/* every key's last op in the entry holds in @p txn */
static void check_applied(MDB_txn *txn, const uint8_t *e, size_t len)
{
    uint32_t nops = be32(e + 4);
    if (nops > CHECK_OPS) {
        return;
    }
    size_t off = 8;
    for (uint32_t i = 0; i < nops; i++) {
        unsigned op, db, op2, db2;
        MDB_val k, v, k2, v2, got;
        op_at(e, &off, &op, &db, &k, &v);
        bool last = true;
        for (size_t o2 = off; o2 < len && last;) {
            op_at(e, &o2, &op2, &db2, &k2, &v2);
            last = !(db2 == db && k2.mv_size == k.mv_size &&
                     memcmp(k2.mv_data, k.mv_data, k.mv_size) == 0);
        }
        if (!last) {
            continue;
        }
        int rc = mdb_get(txn, dbi_of(db), &k, &got);
        if (op == ZR_OP_DEL && rc != MDB_NOTFOUND) {
            fz_fail("op %u: a deleted key is still there (%d)", i + 1, rc);
        }
        if (op == ZR_OP_PUT && (rc != 0 || got.mv_size != v.mv_size ||
                                memcmp(got.mv_data, v.mv_data, v.mv_size) != 0)) {
            fz_fail("op %u: the value put is not there (%d)", i + 1, rc);
        }
    }
}

/* the seed corpus: snapshot entries of the test store, deletes, damage */
typedef struct seeds {
    const char *dir;
    int n;
} seeds_t;

static void seed(seeds_t *sd, const char *what, const uint8_t *e, size_t len)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/%s-%03d", sd->dir, what, sd->n++);
    fz_write(path, e, len);
}

static int seed_out(void *arg, const uint8_t *e, size_t len)
{
    seeds_t *sd = arg;
    if (len > INPUT_MAX) {
        return 0;
    }
    seed(sd, "snap", e, len);
    /* the same keys deleted */
    uint8_t *del = xmalloc(len);
    uint32_t nops = be32(e + 4);
    size_t off = 8, dl = 8;
    memcpy(del, e, 8);
    for (uint32_t i = 0; i < nops; i++) {
        unsigned op, db;
        MDB_val k, v;
        op_at(e, &off, &op, &db, &k, &v);
        del[dl++] = ZR_OP_DEL;
        del[dl++] = (uint8_t)db;
        del[dl++] = (uint8_t)(k.mv_size >> 8);
        del[dl++] = (uint8_t)k.mv_size;
        memcpy(del + dl, k.mv_data, k.mv_size);
        dl += k.mv_size;
        memset(del + dl, 0, 4);
        dl += 4;
    }
    seed(sd, "del", del, dl);
    if (sd->n < 8) { /* damaged copies of the first few: cut, bad db, bad count */
        seed(sd, "cut", e, len / 2);
        memcpy(del, e, len);
        del[9] = ZR_DB_COUNT;
        seed(sd, "baddb", del, len);
        del[9] = e[9];
        del[7] ^= 1;
        seed(sd, "count", del, len);
    }
    free(del);
    return 0;
}

static void write_seeds(const char *dir)
{
    seeds_t sd = {dir, 0};
    MDB_txn *t;
    if (zs_read_begin(st, &t) != 0 || zr_snapshot(st, t, 600, seed_out, &sd) != 0) {
        fz_fail("cannot snapshot the test store");
    }
    zs_read_end(st, t);
    static const uint8_t local[] = {1, 0, 0, 0, 0, 0, 0, 1, 1, ZR_DB_META, 0, 10,
                                    'g', 'e', 'n', 'e', 'r', 'a', 't', 'i', 'o', 'n',
                                    0, 0, 0, 1, 'x'};
    seed(&sd, "local", local, sizeof(local));
    static const uint8_t empty[] = {1, 0, 0, 0, 0, 0, 0, 0};
    seed(&sd, "empty", empty, sizeof(empty));
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    st = tz_build(fz_tmpdir("repl"));
    const char *dir = getenv("FUZZ_REPL_WRITE_SEEDS");
    if (dir) {
        write_seeds(dir);
        exit(0);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > INPUT_MAX) {
        return 0;
    }
    diag_t d = {0};
    int c = zr_check(data, size, &d);
    if (c != 0 && (c != DNSD_EMALFORMED || !d.text[0])) {
        fz_fail("zr_check: %d without a message", c);
    }
    if (zr_check(data, size, NULL) != c) {
        fz_fail("zr_check with a NULL diag says otherwise");
    }
    MDB_txn *w, *r;
    if (zs_write_begin(st, &w) != 0 || zs_read_begin(st, &r) != 0) {
        fz_fail("cannot begin txns");
    }
    memset(&d, 0, sizeof(d));
    int a = zr_apply(st, w, data, size, &d);
    if (c != 0) {
        if (a != c) {
            fz_fail("zr_check %d but zr_apply %d", c, a);
        }
        diag_t cd = {0};
        if (zr_compare(st, w, st, r, &cd) != 0) {
            fz_fail("a refused entry wrote something: %s: %s", cd.file, cd.text);
        }
    } else if (a == DNSD_EMALFORMED) {
        fz_fail("zr_check accepts, zr_apply refuses: %s", d.text);
    } else if (a == 0) {
        check_applied(w, data, size);
    }
    zs_read_end(st, r);
    zs_write_abort(st, w);
    return 0;
}
