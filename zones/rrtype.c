/* SPDX-License-Identifier: MIT */
/*
 * rrtype.c -- the record-type table (rrtype.h). One static const array in
 * type order, binary-searched: no allocation, no lock, usable per query.
 */
#include "zones/rrtype.h"

#include <stdio.h>

#define N RRTYPE_NO_ADDITIONAL

/* type, name, fixed_len, name_off, nnames, name_post, compress, additional */
static const rrtype_t table[] = {
    {DNS_T_A, "A", 4, 0, 0, 0, false, N},
    {DNS_T_NS, "NS", 0, 0, 1, 0, true, 0},
    {DNS_T_MD, "MD", 0, 0, 1, 0, true, N},
    {DNS_T_MF, "MF", 0, 0, 1, 0, true, N},
    {DNS_T_CNAME, "CNAME", 0, 0, 1, 0, true, N},
    {DNS_T_SOA, "SOA", 0, 0, 2, 20, true, N},
    {DNS_T_MB, "MB", 0, 0, 1, 0, true, N},
    {DNS_T_MG, "MG", 0, 0, 1, 0, true, N},
    {DNS_T_MR, "MR", 0, 0, 1, 0, true, N},
    {DNS_T_PTR, "PTR", 0, 0, 1, 0, true, N},
    {DNS_T_HINFO, "HINFO", 0, 0, 0, 0, false, N},
    {DNS_T_MINFO, "MINFO", 0, 0, 2, 0, true, N},
    {DNS_T_MX, "MX", 0, 2, 1, 0, true, 2},
    {DNS_T_TXT, "TXT", 0, 0, 0, 0, false, N},
    {DNS_T_AAAA, "AAAA", 16, 0, 0, 0, false, N},
    {DNS_T_LOC, "LOC", 0, 0, 0, 0, false, N},
    {DNS_T_SRV, "SRV", 0, 6, 1, 0, false, 6},
    {DNS_T_NAPTR, "NAPTR", 0, 0, 0, 0, false, N},
    {DNS_T_DNAME, "DNAME", 0, 0, 1, 0, false, N},
    {DNS_T_OPT, "OPT", 0, 0, 0, 0, false, N},
    {DNS_T_DS, "DS", 0, 0, 0, 0, false, N},
    {DNS_T_SSHFP, "SSHFP", 0, 0, 0, 0, false, N},
    {DNS_T_RRSIG, "RRSIG", 0, 0, 0, 0, false, N},
    {DNS_T_NSEC, "NSEC", 0, 0, 0, 0, false, N},
    {DNS_T_DNSKEY, "DNSKEY", 0, 0, 0, 0, false, N},
    {DNS_T_NSEC3, "NSEC3", 0, 0, 0, 0, false, N},
    {DNS_T_NSEC3PARAM, "NSEC3PARAM", 0, 0, 0, 0, false, N},
    {DNS_T_TLSA, "TLSA", 0, 0, 0, 0, false, N},
    {DNS_T_CDS, "CDS", 0, 0, 0, 0, false, N},
    {DNS_T_CDNSKEY, "CDNSKEY", 0, 0, 0, 0, false, N},
    {DNS_T_OPENPGPKEY, "OPENPGPKEY", 0, 0, 0, 0, false, N},
    {DNS_T_SVCB, "SVCB", 0, 0, 0, 0, false, N},
    {DNS_T_HTTPS, "HTTPS", 0, 0, 0, 0, false, N},
    {DNS_T_SPF, "SPF", 0, 0, 0, 0, false, N},
    {DNS_T_TKEY, "TKEY", 0, 0, 0, 0, false, N},
    {DNS_T_TSIG, "TSIG", 0, 0, 0, 0, false, N},
    {DNS_T_IXFR, "IXFR", 0, 0, 0, 0, false, N},
    {DNS_T_AXFR, "AXFR", 0, 0, 0, 0, false, N},
    {DNS_T_MAILB, "MAILB", 0, 0, 0, 0, false, N},
    {DNS_T_MAILA, "MAILA", 0, 0, 0, 0, false, N},
    {DNS_T_ANY, "ANY", 0, 0, 0, 0, false, N},
    {DNS_T_URI, "URI", 0, 0, 0, 0, false, N},
    {DNS_T_CAA, "CAA", 0, 0, 0, 0, false, N},
};

const rrtype_t *rrtype_get(uint16_t type)
{
    size_t lo = 0, hi = sizeof(table) / sizeof(table[0]);
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (table[mid].type == type) {
            return &table[mid];
        }
        if (table[mid].type < type) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    return NULL;
}

const char *rrtype_name(uint16_t type, char *buf, size_t cap)
{
    const rrtype_t *t = rrtype_get(type);
    if (t) {
        return t->name;
    }
    snprintf(buf, cap, "TYPE%u", type);
    return buf;
}
