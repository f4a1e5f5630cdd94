/* SPDX-License-Identifier: MIT */
/*
 * shard.c -- regional certificate shards (see shard.h): the shard's region
 * records written inside a caller's write transaction, load balancer
 * addresses, SPKI hashes and the TLS probe. Used by dnsctl and by the ACME
 * worker's shard_run.c and deploy.c; it calls nothing of the worker (the
 * worker calls down into it, never the reverse). Slow path only.
 */
#include "acme/shard.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "zones/base/clock.h"
#include "acme/certdb.h"
#include "acme/csr.h"
#include "acme/dns01.h"
#include "acme/tlsprobe.h"
#include "zones/base/err.h"
#include "zones/base/log.h"
#include "zones/base/parse.h"
#include "zones/base/xalloc.h"
#include "zones/regions.h"
#include "zones/rollout.h"
#include "zones/rrtype.h"

json_t *acme_shard_of(json_t *req)
{
    json_t *s = json_object_get(req, "shard");
    return json_is_object(s) ? s : NULL;
}

int acme_shard_lb_parse(const char *s, struct sockaddr_storage *out)
{
    return parse_hostport(s, ACME_SHARD_TLSA_PORT, 1, out, NULL);
}

char *acme_spki_sha256(EVP_PKEY *k)
{
    uint8_t *der = NULL;
    int n = i2d_PUBKEY(k, &der);
    if (n <= 0) {
        return NULL;
    }
    uint8_t md[32];
    unsigned mdlen = 0;
    int ok = EVP_Digest(der, (size_t)n, md, &mdlen, EVP_sha256(), NULL);
    OPENSSL_free(der);
    if (!ok) {
        return NULL;
    }
    char *hex = xmalloc(65);
    for (unsigned i = 0; i < 32; i++) {
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    }
    return hex;
}

/* "_443._tcp." (when @p tlsa) + a checked host name, as a wire name */
static int name_wire(const char *name, bool tlsa, uint8_t *out)
{
    size_t o = 0;
    if (tlsa) {
        static const char pre[] = "\x04_443\x04_tcp";
        memcpy(out, pre, sizeof(pre) - 1);
        o = sizeof(pre) - 1;
    }
    const char *p = name;
    while (*p) {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        if (len == 0 || len > 63 || o + 1 + len + 1 > DNAME_MAXLEN) {
            return DNSD_EMALFORMED;
        }
        out[o++] = (uint8_t)len;
        memcpy(out + o, p, len);
        o += len;
        p += len + (dot ? 1 : 0);
    }
    out[o++] = 0;
    dname_lower(out);
    return (int)o;
}

static int zone_of(zw_t *w, const uint8_t *owner, zw_zone_t *z, diag_t *d)
{
    int err = acme_dns01_zone(w->s, w->txn, owner, z);
    if (err) {
        char on[1100];
        dname_to_str(owner, on, sizeof(on));
        diag_set(d, on, 0, "%s", err == DNSD_ENOZONE ? "no zone in this store holds it"
                                                     : dnsd_strerror(err));
    }
    return err;
}

/* replace RRset (owner, type, region) by @p rds (count @p n; 0 deletes it) */
static int rrset_put(zw_t *w, const zw_zone_t *z, const uint8_t *owner, uint16_t type,
                     uint16_t region, uint32_t ttl, uint8_t (*rds)[300], const uint16_t *lens,
                     int n, diag_t *d)
{
    int err = zw_rr_del(w, z, owner, type, region, NULL, 0);
    if (err && err != DNSD_ENOTFOUND) {
        diag_set(d, "shard", 0, "cannot replace an RRset: %s", dnsd_strerror(err));
        return err;
    }
    for (int i = 0; i < n; i++) {
        err = zw_rr_add(w, z, owner, type, region, ttl, rds[i], lens[i]);
        if (err && err != DNSD_EEXIST) {
            diag_set(d, "shard", 0, "cannot add a record: %s", dnsd_strerror(err));
            return err;
        }
    }
    return 0;
}

/* a pool's load balancers as A and AAAA rdata, without duplicates */
static int pool_rdata(json_t *lbs, uint8_t (*a)[300], uint16_t *alen, int *na,
                      uint8_t (*aaaa)[300], uint16_t *aaaalen, int *naaaa, diag_t *d)
{
    size_t i;
    json_t *x;
    *na = *naaaa = 0;
    json_array_foreach(lbs, i, x)
    {
        struct sockaddr_storage ss;
        if (acme_shard_lb_parse(json_string_value(x), &ss) != 0) {
            diag_set(d, "shard", 0, "load balancer \"%s\" is not an address",
                     json_string_value(x));
            return DNSD_EMALFORMED;
        }
        if (ss.ss_family == AF_INET && *na < ACME_SHARD_LB_MAX) {
            memcpy(a[*na], &((struct sockaddr_in *)&ss)->sin_addr, 4);
            bool dup = false;
            for (int k = 0; k < *na && !dup; k++) {
                dup = memcmp(a[k], a[*na], 4) == 0;
            }
            if (!dup) {
                alen[(*na)++] = 4;
            }
        } else if (ss.ss_family == AF_INET6 && *naaaa < ACME_SHARD_LB_MAX) {
            memcpy(aaaa[*naaaa], &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
            bool dup = false;
            for (int k = 0; k < *naaaa && !dup; k++) {
                dup = memcmp(aaaa[k], aaaa[*naaaa], 16) == 0;
            }
            if (!dup) {
                aaaalen[(*naaaa)++] = 16;
            }
        }
    }
    return 0;
}

static int shard_region(zw_t *w, json_t *sh, uint16_t *region, diag_t *d)
{
    const char *rn = acme_js(sh, "region");
    int err = zs_region_id(w->s, w->txn, rn, region);
    if (err) {
        diag_set(d, "shard", 0, "region %s: %s", rn,
                 err == DNSD_ENOTFOUND ? "no such region" : dnsd_strerror(err));
    }
    return err;
}

int acme_shard_write(zw_t *w, json_t *req, json_t *state, bool clear, diag_t *d)
{
    json_t *sh = acme_shard_of(req);
    if (!sh) {
        return 0;
    }
    uint16_t region;
    int err = shard_region(w, sh, &region, d);
    if (err) {
        return err;
    }
    /* the worker's shard state: TLSA set, generation and, during a rollout
     * (acme/rollout.h), the policy's short TTL for every record written here */
    json_t *ss = json_object_get(state, "shard");
    uint32_t ttl = (uint32_t)acme_ji(ss, "rollout_ttl");
    if (ttl == 0) {
        ttl = (uint32_t)acme_ji(sh, "ttl");
    }
    if (ttl == 0) {
        ttl = ACME_SHARD_TTL_DEFAULT;
    }
    /* the pool */
    uint8_t a[ACME_SHARD_LB_MAX][300], aaaa[ACME_SHARD_LB_MAX][300];
    uint16_t alen[ACME_SHARD_LB_MAX], aaaalen[ACME_SHARD_LB_MAX];
    int na = 0, naaaa = 0;
    size_t i;
    json_t *x;
    if ((err = pool_rdata(json_object_get(sh, "lb"), a, alen, &na, aaaa, aaaalen, &naaaa, d))) {
        return err;
    }
    /* the canary pool, in the canary region, while a rollout runs */
    uint8_t ca[ACME_SHARD_LB_MAX][300], caaaa[ACME_SHARD_LB_MAX][300];
    uint16_t calen[ACME_SHARD_LB_MAX], caaaalen[ACME_SHARD_LB_MAX];
    int nca = 0, ncaaaa = 0;
    bool canary_on = !clear && acme_ji(ss, "rollout_ttl") > 0;
    if (canary_on && (err = pool_rdata(json_object_get(sh, "canary_lb"), ca, calen, &nca, caaaa,
                                       caaaalen, &ncaaaa, d))) {
        return err;
    }
    uint16_t canary_region = 0;
    char cname[ZS_REGION_NAME_MAX + 16];
    snprintf(cname, sizeof(cname), "%s" ZS_ROLLOUT_CANARY_SUFFIX, acme_js(sh, "region"));
    bool has_canary = zs_region_id(w->s, w->txn, cname, &canary_region) == 0;
    if (canary_on && !has_canary) {
        diag_set(d, "shard", 0, "region %s has no canary region %s", acme_js(sh, "region"), cname);
        return DNSD_ENOTFOUND;
    }
    uint8_t tl[8][300], tx[1][300];
    uint16_t tllen[8], txlen[1];
    int ntl = 0;
    json_array_foreach(json_object_get(ss, "tlsa"), i, x)
    {
        const char *h = json_string_value(x);
        if (!h || strlen(h) != 64 || ntl == 8) {
            continue;
        }
        tl[ntl][0] = 3;
        tl[ntl][1] = 1;
        tl[ntl][2] = 1;
        for (int k = 0; k < 32; k++) {
            unsigned v;
            sscanf(h + 2 * k, "%2x", &v);
            tl[ntl][3 + k] = (uint8_t)v;
        }
        tllen[ntl++] = 35;
    }
    int ntx = 0;
    if (ss && ntl > 0) {
        char gen[256];
        int n = snprintf(gen, sizeof(gen), "dnsd-shard gen=%lld serial=%s spki=%s next=%s",
                         acme_ji(ss, "gen"), acme_js(ss, "serial"), acme_js(ss, "spki"),
                         acme_js(ss, "next_spki"));
        if (n > 0 && n < 256) {
            tx[0][0] = (uint8_t)n;
            memcpy(tx[0] + 1, gen, (size_t)n);
            txlen[0] = (uint16_t)(n + 1);
            ntx = 1;
        }
    }
    /* HTTPS (RFC 9460): "1 . alpn=..." when the shard names ALPN protocols */
    uint8_t hs[1][300];
    uint16_t hslen[1];
    int nhs = 0;
    const char *alpn = acme_js(sh, "alpn");
    if (*alpn) {
        uint8_t *p = hs[0];
        size_t o = 0, lenpos;
        p[o++] = 0;
        p[o++] = 1; /* SvcPriority 1: ServiceMode */
        p[o++] = 0; /* TargetName "." (the owner itself) */
        p[o++] = 0;
        p[o++] = 1; /* SvcParamKey alpn */
        lenpos = o;
        o += 2;
        char buf[256];
        snprintf(buf, sizeof(buf), "%s", alpn);
        for (char *sv = NULL, *id = strtok_r(buf, ",", &sv); id; id = strtok_r(NULL, ",", &sv)) {
            size_t l = strlen(id);
            if (l == 0 || l > 255 || o + 1 + l > sizeof(hs[0])) {
                diag_set(d, "shard", 0, "alpn \"%s\" is not a list of protocol ids", alpn);
                return DNSD_EMALFORMED;
            }
            p[o++] = (uint8_t)l;
            memcpy(p + o, id, l);
            o += l;
        }
        p[lenpos] = (uint8_t)((o - lenpos - 2) >> 8);
        p[lenpos + 1] = (uint8_t)(o - lenpos - 2);
        hslen[0] = (uint16_t)o;
        nhs = 1;
    }
    json_array_foreach(json_object_get(req, "names"), i, x)
    {
        const char *name = json_string_value(x);
        uint8_t owner[DNAME_MAXLEN + 1];
        zw_zone_t z;
        if (name_wire(name, false, owner) < 0 || (err = zone_of(w, owner, &z, d)) != 0) {
            return err ? err : DNSD_EMALFORMED;
        }
        if ((err = rrset_put(w, &z, owner, DNS_T_A, region, ttl, a, alen, clear ? 0 : na, d)) ||
            (err = rrset_put(w, &z, owner, DNS_T_AAAA, region, ttl, aaaa, aaaalen,
                             clear ? 0 : naaaa, d))) {
            return err;
        }
        if ((err = rrset_put(w, &z, owner, DNS_T_HTTPS, region, ttl, hs, hslen, clear ? 0 : nhs, d))) {
            return err;
        }
        if (has_canary &&
            ((err = rrset_put(w, &z, owner, DNS_T_A, canary_region, ttl, ca, calen, nca, d)) ||
             (err = rrset_put(w, &z, owner, DNS_T_AAAA, canary_region, ttl, caaaa, caaaalen,
                              ncaaaa, d)))) {
            return err;
        }
        if (name[0] == '*') {
            continue; /* no TLSA at a wildcard owner */
        }
        if (name_wire(name, true, owner) < 0) {
            return DNSD_EMALFORMED;
        }
        if ((err = rrset_put(w, &z, owner, DNS_T_TLSA, region, ttl, tl, tllen, clear ? 0 : ntl, d)) ||
            (err = rrset_put(w, &z, owner, DNS_T_TXT, region, ttl, tx, txlen, clear ? 0 : ntx, d))) {
            return err;
        }
    }
    return 0;
}

int acme_shard_records(zw_t *w, json_t *req, json_t *state, diag_t *d)
{
    return acme_shard_write(w, req, state, false, d);
}


/* ---- TLS probe ---- */

int acme_tls_probe(const struct sockaddr_storage *lb, const char *sni, int timeout_ms,
                   char *serial, size_t cap, char *why, size_t whycap)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    SSL *ssl = ctx ? SSL_new(ctx) : NULL;
    int ret = -1, fd = -1;
    if (!ssl) {
        snprintf(why, whycap, "cannot set up TLS");
        goto out;
    }
    /* no verification: the probe asks WHICH certificate is presented */
    SSL_set_verify(ssl, SSL_VERIFY_NONE, NULL);
    SSL_set_tlsext_host_name(ssl, sni);
    /* connect and handshake, one deadline (shared with the rollout probes) */
    if ((fd = tlsprobe_handshake(lb, ssl, timeout_ms, why, whycap)) < 0) {
        goto out;
    }
    X509 *peer = SSL_get1_peer_certificate(ssl);
    if (!peer) {
        snprintf(why, whycap, "no certificate presented");
        goto out;
    }
    BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(peer), NULL);
    char *hex = bn ? BN_bn2hex(bn) : NULL;
    snprintf(serial, cap, "%s", hex ? hex : "");
    OPENSSL_free(hex);
    BN_free(bn);
    X509_free(peer);
    ret = 0;
out:
    if (ssl) {
        SSL_set_quiet_shutdown(ssl, 1); /* no close_notify wait on a non-blocking socket */
        SSL_shutdown(ssl);
        SSL_free(ssl);
    }
    SSL_CTX_free(ctx);
    if (fd >= 0) {
        close(fd);
    }
    return ret;
}

static void *probe_thread(void *arg)
{
    acme_probe_t *p = arg;
    p->rc = acme_tls_probe(&p->lb, p->sni, p->timeout_ms, p->serial, sizeof(p->serial), p->why,
                           sizeof(p->why));
    return NULL;
}

void acme_tls_probe_all(acme_probe_t *p, int n, int timeout_ms)
{
    pthread_t th[ACME_SHARD_LB_MAX];
    bool started[ACME_SHARD_LB_MAX] = {false};
    if (n > ACME_SHARD_LB_MAX) {
        n = ACME_SHARD_LB_MAX;
    }
    for (int i = 0; i < n; i++) {
        p[i].timeout_ms = timeout_ms;
        if (p[i].rc != 0) {
            continue; /* the caller marked it (e.g. not an address) */
        }
        started[i] = pthread_create(&th[i], NULL, probe_thread, &p[i]) == 0;
        if (!started[i]) {
            probe_thread(&p[i]); /* no thread: probe it here, still bounded */
        }
    }
    for (int i = 0; i < n; i++) {
        if (started[i]) {
            pthread_join(th[i], NULL);
        }
    }
}

/* ---- crt-list ---- */

/* the certificate path of a crt-list line ("" for blank and comment lines) */
static size_t first_token(const char *line, size_t len, const char **tok)
{
    size_t i = 0;
    while (i < len && (line[i] == ' ' || line[i] == '\t')) {
        i++;
    }
    *tok = line + i;
    if (i == len || line[i] == '#') {
        return 0;
    }
    size_t j = i;
    while (j < len && line[j] != ' ' && line[j] != '\t') {
        j++;
    }
    return j - i;
}

static bool names_path(const char *lines, const char *tok, size_t tlen)
{
    for (const char *p = lines; *p;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        const char *t;
        size_t n = first_token(p, len, &t);
        if (n == tlen && memcmp(t, tok, n) == 0) {
            return true;
        }
        p += len + (nl ? 1 : 0);
    }
    return false;
}

char *acme_crtlist_merge(const char *old, const char *shard_lines)
{
    size_t cap = (old ? strlen(old) : 0) + strlen(shard_lines) + sizeof(ACME_CRTLIST_MARK) + 4;
    char *out = xmalloc(cap);
    size_t n = 0;
    const char *mark = old ? strstr(old, ACME_CRTLIST_MARK "\n") : NULL;
    if (mark && mark != old && mark[-1] != '\n') {
        mark = NULL; /* only a whole line counts */
    }
    for (const char *p = old; p && *p && p != mark;) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        const char *t;
        size_t tl = first_token(p, len, &t);
        /* above the mark: all kept; a file without one (the operator's
         * bootstrap): its lines but those naming a shard's bundle */
        if (mark || (tl > 0 && !names_path(shard_lines, t, tl))) {
            memcpy(out + n, p, len);
            n += len;
            out[n++] = '\n';
        }
        p += len + (nl ? 1 : 0);
    }
    n += (size_t)snprintf(out + n, cap - n, "%s\n%s", ACME_CRTLIST_MARK, shard_lines);
    return out;
}
