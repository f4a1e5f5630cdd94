/* SPDX-License-Identifier: MIT */
/*
 * dnsctl_policy.c -- `dnsctl zone policy ZONE add|list|del ...`: who may
 * change what in a zone by RFC 2136 UPDATE (zones/upolicy.h). Called by
 * dnsctl_zone.c's dispatcher. One write txn per change, through the
 * policy store only; it never edits a zone's records.
 *
 * The rule is written in words, in the order BIND's update-policy reads
 * ("grant KEY subdomain NAME TYPES"), so no new global option is needed:
 *   add [key KEY] [address CIDR] (name NAME | subdomain NAME | pattern GLOB)
 *       [types T[,T...] | types any] [region R]
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "tools/dnsctl.h"
#include "zones/base/err.h"
#include "zones/import.h"
#include "zones/regions.h"
#include "zones/tsig.h"
#include "zones/upolicy.h"

static const char *const policy_usage =
    "zone policy ZONE add [key KEY] [address CIDR] "
    "(name NAME | subdomain NAME | pattern GLOB) [types T,T...|any] [region R]";

static const char *match_word(uint8_t m)
{
    return m == UPOL_M_NAME ? "name" : m == UPOL_M_SUBDOMAIN ? "subdomain" : "pattern";
}

/* the rule's words as `add` takes them (and `list` prints them) */
static void rule_text(const upol_rule_t *r, char *who, size_t wcap, char *what, size_t tcap,
                      char *types, size_t ycap)
{
    char nb[CTL_NAME_STR_MAX], cb[64];
    who[0] = 0;
    if (r->flags & UPOL_F_KEY) {
        snprintf(who, wcap, "key %s", ctl_name_str(r->key, nb));
    }
    if (r->flags & UPOL_F_ADDR) {
        zs_cidr_str(&r->addr, cb, sizeof(cb));
        size_t l = strlen(who);
        snprintf(who + l, wcap - l, "%saddress %s", l ? " " : "", cb);
    }
    snprintf(what, tcap, "%s %s", match_word(r->match),
             r->match == UPOL_M_PATTERN ? r->pattern : ctl_name_str(r->name, nb));
    if (r->ntypes == 0) {
        snprintf(types, ycap, "any");
        return;
    }
    size_t o = 0;
    types[0] = 0;
    for (unsigned i = 0; i < r->ntypes && o < ycap; i++) {
        char tb[32];
        o += (size_t)snprintf(types + o, ycap - o, "%s%s", i ? "," : "",
                              zf_type_str(r->types[i], tb, sizeof(tb)));
    }
}

static int parse_types(const char *arg, upol_rule_t *r)
{
    if (strcasecmp(arg, "any") == 0) {
        r->ntypes = 0;
        return CTL_OK;
    }
    char *copy = strdup(arg), *save = NULL;
    int rc = CTL_OK;
    r->ntypes = 0;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        diag_t d = {0};
        uint16_t type;
        if (zf_type_parse(t, &type, &d) != 0) {
            rc = ctl_err("types: %s", d.text);
            break;
        }
        if (r->ntypes == UPOL_TYPES_MAX) {
            rc = ctl_err("types: at most %d types (or \"any\")", UPOL_TYPES_MAX);
            break;
        }
        r->types[r->ntypes++] = type;
    }
    if (rc == CTL_OK && r->ntypes == 0) {
        rc = ctl_err("types: give a list such as TXT or A,AAAA, or \"any\"");
    }
    free(copy);
    return rc;
}

/* a pattern: lower case; relative (no final "." or "*") takes the zone, as names do */
static int parse_pattern(const char *arg, const uint8_t *apex, upol_rule_t *r)
{
    char zn[CTL_NAME_STR_MAX];
    size_t n = strlen(arg);
    if (n == 0) {
        return ctl_err("pattern: empty");
    }
    ctl_name_str(apex, zn);
    int w = (arg[n - 1] == '.' || arg[n - 1] == '*')
                ? snprintf(r->pattern, sizeof(r->pattern), "%s", arg)
                : snprintf(r->pattern, sizeof(r->pattern), "%s.%s", arg, zn);
    if (w < 0 || (size_t)w >= sizeof(r->pattern)) {
        return ctl_err("pattern \"%s\": longer than %d characters", arg, UPOL_PATTERN_MAX);
    }
    for (char *p = r->pattern; *p; p++) {
        if (*p >= 'A' && *p <= 'Z') {
            *p = (char)(*p - 'A' + 'a');
        }
    }
    return CTL_OK;
}

static int policy_add(const ctl_t *c, int argc, char **argv)
{
    zs_store_t *s = NULL;
    zw_t w = {0};
    zw_zone_t z;
    upol_rule_t r;
    diag_t d = {0};
    int rc = CTL_FAIL, err;
    const char *key = NULL, *addr = NULL, *mword = NULL, *marg = NULL, *types = NULL;
    const char *region = NULL;

    memset(&r, 0, sizeof(r));
    for (int i = 0; i < argc; i += 2) {
        const char *k = argv[i];
        const char **slot = strcmp(k, "key") == 0 ? &key
                            : strcmp(k, "address") == 0 ? &addr
                            : strcmp(k, "types") == 0 ? &types
                            : strcmp(k, "region") == 0 ? &region
                            : (strcmp(k, "name") == 0 || strcmp(k, "subdomain") == 0 ||
                               strcmp(k, "pattern") == 0) ? &marg
                            : NULL;
        if (!slot) {
            return ctl_usage("zone policy add: unknown word \"%s\" (usage: %s)", k, policy_usage);
        }
        if (i + 1 >= argc) {
            return ctl_usage("zone policy add: \"%s\" needs a value", k);
        }
        if (*slot) {
            return ctl_usage("zone policy add: \"%s\" given twice%s", k,
                             slot == &marg ? " (one of name, subdomain, pattern)" : "");
        }
        *slot = argv[i + 1];
        if (slot == &marg) {
            mword = k;
        }
    }
    if (!key && !addr) {
        return ctl_usage("zone policy add: say who: key KEY and/or address CIDR");
    }
    if (!marg) {
        return ctl_usage("zone policy add: say which names: name NAME, subdomain NAME or "
                         "pattern GLOB");
    }
    if (ctl_write_begin(c, false, &s, &w) != CTL_OK) {
        goto out;
    }
    if (ctl_zone_get(s, w.txn, c->argv[0], &z) != CTL_OK) {
        goto out;
    }
    if (key) {
        tsig_key_t tk;
        if (zf_name_parse(key, (const uint8_t *)"", r.key, &d) < 0) {
            ctl_err("key \"%s\": %s", key, d.text);
            goto out;
        }
        dname_lower(r.key);
        err = tsig_key_get(s, w.txn, r.key, &tk);
        memset(&tk, 0, sizeof(tk));
        if (err == DNSD_ENOTFOUND) {
            ctl_err("no such TSIG key: %s (add it with `dnsctl tsig add`)", key);
            goto out;
        }
        if (err) {
            ctl_err("key %s: %s", key, dnsd_strerror(err));
            goto out;
        }
        r.flags |= UPOL_F_KEY;
    }
    if (addr) {
        if (zs_cidr_parse(addr, &r.addr) != 0) {
            ctl_err("address \"%s\": not an address or network (10.0.0.0/8, 2001:db8::/32; "
                    "bits past the prefix must be 0)", addr);
            goto out;
        }
        r.flags |= UPOL_F_ADDR;
    }
    if (strcmp(mword, "pattern") == 0) {
        r.match = UPOL_M_PATTERN;
        if (parse_pattern(marg, z.apex, &r) != CTL_OK) {
            goto out;
        }
    } else {
        r.match = strcmp(mword, "name") == 0 ? UPOL_M_NAME : UPOL_M_SUBDOMAIN;
        if (zf_name_parse(marg, z.apex, r.name, &d) < 0) {
            ctl_err("%s \"%s\": %s", mword, marg, d.text);
            goto out;
        }
        dname_lower(r.name);
        if (!dname_is_sub(r.name, z.apex)) {
            char nb[CTL_NAME_STR_MAX], zb[CTL_NAME_STR_MAX];
            ctl_err("%s %s is outside zone %s", mword, ctl_name_str(r.name, nb),
                    ctl_name_str(z.apex, zb));
            goto out;
        }
    }
    if (types && parse_types(types, &r) != CTL_OK) {
        goto out;
    }
    if (region && strcmp(region, "default") != 0) {
        uint16_t id;
        if (ctl_region_get(s, w.txn, region, &id) != CTL_OK) {
            goto out;
        }
        snprintf(r.region, sizeof(r.region), "%s", region);
    }
    if ((err = upol_add(s, w.txn, z.id, z.apex, &r)) != 0) {
        ctl_err("cannot add the rule: %s", dnsd_strerror(err));
        goto out;
    }
    if (ctl_commit(&w, "policy") != CTL_OK) {
        goto out;
    }
    char who[600], what[1100], ty[400];
    rule_text(&r, who, sizeof(who), what, sizeof(what), ty, sizeof(ty));
    printf("added rule %u: %s %s types %s%s%s\n", r.id, who, what, ty,
           r.region[0] ? " region " : "", r.region);
    rc = CTL_OK;
out:
    zw_abort(&w);
    zs_close(s);
    return rc;
}

static int policy_del(const ctl_t *c, const char *id_arg)
{
    zs_store_t *s = NULL;
    zw_t w = {0};
    zw_zone_t z;
    int rc = CTL_FAIL, err;
    char *end;
    unsigned long id = strtoul(id_arg, &end, 10);
    if (!*id_arg || *end || id == 0 || id > UINT32_MAX) {
        return ctl_usage("zone policy del: \"%s\" is not a rule number (see `zone policy ZONE "
                         "list`)", id_arg);
    }
    if (ctl_write_begin(c, false, &s, &w) != CTL_OK ||
        ctl_zone_get(s, w.txn, c->argv[0], &z) != CTL_OK) {
        goto out;
    }
    err = upol_del(s, w.txn, z.id, z.apex, (uint32_t)id);
    if (err == DNSD_ENOTFOUND) {
        ctl_err("zone %s has no rule %lu", c->argv[0], id);
        goto out;
    }
    if (err) {
        ctl_err("cannot delete rule %lu: %s", id, dnsd_strerror(err));
        goto out;
    }
    if (ctl_commit(&w, "policy") != CTL_OK) {
        goto out;
    }
    printf("deleted rule %lu\n", id);
    rc = CTL_OK;
out:
    zw_abort(&w);
    zs_close(s);
    return rc;
}

struct list {
    ctl_table_t t;
    json_t *all;
};

static int list_cb(const upol_rule_t *r, void *arg)
{
    struct list *l = arg;
    char who[600], what[1100], ty[400], id[16];
    rule_text(r, who, sizeof(who), what, sizeof(what), ty, sizeof(ty));
    snprintf(id, sizeof(id), "%u", r->id);
    if (l->all) {
        char nb[CTL_NAME_STR_MAX], cb[64];
        json_t *o = json_object();
        json_object_set_new(o, "id", json_integer(r->id));
        json_object_set_new(o, "key", (r->flags & UPOL_F_KEY)
                                          ? json_string(ctl_name_str(r->key, nb))
                                          : json_null());
        if (r->flags & UPOL_F_ADDR) {
            zs_cidr_str(&r->addr, cb, sizeof(cb));
        }
        json_object_set_new(o, "address", (r->flags & UPOL_F_ADDR) ? json_string(cb)
                                                                     : json_null());
        json_object_set_new(o, "match", json_string(match_word(r->match)));
        json_object_set_new(o, "name", json_string(r->match == UPOL_M_PATTERN
                                                       ? r->pattern
                                                       : ctl_name_str(r->name, nb)));
        json_t *ts = json_array();
        for (unsigned i = 0; i < r->ntypes; i++) {
            char tb[32];
            json_array_append_new(ts, json_string(zf_type_str(r->types[i], tb, sizeof(tb))));
        }
        json_object_set_new(o, "types", r->ntypes ? ts : (json_decref(ts), json_string("any")));
        json_object_set_new(o, "region", json_string(r->region[0] ? r->region : "default"));
        json_array_append_new(l->all, o);
        return 0;
    }
    const char *cells[] = {id, who, what, ty, r->region[0] ? r->region : "default"};
    ctl_table_add(&l->t, cells);
    return 0;
}

static int policy_list(const ctl_t *c)
{
    zs_store_t *s = NULL;
    MDB_txn *txn = NULL;
    zw_zone_t z;
    struct list l = {{0}, NULL};
    int rc = CTL_FAIL;
    ctl_table_init(&l.t, 5);
    const char *head[] = {"ID", "WHO", "NAMES", "TYPES", "REGION"};
    ctl_table_add(&l.t, head);
    if (c->json) {
        l.all = json_array();
    }
    if (ctl_read_begin(c, &s, &txn) != CTL_OK || ctl_zone_get(s, txn, c->argv[0], &z) != CTL_OK) {
        goto out;
    }
    int err = upol_foreach(s, txn, z.id, list_cb, &l);
    if (err) {
        ctl_err("cannot read the update policy: %s", dnsd_strerror(err));
        goto out;
    }
    if (l.all) {
        json_dumpf(l.all, stdout, JSON_INDENT(2));
        printf("\n");
    } else if (l.t.nrows > 1) {
        ctl_table_print(&l.t, stdout);
    } else {
        printf("no update policy: UPDATE to %s is refused\n", c->argv[0]);
    }
    rc = CTL_OK;
out:
    if (txn) {
        mdb_txn_abort(txn);
    }
    zs_close(s);
    json_decref(l.all);
    ctl_table_fini(&l.t);
    return rc;
}

int ctl_zone_policy(ctl_t *c)
{
    if (c->argc < 2) {
        return ctl_usage("usage: zone policy ZONE add|list|del ...");
    }
    const char *verb = c->argv[1];
    if (strcmp(verb, "add") == 0) {
        int rc = ctl_check_args(c, "zone policy add", 0, 3, -1);
        return rc ? rc : policy_add(c, c->argc - 2, c->argv + 2);
    }
    if (strcmp(verb, "list") == 0) {
        int rc = ctl_check_args(c, "zone policy list", CTL_OPT_JSON, 2, 2);
        return rc ? rc : policy_list(c);
    }
    if (strcmp(verb, "del") == 0 || strcmp(verb, "delete") == 0) {
        int rc = ctl_check_args(c, "zone policy del", 0, 3, 3);
        return rc ? rc : policy_del(c, c->argv[2]);
    }
    return ctl_usage("unknown command \"zone policy ZONE %s\" (add, list, del)", verb);
}
