/* SPDX-License-Identifier: MIT */
/*
 * upolicy.h -- per-zone update policies for RFC 2136 UPDATE (sub-database
 * "update_policy"): who may change what. Written by `dnsctl zone policy`,
 * read by zones/update.c when dnsd's update thread applies an UPDATE. Slow
 * path only: never read by a query worker.
 *
 * DESIGN. In the spirit of BIND's update-policy ("grant KEY subdomain NAME
 * TYPES") and Knot's ACL update-owner/update-type. A zone has an ordered list
 * of rules; a rule says
 *   who:    a TSIG key name (the request must be signed with it), and/or an
 *           address prefix (the request must come from it; with no key, no
 *           signature is needed);
 *   what:   owner names -- exactly NAME, NAME and everything below it
 *           (subdomain), or a pattern matched against the owner's absolute
 *           lower-case presentation form ("_acme-challenge.*": `*` matches
 *           any characters, dots included, `?` one; fnmatch(3) without
 *           escapes) -- and the types (a list, or any type);
 *   where:  the default view, or a region's overlay (the region by name: ids
 *           are local to a store; a rule naming a region that no longer
 *           exists refuses what it would grant).
 * An update RR is allowed by the first rule whose who matches the request
 * and whose what covers the RR; that rule's region is where it is written.
 * No rule for a zone: every UPDATE to it is refused.
 *
 * Key: u32 zone id | u32 rule id (1, 2, ... per zone, never reused while
 * the zone lives). Value, format 1:
 *   u8 format | u8 flags (1 key, 2 address) | u8 match (UPOL_M_*) |
 *   u8 family (0, 4, 6) | u8 prefix | 16 address bytes |
 *   u8 key_len | key (wire name, lower case) |
 *   u8 what_len | what (NAME: wire name, lower case; PATTERN: text) |
 *   u8 region_len | region name (0 bytes: default) |
 *   u8 ntypes | ntypes x u16 type (0 types: any type)
 */
#ifndef DNSD_UPOLICY_H
#define DNSD_UPOLICY_H

#include <lmdb.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "zones/names.h"
#include "zones/regions.h"
#include "zones/store.h"

#define UPOL_FORMAT  1u
#define UPOL_F_KEY   0x01u
#define UPOL_F_ADDR  0x02u
#define UPOL_TYPES_MAX 32
#define UPOL_PATTERN_MAX 255

enum {
    UPOL_M_NAME = 1,      /* exactly this owner */
    UPOL_M_SUBDOMAIN = 2, /* this owner or any name below it */
    UPOL_M_PATTERN = 3,   /* fnmatch pattern on the presentation form */
};

/** One rule, decoded (plain data, owned by the caller). */
typedef struct upol_rule {
    uint32_t id;                     /* per zone; set by upol_add() */
    uint8_t flags;                   /* UPOL_F_* */
    uint8_t key[DNAME_MAXLEN + 1];   /* UPOL_F_KEY: TSIG key name, wire, lower case */
    zs_cidr_t addr;                  /* UPOL_F_ADDR */
    uint8_t match;                   /* UPOL_M_* */
    uint8_t name[DNAME_MAXLEN + 1];  /* NAME/SUBDOMAIN: wire, lower case */
    char pattern[UPOL_PATTERN_MAX + 1]; /* PATTERN: lower case */
    char region[ZS_REGION_NAME_MAX + 1]; /* "" for the default view */
    uint8_t ntypes;                  /* 0: any type */
    uint16_t types[UPOL_TYPES_MAX];
} upol_rule_t;

/** The requester of an update, as the update thread saw it. */
typedef struct upol_who {
    const uint8_t *key; /* the TSIG key that signed the request (verified), or NULL */
    struct sockaddr_storage addr; /* source address (AF_INET / AF_INET6) */
} upol_who_t;

/**
 * Store rule @p r for zone @p zone_id (apex @p apex, wire) in write txn
 * @p txn; r->id is set to the next id of the zone. The rule is checked
 * first (a who, a what, sane lengths): DNSD_EMALFORMED. A rule naming a
 * key records a reference to it in the key store (tsig_ref_add: label
 * "update-policy ZONE"), so the key cannot be deleted while a rule uses
 * it: DNSD_ENOTFOUND if there is no such key. @return 0 or an LMDB error.
 */
int upol_add(zs_store_t *s, MDB_txn *txn, uint32_t zone_id, const uint8_t *apex, upol_rule_t *r);

/**
 * Delete rule @p id of the zone (and the key reference when no other rule
 * of the zone uses the key). @return 0 or DNSD_ENOTFOUND.
 */
int upol_del(zs_store_t *s, MDB_txn *txn, uint32_t zone_id, const uint8_t *apex, uint32_t id);

/** Drop every rule of a zone and its key references (zone deletion; none is fine). */
int upol_zone_drop(zs_store_t *s, MDB_txn *txn, uint32_t zone_id, const uint8_t *apex);

/**
 * Visit the zone's rules in order (rule id). The callback returns 0 to go
 * on; anything else stops and is returned. A damaged value: DNSD_ESTORE.
 * A store without the sub-database (a read-only open of an older store) has
 * no rules. Any txn.
 */
typedef int (*upol_rule_cb)(const upol_rule_t *r, void *arg);
int upol_foreach(zs_store_t *s, MDB_txn *txn, uint32_t zone_id, upol_rule_cb cb, void *arg);

/** Does @p r's who match the requester? (key equal; address inside the prefix) Pure. */
bool upol_who_matches(const upol_rule_t *r, const upol_who_t *who);

/** Does @p r's what cover owner @p owner (valid wire name) and @p type? Pure. */
bool upol_covers(const upol_rule_t *r, const uint8_t *owner, uint16_t type);

/** Encode / decode a rule value (exported for the fuzz target and tests). */
size_t upol_encode(const upol_rule_t *r, uint8_t *buf, size_t cap);
int upol_decode(const uint8_t *v, size_t len, upol_rule_t *out);
#define UPOL_VALUE_MAX (3 + 2 + 16 + 1 + 256 + 1 + 256 + 1 + 64 + 1 + 2 * UPOL_TYPES_MAX)

#endif
