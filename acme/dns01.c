/* SPDX-License-Identifier: MIT */
/*
 * dns01.c -- challenge records in our own store and the check that servers
 * answer them (see dns01.h).
 */
#include "acme/dns01.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <ldns/ldns.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "acme/dnsq.h"
#include "zones/base/err.h"
#include "zones/rrtype.h"

int acme_name_check(const char *name, char *out, size_t cap, char *why, size_t whycap)
{
    size_t n = strlen(name);
    const char *p = name;
    if (n > 0 && name[n - 1] == '.') {
        n--; /* a trailing dot (absolute name) is accepted and dropped */
    }
    if (n == 0 || n > 253 || n + 1 > cap) {
        snprintf(why, whycap, "%s: a certificate name has 1 to 253 characters", name);
        return DNSD_EMALFORMED;
    }
    size_t o = 0;
    if (n >= 2 && p[0] == '*' && p[1] == '.') {
        out[o++] = '*';
        out[o++] = '.';
        p += 2;
        n -= 2;
    }
    int labels = 0;
    size_t lab = 0;
    for (size_t i = 0; i <= n; i++) {
        char c = i < n ? p[i] : '.';
        if (c == '.') {
            if (lab == 0 || lab > 63) {
                snprintf(why, whycap, "%s: empty label or label over 63 characters", name);
                return DNSD_EMALFORMED;
            }
            if (p[i - 1] == '-' || p[i - lab] == '-') {
                snprintf(why, whycap, "%s: a label may not start or end with '-'", name);
                return DNSD_EMALFORMED;
            }
            labels++;
            lab = 0;
        } else if (isalnum((unsigned char)c) || c == '-') {
            lab++;
        } else {
            snprintf(why, whycap,
                     "%s: '%c' is not allowed in a certificate name (letters, digits, '-', and "
                     "'*.' only in front)",
                     name, c);
            return DNSD_EMALFORMED;
        }
        if (i < n) {
            out[o++] = (char)tolower((unsigned char)c);
        }
    }
    out[o] = '\0';
    if (labels < 2) {
        snprintf(why, whycap, "%s: a certificate name needs at least two labels", name);
        return DNSD_EMALFORMED;
    }
    return 0;
}

int acme_dns01_owner(const char *name, uint8_t out[DNAME_MAXLEN + 1])
{
    static const char pre[] = "\x0f_acme-challenge";
    size_t o = sizeof(pre) - 1;
    memcpy(out, pre, o);
    if (name[0] == '*' && name[1] == '.') {
        name += 2;
    }
    /* acme_name_check()ed names: labels of LDH, 253 bytes at most */
    const char *p = name;
    while (*p) {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        if (o + 1 + len + 1 > DNAME_MAXLEN) {
            return DNSD_EMALFORMED;
        }
        out[o++] = (uint8_t)len;
        for (size_t i = 0; i < len; i++) {
            out[o++] = (uint8_t)tolower((unsigned char)p[i]);
        }
        p += len;
        if (*p == '.') {
            p++;
        }
    }
    out[o++] = 0;
    return (int)o;
}

int acme_dns01_zone(zs_store_t *s, MDB_txn *txn, const uint8_t *owner, zw_zone_t *z)
{
    /* longest apex first: the owner itself, then each ancestor */
    const uint8_t *p = owner;
    while (*p != 0) { /* the root zone is never hosted here */
        int err = zw_zone_get(s, txn, p, z);
        if (err != DNSD_ENOZONE) {
            return err;
        }
        p += *p + 1;
    }
    return DNSD_ENOZONE;
}

static int txt_rdata(const char *value, uint8_t *rd)
{
    size_t n = strlen(value);
    if (n > 255) {
        return DNSD_EMALFORMED;
    }
    rd[0] = (uint8_t)n;
    memcpy(rd + 1, value, n);
    return (int)n + 1;
}

int acme_dns01_add(zw_t *w, const uint8_t *owner, const char *value, zw_zone_t *zp, diag_t *d)
{
    zw_zone_t z;
    char on[1024];
    dname_to_str(owner, on, sizeof(on));
    int err = acme_dns01_zone(w->s, w->txn, owner, &z);
    *zp = z;
    if (err) {
        diag_set(d, on, 0, "%s", err == DNSD_ENOZONE ? "no zone in this store holds it"
                                                    : dnsd_strerror(err));
        return err;
    }
    uint8_t rd[256];
    int rl = txt_rdata(value, rd);
    if (rl < 0) {
        diag_set(d, on, 0, "TXT value too long");
        return rl;
    }
    err = zw_rr_add(w, &z, owner, DNS_T_TXT, ZS_REGION_DEFAULT, ACME_TXT_TTL, rd, (uint16_t)rl);
    if (err == DNSD_EEXIST) {
        return 0;
    }
    if (err) {
        diag_set(d, on, 0, "cannot add the TXT record: %s", dnsd_strerror(err));
    }
    return err;
}

int acme_dns01_del(zw_t *w, const uint8_t *owner, const char *value, zw_zone_t *zp, diag_t *d)
{
    zw_zone_t z;
    char on[1024];
    dname_to_str(owner, on, sizeof(on));
    zp->id = 0;
    int err = acme_dns01_zone(w->s, w->txn, owner, &z);
    if (err == DNSD_ENOZONE) {
        return 0; /* the zone went away: nothing to clean */
    }
    *zp = z;
    if (err) {
        diag_set(d, on, 0, "%s", dnsd_strerror(err));
        return err;
    }
    uint8_t rd[256];
    int rl = txt_rdata(value, rd);
    if (rl < 0) {
        zp->id = 0;
        return 0;
    }
    err = zw_rr_del(w, &z, owner, DNS_T_TXT, ZS_REGION_DEFAULT, rd, (uint16_t)rl);
    if (err == DNSD_ENOTFOUND) {
        zp->id = 0; /* nothing changed there */
        return 0;
    }
    if (err) {
        diag_set(d, on, 0, "cannot remove the TXT record: %s", dnsd_strerror(err));
    }
    return err;
}

int acme_dns01_visible(const struct sockaddr *addr, socklen_t alen, const uint8_t *owner,
                       const char *const *values, int n, int timeout_ms, char *why, size_t cap)
{
    char on[1024], as[INET6_ADDRSTRLEN + 8] = "?";
    dname_to_str(owner, on, sizeof(on));
    uint16_t port = 53;
    if (addr->sa_family == AF_INET) {
        const struct sockaddr_in *a = (const void *)addr;
        inet_ntop(AF_INET, &a->sin_addr, as, sizeof(as));
        port = ntohs(a->sin_port);
        alen = sizeof(*a);
    } else if (addr->sa_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const void *)addr;
        inet_ntop(AF_INET6, &a->sin6_addr, as, sizeof(as));
        port = ntohs(a->sin6_port);
        alen = sizeof(*a);
    } else {
        snprintf(why, cap, "%s: not an IP address", on);
        return DNSD_ENET;
    }
    struct sockaddr_storage to;
    memset(&to, 0, sizeof(to));
    memcpy(&to, addr, alen);
    ldns_rdf *qname = ldns_dname_new_frm_str(on);
    uint8_t *buf = malloc(ACME_DNS_ANSWER_MAX);
    int ret = DNSD_ENET;
    ldns_pkt *p = NULL;
    char err[200] = "";
    size_t len = 0;
    if (!qname || !buf) {
        snprintf(why, cap, "%s: cannot set up the query", on);
        goto out;
    }
    /* one UDP try, then TCP on truncation: at most 2 x timeout_ms (order.c counts on it) */
    if (acme_dns_ask(&to, owner, DNS_T_TXT, false, 1, timeout_ms, buf, &len, err,
                     sizeof(err)) != 0) {
        snprintf(why, cap, "%s port %u: no answer (%s)", as, port, err);
        goto out;
    }
    if (ldns_wire2pkt(&p, buf, len) != LDNS_STATUS_OK) {
        p = NULL;
        snprintf(why, cap, "%s port %u: an answer that does not parse", as, port);
        goto out;
    }
    if (!ldns_pkt_aa(p) || (ldns_pkt_get_rcode(p) != LDNS_RCODE_NOERROR &&
                            ldns_pkt_get_rcode(p) != LDNS_RCODE_NXDOMAIN)) {
        snprintf(why, cap, "%s port %u: not an authoritative answer for %s (rcode %d, aa %d)", as,
                 port, on, ldns_pkt_get_rcode(p), ldns_pkt_aa(p));
        goto out;
    }
    ldns_rr_list *txt = ldns_pkt_rr_list_by_name_and_type(p, qname, LDNS_RR_TYPE_TXT,
                                                          LDNS_SECTION_ANSWER);
    ret = 1;
    for (int i = 0; i < n && ret == 1; i++) {
        bool found = false;
        for (size_t j = 0; txt && j < ldns_rr_list_rr_count(txt) && !found; j++) {
            ldns_rr *rr = ldns_rr_list_rr(txt, j);
            if (ldns_rr_rd_count(rr) != 1) {
                continue;
            }
            ldns_rdf *rd = ldns_rr_rdf(rr, 0);
            const uint8_t *d = ldns_rdf_data(rd);
            size_t rlen = ldns_rdf_size(rd);
            size_t vlen = strlen(values[i]);
            found = rlen == vlen + 1 && d[0] == vlen && memcmp(d + 1, values[i], vlen) == 0;
        }
        if (!found) {
            snprintf(why, cap, "%s port %u does not serve %s TXT \"%s\" yet", as, port, on,
                     values[i]);
            ret = 0;
        }
    }
    ldns_rr_list_deep_free(txt);
out:
    ldns_pkt_free(p);
    ldns_rdf_deep_free(qname);
    free(buf);
    return ret;
}

typedef struct ns_walk {
    zs_store_t *s;
    MDB_txn *txn;
    struct sockaddr_storage *out;
    int max, n;
} ns_walk_t;

static void add_addrs(ns_walk_t *nw, const uint8_t *host)
{
    zw_zone_t hz;
    if (acme_dns01_zone(nw->s, nw->txn, host, &hz) != 0) {
        return; /* not ours: we cannot know its address without resolving */
    }
    for (int t = 0; t < 2; t++) {
        zs_rrset_t rr;
        uint16_t type = t ? DNS_T_AAAA : DNS_T_A;
        if (zw_rrset_get(nw->s, nw->txn, &hz, host, type, ZS_REGION_DEFAULT, &rr) != 0) {
            continue;
        }
        size_t off = 0;
        for (unsigned i = 0; i < rr.count && nw->n < nw->max; i++) {
            uint16_t rl = zs_get16(rr.rdata + off);
            const uint8_t *rd = rr.rdata + off + 2;
            off += 2u + rl;
            struct sockaddr_storage *ss = &nw->out[nw->n];
            memset(ss, 0, sizeof(*ss));
            if (type == DNS_T_A && rl == 4) {
                struct sockaddr_in *a = (void *)ss;
                a->sin_family = AF_INET;
                a->sin_port = htons(53);
                memcpy(&a->sin_addr, rd, 4);
                nw->n++;
            } else if (type == DNS_T_AAAA && rl == 16) {
                struct sockaddr_in6 *a = (void *)ss;
                a->sin6_family = AF_INET6;
                a->sin6_port = htons(53);
                memcpy(&a->sin6_addr, rd, 16);
                nw->n++;
            }
        }
    }
}

int acme_dns01_ns_addrs(zs_store_t *s, MDB_txn *txn, const zw_zone_t *z,
                        struct sockaddr_storage *out, int max)
{
    zs_rrset_t ns;
    if (zw_rrset_get(s, txn, z, z->apex, DNS_T_NS, ZS_REGION_DEFAULT, &ns) != 0) {
        return 0;
    }
    /* copy the NS targets first: the lookups below reuse the txn's pages */
    uint8_t hosts[16][DNAME_MAXLEN + 1];
    int nh = 0;
    size_t off = 0;
    for (unsigned i = 0; i < ns.count && nh < 16; i++) {
        uint16_t rl = zs_get16(ns.rdata + off);
        const uint8_t *rd = ns.rdata + off + 2;
        off += 2u + rl;
        int len = dname_wire_len(rd, rl);
        if (len > 0) {
            memcpy(hosts[nh], rd, (size_t)len);
            dname_lower(hosts[nh]);
            nh++;
        }
    }
    ns_walk_t nw = {s, txn, out, max, 0};
    for (int i = 0; i < nh; i++) {
        add_addrs(&nw, hosts[i]);
    }
    return nw.n;
}
