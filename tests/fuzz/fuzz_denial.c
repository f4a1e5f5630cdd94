/* SPDX-License-Identifier: MIT */
/*
 * fuzz_denial.c -- libFuzzer target for the online denial builder
 * (dnsd/dnssec_online.c: don_build(), which turns a query name -- bytes a
 * client chose -- and the types of a view into an NSEC). Input: byte 0
 * picks the proof (DON_NXNAME .. DON_COVER), byte 1 the number of names
 * bytes n, then n bytes taken as the wire name (any bytes: don_build must
 * refuse what is not a name), then u16 types. Checks, with ldns as the
 * independent reader:
 *  - a result is a well-formed NSEC rdata that ldns parses whole;
 *  - NXNAME/NODATA/CUT: owner = the name in lower case, next name sorts
 *    after it; NXNAME lists exactly RRSIG NSEC NXNAME; NODATA every given
 *    data type plus RRSIG NSEC; CUT only NS/DS of them plus RRSIG NSEC;
 *  - COVER: owner < name < next in canonical order (ldns_dname_compare),
 *    next not below the name (BIND reads that as an empty non-terminal),
 *    owner and next siblings' of the name under its parent, {RRSIG, NSEC}.
 * Without --enable-fuzzing, replay.c's main() runs the seed corpus.
 */
#include <ldns/ldns.h>
#include <string.h>

#include "dnsd/dnssec_online.h"
#include "dnsd/pkt.h"
#include "tests/fuzz/fuzz_util.h"
#include "zones/base/err.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

static ldns_rdf *rdf_name(const uint8_t *n)
{
    int l = dname_wire_len(n, DNAME_MAXLEN + 1);
    return l > 0 ? ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, (size_t)l, n) : NULL;
}

static bool listed(const uint16_t *t, int n, uint16_t type)
{
    for (int i = 0; i < n; i++) {
        if (t[i] == type) {
            return true;
        }
    }
    return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) {
        return 0;
    }
    don_kind_t kind = (don_kind_t)(1 + data[0] % 4);
    size_t nlen = data[1];
    if (size - 2 < nlen) {
        return 0;
    }
    uint8_t name[DNAME_MAXLEN + 2];
    memset(name, 0, sizeof(name));
    memcpy(name, data + 2, nlen < sizeof(name) ? nlen : sizeof(name));
    uint16_t types[DON_TYPES_MAX];
    int nt = 0;
    for (size_t o = 2 + nlen; o + 1 < size && nt < DON_TYPES_MAX - 3; o += 2) {
        types[nt++] = get16(data + o);
    }
    uint8_t owner[DNAME_MAXLEN + 1], rd[DON_RDATA_MAX];
    int rl = don_build(kind, name, types, nt, owner, rd, sizeof(rd));
    if (rl < 0) {
        if (dname_wire_len(name, DNAME_MAXLEN + 1) > 0 && kind != DON_COVER) {
            fz_fail("kind %d: a valid name refused: %d", kind, rl);
        }
        return 0;
    }
    int ol = dname_wire_len(owner, DNAME_MAXLEN + 1);
    if (ol < 0) {
        fz_fail("kind %d: the owner is not a name", kind);
    }
    /* the NSEC as ldns reads it */
    uint8_t w[DNAME_MAXLEN + 10 + DON_RDATA_MAX];
    memcpy(w, owner, (size_t)ol);
    put16(w + ol, DNS_T_NSEC);
    put16(w + ol + 2, DNS_C_IN);
    put32(w + ol + 4, 300);
    put16(w + ol + 8, (uint16_t)rl);
    memcpy(w + ol + 10, rd, (size_t)rl);
    ldns_rr *rr = NULL;
    size_t pos = 0;
    if (ldns_wire2rr(&rr, w, (size_t)ol + 10 + (size_t)rl, &pos, LDNS_SECTION_ANSWER) !=
            LDNS_STATUS_OK ||
        pos != (size_t)ol + 10 + (size_t)rl || ldns_rr_rd_count(rr) != 2) {
        fz_fail("kind %d: ldns cannot read the NSEC", kind);
    }
    ldns_rdf *nm = rdf_name(name), *next = ldns_rr_rdf(rr, 0), *own = ldns_rr_owner(rr);
    ldns_rdf *bm = ldns_rr_rdf(rr, 1);
    if (!ldns_nsec_bitmap_covers_type(bm, (ldns_rr_type)DNS_T_RRSIG) ||
        !ldns_nsec_bitmap_covers_type(bm, (ldns_rr_type)DNS_T_NSEC)) {
        fz_fail("kind %d: RRSIG or NSEC missing from the bitmap", kind);
    }
    if (ldns_dname_compare(own, next) >= 0) {
        fz_fail("kind %d: next name does not sort after the owner", kind);
    }
    if (kind == DON_COVER) {
        ldns_rdf *parent = ldns_dname_left_chop(nm);
        if (ldns_dname_compare(own, nm) >= 0 || ldns_dname_compare(nm, next) >= 0 ||
            ldns_dname_is_subdomain(next, nm) || !ldns_dname_is_subdomain(own, parent) ||
            !ldns_dname_is_subdomain(next, parent)) {
            fz_fail("cover: owner < name < next under the name's parent broken");
        }
        for (uint16_t t = 1; t < 1024; t++) {
            if (t != DNS_T_RRSIG && t != DNS_T_NSEC &&
                ldns_nsec_bitmap_covers_type(bm, (ldns_rr_type)t)) {
                fz_fail("cover: type %u in the bitmap", t);
            }
        }
        ldns_rdf_deep_free(parent);
    } else {
        uint8_t low[DNAME_MAXLEN + 1];
        memcpy(low, name, (size_t)ol);
        dname_lower(low);
        if (!dname_eq(owner, name) || memcmp(owner, low, (size_t)ol) != 0) {
            fz_fail("kind %d: the owner is not the name in lower case", kind);
        }
        for (int i = 0; i < nt; i++) {
            uint16_t t = types[i];
            bool meta = t == DNS_T_RRSIG || t == DNS_T_NSEC || (t >= 128 && t <= 255);
            bool want = kind == DON_NODATA ? !meta
                        : kind == DON_CUT  ? (t == DNS_T_NS || t == DNS_T_DS)
                                           : false;
            if (want && !ldns_nsec_bitmap_covers_type(bm, (ldns_rr_type)t)) {
                fz_fail("kind %d: type %u missing", kind, t);
            }
        }
        for (uint16_t t = 1; t != 0 && t < 2048; t++) {
            bool in = ldns_nsec_bitmap_covers_type(bm, (ldns_rr_type)t);
            bool may = t == DNS_T_RRSIG || t == DNS_T_NSEC ||
                       (kind == DON_NXNAME && t == DON_T_NXNAME) ||
                       (kind == DON_NODATA && listed(types, nt, t)) ||
                       (kind == DON_CUT && (t == DNS_T_NS || t == DNS_T_DS) &&
                        listed(types, nt, t));
            if (in && !may) {
                fz_fail("kind %d: type %u in the bitmap not asked for", kind, t);
            }
        }
        if (kind == DON_NXNAME && !ldns_nsec_bitmap_covers_type(bm, (ldns_rr_type)DON_T_NXNAME)) {
            fz_fail("nxname: NXNAME missing");
        }
    }
    ldns_rdf_deep_free(nm);
    ldns_rr_free(rr);
    return 0;
}
