/* SPDX-License-Identifier: MIT */
/*
 * update.c -- RFC 2136 UPDATE: the message parser and the one-transaction
 * evaluation (see update.h for the order of the checks and the rules).
 * Called by dnsd's update thread, the unit tests and the fuzz target. Slow
 * path: allocates, takes the LMDB write lock; never on a query worker, and
 * never trusts the packet (every length checked, compression pointers
 * bounded).
 */
#include "zones/update.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zones/base/err.h"
#include "zones/base/xalloc.h"
#include "zones/regions.h"
#include "zones/rrtype.h"
#include "zones/schema.h"
#include "zones/writer.h"

#define UPD_HDR      12
#define UPD_PTR_HOPS 64 /* compression pointers followed in one name */

const char *upd_rcode_str(unsigned rcode)
{
    static const char *const names[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
                                        "NOTIMP",  "REFUSED", "YXDOMAIN", "YXRRSET",
                                        "NXRRSET", "NOTAUTH", "NOTZONE"};
    if (rcode < sizeof(names) / sizeof(names[0])) {
        return names[rcode];
    }
    return "RCODE?";
}

/* ---- parsing ---- */

/*
 * Read the (possibly compressed) name at *@p off of @p msg into @p out
 * (DNAME_MAXLEN + 1 bytes). The bytes it occupies where it starts must end
 * by @p limit (an RR's rdata end, or the message end). *@p off moves past it.
 */
static int name_read(const uint8_t *msg, size_t len, size_t *off, size_t limit, uint8_t *out)
{
    size_t o = *off, end = 0, n = 0;
    bool jumped = false;
    int hops = 0;
    for (;;) {
        if (o >= (jumped ? len : limit)) {
            return DNSD_EMALFORMED;
        }
        uint8_t c = msg[o];
        if ((c & 0xC0) == 0xC0) {
            if (o + 1 >= (jumped ? len : limit) || ++hops > UPD_PTR_HOPS) {
                return DNSD_EMALFORMED;
            }
            size_t ptr = (size_t)(c & 0x3F) << 8 | msg[o + 1];
            if (!jumped) {
                end = o + 2;
            }
            if (ptr >= o) {
                return DNSD_EMALFORMED; /* pointers point back */
            }
            jumped = true;
            o = ptr;
            continue;
        }
        if (c & 0xC0) {
            return DNSD_EMALFORMED;
        }
        if (n + 1 + c > DNAME_MAXLEN || o + 1 + c > (jumped ? len : limit)) {
            return DNSD_EMALFORMED;
        }
        memcpy(out + n, msg + o, 1 + (size_t)c);
        n += 1 + (size_t)c;
        o += 1 + (size_t)c;
        if (c == 0) {
            break;
        }
    }
    *off = jumped ? end : o;
    return 0;
}

struct arena {
    uint8_t *p;
    size_t len, cap;
};

/* one RR; rdata goes to @p a, its offset in *@p rd_off */
static int rr_read(const uint8_t *msg, size_t len, size_t *off, upd_rr_t *rr, struct arena *a,
                   size_t *rd_off, diag_t *d, const char *sect, size_t idx)
{
    size_t o = *off;
    if (name_read(msg, len, &o, len, rr->owner) != 0) {
        diag_set(d, "", 0, "%s RR %zu: bad owner name", sect, idx + 1);
        return DNSD_EMALFORMED;
    }
    dname_lower(rr->owner);
    if (len - o < 10) {
        diag_set(d, "", 0, "%s RR %zu: truncated", sect, idx + 1);
        return DNSD_EMALFORMED;
    }
    rr->type = zs_get16(msg + o);
    rr->cls = zs_get16(msg + o + 2);
    rr->ttl = zs_get32(msg + o + 4);
    size_t rdlen = zs_get16(msg + o + 8);
    o += 10;
    if (len - o < rdlen) {
        diag_set(d, "", 0, "%s RR %zu: rdata runs past the message", sect, idx + 1);
        return DNSD_EMALFORMED;
    }
    size_t rd_end = o + rdlen;
    *rd_off = a->len;
    const rrtype_t *t = rrtype_get(rr->type);
    if (rdlen > 0 && t && t->compress && t->nnames) {
        /* an RFC 1035 type: its names may be compressed (RFC 3597 4) */
        if (rdlen < t->name_off) {
            diag_set(d, "", 0, "%s RR %zu: %s rdata too short", sect, idx + 1, t->name);
            return DNSD_EMALFORMED;
        }
        xappend(&a->p, &a->len, &a->cap, msg + o, t->name_off);
        size_t p = o + t->name_off;
        for (unsigned i = 0; i < t->nnames; i++) {
            uint8_t nm[DNAME_MAXLEN + 1];
            if (name_read(msg, len, &p, rd_end, nm) != 0) {
                diag_set(d, "", 0, "%s RR %zu: bad name in %s rdata", sect, idx + 1, t->name);
                return DNSD_EMALFORMED;
            }
            xappend(&a->p, &a->len, &a->cap, nm, (size_t)dname_wire_len(nm, sizeof(nm)));
        }
        if (rd_end - p != t->name_post) {
            diag_set(d, "", 0, "%s RR %zu: %s rdata has the wrong length", sect, idx + 1,
                     t->name);
            return DNSD_EMALFORMED;
        }
        xappend(&a->p, &a->len, &a->cap, msg + p, t->name_post);
    } else {
        xappend(&a->p, &a->len, &a->cap, msg + o, rdlen);
    }
    size_t out_len = a->len - *rd_off;
    if (out_len > 65535) {
        diag_set(d, "", 0, "%s RR %zu: rdata too long once decompressed", sect, idx + 1);
        return DNSD_EMALFORMED;
    }
    rr->rdlen = (uint16_t)out_len;
    *off = rd_end;
    return 0;
}

void upd_msg_fini(upd_msg_t *m)
{
    free(m->pre);
    free(m->upd);
    free(m->arena);
    m->pre = m->upd = NULL;
    m->arena = NULL;
    m->npre = m->nupd = 0;
}

int upd_parse(const uint8_t *msg, size_t len, upd_msg_t *out, diag_t *d)
{
    struct arena a = {NULL, 0, 0};
    size_t *offs = NULL;
    int err = DNSD_EMALFORMED;
    memset(out, 0, sizeof(*out));
    if (len < UPD_HDR) {
        diag_set(d, "", 0, "message shorter than a header");
        return DNSD_EMALFORMED;
    }
    out->id = zs_get16(msg);
    out->flags = zs_get16(msg + 2);
    unsigned zo = zs_get16(msg + 4), pr = zs_get16(msg + 6), up = zs_get16(msg + 8);
    if ((out->flags >> 11 & 0xF) != UPD_OPCODE || (out->flags & 0x8000)) {
        diag_set(d, "", 0, "not an UPDATE request");
        goto out;
    }
    if (zo != 1) {
        diag_set(d, "", 0, "the zone section has %u records (RFC 2136 3.1.1: exactly one)", zo);
        goto out;
    }
    /* every RR takes at least 11 bytes: refuse counts the message cannot hold */
    if ((size_t)pr + up > (len - UPD_HDR) / 11) {
        diag_set(d, "", 0, "section counts larger than the message");
        goto out;
    }
    size_t o = UPD_HDR;
    if (name_read(msg, len, &o, len, out->zone) != 0 || len - o < 4) {
        diag_set(d, "", 0, "bad zone section");
        goto out;
    }
    dname_lower(out->zone);
    if (zs_get16(msg + o) != DNS_T_SOA) {
        diag_set(d, "", 0, "the zone section's type is not SOA (RFC 2136 3.1.1)");
        goto out;
    }
    out->zclass = zs_get16(msg + o + 2);
    o += 4;
    out->npre = pr;
    out->nupd = up;
    out->pre = xcalloc(pr ? pr : 1, sizeof(upd_rr_t));
    out->upd = xcalloc(up ? up : 1, sizeof(upd_rr_t));
    offs = xcalloc((size_t)pr + up + 1, sizeof(size_t));
    for (size_t i = 0; i < (size_t)pr + up; i++) {
        bool is_pre = i < pr;
        upd_rr_t *rr = is_pre ? &out->pre[i] : &out->upd[i - pr];
        if (rr_read(msg, len, &o, rr, &a, &offs[i], d, is_pre ? "prerequisite" : "update",
                    is_pre ? i : i - pr) != 0) {
            goto out;
        }
    }
    /* the additional section: only an OPT matters (its RRs are not updates) */
    unsigned ad = zs_get16(msg + 10);
    for (unsigned i = 0; i < ad && o < len; i++) {
        uint8_t nm[DNAME_MAXLEN + 1];
        if (name_read(msg, len, &o, len, nm) != 0 || len - o < 10 ||
            len - o - 10 < zs_get16(msg + o + 8)) {
            diag_set(d, "", 0, "additional RR %u: malformed", i + 1);
            goto out;
        }
        if (zs_get16(msg + o) == DNS_T_OPT) {
            if (out->has_opt || nm[0] != 0) {
                diag_set(d, "", 0, "a second OPT, or an OPT not at the root (RFC 6891 6.1.1)");
                goto out;
            }
            out->has_opt = true;
            out->edns_version = msg[o + 5];
        }
        o += 10 + zs_get16(msg + o + 8);
    }
    /* the arena no longer moves: point the RRs into it */
    for (size_t i = 0; i < (size_t)pr + up; i++) {
        upd_rr_t *rr = i < pr ? &out->pre[i] : &out->upd[i - pr];
        rr->rdata = a.p ? a.p + offs[i] : (const uint8_t *)"";
    }
    out->arena = a.p;
    a.p = NULL;
    err = 0;
out:
    free(offs);
    free(a.p);
    if (err) {
        uint16_t id = out->id, flags = out->flags;
        upd_msg_fini(out);
        memset(out, 0, sizeof(*out));
        out->id = id;
        out->flags = flags;
    }
    return err;
}

/* ---- evaluation ---- */

/* meta and question-only types (RFC 6895 3.1: 128-255, and OPT) */
static bool is_meta(uint16_t type)
{
    return type == DNS_T_OPT || (type >= 128 && type <= 255);
}

typedef struct eval {
    zs_store_t *s;
    zw_t w;
    zw_zone_t z;
    const upd_msg_t *m;
    const upol_who_t *who;
    upd_result_t *res;
    upol_rule_t *rules; /* the zone's rules whose who matches */
    size_t nrules;
    size_t nall;        /* rules the zone has */
    uint16_t region;    /* the view written */
    uint16_t chain[ZS_REGION_CHAIN_MAX + 2];
    int nchain;
    bool changed;
} eval_t;

/* the reason, for the log (cut to fit: names can be long) */
__attribute__((format(printf, 2, 3))) static void say(upd_result_t *res, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->reason, sizeof(res->reason), fmt, ap);
    va_end(ap);
}

__attribute__((format(printf, 3, 4))) static int refuse(eval_t *e, uint8_t rcode,
                                                        const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->res->reason, sizeof(e->res->reason), fmt, ap);
    va_end(ap);
    e->res->rcode = rcode;
    return 1;
}

static const char *name_s(const uint8_t *n, char *buf, size_t cap)
{
    dname_to_str(n, buf, cap);
    return buf;
}

static const char *type_s(uint16_t type, char *buf)
{
    return rrtype_name(type, buf, 16);
}

static void who_str(const upol_who_t *who, char *buf, size_t cap)
{
    char a[INET6_ADDRSTRLEN] = "?";
    const struct sockaddr_storage *ss = &who->addr;
    if (ss->ss_family == AF_INET) {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, a, sizeof(a));
    } else if (ss->ss_family == AF_INET6) {
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, a, sizeof(a));
    }
    if (who->key) {
        char k[4 * 255 + 2];
        dname_to_str(who->key, k, sizeof(k));
        snprintf(buf, cap, "key %s from %s", k, a);
    } else {
        snprintf(buf, cap, "unsigned request from %s", a);
    }
}

struct rule_list {
    const upol_who_t *who;
    upol_rule_t *r;
    size_t n, cap, all;
};

static int collect_rule(const upol_rule_t *r, void *arg)
{
    struct rule_list *l = arg;
    l->all++;
    if (!upol_who_matches(r, l->who)) {
        return 0;
    }
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 4;
        l->r = xrealloc(l->r, l->cap * sizeof(*l->r));
    }
    l->r[l->n++] = *r;
    return 0;
}

/*
 * The types visible at @p owner in the view being written (each region of
 * the chain), as a bit per type for the few that matter and a count.
 */
typedef struct owner_view {
    unsigned ntypes;  /* distinct types visible */
    bool cname;       /* a CNAME is visible */
    bool other;       /* a type other than CNAME, RRSIG, NSEC is visible */
    uint16_t types[ZS_NODE_MAX * 2];
    unsigned nregion; /* types in the written region itself */
    uint16_t rtypes[ZS_NODE_MAX * 2];
} owner_view_t;

static bool in_chain(const eval_t *e, uint16_t region)
{
    for (int i = 0; i < e->nchain; i++) {
        if (e->chain[i] == region) {
            return true;
        }
    }
    return false;
}

static int owner_look(eval_t *e, const uint8_t *owner, owner_view_t *ov)
{
    dname_key_t k;
    uint8_t kb[ZS_RRKEY_MAX];
    MDB_cursor *cur;
    memset(ov, 0, sizeof(*ov));
    if (dname_key_build(owner, &k) != 0) {
        return 0; /* such a name cannot be stored: nothing there */
    }
    size_t plen = zs_owner_prefix(e->z.id, &k, e->z.apex_labels, kb);
    kb[plen++] = 0;
    int rc = mdb_cursor_open(e->w.txn, e->s->rrsets, &cur);
    if (rc) {
        return zs_mdb_err(rc);
    }
    MDB_val key = {plen, kb}, val;
    for (rc = mdb_cursor_get(cur, &key, &val, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
        const uint8_t *p = key.mv_data;
        if (key.mv_size != plen + 4 || memcmp(p, kb, plen) != 0) {
            break;
        }
        uint16_t type = zs_get16(p + plen), region = zs_get16(p + plen + 2);
        if (region == e->region && ov->nregion < sizeof(ov->rtypes) / 2) {
            ov->rtypes[ov->nregion++] = type;
        }
        if (!in_chain(e, region)) {
            continue;
        }
        bool seen = false;
        for (unsigned i = 0; i < ov->ntypes && !seen; i++) {
            seen = ov->types[i] == type;
        }
        if (!seen && ov->ntypes < sizeof(ov->types) / 2) {
            ov->types[ov->ntypes++] = type;
            if (type == DNS_T_CNAME) {
                ov->cname = true;
            } else if (type != DNS_T_RRSIG && type != DNS_T_NSEC) {
                ov->other = true;
            }
        }
    }
    mdb_cursor_close(cur);
    return rc == 0 || rc == MDB_NOTFOUND ? 0 : zs_mdb_err(rc);
}

/* The RRset (owner, type) as the view sees it: the first region of the chain with it. */
static int view_rrset(eval_t *e, const uint8_t *owner, uint16_t type, zs_rrset_t *out)
{
    for (int i = 0; i < e->nchain; i++) {
        int err = zw_rrset_get(e->s, e->w.txn, &e->z, owner, type, e->chain[i], out);
        if (err != DNSD_ENOTFOUND) {
            return err;
        }
    }
    return DNSD_ENOTFOUND;
}

static bool rrset_has(const zs_rrset_t *rs, const uint8_t *rd, uint16_t rl)
{
    size_t off = 0;
    for (unsigned i = 0; i < rs->count; i++) {
        size_t l = zs_get16(rs->rdata + off);
        if (l == rl && memcmp(rs->rdata + off + 2, rd, rl) == 0) {
            return true;
        }
        off += 2 + l;
    }
    return false;
}

/* Is @p owner in a zone of ours below this one (then it is not this zone's)? */
static int in_child_zone(eval_t *e, const uint8_t *owner, bool *yes)
{
    *yes = false;
    const uint8_t *p = owner;
    int labels = dname_labels(owner);
    for (int l = labels; l > e->z.apex_labels; l--) {
        zw_zone_t cz;
        int err = zw_zone_get(e->s, e->w.txn, p, &cz);
        if (err == 0) {
            *yes = true;
            return 0;
        }
        if (err != DNSD_ENOZONE) {
            return err;
        }
        p += 1 + p[0];
    }
    return 0;
}

/* RFC 2136 3.2 / 3.4.1: the form of both sections (FORMERR, NOTZONE) */
static int check_form(eval_t *e)
{
    const upd_msg_t *m = e->m;
    char nb[4 * 255 + 2], tb[16];
    for (size_t i = 0; i < m->npre + m->nupd; i++) {
        bool pre = i < m->npre;
        const upd_rr_t *rr = pre ? &m->pre[i] : &m->upd[i - m->npre];
        const char *sect = pre ? "prerequisite" : "update";
        bool child;
        int err;
        if (!dname_is_sub(rr->owner, e->z.apex)) {
            return refuse(e, UPD_R_NOTZONE, "%s %s %s is outside the zone", sect,
                          name_s(rr->owner, nb, sizeof(nb)), type_s(rr->type, tb));
        }
        if ((err = in_child_zone(e, rr->owner, &child)) != 0) {
            say(e->res, "cannot look zones up: %s",
                     dnsd_strerror(err));
            return err;
        }
        if (child) {
            return refuse(e, UPD_R_NOTZONE, "%s %s %s is in a zone below this one", sect,
                          name_s(rr->owner, nb, sizeof(nb)), type_s(rr->type, tb));
        }
        if (pre) {
            if (rr->ttl != 0) {
                return refuse(e, UPD_R_FORMERR, "prerequisite %s has a TTL (RFC 2136 3.2.1)",
                              name_s(rr->owner, nb, sizeof(nb)));
            }
            if ((rr->cls == UPD_CLASS_ANY || rr->cls == UPD_CLASS_NONE) && rr->rdlen != 0) {
                return refuse(e, UPD_R_FORMERR, "prerequisite %s has rdata with class %s",
                              name_s(rr->owner, nb, sizeof(nb)),
                              rr->cls == UPD_CLASS_ANY ? "ANY" : "NONE");
            }
            if (rr->cls != UPD_CLASS_ANY && rr->cls != UPD_CLASS_NONE && rr->cls != m->zclass) {
                return refuse(e, UPD_R_FORMERR, "prerequisite %s has class %u",
                              name_s(rr->owner, nb, sizeof(nb)), rr->cls);
            }
            if (rr->cls == m->zclass && is_meta(rr->type)) {
                return refuse(e, UPD_R_FORMERR, "prerequisite %s has meta type %s",
                              name_s(rr->owner, nb, sizeof(nb)), type_s(rr->type, tb));
            }
            continue;
        }
        if (rr->cls == m->zclass) {
            if (is_meta(rr->type)) {
                return refuse(e, UPD_R_FORMERR, "update adds meta type %s at %s",
                              type_s(rr->type, tb), name_s(rr->owner, nb, sizeof(nb)));
            }
            if (!zs_rdata_ok(rr->type, rr->rdata, rr->rdlen)) {
                return refuse(e, UPD_R_FORMERR, "update adds a malformed %s at %s",
                              type_s(rr->type, tb), name_s(rr->owner, nb, sizeof(nb)));
            }
        } else if (rr->cls == UPD_CLASS_ANY) {
            if (rr->ttl != 0 || rr->rdlen != 0 || (is_meta(rr->type) && rr->type != DNS_T_ANY)) {
                return refuse(e, UPD_R_FORMERR, "bad RRset deletion at %s (RFC 2136 3.4.1.3)",
                              name_s(rr->owner, nb, sizeof(nb)));
            }
        } else if (rr->cls == UPD_CLASS_NONE) {
            if (rr->ttl != 0 || is_meta(rr->type)) {
                return refuse(e, UPD_R_FORMERR, "bad RR deletion at %s (RFC 2136 3.4.1.3)",
                              name_s(rr->owner, nb, sizeof(nb)));
            }
        } else {
            return refuse(e, UPD_R_FORMERR, "update RR at %s has class %u",
                          name_s(rr->owner, nb, sizeof(nb)), rr->cls);
        }
    }
    return 0;
}

/* RFC 2136 3.3: every update RR granted by a rule; one view for the whole update */
static int check_policy(eval_t *e)
{
    const upd_msg_t *m = e->m;
    char wb[1200], nb[4 * 255 + 2], tb[16];
    const char *region = NULL;
    who_str(e->who, wb, sizeof(wb));
    if (e->nall == 0) {
        return refuse(e, UPD_R_REFUSED, "zone %s has no update policy",
                      name_s(e->z.apex, nb, sizeof(nb)));
    }
    if (e->nrules == 0) {
        return refuse(e, UPD_R_REFUSED, "no update policy rule of zone %s matches the %s",
                      name_s(e->z.apex, nb, sizeof(nb)), wb);
    }
    for (size_t i = 0; i < m->nupd; i++) {
        const upd_rr_t *rr = &m->upd[i];
        const upol_rule_t *hit = NULL;
        for (size_t j = 0; j < e->nrules && !hit; j++) {
            const upol_rule_t *r = &e->rules[j];
            /* deleting every RRset at a name takes a rule for any type */
            if (rr->cls == UPD_CLASS_ANY && rr->type == DNS_T_ANY
                    ? r->ntypes == 0 && upol_covers(r, rr->owner, DNS_T_ANY)
                    : upol_covers(r, rr->owner, rr->type)) {
                hit = r;
            }
        }
        if (!hit) {
            return refuse(e, UPD_R_REFUSED, "%s: %s %s %s not allowed by the update policy",
                          wb, rr->cls == m->zclass ? "adding" : "deleting",
                          name_s(rr->owner, nb, sizeof(nb)),
                          rr->type == DNS_T_ANY ? "(all types)" : type_s(rr->type, tb));
        }
        if (region && strcmp(region, hit->region) != 0) {
            return refuse(e, UPD_R_REFUSED, "%s: the update writes two views (%s and %s); "
                          "send one update per region", wb, *region ? region : "default",
                          hit->region[0] ? hit->region : "default");
        }
        region = hit->region;
    }
    if (!region) {
        region = e->rules[0].region; /* prerequisites only: the first matching rule's view */
    }
    snprintf(e->res->region, sizeof(e->res->region), "%s", region);
    if (!*region) {
        e->region = ZS_REGION_DEFAULT;
        e->chain[0] = ZS_REGION_DEFAULT;
        e->nchain = 1;
        return 0;
    }
    /* the region's fallback chain, as dnsd answers it */
    zs_region_t *rs = NULL;
    size_t n = 0;
    int err = zs_regions_load(e->s, e->w.txn, &rs, &n);
    if (err) {
        say(e->res, "cannot read the regions: %s",
                 dnsd_strerror(err));
        return err;
    }
    const zs_region_t *r = NULL;
    for (size_t i = 0; i < n && !r; i++) {
        if (strcmp(rs[i].name, region) == 0) {
            r = &rs[i];
        }
    }
    if (!r) {
        free(rs);
        return refuse(e, UPD_R_REFUSED, "%s: the update policy names region %s, which does "
                      "not exist", wb, region);
    }
    e->region = r->id;
    e->nchain = 0;
    while (r && e->nchain <= ZS_REGION_CHAIN_MAX) {
        e->chain[e->nchain++] = r->id;
        uint16_t parent = r->parent;
        r = NULL;
        for (size_t i = 0; i < n && !r && parent != ZS_REGION_DEFAULT; i++) {
            if (rs[i].id == parent) {
                r = &rs[i];
            }
        }
    }
    e->chain[e->nchain++] = ZS_REGION_DEFAULT;
    free(rs);
    /* a region's view shares the default view's apex SOA and NS */
    for (size_t i = 0; i < m->nupd; i++) {
        const upd_rr_t *rr = &m->upd[i];
        if (dname_eq(rr->owner, e->z.apex) && (rr->type == DNS_T_SOA || rr->type == DNS_T_NS)) {
            return refuse(e, UPD_R_REFUSED, "%s: the SOA and apex NS records are in the "
                          "default view only (the policy binds the key to region %s)", wb,
                          region);
        }
    }
    return 0;
}

/* RFC 2136 3.2: the prerequisites' values */
static int check_prereqs(eval_t *e)
{
    const upd_msg_t *m = e->m;
    char nb[4 * 255 + 2], tb[16];
    owner_view_t ov;
    zs_rrset_t rs;
    int err;
    for (size_t i = 0; i < m->npre; i++) {
        const upd_rr_t *rr = &m->pre[i];
        if (rr->cls == m->zclass) {
            continue; /* value-dependent: below, per RRset */
        }
        bool none = rr->cls == UPD_CLASS_NONE;
        if (rr->type == DNS_T_ANY) {
            if ((err = owner_look(e, rr->owner, &ov)) != 0) {
                return err;
            }
            if (!none && ov.ntypes == 0) {
                return refuse(e, UPD_R_NXDOMAIN, "prerequisite: name %s is not in use",
                              name_s(rr->owner, nb, sizeof(nb)));
            }
            if (none && ov.ntypes > 0) {
                return refuse(e, UPD_R_YXDOMAIN, "prerequisite: name %s is in use",
                              name_s(rr->owner, nb, sizeof(nb)));
            }
            continue;
        }
        err = view_rrset(e, rr->owner, rr->type, &rs);
        if (err && err != DNSD_ENOTFOUND) {
            return err;
        }
        if (!none && err) {
            return refuse(e, UPD_R_NXRRSET, "prerequisite: no %s RRset at %s",
                          type_s(rr->type, tb), name_s(rr->owner, nb, sizeof(nb)));
        }
        if (none && !err) {
            return refuse(e, UPD_R_YXRRSET, "prerequisite: a %s RRset exists at %s",
                          type_s(rr->type, tb), name_s(rr->owner, nb, sizeof(nb)));
        }
    }
    /* value-dependent (3.2.3): each (owner, type) named must equal the listed RRs exactly */
    for (size_t i = 0; i < m->npre; i++) {
        const upd_rr_t *rr = &m->pre[i];
        bool first = true;
        if (rr->cls != m->zclass) {
            continue;
        }
        for (size_t j = 0; j < i && first; j++) {
            first = !(m->pre[j].cls == m->zclass && m->pre[j].type == rr->type &&
                      dname_eq(m->pre[j].owner, rr->owner));
        }
        if (!first) {
            continue;
        }
        err = view_rrset(e, rr->owner, rr->type, &rs);
        if (err && err != DNSD_ENOTFOUND) {
            return err;
        }
        /* distinct listed records, each in the RRset, as many as it has */
        unsigned distinct = 0;
        bool all_in = !err;
        for (size_t j = i; j < m->npre && all_in; j++) {
            const upd_rr_t *x = &m->pre[j];
            if (x->cls != m->zclass || x->type != rr->type || !dname_eq(x->owner, rr->owner)) {
                continue;
            }
            bool dup = false;
            for (size_t k = i; k < j && !dup; k++) {
                const upd_rr_t *y = &m->pre[k];
                dup = y->cls == m->zclass && y->type == x->type && dname_eq(y->owner, x->owner) &&
                      y->rdlen == x->rdlen && memcmp(y->rdata, x->rdata, x->rdlen) == 0;
            }
            if (dup) {
                continue;
            }
            distinct++;
            all_in = rrset_has(&rs, x->rdata, x->rdlen);
        }
        if (!all_in || distinct != rs.count) {
            return refuse(e, UPD_R_NXRRSET, "prerequisite: the %s RRset at %s is not the one "
                          "given", type_s(rr->type, tb), name_s(rr->owner, nb, sizeof(nb)));
        }
    }
    return 0;
}

/* a store error while applying: REFUSED for the structure rules, else the error itself */
static int edit_err(eval_t *e, int err, const char *what, const upd_rr_t *rr)
{
    char nb[4 * 255 + 2], tb[16];
    if (err == DNSD_ESTORE || err == DNSD_ELMDB || err == DNSD_ESPACE || err > -1000) {
        say(e->res, "cannot %s %s %s: %s", what,
                 name_s(rr->owner, nb, sizeof(nb)), type_s(rr->type, tb), dnsd_strerror(err));
        return err;
    }
    return refuse(e, UPD_R_REFUSED, "cannot %s %s %s: %s", what,
                  name_s(rr->owner, nb, sizeof(nb)), type_s(rr->type, tb), dnsd_strerror(err));
}

static int add_rr(eval_t *e, const upd_rr_t *rr)
{
    owner_view_t ov;
    zs_rrset_t old;
    int err;
    bool apex = dname_eq(rr->owner, e->z.apex);
    if (rr->type == DNS_T_SOA) {
        uint32_t cur;
        /* 3.4.2.2: an SOA elsewhere than the apex, or not newer, is ignored */
        if (!apex || rr->rdlen < 20) {
            return 0;
        }
        if ((err = zw_soa_serial(e->s, e->w.txn, &e->z, &cur)) != 0) {
            return edit_err(e, err, "read the SOA of", rr);
        }
        if (!zw_serial_gt(zs_get32(rr->rdata + rr->rdlen - 20), cur)) {
            return 0;
        }
        if ((err = zw_rr_del(&e->w, &e->z, rr->owner, DNS_T_SOA, ZS_REGION_DEFAULT, NULL, 0)) !=
            0) {
            return edit_err(e, err, "replace", rr);
        }
        if ((err = zw_rr_add(&e->w, &e->z, rr->owner, DNS_T_SOA, ZS_REGION_DEFAULT, rr->ttl,
                             rr->rdata, rr->rdlen)) != 0) {
            return edit_err(e, err, "replace", rr);
        }
        e->changed = true;
        return 0;
    }
    if ((err = owner_look(e, rr->owner, &ov)) != 0) {
        return err;
    }
    if (rr->type == DNS_T_CNAME ? ov.other : ov.cname) {
        return 0; /* 3.4.2.2: CNAME and other data do not mix; the update RR is ignored */
    }
    if (rr->type == DNS_T_CNAME) {
        /* one CNAME at a name: the new one replaces it */
        err = zw_rrset_get(e->s, e->w.txn, &e->z, rr->owner, DNS_T_CNAME, e->region, &old);
        if (err == 0 && old.count == 1 && zs_get16(old.rdata) == rr->rdlen &&
            memcmp(old.rdata + 2, rr->rdata, rr->rdlen) == 0 && old.ttl == rr->ttl) {
            return 0;
        }
        if (err == 0) {
            err = zw_rr_del(&e->w, &e->z, rr->owner, DNS_T_CNAME, e->region, NULL, 0);
        }
        if (err && err != DNSD_ENOTFOUND) {
            return edit_err(e, err, "replace", rr);
        }
    }
    err = zw_rr_add(&e->w, &e->z, rr->owner, rr->type, e->region, rr->ttl, rr->rdata,
                    rr->rdlen);
    if (err == DNSD_EEXIST) {
        /* the same record: it replaces the zone's, so only its TTL can change */
        err = zw_rrset_get(e->s, e->w.txn, &e->z, rr->owner, rr->type, e->region, &old);
        if (err == 0 && old.ttl == rr->ttl) {
            return 0;
        }
        if (err == 0) {
            err = zw_rr_del(&e->w, &e->z, rr->owner, rr->type, e->region, rr->rdata, rr->rdlen);
        }
        if (err == 0) {
            err = zw_rr_add(&e->w, &e->z, rr->owner, rr->type, e->region, rr->ttl, rr->rdata,
                            rr->rdlen);
        }
    }
    if (err) {
        return edit_err(e, err, "add", rr);
    }
    e->changed = true;
    return 0;
}

static int del_rr(eval_t *e, const upd_rr_t *rr)
{
    bool apex = dname_eq(rr->owner, e->z.apex);
    int err = 0;
    if (rr->cls == UPD_CLASS_ANY && rr->type == DNS_T_ANY) {
        owner_view_t ov;
        if ((err = owner_look(e, rr->owner, &ov)) != 0) {
            return err;
        }
        /* every RRset at the name in the written view; at the apex, not the SOA and NS */
        for (unsigned i = 0; i < ov.nregion && !err; i++) {
            uint16_t t = ov.rtypes[i];
            if (apex && (t == DNS_T_SOA || t == DNS_T_NS)) {
                continue;
            }
            err = zw_rr_del(&e->w, &e->z, rr->owner, t, e->region, NULL, 0);
            e->changed = e->changed || err == 0;
        }
    } else if (rr->cls == UPD_CLASS_ANY) {
        if (apex && (rr->type == DNS_T_SOA || rr->type == DNS_T_NS)) {
            return 0; /* 3.4.2.3 */
        }
        err = zw_rr_del(&e->w, &e->z, rr->owner, rr->type, e->region, NULL, 0);
        e->changed = e->changed || err == 0;
    } else {
        if (rr->type == DNS_T_SOA) {
            return 0; /* 3.4.2.4: the SOA is never deleted */
        }
        if (apex && rr->type == DNS_T_NS) {
            zs_rrset_t ns;
            err = zw_rrset_get(e->s, e->w.txn, &e->z, rr->owner, DNS_T_NS, e->region, &ns);
            if (err == 0 && ns.count == 1) {
                return 0; /* 3.4.2.4: nor the apex's last NS */
            }
        }
        err = zw_rr_del(&e->w, &e->z, rr->owner, rr->type, e->region, rr->rdata, rr->rdlen);
        e->changed = e->changed || err == 0;
    }
    if (err && err != DNSD_ENOTFOUND) {
        return edit_err(e, err, "delete", rr);
    }
    return 0;
}

int upd_apply(zs_store_t *s, const upd_msg_t *m, const upol_who_t *who, upd_result_t *res)
{
    eval_t e = {.s = s, .m = m, .who = who, .res = res};
    struct rule_list rl = {who, NULL, 0, 0, 0};
    diag_t d = {0};
    char nb[4 * 255 + 2];
    int err;
    memset(res, 0, sizeof(*res));
    res->rcode = UPD_R_SERVFAIL;
    if ((err = zw_begin(s, &e.w)) != 0) {
        say(res, "cannot begin a write transaction: %s",
                 dnsd_strerror(err));
        goto out;
    }
    /* 3.1: the zone section */
    if (m->zclass != UPD_CLASS_IN) {
        refuse(&e, UPD_R_NOTAUTH, "zone %s: class %u is not served here",
               name_s(m->zone, nb, sizeof(nb)), m->zclass);
        goto out;
    }
    err = zw_zone_get(s, e.w.txn, m->zone, &e.z);
    if (err == DNSD_ENOZONE) {
        err = 0;
        refuse(&e, UPD_R_NOTAUTH, "zone %s is not served here", name_s(m->zone, nb, sizeof(nb)));
        goto out;
    }
    if (err) {
        say(res, "cannot read zone %s: %s",
                 name_s(m->zone, nb, sizeof(nb)), dnsd_strerror(err));
        goto out;
    }
    res->zone_id = e.z.id;
    if ((err = upol_foreach(s, e.w.txn, e.z.id, collect_rule, &rl)) != 0) {
        say(res, "cannot read the update policy of %s: %s",
                 name_s(m->zone, nb, sizeof(nb)), dnsd_strerror(err));
        goto out;
    }
    e.rules = rl.r;
    e.nrules = rl.n;
    e.nall = rl.all;
    /* each step: 0 go on, 1 judged (res filled), < 0 store error */
    err = check_form(&e);
    err = err ? err : check_policy(&e);
    err = err ? err : check_prereqs(&e);
    for (size_t i = 0; i < m->nupd && !err; i++) {
        const upd_rr_t *rr = &m->upd[i];
        err = rr->cls == m->zclass ? add_rr(&e, rr) : del_rr(&e, rr);
    }
    if (err) {
        err = err > 0 ? 0 : err; /* refused or failed a check: res says how */
        goto out;
    }
    if (!e.changed) {
        /* nothing to do (every RR a no-op or ignored): no commit, no serial bump */
        if ((err = zw_soa_serial(s, e.w.txn, &e.z, &res->serial)) != 0) {
            say(res, "cannot read the SOA serial: %s", dnsd_strerror(err));
            goto out;
        }
        res->rcode = UPD_R_NOERROR;
        goto out;
    }
    if ((err = zw_prepare(&e.w, &d)) != 0) {
        if (err == DNSD_ESTORE || err == DNSD_ELMDB || err == DNSD_ESPACE || err > -1000) {
            say(res, "cannot finish the update: %s%s%s", dnsd_strerror(err),
                d.text[0] ? ": " : "", d.text);
            goto out;
        }
        refuse(&e, UPD_R_REFUSED, "the update would break zone %s: %s",
               name_s(e.z.apex, nb, sizeof(nb)), d.text[0] ? d.text : dnsd_strerror(err));
        err = 0;
        goto out;
    }
    if ((err = zw_soa_serial(s, e.w.txn, &e.z, &res->serial)) != 0 ||
        (err = zw_commit(&e.w, &d)) != 0) {
        say(res, "cannot commit: %s", dnsd_strerror(err));
        goto out;
    }
    res->rcode = UPD_R_NOERROR;
    res->changed = true;
out:
    zw_abort(&e.w);
    free(rl.r);
    if (err) {
        res->rcode = UPD_R_SERVFAIL;
        res->changed = false;
    }
    return err;
}
