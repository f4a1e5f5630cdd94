/* SPDX-License-Identifier: MIT */
/*
 * xfracl.h -- per-zone outgoing-transfer settings in the "xfrout"
 * sub-database: who may transfer the zone (addresses and/or TSIG keys) and
 * which secondaries get a NOTIFY when it changes. Written by dnsctl (zone
 * set --allow-transfer / --notify, zone delete through the writer), read
 * by dnsd's transfer threads (dnsd/xfrout.c) and NOTIFY sender
 * (dnsd/notify.c). Slow path only: never read by a query worker.
 *
 * Syntax (one entry per option, as an operator of Knot or BIND writes it):
 *   transfer ACL  ADDR[/LEN]            that address or network, signed or not
 *                 key NAME              any address, with a request signed by NAME
 *                 ADDR[/LEN] key NAME   both (Knot's acl with address and key)
 *   notify target ADDR[:PORT][ key NAME]  IPv6 with a port: [ADDR]:PORT; port 53
 * An empty ACL refuses everybody (the default, as Knot and NSD do).
 */
#ifndef DNSD_XFRACL_H
#define DNSD_XFRACL_H

#include <lmdb.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "zones/base/diag.h"
#include "zones/names.h"
#include "zones/store.h"

#define XACL_MAX 32 /* entries per list */
#define XACL_TEXT_MAX (INET6_ADDRSTRLEN + 16 + 5 + DNAME_MAXLEN * 4)

typedef enum xacl_list { XACL_TRANSFER = 'a', XACL_NOTIFY = 'n' } xacl_list_t;

typedef struct xacl_ent {
    uint8_t family;  /* 0: any address (key only), AF_INET, AF_INET6 */
    uint8_t prefix;  /* ACL: bits that must match; notify: 32 / 128 */
    uint8_t addr[16];
    uint16_t port;   /* notify: the target's port; ACL: 0 */
    uint16_t key_len; /* 0: no key */
    uint8_t key[DNAME_MAXLEN + 1]; /* TSIG key name, absolute wire form, lower case */
} xacl_ent_t;

typedef struct xacl {
    unsigned n;
    xacl_ent_t e[XACL_MAX];
} xacl_t;

/**
 * Parse one entry of @p list from @p text (syntax above). @return 0, or
 * DNSD_EMALFORMED with @p d saying what is wrong. Any thread, no allocation.
 */
int xacl_parse(xacl_list_t list, const char *text, xacl_ent_t *out, diag_t *d);

/** Print @p e as xacl_parse reads it back ("192.0.2.0/24 key xfr.example."). */
void xacl_format(xacl_list_t list, const xacl_ent_t *e, char *buf, size_t cap);

/**
 * Read zone @p zone_id's @p list into @p out (absent: n = 0). @return 0,
 * DNSD_ESTORE for a damaged value, an LMDB error. Any txn.
 */
int xacl_get(zs_store_t *s, MDB_txn *txn, uint32_t zone_id, xacl_list_t list, xacl_t *out);

/** Replace zone @p zone_id's @p list with @p l (n 0: delete it). Write txn. */
int xacl_put(zs_store_t *s, MDB_txn *txn, uint32_t zone_id, xacl_list_t list, const xacl_t *l);

/**
 * Drop both lists of zone @p zone_id, apex @p apex (zone deletion), and the
 * TSIG key references they held. Write txn; absent is fine.
 */
int xacl_zone_drop(zs_store_t *s, MDB_txn *txn, uint32_t zone_id, const uint8_t *apex);

#define XACL_REF_LABEL_MAX (7 + DNAME_MAXLEN * 4 + 2)
/** The label of the zone's TSIG key references (tsig_ref_add): "xfrout ZONE.". */
void xacl_ref_label(const uint8_t *apex, char *out, size_t cap);

/**
 * Does transfer ACL @p l let @p peer transfer, the request signed (and
 * verified) with key @p key (wire name; NULL: unsigned)? An entry matches
 * when its address (if any) covers @p peer and its key (if any) is @p key.
 * IPv4-mapped IPv6 peers match IPv4 entries.
 */
bool xacl_allows(const xacl_t *l, const struct sockaddr *peer, const uint8_t *key);

#endif
