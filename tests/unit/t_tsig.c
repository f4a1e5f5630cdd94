/* SPDX-License-Identifier: MIT */
/*
 * t_tsig.c -- TSIG (zones/tsig.c) against an independent implementation:
 * ldns signs requests and responses (ldns_pkt_tsig_sign/_sign_next) that
 * ours verifies, and verifies (ldns_pkt_tsig_verify/_verify_next) what
 * ours signs, for every algorithm, single messages and chained transfers.
 * Then the failures, each a named case: wrong key, unknown key, algorithm
 * mismatch, tampered message, time outside the fudge, MAC sizes outside
 * RFC 8945 5.2.2.1 (FORMERR) and below local policy (BADTRUNC), a TSIG RR
 * not last; the error answers (BADKEY/BADSIG unsigned, BADTIME signed with
 * the server's time); a client reading unsigned messages between signed
 * ones (the digest computed here by hand with OpenSSL, as RFC 8945 4.3.1
 * spells it, since ldns cannot make such a stream); tsig_find; and the key
 * store with references, on a real store in a temp directory.
 */
#include <ldns/ldns.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tests/tap.h"
#include "tests/testzone.h"
#include "zones/base/err.h"
#include "zones/schema.h"
#include "zones/tsig.h"

#define KEYNAME "tsig-key.example."

/* secrets of each hash's length (as `dnsctl tsig add` makes them) */
static const struct {
    tsig_alg_t alg;
    const char *ldns_name;
    const char *b64;
    bool in_ldns; /* ldns 1.8 implements it */
} algs[] = {
    {TSIG_HMAC_SHA1, "hmac-sha1.", "VkQaTUCdntsnqwOgJY63OpGSf2U=", true},
    {TSIG_HMAC_SHA224, "hmac-sha224.", "Sp8oAx5ZMEQmo+Knn7oWn3djFqbyF+MPBVyTkw==", false},
    {TSIG_HMAC_SHA256, "hmac-sha256.", "/DGiWM6IRGY7KA6ywbIbMxEFzkzAwI3cIF7Cgl0AXZk=", true},
    {TSIG_HMAC_SHA384, "hmac-sha384.",
     "qBQQ5Na2kwu2qm/aRhM427M5uGc6YH/VTAWRInMh2PcZ9ZfqTgI74aFtDersDWj9", false},
    {TSIG_HMAC_SHA512, "hmac-sha512.",
     "GMNYRrGmJIT9xCmGpzrtpD7pshoOr/J9xf9uEgxP9/Yo8o4T2GMa0yrCZpV12JexhsR+f/7rjLAeAyZ9K51A+w==",
     true},
};
#define NALGS (sizeof(algs) / sizeof(algs[0]))

/* the key table the verifier looks keys up in */
static tsig_key_t table[NALGS + 1];
static size_t ntable;

static int lookup(const uint8_t *name, void *arg, tsig_key_t *out)
{
    (void)arg;
    for (size_t i = 0; i < ntable; i++) {
        if (dname_eq(table[i].name, name)) {
            *out = table[i];
            return 0;
        }
    }
    return DNSD_ENOTFOUND;
}

static tsig_key_t mkkey(size_t ai, const char *name)
{
    tsig_key_t k;
    diag_t d = {0};
    if (tsig_key_parse(name, tsig_alg_name(algs[ai].alg), algs[ai].b64, &k, &d) != 0) {
        printf("Bail out! key: %s\n", d.text);
        exit(1);
    }
    return k;
}

static void use_key(const tsig_key_t *k)
{
    table[0] = *k;
    ntable = 1;
}

/* a query for example.test SOA (hand-made wire) */
static size_t mkquery(uint8_t *b, uint16_t id)
{
    static const uint8_t q[] = "\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00"
                               "\x07" "example\x04test\x00\x00\x06\x00\x01";
    memcpy(b, q, sizeof(q) - 1);
    zs_put16(b, id);
    return sizeof(q) - 1;
}

/* an ldns packet: a response with @p n A records, id @p id */
static ldns_pkt *mkresp(uint16_t id, int n, int seq)
{
    ldns_pkt *p = NULL;
    ldns_rr *rr = NULL;
    ldns_pkt_query_new_frm_str(&p, "example.test.", LDNS_RR_TYPE_AXFR, LDNS_RR_CLASS_IN, 0);
    ldns_pkt_set_id(p, id);
    ldns_pkt_set_qr(p, true);
    ldns_pkt_set_aa(p, true);
    for (int i = 0; i < n; i++) {
        char txt[100];
        snprintf(txt, sizeof(txt), "h%d-%d.example.test. 300 IN A 192.0.2.%d", seq, i, i + 1);
        ldns_rr_new_frm_str(&rr, txt, 0, NULL, NULL);
        ldns_pkt_push_rr(p, LDNS_SECTION_ANSWER, rr);
    }
    return p;
}

/* the MAC rdf of the TSIG RR of @p wire (a copy: free it) */
static ldns_rdf *mac_of(const uint8_t *wire, size_t len)
{
    ldns_pkt *p = NULL;
    if (ldns_wire2pkt(&p, wire, len) != LDNS_STATUS_OK || !ldns_pkt_tsig(p)) {
        ldns_pkt_free(p);
        return NULL;
    }
    ldns_rdf *m = ldns_rdf_clone(ldns_rr_rdf(ldns_pkt_tsig(p), 3));
    ldns_pkt_free(p);
    return m;
}

static bool ldns_verifies(const uint8_t *wire, size_t len, size_t ai, const ldns_rdf *prior,
                          int timers_only)
{
    ldns_pkt *p = NULL;
    if (ldns_wire2pkt(&p, wire, len) != LDNS_STATUS_OK) {
        return false;
    }
    bool r = ldns_pkt_tsig_verify_next(p, wire, len, KEYNAME, algs[ai].b64, prior, timers_only);
    ldns_pkt_free(p);
    return r;
}

/* ------------------------------------------------------------ interop */

static void interop(size_t ai)
{
    const char *an = tsig_alg_name(algs[ai].alg);
    tsig_key_t key = mkkey(ai, KEYNAME);
    use_key(&key);
    uint64_t now = (uint64_t)time(NULL);

    /* ldns signs a request, we verify it */
    ldns_pkt *q = NULL;
    ldns_pkt_query_new_frm_str(&q, "example.test.", LDNS_RR_TYPE_AXFR, LDNS_RR_CLASS_IN, 0);
    ldns_pkt_set_id(q, 4242);
    if (!algs[ai].in_ldns) {
        /* ldns 1.8 knows sha1, sha256 and sha512 only (and leaks when asked for
         * another): tests/system/t_tsig_interop.sh checks all against dnspython */
        printf("ok %d # skip ldns has no %s\n", ++tap_n, an);
        ldns_pkt_free(q);
        return;
    }
    is_int(ldns_pkt_tsig_sign(q, KEYNAME, algs[ai].b64, 300, algs[ai].ldns_name, NULL),
           LDNS_STATUS_OK, "%s: ldns signs a request", an);
    uint8_t *qw = NULL;
    size_t qlen = 0;
    ldns_pkt2wire(&qw, q, &qlen);
    tsig_ctx_t ctx;
    tsig_ctx_init(&ctx);
    size_t wo = 0;
    is_int(tsig_verify_request(qw, qlen, lookup, NULL, now, &ctx, &wo), 0,
           "%s: ldns's request verifies", an);
    size_t toff = 0;
    ok(tsig_find(qw, qlen, &toff) && toff == wo, "%s: tsig_find points at the TSIG RR", an);

    /* we sign three responses of a transfer, ldns verifies the chain */
    ldns_rdf *prior = mac_of(qw, qlen);
    bool chain_ok = true;
    for (int m = 0; m < 3; m++) {
        ldns_pkt *r = mkresp(4242, 3 + m, m);
        uint8_t *rw = NULL;
        size_t rl = 0;
        ldns_pkt2wire(&rw, r, &rl);
        uint8_t buf[4096];
        memcpy(buf, rw, rl);
        size_t len = rl;
        int err = tsig_sign_response(&ctx, buf, &len, sizeof(buf), now, 0);
        bool v = err == 0 && ldns_verifies(buf, len, ai, prior, m > 0);
        if (!v) {
            printf("# %s: message %d: sign %d, ldns verify failed\n", an, m, err);
            chain_ok = false;
        }
        ldns_rdf_deep_free(prior);
        prior = mac_of(buf, len);
        free(rw);
        ldns_pkt_free(r);
    }
    ok(chain_ok, "%s: ldns verifies our 3 chained responses (first full, then timers only)", an);
    ldns_rdf_deep_free(prior);
    tsig_ctx_fini(&ctx);
    free(qw);
    ldns_pkt_free(q);

    /* we sign a request, ldns verifies it */
    uint8_t buf[4096];
    size_t len = mkquery(buf, 777);
    tsig_ctx_t cc;
    tsig_ctx_init(&cc);
    is_int(tsig_sign_request(&cc, &key, buf, &len, sizeof(buf), now), 0, "%s: we sign a request",
           an);
    ok(ldns_verifies(buf, len, ai, NULL, 0), "%s: ldns verifies our request", an);

    /* ldns signs four responses (chained), we verify them as a client */
    prior = mac_of(buf, len);
    int bad = 0;
    for (int m = 0; m < 4; m++) {
        ldns_pkt *r = mkresp(777, 2 + m, m);
        ldns_pkt_tsig_sign_next(r, KEYNAME, algs[ai].b64, 300, algs[ai].ldns_name, prior, m > 0);
        uint8_t *rw = NULL;
        size_t rl = 0;
        ldns_pkt2wire(&rw, r, &rl);
        size_t rwo = 0;
        int err = tsig_verify_response(&cc, rw, rl, now, &rwo);
        if (err != 0 || !cc.last_signed) {
            printf("# %s: response %d: %d\n", an, m, err);
            bad++;
        }
        ldns_rdf_deep_free(prior);
        prior = mac_of(rw, rl);
        free(rw);
        ldns_pkt_free(r);
    }
    is_int(bad, 0, "%s: our client verifies ldns's 4 chained responses", an);
    ok(tsig_ctx_complete(&cc), "%s: the transfer is complete (last message signed)", an);
    ldns_rdf_deep_free(prior);
    tsig_ctx_fini(&cc);
}

/* ------------------------------------------------------------ failures */

/* a request signed by us with @p k at @p t, in @p buf; its length */
static size_t signed_query(const tsig_key_t *k, uint8_t *buf, size_t cap, uint64_t t)
{
    size_t len = mkquery(buf, 99);
    tsig_ctx_t c;
    tsig_ctx_init(&c);
    if (tsig_sign_request(&c, k, buf, &len, cap, t) != 0) {
        printf("Bail out! sign_request\n");
        exit(1);
    }
    tsig_ctx_fini(&c);
    return len;
}

static int verify(const uint8_t *b, size_t len, uint64_t now, tsig_ctx_t *c)
{
    size_t wo = 0;
    tsig_ctx_init(c);
    return tsig_verify_request(b, len, lookup, NULL, now, c, &wo);
}

/* cut the MAC of the (last, TSIG) RR of @p b to @p n bytes; new length */
static size_t truncate_mac(uint8_t *b, size_t len, unsigned n)
{
    size_t off = 0;
    tsig_find(b, len, &off);
    size_t o = off + (size_t)dname_wire_len(b + off, len - off);
    size_t rdl_at = o + 8, rd = o + 10;
    size_t mac_at = rd + (size_t)dname_wire_len(b + rd, len - rd) + 8;
    unsigned old = zs_get16(b + mac_at);
    zs_put16(b + mac_at, (uint16_t)n);
    memmove(b + mac_at + 2 + n, b + mac_at + 2 + old, len - (mac_at + 2 + old));
    zs_put16(b + rdl_at, (uint16_t)(zs_get16(b + rdl_at) - (old - n)));
    return len - (old - n);
}

/* the TSIG RR fields of an answer */
typedef struct fields {
    uint16_t rcode, error, mac_size, other_len;
    uint64_t time, other;
} fields_t;

static bool fields(const uint8_t *b, size_t len, fields_t *f)
{
    size_t off = 0;
    if (!tsig_find(b, len, &off)) {
        return false;
    }
    size_t o = off + (size_t)dname_wire_len(b + off, len - off) + 10;
    o += (size_t)dname_wire_len(b + o, len - o);
    f->rcode = b[3] & 0xf;
    f->time = (uint64_t)zs_get16(b + o) << 32 | zs_get32(b + o + 2);
    f->mac_size = zs_get16(b + o + 8);
    o += 10 + f->mac_size;
    f->error = zs_get16(b + o + 2);
    f->other_len = zs_get16(b + o + 4);
    f->other = 0;
    for (unsigned i = 0; i < f->other_len && i < 8; i++) {
        f->other = f->other << 8 | b[o + 6 + i];
    }
    return o + 6 + f->other_len == len;
}

static void failures(void)
{
    tsig_key_t k256 = mkkey(2, KEYNAME), k512 = mkkey(4, KEYNAME), k1 = mkkey(0, KEYNAME);
    tsig_key_t other = mkkey(2, "other.example.");
    const uint64_t T = 1700000000;
    uint8_t b[1024];
    tsig_ctx_t c;
    size_t len;

    use_key(&k256);
    len = signed_query(&k256, b, sizeof(b), T);
    is_int(verify(b, len, T, &c), 0, "good request verifies");
    tsig_ctx_fini(&c);
    is_int(verify(b, len, T + 300, &c), 0, "300 s late: inside the fudge");
    tsig_ctx_fini(&c);
    is_int(verify(b, len, T - 300, &c), 0, "300 s early: inside the fudge");
    tsig_ctx_fini(&c);
    is_int(verify(b, len, T + 301, &c), TSIG_BADTIME, "301 s late: BADTIME");
    tsig_ctx_fini(&c);
    is_int(verify(b, len, T - 301, &c), TSIG_BADTIME, "301 s early: BADTIME");
    tsig_ctx_fini(&c);

    /* a wrong secret (same name and algorithm) */
    tsig_key_t wrong = k256;
    wrong.secret[0] ^= 1;
    len = signed_query(&wrong, b, sizeof(b), T);
    is_int(verify(b, len, T, &c), TSIG_BADSIG, "wrong secret: BADSIG");
    tsig_ctx_fini(&c);
    /* BADSIG is checked before the time (RFC 8945 5.2) */
    is_int(verify(b, len, T + 1000, &c), TSIG_BADSIG, "wrong secret and late: BADSIG first");
    tsig_ctx_fini(&c);

    len = signed_query(&other, b, sizeof(b), T);
    is_int(verify(b, len, T, &c), TSIG_BADKEY, "unknown key name: BADKEY");
    tsig_ctx_fini(&c);
    len = signed_query(&k512, b, sizeof(b), T);
    is_int(verify(b, len, T, &c), TSIG_BADKEY, "known name, other algorithm: BADKEY");
    tsig_ctx_fini(&c);

    /* tampering: one byte of the question, the ID, the Time Signed */
    len = signed_query(&k256, b, sizeof(b), T);
    b[14] ^= 0x20; /* "example" -> "eXample": the digest is over the wire as sent */
    is_int(verify(b, len, T, &c), TSIG_BADSIG, "tampered question: BADSIG");
    tsig_ctx_fini(&c);
    len = signed_query(&k256, b, sizeof(b), T);
    b[len - 1 - 6 - 32 - 2 - 2 - 3] ^= 1; /* last byte of Time Signed */
    is_int(verify(b, len, T, &c), TSIG_BADSIG, "tampered Time Signed: BADSIG");
    tsig_ctx_fini(&c);
    len = signed_query(&k256, b, sizeof(b), T);
    b[0] ^= 0x55; /* a new message ID: the digest uses the Original ID, so still good */
    is_int(verify(b, len, T, &c), 0, "changed message ID (Original ID kept): verifies");
    tsig_ctx_fini(&c);

    /* truncated MACs: sha256 is 32 bytes; 16 is the RFC minimum (half) */
    len = signed_query(&k256, b, sizeof(b), T);
    size_t tl = truncate_mac(b, len, 16);
    is_int(verify(b, tl, T, &c), 0, "MAC truncated to 16 of 32: accepted");
    is_int(c.mac_len, 16, "the answer will be truncated the same");
    uint8_t r[1024];
    size_t rl = mkquery(r, 99);
    r[2] |= 0x80;
    is_int(tsig_sign_response(&c, r, &rl, sizeof(r), T, 0), 0, "answer to it signed");
    fields_t f;
    ok(fields(r, rl, &f) && f.mac_size == 16, "the answer's MAC is 16 bytes");
    tsig_ctx_fini(&c);
    len = signed_query(&k256, b, sizeof(b), T);
    tl = truncate_mac(b, len, 15);
    is_int(verify(b, tl, T, &c), DNSD_EMALFORMED, "MAC 15 of 32 (below half): FORMERR");
    tsig_ctx_fini(&c);
    len = signed_query(&k256, b, sizeof(b), T);
    tl = truncate_mac(b, len, 16);
    tsig_ctx_init(&c);
    c.min_mac_len = 32;
    size_t wo;
    is_int(tsig_verify_request(b, tl, lookup, NULL, T, &c, &wo), TSIG_BADTRUNC,
           "MAC 16 of 32 with a local minimum of 32: BADTRUNC");
    tsig_ctx_fini(&c);
    use_key(&k1);
    len = signed_query(&k1, b, sizeof(b), T);
    tl = truncate_mac(b, len, 10);
    is_int(verify(b, tl, T, &c), 0, "sha1 MAC truncated to 10 of 20: accepted");
    tsig_ctx_fini(&c);
    len = signed_query(&k1, b, sizeof(b), T);
    tl = truncate_mac(b, len, 9);
    is_int(verify(b, tl, T, &c), DNSD_EMALFORMED, "sha1 MAC of 9 bytes (< 10): FORMERR");
    tsig_ctx_fini(&c);
    use_key(&k256);

    /* a MAC longer than the hash */
    len = signed_query(&k256, b, sizeof(b), T);
    {
        size_t off = 0;
        tsig_find(b, len, &off);
        size_t mac_at = off + 17 + 10 + 13 + 8; /* name, RR header, algorithm, time+fudge */
        zs_put16(b + mac_at, 33);
        is_int(verify(b, len, T, &c), DNSD_EMALFORMED, "MAC size 33 for sha256: FORMERR");
        tsig_ctx_fini(&c);
    }

    /* structure */
    len = mkquery(b, 5);
    is_int(verify(b, len, T, &c), DNSD_ENOTFOUND, "no TSIG RR: DNSD_ENOTFOUND");
    tsig_ctx_fini(&c);
    size_t off = 0;
    ok(!tsig_find(b, len, &off), "tsig_find: none");
    len = signed_query(&k256, b, sizeof(b), T);
    is_int(verify(b, len - 1, T, &c), DNSD_EMALFORMED, "truncated message: FORMERR");
    tsig_ctx_fini(&c);
    ok(!tsig_find(b, len - 1, &off), "tsig_find: truncated message, none");
    /* a TSIG RR followed by another additional record */
    static const uint8_t opt[] = {0, 0, 41, 4, 0xd0, 0, 0, 0, 0, 0, 0};
    memcpy(b + len, opt, sizeof(opt));
    zs_put16(b + 10, 2);
    is_int(verify(b, len + sizeof(opt), T, &c), DNSD_EMALFORMED, "TSIG not last: FORMERR");
    tsig_ctx_fini(&c);
    ok(!tsig_find(b, len + sizeof(opt), &off), "tsig_find: TSIG not last, none");
    len = signed_query(&k256, b, sizeof(b), T);
    b[len] = 0;
    is_int(verify(b, len + 1, T, &c), DNSD_EMALFORMED, "a byte after the TSIG RR: FORMERR");
    tsig_ctx_fini(&c);
}

/* ------------------------------------------------------------ error answers */

static void error_answers(void)
{
    tsig_key_t k = mkkey(2, KEYNAME), other = mkkey(2, "other.example.");
    use_key(&k);
    uint64_t now = (uint64_t)time(NULL);
    uint8_t b[1024], a[1024];
    size_t len, alen;
    tsig_ctx_t c;
    fields_t f;

    /* BADKEY: unsigned, NOTAUTH, the request's key name echoed */
    len = signed_query(&other, b, sizeof(b), now);
    int e = verify(b, len, now, &c);
    is_int(e, TSIG_BADKEY, "unknown key: BADKEY");
    is_int(tsig_answer_error(&c, b, len, a, &alen, sizeof(a), now, e), 0, "BADKEY answer built");
    ok(fields(a, alen, &f) && f.rcode == TSIG_RCODE_NOTAUTH && f.error == TSIG_BADKEY &&
           f.mac_size == 0,
       "BADKEY answer: NOTAUTH, error 17, MAC size 0 (unsigned, RFC 8945 5.3.2)");
    ldns_pkt *p = NULL;
    ok(ldns_wire2pkt(&p, a, alen) == LDNS_STATUS_OK && ldns_pkt_tsig(p) &&
           ldns_pkt_qdcount(p) == 1 && ldns_pkt_get_rcode(p) == LDNS_RCODE_NOTAUTH,
       "ldns parses the BADKEY answer (question, NOTAUTH, TSIG)");
    ldns_pkt_free(p);
    tsig_ctx_fini(&c);

    /* the client sees the server's BADKEY */
    tsig_ctx_t cc;
    tsig_ctx_init(&cc);
    len = mkquery(b, 31);
    tsig_sign_request(&cc, &other, b, &len, sizeof(b), now);
    use_key(&k);
    e = verify(b, len, now, &c);
    tsig_answer_error(&c, b, len, a, &alen, sizeof(a), now, e);
    size_t wo;
    is_int(tsig_verify_response(&cc, a, alen, now, &wo), TSIG_BADKEY,
           "client: the server's unsigned BADKEY is reported");
    is_int(cc.peer_error, TSIG_BADKEY, "client: peer_error BADKEY");
    ok(!tsig_ctx_complete(&cc), "client: not complete");
    tsig_ctx_fini(&cc);
    tsig_ctx_fini(&c);

    /* BADTIME: signed with the request's key, Time Signed from the request,
     * the server's time in Other Data; ldns verifies its MAC */
    uint64_t t = now - 1000;
    tsig_ctx_init(&cc);
    len = mkquery(b, 32);
    tsig_sign_request(&cc, &k, b, &len, sizeof(b), t);
    e = verify(b, len, now, &c);
    is_int(e, TSIG_BADTIME, "request 1000 s old: BADTIME");
    is_int(tsig_answer_error(&c, b, len, a, &alen, sizeof(a), now, e), 0, "BADTIME answer built");
    ok(fields(a, alen, &f) && f.rcode == TSIG_RCODE_NOTAUTH && f.error == TSIG_BADTIME &&
           f.mac_size == 32 && f.time == t && f.other_len == 6 && f.other == now,
       "BADTIME answer: signed, Time Signed = the request's, Other Data = server time");
    ldns_rdf *rm = mac_of(b, len);
    ok(ldns_verifies(a, alen, 2, rm, 0), "ldns verifies the BADTIME answer's MAC");
    ldns_rdf_deep_free(rm);
    is_int(tsig_verify_response(&cc, a, alen, t, &wo), TSIG_BADTIME,
           "client: the server's signed BADTIME is reported");
    is_int(cc.peer_error, TSIG_BADTIME, "client: peer_error BADTIME");
    tsig_ctx_fini(&cc);
    tsig_ctx_fini(&c);

    /* BADSIG: unsigned */
    tsig_key_t wrong = k;
    wrong.secret[3] ^= 0x80;
    len = signed_query(&wrong, b, sizeof(b), now);
    e = verify(b, len, now, &c);
    tsig_answer_error(&c, b, len, a, &alen, sizeof(a), now, e);
    ok(fields(a, alen, &f) && f.error == TSIG_BADSIG && f.mac_size == 0 &&
           f.rcode == TSIG_RCODE_NOTAUTH,
       "BADSIG answer: unsigned, NOTAUTH, error 16");
    tsig_ctx_fini(&c);

    /* no room */
    len = signed_query(&k, b, sizeof(b), now);
    verify(b, len, now, &c);
    size_t rl = mkquery(a, 1);
    is_int(tsig_sign_response(&c, a, &rl, rl + 20, now, 0), DNSD_ESPACE, "no room: DNSD_ESPACE");
    is_int(rl, mkquery(b, 1), "no room: message unchanged");
    tsig_ctx_fini(&c);
}

/* ------------------------------------------------- unsigned intermediates */

/* append a TSIG RR to @p b whose MAC is HMAC(@p d) computed here by hand */
static size_t hand_sign(uint8_t *b, size_t len, const tsig_key_t *k, const uint8_t *d, size_t dl,
                        uint64_t t, uint8_t *mac_out)
{
    unsigned ml = 0;
    uint8_t mac[64];
    HMAC(EVP_sha256(), k->secret, k->secret_len, d, dl, mac, &ml);
    memcpy(mac_out, mac, ml);
    size_t o = len;
    memcpy(b + o, k->name, k->name_len);
    o += k->name_len;
    static const uint8_t alg[] = "\x0bhmac-sha256";
    zs_put16(b + o, 250);
    zs_put16(b + o + 2, 255);
    zs_put32(b + o + 4, 0);
    zs_put16(b + o + 8, (uint16_t)(sizeof(alg) + 16 + ml));
    o += 10;
    memcpy(b + o, alg, sizeof(alg));
    o += sizeof(alg);
    zs_put16(b + o, (uint16_t)(t >> 32));
    zs_put32(b + o + 2, (uint32_t)t);
    zs_put16(b + o + 6, 300);
    zs_put16(b + o + 8, (uint16_t)ml);
    memcpy(b + o + 10, mac, ml);
    o += 10 + ml;
    zs_put16(b + o, zs_get16(b));
    zs_put16(b + o + 2, 0);
    zs_put16(b + o + 4, 0);
    o += 6;
    zs_put16(b + 10, (uint16_t)(zs_get16(b + 10) + 1));
    return o;
}

/* a plain response message (no TSIG) number @p i, id @p id */
static size_t plain(uint8_t *b, uint16_t id, int i)
{
    size_t len = mkquery(b, id);
    b[2] |= 0x80;
    /* one A record per message, different per message */
    static const uint8_t rr[] = {0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 1, 44, 0, 4, 192, 0, 2, 0};
    memcpy(b + len, rr, sizeof(rr));
    b[len + sizeof(rr) - 1] = (uint8_t)i;
    zs_put16(b + 6, 1);
    return len + sizeof(rr);
}

static void unsigned_runs(void)
{
    tsig_key_t k = mkkey(2, KEYNAME);
    const uint64_t T = 1700000000;
    uint8_t req[512], m[512], dig[8192];
    size_t rlen = mkquery(req, 600), wo;
    tsig_ctx_t cc;
    tsig_ctx_init(&cc);
    tsig_sign_request(&cc, &k, req, &rlen, sizeof(req), T);
    uint8_t prior[64];
    memcpy(prior, cc.prior, 32);

    /* message 1: signed, full variables, digest = request MAC | msg | variables */
    size_t ml = plain(m, 600, 1), dl = 0;
    zs_put16(dig, 32);
    memcpy(dig + 2, prior, 32);
    dl = 34;
    memcpy(dig + dl, m, ml);
    dl += ml;
    memcpy(dig + dl, k.name, k.name_len);
    dl += k.name_len;
    static const uint8_t mid[] = {0, 255, 0, 0, 0, 0};
    memcpy(dig + dl, mid, 6);
    dl += 6;
    memcpy(dig + dl, "\x0bhmac-sha256", 13);
    dl += 13;
    uint8_t tv[16] = {0};
    zs_put16(tv, (uint16_t)(T >> 32));
    zs_put32(tv + 2, (uint32_t)T);
    zs_put16(tv + 6, 300);
    memcpy(dig + dl, tv, 12); /* time, fudge, error 0, other len 0 */
    dl += 12;
    ml = hand_sign(m, ml, &k, dig, dl, T, prior);
    is_int(tsig_verify_response(&cc, m, ml, T, &wo), 0, "unsigned run: message 1 (signed) ok");

    /* messages 2..4 unsigned; message 5 signed over prior | 2 | 3 | 4 | 5 | timers */
    zs_put16(dig, 32);
    memcpy(dig + 2, prior, 32);
    dl = 34;
    int bad = 0;
    for (int i = 2; i <= 4; i++) {
        ml = plain(m, 600, i);
        if (tsig_verify_response(&cc, m, ml, T, &wo) != 0 || cc.last_signed || wo != ml) {
            bad++;
        }
        memcpy(dig + dl, m, ml);
        dl += ml;
    }
    is_int(bad, 0, "unsigned run: messages 2-4 (unsigned) accepted");
    ok(!tsig_ctx_complete(&cc), "unsigned run: not complete after an unsigned message");
    ml = plain(m, 600, 5);
    memcpy(dig + dl, m, ml);
    dl += ml;
    memcpy(dig + dl, tv, 8); /* timers only */
    dl += 8;
    ml = hand_sign(m, ml, &k, dig, dl, T, prior);
    is_int(tsig_verify_response(&cc, m, ml, T, &wo), 0,
           "unsigned run: message 5 signed over prior MAC + 2..5 + timers verifies");
    ok(tsig_ctx_complete(&cc), "unsigned run: complete");

    /* tampering with an unsigned message is caught by the next signed one */
    ml = plain(m, 600, 6);
    tsig_verify_response(&cc, m, ml, T, &wo);
    zs_put16(dig, 32);
    memcpy(dig + 2, prior, 32);
    dl = 34;
    m[ml - 1] ^= 0xff; /* what the signer saw differs from what we got */
    memcpy(dig + dl, m, ml);
    dl += ml;
    ml = plain(m, 600, 7);
    memcpy(dig + dl, m, ml);
    dl += ml;
    memcpy(dig + dl, tv, 8);
    dl += 8;
    ml = hand_sign(m, ml, &k, dig, dl, T, prior);
    is_int(tsig_verify_response(&cc, m, ml, T, &wo), TSIG_BADSIG,
           "unsigned run: a changed unsigned message fails the next signed one");
    tsig_ctx_fini(&cc);

    /* 99 unsigned in a row are fine, the 100th is not */
    tsig_ctx_init(&cc);
    rlen = mkquery(req, 601);
    tsig_sign_request(&cc, &k, req, &rlen, sizeof(req), T);
    cc.nmsg = 1; /* as if a signed first message was read */
    int n_ok = 0;
    for (int i = 0; i < 99; i++) {
        ml = plain(m, 601, i);
        n_ok += tsig_verify_response(&cc, m, ml, T, &wo) == 0;
    }
    is_int(n_ok, 99, "99 unsigned messages in a row accepted");
    ml = plain(m, 601, 100);
    is_int(tsig_verify_response(&cc, m, ml, T, &wo), TSIG_BADSIG, "the 100th: BADSIG");
    tsig_ctx_fini(&cc);

    /* the first answer must be signed */
    tsig_ctx_init(&cc);
    rlen = mkquery(req, 602);
    tsig_sign_request(&cc, &k, req, &rlen, sizeof(req), T);
    ml = plain(m, 602, 1);
    is_int(tsig_verify_response(&cc, m, ml, T, &wo), TSIG_BADSIG, "unsigned first answer: BADSIG");
    tsig_ctx_fini(&cc);
}

/* ------------------------------------------------------------ names */

static void names(void)
{
    is_int(tsig_alg_from_name("hmac-sha256"), TSIG_HMAC_SHA256, "hmac-sha256");
    is_int(tsig_alg_from_name("HMAC-SHA512."), TSIG_HMAC_SHA512, "HMAC-SHA512. (case, dot)");
    is_int(tsig_alg_from_name("hmac-sha1"), TSIG_HMAC_SHA1, "hmac-sha1 accepted");
    is_int(tsig_alg_from_name("hmac-md5"), TSIG_ALG_NONE, "hmac-md5 refused");
    is_int(tsig_alg_from_name("hmac-md5.sig-alg.reg.int"), TSIG_ALG_NONE,
           "hmac-md5.sig-alg.reg.int refused");
    ok(tsig_alg_error("hmac-md5") && strstr(tsig_alg_error("hmac-md5"), "refused"),
       "hmac-md5: the error says it is refused");
    ok(tsig_alg_error("hmac-sha256") == NULL, "no error for hmac-sha256");
    is_int(tsig_alg_from_wire((const uint8_t *)"\x0bHMAC-sha384"), TSIG_HMAC_SHA384,
           "wire name, any case");
    is_int(tsig_alg_mac_len(TSIG_HMAC_SHA224), 28, "sha224 MAC 28 bytes");
    tsig_key_t k;
    diag_t d = {0};
    is_int(tsig_key_parse("Key.Example", "hmac-sha256", algs[2].b64, &k, &d), 0, "key parses");
    ok(k.name_len == 13 && memcmp(k.name, "\x03key\x07" "example", 13) == 0,
       "key name lower-cased, absolute");
    is_int(tsig_key_parse("a..b", "hmac-sha256", algs[2].b64, &k, &d), DNSD_EMALFORMED,
           "empty label refused");
    is_str(d.file, "name", "diag names the name");
    is_int(tsig_key_parse("k.", "hmac-md5", algs[2].b64, &k, &d), DNSD_EMALFORMED, "md5 refused");
    ok(strstr(d.text, "hmac-md5 is refused") != NULL, "diag: %s", d.text);
    is_int(tsig_key_parse("k.", "hmac-sha256", "not base64!", &k, &d), DNSD_EMALFORMED,
           "bad base64 refused");
    is_str(d.file, "secret", "diag names the secret");
    is_int(tsig_key_parse("k.", "hmac-sha256", "YWJj", &k, &d), 0, "3-byte secret");
    char b64[400];
    ok(tsig_secret_b64(&k, b64, sizeof(b64)) == 4 && strcmp(b64, "YWJj") == 0, "base64 back");
    is_int(tsig_key_parse("k.", "hmac-sha256", "YWI=", &k, &d), 0, "padded secret");
    is_int(k.secret_len, 2, "padded secret: 2 bytes");
}

/* ------------------------------------------------------------ key store */

static int count_cb(const tsig_key_t *k, void *arg)
{
    (void)k;
    ++*(int *)arg;
    return 0;
}

static int ref_cb(const char *label, void *arg)
{
    strncat((char *)arg, label, 200);
    strcat((char *)arg, ";");
    return 0;
}

static void store(void)
{
    char dir[] = "/tmp/t_tsig.XXXXXX";
    zs_store_t *st = tz_store_tmp(dir);
    if (!st) {
        exit(1);
    }
    tsig_key_t a = mkkey(2, "b.example."), b = mkkey(4, "a.example."), got;
    MDB_txn *txn;
    zs_write_begin(st, &txn);
    is_int(tsig_key_put(st, txn, &a), 0, "put b.example.");
    is_int(tsig_key_put(st, txn, &b), 0, "put a.example.");
    is_int(tsig_key_get(st, txn, (const uint8_t *)"\x01" "B\x07" "EXAMPLE", &got), 0,
           "get, any case");
    ok(got.alg == a.alg && got.secret_len == a.secret_len &&
           memcmp(got.secret, a.secret, a.secret_len) == 0,
       "the key comes back whole");
    is_int(tsig_key_get(st, txn, (const uint8_t *)"\x01" "c\x07" "example", &got), DNSD_ENOTFOUND,
           "missing key: DNSD_ENOTFOUND");
    int n = 0;
    tsig_key_foreach(st, txn, count_cb, &n);
    is_int(n, 2, "foreach: two keys");
    is_int(tsig_ref_add(st, txn, (const uint8_t *)"\x01" "c\x07" "example", "xfrout x."),
           DNSD_ENOTFOUND, "ref to a missing key: DNSD_ENOTFOUND");
    is_int(tsig_ref_add(st, txn, a.name, "xfrout example.com."), 0, "ref added");
    is_int(tsig_ref_add(st, txn, a.name, "update-policy example.com. 1"), 0, "second ref added");
    is_int(tsig_ref_add(st, txn, a.name, "xfrout example.com."), 0, "ref added twice: fine");
    char refs[512] = "";
    tsig_ref_foreach(st, txn, a.name, ref_cb, refs);
    is_str(refs, "update-policy example.com. 1;xfrout example.com.;", "refs listed in order");
    refs[0] = 0;
    tsig_ref_foreach(st, txn, b.name, ref_cb, refs);
    is_str(refs, "", "the other key has none");
    is_int(tsig_key_del(st, txn, a.name), DNSD_EEXIST, "del of a key in use: DNSD_EEXIST");
    n = 0;
    tsig_key_foreach(st, txn, count_cb, &n);
    is_int(n, 2, "refs are not listed as keys");
    tsig_ref_del(st, txn, a.name, "xfrout example.com.");
    tsig_ref_del(st, txn, a.name, "update-policy example.com. 1");
    is_int(tsig_ref_del(st, txn, a.name, "never there"), 0, "ref_del of an absent ref: 0");
    is_int(tsig_key_del(st, txn, a.name), 0, "del once unused");
    is_int(tsig_key_del(st, txn, a.name), DNSD_ENOTFOUND, "del again: DNSD_ENOTFOUND");
    /* damage */
    uint8_t kb[64] = "k";
    memcpy(kb + 1, "example\0a\0", 10);
    MDB_val k = {11, kb}, v = {3, (void *)"\x01\x03\x00"};
    mdb_put(txn, st->tsig, &k, &v, 0);
    is_int(tsig_key_get(st, txn, b.name, &got), DNSD_ESTORE, "damaged value: DNSD_ESTORE");
    tsig_key_t bad = b;
    bad.alg = TSIG_ALG_NONE;
    is_int(tsig_key_put(st, txn, &bad), DNSD_EMALFORMED, "put with no algorithm refused");
    zs_write_abort(st, txn);
    tz_store_rm(st, dir);
}

int main(void)
{
    names();
    for (size_t i = 0; i < NALGS; i++) {
        interop(i);
    }
    failures();
    error_answers();
    unsigned_runs();
    store();
    return done_testing();
}
