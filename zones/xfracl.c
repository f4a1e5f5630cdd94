/* SPDX-License-Identifier: MIT */
/*
 * xfracl.c -- the "xfrout" sub-database: transfer ACLs and NOTIFY targets
 * per zone (see xfracl.h; layout in schema.h). Slow path.
 */
#include "zones/xfracl.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zones/base/err.h"
#include "zones/schema.h"
#include "zones/tsig.h"

#define XACL_FORMAT 1u
#define XACL_ENT_FIXED 22u /* family, prefix, addr[16], port, key_len */

/* A key name as text ("xfr.example.", the final dot optional; letters,
 * digits, '-' and '_' only, as TSIG key names are) to lower-case wire form.
 * @return the wire length, or -1. */
static int name_from_text(const char *t, uint8_t *out)
{
    size_t o = 0, len = strlen(t);
    if (len > 0 && t[len - 1] == '.') {
        len--;
    }
    if (len == 0) {
        return -1;
    }
    size_t i = 0;
    while (i < len) {
        size_t l = 0;
        while (i + l < len && t[i + l] != '.') {
            char ch = t[i + l];
            if (!isalnum((unsigned char)ch) && ch != '-' && ch != '_') {
                return -1;
            }
            l++;
        }
        if (l == 0 || l > 63 || o + 1 + l + 1 > DNAME_MAXLEN) {
            return -1;
        }
        out[o++] = (uint8_t)l;
        for (size_t j = 0; j < l; j++) {
            out[o++] = (uint8_t)tolower((unsigned char)t[i + j]);
        }
        i += l + 1;
    }
    out[o++] = 0;
    return (int)o;
}

/* "key NAME" at @p s: the key's name into @p e. */
static int parse_key(const char *s, xacl_ent_t *e, diag_t *d, const char *text)
{
    while (*s == ' ' || *s == '\t') {
        s++;
    }
    if (strncmp(s, "key", 3) != 0 || (s[3] != ' ' && s[3] != '\t')) {
        diag_set(d, "", 0, "\"%s\": expected \"key NAME\" after the address", text);
        return DNSD_EMALFORMED;
    }
    s += 3;
    while (*s == ' ' || *s == '\t') {
        s++;
    }
    char name[DNAME_MAXLEN * 4 + 2];
    size_t n = strcspn(s, " \t");
    if (n == 0 || n >= sizeof(name) || s[n + strspn(s + n, " \t")] != 0) {
        diag_set(d, "", 0, "\"%s\": expected one key name after \"key\"", text);
        return DNSD_EMALFORMED;
    }
    memcpy(name, s, n);
    name[n] = 0;
    int len = name_from_text(name, e->key);
    if (len <= 1) {
        diag_set(d, "", 0, "\"%s\": \"%s\" is not a key name", text, name);
        return DNSD_EMALFORMED;
    }
    e->key_len = (uint16_t)len;
    return 0;
}

int xacl_parse(xacl_list_t list, const char *text, xacl_ent_t *out, diag_t *d)
{
    memset(out, 0, sizeof(*out));
    const char *s = text;
    while (*s == ' ' || *s == '\t') {
        s++;
    }
    if (list == XACL_TRANSFER && strncmp(s, "key", 3) == 0 && (s[3] == ' ' || s[3] == '\t')) {
        return parse_key(s, out, d, text); /* any address, this key */
    }
    char a[INET6_ADDRSTRLEN + 8];
    size_t n = strcspn(s, " \t");
    if (n == 0 || n >= sizeof(a)) {
        diag_set(d, "", 0, "\"%s\": expected an address%s", text,
                 list == XACL_TRANSFER ? " or \"key NAME\"" : "");
        return DNSD_EMALFORMED;
    }
    memcpy(a, s, n);
    a[n] = 0;
    const char *rest = s + n;
    char *addr = a;
    long port = 53, prefix = -1;
    if (list == XACL_NOTIFY) {
        char *colon = strrchr(a, ':');
        if (a[0] == '[') {
            char *close = strchr(a, ']');
            if (!close || (close[1] != 0 && close[1] != ':')) {
                diag_set(d, "", 0, "\"%s\": write an IPv6 address with a port as [ADDR]:PORT",
                         text);
                return DNSD_EMALFORMED;
            }
            colon = close[1] == ':' ? close + 1 : NULL;
            *close = 0;
            addr = a + 1;
        } else if (colon && strchr(a, ':') != colon) {
            colon = NULL; /* a bare IPv6 address */
        }
        if (colon) {
            *colon = 0;
            char *end;
            port = strtol(colon + 1, &end, 10);
            if (*end || end == colon + 1 || port < 1 || port > 65535) {
                diag_set(d, "", 0, "\"%s\": bad port \"%s\" (1..65535)", text, colon + 1);
                return DNSD_EMALFORMED;
            }
        }
    } else {
        char *slash = strchr(a, '/');
        if (slash) {
            *slash = 0;
            char *end;
            prefix = strtol(slash + 1, &end, 10);
            if (*end || end == slash + 1 || prefix < 0) {
                diag_set(d, "", 0, "\"%s\": bad prefix length \"%s\"", text, slash + 1);
                return DNSD_EMALFORMED;
            }
        }
    }
    if (inet_pton(AF_INET, addr, out->addr) == 1) {
        out->family = AF_INET;
    } else if (inet_pton(AF_INET6, addr, out->addr) == 1) {
        out->family = AF_INET6;
    } else {
        diag_set(d, "", 0, "\"%s\": \"%s\" is not an IPv4 or IPv6 address", text, addr);
        return DNSD_EMALFORMED;
    }
    long max = out->family == AF_INET ? 32 : 128;
    if (prefix > max) {
        diag_set(d, "", 0, "\"%s\": prefix length %ld is longer than %ld", text, prefix, max);
        return DNSD_EMALFORMED;
    }
    out->prefix = (uint8_t)(prefix < 0 ? max : prefix);
    /* bits past the prefix must be zero, as in a route: 10.0.0.1/8 is a typo */
    for (unsigned b = out->prefix; b < (unsigned)max; b++) {
        if (out->addr[b / 8] & (0x80u >> (b % 8))) {
            diag_set(d, "", 0, "\"%s\": address bits set past /%u", text, out->prefix);
            return DNSD_EMALFORMED;
        }
    }
    out->port = list == XACL_NOTIFY ? (uint16_t)port : 0;
    rest += strspn(rest, " \t");
    if (*rest) {
        return parse_key(rest, out, d, text);
    }
    return 0;
}

void xacl_format(xacl_list_t list, const xacl_ent_t *e, char *buf, size_t cap)
{
    char a[INET6_ADDRSTRLEN], key[DNAME_MAXLEN * 4 + 8] = "";
    size_t o = 0;
    if (e->key_len) {
        char kn[DNAME_MAXLEN * 4 + 2];
        dname_to_str(e->key, kn, sizeof(kn));
        snprintf(key, sizeof(key), "%skey %s", e->family ? " " : "", kn);
    }
    buf[0] = 0;
    if (e->family) {
        inet_ntop(e->family, e->addr, a, sizeof(a));
        if (list == XACL_NOTIFY) {
            if (e->family == AF_INET6) {
                o = (size_t)snprintf(buf, cap, "[%s]:%u", a, e->port);
            } else {
                o = (size_t)snprintf(buf, cap, "%s:%u", a, e->port);
            }
        } else if (e->prefix == (e->family == AF_INET ? 32 : 128)) {
            o = (size_t)snprintf(buf, cap, "%s", a);
        } else {
            o = (size_t)snprintf(buf, cap, "%s/%u", a, e->prefix);
        }
    }
    if (o < cap) {
        snprintf(buf + o, cap - o, "%s", key);
    }
}

static void mkkey(uint8_t *k, uint32_t zone_id, xacl_list_t list)
{
    zs_put32(k, zone_id);
    k[4] = (uint8_t)list;
}

int xacl_get(zs_store_t *s, MDB_txn *txn, uint32_t zone_id, xacl_list_t list, xacl_t *out)
{
    out->n = 0;
    if (!s->has_xfrout) {
        return 0;
    }
    uint8_t kb[5];
    mkkey(kb, zone_id, list);
    MDB_val k = {sizeof(kb), kb}, v;
    int rc = mdb_get(txn, s->xfrout, &k, &v);
    if (rc == MDB_NOTFOUND) {
        return 0;
    }
    if (rc) {
        return zs_mdb_err(rc);
    }
    const uint8_t *p = v.mv_data, *end = p + v.mv_size;
    if (v.mv_size < 2 || p[0] != XACL_FORMAT || p[1] > XACL_MAX) {
        return DNSD_ESTORE;
    }
    unsigned n = p[1];
    p += 2;
    for (unsigned i = 0; i < n; i++) {
        xacl_ent_t *e = &out->e[i];
        if (end - p < (ptrdiff_t)XACL_ENT_FIXED) {
            return DNSD_ESTORE;
        }
        e->family = p[0];
        e->prefix = p[1];
        memcpy(e->addr, p + 2, 16);
        e->port = zs_get16(p + 18);
        e->key_len = zs_get16(p + 20);
        p += XACL_ENT_FIXED;
        if (e->key_len > DNAME_MAXLEN || end - p < e->key_len ||
            (e->family != 0 && e->family != AF_INET && e->family != AF_INET6) ||
            e->prefix > (e->family == AF_INET ? 32 : 128)) {
            return DNSD_ESTORE;
        }
        memcpy(e->key, p, e->key_len);
        if (e->key_len && dname_wire_len(e->key, e->key_len) != (int)e->key_len) {
            return DNSD_ESTORE;
        }
        p += e->key_len;
    }
    if (p != end) {
        return DNSD_ESTORE;
    }
    out->n = n;
    return 0;
}

int xacl_put(zs_store_t *s, MDB_txn *txn, uint32_t zone_id, xacl_list_t list, const xacl_t *l)
{
    uint8_t kb[5];
    mkkey(kb, zone_id, list);
    MDB_val k = {sizeof(kb), kb};
    if (l->n == 0) {
        int rc = zs_del(s, txn, s->xfrout, &k);
        return rc == MDB_NOTFOUND ? 0 : zs_mdb_err(rc);
    }
    if (l->n > XACL_MAX) {
        return DNSD_ELIMIT;
    }
    uint8_t buf[2 + XACL_MAX * (XACL_ENT_FIXED + DNAME_MAXLEN + 1)];
    size_t o = 2;
    buf[0] = XACL_FORMAT;
    buf[1] = (uint8_t)l->n;
    for (unsigned i = 0; i < l->n; i++) {
        const xacl_ent_t *e = &l->e[i];
        buf[o] = e->family;
        buf[o + 1] = e->prefix;
        memcpy(buf + o + 2, e->addr, 16);
        zs_put16(buf + o + 18, e->port);
        zs_put16(buf + o + 20, e->key_len);
        memcpy(buf + o + XACL_ENT_FIXED, e->key, e->key_len);
        o += XACL_ENT_FIXED + e->key_len;
    }
    MDB_val v = {o, buf};
    return zs_mdb_err(zs_put(s, txn, s->xfrout, &k, &v, 0));
}

void xacl_ref_label(const uint8_t *apex, char *out, size_t cap)
{
    char zn[DNAME_MAXLEN * 4 + 2];
    dname_to_str(apex, zn, sizeof(zn));
    snprintf(out, cap, "xfrout %s", zn);
}

int xacl_zone_drop(zs_store_t *s, MDB_txn *txn, uint32_t zone_id, const uint8_t *apex)
{
    static const xacl_t none = {0};
    if (!s->has_xfrout) {
        return 0;
    }
    char label[XACL_REF_LABEL_MAX];
    xacl_ref_label(apex, label, sizeof(label));
    const xacl_list_t lists[2] = {XACL_TRANSFER, XACL_NOTIFY};
    for (int k = 0; k < 2; k++) {
        xacl_t l;
        int err = xacl_get(s, txn, zone_id, lists[k], &l);
        for (unsigned i = 0; !err && i < l.n; i++) {
            if (l.e[i].key_len) {
                err = tsig_ref_del(s, txn, l.e[i].key, label);
            }
        }
        if (!err) {
            err = xacl_put(s, txn, zone_id, lists[k], &none);
        }
        if (err) {
            return err;
        }
    }
    return 0;
}

static bool prefix_match(const uint8_t *a, const uint8_t *b, unsigned bits)
{
    unsigned full = bits / 8, rest = bits % 8;
    if (memcmp(a, b, full) != 0) {
        return false;
    }
    if (rest == 0) {
        return true;
    }
    uint8_t mask = (uint8_t)(0xFFu << (8 - rest));
    return (a[full] & mask) == (b[full] & mask);
}

bool xacl_allows(const xacl_t *l, const struct sockaddr *peer, const uint8_t *key)
{
    int fam = peer->sa_family;
    const uint8_t *pa = NULL;
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
    if (fam == AF_INET) {
        pa = (const uint8_t *)&((const struct sockaddr_in *)peer)->sin_addr;
    } else if (fam == AF_INET6) {
        pa = (const uint8_t *)&((const struct sockaddr_in6 *)peer)->sin6_addr;
        if (memcmp(pa, mapped, 12) == 0) {
            fam = AF_INET;
            pa += 12;
        }
    }
    for (unsigned i = 0; i < l->n; i++) {
        const xacl_ent_t *e = &l->e[i];
        if (e->family && (e->family != fam || !pa || !prefix_match(e->addr, pa, e->prefix))) {
            continue;
        }
        if (e->key_len && (!key || !dname_eq(e->key, key))) {
            continue;
        }
        return true;
    }
    return false;
}
