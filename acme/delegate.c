/* SPDX-License-Identifier: MIT */
/*
 * delegate.c -- DNS-01 through a delegated _acme-challenge CNAME: targets,
 * the store's target secret, and the preflight that asks the customer's
 * authoritative servers (see delegate.h). Slow path; blocking DNS queries,
 * each bounded; ldns parses what comes back.
 */
#include "acme/delegate.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ldns/ldns.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "acme/certdb.h"
#include "acme/dns01.h"
#include "acme/dnsq.h"
#include "acme/jws.h"
#include "zones/base/clock.h"
#include "zones/base/err.h"
#include "zones/base/parse.h"
#include "zones/rrtype.h"

#define WALK_MAX 32  /* NS queries up the tree before giving up on a zone cut */
#define ASK_MAX 16   /* authoritative addresses asked per preflight */

int acme_delegate_secret(zs_store_t *s, MDB_txn *txn, bool create,
                         uint8_t out[ACME_DELEGATE_SECRET_LEN])
{
    json_t *v = NULL;
    int err = acme_db_get(s, txn, ACME_DB_DELEGATE_SECRET, &v);
    if (err == 0) {
        uint8_t *raw = NULL;
        size_t n = 0;
        if (acme_b64url_decode(acme_js(v, "secret"), &raw, &n) != 0 ||
            n != ACME_DELEGATE_SECRET_LEN) {
            err = DNSD_ESTORE;
        } else {
            memcpy(out, raw, n);
        }
        free(raw);
        json_decref(v);
        return err;
    }
    if (err != DNSD_ENOTFOUND || !create) {
        return err;
    }
    if (RAND_bytes(out, ACME_DELEGATE_SECRET_LEN) != 1) {
        return DNSD_ECRYPTO;
    }
    char *b = acme_b64url(out, ACME_DELEGATE_SECRET_LEN);
    v = json_pack("{s:s, s:I}", "secret", b, "created", (json_int_t)time(NULL));
    free(b);
    err = acme_db_put(s, txn, ACME_DB_DELEGATE_SECRET, v);
    json_decref(v);
    return err;
}

int acme_delegate_target(const uint8_t secret[ACME_DELEGATE_SECRET_LEN], const char *cert_id,
                         const char *name, const char *via, char *out, size_t cap)
{
    char v[300], why[300];
    if (name[0] == '*' && name[1] == '.') {
        name += 2;
    }
    if (acme_name_check(via, v, sizeof(v), why, sizeof(why)) != 0 || v[0] == '*') {
        return DNSD_EMALFORMED;
    }
    /* "<cert id>\n<name>": neither holds a newline, so no two pairs collide */
    char msg[600];
    int ml = snprintf(msg, sizeof(msg), "%s\n%s", cert_id, name);
    if (ml < 0 || (size_t)ml >= sizeof(msg)) {
        return DNSD_EMALFORMED;
    }
    uint8_t mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    if (!HMAC(EVP_sha256(), secret, ACME_DELEGATE_SECRET_LEN, (const uint8_t *)msg, (size_t)ml,
              mac, &maclen) ||
        maclen < 20) {
        return DNSD_ECRYPTO;
    }
    /* base32 (RFC 4648 6) of 20 bytes: 32 characters, no padding */
    static const char b32[] = "abcdefghijklmnopqrstuvwxyz234567";
    char label[ACME_DELEGATE_LABEL_LEN + 1];
    for (int i = 0; i < ACME_DELEGATE_LABEL_LEN; i++) {
        int bit = i * 5, byte = bit / 8, shift = bit % 8;
        unsigned w = (unsigned)mac[byte] << 8 | (byte + 1 < 20 ? mac[byte + 1] : 0);
        label[i] = b32[(w >> (11 - shift)) & 31];
    }
    label[ACME_DELEGATE_LABEL_LEN] = 0;
    int n = snprintf(out, cap, "%s.%s.", label, v);
    if (n < 0 || (size_t)n >= cap || n > 254) {
        return DNSD_EMALFORMED;
    }
    return 0;
}

int acme_owner_parse(const char *text, uint8_t out[DNAME_MAXLEN + 1])
{
    size_t n = strlen(text), o = 0;
    if (n > 0 && text[n - 1] == '.') {
        n--;
    }
    if (n == 0) {
        return DNSD_EMALFORMED; /* the root is never an owner here */
    }
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && text[i] != '.') {
            unsigned char c = (unsigned char)text[i];
            if (!isalnum(c) && c != '-' && c != '_') {
                return DNSD_EMALFORMED;
            }
            continue;
        }
        size_t len = i - start;
        if (len == 0 || len > 63 || o + 1 + len + 1 > DNAME_MAXLEN) {
            return DNSD_EMALFORMED;
        }
        out[o++] = (uint8_t)len;
        for (size_t k = start; k < i; k++) {
            out[o++] = (uint8_t)tolower((unsigned char)text[k]);
        }
        start = i + 1;
    }
    out[o++] = 0;
    return (int)o;
}

void acme_delegate_record(const char *name, const char *target, char *out, size_t cap)
{
    if (name[0] == '*' && name[1] == '.') {
        name += 2;
    }
    snprintf(out, cap, "_acme-challenge.%s. CNAME %s", name, target);
}

/* ---- reading answers (bytes from the network: fuzzed) ---- */

/* an ldns dname rdf as lower-case wire in @p out; false if it does not fit */
static bool rdf_wire(const ldns_rdf *rd, uint8_t out[DNAME_MAXLEN + 1])
{
    if (!rd || ldns_rdf_get_type(rd) != LDNS_RDF_TYPE_DNAME) {
        return false;
    }
    size_t n = ldns_rdf_size(rd);
    if (n == 0 || n > DNAME_MAXLEN || dname_wire_len(ldns_rdf_data(rd), n) != (int)n) {
        return false;
    }
    memcpy(out, ldns_rdf_data(rd), n);
    dname_lower(out);
    return true;
}

static bool owner_is(const ldns_rr *rr, const uint8_t *name)
{
    uint8_t o[DNAME_MAXLEN + 1];
    return rdf_wire(ldns_rr_owner(rr), o) && dname_eq(o, name);
}

/* parse and check the question: @return the packet or NULL (why set) */
static ldns_pkt *parse_answer(const uint8_t *pkt, size_t len, const uint8_t *qname, char *why,
                              size_t wcap)
{
    ldns_pkt *p = NULL;
    if (len < 12 || ldns_wire2pkt(&p, pkt, len) != LDNS_STATUS_OK || !p) {
        snprintf(why, wcap, "malformed DNS message");
        return NULL;
    }
    ldns_rr_list *q = ldns_pkt_question(p);
    if (!ldns_pkt_qr(p) || !q || ldns_rr_list_rr_count(q) != 1 ||
        !owner_is(ldns_rr_list_rr(q, 0), qname)) {
        snprintf(why, wcap, "the answer is not for the question asked");
        ldns_pkt_free(p);
        return NULL;
    }
    return p;
}

int acme_delegate_verdict(const uint8_t *pkt, size_t len, const uint8_t *qname,
                          const uint8_t *want, char *found, size_t fcap, char *why, size_t wcap)
{
    found[0] = 0;
    why[0] = 0;
    ldns_pkt *p = parse_answer(pkt, len, qname, why, wcap);
    if (!p) {
        return ACME_DELEG_BAD;
    }
    int rc = ACME_DELEG_MISSING;
    ldns_pkt_rcode rcode = ldns_pkt_get_rcode(p);
    if (rcode != LDNS_RCODE_NOERROR && rcode != LDNS_RCODE_NXDOMAIN) {
        snprintf(why, wcap, "answered rcode %d", (int)rcode);
        rc = ACME_DELEG_BAD;
        goto out;
    }
    if (!ldns_pkt_aa(p)) {
        /* a referral or a cached answer: this server is not the authority */
        snprintf(why, wcap, "answered without the AA bit (not authoritative for the name)");
        rc = ACME_DELEG_BAD;
        goto out;
    }
    ldns_rr_list *an = ldns_pkt_answer(p);
    for (size_t i = 0; an && i < ldns_rr_list_rr_count(an); i++) {
        const ldns_rr *rr = ldns_rr_list_rr(an, i);
        uint8_t t[DNAME_MAXLEN + 1];
        if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_CNAME || !owner_is(rr, qname)) {
            continue;
        }
        if (ldns_rr_rd_count(rr) != 1 || !rdf_wire(ldns_rr_rdf(rr, 0), t)) {
            snprintf(why, wcap, "a CNAME record without a usable target");
            rc = ACME_DELEG_BAD;
            goto out;
        }
        dname_to_str(t, found, fcap);
        rc = dname_eq(t, want) ? ACME_DELEG_OK : ACME_DELEG_WRONG;
        break;
    }
out:
    ldns_pkt_free(p);
    return rc;
}

int acme_delegate_ns_answer(const uint8_t *pkt, size_t len, const uint8_t *zone,
                            uint8_t ns[][DNAME_MAXLEN + 1], int max, char *why, size_t wcap)
{
    ldns_pkt *p = parse_answer(pkt, len, zone, why, wcap);
    if (!p) {
        return DNSD_EMALFORMED;
    }
    ldns_pkt_rcode rcode = ldns_pkt_get_rcode(p);
    if (rcode != LDNS_RCODE_NOERROR && rcode != LDNS_RCODE_NXDOMAIN) {
        snprintf(why, wcap, "answered rcode %d", (int)rcode);
        ldns_pkt_free(p);
        return DNSD_ENET;
    }
    int n = 0;
    ldns_rr_list *an = ldns_pkt_answer(p);
    for (size_t i = 0; an && i < ldns_rr_list_rr_count(an) && n < max; i++) {
        const ldns_rr *rr = ldns_rr_list_rr(an, i);
        if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_NS || !owner_is(rr, zone) ||
            ldns_rr_rd_count(rr) != 1 || !rdf_wire(ldns_rr_rdf(rr, 0), ns[n])) {
            continue;
        }
        bool dup = false;
        for (int k = 0; k < n && !dup; k++) {
            dup = dname_eq(ns[k], ns[n]);
        }
        n += !dup;
    }
    ldns_pkt_free(p);
    return n;
}

int acme_delegate_addr_answer(const uint8_t *pkt, size_t len, const uint8_t *host, uint16_t qtype,
                              uint16_t port, struct sockaddr_storage *out, int max)
{
    char why[100];
    ldns_pkt *p = parse_answer(pkt, len, host, why, sizeof(why));
    if (!p) {
        return DNSD_EMALFORMED;
    }
    uint8_t cur[DNAME_MAXLEN + 1];
    memcpy(cur, host, (size_t)dname_wire_len(host, DNAME_MAXLEN + 1));
    ldns_rr_list *an = ldns_pkt_answer(p);
    size_t cnt = an ? ldns_rr_list_rr_count(an) : 0;
    /* follow a CNAME chain inside the answer, a few links at most */
    for (int hop = 0; hop < 8; hop++) {
        bool moved = false;
        for (size_t i = 0; i < cnt && !moved; i++) {
            const ldns_rr *rr = ldns_rr_list_rr(an, i);
            if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_CNAME && owner_is(rr, cur) &&
                ldns_rr_rd_count(rr) == 1) {
                moved = rdf_wire(ldns_rr_rdf(rr, 0), cur);
            }
        }
        if (!moved) {
            break;
        }
    }
    int n = 0;
    for (size_t i = 0; i < cnt && n < max; i++) {
        const ldns_rr *rr = ldns_rr_list_rr(an, i);
        if ((uint16_t)ldns_rr_get_type(rr) != qtype || !owner_is(rr, cur) ||
            ldns_rr_rd_count(rr) != 1) {
            continue;
        }
        const ldns_rdf *rd = ldns_rr_rdf(rr, 0);
        struct sockaddr_storage *ss = &out[n];
        memset(ss, 0, sizeof(*ss));
        if (qtype == DNS_T_A && ldns_rdf_size(rd) == 4) {
            struct sockaddr_in *a = (void *)ss;
            a->sin_family = AF_INET;
            a->sin_port = htons(port);
            memcpy(&a->sin_addr, ldns_rdf_data(rd), 4);
            n++;
        } else if (qtype == DNS_T_AAAA && ldns_rdf_size(rd) == 16) {
            struct sockaddr_in6 *a = (void *)ss;
            a->sin6_family = AF_INET6;
            a->sin6_port = htons(port);
            memcpy(&a->sin6_addr, ldns_rdf_data(rd), 16);
            n++;
        }
    }
    ldns_pkt_free(p);
    return n;
}

/* ---- asking ---- */

int acme_delegate_resolver(const struct sockaddr_storage *cfg, struct sockaddr_storage *out,
                           char *why, size_t wcap)
{
    if (cfg && cfg->ss_family != 0) {
        *out = *cfg;
        return 0;
    }
    FILE *f = fopen("/etc/resolv.conf", "r");
    if (!f) {
        snprintf(why, wcap, "no recursive resolver: set acme-resolver (/etc/resolv.conf: %s)",
                 strerror(errno));
        return DNSD_ECONFIG;
    }
    char line[512];
    int rc = DNSD_ECONFIG;
    snprintf(why, wcap, "no recursive resolver: set acme-resolver (/etc/resolv.conf names no "
                        "nameserver)");
    while (fgets(line, sizeof(line), f)) {
        char addr[256];
        if (sscanf(line, " nameserver %255s", addr) == 1 &&
            parse_hostport(addr, 53, 1, out, NULL) == 0) {
            rc = 0;
            break;
        }
    }
    fclose(f);
    return rc;
}

/* the closest zone of @p owner: walk NS queries up from its parent */
static int find_zone(const struct sockaddr_storage *res, int tmo, const uint8_t *owner,
                     uint8_t *buf, uint8_t zone[DNAME_MAXLEN + 1],
                     uint8_t ns[][DNAME_MAXLEN + 1], int *nns, char *why, size_t wcap)
{
    char rs[80], err[300];
    sockaddr_text(res, rs, sizeof(rs));
    const uint8_t *p = owner + owner[0] + 1; /* a CNAME owner is never an apex */
    for (int i = 0; i < WALK_MAX && *p; i++, p += *p + 1) {
        size_t len = 0;
        char zs[DNAME_MAXLEN * 4 + 1];
        dname_to_str(p, zs, sizeof(zs));
        if (acme_dns_ask(res, p, DNS_T_NS, true, 2, tmo, buf, &len, err, sizeof(err)) != 0) {
            snprintf(why, wcap, "resolver %s: %s NS: %s", rs, zs, err);
            return DNSD_ENET;
        }
        int n = acme_delegate_ns_answer(buf, len, p, ns, ACME_DELEGATE_NS_MAX, err, sizeof(err));
        if (n < 0) {
            snprintf(why, wcap, "resolver %s: %s NS: %s", rs, zs, err);
            return DNSD_ENET;
        }
        if (n > 0) {
            memcpy(zone, p, (size_t)dname_wire_len(p, DNAME_MAXLEN + 1));
            *nns = n;
            return 0;
        }
    }
    char os[DNAME_MAXLEN * 4 + 1];
    dname_to_str(owner, os, sizeof(os));
    snprintf(why, wcap, "resolver %s: no zone found holding %s (no NS set above it)", rs, os);
    return DNSD_ENET;
}

int acme_delegate_preflight(const struct sockaddr_storage *resolver, unsigned ns_port,
                            int timeout_ms, const char *name, const char *target, char *why,
                            size_t wcap)
{
    uint8_t owner[DNAME_MAXLEN + 1], want[DNAME_MAXLEN + 1], zone[DNAME_MAXLEN + 1];
    uint8_t ns[ACME_DELEGATE_NS_MAX][DNAME_MAXLEN + 1];
    char rec[600], on[DNAME_MAXLEN * 4 + 1];
    int nns = 0, rc;
    acme_delegate_record(name, target, rec, sizeof(rec));
    if (acme_dns01_owner(name, owner) < 0 || acme_owner_parse(target, want) < 0) {
        snprintf(why, wcap, "%s: no usable challenge owner or target", name);
        return DNSD_EMALFORMED;
    }
    dname_to_str(owner, on, sizeof(on));
    if (ns_port == 0) {
        ns_port = 53;
    }
    uint8_t *buf = malloc(ACME_DNS_ANSWER_MAX);
    if (!buf) {
        return -ENOMEM;
    }
    if ((rc = find_zone(resolver, timeout_ms, owner, buf, zone, ns, &nns, why, wcap)) != 0) {
        goto out;
    }
    char zs[DNAME_MAXLEN * 4 + 1];
    dname_to_str(zone, zs, sizeof(zs));
    int asked = 0;
    for (int h = 0; h < nns; h++) {
        char hs[DNAME_MAXLEN * 4 + 1], err[300] = "", last[1500] = "";
        dname_to_str(ns[h], hs, sizeof(hs));
        struct sockaddr_storage addrs[ACME_DELEGATE_ADDR_MAX];
        int na = 0;
        static const uint16_t types[2] = {DNS_T_A, DNS_T_AAAA};
        for (int t = 0; t < 2; t++) {
            size_t len = 0;
            if (acme_dns_ask(resolver, ns[h], types[t], true, 2, timeout_ms, buf, &len, err, sizeof(err)) ==
                0) {
                int n = acme_delegate_addr_answer(buf, len, ns[h], types[t], (uint16_t)ns_port,
                                                  addrs + na, ACME_DELEGATE_ADDR_MAX - na);
                na += n > 0 ? n : 0;
            }
        }
        if (na == 0) {
            snprintf(why, wcap, "%s (NS of %s): the resolver gives no address%s%s", hs, zs,
                     err[0] ? ": " : "", err);
            rc = DNSD_ENET;
            goto out;
        }
        bool host_ok = false;
        for (int a = 0; a < na && asked < ASK_MAX; a++, asked++) {
            char as[80], found[DNAME_MAXLEN * 4 + 1];
            size_t len = 0;
            sockaddr_text(&addrs[a], as, sizeof(as));
            if (acme_dns_ask(&addrs[a], owner, DNS_T_CNAME, false, 2, timeout_ms, buf, &len, err,
                    sizeof(err)) != 0) {
                snprintf(last, sizeof(last), "%s (%s): %s", hs, as, err);
                continue; /* another address of this host may answer */
            }
            int v = acme_delegate_verdict(buf, len, owner, want, found, sizeof(found), err,
                                          sizeof(err));
            if (v == ACME_DELEG_OK) {
                host_ok = true;
            } else if (v == ACME_DELEG_MISSING) {
                snprintf(why, wcap, "%s (%s) serves no CNAME for %s; add the record: %s", hs, as,
                         on, rec);
                rc = DNSD_ENOTFOUND;
                goto out;
            } else if (v == ACME_DELEG_WRONG) {
                snprintf(why, wcap, "%s (%s) has %s CNAME %s, not %s; the record must be: %s",
                         hs, as, on, found, target, rec);
                rc = DNSD_ENOTFOUND;
                goto out;
            } else {
                snprintf(last, sizeof(last), "%s (%s): %s", hs, as, err);
            }
        }
        if (!host_ok) {
            snprintf(why, wcap, "cannot check the CNAME at %s, NS of %s: %s", hs, zs,
                     last[0] ? last : "too many addresses");
            rc = DNSD_ENET;
            goto out;
        }
    }
    rc = 0;
out:
    free(buf);
    return rc;
}

int acme_challenge_owner(json_t *req, const char *name, uint8_t owner[DNAME_MAXLEN + 1],
                         char *text, size_t cap)
{
    json_t *via = json_object_get(req, "via");
    int n;
    if (!via) {
        n = acme_dns01_owner(name, owner);
        if (n > 0) {
            dname_to_str(owner, text, cap);
        }
        return n;
    }
    const char *base = name[0] == '*' && name[1] == '.' ? name + 2 : name;
    const char *t = acme_js(json_object_get(via, "targets"), base);
    if (!*t) {
        return DNSD_ENOTFOUND;
    }
    n = acme_owner_parse(t, owner);
    if (n > 0) {
        dname_to_str(owner, text, cap);
    }
    return n;
}

int acme_delegate_check_request(json_t *req, const struct sockaddr_storage *resolver,
                                unsigned ns_port, int timeout_ms, char *why, size_t wcap)
{
    json_t *via = json_object_get(req, "via");
    if (!via) {
        return 0;
    }
    struct sockaddr_storage res;
    char err[1800];
    int rc = acme_delegate_resolver(resolver, &res, err, sizeof(err));
    if (rc != 0) {
        snprintf(why, wcap, "%s", err);
        return rc;
    }
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(req, "names"), i, x)
    {
        const char *name = json_string_value(x);
        const char *base = name && name[0] == '*' && name[1] == '.' ? name + 2 : name;
        bool before = false;
        for (size_t k = 0; k < i && !before; k++) {
            const char *o = json_string_value(json_array_get(json_object_get(req, "names"), k));
            before = o && strcmp(o[0] == '*' && o[1] == '.' ? o + 2 : o, base) == 0;
        }
        if (!base || before) {
            continue; /* a wildcard and its base share one CNAME */
        }
        const char *t = acme_js(json_object_get(via, "targets"), base);
        if (!*t) {
            snprintf(why, wcap, "%s: the request names no CNAME target for it", base);
            return DNSD_EMALFORMED;
        }
        rc = acme_delegate_preflight(&res, ns_port, timeout_ms, base, t, err, sizeof(err));
        if (rc != 0) {
            snprintf(why, wcap, "%s: %s", base, err);
            return rc;
        }
    }
    return 0;
}
