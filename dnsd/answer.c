/* SPDX-License-Identifier: MIT */
/*
 * answer.c -- authoritative answers (see answer.h).
 *
 * DESIGN. Two phases. resolve() decides, reading the store through zr_t
 * only: it walks the zone (closest encloser, cuts, DNAME, wildcard, CNAME
 * chain) and fills a plan: the RRsets of the answer and authority sections, each
 * an owner name and a zs_rrset_t lent by LMDB until the batch ends. Then
 * emit() writes header, question, the planned sections and the additional
 * section (A/AAAA of in-zone NS/MX/SRV targets) into the send buffer,
 * compressing names against a small table of label offsets already in the
 * packet (case-insensitive, so owners equal to the qname point at the
 * question and keep the client's case). Everything is written through a
 * wire_t cursor (wire.h) that never passes the size the caller gave, with
 * the OPT record's room reserved up front and reclaimed to write it. A
 * section RRset that does not fit the client's size turns the reply into
 * header + question + OPT with TC=1.
 * DNSSEC (issue #14), only for a DO=1 query to a signed zone
 * (ZS_ZONE_F_SIGNED): each answer and authority RRset is followed by the
 * RRSIGs stored with it (the RRset and its signatures fit whole or the
 * reply is truncated, RFC 4035 3.1.1); the additional section (glue,
 * targets' addresses) goes unsigned. Denials are compact (RFC 9824): a
 * missing name is NOERROR with the SOA and an NSEC {RRSIG, NSEC, NXNAME}
 * at the name, NODATA an NSEC listing the types of the client's view at
 * the name (the ECS scope then says the answer is regional, as for any
 * read of a regional name); a wildcard answer adds an NSEC covering the
 * next closer name (RFC 4470); a referral carries the cut's DS and its
 * RRSIG, or the NSEC at the cut {NS, RRSIG, NSEC} proving there is none.
 * The NSECs are made by plan_dnssec() and signed by dnssec_online.c with
 * the worker's cache: a cache hit allocates nothing, a miss makes one
 * signature per active key with OpenSSL (ECDSA P-256: about 30 µs on the
 * 2-core test machine; README.md, "worst case per query"), which
 * allocates: the one exception to "no malloc" on this path. DO=0
 * answers are what they were before signing: no RRSIG, NXDOMAIN kept.
 * DNAME (RFC 6672): walking down from the apex to the name, the first cut
 * (NS below the apex) or DNAME at a strict ancestor decides, the cut first
 * at one name (Knot answers a DNAME beside NS at a cut with the referral);
 * a DNAME adds itself and a CNAME synthesized from it (TTL the DNAME's,
 * rdata built in the plan's own buffers) and the walk goes on at the new
 * name like a CNAME's target; names below a DNAME are occluded: whatever is
 * stored there (names, wildcards, cuts) is never read. A new name over 255
 * octets is YXDOMAIN with the DNAME alone.
 * A certificate rollout's canary split (issue #15, zones/rollout.h) is
 * decided with the region, in pick_region(): one LMDB get per region of
 * the chain, for zones flagged as having split entries only; a canary
 * client's chain is rebuilt in the plan's own buffer.
 * Hot path: no malloc (but a DNSSEC cache miss, above), no lock, no log;
 * everything lives on the stack.
 */
#include "dnsd/answer.h"

#include "dnsd/handoff.h"

#include <netinet/in.h>
#include <string.h>
#include <time.h>

#include "dnsd/dnssec_online.h"
#include "dnsd/pkt.h"
#include "dnsd/query.h"
#include "dnsd/wire.h"
#include "zones/base/err.h"
#include "zones/rollout.h"

#define CHAIN_MAX 12     /* CNAME and DNAME links followed in one answer */
#define PLAN_AN   (ZS_NODE_MAX + 2 * CHAIN_MAX + 1) /* a DNAME link adds 2 RRsets */
#define PLAN_NSEC 4     /* online NSECs: the denial, wildcard proofs, the cut's */
#define PLAN_NS   (2 + PLAN_NSEC)
#define CTAB_MAX  64
#define OPT_LEN   11

typedef struct item {
    const uint8_t *owner;
    zs_rrset_t rr;
    uint32_t ttl;
    bool sigs_only; /* a qtype RRSIG answer: the RRset's signatures, not the RRset */
} item_t;

/* an NSEC made for this answer: owner, rdata (u16 len | rdata), signatures */
typedef struct nsec_buf {
    uint8_t owner[DNAME_MAXLEN + 1];
    uint8_t rr[2 + DON_RDATA_MAX];
    uint8_t sigs[DON_SIGS_MAX];
} nsec_buf_t;

typedef struct plan {
    uint8_t rcode;
    bool aa;
    bool referral;
    uint8_t scope;   /* ECS scope: the prefix that decided (0: not geographic) */
    bool regional;   /* the answer read a name that has regional RRsets */
    bool use_ecs;    /* echo the query's ECS option (the zone has ECS on) */
    zr_chain_t chain; /* the client's region chain */
    uint8_t split_scope; /* a rollout's split decided: its prefix for the family (0: none) */
    /* the chain with a rollout's canary region inserted (zones/rollout.h) */
    uint16_t split_chain[ZS_REGION_CHAIN_MAX + 2];
    int nan, nns;
    item_t an[PLAN_AN];
    item_t ns[PLAN_NS];
    const zs_zone_t *zone;
    const uint8_t *wild; /* the qname was synthesized from "*." + this name; else NULL */
    const uint8_t *dname; /* the qname was rewritten by the DNAME at this name; else NULL */
    int nsyn;
    /* synthesized CNAME rdata (u16 rdlen | name), one per DNAME link */
    uint8_t syn[CHAIN_MAX + 1][2 + DNAME_MAXLEN + 1];
    /* DNSSEC: DO=1 and the zone is signed */
    bool dnssec;
    uint8_t deny;               /* don_kind_t of the denial to prove; 0: none */
    const uint8_t *deny_name;   /* ... about this name */
    int ndt;
    uint16_t dt[ZS_NODE_MAX];   /* the types there in the client's view */
    const uint8_t *pend_nc;     /* this step's name came from a wildcard: its next closer name */
    int nwild;
    const uint8_t *wild_nc[PLAN_NSEC]; /* next closer names of wildcard answers to cover */
    uint32_t neg_ttl;           /* min(SOA TTL, SOA MINIMUM), once read (RFC 9077) */
    int nnsec;
    nsec_buf_t nsec[PLAN_NSEC];
} plan_t;

/* the cursor and the compression table of the names written so far */
typedef struct wr {
    wire_t c;
    int nct;
    uint16_t ctab[CTAB_MAX];
} wr_t;

static const uint16_t default_chain_ids[1] = {ZS_REGION_DEFAULT};
static const zr_chain_t default_chain = {default_chain_ids, 1};

static inline uint8_t lc(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
}

/* ---- writing ---- */

/* Does the name at packet offset @p off (compression allowed: we wrote it)
 * equal the uncompressed name @p n, ignoring case? */
static bool pkt_name_eq(const uint8_t *pkt, size_t off, const uint8_t *n)
{
    for (int hops = 0; hops < 128; hops++) {
        uint8_t l = pkt[off];
        if ((l & 0xC0) == 0xC0) {
            off = (size_t)((l & 0x3F) << 8 | pkt[off + 1]);
            continue;
        }
        if (l != *n) {
            return false;
        }
        if (l == 0) {
            return true;
        }
        for (uint8_t j = 1; j <= l; j++) {
            if (lc(pkt[off + j]) != lc(n[j])) {
                return false;
            }
        }
        off += 1u + l;
        n += 1 + l;
    }
    return false;
}

static bool put_name(wr_t *w, const uint8_t *name)
{
    const uint8_t *labs[DNAME_MAXLABELS + 1];
    uint8_t *buf = w->c.buf;
    int nl = 0;
    for (const uint8_t *p = name; *p; p += 1 + *p) {
        labs[nl++] = p;
    }
    labs[nl] = NULL;
    int mi = nl;
    uint16_t moff = 0;
    for (int i = 0; i < nl && mi == nl; i++) {
        for (int e = 0; e < w->nct; e++) {
            if (buf[w->ctab[e]] == *labs[i] && pkt_name_eq(buf, w->ctab[e], labs[i])) {
                mi = i;
                moff = w->ctab[e];
                break;
            }
        }
    }
    size_t plain = 0;
    for (int i = 0; i < mi; i++) {
        plain += 1u + *labs[i];
    }
    if (!wire_need(&w->c, plain + (mi < nl ? 2 : 1))) {
        return false;
    }
    for (int i = 0; i < mi; i++) {
        if (w->nct < CTAB_MAX && w->c.pos < 0x3FFF) {
            w->ctab[w->nct++] = (uint16_t)w->c.pos;
        }
        wire_put(&w->c, labs[i], 1u + *labs[i]);
    }
    if (mi < nl) {
        wire_u16(&w->c, (uint16_t)(0xC000u | moff));
    } else {
        wire_u8(&w->c, 0);
    }
    return true;
}

static bool put_raw(wr_t *w, const uint8_t *p, size_t n)
{
    wire_put(&w->c, p, n);
    return !w->c.bad;
}

/* rdata with compressible names (RFC 3597 section 4: the RFC 1035 types only; rrtype.h) */
static bool put_rdata(wr_t *w, uint16_t type, const uint8_t *rd, size_t rl)
{
    const rrtype_t *t = rrtype_get(type);
    if (!t || !t->compress || !t->nnames) {
        return put_raw(w, rd, rl);
    }
    size_t pre = t->name_off, names = t->nnames;
    size_t off = pre;
    if (rl < pre || !put_raw(w, rd, pre)) {
        return false;
    }
    for (size_t i = 0; i < names; i++) {
        int nl = dname_wire_len(rd + off, rl - off);
        if (nl < 0) {
            return put_raw(w, rd + off, rl - off); /* not a name: send as stored */
        }
        if (!put_name(w, rd + off)) {
            return false;
        }
        off += (size_t)nl;
    }
    return put_raw(w, rd + off, rl - off);
}

/* One whole RRset, or nothing (RFC 2181 9: never part of one). */
static bool put_rrset(wr_t *w, const item_t *it)
{
    size_t start = w->c.pos;
    int nct = w->nct;
    size_t off = 0;
    for (unsigned i = 0; i < it->rr.count; i++) {
        size_t rl = zs_get16(it->rr.rdata + off);
        const uint8_t *rd = it->rr.rdata + off + 2;
        off += 2 + rl;
        put_name(w, it->owner);
        wire_u16(&w->c, it->rr.type);
        wire_u16(&w->c, DNS_C_IN);
        wire_u32(&w->c, it->ttl);
        size_t rdlen_at = w->c.pos;
        wire_u16(&w->c, 0);
        size_t rstart = w->c.pos;
        if (w->c.bad || !put_rdata(w, it->rr.type, rd, rl)) {
            goto fail;
        }
        wire_patch16(&w->c, rdlen_at, (uint16_t)(w->c.pos - rstart));
    }
    return true;
fail:
    wire_seek(&w->c, start);
    w->nct = nct;
    return false;
}

/* The RRSIGs stored with an RRset, after it (its owner and TTL); all or none.
 * Their rdata goes as stored: the signer name is never compressed (RFC 4034 3.1.7). */
static bool put_sigs(wr_t *w, const item_t *it)
{
    size_t start = w->c.pos;
    int nct = w->nct;
    size_t off = 0;
    for (unsigned i = 0; i < it->rr.nsig; i++) {
        size_t sl = zs_get16(it->rr.sigs + off);
        put_name(w, it->owner);
        wire_u16(&w->c, DNS_T_RRSIG);
        wire_u16(&w->c, DNS_C_IN);
        wire_u32(&w->c, it->ttl);
        wire_u16(&w->c, (uint16_t)sl);
        wire_put(&w->c, it->rr.sigs + off + 2, sl);
        off += 2 + sl;
        if (w->c.bad) {
            wire_seek(&w->c, start);
            w->nct = nct;
            return false;
        }
    }
    return true;
}

/* ---- deciding ---- */

/* the suffix of @p name with @p keep labels */
static const uint8_t *name_suffix(const uint8_t *name, int nlabels, int keep)
{
    for (int i = 0; i < nlabels - keep; i++) {
        name += 1 + *name;
    }
    return name;
}

static bool plan_has(const plan_t *p, const uint8_t *owner, uint16_t type)
{
    for (int i = 0; i < p->nan; i++) {
        if (p->an[i].rr.type == type && dname_eq(p->an[i].owner, owner)) {
            return true;
        }
    }
    return false;
}

static void plan_add(item_t *arr, int *n, int max, const uint8_t *owner, const zs_rrset_t *rr)
{
    if (*n < max) {
        arr[*n].owner = owner;
        arr[*n].rr = *rr;
        arr[*n].ttl = rr->ttl;
        arr[*n].sigs_only = false;
        (*n)++;
    }
}

/* SOA for a negative answer: TTL = min(SOA TTL, SOA MINIMUM) (RFC 2308 3) */
static int plan_soa(answer_ctx_t *a, plan_t *p, const zs_zone_t *z, const dname_key_t *k)
{
    zs_rrset_t soa;
    int err = zr_rrset_get(a->rd, z, k, z->apex_labels, DNS_T_SOA, &default_chain, &soa);
    if (err) {
        return err == DNSD_ENOTFOUND ? DNSD_ESTORE : err;
    }
    size_t rl = zs_get16(soa.rdata);
    if (rl < 22 || soa.count != 1) {
        return DNSD_ESTORE;
    }
    uint32_t min = zs_get32(soa.rdata + 2 + rl - 4);
    p->ns[0].owner = z->apex;
    p->ns[0].rr = soa;
    p->ns[0].ttl = soa.ttl < min ? soa.ttl : min;
    p->neg_ttl = p->ns[0].ttl;
    p->nns = 1;
    return 0;
}

/* The denial DNSSEC must prove (plan_dnssec()): @p kind about @p name, with
 * the types of node @p n (NULL: none). Cheap; kept only for DO=1 + signed. */
static void plan_deny(plan_t *p, don_kind_t kind, const uint8_t *name, const zr_node_t *n)
{
    if (!p->dnssec) {
        return;
    }
    p->deny = (uint8_t)kind;
    p->deny_name = name;
    p->ndt = 0;
    for (int i = 0; n && i < n->n; i++) {
        p->dt[p->ndt++] = n->rr[i].type;
    }
}

/* A positive answer from a wildcard: its next closer name needs a proof. */
static void plan_wild_used(plan_t *p)
{
    if (p->pend_nc && p->nwild < PLAN_NSEC) {
        p->wild_nc[p->nwild++] = p->pend_nc;
    }
    p->pend_nc = NULL;
}

static int resolve_in_zone(answer_ctx_t *a, const query_t *q, bool is_tcp, plan_t *p,
                           const zs_zone_t *z, dname_key_t *kp, bool unkeyable);

/*
 * The DNAME @p dnrr at the @p dn-label ancestor of @p name (@p nlabels
 * labels) rewrites it (RFC 6672 2.2): the DNAME and a CNAME from @p name to
 * the new name go into the answer, the CNAME's TTL the DNAME's, as Knot
 * does. @return 1 with *@p next the new name to go on with (in zone);
 * 0 when the answer is complete: a loop (this CNAME is in the answer
 * already), qtype CNAME (the synthesized CNAME answers it), a new name out
 * of the zone, or one too long (YXDOMAIN, the DNAME alone); DNSD_ESTORE
 * for a DNAME whose rdata is not a name.
 */
static int apply_dname(const query_t *q, plan_t *p, const zs_zone_t *z, const uint8_t *name,
                       int nlabels, int dn, const zs_rrset_t *dnrr, int step,
                       const uint8_t **next)
{
    size_t rl = dnrr->count ? zs_get16(dnrr->rdata) : 0;
    const uint8_t *target = dnrr->rdata + 2;
    if (rl == 0 || dname_wire_len(target, rl) != (int)rl) {
        return DNSD_ESTORE;
    }
    if (plan_has(p, name, DNS_T_CNAME)) {
        return 0; /* a loop through DNAMEs: stop, answer what we have */
    }
    const uint8_t *owner = name_suffix(name, nlabels, dn);
    if (!plan_has(p, owner, DNS_T_DNAME)) {
        plan_add(p->an, &p->nan, PLAN_AN, owner, dnrr);
    }
    if (step == 0) {
        p->dname = owner;
    }
    size_t keep = (size_t)(owner - name); /* the labels below the owner */
    if (keep + rl > DNAME_MAXLEN) {
        p->rcode = DNS_R_YXDOMAIN;
        return 0;
    }
    if (p->nsyn > CHAIN_MAX) {
        return 0; /* cannot happen: one DNAME link per step */
    }
    uint8_t *syn = p->syn[p->nsyn++];
    put16(syn, (uint16_t)(keep + rl));
    for (size_t i = 0; i < keep; i++) {
        syn[2 + i] = lc(name[i]); /* lower case, as Knot (length bytes are < 'A') */
    }
    memcpy(syn + 2 + keep, target, rl);
    zs_rrset_t cn = *dnrr;
    cn.nsig = 0; /* synthesized: never signed (RFC 6672 5.3.1) */
    cn.sigs = NULL;
    cn.sigs_len = 0;
    cn.type = DNS_T_CNAME;
    cn.count = 1;
    cn.rdata = syn;
    cn.rdata_len = 2 + keep + rl;
    plan_add(p->an, &p->nan, PLAN_AN, name, &cn);
    if (q->qtype == DNS_T_CNAME || !dname_is_sub(syn + 2, z->apex)) {
        return 0;
    }
    *next = syn + 2;
    return 1;
}

/*
 * The canary split of a certificate rollout (zones/rollout.h), for a zone
 * with ZS_ZONE_F_ROLLOUT: the first region of the chain with an entry
 * decides; a client whose bucket is below p gets the entry's canary region
 * inserted into its chain just before that region (in the plan's own
 * buffer: no allocation). A damaged entry splits nothing (stable pool).
 */
static void split(answer_ctx_t *a, plan_t *p, const zs_zone_t *z, int family,
                  const uint8_t *addr)
{
    for (int i = 0; i < p->chain.n; i++) {
        zs_rollout_t r;
        int err = zr_rollout_get(a->rd, z->id, p->chain.ids[i], &r);
        if (err == DNSD_ENOTFOUND) {
            continue;
        }
        if (err) {
            return;
        }
        p->split_scope = family == AF_INET6 ? r.prefix6 : r.prefix4;
        if (zs_rollout_bucket(&r, family, addr) >= r.permyriad ||
            p->chain.n >= (int)(sizeof(p->split_chain) / sizeof(p->split_chain[0]))) {
            STAT_INC(CTR(&a->st, ROLLOUT_STABLE));
            return;
        }
        memcpy(p->split_chain, p->chain.ids, (size_t)i * sizeof(uint16_t));
        p->split_chain[i] = r.canary;
        memcpy(p->split_chain + i + 1, p->chain.ids + i,
               (size_t)(p->chain.n - i) * sizeof(uint16_t));
        p->chain.ids = p->split_chain;
        p->chain.n++;
        STAT_INC(CTR(&a->st, ROLLOUT_CANARY));
        return;
    }
}

/* The client's region chain (and the prefix that decided it) for zone @p z,
 * with a rollout's split applied (p->split_scope).
 * @return the client's region id (0: default). */
static uint16_t pick_region(answer_ctx_t *a, const query_t *q, const struct sockaddr *src,
                        const zs_zone_t *z, plan_t *p, uint8_t *geo_scope)
{
    p->chain = default_chain;
    p->use_ecs = q->ecs && !(z->flags & ZS_ZONE_F_NO_ECS);
    p->split_scope = 0;
    *geo_scope = 0;
    int family = 0;
    const uint8_t *addr = NULL;
    if (p->use_ecs) {
        if (q->ecs_source == 0) {
            return 0; /* RFC 7871 7.1.2: the client asked for no address to be used */
        }
        family = q->ecs_family == 1 ? AF_INET : AF_INET6;
        addr = q->ecs_addr;
    } else if (src && src->sa_family == AF_INET) {
        family = AF_INET;
        addr = (const uint8_t *)&((const struct sockaddr_in *)src)->sin_addr;
    } else if (src && src->sa_family == AF_INET6) {
        family = AF_INET6;
        addr = ((const struct sockaddr_in6 *)src)->sin6_addr.s6_addr;
    }
    uint16_t region = 0;
    if (a->geo && a->geo->table) {
        /* the scope is the block that decided, even when longer than the
         * source: RFC 7871 7.2.1 lets SCOPE > SOURCE tell the resolver its
         * prefix was too coarse; capping it would let one region's answer be
         * cached for a subnet that spans two regions */
        if (family) {
            region = geo_lookup(a->geo->table, family, addr, geo_scope);
        }
        p->chain.n = geo_state_chain(a->geo, region, &p->chain.ids);
    }
    if (family && (z->flags & ZS_ZONE_F_ROLLOUT)) {
        split(a, p, z, family, addr);
    }
    return region;
}

static int resolve(answer_ctx_t *a, const query_t *q, const struct sockaddr *src, bool is_tcp,
                   plan_t *p, zs_zone_t *z)
{
    uint8_t geo_scope = 0;
    dname_key_t k;
    const uint8_t *name = q->qname;
    p->rcode = DNS_R_NOERROR;
    p->aa = false;
    p->referral = false;
    p->scope = 0;
    p->regional = false;
    p->use_ecs = q->ecs;
    p->chain = default_chain;
    p->split_scope = 0;
    p->nan = p->nns = 0;
    p->zone = z;
    p->wild = NULL;
    p->dname = NULL;
    p->nsyn = 0;
    p->dnssec = false;
    p->deny = 0;
    p->deny_name = NULL;
    p->ndt = 0;
    p->pend_nc = NULL;
    p->nwild = 0;
    p->neg_ttl = 0;
    p->nnsec = 0;
    bool unkeyable = dname_key_build(name, &k) != 0;
    int err = zr_zone_find(a->rd, &k, k.nlabels, z);
    if (err == DNSD_ENOZONE) {
        p->rcode = DNS_R_REFUSED;
        return 0;
    }
    if (err) {
        return err;
    }
    unsigned zslot = counter_zone_slot(z->id);
    STAT_INC(a->st.zone[zslot]);
    if (z->flags & ZS_ZONE_F_SERVFAIL) {
        /* a secondary not loaded yet or expired (zones/secondary.h): as Knot and BIND */
        p->rcode = DNS_R_SERVFAIL;
        return 0;
    }
    if (q->qtype == DNS_T_DS && z->apex_labels == k.nlabels) {
        /* DS at a zone's apex belongs to the parent side of the cut
         * (RFC 4035 3.1.4.1): answer from the parent zone if we host it */
        zs_zone_t parent;
        err = zr_zone_find(a->rd, &k, k.nlabels - 1, &parent);
        if (err == 0) {
            *z = parent;
        } else if (err != DNSD_ENOZONE) {
            return err;
        }
    }
    p->aa = true;
    p->dnssec = q->edns_do && (z->flags & ZS_ZONE_F_SIGNED);
    unsigned rslot = counter_region_slot(pick_region(a, q, src, z, p, &geo_scope));
    STAT_INC(a->st.region[rslot]); /* a macro that names its argument twice: slot first */
    err = resolve_in_zone(a, q, is_tcp, p, z, &k, unkeyable);
    /* a split decided: its prefix at least, so that resolvers cache one
     * pool's answer for no wider a block than the hash cut (zones/rollout.h) */
    uint8_t scope = geo_scope > p->split_scope ? geo_scope : p->split_scope;
    p->scope = p->regional ? scope : 0;
    return err;
}

/* @p unkeyable: the qname's key is too long to store (names.h), so it
 * cannot exist; @p kp then holds its longest ancestor that fits, and only
 * the closest encloser and wildcard steps apply */
static int resolve_in_zone(answer_ctx_t *a, const query_t *q, bool is_tcp, plan_t *p,
                           const zs_zone_t *z, dname_key_t *kp, bool unkeyable)
{
    dname_key_t *k = kp; /* the caller's key; CNAME steps rebuild it in place */
    const uint8_t *name = q->qname;
    const zr_chain_t *ch = &p->chain;
    int err;
    for (int step = 0; step <= CHAIN_MAX; step++) {
        p->pend_nc = NULL;
        /* the name's own node first: when it exists (the common case) every
         * ancestor does too, so no closest-encloser search is needed and its
         * NS (if any) is already in hand for the cut check */
        zr_node_t node;
        node.exists = false;
        node.n = 0;
        node.regional = false;
        if (!unkeyable &&
            (err = zr_node_get(a->rd, z, k, k->nlabels, false, ch, &node)) != 0) {
            return err;
        }
        int ce = k->nlabels;
        if (!node.exists && (err = zr_closest_encloser(a->rd, z, k, &ce)) != 0) {
            return err;
        }
        /* walking down from the apex: the first zone cut at or above the
         * name, or DNAME strictly above it, decides (RFC 6672 3.2) */
        int top = ce < k->nlabels ? ce : k->nlabels;
        int dn = 0; /* the labels of a DNAME owner to apply; 0: none */
        zs_rrset_t dnrr;
        /* the writer marks zones without any DNAME: no lookups for them */
        bool dnames = !(z->flags & ZS_ZONE_F_NO_DNAME);
        for (int l = z->apex_labels; l <= top && dn == 0; l++) {
            bool above = l < k->nlabels || unkeyable; /* a strict ancestor of the name */
            zs_rrset_t ns;
            bool cut = false;
            if (l == z->apex_labels) {
                cut = false; /* the apex is never a cut */
            } else if (!above) {
                const zs_rrset_t *nn = zr_node_find(&node, DNS_T_NS);
                /* DS lives on the parent side of the cut */
                if (nn && !(q->qtype == DNS_T_DS && step == 0)) {
                    ns = *nn;
                    cut = true;
                }
            } else {
                err = zr_rrset_get(a->rd, z, k, l, DNS_T_NS, ch, &ns);
                if (err && err != DNSD_ENOTFOUND) {
                    return err;
                }
                cut = err == 0;
            }
            if (!cut) {
                if (above && dnames) {
                    bool reg = false;
                    err = zr_rrset_get_any(a->rd, z, k, l, DNS_T_DNAME, ch, &dnrr, &reg);
                    if (err && err != DNSD_ENOTFOUND) {
                        return err;
                    }
                    if (reg) {
                        p->regional = true;
                    }
                    if (err == 0) {
                        dn = l;
                    }
                }
                continue;
            }
            if (step == 0) {
                p->aa = false;
            }
            if (ns.region != ZS_REGION_DEFAULT) {
                p->regional = true;
            }
            p->referral = true;
            /* the cut is a suffix of the real name: when the name is
             * unkeyable, k holds fewer labels than it has */
            p->ns[0].owner = name_suffix(name, unkeyable ? dname_labels(name) : k->nlabels, l);
            p->ns[0].rr = ns;
            p->ns[0].ttl = ns.ttl;
            p->nns = 1;
            if (p->dnssec) {
                /* a secure delegation has its DS (signed) here; else the NSEC
                 * at the cut proves there is none (plan_dnssec) */
                zs_rrset_t ds;
                err = zr_rrset_get(a->rd, z, k, l, DNS_T_DS, ch, &ds);
                if (err == 0) {
                    plan_add(p->ns, &p->nns, PLAN_NS, p->ns[0].owner, &ds);
                } else if (err == DNSD_ENOTFOUND) {
                    p->deny = DON_CUT;
                    p->deny_name = p->ns[0].owner;
                    p->ndt = 1;
                    p->dt[0] = DNS_T_NS;
                } else {
                    return err;
                }
            }
            return 0;
        }
        if (dn) {
            int r = apply_dname(q, p, z, name, unkeyable ? dname_labels(name) : k->nlabels, dn,
                                &dnrr, step, &name);
            if (r <= 0) {
                return r;
            }
            unkeyable = dname_key_build(name, k) != 0;
            continue;
        }
        if (ce != k->nlabels || unkeyable) {
            err = zr_node_get(a->rd, z, k, ce, true, ch, &node);
            if (err) {
                return err;
            }
            if (!node.exists) {
                p->rcode = DNS_R_NXDOMAIN; /* RFC 6604: the rcode of the last name */
                plan_deny(p, DON_NXNAME, name, NULL);
                return plan_soa(a, p, z, k);
            }
            if (step == 0) {
                p->wild = name_suffix(name, dname_labels(name), ce);
            }
            if (p->dnssec) {
                int nl = dname_labels(name);
                p->pend_nc = name_suffix(name, nl, ce + 1 < nl ? ce + 1 : nl);
            }
        }
        if (node.regional) {
            p->regional = true;
        }
        if (node.n == 0) {
            plan_deny(p, DON_NODATA, name, NULL);
            return plan_soa(a, p, z, k); /* empty non-terminal: NODATA */
        }
        if (q->qtype == DNS_T_ANY) {
            /* RFC 8482: one RRset over UDP; TCP gets them all */
            for (int i = 0; i < (is_tcp ? node.n : 1); i++) {
                plan_add(p->an, &p->nan, PLAN_AN, name, &node.rr[i]);
            }
            plan_wild_used(p);
            return 0;
        }
        if (q->qtype == DNS_T_RRSIG && p->dnssec) {
            /* the signatures stored at the name, as Knot answers it (no
             * RRSIG RRset exists to look up) */
            int before = p->nan;
            for (int i = 0; i < node.n; i++) {
                if (node.rr[i].nsig) {
                    plan_add(p->an, &p->nan, PLAN_AN, name, &node.rr[i]);
                    p->an[p->nan - 1].sigs_only = true;
                }
            }
            if (p->nan > before) {
                plan_wild_used(p);
                return 0;
            }
        }
        const zs_rrset_t *rr = zr_node_find(&node, q->qtype);
        if (rr) {
            plan_add(p->an, &p->nan, PLAN_AN, name, rr);
            plan_wild_used(p);
            return 0;
        }
        rr = zr_node_find(&node, DNS_T_CNAME);
        if (!rr) {
            /* NODATA; at a cut (a DS query, parent side) only NS and DS count */
            bool at_cut = !p->pend_nc && k->nlabels > z->apex_labels && !unkeyable &&
                          zr_node_find(&node, DNS_T_NS);
            p->pend_nc = NULL; /* wildcard NODATA: as NODATA at the name (RFC 9824) */
            plan_deny(p, at_cut ? DON_CUT : DON_NODATA, name, &node);
            return plan_soa(a, p, z, k); /* NODATA */
        }
        if (plan_has(p, name, DNS_T_CNAME)) {
            return 0; /* a CNAME loop: stop, answer what we have */
        }
        plan_add(p->an, &p->nan, PLAN_AN, name, rr);
        plan_wild_used(p);
        size_t rl = zs_get16(rr->rdata);
        const uint8_t *target = rr->rdata + 2;
        if (dname_wire_len(target, rl) != (int)rl) {
            return DNSD_ESTORE;
        }
        if (!dname_is_sub(target, z->apex)) {
            return 0; /* out of zone: the resolver follows it */
        }
        name = target;
        unkeyable = dname_key_build(name, k) != 0;
    }
    return 0;
}

/* min(SOA TTL, SOA MINIMUM) of zone @p z: the TTL of its NSECs (RFC 9077). */
static int neg_ttl(answer_ctx_t *a, plan_t *p, const zs_zone_t *z)
{
    if (p->neg_ttl) {
        return 0;
    }
    dname_key_t k;
    zs_rrset_t soa;
    if (dname_key_build(z->apex, &k) != 0) {
        return DNSD_ESTORE;
    }
    int err = zr_rrset_get(a->rd, z, &k, z->apex_labels, DNS_T_SOA, &default_chain, &soa);
    if (err) {
        return err == DNSD_ENOTFOUND ? DNSD_ESTORE : err;
    }
    size_t rl = zs_get16(soa.rdata);
    if (rl < 22) {
        return DNSD_ESTORE;
    }
    uint32_t min = zs_get32(soa.rdata + 2 + rl - 4);
    p->neg_ttl = soa.ttl < min ? soa.ttl : min;
    return 0;
}

/* Make and sign one NSEC of proof @p kind about @p name into the plan.
 * @return its item's slot in p->nsec, or NULL (counted: sent without it). */
static nsec_buf_t *add_nsec(answer_ctx_t *a, plan_t *p, const zs_zone_t *z, don_kind_t kind,
                            const uint8_t *name, const uint16_t *types, int ntypes, uint64_t now,
                            item_t *it)
{
    if (p->nnsec == PLAN_NSEC || neg_ttl(a, p, z) != 0) {
        goto fail;
    }
    nsec_buf_t *nb = &p->nsec[p->nnsec];
    int rl = don_build(kind, name, types, ntypes, nb->owner, nb->rr + 2, DON_RDATA_MAX);
    if (rl <= 0) {
        goto fail;
    }
    put16(nb->rr, (uint16_t)rl);
    int n = don_sign(a->don, a->rd, z, nb->owner, p->neg_ttl, nb->rr + 2, (size_t)rl, now,
                     nb->sigs, &a->st);
    if (n <= 0) {
        goto fail;
    }
    p->nnsec++;
    memset(it, 0, sizeof(*it));
    it->owner = nb->owner;
    it->ttl = p->neg_ttl;
    it->rr.type = DNS_T_NSEC;
    it->rr.ttl = p->neg_ttl;
    it->rr.count = 1;
    it->rr.rdata = nb->rr;
    it->rr.rdata_len = 2u + (size_t)rl;
    it->rr.nsig = (uint16_t)n;
    it->rr.sigs = nb->sigs;
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        off += 2u + zs_get16(nb->sigs + off);
    }
    it->rr.sigs_len = off;
    return nb;
fail:
    STAT_INC(CTR(&a->st, DNSSEC_ERRORS));
    return NULL;
}

/*
 * The NSECs a DO=1 answer from a signed zone needs (see the DESIGN note):
 * the denial (compact: a missing name becomes NOERROR once its NSEC is
 * signed; for qtype NSEC at a name that exists the NSEC is the answer),
 * then one cover per wildcard answer. Without online keys (a->don NULL, or
 * none active) the answer goes as DO=0 would, plus the stored RRSIGs.
 */
static void plan_dnssec(answer_ctx_t *a, const query_t *q, plan_t *p, const zs_zone_t *z)
{
    if (!p->dnssec) {
        return;
    }
    STAT_INC(CTR(&a->st, DNSSEC_ANSWERS));
    if (!a->don || (!p->deny && p->nwild == 0)) {
        return;
    }
    uint64_t now = (uint64_t)time(NULL);
    item_t it;
    if (p->deny && add_nsec(a, p, z, (don_kind_t)p->deny, p->deny_name, p->dt, p->ndt, now, &it)) {
        if (q->qtype == DNS_T_NSEC && p->deny != DON_NXNAME && !p->referral &&
            p->nan < PLAN_AN) {
            /* the NSEC at a name that exists answers a query for it: no SOA */
            it.owner = p->deny_name;
            p->an[p->nan++] = it;
            p->nns = 0;
        } else if (p->nns < PLAN_NS) {
            p->ns[p->nns++] = it;
            if (p->deny == DON_NXNAME) {
                p->rcode = DNS_R_NOERROR; /* RFC 9824 3.1 */
            }
        }
    }
    for (int i = 0; i < p->nwild && p->nns < PLAN_NS; i++) {
        if (add_nsec(a, p, z, DON_COVER, p->wild_nc[i], NULL, 0, now, &it)) {
            p->ns[p->nns++] = it;
        }
    }
}

/* ---- emitting ---- */

static void put_header(wire_t *c, const query_t *q, uint16_t flags, uint8_t rcode)
{
    wire_u16(c, q->id);
    wire_u16(c, (uint16_t)(DNS_F_QR | (q->opcode & 0xF) << 11 | flags |
                           (q->flags & (DNS_F_RD | DNS_F_CD)) | (rcode & 0xF)));
    wire_u16(c, q->has_question ? 1 : 0);
    wire_u16(c, 0);
    wire_u16(c, 0);
    wire_u16(c, 0);
}

static void put_question(wr_t *w, const query_t *q)
{
    if (!q->has_question) {
        return;
    }
    size_t start = w->c.pos;
    wire_put(&w->c, q->qname, q->qname_len);
    wire_u16(&w->c, q->qtype);
    wire_u16(&w->c, q->qclass);
    if (w->c.bad) {
        return;
    }
    /* every label start of the qname, so suffixes compress against it too */
    for (size_t off = 0; q->qname[off] && w->nct < CTAB_MAX; off += 1u + q->qname[off]) {
        w->ctab[w->nct++] = (uint16_t)(start + off);
    }
}

/* the OPT record's size for @p q: 11 bytes, plus the ECS option echoed */
static size_t opt_len(const query_t *q)
{
    return OPT_LEN + (q->ecs ? 8u + (q->ecs_source + 7u) / 8u : 0);
}

/* OPT (its room reserved by the caller and reclaimed here), with the
 * query's ECS option echoed and our scope (RFC 7871 7.2.1) */
static void put_opt(wr_t *w, const query_t *q, uint16_t udp_max, uint8_t rcode, uint8_t scope)
{
    wire_t *c = &w->c;
    size_t start = c->pos;
    wire_reclaim(c, opt_len(q));
    wire_u8(c, 0);
    wire_u16(c, DNS_T_OPT);
    wire_u16(c, udp_max);
    wire_u8(c, (uint8_t)(rcode >> 4)); /* extended rcode */
    wire_u8(c, 0);                     /* version */
    wire_u16(c, q->edns_do ? 0x8000u : 0);
    if (q->ecs) {
        size_t alen = (q->ecs_source + 7u) / 8u;
        wire_u16(c, (uint16_t)(8 + alen));
        wire_u16(c, EDNS_OPT_ECS);
        wire_u16(c, (uint16_t)(4 + alen));
        wire_u16(c, q->ecs_family);
        wire_u8(c, q->ecs_source);
        wire_u8(c, scope);
        wire_put(c, q->ecs_addr, alen);
    } else {
        wire_u16(c, 0);
    }
    if (c->bad) {
        wire_seek(c, start); /* cannot happen: its room was reserved */
        return;
    }
    wire_patch16(c, 10, (uint16_t)(get16(c->buf + 10) + 1));
}

/* header + question (+ OPT): the shape of every error reply and of TC=1,
 * within @p cap bytes. What does not fit is left out: the question first
 * (QDCOUNT 0), as the OPT carries the upper rcode bits (BADVERS) and
 * RFC 6891 7 wants it in every reply to an EDNS query; then the OPT.
 * @return 0 if not even a header fits. */
static size_t reply_short(answer_ctx_t *a, const query_t *q, uint8_t *out, size_t cap,
                          uint8_t rcode, uint16_t flags)
{
    wr_t w;
    wire_init(&w.c, out, cap);
    w.nct = 0;
    put_header(&w.c, q, flags, rcode);
    if (w.c.bad) {
        a->cls = ANSWER_CLS_NONE;
        return 0;
    }
    bool edns = q->edns && wire_reserve(&w.c, opt_len(q));
    put_question(&w, q);
    if (w.c.bad) {
        wire_seek(&w.c, DNS_HDR_LEN);
        wire_patch16(&w.c, 4, 0);
    }
    a->resp_qend = (uint16_t)w.c.pos;
    a->resp_opt = 0;
    if (edns) {
        a->resp_opt = (uint16_t)w.c.pos;
        put_opt(&w, q, a->udp_max, rcode, 0);
    }
    STAT_INC(a->st.c[CTR_RCODE_0 + (rcode < 17 ? rcode : 16)]);
    return w.c.pos;
}

/* an error reply: rate-limited as one class per client, whatever the name */
static size_t reply_error(answer_ctx_t *a, const query_t *q, uint8_t *out, size_t cap,
                          uint8_t rcode)
{
    a->cls = ANSWER_CLS_ERROR;
    a->cls_name_len = 0;
    a->cls_qtype = 0;
    return reply_short(a, q, out, cap, rcode, 0);
}

/* Which response this is and the name it is about (answer.h). Copies the
 * name, lower-cased, only when the caller asked (rate limiting on). */
static void classify(answer_ctx_t *a, const query_t *q, const plan_t *p)
{
    const uint8_t *name = q->qname;
    uint16_t qtype = q->qtype;
    if (p->rcode == DNS_R_NXDOMAIN) {
        a->cls = ANSWER_CLS_NXDOMAIN;
        name = p->zone->apex;
        qtype = 0;
    } else if (p->referral) {
        a->cls = ANSWER_CLS_REFERRAL;
        name = p->ns[0].owner;
        qtype = 0;
    } else if (p->wild || p->dname) {
        a->cls = ANSWER_CLS_WILDCARD;
        name = p->wild ? p->wild : p->dname;
    } else if (p->nan > 0) {
        a->cls = ANSWER_CLS_ANSWER;
    } else {
        a->cls = ANSWER_CLS_NODATA;
        qtype = 0;
    }
    a->cls_qtype = qtype;
    if (!a->classify) {
        a->cls_name_len = 0;
        return;
    }
    size_t n = 0;
    for (;;) {
        uint8_t l = name[n];
        a->cls_name[n++] = l;
        if (l == 0) {
            break;
        }
        for (uint8_t j = 0; j < l; j++, n++) {
            a->cls_name[n] = lc(name[n]);
        }
    }
    a->cls_name_len = (uint16_t)n;
}

size_t answer_slip(const answer_ctx_t *a, uint8_t *out, size_t len)
{
    size_t qend = a->resp_qend, opt = a->resp_opt;
    if (qend < DNS_HDR_LEN || qend > len || (opt && (opt < qend || opt >= len))) {
        return len < DNS_HDR_LEN ? len : DNS_HDR_LEN; /* cannot happen: header only */
    }
    size_t n = qend;
    if (opt) {
        memmove(out + qend, out + opt, len - opt);
        n += len - opt;
    }
    put16(out + 2, (uint16_t)(get16(out + 2) | DNS_F_TC));
    put16(out + 6, 0);
    put16(out + 8, 0);
    put16(out + 10, opt ? 1 : 0);
    return n;
}

/* A/AAAA for the in-zone targets of NS/MX/SRV records of one item (rrtype.h: additional) */
static bool add_targets(answer_ctx_t *a, wr_t *w, const item_t *it, const zs_zone_t *z,
                        const zr_chain_t *ch, uint16_t *arcount, bool must_fit)
{
    const rrtype_t *rt = rrtype_get(it->rr.type);
    if (!rt || rt->additional == RRTYPE_NO_ADDITIONAL) {
        return true;
    }
    size_t skip = rt->additional;
    size_t off = 0;
    for (unsigned i = 0; i < it->rr.count; i++) {
        size_t rl = zs_get16(it->rr.rdata + off);
        const uint8_t *rd = it->rr.rdata + off + 2;
        off += 2 + rl;
        if (rl <= skip || dname_wire_len(rd + skip, rl - skip) != (int)(rl - skip)) {
            continue;
        }
        const uint8_t *target = rd + skip;
        if (!dname_is_sub(target, z->apex)) {
            continue;
        }
        dname_key_t k;
        if (dname_key_build(target, &k) != 0) {
            continue;
        }
        static const uint16_t types[2] = {DNS_T_A, DNS_T_AAAA};
        for (int t = 0; t < 2; t++) {
            item_t g;
            if (zr_rrset_get(a->rd, z, &k, k.nlabels, types[t], ch, &g.rr) != 0) {
                continue;
            }
            g.owner = target;
            g.ttl = g.rr.ttl;
            if (!put_rrset(w, &g)) {
                return !must_fit;
            }
            *arcount = (uint16_t)(*arcount + g.rr.count);
        }
    }
    return true;
}

/* Hand the message off (answer.h): nothing is sent from here. */
static size_t handoff(answer_ctx_t *a, const query_t *q, ho_kind_t kind)
{
    a->ho_kind = kind;
    a->ho_tsig = q->tsig;
    a->cls = ANSWER_CLS_NONE;
    return 0;
}

static bool ho_on(const answer_ctx_t *a, ho_kind_t kind)
{
    return (a->ho_mask & (1u << kind)) != 0;
}

size_t answer_error(answer_ctx_t *a, const uint8_t *pkt, size_t len, uint8_t *out, size_t cap,
                    uint8_t rcode)
{
    query_t q;
    if (query_parse(pkt, len, &q) == QP_DROP) {
        return 0;
    }
    if (rcode == DNS_R_SERVFAIL) {
        STAT_INC(CTR(&a->st, SERVFAIL_HANDOFF));
    }
    return reply_error(a, &q, out, cap, rcode);
}

size_t answer_query(answer_ctx_t *a, const uint8_t *pkt, size_t len, uint8_t *out, size_t cap,
                    bool is_tcp, const struct sockaddr *src)
{
    query_t q;
    a->ho_kind = HO_NONE;
    STAT_INC(CTR(&a->st, QUERIES));
    if (is_tcp) {
        STAT_INC(CTR(&a->st, TCP));
    }
    switch (query_parse(pkt, len, &q)) {
    case QP_OK:
        break;
    case QP_DROP:
        STAT_INC(CTR(&a->st, DROPPED));
        a->cls = ANSWER_CLS_NONE;
        return 0;
    case QP_FORMERR:
        return reply_error(a, &q, out, cap, DNS_R_FORMERR);
    case QP_NOTIMP:
        if (q.has_question && q.sections_ok && q.opcode == DNS_OP_NOTIFY &&
            ho_on(a, HO_NOTIFY)) {
            return handoff(a, &q, HO_NOTIFY);
        }
        if (q.has_question && q.sections_ok && q.opcode == DNS_OP_UPDATE &&
            ho_on(a, HO_UPDATE)) {
            return handoff(a, &q, HO_UPDATE);
        }
        return reply_error(a, &q, out, cap, DNS_R_NOTIMP);
    case QP_BADVERS:
        return reply_error(a, &q, out, cap, DNS_R_BADVERS);
    }
    unsigned qslot = counter_qtype_slot(q.qtype);
    STAT_INC(a->st.qtype[qslot]);
    if (q.ecs) {
        STAT_INC(CTR(&a->st, ECS));
    }
    if (!a->rd_ok) {
        return reply_error(a, &q, out, cap, DNS_R_SERVFAIL);
    }
    if (q.qclass != DNS_C_IN) {
        return reply_error(a, &q, out, cap, DNS_R_REFUSED);
    }
    if (q.qtype == DON_T_NXNAME) {
        return reply_error(a, &q, out, cap, DNS_R_FORMERR); /* RFC 9824 3.5: a meta-type */
    }
    if (q.qtype == DNS_T_AXFR && !is_tcp) {
        return reply_error(a, &q, out, cap, DNS_R_NOTIMP); /* RFC 5936 4.2; Knot and NSD */
    }
    if (q.qtype == DNS_T_AXFR || q.qtype == DNS_T_IXFR || q.tsig) {
        /* transfers, and signed queries that need signed answers: xfrout.c */
        if (ho_on(a, HO_XFR)) {
            return handoff(a, &q, HO_XFR);
        }
        if (q.qtype == DNS_T_AXFR || q.qtype == DNS_T_IXFR) {
            return reply_error(a, &q, out, cap, DNS_R_REFUSED); /* nobody serves them */
        }
    }

    plan_t p;
    zs_zone_t zone;
    if (resolve(a, &q, src, is_tcp, &p, &zone) != 0) {
        return reply_error(a, &q, out, cap, DNS_R_SERVFAIL);
    }
    if (p.rcode == DNS_R_REFUSED || p.rcode == DNS_R_SERVFAIL) {
        return reply_error(a, &q, out, cap, p.rcode);
    }
    classify(a, &q, &p);
    plan_dnssec(a, &q, &p, &zone);

    /* size limit: TCP 64 KiB; UDP the smaller of the client's and our payload */
    size_t lim = ANSWER_TCP_MAX;
    if (!is_tcp) {
        lim = q.edns ? (q.edns_udp < a->udp_max ? q.edns_udp : a->udp_max) : 512;
    }
    if (lim > cap) {
        lim = cap;
    }
    if (!p.use_ecs) {
        q.ecs = false; /* ECS switched off for this zone: as if unsupported */
    }
    wr_t w;
    wire_init(&w.c, out, lim);
    w.nct = 0;
    uint16_t flags = p.aa ? DNS_F_AA : 0;
    put_header(&w.c, &q, flags, p.rcode);
    bool edns = q.edns && wire_reserve(&w.c, opt_len(&q));
    put_question(&w, &q);
    if (w.c.bad || (q.edns && !edns)) {
        goto truncated; /* the caller's buffer is smaller than any answer */
    }
    a->resp_qend = (uint16_t)w.c.pos;
    a->resp_opt = 0;
    uint16_t an = 0, ns = 0, ar = 0;
    for (int i = 0; i < p.nan; i++) {
        const item_t *it = &p.an[i];
        if ((!it->sigs_only && !put_rrset(&w, it)) || (p.dnssec && !put_sigs(&w, it))) {
            goto truncated;
        }
        an = (uint16_t)(an + (it->sigs_only ? 0 : it->rr.count) + (p.dnssec ? it->rr.nsig : 0));
    }
    for (int i = 0; i < p.nns; i++) {
        if (!put_rrset(&w, &p.ns[i]) || (p.dnssec && !put_sigs(&w, &p.ns[i]))) {
            goto truncated;
        }
        ns = (uint16_t)(ns + p.ns[i].rr.count + (p.dnssec ? p.ns[i].rr.nsig : 0));
    }
    for (int i = 0; i < p.nan; i++) {
        if (!p.an[i].sigs_only) {
            add_targets(a, &w, &p.an[i], &zone, &p.chain, &ar, false);
        }
    }
    if (p.referral && !add_targets(a, &w, &p.ns[0], &zone, &p.chain, &ar, true)) {
        /* RFC 9471: glue that does not fit sets TC */
        put16(out + 2, (uint16_t)(get16(out + 2) | DNS_F_TC));
        STAT_INC(CTR(&a->st, TRUNCATED));
    }
    wire_patch16(&w.c, 6, an);
    wire_patch16(&w.c, 8, ns);
    wire_patch16(&w.c, 10, ar);
    if (edns) {
        a->resp_opt = (uint16_t)w.c.pos;
        put_opt(&w, &q, a->udp_max, p.rcode, p.scope);
        if (q.ecs) {
            unsigned fam = q.ecs_family == 1 ? 0 : 1;
            unsigned sc = p.scope < CTR_ECS_SCOPES ? p.scope : CTR_ECS_SCOPES - 1;
            STAT_INC(a->st.ecs_scope[fam][sc]);
        }
    }
    if (p.referral) {
        STAT_INC(CTR(&a->st, REFERRALS));
    }
    STAT_INC(a->st.c[CTR_RCODE_0 + p.rcode]);
    return w.c.pos;

truncated:
    STAT_INC(CTR(&a->st, TRUNCATED));
    return reply_short(a, &q, out, lim, p.rcode, flags | DNS_F_TC);
}
