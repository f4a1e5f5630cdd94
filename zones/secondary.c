/* SPDX-License-Identifier: MIT */
/*
 * secondary.c -- the "secondary" sub-database: settings and transfer state
 * of secondary zones (see secondary.h, layout in schema.h). Slow path:
 * dnsctl and dnsd's transfer thread. Values are decoded defensively: a
 * damaged one is DNSD_ESTORE, never trusted.
 */
#include "zones/secondary.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zones/base/err.h"
#include "zones/schema.h"
#include "zones/tsig.h"

#define CONF_FORMAT  1u
#define STATE_FORMAT 1u
#define REC_CONF  0u
#define REC_STATE 1u

int zsec_primary_parse(const char *text, zsec_primary_t *out, diag_t *d)
{
    char host[INET6_ADDRSTRLEN + 1];
    const char *port = NULL;
    size_t hl;
    memset(out, 0, sizeof(*out));
    out->port = ZSEC_PORT_DEFAULT;
    if (text[0] == '[') {
        const char *e = strchr(text, ']');
        if (!e) {
            diag_set(d, "", 0, "primary \"%s\": no ']' after the IPv6 address", text);
            return DNSD_EMALFORMED;
        }
        hl = (size_t)(e - text - 1);
        if (hl >= sizeof(host)) {
            goto bad;
        }
        memcpy(host, text + 1, hl);
        host[hl] = 0;
        if (e[1] == ':') {
            port = e + 2;
        } else if (e[1]) {
            goto bad;
        }
    } else {
        const char *c = strchr(text, ':');
        if (c && strchr(c + 1, ':')) {
            c = NULL; /* a bare IPv6 address: no port */
        }
        hl = c ? (size_t)(c - text) : strlen(text);
        if (hl >= sizeof(host)) {
            goto bad;
        }
        memcpy(host, text, hl);
        host[hl] = 0;
        if (c) {
            port = c + 1;
        }
    }
    if (inet_pton(AF_INET, host, out->addr) == 1) {
        out->family = 4;
    } else if (inet_pton(AF_INET6, host, out->addr) == 1) {
        out->family = 6;
    } else {
        diag_set(d, "", 0, "primary \"%s\": \"%s\" is not an IPv4 or IPv6 address", text, host);
        return DNSD_EMALFORMED;
    }
    if (port) {
        char *end;
        unsigned long v = strtoul(port, &end, 10);
        if (!*port || *end || v == 0 || v > 65535) {
            diag_set(d, "", 0, "primary \"%s\": bad port \"%s\" (1..65535)", text, port);
            return DNSD_EMALFORMED;
        }
        out->port = (uint16_t)v;
    }
    return 0;
bad:
    diag_set(d, "", 0, "primary \"%s\": not ADDR, ADDR:PORT or [IPV6]:PORT", text);
    return DNSD_EMALFORMED;
}

const char *zsec_primary_str(const zsec_primary_t *p, char *buf, size_t cap)
{
    char a[INET6_ADDRSTRLEN];
    if (!inet_ntop(p->family == 4 ? AF_INET : AF_INET6, p->addr, a, sizeof(a))) {
        snprintf(a, sizeof(a), "?");
    }
    snprintf(buf, cap, p->family == 4 ? "%s:%u" : "[%s]:%u", a, p->port);
    return buf;
}

static void rec_key(uint8_t *kb, uint32_t zone_id, uint8_t rec)
{
    zs_put32(kb, zone_id);
    kb[4] = rec;
}

static int rec_get(zs_store_t *s, MDB_txn *txn, uint32_t zone_id, uint8_t rec, MDB_val *val)
{
    if (!s->has_secondary) {
        return DNSD_ENOTFOUND;
    }
    uint8_t kb[5];
    rec_key(kb, zone_id, rec);
    MDB_val key = {sizeof(kb), kb};
    int rc = mdb_get(txn, s->secondary, &key, val);
    return rc == MDB_NOTFOUND ? DNSD_ENOTFOUND : zs_mdb_err(rc);
}

static int rec_put(zs_store_t *s, MDB_txn *txn, uint32_t zone_id, uint8_t rec, const uint8_t *v,
                   size_t len)
{
    if (!s->has_secondary) {
        return DNSD_ESTORE; /* a read-only open of an old store: nothing to write into */
    }
    uint8_t kb[5];
    rec_key(kb, zone_id, rec);
    MDB_val key = {sizeof(kb), kb}, val = {len, (void *)v};
    return zs_mdb_err(zs_put(s, txn, s->secondary, &key, &val, 0));
}

static int conf_decode(const uint8_t *v, size_t len, zsec_conf_t *out)
{
    memset(out, 0, sizeof(*out));
    if (len < 3 || v[0] != CONF_FORMAT || v[1] == 0 || v[1] > ZSEC_PRIMARY_MAX) {
        return DNSD_ESTORE;
    }
    size_t off = 2;
    out->nprimaries = v[1];
    for (unsigned i = 0; i < out->nprimaries; i++) {
        if (len - off < 19 || (v[off] != 4 && v[off] != 6)) {
            return DNSD_ESTORE;
        }
        out->primary[i].family = v[off];
        memcpy(out->primary[i].addr, v + off + 1, 16);
        out->primary[i].port = zs_get16(v + off + 17);
        off += 19;
    }
    if (len - off < 1) {
        return DNSD_ESTORE;
    }
    size_t kl = v[off++];
    if (kl != len - off || kl > sizeof(out->key) ||
        (kl && dname_wire_len(v + off, kl) != (int)kl)) {
        return DNSD_ESTORE;
    }
    memcpy(out->key, v + off, kl);
    out->key_len = (uint16_t)kl;
    return 0;
}

int zsec_conf_get(zs_store_t *s, MDB_txn *txn, uint32_t zone_id, zsec_conf_t *out)
{
    MDB_val val;
    int err = rec_get(s, txn, zone_id, REC_CONF, &val);
    if (err) {
        memset(out, 0, sizeof(*out));
        return err;
    }
    return conf_decode(val.mv_data, val.mv_size, out);
}

int zsec_conf_put(zs_store_t *s, MDB_txn *txn, uint32_t zone_id, const zsec_conf_t *c)
{
    uint8_t v[2 + ZSEC_PRIMARY_MAX * 19 + 1 + DNAME_MAXLEN + 1];
    size_t kl = c->key_len;
    if (c->nprimaries == 0 || c->nprimaries > ZSEC_PRIMARY_MAX || kl > sizeof(c->key) ||
        (kl && dname_wire_len(c->key, kl) != (int)kl)) {
        return DNSD_EMALFORMED;
    }
    size_t off = 0;
    v[off++] = CONF_FORMAT;
    v[off++] = (uint8_t)c->nprimaries;
    for (unsigned i = 0; i < c->nprimaries; i++) {
        v[off] = c->primary[i].family;
        memcpy(v + off + 1, c->primary[i].addr, 16);
        zs_put16(v + off + 17, c->primary[i].port);
        off += 19;
    }
    v[off++] = (uint8_t)kl;
    memcpy(v + off, c->key, kl);
    off += kl;
    return rec_put(s, txn, zone_id, REC_CONF, v, off);
}

#define STATE_FIXED (1 + 1 + 4 + 8 * 4 + 1 + 1)

int zsec_state_get(zs_store_t *s, MDB_txn *txn, uint32_t zone_id, zsec_state_t *out)
{
    memset(out, 0, sizeof(*out));
    MDB_val val;
    int err = rec_get(s, txn, zone_id, REC_STATE, &val);
    if (err) {
        return err;
    }
    const uint8_t *v = val.mv_data;
    if (val.mv_size < STATE_FIXED || v[0] != STATE_FORMAT ||
        val.mv_size != STATE_FIXED + (size_t)v[STATE_FIXED - 1] ||
        v[STATE_FIXED - 1] >= ZSEC_ERROR_MAX) {
        return DNSD_ESTORE;
    }
    out->has_serial = v[1] & 1u;
    out->serial = zs_get32(v + 2);
    out->last_ok = zs_get64(v + 6);
    out->last_try = zs_get64(v + 14);
    out->next = zs_get64(v + 22);
    out->expire_at = zs_get64(v + 30);
    out->kind = v[38];
    size_t el = v[39];
    memcpy(out->error, v + STATE_FIXED, el);
    out->error[el] = 0;
    return 0;
}

int zsec_state_put(zs_store_t *s, MDB_txn *txn, uint32_t zone_id, const zsec_state_t *st)
{
    uint8_t v[STATE_FIXED + ZSEC_ERROR_MAX];
    size_t el = strnlen(st->error, ZSEC_ERROR_MAX - 1);
    v[0] = STATE_FORMAT;
    v[1] = st->has_serial ? 1u : 0u;
    zs_put32(v + 2, st->serial);
    zs_put64(v + 6, st->last_ok);
    zs_put64(v + 14, st->last_try);
    zs_put64(v + 22, st->next);
    zs_put64(v + 30, st->expire_at);
    v[38] = st->kind;
    v[39] = (uint8_t)el;
    memcpy(v + STATE_FIXED, st->error, el);
    return rec_put(s, txn, zone_id, REC_STATE, v, STATE_FIXED + el);
}

void zsec_ref_label(uint32_t zone_id, const uint8_t *apex, char *buf, size_t cap)
{
    char name[4 * 255 + 2];
    dname_to_str(apex, name, sizeof(name));
    if (strlen(name) + 6 < TSIG_REF_MAX && strlen(name) + 6 < cap) {
        snprintf(buf, cap, "xfrin %s", name);
    } else {
        snprintf(buf, cap, "xfrin zone-id %u", zone_id);
    }
}

int zsec_zone_drop(zs_store_t *s, MDB_txn *txn, uint32_t zone_id, const uint8_t *apex)
{
    if (!s->has_secondary) {
        return 0;
    }
    zsec_conf_t c;
    if (zsec_conf_get(s, txn, zone_id, &c) == 0 && c.key_len) {
        char label[TSIG_REF_MAX];
        zsec_ref_label(zone_id, apex, label, sizeof(label));
        int err = tsig_ref_del(s, txn, c.key, label);
        if (err) {
            return err;
        }
    }
    for (uint8_t rec = REC_CONF; rec <= REC_STATE; rec++) {
        uint8_t kb[5];
        rec_key(kb, zone_id, rec);
        MDB_val key = {sizeof(kb), kb};
        int rc = zs_del(s, txn, s->secondary, &key);
        if (rc && rc != MDB_NOTFOUND) {
            return zs_mdb_err(rc);
        }
    }
    return 0;
}

int zsec_foreach(zs_store_t *s, MDB_txn *txn, zsec_cb cb, void *arg)
{
    if (!s->has_secondary) {
        return 0;
    }
    MDB_cursor *c;
    int rc = mdb_cursor_open(txn, s->secondary, &c);
    if (rc) {
        return zs_mdb_err(rc);
    }
    MDB_val key, val;
    int err = 0;
    rc = mdb_cursor_get(c, &key, &val, MDB_FIRST);
    while (rc == 0) {
        const uint8_t *k = key.mv_data;
        if (key.mv_size != 5) {
            err = DNSD_ESTORE;
            break;
        }
        if (k[4] == REC_CONF) {
            zsec_conf_t conf;
            if ((err = conf_decode(val.mv_data, val.mv_size, &conf)) != 0 ||
                (err = cb(zs_get32(k), &conf, arg)) != 0) {
                break;
            }
        }
        rc = mdb_cursor_get(c, &key, &val, MDB_NEXT);
    }
    mdb_cursor_close(c);
    if (err) {
        return err;
    }
    return rc == 0 || rc == MDB_NOTFOUND ? 0 : zs_mdb_err(rc);
}
