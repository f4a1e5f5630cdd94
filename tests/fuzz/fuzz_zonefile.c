/* SPDX-License-Identifier: MIT */
/*
 * fuzz_zonefile.c -- libFuzzer target for zone-file import: the input is a
 * master file, read by zf_import() (zones/import.c, the code behind `dnsctl
 * zone import`) into a new zone example.test. of a scratch store, as dnsctl
 * does it: import, zw_check_zone(), then the write txn is aborted, so every
 * run starts from the same store. Checks what must hold for any input:
 *
 *  - an error carries a message and a file name (import.h: every error
 *    names a location);
 *  - after a successful import, records read = stored + duplicates, and the
 *    zone holds exactly the records stored, each RRset value well formed;
 *  - a zone that zw_check_zone() accepts exports (zf_export_all()), the
 *    export imports back, passes the check again and exports to the same
 *    bytes (export.h's promise).
 *
 * $INCLUDE: the store and the input file live in a private temp directory
 * with a few fixed files to include (inc.zone, loop.zone, region.zone); an
 * input containing a '/' byte is imported with ZF_NO_INCLUDE, so an include
 * path (relative to the input's directory, and a subset of the input's
 * bytes) can only name a file in that directory: nothing else is read.
 * The store has regions eu and eu-west (falls back to eu) for $REGION; an
 * input of odd length is imported with ZF_ANY_REGION as `dnsctl check` does
 * (an unknown $REGION name is defined in the txn, aborted with it).
 * Without --enable-fuzzing, replay.c's main() runs the seed corpus.
 */
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz_util.h"
#include "zones/base/err.h"
#include "zones/export.h"
#include "zones/import.h"
#include "zones/regions.h"
#include "zones/writer.h"

#define INPUT_MAX (256 * 1024) /* bigger inputs only slow the search down */

static zs_store_t *store;
static char in_path[128], rt_path[128];
static const uint8_t apex[] = "\x07" "example" "\x04" "test";

static void add_region(zw_t *w, const char *name, const char *cont, uint16_t parent)
{
    zs_region_t *r = calloc(1, sizeof(*r));
    diag_t d = {0};
    if (!r) {
        abort();
    }
    snprintf(r->name, sizeof(r->name), "%s", name);
    snprintf(r->cont[r->ncont++], 3, "%s", cont);
    r->parent = parent;
    if (zw_region_put(w, r, &d) != 0) {
        fz_fail("region %s: %s", name, d.text);
    }
    free(r);
}

static void cleanup(void)
{
    zs_close(store);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *dir = fz_tmpdir("zonefile");
    char path[128];
    diag_t d = {0};
    zw_t w;
    snprintf(path, sizeof(path), "%s/store", dir);
    if (zs_open(path, ZS_OPEN_CREATE, 0, &store, &d) != 0) {
        fz_fail("zs_open: %s", d.text);
    }
    mdb_env_set_flags(store->env, MDB_NOSYNC, 1); /* a scratch store: nothing to keep */
    if (zw_begin(store, &w) != 0) {
        abort();
    }
    add_region(&w, "eu", "EU", 0);
    add_region(&w, "eu-west", "AF", 1);
    if (zw_commit(&w, NULL) != 0) {
        abort();
    }
    atexit(cleanup);
    /* the files an input may $INCLUDE (see the header) */
    static const struct {
        const char *name, *text;
    } inc[] = {
        {"inc.zone", "inc A 192.0.2.7\n$ORIGIN sub\nx 60 AAAA 2001:db8::7\n"},
        {"loop.zone", "$INCLUDE loop.zone\n"},
        {"region.zone", "$REGION eu\nwww A 192.0.2.9\n"},
    };
    for (size_t i = 0; i < sizeof(inc) / sizeof(inc[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, inc[i].name);
        fz_write(path, inc[i].text, strlen(inc[i].text));
    }
    snprintf(in_path, sizeof(in_path), "%s/in.zone", dir);
    snprintf(rt_path, sizeof(rt_path), "%s/export.zone", dir);
    return 0;
}

struct tally {
    unsigned long records;
};

static int count_cb(const uint8_t *owner, const zs_rrset_t *rr, void *arg)
{
    (void)owner;
    zs_rrset_t again;
    /* zw_foreach_rrset() decoded it; the lengths must add up */
    size_t off = 0;
    const uint8_t *rd;
    uint16_t rl, n = 0;
    while (zf_rrset_next(rr, &off, &rd, &rl)) {
        if (rd < rr->rdata || rd + rl > rr->rdata + rr->rdata_len) {
            fz_fail("rdata outside its RRset value");
        }
        n++;
    }
    if (n != rr->count || off != rr->rdata_len ||
        !zs_rrset_decode(rr->rdata - ZS_RRSET_HDR,
                         rr->rdata_len + ZS_RRSET_HDR + (rr->nsig ? 2 + rr->sigs_len : 0),
                         rr->type, &again)) {
        fz_fail("stored RRset: count %u, walked %u", rr->count, n);
    }
    ((struct tally *)arg)->records += rr->count;
    return 0;
}

/* zf_export_all() into a heap string; aborts unless it succeeds */
static char *export_zone(zw_t *w, const zw_zone_t *z, size_t *len)
{
    char *buf = NULL;
    diag_t d = {0};
    FILE *f = open_memstream(&buf, len);
    if (!f) {
        abort();
    }
    int err = zf_export_all(w->s, w->txn, z, f, &d);
    fclose(f);
    if (err) {
        fz_fail("export of an accepted zone failed: %s: %s", dnsd_strerror(err), d.text);
    }
    return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > INPUT_MAX) {
        return 0;
    }
    fz_write(in_path, data, size);
    zw_t w;
    zw_zone_t z;
    diag_t d = {0};
    zf_import_stats_t st;
    struct tally t = {0};
    char *ex1 = NULL, *ex2 = NULL;
    size_t l1 = 0, l2 = 0;
    if (zw_begin(store, &w) != 0 || zw_zone_create(&w, apex, &z) != 0) {
        abort();
    }
    unsigned any = (size & 1) ? ZF_ANY_REGION : 0;
    zf_import_opts_t o = {ZS_REGION_DEFAULT, 3600,
                          (memchr(data, '/', size) ? ZF_NO_INCLUDE : 0) | any, NULL};
    int err = zf_import(&w, &z, in_path, &o, &st, &d);
    if (err) {
        if (err > 0 || !d.text[0] || !d.file[0]) {
            fz_fail("import error %d without a location: \"%s\" \"%s\"", err, d.file, d.text);
        }
        goto out;
    }
    if (st.records != st.added + st.duplicates) {
        fz_fail("%lu records read, %lu stored, %lu duplicates", st.records, st.added,
                st.duplicates);
    }
    if ((err = zw_foreach_rrset(store, w.txn, &z, count_cb, &t)) != 0) {
        fz_fail("the imported zone does not read back: %s", dnsd_strerror(err));
    }
    if (t.records != st.added) {
        fz_fail("%lu records stored, %lu in the zone", st.added, t.records);
    }
    if (zw_check_zone(&w, &z, &d) != 0) {
        goto out; /* dnsctl refuses it here */
    }
    /* round trip: export, import that, check, export again: the same bytes */
    ex1 = export_zone(&w, &z, &l1);
    fz_write(rt_path, ex1, l1);
    if ((err = zw_zone_clear(&w, &z, 0, true)) != 0) {
        abort();
    }
    o.flags = ZF_NO_INCLUDE | any;
    if ((err = zf_import(&w, &z, rt_path, &o, &st, &d)) != 0 ||
        (err = zw_check_zone(&w, &z, &d)) != 0) {
        fz_fail("the export does not import back: %s:%d: %s\n%s", d.file, d.line, d.text, ex1);
    }
    ex2 = export_zone(&w, &z, &l2);
    if (l1 != l2 || memcmp(ex1, ex2, l1) != 0) {
        fz_fail("export, import, export differ:\n%s\n----\n%s", ex1, ex2);
    }
out:
    zw_abort(&w);
    free(ex1);
    free(ex2);
    return 0;
}
