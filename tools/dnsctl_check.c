/* SPDX-License-Identifier: MIT */
/*
 * dnsctl_check.c -- `dnsctl check ZONEFILE [--origin NAME]`: is this zone file
 * one `dnsctl zone import` would take, and what would named-checkzone or
 * kzonecheck say of it? Called by dnsctl.c's main(). It never opens the
 * operator's store (no --store needed, none touched): the file is read by
 * the importer itself (zones/import.c: the same syntax, rules and messages,
 * file:line) into a scratch store in a private temporary directory, whose
 * files are unlinked as soon as LMDB has them open, so nothing is left
 * behind even when dnsctl is killed; the scratch txn is never committed.
 *
 * Checks, in order: syntax and per-record rules (import: class, out-of-zone
 * owners, SOA placement, CNAME beside other data, DNAME rules, TTL
 * differences inside an RRset as warnings), the zone rules of every commit
 * (zw_check_zone: one SOA, NS at the apex, CNAME alone in every view), and
 * the integrity checks named-checkzone runs with -i local: an apex NS whose
 * in-zone target has no address record or is a CNAME is an error; a
 * delegation without glue and an in-zone MX or SRV target without an
 * address (or that is a CNAME) are warnings. Exit status 0 (warnings
 * allowed) or 1.
 */
#include "tools/dnsctl.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zones/base/err.h"
#include "zones/base/xalloc.h"
#include "zones/export.h"
#include "zones/import.h"
#include "zones/names.h"

#define CHECK_DEFAULT_TTL 3600u /* as zone import: a record with no TTL before any $TTL */

/* a name another record points to (NS, MX, SRV target) */
typedef struct ref {
    uint16_t type;   /* of the record that points */
    uint16_t region;
    uint8_t owner[DNAME_MAXLEN + 1];
    uint8_t target[DNAME_MAXLEN + 1]; /* lower case */
} ref_t;

typedef struct check_ctx {
    const zw_zone_t *z;
    ref_t *refs;
    size_t n, cap;
    unsigned long records;
} check_ctx_t;

static void ref_add(check_ctx_t *cx, const uint8_t *owner, const zs_rrset_t *rr,
                    const uint8_t *name, size_t max)
{
    int len = dname_wire_len(name, max);
    if (len <= 1) {
        return; /* malformed, or the root: "no service" (SRV ".") */
    }
    if (cx->n == cx->cap) {
        cx->cap = cx->cap ? cx->cap * 2 : 64;
        cx->refs = xrealloc(cx->refs, cx->cap * sizeof(*cx->refs));
    }
    ref_t *r = &cx->refs[cx->n++];
    r->type = rr->type;
    r->region = rr->region;
    memcpy(r->owner, owner, (size_t)dname_wire_len(owner, DNAME_MAXLEN + 1));
    memcpy(r->target, name, (size_t)len);
    dname_lower(r->target);
}

static int collect_cb(const uint8_t *owner, const zs_rrset_t *rr, void *arg)
{
    check_ctx_t *cx = arg;
    size_t off = 0;
    const uint8_t *rd;
    uint16_t rl;
    cx->records += rr->count;
    while (zf_rrset_next(rr, &off, &rd, &rl)) {
        if (rr->type == DNS_T_NS) {
            ref_add(cx, owner, rr, rd, rl);
        } else if (rr->type == DNS_T_MX && rl > 2) {
            ref_add(cx, owner, rr, rd + 2, rl - 2u);
        } else if (rr->type == DNS_T_SRV && rl > 6) {
            ref_add(cx, owner, rr, rd + 6, rl - 6u);
        }
    }
    return 0;
}

/* does @p name have an RRset of @p type in @p region (or, failing that, default)? */
static bool has_type(zs_store_t *s, MDB_txn *txn, const zw_zone_t *z, const uint8_t *name,
                     uint16_t type, uint16_t region)
{
    zs_rrset_t rr;
    if (zw_rrset_get(s, txn, z, name, type, region, &rr) == 0) {
        return true;
    }
    return region != ZS_REGION_DEFAULT &&
           zw_rrset_get(s, txn, z, name, type, ZS_REGION_DEFAULT, &rr) == 0;
}

/* The integrity checks (named-checkzone -i local): @return the number of errors. */
static unsigned long integrity(zs_store_t *s, MDB_txn *txn, const zw_zone_t *z,
                               const check_ctx_t *cx, const char *file, unsigned long *warnings)
{
    unsigned long errors = 0;
    char on[CTL_NAME_STR_MAX], tn[CTL_NAME_STR_MAX];
    for (size_t i = 0; i < cx->n; i++) {
        const ref_t *r = &cx->refs[i];
        if (!dname_is_sub(r->target, z->apex)) {
            continue; /* out of zone: named-checkzone -i local does not look either */
        }
        bool cname = has_type(s, txn, z, r->target, DNS_T_CNAME, r->region);
        bool addr = has_type(s, txn, z, r->target, DNS_T_A, r->region) ||
                    has_type(s, txn, z, r->target, DNS_T_AAAA, r->region);
        if (addr && !cname) {
            continue;
        }
        ctl_name_str(r->owner, on);
        ctl_name_str(r->target, tn);
        const char *ts = r->type == DNS_T_NS ? "NS" : r->type == DNS_T_MX ? "MX" : "SRV";
        bool apex_ns = r->type == DNS_T_NS && dname_eq(r->owner, z->apex);
        const char *what = cname ? "is a CNAME (an alias may not be the target of an NS, MX "
                                   "or SRV record: RFC 2181 10.3, RFC 2782)"
                           : r->type == DNS_T_NS && !apex_ns
                               ? "has no glue address records (A or AAAA): resolvers cannot "
                                 "reach the delegated zone's server"
                               : "has no address records (A or AAAA)";
        if (apex_ns) {
            errors++;
            fprintf(stderr, "dnsctl: %s: %s %s '%s' %s\n", file, on, ts, tn, what);
        } else {
            (*warnings)++;
            fprintf(stderr, "%s: warning: %s %s '%s' %s\n", file, on, ts, tn, what);
        }
    }
    return errors;
}

static void check_progress(void *arg, unsigned long records, uint64_t done, uint64_t total)
{
    ctl_progress_records(arg, records, done, total);
}

/* the origin kzonecheck takes: the file's name less a ".zone" suffix */
static int origin_from_file(const char *file, char *buf, size_t cap)
{
    const char *base = strrchr(file, '/');
    base = base ? base + 1 : file;
    size_t n = strlen(base);
    if (n > 5 && strcmp(base + n - 5, ".zone") == 0) {
        n -= 5;
    }
    if (n == 0 || n >= cap) {
        return ctl_usage("check: cannot tell the zone's name from the file name \"%s\": give "
                         "--origin NAME", file);
    }
    memcpy(buf, base, n);
    buf[n] = 0;
    return CTL_OK;
}

int ctl_check(ctl_t *c)
{
    char tmp[PATH_MAX], path[PATH_MAX + 16], origin[PATH_MAX], name[CTL_NAME_STR_MAX];
    uint8_t apex[DNAME_MAXLEN + 1];
    zs_store_t *s = NULL;
    zw_t w = {0};
    zw_zone_t z;
    diag_t d = {0};
    zf_import_stats_t st = {0};
    check_ctx_t cx = {0};
    ctl_progress_t pg;
    uint32_t serial = 0;
    int rc, err;

    if ((rc = ctl_check_args(c, "check", CTL_OPT_ORIGIN, 1, 1))) {
        return rc;
    }
    const char *file = c->argv[0];
    if (c->origin) {
        snprintf(origin, sizeof(origin), "%s", c->origin);
    } else if ((rc = origin_from_file(file, origin, sizeof(origin))) != CTL_OK) {
        return rc;
    }
    if (ctl_zone_name(origin, apex) != CTL_OK) {
        return CTL_FAIL;
    }
    ctl_name_str(apex, name);

    /* the scratch store: private (mkdtemp makes it 0700), gone once open */
    const char *td = getenv("TMPDIR");
    snprintf(tmp, sizeof(tmp), "%s/dnsctl-check.XXXXXX", td && *td ? td : "/tmp");
    if (!mkdtemp(tmp)) {
        return ctl_err("check: cannot make a scratch directory in %s: %s",
                       td && *td ? td : "/tmp", strerror(errno));
    }
    err = zs_open(tmp, ZS_OPEN_CREATE, c->map_size, &s, &d);
    snprintf(path, sizeof(path), "%s/data.mdb", tmp);
    unlink(path);
    snprintf(path, sizeof(path), "%s/lock.mdb", tmp);
    unlink(path);
    rmdir(tmp);
    rc = CTL_FAIL;
    if (err) {
        ctl_err("check: cannot make a scratch store: %s", d.text);
        goto out;
    }
    if ((err = zw_begin(s, &w)) != 0 || (err = zw_zone_create(&w, apex, &z)) != 0) {
        ctl_err("check: scratch store: %s", dnsd_strerror(err));
        goto out;
    }
    ctl_progress_begin(&pg, c, "check", false);
    zf_import_opts_t o = {ZS_REGION_DEFAULT, CHECK_DEFAULT_TTL, ZF_ANY_REGION, stderr,
                          check_progress, &pg};
    err = zf_import(&w, &z, file, &o, &st, &d);
    ctl_progress_end(&pg, false);
    if (err) {
        ctl_diag(NULL, &d);
        goto out;
    }
    if ((err = zw_check_zone(&w, &z, &d)) != 0) {
        ctl_diag(file, &d);
        goto out;
    }
    if ((err = zw_foreach_rrset(s, w.txn, &z, collect_cb, &cx)) != 0) {
        ctl_err("check: scratch store: %s", dnsd_strerror(err));
        goto out;
    }
    unsigned long warnings = st.warnings;
    unsigned long errors = integrity(s, w.txn, &z, &cx, file, &warnings);
    if (errors) {
        ctl_err("%s: zone %s: %lu error%s", file, name, errors, errors == 1 ? "" : "s");
        goto out;
    }
    zw_soa_serial(s, w.txn, &z, &serial);
    printf("%s: zone %s OK: %lu records, serial %u", file, name, cx.records, serial);
    if (st.duplicates) {
        printf(", %lu duplicates merged", st.duplicates);
    }
    printf(", %lu warning%s\n", warnings, warnings == 1 ? "" : "s");
    rc = CTL_OK;
out:
    zw_abort(&w); /* never committed: the scratch store goes with it */
    zs_close(s);
    free(cx.refs);
    return rc;
}
