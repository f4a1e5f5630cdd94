/* SPDX-License-Identifier: MIT */
/*
 * rollout_ev_rec.c -- test helper for t_rollout_evidence.sh: writes what
 * the evidence ingest reads and the rollout controller or `dnsctl shard
 * set --canary-lb` would otherwise write (acme/rollout.h), in one writer
 * transaction, so the evidence path is tested without a CA:
 *   rollout_ev_rec STORE ID canary LB[,LB...]   the shard request's "canary_lb"
 *   rollout_ev_rec STORE ID status STATUS       "rollout:ID" state.status
 * Exit 0, or 1 with one line on stderr.
 */
#include <stdio.h>
#include <string.h>

#include "acme/certdb.h"
#include "acme/rollout.h"
#include "acme/shard.h"
#include "zones/base/err.h"
#include "zones/store.h"
#include "zones/writer.h"

int main(int argc, char **argv)
{
    if (argc != 5 || (strcmp(argv[3], "canary") != 0 && strcmp(argv[3], "status") != 0)) {
        fprintf(stderr, "usage: rollout_ev_rec STORE ID canary LB[,LB...] | status STATUS\n");
        return 2;
    }
    diag_t d = {0};
    zs_store_t *s = NULL;
    zw_t w;
    bool in_txn = false;
    json_t *v = NULL;
    char key[512];
    int err = zs_open(argv[1], 0, 0, &s, &d);
    if (err || (err = zw_begin(s, &w)) != 0) {
        goto out;
    }
    in_txn = true;
    if (strcmp(argv[3], "canary") == 0) {
        snprintf(key, sizeof(key), "%s%s", ACME_DB_CERT, argv[2]);
        if ((err = acme_db_get(s, w.txn, key, &v)) != 0) {
            goto out;
        }
        json_t *sh = acme_shard_of(json_object_get(v, "req"));
        if (!sh) {
            fprintf(stderr, "rollout_ev_rec: %s is not a shard\n", argv[2]);
            err = DNSD_EMALFORMED;
            goto out;
        }
        json_t *lbs = json_array();
        char buf[1024];
        snprintf(buf, sizeof(buf), "%s", argv[4]);
        for (char *sv = NULL, *t = strtok_r(buf, ",", &sv); t; t = strtok_r(NULL, ",", &sv)) {
            json_array_append_new(lbs, json_string(t));
        }
        json_object_set_new(sh, "canary_lb", lbs);
        err = acme_db_put(s, w.txn, key, v);
    } else {
        snprintf(key, sizeof(key), "%s%s", ACME_DB_ROLLOUT, argv[2]);
        v = json_pack("{s:s}", "status", argv[4]);
        err = acme_db_put_half(s, w.txn, key, "state", v, true);
    }
    if (err) {
        goto out;
    }
    in_txn = false;
    err = zw_commit(&w, &d);
out:
    json_decref(v);
    if (in_txn) {
        zw_abort(&w);
    }
    if (err) {
        fprintf(stderr, "rollout_ev_rec: %s\n", d.text[0] ? d.text : dnsd_strerror(err));
    }
    zs_close(s);
    return err ? 1 : 0;
}
