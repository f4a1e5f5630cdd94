/* SPDX-License-Identifier: MIT */
/*
 * rrl.h -- response rate limiting (RRL), in the spirit of BIND's, Knot's
 * and NSD's: a UDP response is counted against a token bucket keyed by the
 * client's network (IPv4 /24, IPv6 /56 by default) and the response's
 * class and name (answer.h: answer_cls_t). Over the rate, responses are
 * limited: every slip-th one goes out as an empty TC=1 reply (a real client
 * retries over TCP, which is never limited), the others are dropped. That
 * takes the amplification out of spoofed-source floods while real clients
 * still get through.
 *
 * The worker threads call rrl_decide() on the UDP path (hot: no malloc, no
 * lock, no syscall, a few atomic operations on one cache line); the main
 * thread makes and frees tables (rrl_new/rrl_free, slow).
 *
 * DESIGN. One table for the whole server, shared by every worker, rather
 * than one per worker. With SO_REUSEPORT the kernel spreads a client's
 * flows (source ports) over all workers, so per-worker tables would let a
 * spoofed flood through at rate x workers; a shared table makes the
 * configured rate the rate. The cost is an atomic compare-and-swap on the
 * bucket's line per response: buckets are 16 bytes, two of them per slot
 * pair, four per cache line, so two workers only contend when they answer
 * the same flow -- which is exactly the flood being limited.
 *
 * Each bucket is GCRA (generic cell rate algorithm, a token bucket kept as
 * one number): TAT, the "theoretical arrival time" in microseconds. A
 * response at time now passes if TAT - now <= 1 s - 1/rate (so a burst of
 * `rate` responses passes at once, then `rate` per second), and moves TAT on
 * by 1/rate. TAT (48 bits) and a count of limited responses (16 bits, for
 * the slip) share one 64-bit word updated with one CAS; the key, a SipHash
 * of (network, class, qtype, name) under a random per-table secret so a
 * client cannot aim collisions at someone else's bucket, is the other word.
 * A key hashes to a pair of buckets; a new key takes an empty or idle one
 * (TAT in the past: it is exactly a fresh bucket), else the less busy one
 * (counted as an eviction: the table is too small for the traffic). Races
 * between workers on one bucket can at worst mis-charge one response; they
 * never corrupt anything or block.
 */
#ifndef DNSD_RRL_H
#define DNSD_RRL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dnsd/answer.h"

#define RRL_TABLE_MIN 1024
#define RRL_TABLE_MAX (1u << 26)

typedef struct rrl rrl_t;

typedef enum rrl_verdict {
    RRL_PASS = 0, /* send the response */
    RRL_SLIP,     /* limited: send it as a TC=1 slip (answer_slip) */
    RRL_DROP,     /* limited: send nothing */
} rrl_verdict_t;

/**
 * A table of @p buckets (rounded up to a power of two, RRL_TABLE_MIN to
 * RRL_TABLE_MAX) for clients grouped by @p v4_prefix / @p v6_prefix bits.
 * The secret comes from getrandom(2). Aborts on OOM (xalloc). Slow path.
 */
rrl_t *rrl_new(size_t buckets, unsigned v4_prefix, unsigned v6_prefix);
void rrl_free(rrl_t *r); /* NULL is fine; no thread may still use it */
size_t rrl_buckets(const rrl_t *r);

/**
 * Charge one response of class @p cls about @p name (wire form, lower case,
 * @p name_len bytes; 0 for none) and @p qtype, for the client @p src, at
 * monotonic time @p now_us, against @p rate responses per second; a limited
 * response slips when @p slip is not 0 and it is the first, (slip+1)-th, ...
 * limited one of its bucket. Sets *@p evicted when a busy bucket of another
 * key had to be taken. Any worker thread; hot, lock-free, allocates nothing.
 */
rrl_verdict_t rrl_decide(rrl_t *r, const struct sockaddr *src, answer_cls_t cls, uint16_t qtype,
                         const uint8_t *name, size_t name_len, unsigned rate, unsigned slip,
                         uint64_t now_us, bool *evicted);

/** Monotonic microseconds (clock_gettime, a vDSO call: no system call). Hot. */
uint64_t rrl_clock_us(void);

#endif
