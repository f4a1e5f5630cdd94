/* SPDX-License-Identifier: MIT */
/*
 * rollout_share.c -- the evidence batches nodes exchange through etcd
 * (acme/rollout_share.h): encoding, and a decoder that takes nothing on
 * trust (another node, or anyone who can write to etcd, made the value).
 */
#include "acme/rollout_share.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *rsh_encode(const rsh_batch_t *b, size_t *len)
{
    json_t *s = json_array();
    for (size_t i = 0; i < b->n && i < RSH_MAX; i++) {
        const rsh_entry_t *e = &b->e[i];
        json_array_append_new(s, json_pack("[I, i, i, I, i, i, s, s]", (json_int_t)e->seq,
                                           (int)e->pool, e->s.ok ? 1 : 0, (json_int_t)e->s.hs_us,
                                           (int)e->s.proto, (int)e->s.source, e->s.serial,
                                           e->s.ok ? "" : e->s.err));
    }
    json_t *o = json_pack("{s:i, s:I, s:s, s:o}", "v", 1, "epoch", (json_int_t)b->epoch, "cand",
                          b->cand, "s", s);
    char *out = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    *len = out ? strlen(out) : 0;
    return out;
}

static int bad(rsh_batch_t *b, char *why, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int bad(rsh_batch_t *b, char *why, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, cap, fmt, ap);
    va_end(ap);
    b->n = 0;
    return -1;
}

/* upper-case hex of at most cap-1 characters (empty allowed when @p empty) */
static bool hex_ok(const char *s, size_t cap, bool empty)
{
    size_t n = strlen(s);
    if (n >= cap || (!empty && n == 0)) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'A' && s[i] <= 'F'))) {
            return false;
        }
    }
    return true;
}

/* an integer member in [lo, hi] */
static bool int_in(json_t *v, json_int_t lo, json_int_t hi, json_int_t *out)
{
    if (!json_is_integer(v)) {
        return false;
    }
    json_int_t x = json_integer_value(v);
    if (x < lo || x > hi) {
        return false;
    }
    *out = x;
    return true;
}

int rsh_decode(const void *buf, size_t len, rsh_batch_t *b, char *why, size_t whycap)
{
    b->n = 0;
    b->epoch = 0;
    b->cand[0] = 0;
    if (len > RSH_VALUE_MAX) {
        return bad(b, why, whycap, "evidence batch of %zu bytes (at most %d)", len,
                   RSH_VALUE_MAX);
    }
    json_error_t je;
    json_t *o = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
    if (!json_is_object(o)) {
        json_decref(o);
        return bad(b, why, whycap, "evidence batch: not a JSON object");
    }
    int rc = -1;
    json_int_t x;
    json_t *s = json_object_get(o, "s");
    const char *cand = json_string_value(json_object_get(o, "cand"));
    if (!int_in(json_object_get(o, "v"), 1, 1, &x)) {
        bad(b, why, whycap, "evidence batch: \"v\" is not 1");
    } else if (!int_in(json_object_get(o, "epoch"), 1, INT64_MAX, &x)) {
        bad(b, why, whycap, "evidence batch: \"epoch\" is not a positive integer");
    } else if (!cand || !hex_ok(cand, sizeof(b->cand), false)) {
        bad(b, why, whycap, "evidence batch: \"cand\" is not a serial in upper-case hex");
    } else if (!json_is_array(s) || json_array_size(s) > RSH_MAX) {
        bad(b, why, whycap, "evidence batch: \"s\" is not an array of at most %d samples",
            RSH_MAX);
    } else {
        b->epoch = (uint64_t)x;
        snprintf(b->cand, sizeof(b->cand), "%s", cand);
        rc = 0;
        uint64_t last = 0;
        for (size_t i = 0; i < json_array_size(s) && rc == 0; i++) {
            json_t *a = json_array_get(s, i);
            rsh_entry_t *e = &b->e[i];
            memset(e, 0, sizeof(*e));
            json_int_t seq, pool, ok, us, proto, src;
            const char *ser = json_string_value(json_array_get(a, 6));
            const char *err = json_string_value(json_array_get(a, 7));
            if (!json_is_array(a) || json_array_size(a) != 8) {
                rc = bad(b, why, whycap, "evidence batch: sample %zu is not an array of 8", i);
            } else if (!int_in(json_array_get(a, 0), (json_int_t)last + 1, INT64_MAX, &seq)) {
                rc = bad(b, why, whycap,
                         "evidence batch: sample %zu: seq not above the previous one", i);
            } else if (!int_in(json_array_get(a, 1), 0, 1, &pool) ||
                       !int_in(json_array_get(a, 2), 0, 1, &ok) ||
                       !int_in(json_array_get(a, 3), 0, UINT32_MAX, &us) ||
                       !int_in(json_array_get(a, 4), REV_TLS_UNKNOWN, REV_TLS13, &proto) ||
                       !int_in(json_array_get(a, 5), REV_SRC_SYSLOG, REV_SRC_PROBE, &src)) {
                rc = bad(b, why, whycap,
                         "evidence batch: sample %zu: pool, ok, hs_us, proto or source out of "
                         "range",
                         i);
            } else if (!ser || !hex_ok(ser, sizeof(e->s.serial), true)) {
                rc = bad(b, why, whycap,
                         "evidence batch: sample %zu: serial is not upper-case hex", i);
            } else if (!err || strlen(err) >= sizeof(e->s.err) || (err[0] == 0) != (ok == 1)) {
                rc = bad(b, why, whycap,
                         "evidence batch: sample %zu: err must be a text under %zu bytes, "
                         "empty exactly when ok",
                         i, sizeof(e->s.err));
            } else {
                for (const char *c = err; *c; c++) {
                    if ((unsigned char)*c < 0x20 || (unsigned char)*c == 0x7f) {
                        rc = bad(b, why, whycap,
                                 "evidence batch: sample %zu: err holds a control byte", i);
                        break;
                    }
                }
                if (rc == 0) {
                    last = (uint64_t)seq;
                    e->seq = (uint64_t)seq;
                    e->pool = (uint8_t)pool;
                    e->s.ok = ok == 1;
                    e->s.hs_us = (uint32_t)us;
                    e->s.proto = (uint8_t)proto;
                    e->s.source = (uint8_t)src;
                    snprintf(e->s.serial, sizeof(e->s.serial), "%s", ser);
                    snprintf(e->s.err, sizeof(e->s.err), "%s", err);
                    b->n = i + 1;
                }
            }
        }
    }
    json_decref(o);
    return rc;
}
