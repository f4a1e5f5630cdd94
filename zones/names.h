/* SPDX-License-Identifier: MIT */
/*
 * names.h -- domain names in wire form and their canonical store keys.
 * Hot: dname_key() runs once per query; nothing here allocates or locks.
 *
 * DESIGN. A store key for a name lists its labels from the root down, each
 * lower-cased, escaped and terminated by 0x00: "www.Example.COM." becomes
 * "com\0example\0www\0". Inside a label 0x00 is written 01 01 and 0x01 as
 * 01 02, so no label byte is 0x00 and memcmp() order on keys is exactly the
 * canonical DNS order of RFC 4034 section 6.1 (a label that is a prefix of
 * another sorts first; a parent sorts before its children). The key of an
 * ancestor with k labels is a prefix of the key, ending at ends[k]; so
 * closest-encloser, wildcard and delegation lookups are prefix seeks.
 */
#ifndef DNSD_NAMES_H
#define DNSD_NAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNAME_MAXLEN    255
#define DNAME_MAXLABELS 127
/* worst case every byte escaped; LMDB's default max key is 511 bytes, our
 * rrset keys add 9 bytes around the name, so keys are capped at 480 */
#define DNAME_KEY_MAX   480

/** Canonical key of a name, with the prefix length of each ancestor. */
typedef struct dname_key {
    uint8_t key[DNAME_KEY_MAX];
    uint16_t len;                      /* == ends[nlabels] */
    uint8_t nlabels;                   /* labels, root not counted */
    uint16_t ends[DNAME_MAXLABELS + 1]; /* ends[k]: key length of the k-label ancestor */
} dname_key_t;

/**
 * Length of an uncompressed wire name at @p n (at most @p max bytes readable),
 * root label included; DNSD_EMALFORMED if it is not one (pointer, label type
 * 0x40/0x80, overlong, truncated).
 */
int dname_wire_len(const uint8_t *n, size_t max);

/**
 * Step over a possibly compressed name at @p *off in the message @p m of
 * @p len bytes (a pointer ends it; the target is not followed). @return
 * false if it is malformed (label type 0x40/0x80, more than 127 labels) or
 * truncated; then @p *off is unchanged.
 */
bool dname_wire_skip(const uint8_t *m, size_t len, size_t *off);

/** Number of labels of a valid wire name (root not counted). */
int dname_labels(const uint8_t *n);

/**
 * Build the canonical key of the valid wire name @p n into @p k.
 * @return 0, or DNSD_ELIMIT if escaping made it longer than DNAME_KEY_MAX;
 * then @p k holds the key of the longest ancestor that fits (such a name
 * can never be stored, but its zone can still be found). Hot, no allocation.
 */
int dname_key_build(const uint8_t *n, dname_key_t *k);

/**
 * Rebuild a wire name from a key (or a key fragment of whole labels):
 * @p key/@p len are labels in key form, root first. Writes the wire name
 * (leftmost label first, root label included) to @p out (DNAME_MAXLEN+1).
 * @return the wire length, or DNSD_ESTORE if the key is not well formed.
 */
int dname_from_key(const uint8_t *key, size_t len, uint8_t *out);

/** Case-insensitive equality of two valid wire names. */
bool dname_eq(const uint8_t *a, const uint8_t *b);

/** Is valid wire name @p n equal to or below @p apex? */
bool dname_is_sub(const uint8_t *n, const uint8_t *apex);

/** Lower-case a valid wire name in place. */
void dname_lower(uint8_t *n);

/**
 * Presentation form of a valid wire name ("www.example.com.", "." for the
 * root; bytes outside letters, digits, "-", "_" and a lone "*" as \DDD, "." and "\" escaped).
 * @p out needs 4*255+2 bytes; always NUL-terminated. Slow path.
 */
void dname_to_str(const uint8_t *n, char *out, size_t cap);

#endif
