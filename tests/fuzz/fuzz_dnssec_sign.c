/* SPDX-License-Identifier: MIT */
/*
 * fuzz_dnssec_sign.c -- libFuzzer target for the signer's input (zones/
 * dnssec.c): arbitrary bytes as a stored RRset value, with an owner and a
 * type, as the writer and the re-sign batches hand them to zd_sign().
 * Input: u8 flags (bit 0: Ed25519, else ECDSA P-256) | u8 type index (into
 * the table below: the types whose names RFC 4034 6.2 lower-cases, and
 * others) | u8 owner length | owner (wire) | the value. When the owner is a
 * wire name and zs_rrset_decode() accepts the value:
 *  - zd_sign() must succeed, with a 64-byte signature, the key's tag and
 *    algorithm, and the labels field of the owner (a leading "*" not
 *    counted);
 *  - when ldns reads every record back to the same bytes (so both sides
 *    sign the same data) and the type is not A6 (see below),
 *    ldns_verify_rrsig() must accept the signature
 *    for the records, duplicates (equal once canonical) left out, as a
 *    validator sees them.
 * Never a crash, whatever the bytes. Without --enable-fuzzing, replay.c's
 * main() runs the seed corpus (tests/fuzz/corpus/dnssec_sign/).
 */
#include <ldns/ldns.h>
#include <string.h>
#include <time.h>

#include "tests/fuzz/fuzz_util.h"
#include "zones/base/err.h"
#include "zones/dnssec.h"
#include "zones/schema.h"

#define INPUT_MAX 8192

static const uint16_t types[] = {
    1,  2,  5,  6,  12, 13, 14, 15, 16, 17, 18, 21, 24, 26, 28, 30,
    33, 35, 36, 38, 39, 43, 46, 47, 48, 52, 64, 65, 99, 257, 65280,
};
#define NTYPES (sizeof(types) / sizeof(types[0]))

static zd_signer_t *sg[2];
static ldns_rr *keyrr[2];

static ldns_rr *rr_wire(const uint8_t *owner, int ol, uint16_t type, uint32_t ttl,
                        const uint8_t *rd, size_t rl)
{
    static uint8_t w[DNAME_MAXLEN + 1 + 10 + 65536];
    memcpy(w, owner, (size_t)ol);
    zs_put16(w + ol, type);
    zs_put16(w + ol + 2, 1);
    zs_put32(w + ol + 4, ttl);
    zs_put16(w + ol + 8, (uint16_t)rl);
    memcpy(w + ol + 10, rd, rl);
    ldns_rr *rr = NULL;
    size_t pos = 0;
    if (ldns_wire2rr(&rr, w, (size_t)ol + 10 + rl, &pos, LDNS_SECTION_ANSWER) != LDNS_STATUS_OK ||
        pos != (size_t)ol + 10 + rl) {
        ldns_rr_free(rr);
        return NULL;
    }
    return rr;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    static const uint8_t apex[] = "\7example\4test";
    for (int i = 0; i < 2; i++) {
        zd_key_t k;
        diag_t d = {0};
        if (zd_key_generate(i ? ZD_ALG_ED25519 : ZD_ALG_ECDSAP256SHA256, ZD_ROLE_CSK, &k, &d) ||
            zd_signer_new(&k, &sg[i]) != 0) {
            fz_fail("cannot make a key");
        }
        uint8_t rd[4 + ZD_PUB_MAX];
        size_t rl = zd_dnskey_rdata(&k, rd);
        keyrr[i] = rr_wire(apex, sizeof(apex), LDNS_RR_TYPE_DNSKEY, 3600, rd, rl);
        if (!keyrr[i]) {
            fz_fail("ldns cannot read our DNSKEY");
        }
    }
    return 0;
}

/* Does ldns write @p rr's rdata back as exactly @p rd? (no decompression, no reshaping) */
static bool same_rdata(const ldns_rr *rr, const uint8_t *rd, size_t rl)
{
    ldns_buffer *b = ldns_buffer_new(rl + 16);
    bool same = ldns_rr_rdata2buffer_wire(b, rr) == LDNS_STATUS_OK &&
                ldns_buffer_position(b) == rl && memcmp(ldns_buffer_begin(b), rd, rl) == 0;
    ldns_buffer_free(b);
    return same;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4 || size > INPUT_MAX) {
        return 0;
    }
    int alg = data[0] & 1;
    uint16_t type = types[data[1] % NTYPES];
    size_t ol = data[2];
    if (size - 3 < ol) {
        return 0;
    }
    const uint8_t *owner = data + 3;
    if (ol == 0 || dname_wire_len(owner, ol) != (int)ol) {
        return 0;
    }
    const uint8_t *v = owner + ol;
    size_t vl = size - 3 - ol;
    zs_rrset_t rr;
    if (!zs_rrset_decode(v, vl, type, &rr)) {
        return 0;
    }
    static uint8_t scratch[2 * INPUT_MAX + 1024], sig[ZD_RRSIG_MAX];
    static const uint8_t signer[] = "\7example\4test";
    uint32_t now = (uint32_t)time(NULL);
    int sl = zd_sign(sg[alg], owner, signer, type, rr.ttl, rr.rdata, rr.rdata_len, rr.count,
                     now - 3600, now + 86400, scratch, sizeof(scratch), sig);
    if (sl != (int)(18 + sizeof(signer) + 64)) {
        fz_fail("zd_sign of a decoded RRset gave %d", sl);
    }
    int labels = dname_labels(owner) - (owner[0] == 1 && owner[1] == '*');
    if (zs_get16(sig) != type || sig[2] != zd_signer_alg(sg[alg]) || sig[3] != labels ||
        zs_get16(sig + 16) != zd_signer_tag(sg[alg])) {
        fz_fail("RRSIG fields wrong");
    }
    /* ldns: the records as a validator gets them */
    ldns_rr_list *set = ldns_rr_list_new();
    size_t off = 0;
    bool readable = true;
    for (unsigned i = 0; i < rr.count && readable; i++) {
        size_t rl = zs_get16(rr.rdata + off);
        const uint8_t *rd = rr.rdata + off + 2;
        off += 2 + rl;
        ldns_rr *r = rr_wire(owner, (int)ol, type, rr.ttl, rd, rl);
        if (!r || !same_rdata(r, rd, rl)) {
            ldns_rr_free(r);
            readable = false;
            break;
        }
        ldns_rr2canonical(r);
        bool dup = false;
        for (size_t j = 0; j < ldns_rr_list_rr_count(set) && !dup; j++) {
            dup = ldns_rr_compare(ldns_rr_list_rr(set, j), r) == 0;
        }
        if (dup) {
            ldns_rr_free(r);
        } else {
            ldns_rr_list_push_rr(set, r);
        }
    }
    /* A6 (historic, RFC 6563): ldns keeps its rdata opaque and never
     * lower-cases its prefix name; RFC 4034 6.2 lists it, and zd_sign follows
     * the RFC (as BIND does), so ldns is no judge there */
    if (readable && type != 38) {
        ldns_rr *rs = rr_wire(owner, (int)ol, LDNS_RR_TYPE_RRSIG, rr.ttl, sig, (size_t)sl);
        if (!rs) {
            fz_fail("ldns cannot read our RRSIG");
        }
        ldns_status st = ldns_verify_rrsig(set, rs, keyrr[alg]);
        if (st != LDNS_STATUS_OK) {
            fz_fail("ldns does not verify the RRSIG over %u records of type %u: %s", rr.count,
                    type, ldns_get_errorstr_by_id(st));
        }
        ldns_rr_free(rs);
    }
    ldns_rr_list_deep_free(set);
    return 0;
}
