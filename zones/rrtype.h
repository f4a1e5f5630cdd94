/* SPDX-License-Identifier: MIT */
/*
 * rrtype.h -- the one record-type table: type numbers (DNS_T_*), mnemonics,
 * which rdata fields are domain names (and whether they may be compressed
 * on output), the fixed rdata lengths, and which types get additional-
 * section processing. Used by zones/ (rdata shape checks, structure
 * messages, import/export), dnsd/ (answers, compression, additional
 * section), acme/ (challenge and shard records) and tools/.
 *
 * Hot-path safe: a static const table searched without allocation, locks
 * or logging; any thread. Add a type here, never a local constant.
 */
#ifndef DNSD_RRTYPE_H
#define DNSD_RRTYPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
    DNS_T_A = 1, DNS_T_NS = 2, DNS_T_MD = 3, DNS_T_MF = 4, DNS_T_CNAME = 5, DNS_T_SOA = 6,
    DNS_T_MB = 7, DNS_T_MG = 8, DNS_T_MR = 9, DNS_T_PTR = 12, DNS_T_HINFO = 13,
    DNS_T_MINFO = 14, DNS_T_MX = 15, DNS_T_TXT = 16, DNS_T_AAAA = 28, DNS_T_LOC = 29,
    DNS_T_SRV = 33, DNS_T_NAPTR = 35, DNS_T_DNAME = 39, DNS_T_OPT = 41, DNS_T_DS = 43,
    DNS_T_SSHFP = 44, DNS_T_RRSIG = 46, DNS_T_NSEC = 47, DNS_T_DNSKEY = 48, DNS_T_NSEC3 = 50,
    DNS_T_NSEC3PARAM = 51, DNS_T_TLSA = 52, DNS_T_CDS = 59, DNS_T_CDNSKEY = 60,
    DNS_T_OPENPGPKEY = 61, DNS_T_SVCB = 64, DNS_T_HTTPS = 65, DNS_T_SPF = 99, DNS_T_TKEY = 249,
    DNS_T_TSIG = 250, DNS_T_IXFR = 251, DNS_T_AXFR = 252, DNS_T_MAILB = 253, DNS_T_MAILA = 254,
    DNS_T_ANY = 255, DNS_T_URI = 256, DNS_T_CAA = 257,
};

#define RRTYPE_NO_ADDITIONAL 0xFF

/** What the server knows about one type. */
typedef struct rrtype {
    uint16_t type;
    const char *name;      /* mnemonic: "AAAA" */
    uint8_t fixed_len;     /* rdata length when fixed (A 4, AAAA 16), else 0 */
    /*
     * Domain names in the rdata: @p nnames uncompressed wire names, one after
     * another, starting @p name_off bytes in, followed by exactly @p name_post
     * bytes (SOA: 20). Only for the types whose names sit at fixed places.
     */
    uint8_t name_off, nnames, name_post;
    /* the names may be compressed on output and are checked when stored
     * (RFC 3597 section 4: the RFC 1035 types only; SRV's target never) */
    bool compress;
    /* offset of the name whose A/AAAA go in the additional section
     * (NS 0, MX 2, SRV 6), or RRTYPE_NO_ADDITIONAL */
    uint8_t additional;
} rrtype_t;

/** The entry for @p type, or NULL for a type the table does not know. Hot: no allocation. */
const rrtype_t *rrtype_get(uint16_t type);

/**
 * The mnemonic of @p type ("AAAA"), or "TYPEnnn" (RFC 3597) written into
 * @p buf (@p cap >= 12) for a type the table does not know.
 */
const char *rrtype_name(uint16_t type, char *buf, size_t cap);

#endif
