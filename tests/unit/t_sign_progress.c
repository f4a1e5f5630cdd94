/* SPDX-License-Identifier: MIT */
/*
 * t_sign_progress.c -- the progress callback of whole-zone signing
 * (zd_zone_t.progress, zw_t.progress; zones/dnssec.c): zd_zone_enable()
 * and zd_sign_all() on a zone of 3000 RRsets report through it in batches
 * (never per RRset: at most one call per 256 RRsets walked, plus the
 * end), with a total counted up front that equals the RRsets walked, done
 * rising to it, and a last call of (total, total); no callback set: the
 * same signatures, no call. Real store (tests/testzone.c), real signing.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/tap.h"
#include "tests/testzone.h"
#include "tests/ldns_rr.h"
#include "zones/base/err.h"
#include "zones/dnssec.h"
#include "zones/writer.h"

#define NHOSTS 2997 /* + SOA, NS, ns A = 3000 RRsets, + DNSKEY, CDS, CDNSKEY once signed */

struct calls {
    size_t n;
    size_t first_total, last_done, last_total;
    bool rising, same_total, batched;
};

static void count_cb(void *arg, size_t done, size_t total)
{
    struct calls *c = arg;
    if (c->n == 0) {
        c->first_total = total;
        c->rising = c->same_total = c->batched = true;
    } else {
        c->rising &= done > c->last_done;
        c->same_total &= total == c->first_total || done == total; /* the last: done, done */
        /* a batch is 256 RRsets; only the final call may come sooner */
        c->batched &= done - c->last_done >= 256 || done == total;
    }
    c->n++;
    c->last_done = done;
    c->last_total = total;
}

int main(void)
{
    char dir[] = "/tmp/t_sign_progress.XXXXXX";
    zs_store_t *st = tz_store_tmp(dir);
    if (!st) {
        return 1;
    }
    zw_t w;
    zw_zone_t z;
    diag_t d = {0};
    char text[128];

    zw_begin(st, &w);
    zw_zone_create(&w, tz_name("big.test."), &z);
    tl_rr_add(&w, &z, 0, "big.test. 300 IN SOA ns1.big.test. h.big.test. 1 3600 600 86400 300");
    tl_rr_add(&w, &z, 0, "big.test. 300 IN NS ns1.big.test.");
    tl_rr_add(&w, &z, 0, "ns1.big.test. 300 IN A 192.0.2.1");
    for (int i = 0; i < NHOSTS; i++) {
        snprintf(text, sizeof(text), "h%d.big.test. 300 IN A 10.0.%d.%d", i, i / 256, i % 256);
        if (tl_rr_add(&w, &z, 0, text) != 0) {
            printf("Bail out! cannot add %s\n", text);
            return 1;
        }
    }
    is_int(zw_commit(&w, &d), 0, "a zone of 3000 RRsets");

    /* enable with the writer's callback */
    struct calls c = {0};
    zw_begin(st, &w);
    w.progress = count_cb;
    w.progress_arg = &c;
    is_int(zw_zone_get(st, w.txn, tz_name("big.test."), &z), 0, "zone found");
    is_int(zd_zone_enable(&w, &z, NULL, &d), 0, "zd_zone_enable with a progress callback");
    is_int(zw_commit(&w, &d), 0, "committed");
    size_t total = 3000 + 3; /* DNSKEY, CDS and CDNSKEY were published before the pass */
    is_int((long long)c.first_total, (long long)total, "the total counted up front: every RRset");
    is_int((long long)c.last_done, (long long)total, "the last call: all of them done");
    is_int((long long)c.last_total, (long long)total, "... of the total");
    ok(c.rising, "done rises from call to call");
    ok(c.same_total, "the total stays put");
    ok(c.batched, "at least 256 RRsets between two calls (never per RRset)");
    ok(c.n >= 2 && c.n <= total / 256 + 2, "%zu calls for %zu RRsets (batches of 256, and the end)",
       c.n, total);

    /* zd_sign_all directly: the zone's own callback */
    struct calls c2 = {0};
    zw_begin(st, &w);
    is_int(zw_zone_get(st, w.txn, tz_name("big.test."), &z), 0, "zone found again");
    zd_zone_t zz = {.id = z.id,
                    .apex = z.apex,
                    .apex_labels = z.apex_labels,
                    .progress = count_cb,
                    .progress_arg = &c2};
    size_t nsigned = 0;
    is_int(zd_sign_all(st, w.txn, &zz, false, (uint64_t)time(NULL), &nsigned, &d), 0,
           "zd_sign_all with a progress callback");
    is_int((long long)c2.last_done, (long long)total, "re-sign: every RRset walked");
    is_int((long long)nsigned, (long long)total, "... and signed");
    ok(c2.batched && c2.rising && c2.n <= total / 256 + 2, "... in batches (%zu calls)", c2.n);

    /* no callback: no call, the same work */
    struct calls c3 = {0};
    zd_zone_t zn = {.id = z.id, .apex = z.apex, .apex_labels = z.apex_labels};
    nsigned = 0;
    is_int(zd_sign_all(st, w.txn, &zn, false, (uint64_t)time(NULL), &nsigned, &d), 0,
           "zd_sign_all without one");
    is_int((long long)nsigned, (long long)total, "... signs the same RRsets");
    is_int((long long)c3.n, 0, "... and calls nothing");
    zw_abort(&w);

    tz_store_rm(st, dir);
    done_testing();
}
