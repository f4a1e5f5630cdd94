/* SPDX-License-Identifier: MIT */
/*
 * http01_rec.c -- test helper: writes or removes an HTTP-01 key
 * authorization record in a store exactly as the ACME worker does
 * (acme_http01_put/acme_http01_del in one writer transaction), so the
 * system tests can check dnsd's HTTP-01 endpoint (dnsd/httpd.c) with curl
 * without a CA. On a cluster node's store (dnsd recorded its cluster-etcd
 * settings there) the write goes through the cluster, as dnsctl's do, so
 * every node serves it.
 *   http01_rec STORE put TOKEN KEYAUTH [CERT]
 *   http01_rec STORE del TOKEN
 *   http01_rec STORE raw TOKEN VALUE      (any bytes at "http01:TOKEN": damage)
 * Exit 0, or 1 with one line on stderr.
 */
#include <stdio.h>
#include <string.h>

#include "acme/certdb.h"
#include "acme/http01.h"
#include "zones/base/err.h"
#include "zones/certs.h"
#include "zones/cluster.h"
#include "zones/store.h"
#include "zones/writer.h"

static int usage(void)
{
    fprintf(stderr, "usage: http01_rec STORE put TOKEN KEYAUTH [CERT] | del TOKEN | "
                    "raw TOKEN VALUE\n");
    return 2;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        return usage();
    }
    const char *op = argv[2], *token = argv[3];
    bool put = strcmp(op, "put") == 0, raw = strcmp(op, "raw") == 0;
    if (((put || raw) && argc < 5) || (!put && !raw && strcmp(op, "del") != 0)) {
        return usage();
    }
    diag_t d = {0};
    zs_store_t *s = NULL;
    zc_t *zc = NULL;
    zw_t w;
    bool in_txn = false;
    int err = zs_open(argv[1], 0, 0, &s, &d);
    if (err) {
        goto out;
    }
    zc_cfg_t cc;
    bool found = false;
    if ((err = zc_cfg_load(s, &cc, &found, &d)) != 0 ||
        (found && (err = zc_open(s, &cc, &zc, &d)) != 0)) {
        goto out;
    }
    if ((err = zw_begin(s, &w)) != 0) {
        goto out;
    }
    in_txn = true;
    if (put) {
        err = acme_http01_put(s, w.txn, token, argv[4], argc > 5 ? argv[5] : "test", 0);
    } else if (raw) {
        char key[512];
        snprintf(key, sizeof(key), ACME_DB_HTTP01 "%s", token);
        err = zs_certs_put(s, w.txn, key, argv[4], strlen(argv[4]));
    } else {
        err = acme_http01_del(s, w.txn, token);
    }
    if (err) {
        goto out;
    }
    in_txn = false;
    err = zw_commit(&w, &d);
out:
    if (in_txn) {
        zw_abort(&w);
    }
    if (err) {
        fprintf(stderr, "http01_rec: %s %s: %s%s%s\n", op, token, dnsd_strerror(err),
                d.text[0] ? ": " : "", d.text);
    }
    zs_close(s); /* detaches the cluster */
    (void)zc;
    return err ? 1 : 0;
}
