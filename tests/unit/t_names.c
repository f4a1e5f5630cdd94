/* SPDX-License-Identifier: MIT */
/*
 * t_names.c -- zones/names.c: wire-name validation, the canonical key format
 * (memcmp order of keys == RFC 4034 6.1 canonical order, checked against an
 * independent reference comparison over every pair of a table that includes
 * \000 and \001 bytes and case variants), escape round trips through
 * dname_from_key(), damaged keys, limits, and presentation form.
 */
#include <stdlib.h>
#include <string.h>

#include "tests/tap.h"
#include "zones/base/err.h"
#include "zones/names.h"

/*
 * Presentation -> wire for the tests: labels split on unescaped dots, \DDD
 * and \X escapes, "." is the root; relative and absolute are the same.
 * Returns the wire length, or -1 if a label is empty or longer than 63.
 */
static int wire(const char *s, uint8_t *out)
{
    size_t o = 0;
    if (strcmp(s, ".") == 0) {
        out[0] = 0;
        return 1;
    }
    while (*s) {
        size_t lenpos = o++;
        uint8_t l = 0;
        while (*s && *s != '.') {
            uint8_t c = (uint8_t)*s++;
            if (c == '\\' && s[0] >= '0' && s[0] <= '9') {
                c = (uint8_t)((s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0'));
                s += 3;
            } else if (c == '\\' && *s) {
                c = (uint8_t)*s++;
            }
            if (l == 63) {
                return -1;
            }
            out[o++] = c;
            l++;
        }
        if (l == 0) {
            return -1;
        }
        out[lenpos] = l;
        if (*s == '.') {
            s++;
        }
    }
    out[o++] = 0;
    return (int)o;
}

/* RFC 4034 6.1, written independently of the key format: compare the
 * labels from the most significant (rightmost) one, each as a lower-cased
 * octet string, a shorter prefix first; fewer labels first on a tie. */
static int canon_cmp(const uint8_t *a, const uint8_t *b)
{
    const uint8_t *la[128], *lb[128];
    int na = 0, nb = 0;
    for (const uint8_t *p = a; *p; p += 1 + *p) {
        la[na++] = p;
    }
    for (const uint8_t *p = b; *p; p += 1 + *p) {
        lb[nb++] = p;
    }
    for (int i = 1; i <= na && i <= nb; i++) {
        const uint8_t *x = la[na - i], *y = lb[nb - i];
        int n = x[0] < y[0] ? x[0] : y[0];
        for (int j = 1; j <= n; j++) {
            int cx = x[j] >= 'A' && x[j] <= 'Z' ? x[j] + 32 : x[j];
            int cy = y[j] >= 'A' && y[j] <= 'Z' ? y[j] + 32 : y[j];
            if (cx != cy) {
                return cx < cy ? -1 : 1;
            }
        }
        if (x[0] != y[0]) {
            return x[0] < y[0] ? -1 : 1;
        }
    }
    return na == nb ? 0 : na < nb ? -1 : 1;
}

static int key_cmp(const dname_key_t *a, const dname_key_t *b)
{
    size_t n = a->len < b->len ? a->len : b->len;
    int c = memcmp(a->key, b->key, n);
    if (c) {
        return c < 0 ? -1 : 1;
    }
    return a->len == b->len ? 0 : a->len < b->len ? -1 : 1;
}

/* in canonical order: edge cases around \000, \001, prefixes and case,
 * then the example of RFC 4034 6.1 (its own subtree, "example" > "com") */
static const char *const sorted[] = {
    "a",
    "\\000.a",
    "\\000\\000.a",
    "\\000\\001.a",
    "\\001.a",
    "\\001\\000.a",
    "\\002.a",
    "-.a",
    "0.a",
    "a.a",
    "a\\000.a",
    "a\\000\\000.a",
    "a\\001.a",
    "a\\002.a",
    "a-.a",
    "ab.a",
    "b.a",
    "a.b.a",
    "\\255.a",
    "b\\000",
    "com",
    "example.com",
    "www.example.com",
    "example\\000.com",
    "exampleA.com",
    "examplea\\000.com",
    "example",
    "a.example",
    "yljkjljk.a.example",
    "Z.a.example",
    "zABC.a.EXAMPLE",
    "z.example",
    "\\001.z.example",
    "*.z.example",
    "\\200.z.example",
};
#define NSORTED (sizeof(sorted) / sizeof(sorted[0]))

static void test_wire_len(void)
{
    uint8_t n[300];
    is_int(dname_wire_len((const uint8_t *)"\0", 1), 1, "wire_len: root is 1 octet");
    is_int(dname_wire_len((const uint8_t *)"\3www\7example\3com\0", 17), 17,
           "wire_len: www.example.com is 17 octets");
    is_int(dname_wire_len((const uint8_t *)"\3www\7example\3com\0", 16), DNSD_EMALFORMED,
           "wire_len: truncated before the root label");
    is_int(dname_wire_len((const uint8_t *)"\3ww", 3), DNSD_EMALFORMED,
           "wire_len: truncated inside a label");
    is_int(dname_wire_len((const uint8_t *)"\xc0\x0c", 2), DNSD_EMALFORMED,
           "wire_len: a compression pointer is not an uncompressed name");
    is_int(dname_wire_len((const uint8_t *)"\x41x", 2), DNSD_EMALFORMED,
           "wire_len: label type 0x40 (extended) refused");
    is_int(dname_wire_len((const uint8_t *)"\x81x", 2), DNSD_EMALFORMED,
           "wire_len: label type 0x80 refused");
    /* 255 octets: 3 x 63-octet labels + one 61-octet label + root */
    size_t o = 0;
    for (int i = 0; i < 3; i++) {
        n[o++] = 63;
        memset(n + o, 'a', 63);
        o += 63;
    }
    n[o++] = 61;
    memset(n + o, 'b', 61);
    o += 61;
    n[o++] = 0;
    is_int(o, 255, "limit: test name is 255 octets");
    is_int(dname_wire_len(n, sizeof(n)), 255, "wire_len: a 255-octet name is valid");
    is_int(dname_labels(n), 4, "labels: 4 in the 255-octet name");
    n[192] = 62; /* the last label one longer: 256 octets */
    memset(n + 193, 'b', 62);
    n[255] = 0;
    is_int(dname_wire_len(n, sizeof(n)), DNSD_EMALFORMED, "wire_len: 256 octets refused");
    is_int(dname_labels((const uint8_t *)"\0"), 0, "labels: root has 0");
    is_int(dname_labels((const uint8_t *)"\1a\1b\0"), 2, "labels: a.b has 2");
}

static void test_order(void)
{
    static uint8_t w[NSORTED][DNAME_MAXLEN + 1];
    static dname_key_t k[NSORTED];
    int bad_build = 0, bad_ref = 0, bad_key = 0;
    for (size_t i = 0; i < NSORTED; i++) {
        if (wire(sorted[i], w[i]) < 0 || dname_key_build(w[i], &k[i]) != 0) {
            bad_build++;
            printf("# cannot build %s\n", sorted[i]);
        }
    }
    is_int(bad_build, 0, "order: every table name builds a key");
    for (size_t i = 0; i < NSORTED; i++) {
        for (size_t j = 0; j < NSORTED; j++) {
            int want = i == j ? 0 : i < j ? -1 : 1;
            if (canon_cmp(w[i], w[j]) != want) {
                bad_ref++;
                printf("# reference order wrong: %s vs %s\n", sorted[i], sorted[j]);
            }
            if (key_cmp(&k[i], &k[j]) != want) {
                bad_key++;
                printf("# key order wrong: %s vs %s\n", sorted[i], sorted[j]);
            }
        }
    }
    is_int(bad_ref, 0, "order: the table is in RFC 4034 6.1 order (reference comparison)");
    is_int(bad_key, 0, "order: memcmp of keys gives the same order for all %zu pairs",
           NSORTED * NSORTED);
}

static void test_case(void)
{
    uint8_t a[256], b[256], c[256];
    dname_key_t ka, kb, kc;
    wire("WWW.Example.COM", a);
    wire("www.example.com", b);
    wire("www.\\196xample.com", c); /* 0xC4: not ASCII, not folded */
    dname_key_build(a, &ka);
    dname_key_build(b, &kb);
    dname_key_build(c, &kc);
    ok(ka.len == kb.len && memcmp(ka.key, kb.key, ka.len) == 0,
       "case: WWW.Example.COM and www.example.com have the same key");
    ok(memcmp(ka.key, "com\0example\0www\0", 16) == 0 && ka.len == 16,
       "case: key is \"com\\0example\\0www\\0\"");
    ok(!(kc.len == kb.len && memcmp(kc.key, kb.key, kb.len) == 0),
       "case: a byte above 0x7F is not folded");
    ok(dname_eq(a, b), "dname_eq: case-insensitive");
    ok(!dname_eq(a, c), "dname_eq: different names differ");
    dname_lower(a);
    ok(memcmp(a, b, 17) == 0, "dname_lower: lower-cases ASCII letters only");
}

static void test_ancestors(void)
{
    uint8_t n[256], p[256];
    dname_key_t k, kp;
    wire("a.b.example.com", n);
    dname_key_build(n, &k);
    is_int(k.nlabels, 4, "ends: 4 labels");
    is_int(k.ends[0], 0, "ends[0] is 0 (the root)");
    is_int(k.ends[k.nlabels], k.len, "ends[nlabels] is the key length");
    const char *anc[] = {"com", "example.com", "b.example.com"};
    for (int i = 0; i < 3; i++) {
        wire(anc[i], p);
        dname_key_build(p, &kp);
        ok(kp.len == k.ends[i + 1] && memcmp(kp.key, k.key, kp.len) == 0,
           "ends[%d]: the key of %s is a prefix of a.b.example.com's", i + 1, anc[i]);
    }
}

static void test_round_trip(void)
{
    const char *names[] = {
        "www.example.com", "\\000.a", "\\001\\001.\\000\\000.x", "a\\000b\\001c.test",
        "\\255\\002\\003.test", "*.wild.test", "Mixed.CASE.test", "a\\.b.test",
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        uint8_t w[256], back[256];
        dname_key_t k;
        int wl = wire(names[i], w);
        dname_key_build(w, &k);
        int bl = dname_from_key(k.key, k.len, back);
        dname_lower(w);
        ok(bl == wl && memcmp(back, w, (size_t)wl) == 0,
           "round trip: %s -> key -> wire (lower case)", names[i]);
    }
    uint8_t w[256], back[256];
    dname_key_t k;
    wire("\\000\\001.x", w);
    dname_key_build(w, &k);
    ok(k.len == 7 && memcmp(k.key, "x\0\1\1\1\2\0", 7) == 0,
       "escape: \\000 is 01 01 and \\001 is 01 02 in a key");
    ok(memchr(k.key + 2, 0, 4) == NULL, "escape: no 0x00 byte inside a label's key bytes");
    /* a fragment of whole labels (what the rrsets keys hold) */
    wire("www.example.com", w);
    dname_key_build(w, &k);
    int bl = dname_from_key(k.key + k.ends[2], k.len - k.ends[2], back);
    ok(bl == 5 && memcmp(back, "\3www\0", 5) == 0, "from_key: a relative fragment (www)");
    is_int(dname_from_key(k.key, 0, back), 1, "from_key: empty key is the root");
}

static void test_damaged(void)
{
    uint8_t out[256], big[200];
    is_int(dname_from_key((const uint8_t *)"com", 3, out), DNSD_ESTORE,
           "damaged key: missing terminator");
    is_int(dname_from_key((const uint8_t *)"\0", 1, out), DNSD_ESTORE,
           "damaged key: empty label");
    is_int(dname_from_key((const uint8_t *)"a\1\3\0", 4, out), DNSD_ESTORE,
           "damaged key: bad escape 01 03");
    is_int(dname_from_key((const uint8_t *)"a\1", 2, out), DNSD_ESTORE,
           "damaged key: escape cut short");
    memset(big, 'x', 64);
    big[64] = 0;
    is_int(dname_from_key(big, 65, out), DNSD_ESTORE, "damaged key: a 64-byte label");
    /* 5 labels of 60 bytes: 305 octets in wire form */
    for (int i = 0; i < 3; i++) {
        memset(big + i * 61, 'y', 60);
        big[i * 61 + 60] = 0;
    }
    is_int(dname_from_key(big, 183, out), 184, "from_key: 3 x 60-byte labels fit (184 octets)");
    uint8_t huge[5 * 61];
    for (int i = 0; i < 5; i++) {
        memset(huge + i * 61, 'y', 60);
        huge[i * 61 + 60] = 0;
    }
    is_int(dname_from_key(huge, sizeof(huge), out), DNSD_ESTORE,
           "damaged key: a name longer than 255 octets");
}

static void test_limits(void)
{
    uint8_t n[256];
    dname_key_t k;
    /* 255 octets of 0x00 bytes: every byte escaped, the key would be 504 > 480 */
    size_t o = 0;
    for (int i = 0; i < 3; i++) {
        n[o++] = 63;
        memset(n + o, 0, 63);
        o += 63;
    }
    n[o++] = 61;
    memset(n + o, 0, 61);
    o += 61;
    n[o++] = 0;
    is_int(dname_wire_len(n, sizeof(n)), 255, "limit: 255 octets of \\000 labels is a valid name");
    /* escaped, its key is 3 x (126 + 1) + 122 + 1 = 504 bytes */
    int want = 504 > DNAME_KEY_MAX ? DNSD_ELIMIT : 0;
    is_int(dname_key_build(n, &k), want, "limit: its 504-byte escaped key %s DNAME_KEY_MAX (%d)",
           want ? "exceeds" : "fits", DNAME_KEY_MAX);
    /* the same with letters: key = 254 bytes */
    o = 0;
    for (int i = 0; i < 3; i++) {
        n[o++] = 63;
        memset(n + o, 'q', 63);
        o += 63;
    }
    n[o++] = 61;
    memset(n + o, 'q', 61);
    o += 61;
    n[o++] = 0;
    is_int(dname_key_build(n, &k), 0, "limit: a 255-octet name of letters builds");
    is_int(k.len, 254, "limit: its key is 254 bytes");
    /* 127 one-byte labels: the most labels a name can have */
    o = 0;
    for (int i = 0; i < 127; i++) {
        n[o++] = 1;
        n[o++] = 'a';
    }
    n[o++] = 0;
    is_int(dname_wire_len(n, sizeof(n)), 255, "limit: 127 labels is 255 octets");
    is_int(dname_key_build(n, &k), 0, "limit: 127 labels build a key");
    is_int(k.nlabels, DNAME_MAXLABELS, "limit: nlabels is DNAME_MAXLABELS");
}

static void test_sub_and_str(void)
{
    uint8_t a[256], b[256];
    char s[4 * 255 + 2];
    const char *sp = s; /* is_str wants a pointer */
    wire("www.example.com", a);
    wire("example.com", b);
    ok(dname_is_sub(a, b), "is_sub: www.example.com is below example.com");
    ok(dname_is_sub(b, b), "is_sub: a name is at its own apex");
    ok(!dname_is_sub(b, a), "is_sub: a parent is not below its child");
    wire("wwwexample.com", a);
    ok(!dname_is_sub(a, b), "is_sub: wwwexample.com is not below example.com (labels, not text)");
    wire("WWW.EXAMPLE.COM", a);
    ok(dname_is_sub(a, b), "is_sub: case-insensitive");
    ok(dname_is_sub(b, (const uint8_t *)"\0"), "is_sub: everything is below the root");

    dname_to_str((const uint8_t *)"\0", s, sizeof(s));
    is_str(sp, ".", "to_str: root");
    wire("www.Example.com", a);
    dname_to_str(a, s, sizeof(s));
    is_str(sp, "www.Example.com.", "to_str: case kept, final dot");
    wire("a\\.b.\\000\\255.*.x\\*.sp\\032ace.x", a);
    dname_to_str(a, s, sizeof(s));
    is_str(sp, "a\\.b.\\000\\255.*.x\\042.sp\\032ace.x.", "to_str: escapes");
    dname_to_str(a, s, 8);
    ok(strlen(s) < 8, "to_str: truncated output stays inside the buffer");
}

int main(void)
{
    test_wire_len();
    test_order();
    test_case();
    test_ancestors();
    test_round_trip();
    test_damaged();
    test_limits();
    test_sub_and_str();
    return done_testing();
}
