/* SPDX-License-Identifier: MIT */
/*
 * t_rollout_ctl.c -- the rollout controller (acme/rollout_run.c) driven
 * through the real worker (acme_worker_run) on a real store, its evidence
 * coming through acme_cfg_t.evidence as dnsd's evidence thread delivers it:
 * a shard of example.test in region eu with a current certificate and a
 * candidate (two self-signed certificates with real keys). A candidate
 * whose canary handshakes fail is rolled back and the share never went
 * above the first step; a good one steps 5 -> 50 -> 100 % and is promoted
 * (the shard's certificate, TLSA for its key, split entry gone, the pools'
 * TTL back); without enough evidence the rollout holds at its first step;
 * an urgent rollout (current certificate near expiry) starts at 25 %.
 * Every decision is checked in the store: the split entry, the rollout
 * state and the decision records.
 */
#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "acme/certdb.h"
#include "acme/jws.h"
#include "acme/order.h"
#include "acme/rollout.h"
#include "acme/rollout_stats.h"
#include "acme/shard.h"
#include "tests/tap.h"
#include "tests/testzone.h"
#include "zones/base/err.h"
#include "zones/reader.h"
#include "zones/regions.h"
#include "zones/rollout.h"
#include "zones/rrtype.h"
#include "zones/writer.h"

static char dir[] = "/tmp/t_rollout_ctl.XXXXXX";
static char certdir[2048];
static zs_store_t *st;
#define ID "example.test@eu"

/* ---- the evidence source: what dnsd's evidence thread would hand over ---- */

typedef struct ev {
    int pending[2];    /* samples still to deliver per pool */
    int fail_every[2]; /* every Nth sample fails (0: none) */
    uint32_t hs_us[2];
    char serial[2][72];
    int64_t t;         /* the source's clock */
    unsigned seq[2];
    unsigned calls;
} ev_t;
static ev_t ev;

static size_t ev_fn(void *arg, const char *shard_id, int pool, int64_t since_ms, rev_sample_t *out,
                    size_t max)
{
    ev_t *e = arg;
    e->calls++;
    if (strcmp(shard_id, ID) != 0 || pool < 0 || pool > 1) {
        return 0;
    }
    size_t n = 0;
    while (n < max && e->pending[pool] > 0) {
        rev_sample_t *s = &out[n++];
        memset(s, 0, sizeof(*s));
        s->t_ms = ++e->t > since_ms ? e->t : since_ms + 1;
        e->seq[pool]++;
        s->ok = !(e->fail_every[pool] && e->seq[pool] % (unsigned)e->fail_every[pool] == 0);
        s->hs_us = e->hs_us[pool] + (e->seq[pool] % 7) * 100; /* some spread */
        s->proto = REV_TLS13;
        s->source = REV_SRC_JSON;
        snprintf(s->serial, sizeof(s->serial), "%s", e->serial[pool]);
        if (!s->ok) {
            snprintf(s->err, sizeof(s->err), "certificate verify failed");
        }
        e->pending[pool]--;
    }
    return n;
}

/* ---- certificates ---- */

/* a self-signed certificate for www.example.test with serial @p serial (hex), valid @p days */
static json_t *make_cert(const char *serial, long days)
{
    EVP_PKEY *k = NULL;
    acme_key_generate(ACME_KEY_EC256, &k);
    X509 *x = X509_new();
    X509_set_version(x, 2);
    BIGNUM *bn = NULL;
    BN_hex2bn(&bn, serial);
    ASN1_INTEGER *ai = BN_to_ASN1_INTEGER(bn, NULL);
    X509_set_serialNumber(x, ai);
    X509_NAME *nm = X509_NAME_new();
    X509_NAME_add_entry_by_txt(nm, "CN", MBSTRING_ASC, (const uint8_t *)"www.example.test", -1,
                               -1, 0);
    X509_set_subject_name(x, nm);
    X509_set_issuer_name(x, nm);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), days * 86400);
    X509_set_pubkey(x, k);
    X509_sign(x, k, EVP_sha256());
    BIO *b = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(b, x);
    char *data;
    long n = BIO_get_mem_data(b, &data);
    char *pem = strndup(data, (size_t)n);
    char *kp = acme_key_pem(k);
    time_t now = time(NULL);
    json_t *c = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:s, s:I}", "pem", pem, "key", kp,
                          "serial", serial, "issuer", "CN=www.example.test", "not_before",
                          (json_int_t)now, "not_after", (json_int_t)(now + days * 86400),
                          "key_type", "ec256", "issued", (json_int_t)now);
    free(pem);
    acme_secret_free(kp);
    BIO_free(b);
    X509_NAME_free(nm);
    ASN1_INTEGER_free(ai);
    BN_free(bn);
    X509_free(x);
    EVP_PKEY_free(k);
    return c;
}

/* ---- the store ---- */

static uint16_t eu_id;

static void setup(void)
{
    zw_t w;
    diag_t d;
    if (zw_begin(st, &w) != 0) {
        abort();
    }
    zs_region_t *r = calloc(1, sizeof(*r));
    snprintf(r->name, sizeof(r->name), "eu");
    if (zs_cidr_parse("10.0.0.0/8", &r->cidr[r->ncidr++]) != 0 || zw_region_put(&w, r, &d) != 0) {
        abort();
    }
    eu_id = r->id;
    free(r);
    if (zw_commit(&w, &d) != 0) {
        abort();
    }
}

/* write the shard's record: current certificate @p cur, candidate @p cand (or NULL), policy */
static void put_shard(json_t *cur, json_t *cand, const rs_policy_t *pol)
{
    json_t *req = json_pack("{s:[s], s:I, s:{s:s, s:s, s:[s], s:[s], s:I, s:o}}", "names",
                            "www.example.test", "seq", (json_int_t)1, "shard", "domain",
                            "example.test", "region", "eu", "lb", "192.0.2.10", "canary_lb",
                            "192.0.2.20", "ttl", (json_int_t)300, "rollout_policy",
                            rs_policy_json(pol));
    json_t *state = json_pack("{s:s, s:I, s:O, s:I, s:[]}", "status", "valid", "seq_done",
                              (json_int_t)1, "cert", cur, "renew_at",
                              (json_int_t)(time(NULL) + 30 * 86400), "history");
    if (cand) {
        json_object_set(state, "candidate", cand);
    }
    /* the TLSA state a first issuance leaves: the current key (the next one is the candidate's) */
    EVP_PKEY *k = NULL;
    acme_key_from_pem(acme_js(cur, "key"), &k);
    char *spki = acme_spki_sha256(k);
    EVP_PKEY_free(k);
    json_object_set_new(state, "shard",
                        json_pack("{s:s, s:[s], s:I, s:s, s:[]}", "spki", spki, "tlsa", spki,
                                  "gen", (json_int_t)1, "serial", acme_js(cur, "serial"),
                                  "retire"));
    free(spki);
    zw_t w;
    diag_t d = {0};
    json_t *rec = json_pack("{s:o, s:o}", "req", req, "state", state);
    if (zw_begin(st, &w) != 0 || acme_db_put(st, w.txn, ACME_DB_CERT ID, rec) != 0 ||
        acme_shard_records(&w, req, state, &d) != 0 || zw_commit(&w, &d) != 0) {
        printf("# put_shard: %s\n", d.text);
        abort();
    }
    json_decref(rec);
}

static json_t *get(const char *key)
{
    MDB_txn *txn;
    json_t *v = NULL;
    if (acme_db_read_begin(st, &txn) != 0) {
        return NULL;
    }
    if (acme_db_get(st, txn, key, &v) != 0) {
        v = NULL;
    }
    acme_db_read_end(st, txn);
    return v;
}

static const char *ro_status(char *buf, size_t cap)
{
    json_t *ro = get(ACME_DB_ROLLOUT ID);
    snprintf(buf, cap, "%s", acme_js(json_object_get(ro, "state"), "status"));
    json_decref(ro);
    return buf;
}

static long ro_int(const char *k)
{
    json_t *ro = get(ACME_DB_ROLLOUT ID);
    long v = (long)acme_ji(json_object_get(ro, "state"), k);
    json_decref(ro);
    return v;
}

/* the split entry's permyriad, -1 when there is none */
static int split_p(void)
{
    MDB_txn *txn;
    zw_zone_t z;
    zs_rollout_t r;
    int p = -2;
    if (acme_db_read_begin(st, &txn) != 0) {
        return -2;
    }
    if (zw_zone_get(st, txn, tz_name("example.test."), &z) == 0) {
        int e = zw_rollout_get(st, txn, z.id, eu_id, &r);
        p = e == 0 ? r.permyriad : e == DNSD_ENOTFOUND ? -1 : -2;
    }
    acme_db_read_end(st, txn);
    return p;
}

/* TTL of www's A in region @p name ("eu" or "eu.canary"), 0 when absent */
static uint32_t a_ttl(const char *name)
{
    MDB_txn *txn;
    zw_zone_t z;
    uint16_t rid;
    uint32_t ttl = 0;
    if (acme_db_read_begin(st, &txn) != 0) {
        return 0;
    }
    if (zw_zone_get(st, txn, tz_name("example.test."), &z) == 0 &&
        zs_region_id(st, txn, name, &rid) == 0) {
        zs_rrset_t rs;
        if (zw_rrset_get(st, txn, &z, tz_name("www.example.test."), DNS_T_A, rid, &rs) == 0) {
            ttl = rs.ttl;
        }
    }
    acme_db_read_end(st, txn);
    return ttl;
}

/* the decision records: "action:to action:to ..." and the highest share reached */
static void decisions(char *buf, size_t cap, long *max_to)
{
    MDB_txn *txn;
    buf[0] = '\0';
    *max_to = 0;
    if (acme_db_read_begin(st, &txn) != 0) {
        return;
    }
    for (unsigned seq = 1; seq < 100; seq++) {
        char key[200];
        json_t *v = NULL;
        snprintf(key, sizeof(key), ACME_DB_ROLLOUT_LOG ID ":%08u", seq);
        if (acme_db_get(st, txn, key, &v) != 0) {
            break;
        }
        size_t l = strlen(buf);
        snprintf(buf + l, cap - l, "%s%s:%lld", l ? " " : "", acme_js(v, "action"),
                 acme_ji(v, "to"));
        if (acme_ji(v, "to") > *max_to && strcmp(acme_js(v, "action"), "promote") != 0) {
            *max_to = (long)acme_ji(v, "to");
        }
        json_decref(v);
    }
    acme_db_read_end(st, txn);
}

/* run the worker until the rollout's status is @p want, at most @p secs; feeding @p feed */
static bool run_until(acme_worker_t *w, const char *want, int secs, int feed_stable,
                      int feed_canary)
{
    volatile int stop = 0;
    char b[40];
    for (int i = 0; i < secs * 10; i++) {
        ev.pending[0] += feed_stable;
        ev.pending[1] += feed_canary;
        acme_worker_run(w, &stop);
        if (strcmp(ro_status(b, sizeof(b)), want) == 0) {
            return true;
        }
        usleep(100 * 1000);
    }
    return false;
}

static acme_worker_t *worker(void)
{
    acme_cfg_t cfg;
    acme_cfg_defaults(&cfg);
    snprintf(cfg.cert_dir, sizeof(cfg.cert_dir), "%s", certdir);
    cfg.evidence = ev_fn;
    cfg.evidence_arg = &ev;
    return acme_worker_new(st, &cfg);
}

static void t_rollback(json_t *cur, const rs_policy_t *pol)
{
    json_t *cand = make_cert("0BAD", 90);
    put_shard(cur, cand, pol);
    memset(&ev, 0, sizeof(ev));
    snprintf(ev.serial[0], sizeof(ev.serial[0]), "%s", acme_js(cur, "serial"));
    snprintf(ev.serial[1], sizeof(ev.serial[1]), "0BAD");
    ev.hs_us[0] = ev.hs_us[1] = 3000;
    ev.fail_every[1] = 3; /* a third of the canary's handshakes fail */
    acme_worker_t *w = worker();
    volatile int stop = 0;
    char b[40];
    acme_worker_run(w, &stop);
    is_str(ro_status(b, sizeof(b)), "running", "a candidate starts a rollout");
    is_int(split_p(), 500, "split entry at the first step (5 %%)");
    is_int(ro_int("permyriad"), 500, "state: 500 permyriad");
    is_int(a_ttl("eu"), 30, "the stable pool's records carry the policy's TTL");
    is_int(a_ttl("eu.canary"), 30, "the canary pool's A is in eu.canary with that TTL");
    json_t *rec = get(ACME_DB_CERT ID);
    is_str(acme_js(json_object_get(json_object_get(rec, "state"), "cert"), "serial"),
           acme_js(cur, "serial"), "the shard keeps its current certificate meanwhile");
    json_decref(rec);
    char bundle[4400];
    snprintf(bundle, sizeof(bundle), "%s/regions/eu/canary/example.test.pem", certdir);
    ok(access(bundle, R_OK) == 0, "the candidate's bundle is in regions/eu/canary/");
    ok(run_until(w, "rolled-back", 15, 40, 40), "failing canary handshakes: rolled back");
    is_int(split_p(), -1, "split entry gone");
    is_int(a_ttl("eu"), 300, "the stable pool's TTL is back to the shard's");
    is_int(a_ttl("eu.canary"), 0, "no canary records");
    rec = get(ACME_DB_CERT ID);
    json_t *state = json_object_get(rec, "state");
    is_str(acme_js(json_object_get(state, "cert"), "serial"), acme_js(cur, "serial"),
           "the current certificate stays");
    ok(!json_object_get(state, "candidate"), "no candidate left");
    json_t *h = json_array_get(json_object_get(state, "history"),
                               json_array_size(json_object_get(state, "history")) - 1);
    is_str(acme_js(h, "serial"), "0BAD", "the candidate is in the shard's history");
    is_str(acme_js(h, "outcome"), "rolled-back", "as rolled-back");
    json_decref(rec);
    char log[600];
    long max_to;
    decisions(log, sizeof(log), &max_to);
    is_str(log, "start:500 rollback:0", "decisions: start, rollback");
    ok(max_to <= 500, "the share never went above its first step (%ld)", max_to);
    json_t *ro = get(ACME_DB_ROLLOUT ID);
    json_t *last = json_object_get(json_object_get(ro, "state"), "last");
    printf("# rolled back: %s\n", acme_js(json_object_get(ro, "state"), "why"));
    ok(json_object_get(json_object_get(json_object_get(last, "pools"), "canary"), "fails") &&
           acme_ji(json_object_get(json_object_get(last, "pools"), "canary"), "fails") > 0,
       "the evidence (canary failures) is recorded with the decision");
    json_decref(ro);
    acme_worker_free(w);
    json_decref(cand);
}

static void t_promote(json_t *cur, const rs_policy_t *pol)
{
    json_t *cand = make_cert("0600D", 90);
    put_shard(cur, cand, pol);
    memset(&ev, 0, sizeof(ev));
    snprintf(ev.serial[0], sizeof(ev.serial[0]), "%s", acme_js(cur, "serial"));
    snprintf(ev.serial[1], sizeof(ev.serial[1]), "0600D");
    ev.hs_us[0] = ev.hs_us[1] = 3000;
    acme_worker_t *w = worker();
    volatile int stop = 0;
    char b[40];
    acme_worker_run(w, &stop);
    is_str(ro_status(b, sizeof(b)), "running", "a new candidate: a new rollout");
    is_int(split_p(), 500, "split at 5 %% again (a fresh entry)");
    ok(run_until(w, "promoted", 25, 30, 30), "good canary handshakes: promoted");
    char log[600];
    long max_to;
    decisions(log, sizeof(log), &max_to);
    /* the log keeps the earlier rollout's records first */
    const char *tail = strstr(log, "start:500 step:5000 step:10000 promote:10000");
    ok(tail != NULL, "decisions: start, step 50 %%, step 100 %%, promote (%s)", log);
    is_int(split_p(), -1, "split entry gone");
    is_int(a_ttl("eu"), 300, "TTL back to the shard's");
    is_int(a_ttl("eu.canary"), 0, "canary records gone");
    json_t *rec = get(ACME_DB_CERT ID);
    json_t *state = json_object_get(rec, "state");
    is_str(acme_js(json_object_get(state, "cert"), "serial"), "0600D",
           "the candidate is the shard's certificate");
    EVP_PKEY *k = NULL;
    acme_key_from_pem(acme_js(cand, "key"), &k);
    char *spki = acme_spki_sha256(k);
    EVP_PKEY_free(k);
    is_str(acme_js(json_object_get(state, "shard"), "spki"), spki,
           "through the issuance path: the TLSA state names its key");
    free(spki);
    ok(json_is_true(json_object_get(json_object_get(state, "deploy"), "ok")),
       "deployed (bundle, crt-list, PEM files)");
    json_decref(rec);
    acme_worker_free(w);
    json_decref(cand);
}

static void t_hold_and_urgent(const rs_policy_t *pol)
{
    /* a current certificate with 2 days left: urgent (policy urgent = 7 days) */
    json_t *cur = make_cert("0C0", 2);
    json_t *cand = make_cert("0C1", 90);
    put_shard(cur, cand, pol);
    memset(&ev, 0, sizeof(ev));
    acme_worker_t *w = worker();
    volatile int stop = 0;
    char b[40];
    acme_worker_run(w, &stop);
    is_str(ro_status(b, sizeof(b)), "running", "urgent rollout running");
    json_t *ro = get(ACME_DB_ROLLOUT ID);
    ok(json_is_true(json_object_get(json_object_get(ro, "state"), "urgent")), "marked urgent");
    json_decref(ro);
    is_int(split_p(), 2500, "urgent: first step 25 %%");
    /* no evidence at all: it holds */
    ok(!run_until(w, "promoted", 3, 0, 0) && split_p() == 2500 &&
           strcmp(ro_status(b, sizeof(b)), "running") == 0,
       "without evidence it holds at its step");
    ok(ev.calls > 0, "the evidence source was asked");
    acme_worker_free(w);
    json_decref(cur);
    json_decref(cand);
}

/* a canary that is only slower (a large RSA key, say): held with slow=hold, rolled back with slow=rollback */
static void t_slow(json_t *cur, rs_policy_t *pol)
{
    for (int rb = 0; rb < 2; rb++) {
        char why[200];
        rs_policy_set(pol, "slow", rb ? "rollback" : "hold", why, sizeof(why));
        json_t *cand = make_cert(rb ? "05B" : "05A", 90);
        put_shard(cur, cand, pol);
        memset(&ev, 0, sizeof(ev));
        snprintf(ev.serial[0], sizeof(ev.serial[0]), "%s", acme_js(cur, "serial"));
        snprintf(ev.serial[1], sizeof(ev.serial[1]), "%s", rb ? "05B" : "05A");
        ev.hs_us[0] = 3000;
        ev.hs_us[1] = 12000; /* four times slower, no failures */
        acme_worker_t *w = worker();
        char b[40];
        if (rb) {
            ok(run_until(w, "rolled-back", 15, 40, 40), "slower canary, slow=rollback: rolled back");
        } else {
            ok(!run_until(w, "promoted", 4, 40, 40) && split_p() == 500 &&
                   strcmp(ro_status(b, sizeof(b)), "running") == 0,
               "slower canary, slow=hold: held at 5 %%");
            json_t *ro = get(ACME_DB_ROLLOUT ID);
            json_t *last = json_object_get(json_object_get(ro, "state"), "last");
            is_str(acme_js(last, "outcome"), "worse-time", "its latest verdict: slower");
            json_decref(ro);
            volatile int stop = 0;
            /* the operator ends it */
            zw_t zw;
            json_t *rq = json_pack("{s:I, s:s, s:I}", "seq", (json_int_t)100, "action", "abort",
                                   "at", (json_int_t)time(NULL));
            if (zw_begin(st, &zw) == 0 &&
                acme_db_put_half(st, zw.txn, ACME_DB_ROLLOUT ID, "req", rq, false) == 0) {
                zw_commit(&zw, NULL);
            }
            json_decref(rq);
            acme_worker_run(w, &stop);
            is_str(ro_status(b, sizeof(b)), "aborted", "an abort request ends it");
            is_int(split_p(), -1, "split gone after the abort");
        }
        acme_worker_free(w);
        json_decref(cand);
    }
}

int main(void)
{
    if (!mkdtemp(dir)) {
        printf("Bail out! no temporary directory\n");
        return 1;
    }
    st = tz_build(dir);
    snprintf(certdir, sizeof(certdir), "%s/certs", dir);
    setup();
    rs_policy_t pol;
    char why[200];
    rs_policy_default(&pol);
    if (rs_policy_set(&pol, "steps", "5,50,100", why, sizeof(why)) ||
        rs_policy_set(&pol, "window", "1s", why, sizeof(why)) ||
        rs_policy_set(&pol, "min-samples", "20", why, sizeof(why))) {
        printf("# %s\n", why);
        return 1;
    }
    json_t *cur = make_cert("01", 60);
    t_rollback(cur, &pol);
    t_promote(cur, &pol);
    t_slow(cur, &pol);
    t_hold_and_urgent(&pol);
    json_decref(cur);
    tz_store_rm(st, dir);
    return done_testing();
}
