/* SPDX-License-Identifier: MIT */
/*
 * fuzz_acme.c -- what the ACME client reads from a CA: HTTP response header
 * lines (Replay-Nonce, Location, Link; Retry-After is left to libcurl), problem documents
 * (RFC 7807 with subproblems), certificate chains (PEM: facts, split, leaf
 * DER, key match), base64url, and certificate names from identifiers. The
 * first byte picks the reader; the rest is the input. Invariants: every
 * string field stays NUL-terminated within its buffer, counts stay within
 * their arrays, a split chain re-reads to the same leaf.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "acme/client.h"
#include "acme/csr.h"
#include "acme/dns01.h"
#include "acme/http.h"
#include "acme/jws.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static EVP_PKEY *key;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (acme_key_generate(ACME_KEY_EC256, &key) != 0) {
        fz_fail("cannot make a key");
    }
    return 0;
}

static void terminated(const char *s, size_t cap, const char *what)
{
    if (memchr(s, 0, cap) == NULL) {
        fz_fail("%s not NUL-terminated", what);
    }
}

static void headers(const char *in, size_t n)
{
    acme_resp_t r;
    memset(&r, 0, sizeof(r));
    r.retry_after_s = -1;
    size_t off = 0;
    while (off < n) {
        const char *nl = memchr(in + off, '\n', n - off);
        size_t len = nl ? (size_t)(nl - (in + off)) + 1 : n - off;
        acme_http_header(&r, in + off, len, 1784764800);
        off += len;
    }
    terminated(r.nonce, sizeof(r.nonce), "nonce");
    terminated(r.location, sizeof(r.location), "location");
    terminated(r.content_type, sizeof(r.content_type), "content type");
    terminated(r.up, sizeof(r.up), "up");
    terminated(r.tos, sizeof(r.tos), "tos");
    if (r.nalternates < 0 || r.nalternates > ACME_HTTP_LINKS_MAX) {
        fz_fail("%d alternates", r.nalternates);
    }
    for (int i = 0; i < r.nalternates; i++) {
        terminated(r.alternates[i], sizeof(r.alternates[i]), "alternate");
    }
    if (r.retry_after_s != -1) {
        fz_fail("Retry-After %ld from the header parser (libcurl reads it)", r.retry_after_s);
    }
}

static void problem(const char *in, size_t n)
{
    json_error_t je;
    json_t *j = json_loadb(in, n, 0, &je);
    acme_problem_t p;
    acme_problem_from_json(j, 0, &p);
    terminated(p.type, sizeof(p.type), "type");
    terminated(p.detail, sizeof(p.detail), "detail");
    terminated(p.sub, sizeof(p.sub), "subproblems");
    char line[300]; /* smaller than the fields: formatting must cut, not overflow */
    acme_problem_format(&p, line, sizeof(line));
    terminated(line, sizeof(line), "formatted problem");
    json_decref(j);
}

static void chain(const char *in)
{
    acme_cert_info_t *ci = malloc(sizeof(*ci));
    if (acme_cert_info(in, ci) == 0) {
        if (ci->nsans < 0 || ci->nsans > ACME_CERT_SANS_MAX || ci->chain_len < 1) {
            fz_fail("nsans %d, chain %d", ci->nsans, ci->chain_len);
        }
        terminated(ci->serial, sizeof(ci->serial), "serial");
        terminated(ci->issuer, sizeof(ci->issuer), "issuer");
        terminated(ci->top_issuer, sizeof(ci->top_issuer), "top issuer");
        char *leaf = NULL, *rest = NULL;
        if (acme_cert_split(in, &leaf, &rest) != 0) {
            fz_fail("a chain with facts does not split");
        }
        acme_cert_info_t *li = malloc(sizeof(*li));
        if (acme_cert_info(leaf, li) != 0 || strcmp(li->serial, ci->serial) != 0) {
            fz_fail("the split leaf is not the chain's leaf");
        }
        uint8_t *der = NULL;
        size_t len = 0;
        if (acme_cert_leaf_der(in, &der, &len) != 0 || len == 0) {
            fz_fail("no leaf DER");
        }
        (void)acme_cert_matches_key(in, key);
        free(der);
        free(li);
        free(leaf);
        free(rest);
    }
    free(ci);
}

static void b64(const char *in)
{
    uint8_t *out = NULL;
    size_t n = 0;
    if (acme_b64url_decode(in, &out, &n) == 0) {
        char *again = acme_b64url(out, n);
        uint8_t *out2 = NULL;
        size_t n2 = 0;
        if (acme_b64url_decode(again, &out2, &n2) != 0 || n2 != n || memcmp(out, out2, n) != 0) {
            fz_fail("base64url does not round-trip");
        }
        free(out2);
        free(again);
        free(out);
    }
}

static void name(const char *in)
{
    char out[300], why[400];
    if (acme_name_check(in, out, sizeof(out), why, sizeof(why)) == 0) {
        uint8_t w[DNAME_MAXLEN + 1];
        int n = acme_dns01_owner(out, w);
        if (n > 0 && dname_wire_len(w, (size_t)n) != n) {
            fz_fail("challenge owner of %s is not a wire name", out);
        }
        char again[300];
        if (acme_name_check(out, again, sizeof(again), why, sizeof(why)) != 0 ||
            strcmp(again, out) != 0) {
            fz_fail("a checked name does not check again unchanged");
        }
    } else {
        terminated(why, sizeof(why), "why");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 65536) {
        return 0;
    }
    char *in = malloc(size);
    memcpy(in, data + 1, size - 1);
    in[size - 1] = '\0';
    switch (data[0] % 5) {
    case 0: headers(in, size - 1); break;
    case 1: problem(in, size - 1); break;
    case 2: chain(in); break;
    case 3: b64(in); break;
    default: name(in); break;
    }
    free(in);
    return 0;
}
