/* SPDX-License-Identifier: MIT */
/*
 * rollout_split.c -- test helper: writes a certificate rollout's canary
 * split (zones/rollout.h) into a store as the controller does (the canary
 * region made with zw_rollout_canary_region(), the entry put with
 * zw_rollout_put(), one writer transaction), and prints the bucket of
 * client addresses, so the system tests can check dnsd's split with dig
 * before any controller or dnsctl command exists. On a cluster node's store
 * (dnsd recorded its cluster-etcd settings there) the write goes through the
 * cluster, as dnsctl's do (http01_rec.c does the same), so every node gets it.
 *   rollout_split STORE put ZONE REGION PERMYRIAD KEYHEX [PREFIX4 PREFIX6]
 *   rollout_split STORE del ZONE REGION
 *   rollout_split STORE bucket ZONE REGION ADDR...   ("ADDR BUCKET canary|stable" a line)
 * REGION is a name ("default" too). Exit 0, or 1 with one line on stderr.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/testzone.h"
#include "zones/base/err.h"
#include "zones/cluster.h"
#include "zones/names.h"
#include "zones/regions.h"
#include "zones/rollout.h"
#include "zones/store.h"
#include "zones/writer.h"

static int usage(void)
{
    fprintf(stderr, "usage: rollout_split STORE put ZONE REGION PERMYRIAD KEYHEX [P4 P6] | "
                    "del ZONE REGION | bucket ZONE REGION ADDR...\n");
    return 2;
}

static int fail(const char *what, int err, const diag_t *d)
{
    fprintf(stderr, "rollout_split: %s: %s%s%s\n", what, dnsd_strerror(err),
            d && d->text[0] ? ": " : "", d ? d->text : "");
    return 1;
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        return usage();
    }
    const char *op = argv[2];
    diag_t d = {0};
    zs_store_t *s = NULL;
    int err = zs_open(argv[1], 0, 0, &s, &d);
    if (err) {
        return fail("open", err, &d);
    }
    zc_cfg_t cc;
    zc_t *zc = NULL;
    bool found = false;
    if ((err = zc_cfg_load(s, &cc, &found, &d)) != 0 ||
        (found && (err = zc_open(s, &cc, &zc, &d)) != 0)) {
        return fail("cluster", err, &d);
    }
    (void)zc; /* attached to the store: zs_close() detaches it */
    uint8_t apex[DNAME_MAXLEN + 1];
    if (strlen(argv[3]) > DNAME_MAXLEN - 2) {
        return fail("zone name", DNSD_EMALFORMED, NULL);
    }
    tz_wire(argv[3], apex); /* test input: a plain lower-case name */
    zw_t w;
    zw_zone_t z;
    uint16_t region;
    if ((err = zw_begin(s, &w)) != 0) {
        return fail("begin", err, NULL);
    }
    if ((err = zw_zone_get(s, w.txn, apex, &z)) != 0) {
        return fail(argv[3], err, NULL);
    }
    if ((err = zs_region_id(s, w.txn, argv[4], &region)) != 0) {
        return fail(argv[4], err, NULL);
    }
    if (strcmp(op, "put") == 0 && (argc == 7 || argc == 9)) {
        zs_rollout_t r;
        memset(&r, 0, sizeof(r));
        r.permyriad = (uint16_t)atoi(argv[5]);
        r.prefix4 = argc == 9 ? (uint8_t)atoi(argv[7]) : ZS_ROLLOUT_PREFIX4_DEFAULT;
        r.prefix6 = argc == 9 ? (uint8_t)atoi(argv[8]) : ZS_ROLLOUT_PREFIX6_DEFAULT;
        if (strlen(argv[6]) != 32) {
            return fail("key: 32 hex digits", DNSD_EMALFORMED, NULL);
        }
        for (int i = 0; i < 16; i++) {
            unsigned b;
            if (sscanf(argv[6] + 2 * i, "%2x", &b) != 1) {
                return fail("key: 32 hex digits", DNSD_EMALFORMED, NULL);
            }
            r.key[i] = (uint8_t)b;
        }
        if ((err = zw_rollout_canary_region(&w, region, true, &r.canary, &d)) != 0 ||
            (err = zw_rollout_put(&w, &z, region, &r, &d)) != 0 ||
            (err = zw_commit(&w, &d)) != 0) {
            return fail("put", err, &d);
        }
    } else if (strcmp(op, "del") == 0 && argc == 5) {
        if ((err = zw_rollout_del(&w, &z, region)) != 0 || (err = zw_commit(&w, &d)) != 0) {
            return fail("del", err, &d);
        }
    } else if (strcmp(op, "bucket") == 0) {
        zs_rollout_t r;
        if ((err = zw_rollout_get(s, w.txn, z.id, region, &r)) != 0) {
            return fail("no entry", err, NULL);
        }
        for (int i = 5; i < argc; i++) {
            uint8_t a[16];
            int fam = strchr(argv[i], ':') ? AF_INET6 : AF_INET;
            if (inet_pton(fam, argv[i], a) != 1) {
                return fail(argv[i], DNSD_EMALFORMED, NULL);
            }
            uint16_t b = zs_rollout_bucket(&r, fam, a);
            printf("%s %u %s\n", argv[i], b, b < r.permyriad ? "canary" : "stable");
        }
        zw_abort(&w);
    } else {
        zw_abort(&w);
        zs_close(s);
        return usage();
    }
    zs_close(s);
    return 0;
}
