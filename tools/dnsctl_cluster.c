/* SPDX-License-Identifier: MIT */
/*
 * dnsctl_cluster.c -- `dnsctl cluster keygen|status|snapshot`: the cluster
 * key file, the state of the cluster this store's dnsd belongs to
 * (zones/cluster.h), and a snapshot with log trim and etcd compaction on
 * demand. Writes of every other command go through the cluster by
 * themselves (ctl_open attaches it when dnsd recorded cluster settings in
 * the store); these commands only read the cluster or maintain etcd.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tools/dnsctl.h"
#include "zones/base/err.h"

static int cluster_keygen(ctl_t *c)
{
    int rc = ctl_check_args(c, "cluster keygen", CTL_OPT_ID, 1, 1);
    if (rc != CTL_OK) {
        return rc;
    }
    char id[40];
    if (c->id) {
        snprintf(id, sizeof(id), "%s", c->id);
    } else {
        time_t t = time(NULL);
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(id, sizeof(id), "k%Y%m%d", &tm);
    }
    diag_t d = {0};
    if (zc_keygen(c->argv[0], id, &d) != 0) {
        return ctl_diag(NULL, &d);
    }
    printf("wrote cluster key \"%s\" to %s (mode 0600): copy it to every node, keep it secret\n",
           id, c->argv[0]);
    return CTL_OK;
}

/* the store's cluster (attached by ctl_open) or an error saying there is none */
static int cluster_of(ctl_t *c, zs_store_t **s, zc_t **zc)
{
    *zc = NULL;
    if (ctl_open(c, true, false, s) != CTL_OK) {
        return CTL_FAIL;
    }
    if (!(*s)->repl) {
        return ctl_err("store %s is not a cluster node (dnsd records its cluster-etcd settings "
                       "in the store when it starts with them)",
                       c->store);
    }
    *zc = (*s)->repl_ctx;
    return CTL_OK;
}

static int cluster_status(ctl_t *c)
{
    int rc = ctl_check_args(c, "cluster status", CTL_OPT_JSON, 0, 0);
    if (rc != CTL_OK) {
        return rc;
    }
    zs_store_t *s = NULL;
    zc_t *zc = NULL;
    json_t *o = NULL;
    diag_t d = {0};
    if ((rc = cluster_of(c, &s, &zc)) != CTL_OK) {
        goto out;
    }
    if (zc_info(zc, &o, &d) != 0) {
        rc = ctl_diag("cluster status", &d);
        goto out;
    }
    if (c->json) {
        char *txt = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        printf("%s\n", txt);
        free(txt);
        goto out;
    }
    printf("node      %s\n", json_string_value(json_object_get(o, "node")));
    printf("cluster   %s under %s\n", json_string_value(json_object_get(o, "cluster")),
           json_string_value(json_object_get(o, "prefix")));
    printf("applied   %" JSON_INTEGER_FORMAT "\n", json_integer_value(json_object_get(o, "applied")));
    json_t *sn = json_object_get(o, "snapshot");
    if (json_is_object(sn)) {
        printf("snapshot  %" JSON_INTEGER_FORMAT " (%" JSON_INTEGER_FORMAT " parts, %"
               JSON_INTEGER_FORMAT " bytes)\n",
               json_integer_value(json_object_get(sn, "seq")),
               json_integer_value(json_object_get(sn, "parts")),
               json_integer_value(json_object_get(sn, "bytes")));
    } else {
        printf("snapshot  none\n");
    }
    json_t *et = json_object_get(o, "etcd");
    printf("etcd      revision %" JSON_INTEGER_FORMAT ", db %" JSON_INTEGER_FORMAT " bytes\n",
           json_integer_value(json_object_get(et, "revision")),
           json_integer_value(json_object_get(et, "db_size")));
    json_t *nodes = json_object_get(o, "nodes");
    printf("%-20s %12s %8s %10s %s\n", "NODE", "APPLIED", "PID", "VERSION", "SEEN");
    time_t now = time(NULL);
    for (size_t i = 0; i < json_array_size(nodes); i++) {
        json_t *n = json_array_get(nodes, i);
        printf("%-20s %12" JSON_INTEGER_FORMAT " %8" JSON_INTEGER_FORMAT " %10s %llds ago%s\n",
               json_string_value(json_object_get(n, "node")),
               json_integer_value(json_object_get(n, "applied")),
               json_integer_value(json_object_get(n, "pid")),
               json_string_value(json_object_get(n, "version")),
               (long long)(now - (time_t)json_integer_value(json_object_get(n, "time"))),
               json_is_true(json_object_get(n, "self")) ? "  (this store)" : "");
    }
out:
    json_decref(o);
    zs_close(s);
    return rc;
}

static int cluster_snapshot(ctl_t *c)
{
    int rc = ctl_check_args(c, "cluster snapshot", CTL_OPT_KEEP | CTL_OPT_COMPACT, 0, 0);
    if (rc != CTL_OK) {
        return rc;
    }
    uint64_t keep = ZC_DEFAULT_KEEP;
    if (c->keep) {
        char *end = NULL;
        unsigned long long v = strtoull(c->keep, &end, 10);
        if (!c->keep[0] || *end || c->keep[0] == '-' || v > 100000000ull) {
            return ctl_usage("--keep: \"%s\" is not a number of log entries (0..100000000)",
                             c->keep);
        }
        keep = v;
    }
    zs_store_t *s = NULL;
    zc_t *zc = NULL;
    diag_t d = {0};
    if ((rc = cluster_of(c, &s, &zc)) != CTL_OK) {
        goto out;
    }
    uint64_t at = zc_applied(zc);
    if (zc_snapshot_now(zc, keep, c->compact, &d) != 0) {
        rc = ctl_diag("cluster snapshot", &d);
        goto out;
    }
    printf("snapshot at seq %" PRIu64 " written; log kept from seq %" PRIu64 "%s\n", at,
           at > keep ? at - keep + 1 : 1, c->compact ? "; etcd history compacted" : "");
out:
    zs_close(s);
    return rc;
}

int ctl_cluster(ctl_t *c, const char *verb)
{
    if (strcmp(verb, "keygen") == 0) {
        return cluster_keygen(c);
    }
    if (strcmp(verb, "status") == 0) {
        return cluster_status(c);
    }
    if (strcmp(verb, "snapshot") == 0) {
        return cluster_snapshot(c);
    }
    return ctl_usage("unknown cluster command \"%s\" (keygen, status, snapshot)", verb);
}
