/* SPDX-License-Identifier: MIT */
/*
 * t_values.c -- the decoders of stored values (zones/schema.h, regions.c):
 * an RRset value, a zone value and a region value, each a table of named
 * byte strings with the verdict. Damage must be refused (false /
 * DNSD_ESTORE), including rdata that does not have its type's shape (the
 * types dnsd reads or compresses). The fuzz target tests/fuzz/fuzz_store.c
 * explores the same decoders; the cases it found are rows here.
 */
#include <stdlib.h>
#include <string.h>

#include "tests/tap.h"
#include "zones/base/err.h"
#include "zones/regions.h"
#include "zones/schema.h"

#define H(c) "\x01\x00\x00\x00\x0e\x10\x00" c /* rrset header: format 1, TTL 3600, count c */

static const struct {
    const char *name;
    uint16_t type;
    const char *v;
    size_t len;
    bool ok;
} rrsets[] = {
    {"A, one record", 1, H("\x01") "\x00\x04\xc0\x00\x02\x01", 14, true},
    {"A, two records", 1, H("\x02") "\x00\x04\xc0\x00\x02\x01\x00\x04\xc0\x00\x02\x02", 20, true},
    {"A of 3 bytes", 1, H("\x01") "\x00\x03\xc0\x00\x02", 13, false},
    /* found by fuzz_zonefile: the importer stored "A \# TYPE241263" as an empty A */
    {"A of 0 bytes", 1, H("\x01") "\x00\x00", 10, false},
    {"AAAA of 4 bytes", 28, H("\x01") "\x00\x04\xc0\x00\x02\x01", 14, false},
    {"TXT: any bytes", 16, H("\x01") "\x00\x03\xff\x00\x01", 13, true},
    {"format 2", 1, "\x02\x00\x00\x00\x0e\x10\x00\x01\x00\x04\xc0\x00\x02\x01", 14, false},
    {"count 0", 16, H("\x00"), 8, false},
    {"count 2, one record", 16, H("\x02") "\x00\x01\x61", 11, false},
    {"count 1, bytes after the record", 16, H("\x01") "\x00\x01\x61\x00", 12, false},
    {"rdlen past the end", 16, H("\x01") "\x00\x05\x61", 11, false},
    {"half a length", 16, H("\x01") "\x00", 9, false},
    {"shorter than a header", 16, "\x01\x00\x00", 3, false},
    {"NS: a name", 2, H("\x01") "\x00\x05\x03ns1\x00", 15, true},
    {"NS: the root", 2, H("\x01") "\x00\x01\x00", 11, true},
    /* found by fuzz_store: dnsd sent a damaged NS rdata as stored, a malformed reply */
    {"NS: a label past the rdata", 2, H("\x01") "\x00\x05\x03ns1\x74", 15, false},
    {"NS: a name, then a byte", 2, H("\x01") "\x00\x06\x03ns1\x00\x00", 16, false},
    {"NS: a compression pointer", 2, H("\x01") "\x00\x02\xc0\x0c", 12, false},
    {"CNAME: empty", 5, H("\x01") "\x00\x00", 10, false},
    {"MX: preference and name", 15, H("\x01") "\x00\x05\x00\x0a\x01m\x00", 15, true},
    {"MX: preference only", 15, H("\x01") "\x00\x02\x00\x0a", 12, false},
    {"SOA: two names and 20 bytes", 6,
     H("\x01") "\x00\x16\x00\x00" "\x00\x00\x00\x01\x00\x00\x00\x02\x00\x00\x00\x03\x00\x00\x00\x04"
               "\x00\x00\x00\x05", 32, true},
    {"SOA: 19 bytes of numbers", 6,
     H("\x01") "\x00\x15\x00\x00" "\x00\x00\x00\x01\x00\x00\x00\x02\x00\x00\x00\x03\x00\x00\x00\x04"
               "\x00\x00\x05", 31, false},
};

static const struct {
    const char *name;
    const char *v;
    size_t len;
    bool ok;
} zones[] = {
    {"example.test.", "\x00\x00\x00\x01\x00\x0e\x07" "example\x04test\x00", 20, true},
    {"apex length past the value", "\x00\x00\x00\x01\x00\x0f\x07" "example\x04test\x00", 20, false},
    {"apex not a name", "\x00\x00\x00\x01\x00\x0e\x08" "example\x04test\x00", 20, false},
    {"a byte after the apex", "\x00\x00\x00\x01\x00\x0e\x07" "example\x04test\x00\x00", 21, false},
    {"shorter than a header", "\x00\x00\x00\x01\x00", 5, false},
};

/* a region value: fields as regions.h lists them */
static size_t region(uint8_t *b, uint8_t flags, uint16_t parent, double lat, const char *name,
                     size_t nlen, const char *cont, const char *sub, const uint8_t *cidr,
                     size_t cidr_len)
{
    size_t o = 0;
    b[o++] = 1;
    zs_put16(b + o, parent);
    o += 2;
    b[o++] = flags;
    uint64_t bits;
    memcpy(&bits, &lat, 8);
    zs_put64(b + o, bits);
    zs_put64(b + o + 8, 0);
    o += 16;
    b[o++] = (uint8_t)nlen;
    memcpy(b + o, name, nlen);
    o += nlen;
    const char *lists[3] = {cont, NULL, sub};
    for (int l = 0; l < 3; l++) {
        b[o++] = lists[l] ? 1 : 0;
        if (lists[l]) {
            b[o++] = (uint8_t)strlen(lists[l]);
            memcpy(b + o, lists[l], strlen(lists[l]));
            o += strlen(lists[l]);
        }
    }
    b[o++] = cidr ? 1 : 0;
    if (cidr) {
        memcpy(b + o, cidr, cidr_len);
        o += cidr_len;
    }
    return o;
}

int main(void)
{
    for (size_t i = 0; i < sizeof(rrsets) / sizeof(rrsets[0]); i++) {
        zs_rrset_t rr;
        bool got = zs_rrset_decode((const uint8_t *)rrsets[i].v, rrsets[i].len, rrsets[i].type,
                                   &rr);
        ok(got == rrsets[i].ok, "rrset value, %s: %s", rrsets[i].name,
           rrsets[i].ok ? "decoded" : "refused");
        if (got) {
            ok(rr.type == rrsets[i].type && rr.ttl == 3600 && rr.rdata_len == rrsets[i].len - 8,
               "rrset value, %s: type, TTL and rdata span", rrsets[i].name);
        }
    }
    for (size_t i = 0; i < sizeof(zones) / sizeof(zones[0]); i++) {
        zs_zone_t z;
        ok(zs_zone_decode((const uint8_t *)zones[i].v, zones[i].len, &z) == zones[i].ok,
           "zone value, %s: %s", zones[i].name, zones[i].ok ? "decoded" : "refused");
    }

    static zs_region_t r;
    static uint8_t b[ZS_REGION_VALUE_MAX], back[ZS_REGION_VALUE_MAX];
    static const uint8_t net4[] = {4, 24, 192, 0, 2, 0}, host4[] = {4, 24, 192, 0, 2, 1},
                         fam5[] = {5, 8, 10, 0, 0, 0}, len33[] = {4, 33, 10, 0, 0, 0};
    const struct {
        const char *name;
        uint16_t id, parent;
        uint8_t flags;
        double lat;
        const char *rname, *cont, *sub;
        const uint8_t *cidr;
        bool ok;
        size_t nlen; /* the name's length byte; 0: strlen(rname) */
    } regions[] = {
        {"a continent, a subdivision, a CIDR, coordinates", 2, 1, 1, 50.1, "eu-west", "EU",
         "GB-ENG", net4, true},
        {"id 0 (default is never stored)", 0, 1, 0, 0, "eu", "EU", NULL, NULL, false},
        {"id 0xFFFF", 0xFFFF, 1, 0, 0, "eu", "EU", NULL, NULL, false},
        {"its own parent", 2, 2, 0, 0, "eu", "EU", NULL, NULL, false},
        {"flags 2", 2, 0, 2, 0, "eu", NULL, NULL, NULL, false},
        {"latitude 91", 2, 0, 1, 91, "eu", NULL, NULL, NULL, false},
        {"latitude NaN", 2, 0, 1, 0.0 / 0.0, "eu", NULL, NULL, NULL, false},
        {"latitude 91 without coordinates", 2, 0, 0, 91, "eu", NULL, NULL, NULL, true},
        {"empty name", 2, 0, 0, 0, "", NULL, NULL, NULL, false},
        /* found by fuzz_store: decoded as "eu-we", re-encoded 2 bytes shorter */
        {"a NUL inside the name", 2, 0, 0, 0, "eu-we\0\0", NULL, NULL, NULL, false, 7},
        {"name default", 2, 0, 0, 0, "default", NULL, NULL, NULL, false},
        {"upper-case name", 2, 0, 0, 0, "EU", NULL, NULL, NULL, false},
        {"lower-case continent", 2, 0, 0, 0, "eu", "eu", NULL, NULL, false},
        {"continent of one letter", 2, 0, 0, 0, "eu", "E", NULL, NULL, false},
        {"subdivision without a dash", 2, 0, 0, 0, "eu", NULL, "GBENG", NULL, false},
        {"CIDR with host bits", 2, 0, 0, 0, "eu", NULL, NULL, host4, false},
        {"CIDR family 5", 2, 0, 0, 0, "eu", NULL, NULL, fam5, false},
        {"CIDR /33", 2, 0, 0, 0, "eu", NULL, NULL, len33, false},
    };
    for (size_t i = 0; i < sizeof(regions) / sizeof(regions[0]); i++) {
        size_t len = region(b, regions[i].flags, regions[i].parent, regions[i].lat,
                            regions[i].rname,
                            regions[i].nlen ? regions[i].nlen : strlen(regions[i].rname),
                            regions[i].cont, regions[i].sub, regions[i].cidr,
                            regions[i].cidr ? 6 : 0);
        int err = zs_region_decode(regions[i].id, b, len, &r);
        is_int(err, regions[i].ok ? 0 : DNSD_ESTORE, "region value, %s: %s", regions[i].name,
               regions[i].ok ? "decoded" : "refused");
        if (err) {
            continue;
        }
        size_t bl = zs_region_encode(&r, back);
        ok(bl == len && memcmp(back, b, len) == 0, "region value, %s: encodes to the same bytes",
           regions[i].name);
        size_t cut = 1;
        while (cut <= len && zs_region_decode(regions[i].id, b, len - cut, &r) == DNSD_ESTORE) {
            cut++;
        }
        ok(cut > len, "region value, %s: every truncation is refused", regions[i].name);
    }
    return done_testing();
}
