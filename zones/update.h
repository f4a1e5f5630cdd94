/* SPDX-License-Identifier: MIT */
/*
 * update.h -- RFC 2136 dynamic UPDATE: parse an UPDATE message, check it
 * against the zone's update policy (zones/upolicy.h), evaluate its
 * prerequisites and apply its update section, all inside ONE write
 * transaction of the writer (zones/writer.h): all or nothing, the zone's
 * serial bumped once, the change journalled. Called by dnsd's update
 * thread (dnsd/update.c), the unit tests and the fuzz target. Slow path:
 * allocates, takes the LMDB write lock; never call it on a query worker.
 *
 * DESIGN. The order of the checks: the zone section (RFC 2136 3.1: one
 * zone, type SOA, a zone of ours, else FORMERR / NOTAUTH), the form of the
 * prerequisite and update sections (3.2 and 3.4.1: FORMERR, NOTZONE), the
 * policy (3.3: REFUSED), the prerequisites' values (3.2: YXDOMAIN,
 * YXRRSET, NXDOMAIN, NXRRSET), then the updates (3.4.2). The policy comes
 * before the prerequisites' values so that a requester with no right to
 * the zone learns nothing about its contents. Every update RR must be
 * granted by a rule; the rule says the view it goes to (the default view
 * or one region's overlay), and one UPDATE writes one view: its
 * prerequisites are evaluated in that view as dnsd answers it (each type
 * from the first region of the fallback chain that has it).
 * RFC 2136 3.4.2's silent skips are kept: an SOA whose serial is not newer,
 * a CNAME beside other data (or other data beside a CNAME), the deletion of
 * the SOA, of the apex NS RRset or of its last record. A view's apex SOA
 * and NS are the default view's: a region-bound rule never writes them.
 */
#ifndef DNSD_UPDATE_H
#define DNSD_UPDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "zones/base/diag.h"
#include "zones/names.h"
#include "zones/store.h"
#include "zones/upolicy.h"

#define UPD_OPCODE 5

/* DNS rcodes an UPDATE answer may carry (RFC 2136 2.2) */
enum {
    UPD_R_NOERROR = 0, UPD_R_FORMERR = 1, UPD_R_SERVFAIL = 2, UPD_R_NXDOMAIN = 3,
    UPD_R_NOTIMP = 4, UPD_R_REFUSED = 5, UPD_R_YXDOMAIN = 6, UPD_R_YXRRSET = 7,
    UPD_R_NXRRSET = 8, UPD_R_NOTAUTH = 9, UPD_R_NOTZONE = 10,
};

#define UPD_CLASS_IN   1
#define UPD_CLASS_NONE 254
#define UPD_CLASS_ANY  255

/** One RR of the prerequisite or update section, names decompressed. */
typedef struct upd_rr {
    uint8_t owner[DNAME_MAXLEN + 1]; /* wire form, lower case */
    uint16_t type, cls;
    uint32_t ttl;
    uint16_t rdlen;
    const uint8_t *rdata; /* uncompressed wire rdata (names in it decompressed), in the arena */
} upd_rr_t;

/** A parsed UPDATE message (owned by the caller; upd_msg_fini()). */
typedef struct upd_msg {
    uint16_t id;
    uint16_t flags;
    uint8_t zone[DNAME_MAXLEN + 1]; /* zone section name, wire, lower case */
    uint16_t zclass;
    upd_rr_t *pre;  /* prerequisite section */
    size_t npre;
    upd_rr_t *upd;  /* update section */
    size_t nupd;
    uint8_t *arena; /* rdata bytes */
    bool has_opt;   /* an OPT RR in the additional section (RFC 6891: answer with one) */
    uint8_t edns_version;
} upd_msg_t;

/**
 * Parse UPDATE message @p msg (@p len bytes; any TSIG RR already cut off or
 * left in the additional section). Compression pointers are followed in
 * owner names and in the rdata names of the RFC 1035 types. The additional
 * section is read only for an OPT RR (has_opt, edns_version); it may end
 * early (a TSIG RR cut off by the verifier leaves ARCOUNT one too high).
 * @return 0 and @p out; DNSD_EMALFORMED (answer FORMERR) with @p d->text
 * saying what is wrong, and @p out empty (fini is still fine); the header
 * fields are filled whenever the first 12 bytes are there.
 */
int upd_parse(const uint8_t *msg, size_t len, upd_msg_t *out, diag_t *d);
void upd_msg_fini(upd_msg_t *m);

/** The outcome of an UPDATE. */
typedef struct upd_result {
    uint8_t rcode;     /* UPD_R_* for the reply */
    bool changed;      /* the store changed (a NOERROR update can change nothing) */
    uint32_t zone_id;  /* 0 if the zone was not found */
    uint32_t serial;   /* the zone's SOA serial after the update */
    char region[ZS_REGION_NAME_MAX + 1]; /* the view written ("" default) */
    char reason[512];  /* why it was refused or failed, for the log; "" on NOERROR */
} upd_result_t;

/**
 * Apply @p m for requester @p who in one write txn of @p s: policy,
 * prerequisites, updates, commit (zw_commit: serial bumped once, journal).
 * @return 0 with @p res filled (res->rcode NOERROR: committed, or nothing
 * to change; any other rcode: the store is unchanged and res->reason says
 * why); or a negative DNSD_E* error when the store itself failed (answer
 * SERVFAIL; res->reason says what failed; the store is unchanged).
 * Blocks on the LMDB write lock: the update thread only.
 */
int upd_apply(zs_store_t *s, const upd_msg_t *m, const upol_who_t *who, upd_result_t *res);

/** The rcode's mnemonic ("NXRRSET"); "RCODEn" for others (static storage). */
const char *upd_rcode_str(unsigned rcode);

#endif
