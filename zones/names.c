/* SPDX-License-Identifier: MIT */
/*
 * names.c -- wire names and canonical keys (see names.h for the key format).
 * dname_key_build() is on the per-query path: no allocation, no lock.
 */
#include "zones/names.h"

#include <stdio.h>
#include <string.h>

#include "zones/base/err.h"

static inline uint8_t lc(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
}

int dname_wire_len(const uint8_t *n, size_t max)
{
    size_t off = 0;
    for (;;) {
        if (off >= max) {
            return DNSD_EMALFORMED;
        }
        uint8_t l = n[off];
        if (l & 0xC0) {
            return DNSD_EMALFORMED;
        }
        off += 1u + l;
        if (off > DNAME_MAXLEN) {
            return DNSD_EMALFORMED;
        }
        if (l == 0) {
            return (int)off;
        }
    }
}

bool dname_wire_skip(const uint8_t *m, size_t len, size_t *off)
{
    size_t o = *off;
    for (unsigned i = 0; i < 128; i++) {
        if (o >= len) {
            return false;
        }
        uint8_t l = m[o];
        if ((l & 0xC0) == 0xC0) {
            if (len - o < 2) {
                return false;
            }
            *off = o + 2;
            return true;
        }
        if (l & 0xC0) {
            return false;
        }
        if (l == 0) {
            *off = o + 1;
            return true;
        }
        o += 1u + l;
    }
    return false;
}

int dname_labels(const uint8_t *n)
{
    int c = 0;
    while (*n) {
        c++;
        n += 1 + *n;
    }
    return c;
}

int dname_key_build(const uint8_t *n, dname_key_t *k)
{
    /* label start offsets, leftmost first */
    uint8_t starts[DNAME_MAXLABELS];
    int nl = 0;
    size_t off = 0;
    while (n[off]) {
        starts[nl++] = (uint8_t)off;
        off += 1u + n[off];
    }
    size_t kl = 0;
    k->ends[0] = 0;
    for (int i = nl - 1; i >= 0; i--) {
        const uint8_t *lab = n + starts[i];
        uint8_t ll = lab[0];
        if (kl + (size_t)ll * 2 + 1 > DNAME_KEY_MAX) {
            /* slow check only when escapes could overflow */
            size_t need = 1;
            for (uint8_t j = 1; j <= ll; j++) {
                need += lab[j] <= 1 ? 2 : 1;
            }
            if (kl + need > DNAME_KEY_MAX) {
                /* leave the key of the ancestors that fit: enough to find the zone */
                k->len = (uint16_t)kl;
                k->nlabels = (uint8_t)(nl - 1 - i);
                return DNSD_ELIMIT;
            }
        }
        for (uint8_t j = 1; j <= ll; j++) {
            uint8_t c = lab[j];
            if (c <= 1) {
                k->key[kl++] = 1;
                k->key[kl++] = (uint8_t)(c + 1);
            } else {
                k->key[kl++] = lc(c);
            }
        }
        k->key[kl++] = 0;
        k->ends[nl - i] = (uint16_t)kl;
    }
    k->len = (uint16_t)kl;
    k->nlabels = (uint8_t)nl;
    return 0;
}

int dname_from_key(const uint8_t *key, size_t len, uint8_t *out)
{
    /* collect label spans, root first, then write them leftmost first */
    uint8_t lab[DNAME_MAXLABELS][64];
    uint8_t labl[DNAME_MAXLABELS];
    int nl = 0;
    size_t i = 0, total = 1;
    while (i < len) {
        if (nl >= DNAME_MAXLABELS) {
            return DNSD_ESTORE;
        }
        uint8_t l = 0;
        while (i < len && key[i] != 0) {
            uint8_t c = key[i++];
            if (c == 1) {
                if (i >= len || (key[i] != 1 && key[i] != 2)) {
                    return DNSD_ESTORE;
                }
                c = (uint8_t)(key[i++] - 1);
            }
            if (l >= 63) {
                return DNSD_ESTORE;
            }
            lab[nl][l++] = c;
        }
        if (i >= len || l == 0) { /* missing terminator, or empty label */
            return DNSD_ESTORE;
        }
        i++; /* terminator */
        labl[nl++] = l;
        total += 1u + l;
        if (total > DNAME_MAXLEN) {
            return DNSD_ESTORE;
        }
    }
    size_t o = 0;
    for (int j = nl - 1; j >= 0; j--) {
        out[o++] = labl[j];
        memcpy(out + o, lab[j], labl[j]);
        o += labl[j];
    }
    out[o++] = 0;
    return (int)o;
}

bool dname_eq(const uint8_t *a, const uint8_t *b)
{
    for (;;) {
        if (*a != *b) {
            return false;
        }
        uint8_t l = *a;
        if (l == 0) {
            return true;
        }
        for (uint8_t j = 1; j <= l; j++) {
            if (lc(a[j]) != lc(b[j])) {
                return false;
            }
        }
        a += 1 + l;
        b += 1 + l;
    }
}

bool dname_is_sub(const uint8_t *n, const uint8_t *apex)
{
    int nl = dname_labels(n), al = dname_labels(apex);
    if (nl < al) {
        return false;
    }
    for (int i = 0; i < nl - al; i++) {
        n += 1 + *n;
    }
    return dname_eq(n, apex);
}

void dname_lower(uint8_t *n)
{
    while (*n) {
        uint8_t l = *n;
        for (uint8_t j = 1; j <= l; j++) {
            n[j] = lc(n[j]);
        }
        n += 1 + l;
    }
}

void dname_to_str(const uint8_t *n, char *out, size_t cap)
{
    size_t o = 0;
    if (cap == 0) {
        return;
    }
    if (*n == 0) {
        snprintf(out, cap, ".");
        return;
    }
    while (*n && o + 5 < cap) {
        uint8_t l = *n;
        for (uint8_t j = 1; j <= l && o + 5 < cap; j++) {
            uint8_t c = n[j];
            if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '-' || c == '_' || (c == '*' && l == 1)) {
                out[o++] = (char)c;
            } else if (c == '.' || c == '\\') {
                out[o++] = '\\';
                out[o++] = (char)c;
            } else {
                o += (size_t)snprintf(out + o, cap - o, "\\%03u", c);
            }
        }
        if (o + 1 < cap) {
            out[o++] = '.';
        }
        n += 1 + l;
    }
    out[o < cap ? o : cap - 1] = 0;
}
