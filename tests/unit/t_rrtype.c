/* SPDX-License-Identifier: MIT */
/*
 * t_rrtype.c -- the record-type table (zones/rrtype.h): every type is found
 * (the table is sorted for the binary search), mnemonics, names in rdata,
 * compression and additional-section processing, and zs_rdata_ok() reading
 * its shapes from it.
 */
#include <string.h>

#include "tests/tap.h"
#include "zones/rrtype.h"
#include "zones/schema.h"

#define NCASES(a) (sizeof(a) / sizeof((a)[0]))

int main(void)
{
    static const struct {
        uint16_t type;
        const char *name;
        int nnames, off;
        bool compress;
        int additional;
    } cases[] = {
        {DNS_T_A, "A", 0, 0, false, RRTYPE_NO_ADDITIONAL},
        {DNS_T_NS, "NS", 1, 0, true, 0},
        {DNS_T_MD, "MD", 1, 0, true, RRTYPE_NO_ADDITIONAL},
        {DNS_T_MF, "MF", 1, 0, true, RRTYPE_NO_ADDITIONAL},
        {DNS_T_CNAME, "CNAME", 1, 0, true, RRTYPE_NO_ADDITIONAL},
        {DNS_T_SOA, "SOA", 2, 0, true, RRTYPE_NO_ADDITIONAL},
        {DNS_T_MB, "MB", 1, 0, true, RRTYPE_NO_ADDITIONAL},
        {DNS_T_MG, "MG", 1, 0, true, RRTYPE_NO_ADDITIONAL},
        {DNS_T_MR, "MR", 1, 0, true, RRTYPE_NO_ADDITIONAL},
        {DNS_T_PTR, "PTR", 1, 0, true, RRTYPE_NO_ADDITIONAL},
        {DNS_T_HINFO, "HINFO", 0, 0, false, RRTYPE_NO_ADDITIONAL},
        {DNS_T_MINFO, "MINFO", 2, 0, true, RRTYPE_NO_ADDITIONAL},
        {DNS_T_MX, "MX", 1, 2, true, 2},
        {DNS_T_TXT, "TXT", 0, 0, false, RRTYPE_NO_ADDITIONAL},
        {DNS_T_AAAA, "AAAA", 0, 0, false, RRTYPE_NO_ADDITIONAL},
        {DNS_T_LOC, "LOC", 0, 0, false, RRTYPE_NO_ADDITIONAL},
        {DNS_T_SRV, "SRV", 1, 6, false, 6},
        {DNS_T_NAPTR, "NAPTR", 0, 0, false, RRTYPE_NO_ADDITIONAL},
        {DNS_T_DNAME, "DNAME", 1, 0, false, RRTYPE_NO_ADDITIONAL},
        {DNS_T_OPT, "OPT", 0, 0, false, RRTYPE_NO_ADDITIONAL},
        {DNS_T_DS, "DS", 0, 0, false, RRTYPE_NO_ADDITIONAL},
        {DNS_T_SSHFP, "SSHFP", 0, 0, false, RRTYPE_NO_ADDITIONAL},
        {DNS_T_RRSIG, "RRSIG", 0, 0, false, RRTYPE_NO_ADDITIONAL},
        {DNS_T_NSEC, "NSEC", 0, 0, false, RRTYPE_NO_ADDITIONAL},
        {DNS_T_DNSKEY, "DNSKEY", 0, 0, false, RRTYPE_NO_ADDITIONAL},
        {DNS_T_NSEC3, "NSEC3", 0, 0, false, RRTYPE_NO_ADDITIONAL},
        {DNS_T_NSEC3PARAM, "NSEC3PARAM", 0, 0, false, RRTYPE_NO_ADDITIONAL},
        {DNS_T_TLSA, "TLSA", 0, 0, false, RRTYPE_NO_ADDITIONAL},
        {DNS_T_CDS, "CDS", 0, 0, false, RRTYPE_NO_ADDITIONAL},
        {DNS_T_CDNSKEY, "CDNSKEY", 0, 0, false, RRTYPE_NO_ADDITIONAL},
        {DNS_T_OPENPGPKEY, "OPENPGPKEY", 0, 0, false, RRTYPE_NO_ADDITIONAL},
        {DNS_T_SVCB, "SVCB", 0, 0, false, RRTYPE_NO_ADDITIONAL},
        {DNS_T_HTTPS, "HTTPS", 0, 0, false, RRTYPE_NO_ADDITIONAL},
        {DNS_T_SPF, "SPF", 0, 0, false, RRTYPE_NO_ADDITIONAL},
        {DNS_T_TKEY, "TKEY", 0, 0, false, RRTYPE_NO_ADDITIONAL},
        {DNS_T_TSIG, "TSIG", 0, 0, false, RRTYPE_NO_ADDITIONAL},
        {DNS_T_IXFR, "IXFR", 0, 0, false, RRTYPE_NO_ADDITIONAL},
        {DNS_T_AXFR, "AXFR", 0, 0, false, RRTYPE_NO_ADDITIONAL},
        {DNS_T_MAILB, "MAILB", 0, 0, false, RRTYPE_NO_ADDITIONAL},
        {DNS_T_MAILA, "MAILA", 0, 0, false, RRTYPE_NO_ADDITIONAL},
        {DNS_T_ANY, "ANY", 0, 0, false, RRTYPE_NO_ADDITIONAL},
        {DNS_T_URI, "URI", 0, 0, false, RRTYPE_NO_ADDITIONAL},
        {DNS_T_CAA, "CAA", 0, 0, false, RRTYPE_NO_ADDITIONAL},
    };
    for (size_t i = 0; i < NCASES(cases); i++) {
        const rrtype_t *t = rrtype_get(cases[i].type);
        if (!ok(t && t->type == cases[i].type, "%s (%u) is found", cases[i].name,
                cases[i].type)) {
            continue;
        }
        ok(strcmp(t->name, cases[i].name) == 0 && t->nnames == cases[i].nnames &&
               (!cases[i].nnames || t->name_off == cases[i].off) &&
               t->compress == cases[i].compress && t->additional == cases[i].additional,
           "%s: mnemonic, names in rdata, compression, additional", cases[i].name);
    }
    /* nothing else is known, and what is known is known once */
    size_t known = 0;
    for (unsigned ty = 0; ty <= 0xFFFF; ty++) {
        const rrtype_t *t = rrtype_get((uint16_t)ty);
        if (t) {
            known++;
            if (t->type != ty) {
                ok(0, "type %u found as %u", ty, t->type);
            }
        }
    }
    is_int(known, NCASES(cases), "the table knows exactly the %zu types above", NCASES(cases));
    char buf[16];
    is_str(rrtype_name(DNS_T_AAAA, buf, sizeof(buf)), "AAAA", "rrtype_name: a known type");
    is_str(rrtype_name(65280, buf, sizeof(buf)), "TYPE65280", "rrtype_name: RFC 3597 form");

    /* zs_rdata_ok reads the shapes from the table */
    static const struct {
        const char *name;
        uint16_t type;
        const char *rd;
        size_t rl;
        bool want;
    } shapes[] = {
        {"A of 4 bytes", DNS_T_A, "\xc0\x00\x02\x01", 4, true},
        {"A of 3 bytes", DNS_T_A, "\xc0\x00\x02", 3, false},
        {"AAAA of 4 bytes", DNS_T_AAAA, "\xc0\x00\x02\x01", 4, false},
        {"NS with a name", DNS_T_NS, "\x02ns\x04test\x00", 9, true},
        {"NS with bytes after the name", DNS_T_NS, "\x02ns\x04test\x00\x01", 10, false},
        {"MX with preference and name", DNS_T_MX, "\x00\x0a\x02mx\x00", 6, true},
        {"MX without the preference", DNS_T_MX, "\x00", 1, false},
        {"SOA without its 20 bytes", DNS_T_SOA, "\x00\x00", 2, false},
        {"SRV is opaque (no compression, no check)", DNS_T_SRV, "\x01", 1, true},
        {"TXT is opaque", DNS_T_TXT, "\x03" "abc", 4, true},
        {"an unknown type is opaque", 65280, "", 0, true},
    };
    for (size_t i = 0; i < NCASES(shapes); i++) {
        is_int(zs_rdata_ok(shapes[i].type, (const uint8_t *)shapes[i].rd, shapes[i].rl),
               shapes[i].want, "zs_rdata_ok: %s", shapes[i].name);
    }
    return done_testing();
}
