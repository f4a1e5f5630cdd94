/* SPDX-License-Identifier: MIT */
/*
 * ldns_rr.h -- small ldns helpers shared by the DNSSEC unit tests
 * (t_dnssec, t_dnssec_zone, t_dnssec_roll): an ldns_rr from wire parts,
 * and a record in presentation form added through the writer. Header-only
 * (static inline) so each test links as before. Tests only: exits with a
 * TAP "Bail out!" on a record ldns cannot read.
 */
#ifndef DNSD_TESTS_LDNS_RR_H
#define DNSD_TESTS_LDNS_RR_H

#include <ldns/ldns.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zones/names.h"
#include "zones/schema.h"
#include "zones/writer.h"

/* The RR (@p owner, @p type, class IN, @p ttl, rdata @p rd of @p rl bytes)
 * as ldns reads it from the wire; NULL if it does not. Free with ldns_rr_free. */
static inline ldns_rr *tl_rr_wire(const uint8_t *owner, uint16_t type, uint32_t ttl,
                                  const uint8_t *rd, size_t rl)
{
    int ol = dname_wire_len(owner, DNAME_MAXLEN + 1);
    if (ol < 0 || rl > 65535) {
        return NULL;
    }
    uint8_t *w = malloc((size_t)ol + 10 + rl);
    if (!w) {
        return NULL;
    }
    memcpy(w, owner, (size_t)ol);
    zs_put16(w + ol, type);
    zs_put16(w + ol + 2, 1);
    zs_put32(w + ol + 4, ttl);
    zs_put16(w + ol + 8, (uint16_t)rl);
    memcpy(w + ol + 10, rd, rl);
    ldns_rr *rr = NULL;
    size_t pos = 0;
    if (ldns_wire2rr(&rr, w, (size_t)ol + 10 + rl, &pos, LDNS_SECTION_ANSWER) != LDNS_STATUS_OK) {
        rr = NULL;
    }
    free(w);
    return rr;
}

/* Add "owner ttl IN TYPE rdata" (presentation form, parsed by ldns) to zone
 * @p z in @p region through writer @p w. @return zw_rr_add()'s result. */
static inline int tl_rr_add(zw_t *w, zw_zone_t *z, uint16_t region, const char *text)
{
    ldns_rr *rr = NULL;
    if (ldns_rr_new_frm_str(&rr, text, 0, NULL, NULL) != LDNS_STATUS_OK) {
        printf("Bail out! ldns cannot read %s\n", text);
        exit(1);
    }
    uint8_t rd[1024];
    size_t rl = 0;
    for (size_t i = 0; i < ldns_rr_rd_count(rr); i++) {
        size_t n = ldns_rdf_size(ldns_rr_rdf(rr, i));
        if (rl + n > sizeof(rd)) {
            printf("Bail out! rdata too long: %s\n", text);
            exit(1);
        }
        memcpy(rd + rl, ldns_rdf_data(ldns_rr_rdf(rr, i)), n);
        rl += n;
    }
    int err = zw_rr_add(w, z, ldns_rdf_data(ldns_rr_owner(rr)), ldns_rr_get_type(rr), region,
                        ldns_rr_ttl(rr), rd, (uint16_t)rl);
    ldns_rr_free(rr);
    return err;
}

#endif
