/* SPDX-License-Identifier: MIT */
/*
 * t_delegate.c -- DNS-01 through a delegated CNAME (acme/delegate.c), the
 * offline parts: CNAME targets (stable for one certificate and name,
 * different for another certificate, name or secret, a wildcard sharing
 * its base's target, base32 labels of 32 characters, an HMAC-SHA256 test
 * against OpenSSL computed here), the store's secret (made once, kept,
 * damage refused), owner names parsed back, the challenge owner of a
 * request, and the verdicts on authoritative answers built with ldns: one
 * named case per row. The network side runs in t_acme_delegate.sh.
 */
#include <arpa/inet.h>
#include <jansson.h>
#include <ldns/ldns.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "acme/certdb.h"
#include "acme/delegate.h"
#include "tests/tap.h"
#include "zones/base/err.h"
#include "zones/rrtype.h"
#include "zones/writer.h"

static const uint8_t secret1[32] = "0123456789abcdef0123456789abcdef";
static const uint8_t secret2[32] = "fedcba9876543210fedcba9876543210";

static void targets(void)
{
    char a[300], b[300], c[300];
    is_int(acme_delegate_target(secret1, "www.customer.example", "www.customer.example",
                                "acme.example.net", a, sizeof(a)),
           0, "a target for www.customer.example");
    ok(strlen(a) == ACME_DELEGATE_LABEL_LEN + strlen(".acme.example.net."), "label of 32: %s", a);
    ok(strspn(a, "abcdefghijklmnopqrstuvwxyz234567") == ACME_DELEGATE_LABEL_LEN,
       "the label is lower-case base32");
    ok(strcmp(a + ACME_DELEGATE_LABEL_LEN, ".acme.example.net.") == 0, "under the via name");
    acme_delegate_target(secret1, "www.customer.example", "www.customer.example",
                         "acme.example.net.", b, sizeof(b));
    is_str(b, a, "stable (and the via name's final dot makes no difference)");
    acme_delegate_target(secret1, "www.customer.example", "*.www.customer.example",
                         "acme.example.net", b, sizeof(b));
    is_str(b, a, "a wildcard shares its base's target");
    acme_delegate_target(secret1, "other", "www.customer.example", "acme.example.net", b,
                         sizeof(b));
    ok(strcmp(a, b) != 0, "another certificate id: another target");
    acme_delegate_target(secret1, "www.customer.example", "api.customer.example",
                         "acme.example.net", b, sizeof(b));
    ok(strcmp(a, b) != 0, "another name: another target");
    acme_delegate_target(secret2, "www.customer.example", "www.customer.example",
                         "acme.example.net", c, sizeof(c));
    ok(strcmp(a, c) != 0, "another store secret: another target");

    /* the label is base32 of the first 20 bytes of HMAC-SHA256(secret, "id\nname") */
    uint8_t mac[32];
    unsigned int ml = 0;
    const char *msg = "www.customer.example\nwww.customer.example";
    HMAC(EVP_sha256(), secret1, 32, (const uint8_t *)msg, strlen(msg), mac, &ml);
    char want[33];
    static const char b32[] = "abcdefghijklmnopqrstuvwxyz234567";
    unsigned long long acc = 0;
    int bits = 0, o = 0;
    for (int i = 0; i < 20; i++) {
        acc = acc << 8 | mac[i];
        bits += 8;
        while (bits >= 5) {
            want[o++] = b32[(acc >> (bits - 5)) & 31];
            bits -= 5;
        }
    }
    want[o] = 0;
    ok(strncmp(a, want, 32) == 0, "label = base32(HMAC-SHA256(secret, id LF name))[0..20)");

    ok(acme_delegate_target(secret1, "x", "www.customer.example", "bad_name.example", b,
                            sizeof(b)) == DNSD_EMALFORMED,
       "a malformed via name is refused");
    ok(acme_delegate_target(secret1, "x", "www.customer.example", "*.example.net", b, sizeof(b)) ==
           DNSD_EMALFORMED,
       "a wildcard via name is refused");

    char rec[600];
    acme_delegate_record("*.customer.example", a, rec, sizeof(rec));
    ok(strncmp(rec, "_acme-challenge.customer.example. CNAME ", 40) == 0,
       "the record to add, for a wildcard: its base's owner");
}

static void owners(void)
{
    uint8_t w[DNAME_MAXLEN + 1];
    static const struct {
        const char *name, *text;
        int len;
    } rows[] = {
        {"absolute", "_acme-challenge.WWW.example.", 29},
        {"relative", "_acme-challenge.www.example", 29},
        {"a target", "abc234.acme.example.net.", 25},
        {"empty", "", DNSD_EMALFORMED},
        {"root", ".", DNSD_EMALFORMED},
        {"empty label", "a..b", DNSD_EMALFORMED},
        {"space", "a b.example", DNSD_EMALFORMED},
        {"escape", "a\\.b.example", DNSD_EMALFORMED},
        {"label of 64",
         "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example",
         DNSD_EMALFORMED},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        is_int(acme_owner_parse(rows[i].text, w), rows[i].len, "owner parse: %s", rows[i].name);
    }
    acme_owner_parse("_acme-challenge.WWW.example.", w);
    ok(memcmp(w, "\x0f_acme-challenge\x03www\x07" "example", 29) == 0, "lower-cased wire form");

    /* the challenge owner of a request */
    char t[300];
    json_t *req = json_pack("{s:[s]}", "names", "www.customer.example");
    ok(acme_challenge_owner(req, "www.customer.example", w, t, sizeof(t)) > 0 &&
           strcmp(t, "_acme-challenge.www.customer.example.") == 0,
       "no via: _acme-challenge.<name>");
    json_object_set_new(req, "via",
                        json_pack("{s:s, s:{s:s}}", "zone", "acme.example.net.", "targets",
                                  "www.customer.example", "abc.acme.example.net."));
    ok(acme_challenge_owner(req, "www.customer.example", w, t, sizeof(t)) > 0 &&
           strcmp(t, "abc.acme.example.net.") == 0,
       "via: the CNAME target");
    ok(acme_challenge_owner(req, "*.www.customer.example", w, t, sizeof(t)) > 0 &&
           strcmp(t, "abc.acme.example.net.") == 0,
       "via, wildcard: its base's target");
    is_int(acme_challenge_owner(req, "api.customer.example", w, t, sizeof(t)), DNSD_ENOTFOUND,
           "via without a target for the name: refused");
    json_decref(req);
}

static void secret(void)
{
    char dir[] = "/tmp/t_delegate.XXXXXX";
    if (!mkdtemp(dir)) {
        ok(0, "mkdtemp");
        return;
    }
    zs_store_t *s = NULL;
    diag_t d = {0};
    is_int(zs_open(dir, ZS_OPEN_CREATE, 0, &s, &d), 0, "store opened");
    uint8_t a[32], b[32];
    zw_t w;
    zw_begin(s, &w);
    is_int(acme_delegate_secret(s, w.txn, false, a), DNSD_ENOTFOUND, "no secret yet");
    is_int(acme_delegate_secret(s, w.txn, true, a), 0, "made when asked to");
    is_int(zw_commit(&w, &d), 0, "committed");
    zw_begin(s, &w);
    is_int(acme_delegate_secret(s, w.txn, true, b), 0, "read back");
    ok(memcmp(a, b, 32) == 0, "the same secret: made once");
    json_t *bad = json_pack("{s:s}", "secret", "c2hvcnQ");
    acme_db_put(s, w.txn, ACME_DB_DELEGATE_SECRET, bad);
    json_decref(bad);
    is_int(acme_delegate_secret(s, w.txn, true, b), DNSD_ESTORE,
           "a damaged secret is refused, never replaced");
    zw_abort(&w);
    zs_close(s);
    char cmd[100];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0) {
        printf("# cannot remove %s\n", dir);
    }
}

/* an answer to "QNAME CNAME" with flags and records, as wire */
static size_t answer(const char *qname, bool qr, bool aa, ldns_pkt_rcode rcode,
                     const char *const *rrs, uint8_t **wire)
{
    ldns_pkt *p = ldns_pkt_query_new(ldns_dname_new_frm_str(qname), LDNS_RR_TYPE_CNAME,
                                     LDNS_RR_CLASS_IN, 0);
    ldns_pkt_set_qr(p, qr);
    ldns_pkt_set_aa(p, aa);
    ldns_pkt_set_rcode(p, (uint8_t)rcode);
    for (int i = 0; rrs && rrs[i]; i++) {
        ldns_rr *rr = NULL;
        if (ldns_rr_new_frm_str(&rr, rrs[i], 0, NULL, NULL) == LDNS_STATUS_OK) {
            ldns_pkt_push_rr(p, LDNS_SECTION_ANSWER, rr);
        }
    }
    size_t n = 0;
    ldns_pkt2wire(wire, p, &n);
    ldns_pkt_free(p);
    return n;
}

static void verdicts(void)
{
    uint8_t qn[DNAME_MAXLEN + 1], want[DNAME_MAXLEN + 1];
    const char *Q = "_acme-challenge.www.customer.example.";
    acme_owner_parse(Q, qn);
    acme_owner_parse("abc.acme.example.net.", want);
    static const char *const ok_rr[] = {
        "_acme-challenge.www.customer.example. 60 IN CNAME abc.acme.example.net.", NULL};
    static const char *const upper_rr[] = {
        "_ACME-challenge.WWW.customer.example. 60 IN CNAME ABC.acme.EXAMPLE.net.", NULL};
    static const char *const wrong_rr[] = {
        "_acme-challenge.www.customer.example. 60 IN CNAME xyz.acme.example.net.", NULL};
    static const char *const other_owner[] = {
        "www.customer.example. 60 IN CNAME abc.acme.example.net.", NULL};
    static const char *const txt_rr[] = {
        "_acme-challenge.www.customer.example. 60 IN TXT \"direct\"", NULL};
    const struct {
        const char *name;
        const char *q;
        bool qr, aa;
        ldns_pkt_rcode rcode;
        const char *const *rrs;
        int verdict;
    } rows[] = {
        {"AA, CNAME to the target", Q, true, true, LDNS_RCODE_NOERROR, ok_rr, ACME_DELEG_OK},
        {"case differs", Q, true, true, LDNS_RCODE_NOERROR, upper_rr, ACME_DELEG_OK},
        {"CNAME elsewhere", Q, true, true, LDNS_RCODE_NOERROR, wrong_rr, ACME_DELEG_WRONG},
        {"NXDOMAIN", Q, true, true, LDNS_RCODE_NXDOMAIN, NULL, ACME_DELEG_MISSING},
        {"NODATA", Q, true, true, LDNS_RCODE_NOERROR, NULL, ACME_DELEG_MISSING},
        {"a TXT record instead", Q, true, true, LDNS_RCODE_NOERROR, txt_rr, ACME_DELEG_MISSING},
        {"a CNAME of another owner", Q, true, true, LDNS_RCODE_NOERROR, other_owner,
         ACME_DELEG_MISSING},
        {"not authoritative", Q, true, false, LDNS_RCODE_NOERROR, ok_rr, ACME_DELEG_BAD},
        {"SERVFAIL", Q, true, true, LDNS_RCODE_SERVFAIL, NULL, ACME_DELEG_BAD},
        {"REFUSED", Q, true, false, LDNS_RCODE_REFUSED, NULL, ACME_DELEG_BAD},
        {"a query, not an answer", Q, false, true, LDNS_RCODE_NOERROR, ok_rr, ACME_DELEG_BAD},
        {"another question", "www.customer.example.", true, true, LDNS_RCODE_NOERROR, ok_rr,
         ACME_DELEG_BAD},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        uint8_t *wire = NULL;
        size_t n = answer(rows[i].q, rows[i].qr, rows[i].aa, rows[i].rcode, rows[i].rrs, &wire);
        char found[300], why[300];
        int v = acme_delegate_verdict(wire, n, qn, want, found, sizeof(found), why, sizeof(why));
        is_int(v, rows[i].verdict, "verdict: %s%s%s", rows[i].name, why[0] ? ": " : "", why);
        if (rows[i].verdict == ACME_DELEG_WRONG) {
            is_str(found, "xyz.acme.example.net.", "the wrong target is reported");
        }
        if (i == 0) {
            for (size_t cut = 0; cut < n; cut++) {
                v = acme_delegate_verdict(wire, cut, qn, want, found, sizeof(found), why,
                                          sizeof(why));
                if (v == ACME_DELEG_OK) {
                    break;
                }
            }
            ok(v != ACME_DELEG_OK, "no truncation of a good answer is OK");
        }
        free(wire);
    }
}

static void ns_and_addrs(void)
{
    ldns_pkt *p = ldns_pkt_query_new(ldns_dname_new_frm_str("customer.example."),
                                     LDNS_RR_TYPE_NS, LDNS_RR_CLASS_IN, 0);
    ldns_pkt_set_qr(p, true);
    const char *rrs[] = {"customer.example. 300 IN NS ns1.customer.example.",
                         "customer.example. 300 IN NS NS2.other.example.",
                         "customer.example. 300 IN NS ns1.customer.example.",
                         "sub.customer.example. 300 IN NS ns9.customer.example.", NULL};
    for (int i = 0; rrs[i]; i++) {
        ldns_rr *rr = NULL;
        ldns_rr_new_frm_str(&rr, rrs[i], 0, NULL, NULL);
        ldns_pkt_push_rr(p, LDNS_SECTION_ANSWER, rr);
    }
    uint8_t *wire = NULL;
    size_t n = 0;
    ldns_pkt2wire(&wire, p, &n);
    ldns_pkt_free(p);
    uint8_t zone[DNAME_MAXLEN + 1], ns[4][DNAME_MAXLEN + 1];
    acme_owner_parse("customer.example", zone);
    char why[200], t[300];
    is_int(acme_delegate_ns_answer(wire, n, zone, ns, 4, why, sizeof(why)), 2,
           "NS set: two hosts (a duplicate and another owner's NS left out)");
    dname_to_str(ns[1], t, sizeof(t));
    is_str(t, "ns2.other.example.", "NS host, lower case");
    free(wire);

    p = ldns_pkt_query_new(ldns_dname_new_frm_str("ns1.customer.example."), LDNS_RR_TYPE_A,
                           LDNS_RR_CLASS_IN, 0);
    ldns_pkt_set_qr(p, true);
    const char *ars[] = {"ns1.customer.example. 300 IN CNAME host.customer.example.",
                         "host.customer.example. 300 IN A 127.0.0.7",
                         "other.customer.example. 300 IN A 127.0.0.8", NULL};
    for (int i = 0; ars[i]; i++) {
        ldns_rr *rr = NULL;
        ldns_rr_new_frm_str(&rr, ars[i], 0, NULL, NULL);
        ldns_pkt_push_rr(p, LDNS_SECTION_ANSWER, rr);
    }
    ldns_pkt2wire(&wire, p, &n);
    ldns_pkt_free(p);
    uint8_t host[DNAME_MAXLEN + 1];
    acme_owner_parse("ns1.customer.example", host);
    struct sockaddr_storage a[4];
    is_int(acme_delegate_addr_answer(wire, n, host, DNS_T_A, 5353, a, 4), 1,
           "addresses: the CNAME chain followed, other owners left out");
    const struct sockaddr_in *a4 = (const void *)&a[0];
    ok(a4->sin_family == AF_INET && ntohl(a4->sin_addr.s_addr) == 0x7f000007 &&
           ntohs(a4->sin_port) == 5353,
       "127.0.0.7 port 5353");
    free(wire);
}

int main(void)
{
    targets();
    owners();
    secret();
    verdicts();
    ns_and_addrs();
    return done_testing();
}
