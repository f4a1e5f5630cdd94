/* SPDX-License-Identifier: MIT */
/*
 * secondary.h -- the settings and transfer state of secondary zones, kept in
 * the store's "secondary" sub-database (layout in schema.h). A secondary
 * zone's default view is a copy of its primary's, kept current by dnsd's
 * transfer thread (dnsd/xfrin.c); its regional overlays stay local. The
 * settings (primaries, TSIG key name) are written by `dnsctl zone set/add
 * --primary`; the state (serial, last refresh, next refresh, expire
 * deadline, last error) by the transfer thread, read by `dnsctl zone show`.
 * Slow path only: never read by a query worker (queries see the zone flags
 * ZS_ZONE_F_SECONDARY / ZS_ZONE_F_SERVFAIL, schema.h).
 */
#ifndef DNSD_SECONDARY_H
#define DNSD_SECONDARY_H

#include <lmdb.h>
#include <stdbool.h>
#include <stdint.h>

#include "zones/base/diag.h"
#include "zones/names.h"
#include "zones/store.h"

#define ZSEC_PRIMARY_MAX 8    /* primaries per zone, tried in order */
#define ZSEC_ERROR_MAX   200  /* last error text kept in the state, NUL included */
#define ZSEC_PORT_DEFAULT 53

/** One primary: an address and a port (numbers, no names: no resolver on this path). */
typedef struct zsec_primary {
    uint8_t family;   /* 4 or 6 */
    uint8_t addr[16]; /* IPv4 in the first 4 bytes */
    uint16_t port;
} zsec_primary_t;

/** A zone's settings (plain data: copy freely). */
typedef struct zsec_conf {
    unsigned nprimaries;
    zsec_primary_t primary[ZSEC_PRIMARY_MAX];
    uint8_t key[DNAME_MAXLEN + 1]; /* TSIG key name: absolute wire form, lower case */
    uint16_t key_len;              /* 0: no TSIG */
} zsec_conf_t;

/* what the last refresh did */
#define ZSEC_KIND_NONE   0u
#define ZSEC_KIND_AXFR   1u
#define ZSEC_KIND_IXFR   2u
#define ZSEC_KIND_UPTODATE 3u

/** A zone's transfer state (plain data). Times are seconds since the epoch; 0 is "never". */
typedef struct zsec_state {
    bool has_serial;     /* a transfer has loaded the zone */
    uint32_t serial;     /* the primary's serial we hold */
    uint64_t last_ok;    /* last successful refresh (SOA check or transfer) */
    uint64_t last_try;   /* last attempt */
    uint64_t next;       /* next refresh due */
    uint64_t expire_at;  /* the zone answers SERVFAIL from then on without a success */
    uint8_t kind;        /* ZSEC_KIND_* of the last success */
    char error[ZSEC_ERROR_MAX]; /* why the last attempt failed ("" if it did not) */
} zsec_state_t;

/**
 * Parse "ADDR", "ADDR:PORT", "[V6]" or "[V6]:PORT" (a bare IPv6 address
 * takes no port). @return 0, or DNSD_EMALFORMED with @p d->text saying why.
 */
int zsec_primary_parse(const char *text, zsec_primary_t *out, diag_t *d);
/** "192.0.2.1:53" / "[2001:db8::1]:53" into @p buf (64 bytes is enough). */
const char *zsec_primary_str(const zsec_primary_t *p, char *buf, size_t cap);

/** Read a zone's settings: 0, DNSD_ENOTFOUND (not a secondary), DNSD_ESTORE. Any txn. */
int zsec_conf_get(zs_store_t *s, MDB_txn *txn, uint32_t zone_id, zsec_conf_t *out);
/** Write them in write txn @p txn (1..ZSEC_PRIMARY_MAX primaries, else DNSD_EMALFORMED). */
int zsec_conf_put(zs_store_t *s, MDB_txn *txn, uint32_t zone_id, const zsec_conf_t *c);

/** Read the state: 0, DNSD_ENOTFOUND (never refreshed; @p out zeroed), DNSD_ESTORE. */
int zsec_state_get(zs_store_t *s, MDB_txn *txn, uint32_t zone_id, zsec_state_t *out);
/** Write it in write txn @p txn. */
int zsec_state_put(zs_store_t *s, MDB_txn *txn, uint32_t zone_id, const zsec_state_t *st);

/**
 * Drop a zone's settings and state (absent is fine) in write txn @p txn,
 * and its reference to its TSIG key (zones/tsig.h). @p apex: the zone's.
 */
int zsec_zone_drop(zs_store_t *s, MDB_txn *txn, uint32_t zone_id, const uint8_t *apex);

/**
 * The label of a secondary zone's reference to its TSIG key: "xfrin
 * example.com.", or "xfrin zone-id N" when the name is too long for a
 * label (TSIG_REF_MAX). @p cap: at least TSIG_REF_MAX.
 */
void zsec_ref_label(uint32_t zone_id, const uint8_t *apex, char *buf, size_t cap);

/** Visit every zone with settings, in id order; the callback's non-0 stops and is returned. */
typedef int (*zsec_cb)(uint32_t zone_id, const zsec_conf_t *c, void *arg);
int zsec_foreach(zs_store_t *s, MDB_txn *txn, zsec_cb cb, void *arg);

#endif
