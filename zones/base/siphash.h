/* SPDX-License-Identifier: MIT */
/*
 * siphash.h -- SipHash-2-4 (Aumasson and Bernstein, "SipHash: a fast
 * short-input PRF", 2012): a keyed 64-bit hash of short inputs, used where
 * a hash must be stable for one key yet unpredictable without it (the canary
 * split of a certificate rollout, zones/rollout.h). Pure, no allocation, no
 * lock: safe on the per-query path.
 */
#ifndef DNSD_BASE_SIPHASH_H
#define DNSD_BASE_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

/**
 * SipHash-2-4 of @p len bytes at @p in under the 16-byte key @p key, as
 * the paper's reference implementation computes it (the key and the result
 * read little-endian). Hot: no allocation, no lock.
 */
uint64_t siphash24(const uint8_t key[16], const void *in, size_t len);

#endif
