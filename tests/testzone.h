/* SPDX-License-Identifier: MIT */
/*
 * testzone.h -- a small store for the unit tests and fuzz targets, made
 * through the writer: example.test (A, MX, ENT, wildcard, CNAME chain and
 * loop, out-of-zone CNAME, delegation with glue, a 2 KB TXT RRset) and the
 * nested zone deep.example.test.
 */
#ifndef DNSD_TESTZONE_H
#define DNSD_TESTZONE_H

#include <stdbool.h>
#include <stdint.h>

#include "zones/dnssec.h"
#include "zones/store.h"

/** "www.example.test." -> wire form in @p out; returns its length. */
int tz_wire(const char *s, uint8_t *out);
/** The same into one of eight rotating static buffers (valid for the next seven calls). */
const uint8_t *tz_name(const char *s);

/**
 * An empty store in a new directory made from the mkdtemp() template
 * @p dir (changed in place); NULL after printing "Bail out!" on error.
 */
zs_store_t *tz_store_tmp(char *dir);
/** Close @p st and remove its directory @p dir (a note, not a failure, if that fails). */
void tz_store_rm(zs_store_t *st, const char *dir);

/** Create the store in directory @p dir (which must exist); aborts on error. */
zs_store_t *tz_build(const char *dir);

/**
 * Sign zone @p apex of @p st for the DNSSEC tests, through the writer: a
 * secure delegation "secure.<apex>" (NS, DS, glue) added, then
 * zd_zone_enable() with algorithm @p alg (one CSK, DNSKEY/CDS/CDNSKEY, the
 * zone flag, every RRset signed), its key copied to @p key. With @p really
 * false: the same delegation and a DNSKEY of a new key (@p key), nothing
 * signed (a twin to compare DO=0 answers with). Aborts on error.
 */
void tz_sign(zs_store_t *st, const char *apex, uint8_t alg, zd_key_t *key, bool really);

#endif
