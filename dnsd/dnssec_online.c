/* SPDX-License-Identifier: MIT */
/*
 * dnssec_online.c -- online NSECs for signed zones (see dnssec_online.h).
 * Hot: no lock, no log; allocates only inside OpenSSL on a cache miss and
 * when a worker (re)loads a zone's keys.
 */
#include "dnsd/dnssec_online.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dnsd/pkt.h"
#include "zones/base/err.h"

/* ---- the builder (pure) ---- */

static inline uint8_t lc(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
}

/* A copy of wire name @p n in lower case; @return its length. */
static size_t copy_lower(const uint8_t *n, size_t len, uint8_t *out)
{
    memcpy(out, n, len);
    dname_lower(out);
    return len;
}

/*
 * RFC 4470 3: a name just before @p n (length @p len, lower case) that no
 * real name of the zone sits between: the leftmost label's last octet
 * decremented (past the upper-case letters, which sort as lower case), the
 * label then filled with 0xFF octets to 63. A label ending in 0x00 loses it
 * and gets a child label of 63 x 0xFF ("a\000.x" -> "\255...\255.a.x").
 * @return the length written to @p out, or DNSD_EMALFORMED (no such name).
 */
static int predecessor(const uint8_t *n, size_t len, uint8_t *out)
{
    uint8_t l = n[0];
    if (l == 0) {
        return DNSD_EMALFORMED; /* the root */
    }
    const uint8_t *rest = n + 1 + l;
    size_t rest_len = len - 1 - l;
    uint8_t lab[64];
    memcpy(lab, n + 1, l);
    size_t o = 0;
    if (lab[l - 1] == 0) {
        if (l == 1 || len + 63 > DNAME_MAXLEN) {
            return DNSD_EMALFORMED; /* its predecessor is its parent, which exists */
        }
        out[o++] = 63;
        memset(out + o, 0xFF, 63);
        o += 63;
        out[o++] = (uint8_t)(l - 1);
        memcpy(out + o, lab, (size_t)l - 1);
        o += (size_t)l - 1;
    } else {
        lab[l - 1]--;
        if (lab[l - 1] >= 'A' && lab[l - 1] <= 'Z') {
            lab[l - 1] = 'A' - 1;
        }
        size_t fill = 63 - l;
        if (len + fill > DNAME_MAXLEN) {
            fill = DNAME_MAXLEN - len;
        }
        out[o++] = (uint8_t)(l + fill);
        memcpy(out + o, lab, l);
        o += l;
        memset(out + o, 0xFF, fill);
        o += fill;
    }
    memcpy(out + o, rest, rest_len);
    return (int)(o + rest_len);
}

/*
 * RFC 4470 3: a name just after @p n that is not below it: the leftmost
 * label with an 0x00 octet added; a label of 63 octets (or a name of 255)
 * has its last octet below 0xFF incremented (past the upper-case letters)
 * and what follows it dropped. @return the length, or DNSD_EMALFORMED.
 */
static int successor(const uint8_t *n, size_t len, uint8_t *out)
{
    uint8_t l = n[0];
    if (l == 0) {
        return DNSD_EMALFORMED;
    }
    const uint8_t *rest = n + 1 + l;
    size_t rest_len = len - 1 - l;
    size_t o = 1;
    if (l < 63 && len < DNAME_MAXLEN) {
        memcpy(out + 1, n + 1, l);
        out[1 + l] = 0;
        out[0] = (uint8_t)(l + 1);
        o += (size_t)l + 1;
    } else {
        int i = l - 1;
        while (i >= 0 && n[1 + i] == 0xFF) {
            i--;
        }
        if (i < 0) {
            return DNSD_EMALFORMED;
        }
        memcpy(out + 1, n + 1, (size_t)i + 1);
        out[1 + i]++;
        if (out[1 + i] >= 'A' && out[1 + i] <= 'Z') {
            out[1 + i] = 'Z' + 1;
        }
        out[0] = (uint8_t)(i + 1);
        o += (size_t)i + 1;
    }
    memcpy(out + o, rest, rest_len);
    return (int)(o + rest_len);
}

static int cmp_u16(const void *a, const void *b)
{
    uint16_t x = *(const uint16_t *)a, y = *(const uint16_t *)b;
    return (x > y) - (x < y);
}

/* RFC 4034 4.1.2: the type bitmap of @p t (@p n types, sorted, unique). */
static int put_bitmap(const uint16_t *t, int n, uint8_t *out, size_t cap)
{
    size_t o = 0;
    for (int i = 0; i < n;) {
        uint8_t win = (uint8_t)(t[i] >> 8);
        uint8_t bits[32];
        memset(bits, 0, sizeof(bits));
        int len = 0;
        for (; i < n && (t[i] >> 8) == win; i++) {
            uint8_t lo = (uint8_t)t[i];
            bits[lo / 8] |= (uint8_t)(0x80u >> (lo % 8));
            len = lo / 8 + 1;
        }
        if (cap - o < 2u + (size_t)len) {
            return DNSD_ESPACE;
        }
        out[o++] = win;
        out[o++] = (uint8_t)len;
        memcpy(out + o, bits, (size_t)len);
        o += (size_t)len;
    }
    return (int)o;
}

int don_build(don_kind_t kind, const uint8_t *name, const uint16_t *types, int ntypes,
              uint8_t *owner, uint8_t *rd, size_t cap)
{
    int nl = dname_wire_len(name, DNAME_MAXLEN + 1);
    if (nl < 0) {
        return DNSD_EMALFORMED;
    }
    uint8_t low[DNAME_MAXLEN + 1], next[DNAME_MAXLEN + 1];
    size_t len = copy_lower(name, (size_t)nl, low);
    uint16_t t[DON_TYPES_MAX];
    int nt = 0;
    int next_len;
    switch (kind) {
    case DON_NODATA:
    case DON_CUT:
        for (int i = 0; i < ntypes && nt < DON_TYPES_MAX - 2; i++) {
            /* types the NSEC itself stands for, or meta-types, are never listed */
            if (types[i] == DNS_T_RRSIG || types[i] == DNS_T_NSEC ||
                types[i] == DON_T_NXNAME || (types[i] >= 128 && types[i] <= 255)) {
                continue;
            }
            if (kind == DON_CUT && types[i] != DNS_T_NS && types[i] != DNS_T_DS) {
                continue; /* RFC 4035 2.3: the cut's own types only */
            }
            t[nt++] = types[i];
        }
        /* fallthrough */
    case DON_NXNAME:
        if (kind == DON_NXNAME) {
            t[nt++] = DON_T_NXNAME;
        }
        memcpy(owner, low, len);
        if (len + 2 <= DNAME_MAXLEN) {
            next[0] = 1; /* "\000.name": the next name of RFC 9824 */
            next[1] = 0;
            memcpy(next + 2, low, len);
            next_len = (int)len + 2;
        } else {
            next_len = successor(low, len, next);
        }
        break;
    case DON_COVER:
        next_len = successor(low, len, next);
        if (next_len < 0) {
            return next_len;
        }
        if (predecessor(low, len, owner) < 0) {
            return DNSD_EMALFORMED;
        }
        break;
    default:
        return DNSD_EMALFORMED;
    }
    if (next_len < 0) {
        return next_len;
    }
    t[nt++] = DNS_T_RRSIG;
    t[nt++] = DNS_T_NSEC;
    qsort(t, (size_t)nt, sizeof(t[0]), cmp_u16);
    int u = 0;
    for (int i = 0; i < nt; i++) {
        if (u == 0 || t[u - 1] != t[i]) {
            t[u++] = t[i];
        }
    }
    if (cap < (size_t)next_len) {
        return DNSD_ESPACE;
    }
    memcpy(rd, next, (size_t)next_len);
    int bl = put_bitmap(t, u, rd + next_len, cap - (size_t)next_len);
    if (bl < 0) {
        return bl;
    }
    return next_len + bl;
}

/* ---- keys and the cache ---- */

typedef struct don_zone {
    bool used;
    uint32_t zone_id;
    uint64_t gen;        /* the meta "dnssec_gen" its keys were loaded at */
    int nsg;
    zd_signer_t *sg[DON_KEYS_MAX];
    uint32_t key_id[DON_KEYS_MAX];
} don_zone_t;

typedef struct don_slot {
    uint64_t h;
    uint32_t hour;       /* hours since the epoch the signature is for; 0: empty */
    uint32_t used;       /* replacement age */
    uint16_t klen, slen;
    uint8_t key[DON_KEY_MAX];
    uint8_t sig[ZD_RRSIG_MAX];
} don_slot_t;

struct don {
    uint64_t seed;
    uint32_t tick;
    unsigned next_zone;  /* round-robin replacement when the zone table is full */
    don_zone_t zones[DON_ZONES_MAX];
    don_slot_t *slots;   /* DON_CACHE_SLOTS */
    uint8_t scratch[2 * (2 + DON_RDATA_MAX) + 1024];
};

don_t *don_new(void)
{
    don_t *d = calloc(1, sizeof(*d));
    if (!d) {
        return NULL;
    }
    d->slots = calloc(DON_CACHE_SLOTS, sizeof(*d->slots));
    if (!d->slots) {
        free(d);
        return NULL;
    }
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    d->seed = (uint64_t)ts.tv_nsec * 0x9E3779B97F4A7C15ull ^ (uint64_t)(uintptr_t)d;
    return d;
}

static void zone_drop(don_zone_t *z)
{
    for (int i = 0; i < z->nsg; i++) {
        zd_signer_free(z->sg[i]);
    }
    memset(z, 0, sizeof(*z));
}

void don_free(don_t *d)
{
    if (!d) {
        return;
    }
    for (int i = 0; i < DON_ZONES_MAX; i++) {
        zone_drop(&d->zones[i]);
    }
    free(d->slots);
    free(d);
}

void don_window(uint64_t now, uint32_t *inception, uint32_t *expiration)
{
    uint64_t hour = now - now % 3600;
    *inception = (uint32_t)(hour - 3600);
    *expiration = (uint32_t)(hour + 2 * 86400);
}

/* The zone's parsed keys, loaded (again) when the key generation moved. */
static int zone_keys(don_t *d, zr_t *r, const zs_zone_t *z, don_zone_t **out)
{
    uint64_t gen = 0;
    int err = zs_meta_u64(r->s, r->txn, ZD_META_GEN, &gen);
    if (err) {
        return err;
    }
    don_zone_t *slot = NULL, *free_slot = NULL;
    for (int i = 0; i < DON_ZONES_MAX; i++) {
        if (d->zones[i].used && d->zones[i].zone_id == z->id) {
            slot = &d->zones[i];
            break;
        }
        if (!d->zones[i].used && !free_slot) {
            free_slot = &d->zones[i];
        }
    }
    if (slot && slot->gen == gen) {
        *out = slot;
        return 0;
    }
    if (!slot) {
        slot = free_slot ? free_slot : &d->zones[d->next_zone++ % DON_ZONES_MAX];
    }
    zone_drop(slot);
    zd_key_t keys[DON_KEYS_MAX];
    int n = zd_keys_load(r->s, r->txn, z->id, keys, DON_KEYS_MAX);
    if (n < 0) {
        return n;
    }
    slot->used = true;
    slot->zone_id = z->id;
    slot->gen = gen;
    for (int i = 0; i < n; i++) {
        err = zd_signer_new(&keys[i], &slot->sg[slot->nsg]);
        if (err) {
            break;
        }
        slot->key_id[slot->nsg++] = keys[i].id;
    }
    explicit_bzero(keys, sizeof(keys)); /* private keys: gone from the stack */
    if (err) {
        zone_drop(slot);
        return err;
    }
    *out = slot;
    return 0;
}

static uint64_t hash(uint64_t seed, const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull ^ seed;
    for (size_t i = 0; i < n; i++) {
        h = (h ^ p[i]) * 0x100000001b3ull;
    }
    return h ^ (h >> 29);
}

int don_sign(don_t *d, zr_t *rd_txn, const zs_zone_t *z, const uint8_t *owner, uint32_t ttl,
             const uint8_t *rd, size_t rdlen, uint64_t now, uint8_t *sigs, counters_t *st)
{
    don_zone_t *zk;
    int err = zone_keys(d, rd_txn, z, &zk);
    if (err) {
        return err;
    }
    int olen = dname_wire_len(owner, DNAME_MAXLEN + 1);
    if (olen < 0 || rdlen > DON_RDATA_MAX) {
        return DNSD_EMALFORMED;
    }
    uint32_t inc, exp;
    don_window(now, &inc, &exp);
    uint32_t hour = (uint32_t)(now / 3600);
    size_t o = 0;
    for (int i = 0; i < zk->nsg; i++) {
        /* the cache key: zone, key id, TTL, owner, rdata */
        uint8_t key[DON_KEY_MAX];
        size_t klen = 12u + (size_t)olen + rdlen;
        bool cacheable = klen <= DON_KEY_MAX;
        don_slot_t *hit = NULL, *victim = NULL;
        uint64_t h = 0;
        if (cacheable) {
            zs_put32(key, z->id);
            zs_put32(key + 4, zk->key_id[i]);
            zs_put32(key + 8, ttl);
            memcpy(key + 12, owner, (size_t)olen);
            memcpy(key + 12 + olen, rd, rdlen);
            h = hash(d->seed, key, klen);
            size_t idx = (size_t)(h & (DON_CACHE_SLOTS - 1)) & ~(size_t)1;
            for (size_t w = 0; w < 2; w++) {
                don_slot_t *s = &d->slots[idx + w];
                if (s->hour == hour && s->h == h && s->klen == klen &&
                    memcmp(s->key, key, klen) == 0) {
                    hit = s;
                    break;
                }
            }
            /* an empty or expired slot of the pair, else the one used least lately */
            don_slot_t *s0 = &d->slots[idx], *s1 = &d->slots[idx + 1];
            victim = s0->hour != hour ? s0 : s1->hour != hour ? s1 : s0->used <= s1->used ? s0 : s1;
        }
        uint8_t *dst = sigs + o + 2;
        int slen;
        if (hit) {
            memcpy(dst, hit->sig, hit->slen);
            slen = hit->slen;
            hit->used = ++d->tick;
            STAT_INC(CTR(st, DNSSEC_CACHE_HITS));
        } else {
            uint8_t rrs[2 + DON_RDATA_MAX];
            zs_put16(rrs, (uint16_t)rdlen);
            memcpy(rrs + 2, rd, rdlen);
            slen = zd_sign(zk->sg[i], owner, z->apex, DNS_T_NSEC, ttl, rrs, rdlen + 2, 1, inc,
                           exp, d->scratch, sizeof(d->scratch), dst);
            if (slen <= 0) {
                return slen < 0 ? slen : DNSD_ECRYPTO;
            }
            STAT_INC(CTR(st, DNSSEC_SIGNED));
            if (victim) {
                victim->h = h;
                victim->hour = hour;
                victim->used = ++d->tick;
                victim->klen = (uint16_t)klen;
                victim->slen = (uint16_t)slen;
                memcpy(victim->key, key, klen);
                memcpy(victim->sig, dst, (size_t)slen);
            }
        }
        zs_put16(sigs + o, (uint16_t)slen);
        o += 2u + (size_t)slen;
    }
    return zk->nsg;
}
