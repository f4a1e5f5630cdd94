/* SPDX-License-Identifier: MIT */
/*
 * t_evidence.c -- dnsd/evidence.c's side of the acme_evidence_fn contract
 * (acme/rollout.h) against a real store: samples mapped to (shard, pool)
 * from the shard requests ("lb" stable, "canary_lb" canary), the map
 * rebuilt when the store changes, several shards on one load balancer told
 * apart by the server name (wildcards too), unmatched samples counted and
 * kept nowhere, strictly increasing stamps, since_ms and max, oldest first,
 * the ring bound (EVIDENCE_RING, the oldest dropped), a deleted shard's
 * samples gone.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "acme/certdb.h"
#include "acme/shard.h"
#include "dnsd/evidence.h"
#include "tests/tap.h"
#include "tests/testzone.h"
#include "zones/base/err.h"
#include "zones/writer.h"

static char dir[] = "/tmp/t_evidence.XXXXXX";
static zs_store_t *st;

/* the shard request "cert:ID" as dnsctl writes it (only what the ingest reads) */
static void put_shard(const char *id, const char *names, const char *lb, const char *canary)
{
    json_t *req = json_pack("{s:o,s:{s:o}}", "names", json_loads(names, 0, NULL), "shard", "lb",
                            json_loads(lb, 0, NULL));
    if (canary) {
        json_object_set_new(json_object_get(req, "shard"), "canary_lb", json_loads(canary, 0, NULL));
    }
    zw_t w;
    char key[256];
    snprintf(key, sizeof(key), "%s%s", ACME_DB_CERT, id);
    diag_t d = {0};
    if (zw_begin(st, &w) != 0 || acme_db_put_half(st, w.txn, key, "req", req, true) != 0 ||
        zw_commit(&w, &d) != 0) {
        fprintf(stderr, "cannot write %s\n", key);
        exit(1);
    }
    json_decref(req);
}

static void del_shard(const char *id)
{
    zw_t w;
    char key[256];
    snprintf(key, sizeof(key), "%s%s", ACME_DB_CERT, id);
    diag_t d = {0};
    if (zw_begin(st, &w) != 0 || acme_db_del(st, w.txn, key) != 0 || zw_commit(&w, &d) != 0) {
        fprintf(stderr, "cannot delete %s\n", key);
        exit(1);
    }
}

static rev_sample_t sample(const char *lb, bool ok, const char *sni, const char *serial)
{
    rev_sample_t s;
    memset(&s, 0, sizeof(s));
    acme_shard_lb_parse(lb, &s.lb);
    s.ok = ok;
    s.source = REV_SRC_JSON;
    snprintf(s.sni, sizeof(s.sni), "%s", sni);
    snprintf(s.serial, sizeof(s.serial), "%s", serial);
    if (!ok) {
        snprintf(s.err, sizeof(s.err), "certificate verify failed");
    }
    return s;
}

static uint64_t count(int res) { return atomic_load(&evidence_counts[REV_SRC_JSON][res]); }

static rev_sample_t out[EVIDENCE_RING + 16];

int main(void)
{
    st = tz_store_tmp(dir);
    put_shard("example.test@eu", "[\"www.example.test\",\"example.test\"]", "[\"192.0.2.1\"]",
              "[\"192.0.2.2:8443\"]");
    put_shard("example.net@eu", "[\"*.example.net\"]", "[\"192.0.2.1\",\"[2001:db8::1]:443\"]",
              NULL);

    config_t c;
    config_defaults(&c);
    snprintf(c.rollout_evidence_socket, sizeof(c.rollout_evidence_socket), "%s/ev.sock", dir);
    c.rollout_probe_interval_s = 0;
    evidence_t *ev = NULL;
    diag_t d = {0};
    is_int(evidence_bind(&c, &ev, &d), 0, "evidence_bind with a socket");
    ok(ev != NULL, "... an ingest");
    is_int(evidence_start(ev, st, &d), 0, "evidence_start");

    /* pools by address and port */
    rev_sample_t s = sample("192.0.2.2:8443", false, "www.example.test", "0A");
    evidence_add(ev, &s);
    s = sample("192.0.2.2:8443", true, "", "0A");
    evidence_add(ev, &s);
    s = sample("192.0.2.2:443", true, "", ""); /* the canary's address, another port */
    evidence_add(ev, &s);
    is_int(evidence_fn(ev, "example.test@eu", ACME_POOL_CANARY, 0, out, 16), 2, "canary pool: 2 samples");
    ok(!out[0].ok && out[1].ok, "... oldest first");
    ok(out[0].t_ms > 0 && out[1].t_ms > out[0].t_ms, "... stamped, strictly increasing");
    is_str(out[0].err, "certificate verify failed", "... the sample as given");
    is_int(evidence_fn(ev, "example.test@eu", ACME_POOL_STABLE, 0, out, 16), 0, "stable pool: none");
    is_int(count(EV_R_UNMATCHED), 1, "the other port: unmatched");
    is_int(count(EV_R_OK), 1, "counted: 1 ok");
    is_int(count(EV_R_FAIL), 1, "counted: 1 failed");

    /* one load balancer in two shards: the server name picks */
    s = sample("192.0.2.1", true, "www.example.test", "");
    evidence_add(ev, &s);
    s = sample("192.0.2.1", false, "api.example.net", ""); /* *.example.net */
    evidence_add(ev, &s);
    s = sample("192.0.2.1", true, "a.b.example.net", ""); /* a wildcard covers one label */
    evidence_add(ev, &s);
    s = sample("192.0.2.1", true, "", ""); /* no name: both shards */
    evidence_add(ev, &s);
    is_int(evidence_fn(ev, "example.test@eu", ACME_POOL_STABLE, 0, out, 16), 2,
           "shared lb: example.test gets its name and the nameless one");
    ok(out[0].ok && strcmp(out[0].sni, "www.example.test") == 0 && out[1].sni[0] == '\0', "... those");
    is_int(evidence_fn(ev, "example.net@eu", ACME_POOL_STABLE, 0, out, 16), 2,
           "shared lb: example.net gets api.example.net and the nameless one");
    ok(!out[0].ok && strcmp(out[0].sni, "api.example.net") == 0, "... those");
    is_int(count(EV_R_UNMATCHED), 2, "a.b.example.net: unmatched");
    s = sample("[2001:db8::1]:443", true, "x.example.net", "");
    evidence_add(ev, &s);
    is_int(evidence_fn(ev, "example.net@eu", ACME_POOL_STABLE, 0, out, 16), 3, "an IPv6 load balancer");

    /* since_ms and max */
    size_t n = evidence_fn(ev, "example.net@eu", ACME_POOL_STABLE, 0, out, 16);
    int64_t t1 = out[0].t_ms;
    is_int(evidence_fn(ev, "example.net@eu", ACME_POOL_STABLE, t1, out, 16), (long long)n - 1,
           "since the first: the others");
    is_int(evidence_fn(ev, "example.net@eu", ACME_POOL_STABLE, 0, out, 1), 1, "max 1: one");
    ok(out[0].t_ms == t1, "... the oldest");
    is_int(evidence_fn(ev, "nope@eu", ACME_POOL_STABLE, 0, out, 16), 0, "an unknown shard: none");
    is_int(evidence_fn(NULL, "example.net@eu", ACME_POOL_STABLE, 0, out, 16), 0, "no ingest: none");

    /* the map follows the store: a canary pool added later */
    s = sample("192.0.2.9", true, "", "");
    evidence_add(ev, &s);
    is_int(count(EV_R_UNMATCHED), 3, "192.0.2.9 in no shard: unmatched");
    put_shard("example.net@eu", "[\"*.example.net\"]", "[\"192.0.2.1\"]", "[\"192.0.2.9\"]");
    evidence_add(ev, &s);
    is_int(evidence_fn(ev, "example.net@eu", ACME_POOL_CANARY, 0, out, 16), 1,
           "after the store changed: its canary pool");
    is_int(evidence_fn(ev, "example.net@eu", ACME_POOL_STABLE, 0, out, 16), 3,
           "... and the stable pool's samples kept");

    /* the ring bound: the newest EVIDENCE_RING */
    int64_t first = 0;
    for (int i = 0; i < EVIDENCE_RING + 10; i++) {
        s = sample("192.0.2.2:8443", true, "", "");
        snprintf(s.profile, sizeof(s.profile), "%d", i);
        evidence_add(ev, &s);
        if (i == 10) {
            first = s.t_ms;
        }
    }
    is_int(evidence_fn(ev, "example.test@eu", ACME_POOL_CANARY, 0, out, EVIDENCE_RING + 16),
           EVIDENCE_RING, "a full ring holds EVIDENCE_RING samples");
    is_str(out[0].profile, "10", "... the oldest dropped");
    ok(out[0].t_ms == first, "... (its stamp)");
    is_str(out[EVIDENCE_RING - 1].profile, "8201", "... the newest last");

    /* a deleted shard's samples go */
    del_shard("example.test@eu");
    s = sample("192.0.2.2:8443", true, "", "");
    evidence_add(ev, &s);
    is_int(evidence_fn(ev, "example.test@eu", ACME_POOL_CANARY, 0, out, 16), 0,
           "a deleted shard: no samples");
    is_int(count(EV_R_UNMATCHED), 4, "... and its load balancer unmatched");

    evidence_free(ev);
    ok(access(c.rollout_evidence_socket, F_OK) != 0, "evidence_free removes the socket");
    /* nothing configured and probes off: no ingest */
    config_defaults(&c);
    c.rollout_probe_interval_s = 0;
    is_int(evidence_bind(&c, &ev, &d), 0, "nothing configured");
    ok(ev == NULL, "... no ingest");
    tz_store_rm(st, dir);
    return done_testing();
}
